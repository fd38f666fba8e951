//! The audit engine shared by every source (SQLite file, `Ledger`, export).
//!
//! What this guards against: sources checked differently. Each source only
//! turns its rows into [`Entry`] values and raw checkpoints; every rule lives
//! here, once.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::checks::{Checked, Facts};
use super::{MAX_PROBLEMS, Problem, VerifyReport};
use crate::checkpoint::{CheckpointError, NoteVerifier, SignedCheckpoint};
use crate::merkle::{Frontier, Hash};

/// Events per parallel step.
const CHUNK: usize = 1024;

/// One stored event as the source has it.
pub(crate) struct Entry {
    /// The index the source claims (row id, or the export's `index`).
    pub(crate) index: u64,
    /// The stored bytes (leaf input).
    pub(crate) body: Vec<u8>,
    /// The stored leaf hash, when the source keeps one.
    pub(crate) leaf_hash: Option<Hash>,
}

/// One stored checkpoint as the source has it.
pub(crate) struct RawCheckpoint {
    pub(crate) size: u64,
    pub(crate) root: Option<Hash>,
    pub(crate) note: String,
}

/// Opens stored checkpoints' notes, their signatures checked in one batch.
fn open_checkpoints(
    raw: Vec<RawCheckpoint>,
    verifier: &NoteVerifier,
) -> Vec<(RawCheckpoint, Result<SignedCheckpoint, CheckpointError>)> {
    let notes: Vec<&str> = raw.iter().map(|r| r.note.as_str()).collect();
    let opened = SignedCheckpoint::open_each(&notes, verifier);
    raw.into_iter().zip(opened).collect()
}

/// Audit state while events stream through.
pub(crate) struct Audit {
    checkpoints: BTreeMap<u64, Hash>,
    checkpoint_count: u64,
    tree: Frontier,
    ids: HashSet<String>,
    commitments: Option<HashMap<String, String>>,
    problems: Vec<Problem>,
    more: u64,
    bad_checkpoint: Option<u64>,
    /// Size of the first checkpoint whose root did not match.
    root_failed: Option<u64>,
    last_good: u64,
    verified: Option<(u64, Hash)>,
}

impl Audit {
    /// Starts an audit: checks every checkpoint's note first.
    pub(crate) fn new(verifier: &NoteVerifier, raw: Vec<RawCheckpoint>) -> Self {
        let mut a = Audit {
            checkpoints: BTreeMap::new(),
            checkpoint_count: raw.len() as u64,
            tree: Frontier::new(),
            ids: HashSet::new(),
            commitments: None,
            problems: Vec::new(),
            more: 0,
            bad_checkpoint: None,
            root_failed: None,
            last_good: 0,
            verified: None,
        };
        for (raw, opened) in
            super::checks::par_parts(raw, 64, |part| open_checkpoints(part, verifier))
        {
            a.check_checkpoint(raw, opened);
        }
        if a.checkpoints
            .get(&0)
            .is_some_and(|r| *r == crate::merkle::empty_root())
        {
            a.verified = Some((0, crate::merkle::empty_root()));
        }
        a
    }

    /// Private-record commitments by event id (SQLite sources only).
    pub(crate) fn with_private_records(&mut self, commitments: HashMap<String, String>) {
        self.commitments = Some(commitments);
    }

