//! Indicators: list, post, patch, bulk tag edits and bulk deletes (CE's `/api/cte/indicators`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use cte_core::error::echo;
use cte_core::filter::Filter;
use cte_core::indicator::{Indicator, IndicatorKind};
use cte_core::normalize::normalize_value;
use cte_core::query::{ListQuery, Locator, SortKey};
use cte_core::reconcile::ReportKind;
use cte_engine::ingest::{self, ingest};
use cte_engine::{IngestError, Rejection};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::auth::{Caller, CteRead, CteWrite};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::wire::{
    value_of, CountOut, DeletedOut, IndicatorDocument, IndicatorDocuments, IndicatorIn,
    IndicatorListOut, IndicatorOut, IndicatorPatchOut, UpdatedOut,
};
use crate::AppState;

/// CE's `API_MAX_LIMIT`.
const MAX_LIMIT: u64 = 100;

/// Parses the `filters` query parameter: a JSON document of CE's filter language
/// (`INDICATOR_QUERY_SCHEMA`); errors are CE's 400 messages.
pub(crate) fn parse_filters(raw: Option<&str>) -> Result<Filter, ApiError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(Filter::all()),
        Some(text) => {
            cte_core::filter::parse_json(text).map_err(|e| ApiError::BadRequest(e.detail()))
        }
    }
}

