//! Text shared by the renderers: the wording (titles, facts, notices, link
//! labels), escaping for each markup, truncation, and the loop that fits a
//! message under a platform's size limit.
//!
//! Why one place: every platform should say the same things in the same
//! words, and every user-provided string (title, content, service, labels,
//! annotation URLs, ids) must pass through exactly one escaper for the markup
//! it lands in, so that a title such as `[click](https://evil)` or
//! `<at user_id="all">` stays text on every platform.
//!
//! Truncation never splits a character nor an escape sequence, and always
//! leaves a visible [`TRUNCATED`] marker.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{ActionLinks, Item, Locale, Look, Message, Tone};
use crate::config::oncall::PersonConfig;
use crate::domain::Severity;
use crate::engine::NoticeKind;
use crate::store::AlertRecord;

/// Appended wherever text was cut.
pub const TRUNCATED: &str = "…truncated";

/// Most characters of a user-provided field (title, service, label, id)
/// before the size budget starts shrinking them.
pub const FIELD_MAX: usize = 512;

/// URLs longer than this are not shown as links.
pub const URL_MAX: usize = 2048;

/// How a length limit is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// UTF-8 bytes (DingTalk, WeCom, Feishu request sizes).
    Bytes,
    /// Unicode scalar values (Slack's "characters").
    Chars,
}

impl Unit {
    pub fn of(self, s: &str) -> usize {
        match self {
            Self::Bytes => s.len(),
            Self::Chars => s.chars().count(),
        }
    }
}

/// How one character is written in some markup: `None` keeps it, `Some`
/// replaces it (possibly with nothing). `next` is the following character;
/// `line_start` is true when only spaces and tabs precede `c` on its line.
pub type Escape = fn(c: char, next: Option<char>, line_start: bool) -> Option<&'static str>;

/// `s` escaped with `esc`, whole.
pub fn escape(s: &str, esc: Escape) -> String {
    clip(s, esc, usize::MAX, Unit::Bytes)
}

/// `s` escaped with `esc`, at most `max` units long (counted on the escaped
/// output). When it does not fit, it is cut before a source character (never
/// inside an escape) and [`TRUNCATED`] is appended, within `max`.
pub fn clip(s: &str, esc: Escape, max: usize, unit: Unit) -> String {
    let suffix = unit.of(TRUNCATED);
    let mut out = String::with_capacity(s.len().min(max.saturating_mul(4)).min(1 << 16));
    let mut used = 0usize;
    // Where the output is cut if the whole does not fit.
    let mut cut: Option<usize> = None;
    let mut line_start = true;
    let mut chars = s.chars().peekable();
    let mut buf = [0u8; 4];
    while let Some(c) = chars.next() {
        let piece: &str = match esc(c, chars.peek().copied(), line_start) {
            Some(p) => p,
            None => c.encode_utf8(&mut buf),
        };
        let n = unit.of(piece);
        if cut.is_none() && used + n > max.saturating_sub(suffix) {
            cut = Some(out.len());
        }
        if used + n > max {
            out.truncate(cut.unwrap_or(0));
            if suffix <= max {
                out.push_str(TRUNCATED);
            }
            return out;
        }
        out.push_str(piece);
        used += n;
        line_start = match c {
            '\n' => true,
            ' ' | '\t' => line_start,
            _ => false,
        };
    }
    out
}

/// `s` escaped with `esc`, keeping at most `max` bytes of the source (cut on a
/// char boundary, then [`TRUNCATED`]). The size budget counts content this
/// way: each source byte dropped shrinks the output by at least as much.
pub fn clip_source(s: &str, esc: Escape, max: usize) -> String {
    if s.len() <= max {
        return escape(s, esc);
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = escape(&s[..end], esc);
    out.push_str(TRUNCATED);
    out
}

// ---- escapers ------------------------------------------------------------

/// Line breaks, tabs and invisible characters, the same in every markup.
/// Control characters and bidi overrides (which can make text read
/// differently from what it is) are dropped.
fn layout(c: char, inline: bool, newline: &'static str) -> Option<&'static str> {
    match c {
        '\n' => Some(if inline { " " } else { newline }),
        '\t' => Some(" "),
        c if crate::domain::human::is_invisible(c) => Some(""),
        _ => None,
    }
}

/// Markdown metacharacters as numeric character references, which Feishu
/// documents for its card markdown and CommonMark renderers (DingTalk
/// documents `&nbsp;`) decode as literal text. `&` is escaped only when it
/// could start a reference; `-`, `+` and `=` only at a line start (lists,
/// rules, setext headings).
fn md_entity(c: char, next: Option<char>, line_start: bool) -> Option<&'static str> {
    Some(match c {
        '\\' => "&#92;",
        '`' => "&#96;",
        '*' => "&#42;",
        '_' => "&#95;",
        '[' => "&#91;",
        ']' => "&#93;",
        '(' => "&#40;",
        ')' => "&#41;",
        '<' => "&#60;",
        '>' => "&#62;",
        '#' => "&#35;",
        '&' if next.is_some_and(|n| n == '#' || n.is_ascii_alphabetic()) => "&#38;",
        '-' if line_start => "&#45;",
        '+' if line_start => "&#43;",
        '=' if line_start => "&#61;",
        _ => return None,
    })
}

/// Feishu/DingTalk markdown, one line (newlines become spaces).
pub fn md_inline(c: char, next: Option<char>, line_start: bool) -> Option<&'static str> {
    layout(c, true, "").or_else(|| md_entity(c, next, line_start))
}

/// Feishu markdown, keeping line breaks.
pub fn md_block(c: char, next: Option<char>, line_start: bool) -> Option<&'static str> {
    layout(c, false, "\n").or_else(|| md_entity(c, next, line_start))
}

