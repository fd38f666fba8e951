//! Shared helpers: a node key, sample events, a ledger in a temporary directory.
#![allow(dead_code)]

use std::path::PathBuf;
use std::str::FromStr;

use ed25519_dalek::SigningKey;
use rust_decimal::Decimal;
use sluice_ledger::billing::{PriceSchedule, charge_for};
use sluice_ledger::event::{DatasetUse, EventData, RunEvent};
use sluice_ledger::{Envelope, NoteSigner, SqliteLedger};

pub(crate) const ORIGIN: &str = "sluice.node/5f1c0e2a";

pub(crate) fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[42; 32])).unwrap()
}

pub(crate) fn dec(s: &str) -> Decimal {
    Decimal::from_str(s).unwrap()
}

pub(crate) fn prices() -> PriceSchedule {
    PriceSchedule {
        currency: "EUR".into(),
        per_run: dec("0.05"),
        per_million_fuel: dec("0.002"),
        per_mb_fed: dec("0.01"),
        per_kb_released: dec("0.001"),
        per_aggregate_query: dec("0.0005"),
    }
}

pub(crate) fn run_data(n: u64, decision: &str) -> RunEvent {
    let released = decision == "released";
    let mut run = RunEvent {
        node_id: "5f1c0e2a".into(),
        buyer: Some(format!("{:064x}", n % 3)),
        buyer_key_id: Some(format!("buyer-{}", n % 3)),
        datasets: vec![DatasetUse {
            dataset: if n.is_multiple_of(2) {
                "sales".into()
            } else {
                "clinics".into()
            },
            snapshot: "ab".repeat(32),
            policy_version: "3".into(),
            policy_hash: "cd".repeat(32),
            tier: (decision != "denied").then(|| "approved".into()),
        }],
        module_hash: "ef".repeat(32),
        params_hash: "01".repeat(32),
        seed: 7 + n,
        engine: "wasmtime 48.0.8; fuel on".into(),
        fuel_consumed: if decision == "denied" {
            0
        } else {
            1_234_567 + n
        },
        fuel_limit: 1_000_000_000,
        figures_rounded: !released,
        memory_peak_bytes: 1 << 20,
        wall_ms: 12,
        rows_fed: 1000,
        bytes_fed: if decision == "denied" { 0 } else { 2_500_000 },
        aggregate_queries: 3,
        groups_suppressed: 1,
        epsilon_spent: "0.5".into(),
        output_hash: released.then(|| "12".repeat(32)),
        output_bytes: released.then_some(1536),
        decision: decision.into(),
        code: (!released).then(|| format!("{decision}.example")),
        reason: None,
        charges: vec![],
        trace_id: Some(format!("{n:032x}")),
        audit_commitment: None,
    };
    let dataset = run.datasets[0].dataset.clone();
    run.charges = vec![charge_for(&dataset, &prices(), &run).unwrap()];
    run
}

pub(crate) fn run_event(n: u64) -> Envelope {
    let decision = ["released", "withheld", "denied", "aborted"][(n % 4) as usize];
    let mut e = Envelope::new(
        format!("00000000-0000-4000-8000-{n:012}"),
        "urn:sluice:node:5f1c0e2a",
        sluice_ledger::time::format_millis(1_795_708_560_000 + n as i64 * 60_000),
        EventData::Run(run_data(n, decision)),
    );
    e.traceparent = Some(format!("00-{n:032x}-{:016x}-01", n + 1));
    e
}

pub(crate) struct TempLedger {
    pub(crate) dir: tempfile::TempDir,
    pub(crate) path: PathBuf,
}

impl TempLedger {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ledger.sqlite");
        TempLedger { dir, path }
    }

    pub(crate) fn open(&self) -> SqliteLedger {
        SqliteLedger::open(&self.path, signer()).unwrap()
    }

    pub(crate) fn sql(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).unwrap()
    }
}

/// A ledger with `n` events appended one by one (one checkpoint each).
pub(crate) fn ledger_with(n: u64) -> TempLedger {
    let t = TempLedger::new();
    let l = t.open();
    for i in 0..n {
        sluice_ledger::Ledger::append(&l, run_event(i), None).unwrap();
    }
    t
}
