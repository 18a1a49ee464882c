//! The OpenAPI 3 document (`GET /api/openapi.json`) and the offline API explorer (`GET /api/docs`).
//!
//! Operations come from the `#[utoipa::path]` attribute on each handler, and schemas from the
//! `ToSchema`/`IntoParams` derives on the wire types the handlers parse and answer (in `wire.rs`
//! and beside each handler). The 401 and 403 answers of every operation with a bearer
//! requirement are added here, once ([`AuthResponses`]). The route table in `lib.rs` is the
//! source of truth: tests check that every route it registers is in this document and that real
//! answers of every route match it (`tests/api/schema.rs`).
//!
//! The explorer is one HTML page compiled into the binary, with no external scripts, styles or
//! fonts, so it works on a machine without internet access.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, ResponseBuilder};
use utoipa::{Modify, OpenApi, PartialSchema};

use crate::error::ErrorBody;
use crate::{
    auth, business_rules, configurations, dashboards, health, indicators, observe, sharing, tags,
    tenants, ALIASES,
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

/// Adds the 401 and 403 answers, with the [`ErrorBody`] schema, to every operation that has a
/// bearer requirement; the 403 names the scopes of that requirement. The `Caller<S>` extractor
/// answers both, the same way for every such handler, so none lists them.
struct AuthResponses;

impl AuthResponses {
    fn add(op: &mut Operation) {
        let Some(requirements) = &op.security else {
            return;
        };
        // `SecurityRequirement` keeps its map private; its JSON is `{"bearer": ["cte_read"]}`.
        let scopes: Vec<String> = requirements
            .iter()
            .filter_map(|r| serde_json::to_value(r).ok())
            .filter_map(|r| r.get("bearer").cloned())
            .filter_map(|s| serde_json::from_value::<Vec<String>>(s).ok())
            .flatten()
            .collect();
        if scopes.is_empty() {
            return;
        }
        let error = |description: String| {
            ResponseBuilder::new().description(description).content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
        };
        let unauthorized = error("Missing or invalid bearer".into()).header(
            "www-authenticate",
            HeaderBuilder::new()
                .schema(String::schema())
                .description(Some("`Bearer`"))
                .build(),
        );
        let names: Vec<String> = scopes.iter().map(|s| format!("`{s}`")).collect();
        let forbidden = error(format!("Missing scope {}", names.join(", ")));
        let writes = scopes.iter().any(|s| s != "cte_read");
        let responses = &mut op.responses.responses;
        responses.insert("401".into(), unauthorized.build().into());
        responses.insert("403".into(), forbidden.build().into());
        if writes {
            let budget = error(
                "The token has used its budget of write requests a minute (the server's `write_budget_per_minute`)".into(),
            )
            .header(
                "retry-after",
                HeaderBuilder::new()
                    .schema(u64::schema())
                    .description(Some("Seconds until the next request may go through"))
                    .build(),
            );
            responses.insert("429".into(), budget.build().into());
        }
    }
}

impl Modify for AuthResponses {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                AuthResponses::add(op);
            }
        }
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
        health::health,
        observe::metrics,
        openapi_json,
        docs,
    ),
    components(schemas(ErrorBody)),
    modifiers(&BearerAuth, &AuthResponses)
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
