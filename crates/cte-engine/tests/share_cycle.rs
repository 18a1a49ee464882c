//! The seed's sharing story against the simulated tenant: API Source "DW", tenant, Netskope
//! configuration, rule "Every Severity", sharing to a URL list and a hash list; then idempotence,
//! rejected hosts, retraction, aging, a crash between push and acknowledgement, and the lease.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::indicator::{DestinationStatus, IndicatorKind, Severity};
use cte_core::reconcile::{ReportKind, TagStrategy};
use cte_core::rule::{Action, BusinessRule, RuleFilters};
use cte_core::share::ListRef;
use cte_core::store::Store;
use cte_core::tenant_config::TenantConnector;
use cte_core::tenant_config::{NetskopeTenant, Token};
use cte_engine::ingest::{ingest, RawIndicator};
use cte_engine::share::{
    exclusions, plan_push, share_all, PlannedPush, ShareError, ShareLease, UrlListOnTenant,
};
use cte_netskope::{NetskopeConnector, RetryPolicy};
use cte_store_sqlite::SqliteStore;
use netskope_sim::{SimConfig, SimHandle};
use serde_json::json;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap()
}

fn clock() -> DateTime<Utc> {
    now()
}

fn config(name: &str, plugin: PluginKind, tenant: Option<&str>) -> Configuration {
    Configuration {
        name: name.into(),
        plugin,
        active: true,
        tenant: tenant.map(str::to_string),
        ssl_validation: true,
        poll_interval: 10,
        poll_interval_unit: IntervalUnit::Minutes,
        reputation: 0,
        age_after_days: 0,
        parameters: if plugin == PluginKind::Netskope {
            json!({"is_pull_required": "No"})
        } else {
            json!({})
        },
        tags_aggregate_strategy: TagStrategy::Append,
        created_at: now(),
        pull: RunStatus::default(),
        share: RunStatus::default(),
    }
}

const SHA: &str = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";
const MD5: &str = "0123456789abcdef0123456789abcdef";

fn raw(value: &str, kind: IndicatorKind, hours_ago: i64) -> RawIndicator {
    let mut r = RawIndicator::new(value, kind, "DW");
    r.severity = Severity::High;
    r.last_seen = Some(now() - Duration::hours(hours_ago));
    r.first_seen = r.last_seen;
    r
}

