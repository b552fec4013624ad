//! Property tests: random bodies and headers never panic the verifiers and never
//! verify; properly signed or encrypted input always does (inside the window).
//!
//! Failure persistence is off so a failing run writes no `proptest-regressions/`
//! files; proptest prints the minimal failing input instead.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use serde_json::{Value, json};

use super::{VerifyError, dingtalk, feishu, timestamp, wecom};
use crate::interaction::strip_leading_mentions;
use crate::replay::{ReplayGuard, Sighting};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------- strategies

/// Hex-ish signature headers: right length, wrong length, wrong case, not hex.
fn hex_header() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9a-f]{64}",
        "[0-9A-F]{64}",
        "[0-9a-f]{40}",
        "[0-9A-F]{40}",
        "[0-9a-f]{39,41}",
        "[0-9a-f]{63,65}",
        "[0-9a-fA-F]{0,80}",
        "[0-9a-fg-z +]{40,64}",
    ]
}

/// Base64-ish signature headers: a 32-byte MAC's length and other lengths.
fn b64_header() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        any::<[u8; 32]>().prop_map(|b| B64.encode(b)),
        vec(any::<u8>(), 0..64).prop_map(|b| B64.encode(b)),
        "[A-Za-z0-9+/]{43}=",
        "[A-Za-z0-9+/=]{40,50}",
        "[A-Za-z0-9%]{0,60}",
    ]
}

/// Timestamp headers: plain decimals, too long, signed, padded, garbage.
fn ts_header() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{1,19}",
        "[0-9]{19,25}",
        any::<i64>().prop_map(|t| t.to_string()),
        (1_699_999_000i64..1_700_001_000).prop_map(|t| t.to_string()),
        (1_699_999_000_000i64..1_700_001_000_000).prop_map(|t| t.to_string()),
        "[ +-]?[0-9]{1,13} ?",
        Just(String::new()),
    ]
}

/// Clock readings: anything, and values near the timestamps above.
fn now_value() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        1_699_999_000i64..1_700_001_000,
        1_699_999_000_000i64..1_700_001_000_000,
        Just(i64::MIN),
        Just(i64::MAX),
    ]
}

/// Arbitrary JSON values, with `encrypt` often among the object keys.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(
                prop_oneof!["[a-z]{0,6}", Just("encrypt".to_string())],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn to_vec(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a Value always serialises")
}

/// Feishu `encrypt` values made with `cipher`: these really decrypt.
fn feishu_ciphertext(cipher: feishu::Cipher) -> impl Strategy<Value = String> {
    (vec(any::<u8>(), 0..160), any::<[u8; 16]>()).prop_map(move |(p, iv)| cipher.encrypt(&p, iv))
}

/// Request bodies for a Feishu endpoint whose Encrypt Key is `key`: random bytes,
/// random JSON, envelopes with real and with random ciphertexts.
fn feishu_body(key: &str) -> BoxedStrategy<Vec<u8>> {
    let cipher = feishu::Cipher::new(key);
    prop_oneof![
        vec(any::<u8>(), 0..300),
        json_value().prop_map(|v| to_vec(&v)),
        feishu_ciphertext(cipher.clone()).prop_map(|c| to_vec(&json!({ "encrypt": c }))),
        // A struct is also accepted as the sequence of its fields (see `classify`).
        feishu_ciphertext(cipher).prop_map(|c| to_vec(&json!([c]))),
        vec(any::<u8>(), 0..96).prop_map(|b| to_vec(&json!({ "encrypt": B64.encode(b) }))),
        any::<String>().prop_map(|s| to_vec(&json!({ "encrypt": s, "token": "t" }))),
    ]
    .boxed()
}

/// An Encrypt Key together with bodies that fit it.
fn feishu_key_and_body() -> impl Strategy<Value = (String, Vec<u8>)> {
    prop_oneof![any::<String>(), "[ -~]{0,40}"]
        .prop_flat_map(|k| (Just(k.clone()), feishu_body(&k)))
}

fn headers<'a>(
    ts: &'a Option<String>,
    nonce: &'a Option<String>,
    sig: &'a Option<String>,
) -> feishu::SignatureHeaders<'a> {
    feishu::SignatureHeaders {
        timestamp: ts.as_deref(),
        nonce: nonce.as_deref(),
        signature: sig.as_deref(),
    }
}

