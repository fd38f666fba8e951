//! Turns normalised record batches into the columnar batches a guest
//! receives.
//!
//! Primitive values and validity bitmaps are copied as whole buffers (no
//! per-row host calls), strings go as offsets + bytes, dates as days,
//! timestamps with their unit and zone, and string columns a scan asked
//! for as a dictionary go as integer codes into one dictionary that stays
//! stable for the whole scan: each batch carries only the entries new
//! since the last one, so a guest groups by integer codes across batches
//! and files, and never hashes a string.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType,
};
use arrow_array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow_schema::{DataType, TimeUnit};
use sluice_host_api::data::{
    Batch, ColumnBatch, ColumnData, DictionaryArray, TimestampArray, Utf8Array,
};
use sluice_host_api::types::TimeUnit as WitUnit;

use super::dictionary::{Delta, DictError, GlobalDictionary};

/// A batch ready for the guest and what it cost to make.
pub struct FedBatch {
    /// The batch in WIT form.
    pub batch: Batch,
    /// Bytes of values, offsets, codes, dictionary entries and bitmaps.
    pub bytes: u64,
    /// Dictionary entries the host looked up for this batch: the entries
    /// of each Parquet dictionary page it remapped, and each plain string
    /// it dictionary-encoded itself (metered per entry).
    pub dictionary_entries: u64,
    /// Host bytes the scan-wide dictionaries grew by (held until the scan
    /// ends; counted against the run's memory).
    pub dictionary_bytes: u64,
}

/// Encodes the batches of one scan, keeping per-column dictionary state.
pub struct BatchEncoder {
    columns: Vec<String>,
    as_dictionary: Vec<bool>,
    dictionaries: Vec<GlobalDictionary>,
}

impl BatchEncoder {
    /// An encoder producing `columns`, in this order; string columns go as
    /// dictionary codes when the arrays are dictionaries, plain otherwise.
    pub fn new(columns: Vec<String>) -> Self {
        let flags = vec![false; columns.len()];
        Self::with_dictionaries(columns, flags)
    }

    /// An encoder producing `columns`, in this order; the string columns
    /// flagged in `as_dictionary` always go as dictionary codes (the host
    /// encodes plain strings itself).
    pub fn with_dictionaries(columns: Vec<String>, as_dictionary: Vec<bool>) -> Self {
        let dictionaries = columns
            .iter()
            .map(|_| GlobalDictionary::default())
            .collect();
        Self {
            columns,
            as_dictionary,
            dictionaries,
        }
    }

    /// Bytes the scan's dictionaries hold on the host.
    pub fn held_bytes(&self) -> u64 {
        self.dictionaries
            .iter()
            .map(GlobalDictionary::held_bytes)
            .sum()
    }

    /// Dictionary entries looked up so far in this scan.
    fn entries(&self) -> u64 {
        self.dictionaries
            .iter()
            .map(GlobalDictionary::entries)
            .sum()
    }

    /// Encodes one record batch holding (at least) this scan's columns.
    pub fn encode(&mut self, batch: &RecordBatch) -> Result<FedBatch, String> {
        let (entries, held) = (self.entries(), self.held_bytes());
        let mut bytes = 0u64;
        let mut columns = Vec::with_capacity(self.columns.len());
        for ((name, dict), &as_dict) in self
            .columns
            .iter()
            .zip(&mut self.dictionaries)
            .zip(&self.as_dictionary)
        {
            let array = batch
                .column_by_name(name)
                .ok_or_else(|| format!("column `{name}` missing from batch"))?;
            let valid = validity(array.as_ref());
            let data = match (array.data_type(), as_dict) {
                (DataType::Utf8, true) => {
                    let strings = array.as_string::<i32>();
                    let mut delta = Delta::default();
                    let codes = dict
                        .string_codes(strings, &mut delta)
                        .map_err(|e| dict_error(name, e))?;
                    dictionary(codes, delta)
                }
                (DataType::Dictionary(_, _), _) => {
                    let mut delta = Delta::default();
                    let codes = dict
                        .dictionary_codes(array.as_dictionary::<Int32Type>(), &mut delta)
                        .map_err(|e| dict_error(name, e))?;
                    dictionary(codes, delta)
                }
                _ => encode_plain(array).map_err(|e| format!("column `{name}`: {e}"))?,
            };
            bytes += data_bytes(&data) + valid.as_ref().map_or(0, |v| v.len() as u64);
            columns.push(ColumnBatch {
                name: name.clone(),
                validity: valid,
                data,
            });
        }
        Ok(FedBatch {
            batch: Batch {
                rows: batch.num_rows() as u32,
                columns,
            },
            bytes,
            dictionary_entries: self.entries() - entries,
            dictionary_bytes: self.held_bytes().saturating_sub(held),
        })
    }
}

