//! `[[checks]]`: health checks ackbot runs itself (`crate::watch::checks`):
//! an HTTP(S) URL or a TCP `host:port`, probed every `interval`; `failures`
//! failed probes in a row fire "service unavailable", the first good one
//! resolves it. A certificate that expires within `tls_expiry_warning`
//! is a warning of its own.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};

/// The longest body regex accepted, in bytes (compiled with a size limit too).
pub const MAX_BODY_REGEX: usize = 1024;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConfig {
    pub name: String,
    /// The alert's `service`.
    pub service: Option<String>,
    /// `http://` or `https://` URL, fetched with GET.
    pub url: Option<String>,
    /// `host:port`, connected to (TCP).
    pub tcp: Option<String>,
    /// PEM file of extra CAs to trust for `url` (an internal CA).
    pub ca_file: Option<std::path::PathBuf>,
    #[serde(default = "default_interval", with = "super::duration")]
    pub interval: Duration,
    #[serde(default = "default_timeout", with = "super::duration")]
    pub timeout: Duration,
    /// Failed probes in a row that fire the alert.
    #[serde(default = "default_failures")]
    pub failures: u32,
    /// HTTP statuses that pass; empty: any 2xx.
    #[serde(default)]
    pub expect_status: Vec<u16>,
    /// The body (its first 64 KiB) must match this regex.
    pub body_regex: Option<String>,
    /// Warn this long before the server's certificate expires; "0s": never.
    #[serde(default = "default_tls_warning", with = "super::duration")]
    pub tls_expiry_warning: Duration,
    /// `critical`, `error`, `warning` or `info`.
    #[serde(default = "default_severity")]
    pub severity: String,
    /// Extra labels on the alert, for routes.
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
}

fn default_interval() -> Duration {
    Duration::from_secs(30)
}
fn default_timeout() -> Duration {
    Duration::from_secs(5)
}
fn default_failures() -> u32 {
    2
}
fn default_tls_warning() -> Duration {
    Duration::from_secs(14 * 24 * 3600)
}
fn default_severity() -> String {
    "critical".into()
}

impl CheckConfig {
    pub fn severity(&self) -> crate::domain::Severity {
        crate::domain::Severity::parse("severity", &self.severity)
            .unwrap_or(crate::domain::Severity::Critical)
    }
}

pub(super) fn validate(checks: &[CheckConfig]) -> Result<(), ConfigError> {
    let mut names = std::collections::HashSet::new();
    for c in checks {
        if c.name.is_empty()
            || c.name.len() > 64
            || !c
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(invalid(
                "checks.name",
                format!(
                    "`{}` must be 1 to 64 letters, digits, `-`, `_` or `.`",
                    crate::domain::labels::truncate_text(&c.name, 70)
                ),
            ));
        }
        if !names.insert(c.name.as_str()) {
            return Err(invalid(
                "checks.name",
                format!("two checks are named `{}`", c.name),
            ));
        }
        match (&c.url, &c.tcp) {
            (Some(url), None) => {
                let u = reqwest::Url::parse(url)
                    .map_err(|e| invalid("checks.url", format!("`{url}` is not a URL: {e}")))?;
                if !matches!(u.scheme(), "http" | "https") {
                    return Err(invalid("checks.url", "must be http:// or https://"));
                }
                if !u.username().is_empty() || u.password().is_some() {
                    return Err(invalid(
                        "checks.url",
                        "must not hold credentials: alerts and logs show it",
                    ));
                }
            }
            (None, Some(tcp)) => {
                let ok = tcp
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0));
                if !ok {
                    return Err(invalid("checks.tcp", format!("`{tcp}` is not host:port")));
                }
                if c.body_regex.is_some() || !c.expect_status.is_empty() {
                    return Err(invalid(
                        "checks.body_regex",
                        "body_regex and expect_status are for url checks",
                    ));
                }
            }
            _ => {
                return Err(invalid(
                    "checks.url",
                    format!("check `{}` needs exactly one of url and tcp", c.name),
                ));
            }
        }
        if c.interval < Duration::from_secs(1) {
            return Err(invalid("checks.interval", "must be at least 1s"));
        }
        // A check is never probed again while its probe runs: a timeout
        // longer than the interval only spaces the probes out.
        if c.timeout.is_zero() || c.timeout > Duration::from_secs(300) {
            return Err(invalid(
                "checks.timeout",
                "must be more than 0 and at most 5m",
            ));
        }
        if c.failures == 0 {
            return Err(invalid("checks.failures", "must be at least 1"));
        }
        if let Some(r) = &c.body_regex {
            if r.len() > MAX_BODY_REGEX {
                return Err(invalid(
                    "checks.body_regex",
                    format!("is longer than {MAX_BODY_REGEX} bytes"),
                ));
            }
            compile(r).map_err(|e| invalid("checks.body_regex", e))?;
        }
        if crate::domain::Severity::parse("severity", &c.severity).is_err() {
            return Err(invalid(
                "checks.severity",
                "must be critical, error, warning or info",
            ));
        }
        for (k, v) in &c.labels {
            if !crate::domain::labels::is_valid_name(k) || k.len() > 64 || v.len() > 256 {
                return Err(invalid(
                    "checks.labels",
                    format!(
                        "`{}`: names like Prometheus label names (up to 64 bytes), values up to 256 bytes",
                        crate::domain::labels::truncate_text(k, 70)
                    ),
                ));
            }
            if ["source", "check", "service"].contains(&k.as_str()) {
                return Err(invalid(
                    "checks.labels",
                    format!("`{k}` is set by ackbot (use `service` for the service)"),
                ));
            }
        }
    }
    Ok(())
}

/// The body regex, compiled with bounded size (no exponential blow-up:
/// the `regex` crate runs in linear time).
pub fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .dfa_size_limit(1 << 20)
        .build()
        .map_err(|e| e.to_string())
}
