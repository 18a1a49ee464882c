//! The real `cte-server` binary as a child process on a loopback port with a temporary database,
//! a token made with its CLI, and its memory as `/proc/<pid>/status` reports it.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use serde_json::{json, Value};

use crate::gen;

/// Finds the `cte-server` binary: `--server-bin`, else next to this executable. Under
/// `cargo run` (which sets `CARGO`) it is built first, so the bench never measures a stale server.
pub fn locate(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    crate::child::locate("cte-server", "cte-server", explicit)
}

/// Memory of a process, in KiB.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Memory {
    /// Resident set size now.
    pub rss_kib: u64,
    /// Peak resident set size.
    pub hwm_kib: u64,
}

/// Reads `VmRSS` and `VmHWM` of `pid`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read /proc/{pid}/status"))?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok(Memory {
        rss_kib: field("VmRSS:"),
        hwm_kib: field("VmHWM:"),
    })
}

/// CPU time (user + system) `pid` has used so far, in seconds, from `/proc/<pid>/stat`. Unlike
/// wall-clock rates it barely moves when other work shares the machine.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("cannot read /proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at field 3; utime and stime are
    // fields 14 and 15.
    let rest = text.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> u64 { fields.get(i).and_then(|f| f.parse().ok()).unwrap_or(0) };
    Ok((ticks(11) + ticks(12)) as f64 / clock_ticks_per_second())
}

fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// A running server; killed on drop. The database lives in `dir`, removed on drop.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// `Bearer ...` for a `cte_read,cte_write,admin` token.
    pub bearer: String,
    /// The database file, for `cte-worker` and in-process reads.
    pub db: PathBuf,
    /// Process id, for `/proc`.
    pub pid: u32,
    /// Memory right after the server started listening, before any request.
    pub idle: Memory,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    /// SIGTERM first, so the server (or a profiler wrapping it) shuts down cleanly; SIGKILL if it
    /// has not exited after five seconds.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn create_token(bin: &Path, db: &Path) -> anyhow::Result<(String, String)> {
    let out = Command::new(bin)
        .arg("--db")
        .arg(db)
        // `admin` lets the share and pull benches save a tenant.
        .args(["token", "create", "--scopes", "cte_read,cte_write,admin"])
        .args(["--description", "cte-bench"])
        .env("CTE_LOG", "warn")
        .stderr(Stdio::inherit())
        .output()
        .context("cannot run cte-server token create")?;
    ensure!(out.status.success(), "cte-server token create failed");
    let v: Value = serde_json::from_slice(&out.stdout).context("token create printed no JSON")?;
    let field = |k: &str| {
        v[k].as_str()
            .map(str::to_string)
            .with_context(|| format!("token create printed no {k}"))
    };
    Ok((field("client_id")?, field("client_secret")?))
}

impl Server {
    /// Starts `bin` on a free loopback port with an empty database in a temporary directory under
    /// `tmp_root` (the system default when `None`), logs in, and creates the bench's sources and tags.
    pub async fn start(
        bin: &Path,
        http: &reqwest::Client,
        tmp_root: Option<&Path>,
    ) -> anyhow::Result<Server> {
        let dir = match tmp_root {
            Some(root) => tempfile::tempdir_in(root)?,
            None => tempfile::tempdir()?,
        };
        let db = dir.path().join("cte.db");
        let (id, secret) = create_token(bin, &db)?;
        let port = free_port()?;
        let child = Command::new(bin)
            .arg("--db")
            .arg(&db)
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .env("CTE_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("cte-server.log"))?)
            .spawn()
            .context("cannot start cte-server")?;
        let pid = child.id();
        let mut server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            bearer: String::new(),
            db: db.clone(),
            pid,
            idle: Memory::default(),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait()? {
                bail!("cte-server exited at start: {status}");
            }
            ensure!(
                Instant::now() < deadline,
                "cte-server did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        server.idle = memory(pid)?;

        let auth: Value = http
            .post(format!("{}/api/auth", server.base))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
            ])
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let token = auth["access_token"]
            .as_str()
            .context("login answered no access_token")?;
        server.bearer = format!("Bearer {token}");

        for name in gen::SOURCES {
            server
                .post_json(
                    http,
                    "/api/cte/plugins/configurations/api_sources",
                    &json!({"name": name, "ageAfterDays": 90, "reputation": 0}),
                )
                .await?;
        }
        for name in gen::TAGS {
            server
                .post_json(
                    http,
                    "/api/cte/tags",
                    &json!({"name": name, "color": "#5E6AD2"}),
                )
                .await?;
        }
        Ok(server)
    }

    async fn post_json(
        &self,
        http: &reqwest::Client,
        path: &str,
        body: &Value,
    ) -> anyhow::Result<()> {
        let r = http
            .post(format!("{}{path}", self.base))
            .header("Authorization", &self.bearer)
            .json(body)
            .send()
            .await?;
        let status = r.status();
        ensure!(
            status.is_success(),
            "POST {path} answered {status}: {}",
            r.text().await.unwrap_or_default()
        );
        Ok(())
    }

