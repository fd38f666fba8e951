//! Host aggregates: the only way a guest reaches `aggregate` columns.
//!
//! The host computes count / sum / mean / min / max / quantiles natively over
//! the whole dataset, grouped by keys the policy permits, and suppresses every
//! group smaller than the policy's minimum group size, so no guest learns
//! anything about a group of fewer people than the owner allows. The number
//! of groups a query may build is capped so a near-unique key cannot exhaust
//! host memory.
//!
//! The work is metered ([`Meter`]): rows read, keys built, groups created,
//! functions computed and values sorted are charged as fuel as the query
//! runs (the finalisation up front, before it is done), the run's deadline
//! is checked per batch and per group, and the query's state is reserved
//! against the run's memory cap before it is allocated: a query whose
//! groups would not fit is refused with `limit-reached`.

use std::collections::HashMap;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float64Type, Int64Type};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_cast::cast;
use arrow_schema::DataType;
use sluice_host_api::aggregates::{AggregateFn, AggregateResult, Group, Query};
use sluice_host_api::types::Error;

use crate::data::ColumnType;
use crate::engine::{Meter, Reservation, schedule};
use crate::grant::{Grant, VisibleColumn};
use crate::privacy::NoisyValue;

/// Most groups one query may build before it is refused.
pub const MAX_GROUPS: usize = 100_000;

/// One part of a group key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum KeyPart {
    Null,
    Bool(bool),
    Int(i64),
    Bin(i64),
    Str(String),
}

/// Running figures of one group.
#[derive(Default)]
pub(crate) struct Acc {
    rows: u64,
    n: u64,
    sum: f64,
    min: f64,
    max: f64,
    values: Vec<f64>,
}

struct KeySpec {
    name: String,
    width: Option<f64>,
}

/// What a query computed, before release.
pub struct Computed {
    /// The released groups.
    pub result: AggregateResult,
    /// Rows read to compute it.
    pub rows_scanned: u64,
    /// The noise drawn under differential privacy: the node's private
    /// audit record, never released.
    pub noise: Vec<NoisyValue>,
    /// Host memory reserved for the result until it is handed over.
    pub held: Reservation,
}

