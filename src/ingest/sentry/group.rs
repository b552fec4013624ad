//! Which frames of a stack matter (spec 1.7), and which events are "the same
//! error" (spec 1.9): the group key folds the 50th `ValueError` from the same
//! code into the first one's alert.
//!
//! Frames: SDKs mark their own frames and the runtime's as in-app (the Rust
//! SDK marks every frame it does not know, so in a captured panic the SDK's
//! panic hook, `__rustc::rust_begin_unwind` and glibc's `clone3` are all
//! "in-app"), so `in_app` alone names the wrong culprit. A per-platform skip
//! list removes those. For Python and Node `in_app` is reliable.
//!
//! Grouping, a faithful subset of Sentry's: the SDK's `fingerprint` if it
//! sent one, else the in-app frames (module or file name plus function, but
//! no line numbers, so a deploy that shifts lines keeps the group), else the
//! exception type and value, else the message with its variable parts
//! (numbers, ids, addresses, dates) replaced by placeholders. The key also
//! holds the project and the environment, so staging and production stay
//! apart; the release does not, so "new in release X" can be told.

use std::sync::LazyLock;

use regex::{Captures, Regex};
use sha1::{Digest, Sha1};

use super::event::{ErrorEvent, WireException, WireFrame, WireStacktrace, WireThread};

/// The fingerprint entry that stands for the default grouping.
const DEFAULT_FINGERPRINT: &str = "{{ default }}";

/// Bytes of an exception value or message looked at for grouping.
const MAX_GROUP_TEXT: usize = 8192;

/// The stack of spec 1.7: the last exception with frames, else the current
/// (or only) thread's, else the legacy top-level `stacktrace`. Oldest frame
/// first, as sent.
pub(super) fn pick_stack<'e>(
    exceptions: &'e [WireException],
    threads: &'e [WireThread],
    top: Option<&'e WireStacktrace>,
) -> &'e [WireFrame] {
    let frames_of =
        |s: Option<&'e WireStacktrace>| s.map(|s| &s.frames[..]).filter(|f| !f.is_empty());
    if let Some(f) = exceptions
        .iter()
        .rev()
        .find_map(|e| frames_of(e.stacktrace.as_ref()))
    {
        return f;
    }
    let thread = match threads {
        [only] => Some(only),
        _ => threads.iter().find(|t| t.current),
    };
    if let Some(f) = frames_of(thread.and_then(|t| t.stacktrace.as_ref())) {
        return f;
    }
    frames_of(top).unwrap_or_default()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Platform {
    /// Rust (and C/C++ through sentry-native).
    Native,
    Python,
    /// `node` and `javascript`.
    Node,
    Other,
}

impl Platform {
    fn of(platform: Option<&str>) -> Self {
        match platform {
            Some("native") => Self::Native,
            Some("python") => Self::Python,
            Some("node" | "javascript") => Self::Node,
            _ => Self::Other,
        }
    }
}

/// Frames of a `native` stack that are the SDK's or the runtime's although
/// marked in-app: `function` (after a leading `<`) or `package` starts with
/// one of these (spec 1.7 table).
const NATIVE_SKIP: &[&str] = &[
    "sentry",
    "std::",
    "core::",
    "alloc::",
    "backtrace::",
    "tracing",
    "tracing_core::",
    "tracing_subscriber::",
    "tokio::",
    "futures",
    "__rust",
    "___rust",
    "__rustc::",
    "clone3",
    "start_thread",
    "__libc_start",
    "_start",
];

fn native_skipped(f: &WireFrame) -> bool {
    let function = f.function.as_deref().unwrap_or("");
    // `main` alone is the C stub (the Rust one is `crate::main`).
    if function == "main" || function == "<unknown>" {
        return true;
    }
    let name = function.strip_prefix('<').unwrap_or(function);
    let package = f.package.as_deref().unwrap_or("");
    if NATIVE_SKIP
        .iter()
        .any(|p| name.starts_with(p) || package.starts_with(p))
    {
        return true;
    }
    // `<usize as core::slice::index::SliceIndex<[T]>>::index`.
    if function.starts_with('<') && function.contains(" as core::") {
        return true;
    }
    f.abs_path.as_deref().is_some_and(|p| {
        p.starts_with("/rustc/")
            || p.contains("/.cargo/registry/")
            || p.contains("/cargo/registry/")
    })
}

