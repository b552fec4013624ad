//! Load generator for a running ackbot: HTTPS with keep-alive, fixed concurrency,
//! fixed duration per phase. Compares `GET /healthz` with verified Feishu
//! `card.action.trigger` callbacks on `POST /feishu/events`, of two kinds:
//!
//! - *inbound*: a button that names no alert, answered with a toast by the
//!   handler without touching the alerts: the whole inbound path (TLS, HTTP,
//!   signature, window, decryption, token, the durable replay memory, the
//!   handler task, the JSON reply) and nothing else. The ≥ 80 % target is
//!   for these.
//! - *ack*: the same with `ack` on an alert id that does not exist, so that
//!   each also costs one alert read from the store: what a real click adds
//!   before it writes.
//!
//! ```text
//! cargo run --release --example loadgen -- --url https://127.0.0.1:18443 \
//!     --cacert certs/server.crt --token bench-token --encrypt-key bench-encrypt-key
//! ```
//!
//! The callbacks of each phase are signed and encrypted before the phase starts
//! (the generator's own crypto is not measured); each carries a unique `event_id`
//! and nonce and a fresh timestamp, so the server's replay guard never
//! short-circuits it. The number generated is 1.25 × the preceding /healthz
//! phase's request count (capped by `--max-callbacks`). Each of `--connections`
//! tasks owns one HTTP/1.1 client with one keep-alive connection. A phase runs
//! `--warmup` seconds unmeasured, then `--duration` seconds measured, then stops.
//! Phases run healthz / inbound / ack for `--rounds` rounds. Every response
//! must be 200 (callbacks: with a `toast` in the body); anything else is a
//! failure, counted and reported, and the exit status is 1 if any occurred.
//! With `--server-pid`, the server's CPU time per request is reported as well
//! (from `/proc`), a figure less disturbed by other load than requests/s.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ackbot::verify::feishu::{self, EncryptKey, HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP};
use bytes::Bytes;
use clap::Parser;
use reqwest::header::{CONTENT_TYPE, HeaderValue};

#[derive(Parser, Debug, Clone)]
#[command(about = "HTTPS load generator for ackbot: /healthz vs verified Feishu callbacks")]
struct Args {
    /// Base URL of the running server.
    #[arg(long, default_value = "https://127.0.0.1:18443")]
    url: String,
    /// PEM certificate to trust (the server's self-signed one). Without it,
    /// certificate verification is switched off.
    #[arg(long)]
    cacert: Option<PathBuf>,
    /// The server's feishu.verification_token.
    #[arg(long, default_value = "bench-token")]
    token: String,
    /// The server's feishu.encrypt_key.
    #[arg(long, default_value = "bench-encrypt-key")]
    encrypt_key: String,
    /// Concurrent keep-alive connections (one task each).
    #[arg(long, default_value_t = 32)]
    connections: usize,
    /// Unmeasured seconds at the start of each phase.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Measured seconds per phase.
    #[arg(long, default_value_t = 10)]
    duration: u64,
    /// Rounds of (healthz, inbound, ack) phases; the reported rate is over all rounds.
    #[arg(long, default_value_t = 2)]
    rounds: usize,
    /// Upper bound on the callbacks pre-generated for one phase. Each callback
    /// phase gets 1.25 × (the preceding /healthz rate × phase length), capped by
    /// this; a phase that runs out stops early (reported; its rate is still valid).
    #[arg(long, default_value_t = 2_000_000)]
    max_callbacks: usize,
    /// Client runtime threads (the server's workers share the same cores).
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// The server's process id (Linux): also report the server's CPU time per
    /// request, which other load on the machine does not skew as much as req/s.
    #[arg(long)]
    server_pid: Option<u32>,
}

/// One pre-signed, pre-encrypted callback. Cloning a header value or the body
/// only bumps a reference count.
struct Callback {
    timestamp: HeaderValue,
    nonce: HeaderValue,
    signature: HeaderValue,
    body: Bytes,
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// Which button the callbacks of a phase press.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Button {
    /// Names no alert: the handler answers without the store.
    Inbound,
    /// `ack` on an alert that does not exist: one store read.
    AckUnknown,
}

