//! `/api/cte/indicators/` and `/api/cte/indicators/bulk`, starting with the seed's three examples.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use serde_json::{json, Value};

use crate::harness::*;

const IND: &str = "/api/cte/indicators/";
const BULK: &str = "/api/cte/indicators/bulk";
const SEED_TIME: &str = "2022-05-19T04:49:34.033Z";
const SHA: &str = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";

fn seed_post() -> Value {
    json!({
        "value": "www.dubya.com",
        "type": "url",
        "test": false,
        "safe": false,
        "active": true,
        "source": "DW",
        "expiresAt": SEED_TIME,
        "firstSeen": SEED_TIME,
        "lastSeen": SEED_TIME,
        "tags": ["test_tag", "test_tag2"],
        "reputation": 5,
        "severity": "critical",
        "comments": "sample comment",
        "extendedInformation": ""
    })
}

/// The stored shape of the seed's POST; `value` is whatever canonical form the URL took. The seed's
/// `expiresAt` (2022) has passed, so the indicator is stored inactive.
fn seed_stored(value: &Value, reputation: u8, ext: &str, hits: u64) -> Value {
    json!({
        "value": value,
        "type": "url",
        "test": false,
        "safe": false,
        "active": false,
        "internalHits": 0,
        "externalHits": hits,
        "expiresAt": SEED_TIME,
        "source": "DW",
        "sharedWith": [],
        "tags": ["test_tag", "test_tag2"],
        "firstSeen": SEED_TIME,
        "lastSeen": SEED_TIME,
        "reputation": reputation,
        "severity": "critical",
        "comments": "sample comment",
        "extendedInformation": ext,
        "sources": [{
            "internalHits": 0,
            "externalHits": hits,
            "source": "DW",
            "tags": ["test_tag", "test_tag2"],
            "firstSeen": SEED_TIME,
            "lastSeen": SEED_TIME,
            "reputation": reputation,
            "severity": "critical",
            "destinations": [],
            "comments": "sample comment",
            "extendedInformation": ext,
            "retracted": false,
            "retractionDestinations": []
        }]
    })
}

async fn seed_setup(app: &TestApp) {
    app.source("DW", json!({})).await;
    app.tag("test_tag").await;
    app.tag("test_tag2").await;
}

#[tokio::test]
async fn seed_example_post_url_with_tags() {
    let app = TestApp::new().await;
    seed_setup(&app).await;
    let writer = app.login_new(RW).await;
    let (s, body) = app.post(&writer, IND, json!([seed_post()])).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let value = body[0]["value"].clone();
    assert!(
        value
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("www.dubya.com"),
        "{value}"
    );
    let want = seed_stored(&value, 5, "", 1);
    assert_eq!(body, json!([want]));
    assert_eq!(app.indicators().await, json!([want]));
}

#[tokio::test]
async fn seed_example_patch_reputation_5_to_7() {
    let app = TestApp::new().await;
    seed_setup(&app).await;
    let value = app.ingest(json!([seed_post()])).await[0]["value"].clone();
    let mut patch = seed_post();
    patch["reputation"] = json!(7);
    patch["tags"] = json!([]);
    patch["extendedInformation"] = json!("HTTP://123.com");
    let (s, body) = app.patch(&app.admin, IND, patch).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // The edit replaces the fields it carries; `tags: []` keeps the tags (the source's strategy is
    // `append`, as in CE); an edit is not a sighting, so no hit is counted (CE counts one).
    let want = seed_stored(&value, 7, "HTTP://123.com", 1);
    assert_eq!(body, want);
    assert_eq!(app.indicators().await, json!([want]));
}

#[tokio::test]
async fn seed_example_bulk_remove_tag() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.tag("abc").await;
    app.tag("keep").await;
    app.ingest(json!([
        {"value": SHA, "type": "sha256", "source": "DW", "tags": ["abc", "keep"]},
        {"value": "0".repeat(64), "type": "sha256", "source": "DW", "tags": ["abc"]},
    ]))
    .await;
    let (s, body) = app
        .patch(
            &app.admin,
            BULK,
            json!({ "locator": { "values": [SHA] }, "tags": { "add": [], "remove": ["abc"] } }),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body, json!({"updated": 1}));
    let ind = app.indicator(SHA).await.unwrap();
    assert_eq!(ind["tags"], json!(["keep"]));
    assert_eq!(ind["sources"][0]["tags"], json!(["keep"]));
    let other = app.indicator(&"0".repeat(64)).await.unwrap();
    assert_eq!(other["tags"], json!(["abc"]));
}

