//! The share target of issue 8: plan 300,000 matching IoCs into the exact URL-list payload in
//! under a second, and push them with `cte-worker share --once` in under 200 MB.
//!
//! Set-up, as `bins/cte-worker/tests/share_e2e.rs` does it: a fresh `cte-server`, `netskope-sim`
//! saved as a tenant, a Netskope configuration with polling off, the rule "Every Severity" and a
//! sharing configuration from `src1` to an `Exact` URL list at CE's largest cap (7 MB). The IoCs
//! (URLs, domains, IPv4) all come from `src1` over REST and are short enough that 300,000 of them
//! fit the cap, so the plan holds all of them (CE's count limit is also 300,000).
//!
//! Measured: the engine's own planner in process on a second connection to the bench database
//! (`plan_push` and `PushCall::render`, what the worker runs before its first tenant call), the
//! same through `POST /api/cte/sharing/preview`, and the real worker against the simulator, whose
//! deployed list is then compared with the plan.

use std::collections::HashSet;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{anyhow, ensure, Context};
use chrono::Utc;
use cte_core::push::RenderedRequest;
use cte_core::share::{entry_cost, BYTES_PER_MB, MAX_LIST_ENTRIES};
use cte_core::store::Store;
use cte_engine::share::{plan_push, plan_target, sharing_filter, UrlListOnTenant};
use cte_store_sqlite::SqliteStore;
use reqwest::Method;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::child::{self, run_measured};
use crate::gen::{self, Ioc, Rng};
use crate::server::Server;
use crate::sim::{self, Sim};
use crate::{loadavg, Args, Figure};

/// The source every share row comes from (one the bench server creates).
const SOURCE: &str = "src1";
/// Tenant, destination configuration, rule and list names.
const TENANT: &str = "Bench";
const DEST: &str = "NS";
const RULE: &str = "Every Severity";
const LIST: &str = "ce-bench";
/// CE's largest URL-list cap, in MB.
const CAP_MB: u32 = 7;
/// Salt of the share rows' generator, so they differ from the ingest data set.
const SALT: u64 = 0x5348_4152_4521;

const WORDS: [&str; 12] = [
    "secure", "login", "update", "cdn", "mail", "verify", "bank", "cloud", "files", "pay", "auth",
    "shop",
];
const TLDS: [&str; 8] = ["com", "net", "org", "io", "ru", "cn", "xyz", "top"];
const EXTS: [&str; 4] = ["php", "html", "exe", "js"];
const SEVERITIES: [&str; 5] = ["unknown", "low", "medium", "high", "critical"];

fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.iter().rev().map(|&b| char::from(b)).collect()
}

