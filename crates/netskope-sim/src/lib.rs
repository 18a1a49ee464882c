//! A simulated Netskope tenant for tests: REST API v2 URL lists, the v1 file hash list update, the Data Export
//! iterator, token privileges, rate limiting and fault injection, served on loopback over HTTP and HTTPS.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! let sim = netskope_sim::spawn(netskope_sim::SimConfig::default()).await?;
//! println!("tenant at {}", sim.base_url);
//! assert_eq!(sim.state().deploy_count(), 0);
//! sim.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! The behaviours, and the reference section each comes from, are listed in the crate's README.

mod alerts;
mod api;
mod config;
mod error;
mod inspect;
mod server;
mod state;
mod tls;
pub mod validate;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use crate::alerts::{generate_alerts, SplitMix64};
pub use crate::config::{AlertSpec, Fault, Privilege, SimConfig, SimToken};
pub use crate::error::SimError;
pub use crate::state::{
    DeployedList, HashList, IteratorState, RequestRecord, SimState, Snapshot, UrlList,
};

/// A running simulator. Dropping it stops the listeners (without writing the snapshot); prefer
/// [`SimHandle::shutdown`].
pub struct SimHandle {
    /// Plain HTTP address.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// HTTPS address when TLS is enabled.
    pub tls_addr: Option<SocketAddr>,
    /// `https://127.0.0.1:PORT` when TLS is enabled.
    pub tls_base_url: Option<String>,
    /// PEM of the CA certificate that issued the HTTPS server certificate; trust it to connect.
    pub cert_pem: Option<String>,
    state: SimState,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl SimHandle {
    /// Read access to lists, hash lists, deploy count, request log and faults.
    pub fn state(&self) -> SimState {
        self.state.clone()
    }

    /// Arms a fault (see [`Fault`]).
    pub fn inject_fault(&self, fault: Fault) {
        self.state.shared.lock().faults.push(fault);
    }

    /// Disarms all faults.
    pub fn clear_faults(&self) {
        self.state.shared.lock().faults.clear();
    }

    /// Stops the listeners, waits for them, and writes the snapshot file if one is configured.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        if let Some(path) = &self.state.shared.config.snapshot {
            if let Err(err) = state::save_snapshot(path, &self.state.snapshot()) {
                tracing::error!(%err, "cannot write snapshot");
            }
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn check_loopback(addr: SocketAddr) -> std::io::Result<()> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        // The inspection endpoints have no authentication, so the simulator never listens beyond loopback.
        Err(std::io::Error::other(SimError::Config(format!(
            "{addr} is not a loopback address"
        ))))
    }
}

/// Starts the simulator on `config.listen` (and `config.tls_listen` when `config.tls`), both loopback only.
pub async fn spawn(config: SimConfig) -> std::io::Result<SimHandle> {
    check_loopback(config.listen)?;
    if config.tls {
        check_loopback(config.tls_listen)?;
    }
    let shared = Arc::new(state::Shared::new(config)?);
    let app = server::App {
        shared: shared.clone(),
        api: api::router(shared.clone()),
        inspect: inspect::router(shared.clone()),
    };
    let (stop, stopped) = watch::channel(false);
    let listener = TcpListener::bind(shared.config.listen).await?;
    let addr = listener.local_addr()?;
    let mut tasks = vec![tokio::spawn(server::accept_loop(
        listener,
        app.clone(),
        None,
        stopped.clone(),
    ))];

    let (mut tls_addr, mut cert_pem) = (None, None);
    if shared.config.tls {
        let material = tls::generate()?;
        if let Some(path) = &shared.config.cert_out {
            std::fs::write(path, &material.ca_pem)?;
        }
        let listener = TcpListener::bind(shared.config.tls_listen).await?;
        tls_addr = Some(listener.local_addr()?);
        cert_pem = Some(material.ca_pem);
        tasks.push(tokio::spawn(server::accept_loop(
            listener,
            app,
            Some(material.acceptor),
            stopped,
        )));
    }
    Ok(SimHandle {
        addr,
        base_url: format!("http://{addr}"),
        tls_addr,
        tls_base_url: tls_addr.map(|a| format!("https://{a}")),
        cert_pem,
        state: SimState { shared },
        stop,
        tasks,
    })
}
