//! The Threat Exchange HTTP API as a library: CE-compatible routes under `/api`, as an axum
//! [`Router`] that tests call in-process and `cte-server` serves.
//!
//! Architecture invariant: this is the only crate that knows CE's JSON names; handlers convert
//! wire types to core types, call `cte-engine` or the store port, and convert back.

mod auth;
mod business_rules;
mod configurations;
mod error;
mod extract;
mod indicators;
mod sharing;
mod tags;
mod tenants;
mod wire;

use std::future::Future;
use std::sync::Arc;

use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use cte_core::store::Store;
use cte_core::tenant_config::TenantConnector;

pub use error::ApiError;

/// Where handlers get the time from; tests pass a fixed clock.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn Store>,
    clock: Clock,
    connector: Option<Arc<dyn TenantConnector>>,
}

impl AppState {
    /// State over `store` with the system clock.
    pub fn new(store: Arc<dyn Store>) -> AppState {
        AppState::with_clock(store, Arc::new(Utc::now))
    }

    /// State over `store` with the given clock.
    pub fn with_clock(store: Arc<dyn Store>, clock: Clock) -> AppState {
        AppState {
            store,
            clock,
            connector: None,
        }
    }

    /// Lets the API reach Netskope tenants (to check tokens and configurations on save).
    pub fn with_connector(mut self, connector: Arc<dyn TenantConnector>) -> AppState {
        self.connector = Some(connector);
        self
    }

    pub(crate) fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// Runs a blocking store call off the async runtime.
    pub(crate) async fn run<T, E>(
        &self,
        f: impl FnOnce(&dyn Store) -> Result<T, E> + Send + 'static,
    ) -> Result<T, ApiError>
    where
        T: Send + 'static,
        E: Into<ApiError> + Send + 'static,
    {
        let store = self.store.clone();
        match tokio::task::spawn_blocking(move || f(store.as_ref())).await {
            Ok(r) => r.map_err(Into::into),
            Err(join) => Err(ApiError::Internal(format!("blocking task failed: {join}"))),
        }
    }
}

/// The whole route table. Paths keep CE's trailing slashes; the other spelling is served too, where
/// CE would answer with a redirect.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/auth", post(auth::token))
        .route(
            "/api/users/tokens",
            get(auth::list_tokens)
                .post(auth::create_token)
                .delete(auth::delete_token),
        )
        .route(
            "/api/settings/tenants",
            get(tenants::list)
                .post(tenants::create)
                .patch(tenants::update)
                .delete(tenants::delete),
        )
        .route(
            "/api/cte/plugins/configurations",
            get(configurations::list).patch(configurations::update),
        )
        .route(
            "/api/cte/plugins/configurations/{plugin_id}",
            post(configurations::create),
        )
        .route(
            "/api/cte/configuration",
            axum::routing::delete(configurations::delete),
        )
        .route(
            "/api/cte/business_rules",
            get(business_rules::list).post(business_rules::create),
        )
        .route(
            "/api/cte/business_rule",
            axum::routing::patch(business_rules::update).delete(business_rules::delete),
        )
        .route("/api/cte/business_rules/test", get(sharing::test_rule))
        .route("/api/cte/sharing/preview", post(sharing::preview))
        .route("/api/cte/indicators/explain", get(sharing::explain))
        .route(
            "/api/cte/tags",
            get(tags::list).post(tags::create).delete(tags::delete),
        )
        .route(
            "/api/cte/indicators/",
            get(indicators::list)
                .post(indicators::upsert)
                .patch(indicators::update),
        )
        .route(
            "/api/cte/indicators",
            get(indicators::list)
                .post(indicators::upsert)
                .patch(indicators::update),
        )
        .route(
            "/api/cte/indicators/bulk",
            axum::routing::patch(indicators::bulk_edit).delete(indicators::bulk_delete),
        )
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
