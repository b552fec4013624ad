//! An `event` item (and the legacy `/store/` body, the same JSON) read into
//! [`ErrorEvent`]: what an alert says (spec 1.6) and what its group is made
//! of (spec 1.9), nothing more.
//!
//! SDKs differ in shape (`exception` as `{"values": […]}` or a bare list;
//! `message` as a string, an object or `false`; ids as numbers or strings;
//! `null` for anything absent), so every field is optional and read
//! leniently: a value of the wrong type is treated as absent, and only a
//! payload that is not a JSON object is refused.
//!
//! Secrets and personal data are never kept, and mostly never even
//! allocated: the typed wire structs below have no field for frame `vars`,
//! `pre_context`/`post_context`, request headers, cookies, data or env,
//! the user's e-mail, IP address or name, breadcrumbs, `extra` or
//! `debug_meta`, so serde skips them while parsing.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::envelope::normalize_uuid;
use super::{cut_bytes, cut_chars, group, lenient};

/// Longest message or exception value kept, in bytes (Sentry's own limit).
pub const MAX_MESSAGE: usize = 8192;
/// Longest title, in characters.
pub const MAX_TITLE: usize = 200;
/// Frames shown per event.
pub const MAX_FRAMES: usize = 5;
/// Frames shown when no frame is the app's (the newest ones).
const FALLBACK_FRAMES: usize = 3;
/// Longest short field kept (release, environment, names, ids, frame
/// parts), in characters.
const MAX_FIELD: usize = 256;
/// Longest request URL kept, in characters.
const MAX_URL: usize = 2048;

/// Sentry's `level`; a missing or unknown level is `Error` (spec 1.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Level {
    Fatal,
    #[default]
    Error,
    Warning,
    Info,
    Debug,
}

impl Level {
    /// The level of a `level` value (`critical`, `warn`, `log`, `trace` are
    /// Python's and JavaScript's own words for the same).
    pub fn parse(level: Option<&str>) -> Self {
        let Some(level) = level else {
            return Self::Error;
        };
        match level.trim().to_ascii_lowercase().as_str() {
            "fatal" | "critical" => Self::Fatal,
            "warning" | "warn" => Self::Warning,
            "info" | "log" => Self::Info,
            "debug" | "trace" => Self::Debug,
            _ => Self::Error,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fatal => "fatal",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
            Self::Debug => "debug",
        }
    }
}

/// One frame as shown in an alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub function: Option<String>,
    pub module: Option<String>,
    /// `filename`, else `abs_path`.
    pub file: Option<String>,
    pub line: Option<u32>,
}

impl Frame {
    /// `function (file:line)` (spec 1.7); the parts that are missing are
    /// left out, a missing function is the module or `?`.
    pub fn display(&self) -> String {
        let name = self
            .function
            .as_deref()
            .or(self.module.as_deref())
            .unwrap_or("?");
        match (&self.file, self.line) {
            (Some(file), Some(line)) => format!("{name} ({file}:{line})"),
            (Some(file), None) => format!("{name} ({file})"),
            (None, Some(line)) => format!("{name} (line {line})"),
            (None, None) => name.to_string(),
        }
    }

    fn of(f: &WireFrame) -> Self {
        Self {
            function: field(f.function.as_deref()),
            module: field(f.module.as_deref()),
            file: field(f.filename.as_deref().or(f.abs_path.as_deref())),
            line: f.lineno,
        }
    }
}

