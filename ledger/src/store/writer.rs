//! The single writer: group commit of concurrent appends.
//!
//! Callers send their events over a channel and wait. The writer takes the
//! first request, drains whatever else is already queued (up to
//! [`MAX_BATCH`] events), and for that batch: validates every event, assigns
//! sequence numbers, extends the Merkle tree, signs a checkpoint of the new
//! root, writes events + private records + checkpoint in ONE transaction,
//! commits (WAL fsync under `synchronous=FULL`), and only then answers each
//! caller with its receipt.
//!
//! What this guards against: a caller told "recorded" before the event is
//! durable, a batch half on disk (one transaction; on failure the in-memory
//! tree is rebuilt from the file and every caller of the batch gets the
//! error), and one bad request (duplicate id, bad commitment) failing the
//! others in its batch (it is refused alone, before the transaction).

use std::collections::HashSet;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, params};

use super::sqlite::{Shared, TreeState, load_tree};
use super::{LedgerError, StoredEvent};
use crate::audit;
use crate::checkpoint::{NoteSigner, SignedCheckpoint};
use crate::event::Envelope;
use crate::merkle::leaf_hash;
use crate::receipt::Receipt;

/// Most events committed in one transaction.
pub(crate) const MAX_BATCH: usize = 4096;

/// Where a caller waits for its receipts.
pub(crate) type Reply = Sender<Result<Vec<Receipt>, LedgerError>>;

/// One caller's append: its events (committed together) and where to answer.
pub(crate) struct Request {
    pub(crate) items: Vec<(Envelope, Option<Vec<u8>>)>,
    pub(crate) reply: Reply,
}

/// One caller's validated events.
type Accepted = (Vec<Prepared>, Reply);

/// A validated event ready to write.
struct Prepared {
    stored: StoredEvent,
    private: Option<Vec<u8>>,
}

/// Runs until every sender is dropped.
pub(crate) fn run(
    mut conn: Connection,
    signer: NoteSigner,
    shared: Arc<Shared>,
    rx: Receiver<Request>,
) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        let mut count = batch[0].items.len();
        while count < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => {
                    count += r.items.len();
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        if !commit_batch(&mut conn, &signer, &shared.tree, batch) {
            // The in-memory tree could not be put back in step with the file:
            // stop, so that no later batch is signed over a wrong tree. Callers
            // get `ledger.closed` and must reopen the ledger.
            return;
        }
    }
}

/// Commits one batch; false when the writer must stop.
fn commit_batch(
    conn: &mut Connection,
    signer: &NoteSigner,
    tree: &Mutex<TreeState>,
    batch: Vec<Request>,
) -> bool {
    let mut state = tree.lock().unwrap_or_else(|p| p.into_inner());
    let mut seen = HashSet::new();
    let mut accepted: Vec<Accepted> = Vec::new();
    for req in batch {
        match prepare(
            conn,
            &mut seen,
            state.tree.len() + pending(&accepted),
            req.items,
        ) {
            Ok(p) => accepted.push((p, req.reply)),
            Err(e) => {
                let _ = req.reply.send(Err(e));
            }
        }
    }
    if accepted.is_empty() {
        return true;
    }
    match write(conn, signer, &mut state, &accepted) {
        Ok(cp) => {
            answer(&state, &cp, accepted);
            true
        }
        Err(e) => {
            // Nothing was committed: put the tree back as the file has it.
            let reloaded = load_tree(conn, &signer.verifier()).map(|fresh| *state = fresh);
            let text = e.to_string();
            for (_, reply) in accepted {
                let _ = reply.send(Err(LedgerError::WriteFailed(text.clone())));
            }
            reloaded.is_ok()
        }
    }
}

fn pending(accepted: &[Accepted]) -> u64 {
    accepted.iter().map(|(p, _)| p.len() as u64).sum()
}

