//! Helpers shared by the end-to-end tests: the built binaries (`cte-server`, `netskope-sim` next to
//! `cte-worker`), child processes killed on drop, and a small REST client.
#![allow(dead_code)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use netskope_sim::AlertSpec;
use serde_json::Value;

pub const WORKER: &str = env!("CARGO_BIN_EXE_cte-worker");

pub const GOOD: &str = "e2e-good-v2-token-4f1c9";
pub const OTHER: &str = "e2e-other-v2-token-8a2d";
pub const V1: &str = "e2e-v1-token-33ab";
pub const TOKENS: [&str; 3] = [GOOD, OTHER, V1];

/// A binary built next to `cte-worker`.
pub fn sibling(name: &str) -> PathBuf {
    let path = Path::new(WORKER)
        .parent()
        .expect("binary directory")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{name} is not built next to cte-worker; run `cargo test --workspace`, or \
         `cargo build -p cte-server -p netskope-sim` before `cargo test -p cte-worker`"
    );
    path
}

/// A child process killed (and reaped) on drop.
pub struct Proc {
    pub child: Child,
    pub stderr: PathBuf,
}

impl Proc {
    pub fn spawn(mut cmd: Command, stderr: PathBuf) -> Proc {
        let err = File::create(&stderr).unwrap();
        let child = cmd
            .stderr(err)
            .env("CTE_LOG", "debug")
            .spawn()
            .expect("spawn");
        Proc { child, stderr }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// Waits up to `limit` for the process to exit.
    pub fn wait_for(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn now_epoch() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Starts `netskope-sim` with `spec` and the two tokens; returns it and its base URL.
pub fn start_sim(dir: &Path, name: &str, spec: &AlertSpec) -> (Proc, String) {
    let args: Vec<String> = [
        "--token",
        GOOD,
        "--token",
        OTHER,
        "--seed",
        &spec.seed.to_string(),
        "--malware-alerts",
        &spec.malware_count.to_string(),
        "--malsite-alerts",
        &spec.malsite_count.to_string(),
        "--alert-start",
        &spec.start_epoch.to_string(),
        "--alert-end",
        &spec.end_epoch.to_string(),
        "--page-size",
        "7",
        "--wait-time",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    start_sim_with(dir, name, &args)
}

/// Starts `netskope-sim --listen 127.0.0.1:0 ARGS`; returns it and its base URL.
pub fn start_sim_with(dir: &Path, name: &str, args: &[String]) -> (Proc, String) {
    let mut cmd = Command::new(sibling("netskope-sim"));
    cmd.args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped());
    let mut proc = Proc::spawn(cmd, dir.join(format!("{name}.log")));
    let stdout = proc.child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(20))
        .expect("netskope-sim printed its address");
    let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
    let addr = v["http"].as_str().unwrap().to_string();
    assert!(addr.starts_with("127.0.0.1:"), "{addr}");
    (proc, format!("http://{addr}"))
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn start_server(dir: &Path, db: &Path) -> (Proc, String) {
    let port = free_port();
    let mut cmd = Command::new(sibling("cte-server"));
    cmd.args(["--db", db.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null());
    let mut proc = Proc::spawn(cmd, dir.join("server.log"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            proc.child.try_wait().unwrap().is_none(),
            "cte-server exited: {}",
            proc.log()
        );
        assert!(Instant::now() < deadline, "cte-server did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (proc, format!("http://127.0.0.1:{port}"))
}

pub fn create_admin_token(db: &Path) -> (String, String) {
    let out = Command::new(sibling("cte-server"))
        .args(["--db", db.to_str().unwrap()])
        .args(["token", "create", "--scopes", "cte_read,cte_write,admin"])
        .args(["--description", "e2e"])
        .output()
        .expect("token create");
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().unwrap().to_string(),
    )
}

/// Runs `cte-worker --db DB ARGS` to completion (at most 120 s); returns its exit code and log.
pub fn worker(dir: &Path, db: &Path, args: &[&str], run: u32) -> (i32, String) {
    let mut cmd = Command::new(WORKER);
    cmd.args(["--db", db.to_str().unwrap(), "--max-wait", "1"])
        .args(args)
        .stdout(Stdio::null());
    let mut proc = Proc::spawn(cmd, dir.join(format!("worker-{run}.log")));
    let status = proc
        .wait_for(Duration::from_secs(120))
        .unwrap_or_else(|| panic!("cte-worker {args:?} did not finish: {}", proc.log()));
    (status.code().expect("exit code"), proc.log())
}

pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub bearer: String,
}

impl Api {
    pub async fn login(base: &str, id: &str, secret: &str) -> Api {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        let auth: Value = http
            .post(format!("{base}/api/auth"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        Api {
            http,
            base: base.to_string(),
            bearer: format!("Bearer {}", auth["access_token"].as_str().unwrap()),
        }
    }

    /// Status and raw text.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, String) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("Authorization", &self.bearer);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub async fn json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (s, text) = self.call(method, path, body).await;
        assert_no_token(path, &text);
        (s, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub async fn configurations(&self) -> HashMap<String, Value> {
        let (s, v) = self
            .json(
                reqwest::Method::GET,
                "/api/cte/plugins/configurations",
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| (c["name"].as_str().unwrap().to_string(), c.clone()))
            .collect()
    }

    /// Every indicator, by value.
    pub async fn indicators(&self) -> HashMap<String, Value> {
        let mut out = HashMap::new();
        for page in 0..100 {
            let (s, v) = self
                .json(
                    reqwest::Method::GET,
                    &format!(
                        "/api/cte/indicators/?limit=100&skip={}&sort=value",
                        page * 100
                    ),
                    None,
                )
                .await;
            assert_eq!(s, 200, "{v}");
            let items = v.as_array().unwrap();
            for i in items {
                out.insert(i["value"].as_str().unwrap().to_string(), i.clone());
            }
            if items.len() < 100 {
                return out;
            }
        }
        panic!("more than 10000 indicators");
    }
}

#[track_caller]
pub fn assert_no_token(what: &str, text: &str) {
    for t in TOKENS {
        assert!(!text.contains(t), "{what} shows a tenant token: {text}");
    }
}
