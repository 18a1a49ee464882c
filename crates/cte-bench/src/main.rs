//! `cte-bench`: measures the performance targets of issue 8 against the real `cte-server` over
//! loopback HTTP, each beside its baseline in the same run, prints a table and writes the same
//! figures as JSON.
//!
//! `cargo run --release -p cte-bench -- [--quick]` (`just bench`). `--quick` uses 100,000 rows.

mod child;
mod floor;
mod gen;
mod pull;
mod server;
mod share;
mod sim;
mod stats;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde::Serialize;

use crate::server::{Memory, Server};
use crate::stats::{summarize, Summary};

#[derive(Parser, Debug, Serialize)]
#[command(about = "Benchmarks of the Threat Exchange performance targets (issue 8)")]
struct Args {
    /// 100,000 rows instead of 1,000,000: a smoke run for CI that prints the same ratios.
    #[arg(long)]
    quick: bool,
    /// Rows to ingest (overrides the size --quick chooses).
    #[arg(long)]
    rows: Option<u64>,
    /// IoCs per POST request.
    #[arg(long, default_value_t = 10_000)]
    batch: u64,
    /// Times the ingest (and its floor) runs, each from an empty database; the ingest figures are
    /// the median over the runs, with their spread.
    #[arg(long, default_value_t = 3)]
    repeat: u32,
    /// POST requests in flight at once during the ingest and the re-post (one connection each);
    /// with more than one, the ingest also runs once with one request at a time, for comparison.
    #[arg(long, default_value_t = 2)]
    clients: usize,
    /// Already stored IoCs re-posted per re-post round (three rounds).
    #[arg(long, default_value_t = 100_000)]
    repost: u64,
    /// Requests per list-page case (fewer if a case exceeds its time budget).
    #[arg(long, default_value_t = 200)]
    samples: u32,
    /// Data-set seed.
    #[arg(long, default_value_t = 20_260_101)]
    seed: u64,
    /// Where to write the JSON figures.
    #[arg(long, default_value = "target/bench.json")]
    out: PathBuf,
    /// The `cte-server` binary (default: built by cargo next to this one).
    #[arg(long)]
    server_bin: Option<PathBuf>,
    /// Directory for the temporary databases (default: the system temp directory).
    #[arg(long)]
    tmp: Option<PathBuf>,
    /// Share plan and pull, against netskope-sim.
    #[command(flatten)]
    #[serde(flatten)]
    tenant: sim::TenantArgs,
}

/// One line of the table and one element of the JSON `figures` array.
#[derive(Debug, Serialize)]
struct Figure {
    id: &'static str,
    measure: String,
    unit: &'static str,
    /// Median, when measurable.
    value: Option<f64>,
    summary: Option<Summary>,
    target: &'static str,
    /// Whether the target holds, when it has one and the value is measurable.
    pass: Option<bool>,
    note: String,
}

impl Figure {
    fn measured(
        id: &'static str,
        measure: impl Into<String>,
        unit: &'static str,
        samples: &[f64],
        target: &'static str,
        pass: impl Fn(&Summary) -> bool,
    ) -> Figure {
        let s = summarize(samples);
        Figure {
            id,
            measure: measure.into(),
            unit,
            value: Some(s.median),
            pass: (!target.is_empty()).then(|| pass(&s)),
            summary: Some(s),
            target,
            note: String::new(),
        }
    }

    fn missing(id: &'static str, measure: &str, target: &'static str, why: &str) -> Figure {
        Figure {
            id,
            measure: measure.into(),
            unit: "",
            value: None,
            summary: None,
            target,
            pass: None,
            note: format!("not yet measurable ({why})"),
        }
    }

    fn note(mut self, note: impl Into<String>) -> Figure {
        self.note = note.into();
        self
    }
}

/// Segment throughputs of one ingest run: IoCs/s per segment of `segment` rows.
fn segment_rates(durations: &[Duration], batch: u64, segment: u64) -> Vec<f64> {
    let per = (segment / batch).max(1) as usize;
    durations
        .chunks(per)
        .map(|c| (c.len() as u64 * batch) as f64 / c.iter().sum::<Duration>().as_secs_f64())
        .collect()
}

