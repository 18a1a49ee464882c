//! URL lists: record shape, validation, rejected entries, PATCH actions, pending vs deployed, deletes, size limit.

use netskope_sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{get, post, send, start, start_default, TOKEN};

const BASE: &str = "/api/v2/policy/urllist";

fn exact(name: &str, urls: &[&str]) -> Value {
    json!({"name": name, "data": {"urls": urls, "type": "exact"}})
}

async fn create(sim: &netskope_sim::SimHandle, name: &str, urls: &[&str]) -> u64 {
    let answer = post(sim, BASE, &exact(name, urls)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body[0]["id"].as_u64().expect("id")
}

#[tokio::test]
async fn create_answers_201_with_an_array_holding_the_pending_record() {
    let sim = start_default().await;
    let answer = post(
        &sim,
        BASE,
        &exact("ce-iocs", &["bad.example.com", "evil.example.org"]),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let record = &answer.body[0];
    assert_eq!(answer.body.as_array().unwrap().len(), 1);
    assert_eq!(record["name"], "ce-iocs");
    assert_eq!(
        record["data"],
        json!({"urls": ["bad.example.com", "evil.example.org"], "type": "exact", "json_version": 2})
    );
    assert_eq!(record["pending"], 1);
    assert_eq!(record["modify_type"], "Created");
    assert_eq!(record["modify_by"], "Netskope API");
    let time = record["modify_time"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok() && time.ends_with(".000Z"),
        "{time}"
    );

    let id = record["id"].as_u64().unwrap();
    let one = get(&sim, &format!("{BASE}/{id}")).await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(&one.body, record, "GET returns the bare record");
    let all = get(&sim, &format!("{BASE}?limit=1&offset=5")).await;
    assert_eq!(
        all.body,
        json!([record]),
        "bare array, limit/offset ignored"
    );
}

#[tokio::test]
async fn list_honours_field_and_pending() {
    let sim = start_default().await;
    let a = create(&sim, "a", &["a.example.com"]).await;
    post(&sim, &format!("{BASE}/deploy"), &json!({})).await;
    let b = create(&sim, "b", &["b.example.com"]).await;

    let fields = get(&sim, &format!("{BASE}?field=id,name")).await;
    assert_eq!(
        fields.body,
        json!([{"id": a, "name": "a"}, {"id": b, "name": "b"}])
    );
    let with_data = get(&sim, &format!("{BASE}?field=id,name,data")).await;
    assert_eq!(with_data.body[1]["data"]["urls"], json!(["b.example.com"]));
    assert!(with_data.body[1].get("pending").is_none());

    let pending = get(&sim, &format!("{BASE}?pending=1&field=name")).await;
    assert_eq!(pending.body, json!([{"name": "b"}]));
    let applied = get(&sim, &format!("{BASE}?pending=0&field=name")).await;
    assert_eq!(applied.body, json!([{"name": "a"}]));

    let bad = get(&sim, &format!("{BASE}?field=id,urls")).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body["message"]
        .as_str()
        .unwrap()
        .starts_with("field must be one of"));
    assert_eq!(
        get(&sim, &format!("{BASE}?pending=2")).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn create_and_put_validate_name_data_urls_and_type() {
    let sim = start_default().await;
    let cases = [
        (
            json!({"data": {"urls": ["a.com"], "type": "exact"}}),
            "name required",
        ),
        (
            json!({"name": "", "data": {"urls": ["a.com"], "type": "exact"}}),
            "name required",
        ),
        // Issue 23, item 3: the released SDK's flat body is rejected by the real tenant (reference §2.4)
        // with the message for a missing `data.urls` (§2.1), as is a null `data` (§12).
        (
            json!({"name": "x", "urls": ["a.com"], "type": "exact"}),
            "urls must be an array of URLs",
        ),
        (
            json!({"name": "x", "data": null}),
            "urls must be an array of URLs",
        ),
        (
            json!({"name": "x", "data": "a.com"}),
            "urls must be an array of URLs",
        ),
        (
            json!({"name": "x", "data": {"urls": "a.com", "type": "exact"}}),
            "urls must be an array of URLs",
        ),
        (
            json!({"name": "x", "data": {"urls": [1], "type": "exact"}}),
            "urls must be an array of URLs",
        ),
        (
            json!({"name": "x", "data": {"type": "exact"}}),
            "urls must be an array of URLs",
        ),
        (
            json!({"name": "x", "data": {"urls": ["a.com"], "type": "glob"}}),
            "data.type must be one of exact, regex",
        ),
        (
            json!({"name": "x", "data": {"urls": ["a.com"]}}),
            "data.type must be one of exact, regex",
        ),
    ];
    for (body, message) in &cases {
        let answer = post(&sim, BASE, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(answer.body["message"], *message, "{body}");
        assert_eq!(answer.body["statusCode"], 400);
        assert_eq!(answer.body["error"], "Bad Request");
    }
    for name in ["ce.iocs", "a/b", "x:y", "q?", "it's"] {
        let answer = post(&sim, BASE, &exact(name, &["a.com"])).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{name}");
        assert!(
            answer.body["message"]
                .as_str()
                .unwrap()
                .contains("must not contain"),
            "{name}"
        );
    }
    let id = create(&sim, "ok", &["a.com"]).await;
    assert_eq!(
        post(&sim, BASE, &exact("ok", &["b.com"])).await.status,
        StatusCode::BAD_REQUEST,
        "duplicate name"
    );
    // PUT is a full replace and needs the whole body (reference §2.1).
    let put = send(
        &sim,
        Method::PUT,
        &format!("{BASE}/{id}"),
        Some(TOKEN),
        Some(&json!({"name": "ok"})),
    )
    .await;
    assert_eq!(put.body["message"], "urls must be an array of URLs");
    let flat_patch = send(
        &sim,
        Method::PATCH,
        &format!("{BASE}/{id}/append"),
        Some(TOKEN),
        Some(&json!({"urls": ["b.com"], "type": "exact"})),
    )
    .await;
    assert_eq!(flat_patch.status, StatusCode::BAD_REQUEST);
    assert_eq!(flat_patch.body["message"], "urls must be an array of URLs");
    assert!(
        sim.state().url_lists().len() == 1,
        "nothing else was created"
    );
}

#[tokio::test]
async fn rejected_entries_answer_400_with_value_reason_pairs_and_change_nothing() {
    let sim = start_default().await;
    let id = create(&sim, "ce", &["good.example.com"]).await;
    let body = json!({"data": {"urls": ["ok.example.com", "bad host.com", "a..b.com", "2001:db8::1", &"x".repeat(64)], "type": "exact"}});
    let answer = send(
        &sim,
        Method::PATCH,
        &format!("{BASE}/{id}/append"),
        Some(TOKEN),
        Some(&body),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let rejected: Vec<&str> = answer.body["message"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[0].as_str().unwrap())
        .collect();
    assert_eq!(
        rejected,
        ["bad host.com", "a..b.com", "2001:db8::1", &"x".repeat(64)]
    );
    assert!(answer.body["message"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p[1].is_string()));
    assert_eq!(
        sim.state().url_list("ce").unwrap().urls,
        ["good.example.com"]
    );

    let regex = post(
        &sim,
        BASE,
        &json!({"name": "rx", "data": {"urls": [".*\\.evil\\.com", "(open"], "type": "regex"}}),
    )
    .await;
    assert_eq!(regex.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        regex.body["message"],
        json!([["(open", "invalid regular expression"]])
    );
    let regex_ok = post(
        &sim,
        BASE,
        &json!({"name": "rx", "data": {"urls": [".*\\.evil\\.com"], "type": "regex"}}),
    )
    .await;
    assert_eq!(regex_ok.status, StatusCode::CREATED);
}

#[tokio::test]
async fn patch_append_replace_remove() {
    let sim = start_default().await;
    let id = create(&sim, "ce", &["a.com"]).await;
    let patch = |action: &str, urls: &[&str]| {
        let body = json!({"data": {"urls": urls, "type": "exact"}});
        let path = format!("{BASE}/{id}/{action}");
        let sim = &sim;
        async move { send(sim, Method::PATCH, &path, Some(TOKEN), Some(&body)).await }
    };
    let appended = patch("append", &["b.com", "a.com"]).await;
    assert_eq!(appended.status, StatusCode::OK);
    assert_eq!(
        appended.body["data"]["urls"],
        json!(["a.com", "b.com"]),
        "bare record, duplicates dropped"
    );
    let replaced = patch("replace", &["c.com", "d.com"]).await;
    assert_eq!(replaced.body["data"]["urls"], json!(["c.com", "d.com"]));
    let removed = patch("remove", &["c.com", "zzz.com"]).await;
    assert_eq!(removed.body["data"]["urls"], json!(["d.com"]));
    assert_eq!(
        patch("remove", &["d.com"]).await.status,
        StatusCode::BAD_REQUEST,
        "a list cannot become empty"
    );
    assert_eq!(
        patch("frobnicate", &["d.com"]).await.status,
        StatusCode::NOT_FOUND
    );

    let mismatch = json!({"data": {"urls": ["x.*"], "type": "regex"}});
    let answer = send(
        &sim,
        Method::PATCH,
        &format!("{BASE}/{id}/append"),
        Some(TOKEN),
        Some(&mismatch),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    let missing = send(
        &sim,
        Method::PATCH,
        &format!("{BASE}/999/append"),
        Some(TOKEN),
        Some(&mismatch),
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.body["statusCode"], 404);
}

/// Issue 23, item 1: an append to, or an update of, a list that was never deployed answered
/// `modify_type: "Created"`; the tenant says `Edited` once a list has been modified, deployed or not, and a deploy
/// keeps the last modification's type.
#[tokio::test]
async fn modify_type_is_edited_after_any_change_deployed_or_not() {
    let sim = start_default().await;
    let appended = create(&sim, "appended", &["a.com"]).await;
    let renamed = create(&sim, "renamed", &["a.com"]).await;
    let untouched = create(&sim, "untouched", &["a.com"]).await;
    let answer = send(
        &sim,
        Method::PATCH,
        &format!("{BASE}/{appended}/append"),
        Some(TOKEN),
        Some(&json!({"data": {"urls": ["b.com"], "type": "exact"}})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        (&answer.body["modify_type"], &answer.body["pending"]),
        (&json!("Edited"), &json!(1))
    );
    let answer = send(
        &sim,
        Method::PUT,
        &format!("{BASE}/{renamed}"),
        Some(TOKEN),
        Some(&exact("renamed_again", &["a.com"])),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["modify_type"], "Edited", "update by name");

    let deployed = post(&sim, &format!("{BASE}/deploy"), &json!({})).await;
    let types: Vec<(u64, &str, u64)> = deployed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["id"].as_u64().unwrap(),
                r["modify_type"].as_str().unwrap(),
                r["pending"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        types,
        [
            (appended, "Edited", 0),
            (renamed, "Edited", 0),
            (untouched, "Created", 0)
        ]
    );
    assert_eq!(
        get(&sim, &format!("{BASE}/{untouched}")).await.body["modify_type"],
        "Created"
    );
}

/// Issue 23, item 2: the tenant's 404 for an unknown URL-list id says `URL list with id N not found`, a text the
/// official CLI and SDK show to users.
#[tokio::test]
async fn unknown_list_ids_answer_404_naming_the_id() {
    let sim = start_default().await;
    create(&sim, "ce", &["a.com"]).await;
    let edit = json!({"data": {"urls": ["b.com"], "type": "exact"}});
    let replace = exact("other", &["b.com"]);
    let requests = [
        (Method::GET, format!("{BASE}/999"), None),
        (Method::PUT, format!("{BASE}/999"), Some(&replace)),
        (Method::DELETE, format!("{BASE}/999"), None),
        (Method::PATCH, format!("{BASE}/999/append"), Some(&edit)),
    ];
    for (method, path, body) in requests {
        let answer = send(&sim, method.clone(), &path, Some(TOKEN), body).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(
            answer.body,
            json!({"statusCode": 404, "message": "URL list with id 999 not found", "error": "Not Found"}),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn changes_stay_pending_until_deploy() {
    let sim = start_default().await;
    let id = create(&sim, "ce", &["a.com"]).await;
    assert_eq!(sim.state().deployed_urls("ce"), None);

    let deployed = post(&sim, &format!("{BASE}/deploy"), &json!({})).await;
    assert_eq!(deployed.status, StatusCode::OK);
    assert_eq!(deployed.body[0]["id"], id);
    assert_eq!(deployed.body[0]["pending"], 0);
    assert_eq!(
        sim.state().deployed_urls("ce"),
        Some(vec!["a.com".to_owned()])
    );
    assert_eq!(sim.state().deploy_count(), 1);

    let body = json!({"data": {"urls": ["b.com"], "type": "exact"}});
    let edited = send(
        &sim,
        Method::PATCH,
        &format!("{BASE}/{id}/append"),
        Some(TOKEN),
        Some(&body),
    )
    .await;
    assert_eq!(edited.body["pending"], 1);
    assert_eq!(edited.body["modify_type"], "Edited");
    assert_eq!(
        get(&sim, &format!("{BASE}/{id}")).await.body["data"]["urls"],
        json!(["a.com", "b.com"]),
        "reads return pending content"
    );
    assert_eq!(
        sim.state().deployed_urls("ce"),
        Some(vec!["a.com".to_owned()]),
        "enforced content unchanged"
    );

    post(&sim, &format!("{BASE}/deploy"), &json!({})).await;
    assert_eq!(sim.state().deployed_urls("ce").unwrap(), ["a.com", "b.com"]);
    let nothing = post(&sim, &format!("{BASE}/deploy"), &json!({})).await;
    assert_eq!(nothing.body, json!([]));
    assert_eq!(sim.state().deploy_count(), 3);
}

#[tokio::test]
async fn delete_is_pending_until_deploy() {
    let sim = start_default().await;
    let id = create(&sim, "ce", &["a.com"]).await;
    post(&sim, &format!("{BASE}/deploy"), &json!({})).await;
    let deleted = send(
        &sim,
        Method::DELETE,
        &format!("{BASE}/{id}"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(deleted.status, StatusCode::OK);
    assert_eq!(deleted.body["modify_type"], "Deleted");
    assert_eq!(deleted.body["pending"], 1);
    let listed = get(&sim, BASE).await;
    assert_eq!(
        listed.body[0]["modify_type"], "Deleted",
        "still listed until deploy"
    );
    assert_eq!(sim.state().deployed_urls("ce").unwrap(), ["a.com"]);
    let edit = json!({"data": {"urls": ["b.com"], "type": "exact"}});
    let answer = send(
        &sim,
        Method::PATCH,
        &format!("{BASE}/{id}/append"),
        Some(TOKEN),
        Some(&edit),
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::BAD_REQUEST,
        "no edits of a list pending deletion"
    );

    let deployed = post(&sim, &format!("{BASE}/deploy"), &json!({})).await;
    assert_eq!(deployed.body[0]["modify_type"], "Deleted");
    assert_eq!(get(&sim, BASE).await.body, json!([]));
    assert_eq!(
        get(&sim, &format!("{BASE}/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(sim.state().deployed_urls("ce"), None);
    assert_eq!(
        get(&sim, &format!("{BASE}/abc")).await.status,
        StatusCode::BAD_REQUEST
    );
}

#[tokio::test]
async fn url_list_over_8_mib_is_refused() {
    let sim = start_default().await;
    let id = create(&sim, "big", &["a.com"]).await;
    let path = "p".repeat(2000);
    let urls: Vec<String> = (0..4300)
        .map(|i| format!("h{i}.example.com/{path}"))
        .collect();
    let body = json!({"data": {"urls": urls, "type": "exact"}});
    let answer = send(
        &sim,
        Method::PATCH,
        &format!("{BASE}/{id}/append"),
        Some(TOKEN),
        Some(&body),
    )
    .await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    assert!(
        answer.body["message"].as_str().unwrap().contains("8 MB"),
        "{}",
        answer.body["message"]
    );
    assert_eq!(sim.state().url_list("big").unwrap().urls.len(), 1);
}

#[tokio::test]
async fn legacy_deploy_path_is_404_unless_aliased() {
    let sim = start_default().await;
    assert_eq!(
        post(&sim, "/api/v2/policy/deploy", &json!({})).await.status,
        StatusCode::NOT_FOUND
    );
    let aliased = start(SimConfig {
        legacy_deploy_alias: true,
        ..SimConfig::default()
    })
    .await;
    let answer = post(&aliased, "/api/v2/policy/deploy", &json!({})).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(aliased.state().deploy_count(), 1);
}
