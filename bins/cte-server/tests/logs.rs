//! The server's request log: one JSON line per request with method, matched route, status,
//! duration and the caller's client id, and never the client secret or a bearer token, even at
//! debug level.

use serde_json::Value;

mod common;
use common::{free_port, login, request, start, token};

#[test]
fn one_json_line_per_request_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    let (id, secret) = token(&db, &[]);
    let port = free_port();
    let log = dir.path().join("server.log");
    let server = start(
        &db,
        port,
        &["--log", "debug", "--log-format", "json"],
        std::fs::File::create(&log).unwrap().into(),
    );
    let bearer = login(port, &id, &secret);
    let bearer = bearer.trim_start_matches("Bearer ").to_string();
    let auth = format!("Bearer {bearer}");
    let (status, body) = request(
        port,
        "GET",
        "/api/cte/tags",
        &[("Authorization", &auth)],
        "",
    )
    .expect("the server answers");
    assert_eq!(status, 200, "{body}");
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains(&secret),
        "the client secret is in the log:\n{text}"
    );
    assert!(!text.contains(&bearer), "the bearer is in the log:\n{text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let requests: Vec<&Value> = lines
        .iter()
        .filter(|l| l["target"] == "cte_api::request")
        .collect();
    assert_eq!(requests.len(), 2, "{text}");
    let tags = requests[1]["fields"].clone();
    assert_eq!(tags["method"], "GET", "{tags}");
    assert_eq!(tags["route"], "/api/cte/tags", "{tags}");
    assert_eq!(tags["status"], 200, "{tags}");
    assert_eq!(tags["client_id"], id.as_str(), "{tags}");
    assert!(tags["duration_ms"].as_f64().is_some(), "{tags}");
    assert_eq!(requests[0]["fields"]["route"], "/api/auth");
}
