//! `sandbox-probe`: tries every way out of the sandbox and reports what it
//! saw, so tests can assert that nothing crossed the wall.
//!
//! Probes: files (read `/etc/passwd`, list `/` and `.`, write a file),
//! network (TCP connect to 127.0.0.1:80, resolve `localhost`), process
//! environment (variables, arguments, current directory), clocks (wall
//! time since the epoch, `Instant` elapsed over a busy loop), randomness
//! (four `u64` hashes of a fixed string under fresh `RandomState`s, which
//! draw their keys from the host's random source) and one line each to
//! stdout and stderr (captured by the host in a bounded log).
//!
//! Output columns: `probe` (utf8, the probe's name) and `result` (utf8:
//! `ok: <value>` or `error: <message>`). With fixed clocks and a recorded
//! seed, two runs with the same seed return identical tables.

use std::collections::hash_map::RandomState;
use std::fmt::{Debug, Display};
use std::hash::BuildHasher;
use std::hint::black_box;
use std::io::Write;
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use std::{env, fs};

use sluice_guest::*;

/// The analytic.
pub struct SandboxProbe;

/// Renders a probe's outcome as `ok: <value>` or `error: <message>`.
pub fn show<T: Debug, E: Display>(outcome: std::result::Result<T, E>) -> String {
    match outcome {
        Ok(v) => format!("ok: {v:?}"),
        Err(e) => format!("error: {e}"),
    }
}

/// Names in directory `path`, sorted.
fn list(path: &str) -> std::io::Result<Vec<String>> {
    let mut names = fs::read_dir(path)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

/// Nanoseconds an `Instant` says a fixed busy loop took.
fn busy_elapsed() -> u128 {
    let start = Instant::now();
    let mut x = black_box(1u64);
    for i in 0..100_000u64 {
        x = black_box(x.wrapping_mul(31).wrapping_add(i));
    }
    black_box(x);
    start.elapsed().as_nanos()
}

/// Runs every probe, in a fixed order.
pub fn probes() -> Vec<(&'static str, String)> {
    let random: Vec<u64> = (0..4)
        .map(|_| RandomState::new().hash_one("sluice"))
        .collect();
    vec![
        (
            "read /etc/passwd",
            show(fs::read_to_string("/etc/passwd").map(|s| s.len())),
        ),
        ("list /", show(list("/"))),
        ("list .", show(list("."))),
        ("write probe.txt", show(fs::write("probe.txt", b"escaped"))),
        (
            "tcp connect 127.0.0.1:80",
            show(TcpStream::connect(("127.0.0.1", 80)).map(|_| "connected")),
        ),
        (
            "resolve localhost",
            show(
                ("localhost", 80)
                    .to_socket_addrs()
                    .map(Iterator::collect::<Vec<_>>),
            ),
        ),
        ("env vars", format!("ok: {}", env::vars_os().count())),
        ("args", format!("ok: {}", env::args_os().count())),
        ("current dir", show(env::current_dir())),
        (
            "system time ns",
            show(
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_nanos()),
            ),
        ),
        ("instant elapsed ns", format!("ok: {}", busy_elapsed())),
        ("random u64 x4", format!("ok: {random:?}")),
        (
            "stdout",
            show(writeln!(std::io::stdout(), "sandbox-probe: stdout line")),
        ),
        (
            "stderr",
            show(writeln!(std::io::stderr(), "sandbox-probe: stderr line")),
        ),
    ]
}

impl Analytic for SandboxProbe {
    fn run(_: &mut Ctx, _: &str) -> Result<Table> {
        let probes = probes();
        Ok(Table::new()
            .utf8("probe", probes.iter().map(|p| p.0))
            .utf8("result", probes.iter().map(|p| p.1.as_str())))
    }
}

export!(SandboxProbe);
