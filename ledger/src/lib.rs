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
//!
//! ```
//! use sluice_ledger::event::KeyEvent;
//! use sluice_ledger::{Envelope, EventData, Ledger, NoteSigner, NoteVerifier, SqliteLedger};
//! # let dir = tempfile::tempdir()?;
//! // The node: its key signs checkpoints; the verifier key text is what it publishes.
//! let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
//! let signer = NoteSigner::new("sluice.node/5f1c0e2a", key)?;
//! let vkey = signer.verifier().vkey();
//! let ledger = SqliteLedger::open(&dir.path().join("ledger.sqlite"), signer)?;
//!
//! let data = EventData::Key(KeyEvent { by: "operator".into(), key: "ab12".into(), role: "buyer".into() });
//! let event = Envelope::new("6f1d2c1e-0000-4000-8000-000000000001", "urn:sluice:node:5f1c0e2a", sluice_ledger::time::now(), data);
//! let receipt = ledger.append(event, None)?; // durable, under a signed checkpoint, when it returns
//!
//! // A buyer, offline, with nothing but the receipt and the node's key text:
//! let checked = sluice_ledger::verify_receipt(&receipt, &NoteVerifier::parse(&vkey)?)?;
//! assert_eq!((checked.index, checked.tree_size), (0, 1));
//!
//! // An auditor, with the file and the key:
//! let report = sluice_ledger::verify::verify_sqlite(ledger.path(), &NoteVerifier::parse(&vkey)?)?;
//! assert!(report.ok);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
