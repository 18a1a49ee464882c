//! `GET /api/health`: whether the server can serve, for load balancers and monitoring. No
//! authentication, and nothing secret in the answer.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cte_core::time::format_datetime;
use serde::Serialize;
use utoipa::ToSchema;

use crate::extract::Json;
use crate::AppState;

/// The server's health.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct HealthOut {
    /// `ok`: the database answers at the schema this server knows. `degraded`: it answers, at a
    /// schema a newer program wrote. `down`: it does not answer.
    status: &'static str,
    database: DatabaseHealth,
    worker: WorkerHealth,
}

/// The database as the server sees it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DatabaseHealth {
    /// Whether a read transaction succeeded.
    reachable: bool,
    /// The schema version of the database, when reachable.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_version: Option<u32>,
    /// The schema version this server knows, when reachable.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    schema_latest: Option<u32>,
    /// Why the database is not reachable.
    #[schema(nullable = false)]
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// The workers, as seen through the runs they recorded.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WorkerHealth {
    /// The newest pull or share run any worker recorded; `null` when none ever ran.
    last_seen_at: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/health",
    operation_id = "health",
    tag = "operations",
    responses(
        (status = 200, description = "The database answers at the schema this server knows (`ok`) or a newer one (`degraded`)", body = HealthOut),
        (status = 503, description = "The database does not answer (`down`)", body = HealthOut),
    )
)]
/// `GET /api/health`.
pub(crate) async fn health(State(state): State<AppState>) -> Response {
    let store_health = state.run(|store| store.health()).await;
    let last_seen = state
        .run(|store| {
            store.configurations().map(|cs| {
                cs.iter()
                    .flat_map(|c| [c.pull.last_run_at, c.share.last_run_at])
                    .flatten()
                    .max()
            })
        })
        .await
        .ok()
        .flatten();
    let (status, code, database) = match store_health {
        Ok(h) => (
            if h.schema_version > h.schema_latest {
                "degraded"
            } else {
                "ok"
            },
            StatusCode::OK,
            DatabaseHealth {
                reachable: true,
                schema_version: Some(h.schema_version),
                schema_latest: Some(h.schema_latest),
                error: None,
            },
        ),
        Err(e) => {
            // The cause is logged, never sent.
            tracing::error!(cause = ?e, "health check: the database does not answer");
            (
                "down",
                StatusCode::SERVICE_UNAVAILABLE,
                DatabaseHealth {
                    reachable: false,
                    schema_version: None,
                    schema_latest: None,
                    error: Some(
                        "the database does not answer (the cause is in the server's log)".into(),
                    ),
                },
            )
        }
    };
    let body = HealthOut {
        status,
        database,
        worker: WorkerHealth {
            last_seen_at: last_seen.map(format_datetime),
        },
    };
    (code, Json(body)).into_response()
}
