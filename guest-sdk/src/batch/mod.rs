//! One decoded batch of a scan, with typed, name-checked column access.
//!
//! Columns are looked up by name and checked against the requested type,
//! so a wrong guess about the data gives a clear `Invalid` error rather
//! than garbage. The decoding of host batches lives in `decode`.

use std::rc::Rc;

use crate::column::{
    BoolColumn, DictColumn, Float64Column, Int64Column, NumericColumn, Utf8Column,
};
use crate::time::{DateColumn, Days, TimeUnit, TimestampColumn};
use crate::{Error, Result};

/// A run of rows of the scanned columns.
///
/// ```no_run
/// # use sluice_guest::*;
/// # fn demo(ctx: &mut Ctx) -> Result<()> {
/// for batch in ctx.scan("sales").columns(&["region", "amount"]).open()? {
///     let batch = batch?;
///     let (region, amount) = (batch.dict("region")?, batch.f64("amount")?);
///     println!("{} rows, first region {:?}", batch.rows(), region.get(0));
/// #   let _ = amount;
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Batch {
    rows: usize,
    columns: Vec<Column>,
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    validity: Option<Vec<u8>>,
    data: Data,
}

#[derive(Debug, Clone)]
enum Data {
    Int64(Vec<i64>),
    Float64(Vec<f64>),
    Boolean(Vec<u8>),
    Utf8 {
        offsets: Vec<u32>,
        text: String,
    },
    Dictionary {
        codes: Vec<u32>,
        dictionary: Rc<Vec<String>>,
    },
    Date(Vec<i32>),
    Timestamp {
        unit: TimeUnit,
        zone: Option<String>,
        values: Vec<i64>,
    },
}

impl Data {
    fn type_name(&self) -> &'static str {
        match self {
            Data::Int64(_) => "int64",
            Data::Float64(_) => "float64",
            Data::Boolean(_) => "boolean",
            Data::Utf8 { .. } => "utf8",
            Data::Dictionary { .. } => "dictionary",
            Data::Date(_) => "date",
            Data::Timestamp { .. } => "timestamp",
        }
    }
}

