//! Hostile input that is not a replay: absurd values in bodies the
//! signature does not cover, oracles, mentions and control characters.
//! Each gets a clear answer and changes nothing.

use ackbot::config::{Config, Secret};
use serde_json::{Value, json};

use crate::helpers::*;

const CARD_SECRET: &str = "dingtalk-card-api-secret";

#[tokio::test]
async fn an_absurd_silence_duration_is_a_clear_error_not_a_dropped_connection() {
    let app = spawn_app_with(|c: &mut Config| {
        c.dingtalk.as_mut().unwrap().card_callback_secret = Some(Secret::new(CARD_SECRET));
    })
    .await;
    let id = app.post_alert(&json!({"title": "disk full"})).await;
    for (i, duration) in [json!(i64::MAX), json!(-5), json!(1e300), json!(u64::MAX)]
        .into_iter()
        .enumerate()
    {
        // The DingTalk card body is not signed: anyone with one pair can send this.
        let body = json!({
            "type": "actionCallback", "outTrackId": format!("alert-{id}"), "userId": "user123",
            "content": json!({"cardPrivateData": {"params":
                {"action": "silence", "alert_id": id, "duration_s": duration}}}).to_string(),
        });
        let ts = (now_secs() * 1000 + i as i64).to_string();
        let sig = ackbot::verify::dingtalk::card_callback_signature(&ts, CARD_SECRET);
        let res = app
            .client
            .post(app.url("/dingtalk/card"))
            .header("x-ddpaas-signature-timestamp", ts)
            .header("x-ddpaas-signature", sig)
            .json(&body)
            .send()
            .await
            .expect("an answer, not a dropped connection");
        assert_eq!(res.status(), 200, "{duration}");
        let reply: Value = res.json().await.unwrap();
        let message = reply["userPrivateData"]["cardParamMap"]["message"]
            .as_str()
            .unwrap();
        assert!(message.contains("duration_s"), "{message}");
    }
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "firing");
    assert_eq!(
        app.get_json("/api/v1/silences").await["silences"],
        json!([])
    );
}

#[tokio::test]
async fn the_unsigned_feishu_path_answers_every_failure_the_same() {
    use ackbot::verify::feishu::Cipher;
    let app = spawn_app().await;
    let cipher = Cipher::new(FEISHU_ENCRYPT_KEY);
    let encrypt = |plain: &[u8]| json!({"encrypt": cipher.encrypt(plain, [3; 16])}).to_string();
    // A captured genuine event: it decrypts to valid JSON that is not a challenge.
    let genuine = encrypt(card_action_event("evt-oracle", FEISHU_TOKEN, json!({})).as_bytes());
    let mut flipped: Vec<u8> = {
        let b64 = serde_json::from_str::<Value>(&genuine).unwrap()["encrypt"]
            .as_str()
            .unwrap()
            .to_string();
        base64_decode(&b64)
    };
    let n = flipped.len();
    flipped[n - 20] ^= 0x01;
    let cases = [
        genuine,
        encrypt(b"not json at all"),
        encrypt(br#"{"type":"url_verification","token":"wrong","challenge":"c"}"#),
        encrypt(br#"{"type":"url_verification","token":"tok"}"#),
        encrypt(br#"{"schema":"2.0"}"#),
        json!({"encrypt": base64_encode(&flipped)}).to_string(),
        json!({"encrypt": "!!!!"}).to_string(),
        json!({"encrypt": "AAAA"}).to_string(),
        "{not json".to_string(),
        json!({"type": "url_verification", "token": FEISHU_TOKEN}).to_string(),
    ];
    let mut answers = std::collections::HashSet::new();
    for body in cases {
        let res = app.post_unsigned("/feishu/events", body.clone()).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        answers.insert((status, text));
    }
    assert_eq!(answers.len(), 1, "{answers:?}");
    let (status, text) = answers.into_iter().next().unwrap();
    assert_eq!(status, 401);
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap()["error"],
        "unauthenticated"
    );
    assert!(!app.recorder.touched());
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(b)
}
