//! Keyset paging and dashboard aggregations on a temporary SQLite file.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::dashboard::{CountBy, DashboardQuery, GroupKey, GroupValue};
use cte_core::field::Field;
use cte_core::filter::{parse_json, Filter};
use cte_core::indicator::{IndicatorKind, Severity};
use cte_core::query::Locator;
use cte_core::reconcile::{Observation, ReportKind, SourcePolicy, TagStrategy};
use cte_core::store::{IngestBatch, Store};
use cte_store_sqlite::SqliteStore;

fn key(field: Field) -> GroupKey {
    GroupKey::new(field).unwrap()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
}

fn policy(name: &str) -> SourcePolicy {
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
        parameters: serde_json::json!({}),
        tags_aggregate_strategy: TagStrategy::Append,
        created_at: t0(),
        pull: RunStatus::default(),
        share: RunStatus::default(),
    }
    .source_policy()
}

fn ingest(s: &SqliteStore, items: &[(&str, IndicatorKind, &str)]) {
    let observations: Vec<Observation> = items
        .iter()
        .map(|(value, kind, source)| Observation {
            value: value.to_string(),
            kind: *kind,
            source: source.to_string(),
            test: false,
            safe: false,
            active: true,
            expires_at: None,
            first_seen: Some(t0()),
            last_seen: Some(t0()),
            tags: Vec::new(),
            reputation: 5,
            severity: Severity::High,
            comments: String::new(),
            extended_information: String::new(),
        })
        .collect();
    let policies: HashMap<String, SourcePolicy> = ["DW", "Other"]
        .iter()
        .map(|n| (n.to_string(), policy(n)))
        .collect();
    s.ingest(&IngestBatch {
        observations: &observations,
        policies: &policies,
        report: ReportKind::Api,
        now: t0(),
        return_indicators: false,
    })
    .unwrap();
}

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(dir.path().join("cte.db")).unwrap();
    (dir, s)
}

fn values(page: &[cte_core::Indicator]) -> Vec<&str> {
    page.iter().map(|i| i.value.as_str()).collect()
}

#[test]
fn keyset_pages_survive_deletes_and_inserts_between_pages() {
    let (_d, s) = store();
    use IndicatorKind::Domain;
    ingest(
        &s,
        &[
            ("a.example", Domain, "DW"),
            ("b.example", Domain, "DW"),
            ("c.example", Domain, "DW"),
        ],
    );
    let (page, next) = s.list_indicators_after(&Filter::all(), None, 2).unwrap();
    assert_eq!(values(&page), ["a.example", "b.example"]);
    let next = next.expect("a third row exists");
    // The last row of the page goes away and a new one arrives: the walk goes on from the position.
    s.delete_indicators(&Locator::Values {
        values: vec!["b.example".into()],
        source: None,
    })
    .unwrap();
    ingest(&s, &[("d.example", Domain, "DW")]);
    let (page, next) = s
        .list_indicators_after(&Filter::all(), Some(next), 2)
        .unwrap();
    assert_eq!(values(&page), ["c.example", "d.example"]);
    assert_eq!(next, None, "nothing after the last row");
    let only_d = parse_json(r#"{"value": "d.example"}"#).unwrap();
    let (page, next) = s.list_indicators_after(&only_d, None, 10).unwrap();
    assert_eq!((values(&page), next), (vec!["d.example"], None));
    assert_eq!(
        s.list_indicators_after(&Filter::all(), Some(i64::MAX), 10)
            .unwrap()
            .0
            .len(),
        0
    );
}

#[test]
fn dashboards_unwind_sources_and_sum_indicator_totals() {
    let (_d, s) = store();
    use IndicatorKind::{Domain, Md5};
    ingest(
        &s,
        &[
            ("a.example", Domain, "DW"),
            ("a.example", Domain, "Other"),
            ("0123456789abcdef0123456789abcdef", Md5, "DW"),
        ],
    );
    let q = |group_by: Vec<GroupKey>, count_by| DashboardQuery {
        filter: Filter::all(),
        group_by,
        count_by,
        ascending: false,
        limit: 10,
    };
    let rows = s
        .dashboard(&q(vec![key(Field::Source)], CountBy::ExternalHits))
        .unwrap();
    // a.example has 2 external hits in total; after unwinding each of its records carries that total.
    let got: Vec<(GroupValue, i64)> = rows
        .into_iter()
        .map(|r| (r.key[0].clone(), r.count))
        .collect();
    assert_eq!(
        got,
        [
            (GroupValue::Text("DW".into()), 3),
            (GroupValue::Text("Other".into()), 2)
        ]
    );
    let rows = s
        .dashboard(&q(vec![key(Field::Type), key(Field::Test)], CountBy::Rows))
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[0].key,
        [GroupValue::Text("domain".into()), GroupValue::Bool(false)]
    );
    let rows = s
        .dashboard(&q(vec![key(Field::ExpiresAt)], CountBy::Rows))
        .unwrap();
    assert_eq!(rows.iter().map(|r| r.count).sum::<i64>(), 2);
    let pull = s.pull_dashboard().unwrap();
    assert_eq!(pull.len(), 3);
    assert!(pull.iter().all(|p| p.retracted == 0 && p.unretracted == 1));
}
