use serde_json::{Value, json};

use crate::helpers::*;

fn ack_value() -> Value {
    json!({"action": "ack", "alert_id": "A-42"})
}

fn signed_card(event_id: &str) -> SignedFeishu {
    feishu_sign_encrypted(
        &card_action_event(event_id, FEISHU_TOKEN, ack_value()),
        FEISHU_ENCRYPT_KEY,
        now_secs(),
    )
}

#[tokio::test]
async fn encrypted_challenge_vector_is_answered_with_the_challenge() {
    let app = spawn_app().await;
    let v = &vectors("feishu-vectors.json")["c_encrypted_challenge"];
    let res = app
        .post_unsigned(
            "/feishu/events",
            v["request_body"].as_str().unwrap().to_string(),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body, v["expected_http_response"]["body"]);
}

#[tokio::test]
async fn plain_challenge_is_answered_when_no_encrypt_key_is_configured() {
    let app = spawn_app_with(|c| c.feishu.as_mut().unwrap().encrypt_key = None).await;
    let challenge =
        json!({"challenge": "ajls384kdj", "token": FEISHU_TOKEN, "type": "url_verification"});
    let res = app
        .post_unsigned("/feishu/events", challenge.to_string())
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"challenge": "ajls384kdj"})
    );

    let wrong = json!({"challenge": "x", "token": "not-the-token", "type": "url_verification"});
    assert_error(
        app.post_unsigned("/feishu/events", wrong.to_string()).await,
        401,
        "bad_token",
    )
    .await;
}

#[tokio::test]
async fn challenges_with_a_wrong_token_or_key_are_refused_alike() {
    let app = spawn_app().await;
    let wrong_token =
        json!({"challenge": "c", "token": "nope", "type": "url_verification"}).to_string();
    let enc = |plain: &str, key: &str| {
        json!({"encrypt": ackbot::verify::feishu::Cipher::new(key).encrypt(plain.as_bytes(), [9; 16])}).to_string()
    };
    let right =
        json!({"challenge": "c", "token": FEISHU_TOKEN, "type": "url_verification"}).to_string();
    for body in [
        enc(&wrong_token, FEISHU_ENCRYPT_KEY),
        enc(&right, "another-encrypt-key"),
        json!({"encrypt": "%%%not base64"}).to_string(),
        wrong_token.clone(),
    ] {
        // One indistinguishable refusal: no padding oracle on the unsigned path.
        assert_error(
            app.post_unsigned("/feishu/events", body).await,
            401,
            "unauthenticated",
        )
        .await;
    }
}

#[tokio::test]
async fn signed_encrypted_card_click_gets_a_toast_and_reaches_the_handler() {
    let app = spawn_app().await;
    let res = app
        .post_feishu("/feishu/events", &signed_card("evt-1"))
        .await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-request-id"));
    let body: Value = res.json().await.unwrap();
    // Verified, decrypted and handed to the acting handler, which knows no
    // such alert (chatops.rs clicks on real ones).
    assert_eq!(body["toast"]["type"], "warning");
    assert!(
        body["toast"]["content"]
            .as_str()
            .unwrap()
            .contains("No alert"),
        "{body}"
    );

    let cards = app.recorder.cards.lock().unwrap();
    assert_eq!(cards.len(), 1);
    assert_eq!(cards[0].actor.id, "ou_li_lei");
    assert_eq!(cards[0].value, ack_value());
    assert_eq!(cards[0].message_id.as_deref(), Some("om_1"));
}

#[tokio::test]
async fn a_replayed_callback_is_answered_but_acted_on_once() {
    let app = spawn_app().await;
    let signed = signed_card("evt-replay");
    assert_eq!(
        app.post_feishu("/feishu/events", &signed).await.status(),
        200
    );
    let again = app.post_feishu("/feishu/events", &signed).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), json!({}));
    // Feishu re-sends with a new signature; the event_id still dedupes.
    assert_eq!(
        app.post_feishu("/feishu/events", &signed_card("evt-replay"))
            .await
            .status(),
        200
    );
    assert_eq!(app.recorder.card_count(), 1);
}

