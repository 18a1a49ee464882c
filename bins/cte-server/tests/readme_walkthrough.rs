//! The README's walk-through, run as written: every ```` ```sh ```` block between the
//! `walkthrough:start` and `walkthrough:end` markers of `README.md`, in order, in one
//! `bash -euo pipefail`, against the built `cte-server`, `cte-worker` and `netskope-sim`. The
//! text cannot drift from the product: a command that fails, or a result below that differs, fails
//! this test.
//!
//! What the test changes in the text, and only this: the two loopback ports (to free ones, so it
//! runs beside other tests), and one block of its own before the last (which stops the servers),
//! saving what the checks below read. `./target/release/X` are links, in the test's own working
//! directory, to the binaries this `cargo test` built (the sibling binaries of `cte-server`, which
//! `cargo test --workspace` builds for the worker's and the simulator's own tests).

#![cfg(unix)]

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

mod common;
use common::{free_port, BIN as SERVER};
const LIMIT: Duration = Duration::from_secs(240);
const SHA: &str = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";

/// The `sh` blocks between the markers, in order.
fn walkthrough_blocks(readme: &str) -> Vec<String> {
    let start = readme
        .find("<!-- walkthrough:start -->")
        .expect("README has the walkthrough:start marker");
    let end = readme
        .find("<!-- walkthrough:end -->")
        .expect("README has the walkthrough:end marker");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in readme[start..end].lines() {
        match (&mut current, line.trim_end()) {
            (None, "```sh") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            (Some(block), text) => {
                block.push_str(text);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(
        current.is_none(),
        "an sh block of the walk-through is not closed"
    );
    blocks
}

/// `bin` next to `cte-server`, or a panic saying how to build it.
fn sibling(bin: &str) -> PathBuf {
    let path = Path::new(SERVER).with_file_name(bin);
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo test --workspace builds it)",
        path.display()
    );
    path
}

fn json_file(dir: &Path, name: &str) -> Value {
    let text = fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
}

/// Kills the script's whole process group (the servers it started) when dropped.
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        // `--` matters: procps' kill reads `-PID` without it as an option (and `-1...` as -1,
        // every process the user may signal).
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md")).unwrap();
    let mut blocks = walkthrough_blocks(&readme);
    assert!(blocks.len() >= 10, "{} blocks", blocks.len());
    let stop = blocks.pop().unwrap();
    assert!(stop.contains("kill $SERVER_PID $SIM_PID"), "{stop}");
    blocks.push(
        [
            r#"curl -s http://127.0.0.1:9090/__sim/lists > check-lists.json"#,
            r#"curl -s http://127.0.0.1:9090/__sim/hashlists > check-hashlists.json"#,
            r#"curl -s -H "$AUTH" "$API/cte/indicators/?aggregate=true" > check-count.json"#,
            r#"curl -s -H "$AUTH" "$API/cte/plugins/configurations" > check-configurations.json"#,
        ]
        .join("\n"),
    );
    blocks.push(stop);
    let (api, sim) = (free_port(), free_port());
    let script = blocks
        .join("\n")
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{api}"))
        .replace("127.0.0.1:9090", &format!("127.0.0.1:{sim}"));

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = d.join("target/release");
    fs::create_dir_all(&bin).unwrap();
    std::os::unix::fs::symlink(SERVER, bin.join("cte-server")).unwrap();
    for name in ["cte-worker", "netskope-sim"] {
        std::os::unix::fs::symlink(sibling(name), bin.join(name)).unwrap();
    }
    fs::write(d.join("walkthrough.sh"), &script).unwrap();
    let out = fs::File::create(d.join("out.txt")).unwrap();
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-x", "walkthrough.sh"])
        .current_dir(d)
        .env_remove("CTE_DB")
        .env_remove("CTE_LISTEN")
        .env("CTE_LOG", "info")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .process_group(0)
        .spawn()
        .unwrap();
    let _group = Group(child.id());
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let log = |name: &str| fs::read_to_string(d.join(name)).unwrap_or_default();
    let report = || {
        format!(
            "--- script output\n{}\n--- server.log\n{}\n--- sim.log\n{}",
            log("out.txt"),
            log("server.log"),
            log("sim.log")
        )
    };
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("the walk-through failed ({s}):\n{}", report()),
        None => panic!("the walk-through took over {LIMIT:?}:\n{}", report()),
    }

    // The seed's examples: the edit raised the reputation and kept the tags; the expired seed IoC
    // is inactive; seed example 3 removed `abc` from the SHA-256 only.
    let iocs: Vec<Value> = log("iocs.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("iocs.jsonl: {e}: {l}")))
        .collect();
    let by_value = |v: &str| -> Value {
        iocs.iter()
            .find(|i| i["value"] == v)
            .unwrap_or_else(|| panic!("{v} is not in iocs.jsonl"))
            .clone()
    };
    let seed = by_value("www.dubya.com");
    assert_eq!(seed["active"], false, "{seed}");
    assert_eq!(seed["sources"][0]["reputation"], 7, "{seed}");
    assert_eq!(seed["sources"][0]["tags"], json!(["test_tag", "test_tag2"]));
    assert_eq!(seed["externalHits"], 1, "an edit counts no hit: {seed}");
    assert_eq!(by_value(SHA)["sources"][0]["tags"], json!(["test_tag"]));
    assert!(log("out.txt").contains(r#"{"updated":1}"#), "{}", report());

    // The share: the current URL-like IoCs on the deployed URL list, the SHA-256 on the hash list.
    let lists = json_file(d, "check-lists.json");
    let list = lists
        .as_array()
        .unwrap_or_else(|| panic!("{lists}"))
        .iter()
        .find(|l| l["name"] == "ce-iocs")
        .unwrap_or_else(|| panic!("no ce-iocs: {lists}"));
    let mut deployed: Vec<&str> = list["deployed"]["urls"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    deployed.sort();
    assert_eq!(deployed, ["198.51.100.7", "evil.example"], "{list}");
    let hashes = json_file(d, "check-hashlists.json").to_string();
    assert!(hashes.contains(SHA), "{hashes}");

    // The pull stored the simulator's alerts, and the JSON-lines export holds every IoC once.
    let configurations = json_file(d, "check-configurations.json");
    let ns = configurations
        .as_array()
        .unwrap_or_else(|| panic!("{configurations}"))
        .iter()
        .find(|c| c["name"] == "NS")
        .unwrap_or_else(|| panic!("no NS: {configurations}"))
        .clone();
    assert_eq!(
        ns["lastRunSuccess"],
        json!({"pull": true, "share": true}),
        "{ns}"
    );
    let count = json_file(d, "check-count.json")["count"].as_u64().unwrap();
    assert!(count > 4, "the pull added IoCs: {count}");
    let mut values: Vec<&str> = iocs.iter().map(|i| i["value"].as_str().unwrap()).collect();
    assert_eq!(values.len() as u64, count, "one line per IoC");
    values.sort();
    values.dedup();
    assert_eq!(values.len() as u64, count, "no IoC twice");
}
