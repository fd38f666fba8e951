//! One pass over the dataset that builds the groups of a planned query: for
//! each group key, the rows that contribute to it (with a value column,
//! those where it is not null), their clamped sum, extremes and, when asked,
//! their values and row set.
//!
//! Defends host memory and work: the number of groups is capped
//! ([`MAX_GROUPS`]), the scan reads only the projected columns in bounded
//! batches, and data errors reach the guest without cell values (see
//! [`crate::data`]). The pass is metered: every batch's rows, keys and
//! values and every new group are charged as fuel, and every group's state
//! (and the values quantiles keep) is reserved against the run's memory cap
//! as it grows.

use std::collections::{BTreeSet, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::cast;
use arrow_schema::{DataType, TimeUnit};
use roaring::RoaringBitmap;

use super::keys::{KeyPart, float_key};
use super::plan::{Plan, Public};
use crate::data::ColumnType;
use crate::engine::{Meter, Reservation, schedule};
use crate::grant::Grant;
use crate::refusal::Refusal;

/// Most groups one query may build before it is refused.
pub const MAX_GROUPS: usize = 100_000;

/// Running figures of one group.
#[derive(Debug, Default)]
pub(super) struct Acc {
    /// Contributing rows.
    pub(super) n: u64,
    pub(super) sum: f64,
    pub(super) min: f64,
    pub(super) max: f64,
    /// The contributing values, when the query needs order statistics.
    pub(super) values: Vec<f64>,
    /// The contributing rows, when difference checks need them.
    pub(super) rows: RoaringBitmap,
}

impl Acc {
    fn add(&mut self, v: Option<f64>, keep: bool) {
        self.n += 1;
        let Some(v) = v else { return };
        if self.n == 1 {
            self.min = v;
            self.max = v;
        }
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if keep {
            self.values.push(v);
        }
    }
}

/// What one pass built.
#[derive(Debug, Default)]
pub(super) struct Scanned {
    /// The groups, in key order.
    pub(super) groups: Vec<(Vec<KeyPart>, Acc)>,
    /// Rows read.
    pub(super) rows: u64,
    /// For keys whose public set is every value of the column: the values.
    pub(super) distinct: Vec<BTreeSet<KeyPart>>,
}

/// Host bytes one group costs besides its string keys: the map entry and
/// its key, the running figures, the sorted copy and the released group
/// with one value per function.
pub(super) fn group_bytes(plan: &Plan) -> u64 {
    256 + plan.keys.len() as u64 * 64 + plan.functions.len() as u64 * 16
}

/// Host bytes of a group's string key parts (kept, then rendered).
fn key_text_bytes(key: &[KeyPart]) -> u64 {
    key.iter()
        .map(|k| match k {
            KeyPart::Str(s) => 2 * (s.len() as u64 + 32),
            _ => 0,
        })
        .sum()
}

/// The refusal of a query whose state would not fit in the run's memory.
pub(super) fn too_big(meter: &Meter) -> Refusal {
    Refusal::limit_reached(format!(
        "the aggregate query's state would exceed this run's memory cap of {} MiB; ask for fewer functions or group by coarser keys",
        meter.memory().cap() >> 20
    ))
}

/// Fuel to finalise the scanned groups: every function of every group, and
/// the sorts and passes of order statistics.
pub(super) fn finalise_cost(scanned: &Scanned, plan: &Plan) -> u64 {
    let functions = plan.functions.len() as u64;
    let ordered = plan
        .functions
        .iter()
        .filter(|f| {
            matches!(
                f,
                sluice_host_api::aggregates::AggregateFn::Quantile(_)
                    | sluice_host_api::aggregates::AggregateFn::Min
                    | sluice_host_api::aggregates::AggregateFn::Max
            )
        })
        .count() as u64;
    let per_group = |acc: &Acc| {
        let n = acc.values.len() as u64;
        let sorts = if ordered > 0 && n > 0 {
            schedule::sort(n) + (ordered - 1) * n * schedule::QUANTILE_VALUE
        } else {
            0
        };
        functions * schedule::GROUP_FUNCTION + sorts
    };
    let g = scanned.groups.len() as u64;
    scanned
        .groups
        .iter()
        .map(|(_, acc)| per_group(acc))
        .fold(schedule::sort(g), u64::saturating_add)
}

/// Reads the dataset once and builds the plan's groups; `track_rows` keeps
/// each group's row set (for difference checks). Work is charged to
/// `meter`, state reserved in `held`.
pub(super) fn scan(
    grant: &Grant,
    plan: &Plan,
    batch_rows: usize,
    track_rows: bool,
    meter: &mut Meter,
    held: &mut Reservation,
) -> Result<Scanned, Refusal> {
    meter.charge(schedule::OPEN_READER)?;
    let per_group = group_bytes(plan);
    // What a group keeps per contributing row: the value order statistics
    // need (8 bytes, 16 with growth) and its bitmap entry for difference
    // checks (up to 4 bytes).
    let per_row = u64::from(plan.wants_values) * 16 + u64::from(track_rows) * 4;
    let read_cost = schedule::AGGREGATE_ROW
        + plan.keys.len() as u64 * schedule::AGGREGATE_KEY
        + u64::from(plan.value.is_some()) * schedule::AGGREGATE_VALUE;
    let mut projection: Vec<usize> = plan.keys.iter().map(|k| k.column.index).collect();
    projection.extend(plan.value.as_ref().map(|v| v.column.index));
    projection.sort_unstable();
    projection.dedup();
    let numeric_value = plan.value.as_ref().filter(|v| {
        matches!(
            v.column.column_type,
            ColumnType::Int64 | ColumnType::Float64 | ColumnType::Boolean
        )
    });
    let mut groups: HashMap<Vec<KeyPart>, Acc> = HashMap::new();
    let mut distinct: Vec<BTreeSet<KeyPart>> = vec![BTreeSet::new(); plan.keys.len()];
    let mut rows = 0u64;
    let reader = grant
        .dataset
        .read(&projection, batch_rows)
        .map_err(Refusal::from)?;
    for batch in reader {
        let batch = batch.map_err(Refusal::from)?;
        meter.charge(batch.num_rows() as u64 * read_cost)?;
        let groups_before = groups.len() as u64;
        let mut contributed = 0u64;
        let keys = plan
            .keys
            .iter()
            .map(|k| column(&batch, &k.name))
            .collect::<Result<Vec<_>, _>>()?;
        let value = match &plan.value {
            Some(v) => Some(column(&batch, &v.name)?),
            None => None,
        };
        let numbers = match (&value, numeric_value) {
            (Some(a), Some(_)) => Some(as_f64(a)?),
            _ => None,
        };
        for row in 0..batch.num_rows() {
            let row_id = rows + row as u64;
            let key: Vec<KeyPart> = plan
                .keys
                .iter()
                .zip(&keys)
                .map(|(k, a)| key_part(a, row, k.bin, public_bounds(&k.public)))
                .collect();
            for (i, k) in plan.keys.iter().enumerate() {
                if k.public == Some(Public::AllValues) && !distinct[i].contains(&key[i]) {
                    distinct[i].insert(key[i].clone());
                }
            }
            if value.as_ref().is_some_and(|a| a.is_null(row)) {
                continue;
            }
            let v = numbers.as_ref().map(|a| {
                let v = a.value(row);
                plan.clamp.map_or(v, |(lo, hi)| v.clamp(lo, hi))
            });
            let full = groups.len() >= MAX_GROUPS;
            let acc = match groups.get_mut(&key) {
                Some(acc) => acc,
                None if full => {
                    return Err(Refusal::limit_reached(format!(
                        "aggregate query builds more than {MAX_GROUPS} groups; group by a coarser key"
                    )));
                }
                None => {
                    held.grow(per_group + key_text_bytes(&key))
                        .map_err(|_| too_big(meter))?;
                    groups.entry(key).or_default()
                }
            };
            acc.add(v, plan.wants_values);
            contributed += 1;
            if track_rows {
                let id = u32::try_from(row_id).map_err(|_| {
                    Refusal::limit_reached(format!(
                        "dataset `{}` has more rows than difference checks can track ({}); ask the owner for differential privacy",
                        grant.name(),
                        u32::MAX
                    ))
                })?;
                acc.rows.insert(id);
            }
        }
        rows += batch.num_rows() as u64;
        meter.charge((groups.len() as u64 - groups_before) * schedule::GROUP)?;
        held.grow(contributed * per_row)
            .map_err(|_| too_big(meter))?;
    }
    let mut groups: Vec<_> = groups.into_iter().collect();
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Scanned {
        groups,
        rows,
        distinct,
    })
}

