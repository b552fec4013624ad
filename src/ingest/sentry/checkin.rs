//! A `check_in` item of a Sentry cron monitor (spec 1.10): a job says it
//! started (`in_progress`), succeeded (`ok`) or failed (`error`), with the
//! same `check_in_id` at the start and the end of one run, so ackbot can
//! raise "job failed" and, with the monitor's schedule and `max_runtime`,
//! "timed out" and "missed" (the alert logic is the caller's).
//!
//! The SDK sends `monitor_config` only on the calls the app gave one to, so
//! it is optional here and the caller keeps the last one seen. Unlike an
//! event, a check-in without its id, its monitor or a known status cannot
//! be used at all: those are errors (the caller counts and drops them).

use serde::Deserialize;

use super::envelope::normalize_uuid;
use super::{cut_chars, lenient};

/// Longest monitor slug kept, in characters.
pub const MAX_SLUG: usize = 128;
/// Longest release, environment, time zone or crontab kept.
const MAX_FIELD: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CheckInStatus {
    InProgress,
    Ok,
    Error,
}

impl CheckInStatus {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "in_progress" => Some(Self::InProgress),
            "ok" => Some(Self::Ok),
            "error" => Some(Self::Error),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Ok => "ok",
            Self::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckIn {
    /// 32 lowercase hex digits. All zeros means "the latest in-progress
    /// check-in of this monitor" (spec 1.10).
    pub check_in_id: String,
    /// Cut to [`MAX_SLUG`] characters.
    pub monitor_slug: String,
    pub status: CheckInStatus,
    /// Seconds (only meaningful with `ok` and `error`).
    pub duration: Option<f64>,
    pub environment: Option<String>,
    pub release: Option<String>,
    /// `contexts.trace.trace_id`: links the run to its errors.
    pub trace_id: Option<String>,
    pub config: Option<MonitorConfig>,
}

/// `monitor_config`: the monitor as the app declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonitorConfig {
    pub schedule: Option<Schedule>,
    /// Minutes after the expected time before a run counts as missed.
    pub checkin_margin_minutes: Option<u32>,
    /// Minutes an `in_progress` run may take before it timed out.
    pub max_runtime_minutes: Option<u32>,
    /// Consecutive failures before an alert.
    pub failure_issue_threshold: Option<u32>,
    /// Consecutive successes before the alert resolves.
    pub recovery_threshold: Option<u32>,
    /// IANA name (`Europe/Berlin`) the crontab is read in.
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Schedule {
    /// `0 2 * * *`.
    Crontab(String),
    /// Every `value` `unit`s (`minute`, `hour`, `day`, `week`, `month`,
    /// `year`).
    Interval { value: u64, unit: String },
}

#[derive(Debug, thiserror::Error)]
pub enum CheckInError {
    #[error("the check-in is not a JSON object")]
    NotAnObject,
    #[error("the check-in is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the check-in has no check_in_id")]
    MissingId,
    #[error("the check-in's check_in_id is not a UUID")]
    BadId,
    #[error("the check-in has no monitor_slug")]
    MissingSlug,
    #[error("the check-in has no status")]
    MissingStatus,
    #[error("the check-in status {0:?} is not in_progress, ok or error")]
    UnknownStatus(String),
}

/// Reads a `check_in` payload.
pub fn parse(payload: &[u8]) -> Result<CheckIn, CheckInError> {
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(CheckInError::NotAnObject);
    }
    let w: WireCheckIn = serde_json::from_slice(payload)?;
    let id = w.check_in_id.ok_or(CheckInError::MissingId)?;
    let check_in_id = normalize_uuid(id.trim()).ok_or(CheckInError::BadId)?;
    let monitor_slug = short(w.monitor_slug, MAX_SLUG).ok_or(CheckInError::MissingSlug)?;
    let status = w.status.ok_or(CheckInError::MissingStatus)?;
    let status = CheckInStatus::parse(status.trim())
        .ok_or_else(|| CheckInError::UnknownStatus(cut_chars(status, 32)))?;
    let trace_id = w
        .contexts
        .and_then(|c| c.trace)
        .and_then(|t| short(t.trace_id, MAX_FIELD));
    Ok(CheckIn {
        check_in_id,
        monitor_slug,
        status,
        duration: w.duration.filter(|d| *d >= 0.0),
        environment: short(w.environment, MAX_FIELD),
        release: short(w.release, MAX_FIELD),
        trace_id,
        config: w.monitor_config.map(config),
    })
}