    /// Memory now.
    pub fn memory(&self) -> anyhow::Result<Memory> {
        memory(self.pid)
    }

    /// CPU seconds used so far.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        cpu_seconds(self.pid)
    }

    /// Posts `bodies` in order, keeping up to `clients` requests in flight, each on its own
    /// connection. Returns, per request in order, the time from the previous request's answer (or
    /// the start) to its answer, so that the intervals add up to the wall time and any run of them
    /// gives the throughput of that stretch; the latency of each request; and the size of the last
    /// answer.
    pub async fn post_all(
        &self,
        http: &reqwest::Client,
        bodies: Vec<Vec<u8>>,
        clients: usize,
    ) -> anyhow::Result<Posted> {
        let mut pending = std::collections::VecDeque::new();
        let mut bodies = bodies.into_iter();
        let start = Instant::now();
        let mut last = start;
        let mut posted = Posted::default();
        loop {
            while pending.len() < clients.max(1) {
                let Some(body) = bodies.next() else { break };
                let (http, base, bearer) = (http.clone(), self.base.clone(), self.bearer.clone());
                pending.push_back(tokio::spawn(async move {
                    let t0 = Instant::now();
                    let n = post_indicators(&http, &base, &bearer, body).await?;
                    anyhow::Ok((t0.elapsed(), n))
                }));
            }
            let Some(next) = pending.pop_front() else {
                break;
            };
            let (latency, n) = next.await??;
            let now = Instant::now();
            posted.intervals.push(now - last);
            posted.latencies.push(latency);
            posted.answer_bytes = n;
            last = now;
        }
        Ok(posted)
    }
}

/// What [`Server::post_all`] measured.
#[derive(Debug, Default)]
pub struct Posted {
    /// Per request: time from the previous answer (or the start) to this one.
    pub intervals: Vec<Duration>,
    /// Per request: time from send to the last byte of the answer.
    pub latencies: Vec<Duration>,
    /// Size of the last answer.
    pub answer_bytes: usize,
}

async fn post_indicators(
    http: &reqwest::Client,
    base: &str,
    bearer: &str,
    body: Vec<u8>,
) -> anyhow::Result<usize> {
    let r = http
        .post(format!("{base}/api/cte/indicators/"))
        .header("Authorization", bearer)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = r.status();
    let bytes = r.bytes().await?;
    ensure!(
        status == reqwest::StatusCode::CREATED,
        "POST /api/cte/indicators/ answered {status}: {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
    );
    Ok(bytes.len())
}

impl Server {
    /// `GET /api/cte/indicators/` with `query`; waits for the whole answer. `Ok(Err(text))` when
    /// the server refuses the query (e.g. a filter it does not support yet).
    pub async fn list(
        &self,
        http: &reqwest::Client,
        query: &[(&str, String)],
    ) -> anyhow::Result<Result<usize, String>> {
        let r = http
            .get(format!("{}/api/cte/indicators/", self.base))
            .header("Authorization", &self.bearer)
            .query(query)
            .send()
            .await?;
        let status = r.status();
        let bytes = r.bytes().await?;
        if status.is_success() {
            Ok(Ok(bytes.len()))
        } else if status.is_client_error() {
            Ok(Err(format!(
                "{status}: {}",
                String::from_utf8_lossy(&bytes)
            )))
        } else {
            bail!("GET /api/cte/indicators/ answered {status}")
        }
    }

    /// Reads every indicator through cursor pages of `page` (`GET ...?cursor=&limit=`, following
    /// `X-Next-Cursor`). Returns the number of indicators and of pages. `Ok(Err(text))` when the
    /// server does not page with cursors.
    pub async fn export(
        &self,
        http: &reqwest::Client,
        page: u64,
    ) -> anyhow::Result<Result<(u64, u64), String>> {
        let mut cursor = String::new();
        let (mut n, mut pages) = (0u64, 0u64);
        loop {
            let r = http
                .get(format!("{}/api/cte/indicators/", self.base))
                .header("Authorization", &self.bearer)
                .query(&[("limit", page.to_string()), ("cursor", cursor.clone())])
                .send()
                .await?;
            let status = r.status();
            let next = r
                .headers()
                .get("x-next-cursor")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let bytes = r.bytes().await?;
            if status.is_client_error() {
                return Ok(Err(format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&bytes)
                )));
            }
            ensure!(status.is_success(), "export page answered {status}");
            // Each indicator object starts with its first key; counting them is cheaper than
            // parsing 7 MB pages on the client, which shares the machine with the server.
            n += count(&bytes, br#"{"active":"#);
            pages += 1;
            match next {
                Some(c) => cursor = c,
                None => return Ok(Ok((n, pages))),
            }
        }
    }
}

fn count(hay: &[u8], needle: &[u8]) -> u64 {
    hay.windows(needle.len()).filter(|w| *w == needle).count() as u64
}