/// What an error event says, bounded.
#[derive(Debug, Clone, PartialEq)]
pub struct ErrorEvent {
    /// The payload's `event_id`, as 32 lowercase hex digits (the envelope
    /// header's, when there is one, wins: the caller's choice).
    pub event_id: Option<String>,
    pub level: Level,
    /// Some exception's `mechanism.handled` is `false`: a crash.
    pub unhandled: bool,
    /// The last exception's type; `None` when its mechanism is synthetic
    /// (the type is then meaningless).
    pub exception_type: Option<String>,
    pub exception_value: Option<String>,
    /// The message to show: `logentry.formatted`, else `logentry.message`,
    /// else the legacy top-level `message`.
    pub message: Option<String>,
    /// The message to group by: the template (`logentry.message`) when
    /// there is one, else the message.
    pub message_template: Option<String>,
    pub title: String,
    /// At most [`MAX_FRAMES`] of the app's frames, **newest first**; the
    /// newest 3 frames when none is the app's.
    pub frames: Vec<Frame>,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub release: Option<String>,
    pub environment: Option<String>,
    pub server_name: Option<String>,
    pub transaction: Option<String>,
    pub request_url: Option<String>,
    pub request_method: Option<String>,
    /// `user.id` only (never the e-mail, IP address or name).
    pub user_id: Option<String>,
    /// At most 20, keys and values cut to 200 characters.
    pub tags: Vec<(String, String)>,
    pub logger: Option<String>,
    pub platform: Option<String>,
    /// `contexts["Rust Tracing Location"]` as `file:line`, when there is no
    /// stack to show.
    pub location: Option<String>,
    /// The SDK's own grouping, as sent (may hold `{{ default }}`).
    pub fingerprint: Vec<String>,
    pub timestamp: Option<DateTime<Utc>>,
    /// The default grouping parts (spec 1.9), for [`group::group_key`].
    pub group_parts: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("the event is not a JSON object")]
    NotAnObject,
    #[error("the event is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// Reads an `event` payload.
pub fn parse(payload: &[u8]) -> Result<ErrorEvent, EventError> {
    // A derived struct would also accept a JSON array (as a tuple).
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(EventError::NotAnObject);
    }
    let wire: WireEvent = serde_json::from_slice(payload)?;
    Ok(build(wire))
}

fn build(w: WireEvent) -> ErrorEvent {
    let platform = w.platform.as_deref();
    let last = w.exception.last();
    let synthetic = last.is_some_and(WireException::synthetic);
    let exception_type = last
        .and_then(|e| e.ty.as_deref())
        .filter(|_| !synthetic)
        .and_then(|t| field(Some(t)));
    let exception_value = last
        .and_then(|e| non_empty(e.value.as_deref()))
        .map(|v| cut_bytes(v.to_string(), MAX_MESSAGE));
    let unhandled = w
        .exception
        .iter()
        .any(|e| e.mechanism.as_ref().and_then(|m| m.handled) == Some(false));

    let (message, message_template) = messages(w.logentry.as_ref(), w.message.as_ref());

    let stack = group::pick_stack(&w.exception, &w.threads, w.stacktrace.as_ref());
    let kept = group::kept_frames(platform, stack);
    let frames: Vec<Frame> = if kept.is_empty() {
        stack
            .iter()
            .rev()
            .take(FALLBACK_FRAMES)
            .map(Frame::of)
            .collect()
    } else {
        kept.iter().take(MAX_FRAMES).map(|f| Frame::of(f)).collect()
    };
    // Grouping looks at every kept frame, oldest first; every frame when
    // none is the app's.
    let grouping: Vec<&WireFrame> = if kept.is_empty() {
        stack.iter().collect()
    } else {
        kept.iter().rev().copied().collect()
    };
    let logger = field(w.logger.as_deref());
    let transaction = field(w.transaction.as_deref());
    let group_parts = group::default_parts(
        last,
        &grouping,
        message_template.as_deref(),
        logger.as_deref(),
        transaction.as_deref(),
    );

    let contexts = w.contexts.unwrap_or_default();
    let location = if frames.is_empty() {
        contexts.location.and_then(|l| location_of(&l))
    } else {
        None
    };
    let trace = contexts.trace.unwrap_or_default();
    let request = w.request.unwrap_or_default();
    let title = title(
        exception_type.as_deref(),
        exception_value.as_deref(),
        message.as_deref(),
        logger.as_deref(),
    );
    ErrorEvent {
        event_id: w.event_id.as_deref().and_then(normalize_uuid),
        level: Level::parse(w.level.as_deref()),
        unhandled,
        exception_type,
        exception_value,
        message,
        message_template,
        title,
        frames,
        trace_id: field(trace.trace_id.as_deref()),
        span_id: field(trace.span_id.as_deref()),
        release: field(w.release.as_deref()),
        environment: field(w.environment.as_deref()),
        server_name: field(w.server_name.as_deref()),
        transaction,
        request_url: non_empty(request.url.as_deref()).map(|u| cut_chars(u.to_string(), MAX_URL)),
        request_method: field(request.method.as_deref()),
        user_id: field(w.user.and_then(|u| u.id).as_deref()),
        tags: w.tags,
        logger,
        platform: field(platform),
        location,
        fingerprint: w.fingerprint,
        timestamp: w.timestamp,
        group_parts,
    }
}