/// Share row `i`: an IPv4 (40 %), a domain (35 %) or a URL (25 %) from `src1`, canonical and
/// unique (each value holds `i`), last seen in the 30 days before `now_ms`. Values average about
/// 16 characters, so 300,000 cost about 6.4 MB of CE's 7 MB cap.
pub fn share_ioc(seed: u64, i: u64, now_ms: i64) -> Ioc {
    let mut rng = Rng::for_row(seed ^ SALT, i);
    let pick =
        |rng: &mut Rng, items: &[&'static str]| items[rng.below(items.len() as u64) as usize];
    let id = base36(i);
    let (kind, value) = match rng.below(20) {
        0..=7 => {
            // Multiplying by an odd constant permutes u32: distinct rows, distinct addresses.
            let ip = (i as u32).wrapping_mul(0x9E37_79B1) ^ 0x5bd1_e995;
            let [a, b, c, d] = ip.to_be_bytes();
            ("ipv4", format!("{a}.{b}.{c}.{d}"))
        }
        8..=14 => (
            "domain",
            format!("{}-d{id}.{}", pick(&mut rng, &WORDS), pick(&mut rng, &TLDS)),
        ),
        _ => {
            let scheme = if rng.below(10) < 3 { "http://" } else { "" };
            (
                "url",
                format!(
                    "{scheme}{}-u{id}.{}/{}.{}",
                    pick(&mut rng, &WORDS),
                    pick(&mut rng, &TLDS),
                    base36(rng.below(36 * 36 * 36)),
                    pick(&mut rng, &EXTS)
                ),
            )
        }
    };
    const DAY_MS: u64 = 86_400_000;
    let last_seen_ms = now_ms - rng.below(30 * DAY_MS) as i64;
    let first_seen_ms = last_seen_ms - rng.below(30 * DAY_MS) as i64;
    Ioc {
        value,
        kind,
        source: SOURCE,
        tags: Vec::new(),
        severity: pick(&mut rng, &SEVERITIES),
        reputation: 1 + rng.below(10) as u8,
        first_seen: gen::rfc3339_ms(first_seen_ms),
        last_seen: gen::rfc3339_ms(last_seen_ms),
        comments: "",
        extended_information: String::new(),
        first_seen_ms,
        last_seen_ms,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// The sharing configuration: an `Exact` URL list created by the push, at CE's largest cap.
fn url_action() -> Value {
    json!([{"label": "Add to URL List", "value": "url", "parameters": {
        "list": "create", "name": LIST, "url_list_type": "Exact",
        "max_url_list_cap": CAP_MB, "default_url": "cedefaultpush.io"}}])
}

/// The rule of the e2e tests: every severity, i.e. every IoC.
fn rule() -> Value {
    json!({"name": RULE, "filters": {"query": "", "mongo":
        "{\"sources\": {\"$elemMatch\": {\"severity\": {\"$in\": [\"unknown\",\"low\",\"medium\",\"high\",\"critical\"]}}}}"}})
}

/// One in-process plan: seconds, the planned entries, and the rendered requests.
struct Plan {
    secs: f64,
    entries: Vec<String>,
    requests: Vec<RenderedRequest>,
}

/// The worker's planner on a second connection: `plan_push` for a list the tenant does not have
/// yet (what the first push sends: list read, create with every entry, deploy), then each call
/// rendered to its exact request.
fn plan_once(
    store: &SqliteStore,
    rule: &cte_core::rule::BusinessRule,
    dest: &cte_core::config::Configuration,
    action: &cte_core::rule::Action,
) -> anyhow::Result<Plan> {
    let t0 = Instant::now();
    let planned = plan_push(
        store,
        rule,
        SOURCE,
        dest,
        action,
        UrlListOnTenant::Missing,
        Utc::now(),
    )
    .map_err(|e| anyhow!("plan_push: {e}"))?;
    let requests: Vec<RenderedRequest> = planned.calls.iter().map(|c| c.call.render()).collect();
    let secs = t0.elapsed().as_secs_f64();
    Ok(Plan {
        secs,
        entries: planned.plan.entries,
        requests,
    })
}

/// Milliseconds of the planner's three steps, each timed alone: candidate selection (SQL),
/// CE's cut, rendering of the create body.
fn plan_steps(
    store: &SqliteStore,
    rule: &cte_core::rule::BusinessRule,
    action: &cte_core::rule::Action,
) -> anyhow::Result<(f64, f64, f64)> {
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    let t0 = Instant::now();
    let filter =
        sharing_filter(rule, SOURCE, Utc::now()).map_err(|e| anyhow!("sharing_filter: {e}"))?;
    let candidates = store.share_candidates(&filter, SOURCE)?;
    let select = ms(t0);
    let target =
        cte_core::rule::ShareTarget::from_action(action).map_err(|e| anyhow!("target: {e}"))?;
    let t1 = Instant::now();
    let (_, plan) = plan_target(&candidates, &target);
    let cut = ms(t1);
    let t2 = Instant::now();
    let body = cte_core::push::PushCall::CreateUrlList {
        name: LIST.into(),
        urls: plan.entries,
        list_type: cte_core::tenant::UrlListType::Exact,
    }
    .render()
    .body;
    let render = ms(t2);
    drop(body);
    Ok((select, cut, render))
}

/// The create request of a plan: its body length and SHA-256.
fn create_body(requests: &[RenderedRequest]) -> anyhow::Result<(usize, String)> {
    let create = requests
        .iter()
        .find(|r| r.method == "POST" && r.body.is_some() && !r.path.ends_with("/deploy"))
        .context("the plan creates no list")?;
    let body = create.body.as_deref().unwrap_or_default();
    Ok((body.len(), hex_sha256(body)))
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs the share measures; returns their figures (or one "skipped" row).
pub async fn run(
    args: &Args,
    server_bin: &std::path::Path,
    http: &reqwest::Client,
) -> anyhow::Result<Vec<Figure>> {
    let t = &args.tenant;
    if t.skip_share {
        return Ok(vec![Figure::missing(
            "share_plan",
            "share plan of matching IoCs into the URL-list payload",
            "< 1 s",
            "",
        )
        .note("skipped (--skip-share)")]);
    }
    let rows = t
        .share_rows
        .unwrap_or(if args.quick { 30_000 } else { 300_000 });
    let worker_bin = child::locate("cte-worker", "cte-worker", t.worker_bin.clone())?;
    let sim_bin = child::locate("netskope-sim", "netskope-sim", t.sim_bin.clone())?;
    let dir = match args.tmp.as_deref() {
        Some(root) => tempfile::tempdir_in(root)?,
        None => tempfile::tempdir()?,
    };
    eprintln!("share: {rows} matching IoCs, load {}", loadavg());

    let sim_args: Vec<String> = ["--malware-alerts", "0", "--malsite-alerts", "0"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let sim = Sim::start(&sim_bin, &sim_args, &dir.path().join("sim.log"))?;
    let server = Server::start(server_bin, http, args.tmp.as_deref()).await?;
    sim::save_tenant(http, &server, &sim, TENANT).await?;
    sim::save_netskope_configuration(
        http,
        &server,
        DEST,
        TENANT,
        json!({"is_pull_required": "No"}),
    )
    .await?;
    sim::call(
        http,
        &server,
        Method::POST,
        "/api/cte/business_rules",
        Some(&rule()),
    )
    .await?;
    sim::call(
        http,
        &server,
        Method::PATCH,
        "/api/cte/business_rule",
        Some(&json!({"name": RULE, "sharedWith": {SOURCE: {DEST: url_action()}}})),
    )
    .await?;

    let now = now_ms();
    let ingest_started = Instant::now();
    let mut bodies = Vec::new();
    let mut start = 0;
    while start < rows {
        let n = args.batch.min(rows - start);
        let batch: Vec<Ioc> = (start..start + n)
            .map(|i| share_ioc(args.seed, i, now))
            .collect();
        bodies.push(gen::body(&batch));
        start += n;
    }
    server.post_all(http, bodies, args.clients).await?;
    let stored = sim::stored_count(http, &server).await?;
    ensure!(
        stored == rows,
        "{stored} indicators stored of {rows} posted"
    );
    eprintln!(
        "  ingested {rows} in {:.1} s",
        ingest_started.elapsed().as_secs_f64()
    );

    // (a) In process: the worker's planner on a second connection (WAL).
    let store = SqliteStore::open(&server.db)?;
    let rule = store.business_rule(RULE)?.context("no rule")?;
    let dest = store.configuration(DEST)?.context("no destination")?;
    let action = rule
        .shared_with
        .get(SOURCE)
        .and_then(|d| d.get(DEST))
        .and_then(|a| a.first())
        .cloned()
        .context("no sharing configuration")?;
    let mut plan_secs = Vec::new();
    let mut last = None;
    for _ in 0..t.share_plan_repeat.max(1) {
        let plan = plan_once(&store, &rule, &dest, &action)?;
        plan_secs.push(plan.secs);
        last = Some(plan);
    }
    let plan = last.context("no plan")?;
    let (select_ms, cut_ms, render_ms) = plan_steps(&store, &rule, &action)?;
    drop(store);
    let planned = plan.entries.len();
    let expected = (rows as usize).min(MAX_LIST_ENTRIES);
    let (body_len, body_sha) = create_body(&plan.requests)?;
    let cost: usize = plan
        .entries
        .iter()
        .enumerate()
        .map(|(k, v)| entry_cost(v, k == 0))
        .sum();
    eprintln!(
        "  plan: {planned} entries, create body {body_len} bytes, median {:.3} s",
        crate::stats::summarize(&plan_secs).median
    );

    // (b) The same plan through REST.
    let mut preview_secs = Vec::new();
    let mut preview_note = String::new();
    for _ in 0..t.share_plan_repeat.clamp(1, 3) {
        let t0 = Instant::now();
        let v = sim::call(
            http,
            &server,
            Method::POST,
            "/api/cte/sharing/preview",
            Some(&json!({"rule": RULE, "sourceConfiguration": SOURCE,
                         "destinationConfiguration": DEST, "target": "url"})),
        )
        .await?;
        preview_secs.push(t0.elapsed().as_secs_f64());
        let entries = v["entries"].as_array().map_or(0, Vec::len);
        let create = v["requests"].as_array().and_then(|rs| {
            rs.iter()
                .find(|r| r["method"] == "POST" && !r["body"].is_null())
        });
        let same = create.is_some_and(|r| {
            r["byteLength"].as_u64() == Some(body_len as u64) && r["sha256"] == body_sha.as_str()
        });
        ensure!(
            entries == planned && same,
            "the preview differs from the in-process plan: {entries} entries, create {}",
            create.map_or("missing".to_string(), |r| format!(
                "{} bytes sha256 {}",
                r["byteLength"], r["sha256"]
            ))
        );
        preview_note = format!(
            "tenant list {}; {entries} entries, create body identical to the in-process one (SHA-256); includes the exclusions scan and the tenant's list read",
            v["listOnTenant"].as_str().unwrap_or("?")
        );
    }

    // (c) The real worker against the simulator.
    sim.clear_requests(http).await?;
    let load_before_worker = loadavg();
    let mut cmd = Command::new(&worker_bin);
    cmd.arg("--db")
        .arg(&server.db)
        .args(["--max-wait", "1", "share", "--once"])
        .env("CTE_LOG", "info");
    let worker = tokio::task::spawn_blocking({
        let log = dir.path().join("worker-share.log");
        move || run_measured(cmd, &log, Duration::from_secs(900))
    })
    .await??;
    ensure!(
        worker.status.success(),
        "cte-worker share --once exited {}: {}",
        worker.status,
        worker.log
    );
    let lists = sim.inspect(http, "lists").await?;
    let list = lists
        .as_array()
        .and_then(|ls| ls.iter().find(|l| l["name"] == LIST))
        .context("the simulator has no list ce-bench")?;
    let deployed: HashSet<&str> = list["deployed"]["urls"]
        .as_array()
        .context("list ce-bench was not deployed")?
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let wanted: HashSet<&str> = plan.entries.iter().map(String::as_str).collect();
    ensure!(
        deployed == wanted,
        "the deployed list holds {} entries, {} of them planned, of {} planned",
        deployed.len(),
        deployed.intersection(&wanted).count(),
        wanted.len()
    );
    let message = sim::last_run_message(http, &server, DEST, "share").await?;
    ensure!(
        message.contains(&format!("{planned} shared, 0 unshared, 0 failed")),
        "share run message: {message}"
    );
    let calls = sim.inspect(http, "requests").await?;
    let calls: Vec<String> = calls
        .as_array()
        .map(|rs| {
            rs.iter()
                .map(|r| {
                    format!(
                        "{} {}",
                        r["method"].as_str().unwrap_or("?"),
                        r["path"].as_str().unwrap_or("?")
                    )
                })
                .filter(|c| !c.contains("/__sim/"))
                .collect()
        })
        .unwrap_or_default();
    drop(server);
    drop(sim);

    let mib = |kib: u64| kib as f64 / 1024.0;
    let plan_summary = crate::stats::summarize(&plan_secs);
    Ok(vec![
        Figure::measured(
            "share_plan",
            format!("share plan of {rows} matching IoCs into the exact URL-list payload"),
            "s",
            &plan_secs,
            "< 1 s",
            |s| s.median < 1.0,
        )
        .note(format!(
            "in process (plan_push + render); {planned} of {expected} entries planned, CE cost {cost} of {} bytes; create body {body_len} bytes; one plan alone: candidates {select_ms:.0} ms, cut {cut_ms:.0} ms, render {render_ms:.0} ms; min {:.3} s; load {}",
            CAP_MB as usize * BYTES_PER_MB,
            plan_summary.min,
            loadavg()
        )),
        Figure::measured(
            "share_preview",
            format!("POST /api/cte/sharing/preview of the same {rows}"),
            "s",
            &preview_secs,
            "",
            |_| true,
        )
        .note(preview_note),
        Figure::measured(
            "share_worker_rss",
            format!("cte-worker share --once of {planned} entries: peak RSS"),
            "MiB",
            &[mib(worker.peak_kib)],
            "< 200",
            |s| s.median < 200.0,
        )
        .note(format!(
            "VmHWM polled every {} ms while it ran",
            child::POLL.as_millis()
        )),
        Figure::measured(
            "share_worker_wall",
            format!("cte-worker share --once of {planned} entries: wall"),
            "s",
            &[worker.wall.as_secs_f64()],
            "report",
            |_| true,
        )
        .note(format!(
            "deployed list = plan ({} entries); tenant calls {}; \"{message}\"; load before {load_before_worker}",
            deployed.len(),
            calls.join(", ")
        )),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use cte_core::indicator::IndicatorKind;
    use cte_core::normalize::normalize_value;

    #[test]
    fn share_rows_are_canonical_unique_and_fit_the_cap() {
        let now = 1_780_000_000_000;
        let mut seen = HashSet::new();
        let mut cost = 0;
        for i in 0..MAX_LIST_ENTRIES as u64 {
            let row = share_ioc(42, i, now);
            if i < 30_000 {
                let kind: IndicatorKind = row.kind.parse().unwrap();
                let canonical = normalize_value(kind, &row.value)
                    .unwrap_or_else(|e| panic!("row {i} {} {:?}: {e}", row.kind, row.value));
                assert_eq!(canonical, row.value, "row {i} is not canonical");
                assert!(row.last_seen_ms <= now && row.first_seen_ms <= row.last_seen_ms);
            }
            cost += entry_cost(&row.value, i == 0);
            assert!(seen.insert(row.value), "row {i} repeats");
        }
        assert!(
            cost < CAP_MB as usize * BYTES_PER_MB,
            "300,000 rows cost {cost} bytes"
        );
    }
}
