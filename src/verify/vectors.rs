//! Known-answer tests: every vector in `tests/vectors/*.json` (byte-identical
//! copies of `../shared/spec/`, computed with the platforms' own SDKs), each
//! checked positively and against its documented wrong variants.

use serde_json::Value;

use super::{VerifyError, dingtalk, feishu, wecom};

fn feishu_vectors() -> Value {
    serde_json::from_str(include_str!("../../tests/vectors/feishu-vectors.json")).unwrap()
}

fn dingtalk_vectors() -> Value {
    serde_json::from_str(include_str!("../../tests/vectors/dingtalk-vectors.json")).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} is not a string"))
}

fn hdrs<'a>(ts: &'a str, nonce: &'a str, sig: &'a str) -> feishu::SignatureHeaders<'a> {
    feishu::SignatureHeaders {
        timestamp: Some(ts),
        nonce: Some(nonce),
        signature: Some(sig),
    }
}

fn flip_last_hex(sig: &str) -> String {
    let mut s = sig.to_string();
    let last = s.pop().unwrap();
    s.push(if last == '0' { '1' } else { '0' });
    s
}

#[test]
fn feishu_a_custom_bot_sign() {
    let v = &feishu_vectors()["a_custom_bot_sign"];
    let ts = v["timestamp"].as_i64().unwrap();
    assert_eq!(feishu::custom_bot_sign(ts, s(v, "secret")), s(v, "sign"));
    assert_ne!(
        feishu::custom_bot_sign(ts, s(v, "secret")),
        s(v, "wrong_if_key_and_message_swapped")
    );
    let go = &v["cross_check_go_lark"];
    assert_eq!(
        feishu::custom_bot_sign(go["timestamp"].as_i64().unwrap(), s(go, "secret")),
        s(go, "sign")
    );
}

#[test]
fn feishu_b_event_signature() {
    let v = &feishu_vectors()["b_event_signature"];
    let (ts, nonce, key, body) = (
        s(v, "X-Lark-Request-Timestamp"),
        s(v, "X-Lark-Request-Nonce"),
        s(v, "encrypt_key"),
        s(v, "raw_body"),
    );
    let sig = s(v, "X-Lark-Signature");
    assert_eq!(
        hex::encode(feishu::event_signature(ts, nonce, key, body.as_bytes())),
        sig
    );

    // Through the full pipeline: the body is plaintext (no `encrypt`), signed.
    let keys = feishu::EventKeys {
        encrypt_key: Some(feishu::EncryptKey::new(key)),
        tolerance_secs: 300,
    };
    let now = 1_700_000_000;
    let (plain, auth) =
        feishu::open_event(&keys, &hdrs(ts, nonce, sig), body.as_bytes(), now).unwrap();
    assert_eq!(plain, body.as_bytes());
    assert_eq!(
        auth,
        feishu::Authenticity::Signed {
            timestamp_secs: 1_700_000_000
        }
    );
    // Upper-case hex is the same signature (the C# sample's habit).
    let upper = sig.to_uppercase();
    assert!(feishu::open_event(&keys, &hdrs(ts, nonce, &upper), body.as_bytes(), now).is_ok());

    let flipped = flip_last_hex(sig);
    let bad = [
        (
            hdrs(ts, nonce, &flipped),
            body.to_string(),
            VerifyError::BadSignature,
        ),
        (
            hdrs(ts, "abc124", sig),
            body.to_string(),
            VerifyError::BadSignature,
        ),
        (
            hdrs("1700000001", nonce, sig),
            body.to_string(),
            VerifyError::BadSignature,
        ),
        (
            hdrs(ts, nonce, sig),
            body.replace("2.0", "2.1"),
            VerifyError::BadSignature,
        ),
        (
            hdrs(ts, nonce, &sig[..63]),
            body.to_string(),
            VerifyError::BadSignature,
        ),
    ];
    for (h, b, want) in bad {
        assert_eq!(
            feishu::open_event(&keys, &h, b.as_bytes(), now).unwrap_err(),
            want
        );
    }
    let wrong_key = feishu::EventKeys {
        encrypt_key: Some(feishu::EncryptKey::new("other")),
        tolerance_secs: 300,
    };
    assert_eq!(
        feishu::open_event(&wrong_key, &hdrs(ts, nonce, sig), body.as_bytes(), now).unwrap_err(),
        VerifyError::BadSignature
    );
    // Genuine but outside the window, in both directions.
    assert!(matches!(
        feishu::open_event(&keys, &hdrs(ts, nonce, sig), body.as_bytes(), now + 301),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        feishu::open_event(&keys, &hdrs(ts, nonce, sig), body.as_bytes(), now - 301),
        Err(VerifyError::TimestampInFuture { .. })
    ));
    // Some headers but not all.
    let partial = feishu::SignatureHeaders {
        timestamp: Some(ts),
        nonce: Some(nonce),
        signature: None,
    };
    assert_eq!(
        feishu::open_event(&keys, &partial, body.as_bytes(), now).unwrap_err(),
        VerifyError::MissingHeader(feishu::HEADER_SIGNATURE)
    );
}

