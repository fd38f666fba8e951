//! `quantile-flood`: asks for the given number of quantiles (200,000 when no
//! parameters are given) of `amount` over all of `sales`, sixteen per host
//! aggregate (the most one query may ask for), in as many queries as that
//! takes (at most the run's 1,000); returns the number of queries answered
//! (column `queries`).
//!
//! Cheap guest calls, a great deal of host work: every query sorts the whole
//! column and every quantile passes over it. Unmetered, one such flood ran
//! 15 s in the host under a 1 s wall cap and was charged only the guest's
//! few instructions. The host must charge the work as fuel (stopping it when
//! fuel runs out) and stop it at the run's deadline, inside a query.

use sluice_guest::*;

/// The analytic.
pub struct QuantileFlood;

/// Functions one host aggregate may ask for.
const PER_QUERY: usize = 16;

impl Analytic for QuantileFlood {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let n: usize = params.trim().parse().unwrap_or(200_000);
        let mut answered = 0i64;
        for start in (0..n).step_by(PER_QUERY) {
            let mut query = ctx.aggregate("sales").column("amount");
            for i in start..(start + PER_QUERY).min(n) {
                query = query.quantile((i % 1000) as f64 / 1000.0);
            }
            query.run()?;
            answered += 1;
            if answered == 1_000 {
                break;
            }
        }
        Ok(Table::new().i64("queries", [Some(answered)]))
    }
}

export!(QuantileFlood);