fn kept(platform: Platform, f: &WireFrame) -> bool {
    match platform {
        Platform::Native => f.in_app == Some(true) && !native_skipped(f),
        // `in_app` is reliable; when missing, installed packages are not
        // the app.
        Platform::Python => match f.in_app {
            Some(in_app) => in_app,
            None => !f
                .abs_path
                .as_deref()
                .or(f.filename.as_deref())
                .is_some_and(|p| p.contains("site-packages/")),
        },
        Platform::Node | Platform::Other => f.in_app == Some(true),
    }
}

/// An anonymous JavaScript function (`?`).
fn anonymous(f: &WireFrame) -> bool {
    f.function.as_deref() == Some("?")
}

/// The frames of `frames` (oldest first, as sent) that are the app's,
/// **newest first** (spec 1.7). Empty when none is: the caller falls back
/// (the last 3 frames to show, every frame to group).
pub(super) fn kept_frames<'f>(
    platform: Option<&str>,
    frames: &'f [WireFrame],
) -> Vec<&'f WireFrame> {
    let platform = Platform::of(platform);
    let mut out: Vec<&WireFrame> = frames.iter().rev().filter(|f| kept(platform, f)).collect();
    // Anonymous callbacks only when nothing named is left.
    if platform == Platform::Node && out.iter().any(|f| !anonymous(f)) {
        out.retain(|f| !anonymous(f));
    }
    out
}

/// The default grouping parts of spec 1.9 (`default_parts`), from the last
/// exception, the grouping frames (oldest first) and the message template.
///
/// A synthetic exception next to a message (`captureMessage` in Node
/// attaches the call stack as an exception without a type) groups by the
/// message: the stack only says where the message was sent from.
pub(super) fn default_parts(
    exception: Option<&WireException>,
    frames: &[&WireFrame],
    message: Option<&str>,
    logger: Option<&str>,
    transaction: Option<&str>,
) -> Vec<String> {
    let synthetic = exception.is_some_and(WireException::synthetic);
    if let (true, Some(m)) = (synthetic, message) {
        return vec!["msg".into(), normalize_message(head(m, MAX_GROUP_TEXT))];
    }
    if !frames.is_empty() {
        let mut parts = Vec::new();
        if let Some(e) = exception.filter(|_| !synthetic) {
            parts.push(e.ty.clone().unwrap_or_default());
        }
        let mut last: Option<(String, &str)> = None;
        for f in frames {
            let here = (frame_place(f), f.function.as_deref().unwrap_or(""));
            if last.as_ref() == Some(&here) {
                continue; // direct recursion counts once
            }
            parts.push(here.0.clone());
            parts.push(here.1.to_string());
            last = Some(here);
        }
        return parts;
    }
    if let Some(e) = exception.filter(|e| e.ty.is_some() || e.value.is_some()) {
        let ty = if synthetic {
            ""
        } else {
            e.ty.as_deref().unwrap_or("")
        };
        let value = e.value.as_deref().unwrap_or("");
        return vec![
            ty.to_string(),
            normalize_message(head(value, MAX_GROUP_TEXT)),
        ];
    }
    if let Some(m) = message {
        return vec!["msg".into(), normalize_message(head(m, MAX_GROUP_TEXT))];
    }
    vec![
        logger.unwrap_or("").to_string(),
        transaction.unwrap_or("").to_string(),
    ]
}

/// A frame's place for grouping: its `module`, else the lowercased base
/// name of its file.
fn frame_place(f: &WireFrame) -> String {
    if let Some(m) = f.module.as_deref().filter(|m| !m.is_empty()) {
        return m.to_string();
    }
    let path = f
        .filename
        .as_deref()
        .or(f.abs_path.as_deref())
        .unwrap_or("");
    path.rsplit(['/', '\\']).next().unwrap_or("").to_lowercase()
}

