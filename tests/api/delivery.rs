//! Delivery end to end: an alert posted to the real server reaches a local
//! mock of the platform (`mockbot`), which checks the signature exactly as
//! the platform does and answers like it. Each test asserts what arrived, how
//! many times, and the outcome recorded in `GET /api/v1/alerts/{id}`.

use std::time::Duration;

use ackbot::config::{ChannelConfig, Config};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mockbot::{MockBot, Reply};

/// Generous: a restarted server waits for the dead worker's leases (about
/// 12 s with the 800 ms timeout these tests use).
const WAIT: Duration = Duration::from_secs(30);

/// One channel, every alert to it at once, and retries that stay short.
fn with_channel(c: ChannelConfig) -> impl FnOnce(&mut Config) {
    move |config: &mut Config| {
        config.channels = vec![c];
        config.delivery.max_backoff = Duration::from_secs(1);
        config.delivery.timeout = Duration::from_millis(800);
        config.validate().unwrap();
    }
}

/// Polls the alert until its deliveries satisfy `done`; returns them.
async fn deliveries_until(app: &TestApp, id: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let d = app.get_json(&format!("/api/v1/alerts/{id}")).await["deliveries"]
            .as_array()
            .unwrap()
            .clone();
        if done(&d) {
            return d;
        }
        assert!(std::time::Instant::now() < deadline, "deliveries: {d:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn settled(d: &[Value]) -> bool {
    !d.is_empty() && d.iter().all(|d| d["status"] != "pending")
}

#[tokio::test]
async fn a_signed_feishu_card_arrives_and_is_recorded_sent() {
    let mock = MockBot::feishu_bot(Some("feishu-bot-secret")).await;
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"ops\"\ntype = \"feishu_bot\"\nurl = \"{}\"\nsecret = \"feishu-bot-secret\"",
        mock.url()
    ))))
    .await;
    let id = app
        .post_alert(
            &json!({"title": "Payment DB unreachable", "severity": "critical", "service": "payment",
               "trace_id": "trace-7f3a"}),
        )
        .await;
    let got = mock.wait_for(1, WAIT).await;
    assert!(got[0].verified, "{:?}", got[0].rejection);
    assert_eq!(got[0].body["msg_type"], "interactive");
    let card = got[0].body["card"].to_string();
    assert!(card.contains("Payment DB unreachable"), "{card}");
    assert!(card.contains("trace-7f3a"), "{card}");
    let d = deliveries_until(&app, &id, settled).await;
    assert_eq!(d[0]["status"], "sent");
    assert_eq!(d[0]["channel"], "ops");
    assert_eq!(d[0]["attempts"], 1);
    assert_eq!(mock.received().len(), 1, "sent once");
}

#[tokio::test]
async fn a_500_is_retried_then_delivered_once() {
    let mock = MockBot::webhook(Some("hook-secret")).await;
    mock.script([Reply::Status(500)]);
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\nsecret = \"hook-secret\"",
        mock.url()
    ))))
    .await;
    let id = app.post_alert(&json!({"title": "disk full"})).await;
    let d = deliveries_until(&app, &id, settled).await;
    assert_eq!(d[0]["status"], "sent");
    assert_eq!(d[0]["attempts"], 2);
    let got = mock.received();
    assert_eq!(got.iter().map(|r| r.status).collect::<Vec<_>>(), [500, 200]);
    assert!(got.iter().all(|r| r.verified));
    assert_eq!(got[1].body["alerts"][0]["title"], "disk full");
}

#[tokio::test]
async fn a_429_is_retried_no_sooner_than_retry_after() {
    let mock = MockBot::slack().await;
    mock.script([Reply::RetryAfter(429, 1)]);
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"slack\"\ntype = \"slack\"\nurl = \"{}\"",
        mock.url()
    ))))
    .await;
    let id = app.post_alert(&json!({"title": "latency high"})).await;
    let got = mock.wait_for(2, WAIT).await;
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(950), "retried after {gap:?}");
    let d = deliveries_until(&app, &id, settled).await;
    assert_eq!(
        (d[0]["status"].as_str(), d[0]["attempts"].as_i64()),
        (Some("sent"), Some(2))
    );
}

