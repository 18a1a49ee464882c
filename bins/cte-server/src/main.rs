//! `cte-server`: serves the Threat Exchange API over the SQLite store, and admin subcommands.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Parser, Subcommand};
use cte_api::AppState;
use cte_core::auth::Scope;
use cte_store_sqlite::SqliteStore;

#[derive(Parser)]
#[command(version, about = "Threat Exchange API server")]
struct Cli {
    /// SQLite database file (created if missing).
    #[arg(long, env = "CTE_DB", default_value = "cte.db", global = true)]
    db: PathBuf,
    /// Address to listen on (for `serve`).
    #[arg(
        long,
        env = "CTE_LISTEN",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    listen: SocketAddr,
    #[command(subcommand)]
    command: Option<Command>,
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

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    cte_process::init_logging();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.db, cli.listen),
        Command::Token { action } => token(&cli.db, action),
    }
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

fn serve(db: &PathBuf, listen: SocketAddr) -> anyhow::Result<()> {
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
        let state = AppState::new(Arc::new(store)).with_connector(Arc::new(connector));
        cte_api::serve(listener, state, cte_process::shutdown_signal()).await?;
        tracing::info!("cte-server stopped");
        Ok(())
    })
}
