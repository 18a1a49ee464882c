//! CE's JSON shapes (`IndicatorIn`, `IndicatorOutWithSources`, `ConfigurationIn`, ...) and their
//! conversions to and from core types.

use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use cte_core::config::{Configuration, IntervalUnit};
use cte_core::error::echo;
use cte_core::indicator::{Destination, Indicator, IndicatorKind, Severity, SourceRecord};
use cte_core::reconcile::TagStrategy;
use cte_core::time::{format_datetime, parse_datetime, DateTimeText};
use cte_engine::RawIndicator;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

use crate::extract::json_response;

fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_datetime(&s).map(Some).ok_or_else(|| {
            serde::de::Error::custom(format!("'{}' is not an ISO 8601 datetime", echo(&s)))
        }),
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// CE's `IndicatorIn`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IndicatorIn {
    value: String,
    #[serde(rename = "type")]
    #[schema(value_type = String, example = "url")]
    kind: IndicatorKind,
    source: String,
    #[serde(default, deserialize_with = "null_as_default")]
    test: bool,
    #[serde(default, deserialize_with = "null_as_default")]
    safe: bool,
    #[serde(default)]
    active: Option<bool>,
    #[serde(default, deserialize_with = "datetime")]
    expires_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "datetime")]
    first_seen: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "datetime")]
    last_seen: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "null_as_default")]
    tags: Vec<String>,
    #[serde(default)]
    reputation: Option<i64>,
    #[serde(default, deserialize_with = "null_as_default")]
    #[schema(value_type = Option<String>, example = "high")]
    severity: Severity,
    #[serde(default, deserialize_with = "null_as_default")]
    comments: String,
    #[serde(default, deserialize_with = "null_as_default")]
    extended_information: String,
}

impl IndicatorIn {
    /// Parses one element; the error says which field is wrong.
    pub(crate) fn parse(v: Value) -> Result<RawIndicator, String> {
        let i: IndicatorIn = serde_json::from_value(v).map_err(|e| e.to_string())?;
        i.into_raw()
    }

    /// Checks the ranges serde does not and converts to the engine's type.
    pub(crate) fn into_raw(self) -> Result<RawIndicator, String> {
        let i = self;
        let reputation = match i.reputation {
            None => None,
            Some(r) if (1..=10).contains(&r) => Some(r as u8),
            Some(r) => return Err(format!("reputation must be between 1 and 10; got {r}")),
        };
        Ok(RawIndicator {
            value: i.value,
            kind: i.kind,
            source: i.source,
            test: i.test,
            safe: i.safe,
            active: i.active.unwrap_or(true),
            expires_at: i.expires_at,
            first_seen: i.first_seen,
            last_seen: i.last_seen,
            tags: i.tags,
            reputation,
            severity: i.severity,
            comments: i.comments,
            extended_information: i.extended_information,
        })
    }
}

/// The value of an element, for error listings, when it has one.
pub(crate) fn value_of(v: &Value) -> String {
    v.get("value")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| v.to_string().chars().take(80).collect())
}

/// CE's `IndicatorOutWithSources` documents, written as JSON text straight from the core type
/// (see [`write_indicator`]). One document answers an edit; a list answers pages and ingests.
pub(crate) struct IndicatorDocument(pub(crate) Indicator);

/// A JSON array of [`IndicatorDocument`]s.
pub(crate) struct IndicatorDocuments(pub(crate) Vec<Indicator>);

impl IntoResponse for IndicatorDocument {
    fn into_response(self) -> Response {
        let mut out = Vec::with_capacity(1024);
        write_indicator(&mut out, &self.0);
        json_response(out)
    }
}

impl IntoResponse for IndicatorDocuments {
    fn into_response(self) -> Response {
        json_response(indicators_json(&self.0))
    }
}

/// CE's `IndicatorOutWithSources`; top-level per-source fields are the first source's.
///
/// The schema of the documents [`write_indicator`] writes: nothing builds this type, nor
/// [`SourceOut`] and [`DestinationOut`]. The writer is held to them by the API test that
/// validates the real answers of every route against `/api/openapi.json`
/// (`tests/api/schema.rs`), so a field the writer adds, drops, renames or retypes fails there.
/// Change the writer and these types together.
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

