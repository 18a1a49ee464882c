//! The OpenAPI 3 document (`GET /api/openapi.json`) and the offline API explorer (`GET /api/docs`).
//!
//! Operations come from the `#[utoipa::path]` attribute on each handler, and schemas from the
//! `ToSchema`/`IntoParams` derives on the wire types the handlers parse and answer (in `wire.rs`
//! and beside each handler). The route table in `lib.rs` is the source of truth: a test checks
//! that every route it registers is in this document.
//!
//! The explorer is one HTML page compiled into the binary, with no external scripts, styles or
//! fonts, so it works on a machine without internet access.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;
use crate::{
    auth, business_rules, configurations, dashboards, indicators, sharing, tags, tenants, ALIASES,
};

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The access_token of POST /api/auth (client_credentials of an API token)",
                    ))
                    .build(),
            ),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Cloud Threat Exchange API",
        description = "CE-compatible Threat Exchange API (cte-rs). Errors are `{\"detail\": \"...\"}`."
    ),
    paths(
        auth::token,
        auth::create_token,
        auth::list_tokens,
        auth::delete_token,
        tenants::list,
        tenants::create,
        tenants::update,
        tenants::delete,
        configurations::list,
        configurations::create,
        configurations::update,
        configurations::delete,
        business_rules::list,
        business_rules::create,
        business_rules::update,
        business_rules::delete,
        sharing::test_rule,
        sharing::preview,
        sharing::explain,
        tags::list,
        tags::create,
        tags::delete,
        indicators::list,
        indicators::upsert,
        indicators::update,
        indicators::bulk_edit,
        indicators::bulk_delete,
        dashboards::dashboards,
        dashboards::pull,
        openapi_json,
        docs,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

/// The document as JSON, with each alias path (`/api/cte/indicators` beside
/// `/api/cte/indicators/`) carrying a copy of its canonical path's operations.
pub(crate) fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ApiDoc::openapi()).expect("the document serializes");
        for (alias, canonical) in ALIASES {
            let Some(mut item) = doc["paths"].get(*canonical).cloned() else {
                continue;
            };
            if let Some(ops) = item.as_object_mut() {
                for op in ops.values_mut() {
                    if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                        op["operationId"] = Value::String(format!("{id}_alias"));
                    }
                    op["description"] = Value::String(format!("Same as `{canonical}`."));
                }
            }
            doc["paths"][*alias] = item;
        }
        serde_json::to_string_pretty(&doc).expect("the document serializes")
    })
}

/// This document.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    operation_id = "openapi",
    tag = "docs",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json", body = Object))
)]
pub(crate) async fn openapi_json() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document()).into_response()
}

/// The interactive API explorer (works offline: everything is in the page).
#[utoipa::path(
    get,
    path = "/api/docs",
    operation_id = "docs",
    tag = "docs",
    responses((status = 200, description = "HTML page", content_type = "text/html", body = String))
)]
pub(crate) async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
