//! Opening a registered dataset: the one place the node reaches the owner's
//! files.
//!
//! Today this is the runtime's `Dataset::open` on the registered path,
//! followed by the policy's declared types. When the runtime opens files
//! through cap-std directory capabilities (rooted where the owner registered
//! the dataset) and remembers snapshot hashes by file identity, only this
//! module changes.
//!
//! Defends against a run reading something other than what was registered:
//! the path comes from the registry, never from a request, and the snapshot
//! hash read here is what the run event records.

use std::path::Path;

use sluice_runtime::error::DataError;
use sluice_runtime::{Dataset, Policy};

/// Opens the dataset `name` at its registered `path` under `policy`.
pub(crate) fn open(name: &str, path: &Path, policy: &Policy) -> Result<Dataset, DataError> {
    Dataset::open(name, path)?.declare(policy.declared_types())
}

/// A description of why a dataset cannot be opened that is safe to show a
/// buyer: it names the kind of failure, never file content (decoder messages
/// can quote cells) nor hidden column names. The full error goes to the
/// operator's log.
pub(crate) fn public_detail(e: &DataError) -> String {
    match e {
        DataError::Io { .. } => "the owner's file cannot be opened".into(),
        DataError::UnsupportedFormat { .. } => "the owner's file has an unsupported format".into(),
        DataError::Decode { .. } => "the owner's file cannot be decoded".into(),
        DataError::UnsupportedType { .. } => {
            "the owner's file has a column of an unsupported type".into()
        }
    }
}
