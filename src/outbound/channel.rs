//! The channel trait and what every HTTP sender shares: the client with its
//! timeouts, and turning an answer into sent / try again / give up.
//!
//! Platforms answer business errors with HTTP 200 and a code in the body
//! (Feishu `code`, DingTalk and WeCom `errcode`), so every sender parses the
//! body; the status alone decides only for 429, 5xx and gateways' non-JSON.

use std::time::Duration;

use async_trait::async_trait;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use super::cards::Message;
use crate::config::ChannelKind;

/// What the platform said to a message it accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The platform's id of the message, where it has one (Feishu app bot):
    /// needed to update the card later.
    pub message_id: Option<String>,
    /// The platform's answer, for `ackbot send` and the logs.
    pub answer: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// Worth trying again later: transport errors, timeouts, 5xx, 429 and the
    /// platforms' rate-limit and busy codes.
    #[error("{message}")]
    Transient {
        message: String,
        /// The platform said when (`Retry-After`, or a documented penalty).
        retry_after: Option<Duration>,
    },
    /// The platform refused this for good (bad signature, unknown key,
    /// keyword missing, …): retrying would only repeat the refusal.
    #[error("{message}")]
    Permanent { message: String },
}

impl SendError {
    pub fn transient(message: impl Into<String>) -> Self {
        Self::Transient {
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn permanent(message: impl Into<String>) -> Self {
        Self::Permanent {
            message: message.into(),
        }
    }
}

/// One configured destination.
#[async_trait]
pub trait Channel: Send + Sync {
    fn name(&self) -> &str;
    fn kind(&self) -> ChannelKind;
    /// Sends one message. `key` identifies it across retries (at most 50
    /// characters); platforms that de-duplicate on such a key get it.
    async fn send(&self, message: &Message, key: &str) -> Result<Sent, SendError>;

    /// Replaces a message sent earlier (its `Sent::message_id`) with the
    /// alert's current card. `false`: this platform cannot update messages.
    async fn update(&self, _message_id: &str, _message: &Message) -> Result<bool, SendError> {
        Ok(false)
    }
}

/// The HTTP client every sender shares: rustls, connect and total timeouts.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .use_rustls_tls()
        .connect_timeout(timeout)
        .timeout(timeout)
        .user_agent(concat!("ackbot/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("a rustls HTTP client builds")
}

/// An HTTP answer, read whole.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The body as JSON, if it is.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.body).ok()
    }

    /// `Retry-After` in seconds (the HTTP-date form is rare from these APIs
    /// and is treated as absent).
    pub fn retry_after(&self) -> Option<Duration> {
        self.headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs)
    }

    /// The body shortened for an error message (platform answers can be long
    /// HTML pages from gateways).
    pub fn snippet(&self) -> String {
        let b = self.body.trim();
        match b.char_indices().nth(300) {
            Some((i, _)) => format!("{}…", &b[..i]),
            None => b.to_string(),
        }
    }

    /// The verdict of the status alone for answers that carry no platform
    /// code: 2xx is `None` (look at the body), 429, 408 and 5xx are transient,
    /// any other status is permanent.
    pub fn status_error(&self) -> Option<SendError> {
        let s = self.status;
        if s.is_success() {
            return None;
        }
        let message = format!("HTTP {}: {}", s.as_u16(), self.snippet());
        if s == StatusCode::TOO_MANY_REQUESTS
            || s == StatusCode::REQUEST_TIMEOUT
            || s.is_server_error()
        {
            Some(SendError::Transient {
                message,
                retry_after: self.retry_after(),
            })
        } else {
            Some(SendError::Permanent { message })
        }
    }
}

/// Sends a request and reads the answer; transport failures (connect,
/// timeout, reset) are transient.
pub async fn call(request: reqwest::RequestBuilder) -> Result<Answer, SendError> {
    let response = request.send().await.map_err(transport)?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.map_err(transport)?;
    Ok(Answer {
        status,
        headers,
        body,
    })
}

/// Sends to a platform that answers business errors in an HTTP 200 with a
/// code in a JSON body (DingTalk and WeCom `errcode`): the status first, then
/// the platform's `verdict` on the body. A non-JSON answer is a gateway's:
/// transient.
pub async fn call_coded(
    request: reqwest::RequestBuilder,
    platform: &str,
    verdict: fn(&serde_json::Value) -> Result<(), SendError>,
) -> Result<Sent, SendError> {
    let answer = call(request).await?;
    if let Some(e) = answer.status_error() {
        return Err(e);
    }
    let json = answer.json().ok_or_else(|| {
        SendError::transient(format!(
            "{platform} answered non-JSON: {}",
            answer.snippet()
        ))
    })?;
    verdict(&json)?;
    Ok(Sent {
        message_id: None,
        answer: answer.body,
    })
}

fn transport(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "transport error"
    };
    // reqwest's Display includes the URL, which carries bot tokens: leave it out.
    let e = e.without_url();
    SendError::transient(format!("{what}: {e}"))
}

/// A code field that platforms send as a number, or sometimes as a numeric
/// string (dingtalk.md §1.4).
pub fn code(body: &serde_json::Value, field: &str) -> Option<i64> {
    match body.get(field)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub fn text(body: &serde_json::Value, field: &str) -> String {
    body.get(field)
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut h = HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            headers: h,
            body: body.into(),
        }
    }

    #[test]
    fn statuses_decide_when_there_is_no_platform_code() {
        assert_eq!(answer(200, &[], "ok").status_error(), None);
        assert_eq!(
            answer(429, &[("retry-after", "7")], "slow down").status_error(),
            Some(SendError::Transient {
                message: "HTTP 429: slow down".into(),
                retry_after: Some(Duration::from_secs(7))
            })
        );
        assert!(matches!(
            answer(503, &[], "").status_error(),
            Some(SendError::Transient { .. })
        ));
        assert!(matches!(
            answer(404, &[], "no such hook").status_error(),
            Some(SendError::Permanent { .. })
        ));
    }

    #[test]
    fn codes_are_read_as_numbers_or_numeric_strings() {
        let v = serde_json::json!({"errcode": "0", "code": 19021, "x": true});
        assert_eq!(code(&v, "errcode"), Some(0));
        assert_eq!(code(&v, "code"), Some(19021));
        assert_eq!(code(&v, "x"), None);
        assert_eq!(code(&v, "missing"), None);
    }

    #[test]
    fn long_bodies_are_shortened() {
        let a = answer(500, &[], &"x".repeat(1000));
        assert!(a.snippet().chars().count() <= 301);
    }
}
