//! What a data location holds, as `sluice policy check --data` prints it
//! (and `sluice dataset inspect` can): per column the type Sluice reads it
//! as, its nulls, what the policy lets guests do with it, and the value
//! that kept a CSV column from a narrower type.

use std::fmt::Write;
use std::path::Path;

use anyhow::anyhow;
use sluice_runtime::data::{Inspection, OpenOptions, inspect};
use sluice_runtime::policy::Access;
use sluice_runtime::{Dataset, Policy};

use super::Failure;

/// Inspects `path` under `policy` (its `[csv]` dialect and declared types)
/// and lists the problems that would stop a run: columns the policy names
/// that the data lacks, visible columns Sluice cannot feed, declarations
/// the data contradicts.
pub(super) fn check(path: &Path, policy: &Policy) -> Result<(Inspection, Vec<String>), Failure> {
    let options = OpenOptions {
        csv: policy.csv.clone(),
        memo: None,
    };
    let inspection =
        inspect(path, &options).map_err(|e| Failure::usage(anyhow!("{}: {e}", path.display())))?;
    let mut problems = Vec::new();
    for name in policy.columns.keys() {
        if !inspection.columns.iter().any(|c| &c.name == name) {
            problems.push(format!(
                "the policy names column `{name}`, which the data does not have"
            ));
        }
    }
    if let Err(e) = Dataset::open_for(&policy.dataset, path, policy, None) {
        problems.push(e.to_string());
    }
    Ok((inspection, problems))
}

/// The report as text.
pub(super) fn render(inspection: &Inspection, policy: Option<&Policy>) -> String {
    let mut out = format!(
        "{} ({:?}, {} file{}, {} rows, snapshot {})\n",
        inspection.path,
        inspection.format,
        inspection.files.len(),
        if inspection.files.len() == 1 { "" } else { "s" },
        inspection.rows,
        inspection.snapshot
    );
    for c in &inspection.columns {
        let ty = c
            .column_type
            .map_or("unsupported".to_string(), |t| t.to_string());
        let nulls = c.nulls.map_or("?".into(), |n| n.to_string());
        let access = policy.map(|p| match p.rule(&c.name).access {
            Access::Raw => "raw",
            Access::Aggregate => "aggregate",
            Access::None => "none",
        });
        let _ = write!(
            out,
            "  {:<24} {:<10} nulls {:<8} stored {}",
            c.name, ty, nulls, c.stored
        );
        if c.partition {
            out.push_str(" (partition folder)");
        }
        if let Some(a) = access {
            let _ = write!(out, " · policy: {a}");
        }
        out.push('\n');
        if let Some(r) = &c.rejected {
            let _ = writeln!(
                out,
                "      not {}: {:?} at row {} of {}",
                r.not, r.value, r.row, r.file
            );
        }
    }
    out
}
