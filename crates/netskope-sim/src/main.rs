//! `netskope-sim`: runs the simulated tenant until SIGINT/SIGTERM and prints its addresses as one JSON line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;
use netskope_sim::{AlertSpec, SimConfig, SimToken};

/// A simulated Netskope tenant for tests (loopback only).
#[derive(Debug, Parser)]
#[command(name = "netskope-sim", version)]
struct Args {
    /// Plain HTTP listen address (loopback only).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Also serve HTTPS on this address (loopback only), with a certificate generated at startup.
    #[arg(long)]
    tls_listen: Option<SocketAddr>,
    /// Write the PEM of the CA that issued the HTTPS certificate here.
    #[arg(long)]
    cert_out: Option<PathBuf>,
    /// REST API v2 token: `TOKEN` (full privileges) or `TOKEN:/api/v2/policy/urllist=rw,/api/v2/events/dataexport=r`.
    /// Repeatable. Default: `test-token` with full privileges.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// REST API v1 token for `/api/v1/updateFileHashList`. Repeatable. Default: `test-v1-token`.
    #[arg(long = "v1-token")]
    v1_tokens: Vec<String>,
    /// Pre-created file hash list. Repeatable.
    #[arg(long = "hash-list")]
    hash_lists: Vec<String>,
    /// Alert generator seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Number of malware alerts and of malsite alerts each (see --malware-alerts/--malsite-alerts to differ).
    #[arg(long, default_value_t = 50)]
    alerts: usize,
    /// Number of malware alerts (overrides --alerts).
    #[arg(long)]
    malware_alerts: Option<usize>,
    /// Number of malsite alerts (overrides --alerts).
    #[arg(long)]
    malsite_alerts: Option<usize>,
    /// First alert timestamp (epoch seconds). Default: 2024-01-01T00:00:00Z.
    #[arg(long, default_value_t = AlertSpec::default().start_epoch)]
    alert_start: i64,
    /// Last alert timestamp (epoch seconds). Default: 2024-01-08T00:00:00Z.
    #[arg(long, default_value_t = AlertSpec::default().end_epoch)]
    alert_end: i64,
    /// Records per Data Export chunk.
    #[arg(long, default_value_t = 100)]
    page_size: usize,
    /// `wait_time` (seconds) sent when an iterator has caught up.
    #[arg(long, default_value_t = 1)]
    wait_time: u64,
    /// Global rate limit in requests per second (off when absent).
    #[arg(long)]
    rate_limit: Option<u32>,
    /// Also accept `POST /api/v2/policy/deploy` (the path the released SDK and CLI use; 404 on a real tenant).
    #[arg(long)]
    legacy_deploy_alias: bool,
    /// Fault armed at startup, as JSON, e.g. `{"kind":"fail","status":503,"count":2}`. Repeatable.
    #[arg(long = "fault")]
    faults: Vec<String>,
    /// Load state from this JSON file at startup (if it exists) and save it there at shutdown.
    #[arg(long)]
    snapshot: Option<PathBuf>,
}

impl Args {
    fn into_config(self) -> Result<SimConfig, netskope_sim::SimError> {
        let defaults = SimConfig::default();
        let tokens = if self.tokens.is_empty() {
            defaults.tokens
        } else {
            self.tokens
                .iter()
                .map(|t| SimToken::parse(t))
                .collect::<Result<_, _>>()?
        };
        let faults = self
            .faults
            .iter()
            .map(|f| {
                serde_json::from_str(f)
                    .map_err(|e| netskope_sim::SimError::Config(format!("--fault {f}: {e}")))
            })
            .collect::<Result<_, _>>()?;
        Ok(SimConfig {
            listen: self.listen,
            tls: self.tls_listen.is_some(),
            tls_listen: self.tls_listen.unwrap_or(defaults.tls_listen),
            cert_out: self.cert_out,
            tokens,
            v1_tokens: if self.v1_tokens.is_empty() {
                defaults.v1_tokens
            } else {
                self.v1_tokens
            },
            hash_lists: self.hash_lists,
            rate_limit_rps: self.rate_limit,
            alerts: AlertSpec {
                seed: self.seed,
                malware_count: self.malware_alerts.unwrap_or(self.alerts),
                malsite_count: self.malsite_alerts.unwrap_or(self.alerts),
                start_epoch: self.alert_start,
                end_epoch: self.alert_end,
            },
            page_size: self.page_size,
            wait_time: self.wait_time,
            legacy_deploy_alias: self.legacy_deploy_alias,
            snapshot: self.snapshot,
            faults,
            ..defaults
        })
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    let config = match Args::parse().into_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("netskope-sim: {err}");
            return std::process::ExitCode::from(2);
        }
    };
    let sim = match netskope_sim::spawn(config).await {
        Ok(sim) => sim,
        Err(err) => {
            eprintln!("netskope-sim: cannot start: {err}");
            return std::process::ExitCode::from(1);
        }
    };
    let line = serde_json::json!({
        "http": sim.addr.to_string(),
        "https": sim.tls_addr.map(|a| a.to_string()),
    });
    // The handlers are in place before the line is printed: whoever reads it may signal at once
    // (a test under load once killed the process in the gap).
    let signalled = wait_for_signal();
    println!("{line}");
    signalled.await;
    sim.shutdown().await;
    std::process::ExitCode::SUCCESS
}

/// Installs the SIGINT/SIGTERM handlers now (on Unix; not when first polled) and returns a
/// future that ends at the first of them.
fn wait_for_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    let handlers = {
        use tokio::signal::unix::{signal, SignalKind};
        signal(SignalKind::terminate())
            .and_then(|term| Ok((term, signal(SignalKind::interrupt())?)))
            .ok()
    };
    async move {
        #[cfg(unix)]
        if let Some((mut term, mut interrupt)) = handlers {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
            return;
        }
        let _ = tokio::signal::ctrl_c().await;
    }
}