/// At most `max` bytes of `s`, at a char boundary.
fn head(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn is_default(part: &str) -> bool {
    let p = part.trim();
    p == DEFAULT_FINGERPRINT || p == "{{default}}"
}

/// The group key: hex SHA-1 of `project_id|environment|parts`, the parts
/// joined by `\x1f`. The parts are the SDK's fingerprint with
/// `{{ default }}` replaced by the default parts, or the default parts when
/// there is no fingerprint (or only `{{ default }}`).
pub fn group_key(project_id: u64, ev: &ErrorEvent) -> String {
    let custom = match ev.fingerprint.as_slice() {
        [] => false,
        [only] => !is_default(only),
        _ => true,
    };
    let mut parts: Vec<&str> = Vec::new();
    if custom {
        for p in &ev.fingerprint {
            if is_default(p) {
                parts.extend(ev.group_parts.iter().map(String::as_str));
            } else {
                parts.push(p);
            }
        }
    } else {
        parts.extend(ev.group_parts.iter().map(String::as_str));
    }
    let environment = ev
        .environment
        .as_deref()
        .filter(|e| !e.is_empty())
        .unwrap_or("production");
    let mut h = Sha1::new();
    h.update(project_id.to_string().as_bytes());
    h.update(b"|");
    h.update(environment.as_bytes());
    h.update(b"|");
    h.update(parts.join("\x1f").as_bytes());
    hex::encode(h.finalize())
}

/// Variable parts of a message and their placeholders, in priority order
/// (at one position the first that matches wins; the scan is one pass, so a
/// placeholder is never rewritten by a later rule). After Sentry's
/// `normalize_message_for_grouping`; Rust's `regex` has no look-around, so
/// word boundaries stand in for it.
const PLACEHOLDERS: &[(&str, &str, &str)] = &[
    (
        "email",
        r"[a-zA-Z0-9._%+-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*\.[a-zA-Z]{2,}\b",
        "<email>",
    ),
    (
        "url",
        r#"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"<>()\[\]{}]+"#,
        "<url>",
    ),
    (
        "ip",
        concat!(
            r"\b(?:",
            r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
            r"|(?:[0-9a-fA-F]{1,4}:){7}[0-9a-fA-F]{1,4}",
            r"|(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}:){0,5}[0-9a-fA-F]{1,4}",
            r")\b",
        ),
        "<ip>",
    ),
    (
        "uuid",
        r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
        "<uuid>",
    ),
    ("sha1", r"\b[0-9a-fA-F]{40}\b", "<sha1>"),
    ("md5", r"\b[0-9a-fA-F]{32}\b", "<md5>"),
    (
        "date",
        concat!(
            r"\b(?:",
            r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
            r"(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?)?",
            r"|[0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.,][0-9]+)?",
            r")\b",
        ),
        "<date>",
    ),
    ("hex", r"\b0[xX][0-9a-fA-F]+\b", "<hex>"),
    (
        "float",
        r"\b[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?\b",
        "<float>",
    ),
    ("int", r"\b[0-9]+\b", "<int>"),
    ("quoted", r"='[^']*'", "=<quoted_str>"),
];

/// All of [`PLACEHOLDERS`] as one alternation of named groups.
static PLACEHOLDER_RE: LazyLock<Regex> = LazyLock::new(|| {
    let alternation: Vec<String> = PLACEHOLDERS
        .iter()
        .map(|(name, pattern, _)| format!("(?P<{name}>{pattern})"))
        .collect();
    Regex::new(&alternation.join("|")).expect("the placeholder patterns compile")
});

fn placeholder(caps: &Captures<'_>) -> &'static str {
    PLACEHOLDERS
        .iter()
        .find(|&&(name, _, _)| caps.name(name).is_some())
        .map_or("", |&(_, _, with)| with)
}

/// A message as Sentry groups it: its first two non-empty lines, with
/// e-mails, URLs, IPs, UUIDs, hashes, dates, hex, floats, integers and
/// `='quoted'` values replaced by placeholders (spec 1.9).
pub fn normalize_message(s: &str) -> String {
    let lines: Vec<&str> = s.lines().filter(|l| !l.trim().is_empty()).take(2).collect();
    let text = lines.join("\n");
    PLACEHOLDER_RE
        .replace_all(&text, |caps: &Captures<'_>| placeholder(caps))
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::sentry::{capture_item, event};

    fn event_of(name: &str) -> ErrorEvent {
        event::parse(&capture_item(name, "event")).unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    #[test]
    fn messages_normalize_like_sentry() {
        assert_eq!(
            normalize_message("disk usage above 95% on /var"),
            "disk usage above <int>% on /var"
        );
        assert_eq!(
            normalize_message("queue depth above 10000"),
            "queue depth above <int>"
        );
        assert_eq!(
            normalize_message("refund failed for order %s"),
            "refund failed for order %s"
        );
        let cases = [
            ("mail bob.smith+x@example.co.uk now", "mail <email> now"),
            (
                "GET https://api.example.com/v1/orders/17?x=1 failed",
                "GET <url> failed",
            ),
            (
                "connect 10.0.0.25:5432 refused",
                "connect <ip>:<int> refused",
            ),
            ("peer 2001:db8::8a2e:370:7334 gone", "peer <ip> gone"),
            ("peer fe80:0:0:0:202:b3ff:fe1e:8329 gone", "peer <ip> gone"),
            (
                "job 84658415-d342-48b0-beb7-d9d6dc69c154 died",
                "job <uuid> died",
            ),
            (
                "commit 0123456789abcdef0123456789abcdef01234567 bad",
                "commit <sha1> bad",
            ),
            (
                "event ce522237773245a2b92ff9a3d59b4f2e lost",
                "event <md5> lost",
            ),
            (
                "at 2026-12-02T07:13:11.838902Z it broke",
                "at <date> it broke",
            ),
            ("on 2026-12-02 it broke", "on <date> it broke"),
            ("at 07:13:11 it broke", "at <date> it broke"),
            ("segfault at 0x7fce86ec2c90", "segfault at <hex>"),
            ("took 3.25 s", "took <float> s"),
            ("user='alice' not found", "user=<quoted_str> not found"),
            ("id='5' and n=6", "id=<quoted_str> and n=<int>"),
            // Digits inside words stay.
            ("x86_64 v2 abc123 sku-991", "x86_64 v2 abc123 sku-<int>"),
        ];
        for (input, want) in cases {
            assert_eq!(normalize_message(input), want, "{input}");
        }
    }

    #[test]
    fn only_the_first_two_non_empty_lines_count() {
        assert_eq!(
            normalize_message("\n  \nfirst 1\r\n\nsecond 2\nthird 3\n"),
            "first <int>\nsecond <int>"
        );
    }

    #[test]
    fn placeholders_are_not_rewritten() {
        // One pass: `<int>` never sees the digits that were an IP or a date.
        assert_eq!(normalize_message("1.2.3.4 and 5"), "<ip> and <int>");
        assert_eq!(normalize_message("<int> 7"), "<int> <int>");
    }

    #[test]
    fn the_panic_keeps_only_the_culprit_frame() {
        // Spec 4 check 4: the SDK, std, glibc and `<… as core::…>` frames
        // marked in-app are skipped.
        let payload = capture_item("sentry-rust-envelope-panic.txt", "event");
        let wire: WireTest = serde_json::from_slice(&payload).unwrap();
        let stack = pick_stack(&wire.exception, &[], None);
        assert_eq!(stack.len(), 35);
        let kept = kept_frames(Some("native"), stack);
        let names: Vec<_> = kept
            .iter()
            .map(|f| f.function.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["rustcap::sentry_main::{{closure}}"]);
        assert_eq!(kept[0].abs_path.as_deref(), Some("/srv/app/src/main.rs"));
        assert_eq!(kept[0].lineno, Some(46));
    }

    #[test]
    fn the_tracing_event_stack_is_the_current_thread() {
        let payload = capture_item("sentry-rust-envelope-tracing-error-event.txt", "event");
        let wire: WireTest = serde_json::from_slice(&payload).unwrap();
        let stack = pick_stack(&wire.exception, &wire.threads, None);
        assert_eq!(stack.len(), 53);
        let kept = kept_frames(Some("native"), stack);
        let names: Vec<_> = kept
            .iter()
            .map(|f| f.function.as_deref().unwrap())
            .collect();
        // `rustcap::charge_card::{{closure}}` lives in the tracing crate's
        // macros.rs (Cargo registry): skipped.
        assert_eq!(
            names,
            [
                "rustcap::charge_card",
                "rustcap::sentry_main",
                "rustcap::main"
            ]
        );
    }

    #[test]
    fn node_anonymous_frames_only_when_nothing_else_is_left() {
        let payload = capture_item("sentry-node-envelope-exception.decoded.txt", "event");
        let wire: WireTest = serde_json::from_slice(&payload).unwrap();
        let stack = pick_stack(&wire.exception, &[], None);
        let kept = kept_frames(Some("node"), stack);
        let names: Vec<_> = kept
            .iter()
            .map(|f| f.function.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["parseOrder", "handler"]);
        let only_anonymous: Vec<WireFrame> = serde_json::from_str(
            r#"[{"function":"?","in_app":true,"lineno":1},{"function":"x","in_app":false}]"#,
        )
        .unwrap();
        assert_eq!(kept_frames(Some("node"), &only_anonymous).len(), 1);
    }

    #[test]
    fn python_frames_without_in_app_skip_installed_packages() {
        let frames: Vec<WireFrame> = serde_json::from_str(
            r#"[{"function":"run","abs_path":"/usr/lib/python3/site-packages/lib.py"},
                {"function":"work","abs_path":"/srv/app/app.py"},
                {"function":"hidden","abs_path":"/srv/app/app.py","in_app":false}]"#,
        )
        .unwrap();
        let kept = kept_frames(Some("python"), &frames);
        let names: Vec<_> = kept
            .iter()
            .map(|f| f.function.as_deref().unwrap())
            .collect();
        assert_eq!(names, ["work"]);
    }

    #[test]
    fn stack_choice_order() {
        let wire: WireTest = serde_json::from_str(
            r#"{"exception":[{"type":"A","stacktrace":{"frames":[{"function":"a"}]}},
                             {"type":"B"}],
                "threads":{"values":[{"stacktrace":{"frames":[{"function":"t1"}]}},
                                     {"current":true,"stacktrace":{"frames":[{"function":"t2"}]}}]}}"#,
        )
        .unwrap();
        // The last exception *with* a stacktrace.
        assert_eq!(
            pick_stack(&wire.exception, &wire.threads, None)[0]
                .function
                .as_deref(),
            Some("a")
        );
        assert_eq!(
            pick_stack(&[], &wire.threads, None)[0].function.as_deref(),
            Some("t2")
        );
        let top: WireStacktrace = serde_json::from_str(r#"{"frames":[{"function":"s"}]}"#).unwrap();
        assert_eq!(
            pick_stack(&[], &[], Some(&top))[0].function.as_deref(),
            Some("s")
        );
        assert!(pick_stack(&[], &[], None).is_empty());
    }

    #[test]
    fn br_and_gzip_captures_are_one_group() {
        // Spec 4 check 3: same error, other event id, trace and time.
        let gzip = event_of("sentry-python-envelope-exception.decoded.txt");
        let br = event_of("sentry-python-envelope-exception-br.decoded.txt");
        assert_ne!(gzip.event_id, br.event_id);
        assert_eq!(group_key(42, &gzip), group_key(42, &br));
        assert_eq!(
            gzip.group_parts,
            [
                "ValueError",
                "__main__",
                "<module>",
                "__main__",
                "checkout",
                "__main__",
                "charge"
            ]
        );
        // Another project or environment is another group.
        assert_ne!(group_key(42, &gzip), group_key(43, &gzip));
        let mut staging = gzip.clone();
        staging.environment = Some("staging".into());
        assert_ne!(group_key(42, &gzip), group_key(42, &staging));
    }

    #[test]
    fn two_parses_give_one_key_and_line_numbers_do_not_count() {
        let payload = capture_item("sentry-python-envelope-exception.decoded.txt", "event");
        let a = event::parse(&payload).unwrap();
        let b = event::parse(&payload).unwrap();
        let key = group_key(42, &a);
        assert_eq!(key, group_key(42, &b));
        assert_eq!(key.len(), 40);
        assert!(key.bytes().all(|c| c.is_ascii_hexdigit()));
        let text = String::from_utf8(payload).unwrap();
        assert!(text.contains("\"lineno\": 24") || text.contains("\"lineno\":24"));
        let moved = text
            .replace("\"lineno\":24", "\"lineno\":31")
            .replace("\"lineno\": 24", "\"lineno\": 31");
        assert_ne!(moved, text);
        let c = event::parse(moved.as_bytes()).unwrap();
        assert_eq!(c.frames[0].line, Some(31));
        assert_eq!(group_key(42, &c), key);
        // Another function is another group.
        let renamed = text.replace("\"function\":\"charge\"", "\"function\":\"charge2\"");
        assert_ne!(renamed, text);
        assert_ne!(
            group_key(42, &event::parse(renamed.as_bytes()).unwrap()),
            key
        );
    }

    #[test]
    fn the_node_message_groups_by_its_message() {
        // Spec 4 check 7: the synthetic exception carries no type.
        let ev = event_of("sentry-node-envelope-message.decoded.txt");
        assert_eq!(ev.group_parts, ["msg", "queue depth above <int>"]);
    }

    #[test]
    fn messages_without_stack_group_by_their_template() {
        let ev = event_of("sentry-python-envelope-message.decoded.txt");
        assert_eq!(ev.group_parts, ["msg", "disk usage above <int>% on /var"]);
        let ev = event_of("sentry-python-envelope-logging-logentry.decoded.txt");
        assert_eq!(ev.group_parts, ["msg", "refund failed for order %s"]);
    }

    #[test]
    fn rust_events_group_by_their_app_frames() {
        let panic = event_of("sentry-rust-envelope-panic.txt");
        assert_eq!(
            panic.group_parts,
            ["panic", "main.rs", "rustcap::sentry_main::{{closure}}"]
        );
        let tracing = event_of("sentry-rust-envelope-tracing-error-event.txt");
        assert_eq!(
            tracing.group_parts,
            [
                "main.rs",
                "rustcap::main",
                "main.rs",
                "rustcap::sentry_main",
                "main.rs",
                "rustcap::charge_card"
            ]
        );
    }

    #[test]
    fn an_exception_without_frames_groups_by_type_and_value() {
        let ev =
            event::parse(br#"{"exception":[{"type":"Custom","value":"disk 3 full"}]}"#).unwrap();
        assert_eq!(ev.group_parts, ["Custom", "disk <int> full"]);
        let ev = event::parse(br#"{"logger":"app","transaction":"/x"}"#).unwrap();
        assert_eq!(ev.group_parts, ["app", "/x"]);
    }

    #[test]
    fn recursion_counts_once() {
        let ev = event::parse(
            br#"{"platform":"python","exception":[{"type":"RecursionError","stacktrace":{"frames":[
                {"module":"m","function":"f","lineno":1,"in_app":true},
                {"module":"m","function":"f","lineno":2,"in_app":true},
                {"module":"m","function":"f","lineno":2,"in_app":true},
                {"filename":"/srv/App.PY","function":"g","in_app":true}]}}]}"#,
        )
        .unwrap();
        assert_eq!(ev.group_parts, ["RecursionError", "m", "f", "app.py", "g"]);
    }

    #[test]
    fn the_sdk_fingerprint_wins_and_default_expands() {
        let base = event_of("sentry-python-envelope-exception.decoded.txt");
        let mut only_default = base.clone();
        only_default.fingerprint = vec![DEFAULT_FINGERPRINT.into()];
        assert_eq!(group_key(42, &only_default), group_key(42, &base));
        let mut custom = base.clone();
        custom.fingerprint = vec!["payments".into()];
        let mut custom_too = event_of("sentry-python-envelope-message.decoded.txt");
        custom_too.fingerprint = vec!["payments".into()];
        assert_eq!(group_key(42, &custom), group_key(42, &custom_too));
        assert_ne!(group_key(42, &custom), group_key(42, &base));
        let mut extended = base.clone();
        extended.fingerprint = vec![DEFAULT_FINGERPRINT.into(), "eu".into()];
        assert_ne!(group_key(42, &extended), group_key(42, &base));
        assert_ne!(group_key(42, &extended), group_key(42, &custom));
    }

    /// The wire shapes, for tests that look at the stack itself.
    #[derive(serde::Deserialize, Default)]
    #[serde(default)]
    struct WireTest {
        #[serde(deserialize_with = "crate::ingest::sentry::lenient::values")]
        exception: Vec<WireException>,
        #[serde(deserialize_with = "crate::ingest::sentry::lenient::values")]
        threads: Vec<WireThread>,
    }
}
