//! Feishu / Lark callback crypto (`../shared/spec/feishu.md` §0, §3, §4.6).
//!
//! Four schemes that must not be mixed up:
//! 1. custom-bot signing (outbound): `base64(HMAC-SHA256(key = "{ts}\n{secret}", msg = ""))`;
//! 2. event and `card.action.trigger` signature: `hex(SHA-256(ts + nonce + encrypt_key + body))`;
//! 3. legacy card callback signature: `hex(SHA-1(ts + nonce + verification_token + body))`;
//! 4. payload encryption: AES-256-CBC, key = SHA-256(encrypt key), IV prepended, PKCS#7.
//!
//! Signatures are computed over the raw body bytes exactly as received, before
//! any JSON decoding, because re-serialised JSON never hashes the same.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::Pkcs7};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{VerifyError, ct_eq, timestamp};

/// Header names (Feishu sends them in this case; HTTP header lookup ignores case).
pub const HEADER_TIMESTAMP: &str = "X-Lark-Request-Timestamp";
pub const HEADER_NONCE: &str = "X-Lark-Request-Nonce";
pub const HEADER_SIGNATURE: &str = "X-Lark-Signature";

/// AES block size; the IV is one block.
const BLOCK: usize = 16;

/// Scheme 1: the custom-bot webhook signature (what we send in the JSON body,
/// next to `"timestamp"` as a string). Note the key is `"{ts}\n{secret}"` and the
/// message is empty: the reverse of DingTalk.
///
/// ```
/// // Vector (a) of shared/spec/feishu.md, checked against go-lark.
/// let sign = ackbot::verify::feishu::custom_bot_sign(1_700_000_000, "demo-secret");
/// assert_eq!(sign, "mYHw2R2SOm8Rw/sne3lQdmz4sOfntKR+1P/8RKKTwmA=");
/// ```
pub fn custom_bot_sign(timestamp_secs: i64, secret: &str) -> String {
    let key = format!("{timestamp_secs}\n{secret}");
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes any key length");
    B64.encode(mac.finalize().into_bytes())
}

/// Scheme 2: `X-Lark-Signature` of events and `card.action.trigger` callbacks.
pub fn event_signature(timestamp: &str, nonce: &str, encrypt_key: &str, body: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(timestamp.as_bytes());
    h.update(nonce.as_bytes());
    h.update(encrypt_key.as_bytes());
    h.update(body);
    h.finalize().into()
}

/// Scheme 3: `X-Lark-Signature` of the legacy message-card callback.
pub fn legacy_card_signature(
    timestamp: &str,
    nonce: &str,
    verification_token: &str,
    body: &[u8],
) -> [u8; 20] {
    let mut h = Sha1::new();
    h.update(timestamp.as_bytes());
    h.update(nonce.as_bytes());
    h.update(verification_token.as_bytes());
    h.update(body);
    h.finalize().into()
}

/// Compares a hex signature header with the expected digest in constant time.
/// Hex case is ignored: Feishu sends lowercase, its C# sample produced uppercase.
fn hex_matches<const N: usize>(header: &str, expected: &[u8; N]) -> bool {
    let mut given = [0u8; N];
    hex::decode_to_slice(header, &mut given).is_ok() && ct_eq(&given, expected)
}

/// The three signature headers, as received. Any may be absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignatureHeaders<'a> {
    pub timestamp: Option<&'a str>,
    pub nonce: Option<&'a str>,
    pub signature: Option<&'a str>,
}

impl SignatureHeaders<'_> {
    fn none_present(&self) -> bool {
        self.timestamp.is_none() && self.nonce.is_none() && self.signature.is_none()
    }

    /// All three, or the name of the first one missing.
    fn all(&self) -> Result<(&str, &str, &str), VerifyError> {
        Ok((
            self.timestamp
                .ok_or(VerifyError::MissingHeader(HEADER_TIMESTAMP))?,
            self.nonce.ok_or(VerifyError::MissingHeader(HEADER_NONCE))?,
            self.signature
                .ok_or(VerifyError::MissingHeader(HEADER_SIGNATURE))?,
        ))
    }
}

/// AES-256-CBC with the key derived from the Encrypt Key. Derive it once at
/// start-up: hashing the key per request is wasted work on the hot path.
#[derive(Clone)]
pub struct Cipher {
    key: [u8; 32],
}

impl std::fmt::Debug for Cipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Cipher(***)")
    }
}

impl Cipher {
    pub fn new(encrypt_key: &str) -> Self {
        Self {
            key: Sha256::digest(encrypt_key.as_bytes()).into(),
        }
    }

    /// Decrypts the `encrypt` field: base64(IV ‖ AES-256-CBC(PKCS#7(plaintext))).
    /// Strict about length and padding, as lark-oapi ≥ 1.7 is.
    pub fn decrypt(&self, encrypt: &str) -> Result<Vec<u8>, VerifyError> {
        let mut raw = B64.decode(encrypt).map_err(|_| VerifyError::BadBase64)?;
        if raw.len() < 2 * BLOCK || raw.len() % BLOCK != 0 {
            return Err(VerifyError::BadCiphertextLength);
        }
        let (iv, ct) = raw.split_at_mut(BLOCK);
        let dec = cbc::Decryptor::<aes::Aes256>::new((&self.key).into(), (&*iv).into());
        let len = dec
            .decrypt_padded_mut::<Pkcs7>(ct)
            .map_err(|_| VerifyError::BadPadding)?
            .len();
        raw.copy_within(BLOCK..BLOCK + len, 0);
        raw.truncate(len);
        Ok(raw)
    }

