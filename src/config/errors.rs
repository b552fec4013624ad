//! `[errors]` and `[[errors.projects]]`: applications' errors through the
//! Sentry protocol (`crate::inbound::sentry`). A project is what a Sentry DSN
//! names, `https://<public_key>@ackbot.example.com/<id>`: its id routes the
//! request, its public key (a secret here: whoever holds it can raise
//! alerts) authenticates it, and its service and environment label the
//! alerts of SDKs that say neither.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, invalid};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorsConfig {
    /// An error group with no new event for this long resolves; "0s": never.
    #[serde(with = "super::duration")]
    pub resolve_after: Duration,
    /// Largest body as sent (compressed), in bytes; larger ones get 413.
    pub max_body_bytes: usize,
    /// Largest envelope once decompressed; a bomb stops here with 413.
    pub max_decoded_bytes: usize,
    /// Events (and check-ins) every project together may send per second
    /// before ackbot answers 429 with `X-Sentry-Rate-Limits` (SDKs then
    /// pause); bursts of `rate_burst` pass.
    pub rate_per_second: u32,
    pub rate_burst: u32,
    pub projects: Vec<ProjectConfig>,
}

impl Default for ErrorsConfig {
    fn default() -> Self {
        Self {
            resolve_after: Duration::from_secs(24 * 3600),
            max_body_bytes: 1024 * 1024,
            max_decoded_bytes: 8 * 1024 * 1024,
            rate_per_second: 2_000,
            rate_burst: 10_000,
            projects: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// The DSN's project id (SDKs require a number).
    pub id: u64,
    /// The DSN's public key; `public_keys` for more than one (rotation).
    pub public_key: Option<Secret>,
    #[serde(default)]
    pub public_keys: Vec<Secret>,
    /// The alerts' `service`.
    pub service: Option<String>,
    /// For events that name no environment.
    #[serde(default = "default_environment")]
    pub environment: String,
    /// Extra labels on every alert of the project, for routes.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_environment() -> String {
    "production".into()
}

impl ProjectConfig {
    /// Every key the project accepts.
    pub fn keys(&self) -> impl Iterator<Item = &Secret> {
        self.public_key.iter().chain(&self.public_keys)
    }
}

pub(super) fn validate(errors: &ErrorsConfig) -> Result<(), ConfigError> {
    if !(1024..=64 * 1024 * 1024).contains(&errors.max_body_bytes) {
        return Err(invalid(
            "errors.max_body_bytes",
            "must be between 1024 and 67108864",
        ));
    }
    if errors.max_decoded_bytes < errors.max_body_bytes
        || errors.max_decoded_bytes > 256 * 1024 * 1024
    {
        return Err(invalid(
            "errors.max_decoded_bytes",
            "must be at least max_body_bytes and at most 268435456",
        ));
    }
    if errors.rate_per_second == 0 || errors.rate_burst == 0 {
        return Err(invalid(
            "errors.rate_per_second",
            "rate_per_second and rate_burst must be at least 1",
        ));
    }
    let mut ids = std::collections::HashSet::new();
    for p in &errors.projects {
        let id = p.id;
        if !ids.insert(id) {
            return Err(invalid(
                "errors.projects.id",
                format!("two projects have the id {id}"),
            ));
        }
        if p.keys().next().is_none() {
            return Err(invalid(
                "errors.projects.public_key",
                format!("project {id} has none: set public_key (the DSN's user part)"),
            ));
        }
        for k in p.keys() {
            let k = k.expose();
            if k.len() < 16 || k.len() > 128 || !k.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(invalid(
                    "errors.projects.public_key",
                    format!(
                        "of project {id} must be 16 to 128 letters and digits (e.g. `openssl rand -hex 16`)"
                    ),
                ));
            }
        }
        if p.environment.is_empty() || p.environment.len() > 64 {
            return Err(invalid(
                "errors.projects.environment",
                format!("of project {id} must be 1 to 64 characters"),
            ));
        }
        for name in p.labels.keys() {
            if !crate::domain::labels::is_valid_name(name) {
                return Err(invalid(
                    "errors.projects.labels",
                    format!("of project {id}: `{name}` is not a label name"),
                ));
            }
        }
    }
    Ok(())
}
