//! Generic webhook: ackbot's JSON payload (`cards::webhook`) POSTed to any
//! URL, signed with `X-Ackbot-Signature` when the channel has a secret
//! (`verify::webhook` documents how a receiver checks it). 2xx is delivered;
//! 408, 429 and 5xx are retried; other statuses are refusals.

use async_trait::async_trait;

use super::cards::{self, Message};
use super::channel::{Channel, SendError, Sent, call};
use crate::config::{ChannelKind, Secret};
use crate::verify::webhook;

pub struct Webhook {
    pub name: String,
    pub url: Secret,
    pub secret: Option<Secret>,
    pub client: reqwest::Client,
}

#[async_trait]
impl Channel for Webhook {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::Webhook
    }

    async fn send(&self, message: &Message, key: &str) -> Result<Sent, SendError> {
        let body = serde_json::to_vec(&cards::webhook::payload(message)).expect("JSON serializes");
        let mut request = self
            .client
            .post(self.url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Ackbot-Delivery", key);
        if let Some(secret) = &self.secret {
            let t = chrono::Utc::now().timestamp();
            request = request.header(webhook::HEADER, webhook::sign(secret.expose(), t, &body));
        }
        let answer = call(request.body(body)).await?;
        if let Some(e) = answer.status_error() {
            return Err(e);
        }
        Ok(Sent {
            message_id: None,
            answer: answer.snippet(),
        })
    }
}
