//! Ingestion load generator for a running ackbot: Alertmanager webhook
//! notifications (payload version 4) on `POST /api/v1/alertmanager`, HTTPS with
//! keep-alive, fixed concurrency. Every alert must be answered 202, which the
//! server sends only after the store committed it.
//!
//! ```text
//! cargo run --release --example ingestgen -- --url https://127.0.0.1:18454 \
//!     --cacert certs/server.crt --token bench-api-token-0123456789 rate --connections 16
//! cargo run --release --example ingestgen -- ... fill --count 100000
//! ```
//!
//! Two modes:
//!
//! - `rate`: phases of `--warmup` seconds unmeasured, then `--duration` seconds
//!   measured. Phase `unique`: every alert has a fingerprint and an `instance`
//!   label never sent before, so each one creates a record (plus its `fired`
//!   event). Phase `refold`: the same `--refold-set` fingerprints (1000) are sent
//!   again and again, so every occurrence folds into an existing firing record
//!   (`count + 1`, no event). The refold records are created before its warm-up.
//!   Diagnostic phase `nostore`: the `unique` requests with payload version 3,
//!   which the server parses and refuses with 400 before the store; its rate is
//!   the ceiling of HTTPS + authentication + JSON alone.
//! - `fill`: sends exactly `--count` unique alerts as fast as `--connections`
//!   allow, then `GET /api/v1/alerts?limit=1000`; with `--server-pid` it reads the
//!   server's RSS after each step (for the memory targets).
//!
//! Request bodies are built from one template rendered before the timing: a
//! request copies it and writes its 16-hex-digit alert ids in place (the
//! generator's JSON work is not measured). Success is a 202 whose body says
//! `"accepted":N` with N the alerts sent (`nostore`: a 400 naming the field
//! `version`); anything else (other status, transport error, timeout) is a
//! failure, counted, the first one printed, and the exit status is 1. Lines
//! starting with `RESULT` are for `bench/ingest.sh`.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};

#[derive(Parser, Debug, Clone)]
#[command(about = "HTTPS ingestion load generator for ackbot: Alertmanager webhooks")]
struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "https://127.0.0.1:18454")]
    url: String,
    /// PEM certificate to trust (the server's self-signed one). Without it,
    /// certificate verification is switched off.
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// A token from the server's `[api] tokens`.
    #[arg(long)]
    token: String,
    /// Alerts per notification (Alertmanager's group size).
    #[arg(long, default_value_t = 10)]
    per_request: usize,
    /// Client runtime threads (the server's workers share the same cores).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The server's process id (Linux): report its CPU time per alert, the CPU
    /// of its busiest threads, and (fill) its RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Label put in the RESULT lines (e.g. the server's worker count).
    #[arg(long, default_value = "-")]
    tag: String,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug, Clone)]
enum Mode {
    /// Fixed-duration phases: alerts/s, latency, failures.
    Rate {
        /// Concurrent keep-alive connections (one task each).
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Unmeasured seconds at the start of each phase.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
        /// Measured seconds per phase.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Phases to run, in order: `unique`, `refold`, and the diagnostic
        /// `nostore` (version 3 payloads, refused with 400 before the store).
        #[arg(long, value_delimiter = ',', default_value = "unique,refold")]
        phases: Vec<String>,
        /// Distinct fingerprints the refold phase cycles through.
        #[arg(long, default_value_t = 1000)]
        refold_set: usize,
    },
    /// Exactly `--count` unique alerts, then a list request; RSS along the way.
    Fill {
        #[arg(long, default_value_t = 100_000)]
        count: u64,
        #[arg(long, default_value_t = 16)]
        connections: usize,
        /// Give up (failure) after this many seconds.
        #[arg(long, default_value_t = 300)]
        timeout: u64,
    },
}

// ---------------------------------------------------------------- /proc

/// CPU seconds per thread of a process: tid -> (name, seconds).
fn thread_cpu(pid: u32) -> Vec<(u32, String, f64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let tid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
        let (comm, cpu) = common::parse_stat(&stat)?;
        Some((tid, comm, cpu))
    })
    .collect()
}

