//! The sharing story end to end with the built binaries on loopback: `cte-server` for the REST
//! walk-through of the README (API Source "DW", tags, IoCs, tenant, Netskope configuration, rule
//! "Every Severity", sharing configuration by PATCH of `sharedWith`), `cte-worker share --once` and
//! `cte-worker age` as processes, and `netskope-sim` as the tenant, inspected through `/__sim/*`.
//!
//! Covered: the lists hold exactly the expected entries after deploy; a second run makes no tenant
//! call at all; the tenant's refusal of an IPv6 host is kept (`failed`, not retried); retraction and
//! aging take entries off at the next share; a worker killed with SIGKILL between push and
//! acknowledgement is followed by a run that replaces the list whole; two workers started at once
//! push once; the byte cap keeps the newest `lastSeen` and leaves the oldest `unshared`.
//!
//! Like `pull_e2e.rs`, this needs `cte-server` and `netskope-sim` built next to `cte-worker`.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use reqwest::Method as M;
use serde_json::{json, Value};

use common::*;

const SHA: &str = "b53f3c0cd32d7f20849850768da6431e5f876b7bfa61db0aa0700b02873393fa";
const MD5: &str = "0123456789abcdef0123456789abcdef";
const IPV6: &str = "2001:db8::1";
const DEPLOY: &str = "/api/v2/policy/urllist/deploy";

/// The simulator's inspection and fault endpoints.
struct Sim {
    http: reqwest::Client,
    base: String,
}

impl Sim {
    fn new(base: &str) -> Sim {
        Sim {
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            base: base.to_string(),
        }
    }

    async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }

    async fn send(&self, method: M, path: &str, body: Option<Value>) -> u16 {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        req.send().await.unwrap().status().as_u16()
    }

    /// The deployed (enforced) content of a URL list, sorted; `None` when never deployed.
    async fn deployed(&self, list: &str) -> Option<Vec<String>> {
        let lists = self.get("/__sim/lists").await;
        let l = lists.as_array()?.iter().find(|l| l["name"] == list)?;
        let urls = l["deployed"]["urls"].as_array()?;
        let mut out: Vec<String> = urls
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect();
        out.sort();
        Some(out)
    }

    /// The pending content of a URL list in the tenant's order (duplicates kept, if any).
    async fn pending(&self, list: &str) -> Vec<String> {
        let lists = self.get("/__sim/lists").await;
        let l = lists
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == list)
            .unwrap_or_else(|| panic!("no list {list}: {lists}"));
        l["urls"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u.as_str().unwrap().to_string())
            .collect()
    }

    /// A file hash list's hashes, sorted.
    async fn hashes(&self, list: &str) -> Vec<String> {
        let lists = self.get("/__sim/hashlists").await;
        let l = lists
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["name"] == list)
            .unwrap_or_else(|| panic!("no hash list {list}: {lists}"));
        let mut out: Vec<String> = l["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap().to_string())
            .collect();
        out.sort();
        out
    }

    async fn requests(&self) -> Vec<Value> {
        self.get("/__sim/requests")
            .await
            .as_array()
            .unwrap()
            .clone()
    }

    async fn clear_requests(&self) {
        assert_eq!(self.send(M::DELETE, "/__sim/requests", None).await, 204);
    }

    async fn fault(&self, fault: Value) {
        assert_eq!(self.send(M::POST, "/__sim/faults", Some(fault)).await, 201);
    }

    async fn clear_faults(&self) {
        assert_eq!(self.send(M::DELETE, "/__sim/faults", None).await, 204);
    }
}

fn method_paths(requests: &[Value]) -> Vec<String> {
    requests
        .iter()
        .map(|r| {
            format!(
                "{} {}",
                r["method"].as_str().unwrap(),
                r["path"].as_str().unwrap()
            )
        })
        .collect()
}

