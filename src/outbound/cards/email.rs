//! E-mail: a subject, a plain-text part and an HTML part, saying what the
//! cards say.
//!
//! The subject is one line (a newline in a header would let an alert title add
//! headers) and short enough for mail clients. In the HTML part every
//! user-provided string is HTML-escaped, and links are only `http(s)` URLs
//! (see [`text::safe_url`]), so an alert cannot add markup, scripts or links.
//! The action links are the signed `/a/{token}` links, shown when configured
//! and not for resolutions.
//!
//! Mail has no hard size limit, but nobody reads a 16 KB stack trace in an
//! alert mail: each alert's content is cut at [`CONTENT_MAX`] bytes, with
//! "…truncated", and a group lists at most [`MAX_LISTED`] alerts.

use super::text::{self, Unit};
use super::{Action, Item, Message, Tone};

/// Bytes of content shown for an alert (ours; no platform limit applies).
pub const CONTENT_MAX: usize = 8 * 1024;

/// Characters of the subject.
pub const SUBJECT_MAX: usize = 200;

/// Alerts listed in a group.
pub const MAX_LISTED: usize = 50;

/// Bytes of content shown per alert in a group.
const EXCERPT: usize = 300;

/// One mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// One line, at most [`SUBJECT_MAX`] characters.
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The accent colour of a tone.
pub fn colour(tone: Tone) -> &'static str {
    match tone {
        Tone::Red => "#d93025",
        Tone::Orange => "#e8710a",
        Tone::Yellow => "#b58100",
        Tone::Blue => "#1a73e8",
        Tone::Green => "#188038",
    }
}

/// The mail for a message.
pub fn message(msg: &Message) -> Email {
    let subject = text::plain(&text::subject(msg, text::FIELD_MAX), SUBJECT_MAX);
    let mut t = Plain(String::new());
    let mut h = Html(String::new());
    h.0.push_str(&format!(
        "<!DOCTYPE html>\n<html><body style=\"font-family:sans-serif\">\n\
         <h2 style=\"color:{}\">{}</h2>\n",
        colour(text::tone(msg)),
        text::escape(&subject, text::html_inline)
    ));
    t.0.push_str(&format!("{subject}\n\n"));
    if let Some(n) = text::notice(msg) {
        let n_html = text::escape(&n, text::html_inline);
        h.0.push_str(&format!("<p><strong>{n_html}</strong></p>\n"));
        t.0.push_str(&format!("{n}\n\n"));
    }
    match msg.items.as_slice() {
        [item] => single(msg, item, &mut t, &mut h),
        _ => group(msg, &mut t, &mut h),
    }
    h.0.push_str(&format!(
        "<p style=\"color:#888\">Sent by ackbot · {}</p>\n</body></html>\n",
        msg.kind.as_str()
    ));
    t.0.push_str(&format!("-- \nSent by ackbot · {}\n", msg.kind.as_str()));
    Email {
        subject,
        text: t.0,
        html: h.0,
    }
}

struct Plain(String);
struct Html(String);

/// One line of user text in HTML.
fn h(s: &str) -> String {
    text::clip(s, text::html_inline, text::FIELD_MAX, Unit::Chars)
}

/// One line of user text in the text part.
fn p(s: &str) -> String {
    text::plain(s, text::FIELD_MAX)
}

fn single(msg: &Message, item: &Item, t: &mut Plain, html: &mut Html) {
    if text::follow_up(msg) {
        // A follow-up: the subject and the notice say it all.
        return;
    }
    let a = &item.alert;
    html.0.push_str("<table>\n");
    for (name, value) in text::facts(a, msg.look) {
        html.0.push_str(&format!(
            "<tr><th align=\"left\">{name}</th><td>{}</td></tr>\n",
            h(&value)
        ));
        t.0.push_str(&format!("{name}: {}\n", p(&value)));
    }
    html.0.push_str("</table>\n");
    t.0.push('\n');

    if !a.labels.is_empty() {
        html.0.push_str(&format!(
            "<h3>{}</h3>\n<ul>\n",
            msg.look.locale.words().labels
        ));
        t.0.push_str(&format!("{}:\n", msg.look.locale.words().labels));
        for (k, v) in a.labels.iter() {
            html.0
                .push_str(&format!("<li><code>{}</code>: {}</li>\n", h(k), h(v)));
            t.0.push_str(&format!("  {}: {}\n", p(k), p(v)));
        }
        html.0.push_str("</ul>\n");
        t.0.push('\n');
    }

    let content = a.content.trim();
    if !content.is_empty() {
        html.0.push_str(&format!(
            "<pre style=\"white-space:pre-wrap\">{}</pre>\n",
            text::clip_source(content, text::html_block, CONTENT_MAX)
        ));
        t.0.push_str(&text::clip_source(content, text::plain_block, CONTENT_MAX));
        t.0.push_str("\n\n");
    }

    let links = text::item_links(item, msg.look.locale);
    if !links.is_empty() {
        let html_links: Vec<String> = links
            .iter()
            .map(|(label, url)| format!("<a href=\"{}\">{label}</a>", h(url)))
            .collect();
        html.0
            .push_str(&format!("<p>{}</p>\n", html_links.join(" · ")));
        for (label, url) in &links {
            t.0.push_str(&format!("{label}: {url}\n"));
        }
        t.0.push('\n');
    }
    if let Some(url) = text::image_url(a) {
        html.0.push_str(&format!(
            "<p><img src=\"{}\" alt=\"panel\" style=\"max-width:100%\"></p>\n",
            h(&url)
        ));
    }

    actions(msg, item, t, html);
}

