//! `POST /dingtalk/robot`: an app robot's HTTP-mode callback (a user @-mentions
//! the robot or messages it), per `../shared/spec/dingtalk.md` §2; and
//! `POST /dingtalk/card`: interactive-card button callbacks (§3), for
//! organisations that register a card callback route.
//!
//! The `sign` header covers only the timestamp, not the body. So besides the
//! signature and the one-hour window, each (timestamp, sign) pair is accepted
//! once (a second use is a replay: 403) and each `msgId` is acted on once (a
//! repeat is answered 200 with an empty message, in case DingTalk re-sends).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{Inbound, InboundError, MESSAGE_ID_TTL_SECS, RawBody, header, now_ms};
use crate::config::{DingTalkConfig, Secret};
use crate::interaction::{Actor, CardAction, ChatMessage, Platform, strip_leading_mentions};
use crate::replay::Sighting;
use crate::verify::dingtalk::{self as verify, HEADER_SIGN, HEADER_TIMESTAMP};

pub struct DingTalkInbound {
    app_secret: Secret,
    card_secret: Option<Secret>,
    tolerance_ms: i64,
}

impl DingTalkInbound {
    pub fn new(config: &DingTalkConfig) -> Self {
        Self {
            app_secret: config.app_secret.clone(),
            card_secret: config.card_callback_secret.clone(),
            tolerance_ms: i64::try_from(config.timestamp_tolerance.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

/// The fields of a robot message we use (§2.3).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RobotMessage {
    msgtype: Option<String>,
    text: Option<Text>,
    /// The 0078 doc sample puts text here; parse it defensively.
    content: Option<serde_json::Value>,
    msg_id: Option<String>,
    conversation_id: Option<String>,
    sender_staff_id: Option<String>,
    sender_id: Option<String>,
    sender_nick: Option<String>,
}

#[derive(Deserialize)]
struct Text {
    content: String,
}

impl RobotMessage {
    fn text(&self) -> Option<&str> {
        if self.msgtype.as_deref().is_some_and(|t| t != "text") {
            return None;
        }
        self.text
            .as_ref()
            .map(|t| t.content.as_str())
            .or_else(|| self.content.as_ref()?.as_str())
    }
}

fn empty_reply() -> HttpResponse {
    HttpResponse::Ok().json(json!({"msgtype": "empty"}))
}

#[tracing::instrument(name = "dingtalk_robot", skip_all)]
pub async fn robot(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
) -> Result<HttpResponse, InboundError> {
    let dingtalk = inbound
        .dingtalk
        .load_full()
        .ok_or(InboundError::NotConfigured {
            platform: "DingTalk",
            section: "dingtalk",
        })?;
    let now = now_ms();
    let (ts_header, sign_header) = (header(&req, HEADER_TIMESTAMP), header(&req, HEADER_SIGN));
    let ts = verify::verify_robot_callback(
        ts_header,
        sign_header,
        dingtalk.app_secret.expose(),
        now,
        dingtalk.tolerance_ms,
    )?;
    let message: RobotMessage =
        serde_json::from_slice(&body.0).map_err(|e| InboundError::bad_json("robot message", e))?;

    let now_secs = now / 1000;
    let pair = format!(
        "{}:{}",
        ts_header.unwrap_or_default(),
        sign_header.unwrap_or_default()
    );
    let pair_expires = ts.saturating_add(dingtalk.tolerance_ms) / 1000 + 1;
    if inbound
        .sighting("dingtalk-sign", &pair, pair_expires, now_secs)
        .await?
        == Sighting::Repeat
    {
        return Err(InboundError::Replay);
    }
    if let Some(id) = &message.msg_id {
        if inbound
            .sighting("dingtalk-msg", id, now_secs + MESSAGE_ID_TTL_SECS, now_secs)
            .await?
            == Sighting::Repeat
        {
            tracing::info!("duplicate DingTalk msgId ignored");
            return Ok(super::error::refused(empty_reply(), "duplicate"));
        }
    }
    let Some(text) = message.text() else {
        return Ok(empty_reply());
    };
    let chat = ChatMessage {
        actor: Actor {
            platform: Platform::DingTalk,
            id: message
                .sender_staff_id
                .clone()
                .or_else(|| message.sender_id.clone())
                .unwrap_or_default(),
            name: message.sender_nick.clone(),
        },
        chat_id: message.conversation_id.clone(),
        text: strip_leading_mentions(text),
    };
    Ok(match inbound.handler.chat_message(chat).await {
        Some(reply) => {
            let content = crate::outbound::cards::text::dingtalk_text(&reply.text);
            HttpResponse::Ok().json(json!({"msgtype": "text", "text": {"content": content}}))
        }
        None => empty_reply(),
    })
}

/// An interactive-card callback (§3.4). `content` is JSON inside a string.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CardCallback {
    #[serde(rename = "type")]
    kind: Option<String>,
    out_track_id: Option<String>,
    user_id: Option<String>,
    content: Option<String>,
}

/// `POST /dingtalk/card`: verifies `x-ddpaas-signature` (HMAC of the
/// timestamp with the route's apiSecret) and the one-hour window, accepts
/// each signed (timestamp, signature) pair once, and answers within DingTalk's 2 s with the
/// card's new data (§3.5): `status`, `ackBy` and a `message` for the toast.
#[tracing::instrument(name = "dingtalk_card", skip_all)]
pub async fn card(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
) -> Result<HttpResponse, InboundError> {
    let dingtalk = inbound.dingtalk.load_full();
    let secret = dingtalk
        .as_ref()
        .and_then(|d| d.card_secret.as_ref().map(|s| (d, s)));
    let Some((dingtalk, secret)) = secret else {
        return Err(InboundError::NotConfigured {
            platform: "DingTalk card callbacks",
            section: "dingtalk] card_callback_secret",
        });
    };
    let now = now_ms();
    let ts_header = header(&req, verify::HEADER_CARD_TIMESTAMP);
    let ts = verify::verify_card_callback(
        ts_header,
        header(&req, verify::HEADER_CARD_SIGNATURE),
        secret.expose(),
        now,
        dingtalk.tolerance_ms,
    )?;
    let callback: CardCallback =
        serde_json::from_slice(&body.0).map_err(|e| InboundError::bad_json("card callback", e))?;
    if callback
        .kind
        .as_deref()
        .is_some_and(|k| k != "actionCallback")
    {
        return Ok(HttpResponse::Ok().json(json!({})));
    }
    let content: serde_json::Value =
        serde_json::from_str(callback.content.as_deref().unwrap_or("{}"))
            .map_err(|e| InboundError::bad_json("card callback content", e))?;
    let params = content
        .pointer("/cardPrivateData/params")
        .cloned()
        .unwrap_or_default();
    // The signature covers only the timestamp, not the body: the signed
    // pair is accepted once, whatever body comes with it (as for the robot).
    let now_secs = now / 1000;
    let pair = format!(
        "{}:{}",
        ts_header.unwrap_or_default(),
        header(&req, verify::HEADER_CARD_SIGNATURE).unwrap_or_default()
    );
    let expires = ts.saturating_add(dingtalk.tolerance_ms) / 1000 + 1;
    if inbound
        .sighting("dingtalk-card", &pair, expires, now_secs)
        .await?
        == Sighting::Repeat
    {
        return Err(InboundError::Replay);
    }
    // Buttons carry `action` and `alert_id` (or the spec example's `alert`).
    let mut value = params.clone();
    if value.get("alert_id").is_none() {
        if let Some(alert) = params.get("alert").cloned() {
            value["alert_id"] = alert;
        }
    }
    let action = CardAction {
        actor: Actor {
            platform: Platform::DingTalk,
            id: callback.user_id.clone().unwrap_or_default(),
            name: None,
        },
        value,
        message_id: callback.out_track_id.clone(),
        chat_id: None,
    };
    let reply = inbound.handler.card_action(action).await;
    let message = reply.toast.map(|(_, text)| text).unwrap_or_default();
    let (status, ack_by) = match reply.state {
        Some((state, by)) => (state, by.unwrap_or_default()),
        None => (String::new(), String::new()),
    };
    Ok(HttpResponse::Ok().json(json!({
        "cardUpdateOptions": {"updateCardDataByKey": true, "updatePrivateDataByKey": true},
        "cardData": {"cardParamMap": {"status": status, "ackBy": ack_by}},
        "userPrivateData": {"cardParamMap": {"message": message}},
    })))
}

/// The body parsing of both handlers, after verification, for the fuzz
/// targets (`fuzz/fuzz_targets/dingtalk.rs`): a robot message and its text,
/// a card callback and its `content`.
#[doc(hidden)]
pub fn parse_bodies(body: &[u8]) {
    if let Ok(message) = serde_json::from_slice::<RobotMessage>(body) {
        if let Some(text) = message.text() {
            let _ = strip_leading_mentions(text);
        }
    }
    if let Ok(callback) = serde_json::from_slice::<CardCallback>(body) {
        let _ =
            serde_json::from_str::<serde_json::Value>(callback.content.as_deref().unwrap_or("{}"));
    }
}
