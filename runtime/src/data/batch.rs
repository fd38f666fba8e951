//! Turns Arrow record batches into the columnar batches a guest receives.
//!
//! Primitive values and validity bitmaps are copied as whole buffers (no
//! per-row work), strings go as offsets + bytes, and dictionary-encoded
//! strings go as integer codes into one dictionary that stays stable for the
//! whole scan: each batch carries only the entries new since the last one,
//! so a guest can group by integer codes across batches.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_cast::cast;
use arrow_schema::DataType;
use sluice_host_api::data::{Batch, ColumnBatch, ColumnData, DictionaryArray, Utf8Array};

/// A batch ready for the guest and how many bytes it carries.
pub struct FedBatch {
    /// The batch in WIT form.
    pub batch: Batch,
    /// Bytes of values, offsets, codes, dictionary entries and bitmaps.
    pub bytes: u64,
    /// Dictionary entries re-mapped to scan-wide codes for this batch (the
    /// host work a changed file dictionary costs; metered per entry).
    pub dictionary_entries: u64,
    /// Host bytes the scan-wide dictionaries grew by (held until the scan
    /// is dropped; counted against the run's memory).
    pub dictionary_bytes: u64,
}

/// Host bytes one new scan-wide dictionary entry holds besides its text
/// (map slot, key string header, remap slot).
const DICTIONARY_ENTRY_BYTES: u64 = 64;

/// The scan-wide dictionary of one string column.
#[derive(Default)]
struct GlobalDictionary {
    codes: HashMap<String, u32>,
    /// Entries re-mapped so far (counted for metering).
    remapped: u64,
    /// Host bytes of the entries added so far (counted for memory).
    held: u64,
    /// The dictionary values array last seen and its remapping to global codes.
    last: Option<(ArrayRef, Vec<u32>)>,
}

impl GlobalDictionary {
    /// Global codes for every entry of `values`, and the entries that are new.
    fn remap(&mut self, values: &ArrayRef) -> (Vec<u32>, Vec<String>) {
        if let Some((last, map)) = &self.last
            && Arc::ptr_eq(last, values)
        {
            return (map.clone(), Vec::new());
        }
        let strings = values.as_string::<i32>();
        self.remapped += strings.len() as u64;
        let mut new = Vec::new();
        let map: Vec<u32> = strings
            .iter()
            .map(|s| {
                let s = s.unwrap_or_default();
                let next = self.codes.len() as u32;
                *self.codes.entry(s.to_string()).or_insert_with(|| {
                    new.push(s.to_string());
                    next
                })
            })
            .collect();
        self.held += new
            .iter()
            .map(|s| s.len() as u64 + DICTIONARY_ENTRY_BYTES)
            .sum::<u64>();
        self.last = Some((values.clone(), map.clone()));
        (map, new)
    }
}

/// Encodes the batches of one scan, keeping per-column dictionary state.
pub struct BatchEncoder {
    columns: Vec<String>,
    dictionaries: Vec<GlobalDictionary>,
}

impl BatchEncoder {
    /// An encoder producing `columns`, in this order.
    pub fn new(columns: Vec<String>) -> Self {
        let dictionaries = columns
            .iter()
            .map(|_| GlobalDictionary::default())
            .collect();
        Self {
            columns,
            dictionaries,
        }
    }

