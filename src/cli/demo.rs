//! `sluice demo`: the main job end to end on the example data. Builds the
//! example analytics and two hostile guests, generates the fixed-seed
//! datasets, runs each example under its policy and shows the released
//! results, then shows hostile runs being refused.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::anyhow;
use sluice::example_data::{DataSpec, generate};
use sluice::{guests, render};
use sluice_runtime::{Decision, Engine, EngineConfig};

use super::Failure;
use super::run::{execute, grants};

struct Step {
    title: &'static str,
    guest: &'static str,
    dataset: &'static str,
    params: &'static str,
    expect: Decision,
}

const STEPS: &[Step] = &[
    Step {
        title: "mean order amount per region (raw columns, Parquet)",
        guest: "mean-by-group",
        dataset: "sales",
        params: "",
        expect: Decision::Released,
    },
    Step {
        title: "top products by revenue (raw columns, Parquet)",
        guest: "top-products",
        dataset: "sales",
        params: r#"{"n":5}"#,
        expect: Decision::Released,
    },
    Step {
        title: "blood pressure ~ age + BMI, least squares (raw columns, CSV)",
        guest: "linear-regression",
        dataset: "patients",
        params: "",
        expect: Decision::Released,
    },
    Step {
        title: "age histogram by sex with mean income (host aggregates only)",
        guest: "histogram",
        dataset: "patients",
        params: "",
        expect: Decision::Released,
    },
    Step {
        title: "hostile: an infinite loop (stopped by fuel)",
        guest: "infinite-loop",
        dataset: "patients",
        params: "",
        expect: Decision::Aborted,
    },
    Step {
        title: "hostile: scanning the aggregate-only `income` column (refused)",
        guest: "forbidden-raw",
        dataset: "patients",
        params: "",
        expect: Decision::Aborted,
    },
];

fn data_file(dir: &Path, dataset: &str) -> PathBuf {
    match dataset {
        "sales" => dir.join("sales.parquet"),
        _ => dir.join(format!("{dataset}.csv")),
    }
}

/// `sluice demo`.
pub fn run(data_dir: &Path) -> Result<ExitCode, Failure> {
    let root = guests::repo_root();
    let data_dir = root.join(data_dir);
    println!("== generating the example data in {}", data_dir.display());
    generate(&data_dir, &DataSpec::default()).map_err(Failure::internal)?;
    println!("== building the guest components (cargo build --target wasm32-wasip2)");
    guests::build("examples").map_err(Failure::internal)?;
    let wasm = guests::build("tests/guests").map_err(Failure::internal)?;
    let engine = Engine::new(EngineConfig::default()).map_err(Failure::internal)?;
    let mut surprises = 0;
    for step in STEPS {
        println!("\n== {} [{}]", step.title, step.guest);
        let data = format!(
            "{}={}",
            step.dataset,
            data_file(&data_dir, step.dataset).display()
        );
        let policy = root.join("policies").join(format!("{}.toml", step.dataset));
        let grants = grants(&[data], &[policy])?;
        let module = guests::component(&wasm, step.guest);
        let outcome = execute(&engine, &module, grants, step.params.into(), Some(7))?;
        print!("{}", render::outcome(&outcome));
        if outcome.decision != step.expect {
            surprises += 1;
            eprintln!(
                "unexpected decision for {}: {:?}",
                step.guest, outcome.decision
            );
        }
    }
    if surprises > 0 {
        return Err(Failure::internal(anyhow!(
            "{surprises} demo steps did not end as expected"
        )));
    }
    println!("\nAll runs ended as the policies require. Try `sluice run --help` next.");
    Ok(ExitCode::SUCCESS)
}
