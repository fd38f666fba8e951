//! Difference checks: no two released groups may differ by fewer than
//! `min_group_size` rows, across queries, runs and time.
//!
//! Defends exact (non-private) host aggregates against differencing. Every
//! group a buyer sees has at least `k = min_group_size` rows, but two such
//! groups can still differ by one row (counts per zip code, then per zip
//! code and sex: a zip with 11 women and 1 man gives the man's income by
//! subtraction). As Google Ads Data Hub does, the node remembers the exact
//! row set of every group it released to each buyer for each dataset
//! snapshot and refuses a group whose row set differs from any remembered
//! one by between 1 and `k - 1` rows (`0 < |A Δ B| < k`). Refused groups are
//! left out of the result and counted with the suppressed ones, so the
//! buyer cannot tell the two apart.
//!
//! A group's row set is the rows that contribute to its figures: with a
//! column, the rows where that column is not null; without one, all rows of
//! the group. Row ids are positions in the snapshot's file.
//!
//! # Storage
//!
//! A SQLite file next to the privacy budget (WAL, `synchronous=FULL`), one
//! row per released set, with its size, its `k` smallest rows (the anchors
//! the check looks up, see [`history`]) and the set as a portable roaring
//! bitmap:
//!
//! ```sql
//! CREATE TABLE released_set (
//!     id          INTEGER PRIMARY KEY,
//!     buyer       TEXT    NOT NULL,  -- signer key id
//!     snapshot    TEXT    NOT NULL,  -- SHA-256 of the dataset file
//!     dataset     TEXT    NOT NULL,  -- for people
//!     rows        INTEGER NOT NULL,
//!     anchors     BLOB    NOT NULL,  -- smallest row ids, u32 little-endian
//!     bitmap      BLOB    NOT NULL,  -- roaring portable serialisation
//!     at_unix_ns  INTEGER NOT NULL
//! ) STRICT;
//! ```
//!
//! A query's check and the recording of what it releases are one
//! `BEGIN IMMEDIATE` transaction that first loads the sets other runs added
//! since this run last looked, so two concurrent runs of one buyer cannot
//! each release one side of a difference. The transaction commits before
//! the result reaches the guest.
//!
//! # Bounds
//!
//! Per (buyer, snapshot) at most [`MAX_SETS`] sets and [`MAX_ANCHORS`]
//! anchors are remembered; a query that would pass either is refused
//! (`limit-reached`), never answered unchecked. A run loads the anchors
//! (8 bytes each) once, on its first exact aggregate over the dataset, and
//! bitmaps only for the few sets the anchors and sizes leave as candidates.
//!
//! # Replay
//!
//! Each decision is recorded in the run's audit record
//! ([`DifferenceDecision`]); a replay takes decisions from that list
//! instead of from the store, and writes nothing (see
//! [`crate::privacy::RunPrivacy`]).
//!
//! # Limits
//!
//! Pairwise checks do not stop differences of three or more results (the
//! sum of several released groups minus another); row ids are per
//! snapshot, so a file that changes by a few rows between snapshots can be
//! differenced across them. Where either matters, the policy should ask for
//! `[privacy]`, whose noise covers every combination.

pub(crate) mod history;

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use roaring::RoaringBitmap;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use history::{History, Known, Verdict, anchors};
pub use history::{MAX_ANCHORS, MAX_SETS};

use super::error::PrivacyError;
use super::store;

/// Schema version written to `PRAGMA user_version`.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS released_set (
    id          INTEGER PRIMARY KEY,
    buyer       TEXT    NOT NULL,
    snapshot    TEXT    NOT NULL,
    dataset     TEXT    NOT NULL,
    rows        INTEGER NOT NULL,
    anchors     BLOB    NOT NULL,
    bitmap      BLOB    NOT NULL,
    at_unix_ns  INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS released_set_by_pair ON released_set (buyer, snapshot, id);
";

/// One difference-check decision, for the audit record and replay.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DifferenceDecision {
    /// Rows in the checked set. Private.
    pub rows: u64,
    /// Whether the group was refused.
    pub refused: bool,
}

/// Whose sets, over which data.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Pair {
    /// The signer's key id.
    pub buyer: String,
    /// The dataset's snapshot hash.
    pub snapshot: String,
    /// The dataset's name (for people).
    pub dataset: String,
}

/// The persisted row sets of released groups.
#[derive(Debug)]
pub struct DifferenceStore {
    conn: Mutex<Connection>,
}

