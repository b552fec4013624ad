//! `[[heartbeats]]`: things that must say "I ran" every `period` (a cron
//! job, a batch job, Alertmanager's always-firing `Watchdog`). Silence for
//! `period` + `grace` fires "<name>: no heartbeat"; a `/fail` ping fires at
//! once; the next good ping resolves. Pings: `POST /api/v1/heartbeats/{name}`
//! with an API token, or with the heartbeat's own `secret` as `?key=`, a URL
//! to paste into a crontab (`crate::inbound::heartbeats`); or, with
//! `alertmanager_alertname`, every firing Alertmanager alert of that name.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, invalid};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatConfig {
    pub name: String,
    #[serde(with = "super::duration")]
    pub period: Duration,
    #[serde(default = "default_grace", with = "super::duration")]
    pub grace: Duration,
    /// Authenticates `?key=` pings of this heartbeat alone.
    pub secret: Option<Secret>,
    /// The alert's service; default: the name.
    pub service: Option<String>,
    #[serde(default = "default_severity")]
    pub severity: String,
    #[serde(default)]
    pub labels: std::collections::BTreeMap<String, String>,
    /// A firing Alertmanager alert with this `alertname` is a ping of this
    /// heartbeat, not an alert (the `Watchdog` pattern).
    pub alertmanager_alertname: Option<String>,
}

fn default_grace() -> Duration {
    Duration::from_secs(60)
}
fn default_severity() -> String {
    "error".into()
}

impl HeartbeatConfig {
    pub fn severity(&self) -> crate::domain::Severity {
        crate::domain::Severity::parse("severity", &self.severity)
            .unwrap_or(crate::domain::Severity::Error)
    }

    pub fn service(&self) -> &str {
        self.service.as_deref().unwrap_or(&self.name)
    }
}

pub(super) fn validate(heartbeats: &[HeartbeatConfig]) -> Result<(), ConfigError> {
    let mut names = std::collections::HashSet::new();
    for h in heartbeats {
        if h.name.is_empty()
            || h.name.len() > 64
            || !h
                .name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(invalid(
                "heartbeats.name",
                format!(
                    "`{}` must be 1 to 64 letters, digits, `-`, `_` or `.`",
                    crate::domain::labels::truncate_text(&h.name, 70)
                ),
            ));
        }
        if !names.insert(h.name.as_str()) {
            return Err(invalid(
                "heartbeats.name",
                format!("two heartbeats are named `{}`", h.name),
            ));
        }
        if h.period < Duration::from_secs(1) {
            return Err(invalid(
                "heartbeats.period",
                format!("of `{}` must be at least 1s", h.name),
            ));
        }
        if let Some(s) = &h.secret {
            if s.expose().len() < 16 {
                return Err(invalid(
                    "heartbeats.secret",
                    format!("of `{}` must be at least 16 characters", h.name),
                ));
            }
        }
        crate::domain::Severity::parse("severity", &h.severity)
            .map_err(|e| invalid("heartbeats.severity", format!("of `{}`: {e}", h.name)))?;
        for name in h.labels.keys() {
            if !crate::domain::labels::is_valid_name(name) {
                return Err(invalid(
                    "heartbeats.labels",
                    format!("of `{}`: `{name}` is not a label name", h.name),
                ));
            }
        }
    }
    Ok(())
}
