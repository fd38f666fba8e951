//! Parsing one CSV field as each Sluice type, shared by inference and by
//! the reader so that what inference accepts is exactly what reads.
//!
//! Defends against a file whose types depend on the reader's mood: every
//! parser here is strict (no trimming, no locale), `true`/`false` in any
//! case are the only booleans, and a timestamp either carries a UTC offset
//! or does not — a column mixing both is not a timestamp column.

use arrow_array::types::{Date32Type, Float64Type};
use arrow_cast::parse::{Parser, string_to_datetime};
use chrono::Utc;

/// A boolean: `true` or `false` in any case.
pub(crate) fn boolean(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// A decimal integer with an optional sign.
pub(crate) fn int64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A float: decimal or scientific notation, `NaN`, and infinities as
/// `inf`, `Inf` or `Infinity` with an optional sign (R writes `Inf`).
pub(crate) fn float64(s: &str) -> Option<f64> {
    let first = *s.as_bytes().first()?;
    if first.is_ascii_whitespace() || s.as_bytes().last()?.is_ascii_whitespace() {
        return None;
    }
    if let Some(v) = Float64Type::parse(s) {
        return Some(v);
    }
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => (-1.0, r),
        None => (1.0, s.strip_prefix('+').unwrap_or(s)),
    };
    (rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity"))
        .then_some(sign * f64::INFINITY)
}

/// A calendar date `YYYY-MM-DD`, as days since 1970-01-01.
pub(crate) fn date(s: &str) -> Option<i32> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    Date32Type::parse(s)
}

/// A timestamp (`YYYY-MM-DD( |T)HH:MM:SS[.fff][Z|±HH[:MM]]`, or a bare
/// date meaning midnight), as microseconds since 1970-01-01T00:00:00 and
/// whether it carried a UTC offset (then the value is UTC).
pub(crate) fn timestamp(s: &str) -> Option<(i64, bool)> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' || b.last()?.is_ascii_whitespace() {
        return None;
    }
    let zoned = b[10..]
        .iter()
        .any(|c| matches!(c, b'+' | b'-' | b'Z' | b'z'));
    let t = string_to_datetime(&Utc, s).ok()?;
    Some((t.timestamp_micros(), zoned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_strict() {
        assert_eq!(int64("007"), Some(7));
        assert_eq!(int64("-12"), Some(-12));
        for bad in [
            "",
            " 1",
            "1 ",
            "1.0",
            "1e3",
            "-",
            "12a",
            "99999999999999999999",
        ] {
            assert_eq!(int64(bad), None, "{bad:?}");
        }
        assert_eq!(float64("1.5e3"), Some(1500.0));
        assert_eq!(float64("Inf"), Some(f64::INFINITY));
        assert_eq!(float64("-Inf"), Some(f64::NEG_INFINITY));
        assert!(float64("NaN").is_some_and(f64::is_nan));
        for bad in ["", " 1", "1,5", "abc", "NA"] {
            assert_eq!(float64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn booleans_are_true_or_false_in_any_case() {
        assert_eq!(boolean("TRUE"), Some(true));
        assert_eq!(boolean("False"), Some(false));
        for bad in ["T", "1", "yes", ""] {
            assert_eq!(boolean(bad), None);
        }
    }

    #[test]
    fn dates_and_timestamps() {
        assert_eq!(date("1970-01-02"), Some(1));
        assert_eq!(date("1969-12-31"), Some(-1));
        assert_eq!(date("2024-02-30"), None);
        assert_eq!(date("2024-1-1"), None);
        assert_eq!(timestamp("1970-01-01 00:00:01"), Some((1_000_000, false)));
        assert_eq!(timestamp("1970-01-01T01:00:00+01:00"), Some((0, true)));
        assert_eq!(timestamp("1970-01-01T00:00:00.5Z"), Some((500_000, true)));
        assert_eq!(timestamp("1970-01-02"), Some((86_400_000_000, false)));
        assert_eq!(
            timestamp("9999-12-31 23:59:59"),
            Some((253_402_300_799_000_000, false)),
            "sentinel dates stay in range"
        );
        assert_eq!(timestamp("yesterday"), None);
    }
}
