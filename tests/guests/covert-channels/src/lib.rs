//! `covert-channels`: an approved module that reads one raw value of
//! `patients` (the age in row `n`, from params `MODE n`) and tries to
//! encode it in what a run that is *not* released still reports.
//!
//! Modes:
//!
//! - `withheld`: returns a table of every age (more rows than the policy
//!   releases), hoping the output's hash or size is reported;
//! - `log`: writes `age` bytes to stdout, then gives up (log size);
//! - `fuel`: burns fuel proportional to the age, then gives up;
//! - `memory`: grows its memory by `age` MiB, then gives up;
//! - `rows`: scans with batches of `age` rows, reads one, then gives up.
//!
//! The run's reported figures must be rounded (power-of-two buckets), its
//! output hash and size and its log size absent.

use std::hint::black_box;
use std::io::Write;

use sluice_guest::*;

/// The analytic.
pub struct CovertChannels;

fn ages(ctx: &mut Ctx) -> Result<Vec<i64>> {
    let mut ages = Vec::new();
    for batch in ctx.scan("patients").column("age").open()? {
        ages.extend(batch?.i64("age")?.iter().map(|a| a.unwrap_or(0)));
    }
    Ok(ages)
}

impl Analytic for CovertChannels {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let (mode, row) = params
            .trim()
            .split_once(' ')
            .unwrap_or((params.trim(), "0"));
        let row: usize = row
            .parse()
            .map_err(|_| Error::invalid("params: MODE ROW"))?;
        let ages = ages(ctx)?;
        let age = ages.get(row).copied().unwrap_or(0).max(1) as u64;
        match mode {
            "withheld" => return Ok(Table::new().i64("age", ages.iter().map(|a| Some(*a)))),
            "log" => {
                let mut out = std::io::stdout();
                let _ = out.write_all(&vec![b'x'; age as usize]);
                let _ = out.flush();
            }
            "fuel" => {
                let mut x = 0u64;
                for i in 0..age * 1_000_000 {
                    x = black_box(x.wrapping_mul(31).wrapping_add(i));
                }
                black_box(x);
            }
            "memory" => {
                let block = vec![1u8; (age as usize) << 20];
                black_box(&block);
            }
            "rows" => {
                let mut scan = ctx
                    .scan("patients")
                    .column("age")
                    .batch_rows(age as u32)
                    .open()?;
                black_box(scan.next_batch()?);
            }
            _ => return Err(Error::invalid("unknown mode")),
        }
        Err(Error::invalid("gave up on purpose"))
    }
}

export!(CovertChannels);
