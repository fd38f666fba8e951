//! `sluice demo`: the main job end to end on the example data. It plays
//! every part: the buyer (a key pair, signed analytics), the owner (policies
//! that approve some modules for raw access and trust the buyer's key for
//! differentially private aggregates) and the node (runs, refusals).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, anyhow};
use sluice::example_data::{DataSpec, generate};
use sluice::{guests, render};
use sluice_runtime::signing::{self, SecretKey};
use sluice_runtime::{Decision, Engine, EngineConfig};

use super::Failure;
use super::policy::{approve, trust};
use super::run::{Invocation, execute, grants};

/// How the demo presents a module to the node.
#[derive(Clone, Copy, PartialEq)]
enum Signing {
    Signed,
    Unsigned,
}

struct Step {
    title: &'static str,
    guest: &'static str,
    dataset: &'static str,
    params: &'static str,
    signing: Signing,
    expect: Decision,
}

const fn step(
    title: &'static str,
    guest: &'static str,
    dataset: &'static str,
    expect: Decision,
) -> Step {
    Step {
        title,
        guest,
        dataset,
        params: "",
        signing: Signing::Signed,
        expect,
    }
}

const STEPS: &[Step] = &[
    step(
        "approved: mean order amount per region (raw columns, Parquet)",
        "mean-by-group",
        "sales",
        Decision::Released,
    ),
    Step {
        params: r#"{"n":5}"#,
        ..step(
            "approved: top products by revenue (raw columns, Parquet)",
            "top-products",
            "sales",
            Decision::Released,
        )
    },
    step(
        "approved: blood pressure ~ age + BMI (raw columns, CSV)",
        "linear-regression",
        "patients",
        Decision::Released,
    ),
    step(
        "trusted signer: age histogram with mean income (host aggregates, differential privacy)",
        "histogram",
        "patients",
        Decision::Released,
    ),
    step(
        "trusted signer, not approved: scanning a raw column is refused",
        "forbidden-raw",
        "patients",
        Decision::Aborted,
    ),
    step(
        "hostile: an infinite loop, stopped by fuel",
        "infinite-loop",
        "patients",
        Decision::Aborted,
    ),
    Step {
        signing: Signing::Unsigned,
        ..step(
            "refused: an unsigned module never reaches the compiler",
            "mean-by-group",
            "sales",
            Decision::Denied,
        )
    },
];

fn data_file(dir: &Path, dataset: &str) -> PathBuf {
    match dataset {
        "sales" => dir.join("sales.parquet"),
        _ => dir.join(format!("{dataset}.csv")),
    }
}

/// The buyer signs every module the demo runs.
fn sign_all(wasm: &Path, dir: &Path, key: &SecretKey) -> anyhow::Result<()> {
    for step in STEPS {
        let module = std::fs::read(guests::component(wasm, step.guest))?;
        let signed = signing::sign(&module, key)?;
        std::fs::write(guests::component(dir, step.guest), signed)?;
    }
    Ok(())
}

/// The owners' policies: the repository's, plus approvals and trust.
fn owner_policies(dir: &Path, wasm: &Path, buyer_pub: &PathBuf) -> Result<(), Failure> {
    for dataset in ["sales", "patients"] {
        let from = guests::repo_root()
            .join("policies")
            .join(format!("{dataset}.toml"));
        let to = dir.join(format!("{dataset}.toml"));
        std::fs::copy(&from, &to).map_err(Failure::internal)?;
    }
    let note = Some("reviewed by the data owner for the demo");
    for (guest, dataset) in [
        ("mean-by-group", "sales"),
        ("top-products", "sales"),
        ("linear-regression", "patients"),
    ] {
        let policy = dir.join(format!("{dataset}.toml"));
        approve(
            &policy,
            &guests::component(wasm, guest),
            Some("2099-12-31T00:00:00Z"),
            note,
        )?;
    }
    trust(&dir.join("patients.toml"), buyer_pub, Some("demo buyer"))?;
    Ok(())
}

/// `sluice demo`.
pub(super) fn run(data_dir: &Path) -> Result<ExitCode, Failure> {
    let root = guests::repo_root();
    let dir = root.join(data_dir);
    println!("== generating the example data in {}", dir.display());
    generate(&dir, &DataSpec::default()).map_err(Failure::internal)?;
    println!("== building the guest components (cargo build --target wasm32-wasip2)");
    guests::build("examples").map_err(Failure::internal)?;
    let wasm = guests::build("tests/guests").map_err(Failure::internal)?;
    println!("== the buyer makes a key and signs the modules; the owners approve and trust");
    let key = SecretKey::generate().map_err(Failure::internal)?;
    let buyer_pub = dir.join("buyer.pub");
    key.public()
        .to_file(&buyer_pub, true)
        .map_err(Failure::internal)?;
    sign_all(&wasm, &dir, &key)
        .context("signing the demo modules")
        .map_err(Failure::internal)?;
    owner_policies(&dir, &wasm, &buyer_pub)?;
    let state = dir.join("state");
    let _ = std::fs::remove_dir_all(&state);
    let engine = Engine::new(EngineConfig::default()).map_err(Failure::internal)?;
    let mut surprises = 0;
    for step in STEPS {
        println!("\n== {} [{}]", step.title, step.guest);
        let data = format!(
            "{}={}",
            step.dataset,
            data_file(&dir, step.dataset).display()
        );
        let grants = grants(&[data], &[dir.join(format!("{}.toml", step.dataset))], None)?;
        let module = match step.signing {
            Signing::Signed => guests::component(&dir, step.guest),
            Signing::Unsigned => guests::component(&wasm, step.guest),
        };
        let outcome = execute(
            &engine,
            Invocation {
                module: &module,
                signature: None,
                known_keys: vec![key.public()],
                grants,
                params: step.params.into(),
                seed: Some(7),
                state_dir: &state,
            },
        )?;
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
