//! Sharing, read-only: `GET /api/cte/business_rules/test`, `POST /api/cte/sharing/preview` and
//! `GET /api/cte/indicators/explain`, against the simulated tenant.

use std::sync::Arc;

use axum::http::{Method, StatusCode};
use chrono::Duration;
use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::reconcile::TagStrategy;
use cte_core::store::Store;
use cte_core::tenant_config::{NetskopeTenant, Token};
use cte_netskope::{NetskopeConnector, RetryPolicy};
use netskope_sim::{SimConfig, SimHandle};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::harness::{assert_error, enc, fmt, TestApp, RO};

const PREVIEW: &str = "/api/cte/sharing/preview";
const SHA: &str = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";

struct Env {
    app: TestApp,
    sim: SimHandle,
}

fn connector() -> NetskopeConnector {
    NetskopeConnector {
        retry: Some(RetryPolicy::none()),
    }
}

/// Source `DW`, tenant `Prod` on the simulator, Netskope configuration `NS`, four indicators,
/// and rule `r` sharing DW → NS to URL list `ce-iocs` and hash list `ce-hashes`.
async fn env() -> Env {
    let sim = netskope_sim::spawn(SimConfig {
        hash_lists: vec!["ce-hashes".into()],
        ..SimConfig::default()
    })
    .await
    .expect("start simulator");
    let app = TestApp::with_connector(Arc::new(connector())).await;
    app.insert_tenant_unchecked(&NetskopeTenant {
        name: "Prod".into(),
        tenant_name: sim.base_url.clone(),
        v1_token: Some(Token::new("test-v1-token")),
        v2_token: Token::new("test-token"),
        initial_range_days: 0,
        use_system_proxy: false,
        created_at: app.now(),
    });
    app.store()
        .insert_configuration(&Configuration {
            name: "NS".into(),
            plugin: PluginKind::Netskope,
            active: true,
            tenant: Some("Prod".into()),
            ssl_validation: true,
            poll_interval: 10,
            poll_interval_unit: IntervalUnit::Minutes,
            reputation: 0,
            age_after_days: 0,
            parameters: json!({"is_pull_required": "No"}),
            tags_aggregate_strategy: TagStrategy::Append,
            created_at: app.now(),
            pull: RunStatus::default(),
            share: RunStatus::default(),
        })
        .unwrap();
    app.source("DW", json!({})).await;
    let seen = |h: i64| fmt(app.now() - Duration::hours(h));
    app.ingest(json!([
        {"value": "old.example", "type": "domain", "source": "DW", "lastSeen": seen(3)},
        {"value": "new.example", "type": "domain", "source": "DW", "lastSeen": seen(1)},
        {"value": SHA, "type": "sha256", "source": "DW", "lastSeen": seen(2)},
        {"value": "test.example", "type": "domain", "source": "DW", "test": true},
    ]))
    .await;
    let (s, v) = app
        .post(
            &app.admin,
            "/api/cte/business_rules",
            json!({"name": "r", "sharedWith": {"DW": {"NS": [
                {"label": "Add to URL List", "value": "url", "parameters": {
                    "list": "create", "name": "ce-iocs", "url_list_type": "Exact",
                    "max_url_list_cap": 7, "default_url": "cedefaultpush.io"}},
                {"label": "Add to File Hash List", "value": "file", "parameters": {
                    "file_list": "ce-hashes", "max_file_hash_cap": 8}},
            ]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    Env { app, sim }
}

fn preview_body(target: &str) -> Value {
    json!({"rule": "r", "sourceConfiguration": "DW", "destinationConfiguration": "NS", "target": target})
}

impl Env {
    async fn share(&self) {
        let clock = {
            let now = self.app.now();
            move || now
        };
        let reports = cte_engine::share::share_all(
            self.app.store(),
            &connector(),
            &clock,
            &cte_engine::share::ShareLease::new("w"),
            None,
        )
        .await
        .unwrap();
        assert!(reports.iter().all(|r| r.outcome.is_ok()), "{reports:?}");
    }

    /// The preview as raw text (to compare bytes) and as JSON.
    async fn preview(&self, target: &str) -> (String, Value) {
        let reader = self.app.login_new(RO).await;
        let (s, text) = self
            .app
            .send_text(
                Method::POST,
                PREVIEW,
                Some(&reader),
                Some(&preview_body(target)),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{text}");
        let v = serde_json::from_str(&text).unwrap();
        (text, v)
    }
}

#[tokio::test]
async fn preview_shows_the_exact_bodies_the_next_push_sends() {
    let e = env().await;
    let (text, url) = e.preview("url").await;
    assert_eq!(url["target"], "url");
    assert_eq!(url["list"], "ce-iocs");
    assert_eq!(url["listOnTenant"], "missing");
    assert_eq!(url["entries"], json!(["new.example", "old.example"]));
    let methods: Vec<String> = url["requests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        methods,
        [
            "GET /api/v2/policy/urllist?field=id,name",
            "POST /api/v2/policy/urllist",
            "POST /api/v2/policy/urllist/deploy"
        ]
    );
    let create = &url["requests"][1];
    assert_eq!(
        create["body"],
        json!({"name": "ce-iocs", "data": {"urls": ["new.example", "old.example"], "type": "exact"}})
    );
    let excluded: Vec<(String, String)> = url["excluded"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["value"].as_str().unwrap().into(),
                x["reason"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        excluded,
        [
            ("test.example".to_string(), "test".to_string()),
            (SHA.to_string(), "type".to_string())
        ]
    );
    // The preview wrote nothing: the tenant saw one read.
    let seen = e.sim.state().requests();
    assert!(seen.iter().all(|r| r.method == "GET"), "{seen:?}");
    let (_, file) = e.preview("file").await;
    assert_eq!(file["entries"], json!([SHA]));
    assert_eq!(file["requests"][0]["path"], "/api/v1/updateFileHashList");

    e.sim.state().clear_requests();
    e.share().await;
    let sent: Vec<String> = e
        .sim
        .state()
        .requests()
        .iter()
        .filter_map(|r| r.body.clone().filter(|b| !b.is_empty()))
        .collect();
    assert_eq!(sent.len(), 2, "{sent:?}");
    // The URL-list body is in the preview byte for byte, with its length and digest.
    assert!(text.contains(&sent[0]), "{text}\n{}", sent[0]);
    assert_eq!(create["byteLength"], json!(sent[0].len()));
    assert_eq!(
        create["sha256"],
        json!(hex::encode(Sha256::digest(sent[0].as_bytes())))
    );
    // The hash-list body differs only in the redacted token.
    assert_eq!(
        file["requests"][0]["body"],
        serde_json::from_str::<Value>(&sent[1].replace("test-v1-token", "***")).unwrap()
    );

    // Nothing changed since: no request at all; a new IoC is an append to the list's id.
    let (_, url) = e.preview("url").await;
    assert_eq!(url["requests"], json!([]));
    assert_eq!(url["listOnTenant"], "not read");
    e.app
        .ingest(json!([{"value": "fresh.example", "type": "domain", "source": "DW"}]))
        .await;
    let (_, url) = e.preview("url").await;
    assert_eq!(url["listOnTenant"], "exists");
    let patch = &url["requests"][1];
    assert_eq!(patch["method"], "PATCH");
    assert!(
        patch["path"].as_str().unwrap().ends_with("/append"),
        "{patch}"
    );
    assert_eq!(
        patch["body"],
        json!({"data": {"urls": ["fresh.example"], "type": "exact"}})
    );
    e.sim.shutdown().await;
}

#[tokio::test]
async fn preview_and_test_refuse_what_they_cannot_find() {
    let e = env().await;
    let app = &e.app;
    let mut body = preview_body("url");
    body["rule"] = json!("nope");
    assert_error(
        &app.post(&app.admin, PREVIEW, body).await,
        StatusCode::NOT_FOUND,
        "Business rule with name 'nope' does not exist.",
    );
    let mut body = preview_body("url");
    body["sourceConfiguration"] = json!("other");
    let got = app.post(&app.admin, PREVIEW, body).await;
    assert_eq!(got.0, StatusCode::NOT_FOUND, "{}", got.1);
    assert_error(
        &app.post(&app.admin, PREVIEW, preview_body("dns")).await,
        StatusCode::BAD_REQUEST,
        "'target' must be 'url' (Add to URL List) or 'file' (Add to File Hash List), not 'dns'.",
    );
    assert_error(
        &app.post(&app.admin, PREVIEW, json!({"rule": "r"})).await,
        StatusCode::BAD_REQUEST,
        "'sourceConfiguration' is required.",
    );
    let got = app
        .get(&app.admin, "/api/cte/business_rules/test?rule=r")
        .await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    e.sim.shutdown().await;
}

#[tokio::test]
async fn test_counts_and_sizes_the_whole_selection_in_payload_bytes() {
    let e = env().await;
    let (s, v) = e
        .app
        .get(
            &e.app.admin,
            "/api/cte/business_rules/test?rule=r&sourceConfiguration=DW&destinationConfiguration=NS",
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let url_body = r#"{"data":{"urls":["new.example","old.example"],"type":"exact"}}"#;
    assert_eq!(
        v,
        json!({"hash_count": 1, "hash_size": 64, "url_count": 2, "url_size": url_body.len()})
    );
    e.sim.shutdown().await;
}

#[tokio::test]
async fn explain_names_rule_source_list_and_time() {
    let e = env().await;
    e.share().await;
    let reader = e.app.login_new(RO).await;
    let (s, v) = e
        .app
        .get(
            &reader,
            &format!("/api/cte/indicators/explain?value={}", enc("new.example")),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["value"], "new.example");
    assert_eq!(v["sharedWith"], json!(["NS"]));
    assert_eq!(
        v["onLists"],
        json!([{"tenant": "Prod", "target": "url", "list": "ce-iocs", "at": fmt(e.app.now())}])
    );
    assert_eq!(
        v["statuses"],
        json!([{"status": "shared", "reason": null, "rule": "r", "source": "DW",
            "destination": "NS", "tenant": "Prod", "target": "url", "list": "ce-iocs",
            "at": fmt(e.app.now())}])
    );
    // Not selected at all: no list, no status.
    let (s, v) = e
        .app
        .get(&reader, "/api/cte/indicators/explain?value=test.example")
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["statuses"], json!([]));
    assert_eq!(v["onLists"], json!([]));
    assert_error(
        &e.app
            .get(&reader, "/api/cte/indicators/explain?value=nope.example")
            .await,
        StatusCode::NOT_FOUND,
        "Indicator with value 'nope.example' does not exist.",
    );
    assert_error(
        &e.app.get(&reader, "/api/cte/indicators/explain").await,
        StatusCode::BAD_REQUEST,
        "'value' is required.",
    );
    e.sim.shutdown().await;
}
