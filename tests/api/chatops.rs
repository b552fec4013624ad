//! Acting from chat, end to end: an alert's card reaches a mock Feishu app
//! bot; the button value on that card comes back in a signed, encrypted
//! `card.action.trigger`; the state, the audit trail and the reply card
//! change. Chat commands through DingTalk and WeCom do the same.

use std::time::Duration;

use ackbot::config::{Config, Secret};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mockbot::MockBot;

const WAIT: Duration = Duration::from_secs(10);

/// The test config plus a Feishu app bot pointing at `mock`.
pub fn with_feishu_app(mock: &MockBot) -> impl FnOnce(&mut Config) + use<> {
    let base = mock.url();
    move |c: &mut Config| {
        let feishu = c.feishu.as_mut().unwrap();
        feishu.app_id = Some("cli_test".into());
        feishu.app_secret = Some(Secret::new("app-secret-value"));
        feishu.api_base = base;
        c.channels = vec![channel(
            "name = \"app\"\ntype = \"feishu_app\"\nchat_id = \"oc_ops\"\nrate_per_second = 0",
        )];
        c.delivery.max_backoff = Duration::from_secs(1);
        c.validate().unwrap();
    }
}

/// The callback values of the buttons on a card sent to the app bot.
pub fn button_values(card_content: &str) -> Vec<Value> {
    let card: Value = serde_json::from_str(card_content).unwrap();
    let mut out = Vec::new();
    collect_values(&card, &mut out);
    out
}

fn collect_values(v: &Value, out: &mut Vec<Value>) {
    match v {
        Value::Object(map) => {
            if map.get("type") == Some(&json!("callback")) {
                if let Some(value) = map.get("value") {
                    out.push(value.clone());
                }
            }
            map.values().for_each(|v| collect_values(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_values(v, out)),
        _ => {}
    }
}

pub async fn click(app: &TestApp, event_id: &str, value: Value) -> Value {
    let signed = feishu_sign_encrypted(
        &card_action_event(event_id, FEISHU_TOKEN, value),
        FEISHU_ENCRYPT_KEY,
        now_secs(),
    );
    let res = app.post_feishu("/feishu/events", &signed).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn acknowledge_from_the_feishu_card_updates_state_audit_and_card() {
    let mock = MockBot::feishu_app("cli_test", "app-secret-value").await;
    let app = spawn_app_with(with_feishu_app(&mock)).await;
    let id = app.post_alert(&json!({"title": "Payment DB unreachable", "severity": "critical", "service": "payment"}),
    )
    .await;
    let sent = mock.wait_for(1, WAIT).await;
    let values = button_values(sent[0].body["content"].as_str().unwrap());
    let ack = values
        .iter()
        .find(|v| v["action"] == "ack")
        .unwrap_or_else(|| panic!("no ack button: {values:?}"))
        .clone();
    assert_eq!(ack["alert_id"], id.as_str());

    let reply = click(&app, "evt-ack-1", ack.clone()).await;
    assert_eq!(reply["toast"]["type"], "success", "{reply}");
    assert!(
        reply["toast"]["content"]
            .as_str()
            .unwrap()
            .contains("Acknowledged")
    );
    let card = reply["card"]["data"].to_string();
    // The card escapes markdown (`_` as `&#95;`), which Feishu renders back.
    assert!(
        card.replace("&#95;", "_")
            .contains("acknowledged by ou_li_lei"),
        "{card}"
    );
    assert!(
        card.contains("Unacknowledge"),
        "buttons fit the new state: {card}"
    );

    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "acknowledged");
    assert_eq!(alert["acked_by"], "ou_li_lei");
    let events = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            last["kind"].as_str(),
            last["actor"].as_str(),
            last["via"].as_str()
        ),
        (Some("acknowledged"), Some("ou_li_lei"), Some("feishu"))
    );

    // The same button again (a new event): nothing changes, and it says so.
    let again = click(&app, "evt-ack-2", ack).await;
    assert_eq!(again["toast"]["type"], "info");
    assert!(
        again["toast"]["content"]
            .as_str()
            .unwrap()
            .contains("already acknowledged by ou_li_lei"),
        "{again}"
    );
    let events_after = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    assert_eq!(events_after, events, "no second audit entry");
}

