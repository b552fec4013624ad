//! Sentry cron monitors (`check_in` items, spec 1.10), which ackbot must
//! judge itself: one alert per (project, environment, `monitor_slug`).
//!
//! - `error` fires "<slug> failed" (after `failure_issue_threshold`
//!   failures in a row, default 1); `ok` resolves it (after
//!   `recovery_threshold` in a row, default 1).
//! - `in_progress` with no `ok`/`error` within `max_runtime` minutes
//!   (default 30) fires "<slug> timed out".
//! - With a schedule (from any check-in's `monitor_config`): an `interval`
//!   one, or a crontab evaluated in the monitor's `timezone` (default
//!   UTC), no check-in by the next expected time + `checkin_margin`
//!   (default 1 minute) fires "<slug> missed its check-in".
//!
//! Each monitor's state is stored (`ci_series`, key
//! `probe\nmonitor\n<project>\n<environment>\n<slug>`), and the known keys
//! in one index row, so the deadlines are durable: the prober (one replica
//! at a time) looks at every monitor every few seconds and raises what
//! passed, after a restart too. At most [`MAX_MONITORS`] are watched.

use chrono::Utc;
use serde::{Deserialize, Serialize};

use super::prober::{Context, Outcome, ProbeAlert};
use crate::ingest::sentry::checkin::{CheckIn, CheckInStatus, Schedule};
use crate::store::{Store, StoreError};

pub const MAX_MONITORS: usize = 1000;
const INDEX: &str = "probe\nmonitor-index";
const ATTEMPTS: usize = 5;
/// How often the prober looks at the monitors.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(2);

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MonitorState {
    pub slug: String,
    pub project: u64,
    pub environment: String,
    pub service: Option<String>,
    /// An `interval` schedule, in seconds.
    pub interval_secs: Option<u64>,
    pub crontab: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    pub margin_secs: Option<u64>,
    pub max_runtime_secs: Option<u64>,
    pub failure_threshold: Option<u32>,
    pub recovery_threshold: Option<u32>,
    pub last_checkin_ms: Option<i64>,
    /// The open run: its id and start.
    pub running: Option<(String, i64)>,
    pub failures: u32,
    pub oks: u32,
    pub firing: bool,
    pub reason: Option<String>,
}

fn key(project: u64, environment: &str, slug: &str) -> String {
    format!("probe\nmonitor\n{project}\n{environment}\n{slug}")
}

fn minutes(m: u32) -> u64 {
    u64::from(m) * 60
}

impl MonitorState {
    fn alert(&self, firing: bool, text: String) -> crate::domain::NewAlert {
        let mut labels = std::collections::BTreeMap::new();
        labels.insert("source".into(), "sentry".into());
        labels.insert("monitor".into(), self.slug.clone());
        labels.insert("sentry_project".into(), self.project.to_string());
        labels.insert("environment".into(), self.environment.clone());
        let title = match self.reason.as_deref() {
            Some("timed_out") => format!("{} timed out", self.slug),
            Some("missed") => format!("{} missed its check-in", self.slug),
            _ => format!("{} failed", self.slug),
        };
        ProbeAlert {
            origin: "sentry-monitor",
            kind: "monitor",
            labels,
            title,
            content: text,
            severity: crate::domain::Severity::Error,
            service: self.service.clone().unwrap_or_else(|| self.slug.clone()),
            firing,
        }
        .into()
    }

    /// A due deadline's reason and text, if one passed at `now`.
    fn overdue(&self, now: i64) -> Option<(&'static str, String)> {
        if let Some((_, started)) = &self.running {
            let max = self.max_runtime_secs.unwrap_or(30 * 60) as i64 * 1000;
            if now - started >= max {
                return Some((
                    "timed_out",
                    format!(
                        "Started {} ago and has not finished (max runtime {}).",
                        human(now - started),
                        human(max)
                    ),
                ));
            }
        }
        let last = self.last_checkin_ms?;
        let margin = self.margin_secs.unwrap_or(60) as i64 * 1000;
        let (expected, every) = match (self.interval_secs, &self.crontab) {
            (Some(interval), _) => (
                last + interval as i64 * 1000,
                format!("every {}", human(interval as i64 * 1000)),
            ),
            (None, Some(crontab)) => (
                next_run(crontab, self.timezone.as_deref(), last)?,
                format!(
                    "on `{crontab}` ({})",
                    self.timezone.as_deref().unwrap_or("UTC")
                ),
            ),
            (None, None) => return None,
        };
        (self.running.is_none() && now >= expected + margin).then(|| {
            (
                "missed",
                format!(
                    "No check-in for {} (expected {every}, margin {}).",
                    human(now - last),
                    human(margin)
                ),
            )
        })
    }
}

