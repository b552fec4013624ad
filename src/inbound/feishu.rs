//! `POST /feishu/events` (events and `card.action.trigger`) and `POST /feishu/card`
//! (the legacy message-card callback), per `../shared/spec/feishu.md` §3.8 and §4.6.

use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::{Inbound, InboundError, MESSAGE_ID_TTL_SECS, RawBody, header, now_ms, secs};
use crate::config::{FeishuConfig, Secret};
use crate::interaction::{
    Actor, CardAction, CardReply, ChatMessage, InteractionHandler, Platform, strip_leading_mentions,
};
use crate::outbound::feishu_app::AppAuth;
use crate::replay::Sighting;
use crate::verify::VerifyError;
use crate::verify::feishu::{
    self as verify, Authenticity, EncryptKey, EventKeys, HEADER_NONCE, HEADER_SIGNATURE,
    HEADER_TIMESTAMP, SignatureHeaders,
};

/// Feishu shows an error if a card callback takes longer than 3 s; leave margin
/// for the network. A slower handler keeps running, and the click gets a toast.
const CARD_REPLY_BUDGET: Duration = Duration::from_millis(2500);

pub struct FeishuInbound {
    verification_token: Secret,
    keys: EventKeys,
    /// The app's API, when `app_id` and `app_secret` are set: chat replies
    /// are sent through it, and clickers' names are looked up with it.
    app: Option<Arc<AppAuth>>,
}

/// How long a card click waits for the clicker's name before using the
/// open_id: the whole reply must fit Feishu's 3 seconds.
const NAME_LOOKUP_BUDGET: std::time::Duration = std::time::Duration::from_millis(700);

impl FeishuInbound {
    pub fn new(config: &FeishuConfig) -> Self {
        let app = match (&config.app_id, &config.app_secret) {
            (Some(id), Some(secret)) => Some(Arc::new(AppAuth::new(
                &config.api_base,
                id,
                secret.clone(),
                crate::outbound::channel::http_client(std::time::Duration::from_secs(5)),
            ))),
            _ => None,
        };
        Self {
            app,
            verification_token: config.verification_token.clone(),
            keys: EventKeys {
                encrypt_key: config
                    .encrypt_key
                    .as_ref()
                    .map(|k| EncryptKey::new(k.expose())),
                tolerance_secs: secs(config.timestamp_tolerance),
            },
        }
    }

    /// The clicker's display name, if the app can tell it within the budget.
    async fn clicker_name(&self, open_id: &str) -> Option<String> {
        let app = self.app.as_ref()?;
        tokio::time::timeout(NAME_LOOKUP_BUDGET, app.user_name(open_id))
            .await
            .ok()
            .flatten()
    }

    /// On the unsigned path with an Encrypt Key configured, every failure is the
    /// same `unauthenticated`: distinct answers for bad padding, bad JSON or a
    /// wrong token would make the endpoint a CBC padding oracle.
    fn obscure(&self, unsigned: bool, e: InboundError) -> InboundError {
        if unsigned && self.keys.encrypt_key.is_some() {
            VerifyError::Unauthenticated.into()
        } else {
            e
        }
    }

    fn check_token(&self, token: Option<&str>) -> Result<(), VerifyError> {
        verify::check_token(token.unwrap_or(""), self.verification_token.expose())
    }
}

fn state(inbound: &Inbound) -> Result<Arc<FeishuInbound>, InboundError> {
    inbound
        .feishu
        .load_full()
        .ok_or(InboundError::NotConfigured {
            platform: "Feishu",
            section: "feishu",
        })
}

fn signature_headers(req: &HttpRequest) -> SignatureHeaders<'_> {
    SignatureHeaders {
        timestamp: header(req, HEADER_TIMESTAMP),
        nonce: header(req, HEADER_NONCE),
        signature: header(req, HEADER_SIGNATURE),
    }
}

