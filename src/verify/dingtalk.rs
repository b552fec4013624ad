//! DingTalk robot crypto (`../shared/spec/dingtalk.md` §1.3, §2.2, §3.4).
//!
//! All three schemes are base64(HMAC-SHA256(key = secret, message)); they differ
//! only in the message:
//! - custom robot (outbound) and app-robot callback (inbound): `"{ts_ms}\n{secret}"`;
//! - interactive-card HTTP callback: `"{ts}"` alone.
//!
//! The inbound signature covers the timestamp only, not the body, so the caller
//! must accept each (timestamp, sign) pair once and de-duplicate on `msgId`.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use sha2::Sha256;

use super::{VerifyError, ct_eq, timestamp};

pub const HEADER_TIMESTAMP: &str = "timestamp";
pub const HEADER_SIGN: &str = "sign";
pub const HEADER_CARD_TIMESTAMP: &str = "x-ddpaas-signature-timestamp";
pub const HEADER_CARD_SIGNATURE: &str = "x-ddpaas-signature";

/// DingTalk's documented window for robot signatures: one hour either way.
pub const TIMESTAMP_TOLERANCE_MS: i64 = 3_600_000;

fn hmac_sha256(secret: &str, message: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(message.as_bytes());
    mac.finalize().into_bytes().into()
}

/// The `sign` of a robot message: base64 of HMAC-SHA256(secret, "{ts}\n{secret}").
pub fn robot_sign(timestamp_ms: &str, secret: &str) -> String {
    B64.encode(hmac_sha256(secret, &format!("{timestamp_ms}\n{secret}")))
}

/// The `&timestamp=…&sign=…` suffix for a custom-robot webhook URL: the base64
/// sign is percent-encoded exactly once (`+` → `%2B`, `/` → `%2F`, `=` → `%3D`).
///
/// ```
/// // Vector (a2) of shared/spec/dingtalk.md, checked against DingtalkChatbot.
/// let suffix = ackbot::verify::dingtalk::robot_query_suffix("1700000000001", "SECdemo");
/// assert_eq!(
///     suffix,
///     "&timestamp=1700000000001&sign=PTs%2BdsurGspsy8LSQV%2FUd2CTvBpozdeoue2U2fgKqxI%3D"
/// );
/// ```
pub fn robot_query_suffix(timestamp_ms: &str, secret: &str) -> String {
    let sign = robot_sign(timestamp_ms, secret);
    format!(
        "&timestamp={timestamp_ms}&sign={}",
        utf8_percent_encode(&sign, NON_ALPHANUMERIC)
    )
}

/// The `x-ddpaas-signature` of an interactive-card HTTP callback.
pub fn card_callback_signature(timestamp: &str, api_secret: &str) -> String {
    B64.encode(hmac_sha256(api_secret, timestamp))
}

/// Compares a base64 signature header with the expected MAC in constant time.
/// The header is used as received: no URL-decoding, `+` stays `+`.
fn b64_matches(header: &str, expected: &[u8; 32]) -> bool {
    let mut given = [0u8; 32];
    // A 32-byte MAC is 44 base64 characters; decode_slice refuses anything longer.
    matches!(B64.decode_slice(header.as_bytes(), &mut given), Ok(32)) && ct_eq(&given, expected)
}

/// Verifies an app-robot callback's `timestamp` and `sign` headers. Returns the
/// timestamp in milliseconds.
pub fn verify_robot_callback(
    timestamp_header: Option<&str>,
    sign_header: Option<&str>,
    app_secret: &str,
    now_ms: i64,
    tolerance_ms: i64,
) -> Result<i64, VerifyError> {
    let ts = timestamp_header.ok_or(VerifyError::MissingHeader(HEADER_TIMESTAMP))?;
    let sign = sign_header.ok_or(VerifyError::MissingHeader(HEADER_SIGN))?;
    let ts_ms = timestamp::parse_decimal(ts, HEADER_TIMESTAMP)?;
    if !b64_matches(
        sign,
        &hmac_sha256(app_secret, &format!("{ts}\n{app_secret}")),
    ) {
        return Err(VerifyError::BadSignature);
    }
    timestamp::check_window(ts_ms, now_ms, tolerance_ms)?;
    Ok(ts_ms)
}

/// Verifies an interactive-card callback's `x-ddpaas-signature` headers. The unit
/// of the timestamp is undocumented (spec §3.4, §8); the reference code suggests
/// milliseconds, which is what the window assumes. Returns the timestamp.
pub fn verify_card_callback(
    timestamp_header: Option<&str>,
    signature_header: Option<&str>,
    api_secret: &str,
    now_ms: i64,
    tolerance_ms: i64,
) -> Result<i64, VerifyError> {
    let ts = timestamp_header.ok_or(VerifyError::MissingHeader(HEADER_CARD_TIMESTAMP))?;
    let sig = signature_header.ok_or(VerifyError::MissingHeader(HEADER_CARD_SIGNATURE))?;
    let ts_ms = timestamp::parse_decimal(ts, HEADER_CARD_TIMESTAMP)?;
    if !b64_matches(sig, &hmac_sha256(api_secret, ts)) {
        return Err(VerifyError::BadSignature);
    }
    timestamp::check_window(ts_ms, now_ms, tolerance_ms)?;
    Ok(ts_ms)
}
