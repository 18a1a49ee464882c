//! Business rules in the SQLite store: CRUD with sharing configurations, cleanup when a
//! configuration is deleted, unmuting and expiring indicators.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::indicator::{IndicatorKind, Severity};
use cte_core::reconcile::{Observation, ReportKind, TagStrategy};
use cte_core::rule::{BusinessRule, RuleFilters};
use cte_core::store::{IngestBatch, Store};
use cte_core::StoreError;
use cte_store_sqlite::SqliteStore;
use serde_json::json;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("cte.db")).unwrap();
    (dir, s)
}

fn config(name: &str) -> Configuration {
    Configuration {
        name: name.into(),
        plugin: PluginKind::ApiSources,
        active: true,
        tenant: None,
        ssl_validation: true,
        poll_interval: 60,
        poll_interval_unit: IntervalUnit::Seconds,
        reputation: 0,
        age_after_days: 90,
        parameters: json!({}),
        tags_aggregate_strategy: TagStrategy::Append,
        created_at: t0(),
        pull: RunStatus::default(),
        share: RunStatus::default(),
    }
}

fn rule(v: serde_json::Value) -> BusinessRule {
    serde_json::from_value(v).unwrap()
}

#[test]
fn rules_round_trip_in_creation_order() {
    let (_d, s) = store();
    for c in ["DW", "NS", "NS2"] {
        s.insert_configuration(&config(c)).unwrap();
    }
    let b = rule(json!({
        "name": "b",
        "filters": {"query": "type = url", "mongo": "{\"type\": \"url\"}"},
        "exceptions": [{"name": "allow", "tags": ["allow"]}, {"name": "low", "filters": {"query": "", "mongo": "{}"}}],
        "sharedWith": {"DW": {"NS": [{"label": "Add to URL List", "value": "url", "parameters": {"list": "x"}}], "NS2": []}}
    }));
    let a = BusinessRule::new("a", RuleFilters::default());
    s.insert_business_rule(&b).unwrap();
    s.insert_business_rule(&a).unwrap();
    assert_eq!(s.business_rules().unwrap(), vec![b.clone(), a.clone()]);
    assert_eq!(s.business_rule("b").unwrap(), Some(b.clone()));
    assert_eq!(s.business_rule("zz").unwrap(), None);
    assert!(matches!(
        s.insert_business_rule(&a),
        Err(StoreError::Conflict(m)) if m == "Business rule with name 'a' already exists."
    ));

    let mut b2 = b.clone();
    b2.muted = true;
    b2.unmute_at = Some(t0() + Duration::hours(1));
    b2.shared_with = rule(json!({"name": "x", "sharedWith": {"NS": {"DW": []}}})).shared_with;
    b2.exceptions.clear();
    s.update_business_rule(&b2).unwrap();
    assert_eq!(s.business_rule("b").unwrap(), Some(b2));
    assert!(matches!(
        s.update_business_rule(&BusinessRule::new("zz", RuleFilters::default())),
        Err(StoreError::NotFound(_))
    ));

    s.delete_business_rule("b").unwrap();
    assert_eq!(s.business_rules().unwrap(), vec![a]);
    assert!(matches!(
        s.delete_business_rule("b"),
        Err(StoreError::NotFound(m)) if m == "Business rule with name 'b' does not exist."
    ));
}

#[test]
fn sharing_needs_existing_configurations_and_follows_their_deletion() {
    let (_d, s) = store();
    let r = rule(json!({"name": "r", "sharedWith": {
        "DW": {"NS": [], "NS2": []}, "NS2": {"NS": []}}}));
    assert!(matches!(
        s.insert_business_rule(&r),
        Err(StoreError::Invalid(_))
    ));
    assert!(
        s.business_rules().unwrap().is_empty(),
        "nothing half-written"
    );
    for c in ["DW", "NS", "NS2"] {
        s.insert_configuration(&config(c)).unwrap();
    }
    s.insert_business_rule(&r).unwrap();
    s.delete_configuration("NS", true).unwrap();
    let mut want = r.clone();
    assert!(want.forget_configuration("NS"));
    assert_eq!(s.business_rule("r").unwrap(), Some(want));
    s.delete_configuration("DW", false).unwrap();
    assert!(s
        .business_rule("r")
        .unwrap()
        .unwrap()
        .shared_with
        .is_empty());
}

#[test]
fn unmute_due_unmutes_only_rules_whose_time_has_come() {
    let (_d, s) = store();
    for (name, at) in [("soon", 1), ("later", 5)] {
        let mut r = BusinessRule::new(name, RuleFilters::default());
        r.muted = true;
        r.unmute_at = Some(t0() + Duration::hours(at));
        s.insert_business_rule(&r).unwrap();
    }
    s.insert_business_rule(&BusinessRule::new("plain", RuleFilters::default()))
        .unwrap();
    assert_eq!(s.unmute_due(t0()).unwrap(), 0);
    assert_eq!(s.unmute_due(t0() + Duration::hours(1)).unwrap(), 1);
    let soon = s.business_rule("soon").unwrap().unwrap();
    assert!(!soon.muted);
    assert_eq!(soon.unmute_at, None);
    assert!(s.business_rule("later").unwrap().unwrap().muted);
    assert_eq!(s.unmute_due(t0() + Duration::hours(1)).unwrap(), 0);
}

#[test]
fn deactivate_expired_leaves_indicators_without_expiry_active() {
    let (_d, s) = store();
    s.insert_configuration(&config("DW")).unwrap();
    let obs = |value: &str, expires: Option<i64>| Observation {
        value: value.into(),
        kind: IndicatorKind::Domain,
        source: "DW".into(),
        test: false,
        safe: false,
        active: true,
        expires_at: expires.map(|h| t0() + Duration::hours(h)),
        first_seen: Some(t0()),
        last_seen: Some(t0()),
        tags: Vec::new(),
        reputation: 5,
        severity: Severity::High,
        comments: String::new(),
        extended_information: String::new(),
    };
    let mut dw = config("DW");
    dw.age_after_days = 0; // no default expiry, so `never` stays null
    let policies: HashMap<_, _> = [("DW".to_string(), dw.source_policy())].into();
    s.ingest(&IngestBatch {
        observations: &[
            obs("past.example", Some(-1)),
            obs("now.example", Some(2)),
            obs("future.example", Some(3)),
            obs("never.example", None),
        ],
        policies: &policies,
        report: ReportKind::Api,
        now: t0(),
        return_indicators: false,
    })
    .unwrap();
    let active = |v: &str| s.indicator(v).unwrap().unwrap().active;
    // Reported already expired: stored inactive, so the age cycle has one left to deactivate.
    assert!(!active("past.example"));
    assert_eq!(s.deactivate_expired(t0() + Duration::hours(2)).unwrap(), 1);
    assert!(!active("past.example"));
    assert!(!active("now.example"));
    assert!(active("future.example"));
    assert!(active("never.example"));
    assert_eq!(
        s.indicator("never.example").unwrap().unwrap().expires_at,
        None
    );
    assert_eq!(s.deactivate_expired(t0() + Duration::hours(2)).unwrap(), 0);
    assert_eq!(
        s.deactivate_expired(t0() + Duration::days(10_000)).unwrap(),
        1
    );
    assert!(active("never.example"));
}