fn config(w: WireMonitorConfig) -> MonitorConfig {
    MonitorConfig {
        schedule: w.schedule.and_then(schedule),
        checkin_margin_minutes: w.checkin_margin,
        max_runtime_minutes: w.max_runtime,
        failure_issue_threshold: w.failure_issue_threshold,
        recovery_threshold: w.recovery_threshold,
        timezone: short(w.timezone, MAX_FIELD),
    }
}

/// `{"type":"crontab","value":"0 * * * *"}` or
/// `{"type":"interval","value":N,"unit":"minute"}`; a crontab value without
/// a type is a crontab. Anything else is no schedule.
fn schedule(w: WireSchedule) -> Option<Schedule> {
    let kind = w.kind.as_deref().map(str::trim);
    match kind {
        Some("crontab") | None => short(w.value, MAX_FIELD).map(Schedule::Crontab),
        Some("interval") => {
            let value = w.value?.trim().parse::<u64>().ok().filter(|&v| v > 0)?;
            let unit = short(w.unit, 16)?.to_ascii_lowercase();
            Some(Schedule::Interval { value, unit })
        }
        Some(_) => None,
    }
}

/// A trimmed, non-empty text, cut to `max` characters.
fn short(s: Option<String>, max: usize) -> Option<String> {
    let s = s?;
    let s = s.trim();
    (!s.is_empty()).then(|| cut_chars(s.to_string(), max))
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireCheckIn {
    #[serde(deserialize_with = "lenient::text")]
    check_in_id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    monitor_slug: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    status: Option<String>,
    #[serde(deserialize_with = "lenient::float")]
    duration: Option<f64>,
    #[serde(deserialize_with = "lenient::text")]
    environment: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    release: Option<String>,
    #[serde(deserialize_with = "lenient::obj")]
    contexts: Option<WireContexts>,
    #[serde(deserialize_with = "lenient::obj")]
    monitor_config: Option<WireMonitorConfig>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireContexts {
    #[serde(deserialize_with = "lenient::obj")]
    trace: Option<WireTrace>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireTrace {
    #[serde(deserialize_with = "lenient::text")]
    trace_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireMonitorConfig {
    #[serde(deserialize_with = "lenient::obj")]
    schedule: Option<WireSchedule>,
    #[serde(deserialize_with = "lenient::uint")]
    checkin_margin: Option<u32>,
    #[serde(deserialize_with = "lenient::uint")]
    max_runtime: Option<u32>,
    #[serde(deserialize_with = "lenient::uint")]
    failure_issue_threshold: Option<u32>,
    #[serde(deserialize_with = "lenient::uint")]
    recovery_threshold: Option<u32>,
    #[serde(deserialize_with = "lenient::text")]
    timezone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireSchedule {
    #[serde(rename = "type", deserialize_with = "lenient::text")]
    kind: Option<String>,
    /// A crontab string or an interval count (a number read as text).
    #[serde(deserialize_with = "lenient::text")]
    value: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    unit: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::sentry::capture_item;

    fn check_in_of(name: &str) -> CheckIn {
        parse(&capture_item(name, "check_in")).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn python_in_progress_then_error() {
        // Spec 4 check 8: one run, two check-ins with the same id.
        let start = check_in_of("sentry-python-envelope-checkin-in-progress.decoded.txt");
        assert_eq!(start.check_in_id, "842f6433652e4f838bd8a352499f1f9e");
        assert_eq!(start.monitor_slug, "nightly-backup");
        assert_eq!(start.status, CheckInStatus::InProgress);
        // Python sends `"duration": null` at the start.
        assert_eq!(start.duration, None);
        assert_eq!(start.environment.as_deref(), Some("production"));
        assert_eq!(start.release.as_deref(), Some("shop@1.4.2"));
        assert_eq!(
            start.trace_id.as_deref(),
            Some("5f551bfa7cf5401abdfbc926b8d9918e")
        );
        assert_eq!(
            start.config,
            Some(MonitorConfig {
                schedule: Some(Schedule::Crontab("0 2 * * *".into())),
                checkin_margin_minutes: Some(10),
                max_runtime_minutes: Some(60),
                failure_issue_threshold: None,
                recovery_threshold: None,
                timezone: Some("Europe/Berlin".into()),
            })
        );

        let end = check_in_of("sentry-python-envelope-checkin-error.decoded.txt");
        assert_eq!(end.check_in_id, start.check_in_id);
        assert_eq!(end.monitor_slug, "nightly-backup");
        assert_eq!(end.status, CheckInStatus::Error);
        assert_eq!(end.duration, Some(0.2));
        assert_eq!(end.config, None);
    }

    #[test]
    fn node_in_progress_then_ok() {
        let start = check_in_of("sentry-node-envelope-checkin-in-progress.decoded.txt");
        assert_eq!(start.check_in_id, "993bc39a9b2e483682022a76c556ab96");
        assert_eq!(start.monitor_slug, "hourly-sync");
        assert_eq!(start.status, CheckInStatus::InProgress);
        assert_eq!(start.duration, None);
        assert_eq!(start.release.as_deref(), Some("web@2.0.1"));
        assert_eq!(
            start.trace_id.as_deref(),
            Some("1a19e25628f54ec6be5e85a9d17141a2")
        );
        let config = start.config.unwrap();
        assert_eq!(config.schedule, Some(Schedule::Crontab("0 * * * *".into())));
        assert_eq!(config.checkin_margin_minutes, Some(5));
        assert_eq!(config.max_runtime_minutes, Some(30));
        assert_eq!(config.timezone.as_deref(), Some("UTC"));

        let end = check_in_of("sentry-node-envelope-checkin-ok.decoded.txt");
        assert_eq!(end.check_in_id, start.check_in_id);
        assert_eq!(end.status, CheckInStatus::Ok);
        assert_eq!(end.config, None);
    }

    #[test]
    fn interval_schedules_and_thresholds() {
        let c = parse(
            br#"{"check_in_id":"842f6433-652e-4f83-8bd8-a352499f1f9e","monitor_slug":"sync",
                "status":"ok","duration":3,
                "monitor_config":{"schedule":{"type":"interval","value":10,"unit":"Minute"},
                                  "failure_issue_threshold":3,"recovery_threshold":"2"}}"#,
        )
        .unwrap();
        assert_eq!(c.check_in_id, "842f6433652e4f838bd8a352499f1f9e");
        assert_eq!(c.duration, Some(3.0));
        let config = c.config.unwrap();
        assert_eq!(
            config.schedule,
            Some(Schedule::Interval {
                value: 10,
                unit: "minute".into()
            })
        );
        assert_eq!(config.failure_issue_threshold, Some(3));
        assert_eq!(config.recovery_threshold, Some(2));
        for bad in [
            r#"{"type":"interval","value":0,"unit":"minute"}"#,
            r#"{"type":"interval","value":"x","unit":"minute"}"#,
            r#"{"type":"interval","value":5}"#,
            r#"{"type":"solar","value":"noon"}"#,
            r#""0 * * * *""#,
        ] {
            let json = format!(
                r#"{{"check_in_id":"842f6433652e4f838bd8a352499f1f9e","monitor_slug":"s","status":"ok","monitor_config":{{"schedule":{bad}}}}}"#
            );
            let c = parse(json.as_bytes()).unwrap();
            assert_eq!(c.config.unwrap().schedule, None, "{bad}");
        }
    }

    #[test]
    fn unusable_check_ins_are_errors() {
        let id = "842f6433652e4f838bd8a352499f1f9e";
        let cases = [
            (
                r#"{"monitor_slug":"s","status":"ok"}"#.to_string(),
                "MissingId",
            ),
            (
                r#"{"check_in_id":"nope","monitor_slug":"s","status":"ok"}"#.to_string(),
                "BadId",
            ),
            (
                format!(r#"{{"check_in_id":"{id}","monitor_slug":" ","status":"ok"}}"#),
                "MissingSlug",
            ),
            (
                format!(r#"{{"check_in_id":"{id}","monitor_slug":"s"}}"#),
                "MissingStatus",
            ),
            (
                format!(r#"{{"check_in_id":"{id}","monitor_slug":"s","status":"timeout"}}"#),
                "UnknownStatus",
            ),
            ("[1]".to_string(), "NotAnObject"),
            ("{".to_string(), "Json"),
        ];
        for (json, want) in cases {
            let e = parse(json.as_bytes()).unwrap_err();
            assert!(format!("{e:?}").starts_with(want), "{json}: {e:?}");
        }
    }

    #[test]
    fn slugs_are_bounded_and_durations_sane() {
        let slug = "s".repeat(500);
        let json = format!(
            r#"{{"check_in_id":"842f6433652e4f838bd8a352499f1f9e","monitor_slug":"{slug}","status":"error","duration":-1}}"#
        );
        let c = parse(json.as_bytes()).unwrap();
        assert_eq!(c.monitor_slug.chars().count(), MAX_SLUG);
        assert_eq!(c.duration, None);
    }
}