/// A destination a source record is shared with.
#[derive(Serialize, ToSchema)]
pub(crate) struct DestinationOut {
    /// Destination configuration.
    name: String,
    /// `pending`, `shared`, `failed`, ...
    status: String,
    /// Why sharing failed or the indicator was cut, when it was; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    reason: Option<String>,
}

/// The answer of `GET /api/cte/indicators/`: a page of documents, or `{"count": n}` with
/// `aggregate=true`. Only a schema: the handler answers [`IndicatorDocuments`] or `CountOut`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum IndicatorListOut {
    /// A page.
    Page(Vec<IndicatorOut>),
    /// With `aggregate=true`.
    Count(CountOut),
}

/// The answer of `PATCH /api/cte/indicators/`: the edited document, or `true` for a retraction
/// update (as CE). Only a schema: the handler answers [`IndicatorDocument`] or `true`.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(crate) enum IndicatorPatchOut {
    /// An edit.
    Edited(Box<IndicatorOut>),
    /// A retraction update.
    Retraction(bool),
}

/// `{"count": n}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct CountOut {
    pub(crate) count: u64,
}

/// `{"updated": n}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct UpdatedOut {
    pub(crate) updated: u64,
}

/// `{"deleted": n}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct DeletedOut {
    pub(crate) deleted: u64,
}

/// `{}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct EmptyOut {}

/// `{"success": true}`.
#[derive(Serialize, ToSchema)]
pub(crate) struct SuccessOut {
    success: bool,
}

impl SuccessOut {
    pub(crate) const YES: SuccessOut = SuccessOut { success: true };
}

/// A JSON array of documents (see [`write_indicator`]).
fn indicators_json(docs: &[Indicator]) -> Vec<u8> {
    // About 700 bytes a document with one source record.
    let mut out = Vec::with_capacity(2 + docs.len() * 720);
    write_list(&mut out, docs, write_indicator);
    out
}

