//! What the server's end-to-end tests share: the built binary on a free loopback port, a token
//! made with its CLI, and plain HTTP/1.1 requests over a socket of their own.

#![allow(dead_code)] // each test file uses its own part

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_cte-server");

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `cte-server`, killed when dropped.
pub struct Server(pub Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cte-server --db DB --listen 127.0.0.1:PORT EXTRA`, logging to `stderr`, once it accepts
/// connections (at most 20 s).
pub fn start(db: &Path, port: u16, extra: &[&str], stderr: Stdio) -> Server {
    let child = Command::new(BIN)
        .args(["--db", db.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .args(extra)
        .env("CTE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start cte-server");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "cte-server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    server
}

/// `cte-server token create` on `db` with `extra` flags: the client id and secret it printed.
pub fn token(db: &Path, extra: &[&str]) -> (String, String) {
    let out = Command::new(BIN)
        .args(["--db", db.to_str().unwrap(), "token", "create"])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        v["client_id"].as_str().unwrap().to_string(),
        v["client_secret"].as_str().unwrap().to_string(),
    )
}

/// One request on its own connection: the status code and the body, or `None` when the
/// connection broke (the server died).
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let answer = String::from_utf8(answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((status, body.to_string()))
}

/// `Bearer <token>` for the client id and secret.
pub fn login(port: u16, id: &str, secret: &str) -> String {
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let (status, body) = request(
        port,
        "POST",
        "/api/auth",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &form,
    )
    .expect("the server answers");
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    format!("Bearer {}", v["access_token"].as_str().unwrap())
}
