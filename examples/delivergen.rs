//! End-to-end delivery benchmark for `bench/deliver.sh`: a local webhook
//! receiver that answers at once, and a generator that posts alerts to a
//! running ackbot whose only channel is that receiver (no routes: every alert
//! is its own group, `group_wait = 0s`).
//!
//! - `latency`: alerts at a fixed rate (default 500/s), one per request; for
//!   each, the time from sending `POST /api/v1/alerts` to the receiver getting
//!   the card, next to the request's own 202 latency (the baseline: what the
//!   caller waits for anyway).
//! - `throughput`: `--count` alerts posted as fast as batches allow; the
//!   delivery rate is alerts received per second until the last arrives.
//!
//! Lines starting with `RESULT` are for the script.

#[path = "common/mod.rs"]
#[allow(dead_code)] // the CPU helpers are for the other generators
mod common;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

#[derive(Parser, Debug)]
#[command(about = "End-to-end delivery benchmark: POST /api/v1/alerts to a webhook receiver")]
struct Args {
    #[arg(long, default_value = "https://127.0.0.1:18470")]
    url: String,
    #[arg(long)]
    cacert: Option<PathBuf>,
    #[arg(long)]
    token: String,
    /// Where the receiver listens (the channel's url must point here).
    #[arg(long, default_value = "127.0.0.1:18471")]
    receiver: String,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    Latency {
        #[arg(long, default_value_t = 500)]
        rate: u64,
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Unmeasured seconds first.
        #[arg(long, default_value_t = 2)]
        warmup: u64,
    },
    Throughput {
        #[arg(long, default_value_t = 10_000)]
        count: usize,
        #[arg(long, default_value_t = 100)]
        per_request: usize,
        #[arg(long, default_value_t = 8)]
        connections: usize,
    },
}

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A minimal HTTP/1.1 server: reads each request (Content-Length bodies),
/// records the alert titles in it, answers 200 at once. Keep-alive.
async fn receiver(addr: &str, arrivals: Arrivals) {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            socket.set_nodelay(true).ok();
            let arrivals = arrivals.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut reader = BufReader::new(read);
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        if let Some((k, v)) = l.split_once(':') {
                            if k.eq_ignore_ascii_case("content-length") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                    }
                    let mut body = vec![0u8; length];
                    if reader.read_exact(&mut body).await.is_err() {
                        return;
                    }
                    let now = Instant::now();
                    if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                        let mut a = arrivals.lock().unwrap();
                        for alert in v["alerts"].as_array().into_iter().flatten() {
                            if let Some(t) = alert["title"].as_str() {
                                a.entry(t.to_string()).or_insert(now);
                            }
                        }
                    }
                    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok";
                    if write.write_all(ok).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
}

fn main() {
    let args = Args::parse();
    common::runtime(args.threads).block_on(run(args));
}