#[test]
fn feishu_c_encrypted_challenge() {
    let v = &feishu_vectors()["c_encrypted_challenge"];
    let key = s(v, "encrypt_key");
    let cipher = feishu::Cipher::new(key);
    assert_eq!(
        hex::encode(sha2::Digest::finalize(
            <sha2::Sha256 as sha2::Digest>::new_with_prefix(key)
        )),
        s(v, "aes_key_hex_sha256_of_encrypt_key")
    );
    assert_eq!(
        cipher.decrypt(s(v, "encrypt")).unwrap(),
        s(v, "plaintext").as_bytes()
    );
    let iv: [u8; 16] = hex::decode(s(v, "iv_hex")).unwrap().try_into().unwrap();
    assert_eq!(
        cipher.encrypt(s(v, "plaintext").as_bytes(), iv),
        s(v, "encrypt")
    );

    // The wire body opens without signature headers (Feishu sends the challenge unsigned).
    let keys = feishu::EventKeys {
        encrypt_key: Some(feishu::EncryptKey::new(key)),
        tolerance_secs: 300,
    };
    let (plain, auth) = feishu::open_event(
        &keys,
        &Default::default(),
        s(v, "request_body").as_bytes(),
        0,
    )
    .unwrap();
    assert_eq!(plain, s(v, "decrypted_by_sdk").as_bytes());
    assert_eq!(auth, feishu::Authenticity::Unsigned);

    // Unsigned failures are deliberately indistinguishable (no padding oracle).
    let enc = s(v, "encrypt");
    for body in [
        format!("{{\"encrypt\":\"{}\"}}", &enc[..enc.len() - 4]),
        format!("{{\"encrypt\":\"{}A\"}}", &enc[..enc.len() - 1]),
        "{\"encrypt\":\"!!!\"}".to_string(),
        "not json".to_string(),
    ] {
        assert_eq!(
            feishu::open_event(&keys, &Default::default(), body.as_bytes(), 0).unwrap_err(),
            VerifyError::Unauthenticated,
            "{body}"
        );
    }
}

