//! `patients.csv`: one row per patient, written row by row.

use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Weighted, round_to, std_normal};

/// Writes `rows` patients to `path` as CSV.
pub(super) fn write(path: &Path, rows: usize, seed: u64) -> Result<()> {
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut g = PatientGen::new(seed);
    writeln!(
        out,
        "patient_id,age,sex,zip,region,bmi,systolic_bp,cholesterol,smoker,income,diagnosis"
    )?;
    for i in 0..rows {
        g.write_row(&mut out, i)?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

const PATIENT_REGIONS: [&str; 6] = ["north", "south", "east", "west", "central", "coast"];
/// Region by the zip's leading digit (1..=9).
const ZIP_REGION: [usize; 9] = [0, 0, 1, 2, 2, 3, 4, 4, 5];
const ZIPS: u32 = 3_000;
/// ICD-10 codes with their relative frequency in a primary-care population.
pub(super) const DIAGNOSES: [(&str, f64); 12] = [
    ("I10", 18.0),
    ("Z00.00", 14.0),
    ("E11.9", 11.0),
    ("E78.5", 10.0),
    ("J06.9", 9.0),
    ("M54.5", 8.0),
    ("F32.9", 7.0),
    ("K21.9", 6.0),
    ("J45.909", 5.0),
    ("E66.9", 5.0),
    ("I25.10", 4.0),
    ("N39.0", 3.0),
];

/// Row-by-row patients generator.
struct PatientGen {
    rng: StdRng,
    ages: Weighted,
    mean_age: f64,
    /// Distinct 5-digit codes, most popular first.
    zips: Vec<u32>,
    zip: Weighted,
    diagnosis: Weighted,
}

impl PatientGen {
    fn new(seed: u64) -> Self {
        let mut rng = StdRng::seed_from_u64(seed ^ 0x9A71_E275_9A71_E275);
        // Adults 18..=95, more of them around 60 (who sees a doctor most).
        let weight = |a: f64| 0.35 + (-0.5 * ((a - 62.0) / 16.0).powi(2)).exp();
        let total: f64 = (18..=95).map(|a| weight(a as f64)).sum();
        let mean_age = (18..=95).map(|a| a as f64 * weight(a as f64)).sum::<f64>() / total;
        // 29_989 is coprime with 90_000: distinct codes in 10000..=99999 scattered over all regions.
        let offset = rng.random_range(0..90_000u32);
        let zips = (0..ZIPS)
            .map(|k| 10_000 + (k * 29_989 + offset) % 90_000)
            .collect();
        Self {
            rng,
            ages: Weighted::new((18..=95).map(|a| weight(a as f64))),
            mean_age,
            zips,
            zip: Weighted::zipf(ZIPS as usize, 1.0),
            diagnosis: Weighted::new(DIAGNOSES.iter().map(|d| d.1)),
        }
    }

    fn write_row(&mut self, out: &mut impl Write, i: usize) -> Result<()> {
        let rng = &mut self.rng;
        let age_value = self.ages.sample(rng) as i64 + 18;
        let age = (!rng.random_bool(0.01)).then_some(age_value);
        let sex = if rng.random_bool(0.51) { "F" } else { "M" };
        let zip = self.zips[self.zip.sample(rng)];
        let region = PATIENT_REGIONS[ZIP_REGION[(zip / 10_000 - 1) as usize]];
        let bmi_value = round_to((27.0 + 5.0 * std_normal(rng)).clamp(15.0, 55.0), 1);
        let bmi = (!rng.random_bool(0.03)).then_some(bmi_value);
        let systolic = 90.0
            + 0.45 * age.map_or(self.mean_age, |a| a as f64)
            + 0.9 * bmi.unwrap_or(27.0)
            + 8.0 * std_normal(rng);
        let cholesterol_value = (200.0 + 35.0 * std_normal(rng)).clamp(90.0, 420.0);
        let cholesterol = (!rng.random_bool(0.02)).then_some(cholesterol_value);
        let smoker = rng.random_bool(0.17);
        let income_value =
            ((48_000f64.ln() + 0.55 * std_normal(rng)).exp() / 100.0).round() * 100.0;
        let income = (!rng.random_bool(0.04)).then_some(income_value);
        let diagnosis = match rng.random::<f64>() {
            u if systolic >= 150.0 && u < 0.5 => "I10",
            u if bmi_value >= 35.0 && u < 0.3 => "E66.9",
            _ => DIAGNOSES[self.diagnosis.sample(rng)].0,
        };
        writeln!(
            out,
            "{},{},{sex},{zip},{},{:.1},{systolic:.1},{:.1},{smoker},{:.1},{}",
            500_001 + i,
            Cell(age),
            csv_str(region),
            Cell(bmi),
            Cell(cholesterol),
            Cell(income),
            csv_str(diagnosis),
        )?;
        Ok(())
    }
}

/// A nullable CSV field: the value, or nothing for null (format flags pass through).
struct Cell<T>(Option<T>);

impl<T: fmt::Display> fmt::Display for Cell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_ref().map_or(Ok(()), |v| v.fmt(f))
    }
}

/// A CSV string field, quoted only when it holds a comma, quote or line break.
pub(super) fn csv_str(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}
