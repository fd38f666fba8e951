//! `data-error`: scans the columns named in params (`DATASET col,col`) to
//! the end and propagates any error the host returns with `?`.
//!
//! Over a file whose cells do not parse as their declared type, the host's
//! error (which the buyer may read) must name the line, column and
//! expected type, and never a cell value or a row. Output: `rows` read.

use sluice_guest::*;

/// The analytic.
pub struct DataError;

impl Analytic for DataError {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let (dataset, columns) = params
            .trim()
            .split_once(' ')
            .ok_or_else(|| Error::invalid("params: DATASET col,col"))?;
        let columns: Vec<&str> = columns.split(',').collect();
        let mut rows = 0i64;
        for batch in ctx.scan(dataset).columns(&columns).open()? {
            rows += batch?.rows() as i64;
        }
        Ok(Table::new().i64("rows", [Some(rows)]))
    }
}

export!(DataError);
