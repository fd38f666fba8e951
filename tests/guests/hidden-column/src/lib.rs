//! `hidden-column`: tries to scan `diagnosis`, a column of `patients` the
//! policy marks `none`, and propagates the host's refusal with `?`.
//!
//! For this guest the column does not exist: the run must fail with the
//! host's `not-found` error and release nothing.

use sluice_guest::*;

/// The analytic.
pub struct HiddenColumn;

impl Analytic for HiddenColumn {
    fn run(ctx: &mut Ctx, _: &str) -> Result<Table> {
        let mut diagnoses: Vec<Option<String>> = Vec::new();
        for batch in ctx.scan("patients").column("diagnosis").open()? {
            let batch = batch?;
            let column = batch.utf8("diagnosis")?;
            diagnoses.extend(column.iter().map(|d| d.map(str::to_owned)));
        }
        Ok(Table::new().utf8("diagnosis", diagnoses))
    }
}

export!(HiddenColumn);
