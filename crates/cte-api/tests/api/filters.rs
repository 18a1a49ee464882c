//! The filter language over the API: list filters (JSON and UI query), bulk query locators, tag
//! `appliedOn` under a filter, and CE's 400 messages.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

const SHA: &str = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";
const MD5: &str = "0123456789abcdef0123456789abcdef";

async fn seeded() -> TestApp {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.source("Other", json!({})).await;
    for t in ["bad", "good"] {
        app.tag(t).await;
    }
    app.ingest(json!([
        {"value": SHA, "type": "sha256", "source": "DW", "severity": "high", "tags": ["bad"],
         "lastSeen": "2026-01-10T00:00:00Z", "reputation": 8},
        {"value": MD5, "type": "md5", "source": "DW", "severity": "low", "tags": ["good"],
         "lastSeen": "2026-02-10T00:00:00Z"},
        {"value": "evil.example", "type": "domain", "source": "Other", "severity": "critical",
         "lastSeen": "2026-03-10T00:00:00Z", "comments": "Phishing kit"},
        {"value": "evil.example", "type": "domain", "source": "DW", "severity": "low", "tags": ["good"],
         "lastSeen": "2026-03-11T00:00:00Z"}
    ]))
    .await;
    app
}

async fn values(app: &TestApp, query: &str) -> Vec<String> {
    let (s, v) = app
        .get(
            &app.admin,
            &format!("/api/cte/indicators/?limit=100&sort=value&{query}"),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_string())
        .collect()
}

fn filters(f: Value) -> String {
    format!("filters={}", enc(&f.to_string()))
}

#[tokio::test]
async fn list_filters_select_like_ce() {
    let app = seeded().await;
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec![MD5, SHA, "evil.example"]),
        (json!({"type": "SHA256"}), vec![SHA]),
        (
            json!({"type": {"$in": ["md5", "domain"]}}),
            vec![MD5, "evil.example"],
        ),
        (
            json!({"sources": {"$elemMatch": {"tags": {"$in": ["bad"]}}}}),
            vec![SHA],
        ),
        (
            json!({"sources": {"$elemMatch": {"severity": {"$in": ["high", "critical"]}}}}),
            vec![SHA, "evil.example"],
        ),
        (
            json!({"sources": {"$elemMatch": {"source": "other"}}}),
            vec!["evil.example"],
        ),
        (
            json!({"sources": {"$elemMatch": {"lastSeen": {"$gte": "2026-02-01", "$lt": "2026-03-01"}}}}),
            vec![MD5],
        ),
        (
            json!({"sources": {"$elemMatch": {"comments": {"$regex": "kit"}}}}),
            vec!["evil.example"],
        ),
        // One and the same source record must satisfy every condition.
        (
            json!({"sources": {"$elemMatch": {"tags": {"$in": ["good"]}, "severity": {"$in": ["critical"]}}}}),
            vec![],
        ),
        (
            json!({"$or": [{"type": "md5"}, {"sources": {"$elemMatch": {"reputation": {"$gte": 8}}}}]}),
            vec![MD5, SHA],
        ),
    ];
    for (f, want) in cases {
        assert_eq!(values(&app, &filters(f.clone())).await, want, "{f}");
    }
    let (s, v) = app
        .get(
            &app.admin,
            &format!(
                "/api/cte/indicators/?aggregate=true&{}",
                filters(json!({"type": "md5"}))
            ),
        )
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({"count": 1})));
}

#[tokio::test]
async fn the_ui_query_language_works_on_the_list() {
    let app = seeded().await;
    let q = |s: &str| format!("q={}", enc(s));
    assert_eq!(
        values(&app, &q(r#"type NOT IN ("md5", "sha256")"#)).await,
        vec!["evil.example"]
    );
    assert_eq!(
        values(&app, &q(r#"tags IN ("bad") || type = "md5""#)).await,
        vec![MD5, SHA]
    );
    // Both forms together narrow the selection.
    let both = format!(
        "{}&{}",
        q(r#"type != "domain""#),
        filters(json!({"type": "md5"}))
    );
    assert_eq!(values(&app, &both).await, vec![MD5]);
    let bad = app
        .get(
            &app.admin,
            &format!("/api/cte/indicators/?{}", q("type IN (")),
        )
        .await;
    assert_eq!(bad.0, StatusCode::BAD_REQUEST, "{}", bad.1);
}

#[tokio::test]
async fn bad_filters_are_ces_400s_and_change_nothing() {
    let app = seeded().await;
    let before = app.snapshot().await;
    let bad = app
        .get(&app.admin, "/api/cte/indicators/?filters=%7Bnot%20json")
        .await;
    assert_error(
        &bad,
        StatusCode::BAD_REQUEST,
        "Invalid JSON query provided.",
    );
    for f in [
        json!({"colour": "red"}),
        json!({"sources": {"$elemMatch": {"colour": "red"}}}),
        json!({"type": {"$gt": 3}}),
        json!({"$and": {"type": "md5"}}),
    ] {
        let (s, v) = app
            .get(
                &app.admin,
                &format!("/api/cte/indicators/?{}", filters(f.clone())),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{f}: {v}");
        assert!(
            v["detail"]
                .as_str()
                .unwrap()
                .starts_with("Invalid query provided."),
            "{f}: {v}"
        );
    }
    let del = app
        .delete(
            &app.admin,
            "/api/cte/indicators/bulk",
            json!({"query": "{\"nope\": 1}"}),
        )
        .await;
    assert_eq!(del.0, StatusCode::BAD_REQUEST, "{}", del.1);
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn bulk_edits_and_deletes_take_query_locators() {
    let app = seeded().await;
    let q = json!({"sources": {"$elemMatch": {"severity": {"$in": ["low"]}}}}).to_string();
    let (s, v) = app
        .patch(
            &app.admin,
            "/api/cte/indicators/bulk",
            json!({"locator": {"query": q}, "tags": {"add": ["bad"], "remove": []}}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"updated": 2})));
    let tagged = values(
        &app,
        &filters(json!({"sources": {"$elemMatch": {"tags": {"$in": ["bad"]}}}})),
    )
    .await;
    assert_eq!(tagged, vec![MD5, SHA, "evil.example"]);

    let (s, tags) = app
        .get(
            &app.admin,
            &format!(
                "/api/cte/tags?{}",
                filters(json!({"type": {"$in": ["md5", "sha256"]}}))
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let applied: Vec<(String, String)> = tags
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().into(),
                t["appliedOn"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        applied,
        vec![("bad".into(), "all".into()), ("good".into(), "some".into())]
    );

    let (s, v) = app
        .delete(
            &app.admin,
            "/api/cte/indicators/bulk",
            json!({"query": json!({"type": "domain"}).to_string()}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"deleted": 1})));
    assert_eq!(app.count().await, 2);
}
