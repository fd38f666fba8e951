//! Crash safety at the store level: a writer process is killed (SIGKILL) at
//! arbitrary moments while several threads append. After each kill the file
//! reopens (so no half-written batch survived: the rebuilt tree matches the
//! last signed checkpoint), `verify` passes, and every append the child saw
//! return is in the ledger at the index its receipt gave.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::*;
use sluice_ledger::verify::verify_sqlite;
use sluice_ledger::{Ledger, SqliteLedger};

const CHILD_ENV: &str = "SLUICE_LEDGER_CRASH_CHILD";

/// The child: appends from 4 threads until killed, printing `index id` after each append returns.
#[test]
#[ignore = "run by `killed_writers_lose_nothing_that_was_acknowledged` in a child process"]
fn crash_child() {
    let path = std::env::var(CHILD_ENV).expect("run only as the crash test's child");
    let round: u64 = std::env::var("SLUICE_LEDGER_CRASH_ROUND")
        .unwrap()
        .parse()
        .unwrap();
    let l = std::sync::Arc::new(SqliteLedger::open(std::path::Path::new(&path), signer()).unwrap());
    let threads: Vec<_> = (0..4u64)
        .map(|th| {
            let l = std::sync::Arc::clone(&l);
            std::thread::spawn(move || {
                for i in 0.. {
                    let mut e = run_event(i);
                    e.id = format!("crash-{round}-{th}-{i}");
                    let r = l.append(e, None).unwrap();
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{} {}", r.index, r.event.id).unwrap();
                    out.flush().unwrap();
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
}

#[test]
fn killed_writers_lose_nothing_that_was_acknowledged() {
    let t = TempLedger::new();
    drop(t.open());
    let mut acknowledged: Vec<(u64, String)> = Vec::new();
    for round in 0..4u64 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &t.path)
            .env("SLUICE_LEDGER_CRASH_ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|l| {
                    l.split_once(' ')
                        .and_then(|(i, id)| Some((i.parse::<u64>().ok()?, id.to_string())))
                })
                .collect::<Vec<_>>()
        });
        let jitter = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
            % 400;
        std::thread::sleep(Duration::from_millis(300 + u64::from(jitter)));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let seen = reader.join().unwrap();
        assert!(
            !seen.is_empty() || round > 0,
            "the child appended nothing in round {round}"
        );
        acknowledged.extend(seen);

        let report = verify_sqlite(&t.path, &signer().verifier()).unwrap();
        assert!(report.ok, "round {round}: {report:?}");
        let l = t.open();
        for (index, id) in &acknowledged {
            let stored = l
                .event_by_id(id)
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged event {id} was lost"));
            assert_eq!(stored.index, *index);
        }
        assert!(l.len().unwrap() >= acknowledged.len() as u64);
    }
    assert!(
        acknowledged.len() > 10,
        "too few appends to mean anything: {}",
        acknowledged.len()
    );
}
