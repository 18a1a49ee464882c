//! Storage tests on a temporary SQLite file: the port's behaviour end to end.

use std::collections::HashMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cte_core::auth::{AccessGrant, ApiToken, Scope};
use cte_core::config::{Configuration, CteSettings, IntervalUnit, PluginKind, RunStatus};
use cte_core::field::Field;
use cte_core::filter::Filter;
use cte_core::indicator::{IndicatorKind, Severity};
use cte_core::query::{ListQuery, Locator, SortKey};
use cte_core::reconcile::{Criterion, Observation, ReportKind, SourcePolicy, TagStrategy};
use cte_core::store::{IngestBatch, Store};
use cte_core::tag::Tag;
use cte_core::StoreError;
use cte_store_sqlite::SqliteStore;

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
        parameters: serde_json::json!({}),
        tags_aggregate_strategy: TagStrategy::Append,
        created_at: t0(),
        pull: RunStatus::default(),
        share: RunStatus::default(),
    }
}

fn obs(value: &str, kind: IndicatorKind, source: &str, tags: &[&str], h: i64) -> Observation {
    Observation {
        value: value.into(),
        kind,
        source: source.into(),
        test: false,
        safe: false,
        active: true,
        expires_at: None,
        first_seen: Some(t0() + Duration::hours(h)),
        last_seen: Some(t0() + Duration::hours(h)),
        tags: tags.iter().map(|s| s.to_string()).collect(),
        reputation: 5,
        severity: Severity::High,
        comments: String::new(),
        extended_information: String::new(),
    }
}

fn policies(names: &[&str]) -> HashMap<String, SourcePolicy> {
    names
        .iter()
        .map(|n| (n.to_string(), config(n).source_policy()))
        .collect()
}

fn ingest(s: &SqliteStore, o: &[Observation]) -> Vec<cte_core::Indicator> {
    let p = policies(&["DW", "Other"]);
    s.ingest(&IngestBatch {
        observations: o,
        policies: &p,
        report: ReportKind::Api,
        now: t0(),
        return_indicators: true,
    })
    .unwrap()
}

fn all(limit: u64) -> ListQuery {
    ListQuery {
        filter: Filter::all(),
        sort: None,
        ascending: true,
        skip: 0,
        limit,
    }
}

#[test]
fn indicators_round_trip_with_sources_and_tags() {
    let (_d, s) = store();
    s.insert_tag(&Tag {
        name: "a".into(),
        color: "#fff".into(),
    })
    .unwrap();
    s.insert_tag(&Tag {
        name: "b".into(),
        color: "#000".into(),
    })
    .unwrap();
    let out = ingest(
        &s,
        &[
            obs("evil.example", IndicatorKind::Domain, "DW", &["a"], 1),
            obs("evil.example", IndicatorKind::Domain, "Other", &["b"], 2),
            obs("evil.example", IndicatorKind::Domain, "DW", &["b"], 3),
        ],
    );
    assert_eq!(out.len(), 1);
    let stored = s.indicator("evil.example").unwrap().unwrap();
    assert_eq!(stored, out[0]);
    assert_eq!(stored.external_hits, 3);
    assert_eq!(stored.sources.len(), 2);
    assert_eq!(stored.sources[0].source, "DW");
    assert_eq!(stored.sources[0].tags, vec!["a", "b"]);
    assert_eq!(stored.sources[0].external_hits, 2);
    assert_eq!(stored.sources[1].tags, vec!["b"]);
    assert_eq!(stored.expires_at, Some(t0() + Duration::days(90)));
}

#[test]
fn unknown_tag_rolls_back_the_whole_batch() {
    let (_d, s) = store();
    let err = s
        .ingest(&IngestBatch {
            observations: &[
                obs("a.example", IndicatorKind::Domain, "DW", &[], 1),
                obs("b.example", IndicatorKind::Domain, "DW", &["nope"], 1),
            ],
            policies: &policies(&["DW"]),
            report: ReportKind::Api,
            now: t0(),
            return_indicators: false,
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(m) if m.contains("nope")));
    assert_eq!(s.count_indicators(&Filter::all()).unwrap(), 0);
}

