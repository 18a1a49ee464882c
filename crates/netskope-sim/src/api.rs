//! The tenant's REST API: URL lists (v2), file hash lists (v1), Data Export iterator and the audit probe.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::state::{DeployedList, Shared, State as TenantState, UrlList};
use crate::validate;

type Shr = State<Arc<Shared>>;

/// Routes under `/api/`. Authentication, rate limiting and faults are applied before these by the server layer.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let mut router = Router::new()
        .route("/api/v2/policy/urllist", get(list_lists).post(create_list))
        .route("/api/v2/policy/urllist/deploy", post(deploy))
        .route(
            "/api/v2/policy/urllist/{id}",
            get(get_list).put(put_list).delete(delete_list),
        )
        .route("/api/v2/policy/urllist/{id}/{action}", patch(patch_list))
        .route(
            "/api/v2/events/dataexport/alerts/{kind}",
            get(dataexport_alerts),
        )
        .route(
            "/api/v2/events/dataexport/events/{kind}",
            get(dataexport_events),
        )
        .route("/api/v2/events/data/audit", get(audit))
        .route("/api/v1/updateFileHashList", post(update_file_hash_list));
    if shared.config.legacy_deploy_alias {
        // Quirk for the released SDK/CLI `deploy` commands (reference §2.1); the real gateway answers 404 here.
        router = router.route("/api/v2/policy/deploy", post(deploy));
    }
    router
        // The gateway layer already caps bodies at 16 MiB; axum's own 2 MB default would turn big pushes into 413s.
        .layer(DefaultBodyLimit::disable())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(shared)
}

/// Gateway-style error body `{"status":"error","message":...}`, parsed by both official clients (reference §6).
pub(crate) fn gateway_error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({"status": "error", "message": message}))).into_response()
}

/// A URL-list error, answered as the gateway spec declares it: `{"statusCode", "message", "error"}`
/// (reference §12). `message` is a string, or a list of `[value, reason]` pairs for rejected entries.
#[derive(Debug)]
struct ApiError {
    status: StatusCode,
    message: Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "statusCode": self.status.as_u16(),
            "message": self.message,
            "error": self.status.canonical_reason().unwrap_or("Error"),
        });
        (self.status, Json(body)).into_response()
    }
}

type Answer = Result<Response, ApiError>;

fn url_error(status: StatusCode, message: impl Into<Value>) -> ApiError {
    ApiError {
        status,
        message: message.into(),
    }
}

fn bad_request(message: impl Into<Value>) -> ApiError {
    url_error(StatusCode::BAD_REQUEST, message)
}

async fn not_found() -> Response {
    gateway_error(StatusCode::NOT_FOUND, "Not found")
}

async fn method_not_allowed() -> Response {
    gateway_error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed")
}

fn now_iso() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S.000Z")
        .to_string()
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    if body.is_empty() {
        return Err(bad_request("request body required"));
    }
    serde_json::from_slice(body).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

fn parse_id(id: &str) -> Result<u64, ApiError> {
    id.parse::<u64>()
        .map_err(|_| bad_request("id must be an integer"))
}

const FIELDS: &[&str] = &[
    "id",
    "name",
    "data",
    "modify_type",
    "modify_time",
    "modify_by",
    "pending",
];

async fn list_lists(State(shared): Shr, Query(params): Query<Vec<(String, String)>>) -> Answer {
    let mut pending_filter = None;
    let mut fields: Option<Vec<String>> = None;
    for (key, value) in &params {
        match key.as_str() {
            "pending" => match value.as_str() {
                "0" | "false" => pending_filter = Some(false),
                "1" | "true" => pending_filter = Some(true),
                _ => return Err(bad_request("pending must be 0 or 1")),
            },
            "field" => {
                let mut wanted = Vec::new();
                for f in value.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                    if !FIELDS.contains(&f) {
                        return Err(bad_request(format!(
                            "field must be one of {}",
                            FIELDS.join(",")
                        )));
                    }
                    wanted.push(f.to_owned());
                }
                fields = Some(wanted);
            }
            // The gateway declares no paging for this endpoint (reference §2.3); limit/offset are ignored.
            _ => {}
        }
    }
    let state = shared.lock();
    let records: Vec<Value> = state
        .lists
        .values()
        .filter(|l| pending_filter.is_none_or(|p| l.pending == p))
        .map(|l| project(l.to_record(), fields.as_deref()))
        .collect();
    Ok(Json(records).into_response())
}

