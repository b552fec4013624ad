//! Alibaba Cloud SMS (`SendSms`, dysmsapi 2017-05-25) and voice
//! (`SingleCallByTts`, dyvmsapi 2017-05-25): parameters in the query, an
//! empty body, signed with ACS3-HMAC-SHA256 (or the legacy RPC HMAC-SHA1
//! when `signature = "hmac-sha1"`), sms.md §1–2.
//!
//! The alert travels as the approved template's variables (`TemplateParam`
//! / `TtsParam`, a JSON object of strings), each cleaned and cut to
//! `param_max_chars`. Business errors come back in an HTTP 200 with a
//! `Code`; they are classified (§1.7): per-number flow control is a limit
//! that moves the escalation on, not a retry into the same wall. Every
//! attempt is signed afresh (new date and nonce).

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::Utc;

use super::cards::Message;
use super::channel::{Channel, SendError, Sent, call};
use super::page::{Class, Page, host_of, recipient};
use crate::config::{ChannelConfig, ChannelKind, Secret, routing::TemplateParams};
use crate::verify::sms::{AcsRequest, acs_rpc_sign, acs3_sign};

pub const SMS_BASE: &str = "https://dysmsapi.aliyuncs.com";
pub const VOICE_BASE: &str = "https://dyvmsapi.aliyuncs.com";
const VERSION: &str = "2017-05-25";
/// sms.md §1.9: 20 characters per variable unless the account says more.
pub const DEFAULT_MAX_CHARS: usize = 20;
/// sms.md §2: all TTS variables together stay under 250 characters.
const VOICE_TOTAL: usize = 249;

pub struct Aliyun {
    pub name: String,
    pub kind: ChannelKind,
    base: String,
    key_id: String,
    secret: Secret,
    legacy: bool,
    sign_name: String,
    template: String,
    params: BTreeMap<String, String>,
    max_chars: usize,
    show_number: Option<String>,
    play_times: Option<u32>,
    client: reqwest::Client,
}