/// The fields of a decrypted payload that routing needs: the `url_verification`
/// challenge (flat) or a schema 2.0 envelope.
/// `event` stays raw here and is decoded once, straight into its typed form.
#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    challenge: Option<String>,
    token: Option<String>,
    schema: Option<String>,
    header: Option<EventHeader>,
    #[serde(borrow)]
    event: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct EventHeader {
    event_id: String,
    event_type: String,
    token: Option<String>,
}

/// `card.action.trigger` event body (§4.2), the fields we use.
#[derive(Deserialize)]
struct CardTrigger {
    operator: Operator,
    action: ActionValue,
    #[serde(default)]
    context: CardContext,
}

#[derive(Deserialize)]
struct Operator {
    open_id: String,
}

#[derive(Deserialize)]
struct ActionValue {
    #[serde(default)]
    value: Value,
}

#[derive(Deserialize, Default)]
struct CardContext {
    open_message_id: Option<String>,
    open_chat_id: Option<String>,
}

/// `im.message.receive_v1` event body, the fields we use.
#[derive(Deserialize)]
struct MessageReceive {
    sender: Sender,
    message: Message,
}

#[derive(Deserialize)]
struct Sender {
    sender_id: SenderId,
}

#[derive(Deserialize)]
struct SenderId {
    open_id: String,
}

#[derive(Deserialize)]
struct Message {
    chat_id: Option<String>,
    message_type: String,
    /// A JSON string: `{"text":"@_user_1 ack 42"}` for text messages.
    content: String,
}

/// What a verified event asks us to do.
enum Dispatch {
    Card(CardAction),
    Chat(ChatMessage),
    Ignore(String),
}

fn decode_event(event_type: &str, event: Option<&RawValue>) -> Result<Dispatch, InboundError> {
    let event = event.map_or("null", RawValue::get);
    match event_type {
        "card.action.trigger" => {
            let t: CardTrigger = serde_json::from_str(event)
                .map_err(|e| InboundError::bad_json("card.action.trigger event", e))?;
            Ok(Dispatch::Card(CardAction {
                actor: Actor {
                    platform: Platform::Feishu,
                    id: t.operator.open_id,
                    name: None,
                },
                value: t.action.value,
                message_id: t.context.open_message_id,
                chat_id: t.context.open_chat_id,
            }))
        }
        "im.message.receive_v1" => {
            let m: MessageReceive = serde_json::from_str(event)
                .map_err(|e| InboundError::bad_json("im.message.receive_v1 event", e))?;
            if m.message.message_type != "text" {
                return Ok(Dispatch::Ignore(format!(
                    "{} message",
                    m.message.message_type
                )));
            }
            #[derive(Deserialize)]
            struct Text {
                text: String,
            }
            let text: Text = serde_json::from_str(&m.message.content)
                .map_err(|e| InboundError::bad_json("message content", e))?;
            Ok(Dispatch::Chat(ChatMessage {
                actor: Actor {
                    platform: Platform::Feishu,
                    id: m.sender.sender_id.open_id,
                    name: None,
                },
                chat_id: m.message.chat_id,
                text: strip_leading_mentions(&text.text),
            }))
        }
        other => Ok(Dispatch::Ignore(format!("event type {other}"))),
    }
}

/// The `card.action.trigger` response: a toast and optionally a raw 2.0 card (§4.3).
fn card_response(reply: CardReply) -> Value {
    let mut body = json!({});
    if let Some((kind, content)) = reply.toast {
        body["toast"] = json!({"type": kind, "content": content});
    }
    if let Some(card) = reply.card {
        body["card"] = json!({"type": "raw", "data": card});
    }
    body
}