#[tokio::test]
async fn dingtalk_rate_limit_errcode_in_a_200_is_retried() {
    let mock = MockBot::dingtalk_bot("SECdingtalk-secret").await;
    mock.script([Reply::errcode(
        130101,
        "send too fast, exceed 20 times per minute",
    )]);
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{}\"\nsecret = \"SECdingtalk-secret\"\nrate_per_minute = 0",
        mock.url()
    ))))
    .await;
    let id = app
        .post_alert(&json!({"title": "queue backlog", "severity": "error"}))
        .await;
    let got = mock.wait_for(2, WAIT).await;
    assert!(got.iter().all(|r| r.verified));
    let d = deliveries_until(&app, &id, settled).await;
    assert_eq!(d[0]["status"], "sent");
    assert_eq!(d[0]["attempts"], 2);
}

#[tokio::test]
async fn a_permanent_refusal_is_not_retried_and_says_why() {
    let mock = MockBot::dingtalk_bot("SECright-secret").await;
    // ackbot signs with the wrong secret: DingTalk answers 310000 in a 200.
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{}\"\nsecret = \"SECwrong-secret\"",
        mock.url()
    ))))
    .await;
    let id = app.post_alert(&json!({"title": "cert expiring"})).await;
    let d = deliveries_until(&app, &id, settled).await;
    assert_eq!(d[0]["status"], "failed");
    assert_eq!(d[0]["attempts"], 1);
    assert!(
        d[0]["last_error"].as_str().unwrap().contains("310000"),
        "{}",
        d[0]["last_error"]
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let got = mock.received();
    assert_eq!(got.len(), 1, "not retried");
    assert!(!got[0].verified);
    // Counted for Prometheus (the registry is per process: at least this one).
    let metrics = app.metrics_text().await;
    let line = metrics
        .lines()
        .find(|l| {
            l.starts_with("ackbot_deliveries_total{")
                && l.contains("channel=\"dd\"")
                && l.contains("outcome=\"failed\"")
        })
        .unwrap_or_else(|| panic!("{metrics}"));
    let n: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(n >= 1.0, "{line}");
    assert!(
        metrics.contains("ackbot_alerts_accepted_total"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let mock = MockBot::wecom_bot().await;
    mock.script([Reply::Delay(Duration::from_secs(3))]);
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"wx\"\ntype = \"wecom_bot\"\nurl = \"{}\"\nrate_per_minute = 0",
        mock.url()
    ))))
    .await;
    let id = app.post_alert(&json!({"title": "slow disk"})).await;
    let d = deliveries_until(&app, &id, settled).await;
    assert_eq!(d[0]["status"], "sent");
    assert_eq!(d[0]["attempts"], 2);
    assert!(d[0]["last_error"].is_null());
    assert_eq!(mock.received().len(), 2);
}

#[tokio::test]
async fn feishu_app_fetches_one_token_and_refreshes_it_when_feishu_says_it_expired() {
    let mock = MockBot::feishu_app("cli_test", "app-secret-value").await;
    let app = spawn_app_with(|c: &mut Config| {
        let feishu = c.feishu.as_mut().unwrap();
        feishu.app_id = Some("cli_test".into());
        feishu.app_secret = Some(ackbot::config::Secret::new("app-secret-value"));
        feishu.api_base = mock.url();
        with_channel(channel(
            "name = \"app\"\ntype = \"feishu_app\"\nchat_id = \"oc_test\"\nrate_per_second = 0",
        ))(c);
    })
    .await;
    let first = app
        .post_alert(&json!({"title": "one", "severity": "critical"}))
        .await;
    let second = app
        .post_alert(&json!({"title": "two", "severity": "critical"}))
        .await;
    mock.wait_for(2, WAIT).await;
    assert_eq!(mock.token_fetches(), 1, "one token shared");
    mock.expire_token();
    let third = app
        .post_alert(&json!({"title": "three", "severity": "critical"}))
        .await;
    for id in [&first, &second, &third] {
        let d = deliveries_until(&app, id, settled).await;
        assert_eq!(d[0]["status"], "sent", "{id}");
    }
    assert_eq!(mock.token_fetches(), 2, "refreshed once after the expiry");
    let delivered = mock.delivered();
    assert_eq!(delivered.len(), 3);
    // Callback buttons on app cards: the value names the action and the alert.
    let content = delivered[0].body["content"].as_str().unwrap();
    assert!(content.contains("\"callback\""), "{content}");
}