/// The first run of a 5-field crontab after `after_ms`, in `timezone`
/// (an IANA name; unknown: UTC), as epoch milliseconds. `None` for a
/// crontab that does not parse (no missed alert then, never a wrong one).
pub fn next_run(crontab: &str, timezone: Option<&str>, after_ms: i64) -> Option<i64> {
    let fields: Vec<&str> = crontab.split_whitespace().collect();
    if fields.len() != 5 {
        return None;
    }
    // The `cron` crate wants seconds first, and numbers days of the week
    // 1 (Sunday) to 7; crontab's are 0 (or 7) for Sunday to 6: named
    // days mean the same in both.
    const DAYS: [&str; 8] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let mut dow = String::new();
    let mut after_step = false;
    for part in fields[4].split_inclusive(['-', ',', '/']) {
        let (value, sep) = match part.char_indices().last() {
            Some((i, '-' | ',' | '/')) => (&part[..i], &part[i..]),
            _ => (part, ""),
        };
        match value.parse::<usize>() {
            Ok(n) if !after_step && n < 8 => dow.push_str(DAYS[n]),
            _ => dow.push_str(value),
        }
        dow.push_str(sep);
        after_step = sep == "/";
    }
    let expression = format!(
        "0 {} {} {} {} {dow}",
        fields[0], fields[1], fields[2], fields[3]
    );
    let schedule: cron::Schedule = expression.parse().ok()?;
    let tz: chrono_tz::Tz = timezone
        .and_then(|t| t.parse().ok())
        .unwrap_or(chrono_tz::UTC);
    let after = chrono::DateTime::from_timestamp_millis(after_ms)?.with_timezone(&tz);
    schedule.after(&after).next().map(|t| t.timestamp_millis())
}

fn human(ms: i64) -> String {
    crate::engine::streak::human_duration(ms.max(0) / 1000)
}

async fn load(store: &dyn Store, key: &str) -> Result<(i64, Option<MonitorState>), StoreError> {
    Ok(match store.ci_load(key).await? {
        Some(row) => (row.version, serde_json::from_str(&row.state).ok()),
        None => (0, None),
    })
}

async fn save<T: Serialize>(
    store: &dyn Store,
    key: &str,
    version: i64,
    value: &T,
) -> Result<bool, StoreError> {
    let json = serde_json::to_string(value).expect("state serializes");
    store.ci_put(key, version, &json, false).await
}

/// Adds `key` to the index of monitors (bounded).
async fn index(store: &dyn Store, key: &str) -> Result<(), StoreError> {
    for _ in 0..ATTEMPTS {
        let row = store.ci_load(INDEX).await?;
        let (version, mut keys): (i64, Vec<String>) = match &row {
            Some(r) => (
                r.version,
                serde_json::from_str(&r.state).unwrap_or_default(),
            ),
            None => (0, Vec::new()),
        };
        if keys.iter().any(|k| k == key) {
            return Ok(());
        }
        if keys.len() >= MAX_MONITORS {
            tracing::warn!(
                monitors = keys.len(),
                "Sentry monitors: the index is full; this one's deadlines are not watched"
            );
            return Ok(());
        }
        keys.push(key.to_string());
        if save(store, INDEX, version, &keys).await? {
            return Ok(());
        }
    }
    Err(StoreError::Limit(
        "the monitor index kept changing; retry".into(),
    ))
}

/// One check-in of `project`'s monitor.
pub async fn check_in(
    store: &dyn Store,
    project: u64,
    default_environment: &str,
    service: Option<&str>,
    c: &CheckIn,
) -> Result<(), StoreError> {
    let environment = c
        .environment
        .as_deref()
        .filter(|e| !e.is_empty())
        .unwrap_or(default_environment);
    let key = key(project, environment, &c.monitor_slug);
    let mut fresh = false;
    for _ in 0..ATTEMPTS {
        let now = Utc::now().timestamp_millis();
        let (version, state) = load(store, &key).await?;
        fresh = state.is_none();
        let mut s = state.unwrap_or_else(|| MonitorState {
            slug: c.monitor_slug.clone(),
            project,
            environment: environment.to_string(),
            ..Default::default()
        });
        s.service = service.map(str::to_string);
        if let Some(cfg) = &c.config {
            match &cfg.schedule {
                Some(Schedule::Interval { value, unit }) => {
                    let per = match unit.as_str() {
                        "minute" => 60,
                        "hour" => 3600,
                        "day" => 86_400,
                        "week" => 7 * 86_400,
                        "month" => 30 * 86_400,
                        "year" => 365 * 86_400,
                        _ => 0,
                    };
                    s.interval_secs = (per > 0).then(|| value.saturating_mul(per));
                    s.crontab = None;
                }
                Some(Schedule::Crontab(c)) => {
                    s.crontab = Some(c.clone());
                    s.interval_secs = None;
                }
                None => {}
            }
            s.timezone = cfg.timezone.clone().or(s.timezone.take());
            s.margin_secs = cfg.checkin_margin_minutes.map(minutes).or(s.margin_secs);
            s.max_runtime_secs = cfg.max_runtime_minutes.map(minutes).or(s.max_runtime_secs);
            s.failure_threshold = cfg.failure_issue_threshold.or(s.failure_threshold);
            s.recovery_threshold = cfg.recovery_threshold.or(s.recovery_threshold);
        }
        s.last_checkin_ms = Some(now);
        let mut occurrence = None;
        match c.status {
            CheckInStatus::InProgress => {
                s.running = Some((c.check_in_id.clone(), now));
            }
            CheckInStatus::Error => {
                s.running = None;
                s.oks = 0;
                s.failures = s.failures.saturating_add(1);
                if s.failures >= s.failure_threshold.unwrap_or(1).max(1) {
                    s.firing = true;
                    s.reason = Some("failed".into());
                    let mut text = format!("Check-in `error` ({} in a row).", s.failures);
                    if let Some(d) = c.duration {
                        text.push_str(&format!(" Ran {}.", human((d * 1000.0) as i64)));
                    }
                    if let Some(t) = &c.trace_id {
                        text.push_str(&format!("\ntrace {t}"));
                    }
                    occurrence = Some(s.alert(true, text));
                }
            }
            CheckInStatus::Ok => {
                s.running = None;
                s.failures = 0;
                s.oks = s.oks.saturating_add(1);
                if s.firing && s.oks >= s.recovery_threshold.unwrap_or(1).max(1) {
                    s.firing = false;
                    occurrence = Some(s.alert(false, "Check-in `ok`.".into()));
                    s.reason = None;
                }
            }
        }
        // The alert first (a lost race ingests again; occurrences fold).
        if let Some(a) = occurrence {
            store.ingest(vec![a], Utc::now()).await?;
            crate::metrics::get().accepted("monitor", 1);
        }
        if save(store, &key, version, &s).await? {
            if fresh {
                index(store, &key).await?;
            }
            return Ok(());
        }
    }
    let _ = fresh;
    Err(StoreError::Limit(
        "the monitor's state kept changing under this check-in; retry".into(),
    ))
}

