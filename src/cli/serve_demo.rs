//! `sluice serve --demo`: sets a node up for the README's walk-through.
//!
//! Into `DATA_DIR/demo/` it writes the fixed-seed example data (the same
//! generator as `sluice example-data`), the repository's policies for
//! `sales` and `patients` (no approvals yet: the walk-through adds one),
//! four key pairs (`operator`, `owner`, `buyer`, `auditor`; made once and
//! kept), and the example `mean-by-group` component signed by the buyer.
//! It registers both datasets with the owner as their owner and adds the
//! other keys with their roles. Running it again changes nothing that is
//! already set up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use sluice::example_data::{DataSpec, generate};
use sluice::guests;
use sluice_node::{Node, Role};
use sluice_runtime::signing::{self, SecretKey};

use super::Failure;

/// What the demo set up.
pub(super) struct Demo {
    dir: PathBuf,
}

/// The key `name` in `dir`, made on first use.
fn key(dir: &Path, name: &str) -> anyhow::Result<SecretKey> {
    let path = dir.join(format!("{name}.key"));
    if path.exists() {
        return Ok(SecretKey::from_file(&path)?);
    }
    let key = SecretKey::generate()?;
    key.to_file(&path, false)?;
    key.public()
        .to_file(dir.join(format!("{name}.pub")), true)?;
    Ok(key)
}

fn data_file(dir: &Path, dataset: &str) -> PathBuf {
    match dataset {
        "sales" => dir.join("sales.parquet"),
        _ => dir.join(format!("{dataset}.csv")),
    }
}

fn prepare(node: &Node) -> anyhow::Result<Demo> {
    let dir = node.data_dir().join("demo");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if !data_file(&dir, "sales").exists() || !data_file(&dir, "patients").exists() {
        eprintln!("demo: generating the example data in {}", dir.display());
        generate(&dir, &DataSpec::default())?;
    }
    let [operator, owner, buyer, auditor] =
        ["operator", "owner", "buyer", "auditor"].map(|n| key(&dir, n));
    let (operator, owner, buyer, auditor) = (operator?, owner?, buyer?, auditor?);
    let signed = dir.join("mean-by-group.wasm");
    if !signed.exists() {
        eprintln!("demo: building the example analytics (cargo build --target wasm32-wasip2)");
        let wasm = guests::build("examples")?;
        let module = std::fs::read(guests::component(&wasm, "mean-by-group"))?;
        std::fs::write(&signed, signing::sign(&module, &buyer)?)?;
    }
    let registered: Vec<String> = node.datasets()?.into_iter().map(|d| d.name).collect();
    for dataset in ["sales", "patients"] {
        if registered.iter().any(|r| r == dataset) {
            continue;
        }
        let policy = std::fs::read_to_string(
            guests::repo_root()
                .join("policies")
                .join(format!("{dataset}.toml")),
        )?;
        node.add_dataset(dataset, &data_file(&dir, dataset), &policy, None)?;
    }
    let datasets = ["sales".to_string(), "patients".to_string()];
    node.add_key(&operator.public(), Role::Operator, &[], None)?;
    node.add_key(&owner.public(), Role::Owner, &datasets, None)?;
    node.add_key(&buyer.public(), Role::Buyer, &[], None)?;
    node.add_key(&auditor.public(), Role::Auditor, &[], None)?;
    Ok(Demo { dir })
}

/// Sets the demo up on `node`.
pub(super) fn setup(node: &Node) -> Result<Demo, Failure> {
    prepare(node).map_err(Failure::internal)
}

/// What to type next, for people.
pub(super) fn instructions(demo: &Demo, addr: SocketAddr) -> String {
    let d = demo.dir.display();
    format!(
        "demo: keys, data and a signed module are in {d}; in another terminal:\n  \
         export SLUICE_NODE=http://{addr}\n  \
         sluice client --key {d}/buyer.key modules upload {d}/mean-by-group.wasm\n  \
         (the README walks the rest: approval, run, receipt, audit)\n"
    )
}