#[tokio::test]
async fn post_is_all_or_nothing_and_lists_every_bad_element() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.tag("known").await;
    app.ingest(json!([{"value": "9.9.9.9", "type": "ipv4", "source": "DW"}]))
        .await;
    let before = app.snapshot().await;
    assert_eq!(app.count().await, 1);
    let (s, body) = app
        .post(
            &app.admin,
            IND,
            json!([
                {"value": "1.1.1.1", "type": "ipv4", "source": "DW", "tags": ["known"]},
                {"value": "not-an-ip", "type": "ipv4", "source": "DW"},
                {"value": "2.2.2.2", "type": "ipv4", "source": "DW"},
                {"value": "3.3.3.3", "type": "ipv4", "source": "Nope"},
                {"value": "4.4.4.4", "type": "ipv4", "source": "DW", "tags": ["known", "unknown_tag"]},
                {"value": "5.5.5.5", "type": "email", "source": "DW"},
                {"value": "6.6.6.6", "type": "ipv4", "source": "DW", "reputation": 11},
                "just a string",
                {"value": "9.9.9.9", "type": "ipv4", "source": "DW", "reputation": 7},
            ]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(detail.contains("nothing was stored"), "{detail}");
    let errors = body["errors"].as_array().unwrap();
    let indices: Vec<u64> = errors
        .iter()
        .map(|e| e["index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, [1, 3, 4, 5, 6, 7]);
    let by_index = |i: u64| errors.iter().find(|e| e["index"] == i).unwrap();
    assert_eq!(by_index(1)["value"], "not-an-ip");
    assert!(by_index(3)["reason"]
        .as_str()
        .unwrap()
        .contains("Configuration with name='Nope' does not exist."));
    assert_eq!(by_index(4)["value"], "4.4.4.4");
    assert!(by_index(4)["reason"]
        .as_str()
        .unwrap()
        .contains("'unknown_tag'"));
    assert!(!by_index(4)["reason"].as_str().unwrap().contains("'known'"));
    assert!(by_index(5)["reason"].as_str().unwrap().contains("email"));
    assert!(by_index(6)["reason"].as_str().unwrap().contains("11"));
    for e in errors {
        assert!(e["reason"].as_str().is_some_and(|r| !r.is_empty()), "{e}");
    }
    assert_eq!(app.count().await, 1);
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn post_refuses_each_kind_of_bad_element() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.tag("t").await;
    let before = app.snapshot().await;
    let ok = json!({"value": "1.2.3.4", "type": "ipv4", "source": "DW"});
    let with = |k: &str, v: Value| {
        let mut e = ok.clone();
        e[k] = v;
        e
    };
    let without = |k: &str| {
        let mut e = ok.clone();
        e.as_object_mut().unwrap().remove(k);
        e
    };
    let cases = [
        ("unknown tag", with("tags", json!(["nope"])), Some("'nope'")),
        (
            "unknown source",
            with("source", json!("Nope")),
            Some("Nope"),
        ),
        ("bad type", with("type", json!("email")), None),
        ("bad severity", with("severity", json!("severe")), None),
        ("reputation 0", with("reputation", json!(0)), None),
        ("reputation 11", with("reputation", json!(11)), None),
        ("reputation text", with("reputation", json!("high")), None),
        (
            "bad firstSeen",
            with("firstSeen", json!("yesterday")),
            Some("yesterday"),
        ),
        ("bad lastSeen", with("lastSeen", json!("2022-13-01")), None),
        ("bad expiresAt", with("expiresAt", json!(12345)), None),
        (
            "bad extendedInformation",
            with("extendedInformation", json!("ftp://x")),
            None,
        ),
        ("bad ipv4", with("value", json!("1.2.3")), None),
        (
            "bad sha256",
            json!({"value": "abc", "type": "sha256", "source": "DW"}),
            None,
        ),
        (
            "bad md5",
            json!({"value": "g".repeat(32), "type": "md5", "source": "DW"}),
            None,
        ),
        (
            "bad ipv6",
            json!({"value": "1.2.3.4", "type": "ipv6", "source": "DW"}),
            None,
        ),
        ("empty value", with("value", json!("  ")), None),
        ("no value", without("value"), None),
        ("no type", without("type"), None),
        ("no source", without("source"), None),
        ("tags not a list", with("tags", json!("t")), None),
        ("not an object", json!(42), None),
    ];
    for (what, element, needle) in cases {
        let (s, body) = app
            .post(&app.admin, IND, json!([ok.clone(), element]))
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{what}: {body}");
        let errors = body["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1, "{what}: {body}");
        assert_eq!(errors[0]["index"], 1, "{what}: {body}");
        if let Some(n) = needle {
            assert!(
                body["detail"].as_str().unwrap().contains(n),
                "{what}: {body}"
            );
            assert!(
                errors[0]["reason"].as_str().unwrap().contains(n),
                "{what}: {body}"
            );
        }
    }
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn post_refuses_bodies_that_are_not_arrays() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    let before = app.snapshot().await;
    for body in [
        json!({"value": "1.2.3.4", "type": "ipv4", "source": "DW"}),
        json!({"data": [], "source": "DW"}),
        json!("x"),
        json!(null),
    ] {
        let (s, v) = app.post(&app.admin, IND, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let (s, v) = app
        .send_raw(
            Method::POST,
            IND,
            &app.admin,
            "application/json",
            "[{\"value\": ",
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["detail"].is_string(), "{v}");
    let (s, v) = app
        .send_raw(Method::POST, IND, &app.admin, "text/plain", "[]")
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app.send(Method::POST, IND, Some(&app.admin), None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert_unchanged(&before, &app.snapshot().await);

    let (s, v) = app.post(&app.admin, IND, json!([])).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v, json!([]));
}

#[tokio::test]
async fn reconciliation_follows_last_seen() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    let post = |rep: u8, last: &str| {
        json!([{"value": "1.2.3.4", "type": "ipv4", "source": "DW",
                "reputation": rep, "severity": "low",
                "firstSeen": last, "lastSeen": last}])
    };
    app.ingest(post(5, "2022-05-10T00:00:00Z")).await;
    // Later lastSeen: replaces.
    let got = app.ingest(post(8, "2022-05-12T00:00:00Z")).await;
    assert_eq!(got[0]["reputation"], 8);
    // Earlier lastSeen: does not replace, but widens the seen window.
    let got = app.ingest(post(2, "2022-05-01T00:00:00Z")).await;
    let ind = &got[0];
    assert_eq!(ind["reputation"], 8);
    assert_eq!(ind["firstSeen"], "2022-05-01T00:00:00.000Z");
    assert_eq!(ind["lastSeen"], "2022-05-12T00:00:00.000Z");
    assert_eq!(ind["externalHits"], 3);
    assert_eq!(ind["sources"].as_array().unwrap().len(), 1);
    assert_eq!(app.indicator("1.2.3.4").await.unwrap(), *ind);
    assert_eq!(app.count().await, 1);
}

#[tokio::test]
async fn expiry_defaults_to_now_plus_age_after_days() {
    let mut app = TestApp::new().await;
    app.source("Aged", json!({"ageAfterDays": 30})).await;
    app.source("Never", json!({"ageAfterDays": 0})).await;
    app.advance(Duration::hours(5));
    app.relogin_admin().await;
    let now = app.now();
    let got = app
        .ingest(json!([
            {"value": "1.1.1.1", "type": "ipv4", "source": "Aged"},
            {"value": "2.2.2.2", "type": "ipv4", "source": "Never"},
            {"value": "3.3.3.3", "type": "ipv4", "source": "Aged", "expiresAt": "2030-01-01T00:00:00Z"},
        ]))
        .await;
    assert_eq!(got[0]["expiresAt"], json!(fmt(now + Duration::days(30))));
    assert_eq!(got[1]["expiresAt"], Value::Null);
    assert_eq!(got[2]["expiresAt"], "2030-01-01T00:00:00.000Z");
    // Defaults for the rest of a bare report.
    assert_eq!(got[0]["firstSeen"], json!(fmt(now)));
    assert_eq!(got[0]["lastSeen"], json!(fmt(now)));
    assert_eq!(got[0]["reputation"], 5);
    assert_eq!(got[0]["severity"], "unknown");
    assert_eq!(got[0]["active"], true);
    assert_eq!(got[0]["test"], false);
}

#[tokio::test]
async fn configuration_reputation_overrides_the_reported_one() {
    let app = TestApp::new().await;
    app.source("Override", json!({"reputation": 9})).await;
    app.source("Keep", json!({"reputation": 0})).await;
    let got = app
        .ingest(json!([
            {"value": "1.1.1.1", "type": "ipv4", "source": "Override", "reputation": 3},
            {"value": "2.2.2.2", "type": "ipv4", "source": "Keep", "reputation": 3},
        ]))
        .await;
    assert_eq!(got[0]["reputation"], 9);
    assert_eq!(got[0]["sources"][0]["reputation"], 9);
    assert_eq!(got[1]["reputation"], 3);
}

#[tokio::test]
async fn two_spellings_of_one_ioc_are_one_row() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.source("B", json!({})).await;
    let upper = SHA.to_uppercase();
    let md5 = "D41D8CD98F00B204E9800998ECF8427E";
    let got = app
        .ingest(json!([
            {"value": upper, "type": "sha256", "source": "A"},
            {"value": SHA, "type": "sha256", "source": "B"},
            {"value": md5, "type": "md5", "source": "A"},
            {"value": "Example.COM.", "type": "domain", "source": "A"},
        ]))
        .await;
    assert_eq!(got.as_array().unwrap().len(), 3, "{got}");
    app.ingest(json!([
        {"value": md5.to_lowercase(), "type": "md5", "source": "A"},
        {"value": "example.com", "type": "domain", "source": "B"},
    ]))
    .await;
    assert_eq!(app.count().await, 3);
    let sha = app.indicator(SHA).await.expect("stored lower-case");
    assert_eq!(sha["externalHits"], 2);
    assert_eq!(sha["sources"].as_array().unwrap().len(), 2);
    let md = app.indicator(&md5.to_lowercase()).await.expect("md5");
    assert_eq!(md["externalHits"], 2);
    assert_eq!(md["sources"].as_array().unwrap().len(), 1);
    let dom = app.indicator("example.com").await.expect("domain");
    assert_eq!(dom["sources"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn patch_edits_an_existing_indicator_through_any_spelling() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.ingest(json!([{"value": SHA, "type": "sha256", "source": "DW", "severity": "low"}]))
        .await;
    let (s, body) = app
        .patch(
            &app.admin,
            "/api/cte/indicators",
            json!({"value": SHA.to_uppercase(), "type": "sha256", "source": "DW", "severity": "high", "comments": "edited"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["value"], SHA);
    assert_eq!(body["severity"], "high");
    assert_eq!(body["comments"], "edited");
    assert_eq!(app.count().await, 1);
}

#[tokio::test]
async fn patch_refuses_unknown_values_sources_and_bad_bodies() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    app.ingest(json!([{"value": "1.2.3.4", "type": "ipv4", "source": "DW"}]))
        .await;
    let before = app.snapshot().await;
    let unknown = app
        .patch(
            &app.admin,
            IND,
            json!({"value": "9.9.9.9", "type": "ipv4", "source": "DW", "reputation": 7}),
        )
        .await;
    assert_error(
        &unknown,
        StatusCode::NOT_FOUND,
        "Indicator with value='9.9.9.9' does not exist.",
    );
    let no_source = app
        .patch(
            &app.admin,
            IND,
            json!({"value": "1.2.3.4", "type": "ipv4", "source": "Nope", "reputation": 7}),
        )
        .await;
    assert_error(
        &no_source,
        StatusCode::BAD_REQUEST,
        "Configuration with name='Nope' does not exist.",
    );
    for body in [
        json!({"value": "1.2.3.4", "type": "ipv4", "source": "DW", "tags": ["nope"]}),
        json!({"value": "1.2.3.4", "type": "ipv4", "source": "DW", "reputation": 0}),
        json!({"value": "1.2.3.4", "type": "ipv4"}),
        json!({"value": "1.2.3", "type": "ipv4", "source": "DW"}),
        json!({"value": "1.2.3.4", "source": "DW", "retracted": "yes"}),
        json!({"value": "1.2.3.4", "retracted": true}),
        json!([{"value": "1.2.3.4", "type": "ipv4", "source": "DW"}]),
    ] {
        let (s, v) = app.patch(&app.admin, IND, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    let unknown_tag = app
        .patch(
            &app.admin,
            IND,
            json!({"value": "1.2.3.4", "type": "ipv4", "source": "DW", "tags": ["nope"]}),
        )
        .await;
    assert!(
        unknown_tag.1.to_string().contains("'nope'"),
        "{}",
        unknown_tag.1
    );
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn retraction_sets_and_clears_the_source_flag() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.source("B", json!({})).await;
    app.ingest(json!([
        {"value": SHA, "type": "sha256", "source": "A"},
        {"value": SHA, "type": "sha256", "source": "B"},
    ]))
    .await;
    let (s, v) = app
        .patch(
            &app.admin,
            IND,
            json!({"value": SHA.to_uppercase(), "source": "B", "retracted": true}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v, json!(true));
    let ind = app.indicator(SHA).await.unwrap();
    assert_eq!(ind["sources"][0]["retracted"], false);
    assert_eq!(ind["sources"][1]["retracted"], true);

    let (s, v) = app
        .patch(
            &app.admin,
            IND,
            json!({"value": SHA, "source": "B", "retracted": false}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!(true)));
    let ind = app.indicator(SHA).await.unwrap();
    assert_eq!(ind["sources"][1]["retracted"], false);

    let before = app.snapshot().await;
    for body in [
        json!({"value": "0".repeat(64), "source": "A", "retracted": true}),
        json!({"value": SHA, "source": "Nope", "retracted": true}),
    ] {
        let (s, v) = app.patch(&app.admin, IND, body.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}: {v}");
    }
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn bulk_tag_edit_by_values_with_and_without_source() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.source("B", json!({})).await;
    for t in ["t", "new"] {
        app.tag(t).await;
    }
    app.ingest(json!([
        {"value": SHA, "type": "sha256", "source": "A", "tags": ["t"]},
        {"value": SHA, "type": "sha256", "source": "B", "tags": ["t"]},
        {"value": "1.1.1.1", "type": "ipv4", "source": "A", "tags": ["t"]},
    ]))
    .await;

    // With a source: only that source's record.
    let (s, v) = app
        .patch(
            &app.admin,
            BULK,
            json!({"locator": {"values": [SHA.to_uppercase()], "source": "A"}, "tags": {"remove": ["t"], "add": ["new"]}}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"updated": 1})));
    let ind = app.indicator(SHA).await.unwrap();
    assert_eq!(ind["sources"][0]["tags"], json!(["new"]));
    assert_eq!(ind["sources"][1]["tags"], json!(["t"]));

    // Without: every source's record, every listed value.
    let (s, v) = app
        .patch(
            &app.admin,
            BULK,
            json!({"locator": {"values": [SHA, "1.1.1.1", "8.8.8.8"]}, "tags": {"remove": ["t"]}}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"updated": 2})));
    let ind = app.indicator(SHA).await.unwrap();
    assert_eq!(ind["sources"][0]["tags"], json!(["new"]));
    assert_eq!(ind["sources"][1]["tags"], json!([]));
    assert_eq!(app.indicator("1.1.1.1").await.unwrap()["tags"], json!([]));

    let (s, v) = app
        .patch(
            &app.admin,
            BULK,
            json!({"locator": {"values": ["8.8.8.8"]}, "tags": {"add": ["new"]}}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"updated": 0})));
}

#[tokio::test]
async fn bulk_tag_edit_refuses_unknown_tags_and_bad_bodies() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.tag("t").await;
    app.ingest(json!([{"value": "1.1.1.1", "type": "ipv4", "source": "A", "tags": ["t"]}]))
        .await;
    let before = app.snapshot().await;
    let unknown = app
        .patch(
            &app.admin,
            BULK,
            json!({"locator": {"values": ["1.1.1.1"]}, "tags": {"add": ["nope"], "remove": ["t"]}}),
        )
        .await;
    assert_eq!(unknown.0, StatusCode::UNPROCESSABLE_ENTITY, "{}", unknown.1);
    assert!(unknown.1["detail"].as_str().unwrap().contains("'nope'"));
    for body in [
        json!({"locator": {}, "tags": {"remove": ["t"]}}),
        json!({"locator": {"values": ["1.1.1.1"], "query": "{}"}, "tags": {"remove": ["t"]}}),
        json!({"locator": {"values": "1.1.1.1"}, "tags": {"remove": ["t"]}}),
        json!({"locator": {"values": ["1.1.1.1"]}, "tags": {"rename": ["t"]}}),
        json!({"locator": {"values": ["1.1.1.1"]}, "comments": "x"}),
        json!([]),
    ] {
        let (s, v) = app.patch(&app.admin, BULK, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn bulk_delete_by_values() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.ingest(json!([
        {"value": SHA, "type": "sha256", "source": "A"},
        {"value": "1.1.1.1", "type": "ipv4", "source": "A"},
        {"value": "2.2.2.2", "type": "ipv4", "source": "A"},
    ]))
    .await;
    let before = app.snapshot().await;
    for body in [
        json!({}),
        json!({"values": ["1.1.1.1"], "query": "{}"}),
        json!({"values": "1.1.1.1"}),
        json!({"value": ["1.1.1.1"]}),
    ] {
        let (s, v) = app.delete(&app.admin, BULK, body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
    }
    assert_unchanged(&before, &app.snapshot().await);

    let (s, v) = app
        .delete(
            &app.admin,
            BULK,
            json!({"values": [SHA.to_uppercase(), "1.1.1.1", "7.7.7.7"], "source": "ignored"}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"deleted": 2})));
    assert_eq!(app.count().await, 1);
    assert!(app.indicator("2.2.2.2").await.is_some());
    let (s, v) = app
        .delete(&app.admin, BULK, json!({"values": ["1.1.1.1"]}))
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"deleted": 0})));
}

