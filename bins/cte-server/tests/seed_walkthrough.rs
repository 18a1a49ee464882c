//! End to end: the built `cte-server` binary, a token made with its CLI, and the seed's three
//! examples (POST, PATCH, bulk tag removal) replayed over loopback HTTP.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_cte-server");

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start(db: &std::path::Path, port: u16) -> Server {
    let child = Command::new(BIN)
        .args([
            "--db",
            db.to_str().unwrap(),
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start cte-server");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "cte-server did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    server
}

fn create_token(db: &std::path::Path) -> (String, String) {
    let out = Command::new(BIN)
        .args([
            "token",
            "create",
            "--db",
            db.to_str().unwrap(),
            "--scopes",
            "cte_read,cte_write",
            "--description",
            "DW feed",
        ])
        .stderr(Stdio::inherit())
        .output()
        .expect("run token create");
    assert!(out.status.success());
    let lines: Vec<String> = BufReader::new(&out.stdout[..])
        .lines()
        .map(Result::unwrap)
        .collect();
    assert_eq!(lines.len(), 1, "exactly one JSON line: {lines:?}");
    let v: Value = serde_json::from_str(&lines[0]).unwrap();
    assert!(v.get("expiresAt").is_some());
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn seed_examples_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    let (id, secret) = create_token(&db);
    let port = free_port();
    let _server = start(&db, port);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();

    let auth: Value = http
        .post(format!("{base}/api/auth"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(auth["token_type"], "bearer");
    let bearer = format!("Bearer {}", auth["access_token"].as_str().unwrap());

    let call = |method: reqwest::Method, path: &str, body: Value| {
        http.request(method, format!("{base}{path}"))
            .header("Authorization", &bearer)
            .json(&body)
            .send()
    };

    let r = call(
        reqwest::Method::POST,
        "/api/cte/plugins/configurations/api_sources",
        json!({"name": "DW", "ageAfterDays": 90, "reputation": 0, "sslValidation": true}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    for tag in ["test_tag", "test_tag2", "abc"] {
        let r = call(
            reqwest::Method::POST,
            "/api/cte/tags",
            json!({"name": tag, "color": "#5E6AD2"}),
        )
        .await
        .unwrap();
        assert_eq!(r.status(), 200);
    }

    // Seed example 1: POST a URL with two existing tags.
    let r = call(
        reqwest::Method::POST,
        "/api/cte/indicators/",
        json!([{
            "value": "www.dubya.com", "type": "url", "test": false, "safe": false, "active": true,
            "source": "DW", "expiresAt": "2022-05-19T04:49:34.033Z",
            "firstSeen": "2022-05-19T04:49:34.033Z", "lastSeen": "2022-05-19T04:49:34.033Z",
            "tags": ["test_tag", "test_tag2"], "reputation": 5, "severity": "critical",
            "comments": "sample comment", "extendedInformation": ""
        }]),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let posted: Value = r.json().await.unwrap();
    assert_eq!(
        posted[0]["sources"][0]["tags"],
        json!(["test_tag", "test_tag2"])
    );
    assert_eq!(posted[0]["reputation"], 5);

    // Seed example 2: PATCH raises the reputation from 5 to 7.
    let r = call(
        reqwest::Method::PATCH,
        "/api/cte/indicators/",
        json!({
            "value": "www.dubya.com", "type": "url", "test": false, "safe": false, "active": true,
            "source": "DW", "expiresAt": "2022-05-19T04:49:34.033Z",
            "firstSeen": "2022-05-19T04:49:34.033Z", "lastSeen": "2022-05-19T04:49:34.033Z",
            "tags": [], "reputation": 7, "severity": "critical",
            "comments": "sample comment", "extendedInformation": "HTTP://123.com"
        }),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let patched: Value = r.json().await.unwrap();
    assert_eq!(patched["sources"][0]["reputation"], 7);
    assert_eq!(
        patched["sources"][0]["tags"],
        json!(["test_tag", "test_tag2"])
    );

    // Seed example 3: remove tag "abc" from a sha256 through the bulk endpoint.
    let sha = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";
    let r = call(
        reqwest::Method::POST,
        "/api/cte/indicators/",
        json!([{"value": sha, "type": "sha256", "source": "DW", "tags": ["abc", "test_tag"]}]),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let r = call(
        reqwest::Method::PATCH,
        "/api/cte/indicators/bulk",
        json!({"locator": {"values": [sha]}, "tags": {"add": [], "remove": ["abc"]}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"updated": 1}));

    let list: Value = http
        .get(format!("{base}/api/cte/indicators/?limit=100&sort=value"))
        .header("Authorization", &bearer)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let values: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, [sha, "www.dubya.com"]);
    assert_eq!(list[0]["sources"][0]["tags"], json!(["test_tag"]));
}
