//! Dashboards: grouping and counting (`/api/cte/dashboards/`), source records by retraction state
//! (`/api/cte/dashboard/pull`), and every 400 of their parameters.

use axum::http::StatusCode;
use cte_core::auth::Scope;
use serde_json::{json, Value};

use crate::harness::*;

const SHA: &str = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";
const MD5: &str = "0123456789abcdef0123456789abcdef";

/// Three indicators; `evil.example` comes from two sources, the others from `DW` only.
async fn seeded() -> TestApp {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.source("Other", json!({})).await;
    app.ingest(json!([
        {"value": SHA, "type": "sha256", "source": "DW", "reputation": 8},
        {"value": MD5, "type": "md5", "source": "DW", "reputation": 3},
        {"value": "evil.example", "type": "domain", "source": "Other", "reputation": 8},
        {"value": "evil.example", "type": "domain", "source": "DW", "reputation": 3}
    ]))
    .await;
    app
}

async fn dash(app: &TestApp, query: &str) -> Value {
    let (s, v) = app
        .get(&app.admin, &format!("/api/cte/dashboards/?{query}"))
        .await;
    assert_eq!(s, StatusCode::OK, "{query}: {v}");
    v
}

#[tokio::test]
async fn groups_by_indicator_fields_count_each_indicator_once() {
    let app = seeded().await;
    assert_eq!(
        dash(&app, "group_by=type").await,
        json!([
            {"_id": {"type": "domain"}, "count": 1},
            {"_id": {"type": "md5"}, "count": 1},
            {"_id": {"type": "sha256"}, "count": 1}
        ])
    );
    // No group: one group over everything, as Mongo's `$group` with `_id: {}`.
    assert_eq!(dash(&app, "").await, json!([{"_id": {}, "count": 3}]));
    // The alias without the trailing slash answers the same.
    let (s, v) = app
        .get(&app.admin, "/api/cte/dashboards?group_by=type")
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn source_groups_unwind_sources() {
    let app = seeded().await;
    // `evil.example` counts once for each of its two sources.
    assert_eq!(
        dash(&app, "group_by=sources.source").await,
        json!([
            {"_id": {"source": "DW"}, "count": 3},
            {"_id": {"source": "Other"}, "count": 1}
        ])
    );
    assert_eq!(
        dash(&app, "group_by=type&group_by=sources.source").await,
        json!([
            {"_id": {"type": "domain", "source": "DW"}, "count": 1},
            {"_id": {"type": "domain", "source": "Other"}, "count": 1},
            {"_id": {"type": "md5", "source": "DW"}, "count": 1},
            {"_id": {"type": "sha256", "source": "DW"}, "count": 1}
        ])
    );
    assert_eq!(
        dash(&app, "group_by=sources.reputation").await,
        json!([
            {"_id": {"reputation": 3}, "count": 2},
            {"_id": {"reputation": 8}, "count": 2}
        ])
    );
    // A repeated group_by is the same as one.
    assert_eq!(
        dash(&app, "group_by=sources.source&group_by=sources.source").await,
        dash(&app, "group_by=sources.source").await
    );
}

#[tokio::test]
async fn count_by_sort_limit_and_filters() {
    let app = seeded().await;
    // Grouping by value counts externalHits by default: each API post is one external hit.
    assert_eq!(
        dash(&app, "group_by=value").await,
        json!([
            {"_id": {"value": "evil.example"}, "count": 2},
            {"_id": {"value": MD5}, "count": 1},
            {"_id": {"value": SHA}, "count": 1}
        ])
    );
    assert_eq!(
        dash(&app, "group_by=type&count_by=externalHits").await,
        json!([
            {"_id": {"type": "domain"}, "count": 2},
            {"_id": {"type": "md5"}, "count": 1},
            {"_id": {"type": "sha256"}, "count": 1}
        ])
    );
    assert_eq!(
        dash(&app, "group_by=value&count_by=internalHits&limit=1").await,
        json!([{"_id": {"value": MD5}, "count": 0}])
    );
    assert_eq!(
        dash(&app, "group_by=sources.source&ascending=true").await,
        json!([
            {"_id": {"source": "Other"}, "count": 1},
            {"_id": {"source": "DW"}, "count": 3}
        ])
    );
    assert_eq!(
        dash(&app, "group_by=sources.source&limit=1").await,
        json!([{"_id": {"source": "DW"}, "count": 3}])
    );
    // The filter selects indicators before unwinding: evil.example matches through its `Other`
    // record and then counts in both of its sources' groups.
    let f = enc(&json!({"sources": {"$elemMatch": {"source": "Other"}}}).to_string());
    assert_eq!(
        dash(&app, &format!("group_by=sources.source&filters={f}")).await,
        json!([
            {"_id": {"source": "DW"}, "count": 1},
            {"_id": {"source": "Other"}, "count": 1}
        ])
    );
    let none = enc(&json!({"type": "url"}).to_string());
    assert_eq!(dash(&app, &format!("filters={none}")).await, json!([]));
    assert_eq!(
        dash(&app, &format!("group_by=type&filters={none}")).await,
        json!([])
    );
    // Dates come back in CE's format.
    let v = dash(&app, "group_by=sources.lastSeen&group_by=active").await;
    assert_eq!(v[0]["_id"]["lastSeen"], json!(fmt(app.now())), "{v}");
    assert_eq!(v[0]["_id"]["active"], json!(true));
}

#[tokio::test]
async fn every_bad_parameter_is_refused() {
    let app = seeded().await;
    let get = |q: &'static str| {
        let app = &app;
        async move {
            app.get(&app.admin, &format!("/api/cte/dashboards/?{q}"))
                .await
        }
    };
    assert_error(
        &get("group_by=sources.severity").await,
        StatusCode::BAD_REQUEST,
        "Invalid group_by 'sources.severity'. Allowed values are: value, type, sources.source, \
         sources.comments, test, active, internalHits, externalHits, sources.reputation, \
         sources.firstSeen, sources.lastSeen, expiresAt.",
    );
    assert_error(
        &get("count_by=reputation").await,
        StatusCode::BAD_REQUEST,
        "Invalid count_by 'reputation'. Allowed values are: internalHits, externalHits.",
    );
    for q in ["limit=0", "limit=10001"] {
        let got = get(q).await;
        assert_eq!(got.0, StatusCode::BAD_REQUEST, "{q}: {}", got.1);
        assert!(got.1["detail"]
            .as_str()
            .unwrap()
            .starts_with("Limit must be between 1 and 10000"));
    }
    assert_error(
        &get("filters=%7Bnot%20json").await,
        StatusCode::BAD_REQUEST,
        "Invalid JSON query provided.",
    );
    let got = get("filters=%7B%22nope%22%3A1%7D").await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    for q in ["limit=ten", "ascending=maybe"] {
        assert_eq!(get(q).await.0, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    let (s, _) = app
        .send(axum::http::Method::GET, "/api/cte/dashboards/", None, None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let admin_only = app.login_new(&[Scope::Admin]).await;
    for uri in ["/api/cte/dashboards/", "/api/cte/dashboard/pull"] {
        assert_error(
            &app.get(&admin_only, uri).await,
            StatusCode::FORBIDDEN,
            "Not enough permissions.",
        );
    }
}

#[tokio::test]
async fn pull_counts_source_records_by_retraction() {
    let app = seeded().await;
    let (s, v) = app
        .patch(
            &app.admin,
            "/api/cte/indicators/",
            json!({"value": "evil.example", "source": "Other", "retracted": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get(&app.admin, "/api/cte/dashboard/pull").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let c = |r: u64, u: u64| json!({"retractedCount": r, "unretractedCount": u, "allCount": r + u});
    assert_eq!(
        v,
        json!({
            "domain": {"DW": c(0, 1), "Other": c(1, 0)},
            "md5": {"DW": c(0, 1)},
            "sha256": {"DW": c(0, 1)}
        })
    );
    let empty = TestApp::new().await;
    assert_eq!(
        empty.get(&empty.admin, "/api/cte/dashboard/pull").await,
        (StatusCode::OK, json!({}))
    );
}