fn values(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn list_pages_sorts_and_counts() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    let batch: Vec<Value> = (1..=12)
        .map(|i| {
            json!({"value": format!("10.0.0.{i}"), "type": "ipv4", "source": "A",
                   "reputation": 1 + (i % 10)})
        })
        .collect();
    app.ingest(Value::Array(batch)).await;
    let reader = app.login_new(RO).await;

    // Default limit 10, storage order.
    let (s, page) = app.get(&reader, IND).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.as_array().unwrap().len(), 10);
    assert_eq!(page[0]["value"], "10.0.0.1");

    let (_, page) = app
        .get(
            &reader,
            &format!("{IND}?sort=value&ascending=true&skip=1&limit=2"),
        )
        .await;
    assert_eq!(values(&page), ["10.0.0.10", "10.0.0.11"]);
    let (_, page) = app
        .get(
            &reader,
            &format!("{IND}?sort=value&ascending=false&limit=3"),
        )
        .await;
    assert_eq!(values(&page), ["10.0.0.9", "10.0.0.8", "10.0.0.7"]);
    let (_, page) = app
        .get(
            &reader,
            &format!("{IND}?sort=sources.reputation&ascending=false&limit=2"),
        )
        .await;
    assert_eq!(page[0]["reputation"], 10);
    let (_, page) = app.get(&reader, &format!("{IND}?skip=10&limit=100")).await;
    assert_eq!(page.as_array().unwrap().len(), 2);
    let (_, page) = app.get(&reader, &format!("{IND}?skip=50")).await;
    assert_eq!(page, json!([]));
    // An unknown sort key is ignored, as CE does.
    let (s, page) = app
        .get(&reader, &format!("{IND}?sort=nope&limit=100"))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(page.as_array().unwrap().len(), 12);

    let (s, v) = app.get(&reader, &format!("{IND}?aggregate=true")).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"count": 12})));
    let (s, v) = app.get(&reader, "/api/cte/indicators?aggregate=true").await;
    assert_eq!((s, v), (StatusCode::OK, json!({"count": 12})));
    let (s, v) = app.get(&reader, "/api/cte/indicators?limit=100").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v.as_array().unwrap().len(), 12);

    assert_error(
        &app.get(&reader, &format!("{IND}?limit=101")).await,
        StatusCode::BAD_REQUEST,
        "Limit cannot be greater than 100. Provided limit: 101.",
    );
    // Wrongly typed query parameters: 422, as FastAPI answers.
    for q in ["limit=x", "skip=-1", "ascending=maybe", "aggregate=2"] {
        let (s, v) = app.get(&reader, &format!("{IND}?{q}")).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {v}");
    }
    let (s, v) = app
        .get(
            &reader,
            &format!("{IND}?skip=18446744073709551615&limit=100"),
        )
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!([])));
}

