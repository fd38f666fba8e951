//! `SqliteLedger`: opening the file, rebuilding the tree, and every read.
//!
//! Opening reads only the stored leaf hashes (32 bytes per event), rebuilds
//! the Merkle tree from them, and refuses the file unless the rebuilt root
//! equals the root of the latest checkpoint, signed by this node's key.
//! Reads go through their own connection (WAL readers never block the
//! writer); proofs at the current size come from the in-memory tree.
//!
//! What this guards against: appending onto a log that was altered while the
//! node was down (the rebuilt root would not match the signed one), opening a
//! file with another node's key, and answering proofs for sizes the log never
//! had.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::writer::{self, Request};
use super::{Ledger, LedgerError, StoredEvent, schema};
use crate::checkpoint::{NoteSigner, NoteVerifier, SignedCheckpoint};
use crate::merkle::{Hash, MerkleTree, empty_root};
use crate::receipt::Receipt;

/// The in-memory tree and the checkpoint of its current size.
pub(crate) struct TreeState {
    pub(crate) tree: MerkleTree,
    pub(crate) latest: SignedCheckpoint,
}

/// What the writer thread and readers share.
pub(crate) struct Shared {
    pub(crate) tree: Mutex<TreeState>,
    reader: Mutex<Connection>,
}

/// The embedded ledger: one SQLite file, one writer thread.
pub struct SqliteLedger {
    shared: Arc<Shared>,
    sender: Mutex<Option<Sender<Request>>>,
    writer: Option<JoinHandle<()>>,
    verifier: NoteVerifier,
    path: PathBuf,
    /// Held while open: one writer per file, across processes.
    _lock: std::fs::File,
}

