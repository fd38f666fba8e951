//! Why a run was not released, as types with stable codes.
//!
//! Every way a run can end other than `released` is one variant here, and
//! each variant has a stable dotted code (`denied.unsigned`,
//! `withheld.output-rows`, `aborted.fuel`, ...). The usage event, the CLI's
//! JSON and the HTTP status are all derived from the code; the text for
//! people comes from [`Display`](std::fmt::Display) and is never parsed back.
//!
//! Defends the release guarantee: every field here is host-authored. Nothing
//! the guest controls (its error text, output sizes, the memory it asked
//! for, the names it gave output columns) appears in a reason, because a
//! reason reaches the buyer even when the output does not.

use std::fmt;

use serde::Serialize;
use serde::ser::SerializeMap;

use super::Decision;

/// Why a run was refused before any guest code executed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    /// The bytes are not a WebAssembly component (a core module, or not wasm).
    NotAComponent {
        /// True when the bytes are a core module rather than garbage.
        core_module: bool,
    },
    /// The module carries no signature.
    Unsigned,
    /// No signature verifies against a key this node knows.
    BadSignature {
        /// Key ids that were tried.
        key_ids: Vec<String>,
    },
    /// A known key's signature verifies, over different bytes: the module
    /// was altered after signing.
    Tampered {
        /// The signer's key id.
        key_id: String,
    },
    /// The signature section cannot be decoded.
    MalformedSignature {
        /// What the decoder found (host-authored).
        detail: String,
    },
    /// The module's sections cannot be read.
    MalformedModule {
        /// What the reader found (host-authored).
        detail: String,
    },
    /// Neither approved for the dataset nor signed by a signer its policy trusts.
    NotApproved {
        /// The dataset.
        dataset: String,
        /// The module hash.
        module_hash: String,
        /// The signer's key id.
        signer: String,
    },
    /// The approval expired and the signer is not trusted.
    ApprovalExpired {
        /// The dataset.
        dataset: String,
        /// The module hash.
        module_hash: String,
        /// The signer's key id.
        signer: String,
        /// When the approval expired, Unix seconds.
        expired_at: i64,
    },
    /// wasmtime could not compile or link the component.
    InvalidComponent {
        /// What wasmtime said (about the buyer's own module, not the data).
        detail: String,
    },
    /// The module is larger than the node accepts.
    ModuleTooLarge {
        /// The module's size, bytes.
        bytes: u64,
        /// The node's cap, bytes.
        limit: u64,
    },
    /// Compiling the module took longer than the node allows.
    CompileTime {
        /// The node's cap, milliseconds.
        limit_ms: u64,
    },
    /// The run named a dataset this node does not have.
    UnknownDataset {
        /// The name asked for.
        dataset: String,
    },
    /// A dataset could not be opened or no longer matches its snapshot.
    DataUnavailable {
        /// The dataset.
        dataset: String,
        /// What is wrong (host-authored, never cell values).
        detail: String,
    },
}

/// Why a finished guest's output was not released: the release rule that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withholding {
    /// More rows than `release.output_rows`.
    OutputRows {
        /// The policy's cap.
        limit: u64,
    },
    /// More bytes than `release.output_bytes`.
    OutputBytes {
        /// The policy's cap.
        limit: u64,
    },
    /// Ragged columns or duplicate column names.
    MalformedOutput,
    /// Raw values of a non-key column in the output, which the policy forbids.
    RawValues,
}

/// The kind of an error a guest returned (the WIT `error` variant's case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GuestErrorKind {
    /// `not-permitted`.
    NotPermitted,
    /// `not-found`.
    NotFound,
    /// `invalid`.
    Invalid,
    /// `limit-reached`.
    LimitReached,
}

impl GuestErrorKind {
    /// The WIT case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotPermitted => "not-permitted",
            Self::NotFound => "not-found",
            Self::Invalid => "invalid",
            Self::LimitReached => "limit-reached",
        }
    }
}

