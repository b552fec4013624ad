//! DingTalk custom robot (`../shared/spec/dingtalk.md` §1): markdown or
//! actionCard POSTed to the webhook, signed with `timestamp` (ms) and `sign`
//! in the query. Business errors come with HTTP 200 and an `errcode`.

use std::time::Duration;

use async_trait::async_trait;

use super::cards::{self, Message};
use super::channel::{Channel, SendError, Sent, call_coded, code, text};
use crate::config::{ChannelKind, Secret};
use crate::verify::dingtalk::robot_query_suffix;

pub struct DingTalkBot {
    pub name: String,
    /// `https://oapi.dingtalk.com/robot/send?access_token=…`
    pub url: Secret,
    pub secret: Option<Secret>,
    pub client: reqwest::Client,
}

/// dingtalk.md §1.4–1.5. Over 20/min DingTalk throttles the robot for 10
/// minutes: wait that long before trying again.
fn verdict(body: &serde_json::Value) -> Result<(), SendError> {
    let msg = text(body, "errmsg");
    match code(body, "errcode") {
        Some(0) => Ok(()),
        Some(c @ (130101 | 410100)) => Err(SendError::Transient {
            message: format!("dingtalk errcode {c}: {msg}"),
            retry_after: Some(Duration::from_secs(600)),
        }),
        Some(-1) => Err(SendError::transient(format!("dingtalk errcode -1: {msg}"))),
        Some(c) => Err(SendError::permanent(format!("dingtalk errcode {c}: {msg}"))),
        None => Err(SendError::permanent(format!(
            "dingtalk answered without an errcode: {body}"
        ))),
    }
}

#[async_trait]
impl Channel for DingTalkBot {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::DingtalkBot
    }

    async fn send(&self, message: &Message, _key: &str) -> Result<Sent, SendError> {
        let mut url = self.url.expose().to_string();
        if let Some(secret) = &self.secret {
            let ts = chrono::Utc::now().timestamp_millis().to_string();
            let suffix = robot_query_suffix(&ts, secret.expose());
            if !url.contains('?') {
                url.push('?');
                url.push_str(&suffix[1..]);
            } else {
                url.push_str(&suffix);
            }
        }
        let body = cards::dingtalk::message(message);
        call_coded(self.client.post(url).json(&body), "dingtalk", verdict).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_from_the_spec() {
        assert!(verdict(&json!({"errcode": 0, "errmsg": "ok"})).is_ok());
        assert!(verdict(&json!({"errcode": "0", "errmsg": "ok"})).is_ok());
        assert_eq!(
            verdict(&json!({"errcode": 130101, "errmsg": "send too fast"})),
            Err(SendError::Transient {
                message: "dingtalk errcode 130101: send too fast".into(),
                retry_after: Some(Duration::from_secs(600))
            })
        );
        assert!(matches!(
            verdict(&json!({"errcode": -1, "errmsg": "busy"})),
            Err(SendError::Transient { .. })
        ));
        for c in [310000, 400101, 460101, 430101] {
            assert!(matches!(
                verdict(&json!({"errcode": c, "errmsg": "x"})),
                Err(SendError::Permanent { .. })
            ));
        }
    }
}
