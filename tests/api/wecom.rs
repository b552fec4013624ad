use ackbot::verify::wecom;

use crate::helpers::*;

fn cipher() -> wecom::Cipher {
    wecom::Cipher::new(WECOM_AES_KEY).unwrap()
}

/// An encrypted echostr whose base64 has both `+` and `/`.
fn echostr_with_plus(plain: &str) -> String {
    (0u8..=255)
        .map(|i| cipher().encrypt(plain.as_bytes(), "", [i; 16]))
        .find(|e| e.contains('+') && e.contains('/'))
        .unwrap()
}

fn url_check_query(echostr: &str, ts: i64, encode: bool) -> String {
    let (ts, nonce) = (ts.to_string(), random_hex(4));
    let sig = hex::encode(wecom::msg_signature(WECOM_TOKEN, &ts, &nonce, echostr));
    let echo = if encode {
        percent(echostr)
    } else {
        echostr.to_string()
    };
    format!("msg_signature={sig}&timestamp={ts}&nonce={nonce}&echostr={echo}")
}

#[tokio::test]
async fn url_verification_echoes_the_decrypted_echostr() {
    let app = spawn_app().await;
    let echostr = echostr_with_plus("1234567890123456789");
    for encode in [true, false] {
        // Whether WeCom percent-encodes or not, `+` must survive decoding.
        let res = app
            .get_wecom(&url_check_query(&echostr, now_secs(), encode))
            .await;
        assert_eq!(res.status(), 200, "encode={encode}");
        assert_eq!(res.text().await.unwrap(), "1234567890123456789");
    }
}

#[tokio::test]
async fn url_verification_refusals() {
    let app = spawn_app().await;
    let echostr = echostr_with_plus("42");
    let good = url_check_query(&echostr, now_secs(), true);
    let tampered = good
        .replacen("msg_signature=", "msg_signature=0", 1)
        .replacen("&timestamp", "0&timestamp", 0);
    let forged = {
        let mut q = good.clone();
        let i = q.find('=').unwrap() + 1;
        let c = if &q[i..=i] == "a" { "b" } else { "a" };
        q.replace_range(i..=i, c);
        q
    };
    assert_error(app.get_wecom(&forged).await, 401, "bad_signature").await;
    assert_error(app.get_wecom(&tampered).await, 401, "bad_signature").await;
    let stale = url_check_query(&echostr, now_secs() - 600, true);
    assert_error(app.get_wecom(&stale).await, 403, "stale_timestamp").await;
    assert_error(
        app.get_wecom("timestamp=1&nonce=2&echostr=x").await,
        401,
        "missing_signature",
    )
    .await;
}

#[tokio::test]
async fn a_text_message_gets_an_encrypted_signed_reply() {
    let app = spawn_app().await;
    let (query, body, _) = wecom_post(&wecom_text("m-1", "@ackbot ack alert-42"), "", now_secs());
    let res = app.post_wecom(&query, body).await;
    assert_eq!(res.status(), 200);
    let xml = res.text().await.unwrap();

    #[derive(serde::Deserialize)]
    struct Reply {
        #[serde(rename = "Encrypt")]
        encrypt: String,
        #[serde(rename = "MsgSignature")]
        signature: String,
        #[serde(rename = "TimeStamp")]
        timestamp: String,
        #[serde(rename = "Nonce")]
        nonce: String,
    }
    let reply: Reply = quick_xml::de::from_str(&xml).unwrap();
    wecom::verify_signature(
        WECOM_TOKEN,
        &reply.timestamp,
        &reply.nonce,
        &reply.encrypt,
        &reply.signature,
    )
    .unwrap();
    let plain = String::from_utf8(cipher().decrypt(&reply.encrypt, "").unwrap()).unwrap();
    assert!(plain.contains("<MsgType>text</MsgType>"), "{plain}");
    assert!(plain.contains("No alert with id alert-42"), "{plain}");
    let chats = app.recorder.chats.lock().unwrap();
    assert_eq!(chats[0].actor.id, "lilei");
    assert_eq!(chats[0].actor.name.as_deref(), Some("Li Lei"));
}

#[tokio::test]
async fn the_sdk_vector_is_genuine_but_stale() {
    let app = spawn_app().await;
    let v = &vectors("dingtalk-vectors.json")["e_wecom_aes_roundtrip"];
    let query = format!(
        "msg_signature={}&timestamp={}&nonce={}",
        v["msg_signature"].as_str().unwrap(),
        v["timestamp"].as_str().unwrap(),
        v["nonce"].as_str().unwrap()
    );
    let res = app
        .post_wecom(&query, v["post_body_xml"].as_str().unwrap().to_string())
        .await;
    assert_error(res, 403, "stale_timestamp").await;
}

#[tokio::test]
async fn callback_refusals_change_nothing() {
    let app = spawn_app().await;
    let now = now_secs();
    let (query, body, _) = wecom_post(&wecom_text("m-2", "ack 1"), "", now);
    // One byte of the ciphertext changed.
    let i = body.find("<Encrypt><![CDATA[").unwrap() + 30;
    let mut tampered = body.clone();
    let c = if &body[i..=i] == "A" { "B" } else { "A" };
    tampered.replace_range(i..=i, c);
    assert_error(app.post_wecom(&query, tampered).await, 401, "bad_signature").await;
    // Encrypted for a different receiver (a corp id where a robot expects "").
    let (q2, b2, _) = wecom_post(&wecom_text("m-3", "ack 1"), "wwcorp", now);
    assert_error(app.post_wecom(&q2, b2).await, 401, "receive_id_mismatch").await;
    assert_error(
        app.post_wecom(&query, "<xml><nope/></xml>".into()).await,
        400,
        "bad_request",
    )
    .await;
    assert_error(
        app.post_wecom("", body.clone()).await,
        401,
        "missing_signature",
    )
    .await;
    let big = format!("<xml><Encrypt>{}</Encrypt></xml>", "A".repeat(MAX_BODY));
    assert_error(app.post_wecom(&query, big).await, 413, "payload_too_large").await;
    assert!(!app.recorder.touched());
    // None of that used up the nonce.
    assert_eq!(app.post_wecom(&query, body).await.status(), 200);
}

#[tokio::test]
async fn a_replayed_nonce_is_refused_and_a_repeated_msg_id_is_ignored() {
    let app = spawn_app().await;
    let now = now_secs();
    let (query, body, _) = wecom_post(&wecom_text("m-4", "ack 1"), "", now);
    assert_eq!(app.post_wecom(&query, body.clone()).await.status(), 200);
    assert_error(app.post_wecom(&query, body).await, 403, "replay").await;
    let (query, body, _) = wecom_post(&wecom_text("m-4", "ack 1"), "", now);
    let res = app.post_wecom(&query, body).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.text().await.unwrap(), "");
    assert_eq!(app.recorder.chat_count(), 1);
}
