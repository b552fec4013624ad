//! Twilio SMS (Messages) and voice calls (Calls with inline TwiML
//! `<Say>`), sms.md §4: HTTP Basic with the Account SID and auth token (or
//! an API key), form bodies, no request signature.
//!
//! Twilio takes free text, so a page is one line (no links), and a call
//! reads it out twice. Errors come as HTTP 4xx with a numeric `code`:
//! 20429 (too many concurrent requests) and 5xx are retried, the rest
//! (invalid number 21211, opted out 21610, landline 21614 …) fail and move
//! the escalation on.

use async_trait::async_trait;

use super::cards::Message;
use super::channel::{Channel, SendError, Sent, call};
use super::page::{Class, Page, recipient};
use crate::config::{ChannelConfig, ChannelKind, Secret};

pub const BASE: &str = "https://api.twilio.com";
/// sms.md §4.1: Body is at most 1600 characters.
const BODY_MAX: usize = 1600;

pub struct Twilio {
    pub name: String,
    pub kind: ChannelKind,
    base: String,
    account: String,
    user: String,
    password: Secret,
    from: Option<String>,
    service: Option<String>,
    /// `{public_url}/twilio/status?channel=…`: where Twilio reports a page
    /// that did not reach its person (needs the auth token, which signs it).
    callback: Option<String>,
    client: reqwest::Client,
}

impl Twilio {
    pub fn new(c: &ChannelConfig, public_url: Option<&str>, client: reqwest::Client) -> Self {
        let account = c.account_sid.clone().unwrap_or_default();
        let (user, password) = match (&c.api_key_sid, &c.api_key_secret) {
            (Some(sid), Some(secret)) => (sid.clone(), secret.clone()),
            _ => (
                account.clone(),
                c.auth_token.clone().unwrap_or_else(|| Secret::new("")),
            ),
        };
        Self {
            name: c.name.clone(),
            kind: c.kind,
            base: c
                .api_base
                .clone()
                .unwrap_or_else(|| BASE.to_string())
                .trim_end_matches('/')
                .to_string(),
            account,
            user,
            password,
            from: c.from.clone(),
            service: c.messaging_service_sid.clone(),
            callback: public_url.filter(|_| c.auth_token.is_some()).map(|u| {
                format!(
                    "{}/twilio/status?channel={}",
                    u.trim_end_matches('/'),
                    crate::verify::sms::percent_encode(&c.name)
                )
            }),
            client,
        }
    }

    fn voice(&self) -> bool {
        self.kind == ChannelKind::TwilioVoice
    }

    /// Where Twilio reports on this page: the alerts and the person ride in
    /// the signed URL.
    fn status_callback(&self, message: &Message, person: &str) -> Option<String> {
        let base = self.callback.as_deref()?;
        let alerts: Vec<&str> = message
            .items
            .iter()
            .take(crate::inbound::twilio::MAX_ALERTS)
            .map(|i| i.alert.id.as_str())
            .collect();
        Some(format!(
            "{base}&alerts={}&person={}",
            alerts.join(","),
            crate::verify::sms::percent_encode(person)
        ))
    }

    /// The form fields of one send.
    pub fn form(&self, phone: &str, page: &Page) -> Vec<(&'static str, String)> {
        let mut form = vec![("To", phone.to_string())];
        match (&self.from, &self.service) {
            (Some(from), _) => form.push(("From", from.clone())),
            (None, Some(service)) => form.push(("MessagingServiceSid", service.clone())),
            (None, None) => {}
        }
        if self.voice() {
            let said = xml_escape(&page.spoken(500));
            form.push((
                "Twiml",
                format!(r#"<Response><Say loop="2">{said}</Say></Response>"#),
            ));
            form.push(("Timeout", "30".into()));
        } else {
            form.push(("Body", page.text(BODY_MAX)));
            // An alert text older than 5 minutes in Twilio's queue is noise.
            form.push(("ValidityPeriod", "300".into()));
        }
        form
    }
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// sms.md §4.3.
pub fn classify(status: u16, code: Option<i64>) -> Class {
    match (status, code) {
        (_, Some(20429)) | (429, _) => Class::Retry,
        (500.., _) => Class::Retry,
        _ => Class::Fail,
    }
}

#[async_trait]
impl Channel for Twilio {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        self.kind
    }

    async fn send(&self, message: &Message, _key: &str) -> Result<Sent, SendError> {
        let (person, phone) = recipient(message)?;
        let mut form = self.form(phone, &Page::of(message));
        if let Some(url) = self.status_callback(message, person) {
            form.push(("StatusCallback", url));
        }
        let resource = if self.voice() { "Calls" } else { "Messages" };
        let url = format!(
            "{}/2010-04-01/Accounts/{}/{resource}.json",
            self.base, self.account
        );
        let request = self
            .client
            .post(url)
            .basic_auth(&self.user, Some(self.password.expose()))
            .form(&form);
        let answer = call(request).await?;
        let json = answer.json();
        if answer.status.is_success() {
            return Ok(Sent {
                message_id: json
                    .as_ref()
                    .and_then(|j| j.get("sid"))
                    .and_then(|s| s.as_str())
                    .map(str::to_string),
                answer: answer.body,
            });
        }
        let code = json
            .as_ref()
            .and_then(|j| j.get("code"))
            .and_then(|c| c.as_i64());
        let text = json
            .as_ref()
            .and_then(|j| j.get("message").or_else(|| j.get("detail")))
            .and_then(|m| m.as_str())
            .unwrap_or_default()
            .to_string();
        let class = classify(answer.status.as_u16(), code);
        let code = code.map_or_else(
            || format!("HTTP {}", answer.status.as_u16()),
            |c| c.to_string(),
        );
        Err(match class.error("Twilio", &code, &text) {
            SendError::Transient { message, .. } => SendError::Transient {
                message,
                retry_after: answer.retry_after(),
            },
            other => other,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrency_and_server_errors_retry_the_rest_fails() {
        assert_eq!(classify(429, Some(20429)), Class::Retry);
        assert_eq!(classify(503, None), Class::Retry);
        assert_eq!(classify(400, Some(21211)), Class::Fail);
        assert_eq!(classify(401, Some(20003)), Class::Fail);
    }

    #[test]
    fn spoken_text_is_escaped_for_twiml() {
        assert_eq!(xml_escape(r#"a<b>&"c'"#), "a&lt;b&gt;&amp;&quot;c&apos;");
    }
}
