//! `[[checks]]`: HTTP(S) and TCP health checks, run by the prober.
//!
//! A probe fails on a refused or reset connection, a TLS error, a timeout,
//! an unexpected status, or a body that does not match `body_regex`. The
//! streak rule is the pipelines': `failures` failed probes in a row fire
//! "{service} unavailable" (saying what failed and since when), a change
//! of reason updates it, the first good probe resolves it. An HTTPS
//! server's certificate that expires within `tls_expiry_warning` is a
//! warning of its own, resolved when the certificate is renewed.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::prober::{Context, Outcome, ProbeAlert, ProbeState};
use crate::config::CheckConfig;
use crate::domain::labels::cut;
use crate::domain::{NewAlert, Severity};
use crate::engine::streak::human_duration;

/// Body bytes read at most for `body_regex`.
const MAX_BODY: usize = 64 * 1024;

/// What one probe found.
#[derive(Debug, Clone, PartialEq)]
pub struct Probed {
    /// Why it failed; `None`: it passed.
    pub failure: Option<String>,
    /// The server certificate's end of validity (HTTPS).
    pub cert_expires: Option<DateTime<Utc>>,
}

pub async fn run(cx: &Context, check: &CheckConfig) -> Outcome {
    let probed = probe(cx, check).await;
    let key = format!("probe\ncheck\n{}", check.name);
    let result = async {
        let (version, mut state) = cx.load(&key).await?;
        let now = Utc::now();
        let alerts = step(check, &mut state, &probed, now);
        cx.ingest("check", alerts).await?;
        cx.save(&key, version, &state).await
    }
    .await;
    if let Err(e) = result {
        tracing::warn!(check = check.name, error = %e, "health check result not stored; the next probe tries again");
    }
    // Checks never back off: recovery must be seen at once.
    Ok(())
}

/// The labels of a check's alerts.
fn labels(check: &CheckConfig) -> BTreeMap<String, String> {
    let mut map: BTreeMap<String, String> = check.labels.clone();
    map.insert("source".into(), "check".into());
    map.insert("check".into(), check.name.clone());
    map.insert("service".into(), service(check).to_string());
    map
}

fn service(check: &CheckConfig) -> &str {
    check.service.as_deref().unwrap_or(&check.name)
}

fn target(check: &CheckConfig) -> &str {
    check
        .url
        .as_deref()
        .or(check.tcp.as_deref())
        .unwrap_or_default()
}

/// Counts a probe into the state; returns the alert occurrences to ingest.
pub fn step(
    check: &CheckConfig,
    state: &mut ProbeState,
    probed: &Probed,
    now: DateTime<Utc>,
) -> Vec<NewAlert> {
    let now_ms = now.timestamp_millis();
    let mut alerts = Vec::new();
    match &probed.failure {
        Some(reason) => {
            if state.failures == 0 {
                state.since_ms = Some(now_ms);
            }
            state.failures = state.failures.saturating_add(1);
            let changed = state.reason.as_deref() != Some(reason.as_str());
            state.reason = Some(reason.clone());
            if state.failures >= check.failures && (!state.firing || changed) {
                state.firing = true;
                alerts.push(unavailable(check, state, now_ms));
            }
        }
        None => {
            if state.firing {
                state.firing = false;
                alerts.push(unavailable(check, state, now_ms));
            }
            state.failures = 0;
            state.since_ms = None;
            state.reason = None;
            state.last_ok_ms = Some(now_ms);
        }
    }
    if let Some(expires) = probed.cert_expires {
        let left = expires - now;
        let warn = !check.tls_expiry_warning.is_zero()
            && left.num_seconds() < check.tls_expiry_warning.as_secs() as i64;
        if warn != state.tls_warning {
            state.tls_warning = warn;
            alerts.push(expiry(check, expires, now, warn));
        }
    }
    alerts
}

fn unavailable(check: &CheckConfig, state: &ProbeState, now_ms: i64) -> NewAlert {
    let since = state
        .since_ms
        .map(|t| human_duration((now_ms - t).max(0) / 1000))
        .unwrap_or_else(|| "0s".into());
    ProbeAlert {
        origin: "check",
        kind: "service unavailable",
        labels: labels(check),
        title: format!("{} unavailable", service(check)),
        content: format!(
            "{} failed checks in a row of {}, failing for {since}\nLast: {}\nChecked every {}, timeout {}",
            state.failures,
            target(check),
            state.reason.as_deref().unwrap_or("?"),
            humantime::format_duration(check.interval),
            humantime::format_duration(check.timeout),
        ),
        severity: check.severity(),
        service: service(check).to_string(),
        firing: state.firing,
    }
    .into()
}

