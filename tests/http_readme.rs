//! The README's quick start, as a newcomer would type it: `sluice serve
//! --demo` in one terminal, then the walk-through block, run verbatim by
//! bash in a fresh directory (only the node's address differs: the test
//! listens on a free port and says so through `SLUICE_NODE`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn walkthrough() -> String {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("<!-- walkthrough")
        .expect("the README marks its walk-through");
    let block = &readme[start..];
    let open = block.find("```sh\n").unwrap() + 6;
    let close = block[open..].find("```").unwrap();
    block[open..open + close].to_string()
}

#[test]
fn the_readme_walkthrough_runs_against_serve_demo() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_sluice");
    let mut server = Command::new(bin)
        .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("SLUICE_DATA_DIR")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(server.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.split(" on http://").nth(1) {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep draining the server's log so it never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines.by_ref() {});
    let bin_dir = Path::new(bin).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &walkthrough()])
        .current_dir(dir.path())
        .env("PATH", path)
        .env("SLUICE_NODE", format!("http://{addr}"))
        .env_remove("SLUICE_KEY")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stopped = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    let exit = server.wait().unwrap();
    assert!(
        out.status.success(),
        "the walk-through failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("\"decision\": \"released\""), "{stdout}");
    assert!(stderr.contains("receipt OK"), "{stderr}");
    assert!(stderr.contains("ledger OK"), "{stderr}");
    assert!(
        stdout.contains("\"status\": \"match\""),
        "the replay matches: {stdout}"
    );
    assert!(stopped.unwrap().success());
    assert!(exit.success(), "SIGTERM stops the node cleanly: {exit:?}");
}
