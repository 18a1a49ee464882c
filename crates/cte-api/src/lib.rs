//! The Threat Exchange HTTP API as a library: CE-compatible routes under `/api`, as an axum
//! [`Router`] that tests call in-process and `cte-server` serves.
//!
//! Architecture invariant: this is the only crate that knows CE's JSON names; handlers convert
//! wire types to core types, call `cte-engine` or the store port, and convert back.

mod auth;
mod business_rules;
mod configurations;
mod dashboards;
mod error;
mod extract;
mod health;
mod indicators;
mod observe;
mod openapi;
mod serve;
mod sharing;
mod tags;
mod tenants;
mod wire;

use std::future::Future;
use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::MethodRouter;
use axum::Router;
use chrono::{DateTime, Utc};
use cte_core::store::Store;
use cte_core::tenant_config::TenantConnector;

pub use error::ApiError;
pub use serve::{serve_router, ServeOptions};

/// Where handlers get the time from; tests pass a fixed clock.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// Limits on what one request may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest body of `POST /api/cte/indicators/` in bytes (413 above). axum's default of 2 MB
    /// refuses a POST of 10,000 IoCs (about 3.5 MB), a batch size CE's feeds use
    /// (`RETRACTION_IOC_BATCH_SIZE`, share batches); every other route keeps that default.
    pub max_body_bytes: usize,
    /// Most indicators in one POST (413 above).
    pub max_batch: usize,
    /// Requests a token may make to write routes (`cte_write` and `admin` scopes) per minute,
    /// in bursts of up to as many; more answer 429 with `Retry-After`. 0: no budget.
    pub write_budget_per_minute: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 64 * 1024 * 1024,
            max_batch: 100_000,
            write_budget_per_minute: 1_200,
        }
    }
}

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    store: Arc<dyn Store>,
    clock: Clock,
    connector: Option<Arc<dyn TenantConnector>>,
    limits: Limits,
    metrics: Arc<observe::Metrics>,
    budgets: Arc<auth::Budgets>,
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
            limits: Limits::default(),
            metrics: Arc::default(),
            budgets: Arc::default(),
        }
    }

    /// The same state with other request limits.
    pub fn with_limits(mut self, limits: Limits) -> AppState {
        self.limits = limits;
        self
    }

    pub(crate) fn limits(&self) -> Limits {
        self.limits
    }

    pub(crate) fn metrics(&self) -> &observe::Metrics {
        &self.metrics
    }

    pub(crate) fn budgets(&self) -> &auth::Budgets {
        &self.budgets
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

/// Paths served under a second spelling, `(alias, canonical)`: CE declares these with (or without)
/// a trailing slash and redirects the other form; we serve both.
const ALIASES: &[(&str, &str)] = &[
    ("/api/cte/indicators", "/api/cte/indicators/"),
    ("/api/cte/dashboards", "/api/cte/dashboards/"),
];

type Handler = MethodRouter<AppState>;

/// The route table, one method of one path per entry: `router` registers it and the OpenAPI
/// test walks it. Aliases are added from `ALIASES`.
fn route_table() -> Vec<(Method, &'static str, Handler)> {
    use axum::routing::{delete, get, patch, post};
    let canonical: Vec<(Method, &'static str, Handler)> = vec![
        (Method::POST, "/api/auth", post(auth::token)),
        (Method::GET, "/api/users/tokens", get(auth::list_tokens)),
        (Method::POST, "/api/users/tokens", post(auth::create_token)),
        (
            Method::DELETE,
            "/api/users/tokens",
            delete(auth::delete_token),
        ),
        (Method::GET, "/api/settings/tenants", get(tenants::list)),
        (Method::POST, "/api/settings/tenants", post(tenants::create)),
        (
            Method::PATCH,
            "/api/settings/tenants",
            patch(tenants::update),
        ),
        (
            Method::DELETE,
            "/api/settings/tenants",
            delete(tenants::delete),
        ),
        (
            Method::GET,
            "/api/cte/plugins/configurations",
            get(configurations::list),
        ),
        (
            Method::PATCH,
            "/api/cte/plugins/configurations",
            patch(configurations::update),
        ),
        (
            Method::POST,
            "/api/cte/plugins/configurations/{plugin_id}",
            post(configurations::create),
        ),
        (
            Method::DELETE,
            "/api/cte/configuration",
            delete(configurations::delete),
        ),
        (
            Method::GET,
            "/api/cte/business_rules",
            get(business_rules::list),
        ),
        (
            Method::POST,
            "/api/cte/business_rules",
            post(business_rules::create),
        ),
        (
            Method::PATCH,
            "/api/cte/business_rule",
            patch(business_rules::update),
        ),
        (
            Method::DELETE,
            "/api/cte/business_rule",
            delete(business_rules::delete),
        ),
        (
            Method::GET,
            "/api/cte/business_rules/test",
            get(sharing::test_rule),
        ),
        (
            Method::POST,
            "/api/cte/sharing/preview",
            post(sharing::preview),
        ),
        (
            Method::GET,
            "/api/cte/indicators/explain",
            get(sharing::explain),
        ),
        (Method::GET, "/api/cte/tags", get(tags::list)),
        (Method::POST, "/api/cte/tags", post(tags::create)),
        (Method::DELETE, "/api/cte/tags", delete(tags::delete)),
        (Method::GET, "/api/cte/indicators/", get(indicators::list)),
        (
            Method::POST,
            "/api/cte/indicators/",
            // The handler reads the body itself, up to `Limits::max_body_bytes`.
            post(indicators::upsert).layer(DefaultBodyLimit::disable()),
        ),
        (
            Method::PATCH,
            "/api/cte/indicators/",
            patch(indicators::update),
        ),
        (
            Method::PATCH,
            "/api/cte/indicators/bulk",
            patch(indicators::bulk_edit),
        ),
        (
            Method::DELETE,
            "/api/cte/indicators/bulk",
            delete(indicators::bulk_delete),
        ),
        (
            Method::GET,
            "/api/cte/dashboards/",
            get(dashboards::dashboards),
        ),
        (
            Method::GET,
            "/api/cte/dashboard/pull",
            get(dashboards::pull),
        ),
        (Method::GET, "/api/health", get(health::health)),
        (Method::GET, "/metrics", get(observe::metrics)),
        (Method::GET, "/api/openapi.json", get(openapi::openapi_json)),
        (Method::GET, "/api/docs", get(openapi::docs)),
    ];
    let mut all = canonical.clone();
    for (alias, target) in ALIASES {
        for (method, path, handler) in &canonical {
            if path == target {
                all.push((method.clone(), alias, handler.clone()));
            }
        }
    }
    all
}

/// Every `(method, path)` the router serves, for documentation checks.
pub fn routes() -> Vec<(String, String)> {
    route_table()
        .into_iter()
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect()
}

/// The whole API: every route of `route_table` (see [`routes`]) plus CE-style 404 and 405
/// answers.
pub fn router(state: AppState) -> Router {
    route_table()
        .into_iter()
        .fold(Router::new(), |r, (_, path, handler)| {
            r.route(path, handler)
        })
        // Every matched route is counted, timed and logged (`observe.rs`).
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
}

/// Serves the API on `listener` with the default [`ServeOptions`] until `shutdown` completes,
/// then lets the requests in flight finish (see [`serve_router`]).
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(listener, router(state), ServeOptions::default(), shutdown).await
}
