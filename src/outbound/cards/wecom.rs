//! WeCom (企业微信) group-robot messages: `template_card` or `markdown`.
//!
//! The group robot's webhook cards only jump to URLs; they send no click back
//! (dingtalk.md §4.5). So a single alert with signed action links becomes a
//! `template_card` of type `text_notice` whose `jump_list` (at most 3 entries,
//! §4.2) opens the `/a/{token}` links; everything else is `markdown`, where a
//! group lists each alert with its own inline links.
//!
//! WeCom's markdown understands `<font color="info|comment|warning">`,
//! `<@userid>` mentions, links, bold, code and quotes, and documents no way to
//! escape them. User text in markdown therefore has the characters that open
//! markup (`< > [ ] * `` ` `` &`, a leading `#`) replaced by full-width
//! look-alikes. `template_card` fields are plain text.
//!
//! Limits: `markdown.content` is at most 4096 UTF-8 bytes (§4.2, error 40058);
//! over it, the content is cut first (with "…truncated"), then listed alerts
//! move to "N more alerts". The spec gives no size for `template_card`; the
//! same 4096 bytes bound its whole body here.

use serde_json::{Value, json};

use super::text::{self, Budget, Unit};
use super::{Action, ActionLinks, Item, Message, Tone};

/// `markdown.content`, in UTF-8 bytes (§4.2).
pub const MARKDOWN_MAX: usize = 4096;

/// A `template_card` request body (our bound; none is documented).
pub const CARD_MAX: usize = 4096;

/// Alerts listed in a group.
pub const MAX_LISTED: usize = 10;

/// Bytes of content shown per alert in a group.
const EXCERPT: usize = 120;

/// Characters of the card's main title.
const TITLE_MAX: usize = 128;

/// At most this many `horizontal_content_list` entries (§4.2).
const HORIZONTAL_MAX: usize = 6;

/// The message body.
pub fn message(msg: &Message) -> Value {
    let start = Budget::start(msg, MAX_LISTED, EXCERPT);
    // A template card cannot mention; markdown can (`<@userid>`).
    if let [item] = msg.items.as_slice()
        && let Some(links) = text::action_links(msg, item)
        && msg.audience.mentions.is_empty()
    {
        return text::fit(
            start,
            CARD_MAX,
            |b| card(msg, item, links, b),
            |v| v.to_string().len(),
        );
    }
    let content = text::fit(start, MARKDOWN_MAX, |b| markdown(msg, b), String::len);
    json!({"msgtype": "markdown", "markdown": {"content": content}})
}

/// The `<font color>` of a tone: WeCom has three.
pub fn font(tone: Tone) -> &'static str {
    match tone {
        Tone::Red | Tone::Orange | Tone::Yellow => "warning",
        Tone::Blue => "comment",
        Tone::Green => "info",
    }
}

/// `main_title.desc`: a line under the title (our bound; none is documented).
const DESC_MAX: usize = 256;

/// `source.desc_color`: 0 grey, 1 black, 2 red, 3 green (§4.2).
fn desc_color(tone: Tone) -> u8 {
    match tone {
        Tone::Red | Tone::Orange | Tone::Yellow => 2,
        Tone::Blue => 0,
        Tone::Green => 3,
    }
}

fn inline(s: &str, max: usize) -> String {
    text::clip(s, text::wecom_inline, max, Unit::Chars)
}

fn markdown(msg: &Message, b: &Budget) -> String {
    let colour = font(text::tone(msg));
    let subject = text::subject(msg, b.field);
    let mut md = format!(
        "**<font color=\"{colour}\">{}</font>**\n",
        text::escape(&subject, text::wecom_inline)
    );
    if let Some(n) = text::notice(msg) {
        md.push_str(&format!("> **{}**\n", text::escape(&n, text::wecom_inline)));
    }
    let at: Vec<String> = text::mention_ids(msg, text::wecom_user)
        .iter()
        .map(|u| format!("<@{u}>"))
        .collect();
    if !at.is_empty() {
        md.push_str(&format!("{}\n", at.join(" ")));
    }
    match msg.items.as_slice() {
        [item] => single(item, b, colour, &mut md),
        _ => group(msg, b, &mut md),
    }
    md.push_str(&format!(
        "\n<font color=\"comment\">ackbot · {}</font>",
        text::severity(msg)
    ));
    md
}