fn group(msg: &Message, t: &mut Plain, html: &mut Html) {
    // A digest lists every alert it has (a line each after the first few).
    let listed = if msg.digest.is_some() {
        msg.items.len()
    } else {
        msg.items.len().min(MAX_LISTED)
    };
    let detailed = text::detailed(msg, listed);
    let omitted = msg.omitted + (msg.items.len() - listed);
    let count = text::count_alerts(msg);
    html.0
        .push_str(&format!("<p><strong>{count}</strong></p>\n<ul>\n"));
    t.0.push_str(&format!("{count}\n\n"));
    for item in &msg.items[..detailed] {
        let a = &item.alert;
        let brief = text::brief(a, msg.look);
        let html_brief: Vec<String> = brief.iter().map(|s| h(s)).collect();
        let text_brief: Vec<String> = brief.iter().map(|s| p(s)).collect();
        let mut html_brief = html_brief;
        html_brief.extend(
            text::item_links(item, msg.look.locale)
                .iter()
                .map(|(label, url)| format!("<a href=\"{}\">{label}</a>", h(url))),
        );
        html.0.push_str(&format!(
            "<li><strong>{}</strong><br>{}",
            h(&a.title),
            html_brief.join(" · ")
        ));
        t.0.push_str(&format!(
            "* {}\n  {}\n",
            p(&a.title),
            text_brief.join(" · ")
        ));
        let content = a.content.trim();
        if !content.is_empty() {
            html.0.push_str(&format!(
                "<br>{}",
                text::clip_source(content, text::html_inline, EXCERPT)
            ));
            t.0.push_str(&format!(
                "  {}\n",
                text::clip_source(content, text::plain_inline, EXCERPT)
            ));
        }
        actions(msg, item, t, html);
        html.0.push_str("</li>\n");
    }
    for item in &msg.items[detailed..listed] {
        let (tag, title, rest) = text::compact(&item.alert);
        let html_rest: Vec<String> = rest.iter().map(|s| h(s)).collect();
        let text_rest: Vec<String> = rest.iter().map(|s| p(s)).collect();
        html.0.push_str(&format!(
            "<li>{} <strong>{}</strong> · {}</li>\n",
            h(&tag),
            h(&title),
            html_rest.join(" · ")
        ));
        t.0.push_str(&format!(
            "* {} {} · {}\n",
            p(&tag),
            p(&title),
            text_rest.join(" · ")
        ));
    }
    html.0.push_str("</ul>\n");
    if omitted > 0 {
        let more = msg.look.locale.more(omitted);
        match text::more_url(msg) {
            Some(url) => {
                html.0.push_str(&format!(
                    "<p><strong>{more}</strong> · <a href=\"{}\">{}</a></p>\n",
                    h(&url),
                    msg.look.locale.words().see_all
                ));
                t.0.push_str(&format!("\n{more}: {url}\n"));
            }
            None => {
                html.0
                    .push_str(&format!("<p><strong>{more}</strong></p>\n"));
                t.0.push_str(&format!("\n{more}\n"));
            }
        }
    }
    t.0.push('\n');
}

fn actions(msg: &Message, item: &Item, t: &mut Plain, html: &mut Html) {
    let Some(links) = text::action_links(msg, item) else {
        return;
    };
    let html_links: Vec<String> = Action::ALL
        .into_iter()
        .map(|a| {
            format!(
                "<a href=\"{}\" style=\"display:inline-block;padding:6px 12px;margin-right:6px;\
                 border:1px solid #888;border-radius:4px;text-decoration:none\">{}</a>",
                h(links.get(a)),
                a.label_in(msg.look.locale)
            )
        })
        .collect();
    html.0
        .push_str(&format!("<p>{}</p>\n", html_links.join("")));
    for a in Action::ALL {
        t.0.push_str(&format!(
            "{}: {}\n",
            a.label_in(msg.look.locale),
            links.get(a)
        ));
    }
    t.0.push('\n');
}

#[cfg(test)]
mod tests {
    use super::super::text::fixtures::*;
    use super::*;
    use crate::engine::NoticeKind;