/// The message to show and the one to group by (see [`ErrorEvent`]).
/// `logentry` wins over the legacy `message`.
fn messages(
    logentry: Option<&WireLogEntry>,
    legacy: Option<&WireLogEntry>,
) -> (Option<String>, Option<String>) {
    let shown = formatted_of(logentry)
        .or(template_of(logentry))
        .or(formatted_of(legacy))
        .or(template_of(legacy));
    let template = template_of(logentry).or(template_of(legacy)).or(shown);
    let bounded = |s: &str| cut_bytes(s.to_string(), MAX_MESSAGE);
    (shown.map(bounded), template.map(bounded))
}

fn template_of(l: Option<&WireLogEntry>) -> Option<&str> {
    l.and_then(|l| non_empty(l.message.as_deref()))
}

fn formatted_of(l: Option<&WireLogEntry>) -> Option<&str> {
    l.and_then(|l| non_empty(l.formatted.as_deref()))
}

/// `type: value`, else the value, else the type, else the message, else
/// `logger: error event`, else `Sentry event`; its first non-empty line,
/// cut to [`MAX_TITLE`] characters.
fn title(
    ty: Option<&str>,
    value: Option<&str>,
    message: Option<&str>,
    logger: Option<&str>,
) -> String {
    let text = match (ty, value) {
        (Some(t), Some(v)) => format!("{}: {}", first_line(t), first_line(v)),
        (None, Some(v)) => first_line(v).to_string(),
        (Some(t), None) => first_line(t).to_string(),
        (None, None) => match (message, logger) {
            (Some(m), _) => first_line(m).to_string(),
            (None, Some(l)) => format!("{}: error event", first_line(l)),
            (None, None) => String::new(),
        },
    };
    let text = text.trim();
    if text.is_empty() {
        return "Sentry event".into();
    }
    cut_chars(text.to_string(), MAX_TITLE)
}

fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

fn non_empty(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.trim().is_empty())
}

/// A short field: non-empty, cut to [`MAX_FIELD`] characters.
fn field(s: Option<&str>) -> Option<String> {
    non_empty(s).map(|s| cut_chars(s.to_string(), MAX_FIELD))
}

fn location_of(l: &WireLocation) -> Option<String> {
    let file = field(l.file.as_deref())?;
    Some(match l.line {
        Some(line) => format!("{file}:{line}"),
        None => file,
    })
}

