//! Prometheus Alertmanager `webhook_config` payloads (version 4) and Grafana
//! unified-alerting webhooks, which reuse that shape and add a few fields
//! (`orgId`, `title`, `message`, per-alert `silenceURL`, `dashboardURL`, …).
//!
//! Mapping to an ackbot alert:
//! - title: label `alertname`, else annotation `summary`;
//! - content: annotation `description`, else `summary`;
//! - severity: label `severity` when it names one of ours; any other value
//!   becomes the default. A 4xx answer makes Alertmanager drop the alert for
//!   good, so an unusual severity like `page` must not cost the alert;
//! - service: label `service`, else `job`;
//! - links (`generatorURL`, Grafana's `silenceURL`, `dashboardURL`, `panelURL`)
//!   become annotations `generator_url`, `silence_url`, `dashboard_url`, `panel_url`;
//! - fingerprint: the sender's, so a resend and its resolution fold together;
//! - status: the alert's own `status` (a group may mix firing and resolved).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::alert::{
    DEFAULT_SEVERITY, MAX_ANNOTATION_LEN, MAX_CONTENT_LEN, MAX_SERVICE_LEN, MAX_TITLE_LEN,
    parse_id, parse_status, parse_time,
};
use crate::domain::{DomainError, Fingerprint, Labels, NewAlert, Severity};

/// The webhook payload format version this module reads for Alertmanager.
pub const ALERTMANAGER_VERSION: &str = "4";
/// Alertmanager's "not set" time.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A webhook notification: one alert group.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    pub version: Option<String>,
    pub group_key: Option<String>,
    pub status: Option<String>,
    pub receiver: Option<String>,
    #[serde(default)]
    pub alerts: Vec<WireAlert>,
    #[serde(default, rename = "externalURL")]
    pub external_url: Option<String>,
    #[serde(default)]
    pub truncated_alerts: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireAlert {
    pub status: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: Option<String>,
    pub fingerprint: Option<String>,
    #[serde(default, rename = "silenceURL")]
    pub silence_url: Option<String>,
    #[serde(default, rename = "dashboardURL")]
    pub dashboard_url: Option<String>,
    #[serde(default, rename = "panelURL")]
    pub panel_url: Option<String>,
}

/// Which sender the payload came from: Alertmanager insists on version 4,
/// Grafana sends its own version numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Alertmanager,
    Grafana,
}

/// Converts every alert of a notification. All-or-nothing: the first invalid
/// alert refuses the whole payload, with its index in the message.
pub fn convert(payload: Notification, flavor: Flavor) -> Result<Vec<NewAlert>, DomainError> {
    if flavor == Flavor::Alertmanager {
        match payload.version.as_deref() {
            Some(ALERTMANAGER_VERSION) => {}
            other => {
                return Err(DomainError::new(
                    "version",
                    format!("payload version {other:?} is not supported; Alertmanager sends \"4\""),
                ));
            }
        }
    }
    if payload.truncated_alerts > 0 {
        tracing::warn!(
            truncated = payload.truncated_alerts,
            "the sender truncated this alert group (max_alerts); those alerts are not in the payload"
        );
    }
    payload
        .alerts
        .into_iter()
        .enumerate()
        .map(|(i, alert)| convert_alert(alert).map_err(|e| e.at_index(i)))
        .collect()
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

fn convert_alert(alert: WireAlert) -> Result<NewAlert, DomainError> {
    let labels = Labels::parse("labels", alert.labels)?;
    let mut annotations = alert.annotations;
    for (name, link) in [
        ("generator_url", alert.generator_url),
        ("silence_url", alert.silence_url),
        ("dashboard_url", alert.dashboard_url),
        ("panel_url", alert.panel_url),
    ] {
        if let Some(link) = non_empty(link) {
            annotations.entry(name.to_string()).or_insert(link);
        }
    }
    let title = labels
        .get("alertname")
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string)
        .or_else(|| non_empty(annotations.get("summary").cloned()))
        .ok_or_else(|| {
            DomainError::new(
                "labels",
                "an alert needs an `alertname` label or a `summary` annotation",
            )
        })?;
    let content = annotations
        .get("description")
        .or_else(|| annotations.get("summary"))
        .cloned()
        .unwrap_or_default();
    let severity = labels
        .get("severity")
        .and_then(|s| Severity::parse("labels", s).ok())
        .unwrap_or(DEFAULT_SEVERITY);
    let service = labels
        .get("service")
        .or_else(|| labels.get("job"))
        .map(|s| truncate_to(s, MAX_SERVICE_LEN));
    let starts_at = match non_empty(alert.starts_at) {
        Some(t) if t != ZERO_TIME => Some(parse_time("startsAt", &t)?),
        _ => None,
    };
    if let Some(t) = non_empty(alert.ends_at).filter(|t| t != ZERO_TIME) {
        parse_time("endsAt", &t)?;
    }
    let fingerprint = match non_empty(alert.fingerprint) {
        Some(f) => Fingerprint::parse(&f)?,
        None => Fingerprint::derive(service.as_deref(), &title, &labels),
    };
    let annotations = Labels::parse_bounded("annotations", annotations, MAX_ANNOTATION_LEN)?;
    Ok(NewAlert {
        fingerprint,
        title: truncate_to(&title, MAX_TITLE_LEN),
        content: truncate_to(&content, MAX_CONTENT_LEN),
        severity,
        service,
        status: parse_status("status", alert.status.as_deref())?,
        trace_id: trace_or_request_id("trace_id", &labels, &annotations)?,
        request_id: trace_or_request_id("request_id", &labels, &annotations)?,
        labels,
        annotations,
        starts_at,
    })
}

