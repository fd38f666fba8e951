//! `giant-output`: returns a table far larger than any sane output cap.
//!
//! Two million rows of one 29-byte string (about 58 MB of text, about
//! 140 MiB of guest memory in all) fit in a 256 MiB memory cap, and
//! cloning one string keeps the fuel spent under a billion, so the run
//! itself succeeds and it is the host's release rules (row and byte caps)
//! that must withhold the table.

use sluice_guest::*;

/// The analytic.
pub struct GiantOutput;

/// Rows in the returned table.
pub const ROWS: usize = 2_000_000;

/// The value of every row (29 bytes).
pub const LINE: &str = "giant-output row 000000000000";

impl Analytic for GiantOutput {
    fn run(_: &mut Ctx, _: &str) -> Result<Table> {
        let line = LINE.to_owned();
        Ok(Table::new().utf8("line", (0..ROWS).map(|_| line.clone())))
    }
}

export!(GiantOutput);
