//! An incoming alert occurrence: the wire form of `POST /api/v1/alerts`
//! ([`AlertInput`], DESIGN.md "Alert JSON") and its validated form ([`NewAlert`]).
//! Alertmanager and Grafana payloads are converted into [`NewAlert`] too.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::labels::truncate;
use super::{DomainError, Fingerprint, Labels, Severity};

pub const MAX_TITLE_LEN: usize = 256;
pub const MAX_CONTENT_LEN: usize = 16 * 1024;
pub const MAX_SERVICE_LEN: usize = 128;
pub const MAX_ID_LEN: usize = 128;
pub const MAX_ANNOTATION_LEN: usize = 8 * 1024;
/// Used when neither `severity`, `level` nor a `severity` label is given.
pub const DEFAULT_SEVERITY: Severity = Severity::Warning;

/// Whether the source says the problem is happening or over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Firing,
    Resolved,
}

/// The JSON of one alert as posted. Unknown fields are refused: a typo such as
/// `serverity` must not silently become the default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertInput {
    pub title: Option<String>,
    pub content: Option<String>,
    pub severity: Option<String>,
    /// Accepted as an alias of `severity`.
    pub level: Option<String>,
    pub service: Option<String>,
    pub status: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub trace_id: Option<String>,
    pub request_id: Option<String>,
    pub starts_at: Option<String>,
    pub fingerprint: Option<String>,
}

/// A valid alert occurrence, ready for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAlert {
    pub fingerprint: Fingerprint,
    pub title: String,
    pub content: String,
    pub severity: Severity,
    pub service: Option<String>,
    pub status: AlertStatus,
    pub labels: Labels,
    pub annotations: Labels,
    pub trace_id: Option<String>,
    pub request_id: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
}

fn bounded(field: &'static str, value: String, max: usize) -> Result<String, DomainError> {
    if value.len() > max {
        Err(DomainError::new(
            field,
            format!("is longer than {max} bytes"),
        ))
    } else {
        Ok(value)
    }
}

/// Trace and request ids: printable ASCII without spaces, as tracing systems use.
pub fn parse_id(field: &'static str, value: Option<String>) -> Result<Option<String>, DomainError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) if v.len() <= MAX_ID_LEN && v.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(v)),
        Some(_) => Err(DomainError::new(
            field,
            format!("must be at most {MAX_ID_LEN} printable ASCII characters without spaces"),
        )),
    }
}

pub fn parse_status(field: &'static str, value: Option<&str>) -> Result<AlertStatus, DomainError> {
    match value.map(str::trim) {
        None => Ok(AlertStatus::Firing),
        Some(s) if s.eq_ignore_ascii_case("firing") => Ok(AlertStatus::Firing),
        Some(s) if s.eq_ignore_ascii_case("resolved") => Ok(AlertStatus::Resolved),
        Some(s) => Err(DomainError::new(
            field,
            format!(
                "`{}` is not a status; use firing or resolved",
                truncate(s, 40)
            ),
        )),
    }
}

pub fn parse_time(field: &'static str, value: &str) -> Result<DateTime<Utc>, DomainError> {
    DateTime::parse_from_rfc3339(value)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| {
            DomainError::new(
                field,
                format!("`{}` is not an RFC 3339 time", truncate(value, 40)),
            )
        })
}

impl NewAlert {
    /// The severity from, in order: `severity`, its alias `level`, a `severity`
    /// label, else [`DEFAULT_SEVERITY`]. `severity` and `level` must agree.
    fn severity(input: &AlertInput, labels: &Labels) -> Result<Severity, DomainError> {
        let given = match (&input.severity, &input.level) {
            (Some(s), Some(l)) => {
                let (s, l) = (
                    Severity::parse("severity", s)?,
                    Severity::parse("level", l)?,
                );
                if s != l {
                    return Err(DomainError::new(
                        "level",
                        "disagrees with severity; send one of them",
                    ));
                }
                Some(s)
            }
            (Some(s), None) => Some(Severity::parse("severity", s)?),
            (None, Some(l)) => Some(Severity::parse("level", l)?),
            (None, None) => None,
        };
        match (given, labels.get("severity")) {
            (Some(s), _) => Ok(s),
            (None, Some(label)) => Severity::parse("labels", label),
            (None, None) => Ok(DEFAULT_SEVERITY),
        }
    }
}

impl TryFrom<AlertInput> for NewAlert {
    type Error = DomainError;

    fn try_from(input: AlertInput) -> Result<Self, DomainError> {
        // What people read carries no bidi or invisible characters
        // (`human`), as for names.
        let title = super::human::text(input.title.as_deref().unwrap_or_default())
            .trim()
            .to_string();
        if title.is_empty() {
            return Err(DomainError::new(
                "title",
                "is required and must not be empty",
            ));
        }
        let title = bounded("title", title, MAX_TITLE_LEN)?;
        let content = bounded(
            "content",
            super::human::text(input.content.as_deref().unwrap_or_default()),
            MAX_CONTENT_LEN,
        )?;
        let service = match input.service.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => Some(bounded("service", s.to_string(), MAX_SERVICE_LEN)?),
        };
        let labels = Labels::parse("labels", input.labels.clone())?;
        let annotations =
            Labels::parse_bounded("annotations", input.annotations.clone(), MAX_ANNOTATION_LEN)?;
        let severity = Self::severity(&input, &labels)?;
        let status = parse_status("status", input.status.as_deref())?;
        let starts_at = input
            .starts_at
            .as_deref()
            .map(|t| parse_time("starts_at", t))
            .transpose()?;
        let fingerprint = match input.fingerprint.as_deref() {
            Some(f) => Fingerprint::parse(f)?,
            None => Fingerprint::derive(service.as_deref(), &title, &labels),
        };
        Ok(Self {
            fingerprint,
            title,
            content,
            severity,
            service,
            status,
            labels,
            annotations,
            trace_id: parse_id("trace_id", input.trace_id)?,
            request_id: parse_id("request_id", input.request_id)?,
            starts_at,
        })
    }
}

