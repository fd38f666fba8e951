//! Ledger events: a CloudEvents 1.0 JSON envelope around one typed payload.
//!
//! Every run attempt (released, withheld, denied or aborted) and every change
//! an auditor must be able to see (approvals, policy versions, datasets, keys)
//! becomes one [`Envelope`]. The envelope's `id` is the billing idempotency
//! key; `sequence` is the ledger index, assigned at append.
//!
//! What this guards against: ambiguous bytes. Events hold no floating-point
//! numbers (decimals travel as strings), unknown fields are refused when an
//! event is read back (so a field slipped into a stored event is an error, not
//! silently dropped), and the envelope's `type` must name the payload it
//! carries. [`Envelope::validate`] checks the shape before anything is stored.
//!
//! Every payload struct declares its fields in RFC 8785 key order (byte order
//! of the names). The canonical encoder does not depend on it (it sorts), but
//! it makes serde_json's compact output canonical too, which `verify` uses as
//! a fast path; a test checks the two agree for every event type.

use serde::de::Error as _;
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use crate::billing::{Charge, PriceSchedule};

/// CloudEvents `type` of a run attempt.
pub const TYPE_RUN: &str = "dev.sluice.run.v1";
/// CloudEvents `type` of a module approval or rejection.
pub const TYPE_APPROVAL: &str = "dev.sluice.approval.v1";
/// CloudEvents `type` of a new policy version.
pub const TYPE_POLICY: &str = "dev.sluice.policy.v1";
/// CloudEvents `type` of a dataset registration or snapshot change.
pub const TYPE_DATASET: &str = "dev.sluice.dataset.v1";
/// CloudEvents `type` of a key being trusted or revoked.
pub const TYPE_KEY: &str = "dev.sluice.key.v1";

/// The CloudEvents envelope of every ledger event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// CloudEvents spec version, always `"1.0"`.
    pub specversion: String,
    /// Event id (a UUID); for runs the run id. The billing idempotency key.
    pub id: String,
    /// `urn:sluice:node:<node key id>`.
    pub source: String,
    /// One of the `TYPE_*` constants; must match [`Envelope::data`].
    pub r#type: String,
    /// RFC 3339 UTC time with millisecond precision and `Z`, e.g. `2026-11-26T15:56:00.000Z`.
    pub time: String,
    /// Ledger index; set by the ledger at append (whatever the caller put here is replaced).
    pub sequence: u64,
    /// Always `"application/json"`.
    pub datacontenttype: String,
    /// W3C trace context of the run; omitted from the JSON when `None`.
    pub traceparent: Option<String>,
    /// The payload, serialised as the bare `data` object.
    pub data: EventData,
}

/// The typed payload of an [`Envelope`], selected by the envelope's `type`.
// Runs are by far the most common event and are built once per run: boxing
// them would only make every caller write `Box::new`.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventData {
    /// `dev.sluice.run.v1`
    Run(RunEvent),
    /// `dev.sluice.approval.v1`
    Approval(ApprovalEvent),
    /// `dev.sluice.policy.v1`
    Policy(PolicyEvent),
    /// `dev.sluice.dataset.v1`
    Dataset(DatasetEvent),
    /// `dev.sluice.key.v1`
    Key(KeyEvent),
}

impl EventData {
    /// The CloudEvents `type` that carries this payload.
    pub fn type_name(&self) -> &'static str {
        match self {
            EventData::Run(_) => TYPE_RUN,
            EventData::Approval(_) => TYPE_APPROVAL,
            EventData::Policy(_) => TYPE_POLICY,
            EventData::Dataset(_) => TYPE_DATASET,
            EventData::Key(_) => TYPE_KEY,
        }
    }
}