/// Host bytes one group costs besides its string keys: the map entry and
/// its key, the running figures, the sorted copy and the released group
/// with one value per function.
fn group_bytes(query: &Query) -> u64 {
    256 + query.group_by.len() as u64 * 64 + query.functions.len() as u64 * 16
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
fn too_big(meter: &Meter) -> Error {
    Error::LimitReached(format!(
        "the aggregate query's state would exceed this run's memory cap of {} MiB; ask for fewer functions or group by coarser keys",
        meter.memory().cap() >> 20
    ))
}

/// Fuel to finalise `groups`: every function of every group, and the sorts
/// and passes of quantiles.
fn finalise_cost(groups: &HashMap<Vec<KeyPart>, Acc>, query: &Query) -> u64 {
    let functions = query.functions.len() as u64;
    let quantiles = query
        .functions
        .iter()
        .filter(|f| matches!(f, AggregateFn::Quantile(_)))
        .count() as u64;
    let per_group = |acc: &Acc| {
        let n = acc.values.len() as u64;
        let sorts = if quantiles > 0 {
            schedule::sort(n) + (quantiles - 1) * n * schedule::QUANTILE_VALUE
        } else {
            0
        };
        functions * schedule::GROUP_FUNCTION + sorts
    };
    let g = groups.len() as u64;
    groups
        .values()
        .map(per_group)
        .fold(schedule::sort(g), u64::saturating_add)
}

/// [`run_metered`] without limits, for computing outside a sandboxed run.
pub fn run(
    grant: &Grant,
    query: &Query,
    batch_rows: usize,
    dp: Option<f64>,
    charge: impl FnOnce() -> Result<(), Error>,
) -> Result<Computed, Error> {
    run_metered(
        grant,
        query,
        batch_rows,
        dp,
        charge,
        &mut Meter::unlimited(),
    )
}

/// Runs `query` over `grant`, suppressing groups below the minimum size.
///
/// With `dp` (the epsilon this query may spend), counts and sums are noised
/// by OpenDP and `charge` is called once the query is known to be valid and
/// before any data is read; if it fails, nothing is computed. The work is
/// charged to `meter`; when the meter trips, the error returned here is
/// superseded by the run's abort.
pub fn run_metered(
    grant: &Grant,
    query: &Query,
    batch_rows: usize,
    dp: Option<f64>,
    charge: impl FnOnce() -> Result<(), Error>,
    meter: &mut Meter,
) -> Result<Computed, Error> {
    let value = query
        .column
        .as_deref()
        .map(|c| grant.column(c))
        .transpose()?;
    check_functions(query, value.as_ref())?;
    let clamp = intersect(check_clamp(query)?, value.and_then(|v| v.rule.bounds));
    let keys = check_keys(grant, query)?;
    if dp.is_some() {
        dp::check(query, clamp)?;
    }
    let per_group = group_bytes(query);
    if per_group > meter.memory().headroom() {
        return Err(too_big(meter));
    }
    charge()?;
    meter.charge(schedule::OPEN_READER)?;
    let mut held = Reservation::empty(meter.memory());
    let mut projection: Vec<usize> = keys.iter().map(|(_, c)| c.index).collect();
    projection.extend(value.map(|v| v.index));
    projection.sort_unstable();
    projection.dedup();
    let wants_values = query
        .functions
        .iter()
        .any(|f| matches!(f, AggregateFn::Quantile(_)));
    let mut groups: HashMap<Vec<KeyPart>, Acc> = HashMap::new();
    let mut rows_scanned = 0u64;
    let reader = grant
        .dataset
        .read(&projection, batch_rows)
        .map_err(internal)?;
    let read_cost = schedule::AGGREGATE_ROW
        + keys.len() as u64 * schedule::AGGREGATE_KEY
        + u64::from(value.is_some()) * schedule::AGGREGATE_VALUE;
    for batch in reader {
        let batch = batch.map_err(internal)?;
        meter.charge(batch.num_rows() as u64 * read_cost)?;
        let groups_before = groups.len() as u64;
        rows_scanned += batch.num_rows() as u64;
        let key_arrays = keys
            .iter()
            .map(|(spec, _)| column(&batch, &spec.name))
            .collect::<Result<Vec<_>, _>>()?;
        let values = match &query.column {
            Some(c) if value.is_some_and(|v| v.column_type != ColumnType::Utf8) => {
                Some(as_f64(&column(&batch, c)?)?)
            }
            _ => None,
        };
        for row in 0..batch.num_rows() {
            let key = keys
                .iter()
                .zip(&key_arrays)
                .map(|((spec, _), a)| key_part(a, row, spec.width))
                .collect::<Vec<_>>();
            let groups_len = groups.len();
            let acc = match groups.get_mut(&key) {
                Some(acc) => acc,
                None if groups_len >= MAX_GROUPS => {
                    return Err(Error::LimitReached(format!(
                        "aggregate query builds more than {MAX_GROUPS} groups; group by a coarser key"
                    )));
                }
                None => {
                    held.grow(per_group + key_text_bytes(&key))
                        .map_err(|_| too_big(meter))?;
                    groups.entry(key).or_default()
                }
            };
            acc.rows += 1;
            if let Some(v) = values
                .as_ref()
                .and_then(|a| (!a.is_null(row)).then(|| a.value(row)))
            {
                let v = clamp.map_or(v, |(lo, hi)| v.clamp(lo, hi));
                acc.add(v, wants_values);
            }
        }
        meter.charge((groups.len() as u64 - groups_before) * schedule::GROUP)?;
        if wants_values {
            let kept = values.as_ref().map_or(0, |a| a.len() - a.null_count()) as u64;
            held.grow(kept * 16).map_err(|_| too_big(meter))?;
        }
    }
    meter.charge(finalise_cost(&groups, query))?;
    let (result, noise) = match dp {
        Some(epsilon) => dp::release(
            sorted(groups),
            query,
            grant.policy.min_group_size,
            epsilon,
            clamp,
            meter,
        )?,
        None => (
            release(sorted(groups), query, grant.policy.min_group_size, meter)?,
            Vec::new(),
        ),
    };
    Ok(Computed {
        result,
        rows_scanned,
        noise,
        held,
    })
}

impl Acc {
    fn add(&mut self, v: f64, keep: bool) {
        if self.n == 0 {
            self.min = v;
            self.max = v;
        }
        self.n += 1;
        self.sum += v;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        if keep {
            self.values.push(v);
        }
    }

    fn value(&mut self, f: &AggregateFn, has_column: bool) -> Option<f64> {
        let some = self.n > 0;
        match f {
            AggregateFn::Count => Some(if has_column { self.n } else { self.rows } as f64),
            AggregateFn::Sum => some.then_some(self.sum),
            AggregateFn::Mean => some.then(|| self.sum / self.n as f64),
            AggregateFn::Min => some.then_some(self.min),
            AggregateFn::Max => some.then_some(self.max),
            AggregateFn::Quantile(q) => quantile(&mut self.values, *q),
        }
    }
}

/// Linear-interpolation quantile (type 7) of `values`.
fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let pos = q * (values.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(values[lo] + (values[hi] - values[lo]) * (pos - lo as f64))
}

/// Groups in key order, so results do not depend on hashing.
fn sorted(groups: HashMap<Vec<KeyPart>, Acc>) -> Vec<(Vec<KeyPart>, Acc)> {
    let mut sorted: Vec<_> = groups.into_iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted
}

fn release(
    sorted: Vec<(Vec<KeyPart>, Acc)>,
    query: &Query,
    min_group_size: u64,
    meter: &mut Meter,
) -> Result<AggregateResult, Error> {
    let total = sorted.len() as u64;
    let widths: Vec<Option<f64>> = query.group_by.iter().map(|k| k.bin_width).collect();
    let groups: Vec<Group> = sorted
        .into_iter()
        .filter(|(_, acc)| acc.rows >= min_group_size)
        .map(|(key, mut acc)| {
            meter.check_deadline()?;
            Ok(Group {
                keys: render_keys(&key, &widths),
                count: acc.rows,
                values: query
                    .functions
                    .iter()
                    .map(|f| {
                        // A quantile passes over the whole group: check
                        // the deadline before each one.
                        if matches!(f, AggregateFn::Quantile(_)) {
                            meter.check_deadline()?;
                        }
                        Ok(acc.value(f, query.column.is_some()))
                    })
                    .collect::<Result<_, Error>>()?,
            })
        })
        .collect::<Result<_, Error>>()?;
    Ok(AggregateResult {
        suppressed_groups: total - groups.len() as u64,
        groups,
    })
}

fn render_keys(key: &[KeyPart], widths: &[Option<f64>]) -> Vec<Option<String>> {
    key.iter().zip(widths).map(|(k, w)| render(k, *w)).collect()
}

fn render(k: &KeyPart, width: Option<f64>) -> Option<String> {
    match k {
        KeyPart::Null => None,
        KeyPart::Bool(b) => Some(b.to_string()),
        KeyPart::Int(i) => Some(i.to_string()),
        KeyPart::Bin(b) => Some(format!("{}", *b as f64 * width.unwrap_or(1.0))),
        KeyPart::Str(s) => Some(s.clone()),
    }
}

fn key_part(array: &ArrayRef, row: usize, width: Option<f64>) -> KeyPart {
    if array.is_null(row) {
        return KeyPart::Null;
    }
    match (array.data_type(), width) {
        (DataType::Float64, Some(w)) => {
            KeyPart::Bin((array.as_primitive::<Float64Type>().value(row) / w).floor() as i64)
        }
        (DataType::Int64, Some(w)) => {
            KeyPart::Bin((array.as_primitive::<Int64Type>().value(row) as f64 / w).floor() as i64)
        }
        (DataType::Int64, None) => KeyPart::Int(array.as_primitive::<Int64Type>().value(row)),
        (DataType::Boolean, _) => KeyPart::Bool(array.as_boolean().value(row)),
        _ => KeyPart::Str(array.as_string::<i32>().value(row).to_string()),
    }
}

/// The batch column `name`, normalised to Int64, Float64, Boolean or Utf8.
fn column(batch: &RecordBatch, name: &str) -> Result<ArrayRef, Error> {
    let array = batch
        .column_by_name(name)
        .ok_or_else(|| internal(format!("column `{name}` missing from batch")))?;
    let target = match ColumnType::of(array.data_type()) {
        Some(ColumnType::Int64) => DataType::Int64,
        Some(ColumnType::Float64) => DataType::Float64,
        Some(ColumnType::Boolean) => DataType::Boolean,
        _ => DataType::Utf8,
    };
    if array.data_type() == &target {
        return Ok(array.clone());
    }
    cast(array, &target).map_err(internal)
}

fn as_f64(array: &ArrayRef) -> Result<arrow_array::Float64Array, Error> {
    let a = cast(array, &DataType::Float64).map_err(internal)?;
    Ok(a.as_primitive::<Float64Type>().clone())
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Invalid(format!("host could not read the dataset: {e}"))
}

fn check_functions(query: &Query, value: Option<&VisibleColumn>) -> Result<(), Error> {
    if query.functions.is_empty() {
        return Err(Error::Invalid(
            "aggregate query asks for no functions".into(),
        ));
    }
    for f in &query.functions {
        match (f, value) {
            (AggregateFn::Count, _) => {}
            (_, None) => {
                return Err(Error::Invalid(format!(
                    "{} needs a column; only count works without one",
                    fn_name(f)
                )));
            }
            (_, Some(v)) if v.column_type == ColumnType::Utf8 => {
                return Err(Error::Invalid(format!(
                    "{} needs a numeric column, not a string column",
                    fn_name(f)
                )));
            }
            (AggregateFn::Quantile(q), _) if !(0.0..=1.0).contains(q) => {
                return Err(Error::Invalid(format!("quantile {q} is outside [0, 1]")));
            }
            _ => {}
        }
    }
    Ok(())
}

/// The query's clamp within the policy's bounds for the column.
fn intersect(query: Option<(f64, f64)>, policy: Option<(f64, f64)>) -> Option<(f64, f64)> {
    match (query, policy) {
        (Some((a, b)), Some((lo, hi))) => Some((a.clamp(lo, hi), b.clamp(lo, hi))),
        (q, p) => q.or(p),
    }
}

/// The function as a buyer would write it.
pub(crate) fn fn_name(f: &AggregateFn) -> &'static str {
    match f {
        AggregateFn::Count => "count",
        AggregateFn::Sum => "sum",
        AggregateFn::Mean => "mean",
        AggregateFn::Min => "min",
        AggregateFn::Max => "max",
        AggregateFn::Quantile(_) => "quantile",
    }
}

