//! The age cycle over a SQLite store: expired indicators go inactive, due rules are unmuted, and a
//! second run at the same time changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::indicator::{IndicatorKind, Severity};
use cte_core::reconcile::{Observation, ReportKind, TagStrategy};
use cte_core::rule::{BusinessRule, RuleFilters};
use cte_core::store::{IngestBatch, Store};
use cte_engine::age::{age_cycle, AgeReport};
use cte_store_sqlite::SqliteStore;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn source(age_after_days: u32) -> Configuration {
    Configuration {
        name: "DW".into(),
        plugin: PluginKind::ApiSources,
        active: true,
        tenant: None,
        ssl_validation: true,
        poll_interval: 60,
        poll_interval_unit: IntervalUnit::Seconds,
        reputation: 0,
        age_after_days,
        parameters: serde_json::json!({}),
        tags_aggregate_strategy: TagStrategy::Append,
        created_at: t0(),
        pull: RunStatus::default(),
        share: RunStatus::default(),
    }
}

fn observation(value: &str) -> Observation {
    Observation {
        value: value.into(),
        kind: IndicatorKind::Domain,
        source: "DW".into(),
        test: false,
        safe: false,
        active: true,
        expires_at: None,
        first_seen: Some(t0()),
        last_seen: Some(t0()),
        tags: Vec::new(),
        reputation: 5,
        severity: Severity::Low,
        comments: String::new(),
        extended_information: String::new(),
    }
}

#[test]
fn age_cycle_expires_indicators_and_unmutes_rules() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("cte.db")).unwrap();
    store.insert_configuration(&source(1)).unwrap();

    // One day of aging: `aged.example` gets `expiresAt = t0 + 1 day`. `kept.example` arrives
    // from the same source after the policy changed to "never" and has no `expiresAt`.
    let ingest = |value: &str, age_after_days: u32| {
        let policies: HashMap<_, _> =
            [("DW".to_string(), source(age_after_days).source_policy())].into();
        store
            .ingest(&IngestBatch {
                observations: &[observation(value)],
                policies: &policies,
                report: ReportKind::Api,
                now: t0(),
                return_indicators: false,
            })
            .unwrap();
    };
    ingest("aged.example", 1);
    ingest("kept.example", 0);

    let mut muted = BusinessRule::new("quiet", RuleFilters::default());
    muted.muted = true;
    muted.unmute_at = Some(t0() + Duration::hours(12));
    store.insert_business_rule(&muted).unwrap();

    assert_eq!(age_cycle(&store, t0()).unwrap(), AgeReport::default());
    let half_day = t0() + Duration::hours(12);
    assert_eq!(
        age_cycle(&store, half_day).unwrap(),
        AgeReport {
            deactivated: 0,
            unmuted: 1
        }
    );
    let later = t0() + Duration::days(2);
    assert_eq!(
        age_cycle(&store, later).unwrap(),
        AgeReport {
            deactivated: 1,
            unmuted: 0
        }
    );
    assert_eq!(age_cycle(&store, later).unwrap(), AgeReport::default());
    assert!(!store.indicator("aged.example").unwrap().unwrap().active);
    assert!(store.indicator("kept.example").unwrap().unwrap().active);
    let rule = store.business_rule("quiet").unwrap().unwrap();
    assert!(!rule.muted && rule.unmute_at.is_none());
}