#[tokio::test]
async fn pending_deliveries_survive_a_restart_and_arrive_once() {
    let mock = MockBot::webhook(None).await;
    // First life: the channel's URL refuses connections, so every send fails
    // and waits for its retry.
    let dead = "http://127.0.0.1:9/hook";
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{dead}\""
    ))))
    .await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            app.post_alert(&json!({"title": format!("restart {i}")}))
                .await,
        );
    }
    for id in &ids {
        deliveries_until(&app, id, |d| {
            d.iter().any(|d| d["attempts"].as_i64() >= Some(1))
        })
        .await;
    }
    let dir = app.stop().await;
    // Second life, same database: the same channel now reaches the mock.
    let app = spawn_app_in(
        dir,
        with_channel(channel(&format!(
            "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"",
            mock.url()
        ))),
    )
    .await;
    for id in &ids {
        let d = deliveries_until(&app, id, settled).await;
        assert_eq!(d[0]["status"], "sent");
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let mut titles: Vec<String> = mock
        .received()
        .iter()
        .flat_map(|r| r.body["alerts"].as_array().unwrap().clone())
        .map(|a| a["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    assert_eq!(
        titles,
        (0..5).map(|i| format!("restart {i}")).collect::<Vec<_>>(),
        "each exactly once"
    );
}

#[tokio::test]
async fn a_burst_never_exceeds_the_rate_and_every_alert_is_in_a_digest() {
    let mock = MockBot::webhook(None).await;
    // 40 per minute: one send every 1.5 s.
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\nrate_per_minute = 40",
        mock.url()
    ))))
    .await;
    let alerts: Vec<Value> = (0..200)
        .map(|i| json!({"title": format!("burst {i}"), "severity": "warning"}))
        .collect();
    for chunk in alerts.chunks(20) {
        assert_eq!(app.post_alerts(&json!(chunk)).await.status(), 202);
    }
    // Every alert is represented: listed, or counted in `omitted`.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let got = mock.received();
        let represented: u64 = got
            .iter()
            .map(|r| {
                r.body["alerts"].as_array().unwrap().len() as u64
                    + r.body["omitted"].as_u64().unwrap()
            })
            .sum();
        if represented >= 200 {
            assert_eq!(represented, 200, "each alert once");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{represented} of 200 after {} sends",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let got = mock.received();
    assert!(
        got.len() <= 4,
        "{} sends for 200 alerts: digests expected",
        got.len()
    );
    for pair in got.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= Duration::from_millis(1400),
            "two sends {gap:?} apart at 40/min"
        );
    }
}

#[tokio::test]
async fn two_hundred_alerts_to_dingtalk_stay_within_20_a_minute_and_all_are_represented() {
    let mock = MockBot::dingtalk_bot("SECburst-secret").await;
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{}\"\nsecret = \"SECburst-secret\"",
        mock.url()
    ))))
    .await;
    let alerts: Vec<Value> = (0..200)
        .map(|i| json!({"title": format!("burst {i}"), "severity": "error"}))
        .collect();
    for chunk in alerts.chunks(25) {
        assert_eq!(app.post_alerts(&json!(chunk)).await.status(), 202);
    }
    let listed = regex::Regex::new(r"burst (\d+)\b").unwrap();
    let more = regex::Regex::new(r"\*\*(\d+) more alerts\*\*").unwrap();
    let deadline = std::time::Instant::now() + WAIT;
    let got = loop {
        let got = mock.received();
        let represented: usize = got
            .iter()
            .map(|r| {
                let text = r.body.to_string();
                let names: std::collections::BTreeSet<&str> =
                    listed.find_iter(&text).map(|m| m.as_str()).collect();
                let counted: usize = more
                    .captures_iter(&text)
                    .map(|c| c[1].parse::<usize>().unwrap())
                    .sum();
                names.len() + counted
            })
            .sum();
        if represented >= 200 {
            assert_eq!(represented, 200, "each alert once");
            break got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{represented} of 200 represented after {} sends",
            got.len()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(got.iter().all(|r| r.verified), "every request signed right");
    // 20 per minute, sent evenly: 3 s apart, so no minute ever holds more.
    for pair in got.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(gap >= Duration::from_millis(2900), "sends {gap:?} apart");
    }
    let first = got[0].at;
    let in_first_minute = got
        .iter()
        .filter(|r| r.at - first < Duration::from_secs(60))
        .count();
    assert!(in_first_minute <= 20);
}