impl Button {
    fn value(self, i: usize) -> serde_json::Value {
        match self {
            Button::Inbound => serde_json::json!({"action": "ack"}),
            Button::AckUnknown => {
                serde_json::json!({"action": "ack", "alert_id": format!("A-{i}")})
            }
        }
    }

    fn label(self) -> &'static str {
        match self {
            Button::Inbound => "POST /feishu/events",
            Button::AckUnknown => "POST .. ack unknown",
        }
    }
}

/// A schema 2.0 `card.action.trigger` envelope like the SDK-checked vector
/// `f_signed_encrypted_card_action`, with a unique event id.
fn card_action_plaintext(
    event_id: &str,
    value: serde_json::Value,
    token: &str,
    create_micros: u128,
) -> String {
    serde_json::json!({
        "schema": "2.0",
        "header": {
            "event_id": event_id,
            "token": token,
            "create_time": create_micros.to_string(),
            "event_type": "card.action.trigger",
            "tenant_key": "tenant-bench",
            "app_id": "cli_bench",
        },
        "event": {
            "operator": {"open_id": "ou_bench_user", "user_id": "u_bench", "union_id": "on_bench"},
            "token": "c-bench-update-token",
            "action": {"tag": "button", "value": value},
            "host": "im_message",
            "context": {"open_message_id": "om_bench_msg", "open_chat_id": "oc_bench_chat"},
        },
    })
    .to_string()
}

