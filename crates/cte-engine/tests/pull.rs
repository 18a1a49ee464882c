//! The pull cycle against the simulated tenant: initial range, mapping, resume without duplicates,
//! one tenant's 403 not stopping another, unselected types not pulled.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::filter::Filter;
use cte_core::indicator::IndicatorKind;
use cte_core::normalize::normalize_value;
use cte_core::query::ListQuery;
use cte_core::reconcile::TagStrategy;
use cte_core::store::Store;
use cte_core::tenant::*;
use cte_core::tenant_config::{NetskopeTenant, TenantConnector, Token};
use cte_engine::pull::{pull_all, pull_configuration, PullOptions};
use cte_netskope::{NetskopeConnector, RetryPolicy};
use cte_store_sqlite::SqliteStore;
use netskope_sim::{AlertSpec, Privilege, SimConfig, SimHandle, SimToken};
use serde_json::{json, Value};

/// End of the simulated alert range; "now" for the tests.
const END: i64 = 1_704_672_000;
const DAY: i64 = 86_400;

fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(END + 1, 0).unwrap()
}

fn spec(seed: u64) -> AlertSpec {
    AlertSpec {
        seed,
        malware_count: 120,
        malsite_count: 80,
        start_epoch: END - 7 * DAY,
        end_epoch: END,
    }
}

