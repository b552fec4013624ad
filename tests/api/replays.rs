//! Replays, as an attacker who captured one genuine callback would try them:
//! with another body, after a restart, against another replica, and with the
//! signed fields re-spelled. Each is refused and changes nothing.

use ackbot::config::{Config, Secret};
use ackbot::verify::wecom;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::*;

const CARD_SECRET: &str = "dingtalk-card-api-secret";

fn with_card_secret(c: &mut Config) {
    c.dingtalk.as_mut().unwrap().card_callback_secret = Some(Secret::new(CARD_SECRET));
}

fn dingtalk_click(id: &str, user: &str, action: &str) -> String {
    json!({
        "type": "actionCallback", "outTrackId": format!("alert-{id}"), "corpId": "dingcorp",
        "userId": user,
        "content": json!({"cardPrivateData": {"actionIds": [action],
                          "params": {"action": action, "alert_id": id}}}).to_string(),
    })
    .to_string()
}

async fn post_card(app: &TestApp, ts: &str, sig: &str, body: String) -> Response {
    app.client
        .post(app.url("/dingtalk/card"))
        .header("x-ddpaas-signature-timestamp", ts)
        .header("x-ddpaas-signature", sig)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn state(app: &TestApp, id: &str) -> Value {
    app.get_json(&format!("/api/v1/alerts/{id}")).await["state"].clone()
}

#[tokio::test]
async fn a_dingtalk_card_pair_is_accepted_once_whatever_the_body() {
    let app = spawn_app_with(with_card_secret).await;
    let first = app.post_alert(&json!({"title": "disk full"})).await;
    let other = app.post_alert(&json!({"title": "replica lag"})).await;
    let ts = (now_secs() * 1000).to_string();
    let sig = ackbot::verify::dingtalk::card_callback_signature(&ts, CARD_SECRET);
    let res = post_card(&app, &ts, &sig, dingtalk_click(&first, "user123", "ack")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(state(&app, &first).await, "acknowledged");
    // The captured pair with another alert, another user, another action.
    let forged = dingtalk_click(&other, "mallory", "resolve");
    assert_error(post_card(&app, &ts, &sig, forged).await, 403, "replay").await;
    assert_eq!(state(&app, &other).await, "firing");
    assert_eq!(app.recorder.card_count(), 1);
}

/// Captured genuine callbacks of every platform, and the alert they act on.
struct Captured {
    alert: String,
    feishu: SignedFeishu,
    dingtalk: (String, String, Value),
    card: (String, String, String),
    wecom: (String, String),
}

/// Sends one genuine callback of each platform to `app` and keeps them.
async fn act_and_capture(app: &TestApp) -> Captured {
    let alert = app
        .post_alert(&json!({"title": "queue stuck", "labels": {"service": "billing"}}))
        .await;
    let now = now_secs();
    let feishu = feishu_sign_encrypted(
        &card_action_event(
            &format!("evt-{}", random_hex(4)),
            FEISHU_TOKEN,
            json!({"action": "resolve", "alert_id": alert}),
        ),
        FEISHU_ENCRYPT_KEY,
        now,
    );
    assert_eq!(
        app.post_feishu("/feishu/events", &feishu).await.status(),
        200
    );
    assert_eq!(state(app, &alert).await, "resolved");
    let (ts, sign) = dingtalk_headers(now * 1000, DINGTALK_SECRET);
    let message = dingtalk_message(&format!("msg-{}", random_hex(4)), "list");
    assert_eq!(app.post_dingtalk(&ts, &sign, &message).await.status(), 200);
    let card_ts = (now * 1000 + 1).to_string();
    let card_sig = ackbot::verify::dingtalk::card_callback_signature(&card_ts, CARD_SECRET);
    let click = dingtalk_click(&alert, "user123", "ack");
    assert_eq!(
        post_card(app, &card_ts, &card_sig, click.clone())
            .await
            .status(),
        200
    );
    let (query, body, _) = wecom_post(
        &wecom_text(&format!("m-{}", random_hex(4)), "list"),
        "",
        now,
    );
    assert_eq!(app.post_wecom(&query, body.clone()).await.status(), 200);
    assert_eq!(app.recorder.card_count(), 2);
    assert_eq!(app.recorder.chat_count(), 2);
    Captured {
        alert,
        feishu,
        dingtalk: (ts, sign, message),
        card: (card_ts, card_sig, click),
        wecom: (query, body),
    }
}

/// Replays every captured callback to `app`: none reaches the handler, and
/// the alert (firing again) stays firing.
async fn replay_all(app: &TestApp, c: &Captured) {
    let res = app.post_feishu("/feishu/events", &c.feishu).await;
    // Feishu re-delivers: a repeated event_id is answered 200, not acted on.
    assert_eq!(res.status(), 200);
    let (ts, sign, message) = &c.dingtalk;
    assert_error(app.post_dingtalk(ts, sign, message).await, 403, "replay").await;
    let (ts, sig, click) = &c.card;
    assert_error(post_card(app, ts, sig, click.clone()).await, 403, "replay").await;
    let (query, body) = &c.wecom;
    assert_error(app.post_wecom(query, body.clone()).await, 403, "replay").await;
    assert_eq!(app.recorder.card_count(), 0, "no card action was acted on");
    assert_eq!(app.recorder.chat_count(), 0, "no chat message was acted on");
    assert_eq!(state(app, &c.alert).await, "firing");
}

#[tokio::test]
async fn genuine_callbacks_are_not_accepted_again_after_a_restart() {
    let app = spawn_app_with(with_card_secret).await;
    let captured = act_and_capture(&app).await;
    let dir = app.stop().await;
    let app = spawn_app_in(dir, with_card_secret).await;
    // The alert fires again (same fingerprint): a replayed "resolve" would end it.
    let again = app
        .post_alert(&json!({"title": "queue stuck", "labels": {"service": "billing"}}))
        .await;
    assert_eq!(again, captured.alert);
    assert_eq!(state(&app, &again).await, "firing");
    replay_all(&app, &captured).await;
}

#[tokio::test]
async fn genuine_callbacks_are_not_accepted_again_by_another_replica() {
    if std::env::var("ACKBOT_TEST_DATABASE_URL").is_err() {
        // Replicas need PostgreSQL (SQLite is one process); CI's second pass.
        return;
    }
    let first = spawn_app_with(with_card_secret).await;
    let captured = act_and_capture(&first).await;
    let second = spawn_replica(&first, with_card_secret).await;
    let again = second
        .post_alert(&json!({"title": "queue stuck", "labels": {"service": "billing"}}))
        .await;
    assert_eq!(again, captured.alert);
    replay_all(&second, &captured).await;
}

#[tokio::test]
async fn a_wecom_request_respelled_to_sign_the_same_is_refused() {
    let app = spawn_app().await;
    let cipher = wecom::Cipher::new(WECOM_AES_KEY).unwrap();
    let encrypted = cipher.encrypt(wecom_text("m-shift", "list").as_bytes(), "", [7; 16]);
    let body = format!("<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>");
    let ts = now_secs().to_string();
    let query = |ts: &str, nonce: &str| {
        let sig = hex::encode(wecom::msg_signature(WECOM_TOKEN, ts, nonce, &encrypted));
        format!("msg_signature={sig}&timestamp={ts}&nonce={nonce}")
    };
    // Sorted and joined, ("0000", ts) and ("000", "0" + ts) are the same string.
    let genuine = query(&ts, "0000");
    let shifted = query(&format!("0{ts}"), "000");
    assert_eq!(
        genuine.split('&').next(),
        shifted.split('&').next(),
        "the same signature"
    );
    assert_eq!(app.post_wecom(&genuine, body.clone()).await.status(), 200);
    let res = app.post_wecom(&shifted, body.clone()).await;
    assert!(
        [400, 401, 403].contains(&res.status().as_u16()),
        "{}",
        res.status()
    );
    assert_eq!(app.recorder.chat_count(), 1);
}

#[tokio::test]
async fn a_flood_of_one_dingtalk_pair_is_refused_and_other_callbacks_go_on() {
    let app = spawn_app().await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000, DINGTALK_SECRET);
    let message = dingtalk_message("msg-flood", "list");
    assert_eq!(app.post_dingtalk(&ts, &sign, &message).await.status(), 200);
    for i in 0..50 {
        let other = dingtalk_message(&format!("msg-flood-{i}"), "list");
        assert_eq!(app.post_dingtalk(&ts, &sign, &other).await.status(), 403);
    }
    // Genuine callbacks of every platform still go through.
    let (ts, sign) = dingtalk_headers(now_secs() * 1000 + 5, DINGTALK_SECRET);
    assert_eq!(
        app.post_dingtalk(&ts, &sign, &dingtalk_message("msg-ok", "list"))
            .await
            .status(),
        200
    );
    let (query, body, _) = wecom_post(&wecom_text("m-ok", "list"), "", now_secs());
    assert_eq!(app.post_wecom(&query, body).await.status(), 200);
    assert_eq!(app.recorder.chat_count(), 3);
}
