//! Dates and timestamps: the column views of the `date` and `timestamp`
//! types, and the calendar arithmetic analytics need (civil dates from day
//! numbers, truncation to day, month or year, ISO formatting).
//!
//! A `date` is a day number: days since 1970-01-01 (negative before). A
//! `timestamp` counts a [`TimeUnit`] since 1970-01-01T00:00:00; with a
//! zone the count is in UTC (an instant), without one it is wall-clock
//! time in no particular zone. The SDK has no time-zone database, so
//! truncation works on those counts as they are: in UTC for zoned
//! timestamps, on the wall clock for the others.
//!
//! All arithmetic is exact integer arithmetic (proleptic Gregorian
//! calendar, floor division), identical natively and in wasm.
//!
//! ```
//! use sluice_guest::time::*;
//! let day = days_from_civil(2024, 2, 29);
//! assert_eq!(civil_from_days(day), (2024, 2, 29));
//! assert_eq!(format_date(month_start(day)), "2024-02-01");
//! assert_eq!(format_month(month_index(day)), "2024-02");
//! assert_eq!(day_of(1_709_164_800_000, TimeUnit::Millisecond), day);
//! ```

use crate::is_valid;

pub use crate::bindings::sluice::host::types::TimeUnit;

/// How many `unit`s make one day.
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(per_day(TimeUnit::Second), 86_400);
/// ```
pub fn per_day(unit: TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => 86_400,
        TimeUnit::Millisecond => 86_400_000,
        TimeUnit::Microsecond => 86_400_000_000,
        TimeUnit::Nanosecond => 86_400_000_000_000,
    }
}

/// The (year, month 1-12, day 1-31) of a day number.
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(civil_from_days(0), (1970, 1, 1));
/// assert_eq!(civil_from_days(-1), (1969, 12, 31));
/// ```
pub fn civil_from_days(days: i32) -> (i32, u32, u32) {
    let z = i64::from(days) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year as i32, month, day)
}

/// The day number of a civil date (months and days out of range roll
/// over as the proleptic Gregorian arithmetic gives).
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(days_from_civil(1970, 1, 2), 1);
/// assert_eq!(days_from_civil(2000, 3, 1), 11_017);
/// ```
pub fn days_from_civil(year: i32, month: u32, day: u32) -> i32 {
    let y = i64::from(year) - i64::from(month <= 2);
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe - 719_468) as i32
}

/// The day number a timestamp falls on (floor: 1969-12-31T23:00 is day -1).
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(day_of(-3_600, TimeUnit::Second), -1);
/// ```
pub fn day_of(value: i64, unit: TimeUnit) -> i32 {
    value.div_euclid(per_day(unit)) as i32
}

/// A timestamp truncated to the start of its day (same unit).
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(truncate_to_day(90_000, TimeUnit::Second), 86_400);
/// ```
pub fn truncate_to_day(value: i64, unit: TimeUnit) -> i64 {
    value.div_euclid(per_day(unit)) * per_day(unit)
}

/// The first day of the month of a day number.
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(month_start(days_from_civil(2023, 7, 19)), days_from_civil(2023, 7, 1));
/// ```
pub fn month_start(days: i32) -> i32 {
    let (y, m, _) = civil_from_days(days);
    days_from_civil(y, m, 1)
}

/// The first day of the year of a day number.
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(year_start(days_from_civil(2023, 7, 19)), days_from_civil(2023, 1, 1));
/// ```
pub fn year_start(days: i32) -> i32 {
    days_from_civil(civil_from_days(days).0, 1, 1)
}

/// The year of a day number.
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(year_of(days_from_civil(1999, 12, 31)), 1999);
/// ```
pub fn year_of(days: i32) -> i32 {
    civil_from_days(days).0
}

/// Months since 1970-01 of a day number (negative before): a dense
/// integer key for monthly group-bys.
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(month_index(days_from_civil(1971, 2, 10)), 13);
/// assert_eq!(month_index(-1), -1);
/// ```
pub fn month_index(days: i32) -> i32 {
    let (y, m, _) = civil_from_days(days);
    (y - 1970) * 12 + m as i32 - 1
}

/// The first day of a month given by [`month_index`].
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(month_index_start(13), days_from_civil(1971, 2, 1));
/// ```
pub fn month_index_start(index: i32) -> i32 {
    let y = 1970 + index.div_euclid(12);
    let m = index.rem_euclid(12) as u32 + 1;
    days_from_civil(y, m, 1)
}

/// `YYYY-MM-DD` of a day number.
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(format_date(0), "1970-01-01");
/// ```
pub fn format_date(days: i32) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM` of a [`month_index`].
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(format_month(0), "1970-01");
/// ```
pub fn format_month(index: i32) -> String {
    format_date(month_index_start(index))[..7].to_owned()
}