    /// The inverse of [`Cipher::decrypt`] with a caller-chosen IV (Feishu uses a
    /// random one per message). Used by tests, benches and the load generator.
    pub fn encrypt(&self, plaintext: &[u8], iv: [u8; BLOCK]) -> String {
        let enc = cbc::Encryptor::<aes::Aes256>::new((&self.key).into(), (&iv).into());
        let mut out = iv.to_vec();
        out.extend(enc.encrypt_padded_vec_mut::<Pkcs7>(plaintext));
        B64.encode(out)
    }
}

/// Constant-time check of a `token` field against the Verification Token.
pub fn check_token(given: &str, expected: &str) -> Result<(), VerifyError> {
    if ct_eq(given.as_bytes(), expected.as_bytes()) {
        Ok(())
    } else {
        Err(VerifyError::BadToken)
    }
}

/// The Encrypt Key as configured (it is part of the signed string) and the
/// cipher derived from it. `Debug` shows neither.
#[derive(Clone)]
pub struct EncryptKey {
    raw: String,
    cipher: Cipher,
}

impl EncryptKey {
    pub fn new(encrypt_key: &str) -> Self {
        Self {
            raw: encrypt_key.to_string(),
            cipher: Cipher::new(encrypt_key),
        }
    }

    pub fn cipher(&self) -> &Cipher {
        &self.cipher
    }
}

impl std::fmt::Debug for EncryptKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EncryptKey(***)")
    }
}

/// The secrets an event endpoint verifies with.
#[derive(Debug, Clone)]
pub struct EventKeys {
    pub encrypt_key: Option<EncryptKey>,
    pub tolerance_secs: i64,
}

/// How an opened event request was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Authenticity {
    /// `X-Lark-Signature` matched and the timestamp was inside the window.
    Signed { timestamp_secs: i64 },
    /// No signature headers. Acceptable only for `url_verification` (which Feishu
    /// sends unsigned), or for every event when no Encrypt Key is configured; the
    /// caller must then authenticate by the token inside the payload.
    Unsigned,
}

/// Only `encrypt` is looked at. Other fields are skipped without validation
/// (serde checks neither their UTF-8 nor their number ranges), so a body that is
/// almost-JSON can pass this step; the typed parse of the plaintext refuses it.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    encrypt: Option<std::borrow::Cow<'a, str>>,
}

/// Verifies and opens an event or `card.action.trigger` request (spec §3.8 steps
/// 1–4): the signature over the raw body, the timestamp window, then decryption.
/// Returns the plaintext JSON bytes and how they were authenticated.
///
/// On the unsigned path every failure is reported as [`VerifyError::Unauthenticated`]:
/// distinct errors for bad padding versus bad JSON would turn the endpoint into a
/// CBC padding oracle for anyone holding a captured ciphertext.
pub fn open_event(
    keys: &EventKeys,
    headers: &SignatureHeaders<'_>,
    body: &[u8],
    now_secs: i64,
) -> Result<(Vec<u8>, Authenticity), VerifyError> {
    let authenticity = match &keys.encrypt_key {
        Some(key) if !headers.none_present() => {
            let (ts, nonce, sig) = headers.all()?;
            let ts_secs = timestamp::parse_decimal(ts, HEADER_TIMESTAMP)?;
            if !hex_matches(sig, &event_signature(ts, nonce, &key.raw, body)) {
                return Err(VerifyError::BadSignature);
            }
            timestamp::check_window(
                ts_secs.saturating_mul(1000),
                now_secs.saturating_mul(1000),
                keys.tolerance_secs.saturating_mul(1000),
            )?;
            Authenticity::Signed {
                timestamp_secs: ts_secs,
            }
        }
        _ => Authenticity::Unsigned,
    };
    let opaque = |e: VerifyError| match authenticity {
        Authenticity::Signed { .. } => e,
        Authenticity::Unsigned if keys.encrypt_key.is_some() => VerifyError::Unauthenticated,
        Authenticity::Unsigned => e,
    };
    let envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|_| opaque(VerifyError::MalformedBody))?;
    let plaintext = match (envelope.encrypt, &keys.encrypt_key) {
        (Some(enc), Some(key)) => key.cipher.decrypt(&enc).map_err(opaque)?,
        // Encrypted, but we hold no key: nothing we can authenticate.
        (Some(_), None) => return Err(VerifyError::Unauthenticated),
        (None, _) => body.to_vec(),
    };
    Ok((plaintext, authenticity))
}

/// Verifies a legacy card callback (`card.action.trigger_v1`) signature and
/// window. Returns the timestamp in seconds (the caller keeps the signature in
/// its replay cache until the window has passed).
pub fn verify_legacy_card(
    verification_token: &str,
    headers: &SignatureHeaders<'_>,
    body: &[u8],
    now_secs: i64,
    tolerance_secs: i64,
) -> Result<i64, VerifyError> {
    let (ts, nonce, sig) = headers.all()?;
    let ts_secs = timestamp::parse_decimal(ts, HEADER_TIMESTAMP)?;
    if !hex_matches(
        sig,
        &legacy_card_signature(ts, nonce, verification_token, body),
    ) {
        return Err(VerifyError::BadSignature);
    }
    timestamp::check_window(
        ts_secs.saturating_mul(1000),
        now_secs.saturating_mul(1000),
        tolerance_secs.saturating_mul(1000),
    )?;
    Ok(ts_secs)
}

/// True when a signature header looks like the SHA-256 scheme (64 hex digits)
/// rather than the legacy SHA-1 one (40): used only to give a helpful error.
pub fn looks_like_event_signature(sig: &str) -> bool {
    sig.len() == 64
}
