//! How CI/CD senders authenticate their webhooks (`../shared/spec/cicd.md`
//! sections 1.3, 2.3, 3.3–3.4, 4.5 and 5.1), as pure checks on the raw bytes
//! received, before any JSON is decoded.
//!
//! The senders differ in what they prove:
//!
//! | sender | header | covers |
//! |---|---|---|
//! | GitHub | `X-Hub-Signature-256: sha256=<hex>` | the body |
//! | Gitea / Forgejo | `X-Gitea-Signature` / `X-Forgejo-Signature: <hex>` | the body |
//! | GitLab, signing token | `webhook-signature: v1,<base64> …` | id, timestamp, body |
//! | GitLab, secret token | `X-Gitlab-Token` | nothing: a bearer token |
//! | Gitee, signature key | `X-Gitee-Token`, `X-Gitee-Timestamp` | the timestamp only |
//! | Gitee, password | `X-Gitee-Token` | nothing: a bearer token |
//! | Jenkins Notification plugin | `Authorization: Basic` | nothing: a bearer token |
//!
//! So only GitHub, Gitea/Forgejo and GitLab's signing token protect the body;
//! the others prove that the sender knows the secret, and a captured request
//! can be replayed with another body. Callers deduplicate accordingly (a
//! Gitee `(timestamp, token)` pair is accepted once, as a DingTalk pair is).
//!
//! Every MAC is decoded from its header format and compared as bytes through
//! [`ct_eq`]; every token is compared through [`ct_eq`] too. The errors never
//! carry a secret or an expected value.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use sha2::Sha256;

use super::timestamp::{check_window, parse_decimal};
use super::{VerifyError, ct_eq};

pub const GITHUB_SIGNATURE: &str = "X-Hub-Signature-256";
pub const GITHUB_SIGNATURE_SHA1: &str = "X-Hub-Signature";
pub const GITLAB_TOKEN: &str = "X-Gitlab-Token";
pub const WEBHOOK_ID: &str = "webhook-id";
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
pub const GITEE_TOKEN: &str = "X-Gitee-Token";
pub const GITEE_TIMESTAMP: &str = "X-Gitee-Timestamp";
pub const GITEA_SIGNATURE: &str = "X-Gitea-Signature";
pub const FORGEJO_SIGNATURE: &str = "X-Forgejo-Signature";
pub const AUTHORIZATION: &str = "Authorization";

/// The Standard Webhooks libraries' window, which GitLab's signing token
/// follows (its own is not documented).
pub const GITLAB_TOLERANCE_SECS: i64 = 300;
/// Gitee's documented window: one hour either way.
pub const GITEE_TOLERANCE_MS: i64 = 3_600_000;

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

fn hmac_sha1(key: &[u8], body: &[u8]) -> [u8; 20] {
    let mut m = Hmac::<Sha1>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(body);
    m.finalize().into_bytes().into()
}

/// Exactly `N` bytes of lowercase or uppercase hex, else `None`.
fn hex_bytes<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

fn present<'a>(value: Option<&'a str>, header: &'static str) -> Result<&'a str, VerifyError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(VerifyError::MissingHeader(header))
}

// ---------------------------------------------------------------- GitHub

/// `X-Hub-Signature-256` for `body`: `sha256=` and lowercase hex.
pub fn github_sign(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), &[body]))
    )
}