fn public_bounds(public: &Option<Public>) -> Option<(f64, f64)> {
    match public {
        Some(Public::Bins { bounds, .. }) => Some(*bounds),
        _ => None,
    }
}

fn bin(v: f64, (width, origin): (f64, f64), bounds: Option<(f64, f64)>) -> KeyPart {
    let v = bounds.map_or(v, |(lo, hi)| v.clamp(lo, hi));
    KeyPart::Bin(((v - origin) / width).floor() as i64)
}

fn key_part(
    array: &ArrayRef,
    row: usize,
    width: Option<(f64, f64)>,
    bounds: Option<(f64, f64)>,
) -> KeyPart {
    if array.is_null(row) {
        return KeyPart::Null;
    }
    match (array.data_type(), width) {
        (DataType::Float64, Some(w)) => {
            bin(array.as_primitive::<Float64Type>().value(row), w, bounds)
        }
        (DataType::Int64, Some(w)) => bin(
            array.as_primitive::<Int64Type>().value(row) as f64,
            w,
            bounds,
        ),
        (DataType::Int64, None) => KeyPart::Int(array.as_primitive::<Int64Type>().value(row)),
        (DataType::Float64, None) => {
            KeyPart::Float(float_key(array.as_primitive::<Float64Type>().value(row)))
        }
        (DataType::Boolean, _) => KeyPart::Bool(array.as_boolean().value(row)),
        (DataType::Date32, _) => KeyPart::Date(array.as_primitive::<Date32Type>().value(row)),
        (DataType::Timestamp(_, zone), _) => {
            let micros = array.as_primitive::<TimestampMicrosecondType>().value(row);
            match zone {
                Some(_) => KeyPart::Instant(micros),
                None => KeyPart::Time(micros),
            }
        }
        _ => KeyPart::Str(array.as_string::<i32>().value(row).to_string()),
    }
}

