//! Shared fixtures for the end-to-end tests: the guest components (built
//! once per test binary with the real `cargo build --target wasm32-wasip2`),
//! the fixed-seed example data, policies derived from `policies/`, and a
//! runner for the `sluice` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use sluice::example_data::{DataSpec, generate};
use sluice::guests;

/// Built guests and generated data, shared by the tests of one binary.
pub struct Fixture {
    /// Holds the data and derived policies.
    pub dir: tempfile::TempDir,
    /// Folder with the built `.wasm` components.
    pub wasm: PathBuf,
}

/// The fixture, made on first use.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        guests::build("examples").expect("build examples");
        let wasm = guests::build("tests/guests").expect("build hostile guests");
        let dir = tempfile::tempdir().expect("tempdir");
        generate(dir.path(), &DataSpec::default()).expect("generate data");
        Fixture { dir, wasm }
    })
}

/// Path of a built guest component.
pub fn module(guest: &str) -> PathBuf {
    guests::component(&fixture().wasm, guest)
}

/// Path of an example dataset file: `sales` or `patients`.
pub fn data(dataset: &str) -> PathBuf {
    let f = fixture();
    match dataset {
        "sales" => f.dir.path().join("sales.parquet"),
        other => f.dir.path().join(format!("{other}.csv")),
    }
}

/// The repository's policy for `dataset`.
pub fn repo_policy(dataset: &str) -> PathBuf {
    guests::repo_root()
        .join("policies")
        .join(format!("{dataset}.toml"))
}

/// The repository's policy for `dataset` with `key = value` lines replaced.
pub fn policy(dataset: &str, overrides: &[(&str, &str)]) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    let mut text = std::fs::read_to_string(repo_policy(dataset)).expect("read policy");
    for (key, value) in overrides {
        let prefix = format!("{key} =");
        let line = text
            .lines()
            .find(|l| l.starts_with(&prefix))
            .unwrap_or_else(|| panic!("policy has no `{key}` line"))
            .to_string();
        text = text.replace(&line, &format!("{key} = {value}"));
    }
    let path = fixture().dir.path().join(format!(
        "{dataset}-{}.toml",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).expect("write policy");
    path
}

/// What one invocation of the binary produced.
pub struct Outcome {
    /// Exit code.
    pub code: i32,
    /// Parsed stdout (when `--json`), else `Null`.
    pub json: Value,
    /// Raw stdout.
    pub stdout: String,
    /// Raw stderr.
    pub stderr: String,
}

impl Outcome {
    /// `decision` of the run.
    pub fn decision(&self) -> &str {
        self.json["decision"].as_str().unwrap_or("")
    }

    /// `reason` of the run, or "".
    pub fn reason(&self) -> &str {
        self.json["reason"].as_str().unwrap_or("")
    }

    /// A usage figure.
    pub fn usage(&self, key: &str) -> u64 {
        self.json["usage"][key]
            .as_u64()
            .unwrap_or_else(|| panic!("usage.{key} missing: {}", self.json))
    }

    /// Values of output column `name`.
    pub fn column(&self, name: &str) -> Vec<Value> {
        let columns = self.json["output"]["columns"]
            .as_array()
            .expect("output columns");
        let c = columns
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no output column {name}"));
        c["values"].as_array().expect("values").clone()
    }
}

/// Runs the `sluice` binary with `args`.
pub fn sluice(args: &[&str]) -> Outcome {
    let cache = guests::repo_root().join("target").join("test-module-cache");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .env("SLUICE_CACHE_DIR", cache)
        .output()
        .expect("run sluice");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sluice run --json` of `guest` over one dataset under `policy`.
pub fn run(guest: &str, dataset: &str, policy: &Path, extra: &[&str]) -> Outcome {
    let module = module(guest);
    let data = format!("{dataset}={}", data(dataset).display());
    let mut args = vec![
        "run",
        "--json",
        "--module",
        module.to_str().unwrap(),
        "--data",
        &data,
        "--policy",
        policy.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    sluice(&args)
}