/// GitHub's `X-Hub-Signature-256` (also sent by Gitea): `sha256=` then
/// exactly 64 hex digits, an HMAC-SHA256 of the raw body.
pub fn verify_github(secret: &str, header: Option<&str>, body: &[u8]) -> Result<(), VerifyError> {
    let value = present(header, GITHUB_SIGNATURE)?;
    let sent = value
        .strip_prefix("sha256=")
        .and_then(hex_bytes::<32>)
        .ok_or(VerifyError::MalformedHeader(GITHUB_SIGNATURE))?;
    if ct_eq(&hmac_sha256(secret.as_bytes(), &[body]), &sent) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// The legacy SHA-1 `X-Hub-Signature` (`sha1=` and 40 hex digits): only
/// for a source configured to accept it.
pub fn verify_github_sha1(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let value = present(header, GITHUB_SIGNATURE_SHA1)?;
    let sent = value
        .strip_prefix("sha1=")
        .and_then(hex_bytes::<20>)
        .ok_or(VerifyError::MalformedHeader(GITHUB_SIGNATURE_SHA1))?;
    if ct_eq(&hmac_sha1(secret.as_bytes(), body), &sent) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

// ---------------------------------------------------------------- Gitea

/// Gitea's `X-Gitea-Signature` and Forgejo's `X-Forgejo-Signature`: bare
/// hex HMAC-SHA256 of the body. Forgejo's header is checked when present,
/// and a good Gitea header never rescues a bad Forgejo one.
pub fn verify_gitea(
    secret: &str,
    forgejo: Option<&str>,
    gitea: Option<&str>,
    body: &[u8],
) -> Result<(), VerifyError> {
    let (header, value) = match forgejo {
        Some(v) => (FORGEJO_SIGNATURE, v),
        None => (GITEA_SIGNATURE, present(gitea, GITEA_SIGNATURE)?),
    };
    let sent = hex_bytes::<32>(value).ok_or(VerifyError::MalformedHeader(header))?;
    if ct_eq(&hmac_sha256(secret.as_bytes(), &[body]), &sent) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

// ---------------------------------------------------------------- GitLab

/// GitLab's legacy secret token, as GitLab sends it: the configured value
/// with its line breaks removed (`Gitlab::Utils.remove_line_breaks`).
pub fn verify_gitlab_token(configured: &str, header: Option<&str>) -> Result<(), VerifyError> {
    let sent = present(header, GITLAB_TOKEN)?;
    let expected: String = configured.replace("\r\n", "").replace('\n', "");
    if ct_eq(expected.as_bytes(), sent.as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::BadToken)
    }
}

/// A GitLab signing token (`whsec_` and the base64 of a 32-byte key).
#[derive(Clone)]
pub struct SigningKey([u8; 32]);

/// A signing token that is not `whsec_` and the base64 of 32 bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a GitLab signing token is `whsec_` followed by the base64 of a 32-byte key")]
pub struct BadSigningToken;

impl SigningKey {
    pub fn from_token(token: &str) -> Result<Self, BadSigningToken> {
        let encoded = token.trim().strip_prefix("whsec_").ok_or(BadSigningToken)?;
        let key = STANDARD.decode(encoded).map_err(|_| BadSigningToken)?;
        Ok(Self(key.try_into().map_err(|_| BadSigningToken)?))
    }

    fn mac(&self, id: &str, timestamp: &str, body: &[u8]) -> [u8; 32] {
        hmac_sha256(
            &self.0,
            &[id.as_bytes(), b".", timestamp.as_bytes(), b".", body],
        )
    }

    /// The `webhook-signature` value GitLab sends: `v1,` and base64.
    pub fn sign(&self, id: &str, timestamp: &str, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// The GitLab request headers of the signing-token scheme.
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardHeaders<'a> {
    pub id: Option<&'a str>,
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
}

/// GitLab's signing token (Standard Webhooks): an HMAC-SHA256 of
/// `<webhook-id>.<webhook-timestamp>.<raw body>`, in a space-separated list of
/// `v1,<base64>` entries (several during a key rotation; any one may match),
/// and a timestamp in Unix seconds within [`GITLAB_TOLERANCE_SECS`] of `now`.
/// The signature is checked first, so the window is only reported to a
/// sender that knows the key. Returns the timestamp.
pub fn verify_gitlab_signature(
    key: &SigningKey,
    headers: StandardHeaders<'_>,
    body: &[u8],
    now_secs: i64,
) -> Result<i64, VerifyError> {
    let id = present(headers.id, WEBHOOK_ID)?;
    let timestamp = present(headers.timestamp, WEBHOOK_TIMESTAMP)?;
    let list = present(headers.signature, WEBHOOK_SIGNATURE)?;
    let secs = parse_decimal(timestamp, WEBHOOK_TIMESTAMP)?;
    let expected = key.mac(id, timestamp, body);
    let mut matched = false;
    for entry in list.split(' ').filter(|e| !e.is_empty()) {
        let Some(encoded) = entry.strip_prefix("v1,") else {
            continue; // another version: not ours to judge
        };
        if let Ok(sent) = STANDARD.decode(encoded) {
            // Keep going: the time taken must not depend on which matched.
            matched |= ct_eq(&expected, &sent);
        }
    }
    if !matched {
        return Err(VerifyError::BadSignature);
    }
    check_window(
        secs.saturating_mul(1000),
        now_secs.saturating_mul(1000),
        GITLAB_TOLERANCE_SECS * 1000,
    )?;
    Ok(secs)
}

// ---------------------------------------------------------------- Gitee

/// `X-Gitee-Token` in signature-key mode: base64 of HMAC-SHA256(secret,
/// `<timestamp ms>\n<secret>`). The body is not covered.
pub fn gitee_sign(secret: &str, timestamp_ms: &str) -> String {
    STANDARD.encode(hmac_sha256(
        secret.as_bytes(),
        &[timestamp_ms.as_bytes(), b"\n", secret.as_bytes()],
    ))
}

/// Gitee's signature-key mode: the token must be the signature of the
/// timestamp (milliseconds, canonical digits, within [`GITEE_TOLERANCE_MS`]
/// of `now_ms`). Returns the timestamp, which with the token is the pair to
/// accept once.
pub fn verify_gitee_signature(
    secret: &str,
    token: Option<&str>,
    timestamp: Option<&str>,
    now_ms: i64,
) -> Result<i64, VerifyError> {
    let sent = present(token, GITEE_TOKEN)?;
    let raw_ts = present(timestamp, GITEE_TIMESTAMP)?;
    let ts = parse_decimal(raw_ts, GITEE_TIMESTAMP)?;
    let sent = STANDARD
        .decode(sent)
        .map_err(|_| VerifyError::MalformedHeader(GITEE_TOKEN))?;
    let expected = hmac_sha256(
        secret.as_bytes(),
        &[raw_ts.as_bytes(), b"\n", secret.as_bytes()],
    );
    if !ct_eq(&expected, &sent) {
        return Err(VerifyError::BadSignature);
    }
    check_window(ts, now_ms, GITEE_TOLERANCE_MS)?;
    Ok(ts)
}

/// Gitee's password mode: `X-Gitee-Token` is the password in clear text.
pub fn verify_gitee_password(password: &str, token: Option<&str>) -> Result<(), VerifyError> {
    let sent = present(token, GITEE_TOKEN)?;
    if ct_eq(password.as_bytes(), sent.as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::BadToken)
    }
}

// ---------------------------------------------------------------- Basic

/// `Authorization: Basic base64(user:password)`, as the Jenkins Notification
/// plugin sends it for `https://user:password@host/…` (and GitLab for a URL
/// with user info). The scheme name is case-insensitive (RFC 7617).
pub fn verify_basic(
    user: &str,
    password: &str,
    authorization: Option<&str>,
) -> Result<(), VerifyError> {
    let value = present(authorization, AUTHORIZATION)?;
    let (scheme, encoded) = value
        .split_once(' ')
        .ok_or(VerifyError::MalformedHeader(AUTHORIZATION))?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(VerifyError::MalformedHeader(AUTHORIZATION));
    }
    let sent = STANDARD
        .decode(encoded.trim())
        .map_err(|_| VerifyError::MalformedHeader(AUTHORIZATION))?;
    let expected = format!("{user}:{password}");
    if ct_eq(expected.as_bytes(), &sent) {
        Ok(())
    } else {
        Err(VerifyError::BadToken)
    }
}
