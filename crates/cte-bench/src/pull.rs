//! The pull target of issue 8: 100,000 alerts from the tenant in under 5 seconds.
//!
//! Each run: a fresh `netskope-sim` serving half malware, half malsite alerts from the last six
//! days, a fresh `cte-server`, the simulator saved as a tenant and a Netskope configuration pulling
//! both kinds over a 7-day initial range (as `bins/cte-worker/tests/pull_e2e.rs` does), then
//! `cte-worker pull --once` timed from spawn to exit. The stored IoCs are counted over REST and
//! compared with what the engine's mapping makes of the simulator's alerts, computed here from the
//! same seed (alerts repeat values, so IoCs are fewer than the values they carry).

use std::collections::HashSet;
use std::process::Command;
use std::time::Duration;

use anyhow::{ensure, Context};
use cte_core::normalize::normalize_value;
use cte_core::tenant::Alert;
use cte_core::tenant_config::ThreatDataType;
use cte_engine::pull::indicators_from_alert;
use netskope_sim::AlertSpec;
use serde_json::json;

use crate::child::{self, run_measured};
use crate::server::Server;
use crate::sim::{self, Sim};
use crate::stats::summarize;
use crate::{loadavg, Args, Figure};

const TENANT: &str = "Bench";
const CONFIG: &str = "NS pull";

/// What a pull of `spec` must store: the distinct normalised values the engine's mapping makes
/// of the alerts; also how many values the alerts carry in all, and how many do not normalise.
fn expected(spec: &AlertSpec, tenant_label: &str) -> (usize, usize, usize) {
    let (malware, malsite) = netskope_sim::generate_alerts(spec);
    let types = [
        ThreatDataType::Md5,
        ThreatDataType::Sha256,
        ThreatDataType::Url,
    ];
    let mut values = HashSet::new();
    let (mut carried, mut invalid) = (0, 0);
    for raw in malware.into_iter().chain(malsite) {
        let alert = Alert::from_value(raw);
        for r in indicators_from_alert(&alert, CONFIG, tenant_label, &types) {
            carried += 1;
            match normalize_value(r.kind, &r.value) {
                Ok(v) => {
                    values.insert(v);
                }
                Err(_) => invalid += 1,
            }
        }
    }
    (values.len(), carried, invalid)
}

struct PullRun {
    secs: f64,
    peak_kib: u64,
    stored: u64,
    message: String,
}

/// Runs the pull measure; returns its figure (or a "skipped" row).
pub async fn run(
    args: &Args,
    server_bin: &std::path::Path,
    http: &reqwest::Client,
) -> anyhow::Result<Vec<Figure>> {
    let t = &args.tenant;
    if t.skip_pull {
        return Ok(vec![Figure::missing(
            "pull_alerts",
            "pull of alerts from netskope-sim",
            "< 5 s",
            "",
        )
        .note("skipped (--skip-pull)")]);
    }
    let alerts = t
        .pull_alerts
        .unwrap_or(if args.quick { 20_000 } else { 100_000 });
    let worker_bin = child::locate("cte-worker", "cte-worker", t.worker_bin.clone())?;
    let sim_bin = child::locate("netskope-sim", "netskope-sim", t.sim_bin.clone())?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let spec = AlertSpec {
        seed: args.seed,
        malware_count: (alerts / 2) as usize,
        malsite_count: (alerts - alerts / 2) as usize,
        // Inside the configuration's 7-day initial range, and before the worker starts.
        start_epoch: now - 6 * 86_400,
        end_epoch: now - 600,
    };
    let sim_args: Vec<String> = vec![
        "--seed".to_string(),
        spec.seed.to_string(),
        "--malware-alerts".into(),
        spec.malware_count.to_string(),
        "--malsite-alerts".into(),
        spec.malsite_count.to_string(),
        "--alert-start".into(),
        spec.start_epoch.to_string(),
        "--alert-end".into(),
        spec.end_epoch.to_string(),
        "--page-size".into(),
        t.pull_page_size.to_string(),
        // The worker sleeps for a caught-up iterator's wait_time; a real tenant's is outside
        // what is measured here.
        "--wait-time".into(),
        "0".into(),
    ];
    let repeat = t.pull_repeat.max(1);
    eprintln!(
        "pull: {alerts} alerts, pages of {}, {repeat} run(s), load {}",
        t.pull_page_size,
        loadavg()
    );

    let mut runs = Vec::new();
    let mut want = None;
    for r in 0..repeat {
        let dir = match args.tmp.as_deref() {
            Some(root) => tempfile::tempdir_in(root)?,
            None => tempfile::tempdir()?,
        };
        let sim = Sim::start(&sim_bin, &sim_args, &dir.path().join("sim.log"))?;
        if want.is_none() {
            // The engine labels comments with the tenant URL; the count does not depend on it.
            want = Some(expected(&spec, &sim.base));
        }
        let (want_iocs, _, _) = want.context("expected IoCs")?;
        let server = Server::start(server_bin, http, args.tmp.as_deref()).await?;
        sim::save_tenant(http, &server, &sim, TENANT).await?;
        sim::save_netskope_configuration(
            http,
            &server,
            CONFIG,
            TENANT,
            json!({"is_pull_required": "Yes", "threat_data_type": "Both", "days": 7,
                   "enable_tagging": "yes"}),
        )
        .await?;
        let mut cmd = Command::new(&worker_bin);
        cmd.arg("--db")
            .arg(&server.db)
            .args(["--max-wait", "1", "pull", "--once"])
            .env("CTE_LOG", "info");
        let log = dir.path().join("worker-pull.log");
        let m =
            tokio::task::spawn_blocking(move || run_measured(cmd, &log, Duration::from_secs(600)))
                .await??;
        ensure!(
            m.status.success(),
            "cte-worker pull --once exited {}: {}",
            m.status,
            m.log
        );
        let stored = sim::stored_count(http, &server).await?;
        let message = sim::last_run_message(http, &server, CONFIG, "pull").await?;
        ensure!(
            stored == want_iocs as u64,
            "the pull stored {stored} IoCs, the alerts hold {want_iocs}: {message}"
        );
        eprintln!(
            "  run {}/{repeat}: {:.2} s, {stored} IoCs, peak RSS {:.1} MiB",
            r + 1,
            m.wall.as_secs_f64(),
            m.peak_kib as f64 / 1024.0
        );
        runs.push(PullRun {
            secs: m.wall.as_secs_f64(),
            peak_kib: m.peak_kib,
            stored,
            message,
        });
    }
    let (_, carried, invalid) = want.context("expected IoCs")?;
    let secs: Vec<f64> = runs.iter().map(|r| r.secs).collect();
    let rates: Vec<f64> = secs.iter().map(|s| alerts as f64 / s).collect();
    let peaks: Vec<f64> = runs.iter().map(|r| r.peak_kib as f64 / 1024.0).collect();
    let last = runs.last().context("no pull run")?;
    Ok(vec![Figure::measured(
        "pull_alerts",
        format!(
            "pull of {alerts} alerts from netskope-sim, pages of {}",
            t.pull_page_size
        ),
        "s",
        &secs,
        "< 5 s",
        |s| s.median < 5.0,
    )
    .note(format!(
        "cte-worker pull --once, spawn to exit; {:.0} alerts/s median; {} IoCs stored = distinct values of {carried} the alerts carry ({invalid} invalid); worker peak RSS {:.1} MiB median; \"{}\"; load {}",
        summarize(&rates).median,
        last.stored,
        summarize(&peaks).median,
        last.message,
        loadavg()
    ))])
}
