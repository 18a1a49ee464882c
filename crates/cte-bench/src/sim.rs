//! The tenant side of the share and pull benches: `netskope-sim` as a child process on a free
//! loopback port, its `/__sim/*` inspection endpoints, and the REST calls that save a tenant and a
//! Netskope configuration on the bench's `cte-server`, as `bins/cte-worker/tests/*_e2e.rs` do.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{ensure, Context};
use serde_json::{json, Value};

use crate::child::Guard;
use crate::server::Server;

/// Flags of the benches against the simulated tenant (share and pull).
#[derive(clap::Args, Debug, serde::Serialize)]
pub struct TenantArgs {
    /// Matching IoCs for the share plan and the worker's share run (default 300,000; 30,000 with
    /// --quick).
    #[arg(long)]
    pub share_rows: Option<u64>,
    /// Timed in-process share plans (REST previews: at most 3).
    #[arg(long, default_value_t = 5)]
    pub share_plan_repeat: u32,
    /// Do not measure the share plan and the worker's share run.
    #[arg(long)]
    pub skip_share: bool,
    /// Alerts the simulator serves to the pull, half malware, half malsite (default 100,000;
    /// 20,000 with --quick).
    #[arg(long)]
    pub pull_alerts: Option<u64>,
    /// Alerts per Data Export page the simulator serves.
    #[arg(long, default_value_t = 10_000)]
    pub pull_page_size: usize,
    /// Pulls, each into a fresh database from a fresh simulator.
    #[arg(long, default_value_t = 3)]
    pub pull_repeat: u32,
    /// Do not measure the pull.
    #[arg(long)]
    pub skip_pull: bool,
    /// The `cte-worker` binary (default: built by cargo next to this one).
    #[arg(long)]
    pub worker_bin: Option<std::path::PathBuf>,
    /// The `netskope-sim` binary (default: built by cargo next to this one).
    #[arg(long)]
    pub sim_bin: Option<std::path::PathBuf>,
}

/// REST API v2 token the simulator accepts (full privileges).
pub const V2_TOKEN: &str = "cte-bench-v2-token";
/// REST API v1 token (file hash lists).
pub const V1_TOKEN: &str = "cte-bench-v1-token";

/// A running simulator; killed on drop.
pub struct Sim {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    _proc: Guard,
}

impl Sim {
    /// Starts `bin --listen 127.0.0.1:0 --token V2 --v1-token V1 ARGS` with its log in `log`, and
    /// waits (at most 60 s: generating many alerts takes a moment) for the address it prints.
    pub fn start(bin: &Path, args: &[String], log: &Path) -> anyhow::Result<Sim> {
        let mut cmd = Command::new(bin);
        cmd.args(["--listen", "127.0.0.1:0", "--token", V2_TOKEN])
            .args(["--v1-token", V1_TOKEN])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log)?);
        let mut proc = Guard::spawn(cmd, "netskope-sim")?;
        let stdout = proc
            .child
            .stdout
            .take()
            .context("netskope-sim has no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .context("netskope-sim did not print its address within 60 s")?;
        let v: Value = serde_json::from_str(&line)
            .with_context(|| format!("netskope-sim printed {line:?}, not its address"))?;
        let addr = v["http"]
            .as_str()
            .context("netskope-sim printed no http address")?;
        ensure!(
            addr.starts_with("127.0.0.1:"),
            "netskope-sim listens on {addr}"
        );
        Ok(Sim {
            base: format!("http://{addr}"),
            _proc: proc,
        })
    }

    /// `GET /__sim/<path>` as JSON.
    pub async fn inspect(&self, http: &reqwest::Client, path: &str) -> anyhow::Result<Value> {
        let r = http
            .get(format!("{}/__sim/{path}", self.base))
            .send()
            .await?;
        let status = r.status();
        ensure!(status.is_success(), "GET /__sim/{path} answered {status}");
        Ok(r.json().await?)
    }

    /// `DELETE /__sim/requests`: empties the simulator's request log.
    pub async fn clear_requests(&self, http: &reqwest::Client) -> anyhow::Result<()> {
        let r = http
            .delete(format!("{}/__sim/requests", self.base))
            .send()
            .await?;
        ensure!(
            r.status().is_success(),
            "DELETE /__sim/requests answered {}",
            r.status()
        );
        Ok(())
    }
}

/// A REST call on the bench's server that must answer 2xx; returns the JSON answer (`null` when
/// the body is empty or not JSON).
pub async fn call(
    http: &reqwest::Client,
    server: &Server,
    method: reqwest::Method,
    path: &str,
    body: Option<&Value>,
) -> anyhow::Result<Value> {
    let mut req = http
        .request(method.clone(), format!("{}{path}", server.base))
        .header("Authorization", &server.bearer);
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await?;
    let status = r.status();
    let bytes = r.bytes().await?;
    ensure!(
        status.is_success(),
        "{method} {path} answered {status}: {}",
        String::from_utf8_lossy(&bytes[..bytes.len().min(500)])
    );
    Ok(serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Saves the simulator as tenant `name` (the server checks the token against it).
pub async fn save_tenant(
    http: &reqwest::Client,
    server: &Server,
    sim: &Sim,
    name: &str,
) -> anyhow::Result<()> {
    call(
        http,
        server,
        reqwest::Method::POST,
        "/api/settings/tenants",
        Some(
            &json!({"name": name, "tenantName": sim.base, "token": V1_TOKEN,
                     "v2token": V2_TOKEN, "initialRange": 7, "useSystemProxy": false}),
        ),
    )
    .await?;
    Ok(())
}

/// Saves a Netskope configuration `name` on `tenant` with `parameters`.
pub async fn save_netskope_configuration(
    http: &reqwest::Client,
    server: &Server,
    name: &str,
    tenant: &str,
    parameters: Value,
) -> anyhow::Result<()> {
    call(
        http,
        server,
        reqwest::Method::POST,
        "/api/cte/plugins/configurations/netskope",
        Some(
            &json!({"name": name, "tenant": tenant, "reputation": 0, "ageAfterDays": 30,
                     "parameters": parameters}),
        ),
    )
    .await?;
    Ok(())
}

/// The last-run message of configuration `name` for `kind` (`pull` or `share`).
pub async fn last_run_message(
    http: &reqwest::Client,
    server: &Server,
    name: &str,
    kind: &str,
) -> anyhow::Result<String> {
    let configs = call(
        http,
        server,
        reqwest::Method::GET,
        "/api/cte/plugins/configurations",
        None,
    )
    .await?;
    let config = configs
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .with_context(|| format!("no configuration {name}"))?;
    Ok(config["lastRunMessage"][kind]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// `GET /api/cte/indicators/?aggregate=true`: how many indicators are stored.
pub async fn stored_count(http: &reqwest::Client, server: &Server) -> anyhow::Result<u64> {
    let v = call(
        http,
        server,
        reqwest::Method::GET,
        "/api/cte/indicators/?aggregate=true",
        None,
    )
    .await?;
    v["count"].as_u64().context("aggregate answered no count")
}