/// DingTalk markdown, keeping line breaks as hard breaks (two spaces before
/// the newline, as DingTalk's FAQ asks).
pub fn md_block_hard(c: char, next: Option<char>, line_start: bool) -> Option<&'static str> {
    layout(c, false, "  \n").or_else(|| md_entity(c, next, line_start))
}

/// WeCom markdown metacharacters replaced by full-width look-alikes. WeCom
/// documents no escape mechanism for its markdown (neither backslashes nor
/// character references), so the characters that open markup (`<font>`,
/// `<@userid>`, links, code, bold, quotes, headings) are replaced instead.
fn wecom_sub(c: char, _next: Option<char>, line_start: bool) -> Option<&'static str> {
    Some(match c {
        '<' => "＜",
        '>' => "＞",
        '[' => "［",
        ']' => "］",
        '`' => "｀",
        '*' => "＊",
        '&' => "＆",
        '#' if line_start => "＃",
        _ => return None,
    })
}

/// WeCom markdown, one line.
pub fn wecom_inline(c: char, next: Option<char>, line_start: bool) -> Option<&'static str> {
    layout(c, true, "").or_else(|| wecom_sub(c, next, line_start))
}

/// WeCom markdown, keeping line breaks.
pub fn wecom_block(c: char, next: Option<char>, line_start: bool) -> Option<&'static str> {
    layout(c, false, "\n").or_else(|| wecom_sub(c, next, line_start))
}

/// Slack mrkdwn: only `&`, `<` and `>` are control characters.
fn slack_entity(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        _ => return None,
    })
}

/// Slack mrkdwn, one line.
pub fn slack_inline(c: char, _next: Option<char>, _line_start: bool) -> Option<&'static str> {
    layout(c, true, "").or_else(|| slack_entity(c))
}

/// Slack mrkdwn, keeping line breaks.
pub fn slack_block(c: char, _next: Option<char>, _line_start: bool) -> Option<&'static str> {
    layout(c, false, "\n").or_else(|| slack_entity(c))
}

fn html_entity(c: char) -> Option<&'static str> {
    Some(match c {
        '&' => "&amp;",
        '<' => "&lt;",
        '>' => "&gt;",
        '"' => "&quot;",
        '\'' => "&#39;",
        _ => return None,
    })
}

/// HTML text or attribute value, one line.
pub fn html_inline(c: char, _next: Option<char>, _line_start: bool) -> Option<&'static str> {
    layout(c, true, "").or_else(|| html_entity(c))
}

/// HTML text keeping line breaks (for `<pre>`).
pub fn html_block(c: char, _next: Option<char>, _line_start: bool) -> Option<&'static str> {
    layout(c, false, "\n").or_else(|| html_entity(c))
}

/// Plain text (headers, titles, buttons): one line, no invisible characters.
pub fn plain_inline(c: char, _next: Option<char>, _line_start: bool) -> Option<&'static str> {
    layout(c, true, "")
}

/// Plain text keeping line breaks.
pub fn plain_block(c: char, _next: Option<char>, _line_start: bool) -> Option<&'static str> {
    layout(c, false, "\n")
}

/// A chat reply as a Feishu `text` message: Feishu turns
/// `<at user_id="all">` in that text into a mention of everyone, so every
/// `<` becomes the full-width `＜` (U+FF1C), which reads the same and is
/// never markup. Invisible characters are dropped, lines kept.
pub fn feishu_text(s: &str) -> String {
    escape(s, |c, _, _| match c {
        '<' => Some("\u{FF1C}"),
        _ => layout(c, false, "\n"),
    })
}

/// A chat reply as WeCom text: `<@userid>` is WeCom's mention syntax, so
/// `<` becomes `＜` there too.
pub fn wecom_text(s: &str) -> String {
    feishu_text(s)
}

/// A chat reply as DingTalk text: a mention there needs the message's `at`
/// field (which replies never carry), so `@…` in the text stays text; only
/// invisible characters are dropped.
pub fn dingtalk_text(s: &str) -> String {
    escape(s, plain_block)
}

/// `s` as one line of plain text, at most `max` characters.
pub fn plain(s: &str, max: usize) -> String {
    clip(s, plain_inline, max, Unit::Chars)
}

/// An `http(s)` URL safe to put in any markup's link syntax: other schemes
/// (`javascript:`, `file:`...) and over-long URLs are refused; characters that
/// could close a link or open markup (`()[]<>"'|\` spaces, non-ASCII...) are
/// percent-encoded.
pub fn safe_url(s: &str) -> Option<String> {
    let s = s.trim();
    let scheme_ok = ["https://", "http://"]
        .iter()
        .any(|p| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p)));
    if !scheme_ok || s.len() > URL_MAX || s.chars().any(char::is_control) {
        return None;
    }
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            'A'..='Z' | 'a'..='z' | '0'..='9' => out.push(c),
            '-' | '.' | '_' | '~' | ':' | '/' | '?' | '#' | '@' | '!' | '$' | '&' | '+' | ','
            | ';' | '=' | '%' | '*' => out.push(c),
            _ => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("%{b:02X}"));
                }
            }
        }
    }
    // A host is required.
    let rest = &out[out.find("//").map_or(0, |i| i + 2)..];
    if rest.is_empty() || rest.starts_with(['/', '?', '#']) {
        return None;
    }
    Some(out)
}

// ---- wording ---------------------------------------------------------------

/// `2026-11-22 10:00:00 UTC`, or in the cards' time zone with its
/// abbreviation (`2026-11-22 18:00:00 CST` in Asia/Shanghai).
pub fn time(t: DateTime<Utc>, tz: Tz) -> String {
    if tz == Tz::UTC {
        t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
    } else {
        t.with_timezone(&tz)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string()
    }
}