fn single(item: &Item, b: &Budget, colour: &str, md: &mut String) {
    let a = &item.alert;
    for (name, value) in text::facts(a, b.look).into_iter().filter(|_| b.facts) {
        let value = inline(&value, b.field);
        if name == b.look.locale.words().severity {
            md.push_str(&format!(
                "> {name}: <font color=\"{colour}\">{value}</font>\n"
            ));
        } else {
            md.push_str(&format!("> {name}: {value}\n"));
        }
    }
    if !a.labels.is_empty() && b.labels > 0 {
        let mut labels: Vec<String> = a
            .labels
            .iter()
            .take(b.labels)
            .map(|(k, v)| format!("{}={}", inline(k, b.field), inline(v, b.field)))
            .collect();
        if a.labels.len() > b.labels {
            labels.push(format!("… {} more", a.labels.len() - b.labels));
        }
        md.push_str(&format!("> Labels: {}\n", labels.join(", ")));
    }
    let content = a.content.trim();
    if !content.is_empty() {
        md.push('\n');
        md.push_str(&text::clip_source(content, text::wecom_block, b.content));
        md.push('\n');
    }
    if b.links {
        let links: Vec<String> = text::item_links(item, b.look.locale)
            .into_iter()
            .map(|(label, url)| format!("[{label}]({url})"))
            .collect();
        if !links.is_empty() {
            md.push_str(&format!("\n{}\n", links.join("  ")));
        }
    }
}

