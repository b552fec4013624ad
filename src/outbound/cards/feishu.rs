//! Feishu (Lark) interactive cards, card JSON 2.0.
//!
//! One card for both ways ackbot posts to Feishu, because only the buttons
//! differ:
//! - the **custom bot** (webhook) can only open URLs (feishu.md §1.7), so its
//!   card carries `open_url` buttons to the signed `/a/{token}` links, or no
//!   buttons when links are not configured; [`bot_body`] wraps the card as an
//!   object under `card` (§1.6; the sender adds `timestamp` and `sign`);
//! - the **app bot** gets `callback` buttons whose value
//!   `{"action": …, "alert_id": …}` comes back in `card.action.trigger`
//!   (§4.2); [`app_content`] is the card as a JSON *string* for the `content`
//!   of `im/v1/messages` and its PATCH (§2.2, §2.3).
//!
//! User-provided text goes into `plain_text` (header, buttons) or into
//! `markdown` elements escaped with numeric character references, so it can
//! neither add links, buttons nor `<at>` mentions.
//!
//! Limits: a custom-bot request is at most 20 KB (§1.5), a card sent or
//! updated by the app at most 30 KB (§2.2), a card at most 200 elements (§5).
//! Over the limit, the content is cut first (with "…truncated"), then listed
//! alerts move to "N more alerts".

use serde_json::{Value, json};

use super::text::{self, Budget, Unit};
use super::{Action, Item, Message, Tone};

/// The custom-bot body: 20 KB (§1.5) read as 20 000 bytes, less room for the
/// `timestamp` and `sign` fields the sender adds.
pub const BOT_BODY_MAX: usize = 20_000 - 500;

/// The app's card: 30 KB (§2.2) read as 30 000 bytes, counted on the card
/// string as it is escaped inside the request body, with a margin.
pub const APP_CONTENT_MAX: usize = 30_000 - 1_000;

/// Alerts listed in a group card: each takes up to 8 elements (markdown,
/// column set, 3 columns, 3 buttons) of the 200 a card may hold (§5).
pub const MAX_LISTED: usize = 20;

/// Bytes of content shown per alert in a group.
const EXCERPT: usize = 200;

/// Characters of the chat-list summary.
const SUMMARY_MAX: usize = 120;

/// What [`bot_body`] adds around the card.
const BOT_WRAPPER: &str = r#"{"msg_type":"interactive","card":}"#;

/// The card: with `callbacks` (app bot) callback buttons, else URL buttons
/// when the alert has action links. Fits the custom-bot request limit
/// without `callbacks`, the app's card limit with.
pub fn card(msg: &Message, callbacks: bool) -> Value {
    let start = Budget::start(msg, MAX_LISTED, EXCERPT);
    let render = |b: &Budget| render(msg, callbacks, b);
    if callbacks {
        text::fit(start, APP_CONTENT_MAX, render, |c| {
            serde_json::to_string(&c.to_string()).map_or(usize::MAX, |s| s.len())
        })
    } else {
        text::fit(start, BOT_BODY_MAX, render, |c| {
            c.to_string().len() + BOT_WRAPPER.len()
        })
    }
}

/// The custom-bot request body, without the signing fields.
pub fn bot_body(msg: &Message) -> Value {
    json!({"msg_type": "interactive", "card": card(msg, false)})
}

/// The app bot's `content`: the callback card as a JSON string.
pub fn app_content(msg: &Message) -> String {
    card(msg, true).to_string()
}

/// The header colour.
pub fn template(tone: Tone) -> &'static str {
    match tone {
        Tone::Red => "red",
        Tone::Orange => "orange",
        Tone::Yellow => "yellow",
        Tone::Blue => "blue",
        Tone::Green => "green",
    }
}

fn render(msg: &Message, callbacks: bool, b: &Budget) -> Value {
    let subject = text::subject(msg, b.field);
    let mut elements: Vec<Value> = mentions(msg).into_iter().collect();
    match msg.items.as_slice() {
        [item] => single(msg, item, callbacks, b, &mut elements),
        _ => group(msg, callbacks, b, &mut elements),
    }
    json!({
        "schema": "2.0",
        "config": {
            "update_multi": true,
            "summary": {"content": text::plain(&subject, SUMMARY_MAX)},
        },
        "header": {
            "title": {"tag": "plain_text", "content": subject},
            "template": template(text::tone(msg)),
        },
        "body": {"elements": elements},
    })
}

/// `<at id=ou_…></at>` for each person the message mentions (feishu.md
/// §5: it notifies them).
fn mentions(msg: &Message) -> Option<Value> {
    let at: Vec<String> = text::mention_ids(msg, text::feishu_id)
        .iter()
        .map(|id| format!("<at id={id}></at>"))
        .collect();
    (!at.is_empty()).then(|| markdown(at.join(" ")))
}

