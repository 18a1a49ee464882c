//! What sharing will do and why it did it, read-only:
//!
//! - `GET /api/cte/business_rules/test?rule=&sourceConfiguration=&destinationConfiguration=`:
//!   CE's `{hash_count, hash_size, url_count, url_size}`, with sizes in payload bytes.
//! - `POST /api/cte/sharing/preview` `{"rule","sourceConfiguration","destinationConfiguration",
//!   "target": "url"|"file"}`: the next push of that target, computed from the stored state by the
//!   engine's own planner, with the exact request bodies, and why each other indicator of the
//!   source that the rule's filters select is left out.
//! - `GET /api/cte/indicators/explain?value=`: every list the indicator is on or was cut from,
//!   with rule, source and time.
//!
//! Nothing here writes. For a URL list that the push would change, the preview reads the tenant's
//! list names (`GET /api/v2/policy/urllist?field=id,name`, the push's own first call) to show the
//! exact write; without a tenant connector, or when that read fails, it shows both possible
//! writes with their condition (`when`) and `{id}` in the patch path.

use axum::extract::State;
use cte_core::config::Configuration;
use cte_core::error::echo;
use cte_core::push::{RenderedRequest, REDACTED_TOKEN};
use cte_core::rule::{Action, BusinessRule, ShareTarget};
use cte_core::store::Store;
use cte_core::tenant::UrlListType;
use cte_core::time::format_datetime;
use cte_engine::share::{exclusions, plan_push, selection_size, PlannedCall, UrlListOnTenant};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, CteRead};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::AppState;

/// The sharing configuration named by a request: rule, source, destination.
#[derive(Deserialize, IntoParams, ToSchema)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub(crate) struct SharingParams {
    #[serde(default)]
    rule: Option<String>,
    #[serde(default)]
    source_configuration: Option<String>,
    #[serde(default)]
    destination_configuration: Option<String>,
    /// CE's look-back for manual syncs; accepted and not used (the preview is of the scheduled
    /// push, which has none).
    #[serde(default)]
    #[allow(dead_code)]
    days: Option<u32>,
    /// Preview only: `url` or `file`.
    #[serde(default)]
    target: Option<String>,
}

struct Sharing {
    rule: BusinessRule,
    source: String,
    dest: Configuration,
    actions: Vec<Action>,
}

fn required(v: Option<String>, name: &str) -> Result<String, ApiError> {
    match v.map(|s| s.trim().to_string()) {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(ApiError::BadRequest(format!("'{name}' is required."))),
    }
}

/// Loads the rule, the destination and the targets of `sharedWith[source][destination]`.
fn sharing(store: &dyn Store, rule: &str, source: &str, dest: &str) -> Result<Sharing, ApiError> {
    let rule = store.business_rule(rule)?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "Business rule with name '{}' does not exist.",
            echo(rule)
        ))
    })?;
    let dest_config = store.configuration(dest)?.ok_or_else(|| {
        ApiError::NotFound(format!(
            "Configuration with name '{}' does not exist.",
            echo(dest)
        ))
    })?;
    let actions = rule
        .shared_with
        .get(source)
        .and_then(|d| d.get(dest))
        .cloned()
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "Business rule '{}' has no sharing configuration from '{source}' to '{dest}'.",
                rule.name
            ))
        })?;
    Ok(Sharing {
        rule,
        source: source.to_string(),
        dest: dest_config,
        actions,
    })
}

/// CE's `business_rules/test` answer, with sizes in real payload bytes.
#[derive(Serialize, ToSchema)]
pub(crate) struct RuleTestOut {
    hash_count: usize,
    hash_size: usize,
    url_count: usize,
    url_size: usize,
}