impl SqliteLedger {
    /// Opens (or creates) the ledger at `path`, signing checkpoints with `signer`.
    /// The checkpoint origin is the signer's name.
    pub fn open(path: &Path, signer: NoteSigner) -> Result<Self, LedgerError> {
        let verifier = signer.verifier();
        let lock = schema::lock(path)?;
        let conn = schema::connect(path)?;
        schema::prepare(&conn, &verifier.vkey())?;
        let state = match load_tree(&conn, &verifier) {
            Err(LedgerError::NotFound(_)) => first_checkpoint(&conn, &signer)?,
            other => other?,
        };
        let reader = schema::connect(path)?;
        reader.pragma_update(None, "query_only", true)?;
        let shared = Arc::new(Shared {
            tree: Mutex::new(state),
            reader: Mutex::new(reader),
        });
        let (tx, rx) = mpsc::channel();
        let for_writer = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name("sluice-ledger-writer".into())
            .spawn(move || writer::run(conn, signer, for_writer, rx))
            .map_err(|e| {
                LedgerError::WriteFailed(format!("cannot start the writer thread: {e}"))
            })?;
        Ok(SqliteLedger {
            shared,
            sender: Mutex::new(Some(tx)),
            writer: Some(writer),
            verifier,
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    /// Appends several events atomically, in order: all are committed in one
    /// transaction under one checkpoint, or none is.
    pub fn append_all(
        &self,
        items: Vec<(crate::event::Envelope, Option<Vec<u8>>)>,
    ) -> Result<Vec<Receipt>, LedgerError> {
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = mpsc::channel();
        let sender = self
            .sender
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or(LedgerError::Closed)?;
        sender
            .send(Request { items, reply })
            .map_err(|_| LedgerError::Closed)?;
        answer.recv().map_err(|_| LedgerError::Closed)?
    }

    /// The verifier of this ledger's checkpoints.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, LedgerError>,
    ) -> Result<T, LedgerError> {
        let conn = self.shared.reader.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    fn state(&self) -> MutexGuard<'_, TreeState> {
        self.shared.tree.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A tree of the first `size` events, from stored leaf hashes.
    fn tree_at(&self, size: u64) -> Result<MerkleTree, LedgerError> {
        let hashes = self.read(|c| leaf_hashes(c, size))?;
        Ok(MerkleTree::from_leaf_hashes(&hashes)?)
    }
}

impl Drop for SqliteLedger {
    fn drop(&mut self) {
        self.sender.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// Leaf hashes of events `0..size`, checking the indexes are contiguous.
fn leaf_hashes(conn: &Connection, size: u64) -> Result<Vec<Hash>, LedgerError> {
    let mut stmt =
        conn.prepare_cached("SELECT idx, leaf_hash FROM events WHERE idx < ?1 ORDER BY idx")?;
    let mut rows = stmt.query([size as i64])?;
    let mut out = Vec::with_capacity(size.min(1 << 24) as usize);
    while let Some(row) = rows.next()? {
        let idx: i64 = row.get(0)?;
        if idx != out.len() as i64 {
            return Err(LedgerError::Corrupt(format!(
                "event {} is missing",
                out.len()
            )));
        }
        let h: Vec<u8> = row.get(1)?;
        out.push(
            h.try_into().map_err(|_| {
                LedgerError::Corrupt(format!("event {idx} has a malformed leaf hash"))
            })?,
        );
    }
    Ok(out)
}

/// Rebuilds the tree from the file and checks it against the latest signed
/// checkpoint. `NotFound` when the file has no checkpoint yet.
pub(crate) fn load_tree(
    conn: &Connection,
    verifier: &NoteVerifier,
) -> Result<TreeState, LedgerError> {
    let note: Option<String> = conn
        .query_row(
            "SELECT note FROM checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?;
    let Some(note) = note else {
        let count: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
        return if count == 0 {
            Err(LedgerError::NotFound(0))
        } else {
            Err(LedgerError::Corrupt("events without any checkpoint".into()))
        };
    };
    let latest = SignedCheckpoint::open(&note, verifier)?;
    let hashes = leaf_hashes(conn, u64::MAX >> 1)?;
    if hashes.len() as u64 != latest.size {
        return Err(LedgerError::Corrupt(format!(
            "{} events but the latest checkpoint covers {}",
            hashes.len(),
            latest.size
        )));
    }
    let tree = MerkleTree::from_leaf_hashes(&hashes)?;
    if tree.root() != latest.root {
        return Err(LedgerError::Corrupt(format!(
            "the events do not hash to the root signed at size {}",
            latest.size
        )));
    }
    Ok(TreeState { tree, latest })
}

/// A new ledger: sign and store the checkpoint of the empty tree.
fn first_checkpoint(conn: &Connection, signer: &NoteSigner) -> Result<TreeState, LedgerError> {
    let cp = SignedCheckpoint::sign(0, empty_root(), signer)?;
    conn.execute(
        "INSERT INTO checkpoints (size, root, note) VALUES (0, ?1, ?2)",
        params![&cp.root[..], cp.note],
    )?;
    Ok(TreeState {
        tree: MerkleTree::new(),
        latest: cp,
    })
}

fn stored_event(row: &Row<'_>) -> Result<StoredEvent, LedgerError> {
    let index: i64 = row.get(0)?;
    let bytes: Vec<u8> = row.get(1)?;
    let leaf: Vec<u8> = row.get(2)?;
    let envelope = serde_json::from_slice(&bytes)
        .map_err(|e| LedgerError::Encoding(format!("event {index}: {e}")))?;
    let leaf_hash = leaf
        .try_into()
        .map_err(|_| LedgerError::Corrupt(format!("event {index} has a malformed leaf hash")))?;
    Ok(StoredEvent {
        index: index as u64,
        bytes,
        envelope,
        leaf_hash,
    })
}

fn query_events(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<StoredEvent>, LedgerError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(stored_event(row)?);
    }
    Ok(out)
}

impl Ledger for SqliteLedger {
    fn append(
        &self,
        event: crate::event::Envelope,
        private: Option<Vec<u8>>,
    ) -> Result<Receipt, LedgerError> {
        let mut receipts = self.append_all(vec![(event, private)])?;
        receipts.pop().ok_or(LedgerError::Closed)
    }

    fn len(&self) -> Result<u64, LedgerError> {
        Ok(self.state().latest.size)
    }

    fn event(&self, index: u64) -> Result<Option<StoredEvent>, LedgerError> {
        let found = self.read(|c| {
            query_events(
                c,
                "SELECT idx, body, leaf_hash FROM events WHERE idx = ?1",
                [index as i64],
            )
        })?;
        Ok(found.into_iter().next())
    }

    fn event_by_id(&self, id: &str) -> Result<Option<StoredEvent>, LedgerError> {
        let found = self.read(|c| {
            query_events(
                c,
                "SELECT idx, body, leaf_hash FROM events WHERE id = ?1",
                [id],
            )
        })?;
        Ok(found.into_iter().next())
    }

    fn events(&self, from: u64, limit: u64) -> Result<Vec<StoredEvent>, LedgerError> {
        let sql = "SELECT idx, body, leaf_hash FROM events WHERE idx >= ?1 ORDER BY idx LIMIT ?2";
        self.read(|c| {
            query_events(
                c,
                sql,
                params![from as i64, limit.min(i64::MAX as u64) as i64],
            )
        })
    }

    fn checkpoint(&self) -> Result<SignedCheckpoint, LedgerError> {
        Ok(self.state().latest.clone())
    }

    fn checkpoints(&self) -> Result<Vec<SignedCheckpoint>, LedgerError> {
        let notes: Vec<String> = self.read(|c| {
            let mut stmt = c.prepare_cached("SELECT note FROM checkpoints ORDER BY size")?;
            let notes = stmt
                .query_map([], |r| r.get(0))?
                .collect::<Result<_, _>>()?;
            Ok(notes)
        })?;
        notes
            .iter()
            .map(|n| Ok(SignedCheckpoint::parse_unverified(n)?))
            .collect()
    }

    fn receipt(&self, index: u64) -> Result<Receipt, LedgerError> {
        let (cp, proof) = {
            let state = self.state();
            (state.latest.clone(), state.tree.inclusion_proof(index)?)
        };
        let stored = self.event(index)?.ok_or(LedgerError::NotFound(index))?;
        Ok(Receipt::new(stored.envelope, stored.leaf_hash, &cp, &proof))
    }

    fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, LedgerError> {
        {
            let state = self.state();
            if size == state.tree.len() {
                return Ok(state.tree.inclusion_proof(index)?);
            }
            if size > state.tree.len() {
                return Err(crate::merkle::MerkleError::IndexOutOfRange {
                    index: size,
                    size: state.tree.len(),
                }
                .into());
            }
        }
        Ok(self.tree_at(size)?.inclusion_proof(index)?)
    }

    fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>, LedgerError> {
        {
            let state = self.state();
            if to == state.tree.len() {
                return Ok(state.tree.consistency_proof(from)?);
            }
            if to > state.tree.len() {
                return Err(crate::merkle::MerkleError::BadSizes { from, to }.into());
            }
        }
        Ok(self.tree_at(to)?.consistency_proof(from)?)
    }

    fn private_record(&self, event_id: &str) -> Result<Option<Vec<u8>>, LedgerError> {
        self.read(|c| {
            Ok(c.query_row(
                "SELECT record FROM private_records WHERE event_id = ?1",
                [event_id],
                |r| r.get(0),
            )
            .optional()?)
        })
    }
}
