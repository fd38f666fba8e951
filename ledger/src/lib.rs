//! `sluice-ledger`: Sluice's tamper-evident usage ledger.
//!
//! Every run attempt becomes a usage [`event`] (a CloudEvents envelope),
//! encoded as RFC 8785 [`canonical`] JSON and appended as a leaf of an RFC
//! 6962 [`merkle`] tree. The node signs [`checkpoint`]s of the tree in the
//! C2SP signed-note format; callers get a [`receipt`] (event, index,
//! checkpoint, inclusion proof) that verifies offline with the node's public
//! key. The [`store`] keeps it all in SQLite (WAL, `synchronous=FULL`, group
//! commit); [`verify`] audits a whole ledger and names the first bad index;
//! [`billing`] computes exact charges and reports; [`export`] writes JSON
//! Lines for offline audit; [`audit`] binds private audit records to events.
//!
//! No wasmtime and no runtime dependency: buyers and auditors use this crate
//! alone.

pub mod audit;
pub mod billing;
pub mod canonical;
pub mod checkpoint;
pub mod event;
pub mod export;
pub mod merkle;
pub mod receipt;
pub mod store;
pub mod time;
pub mod verify;

pub use checkpoint::{NoteSigner, NoteVerifier, SignedCheckpoint};
pub use event::{Envelope, EventData, RunEvent};
pub use receipt::{Receipt, VerifiedReceipt, verify_receipt};
pub use store::{Ledger, LedgerError, SqliteLedger, StoredEvent};
pub use verify::VerifyReport;
