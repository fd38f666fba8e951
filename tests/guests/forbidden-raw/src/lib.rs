//! `forbidden-raw`: tries to scan `income`, an aggregate-only column of
//! `patients`, as raw values, and propagates the host's refusal with `?`.
//!
//! The run must fail with the host's `not-permitted` error and release
//! nothing; if the scan were ever allowed, the guest returns the values.

use sluice_guest::*;

/// The analytic.
pub struct ForbiddenRaw;

impl Analytic for ForbiddenRaw {
    fn run(ctx: &mut Ctx, _: &str) -> Result<Table> {
        let mut incomes = Vec::new();
        for batch in ctx.scan("patients").column("income").open()? {
            incomes.extend(batch?.numeric("income")?.values.iter().copied());
        }
        Ok(Table::new().f64("income", incomes))
    }
}

export!(ForbiddenRaw);
