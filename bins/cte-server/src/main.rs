//! `cte-server`: serves the Threat Exchange API over the SQLite store, and admin subcommands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cte_api::{AppState, Limits, ServeOptions};
use cte_core::auth::Scope;
use cte_process::config::{config_file, ConfigError};
use cte_process::LogFormat;
use cte_store_sqlite::SqliteStore;
use serde::{Deserialize, Serialize};

#[derive(Parser)]
#[command(
    version,
    about = "Threat Exchange API server",
    long_about = "Threat Exchange API server: serves CE's REST API over one SQLite file \
        (the default subcommand), and manages API tokens.\n\n\
        Settings come from, lowest first: defaults, a TOML file (--config or CTE_CONFIG), \
        CTE_* environment variables (CTE_DB for `db`, ...), and the flags below. Every key \
        and default: docs/OPERATIONS.md."
)]
struct Cli {
    /// TOML configuration file [env: CTE_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    flags: ServerFlags,
    #[command(subcommand)]
    command: Option<Command>,
}

/// The settings flags; unset ones leave the key to the file, the environment or the default.
#[derive(clap::Args, Serialize)]
struct ServerFlags {
    /// SQLite database file, created if missing [key: db; env: CTE_DB; default: cte.db].
    #[arg(long, global = true, value_name = "PATH")]
    #[serde(skip_serializing_if = "Option::is_none")]
    db: Option<PathBuf>,
    /// Address to listen on, for `serve` [key: listen; env: CTE_LISTEN; default: 127.0.0.1:8080].
    #[arg(long, global = true, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<String>,
    /// Log filter, e.g. `info` or `info,cte_api=debug` [key: log; env: CTE_LOG; default: info].
    #[arg(long, global = true, value_name = "FILTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    log: Option<String>,
    /// Log line format [key: log_format; env: CTE_LOG_FORMAT; default: text].
    #[arg(long, global = true, value_enum)]
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
    /// Seconds a client may take to send a request's headers; also closes connections idle that
    /// long, 1..3600 [key: header_read_timeout_seconds; env: CTE_HEADER_READ_TIMEOUT_SECONDS;
    /// default: 10].
    #[arg(long, global = true, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    header_read_timeout_seconds: Option<u64>,
    /// Seconds a shutdown waits for requests in flight, 0..3600 [key: shutdown_grace_seconds;
    /// env: CTE_SHUTDOWN_GRACE_SECONDS; default: 30].
    #[arg(long, global = true, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    shutdown_grace_seconds: Option<u64>,
    /// Largest body of a POST of indicators, in MiB, 1..1024 (413 above) [key: max_body_mib;
    /// env: CTE_MAX_BODY_MIB; default: 64].
    #[arg(long, global = true, value_name = "MIB")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_body_mib: Option<u64>,
    /// Most indicators in one POST, 1..1000000 (413 above) [key: max_batch; env: CTE_MAX_BATCH;
    /// default: 100000].
    #[arg(long, global = true, value_name = "COUNT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_batch: Option<u64>,
    /// Requests per minute a token may make to routes that need `cte_write` or `admin`, in
    /// bursts of as many; 0 for no budget, at most 1000000 [key: write_budget_per_minute; env:
    /// CTE_WRITE_BUDGET_PER_MINUTE; default: 1200].
    #[arg(long, global = true, value_name = "COUNT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    write_budget_per_minute: Option<u64>,
}

/// Every setting of `cte-server`, after layering (see `docs/OPERATIONS.md`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerConfig {
    db: PathBuf,
    listen: SocketAddr,
    log: String,
    log_format: LogFormat,
    header_read_timeout_seconds: u64,
    shutdown_grace_seconds: u64,
    max_body_mib: u64,
    max_batch: u64,
    write_budget_per_minute: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            db: "cte.db".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            log: "info".into(),
            log_format: LogFormat::Text,
            header_read_timeout_seconds: 10,
            shutdown_grace_seconds: 30,
            max_body_mib: 64,
            max_batch: 100_000,
            write_budget_per_minute: 1_200,
        }
    }
}

impl ServerConfig {
    /// The layered configuration, with its ranges checked.
    fn load(file: Option<&Path>, flags: &ServerFlags) -> Result<Self, ConfigError> {
        let config: ServerConfig = cte_process::config::load(file, flags)?;
        for (key, value, range) in [
            (
                "header_read_timeout_seconds",
                config.header_read_timeout_seconds,
                1..=3600,
            ),
            (
                "shutdown_grace_seconds",
                config.shutdown_grace_seconds,
                0..=3600,
            ),
            ("max_body_mib", config.max_body_mib, 1..=1024),
            ("max_batch", config.max_batch, 1..=1_000_000),
            (
                "write_budget_per_minute",
                config.write_budget_per_minute,
                0..=1_000_000,
            ),
        ] {
            if !range.contains(&value) {
                return Err(ConfigError::invalid(
                    key,
                    format!("{value} is not in {}..{}", range.start(), range.end()),
                ));
            }
        }
        Ok(config)
    }

