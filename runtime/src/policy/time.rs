//! Times in policies: TOML datetimes to Unix seconds and back, without a
//! calendar dependency.

use toml::value::Datetime;

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds of a TOML date or date-time (local date-times count as UTC).
pub(super) fn unix_seconds(dt: &Datetime) -> Result<i64, String> {
    let date = dt.date.ok_or("a time without a date is not an instant")?;
    let mut secs = days_from_civil(
        i64::from(date.year),
        u32::from(date.month),
        u32::from(date.day),
    ) * 86_400;
    if let Some(t) = dt.time {
        secs += i64::from(t.hour) * 3600 + i64::from(t.minute) * 60 + i64::from(t.second);
    }
    if let Some(toml::value::Offset::Custom { minutes }) = dt.offset {
        secs -= i64::from(minutes) * 60;
    }
    Ok(secs)
}

/// RFC 3339 (UTC) text of Unix seconds.
pub fn format_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The current Unix time in seconds.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_known_instants() {
        let dt: Datetime = "2027-03-01T12:30:05Z".parse().unwrap();
        let s = unix_seconds(&dt).unwrap();
        assert_eq!(s, 1_803_904_205);
        assert_eq!(format_rfc3339(s), "2027-03-01T12:30:05Z");
        let d: Datetime = "2000-01-01".parse().unwrap();
        assert_eq!(unix_seconds(&d).unwrap(), 946_684_800);
        let off: Datetime = "2000-01-01T02:00:00+02:00".parse().unwrap();
        assert_eq!(unix_seconds(&off).unwrap(), 946_684_800);
    }
}