/// The filter of a list request: `filters` (JSON) and/or `q` (CE's UI query language), both
/// applying when both are given.
fn list_filter(filters: Option<&str>, q: Option<&str>) -> Result<Filter, ApiError> {
    let json = parse_filters(filters)?;
    match q.map(str::trim).filter(|q| !q.is_empty()) {
        None => Ok(json),
        Some(q) => {
            let ui = cte_core::filter::parse_ui(q).map_err(|e| ApiError::BadRequest(e.detail()))?;
            Ok(json.and(ui))
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListParams {
    /// Rows to skip (default 0). Refused with `cursor`.
    skip: Option<u64>,
    /// Rows to return (default 10): at most 100, or 10000 with `cursor`.
    limit: Option<u64>,
    /// One of `value, type, sources.source, sources.comments, test, active, internalHits,
    /// externalHits, sources.reputation, sources.firstSeen, sources.severity, sources.lastSeen,
    /// expiresAt`; anything else leaves storage order (as CE). Refused with `cursor`.
    sort: Option<String>,
    /// Sort direction (default true).
    ascending: Option<bool>,
    /// `true` answers `{"count": n}` instead of a page. Refused with `cursor`.
    aggregate: Option<bool>,
    /// CE's JSON filter language.
    filters: Option<String>,
    /// CE's UI query language, e.g. `type IN ("md5") && reputation >= 7`.
    q: Option<String>,
    /// Keyset paging (beyond CE): empty to start, then the `X-Next-Cursor` of the previous page.
    /// Pages follow storage order and stay correct while indicators are inserted; send the same
    /// `filters`/`q` with every page.
    cursor: Option<String>,
}

/// The response header carrying the cursor of the next page; absent on the last page.
pub(crate) const NEXT_CURSOR_HEADER: &str = "x-next-cursor";

/// The largest page with a cursor.
const MAX_CURSOR_LIMIT: u64 = 10_000;

const CURSOR_PREFIX: &str = "v1:";

/// An opaque, versioned cursor: base64url of `v1:<row id>`.
fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{id}"))
}

/// The row id a cursor resumes after; an empty cursor starts at the beginning.
fn decode_cursor(c: &str) -> Result<Option<i64>, ApiError> {
    let c = c.trim();
    if c.is_empty() {
        return Ok(None);
    }
    let invalid = || {
        ApiError::BadRequest(
            "Invalid cursor: pass the X-Next-Cursor header of the previous page unchanged, or an empty cursor to start.".into(),
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(c).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let id = text
        .strip_prefix(CURSOR_PREFIX)
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n >= 0)
        .ok_or_else(invalid)?;
    Ok(Some(id))
}

fn page_response(page: Vec<Indicator>, next: Option<i64>) -> Response {
    let body = IndicatorDocuments(page);
    match next {
        Some(id) => ([(NEXT_CURSOR_HEADER, encode_cursor(id))], body).into_response(),
        None => body.into_response(),
    }
}

/// Lists indicators: a bare array, or `{"count": n}` with `aggregate=true`. Pages in storage
/// order (no `sort`, no `skip`) carry the next page's cursor in `X-Next-Cursor`.
#[utoipa::path(
    get,
    path = "/api/cte/indicators/",
    operation_id = "list_indicators",
    tag = "indicators",
    params(ListParams),
    responses(
        (status = 200, description = "A page (or `{\"count\": n}` with `aggregate=true`)",
         body = IndicatorListOut,
         headers(("x-next-cursor" = String, description = "Cursor of the next page; absent on the last page"))),
        (status = 400, description = "Limit too large, bad filter, bad cursor, or `sort`/`skip`/`aggregate` with `cursor`", body = crate::error::ErrorBody),
        (status = 422, description = "A parameter of the wrong type", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_read"]))
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    _: Caller<CteRead>,
    Query(p): Query<ListParams>,
) -> Result<Response, ApiError> {
    let limit = p.limit.unwrap_or(10);
    if let Some(cursor) = p.cursor.as_deref() {
        // A cursor is a position in storage order: another order or an offset would make it
        // meaningless, and a count has no pages.
        for (given, name) in [
            (p.sort.is_some(), "sort"),
            (p.skip.is_some_and(|s| s > 0), "skip"),
            (p.aggregate == Some(true), "aggregate"),
        ] {
            if given {
                return Err(ApiError::BadRequest(format!(
                    "{name} cannot be combined with cursor: cursor pages follow storage order from where the previous page ended."
                )));
            }
        }
        if !(1..=MAX_CURSOR_LIMIT).contains(&limit) {
            return Err(ApiError::BadRequest(format!(
                "Limit must be between 1 and {MAX_CURSOR_LIMIT} with a cursor. Provided limit: {limit}."
            )));
        }
        let after = decode_cursor(cursor)?;
        let filter = list_filter(p.filters.as_deref(), p.q.as_deref())?;
        let (page, next) = state
            .run(move |store| store.list_indicators_after(&filter, after, limit))
            .await?;
        return Ok(page_response(page, next));
    }
    if limit > MAX_LIMIT {
        return Err(ApiError::BadRequest(format!(
            "Limit cannot be greater than {MAX_LIMIT}. Provided limit: {limit}."
        )));
    }
    let filter = list_filter(p.filters.as_deref(), p.q.as_deref())?;
    if p.aggregate.unwrap_or(false) {
        let n = state
            .run(move |store| store.count_indicators(&filter))
            .await?;
        return Ok(Json(CountOut { count: n }).into_response());
    }
    let sort = p.sort.as_deref().and_then(SortKey::from_param);
    let skip = p.skip.unwrap_or(0);
    if sort.is_none() && skip == 0 && limit > 0 {
        // Storage order from the start: the same page as CE's, plus where to continue.
        let (page, next) = state
            .run(move |store| store.list_indicators_after(&filter, None, limit))
            .await?;
        return Ok(page_response(page, next));
    }
    let query = ListQuery {
        filter,
        sort,
        ascending: p.ascending.unwrap_or(true),
        skip,
        limit,
    };
    let page = state
        .run(move |store| store.list_indicators(&query))
        .await?;
    Ok(page_response(page, None))
}

#[utoipa::path(
    post,
    path = "/api/cte/indicators/",
    operation_id = "upsert_indicators",
    tag = "indicators",
    request_body = Vec<crate::wire::IndicatorIn>,
    responses(
        (status = 201, description = "The stored indicators", body = Vec<IndicatorOut>),
        (status = 413, description = "Body over the server's `max_body_mib` (64 MiB by default) or more indicators than its `max_batch` (100,000)", body = crate::error::ErrorBody),
        (status = 422, description = "Not an array, or elements refused (each listed in `errors`; nothing stored)", body = crate::error::RejectedBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
/// `POST /api/cte/indicators/`: a JSON array of `IndicatorIn`, stored all or nothing → 201 with
/// the stored documents.
pub(crate) async fn upsert(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    request: axum::extract::Request,
) -> Result<Response, ApiError> {
    let limits = state.limits();
    let body = upsert_body(request, limits.max_body_bytes).await?;
    let raws = match body {
        UpsertBody::Parsed(raws) => raws,
        UpsertBody::Value(body) => parse_elements(&state, body).await?,
    };
    if raws.len() > limits.max_batch {
        return Err(ApiError::PayloadTooLarge(format!(
            "At most {} indicators per request; this one has {}. Split it.",
            limits.max_batch,
            raws.len()
        )));
    }
    let now = state.now();
    let stored = state
        .run(move |store| ingest(store, raws, ReportKind::Api, now, true))
        .await?;
    Ok((StatusCode::CREATED, IndicatorDocuments(stored)).into_response())
}

/// The body of a POST, parsed straight into `IndicatorIn` when every element is well-formed, or
/// else the `Value` axum's `Json` gives, from which the errors are listed element by element.
/// Parsing a 10,000-element body into `Value` trees first was about 8 % of the server's CPU.
enum UpsertBody {
    Parsed(Vec<cte_engine::RawIndicator>),
    Value(Value),
}

/// Reads the body with the checks and rejections of `Json<Value>`, in its order: content type,
/// then size, then syntax.
async fn upsert_body(
    request: axum::extract::Request,
    max_bytes: usize,
) -> Result<UpsertBody, ApiError> {
    use axum::extract::rejection::JsonRejection;
    use axum::extract::FromRequest;
    let mut probe = axum::extract::Request::new(axum::body::Body::empty());
    *probe.headers_mut() = request.headers().clone();
    if let Err(e @ JsonRejection::MissingJsonContentType(_)) =
        axum::Json::<serde::de::IgnoredAny>::from_request(probe, &()).await
    {
        return Err(e.into());
    }
    let bytes = axum::body::to_bytes(request.into_body(), max_bytes)
        .await
        .map_err(|e| {
            let e = e.into_inner();
            if e.is::<http_body_util::LengthLimitError>() {
                crate::extract::too_large()
            } else {
                ApiError::BadRequest(format!("Cannot read the request body: {e}"))
            }
        })?;
    if let Ok(items) = serde_json::from_slice::<Vec<IndicatorIn>>(&bytes) {
        if let Ok(raws) = items.into_iter().map(IndicatorIn::into_raw).collect() {
            return Ok(UpsertBody::Parsed(raws));
        }
    }
    let axum::Json(value) = axum::Json::<Value>::from_bytes(&bytes)?;
    Ok(UpsertBody::Value(value))
}

/// Parses the elements of a body one by one; the error lists every problem of every element.
async fn parse_elements(
    state: &AppState,
    body: Value,
) -> Result<Vec<cte_engine::RawIndicator>, ApiError> {
    let Value::Array(items) = body else {
        return Err(ApiError::Unprocessable(
            "Expected a JSON array of indicators.".into(),
        ));
    };
    let total = items.len();
    let mut raws = Vec::with_capacity(total);
    let mut positions = Vec::with_capacity(total);
    let mut rejected = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        let value = value_of(&item);
        match IndicatorIn::parse(item) {
            Ok(r) => {
                raws.push(r);
                positions.push(index);
            }
            Err(reason) => rejected.push(Rejection {
                index,
                value,
                reason,
            }),
        }
    }
    if !rejected.is_empty() {
        // List the problems of the well-formed elements too (unknown source or tag, bad value),
        // renumbered to their place in the request.
        let others = state.run(move |store| ingest::check(store, &raws)).await?;
        rejected.extend(others.into_iter().map(|r| Rejection {
            index: positions[r.index],
            ..r
        }));
        rejected.sort_by_key(|r| r.index);
        return Err(IngestError::Rejected { rejected, total }.into());
    }
    Ok(raws)
}

#[derive(Deserialize, ToSchema)]
pub(crate) struct RetractionUpdate {
    value: String,
    source: String,
    retracted: bool,
}

/// The body of `PATCH /api/cte/indicators/`: an edit of one source's record, or a retraction
/// update. The handler tells them apart itself (a body with `retracted` and no `type` is a
/// retraction update), so this type only describes the body.
#[derive(Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum IndicatorPatch {
    /// Edit (as `IndicatorIn`).
    Edit(IndicatorIn),
    /// `{"value","source","retracted"}`.
    Retraction(RetractionUpdate),
}

#[utoipa::path(
    patch,
    path = "/api/cte/indicators/",
    operation_id = "update_indicator",
    tag = "indicators",
    request_body = IndicatorPatch,
    responses(
        (status = 200, description = "The edited indicator, or `true` for a retraction update", body = IndicatorPatchOut),
        (status = 400, description = "The source configuration does not exist", body = crate::error::ErrorBody),
        (status = 404, description = "The indicator (or its record from that source) does not exist", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
/// `PATCH /api/cte/indicators/`: one `IndicatorIn` (an explicit edit of that source's record), or
/// `{"value","source","retracted"}`. Both answer 200, where CE answers 201: a PATCH changes an
/// indicator that exists and creates nothing.
pub(crate) async fn update(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    let is_retraction = body.get("retracted").is_some() && body.get("type").is_none();
    if is_retraction {
        let r: RetractionUpdate = serde_json::from_value(body).map_err(|e| {
            ApiError::Unprocessable(format!(
                "Invalid retraction update: {}",
                echo(&e.to_string())
            ))
        })?;
        let value = r.value.trim().to_string();
        state
            .run(move |store| {
                let mut stored = None;
                for candidate in spellings(&value) {
                    if store.indicator(&candidate)?.is_some() {
                        stored = Some(candidate);
                        break;
                    }
                }
                // Absent under every spelling: the store's 404 names the value as sent.
                store.set_retracted(stored.as_ref().unwrap_or(&value), &r.source, r.retracted)
            })
            .await?;
        return Ok(Json(true).into_response());
    }
    let raw = IndicatorIn::parse(body).map_err(|reason| {
        ApiError::Unprocessable(format!("Invalid indicator: {}", echo(&reason.to_string())))
    })?;
    let now = state.now();
    let stored = state
        .run(move |store| {
            let canonical =
                cte_core::normalize::normalize_value(raw.kind, &raw.value).map_err(|e| {
                    ApiError::Unprocessable(format!("invalid {}: {}", raw.kind, e.reason))
                })?;
            if store.indicator(&canonical)?.is_none() {
                return Err(ApiError::NotFound(format!(
                    "Indicator with value='{}' does not exist.",
                    echo(&raw.value)
                )));
            }
            if store.configuration(&raw.source)?.is_none() {
                return Err(ApiError::BadRequest(format!(
                    "Configuration with name='{}' does not exist.",
                    echo(&raw.source)
                )));
            }
            Ok(ingest(store, vec![raw], ReportKind::Edit, now, true)?)
        })
        .await?;
    let out = stored
        .into_iter()
        .next()
        .map(IndicatorDocument)
        .ok_or_else(|| ApiError::Internal("edit returned no indicator".into()))?;
    Ok(out.into_response())
}

/// The stored spellings a value given without its type may have: as given, lower-cased, and its
/// canonical form as each kind that accepts it (so `Evil.Example.COM.` finds the domain stored as
/// `evil.example.com`, as ingest stored it). URLs are left out: a bare host must not reach a URL
/// indicator through URL canonicalisation.
fn spellings(v: &str) -> Vec<String> {
    let v = v.trim();
    let mut out = vec![v.to_string(), v.to_lowercase()];
    for kind in IndicatorKind::ALL {
        if kind == IndicatorKind::Url {
            continue;
        }
        if let Ok(canonical) = normalize_value(kind, v) {
            out.push(canonical);
        }
    }
    let mut seen = std::collections::HashSet::new();
    out.retain(|s| seen.insert(s.clone()));
    out
}

/// Every stored spelling of the values of a locator (see [`spellings`]).
fn locator_values(values: Vec<String>) -> Vec<String> {
    values.iter().flat_map(|v| spellings(v)).collect()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocatorIn {
    values: Option<Vec<String>>,
    source: Option<String>,
    query: Option<String>,
}

impl LocatorIn {
    fn into_locator(self) -> Result<Locator, ApiError> {
        match (self.values, self.query) {
            (Some(values), None) => Ok(Locator::Values {
                values: locator_values(values),
                source: self.source,
            }),
            (None, Some(q)) => Ok(Locator::Query(parse_filters(Some(&q))?)),
            (None, None) => Err(ApiError::Unprocessable(
                "locator needs either \"values\" or \"query\".".into(),
            )),
            (Some(_), Some(_)) => Err(ApiError::Unprocessable(
                "locator takes either \"values\" or \"query\", not both.".into(),
            )),
        }
    }
}

#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TagEdit {
    #[serde(default)]
    add: Vec<String>,
    #[serde(default)]
    remove: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkEdit {
    locator: Option<LocatorIn>,
    tags: Option<TagEdit>,
}

#[utoipa::path(
    patch,
    path = "/api/cte/indicators/bulk",
    operation_id = "bulk_edit_indicators",
    tag = "indicators",
    request_body = BulkEdit,
    responses(
        (status = 201, description = "How many indicators matched", body = UpdatedOut),
        (status = 400, description = "Invalid query locator", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body or unknown tags", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
/// `PATCH /api/cte/indicators/bulk`: tag edits → `{"updated": n}`.
pub(crate) async fn bulk_edit(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<BulkEdit>,
) -> Result<(StatusCode, Json<UpdatedOut>), ApiError> {
    let locator = match body.locator {
        Some(l) => l.into_locator()?,
        None => Locator::Query(Filter::all()),
    };
    let tags = body.tags.unwrap_or_default();
    let trim = |v: Vec<String>| {
        v.into_iter()
            .map(|t| t.trim().to_string())
            .collect::<Vec<_>>()
    };
    let (add, remove) = (trim(tags.add), trim(tags.remove));
    let updated = state
        .run(move |store| {
            let mut named: Vec<String> = add.clone();
            named.extend(remove.iter().cloned());
            let missing = store.missing_tags(&named)?;
            if !missing.is_empty() {
                return Err(ApiError::Unprocessable(format!(
                    "Tag(s) {} do not exist; create them first with POST /api/cte/tags.",
                    missing
                        .iter()
                        .map(|t| format!("'{}'", echo(t)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            Ok(store.edit_tags(&locator, &add, &remove)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(UpdatedOut { updated })))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BulkDelete {
    values: Option<Vec<String>>,
    query: Option<String>,
    /// Accepted and ignored, as CE does.
    #[allow(dead_code)]
    source: Option<String>,
}

#[utoipa::path(
    delete,
    path = "/api/cte/indicators/bulk",
    operation_id = "bulk_delete_indicators",
    tag = "indicators",
    request_body = BulkDelete,
    responses(
        (status = 201, description = "How many indicators were deleted", body = DeletedOut),
        (status = 400, description = "Invalid query", body = crate::error::ErrorBody),
        (status = 422, description = "Invalid body", body = crate::error::ErrorBody),
    ),
    security(("bearer" = ["cte_write"]))
)]
/// `DELETE /api/cte/indicators/bulk` `{"values": [...]}` or `{"query": "..."}` → `{"deleted": n}`.
pub(crate) async fn bulk_delete(
    State(state): State<AppState>,
    _: Caller<CteWrite>,
    Json(body): Json<BulkDelete>,
) -> Result<(StatusCode, Json<DeletedOut>), ApiError> {
    let locator = LocatorIn {
        values: body.values,
        source: None,
        query: body.query,
    }
    .into_locator()?;
    let deleted = state
        .run(move |store| store.delete_indicators(&locator))
        .await?;
    Ok((StatusCode::CREATED, Json(DeletedOut { deleted })))
}
