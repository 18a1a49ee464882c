//! Process plumbing shared by the binaries (`cte-server`, `cte-worker`): how they log and when they
//! stop. Kept out of the libraries, which leave both to whoever embeds them.

#![deny(missing_docs)]

use std::io::IsTerminal;

/// Logs to standard error at the level in `CTE_LOG` (`info` by default, any `tracing`
/// env-filter), with colours only when standard error is a terminal, so a log written to a file
/// or a pipe carries no escape codes.
pub fn init_logging() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("CTE_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// Completes at the first SIGINT (Ctrl-C) or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
