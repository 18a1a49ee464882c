//! Tests of business rules: effective filters, exceptions, targets and save-time validation.

use chrono::{TimeZone, Utc};
use serde_json::json;

use super::*;
use crate::config::{IntervalUnit, RunStatus};
use crate::indicator::{Indicator, Severity, SourceRecord};
use crate::reconcile::TagStrategy;
use crate::tenant_config::Token;

const EVERY_SEVERITY: &str = r#"{"sources": {"$elemMatch": {"severity": {"$in": ["unknown","low","medium","high","critical"]}}}}"#;

fn config(name: &str, plugin: PluginKind, tenant: Option<&str>) -> Configuration {
    Configuration {
        name: name.into(),
        plugin,
        active: true,
        tenant: tenant.map(Into::into),
        ssl_validation: true,
        poll_interval: 10,
        poll_interval_unit: IntervalUnit::Minutes,
        reputation: 0,
        age_after_days: 90,
        parameters: json!({}),
        tags_aggregate_strategy: TagStrategy::Append,
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
        pull: RunStatus::default(),
        share: RunStatus::default(),
    }
}

fn tenant(name: &str, v1: bool) -> NetskopeTenant {
    NetskopeTenant {
        name: name.into(),
        tenant_name: format!("{name}.goskope.com"),
        v1_token: v1.then(|| Token::new("v1")),
        v2_token: Token::new("v2"),
        initial_range_days: 7,
        use_system_proxy: false,
        created_at: Utc.timestamp_opt(0, 0).unwrap(),
    }
}

struct World {
    configurations: Vec<Configuration>,
    tenants: Vec<NetskopeTenant>,
    tags: Vec<String>,
    rules: Vec<BusinessRule>,
}

impl World {
    fn new() -> World {
        World {
            configurations: vec![
                config("DW", PluginKind::ApiSources, None),
                config("NS", PluginKind::Netskope, Some("t1")),
                config("NS2", PluginKind::Netskope, Some("t1")),
                config("NS-other", PluginKind::Netskope, Some("t2")),
            ],
            tenants: vec![tenant("t1", true), tenant("t2", false)],
            tags: vec!["allow".into()],
            rules: Vec::new(),
        }
    }

    fn check(&self, rule: &BusinessRule) -> Result<BusinessRule, Vec<String>> {
        validate_rule(
            rule,
            &RuleContext {
                configurations: &self.configurations,
                tenants: &self.tenants,
                tags: &self.tags,
                rules: &self.rules,
            },
        )
        .map_err(|ps| ps.into_iter().map(|p| p.to_string()).collect())
    }
}

fn rule(v: serde_json::Value) -> BusinessRule {
    serde_json::from_value(v).unwrap()
}

fn url_action(list: &str) -> serde_json::Value {
    json!({"label": "Add to URL List", "value": "url", "parameters": {"list": "create", "name": list}})
}

