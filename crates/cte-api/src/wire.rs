//! CE's JSON shapes (`IndicatorIn`, `IndicatorOutWithSources`, `ConfigurationIn`, ...) and their
//! conversions to and from core types.

use chrono::{DateTime, Utc};
use cte_core::config::{Configuration, IntervalUnit};
use cte_core::indicator::{Indicator, IndicatorKind, Severity, SourceRecord};
use cte_core::reconcile::TagStrategy;
use cte_core::time::{format_datetime, parse_datetime};
use cte_engine::RawIndicator;
use serde::{Deserialize, Deserializer};
use serde_json::{json, Value};
use utoipa::ToSchema;

fn datetime<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    let s: Option<String> = Option::deserialize(d)?;
    match s {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => parse_datetime(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("'{s}' is not an ISO 8601 datetime"))),
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

fn source_json(s: &SourceRecord) -> Value {
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
}

/// CE's `IndicatorOutWithSources`. Top-level per-source fields are the first source's.
pub(crate) fn indicator_out(ind: &Indicator) -> Value {
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

fn unit_name(u: IntervalUnit) -> Value {
    serde_json::to_value(u).unwrap_or(Value::Null)
}

/// A configuration as listed; `parameters` only for callers with `cte_write` (as CE).
pub(crate) fn configuration_out(c: &Configuration, with_parameters: bool) -> Value {
    let t = |x: Option<DateTime<Utc>>| x.map(format_datetime);
    json!({
        "name": c.name,
        "plugin": c.plugin.id(),
        "active": c.active,
        "tenant": c.tenant,
        "sslValidation": c.ssl_validation,
        "pollInterval": c.poll_interval,
        "pollIntervalUnit": unit_name(c.poll_interval_unit),
        "reputation": c.reputation,
        "ageAfterDays": c.age_after_days,
        "parameters": if with_parameters { c.parameters.clone() } else { json!({}) },
        "tagsAggregateStrategy": c.tags_aggregate_strategy,
        "createdAt": format_datetime(c.created_at),
        "lastRunAt": {"pull": t(c.pull.last_run_at), "share": t(c.share.last_run_at)},
        "lastRunSuccess": {"pull": c.pull.last_run_success, "share": c.share.last_run_success},
        "lastRunMessage": {"pull": c.pull.message, "share": c.share.message},
    })
}