#[tokio::test]
async fn silence_from_the_card_holds_the_next_occurrence_until_it_ends() {
    let mock = MockBot::feishu_app("cli_test", "app-secret-value").await;
    let app = spawn_app_with(|c: &mut Config| {
        with_feishu_app(&mock)(c);
        // Silences from chat need the clicker on the list (the default).
        c.feishu.as_mut().unwrap().allowed_users = vec!["ou_li_lei".into()];
    })
    .await;
    let alert = json!({"title": "disk 91%", "severity": "critical", "service": "db"});
    let id = app.post_alert(&alert.clone()).await;
    mock.wait_for(1, WAIT).await;
    // A short silence (the card's is one hour; `duration_s` is what a
    // "silence for …" button carries).
    let value = json!({"action": "silence", "alert_id": id, "duration_s": 2});
    let reply = click(&app, "evt-silence", value).await;
    assert_eq!(reply["toast"]["type"], "success", "{reply}");
    let shown = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(shown["state"], "silenced");

    // Resolved and firing again while silenced: nothing is delivered.
    app.post_alert(&json!({"title": "disk 91%", "severity": "critical", "service": "db", "status": "resolved"}),
    )
    .await;
    app.post_alert(&alert.clone()).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    // New messages only (the silence itself edits the sent card: a PATCH).
    let posts = |m: &MockBot| m.received().iter().filter(|r| r.method == "POST").count();
    assert_eq!(posts(&mock), 1, "silenced: not delivered");

    // After the silence ends, the next occurrence is.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    app.post_alert(&alert).await;
    let deadline = std::time::Instant::now() + WAIT;
    while posts(&mock) < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "not delivered after the silence"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn dingtalk_chat_commands_act_and_a_forged_one_changes_nothing() {
    let app = spawn_app().await;
    let id = app
        .post_alert(&json!({"title": "queue backlog", "severity": "error"}))
        .await;
    let short = &id[..6];

    let (ts, sign) = dingtalk_headers(now_secs() * 1000 + 1, DINGTALK_SECRET);
    let res = app
        .post_dingtalk(
            &ts,
            &sign,
            &dingtalk_message("m-1", &format!(" ack {short}")),
        )
        .await;
    assert_eq!(res.status(), 200);
    let reply: Value = res.json().await.unwrap();
    let text = reply["text"]["content"].as_str().unwrap();
    assert!(
        text.contains("Acknowledged") && text.contains("Zhang San"),
        "{text}"
    );
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(
        (alert["state"].as_str(), alert["acked_by"].as_str()),
        (Some("acknowledged"), Some("Zhang San"))
    );

    // Forged: signed with another secret. Refused, nothing changes.
    let (ts, sign) = dingtalk_headers(now_secs() * 1000 + 2, "not-the-secret");
    let res = app
        .post_dingtalk(
            &ts,
            &sign,
            &dingtalk_message("m-2", &format!(" resolve {short}")),
        )
        .await;
    assert_eq!(res.status(), 401);
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "acknowledged");

    // list shows what is firing (not the acknowledged one); an unknown
    // command gets help.
    let other = app
        .post_alert(&json!({"title": "disk full", "severity": "critical"}))
        .await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000 + 3, DINGTALK_SECRET);
    let res = app
        .post_dingtalk(&ts, &sign, &dingtalk_message("m-3", " list"))
        .await;
    let text = res.json::<Value>().await.unwrap()["text"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&other[..8]) && text.contains("disk full"),
        "{text}"
    );
    assert!(!text.contains(short), "acknowledged is not firing: {text}");
    let (ts, sign) = dingtalk_headers(now_secs() * 1000 + 4, DINGTALK_SECRET);
    let res = app
        .post_dingtalk(&ts, &sign, &dingtalk_message("m-4", " please fix"))
        .await;
    let text = res.json::<Value>().await.unwrap()["text"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("ack") && text.contains("silence"),
        "help: {text}"
    );
}