/// Why a started guest was stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abort {
    /// The fuel limit was reached (guest instructions plus host work).
    Fuel {
        /// The policy's fuel limit.
        limit: u64,
    },
    /// The memory cap was reached (guest memory plus host memory held for it).
    Memory {
        /// The policy's cap, bytes.
        limit_bytes: u64,
    },
    /// The wall-clock cap was reached.
    WallClock {
        /// The policy's cap, milliseconds.
        limit_ms: u64,
    },
    /// The wasm call stack overflowed.
    Stack,
    /// The guest trapped (panic, unreachable, out-of-bounds access, ...).
    Trap {
        /// wasmtime's name of the trap.
        trap: String,
    },
    /// The guest returned an error.
    GuestError {
        /// The error's kind.
        kind: GuestErrorKind,
        /// The host's own message, when the guest returned an error the
        /// host raised; `None` when the guest wrote the text (guest text
        /// goes only to the operator's log).
        host_message: Option<String>,
    },
    /// A dataset file changed while the run read it.
    DataChanged {
        /// The dataset.
        dataset: String,
    },
    /// The host failed; the operator's log has the details.
    Internal,
}

/// Why a run was not released.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Refused before the guest started.
    Denied(Denial),
    /// The output broke a release rule.
    Withheld(Withholding),
    /// The guest was stopped.
    Aborted(Abort),
}

impl Reason {
    /// The decision this reason belongs to.
    pub fn decision(&self) -> Decision {
        match self {
            Self::Denied(_) => Decision::Denied,
            Self::Withheld(_) => Decision::Withheld,
            Self::Aborted(_) => Decision::Aborted,
        }
    }

    /// The stable code, e.g. `aborted.fuel`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Denied(d) => d.code(),
            Self::Withheld(w) => w.code(),
            Self::Aborted(a) => a.code(),
        }
    }
}

impl Denial {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotAComponent { .. } => "denied.not-a-component",
            Self::Unsigned => "denied.unsigned",
            Self::BadSignature { .. } => "denied.bad-signature",
            Self::Tampered { .. } => "denied.tampered",
            Self::MalformedSignature { .. } => "denied.malformed-signature",
            Self::MalformedModule { .. } => "denied.malformed-module",
            Self::NotApproved { .. } => "denied.not-approved",
            Self::ApprovalExpired { .. } => "denied.approval-expired",
            Self::InvalidComponent { .. } => "denied.invalid-component",
            Self::ModuleTooLarge { .. } => "denied.module-too-large",
            Self::CompileTime { .. } => "denied.compile-time",
            Self::UnknownDataset { .. } => "denied.unknown-dataset",
            Self::DataUnavailable { .. } => "denied.data-unavailable",
        }
    }
}

impl Withholding {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::OutputRows { .. } => "withheld.output-rows",
            Self::OutputBytes { .. } => "withheld.output-bytes",
            Self::MalformedOutput => "withheld.malformed-output",
            Self::RawValues => "withheld.raw-values",
        }
    }
}

impl Abort {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Fuel { .. } => "aborted.fuel",
            Self::Memory { .. } => "aborted.memory",
            Self::WallClock { .. } => "aborted.wall-clock",
            Self::Stack => "aborted.stack",
            Self::Trap { .. } => "aborted.trap",
            Self::GuestError { .. } => "aborted.guest-error",
            Self::DataChanged { .. } => "aborted.data-changed",
            Self::Internal => "aborted.internal",
        }
    }
}