/// Signs and encrypts `count` callbacks for one phase, timestamped now. Event
/// ids and nonces are `{run}-{phase}-{i}`, unique across phases and runs.
fn generate(args: &Args, run: &str, phase: &str, button: Button, count: usize) -> Vec<Callback> {
    let key = EncryptKey::new(&args.encrypt_key);
    let ts = now_secs().to_string();
    let ts_header = HeaderValue::from_str(&ts).expect("digits");
    let create_micros = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros();
    let mut iv = [0u8; 16];
    getrandom::fill(&mut iv).expect("OS randomness");
    // One arena for all bodies of the phase: each request body is a slice of it.
    let mut arena = Vec::with_capacity(count * 800);
    let mut parts = Vec::with_capacity(count);
    for i in 0..count {
        let id = format!("{run}-{phase}-{i}");
        let plaintext = card_action_plaintext(
            &format!("evt-bench-{id}"),
            button.value(i),
            &args.token,
            create_micros,
        );
        iv[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let encrypt = key.cipher().encrypt(plaintext.as_bytes(), iv);
        let start = arena.len();
        arena.extend_from_slice(br#"{"encrypt":""#);
        arena.extend_from_slice(encrypt.as_bytes());
        arena.extend_from_slice(br#""}"#);
        let signature = hex::encode(feishu::event_signature(
            &ts,
            &id,
            &args.encrypt_key,
            &arena[start..],
        ));
        parts.push((start..arena.len(), id, signature));
    }
    let arena = Bytes::from(arena);
    parts
        .into_iter()
        .map(|(span, nonce, signature)| Callback {
            timestamp: ts_header.clone(),
            nonce: HeaderValue::from_str(&nonce).expect("ascii"),
            signature: HeaderValue::from_str(&signature).expect("hex"),
            body: arena.slice(span),
        })
        .collect()
}

/// Counters shared by the tasks of one phase.
#[derive(Default)]
struct Counters {
    ok: AtomicU64,
    failed: AtomicU64,
    /// Successful responses completed after the measured window opened.
    measured_ok: AtomicU64,
    measuring: AtomicBool,
    stop: AtomicBool,
    exhausted: AtomicBool,
}

struct PhaseResult {
    measured_ok: u64,
    measured_secs: f64,
    failed: u64,
    total_ok: u64,
    exhausted: bool,
    latencies_us: Vec<u32>,
    first_failure: Option<String>,
    /// CPU seconds used in the measured window by the server and by this process.
    server_cpu: Option<f64>,
    client_cpu: Option<f64>,
}

/// Sends one request; `Err` describes a failure.
async fn one(
    client: &reqwest::Client,
    urls: &Urls,
    callback: Option<&Callback>,
) -> Result<(), String> {
    let (req, marker): (_, &[u8]) = match callback {
        None => (client.get(urls.healthz.clone()), b"\"ok\""),
        Some(cb) => (
            client
                .post(urls.events.clone())
                .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                .header(HEADER_TIMESTAMP, cb.timestamp.clone())
                .header(HEADER_NONCE, cb.nonce.clone())
                .header(HEADER_SIGNATURE, cb.signature.clone())
                .body(cb.body.clone()),
            b"toast",
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

struct Urls {
    healthz: reqwest::Url,
    events: reqwest::Url,
}

/// Runs one phase: `callbacks` is `None` for /healthz.
async fn run_phase(
    args: &Args,
    clients: &[reqwest::Client],
    urls: &Arc<Urls>,
    callbacks: Option<Arc<Vec<Callback>>>,
) -> PhaseResult {
    let counters = Arc::new(Counters::default());
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for client in clients {
        let (client, counters, urls) = (client.clone(), counters.clone(), urls.clone());
        let (callbacks, next) = (callbacks.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut first_failure = None;
            while !counters.stop.load(Ordering::Relaxed) {
                let cb = match &callbacks {
                    None => None,
                    Some(all) => match all.get(next.fetch_add(1, Ordering::Relaxed)) {
                        Some(cb) => Some(cb),
                        None => {
                            counters.exhausted.store(true, Ordering::Relaxed);
                            break;
                        }
                    },
                };
                let started = Instant::now();
                match one(&client, &urls, cb).await {
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

    // Warm-up, then the measured window; both end early if the callbacks run out.
    let wait = |secs: u64| {
        let counters = counters.clone();
        async move {
            let until = Instant::now() + Duration::from_secs(secs);
            while Instant::now() < until && !counters.exhausted.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let server_pid = args.server_pid.map(|p| p.to_string());
    let cpu = || {
        (
            server_pid.as_deref().and_then(common::cpu_secs),
            common::cpu_secs("self"),
        )
    };
    wait(args.warmup).await;
    counters.measuring.store(true, Ordering::Relaxed);
    let window = Instant::now();
    let (server_before, client_before) = cpu();
    wait(args.duration).await;
    let measured_ok = counters.measured_ok.load(Ordering::Relaxed);
    let measured_secs = window.elapsed().as_secs_f64();
    let (server_after, client_after) = cpu();
    counters.measuring.store(false, Ordering::Relaxed);
    counters.stop.store(true, Ordering::Relaxed);

    let mut latencies_us = Vec::new();
    let mut first_failure = None;
    for t in tasks {
        let (lat, fail) = t.await.expect("load task panicked");
        latencies_us.extend(lat);
        if first_failure.is_none() {
            first_failure = fail;
        }
    }
    PhaseResult {
        measured_ok,
        measured_secs,
        failed: counters.failed.load(Ordering::Relaxed),
        total_ok: counters.ok.load(Ordering::Relaxed),
        exhausted: counters.exhausted.load(Ordering::Relaxed),
        latencies_us,
        first_failure,
        server_cpu: server_after.zip(server_before).map(|(a, b)| a - b),
        client_cpu: client_after.zip(client_before).map(|(a, b)| a - b),
    }
}

/// Totals of one kind over all rounds.
#[derive(Default)]
struct Totals {
    ok: u64,
    secs: f64,
    failed: u64,
    latencies_us: Vec<u32>,
    server_cpu: Option<f64>,
    client_cpu: f64,
}

impl Totals {
    fn add(&mut self, r: PhaseResult) {
        self.server_cpu = r.server_cpu.map(|c| c + self.server_cpu.unwrap_or(0.0));
        self.client_cpu += r.client_cpu.unwrap_or(f64::NAN);
        self.ok += r.measured_ok;
        self.secs += r.measured_secs;
        self.failed += r.failed;
        self.latencies_us.extend(r.latencies_us);
    }

    fn rate(&self) -> f64 {
        self.ok as f64 / self.secs
    }
}

/// Microseconds of CPU per measured request, as text.
fn per_request(cpu: Option<f64>, requests: u64) -> String {
    cpu.map_or("-".into(), |c| format!("{:.1}", c * 1e6 / requests as f64))
}

fn report(round: usize, name: &str, r: &PhaseResult) {
    println!(
        "round {round} {name:<20} {:>7.0} req/s  ({} ok in {:.2}s, CPU µs/req server {} client {}; {} ok in phase, {} failed){}",
        r.measured_ok as f64 / r.measured_secs,
        r.measured_ok,
        r.measured_secs,
        per_request(r.server_cpu, r.measured_ok),
        per_request(r.client_cpu, r.measured_ok),
        r.total_ok,
        r.failed,
        if r.exhausted {
            "  [pre-generated callbacks ran out: phase cut short]"
        } else {
            ""
        }
    );
    if let Some(f) = &r.first_failure {
        println!("    first failure: {f}");
    }
}

fn main() {
    let args = Args::parse();
    assert!(
        args.connections > 0 && args.rounds > 0 && args.duration > 0,
        "nothing to do"
    );
    let runtime = common::runtime(args.threads);
    let base = args.url.trim_end_matches('/');
    let urls = Arc::new(Urls {
        healthz: format!("{base}/healthz").parse().expect("--url is a URL"),
        events: format!("{base}/feishu/events")
            .parse()
            .expect("--url is a URL"),
    });
    let mut seed = [0u8; 6];
    getrandom::fill(&mut seed).expect("OS randomness");
    let run = hex::encode(seed);
    println!(
        "target {}  connections {}  client threads {}  rounds {}  per phase: {}s warm-up + {}s measured",
        args.url, args.connections, args.threads, args.rounds, args.warmup, args.duration
    );

    let mut health = Totals::default();
    let mut inbound = Totals::default();
    let mut acks = Totals::default();
    runtime.block_on(async {
        let clients: Vec<_> = (0..args.connections)
            .map(|_| common::client(args.cacert.as_deref(), Duration::from_secs(10)))
            .collect();
        for round in 1..=args.rounds {
            let r = run_phase(&args, &clients, &urls, None).await;
            report(round, "GET /healthz", &r);
            let phase_secs = (args.warmup + args.duration) as f64;
            let healthz_rate = r.total_ok as f64 / phase_secs;
            health.add(r);

            for (button, totals) in [(Button::Inbound, &mut inbound), (Button::AckUnknown, &mut acks)] {
                // Sign and encrypt this phase's callbacks now, outside the timing.
                let count = ((healthz_rate * phase_secs * 1.25) as usize + args.connections)
                    .min(args.max_callbacks);
                let t = Instant::now();
                let phase = format!("{round}{}", if button == Button::Inbound { "i" } else { "a" });
                let callbacks = Arc::new(generate(&args, &run, &phase, button, count));
                let avg = callbacks.iter().map(|c| c.body.len()).sum::<usize>() / count.max(1);
                println!(
                    "        pre-generated {count} signed+encrypted card.action.trigger callbacks (avg body {avg} B) in {:.1}s",
                    t.elapsed().as_secs_f64()
                );
                let r = run_phase(&args, &clients, &urls, Some(callbacks)).await;
                report(round, button.label(), &r);
                totals.add(r);
            }
        }
    });

    println!("---");
    for (name, tot) in [
        ("healthz", &mut health),
        ("inbound", &mut inbound),
        ("ack", &mut acks),
    ] {
        tot.latencies_us.sort_unstable();
        println!(
            "{name:<10} {:>7.0} req/s  p50 {:.2} ms  p99 {:.2} ms  CPU µs/req server {} client {}  failed {}",
            tot.rate(),
            common::percentile_ms(&tot.latencies_us, 0.50),
            common::percentile_ms(&tot.latencies_us, 0.99),
            per_request(tot.server_cpu, tot.ok),
            per_request(Some(tot.client_cpu), tot.ok),
            tot.failed
        );
    }
    let ratio = inbound.rate() / health.rate();
    println!(
        "ratio inbound/healthz = {:.1} %  (target >= 80 %: {})",
        ratio * 100.0,
        if ratio >= 0.80 { "met" } else { "NOT met" }
    );
    println!(
        "ratio ack/healthz = {:.1} %  (each also reads the store once)",
        acks.rate() / health.rate() * 100.0
    );
    let failed = health.failed + inbound.failed + acks.failed;
    println!("failed requests: {failed}");
    if failed > 0 {
        std::process::exit(1);
    }
}