    fn problem(
        &mut self,
        code: &'static str,
        index: Option<u64>,
        checkpoint: Option<u64>,
        message: String,
    ) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem {
                code,
                index,
                checkpoint,
                message,
            });
        } else {
            self.more += 1;
        }
    }

    fn bad_cp(&mut self, size: u64, code: &'static str, message: String) {
        self.bad_checkpoint = Some(self.bad_checkpoint.map_or(size, |s| s.min(size)));
        self.problem(code, None, Some(size), message);
    }

    fn check_checkpoint(
        &mut self,
        raw: RawCheckpoint,
        opened: Result<SignedCheckpoint, CheckpointError>,
    ) {
        let cp = match opened {
            Ok(cp) => cp,
            Err(e) => {
                return self.bad_cp(
                    raw.size,
                    "verify.bad-checkpoint",
                    format!("checkpoint at size {}: {e}", raw.size),
                );
            }
        };
        if cp.size != raw.size || raw.root.is_some_and(|r| r != cp.root) {
            return self.bad_cp(
                raw.size,
                "verify.bad-checkpoint",
                format!(
                    "checkpoint stored at size {} signs size {} or another root",
                    raw.size, cp.size
                ),
            );
        }
        self.checkpoints.insert(cp.size, cp.root);
    }

    /// Checks every entry, in order, and reports. Reading the next chunk and
    /// the per-event checks of the chunk after it overlap with the ordered
    /// checks of the current one.
    pub(crate) fn run<E>(
        mut self,
        entries: impl Iterator<Item = Result<Entry, E>>,
    ) -> Result<VerifyReport, E> {
        let mut entries = entries.peekable();
        std::thread::scope(|s| {
            let mut pending: Option<std::thread::ScopedJoinHandle<'_, Vec<Checked>>> = None;
            loop {
                let mut chunk = Vec::with_capacity(CHUNK);
                while chunk.len() < CHUNK {
                    match entries.next() {
                        Some(e) => chunk.push(e?),
                        None => break,
                    }
                }
                let last = chunk.is_empty() || entries.peek().is_none();
                let next =
                    (!chunk.is_empty()).then(|| s.spawn(move || super::checks::check_all(chunk)));
                if let Some(done) = std::mem::replace(&mut pending, next) {
                    self.feed_chunk(done);
                }
                if last {
                    if let Some(done) = pending.take() {
                        self.feed_chunk(done);
                    }
                    return Ok(self.finish());
                }
            }
        })
    }

    fn feed_chunk(&mut self, done: std::thread::ScopedJoinHandle<'_, Vec<Checked>>) {
        for checked in done.join().unwrap_or_else(|e| std::panic::resume_unwind(e)) {
            self.feed_checked(checked);
        }
    }

    fn feed_checked(&mut self, c: Checked) {
        let position = self.tree.len();
        if c.index != position {
            let what = if c.index > position {
                "is missing (removed?)"
            } else {
                "appears twice or out of order"
            };
            let message = format!(
                "event {position} {what}: the next stored row has index {}",
                c.index
            );
            self.problem("verify.missing-event", Some(position), None, message);
        }
        if !c.leaf_ok {
            let message = format!(
                "event {position}: its body does not hash to its stored leaf hash (the body was edited)"
            );
            self.problem("verify.leaf-hash-mismatch", Some(position), None, message);
        }
        match c.facts {
            Ok(facts) => self.check_facts(position, facts),
            Err(e) => self.problem(
                "verify.unreadable-event",
                Some(position),
                None,
                format!("event {position} is not a valid event: {e}"),
            ),
        }
        self.tree.push(c.leaf);
        self.check_root();
    }

    fn check_facts(&mut self, position: u64, facts: Facts) {
        if facts.sequence != position {
            let message = format!(
                "event {position} carries sequence {} (moved, swapped or inserted)",
                facts.sequence
            );
            self.problem("verify.out-of-order", Some(position), None, message);
        }
        if !facts.canonical {
            let message =
                format!("event {position} is not in canonical form (its bytes were edited)");
            self.problem("verify.not-canonical", Some(position), None, message);
        }
        self.check_private(position, &facts.id, facts.commitment);
        if !self.ids.insert(facts.id) {
            self.problem(
                "verify.duplicate-id",
                Some(position),
                None,
                format!("event {position} repeats an earlier event id"),
            );
        }
    }

    fn check_private(&mut self, position: u64, id: &str, want: Option<String>) {
        let Some(records) = self.commitments.as_mut() else {
            return;
        };
        let have = records.remove(id);
        let message = match (want, have) {
            (Some(w), Some(h)) if w == h => return,
            (None, None) => return,
            (Some(_), None) => {
                format!("event {position} commits to a private record that is missing")
            }
            (None, Some(_)) => {
                format!("event {position} has a private record but no commitment to it")
            }
            (Some(_), Some(_)) => {
                format!("event {position}: its private record does not match its audit_commitment")
            }
        };
        self.problem("verify.private-record", Some(position), None, message);
    }

    fn check_root(&mut self) {
        let size = self.tree.len();
        let Some(want) = self.checkpoints.get(&size).copied() else {
            return;
        };
        let root = self.tree.root();
        if root == want {
            if self.root_failed.is_none() {
                self.last_good = size;
                self.verified = Some((size, root));
            }
            return;
        }
        if self.root_failed.is_none() {
            self.root_failed = Some(size);
            self.bad_cp(size, "verify.root-mismatch", format!("the events before index {size} do not hash to the root signed at size {size}; the first event not vouched for is {}", self.last_good));
        }
    }

    /// Ends the audit.
    fn finish(mut self) -> VerifyReport {
        let events = self.tree.len();
        let latest = self.checkpoints.keys().next_back().copied();
        match latest {
            None => self.problem("verify.no-checkpoint", None, None, "the ledger has no valid signed checkpoint".into()),
            Some(l) if l > events => self.problem("verify.missing-tail", Some(events), Some(l), format!("the checkpoint at size {l} covers events {events}..{l}, which are missing")),
            Some(l) if l < events => self.problem("verify.uncovered-events", Some(l), None, format!("events {l}..{events} are not covered by any signed checkpoint (inserted by hand?)")),
            _ => {}
        }
        if let Some(orphans) = self.commitments.take().filter(|m| !m.is_empty()) {
            self.problem(
                "verify.private-record",
                None,
                None,
                format!("{} private records belong to no event", orphans.len()),
            );
        }
        // A root mismatch names the first index it cannot vouch for, unless an
        // event in the unvouched range already failed a check of its own.
        let explained = |hi: u64| {
            self.problems
                .iter()
                .filter_map(|p| p.index)
                .any(|i| (self.last_good..hi).contains(&i))
        };
        let root_start = self
            .root_failed
            .filter(|hi| !explained(*hi))
            .map(|_| self.last_good);
        let first_bad = self
            .problems
            .iter()
            .filter_map(|p| p.index)
            .chain(root_start)
            .min();
        VerifyReport {
            events,
            checkpoints: self.checkpoint_count,
            ok: self.problems.is_empty() && self.more == 0,
            first_bad_index: first_bad,
            bad_checkpoint: self.bad_checkpoint,
            verified_root: self.verified.map(|(_, r)| hex::encode(r)),
            verified_size: self.verified.map(|(s, _)| s),
            problems: self.problems,
            more_problems: self.more,
        }
    }
}
