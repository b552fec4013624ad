//! What people do in chat, in platform-neutral form, and the interface that
//! acts on it. Inbound handlers verify and decode a platform's callback into a
//! [`CardAction`] or [`ChatMessage`], call the [`InteractionHandler`], and
//! render its reply in the platform's format. The handler that acts is
//! `act::handler::ChatOps`.

use async_trait::async_trait;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    Feishu,
    DingTalk,
    WeCom,
}

/// Who clicked or wrote, as the platform identifies them.
#[derive(Debug, Clone)]
pub struct Actor {
    pub platform: Platform,
    /// Feishu open_id, DingTalk staff id (or sender id), WeCom user id.
    pub id: String,
    /// A display name, when the callback carries one.
    pub name: Option<String>,
}

/// A button click on a card ackbot sent.
#[derive(Debug, Clone)]
pub struct CardAction {
    pub actor: Actor,
    /// The value the button was created with, e.g. `{"action":"ack","alert_id":"A-42"}`.
    pub value: serde_json::Value,
    /// The card's message, for updating it later.
    pub message_id: Option<String>,
    pub chat_id: Option<String>,
}

/// A message addressed to the bot (a direct message or an @-mention).
#[derive(Debug, Clone)]
pub struct ChatMessage {
    pub actor: Actor,
    pub chat_id: Option<String>,
    /// The text with the bot mention and surrounding space removed.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ToastKind {
    Info,
    Success,
    Warning,
    Error,
}

/// The answer to a card click: a toast, and optionally a replacement card in
/// the platform's own JSON.
#[derive(Debug, Clone)]
pub struct CardReply {
    pub toast: Option<(ToastKind, String)>,
    pub card: Option<serde_json::Value>,
    /// The alert's state after the action, and who acknowledged it: for
    /// platforms that update a card's fields rather than replace it (DingTalk).
    pub state: Option<(String, Option<String>)>,
}

/// The answer to a chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatReply {
    pub text: String,
}

#[async_trait]
pub trait InteractionHandler: Send + Sync + 'static {
    async fn card_action(&self, action: CardAction) -> CardReply;
    /// `None`: nothing to say.
    async fn chat_message(&self, message: ChatMessage) -> Option<ChatReply>;
}

/// Removes `@mentions` at the start of a chat message and trims it: platforms
/// leave the mention (Feishu `@_user_1`) or a space where it was (DingTalk).
pub fn strip_leading_mentions(text: &str) -> String {
    let mut rest = text.trim();
    while let Some(stripped) = rest.strip_prefix('@') {
        rest = stripped
            .split_once(char::is_whitespace)
            .map_or("", |(_, r)| r)
            .trim_start();
    }
    rest.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_and_space_are_removed() {
        assert_eq!(strip_leading_mentions(" ack 42"), "ack 42");
        assert_eq!(strip_leading_mentions("@_user_1 ack 42 "), "ack 42");
        assert_eq!(strip_leading_mentions("@bot @_user_2  list"), "list");
        assert_eq!(strip_leading_mentions("@bot"), "");
        assert_eq!(
            strip_leading_mentions("mail me@example.com"),
            "mail me@example.com"
        );
    }
}
