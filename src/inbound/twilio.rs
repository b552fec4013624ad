//! `POST /twilio/status`: Twilio's status callbacks for the pages ackbot
//! sent (sms.md §4.4). A call that was busy, not answered or failed, and a
//! text that failed or was undelivered, move the escalation of the alerts
//! it paged for on at once, instead of waiting out the step.
//!
//! Twilio signs the full URL it was given (`StatusCallback`, with its
//! query: the channel, the alerts and the person) and the form body with
//! the account's auth token (`X-Twilio-Signature`, HMAC-SHA1), compared in
//! constant time; the URL is rebuilt from `[server] public_url`, never from
//! the `Host` header. The signature has no timestamp, so each (sid, status)
//! is accepted once, across restarts and replicas (the replay memory).
//!
//! Answers: 204 once handled (or a repeat: nothing done twice); 401 with a
//! bad or missing signature; 404 when the channel takes no callbacks; 413
//! past the body limit; 503 when the replay memory or storage fails.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, http::StatusCode, web};
use chrono::Utc;
use serde_json::json;

use super::{Inbound, RawBody};
use crate::config::{ChannelKind, Config, Secret};
use crate::replay::Sighting;
use crate::store::Store;
use crate::verify::sms::{form_pairs, twilio_valid};

/// What the receiver needs: the public base URL and each Twilio channel's
/// auth token. Replaced on a reload.
#[derive(Debug, Clone, Default)]
pub struct TwilioInbound {
    pub public_url: Option<String>,
    pub tokens: HashMap<String, Secret>,
}

impl TwilioInbound {
    pub fn from_config(config: &Config) -> Self {
        Self {
            public_url: config
                .server
                .public_url
                .as_ref()
                .map(|u| u.trim_end_matches('/').to_string()),
            tokens: config
                .channels
                .iter()
                .filter(|c| matches!(c.kind, ChannelKind::TwilioSms | ChannelKind::TwilioVoice))
                .filter_map(|c| Some((c.name.clone(), c.auth_token.clone()?)))
                .collect(),
        }
    }
}

/// The statuses that mean the person was not reached.
pub fn unreached(status: &str) -> bool {
    matches!(
        status,
        "failed" | "undelivered" | "busy" | "no-answer" | "canceled"
    )
}

/// How long a (sid, status) is remembered: Twilio retries within hours.
const REMEMBER_SECS: i64 = 7 * 24 * 3600;
/// Alerts one callback may name (a page lists at most this many).
pub const MAX_ALERTS: usize = 50;

fn error(status: StatusCode, code: &'static str, message: &str) -> HttpResponse {
    super::error::refused(
        HttpResponse::build(status).json(json!({"error": code, "message": message})),
        code,
    )
}

fn query(req: &HttpRequest) -> HashMap<String, String> {
    form_pairs(req.query_string()).into_iter().collect()
}

pub async fn post_status(
    req: HttpRequest,
    body: RawBody,
    inbound: web::Data<Inbound>,
    store: web::Data<dyn Store>,
) -> HttpResponse {
    let config = inbound.twilio.load();
    let q = query(&req);
    let (Some(public), Some(token)) = (
        config.public_url.as_deref(),
        q.get("channel").and_then(|c| config.tokens.get(c)),
    ) else {
        return error(
            StatusCode::NOT_FOUND,
            "not_configured",
            "no Twilio channel with an auth_token and [server] public_url takes this callback",
        );
    };
    let Some(signature) = req
        .headers()
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
    else {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing X-Twilio-Signature",
        );
    };
    let text = String::from_utf8_lossy(&body.0);
    let pairs = form_pairs(&text);
    let params: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let url = format!("{public}{}?{}", req.path(), req.query_string());
    if !twilio_valid(token.expose(), &url, &params, signature) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the Twilio signature does not match",
        );
    }
    let field = |names: [&str; 2]| {
        pairs
            .iter()
            .find(|(k, _)| names.contains(&k.as_str()))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let sid = field(["CallSid", "MessageSid"]);
    let status = field(["CallStatus", "MessageStatus"]);
    if !unreached(&status) {
        return HttpResponse::NoContent().finish();
    }
    let now = Utc::now();
    match inbound
        .replay
        .check(
            "twilio",
            &format!("{sid}\n{status}"),
            now.timestamp() + REMEMBER_SECS,
            now.timestamp(),
        )
        .await
    {
        Ok(Sighting::First) => {}
        Ok(Sighting::Repeat) => {
            return super::error::refused(HttpResponse::NoContent().finish(), "duplicate");
        }
        Err(e) => {
            tracing::warn!(error = %e, "twilio status: replay memory");
            return error(StatusCode::SERVICE_UNAVAILABLE, "busy", "try again later");
        }
    }
    let alerts: Vec<String> = q
        .get("alerts")
        .map(|a| {
            a.split(',')
                .filter(|id| !id.is_empty())
                .take(MAX_ALERTS)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let person = q.get("person").cloned().unwrap_or_default();
    let channel = q.get("channel").cloned().unwrap_or_default();
    let kind = format!(
        "page not answered: {} ({})",
        crate::outbound::page::clean(&status, 20),
        crate::outbound::page::clean(&field(["ErrorCode", "SipResponseCode"]), 20)
    );
    for id in &alerts {
        if let Err(e) = store.note(id, (&kind, &person, &channel), now).await {
            tracing::warn!(error = %e, "twilio status: cannot record");
        }
    }
    if let Err(e) = store.escalate_now(&alerts, now).await {
        tracing::warn!(error = %e, "twilio status: cannot move escalations on");
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage",
            "storage is unavailable; retry later",
        );
    }
    tracing::info!(channel = %channel, status = %status, alerts = alerts.len(), "twilio: not reached; escalating now");
    HttpResponse::NoContent().finish()
}
