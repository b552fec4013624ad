//! DingTalk custom-robot messages: `actionCard` or `markdown`.
//!
//! A custom robot cannot receive button clicks (dingtalk.md §1.7): its
//! buttons only open URLs. So a single alert with signed action links becomes
//! an `actionCard` whose buttons (`btns[].actionURL`, §1.6) open the
//! `/a/{token}` links; everything else is `markdown`. A group lists each alert
//! with its own inline links instead of card buttons, which could only act on
//! one of them.
//!
//! DingTalk renders a markdown subset (headings, bold, links, lists, quotes,
//! `<font color=…>`; §1.6). User text is escaped with numeric character
//! references (its FAQ documents `&nbsp;`, so references are decoded), which
//! keeps `[x](url)`, `<font>` and emphasis as text; annotation URLs pass
//! [`text::safe_url`]. The robot's keyword check (§1.2) scans the content, so
//! the text always carries "ackbot" and the severity.
//!
//! Limit: the request body must stay under 20 000 bytes (§1.5, errors 460101
//! and 101002); over it, the content is cut first (with "…truncated"), then
//! listed alerts move to "N more alerts".

use serde_json::{Value, json};

use super::text::{self, Budget, Unit};
use super::{Action, Item, Message, Tone};

/// The body limit: 20 000 bytes (§1.5), less room for `msgUuid` or `at`,
/// which the sender may add.
pub const BODY_MAX: usize = 20_000 - 500;

/// Alerts listed in a group.
pub const MAX_LISTED: usize = 20;

/// Bytes of content shown per alert in a group.
const EXCERPT: usize = 200;

/// Characters of `title`, shown in the conversation list only (§1.6).
const TITLE_MAX: usize = 100;

/// The message body.
pub fn message(msg: &Message) -> Value {
    let start = Budget::start(msg, MAX_LISTED, EXCERPT);
    text::fit(start, BODY_MAX, |b| render(msg, b), |v| v.to_string().len())
}

/// The `<font color=…>` of a tone.
pub fn colour(tone: Tone) -> &'static str {
    match tone {
        Tone::Red => "#FF0000",
        Tone::Orange => "#FF8C00",
        Tone::Yellow => "#DAA520",
        Tone::Blue => "#1E90FF",
        Tone::Green => "#008000",
    }
}

fn render(msg: &Message, b: &Budget) -> Value {
    let subject = text::subject(msg, b.field);
    let title = text::plain(&subject, TITLE_MAX);
    let mut md = format!(
        "#### <font color={}>{}</font>\n\n",
        colour(text::tone(msg)),
        text::escape(&subject, text::md_inline)
    );
    if let Some(n) = text::notice(msg) {
        md.push_str(&format!("**{}**\n\n", text::escape(&n, text::md_inline)));
    }
    // A mention renders only with `@<mobile>` or `@<userId>` in the text
    // (dingtalk.md §1.4).
    let mobiles = text::mention_ids(msg, text::dingtalk_mobile);
    let users = text::mention_ids(msg, text::dingtalk_user);
    if !mobiles.is_empty() || !users.is_empty() {
        let at: Vec<String> = mobiles
            .iter()
            .chain(&users)
            .map(|m| format!("@{m}"))
            .collect();
        md.push_str(&format!("{}\n\n", at.join(" ")));
    }
    let card_links = match msg.items.as_slice() {
        [item] => {
            single(item, b, &mut md);
            text::action_links(msg, item)
        }
        _ => {
            group(msg, b, &mut md);
            None
        }
    };
    md.push_str(&format!("ackbot · {}", text::severity(msg)));

    if !mobiles.is_empty() || !users.is_empty() {
        // actionCard cannot mention: a markdown message with the actions
        // as links.
        if let Some(links) = card_links {
            let line: Vec<String> = Action::ALL
                .into_iter()
                .filter_map(|a| {
                    Some(format!(
                        "[{}]({})",
                        a.label_in(msg.look.locale),
                        text::safe_url(links.get(a))?
                    ))
                })
                .collect();
            md.push_str(&format!("\n\n{}", line.join(" · ")));
        }
        return json!({
            "msgtype": "markdown",
            "markdown": {"title": title, "text": md},
            "at": {"atMobiles": mobiles, "atUserIds": users, "isAtAll": false},
        });
    }
    match card_links {
        Some(links) => {
            let btns: Vec<Value> = Action::ALL
                .into_iter()
                .map(|a| json!({"title": a.label_in(msg.look.locale), "actionURL": links.get(a)}))
                .collect();
            json!({
                "msgtype": "actionCard",
                "actionCard": {
                    "title": title,
                    "text": md,
                    "btnOrientation": "1",
                    "btns": btns,
                },
            })
        }
        None => json!({"msgtype": "markdown", "markdown": {"title": title, "text": md}}),
    }
}

