use serde_json::{Value, json};

use crate::helpers::*;

#[tokio::test]
async fn a_signed_robot_message_is_answered_with_the_text() {
    let app = spawn_app().await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000, DINGTALK_SECRET);
    let res = app
        .post_dingtalk(&ts, &sign, &dingtalk_message("msg-1", " ack 42"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        // The command reached the acting handler, which knows no alert 42.
        json!({"msgtype": "text", "text": {"content": "No alert with id 42"}})
    );
    let chats = app.recorder.chats.lock().unwrap();
    assert_eq!(chats[0].actor.id, "user123");
    assert_eq!(chats[0].actor.name.as_deref(), Some("Zhang San"));
    assert_eq!(chats[0].chat_id.as_deref(), Some("cid_ops"));
}

#[tokio::test]
async fn forged_stale_and_future_requests_are_refused() {
    let app = spawn_app().await;
    let now_ms = now_secs() * 1000;
    let msg = dingtalk_message("msg-2", "ack 42");
    let (ts, _) = dingtalk_headers(now_ms, DINGTALK_SECRET);
    let (_, forged) = dingtalk_headers(now_ms, "another-secret");
    assert_error(
        app.post_dingtalk(&ts, &forged, &msg).await,
        401,
        "bad_signature",
    )
    .await;
    let (ts, sign) = dingtalk_headers(now_ms - 3_600_000 - 5_000, DINGTALK_SECRET);
    assert_error(
        app.post_dingtalk(&ts, &sign, &msg).await,
        403,
        "stale_timestamp",
    )
    .await;
    let (ts, sign) = dingtalk_headers(now_ms + 3_600_000 + 5_000, DINGTALK_SECRET);
    assert_error(
        app.post_dingtalk(&ts, &sign, &msg).await,
        403,
        "future_timestamp",
    )
    .await;
    // The SDK-checked vector: genuine, but from 2023.
    let v = &vectors("dingtalk-vectors.json")["b_dingtalk_inbound_callback_sign"];
    let (vts, vsign) = (
        v["timestamp_header"].as_str().unwrap(),
        v["sign_header"].as_str().unwrap(),
    );
    assert_error(
        app.post_dingtalk(vts, vsign, &msg).await,
        403,
        "stale_timestamp",
    )
    .await;
    // URL-encoding the sign breaks it (DingTalk sends raw base64).
    let (ts, sign) = dingtalk_headers(now_ms, DINGTALK_SECRET);
    assert_error(
        app.post_dingtalk(&ts, &percent(&sign), &msg).await,
        401,
        "bad_signature",
    )
    .await;
    assert_error(
        app.post_dingtalk(&format!("{ts}x"), &sign, &msg).await,
        400,
        "malformed_header",
    )
    .await;
    let missing = app
        .client
        .post(app.url("/dingtalk/robot"))
        .json(&msg)
        .send()
        .await
        .unwrap();
    assert_error(missing, 401, "missing_signature").await;
    assert!(!app.recorder.touched());
}

#[tokio::test]
async fn a_signature_is_accepted_once_even_with_another_body() {
    let app = spawn_app().await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000, DINGTALK_SECRET);
    assert_eq!(
        app.post_dingtalk(&ts, &sign, &dingtalk_message("msg-a", "ack 1"))
            .await
            .status(),
        200
    );
    // The sign does not cover the body: a captured pair must not carry a new one.
    let replay = app
        .post_dingtalk(&ts, &sign, &dingtalk_message("msg-b", "resolve 1"))
        .await;
    assert_error(replay, 403, "replay").await;
    assert_eq!(app.recorder.chat_count(), 1);
}

#[tokio::test]
async fn a_repeated_msg_id_is_answered_empty_and_not_acted_on() {
    let app = spawn_app().await;
    let now_ms = now_secs() * 1000;
    let (ts, sign) = dingtalk_headers(now_ms, DINGTALK_SECRET);
    assert_eq!(
        app.post_dingtalk(&ts, &sign, &dingtalk_message("msg-dup", "ack 1"))
            .await
            .status(),
        200
    );
    let (ts, sign) = dingtalk_headers(now_ms + 1, DINGTALK_SECRET);
    let res = app
        .post_dingtalk(&ts, &sign, &dingtalk_message("msg-dup", "ack 1"))
        .await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"msgtype": "empty"})
    );
    assert_eq!(app.recorder.chat_count(), 1);
}

#[tokio::test]
async fn a_malformed_body_is_refused_without_using_up_the_signature() {
    let app = spawn_app().await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000, DINGTALK_SECRET);
    let res = app
        .client
        .post(app.url("/dingtalk/robot"))
        .header("timestamp", &ts)
        .header("sign", &sign)
        .body("{\"msgtype\": ")
        .send()
        .await
        .unwrap();
    assert_error(res, 400, "bad_request").await;
    assert!(!app.recorder.touched());
    // The refusal changed nothing: the same headers still work once.
    assert_eq!(
        app.post_dingtalk(&ts, &sign, &dingtalk_message("msg-c", "list"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn non_text_messages_get_an_empty_reply() {
    let app = spawn_app().await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000, DINGTALK_SECRET);
    let picture =
        json!({"msgtype": "picture", "content": {"downloadCode": "x"}, "msgId": "msg-pic"});
    let res = app.post_dingtalk(&ts, &sign, &picture).await;
    assert_eq!(
        res.json::<Value>().await.unwrap(),
        json!({"msgtype": "empty"})
    );
    assert!(!app.recorder.touched());
}