// ---- the wire shapes --------------------------------------------------------
//
// Only the fields read are declared: serde skips every other key without
// allocating it. Every field is lenient (see `super::lenient`).

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireEvent {
    #[serde(deserialize_with = "lenient::text")]
    event_id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    level: Option<String>,
    #[serde(deserialize_with = "lenient::values")]
    exception: Vec<WireException>,
    #[serde(deserialize_with = "lenient::values")]
    threads: Vec<WireThread>,
    #[serde(deserialize_with = "lenient::obj")]
    stacktrace: Option<WireStacktrace>,
    #[serde(deserialize_with = "lenient::obj")]
    logentry: Option<WireLogEntry>,
    /// Legacy: a string (the formatted message), an object like
    /// `logentry`, or `false`.
    #[serde(deserialize_with = "lenient::text_or_obj")]
    message: Option<WireLogEntry>,
    #[serde(deserialize_with = "lenient::obj")]
    contexts: Option<WireContexts>,
    #[serde(deserialize_with = "lenient::text")]
    release: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    environment: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    server_name: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    transaction: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    logger: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    platform: Option<String>,
    #[serde(deserialize_with = "lenient::obj")]
    request: Option<WireRequest>,
    #[serde(deserialize_with = "lenient::obj")]
    user: Option<WireUser>,
    #[serde(deserialize_with = "lenient::tags")]
    tags: Vec<(String, String)>,
    #[serde(deserialize_with = "lenient::text_list")]
    fingerprint: Vec<String>,
    #[serde(deserialize_with = "lenient::timestamp")]
    timestamp: Option<DateTime<Utc>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct WireException {
    #[serde(rename = "type", deserialize_with = "lenient::text")]
    pub(super) ty: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub(super) value: Option<String>,
    #[serde(deserialize_with = "lenient::obj")]
    pub(super) mechanism: Option<WireMechanism>,
    #[serde(deserialize_with = "lenient::obj")]
    pub(super) stacktrace: Option<WireStacktrace>,
}

impl WireException {
    /// `mechanism.synthetic`: the type says nothing (spec 1.6).
    pub(super) fn synthetic(&self) -> bool {
        self.mechanism.as_ref().is_some_and(|m| m.synthetic)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct WireMechanism {
    #[serde(deserialize_with = "lenient::boolean")]
    pub(super) handled: Option<bool>,
    #[serde(deserialize_with = "lenient::flag")]
    pub(super) synthetic: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct WireStacktrace {
    #[serde(deserialize_with = "lenient::list")]
    pub(super) frames: Vec<WireFrame>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct WireThread {
    #[serde(deserialize_with = "lenient::flag")]
    pub(super) current: bool,
    #[serde(deserialize_with = "lenient::obj")]
    pub(super) stacktrace: Option<WireStacktrace>,
}

/// A frame: no `vars`, no source context (skipped unread).
#[derive(Deserialize, Default)]
#[serde(default)]
pub(super) struct WireFrame {
    #[serde(deserialize_with = "lenient::text")]
    pub(super) function: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub(super) module: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub(super) package: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub(super) filename: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    pub(super) abs_path: Option<String>,
    #[serde(deserialize_with = "lenient::uint")]
    pub(super) lineno: Option<u32>,
    #[serde(deserialize_with = "lenient::boolean")]
    pub(super) in_app: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireLogEntry {
    #[serde(deserialize_with = "lenient::text")]
    message: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    formatted: Option<String>,
}

/// The legacy `message` string is the formatted message (Relay's
/// `LogEntry::from_value`).
impl From<String> for WireLogEntry {
    fn from(formatted: String) -> Self {
        Self {
            message: None,
            formatted: Some(formatted),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireContexts {
    #[serde(deserialize_with = "lenient::obj")]
    trace: Option<WireTrace>,
    #[serde(rename = "Rust Tracing Location", deserialize_with = "lenient::obj")]
    location: Option<WireLocation>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireTrace {
    #[serde(deserialize_with = "lenient::text")]
    trace_id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    span_id: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct WireLocation {
    #[serde(deserialize_with = "lenient::text")]
    file: Option<String>,
    #[serde(deserialize_with = "lenient::uint")]
    line: Option<u32>,
}

/// `url` and `method` only: headers, cookies, data, env and the query
/// string are skipped unread.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WireRequest {
    #[serde(deserialize_with = "lenient::text")]
    url: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    method: Option<String>,
}

/// `id` only.
#[derive(Deserialize, Default)]
#[serde(default)]
struct WireUser {
    #[serde(deserialize_with = "lenient::text")]
    id: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::sentry::capture_item;

    fn event_of(name: &str) -> ErrorEvent {
        parse(&capture_item(name, "event")).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn tag<'e>(ev: &'e ErrorEvent, key: &str) -> Option<&'e str> {
        ev.tags
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn python_exception() {
        // Spec 4 check 2.
        let ev = event_of("sentry-python-envelope-exception.decoded.txt");
        assert_eq!(
            ev.event_id.as_deref(),
            Some("ce522237773245a2b92ff9a3d59b4f2e")
        );
        assert_eq!(ev.level, Level::Error);
        assert!(!ev.unhandled);
        assert_eq!(ev.exception_type.as_deref(), Some("ValueError"));
        assert_eq!(
            ev.exception_value.as_deref(),
            Some("amount 250 exceeds limit for order 17")
        );
        assert_eq!(
            ev.title,
            "ValueError: amount 250 exceeds limit for order 17"
        );
        assert_eq!(ev.message, None);
        // The last frame raised: it comes first.
        let top = &ev.frames[0];
        assert_eq!(top.function.as_deref(), Some("charge"));
        assert_eq!(top.module.as_deref(), Some("__main__"));
        assert_eq!(top.file.as_deref(), Some("app.py"));
        assert_eq!(top.line, Some(24));
        assert_eq!(top.display(), "charge (app.py:24)");
        let shown: Vec<_> = ev.frames.iter().map(Frame::display).collect();
        assert_eq!(
            shown,
            [
                "charge (app.py:24)",
                "checkout (app.py:28)",
                "<module> (app.py:35)"
            ]
        );
        assert_eq!(
            ev.trace_id.as_deref(),
            Some("3604dd44459842b1b5e02a12e72a1b63")
        );
        assert_eq!(ev.span_id.as_deref(), Some("840160f4989a5f33"));
        assert_eq!(tag(&ev, "region"), Some("eu-1"));
        assert_eq!(ev.tags.len(), 1);
        assert_eq!(ev.release.as_deref(), Some("shop@1.4.2"));
        assert_eq!(ev.environment.as_deref(), Some("production"));
        assert_eq!(ev.server_name.as_deref(), Some("web-01"));
        assert_eq!(ev.transaction.as_deref(), Some("checkout-worker"));
        assert_eq!(ev.user_id.as_deref(), Some("7"));
        assert_eq!(ev.platform.as_deref(), Some("python"));
        assert_eq!(ev.location, None);
        assert!(ev.fingerprint.is_empty());
        assert_eq!(
            ev.timestamp.map(|t| t.to_rfc3339()),
            Some("2026-12-02T07:13:11.838902+00:00".to_string())
        );
    }

    #[test]
    fn envelope_and_payload_event_ids_agree() {
        // Spec 4 check 1: the answer's id is the envelope's, undashed.
        for name in [
            "sentry-python-envelope-exception.decoded.txt",
            "sentry-python-envelope-exception-br.decoded.txt",
            "sentry-python-envelope-message.decoded.txt",
            "sentry-python-envelope-logging-logentry.decoded.txt",
            "sentry-python-envelope-wsgi-unhandled-request.decoded.txt",
            "sentry-rust-envelope-capture-error.txt",
            "sentry-rust-envelope-panic.txt",
            "sentry-rust-envelope-tracing-error-event.txt",
            "sentry-node-envelope-exception.decoded.txt",
            "sentry-node-envelope-message.decoded.txt",
        ] {
            let buf = crate::ingest::sentry::capture_envelope(name);
            let env = super::super::envelope::parse(&buf).unwrap();
            let id = env
                .event_id
                .clone()
                .unwrap_or_else(|| panic!("{name}: no event_id"));
            assert_eq!(id.len(), 32, "{name}");
            assert!(
                id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
                "{name}"
            );
            let ev = event_of(name);
            assert_eq!(ev.event_id.as_deref(), Some(id.as_str()), "{name}");
        }
    }

    #[test]
    fn python_wsgi_crash_is_unhandled_and_keeps_no_request_secrets() {
        let ev = event_of("sentry-python-envelope-wsgi-unhandled-request.decoded.txt");
        assert!(ev.unhandled);
        assert_eq!(ev.title, "KeyError: 'sku-991'");
        assert_eq!(
            ev.request_url.as_deref(),
            Some("http://shop.example.com/orders/17")
        );
        assert_eq!(ev.request_method.as_deref(), Some("POST"));
        assert_eq!(ev.transaction.as_deref(), Some("generic WSGI request"));
        assert_eq!(ev.frames[0].display(), "wsgi_app (app.py:64)");
        let all = format!("{ev:?}");
        assert!(
            !all.contains("curl/8.5.0") && !all.contains("req-5f1c"),
            "{all}"
        );
    }

    #[test]
    fn python_message_and_logging_record() {
        let ev = event_of("sentry-python-envelope-message.decoded.txt");
        assert_eq!(ev.message.as_deref(), Some("disk usage above 95% on /var"));
        assert_eq!(
            ev.message_template.as_deref(),
            Some("disk usage above 95% on /var")
        );
        assert_eq!(ev.title, "disk usage above 95% on /var");
        assert_eq!(
            (ev.exception_type.as_deref(), ev.exception_value.as_deref()),
            (None, None)
        );
        assert!(ev.frames.is_empty());
        assert_eq!(
            group::normalize_message(ev.message_template.as_deref().unwrap()),
            "disk usage above <int>% on /var"
        );

        let ev = event_of("sentry-python-envelope-logging-logentry.decoded.txt");
        assert_eq!(ev.message.as_deref(), Some("refund failed for order 18"));
        assert_eq!(
            ev.message_template.as_deref(),
            Some("refund failed for order %s")
        );
        assert_eq!(ev.title, "refund failed for order 18");
        assert_eq!(ev.logger.as_deref(), Some("shop.billing"));
    }

    #[test]
    fn rust_panic() {
        // Spec 4 check 4.
        let ev = event_of("sentry-rust-envelope-panic.txt");
        assert_eq!(
            ev.event_id.as_deref(),
            Some("84658415d34248b0beb7d9d6dc69c154")
        );
        assert_eq!(ev.level, Level::Fatal);
        assert!(ev.unhandled);
        assert_eq!(ev.exception_type.as_deref(), Some("panic"));
        assert_eq!(
            ev.title,
            "panic: index out of bounds: the len is 0 but the index is 8"
        );
        assert_eq!(ev.frames.len(), 1);
        let top = &ev.frames[0];
        assert_eq!(
            top.function.as_deref(),
            Some("rustcap::sentry_main::{{closure}}")
        );
        assert_eq!(top.file.as_deref(), Some("main.rs"));
        assert_eq!(top.line, Some(46));
        assert_eq!(
            top.display(),
            "rustcap::sentry_main::{{closure}} (main.rs:46)"
        );
        assert_eq!(
            ev.trace_id.as_deref(),
            Some("0673b10871512fba092fa2a87b0f5fed")
        );
        assert_eq!(ev.release.as_deref(), Some("billing@0.9.1"));
        assert_eq!(ev.environment.as_deref(), Some("staging"));
        assert_eq!(ev.server_name.as_deref(), Some("worker-02"));
        assert_eq!(ev.platform.as_deref(), Some("native"));
        assert_eq!(ev.timestamp.map(|t| t.timestamp()), Some(1796195670));
    }

    #[test]
    fn rust_tracing_error_event() {
        // Spec 4 check 5: no `level`, a message, no exception, a thread stack.
        let ev = event_of("sentry-rust-envelope-tracing-error-event.txt");
        assert_eq!(ev.level, Level::Error);
        assert!(!ev.unhandled);
        assert_eq!(ev.exception_type, None);
        assert_eq!(ev.message.as_deref(), Some("payment failed: card declined"));
        assert_eq!(ev.title, "payment failed: card declined");
        assert_eq!(ev.logger.as_deref(), Some("rustcap"));
        let shown: Vec<_> = ev.frames.iter().map(Frame::display).collect();
        assert_eq!(
            shown,
            [
                "rustcap::charge_card (main.rs:18)",
                "rustcap::sentry_main (main.rs:42)",
                "rustcap::main (main.rs:9)"
            ]
        );
        // There is a stack, so no location line.
        assert_eq!(ev.location, None);
    }

    #[test]
    fn rust_capture_error_uses_the_thread_stack() {
        let ev = event_of("sentry-rust-envelope-capture-error.txt");
        assert_eq!(ev.title, "Custom: disk full");
        assert_eq!(ev.frames[0].display(), "rustcap::charge_card (main.rs:20)");
        assert_eq!(ev.group_parts[0], "Custom");
    }

    #[test]
    fn the_tracing_location_stands_in_for_a_missing_stack() {
        let ev = parse(
            br#"{"message":"x","contexts":{"Rust Tracing Location":{"type":"unknown","file":"src/main.rs","line":18}}}"#,
        )
        .unwrap();
        assert_eq!(ev.location.as_deref(), Some("src/main.rs:18"));
    }

    #[test]
    fn node_exception() {
        // Spec 4 check 6 (the parser's part).
        let ev = event_of("sentry-node-envelope-exception.decoded.txt");
        assert_eq!(ev.exception_type.as_deref(), Some("TypeError"));
        assert_eq!(
            ev.title,
            "TypeError: Cannot read properties of undefined (reading 'length')"
        );
        let top = &ev.frames[0];
        assert_eq!(top.function.as_deref(), Some("parseOrder"));
        assert_eq!(top.file.as_deref(), Some("/srv/app/web/sentry_node.js"));
        assert_eq!(top.line, Some(12));
        assert_eq!(ev.frames.len(), 2);
        assert_eq!(ev.frames[1].function.as_deref(), Some("handler"));
        assert_eq!(ev.transaction, None);
        assert_eq!(tag(&ev, "region"), Some("eu-1"));
        // 1796195616.774 as a float: the millisecond may round either way.
        let t = ev.timestamp.unwrap();
        assert_eq!(t.timestamp(), 1796195616);
        assert!((773..=774).contains(&t.timestamp_subsec_millis()), "{t}");
    }

    #[test]
    fn node_message_with_a_synthetic_exception() {
        // Spec 4 check 7: the type is absent and says nothing anyway.
        let ev = event_of("sentry-node-envelope-message.decoded.txt");
        assert_eq!(ev.exception_type, None);
        assert_eq!(
            ev.exception_value.as_deref(),
            Some("queue depth above 10000")
        );
        assert_eq!(ev.message.as_deref(), Some("queue depth above 10000"));
        assert_eq!(ev.title, "queue depth above 10000");
        assert_eq!(
            ev.frames[0].display(),
            "Object.? (/srv/app/web/sentry_node.js:25)"
        );
        assert_eq!(ev.group_parts, ["msg", "queue depth above <int>"]);
    }

    #[test]
    fn a_synthetic_type_is_dropped() {
        let ev = parse(
            br#"{"exception":{"values":[{"type":"Error","value":"boom","mechanism":{"synthetic":true}}]}}"#,
        )
        .unwrap();
        assert_eq!(ev.exception_type, None);
        assert_eq!(ev.title, "boom");
    }

    #[test]
    fn only_a_json_object_is_an_event() {
        for bad in [&b"[]"[..], b"\"x\"", b"42", b"", b"  ", b"null"] {
            assert!(
                matches!(parse(bad), Err(EventError::NotAnObject)),
                "{bad:?}"
            );
        }
        assert!(matches!(parse(b"{\"level\":"), Err(EventError::Json(_))));
        let ev = parse(b"  {}  ").unwrap();
        assert_eq!(ev.title, "Sentry event");
        assert_eq!(ev.level, Level::Error);
        assert!(ev.frames.is_empty());
    }

    #[test]
    fn wrong_types_and_nulls_are_absent() {
        let ev = parse(
            br#"{"event_id":123,"level":7,"exception":"boom","threads":5,"stacktrace":[1],
                "logentry":null,"message":false,"contexts":{"trace":"x","Rust Tracing Location":[]},
                "release":null,"environment":{"a":1},"server_name":["x"],"transaction":true,
                "logger":null,"platform":null,"request":"GET /","user":{"id":null,"email":"a@b.c"},
                "tags":"region=eu","fingerprint":{"a":1},"timestamp":"yesterday"}"#,
        )
        .unwrap();
        assert_eq!(ev.event_id, None);
        assert_eq!(ev.level, Level::Error);
        assert_eq!(ev.title, "Sentry event");
        assert!(ev.tags.is_empty() && ev.fingerprint.is_empty() && ev.frames.is_empty());
        assert_eq!(
            (ev.release, ev.environment, ev.server_name),
            (None, None, None)
        );
        assert_eq!((ev.user_id, ev.timestamp), (None, None));
        // Frames and exceptions of the wrong shape are dropped one by one.
        let ev = parse(
            br#"{"exception":[5,{"type":"E","value":"v","mechanism":"x","stacktrace":{"frames":[
                null,{"function":"f","lineno":"12","in_app":"yes","vars":{"secret":"hunter2"}},
                {"function":"g","lineno":-3,"in_app":true,"filename":7}]}}]}"#,
        )
        .unwrap();
        assert_eq!(ev.title, "E: v");
        // Only `g` is in-app (`"yes"` is not a boolean); the file `7` is text.
        assert_eq!(ev.frames.len(), 1);
        assert_eq!(ev.frames[0].display(), "g (7)");
        assert!(!format!("{ev:?}").contains("hunter2"));
    }

    #[test]
    fn legacy_message_forms() {
        let ev =
            parse(br#"{"message":{"message":"user %s left","formatted":"user 5 left"}}"#).unwrap();
        assert_eq!(ev.message.as_deref(), Some("user 5 left"));
        assert_eq!(ev.message_template.as_deref(), Some("user %s left"));
        let ev = parse(br#"{"message":{"message":"only the template"}}"#).unwrap();
        assert_eq!(ev.message.as_deref(), Some("only the template"));
        // logentry wins over the legacy message.
        let ev = parse(br#"{"logentry":{"formatted":"new"},"message":"old"}"#).unwrap();
        assert_eq!(ev.message.as_deref(), Some("new"));
        let ev = parse(br#"{"message":false,"logger":"shop.billing"}"#).unwrap();
        assert_eq!(ev.message, None);
        assert_eq!(ev.title, "shop.billing: error event");
    }

    #[test]
    fn levels() {
        for (json, want) in [
            (r#"{"level":"fatal"}"#, Level::Fatal),
            (r#"{"level":"error"}"#, Level::Error),
            (r#"{"level":"warning"}"#, Level::Warning),
            (r#"{"level":"info"}"#, Level::Info),
            (r#"{"level":"debug"}"#, Level::Debug),
            (r#"{"level":"WARNING"}"#, Level::Warning),
            (r#"{"level":"shouting"}"#, Level::Error),
            (r#"{"level":null}"#, Level::Error),
            (r#"{}"#, Level::Error),
        ] {
            assert_eq!(parse(json.as_bytes()).unwrap().level, want, "{json}");
        }
    }

    #[test]
    fn tags_as_pairs_numbers_and_bounds() {
        let ev =
            parse(br#"{"tags":[["region","eu-1"],["n",5],["bad"],7,["k","v","extra"]]}"#).unwrap();
        assert_eq!(
            ev.tags,
            [
                ("region".to_string(), "eu-1".to_string()),
                ("n".to_string(), "5".to_string()),
                ("k".to_string(), "v".to_string())
            ]
        );
        let many: Vec<String> = (0..30)
            .map(|i| format!("\"k{i}\":\"{}\"", "é".repeat(300)))
            .collect();
        let ev = parse(format!("{{\"tags\":{{{}}}}}", many.join(",")).as_bytes()).unwrap();
        assert_eq!(ev.tags.len(), 20);
        assert!(ev.tags.iter().all(|(_, v)| v.chars().count() == 200));
        let ev = parse(br#"{"user":{"id":7,"email":"a@b.c","ip_address":"1.2.3.4"}}"#).unwrap();
        assert_eq!(ev.user_id.as_deref(), Some("7"));
    }

    #[test]
    fn long_values_are_cut_at_a_char_boundary() {
        let long = "é".repeat(5000); // 10000 bytes
        let json =
            format!(r#"{{"exception":[{{"type":"E","value":"{long}"}}],"message":"{long}"}}"#);
        let ev = parse(json.as_bytes()).unwrap();
        let v = ev.exception_value.unwrap();
        assert_eq!(v.len(), MAX_MESSAGE);
        assert_eq!(ev.message.unwrap().len(), MAX_MESSAGE);
        assert_eq!(ev.title.chars().count(), MAX_TITLE);
    }

    #[test]
    fn timestamps() {
        let at = |json: &str| {
            parse(json.as_bytes())
                .unwrap()
                .timestamp
                .map(|t| t.to_rfc3339())
        };
        assert_eq!(
            at(r#"{"timestamp":"2011-05-02T17:41:36"}"#).as_deref(),
            Some("2011-05-02T17:41:36+00:00")
        );
        assert_eq!(
            at(r#"{"timestamp":"2011-05-02T19:41:36+02:00"}"#).as_deref(),
            Some("2011-05-02T17:41:36+00:00")
        );
        assert_eq!(
            at(r#"{"timestamp":1304358096}"#).as_deref(),
            Some("2011-05-02T17:41:36+00:00")
        );
        assert_eq!(
            at(r#"{"timestamp":1304358096.5}"#).as_deref(),
            Some("2011-05-02T17:41:36.500+00:00")
        );
        assert_eq!(at(r#"{"timestamp":"soon"}"#), None);
    }

    #[test]
    fn frames_are_bounded() {
        let frames: Vec<String> = (0..40)
            .map(|i| {
                format!(r#"{{"function":"f{i}","filename":"a.py","lineno":{i},"in_app":true}}"#)
            })
            .collect();
        let json = format!(
            r#"{{"platform":"python","exception":[{{"type":"E","stacktrace":{{"frames":[{}]}}}}]}}"#,
            frames.join(",")
        );
        let ev = parse(json.as_bytes()).unwrap();
        let names: Vec<_> = ev
            .frames
            .iter()
            .map(|f| f.function.clone().unwrap())
            .collect();
        assert_eq!(names, ["f39", "f38", "f37", "f36", "f35"]);
        // Grouping saw all 40.
        assert_eq!(ev.group_parts.len(), 1 + 2 * 40);
        // None in-app: the newest 3 are shown.
        let json = json.replace("\"in_app\":true", "\"in_app\":false");
        let ev = parse(json.as_bytes()).unwrap();
        let names: Vec<_> = ev
            .frames
            .iter()
            .map(|f| f.function.clone().unwrap())
            .collect();
        assert_eq!(names, ["f39", "f38", "f37"]);
    }
}
