//! Inspection and control endpoints under `/__sim/`, for tests. No authentication: the simulator only binds
//! loopback addresses and is test infrastructure.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::config::Fault;
use crate::state::{save_snapshot, Shared, SimState};

type Shr = State<Arc<Shared>>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/__sim/lists", get(lists))
        .route("/__sim/hashlists", get(hash_lists))
        .route("/__sim/deploys", get(deploys))
        .route("/__sim/requests", get(requests).delete(clear_requests))
        .route(
            "/__sim/faults",
            get(faults).post(add_fault).delete(clear_faults),
        )
        .route("/__sim/alerts/{kind}", get(alerts))
        .route("/__sim/reset", post(reset))
        .route("/__sim/snapshot", get(snapshot).post(save))
        .fallback(|| async {
            (
                StatusCode::NOT_FOUND,
                Json(json!({"error": "no such inspection endpoint"})),
            )
        })
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(shared)
}

fn view(shared: &Arc<Shared>) -> SimState {
    SimState {
        shared: shared.clone(),
    }
}

async fn lists(State(shared): Shr) -> Json<Value> {
    let lists: Vec<Value> = view(&shared)
        .url_lists()
        .iter()
        .map(|l| {
            json!({
                "id": l.id,
                "name": l.name,
                "type": l.list_type,
                "urls": l.urls,
                "pending": l.pending,
                "modify_type": l.modify_type,
                "modify_time": l.modify_time,
                "deployed": l.deployed.as_ref().map(|d| json!({"name": d.name, "type": d.list_type, "urls": d.urls})),
            })
        })
        .collect();
    Json(Value::Array(lists))
}

async fn hash_lists(State(shared): Shr) -> Json<Value> {
    Json(json!(view(&shared).hash_lists()))
}

async fn deploys(State(shared): Shr) -> Json<Value> {
    Json(json!({"count": view(&shared).deploy_count()}))
}

async fn requests(State(shared): Shr) -> Json<Value> {
    Json(json!(view(&shared).requests()))
}

async fn clear_requests(State(shared): Shr) -> StatusCode {
    view(&shared).clear_requests();
    StatusCode::NO_CONTENT
}

async fn faults(State(shared): Shr) -> Json<Value> {
    Json(json!(view(&shared).faults()))
}

/// Body: one fault or an array of faults, e.g. `{"kind":"fail","status":503,"count":2,"path_prefix":"/api/v2"}`.
async fn add_fault(State(shared): Shr, body: Bytes) -> Response {
    let parsed: Result<Vec<Fault>, _> = serde_json::from_slice::<Fault>(&body)
        .map(|f| vec![f])
        .or_else(|_| serde_json::from_slice::<Vec<Fault>>(&body));
    match parsed {
        Ok(new) => {
            let mut state = shared.lock();
            state.faults.extend(new);
            (StatusCode::CREATED, Json(json!(state.faults))).into_response()
        }
        Err(e) => (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}

async fn clear_faults(State(shared): Shr) -> StatusCode {
    shared.lock().faults.clear();
    StatusCode::NO_CONTENT
}

async fn alerts(State(shared): Shr, Path(kind): Path<String>) -> Response {
    match kind.as_str() {
        "malware" => Json(json!(shared.malware)).into_response(),
        "malsite" => Json(json!(shared.malsite)).into_response(),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"error": "use malware or malsite"})),
        )
            .into_response(),
    }
}

async fn reset(State(shared): Shr) -> StatusCode {
    view(&shared).reset();
    StatusCode::NO_CONTENT
}

async fn snapshot(State(shared): Shr) -> Json<Value> {
    Json(json!(view(&shared).snapshot()))
}

async fn save(State(shared): Shr) -> Response {
    let Some(path) = shared.config.snapshot.clone() else {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "no snapshot path configured"})),
        )
            .into_response();
    };
    let snapshot = view(&shared).snapshot();
    match save_snapshot(&path, &snapshot) {
        Ok(()) => StatusCode::NO_CONTENT.into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"error": e.to_string()})),
        )
            .into_response(),
    }
}