fn expiry(check: &CheckConfig, expires: DateTime<Utc>, now: DateTime<Utc>, warn: bool) -> NewAlert {
    let left = (expires - now).num_seconds();
    let host = check
        .url
        .as_deref()
        .and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let until = expires.format("%Y-%m-%d %H:%M UTC");
    let (title, content) = if left <= 0 {
        (
            format!("{}: TLS certificate of {host} has expired", service(check)),
            format!("It expired at {until}."),
        )
    } else {
        (
            format!(
                "{}: TLS certificate of {host} expires in {}",
                service(check),
                days(left)
            ),
            format!(
                "It is valid until {until} (in {}); renew it.",
                human_duration(left)
            ),
        )
    };
    ProbeAlert {
        origin: "check",
        kind: "certificate expiry",
        labels: labels(check),
        title,
        content,
        severity: Severity::Warning,
        service: service(check).to_string(),
        firing: warn,
    }
    .into()
}

fn days(secs: i64) -> String {
    // To the nearest day: 2 days 23 hours is "3 days".
    let d = (secs + 43_200) / 86_400;
    match d {
        0 => format!("{} hours", (secs / 3600).max(1)),
        1 => "1 day".into(),
        d => format!("{d} days"),
    }
}

/// One probe of `check`.
pub async fn probe(cx: &Context, check: &CheckConfig) -> Probed {
    if let Some(tcp) = &check.tcp {
        return Probed {
            failure: probe_tcp(tcp, check.timeout).await.err(),
            cert_expires: None,
        };
    }
    let Some(url) = &check.url else {
        return Probed {
            failure: Some("no url".into()),
            cert_expires: None,
        };
    };
    let client = match &check.ca_file {
        Some(path) => match Context::cached(&cx.clients, path, || client_with_ca(path)) {
            Ok(c) => c,
            Err(e) => {
                return Probed {
                    failure: Some(e),
                    cert_expires: None,
                };
            }
        },
        None => cx.client.clone(),
    };
    let regex = match &check.body_regex {
        Some(p) => match Context::cached(&cx.regexes, p, || crate::config::checks::compile(p)) {
            Ok(r) => Some(r),
            Err(e) => {
                return Probed {
                    failure: Some(format!("body_regex: {e}")),
                    cert_expires: None,
                };
            }
        },
        None => None,
    };
    probe_http(&client, check, url, regex.as_ref()).await
}

fn client_with_ca(path: &std::path::Path) -> Result<reqwest::Client, String> {
    let pem = std::fs::read(path)
        .map_err(|e| format!("ca_file {} cannot be read: {e}", path.display()))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| format!("ca_file {} is not PEM: {e}", path.display()))?;
    let mut b = reqwest::Client::builder()
        .user_agent(concat!("ackbot/", env!("CARGO_PKG_VERSION"), " (prober)"))
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::limited(5));
    for c in certs {
        b = b.add_root_certificate(c);
    }
    b.build().map_err(|e| format!("TLS setup: {e}"))
}

async fn probe_tcp(addr: &str, timeout: Duration) -> Result<(), String> {
    match tokio::time::timeout(timeout, tokio::net::TcpStream::connect(addr)).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(format!("TCP connect to {addr} failed: {e}")),
        Err(_) => Err(format!(
            "TCP connect to {addr} timed out after {}",
            humantime::format_duration(timeout)
        )),
    }
}

async fn probe_http(
    client: &reqwest::Client,
    check: &CheckConfig,
    url: &str,
    regex: Option<&regex::Regex>,
) -> Probed {
    let deadline = tokio::time::Instant::now() + check.timeout;
    let mut res = match client.get(url).timeout(check.timeout).send().await {
        Ok(r) => r,
        Err(e) => {
            return Probed {
                failure: Some(describe(&e, check.timeout)),
                cert_expires: None,
            };
        }
    };
    let cert_expires = res
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .and_then(not_after);
    let status = res.status().as_u16();
    let passes = if check.expect_status.is_empty() {
        (200..300).contains(&status)
    } else {
        check.expect_status.contains(&status)
    };
    let failure = if !passes {
        let expected = if check.expect_status.is_empty() {
            "2xx".to_string()
        } else {
            check
                .expect_status
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(" or ")
        };
        Some(format!("HTTP {status} (expected {expected})"))
    } else if let Some(re) = regex {
        let mut body = Vec::new();
        let read = async {
            while body.len() < MAX_BODY {
                match res.chunk().await? {
                    Some(c) => body.extend_from_slice(&c[..c.len().min(MAX_BODY - body.len())]),
                    None => break,
                }
            }
            Ok::<_, reqwest::Error>(())
        };
        match tokio::time::timeout_at(deadline, read).await {
            Err(_) => Some(format!(
                "body not read within {}",
                humantime::format_duration(check.timeout)
            )),
            Ok(Err(e)) => Some(describe(&e, check.timeout)),
            Ok(Ok(())) if re.is_match(&String::from_utf8_lossy(&body)) => None,
            Ok(Ok(())) => Some(format!(
                "HTTP {status}, but the body does not match /{}/",
                cut(re.as_str(), 100)
            )),
        }
    } else {
        None
    };
    Probed {
        failure,
        cert_expires,
    }
}

