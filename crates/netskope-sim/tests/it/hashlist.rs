//! v1 file hash list: token in the body, replace semantics, duplicate answer, validation, size limit.

use netskope_sim::SimConfig;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::{send, start};

const PATH: &str = "/api/v1/updateFileHashList";
const MD5: &str = "44d88612fea8a8f36de82e1278abb02f";
const SHA: &str = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";

async fn update(sim: &netskope_sim::SimHandle, body: &Value) -> (StatusCode, Value) {
    // No Netskope-Api-Token header: the v1 token travels in the body.
    let answer = send(sim, Method::POST, PATH, None, Some(body)).await;
    (answer.status, answer.body)
}

fn config() -> SimConfig {
    SimConfig {
        hash_lists: vec!["ce-hashes".into()],
        v1_tokens: vec!["v1".into()],
        ..SimConfig::default()
    }
}

#[tokio::test]
async fn update_replaces_and_identical_resubmission_is_a_duplicate() {
    let sim = start(config()).await;
    let (status, body) = update(
        &sim,
        &json!({"name": "ce-hashes", "list": format!("{MD5},{SHA}"), "token": "v1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "success"}));
    assert_eq!(sim.state().hash_list("ce-hashes").unwrap(), [MD5, SHA]);

    let (status, body) = update(
        &sim,
        &json!({"name": "ce-hashes", "list": format!("{SHA},{MD5}"), "token": "v1"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "v1 reports errors in the body");
    assert_eq!(body["status"], "error");
    let error = body["errors"][0].as_str().unwrap();
    assert!(
        error.contains("Duplicate request, no change in file hashes"),
        "{error}"
    );

    let (_, body) = update(
        &sim,
        &json!({"name": "ce-hashes", "list": SHA, "token": "v1"}),
    )
    .await;
    assert_eq!(body["status"], "success");
    assert_eq!(
        sim.state().hash_list("ce-hashes").unwrap(),
        [SHA],
        "replace, not append"
    );
}

#[tokio::test]
async fn bad_token_unknown_list_invalid_hash_and_oversize_are_errors() {
    let sim = start(config()).await;
    let cases = [
        json!({"name": "ce-hashes", "list": MD5, "token": "wrong"}),
        json!({"name": "ce-hashes", "list": MD5}),
        json!({"name": "nope", "list": MD5, "token": "v1"}),
        json!({"name": "ce-hashes", "list": format!("{MD5},not-a-hash"), "token": "v1"}),
        json!({"name": "ce-hashes", "list": "abc123", "token": "v1"}),
        json!({"list": MD5, "token": "v1"}),
        json!({"name": "ce-hashes", "token": "v1"}),
    ];
    for case in &cases {
        let (status, body) = update(&sim, case).await;
        assert_eq!(status, StatusCode::OK, "{case}");
        assert_eq!(body["status"], "error", "{case}");
        assert!(body["errors"][0].is_string(), "{case}");
    }
    let (_, body) = update(
        &sim,
        &json!({"name": "ce-hashes", "list": MD5, "token": "wrong"}),
    )
    .await;
    assert_eq!(body["errors"][0], "Invalid token");

    let big: Vec<&str> = std::iter::repeat_n(SHA, 8 * 1024 * 1024 / 65 + 10).collect();
    let (_, body) = update(
        &sim,
        &json!({"name": "ce-hashes", "list": big.join(","), "token": "v1"}),
    )
    .await;
    assert!(
        body["errors"][0].as_str().unwrap().contains("8 MB"),
        "{body}"
    );
    assert!(sim.state().hash_list("ce-hashes").unwrap().is_empty());
    let raw = reqwest::Client::new()
        .post(format!("{}{PATH}", sim.base_url))
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.json::<Value>().await.unwrap()["status"], "error");
}
