use thiserror::Error;

/// Why an inbound request failed verification. The messages are safe to show to
/// the caller: they never include a secret, an expected signature or a plaintext.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum VerifyError {
    #[error("missing header `{0}`")]
    MissingHeader(&'static str),
    #[error("header `{0}` is malformed")]
    MalformedHeader(&'static str),
    #[error("missing query parameter `{0}`")]
    MissingParam(&'static str),
    #[error("signature does not match")]
    BadSignature,
    #[error("verification token does not match")]
    BadToken,
    #[error("timestamp is {skew_secs}s older than the allowed window")]
    TimestampTooOld { skew_secs: i64 },
    #[error("timestamp is {skew_secs}s ahead of this server's clock, outside the allowed window")]
    TimestampInFuture { skew_secs: i64 },
    #[error("encrypted payload is not valid base64")]
    BadBase64,
    #[error("encrypted payload has an invalid length")]
    BadCiphertextLength,
    #[error("encrypted payload has invalid padding")]
    BadPadding,
    #[error("decrypted payload is malformed")]
    BadPlaintext,
    #[error("body is not JSON")]
    MalformedBody,
    #[error("decrypted payload is addressed to another receiver")]
    ReceiveIdMismatch,
    #[error("the request could not be authenticated")]
    Unauthenticated,
}

impl VerifyError {
    /// A short machine-readable code for the JSON error body and for logs.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingHeader(_) | Self::MissingParam(_) => "missing_signature",
            Self::MalformedHeader(_) => "malformed_header",
            Self::BadSignature => "bad_signature",
            Self::BadToken => "bad_token",
            Self::TimestampTooOld { .. } => "stale_timestamp",
            Self::TimestampInFuture { .. } => "future_timestamp",
            Self::BadBase64 | Self::BadCiphertextLength | Self::BadPadding | Self::BadPlaintext => {
                "bad_ciphertext"
            }
            Self::MalformedBody => "malformed_body",
            Self::ReceiveIdMismatch => "receive_id_mismatch",
            Self::Unauthenticated => "unauthenticated",
        }
    }

    /// HTTP status family: 401 for anything about credentials, 403 for a genuine
    /// request outside the timestamp window, 400 for a malformed encrypted payload
    /// that was already authenticated by its signature.
    pub fn status(&self) -> u16 {
        match self {
            Self::TimestampTooOld { .. } | Self::TimestampInFuture { .. } => 403,
            Self::MalformedHeader(_)
            | Self::BadBase64
            | Self::BadCiphertextLength
            | Self::BadPadding
            | Self::BadPlaintext
            | Self::MalformedBody => 400,
            Self::MissingHeader(_)
            | Self::MissingParam(_)
            | Self::BadSignature
            | Self::BadToken
            | Self::ReceiveIdMismatch
            | Self::Unauthenticated => 401,
        }
    }
}