/// The colour family, also for an (invalid) empty message.
pub fn tone(msg: &Message) -> Tone {
    if msg.items.is_empty() {
        return if msg.kind == NoticeKind::Resolved {
            Tone::Green
        } else {
            Tone::Blue
        };
    }
    msg.tone()
}

/// `RESOLVED`, or the headline alert's severity in capitals.
pub fn tag(msg: &Message) -> String {
    match (msg.kind, msg.items.first()) {
        (NoticeKind::Resolved, _) => "RESOLVED".to_string(),
        // A follow-up says what the alert is now.
        (NoticeKind::Update, Some(item)) => item.alert.state.to_ascii_uppercase(),
        (_, Some(item)) => item.alert.severity.as_str().to_ascii_uppercase(),
        (_, None) => "ALERT".to_string(),
    }
}

/// The headline severity, lower case (`critical`).
pub fn severity(msg: &Message) -> &'static str {
    msg.items
        .first()
        .map_or(Severity::Info.as_str(), |i| i.alert.severity.as_str())
}

/// The service, when set and not blank.
pub fn service(a: &AlertRecord) -> Option<&str> {
    a.service.as_deref().filter(|s| !s.trim().is_empty())
}

/// The title every platform shows, as plain text:
/// `[CRITICAL] Payment DB unreachable (payment)`, `[RESOLVED] …`, and
/// ` +N more` for a group. Title and service are at most `field` characters.
pub fn subject(msg: &Message, field: usize) -> String {
    let mut s = format!("[{}] ", tag(msg));
    match msg.items.first() {
        Some(item) => {
            s.push_str(&plain(&item.alert.title, field));
            if let Some(svc) = service(&item.alert) {
                s.push_str(&format!(" ({})", plain(svc, field)));
            }
        }
        None => s.push_str("no alerts"),
    }
    let others = msg.items.len().saturating_sub(1) + msg.omitted;
    if others > 0 {
        s.push_str(&msg.look.locale.plus_more(others));
    }
    s
}

/// What this kind of notice adds to the alert's own facts.
pub fn notice(msg: &Message) -> Option<String> {
    let l = msg.look.locale;
    let base = match msg.kind {
        NoticeKind::Aggregated => Some(l.occurrences(msg.occurrences)),
        NoticeKind::Repeat => Some(l.words().reminder.to_string()),
        NoticeKind::Update => msg.items.first().map(|i| update_line(&i.alert, msg.look)),
        NoticeKind::Escalation => Some(l.words().escalated.to_string()),
        NoticeKind::Resolved => match msg.items.as_slice() {
            [item] => fired_for(&item.alert).map(|d| l.resolved_after(&d)),
            _ => None,
        },
        NoticeKind::Firing | NoticeKind::Page => None,
    };
    match (base, &msg.audience.next) {
        (Some(b), Some(n)) => Some(format!("{b} · {n}")),
        (None, Some(n)) => Some(n.clone()),
        (b, None) => b,
    }
}

/// The ids a platform @-mentions people by, for those who have one; ids
/// with anything but letters, digits and `_-.@` are left out (they are
/// written into markup).
pub fn mention_ids(msg: &Message, id: fn(&PersonConfig) -> Option<&str>) -> Vec<String> {
    msg.audience
        .mentions
        .iter()
        .filter_map(id)
        .filter(|s| {
            !s.is_empty()
                && s.len() <= 64
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.@".contains(&b))
        })
        .map(str::to_string)
        .collect()
}

pub fn feishu_id(p: &PersonConfig) -> Option<&str> {
    p.feishu_open_id.as_deref()
}

pub fn dingtalk_user(p: &PersonConfig) -> Option<&str> {
    p.dingtalk_user_id.as_deref()
}

pub fn wecom_user(p: &PersonConfig) -> Option<&str> {
    p.wecom_user_id.as_deref()
}

/// A phone number as DingTalk's `atMobiles` takes it: mainland numbers
/// without `+86`, others without `+`.
pub fn dingtalk_mobile(p: &PersonConfig) -> Option<&str> {
    let phone = p.phone.as_deref()?;
    Some(
        phone
            .strip_prefix("+86")
            .unwrap_or_else(|| phone.trim_start_matches('+')),
    )
}

/// What a person did, as a follow-up shows it.
fn update_line(a: &AlertRecord, look: Look) -> String {
    let l = look.locale;
    let w = l.words();
    // "Acknowledged" / "已确认": the state word, capitalised in English.
    let said = |state: &str| {
        let word = l.state(state);
        let mut c = word.chars();
        c.next()
            .map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
    };
    match (a.state, &a.acked_by, a.silenced_until) {
        ("acknowledged", Some(by), _) => format!(
            "{} {} {by}{}",
            said("acknowledged"),
            w.by,
            a.acked_at
                .map(|t| format!(" · {}", time(t, look.tz)))
                .unwrap_or_default()
        ),
        ("silenced", _, Some(until)) => format!("{} {}", w.silenced_until, time(until, look.tz)),
        ("resolved", _, _) => said("resolved"),
        ("firing", _, _) => w.fired_again.to_string(),
        (state, _, _) => format!("{} {}", w.now_state, l.state(state)),
    }
}

/// How many of the `shown` items get a group's full row: all, except in a
/// digest, whose later items get a [`compact`] line each.
pub fn detailed(msg: &Message, shown: usize) -> usize {
    msg.digest.as_ref().map_or(shown, |d| d.detailed.min(shown))
}

/// The link of a digest's "N more alerts" line, safe for any markup.
pub fn more_url(msg: &Message) -> Option<String> {
    msg.digest
        .as_ref()
        .and_then(|d| d.more_url.as_deref())
        .and_then(safe_url)
}

