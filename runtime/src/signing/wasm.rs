//! The module's framing: preamble, leading signature section, signed rest.
//!
//! Splits a WebAssembly module or component into the 8-byte preamble, the
//! payload of its signature section (a custom section named `signature`
//! that must come first) and the bytes after it. Only section headers are
//! read, never section contents, so the same code serves core modules and
//! components.
//!
//! Defends against: preamble confusion (the signature does not cover the
//! 8-byte preamble — as in the tool-conventions format — so only the two
//! known preambles are accepted, and a signed component cannot be passed off
//! as something else); a signature section hidden later in the module (it
//! is reported, not honoured); and framing that lies about lengths.

use super::SigningError;
use super::reader::{Reader, put_slice, put_var};

/// Preamble of a core WebAssembly module: `\0asm`, version 1.
pub(super) const CORE_MODULE: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
/// Preamble of a component: `\0asm`, version 0x0d, layer 1.
pub(super) const COMPONENT: [u8; 8] = [0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00];
/// Name of the custom section holding the signatures.
pub(super) const SIGNATURE_SECTION: &[u8] = b"signature";
/// Id of a custom section.
const CUSTOM: u8 = 0;

/// A module split at its signature section.
pub(super) struct Parts<'a> {
    /// The 8-byte preamble.
    pub preamble: &'a [u8],
    /// Payload of the leading signature section, if there is one.
    pub signature: Option<&'a [u8]>,
    /// Every section after the preamble, signature section included.
    pub sections: &'a [u8],
    /// The sections after the signature section (all of them when unsigned):
    /// the bytes an embedded signature covers.
    pub rest: &'a [u8],
}

/// Splits `module` into its parts.
pub(super) fn split(module: &[u8]) -> Result<Parts<'_>, SigningError> {
    let (preamble, sections) = preamble(module)?;
    let mut parts = Parts {
        preamble,
        signature: None,
        sections,
        rest: sections,
    };
    if sections.is_empty() {
        return Ok(parts);
    }
    let mut r = Reader::new(sections);
    let bad = |e: String| SigningError::MalformedModule(format!("first section: {e}"));
    let id = r.byte("section id").map_err(bad)?;
    let size = r.var_u32("section size").map_err(bad)? as usize;
    if id != CUSTOM || !names_signature(r.peek()) {
        // Not a signature section: only check that its framing holds.
        r.bytes(size, "section").map_err(bad)?;
        return Ok(parts);
    }
    let payload = r.bytes(size, "signature section").map_err(|e| {
        SigningError::MalformedSignature(format!("the section does not fit in the module: {e}"))
    })?;
    let mut p = Reader::new(payload);
    p.slice("section name")
        .map_err(SigningError::MalformedSignature)?;
    parts.signature = Some(p.rest());
    parts.rest = r.rest();
    Ok(parts)
}

/// Checks the preamble and returns it and the sections after it.
fn preamble(module: &[u8]) -> Result<(&[u8], &[u8]), SigningError> {
    if module.len() < 8 {
        return Err(SigningError::MalformedModule(format!(
            "{} bytes long, shorter than the 8-byte WebAssembly preamble",
            module.len()
        )));
    }
    let (preamble, sections) = module.split_at(8);
    if preamble[..4] != CORE_MODULE[..4] {
        return Err(SigningError::MalformedModule(
            "it does not start with the WebAssembly magic `\\0asm`".into(),
        ));
    }
    if preamble != CORE_MODULE && preamble != COMPONENT {
        return Err(SigningError::MalformedModule(format!(
            "unsupported version/layer bytes {} (expected 01000000 for a core module \
             or 0d000100 for a component)",
            hex::encode(&preamble[4..])
        )));
    }
    Ok((preamble, sections))
}

/// True when a custom section's payload starts with the name `signature`.
/// Reads the name even if the section's declared size is wrong, so that a
/// truncated signature section is reported as such.
fn names_signature(payload: &[u8]) -> bool {
    let mut r = Reader::new(payload);
    matches!(r.slice("section name"), Ok(name) if name == SIGNATURE_SECTION)
}

/// Index (0-based, among all sections) of a custom section named
/// `signature` that is not the first section, if the framing is readable up
/// to it. Used only to explain why a module counts as unsigned.
pub(super) fn misplaced_signature(sections: &[u8]) -> Option<usize> {
    let mut r = Reader::new(sections);
    let mut index = 0;
    while !r.is_empty() {
        let id = r.byte("section id").ok()?;
        let size = r.var_u32("section size").ok()? as usize;
        let payload = r.bytes(size, "section").ok()?;
        if index > 0 && id == CUSTOM && names_signature(payload) {
            return Some(index);
        }
        index += 1;
    }
    None
}

/// The bytes of a signature section carrying `payload`.
pub(super) fn signature_section(payload: &[u8]) -> Vec<u8> {
    let mut body = Vec::with_capacity(payload.len() + SIGNATURE_SECTION.len() + 1);
    put_slice(&mut body, SIGNATURE_SECTION);
    body.extend_from_slice(payload);
    let mut out = Vec::with_capacity(body.len() + 6);
    out.push(CUSTOM);
    put_var(&mut out, body.len() as u64);
    out.extend_from_slice(&body);
    out
}
