//! Slack incoming webhook: Block Kit JSON, answered `ok` (HTTP 200) or an
//! HTTP error with a short reason (`invalid_payload`, `no_service`, …).

use async_trait::async_trait;

use super::cards::{self, Message};
use super::channel::{Channel, SendError, Sent, call};
use crate::config::{ChannelKind, Secret};

pub struct Slack {
    pub name: String,
    pub url: Secret,
    pub client: reqwest::Client,
}

#[async_trait]
impl Channel for Slack {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::Slack
    }

    async fn send(&self, message: &Message, _key: &str) -> Result<Sent, SendError> {
        let body = cards::slack::message(message);
        let answer = call(self.client.post(self.url.expose()).json(&body)).await?;
        if let Some(e) = answer.status_error() {
            return Err(e);
        }
        Ok(Sent {
            message_id: None,
            answer: answer.body,
        })
    }
}