/// Runs the card handler as its own task, so it finishes even when it overruns
/// the reply budget; the click then gets an "in progress" toast.
async fn card_reply_within_budget(
    handler: Arc<dyn InteractionHandler>,
    action: CardAction,
) -> CardReply {
    let task = tokio::spawn(async move { handler.card_action(action).await });
    match tokio::time::timeout(CARD_REPLY_BUDGET, task).await {
        Ok(Ok(reply)) => reply,
        Ok(Err(join)) => {
            tracing::error!(error = %join, "card action handler failed");
            CardReply {
                toast: Some((
                    crate::interaction::ToastKind::Error,
                    "ackbot failed to handle this".into(),
                )),
                card: None,
                state: None,
            }
        }
        Err(_) => {
            tracing::warn!(
                "card action handler overran the reply budget; it continues in the background"
            );
            CardReply {
                toast: Some((
                    crate::interaction::ToastKind::Info,
                    "ackbot is working on it…".into(),
                )),
                card: None,
                state: None,
            }
        }
    }
}

fn challenge_response(
    feishu: &FeishuInbound,
    incoming: &Incoming<'_>,
) -> Result<HttpResponse, InboundError> {
    feishu.check_token(incoming.token.as_deref())?;
    let challenge = incoming
        .challenge
        .as_deref()
        .ok_or_else(|| InboundError::BadRequest("url_verification without challenge".into()))?;
    Ok(HttpResponse::Ok().json(json!({ "challenge": challenge })))
}

/// `POST /feishu/events`.
#[tracing::instrument(name = "feishu_event", skip_all)]
pub async fn events(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
) -> Result<HttpResponse, InboundError> {
    let feishu = state(&inbound)?;
    let now_secs = now_ms() / 1000;
    let (plaintext, auth) =
        verify::open_event(&feishu.keys, &signature_headers(&req), &body.0, now_secs)?;
    let unsigned = auth == Authenticity::Unsigned;
    let opaque = |e| feishu.obscure(unsigned, e);

    let incoming: Incoming = serde_json::from_slice(&plaintext)
        .map_err(|e| opaque(InboundError::bad_json("event", e)))?;
    if incoming.kind.as_deref() == Some("url_verification") {
        return challenge_response(&feishu, &incoming).map_err(opaque);
    }
    if unsigned && feishu.keys.encrypt_key.is_some() {
        // Only the challenge may arrive unsigned once an Encrypt Key is set;
        // and this answer must not differ from a failed decryption's, or
        // "decrypted to JSON" becomes an oracle.
        return Err(VerifyError::Unauthenticated.into());
    }
    if incoming.schema.as_deref() != Some("2.0") {
        return Err(InboundError::BadRequest(
            "only schema 2.0 events are supported; subscribe to v2 events".into(),
        ));
    }
    let header = incoming
        .header
        .ok_or_else(|| InboundError::BadRequest("schema 2.0 event without header".into()))?;
    feishu.check_token(header.token.as_deref())?;
    let dispatch = decode_event(&header.event_type, incoming.event)?;

    let keep_until = match auth {
        Authenticity::Signed { timestamp_secs } => (timestamp_secs
            .saturating_add(feishu.keys.tolerance_secs))
        .max(now_secs + MESSAGE_ID_TTL_SECS),
        Authenticity::Unsigned => now_secs + MESSAGE_ID_TTL_SECS,
    };
    if inbound
        .sighting("feishu-event", &header.event_id, keep_until, now_secs)
        .await?
        == Sighting::Repeat
    {
        tracing::info!(event_id = %header.event_id, "duplicate Feishu event ignored");
        return Ok(HttpResponse::Ok().json(json!({})));
    }
    tracing::info!(event_id = %header.event_id, event_type = %header.event_type, "Feishu event accepted");
    match dispatch {
        Dispatch::Card(mut action) => {
            action.actor.name = feishu.clicker_name(&action.actor.id).await;
            let reply = card_reply_within_budget(inbound.handler.clone(), action).await;
            Ok(HttpResponse::Ok().json(card_response(reply)))
        }
        Dispatch::Chat(mut message) => {
            // Feishu ignores this response: the reply goes through the app's
            // API, after the event is acknowledged.
            let handler = inbound.handler.clone();
            let app = feishu.app.clone();
            tokio::spawn(async move {
                if let Some(app) = &app {
                    message.actor.name = app.user_name(&message.actor.id).await;
                }
                let chat_id = message.chat_id.clone();
                let Some(reply) = handler.chat_message(message).await else {
                    return;
                };
                match (&app, chat_id) {
                    (Some(app), Some(chat_id)) => {
                        if let Err(e) = app.send_text(&chat_id, &reply.text).await {
                            tracing::warn!(error = %e, "cannot send the Feishu chat reply");
                        }
                    }
                    _ => tracing::info!(
                        reply = %reply.text,
                        "Feishu chat reply not sent: set [feishu] app_id and app_secret"
                    ),
                }
            });
            Ok(HttpResponse::Ok().json(json!({"msg": "success"})))
        }
        Dispatch::Ignore(what) => {
            tracing::debug!("ignored Feishu {what}");
            Ok(HttpResponse::Ok().json(json!({"msg": "success"})))
        }
    }
}

