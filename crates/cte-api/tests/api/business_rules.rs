//! Business rules and sharing configurations: `GET/POST /api/cte/business_rules`,
//! `PATCH/DELETE /api/cte/business_rule`, and their effect on tag and configuration deletion.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use cte_core::config::{Configuration, IntervalUnit, PluginKind, RunStatus};
use cte_core::reconcile::TagStrategy;
use cte_core::store::Store;
use cte_core::tenant_config::{NetskopeTenant, Token};
use serde_json::{json, Value};

use crate::harness::{assert_error, fmt, TestApp, RO, RW};

const RULES: &str = "/api/cte/business_rules";
const RULE: &str = "/api/cte/business_rule";

/// The seed's rule, byte for byte as the README's curl sends it.
const EVERY_SEVERITY: &str = r#"{"name": "Every Severity", "filters": {"query": "", "mongo": "{\"sources\": {\"$elemMatch\": {\"severity\": {\"$in\": [\"unknown\",\"low\",\"medium\",\"high\",\"critical\"]}}}}"}}"#;

/// Tenant `t1` (with a V1 token) and `t2` (without), Netskope configurations `NS`, `NS2` on t1
/// and `NS-v2only` on t2, all written straight to the store (the API would check them against a
/// live tenant), plus the API Source `DW`.
async fn world() -> TestApp {
    let app = TestApp::new().await;
    for (name, v1) in [("t1", true), ("t2", false)] {
        app.store()
            .insert_tenant(&NetskopeTenant {
                name: name.into(),
                tenant_name: format!("{name}.goskope.com"),
                v1_token: v1.then(|| Token::new("v1-secret")),
                v2_token: Token::new("v2-secret"),
                initial_range_days: 7,
                use_system_proxy: false,
                created_at: app.now(),
            })
            .unwrap();
    }
    for (name, tenant) in [("NS", "t1"), ("NS2", "t1"), ("NS-v2only", "t2")] {
        app.store()
            .insert_configuration(&Configuration {
                name: name.into(),
                plugin: PluginKind::Netskope,
                active: true,
                tenant: Some(tenant.into()),
                ssl_validation: true,
                poll_interval: 10,
                poll_interval_unit: IntervalUnit::Minutes,
                reputation: 0,
                age_after_days: 90,
                parameters: json!({}),
                tags_aggregate_strategy: TagStrategy::Append,
                created_at: app.now(),
                pull: RunStatus::default(),
                share: RunStatus::default(),
            })
            .unwrap();
    }
    app.source("DW", json!({})).await;
    app
}

fn url_target(list: &str) -> Value {
    json!({"label": "Add to URL List", "value": "url", "parameters": {
        "list": "create", "name": list, "url_list_type": "Exact",
        "max_url_list_cap": 7, "default_url": "cedefaultpush.io"}})
}

