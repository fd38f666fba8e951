//! The per-event check's fast path: a canonical event read and re-checked in
//! one pass each, without the general reader's detours.
//!
//! The full check parses a body with serde_json (keeping `data` as raw text
//! until `type` is known, then parsing it again), re-encodes the event and
//! compares the bytes. [`canonical_event`] gives the same verdict for the
//! bodies a node writes, at a fraction of the cost: `type` is read from the
//! end (it is the last member in canonical order), the body is read straight
//! into that payload type ([`reader`]; run events into an event reused from
//! one body to the next), and [`matcher`] compares serde_json's encoding of
//! the result with the body as it goes, building nothing.
//!
//! What this guards against: a fast path that accepts what the full check
//! refuses. It accepts an event only when the body is exactly serde_json's
//! encoding of that event; serde_json reads its own output back to the same
//! event, so the full check would then find the same event, in canonical
//! form. How the body was read does not matter for that, so the readers can
//! be quick and strict; how the event is re-encoded does, so the matcher is
//! held to serde_json's bytes by tests. Anything else (an escape sequence,
//! whitespace, a float, members out of order, any mismatch) returns `None`
//! and the full check runs.

mod matcher;
mod reader;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned};
use serde::ser;

pub(crate) use matcher::is_encoding_of;
use reader::Reader;

use crate::event::{
    Envelope, EventData, TYPE_APPROVAL, TYPE_DATASET, TYPE_KEY, TYPE_POLICY, TYPE_RUN,
};

/// An event to read bodies into, reused from one body to the next.
pub(crate) fn scratch_event() -> Envelope {
    Envelope::new("", "", "", EventData::Run(reader::blank_run()))
}

/// The event whose serde_json encoding is exactly `bytes`, read into
/// `place` (a [`scratch_event`] or any earlier result), if `bytes` ends the
/// way such an encoding of a known type does and the fast path can read it;
/// otherwise `None`, and the caller runs the full check.
pub(crate) fn canonical_event<'a>(bytes: &[u8], place: &'a mut Envelope) -> Option<&'a Envelope> {
    let kind = bytes.strip_suffix(b"\"}")?.rsplit(|&b| b == b'"').next()?;
    let text = std::str::from_utf8(bytes).ok()?;
    match kind {
        k if k == TYPE_RUN.as_bytes() => reader::read_run_event(text, place).ok()?,
        k if k == TYPE_APPROVAL.as_bytes() => *place = typed(text, EventData::Approval)?,
        k if k == TYPE_POLICY.as_bytes() => *place = typed(text, EventData::Policy)?,
        k if k == TYPE_DATASET.as_bytes() => *place = typed(text, EventData::Dataset)?,
        k if k == TYPE_KEY.as_bytes() => *place = typed(text, EventData::Key)?,
        _ => return None,
    }
    let place = &*place;
    (place.r#type == place.data.type_name() && is_encoding_of(bytes, place)).then_some(place)
}

/// The envelope with its payload type known in advance.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Typed<D> {
    data: D,
    datacontenttype: String,
    id: String,
    sequence: u64,
    source: String,
    specversion: String,
    time: String,
    #[serde(default)]
    traceparent: Option<String>,
    #[serde(rename = "type")]
    kind: String,
}

fn typed<D: DeserializeOwned>(text: &str, wrap: fn(D) -> EventData) -> Option<Envelope> {
    let mut r = Reader::new(text);
    let t = Typed::<D>::deserialize(&mut r).ok()?;
    if !r.at_end() {
        return None;
    }
    Some(Envelope {
        specversion: t.specversion,
        id: t.id,
        source: t.source,
        r#type: t.kind,
        time: t.time,
        sequence: t.sequence,
        datacontenttype: t.datacontenttype,
        traceparent: t.traceparent,
        data: wrap(t.data),
    })
}

/// Not the fast path's case; the full check decides.
#[derive(Debug)]
pub(crate) struct Miss;

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not on the fast path")
    }
}

impl std::error::Error for Miss {}

impl de::Error for Miss {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Miss
    }
}

impl ser::Error for Miss {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Miss
    }
}