/// The prober's look at every monitor's deadlines.
pub async fn check(cx: &Context) -> Outcome {
    let result: Result<(), StoreError> = async {
        let Some(row) = cx.store.ci_load(INDEX).await? else {
            return Ok(());
        };
        let keys: Vec<String> = serde_json::from_str(&row.state).unwrap_or_default();
        let now = Utc::now().timestamp_millis();
        for key in keys {
            let (version, Some(mut s)) = load(cx.store.as_ref(), &key).await? else {
                continue;
            };
            if s.firing {
                continue;
            }
            let Some((reason, text)) = s.overdue(now) else {
                continue;
            };
            s.firing = true;
            s.reason = Some(reason.into());
            if reason == "timed_out" {
                s.running = None;
            }
            cx.ingest("monitor", vec![s.alert(true, text)]).await?;
            save(cx.store.as_ref(), &key, version, &s).await?;
        }
        Ok(())
    }
    .await;
    result.map_err(|e| tracing::warn!(error = %e, "Sentry monitor deadlines"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines() {
        let mut s = MonitorState {
            interval_secs: Some(60),
            margin_secs: Some(30),
            last_checkin_ms: Some(0),
            ..Default::default()
        };
        assert_eq!(s.overdue(89_999), None);
        assert_eq!(s.overdue(90_000).map(|o| o.0), Some("missed"));
        s.running = Some(("x".into(), 0));
        s.max_runtime_secs = Some(600);
        assert_eq!(s.overdue(90_000), None, "a run in progress is not missed");
        assert_eq!(s.overdue(600_000).map(|o| o.0), Some("timed_out"));
        // Hourly: the check-in at 00:00:05 expects the next by 01:01.
        let hourly = MonitorState {
            crontab: Some("0 * * * *".into()),
            last_checkin_ms: Some(5_000),
            ..Default::default()
        };
        assert_eq!(hourly.overdue(3_659_999), None);
        assert_eq!(hourly.overdue(3_660_000).map(|o| o.0), Some("missed"));
        let broken = MonitorState {
            crontab: Some("every day".into()),
            last_checkin_ms: Some(0),
            ..Default::default()
        };
        assert_eq!(broken.overdue(i64::MAX / 4), None);
    }

    #[test]
    fn crontabs_in_their_time_zone() {
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_millis()
        };
        // 02:00 Berlin is 01:00 UTC in winter.
        let next = next_run(
            "0 2 * * *",
            Some("Europe/Berlin"),
            at("2026-12-02T07:13:12Z"),
        );
        assert_eq!(next, Some(at("2026-12-03T01:00:00Z")));
        // Crontab's 0 is Sunday; 1-5 Monday to Friday. 2026-12-04 is a Friday.
        let sunday = next_run("30 9 * * 0", None, at("2026-12-04T00:00:00Z"));
        assert_eq!(sunday, Some(at("2026-12-06T09:30:00Z")));
        let weekday = next_run("0 9 * * 1-5", None, at("2026-12-04T10:00:00Z"));
        assert_eq!(weekday, Some(at("2026-12-07T09:00:00Z")));
        let every_other = next_run("0 0 */2 * *", None, at("2026-12-04T10:00:00Z"));
        assert!(every_other.is_some());
        assert_eq!(next_run("0 2 * *", None, 0), None);
        assert_eq!(
            next_run("0 2 * * *", Some("Mars/Olympus"), 0),
            Some(2 * 3600 * 1000)
        );
    }
}
