//! `/api/cte/tags`: list with `appliedOn`, create, delete.

use axum::http::StatusCode;
use serde_json::{json, Value};

use crate::harness::*;

#[tokio::test]
async fn create_and_list_tags() {
    let app = TestApp::new().await;
    let (s, v) = app
        .post(
            &app.admin,
            "/api/cte/tags",
            json!({"name": "red", "color": "#ff0000"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({}));
    let (s, v) = app
        .post(&app.admin, "/api/cte/tags", json!({"name": "  plain  "}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, list) = app.get(&app.admin, "/api/cte/tags").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        list,
        json!([
            {"name": "plain", "color": "#969696", "appliedOn": "none"},
            {"name": "red", "color": "#ff0000", "appliedOn": "none"},
        ])
    );
}

#[tokio::test]
async fn create_refuses_duplicates_and_bad_names() {
    let app = TestApp::new().await;
    app.tag("x").await;
    let before = app.snapshot().await;
    let dup = app
        .post(&app.admin, "/api/cte/tags", json!({"name": "x"}))
        .await;
    assert_error(
        &dup,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Tag with name 'x' already exists.",
    );
    let dup_spaced = app
        .post(&app.admin, "/api/cte/tags", json!({"name": " x "}))
        .await;
    assert_error(
        &dup_spaced,
        StatusCode::UNPROCESSABLE_ENTITY,
        "Tag with name 'x' already exists.",
    );
    for body in [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": "t".repeat(501)}),
        json!({"color": "#000000"}),
        json!({"name": 5}),
        json!(["x"]),
    ] {
        let (s, v) = app.post(&app.admin, "/api/cte/tags", body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_unchanged(&before, &app.snapshot().await);
}

fn applied(list: &Value) -> Vec<(String, String)> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["appliedOn"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn applied_on_is_none_some_or_all() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    for t in ["everywhere", "somewhere", "nowhere"] {
        app.tag(t).await;
    }
    app.ingest(json!([
        {"value": "1.1.1.1", "type": "ipv4", "source": "DW", "tags": ["everywhere", "somewhere"]},
        {"value": "2.2.2.2", "type": "ipv4", "source": "DW", "tags": ["everywhere"]},
    ]))
    .await;
    let (s, list) = app.get(&app.admin, "/api/cte/tags").await;
    assert_eq!(s, StatusCode::OK);
    let want = [
        ("everywhere", "all"),
        ("nowhere", "none"),
        ("somewhere", "some"),
    ]
    .map(|(a, b)| (a.to_string(), b.to_string()));
    assert_eq!(applied(&list), want);
    // `filters={}` selects everything: same answer; and a reader may list.
    let reader = app.login_new(RO).await;
    let (s, list) = app
        .get(&reader, &format!("/api/cte/tags?filters={}", enc("{}")))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(applied(&list), want);
}

#[tokio::test]
async fn delete_tag_removes_it_from_indicators() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.source("B", json!({})).await;
    app.tag("gone").await;
    app.tag("stays").await;
    app.ingest(json!([
        {"value": "1.1.1.1", "type": "ipv4", "source": "A", "tags": ["gone", "stays"]},
        {"value": "1.1.1.1", "type": "ipv4", "source": "B", "tags": ["gone"]},
    ]))
    .await;
    let (s, v) = app
        .delete(&app.admin, "/api/cte/tags", json!({"name": "gone"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!({}));
    let ind = app.indicator("1.1.1.1").await.unwrap();
    assert_eq!(ind["tags"], json!(["stays"]));
    assert_eq!(ind["sources"][0]["tags"], json!(["stays"]));
    assert_eq!(ind["sources"][1]["tags"], json!([]));
    let (_, list) = app.get(&app.admin, "/api/cte/tags").await;
    assert_eq!(applied(&list), [("stays".to_string(), "all".to_string())]);

    // Once deleted, the tag is unknown to ingest.
    let (s, _) = app
        .post(
            &app.admin,
            "/api/cte/indicators/",
            json!([{"value": "2.2.2.2", "type": "ipv4", "source": "A", "tags": ["gone"]}]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn delete_refuses_unknown_tags_and_bad_bodies() {
    let app = TestApp::new().await;
    app.tag("t").await;
    let before = app.snapshot().await;
    let unknown = app
        .delete(&app.admin, "/api/cte/tags", json!({"name": "nope"}))
        .await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND, "{}", unknown.1);
    let (s, v) = app.delete(&app.admin, "/api/cte/tags", json!({})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_unchanged(&before, &app.snapshot().await);
}