    fn limits(&self) -> Limits {
        Limits {
            max_body_bytes: (self.max_body_mib as usize) << 20,
            max_batch: self.max_batch as usize,
            write_budget_per_minute: self.write_budget_per_minute as u32,
        }
    }

    fn serve_options(&self) -> ServeOptions {
        ServeOptions {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
            shutdown_grace: Duration::from_secs(self.shutdown_grace_seconds),
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenCommand,
    },
    /// Copy the database, while servers and workers keep using it, to the new file OUT (SQLite's
    /// online backup, checked with PRAGMA integrity_check), and its tenant key file to OUT.key.
    Backup {
        /// The new file to write.
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token; prints {"client_id", "client_secret", "expiresAt"} once.
    Create {
        /// Comma-separated scopes: cte_read, cte_write, admin.
        #[arg(long, default_value = "cte_read,cte_write")]
        scopes: String,
        /// What the token is for.
        #[arg(long, default_value = "")]
        description: String,
        /// Minutes until it expires; never if omitted.
        #[arg(long)]
        expire_after_minutes: Option<i64>,
    },
    /// List tokens (without secrets).
    List,
    /// Delete a token.
    Delete {
        /// The token's client id.
        client_id: String,
    },
}

fn open(db: &PathBuf) -> anyhow::Result<SqliteStore> {
    SqliteStore::open(db).with_context(|| format!("cannot open database {}", db.display()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cte_process::start(
        "cte-server",
        || ServerConfig::load(config_file(cli.config).as_deref(), &cli.flags),
        |c| (&c.log, c.log_format),
    ) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&config),
        Command::Token { action } => token(&config.db, action),
        Command::Backup { out } => backup(&config.db, &out),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn backup(db: &Path, out: &Path) -> anyhow::Result<()> {
    let report = cte_store_sqlite::backup(db, out)
        .with_context(|| format!("cannot back up {} to {}", db.display(), out.display()))?;
    println!(
        "backed up {} to {}: {} pages, {} bytes{}",
        db.display(),
        out.display(),
        report.pages,
        report.bytes,
        match &report.key_file {
            Some(key) => format!(
                "; tenant key file {} (keep it with the copy)",
                key.display()
            ),
            None => String::new(),
        }
    );
    Ok(())
}

fn token(db: &PathBuf, action: TokenCommand) -> anyhow::Result<()> {
    let store = open(db)?;
    let now = chrono::Utc::now();
    match action {
        TokenCommand::Create {
            scopes,
            description,
            expire_after_minutes,
        } => {
            let scopes = Scope::parse_list(&scopes).map_err(anyhow::Error::msg)?;
            let new = cte_engine::tokens::create_token(
                &store,
                &description,
                scopes,
                expire_after_minutes,
                now,
            )?;
            println!(
                "{}",
                serde_json::json!({
                    "client_id": new.token.client_id,
                    "client_secret": new.client_secret,
                    "expiresAt": new.token.expires_at.map(cte_core::time::format_datetime),
                })
            );
        }
        TokenCommand::List => {
            for t in cte_core::store::Store::api_tokens(&store)? {
                println!(
                    "{}",
                    serde_json::json!({
                        "client_id": t.client_id,
                        "description": t.description,
                        "scopes": t.scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
                        "expiresAt": t.expires_at.map(cte_core::time::format_datetime),
                    })
                );
            }
        }
        TokenCommand::Delete { client_id } => {
            if !cte_core::store::Store::delete_api_token(&store, &client_id)? {
                anyhow::bail!("no token with client_id {client_id}");
            }
        }
    }
    Ok(())
}

fn serve(config: &ServerConfig) -> anyhow::Result<()> {
    let (db, listen) = (&config.db, config.listen);
    let store = open(db)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let addr = listener.local_addr()?;
        tracing::info!(%addr, db = %db.display(), "cte-server listening");
        // The server reaches tenants only to check a tenant or configuration while an admin waits
        // for the answer: one quick retry, not the worker's backoff (15 s for a typo'd host).
        let connector = cte_netskope::NetskopeConnector {
            retry: Some(cte_netskope::RetryPolicy {
                max_retries: 1,
                base_delay: std::time::Duration::from_millis(500),
                max_delay: std::time::Duration::from_secs(2),
                max_elapsed: std::time::Duration::from_secs(10),
            }),
        };
        let state = AppState::new(Arc::new(store))
            .with_connector(Arc::new(connector))
            .with_limits(config.limits());
        let options = config.serve_options();
        let shutdown = cte_process::shutdown_signal();
        cte_api::serve_router(listener, cte_api::router(state), options, shutdown).await?;
        tracing::info!("cte-server stopped");
        Ok(())
    })
}
