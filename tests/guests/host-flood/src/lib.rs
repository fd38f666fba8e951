//! `host-flood`: makes the host work for it through calls that cost the
//! guest almost nothing, in the mode its parameters name:
//!
//! - `random` (default): draws 64 KiB of random bytes, forever;
//! - `log`: writes 64 KiB to stderr, forever;
//! - `lookup`: asks to resolve a 1 MiB host name, forever;
//! - `transfer:N`: passes one aggregate query with N functions (the host
//!   would have to copy 16·N bytes out of guest memory; 6,000,000 by
//!   default, 96 MB, under wasmtime's own 128 MiB limit per call).
//!
//! The host must charge each as fuel (so a loop ends when fuel runs out,
//! with most of the fuel charged for host work), and must refuse to copy
//! more out of guest memory than the run's memory cap leaves room for.

use std::io::Write;

use sluice_guest::bindings::sluice::host::aggregates::{self, AggregateFn, Query};
use sluice_guest::*;
use wasip2::random::random;
use wasip2::sockets::{instance_network, ip_name_lookup};

/// The analytic.
pub struct HostFlood;

impl Analytic for HostFlood {
    fn run(_: &mut Ctx, params: &str) -> Result<Table> {
        let sink;
        match params.trim() {
            "log" => {
                let chunk = vec![b'x'; 64 << 10];
                loop {
                    let _ = std::io::stderr().write_all(&chunk);
                }
            }
            "lookup" => {
                let name = "a".repeat(1 << 20);
                let network = instance_network::instance_network();
                loop {
                    std::hint::black_box(
                        ip_name_lookup::resolve_addresses(&network, &name).is_err(),
                    );
                }
            }
            mode if mode.starts_with("transfer") => {
                let n = mode
                    .strip_prefix("transfer:")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(6_000_000);
                let query = Query {
                    dataset: "sales".into(),
                    column: None,
                    functions: vec![AggregateFn::Count; n],
                    group_by: Vec::new(),
                    clamp: None,
                };
                sink = aggregates::aggregate(&query)?.groups.len() as u64;
            }
            _ => loop {
                std::hint::black_box(random::get_random_bytes(64 << 10));
            },
        }
        Ok(Table::new().i64("sink", [i64::try_from(sink).ok()]))
    }
}

export!(HostFlood);
