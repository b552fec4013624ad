//! Feishu/Lark app bot (`../shared/spec/feishu.md` §2): cards with callback
//! buttons, sent with `POST /open-apis/im/v1/messages` under a
//! `tenant_access_token`. The `message_id` is kept so the card can be updated.
//!
//! The token is fetched once and shared: concurrent senders wait for the same
//! fetch (one lock held across it), reuse it until 5 minutes before it
//! expires (§2.1's recommendation), and drop it at once when the API says it
//! is invalid, retrying that send once with a fresh one.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde_json::json;
use tokio::sync::Mutex;

use super::cards::{self, Message};
use super::channel::{Answer, Channel, SendError, Sent, call, code, text};
use crate::config::{ChannelKind, Secret};

/// Codes that mean the token is no good (§2.1, from the SDKs).
const TOKEN_INVALID: [i64; 5] = [99991663, 99991664, 99991665, 99991666, 99991668];
/// Refresh this long before the token's own expiry.
const EARLY: Duration = Duration::from_secs(300);

/// One app's credentials and its cached token, shared by its channels.
pub struct AppAuth {
    pub api_base: String,
    pub app_id: String,
    pub app_secret: Secret,
    client: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
    /// open_id → display name, from the contact API, kept for an hour.
    names: std::sync::Mutex<std::collections::HashMap<String, (String, Instant)>>,
}

/// How long a looked-up name is reused.
const NAME_TTL: Duration = Duration::from_secs(3600);

