//! A bounds-checked cursor over untrusted bytes.
//!
//! Defends against hostile encodings: truncated or over-long LEB128
//! varints, lengths that point past the end, and counts chosen to make the
//! parser allocate. Every read checks what is left first and fails with a
//! message naming the field and the byte offset; nothing here can panic or
//! allocate, because it only hands out sub-slices of the input.

/// Reads fields from a byte slice, front to back.
pub(super) struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `bytes`.
    pub(super) fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bytes not yet read.
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    /// True when everything has been read.
    pub(super) fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Offset of the next byte to read.
    pub(super) fn position(&self) -> usize {
        self.pos
    }

    /// One byte.
    pub(super) fn byte(&mut self, what: &str) -> Result<u8, String> {
        let b = *self
            .bytes
            .get(self.pos)
            .ok_or_else(|| format!("{what}: unexpected end of data at byte {}", self.pos))?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` bytes.
    pub(super) fn bytes(&mut self, n: usize, what: &str) -> Result<&'a [u8], String> {
        if n > self.remaining() {
            return Err(format!(
                "{what}: length {n} at byte {} runs past the end ({} bytes left)",
                self.pos,
                self.remaining()
            ));
        }
        let out = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// An unsigned LEB128 varint of at most 32 bits (at most 5 bytes; the
    /// unused high bits of the fifth byte must be zero). Padded encodings
    /// are accepted, as the WebAssembly binary format allows them.
    pub(super) fn var_u32(&mut self, what: &str) -> Result<u32, String> {
        let start = self.pos;
        let mut value: u32 = 0;
        for i in 0..5 {
            let b = self.byte(what).map_err(|_| {
                format!("{what}: varint at byte {start} is truncated by the end of data")
            })?;
            if i == 4 && b & 0xf0 != 0 {
                return Err(format!(
                    "{what}: varint at byte {start} does not fit in 32 bits"
                ));
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!(
            "{what}: varint at byte {start} is longer than 5 bytes"
        ))
    }

    /// A length-prefixed byte string (varint length, then the bytes).
    pub(super) fn slice(&mut self, what: &str) -> Result<&'a [u8], String> {
        let len = self.var_u32(what)? as usize;
        self.bytes(len, what)
    }

    /// Everything not yet read, without consuming it.
    pub(super) fn peek(&self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }

    /// Everything not yet read.
    pub(super) fn rest(self) -> &'a [u8] {
        &self.bytes[self.pos..]
    }
}

/// Appends `v` as a minimal unsigned LEB128 varint.
pub(super) fn put_var(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Appends a length-prefixed byte string.
pub(super) fn put_slice(out: &mut Vec<u8>, bytes: &[u8]) {
    put_var(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}