fn markdown(content: String) -> Value {
    json!({"tag": "markdown", "content": content})
}

/// One line of user text in card markdown, at most `max` characters.
fn inline(s: &str, max: usize) -> String {
    text::clip(s, text::md_inline, max, Unit::Chars)
}

fn single(msg: &Message, item: &Item, callbacks: bool, b: &Budget, out: &mut Vec<Value>) {
    let a = &item.alert;
    let mut md = String::new();
    if let Some(n) = text::notice(msg) {
        md.push_str(&format!("**{}**\n", text::escape(&n, text::md_inline)));
    }
    for (name, value) in text::facts(a, b.look).into_iter().filter(|_| b.facts) {
        md.push_str(&format!("**{name}:** {}\n", inline(&value, b.field)));
    }
    out.push(markdown(md.trim_end().to_string()));

    if !a.labels.is_empty() && b.labels > 0 {
        let mut md = format!("**{}**", b.look.locale.words().labels);
        for (k, v) in a.labels.iter().take(b.labels) {
            md.push_str(&format!(
                "\n- {}: {}",
                inline(k, b.field),
                inline(v, b.field)
            ));
        }
        if a.labels.len() > b.labels {
            md.push_str(&format!("\n- … {} more", a.labels.len() - b.labels));
        }
        out.push(markdown(md));
    }

    if !a.content.trim().is_empty() {
        out.push(json!({"tag": "hr"}));
        out.push(markdown(text::clip_source(
            a.content.trim_end(),
            text::md_block,
            b.content,
        )));
    }

    if b.links {
        let links = text::item_links(item, b.look.locale);
        if !links.is_empty() {
            let md: Vec<String> = links
                .iter()
                .map(|(label, url)| format!("[{label}]({url})"))
                .collect();
            out.push(markdown(md.join(" · ")));
        }
    }

    out.extend(buttons(msg, item, callbacks));
}

fn group(msg: &Message, callbacks: bool, b: &Budget, out: &mut Vec<Value>) {
    let (shown, omitted) = b.shown(msg);
    let mut head = format!("**{}**", text::count_alerts(msg));
    if let Some(n) = text::notice(msg) {
        head.push_str(&format!(" · {}", text::escape(&n, text::md_inline)));
    }
    out.push(markdown(head));
    let detailed = text::detailed(msg, shown.len());
    for item in &shown[..detailed] {
        let a = &item.alert;
        let brief: Vec<String> = text::brief(a, b.look)
            .iter()
            .map(|s| inline(s, b.field))
            .collect();
        let mut md = format!("**{}**\n{}", inline(&a.title, b.field), brief.join(" · "));
        if b.links {
            for (label, url) in text::item_links(item, b.look.locale) {
                md.push_str(&format!(" · [{label}]({url})"));
            }
        }
        let content = a.content.trim();
        if !content.is_empty() && b.content > 0 {
            md.push('\n');
            md.push_str(&text::clip_source(content, text::md_inline, b.content));
        }
        out.push(markdown(md));
        out.extend(buttons(msg, item, callbacks));
    }
    // A digest's other alerts: one line each, in one element.
    let lines: Vec<String> = shown[detailed..]
        .iter()
        .map(|item| {
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
            line
        })
        .collect();
    if !lines.is_empty() {
        out.push(markdown(lines.join("\n")));
    }
    if omitted > 0 {
        let mut more = format!("**{}**", msg.look.locale.more(omitted));
        if let Some(url) = text::more_url(msg) {
            more.push_str(&format!(" · [{}]({url})", msg.look.locale.words().see_all));
        }
        out.push(markdown(more));
    }
}

/// Acknowledge / Silence 1h / Resolve side by side, or nothing.
fn buttons(msg: &Message, item: &Item, callbacks: bool) -> Option<Value> {
    if msg.kind == crate::engine::NoticeKind::Resolved {
        return None;
    }
    let links = if callbacks {
        None
    } else {
        Some(text::action_links(msg, item)?)
    };
    // An acknowledged alert's callback card offers to take the ack back
    // instead (link cards are not updated in place, so they keep Acknowledge).
    let acked = callbacks && item.alert.state == "acknowledged";
    let columns: Vec<Value> = Action::ALL
        .into_iter()
        .map(|action| {
            let (value, label) = match action {
                Action::Ack if acked => ("unack", "Unacknowledge"),
                _ => (action.as_str(), action.label_in(msg.look.locale)),
            };
            let behavior = match links {
                Some(links) => json!({"type": "open_url", "default_url": links.get(action)}),
                None => json!({
                    "type": "callback",
                    "value": {"action": value, "alert_id": item.alert.id},
                }),
            };
            let primary = action == Action::Ack && !acked;
            let mut button = json!({
                "tag": "button",
                "type": if primary { "primary_filled" } else { "default" },
                "text": {"tag": "plain_text", "content": label},
                "behaviors": [behavior],
            });
            if callbacks && action != Action::Ack {
                let question = match action {
                    Action::Silence => "Silence this alert for 1 hour?",
                    _ => "Resolve this alert?",
                };
                button["confirm"] = json!({
                    "title": {"tag": "plain_text", "content": question},
                    "text": {"tag": "plain_text", "content": text::plain(&item.alert.title, 200)},
                });
            }
            json!({"tag": "column", "width": "auto", "elements": [button]})
        })
        .collect();
    Some(json!({"tag": "column_set", "flex_mode": "flow", "columns": columns}))
}

