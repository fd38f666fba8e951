//! Which files make up a dataset: one file, a directory tree, or a glob,
//! always below one directory capability, with hive-style `key=value/`
//! folders read as partition values.
//!
//! Defends against a dataset reaching outside where its owner registered
//! it: every file is found and opened through a `cap_std` [`Dir`] rooted
//! at the registered location, so `..`, absolute paths and symlinks
//! pointing out of it are refused by the capability itself. Hidden and
//! bookkeeping files (`.crc`, `_SUCCESS`, `_temporary/`) are skipped, the
//! list is sorted so it never depends on directory order, and its size is
//! capped so a dataset cannot pin unbounded file descriptors.

use std::path::{Path, PathBuf};

use cap_std::fs::Dir;

use super::Format;
use super::snapshot::slash_path;

/// Most files one dataset may have (each stays open while the dataset is).
pub const MAX_FILES: usize = 1_000;
/// Deepest folder nesting walked below a dataset's root.
const MAX_DEPTH: usize = 16;

/// Which files below the root belong to the dataset.
#[derive(Debug, Clone)]
pub enum Selector {
    /// One file, by its name in the root.
    File(PathBuf),
    /// Every data file in the tree below the root.
    Tree,
    /// Files whose `/`-separated path below the root matches a glob
    /// (`*` stays within a folder, `**` crosses folders).
    Glob(String),
}

impl Selector {
    /// Splits a location as an owner writes it into the directory to root
    /// the capability at and the selector below it: a glob's longest
    /// literal prefix, a directory itself, or a file's parent.
    pub fn split(path: &Path) -> (PathBuf, Selector) {
        let text = path.to_string_lossy();
        if text.contains(['*', '?', '[']) {
            let mut root = PathBuf::new();
            let mut rest = Vec::new();
            for c in path.components() {
                let s = c.as_os_str().to_string_lossy();
                if rest.is_empty() && !s.contains(['*', '?', '[']) {
                    root.push(c);
                } else {
                    rest.push(s.into_owned());
                }
            }
            let root = if root.as_os_str().is_empty() {
                PathBuf::from(".")
            } else {
                root
            };
            return (root, Selector::Glob(rest.join("/")));
        }
        if path.is_dir() {
            return (path.to_path_buf(), Selector::Tree);
        }
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path.file_name().map(PathBuf::from).unwrap_or_default();
        (parent, Selector::File(name))
    }
}

/// The format a file name says, if it names a data file.
pub(crate) fn format_of(name: &str) -> Option<Format> {
    let lower = name.to_ascii_lowercase();
    let base = lower.strip_suffix(".gz").unwrap_or(&lower);
    if [".parquet", ".pq", ".parq"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        Some(Format::Parquet)
    } else if base.ends_with(".csv") || base.ends_with(".tsv") {
        Some(Format::Csv)
    } else {
        None
    }
}

fn skipped(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

/// The relative paths of the dataset's files, sorted; errors are texts
/// for the owner.
pub(crate) fn list(root: &Dir, selector: &Selector) -> Result<Vec<PathBuf>, String> {
    let mut found = Vec::new();
    match selector {
        Selector::File(name) => found.push(name.clone()),
        Selector::Tree => walk(
            root,
            Path::new(""),
            0,
            &mut |p| format_of(&p.to_string_lossy()).is_some(),
            &mut found,
        )?,
        Selector::Glob(pattern) => {
            let glob = glob::Pattern::new(pattern)
                .map_err(|e| format!("`{pattern}` is not a valid glob: {e}"))?;
            let options = glob::MatchOptions {
                case_sensitive: true,
                require_literal_separator: true,
                require_literal_leading_dot: true,
            };
            walk(
                root,
                Path::new(""),
                0,
                &mut |p| glob.matches_with(&slash_path(p), options),
                &mut found,
            )?;
        }
    }
    found.sort_by_key(|p| slash_path(p));
    if found.len() > MAX_FILES {
        return Err(format!(
            "it has {} files, more than the {MAX_FILES} a dataset may have; merge small files or register parts as separate datasets",
            found.len()
        ));
    }
    Ok(found)
}

fn walk(
    dir: &Dir,
    prefix: &Path,
    depth: usize,
    keep: &mut dyn FnMut(&Path) -> bool,
    found: &mut Vec<PathBuf>,
) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err(format!(
            "folders nest deeper than {MAX_DEPTH} levels below the dataset's root"
        ));
    }
    let entries = dir
        .entries()
        .map_err(|e| format!("cannot list {}: {e}", shown(prefix)))?;
    for entry in entries {
        let entry = entry.map_err(|e| format!("cannot list {}: {e}", shown(prefix)))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if skipped(&name) {
            continue;
        }
        let path = prefix.join(&name);
        let kind = entry
            .file_type()
            .map_err(|e| format!("cannot inspect {}: {e}", shown(&path)))?;
        if kind.is_dir() {
            let sub = entry
                .open_dir()
                .map_err(|e| format!("cannot open folder {}: {e}", shown(&path)))?;
            walk(&sub, &path, depth + 1, keep, found)?;
        } else if kind.is_file() && keep(&path) {
            found.push(path);
            if found.len() > MAX_FILES * 4 {
                return Err(format!(
                    "it has far more than the {MAX_FILES} files a dataset may have"
                ));
            }
        }
    }
    Ok(())
}