fn sorted(values: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = values.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

fn rfc3339(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A server, a simulated tenant and a database, set up through REST as the README walks through.
struct Env {
    dir: tempfile::TempDir,
    db: PathBuf,
    sim: Sim,
    api: Api,
    runs: u32,
    // Dropped last: the processes are killed when the test ends, passed or not.
    _server: Proc,
    _sim: Proc,
}

impl Env {
    /// Starts the simulator (a file hash list `ce-hashes`), creates an admin token and starts the
    /// server; then the README's API Source "DW" and tags, the tenant "Prod" and the Netskope
    /// configuration "NS", and the rule "Every Severity".
    async fn start() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("cte.db");
        let args: Vec<String> = [
            "--token",
            GOOD,
            "--v1-token",
            V1,
            "--hash-list",
            "ce-hashes",
            "--malware-alerts",
            "0",
            "--malsite-alerts",
            "0",
            "--wait-time",
            "0",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (sim_proc, sim_url) = start_sim_with(dir.path(), "sim", &args);
        let (id, secret) = create_admin_token(&db);
        let (server, base) = start_server(dir.path(), &db);
        let api = Api::login(&base, &id, &secret).await;
        let env = Env {
            dir,
            db,
            sim: Sim::new(&sim_url),
            api,
            runs: 0,
            _server: server,
            _sim: sim_proc,
        };

        env.ok(
            M::POST,
            "/api/cte/plugins/configurations/api_sources",
            json!({"name": "DW", "ageAfterDays": 90, "reputation": 0, "sslValidation": true}),
        )
        .await;
        for t in ["test_tag", "test_tag2", "abc"] {
            env.ok(
                M::POST,
                "/api/cte/tags",
                json!({"name": t, "color": "#5E6AD2"}),
            )
            .await;
        }
        env.ok(
            M::POST,
            "/api/settings/tenants",
            json!({"name": "Prod", "tenantName": sim_url, "token": V1, "v2token": GOOD,
                   "initialRange": 7, "useSystemProxy": false}),
        )
        .await;
        env.ok(
            M::POST,
            "/api/cte/plugins/configurations/netskope",
            json!({"name": "NS", "tenant": "Prod", "parameters": {"is_pull_required": "No"}}),
        )
        .await;
        env.ok(
            M::POST,
            "/api/cte/business_rules",
            json!({"name": "Every Severity", "filters": {"query": "", "mongo":
                "{\"sources\": {\"$elemMatch\": {\"severity\": {\"$in\": [\"unknown\",\"low\",\"medium\",\"high\",\"critical\"]}}}}"}}),
        )
        .await;
        env
    }

    /// A REST call that must succeed (2xx); returns the body.
    async fn ok(&self, method: M, path: &str, body: Value) -> Value {
        let (s, v) = self.api.json(method.clone(), path, Some(body)).await;
        assert!((200..300).contains(&s), "{method} {path}: {s} {v}");
        v
    }

    /// Posts IoCs from "DW" (as `POST /api/cte/indicators/`, all or nothing).
    async fn post_iocs(&self, iocs: Value) {
        let (s, v) = self
            .api
            .json(M::POST, "/api/cte/indicators/", Some(iocs))
            .await;
        assert_eq!(s, 201, "{v}");
    }

    /// Sets the rule's `sharedWith` as the README does (`PATCH /api/cte/business_rule`).
    async fn share_with(&self, actions: Value) {
        self.ok(
            M::PATCH,
            "/api/cte/business_rule",
            json!({"name": "Every Severity", "sharedWith": {"DW": {"NS": actions}}}),
        )
        .await;
    }

    /// `cte-worker --db DB ARGS` to completion: exit code and log.
    fn worker(&mut self, args: &[&str]) -> (i32, String) {
        self.runs += 1;
        let (code, log) = worker(self.dir.path(), &self.db, args, self.runs);
        assert_no_token("worker log", &log);
        (code, log)
    }

    /// `cte-worker share --once`, which must exit 0.
    fn share(&mut self) -> String {
        let (code, log) = self.worker(&["share", "--once"]);
        assert_eq!(code, 0, "{log}");
        log
    }

    /// `cte-worker share --once EXTRA` started, not waited for.
    fn spawn_share(&mut self, extra: &[&str]) -> Proc {
        self.runs += 1;
        let mut cmd = Command::new(WORKER);
        cmd.args(["--db", self.db.to_str().unwrap(), "share", "--once"])
            .args(extra)
            .stdout(Stdio::null());
        Proc::spawn(
            cmd,
            self.dir.path().join(format!("worker-{}.log", self.runs)),
        )
    }

    /// `cte-worker age`: exit code and stdout.
    fn age(&mut self) -> (i32, String) {
        self.stdout_of(&["age"])
    }

    /// `cte-worker ARGS` to completion: exit code and stdout.
    fn stdout_of(&mut self, args: &[&str]) -> (i32, String) {
        self.runs += 1;
        let out = self.dir.path().join(format!("run-{}.out", self.runs));
        let mut cmd = Command::new(WORKER);
        cmd.args(["--db", self.db.to_str().unwrap()])
            .args(args)
            .stdout(std::fs::File::create(&out).unwrap());
        let mut proc = Proc::spawn(
            cmd,
            self.dir.path().join(format!("worker-{}.log", self.runs)),
        );
        let status = proc
            .wait_for(Duration::from_secs(60))
            .unwrap_or_else(|| panic!("cte-worker {args:?} did not finish: {}", proc.log()));
        (
            status.code().expect("exit code"),
            std::fs::read_to_string(out).unwrap(),
        )
    }

    async fn indicator(&self, value: &str) -> Value {
        let filters = json!({"value": value}).to_string();
        let (s, v) = self
            .api
            .json(
                M::GET,
                &format!("/api/cte/indicators/?filters={}", urlencode(&filters)),
                None,
            )
            .await;
        assert_eq!(s, 200, "{v}");
        let found: Vec<&Value> = v
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["value"] == value)
            .collect();
        assert_eq!(found.len(), 1, "{value}: {v}");
        found[0].clone()
    }

    async fn ns_share_run(&self) -> (Value, String) {
        let configs = self.api.configurations().await;
        let ns = &configs["NS"];
        (
            ns["lastRunSuccess"]["share"].clone(),
            ns["lastRunMessage"]["share"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        )
    }
}

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The status of `ind` for destination "NS" as reported by source "DW": `(status, reason)`.
fn ns_status(ind: &Value) -> Option<(String, Option<String>)> {
    let dw = ind["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "DW")
        .unwrap_or_else(|| panic!("no DW record: {ind}"));
    dw["destinations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "NS")
        .map(|d| {
            (
                d["status"].as_str().unwrap().to_string(),
                d["reason"].as_str().map(str::to_string),
            )
        })
}

fn shared_with(ind: &Value) -> Vec<String> {
    ind["sharedWith"]
        .as_array()
        .unwrap_or_else(|| panic!("no sharedWith: {ind}"))
        .iter()
        .map(|d| d.as_str().unwrap().to_string())
        .collect()
}

/// The sharing configuration of the story: the README's URL list and a file hash list.
fn story_actions() -> Value {
    json!([
        {"label": "Add to URL List", "value": "url", "parameters": {"list": "create",
         "name": "ce-iocs", "url_list_type": "Exact", "max_url_list_cap": 7,
         "default_url": "cedefaultpush.io"}},
        {"label": "Add to File Hash List", "value": "file", "parameters": {
         "file_list": "ce-hashes", "max_file_hash_cap": 8}}
    ])
}

/// The README's walk-through plus the IoCs of the story, then one share that must succeed.
async fn story() -> Env {
    let mut env = Env::start().await;
    let now = Utc::now();
    let hours_ago = |h: i64| rfc3339(now - chrono::Duration::hours(h));
    // Seed example 1 (its `expiresAt` has passed: it is stored inactive and never shared).
    env.post_iocs(json!([{
        "value": "www.dubya.com", "type": "url", "test": false, "safe": false, "active": true,
        "source": "DW", "expiresAt": "2022-05-19T04:49:34.033Z",
        "firstSeen": "2022-05-19T04:49:34.033Z", "lastSeen": "2022-05-19T04:49:34.033Z",
        "tags": ["test_tag", "test_tag2"], "reputation": 5, "severity": "critical",
        "comments": "sample comment", "extendedInformation": ""}]))
        .await;
    // Seed example 2: reputation 5 -> 7.
    env.ok(
        M::PATCH,
        "/api/cte/indicators/",
        json!({"value": "www.dubya.com", "type": "url", "test": false, "safe": false,
               "active": true, "source": "DW", "expiresAt": "2022-05-19T04:49:34.033Z",
               "firstSeen": "2022-05-19T04:49:34.033Z", "lastSeen": "2022-05-19T04:49:34.033Z",
               "tags": [], "reputation": 7, "severity": "critical",
               "comments": "sample comment", "extendedInformation": "HTTP://123.com"}),
    )
    .await;
    env.post_iocs(json!([
        {"value": SHA, "type": "sha256", "source": "DW", "severity": "high",
         "tags": ["abc"], "lastSeen": hours_ago(4)},
        {"value": "evil.example", "type": "domain", "source": "DW", "severity": "high",
         "lastSeen": hours_ago(1)},
        {"value": IPV6, "type": "ipv6", "source": "DW", "severity": "medium",
         "lastSeen": hours_ago(2)},
        {"value": "198.51.100.7", "type": "ipv4", "source": "DW", "severity": "low",
         "lastSeen": hours_ago(3)},
        // Expires a few seconds from now: shared at first, off the hash list once expired.
        {"value": MD5, "type": "md5", "source": "DW", "severity": "unknown",
         "lastSeen": hours_ago(6), "expiresAt": rfc3339(md5_expiry(now))},
        // Expired when first reported, then re-reported with a later expiry: that one is kept.
        {"value": "kept.example", "type": "domain", "source": "DW", "severity": "high",
         "lastSeen": hours_ago(7), "expiresAt": hours_ago(1)},
        // Never shared: a test indicator.
        {"value": "test.example", "type": "domain", "source": "DW", "severity": "high",
         "test": true, "lastSeen": hours_ago(1)}
    ]))
    .await;
    env.post_iocs(json!([
        {"value": "kept.example", "type": "domain", "source": "DW", "severity": "high",
         "lastSeen": hours_ago(7), "expiresAt": rfc3339(now + chrono::Duration::days(1))},
    ]))
    .await;
    // Seed example 3: remove tag `abc` from the SHA-256.
    let v = env
        .ok(
            M::PATCH,
            "/api/cte/indicators/bulk",
            json!({"locator": {"values": [SHA]}, "tags": {"add": [], "remove": ["abc"]}}),
        )
        .await;
    assert_eq!(v["updated"], 1, "{v}");
    env.share_with(story_actions()).await;
    env.share();
    env
}

/// When the story's MD5 expires: after the first shares of every test, before the seed story's
/// aging step.
fn md5_expiry(posted: chrono::DateTime<Utc>) -> chrono::DateTime<Utc> {
    posted + chrono::Duration::seconds(8)
}

const FIRST_URLS: [&str; 3] = ["198.51.100.7", "evil.example", "kept.example"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seed_story_through_rest_and_the_worker() {
    let started = Instant::now();
    let mut env = story().await;
    let sim = &env.sim;

    // The lists hold exactly what the rule selects and the tenant accepts.
    assert_eq!(sim.deployed("ce-iocs").await.unwrap(), sorted(&FIRST_URLS));
    assert_eq!(sim.hashes("ce-hashes").await, sorted(&[MD5, SHA]));

    // Statuses over REST.
    for v in FIRST_URLS.iter().chain(&[SHA, MD5]) {
        let ind = env.indicator(v).await;
        assert_eq!(ns_status(&ind), Some(("shared".into(), None)), "{ind}");
        assert_eq!(shared_with(&ind), vec!["NS"], "{ind}");
    }
    let ipv6 = env.indicator(IPV6).await;
    let (status, reason) = ns_status(&ipv6).expect("IPv6 has a status");
    assert_eq!(status, "failed", "{ipv6}");
    let reason = reason.unwrap();
    assert!(
        reason.starts_with("rejected by tenant") && reason.contains("IPv6"),
        "{reason}"
    );
    assert!(shared_with(&ipv6).is_empty(), "{ipv6}");
    let test = env.indicator("test.example").await;
    assert_eq!(ns_status(&test), None, "{test}");
    assert!(shared_with(&test).is_empty());
    let (ok, message) = env.ns_share_run().await;
    assert_eq!(ok, true, "{message}");
    assert!(
        message.contains("url:ce-iocs: 3 shared, 0 unshared, 1 failed")
            && message.contains("file:ce-hashes: 2 shared, 0 unshared, 0 failed"),
        "{message}"
    );

    // A second run with nothing new makes no tenant call at all; the refused IPv6 is not retried.
    sim.clear_requests().await;
    env.share();
    let sim = &env.sim;
    let requests = sim.requests().await;
    assert!(requests.is_empty(), "{:?}", method_paths(&requests));
    let ipv6 = env.indicator(IPV6).await;
    assert_eq!(ns_status(&ipv6).unwrap().0, "failed");

    // Retraction takes an entry off; a new IoC goes on; the IPv6 stays out.
    env.ok(
        M::PATCH,
        "/api/cte/indicators/",
        json!({"value": "evil.example", "source": "DW", "retracted": true}),
    )
    .await;
    env.post_iocs(
        json!([{"value": "new.example", "type": "domain", "source": "DW",
                          "severity": "critical"}]),
    )
    .await;
    sim.clear_requests().await;
    env.share();
    let sim = &env.sim;
    assert_eq!(
        sim.deployed("ce-iocs").await.unwrap(),
        sorted(&["198.51.100.7", "kept.example", "new.example"])
    );
    let requests = sim.requests().await;
    let paths = method_paths(&requests);
    assert!(
        paths.iter().any(|p| p.ends_with("/replace")),
        "a removal replaces the list: {paths:?}"
    );
    assert!(
        paths.iter().any(|p| p == &format!("POST {DEPLOY}")),
        "{paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.contains("updateFileHashList")),
        "the hash list did not change: {paths:?}"
    );
    assert!(
        requests
            .iter()
            .all(|r| !r["body"].as_str().unwrap_or_default().contains(IPV6)),
        "the refused IPv6 was offered again: {paths:?}"
    );
    let evil = env.indicator("evil.example").await;
    assert_eq!(ns_status(&evil), None, "{evil}");
    assert!(shared_with(&evil).is_empty(), "{evil}");
    assert_eq!(
        ns_status(&env.indicator("new.example").await).unwrap().0,
        "shared"
    );

    // Expiry: once the MD5's `expiresAt` has passed, the next share takes it off the hash list,
    // whether or not the age cycle has run; `kept.example` kept the later `expiresAt` of its
    // second report.
    let expires = env.indicator(MD5).await["expiresAt"].clone();
    let expires = chrono::DateTime::parse_from_rfc3339(expires.as_str().unwrap()).unwrap();
    if let Ok(wait) =
        (expires.with_timezone(&Utc) + chrono::Duration::milliseconds(100) - Utc::now()).to_std()
    {
        tokio::time::sleep(wait).await;
    }
    env.share();
    let sim = &env.sim;
    assert_eq!(
        sim.deployed("ce-iocs").await.unwrap(),
        sorted(&["198.51.100.7", "kept.example", "new.example"])
    );
    assert_eq!(sim.hashes("ce-hashes").await, vec![SHA.to_string()]);
    // Aging marks it inactive (the seed IoC was stored inactive already).
    let (code, out) = env.age();
    assert_eq!(code, 0, "{out}");
    assert_eq!(out, "age: 1 indicator(s) deactivated, 0 rule(s) unmuted\n");
    for v in ["www.dubya.com", MD5] {
        let ind = env.indicator(v).await;
        assert_eq!(ind["active"], false, "{ind}");
        assert_eq!(ns_status(&ind), None, "{ind}");
        assert!(shared_with(&ind).is_empty(), "{ind}");
    }
    let (ok, message) = env.ns_share_run().await;
    assert_eq!(ok, true, "{message}");

    // `status` shows the share schedule with the last run's result and counts.
    let (code, out) = env.stdout_of(&["status", "--json"]);
    assert_eq!(code, 0, "{out}");
    let rows: Value = serde_json::from_str(&out).unwrap();
    let share = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["configuration"] == "NS" && r["cycle"] == "share")
        .unwrap_or_else(|| panic!("{rows}"));
    assert_eq!(share["lastRunSuccess"], true, "{share}");
    assert!(
        share["lastRunMessage"]
            .as_str()
            .is_some_and(|m| m.contains("url:ce-iocs: 3 shared")),
        "{share}"
    );
    assert!(share["nextDueAt"].is_string(), "{share}");
    let (code, table) = env.stdout_of(&["status"]);
    assert_eq!(code, 0, "{table}");
    assert!(
        table.contains("CONFIGURATION") && table.contains("NS") && table.contains("ok"),
        "{table}"
    );
    eprintln!("seed story: {:?}", started.elapsed());
}

/// Polls the simulator's request log (at most `limit`) until `pred` holds for some request.
async fn wait_for_request(sim: &Sim, limit: Duration, pred: impl Fn(&Value) -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if sim.requests().await.iter().any(&pred) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_between_push_and_acknowledgement_then_a_rerun() {
    let started = Instant::now();
    let mut env = story().await;
    env.post_iocs(
        json!([{"value": "late.example", "type": "domain", "source": "DW",
                          "severity": "high"}]),
    )
    .await;
    // The deploy hangs, so the worker is inside the push when it is killed.
    env.sim
        .fault(json!({"kind": "latency", "millis": 60_000, "count": 1, "path_prefix": DEPLOY}))
        .await;
    env.sim.clear_requests().await;
    // Its lease lapses 3 s after its last renewal (every second).
    let mut victim = env.spawn_share(&["--share-lease-seconds", "3"]);
    let arrived = wait_for_request(&env.sim, Duration::from_secs(60), |r| {
        r["path"]
            .as_str()
            .is_some_and(|p| p.starts_with("/api/v2/policy/urllist/") && p != DEPLOY)
            && (r["method"] == "PATCH" || r["method"] == "POST")
    })
    .await;
    assert!(arrived, "the list change never arrived: {}", victim.log());
    assert!(
        victim.child.try_wait().unwrap().is_none(),
        "{}",
        victim.log()
    );
    victim.child.kill().unwrap(); // SIGKILL
    let killed = Instant::now();
    let status = victim.wait_for(Duration::from_secs(10)).expect("killed");
    assert_eq!(status.code(), None, "killed by a signal");
    let paths = method_paths(&env.sim.requests().await);
    assert!(
        paths.iter().any(|p| p.ends_with("/append")),
        "the killed run appended: {paths:?}"
    );
    assert!(
        !paths.iter().any(|p| p.contains("updateFileHashList")),
        "{paths:?}"
    );

    // Rerun with the fault gone and one more IoC.
    env.sim.clear_faults().await;
    env.post_iocs(
        json!([{"value": "later.example", "type": "domain", "source": "DW",
                          "severity": "high"}]),
    )
    .await;
    env.sim.clear_requests().await;
    // Right after the kill the dead worker's lease still holds; within its lapse it is gone.
    let log = env.share();
    assert!(
        log.contains("another worker is sharing"),
        "the lease outlives its holder by its lapse: {log}"
    );
    assert!(env.sim.requests().await.is_empty());
    let log = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let log = env.share();
        if !log.contains("another worker is sharing") {
            break log;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(15),
            "the dead worker's lease never lapsed: {log}"
        );
    };
    let paths = method_paths(&env.sim.requests().await);
    assert!(
        paths.iter().any(|p| p.ends_with("/replace")),
        "the unconfirmed list is replaced whole: {paths:?}\n{log}"
    );
    assert!(!paths.iter().any(|p| p.ends_with("/append")), "{paths:?}");
    assert!(
        paths.iter().any(|p| p == &format!("POST {DEPLOY}")),
        "{paths:?}"
    );
    let want = sorted(&[
        "198.51.100.7",
        "evil.example",
        "kept.example",
        "late.example",
        "later.example",
    ]);
    assert_eq!(env.sim.deployed("ce-iocs").await.unwrap(), want);
    let mut pending = env.sim.pending("ce-iocs").await;
    pending.sort();
    assert_eq!(pending, want, "no entry twice");
    assert_eq!(env.sim.hashes("ce-hashes").await, sorted(&[MD5, SHA]));
    for v in ["late.example", "later.example", "evil.example"] {
        let ind = env.indicator(v).await;
        assert_eq!(ns_status(&ind), Some(("shared".into(), None)), "{ind}");
    }
    let (ok, message) = env.ns_share_run().await;
    assert_eq!(ok, true, "{message}");

    // And the run after that is quiet again.
    env.sim.clear_requests().await;
    env.share();
    let requests = env.sim.requests().await;
    assert!(requests.is_empty(), "{:?}", method_paths(&requests));
    eprintln!("kill -9: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_started_at_once_push_once() {
    let started = Instant::now();
    let mut env = story().await;
    env.post_iocs(
        json!([{"value": "both.example", "type": "domain", "source": "DW",
                          "severity": "high"}]),
    )
    .await;
    env.sim
        .fault(json!({"kind": "latency", "millis": 4_000, "count": 1, "path_prefix": DEPLOY}))
        .await;
    env.sim.clear_requests().await;
    let mut a = env.spawn_share(&[]);
    let mut b = env.spawn_share(&[]);
    let sa = a.wait_for(Duration::from_secs(120)).expect("worker a");
    let sb = b.wait_for(Duration::from_secs(120)).expect("worker b");
    let (la, lb) = (a.log(), b.log());
    assert_eq!(sa.code(), Some(0), "{la}");
    assert_eq!(sb.code(), Some(0), "{lb}");
    let busy = |l: &str| l.contains("another worker is sharing");
    assert!(
        busy(&la) != busy(&lb),
        "exactly one worker skips:\n--- a\n{la}\n--- b\n{lb}"
    );
    let paths = method_paths(&env.sim.requests().await);
    assert_eq!(
        paths.iter().filter(|p| p.ends_with("/append")).count(),
        1,
        "{paths:?}"
    );
    assert_eq!(
        paths
            .iter()
            .filter(|p| *p == &format!("POST {DEPLOY}"))
            .count(),
        1,
        "{paths:?}"
    );
    let mut want: Vec<&str> = FIRST_URLS.to_vec();
    want.push("both.example");
    assert_eq!(env.sim.deployed("ce-iocs").await.unwrap(), sorted(&want));
    eprintln!("two workers: {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_worker_keeps_its_lease_past_the_lapse_by_renewing_it() {
    let mut env = story().await;
    env.post_iocs(
        json!([{"value": "slow.example", "type": "domain", "source": "DW",
                          "severity": "high"}]),
    )
    .await;
    env.sim
        .fault(json!({"kind": "latency", "millis": 4_000, "count": 1, "path_prefix": DEPLOY}))
        .await;
    env.sim.clear_requests().await;
    let mut a = env.spawn_share(&["--share-lease-seconds", "1"]);
    // The simulator logs a request when it answers: the append is logged, the deploy hangs.
    let deploying = wait_for_request(&env.sim, Duration::from_secs(60), |r| {
        r["path"].as_str().is_some_and(|p| p.ends_with("/append"))
    })
    .await;
    assert!(deploying, "{}", a.log());
    // Two lapses later the first worker is still inside its deploy, renewing its lease.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(a.child.try_wait().unwrap().is_none(), "{}", a.log());
    let log = env.share();
    assert!(
        log.contains("another worker is sharing"),
        "a renewed lease keeps the second worker out: {log}"
    );
    let sa = a.wait_for(Duration::from_secs(60)).expect("worker a");
    assert_eq!(sa.code(), Some(0), "{}", a.log());
    let paths = method_paths(&env.sim.requests().await);
    assert_eq!(
        paths
            .iter()
            .filter(|p| *p == &format!("POST {DEPLOY}"))
            .count(),
        1,
        "{paths:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_share_finishes_the_target_then_stops_and_gives_the_lease_back() {
    let mut env = story().await;
    let new_md5 = "fedcba9876543210fedcba9876543210";
    env.post_iocs(json!([
        {"value": "late.example", "type": "domain", "source": "DW", "severity": "high"},
        {"value": new_md5, "type": "md5", "source": "DW", "severity": "high"}
    ]))
    .await;
    env.sim
        .fault(json!({"kind": "latency", "millis": 3_000, "count": 1, "path_prefix": DEPLOY}))
        .await;
    env.sim.clear_requests().await;
    let mut worker = env.spawn_share(&[]);
    // The URL list's change is logged when answered; the deploy after it hangs for 3 s.
    let pushing = wait_for_request(&env.sim, Duration::from_secs(60), |r| {
        r["path"].as_str().is_some_and(|p| p.ends_with("/append"))
    })
    .await;
    assert!(pushing, "{}", worker.log());
    let term = Command::new("kill")
        .args(["-TERM", &worker.child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = worker
        .wait_for(Duration::from_secs(60))
        .expect("the worker stops");
    assert_eq!(status.code(), Some(0), "{}", worker.log());
    assert!(worker.log().contains("stop requested"), "{}", worker.log());
    // The URL list's push was finished and deployed; the hash list, the next target, was left.
    assert!(env
        .sim
        .deployed("ce-iocs")
        .await
        .unwrap()
        .contains(&"late.example".to_string()));
    assert!(!env
        .sim
        .hashes("ce-hashes")
        .await
        .contains(&new_md5.to_string()));
    // No lease is left behind: the next run goes ahead at once and pushes the rest.
    let log = env.share();
    assert!(!log.contains("another worker is sharing"), "{log}");
    assert!(env
        .sim
        .hashes("ce-hashes")
        .await
        .contains(&new_md5.to_string()));
}

/// Hostname `i` of the cap test, `len` characters.
fn cap_host(i: usize, len: usize) -> String {
    let head = format!("h{i:06}");
    let tail = ".example.org";
    format!("{head}{}{tail}", "x".repeat(len - head.len() - tail.len()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_byte_cap_keeps_the_newest_and_leaves_the_oldest_unshared() {
    // CE's cost of a value is len(json.dumps(v)) + 3 (+ 1 for the first): len + 5 here.
    const LEN: usize = 25;
    const COUNT: usize = 45_000;
    const BATCH: usize = 5_000;
    let cap = 1024 * 1024;
    let fit = (cap - 1) / (LEN + 5);
    assert!(fit < COUNT);
    let started = Instant::now();
    let mut env = Env::start().await;
    env.share_with(
        json!([{"label": "Add to URL List", "value": "url", "parameters": {
        "list": "create", "name": "ce-cap", "url_list_type": "Exact", "max_url_list_cap": 1}}]),
    )
    .await;
    // IoC `i` was last seen `COUNT - i` seconds before `base`: the higher `i`, the newer.
    let base = Utc::now() - chrono::Duration::hours(1);
    for chunk in (0..COUNT).collect::<Vec<_>>().chunks(BATCH) {
        let iocs: Vec<Value> = chunk
            .iter()
            .map(|&i| {
                let seen = rfc3339(base - chrono::Duration::seconds((COUNT - i) as i64));
                json!({"value": cap_host(i, LEN), "type": "hostname", "source": "DW",
                       "severity": "low", "firstSeen": seen, "lastSeen": seen})
            })
            .collect();
        env.post_iocs(Value::Array(iocs)).await;
    }
    let posted = started.elapsed();
    let share_started = Instant::now();
    env.share();
    let shared_in = share_started.elapsed();

    let newest: BTreeSet<String> = (COUNT - fit..COUNT).map(|i| cap_host(i, LEN)).collect();
    let deployed = env.sim.deployed("ce-cap").await.unwrap();
    assert_eq!(deployed.len(), fit);
    assert_eq!(
        deployed.into_iter().collect::<BTreeSet<_>>(),
        newest,
        "the newest lastSeen fill the list"
    );
    // Statuses at both ends and across the cut, through REST sorted by lastSeen.
    let page = |skip: usize, limit: usize| {
        format!(
            "/api/cte/indicators/?sort=sources.lastSeen&ascending=true&skip={skip}&limit={limit}"
        )
    };
    let cut = COUNT - fit; // index of the oldest shared IoC
    for (skip, limit) in [(0, 100), (cut - 50, 100), (COUNT - 100, 100)] {
        let (s, v) = env.api.json(M::GET, &page(skip, limit), None).await;
        assert_eq!(s, 200, "{v}");
        let items = v.as_array().unwrap();
        assert_eq!(items.len(), limit);
        for (k, ind) in items.iter().enumerate() {
            let i = skip + k;
            assert_eq!(ind["value"], cap_host(i, LEN), "sorted by lastSeen");
            let status = ns_status(ind).unwrap_or_else(|| panic!("no status: {ind}"));
            if i < cut {
                assert_eq!(
                    status,
                    ("unshared".into(), Some("unshared: over 1 MB cap".into())),
                    "{ind}"
                );
                assert!(shared_with(ind).is_empty());
            } else {
                assert_eq!(status, ("shared".into(), None), "{ind}");
                assert_eq!(shared_with(ind), vec!["NS"]);
            }
        }
    }
    let (ok, message) = env.ns_share_run().await;
    assert_eq!(ok, true, "{message}");
    assert!(
        message.contains(&format!("{fit} shared, {cut} unshared, 0 failed")),
        "{message}"
    );
    eprintln!(
        "cap: posted {COUNT} IoCs in {posted:?}, shared in {shared_in:?}, total {:?}",
        started.elapsed()
    );
}
