//! Process plumbing shared by the binaries (`cte-server`, `cte-worker`): how they log and when they
//! stop. Kept out of the libraries, which leave both to whoever embeds them.

#![deny(missing_docs)]

use std::future::Future;
use std::io::IsTerminal;

/// Logs to standard error at the level in `CTE_LOG` (`info` by default, any `tracing`
/// env-filter), with colours only when standard error is a terminal, so a log written to a file
/// or a pipe carries no escape codes. A log line that cannot be written (the reader of a pipe has
/// gone) is dropped: reporting that failure on standard error would panic the logging thread.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CTE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .log_internal_errors(false)
        .with_writer(std::io::stderr)
        .init();
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
