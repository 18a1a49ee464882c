//! `GET /api/health`: no bearer needed; the schema and the workers' last run while the database
//! answers, 503 `down` once it does not.

use axum::http::StatusCode;
use serde_json::json;

use crate::harness::TestApp;

#[tokio::test]
async fn health_says_ok_with_the_schema_then_down_when_the_database_is_gone() {
    let app = TestApp::new().await;
    let (s, body) = app.get("", "/api/health").await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["reachable"], true);
    assert_eq!(
        body["database"]["schemaVersion"],
        body["database"]["schemaLatest"]
    );
    assert!(
        body["database"]["schemaLatest"].as_u64().unwrap() >= 8,
        "{body}"
    );
    assert_eq!(body["worker"], json!({"lastSeenAt": null}));

    // A worker's run shows as its last sighting.
    app.source("DW", json!({})).await;
    cte_core::store::Store::record_run(
        app.store(),
        "DW",
        cte_core::store::RunKind::Pull,
        &cte_core::config::RunStatus {
            last_run_at: Some(app.now()),
            last_run_success: Some(true),
            message: None,
        },
    )
    .unwrap();
    let (_, body) = app.get("", "/api/health").await;
    assert_eq!(body["worker"]["lastSeenAt"], crate::harness::fmt(app.now()));

    // The file is no database any more: reads fail, and the answer says so without the cause.
    let db = app.db_path();
    let len = std::fs::metadata(&db).unwrap().len() as usize;
    std::fs::write(&db, vec![0x5a; len]).unwrap();
    // (The -shm file is mapped into the server's memory: truncating it would crash the test.)
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    let _ = std::fs::write(std::path::PathBuf::from(wal), b"");
    // (Through the raw call: the harness refuses every other 5xx.)
    let req = axum::http::Request::get("/api/health")
        .body(axum::body::Body::empty())
        .unwrap();
    let (s, text) = app.call_text(req).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{text}");
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["status"], "down");
    assert_eq!(body["database"]["reachable"], false);
    assert!(body["database"].get("schemaVersion").is_none(), "{body}");
}

#[tokio::test]
async fn metrics_count_requests_by_route_and_status_and_indicators_by_type() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.ingest(json!([
        {"value": "a.example", "type": "domain", "source": "DW"},
        {"value": "b.example", "type": "domain", "source": "DW", "expiresAt": "2020-01-01T00:00:00Z"},
        {"value": "0123456789abcdef0123456789abcdef", "type": "md5", "source": "DW"},
    ]))
    .await;
    for _ in 0..2 {
        let (s, _) = app.get(&app.admin, "/api/cte/indicators/?limit=10").await;
        assert_eq!(s, StatusCode::OK);
    }
    let (s, _) = app.get(&app.admin, "/api/cte/indicators/?limit=1000").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let req = axum::http::Request::get("/metrics")
        .body(axum::body::Body::empty())
        .unwrap();
    let (s, text) = app.call_text(req).await;
    assert_eq!(s, StatusCode::OK, "{text}");
    for line in [
        r#"cte_http_requests_total{method="GET",route="/api/cte/indicators/",status="200"} 2"#,
        r#"cte_http_requests_total{method="GET",route="/api/cte/indicators/",status="400"} 1"#,
        r#"cte_http_requests_total{method="POST",route="/api/cte/indicators/",status="201"} 1"#,
        r#"cte_http_request_duration_seconds_count{method="GET",route="/api/cte/indicators/"} 3"#,
        r#"cte_indicators{type="domain",active="true"} 1"#,
        r#"cte_indicators{type="domain",active="false"} 1"#,
        r#"cte_indicators{type="md5",active="true"} 1"#,
    ] {
        assert!(text.lines().any(|l| l == line), "no line {line} in\n{text}");
    }
    assert!(text.ends_with("# EOF\n"), "{text}");
}