fn check_clamp(query: &Query) -> Result<Option<(f64, f64)>, Error> {
    match &query.clamp {
        None => Ok(None),
        Some(b) if b.lower.is_finite() && b.upper.is_finite() && b.lower <= b.upper => {
            Ok(Some((b.lower, b.upper)))
        }
        Some(b) => Err(Error::Invalid(format!(
            "clamp bounds [{}, {}] must be finite with lower <= upper",
            b.lower, b.upper
        ))),
    }
}

fn check_keys(grant: &Grant, query: &Query) -> Result<Vec<(KeySpec, VisibleColumn)>, Error> {
    query
        .group_by
        .iter()
        .map(|k| {
            let c = grant.column(&k.column)?;
            if !c.rule.group_key {
                return Err(Error::NotPermitted(format!(
                    "column `{}` of dataset `{}` is not a permitted group-by key",
                    k.column,
                    grant.name()
                )));
            }
            if let Some(w) = k.bin_width {
                let numeric = matches!(c.column_type, ColumnType::Int64 | ColumnType::Float64);
                if !numeric || !w.is_finite() || w <= 0.0 {
                    return Err(Error::Invalid(format!(
                        "bin width {w} on `{}` needs a numeric column and a positive finite width",
                        k.column
                    )));
                }
            }
            Ok((
                KeySpec {
                    name: k.column.clone(),
                    width: k.bin_width,
                },
                c,
            ))
        })
        .collect()
}

mod dp;

#[cfg(test)]
mod tests;
