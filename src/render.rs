//! Human-readable rendering of run outcomes for the terminal.

use std::fmt::Write;

use serde_json::Value;
use sluice_runtime::RunOutcome;
use sluice_runtime::output::OutputTable;

/// Rows of an output table shown in a summary.
const SHOWN_ROWS: usize = 20;

fn cell(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match n.as_f64() {
            Some(f) if n.is_f64() => format!("{f:.4}"),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// A table as aligned text, at most [`SHOWN_ROWS`] rows.
pub fn table(t: &OutputTable) -> String {
    let header: Vec<String> = t.columns.iter().map(|c| c.name.clone()).collect();
    let rows: Vec<Vec<String>> = (0..t.rows().min(SHOWN_ROWS))
        .map(|r| t.columns.iter().map(|c| cell(&c.values[r])).collect())
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].len())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = format!("  {}\n", line(&header));
    for r in &rows {
        let _ = writeln!(out, "  {}", line(r));
    }
    if t.rows() > SHOWN_ROWS {
        let _ = writeln!(out, "  … {} more rows", t.rows() - SHOWN_ROWS);
    }
    out
}

/// A run outcome as a short report.
pub fn outcome(o: &RunOutcome) -> String {
    let decision = serde_json::to_value(o.decision)
        .map(|v| cell(&v))
        .unwrap_or_default();
    let mut out = format!("decision: {decision}\n");
    if let Some(r) = &o.reason {
        let _ = writeln!(out, "reason:   {r} [{}]", r.code());
    }
    let _ = writeln!(out, "module:   sha256:{}", o.module_hash);
    if let Some(b) = &o.buyer {
        let _ = writeln!(out, "signer:   {b}");
    }
    for s in &o.data_snapshots {
        let _ = writeln!(
            out,
            "dataset:  {} (snapshot {}…, policy v{} {}…, tier {})",
            s.dataset,
            &s.snapshot[..12],
            s.policy_version,
            &s.policy_hash[..12],
            s.tier.map_or("none", |t| match t {
                sluice_runtime::grant::Tier::Approved => "approved",
                sluice_runtime::grant::Tier::TrustedSigner => "trusted-signer",
            })
        );
    }
    let u = &o.usage;
    let _ = writeln!(
        out,
        "usage:    {}fuel {} of {} · memory {:.1} MiB · {} ms · {} rows / {} bytes fed · {} aggregate queries{}",
        if u.rounded { "(rounded up) " } else { "" },
        u.fuel_consumed,
        u.fuel_limit,
        u.memory_peak_bytes as f64 / (1 << 20) as f64,
        u.wall_ms,
        u.rows_fed,
        u.bytes_fed,
        u.aggregate_queries,
        u.output_bytes
            .map(|b| format!(" · output {b} bytes"))
            .unwrap_or_default()
    );
    if u.epsilon_spent > 0.0 {
        let _ = writeln!(
            out,
            "privacy:  epsilon {} charged to the buyer's budget",
            u.epsilon_spent
        );
    }
    if let Some(t) = &o.output {
        let _ = writeln!(out, "output ({} rows):", t.rows());
        out.push_str(&table(t));
    }
    out
}
