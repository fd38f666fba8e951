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
use sluice_runtime::signing::{self, SecretKey};

/// Built guests and generated data, shared by the tests of one binary.
pub(crate) struct Fixture {
    /// Holds the data and derived policies.
    pub dir: tempfile::TempDir,
    /// Folder with the built `.wasm` components.
    pub wasm: PathBuf,
    /// Folder with the same components signed by the test buyer.
    pub signed: PathBuf,
    /// The test buyer's key.
    pub key: SecretKey,
    /// The test buyer's public key file.
    pub public: PathBuf,
    /// Hashes of every built component.
    pub hashes: Vec<String>,
}

/// The guest crates the tests use.
pub(crate) const GUESTS: &[&str] = &[
    "mean-by-group",
    "histogram",
    "linear-regression",
    "top-products",
    "orders-by-month",
    "infinite-loop",
    "memory-bomb",
    "deep-recursion",
    "giant-output",
    "forbidden-raw",
    "hidden-column",
    "singleton-groups",
    "sandbox-probe",
    "error-exfiltration",
    "covert-channels",
    "exact-extremes",
    "bin-differencing",
    "pairwise-differencing",
    "data-error",
    "sleeper",
    "poller",
    "quantile-flood",
    "wide-aggregate",
    "tiny-batches",
    "host-flood",
];

/// The fixture, made on first use.
pub(crate) fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        guests::build("examples").expect("build examples");
        let wasm = guests::build("tests/guests").expect("build hostile guests");
        let dir = tempfile::tempdir().expect("tempdir");
        generate(dir.path(), &DataSpec::default()).expect("generate data");
        let key = SecretKey::from_seed(&[42; 32]);
        let public = dir.path().join("buyer.pub");
        key.public().to_file(&public, true).expect("write key");
        let signed = dir.path().join("signed");
        std::fs::create_dir_all(&signed).unwrap();
        let mut hashes = Vec::new();
        for g in GUESTS {
            let module = std::fs::read(guests::component(&wasm, g)).expect("read guest");
            hashes.push(signing::module_hash(&module).unwrap());
            let bytes = signing::sign(&module, &key).expect("sign");
            std::fs::write(guests::component(&signed, g), bytes).unwrap();
        }
        Fixture {
            dir,
            wasm,
            signed,
            key,
            public,
            hashes,
        }
    })
}

/// Path of a built guest component, signed by the test buyer.
pub(crate) fn module(guest: &str) -> PathBuf {
    guests::component(&fixture().signed, guest)
}

/// Path of a built guest component as the compiler left it (unsigned).
pub(crate) fn unsigned_module(guest: &str) -> PathBuf {
    guests::component(&fixture().wasm, guest)
}

/// How a derived policy treats the test modules.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Trust {
    /// Every test module is approved (raw tier).
    ApproveAll,
    /// No module is approved; the test buyer is a trusted signer.
    SignerOnly,
    /// Neither: every run is denied.
    Nothing,
}

/// Path of an example dataset file: `sales` or `patients`.
pub(crate) fn data(dataset: &str) -> PathBuf {
    let f = fixture();
    match dataset {
        "sales" => f.dir.path().join("sales.parquet"),
        other => f.dir.path().join(format!("{other}.csv")),
    }
}

/// The repository's policy for `dataset`.
pub(crate) fn repo_policy(dataset: &str) -> PathBuf {
    guests::repo_root()
        .join("policies")
        .join(format!("{dataset}.toml"))
}

/// The repository's policy for `dataset` with `key = value` lines replaced,
/// approving every test module.
pub(crate) fn policy(dataset: &str, overrides: &[(&str, &str)]) -> PathBuf {
    policy_with(dataset, overrides, Trust::ApproveAll)
}

/// The repository's policy for `dataset` without its `[privacy]` table
/// (exact host aggregates, difference checks), with `key = value` lines
/// replaced.
pub(crate) fn policy_without_privacy(
    dataset: &str,
    overrides: &[(&str, &str)],
    trust: Trust,
) -> PathBuf {
    let path = policy_with(dataset, overrides, trust);
    let text = std::fs::read_to_string(&path).expect("read policy");
    let mut out = String::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with('[') {
            skipping = line.trim() == "[privacy]";
        }
        if !skipping {
            out.push_str(line);
            out.push('\n');
        }
    }
    std::fs::write(&path, out).expect("write policy");
    path
}

/// The repository's policy for `dataset` with `key = value` lines replaced.
pub(crate) fn policy_with(dataset: &str, overrides: &[(&str, &str)], trust: Trust) -> PathBuf {
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
    let f = fixture();
    match trust {
        Trust::ApproveAll => {
            for h in &f.hashes {
                text.push_str(&format!("\n[[approvals]]\nmodule = \"{h}\"\n"));
            }
        }
        Trust::SignerOnly => {
            let key = f.key.public().to_hex();
            text.push_str(&format!("\n[[trusted_signers]]\nkey = \"{key}\"\n"));
        }
        Trust::Nothing => {}
    }
    let path = fixture().dir.path().join(format!(
        "{dataset}-{}.toml",
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::write(&path, text).expect("write policy");
    path
}

/// What one invocation of the binary produced.
pub(crate) struct Outcome {
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
    pub(crate) fn decision(&self) -> &str {
        self.json["decision"].as_str().unwrap_or("")
    }

    /// `reason` of the run, or "".
    pub(crate) fn reason(&self) -> &str {
        self.json["reason"].as_str().unwrap_or("")
    }

    /// The stable outcome `code` of the run (e.g. `aborted.fuel`), or "".
    pub(crate) fn outcome_code(&self) -> &str {
        self.json["code"].as_str().unwrap_or("")
    }

    /// A usage figure.
    pub(crate) fn usage(&self, key: &str) -> u64 {
        self.json["usage"][key]
            .as_u64()
            .unwrap_or_else(|| panic!("usage.{key} missing: {}", self.json))
    }

    /// Values of output column `name`.
    pub(crate) fn column(&self, name: &str) -> Vec<Value> {
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

/// A fresh node data directory (under one temporary directory per test binary).
pub(crate) fn fresh_data_dir() -> PathBuf {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    static N: AtomicUsize = AtomicUsize::new(0);
    let root = ROOT.get_or_init(|| tempfile::tempdir().expect("tempdir"));
    root.path()
        .join(format!("node-{}", N.fetch_add(1, Ordering::Relaxed)))
}

/// Runs the `sluice` binary with `args`. Unless `args` name a `--data-dir`,
/// the command gets a fresh node of its own; compiled modules are shared.
pub(crate) fn sluice(args: &[&str]) -> Outcome {
    let cache = guests::repo_root().join("target").join("test-module-cache");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_sluice"));
    cmd.args(args).env("SLUICE_CACHE_DIR", cache);
    if !args.contains(&"--data-dir") {
        cmd.env("SLUICE_DATA_DIR", fresh_data_dir());
    }
    let out = cmd.output().expect("run sluice");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    Outcome {
        code: out.status.code().unwrap_or(-1),
        json: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `sluice run --json` of `guest` over one dataset under `policy`.
pub(crate) fn run(guest: &str, dataset: &str, policy: &Path, extra: &[&str]) -> Outcome {
    let module = module(guest);
    run_module(&module, dataset, policy, extra)
}

/// `sluice run --json` of the component at `module` as the test buyer.
pub(crate) fn run_module(module: &Path, dataset: &str, policy: &Path, extra: &[&str]) -> Outcome {
    let f = fixture();
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
        "--buyer",
        f.public.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    sluice(&args)
}
