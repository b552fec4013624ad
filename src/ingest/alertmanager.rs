//! Prometheus Alertmanager `webhook_config` payloads (version 4) and Grafana
//! unified-alerting webhooks, which reuse that shape and add a few fields
//! (`orgId`, `title`, `message`, per-alert `silenceURL`, `dashboardURL`, …).
//!
//! Mapping to an ackbot alert:
//! - title: label `alertname`, else annotation `summary`;
//! - content: annotation `description`, else `summary`;
//! - severity: label `severity` when it names one of ours; any other value
//!   becomes the default;
//! - service: label `service`, else `job`;
//! - links (`generatorURL`, Grafana's `silenceURL`, `dashboardURL`, `panelURL`)
//!   become annotations `generator_url`, `silence_url`, `dashboard_url`, `panel_url`;
//! - fingerprint: the sender's, so a resend and its resolution fold together;
//! - status: the alert's own `status` (a group may mix firing and resolved).
//!
//! **Nothing a genuine sender can send is refused.** Alertmanager drops a
//! whole group for good on a 4xx, so one odd alert would cost its innocent
//! neighbours. Here every value is repaired instead of refused: long values
//! are cut with a visible "…truncated", labels over the limit dropped
//! (routing labels kept first), invalid names mended, unparseable times
//! ignored, and the alert carries an [`NOTE_ANNOTATION`] saying what was
//! changed. Only a body that is not this format at all (bad JSON, a wrong
//! `version`) is refused.
//!
//! The alerts are read as raw JSON slices of the body ([`alerts`]) and
//! converted one at a time ([`convert`]), so a large group is never held as
//! a tree of JSON values: the caller converts and commits it in chunks.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::domain::alert::{
    DEFAULT_SEVERITY, MAX_ANNOTATION_LEN, MAX_CONTENT_LEN, MAX_ID_LEN, MAX_SERVICE_LEN,
    MAX_TITLE_LEN, parse_time,
};
use crate::domain::fingerprint::MAX_LEN as MAX_FINGERPRINT_LEN;
use crate::domain::human;
use crate::domain::labels::{MAX_LABELS, MAX_VALUE_LEN, cut};
use crate::domain::{AlertStatus, DomainError, Fingerprint, Labels, NewAlert, Severity};

/// The webhook payload format version this module reads for Alertmanager.
pub const ALERTMANAGER_VERSION: &str = "4";
/// Alertmanager's "not set" time.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// The annotation that says what ackbot changed to keep an alert.
pub const NOTE_ANNOTATION: &str = "ackbot_note";
/// Labels kept first when an alert has more than [`MAX_LABELS`]: the ones
/// titles, routes and silences usually name.
const KEEP_LABELS: [&str; 10] = [
    "alertname",
    "severity",
    "service",
    "job",
    "instance",
    "team",
    "env",
    "namespace",
    "cluster",
    "priority",
];

/// A webhook notification: one alert group, its alerts still raw JSON.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    version: Option<String>,
    #[serde(default, borrow)]
    alerts: Vec<&'a RawValue>,
    #[serde(default)]
    truncated_alerts: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAlert {
    status: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    starts_at: Option<String>,
    #[serde(default, rename = "generatorURL")]
    generator_url: Option<String>,
    fingerprint: Option<String>,
    #[serde(default, rename = "silenceURL")]
    silence_url: Option<String>,
    #[serde(default, rename = "dashboardURL")]
    dashboard_url: Option<String>,
    #[serde(default, rename = "panelURL")]
    panel_url: Option<String>,
    /// Grafana: the query results that fired it, `{"B": 44.2, "C": 1}`.
    #[serde(default)]
    values: Option<serde_json::Value>,
    /// Grafana: the same as text, `[ var='B' labels={…} value=44.2 ], …`.
    #[serde(default, rename = "valueString")]
    value_string: Option<String>,
    /// Grafana: a rendered image of the panel (with image rendering set up).
    #[serde(default, rename = "imageURL")]
    image_url: Option<String>,
}

/// Grafana's `values` as one line: `B=44.2394, C=1`, names in order.
fn values_line(values: &serde_json::Value) -> Option<String> {
    let map = values.as_object().filter(|m| !m.is_empty())?;
    let mut parts: Vec<String> = map
        .iter()
        .map(|(k, v)| {
            let v = match v.as_f64() {
                Some(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", n as i64),
                Some(n) => {
                    let s = format!("{n:.4}");
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                }
                None => match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
            };
            format!("{k}={v}")
        })
        .collect();
    parts.sort();
    Some(parts.join(", "))
}

/// Which sender the payload came from: Alertmanager insists on version 4,
/// Grafana sends its own version numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Alertmanager,
    Grafana,
}

