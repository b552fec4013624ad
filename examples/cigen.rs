//! Load generator for ackbot's CI webhooks: verified GitHub deliveries on
//! `POST /ci/github` against `GET /healthz` on the same server in the same
//! run (`bench/ci.sh` starts the server). HTTPS with keep-alive, fixed
//! concurrency, fixed duration per phase.
//!
//! Each delivery is the real `workflow_run` payload of
//! `tests/vectors/cicd-payloads/` (compact, about 19 KB) as a completed run with its
//! own run number (and its own `X-GitHub-Delivery`), signed with
//! `X-Hub-Signature-256` before the phase starts: the server verifies the
//! HMAC over the body, parses it, counts the run into its series (a batched
//! store write) and remembers the delivery id (the durable replay
//! memory). Runs alternate over `--series` workflows and are all green, so
//! no alert is written: the path every delivery takes. Every answer must be
//! 200 with `"outcome":"accepted"`; anything else is a failure, counted and
//! reported, and the exit status is 1 if any occurred.
//!
//! ```text
//! cargo run --release --example cigen -- --url https://127.0.0.1:18444 \
//!     --cacert certs/server.crt --secret bench-github-secret
//! ```

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use hmac::{Hmac, Mac};
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use sha2::Sha256;

#[derive(Parser, Debug, Clone)]
#[command(about = "HTTPS load generator for ackbot: /healthz vs verified GitHub deliveries")]
struct Args {
    #[arg(long, default_value = "https://127.0.0.1:18444")]
    url: String,
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// The server's `[[ci.github]] secret`.
    #[arg(long, default_value = "bench-github-secret")]
    secret: String,
    #[arg(long, default_value_t = 32)]
    connections: usize,
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    #[arg(long, default_value_t = 10)]
    duration: u64,
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Workflows the runs are spread over (series). Runs of one series are
    /// this many requests apart, so that they arrive in order (an older run
    /// arriving late is answered `out_of_order`, a failure here).
    #[arg(long, default_value_t = 500)]
    series: usize,
    /// Upper bound on the deliveries pre-generated for one phase (each is
    /// kept in memory: 150 000 are about 1.5 GB); a phase that runs out
    /// stops early (reported; its rate is still valid).
    #[arg(long, default_value_t = 150_000)]
    max_deliveries: usize,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[arg(long)]
    server_pid: Option<u32>,
    /// `X-GitHub-Event` of the deliveries: `workflow_run` (counted, the
    /// default) or `ping` (verified, then answered without reading the
    /// body: the signature check's share).
    #[arg(long, default_value = "workflow_run")]
    event: String,
}

struct Delivery {
    id: HeaderValue,
    signature: HeaderValue,
    body: Bytes,
}

/// `count` signed deliveries; run numbers continue from `first`.
fn generate(args: &Args, run: &str, first: usize, count: usize) -> Vec<Delivery> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/vectors/cicd-payloads/github-workflow_run-completed-success.json"
    );
    let template: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("the payload file")).expect("JSON");
    (first..first + count)
        .map(|i| {
            let mut v = template.clone();
            let w = &mut v["workflow_run"];
            let number = i / args.series + 1;
            w["name"] = format!("bench-{}", i % args.series).into();
            w["run_number"] = number.into();
            w["id"] = (i + 1).into();
            // Compact, as GitHub sends it (the file is pretty-printed).
            let body = serde_json::to_vec(&v).expect("JSON");
            let mut mac = Hmac::<Sha256>::new_from_slice(args.secret.as_bytes()).expect("any key");
            mac.update(&body);
            let signature = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
            Delivery {
                id: HeaderValue::from_str(&format!("{run}-{i}")).expect("ascii"),
                signature: HeaderValue::from_str(&signature).expect("hex"),
                body: Bytes::from(body),
            }
        })
        .collect()
}

/// Seconds one HMAC-SHA256 of a delivery's body takes here (what the server
/// must spend on each, at the least), over up to 5 000 of them.
fn hmac_cost(secret: &str, deliveries: &[Delivery]) -> f64 {
    let sample = &deliveries[..deliveries.len().min(5_000)];
    let t = Instant::now();
    for d in sample {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key");
        mac.update(&d.body);
        std::hint::black_box(mac.finalize());
    }
    t.elapsed().as_secs_f64() / sample.len().max(1) as f64
}

#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    measured_ok: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
    exhausted: AtomicBool,
}