async fn run(args: Args) {
    let arrivals: Arrivals = Arc::default();
    receiver(&args.receiver, arrivals.clone()).await;
    let client = common::client(args.cacert.as_deref(), Duration::from_secs(30));
    let url = format!("{}/api/v1/alerts", args.url);
    let post = {
        let client = client.clone();
        let token = args.token.clone();
        move |body: Value| {
            let request = client.post(url.clone()).bearer_auth(&token).json(&body);
            async move {
                let started = Instant::now();
                let ok = request
                    .send()
                    .await
                    .map(|r| r.status().as_u16() == 202)
                    .unwrap_or(false);
                (ok, started.elapsed())
            }
        }
    };
    let run_id = std::process::id();
    match args.mode {
        Mode::Latency {
            rate,
            duration,
            warmup,
        } => {
            let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
            let total = rate * (warmup + duration);
            let measured_from = rate * warmup;
            let mut ticker = tokio::time::interval(interval);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
            let mut sends = Vec::with_capacity(total as usize);
            let mut tasks = Vec::with_capacity(total as usize);
            for n in 0..total {
                ticker.tick().await;
                let title = format!("lat-{run_id}-{n}");
                sends.push((title.clone(), Instant::now()));
                let body = json!({"title": title, "severity": "warning", "service": "bench"});
                tasks.push(tokio::spawn(post(body)));
            }
            let mut ingest_us = Vec::new();
            let mut failed = 0;
            for (n, t) in tasks.into_iter().enumerate() {
                let (ok, took) = t.await.unwrap();
                if !ok {
                    failed += 1;
                } else if n as u64 >= measured_from {
                    ingest_us.push(took.as_micros() as u32);
                }
            }
            // Let the last deliveries arrive.
            let deadline = Instant::now() + Duration::from_secs(10);
            while arrivals.lock().unwrap().len() < total as usize && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let a = arrivals.lock().unwrap();
            let mut e2e_us = Vec::new();
            let mut missing = 0;
            for (title, sent) in &sends[measured_from as usize..] {
                match a.get(title) {
                    Some(at) => e2e_us.push(at.duration_since(*sent).as_micros() as u32),
                    None => missing += 1,
                }
            }
            ingest_us.sort_unstable();
            e2e_us.sort_unstable();
            let p = |v: &[u32], q| common::percentile_ms(v, q);
            println!(
                "latency  {rate}/s for {duration} s: POST→received p50 {:.2} ms p99 {:.2} ms; POST→202 p50 {:.2} ms p99 {:.2} ms; missing {missing}, failed {failed}",
                p(&e2e_us, 0.5),
                p(&e2e_us, 0.99),
                p(&ingest_us, 0.5),
                p(&ingest_us, 0.99)
            );
            println!(
                "RESULT kind=latency rate={rate} e2e_p50_ms={:.2} e2e_p99_ms={:.2} ingest_p50_ms={:.2} ingest_p99_ms={:.2} missing={missing} failed={failed}",
                p(&e2e_us, 0.5),
                p(&e2e_us, 0.99),
                p(&ingest_us, 0.5),
                p(&ingest_us, 0.99)
            );
        }
        Mode::Throughput {
            count,
            per_request,
            connections,
        } => {
            let started = Instant::now();
            let batches: Vec<Value> = (0..count)
                .collect::<Vec<_>>()
                .chunks(per_request)
                .map(|c| {
                    json!(c
                        .iter()
                        .map(|n| json!({"title": format!("thr-{run_id}-{n}"), "severity": "info"}))
                        .collect::<Vec<_>>())
                })
                .collect();
            let queue = Arc::new(Mutex::new(batches));
            let mut workers = Vec::new();
            for _ in 0..connections {
                let queue = queue.clone();
                let post = post.clone();
                workers.push(tokio::spawn(async move {
                    let mut failed = 0;
                    loop {
                        let Some(body) = queue.lock().unwrap().pop() else {
                            break;
                        };
                        if !post(body).await.0 {
                            failed += 1;
                        }
                    }
                    failed
                }));
            }
            let mut failed = 0;
            for w in workers {
                failed += w.await.unwrap();
            }
            let ingested = started.elapsed();
            let deadline = Instant::now() + Duration::from_secs(120);
            loop {
                let n = arrivals.lock().unwrap().len();
                if n >= count || Instant::now() >= deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let delivered = arrivals.lock().unwrap().len();
            let last = arrivals
                .lock()
                .unwrap()
                .values()
                .max()
                .map(|t| t.duration_since(started))
                .unwrap_or_default();
            let rate = delivered as f64 / last.as_secs_f64();
            println!(
                "throughput  {count} alerts: ingested in {:.2} s ({:.0}/s), all delivered after {:.2} s: {rate:.0} deliveries/s; delivered {delivered}, failed posts {failed}",
                ingested.as_secs_f64(),
                count as f64 / ingested.as_secs_f64(),
                last.as_secs_f64()
            );
            println!(
                "RESULT kind=throughput count={count} ingest_per_s={:.0} deliveries_per_s={rate:.0} delivered={delivered} failed={failed}",
                count as f64 / ingested.as_secs_f64()
            );
        }
    }
}