async fn sim(tokens: Vec<SimToken>, seed: u64) -> SimHandle {
    netskope_sim::spawn(SimConfig {
        tokens,
        alerts: spec(seed),
        page_size: 25,
        wait_time: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

fn tenant(name: &str, sim: &SimHandle, token: &str) -> NetskopeTenant {
    NetskopeTenant {
        name: name.into(),
        tenant_name: sim.base_url.clone(),
        v1_token: None,
        v2_token: Token::new(token),
        initial_range_days: 3,
        use_system_proxy: false,
        created_at: now(),
    }
}

fn config(name: &str, tenant: &str, params: Value) -> Configuration {
    Configuration {
        name: name.into(),
        plugin: PluginKind::Netskope,
        active: true,
        tenant: Some(tenant.into()),
        ssl_validation: true,
        poll_interval: 10,
        poll_interval_unit: IntervalUnit::Minutes,
        reputation: 0,
        age_after_days: 0,
        parameters: params,
        tags_aggregate_strategy: TagStrategy::Append,
        created_at: now(),
        pull: RunStatus::default(),
        share: RunStatus::default(),
    }
}

fn connector() -> NetskopeConnector {
    NetskopeConnector {
        retry: Some(RetryPolicy::none()),
    }
}

/// value → (kind, number of alerts that report it) for alerts in `[from, END]`, as CE maps them.
fn expected(seed: u64, from: i64, types: &[&str]) -> HashMap<String, (IndicatorKind, u64)> {
    let (malware, malsite) = netskope_sim::generate_alerts(&spec(seed));
    let mut out: HashMap<String, (IndicatorKind, u64)> = HashMap::new();
    let mut add = |v: &str, k: IndicatorKind| {
        if let Ok(v) = normalize_value(k, v) {
            out.entry(v).or_insert((k, 0)).1 += 1;
        }
    };
    for a in malware
        .iter()
        .filter(|a| a["timestamp"].as_i64().unwrap() >= from)
    {
        for (ty, local, remote, kind) in [
            ("MD5", "local_md5", "md5", IndicatorKind::Md5),
            ("SHA256", "local_sha256", "sha256", IndicatorKind::Sha256),
        ] {
            if !types.contains(&ty) {
                continue;
            }
            let l = a[local].as_str().filter(|s| !s.is_empty());
            let r = a[remote].as_str().filter(|s| !s.is_empty());
            match (l, r) {
                (Some(l), Some(r)) if l.eq_ignore_ascii_case(r) => add(l, kind),
                _ => [l, r].into_iter().flatten().for_each(|v| add(v, kind)),
            }
        }
    }
    if types.contains(&"URL") {
        for a in malsite
            .iter()
            .filter(|a| a["timestamp"].as_i64().unwrap() >= from)
        {
            if let Some(u) = a["url"].as_str().filter(|s| !s.is_empty()) {
                add(u, IndicatorKind::Url);
            }
        }
    }
    out
}

fn stored(store: &SqliteStore) -> HashMap<String, (IndicatorKind, u64)> {
    store
        .list_indicators(&ListQuery {
            filter: Filter::all(),
            sort: None,
            ascending: true,
            skip: 0,
            limit: 1_000_000,
        })
        .unwrap()
        .into_iter()
        .map(|i| (i.value.clone(), (i.kind, i.internal_hits)))
        .collect()
}

fn open_store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("cte.db")).unwrap();
    (dir, store)
}

#[tokio::test]
async fn first_run_pulls_the_initial_range_with_ce_mapping() {
    let sim = sim(vec![SimToken::full("tok")], 7).await;
    let (_d, store) = open_store();
    let t = tenant("Prod", &sim, "tok");
    store.insert_tenant(&t).unwrap();
    let c = config("NS", "Prod", json!({"days": 3}));
    store.insert_configuration(&c).unwrap();

    let stop = AtomicBool::new(false);
    let reports = pull_all(
        &store,
        &connector(),
        &now,
        &PullOptions::default(),
        &stop,
        None,
    )
    .await
    .unwrap();
    assert!(reports[0].outcome.is_ok(), "{}", reports[0].summary());
    let want = expected(7, END - 3 * DAY, &["MD5", "SHA256", "URL"]);
    assert!(!want.is_empty());
    assert_eq!(
        stored(&store),
        want,
        "every IoC of the last 3 days, counted once per alert"
    );

    let sample = store
        .list_indicators(&ListQuery {
            filter: Filter::all(),
            sort: None,
            ascending: true,
            skip: 0,
            limit: 1,
        })
        .unwrap()
        .remove(0);
    let src = &sample.sources[0];
    assert_eq!(src.source, "NS");
    assert!(src.comments.starts_with(&sim.base_url), "{}", src.comments);
    // The tenant answers `next` with an empty page until an index is positioned, so every
    // iterator (historical, then maintenance, per alert type) starts with an epoch.
    let mut first_ops: Vec<(String, String)> = Vec::new();
    for r in sim.state().requests() {
        let query = r.query.unwrap_or_default();
        let param = |key: &str| {
            query
                .split('&')
                .find_map(|kv| kv.strip_prefix(key))
                .unwrap_or("")
                .to_owned()
        };
        let index = param("index=");
        if !first_ops.iter().any(|(i, _)| *i == index) {
            first_ops.push((index, param("operation=")));
        }
    }
    assert_eq!(first_ops.len(), 4, "{first_ops:?}");
    assert!(
        first_ops
            .iter()
            .all(|(_, op)| op.parse::<i64>().is_ok_and(|t| t >= END - 3 * DAY)),
        "{first_ops:?}"
    );
    let run = store.configuration("NS").unwrap().unwrap().pull;
    assert_eq!(run.last_run_success, Some(true));
    assert!(run.message.unwrap().contains("malware"));

    // A second run finds nothing new and changes nothing.
    pull_all(
        &store,
        &connector(),
        &now,
        &PullOptions::default(),
        &stop,
        None,
    )
    .await
    .unwrap();
    assert_eq!(stored(&store), want);
    sim.shutdown().await;
}

/// Forwards to a real client but fails after the `fail_at`-th alerts call has reached the tenant,
/// as a worker killed between the tenant's answer and the commit would.
struct CrashingClient {
    inner: Arc<dyn TenantClient>,
    calls: AtomicU32,
    fail_at: u32,
}

#[async_trait]
impl TenantClient for CrashingClient {
    async fn alerts_page(
        &self,
        alert_type: AlertType,
        iterator: &str,
        op: IteratorOp,
    ) -> Result<AlertPage, TenantError> {
        let page = self.inner.alerts_page(alert_type, iterator, op).await?;
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.fail_at {
            return Err(TenantError::Transport("killed after the answer".into()));
        }
        Ok(page)
    }
    async fn url_list_refs(&self) -> Result<Vec<UrlListRef>, TenantError> {
        self.inner.url_list_refs().await
    }
    async fn url_lists(&self) -> Result<Vec<UrlList>, TenantError> {
        self.inner.url_lists().await
    }
    async fn url_list(&self, id: i64) -> Result<UrlList, TenantError> {
        self.inner.url_list(id).await
    }
    async fn create_url_list(
        &self,
        name: &str,
        urls: &[String],
        t: UrlListType,
    ) -> Result<UrlList, TenantError> {
        self.inner.create_url_list(name, urls, t).await
    }
    async fn patch_url_list(
        &self,
        id: i64,
        p: UrlListPatch,
        urls: &[String],
        t: UrlListType,
    ) -> Result<UrlList, TenantError> {
        self.inner.patch_url_list(id, p, urls, t).await
    }
    async fn update_url_list(
        &self,
        id: i64,
        name: &str,
        urls: &[String],
        t: UrlListType,
    ) -> Result<UrlList, TenantError> {
        self.inner.update_url_list(id, name, urls, t).await
    }
    async fn delete_url_list(&self, id: i64) -> Result<UrlList, TenantError> {
        self.inner.delete_url_list(id).await
    }
    async fn deploy_url_lists(&self) -> Result<Vec<UrlList>, TenantError> {
        self.inner.deploy_url_lists().await
    }
    async fn replace_file_hash_list(
        &self,
        name: &str,
        hashes: &[String],
    ) -> Result<HashListOutcome, TenantError> {
        self.inner.replace_file_hash_list(name, hashes).await
    }
    async fn check_access(&self, probes: &[AccessProbe]) -> Result<(), TenantError> {
        self.inner.check_access(probes).await
    }
}

#[tokio::test]
async fn a_run_killed_after_a_tenant_answer_resumes_without_loss_or_duplicates() {
    let sim = sim(vec![SimToken::full("tok")], 11).await;
    let want = expected(11, END - 3 * DAY, &["MD5", "SHA256", "URL"]);
    // Crash after every call of a full run in turn: positioning, middle pages, phase switches.
    let mut crashes = 0;
    for fail_at in 1u32.. {
        let (_d, store) = open_store();
        let t = tenant("Prod", &sim, "tok");
        store.insert_tenant(&t).unwrap();
        let name = format!("NS{fail_at}");
        let c = config(&name, "Prod", json!({"days": 3}));
        store.insert_configuration(&c).unwrap();
        let real = connector().connect(&t, true).unwrap();
        let crashing = CrashingClient {
            inner: real.clone(),
            calls: AtomicU32::new(0),
            fail_at,
        };
        let stop = AtomicBool::new(false);
        let first = pull_configuration(
            &store,
            &crashing,
            &c,
            &t,
            &now,
            &PullOptions::default(),
            &stop,
        )
        .await;
        if first.outcome.is_ok() {
            break; // the run needs fewer calls than `fail_at`
        }
        crashes += 1;
        let second = pull_configuration(
            &store,
            real.as_ref(),
            &c,
            &t,
            &now,
            &PullOptions::default(),
            &stop,
        )
        .await;
        assert!(second.outcome.is_ok(), "{}", second.summary());
        assert_eq!(
            stored(&store),
            want,
            "crash after call {fail_at}: hit counters prove no alert lost or repeated"
        );
    }
    assert!(
        crashes >= 6,
        "a full run makes several calls; crashed {crashes} times"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn a_403_on_one_tenant_does_not_stop_another_and_unselected_types_are_not_pulled() {
    let good = sim(vec![SimToken::full("tok")], 5).await;
    let no_alerts = sim(
        vec![SimToken::with(
            "weak",
            &[("/api/v2/policy/urllist", Privilege::ReadWrite)],
        )],
        5,
    )
    .await;
    let (_d, store) = open_store();
    store
        .insert_tenant(&tenant("Weak", &no_alerts, "weak"))
        .unwrap();
    store.insert_tenant(&tenant("Good", &good, "tok")).unwrap();
    // "A" sorts first, so the failing configuration runs before the good one.
    store
        .insert_configuration(&config("A-weak", "Weak", json!({"days": 3})))
        .unwrap();
    store
        .insert_configuration(&config(
            "B-urls",
            "Good",
            json!({"days": 3, "threat_data_type": ["URL"]}),
        ))
        .unwrap();

    let stop = AtomicBool::new(false);
    let reports = pull_all(
        &store,
        &connector(),
        &now,
        &PullOptions::default(),
        &stop,
        None,
    )
    .await
    .unwrap();
    assert_eq!(reports.len(), 2);
    let weak = store.configuration("A-weak").unwrap().unwrap().pull;
    assert_eq!(weak.last_run_success, Some(false));
    let msg = weak.message.unwrap();
    assert!(
        msg.contains("/api/v2/events/dataexport"),
        "names the endpoint: {msg}"
    );
    assert_eq!(
        store
            .configuration("B-urls")
            .unwrap()
            .unwrap()
            .pull
            .last_run_success,
        Some(true)
    );
    assert_eq!(stored(&store), expected(5, END - 3 * DAY, &["URL"]));
    let malware_calls = good
        .state()
        .requests()
        .into_iter()
        .filter(|r| r.path.contains("/alerts/malware"))
        .count();
    assert_eq!(
        malware_calls, 0,
        "malware alerts are not pulled when only URL is selected"
    );
    good.shutdown().await;
    no_alerts.shutdown().await;
}
