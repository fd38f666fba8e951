//! Decoding host batches: shape checks and cumulative dictionaries.
//!
//! Every length, offset and code the host sends is checked once here, so
//! that the typed views and kernels never index out of bounds, and each
//! batch's `dictionary-delta` is folded into a dictionary kept for the
//! whole scan. (The host builds the dictionaries, for every file and
//! writer alike: the guest never hashes strings to group them.)

use std::collections::HashMap;
use std::rc::Rc;

use super::{Batch, Column, Data};
use crate::bindings::sluice::host::data::{Batch as WitBatch, ColumnData, Utf8Array};
use crate::column::Utf8Column;
use crate::{Error, Result, is_valid, kernels};

/// Per-scan decoding state: the cumulative dictionaries.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    dictionaries: HashMap<String, Rc<Vec<String>>>,
}

impl Decoder {
    /// The cumulative dictionary of column `name`, if it has one yet.
    pub(crate) fn dictionary(&self, name: &str) -> Option<&[String]> {
        self.dictionaries.get(name).map(|d| d.as_slice())
    }

    /// Checks and decodes one batch from the host.
    pub(crate) fn decode(&mut self, batch: WitBatch) -> Result<Batch> {
        let rows = batch.rows as usize;
        let mut columns = Vec::with_capacity(batch.columns.len());
        for c in batch.columns {
            let name = c.name;
            let bad = |what: &str| Error::Invalid(format!("host sent column `{name}` with {what}"));
            if let Some(bits) = &c.validity
                && bits.len() < rows.div_ceil(8)
            {
                return Err(bad("a short validity bitmap"));
            }
            let validity = c.validity.as_deref();
            let data = match c.data {
                ColumnData::Int64(v) if v.len() == rows => Data::Int64(v),
                ColumnData::Float64(v) if v.len() == rows => Data::Float64(v),
                ColumnData::Boolean(v) if v.len() == rows => Data::Boolean(v),
                ColumnData::Utf8(a) => {
                    let (offsets, text) =
                        utf8(a, Some(rows)).ok_or_else(|| bad("malformed utf8 data"))?;
                    Data::Utf8 { offsets, text }
                }
                ColumnData::Date(v) if v.len() == rows => Data::Date(v),
                ColumnData::Timestamp(t) if t.values.len() == rows => Data::Timestamp {
                    unit: t.unit,
                    zone: t.zone,
                    values: t.values,
                },
                ColumnData::Dictionary(d) => {
                    let dict = self.dictionaries.entry(name.clone()).or_default();
                    let delta = utf8(d.dictionary_delta, None)
                        .ok_or_else(|| bad("a malformed dictionary"))?;
                    let column = Utf8Column {
                        offsets: &delta.0,
                        text: &delta.1,
                        validity: None,
                    };
                    let added: Option<Vec<String>> =
                        column.iter().map(|s| s.map(str::to_owned)).collect();
                    let entries = Rc::make_mut(dict);
                    entries.extend(added.ok_or_else(|| bad("a malformed dictionary"))?);
                    let mut codes = d.codes;
                    if codes.len() != rows || !clean_codes(&mut codes, validity, entries.len()) {
                        return Err(bad("dictionary codes that do not fit"));
                    }
                    Data::Dictionary {
                        codes,
                        dictionary: Rc::clone(dict),
                    }
                }
                _ => return Err(bad(&format!("a length other than {rows} rows"))),
            };
            columns.push(Column {
                name,
                validity: c.validity,
                data,
            });
        }
        Ok(Batch { rows, columns })
    }
}

/// Validates a utf8 array of `rows` values (`None`: any number of values).
fn utf8(a: Utf8Array, rows: Option<usize>) -> Option<(Vec<u32>, String)> {
    let offsets = if a.offsets.is_empty() {
        vec![0]
    } else {
        a.offsets
    };
    let count_ok = rows.is_none_or(|rows| offsets.len() == rows + 1);
    let fits = offsets
        .last()
        .is_some_and(|&end| end as usize <= a.bytes.len());
    if !(count_ok && fits) {
        return None;
    }
    Some((offsets, String::from_utf8(a.bytes).ok()?))
}

/// Checks every present code is below `len`; resets null rows' codes to 0.
fn clean_codes(codes: &mut [u32], validity: Option<&[u8]>, len: usize) -> bool {
    if kernels::max_code(codes).is_none_or(|max| (max as usize) < len) {
        return true;
    }
    for (i, code) in codes.iter_mut().enumerate() {
        if *code as usize >= len {
            if is_valid(validity, i) {
                return false;
            }
            *code = 0;
        }
    }
    true
}