fn shown(p: &Path) -> String {
    if p.as_os_str().is_empty() {
        "the dataset's folder".into()
    } else {
        format!("`{}`", slash_path(p))
    }
}

/// The hive partition of a file: its folders' `key=value` pairs, in
/// order, values percent-decoded (`__HIVE_DEFAULT_PARTITION__` is null).
pub(crate) fn partition_of(path: &Path) -> Vec<(String, Option<String>)> {
    let Some(parent) = path.parent() else {
        return Vec::new();
    };
    parent
        .components()
        .filter_map(|c| {
            let s = c.as_os_str().to_string_lossy();
            let (k, v) = s.split_once('=')?;
            let value = (v != "__HIVE_DEFAULT_PARTITION__").then(|| percent_decode(v));
            Some((percent_decode(k), value))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use cap_std::ambient_authority;

    use super::*;

    #[test]
    fn locations_split_into_root_and_selector() {
        let (root, sel) = Selector::split(Path::new("/data/sales/*/part-*.parquet"));
        assert_eq!(root, Path::new("/data/sales"));
        assert!(matches!(sel, Selector::Glob(g) if g == "*/part-*.parquet"));
        let (root, sel) = Selector::split(Path::new("/data/sales.csv"));
        assert_eq!(root, Path::new("/data"));
        assert!(matches!(sel, Selector::File(f) if f == Path::new("sales.csv")));
        let (root, _) = Selector::split(Path::new("sales.csv"));
        assert_eq!(root, Path::new("."));
    }

    #[test]
    fn trees_skip_hidden_files_and_sort() {
        let t = tempfile::tempdir().unwrap();
        for f in [
            "year=2024/b.parquet",
            "year=2023/a.parquet",
            "year=2023/.a.parquet.crc",
            "_SUCCESS",
            "notes.txt",
            "_temporary/x.parquet",
        ] {
            let p = t.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, b"").unwrap();
        }
        let root = Dir::open_ambient_dir(t.path(), ambient_authority()).unwrap();
        let files = list(&root, &Selector::Tree).unwrap();
        let names: Vec<String> = files.iter().map(|p| slash_path(p)).collect();
        assert_eq!(names, ["year=2023/a.parquet", "year=2024/b.parquet"]);
        let glob = list(&root, &Selector::Glob("*/b.*".into())).unwrap();
        assert_eq!(glob.len(), 1);
    }

    #[test]
    fn hive_partitions_are_decoded() {
        let p = partition_of(Path::new(
            "region=north%2Fwest/day=__HIVE_DEFAULT_PARTITION__/f.csv",
        ));
        assert_eq!(
            p,
            [
                ("region".to_string(), Some("north/west".to_string())),
                ("day".to_string(), None)
            ]
        );
        assert!(partition_of(Path::new("plain/f.csv")).is_empty());
    }

    #[test]
    fn formats_follow_extensions() {
        assert_eq!(format_of("a.CSV.gz"), Some(Format::Csv));
        assert_eq!(format_of("a.tsv"), Some(Format::Csv));
        assert_eq!(format_of("a.parq"), Some(Format::Parquet));
        assert_eq!(format_of("a.json"), None);
    }
}