#[cfg(test)]
mod tests {
    use super::super::text::fixtures::*;
    use super::*;

    fn elements(card: &Value) -> &Vec<Value> {
        card["body"]["elements"].as_array().unwrap()
    }

    /// Every button of a card, in order.
    fn all_buttons(card: &Value) -> Vec<&Value> {
        elements(card)
            .iter()
            .filter(|e| e["tag"] == "column_set")
            .flat_map(|e| e["columns"].as_array().unwrap())
            .flat_map(|c| c["elements"].as_array().unwrap())
            .filter(|e| e["tag"] == "button")
            .collect()
    }

    /// All markdown of a card, joined.
    fn all_markdown(card: &Value) -> String {
        elements(card)
            .iter()
            .filter(|e| e["tag"] == "markdown")
            .map(|e| e["content"].as_str().unwrap())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn firing_critical_custom_bot_has_red_header_and_url_buttons() {
        let m = critical();
        let body = bot_body(&m);
        assert_eq!(body["msg_type"], "interactive");
        let card = &body["card"];
        assert_eq!(card["schema"], "2.0");
        assert_eq!(card["config"]["update_multi"], true);
        assert_eq!(card["header"]["template"], "red");
        assert_eq!(
            card["header"]["title"],
            json!({"tag": "plain_text", "content": "[CRITICAL] Payment DB unreachable (payment)"})
        );
        let buttons = all_buttons(card);
        assert_eq!(buttons.len(), 3);
        let urls: Vec<&Value> = buttons.iter().map(|b| &b["behaviors"][0]).collect();
        assert_eq!(
            urls,
            vec![
                &json!({"type": "open_url", "default_url": "https://ackbot.example.com/a/ack-A-42"}),
                &json!({"type": "open_url", "default_url": "https://ackbot.example.com/a/silence-A-42"}),
                &json!({"type": "open_url", "default_url": "https://ackbot.example.com/a/resolve-A-42"}),
            ]
        );
        assert_eq!(buttons[0]["text"]["content"], "Acknowledge");
        assert_eq!(buttons[1]["text"]["content"], "Silence 1h");
        assert_eq!(buttons[2]["text"]["content"], "Resolve");

        let md = all_markdown(card);
        for want in [
            "**Severity:** critical",
            "**Service:** payment",
            "**State:** firing",
            "**First seen:** 2026-11-22 10:00:00 UTC",
            "**Last seen:** 2026-11-22 10:04:30 UTC",
            "**Occurrences:** 3",
            "**Trace ID:** trace-abc",
            "- env: prod",
            "- team: db",
            "Connection refused on db-1:5432",
            "[Runbook](https://runbooks.example.com/db)",
            "[Dashboard](https://grafana.example.com/d/db?from=now-1h)",
        ] {
            assert!(md.contains(want), "{want} not in {md}");
        }
    }

    #[test]
    fn app_card_has_callback_buttons_with_action_and_alert_id() {
        let mut m = critical();
        // Callbacks do not need signed links.
        m.items[0].links = None;
        let card = card(&m, true);
        let buttons = all_buttons(&card);
        assert_eq!(buttons.len(), 3);
        for (button, action) in buttons.iter().zip(["ack", "silence_1h", "resolve"]) {
            assert_eq!(
                button["behaviors"],
                json!([{"type": "callback", "value": {"action": action, "alert_id": "A-42"}}])
            );
        }
        assert!(buttons[0].get("confirm").is_none());
        assert_eq!(buttons[1]["confirm"]["title"]["tag"], "plain_text");

        let content = app_content(&m);
        let parsed: Value = serde_json::from_str(&content).unwrap();
        assert_eq!(parsed, card);
    }

    #[test]
    fn custom_bot_without_links_has_no_buttons() {
        let mut m = critical();
        m.items[0].links = None;
        assert!(all_buttons(&card(&m, false)).is_empty());
    }

    #[test]
    fn resolved_is_green_without_buttons() {
        let m = resolved_msg();
        for callbacks in [false, true] {
            let card = card(&m, callbacks);
            assert_eq!(card["header"]["template"], "green");
            assert!(
                card["header"]["title"]["content"]
                    .as_str()
                    .unwrap()
                    .starts_with("[RESOLVED] ")
            );
            assert!(all_buttons(&card).is_empty());
            assert!(all_markdown(&card).contains("**Resolved at:** 2026-11-22 10:30:00 UTC"));
        }
    }

    #[test]
    fn aggregated_shows_occurrences_in_window() {
        let card = card(&aggregated(), false);
        assert_eq!(card["header"]["template"], "yellow");
        let md = all_markdown(&card);
        assert!(md.contains("57 occurrences in the last window"), "{md}");
        assert!(md.contains("**Occurrences:** 3"));
    }

    #[test]
    fn group_lists_each_alert_and_the_omitted_count() {
        let m = group3();
        let card = card(&m, true);
        assert_eq!(card["header"]["template"], "orange");
        let md = all_markdown(&card);
        assert!(md.contains("**8 alerts**"), "{md}");
        for i in 1..=3 {
            assert!(md.contains(&format!("**Disk full on node-{i}**")), "{md}");
        }
        assert!(md.contains("**5 more alerts**"));
        let ids: Vec<&Value> = all_buttons(&card)
            .iter()
            .map(|b| &b["behaviors"][0]["value"]["alert_id"])
            .collect();
        assert_eq!(ids.len(), 9);
        assert_eq!(ids[0], "A-1");
        assert_eq!(ids[8], "A-3");
    }

    #[test]
    fn huge_content_is_truncated_under_the_limits() {
        let m = huge();
        let body = bot_body(&m).to_string();
        assert!(body.len() <= BOT_BODY_MAX, "{}", body.len());
        assert!(
            body.len() > BOT_BODY_MAX - 2_000,
            "cut too much: {}",
            body.len()
        );
        assert!(body.contains(text::TRUNCATED));
        // The buttons survive.
        assert_eq!(all_buttons(&bot_body(&m)["card"]).len(), 3);

        let content = app_content(&m);
        assert!(serde_json::to_string(&content).unwrap().len() <= APP_CONTENT_MAX);
        assert!(content.contains(text::TRUNCATED));
    }

    #[test]
    fn big_groups_move_alerts_into_omitted() {
        let m = huge_group(40);
        let card = card(&m, false);
        let size = card.to_string().len() + BOT_WRAPPER.len();
        assert!(size <= BOT_BODY_MAX, "{size}");
        let md = all_markdown(&card);
        assert!(md.contains("**40 alerts**"));
        let listed = all_buttons(&card).len() / 3;
        assert!((1..=MAX_LISTED).contains(&listed), "{listed}");
        assert!(
            md.contains(&format!(
                "**{}**",
                super::super::Locale::En.more(40 - listed)
            )),
            "{md}"
        );
        // Elements stay within the card's 200 (columns and buttons count).
        let count: usize = elements(&card)
            .iter()
            .map(|e| match e["columns"].as_array() {
                Some(cols) => 1 + cols.len() * 2,
                None => 1,
            })
            .sum();
        assert!(count <= 200, "{count}");
    }

    #[test]
    fn markup_in_user_text_is_escaped() {
        for title in EVIL_TITLES {
            let m = evil(title);
            for callbacks in [false, true] {
                let card = card(&m, callbacks);
                // Plain text in the header, verbatim.
                assert!(
                    card["header"]["title"]["content"]
                        .as_str()
                        .unwrap()
                        .contains(title)
                );
                let md = all_markdown(&card);
                for bad in [
                    "[click]",
                    "(https://evil",
                    "<at",
                    "<font",
                    "<!",
                    "**bold**",
                    "`code`",
                    "\n# heading",
                    "\n- list",
                    "\n> quote",
                ] {
                    assert!(!md.contains(bad), "{bad} in {md}");
                }
                assert!(!md.contains("javascript:"), "{md}");
                // The hostile URL is a link that cannot be closed early.
                assert!(
                    md.contains(
                        "[Dashboard](https://ok.example/d?q=a%29%28b%5Bc%5D%3Cd%3E%7Ce%22f%27g)"
                    ),
                    "{md}"
                );
                assert_eq!(all_buttons(&card).len(), 3);
            }
        }
    }

    #[test]
    fn empty_message_does_not_panic() {
        let m = compose(crate::engine::NoticeKind::Firing, vec![]);
        let card = card(&m, true);
        assert_eq!(card["header"]["template"], "blue");
        assert!(all_buttons(&card).is_empty());
    }

    #[test]
    fn mentions_are_at_elements_by_open_id_and_unsafe_ids_are_left_out() {
        let v = card(&mentioned(critical()), true);
        let first = v["body"]["elements"][0]["content"].as_str().unwrap();
        assert_eq!(first, "<at id=ou_7d8a6e6df7621556ce0d21922b676706></at>");
        assert!(!v.to_string().contains("id=all"), "{v}");
    }
}
