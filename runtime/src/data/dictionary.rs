//! The scan-wide dictionary of one string column: stable integer codes in
//! first-seen order, whatever file, page or writer the strings came from.
//!
//! Defends against guests paying for strings. A column stored as Parquet
//! dictionary pages is remapped per dictionary page (a few entries, not a
//! lookup per row, and no remap at all when the page's order already is
//! the scan's); a plain-encoded or CSV column is encoded here, natively,
//! one hash lookup per row. Either way each batch carries only the entries
//! that are new, and the dictionary's size is capped and reported so host
//! memory held for the guest can be counted against its run.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, DictionaryArray, StringArray};
use foldhash::fast::FixedState;

/// Most distinct values one column's dictionary may hold in one scan.
pub(crate) const MAX_ENTRIES: usize = 1 << 24;

/// Entries added to a dictionary by one batch, as offsets + bytes.
#[derive(Debug, Default)]
pub(crate) struct Delta {
    pub(crate) offsets: Vec<u32>,
    pub(crate) bytes: Vec<u8>,
}

impl Delta {
    fn push(&mut self, s: &str) {
        if self.offsets.is_empty() {
            self.offsets.push(0);
        }
        self.bytes.extend_from_slice(s.as_bytes());
        self.offsets.push(self.bytes.len() as u32);
    }
}

/// Codes of one column for the whole scan.
#[derive(Debug, Default)]
pub(crate) struct GlobalDictionary {
    codes: HashMap<Box<str>, u32, FixedState>,
    /// Entries looked up so far: a dictionary page's entries when it is
    /// remapped, and each plain string the host encodes (the work the
    /// run is charged for per entry).
    entries: u64,
    /// Bytes of the entries (and their index) held for the scan.
    held: u64,
    /// The dictionary values array last seen and its global codes.
    last: Option<(ArrayRef, Vec<u32>, bool)>,
}

/// Why a column could not be dictionary-encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DictError {
    /// The dictionary grew past [`MAX_ENTRIES`].
    TooManyEntries,
    /// The dictionary's values are not strings (a bug upstream).
    NotStrings,
}

impl GlobalDictionary {
    /// Host memory the dictionary holds, in bytes (entries, per-entry
    /// overhead of the index, and the code map of the last page).
    pub(crate) fn held_bytes(&self) -> u64 {
        self.held + self.last.as_ref().map_or(0, |l| l.1.len() as u64 * 4)
    }

    /// Entries looked up so far (see the field).
    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    fn intern(&mut self, s: &str, delta: &mut Delta) -> Result<u32, DictError> {
        if let Some(&c) = self.codes.get(s) {
            return Ok(c);
        }
        let code = self.codes.len();
        if code >= MAX_ENTRIES {
            return Err(DictError::TooManyEntries);
        }
        self.codes.insert(s.into(), code as u32);
        self.held += s.len() as u64 + 32;
        delta.push(s);
        Ok(code as u32)
    }

    /// Global codes of a dictionary array's rows (0 for nulls).
    pub(crate) fn dictionary_codes(
        &mut self,
        a: &DictionaryArray<Int32Type>,
        delta: &mut Delta,
    ) -> Result<Vec<u32>, DictError> {
        let values = a.values();
        let fresh = !matches!(&self.last, Some((last, _, _)) if Arc::ptr_eq(last, values));
        if fresh {
            let Some(strings) = values.as_any().downcast_ref::<StringArray>() else {
                return Err(DictError::NotStrings);
            };
            self.entries += strings.len() as u64;
            let mut map = Vec::with_capacity(strings.len());
            for i in 0..strings.len() {
                let s = if strings.is_valid(i) {
                    strings.value(i)
                } else {
                    ""
                };
                map.push(self.intern(s, delta)?);
            }
            let identity = map.iter().enumerate().all(|(i, &c)| c as usize == i);
            self.last = Some((values.clone(), map, identity));
        }
        let Some((_, map, identity)) = &self.last else {
            return Ok(Vec::new());
        };
        let keys = a.keys().values();
        Ok(if *identity {
            keys.iter().map(|&k| k as u32).collect()
        } else {
            keys.iter()
                .map(|&k| map.get(k as usize).copied().unwrap_or(0))
                .collect()
        })
    }

    /// Global codes of a plain string array's rows (0 for nulls): the
    /// host-side dictionary encoding of plain-encoded and CSV columns.
    pub(crate) fn string_codes(
        &mut self,
        a: &StringArray,
        delta: &mut Delta,
    ) -> Result<Vec<u32>, DictError> {
        let mut codes = Vec::with_capacity(a.len());
        let offsets = a.value_offsets();
        let bytes = a.value_data();
        let mut previous: Option<(&[u8], u32)> = None;
        for i in 0..a.len() {
            if a.is_null(i) {
                codes.push(0);
                continue;
            }
            let v = &bytes[offsets[i] as usize..offsets[i + 1] as usize];
            let code = match previous {
                Some((p, c)) if p == v => c,
                _ => {
                    self.entries += 1;
                    let c = self.intern(a.value(i), delta)?;
                    previous = Some((v, c));
                    c
                }
            };
            codes.push(code);
        }
        Ok(codes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(delta: &Delta) -> Vec<String> {
        let o = &delta.offsets;
        (1..o.len())
            .map(|i| {
                String::from_utf8(delta.bytes[o[i - 1] as usize..o[i] as usize].to_vec()).unwrap()
            })
            .collect()
    }

    #[test]
    fn plain_strings_get_first_seen_codes_shared_with_dictionary_pages() {
        let mut d = GlobalDictionary::default();
        let mut delta = Delta::default();
        let plain = StringArray::from(vec![Some("b"), None, Some("a"), Some("b")]);
        assert_eq!(d.string_codes(&plain, &mut delta).unwrap(), [0, 0, 1, 0]);
        assert_eq!(strings(&delta), ["b", "a"]);
        let mut delta = Delta::default();
        let page = DictionaryArray::<Int32Type>::try_new(
            vec![0, 1, 1].into(),
            Arc::new(StringArray::from(vec!["a", "c"])),
        )
        .unwrap();
        assert_eq!(d.dictionary_codes(&page, &mut delta).unwrap(), [1, 2, 2]);
        assert_eq!(strings(&delta), ["c"], "only new entries travel");
        assert!(d.held_bytes() > 0);
        assert_eq!(
            d.entries(),
            3 + 2,
            "a run of equal strings is looked up once"
        );
    }
}