fn project(record: Value, fields: Option<&[String]>) -> Value {
    let Some(fields) = fields else { return record };
    let Value::Object(map) = record else {
        return record;
    };
    let kept: Map<String, Value> = map
        .into_iter()
        .filter(|(k, _)| fields.iter().any(|f| f == k))
        .collect();
    Value::Object(kept)
}

fn with_list<T>(
    state: &mut TenantState,
    id: u64,
    f: impl FnOnce(&mut UrlList) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    match state.lists.get_mut(&id) {
        Some(list) => f(list),
        // The tenant's wording (issue 23); the official CLI and SDK show this text to users.
        None => Err(url_error(
            StatusCode::NOT_FOUND,
            format!("URL list with id {id} not found"),
        )),
    }
}

async fn get_list(State(shared): Shr, Path(id): Path<String>) -> Answer {
    let id = parse_id(&id)?;
    let mut state = shared.lock();
    with_list(&mut state, id, |l| Ok(Json(l.to_record()).into_response()))
}

/// `name`, `data.urls` and `data.type` of a create or full-replace body (reference §2.1, §12).
struct ListInput {
    name: String,
    list_type: String,
    urls: Vec<String>,
}

fn parse_list_input(body: &Value) -> Result<ListInput, ApiError> {
    let Some(obj) = body.as_object() else {
        return Err(bad_request("request body must be a JSON object"));
    };
    let name = match obj.get("name") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
        _ => return Err(bad_request("name required")),
    };
    validate::list_name(&name).map_err(bad_request)?;
    let data = data_object(body);
    let urls = parse_urls(data.and_then(|d| d.get("urls")))?;
    let list_type = match data.and_then(|d| d.get("type")) {
        Some(Value::String(t)) if t == "exact" || t == "regex" => t.clone(),
        _ => return Err(bad_request("data.type must be one of exact, regex")),
    };
    Ok(ListInput {
        name,
        list_type,
        urls,
    })
}

/// The body's `data` object, if it has one. A missing, null or non-object `data` (the released SDK's flat
/// `{"name", "urls", "type"}` body among them) has no `data.urls`, which the tenant reports as
/// `urls must be an array of URLs`: the messages it is known to give are those of §2.1, and there is no
/// `data required` among them (issue 23).
fn data_object(body: &Value) -> Option<&Map<String, Value>> {
    body.get("data").and_then(Value::as_object)
}

fn parse_urls(urls: Option<&Value>) -> Result<Vec<String>, ApiError> {
    let Some(Value::Array(items)) = urls else {
        return Err(bad_request("urls must be an array of URLs"));
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        match item {
            Value::String(s) => out.push(s.clone()),
            _ => return Err(bad_request("urls must be an array of URLs")),
        }
    }
    if out.is_empty() {
        // CE always sends a placeholder URL rather than an empty list (ce-threat-exchange.md §2.3).
        return Err(bad_request("urls must not be empty"));
    }
    Ok(out)
}

/// Rejected entries as `[[value, reason], ...]`, the shape CE's plugin reads on a 400 (reference §6).
fn check_entries(list_type: &str, urls: &[String]) -> Result<(), ApiError> {
    let rejected: Vec<Value> = urls
        .iter()
        .filter_map(|u| {
            let verdict = if list_type == "regex" {
                validate::regex_entry(u)
            } else {
                validate::exact_entry(u)
            };
            verdict.err().map(|reason| json!([u, reason]))
        })
        .collect();
    if rejected.is_empty() {
        Ok(())
    } else {
        Err(bad_request(Value::Array(rejected)))
    }
}

fn check_size(urls: &[String]) -> Result<(), ApiError> {
    let size = validate::url_list_size(urls);
    if size > validate::MAX_URL_LIST_BYTES {
        return Err(bad_request(format!(
            "URL list size {size} bytes exceeds the maximum of {} bytes (8 MB)",
            validate::MAX_URL_LIST_BYTES
        )));
    }
    Ok(())
}

fn dedup(urls: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    urls.into_iter()
        .filter(|u| seen.insert(u.clone()))
        .collect()
}

fn check_name_free(state: &TenantState, name: &str, except: Option<u64>) -> Result<(), ApiError> {
    if state
        .lists
        .values()
        .any(|l| l.name == name && Some(l.id) != except)
    {
        return Err(bad_request(format!(
            "URL list with name {name} already exists"
        )));
    }
    Ok(())
}

