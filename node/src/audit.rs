//! What auditors and the exchange ask of a node's ledger: a full audit,
//! events by index or run id, proofs, an export, and billing.
//!
//! Everything here reads the ledger through the `sluice-ledger` crate, the
//! same code a buyer or auditor runs offline, so the node's answers can be
//! checked without trusting the node. The audit of the embedded ledger reads
//! the SQLite file itself (read-only, raw rows), not the node's in-memory
//! state, so it sees any edit made to the file by hand.

use std::io::Write;
use std::path::Path;

use sluice_ledger::billing::{self, BillingReport, GroupBy, Recomputed};
use sluice_ledger::verify::{self, VerifyError};
use sluice_ledger::{Envelope, LedgerError, StoredEvent, VerifyReport, export};

use sluice_runtime::signing::PublicKey;

use crate::datadir::DataDir;
use crate::error::NodeError;
use crate::identity;
use crate::node::Node;

/// Audits the ledger of the node in `data_dir` without opening the node:
/// what an auditor runs on a ledger that may have been altered (an altered
/// ledger cannot be opened for appending, but it can always be audited).
/// Waits for a process writing to the directory to finish.
pub fn verify_data_dir(data_dir: &Path) -> Result<VerifyReport, NodeError> {
    let dir = DataDir::new(data_dir)?;
    dir.require()?;
    let _lock = dir.lock()?;
    let key = PublicKey::from_file(dir.public_key()).map_err(NodeError::Key)?;
    verify::verify_sqlite(&dir.ledger(), &identity::verifier(&key)?).map_err(verify_error)
}

fn verify_error(e: VerifyError) -> NodeError {
    match e {
        VerifyError::Ledger(l) => NodeError::Ledger(l),
        VerifyError::Storage(s) => NodeError::Ledger(LedgerError::Storage(s)),
        other => NodeError::internal(other),
    }
}

impl Node {
    /// Audits the whole ledger: every event, the tree, every checkpoint.
    pub fn verify_ledger(&self) -> Result<VerifyReport, NodeError> {
        let verifier = self.note_verifier();
        match self.ledger_file() {
            Some(path) => verify::verify_sqlite(path, &verifier),
            None => verify::verify_ledger(self.ledger(), &verifier),
        }
        .map_err(verify_error)
    }

    /// The event at `index`.
    pub fn event(&self, index: u64) -> Result<StoredEvent, NodeError> {
        self.ledger.event(index)?.ok_or(NodeError::UnknownEvent {
            index,
            len: self.ledger.len()?,
        })
    }

    /// The event of run `run_id` (any event, by id).
    pub fn event_by_id(&self, run_id: &str) -> Result<StoredEvent, NodeError> {
        self.ledger
            .event_by_id(run_id)?
            .ok_or_else(|| NodeError::UnknownRun(run_id.into()))
    }

    /// Up to `limit` events from index `from` on.
    pub fn events(&self, from: u64, limit: u64) -> Result<Vec<StoredEvent>, NodeError> {
        Ok(self.ledger.events(from, limit)?)
    }

    /// Writes the whole ledger as JSON Lines; returns the number of events.
    pub fn export(&self, out: &mut dyn Write) -> Result<u64, NodeError> {
        Ok(export::write_export(
            self.ledger(),
            &self.note_verifier().vkey(),
            out,
        )?)
    }

    /// Every event, in order (for billing).
    fn all_events(&self) -> Result<Vec<Envelope>, NodeError> {
        let mut out = Vec::new();
        let len = self.ledger.len()?;
        while (out.len() as u64) < len {
            let page = self.ledger.events(out.len() as u64, 4096)?;
            if page.is_empty() {
                break;
            }
            out.extend(page.into_iter().map(|e| e.envelope));
        }
        Ok(out)
    }

    /// The billing report over `[from, to)` (`YYYY-MM-DD` or RFC 3339 bounds).
    pub fn billing_report(
        &self,
        by: GroupBy,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<BillingReport, NodeError> {
        Ok(self.billing_check(by, from, to)?.report)
    }

    /// The billing report, with every recorded charge recomputed from its
    /// prices and figures (mismatches listed).
    pub fn billing_check(
        &self,
        by: GroupBy,
        from: Option<&str>,
        to: Option<&str>,
    ) -> Result<Recomputed, NodeError> {
        billing::recompute(&self.all_events()?, by, from, to).map_err(|e| match e {
            billing::BillingError::BadPeriod(m) => NodeError::InvalidRequest(format!(
                "bad period bound: {m}; use YYYY-MM-DD or 2026-01-31T00:00:00Z"
            )),
            other => NodeError::internal(other),
        })
    }
}