/// Writes one document: keys in the order `json!` gave them (sorted), so the bytes are those of
/// the `Value` tree this replaced, and of `serde_json` (a test compares both). Top-level
/// per-source fields are the first source's. Written by hand because this is most of what an
/// ingest answers (7 MB per 10,000 IoCs): a constant key costs one copy here, where a serde
/// serialiser escapes it byte by byte (docs/PERFORMANCE.md).
fn write_indicator(out: &mut Vec<u8>, ind: &Indicator) {
    let first = ind.sources.first();
    out.extend_from_slice(b"{\"active\":");
    write_bool(out, ind.active);
    out.extend_from_slice(b",\"comments\":");
    write_str(out, first.map_or("", |f| f.comments.as_str()));
    out.extend_from_slice(b",\"expiresAt\":");
    match ind.expires_at {
        Some(t) => write_time(out, t),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"extendedInformation\":");
    write_str(out, first.map_or("", |f| f.extended_information.as_str()));
    out.extend_from_slice(b",\"externalHits\":");
    write_u64(out, ind.external_hits);
    out.extend_from_slice(b",\"firstSeen\":");
    match first {
        Some(f) => write_time(out, f.first_seen),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"internalHits\":");
    write_u64(out, ind.internal_hits);
    out.extend_from_slice(b",\"lastSeen\":");
    match first {
        Some(f) => write_time(out, f.last_seen),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"reputation\":");
    match first {
        Some(f) => write_u64(out, f.reputation.into()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"safe\":");
    write_bool(out, ind.safe);
    out.extend_from_slice(b",\"severity\":");
    match first {
        Some(f) => write_str(out, f.severity.as_str()),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"sharedWith\":");
    write_strs(out, &ind.shared_with);
    out.extend_from_slice(b",\"source\":");
    match first {
        Some(f) => write_str(out, &f.source),
        None => out.extend_from_slice(b"null"),
    }
    out.extend_from_slice(b",\"sources\":");
    write_list(out, &ind.sources, write_source);
    out.extend_from_slice(b",\"tags\":");
    write_strs(out, first.map_or(&[][..], |f| &f.tags[..]));
    out.extend_from_slice(b",\"test\":");
    write_bool(out, ind.test);
    out.extend_from_slice(b",\"type\":");
    write_str(out, ind.kind.as_str());
    out.extend_from_slice(b",\"value\":");
    write_str(out, &ind.value);
    out.push(b'}');
}

fn write_source(out: &mut Vec<u8>, r: &SourceRecord) {
    out.extend_from_slice(b"{\"comments\":");
    write_str(out, &r.comments);
    out.extend_from_slice(b",\"destinations\":");
    write_list(out, &r.destinations, write_destination);
    out.extend_from_slice(b",\"extendedInformation\":");
    write_str(out, &r.extended_information);
    out.extend_from_slice(b",\"externalHits\":");
    write_u64(out, r.external_hits);
    out.extend_from_slice(b",\"firstSeen\":");
    write_time(out, r.first_seen);
    out.extend_from_slice(b",\"internalHits\":");
    write_u64(out, r.internal_hits);
    out.extend_from_slice(b",\"lastSeen\":");
    write_time(out, r.last_seen);
    out.extend_from_slice(b",\"reputation\":");
    write_u64(out, r.reputation.into());
    out.extend_from_slice(b",\"retracted\":");
    write_bool(out, r.retracted);
    out.extend_from_slice(b",\"retractionDestinations\":[],\"severity\":");
    write_str(out, r.severity.as_str());
    out.extend_from_slice(b",\"source\":");
    write_str(out, &r.source);
    out.extend_from_slice(b",\"tags\":");
    write_strs(out, &r.tags);
    out.push(b'}');
}

fn write_destination(out: &mut Vec<u8>, d: &Destination) {
    out.extend_from_slice(b"{\"name\":");
    write_str(out, &d.name);
    if let Some(reason) = &d.reason {
        out.extend_from_slice(b",\"reason\":");
        write_str(out, reason);
    }
    out.extend_from_slice(b",\"status\":");
    write_str(out, d.status.as_str());
    out.push(b'}');
}

fn write_bool(out: &mut Vec<u8>, b: bool) {
    out.extend_from_slice(if b { b"true" } else { b"false" });
}

fn write_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// A datetime in CE's spelling, without an intermediate `String` in the usual case.
fn write_time(out: &mut Vec<u8>, t: DateTime<Utc>) {
    match DateTimeText::new(t) {
        // Digits and `-:.TZ` only: nothing to escape.
        Some(text) => {
            out.push(b'"');
            out.extend_from_slice(text.as_str().as_bytes());
            out.push(b'"');
        }
        None => write_str(out, &format_datetime(t)),
    }
}

/// A JSON string. Text with nothing to escape (almost all of it) is copied as is; anything else
/// goes through `serde_json`, so escapes are spelled exactly as everywhere else.
fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    if bytes.iter().any(|&b| b < 0x20 || b == b'"' || b == b'\\') {
        serde_json::to_writer(&mut *out, s).expect("writing into a Vec does not fail");
    } else {
        out.reserve(bytes.len() + 2);
        out.push(b'"');
        out.extend_from_slice(bytes);
        out.push(b'"');
    }
}

fn write_strs(out: &mut Vec<u8>, items: &[String]) {
    write_list(out, items, |out, s| write_str(out, s));
}

/// A JSON array, each item written by `write`.
fn write_list<T>(out: &mut Vec<u8>, items: &[T], write: impl Fn(&mut Vec<u8>, &T)) {
    out.push(b'[');
    for (n, item) in items.iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        write(out, item);
    }
    out.push(b']');
}

/// CE's `ConfigurationIn` (every field optional so that PATCH can reuse it).
#[derive(Debug, Deserialize, Default, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct ConfigurationIn {
    pub name: Option<String>,
    pub active: Option<bool>,
    pub tenant: Option<String>,
    pub ssl_validation: Option<bool>,
    /// Accepted for CE compatibility ("Use System Proxy"); proxies are per tenant here.
    #[allow(dead_code)]
    pub use_system_proxy: Option<bool>,
    pub poll_interval: Option<u64>,
    #[schema(value_type = Option<String>, example = "minutes")]
    pub poll_interval_unit: Option<IntervalUnit>,
    pub reputation: Option<i64>,
    pub age_after_days: Option<i64>,
    pub parameters: Option<Value>,
    #[schema(value_type = Option<String>, example = "append")]
    pub tags_aggregate_strategy: Option<TagStrategy>,
    /// CE's `filters` list; accepted and ignored (it has no effect on the API Source plugin).
    #[allow(dead_code)]
    pub filters: Option<Value>,
    /// Accepted for CE compatibility and ignored; the plugin comes from the route.
    #[allow(dead_code)]
    pub plugin: Option<Value>,
}