fn inline(s: &str, max: usize) -> String {
    text::clip(s, text::md_inline, max, Unit::Chars)
}

fn single(item: &Item, b: &Budget, md: &mut String) {
    let a = &item.alert;
    if b.facts {
        let facts: Vec<String> = text::facts(a, b.look)
            .into_iter()
            .map(|(name, value)| format!("**{name}:** {}", inline(&value, b.field)))
            .collect();
        md.push_str(&facts.join("  \n"));
        md.push_str("\n\n");
    }

    if !a.labels.is_empty() && b.labels > 0 {
        md.push_str(&format!("**{}**\n\n", b.look.locale.words().labels));
        for (k, v) in a.labels.iter().take(b.labels) {
            md.push_str(&format!(
                "- {}: {}\n",
                inline(k, b.field),
                inline(v, b.field)
            ));
        }
        if a.labels.len() > b.labels {
            md.push_str(&format!("- … {} more\n", a.labels.len() - b.labels));
        }
        md.push('\n');
    }

    let content = a.content.trim();
    if !content.is_empty() {
        md.push_str(&text::clip_source(content, text::md_block_hard, b.content));
        md.push_str("\n\n");
    }

    if b.links {
        let links: Vec<String> = text::item_links(item, b.look.locale)
            .into_iter()
            .map(|(label, url)| format!("[{label}]({url})"))
            .collect();
        if !links.is_empty() {
            md.push_str(&links.join(" · "));
            md.push_str("\n\n");
        }
        // DingTalk markdown shows an image from its URL (`![](img)`, dingtalk.md).
        if let Some(url) = text::image_url(a) {
            md.push_str(&format!("![panel]({url})\n\n"));
        }
    }
}

fn group(msg: &Message, b: &Budget, md: &mut String) {
    let (shown, omitted) = b.shown(msg);
    let detailed = text::detailed(msg, shown.len());
    md.push_str(&format!("**{}**\n\n", text::count_alerts(msg)));
    for item in &shown[..detailed] {
        let a = &item.alert;
        let mut parts = vec![format!("**{}**", inline(&a.title, b.field))];
        parts.extend(text::brief(a, b.look).iter().map(|s| inline(s, b.field)));
        if b.links {
            parts.extend(
                text::item_links(item, b.look.locale)
                    .into_iter()
                    .map(|(label, url)| format!("[{label}]({url})")),
            );
        }
        if let Some(links) = text::action_links(msg, item) {
            parts.extend(Action::ALL.into_iter().filter_map(|action| {
                let url = text::safe_url(links.get(action))?;
                Some(format!("[{}]({url})", action.label_in(msg.look.locale)))
            }));
        }
        md.push_str(&format!("- {}", parts.join(" · ")));
        let content = a.content.trim();
        if !content.is_empty() && b.content > 0 {
            md.push_str("  \n  ");
            md.push_str(&text::clip_source(content, text::md_inline, b.content));
        }
        md.push('\n');
    }
    for item in &shown[detailed..] {
        let (tag, title, rest) = text::compact(&item.alert);
        let mut line = format!(
            "- {} **{}**",
            inline(&tag, text::TAG_MAX),
            inline(&title, b.field)
        );
        for part in rest {
            line.push_str(" · ");
            line.push_str(&inline(&part, b.field));
        }
        md.push_str(&line);
        md.push('\n');
    }
    md.push('\n');
    if omitted > 0 {
        md.push_str(&format!("**{}**", msg.look.locale.more(omitted)));
        if let Some(url) = text::more_url(msg) {
            md.push_str(&format!(" · [{}]({url})", msg.look.locale.words().see_all));
        }
        md.push_str("\n\n");
    }
}

#[cfg(test)]
mod tests {
    use super::super::text::fixtures::*;
    use super::*;
    use crate::engine::NoticeKind;

    fn text_of(v: &Value) -> &str {
        v["actionCard"]["text"]
            .as_str()
            .or_else(|| v["markdown"]["text"].as_str())
            .unwrap()
    }

    #[test]
    fn firing_critical_with_links_is_a_red_action_card() {
        let v = message(&critical());
        assert_eq!(v["msgtype"], "actionCard");
        let card = &v["actionCard"];
        assert_eq!(card["title"], "[CRITICAL] Payment DB unreachable (payment)");
        assert_eq!(card["btnOrientation"], "1");
        assert_eq!(
            card["btns"],
            json!([
                {"title": "Acknowledge", "actionURL": "https://ackbot.example.com/a/ack-A-42"},
                {"title": "Silence 1h", "actionURL": "https://ackbot.example.com/a/silence-A-42"},
                {"title": "Resolve", "actionURL": "https://ackbot.example.com/a/resolve-A-42"},
            ])
        );
        let md = text_of(&v);
        assert!(md.starts_with("#### <font color=#FF0000>&#91;CRITICAL&#93; Payment DB unreachable &#40;payment&#41;</font>\n\n"), "{md}");
        for want in [
            "**Severity:** critical  \n",
            "**First seen:** 2026-11-22 10:00:00 UTC",
            "**Occurrences:** 3",
            "**Trace ID:** trace-abc",
            "- env: prod\n",
            "Connection refused on db-1:5432",
            "[Runbook](https://runbooks.example.com/db) · [Dashboard](https://grafana.example.com/d/db?from=now-1h)",
        ] {
            assert!(md.contains(want), "{want} not in {md}");
        }
        // Custom keywords: "ackbot" and the severity are in the text.
        assert!(md.ends_with("ackbot · critical"));
    }

