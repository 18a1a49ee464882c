//! End to end with the built binaries on loopback: `netskope-sim` as the tenant, `cte-server` for
//! the API (tenant and Netskope configuration saved over HTTP), and `cte-worker` pulling malware
//! and malsite IoCs, once (for cron) and in its run loop until SIGTERM.
//!
//! `cte-server` and `netskope-sim` are found next to the `cte-worker` binary. `cargo test
//! --workspace` builds them (their packages have integration tests, so Cargo builds their
//! binaries before running any test); with `cargo test -p cte-worker` build them first
//! (`cargo build -p cte-server -p netskope-sim`), or this test stops and says so.

mod common;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cte_core::indicator::IndicatorKind;
use cte_core::normalize::normalize_value;
use netskope_sim::AlertSpec;
use serde_json::{json, Value};

use common::*;

const MALWARE_ENDPOINT: &str = "/api/v2/events/dataexport/alerts/malware";

/// What one IoC should look like after a pull: its kind, the alerts reporting it, and the
/// severity and comment of the last of them.
struct Expected {
    kind: IndicatorKind,
    hits: u64,
    severity: String,
    comment: String,
}

/// The IoCs CE's Netskope plugin makes of the simulator's alerts (reference §2.2), computed from
/// the generator rather than from the engine's mapping.
fn expected(spec: &AlertSpec, label: &str) -> HashMap<String, Expected> {
    let (malware, malsite) = netskope_sim::generate_alerts(spec);
    let severity = |a: &Value| {
        let s = a["severity"].as_str().unwrap_or("").to_ascii_lowercase();
        if ["low", "medium", "high", "critical"].contains(&s.as_str()) {
            s
        } else {
            "unknown".to_string()
        }
    };
    let mut out: HashMap<String, Expected> = HashMap::new();
    let mut add = |raw: &str, kind: IndicatorKind, severity: String, comment: String| {
        let value = normalize_value(kind, raw).expect("simulated values are valid");
        let e = out.entry(value).or_insert(Expected {
            kind,
            hits: 0,
            severity: String::new(),
            comment: String::new(),
        });
        e.hits += 1;
        e.severity = severity;
        e.comment = comment;
    };
    let text = |a: &Value, k: &str| a[k].as_str().filter(|s| !s.is_empty()).map(str::to_string);
    for a in &malware {
        let mut comment = format!("{label} - {}", text(a, "object").unwrap_or_default());
        if let Some(n) = text(a, "malware_name") {
            comment.push_str(&format!(", Malware Name: {n}"));
        }
        if let Some(t) = text(a, "malware_type") {
            comment.push_str(&format!(", Malware Type: {t}"));
        }
        for (local, remote, kind) in [
            ("local_md5", "md5", IndicatorKind::Md5),
            ("local_sha256", "sha256", IndicatorKind::Sha256),
        ] {
            match (text(a, local), text(a, remote)) {
                (Some(l), Some(r)) if l.eq_ignore_ascii_case(&r) => {
                    add(&l, kind, severity(a), comment.clone())
                }
                (l, r) => {
                    for v in [l, r].into_iter().flatten() {
                        add(&v, kind, severity(a), comment.clone());
                    }
                }
            }
        }
    }
    for a in &malsite {
        let Some(url) = text(a, "url") else { continue };
        let cats: Vec<&str> = a["malsite_category"]
            .as_array()
            .map(|c| c.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        add(
            &url,
            IndicatorKind::Url,
            severity(a),
            format!("{label} - {}", cats.join(", ")),
        );
    }
    out
}

/// Internal hits of the IoCs from `source`, by value.
fn hits_from(indicators: &HashMap<String, Value>, source: &str) -> HashMap<String, u64> {
    indicators
        .iter()
        .filter_map(|(v, i)| {
            let s = i["sources"]
                .as_array()
                .unwrap()
                .iter()
                .find(|s| s["source"] == source)?;
            Some((v.clone(), s["internalHits"].as_u64().unwrap()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_pulls_malware_and_malsite_iocs_from_the_simulated_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cte.db");
    let now = now_epoch();
    let spec = AlertSpec {
        seed: 11,
        malware_count: 15,
        malsite_count: 15,
        start_epoch: now - 3 * 86_400,
        end_epoch: now - 3_600,
    };
    let (_sim, sim_url) = start_sim(dir.path(), "sim", &spec);
    // A second tenant whose data export will answer 403.
    let (_sim2, sim2_url) = start_sim(
        dir.path(),
        "sim2",
        &AlertSpec {
            seed: 12,
            ..spec.clone()
        },
    );
    let (id, secret) = create_admin_token(&db);
    let (server, base) = start_server(dir.path(), &db);
    let api = Api::login(&base, &id, &secret).await;
    use reqwest::Method as M;

    // Tenant and configuration over HTTP; the server checks the token against the simulator.
    let (s, v) = api
        .json(
            M::POST,
            "/api/settings/tenants",
            Some(
                json!({"name": "Good Tenant", "tenantName": sim_url, "token": V1,
                        "v2token": GOOD, "initialRange": 7, "useSystemProxy": false}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = api
        .json(
            M::POST,
            "/api/cte/plugins/configurations/netskope",
            Some(
                json!({"name": "Netskope Good", "tenant": "Good Tenant", "reputation": 0,
                        "ageAfterDays": 30, "parameters": {"is_pull_required": "Yes",
                        "threat_data_type": "Both", "days": 7, "enable_tagging": "yes"}}),
            ),
        )
        .await;
    assert_eq!(s, 201, "{v}");

    // Saving a tenant that cannot be reached answers 400 promptly (the check is interactive).
    let closed = free_port();
    let started = Instant::now();
    let (s, v) = api
        .json(
            M::POST,
            "/api/settings/tenants",
            Some(
                json!({"name": "Gone", "tenantName": format!("http://127.0.0.1:{closed}"),
                        "v2token": GOOD}),
            ),
        )
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "unreachable tenant took {:?}",
        started.elapsed()
    );

    // First pull.
    let (code, log) = worker(dir.path(), &db, &["pull", "--once"], 1);
    assert_eq!(code, 0, "{log}");
    assert_no_token("worker log", &log);
    let want = expected(&spec, &sim_url);
    let got = api.indicators().await;
    assert_eq!(got.len(), want.len(), "IoC count");
    for (value, e) in &want {
        let i = got
            .get(value)
            .unwrap_or_else(|| panic!("{value} not pulled"));
        assert_eq!(i["type"], e.kind.as_str(), "{value}");
        assert_eq!(i["source"], "Netskope Good", "{value}");
        assert_eq!(i["internalHits"], e.hits, "{value}");
        if e.hits == 1 {
            assert_eq!(i["severity"], e.severity.as_str(), "{value}");
            assert_eq!(i["comments"], e.comment.as_str(), "{value}");
        }
    }
    let kinds: std::collections::HashSet<&str> =
        got.values().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(kinds.len(), 3, "md5, sha256 and url: {kinds:?}");
    let configs = api.configurations().await;
    let good = &configs["Netskope Good"];
    assert_eq!(good["lastRunSuccess"]["pull"], true, "{good}");
    let message = good["lastRunMessage"]["pull"].as_str().unwrap();
    assert!(
        message.contains("malware: 15 alerts") && message.contains("malsite: 15 alerts"),
        "{message}"
    );
    assert!(good["lastRunAt"]["pull"].is_string(), "{good}");
    let hits = hits_from(&got, "Netskope Good");

    // A second pull finds nothing new: no IoC gains a hit.
    let (code, log) = worker(dir.path(), &db, &["pull", "--once"], 2);
    assert_eq!(code, 0, "{log}");
    let again = api.indicators().await;
    assert_eq!(hits_from(&again, "Netskope Good"), hits);
    assert_eq!(again.len(), got.len());

    // A second tenant, saved while its token works, then refused with 403 on data export.
    let (s, v) = api
        .json(
            M::POST,
            "/api/settings/tenants",
            Some(json!({"name": "Other Tenant", "tenantName": sim2_url, "v2token": OTHER})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let (s, v) = api
        .json(
            M::POST,
            "/api/cte/plugins/configurations/netskope",
            Some(json!({"name": "Another Netskope", "tenant": "Other Tenant",
                        "parameters": {"threat_data_type": ["MD5", "URL"]}})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let r = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .post(format!("{sim2_url}/__sim/faults"))
        .json(&json!({"kind": "fail", "status": 403, "count": 1000,
                      "path_prefix": "/api/v2/events/dataexport"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    // "Another Netskope" sorts first, so the good configuration is pulled after the failure.
    let (code, log) = worker(dir.path(), &db, &["pull", "--once"], 3);
    assert_eq!(code, 1, "{log}");
    assert_no_token("worker log", &log);
    let configs = api.configurations().await;
    let failed = &configs["Another Netskope"];
    assert_eq!(failed["lastRunSuccess"]["pull"], false, "{failed}");
    let message = failed["lastRunMessage"]["pull"].as_str().unwrap();
    assert!(
        message.contains(MALWARE_ENDPOINT) && message.contains("Read privilege"),
        "{message}"
    );
    assert_eq!(configs["Netskope Good"]["lastRunSuccess"]["pull"], true);
    let after = api.indicators().await;
    assert_eq!(after.len(), got.len());
    assert_eq!(hits_from(&after, "Netskope Good"), hits);
    assert!(hits_from(&after, "Another Netskope").is_empty());

    // The run loop pulls what is due (a new configuration, URLs only) and stops on SIGTERM.
    let (s, v) = api
        .json(
            M::POST,
            "/api/cte/plugins/configurations/netskope",
            Some(json!({"name": "Netskope Urls", "tenant": "Good Tenant",
                        "parameters": {"threat_data_type": ["URL"]}})),
        )
        .await;
    assert_eq!(s, 201, "{v}");
    let mut cmd = Command::new(WORKER);
    cmd.args(["--db", db.to_str().unwrap(), "--max-wait", "1", "run"])
        .stdout(Stdio::null());
    let mut run = Proc::spawn(cmd, dir.path().join("worker-run.log"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let configs = api.configurations().await;
        if !configs["Netskope Urls"]["lastRunSuccess"]["pull"].is_null() {
            assert_eq!(
                configs["Netskope Urls"]["lastRunSuccess"]["pull"],
                true,
                "{}",
                run.log()
            );
            break;
        }
        assert!(
            run.child.try_wait().unwrap().is_none(),
            "cte-worker run exited early: {}",
            run.log()
        );
        assert!(
            Instant::now() < deadline,
            "cte-worker run did not pull: {}",
            run.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let urls = hits_from(&api.indicators().await, "Netskope Urls");
    let want_urls = want
        .values()
        .filter(|e| e.kind == IndicatorKind::Url)
        .count();
    assert_eq!(urls.len(), want_urls);
    let term = Command::new("kill")
        .args(["-TERM", &run.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = run
        .wait_for(Duration::from_secs(15))
        .unwrap_or_else(|| panic!("cte-worker run ignored SIGTERM: {}", run.log()));
    assert_eq!(status.code(), Some(0), "{}", run.log());
    let log = run.log();
    assert!(log.contains("cte-worker stopped"), "{log}");
    assert_no_token("worker run log", &log);

    // Neither the server nor the tenant check logged a token.
    drop(run);
    let server_log = server.log();
    assert!(!server_log.is_empty());
    assert_no_token("server log", &server_log);

    // At rest the tokens are encrypted with the key beside the database: no database file
    // (main, WAL or journal) holds them in clear.
    drop(server);
    assert!(dir.path().join("cte.db.key").exists());
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("cte.db") && name != "cte.db.key" {
            let bytes = std::fs::read(&path).unwrap();
            for t in TOKENS {
                assert!(
                    !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
                    "{name} holds a token in clear"
                );
            }
        }
    }
}