fn check_not_deleted(list: &UrlList) -> Result<(), ApiError> {
    if list.is_deleted() {
        return Err(bad_request(format!(
            "URL list {} is pending deletion; deploy first",
            list.id
        )));
    }
    Ok(())
}

async fn create_list(State(shared): Shr, body: Bytes) -> Answer {
    {
        let input = parse_list_input(&parse_body(&body)?)?;
        check_entries(&input.list_type, &input.urls)?;
        let urls = dedup(input.urls);
        check_size(&urls)?;
        let mut state = shared.lock();
        check_name_free(&state, &input.name, None)?;
        let id = state.next_id;
        state.next_id += 1;
        let list = UrlList {
            id,
            name: input.name,
            list_type: input.list_type,
            urls,
            pending: true,
            modify_type: "Created".to_owned(),
            modify_time: now_iso(),
            modify_by: shared.config.modify_by.clone(),
            deployed: None,
        };
        let record = list.to_record();
        state.lists.insert(id, list);
        // POST answers an array with the created record (reference §12).
        Ok((StatusCode::CREATED, Json(json!([record]))).into_response())
    }
}

/// Marks a change of content or name. `modify_type` is the type of the last modification (reference §12 lists
/// `Created` / `Edited` / `Deleted`), so any change after the create is `Edited`, deployed or not (issue 23).
fn edited(list: &mut UrlList, modify_by: &str) {
    list.pending = true;
    list.modify_time = now_iso();
    list.modify_by = modify_by.to_owned();
    list.modify_type = "Edited".to_owned();
}

async fn put_list(State(shared): Shr, Path(id): Path<String>, body: Bytes) -> Answer {
    {
        let id = parse_id(&id)?;
        let input = parse_list_input(&parse_body(&body)?)?;
        check_entries(&input.list_type, &input.urls)?;
        let urls = dedup(input.urls);
        check_size(&urls)?;
        let mut state = shared.lock();
        with_list(&mut state, id, |l| check_not_deleted(l))?;
        check_name_free(&state, &input.name, Some(id))?;
        with_list(&mut state, id, |list| {
            list.name = input.name;
            list.list_type = input.list_type;
            list.urls = urls;
            edited(list, &shared.config.modify_by);
            Ok(Json(list.to_record()).into_response())
        })
    }
}

async fn delete_list(State(shared): Shr, Path(id): Path<String>) -> Answer {
    {
        let id = parse_id(&id)?;
        let mut state = shared.lock();
        with_list(&mut state, id, |list| {
            check_not_deleted(list)?;
            // The deletion is pending until deploy; the list stays listed until then (reference §12).
            list.pending = true;
            list.modify_type = "Deleted".to_owned();
            list.modify_time = now_iso();
            list.modify_by = shared.config.modify_by.clone();
            Ok(Json(list.to_record()).into_response())
        })
    }
}

