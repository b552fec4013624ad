//! Signed action links (`/a/{token}`): what a card button opens on platforms
//! whose bots cannot call back (custom bots). The token names one alert, one
//! action and an expiry, and is signed with `[links] secret`, so a link can
//! neither be forged nor pointed at another alert or action, and it stops
//! working at its expiry.
//!
//! Token: `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))`,
//! payload `"{alert_id}:{action}:{expires_unix_secs}"`, no padding.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{VerifyError, ct_eq};

/// The alert id and action of a token for the page that lists every
/// firing alert (a digest's "see all" link): it reads, never acts.
pub const LIST_ALERT: &str = "*";
pub const LIST_ACTION: &str = "list";

fn mac(secret: &[u8], payload: &[u8]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    m.update(payload);
    m.finalize().into_bytes().into()
}

/// A token for `action` on `alert_id`, valid until `expires` (Unix seconds).
pub fn sign(secret: &[u8], alert_id: &str, action: &str, expires: i64) -> String {
    let payload = format!("{alert_id}:{action}:{expires}");
    format!(
        "{}.{}",
        B64.encode(&payload),
        B64.encode(mac(secret, payload.as_bytes()))
    )
}

/// What a valid token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub alert_id: String,
    pub action: String,
    pub expires: i64,
}

/// Checks the signature (in constant time), then the expiry.
pub fn verify(secret: &[u8], token: &str, now_secs: i64) -> Result<Grant, VerifyError> {
    let (payload, sig) = token.split_once('.').ok_or(VerifyError::BadSignature)?;
    let payload = B64.decode(payload).map_err(|_| VerifyError::BadSignature)?;
    let sig = B64.decode(sig).map_err(|_| VerifyError::BadSignature)?;
    if !ct_eq(&mac(secret, &payload), &sig) {
        return Err(VerifyError::BadSignature);
    }
    let payload = String::from_utf8(payload).map_err(|_| VerifyError::BadPlaintext)?;
    let mut parts = payload.rsplitn(3, ':');
    let (Some(expires), Some(action), Some(alert_id)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::BadPlaintext);
    };
    let expires: i64 = expires.parse().map_err(|_| VerifyError::BadPlaintext)?;
    if now_secs >= expires {
        return Err(VerifyError::TimestampTooOld {
            skew_secs: now_secs - expires,
        });
    }
    Ok(Grant {
        alert_id: alert_id.to_string(),
        action: action.to_string(),
        expires,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn a_signed_token_verifies_until_it_expires() {
        let t = sign(SECRET, "3f2a9c1d00aa11bb", "ack", 1_000);
        let g = verify(SECRET, &t, 999).unwrap();
        assert_eq!(
            (g.alert_id.as_str(), g.action.as_str()),
            ("3f2a9c1d00aa11bb", "ack")
        );
        assert!(matches!(
            verify(SECRET, &t, 1_000),
            Err(VerifyError::TimestampTooOld { .. })
        ));
    }

    #[test]
    fn tampering_or_another_secret_is_refused() {
        let t = sign(SECRET, "a1", "ack", 1_000);
        let other = sign(SECRET, "a1", "resolve", 1_000);
        let (payload, _) = other.split_once('.').unwrap();
        let (_, sig) = t.split_once('.').unwrap();
        let swapped = format!("{payload}.{sig}");
        assert_eq!(verify(SECRET, &swapped, 0), Err(VerifyError::BadSignature));
        assert_eq!(
            verify(b"another-secret-another-secret-xx", &t, 0),
            Err(VerifyError::BadSignature)
        );
        for junk in ["", ".", "abc", "a.b", "!!.!!"] {
            assert!(verify(SECRET, junk, 0).is_err(), "{junk}");
        }
    }

    #[test]
    fn tokens_are_url_safe() {
        let t = sign(SECRET, "id/with+odd=chars", "silence_1h", 1_700_000_000);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        );
        assert_eq!(verify(SECRET, &t, 0).unwrap().alert_id, "id/with+odd=chars");
    }
}
