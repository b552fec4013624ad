//! The one error type of the inbound handlers. Every refusal becomes JSON
//! `{"error": "<code>", "message": "<sentence>"}` with a fitting status, and is
//! logged by tracing-actix-web with the request id; messages and `Debug` of
//! these variants never contain a secret or a signature.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::verify::VerifyError;

#[derive(Debug, thiserror::Error)]
pub enum InboundError {
    #[error(transparent)]
    Verify(#[from] VerifyError),
    #[error("request body is larger than the {limit}-byte limit")]
    PayloadTooLarge { limit: usize },
    #[error("{0}")]
    BadRequest(String),
    #[error("this request was already processed (replay)")]
    Replay,
    #[error("{platform} callbacks are not configured on this server (add a [{section}] section)")]
    NotConfigured {
        platform: &'static str,
        section: &'static str,
    },
    #[error("the server is busy; retry later")]
    Busy,
    #[error("the request body did not arrive within {} s", timeout.as_secs())]
    BodyTimeout { timeout: std::time::Duration },
    #[error("too many connections from this address; retry later")]
    TooManyConnections,
}

/// Marks a response as a refusal for the metrics middleware
/// ([`super::health::track`]), which counts it under the route's platform
/// in `ackbot_callbacks_refused_total`.
#[derive(Clone, Copy, Debug)]
pub struct Refusal(pub &'static str);

/// `res`, marked as refused for `reason` (a code of the JSON answer).
pub fn refused(mut res: HttpResponse, reason: &'static str) -> HttpResponse {
    res.extensions_mut().insert(Refusal(reason));
    res
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: String,
}

impl InboundError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Verify(e) => e.code(),
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::BadRequest(_) => "bad_request",
            Self::Replay => "replay",
            Self::NotConfigured { .. } => "not_configured",
            Self::Busy => "busy",
            Self::BodyTimeout { .. } => "body_timeout",
            Self::TooManyConnections => "too_many_connections",
        }
    }

    pub fn bad_json(what: &str, e: impl std::fmt::Display) -> Self {
        Self::BadRequest(format!(
            "{what} is not valid JSON of the expected shape: {e}"
        ))
    }
}

impl ResponseError for InboundError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::Verify(e) => StatusCode::from_u16(e.status()).unwrap_or(StatusCode::UNAUTHORIZED),
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Replay => StatusCode::FORBIDDEN,
            Self::NotConfigured { .. } => StatusCode::NOT_FOUND,
            Self::Busy | Self::TooManyConnections => StatusCode::SERVICE_UNAVAILABLE,
            Self::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
        }
    }

    fn error_response(&self) -> HttpResponse {
        // tracing-actix-web logs the refusal (message, status, request id) once.
        let mut res = HttpResponse::build(self.status_code());
        if matches!(self, Self::BodyTimeout { .. } | Self::TooManyConnections) {
            // The rest of the body is not read: the connection cannot go on.
            res.force_close();
        }
        refused(
            res.json(ErrorBody {
                error: self.code(),
                message: self.to_string(),
            }),
            self.code(),
        )
    }
}
