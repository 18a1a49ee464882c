//! CE's JSON shapes (`IndicatorIn`, `IndicatorOutWithSources`, `ConfigurationIn`, ...) and their
//! conversions to and from core types.

use chrono::{DateTime, Utc};
use cte_core::config::{Configuration, IntervalUnit};
use cte_core::indicator::{Destination, Indicator, IndicatorKind, Severity, SourceRecord};
use cte_core::reconcile::TagStrategy;
use cte_core::time::{format_datetime, parse_datetime, DateTimeText};
use cte_engine::RawIndicator;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
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

/// CE's `IndicatorOutWithSources`, serialised straight from the core type. Top-level per-source
/// fields are the first source's. Keys come in the order `json!` used to give them (sorted), so
/// the bytes on the wire did not change when the `Value` tree was dropped: building and freeing
/// that tree cost more than the SQLite writes of a 10,000-IoC POST (docs/PERFORMANCE.md).
pub(crate) struct IndicatorOut<'a>(pub(crate) &'a Indicator);

/// A JSON array of [`IndicatorOut`].
pub(crate) struct IndicatorsOut(pub(crate) Vec<Indicator>);

struct SourceOut<'a>(&'a SourceRecord);

struct DestinationsOut<'a>(&'a [Destination]);

/// A datetime in CE's spelling, written without an intermediate `String`.
struct Time(DateTime<Utc>);

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match DateTimeText::new(self.0) {
            Some(text) => s.serialize_str(text.as_str()),
            None => s.serialize_str(&format_datetime(self.0)),
        }
    }
}

impl Serialize for IndicatorOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let ind = self.0;
        let first = ind.sources.first();
        let mut m = s.serialize_map(Some(18))?;
        m.serialize_entry("active", &ind.active)?;
        m.serialize_entry("comments", first.map_or("", |f| f.comments.as_str()))?;
        m.serialize_entry("expiresAt", &ind.expires_at.map(Time))?;
        m.serialize_entry(
            "extendedInformation",
            first.map_or("", |f| f.extended_information.as_str()),
        )?;
        m.serialize_entry("externalHits", &ind.external_hits)?;
        m.serialize_entry("firstSeen", &first.map(|f| Time(f.first_seen)))?;
        m.serialize_entry("internalHits", &ind.internal_hits)?;
        m.serialize_entry("lastSeen", &first.map(|f| Time(f.last_seen)))?;
        m.serialize_entry("reputation", &first.map(|f| f.reputation))?;
        m.serialize_entry("safe", &ind.safe)?;
        m.serialize_entry("severity", &first.map(|f| f.severity.as_str()))?;
        m.serialize_entry("sharedWith", &ind.shared_with)?;
        m.serialize_entry("source", &first.map(|f| f.source.as_str()))?;
        m.serialize_entry("sources", &SeqOut(&ind.sources, SourceOut))?;
        m.serialize_entry("tags", first.map_or(&[][..], |f| &f.tags[..]))?;
        m.serialize_entry("test", &ind.test)?;
        m.serialize_entry("type", ind.kind.as_str())?;
        m.serialize_entry("value", &ind.value)?;
        m.end()
    }
}

/// A slice serialised element by element through a wrapper.
struct SeqOut<'a, T, W>(&'a [T], fn(&'a T) -> W);

impl<'a, T, W: Serialize> Serialize for SeqOut<'a, T, W> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(self.1))
    }
}

impl Serialize for SourceOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(Some(13))?;
        m.serialize_entry("comments", &r.comments)?;
        m.serialize_entry("destinations", &DestinationsOut(&r.destinations))?;
        m.serialize_entry("extendedInformation", &r.extended_information)?;
        m.serialize_entry("externalHits", &r.external_hits)?;
        m.serialize_entry("firstSeen", &Time(r.first_seen))?;
        m.serialize_entry("internalHits", &r.internal_hits)?;
        m.serialize_entry("lastSeen", &Time(r.last_seen))?;
        m.serialize_entry("reputation", &r.reputation)?;
        m.serialize_entry("retracted", &r.retracted)?;
        m.serialize_entry("retractionDestinations", &[(); 0])?;
        m.serialize_entry("severity", r.severity.as_str())?;
        m.serialize_entry("source", &r.source)?;
        m.serialize_entry("tags", &r.tags)?;
        m.end()
    }
}

impl Serialize for DestinationsOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for d in self.0 {
            seq.serialize_element(&DestinationOut(d))?;
        }
        seq.end()
    }
}

struct DestinationOut<'a>(&'a Destination);

impl Serialize for DestinationOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let d = self.0;
        let mut m = s.serialize_map(Some(if d.reason.is_some() { 3 } else { 2 }))?;
        m.serialize_entry("name", &d.name)?;
        if let Some(r) = &d.reason {
            m.serialize_entry("reason", r)?;
        }
        m.serialize_entry("status", d.status.as_str())?;
        m.end()
    }
}

impl Serialize for IndicatorsOut {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(IndicatorOut))
    }
}

/// [`IndicatorOut`] as a `Value`, for handlers that answer with one indicator.
pub(crate) fn indicator_out(ind: &Indicator) -> Value {
    serde_json::to_value(IndicatorOut(ind)).expect("an indicator serialises")
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
        for ind in [&with_sources, &bare] {
            let new = serde_json::to_string(&IndicatorOut(ind)).unwrap();
            assert_eq!(new, reference(ind).to_string());
            assert_eq!(indicator_out(ind), reference(ind));
        }
        let list = serde_json::to_string(&IndicatorsOut(vec![with_sources.clone(), bare.clone()]));
        assert_eq!(
            list.unwrap(),
            json!([reference(&with_sources), reference(&bare)]).to_string()
        );
    }
}