/// `YYYY-MM-DDTHH:MM:SS`, with as many fraction digits as the unit has.
///
/// ```
/// # use sluice_guest::time::*;
/// assert_eq!(format_timestamp(1_500, TimeUnit::Millisecond), "1970-01-01T00:00:01.500");
/// assert_eq!(format_timestamp(-1, TimeUnit::Second), "1969-12-31T23:59:59");
/// ```
pub fn format_timestamp(value: i64, unit: TimeUnit) -> String {
    let per_second = per_day(unit) / 86_400;
    let day = day_of(value, unit);
    let in_day = value - i64::from(day) * per_day(unit);
    let (secs, fraction) = (in_day / per_second, in_day % per_second);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let date = format_date(day);
    match unit {
        TimeUnit::Second => format!("{date}T{h:02}:{m:02}:{s:02}"),
        TimeUnit::Millisecond => format!("{date}T{h:02}:{m:02}:{s:02}.{fraction:03}"),
        TimeUnit::Microsecond => format!("{date}T{h:02}:{m:02}:{s:02}.{fraction:06}"),
        TimeUnit::Nanosecond => format!("{date}T{h:02}:{m:02}:{s:02}.{fraction:09}"),
    }
}

/// A `date` column: day numbers.
///
/// ```
/// use sluice_guest::time::{DateColumn, format_date};
/// let c = DateColumn { values: &[0, 31], validity: Some(&[0b10]) };
/// assert_eq!(c.iter().map(|d| d.map(format_date)).collect::<Vec<_>>(), [None, Some("1970-02-01".into())]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct DateColumn<'a> {
    /// One day number per row.
    pub values: &'a [i32],
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
}

impl<'a> DateColumn<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The day number of row `i`, `None` if null or out of range.
    pub fn get(&self, i: usize) -> Option<i32> {
        self.values
            .get(i)
            .copied()
            .filter(|_| is_valid(self.validity, i))
    }

    /// Every row, `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<i32>> + 'a {
        let (values, validity) = (self.values, self.validity);
        (0..values.len()).map(move |i| is_valid(validity, i).then(|| values[i]))
    }
}

/// Day numbers of a `date` or `timestamp` column, as
/// [`Batch::days`](crate::Batch::days) gives them: borrowed for dates,
/// computed for timestamps.
///
/// ```
/// use sluice_guest::time::Days;
/// let d = Days { values: vec![0, 31].into(), validity: None };
/// assert_eq!(sluice_guest::kernels::months_of(&d.values), [0, 1]);
/// ```
#[derive(Debug, Clone)]
pub struct Days<'a> {
    /// One day number per row (null slots unspecified).
    pub values: std::borrow::Cow<'a, [i32]>,
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
}

/// A `timestamp` column: counts of `unit` since 1970-01-01T00:00:00 (UTC
/// when `zone` is set).
///
/// ```
/// use sluice_guest::time::{TimeUnit, TimestampColumn};
/// let c = TimestampColumn { values: &[86_400, 0], validity: None, unit: TimeUnit::Second, zone: Some("UTC") };
/// assert_eq!(c.days(), [1, 0]);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TimestampColumn<'a> {
    /// One count per row.
    pub values: &'a [i64],
    /// Validity bitmap; `None` when there are no nulls.
    pub validity: Option<&'a [u8]>,
    /// What one step of a value is.
    pub unit: TimeUnit,
    /// The zone the writer recorded; `None` for wall-clock times.
    pub zone: Option<&'a str>,
}

impl<'a> TimestampColumn<'a> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the column has no rows.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The value of row `i`, `None` if null or out of range.
    pub fn get(&self, i: usize) -> Option<i64> {
        self.values
            .get(i)
            .copied()
            .filter(|_| is_valid(self.validity, i))
    }

    /// Every row, `None` for nulls.
    pub fn iter(&self) -> impl Iterator<Item = Option<i64>> + 'a {
        let (values, validity) = (self.values, self.validity);
        (0..values.len()).map(move |i| is_valid(validity, i).then(|| values[i]))
    }

    /// The day number of every row (null slots hold an unspecified day):
    /// pair it with [`validity`](Self::validity) for kernels.
    pub fn days(&self) -> Vec<i32> {
        crate::kernels::days_of(self.values, self.unit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_over_four_centuries_and_far_dates() {
        for days in (-146_097 * 2..146_097 * 2).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(format_date(days_from_civil(9999, 12, 31)), "9999-12-31");
        assert_eq!(format_date(days_from_civil(1, 1, 1)), "0001-01-01");
    }

    #[test]
    fn nanosecond_timestamps_keep_their_fraction() {
        assert_eq!(
            format_timestamp(1_700_000_000_123_456_789, TimeUnit::Nanosecond),
            "2023-11-14T22:13:20.123456789"
        );
    }
}
