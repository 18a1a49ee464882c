//! `cte-worker`: runs the Threat Exchange cycles against the SQLite store and the Netskope tenants:
//! once (for cron) or in a loop until SIGINT/SIGTERM.
//!
//! Exit codes: 0 every configuration succeeded, 1 some configuration failed, 2 configuration or
//! database error.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cte_core::config::{Configuration, PluginKind, RunStatus};
use cte_core::store::Store;
use cte_engine::age::age_cycle;
use cte_engine::pull::{pull_all, PullOptions};
use cte_engine::share::{share_all_until, ShareError, ShareLease};
use cte_netskope::NetskopeConnector;
use cte_process::config::{config_file, ConfigError};
use cte_process::LogFormat;
use cte_store_sqlite::SqliteStore;

mod status;
use serde::{Deserialize, Serialize};

#[derive(Parser)]
#[command(
    version,
    about = "Threat Exchange worker: pull, share and age cycles",
    long_about = "Threat Exchange worker: pulls IoCs from Netskope tenants, shares business \
        rules' IoCs to their URL lists and file hash lists, and ages indicators; one cycle for \
        cron (--once) or a loop until SIGINT/SIGTERM.\n\n\
        Settings come from, lowest first: defaults, a TOML file (--config or CTE_CONFIG), \
        CTE_* environment variables (CTE_DB for `db`, ...), and the flags below. Every key \
        and default: docs/OPERATIONS.md.\n\n\
        Exit codes: 0 every configuration succeeded, 1 some configuration failed, 2 a \
        configuration or database error."
)]
struct Cli {
    /// TOML configuration file [env: CTE_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    flags: WorkerFlags,
    #[command(subcommand)]
    command: Command,
}

/// The settings flags; unset ones leave the key to the file, the environment or the default.
#[derive(clap::Args, Serialize, Default)]
struct WorkerFlags {
    /// SQLite database file [key: db; env: CTE_DB; default: cte.db].
    #[arg(long, global = true, value_name = "PATH")]
    #[serde(skip_serializing_if = "Option::is_none")]
    db: Option<PathBuf>,
    /// Longest wait honoured for a tenant's `wait_time` hint, in seconds [key: max_wait; env:
    /// CTE_MAX_WAIT; default: 30].
    #[arg(long, global = true, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_wait: Option<u64>,
    /// Seconds the share lease outlives its holder's last renewal (renewed every third of it while
    /// sharing): a worker killed mid-share keeps others out for at most this long, 1..86400 [key:
    /// share_lease_seconds; env: CTE_SHARE_LEASE_SECONDS; default: 60].
    #[arg(long, global = true, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    share_lease_seconds: Option<u64>,
    /// Log filter, e.g. `info` or `info,cte_engine=debug` [key: log; env: CTE_LOG; default: info].
    #[arg(long, global = true, value_name = "FILTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    /// Log line format [key: log_format; env: CTE_LOG_FORMAT; default: text].
    #[arg(long, global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
    /// For `run`: hours between age cycles, 1..8760 [key: age_every_hours; env:
    /// CTE_AGE_EVERY_HOURS; default: 12].
    #[arg(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    age_every_hours: Option<u64>,
}

/// Every setting of `cte-worker`, after layering (see `docs/OPERATIONS.md`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkerConfig {
    db: PathBuf,
    max_wait: u64,
    share_lease_seconds: u64,
    age_every_hours: u64,
    log: String,
    log_format: LogFormat,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            db: "cte.db".into(),
            max_wait: 30,
            share_lease_seconds: 60,
            age_every_hours: 12,
            log: "info".into(),
            log_format: LogFormat::Text,
        }
    }
}

impl WorkerConfig {
    /// The layered configuration, with its ranges checked.
    fn load(file: Option<&std::path::Path>, flags: &WorkerFlags) -> Result<Self, ConfigError> {
        let config: WorkerConfig = cte_process::config::load(file, flags)?;
        if !(1..=86_400).contains(&config.share_lease_seconds) {
            return Err(ConfigError::invalid(
                "share_lease_seconds",
                format!("{} is not in 1..86400", config.share_lease_seconds),
            ));
        }
        if !(1..=8_760).contains(&config.age_every_hours) {
            return Err(ConfigError::invalid(
                "age_every_hours",
                format!("{} is not in 1..8760", config.age_every_hours),
            ));
        }
        Ok(config)
    }
}