#[derive(Default)]
struct Totals {
    ok: u64,
    secs: f64,
    failed: u64,
    latencies_us: Vec<u32>,
    server_cpu: Option<f64>,
    client_cpu: Option<f64>,
}

impl Totals {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }

    /// CPU microseconds per answered request, or "-".
    fn per_ok(&self, cpu: Option<f64>) -> String {
        cpu.map_or("-".into(), |c| format!("{:.1}", c * 1e6 / self.ok as f64))
    }
}

async fn one(
    client: &reqwest::Client,
    url: &str,
    event: &HeaderValue,
    d: Option<&Delivery>,
) -> Result<(), String> {
    let expected: &[u8] = if event == "ping" {
        b"\"ping\""
    } else {
        b"\"accepted\""
    };
    let (req, marker): (_, &[u8]) = match d {
        None => (client.get(format!("{url}/healthz")), b"\"ok\""),
        Some(d) => (
            client
                .post(format!("{url}/ci/github"))
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .header("X-GitHub-Event", event.clone())
                .header("X-GitHub-Delivery", d.id.clone())
                .header("X-Hub-Signature-256", d.signature.clone())
                .body(d.body.clone()),
            expected,
        ),
    };
    let resp = req
        .send()
        .await
        .map_err(|e| format!("request error: {e:#}"))?;
    let status = resp.status();
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("body error: {e:#}"))?;
    if status != reqwest::StatusCode::OK || !body.windows(marker.len()).any(|w| w == marker) {
        return Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)));
    }
    Ok(())
}

