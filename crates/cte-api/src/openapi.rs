//! The OpenAPI 3 document (`GET /api/openapi.json`) and the offline API explorer (`GET /api/docs`).
//!
//! Operations come from the `#[utoipa::path]` attribute on each handler and request types from
//! `ToSchema`/`IntoParams` derives on the structs the handlers parse. Responses that handlers
//! build as JSON values are described by the types below. The route table in `lib.rs` is the
//! source of truth: a test checks that every route it registers is in this document.
//!
//! The explorer is one HTML page compiled into the binary, with no external scripts, styles or
//! fonts, so it works on a machine without internet access.

use std::sync::OnceLock;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::{
    auth, business_rules, configurations, dashboards, indicators, sharing, tags, tenants, ALIASES,
};

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

/// 422 for a batch with refused elements.
#[derive(Serialize, ToSchema)]
pub(crate) struct RejectedBody {
    /// Summary listing every refused element.
    detail: String,
    /// Each refused element.
    errors: Vec<RejectedItem>,
}

/// A business rule's filters in CE's two spellings.
#[derive(Serialize, ToSchema)]
pub(crate) struct RuleFiltersOut {
    /// The UI query language.
    query: String,
    /// CE's JSON filter language, as a string.
    mongo: String,
}

/// A business rule exception.
#[derive(Serialize, ToSchema)]
pub(crate) struct RuleExceptionOut {
    name: String,
    filters: Option<RuleFiltersOut>,
    tags: Option<Vec<String>>,
}

/// A business rule as CE returns it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RuleOut {
    name: String,
    filters: RuleFiltersOut,
    exceptions: Vec<RuleExceptionOut>,
    muted: bool,
    unmute_at: Option<String>,
    /// `{"<source>": {"<destination>": [{"label","value","parameters"}]}}`.
    #[schema(value_type = Object)]
    shared_with: Value,
}

/// CE's `business_rules/test` answer, with sizes in real payload bytes.
#[derive(Serialize, ToSchema)]
pub(crate) struct RuleTestOut {
    hash_count: u64,
    hash_size: u64,
    url_count: u64,
    url_size: u64,
}

/// A destination a source record is shared with.
#[derive(Serialize, ToSchema)]
pub(crate) struct DestinationOut {
    /// Destination configuration.
    name: String,
    /// `pending`, `shared`, `failed`, ...
    status: String,
    /// Why sharing failed, when it did.
    reason: Option<String>,
}

/// One source's record of an indicator.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SourceOut {
    internal_hits: u64,
    external_hits: u64,
    /// Configuration name.
    source: String,
    tags: Vec<String>,
    first_seen: String,
    last_seen: String,
    reputation: u8,
    severity: String,
    destinations: Vec<DestinationOut>,
    comments: String,
    extended_information: String,
    retracted: bool,
    retraction_destinations: Vec<DestinationOut>,
}

/// CE's `IndicatorOutWithSources`; top-level per-source fields are the first source's.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndicatorOut {
    value: String,
    #[serde(rename = "type")]
    kind: String,
    test: bool,
    safe: bool,
    active: bool,
    internal_hits: u64,
    external_hits: u64,
    expires_at: Option<String>,
    source: Option<String>,
    shared_with: Vec<String>,
    tags: Vec<String>,
    first_seen: Option<String>,
    last_seen: Option<String>,
    reputation: Option<u8>,
    severity: Option<String>,
    comments: String,
    extended_information: String,
    sources: Vec<SourceOut>,
}

/// The body of `PATCH /api/cte/indicators/`: an edit of one source's record, or a retraction
/// update.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum IndicatorPatch {
    /// Edit (as `IndicatorIn`).
    Edit(crate::wire::IndicatorIn),
    /// `{"value","source","retracted"}`.
    Retraction(indicators::RetractionUpdate),
}

/// `{"count": n}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct CountOut {
    count: u64,
}

/// `{"updated": n}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct UpdatedOut {
    updated: u64,
}

/// `{"deleted": n}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeletedOut {
    deleted: u64,
}

/// `{}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct EmptyOut {}

/// `{"success": true}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SuccessOut {
    success: bool,
}

/// A tag with how it applies to the filtered indicators.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TagOut {
    name: String,
    color: String,
    /// `all`, `some` or `none`.
    applied_on: String,
}

/// `POST /api/auth` answer.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenOut {
    #[serde(rename = "access_token")]
    access_token: String,
    /// `bearer`.
    #[serde(rename = "token_type")]
    token_type: String,
    scopes: Vec<String>,
    expires_at: String,
    first_login: bool,
    password_policy_violation: bool,
    password_policy: Option<Value>,
}

/// An API token as listed; `client_secret` only when created.
#[derive(Serialize, ToSchema)]
pub(crate) struct ApiTokenOut {
    client_id: String,
    client_secret: Option<String>,
    description: String,
    scopes: Vec<String>,
    #[serde(rename = "createdAt")]
    created_at: String,
    #[serde(rename = "expiresAt")]
    expires_at: Option<String>,
}

/// A Netskope tenant as listed (never its tokens).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantOut {
    name: String,
    tenant_name: String,
    initial_range: u32,
    use_system_proxy: bool,
    has_v1_token: bool,
    created_at: String,
}

/// Last run of a pull and a share.
#[derive(Serialize, ToSchema)]
pub(crate) struct PerRun {
    pull: Option<Value>,
    share: Option<Value>,
}

/// A plugin configuration as listed.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigurationOut {
    name: String,
    plugin: String,
    active: bool,
    tenant: Option<String>,
    ssl_validation: bool,
    poll_interval: u64,
    poll_interval_unit: String,
    reputation: u8,
    age_after_days: u32,
    parameters: Value,
    tags_aggregate_strategy: String,
    created_at: String,
    last_run_at: PerRun,
    last_run_success: PerRun,
    last_run_message: PerRun,
}

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
    components(schemas(CountOut)),
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