#[derive(Subcommand)]
enum Command {
    /// Pull IoCs from every active Netskope configuration with polling on.
    Pull {
        /// Run one cycle and exit (for cron).
        #[arg(long)]
        once: bool,
        /// Only these configurations (repeatable).
        #[arg(long = "configuration")]
        configurations: Vec<String>,
    },
    /// Share IoCs to every Netskope destination of every non-muted business rule.
    Share {
        /// Run one cycle and exit (for cron).
        #[arg(long)]
        once: bool,
        /// Only these destination configurations (repeatable).
        #[arg(long = "destination")]
        destinations: Vec<String>,
    },
    /// Run every cycle on each configuration's poll interval until SIGINT/SIGTERM.
    Run {
        /// Run the age cycle (expire indicators, unmute rules) every this many hours, and once at
        /// start [key: age_every_hours; env: CTE_AGE_EVERY_HOURS; default: 12].
        #[arg(long, value_name = "HOURS")]
        age_every_hours: Option<u64>,
    },
    /// Run the age cycle once: deactivate expired indicators, unmute rules whose time has come.
    Age,
    /// Show every pull and share schedule: last run, its result and counts, next due time.
    Status {
        /// Print JSON (an array of schedules) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let mut cli = Cli::parse();
    if let Command::Run { age_every_hours } = &cli.command {
        cli.flags.age_every_hours = *age_every_hours;
    }
    let file = config_file(cli.config.take());
    let config = match cte_process::start(
        "cte-worker",
        || WorkerConfig::load(file.as_deref(), &cli.flags),
        |c| (&c.log, c.log_format),
    ) {
        Ok(config) => config,
        Err(code) => return code,
    };
    match run(cli.command, &config) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::from(2)
        }
    }
}

/// Ok(true) when every configuration succeeded.
fn run(command: Command, config: &WorkerConfig) -> anyhow::Result<bool> {
    let store = SqliteStore::open(&config.db)
        .with_context(|| format!("cannot open database {}", config.db.display()))?;
    let store: Arc<dyn Store> = Arc::new(store);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let stop = Arc::new(AtomicBool::new(false));
    let lease = ShareLease {
        holder: lease_holder(),
        lapse: Duration::from_secs(config.share_lease_seconds),
    };
    let options = PullOptions {
        max_wait: Duration::from_secs(config.max_wait),
        ..PullOptions::default()
    };
    runtime.block_on(async move {
        spawn_signal_watch(stop.clone());
        let connector = NetskopeConnector::default();
        let clock = chrono::Utc::now;
        match command {
            Command::Pull {
                once,
                configurations,
            } => {
                if !once {
                    return run_loop(store.as_ref(), &connector, &options, &lease, &stop, None)
                        .await;
                }
                let only = (!configurations.is_empty()).then_some(configurations.as_slice());
                let reports =
                    pull_all(store.as_ref(), &connector, &clock, &options, &stop, only).await?;
                Ok(reports.iter().all(|r| r.outcome.is_ok()))
            }
            Command::Share { once, destinations } => {
                if !once {
                    return run_loop(store.as_ref(), &connector, &options, &lease, &stop, None)
                        .await;
                }
                let only = (!destinations.is_empty()).then_some(destinations.as_slice());
                share_once(store.as_ref(), &connector, &lease, only, &stop).await
            }
            Command::Run { .. } => {
                let age_every = chrono::Duration::hours(config.age_every_hours as i64);
                run_loop(
                    store.as_ref(),
                    &connector,
                    &options,
                    &lease,
                    &stop,
                    Some(age_every),
                )
                .await
            }
            Command::Status { json } => {
                let rows = status::schedules(store.as_ref(), clock())?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&rows)?);
                } else {
                    print!("{}", status::table(&rows));
                }
                Ok(true)
            }
            Command::Age => {
                let report = age_cycle(store.as_ref(), clock()).context("age cycle failed")?;
                println!(
                    "age: {} indicator(s) deactivated, {} rule(s) unmuted",
                    report.deactivated, report.unmuted
                );
                Ok(true)
            }
        }
    })
}