async fn run_phase(
    args: &Args,
    clients: &[reqwest::Client],
    deliveries: Option<Arc<Vec<Delivery>>>,
    totals: &mut Totals,
) -> u64 {
    let counters = Arc::new(Counters::default());
    let next = Arc::new(AtomicUsize::new(0));
    let url = Arc::new(args.url.trim_end_matches('/').to_string());
    let mut tasks = Vec::new();
    for client in clients {
        let (client, counters, url) = (client.clone(), counters.clone(), url.clone());
        let event = HeaderValue::from_str(&args.event).expect("an event name");
        let (deliveries, next) = (deliveries.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut first_failure = None;
            while !counters.stop.load(Ordering::Relaxed) {
                let d = match &deliveries {
                    None => None,
                    Some(all) => match all.get(next.fetch_add(1, Ordering::Relaxed)) {
                        Some(d) => Some(d),
                        None => {
                            counters.exhausted.store(true, Ordering::Relaxed);
                            break;
                        }
                    },
                };
                let started = Instant::now();
                match one(&client, &url, &event, d).await {
                    Ok(()) => {
                        counters.ok.fetch_add(1, Ordering::Relaxed);
                        if counters.measuring.load(Ordering::Relaxed) {
                            counters.measured_ok.fetch_add(1, Ordering::Relaxed);
                            latencies
                                .push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        }
                    }
                    Err(e) => {
                        counters.failed.fetch_add(1, Ordering::Relaxed);
                        first_failure.get_or_insert(e);
                    }
                }
            }
            (latencies, first_failure)
        }));
    }
    let wait = |secs: u64| {
        let counters = counters.clone();
        async move {
            let until = Instant::now() + Duration::from_secs(secs);
            while Instant::now() < until && !counters.exhausted.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let pid = args.server_pid.map(|p| p.to_string());
    let cpu = || pid.as_deref().and_then(common::cpu_secs);
    // This generator's own CPU: it shares the cores with the server, so what
    // it spends per request bounds the rates as much as the server does.
    let me = std::process::id().to_string();
    let own = || common::cpu_secs(&me);
    wait(args.warmup).await;
    counters.measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    let before = cpu();
    let own_before = own();
    wait(args.duration).await;
    let measured = counters.measured_ok.load(Ordering::Relaxed);
    let secs = window.elapsed().as_secs_f64();
    let after = cpu();
    let own_after = own();
    counters.measuring.store(false, Ordering::Relaxed);
    counters.stop.store(true, Ordering::Relaxed);
    let mut first_failure = None;
    for t in tasks {
        let (lat, fail) = t.await.expect("load task panicked");
        totals.latencies_us.extend(lat);
        first_failure = first_failure.or(fail);
    }
    let exhausted = counters.exhausted.load(Ordering::Relaxed);
    let failed = counters.failed.load(Ordering::Relaxed);
    let server_cpu = after.zip(before).map(|(a, b)| a - b);
    let client_cpu = own_after.zip(own_before).map(|(a, b)| a - b);
    let per =
        |c: Option<f64>| c.map_or("-".into(), |c| format!("{:.1}", c * 1e6 / measured as f64));
    println!(
        "  {:<18} {:>7.0} req/s  ({measured} ok in {secs:.2}s, CPU µs/req server {} client {}, {failed} failed){}",
        if deliveries.is_some() {
            "POST /ci/github"
        } else {
            "GET /healthz"
        },
        measured as f64 / secs,
        per(server_cpu),
        per(client_cpu),
        if exhausted {
            "  [deliveries ran out: cut short]"
        } else {
            ""
        }
    );
    if let Some(f) = first_failure {
        println!("    first failure: {f}");
    }
    totals.ok += measured;
    totals.secs += secs;
    totals.failed += failed;
    totals.server_cpu = server_cpu.map(|c| c + totals.server_cpu.unwrap_or(0.0));
    totals.client_cpu = client_cpu.map(|c| c + totals.client_cpu.unwrap_or(0.0));
    counters.ok.load(Ordering::Relaxed)
}

fn main() {
    let args = Args::parse();
    assert!(
        args.connections > 0 && args.rounds > 0 && args.series > 0,
        "nothing to do"
    );
    let runtime = common::runtime(args.threads);
    let mut seed = [0u8; 6];
    getrandom::fill(&mut seed).expect("OS randomness");
    let run = hex::encode(seed);
    println!(
        "target {}  connections {}  client threads {}  rounds {}  series {}  per phase: {}s warm-up + {}s measured",
        args.url,
        args.connections,
        args.threads,
        args.rounds,
        args.series,
        args.warmup,
        args.duration
    );
    let (mut health, mut github) = (Totals::default(), Totals::default());
    let mut sent = 0;
    let mut hmac_secs = 0.0;
    runtime.block_on(async {
        let clients: Vec<_> = (0..args.connections)
            .map(|_| common::client(args.cacert.as_deref(), Duration::from_secs(10)))
            .collect();
        for round in 1..=args.rounds {
            println!("round {round}");
            let total = run_phase(&args, &clients, None, &mut health).await;
            // As many as the /healthz phase answered, capped.
            let count = (total as usize + args.connections).min(args.max_deliveries);
            let t = Instant::now();
            let deliveries = Arc::new(generate(&args, &run, sent, count));
            sent += count;
            println!(
                "  pre-generated {count} signed workflow_run deliveries (avg body {} B) in {:.1}s",
                deliveries.iter().map(|d| d.body.len()).sum::<usize>() / count.max(1),
                t.elapsed().as_secs_f64()
            );
            hmac_secs = hmac_cost(&args.secret, &deliveries);
            run_phase(&args, &clients, Some(deliveries), &mut github).await;
        }
    });
    println!("---");
    for (name, t) in [("healthz", &mut health), ("github", &mut github)] {
        t.latencies_us.sort_unstable();
        println!(
            "{name:<8} {:>7.0} req/s  p50 {:.2} ms  p99 {:.2} ms  CPU µs/req server {} client {}  failed {}",
            t.rate(),
            common::percentile_ms(&t.latencies_us, 0.50),
            common::percentile_ms(&t.latencies_us, 0.99),
            t.per_ok(t.server_cpu),
            t.per_ok(t.client_cpu),
            t.failed
        );
    }
    let ratio = github.rate() / health.rate();
    println!(
        "ratio github/healthz = {:.1} %  (target >= 70 %: {})",
        ratio * 100.0,
        if ratio >= 0.70 { "met" } else { "NOT met" }
    );
    // With the cores shared, a request costs the machine client + server
    // CPU. A delivery cannot cost the server less than a /healthz plus the
    // HMAC of its body, which bounds the ratio with this generator.
    if let (Some(hs), Some(hc), Some(gc)) =
        (health.server_cpu, health.client_cpu, github.client_cpu)
    {
        let (hs, hc) = (hs / health.ok as f64, hc / health.ok as f64);
        let gc = gc / github.ok as f64;
        println!(
            "bound: a delivery costing the server only a /healthz ({:.1} µs) plus its HMAC ({:.1} µs) would give at most {:.1} %; one costing it nothing, {:.1} %",
            hs * 1e6,
            hmac_secs * 1e6,
            100.0 * (hs + hc) / (gc + hs + hmac_secs),
            100.0 * (hs + hc) / gc
        );
    }
    if health.failed + github.failed > 0 {
        std::process::exit(1);
    }
}
