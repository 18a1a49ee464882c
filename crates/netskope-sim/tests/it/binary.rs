//! The `netskope-sim` binary: startup JSON line, flags, and clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Kills the child if the test fails before it stopped it, so no simulator outlives the test.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn prints_addresses_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("ca.pem");
    let child = Command::new(env!("CARGO_BIN_EXE_netskope-sim"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--tls-listen",
            "127.0.0.1:0",
            "--cert-out",
        ])
        .arg(&cert)
        .args([
            "--token",
            "tok:/api/v2/policy/urllist=r",
            "--hash-list",
            "h",
            "--alerts",
            "3",
            "--seed",
            "5",
        ])
        .args([
            "--fault",
            r#"{"kind":"fail","status":502,"path_prefix":"/api/v2/events/data/audit"}"#,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut child = KillOnDrop(child);
    let child_stdout = child.0.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(child_stdout).read_line(&mut line).unwrap();
    let addrs: serde_json::Value = serde_json::from_str(&line).unwrap();
    let http = addrs["http"].as_str().unwrap().to_owned();
    assert!(http.starts_with("127.0.0.1:"));
    assert!(addrs["https"].as_str().unwrap().starts_with("127.0.0.1:"));
    assert!(cert.exists());

    let client = reqwest::Client::new();
    let ok = client
        .get(format!("http://{http}/api/v2/policy/urllist"))
        .header("Netskope-Api-Token", "tok")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let denied = client
        .get(format!(
            "http://{http}/api/v2/events/dataexport/alerts/malware?index=i&operation=next"
        ))
        .header("Netskope-Api-Token", "tok")
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    let faulted = client
        .get(format!("http://{http}/api/v2/events/data/audit"))
        .send()
        .await
        .unwrap();
    assert_eq!(faulted.status(), 502, "--fault is armed at startup");
    let alerts: serde_json::Value = client
        .get(format!("http://{http}/__sim/alerts/malware"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alerts.as_array().unwrap().len(), 3);

    let killed = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn rejects_a_bad_token_spec() {
    let out = Command::new(env!("CARGO_BIN_EXE_netskope-sim"))
        .args(["--token", "t:/x=admin"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown privilege"));
}
