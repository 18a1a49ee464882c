//! Extractors whose rejections answer with `{"detail": ...}` like every other error.

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts};
use cte_core::error::echo;

use crate::error::ApiError;

/// `axum::Json` with CE-style errors.
#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub(crate) struct Json<T>(pub T);

/// `axum::Form` with CE-style errors.
#[derive(FromRequest)]
#[from_request(via(axum::Form), rejection(ApiError))]
pub(crate) struct Form<T>(pub T);

/// `axum::extract::Query` with CE-style errors.
#[derive(FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub(crate) struct Query<T>(pub T);

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> ApiError {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return too_large();
        }
        ApiError::Unprocessable(format!("Invalid request body: {}", echo(&r.body_text())))
    }
}

impl From<FormRejection> for ApiError {
    fn from(r: FormRejection) -> ApiError {
        if r.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            return too_large();
        }
        ApiError::Unprocessable(format!("Invalid form body: {}", echo(&r.body_text())))
    }
}

/// A body over the route's limit: the indicator batch routes take `max_body_mib` (64 MiB by
/// default), every other route 2 MiB.
pub(crate) fn too_large() -> ApiError {
    ApiError::PayloadTooLarge(
        "Request body too large for this route (indicator batches: the server's max_body_mib; other routes: 2 MiB).".into(),
    )
}

/// FastAPI answers a query parameter of the wrong type (`limit=x`, `active=maybe`) with 422.
impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> ApiError {
        ApiError::Unprocessable(format!(
            "Invalid query parameters: {}",
            echo(&r.body_text())
        ))
    }
}

/// Like `axum::Json`'s answer, but written into a `Vec` (which grows by `realloc`) rather than a
/// `BytesMut` (which copies itself on every growth): an ingest answer is 7 MB per 10,000 IoCs.
/// A value that cannot be serialised is a bug, answered 500 like every other.
impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        let mut body = Vec::with_capacity(256);
        match serde_json::to_writer(&mut body, &self.0) {
            Ok(()) => json_response(body),
            Err(e) => ApiError::Internal(format!("answer not serialisable: {e}")).into_response(),
        }
    }
}

/// An answer of JSON text already written.
pub(crate) fn json_response(body: Vec<u8>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}
