//! The per-event check's fast path: a canonical event read and re-checked in
//! one pass each, without the general reader's detours.
//!
//! The full check parses a body with serde_json (keeping `data` as raw text
//! until `type` is known, then parsing it again), re-encodes the event and
//! compares the bytes. [`canonical_event`] gives the same verdict for the
//! bodies a node writes, at about half the cost: `type` is read from the end
//! (it is the last member in canonical order), [`Reader`] parses the body
//! straight into that payload type, and [`Matcher`] compares serde_json's
//! encoding of the result with the body as it goes, building nothing.
//!
//! What this guards against: a fast path that accepts what the full check
//! refuses. It accepts an event only when the body is exactly serde_json's
//! encoding of that event; serde_json reads its own output back to the same
//! event, so the full check would then find the same event, in canonical
//! form. How the body was parsed does not matter for that; how it is
//! re-encoded does, so [`Matcher`] writes strings that need escaping through
//! serde_json itself, and tests hold it to serde_json's bytes. Anything
//! else (an escape sequence, whitespace, a float, any mismatch) returns
//! `None` and the full check runs.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, DeserializeOwned, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Impossible, Serialize};

use crate::event::{
    ApprovalEvent, DatasetEvent, Envelope, EventData, KeyEvent, PolicyEvent, RunEvent,
    TYPE_APPROVAL, TYPE_DATASET, TYPE_KEY, TYPE_POLICY, TYPE_RUN,
};

/// The event whose serde_json encoding is exactly `bytes`, if `bytes` ends
/// the way such an encoding of a known type does and the fast path can read
/// it; otherwise `None`, and the caller runs the full check.
pub(crate) fn canonical_event(bytes: &[u8]) -> Option<Envelope> {
    let kind = bytes.strip_suffix(b"\"}")?.rsplit(|&b| b == b'"').next()?;
    let text = std::str::from_utf8(bytes).ok()?;
    let env = match kind {
        k if k == TYPE_RUN.as_bytes() => typed::<RunEvent>(text, EventData::Run),
        k if k == TYPE_APPROVAL.as_bytes() => typed::<ApprovalEvent>(text, EventData::Approval),
        k if k == TYPE_POLICY.as_bytes() => typed::<PolicyEvent>(text, EventData::Policy),
        k if k == TYPE_DATASET.as_bytes() => typed::<DatasetEvent>(text, EventData::Dataset),
        k if k == TYPE_KEY.as_bytes() => typed::<KeyEvent>(text, EventData::Key),
        _ => None,
    }?;
    is_encoding_of(bytes, &env).then_some(env)
}

/// True when `bytes` is exactly `serde_json::to_vec(value)`, or false when it
/// is not or `value` holds something [`Matcher`] does not write (then the
/// caller's full check decides).
pub(crate) fn is_encoding_of<T: Serialize + ?Sized>(bytes: &[u8], value: &T) -> bool {
    let mut m = Matcher { rest: bytes };
    value.serialize(&mut m).is_ok() && m.rest.is_empty()
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
    let mut r = Reader { text, pos: 0 };
    let t = Typed::<D>::deserialize(&mut r).ok()?;
    if r.pos != text.len() {
        return None;
    }
    let env = Envelope {
        specversion: t.specversion,
        id: t.id,
        source: t.source,
        r#type: t.kind,
        time: t.time,
        sequence: t.sequence,
        datacontenttype: t.datacontenttype,
        traceparent: t.traceparent,
        data: wrap(t.data),
    };
    (env.r#type == env.data.type_name()).then_some(env)
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

/// A JSON reader for compact JSON whose strings have no escape sequences
/// (serde_json's output for the ledger's events). Strings are borrowed from
/// the text; anything else is a [`Miss`].
struct Reader<'de> {
    text: &'de str,
    pos: usize,
}

impl<'de> Reader<'de> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline(always)]
    fn eat(&mut self, token: &str) -> Result<(), Miss> {
        if self.text.as_bytes()[self.pos..].starts_with(token.as_bytes()) {
            self.pos += token.len();
            Ok(())
        } else {
            Err(Miss)
        }
    }

    fn string(&mut self) -> Result<&'de str, Miss> {
        self.eat("\"")?;
        let start = self.pos;
        let len = first_special(&self.text.as_bytes()[start..]).ok_or(Miss)?;
        self.pos += len;
        self.eat("\"")?;
        Ok(&self.text[start..start + len])
    }

    fn number(&mut self) -> Result<u64, Miss> {
        let digits = self.text.as_bytes()[self.pos..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        let n = self.text[self.pos..self.pos + digits]
            .parse()
            .map_err(|_| Miss)?;
        self.pos += digits;
        Ok(n)
    }

    fn next_item(&mut self, first: &mut bool, close: u8) -> Result<bool, Miss> {
        if self.peek() == Some(close) {
            return Ok(false);
        }
        if !std::mem::take(first) {
            self.eat(",")?;
        }
        Ok(true)
    }
}