/// `GET /api/cte/business_rules/test` → `{hash_count, hash_size, url_count, url_size}` for the
/// whole selection of the sharing configuration, before any cut. `url_size` is the byte length of
/// the URL-list replace body holding every URL-like value; `hash_size` that of the hash list's
/// `list` value (`h1,h2,...`).
#[utoipa::path(
    get,
    path = "/api/cte/business_rules/test",
    operation_id = "test_business_rule",
    tag = "business_rules",
    params(SharingParams),
    responses(
        (status = 200, description = "CE's counts and real payload sizes", body = RuleTestOut),
        (status = 400, description = "Missing parameter", body = crate::error::ErrorBody),
        (status = 404, description = "No such rule or sharing configuration", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn test_rule(
    State(state): State<AppState>,
    _: Caller<CteRead>,
    Query(p): Query<SharingParams>,
) -> Result<Json<RuleTestOut>, ApiError> {
    let rule = required(p.rule, "rule")?;
    let source = required(p.source_configuration, "sourceConfiguration")?;
    let dest = required(p.destination_configuration, "destinationConfiguration")?;
    let now = state.now();
    let size = state
        .run(move |store| -> Result<_, ApiError> {
            let s = sharing(store, &rule, &source, &dest)?;
            let list_type = s
                .actions
                .iter()
                .find_map(|a| match ShareTarget::from_action(a) {
                    Ok(ShareTarget::UrlList(t)) => Some(t.list_type),
                    _ => None,
                })
                .unwrap_or(UrlListType::Exact);
            selection_size(store, &s.rule, &s.source, list_type, now)
                .map_err(ApiError::Unprocessable)
        })
        .await?;
    Ok(Json(RuleTestOut {
        hash_count: size.hash_count,
        hash_size: size.hash_size,
        url_count: size.url_count,
        url_size: size.url_size,
    }))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequestOut {
    method: &'static str,
    path: String,
    /// The exact body, embedded verbatim.
    #[schema(value_type = Option<Object>)]
    body: Option<Box<RawValue>>,
    byte_length: usize,
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    when: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    redacted: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct ExcludedOut {
    value: String,
    reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    detail: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PreviewOut {
    rule: String,
    source_configuration: String,
    destination_configuration: String,
    target: String,
    tenant: String,
    list: String,
    /// `exists`, `missing`, `unknown`, or `not read` (no change: no tenant call).
    list_on_tenant: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    note: Option<String>,
    entries: Vec<String>,
    requests: Vec<RequestOut>,
    excluded: Vec<ExcludedOut>,
}

fn request_out(planned: &PlannedCall) -> Result<RequestOut, ApiError> {
    let RenderedRequest {
        method,
        mut path,
        query,
        body,
    } = planned.call.render();
    if !query.is_empty() {
        let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        path = format!("{path}?{}", q.join("&"));
    }
    let (raw, byte_length, sha256) = match body {
        None => (None, 0, None),
        Some(bytes) => {
            let text = String::from_utf8(bytes)
                .map_err(|e| ApiError::Internal(format!("body is not UTF-8: {e}")))?;
            let digest = hex::encode(Sha256::digest(text.as_bytes()));
            let len = text.len();
            let raw = RawValue::from_string(text)
                .map_err(|e| ApiError::Internal(format!("body is not JSON: {e}")))?;
            (Some(raw), len, Some(digest))
        }
    };
    let redacted = matches!(
        planned.call,
        cte_core::push::PushCall::ReplaceFileHashList { .. }
    )
    .then(|| {
        format!("token: the v1 token is shown as \"{REDACTED_TOKEN}\"; the bytes sent differ only there")
    });
    Ok(RequestOut {
        method,
        path,
        body: raw,
        byte_length,
        sha256,
        when: planned.when.clone(),
        redacted,
    })
}

/// `POST /api/cte/sharing/preview` → what the worker's next push of this target will do.
#[utoipa::path(
    post,
    path = "/api/cte/sharing/preview",
    operation_id = "preview_sharing",
    tag = "business_rules",
    request_body = SharingParams,
    responses(
        (status = 200, description = "What the next push will do, with exact bodies", body = PreviewOut),
        (status = 400, description = "Missing or bad parameter", body = crate::error::ErrorBody),
        (status = 404, description = "No such rule or sharing configuration", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn preview(
    State(state): State<AppState>,
    _: Caller<CteRead>,
    Json(p): Json<SharingParams>,
) -> Result<Json<PreviewOut>, ApiError> {
    let rule = required(p.rule, "rule")?;
    let source = required(p.source_configuration, "sourceConfiguration")?;
    let dest = required(p.destination_configuration, "destinationConfiguration")?;
    let target = required(p.target, "target")?;
    if target != "url" && target != "file" {
        return Err(ApiError::BadRequest(format!(
            "'target' must be 'url' (Add to URL List) or 'file' (Add to File Hash List), not '{target}'."
        )));
    }
    let now = state.now();
    let (mut planned, excluded, tenant) = state
        .run(move |store| -> Result<_, ApiError> {
            let s = sharing(store, &rule, &source, &dest)?;
            let action = s.actions.iter().find(|a| a.value == target).ok_or_else(|| {
                ApiError::NotFound(format!(
                    "The sharing configuration from '{source}' to '{dest}' of business rule '{}' has no '{target}' target.",
                    s.rule.name
                ))
            })?;
            let planned = plan_push(
                store,
                &s.rule,
                &s.source,
                &s.dest,
                action,
                UrlListOnTenant::Unknown,
                now,
            )
            .map_err(ApiError::Unprocessable)?;
            let excluded = exclusions(store, &s.rule, &planned).map_err(ApiError::Unprocessable)?;
            let tenant = match s.dest.tenant.as_deref() {
                Some(t) => store.tenant(t)?.map(|t| (t, s.dest.ssl_validation)),
                None => None,
            };
            Ok((planned, excluded, tenant))
        })
        .await?;

    let mut note = None;
    let list_name = match &planned.target {
        ShareTarget::UrlList(t) => t.list.clone(),
        ShareTarget::FileHashList(t) => t.list.clone(),
        _ => planned.list.list.clone(),
    };
    let list_on_tenant = if !planned.changes_anything() {
        "not read".to_string()
    } else if planned.list.kind != "url" {
        // The v1 hash list is replaced by name; whether it exists is not readable.
        "unknown".to_string()
    } else {
        match (&state.connector, tenant) {
            (Some(connector), Some((tenant, ssl))) => match connector.connect(&tenant, ssl) {
                Ok(client) => match client.url_list_refs().await {
                    Ok(refs) => match refs.iter().find(|l| l.name == list_name) {
                        Some(l) => {
                            planned.resolve(UrlListOnTenant::Exists(l.id));
                            "exists".to_string()
                        }
                        None => {
                            planned.resolve(UrlListOnTenant::Missing);
                            "missing".to_string()
                        }
                    },
                    Err(e) => {
                        note = Some(format!("could not read the tenant's URL lists: {e}"));
                        "unknown".to_string()
                    }
                },
                Err(e) => {
                    note = Some(format!("cannot connect to the tenant: {e}"));
                    "unknown".to_string()
                }
            },
            _ => {
                note = Some("the tenant's URL lists were not read (no tenant access)".to_string());
                "unknown".to_string()
            }
        }
    };
    let requests = planned
        .calls
        .iter()
        .map(request_out)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Json(PreviewOut {
        rule: planned.rule.clone(),
        source_configuration: planned.source.clone(),
        destination_configuration: planned.destination.clone(),
        target: planned.list.kind.clone(),
        tenant: planned.list.tenant.clone(),
        list: list_name,
        list_on_tenant,
        note,
        entries: planned.content,
        requests,
        excluded: excluded
            .into_iter()
            .map(|e| ExcludedOut {
                value: e.value,
                reason: e.reason,
                detail: e.detail,
            })
            .collect(),
    }))
}

/// `GET /api/cte/indicators/explain`: an indicator, the lists it is on, and every status a push
/// left it with.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ExplainOut {
    value: String,
    #[serde(rename = "type")]
    kind: &'static str,
    shared_with: Vec<String>,
    on_lists: Vec<OnListOut>,
    statuses: Vec<ShareStatusOut>,
}

/// A tenant list whose acknowledged content holds the indicator.
#[derive(Serialize, ToSchema)]
pub(crate) struct OnListOut {
    /// Tenant configuration.
    tenant: String,
    /// `url` or `file`.
    target: String,
    list: String,
    /// When that content was acknowledged.
    at: String,
}

/// The status a push left the indicator with at one destination.
#[derive(Serialize, ToSchema)]
pub(crate) struct ShareStatusOut {
    /// `shared`, `failed` or `unshared`.
    status: &'static str,
    /// Why, for `failed` and `unshared`.
    reason: Option<String>,
    /// `null` for statuses recorded before rules were.
    rule: Option<String>,
    source: String,
    destination: String,
    /// The list; these three are `null` for statuses recorded before lists were.
    tenant: Option<String>,
    target: Option<String>,
    list: Option<String>,
    at: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ExplainParams {
    /// The indicator's value.
    #[serde(default)]
    value: Option<String>,
}

/// `GET /api/cte/indicators/explain?value=` → every list the indicator is on (acknowledged
/// content) and every status a push left it with (shared, failed, unshared), with rule, source,
/// destination, list and time.
#[utoipa::path(
    get,
    path = "/api/cte/indicators/explain",
    operation_id = "explain_indicator",
    tag = "indicators",
    params(ExplainParams),
    responses(
        (status = 200, description = "The lists the indicator is on or was cut from", body = ExplainOut),
        (status = 400, description = "Missing value", body = crate::error::ErrorBody),
        (status = 404, description = "No such indicator", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn explain(
    State(state): State<AppState>,
    _: Caller<CteRead>,
    Query(p): Query<ExplainParams>,
) -> Result<Json<ExplainOut>, ApiError> {
    let value = required(p.value, "value")?;
    let out = state
        .run(move |store| -> Result<ExplainOut, ApiError> {
            let ind = match store.indicator(&value)? {
                Some(i) => i,
                None => store.indicator(&value.to_lowercase())?.ok_or_else(|| {
                    ApiError::NotFound(format!(
                        "Indicator with value '{}' does not exist.",
                        echo(&value)
                    ))
                })?,
            };
            let records = store.share_records(&ind.value)?;
            let holding = store.lists_holding(&ind.value)?;
            Ok(ExplainOut {
                kind: ind.kind.as_str(),
                on_lists: holding
                    .into_iter()
                    .map(|h| OnListOut {
                        tenant: h.list.tenant,
                        target: h.list.kind,
                        list: h.list.list,
                        at: format_datetime(h.at),
                    })
                    .collect(),
                statuses: records
                    .into_iter()
                    .map(|r| {
                        let (tenant, target, list) = match r.list {
                            Some(l) => (Some(l.tenant), Some(l.kind), Some(l.list)),
                            None => (None, None, None),
                        };
                        ShareStatusOut {
                            status: r.status.as_str(),
                            reason: r.reason,
                            rule: r.rule,
                            source: r.source,
                            destination: r.destination,
                            tenant,
                            target,
                            list,
                            at: r.at.map(format_datetime),
                        }
                    })
                    .collect(),
                value: ind.value,
                shared_with: ind.shared_with,
            })
        })
        .await?;
    Ok(Json(out))
}