/// The alerts of a notification body, each as the raw JSON it came in
/// (borrowed from `body`). Refuses a body that is not a notification, or
/// (Alertmanager) not version 4.
pub fn alerts(body: &[u8], flavor: Flavor) -> Result<Vec<&RawValue>, DomainError> {
    let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(|e| {
        DomainError::new(
            "body",
            format!("is not a webhook notification (JSON with an `alerts` array): {e}"),
        )
    })?;
    if flavor == Flavor::Alertmanager {
        match envelope.version.as_deref() {
            Some(ALERTMANAGER_VERSION) => {}
            other => {
                return Err(DomainError::new(
                    "version",
                    format!("payload version {other:?} is not supported; Alertmanager sends \"4\""),
                ));
            }
        }
    }
    if envelope.truncated_alerts > 0 {
        tracing::warn!(
            truncated = envelope.truncated_alerts,
            "the sender truncated this alert group (its max_alerts); those alerts are not in the payload"
        );
    }
    Ok(envelope.alerts)
}

/// Converts alert `index` of a notification. Only an element that is not an
/// alert object at all is refused; everything else is repaired.
pub fn convert(raw: &RawValue, index: usize) -> Result<NewAlert, DomainError> {
    let alert: WireAlert = serde_json::from_str(raw.get())
        .map_err(|e| DomainError::new("alerts", e.to_string()).at_index(index))?;
    Ok(repair(alert))
}

fn non_empty(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
}

/// Notes about what was changed, for [`NOTE_ANNOTATION`].
#[derive(Default)]
struct Notes(Vec<String>);

impl Notes {
    fn push(&mut self, note: impl Into<String>) {
        self.0.push(note.into());
    }
}

fn repair(alert: WireAlert) -> NewAlert {
    let mut notes = Notes::default();
    // Without the sender's fingerprint, one is derived from the labels as
    // sent, so alerts that differ only in dropped labels stay apart.
    let given = non_empty(alert.fingerprint);
    let original = given.is_none().then(|| alert.labels.clone());
    let (labels, repairs) = Labels::repair(alert.labels, MAX_VALUE_LEN, MAX_LABELS, &KEEP_LABELS);
    if let Some(n) = repairs.describe("labels") {
        notes.push(n);
    }
    let mut annotations = alert.annotations;
    for (name, link) in [
        ("generator_url", alert.generator_url),
        ("silence_url", alert.silence_url),
        ("dashboard_url", alert.dashboard_url),
        ("panel_url", alert.panel_url),
        ("image_url", alert.image_url),
        ("value_string", alert.value_string),
        ("values", alert.values.as_ref().and_then(values_line)),
    ] {
        if let Some(link) = non_empty(link) {
            annotations.entry(name.to_string()).or_insert(link);
        }
    }
    // The content is the description, up to the content limit (longer than
    // an annotation's), taken before the annotations are cut.
    let content = annotations
        .get("description")
        .or_else(|| annotations.get("summary"))
        .map(|c| {
            if c.len() > MAX_CONTENT_LEN {
                notes.push(format!("content cut from {} bytes", c.len()));
            }
            cut(c, MAX_CONTENT_LEN)
        })
        .unwrap_or_default();
    let summary = non_empty(annotations.get("summary").cloned());
    // One place is left for the note itself.
    let (mut annotations, repairs) = Labels::repair(
        annotations,
        MAX_ANNOTATION_LEN,
        MAX_LABELS - 1,
        &[
            "summary",
            "description",
            "runbook_url",
            "generator_url",
            "values",
            "image_url",
        ],
    );
    if let Some(n) = repairs.describe("annotations") {
        notes.push(n);
    }
    let title = match labels
        .get("alertname")
        .filter(|t| !t.trim().is_empty())
        .map(str::to_string)
        .or(summary)
    {
        Some(t) => t,
        None => {
            notes.push("no `alertname` label nor `summary` annotation");
            "(unnamed alert)".to_string()
        }
    };
    let severity = labels
        .get("severity")
        .and_then(|s| Severity::parse("labels", s).ok())
        .unwrap_or(DEFAULT_SEVERITY);
    let service = labels
        .get("service")
        .or_else(|| labels.get("job"))
        .map(|s| cut(s, MAX_SERVICE_LEN));
    let starts_at = match non_empty(alert.starts_at) {
        Some(t) if t != ZERO_TIME => match parse_time("startsAt", &t) {
            Ok(t) => Some(t),
            Err(_) => {
                notes.push("startsAt is not an RFC 3339 time; ignored");
                None
            }
        },
        _ => None,
    };
    let fingerprint = match given {
        Some(f) => match Fingerprint::parse(&f) {
            Ok(f) => f,
            Err(_) => {
                notes.push("the sender's fingerprint is not valid; a derived one is used");
                // Still one identity per sender fingerprint.
                Fingerprint::derive_pairs(None, &cut(&f, 4 * MAX_FINGERPRINT_LEN), [])
            }
        },
        None => Fingerprint::derive_pairs(
            service.as_deref(),
            &title,
            original
                .iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str())),
        ),
    };
    let status = match alert.status.as_deref().map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case("resolved") => AlertStatus::Resolved,
        None | Some("") => AlertStatus::Firing,
        Some(s) if s.eq_ignore_ascii_case("firing") => AlertStatus::Firing,
        Some(_) => {
            notes.push("unknown status; taken as firing");
            AlertStatus::Firing
        }
    };
    let trace_id = id_from("trace_id", &labels, &annotations, &mut notes);
    let request_id = id_from("request_id", &labels, &annotations, &mut notes);
    if !notes.0.is_empty() {
        let note = format!(
            "ackbot kept this alert with changes: {}",
            notes.0.join("; ")
        );
        annotations.insert(NOTE_ANNOTATION, cut(&note, MAX_ANNOTATION_LEN));
    }
    NewAlert {
        fingerprint,
        // What people read carries no bidi or invisible characters.
        title: cut(human::text(&title).trim(), MAX_TITLE_LEN),
        content: human::text(&content),
        severity,
        service,
        status,
        trace_id,
        request_id,
        labels,
        annotations,
        starts_at,
    }
}

