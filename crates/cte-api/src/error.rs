//! The error body CE clients parse: `{"detail": "..."}`, with the status that goes with it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cte_core::error::echo;
use cte_core::StoreError;
use cte_engine::ingest::{IngestError, Rejection};
use cte_engine::tokens::AuthError;
use serde::Serialize;
use utoipa::ToSchema;

use crate::extract::Json;

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
    /// 413: the body, or the batch in it, is larger than the server accepts.
    PayloadTooLarge(String),
    /// 429 with `Retry-After`: the token has used its write budget.
    TooManyRequests {
        /// What happened.
        detail: String,
        /// Whole seconds until the next request may go through.
        retry_after: u64,
    },
    /// 422.
    Unprocessable(String),
    /// 422 listing each refused element of a batch.
    Rejected {
        /// Summary.
        detail: String,
        /// Each refused element, answered as `{"index","value","reason"}`.
        errors: Vec<Rejection>,
    },
    /// 500; the message is logged, never sent.
    Internal(String),
}

/// The body of every error: `{"detail": "..."}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, in words.
    detail: String,
}

/// One refused element of a batch.
#[derive(Serialize, ToSchema)]
pub(crate) struct RejectedItem {
    /// Position in the request array.
    index: usize,
    /// The element's value (or the start of the element).
    value: String,
    /// Why it was refused.
    reason: String,
}

/// 422 for a batch with refused elements. The schema also describes the batch route's other
/// 422, a body that is not an array (an [`ErrorBody`], without `errors`).
#[derive(Serialize, ToSchema)]
pub(crate) struct RejectedBody {
    /// Summary listing every refused element.
    detail: String,
    /// Each refused element; absent when the body is not an array of elements.
    #[schema(required = false)]
    errors: Vec<RejectedItem>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let error = |status, detail| (status, Json(ErrorBody { detail })).into_response();
        let mut resp = match self {
            ApiError::BadRequest(d) => error(StatusCode::BAD_REQUEST, d),
            ApiError::Unauthorized(d) => error(StatusCode::UNAUTHORIZED, d),
            ApiError::Forbidden(d) => error(StatusCode::FORBIDDEN, d),
            ApiError::NotFound(d) => error(StatusCode::NOT_FOUND, d),
            ApiError::MethodNotAllowed => {
                error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed".into())
            }
            ApiError::PayloadTooLarge(d) => error(StatusCode::PAYLOAD_TOO_LARGE, d),
            ApiError::TooManyRequests {
                detail,
                retry_after,
            } => {
                let mut resp = error(StatusCode::TOO_MANY_REQUESTS, detail);
                resp.headers_mut().insert(
                    axum::http::header::RETRY_AFTER,
                    axum::http::HeaderValue::from(retry_after),
                );
                resp
            }
            ApiError::Unprocessable(d) => error(StatusCode::UNPROCESSABLE_ENTITY, d),
            ApiError::Rejected { detail, errors } => {
                let errors = errors
                    .into_iter()
                    .map(|r| RejectedItem {
                        index: r.index,
                        value: r.value,
                        reason: r.reason,
                    })
                    .collect();
                let body = RejectedBody { detail, errors };
                (StatusCode::UNPROCESSABLE_ENTITY, Json(body)).into_response()
            }
            ApiError::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                error(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL_DETAIL.into())
            }
        };
        let status = resp.status();
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
            // The store's messages name values as they were given: cut them like any echo.
            StoreError::NotFound(m) => ApiError::NotFound(echo(&m).into_owned()),
            StoreError::Conflict(m) | StoreError::Invalid(m) => {
                ApiError::Unprocessable(echo(&m).into_owned())
            }
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
                    errors: rejected.clone(),
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
