//! Feishu/Lark custom bot (`../shared/spec/feishu.md` §1): an interactive
//! card POSTed to the group's webhook, signed when the bot has a secret
//! (`timestamp` in seconds and `sign` in the body). Custom bots can only carry
//! URL buttons, so the card's buttons are signed `/a/{token}` links.

use async_trait::async_trait;

use super::cards::{self, Message};
use super::channel::{Channel, SendError, Sent, call, code, text};
use crate::config::{ChannelKind, Secret};
use crate::verify::feishu::custom_bot_sign;

pub struct FeishuBot {
    pub name: String,
    pub url: Secret,
    pub secret: Option<Secret>,
    pub client: reqwest::Client,
}

/// feishu.md §1.4: retry only 11232 and 9499 "too many request".
fn verdict(body: &serde_json::Value) -> Result<(), SendError> {
    let c = code(body, "code").or_else(|| code(body, "StatusCode"));
    let msg = text(body, "msg");
    match c {
        Some(0) => Ok(()),
        Some(11232) => Err(SendError::transient(format!("feishu code 11232: {msg}"))),
        Some(9499) if msg.to_lowercase().contains("too many request") => {
            Err(SendError::transient(format!("feishu code 9499: {msg}")))
        }
        Some(c) => Err(SendError::permanent(format!("feishu code {c}: {msg}"))),
        None => Err(SendError::permanent(format!(
            "feishu answered without a code: {body}"
        ))),
    }
}

#[async_trait]
impl Channel for FeishuBot {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::FeishuBot
    }

    async fn send(&self, message: &Message, _key: &str) -> Result<Sent, SendError> {
        let mut body = cards::feishu::bot_body(message);
        if let Some(secret) = &self.secret {
            let ts = chrono::Utc::now().timestamp();
            body["timestamp"] = ts.to_string().into();
            body["sign"] = custom_bot_sign(ts, secret.expose()).into();
        }
        let answer = call(self.client.post(self.url.expose()).json(&body)).await?;
        match answer.json() {
            // 9499 "too many request" has come with HTTP 400: the body decides.
            Some(json) if json.get("code").is_some() || json.get("StatusCode").is_some() => {
                if answer.status.is_server_error() || answer.status.as_u16() == 429 {
                    return Err(answer.status_error().expect("an error status"));
                }
                verdict(&json)?;
            }
            _ => {
                if let Some(e) = answer.status_error() {
                    return Err(e);
                }
                return Err(SendError::permanent(format!(
                    "feishu answered without a code: {}",
                    answer.snippet()
                )));
            }
        }
        Ok(Sent {
            message_id: None,
            answer: answer.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_from_the_spec() {
        assert!(verdict(&json!({"code": 0, "msg": "success"})).is_ok());
        assert!(verdict(&json!({"StatusCode": 0})).is_ok());
        for transient in [
            json!({"code": 11232, "msg": "frequency limited psm[x]"}),
            json!({"code": 9499, "msg": "too many request"}),
        ] {
            assert!(matches!(
                verdict(&transient),
                Err(SendError::Transient { .. })
            ));
        }
        for permanent in [
            json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}),
            json!({"code": 19024, "msg": "Key Words Not Found"}),
            json!({"code": 9499, "msg": "Bad Request"}),
        ] {
            assert!(matches!(
                verdict(&permanent),
                Err(SendError::Permanent { .. })
            ));
        }
    }
}
