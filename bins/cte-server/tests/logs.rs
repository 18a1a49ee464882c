//! The server's request log: one JSON line per request with method, matched route, status,
//! duration and the caller's client id, and never the client secret or a bearer token, even at
//! debug level.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cte-server");

fn request(port: u16, head: &str, body: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "{head}\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    answer
}

#[test]
fn one_json_line_per_request_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    let created = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "token", "create"])
        .output()
        .unwrap();
    let token: Value = serde_json::from_slice(&created.stdout).unwrap();
    let id = token["client_id"].as_str().unwrap().to_string();
    let secret = token["client_secret"].as_str().unwrap().to_string();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = dir.path().join("server.log");
    let mut server = Command::new(BIN)
        .args(["--db", db.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(["--log", "debug", "--log-format", "json"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "cte-server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let answer = request(
        port,
        "POST /api/auth HTTP/1.1\r\nContent-Type: application/x-www-form-urlencoded",
        &form,
    );
    let body: Value = serde_json::from_str(answer.split_once("\r\n\r\n").unwrap().1).unwrap();
    let bearer = body["access_token"].as_str().unwrap().to_string();
    let listed = request(
        port,
        &format!("GET /api/cte/tags HTTP/1.1\r\nAuthorization: Bearer {bearer}"),
        "",
    );
    assert!(listed.starts_with("HTTP/1.1 200"), "{listed}");
    let _ = server.kill();
    let _ = server.wait();

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
