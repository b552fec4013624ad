//! Load generator for ackbot's error and log endpoints (`bench/intake.sh`
//! starts the server): in one run, `GET /healthz`, then gzip Sentry
//! envelopes (the real captured Python exception, every one committed as an
//! occurrence of its alert), then Loki JSON pushes of 1 000 lines each
//! through 5 rules with 1 % of the lines matching; then `grep -cE` with the
//! same 5 patterns over the same lines, the practical limit of matching
//! lines. HTTPS with keep-alive, fixed concurrency, fixed duration per phase.
//!
//! ```text
//! cargo run --release --example intakegen -- --url https://127.0.0.1:18445 \
//!     --cacert certs/server.crt --sentry-key 0123456789abcdef0123456789abcdef --logs-token bench-logs-token
//! ```
//! Every answer must be the success the SDKs and shippers expect (200 with
//! the event id, 204); anything else is a failure, counted and reported,
//! and the exit status is 1 if any occurred.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use bytes::Bytes;
use clap::Parser;

#[derive(Parser)]
struct Args {
    #[arg(long)]
    url: String,
    #[arg(long)]
    cacert: Option<std::path::PathBuf>,
    #[arg(long)]
    sentry_key: String,
    #[arg(long)]
    logs_token: String,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Connections of the Loki phase (shippers batch: few, large pushes).
    #[arg(long, default_value_t = 8)]
    loki_connections: usize,
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(long)]
    server_pid: Option<u32>,
    /// Lines per Loki push.
    #[arg(long, default_value_t = 1000)]
    lines_per_push: usize,
}

/// The 5 rules' patterns: Rust `regex` for the server (named groups), and
/// the same as POSIX ERE for `grep -E`.
pub const PATTERNS: [(&str, &str); 5] = [
    (
        r"\[ERROR\] (?P<service>\w+) - (?P<message>.+)",
        r"\[ERROR\] [[:alnum:]_]+ - .+",
    ),
    (
        r"payment gateway timeout after (?P<seconds>\d+)s order_id=(?P<order_id>\d+)",
        r"payment gateway timeout after [0-9]+s order_id=[0-9]+",
    ),
    (
        r"(?P<what>redis|postgres|kafka) connection refused",
        r"(redis|postgres|kafka) connection refused",
    ),
    (r"panicked at '(?P<msg>[^']+)'", r"panicked at '[^']+'"),
    (
        r"out of memory: Killed process (?P<pid>\d+)",
        r"out of memory: Killed process [0-9]+",
    ),
];

/// Line `i` of the stream: 1 in 100 matches one of the patterns.
fn line(i: usize) -> String {
    let t = format!("2026-12-04 05:{:02}:{:02}", (i / 60) % 60, i % 60);
    if i % 100 == 37 {
        return match (i / 100) % 5 {
            0 => format!("{t} [ERROR] payment - cannot charge order {}", i % 17),
            1 => format!(
                "{t} [WARNING] payment gateway timeout after 30s order_id={}",
                i % 13
            ),
            2 => format!("{t} [ERROR] cart - redis connection refused"),
            3 => format!("{t} [ERROR] worker - thread 'main' panicked at 'index out of bounds'"),
            _ => format!(
                "{t} [ERROR] kernel - out of memory: Killed process {}",
                4000 + i % 7
            ),
        };
    }
    format!(
        "{t} [INFO] checkout - order {} charged in {}ms user=u-{} region=eu-{} trace={:016x}",
        100_000 + i,
        20 + i % 80,
        i % 977,
        i % 3,
        (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    )
}

/// `pushes` Loki JSON bodies of `per` lines; line numbers continue.
fn loki_bodies(pushes: usize, per: usize) -> Vec<Bytes> {
    let now_ns = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    (0..pushes)
        .map(|p| {
            let values: Vec<serde_json::Value> = (0..per)
                .map(|j| {
                    let i = p * per + j;
                    serde_json::json!([(now_ns + i as u128).to_string(), line(i)])
                })
                .collect();
            let body = serde_json::json!({"streams": [{
                "stream": {"job": "shop", "env": "prod", "host": format!("web-{}", p % 4)},
                "values": values,
            }]});
            Bytes::from(serde_json::to_vec(&body).unwrap())
        })
        .collect()
}

/// The captured gzip envelope of the Python SDK's exception.
fn sentry_body() -> Bytes {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/errors-and-logs-payloads/sentry-python-envelope-exception.body.b64"
    );
    let text = std::fs::read_to_string(path).expect("the capture");
    let clean: String = text.split_whitespace().collect();
    Bytes::from(
        base64::engine::general_purpose::STANDARD
            .decode(clean)
            .expect("base64"),
    )
}

