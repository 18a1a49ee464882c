//! The error body CE clients parse: `{"detail": "..."}`, with the status that goes with it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cte_core::StoreError;
use cte_engine::ingest::IngestError;
use cte_engine::tokens::AuthError;
use serde_json::json;

/// CE's text for unexpected failures; the cause goes to the log only.
pub const INTERNAL_DETAIL: &str =
    "Error occurred while processing request, check logs for more details. Please try again later.";

/// An error answered to a client.
#[derive(Debug)]
pub enum ApiError {
    /// 400.
    BadRequest(String),
    /// 401.
    Unauthorized(String),
    /// 403.
    Forbidden(String),
    /// 404.
    NotFound(String),
    /// 405.
    MethodNotAllowed,
    /// 422.
    Unprocessable(String),
    /// 422 listing each refused element of a batch.
    Rejected {
        /// Summary.
        detail: String,
        /// `{"index","value","reason"}` for each element.
        errors: Vec<serde_json::Value>,
    },
    /// 500; the message is logged, never sent.
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadRequest(d) => (StatusCode::BAD_REQUEST, json!({ "detail": d })),
            ApiError::Unauthorized(d) => (StatusCode::UNAUTHORIZED, json!({ "detail": d })),
            ApiError::Forbidden(d) => (StatusCode::FORBIDDEN, json!({ "detail": d })),
            ApiError::NotFound(d) => (StatusCode::NOT_FOUND, json!({ "detail": d })),
            ApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({ "detail": "Method Not Allowed" }),
            ),
            ApiError::Unprocessable(d) => {
                (StatusCode::UNPROCESSABLE_ENTITY, json!({ "detail": d }))
            }
            ApiError::Rejected { detail, errors } => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({ "detail": detail, "errors": errors }),
            ),
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({ "detail": INTERNAL_DETAIL }),
                )
            }
        };
        let mut resp = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        resp
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound(m) => ApiError::NotFound(m),
            StoreError::Conflict(m) | StoreError::Invalid(m) => ApiError::Unprocessable(m),
            other => ApiError::Internal(format!("{other:?}")),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> ApiError {
        match e {
            IngestError::Rejected { ref rejected, .. } => {
                let listing = rejected
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ");
                ApiError::Rejected {
                    detail: format!("{e}: {listing}"),
                    errors: rejected
                        .iter()
                        .map(|r| json!({"index": r.index, "value": r.value, "reason": r.reason}))
                        .collect(),
                }
            }
            IngestError::Store(s) => s.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> ApiError {
        match e {
            AuthError::ScopeNotGranted => ApiError::Forbidden(e.to_string()),
            AuthError::Store(s) => s.into(),
            other => ApiError::Unauthorized(other.to_string()),
        }
    }
}

pub(crate) async fn not_found() -> ApiError {
    ApiError::NotFound("Not Found".into())
}

/// FastAPI's 405 body; axum's default has none.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