#[tokio::test]
async fn both_spellings_of_the_indicators_route_work() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    let (s, v) = app
        .post(
            &app.admin,
            "/api/cte/indicators",
            json!([{"value": "1.1.1.1", "type": "ipv4", "source": "A"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            &app.admin,
            "/api/cte/indicators/",
            json!([{"value": "2.2.2.2", "type": "ipv4", "source": "A"}]),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (_, a) = app.get(&app.admin, "/api/cte/indicators").await;
    let (_, b) = app.get(&app.admin, "/api/cte/indicators/").await;
    assert_eq!(a, b);
    assert_eq!(values(&a), ["1.1.1.1", "2.2.2.2"]);
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let app = TestApp::new().await;
    for uri in [
        "/api/nope",
        "/api/cte/indicators/x/y",
        "/",
        "/api/cte/tags/",
    ] {
        let got = app.get(&app.admin, uri).await;
        assert_error(&got, StatusCode::NOT_FOUND, "Not Found");
        let anon = app.send(Method::GET, uri, None, None).await;
        assert_eq!(anon.0, StatusCode::NOT_FOUND, "{uri}");
    }
    let (s, _) = app
        .send(Method::PUT, IND, Some(&app.admin), Some(&json!([])))
        .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn garbage_bodies_never_cause_5xx_or_changes() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.tag("t").await;
    app.ingest(json!([{"value": "1.1.1.1", "type": "ipv4", "source": "A", "tags": ["t"]}]))
        .await;
    let before = app.snapshot().await;
    let mut deep = json!(1);
    for _ in 0..100 {
        deep = json!([deep]);
    }
    let bodies = [
        json!(null),
        json!(0),
        json!(-1),
        json!("x"),
        json!([]),
        json!({}),
        json!([null]),
        json!([{}]),
        json!({"name": null, "values": null, "value": null, "locator": null}),
        json!({"name": "\u{0}", "client_id": "\u{0}", "value": "\u{0}"}),
        json!({"name": "x".repeat(100_000)}),
        json!([{"value": "x".repeat(100_000), "type": "url", "source": "A", "tags": ["nope"]}]),
        json!({"locator": {"query": "not json"}, "tags": {"add": ["t"]}}),
        json!({"query": "{\"value\": 1}"}),
        json!({"values": [1, 2]}),
        deep,
    ];
    let routes = [
        (Method::POST, "/api/cte/indicators/"),
        (Method::PATCH, "/api/cte/indicators/"),
        (Method::PATCH, "/api/cte/indicators/bulk"),
        (Method::DELETE, "/api/cte/indicators/bulk"),
        (Method::POST, "/api/cte/tags"),
        (Method::DELETE, "/api/cte/tags"),
        (Method::POST, "/api/cte/plugins/configurations/api_sources"),
        (Method::PATCH, "/api/cte/plugins/configurations"),
        (Method::DELETE, "/api/cte/configuration"),
        (Method::DELETE, "/api/users/tokens"),
    ];
    for (method, uri) in routes {
        for body in &bodies {
            // The helper panics on any 5xx and on any 4xx without a detail.
            let (s, v) = app
                .send(method.clone(), uri, Some(&app.admin), Some(body))
                .await;
            assert!(
                s.is_success() || s.is_client_error(),
                "{method} {uri}: {s} {v}"
            );
        }
    }
    for q in [
        "limit=-1",
        "limit=0",
        "skip=99999999999999999999999",
        "sort=value&ascending=",
        "filters=%7B",
        "filters=%5B%5D",
    ] {
        let (s, v) = app.get(&app.admin, &format!("{IND}?{q}")).await;
        assert!(s.is_success() || s.is_client_error(), "{q}: {s} {v}");
    }
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn locators_find_an_ioc_by_any_spelling_ingest_accepts() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.tag("t").await;
    // Posted with a trailing dot and capitals: stored as one canonical domain.
    app.ingest(json!([
        {"value": "Evil.Example.COM.", "type": "domain", "source": "A"},
        {"value": SHA.to_uppercase(), "type": "sha256", "source": "A"},
    ]))
    .await;
    assert_eq!(app.count().await, 2);

    // The same spelling finds it again in a bulk edit, a retraction and a bulk delete.
    let (s, v) = app
        .patch(
            &app.admin,
            BULK,
            json!({"locator": {"values": ["Evil.Example.COM."]}, "tags": {"add": ["t"]}}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"updated": 1})));
    let (s, v) = app
        .patch(
            &app.admin,
            IND,
            json!({"value": "evil.example.com.", "source": "A", "retracted": true}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!(true)));
    let stored = app.indicators().await;
    let dom = stored
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["type"] == "domain")
        .unwrap();
    assert_eq!(dom["tags"], json!(["t"]));
    assert_eq!(dom["sources"][0]["retracted"], true);

    let (s, v) = app
        .delete(
            &app.admin,
            BULK,
            json!({"values": ["EVIL.example.com.", SHA.to_uppercase()]}),
        )
        .await;
    assert_eq!((s, v), (StatusCode::CREATED, json!({"deleted": 2})));
    assert_eq!(app.count().await, 0);
}

