//! Slack incoming-webhook messages: Block Kit `blocks` plus a `text` fallback
//! (used in notifications and by clients that cannot show blocks).
//!
//! Buttons are URL buttons to the signed `/a/{token}` links, so they work from
//! a plain incoming webhook without a Slack app; they are left out when links
//! are not configured and for resolutions. A group gets one section and one
//! row of buttons per listed alert.
//!
//! In `mrkdwn`, only `&`, `<` and `>` are control characters (mentions such
//! as `<!channel>` and links `<url|text>` need `<`), so user text has those
//! three escaped; `plain_text` (the header, buttons) is never parsed.
//!
//! Limits (Block Kit reference): header text 150 characters, section text
//! 3000, section fields 10 of 2000 each, 50 blocks per message. Long content
//! is cut to its section with "…truncated"; a group lists at most
//! [`MAX_LISTED`] alerts so the blocks stay under 50.

use serde_json::{Value, json};

use super::text::{self, Unit};
use super::{Action, Item, Message, Tone};

pub const HEADER_MAX: usize = 150;
pub const SECTION_MAX: usize = 3000;
pub const FIELD_MAX: usize = 2000;
pub const FIELDS_MAX: usize = 10;
pub const BLOCKS_MAX: usize = 50;
/// Button URLs longer than this are refused by Slack.
pub const BUTTON_URL_MAX: usize = 3000;

/// Alerts listed in a group: 2 blocks each, plus at most 5 others.
pub const MAX_LISTED: usize = 20;

/// Characters of content shown per alert in a group.
const EXCERPT: usize = 200;

/// Characters of a label value.
const LABEL_MAX: usize = 200;

/// The leading emoji of the header, Slack's colour here.
pub fn emoji(tone: Tone) -> &'static str {
    match tone {
        Tone::Red => "🔴",
        Tone::Orange => "🟠",
        Tone::Yellow => "🟡",
        Tone::Blue => "🔵",
        Tone::Green => "🟢",
    }
}

/// The incoming-webhook body.
pub fn message(msg: &Message) -> Value {
    let tone = text::tone(msg);
    let subject = text::subject(msg, text::FIELD_MAX);
    let mut blocks = vec![json!({
        "type": "header",
        // The emoji may count as two characters.
        "text": {
            "type": "plain_text",
            "text": format!("{} {}", emoji(tone), text::plain(&subject, HEADER_MAX - 3)),
            "emoji": true,
        },
    })];
    if let Some(n) = text::notice(msg) {
        blocks.push(section(format!(
            "*{}*",
            text::escape(&n, text::slack_inline)
        )));
    }
    match msg.items.as_slice() {
        [item] => single(msg, item, tone, &mut blocks),
        _ => group(msg, tone, &mut blocks),
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{
            "type": "mrkdwn",
            "text": format!("ackbot · {} · {}", text::severity(msg), msg.kind.as_str()),
        }],
    }));
    json!({
        "text": text::clip(&subject, text::slack_inline, SECTION_MAX, Unit::Chars),
        "blocks": blocks,
    })
}

fn section(mrkdwn: String) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn}})
}

fn inline(s: &str, max: usize) -> String {
    text::clip(s, text::slack_inline, max, Unit::Chars)
}

