//! Hostile input that is not a replay: absurd values in bodies the
//! signature does not cover, oracles, mentions and control characters.
//! Each gets a clear answer and changes nothing.

use ackbot::config::{Config, Secret};
use futures_util::StreamExt;
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

#[tokio::test]
async fn silences_from_chat_need_the_allow_list_unless_the_config_opens_them() {
    let app = spawn_app().await;
    let id = app.post_alert(&json!({"title": "disk full"})).await;
    // A card button and a chat command, from people not on any list.
    let value = json!({"action": "silence_1h", "alert_id": id});
    let reply = crate::chatops::click(&app, "evt-silence-refused", value).await;
    assert_eq!(reply["toast"]["type"], "error", "{reply}");
    let toast = reply["toast"]["content"].as_str().unwrap();
    assert!(
        toast.contains("allowed_users") && toast.contains("ou_li_lei"),
        "{toast}"
    );
    let (ts, sign) = dingtalk_headers(now_secs() * 1000, DINGTALK_SECRET);
    let command = dingtalk_message("msg-silence", "silence env=\"prod\" 1h");
    let res = app.post_dingtalk(&ts, &sign, &command).await;
    let text = res.json::<Value>().await.unwrap()["text"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("may not create silences"), "{text}");
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "firing"
    );
    assert_eq!(
        app.get_json("/api/v1/silences").await["silences"],
        json!([])
    );
    // Acknowledging is still open to anyone in the chat.
    let value = json!({"action": "ack", "alert_id": id});
    let reply = crate::chatops::click(&app, "evt-ack-open", value).await;
    assert_eq!(reply["toast"]["type"], "success", "{reply}");

    // `chat_silences = "anyone"`: whoever may act may silence.
    let app = spawn_app_with(|c: &mut Config| {
        c.alerts.chat_silences = ackbot::config::ChatSilences::Anyone;
    })
    .await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000, DINGTALK_SECRET);
    let res = app.post_dingtalk(&ts, &sign, &command).await;
    let text = res.json::<Value>().await.unwrap()["text"]["content"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.contains("Silenced alerts matching"), "{text}");
}

#[tokio::test]
async fn silences_are_bounded_in_matchers_and_in_number() {
    let app = spawn_app().await;
    let create = |matchers: Vec<String>| {
        app.api(reqwest::Method::POST, "/api/v1/silences")
            .json(&json!({"matchers": matchers, "duration": "1h"}))
            .send()
    };
    let many: Vec<String> = (0..17).map(|i| format!("l{i}=\"v\"")).collect();
    let body = assert_error(create(many).await.unwrap(), 400, "invalid").await;
    assert!(
        body["message"].as_str().unwrap().contains("at most 16"),
        "{body}"
    );
    // Up to 1 000 in force.
    for chunk in (0..1000).collect::<Vec<_>>().chunks(50) {
        let all = futures_util::future::join_all(
            chunk
                .iter()
                .map(|i| create(vec![format!("team=~\"db{i}|x\"")])),
        )
        .await;
        for res in all {
            let res = res.unwrap();
            assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
        }
    }
    let res = create(vec!["team=\"one-more\"".into()]).await.unwrap();
    let body = assert_error(res, 409, "conflict").await;
    assert!(body["message"].as_str().unwrap().contains("1000"), "{body}");
    // Ending one makes room.
    let list = app.get_json("/api/v1/silences").await;
    let first = list["silences"][0]["id"].as_str().unwrap().to_string();
    let res = app
        .api(
            reqwest::Method::DELETE,
            &format!("/api/v1/silences/{first}"),
        )
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    assert_eq!(
        create(vec!["team=\"one-more\"".into()])
            .await
            .unwrap()
            .status(),
        201
    );
    // Alerts are still read and ingested with them all in force.
    app.post_alert(&json!({"title": "t", "labels": {"team": "ops"}}))
        .await;
    assert_eq!(
        app.get_json("/api/v1/alerts").await["alerts"][0]["state"],
        "firing"
    );
}

#[tokio::test]
async fn slow_clients_cannot_starve_health_checks_or_genuine_callbacks() {
    use std::time::{Duration, Instant};
    let app = spawn_app_with(|c: &mut Config| {
        c.server.body_timeout = Duration::from_secs(5);
        c.server.max_requests_per_peer = 128;
    })
    .await;
    // 500 clients from another address, each sending headers and a few
    // bytes of a body that never ends.
    let slow = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(
            reqwest::Certificate::from_pem(
                &std::fs::read(app.dir.path().join("certs/server.crt")).unwrap(),
            )
            .unwrap(),
        )
        .local_address("127.0.0.2".parse::<std::net::IpAddr>().unwrap())
        .http1_only()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let url = app.url("/feishu/events");
    let clients: Vec<_> = (0..500)
        .map(|_| {
            let (slow, url) = (slow.clone(), url.clone());
            tokio::spawn(async move {
                let trickle = futures_util::stream::once(async {
                    Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"{\"encrypt\":"))
                })
                .chain(futures_util::stream::pending());
                slow.post(url)
                    .header("content-length", "4096")
                    .body(reqwest::Body::wrap_stream(trickle))
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Meanwhile, from here: a health probe and a genuine signed callback.
    let started = Instant::now();
    let health = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let signed = feishu_sign_encrypted(
        &card_action_event(
            "evt-during-flood",
            FEISHU_TOKEN,
            json!({"action": "ack", "alert_id": "A-1"}),
        ),
        FEISHU_ENCRYPT_KEY,
        now_secs(),
    );
    assert_eq!(
        app.post_feishu("/feishu/events", &signed).await.status(),
        200
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(1), "answered in {took:?}");
    // The slow ones: refused at once over the per-address bound, or cut
    // at the body deadline.
    let mut seen = std::collections::BTreeMap::new();
    for client in clients {
        let status = tokio::time::timeout(Duration::from_secs(10), client)
            .await
            .expect("every slow client is answered or cut within the deadline")
            .unwrap()
            .unwrap_or(0);
        *seen.entry(status).or_insert(0) += 1;
    }
    // At most 128 at a time got in: most of the 500 were refused at once
    // (more than 128 may get in over the run, as the first ones are cut
    // at their deadline while later ones still connect).
    assert!(seen.get(&503).copied().unwrap_or(0) >= 300, "{seen:?}");
    assert!(seen.keys().all(|s| [0, 408, 503].contains(s)), "{seen:?}");
    assert!(seen.contains_key(&408) || seen.contains_key(&0), "{seen:?}");
}