/// `trace_id` / `request_id` from an annotation, else a label, validated like
/// the native API's fields.
fn trace_or_request_id(
    name: &'static str,
    labels: &Labels,
    annotations: &Labels,
) -> Result<Option<String>, DomainError> {
    parse_id(
        name,
        annotations
            .get(name)
            .or_else(|| labels.get(name))
            .map(str::to_string),
    )
}

/// Cuts at a character boundary at most `max` bytes in.
fn truncate_to(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::domain::AlertStatus;

    fn fixture(name: &str) -> Value {
        let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    }

    fn run(v: Value, flavor: Flavor) -> Result<Vec<NewAlert>, DomainError> {
        convert(serde_json::from_value(v).unwrap(), flavor)
    }

    #[test]
    fn alertmanager_firing_then_resolved_fold_by_fingerprint() {
        let firing = run(fixture("alertmanager-firing.json"), Flavor::Alertmanager).unwrap();
        assert_eq!(firing.len(), 1);
        let a = &firing[0];
        assert_eq!(a.title, "ProbeFailure");
        assert!(
            a.content
                .starts_with("Instance https://server.example.org has been down")
        );
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.service.as_deref(), Some("http_checks"));
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.fingerprint.as_str(), "1a30ba71cca2921f");
        assert!(
            a.annotations
                .get("generator_url")
                .unwrap()
                .starts_with("http://prometheus.example.org:9090/graph")
        );
        assert_eq!(
            a.starts_at.unwrap().to_rfc3339(),
            "2023-02-06T13:08:45.828+00:00"
        );

        let resolved = run(fixture("alertmanager-resolved.json"), Flavor::Alertmanager).unwrap();
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
        assert_eq!(resolved[0].fingerprint, a.fingerprint);
    }

    #[test]
    fn grafana_payload_with_links_and_version_1() {
        let alerts = run(fixture("grafana-firing.json"), Flavor::Grafana).unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(alerts[0].title, "High memory usage");
        assert_eq!(alerts[0].severity, DEFAULT_SEVERITY);
        assert_eq!(alerts[1].fingerprint.as_str(), "bc97ff14869b13e3");
        assert!(alerts[0].annotations.get("silence_url").is_some());
        assert_eq!(
            alerts[0].annotations.get("dashboard_url"),
            None,
            "empty links are dropped"
        );
        assert_eq!(
            alerts[0].annotations.get("runbook_url"),
            Some("https://myrunbook.com/runbook/1234")
        );
        // The same payload is not an Alertmanager v4 payload.
        assert_eq!(
            run(fixture("grafana-firing.json"), Flavor::Alertmanager)
                .unwrap_err()
                .field,
            "version"
        );
    }

    #[test]
    fn an_unknown_severity_does_not_lose_the_alert() {
        let mut v = fixture("alertmanager-firing.json");
        v["alerts"][0]["labels"]["severity"] = json!("page");
        let a = &run(v, Flavor::Alertmanager).unwrap()[0];
        assert_eq!(a.severity, DEFAULT_SEVERITY);
        assert_eq!(
            a.labels.get("severity"),
            Some("page"),
            "the original label is kept"
        );
    }

    #[test]
    fn invalid_alerts_refuse_the_payload_and_name_the_index() {
        let mut v = fixture("grafana-firing.json");
        v["alerts"][1]["labels"] = json!({"bad-name": "x"});
        let e = run(v, Flavor::Grafana).unwrap_err();
        assert_eq!(e.field, "labels");
        assert!(e.message.starts_with("alerts[1]:"), "{e}");
        let mut v = fixture("alertmanager-firing.json");
        v["alerts"][0]["labels"] = json!({"job": "x"});
        v["alerts"][0]["annotations"] = json!({});
        assert!(
            run(v, Flavor::Alertmanager)
                .unwrap_err()
                .message
                .contains("alertname")
        );
        let mut v = fixture("alertmanager-firing.json");
        v["alerts"][0]["startsAt"] = json!("soon");
        assert_eq!(run(v, Flavor::Alertmanager).unwrap_err().field, "startsAt");
    }

    #[test]
    fn trace_ids_come_from_annotations_or_labels() {
        let mut v = fixture("alertmanager-firing.json");
        v["alerts"][0]["annotations"]["trace_id"] = json!("4bf92f3577b34da6");
        v["alerts"][0]["labels"]["request_id"] = json!("req-9");
        let a = &run(v, Flavor::Alertmanager).unwrap()[0];
        assert_eq!(a.trace_id.as_deref(), Some("4bf92f3577b34da6"));
        assert_eq!(a.request_id.as_deref(), Some("req-9"));
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let s = "界".repeat(100);
        let cut = truncate_to(&s, 10);
        assert_eq!(cut, "界界界");
    }
}