impl Batch {
    /// Number of rows in this batch.
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) { let n = batch.rows(); }
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Names of the columns in this batch, in scan order.
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) { let names: Vec<&str> = batch.column_names().collect(); }
    /// ```
    pub fn column_names(&self) -> impl Iterator<Item = &str> {
        self.columns.iter().map(|c| c.name.as_str())
    }

    /// The validity bitmap of column `name` (`None` = no nulls).
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let nulls = batch.validity("amount")?.is_some();
    /// # Ok(()) }
    /// ```
    pub fn validity(&self, name: &str) -> Result<Option<&[u8]>> {
        Ok(self.column(name)?.validity.as_deref())
    }

    /// Column `name` as `float64`.
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let total = sluice_guest::kernels::sum(batch.f64("amount")?.values, batch.f64("amount")?.validity);
    /// # Ok(()) }
    /// ```
    pub fn f64(&self, name: &str) -> Result<Float64Column<'_>> {
        let c = self.column(name)?;
        match &c.data {
            Data::Float64(values) => Ok(Float64Column {
                values,
                validity: c.validity.as_deref(),
            }),
            other => Err(wrong_type(name, other, "float64")),
        }
    }

    /// Column `name` as `int64`.
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let quantity = batch.i64("quantity")?;
    /// # Ok(()) }
    /// ```
    pub fn i64(&self, name: &str) -> Result<Int64Column<'_>> {
        let c = self.column(name)?;
        match &c.data {
            Data::Int64(values) => Ok(Int64Column {
                values,
                validity: c.validity.as_deref(),
            }),
            other => Err(wrong_type(name, other, "int64")),
        }
    }

    /// Column `name` as `boolean`.
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let returned = batch.bool("returned")?;
    /// # Ok(()) }
    /// ```
    pub fn bool(&self, name: &str) -> Result<BoolColumn<'_>> {
        let c = self.column(name)?;
        match &c.data {
            Data::Boolean(values) => Ok(BoolColumn {
                values,
                validity: c.validity.as_deref(),
            }),
            other => Err(wrong_type(name, other, "boolean")),
        }
    }

    /// Column `name` as plain `utf8` (offsets into one text buffer).
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let first = batch.utf8("note")?.get(0);
    /// # Ok(()) }
    /// ```
    pub fn utf8(&self, name: &str) -> Result<Utf8Column<'_>> {
        let c = self.column(name)?;
        match &c.data {
            Data::Utf8 { offsets, text } => Ok(Utf8Column {
                offsets,
                text,
                validity: c.validity.as_deref(),
            }),
            other => Err(wrong_type(name, other, "utf8")),
        }
    }

    /// Column `name` as dictionary codes plus the scan's cumulative
    /// dictionary. A column the host sends as plain `utf8` is available
    /// here too if the scan asked for it with
    /// [`ScanBuilder::dictionary`](crate::ScanBuilder::dictionary).
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let region = batch.dict("region")?;
    /// let names: &[String] = region.dictionary;
    /// # Ok(()) }
    /// ```
    pub fn dict(&self, name: &str) -> Result<DictColumn<'_>> {
        let c = self.column(name)?;
        match &c.data {
            Data::Dictionary { codes, dictionary } => Ok(DictColumn {
                codes,
                validity: c.validity.as_deref(),
                dictionary,
            }),
            other => Err(wrong_type(name, other, "dictionary")),
        }
    }

    /// Column `name` as `date` (days since 1970-01-01).
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let first = batch.date("day")?.get(0).map(sluice_guest::time::format_date);
    /// # Ok(()) }
    /// ```
    pub fn date(&self, name: &str) -> Result<DateColumn<'_>> {
        let c = self.column(name)?;
        match &c.data {
            Data::Date(values) => Ok(DateColumn {
                values,
                validity: c.validity.as_deref(),
            }),
            other => Err(wrong_type(name, other, "date")),
        }
    }

    /// Column `name` as `timestamp`, with its unit and zone.
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let at = batch.timestamp("ordered_at")?;
    /// let days = at.days(); // day numbers, for daily or monthly keys
    /// # Ok(()) }
    /// ```
    pub fn timestamp(&self, name: &str) -> Result<TimestampColumn<'_>> {
        let c = self.column(name)?;
        match &c.data {
            Data::Timestamp { unit, zone, values } => Ok(TimestampColumn {
                values,
                validity: c.validity.as_deref(),
                unit: *unit,
                zone: zone.as_deref(),
            }),
            other => Err(wrong_type(name, other, "timestamp")),
        }
    }

    /// Column `name` as day numbers, whether it is a `date` (borrowed) or a
    /// `timestamp` (converted: the day each instant falls on, in UTC for
    /// zoned timestamps).
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let days = batch.days("ordered_at")?;
    /// let months = sluice_guest::kernels::months_of(&days.values);
    /// # Ok(()) }
    /// ```
    pub fn days(&self, name: &str) -> Result<Days<'_>> {
        let c = self.column(name)?;
        let validity = c.validity.as_deref();
        match &c.data {
            Data::Date(v) => Ok(Days {
                values: v.as_slice().into(),
                validity,
            }),
            Data::Timestamp { unit, values, .. } => Ok(Days {
                values: crate::kernels::days_of(values, *unit).into(),
                validity,
            }),
            other => Err(wrong_type(name, other, "date or timestamp")),
        }
    }

    /// Column `name` as `f64` values, whether stored as `float64` (borrowed)
    /// or `int64` (converted).
    ///
    /// ```no_run
    /// # fn demo(batch: &sluice_guest::Batch) -> sluice_guest::Result<()> {
    /// let age = batch.numeric("age")?;
    /// let mean_age = sluice_guest::kernels::mean(&age.values, age.validity);
    /// # Ok(()) }
    /// ```
    pub fn numeric(&self, name: &str) -> Result<NumericColumn<'_>> {
        let c = self.column(name)?;
        let validity = c.validity.as_deref();
        match &c.data {
            Data::Float64(v) => Ok(NumericColumn {
                values: v.as_slice().into(),
                validity,
            }),
            Data::Int64(v) => Ok(NumericColumn {
                values: v.iter().map(|&x| x as f64).collect::<Vec<_>>().into(),
                validity,
            }),
            other => Err(wrong_type(name, other, "float64 or int64")),
        }
    }

    fn column(&self, name: &str) -> Result<&Column> {
        self.columns.iter().find(|c| c.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.column_names().collect();
            Error::Invalid(format!(
                "the batch has no column `{name}` (it has: {})",
                names.join(", ")
            ))
        })
    }
}

fn wrong_type(name: &str, data: &Data, wanted: &str) -> Error {
    Error::Invalid(format!(
        "column `{name}` is {}, not {wanted}",
        data.type_name()
    ))
}

mod decode;
pub(crate) use decode::Decoder;

#[cfg(test)]
mod tests;
