//! An [`ErrorEvent`] as an alert occurrence: one alert per error group
//! (the fingerprint is the group key, so the 50th `ValueError` from the same
//! code folds into the first), saying what an on-call engineer reads first:
//! the exception, the top in-app frames, the trace id, where it ran.
//!
//! Severity follows the level (spec 1.8); an unhandled exception or a panic
//! is `critical`, which bypasses aggregation. Nothing the SDK sends is
//! refused: tags with odd names are mended and long values cut
//! ([`Labels::repair`]), as for Alertmanager.

use super::event::{ErrorEvent, Level};
use crate::domain::alert::{AlertStatus, MAX_CONTENT_LEN, MAX_TITLE_LEN};
use crate::domain::labels::truncate_text;
use crate::domain::{Fingerprint, Labels, NewAlert, Severity};

/// Tags kept as labels; the rest are named in the content's last line.
pub const MAX_TAG_LABELS: usize = 20;
/// A tag value longer than this is cut (Sentry's own limit is 200).
const MAX_TAG_VALUE: usize = 200;

/// What the project config adds to its events.
pub struct Project<'a> {
    pub id: u64,
    pub service: Option<&'a str>,
    pub environment: &'a str,
    pub labels: &'a std::collections::BTreeMap<String, String>,
    /// "Quiet for this long resolves", in seconds (0: never), carried as
    /// the `resolve_after` annotation for `watch::quiet`.
    pub resolve_after_secs: u64,
}

pub fn severity(ev: &ErrorEvent) -> Severity {
    if ev.unhandled {
        return Severity::Critical;
    }
    match ev.level {
        Level::Fatal => Severity::Critical,
        Level::Error => Severity::Error,
        Level::Warning => Severity::Warning,
        Level::Info | Level::Debug => Severity::Info,
    }
}

/// The alert occurrence of `ev`, with `group_key` its group (see
/// [`super::group::group_key`]).
pub fn to_alert(project: &Project<'_>, ev: &ErrorEvent, group_key: &str) -> NewAlert {
    let environment = ev
        .environment
        .as_deref()
        .filter(|e| !e.is_empty())
        .unwrap_or(project.environment);
    let mut pairs: Vec<(String, String)> = project
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let tags = ev.tags.iter().take(MAX_TAG_LABELS);
    pairs.extend(tags.map(|(k, v)| (k.clone(), v.clone())));
    // ackbot's own labels win over tags of the same name.
    pairs.retain(|(k, _)| !matches!(k.as_str(), "source" | "sentry_project" | "environment"));
    pairs.push(("source".into(), "sentry".into()));
    pairs.push(("sentry_project".into(), project.id.to_string()));
    pairs.push(("environment".into(), environment.to_string()));
    if let Some(r) = &ev.release {
        pairs.push(("release".into(), r.clone()));
    }
    let (labels, _) = Labels::repair(pairs, MAX_TAG_VALUE, 64, &["source", "environment"]);
    let mut annotations = vec![];
    if project.resolve_after_secs > 0 {
        annotations.push((
            "resolve_after".to_string(),
            format!("{}s", project.resolve_after_secs),
        ));
    }
    let (annotations, _) = Labels::repair(annotations, 64, 4, &[]);
    NewAlert {
        fingerprint: Fingerprint::parse(&format!("sentry-{group_key}"))
            .unwrap_or_else(|_| Fingerprint::derive(None, group_key, &Labels::default())),
        title: truncate_text(&ev.title, MAX_TITLE_LEN),
        content: truncate_text(&content(ev, environment), MAX_CONTENT_LEN),
        severity: severity(ev),
        service: project.service.map(str::to_string),
        status: AlertStatus::Firing,
        labels,
        annotations,
        trace_id: ev.trace_id.clone().filter(|t| is_id(t)),
        request_id: None,
        starts_at: ev.timestamp,
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= crate::domain::alert::MAX_ID_LEN
        && s.bytes().all(|b| b.is_ascii_graphic())
}

/// The card text: exception, frames, then where and when, one fact a line.
fn content(ev: &ErrorEvent, environment: &str) -> String {
    let mut lines = Vec::new();
    match (&ev.exception_type, &ev.exception_value) {
        (Some(t), Some(v)) => lines.push(format!("{t}: {}", truncate_text(v, 1024))),
        (Some(t), None) => lines.push(t.clone()),
        (None, Some(v)) => lines.push(truncate_text(v, 1024)),
        (None, None) => {}
    }
    if let Some(m) = &ev.message {
        if lines.first().is_none_or(|l| !l.contains(m.as_str())) {
            lines.push(truncate_text(m, 1024));
        }
    }
    if ev.unhandled {
        lines.push("Unhandled (crashed)".into());
    }
    for (i, f) in ev.frames.iter().take(3).enumerate() {
        let at = if i == 0 { "at" } else { "  " };
        lines.push(format!("{at} {}", f.display()));
    }
    if ev.frames.is_empty() {
        if let Some(l) = &ev.location {
            lines.push(format!("at {l}"));
        }
    }
    let mut trace = Vec::new();
    if let Some(t) = &ev.trace_id {
        trace.push(format!("trace {t}"));
    }
    if let Some(s) = &ev.span_id {
        trace.push(format!("span {s}"));
    }
    if !trace.is_empty() {
        lines.push(trace.join(" · "));
    }
    let mut place = vec![environment.to_string()];
    if let Some(r) = &ev.release {
        place.push(format!("release {r}"));
    }
    if let Some(s) = &ev.server_name {
        place.push(format!("server {s}"));
    }
    lines.push(place.join(" · "));
    let mut request = Vec::new();
    if let Some(t) = &ev.transaction {
        request.push(format!("transaction {t}"));
    }
    // Without its query string, which may carry tokens.
    let url = ev
        .request_url
        .as_deref()
        .map(|u| u.split(['?', '#']).next().unwrap_or(u));
    match (&ev.request_method, url) {
        (Some(m), Some(u)) => request.push(format!("{m} {u}")),
        (None, Some(u)) => request.push(u.to_string()),
        _ => {}
    }
    if let Some(u) = &ev.user_id {
        request.push(format!("user {u}"));
    }
    if !request.is_empty() {
        lines.push(request.join(" · "));
    }
    if let Some(l) = &ev.logger {
        lines.push(format!("logger {l}"));
    }
    lines.join("\n")
}
