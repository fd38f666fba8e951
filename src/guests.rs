//! Builds guest components from their Cargo workspaces in this checkout.
//!
//! Guests are ordinary Rust crates built with
//! `cargo build --release --target wasm32-wasip2`; this module runs exactly
//! that (rustup brings the target from `rust-toolchain.toml`), into a
//! target directory of its own so it never waits on the host build.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The root of this Sluice checkout (where the workspace `Cargo.toml` is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Where guest builds go: `target/wasm` in this checkout.
pub fn target_dir() -> PathBuf {
    repo_root().join("target").join("wasm")
}

/// Builds every crate of the guest workspace at `workspace` (relative to the
/// checkout, e.g. `examples`) and returns the folder holding the `.wasm` files.
pub fn build(workspace: &str) -> Result<PathBuf> {
    let manifest = repo_root().join(workspace).join("Cargo.toml");
    if !manifest.exists() {
        bail!(
            "{} not found: building guests needs a Sluice source checkout",
            manifest.display()
        );
    }
    ensure_target()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--quiet",
            "--target",
            "wasm32-wasip2",
            "--manifest-path",
        ])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir())
        .current_dir(repo_root())
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .context("cannot start cargo to build the guests")?;
    if !status.success() {
        bail!("building the guests in {workspace}/ failed ({status})");
    }
    Ok(wasm_dir())
}

/// Makes sure the `wasm32-wasip2` standard library is installed. rustup
/// installs the targets of `rust-toolchain.toml` only together with the
/// toolchain, so a machine that already had the toolchain lacks it.
fn ensure_target() -> Result<()> {
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(repo_root())
        .output()
        .context("cannot run rustc to find the sysroot")?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if sysroot.join("lib/rustlib/wasm32-wasip2").is_dir() {
        return Ok(());
    }
    let status = Command::new("rustup")
        .args(["target", "add", "wasm32-wasip2"])
        .current_dir(repo_root())
        .status()
        .context("the wasm32-wasip2 target is missing and rustup cannot be started to add it")?;
    if !status.success() {
        bail!("`rustup target add wasm32-wasip2` failed ({status})");
    }
    Ok(())
}

/// The folder release guest components land in.
pub fn wasm_dir() -> PathBuf {
    target_dir().join("wasm32-wasip2").join("release")
}

/// Path of the component built from crate `name` (dashes become underscores).
pub fn component(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{}.wasm", name.replace('-', "_")))
}
