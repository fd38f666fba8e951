//! A dataset file held open from the moment it is identified to the end of
//! every read: one open file description, read only with positional reads.
//!
//! Defends against reading something other than what the snapshot names.
//! The file is opened once (through a directory capability), identified
//! by `fstat` on that very descriptor (device, inode, size, modification
//! and change times) and hashed through it; every later read uses the same
//! descriptor, so the bytes of a file replaced by a rename are never seen,
//! and reads stop at the identified size, so appended bytes are never seen
//! either. A file modified in place (or replaced, which drops its link
//! count) changes its change time, which [`PinnedFile::unchanged`] notices
//! after every batch: the run then stops rather than use a dataset whose
//! files no longer match its snapshot. Positional reads (`pread`) share no file
//! offset, so concurrent scans of one file cannot disturb each other.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest, Sha256};

/// What identifies a file's content without reading it: if all of this is
/// unchanged, so are the bytes (a write in place moves the change time,
/// which no unprivileged process can set back).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct FileIdentity {
    /// The dataset's root as registered and the file's path below it.
    pub path: String,
    /// Device number.
    pub device: u64,
    /// Inode number.
    pub inode: u64,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch.
    pub modified_ns: i64,
    /// Status change time, nanoseconds since the Unix epoch.
    pub changed_ns: i64,
}

impl FileIdentity {
    fn of(file: &File, path: String) -> io::Result<Self> {
        let meta = file.metadata()?;
        Ok(stat(&meta, path))
    }
}

#[cfg(unix)]
fn stat(meta: &std::fs::Metadata, path: String) -> FileIdentity {
    use std::os::unix::fs::MetadataExt;
    let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
    FileIdentity {
        path,
        device: meta.dev(),
        inode: meta.ino(),
        size: meta.size(),
        modified_ns: ns(meta.mtime(), meta.mtime_nsec()),
        changed_ns: ns(meta.ctime(), meta.ctime_nsec()),
    }
}

#[cfg(not(unix))]
fn stat(meta: &std::fs::Metadata, path: String) -> FileIdentity {
    let ns = |t: io::Result<std::time::SystemTime>| {
        t.ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64)
    };
    FileIdentity {
        path,
        device: 0,
        inode: 0,
        size: meta.len(),
        modified_ns: ns(meta.modified()),
        changed_ns: ns(meta.created()),
    }
}

#[cfg(unix)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn pread(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// An open, identified dataset file. Clones share the descriptor.
#[derive(Debug, Clone)]
pub(crate) struct PinnedFile {
    file: Arc<File>,
    identity: FileIdentity,
}

impl PinnedFile {
    /// Opens `relative` below `dir` read-only and identifies it; `display`
    /// is the path recorded in the identity.
    pub(crate) fn open(
        dir: &cap_std::fs::Dir,
        relative: &Path,
        display: String,
    ) -> io::Result<Self> {
        let file = dir.open(relative)?.into_std();
        if !file.metadata()?.is_file() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        let identity = FileIdentity::of(&file, display)?;
        Ok(Self {
            file: Arc::new(file),
            identity,
        })
    }

    /// The identity taken when the file was opened.
    pub(crate) fn identity(&self) -> &FileIdentity {
        &self.identity
    }

    /// Whether the open file still has the identity it was opened with.
    pub(crate) fn unchanged(&self) -> bool {
        FileIdentity::of(&self.file, self.identity.path.clone())
            .is_ok_and(|now| now == self.identity)
    }

    /// A reader from `start` up to the identified size.
    pub(crate) fn reader_at(&self, start: u64) -> PositionalReader {
        PositionalReader {
            file: self.file.clone(),
            pos: start,
            end: self.identity.size,
        }
    }

    /// SHA-256 of the bytes up to the identified size, hex, read through
    /// this descriptor.
    pub(crate) fn sha256(&self) -> io::Result<String> {
        let mut hasher = Sha256::new();
        let mut reader = self.reader_at(0);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        if reader.pos != self.identity.size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the file became shorter while it was read",
            ));
        }
        Ok(hex::encode(hasher.finalize()))
    }
}

/// `Read` over a pinned file with its own position (no shared offset).
#[derive(Debug)]
pub(crate) struct PositionalReader {
    file: Arc<File>,
    pos: u64,
    end: u64,
}

impl Read for PositionalReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = pread(&self.file, &mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl parquet::file::reader::Length for PinnedFile {
    fn len(&self) -> u64 {
        self.identity.size
    }
}

impl parquet::file::reader::ChunkReader for PinnedFile {
    type T = io::BufReader<PositionalReader>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        Ok(io::BufReader::with_capacity(1 << 16, self.reader_at(start)))
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let mut buffer = vec![0u8; length];
        let mut filled = 0;
        let mut reader = self.reader_at(start);
        while filled < length {
            let n = reader.read(&mut buffer[filled..])?;
            if n == 0 {
                return Err(parquet::errors::ParquetError::EOF(format!(
                    "expected {length} bytes at offset {start}, the file ends after {filled}"
                )));
            }
            filled += n;
        }
        Ok(buffer.into())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use cap_std::ambient_authority;

    use super::*;

    fn dir(t: &tempfile::TempDir) -> cap_std::fs::Dir {
        cap_std::fs::Dir::open_ambient_dir(t.path(), ambient_authority()).unwrap()
    }

    #[test]
    fn reads_stop_at_the_identified_size_and_ignore_renames() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a.csv"), b"x\n1\n").unwrap();
        let f = PinnedFile::open(&dir(&t), Path::new("a.csv"), "a.csv".into()).unwrap();
        // Replaced by a rename: the pinned descriptor still reads the old bytes.
        std::fs::write(t.path().join("b.csv"), b"x\n2\n3\n").unwrap();
        std::fs::rename(t.path().join("b.csv"), t.path().join("a.csv")).unwrap();
        let mut text = String::new();
        f.reader_at(0).read_to_string(&mut text).unwrap();
        assert_eq!(text, "x\n1\n");
        assert!(
            !f.unchanged(),
            "the dataset no longer matches what was identified"
        );
        assert_eq!(f.sha256().unwrap(), hex::encode(Sha256::digest(b"x\n1\n")));
    }

    #[test]
    fn a_write_in_place_is_noticed() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("a.csv"), b"x\n1\n").unwrap();
        let f = PinnedFile::open(&dir(&t), Path::new("a.csv"), "a.csv".into()).unwrap();
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .open(t.path().join("a.csv"))
            .unwrap();
        w.write_all(b"2\n").unwrap();
        assert!(!f.unchanged());
        let mut text = String::new();
        f.reader_at(0).read_to_string(&mut text).unwrap();
        assert_eq!(text, "x\n1\n", "appended bytes are never read");
    }

    #[test]
    fn paths_cannot_leave_the_directory() {
        let t = tempfile::tempdir().unwrap();
        std::fs::create_dir(t.path().join("root")).unwrap();
        std::fs::write(t.path().join("secret.csv"), b"s\n").unwrap();
        let root =
            cap_std::fs::Dir::open_ambient_dir(t.path().join("root"), ambient_authority()).unwrap();
        for escape in ["../secret.csv", "/etc/passwd"] {
            assert!(PinnedFile::open(&root, Path::new(escape), escape.into()).is_err());
        }
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(t.path().join("secret.csv"), t.path().join("root/l.csv"))
                .unwrap();
            assert!(PinnedFile::open(&root, Path::new("l.csv"), "l.csv".into()).is_err());
        }
    }
}
