//! Opening a registered dataset: the one place the node reaches the owner's
//! files.
//!
//! The runtime opens the registered location (a file, a folder or a glob)
//! through a cap-std directory capability rooted where the owner registered
//! it, applies the policy's CSV options and declared types, and checks the
//! policy against the files; snapshot hashes are remembered by file
//! identity in `DIR/snapshots.sqlite`, so an unchanged file is not re-read
//! to be identified.
//!
//! Defends against a run reading something other than what was registered:
//! the path comes from the registry, never from a request, and the snapshot
//! hash read here is what the run event records.

use std::path::Path;
use std::sync::Arc;

use sluice_runtime::data::SnapshotMemo;
use sluice_runtime::error::DataError;
use sluice_runtime::{Dataset, Policy};

/// Opens the dataset `name` at its registered `path` under `policy`.
pub(crate) fn open(
    name: &str,
    path: &Path,
    policy: &Policy,
    memo: &Arc<dyn SnapshotMemo>,
) -> Result<Dataset, DataError> {
    Dataset::open_for(name, path, policy, Some(memo.clone()))
}

/// A description of why a dataset cannot be opened that is safe to show a
/// buyer: it names the kind of failure, never file content (decoder messages
/// can quote cells) nor hidden column names. The full error goes to the
/// operator's log.
pub(crate) fn public_detail(e: &DataError) -> String {
    match e {
        DataError::Io { .. } => "the owner's file cannot be opened".into(),
        DataError::UnsupportedFormat { .. } => "the owner's file has an unsupported format".into(),
        DataError::Decode { .. } | DataError::Malformed { .. } => {
            "the owner's file cannot be decoded".into()
        }
        DataError::UnsupportedType { .. } => {
            "the owner's file has a column of an unsupported type".into()
        }
        DataError::NoFiles { .. } | DataError::Layout { .. } => {
            "the owner's dataset location holds no usable set of files".into()
        }
        DataError::SchemaMismatch { .. } => "the owner's files do not share one schema".into(),
        DataError::Rejected { .. } | DataError::Overflow { .. } => {
            "a value in the owner's file does not fit its column's type".into()
        }
        DataError::Declaration { .. } => {
            "the owner's policy does not match the dataset's columns".into()
        }
        DataError::Changed { .. } => "the owner's file changed while it was read".into(),
    }
}