/// Room for a [`compact`] line's `[SEVERITY]` tag after escaping: the
/// markdown renderers escape its brackets (`&#91;CRITICAL&#93;`, 18
/// characters), which a limit of the raw tag's size cut to `&#91;W…`.
pub const TAG_MAX: usize = 32;

/// One alert of a digest in one line (raw, unescaped): `[SEVERITY]`, the
/// title, then the service, the state unless firing, and the short id.
pub fn compact(a: &AlertRecord) -> (String, String, Vec<String>) {
    let tag = format!("[{}]", a.severity.as_str().to_ascii_uppercase());
    let mut rest = Vec::new();
    if let Some(s) = service(a) {
        rest.push(s.to_string());
    }
    if a.state != "firing" {
        rest.push(a.state.to_string());
    }
    rest.push(a.id.chars().take(8).collect());
    (tag, a.title.clone(), rest)
}

/// `3 alerts` (all of a group, listed or not).
pub fn count_alerts(msg: &Message) -> String {
    msg.look.locale.alerts(msg.items.len() + msg.omitted)
}

/// The facts of one alert, name and raw (unescaped) value, in display order.
pub fn facts(a: &AlertRecord, look: Look) -> Vec<(&'static str, String)> {
    let (w, l, tz) = (look.locale.words(), look.locale, look.tz);
    let mut v = vec![(w.severity, a.severity.as_str().to_string())];
    if let Some(s) = service(a) {
        v.push((w.service, s.to_string()));
    }
    let state = match (&a.acked_by, a.acked_at) {
        (Some(by), Some(at)) => format!("{} {} {by} · {}", l.state(a.state), w.by, time(at, tz)),
        (Some(by), None) => format!("{} {} {by}", l.state(a.state), w.by),
        _ => l.state(a.state).to_string(),
    };
    v.push((w.state, state));
    // What a Grafana rule's queries gave when it fired.
    if let Some(values) = a
        .annotations
        .get("values")
        .or_else(|| a.annotations.get("value_string"))
        .filter(|v| !v.trim().is_empty())
    {
        v.push((w.values, crate::domain::labels::cut(values, 200)));
    }
    v.push((w.first_seen, time(a.first_seen, tz)));
    v.push((w.last_seen, time(a.last_seen, tz)));
    v.push((w.occurrences, a.count.to_string()));
    if let Some(t) = a.resolved_at {
        let after = fired_for(a)
            .map(|d| format!(" · {} {d}", w.after))
            .unwrap_or_default();
        v.push((w.resolved_at, format!("{}{after}", time(t, tz))));
    }
    if let Some(t) = a.silenced_until {
        v.push((w.silenced_until, time(t, tz)));
    }
    if let Some(id) = &a.trace_id {
        v.push((w.trace_id, id.clone()));
    }
    if let Some(id) = &a.request_id {
        v.push((w.request_id, id.clone()));
    }
    v
}

/// How long a resolved alert fired: from the start of its last firing (the
/// sender's `startsAt`, else when ackbot saw it fire) to its resolution.
pub fn fired_for(a: &AlertRecord) -> Option<String> {
    let end = a.resolved_at?;
    let secs = (end - a.starts_at.unwrap_or(a.first_seen)).num_seconds();
    (secs >= 0).then(|| crate::engine::streak::human_duration(secs))
}

/// One alert of a group in a few words (raw): severity, service, state,
/// count, last seen.
pub fn brief(a: &AlertRecord, look: Look) -> Vec<String> {
    let mut v = vec![a.severity.as_str().to_string()];
    if let Some(s) = service(a) {
        v.push(s.to_string());
    }
    v.push(look.locale.state(a.state).to_string());
    v.push(format!("×{}", a.count));
    v.push(look.locale.last_seen_at(&time(a.last_seen, look.tz)));
    v
}

/// Annotation keys shown as links, in order, with their labels.
pub const LINK_KEYS: [(&str, &str); 9] = [
    ("run_url", "Pipeline run"),
    ("runbook_url", "Runbook"),
    ("runbook", "Runbook"),
    ("dashboard_url", "Dashboard"),
    ("dashboard", "Dashboard"),
    ("generator_url", "Source"),
    ("panel_url", "Panel"),
    ("silence_url", "Silence at source"),
    ("image_url", "Panel image"),
];

/// A [`LINK_KEYS`] label in a card's language.
fn link_label(label: &'static str, locale: Locale) -> &'static str {
    let w = locale.words();
    match label {
        "Pipeline run" => w.pipeline_run,
        "Runbook" => w.runbook,
        "Dashboard" => w.dashboard,
        "Source" => w.source,
        "Panel" => w.panel,
        "Silence at source" => w.silence_at_source,
        "Panel image" => w.panel_image,
        other => other,
    }
}

/// A Grafana panel image to show in the card, where the platform shows
/// images from a URL (DingTalk markdown, Slack, email); the others link it.
pub fn image_url(a: &AlertRecord) -> Option<String> {
    a.annotations.get("image_url").and_then(safe_url)
}

/// The annotation links present, as (label, safe URL), without duplicates.
pub fn annotation_links(a: &AlertRecord) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for (key, label) in LINK_KEYS {
        if let Some(url) = a.annotations.get(key).and_then(safe_url)
            && !out.iter().any(|(_, u)| *u == url)
        {
            out.push((label, url));
        }
    }
    out
}

/// The links a card shows for an item: its annotations' (runbook,
/// dashboard, …), then its console page.
pub fn item_links(item: &Item, locale: Locale) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = annotation_links(&item.alert)
        .into_iter()
        .map(|(label, url)| (link_label(label, locale), url))
        .collect();
    if let Some(url) = item.console.as_deref().and_then(safe_url) {
        out.push((locale.words().details, url));
    }
    out
}

