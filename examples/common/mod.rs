//! Shared by the load generators (`loadgen`, `ingestgen`): an HTTPS client
//! for the local test server, a runtime, CPU time from `/proc`, percentiles.

use std::path::Path;
use std::time::Duration;

/// A multi-threaded tokio runtime with `threads` workers (at least one).
pub fn runtime(threads: usize) -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// A keep-alive HTTP/1.1 client, one connection per client, trusting exactly
/// `cacert` (the server's generated certificate), or anything without one.
pub fn client(cacert: Option<&Path>, timeout: Duration) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .http1_only()
        .pool_max_idle_per_host(1)
        .pool_idle_timeout(Duration::from_secs(90))
        .tcp_nodelay(true)
        .timeout(timeout);
    match cacert {
        Some(path) => {
            let pem = std::fs::read(path)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
            let cert = reqwest::Certificate::from_pem(&pem).expect("a PEM certificate");
            b = b.tls_built_in_root_certs(false).add_root_certificate(cert);
        }
        None => b = b.danger_accept_invalid_certs(true),
    }
    b.build().expect("reqwest client")
}

/// A `/proc/<pid>/stat` (or `/task/<tid>/stat`) line: the name and the user +
/// system CPU seconds.
pub fn parse_stat(stat: &str) -> Option<(String, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((comm, ticks as f64 / 100.0))
}

/// CPU seconds used so far by a process (`"self"` for this one).
pub fn cpu_secs(pid: &str) -> Option<f64> {
    parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?).map(|(_, c)| c)
}

/// The `p` quantile of sorted microsecond latencies, in milliseconds.
#[allow(dead_code)] // intakegen reports rates only
pub fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize] as f64 / 1000.0
}