async fn patch_list(
    State(shared): Shr,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Answer {
    {
        let id = parse_id(&id)?;
        if !matches!(action.as_str(), "append" | "replace" | "remove") {
            return Err(url_error(
                StatusCode::NOT_FOUND,
                format!("unknown action {action}"),
            ));
        }
        let body = parse_body(&body)?;
        let data = data_object(&body);
        let urls = parse_urls(data.and_then(|d| d.get("urls")))?;
        let new_type = match data.and_then(|d| d.get("type")) {
            None | Some(Value::Null) => None,
            Some(Value::String(t)) if t == "exact" || t == "regex" => Some(t.clone()),
            Some(_) => return Err(bad_request("data.type must be one of exact, regex")),
        };
        let mut state = shared.lock();
        with_list(&mut state, id, |list| {
            check_not_deleted(list)?;
            let list_type = match (&new_type, action.as_str()) {
                (Some(t), "replace") => t.clone(),
                (Some(t), _) if *t != list.list_type => {
                    return Err(bad_request(format!(
                        "data.type {t} does not match the URL list type {}",
                        list.list_type
                    )))
                }
                _ => list.list_type.clone(),
            };
            let next = match action.as_str() {
                "append" => {
                    check_entries(&list_type, &urls)?;
                    dedup(list.urls.iter().cloned().chain(urls).collect())
                }
                "replace" => {
                    check_entries(&list_type, &urls)?;
                    dedup(urls)
                }
                _ => {
                    let gone: std::collections::HashSet<&String> = urls.iter().collect();
                    let kept: Vec<String> = list
                        .urls
                        .iter()
                        .filter(|u| !gone.contains(u))
                        .cloned()
                        .collect();
                    if kept.is_empty() {
                        return Err(bad_request("URL list cannot be empty"));
                    }
                    kept
                }
            };
            check_size(&next)?;
            list.urls = next;
            list.list_type = list_type;
            edited(list, &shared.config.modify_by);
            Ok(Json(list.to_record()).into_response())
        })
    }
}

async fn deploy(State(shared): Shr) -> Response {
    let mut state = shared.lock();
    let mut applied = Vec::new();
    let mut deleted = Vec::new();
    for list in state.lists.values_mut().filter(|l| l.pending) {
        list.pending = false;
        if list.is_deleted() {
            deleted.push(list.id);
        } else {
            list.deployed = Some(DeployedList {
                name: list.name.clone(),
                list_type: list.list_type.clone(),
                urls: list.urls.clone(),
            });
        }
        applied.push(list.to_record());
    }
    for id in deleted {
        state.lists.remove(&id);
    }
    state.deploy_count += 1;
    Json(applied).into_response()
}

const ALERT_TYPES: &[&str] = &[
    "dlp",
    "watchlist",
    "ctep",
    "compromisedcredential",
    "malsite",
    "malware",
    "policy",
    "remediation",
    "quarantine",
    "securityassessment",
    "uba",
];
const EVENT_TYPES: &[&str] = &[
    "page",
    "application",
    "incident",
    "audit",
    "infrastructure",
    "network",
    "endpoint",
    "alert",
];

async fn dataexport_alerts(
    State(shared): Shr,
    Path(kind): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    if !ALERT_TYPES.contains(&kind.as_str()) {
        return export_error(StatusCode::NOT_FOUND, &format!("unknown alert type {kind}"));
    }
    let data: &[Value] = match kind.as_str() {
        "malware" => &shared.malware,
        "malsite" => &shared.malsite,
        _ => &[],
    };
    iterate(&shared, &format!("alerts/{kind}"), data, &params)
}

async fn dataexport_events(
    State(shared): Shr,
    Path(kind): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    if !EVENT_TYPES.contains(&kind.as_str()) {
        return export_error(StatusCode::NOT_FOUND, &format!("unknown event type {kind}"));
    }
    iterate(&shared, &format!("events/{kind}"), &[], &params)
}

fn export_error(status: StatusCode, message: &str) -> Response {
    (
        status,
        Json(json!({"ok": 0, "status": status.as_u16(), "message": message})),
    )
        .into_response()
}

enum Operation {
    Head,
    Tail,
    Next,
    Resend,
    Epoch(i64),
}

/// One step of a named Data Export iterator over `data` (sorted by timestamp). See README "Data Export".
fn iterate(
    shared: &Shared,
    endpoint: &str,
    data: &[Value],
    params: &[(String, String)],
) -> Response {
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(index) = param("index").filter(|i| !i.is_empty()) else {
        return export_error(StatusCode::BAD_REQUEST, "index is required");
    };
    let operation = match param("operation") {
        Some("head") => Operation::Head,
        Some("tail") => Operation::Tail,
        Some("next") => Operation::Next,
        Some("resend") => Operation::Resend,
        Some(op) if !op.is_empty() && op.bytes().all(|b| b.is_ascii_digit()) => match op.parse() {
            Ok(epoch) => Operation::Epoch(epoch),
            Err(_) => {
                return export_error(StatusCode::BAD_REQUEST, "operation timestamp out of range")
            }
        },
        Some(_) => {
            return export_error(
                StatusCode::BAD_REQUEST,
                "operation must be one of head, tail, next, resend or an epoch timestamp",
            )
        }
        None => return export_error(StatusCode::BAD_REQUEST, "operation is required"),
    };
    let page = shared.config.page_size.max(1);
    let len = data.len();
    let ts = |i: usize| data[i]["timestamp"].as_i64().unwrap_or(0);
    let now = chrono::Utc::now().timestamp();
    let key = format!("{endpoint}/{index}");
    let mut state = shared.lock();
    if matches!(operation, Operation::Next | Operation::Resend)
        && !state.iterators.contains_key(&key)
    {
        // An index that head, tail or an epoch never positioned has nothing to send: the tenant answers an
        // empty page, and keeps answering it until the index is positioned (issue 23).
        drop(state);
        return export_page(&[], shared.config.wait_time, now);
    }
    let it = state.iterators.entry(key).or_default();
    let (start, end) = match operation {
        Operation::Head => (0, page.min(len)),
        // The newest page: "the most current page of data" (Netskope's iterator documentation).
        Operation::Tail => (len.saturating_sub(page), len),
        Operation::Next => (it.cursor.min(len), (it.cursor + page).min(len)),
        Operation::Resend => it.previous.unwrap_or((it.cursor, it.cursor)),
        // Positioned as if everything before `epoch` had been sent; this call returns the first chunk from there.
        Operation::Epoch(epoch) => {
            let pos = data.partition_point(|a| a["timestamp"].as_i64().unwrap_or(0) < epoch);
            (pos, (pos + page).min(len))
        }
    };
    let caught_up = end >= len;
    let timestamp_hwm = if matches!(operation, Operation::Resend) {
        it.timestamp_hwm
    } else if caught_up {
        // Everything up to now has been delivered.
        let last = if len > 0 { ts(len - 1) } else { 0 };
        let floor = if let Operation::Epoch(epoch) = operation {
            epoch
        } else {
            0
        };
        now.max(last).max(floor)
    } else {
        ts(end - 1)
    };
    if !matches!(operation, Operation::Resend) {
        it.cursor = end;
        it.previous = Some((start, end));
        it.timestamp_hwm = timestamp_hwm;
    }
    let wait_time = if caught_up {
        shared.config.wait_time
    } else {
        0
    };
    drop(state);
    export_page(&data[start..end], wait_time, timestamp_hwm)
}

fn export_page(records: &[Value], wait_time: u64, timestamp_hwm: i64) -> Response {
    Json(json!({
        "ok": 1,
        "result": records,
        "wait_time": wait_time,
        "timestamp_hwm": timestamp_hwm,
    }))
    .into_response()
}

/// Connectivity probe of `netskope config test` / `netskope tenant` (reference §4.2, §10.6).
async fn audit() -> Response {
    Json(json!({"ok": 1, "result": [], "wait_time": 0})).into_response()
}

fn v1_error(code: &str, message: &str) -> Response {
    // The v1 API answers HTTP 200 and puts the outcome in the body.
    Json(json!({"status": "error", "errorCode": code, "errors": [message]})).into_response()
}

/// `POST /api/v1/updateFileHashList` with `{"name", "list": "h1,h2", "token"}`: replaces the list's content
/// (ce-threat-exchange.md §2.3).
async fn update_file_hash_list(State(shared): Shr, body: Bytes) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return v1_error("General Error", "Please use right request to query");
    };
    let token = body.get("token").and_then(Value::as_str).unwrap_or("");
    if !shared.config.v1_tokens.iter().any(|t| t == token) {
        return v1_error("Authorization Error", "Invalid token");
    }
    let Some(name) = body
        .get("name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
    else {
        return v1_error("Configuration Error", "name is required");
    };
    let Some(list) = body.get("list").and_then(Value::as_str) else {
        return v1_error("Configuration Error", "list is required");
    };
    if list.len() > validate::MAX_HASH_LIST_BYTES {
        return v1_error(
            "Configuration Error",
            &format!(
                "File hash list size {} bytes exceeds the maximum of {} bytes (8 MB)",
                list.len(),
                validate::MAX_HASH_LIST_BYTES
            ),
        );
    }
    let hashes: Vec<String> = list
        .split(',')
        .map(str::trim)
        .filter(|h| !h.is_empty())
        .map(str::to_owned)
        .collect();
    let invalid: Vec<&str> = hashes
        .iter()
        .map(String::as_str)
        .filter(|h| !validate::file_hash(h))
        .collect();
    if !invalid.is_empty() {
        return v1_error(
            "Configuration Error",
            &format!("Invalid file hashes: {}", invalid.join(",")),
        );
    }
    if hashes.is_empty() {
        return v1_error("Configuration Error", "list is required");
    }
    let mut state = shared.lock();
    let Some(current) = state.hash_lists.get_mut(name) else {
        return v1_error(
            "Configuration Error",
            &format!("File hash list {name} does not exist"),
        );
    };
    let normalize = |items: &[String]| {
        let mut v: Vec<String> = items.iter().map(|h| h.to_ascii_lowercase()).collect();
        v.sort();
        v.dedup();
        v
    };
    if normalize(&current.hashes) == normalize(&hashes) {
        // CE treats this answer as success (ce-threat-exchange.md §2.3).
        return v1_error(
            "Configuration Error",
            &format!("Duplicate request, no change in file hashes for the file filter - {name}"),
        );
    }
    current.hashes = hashes;
    current.update_count += 1;
    Json(json!({"status": "success"})).into_response()
}