/// The flat legacy card callback body (§4.6).
#[derive(Deserialize)]
struct LegacyCardAction {
    open_id: String,
    open_message_id: Option<String>,
    open_chat_id: Option<String>,
    action: ActionValue,
}

/// `POST /feishu/card`: the legacy message-card request URL (SHA-1 signature
/// keyed by the Verification Token). Its `url_verification` arrives unsigned.
#[tracing::instrument(name = "feishu_legacy_card", skip_all)]
pub async fn legacy_card(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
) -> Result<HttpResponse, InboundError> {
    let feishu = state(&inbound)?;
    let now_secs = now_ms() / 1000;
    let headers = signature_headers(&req);
    if headers.timestamp.is_none() && headers.nonce.is_none() && headers.signature.is_none() {
        // Only the challenge comes unsigned; it is authenticated by its token.
        let opaque = |e| feishu.obscure(true, e);
        let (plaintext, _) = verify::open_event(&feishu.keys, &headers, &body.0, now_secs)?;
        let incoming: Incoming = serde_json::from_slice(&plaintext)
            .map_err(|e| opaque(InboundError::bad_json("card callback", e)))?;
        if incoming.kind.as_deref() != Some("url_verification") {
            return Err(VerifyError::MissingHeader(HEADER_SIGNATURE).into());
        }
        return challenge_response(&feishu, &incoming).map_err(opaque);
    }
    if headers
        .signature
        .is_some_and(verify::looks_like_event_signature)
    {
        tracing::warn!(
            "a SHA-256 signed callback reached /feishu/card: point the card.action.trigger callback URL at /feishu/events"
        );
        return Err(InboundError::BadRequest(
            "this is a card.action.trigger callback; configure its request URL as /feishu/events"
                .into(),
        ));
    }
    let ts = verify::verify_legacy_card(
        feishu.verification_token.expose(),
        &headers,
        &body.0,
        now_secs,
        feishu.keys.tolerance_secs,
    )?;
    let card: LegacyCardAction =
        serde_json::from_slice(&body.0).map_err(|e| InboundError::bad_json("card callback", e))?;
    let signature = headers.signature.unwrap_or_default().to_ascii_lowercase();
    let keep_until = ts.saturating_add(feishu.keys.tolerance_secs);
    if inbound
        .sighting("feishu-card", &signature, keep_until, now_secs)
        .await?
        == Sighting::Repeat
    {
        tracing::info!("replayed Feishu card callback ignored");
        return Ok(super::error::refused(
            HttpResponse::Ok().json(json!({})),
            "replay",
        ));
    }
    let name = feishu.clicker_name(&card.open_id).await;
    let action = CardAction {
        actor: Actor {
            platform: Platform::Feishu,
            id: card.open_id,
            name,
        },
        value: card.action.value,
        message_id: card.open_message_id,
        chat_id: card.open_chat_id,
    };
    let reply = card_reply_within_budget(inbound.handler.clone(), action).await;
    // The legacy response puts card fields at the top level beside the toast.
    let mut response = card_response(CardReply {
        toast: reply.toast,
        card: None,
        state: None,
    });
    if let Some(Value::Object(fields)) = reply.card {
        response.as_object_mut().expect("object").extend(fields);
    }
    Ok(HttpResponse::Ok().json(response))
}
