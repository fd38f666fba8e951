//! Host aggregates over date and timestamp columns: they group by value,
//! render as ISO text, count, and refuse arithmetic and bins.

use super::*;
use crate::data::ColumnType;

/// 12 rows: `d` is one of three dates, `t` one of two instants (UTC), `w`
/// one of two wall-clock timestamps, `v` the row number.
fn dated(dir: &tempfile::TempDir, d_rule: &str, extra: &str) -> Grant {
    let mut text = String::from("d,t,w,v\n");
    for i in 0..12 {
        let d = ["2024-02-29", "2024-03-01", "1969-12-31"][i % 3];
        let t = ["2024-03-01T09:30:00Z", "2024-03-01T10:00:00.250Z"][i % 2];
        let w = ["2024-03-01 09:30:00", "2024-03-01 10:00:00"][i % 2];
        text.push_str(&format!("{d},{t},{w},{i}\n"));
    }
    let path = dir.path().join("t.csv");
    std::fs::write(&path, text).unwrap();
    let policy = Policy::parse(&format!(
        "dataset = \"t\"\n[columns]\nd = {{ access = \"aggregate\", group_key = true, {d_rule} }}\n\
         t = {{ access = \"aggregate\", group_key = true }}\nw = \"raw\"\n\
         v = {{ access = \"aggregate\", bounds = [0.0, 100.0] }}\n[release]\nmin_group_size = 1\n{extra}"
    ))
    .unwrap();
    let dataset = Dataset::open("t", &path).unwrap();
    for c in ["d", "t", "w"] {
        let t = if c == "d" {
            ColumnType::Date
        } else {
            ColumnType::Timestamp
        };
        assert_eq!(dataset.column(c).unwrap().1, t, "{c}");
    }
    Grant { dataset, policy }
}

#[test]
fn dates_and_timestamps_are_group_keys_rendered_as_iso_text() {
    let dir = tempfile::tempdir().unwrap();
    let g = dated(&dir, "bins = [7.0]", "");
    let q = query(Some("v"), vec![AggregateFn::Sum], &[("d", None)]);
    let r = ask(&g, &q, &mut stores()).unwrap();
    assert_eq!(
        keys(&r),
        [
            ("1969-12-31".into(), 4),
            ("2024-02-29".into(), 4),
            ("2024-03-01".into(), 4)
        ]
    );
    assert_eq!(r.result.groups[0].values[0], Some((2 + 5 + 8 + 11) as f64));
    let q = query(None, vec![AggregateFn::Count], &[("t", None)]);
    let r = ask(&g, &q, &mut stores()).unwrap();
    assert_eq!(
        keys(&r),
        [
            ("2024-03-01T09:30:00Z".into(), 6),
            ("2024-03-01T10:00:00.250Z".into(), 6)
        ]
    );
    let q = query(None, vec![AggregateFn::Count], &[("w", None)]);
    let r = ask(&g, &q, &mut stores()).unwrap();
    assert_eq!(
        r.result.groups[1].keys[0].as_deref(),
        Some("2024-03-01T10:00:00")
    );
}

#[test]
fn dates_are_counted_never_summed_or_binned() {
    let dir = tempfile::tempdir().unwrap();
    let g = dated(&dir, "bins = [7.0]", "");
    let r = ask(
        &g,
        &query(Some("d"), vec![AggregateFn::Count], &[]),
        &mut stores(),
    )
    .unwrap();
    assert_eq!(r.result.groups[0].values[0], Some(12.0));
    for (column, holds) in [("d", "dates"), ("w", "timestamps")] {
        let e = ask(
            &g,
            &query(Some(column), vec![AggregateFn::Mean], &[]),
            &mut stores(),
        )
        .unwrap_err();
        assert_eq!(e.kind, crate::outcome::GuestErrorKind::Invalid);
        assert!(
            e.message.contains(&format!("holds {holds}")),
            "{}",
            e.message
        );
    }
    let e = ask(
        &g,
        &query(None, vec![AggregateFn::Count], &[("d", Some(7.0))]),
        &mut stores(),
    )
    .unwrap_err();
    assert!(e.message.contains("do not bin"), "{}", e.message);
}

#[test]
fn listed_public_dates_are_written_as_results_show_them() {
    let dir = tempfile::tempdir().unwrap();
    let g = dated(
        &dir,
        "keys = [\"2024-02-29\", \"2000-01-01\"]",
        "[privacy]\nepsilon_per_query = 100.0\nbudget = 1000.0\n",
    );
    let r = ask(
        &g,
        &query(None, vec![AggregateFn::Count], &[("d", None)]),
        &mut stores(),
    )
    .unwrap();
    let leap = r
        .result
        .groups
        .iter()
        .find(|g| g.keys[0].as_deref() == Some("2024-02-29"))
        .expect("a listed key is released");
    assert!(
        (3..=5).contains(&leap.count),
        "the listed text matches the rows' date (4 rows): {}",
        leap.count
    );
}