#[derive(Clone)]
enum Target {
    Healthz,
    Sentry(Bytes),
    Loki(Arc<Vec<Bytes>>),
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    next: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
}

async fn one(client: &reqwest::Client, args: &Args, target: &Target, n: u64) -> Result<(), String> {
    let url = args.url.trim_end_matches('/');
    let (req, want) = match target {
        Target::Healthz => (client.get(format!("{url}/healthz")), 200),
        Target::Sentry(body) => (
            client
                .post(format!("{url}/api/42/envelope/"))
                .header("Content-Type", "application/x-sentry-envelope")
                .header("Content-Encoding", "gzip")
                .header(
                    "X-Sentry-Auth",
                    format!(
                        "Sentry sentry_key={}, sentry_version=7, sentry_client=sentry.python/2.75.0",
                        args.sentry_key
                    ),
                )
                .body(body.clone()),
            200,
        ),
        Target::Loki(bodies) => (
            client
                .post(format!("{url}/loki/api/v1/push"))
                .header("Content-Type", "application/json")
                .bearer_auth(&args.logs_token)
                .body(bodies[n as usize % bodies.len()].clone()),
            204,
        ),
    };
    let resp = req
        .send()
        .await
        .map_err(|e| format!("request error: {e:#}"))?;
    let status = resp.status().as_u16();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("body error: {e:#}"))?;
    let ok = status == want
        && match target {
            Target::Sentry(_) => body.windows(5).any(|w| w == b"\"id\":"),
            _ => true,
        };
    if !ok {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(())
}

struct Phase {
    ok: u64,
    secs: f64,
    failed: u64,
    server_cpu: Option<f64>,
}