fn indicator(value: &str, severity: Severity, tags: &[&str]) -> Indicator {
    let t = Utc.timestamp_opt(0, 0).unwrap();
    Indicator {
        value: value.into(),
        kind: IndicatorKind::Url,
        test: false,
        safe: false,
        active: true,
        expires_at: None,
        internal_hits: 0,
        external_hits: 1,
        shared_with: Vec::new(),
        sources: vec![SourceRecord {
            source: "DW".into(),
            first_seen: t,
            last_seen: t,
            reputation: 5,
            severity,
            comments: String::new(),
            extended_information: String::new(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            internal_hits: 0,
            external_hits: 1,
            retracted: false,
            destinations: Vec::new(),
        }],
    }
}

#[test]
fn every_severity_selects_all_severities() {
    let r =
        rule(json!({"name": "Every Severity", "filters": {"query": "", "mongo": EVERY_SEVERITY}}));
    let f = r.selection().unwrap();
    for s in Severity::ALL {
        assert!(f.matches(&indicator("a.example", s, &[])), "{s:?}");
    }
    assert!(World::new().check(&r).is_ok());
}

#[test]
fn empty_filters_select_everything_and_query_and_mongo_are_anded() {
    let r = rule(json!({"name": "all"}));
    assert_eq!(r.filters, RuleFilters::default());
    assert_eq!(r.filter().unwrap(), Filter::all());
    let r = rule(json!({"name": "x", "filters": {"query": "", "mongo": ""}}));
    assert_eq!(r.filter().unwrap(), Filter::all());

    let both = rule(json!({"name": "both", "filters": {
        "query": "severity IN (\"high\")",
        "mongo": r#"{"value": {"$regex": "evil"}}"#}}));
    let f = both.filter().unwrap();
    assert!(f.matches(&indicator("evil.example", Severity::High, &[])));
    assert!(!f.matches(&indicator("evil.example", Severity::Low, &[])));
    assert!(!f.matches(&indicator("good.example", Severity::High, &[])));
}

#[test]
fn exceptions_leave_out_by_filter_or_by_tag() {
    let r = rule(json!({"name": "r", "exceptions": [
        {"name": "allow", "tags": ["allow"]},
        {"name": "low", "filters": {"query": "severity = low", "mongo": "{}"}}]}));
    let f = r.selection().unwrap();
    assert!(f.matches(&indicator("evil.example", Severity::High, &[])));
    assert!(!f.matches(&indicator("good.example", Severity::High, &["allow"])));
    assert!(!f.matches(&indicator("meh.example", Severity::Low, &[])));
    assert_eq!(
        r.referenced_tags().into_iter().collect::<Vec<_>>(),
        vec!["allow".to_string()]
    );
}

#[test]
fn referenced_tags_come_from_filters_and_exceptions() {
    let r = rule(json!({"name": "r",
        "filters": {"query": "tags IN (\"q\")", "mongo": r#"{"sources": {"$elemMatch": {"tags": {"$nin": ["m"]}}}}"#},
        "exceptions": [{"name": "e", "filters": {"query": "tags = f", "mongo": "{}"}}, {"name": "t", "tags": ["t"]}]}));
    let tags: Vec<String> = r.referenced_tags().into_iter().collect();
    assert_eq!(tags, ["f", "m", "q", "t"]);
}

#[test]
fn bad_filters_and_exceptions_are_reported_together() {
    let w = World::new();
    let r = rule(
        json!({"name": " ", "filters": {"query": "", "mongo": "{not json"},
        "exceptions": [
            {"name": "both", "filters": {"query": "", "mongo": "{}"}, "tags": ["allow"]},
            {"name": "neither"},
            {"name": "unknown tag", "tags": ["nope"]},
            {"name": "bad", "filters": {"query": "colour = red", "mongo": "{}"}}]}),
    );
    let errs = w.check(&r).unwrap_err();
    assert!(
        errs.contains(&"Business rule name must not be empty.".to_string()),
        "{errs:?}"
    );
    assert!(
        errs.contains(&"Invalid JSON query provided.".to_string()),
        "{errs:?}"
    );
    assert!(
        errs.contains(&"Exception 'both' must have exactly one of filters and tags.".to_string())
    );
    assert!(errs
        .contains(&"Exception 'neither' must have exactly one of filters and tags.".to_string()));
    assert!(
        errs.contains(&"Tag(s) 'nope' do not exist.".to_string()),
        "{errs:?}"
    );
    assert!(
        errs.iter()
            .any(|e| e.starts_with("Invalid query provided.")),
        "{errs:?}"
    );
    let problems = validate_rule(
        &r,
        &RuleContext {
            configurations: &[],
            tenants: &[],
            tags: &[],
            rules: &[],
        },
    )
    .unwrap_err();
    assert!(problems.iter().any(RuleProblem::is_filter));
}

#[test]
fn url_target_defaults_and_limits() {
    let a: Action = serde_json::from_value(url_action("ce-iocs")).unwrap();
    let ShareTarget::UrlList(t) = ShareTarget::from_action(&a).unwrap() else {
        panic!()
    };
    assert_eq!(
        t,
        UrlListTarget {
            list: "ce-iocs".into(),
            create: true,
            list_type: UrlListType::Exact,
            max_size_mb: 7,
            default_url: "cedefaultpush.io".into(),
        }
    );
    let canonical = ShareTarget::UrlList(t.clone()).to_action();
    assert_eq!(
        canonical.parameters,
        json!({"list": "create", "name": "ce-iocs", "url_list_type": "Exact", "max_url_list_cap": 7, "default_url": "cedefaultpush.io"})
    );
    assert_eq!(
        ShareTarget::from_action(&canonical).unwrap(),
        ShareTarget::UrlList(t)
    );

    let existing = Action {
        label: String::new(),
        value: "url".into(),
        parameters: json!({"list": "Block", "url_list_type": "regex", "max_url_list_cap": "3"}),
    };
    let t = ShareTarget::from_action(&existing).unwrap();
    assert_eq!(t.max_bytes(), 3 * 1024 * 1024);
    assert_eq!(
        t.list_key(),
        ListKey {
            kind: "url",
            name: "block".into()
        }
    );
    assert_eq!(t.to_action().label, "Add to URL List");

    for (params, want) in [
        (json!({"list": "create"}), "'name' is required"),
        (json!({"list": "a/b"}), "refuses"),
        (
            json!({"list": "x", "url_list_type": "Glob"}),
            "'Exact' and 'Regex'",
        ),
        (
            json!({"list": "x", "max_url_list_cap": 8}),
            "between 1 and 7",
        ),
        (
            json!({"list": "x", "max_url_list_cap": 0}),
            "between 1 and 7",
        ),
        (
            json!({"list": "x", "max_url_list_cap": 6.5}),
            "between 1 and 7",
        ),
        (
            json!({"list": "x", "default_url": "not a url"}),
            "default_url",
        ),
    ] {
        let a = Action {
            label: String::new(),
            value: "url".into(),
            parameters: params.clone(),
        };
        let e = ShareTarget::from_action(&a).unwrap_err();
        assert!(e.contains(want), "{params}: {e}");
    }
}

#[test]
fn file_target_defaults_and_limits() {
    let a = Action {
        label: "Add to File Hash List".into(),
        value: "file".into(),
        parameters: json!({"file_list": "hashes"}),
    };
    let t = ShareTarget::from_action(&a).unwrap();
    assert_eq!(
        t,
        ShareTarget::FileHashList(FileHashListTarget {
            list: "hashes".into(),
            max_size_mb: 8,
            default_file_hash: "f".repeat(64),
        })
    );
    assert_eq!(t.max_bytes(), 8 * 1024 * 1024);
    for (value, params, want) in [
        ("file", json!({}), "'file_list'"),
        (
            "file",
            json!({"file_list": "h", "max_file_hash_cap": 9}),
            "between 1 and 8",
        ),
        (
            "file",
            json!({"file_list": "h", "default_file_hash": "xyz"}),
            "hex digest",
        ),
        ("private_app", json!({}), "Unknown target 'private_app'"),
        ("url", json!([]), "JSON object"),
    ] {
        let a = Action {
            label: String::new(),
            value: value.into(),
            parameters: params,
        };
        let e = ShareTarget::from_action(&a).unwrap_err();
        assert!(e.contains(want), "{value}: {e}");
    }
}

#[test]
fn sharing_configurations_are_checked_against_the_world() {
    let w = World::new();
    let ok = rule(json!({"name": "r", "sharedWith": {"DW": {"NS": [url_action("ce-iocs")]}}}));
    let saved = w.check(&ok).unwrap();
    assert_eq!(
        saved.shared_with["DW"]["NS"][0].parameters["max_url_list_cap"],
        7
    );

    let cases = [
        (
            json!({"nope": {"NS": []}}),
            "Source configuration 'nope' does not exist.",
        ),
        (
            json!({"DW": {"nope": []}}),
            "Destination configuration 'nope' does not exist.",
        ),
        (json!({"NS": {"DW": []}}), API_SOURCE_DESTINATION),
        (
            json!({"DW": {"NS-other": [{"value": "file", "parameters": {"file_list": "h"}}]}}),
            "needs the V1 API token of tenant 't2'",
        ),
        (
            json!({"DW": {"NS": [url_action("a"), url_action("A")]}}),
            "The same URL List, File Hash List or Private App List is already configured",
        ),
        (
            json!({"DW": {"NS": [url_action("a")], "NS2": [url_action("a")]}}),
            "already configured",
        ),
    ];
    for (shared, want) in cases {
        let r = rule(json!({"name": "r", "sharedWith": shared.clone()}));
        let errs = w.check(&r).unwrap_err();
        assert!(errs.iter().any(|e| e.contains(want)), "{shared}: {errs:?}");
    }
    // The same list name on another tenant, or as a file hash list, is another object.
    let r = rule(json!({"name": "r", "sharedWith": {"DW": {
        "NS": [url_action("a"), {"value": "file", "parameters": {"file_list": "a"}}],
        "NS-other": [url_action("a")]}}}));
    assert!(w.check(&r).is_ok());
}

#[test]
fn targets_clash_with_other_rules_but_not_with_the_old_version() {
    let mut w = World::new();
    let first =
        rule(json!({"name": "first", "sharedWith": {"DW": {"NS": [url_action("ce-iocs")]}}}));
    w.rules.push(w.check(&first).unwrap());
    // Saving the same rule again (an update) is fine.
    assert!(w.check(&first).is_ok());
    let second =
        rule(json!({"name": "second", "sharedWith": {"NS": {"NS2": [url_action("CE-IOCS")]}}}));
    let errs = w.check(&second).unwrap_err();
    assert!(errs[0].contains("in business rule 'first'"), "{errs:?}");
}

#[test]
fn forget_configuration_drops_it_as_source_and_destination() {
    let mut r = rule(json!({"name": "r", "sharedWith": {
        "DW": {"NS": [], "NS2": []}, "NS": {"NS2": []}, "X": {"NS": []}}}));
    assert!(r.forget_configuration("NS"));
    assert_eq!(
        serde_json::to_value(&r.shared_with).unwrap(),
        json!({"DW": {"NS2": []}})
    );
    assert!(!r.forget_configuration("NS"));
}