impl AppAuth {
    pub fn new(api_base: &str, app_id: &str, app_secret: Secret, client: reqwest::Client) -> Self {
        Self {
            api_base: api_base.trim_end_matches('/').to_string(),
            app_id: app_id.to_string(),
            app_secret,
            client,
            token: Mutex::new(None),
            names: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// A request under the tenant token, retried once with a fresh token when
    /// Feishu says the token is invalid.
    async fn authorized(
        &self,
        build: impl Fn(&str) -> reqwest::RequestBuilder,
    ) -> Result<Answer, SendError> {
        let token = self.token().await?;
        let answer = call(build(&token)).await?;
        let c = answer.json().and_then(|j| code(&j, "code"));
        if c.is_some_and(|c| TOKEN_INVALID.contains(&c)) {
            self.invalidate(&token).await;
            let token = self.token().await?;
            return call(build(&token)).await;
        }
        Ok(answer)
    }

    /// Posts a plain text message to a chat (replies to chat commands).
    pub async fn send_text(&self, chat_id: &str, text: &str) -> Result<(), SendError> {
        let url = format!(
            "{}/open-apis/im/v1/messages?receive_id_type=chat_id",
            self.api_base
        );
        let body = json!({
            "receive_id": chat_id,
            "msg_type": "text",
            "content": json!({"text": crate::outbound::cards::text::feishu_text(text)}).to_string(),
        });
        let answer = self
            .authorized(|token| self.client.post(&url).bearer_auth(token).json(&body))
            .await?;
        verdict(&answer).map(|_| ())
    }

    /// The display name of a user (`GET /open-apis/contact/v3/users/{open_id}`),
    /// cached; `None` when the app may not read contacts or the call fails.
    pub async fn user_name(&self, open_id: &str) -> Option<String> {
        if let Some((name, at)) = self.names.lock().expect("names").get(open_id) {
            if at.elapsed() < NAME_TTL {
                return Some(name.clone());
            }
        }
        let url = format!(
            "{}/open-apis/contact/v3/users/{open_id}?user_id_type=open_id",
            self.api_base
        );
        let answer = self
            .authorized(|token| self.client.get(&url).bearer_auth(token))
            .await
            .ok()?;
        let json = answer.json()?;
        if code(&json, "code") != Some(0) {
            tracing::debug!(open_id, code = ?code(&json, "code"), "no contact name for a Feishu user");
            return None;
        }
        let name = json.pointer("/data/user/name")?.as_str()?.to_string();
        self.names
            .lock()
            .expect("names")
            .insert(open_id.to_string(), (name.clone(), Instant::now()));
        Some(name)
    }

    /// A valid token: the cached one, or one fetch shared by all who wait.
    async fn token(&self) -> Result<String, SendError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref() {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let url = format!(
            "{}/open-apis/auth/v3/tenant_access_token/internal",
            self.api_base
        );
        let body = json!({"app_id": self.app_id, "app_secret": self.app_secret.expose()});
        let answer = call(self.client.post(url).json(&body)).await?;
        if let Some(e) = answer.status_error() {
            return Err(e);
        }
        let json = answer.json().unwrap_or_default();
        match (
            code(&json, "code"),
            json.get("tenant_access_token").and_then(|t| t.as_str()),
        ) {
            (Some(0), Some(token)) => {
                let expire = json.get("expire").and_then(|e| e.as_u64()).unwrap_or(7200);
                let until = Instant::now() + Duration::from_secs(expire).saturating_sub(EARLY);
                *cached = Some((token.to_string(), until));
                Ok(token.to_string())
            }
            (c, _) => Err(SendError::permanent(format!(
                "feishu tenant_access_token: code {}: {}",
                c.map_or("none".into(), |c| c.to_string()),
                text(&json, "msg")
            ))),
        }
    }

    /// Forgets `token` if it is still the cached one.
    async fn invalidate(&self, token: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|(t, _)| t == token) {
            *cached = None;
        }
    }
}

pub struct FeishuApp {
    pub name: String,
    pub chat_id: String,
    pub auth: std::sync::Arc<AppAuth>,
    pub client: reqwest::Client,
}

enum Try {
    Done(Result<Sent, SendError>),
    TokenInvalid(String),
}

/// §2.2 and §2.4: 429 and frequency codes are transient.
fn verdict(answer: &Answer) -> Result<String, SendError> {
    let json = answer.json().unwrap_or_default();
    let c = code(&json, "code");
    let msg = text(&json, "msg");
    if answer.status.as_u16() == 429
        || c == Some(99991400)
        || msg.to_lowercase().contains("frequency")
    {
        let retry_after = answer
            .headers
            .get("x-ogw-ratelimit-reset")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .map(Duration::from_secs)
            .or_else(|| answer.retry_after());
        return Err(SendError::Transient {
            message: format!("feishu rate limited: code {c:?}: {msg}"),
            retry_after,
        });
    }
    if c.is_none() {
        return Err(answer.status_error().unwrap_or_else(|| {
            SendError::permanent(format!(
                "feishu answered without a code: {}",
                answer.snippet()
            ))
        }));
    }
    match c {
        Some(0) => Ok(json
            .pointer("/data/message_id")
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_string()),
        Some(c) if answer.status.is_server_error() => {
            Err(SendError::transient(format!("feishu code {c}: {msg}")))
        }
        Some(c) => Err(SendError::permanent(format!("feishu code {c}: {msg}"))),
        None => unreachable!("checked above"),
    }
}

impl FeishuApp {
    async fn attempt(&self, message: &Message, key: &str) -> Result<Try, SendError> {
        let token = self.auth.token().await?;
        let url = format!(
            "{}/open-apis/im/v1/messages?receive_id_type=chat_id",
            self.auth.api_base
        );
        let body = json!({
            "receive_id": self.chat_id,
            "msg_type": "interactive",
            "content": cards::feishu::app_content(message),
            // §2.2: the same uuid is delivered at most once an hour, so a
            // retried send after a lost answer does not post twice.
            "uuid": key,
        });
        let answer = call(self.client.post(url).bearer_auth(&token).json(&body)).await?;
        let c = answer.json().and_then(|j| code(&j, "code"));
        if c.is_some_and(|c| TOKEN_INVALID.contains(&c)) {
            return Ok(Try::TokenInvalid(token));
        }
        Ok(Try::Done(verdict(&answer).map(|id| Sent {
            message_id: (!id.is_empty()).then_some(id),
            answer: answer.body,
        })))
    }
}

impl FeishuApp {
    /// §2.3: `PATCH /open-apis/im/v1/messages/{id}` with the new card (both
    /// cards are shared ones: `update_multi`).
    async fn patch(&self, message_id: &str, message: &Message) -> Result<Try, SendError> {
        let token = self.auth.token().await?;
        let url = format!(
            "{}/open-apis/im/v1/messages/{message_id}",
            self.auth.api_base
        );
        let body = json!({"content": cards::feishu::app_content(message)});
        let answer = call(self.client.patch(url).bearer_auth(&token).json(&body)).await?;
        let c = answer.json().and_then(|j| code(&j, "code"));
        if c.is_some_and(|c| TOKEN_INVALID.contains(&c)) {
            return Ok(Try::TokenInvalid(token));
        }
        Ok(Try::Done(verdict(&answer).map(|_| Sent {
            message_id: Some(message_id.to_string()),
            answer: answer.body,
        })))
    }
}

#[async_trait]
impl Channel for FeishuApp {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        ChannelKind::FeishuApp
    }

    async fn update(&self, message_id: &str, message: &Message) -> Result<bool, SendError> {
        let result = match self.patch(message_id, message).await? {
            Try::Done(result) => result,
            Try::TokenInvalid(token) => {
                self.auth.invalidate(&token).await;
                match self.patch(message_id, message).await? {
                    Try::Done(result) => result,
                    Try::TokenInvalid(_) => Err(SendError::transient(
                        "feishu rejected a freshly fetched tenant_access_token",
                    )),
                }
            }
        };
        result.map(|_| true)
    }

    async fn send(&self, message: &Message, key: &str) -> Result<Sent, SendError> {
        match self.attempt(message, key).await? {
            Try::Done(result) => result,
            Try::TokenInvalid(token) => {
                self.auth.invalidate(&token).await;
                match self.attempt(message, key).await? {
                    Try::Done(result) => result,
                    Try::TokenInvalid(_) => Err(SendError::transient(
                        "feishu rejected a freshly fetched tenant_access_token",
                    )),
                }
            }
        }
    }
}