/// Parses one alert object from JSON; shape errors (unknown field, wrong type)
/// name the field as serde reports it.
pub fn from_json(value: serde_json::Value) -> Result<NewAlert, DomainError> {
    let input: AlertInput =
        serde_json::from_value(value).map_err(|e| DomainError::new("alert", e.to_string()))?;
    NewAlert::try_from(input)
}

/// [`from_json`] from the alert's raw JSON text, without building a tree of
/// values first.
pub fn from_raw(raw: &serde_json::value::RawValue) -> Result<NewAlert, DomainError> {
    let input: AlertInput =
        serde_json::from_str(raw.get()).map_err(|e| DomainError::new("alert", e.to_string()))?;
    NewAlert::try_from(input)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn alert(v: serde_json::Value) -> Result<NewAlert, DomainError> {
        from_json(v)
    }

    #[test]
    fn the_design_example_parses() {
        let a = alert(json!({
            "title": "Payment DB unreachable", "content": "connect timeout after 3s",
            "severity": "critical", "service": "payment", "status": "firing",
            "labels": {"env": "prod"}, "annotations": {"runbook": "https://runbooks.example/db"},
            "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "request_id": "req-1",
            "starts_at": "2026-11-22T10:00:00Z"
        }))
        .unwrap();
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.service.as_deref(), Some("payment"));
        assert_eq!(a.labels.get("env"), Some("prod"));
        assert_eq!(
            a.starts_at.unwrap().to_rfc3339(),
            "2026-11-22T10:00:00+00:00"
        );
        assert_eq!(
            a.fingerprint,
            Fingerprint::derive(Some("payment"), "Payment DB unreachable", &a.labels)
        );
    }

    #[test]
    fn minimal_alert_gets_defaults() {
        let a = alert(json!({"title": "disk full"})).unwrap();
        assert_eq!(a.severity, DEFAULT_SEVERITY);
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.service, None);
        let from_label = alert(json!({"title": "x", "labels": {"severity": "info"}})).unwrap();
        assert_eq!(from_label.severity, Severity::Info);
        let from_level = alert(json!({"title": "x", "level": "error"})).unwrap();
        assert_eq!(from_level.severity, Severity::Error);
    }

    #[test]
    fn every_bad_field_is_named() {
        let cases = [
            (json!({}), "title"),
            (json!({"title": "   "}), "title"),
            (json!({"title": "x".repeat(MAX_TITLE_LEN + 1)}), "title"),
            (
                json!({"title": "t", "content": "x".repeat(MAX_CONTENT_LEN + 1)}),
                "content",
            ),
            (json!({"title": "t", "severity": "urgent"}), "severity"),
            (json!({"title": "t", "level": "urgent"}), "level"),
            (
                json!({"title": "t", "severity": "info", "level": "critical"}),
                "level",
            ),
            (
                json!({"title": "t", "labels": {"severity": "urgent"}}),
                "labels",
            ),
            (json!({"title": "t", "status": "open"}), "status"),
            (json!({"title": "t", "labels": {"bad-name": "x"}}), "labels"),
            (
                json!({"title": "t", "annotations": {"a": "x".repeat(MAX_ANNOTATION_LEN + 1)}}),
                "annotations",
            ),
            (json!({"title": "t", "trace_id": "has space"}), "trace_id"),
            (
                json!({"title": "t", "request_id": "x".repeat(MAX_ID_LEN + 1)}),
                "request_id",
            ),
            (json!({"title": "t", "starts_at": "yesterday"}), "starts_at"),
            (
                json!({"title": "t", "fingerprint": "no spaces allowed"}),
                "fingerprint",
            ),
            (
                json!({"title": "t", "service": "s".repeat(MAX_SERVICE_LEN + 1)}),
                "service",
            ),
        ];
        for (input, field) in cases {
            let e = alert(input.clone()).unwrap_err();
            assert_eq!(e.field, field, "{input} -> {e}");
        }
    }

    #[test]
    fn unknown_fields_and_wrong_types_are_refused_with_the_field() {
        let e = alert(json!({"title": "t", "serverity": "critical"})).unwrap_err();
        assert!(e.message.contains("serverity"), "{e}");
        let e = alert(json!({"title": 5})).unwrap_err();
        assert!(e.to_string().contains("invalid type"), "{e}");
    }

    #[test]
    fn a_given_fingerprint_wins() {
        let a = alert(json!({"title": "t", "fingerprint": "abc123"})).unwrap();
        assert_eq!(a.fingerprint.as_str(), "abc123");
    }
}