/// One run attempt: the unit of billing and audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunEvent {
    /// Host aggregate queries made.
    pub aggregate_queries: u64,
    /// Salted commitment to the private audit record (see [`crate::audit`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_commitment: Option<String>,
    /// The buyer's public key (hex); `None` for unsigned modules or unknown signers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer: Option<String>,
    /// The buyer's key id, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buyer_key_id: Option<String>,
    /// Bytes fed to the guest.
    pub bytes_fed: u64,
    /// One charge per dataset.
    pub charges: Vec<Charge>,
    /// Stable outcome code, e.g. `aborted.fuel`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Every dataset the run asked for.
    pub datasets: Vec<DatasetUse>,
    /// `released`, `withheld`, `denied` or `aborted`.
    pub decision: String,
    /// Engine description including the wasmtime version and fuel configuration.
    pub engine: String,
    /// Privacy budget spent, as decimal text (e.g. `"0.5"`).
    pub epsilon_spent: String,
    /// True when fuel and wall time are coarse buckets rather than exact figures.
    pub figures_rounded: bool,
    /// Fuel consumed: exact when released, a rounded-up bucket otherwise.
    pub fuel_consumed: u64,
    /// Fuel limit from the policy.
    pub fuel_limit: u64,
    /// Groups suppressed by the minimum group size.
    pub groups_suppressed: u64,
    /// Peak guest memory in bytes.
    pub memory_peak_bytes: u64,
    /// SHA-256 hex of the module without its signature section.
    pub module_hash: String,
    /// The node's id (its key id).
    pub node_id: String,
    /// Size of the released output; only when released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_bytes: Option<u64>,
    /// SHA-256 hex of the released output; only when released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_hash: Option<String>,
    /// SHA-256 hex of the params text.
    pub params_hash: String,
    /// Host-authored text for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Rows fed to the guest.
    pub rows_fed: u64,
    /// Seed of the guest's randomness. Written as a decimal string: JSON
    /// numbers are exact only up to 2^53 (RFC 8785 / I-JSON) and a seed uses all 64 bits.
    #[serde(with = "u64_text")]
    pub seed: u64,
    /// Trace id of the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_id: Option<String>,
    /// Wall time in milliseconds.
    pub wall_ms: u64,
}

/// One dataset used by a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetUse {
    /// Dataset name on the node.
    pub dataset: String,
    /// Hash of that policy version.
    pub policy_hash: String,
    /// Policy version in force.
    pub policy_version: String,
    /// Snapshot hash of the data read.
    pub snapshot: String,
    /// Trust tier (`approved` or `trusted-signer`); `None` when denied before one was decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

/// A module approved or rejected by a dataset owner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalEvent {
    /// Owner key id.
    pub by: String,
    /// Dataset the approval is for.
    pub dataset: String,
    /// `approved` or `rejected`.
    pub decision: String,
    /// Expiry (RFC 3339), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// Module hash approved or rejected.
    pub module_hash: String,
    /// Owner's note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Id of the approval request, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// A new policy version for a dataset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyEvent {
    /// Key id of whoever set it.
    pub by: String,
    /// Dataset the policy governs.
    pub dataset: String,
    /// Hash of the policy text.
    pub policy_hash: String,
    /// Policy version.
    pub version: String,
}

/// A dataset registered or its snapshot changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetEvent {
    /// Key id of whoever registered it.
    pub by: String,
    /// Dataset name.
    pub dataset: String,
    /// Snapshot hash.
    pub snapshot: String,
}

/// A key trusted or revoked on the node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyEvent {
    /// Key id of whoever made the change.
    pub by: String,
    /// The public key (hex) or key id.
    pub key: String,
    /// Role: `buyer`, `owner`, `auditor`, `operator`, or a `revoked:` prefix of one.
    pub role: String,
}

/// Largest integer a JSON number carries exactly (2^53 - 1, I-JSON / RFC 8785).
pub const MAX_JSON_INTEGER: u64 = (1 << 53) - 1;

/// Serde helper: a `u64` as a decimal string.
mod u64_text {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(v: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|_| D::Error::custom(format!("{text:?} is not a decimal u64")))
    }
}

/// Why an event was refused before it was stored or after it was read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    /// The envelope breaks a rule of the format.
    #[error("invalid event: {0}")]
    Invalid(String),
}

impl Envelope {
    /// A new envelope for `data`, with `type` derived from it and `sequence` 0
    /// (the ledger assigns it).
    pub fn new(
        id: impl Into<String>,
        source: impl Into<String>,
        time: impl Into<String>,
        data: EventData,
    ) -> Self {
        Envelope {
            specversion: "1.0".into(),
            id: id.into(),
            source: source.into(),
            r#type: data.type_name().into(),
            time: time.into(),
            sequence: 0,
            datacontenttype: "application/json".into(),
            traceparent: None,
            data,
        }
    }