impl Aliyun {
    pub fn new(c: &ChannelConfig, client: reqwest::Client) -> Self {
        let voice = c.kind == ChannelKind::AliyunVoice;
        let params = match &c.template_params {
            Some(TemplateParams::Named(m)) => m.clone(),
            // The suggested template of sms.md §1.9.
            _ => [
                ("sev", "severity"),
                ("name", "title"),
                ("target", "service"),
                ("dur", "duration"),
                ("id", "id"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        };
        Self {
            name: c.name.clone(),
            kind: c.kind,
            base: c
                .api_base
                .clone()
                .unwrap_or_else(|| if voice { VOICE_BASE } else { SMS_BASE }.to_string())
                .trim_end_matches('/')
                .to_string(),
            key_id: c.access_key_id.clone().unwrap_or_default(),
            secret: c
                .access_key_secret
                .clone()
                .unwrap_or_else(|| Secret::new("")),
            legacy: c.signature.as_deref() == Some("hmac-sha1"),
            sign_name: c.sign_name.clone().unwrap_or_default(),
            template: c.template_code.clone().unwrap_or_default(),
            params,
            max_chars: c.param_max_chars.unwrap_or(DEFAULT_MAX_CHARS),
            show_number: c.called_show_number.clone(),
            play_times: c.play_times,
            client,
        }
    }

    fn voice(&self) -> bool {
        self.kind == ChannelKind::AliyunVoice
    }

    /// The template variables as the JSON string Alibaba takes.
    pub fn template_param(&self, page: &Page) -> String {
        let mut left = VOICE_TOTAL;
        let mut map = serde_json::Map::new();
        for (var, field) in &self.params {
            let mut value = page.field(field, self.max_chars);
            if self.voice() {
                value = value.chars().take(left).collect();
                left -= value.chars().count();
            }
            map.insert(var.clone(), serde_json::Value::String(value));
        }
        serde_json::Value::Object(map).to_string()
    }

    /// The business parameters of one send.
    fn business(&self, phone: &str, param: &str, key: &str) -> Vec<(&'static str, String)> {
        // Alibaba wants international numbers without `+`; mainland ones
        // may have it or not (§1.5).
        let number = phone.trim_start_matches('+').to_string();
        if self.voice() {
            let mut v = vec![
                ("CalledNumber", number),
                ("TtsCode", self.template.clone()),
                ("TtsParam", param.to_string()),
                // OutId: 1 to 15 bytes for voice (§2).
                (
                    "OutId",
                    key.chars()
                        .rev()
                        .take(15)
                        .collect::<String>()
                        .chars()
                        .rev()
                        .collect(),
                ),
            ];
            if let Some(n) = &self.show_number {
                v.push(("CalledShowNumber", n.clone()));
            }
            if let Some(n) = self.play_times {
                v.push(("PlayTimes", n.to_string()));
            }
            v
        } else {
            vec![
                ("PhoneNumbers", number),
                ("SignName", self.sign_name.clone()),
                ("TemplateCode", self.template.clone()),
                ("TemplateParam", param.to_string()),
                ("OutId", key.to_string()),
            ]
        }
    }

    fn action(&self) -> &'static str {
        if self.voice() {
            "SingleCallByTts"
        } else {
            "SendSms"
        }
    }

    /// A signed request, made afresh for each attempt.
    fn request(
        &self,
        params: &[(&'static str, String)],
    ) -> Result<reqwest::RequestBuilder, SendError> {
        let date = Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let nonce = crate::store::new_id();
        if self.legacy {
            let mut all: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
            all.extend([
                ("Action", self.action()),
                ("Version", VERSION),
                ("Format", "JSON"),
                ("AccessKeyId", self.key_id.as_str()),
                ("SignatureMethod", "HMAC-SHA1"),
                ("SignatureVersion", "1.0"),
                ("SignatureNonce", nonce.as_str()),
                ("Timestamp", date.as_str()),
            ]);
            let signed = acs_rpc_sign("POST", &all, self.secret.expose());
            return Ok(self
                .client
                .post(format!("{}/?{}", self.base, signed.query))
                .header("accept", "application/json"));
        }
        let host = host_of(&self.base)?;
        let query: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let signed = acs3_sign(
            &self.key_id,
            self.secret.expose(),
            &AcsRequest {
                host: &host,
                action: self.action(),
                version: VERSION,
                date: &date,
                nonce: &nonce,
                query: &query,
                body: b"",
                content_type: None,
                extra_headers: &[],
            },
        );
        let mut request = self
            .client
            .post(format!("{}/?{}", self.base, signed.canonical_query))
            .header("accept", "application/json");
        for (name, value) in &signed.headers {
            // The client writes Host from the URL: the value signed above.
            if name != "host" {
                request = request.header(name.as_str(), value.as_str());
            }
        }
        Ok(request)
    }
}

/// sms.md §1.7: which codes are worth a retry, which are limits.
pub fn classify(code: &str) -> Class {
    match code {
        "isv.BUSINESS_LIMIT_CONTROL" | "isv.DAY_LIMIT_CONTROL" | "isv.MONTH_LIMIT_CONTROL" => {
            Class::Later
        }
        "isp.SYSTEM_ERROR"
        | "InternalError"
        | "ServiceUnavailable"
        | "InvalidTimeStamp.Expired"
        | "SignatureNonceUsed" => Class::Retry,
        c if c.starts_with("Throttling") => Class::Retry,
        _ => Class::Fail,
    }
}

#[async_trait]
impl Channel for Aliyun {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        self.kind
    }

    async fn send(&self, message: &Message, key: &str) -> Result<Sent, SendError> {
        let (_, phone) = recipient(message)?;
        let param = self.template_param(&Page::of(message));
        let params = self.business(phone, &param, key);
        let answer = call(self.request(&params)?).await?;
        let json = answer.json();
        let code = json
            .as_ref()
            .and_then(|j| j.get("Code"))
            .and_then(|c| c.as_str())
            .map(str::to_string);
        match code.as_deref() {
            Some("OK") if answer.status.is_success() => {
                let id = json.as_ref().and_then(|j| {
                    j.get(if self.voice() { "CallId" } else { "BizId" })
                        .and_then(|v| v.as_str())
                        .map(str::to_string)
                });
                Ok(Sent {
                    message_id: id,
                    answer: answer.body,
                })
            }
            Some(code) => {
                let msg = json
                    .as_ref()
                    .and_then(|j| j.get("Message"))
                    .and_then(|m| m.as_str())
                    .unwrap_or_default();
                // A 5xx is trouble on their side whatever the code says.
                let class = if answer.status.is_server_error() {
                    Class::Retry
                } else {
                    classify(code)
                };
                Err(class.error("Alibaba Cloud", code, msg))
            }
            None => Err(answer.status_error().unwrap_or_else(|| {
                SendError::transient(format!(
                    "Alibaba Cloud answered without a Code: {}",
                    answer.snippet()
                ))
            })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_move_on_and_platform_trouble_retries() {
        assert_eq!(classify("isv.BUSINESS_LIMIT_CONTROL"), Class::Later);
        assert_eq!(classify("isv.DAY_LIMIT_CONTROL"), Class::Later);
        assert_eq!(classify("Throttling.User"), Class::Retry);
        assert_eq!(classify("isp.SYSTEM_ERROR"), Class::Retry);
        assert_eq!(classify("isv.MOBILE_NUMBER_ILLEGAL"), Class::Fail);
        assert_eq!(classify("SignatureDoesNotMatch"), Class::Fail);
        assert_eq!(classify("isv.AMOUNT_NOT_ENOUGH"), Class::Fail);
    }
}