/// A follow-up after a person acted: the title and what changed, nothing
/// more (the card it follows has the rest).
pub fn follow_up(msg: &Message) -> bool {
    msg.kind == NoticeKind::Update
}

/// The action links of an item, unless the notice is about a resolution
/// (nothing left to act on) or is a follow-up (its buttons would offer what
/// was just done; the card it follows still has them).
pub fn action_links<'a>(msg: &Message, item: &'a Item) -> Option<&'a ActionLinks> {
    if msg.kind == NoticeKind::Resolved || follow_up(msg) {
        return None;
    }
    item.links.as_ref()
}

// ---- size budget -----------------------------------------------------------

/// How much of a message a renderer shows. [`fit`] shrinks it until the
/// output is under the platform's limit: content first, then listed alerts,
/// then the other fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Source bytes of an alert's content shown (see [`clip_source`]).
    pub content: usize,
    /// Alerts listed; the others count as omitted.
    pub listed: usize,
    /// Characters of any other user-provided field.
    pub field: usize,
    /// Labels shown per alert.
    pub labels: usize,
    /// Whether annotation links are shown.
    pub links: bool,
    /// Whether an alert's facts (severity, service, …) are shown: not on a
    /// follow-up, which says only what changed.
    pub facts: bool,
    /// Time zone and words ([`Message::look`]).
    pub look: Look,
}

impl Budget {
    /// Everything, except: at most `max_listed` alerts, and for a group at
    /// most `excerpt` bytes of each alert's content.
    /// A digest lists every item it has, as many as fit.
    pub fn start(msg: &Message, max_listed: usize, excerpt: usize) -> Self {
        let longest = msg
            .items
            .iter()
            .map(|i| i.alert.content.len())
            .max()
            .unwrap_or(0);
        Self {
            content: if follow_up(msg) {
                0
            } else if msg.items.len() == 1 {
                longest
            } else {
                longest.min(excerpt)
            },
            listed: if msg.digest.is_some() {
                msg.items.len().max(1)
            } else {
                msg.items.len().min(max_listed.max(1))
            },
            field: FIELD_MAX,
            labels: if follow_up(msg) { 0 } else { usize::MAX },
            links: !follow_up(msg),
            facts: !follow_up(msg),
            look: msg.look,
        }
    }

    /// The alerts listed, and how many more the message stands for.
    pub fn shown<'a>(&self, msg: &'a Message) -> (&'a [Item], usize) {
        let n = self.listed.min(msg.items.len());
        (&msg.items[..n], msg.omitted + (msg.items.len() - n))
    }
}

