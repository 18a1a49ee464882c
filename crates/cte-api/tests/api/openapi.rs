//! The OpenAPI document covers the whole route table, and the explorer page is self-contained.

use std::collections::HashSet;

use axum::http::{header, StatusCode};
use serde_json::Value;

use crate::harness::*;

async fn document(app: &TestApp) -> Value {
    let (s, headers, body) = app.get_raw(None, "/api/openapi.json").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test]
async fn every_route_is_documented_and_nothing_else() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let routes = cte_api::routes();
    let mut served = HashSet::new();
    for (method, path) in &routes {
        let op = &doc["paths"][path][method.to_lowercase()];
        assert!(
            op.is_object(),
            "{method} {path} is not in the OpenAPI document"
        );
        assert!(
            op["responses"]["200"].is_object() || op["responses"]["201"].is_object(),
            "{method} {path} has no success response"
        );
        if op.get("security").is_some() {
            assert!(
                op["responses"]["401"].is_object(),
                "{method} {path} does not document 401"
            );
            assert!(
                op["responses"]["403"].is_object(),
                "{method} {path} does not document 403"
            );
        }
        served.insert((method.to_lowercase(), path.clone()));
    }
    let mut ids = HashSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            assert!(
                served.contains(&(method.clone(), path.clone())),
                "{method} {path} is documented but not served"
            );
            let id = op["operationId"].as_str().unwrap().to_string();
            assert!(ids.insert(id.clone()), "operationId {id} repeats");
        }
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn parameters_and_bodies_come_from_the_handlers() {
    let app = TestApp::new().await;
    let doc = document(&app).await;
    let names = |path: &str| -> Vec<String> {
        doc["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect()
    };
    let list = names("/api/cte/indicators/");
    for p in [
        "skip",
        "limit",
        "sort",
        "ascending",
        "aggregate",
        "filters",
        "q",
        "cursor",
    ] {
        assert!(list.contains(&p.to_string()), "list lacks {p}: {list:?}");
    }
    let dash = names("/api/cte/dashboards/");
    for p in ["limit", "count_by", "group_by", "ascending", "filters"] {
        assert!(
            dash.contains(&p.to_string()),
            "dashboards lack {p}: {dash:?}"
        );
    }
    let list_get = &doc["paths"]["/api/cte/indicators/"]["get"];
    assert!(list_get["responses"]["200"]["headers"]["x-next-cursor"].is_object());
    let post = &doc["paths"]["/api/cte/indicators/"]["post"];
    assert!(post["requestBody"]["content"]["application/json"].is_object());
    let auth = &doc["paths"]["/api/auth"]["post"];
    assert!(auth["requestBody"]["content"]["application/x-www-form-urlencoded"].is_object());
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in [
        "IndicatorIn",
        "IndicatorOut",
        "ErrorBody",
        "DashboardGroup",
        "BulkEdit",
        "ConfigurationIn",
    ] {
        assert!(schemas.contains_key(s), "schema {s} missing");
    }
}

#[tokio::test]
async fn the_explorer_is_self_contained_html() {
    let app = TestApp::new().await;
    let (s, headers, body) = app.get_raw(None, "/api/docs").await;
    assert_eq!(s, StatusCode::OK);
    assert!(headers[header::CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = String::from_utf8(body).unwrap();
    assert!(html.contains("/api/openapi.json"));
    assert!(html.contains("Authorization"));
    let lower = html.to_lowercase();
    for external in ["http://", "https://", "//cdn", "src=\"//"] {
        assert!(
            !lower.contains(external),
            "the page references an external host ({external})"
        );
    }
}
