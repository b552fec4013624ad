//! Delivery under pressure: a storm of warnings with a critical alert in it,
//! a flapping alert, two replicas sharing one bot's budget.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use ackbot::config::Config;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mockbot::{MockBot, Received, Reply};

const LINK_SECRET: &str = "storm-link-secret-0123456789abcdef-0123";

fn dingtalk(mock: &MockBot) -> impl FnOnce(&mut Config) {
    let url = mock.url();
    move |config: &mut Config| {
        config.channels = vec![channel(&format!(
            "name = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{url}\"\nsecret = \"SECstorm-secret\""
        ))];
        config.delivery.max_backoff = Duration::from_secs(1);
        config.validate().unwrap();
    }
}

/// Which of `titles` a message names, and how many more it counts.
fn represented(r: &Received, title: &regex::Regex) -> (BTreeSet<String>, usize) {
    let text = r.body.to_string();
    let names = title
        .find_iter(&text)
        .map(|m| m.as_str().to_string())
        .collect();
    let more = regex::Regex::new(r"\*\*(\d+) more alerts?\*\*").unwrap();
    let counted = more
        .captures_iter(&text)
        .map(|c| c[1].parse::<usize>().unwrap())
        .sum();
    (names, counted)
}

#[tokio::test]
async fn a_critical_alert_in_a_storm_of_3000_warnings_arrives_within_seconds_with_its_title() {
    let mock = MockBot::dingtalk_bot("SECstorm-secret").await;
    let app = spawn_app_with(|c| {
        dingtalk(&mock)(c);
        c.server.public_url = Some("https://ackbot.example.com".into());
        c.links = Some(toml::from_str(&format!("secret = \"{LINK_SECRET}\"")).unwrap());
    })
    .await;
    let storm: Vec<Value> = (0..3000)
        .map(|i| json!({"title": format!("storm {i}"), "severity": "warning", "service": "web"}))
        .collect();
    assert_eq!(app.post_alerts(&json!(storm)).await.status(), 202);
    let posted = Instant::now();
    app.post_alert(&json!({"title": "Payment DB unreachable", "severity": "critical"}))
        .await;

    // The critical alert: its own message, its own title, within 5 s.
    let critical = loop {
        if let Some(r) = mock
            .received()
            .into_iter()
            .find(|r| r.body.to_string().contains("Payment DB unreachable"))
        {
            break r;
        }
        assert!(
            posted.elapsed() < Duration::from_secs(5),
            "no critical message after {:?}; {} messages",
            posted.elapsed(),
            mock.received().len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let critical_after = posted.elapsed();
    let text = critical.body.to_string();
    assert!(text.contains("[CRITICAL] Payment DB unreachable"), "{text}");
    assert!(!text.contains("storm "), "not folded with the warnings");

    // Every warning is represented once, in a handful of messages.
    let title = regex::Regex::new(r"storm \d+\b").unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let (messages, names, counted) = loop {
        let got = mock.received();
        let mut names = BTreeSet::new();
        let mut counted = 0;
        for r in &got {
            let (n, c) = represented(r, &title);
            counted += c;
            for name in n {
                assert!(names.insert(name), "an alert named twice");
            }
        }
        if names.len() + counted >= 3000 {
            break (got, names, counted);
        }
        assert!(
            Instant::now() < deadline,
            "{} of 3000 represented in {} messages",
            names.len() + counted,
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(names.len() + counted, 3000);
    eprintln!(
        "storm: critical delivered {critical_after:?} after it was posted; {} messages; {} warnings named, {counted} counted",
        messages.len(),
        names.len()
    );
    assert!(
        names.len() >= 100,
        "a digest names as many as fit: {}",
        names.len()
    );
    assert!(
        messages.len() <= 4,
        "{} messages for the storm and the critical alert",
        messages.len()
    );
    assert!(
        messages
            .iter()
            .all(|r| r.verified && r.body.to_string().len() < 20_000)
    );
    for pair in messages.windows(2) {
        let gap = pair[1].at - pair[0].at;
        let heads: Vec<String> = messages
            .iter()
            .map(|m| format!("{:?} {:.120}", m.at - messages[0].at, m.body.to_string()))
            .collect();
        assert!(gap >= Duration::from_millis(2900), "{gap:?}: {heads:#?}");
    }
    // The digest says where to see the rest: a signed page that lists them.
    let digest = messages[0].body.to_string();
    let link =
        regex::Regex::new(r"\[see all\]\(https://ackbot\.example\.com(/a/[A-Za-z0-9_.-]+)\)")
            .unwrap();
    let path = &link.captures(&digest).expect("a see-all link")[1];
    let page = app.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Open alerts")
            && html.contains("Payment DB unreachable")
            && html.contains("storm "),
        "{html:.300}"
    );
    // Nothing more trickles in afterwards.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(mock.received().len(), messages.len());
}

#[tokio::test]
async fn a_flapping_alerts_messages_arrive_in_order_each_showing_the_state_it_announces() {
    let mock = MockBot::webhook(None).await;
    // The first send fails once: the later notices must wait for its retry.
    mock.script([Reply::Status(503)]);
    let app = spawn_app_with(|c| {
        c.channels = vec![channel(&format!(
            "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"",
            mock.url()
        ))];
        c.delivery.max_backoff = Duration::from_secs(1);
    })
    .await;
    let mut expected = Vec::new();
    for i in 0..4 {
        for status in ["firing", "resolved"] {
            app.post_alert(&json!({"title": "flappy", "fingerprint": "flap-1", "status": status}))
                .await;
            expected.push((status, i));
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
    let got = mock.wait_for(9, Duration::from_secs(20)).await;
    let delivered: Vec<&Received> = got.iter().filter(|r| r.status == 200).collect();
    assert_eq!(delivered.len(), 8, "one message per change");
    let kinds: Vec<&str> = delivered
        .iter()
        .map(|r| r.body["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        expected.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
        "in the order decided"
    );
    for r in &delivered {
        assert_eq!(
            r.body["kind"], r.body["alerts"][0]["state"],
            "a message shows the state it announces: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn two_replicas_share_one_dingtalk_budget() {
    if std::env::var("ACKBOT_TEST_DATABASE_URL").is_err() {
        // Replicas need PostgreSQL (SQLite is one instance); CI's second pass.
        return;
    }
    let mock = MockBot::dingtalk_bot("SECstorm-secret").await;
    let a = spawn_app_with(dingtalk(&mock)).await;
    let b = spawn_replica(&a, dingtalk(&mock)).await;
    let alerts: Vec<Value> = (0..200)
        .map(|i| json!({"title": format!("shared {i}"), "severity": "error"}))
        .collect();
    for (n, chunk) in alerts.chunks(20).enumerate() {
        let app = if n % 2 == 0 { &a } else { &b };
        assert_eq!(app.post_alerts(&json!(chunk)).await.status(), 202);
    }
    let title = regex::Regex::new(r"shared \d+\b").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let got = loop {
        let got = mock.received();
        let total: usize = got
            .iter()
            .map(|r| {
                let (names, counted) = represented(r, &title);
                names.len() + counted
            })
            .sum();
        if total >= 200 {
            assert_eq!(total, 200, "each alert once");
            break got;
        }
        assert!(
            Instant::now() < deadline,
            "{total} of 200 in {} messages",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(got.iter().all(|r| r.verified));
    // Both replicas together: never two sends less than 3 s apart (20/min).
    for pair in got.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(2900), "sends {gap:?} apart");
    }
}
