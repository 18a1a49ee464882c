//! Process plumbing shared by the binaries (`cte-server`, `cte-worker`): where their settings come
//! from, how they log and when they stop. Kept out of the libraries, which leave all three to
//! whoever embeds them.

#![deny(missing_docs)]

pub mod config;

use std::future::Future;
use std::io::IsTerminal;

use serde::{Deserialize, Serialize};

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people: one line per event, colours only on a terminal.
    #[default]
    Text,
    /// For log shippers: one JSON object per line (`timestamp`, `level`, `target`, `fields`).
    Json,
}

/// Logs to standard error with the `tracing` env-filter `filter` (e.g. `info` or
/// `info,cte_api=debug`; the configuration key `log`) in `format`. Text has colours
/// only when standard error is a terminal, so a log written to a file or a pipe carries no escape
/// codes. A log line that cannot be written (the reader of a pipe has gone) is dropped: reporting
/// that failure on standard error would panic the logging thread.
pub fn init_logging(filter: &str, format: LogFormat) -> Result<(), config::ConfigError> {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .map_err(|e| config::ConfigError::invalid("log", format!("'{filter}': {e}")))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .log_internal_errors(false)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => builder.json().with_ansi(false).init(),
    }
    Ok(())
}

/// The start of a binary called `name`: its configuration from `load`, then logging set up as
/// the configuration says (`log_of` gives the filter and the format). A failure of either is
/// printed on standard error, prefixed by `name`, and comes back as exit code 2.
pub fn start<C>(
    name: &str,
    load: impl FnOnce() -> Result<C, config::ConfigError>,
    log_of: impl FnOnce(&C) -> (&str, LogFormat),
) -> Result<C, std::process::ExitCode> {
    let refuse = |e: config::ConfigError| {
        eprintln!("{name}: {e}");
        std::process::ExitCode::from(2)
    };
    let config = load().map_err(refuse)?;
    let (filter, format) = log_of(&config);
    init_logging(filter, format).map_err(refuse)?;
    Ok(config)
}

/// A future that completes at the first SIGINT (Ctrl-C) or, on Unix, SIGTERM. The handlers are
/// installed when this is called, not when the future is first polled, so a signal that arrives
/// in between is not lost (nor does it kill the process). Call it inside a Tokio runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut int = signal(SignalKind::interrupt()).ok();
        let mut term = signal(SignalKind::terminate()).ok();
        async move {
            let int = async {
                match int.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending().await,
                }
            };
            let term = async {
                match term.as_mut() {
                    Some(s) => drop(s.recv().await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! { () = int => {}, () = term => {} }
        }
    }
    #[cfg(not(unix))]
    {
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