    /// Checks the envelope's fixed fields, its `type` against its payload and
    /// the format of its `time`.
    pub fn validate(&self) -> Result<(), EventError> {
        let bad = |m: String| Err(EventError::Invalid(m));
        if self.specversion != "1.0" {
            return bad(format!(
                "specversion is {:?}; it must be \"1.0\"",
                self.specversion
            ));
        }
        if self.datacontenttype != "application/json" {
            return bad(format!(
                "datacontenttype is {:?}; it must be \"application/json\"",
                self.datacontenttype
            ));
        }
        if self.id.is_empty() {
            return bad("the event id is empty; give every event a unique id (a UUID)".into());
        }
        if self.r#type != self.data.type_name() {
            return bad(format!(
                "type is {:?} but the data is a {}",
                self.r#type,
                self.data.type_name()
            ));
        }
        crate::time::check_timestamp(&self.time).map_err(EventError::Invalid)?;
        self.check_integers()
    }

    /// JSON integers must stay exact in every JSON implementation (I-JSON).
    fn check_integers(&self) -> Result<(), EventError> {
        let Some(r) = self.run() else { return Ok(()) };
        let figures = [
            ("aggregate_queries", r.aggregate_queries),
            ("bytes_fed", r.bytes_fed),
            ("fuel_consumed", r.fuel_consumed),
            ("fuel_limit", r.fuel_limit),
            ("groups_suppressed", r.groups_suppressed),
            ("memory_peak_bytes", r.memory_peak_bytes),
            ("output_bytes", r.output_bytes.unwrap_or(0)),
            ("rows_fed", r.rows_fed),
            ("wall_ms", r.wall_ms),
        ];
        match figures.iter().find(|(_, v)| *v > MAX_JSON_INTEGER) {
            Some((name, v)) => Err(EventError::Invalid(format!(
                "{name} is {v}, above 2^53-1, the largest integer JSON carries exactly; record a capped figure"
            ))),
            None => Ok(()),
        }
    }

    /// The run payload, when this is a run event.
    pub fn run(&self) -> Option<&RunEvent> {
        match &self.data {
            EventData::Run(r) => Some(r),
            _ => None,
        }
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let fields = if self.traceparent.is_some() { 9 } else { 8 };
        // Members in RFC 8785 order (byte order of the names), so that plain
        // serde_json output of an event is already canonical.
        let mut st = s.serialize_struct("Envelope", fields)?;
        match &self.data {
            EventData::Run(d) => st.serialize_field("data", d)?,
            EventData::Approval(d) => st.serialize_field("data", d)?,
            EventData::Policy(d) => st.serialize_field("data", d)?,
            EventData::Dataset(d) => st.serialize_field("data", d)?,
            EventData::Key(d) => st.serialize_field("data", d)?,
        }
        st.serialize_field("datacontenttype", &self.datacontenttype)?;
        st.serialize_field("id", &self.id)?;
        st.serialize_field("sequence", &self.sequence)?;
        st.serialize_field("source", &self.source)?;
        st.serialize_field("specversion", &self.specversion)?;
        st.serialize_field("time", &self.time)?;
        if let Some(t) = &self.traceparent {
            st.serialize_field("traceparent", t)?;
        }
        st.serialize_field("type", &self.r#type)?;
        st.end()
    }
}

/// The envelope as read: `data` kept as raw JSON until `type` is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnvelope {
    specversion: String,
    id: String,
    source: String,
    #[serde(rename = "type")]
    kind: String,
    time: String,
    sequence: u64,
    datacontenttype: String,
    #[serde(default)]
    traceparent: Option<String>,
    data: Box<serde_json::value::RawValue>,
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = RawEnvelope::deserialize(d)?;
        let text = raw.data.get();
        let data = match raw.kind.as_str() {
            TYPE_RUN => serde_json::from_str(text).map(EventData::Run),
            TYPE_APPROVAL => serde_json::from_str(text).map(EventData::Approval),
            TYPE_POLICY => serde_json::from_str(text).map(EventData::Policy),
            TYPE_DATASET => serde_json::from_str(text).map(EventData::Dataset),
            TYPE_KEY => serde_json::from_str(text).map(EventData::Key),
            other => return Err(D::Error::custom(format!("unknown event type {other:?}"))),
        }
        .map_err(|e| D::Error::custom(format!("data of a {} event: {e}", raw.kind)))?;
        Ok(Envelope {
            specversion: raw.specversion,
            id: raw.id,
            source: raw.source,
            r#type: raw.kind,
            time: raw.time,
            sequence: raw.sequence,
            datacontenttype: raw.datacontenttype,
            traceparent: raw.traceparent,
            data,
        })
    }
}