/// The batch column `name`, normalised to Int64, Float64, Boolean, Date32,
/// Timestamp in microseconds (keeping its zone) or Utf8. A cast failure
/// names the column and type, never a value.
fn column(batch: &RecordBatch, name: &str) -> Result<ArrayRef, Refusal> {
    let array = batch.column_by_name(name).ok_or_else(|| {
        tracing::warn!(column = name, "projected column missing from batch");
        Refusal::invalid("the host could not read the dataset")
    })?;
    let target = match ColumnType::of(array.data_type()) {
        Some(ColumnType::Int64) => DataType::Int64,
        Some(ColumnType::Float64) => DataType::Float64,
        Some(ColumnType::Boolean) => DataType::Boolean,
        Some(ColumnType::Date) => DataType::Date32,
        Some(ColumnType::Timestamp) => match array.data_type() {
            DataType::Timestamp(_, zone) => {
                DataType::Timestamp(TimeUnit::Microsecond, zone.clone())
            }
            _ => DataType::Timestamp(TimeUnit::Microsecond, None),
        },
        _ => DataType::Utf8,
    };
    if array.data_type() == &target {
        return Ok(array.clone());
    }
    cast(array, &target).map_err(|e| {
        tracing::warn!(column = name, error = %e, "cast failed");
        Refusal::invalid(format!(
            "the host could not read column `{name}` as {target}"
        ))
    })
}

fn as_f64(array: &ArrayRef) -> Result<arrow_array::Float64Array, Refusal> {
    let a = cast(array, &DataType::Float64).map_err(|e| {
        tracing::warn!(error = %e, "cast to float64 failed");
        Refusal::invalid("the host could not read the aggregated column as numbers")
    })?;
    Ok(a.as_primitive::<Float64Type>().clone())
}