impl<'de> de::Deserializer<'de> for &mut Reader<'de> {
    type Error = Miss;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Miss> {
        match self.peek().ok_or(Miss)? {
            b'{' => {
                self.eat("{")?;
                let value = visitor.visit_map(Items {
                    r: &mut *self,
                    first: true,
                })?;
                self.eat("}")?;
                Ok(value)
            }
            b'[' => {
                self.eat("[")?;
                let value = visitor.visit_seq(Items {
                    r: &mut *self,
                    first: true,
                })?;
                self.eat("]")?;
                Ok(value)
            }
            b'"' => visitor.visit_borrowed_str(self.string()?),
            b'0'..=b'9' => visitor.visit_u64(self.number()?),
            b't' => self.eat("true").and_then(|()| visitor.visit_bool(true)),
            b'f' => self.eat("false").and_then(|()| visitor.visit_bool(false)),
            _ => Err(Miss),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Miss> {
        visitor.visit_some(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The members of an object or the elements of an array.
struct Items<'a, 'de> {
    r: &'a mut Reader<'de>,
    first: bool,
}

impl<'de> MapAccess<'de> for Items<'_, 'de> {
    type Error = Miss;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Miss> {
        if !self.r.next_item(&mut self.first, b'}')? {
            return Ok(None);
        }
        let key = seed.deserialize(&mut *self.r)?;
        self.r.eat(":")?;
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Miss> {
        seed.deserialize(&mut *self.r)
    }
}

impl<'de> SeqAccess<'de> for Items<'_, 'de> {
    type Error = Miss;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Miss> {
        if !self.r.next_item(&mut self.first, b']')? {
            return Ok(None);
        }
        seed.deserialize(&mut *self.r).map(Some)
    }
}

/// A serializer that writes nothing: it checks that serde_json's compact
/// encoding of the value comes next in `rest` and consumes it. It covers
/// what ledger events hold (structs, sequences, strings, integers, booleans,
/// options) and tuples; anything else is a [`Miss`].
struct Matcher<'a> {
    rest: &'a [u8],
}

impl Matcher<'_> {
    #[inline(always)]
    fn eat(&mut self, token: &[u8]) -> Result<(), Miss> {
        self.rest = self.rest.strip_prefix(token).ok_or(Miss)?;
        Ok(())
    }

    fn integer(&mut self, negative: bool, mut magnitude: u128) -> Result<(), Miss> {
        let mut digits = [0u8; 40];
        let mut at = digits.len();
        loop {
            at -= 1;
            digits[at] = b'0' + (magnitude % 10) as u8;
            magnitude /= 10;
            if magnitude == 0 {
                break;
            }
        }
        if negative {
            at -= 1;
            digits[at] = b'-';
        }
        self.eat(&digits[at..])
    }
}

/// True for the bytes serde_json writes as an escape sequence (its `ESCAPE`
/// table: control characters, `"` and `\`); a string without them is
/// written as it is, between quotes.
fn special(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// The position of the first [`special`] byte, eight bytes at a time: a
/// word holds one when it has a byte below 0x20, or a byte equal to `"` or
/// `\\` (below 1 after XOR), by the word test "has a byte less than n"
/// (exact for n <= 0x80); the byte is then found one by one.
fn first_special(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    let mut skipped = 0;
    for word in bytes.chunks_exact(8) {
        let w = u64::from_le_bytes(word.try_into().ok()?);
        let hits = below(w, 0x20)
            | below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1);
        if hits != 0 {
            break;
        }
        skipped += 8;
    }
    bytes[skipped..]
        .iter()
        .position(|&b| special(b))
        .map(|i| skipped + i)
}

macro_rules! integers {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), Miss> {
            self.integer(v < 0, (v as i128).unsigned_abs())
        }
    )*};
}

