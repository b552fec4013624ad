//! `GET /wecom/callback` (URL verification) and `POST /wecom/callback` (messages),
//! per `../shared/spec/dingtalk.md` §5.
//!
//! Query values are percent-decoded by hand: a form decoder would turn the `+`
//! of base64 `echostr` into a space. The signature covers the ciphertext, so it
//! is checked before anything is decrypted. WeCom documents no timestamp window;
//! ours is `[wecom] timestamp_tolerance` (default 5 min), and each
//! (timestamp, nonce) is accepted once within it.
//!
//! Group robots and self-built apps send XML; the JSON envelope of WeCom's AI
//! bots is not supported yet.

use std::collections::HashMap;

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{Inbound, InboundError, MESSAGE_ID_TTL_SECS, RawBody, now_ms, secs};
use crate::config::{Secret, WeComConfig};
use crate::interaction::{Actor, ChatMessage, Platform, strip_leading_mentions};
use crate::replay::Sighting;
use crate::verify::wecom::{self as verify, Cipher};
use crate::verify::{VerifyError, timestamp};

pub struct WeComInbound {
    token: Secret,
    cipher: Cipher,
    receive_id: String,
    tolerance_secs: i64,
}

impl WeComInbound {
    pub fn new(config: &WeComConfig) -> Self {
        Self {
            token: config.token.clone(),
            cipher: Cipher::new(config.encoding_aes_key.expose())
                .expect("validated at config load"),
            receive_id: config.receive_id.clone(),
            tolerance_secs: secs(config.timestamp_tolerance),
        }
    }
}

fn state(inbound: &Inbound) -> Result<std::sync::Arc<WeComInbound>, InboundError> {
    inbound
        .wecom
        .load_full()
        .ok_or(InboundError::NotConfigured {
            platform: "WeCom",
            section: "wecom",
        })
}

/// Query parameters, percent-decoded without turning `+` into a space.
fn query_params(req: &HttpRequest) -> HashMap<String, String> {
    req.query_string()
        .split('&')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .ok()
                    .map(|c| c.into_owned())
            };
            Some((decode(k)?, decode(v)?))
        })
        .collect()
}

fn param<'a>(
    params: &'a HashMap<String, String>,
    name: &'static str,
) -> Result<&'a str, VerifyError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or(VerifyError::MissingParam(name))
}

/// The query values of a request whose signature and timestamp were verified.
struct Verified<'a> {
    timestamp: &'a str,
    timestamp_secs: i64,
    /// `msg_signature`, lowercase.
    signature: String,
}

/// Verifies the signature over `encrypted`, then the timestamp window.
fn verify_request<'a>(
    wecom: &WeComInbound,
    params: &'a HashMap<String, String>,
    encrypted: &str,
    now_secs: i64,
) -> Result<Verified<'a>, VerifyError> {
    let signature = param(params, "msg_signature")?;
    let timestamp = param(params, "timestamp")?;
    let nonce = param(params, "nonce")?;
    let timestamp_secs = timestamp::parse_decimal(timestamp, "timestamp")?;
    verify::verify_signature(wecom.token.expose(), timestamp, nonce, encrypted, signature)?;
    timestamp::check_window(
        timestamp_secs.saturating_mul(1000),
        now_secs.saturating_mul(1000),
        wecom.tolerance_secs.saturating_mul(1000),
    )?;
    Ok(Verified {
        timestamp,
        timestamp_secs,
        signature: signature.to_ascii_lowercase(),
    })
}

/// `GET /wecom/callback`: answer the URL check with the decrypted `echostr`, as
/// plain text with nothing around it.
#[tracing::instrument(name = "wecom_verify_url", skip_all)]
pub async fn verify_url(
    req: HttpRequest,
    inbound: web::Data<Inbound>,
) -> Result<HttpResponse, InboundError> {
    let wecom = state(&inbound)?;
    let params = query_params(&req);
    let echostr = param(&params, "echostr")?;
    verify_request(&wecom, &params, echostr, now_ms() / 1000)?;
    let plain = wecom.cipher.decrypt(echostr, &wecom.receive_id)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(plain))
}

#[derive(Deserialize)]
struct XmlEnvelope {
    #[serde(rename = "Encrypt")]
    encrypt: String,
}