/// Renders with `start`, then with smaller budgets until `size` of the
/// output is at most `limit`: first the most content that fits (found by
/// bisection, so escaping that inflates the content does not make it cut
/// more than needed), then fewer listed alerts, shorter fields, fewer labels,
/// no annotation links. Never fails: the smallest budget's output is returned
/// even if it is still too large (only possible with absurd action URLs,
/// which come from configuration).
pub fn fit<T>(
    start: Budget,
    limit: usize,
    mut render: impl FnMut(&Budget) -> T,
    size: impl Fn(&T) -> usize,
) -> T {
    let mut b = start;
    let out = render(&b);
    if size(&out) <= limit {
        return out;
    }
    if b.content > 0 {
        b.content = 0;
        let none = render(&b);
        if size(&none) <= limit {
            // `lo` fits, `hi` does not.
            let (mut lo, mut hi, mut best) = (0, start.content, none);
            while hi - lo > 16 {
                b.content = lo + (hi - lo) / 2;
                let out = render(&b);
                if size(&out) <= limit {
                    lo = b.content;
                    best = out;
                } else {
                    hi = b.content;
                }
            }
            return best;
        }
    }
    if b.listed > 1 {
        // Fewer listed alerts: the most that fit, by bisection (a digest
        // may list hundreds). `lo` fits or is 1, `hi` does not fit.
        let (mut lo, mut hi) = (1, b.listed);
        let mut best = None;
        while hi - lo > 1 {
            b.listed = lo + (hi - lo) / 2;
            let out = render(&b);
            if size(&out) <= limit {
                lo = b.listed;
                best = Some(out);
            } else {
                hi = b.listed;
            }
        }
        b.listed = lo;
        if let Some(out) = best {
            return out;
        }
        let out = render(&b);
        if size(&out) <= limit {
            return out;
        }
    }
    loop {
        if b.field > 32 {
            b.field /= 2;
        } else if b.labels > 0 {
            b.labels = if b.labels == usize::MAX {
                16
            } else {
                b.labels / 2
            };
        } else if b.links {
            b.links = false;
        } else {
            return render(&b);
        }
        let out = render(&b);
        if size(&out) <= limit {
            return out;
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    //! Alerts and messages for the renderers' tests.

    use chrono::{DateTime, TimeZone, Utc};

    use super::super::{ActionLinks, Item, Message};
    use crate::domain::Severity;
    use crate::domain::labels::test_labels;
    use crate::engine::NoticeKind;
    use crate::store::AlertRecord;

    pub fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 22, h, m, s).unwrap()
    }

    /// A firing alert with labels, a runbook and a dashboard.
    pub fn alert(id: &str, title: &str, severity: Severity) -> AlertRecord {
        AlertRecord {
            id: id.to_string(),
            fingerprint: format!("fp-{id}"),
            title: title.to_string(),
            content: "Connection refused on db-1:5432".to_string(),
            severity,
            service: Some("payment".to_string()),
            labels: test_labels(&[("env", "prod"), ("team", "db")]),
            annotations: test_labels(&[
                ("runbook_url", "https://runbooks.example.com/db"),
                ("dashboard", "https://grafana.example.com/d/db?from=now-1h"),
            ]),
            state: "firing",
            acked_by: None,
            acked_at: None,
            silenced_until: None,
            count: 3,
            first_seen: at(10, 0, 0),
            last_seen: at(10, 4, 30),
            trace_id: Some("trace-abc".to_string()),
            request_id: None,
            starts_at: None,
            resolved_at: None,
            inhibited_by: None,
        }
    }

    /// The resolved form of [`alert`].
    pub fn resolved(mut a: AlertRecord) -> AlertRecord {
        a.state = "resolved";
        a.resolved_at = Some(at(10, 30, 0));
        a
    }

    pub fn links(id: &str) -> ActionLinks {
        ActionLinks {
            ack: format!("https://ackbot.example.com/a/ack-{id}"),
            silence: format!("https://ackbot.example.com/a/silence-{id}"),
            resolve: format!("https://ackbot.example.com/a/resolve-{id}"),
        }
    }

    pub fn item(alert: AlertRecord, linked: bool) -> Item {
        let links = linked.then(|| links(&alert.id));
        Item {
            alert,
            links,
            console: None,
        }
    }

    pub fn compose(kind: NoticeKind, items: Vec<Item>) -> Message {
        Message {
            kind,
            items,
            omitted: 0,
            digest: None,
            occurrences: 0,
            now: at(10, 5, 0),
            audience: Default::default(),
            look: super::super::Look::default(),
        }
    }

    /// Li Lei as every platform knows him, and someone whose ids would
    /// break markup (left out).
    pub fn mentioned(mut msg: Message) -> Message {
        let li = crate::config::oncall::PersonConfig {
            name: "Li Lei".into(),
            phone: Some("+8613800000001".into()),
            email: None,
            feishu_open_id: Some("ou_7d8a6e6df7621556ce0d21922b676706".into()),
            dingtalk_user_id: Some("lilei".into()),
            wecom_user_id: Some("LiLei".into()),
        };
        let bad = crate::config::oncall::PersonConfig {
            name: "Mallory".into(),
            phone: Some("+15005550006".into()),
            email: None,
            feishu_open_id: Some("ou_x></at><at id=all".into()),
            dingtalk_user_id: Some("a b".into()),
            wecom_user_id: Some("x>\n<@all".into()),
        };
        msg.audience.mentions = vec![li, bad];
        msg.audience.next = Some(
            "Escalates to Li Lei by SMS at 2026-11-22 10:10:00 UTC unless acknowledged".into(),
        );
        msg
    }

    /// "Payment DB unreachable", critical, firing, with links.
    pub fn critical() -> Message {
        compose(
            NoticeKind::Firing,
            vec![item(
                alert("A-42", "Payment DB unreachable", Severity::Critical),
                true,
            )],
        )
    }

    pub fn resolved_msg() -> Message {
        compose(
            NoticeKind::Resolved,
            vec![item(
                resolved(alert("A-42", "Payment DB unreachable", Severity::Critical)),
                true,
            )],
        )
    }

    pub fn aggregated() -> Message {
        let mut m = compose(
            NoticeKind::Aggregated,
            vec![item(
                alert("A-7", "Checkout latency high", Severity::Warning),
                true,
            )],
        );
        m.occurrences = 57;
        m
    }

    /// Three listed alerts (A-1..A-3) and five omitted.
    pub fn group3() -> Message {
        let items = (1..=3)
            .map(|i| {
                item(
                    alert(
                        &format!("A-{i}"),
                        &format!("Disk full on node-{i}"),
                        Severity::Error,
                    ),
                    true,
                )
            })
            .collect();
        let mut m = compose(NoticeKind::Firing, items);
        m.omitted = 5;
        m
    }

    /// [`critical`] as Grafana sends it: the query values and a panel image.
    pub fn grafana() -> Message {
        let mut m = critical();
        let a = &mut m.items[0].alert;
        let mut pairs: Vec<(String, String)> = a
            .annotations
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        pairs.push(("values".into(), "A=12, C=0.5".into()));
        pairs.push((
            "image_url".into(),
            "https://grafana.example.com/render/panel.png".into(),
        ));
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        a.annotations = test_labels(&refs);
        m
    }

    /// `msg` as a Chinese team reads it: zh-CN words, Asia/Shanghai times.
    pub fn chinese(mut msg: Message) -> Message {
        msg.look = super::super::Look {
            tz: chrono_tz::Asia::Shanghai,
            locale: super::super::Locale::Zh,
        };
        msg
    }

    /// The follow-up after Li Lei acknowledged [`critical`]'s alert.
    pub fn acked_follow_up() -> Message {
        let mut m = critical();
        m.kind = NoticeKind::Update;
        let a = &mut m.items[0].alert;
        a.state = "acknowledged";
        a.acked_by = Some("Li Lei".into());
        a.acked_at = Some(at(10, 42, 0));
        m
    }

    /// A digest of `n` warnings, the first three detailed, with its "see
    /// all" link.
    pub fn digest(n: usize) -> Message {
        let items = (0..n)
            .map(|i| {
                item(
                    alert(
                        &format!("D-{i}"),
                        &format!("Queue {i} slow"),
                        Severity::Warning,
                    ),
                    true,
                )
            })
            .collect();
        let mut m = compose(NoticeKind::Firing, items);
        m.omitted = 40;
        m.digest = Some(super::super::Digest {
            detailed: 3,
            more_url: Some("https://ackbot.example.com/ui/alerts?state=firing".into()),
        });
        m
    }

    /// [`critical`] with 100 KB of content.
    pub fn huge() -> Message {
        let mut m = critical();
        m.items[0].alert.content = "stack frame é [x](y) <b>\n".repeat(4000);
        m
    }

    /// A group of `n` alerts, each with 16 KB of content.
    pub fn huge_group(n: usize) -> Message {
        let items = (0..n)
            .map(|i| {
                let mut a = alert(&format!("A-{i}"), &format!("Alert {i}"), Severity::Critical);
                a.content = "x".repeat(16 * 1024);
                item(a, true)
            })
            .collect();
        compose(NoticeKind::Firing, items)
    }

    /// Titles that try to add links, mentions or markup.
    pub const EVIL_TITLES: [&str; 4] = [
        "[click](https://evil.example)",
        "<at user_id=\"all\">everyone</at>",
        "<!channel> <https://evil.example|click>",
        "**bold** `code` <font color=\"red\">x</font> <@all>",
    ];

    /// [`critical`] with a hostile title, service, label and content.
    pub fn evil(title: &str) -> Message {
        let mut m = critical();
        let a = &mut m.items[0].alert;
        a.title = title.to_string();
        a.service = Some("svc](https://evil.example)".to_string());
        a.content = format!("{title}\n# heading\n- list\n> quote");
        a.labels = test_labels(&[("x", "<at id=all></at> [y](https://evil.example)")]);
        a.annotations = test_labels(&[
            ("runbook_url", "javascript:alert(1)"),
            ("dashboard_url", "https://ok.example/d?q=a)(b[c]<d>|e\"f'g"),
        ]);
        m
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::fixtures::*;
    use super::*;

    #[test]
    fn clip_keeps_whole_text_that_fits() {
        assert_eq!(clip("a*b", md_inline, 100, Unit::Bytes), "a&#42;b");
        assert_eq!(clip("", md_inline, 0, Unit::Bytes), "");
        assert_eq!(clip("abc", plain_inline, 3, Unit::Chars), "abc");
    }

    #[test]
    fn clip_cuts_before_an_escape_and_marks_it() {
        let out = clip("ab*cdefghijklmnop", md_inline, 16, Unit::Bytes);
        // "ab" + "&#42;" would be 7, + marker (12 bytes) is 19 > 16: cut after "ab".
        assert_eq!(out, "ab…truncated");
        assert!(out.len() <= 16);
        let out = clip("ééééééééééééééé", plain_inline, 13, Unit::Chars);
        assert_eq!(out, "ééé…truncated");
        assert_eq!(out.chars().count(), 13);
    }

    #[test]
    fn clip_source_cuts_on_a_char_boundary() {
        assert_eq!(clip_source("éé", plain_inline, 3), "é…truncated");
        assert_eq!(clip_source("é", plain_inline, 0), "…truncated");
        assert_eq!(clip_source("ab", plain_inline, 2), "ab");
    }

    #[test]
    fn markdown_escapes_links_mentions_and_line_starts() {
        let out = escape("[x](https://e) <at id=all> *b* _i_ `c` #h \\", md_inline);
        for bad in ["[", "]", "(", ")", "<", ">", "*", "_", "`", "\\"] {
            assert!(!out.contains(bad), "{bad} in {out}");
        }
        assert_eq!(escape("a #b", md_inline), "a &#35;b");
        assert_eq!(
            escape("- a\n  + b\nc-d", md_block),
            "&#45; a\n  &#43; b\nc-d"
        );
        assert_eq!(escape("a & b &lt;", md_inline), "a & b &#38;lt;");
        assert_eq!(escape("a\r\nb", md_block_hard), "a  \nb");
        assert_eq!(escape("a\nb\u{202E}c\u{7}", md_inline), "a bc");
    }

    #[test]
    fn other_escapers() {
        assert_eq!(
            escape("<!channel> & <x|y>", slack_inline),
            "&lt;!channel&gt; &amp; &lt;x|y&gt;"
        );
        assert_eq!(
            escape("<a href=\"x\">'", html_inline),
            "&lt;a href=&quot;x&quot;&gt;&#39;"
        );
        assert_eq!(
            escape("<@all> [l](u) **b**", wecom_inline),
            "＜@all＞ ［l］(u) ＊＊b＊＊"
        );
        assert_eq!(escape("# h\na#b", wecom_block), "＃ h\na#b");
    }

    #[test]
    fn urls_are_http_only_and_cannot_close_a_link() {
        assert_eq!(safe_url("javascript:alert(1)"), None);
        assert_eq!(safe_url("HTTPS://"), None);
        assert_eq!(safe_url("ftp://x"), None);
        assert_eq!(safe_url("https://a.example/\nb"), None);
        assert_eq!(
            safe_url(" https://a.example/p?q=(x)[y]<z>|\"' é ").as_deref(),
            Some("https://a.example/p?q=%28x%29%5By%5D%3Cz%3E%7C%22%27%20%C3%A9")
        );
        assert_eq!(
            safe_url("HTTP://a.example/x_y-z~1?a=1&b=2#f").as_deref(),
            Some("HTTP://a.example/x_y-z~1?a=1&b=2#f")
        );
        assert_eq!(
            safe_url(&format!("https://a.example/{}", "x".repeat(URL_MAX))),
            None
        );
    }

    #[test]
    fn wording() {
        let m = critical();
        assert_eq!(
            subject(&m, FIELD_MAX),
            "[CRITICAL] Payment DB unreachable (payment)"
        );
        assert_eq!(
            subject(&resolved_msg(), FIELD_MAX),
            "[RESOLVED] Payment DB unreachable (payment)"
        );
        assert_eq!(
            subject(&group3(), FIELD_MAX),
            "[ERROR] Disk full on node-1 (payment) +7 more"
        );
        assert_eq!(time(at(10, 0, 0), Tz::UTC), "2026-11-22 10:00:00 UTC");
        assert_eq!(
            time(at(10, 0, 0), chrono_tz::Asia::Shanghai),
            "2026-11-22 18:00:00 CST"
        );
        assert_eq!(
            time(at(10, 0, 0), chrono_tz::America::New_York),
            "2026-11-22 05:00:00 EST"
        );
        assert_eq!(
            notice(&aggregated()).as_deref(),
            Some("57 occurrences in the last window")
        );
        assert_eq!(Locale::En.more(1), "1 more alert");
        assert_eq!(Locale::En.more(5), "5 more alerts");
        let f = facts(&m.items[0].alert, Look::default());
        assert_eq!(f[0], ("Severity", "critical".to_string()));
        assert!(f.contains(&("Trace ID", "trace-abc".to_string())));
        assert_eq!(
            annotation_links(&m.items[0].alert),
            vec![
                ("Runbook", "https://runbooks.example.com/db".to_string()),
                (
                    "Dashboard",
                    "https://grafana.example.com/d/db?from=now-1h".to_string()
                ),
            ]
        );
        let empty = compose(NoticeKind::Firing, vec![]);
        assert_eq!(subject(&empty, 10), "[ALERT] no alerts");
        assert_eq!(tone(&empty), Tone::Blue);
    }

    #[test]
    fn a_resolved_card_says_how_long_it_fired() {
        let m = resolved_msg();
        assert_eq!(notice(&m).as_deref(), Some("Resolved after 30m"));
        let mut a = m.items[0].alert.clone();
        a.starts_at = Some(at(10, 20, 0));
        assert_eq!(
            fired_for(&a).as_deref(),
            Some("10m"),
            "from this firing's start"
        );
        assert!(
            facts(&a, Look::default())
                .iter()
                .any(|(k, v)| *k == "Resolved at" && v.ends_with("after 10m"))
        );
        a.resolved_at = None;
        assert_eq!(fired_for(&a), None);
    }

    #[test]
    fn fit_shrinks_content_then_lists_then_fields() {
        let m = huge_group(10);
        let start = Budget::start(&m, 20, 300);
        assert_eq!((start.content, start.listed), (300, 10));
        let size = |b: &Budget| b.shown(&m).0.len() * 100 + b.content;
        // Content only, as much as fits (within the bisection's 16 bytes).
        let b = fit(start, 1200, |b| *b, |b| size(b));
        assert_eq!(b.listed, 10);
        assert!((184..=200).contains(&b.content), "{b:?}");
        // Then fewer listed alerts, once content is gone.
        let b = fit(start, 500, |b| *b, |b| size(b));
        assert_eq!((b.content, b.listed, b.field), (0, 5, FIELD_MAX));
        // Gives up (returns) once nothing is left to shrink.
        let b = fit(start, 0, |b| *b, |b| size(b));
        assert_eq!(
            (b.content, b.listed, b.field, b.labels, b.links),
            (0, 1, 32, 0, false)
        );
        // Whatever fits at once is kept whole.
        assert_eq!(fit(start, 10_000, |b| *b, |b| size(b)), start);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        /// Whatever the alert says, every renderer stays under its limit and
        /// no user text opens markup.
        #[test]
        fn renderers_are_bounded_and_escape_everything(
            title in "\\PC{0,300}",
            content in prop_oneof!["\\PC{0,400}", "[\\[\\]()<>*_`#&é\n-]{0,30000}"],
            value in "\\PC{0,200}",
            n in 1usize..30,
        ) {
            let mut m = huge_group(n);
            m.omitted = 3;
            for item in &mut m.items {
                item.alert.title = title.clone();
                item.alert.content = content.clone();
                item.alert.labels = crate::domain::labels::test_labels(&[("k", &value)]);
            }
            for m in [m.clone(), compose(m.kind, vec![m.items[0].clone()])] {
                let body = super::super::feishu::bot_body(&m).to_string();
                prop_assert!(body.len() <= super::super::feishu::BOT_BODY_MAX);
                let app = super::super::feishu::app_content(&m);
                prop_assert!(serde_json::to_string(&app).unwrap().len() <= super::super::feishu::APP_CONTENT_MAX);
                let card = super::super::feishu::card(&m, false);
                for e in card["body"]["elements"].as_array().unwrap() {
                    if let Some(md) = e["content"].as_str() {
                        prop_assert!(!md.contains('<') && !md.contains('`'), "{}", md);
                    }
                }
                let ding = super::super::dingtalk::message(&m);
                prop_assert!(ding.to_string().len() <= super::super::dingtalk::BODY_MAX);
                let wecom = super::super::wecom::message(&m);
                prop_assert!(wecom.to_string().len() <= super::super::wecom::CARD_MAX
                    || wecom["markdown"]["content"].as_str().unwrap().len() <= super::super::wecom::MARKDOWN_MAX);
                let slack = super::super::slack::message(&m);
                prop_assert!(slack["blocks"].as_array().unwrap().len() <= super::super::slack::BLOCKS_MAX);
                let email = super::super::email::message(&m);
                prop_assert!(!email.subject.contains('\n'));
            }
        }

        #[test]
        fn clip_is_bounded_and_never_leaves_markup(s in "\\PC{0,300}", max in 0usize..400) {
            for unit in [Unit::Bytes, Unit::Chars] {
                let out = clip(&s, md_inline, max, unit);
                prop_assert!(unit.of(&out) <= max);
                for bad in ['[', ']', '(', ')', '<', '>', '*', '`', '\n'] {
                    prop_assert!(!out.contains(bad));
                }
            }
            let out = clip(&s, slack_block, max, Unit::Chars);
            prop_assert!(out.chars().count() <= max);
            prop_assert!(!out.contains('<') && !out.contains('>'));
        }
    }
}