#[tokio::test]
async fn one_value_cannot_be_two_kinds() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.ingest(json!([{"value": "1.1.1.1", "type": "ipv4", "source": "A"}]))
        .await;
    let before = app.snapshot().await;
    let (s, v) = app
        .post(
            &app.admin,
            IND,
            json!([
                {"value": "2.2.2.2", "type": "ipv4", "source": "A"},
                {"value": "1.1.1.1", "type": "domain", "source": "A"},
            ]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["detail"].as_str().unwrap().contains("1.1.1.1"), "{v}");
    assert_unchanged(&before, &app.snapshot().await);
}

#[tokio::test]
async fn a_patched_configuration_governs_the_next_reports() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    let (s, _) = app
        .patch(
            &app.admin,
            "/api/cte/plugins/configurations",
            json!({"name": "A", "reputation": 2, "ageAfterDays": 1}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let got = app
        .ingest(json!([{"value": "1.1.1.1", "type": "ipv4", "source": "A", "reputation": 9}]))
        .await;
    assert_eq!(got[0]["reputation"], 2);
    assert_eq!(got[0]["expiresAt"], json!(fmt(t0() + Duration::days(1))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writes_and_reads_all_succeed() {
    let app = TestApp::new().await;
    app.source("A", json!({})).await;
    app.tag("t").await;
    let writes = (0..16).map(|i| {
        app.post(
            &app.admin,
            IND,
            json!([
                {"value": format!("10.1.0.{i}"), "type": "ipv4", "source": "A", "tags": ["t"]},
                {"value": SHA, "type": "sha256", "source": "A"},
            ]),
        )
    });
    let list = format!("{IND}?limit=100");
    let reads = (0..16).map(|_| app.get(&app.admin, &list));
    let (w, r) = tokio::join!(
        futures_join_all(writes.collect()),
        futures_join_all(reads.collect())
    );
    for (s, v) in w {
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    for (s, v) in r {
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    assert_eq!(app.count().await, 17);
    assert_eq!(app.indicator(SHA).await.unwrap()["externalHits"], 16);
}

/// Runs the futures concurrently on this task (no extra dependency for `join_all`).
async fn futures_join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    let mut futs: Vec<_> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = futs.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, slot) in futs.iter_mut().zip(out.iter_mut()) {
            if slot.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().map(Option::unwrap).collect()
}

#[tokio::test]
async fn a_body_or_batch_over_the_limits_is_413_and_stores_nothing() {
    let app = TestApp::with_limits(cte_api::Limits {
        max_body_bytes: 4096,
        max_batch: 3,
        ..cte_api::Limits::default()
    })
    .await;
    app.source("DW", json!({})).await;
    let four: Vec<Value> = (0..4)
        .map(|i| json!({"value": format!("h{i}.example"), "type": "domain", "source": "DW"}))
        .collect();
    let (s, body) = app.post(&app.admin, IND, json!(four)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(
        body["detail"],
        "At most 3 indicators per request; this one has 4. Split it."
    );
    let big: Vec<Value> = (0..3)
        .map(|i| {
            json!({"value": format!("h{i}.example"), "type": "domain", "source": "DW",
                        "comments": "x".repeat(2000)})
        })
        .collect();
    let (s, body) = app.post(&app.admin, IND, json!(big)).await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert!(
        body["detail"].as_str().unwrap().contains("too large"),
        "{body}"
    );
    assert_eq!(app.indicators().await, json!([]));
    // Within both limits it goes through.
    let (s, body) = app.post(&app.admin, IND, json!(&four[..3])).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    // Other routes keep the 2 MiB default, with the same answer.
    let (s, body) = app
        .post(
            &app.admin,
            "/api/cte/tags",
            json!({"name": "x".repeat(3 << 20), "color": "#000000"}),
        )
        .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
}

#[tokio::test]
async fn errors_repeat_at_most_200_characters_of_huge_input() {
    let app = TestApp::new().await;
    app.source("DW", json!({})).await;
    let huge = "x".repeat(1 << 20);
    // A bad value, an unknown source and an unknown tag in a POST; a huge string where a number
    // belongs (serde's message quotes it); an unknown value to explain.
    let (s, body) = app
        .post(
            &app.admin,
            IND,
            json!([
                {"value": format!("{huge}.example"), "type": "domain", "source": "DW"},
                {"value": "a.example", "type": "domain", "source": huge.clone()},
                {"value": "a.example", "type": "domain", "source": "DW", "tags": [huge.clone()]}
            ]),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.to_string().len() < 4_000,
        "{} bytes",
        body.to_string().len()
    );
    let (s, body) = app
        .patch(
            &app.admin,
            IND,
            json!({"value": "a.example", "type": "domain", "source": "DW", "reputation": huge.clone()}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body.to_string().len() < 1_000,
        "{} bytes",
        body.to_string().len()
    );
    let (s, body) = app
        .get(
            &app.admin,
            &format!("/api/cte/indicators/explain?value={}", &huge[..30_000]),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(
        body.to_string().len() < 1_000,
        "{} bytes",
        body.to_string().len()
    );
}