fn all_headers<'a>(ts: &'a str, nonce: &'a str, sig: &'a str) -> feishu::SignatureHeaders<'a> {
    feishu::SignatureHeaders {
        timestamp: Some(ts),
        nonce: Some(nonce),
        signature: Some(sig),
    }
}

/// How `open_event` must read a body, decided independently with `serde_json::Value`.
#[derive(Debug)]
enum Envelope {
    /// JSON without an `encrypt` string: the body is the plaintext.
    Plain,
    /// JSON with an `encrypt` string: the plaintext is what that decrypts to.
    Encrypted(String),
    /// Not JSON, or `encrypt` is neither a string nor null.
    Invalid,
}

fn classify(body: &[u8]) -> Envelope {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return Envelope::Invalid;
    };
    let encrypt = match &v {
        Value::Object(m) => m.get("encrypt"),
        // serde's derived Deserialize accepts a one-field struct as a one-element
        // array too, so `[x]` reads as `{"encrypt": x}`. Harmless (it authenticates
        // nothing), but it is what the code does.
        Value::Array(a) if a.len() == 1 => Some(&a[0]),
        _ => return Envelope::Invalid,
    };
    match encrypt {
        None | Some(Value::Null) => Envelope::Plain,
        Some(Value::String(s)) => Envelope::Encrypted(s.clone()),
        Some(_) => Envelope::Invalid,
    }
}

/// `|now - ts| <= tol`, without overflow.
fn in_window(ts: i64, now: i64, tol: i64) -> bool {
    (i128::from(now) - i128::from(ts)).abs() <= i128::from(tol)
}

/// The error `check_window` must give outside the window.
fn window_error(ts: i64, now: i64) -> fn(&VerifyError) -> bool {
    if now > ts {
        |e| matches!(e, VerifyError::TimestampTooOld { .. })
    } else {
        |e| matches!(e, VerifyError::TimestampInFuture { .. })
    }
}

/// `(tolerance, now - ts)` pairs, a third of them on or next to the window's edge.
fn tol_and_delta(max_tol: i64) -> impl Strategy<Value = (i64, i64)> {
    prop_oneof![
        2 => (0..max_tol, -2 * max_tol..2 * max_tol),
        1 => (0..max_tol, -1i64..=1, any::<bool>()).prop_map(|(tol, d, past)| {
            (tol, if past { tol + d } else { -(tol + d) })
        }),
    ]
}

/// A decimal timestamp header for `t`, sometimes with leading zeros (which
/// `parse_decimal` refuses: one instant has one spelling, so one signed
/// request cannot be made into several).
fn decimal_with_zeros(t: i64, zeros: usize) -> String {
    format!("{}{t}", "0".repeat(zeros))
}

/// What `parse_decimal` refuses of the digit strings: too long, or a
/// leading zero.
fn non_canonical(ts: &str) -> bool {
    ts.len() > 19 || (ts.len() > 1 && ts.starts_with('0'))
}

/// AES-256-CBC of an already padded WeCom plaintext, written out independently
/// of `wecom::Cipher`: key = base64(EncodingAESKey + "="), IV = key[..16].
fn wecom_raw_encrypt(encoding_aes_key: &str, plain: &[u8]) -> String {
    use aes::cipher::{BlockEncryptMut, KeyIvInit, block_padding::NoPadding};
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    );
    let key: [u8; 32] = engine
        .decode(format!("{encoding_aes_key}="))
        .unwrap()
        .try_into()
        .unwrap();
    let mut buf = plain.to_vec();
    let n = buf.len();
    cbc::Encryptor::<aes::Aes256>::new((&key).into(), key[..16].into())
        .encrypt_padded_mut::<NoPadding>(&mut buf, n)
        .unwrap();
    B64.encode(buf)
}

/// What decrypting `plain` must give, from the spec: PKCS#7 to 32 bytes, then
/// random(16) ‖ be_u32(len) ‖ msg ‖ receive_id.
fn wecom_model(plain: &[u8], receive_id: &str) -> Result<Vec<u8>, VerifyError> {
    let pad = usize::from(*plain.last().unwrap());
    if pad == 0
        || pad > 32
        || plain[plain.len() - pad..]
            .iter()
            .any(|&b| usize::from(b) != pad)
    {
        return Err(VerifyError::BadPadding);
    }
    let unpadded = &plain[..plain.len() - pad];
    if unpadded.len() < 20 {
        return Err(VerifyError::BadPlaintext);
    }
    let len = u32::from_be_bytes(unpadded[16..20].try_into().unwrap()) as usize;
    let rest = &unpadded[20..];
    if len > rest.len() {
        return Err(VerifyError::BadPlaintext);
    }
    if &rest[len..] != receive_id.as_bytes() {
        return Err(VerifyError::ReceiveIdMismatch);
    }
    Ok(rest[..len].to_vec())
}