fn single(msg: &Message, item: &Item, tone: Tone, blocks: &mut Vec<Value>) {
    if text::follow_up(msg) {
        // A follow-up: the header and the notice say it all.
        return;
    }
    let a = &item.alert;
    let fields: Vec<Value> = text::facts(a, msg.look)
        .into_iter()
        .take(FIELDS_MAX)
        .map(|(name, value)| {
            let value = inline(&value, FIELD_MAX - name.len() - 3);
            json!({"type": "mrkdwn", "text": format!("*{name}*\n{value}")})
        })
        .collect();
    blocks.push(json!({"type": "section", "fields": fields}));

    if !a.labels.is_empty() {
        let mut labels = format!("*{}*", msg.look.locale.words().labels);
        let mut shown = 0;
        for (k, v) in a.labels.iter() {
            let line = format!("\n• {}: {}", inline(k, LABEL_MAX), inline(v, LABEL_MAX));
            // Room for the last line ("\n• … 64 more").
            if labels.chars().count() + line.chars().count() > SECTION_MAX - 20 {
                break;
            }
            labels.push_str(&line);
            shown += 1;
        }
        if shown < a.labels.len() {
            labels.push_str(&format!("\n• … {} more", a.labels.len() - shown));
        }
        blocks.push(section(labels));
    }

    let content = a.content.trim();
    if !content.is_empty() {
        let fence = "```\n\n```";
        let body = text::clip(
            content,
            text::slack_block,
            SECTION_MAX - fence.chars().count(),
            Unit::Chars,
        );
        blocks.push(section(format!("```\n{body}\n```")));
    }

    let links: Vec<String> = text::item_links(item, msg.look.locale)
        .into_iter()
        .map(|(label, url)| format!("<{}|{label}>", text::escape(&url, text::slack_inline)))
        .collect();
    if !links.is_empty() {
        let mut line = String::new();
        for link in links {
            if line.chars().count() + link.chars().count() + 3 > SECTION_MAX {
                break;
            }
            if !line.is_empty() {
                line.push_str(" · ");
            }
            line.push_str(&link);
        }
        blocks.push(section(line));
    }
    if let Some(url) = text::image_url(a).filter(|u| u.len() <= 3000) {
        blocks.push(json!({"type": "image", "image_url": url, "alt_text": "panel"}));
    }

    blocks.extend(actions(msg, item, tone));
}

fn group(msg: &Message, tone: Tone, blocks: &mut Vec<Value>) {
    let listed = msg.items.len().min(MAX_LISTED);
    let detailed = text::detailed(msg, listed);
    // A digest's other alerts get one line each, in one section.
    let mut lines = String::new();
    let mut compact = 0;
    if msg.digest.is_some() {
        for item in &msg.items[detailed..] {
            let (tag, title, rest) = text::compact(&item.alert);
            let mut line = format!("{} *{}*", inline(&tag, text::TAG_MAX), inline(&title, 300));
            for part in rest {
                line.push_str(" · ");
                line.push_str(&inline(&part, 200));
            }
            if lines.chars().count() + line.chars().count() + 1 > SECTION_MAX {
                break;
            }
            lines.push_str(&line);
            lines.push('\n');
            compact += 1;
        }
    }
    let omitted = msg.omitted + (msg.items.len() - detailed - compact);
    blocks.push(section(format!("*{}*", text::count_alerts(msg))));
    for item in &msg.items[..detailed] {
        let a = &item.alert;
        let brief: Vec<String> = text::brief(a, msg.look)
            .iter()
            .map(|s| inline(s, 200))
            .collect();
        let mut md = format!("*{}*\n{}", inline(&a.title, 300), brief.join(" · "));
        for (label, url) in text::item_links(item, msg.look.locale) {
            md.push_str(&format!(
                " · <{}|{label}>",
                text::escape(&url, text::slack_inline)
            ));
        }
        let content = a.content.trim();
        if !content.is_empty() {
            md.push('\n');
            md.push_str(&inline(content, EXCERPT));
        }
        blocks.push(section(md));
        blocks.extend(actions(msg, item, tone));
    }
    if !lines.is_empty() {
        blocks.push(section(lines));
    }
    if omitted > 0 {
        let mut more = format!("*{}*", msg.look.locale.more(omitted));
        if let Some(url) = text::more_url(msg) {
            more.push_str(&format!(" · <{url}|{}>", msg.look.locale.words().see_all));
        }
        blocks.push(section(more));
    }
}