/// The smallest SMTP server lettre will talk to (plain, on localhost): it
/// answers every command and keeps each message's DATA.
async fn fake_smtp() -> (u16, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = mails.clone();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            let mails = kept.clone();
            tokio::spawn(async move {
                let (read, mut write) = socket.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 fake ESMTP\r\n").await.unwrap();
                let mut data: Option<String> = None;
                while let Ok(Some(line)) = lines.next_line().await {
                    if let Some(body) = data.as_mut() {
                        if line == "." {
                            mails.lock().unwrap().push(data.take().unwrap());
                            write.write_all(b"250 2.0.0 queued\r\n").await.unwrap();
                        } else {
                            body.push_str(&line);
                            body.push('\n');
                        }
                        continue;
                    }
                    let verb = line.split_whitespace().next().unwrap_or("").to_uppercase();
                    let reply: &[u8] = match verb.as_str() {
                        "EHLO" | "HELO" => b"250 fake\r\n",
                        "DATA" => {
                            data = Some(String::new());
                            b"354 end with .\r\n"
                        }
                        "QUIT" => {
                            let _ = write.write_all(b"221 bye\r\n").await;
                            return;
                        }
                        _ => b"250 OK\r\n",
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, mails)
}

#[tokio::test]
async fn email_goes_out_over_smtp_with_subject_and_both_bodies() {
    let (port, mails) = fake_smtp().await;
    let app = spawn_app_with(with_channel(channel(&format!(
        "name = \"mail\"\ntype = \"email\"\nsmtp_url = \"smtp://127.0.0.1:{port}\"\nfrom = \"ackbot@example.com\"\nto = [\"oncall@example.com\"]"
    ))))
    .await;
    let id = app
        .post_alert(
            &json!({"title": "Payment <DB> down", "severity": "critical", "service": "payment"}),
        )
        .await;
    let d = deliveries_until(&app, &id, settled).await;
    assert_eq!(d[0]["status"], "sent", "{d:#?}");
    let mails = mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1);
    let mail = &mails[0];
    assert!(
        mail.contains("Subject: [CRITICAL] Payment <DB> down (payment)"),
        "{mail}"
    );
    assert!(mail.contains("To: oncall@example.com"), "{mail}");
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
    assert!(
        mail.contains("Payment &lt;DB&gt; down"),
        "HTML is escaped: {mail}"
    );
}

#[tokio::test]
async fn cards_speak_the_configured_language_and_zone_and_a_channel_may_have_its_own() {
    let dd = MockBot::dingtalk_bot("SECzone-secret").await;
    let hook_ny = MockBot::dingtalk_bot("SECzone-secret").await;
    let (a, b) = (dd.url(), hook_ny.url());
    let app = spawn_app_with(move |c| {
        c.channels = vec![
            channel(&format!(
                "name = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{a}\"\nsecret = \"SECzone-secret\"\nrate_per_minute = 0"
            )),
            channel(&format!(
                "name = \"ny\"\ntype = \"dingtalk_bot\"\nurl = \"{b}\"\nsecret = \"SECzone-secret\"\nrate_per_minute = 0\ntimezone = \"America/New_York\"\nlocale = \"en\""
            )),
        ];
        c.cards.timezone = Some("Asia/Shanghai".into());
        c.cards.locale = Some("zh-CN".into());
        c.validate().unwrap();
    })
    .await;
    app.post_alert(&json!({"title": "Disk full", "severity": "critical"}))
        .await;
    let shanghai = dd.wait_for(1, WAIT).await[0].body.to_string();
    let ny = hook_ny.wait_for(1, WAIT).await[0].body.to_string();
    // This hour in Shanghai (or the one before, if the hour just turned).
    let hour = |t: chrono::DateTime<chrono::Utc>| {
        t.with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d %H:")
            .to_string()
    };
    let now = chrono::Utc::now();
    let local = [hour(now), hour(now - chrono::Duration::seconds(30))];
    assert!(
        shanghai.contains(" CST") && local.iter().any(|h| shanghai.contains(h)),
        "{shanghai}"
    );
    assert!(!shanghai.contains(" UTC"), "{shanghai}");
    assert!(
        shanghai.contains("级别") && shanghai.contains("告警中"),
        "zh-CN words: {shanghai}"
    );
    assert!(ny.contains(" EST") || ny.contains(" EDT"), "{ny}");
    assert!(
        ny.contains("Severity") && !ny.contains("级别"),
        "its own locale: {ny}"
    );
    // A zone that is not one is refused at load.
    let mut bad = ackbot::config::Config::default();
    bad.cards.timezone = Some("Mars/Olympus".into());
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("cards.timezone") && e.contains("IANA"), "{e}");
    let mut bad = ackbot::config::Config::default();
    bad.cards.locale = Some("fr".into());
    let e = bad.validate().unwrap_err().to_string();
    assert!(e.contains("cards.locale") && e.contains("zh-CN"), "{e}");
}
