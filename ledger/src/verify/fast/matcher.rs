//! Checking that a body is exactly serde_json's compact encoding of a value,
//! without building the encoding.
//!
//! What this guards against: a fast path that accepts a body serde_json
//! would not have written. [`Matcher`] is a serde `Serializer` that writes
//! nothing: it consumes the expected bytes as it goes and fails at the first
//! difference. Strings without bytes serde_json escapes are compared as they
//! are; strings with any are encoded by serde_json itself; integers are
//! plain decimal, as serde_json's `itoa` writes them. Tests hold it to
//! serde_json's output for every character below U+0100 and for events.

use serde::ser::{self, Impossible, Serialize};

use super::Miss;

/// True when `bytes` is exactly `serde_json::to_vec(value)`; false when it
/// is not, or when `value` holds something [`Matcher`] does not cover (then
/// the caller's full check decides).
pub(crate) fn is_encoding_of<T: Serialize + ?Sized>(bytes: &[u8], value: &T) -> bool {
    let mut m = Matcher { rest: bytes };
    value.serialize(&mut m).is_ok() && m.rest.is_empty()
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
pub(super) fn special(b: u8) -> bool {
    (b < 0x20) | (b == b'"') | (b == b'\\')
}

/// True when one of the eight bytes of `w` is [`special`]: a byte below
/// 0x20, or one equal to `"` or `\\` (below 1 after XOR), by the word test
/// "has a byte less than n" (exact for n <= 0x80).
fn has_special(w: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGH;
    below(w, 0x20)
        | below(w ^ (ONES * u64::from(b'"')), 1)
        | below(w ^ (ONES * u64::from(b'\\')), 1)
        != 0
}

/// The position of the first [`special`] byte: words without one are
/// skipped eight bytes at a time, then the byte is found one by one.
pub(super) fn first_special(bytes: &[u8]) -> Option<usize> {
    let mut skipped = 0;
    for word in bytes.chunks_exact(8) {
        if has_special(u64::from_le_bytes(word.try_into().ok()?)) {
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