#[test]
fn feishu_d_legacy_card_signature() {
    let v = &feishu_vectors()["d_legacy_card_signature"];
    let (ts, nonce, token, body) = (
        s(v, "X-Lark-Request-Timestamp"),
        s(v, "X-Lark-Request-Nonce"),
        s(v, "verification_token"),
        s(v, "raw_body"),
    );
    let sig = s(v, "X-Lark-Signature");
    assert_eq!(
        hex::encode(feishu::legacy_card_signature(
            ts,
            nonce,
            token,
            body.as_bytes()
        )),
        sig
    );
    let now = 1_700_000_000;
    assert_eq!(
        feishu::verify_legacy_card(token, &hdrs(ts, nonce, sig), body.as_bytes(), now, 60),
        Ok(now)
    );
    for (h, tok) in [
        (hdrs(ts, nonce, &flip_last_hex(sig)), token),
        (hdrs(ts, nonce, sig), "tok"),
    ] {
        assert_eq!(
            feishu::verify_legacy_card(tok, &h, body.as_bytes(), now, 60),
            Err(VerifyError::BadSignature)
        );
    }
    // The new scheme's signature of the same input is not accepted here.
    let sha256 = hex::encode(feishu::event_signature(ts, nonce, token, body.as_bytes()));
    assert!(feishu::looks_like_event_signature(&sha256));
    assert_eq!(
        feishu::verify_legacy_card(token, &hdrs(ts, nonce, &sha256), body.as_bytes(), now, 60),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn feishu_e_official_doc_decrypt() {
    let v = &feishu_vectors()["e_official_doc_decrypt"];
    let plain = feishu::Cipher::new(s(v, "encrypt_key"))
        .decrypt(s(v, "encrypt"))
        .unwrap();
    assert_eq!(plain, s(v, "plaintext").as_bytes());
    assert_eq!(
        feishu::Cipher::new("test key2").decrypt(s(v, "encrypt")),
        Err(VerifyError::BadPadding)
    );
}

#[test]
fn feishu_f_signed_encrypted_card_action() {
    let v = &feishu_vectors()["f_signed_encrypted_card_action"];
    let key = s(v, "encrypt_key");
    let h = &v["headers"];
    let (ts, nonce, sig) = (
        s(h, "X-Lark-Request-Timestamp"),
        s(h, "X-Lark-Request-Nonce"),
        s(h, "X-Lark-Signature"),
    );
    let body = s(v, "raw_body").as_bytes();
    let keys = feishu::EventKeys {
        encrypt_key: Some(feishu::EncryptKey::new(key)),
        tolerance_secs: 60,
    };
    let (plain, auth) =
        feishu::open_event(&keys, &hdrs(ts, nonce, sig), body, 1_700_000_010).unwrap();
    assert_eq!(plain, s(v, "plaintext").as_bytes());
    assert_eq!(
        auth,
        feishu::Authenticity::Signed {
            timestamp_secs: 1_700_000_000
        }
    );
    let event: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(event["header"]["token"], s(v, "verification_token"));
    assert_eq!(
        event["event"]["operator"]["open_id"],
        v["sdk_parsed"]["open_id"]
    );
    assert_eq!(event["event"]["action"]["value"], v["sdk_parsed"]["value"]);
    assert_eq!(
        event["event"]["context"]["open_message_id"],
        v["sdk_parsed"]["open_message_id"]
    );
    let iv: [u8; 16] = hex::decode(s(v, "iv_hex")).unwrap().try_into().unwrap();
    let rebuilt = format!(
        "{{\"encrypt\":\"{}\"}}",
        feishu::Cipher::new(key).encrypt(&plain, iv)
    );
    assert_eq!(rebuilt.as_bytes(), body);
    assert_eq!(
        feishu::open_event(
            &keys,
            &hdrs(ts, nonce, &flip_last_hex(sig)),
            body,
            1_700_000_010
        )
        .unwrap_err(),
        VerifyError::BadSignature
    );
}

#[test]
fn dingtalk_a_custom_robot_sign() {
    let all = dingtalk_vectors();
    for name in [
        "a_dingtalk_custom_robot_sign",
        "a2_dingtalk_custom_robot_sign_with_plus_and_slash",
    ] {
        let v = &all[name];
        let (secret, ts) = (s(v, "secret"), s(v, "timestamp"));
        assert_eq!(
            dingtalk::robot_sign(ts, secret),
            s(v, "sign_base64"),
            "{name}"
        );
        let suffix = dingtalk::robot_query_suffix(ts, secret);
        assert_eq!(
            suffix,
            format!("&timestamp={ts}&sign={}", s(v, "sign_urlencoded")),
            "{name}"
        );
        for wrong in [
            "wrong_if_not_urlencoded_server_form_decodes_plus_to_space",
            "wrong_if_double_encoded",
        ] {
            if let Some(w) = v[wrong].as_str() {
                assert!(!suffix.ends_with(w), "{name}: {wrong}");
            }
        }
    }
    let v = &all["a_dingtalk_custom_robot_sign"];
    assert_eq!(
        s(v, "query_suffix"),
        dingtalk::robot_query_suffix(s(v, "timestamp"), s(v, "secret"))
    );
    let right = dingtalk::robot_sign(s(v, "timestamp"), s(v, "secret"));
    for wrong in [
        "wrong_if_key_and_message_swapped_feishu_style",
        "wrong_if_timestamp_in_seconds",
        "wrong_if_SEC_prefix_stripped_from_secret",
    ] {
        assert_ne!(right, s(v, wrong));
    }
    assert_eq!(
        dingtalk::robot_sign("1700000000", "SECdemo"),
        s(v, "wrong_if_timestamp_in_seconds")
    );
    assert_eq!(
        dingtalk::robot_sign(s(v, "timestamp"), "demo"),
        s(v, "wrong_if_SEC_prefix_stripped_from_secret")
    );
}

#[test]
fn dingtalk_b_inbound_callback_sign() {
    let v = &dingtalk_vectors()["b_dingtalk_inbound_callback_sign"];
    let (secret, ts, sign) = (
        s(v, "app_secret"),
        s(v, "timestamp_header"),
        s(v, "sign_header"),
    );
    let tol = v["max_skew_ms"].as_i64().unwrap();
    let now = 1_700_000_000_000;
    assert_eq!(dingtalk::robot_sign(ts, secret), sign);
    assert_eq!(
        dingtalk::verify_robot_callback(Some(ts), Some(sign), secret, now, tol),
        Ok(now)
    );
    for wrong in [
        "wrong_if_urlencoded_before_compare",
        "wrong_if_key_and_message_swapped",
    ] {
        assert_eq!(
            dingtalk::verify_robot_callback(Some(ts), Some(s(v, wrong)), secret, now, tol),
            Err(VerifyError::BadSignature),
            "{wrong}"
        );
    }
    // A form decoder would have turned the `+` into spaces.
    assert_eq!(
        dingtalk::verify_robot_callback(Some(ts), Some(&sign.replace('+', " ")), secret, now, tol),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        dingtalk::verify_robot_callback(Some(ts), Some(sign), "other-secret", now, tol),
        Err(VerifyError::BadSignature)
    );
    assert!(matches!(
        dingtalk::verify_robot_callback(Some(ts), Some(sign), secret, now + tol + 1, tol),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        dingtalk::verify_robot_callback(Some(ts), Some(sign), secret, now - tol - 1, tol),
        Err(VerifyError::TimestampInFuture { .. })
    ));
    assert_eq!(
        dingtalk::verify_robot_callback(None, Some(sign), secret, now, tol),
        Err(VerifyError::MissingHeader("timestamp"))
    );
    assert_eq!(
        dingtalk::verify_robot_callback(Some(ts), None, secret, now, tol),
        Err(VerifyError::MissingHeader("sign"))
    );
}

#[test]
fn dingtalk_d_card_callback_signature() {
    let v = &dingtalk_vectors()["d_dingtalk_card_http_callback_signature"];
    let (secret, ts, sig) = (
        s(v, "api_secret"),
        s(v, "x_ddpaas_signature_timestamp"),
        s(v, "x_ddpaas_signature"),
    );
    assert_eq!(dingtalk::card_callback_signature(ts, secret), sig);
    let now = 1_700_000_000_000;
    assert_eq!(
        dingtalk::verify_card_callback(Some(ts), Some(sig), secret, now, 60_000),
        Ok(now)
    );
    assert_eq!(
        dingtalk::verify_card_callback(
            Some(ts),
            Some(s(v, "wrong_if_key_and_message_swapped")),
            secret,
            now,
            60_000
        ),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn wecom_c_msg_signature() {
    let v = &dingtalk_vectors()["c_wecom_msg_signature"];
    let (tok, ts, nonce, enc) = (
        s(v, "token"),
        s(v, "timestamp"),
        s(v, "nonce"),
        s(v, "msg_encrypt"),
    );
    assert_eq!(
        hex::encode(wecom::msg_signature(tok, ts, nonce, enc)),
        s(v, "msg_signature")
    );
    assert_eq!(
        wecom::verify_signature(tok, ts, nonce, enc, s(v, "msg_signature")),
        Ok(())
    );
    assert_eq!(
        wecom::verify_signature(
            tok,
            ts,
            nonce,
            enc,
            s(v, "wrong_if_not_sorted_token_timestamp_nonce_encrypt_order")
        ),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        wecom::verify_signature(tok, ts, "n2", enc, s(v, "msg_signature")),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn wecom_e_aes_roundtrip() {
    let v = &dingtalk_vectors()["e_wecom_aes_roundtrip"];
    let cipher = wecom::Cipher::new(s(v, "encoding_aes_key")).unwrap();
    let enc = s(v, "msg_encrypt");
    assert_eq!(
        cipher.decrypt(enc, s(v, "receiveid")).unwrap(),
        s(v, "msg").as_bytes()
    );
    let random: [u8; 16] = s(v, "random16_ascii").as_bytes().try_into().unwrap();
    assert_eq!(
        cipher.encrypt(s(v, "msg").as_bytes(), s(v, "receiveid"), random),
        enc
    );
    assert_eq!(
        wecom::verify_signature(
            s(v, "token"),
            s(v, "timestamp"),
            s(v, "nonce"),
            enc,
            s(v, "msg_signature")
        ),
        Ok(())
    );
    // A robot's receive id is empty; a corp id in its place must fail the trailer check.
    assert_eq!(
        cipher.decrypt(enc, "wwcorp"),
        Err(VerifyError::ReceiveIdMismatch)
    );
    let other = wecom::Cipher::new("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefg").unwrap();
    assert!(other.decrypt(enc, "").is_err());
    assert_eq!(cipher.decrypt(&enc[1..], ""), Err(VerifyError::BadBase64));
    assert_eq!(
        cipher.decrypt("QUJDRA==", ""),
        Err(VerifyError::BadCiphertextLength)
    );
    assert!(wecom::Cipher::new("short").is_err());
    assert!(wecom::Cipher::new(&format!("{}!", &s(v, "encoding_aes_key")[..42])).is_err());
}

#[test]
fn wecom_roundtrip_with_corp_id_and_every_pad_length() {
    let cipher = wecom::Cipher::new("abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG").unwrap();
    for len in 0..70 {
        let msg = vec![b'x'; len];
        let enc = cipher.encrypt(&msg, "wwcorp", [7; 16]);
        assert_eq!(cipher.decrypt(&enc, "wwcorp").unwrap(), msg, "len {len}");
    }
}
