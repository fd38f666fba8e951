//! `tiny-batches`: scans `region` and `product` of `sales` (both
//! dictionary-encoded) in batches of the number of rows its parameters give
//! (1 when none are given); returns the rows it saw (column `rows`).
//!
//! Each batch is a host call that decodes, re-maps dictionaries and encodes;
//! one-row batches multiply that work by the row count while the guest does
//! almost nothing. The host must charge every batch and every dictionary
//! entry it re-maps.

use sluice_guest::*;

/// The analytic.
pub struct TinyBatches;

impl Analytic for TinyBatches {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let batch: u32 = params.trim().parse().unwrap_or(1);
        let mut scan = ctx
            .scan("sales")
            .columns(&["region", "product"])
            .batch_rows(batch)
            .open()?;
        let mut rows = 0i64;
        while let Some(b) = scan.next_batch()? {
            rows += b.rows() as i64;
        }
        Ok(Table::new().i64("rows", [Some(rows)]))
    }
}

export!(TinyBatches);