#[tokio::test]
async fn one_changed_byte_of_the_body_is_refused() {
    let app = spawn_app().await;
    let mut signed = signed_card("evt-tamper");
    let mut bytes = signed.body.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    signed.body = String::from_utf8(bytes).unwrap();
    assert_error(
        app.post_feishu("/feishu/events", &signed).await,
        401,
        "bad_signature",
    )
    .await;
    assert!(!app.recorder.touched());
}

#[tokio::test]
async fn a_request_signed_with_another_key_is_refused() {
    let app = spawn_app().await;
    let plain = card_action_event("evt-key", FEISHU_TOKEN, ack_value());
    let signed = feishu_sign_encrypted(&plain, "someone-elses-key", now_secs());
    assert_error(
        app.post_feishu("/feishu/events", &signed).await,
        401,
        "bad_signature",
    )
    .await;
    assert!(!app.recorder.touched());
}

#[tokio::test]
async fn stale_and_future_timestamps_are_refused() {
    let app = spawn_app().await;
    let plain = card_action_event("evt-time", FEISHU_TOKEN, ack_value());
    let stale = feishu_sign_encrypted(&plain, FEISHU_ENCRYPT_KEY, now_secs() - 3601 - 5);
    assert_error(
        app.post_feishu("/feishu/events", &stale).await,
        403,
        "stale_timestamp",
    )
    .await;
    let future = feishu_sign_encrypted(&plain, FEISHU_ENCRYPT_KEY, now_secs() + 3601 + 5);
    assert_error(
        app.post_feishu("/feishu/events", &future).await,
        403,
        "future_timestamp",
    )
    .await;
    // The SDK-checked vector is genuine but from 2023.
    let v = &vectors("feishu-vectors.json")["f_signed_encrypted_card_action"];
    let h = &v["headers"];
    let vector = SignedFeishu {
        timestamp: h["X-Lark-Request-Timestamp"].as_str().unwrap().into(),
        nonce: h["X-Lark-Request-Nonce"].as_str().unwrap().into(),
        signature: h["X-Lark-Signature"].as_str().unwrap().into(),
        body: v["raw_body"].as_str().unwrap().into(),
    };
    assert_error(
        app.post_feishu("/feishu/events", &vector).await,
        403,
        "stale_timestamp",
    )
    .await;
    // Refused requests do not burn the event id: the same event, fresh, is accepted.
    assert_eq!(
        app.post_feishu("/feishu/events", &signed_card("evt-time"))
            .await
            .status(),
        200
    );
    assert_eq!(app.recorder.card_count(), 1);
}

#[tokio::test]
async fn missing_signature_headers_are_refused() {
    let app = spawn_app().await;
    let signed = signed_card("evt-headers");
    // No headers at all: only url_verification may come unsigned, and
    // anything else gets the unsigned path's one answer.
    assert_error(
        app.post_unsigned("/feishu/events", signed.body.clone())
            .await,
        401,
        "unauthenticated",
    )
    .await;
    // Two of three.
    let res = app
        .client
        .post(app.url("/feishu/events"))
        .header("X-Lark-Request-Timestamp", &signed.timestamp)
        .header("X-Lark-Request-Nonce", &signed.nonce)
        .body(signed.body.clone())
        .send()
        .await
        .unwrap();
    assert_error(res, 401, "missing_signature").await;
    assert!(!app.recorder.touched());
}