#[tokio::test]
async fn wecom_chat_commands_act_through_the_encrypted_callback() {
    let app = spawn_app().await;
    let id = app
        .post_alert(&json!({"title": "cert expires", "severity": "warning"}))
        .await;
    let (query, body, _) = wecom_post(&wecom_text("w-1", &format!("resolve {id}")), "", now_secs());
    let res = app.post_wecom(&query, body).await;
    assert_eq!(res.status(), 200);
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "resolved");
    let events = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    let last = events["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (last["actor"].as_str(), last["via"].as_str()),
        (Some("Li Lei"), Some("wecom"))
    );
}

#[tokio::test]
async fn allow_lists_refuse_others_and_say_so() {
    let app = spawn_app_with(|c: &mut Config| {
        c.dingtalk.as_mut().unwrap().allowed_users = vec!["someone-else".into()];
    })
    .await;
    let id = app.post_alert(&json!({"title": "guarded"})).await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000 + 5, DINGTALK_SECRET);
    let res = app
        .post_dingtalk(&ts, &sign, &dingtalk_message("m-1", &format!(" ack {id}")))
        .await;
    let text = res.json::<Value>().await.unwrap()["text"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        text.contains("may not act") && text.contains("user123"),
        "{text}"
    );
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "firing");
}

#[tokio::test]
async fn dingtalk_card_callbacks_act_once_and_answer_with_the_new_card_data() {
    const CARD_SECRET: &str = "dingtalk-card-api-secret";
    let app = spawn_app_with(|c: &mut Config| {
        c.dingtalk.as_mut().unwrap().card_callback_secret = Some(Secret::new(CARD_SECRET));
    })
    .await;
    let id = app
        .post_alert(&json!({"title": "replica lag", "severity": "critical"}))
        .await;
    let body = json!({
        "type": "actionCallback", "outTrackId": format!("alert-{id}"), "corpId": "dingcorp",
        "userId": "user123",
        "content": json!({"cardPrivateData": {"actionIds": ["ack"],
                          "params": {"action": "ack", "alert_id": id}}}).to_string(),
    })
    .to_string();
    let send = |secret: &'static str, ts: i64, body: String| {
        let ts = ts.to_string();
        let sig = ackbot::verify::dingtalk::card_callback_signature(&ts, secret);
        app.client
            .post(app.url("/dingtalk/card"))
            .header("x-ddpaas-signature-timestamp", ts)
            .header("x-ddpaas-signature", sig)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let ts = now_secs() * 1000;
    // Forged first: nothing happens.
    let forged = send("not-the-secret", ts, body.clone()).await.unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "firing"
    );

    let res = send(CARD_SECRET, ts, body.clone()).await.unwrap();
    assert_eq!(res.status(), 200);
    let reply: Value = res.json().await.unwrap();
    assert_eq!(
        reply["cardData"]["cardParamMap"]["status"], "acknowledged",
        "{reply}"
    );
    assert_eq!(reply["cardData"]["cardParamMap"]["ackBy"], "user123");
    assert!(
        reply["userPrivateData"]["cardParamMap"]["message"]
            .as_str()
            .unwrap()
            .contains("Acknowledged")
    );
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "acknowledged");

    // The same callback again is a replay.
    let again = send(CARD_SECRET, ts, body).await.unwrap();
    assert_eq!(again.status(), 403);
}