    #[test]
    fn without_links_it_is_markdown() {
        let mut m = critical();
        m.items[0].links = None;
        let v = message(&m);
        assert_eq!(v["msgtype"], "markdown");
        assert_eq!(
            v["markdown"]["title"],
            "[CRITICAL] Payment DB unreachable (payment)"
        );
        assert!(v.get("actionCard").is_none());
    }

    #[test]
    fn resolved_is_green_markdown_without_buttons() {
        let v = message(&resolved_msg());
        assert_eq!(v["msgtype"], "markdown");
        let md = text_of(&v);
        assert!(
            md.starts_with("#### <font color=#008000>&#91;RESOLVED&#93;"),
            "{md}"
        );
        assert!(md.contains("**Resolved at:** 2026-11-22 10:30:00 UTC"));
        assert!(!md.contains("/a/ack-"));
    }

    #[test]
    fn aggregated_shows_occurrences_in_window() {
        let v = message(&aggregated());
        let md = text_of(&v);
        assert!(md.contains("**57 occurrences in the last window**"), "{md}");
        assert!(md.contains("<font color=#DAA520>"));
    }

    #[test]
    fn group_lists_three_with_their_links_and_says_five_more() {
        let v = message(&group3());
        assert_eq!(v["msgtype"], "markdown");
        let md = text_of(&v);
        assert!(md.contains("**8 alerts**"));
        for i in 1..=3 {
            assert!(
                md.contains(&format!(
                    "- **Disk full on node-{i}** · error · payment · firing · ×3"
                )),
                "{md}"
            );
            assert!(md.contains(&format!(
                "[Acknowledge](https://ackbot.example.com/a/ack-A-{i})"
            )));
        }
        assert!(md.contains("**5 more alerts**"));
        assert!(
            v["markdown"]["title"]
                .as_str()
                .unwrap()
                .ends_with("+7 more")
        );
    }

    #[test]
    fn huge_content_is_truncated_under_the_limit() {
        let v = message(&huge());
        let size = v.to_string().len();
        assert!(size <= BODY_MAX, "{size}");
        assert!(size > BODY_MAX - 2_000, "cut too much: {size}");
        assert!(text_of(&v).contains(text::TRUNCATED));
        assert_eq!(v["actionCard"]["btns"].as_array().unwrap().len(), 3);

        let v = message(&huge_group(60));
        assert!(v.to_string().len() <= BODY_MAX);
        assert!(text_of(&v).contains("more alerts**"));
    }

    #[test]
    fn markup_in_user_text_is_escaped() {
        for title in EVIL_TITLES {
            let v = message(&evil(title));
            let md = text_of(&v);
            for bad in [
                "[click]",
                "(https://evil",
                "<at",
                "<!",
                "<@",
                "**bold**",
                "`code`",
                "\n# heading",
                "\n- list",
                "\n> quote",
                "javascript:",
            ] {
                assert!(!md.contains(bad), "{bad} in {md}");
            }
            assert_eq!(md.matches("<font").count(), 1, "{md}");
            // The title field is plain text, shown verbatim.
            assert!(v["actionCard"]["title"].as_str().unwrap().contains(title));
        }
    }

    #[test]
    fn empty_message_does_not_panic() {
        let v = message(&compose(NoticeKind::Repeat, vec![]));
        assert_eq!(v["msgtype"], "markdown");
    }

    #[test]
    fn mentions_use_at_with_the_mobile_in_the_text_and_keep_the_actions_as_links() {
        let v = message(&mentioned(critical()));
        assert_eq!(v["msgtype"], "markdown", "actionCard cannot mention");
        assert_eq!(v["at"]["atMobiles"], json!(["13800000001", "15005550006"]));
        assert_eq!(
            v["at"]["atUserIds"],
            json!(["lilei"]),
            "an id with a space is left out"
        );
        assert_eq!(v["at"]["isAtAll"], false);
        let text = text_of(&v);
        assert!(text.contains("@13800000001 @15005550006 @lilei"), "{text}");
        assert!(
            text.contains("[Acknowledge](https://ackbot.example.com/a/ack-"),
            "{text}"
        );
        assert!(text.contains("Escalates to Li Lei by SMS"), "{text}");
    }
}
