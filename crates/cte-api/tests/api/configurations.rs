//! Plugin configurations: create, list, update, delete.

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

use crate::harness::*;

const CREATE: &str = "/api/cte/plugins/configurations/api_sources";
const LIST: &str = "/api/cte/plugins/configurations";

fn defaults(name: &str) -> Value {
    json!({
        "name": name,
        "plugin": "api_sources",
        "active": true,
        "tenant": null,
        "sslValidation": true,
        "pollInterval": 60,
        "pollIntervalUnit": "seconds",
        "reputation": 0,
        "ageAfterDays": 90,
        "parameters": {},
        "tagsAggregateStrategy": "append",
        "createdAt": fmt(t0()),
        "lastRunAt": {"pull": null, "share": null},
        "lastRunSuccess": {"pull": null, "share": null},
        "lastRunMessage": {"pull": null, "share": null},
    })
}

#[tokio::test]
async fn create_with_defaults_then_list() {
    let app = TestApp::new().await;
    let (s, body) = app.post(&app.admin, CREATE, json!({"name": "DW"})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body, defaults("DW"));
    let (s, list) = app.get(&app.admin, LIST).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list, json!([defaults("DW")]));
}

#[tokio::test]
async fn create_with_every_field() {
    let app = TestApp::new().await;
    let (s, body) = app
        .post(
            &app.admin,
            CREATE,
            json!({
                "name": "My Feed_1-2",
                "active": false,
                "sslValidation": false,
                "useSystemProxy": true,
                "pollInterval": 5,
                "pollIntervalUnit": "minutes",
                "reputation": 10,
                "ageAfterDays": 365,
                "parameters": {"k": "v"},
                "tagsAggregateStrategy": "overwrite",
                "filters": [],
                "plugin": "whatever",
            }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let mut want = defaults("My Feed_1-2");
    for (k, v) in [
        ("active", json!(false)),
        ("sslValidation", json!(false)),
        ("pollInterval", json!(5)),
        ("pollIntervalUnit", json!("minutes")),
        ("reputation", json!(10)),
        ("ageAfterDays", json!(365)),
        ("parameters", json!({"k": "v"})),
        ("tagsAggregateStrategy", json!("overwrite")),
    ] {
        want[k] = v;
    }
    assert_eq!(body, want);
}

#[tokio::test]
async fn create_refuses_bad_fields_and_stores_nothing() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    let before = app.snapshot().await;
    let long = "a".repeat(256);
    let cases = [
        json!({"name": ""}),
        json!({"name": " "}),
        json!({"name": "-x"}),
        json!({"name": "x-"}),
        json!({"name": "a!b"}),
        json!({"name": "a/b"}),
        json!({"name": long}),
        json!({"name": "R", "reputation": -1}),
        json!({"name": "R", "reputation": 11}),
        json!({"name": "R", "ageAfterDays": -1}),
        json!({"name": "R", "ageAfterDays": 366}),
        json!({"name": "R", "pollInterval": 5}),
        json!({"name": "R", "pollInterval": 5, "pollIntervalUnit": "minutes", "tenant": "t"}),
        json!({"name": "R", "pollInterval": 366, "pollIntervalUnit": "days"}),
        json!({"name": "R", "pollIntervalUnit": "weeks"}),
        json!({"name": "R", "parameters": [1]}),
        json!({"name": "R", "tagsAggregateStrategy": "merge"}),
        json!({"name": "R", "bogus": 1}),
        json!({"reputation": 1}),
        json!([]),
        json!({"name": "DW"}),
    ];
    for body in cases {
        let (s, v) = app.post(&app.admin, CREATE, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let dup = app.post(&app.admin, CREATE, json!({"name": "DW"})).await;
    assert!(
        dup.1["detail"].as_str().unwrap().contains("DW"),
        "{}",
        dup.1
    );
    let malformed = app
        .send_raw(
            Method::POST,
            CREATE,
            &app.admin,
            "application/json",
            "{\"name\": ",
        )
        .await;
    assert_eq!(
        malformed.0,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        malformed.1
    );
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn name_and_range_limits_are_inclusive() {
    let app = TestApp::new().await;
    let long = "b".repeat(255);
    for body in [
        json!({"name": long}),
        json!({"name": "A", "reputation": 0, "ageAfterDays": 0}),
        json!({"name": "B", "reputation": 10, "ageAfterDays": 365}),
        json!({"name": "C", "pollInterval": 10}),
        json!({"name": "D", "pollInterval": 365, "pollIntervalUnit": "days"}),
    ] {
        let (s, v) = app.post(&app.admin, CREATE, body.clone()).await;
        assert_eq!(s, StatusCode::CREATED, "{body}: {v}");
    }
}

#[tokio::test]
async fn unknown_plugin_is_404() {
    let app = TestApp::new().await;
    let (s, v) = app
        .post(
            &app.admin,
            "/api/cte/plugins/configurations/nope",
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    // The Netskope plugin exists but needs a tenant.
    let (s, v) = app
        .post(
            &app.admin,
            "/api/cte/plugins/configurations/netskope",
            json!({"name": "X"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_eq!(app.get(&app.admin, LIST).await.1, json!([]));
}

#[tokio::test]
async fn list_filters_by_active_and_hides_parameters_from_readers() {
    let app = TestApp::new().await;
    app.source("On", json!({"parameters": {"secret": "s"}}))
        .await;
    app.source("Off", json!({"active": false})).await;
    let names = |v: &Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let (_, all) = app.get(&app.admin, LIST).await;
    assert_eq!(names(&all), ["Off", "On"]);
    let (_, on) = app.get(&app.admin, &format!("{LIST}?active=true")).await;
    assert_eq!(names(&on), ["On"]);
    assert_eq!(on[0]["parameters"], json!({"secret": "s"}));
    let (_, off) = app.get(&app.admin, &format!("{LIST}?active=false")).await;
    assert_eq!(names(&off), ["Off"]);

    let reader = app.login_new(RO).await;
    let (s, seen) = app.get(&reader, &format!("{LIST}?active=true")).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(seen[0]["parameters"], json!({}));

    let (s, v) = app.get(&app.admin, &format!("{LIST}?active=maybe")).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
}

#[tokio::test]
async fn patch_changes_fields() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    let (s, body) = app
        .patch(
            &app.admin,
            LIST,
            json!({"name": "DW", "reputation": 7, "ageAfterDays": 30, "active": false, "parameters": {"a": 1}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let mut want = defaults("DW");
    want["reputation"] = json!(7);
    want["ageAfterDays"] = json!(30);
    want["active"] = json!(false);
    want["parameters"] = json!({"a": 1});
    assert_eq!(body, want);
    assert_eq!(app.get(&app.admin, LIST).await.1, json!([want]));
}

#[tokio::test]
async fn patch_refuses_unknown_names_and_bad_values() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    let before = app.snapshot().await;
    let unknown = app
        .patch(&app.admin, LIST, json!({"name": "Nope", "reputation": 3}))
        .await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND, "{}", unknown.1);
    for body in [
        json!({"name": "DW", "reputation": 11}),
        json!({"name": "DW", "ageAfterDays": 400}),
        json!({"name": "DW", "pollInterval": 1}),
        json!({"name": "DW", "what": 1}),
        json!({"reputation": 3}),
    ] {
        let (s, v) = app.patch(&app.admin, LIST, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_unchanged(&before, &app.snapshot().await);
}

async fn two_sources_with_data(app: &TestApp) {
    app.source("A", json!({})).await;
    app.source("B", json!({})).await;
    app.ingest(json!([
        {"value": "1.1.1.1", "type": "ipv4", "source": "A"},
        {"value": "2.2.2.2", "type": "ipv4", "source": "A"},
        {"value": "2.2.2.2", "type": "ipv4", "source": "B"},
    ]))
    .await;
}

fn sources_of(ind: &Value) -> Vec<String> {
    ind["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn delete_without_keeping_data_removes_the_source_and_orphans() {
    let app = TestApp::new().await;
    two_sources_with_data(&app).await;
    let (s, v) = app
        .delete(
            &app.admin,
            "/api/cte/configuration",
            json!({"name": "A", "keepData": false}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(app.count().await, 1);
    assert!(app.indicator("1.1.1.1").await.is_none());
    let kept = app.indicator("2.2.2.2").await.unwrap();
    assert_eq!(sources_of(&kept), ["B"]);
    assert_eq!(kept["source"], "B");
    let (_, list) = app.get(&app.admin, LIST).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    // The name is free again.
    app.source("A", json!({})).await;
}

#[tokio::test]
async fn delete_keeping_data_leaves_indicators_alone() {
    let app = TestApp::new().await;
    two_sources_with_data(&app).await;
    let before = app.indicators().await;
    let (s, v) = app
        .delete(
            &app.admin,
            "/api/cte/configuration",
            json!({"name": "A", "keepData": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(app.indicators().await, before);
    assert_eq!(
        sources_of(&app.indicator("2.2.2.2").await.unwrap()),
        ["A", "B"]
    );
    // keepData defaults to true.
    let (s, _) = app
        .delete(&app.admin, "/api/cte/configuration", json!({"name": "B"}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.indicators().await, before);
    assert_eq!(app.get(&app.admin, LIST).await.1, json!([]));
}

#[tokio::test]
async fn delete_refuses_unknown_names_and_bad_bodies() {
    let app = TestApp::new().await;
    two_sources_with_data(&app).await;
    let before = app.snapshot().await;
    let unknown = app
        .delete(
            &app.admin,
            "/api/cte/configuration",
            json!({"name": "Nope", "keepData": false}),
        )
        .await;
    assert_eq!(unknown.0, StatusCode::NOT_FOUND, "{}", unknown.1);
    for body in [
        json!({}),
        json!({"name": "A", "keepData": "no"}),
        json!("A"),
    ] {
        let (s, v) = app
            .delete(&app.admin, "/api/cte/configuration", body.clone())
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_unchanged(&before, &app.snapshot().await);
}
