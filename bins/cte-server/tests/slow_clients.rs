//! Slow and idle clients cannot hold the server: with 1,000 connections open that send nothing or
//! half a request's headers, a normal request is still answered within a second, and the server
//! closes every one of them once the header read timeout has passed. SIGTERM lets a request in
//! flight finish.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;
use common::{free_port, Server};

fn start(dir: &std::path::Path, extra: &[&str]) -> (Server, u16) {
    let port = free_port();
    let server = common::start(&dir.join("cte.db"), port, extra, Stdio::null());
    (server, port)
}

/// One whole request on a fresh connection; the status line of the answer.
fn get(port: u16, path: &str) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_string()
}

/// Whether the server has closed `s` (end of stream, or a reset).
fn closed(s: &mut TcpStream) -> bool {
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let mut buf = [0u8; 512];
    match s.read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false, // an answer (408 and the like) precedes the close: read on
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => false,
        Err(_) => true,
    }
}

#[test]
fn idle_and_half_sent_connections_neither_block_others_nor_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, port) = start(dir.path(), &["--header-read-timeout-seconds", "2"]);
    let mut held: Vec<TcpStream> = (0..1_000)
        .map(|i| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            if i % 2 == 1 {
                s.write_all(b"GET /api/openapi.json HTTP/1.1\r\nHost: x\r\nX-Slow: ")
                    .unwrap();
            }
            s
        })
        .collect();
    let asked = Instant::now();
    let status = get(port, "/api/openapi.json");
    let took = asked.elapsed();
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(took < Duration::from_secs(1), "answered in {took:?}");

    // Every held connection is closed within the timeout and a margin.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        held.retain_mut(|s| !closed(s));
        if held.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} connections still open 10 s after a 2 s header read timeout",
            held.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn sigterm_lets_the_request_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, port) = start(dir.path(), &[]);
    // A request whose body is still coming when the signal arrives.
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = "grant_type=client_credentials&client_id=nobody&client_secret=nothing";
    write!(
        s,
        "POST /api/auth HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let term = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    std::thread::sleep(Duration::from_millis(300));
    s.write_all(&body.as_bytes()[10..]).unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
    assert!(
        answer.contains("Invalid client_id/client_secret provided."),
        "{answer}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "cte-server did not stop");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    // And it no longer accepts connections.
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}