async fn run_phase(args: Arc<Args>, clients: &[reqwest::Client], target: Target) -> Phase {
    let counters = Arc::new(Counters::default());
    let measured = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for client in clients {
        let (client, counters, measured) = (client.clone(), counters.clone(), measured.clone());
        let (args, target) = (args.clone(), target.clone());
        tasks.push(tokio::spawn(async move {
            let mut first = None;
            while !counters.stop.load(Ordering::Relaxed) {
                let n = counters.next.fetch_add(1, Ordering::Relaxed);
                match one(&client, &args, &target, n).await {
                    Ok(()) => {
                        counters.ok.fetch_add(1, Ordering::Relaxed);
                        if counters.measuring.load(Ordering::Relaxed) {
                            measured.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => {
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                        first.get_or_insert(e);
                    }
                }
            }
            first
        }));
    }
    let pid = args.server_pid.map(|p| p.to_string());
    let cpu = || pid.as_deref().and_then(common::cpu_secs);
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    counters.measuring.store(true, Ordering::Relaxed);
    let (start, before) = (Instant::now(), cpu());
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let ok = measured.load(Ordering::Relaxed);
    let (secs, after) = (start.elapsed().as_secs_f64(), cpu());
    counters.measuring.store(false, Ordering::Relaxed);
    counters.stop.store(true, Ordering::Relaxed);
    for t in tasks {
        if let Some(e) = t.await.expect("load task") {
            println!("    first failure: {e}");
        }
    }
    Phase {
        ok,
        secs,
        failed: counters.failed.load(Ordering::Relaxed),
        server_cpu: after.zip(before).map(|(a, b)| a - b),
    }
}

/// `grep -cE` with the 5 patterns over `lines` lines written to a file, in
/// lines per second (best of 3).
fn grep_rate(lines: usize) -> (f64, u64) {
    let dir = std::env::temp_dir().join(format!("intakegen-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("lines.log");
    let mut text = String::with_capacity(lines * 100);
    for i in 0..lines {
        text.push_str(&line(i));
        text.push('\n');
    }
    std::fs::write(&file, text).unwrap();
    let mut best = f64::MAX;
    let mut count = 0;
    for _ in 0..3 {
        let mut cmd = std::process::Command::new("grep");
        cmd.arg("-cE");
        for (_, ere) in PATTERNS {
            cmd.arg("-e").arg(ere);
        }
        let t = Instant::now();
        let out = cmd.arg(&file).env("LC_ALL", "C").output().expect("grep");
        best = best.min(t.elapsed().as_secs_f64());
        count = String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .unwrap_or(0);
    }
    let _ = std::fs::remove_dir_all(&dir);
    (lines as f64 / best, count)
}

fn report(name: &str, p: &Phase, unit: f64) -> f64 {
    let rate = p.ok as f64 * unit / p.secs;
    println!(
        "  {name:<24} {rate:>10.0}/s  ({} ok in {:.2}s, server CPU µs/request {}, {} failed)",
        p.ok,
        p.secs,
        p.server_cpu.map_or("-".into(), |c| format!(
            "{:.1}",
            c * 1e6 / p.ok.max(1) as f64
        )),
        p.failed
    );
    rate
}

fn main() {
    let args = Arc::new(Args::parse());
    let runtime = common::runtime(args.threads);
    println!(
        "target {}  connections {} (Loki {})  per phase: {}s warm-up + {}s measured",
        args.url, args.connections, args.loki_connections, args.warmup, args.duration
    );
    let bodies = Arc::new(loki_bodies(64, args.lines_per_push));
    println!(
        "  Loki push: {} lines, {} KB of JSON; Sentry envelope: gzip, {} B",
        args.lines_per_push,
        bodies[0].len() / 1024,
        sentry_body().len()
    );
    let failed = runtime.block_on(async {
        let make = |n: usize| -> Vec<reqwest::Client> {
            (0..n)
                .map(|_| common::client(args.cacert.as_deref(), Duration::from_secs(10)))
                .collect()
        };
        let clients = make(args.connections);
        let health = run_phase(args.clone(), &clients, Target::Healthz).await;
        let h = report("GET /healthz", &health, 1.0);
        let sentry = run_phase(args.clone(), &clients, Target::Sentry(sentry_body())).await;
        let s = report("Sentry events", &sentry, 1.0);
        let loki_clients = make(args.loki_connections);
        let loki = run_phase(args.clone(), &loki_clients, Target::Loki(bodies.clone())).await;
        let l = report("Loki lines", &loki, args.lines_per_push as f64);
        let (g, matched) = grep_rate(2_000_000);
        println!(
            "  {:<24} {g:>10.0}/s  ({matched} of 2000000 lines matched)",
            "grep -cE, 5 patterns"
        );
        println!("---");
        println!(
            "sentry {s:.0} events/s = {:.1} % of /healthz (target >= 5000/s: {})",
            100.0 * s / h,
            if s >= 5000.0 { "met" } else { "NOT met" }
        );
        println!(
            "loki {l:.0} lines/s = {:.3} of grep (targets >= 500000/s and >= 0.05: {})",
            l / g,
            if l >= 500_000.0 && l / g >= 0.05 {
                "met"
            } else {
                "NOT met"
            }
        );
        health.failed + sentry.failed + loki.failed
    });
    if failed > 0 {
        std::process::exit(1);
    }
}