/// `VmRSS` (or another `/proc/<pid>/status` field) in KiB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("-".into(), |k| format!("{:.1}", k as f64 / 1024.0))
}

// ---------------------------------------------------------------- payloads

/// Width of an alert id in the bodies: 16 lowercase hex digits.
const ID_LEN: usize = 16;
const MARK: &[u8] = b"QQQQQQQQQQQQQQ";

/// A notification with `per_request` alerts whose ids are placeholders, and
/// where each placeholder is: (byte offset, alert index within the request).
struct Template {
    bytes: Vec<u8>,
    slots: Vec<(usize, usize)>,
}

fn template(per_request: usize, version: &str) -> Template {
    let alerts: Vec<_> = (0..per_request)
        .map(|i| {
            // 16 characters: 14 markers and the alert's index.
            let id = format!("{}{i:02}", std::str::from_utf8(MARK).unwrap());
            serde_json::json!({
                "status": "firing",
                "labels": {
                    "alertname": "BenchIngest",
                    "instance": format!("host-{id}"),
                    "job": "node",
                    "service": "bench-svc",
                    "severity": "critical",
                    "team": "sre",
                },
                "annotations": {
                    "description": format!("Instance host-{id} has been unreachable for more than 5 minutes."),
                    "summary": "Ingestion benchmark alert",
                    "runbook_url": "https://runbooks.example.org/bench-ingest",
                },
                "startsAt": "2025-01-06T13:08:45.828Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=up%3D%3D0&g0.tab=1",
                "fingerprint": id,
            })
        })
        .collect();
    let body = serde_json::json!({
        "receiver": "ackbot",
        "status": "firing",
        "alerts": alerts,
        "groupLabels": {"alertname": "BenchIngest"},
        "commonLabels": {"alertname": "BenchIngest", "job": "node", "service": "bench-svc", "severity": "critical"},
        "commonAnnotations": {"summary": "Ingestion benchmark alert"},
        "externalURL": "http://alertmanager.example.org:9093",
        "version": version,
        "groupKey": "{}:{alertname=\"BenchIngest\"}",
        "truncatedAlerts": 0,
    });
    let bytes = serde_json::to_vec(&body).expect("JSON");
    let mut slots = Vec::new();
    let mut at = 0;
    while let Some(pos) = bytes[at..].windows(MARK.len()).position(|w| w == MARK) {
        let off = at + pos;
        let idx: usize = std::str::from_utf8(&bytes[off + MARK.len()..off + ID_LEN])
            .unwrap()
            .parse()
            .unwrap();
        slots.push((off, idx));
        at = off + ID_LEN;
    }
    assert_eq!(slots.len(), per_request * 3, "three ids per alert");
    Template { bytes, slots }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl Template {
    /// The body whose alerts are ids `first .. first + per_request`.
    fn render(&self, first: u64) -> Bytes {
        let mut b = self.bytes.clone();
        for &(off, idx) in &self.slots {
            let id = first + idx as u64;
            for (k, byte) in b[off..off + ID_LEN].iter_mut().enumerate() {
                *byte = HEX[((id >> (4 * (ID_LEN - 1 - k))) & 0xf) as usize];
            }
        }
        Bytes::from(b)
    }
}

// ---------------------------------------------------------------- HTTP

struct Target {
    ingest: reqwest::Url,
    list: reqwest::Url,
    auth: HeaderValue,
}

/// The answer that counts as success: this status and this text in the body.
struct Expect {
    status: reqwest::StatusCode,
    marker: Vec<u8>,
}

impl Expect {
    /// 202 with `"accepted":N`: all N alerts of the request committed.
    fn accepted(per_request: usize) -> Self {
        Self {
            status: reqwest::StatusCode::ACCEPTED,
            marker: format!("\"accepted\":{per_request}").into_bytes(),
        }
    }
}

/// Posts one notification; `Err` describes a failure.
async fn post(
    client: &reqwest::Client,
    t: &Target,
    body: Bytes,
    expect: &Expect,
) -> Result<(), String> {
    let resp = client
        .post(t.ingest.clone())
        .header(AUTHORIZATION, t.auth.clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(body)
        .send()
        .await
        .map_err(|e| format!("request error: {e:#}"))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("body error: {e:#}"))?;
    if status != expect.status
        || !body
            .windows(expect.marker.len())
            .any(|w| w == expect.marker)
    {
        let text: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        return Err(format!("HTTP {status}: {text}"));
    }
    Ok(())
}

// ---------------------------------------------------------------- phases

/// What a request sends: fresh ids from a counter, or one of a fixed set.
enum Source {
    Unique { template: Template, next: AtomicU64 },
    Fixed(Vec<Bytes>),
}

impl Source {
    fn body(&self, n: u64, per_request: usize) -> Bytes {
        match self {
            Source::Unique { template, next } => {
                template.render(next.fetch_add(per_request as u64, Ordering::Relaxed))
            }
            Source::Fixed(bodies) => bodies[(n % bodies.len() as u64) as usize].clone(),
        }
    }
}

/// A phase's requests and the answer each must get.
struct Load {
    source: Source,
    expect: Expect,
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    measured_ok: AtomicU64,
    sent: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
}

struct Outcome {
    latencies_us: Vec<u32>,
    first_failure: Option<String>,
}

/// Runs `connections` tasks until `counters.stop` (or, with `limit`, until that
/// many requests were started).
fn spawn_tasks(
    clients: &[reqwest::Client],
    target: &Arc<Target>,
    load: &Arc<Load>,
    counters: &Arc<Counters>,
    per_request: usize,
    limit: Option<u64>,
) -> Vec<tokio::task::JoinHandle<Outcome>> {
    clients
        .iter()
        .map(|client| {
            let (client, target, load, counters) = (
                client.clone(),
                target.clone(),
                load.clone(),
                counters.clone(),
            );
            tokio::spawn(async move {
                let mut latencies_us = Vec::new();
                let mut first_failure = None;
                while !counters.stop.load(Ordering::Relaxed) {
                    let n = counters.sent.fetch_add(1, Ordering::Relaxed);
                    if limit.is_some_and(|l| n >= l) {
                        break;
                    }
                    let body = load.source.body(n, per_request);
                    let started = Instant::now();
                    match post(&client, &target, body, &load.expect).await {
                        Ok(()) => {
                            counters.ok.fetch_add(1, Ordering::Relaxed);
                            if counters.measuring.load(Ordering::Relaxed) {
                                counters.measured_ok.fetch_add(1, Ordering::Relaxed);
                                latencies_us.push(
                                    started.elapsed().as_micros().min(u32::MAX as u128) as u32,
                                );
                            }
                        }
                        Err(e) => {
                            counters.failed.fetch_add(1, Ordering::Relaxed);
                            first_failure.get_or_insert(e);
                            // No busy loop against a server that is gone.
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
                Outcome {
                    latencies_us,
                    first_failure,
                }
            })
        })
        .collect()
}

async fn join(tasks: Vec<tokio::task::JoinHandle<Outcome>>) -> (Vec<u32>, Option<String>) {
    let mut latencies = Vec::new();
    let mut first_failure = None;
    for t in tasks {
        let o = t.await.expect("load task panicked");
        latencies.extend(o.latencies_us);
        if first_failure.is_none() {
            first_failure = o.first_failure;
        }
    }
    latencies.sort_unstable();
    (latencies, first_failure)
}

/// Server threads that used the most CPU between two snapshots, as
/// "name:share%" (share of one core over `secs`), same-named threads summed.
fn busiest_threads(
    before: &[(u32, String, f64)],
    after: &[(u32, String, f64)],
    secs: f64,
) -> String {
    let mut by_name: Vec<(String, f64, usize)> = Vec::new();
    for (tid, name, cpu) in after {
        let prev = before
            .iter()
            .find(|(t, _, _)| t == tid)
            .map_or(0.0, |b| b.2);
        let d = cpu - prev;
        match by_name.iter_mut().find(|(n, _, _)| n == name) {
            Some(e) => {
                e.1 += d;
                e.2 += 1;
            }
            None => by_name.push((name.clone(), d, 1)),
        }
    }
    by_name.sort_by(|a, b| b.1.total_cmp(&a.1));
    by_name
        .iter()
        .take(5)
        .filter(|e| e.1 > 0.0)
        .map(|(n, c, k)| format!("{n}(x{k}):{:.0}%", c / secs * 100.0))
        .collect::<Vec<_>>()
        .join(" ")
}

struct Ctx {
    args: Args,
    target: Arc<Target>,
    run: u64,
    failed_total: u64,
}

/// Unique alert ids of this run: a random 24-bit prefix and a 40-bit counter,
/// so runs against the same database never collide.
fn id_base(run: u64, offset: u64) -> u64 {
    (run << 40) | offset
}

async fn rate_phase(
    ctx: &mut Ctx,
    clients: &[reqwest::Client],
    name: &str,
    load: Arc<Load>,
    connections: usize,
    warmup: u64,
    duration: u64,
) {
    let per_request = ctx.args.per_request;
    let counters = Arc::new(Counters::default());
    let tasks = spawn_tasks(clients, &ctx.target, &load, &counters, per_request, None);
    let pid = ctx.args.server_pid;
    let snapshot = || {
        (
            pid.and_then(|p| common::cpu_secs(&p.to_string())),
            common::cpu_secs("self"),
            pid.map(thread_cpu).unwrap_or_default(),
        )
    };
    tokio::time::sleep(Duration::from_secs(warmup)).await;
    counters.measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    let (server0, client0, threads0) = snapshot();
    tokio::time::sleep(Duration::from_secs(duration)).await;
    let measured_ok = counters.measured_ok.load(Ordering::Relaxed);
    let secs = window.elapsed().as_secs_f64();
    let (server1, client1, threads1) = snapshot();
    counters.measuring.store(false, Ordering::Relaxed);
    counters.stop.store(true, Ordering::Relaxed);
    let (lat, first_failure) = join(tasks).await;
    let failed = counters.failed.load(Ordering::Relaxed);
    ctx.failed_total += failed;

    let alerts = measured_ok * per_request as u64;
    let alerts_per_s = alerts as f64 / secs;
    let per_alert = |a: Option<f64>, b: Option<f64>| {
        a.zip(b).map_or("-".into(), |(a, b)| {
            format!("{:.1}", (a - b) * 1e6 / alerts.max(1) as f64)
        })
    };
    let server_cpu = per_alert(server1, server0);
    let client_cpu = per_alert(client1, client0);
    let server_util = server1.zip(server0).map_or("-".into(), |(a, b)| {
        format!("{:.0}", (a - b) / secs * 100.0)
    });
    println!(
        "{name:<7} c={connections:<3} {alerts_per_s:>8.0} alerts/s ({:.0} req/s)  p50 {:.2} ms  p99 {:.2} ms  \
         failed {failed}  ({} requests ok in phase)  CPU µs/alert server {server_cpu} client {client_cpu}, server {server_util}% of a core",
        measured_ok as f64 / secs,
        common::percentile_ms(&lat, 0.5),
        common::percentile_ms(&lat, 0.99),
        counters.ok.load(Ordering::Relaxed),
    );
    if pid.is_some() {
        println!(
            "        busiest server threads (% of one core): {}",
            busiest_threads(&threads0, &threads1, secs)
        );
    }
    if let Some(f) = first_failure {
        println!("        first failure: {f}");
    }
    println!(
        "RESULT kind=rate tag={} phase={name} conns={connections} alerts_per_s={alerts_per_s:.0} \
         p50_ms={:.2} p99_ms={:.2} failed={failed} server_cpu_us_per_alert={server_cpu} server_core_pct={server_util}",
        ctx.args.tag,
        common::percentile_ms(&lat, 0.5),
        common::percentile_ms(&lat, 0.99),
    );
}

async fn rate(
    ctx: &mut Ctx,
    connections: usize,
    warmup: u64,
    duration: u64,
    phases: &[String],
    refold_set: usize,
) {
    let per_request = ctx.args.per_request;
    let clients: Vec<_> = (0..connections)
        .map(|_| common::client(ctx.args.cacert.as_deref(), Duration::from_secs(30)))
        .collect();
    for (p, phase) in phases.iter().enumerate() {
        // Each phase gets its own id range (1 << 36 ids apart).
        let base = id_base(ctx.run, (p as u64 + 1) << 36);
        let accepted = Expect::accepted(per_request);
        let load = match phase.as_str() {
            "unique" => Load {
                source: Source::Unique {
                    template: template(per_request, "4"),
                    next: AtomicU64::new(base),
                },
                expect: accepted,
            },
            // Diagnostic: the same requests with payload version 3, refused
            // with 400 after the JSON is parsed, before the store: the cost
            // of HTTPS, authentication and JSON alone.
            "nostore" => Load {
                source: Source::Unique {
                    template: template(per_request, "3"),
                    next: AtomicU64::new(base),
                },
                expect: Expect {
                    status: reqwest::StatusCode::BAD_REQUEST,
                    marker: br#""field":"version""#.to_vec(),
                },
            },
            "refold" => {
                let template = template(per_request, "4");
                let bodies: Vec<Bytes> = (0..refold_set.div_ceil(per_request))
                    .map(|i| template.render(base + (i * per_request) as u64))
                    .collect();
                // Create the records first, so the phase only folds.
                for body in &bodies {
                    if let Err(e) = post(&clients[0], &ctx.target, body.clone(), &accepted).await {
                        println!("refold set-up failed: {e}");
                        ctx.failed_total += 1;
                        return;
                    }
                }
                Load {
                    source: Source::Fixed(bodies),
                    expect: accepted,
                }
            }
            other => {
                eprintln!("unknown phase {other:?}; use unique, refold or nostore");
                std::process::exit(2);
            }
        };
        rate_phase(
            ctx,
            &clients,
            phase,
            Arc::new(load),
            connections,
            warmup,
            duration,
        )
        .await;
    }
}

async fn fill(ctx: &mut Ctx, count: u64, connections: usize, timeout: u64) {
    let per_request = ctx.args.per_request as u64;
    let requests = count.div_ceil(per_request);
    let clients: Vec<_> = (0..connections)
        .map(|_| common::client(ctx.args.cacert.as_deref(), Duration::from_secs(30)))
        .collect();
    let pid = ctx.args.server_pid;
    let rss = || pid.and_then(|p| status_kib(p, "VmRSS"));
    let before = rss();
    let load = Arc::new(Load {
        source: Source::Unique {
            template: template(per_request as usize, "4"),
            next: AtomicU64::new(id_base(ctx.run, 0)),
        },
        expect: Expect::accepted(per_request as usize),
    });
    let counters = Arc::new(Counters::default());
    counters.measuring.store(true, Ordering::Relaxed);
    let started = Instant::now();
    let tasks = spawn_tasks(
        &clients,
        &ctx.target,
        &load,
        &counters,
        per_request as usize,
        Some(requests),
    );
    let stopper = {
        let counters = counters.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(timeout)).await;
            counters.stop.store(true, Ordering::Relaxed);
        })
    };
    let (lat, first_failure) = join(tasks).await;
    stopper.abort();
    let secs = started.elapsed().as_secs_f64();
    let ok = counters.ok.load(Ordering::Relaxed);
    let mut failed = counters.failed.load(Ordering::Relaxed);
    if ok + failed < requests {
        println!("fill stopped by --timeout {timeout}s after {ok} of {requests} requests");
        failed += requests - ok - failed;
    }
    let after_fill = rss();

    // The largest page of the list endpoint.
    let t = Instant::now();
    let list = async {
        let resp = clients[0]
            .get(ctx.target.list.clone())
            .header(AUTHORIZATION, ctx.target.auth.clone())
            .send()
            .await
            .map_err(|e| format!("{e:#}"))?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(|e| format!("{e:#}"))?;
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| format!("HTTP {status}: {e}"))?;
        let n = v["alerts"].as_array().map_or(0, Vec::len);
        if status == reqwest::StatusCode::OK {
            Ok((n, body.len()))
        } else {
            Err(format!("HTTP {status}"))
        }
    };
    let listed = list.await;
    let list_ms = t.elapsed().as_secs_f64() * 1e3;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after_list = rss();
    let hwm = pid.and_then(|p| status_kib(p, "VmHWM"));
    match &listed {
        Ok((n, bytes)) => println!(
            "fill    c={connections:<3} {count} unique alerts in {secs:.1}s = {:.0} alerts/s  p50 {:.2} ms  p99 {:.2} ms  non-202 {failed}; \
             GET ?limit=1000: {n} alerts, {bytes} B, {list_ms:.0} ms",
            (ok * per_request) as f64 / secs,
            common::percentile_ms(&lat, 0.5),
            common::percentile_ms(&lat, 0.99),
        ),
        Err(e) => {
            println!("fill: GET /api/v1/alerts?limit=1000 failed: {e}");
            failed += 1;
        }
    }
    if let Some(f) = first_failure {
        println!("        first failure: {f}");
    }
    println!(
        "        server RSS MiB: before fill {}, after {} alerts {}, after GET ?limit=1000 {}, peak (VmHWM) {}",
        mib(before),
        ok * per_request,
        mib(after_fill),
        mib(after_list),
        mib(hwm)
    );
    println!(
        "RESULT kind=fill tag={} alerts={} alerts_per_s={:.0} failed={failed} rss_before_mib={} rss_filled_mib={} rss_listed_mib={} hwm_mib={}",
        ctx.args.tag,
        ok * per_request,
        (ok * per_request) as f64 / secs,
        mib(before),
        mib(after_fill),
        mib(after_list),
        mib(hwm)
    );
    ctx.failed_total += failed;
}