/// A lease holder name unique to this process: `cte-worker pid PID on HOST started MILLIS`.
fn lease_holder() -> String {
    format!(
        "cte-worker pid {} on {} started {}",
        std::process::id(),
        host_name(),
        chrono::Utc::now().timestamp_millis()
    )
}

/// This machine's name, as far as the worker can tell without extra dependencies.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty() && !h.contains(' '))
        .unwrap_or_else(|| "unknown-host".into())
}

/// One share cycle, stopping before the next target once `stop` is set; Ok(false) when a target
/// failed. Another worker sharing is not a failure.
async fn share_once(
    store: &dyn Store,
    connector: &NetskopeConnector,
    lease: &ShareLease,
    only: Option<&[String]>,
    stop: &AtomicBool,
) -> anyhow::Result<bool> {
    let clock = chrono::Utc::now;
    match share_all_until(store, connector, &clock, lease, only, stop).await {
        Ok(reports) => Ok(reports.iter().all(|r| r.outcome.is_ok())),
        Err(ShareError::Busy { holder, until }) => {
            tracing::warn!(%holder, %until, "another worker is sharing; this run skipped");
            Ok(true)
        }
        Err(ShareError::Store(e)) => Err(e).context("share cycle failed"),
    }
}

/// Pulls each configuration when its poll interval has passed since its last pull, shares to each
/// destination when its interval has passed since its last share, and runs the age cycle every
/// `age_every` (when given).
async fn run_loop(
    store: &dyn Store,
    connector: &NetskopeConnector,
    options: &PullOptions,
    lease: &ShareLease,
    stop: &AtomicBool,
    age_every: Option<chrono::Duration>,
) -> anyhow::Result<bool> {
    tracing::info!("cte-worker running; stop with SIGINT or SIGTERM");
    let clock = chrono::Utc::now;
    let mut all_ok = true;
    let mut last_age: Option<chrono::DateTime<chrono::Utc>> = None;
    while !stop.load(Ordering::Relaxed) {
        let now = clock();
        if let Some(every) = age_every {
            if last_age.is_none_or(|t| t + every <= now) {
                // A failed age run is logged and retried at the next interval.
                if let Err(e) = age_cycle(store, now) {
                    tracing::error!(error = %e, "age cycle failed");
                    all_ok = false;
                }
                last_age = Some(now);
            }
        }
        let netskope: Vec<_> = store
            .configurations()?
            .into_iter()
            .filter(|c| c.plugin == PluginKind::Netskope && c.active)
            .collect();
        let due_by = |run: fn(&Configuration) -> &RunStatus| -> Vec<String> {
            netskope
                .iter()
                .filter(|c| c.is_due(run(c), now))
                .map(|c| c.name.clone())
                .collect()
        };
        let due = due_by(|c| &c.pull);
        let share_due = due_by(|c| &c.share);
        if !due.is_empty() {
            let reports = pull_all(store, connector, &clock, options, stop, Some(&due)).await?;
            all_ok &= reports.iter().all(|r| r.outcome.is_ok());
        }
        if !share_due.is_empty() && !stop.load(Ordering::Relaxed) {
            all_ok &= share_once(store, connector, lease, Some(&share_due), stop).await?;
        }
        for _ in 0..10 {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tracing::info!("cte-worker stopped");
    Ok(all_ok)
}

fn spawn_signal_watch(stop: Arc<AtomicBool>) {
    let signal = cte_process::shutdown_signal();
    tokio::spawn(async move {
        signal.await;
        // Stop first: nothing after the signal may keep the worker from stopping.
        stop.store(true, Ordering::Relaxed);
        tracing::info!("stop requested; finishing the current page");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_holder_names_this_process() {
        let me = std::process::id();
        assert!(
            lease_holder().starts_with(&format!("cte-worker pid {me} on {} started ", host_name()))
        );
    }
}