#[test]
fn same_value_with_another_type_is_refused() {
    let (_d, s) = store();
    ingest(
        &s,
        &[obs("evil.example", IndicatorKind::Domain, "DW", &[], 1)],
    );
    let err = s
        .ingest(&IngestBatch {
            observations: &[obs("evil.example", IndicatorKind::Url, "DW", &[], 1)],
            policies: &policies(&["DW"]),
            report: ReportKind::Api,
            now: t0(),
            return_indicators: false,
        })
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
}

#[test]
fn criterion_comes_from_settings() {
    let (_d, s) = store();
    s.update_settings(&CteSettings {
        criteria: Criterion::FirstSeen,
        ..Default::default()
    })
    .unwrap();
    let mut first = obs("x.example", IndicatorKind::Domain, "DW", &[], 1);
    first.severity = Severity::Low;
    let mut later = obs("x.example", IndicatorKind::Domain, "DW", &[], 5);
    later.severity = Severity::Critical;
    let p = policies(&["DW"]);
    for o in [first, later] {
        s.ingest(&IngestBatch {
            observations: &[o],
            policies: &p,
            report: ReportKind::Pull,
            now: t0(),
            return_indicators: false,
        })
        .unwrap();
    }
    assert_eq!(
        s.indicator("x.example").unwrap().unwrap().sources[0].severity,
        Severity::Low
    );
}

#[test]
fn listing_pages_sorts_and_counts() {
    let (_d, s) = store();
    let batch: Vec<_> = (0..25)
        .map(|i| {
            obs(
                &format!("h{i:02}.example"),
                IndicatorKind::Hostname,
                "DW",
                &[],
                i,
            )
        })
        .collect();
    ingest(&s, &batch);
    assert_eq!(s.count_indicators(&Filter::all()).unwrap(), 25);
    let page = s
        .list_indicators(&ListQuery {
            skip: 20,
            ..all(10)
        })
        .unwrap();
    assert_eq!(page.len(), 5);
    assert_eq!(page[0].value, "h20.example");
    let newest = s
        .list_indicators(&ListQuery {
            sort: SortKey::new(Field::LastSeen),
            ascending: false,
            ..all(3)
        })
        .unwrap();
    let values: Vec<_> = newest.iter().map(|i| i.value.as_str()).collect();
    assert_eq!(values, ["h24.example", "h23.example", "h22.example"]);
}

#[test]
fn bulk_tag_edits_and_deletes() {
    let (_d, s) = store();
    for t in ["abc", "keep"] {
        s.insert_tag(&Tag {
            name: t.into(),
            color: "#fff".into(),
        })
        .unwrap();
    }
    ingest(
        &s,
        &[
            obs(
                "a.example",
                IndicatorKind::Domain,
                "DW",
                &["abc", "keep"],
                1,
            ),
            obs("a.example", IndicatorKind::Domain, "Other", &["abc"], 1),
            obs("b.example", IndicatorKind::Domain, "DW", &["abc"], 1),
        ],
    );
    let n = s
        .edit_tags(
            &Locator::Values {
                values: vec!["a.example".into(), "zzz".into()],
                source: Some("Other".into()),
            },
            &[],
            &["abc".into()],
        )
        .unwrap();
    assert_eq!(n, 1);
    let a = s.indicator("a.example").unwrap().unwrap();
    assert_eq!(a.sources[0].tags, vec!["abc", "keep"]);
    assert!(a.sources[1].tags.is_empty());
    let n = s
        .edit_tags(
            &Locator::Values {
                values: vec!["a.example".into(), "b.example".into()],
                source: None,
            },
            &["keep".into()],
            &["abc".into()],
        )
        .unwrap();
    assert_eq!(n, 2);
    assert_eq!(
        s.indicator("b.example").unwrap().unwrap().sources[0].tags,
        vec!["keep"]
    );
    let usage = s.tag_usage(&Filter::all()).unwrap();
    assert_eq!(
        (usage.total, usage.per_tag.get("keep").copied()),
        (2, Some(2))
    );

    // Deleting a tag removes it from every indicator.
    s.delete_tag("keep").unwrap();
    assert!(s.indicator("b.example").unwrap().unwrap().sources[0]
        .tags
        .is_empty());
    assert!(matches!(s.delete_tag("keep"), Err(StoreError::NotFound(_))));

    let n = s
        .delete_indicators(&Locator::Values {
            values: vec!["a.example".into(), "nope".into()],
            source: None,
        })
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(s.count_indicators(&Filter::all()).unwrap(), 1);
}

