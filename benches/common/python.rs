//! The Python side of the harness: a venv under `target/bench-venv` with
//! DuckDB and pyarrow (created on first use), and running a script in it.

use std::path::PathBuf;
use std::process::{Command, Output};

/// Runs `cmd`; its output when it succeeds, else what it said.
pub(crate) fn checked(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("cannot start {cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(out)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            tail.join(" / ")
        ))
    }
}

/// The venv's Python, with `packages` importable (installed if missing).
pub(crate) fn python(packages: &[&str]) -> Result<PathBuf, String> {
    let venv = sluice::guests::repo_root()
        .join("target")
        .join("bench-venv");
    let python = venv.join("bin").join("python");
    if !python.exists() {
        eprintln!("creating {} ...", venv.display());
        checked(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    for p in packages {
        if checked(Command::new(&python).args(["-c", &format!("import {p}")])).is_err() {
            eprintln!("pip install {p} ...");
            checked(Command::new(&python).args(["-m", "pip", "install", "--quiet", p]))?;
        }
    }
    Ok(python)
}