fn wecom_key() -> impl Strategy<Value = String> {
    "[A-Za-z0-9]{43}"
}

// ------------------------------------------------------------ Feishu, cheap

proptest! {
    #![proptest_config(config(256))]

    /// With an Encrypt Key configured: random signature headers never panic and
    /// never authenticate; with all three absent, the result is exactly what the
    /// body is (plain JSON, or an envelope that really decrypts), else an opaque error.
    #[test]
    fn feishu_open_event_random_input_never_verifies(
        (key, body) in feishu_key_and_body(),
        ts in option::weighted(0.8, ts_header()),
        nonce in option::weighted(0.8, any::<String>()),
        sig in option::weighted(0.8, hex_header()),
        now in now_value(),
        tol in prop_oneof![0i64..1_000_000, any::<i64>()],
        absent in prop::bool::weighted(0.3),
    ) {
        let (ts, nonce, sig) = if absent { (None, None, None) } else { (ts, nonce, sig) };
        let ek = feishu::EncryptKey::new(&key);
        let keys = feishu::EventKeys { encrypt_key: Some(ek.clone()), tolerance_secs: tol };
        let h = headers(&ts, &nonce, &sig);
        let got = feishu::open_event(&keys, &h, &body, now);
        if ts.is_none() && nonce.is_none() && sig.is_none() {
            let want = match classify(&body) {
                Envelope::Plain => Some(body.clone()),
                Envelope::Encrypted(e) => ek.cipher().decrypt(&e).ok(),
                Envelope::Invalid => None,
            };
            match want {
                Some(p) => prop_assert_eq!(got, Ok((p, feishu::Authenticity::Unsigned))),
                None => prop_assert_eq!(got, Err(VerifyError::Unauthenticated)),
            }
        } else if let Ok((_, auth)) = got {
            // Some header present: only a genuine signature gets through.
            prop_assert!(matches!(auth, feishu::Authenticity::Signed { .. }), "{auth:?}");
            let (ts, nonce, sig) = (ts.unwrap(), nonce.unwrap(), sig.unwrap());
            let want = hex::encode(feishu::event_signature(&ts, &nonce, &key, &body));
            prop_assert_eq!(sig.to_ascii_lowercase(), want);
        }
    }

    /// No Encrypt Key configured: every request is unsigned; envelopes are refused.
    #[test]
    fn feishu_open_event_without_key(
        (_key, body) in feishu_key_and_body(),
        ts in option::of(ts_header()),
        nonce in option::of(any::<String>()),
        sig in option::of(hex_header()),
        now in now_value(),
    ) {
        let keys = feishu::EventKeys { encrypt_key: None, tolerance_secs: 300 };
        let got = feishu::open_event(&keys, &headers(&ts, &nonce, &sig), &body, now);
        match classify(&body) {
            Envelope::Plain => prop_assert_eq!(got, Ok((body, feishu::Authenticity::Unsigned))),
            Envelope::Encrypted(_) => prop_assert_eq!(got, Err(VerifyError::Unauthenticated)),
            Envelope::Invalid => prop_assert_eq!(got, Err(VerifyError::MalformedBody)),
        }
    }

    /// A properly signed request is authenticated iff its timestamp is inside the
    /// window, and then opened exactly as the body says.
    #[test]
    fn feishu_open_event_properly_signed(
        (key, body) in feishu_key_and_body(),
        ts in 0i64..10_000_000_000_000,
        zeros in prop_oneof![Just(0usize), 0usize..4],
        (tol, delta) in prop_oneof![tol_and_delta(1_000_000), tol_and_delta(400)],
        nonce in any::<String>(),
        upper in any::<bool>(),
    ) {
        let ek = feishu::EncryptKey::new(&key);
        let keys = feishu::EventKeys { encrypt_key: Some(ek.clone()), tolerance_secs: tol };
        let ts_str = decimal_with_zeros(ts, zeros);
        let mut sig = hex::encode(feishu::event_signature(&ts_str, &nonce, &key, &body));
        if upper {
            sig = sig.to_uppercase();
        }
        let now = ts + delta;
        let got = feishu::open_event(&keys, &all_headers(&ts_str, &nonce, &sig), &body, now);
        if non_canonical(&ts_str) {
            prop_assert_eq!(got, Err(VerifyError::MalformedHeader(feishu::HEADER_TIMESTAMP)));
        } else if !in_window(ts, now, tol) {
            prop_assert!(got.as_ref().err().is_some_and(window_error(ts, now)), "{got:?}");
        } else {
            let signed = feishu::Authenticity::Signed { timestamp_secs: ts };
            match classify(&body) {
                Envelope::Plain => prop_assert_eq!(got, Ok((body, signed))),
                Envelope::Encrypted(e) => {
                    prop_assert_eq!(got, ek.cipher().decrypt(&e).map(|p| (p, signed)));
                }
                Envelope::Invalid => prop_assert_eq!(got, Err(VerifyError::MalformedBody)),
            }
        }
    }

    /// Flipping any single bit of a properly signed body breaks the signature.
    #[test]
    fn feishu_open_event_bit_flip_in_body_is_bad_signature(
        key in any::<String>(),
        body in vec(any::<u8>(), 1..300),
        bit in any::<usize>(),
        nonce in any::<String>(),
    ) {
        let keys = feishu::EventKeys {
            encrypt_key: Some(feishu::EncryptKey::new(&key)),
            tolerance_secs: 300,
        };
        let (ts, now) = ("1700000000", 1_700_000_000);
        let sig = hex::encode(feishu::event_signature(ts, &nonce, &key, &body));
        let h = all_headers(ts, &nonce, &sig);
        // Unflipped, the signature passes (whatever the body then turns out to be).
        prop_assert_ne!(feishu::open_event(&keys, &h, &body, now).err(), Some(VerifyError::BadSignature));
        let mut flipped = body.clone();
        let bit = bit % (body.len() * 8);
        flipped[bit / 8] ^= 1 << (bit % 8);
        prop_assert_eq!(feishu::open_event(&keys, &h, &flipped, now), Err(VerifyError::BadSignature));
    }

    /// Changing any one character of the Encrypt Key breaks both the signature
    /// and the decryption.
    #[test]
    fn feishu_changed_encrypt_key_fails(
        key in "[ -~]{1,40}",
        index in any::<usize>(),
        replacement in proptest::char::range(' ', '~'),
        plaintext in vec(any::<u8>(), 0..200),
        iv in any::<[u8; 16]>(),
        nonce in "[a-z0-9]{0,16}",
    ) {
        let index = index % key.len();
        prop_assume!(key.as_bytes()[index] != replacement as u8);
        let mut other = key.clone();
        other.replace_range(index..=index, &replacement.to_string());

        let encrypt = feishu::Cipher::new(&key).encrypt(&plaintext, iv);
        // Wrong key: padding is usually refused; if not, the bytes are garbage.
        prop_assert_ne!(feishu::Cipher::new(&other).decrypt(&encrypt), Ok(plaintext.clone()));

        let body = to_vec(&json!({ "encrypt": encrypt }));
        let ts = "1700000000";
        let sig = hex::encode(feishu::event_signature(ts, &nonce, &key, &body));
        let keys = feishu::EventKeys {
            encrypt_key: Some(feishu::EncryptKey::new(&other)),
            tolerance_secs: 300,
        };
        let got = feishu::open_event(&keys, &all_headers(ts, &nonce, &sig), &body, 1_700_000_000);
        prop_assert_eq!(got, Err(VerifyError::BadSignature));
    }

    /// Random legacy card callbacks never verify.
    #[test]
    fn feishu_legacy_card_random_input_never_verifies(
        token in any::<String>(),
        ts in option::weighted(0.9, ts_header()),
        nonce in option::weighted(0.9, any::<String>()),
        sig in option::weighted(0.9, hex_header()),
        body in vec(any::<u8>(), 0..300),
        now in now_value(),
        tol in prop_oneof![0i64..1_000_000, any::<i64>()],
    ) {
        let got = feishu::verify_legacy_card(&token, &headers(&ts, &nonce, &sig), &body, now, tol);
        if got.is_ok() {
            let (ts, nonce, sig) = (ts.unwrap(), nonce.unwrap(), sig.unwrap());
            let want = hex::encode(feishu::legacy_card_signature(&ts, &nonce, &token, &body));
            prop_assert_eq!(sig.to_ascii_lowercase(), want);
        }
    }

    /// A properly signed legacy card callback verifies iff inside the window.
    #[test]
    fn feishu_legacy_card_properly_signed(
        token in any::<String>(),
        ts in 0i64..10_000_000_000_000,
        zeros in prop_oneof![Just(0usize), 0usize..4],
        (tol, delta) in prop_oneof![tol_and_delta(1_000_000), tol_and_delta(400)],
        nonce in any::<String>(),
        body in vec(any::<u8>(), 0..300),
        bit in any::<usize>(),
    ) {
        let ts_str = decimal_with_zeros(ts, zeros);
        let sig = hex::encode(feishu::legacy_card_signature(&ts_str, &nonce, &token, &body));
        let h = all_headers(&ts_str, &nonce, &sig);
        let now = ts + delta;
        let got = feishu::verify_legacy_card(&token, &h, &body, now, tol);
        if non_canonical(&ts_str) {
            prop_assert_eq!(got, Err(VerifyError::MalformedHeader(feishu::HEADER_TIMESTAMP)));
        } else if in_window(ts, now, tol) {
            prop_assert_eq!(got, Ok(ts));
            // Any flipped bit of the body breaks it.
            if !body.is_empty() {
                let mut flipped = body.clone();
                let bit = bit % (body.len() * 8);
                flipped[bit / 8] ^= 1 << (bit % 8);
                let got = feishu::verify_legacy_card(&token, &h, &flipped, now, tol);
                prop_assert_eq!(got, Err(VerifyError::BadSignature));
            }
        } else {
            prop_assert!(got.as_ref().err().is_some_and(window_error(ts, now)), "{got:?}");
        }
    }

    /// Feishu AES-256-CBC: decrypt(encrypt(p, iv)) == p for any bytes, IV and key.
    #[test]
    fn feishu_cipher_round_trip(
        key in any::<String>(),
        plaintext in vec(any::<u8>(), 0..1024),
        iv in any::<[u8; 16]>(),
    ) {
        let cipher = feishu::Cipher::new(&key);
        prop_assert_eq!(cipher.decrypt(&cipher.encrypt(&plaintext, iv)), Ok(plaintext));
    }

    /// Random `encrypt` strings never panic Feishu's decrypt.
    #[test]
    fn feishu_cipher_random_input_never_panics(
        key in any::<String>(),
        encrypt in prop_oneof![
            any::<String>(),
            vec(any::<u8>(), 0..200).prop_map(|b| B64.encode(b)),
            (0usize..8).prop_flat_map(|n| vec(any::<u8>(), n * 16)).prop_map(|b| B64.encode(b)),
        ],
    ) {
        let _ = feishu::Cipher::new(&key).decrypt(&encrypt);
    }
}