fn dict_error(name: &str, e: DictError) -> String {
    match e {
        DictError::TooManyEntries => format!(
            "column `{name}` has more than {} distinct values: scan it as plain utf8, not as a dictionary",
            super::dictionary::MAX_ENTRIES
        ),
        DictError::NotStrings => format!("column `{name}` is not a string dictionary"),
    }
}

fn dictionary(codes: Vec<u32>, delta: Delta) -> ColumnData {
    ColumnData::Dictionary(DictionaryArray {
        dictionary_delta: Utf8Array {
            offsets: delta.offsets,
            bytes: delta.bytes,
        },
        codes,
    })
}

fn data_bytes(data: &ColumnData) -> u64 {
    let utf8 = |u: &Utf8Array| (u.offsets.len() * 4 + u.bytes.len()) as u64;
    match data {
        ColumnData::Int64(v) => v.len() as u64 * 8,
        ColumnData::Float64(v) => v.len() as u64 * 8,
        ColumnData::Boolean(v) => v.len() as u64,
        ColumnData::Utf8(u) => utf8(u),
        ColumnData::Dictionary(d) => utf8(&d.dictionary_delta) + d.codes.len() as u64 * 4,
        ColumnData::Date(v) => v.len() as u64 * 4,
        ColumnData::Timestamp(t) => t.values.len() as u64 * 8,
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

fn wit_unit(unit: TimeUnit) -> WitUnit {
    match unit {
        TimeUnit::Second => WitUnit::Second,
        TimeUnit::Millisecond => WitUnit::Millisecond,
        TimeUnit::Microsecond => WitUnit::Microsecond,
        TimeUnit::Nanosecond => WitUnit::Nanosecond,
    }
}

/// A column in a normalised, non-dictionary layout.
fn encode_plain(array: &ArrayRef) -> Result<ColumnData, String> {
    Ok(match array.data_type() {
        DataType::Int64 => ColumnData::Int64(array.as_primitive::<Int64Type>().values().to_vec()),
        DataType::Float64 => {
            ColumnData::Float64(array.as_primitive::<Float64Type>().values().to_vec())
        }
        DataType::Boolean => {
            ColumnData::Boolean(array.as_boolean().values().iter().map(u8::from).collect())
        }
        DataType::Utf8 => ColumnData::Utf8(utf8_array(array.as_string::<i32>())),
        DataType::Date32 => ColumnData::Date(array.as_primitive::<Date32Type>().values().to_vec()),
        DataType::Timestamp(unit, zone) => {
            let values = match unit {
                TimeUnit::Second => array
                    .as_primitive::<TimestampSecondType>()
                    .values()
                    .to_vec(),
                TimeUnit::Millisecond => array
                    .as_primitive::<TimestampMillisecondType>()
                    .values()
                    .to_vec(),
                TimeUnit::Microsecond => array
                    .as_primitive::<TimestampMicrosecondType>()
                    .values()
                    .to_vec(),
                TimeUnit::Nanosecond => array
                    .as_primitive::<TimestampNanosecondType>()
                    .values()
                    .to_vec(),
            };
            ColumnData::Timestamp(TimestampArray {
                unit: wit_unit(*unit),
                zone: zone.as_deref().map(str::to_owned),
                values,
            })
        }
        other => return Err(format!("type {other} is not a feed layout")),
    })
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
