//! Decoding host batches: shape checks and cumulative dictionaries.
//!
//! Every length, offset and code the host sends is checked once here, so
//! that the typed views and kernels never index out of bounds, and each
//! batch's `dictionary-delta` is folded into a dictionary kept for the
//! whole scan (or built here for `utf8` columns a scan wants as codes).

use std::collections::HashMap;
use std::rc::Rc;

use super::{Batch, Column, Data};
use crate::bindings::sluice::host::data::{Batch as WitBatch, ColumnData, Utf8Array};
use crate::column::Utf8Column;
use crate::{Error, Result, is_valid, kernels};

/// Per-scan decoding state: the cumulative dictionaries, and the string
/// indexes of `utf8` columns the scan asked to see as dictionaries.
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    dictionaries: HashMap<String, Rc<Vec<String>>>,
    encoders: HashMap<String, HashMap<String, u32>>,
}

impl Decoder {
    /// A decoder that presents the `utf8` columns in `encode` as dictionaries.
    pub(crate) fn new(encode: &[String]) -> Self {
        Decoder {
            dictionaries: HashMap::new(),
            encoders: encode.iter().map(|n| (n.clone(), HashMap::new())).collect(),
        }
    }

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
                    match self.encoders.get_mut(&name) {
                        Some(index) => {
                            let dict = self.dictionaries.entry(name.clone()).or_default();
                            let column = Utf8Column {
                                offsets: &offsets,
                                text: &text,
                                validity,
                            };
                            let codes = encode(column, index, Rc::make_mut(dict));
                            Data::Dictionary {
                                codes,
                                dictionary: Rc::clone(dict),
                            }
                        }
                        None => Data::Utf8 { offsets, text },
                    }
                }
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

/// Dictionary-encodes a utf8 column, extending the scan's dictionary.
fn encode(
    column: Utf8Column<'_>,
    index: &mut HashMap<String, u32>,
    dict: &mut Vec<String>,
) -> Vec<u32> {
    column
        .iter()
        .map(|value| match value {
            None => 0,
            Some(s) => match index.get(s) {
                Some(&code) => code,
                None => {
                    let code = dict.len() as u32;
                    index.insert(s.to_owned(), code);
                    dict.push(s.to_owned());
                    code
                }
            },
        })
        .collect()
}