/// Acknowledge / Silence 1h / Resolve as URL buttons, or nothing.
fn actions(msg: &Message, item: &Item, tone: Tone) -> Option<Value> {
    let links = text::action_links(msg, item)?;
    let buttons: Vec<Value> = Action::ALL
        .into_iter()
        .filter(|a| links.get(*a).len() <= BUTTON_URL_MAX)
        .map(|action| {
            let mut button = json!({
                "type": "button",
                "action_id": action.as_str(),
                "text": {"type": "plain_text", "text": action.label_in(msg.look.locale)},
                "url": links.get(action),
            });
            if action == Action::Ack {
                button["style"] = json!(if tone == Tone::Red {
                    "danger"
                } else {
                    "primary"
                });
            }
            button
        })
        .collect();
    (!buttons.is_empty()).then(|| json!({"type": "actions", "elements": buttons}))
}

#[cfg(test)]
mod tests {
    use super::super::text::fixtures::*;
    use super::*;
    use crate::engine::NoticeKind;

    fn blocks(v: &Value) -> &Vec<Value> {
        v["blocks"].as_array().unwrap()
    }

    fn of_type<'a>(v: &'a Value, t: &str) -> Vec<&'a Value> {
        blocks(v).iter().filter(|b| b["type"] == t).collect()
    }

    /// Every mrkdwn text of the message.
    fn mrkdwn(v: &Value) -> Vec<String> {
        let mut out = vec![v["text"].as_str().unwrap().to_string()];
        for b in blocks(v) {
            if let Some(t) = b["text"]["text"].as_str() {
                if b["text"]["type"] == "mrkdwn" {
                    out.push(t.to_string());
                }
            }
            for f in b["fields"].as_array().into_iter().flatten() {
                out.push(f["text"].as_str().unwrap().to_string());
            }
            for e in b["elements"].as_array().into_iter().flatten() {
                if e["type"] == "mrkdwn" {
                    out.push(e["text"].as_str().unwrap().to_string());
                }
            }
        }
        out
    }

    /// Every text of the message is within Slack's limits.
    fn assert_limits(v: &Value) {
        let blocks = blocks(v);
        assert!(blocks.len() <= BLOCKS_MAX);
        for b in blocks {
            match b["type"].as_str().unwrap() {
                "header" => {
                    assert!(b["text"]["text"].as_str().unwrap().chars().count() <= HEADER_MAX)
                }
                "section" => {
                    if let Some(t) = b["text"]["text"].as_str() {
                        assert!(t.chars().count() <= SECTION_MAX, "{}", t.chars().count());
                    }
                    let fields = b["fields"].as_array().map_or(0, Vec::len);
                    assert!(fields <= FIELDS_MAX);
                    for f in b["fields"].as_array().into_iter().flatten() {
                        assert!(f["text"].as_str().unwrap().chars().count() <= FIELD_MAX);
                    }
                }
                "actions" | "context" => {}
                other => panic!("unexpected block {other}"),
            }
        }
    }

    #[test]
    fn firing_critical_with_links_is_red_with_three_url_buttons() {
        let v = message(&critical());
        assert_limits(&v);
        assert_eq!(v["text"], "[CRITICAL] Payment DB unreachable (payment)");
        assert_eq!(
            blocks(&v)[0]["text"]["text"],
            "🔴 [CRITICAL] Payment DB unreachable (payment)"
        );
        let actions = of_type(&v, "actions");
        assert_eq!(actions.len(), 1);
        let buttons = actions[0]["elements"].as_array().unwrap();
        let urls: Vec<&str> = buttons.iter().map(|b| b["url"].as_str().unwrap()).collect();
        assert_eq!(
            urls,
            [
                "https://ackbot.example.com/a/ack-A-42",
                "https://ackbot.example.com/a/silence-A-42",
                "https://ackbot.example.com/a/resolve-A-42"
            ]
        );
        assert_eq!(buttons[0]["style"], "danger");
        assert_eq!(buttons[0]["text"]["text"], "Acknowledge");
        assert_eq!(buttons[1]["action_id"], "silence_1h");

        let all = mrkdwn(&v).join("\n");
        for want in [
            "*Severity*\ncritical",
            "*Service*\npayment",
            "*First seen*\n2026-11-22 10:00:00 UTC",
            "*Occurrences*\n3",
            "*Trace ID*\ntrace-abc",
            "• env: prod",
            "```\nConnection refused on db-1:5432\n```",
            "<https://runbooks.example.com/db|Runbook> · <https://grafana.example.com/d/db?from=now-1h|Dashboard>",
            "ackbot · critical · firing",
        ] {
            assert!(all.contains(want), "{want} not in {all}");
        }
    }

    #[test]
    fn resolved_is_green_without_buttons() {
        let v = message(&resolved_msg());
        assert!(
            blocks(&v)[0]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with("🟢 [RESOLVED] ")
        );
        assert!(of_type(&v, "actions").is_empty());
        assert!(
            mrkdwn(&v)
                .join("\n")
                .contains("*Resolved at*\n2026-11-22 10:30:00 UTC")
        );
    }

    #[test]
    fn without_links_there_are_no_buttons() {
        let mut m = critical();
        m.items[0].links = None;
        assert!(of_type(&message(&m), "actions").is_empty());
    }

    #[test]
    fn aggregated_shows_occurrences_in_window() {
        let v = message(&aggregated());
        assert!(
            blocks(&v)[0]["text"]["text"]
                .as_str()
                .unwrap()
                .starts_with("🟡 ")
        );
        assert_eq!(
            blocks(&v)[1]["text"]["text"],
            "*57 occurrences in the last window*"
        );
        let buttons = &of_type(&v, "actions")[0]["elements"];
        assert_eq!(buttons[0]["style"], "primary");
    }

    #[test]
    fn group_lists_three_with_buttons_each_and_says_five_more() {
        let v = message(&group3());
        assert_limits(&v);
        let all = mrkdwn(&v).join("\n");
        assert!(all.contains("*8 alerts*"));
        for i in 1..=3 {
            assert!(
                all.contains(&format!(
                    "*Disk full on node-{i}*\nerror · payment · firing · ×3"
                )),
                "{all}"
            );
        }
        assert!(all.contains("*5 more alerts*"));
        let actions = of_type(&v, "actions");
        assert_eq!(actions.len(), 3);
        assert_eq!(
            actions[2]["elements"][0]["url"],
            "https://ackbot.example.com/a/ack-A-3"
        );
    }

    #[test]
    fn big_groups_stay_under_fifty_blocks() {
        let v = message(&huge_group(60));
        assert_limits(&v);
        assert!(mrkdwn(&v).join("\n").contains("*40 more alerts*"));
    }

    #[test]
    fn huge_content_is_truncated_to_its_section() {
        let mut m = huge();
        m.items[0].alert.labels = crate::domain::labels::Labels::parse(
            "labels",
            (0..60).map(|i| (format!("l{i}"), "v".repeat(1000))),
        )
        .unwrap();
        let v = message(&m);
        assert_limits(&v);
        let all = mrkdwn(&v).join("\n");
        assert!(all.contains(&format!("{}\n```", text::TRUNCATED)));
        assert!(all.contains("more\n") || all.contains(" more"));
        assert_eq!(of_type(&v, "actions").len(), 1);
    }

    #[test]
    fn markup_in_user_text_is_escaped() {
        for title in EVIL_TITLES {
            let v = message(&evil(title));
            assert_limits(&v);
            for t in mrkdwn(&v) {
                // Only our own links remain.
                let ours = t.matches("<https://ok.example/").count();
                assert_eq!(t.matches('<').count(), ours, "{t}");
                assert!(!t.contains("javascript:"), "{t}");
            }
            // The header is plain text, shown verbatim.
            assert!(
                blocks(&v)[0]["text"]["text"]
                    .as_str()
                    .unwrap()
                    .contains(title)
            );
        }
        let v = message(&evil("<!channel>"));
        assert_eq!(
            v["text"],
            "[CRITICAL] &lt;!channel&gt; (svc](https://evil.example))"
        );
    }

    #[test]
    fn empty_message_does_not_panic() {
        let v = message(&compose(NoticeKind::Firing, vec![]));
        assert_limits(&v);
    }
}