fn main() {
    let args = Args::parse();
    assert!(
        args.per_request > 0 && args.per_request < 100,
        "--per-request 1..=99"
    );
    let runtime = common::runtime(args.threads);
    let base = args.url.trim_end_matches('/');
    let target = Arc::new(Target {
        ingest: format!("{base}/api/v1/alertmanager")
            .parse()
            .expect("--url is a URL"),
        list: format!("{base}/api/v1/alerts?limit=1000")
            .parse()
            .expect("--url is a URL"),
        auth: HeaderValue::from_str(&format!("Bearer {}", args.token)).expect("token is ASCII"),
    });
    let mut seed = [0u8; 8];
    getrandom::fill(&mut seed).expect("OS randomness");
    let run = u64::from_le_bytes(seed) & 0xff_ffff;
    let body_len = template(args.per_request, "4").bytes.len();
    println!(
        "target {}  {} alerts per request ({body_len} B body)  client threads {}",
        args.url, args.per_request, args.threads
    );
    let mut ctx = Ctx {
        args: args.clone(),
        target,
        run,
        failed_total: 0,
    };
    runtime.block_on(async {
        match &args.mode {
            Mode::Rate {
                connections,
                warmup,
                duration,
                phases,
                refold_set,
            } => {
                assert!(
                    *connections > 0 && *duration > 0 && *refold_set > 0,
                    "nothing to do"
                );
                rate(
                    &mut ctx,
                    *connections,
                    *warmup,
                    *duration,
                    phases,
                    *refold_set,
                )
                .await
            }
            Mode::Fill {
                count,
                connections,
                timeout,
            } => {
                assert!(*connections > 0 && *count > 0, "nothing to do");
                fill(&mut ctx, *count, *connections, *timeout).await
            }
        }
    });
    if ctx.failed_total > 0 {
        println!("failed requests: {}", ctx.failed_total);
        std::process::exit(1);
    }
}