// ----------------------------------------------------------------- DingTalk

/// `(ts, now, tolerance)` triples that land on both sides of the window.
fn dingtalk_times() -> impl Strategy<Value = (i64, i64, i64)> {
    prop_oneof![
        (0i64..4_000_000_000_000, tol_and_delta(4_000_000)).prop_map(|(ts, (tol, d))| (
            ts,
            ts + d,
            tol
        )),
        (0i64..=i64::MAX, any::<i64>(), 0i64..=i64::MAX),
        (0i64..=i64::MAX, -2i64..=2, 0i64..=2).prop_map(|(ts, d, tol)| (
            ts,
            ts.saturating_add(d),
            tol
        )),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    /// Random `timestamp` / `sign` headers never verify an app-robot callback.
    #[test]
    fn dingtalk_robot_random_headers_never_verify(
        secret in any::<String>(),
        ts in option::weighted(0.9, ts_header()),
        sign in option::weighted(0.9, b64_header()),
        now in now_value(),
        tol in prop_oneof![Just(dingtalk::TIMESTAMP_TOLERANCE_MS), any::<i64>()],
    ) {
        let got = dingtalk::verify_robot_callback(ts.as_deref(), sign.as_deref(), &secret, now, tol);
        if got.is_ok() {
            prop_assert_eq!(sign.unwrap(), dingtalk::robot_sign(&ts.unwrap(), &secret));
        }
    }

    /// Random `x-ddpaas-signature*` headers never verify a card callback.
    #[test]
    fn dingtalk_card_random_headers_never_verify(
        secret in any::<String>(),
        ts in option::weighted(0.9, ts_header()),
        sig in option::weighted(0.9, b64_header()),
        now in now_value(),
        tol in prop_oneof![Just(dingtalk::TIMESTAMP_TOLERANCE_MS), any::<i64>()],
    ) {
        let got = dingtalk::verify_card_callback(ts.as_deref(), sig.as_deref(), &secret, now, tol);
        if got.is_ok() {
            prop_assert_eq!(sig.unwrap(), dingtalk::card_callback_signature(&ts.unwrap(), &secret));
        }
    }

    /// A proper robot `sign` verifies iff |now - ts| <= tolerance.
    #[test]
    fn dingtalk_robot_proper_sign_verifies_iff_in_window(
        secret in any::<String>(),
        (ts, now, tol) in dingtalk_times(),
        zeros in prop_oneof![Just(0usize), 0usize..3],
    ) {
        let ts_str = decimal_with_zeros(ts, zeros);
        let sign = dingtalk::robot_sign(&ts_str, &secret);
        let got = dingtalk::verify_robot_callback(Some(&ts_str), Some(&sign), &secret, now, tol);
        if non_canonical(&ts_str) {
            prop_assert_eq!(got, Err(VerifyError::MalformedHeader(dingtalk::HEADER_TIMESTAMP)));
        } else if in_window(ts, now, tol) {
            prop_assert_eq!(got, Ok(ts));
        } else {
            prop_assert!(got.as_ref().err().is_some_and(window_error(ts, now)), "{got:?}");
        }
    }

    /// A proper card signature verifies iff |now - ts| <= tolerance.
    #[test]
    fn dingtalk_card_proper_sign_verifies_iff_in_window(
        secret in any::<String>(),
        (ts, now, tol) in dingtalk_times(),
        zeros in prop_oneof![Just(0usize), 0usize..3],
    ) {
        let ts_str = decimal_with_zeros(ts, zeros);
        let sig = dingtalk::card_callback_signature(&ts_str, &secret);
        let got = dingtalk::verify_card_callback(Some(&ts_str), Some(&sig), &secret, now, tol);
        if non_canonical(&ts_str) {
            prop_assert_eq!(got, Err(VerifyError::MalformedHeader(dingtalk::HEADER_CARD_TIMESTAMP)));
        } else if in_window(ts, now, tol) {
            prop_assert_eq!(got, Ok(ts));
        } else {
            prop_assert!(got.as_ref().err().is_some_and(window_error(ts, now)), "{got:?}");
        }
    }
}

// -------------------------------------------------------------------- WeCom

proptest! {
    #![proptest_config(config(256))]

    /// Random `msg_signature` values never verify; the proper one always does.
    #[test]
    fn wecom_signature_random_never_verifies(
        token in any::<String>(),
        ts in ts_header(),
        nonce in any::<String>(),
        encrypted in any::<String>(),
        sig in hex_header(),
    ) {
        if wecom::verify_signature(&token, &ts, &nonce, &encrypted, &sig).is_ok() {
            let want = hex::encode(wecom::msg_signature(&token, &ts, &nonce, &encrypted));
            prop_assert_eq!(sig.to_ascii_lowercase(), want);
        }
        let proper = hex::encode(wecom::msg_signature(&token, &ts, &nonce, &encrypted));
        prop_assert_eq!(wecom::verify_signature(&token, &ts, &nonce, &encrypted, &proper), Ok(()));
        let upper = proper.to_uppercase();
        prop_assert_eq!(wecom::verify_signature(&token, &ts, &nonce, &encrypted, &upper), Ok(()));
    }

    /// Random ciphertexts never panic WeCom's decrypt and never decrypt to Ok.
    #[test]
    fn wecom_decrypt_random_input_never_ok(
        key in wecom_key(),
        encrypted in prop_oneof![
            any::<String>(),
            vec(any::<u8>(), 0..200).prop_map(|b| B64.encode(b)),
            (0usize..8).prop_flat_map(|n| vec(any::<u8>(), n * 32)).prop_map(|b| B64.encode(b)),
            (0usize..8).prop_flat_map(|n| vec(any::<u8>(), n * 16)).prop_map(|b| B64.encode(b)),
        ],
        receive_id in prop_oneof![Just(String::new()), any::<String>()],
    ) {
        let cipher = wecom::Cipher::new(&key).expect("43 alphanumerics are a valid key");
        let got = cipher.decrypt(&encrypted, &receive_id);
        prop_assert!(got.is_err(), "{encrypted:?} decrypted to {got:?}");
    }

    /// Well-padded plaintexts of every shape (too short, length field too big or
    /// too small, wrong receive id, one corrupted byte) decrypt exactly as the
    /// spec says; this reaches the parsing that random ciphertexts almost never do.
    #[test]
    fn wecom_decrypt_parses_every_plaintext_shape(
        key in wecom_key(),
        prefix in any::<[u8; 16]>(),
        msg in prop_oneof![1 => Just(vec![]), 4 => vec(any::<u8>(), 0..80)],
        receive_id in prop_oneof![Just(String::new()), "[a-z]{0,4}"],
        other_id in prop_oneof![Just(None), option::of("[a-z]{0,4}")],
        len_adjust in prop_oneof![4 => Just(0i64), 2 => -3i64..=3, 1 => any::<u32>().prop_map(i64::from)],
        truncate in option::weighted(0.15, prop_oneof![0usize..24, 19usize..=21]),
        corrupt in option::weighted(0.15, (any::<usize>(), any::<u8>())),
    ) {
        let cipher = wecom::Cipher::new(&key).expect("43 alphanumerics are a valid key");
        let len_field = (msg.len() as i64 + len_adjust).clamp(0, i64::from(u32::MAX)) as u32;
        let mut plain = [&prefix[..], &len_field.to_be_bytes(), &msg, receive_id.as_bytes()].concat();
        if let Some(t) = truncate {
            plain.truncate(t);
        }
        let pad = 32 - plain.len() % 32;
        plain.resize(plain.len() + pad, pad as u8);
        if truncate.is_none() && len_adjust == 0 && corrupt.is_none() {
            // The helper builds exactly what `Cipher::encrypt` builds.
            prop_assert_eq!(wecom_raw_encrypt(&key, &plain), cipher.encrypt(&msg, &receive_id, prefix));
        }
        if let Some((i, b)) = corrupt {
            let i = i % plain.len();
            plain[i] = b;
        }
        let id = other_id.unwrap_or(receive_id);
        prop_assert_eq!(cipher.decrypt(&wecom_raw_encrypt(&key, &plain), &id), wecom_model(&plain, &id));
    }

    /// WeCom encrypt/decrypt round-trips; another receive id is refused.
    #[test]
    fn wecom_cipher_round_trip(
        key in wecom_key(),
        msg in vec(any::<u8>(), 0..1024),
        receive_id in any::<String>(),
        other_id in any::<String>(),
        random in any::<[u8; 16]>(),
    ) {
        let cipher = wecom::Cipher::new(&key).expect("43 alphanumerics are a valid key");
        let encrypted = cipher.encrypt(&msg, &receive_id, random);
        prop_assert_eq!(cipher.decrypt(&encrypted, &receive_id), Ok(msg));
        if other_id != receive_id {
            prop_assert_eq!(cipher.decrypt(&encrypted, &other_id), Err(VerifyError::ReceiveIdMismatch));
        }
    }

    /// Keys that are not 43 alphanumerics are refused, and never panic.
    #[test]
    fn wecom_cipher_new_never_panics(key in prop_oneof![any::<String>(), "[A-Za-z0-9+/=]{40,46}"]) {
        let ok = key.len() == 43 && key.bytes().all(|b| b.is_ascii_alphanumeric());
        prop_assert_eq!(wecom::Cipher::new(&key).is_ok(), ok);
    }
}

// ---------------------------------------------------------------- timestamp

/// i64s biased towards the edges where overflow lives.
fn edgy_i64() -> impl Strategy<Value = i64> {
    prop_oneof![
        any::<i64>(),
        Just(i64::MIN),
        Just(i64::MIN + 1),
        Just(i64::MAX),
        Just(i64::MAX - 1),
        -3i64..=3,
        (i64::MAX - 3)..=i64::MAX,
        i64::MIN..=(i64::MIN + 3),
    ]
}

proptest! {
    #![proptest_config(config(1024))]

    /// `check_window` is Ok iff |now - ts| <= tol, for arbitrary i64s.
    #[test]
    fn check_window_matches_model(ts in edgy_i64(), now in edgy_i64(), tol in edgy_i64()) {
        let got = timestamp::check_window(ts, now, tol);
        if in_window(ts, now, tol) {
            prop_assert_eq!(got, Ok(()));
        } else if tol >= 0 {
            prop_assert!(got.as_ref().err().is_some_and(window_error(ts, now)), "{got:?}");
        } else {
            // A negative tolerance admits nothing; which error is unspecified.
            prop_assert!(got.is_err());
        }
    }

    /// `parse_decimal` accepts exactly 1..=19 ASCII digits without a
    /// leading zero that fit in an i64.
    #[test]
    fn parse_decimal_matches_model(value in prop_oneof![any::<String>(), ts_header(), "0[0-9]{0,5}", "[0-9]{18,20}"]) {
        let got = timestamp::parse_decimal(&value, "h");
        let want = if !value.is_empty() && !non_canonical(&value) && value.bytes().all(|b| b.is_ascii_digit()) {
            value.parse::<u64>().ok().and_then(|v| i64::try_from(v).ok())
        } else {
            None
        };
        prop_assert_eq!(got, want.ok_or(VerifyError::MalformedHeader("h")));
    }
}

/// Regression: `-tolerance_ms` used to overflow for a tolerance of `i64::MIN`.
#[test]
fn check_window_min_tolerance_does_not_overflow() {
    assert!(timestamp::check_window(i64::MAX, -1, i64::MIN).is_err());
}

/// Regression: `now - ts` used to saturate at `i64::MAX`, accepting a timestamp
/// more than `i64::MAX` ms in the past when the tolerance was `i64::MAX`.
#[test]
fn check_window_skew_beyond_i64_is_refused() {
    assert!(timestamp::check_window(-2, i64::MAX, i64::MAX).is_err());
}

// ------------------------------------------------------------- replay guard

#[derive(Debug, Clone)]
struct Op {
    namespace: &'static str,
    key: String,
    advance: i64,
    ttl: i64,
}

fn op() -> impl Strategy<Value = Op> {
    (
        prop::sample::select(&["feishu", "f", "dingtalk", "wecom"][..]),
        "[ab\\x00]{0,2}",
        prop_oneof![Just(0i64), 0i64..5, 0i64..100],
        -5i64..120,
    )
        .prop_map(|(namespace, key, advance, ttl)| Op {
            namespace,
            key,
            advance,
            ttl,
        })
}

proptest! {
    #![proptest_config(config(256))]

    /// With a clock that never goes back, a key is First exactly when the model
    /// holds no unexpired entry for it.
    #[test]
    fn replay_guard_matches_model(start in any::<i32>(), ops in vec(op(), 1..200)) {
        let guard = ReplayGuard::new(10_000);
        let mut model: HashMap<(&str, String), i64> = HashMap::new();
        let mut now = i64::from(start);
        for (i, op) in ops.into_iter().enumerate() {
            now += op.advance;
            let expires_at = now + op.ttl;
            let live = model.get(&(op.namespace, op.key.clone())).is_some_and(|&exp| exp > now);
            let got = guard.check(op.namespace, &op.key, expires_at, now);
            let want = if live { Sighting::Repeat } else { Sighting::First };
            prop_assert_eq!(got, want, "op {} ({:?}) at now={}", i, op, now);
            if !live {
                model.insert((op.namespace, op.key), expires_at);
            }
        }
    }
}

// ------------------------------------------------------------- interaction

proptest! {
    #![proptest_config(config(512))]

    /// The result never starts with `@` or whitespace, nor ends with whitespace;
    /// text that does not start with a mention is only trimmed.
    #[test]
    fn strip_leading_mentions_output_is_clean(
        text in prop_oneof![any::<String>(), "[@ \\t\\n\u{3000}\u{a0}\u{2003}a-z_0-9]{0,24}"],
    ) {
        let out = strip_leading_mentions(&text);
        prop_assert!(!out.starts_with('@'), "{text:?} -> {out:?}");
        prop_assert!(!out.starts_with(char::is_whitespace), "{text:?} -> {out:?}");
        prop_assert!(!out.ends_with(char::is_whitespace), "{text:?} -> {out:?}");
        if !text.trim_start().starts_with('@') {
            prop_assert_eq!(out, text.trim());
        }
    }
}
