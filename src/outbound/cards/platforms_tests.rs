//! Behaviours every card renderer shares, checked on each of them from one
//! table: digests, follow-ups, what Grafana sends, a Chinese team's cards.

use super::text::fixtures::*;
use super::{Message, dingtalk, email, feishu, slack, text, wecom};

struct Platform {
    name: &'static str,
    render: fn(&Message) -> String,
    /// Where its digests list the alerts they stand for (email lists them
    /// all, without a size budget).
    digests: bool,
    /// What shows the Grafana panel image, in the rendering `image_view`
    /// gives (WeCom's template card has room only for two links: its
    /// markdown form links the image).
    image: &'static str,
    image_view: fn(&Message) -> String,
}

fn email_text(m: &Message) -> String {
    let e = email::message(m);
    format!("{}\n{}\n{}", e.subject, e.text, e.html)
}

fn wecom_markdown(m: &Message) -> String {
    let mut m = m.clone();
    m.audience = mentioned(critical()).audience;
    wecom::message(&m).to_string()
}

fn platforms() -> [Platform; 5] {
    [
        Platform {
            name: "dingtalk",
            render: |m| dingtalk::message(m).to_string(),
            digests: true,
            image: "![panel](https://grafana.example.com/render/panel.png)",
            image_view: |m| dingtalk::message(m).to_string(),
        },
        Platform {
            name: "feishu",
            render: |m| feishu::card(m, false).to_string(),
            digests: true,
            image: "Panel image",
            image_view: |m| feishu::card(m, false).to_string(),
        },
        Platform {
            name: "wecom",
            render: |m| wecom::message(m).to_string(),
            digests: true,
            image: "Panel image",
            image_view: wecom_markdown,
        },
        Platform {
            name: "slack",
            render: |m| slack::message(m).to_string(),
            digests: true,
            image: r#""type":"image""#,
            image_view: |m| slack::message(m).to_string(),
        },
        Platform {
            name: "email",
            render: email_text,
            digests: false,
            image: r#"<img src="https://grafana.example.com/render/panel.png""#,
            image_view: |m| email::message(m).html,
        },
    ]
}

#[test]
fn a_digest_lists_the_rest_in_lines_with_their_whole_severity_and_links_to_all() {
    for p in platforms().iter().filter(|p| p.digests) {
        let out = (p.render)(&digest(12));
        for i in 0..12 {
            assert!(
                out.contains(&format!("Queue {i} slow")),
                "{}: {out}",
                p.name
            );
        }
        assert!(
            !out.contains(text::TRUNCATED),
            "{}: nothing is cut: {out}",
            p.name
        );
        assert!(out.matches("WARNING").count() >= 9, "{}: {out}", p.name);
        // The detailed ones carry their runbook and dashboard links.
        assert_eq!(
            out.matches("runbooks.example.com/db").count(),
            3,
            "{}: {out}",
            p.name
        );
        assert!(
            out.contains("https://ackbot.example.com/ui/alerts?state=firing"),
            "{}: {out}",
            p.name
        );
    }
}

#[test]
fn a_follow_up_after_an_ack_is_short_and_offers_nothing_already_done() {
    for p in platforms() {
        let out = (p.render)(&acked_follow_up());
        let name = p.name;
        assert!(out.contains("Acknowledged by Li Lei"), "{name}: {out}");
        assert!(out.contains("Payment DB unreachable"), "{name}: {out}");
        assert!(!out.contains("/a/ack-"), "{name}: no buttons: {out}");
        assert!(
            !out.contains("Connection refused"),
            "{name}: no content: {out}"
        );
        assert!(
            !out.contains("runbooks.example.com"),
            "{name}: no links: {out}"
        );
        assert!(!out.contains("team"), "{name}: no labels: {out}");
        assert!(out.len() < 1_200, "{name}: {} bytes: {out}", out.len());
    }
}

#[test]
fn grafana_values_and_the_panel_image_are_on_the_card() {
    for p in platforms() {
        let out = (p.render)(&grafana());
        assert!(out.contains("A=12, C=0.5"), "{}: {out}", p.name);
        let view = (p.image_view)(&grafana());
        assert!(view.contains(p.image), "{}: {view}", p.name);
    }
}

#[test]
fn a_chinese_team_reads_chinese_words_and_shanghai_times() {
    let english = [
        "Severity",
        "Acknowledge",
        "Runbook",
        "more alert",
        "see all",
        "Labels",
        "Last seen",
        " UTC",
    ];
    for p in platforms() {
        let name = p.name;
        let card = (p.render)(&chinese(critical()));
        for word in ["级别", "处理手册", "最近发生", "18:04:30 CST"] {
            assert!(card.contains(word), "{name}: {word}: {card}");
        }
        let digest = (p.render)(&chinese(digest(12)));
        assert!(
            digest.contains("另有 40 条告警") && digest.contains("查看全部"),
            "{name}: {digest}"
        );
        let follow = (p.render)(&chinese(acked_follow_up()));
        assert!(
            follow.contains("已确认 by Li Lei · 2026-11-22 18:42:00 CST"),
            "{name}: {follow}"
        );
        for text in [&card, &digest, &follow] {
            for word in english {
                assert!(!text.contains(word), "{name}: {word} in {text}");
            }
        }
    }
}