#[test]
fn retraction_and_configuration_deletion() {
    let (_d, s) = store();
    s.insert_configuration(&config("DW")).unwrap();
    s.insert_configuration(&config("Other")).unwrap();
    assert!(matches!(
        s.insert_configuration(&config("DW")),
        Err(StoreError::Conflict(_))
    ));
    ingest(
        &s,
        &[
            obs("both.example", IndicatorKind::Domain, "DW", &[], 1),
            obs("both.example", IndicatorKind::Domain, "Other", &[], 1),
            obs("dw.example", IndicatorKind::Domain, "DW", &[], 1),
        ],
    );
    s.set_retracted("both.example", "DW", true).unwrap();
    assert!(s.indicator("both.example").unwrap().unwrap().sources[0].retracted);
    assert!(matches!(
        s.set_retracted("nope", "DW", true),
        Err(StoreError::NotFound(_))
    ));

    s.delete_configuration("DW", true).unwrap();
    assert_eq!(s.count_indicators(&Filter::all()).unwrap(), 2);
    s.insert_configuration(&config("DW")).unwrap();
    s.delete_configuration("DW", false).unwrap();
    assert!(s.indicator("dw.example").unwrap().is_none());
    let both = s.indicator("both.example").unwrap().unwrap();
    assert_eq!(both.sources.len(), 1);
    assert_eq!(both.external_hits, 1);
    assert!(matches!(
        s.delete_configuration("DW", false),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn configurations_update_and_round_trip() {
    let (_d, s) = store();
    let mut c = config("DW");
    s.insert_configuration(&c).unwrap();
    c.reputation = 7;
    c.parameters = serde_json::json!({"k": "v"});
    c.pull.last_run_success = Some(false);
    c.pull.message = Some("403".into());
    s.update_configuration(&c).unwrap();
    assert_eq!(s.configuration("DW").unwrap().unwrap(), c);
    assert_eq!(s.configurations().unwrap(), vec![c.clone()]);
    c.name = "missing".into();
    assert!(matches!(
        s.update_configuration(&c),
        Err(StoreError::NotFound(_))
    ));
}

#[test]
fn tokens_and_grants() {
    let (_d, s) = store();
    let tok = ApiToken {
        client_id: "c1".into(),
        secret_hash: "h".into(),
        description: "DW feed".into(),
        scopes: vec![Scope::CteRead, Scope::CteWrite],
        created_at: t0(),
        expires_at: None,
        failed_attempts: 0,
        locked_until: None,
    };
    s.insert_api_token(&tok).unwrap();
    assert_eq!(s.api_token("c1").unwrap().unwrap(), tok);
    s.set_login_failures("c1", 5, Some(t0())).unwrap();
    assert_eq!(s.api_token("c1").unwrap().unwrap().failed_attempts, 5);
    let g = AccessGrant {
        token_hash: "th".into(),
        client_id: "c1".into(),
        scopes: vec![Scope::CteRead],
        expires_at: t0() + Duration::minutes(120),
    };
    s.insert_access_grant(&g, t0()).unwrap();
    assert_eq!(s.access_grant("th").unwrap().unwrap(), g);
    assert!(s.delete_api_token("c1").unwrap());
    assert!(
        s.access_grant("th").unwrap().is_none(),
        "grants go with their token"
    );
    assert!(!s.delete_api_token("c1").unwrap());
}

#[test]
fn reopening_keeps_data_and_schema_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cte.db");
    {
        let s = SqliteStore::open(&path).unwrap();
        s.insert_tag(&Tag {
            name: "x".into(),
            color: "#fff".into(),
        })
        .unwrap();
    }
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.tags().unwrap().len(), 1);
}

/// Ingest only writes the tag rows that changed: an append after a bulk removal (which leaves a gap
/// in the stored order) keeps the order, a repeat changes nothing, an overwrite replaces them.
#[test]
fn reingest_keeps_tag_order_through_appends_gaps_and_overwrites() {
    let (_d, s) = store();
    for t in ["a", "b", "c", "d", "x"] {
        s.insert_tag(&Tag {
            name: t.into(),
            color: "#fff".into(),
        })
        .unwrap();
    }
    let tags = |s: &SqliteStore| {
        s.indicator("t.example").unwrap().unwrap().sources[0]
            .tags
            .clone()
    };
    ingest(
        &s,
        &[obs(
            "t.example",
            IndicatorKind::Domain,
            "DW",
            &["a", "b", "c"],
            1,
        )],
    );
    s.edit_tags(
        &Locator::Values {
            values: vec!["t.example".into()],
            source: None,
        },
        &[],
        &["b".into()],
    )
    .unwrap();
    let out = ingest(
        &s,
        &[obs(
            "t.example",
            IndicatorKind::Domain,
            "DW",
            &["d", "b"],
            2,
        )],
    );
    assert_eq!(tags(&s), vec!["a", "c", "d", "b"]);
    assert_eq!(out[0].sources[0].tags, tags(&s));
    ingest(
        &s,
        &[obs(
            "t.example",
            IndicatorKind::Domain,
            "DW",
            &["c", "a"],
            3,
        )],
    );
    assert_eq!(tags(&s), vec!["a", "c", "d", "b"]);

    let mut overwrite = config("DW");
    overwrite.tags_aggregate_strategy = TagStrategy::Overwrite;
    let p: HashMap<String, SourcePolicy> = [("DW".to_string(), overwrite.source_policy())].into();
    let out = s
        .ingest(&IngestBatch {
            observations: &[obs(
                "t.example",
                IndicatorKind::Domain,
                "DW",
                &["x", "a"],
                4,
            )],
            policies: &p,
            report: ReportKind::Pull,
            now: t0(),
            return_indicators: true,
        })
        .unwrap();
    assert_eq!(tags(&s), vec!["x", "a"]);
    assert_eq!(out[0].sources[0].tags, tags(&s));
}

#[test]
fn values_sharing_a_lookup_key_stay_separate() {
    let (_d, s) = store();
    // Two values whose 32-bit lookup keys collide (found by search): each must stay its own
    // indicator, found by its own value.
    let (a, b) = ("c233.example", "c66465.example");
    assert_eq!(
        cte_store_sqlite::value_key(a),
        cte_store_sqlite::value_key(b)
    );
    ingest(&s, &[obs(a, IndicatorKind::Domain, "DW", &[], 1)]);
    let out = ingest(
        &s,
        &[
            obs(b, IndicatorKind::Domain, "Other", &[], 2),
            obs(a, IndicatorKind::Domain, "Other", &[], 3),
        ],
    );
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].value, b);
    assert_eq!(out[0].sources.len(), 1, "not merged into {a}");
    assert_eq!(out[1].sources.len(), 2);
    assert_eq!(s.count_indicators(&Filter::all()).unwrap(), 2);
    assert_eq!(s.indicator(b).unwrap().unwrap().sources[0].source, "Other");
    assert_eq!(s.indicator(a).unwrap().unwrap().sources.len(), 2);
    let by_value = cte_core::filter::parse_json(r#"{"value": "C66465.Example"}"#).unwrap();
    let found = s
        .list_indicators(&ListQuery {
            filter: by_value,
            ..all(10)
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].value, b);
    let listed = cte_core::filter::parse_json(r#"{"value": {"$in": ["c233.example"]}}"#).unwrap();
    assert_eq!(s.count_indicators(&listed).unwrap(), 1);
}

/// An indicator's value and, per source record in order, the source and its tags.
type Shape = (String, Vec<(String, Vec<String>)>);

#[test]
fn pages_keep_report_order_of_sources_and_tags() {
    let (_d, s) = store();
    for name in ["a", "b", "c"] {
        s.insert_tag(&Tag {
            name: name.into(),
            color: "#fff".into(),
        })
        .unwrap();
    }
    // Reported by "Other" before "DW", and tags given out of alphabetical order: a page must keep
    // the order of reports and of tags, not the order of the keys they are stored under.
    ingest(
        &s,
        &[
            obs(
                "one.example",
                IndicatorKind::Domain,
                "Other",
                &["c", "a"],
                1,
            ),
            obs("two.example", IndicatorKind::Domain, "DW", &["b"], 1),
            obs("one.example", IndicatorKind::Domain, "DW", &["b", "a"], 2),
            obs("two.example", IndicatorKind::Domain, "Other", &[], 2),
        ],
    );
    let page = s.list_indicators(&all(10)).unwrap();
    let shape: Vec<Shape> = page
        .iter()
        .map(|i| {
            (
                i.value.clone(),
                i.sources
                    .iter()
                    .map(|r| (r.source.clone(), r.tags.clone()))
                    .collect(),
            )
        })
        .collect();
    let owned = |v: &str, recs: &[(&str, &[&str])]| {
        (
            v.to_string(),
            recs.iter()
                .map(|(s, t)| (s.to_string(), t.iter().map(|x| x.to_string()).collect()))
                .collect::<Vec<_>>(),
        )
    };
    assert_eq!(
        shape,
        vec![
            owned(
                "one.example",
                &[("Other", &["c", "a"]), ("DW", &["b", "a"])]
            ),
            owned("two.example", &[("DW", &["b"]), ("Other", &[])]),
        ]
    );
    // One document alone reads the same as on a page.
    assert_eq!(s.indicator("one.example").unwrap().unwrap(), page[0]);
}

/// Two writers report the same values at once, each batch reconciled on a snapshot while the
/// other's may be committing: no report is lost (each one counts one hit on the indicator and on
/// its source record) and both sources are kept.
#[test]
fn concurrent_batches_of_the_same_values_lose_no_report() {
    let (_dir, s) = store();
    const BATCHES: usize = 40;
    let values: Vec<String> = (0..50).map(|i| format!("v{i}.example")).collect();
    std::thread::scope(|scope| {
        for source in ["DW", "Other"] {
            let (s, values) = (&s, &values);
            scope.spawn(move || {
                for _ in 0..BATCHES {
                    let batch: Vec<Observation> = values
                        .iter()
                        .map(|v| obs(v, IndicatorKind::Domain, source, &[], 1))
                        .collect();
                    ingest(s, &batch);
                }
            });
        }
    });
    for v in &values {
        let ind = s.indicator(v).unwrap().unwrap();
        assert_eq!(ind.external_hits, 2 * BATCHES as u64, "{v}");
        let mut per_source: Vec<(&str, u64)> = ind
            .sources
            .iter()
            .map(|r| (r.source.as_str(), r.external_hits))
            .collect();
        per_source.sort();
        assert_eq!(
            per_source,
            [("DW", BATCHES as u64), ("Other", BATCHES as u64)],
            "{v}"
        );
    }
}

/// A source's records keep their report order after another source's records are removed (which
/// leaves a gap in the stored order) and a later record is reported again: the re-report updates
/// the record in place and keeps its place, whatever the alphabetical order of the names.
#[test]
fn report_order_survives_a_removed_source_and_a_re_report() {
    let (_d, s) = store();
    let names = ["m", "x", "k", "b"];
    let p = policies(&names);
    let report = |source: &str, h: i64| {
        s.ingest(&IngestBatch {
            observations: &[obs("gap.example", IndicatorKind::Domain, source, &[], h)],
            policies: &p,
            report: ReportKind::Api,
            now: t0(),
            return_indicators: true,
        })
        .unwrap()
    };
    for (h, name) in names.iter().enumerate() {
        report(name, h as i64);
    }
    s.insert_configuration(&config("x")).unwrap();
    s.delete_configuration("x", false).unwrap();
    let order = |ind: &cte_core::Indicator| -> Vec<String> {
        ind.sources.iter().map(|r| r.source.clone()).collect()
    };
    let answered = report("b", 10);
    assert_eq!(order(&answered[0]), ["m", "k", "b"]);
    let stored = s.indicator("gap.example").unwrap().unwrap();
    assert_eq!(stored, answered[0]);
    assert_eq!(stored.sources[2].external_hits, 2);
    report("k", 11);
    assert_eq!(
        order(&s.indicator("gap.example").unwrap().unwrap()),
        ["m", "k", "b"]
    );
}

/// A writer other than the store, in plain SQL on the same file: the database itself refuses a
/// second row with a stored value (issue 22), and a row it accepts is found by the store, whose
/// key entry the writer never wrote.
#[test]
fn the_database_refuses_a_stored_value_from_any_writer() {
    let (dir, s) = store();
    let plain = rusqlite::Connection::open(dir.path().join("cte.db")).unwrap();
    ingest(
        &s,
        &[obs("dup.example", IndicatorKind::Domain, "DW", &[], 1)],
    );
    let insert = |values: &[&str]| {
        let rows: Vec<String> = values
            .iter()
            .map(|v| {
                format!(
                    "('{v}', {}, 'domain', 0, 0, 1, NULL, 0, 0, '[]')",
                    cte_store_sqlite::value_key(v)
                )
            })
            .collect();
        plain.execute_batch(&format!(
            "INSERT INTO indicators (value, value_key, type, test, safe, active, expires_at,
                 internal_hits, external_hits, shared_with) VALUES {}",
            rows.join(", ")
        ))
    };
    let refused = |r: rusqlite::Result<()>| {
        let e = r.expect_err("the duplicate was stored");
        assert!(
            e.to_string()
                .contains("UNIQUE constraint failed: indicators.value"),
            "{e}"
        );
    };
    let count = || s.count_indicators(&Filter::all()).unwrap();

    refused(insert(&["dup.example"]));
    assert_eq!(count(), 1);

    // A new value is taken, and the store finds it and adds its report to that row.
    insert(&["plain.example"]).unwrap();
    assert!(s.indicator("plain.example").unwrap().is_some());
    let out = ingest(
        &s,
        &[obs("plain.example", IndicatorKind::Domain, "DW", &[], 2)],
    );
    assert_eq!(out[0].sources.len(), 1);
    assert_eq!(count(), 2);
    refused(insert(&["plain.example"]));

    // A repeat within one statement is refused whole: nothing of the statement stays.
    refused(insert(&["new.example", "other.example", "new.example"]));
    assert!(s.indicator("new.example").unwrap().is_none());
    assert_eq!(count(), 2);

    // A value sharing the stored one's key but not its text is another value.
    let (a, b) = ("c233.example", "c66465.example");
    assert_eq!(
        cte_store_sqlite::value_key(a),
        cte_store_sqlite::value_key(b)
    );
    insert(&[a]).unwrap();
    insert(&[b]).unwrap();
    refused(insert(&[b]));
    assert_eq!(count(), 4);

    // Nor can an update give a row another's value, or move it away from its key entry.
    let e = plain
        .execute_batch("UPDATE indicators SET value = 'dup.example' WHERE value = 'plain.example'")
        .expect_err("a value was changed");
    assert!(e.to_string().contains("do not change"), "{e}");
    let e = plain
        .execute_batch("UPDATE indicators SET id = id + 1000 WHERE value = 'plain.example'")
        .expect_err("an id was changed");
    assert!(e.to_string().contains("do not change"), "{e}");
    for v in ["dup.example", "plain.example", a, b] {
        assert!(s.indicator(v).unwrap().is_some(), "{v}");
    }
}
