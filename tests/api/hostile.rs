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