/// A decrypted group-robot or app message (XML), the fields we use. Robots put
/// the sender under `From`, apps use `FromUserName`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct XmlMessage {
    #[serde(rename = "MsgType")]
    msg_type: String,
    #[serde(rename = "MsgId")]
    msg_id: Option<String>,
    #[serde(rename = "ChatId")]
    chat_id: Option<String>,
    #[serde(rename = "From")]
    from: Option<XmlFrom>,
    #[serde(rename = "FromUserName")]
    from_user_name: Option<String>,
    #[serde(rename = "Text")]
    text: Option<XmlText>,
    #[serde(rename = "Content")]
    content: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct XmlFrom {
    #[serde(rename = "UserId")]
    user_id: Option<String>,
    #[serde(rename = "Name")]
    name: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct XmlText {
    #[serde(rename = "Content")]
    content: String,
}

/// `POST /wecom/callback`: a message to the robot. The reply is encrypted XML.
#[tracing::instrument(name = "wecom_callback", skip_all)]
pub async fn callback(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
) -> Result<HttpResponse, InboundError> {
    let wecom = state(&inbound)?;
    let params = query_params(&req);
    let text = std::str::from_utf8(&body.0)
        .map_err(|_| InboundError::BadRequest("body is not UTF-8".into()))?;
    let encrypted = quick_xml::de::from_str::<XmlEnvelope>(text)
        .map_err(|e| {
            InboundError::BadRequest(format!("callback body is not WeCom's XML envelope: {e}"))
        })?
        .encrypt;
    let now_secs = now_ms() / 1000;
    let verified = verify_request(&wecom, &params, &encrypted, now_secs)?;
    let plain = wecom.cipher.decrypt(&encrypted, &wecom.receive_id)?;
    let plain = std::str::from_utf8(&plain).map_err(|_| VerifyError::BadPlaintext)?;
    let message: XmlMessage = quick_xml::de::from_str(plain).map_err(|e| {
        InboundError::BadRequest(format!("decrypted message is not the expected XML: {e}"))
    })?;

    // The key is what the signature covers: the signature itself (SHA-1 of
    // token, timestamp, nonce and ciphertext sorted and joined), so moving
    // characters between the fields, which signs the same, is the same key.
    let nonce_expires = verified.timestamp_secs.saturating_add(wecom.tolerance_secs) + 1;
    if inbound
        .sighting("wecom-signed", &verified.signature, nonce_expires, now_secs)
        .await?
        == Sighting::Repeat
    {
        return Err(InboundError::Replay);
    }
    if let Some(id) = &message.msg_id {
        if inbound
            .sighting("wecom-msg", id, now_secs + MESSAGE_ID_TTL_SECS, now_secs)
            .await?
            == Sighting::Repeat
        {
            tracing::info!("duplicate WeCom MsgId ignored");
            return Ok(super::error::refused(
                HttpResponse::Ok().finish(),
                "duplicate",
            ));
        }
    }
    let content = message.text.map(|t| t.content).or(message.content);
    let (true, Some(content)) = (message.msg_type == "text", content) else {
        return Ok(HttpResponse::Ok().finish());
    };
    let from = message.from.unwrap_or_default();
    let chat = ChatMessage {
        actor: Actor {
            platform: Platform::WeCom,
            id: from.user_id.or(message.from_user_name).unwrap_or_default(),
            name: from.name,
        },
        chat_id: message.chat_id,
        text: strip_leading_mentions(&content),
    };
    let Some(reply) = inbound.handler.chat_message(chat).await else {
        return Ok(HttpResponse::Ok().finish());
    };
    let text = crate::outbound::cards::text::wecom_text(&reply.text);
    let xml = encrypted_reply(&wecom, &reply_xml(&text), verified.timestamp);
    Ok(HttpResponse::Ok()
        .content_type(ContentType::xml())
        .body(xml))
}

/// Wraps text in CDATA, splitting any `]]>` inside it.
fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

fn reply_xml(text: &str) -> String {
    format!(
        "<xml><MsgType>text</MsgType><Text><Content>{}</Content></Text></xml>",
        cdata(text)
    )
}

/// The passive reply envelope (§5.5): encrypted with a fresh random prefix,
/// signed with the token, the request's timestamp and a fresh nonce.
fn encrypted_reply(wecom: &WeComInbound, plaintext: &str, timestamp: &str) -> String {
    let mut random = [0u8; 16];
    let mut nonce_bytes = [0u8; 8];
    getrandom::fill(&mut random).expect("OS random source");
    getrandom::fill(&mut nonce_bytes).expect("OS random source");
    let nonce = hex::encode(nonce_bytes);
    let encrypted = wecom
        .cipher
        .encrypt(plaintext.as_bytes(), &wecom.receive_id, random);
    let signature = hex::encode(verify::msg_signature(
        wecom.token.expose(),
        timestamp,
        &nonce,
        &encrypted,
    ));
    format!(
        "<xml><Encrypt>{}</Encrypt><MsgSignature>{}</MsgSignature><TimeStamp>{timestamp}</TimeStamp><Nonce>{}</Nonce></xml>",
        cdata(&encrypted),
        cdata(&signature),
        cdata(&nonce)
    )
}

/// The envelope and message parsing of the callback handler, for the fuzz
/// targets (`fuzz/fuzz_targets/wecom.rs`): `body` as the XML envelope, and
/// as a decrypted message.
#[doc(hidden)]
pub fn parse_bodies(body: &[u8]) {
    let Ok(text) = std::str::from_utf8(body) else {
        return;
    };
    let _ = quick_xml::de::from_str::<XmlEnvelope>(text);
    if let Ok(message) = quick_xml::de::from_str::<XmlMessage>(text) {
        if let Some(content) = message.text.map(|t| t.content).or(message.content) {
            let _ = strip_leading_mentions(&content);
        }
    }
    let _ = reply_xml(text);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cdata_cannot_be_closed_by_content() {
        assert_eq!(cdata("a]]>b"), "<![CDATA[a]]]]><![CDATA[>b]]>");
        let xml = reply_xml("x]]><evil/>");
        #[derive(Deserialize)]
        struct R {
            #[serde(rename = "Text")]
            text: XmlText,
        }
        let r: R = quick_xml::de::from_str(&xml).unwrap();
        assert_eq!(r.text.content, "x]]><evil/>");
    }
}