async fn rules(app: &TestApp) -> Value {
    let (s, v) = app.get(&app.admin, RULES).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn create(app: &TestApp, body: Value) -> Value {
    let (s, v) = app.post(&app.admin, RULES, body).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

#[tokio::test]
async fn every_severity_as_the_readme_sends_it() {
    let app = world().await;
    let (s, v) = app
        .send_raw(
            Method::POST,
            RULES,
            &app.admin,
            "application/json",
            EVERY_SEVERITY,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let want = json!({
        "name": "Every Severity",
        "filters": {"query": "", "mongo": "{\"sources\": {\"$elemMatch\": {\"severity\": {\"$in\": [\"unknown\",\"low\",\"medium\",\"high\",\"critical\"]}}}}"},
        "exceptions": [], "muted": false, "unmuteAt": null, "sharedWith": {}});
    assert_eq!(v, want);
    let ro = app.login_new(RO).await;
    let (s, listed) = app.get(&ro, RULES).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(listed, json!([want]));

    // The README's sharing configuration.
    let (s, v) = app
        .patch(
            &app.admin,
            RULE,
            json!({"name": "Every Severity",
            "sharedWith": {"DW": {"NS": [url_target("ce-iocs")]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["sharedWith"],
        json!({"DW": {"NS": [url_target("ce-iocs")]}})
    );
    assert_eq!(
        v["filters"], want["filters"],
        "PATCH keeps what it does not name"
    );
    assert_eq!(rules(&app).await, json!([v]));
}

#[tokio::test]
async fn scopes_and_authentication() {
    let app = world().await;
    let ro = app.login_new(RO).await;
    let body = json!({"name": "r"});
    assert_eq!(
        app.send(Method::GET, RULES, None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    for (method, uri) in [
        (Method::POST, RULES),
        (Method::PATCH, RULE),
        (Method::DELETE, RULE),
    ] {
        let got = app.send(method, uri, Some(&ro), Some(&body)).await;
        assert_error(&got, StatusCode::FORBIDDEN, "Not enough permissions.");
    }
    let rw = app.login_new(RW).await;
    assert_eq!(app.post(&rw, RULES, body).await.0, StatusCode::OK);
}

#[tokio::test]
async fn create_refusals() {
    let app = world().await;
    app.tag("allow").await;
    create(&app, json!({"name": "r"})).await;
    let before = rules(&app).await;
    let cases = [
        (
            json!({"name": "r"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Business rule with name 'r' already exists.",
        ),
        (
            json!({"name": " r "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Business rule with name 'r' already exists.",
        ),
        (
            json!({"name": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Business rule name must not be empty.",
        ),
        (
            json!({"name": "m", "muted": true, "unmuteAt": fmt(app.now() + Duration::days(1))}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "A business rule cannot be created muted.",
        ),
        (
            json!({"name": "f", "filters": {"query": "", "mongo": "{oops"}}),
            StatusCode::BAD_REQUEST,
            "Invalid JSON query provided.",
        ),
        (
            json!({"name": "f", "filters": {"query": "", "mongo": 3}}),
            StatusCode::BAD_REQUEST,
            "Invalid query provided. filters.mongo must be a JSON string or object.",
        ),
        (
            json!({"name": "e", "exceptions": [{"name": "x", "tags": ["allow"], "filters": {"query": "", "mongo": "{}"}}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Exception 'x' must have exactly one of filters and tags.",
        ),
        (
            json!({"name": "e", "exceptions": [{"name": "x"}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Exception 'x' must have exactly one of filters and tags.",
        ),
        (
            json!({"name": "e", "exceptions": [{"name": "x", "tags": ["nope", "allow"]}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Tag(s) 'nope' do not exist.",
        ),
        (
            json!({"name": "e", "exceptions": [{"name": "x", "tags": []}]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "Exception 'x' must name at least one tag.",
        ),
        (
            json!({"name": "e", "exceptions": "no"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "",
        ),
    ];
    for (body, status, detail) in cases {
        let got = app.post(&app.admin, RULES, body.clone()).await;
        if detail.is_empty() {
            assert_eq!(got.0, status, "{body}: {}", got.1);
        } else {
            assert_error(&got, status, detail);
        }
    }
    // A UI query error carries the position.
    let (s, v) = app
        .post(
            &app.admin,
            RULES,
            json!({"name": "q", "filters": {"query": "colour = red"}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["detail"]
            .as_str()
            .unwrap()
            .starts_with("Invalid query provided."),
        "{v}"
    );
    assert_eq!(rules(&app).await, before, "nothing stored");

    // Problems are reported together.
    let (s, v) = app
        .post(
            &app.admin,
            RULES,
            json!({"name": "many", "exceptions": [{"name": "a"}, {"name": "b", "tags": ["nope"]}]}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["detail"],
        "Exception 'a' must have exactly one of filters and tags. Tag(s) 'nope' do not exist."
    );
}

#[tokio::test]
async fn filters_take_query_mongo_objects_and_exceptions() {
    let app = world().await;
    app.tag("allow").await;
    let v = create(
        &app,
        json!({"name": "r",
        "filters": {"query": "type = url", "mongo": {"value": {"$regex": "evil"}}},
        "exceptions": [{"name": "allow", "tags": [" allow "]},
                       {"name": "low", "filters": {"query": "severity = low"}}]}),
    )
    .await;
    assert_eq!(
        v["filters"],
        json!({"query": "type = url", "mongo": "{\"value\":{\"$regex\":\"evil\"}}"})
    );
    assert_eq!(
        v["exceptions"],
        json!([
        {"name": "allow", "filters": null, "tags": ["allow"]},
        {"name": "low", "filters": {"query": "severity = low", "mongo": "{}"}, "tags": null}])
    );
}

#[tokio::test]
async fn muting_and_unmuting() {
    let app = world().await;
    create(&app, json!({"name": "r"})).await;
    let later = fmt(app.now() + Duration::hours(2));
    let past = fmt(app.now() - Duration::hours(2));
    let u = StatusCode::UNPROCESSABLE_ENTITY;
    assert_error(
        &app.patch(&app.admin, RULE, json!({"name": "r", "muted": true}))
            .await,
        u,
        "unmuteAt is required when muting a business rule.",
    );
    assert_error(
        &app.patch(
            &app.admin,
            RULE,
            json!({"name": "r", "muted": true, "unmuteAt": past}),
        )
        .await,
        u,
        "unmuteAt must be in the future when muting a business rule.",
    );
    assert_error(
        &app.patch(
            &app.admin,
            RULE,
            json!({"name": "r", "muted": true, "unmuteAt": app.now().to_rfc3339()}),
        )
        .await,
        u,
        "unmuteAt must be in the future when muting a business rule.",
    );
    assert_error(
        &app.patch(
            &app.admin,
            RULE,
            json!({"name": "r", "muted": true, "unmuteAt": "tomorrow"}),
        )
        .await,
        u,
        "unmuteAt 'tomorrow' is not an ISO 8601 datetime.",
    );
    assert_error(
        &app.patch(&app.admin, RULE, json!({"name": "r", "unmuteAt": later}))
            .await,
        u,
        "unmuteAt applies only to a muted business rule; send \"muted\": true with it.",
    );

    let (s, v) = app
        .patch(
            &app.admin,
            RULE,
            json!({"name": "r", "muted": true, "unmuteAt": later}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        (v["muted"].clone(), v["unmuteAt"].clone()),
        (json!(true), json!(later))
    );
    // Other edits keep the mute; a new time moves it.
    let (_, v) = app
        .patch(
            &app.admin,
            RULE,
            json!({"name": "r", "filters": {"query": "type = url"}}),
        )
        .await;
    assert_eq!(v["unmuteAt"], json!(later));
    let later2 = fmt(app.now() + Duration::hours(3));
    let (_, v) = app
        .patch(&app.admin, RULE, json!({"name": "r", "unmuteAt": later2}))
        .await;
    assert_eq!(v["unmuteAt"], json!(later2));
    let (s, v) = app
        .patch(&app.admin, RULE, json!({"name": "r", "muted": false}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (v["muted"].clone(), v["unmuteAt"].clone()),
        (json!(false), Value::Null)
    );
}

#[tokio::test]
async fn update_and_delete_refusals() {
    let app = world().await;
    assert_error(
        &app.patch(&app.admin, RULE, json!({"name": "ghost"})).await,
        StatusCode::NOT_FOUND,
        "Business rule with name 'ghost' does not exist.",
    );
    assert_error(
        &app.delete(&app.admin, RULE, json!({"name": "ghost"})).await,
        StatusCode::NOT_FOUND,
        "Business rule with name 'ghost' does not exist.",
    );
    assert_eq!(
        app.patch(&app.admin, RULE, json!({})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.delete(&app.admin, RULE, json!({})).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    create(&app, json!({"name": "r"})).await;
    assert_error(
        &app.patch(
            &app.admin,
            RULE,
            json!({"name": "r", "filters": {"mongo": "[]"}}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "Invalid query provided. the query must be a JSON object.",
    );
    let (s, v) = app.delete(&app.admin, RULE, json!({"name": "r"})).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"success": true})));
    assert_eq!(rules(&app).await, json!([]));
    assert_eq!(
        app.send(Method::PUT, RULE, Some(&app.admin), None).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[tokio::test]
async fn sharing_configuration_refusals() {
    let app = world().await;
    create(&app, json!({"name": "r"})).await;
    let before = rules(&app).await;
    let with = |params: Value| json!({"DW": {"NS": [{"label": "Add to URL List", "value": "url", "parameters": params}]}});
    let file = |dest: &str, params: Value| json!({"DW": {dest: [{"label": "Add to File Hash List", "value": "file", "parameters": params}]}});
    let cases = [
        (json!({"nope": {"NS": []}}), "Source configuration 'nope' does not exist."),
        (json!({"DW": {"nope": []}}), "Destination configuration 'nope' does not exist."),
        (json!({"NS": {"DW": [url_target("x")]}}),
            "The API Source plugin can only be a source; it cannot be a destination. ('DW')"),
        (with(json!({"list": "x", "max_url_list_cap": 8})),
            "DW → NS: Add to URL List: 'max_url_list_cap' must be a whole number of MB between 1 and 7; the maximum size of the list is 7MB."),
        (with(json!({"list": "x", "url_list_type": "Wildcard"})),
            "DW → NS: Add to URL List: invalid 'url_list_type' 'Wildcard'; allowed values are 'Exact' and 'Regex'."),
        (with(json!({"list": "create"})), "DW → NS: Add to URL List: 'name' is required when 'list' is 'create'."),
        (with(json!({"list": "bad/name"})),
            "DW → NS: Add to URL List: the URL list name \"bad/name\" contains characters the tenant refuses: /."),
        (json!({"DW": {"NS": [{"label": "x", "value": "private_app", "parameters": {}}]}}),
            "DW → NS: Unknown target 'private_app' for a Netskope destination; supported targets are 'url' (Add to URL List) and 'file' (Add to File Hash List)."),
        (file("NS", json!({"file_list": "h", "max_file_hash_cap": 9})),
            "DW → NS: Add to File Hash List: 'max_file_hash_cap' must be a whole number of MB between 1 and 8; the maximum size of the list is 8MB."),
        (file("NS", json!({})),
            "DW → NS: Add to File Hash List: 'file_list' (the name of an existing file hash list) is required."),
        (file("NS-v2only", json!({"file_list": "h"})),
            "DW → NS-v2only: Add to File Hash List needs the V1 API token of tenant 't2'; add it in the tenant settings."),
        (json!({"DW": {"NS": [url_target("a")], "NS2": [url_target("A")]}}),
            "The same URL List, File Hash List or Private App List is already configured for this tenant (URL List 'A' in business rule 'r')."),
    ];
    for (shared, detail) in cases {
        let got = app
            .patch(&app.admin, RULE, json!({"name": "r", "sharedWith": shared}))
            .await;
        assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, detail);
        let got = app
            .post(
                &app.admin,
                RULES,
                json!({"name": "new", "sharedWith": shared}),
            )
            .await;
        assert_eq!(got.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.1);
    }
    assert_eq!(rules(&app).await, before, "nothing stored");

    // Defaults are filled in; the file target works on a tenant with a V1 token.
    let (s, v) = app
        .patch(
            &app.admin,
            RULE,
            json!({"name": "r", "sharedWith": {"DW": {"NS": [
        {"value": "url", "parameters": {"list": "Block"}},
        {"value": "file", "parameters": {"file_list": "hashes"}}]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["sharedWith"]["DW"]["NS"],
        json!([
        {"label": "Add to URL List", "value": "url", "parameters": {"list": "Block", "name": "",
            "url_list_type": "Exact", "max_url_list_cap": 7, "default_url": "cedefaultpush.io"}},
        {"label": "Add to File Hash List", "value": "file", "parameters": {"file_list": "hashes",
            "max_file_hash_cap": 8, "default_file_hash": "f".repeat(64)}}])
    );
}

#[tokio::test]
async fn the_same_list_of_one_tenant_is_refused_across_rules() {
    let app = world().await;
    create(
        &app,
        json!({"name": "first", "sharedWith": {"DW": {"NS": [url_target("ce-iocs")]}}}),
    )
    .await;
    let detail = "The same URL List, File Hash List or Private App List is already configured for this tenant (URL List 'ce-iocs' in business rule 'first').";
    // Another rule, another destination on the same tenant, another source: all refused.
    for shared in [
        json!({"DW": {"NS": [url_target("ce-iocs")]}}),
        json!({"NS": {"NS2": [url_target("CE-IOCS")]}}),
    ] {
        let got = app
            .post(
                &app.admin,
                RULES,
                json!({"name": "second", "sharedWith": shared}),
            )
            .await;
        assert_eq!(got.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", got.1);
        assert!(
            got.1["detail"]
                .as_str()
                .unwrap()
                .contains("in business rule 'first'"),
            "{}",
            got.1
        );
    }
    let got = app
        .post(
            &app.admin,
            RULES,
            json!({"name": "second", "sharedWith": {"DW": {"NS2": [url_target("ce-iocs")]}}}),
        )
        .await;
    assert_error(&got, StatusCode::UNPROCESSABLE_ENTITY, detail);
    // Another tenant's list of the same name is another list; re-saving the first rule is fine.
    create(
        &app,
        json!({"name": "second", "sharedWith": {"DW": {"NS-v2only": [url_target("ce-iocs")]}}}),
    )
    .await;
    let (s, v) = app
        .patch(
            &app.admin,
            RULE,
            json!({"name": "first", "sharedWith": {"DW": {"NS": [url_target("ce-iocs")]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

#[tokio::test]
async fn a_tag_used_by_a_rule_cannot_be_deleted() {
    let app = world().await;
    for t in ["in-filter", "in-exception", "in-exception-filter", "free"] {
        app.tag(t).await;
    }
    create(&app, json!({"name": "r",
        "filters": {"query": "", "mongo": "{\"sources\": {\"$elemMatch\": {\"tags\": {\"$in\": [\"in-filter\"]}}}}"},
        "exceptions": [{"name": "a", "tags": ["in-exception"]},
                       {"name": "b", "filters": {"query": "tags = in-exception-filter"}}]}))
    .await;
    for t in ["in-filter", "in-exception", "in-exception-filter"] {
        let got = app
            .delete(&app.admin, "/api/cte/tags", json!({"name": t}))
            .await;
        assert_error(
            &got,
            StatusCode::BAD_REQUEST,
            &format!("{t} is in use by one of the CTE business rules."),
        );
    }
    assert_eq!(
        app.delete(&app.admin, "/api/cte/tags", json!({"name": "free"}))
            .await
            .0,
        StatusCode::OK
    );
    app.delete(&app.admin, RULE, json!({"name": "r"})).await;
    assert_eq!(
        app.delete(&app.admin, "/api/cte/tags", json!({"name": "in-filter"}))
            .await
            .0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn deleting_a_configuration_removes_it_from_every_rule() {
    let app = world().await;
    app.source("Feed", json!({})).await;
    create(
        &app,
        json!({"name": "a", "sharedWith": {
        "DW": {"NS": [url_target("a")], "NS2": [url_target("b")]},
        "Feed": {"NS": [url_target("c")]}}}),
    )
    .await;
    create(
        &app,
        json!({"name": "b", "sharedWith": {"NS2": {"NS": [url_target("d")]}}}),
    )
    .await;
    let (s, v) = app
        .delete(
            &app.admin,
            "/api/cte/configuration",
            json!({"name": "NS2", "keepData": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let all = rules(&app).await;
    assert_eq!(
        all[0]["sharedWith"],
        json!({"DW": {"NS": [url_target("a")]}, "Feed": {"NS": [url_target("c")]}})
    );
    assert_eq!(all[1]["sharedWith"], json!({}));
    app.delete(
        &app.admin,
        "/api/cte/configuration",
        json!({"name": "Feed", "keepData": false}),
    )
    .await;
    assert_eq!(
        rules(&app).await[0]["sharedWith"],
        json!({"DW": {"NS": [url_target("a")]}})
    );
    // The freed list can be configured again elsewhere.
    let (s, v) = app
        .patch(
            &app.admin,
            RULE,
            json!({"name": "b", "sharedWith": {"DW": {"NS": [url_target("c")]}}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}