fn key_list(ids: &[String]) -> String {
    match ids {
        [] => "no key this node knows".to_string(),
        [one] => format!("key {one}"),
        [first, rest @ ..] => format!("key {first} (or {})", rest.join(", ")),
    }
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotAComponent { core_module: true } => f.write_str(
                "module is a core WebAssembly module, not a component: build it with `cargo build --target wasm32-wasip2`",
            ),
            Self::NotAComponent { core_module: false } => f.write_str(
                "module is not WebAssembly: it does not start with the `\\0asm` header",
            ),
            Self::Unsigned => f.write_str(
                "signature check failed: module is not signed; sign it with `sluice sign --key KEY.key`",
            ),
            Self::BadSignature { key_ids } => write!(
                f,
                "signature check failed: signature does not verify against {}",
                key_list(key_ids)
            ),
            Self::Tampered { key_id } => write!(
                f,
                "signature check failed: module was altered after signing (hash mismatch; signer {key_id})"
            ),
            Self::MalformedSignature { detail } => write!(
                f,
                "signature check failed: signature section is malformed: {detail}"
            ),
            Self::MalformedModule { detail } => {
                write!(f, "signature check failed: module is malformed: {detail}")
            }
            Self::NotApproved {
                dataset,
                module_hash,
                signer,
            } => write!(
                f,
                "module {module_hash} is not approved for dataset `{dataset}` and its signer {signer} is not a trusted signer of that dataset's policy; ask the owner to approve it"
            ),
            Self::ApprovalExpired {
                dataset,
                module_hash,
                signer,
                expired_at,
            } => write!(
                f,
                "the approval of module {module_hash} for dataset `{dataset}` expired at {}, and its signer {signer} is not a trusted signer; ask the owner to renew it",
                crate::policy::format_rfc3339(*expired_at)
            ),
            Self::InvalidComponent { detail } => {
                write!(f, "module is not a valid WebAssembly component: {detail}")
            }
            Self::ModuleTooLarge { bytes, limit } => write!(
                f,
                "module is {bytes} bytes, the node accepts at most {limit}; strip debug info or build with `opt-level = \"s\"`"
            ),
            Self::CompileTime { limit_ms } => write!(
                f,
                "compiling the module took longer than the node's {limit_ms} ms limit; make it smaller"
            ),
            Self::UnknownDataset { dataset } => write!(
                f,
                "this node has no dataset `{dataset}`; `sluice dataset list` shows the registered ones"
            ),
            Self::DataUnavailable { dataset, detail } => {
                write!(f, "dataset `{dataset}` is unavailable: {detail}")
            }
        }
    }
}

impl fmt::Display for Withholding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::OutputRows { limit } => write!(
                f,
                "release rule failed: output_rows: the table has more rows than the policy allows ({limit})"
            ),
            Self::OutputBytes { limit } => write!(
                f,
                "release rule failed: output_bytes: the table is larger than the policy allows ({limit} bytes)"
            ),
            Self::MalformedOutput => f.write_str(
                "release rule failed: malformed output: columns differ in length or a column name appears twice",
            ),
            Self::RawValues => f.write_str(
                "release rule failed: raw_values_in_output: the output contains values of a raw column that is not a group key, and the policy forbids releasing raw values",
            ),
        }
    }
}

impl fmt::Display for Abort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fuel { limit } => write!(
                f,
                "fuel exhausted: the run used all {limit} fuel the policy allows"
            ),
            Self::Memory { limit_bytes } => write!(
                f,
                "memory limit exceeded: the policy allows {} MiB",
                limit_bytes >> 20
            ),
            Self::WallClock { limit_ms } => write!(
                f,
                "wall-clock limit exceeded: the policy allows {limit_ms} ms"
            ),
            Self::Stack => {
                f.write_str("stack overflow: the guest exceeded the wasm call-stack limit")
            }
            Self::Trap { trap } => write!(f, "guest trapped: {trap}"),
            Self::GuestError {
                kind,
                host_message: Some(m),
            } => write!(f, "the guest returned an error: {}: {m}", kind.as_str()),
            Self::GuestError {
                kind,
                host_message: None,
            } => write!(
                f,
                "the guest returned an error: {} (its text is in the operator's run log)",
                kind.as_str()
            ),
            Self::DataChanged { dataset } => write!(
                f,
                "dataset `{dataset}` changed while the run read it; run again to use the new snapshot"
            ),
            Self::Internal => {
                f.write_str("the node failed during the run; its operator has the details")
            }
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Denied(d) => d.fmt(f),
            Self::Withheld(w) => w.fmt(f),
            Self::Aborted(a) => a.fmt(f),
        }
    }
}

/// Serialises as `{"code": ..., "reason": ...}`, so an outcome flattens to
/// both fields.
impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("code", self.code())?;
        map.serialize_entry("reason", &self.to_string())?;
        map.end()
    }
}

impl From<Denial> for Reason {
    fn from(d: Denial) -> Self {
        Self::Denied(d)
    }
}

impl From<Withholding> for Reason {
    fn from(w: Withholding) -> Self {
        Self::Withheld(w)
    }
}

impl From<Abort> for Reason {
    fn from(a: Abort) -> Self {
        Self::Aborted(a)
    }
}
