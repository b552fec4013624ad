//! WeCom group robot (`../shared/spec/dingtalk.md` §4): markdown or
//! template_card POSTed to `…/cgi-bin/webhook/send?key=…`. The key in the URL
//! is the only credential. Errors come with HTTP 200 and an `errcode`.

use std::time::Duration;

use async_trait::async_trait;

use super::cards::{self, Message};
use super::channel::{Channel, SendError, Sent, call_coded, code, text};
use crate::config::{ChannelKind, Secret};

pub struct WeComBot {
    pub name: String,
    pub url: Secret,
    pub client: reqwest::Client,
}

/// dingtalk.md §4.4: 45009 means more than 20/min: back off to the next minute.
fn verdict(body: &serde_json::Value) -> Result<(), SendError> {
    let msg = text(body, "errmsg");
    match code(body, "errcode") {
        Some(0) => Ok(()),
        Some(45009) => Err(SendError::Transient {
            message: format!("wecom errcode 45009: {msg}"),
            retry_after: Some(Duration::from_secs(60)),
        }),
        Some(c @ (-1 | 45033)) => Err(SendError::transient(format!("wecom errcode {c}: {msg}"))),
        Some(c) => Err(SendError::permanent(format!("wecom errcode {c}: {msg}"))),
        None => Err(SendError::permanent(format!(
            "wecom answered without an errcode: {body}"
        ))),
    }
}

#[async_trait]
impl Channel for WeComBot {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::WecomBot
    }

    async fn send(&self, message: &Message, _key: &str) -> Result<Sent, SendError> {
        let body = cards::wecom::message(message);
        call_coded(
            self.client.post(self.url.expose()).json(&body),
            "wecom",
            verdict,
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn codes_from_the_spec() {
        assert!(verdict(&json!({"errcode": 0, "errmsg": "ok"})).is_ok());
        assert!(matches!(
            verdict(&json!({"errcode": 45009, "errmsg": "api freq out of limit"})),
            Err(SendError::Transient {
                retry_after: Some(_),
                ..
            })
        ));
        assert!(matches!(
            verdict(&json!({"errcode": 93000, "errmsg": "invalid webhook url"})),
            Err(SendError::Permanent { .. })
        ));
    }
}
