//! The Sluice node runtime: runs a buyer's WebAssembly analytics next to an
//! owner's data in a metered sandbox and releases only what the dataset's
//! policy allows.
//!
//! The modules read as the architecture: [`policy`] says what is allowed,
//! [`data`] reads the owner's files, [`grant`] joins a dataset with its
//! policy, [`engine`] is the sandbox, [`aggregate`] computes host-side
//! aggregates, [`output`] holds the release rules, and [`run`] ties them
//! into one run with an [`outcome`].

pub mod admission;
pub mod aggregate;
pub mod data;
pub mod engine;
pub mod error;
pub mod grant;
pub mod guard;
pub mod outcome;
pub mod output;
pub mod policy;
pub mod privacy;
pub mod refusal;
pub mod run;
pub mod signing;

pub use data::Dataset;
pub use engine::{Engine, EngineConfig};
pub use error::{DataError, EngineError, PolicyError};
pub use grant::Grant;
pub use outcome::{Decision, RunOutcome, Usage};
pub use policy::Policy;
pub use run::RunRequest;