impl DifferenceStore {
    /// Opens (creating if needed) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, PrivacyError> {
        Ok(Self {
            conn: Mutex::new(store::open(path, SCHEMA, SCHEMA_VERSION)?),
        })
    }

    /// A store that lives in memory only, for tests and dry runs.
    pub fn in_memory() -> Result<Self, PrivacyError> {
        Ok(Self {
            conn: Mutex::new(store::in_memory(SCHEMA, SCHEMA_VERSION)?),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sets remembered for `pair`.
    pub fn count(&self, pair: &Pair) -> Result<u64, PrivacyError> {
        let conn = self.lock();
        let n: i64 = conn.query_row(
            "SELECT COUNT(*) FROM released_set WHERE buyer = ?1 AND snapshot = ?2",
            params![pair.buyer, pair.snapshot],
            |r| r.get(0),
        )?;
        Ok(n.unsigned_abs())
    }

    /// Checks `sets` (one per group, in order) against `history` and
    /// everything stored for `pair`, records the ones that pass and returns
    /// one decision per set. One transaction: nothing is recorded unless
    /// all decisions are.
    pub(crate) fn check_and_record(
        &self,
        pair: &Pair,
        history: &mut History,
        sets: &[RoaringBitmap],
    ) -> Result<Vec<bool>, PrivacyError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        load_since(&tx, pair, history)?;
        let mut refused = Vec::with_capacity(sets.len());
        let mut passed = Vec::new();
        for set in sets {
            let verdict = history.check(set, |id| read_bitmap(&tx, id));
            refused.push(verdict == Verdict::Refused);
            if verdict == Verdict::New {
                passed.push(set);
            }
        }
        let k = history.k();
        if history.len() + passed.len() > MAX_SETS
            || history.anchor_count() + passed.len() * k as usize > MAX_ANCHORS
        {
            return Err(PrivacyError::HistoryFull {
                dataset: pair.dataset.clone(),
                sets: history.len() as u64,
            });
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX));
        let mut added = Vec::with_capacity(passed.len());
        for set in passed {
            let anchors = anchors(set, k);
            let mut bytes = Vec::with_capacity(set.serialized_size());
            set.serialize_into(&mut bytes)
                .map_err(|e| PrivacyError::Mechanism(format!("cannot encode a row set: {e}")))?;
            tx.execute(
                "INSERT INTO released_set (buyer, snapshot, dataset, rows, anchors, bitmap, at_unix_ns) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    pair.buyer,
                    pair.snapshot,
                    pair.dataset,
                    i64::try_from(set.len()).unwrap_or(i64::MAX),
                    encode_rows(&anchors),
                    bytes,
                    now
                ],
            )?;
            added.push((tx.last_insert_rowid(), set.len(), anchors, set.clone()));
        }
        tx.commit()?;
        for (id, rows, anchors, set) in added {
            history.add(Known { id, rows }, &anchors, Some(set));
        }
        history.settle();
        Ok(refused)
    }
}

/// Loads the sets of `pair` stored after the last one `history` holds.
fn load_since(conn: &Connection, pair: &Pair, history: &mut History) -> Result<(), PrivacyError> {
    let k = history.k();
    let mut stmt = conn.prepare_cached(
        "SELECT id, rows, anchors FROM released_set \
         WHERE buyer = ?1 AND snapshot = ?2 AND id > ?3 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![pair.buyer, pair.snapshot, history.max_id], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })?;
    for row in rows {
        let (id, size, blob) = row?;
        let size = size.unsigned_abs();
        let mut anchors = decode_rows(&blob);
        // Recorded under a smaller minimum group size: recompute the anchors.
        if (anchors.len() as u64) < k.min(size) {
            let Some(set) = read_bitmap(conn, id) else {
                return Err(PrivacyError::Mechanism(format!(
                    "released row set {id} cannot be read"
                )));
            };
            anchors = history::anchors(&set, k);
        }
        anchors.truncate(k as usize);
        history.add(Known { id, rows: size }, &anchors, None);
    }
    history.settle();
    Ok(())
}

fn read_bitmap(conn: &Connection, id: i64) -> Option<RoaringBitmap> {
    let blob: Vec<u8> = conn
        .query_row(
            "SELECT bitmap FROM released_set WHERE id = ?1",
            params![id],
            |r| r.get(0),
        )
        .optional()
        .ok()??;
    RoaringBitmap::deserialize_from(blob.as_slice()).ok()
}

fn encode_rows(rows: &[u32]) -> Vec<u8> {
    rows.iter().flat_map(|r| r.to_le_bytes()).collect()
}

fn decode_rows(blob: &[u8]) -> Vec<u32> {
    blob.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

#[cfg(test)]
mod tests;
