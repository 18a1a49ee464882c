//! Crash consistency of the server: `kill -9` while batches of IoCs are being posted, again and
//! again. After each restart the database passes `PRAGMA integrity_check`, every batch the server
//! acknowledged (201) is stored whole, and the batch in flight when it died is stored whole or not
//! at all.

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

mod common;
use common::{free_port, login, request, token};

const KILLS: u64 = 8;
const BATCH: usize = 5_000;

fn batch_body(round: u64, batch: u64) -> String {
    let iocs: Vec<Value> = (0..BATCH)
        .map(|i| {
            json!({"value": format!("r{round}-b{batch}-i{i}.example"), "type": "domain",
                   "source": "DW", "severity": "high"})
        })
        .collect();
    Value::Array(iocs).to_string()
}

/// How many IoCs of `round`'s batch `batch` are stored.
fn stored(port: u16, bearer: &str, round: u64, batch: u64) -> u64 {
    let filter = json!({"value": {"$regex": format!("r{round}-b{batch}-i")}}).to_string();
    let mut query = String::new();
    for b in filter.bytes() {
        if b.is_ascii_alphanumeric() {
            query.push(b as char);
        } else {
            query.push_str(&format!("%{b:02X}"));
        }
    }
    let path = format!("/api/cte/indicators/?aggregate=true&filters={query}");
    let (status, body) = request(port, "GET", &path, &[("Authorization", bearer)], "").unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["count"]
        .as_u64()
        .unwrap()
}

#[test]
fn kill_9_during_posts_loses_no_acknowledged_batch_and_stores_none_by_half() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    let (id, secret) = token(&db, &[]);
    let port = free_port();
    let start = |db: &std::path::Path, port| common::start(db, port, &[], Stdio::null());
    {
        let _server = start(&db, port);
        let bearer = login(port, &id, &secret);
        let (status, body) = request(
            port,
            "POST",
            "/api/cte/plugins/configurations/api_sources",
            &[
                ("Authorization", &bearer),
                ("Content-Type", "application/json"),
            ],
            r#"{"name": "DW"}"#,
        )
        .unwrap();
        assert_eq!(status, 201, "{body}");
    }

    // Each round: post batches one after another until the server is killed at a point that
    // moves from round to round, then restart and check every batch of the round.
    let mut acknowledged_total = 0;
    for round in 0..KILLS {
        let mut server = start(&db, port);
        let bearer = login(port, &id, &secret);
        let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
        let poster = {
            let (acked, bearer) = (acked.clone(), bearer.clone());
            std::thread::spawn(move || {
                for batch in 0..1_000 {
                    let body = batch_body(round, batch);
                    let headers = [
                        ("Authorization", bearer.as_str()),
                        ("Content-Type", "application/json"),
                    ];
                    match request(port, "POST", "/api/cte/indicators/", &headers, &body) {
                        Some((201, _)) => acked.lock().unwrap().push(batch),
                        Some((status, body)) => panic!("batch {batch}: {status} {body}"),
                        None => return batch, // the server died during this batch
                    }
                }
                1_000
            })
        };
        std::thread::sleep(Duration::from_millis(200 + (round * 137) % 600));
        server.0.kill().unwrap(); // SIGKILL
        server.0.wait().unwrap();
        let in_flight = poster.join().unwrap();
        drop(server);

        let check = cte_store_sqlite::integrity_check(&db).unwrap();
        assert_eq!(check, "ok", "round {round}");
        let _server = start(&db, port);
        let bearer = login(port, &id, &secret);
        let acked = acked.lock().unwrap().clone();
        assert!(
            acked.len() < 1_000,
            "round {round}: the kill came after every batch"
        );
        for &batch in &acked {
            assert_eq!(
                stored(port, &bearer, round, batch),
                BATCH as u64,
                "round {round}: acknowledged batch {batch}"
            );
        }
        let partial = stored(port, &bearer, round, in_flight);
        assert!(
            partial == 0 || partial == BATCH as u64,
            "round {round}: batch {in_flight} in flight stored {partial} of {BATCH}"
        );
        acknowledged_total += acked.len();
    }
    eprintln!("{KILLS} kills survived, {acknowledged_total} acknowledged batches of {BATCH} kept");
}
