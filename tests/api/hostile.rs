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

#[tokio::test]
async fn a_title_cannot_mention_everyone_through_a_feishu_chat_reply() {
    use crate::mockbot::MockBot;
    let wait = std::time::Duration::from_secs(10);
    let mock = MockBot::feishu_app("cli_test", "app-secret-value").await;
    let app = spawn_app_with(crate::chatops::with_feishu_app(&mock)).await;
    app.post_alert(
        &json!({"title": "<at user_id=\"all\">所有人</at> disk full", "severity": "critical"}),
    )
    .await;
    mock.wait_for(1, wait).await;
    let event = message_event("evt-mention", "@_user_1 list");
    let signed = feishu_sign_encrypted(&event, FEISHU_ENCRYPT_KEY, now_secs());
    assert_eq!(
        app.post_feishu("/feishu/events", &signed).await.status(),
        200
    );
    let got = mock.wait_for(2, wait).await;
    let reply = got
        .iter()
        .find(|r| r.body["msg_type"] == "text")
        .unwrap_or_else(|| panic!("no text reply: {got:?}"));
    let text: Value = serde_json::from_str(reply.body["content"].as_str().unwrap()).unwrap();
    let text = text["text"].as_str().unwrap();
    assert!(text.contains("disk full"), "{text}");
    assert!(!text.contains("<at"), "{text}");
    assert!(text.contains("＜at user_id=\"all\">所有人＜/at>"), "{text}");
}

#[tokio::test]
async fn bidi_and_invisible_characters_are_stripped_from_names_and_titles() {
    let app = spawn_app().await;
    let id = app
        .post_alert(&json!({"title": "disk\u{202E} full\u{200B}", "content": "a\u{2066}b\nc"}))
        .await;
    let res = app
        .api(reqwest::Method::POST, &format!("/api/v1/alerts/{id}/ack"))
        .json(&json!({"by": "Li Lei\u{202E}\u{200B}ieL iL\u{0007}"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["title"], "disk full");
    assert_eq!(alert["content"], "ab\nc");
    assert_eq!(alert["acked_by"], "Li LeiieL iL");
    // A name of nothing visible is refused, naming the field.
    let res = app
        .api(reqwest::Method::POST, &format!("/api/v1/alerts/{id}/unack"))
        .json(&json!({"by": "\u{202E}\u{200B}"}))
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 400, "invalid").await;
    assert_eq!(body["field"], "by", "{body}");
    let res = app
        .api(reqwest::Method::POST, "/api/v1/silences")
        .json(&json!({"matchers": ["env=\"prod\""], "duration": "1h",
                      "by": "\u{2067}Han Meimei\u{2069}", "comment": "x\u{202E}y"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let silence: Value = res.json().await.unwrap();
    assert_eq!(silence["silence"]["created_by"], "Han Meimei");
    assert_eq!(silence["silence"]["comment"], "xy");
}

#[tokio::test]
async fn logs_carry_no_signature_nonce_ciphertext_or_link_token_whatever_the_path_spelling() {
    use crate::process::{Ackbot, config_in};
    let dir = tempfile::tempdir().unwrap();
    let extra =
        format!("[wecom]\ntoken = \"{WECOM_TOKEN}\"\nencoding_aes_key = \"{WECOM_AES_KEY}\"\n");
    let ackbot = Ackbot::start(dir.path(), &config_in(dir.path(), &extra).await, &[]).await;
    let secrets = [
        "5ec4e7516e47a70e",
        "n0nce7713",
        "ECH0STR99",
        "C1PHERTEXT42",
        "T0KEN5ecret",
    ];
    let [sig, nonce, echo, cipher, token] = secrets;
    let query = format!("msg_signature={sig}&timestamp=1700000000&nonce={nonce}");
    for path in ["/wecom/callback", "//wecom/callback", "/wecom//callback"] {
        let res = ackbot
            .client
            .get(ackbot.url(&format!("{path}?{query}&echostr={echo}")))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{path}");
        let res = ackbot
            .client
            .post(ackbot.url(&format!("{path}?{query}")))
            .body(format!(
                "<xml><Encrypt><![CDATA[{cipher}]]></Encrypt></xml>"
            ))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_client_error(), "{path}");
        let text = res.text().await.unwrap();
        for s in secrets {
            assert!(!text.contains(s), "{path}: {text}");
        }
    }
    for path in [
        format!("/a/{token}"),
        format!("/%61/{token}"),
        format!("//a/{token}"),
        format!("/a//{token}?x=1"),
    ] {
        for method in [
            reqwest::Method::GET,
            reqwest::Method::POST,
            reqwest::Method::PUT,
        ] {
            let res = ackbot
                .client
                .request(method, ackbot.url(&path))
                .send()
                .await
                .unwrap();
            let text = res.text().await.unwrap();
            assert!(!text.contains(token), "{path}: {text}");
        }
    }
    let log = ackbot.log();
    assert!(
        log.contains("request refused"),
        "refusals are logged:\n{log}"
    );
    for s in secrets {
        assert!(!log.contains(s), "`{s}` in the log:\n{log}");
    }
}
