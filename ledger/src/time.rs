//! Event timestamps: RFC 3339 UTC with millisecond precision and `Z`
//! (`2026-11-26T15:56:00.000Z`), the one form the ledger stores.
//!
//! What this guards against: time ranges that compare wrongly. Because every
//! stored time has exactly this fixed-width form, billing periods compare
//! timestamps as text and get the same answer as comparing instants.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current time in the ledger's timestamp form.
pub fn now() -> String {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    format_millis(since.as_millis() as i64)
}

/// Formats milliseconds since the Unix epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn format_millis(millis: i64) -> String {
    let (days, ms_of_day) = (millis.div_euclid(86_400_000), millis.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (min, rest) = (rest / 60_000, rest % 60_000);
    let (s, ms) = (rest / 1000, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
}

/// Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Checks that `t` has the exact form `YYYY-MM-DDTHH:MM:SS.mmmZ` with fields in range.
pub(crate) fn check_timestamp(t: &str) -> Result<(), String> {
    let b = t.as_bytes();
    let shape_ok = b.len() == 24
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'.',
            23 => *c == b'Z',
            _ => c.is_ascii_digit(),
        });
    let num = |r: std::ops::Range<usize>| t[r].parse::<u32>().unwrap_or(u32::MAX);
    if !shape_ok
        || !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
        || num(17..19) > 60
    {
        return Err(format!(
            "time {t:?} is not RFC 3339 UTC with milliseconds; write it as 2026-11-26T15:56:00.000Z"
        ));
    }
    Ok(())
}

/// Turns a period bound (`YYYY-MM-DD` or a full timestamp) into a full timestamp.
pub(crate) fn normalise_bound(t: &str) -> Result<String, String> {
    let full = if t.len() == 10 {
        format!("{t}T00:00:00.000Z")
    } else {
        t.to_string()
    };
    check_timestamp(&full).map(|()| full)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_millis(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_millis(1_795_708_560_123), "2026-11-26T15:56:00.123Z");
        assert_eq!(format_millis(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert!(check_timestamp(&now()).is_ok());
    }

    #[test]
    fn refuses_other_forms() {
        for bad in [
            "2026-11-26T15:56:00Z",
            "2026-11-26 15:56:00.000Z",
            "2026-13-26T15:56:00.000Z",
            "2026-11-26T15:56:00.000+01:00",
        ] {
            assert!(check_timestamp(bad).is_err(), "{bad}");
        }
        assert_eq!(
            normalise_bound("2026-11-01").unwrap(),
            "2026-11-01T00:00:00.000Z"
        );
    }
}
