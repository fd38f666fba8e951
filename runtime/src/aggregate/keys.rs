//! Group keys: one part per key column, ordered, hashed and rendered the
//! same way whoever wrote the file.
//!
//! Dates and timestamps group by their value (days; microseconds, finer
//! units truncated) and read in results as ISO 8601 text: `2024-03-01`,
//! `2024-03-01T09:30:00` for a timestamp without a zone, and the UTC
//! instant with a `Z` for one with a zone, so that a key set the owner
//! lists in the policy is written the way results show it.

use crate::data::ColumnType;

/// One part of a group key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum KeyPart {
    Null,
    Bool(bool),
    Int(i64),
    /// A float, as its bits mapped to an integer ordered like the floats.
    Float(i64),
    Bin(i64),
    /// A date, as days since 1970-01-01.
    Date(i32),
    /// A timestamp without a zone, as microseconds since 1970-01-01T00:00.
    Time(i64),
    /// A timestamp with a zone, as microseconds since the UTC epoch.
    Instant(i64),
    Str(String),
}

/// `v`'s bits as an integer that orders like `f64::total_cmp`.
pub(super) fn float_key(v: f64) -> i64 {
    let bits = v.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

fn float_of(key: i64) -> f64 {
    f64::from_bits((key ^ ((((key >> 63) as u64) >> 1) as i64)) as u64)
}

/// How a key part reads in a result: bins by their lower edge.
pub(super) fn render(k: &KeyPart, bin: Option<(f64, f64)>) -> Option<String> {
    match k {
        KeyPart::Null => None,
        KeyPart::Bool(b) => Some(b.to_string()),
        KeyPart::Int(i) => Some(i.to_string()),
        KeyPart::Float(f) => Some(float_of(*f).to_string()),
        KeyPart::Bin(b) => {
            let (w, origin) = bin.unwrap_or((1.0, 0.0));
            Some(format!("{}", origin + *b as f64 * w))
        }
        KeyPart::Date(d) => Some(date(i64::from(*d))),
        KeyPart::Time(us) => Some(timestamp(*us)),
        KeyPart::Instant(us) => Some(timestamp(*us) + "Z"),
        KeyPart::Str(s) => Some(s.clone()),
    }
}

/// A key the policy lists, as the key part a column of type `t` makes
/// (text that is no such value stays text and matches no row).
pub(super) fn parse(t: ColumnType, s: &str) -> KeyPart {
    use crate::data::csv::{parse_date, parse_timestamp};
    let text = || KeyPart::Str(s.into());
    match t {
        ColumnType::Int64 => s.parse().map_or_else(|_| text(), KeyPart::Int),
        ColumnType::Boolean => s.parse().map_or_else(|_| text(), KeyPart::Bool),
        ColumnType::Float64 => s
            .parse::<f64>()
            .map_or_else(|_| text(), |f| KeyPart::Float(float_key(f))),
        ColumnType::Date => parse_date(s).map_or_else(text, KeyPart::Date),
        ColumnType::Timestamp => match parse_timestamp(s) {
            Some((us, true)) => KeyPart::Instant(us),
            Some((us, false)) => KeyPart::Time(us),
            None => text(),
        },
        ColumnType::Utf8 => text(),
    }
}

/// `YYYY-MM-DD` of `days` since 1970-01-01 (proleptic Gregorian).
fn date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

/// `YYYY-MM-DDTHH:MM:SS[.fff[fff]]` of `micros` since 1970-01-01T00:00.
fn timestamp(micros: i64) -> String {
    const DAY: i64 = 86_400_000_000;
    let (days, of_day) = (micros.div_euclid(DAY), micros.rem_euclid(DAY));
    let seconds = of_day / 1_000_000;
    let fraction = of_day % 1_000_000;
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    let fraction = match fraction {
        0 => String::new(),
        f if f % 1000 == 0 => format!(".{:03}", f / 1000),
        f => format!(".{f:06}"),
    };
    format!("{}T{h:02}:{m:02}:{s:02}{fraction}", date(days))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_timestamps_render_as_iso_text_and_parse_back() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(-1), "1969-12-31");
        assert_eq!(date(19_782), "2024-02-29");
        assert_eq!(date(2_932_896), "9999-12-31");
        assert_eq!(timestamp(0), "1970-01-01T00:00:00");
        assert_eq!(timestamp(-1), "1969-12-31T23:59:59.999999");
        assert_eq!(timestamp(1_500_000), "1970-01-01T00:00:01.500");
        for (t, part) in [
            (ColumnType::Date, KeyPart::Date(19_782)),
            (ColumnType::Timestamp, KeyPart::Time(86_401_500_000)),
            (ColumnType::Timestamp, KeyPart::Instant(-1)),
        ] {
            let text = render(&part, None).unwrap();
            assert_eq!(parse(t, &text), part, "{text}");
        }
        assert_eq!(
            parse(ColumnType::Date, "March"),
            KeyPart::Str("March".into())
        );
    }
}
