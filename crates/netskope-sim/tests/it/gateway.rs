//! Gateway behaviour: tokens and privileges, body limit, rate limit, faults, request log, TLS, snapshots.

use std::time::{Duration, Instant};

use netskope_sim::{Fault, Privilege, SimConfig, SimToken};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::support::{get, post, send, start, start_default, TOKEN};

fn scoped_config() -> SimConfig {
    SimConfig {
        tokens: vec![
            SimToken::full(TOKEN),
            SimToken::with("reader", &[("/api/v2/policy/urllist", Privilege::Read)]),
            SimToken::with("events", &[("/api/v2/events/dataexport", Privilege::Read)]),
            SimToken::with("prefix", &[("/api/v2/policy/url", Privilege::ReadWrite)]),
        ],
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn wrong_or_missing_token_is_401_and_missing_privilege_403() {
    let sim = start(scoped_config()).await;
    let list = "/api/v2/policy/urllist";
    for token in [None, Some("nope"), Some("")] {
        let answer = send(&sim, Method::GET, list, token, None).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(answer.body["status"], "error");
        assert!(answer.body["message"].is_string());
    }
    assert_eq!(
        send(&sim, Method::GET, list, Some("reader"), None)
            .await
            .status,
        StatusCode::OK
    );
    let body = json!({"name": "x", "data": {"urls": ["a.com"], "type": "exact"}});
    let write = send(&sim, Method::POST, list, Some("reader"), Some(&body)).await;
    assert_eq!(write.status, StatusCode::FORBIDDEN, "Read covers GET only");
    assert_eq!(write.body["status"], "error");
    assert_eq!(
        send(&sim, Method::GET, list, Some("events"), None)
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        send(&sim, Method::GET, list, Some("prefix"), None)
            .await
            .status,
        StatusCode::FORBIDDEN,
        "privileges match whole path segments"
    );
    let export = "/api/v2/events/dataexport/alerts/malware?index=i&operation=head";
    assert_eq!(
        send(&sim, Method::GET, export, Some("events"), None)
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        send(
            &sim,
            Method::GET,
            "/api/v2/events/data/audit",
            Some("events"),
            None
        )
        .await
        .status,
        StatusCode::FORBIDDEN
    );
    assert!(sim.state().url_lists().is_empty());
}

#[tokio::test]
async fn token_spec_parsing() {
    let token = SimToken::parse("t:/api/v2/policy/urllist=rw,/api/v2/events/dataexport=r").unwrap();
    assert_eq!(
        token.privileges,
        [
            ("/api/v2/policy/urllist".to_owned(), Privilege::ReadWrite),
            ("/api/v2/events/dataexport".to_owned(), Privilege::Read)
        ]
    );
    assert_eq!(SimToken::parse("plain").unwrap(), SimToken::full("plain"));
    assert!(SimToken::parse("t:/x=admin").is_err());
    assert!(SimToken::parse("t:nope=r").is_err());
}

#[tokio::test]
async fn unknown_paths_are_404_and_bodies_over_16_mib_413() {
    let sim = start_default().await;
    let answer = get(&sim, "/api/v2/nothing/here").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body["status"], "error");
    let wrong_method = send(
        &sim,
        Method::PATCH,
        "/api/v2/policy/urllist",
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(wrong_method.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(wrong_method.body["status"], "error");
    let huge = "x".repeat(16 * 1024 * 1024 + 1);
    let res = reqwest::Client::new()
        .post(format!("{}/api/v2/policy/urllist", sim.base_url))
        .header("Netskope-Api-Token", TOKEN)
        .body(huge)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn rate_limit_answers_429_with_retry_after_and_ratelimit_headers() {
    let sim = start(SimConfig {
        rate_limit_rps: Some(2),
        ..SimConfig::default()
    })
    .await;
    // The window opens with the first request, so a quick burst of limit + 1 always meets the 429.
    let mut answers = Vec::new();
    for _ in 0..3 {
        answers.push(get(&sim, "/api/v2/policy/urllist").await);
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(statuses, [200, 200, 429]);
    let remaining: Vec<_> = answers
        .iter()
        .map(|a| a.header("ratelimit-remaining"))
        .collect();
    assert_eq!(remaining, [Some("1"), Some("0"), Some("0")]);
    assert!(answers
        .iter()
        .all(|a| a.header("ratelimit-limit") == Some("2")));
    assert!(answers
        .iter()
        .all(|a| a.header("ratelimit-reset") == Some("1")));
    let limited = &answers[2];
    assert_eq!(limited.header("retry-after"), Some("1"));
    assert_eq!(limited.body["status"], "error");
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        get(&sim, "/api/v2/policy/urllist").await.status,
        StatusCode::OK,
        "next window"
    );
    // Inspection endpoints are not rate limited.
    for _ in 0..5 {
        let res = reqwest::get(format!("{}/__sim/deploys", sim.base_url))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let unlimited = start_default().await;
    assert!(get(&unlimited, "/api/v2/policy/urllist")
        .await
        .header("ratelimit-remaining")
        .is_none());
}

#[tokio::test]
async fn fail_faults_hit_the_next_matching_requests_only() {
    let sim = start_default().await;
    sim.inject_fault(Fault::fail(503, 2, Some("/api/v2/policy")));
    let audit = get(&sim, "/api/v2/events/data/audit").await;
    assert_eq!(audit.status, StatusCode::OK, "other prefix untouched");
    assert_eq!(
        get(&sim, "/api/v2/policy/urllist").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let second = get(&sim, "/api/v2/policy/urllist").await;
    assert_eq!(second.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(second.body["status"], "error");
    assert_eq!(
        get(&sim, "/api/v2/policy/urllist").await.status,
        StatusCode::OK
    );
    assert!(sim.state().faults().is_empty());
}

/// Issue 15, item 5: faults matched plain string prefixes, so one armed for `/api/v2/events/data` (the audit
/// probe's endpoint) also failed the Data Export iterator under `/api/v2/events/dataexport`.
#[tokio::test]
async fn fault_paths_match_whole_segments_not_string_prefixes() {
    let sim = start_default().await;
    sim.inject_fault(Fault::fail(502, 2, Some("/api/v2/events/data")));
    let export = get(
        &sim,
        "/api/v2/events/dataexport/alerts/malware?index=i&operation=head",
    )
    .await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.body);
    assert_eq!(
        get(&sim, "/api/v2/events/data/audit").await.status,
        StatusCode::BAD_GATEWAY
    );
    assert_eq!(sim.state().faults().len(), 1, "one use left");
}

/// Issue 23, item 5: injected 429s carried none of the headers the tenant sends with one, which the official SDK
/// (`Retry-After`) and the iterator client (`ratelimit-remaining: 0`, `ratelimit-reset`) sleep on.
#[tokio::test]
async fn injected_429s_carry_retry_after_and_the_rate_limit_headers() {
    let sim = start_default().await;
    let lists = "/api/v2/policy/urllist";
    let headers = |answer: &crate::support::Answer| {
        ["retry-after", "ratelimit-remaining", "ratelimit-reset"]
            .map(|h| answer.header(h).map(str::to_owned))
    };
    let some = |v: &str| Some(v.to_owned());

    sim.inject_fault(Fault::fail(429, 1, Some(lists)));
    let answer = get(&sim, lists).await;
    assert_eq!(answer.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(headers(&answer), [some("1"), some("0"), some("1")]);
    assert_eq!(answer.body["status"], "error");

    sim.inject_fault(Fault::rate_limited(1, 7, Some(lists)));
    assert_eq!(
        headers(&get(&sim, lists).await),
        [some("7"), some("0"), some("7")]
    );

    let http = reqwest::Client::new();
    let armed = http
        .post(format!("{}/__sim/faults", sim.base_url))
        .json(&json!([
            {"kind": "fail", "status": 429, "retry_after": 3},
            {"kind": "fail", "status": 503, "retry_after": 2},
            {"kind": "fail", "status": 503}
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), StatusCode::CREATED);
    assert_eq!(
        headers(&get(&sim, lists).await),
        [some("3"), some("0"), some("3")]
    );
    let unavailable = get(&sim, lists).await;
    assert_eq!(unavailable.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        headers(&unavailable),
        [some("2"), None, None],
        "a 503 may say when to come back; it is no rate limit"
    );
    assert_eq!(headers(&get(&sim, lists).await), [None, None, None]);
    assert_eq!(get(&sim, lists).await.status, StatusCode::OK);
}

#[tokio::test]
async fn drop_fault_closes_the_connection_without_an_answer() {
    let sim = start_default().await;
    sim.inject_fault(Fault::drop_connection(1, None));
    let res = reqwest::Client::new()
        .get(format!("{}/api/v2/policy/urllist", sim.base_url))
        .header("Netskope-Api-Token", TOKEN)
        .send()
        .await;
    assert!(res.is_err(), "{res:?}");
    assert_eq!(
        get(&sim, "/api/v2/policy/urllist").await.status,
        StatusCode::OK
    );
    let log = sim.state().requests();
    assert_eq!(
        log[0].status, 0,
        "dropped requests are logged with status 0"
    );
}

#[tokio::test]
async fn latency_fault_delays_answers() {
    let sim = start_default().await;
    sim.inject_fault(Fault::latency(Duration::from_millis(300), Some(1), None));
    let t0 = Instant::now();
    assert_eq!(
        get(&sim, "/api/v2/policy/urllist").await.status,
        StatusCode::OK
    );
    assert!(t0.elapsed() >= Duration::from_millis(300));
    let t1 = Instant::now();
    get(&sim, "/api/v2/policy/urllist").await;
    assert!(t1.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn faults_can_be_armed_over_http_and_requests_inspected() {
    let sim = start_default().await;
    let http = reqwest::Client::new();
    let armed = http
        .post(format!("{}/__sim/faults", sim.base_url))
        .json(
            &json!([{"kind": "fail", "status": 500}, {"kind": "latency", "millis": 1, "count": 1}]),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(armed.status(), StatusCode::CREATED);
    assert_eq!(
        get(&sim, "/api/v2/policy/urllist?field=id").await.status,
        StatusCode::INTERNAL_SERVER_ERROR
    );
    post(
        &sim,
        "/api/v2/policy/urllist",
        &json!({"name": "n", "data": {"urls": ["a.com"], "type": "exact"}}),
    )
    .await;
    let log: serde_json::Value = http
        .get(format!("{}/__sim/requests", sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log[0]["method"], "GET");
    assert_eq!(log[0]["query"], "field=id");
    assert_eq!(log[0]["status"], 500);
    assert_eq!(log[1]["status"], 201);
    assert!(log[1]["body"].as_str().unwrap().contains("\"n\""));
    let lists: serde_json::Value = http
        .get(format!("{}/__sim/lists", sim.base_url))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(lists[0]["urls"], json!(["a.com"]));
    assert_eq!(lists[0]["deployed"], serde_json::Value::Null);
    let bad = http
        .post(format!("{}/__sim/faults", sim.base_url))
        .body("{\"kind\":\"explode\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let reset = http
        .post(format!("{}/__sim/reset", sim.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), StatusCode::NO_CONTENT);
    assert!(sim.state().url_lists().is_empty() && sim.state().requests().is_empty());
}

#[tokio::test]
async fn https_listener_serves_with_the_published_ca() {
    let dir = tempfile::tempdir().unwrap();
    let cert_out = dir.path().join("ca.pem");
    let sim = start(SimConfig {
        tls: true,
        cert_out: Some(cert_out.clone()),
        ..SimConfig::default()
    })
    .await;
    let pem = sim.cert_pem.clone().expect("cert");
    assert_eq!(std::fs::read_to_string(&cert_out).unwrap(), pem);
    let client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let url = format!(
        "{}/api/v2/policy/urllist",
        sim.tls_base_url.as_deref().unwrap()
    );
    assert!(url.starts_with("https://127.0.0.1:"));
    let res = client
        .get(&url)
        .header("Netskope-Api-Token", TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(sim.state().requests()[0].tls);
    let untrusting = reqwest::Client::new().get(&url).send().await;
    assert!(untrusting.is_err());
}

#[tokio::test]
async fn non_loopback_addresses_are_refused() {
    let config = SimConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..SimConfig::default()
    };
    assert!(netskope_sim::spawn(config).await.is_err());
}

#[tokio::test]
async fn snapshot_is_written_at_shutdown_and_loaded_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tenant.json");
    let config = SimConfig {
        snapshot: Some(path.clone()),
        hash_lists: vec!["h".into()],
        ..SimConfig::default()
    };
    let sim = start(config.clone()).await;
    post(
        &sim,
        "/api/v2/policy/urllist",
        &json!({"name": "kept", "data": {"urls": ["a.com"], "type": "exact"}}),
    )
    .await;
    post(&sim, "/api/v2/policy/urllist/deploy", &json!({})).await;
    let v1 =
        json!({"name": "h", "list": "44d88612fea8a8f36de82e1278abb02f", "token": "test-v1-token"});
    assert_eq!(
        post(&sim, "/api/v1/updateFileHashList", &v1).await.body["status"],
        "success"
    );
    sim.shutdown().await;
    assert!(path.exists());

    let again = start(config).await;
    assert_eq!(again.state().deployed_urls("kept").unwrap(), ["a.com"]);
    assert_eq!(again.state().deploy_count(), 1);
    assert_eq!(
        again.state().hash_list("h").unwrap(),
        ["44d88612fea8a8f36de82e1278abb02f"]
    );
    let next = post(
        &again,
        "/api/v2/policy/urllist",
        &json!({"name": "new", "data": {"urls": ["b.com"], "type": "exact"}}),
    )
    .await;
    assert_eq!(next.body[0]["id"], 2, "ids continue after the snapshot");
}