/// `trace_id` / `request_id` from an annotation, else a label; one that is
/// not a plain id is left out (and noted).
fn id_from(
    name: &'static str,
    labels: &Labels,
    annotations: &Labels,
    notes: &mut Notes,
) -> Option<String> {
    let value = annotations.get(name).or_else(|| labels.get(name))?;
    if value.is_empty() {
        return None;
    }
    if value.len() <= MAX_ID_LEN && value.bytes().all(|b| b.is_ascii_graphic()) {
        Some(value.to_string())
    } else {
        notes.push(format!("{name} is not a plain id; left out"));
        None
    }
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
        let body = v.to_string();
        alerts(body.as_bytes(), flavor)?
            .into_iter()
            .enumerate()
            .map(|(i, raw)| convert(raw, i))
            .collect()
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
    fn grafana_values_value_string_and_image_url_become_annotations() {
        let body = json!({"version": "1", "alerts": [{
            "labels": {"alertname": "CPU"},
            "values": {"C": 0.5, "A": 12, "B": "NaN"},
            "valueString": "[ var='A' labels={} value=12 ]",
            "imageURL": "https://grafana.example.com/render/panel.png",
        }, {
            "labels": {"alertname": "Odd"},
            "values": [1, 2],
        }]});
        let alerts = run(body, Flavor::Grafana).unwrap();
        let a = &alerts[0].annotations;
        assert_eq!(a.get("values"), Some("A=12, B=NaN, C=0.5"));
        assert_eq!(
            a.get("value_string"),
            Some("[ var='A' labels={} value=12 ]")
        );
        assert_eq!(
            a.get("image_url"),
            Some("https://grafana.example.com/render/panel.png")
        );
        assert_eq!(
            alerts[1].annotations.get("values"),
            None,
            "not an object: ignored"
        );
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
        // What the rule's queries gave, as one line.
        assert_eq!(alerts[0].annotations.get("values"), Some("B=44.2394, C=1"));
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
    fn odd_alerts_are_kept_with_a_note_and_only_a_foreign_body_is_refused() {
        let mut v = fixture("grafana-firing.json");
        v["alerts"][1]["labels"]["bad-name"] = json!("x");
        let a = &run(v, Flavor::Grafana).unwrap()[1];
        assert_eq!(a.labels.get("bad_name"), Some("x"));
        let note = a.annotations.get(NOTE_ANNOTATION).unwrap();
        assert!(note.contains("invalid names renamed: bad-name"), "{note}");

        let mut v = fixture("alertmanager-firing.json");
        v["alerts"][0]["labels"] = json!({"job": "x"});
        v["alerts"][0]["annotations"] = json!({});
        v["alerts"][0]["startsAt"] = json!("soon");
        v["alerts"][0]["status"] = json!("weird");
        v["alerts"][0]["fingerprint"] = json!("has spaces in it");
        let a = &run(v, Flavor::Alertmanager).unwrap()[0];
        assert_eq!(a.title, "(unnamed alert)");
        assert_eq!(a.starts_at, None);
        assert_eq!(a.status, AlertStatus::Firing);
        let note = a.annotations.get(NOTE_ANNOTATION).unwrap();
        for part in ["alertname", "startsAt", "status", "fingerprint"] {
            assert!(note.contains(part), "{part}: {note}");
        }

        // Not this format at all: refused.
        assert_eq!(
            run(json!({"alerts": 5}), Flavor::Grafana)
                .unwrap_err()
                .field,
            "body"
        );
        let e = run(json!({"version": "4", "alerts": [5]}), Flavor::Alertmanager).unwrap_err();
        assert!(e.message.starts_with("alerts[0]:"), "{e}");
    }

    #[test]
    fn oversized_alerts_are_cut_not_refused() {
        let mut v = fixture("alertmanager-firing.json");
        let labels: serde_json::Map<String, Value> = (0..80)
            .map(|i| (format!("l{i:02}"), json!("v")))
            .chain([
                ("alertname".to_string(), json!("Big")),
                ("zz_long".to_string(), json!("x".repeat(5000))),
            ])
            .collect();
        v["alerts"][0]["labels"] = Value::Object(labels);
        v["alerts"][0]["annotations"]["description"] = json!("d".repeat(11 * 1024));
        v["alerts"][0]["annotations"]["huge"] = json!("h".repeat(100 * 1024));
        let a = &run(v, Flavor::Alertmanager).unwrap()[0];
        assert_eq!(a.title, "Big");
        assert_eq!(a.labels.len(), MAX_LABELS);
        assert_eq!(a.content.len(), 11 * 1024, "content keeps up to 16 KiB");
        let d = a.annotations.get("description").unwrap();
        assert!(d.len() <= MAX_ANNOTATION_LEN && d.ends_with(crate::domain::labels::CUT_MARK));
        assert!(a.annotations.len() <= MAX_LABELS);
        let note = a.annotations.get(NOTE_ANNOTATION).unwrap();
        assert!(
            note.contains("labels dropped over the limit of 64"),
            "{note}"
        );
        assert!(
            note.contains("annotations cut to fit: description, huge"),
            "{note}"
        );
        assert_eq!(a.fingerprint.as_str(), "1a30ba71cca2921f", "the sender's");
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
}

/// No combination of labels, annotations and fields a sender may send can
/// make ingestion panic: the native API answers Ok or a 400, Alertmanager
/// and Grafana alerts are always kept (repaired), and what is kept can be
/// matched against silences and routes (where the 62-label panic was).
#[cfg(test)]
mod never_panics {
    use proptest::collection::btree_map;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use crate::domain::silence::match_labels;

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-zA-Z_][a-zA-Z0-9_]{0,20}",
            Just("severity".to_string()),
            Just("alertname".to_string()),
            Just("service".to_string()),
            Just("__fingerprint__".to_string()),
            any::<String>(),
        ]
    }

    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[a-z]{0,3}",
            ".{1000,1100}",
            Just(String::new())
        ]
    }

    fn field() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<String>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            Just(json!("critical")),
            Just(json!("resolved")),
            Just(json!("2026-01-01T00:00:00Z")),
            Just(json!("0001-01-01T00:00:00Z")),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn ingestion_keeps_or_refuses_but_never_panics(
            labels in btree_map(name(), value(), 0..80),
            annotations in btree_map(name(), value(), 0..80),
            title in field(), content in field(), severity in field(),
            status in field(), starts in field(), ends in field(),
        ) {
            let native = json!({
                "title": title, "content": content, "severity": severity,
                "status": status, "starts_at": starts, "labels": labels,
                "annotations": annotations,
            });
            if let Ok(a) = crate::domain::alert::from_json(native) {
                let _ = match_labels(&a.labels, a.severity, a.service.as_deref(), &a.title, a.fingerprint.as_str());
            }
            for flavor in [super::Flavor::Alertmanager, super::Flavor::Grafana] {
                let body = json!({
                    "version": "4", "status": "firing", "receiver": "r", "groupKey": "g",
                    "alerts": [{"status": status, "labels": labels, "annotations": annotations,
                                "startsAt": starts, "endsAt": ends, "fingerprint": title}],
                })
                .to_string();
                let raw = super::alerts(body.as_bytes(), flavor).expect("a well-formed group");
                // Wrong JSON types are the only thing refused (a broken sender).
                let typed = [&status, &starts, &ends, &title]
                    .iter()
                    .all(|v| v.is_string() || v.is_null());
                for (i, r) in raw.iter().enumerate() {
                    match super::convert(r, i) {
                        Ok(a) => {
                            let _ = match_labels(
                                &a.labels,
                                a.severity,
                                a.service.as_deref(),
                                &a.title,
                                a.fingerprint.as_str(),
                            );
                        }
                        Err(e) => prop_assert!(!typed, "refused: {e}"),
                    }
                }
            }
        }
    }
}
