//! `giant-output`: returns a table far larger than any sane output cap.
//!
//! Two million rows of a 29-byte string (about 58 MB of text) fit easily
//! in a 512 MiB memory cap, so the run itself succeeds and it is the
//! host's release rules (row and byte caps) that must withhold it.

use sluice_guest::*;

/// The analytic.
pub struct GiantOutput;

/// Rows in the returned table.
pub const ROWS: usize = 2_000_000;

impl Analytic for GiantOutput {
    fn run(_: &mut Ctx, _: &str) -> Result<Table> {
        let lines = (0..ROWS).map(|i| format!("giant-output row {i:012}"));
        Ok(Table::new().utf8("line", lines))
    }
}

export!(GiantOutput);