    /// Encodes one record batch holding (at least) this scan's columns.
    pub fn encode(&mut self, batch: &RecordBatch) -> Result<FedBatch, String> {
        let (remapped, held) = self.dictionary_totals();
        let mut bytes = 0u64;
        let mut columns = Vec::with_capacity(self.columns.len());
        for (name, dict) in self.columns.iter().zip(&mut self.dictionaries) {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| format!("column `{name}` missing from batch"))?;
            let (data, validity) =
                encode_column(array, dict).map_err(|e| format!("column `{name}`: {e}"))?;
            bytes += data_bytes(&data) + validity.as_ref().map_or(0, |v| v.len() as u64);
            columns.push(ColumnBatch {
                name: name.clone(),
                validity,
                data,
            });
        }
        let (remapped_after, held_after) = self.dictionary_totals();
        Ok(FedBatch {
            batch: Batch {
                rows: batch.num_rows() as u32,
                columns,
            },
            bytes,
            dictionary_entries: remapped_after - remapped,
            dictionary_bytes: held_after - held,
        })
    }

    fn dictionary_totals(&self) -> (u64, u64) {
        self.dictionaries
            .iter()
            .fold((0, 0), |(r, h), d| (r + d.remapped, h + d.held))
    }
}

fn data_bytes(data: &ColumnData) -> u64 {
    let utf8 = |u: &Utf8Array| (u.offsets.len() * 4 + u.bytes.len()) as u64;
    match data {
        ColumnData::Int64(v) => v.len() as u64 * 8,
        ColumnData::Float64(v) => v.len() as u64 * 8,
        ColumnData::Boolean(v) => v.len() as u64,
        ColumnData::Utf8(u) => utf8(u),
        ColumnData::Dictionary(d) => utf8(&d.dictionary_delta) + d.codes.len() as u64 * 4,
    }
}

/// The validity bitmap of `array` (LSB-first), or `None` when it has no nulls.
fn validity(array: &dyn Array) -> Option<Vec<u8>> {
    let nulls = array.logical_nulls()?;
    if nulls.null_count() == 0 {
        return None;
    }
    let buffer = nulls.inner().sliced();
    Some(buffer.as_slice()[..array.len().div_ceil(8)].to_vec())
}

fn casted(array: &ArrayRef, to: &DataType) -> Result<ArrayRef, String> {
    if array.data_type() == to {
        Ok(array.clone())
    } else {
        cast(array, to).map_err(|e| e.to_string())
    }
}

fn encode_column(
    array: &ArrayRef,
    dict: &mut GlobalDictionary,
) -> Result<(ColumnData, Option<Vec<u8>>), String> {
    use DataType::*;
    let valid = validity(array.as_ref());
    let data = match array.data_type() {
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 => {
            let a = casted(array, &Int64)?;
            ColumnData::Int64(
                a.as_primitive::<arrow_array::types::Int64Type>()
                    .values()
                    .to_vec(),
            )
        }
        Float16 | Float32 | Float64 => {
            let a = casted(array, &Float64)?;
            ColumnData::Float64(
                a.as_primitive::<arrow_array::types::Float64Type>()
                    .values()
                    .to_vec(),
            )
        }
        Boolean => ColumnData::Boolean(array.as_boolean().values().iter().map(u8::from).collect()),
        Dictionary(_, _) => {
            let target = Dictionary(Box::new(Int32), Box::new(Utf8));
            let a = casted(array, &target)?;
            let a = a.as_dictionary::<Int32Type>();
            let (map, new) = dict.remap(a.values());
            let codes = a
                .keys()
                .values()
                .iter()
                .map(|&k| map.get(k as usize).copied().unwrap_or(0))
                .collect();
            ColumnData::Dictionary(DictionaryArray {
                dictionary_delta: utf8_array(&StringArray::from(new)),
                codes,
            })
        }
        Utf8 | LargeUtf8 | Utf8View => {
            let a = casted(array, &Utf8)?;
            ColumnData::Utf8(utf8_array(a.as_string::<i32>()))
        }
        other => return Err(format!("type {other} cannot be fed to guests")),
    };
    Ok((data, valid))
}

fn utf8_array(strings: &StringArray) -> Utf8Array {
    let offsets = strings.value_offsets();
    let first = offsets.first().copied().unwrap_or(0);
    let last = offsets.last().copied().unwrap_or(0);
    Utf8Array {
        offsets: offsets.iter().map(|o| (o - first) as u32).collect(),
        bytes: strings.value_data()[first as usize..last as usize].to_vec(),
    }
}