impl ConfigurationIn {
    /// Applies the fields present onto `c`, checking ranges.
    pub(crate) fn apply(self, c: &mut Configuration) -> Result<(), String> {
        if let Some(v) = self.active {
            c.active = v;
        }
        if let Some(v) = self.tenant {
            c.tenant = Some(v);
        }
        if let Some(v) = self.ssl_validation {
            c.ssl_validation = v;
        }
        if let Some(v) = self.poll_interval {
            c.poll_interval = v;
        }
        if let Some(v) = self.poll_interval_unit {
            c.poll_interval_unit = v;
        }
        if let Some(v) = self.reputation {
            c.reputation = u8::try_from(v).ok().filter(|r| *r <= 10).ok_or_else(|| {
                format!("reputation must be between 0 and 10 (0 keeps the IoC's own); got {v}.")
            })?;
        }
        if let Some(v) = self.age_after_days {
            c.age_after_days = u32::try_from(v)
                .ok()
                .filter(|d| *d <= 365)
                .ok_or_else(|| format!("ageAfterDays must be between 0 and 365; got {v}."))?;
        }
        if let Some(v) = self.parameters {
            c.parameters = if v.is_null() { json!({}) } else { v };
        }
        if let Some(v) = self.tags_aggregate_strategy {
            c.tags_aggregate_strategy = v;
        }
        c.validate()
    }
}

/// A plugin configuration as listed; `parameters` only for callers with `cte_write` (as CE).
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ConfigurationOut {
    name: String,
    /// `api_sources` or `netskope`.
    plugin: &'static str,
    active: bool,
    tenant: Option<String>,
    ssl_validation: bool,
    poll_interval: u64,
    #[schema(value_type = String, example = "minutes")]
    poll_interval_unit: IntervalUnit,
    reputation: u8,
    age_after_days: u32,
    /// The plugin's parameters; `{}` for a caller without `cte_write`.
    #[schema(value_type = Object)]
    parameters: Value,
    #[schema(value_type = String, example = "append")]
    tags_aggregate_strategy: TagStrategy,
    created_at: String,
    last_run_at: LastRunAt,
    last_run_success: LastRunSuccess,
    last_run_message: LastRunMessage,
}

/// When the last pull and the last share ran; `null` before the first.
#[derive(Serialize, ToSchema)]
pub(crate) struct LastRunAt {
    pull: Option<String>,
    share: Option<String>,
}

/// Whether the last pull and the last share succeeded; `null` before the first.
#[derive(Serialize, ToSchema)]
pub(crate) struct LastRunSuccess {
    pull: Option<bool>,
    share: Option<bool>,
}

/// What the last pull and the last share reported; `null` before the first.
#[derive(Serialize, ToSchema)]
pub(crate) struct LastRunMessage {
    pull: Option<String>,
    share: Option<String>,
}