fn group(msg: &Message, b: &Budget, md: &mut String) {
    let (shown, omitted) = b.shown(msg);
    let detailed = text::detailed(msg, shown.len());
    md.push_str(&format!("> {}\n", text::count_alerts(msg)));
    for item in &shown[..detailed] {
        let a = &item.alert;
        let brief: Vec<String> = text::brief(a, b.look)
            .iter()
            .map(|s| inline(s, b.field))
            .collect();
        let mut brief = brief;
        if b.links {
            brief.extend(
                text::item_links(item, b.look.locale)
                    .into_iter()
                    .map(|(label, url)| format!("[{label}]({url})")),
            );
        }
        md.push_str(&format!(
            "\n**{}**\n> {}\n",
            inline(&a.title, b.field),
            brief.join(" · ")
        ));
        let content = a.content.trim();
        if !content.is_empty() && b.content > 0 {
            md.push_str(&format!(
                "> {}\n",
                text::clip_source(content, text::wecom_inline, b.content)
            ));
        }
        if let Some(links) = text::action_links(msg, item) {
            let buttons: Vec<String> = Action::ALL
                .into_iter()
                .filter_map(|action| {
                    let url = text::safe_url(links.get(action))?;
                    Some(format!("[{}]({url})", action.label_in(msg.look.locale)))
                })
                .collect();
            md.push_str(&format!("{}\n", buttons.join("  ")));
        }
    }
    if detailed < shown.len() {
        md.push('\n');
    }
    for item in &shown[detailed..] {
        let (tag, title, rest) = text::compact(&item.alert);
        let mut line = format!(
            "{} **{}**",
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
    if omitted > 0 {
        md.push_str(&format!("\n**{}**", msg.look.locale.more(omitted)));
        if let Some(url) = text::more_url(msg) {
            md.push_str(&format!("  [{}]({url})", msg.look.locale.words().see_all));
        }
        md.push('\n');
    }
}

fn card(msg: &Message, item: &Item, links: &ActionLinks, b: &Budget) -> Value {
    let a = &item.alert;
    let w = b.look.locale.words();
    let plain = |s: &str| text::plain(s, b.field);
    let annotation_links = if b.links {
        text::item_links(item, b.look.locale)
    } else {
        Vec::new()
    };

    let mut horizontal: Vec<Value> = text::facts(a, b.look)
        .into_iter()
        .filter(|(name, _)| {
            [
                w.severity,
                w.service,
                w.state,
                w.values,
                w.last_seen,
                w.trace_id,
            ]
            .contains(name)
        })
        .map(|(name, value)| json!({"keyname": name, "value": plain(&value)}))
        .collect();
    horizontal.truncate(HORIZONTAL_MAX - annotation_links.len().min(2));
    for (label, url) in annotation_links.iter().take(2) {
        horizontal.push(json!({"keyname": label, "value": "Open", "type": 1, "url": url}));
    }

    let emphasis = match text::notice(msg) {
        Some(_) if msg.kind == crate::engine::NoticeKind::Aggregated => json!({
            "title": msg.occurrences.to_string(),
            "desc": "occurrences in the last window",
        }),
        _ => json!({"title": a.count.to_string(), "desc": "occurrences"}),
    };

    let mut desc = format!(
        "{} · first seen {}",
        a.severity.as_str(),
        text::time(a.first_seen, b.look.tz)
    );
    if let Some(n) = text::notice(msg) {
        desc = format!("{n} · {desc}");
    }

    let jump_list: Vec<Value> = Action::ALL
        .into_iter()
        .map(|action| json!({"type": 1, "title": action.label_in(msg.look.locale), "url": links.get(action)}))
        .collect();

    // A click on the card opens the alert's own page if it has one, else the
    // acknowledge link (which, like every action link, asks before acting).
    let card_url = annotation_links
        .first()
        .map_or(links.ack.as_str(), |(_, url)| url.as_str());

    let mut card = json!({
        "card_type": "text_notice",
        "source": {"desc": "ackbot", "desc_color": desc_color(text::tone(msg))},
        "main_title": {
            "title": text::plain(&text::subject(msg, b.field), TITLE_MAX),
            "desc": text::plain(&desc, DESC_MAX),
        },
        "emphasis_content": emphasis,
        "horizontal_content_list": horizontal,
        "jump_list": jump_list,
        "card_action": {"type": 1, "url": card_url},
    });
    let content = a.content.trim();
    if !content.is_empty() {
        card["sub_title_text"] = json!(text::clip_source(content, text::plain_block, b.content));
    }
    json!({"msgtype": "template_card", "template_card": card})
}

#[cfg(test)]
mod tests {
    use super::super::text::fixtures::*;
    use super::*;
    use crate::engine::NoticeKind;

    fn content(v: &Value) -> &str {
        v["markdown"]["content"].as_str().unwrap()
    }

    #[test]
    fn firing_critical_with_links_is_a_red_template_card() {
        let v = message(&critical());
        assert_eq!(v["msgtype"], "template_card");
        let card = &v["template_card"];
        assert_eq!(card["card_type"], "text_notice");
        assert_eq!(card["source"], json!({"desc": "ackbot", "desc_color": 2}));
        assert_eq!(
            card["main_title"]["title"],
            "[CRITICAL] Payment DB unreachable (payment)"
        );
        assert_eq!(
            card["main_title"]["desc"],
            "critical · first seen 2026-11-22 10:00:00 UTC"
        );
        assert_eq!(
            card["jump_list"],
            json!([
                {"type": 1, "title": "Acknowledge", "url": "https://ackbot.example.com/a/ack-A-42"},
                {"type": 1, "title": "Silence 1h", "url": "https://ackbot.example.com/a/silence-A-42"},
                {"type": 1, "title": "Resolve", "url": "https://ackbot.example.com/a/resolve-A-42"},
            ])
        );
        assert_eq!(
            card["card_action"],
            json!({"type": 1, "url": "https://runbooks.example.com/db"})
        );
        assert_eq!(
            card["emphasis_content"],
            json!({"title": "3", "desc": "occurrences"})
        );
        assert_eq!(card["sub_title_text"], "Connection refused on db-1:5432");
        let horizontal = card["horizontal_content_list"].as_array().unwrap();
        assert!(horizontal.len() <= HORIZONTAL_MAX);
        assert_eq!(
            horizontal[0],
            json!({"keyname": "Severity", "value": "critical"})
        );
        assert!(horizontal.contains(&json!({
            "keyname": "Runbook", "value": "Open", "type": 1, "url": "https://runbooks.example.com/db"
        })));
    }

    #[test]
    fn card_without_annotation_links_opens_the_ack_link() {
        let mut m = critical();
        m.items[0].alert.annotations = Default::default();
        let v = message(&m);
        assert_eq!(
            v["template_card"]["card_action"]["url"],
            "https://ackbot.example.com/a/ack-A-42"
        );
    }

    #[test]
    fn without_links_it_is_markdown() {
        let mut m = critical();
        m.items[0].links = None;
        let v = message(&m);
        assert_eq!(v["msgtype"], "markdown");
        let md = content(&v);
        assert!(
            md.starts_with(
                "**<font color=\"warning\">［CRITICAL］ Payment DB unreachable (payment)</font>**\n"
            ),
            "{md}"
        );
        for want in [
            "> Severity: <font color=\"warning\">critical</font>\n",
            "> First seen: 2026-11-22 10:00:00 UTC\n",
            "> Occurrences: 3\n",
            "> Labels: env=prod, team=db\n",
            "Connection refused on db-1:5432",
            "[Runbook](https://runbooks.example.com/db)  [Dashboard](https://grafana.example.com/d/db?from=now-1h)",
            "ackbot · critical",
        ] {
            assert!(md.contains(want), "{want} not in {md}");
        }
    }

    #[test]
    fn resolved_is_green_markdown_without_buttons() {
        let v = message(&resolved_msg());
        assert_eq!(v["msgtype"], "markdown");
        let md = content(&v);
        assert!(
            md.starts_with("**<font color=\"info\">［RESOLVED］"),
            "{md}"
        );
        assert!(md.contains("> Resolved at: 2026-11-22 10:30:00 UTC"));
        assert!(!md.contains("/a/ack-"));
    }

    #[test]
    fn aggregated_shows_occurrences_in_window() {
        let v = message(&aggregated());
        let card = &v["template_card"];
        assert_eq!(
            card["emphasis_content"],
            json!({"title": "57", "desc": "occurrences in the last window"})
        );
        assert!(
            card["main_title"]["desc"]
                .as_str()
                .unwrap()
                .starts_with("57 occurrences in the last window · ")
        );

        let mut m = aggregated();
        m.items[0].links = None;
        assert!(content(&message(&m)).contains("> **57 occurrences in the last window**\n"));
    }

    #[test]
    fn group_lists_three_with_their_links_and_says_five_more() {
        let v = message(&group3());
        assert_eq!(v["msgtype"], "markdown");
        let md = content(&v);
        assert!(md.contains("> 8 alerts\n"));
        for i in 1..=3 {
            assert!(
                md.contains(&format!(
                    "\n**Disk full on node-{i}**\n> error · payment · firing · ×3"
                )),
                "{md}"
            );
            assert!(md.contains(&format!("[Acknowledge](https://ackbot.example.com/a/ack-A-{i})  [Silence 1h](https://ackbot.example.com/a/silence-A-{i})")));
        }
        assert!(md.contains("**5 more alerts**"));
        assert!(md.len() <= MARKDOWN_MAX);
    }

    #[test]
    fn huge_content_is_truncated_under_the_limits() {
        let v = message(&huge());
        assert!(v.to_string().len() <= CARD_MAX);
        assert!(
            v["template_card"]["sub_title_text"]
                .as_str()
                .unwrap()
                .ends_with(text::TRUNCATED)
        );

        let mut m = huge();
        m.items[0].links = None;
        let v = message(&m);
        let md = content(&v);
        assert!(md.len() <= MARKDOWN_MAX, "{}", md.len());
        assert!(md.len() > MARKDOWN_MAX - 200, "cut too much: {}", md.len());
        assert!(md.contains(text::TRUNCATED));

        let v = message(&huge_group(30));
        let md = content(&v);
        assert!(md.len() <= MARKDOWN_MAX);
        assert!(md.contains("more alerts**"));
    }

    #[test]
    fn markup_in_user_text_is_escaped() {
        for title in EVIL_TITLES {
            let mut m = evil(title);
            m.items[0].links = None;
            let md = content(&message(&m)).to_string();
            for bad in [
                "[click]",
                "](https://evil",
                "<at",
                "<!",
                "<@",
                "**bold**",
                "`code`",
                "\n# heading",
                "\n> quote",
                "javascript:",
            ] {
                assert!(!md.contains(bad), "{bad} in {md}");
            }
            // Ours only: the title, the severity and the footer.
            assert_eq!(md.matches("<font").count(), 3, "{md}");

            // The card's fields are plain text.
            let v = message(&evil(title));
            assert_eq!(v["msgtype"], "template_card");
            assert!(
                v["template_card"]["main_title"]["title"]
                    .as_str()
                    .unwrap()
                    .contains(title)
            );
            assert_eq!(
                v["template_card"]["card_action"]["url"],
                "https://ok.example/d?q=a%29%28b%5Bc%5D%3Cd%3E%7Ce%22f%27g"
            );
        }
    }

    #[test]
    fn empty_message_does_not_panic() {
        let v = message(&compose(NoticeKind::Firing, vec![]));
        assert_eq!(v["msgtype"], "markdown");
    }

    #[test]
    fn mentions_are_userids_in_markdown_and_unsafe_ids_are_left_out() {
        let v = message(&mentioned(critical()));
        assert_eq!(v["msgtype"], "markdown", "template cards cannot mention");
        let md = v["markdown"]["content"].as_str().unwrap();
        assert!(md.contains("<@LiLei>"), "{md}");
        assert!(!md.contains("@all"), "{md}");
    }
}