/// Validates one request's events and encodes them at indexes from `next`.
fn prepare(
    conn: &Connection,
    seen: &mut HashSet<String>,
    next: u64,
    items: Vec<(Envelope, Option<Vec<u8>>)>,
) -> Result<Vec<Prepared>, LedgerError> {
    let mut out = Vec::with_capacity(items.len());
    let mut mine = HashSet::new();
    for (i, (mut event, private)) in items.into_iter().enumerate() {
        event.validate()?;
        check_private(&event, private.as_deref())?;
        let taken = seen.contains(&event.id)
            || !mine.insert(event.id.clone())
            || conn
                .query_row(
                    "SELECT 1 FROM events WHERE id = ?1",
                    [&event.id],
                    |_| Ok(()),
                )
                .optional()?
                .is_some();
        if taken {
            return Err(LedgerError::DuplicateEvent(event.id));
        }
        event.sequence = next + i as u64;
        let bytes =
            crate::canonical::to_vec(&event).map_err(|e| LedgerError::Encoding(e.to_string()))?;
        let leaf = leaf_hash(&bytes);
        out.push(Prepared {
            stored: StoredEvent {
                index: event.sequence,
                bytes,
                envelope: event,
                leaf_hash: leaf,
            },
            private,
        });
    }
    seen.extend(mine);
    Ok(out)
}

/// A private record must be a salted record matching the run's commitment,
/// and a run with a commitment must come with its record.
fn check_private(event: &Envelope, private: Option<&[u8]>) -> Result<(), LedgerError> {
    let commitment = event.run().and_then(|r| r.audit_commitment.as_deref());
    match (private, commitment) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(LedgerError::AuditRecord(
            "a private record needs a run event whose audit_commitment commits to it".into(),
        )),
        (None, Some(_)) => Err(LedgerError::AuditRecord(
            "the event has an audit_commitment but no private record was given".into(),
        )),
        (Some(bytes), Some(c)) => {
            audit::PrivateRecord::from_bytes(bytes)
                .map_err(|e| LedgerError::AuditRecord(e.to_string()))?;
            if audit::commitment(bytes) != c {
                return Err(LedgerError::AuditRecord(
                    "the record does not match the event's audit_commitment".into(),
                ));
            }
            Ok(())
        }
    }
}

/// Extends the tree, signs, and commits one transaction. Returns the new checkpoint.
fn write(
    conn: &mut Connection,
    signer: &NoteSigner,
    state: &mut TreeState,
    accepted: &[Accepted],
) -> Result<SignedCheckpoint, LedgerError> {
    for p in accepted.iter().flat_map(|(p, _)| p) {
        state.tree.push(&p.stored.bytes);
    }
    let cp = SignedCheckpoint::sign(state.tree.len(), state.tree.root(), signer)?;
    let tx = conn.transaction()?;
    {
        let mut ev = tx.prepare_cached(
            "INSERT INTO events (idx, id, time, body, leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut pr =
            tx.prepare_cached("INSERT INTO private_records (event_id, record) VALUES (?1, ?2)")?;
        for p in accepted.iter().flat_map(|(p, _)| p) {
            let s = &p.stored;
            ev.execute(params![
                s.index as i64,
                s.envelope.id,
                s.envelope.time,
                s.bytes,
                &s.leaf_hash[..]
            ])?;
            if let Some(record) = &p.private {
                pr.execute(params![s.envelope.id, record])?;
            }
        }
        tx.execute(
            "INSERT INTO checkpoints (size, root, note) VALUES (?1, ?2, ?3)",
            params![cp.size as i64, &cp.root[..], cp.note],
        )?;
    }
    tx.commit()?;
    state.latest = cp.clone();
    Ok(cp)
}

fn answer(state: &TreeState, cp: &SignedCheckpoint, accepted: Vec<Accepted>) {
    for (prepared, reply) in accepted {
        let receipts = prepared
            .into_iter()
            .map(|p| {
                let proof = state.tree.inclusion_proof(p.stored.index)?;
                Ok(Receipt::new(
                    p.stored.envelope,
                    p.stored.leaf_hash,
                    cp,
                    &proof,
                ))
            })
            .collect();
        let _ = reply.send(receipts);
    }
}