impl ConfigurationOut {
    pub(crate) fn new(c: &Configuration, with_parameters: bool) -> ConfigurationOut {
        let t = |x: Option<DateTime<Utc>>| x.map(format_datetime);
        ConfigurationOut {
            name: c.name.clone(),
            plugin: c.plugin.id(),
            active: c.active,
            tenant: c.tenant.clone(),
            ssl_validation: c.ssl_validation,
            poll_interval: c.poll_interval,
            poll_interval_unit: c.poll_interval_unit,
            reputation: c.reputation,
            age_after_days: c.age_after_days,
            parameters: if with_parameters {
                c.parameters.clone()
            } else {
                json!({})
            },
            tags_aggregate_strategy: c.tags_aggregate_strategy,
            created_at: format_datetime(c.created_at),
            last_run_at: LastRunAt {
                pull: t(c.pull.last_run_at),
                share: t(c.share.last_run_at),
            },
            last_run_success: LastRunSuccess {
                pull: c.pull.last_run_success,
                share: c.share.last_run_success,
            },
            last_run_message: LastRunMessage {
                pull: c.pull.message.clone(),
                share: c.share.message.clone(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use cte_core::indicator::DestinationStatus;

    /// The `json!` construction `IndicatorOut` replaced, kept as the reference for its bytes.
    fn reference(ind: &Indicator) -> Value {
        let source_json = |s: &SourceRecord| {
            json!({
                "internalHits": s.internal_hits,
                "externalHits": s.external_hits,
                "source": s.source,
                "tags": s.tags,
                "firstSeen": format_datetime(s.first_seen),
                "lastSeen": format_datetime(s.last_seen),
                "reputation": s.reputation,
                "severity": s.severity.as_str(),
                "destinations": s.destinations.iter().map(|d| {
                    let mut v = json!({"name": d.name, "status": d.status.as_str()});
                    if let Some(r) = &d.reason { v["reason"] = json!(r); }
                    v
                }).collect::<Vec<_>>(),
                "comments": s.comments,
                "extendedInformation": s.extended_information,
                "retracted": s.retracted,
                "retractionDestinations": [],
            })
        };
        let first = ind.sources.first();
        json!({
            "value": ind.value,
            "type": ind.kind.as_str(),
            "test": ind.test,
            "safe": ind.safe,
            "active": ind.active,
            "internalHits": ind.internal_hits,
            "externalHits": ind.external_hits,
            "expiresAt": ind.expires_at.map(format_datetime),
            "source": first.map(|s| s.source.as_str()),
            "sharedWith": ind.shared_with,
            "tags": first.map(|s| s.tags.clone()).unwrap_or_default(),
            "firstSeen": first.map(|s| format_datetime(s.first_seen)),
            "lastSeen": first.map(|s| format_datetime(s.last_seen)),
            "reputation": first.map(|s| s.reputation),
            "severity": first.map(|s| s.severity.as_str()),
            "comments": first.map(|s| s.comments.as_str()).unwrap_or(""),
            "extendedInformation": first.map(|s| s.extended_information.as_str()).unwrap_or(""),
            "sources": ind.sources.iter().map(source_json).collect::<Vec<_>>(),
        })
    }

    fn record(source: &str, destinations: Vec<Destination>) -> SourceRecord {
        let t = Utc.timestamp_millis_opt(1_653_022_174_033).unwrap();
        SourceRecord {
            source: source.into(),
            first_seen: t,
            last_seen: t + chrono::Duration::days(3),
            reputation: 7,
            severity: Severity::Critical,
            tags: vec!["a".into(), "b \"q\"".into()],
            comments: "sample comment".into(),
            extended_information: "https://x.example/1".into(),
            internal_hits: 1,
            external_hits: 2,
            destinations,
            retracted: true,
        }
    }

    #[test]
    fn indicator_out_writes_the_bytes_json_macro_wrote() {
        let with_sources = Indicator {
            value: "www.dubya.com".into(),
            kind: IndicatorKind::Url,
            test: false,
            safe: true,
            active: true,
            expires_at: Some(Utc.timestamp_millis_opt(1_700_000_000_000).unwrap()),
            internal_hits: 1,
            external_hits: 3,
            shared_with: vec!["dest".into()],
            sources: vec![
                record(
                    "DW",
                    vec![
                        Destination {
                            name: "d1".into(),
                            status: DestinationStatus::Shared,
                            reason: None,
                        },
                        Destination {
                            name: "d2".into(),
                            status: DestinationStatus::Unshared,
                            reason: Some("over 7 MB cap".into()),
                        },
                    ],
                ),
                record("other", vec![]),
            ],
        };
        let bare = Indicator {
            expires_at: None,
            sources: vec![],
            shared_with: vec![],
            ..with_sources.clone()
        };
        let odd = Indicator {
            value: "http://x.example/a\"b\\c".into(),
            shared_with: vec!["tab\there".into(), "é ünïcode \u{7f}".into()],
            sources: vec![SourceRecord {
                comments: "line\nbreak \u{1} \u{1f} \r\u{8}\u{c}".into(),
                // Each alone in its string: the fast path must see every one of them.
                tags: vec![
                    String::new(),
                    "\"".into(),
                    "\\".into(),
                    "\u{0}".into(),
                    "\u{1f}".into(),
                    " ~\u{7f}".into(),
                ],
                ..record("S \\ \"x\"", vec![])
            }],
            ..with_sources.clone()
        };
        for ind in [&with_sources, &bare, &odd] {
            let mut new = Vec::new();
            write_indicator(&mut new, ind);
            assert_eq!(String::from_utf8(new).unwrap(), reference(ind).to_string());
        }
        let list = indicators_json(&[with_sources.clone(), bare.clone(), odd.clone()]);
        assert_eq!(
            String::from_utf8(list).unwrap(),
            json!([reference(&with_sources), reference(&bare), reference(&odd)]).to_string()
        );
        assert_eq!(indicators_json(&[]), b"[]");
    }
}
