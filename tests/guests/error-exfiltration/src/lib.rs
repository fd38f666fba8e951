//! `error-exfiltration`: an approved module that reads raw values of
//! `patients` and tries to carry them out in text instead of a table.
//!
//! Params select the route:
//!
//! - `guest-text`: returns `Err(Error::invalid(<40 bmi values>))`;
//! - `echo-column`: asks the host to scan a column *named* by the values,
//!   and returns the host's refusal (whose message echoes the name);
//! - `echo-dataset`: the same through an aggregate over a dataset so named;
//! - `stdout`: prints the values to stdout and stderr, then gives up.
//!
//! The run must end `aborted` and no value may appear in what the buyer
//! sees: the reason names only the error's kind (or the host's own public
//! text), and stdout/stderr stay in the operator's log.

use sluice_guest::*;

/// The analytic.
pub struct ErrorExfiltration;

fn secret(ctx: &mut Ctx) -> Result<String> {
    let mut values = Vec::new();
    for batch in ctx.scan("patients").column("bmi").open()? {
        let batch = batch?;
        let bmi = batch.f64("bmi")?;
        values.extend(bmi.iter().flatten().take(40 - values.len()));
        if values.len() >= 40 {
            break;
        }
    }
    Ok(values
        .iter()
        .map(|v| format!("{v:.1}"))
        .collect::<Vec<_>>()
        .join(","))
}

impl Analytic for ErrorExfiltration {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let secret = secret(ctx)?;
        match params.trim() {
            "echo-column" => {
                ctx.scan("patients").column(&secret).open()?;
                Err(Error::other("the host accepted a column named by data"))
            }
            "echo-dataset" => {
                ctx.aggregate(&secret).count().run()?;
                Err(Error::other("the host accepted a dataset named by data"))
            }
            "stdout" => {
                println!("{secret}");
                eprintln!("{secret}");
                Err(Error::invalid("see the log"))
            }
            _ => Err(Error::invalid(secret)),
        }
    }
}

export!(ErrorExfiltration);