async fn setup() -> (tempfile::TempDir, SqliteStore, SimHandle) {
    let sim = netskope_sim::spawn(SimConfig {
        hash_lists: vec!["ce-hashes".into()],
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("cte.db")).unwrap();
    store
        .insert_configuration(&config("DW", PluginKind::ApiSources, None))
        .unwrap();
    store
        .insert_tenant(&NetskopeTenant {
            name: "Prod".into(),
            tenant_name: sim.base_url.clone(),
            v1_token: Some(Token::new("test-v1-token")),
            v2_token: Token::new("test-token"),
            initial_range_days: 0,
            use_system_proxy: false,
            created_at: now(),
        })
        .unwrap();
    store
        .insert_configuration(&config("NS", PluginKind::Netskope, Some("Prod")))
        .unwrap();
    let mut md5 = raw(MD5, IndicatorKind::Md5, 6);
    md5.expires_at = Some(now() + Duration::hours(1));
    let mut test = raw("test.example", IndicatorKind::Domain, 1);
    test.test = true;
    ingest(
        &store,
        vec![
            raw("www.dubya.com", IndicatorKind::Url, 5),
            raw("evil.example", IndicatorKind::Domain, 1),
            raw("2001:db8::1", IndicatorKind::Ipv6, 2),
            raw("198.51.100.7", IndicatorKind::Ipv4, 3),
            raw(SHA, IndicatorKind::Sha256, 4),
            md5,
            test,
        ],
        ReportKind::Api,
        now(),
        false,
    )
    .unwrap();
    let mut rule = BusinessRule::new(
        "Every Severity",
        RuleFilters {
            query: String::new(),
            mongo: json!({"sources": {"$elemMatch": {"severity": {"$in": ["unknown", "low", "medium", "high", "critical"]}}}}).to_string(),
        },
    );
    let actions = vec![
        Action {
            label: "Add to URL List".into(),
            value: "url".into(),
            parameters: json!({"list": "create", "name": "ce-iocs", "url_list_type": "Exact", "max_url_list_cap": 7, "default_url": "cedefaultpush.io"}),
        },
        Action {
            label: "Add to File Hash List".into(),
            value: "file".into(),
            parameters: json!({"file_list": "ce-hashes", "max_file_hash_cap": 8}),
        },
    ];
    rule.shared_with = BTreeMap::from([(
        "DW".to_string(),
        BTreeMap::from([("NS".to_string(), actions)]),
    )]);
    store.insert_business_rule(&rule).unwrap();
    (dir, store, sim)
}

fn connector() -> NetskopeConnector {
    NetskopeConnector {
        retry: Some(RetryPolicy::none()),
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn status(store: &SqliteStore, value: &str) -> Option<(DestinationStatus, Option<String>)> {
    let ind = store.indicator(value).unwrap().unwrap();
    ind.sources[0]
        .destinations
        .iter()
        .find(|d| d.name == "NS")
        .map(|d| (d.status, d.reason.clone()))
}

#[tokio::test]
async fn the_seed_story_ends_with_the_right_lists_and_honest_statuses() {
    let (_d, store, sim) = setup().await;
    let reports = share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r.outcome.is_ok()), "{reports:?}");

    // The tenant rejects IPv6 in exact lists; the rest is deployed, the test indicator never.
    assert_eq!(
        sorted(sim.state().deployed_urls("ce-iocs").unwrap()),
        vec!["198.51.100.7", "evil.example", "www.dubya.com"]
    );
    assert_eq!(
        sorted(sim.state().hash_list("ce-hashes").unwrap()),
        sorted(vec![MD5.into(), SHA.into()])
    );
    assert_eq!(
        status(&store, "evil.example").unwrap().0,
        DestinationStatus::Shared
    );
    let (st, reason) = status(&store, "2001:db8::1").unwrap();
    assert_eq!(st, DestinationStatus::Failed);
    assert!(reason.unwrap().starts_with("rejected by tenant"));
    assert_eq!(
        store.indicator(SHA).unwrap().unwrap().shared_with,
        vec!["NS"]
    );
    assert!(status(&store, "test.example").is_none());
    let run = store.configuration("NS").unwrap().unwrap().share;
    assert_eq!(run.last_run_success, Some(true));

    // A second run with nothing new makes no tenant call at all.
    sim.state().clear_requests();
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert_eq!(
        sim.state().requests().len(),
        0,
        "{:?}",
        sim.state().requests()
    );

    // A new IoC is appended; a retracted one leaves the list (replace with the remainder).
    ingest(
        &store,
        vec![raw("new.example", IndicatorKind::Domain, 0)],
        ReportKind::Api,
        now(),
        false,
    )
    .unwrap();
    // As in CE, a reported IoC is pending for the destinations its source is shared to...
    assert_eq!(
        status(&store, "new.example").unwrap().0,
        DestinationStatus::Pending
    );
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert!(sim
        .state()
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/append")));
    // ...until the share settles it.
    let dests = store.indicator("new.example").unwrap().unwrap().sources[0]
        .destinations
        .clone();
    assert!(
        dests.iter().all(|d| d.status == DestinationStatus::Shared),
        "{dests:?}"
    );
    store.set_retracted("evil.example", "DW", true).unwrap();
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert_eq!(
        sorted(sim.state().deployed_urls("ce-iocs").unwrap()),
        vec!["198.51.100.7", "new.example", "www.dubya.com"]
    );
    assert!(
        status(&store, "evil.example").is_none(),
        "no longer claimed as shared"
    );
    assert!(store
        .indicator("evil.example")
        .unwrap()
        .unwrap()
        .shared_with
        .is_empty());

    // Aging: an expired IoC leaves the hash list at the next share.
    assert_eq!(
        store
            .deactivate_expired(now() + Duration::hours(2))
            .unwrap(),
        1
    );
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert_eq!(
        sim.state().hash_list("ce-hashes").unwrap(),
        vec![SHA.to_string()]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_worker_killed_between_push_and_acknowledgement_converges_without_duplicate_appends() {
    let (_d, store, sim) = setup().await;
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    // A push that reached the tenant but was never acknowledged (the worker died).
    let list = ListRef {
        tenant: "Prod".into(),
        kind: "url".into(),
        list: "ce-iocs".into(),
    };
    store.begin_push(&list, "NS", "unknown", now()).unwrap();
    assert!(store.list_state(&list).unwrap().unconfirmed);
    ingest(
        &store,
        vec![raw("late.example", IndicatorKind::Domain, 0)],
        ReportKind::Api,
        now(),
        false,
    )
    .unwrap();
    sim.state().clear_requests();
    share_all(&store, &connector(), &clock, &ShareLease::new("w2"), None)
        .await
        .unwrap();
    let paths: Vec<String> = sim
        .state()
        .requests()
        .iter()
        .map(|r| r.path.clone())
        .collect();
    assert!(
        paths.iter().any(|p| p.ends_with("/replace")),
        "unknown content is replaced whole: {paths:?}"
    );
    assert!(!paths.iter().any(|p| p.ends_with("/append")), "{paths:?}");
    assert_eq!(
        sorted(sim.state().deployed_urls("ce-iocs").unwrap()),
        vec![
            "198.51.100.7",
            "evil.example",
            "late.example",
            "www.dubya.com"
        ]
    );
    assert!(!store.list_state(&list).unwrap().unconfirmed);
    sim.shutdown().await;
}

#[tokio::test]
async fn two_workers_do_not_share_at_once() {
    let (_d, store, sim) = setup().await;
    assert!(store
        .try_lease("share", "other", now(), now() + Duration::minutes(5))
        .unwrap()
        .is_none());
    let err = share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ShareError::Busy { ref holder, .. } if holder == "other"),
        "{err}"
    );
    assert!(sim.state().requests().is_empty());
    // After the lease expires, the run goes ahead.
    let later = || now() + Duration::minutes(6);
    share_all(&store, &connector(), &later, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert!(sim.state().deployed_urls("ce-iocs").is_some());
    sim.shutdown().await;
}

/// The sharing configuration of the seed rule, as the preview takes it.
fn seed_sharing(store: &SqliteStore) -> (BusinessRule, Configuration) {
    let rule = store.business_rule("Every Severity").unwrap().unwrap();
    let dest = store.configuration("NS").unwrap().unwrap();
    (rule, dest)
}

fn action(rule: &BusinessRule, value: &str) -> Action {
    rule.shared_with["DW"]["NS"]
        .iter()
        .find(|a| a.value == value)
        .unwrap()
        .clone()
}

/// Plans a target and resolves the URL list the way the API preview does (a read of the names).
async fn preview(store: &SqliteStore, target: &str) -> PlannedPush {
    let (rule, dest) = seed_sharing(store);
    let mut planned = plan_push(
        store,
        &rule,
        "DW",
        &dest,
        &action(&rule, target),
        UrlListOnTenant::Unknown,
        now(),
    )
    .unwrap();
    if target == "url" && planned.changes_anything() {
        let tenant = store.tenant("Prod").unwrap().unwrap();
        let client = connector().connect(&tenant, true).unwrap();
        let refs = client.url_list_refs().await.unwrap();
        planned.resolve(match refs.iter().find(|l| l.name == "ce-iocs") {
            Some(l) => UrlListOnTenant::Exists(l.id),
            None => UrlListOnTenant::Missing,
        });
    }
    planned
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[tokio::test]
async fn the_next_push_sends_exactly_the_previewed_bodies() {
    let (_d, store, sim) = setup().await;
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();

    // Something to append, something to retract (a replace), a new hash.
    ingest(
        &store,
        vec![
            raw("fresh.example", IndicatorKind::Domain, 0),
            raw(
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                IndicatorKind::Sha256,
                0,
            ),
        ],
        ReportKind::Api,
        now(),
        false,
    )
    .unwrap();
    for (retract, path_end) in [(false, "/append"), (true, "/replace")] {
        if retract {
            store.set_retracted("evil.example", "DW", true).unwrap();
        }
        let state_before = store
            .list_state(&ListRef {
                tenant: "Prod".into(),
                kind: "url".into(),
                list: "ce-iocs".into(),
            })
            .unwrap();
        sim.state().clear_requests();
        let url = preview(&store, "url").await;
        let file = preview(&store, "file").await;
        // The preview wrote nothing: only the read of the list names reached the tenant.
        assert!(sim.state().requests().iter().all(|r| r.method == "GET"));
        assert_eq!(
            store.list_state(&url.list).unwrap(),
            state_before,
            "preview left the store alone"
        );
        let planned: Vec<_> = url.calls.iter().chain(file.calls.iter()).collect();
        assert!(planned.iter().all(|c| c.when.is_none()), "{planned:?}");
        assert!(url.calls[1].call.render().path.ends_with(path_end));

        sim.state().clear_requests();
        share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
            .await
            .unwrap();
        let sent = sim.state().requests();
        assert_eq!(sent.len(), planned.len(), "{sent:?}\n{planned:?}");
        for (req, call) in sent.iter().zip(&planned) {
            let r = call.call.render();
            assert_eq!(req.method, r.method);
            assert_eq!(req.path, r.path);
            let want = r.body.map(|b| String::from_utf8(b).unwrap());
            match &call.call {
                cte_core::push::PushCall::ReplaceFileHashList { .. } => {
                    // The preview shows the token redacted; the bytes sent differ only there.
                    let want = want.unwrap().replace("\"***\"", "\"test-v1-token\"");
                    assert_eq!(req.body.as_deref(), Some(want.as_str()));
                }
                _ => {
                    assert_eq!(
                        req.body.as_deref().filter(|b| !b.is_empty()),
                        want.as_deref()
                    );
                    if let (Some(sent), Some(want)) = (&req.body, &want) {
                        assert_eq!(sha256_hex(sent.as_bytes()), sha256_hex(want.as_bytes()));
                    }
                }
            }
        }
    }
    // After the push, the preview has nothing left to do.
    assert!(!preview(&store, "url").await.changes_anything());
    assert!(!preview(&store, "file").await.changes_anything());
    sim.shutdown().await;
}

#[tokio::test]
async fn the_preview_says_why_each_indicator_is_left_out() {
    let (_d, store, sim) = setup().await;
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    let mut rule = store.business_rule("Every Severity").unwrap().unwrap();
    rule.exceptions.push(cte_core::rule::RuleException {
        name: "allow".into(),
        filters: Some(RuleFilters {
            query: String::new(),
            mongo: json!({"value": "198.51.100.7"}).to_string(),
        }),
        tags: None,
    });
    store.update_business_rule(&rule).unwrap();
    store.set_retracted("www.dubya.com", "DW", true).unwrap();
    store
        .deactivate_expired(now() + Duration::hours(2))
        .unwrap();
    let planned = preview(&store, "url").await;
    let excluded = exclusions(&store, &rule, &planned).unwrap();
    let reasons: BTreeMap<&str, &str> = excluded
        .iter()
        .map(|e| (e.value.as_str(), e.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        BTreeMap::from([
            ("198.51.100.7", "exception"),
            ("2001:db8::1", "rejected by tenant"),
            ("www.dubya.com", "retracted"),
            (MD5, "inactive"),
            (SHA, "type"),
            ("test.example", "test"),
        ])
    );
    assert_eq!(planned.content, vec!["evil.example"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn an_expired_indicator_is_never_shared_whether_or_not_the_age_cycle_ran() {
    let (_d, store, sim) = setup().await;
    // The MD5 expires an hour after `now()`; two hours later it is still marked active.
    let later = || now() + Duration::hours(2);
    assert!(store.indicator(MD5).unwrap().unwrap().active);
    share_all(&store, &connector(), &later, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert_eq!(
        sim.state().hash_list("ce-hashes").unwrap(),
        vec![SHA.to_string()]
    );
    let (rule, dest) = seed_sharing(&store);
    let planned = plan_push(
        &store,
        &rule,
        "DW",
        &dest,
        &action(&rule, "file"),
        UrlListOnTenant::Unknown,
        later(),
    )
    .unwrap();
    let excluded = exclusions(&store, &rule, &planned).unwrap();
    let md5 = excluded.iter().find(|e| e.value == MD5).unwrap();
    assert_eq!(md5.reason, "expired");
    assert_eq!(
        md5.detail.as_deref(),
        Some("expired at 2026-06-01T01:00:00.000Z")
    );
    // An IoC posted already expired is stored inactive.
    let mut old = raw("old.example", IndicatorKind::Domain, 48);
    old.expires_at = Some(now() - Duration::hours(24));
    ingest(&store, vec![old], ReportKind::Api, now(), false).unwrap();
    assert!(!store.indicator("old.example").unwrap().unwrap().active);
    sim.shutdown().await;
}

#[tokio::test]
async fn tagging_marks_cut_and_refused_indicators_and_clears_unshared_once_they_fit() {
    let (_d, store, sim) = setup().await;
    // A 1 MB list and 600 URLs of about 2 KB: the oldest ones do not fit.
    let mut rule = store.business_rule("Every Severity").unwrap().unwrap();
    let actions = rule
        .shared_with
        .get_mut("DW")
        .unwrap()
        .get_mut("NS")
        .unwrap();
    actions[0].parameters["max_url_list_cap"] = json!(1);
    store.update_business_rule(&rule).unwrap();
    let long: Vec<String> = (0..600)
        .map(|i| format!("https://long.example/{}{i:04}", "a".repeat(2000)))
        .collect();
    ingest(
        &store,
        long.iter()
            .enumerate()
            .map(|(i, v)| raw(v, IndicatorKind::Url, 10 + i as i64))
            .collect(),
        ReportKind::Api,
        now(),
        false,
    )
    .unwrap();
    // A second source reports the oldest URL and the IPv6 too: as CE's plugin does, the tags go on
    // every source's record of a cut or refused IoC, not only the sharing source's.
    store
        .insert_configuration(&config("Other", PluginKind::ApiSources, None))
        .unwrap();
    let oldest = long.last().unwrap();
    let other = |v: &str, kind| RawIndicator {
        source: "Other".into(),
        ..raw(v, kind, 700)
    };
    ingest(
        &store,
        vec![
            other(oldest, IndicatorKind::Url),
            other("2001:db8::1", IndicatorKind::Ipv6),
        ],
        ReportKind::Api,
        now(),
        false,
    )
    .unwrap();
    let reports = share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert!(reports.iter().all(|r| r.outcome.is_ok()), "{reports:?}");
    let tags_of = |v: &str, i: usize| store.indicator(v).unwrap().unwrap().sources[i].tags.clone();
    let tags = |v: &str| tags_of(v, 0);
    assert_eq!(tags(oldest), vec!["Unshared"]);
    assert_eq!(tags_of(oldest, 1), vec!["Unshared"]);
    assert!(tags(&long[0]).is_empty());
    assert_eq!(tags("2001:db8::1"), vec!["Invalid host"]);
    assert_eq!(tags_of("2001:db8::1", 1), vec!["Invalid host"]);
    let all_tags = store.tags().unwrap();
    assert!(all_tags
        .iter()
        .any(|t| t.name == "Unshared" && t.color == "#ED3347"));
    assert!(all_tags.iter().any(|t| t.name == "Invalid host"));

    // Once the newer ones are gone, the cut ones fit and lose the tag.
    for v in &long[..200] {
        store.set_retracted(v, "DW", true).unwrap();
    }
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert!(tags(oldest).is_empty(), "{:?}", tags(oldest));
    assert!(tags_of(oldest, 1).is_empty(), "{:?}", tags_of(oldest, 1));
    sim.shutdown().await;
}

#[tokio::test]
async fn tagging_off_leaves_tags_alone() {
    let (_d, store, sim) = setup().await;
    let mut dest = store.configuration("NS").unwrap().unwrap();
    dest.parameters = json!({"is_pull_required": "No", "enable_tagging": "no"});
    store.update_configuration(&dest).unwrap();
    share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
        .await
        .unwrap();
    assert!(store.indicator("2001:db8::1").unwrap().unwrap().sources[0]
        .tags
        .is_empty());
    assert!(store
        .tags()
        .unwrap()
        .iter()
        .all(|t| t.name != "Invalid host"));
    sim.shutdown().await;
}

#[tokio::test]
async fn two_lists_of_one_source_and_destination_keep_their_own_statuses() {
    let (_d, store, sim) = setup().await;
    let mut domains = BusinessRule::new(
        "Domains",
        RuleFilters {
            query: String::new(),
            mongo: json!({"type": "domain"}).to_string(),
        },
    );
    domains.shared_with = BTreeMap::from([(
        "DW".to_string(),
        BTreeMap::from([(
            "NS".to_string(),
            vec![Action {
                label: "Add to URL List".into(),
                value: "url".into(),
                parameters: json!({"list": "create", "name": "ce-domains", "url_list_type": "Exact"}),
            }],
        )]),
    )]);
    store.insert_business_rule(&domains).unwrap();
    for _ in 0..2 {
        share_all(&store, &connector(), &clock, &ShareLease::new("w1"), None)
            .await
            .unwrap();
        let ind = store.indicator("evil.example").unwrap().unwrap();
        let shared: Vec<_> = ind.sources[0]
            .destinations
            .iter()
            .filter(|d| d.name == "NS" && d.status == DestinationStatus::Shared)
            .collect();
        assert_eq!(
            shared.len(),
            2,
            "one status per list: {:?}",
            ind.sources[0].destinations
        );
    }
    assert_eq!(
        sim.state().deployed_urls("ce-domains").unwrap(),
        vec!["evil.example"]
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_destination_with_nothing_to_share_is_recorded_so_schedulers_wait() {
    let (_d, store, sim) = setup().await;
    store
        .insert_configuration(&config("Idle", PluginKind::Netskope, Some("Prod")))
        .unwrap();
    let only = vec!["Idle".to_string(), "No such".to_string()];
    let reports = share_all(
        &store,
        &connector(),
        &clock,
        &ShareLease::new("w1"),
        Some(&only),
    )
    .await
    .unwrap();
    assert!(reports.is_empty());
    let run = store.configuration("Idle").unwrap().unwrap().share;
    assert_eq!(run.last_run_at, Some(now()));
    assert!(run.message.unwrap().starts_with("nothing to share"));
    assert!(sim.state().requests().is_empty());
    sim.shutdown().await;
}
