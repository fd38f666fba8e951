//! `linear-regression`: ordinary least squares over raw numeric columns.
//!
//! Predicts `systolic_bp` from `age` and `bmi` in the `patients` dataset
//! (names configurable). It scans the raw columns once in batches, skips
//! rows with a null in any of them, and accumulates shifted sums and cross
//! products with the SDK kernels `sum` and `dot`; the fit then solves the
//! centred normal equations (see [`solve`]).
//!
//! Params (optional JSON, every field optional):
//! `{"dataset": "patients", "y": "systolic_bp", "x": ["age", "bmi"]}`.
//! Columns may be int64 or float64.
//!
//! Output, one row per coefficient (`intercept` first, then one per
//! predictor in `x` order): `term` (utf8), `coefficient` (float64), and two
//! fit-wide figures repeated on every row so that each column keeps one
//! type: `n` (int64, complete rows used) and `r_squared` (float64, null if
//! the response is constant).

use serde_json::Value;
use sluice_guest::*;

pub mod solve;

use solve::Moments;

/// The analytic.
pub struct LinearRegression;

/// Which dataset and columns to fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Params {
    /// Dataset to scan.
    pub dataset: String,
    /// Response column.
    pub y: String,
    /// Predictor columns.
    pub x: Vec<String>,
}

impl Params {
    /// Parses the run's params; empty text means all defaults.
    pub fn parse(text: &str) -> Result<Params> {
        let json: Value = match text.trim() {
            "" => Value::Null,
            t => serde_json::from_str(t).map_err(|e| Error::invalid(format!("params: {e}")))?,
        };
        if !(json.is_null() || json.is_object()) {
            return Err(Error::invalid("params must be a JSON object"));
        }
        let text = |name: &str, default: &str| match json.get(name) {
            None => Ok(default.to_owned()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(_) => Err(Error::invalid(format!("params: `{name}` must be a string"))),
        };
        let x = match json.get("x") {
            None => vec!["age".to_owned(), "bmi".to_owned()],
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| Error::invalid("params: `x` must list column names"))?,
            Some(_) => {
                return Err(Error::invalid(
                    "params: `x` must be a non-empty list of column names",
                ));
            }
        };
        Ok(Params {
            dataset: text("dataset", "patients")?,
            y: text("y", "systolic_bp")?,
            x,
        })
    }
}

impl Analytic for LinearRegression {
    fn run(ctx: &mut Ctx, params: &str) -> Result<Table> {
        let p = Params::parse(params)?;
        let names: Vec<&str> = p.x.iter().chain([&p.y]).map(String::as_str).collect();
        let k = names.len();
        let mut m = Moments::new(k);
        for batch in ctx
            .scan(&p.dataset)
            .columns(&names)
            .batch_rows(65_536)
            .open()?
        {
            let batch = batch?;
            let cols = names
                .iter()
                .map(|n| batch.numeric(n))
                .collect::<Result<Vec<_>>>()?;
            let rows = batch.rows();
            let complete = cols.iter().fold(None, |acc: Option<Vec<u8>>, c| {
                kernels::bitmap_and(acc.as_deref(), c.validity, rows)
            });
            let valid = complete.as_deref();
            let used = kernels::count_valid(rows, valid);
            if used == 0 {
                continue;
            }
            if m.shift.is_empty() {
                m.shift = cols
                    .iter()
                    .map(|c| kernels::mean(c.values(), valid).unwrap_or(0.0))
                    .collect();
            }
            let z: Vec<Vec<f64>> = cols
                .iter()
                .zip(&m.shift)
                .map(|(c, s)| c.values().iter().map(|v| v - s).collect())
                .collect();
            m.n += used as u64;
            for j in 0..k {
                m.sums[j] += kernels::sum(&z[j], valid);
                for l in j..k {
                    let d = kernels::dot(&z[j], &z[l], valid);
                    m.cross[j][l] += d;
                    if l != j {
                        m.cross[l][j] += d;
                    }
                }
            }
        }
        let fit = m.fit().map_err(Error::Other)?;
        let terms = ["intercept"]
            .into_iter()
            .chain(p.x.iter().map(String::as_str));
        let n = i64::try_from(m.n).unwrap_or(i64::MAX);
        Ok(Table::new()
            .utf8("term", terms)
            .f64("coefficient", &fit.coefficients)
            .i64("n", fit.coefficients.iter().map(|_| n))
            .f64("r_squared", fit.coefficients.iter().map(|_| fit.r_squared)))
    }
}

export!(LinearRegression);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_default_and_override() {
        let d = Params::parse(" ").unwrap();
        assert_eq!(
            (d.y.as_str(), d.x.clone()),
            ("systolic_bp", vec!["age".to_string(), "bmi".to_string()])
        );
        let p = Params::parse(r#"{"x":["weight"],"y":"chol"}"#).unwrap();
        assert_eq!(
            (p.dataset.as_str(), p.y.as_str(), p.x.len()),
            ("patients", "chol", 1)
        );
        assert!(Params::parse(r#"{"x":[]}"#).is_err());
        assert!(Params::parse(r#"{"x":[1]}"#).is_err());
    }
}