macro_rules! unsigned {
    ($($method:ident: $t:ty),*) => {$(
        fn $method(self, v: $t) -> Result<(), Miss> {
            self.integer(false, v as u128)
        }
    )*};
}

impl<'a, 'b> ser::Serializer for &'b mut Matcher<'a> {
    type Ok = ();
    type Error = Miss;
    type SerializeSeq = Compound<'a, 'b>;
    type SerializeTuple = Compound<'a, 'b>;
    type SerializeTupleStruct = Impossible<(), Miss>;
    type SerializeTupleVariant = Impossible<(), Miss>;
    type SerializeMap = Impossible<(), Miss>;
    type SerializeStruct = Compound<'a, 'b>;
    type SerializeStructVariant = Impossible<(), Miss>;

    integers!(serialize_i8: i8, serialize_i16: i16, serialize_i32: i32, serialize_i64: i64);
    unsigned!(serialize_u8: u8, serialize_u16: u16, serialize_u32: u32, serialize_u64: u64);

    fn serialize_bool(self, v: bool) -> Result<(), Miss> {
        self.eat(if v { b"true" } else { b"false" })
    }

    fn serialize_str(self, v: &str) -> Result<(), Miss> {
        if first_special(v.as_bytes()).is_some() {
            let escaped = serde_json::to_vec(v).map_err(|_| Miss)?;
            return self.eat(&escaped);
        }
        match self.rest.get(..v.len() + 2) {
            Some([b'"', inner @ .., b'"']) if inner == v.as_bytes() => {
                self.rest = &self.rest[v.len() + 2..];
                Ok(())
            }
            _ => Err(Miss),
        }
    }

    fn serialize_none(self) -> Result<(), Miss> {
        self.eat(b"null")
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Miss> {
        value.serialize(self)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Miss> {
        value.serialize(self)
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'b>, Miss> {
        self.eat(b"[")?;
        Ok(Compound {
            m: self,
            first: true,
        })
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a, 'b>, Miss> {
        self.eat(b"{")?;
        Ok(Compound {
            m: self,
            first: true,
        })
    }

    fn serialize_i128(self, v: i128) -> Result<(), Miss> {
        self.integer(v < 0, v.unsigned_abs())
    }

    fn serialize_u128(self, v: u128) -> Result<(), Miss> {
        self.integer(false, v)
    }

    fn serialize_f32(self, _: f32) -> Result<(), Miss> {
        Err(Miss)
    }

    fn serialize_f64(self, _: f64) -> Result<(), Miss> {
        Err(Miss)
    }

    fn serialize_char(self, _: char) -> Result<(), Miss> {
        Err(Miss)
    }

    fn serialize_bytes(self, _: &[u8]) -> Result<(), Miss> {
        Err(Miss)
    }

    fn serialize_unit(self) -> Result<(), Miss> {
        Err(Miss)
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Miss> {
        Err(Miss)
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, _: &'static str) -> Result<(), Miss> {
        Err(Miss)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Miss> {
        Err(Miss)
    }

    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'b>, Miss> {
        self.serialize_seq(Some(len))
    }

    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Miss> {
        Err(Miss)
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Miss> {
        Err(Miss)
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Miss> {
        Err(Miss)
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Miss> {
        Err(Miss)
    }
}

/// The elements of a sequence or the fields of a struct being matched.
struct Compound<'a, 'b> {
    m: &'b mut Matcher<'a>,
    first: bool,
}

impl Compound<'_, '_> {
    fn separator(&mut self) -> Result<(), Miss> {
        if std::mem::take(&mut self.first) {
            Ok(())
        } else {
            self.m.eat(b",")
        }
    }
}

impl ser::SerializeSeq for Compound<'_, '_> {
    type Ok = ();
    type Error = Miss;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Miss> {
        self.separator()?;
        value.serialize(&mut *self.m)
    }

    fn end(self) -> Result<(), Miss> {
        self.m.eat(b"]")
    }
}

impl ser::SerializeTuple for Compound<'_, '_> {
    type Ok = ();
    type Error = Miss;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Miss> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<(), Miss> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeStruct for Compound<'_, '_> {
    type Ok = ();
    type Error = Miss;

    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Miss> {
        self.separator()?;
        ser::Serializer::serialize_str(&mut *self.m, key)?;
        self.m.eat(b":")?;
        value.serialize(&mut *self.m)
    }

    fn end(self) -> Result<(), Miss> {
        self.m.eat(b"}")
    }
}

#[cfg(test)]
mod tests;
