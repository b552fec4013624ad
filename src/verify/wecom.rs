//! WeCom (企业微信) callback crypto (`../shared/spec/dingtalk.md` §5.2–§5.5).
//!
//! - `msg_signature` = hex(SHA-1(concat(sort([token, timestamp, nonce, encrypted])))):
//!   the four *values* sorted bytewise, joined with no separator.
//! - AES key = base64(EncodingAESKey + "="), 32 bytes; AES-256-CBC with IV = key[..16].
//! - plaintext = random(16) ‖ be_u32(len(msg)) ‖ msg ‖ receive_id, PKCS#7-padded to a
//!   multiple of **32** bytes (pad byte 1..=32), so the cipher runs without padding
//!   and we unpad by hand: a 16-byte unpadder rejects about half of all messages.

use aes::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha1::{Digest, Sha1};

use super::{VerifyError, ct_eq};

/// WeCom's PKCS#7 block size (not AES's 16).
const PAD_BLOCK: usize = 32;
const RANDOM_PREFIX: usize = 16;
const LEN_FIELD: usize = 4;

/// The callback signature over the four values.
pub fn msg_signature(token: &str, timestamp: &str, nonce: &str, encrypted: &str) -> [u8; 20] {
    let mut parts = [token, timestamp, nonce, encrypted];
    parts.sort_unstable();
    let mut h = Sha1::new();
    for p in parts {
        h.update(p.as_bytes());
    }
    h.finalize().into()
}

/// Verifies `msg_signature` (hex, any case) in constant time.
pub fn verify_signature(
    token: &str,
    timestamp: &str,
    nonce: &str,
    encrypted: &str,
    signature: &str,
) -> Result<(), VerifyError> {
    let mut given = [0u8; 20];
    let expected = msg_signature(token, timestamp, nonce, encrypted);
    if hex::decode_to_slice(signature, &mut given).is_ok() && ct_eq(&given, &expected) {
        Ok(())
    } else {
        Err(VerifyError::BadSignature)
    }
}

/// Why an EncodingAESKey was refused (config validation reports it).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("encoding_aes_key must be 43 characters of [A-Za-z0-9]")]
pub struct BadAesKey;

/// The AES key and receive id of one WeCom app or robot.
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
    pub fn new(encoding_aes_key: &str) -> Result<Self, BadAesKey> {
        if encoding_aes_key.len() != 43
            || !encoding_aes_key.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            return Err(BadAesKey);
        }
        // 43 base64 chars + "=" carry 32 bytes; the last char has 2 unused bits that
        // WeCom's own SDKs ignore, so decode leniently about them.
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
        );
        let mut key = [0u8; 32];
        match engine.decode_slice(format!("{encoding_aes_key}=").as_bytes(), &mut key) {
            Ok(32) => Ok(Self { key }),
            _ => Err(BadAesKey),
        }
    }

    fn iv(&self) -> [u8; 16] {
        self.key[..16].try_into().expect("16 of 32 bytes")
    }

    /// Decrypts `Encrypt` / `echostr` and checks the trailing receive id.
    pub fn decrypt(&self, encrypted: &str, receive_id: &str) -> Result<Vec<u8>, VerifyError> {
        let mut buf = B64.decode(encrypted).map_err(|_| VerifyError::BadBase64)?;
        if buf.is_empty() || buf.len() % PAD_BLOCK != 0 {
            return Err(VerifyError::BadCiphertextLength);
        }
        cbc::Decryptor::<aes::Aes256>::new((&self.key).into(), (&self.iv()).into())
            .decrypt_padded_mut::<NoPadding>(&mut buf)
            .map_err(|_| VerifyError::BadCiphertextLength)?;
        let pad = *buf.last().expect("non-empty") as usize;
        if pad == 0 || pad > PAD_BLOCK || buf[buf.len() - pad..].iter().any(|&b| b as usize != pad)
        {
            return Err(VerifyError::BadPadding);
        }
        buf.truncate(buf.len() - pad);
        let body = buf.get(RANDOM_PREFIX..).ok_or(VerifyError::BadPlaintext)?;
        let len_bytes: [u8; LEN_FIELD] = body
            .get(..LEN_FIELD)
            .ok_or(VerifyError::BadPlaintext)?
            .try_into()
            .expect("4 bytes");
        let msg_len = u32::from_be_bytes(len_bytes) as usize;
        let rest = &body[LEN_FIELD..];
        if msg_len > rest.len() {
            return Err(VerifyError::BadPlaintext);
        }
        let (msg, trailer) = rest.split_at(msg_len);
        if !ct_eq(trailer, receive_id.as_bytes()) {
            return Err(VerifyError::ReceiveIdMismatch);
        }
        Ok(msg.to_vec())
    }

    /// Encrypts a reply (or, in tests, a callback) with the given random prefix.
    pub fn encrypt(&self, msg: &[u8], receive_id: &str, random: [u8; RANDOM_PREFIX]) -> String {
        let len = u32::try_from(msg.len()).expect("message under 4 GiB");
        let mut buf = Vec::with_capacity(
            RANDOM_PREFIX + LEN_FIELD + msg.len() + receive_id.len() + PAD_BLOCK,
        );
        buf.extend_from_slice(&random);
        buf.extend_from_slice(&len.to_be_bytes());
        buf.extend_from_slice(msg);
        buf.extend_from_slice(receive_id.as_bytes());
        let pad = PAD_BLOCK - buf.len() % PAD_BLOCK;
        buf.resize(buf.len() + pad, pad as u8);
        let n = buf.len();
        cbc::Encryptor::<aes::Aes256>::new((&self.key).into(), (&self.iv()).into())
            .encrypt_padded_mut::<NoPadding>(&mut buf, n)
            .expect("buffer is block-aligned");
        B64.encode(buf)
    }
}