fn rate(rows: u64, durations: &[Duration]) -> f64 {
    rows as f64 / durations.iter().sum::<Duration>().as_secs_f64()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    model: String,
    mem_total_kib: u64,
}

fn machine() -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    Machine {
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        model: cpuinfo
            .lines()
            .find_map(|l| l.strip_prefix("model name"))
            .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
            .unwrap_or_default(),
        mem_total_kib: meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|l| l.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
    }
}

/// The five typical filters of the list-page target, as CE's `filters` JSON.
const FILTERS: [(&str, &str); 5] = [
    ("by type", r#"{"type":"sha256"}"#),
    (
        "by tag",
        r#"{"sources":{"$elemMatch":{"tags":{"$in":["tagX"]}}}}"#,
    ),
    (
        "by severity in sources",
        r#"{"sources":{"$elemMatch":{"severity":{"$in":["high","critical"]}}}}"#,
    ),
    (
        "by source",
        r#"{"sources":{"$elemMatch":{"source":"src2"}}}"#,
    ),
    (
        "by lastSeen range",
        r#"{"sources":{"$elemMatch":{"lastSeen":{"$gte":"2026-01-01T00:00:00Z","$lt":"2026-02-01T00:00:00Z"}}}}"#,
    ),
];

/// A list-page case: name, query parameters besides `limit` and `skip`, and whether the
/// p99 target applies.
type ListCase = (String, Vec<(&'static str, String)>, bool);

/// Time budget of one list-page case, so a slow case cannot stall the run.
const LIST_BUDGET: Duration = Duration::from_secs(20);

struct IngestRun {
    /// Per request, the time from the previous answer to its answer (they add up to the wall time).
    rest: Vec<Duration>,
    /// Per request, from send to the last byte of the answer.
    latencies: Vec<Duration>,
    floor: Vec<Duration>,
    idle: Memory,
    after: Memory,
    response_bytes: usize,
    /// Server CPU seconds spent in the ingest requests.
    server_cpu: f64,
}

/// Rows `0..rows` of the data set, in batches of `--batch` (the same for the floor and REST).
fn batches(args: &Args, rows: u64) -> impl Iterator<Item = Vec<gen::Ioc>> + '_ {
    (0..rows.div_ceil(args.batch)).map(move |b| {
        let start = b * args.batch;
        gen::batch(args.seed, start, args.batch.min(rows - start))
    })
}

async fn ingest_run(
    args: &Args,
    bin: &std::path::Path,
    http: &reqwest::Client,
    rows: u64,
    clients: usize,
) -> anyhow::Result<(IngestRun, Server)> {
    let mut floor = floor::Floor::new(args.tmp.as_deref())?;
    let mut floor_times = Vec::with_capacity(rows.div_ceil(args.batch) as usize);
    for batch in batches(args, rows) {
        floor_times.push(floor.insert(&batch)?);
    }
    drop(floor);

    let (posted, server_cpu, server) = rest_ingest(args, bin, http, rows, clients).await?;
    let run = IngestRun {
        server_cpu,
        rest: posted.intervals,
        latencies: posted.latencies,
        floor: floor_times,
        idle: server.idle,
        after: server.memory()?,
        response_bytes: posted.answer_bytes,
    };
    Ok((run, server))
}

/// A fresh server, and `rows` IoCs posted to it from empty with `clients` requests in flight.
/// The bodies are all built before the clock starts (about 350 bytes per IoC), so that building
/// them takes no CPU from the server while it is timed. Also returns the server's CPU seconds.
async fn rest_ingest(
    args: &Args,
    bin: &std::path::Path,
    http: &reqwest::Client,
    rows: u64,
    clients: usize,
) -> anyhow::Result<(server::Posted, f64, Server)> {
    let bodies: Vec<Vec<u8>> = batches(args, rows).map(|b| gen::body(&b)).collect();
    let server = Server::start(bin, http, args.tmp.as_deref()).await?;
    let cpu_before = server.cpu_seconds()?;
    eprint!(
        "  REST ingest, {clients} request(s) in flight, load {} ... ",
        loadavg()
    );
    let posted = server.post_all(http, bodies, clients).await?;
    let server_cpu = server.cpu_seconds()? - cpu_before;
    eprintln!("{:.0} IoCs/s", rate(rows, &posted.intervals));
    Ok((posted, server_cpu, server))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let rows = args
        .rows
        .unwrap_or(if args.quick { 100_000 } else { 1_000_000 });
    let repeat = args.repeat.max(1);
    // A segment holds whole rounds of `clients` requests: with two in flight, two answers come
    // close together, and a segment of one request would measure only the gap between them.
    let round = args.batch * args.clients.max(1) as u64;
    let segment = if rows >= 1_000_000 {
        100_000
    } else {
        rows / 10
    }
    .div_ceil(round)
        * round;
    let bin = server::locate(args.server_bin.clone())?;
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(600))
        .build()?;
    let machine = machine();
    let load_before = loadavg();
    let started = Instant::now();
    eprintln!(
        "cte-bench: {rows} rows, {} per request, {repeat} run(s); {} x {}, load {load_before}",
        args.batch, machine.cpus, machine.model
    );

    let mut runs = Vec::new();
    let mut server = None;
    for r in 0..repeat {
        eprintln!("run {}/{repeat}", r + 1);
        let (run, s) = ingest_run(&args, &bin, &http, rows, args.clients).await?;
        eprintln!(
            "  floor {:.0} IoCs/s, REST {:.0} IoCs/s",
            rate(rows, &run.floor),
            rate(rows, &run.rest)
        );
        runs.push(run);
        server = Some(s);
    }
    let server = server.expect("at least one run");
    let mut figures = Vec::new();

    // Ingest, beside its floor.
    let rest_rates: Vec<f64> = runs.iter().map(|r| rate(rows, &r.rest)).collect();
    let floor_rates: Vec<f64> = runs.iter().map(|r| rate(rows, &r.floor)).collect();
    let ratios: Vec<f64> = rest_rates
        .iter()
        .zip(&floor_rates)
        .map(|(a, b)| a / b)
        .collect();
    let mut last_first = Vec::new();
    let mut segments_note = String::new();
    for run in &runs {
        let seg = segment_rates(&run.rest, args.batch, segment);
        last_first.push(seg[seg.len() - 1] / seg[0]);
        segments_note = format!(
            "segments of {segment}: {}",
            seg.iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        );
    }
    let seg_summary = summarize(&segment_rates(
        &runs[runs.len() - 1].rest,
        args.batch,
        segment,
    ));
    let latency = summarize(
        &runs[runs.len() - 1]
            .latencies
            .iter()
            .map(|d| d.as_secs_f64() * 1000.0)
            .collect::<Vec<_>>(),
    );
    figures.push(
        Figure::measured(
            "rest_ingest",
            format!(
                "REST ingest, {} per POST, {} in flight, empty to {rows}",
                args.batch, args.clients
            ),
            "IoCs/s",
            &rest_rates,
            ">= 100000",
            |s| s.median >= 100_000.0,
        )
        .note(format!(
            "last run {segments_note} (median {:.0}, min {:.0}, max {:.0}); answer {} bytes per request; request latency median {:.0} ms, max {:.0} ms",
            seg_summary.median,
            seg_summary.min,
            seg_summary.max,
            runs[runs.len() - 1].response_bytes,
            latency.median,
            latency.max,
        )),
    );
    if args.clients > 1 {
        // The same ingest with one request at a time, on a server of its own: what a single
        // client that waits for each answer gets.
        let (posted, _, one) = rest_ingest(&args, &bin, &http, rows, 1).await?;
        drop(one);
        let seg = segment_rates(&posted.intervals, args.batch, segment);
        figures.push(
            Figure::measured(
                "rest_ingest_one_client",
                format!(
                    "REST ingest, {} per POST, one at a time, empty to {rows}",
                    args.batch
                ),
                "IoCs/s",
                &[rate(rows, &posted.intervals)],
                "",
                |_| true,
            )
            .note(format!(
                "segments of {segment}: {}; last / first {:.2}",
                seg.iter()
                    .map(|r| format!("{r:.0}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                seg[seg.len() - 1] / seg[0]
            )),
        );
    }
    let cpu_per_10k: Vec<f64> = runs
        .iter()
        .map(|r| r.server_cpu * 1000.0 * 10_000.0 / rows as f64)
        .collect();
    figures.push(
        Figure::measured(
            "rest_ingest_server_cpu",
            "REST ingest, server CPU (user + system) per 10,000 IoCs",
            "ms",
            &cpu_per_10k,
            "",
            |_| true,
        )
        .note("from /proc/<pid>/stat; steadier than the rates when the machine is shared"),
    );
    figures.push(Figure::measured(
        "rest_ingest_last_vs_first",
        format!("REST ingest, last {segment} / first {segment}"),
        "ratio",
        &last_first,
        ">= 0.8",
        |s| s.median >= 0.8,
    ));
    let floor_segments = segment_rates(&runs[runs.len() - 1].floor, args.batch, segment);
    figures.push(
        Figure::measured(
            "floor_insert",
            format!(
                "bare rusqlite insert of the same rows ({} per tx)",
                args.batch
            ),
            "IoCs/s",
            &floor_rates,
            "",
            |_| true,
        )
        .note(format!(
            "last run segments of {segment}: {}",
            floor_segments
                .iter()
                .map(|r| format!("{r:.0}"))
                .collect::<Vec<_>>()
                .join(" ")
        )),
    );
    figures.push(Figure::measured(
        "rest_vs_floor",
        "REST ingest / bare insert",
        "ratio",
        &ratios,
        ">= 0.5",
        |s| s.median >= 0.5,
    ));

    // Re-post of stored IoCs: reconciliation.
    let n_repost = args.repost.min(rows);
    let stride = rows / n_repost;
    let mut repost_rates = Vec::new();
    let mut repost_cpu = Vec::new();
    for round in 0..3 {
        let mut bodies = Vec::new();
        let mut k = 0;
        while k < n_repost {
            let n = args.batch.min(n_repost - k);
            let batch: Vec<gen::Ioc> = (k..k + n)
                .map(|j| gen::repost(args.seed, j * stride, round))
                .collect();
            bodies.push(gen::body(&batch));
            k += n;
        }
        let cpu_before = server.cpu_seconds()?;
        let posted = server.post_all(&http, bodies, args.clients).await?;
        repost_cpu.push((server.cpu_seconds()? - cpu_before) * 1000.0 * 10_000.0 / n_repost as f64);
        repost_rates.push(rate(n_repost, &posted.intervals));
    }
    figures.push(
        Figure::measured(
            "repost",
            format!(
                "re-post {n_repost} stored IoCs at {rows} stored, {} in flight (3 rounds)",
                args.clients
            ),
            "IoCs/s",
            &repost_rates,
            ">= 100000",
            |s| s.median >= 100_000.0,
        )
        .note("later lastSeen; every other row from a second source"),
    );
    figures.push(
        Figure::measured(
            "repost_server_cpu",
            "re-post, server CPU (user + system) per 10,000 IoCs",
            "ms",
            &repost_cpu,
            "",
            |_| true,
        )
        .note("from /proc/<pid>/stat; steadier than the rates when the machine is shared"),
    );

    // List pages.
    let mut cases: Vec<ListCase> = vec![
        ("unfiltered".into(), vec![], false),
        (
            "sorted by sources.lastSeen desc".into(),
            vec![
                ("sort", "sources.lastSeen".into()),
                ("ascending", "false".into()),
            ],
            false,
        ),
    ];
    for (name, filter) in FILTERS {
        cases.push((
            format!("filter {name}"),
            vec![("filters", filter.to_string())],
            true,
        ));
    }
    for (name, extra, is_target) in cases {
        let mut latencies = Vec::new();
        let mut refused = None;
        let case_start = Instant::now();
        for k in 0..args.samples + 3 {
            let mut query = vec![
                ("limit", "100".to_string()),
                ("skip", (k % 10 * 100).to_string()),
            ];
            query.extend(extra.iter().cloned());
            let t0 = Instant::now();
            match server.list(&http, &query).await? {
                Ok(_) => {}
                Err(text) => {
                    refused = Some(text);
                    break;
                }
            }
            // The first three requests warm the caches and are not counted.
            if k >= 3 {
                latencies.push(t0.elapsed().as_secs_f64() * 1000.0);
            }
            if case_start.elapsed() > LIST_BUDGET && latencies.len() >= 5 {
                break;
            }
        }
        let measure = format!("GET page of 100, {name}, at {rows}");
        let target = if is_target { "p99 < 20" } else { "" };
        figures.push(match refused {
            Some(text) => Figure::missing(
                "list_page",
                &measure,
                target,
                &format!("needs the filter language; server said {text}"),
            ),
            None => {
                let mut f = Figure::measured("list_page", measure, "ms", &latencies, target, |s| {
                    s.p99 < 20.0
                });
                let s = f.summary.expect("measured");
                f.note = format!("p99 {:.1} ms over {} requests", s.p99, s.n);
                f
            }
        });
    }

    // Full export through cursor pages.
    let mut export_secs = Vec::new();
    let mut export_refused = None;
    for _ in 0..3 {
        let t0 = Instant::now();
        match server.export(&http, 10_000).await? {
            Ok((n, _)) => {
                anyhow::ensure!(n >= rows, "export returned {n} indicators of {rows}");
                export_secs.push(t0.elapsed().as_secs_f64());
            }
            Err(text) => {
                export_refused = Some(text);
                break;
            }
        }
    }
    let measure = format!("full export through cursor pages of 10,000 at {rows}");
    figures.push(match export_refused {
        Some(text) => Figure::missing(
            "export",
            &measure,
            "< 10 s",
            &format!("needs cursor pages; server said {text}"),
        ),
        None => Figure::measured("export", measure, "s", &export_secs, "< 10 s", |s| {
            s.median < 10.0
        }),
    });

    // Memory.
    let kib_to_mb = |k: u64| k as f64 / 1024.0;
    let idle: Vec<f64> = runs.iter().map(|r| kib_to_mb(r.idle.rss_kib)).collect();
    figures.push(Figure::measured(
        "rss_idle",
        "cte-server RSS after start",
        "MiB",
        &idle,
        "< 30",
        |s| s.median < 30.0,
    ));
    let after: Vec<f64> = runs.iter().map(|r| kib_to_mb(r.after.rss_kib)).collect();
    let hwm: Vec<f64> = runs.iter().map(|r| kib_to_mb(r.after.hwm_kib)).collect();
    figures.push(
        Figure::measured(
            "rss_after_ingest",
            format!("cte-server RSS after ingesting {rows}"),
            "MiB",
            &after,
            "report",
            |_| true,
        )
        .note(format!(
            "peak (VmHWM) median {:.1} MiB",
            summarize(&hwm).median
        )),
    );
    let end = server.memory()?;
    figures.push(
        Figure::measured(
            "rss_end",
            "cte-server RSS at the end of the run",
            "MiB",
            &[kib_to_mb(end.rss_kib)],
            "report",
            |_| true,
        )
        .note(format!("peak (VmHWM) {:.1} MiB", kib_to_mb(end.hwm_kib))),
    );
    drop(server);

    figures.extend(share::run(&args, &bin, &http).await?);
    figures.extend(pull::run(&args, &bin, &http).await?);

    let load_after = loadavg();
    print_table(&figures);
    println!(
        "{} x {}; load average before {load_before}, after {load_after}; {:.0} s",
        machine.cpus,
        machine.model,
        started.elapsed().as_secs_f64()
    );

    let report = serde_json::json!({
        "args": args,
        "rows": rows,
        "repeat": repeat,
        "machine": machine,
        "load_before": load_before,
        "load_after": load_after,
        "seconds": started.elapsed().as_secs_f64(),
        "figures": figures,
    });
    if let Some(dir) = args.out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&args.out, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!("figures written to {}", args.out.display());
    Ok(())
}

fn print_table(figures: &[Figure]) {
    println!(
        "{:<62} {:>11} {:>23} {:>4} {:<8} {:<10} {:<6}",
        "measure", "median", "min .. max", "n", "unit", "target", "ok"
    );
    for f in figures {
        let (value, spread, n) = match &f.summary {
            Some(s) => (
                fmt_num(s.median),
                format!("{} .. {}", fmt_num(s.min), fmt_num(s.max)),
                s.n.to_string(),
            ),
            None => ("-".into(), String::new(), String::new()),
        };
        let ok = match f.pass {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        println!(
            "{:<62} {:>11} {:>23} {:>4} {:<8} {:<10} {:<6}",
            f.measure, value, spread, n, f.unit, f.target, ok
        );
        if !f.note.is_empty() {
            println!("    {}", f.note);
        }
    }
}

fn fmt_num(v: f64) -> String {
    if v >= 1000.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.3}")
    }
}