#[tokio::test]
async fn every_feishu_app_copy_of_the_card_is_updated_after_a_click() {
    let mock = MockBot::feishu_app("cli_test", "app-secret-value").await;
    let app = spawn_app_with(|c: &mut Config| {
        with_feishu_app(&mock)(c);
        // Two chats carry the alert: two copies of the card.
        c.channels.push(channel(
            "name = \"app2\"\ntype = \"feishu_app\"\nchat_id = \"oc_dba\"\nrate_per_second = 0",
        ));
        c.validate().unwrap();
    })
    .await;
    let id = app
        .post_alert(&json!({"title": "primary failover", "severity": "critical"}))
        .await;
    let sent = mock.wait_for(2, WAIT).await;
    let message_ids: Vec<String> = sent
        .iter()
        .map(|r| {
            r.response["data"]["message_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let reply = click(&app, "evt-copies", json!({"action": "ack", "alert_id": id})).await;
    assert_eq!(reply["toast"]["type"], "success", "{reply}");
    // Both copies are PATCHed with the acknowledged card, in the background.
    let got = mock.wait_for(4, WAIT).await;
    let patched: Vec<&str> = got
        .iter()
        .filter(|r| r.method == "PATCH")
        .map(|r| r.path.rsplit('/').next().unwrap())
        .collect();
    for mid in &message_ids {
        assert!(
            patched.contains(&mid.as_str()),
            "{mid} not patched: {patched:?}"
        );
        let card = mock.message(mid).unwrap().to_string().replace("&#95;", "_");
        assert!(card.contains("acknowledged by ou_li_lei"), "{card}");
    }
}

#[tokio::test]
async fn channels_that_cannot_edit_get_a_follow_up() {
    let mock = MockBot::webhook(None).await;
    let app = spawn_app_with(|c: &mut Config| {
        c.channels = vec![channel(&format!(
            "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"",
            mock.url()
        ))];
        c.delivery.max_backoff = Duration::from_secs(1);
        c.validate().unwrap();
    })
    .await;
    let id = app
        .post_alert(&json!({"title": "api 5xx", "severity": "error"}))
        .await;
    mock.wait_for(1, WAIT).await;
    // Wait until the first delivery is recorded: follow-ups go to channels
    // that carried the alert.
    let deadline = std::time::Instant::now() + WAIT;
    while app.get_json(&format!("/api/v1/alerts/{id}")).await["deliveries"][0]["status"] != "sent" {
        assert!(std::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let res = app
        .api(reqwest::Method::POST, &format!("/api/v1/alerts/{id}/ack"))
        .json(&json!({"by": "Han Meimei"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let got = mock.wait_for(2, WAIT).await;
    assert_eq!(got[1].body["kind"], "update");
    assert_eq!(got[1].body["alerts"][0]["state"], "acknowledged");
    assert_eq!(got[1].body["alerts"][0]["acked_by"], "Han Meimei");
}

#[tokio::test]
async fn feishu_chat_commands_are_answered_in_the_chat_with_the_name_from_contacts() {
    let mock = MockBot::feishu_app("cli_test", "app-secret-value").await;
    mock.with_contact("ou_li_lei", "Li Lei").await;
    mock.with_contact("ou_han_meimei", "Han Meimei").await;
    let app = spawn_app_with(with_feishu_app(&mock)).await;
    let id = app
        .post_alert(&json!({"title": "kafka lag", "severity": "critical"}))
        .await;
    mock.wait_for(1, WAIT).await;
    let event = message_event("evt-msg-1", &format!("@_user_1 ack {}", &id[..6]));
    let signed = feishu_sign_encrypted(&event, FEISHU_ENCRYPT_KEY, now_secs());
    let res = app.post_feishu("/feishu/events", &signed).await;
    assert_eq!(res.status(), 200);
    // The reply is a text message to the same chat, sent after the event.
    let got = mock.wait_for(2, WAIT).await;
    let reply = got
        .iter()
        .find(|r| r.body["msg_type"] == "text")
        .unwrap_or_else(|| panic!("no text reply: {got:?}"));
    let text: Value = serde_json::from_str(reply.body["content"].as_str().unwrap()).unwrap();
    assert!(
        text["text"].as_str().unwrap().contains("Acknowledged"),
        "{text}"
    );
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(
        alert["acked_by"], "Han Meimei",
        "the name from the contact API"
    );

    // A card click is named the same way.
    let other = app
        .post_alert(&json!({"title": "zk session expired", "severity": "critical"}))
        .await;
    let reply = click(
        &app,
        "evt-name",
        json!({"action": "ack", "alert_id": other}),
    )
    .await;
    assert_eq!(reply["toast"]["type"], "success", "{reply}");
    let alert = app.get_json(&format!("/api/v1/alerts/{other}")).await;
    assert_eq!(alert["acked_by"], "Li Lei");
}
