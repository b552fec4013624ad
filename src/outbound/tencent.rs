//! Tencent Cloud SMS (`SendSms`, sms 2021-01-11) and voice
//! (`SendTtsVoice`, vms 2020-09-02): a JSON body signed with
//! TC3-HMAC-SHA256 over exactly the bytes sent, sms.md §3.
//!
//! The alert travels as the template's ordered variables
//! (`TemplateParamSet`), each cleaned and cut to `param_max_chars` (6 by
//! default: new accounts' limit). Tencent answers HTTP 200 even for
//! failures: a top-level `Response.Error` fails the request, and each
//! number has its own `Code` in `SendStatusSet` (success is `Ok`, not `OK`).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::cards::Message;
use super::channel::{Channel, SendError, Sent, call};
use super::page::{Class, Page, host_of, recipient};
use crate::config::{ChannelConfig, ChannelKind, Secret, routing::TemplateParams};
use crate::verify::sms::tc3_sign;

pub const SMS_BASE: &str = "https://sms.tencentcloudapi.com";
pub const VOICE_BASE: &str = "https://vms.tencentcloudapi.com";
/// sms.md §3.6: accounts opened after 2024-01-25 allow 6 per variable.
pub const DEFAULT_MAX_CHARS: usize = 6;
const CONTENT_TYPE: &str = "application/json";

pub struct Tencent {
    pub name: String,
    pub kind: ChannelKind,
    base: String,
    secret_id: String,
    secret_key: Secret,
    region: String,
    app_id: String,
    sign_name: String,
    template: String,
    fields: Vec<String>,
    max_chars: usize,
    play_times: Option<u32>,
    client: reqwest::Client,
}

impl Tencent {
    pub fn new(c: &ChannelConfig, client: reqwest::Client) -> Self {
        let voice = c.kind == ChannelKind::TencentVoice;
        Self {
            name: c.name.clone(),
            kind: c.kind,
            base: c
                .api_base
                .clone()
                .unwrap_or_else(|| if voice { VOICE_BASE } else { SMS_BASE }.to_string())
                .trim_end_matches('/')
                .to_string(),
            secret_id: c.secret_id.clone().unwrap_or_default(),
            secret_key: c.secret_key.clone().unwrap_or_else(|| Secret::new("")),
            region: c.region.clone().unwrap_or_else(|| "ap-guangzhou".into()),
            app_id: c.sdk_app_id.clone().unwrap_or_default(),
            sign_name: c.sign_name.clone().unwrap_or_default(),
            template: c.template_code.clone().unwrap_or_default(),
            fields: match &c.template_params {
                Some(TemplateParams::Ordered(v)) => v.clone(),
                _ => vec!["severity".into(), "id".into()],
            },
            max_chars: c.param_max_chars.unwrap_or(DEFAULT_MAX_CHARS),
            play_times: c.play_times,
            client,
        }
    }

    fn voice(&self) -> bool {
        self.kind == ChannelKind::TencentVoice
    }

    /// The request body: serialized once, signed and sent as these bytes.
    pub fn body(&self, phone: &str, page: &Page, key: &str) -> Vec<u8> {
        let params: Vec<String> = self
            .fields
            .iter()
            .map(|f| page.field(f, self.max_chars))
            .collect();
        let session: String = key.chars().take(500).collect();
        let v = if self.voice() {
            json!({
                "TemplateId": self.template,
                "CalledNumber": phone,
                "VoiceSdkAppid": self.app_id,
                "TemplateParamSet": params,
                "PlayTimes": self.play_times.unwrap_or(2),
                "SessionContext": session,
            })
        } else {
            json!({
                "PhoneNumberSet": [phone],
                "SmsSdkAppId": self.app_id,
                "SignName": self.sign_name,
                "TemplateId": self.template,
                "TemplateParamSet": params,
                "SessionContext": session,
            })
        };
        serde_json::to_vec(&v).expect("JSON serializes")
    }
}

/// sms.md §3.5: retries, limits, and everything else fails.
pub fn classify(code: &str) -> Class {
    match code {
        "LimitExceeded.PhoneNumberCountLimit" | "InternalError.RequestTimeException" => Class::Fail,
        "AuthFailure.SignatureExpire" => Class::Retry,
        c if c.starts_with("LimitExceeded") => Class::Later,
        c if c.starts_with("RequestLimitExceeded") || c.starts_with("InternalError") => {
            Class::Retry
        }
        _ => Class::Fail,
    }
}

fn code_and_message(v: &Value) -> (String, String) {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (s("Code"), s("Message"))
}

#[async_trait]
impl Channel for Tencent {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ChannelKind {
        self.kind
    }

    async fn send(&self, message: &Message, key: &str) -> Result<Sent, SendError> {
        let (_, phone) = recipient(message)?;
        let body = self.body(phone, &Page::of(message), key);
        let host = host_of(&self.base)?;
        let (service, action, version) = if self.voice() {
            ("vms", "SendTtsVoice", "2020-09-02")
        } else {
            ("sms", "SendSms", "2021-01-11")
        };
        let timestamp = chrono::Utc::now().timestamp();
        let signed = tc3_sign(
            &self.secret_id,
            self.secret_key.expose(),
            service,
            &host,
            CONTENT_TYPE,
            timestamp,
            &body,
        );
        let request = self
            .client
            .post(format!("{}/", self.base))
            .header("authorization", signed.authorization)
            .header("content-type", CONTENT_TYPE)
            .header("x-tc-action", action)
            .header("x-tc-version", version)
            .header("x-tc-timestamp", timestamp.to_string())
            .header("x-tc-region", &self.region)
            .body(body);
        let answer = call(request).await?;
        if let Some(e) = answer.status_error() {
            return Err(e);
        }
        let json = answer.json().ok_or_else(|| {
            SendError::transient(format!(
                "Tencent Cloud answered non-JSON: {}",
                answer.snippet()
            ))
        })?;
        let response = &json["Response"];
        if let Some(error) = response.get("Error") {
            let (code, msg) = code_and_message(error);
            return Err(classify(&code).error("Tencent Cloud", &code, &msg));
        }
        let id = if self.voice() {
            response["SendStatus"]["CallId"]
                .as_str()
                .map(str::to_string)
        } else {
            // One number per request: its status is the answer.
            let status = response["SendStatusSet"].get(0).ok_or_else(|| {
                SendError::transient("Tencent Cloud answered no SendStatusSet".to_string())
            })?;
            let (code, msg) = code_and_message(status);
            if code != "Ok" {
                return Err(classify(&code).error("Tencent Cloud", &code, &msg));
            }
            status["SerialNo"].as_str().map(str::to_string)
        };
        Ok(Sent {
            message_id: id,
            answer: answer.body,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_number_limits_move_on_and_rate_limits_retry() {
        assert_eq!(
            classify("LimitExceeded.PhoneNumberDailyLimit"),
            Class::Later
        );
        assert_eq!(
            classify("LimitExceeded.PhoneNumberThirtySecondLimit"),
            Class::Later
        );
        assert_eq!(classify("LimitExceeded.PhoneNumberCountLimit"), Class::Fail);
        assert_eq!(classify("RequestLimitExceeded"), Class::Retry);
        assert_eq!(classify("InternalError.Timeout"), Class::Retry);
        assert_eq!(classify("InternalError.RequestTimeException"), Class::Fail);
        assert_eq!(classify("AuthFailure.SignatureFailure"), Class::Fail);
        assert_eq!(
            classify("FailedOperation.PhoneNumberInBlacklist"),
            Class::Fail
        );
    }
}