#[tokio::test]
async fn malformed_payloads_get_400_and_change_nothing() {
    let app = spawn_app().await;
    let now = now_secs();
    let cases = [
        // Not JSON at all, but correctly signed.
        (feishu_sign_raw("{not json".into(), FEISHU_ENCRYPT_KEY, now), "malformed_body"),
        // Bad base64 inside the wrapper.
        (feishu_sign_raw(json!({"encrypt": "!!!!"}).to_string(), FEISHU_ENCRYPT_KEY, now), "bad_ciphertext"),
        // Wrong padding: the official doc vector, encrypted with another key.
        (
            feishu_sign_raw(json!({"encrypt": "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="}).to_string(), FEISHU_ENCRYPT_KEY, now),
            "bad_ciphertext",
        ),
        // Ciphertext not a whole number of blocks.
        (feishu_sign_raw(json!({"encrypt": "AAECAwQFBgcICQoLDA0ODxAR"}).to_string(), FEISHU_ENCRYPT_KEY, now), "bad_ciphertext"),
        // Decrypts, but is not an event.
        (feishu_sign_encrypted("[1,2,3]", FEISHU_ENCRYPT_KEY, now), "bad_request"),
        (feishu_sign_encrypted(r#"{"schema":"2.0"}"#, FEISHU_ENCRYPT_KEY, now), "bad_request"),
        // A card event without an operator.
        (
            feishu_sign_encrypted(
                &json!({"schema": "2.0", "header": {"event_id": "e", "token": FEISHU_TOKEN, "event_type": "card.action.trigger"}, "event": {}})
                    .to_string(),
                FEISHU_ENCRYPT_KEY,
                now,
            ),
            "bad_request",
        ),
    ];
    for (signed, code) in cases {
        assert_error(app.post_feishu("/feishu/events", &signed).await, 400, code).await;
    }
    assert!(!app.recorder.touched());
}

#[tokio::test]
async fn a_wrong_verification_token_inside_a_signed_event_is_refused() {
    let app = spawn_app().await;
    let plain = card_action_event("evt-token", "not-the-token", ack_value());
    let signed = feishu_sign_encrypted(&plain, FEISHU_ENCRYPT_KEY, now_secs());
    assert_error(
        app.post_feishu("/feishu/events", &signed).await,
        401,
        "bad_token",
    )
    .await;
    assert!(!app.recorder.touched());
}

#[tokio::test]
async fn a_body_over_the_cap_gets_413_before_any_crypto() {
    let app = spawn_app().await;
    let plain = card_action_event(
        "evt-big",
        FEISHU_TOKEN,
        json!({"pad": "x".repeat(MAX_BODY)}),
    );
    let signed = feishu_sign_encrypted(&plain, FEISHU_ENCRYPT_KEY, now_secs());
    assert_error(
        app.post_feishu("/feishu/events", &signed).await,
        413,
        "payload_too_large",
    )
    .await;
    // Streamed without a Content-Length, it is cut off just the same.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..(MAX_BODY / 1024 + 2))
        .map(|_| Ok(vec![b' '; 1024]))
        .collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    assert_error(
        app.post_unsigned("/feishu/events", body).await,
        413,
        "payload_too_large",
    )
    .await;
    assert!(!app.recorder.touched());
}

#[tokio::test]
async fn chat_messages_reach_the_handler_without_the_mention() {
    let app = spawn_app().await;
    let signed = feishu_sign_encrypted(
        &message_event("evt-msg", "@_user_1 ack 42"),
        FEISHU_ENCRYPT_KEY,
        now_secs(),
    );
    let res = app.post_feishu("/feishu/events", &signed).await;
    assert_eq!(res.status(), 200);
    // The handler runs after the reply; give it a moment.
    for _ in 0..50 {
        if app.recorder.chat_count() == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let chats = app.recorder.chats.lock().unwrap();
    assert_eq!(chats.len(), 1);
    assert_eq!(chats[0].text, "ack 42");
    assert_eq!(chats[0].actor.id, "ou_han_meimei");
    assert_eq!(chats[0].chat_id.as_deref(), Some("oc_ops"));
}

#[tokio::test]
async fn other_event_types_are_accepted_and_ignored() {
    let app = spawn_app().await;
    let plain = json!({"schema": "2.0", "header": {"event_id": "e-other", "token": FEISHU_TOKEN,
        "event_type": "contact.user_group.created_v3"}, "event": {}})
    .to_string();
    let res = app
        .post_feishu(
            "/feishu/events",
            &feishu_sign_encrypted(&plain, FEISHU_ENCRYPT_KEY, now_secs()),
        )
        .await;
    assert_eq!(res.status(), 200);
    assert!(!app.recorder.touched());
}

#[tokio::test]
async fn without_encrypt_key_events_are_authenticated_by_token() {
    let app = spawn_app_with(|c| c.feishu.as_mut().unwrap().encrypt_key = None).await;
    let good = card_action_event("evt-plain", FEISHU_TOKEN, ack_value());
    assert_eq!(
        app.post_unsigned("/feishu/events", good).await.status(),
        200
    );
    let bad = card_action_event("evt-plain-2", "forged", ack_value());
    assert_error(
        app.post_unsigned("/feishu/events", bad).await,
        401,
        "bad_token",
    )
    .await;
    // An encrypted body cannot be opened without a key.
    let enc = feishu_sign_encrypted("{}", FEISHU_ENCRYPT_KEY, now_secs());
    assert_error(
        app.post_feishu("/feishu/events", &enc).await,
        401,
        "unauthenticated",
    )
    .await;
    assert_eq!(app.recorder.card_count(), 1);
}

// ------------------------------------------------------------ legacy /feishu/card

fn legacy_signed(body: &str, token: &str, ts: i64) -> SignedFeishu {
    let timestamp = ts.to_string();
    let nonce = random_hex(4);
    let sig =
        ackbot::verify::feishu::legacy_card_signature(&timestamp, &nonce, token, body.as_bytes());
    SignedFeishu {
        timestamp,
        nonce,
        signature: hex::encode(sig),
        body: body.to_string(),
    }
}

fn legacy_body() -> String {
    json!({"open_id": "ou_li_lei", "user_id": "u1", "open_message_id": "om_9", "tenant_key": "t",
           "token": "c-update", "action": {"value": ack_value(), "tag": "button"}})
    .to_string()
}

#[tokio::test]
async fn legacy_card_callbacks_use_the_sha1_scheme_once() {
    let app = spawn_app().await;
    let signed = legacy_signed(&legacy_body(), FEISHU_TOKEN, now_secs());
    let res = app.post_feishu("/feishu/card", &signed).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    // Verified and handed on: the acting handler knows no such alert.
    assert_eq!(body["toast"]["type"], "warning");
    // Replay: answered, not acted on.
    let again = app.post_feishu("/feishu/card", &signed).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap(), json!({}));
    assert_eq!(app.recorder.card_count(), 1);
    assert_eq!(
        app.recorder.cards.lock().unwrap()[0].message_id.as_deref(),
        Some("om_9")
    );
}

#[tokio::test]
async fn legacy_card_refusals() {
    let app = spawn_app().await;
    let now = now_secs();
    let wrong_token = legacy_signed(&legacy_body(), "other", now);
    assert_error(
        app.post_feishu("/feishu/card", &wrong_token).await,
        401,
        "bad_signature",
    )
    .await;
    let stale = legacy_signed(&legacy_body(), FEISHU_TOKEN, now - 7200);
    assert_error(
        app.post_feishu("/feishu/card", &stale).await,
        403,
        "stale_timestamp",
    )
    .await;
    assert_error(
        app.post_unsigned("/feishu/card", legacy_body()).await,
        401,
        "missing_signature",
    )
    .await;
    // A card.action.trigger (SHA-256) sent here by mistake says where it belongs.
    let new_scheme = feishu_sign_raw(legacy_body(), FEISHU_ENCRYPT_KEY, now);
    let body = assert_error(
        app.post_feishu("/feishu/card", &new_scheme).await,
        400,
        "bad_request",
    )
    .await;
    assert!(body["message"].as_str().unwrap().contains("/feishu/events"));
    let malformed = legacy_signed("{\"open_id\": 5}", FEISHU_TOKEN, now);
    assert_error(
        app.post_feishu("/feishu/card", &malformed).await,
        400,
        "bad_request",
    )
    .await;
    assert!(!app.recorder.touched());

    let challenge =
        json!({"challenge": "legacy-c", "token": FEISHU_TOKEN, "type": "url_verification"})
            .to_string();
    let res = app.post_unsigned("/feishu/card", challenge).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"challenge": "legacy-c"})
    );
}