/// A request error in words, without the URL (it may hold a token) and
/// with its causes (where a TLS error says what is wrong).
pub fn describe(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        return format!("timed out after {}", humantime::format_duration(timeout));
    }
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !chain.iter().any(|c: &String| c.contains(&text)) {
            chain.push(text);
        }
        source = s.source();
    }
    let detail = chain.join(": ");
    let lower = detail.to_ascii_lowercase();
    let kind =
        if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake") {
            "TLS error"
        } else if e.is_connect() {
            "connection failed"
        } else {
            "request failed"
        };
    cut(&format!("{kind}: {detail}"), 300)
}

/// The end of a DER certificate's validity.
fn not_after(der: &[u8]) -> Option<DateTime<Utc>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AlertStatus;

    fn check() -> CheckConfig {
        toml::from_str(
            r#"name = "payment-health"
service = "payment"
url = "https://payment.internal/healthz"
failures = 3"#,
        )
        .unwrap()
    }

    fn failed(reason: &str) -> Probed {
        Probed {
            failure: Some(reason.into()),
            cert_expires: None,
        }
    }

    const OK: Probed = Probed {
        failure: None,
        cert_expires: None,
    };

    #[test]
    fn n_failures_fire_a_new_reason_updates_and_the_first_success_resolves() {
        let c = check();
        let mut s = ProbeState::default();
        let t0 = Utc::now();
        let at = |secs| t0 + chrono::Duration::seconds(secs);
        assert!(step(&c, &mut s, &failed("HTTP 500 (expected 2xx)"), at(0)).is_empty());
        assert!(step(&c, &mut s, &failed("HTTP 500 (expected 2xx)"), at(30)).is_empty());
        let fired = step(&c, &mut s, &failed("HTTP 500 (expected 2xx)"), at(60));
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].status, AlertStatus::Firing);
        assert_eq!(fired[0].title, "payment unavailable");
        assert!(
            fired[0].content.contains(
                "3 failed checks in a row of https://payment.internal/healthz, failing for 1m"
            ),
            "{}",
            fired[0].content
        );
        assert!(fired[0].content.contains("Last: HTTP 500"));
        // The same reason again: nothing new; another reason: updated.
        assert!(step(&c, &mut s, &failed("HTTP 500 (expected 2xx)"), at(90)).is_empty());
        let changed = step(&c, &mut s, &failed("timed out after 5s"), at(120));
        assert_eq!(changed.len(), 1);
        assert!(changed[0].content.contains("timed out"));
        assert_eq!(changed[0].fingerprint, fired[0].fingerprint);
        let resolved = step(&c, &mut s, &OK, at(150));
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
        assert!(step(&c, &mut s, &OK, at(180)).is_empty());
        // A failure that does not reach the count is forgotten by a success.
        step(&c, &mut s, &failed("x"), at(200));
        step(&c, &mut s, &failed("x"), at(210));
        step(&c, &mut s, &OK, at(220));
        assert!(step(&c, &mut s, &failed("x"), at(230)).is_empty());
    }

    #[test]
    fn a_certificate_close_to_expiry_warns_once_and_renewal_resolves() {
        let c = check();
        let mut s = ProbeState::default();
        let now = Utc::now();
        let soon = Probed {
            failure: None,
            cert_expires: Some(now + chrono::Duration::days(3)),
        };
        let warned = step(&c, &mut s, &soon, now);
        assert_eq!(warned.len(), 1);
        assert_eq!(warned[0].severity, Severity::Warning);
        assert!(
            warned[0].title.ends_with("expires in 3 days"),
            "{}",
            warned[0].title
        );
        assert!(step(&c, &mut s, &soon, now).is_empty());
        let renewed = Probed {
            failure: None,
            cert_expires: Some(now + chrono::Duration::days(90)),
        };
        let done = step(&c, &mut s, &renewed, now);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].status, AlertStatus::Resolved);
    }
}