    #[test]
    fn firing_critical_with_links() {
        let e = message(&critical());
        assert_eq!(e.subject, "[CRITICAL] Payment DB unreachable (payment)");
        assert!(e.html.contains(
            "<h2 style=\"color:#d93025\">[CRITICAL] Payment DB unreachable (payment)</h2>"
        ));
        for (action, url) in [
            ("Acknowledge", "https://ackbot.example.com/a/ack-A-42"),
            ("Silence 1h", "https://ackbot.example.com/a/silence-A-42"),
            ("Resolve", "https://ackbot.example.com/a/resolve-A-42"),
        ] {
            assert!(
                e.html.contains(&format!("<a href=\"{url}\" style=")),
                "{}",
                e.html
            );
            assert!(e.html.contains(&format!(">{action}</a>")));
            assert!(e.text.contains(&format!("{action}: {url}\n")));
        }
        for want in [
            "<tr><th align=\"left\">Severity</th><td>critical</td></tr>",
            "<tr><th align=\"left\">First seen</th><td>2026-11-22 10:00:00 UTC</td></tr>",
            "<li><code>env</code>: prod</li>",
            "<pre style=\"white-space:pre-wrap\">Connection refused on db-1:5432</pre>",
            "<a href=\"https://runbooks.example.com/db\">Runbook</a>",
        ] {
            assert!(e.html.contains(want), "{want} not in {}", e.html);
        }
        for want in [
            "Severity: critical\n",
            "Occurrences: 3\n",
            "  env: prod\n",
            "Runbook: https://runbooks.example.com/db\n",
        ] {
            assert!(e.text.contains(want), "{want} not in {}", e.text);
        }
    }

    #[test]
    fn resolved_is_green_without_actions() {
        let e = message(&resolved_msg());
        assert_eq!(e.subject, "[RESOLVED] Payment DB unreachable (payment)");
        assert!(e.html.contains("color:#188038"));
        assert!(!e.html.contains("/a/ack-"));
        assert!(!e.text.contains("Acknowledge"));
        assert!(e.text.contains("Resolved at: 2026-11-22 10:30:00 UTC"));
    }

    #[test]
    fn aggregated_shows_occurrences_in_window() {
        let e = message(&aggregated());
        assert_eq!(e.subject, "[WARNING] Checkout latency high (payment)");
        assert!(
            e.html
                .contains("<p><strong>57 occurrences in the last window</strong></p>")
        );
        assert!(e.text.contains("57 occurrences in the last window\n"));
    }

    #[test]
    fn group_lists_three_and_says_five_more() {
        let e = message(&group3());
        assert_eq!(e.subject, "[ERROR] Disk full on node-1 (payment) +7 more");
        for i in 1..=3 {
            assert!(
                e.html
                    .contains(&format!("<li><strong>Disk full on node-{i}</strong>"))
            );
            assert!(e.text.contains(&format!("* Disk full on node-{i}\n")));
            assert!(e.text.contains(&format!(
                "Acknowledge: https://ackbot.example.com/a/ack-A-{i}\n"
            )));
        }
        assert!(e.html.contains("<p><strong>5 more alerts</strong></p>"));
        assert!(e.text.contains("\n5 more alerts\n"));
    }

    #[test]
    fn huge_content_is_truncated() {
        let e = message(&huge());
        assert!(e.html.len() < CONTENT_MAX * 6 + 4096, "{}", e.html.len());
        assert!(e.text.len() < CONTENT_MAX + 4096, "{}", e.text.len());
        assert!(e.html.contains(&format!("{}</pre>", text::TRUNCATED)));
        assert!(e.text.contains(text::TRUNCATED));
    }

    #[test]
    fn user_text_is_html_escaped_and_the_subject_is_one_line() {
        for title in EVIL_TITLES {
            let e = message(&evil(&format!("{title}\r\nBcc: victim@example.com")));
            assert!(!e.subject.contains('\n') && !e.subject.contains('\r'));
            assert!(e.subject.chars().count() <= SUBJECT_MAX);
            for bad in [
                "<at",
                "<font",
                "<!channel",
                "<@",
                "<https",
                "javascript:",
                "<b>",
            ] {
                assert!(!e.html.contains(bad), "{bad} in {}", e.html);
            }
            // Our tags only.
            assert!(e.html.contains("&lt;"));
            assert!(e.html.contains(
                "<a href=\"https://ok.example/d?q=a%29%28b%5Bc%5D%3Cd%3E%7Ce%22f%27g\">Dashboard</a>"
            ));
        }
        let e = message(&evil("\"><script>alert(1)</script>"));
        assert!(!e.html.contains("<script"));
        assert!(e.html.contains("&quot;&gt;&lt;script&gt;"));
    }

    #[test]
    fn empty_message_does_not_panic() {
        let e = message(&compose(NoticeKind::Resolved, vec![]));
        assert_eq!(e.subject, "[RESOLVED] no alerts");
    }
}
