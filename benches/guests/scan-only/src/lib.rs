//! `bench-scan-only`: the feeding half of `mean-by-group`, without the maths.
//!
//! Scans `region` (as dictionary codes) and `amount` of the `sales` dataset
//! in the same batches as the `mean-by-group` example and looks the same
//! columns up, but computes nothing: it returns how many rows and batches
//! it saw. The comparison harness subtracts its time from `mean-by-group`'s
//! to tell the cost of feeding the guest (host decode, copy into guest
//! memory, SDK checks) from the cost of the kernel.

use sluice_guest::*;

/// The analytic.
pub struct ScanOnly;

impl Analytic for ScanOnly {
    fn run(ctx: &mut Ctx, _params: &str) -> Result<Table> {
        let mut scan = ctx
            .scan("sales")
            .dictionary("region")
            .column("amount")
            .batch_rows(65_536)
            .open()?;
        let (mut rows, mut batches) = (0i64, 0i64);
        while let Some(batch) = scan.next_batch()? {
            let key = batch.dict("region")?;
            let value = batch.numeric("amount")?;
            std::hint::black_box((key.codes, key.validity, value.values(), value.validity));
            rows += batch.rows() as i64;
            batches += 1;
        }
        Ok(Table::new().i64("rows", [rows]).i64("batches", [batches]))
    }
}

export!(ScanOnly);
