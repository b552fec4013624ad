//! The signature ackbot puts on generic webhook deliveries, so receivers can
//! check that a POST came from ackbot and was not replayed:
//!
//! `X-Ackbot-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`
//!
//! A receiver recomputes the HMAC over the exact bytes received, compares in
//! constant time, and refuses a `t` more than 5 minutes from its clock.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{VerifyError, ct_eq};

pub const HEADER: &str = "X-Ackbot-Signature";
/// The window a receiver should allow.
pub const TOLERANCE_SECS: i64 = 300;

fn mac(secret: &str, t: i64, body: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    m.update(format!("{t}.").as_bytes());
    m.update(body);
    m.finalize().into_bytes().into()
}

/// The header value for `body` sent at `t`.
pub fn sign(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", hex::encode(mac(secret, t, body)))
}

/// What a receiver does (used by the tests' mock receiver and documented in
/// the README).
pub fn verify(secret: &str, header: &str, body: &[u8], now: i64) -> Result<(), VerifyError> {
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => v1 = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(VerifyError::MalformedHeader(HEADER));
    };
    if !ct_eq(&mac(secret, t, body), &v1) {
        return Err(VerifyError::BadSignature);
    }
    match now - t {
        d if d > TOLERANCE_SECS => Err(VerifyError::TimestampTooOld { skew_secs: d }),
        d if d < -TOLERANCE_SECS => Err(VerifyError::TimestampInFuture { skew_secs: -d }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let body = br#"{"version":"1"}"#;
        let h = sign("s3cret", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(verify("s3cret", &h, body, 1_700_000_100), Ok(()));
        assert_eq!(
            verify("s3cret", &h, b"{}", 1_700_000_100),
            Err(VerifyError::BadSignature)
        );
        assert_eq!(
            verify("other", &h, body, 1_700_000_100),
            Err(VerifyError::BadSignature)
        );
        assert!(matches!(
            verify("s3cret", &h, body, 1_700_001_000),
            Err(VerifyError::TimestampTooOld { .. })
        ));
        assert_eq!(
            verify("s3cret", "v1=00", body, 0),
            Err(VerifyError::MalformedHeader(HEADER))
        );
    }
}
