//! What the server tells its operators: one log line per request (method, matched route, status,
//! duration, the caller's client id; never a secret) and `GET /metrics` in the Prometheus
//! (OpenMetrics) text format.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cte_core::config::{PluginKind, RunStatus};
use cte_core::dashboard::{CountBy, DashboardQuery, GroupKey, GroupValue};
use cte_core::field::Field;
use cte_core::filter::Filter;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::error::ApiError;
use crate::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct IndicatorLabels {
    r#type: String,
    active: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RunLabels {
    configuration: String,
    cycle: String,
}

type HistogramFamily = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// The server's metrics: request counters and latencies kept as requests pass, and the store's
/// figures read at each scrape.
pub(crate) struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: HistogramFamily,
    indicators: Family<IndicatorLabels, Gauge>,
    last_run: Family<RunLabels, Gauge>,
    last_run_success: Family<RunLabels, Gauge>,
}

fn latency_histogram() -> Histogram {
    // 0.5 ms .. about 8 s.
    Histogram::new(exponential_buckets(0.0005, 2.0, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        let requests = Family::<RequestLabels, Counter>::default();
        let latency: HistogramFamily = Family::new_with_constructor(latency_histogram);
        let indicators = Family::<IndicatorLabels, Gauge>::default();
        let last_run = Family::<RunLabels, Gauge>::default();
        let last_run_success = Family::<RunLabels, Gauge>::default();
        let mut registry = Registry::with_prefix("cte");
        registry.register(
            "http_requests",
            "Requests answered, by method, matched route and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from the request's arrival to its answer, by method and matched route",
            latency.clone(),
        );
        registry.register(
            "indicators",
            "Indicators stored, by type and active state",
            indicators.clone(),
        );
        registry.register(
            "last_run_timestamp_seconds",
            "When each Netskope configuration's pull or share last ran (Unix time)",
            last_run.clone(),
        );
        registry.register(
            "last_run_success",
            "Whether that run succeeded (1) or failed (0)",
            last_run_success.clone(),
        );
        Metrics {
            registry: Mutex::new(registry),
            requests,
            latency,
            indicators,
            last_run,
            last_run_success,
        }
    }
}

/// Where the bearer check leaves the caller's client id for the request's log line.
#[derive(Clone, Default)]
pub(crate) struct ClientId(Arc<OnceLock<String>>);

impl ClientId {
    pub(crate) fn set(&self, id: &str) {
        let _ = self.0.set(id.to_string());
    }
}

/// Counts, times and logs every request of a matched route.
pub(crate) async fn observe(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().to_string());
    let client = ClientId::default();
    req.extensions_mut().insert(client.clone());
    let response = next.run(req).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let metrics = state.metrics();
    metrics
        .requests
        .get_or_create(&RequestLabels {
            method: method.clone(),
            route: route.clone(),
            status,
        })
        .inc();
    metrics
        .latency
        .get_or_create(&RouteLabels {
            method: method.clone(),
            route: route.clone(),
        })
        .observe(elapsed.as_secs_f64());
    tracing::info!(
        target: "cte_api::request",
        %method,
        %route,
        status,
        duration_ms = (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0,
        client_id = client.0.get().map_or("-", String::as_str),
        "request"
    );
    response
}

#[utoipa::path(
    get,
    path = "/metrics",
    operation_id = "metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Metrics in the OpenMetrics text format (Prometheus reads it): `cte_http_requests_total`, `cte_http_request_duration_seconds`, `cte_indicators`, `cte_last_run_timestamp_seconds`, `cte_last_run_success`", content_type = "application/openmetrics-text", body = String),
    )
)]
/// `GET /metrics`: no authentication (scrape it from the monitoring network only); the store's
/// figures are read at each scrape.
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let (rows, configurations) = state
        .run(|store| {
            let rows = store.dashboard(&DashboardQuery {
                filter: Filter::all(),
                group_by: [Field::Type, Field::Active]
                    .into_iter()
                    .filter_map(GroupKey::new)
                    .collect(),
                count_by: CountBy::Rows,
                ascending: false,
                limit: 1_000,
            })?;
            Ok::<_, cte_core::StoreError>((rows, store.configurations()?))
        })
        .await?;
    let metrics = state.metrics();
    // Held while the scrape's gauges are set and written, so two scrapes do not interleave.
    let registry = metrics.registry.lock().unwrap_or_else(|p| p.into_inner());
    metrics.indicators.clear();
    for row in rows {
        if let [GroupValue::Text(kind), GroupValue::Bool(active)] = row.key.as_slice() {
            metrics
                .indicators
                .get_or_create(&IndicatorLabels {
                    r#type: kind.clone(),
                    active: active.to_string(),
                })
                .set(row.count);
        }
    }
    metrics.last_run.clear();
    metrics.last_run_success.clear();
    let netskope = configurations
        .iter()
        .filter(|c| c.plugin == PluginKind::Netskope);
    for c in netskope {
        for (cycle, run) in [("pull", &c.pull), ("share", &c.share)] {
            let RunStatus {
                last_run_at: Some(at),
                last_run_success,
                ..
            } = run
            else {
                continue;
            };
            let labels = RunLabels {
                configuration: c.name.clone(),
                cycle: cycle.into(),
            };
            metrics.last_run.get_or_create(&labels).set(at.timestamp());
            metrics
                .last_run_success
                .get_or_create(&labels)
                .set(i64::from(last_run_success.unwrap_or(false)));
        }
    }
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry)
        .map_err(|e| ApiError::Internal(format!("metrics: {e}")))?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    )
        .into_response())
}
