//! Known-answer tests for [`super::ci`]: every vector in
//! `tests/vectors/cicd-vectors.json` (a byte-identical copy of
//! `../shared/spec/cicd-vectors.json`, checked there with the senders' own
//! code and libraries), positively and against each documented wrong variant.

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::VerifyError;
use super::ci::{self, SigningKey, StandardHeaders};

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../tests/vectors/cicd-vectors.json")).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key} is not a string"))
}

/// The exact bytes of a payload file, checked against the vector's digest.
fn body_file(v: &Value) -> Vec<u8> {
    let path = format!(
        "{}/tests/vectors/{}",
        env!("CARGO_MANIFEST_DIR"),
        s(v, "body_file")
    );
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert_eq!(bytes.len() as u64, v["body_len_bytes"].as_u64().unwrap());
    assert_eq!(
        hex::encode(Sha256::digest(&bytes)),
        s(v, "body_sha256"),
        "{path} was reformatted"
    );
    bytes
}

/// Every `wrong_*` string of a vector.
fn wrongs(v: &Value) -> Vec<(&str, &str)> {
    v.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| k.starts_with("wrong_"))
        .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
        .collect()
}

#[test]
fn github_sha256_doc_vector() {
    let v = &vectors()["a_github_doc_vector_sha256"];
    let (secret, body) = (s(v, "secret"), s(v, "body").as_bytes());
    assert_eq!(ci::github_sign(secret, body), s(v, "x_hub_signature_256"));
    assert_eq!(
        ci::verify_github(secret, Some(s(v, "x_hub_signature_256")), body),
        Ok(())
    );
    let wrongs = wrongs(v);
    assert!(wrongs.len() >= 4);
    for (name, wrong) in wrongs {
        let got = ci::verify_github(secret, Some(wrong), body);
        // Uppercase hex decodes to the same bytes: GitHub never sends it,
        // and a byte comparison accepts it, as the spec's rule 3 asks.
        if name == "wrong_if_uppercase_hex_compared_as_string" {
            assert_eq!(got, Ok(()), "{name}");
        } else {
            assert!(got.is_err(), "{name} accepted");
        }
    }
    assert_eq!(
        ci::verify_github(secret, None, body),
        Err(VerifyError::MissingHeader(ci::GITHUB_SIGNATURE))
    );
    // The 40-digit example in GitHub's OpenAPI is a documentation error.
    assert_eq!(
        ci::verify_github(
            secret,
            Some("sha256=6dcb09b5b57875f334f61aebed695e2e4193db5e"),
            body
        ),
        Err(VerifyError::MalformedHeader(ci::GITHUB_SIGNATURE))
    );
}

#[test]
fn github_sha1_legacy_vector() {
    let v = &vectors()["a2_github_doc_vector_sha1_legacy"];
    let (secret, body) = (s(v, "secret"), s(v, "body").as_bytes());
    assert_eq!(
        ci::verify_github_sha1(secret, Some(s(v, "x_hub_signature")), body),
        Ok(())
    );
    assert_eq!(
        ci::verify_github_sha1(secret, Some(s(v, "x_hub_signature")), b"Hello, World!\n"),
        Err(VerifyError::BadSignature)
    );
    // A SHA-1 header is never a SHA-256 one.
    assert!(ci::verify_github(secret, Some(s(v, "x_hub_signature")), body).is_err());
}

#[test]
fn github_real_payload_file() {
    let v = &vectors()["a3_github_real_payload_file"];
    let body = body_file(v);
    let secret = s(v, "secret");
    assert_eq!(
        ci::verify_github(secret, Some(s(v, "x_hub_signature_256")), &body),
        Ok(())
    );
    assert_eq!(
        ci::verify_github_sha1(secret, Some(s(v, "x_hub_signature")), &body),
        Ok(())
    );
    for (name, wrong) in wrongs(v) {
        assert!(
            ci::verify_github(secret, Some(wrong), &body).is_err(),
            "{name}"
        );
    }
    assert_eq!(
        ci::verify_github("another secret", Some(s(v, "x_hub_signature_256")), &body),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn gitlab_secret_token() {
    let v = &vectors()["b_gitlab_secret_token"];
    let configured = s(v, "configured_token");
    assert_eq!(
        ci::verify_gitlab_token(configured, Some(s(v, "x_gitlab_token"))),
        Ok(())
    );
    // GitLab strips line breaks from the configured token before sending it.
    assert_eq!(
        ci::verify_gitlab_token(
            s(v, "configured_token_with_newline"),
            Some(s(v, "x_gitlab_token_sent_for_it"))
        ),
        Ok(())
    );
    assert_eq!(
        ci::verify_gitlab_token(configured, Some(s(v, "wrong_if_prefix_or_case_changed"))),
        Err(VerifyError::BadToken)
    );
    assert_eq!(
        ci::verify_gitlab_token(configured, None),
        Err(VerifyError::MissingHeader(ci::GITLAB_TOKEN))
    );
    assert!(ci::verify_gitlab_token(configured, Some("")).is_err());
}

fn gitlab_headers<'a>(v: &'a Value, signature: &'a str) -> StandardHeaders<'a> {
    StandardHeaders {
        id: Some(s(v, "webhook_id")),
        timestamp: Some(s(v, "webhook_timestamp")),
        signature: Some(signature),
    }
}

#[test]
fn gitlab_signing_token_small_body() {
    let v = &vectors()["c_gitlab_signing_token_small_body"];
    let key = SigningKey::from_token(s(v, "signing_token")).unwrap();
    let body = s(v, "body").as_bytes();
    let ts: i64 = s(v, "webhook_timestamp").parse().unwrap();
    let good = s(v, "webhook_signature");
    assert_eq!(
        key.sign(s(v, "webhook_id"), s(v, "webhook_timestamp"), body),
        good
    );
    let check =
        |sig: &str, now: i64| ci::verify_gitlab_signature(&key, gitlab_headers(v, sig), body, now);
    assert_eq!(check(good, ts + 30), Ok(ts));
    assert_eq!(
        check(
            s(v, "webhook_signature_with_two_entries_must_pass"),
            ts + 30
        ),
        Ok(ts)
    );
    // The window edges, both directions.
    let skew = v["max_skew_seconds"].as_i64().unwrap();
    assert_eq!(check(good, ts + skew), Ok(ts));
    assert_eq!(check(good, ts - skew), Ok(ts));
    assert!(matches!(
        check(good, ts + skew + 1),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        check(good, ts - skew - 1),
        Err(VerifyError::TimestampInFuture { .. })
    ));
    for (name, wrong) in wrongs(v) {
        assert_eq!(check(wrong, ts), Err(VerifyError::BadSignature), "{name}");
    }
    // Another version prefix is not ours to accept; a missing header is refused.
    assert_eq!(
        check(&good.replace("v1,", "v2,"), ts),
        Err(VerifyError::BadSignature)
    );
    let mut missing = gitlab_headers(v, good);
    missing.id = None;
    assert_eq!(
        ci::verify_gitlab_signature(&key, missing, body, ts),
        Err(VerifyError::MissingHeader(ci::WEBHOOK_ID))
    );
    // A millisecond timestamp is not a spelling of the same instant.
    let mut ms = gitlab_headers(v, good);
    ms.timestamp = Some("1700000000000");
    assert_eq!(
        ci::verify_gitlab_signature(&key, ms, body, ts),
        Err(VerifyError::BadSignature)
    );
    let mut padded = gitlab_headers(v, good);
    padded.timestamp = Some("01700000000");
    assert!(ci::verify_gitlab_signature(&key, padded, body, ts).is_err());
    // The token must be `whsec_` and the base64 of 32 bytes.
    for bad in [
        "dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=",
        "whsec_dGVzdA==",
        "whsec_!!!",
    ] {
        assert!(SigningKey::from_token(bad).is_err(), "{bad}");
    }
    assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
}

#[test]
fn gitlab_signing_token_payload_file() {
    let v = &vectors()["c2_gitlab_signing_token_payload_file"];
    let key = SigningKey::from_token(s(v, "signing_token")).unwrap();
    let body = body_file(v);
    let ts: i64 = s(v, "webhook_timestamp").parse().unwrap();
    let headers = gitlab_headers(v, s(v, "webhook_signature"));
    assert_eq!(
        ci::verify_gitlab_signature(&key, headers, &body, ts),
        Ok(ts)
    );
    let mut changed = body.clone();
    changed.push(b'\n');
    assert_eq!(
        ci::verify_gitlab_signature(&key, headers, &changed, ts),
        Err(VerifyError::BadSignature)
    );
}

#[test]
fn gitee_signature_real_delivery() {
    let v = &vectors()["d_gitee_sign_real_delivery"];
    let (secret, ts) = (s(v, "secret"), s(v, "timestamp_ms"));
    let ts_ms: i64 = ts.parse().unwrap();
    assert_eq!(ci::gitee_sign(secret, ts), s(v, "sign_base64"));
    assert_eq!(s(v, "sign_in_gitee_body"), s(v, "sign_base64"));
    let check =
        |token: &str, now: i64| ci::verify_gitee_signature(secret, Some(token), Some(ts), now);
    assert_eq!(
        check(s(v, "x_gitee_token_expected"), ts_ms + 1000),
        Ok(ts_ms)
    );
    let skew = v["max_skew_ms"].as_i64().unwrap();
    assert_eq!(check(s(v, "sign_base64"), ts_ms + skew), Ok(ts_ms));
    assert!(matches!(
        check(s(v, "sign_base64"), ts_ms + skew + 1),
        Err(VerifyError::TimestampTooOld { .. })
    ));
    assert!(matches!(
        check(s(v, "sign_base64"), ts_ms - skew - 1),
        Err(VerifyError::TimestampInFuture { .. })
    ));
    for (name, wrong) in wrongs(v) {
        assert!(check(wrong, ts_ms).is_err(), "{name}");
    }
    // The percent-encoded form is not what Gitee sends (spec 3.4).
    assert!(check(s(v, "url_encoded_form_UNCONFIRMED_in_header"), ts_ms).is_err());
    assert_eq!(
        ci::verify_gitee_signature(secret, Some(s(v, "sign_base64")), None, ts_ms),
        Err(VerifyError::MissingHeader(ci::GITEE_TIMESTAMP))
    );
}

#[test]
fn gitee_signature_header_pair() {
    let v = &vectors()["d2_gitee_sign_header_test"];
    let secret = s(v, "secret");
    let ts = s(v, "x_gitee_timestamp");
    let now: i64 = ts.parse().unwrap();
    assert_eq!(
        ci::verify_gitee_signature(secret, Some(s(v, "x_gitee_token")), Some(ts), now),
        Ok(now)
    );
    // One millisecond off: the signature of another timestamp.
    assert_eq!(
        ci::verify_gitee_signature(
            secret,
            Some(s(v, "x_gitee_token")),
            Some("1633679083917"),
            now
        ),
        Err(VerifyError::BadSignature)
    );
    assert_eq!(
        ci::gitee_sign(secret, "1633679083917"),
        s(v, "wrong_if_timestamp_is_1633679083917")
    );
}

#[test]
fn gitee_password_mode() {
    let v = &vectors()["e_gitee_password_mode"];
    let password = s(v, "configured_password");
    assert_eq!(
        ci::verify_gitee_password(password, Some(s(v, "x_gitee_token"))),
        Ok(())
    );
    assert_eq!(
        ci::verify_gitee_password(password, Some("pwd2")),
        Err(VerifyError::BadToken)
    );
    assert!(ci::verify_gitee_password(password, None).is_err());
}

#[test]
fn gitea_and_forgejo_signatures() {
    let v = &vectors()["f_gitea_forgejo_signature"];
    let (secret, body) = (s(v, "secret"), s(v, "body").as_bytes());
    assert_eq!(
        ci::verify_gitea(secret, None, Some(s(v, "x_gitea_signature")), body),
        Ok(())
    );
    assert_eq!(
        ci::verify_gitea(secret, Some(s(v, "x_forgejo_signature")), None, body),
        Ok(())
    );
    // Gitea's copy in the GitHub header verifies the GitHub way.
    assert_eq!(
        ci::verify_github(secret, Some(s(v, "x_hub_signature_256")), body),
        Ok(())
    );
    assert_eq!(
        ci::verify_github_sha1(secret, Some(s(v, "x_hub_signature")), body),
        Ok(())
    );
    for (name, wrong) in wrongs(v) {
        assert!(
            ci::verify_gitea(secret, None, Some(wrong), body).is_err(),
            "{name}"
        );
    }
    // A good Gitea header never rescues a bad Forgejo one.
    let bad = "0".repeat(64);
    assert_eq!(
        ci::verify_gitea(secret, Some(&bad), Some(s(v, "x_gitea_signature")), body),
        Err(VerifyError::BadSignature)
    );
    // An empty secret makes Gitea send empty headers: refused, never "no check".
    assert!(ci::verify_gitea(secret, None, Some(""), body).is_err());
}

#[test]
fn jenkins_basic_auth() {
    let v = &vectors()["g_jenkins_notification_basic_auth"];
    let auth = s(v, "authorization");
    assert_eq!(
        ci::verify_basic("ackbot", "s3cr3t-token", Some(auth)),
        Ok(())
    );
    assert_eq!(
        ci::verify_basic(
            "ackbot",
            "s3cr3t-token",
            Some(&auth.replace("Basic", "basic"))
        ),
        Ok(())
    );
    assert_eq!(
        ci::verify_basic(
            "ackbot",
            "p@ss",
            Some(s(v, "authorization_if_sender_decodes_percent_escapes"))
        ),
        Ok(())
    );
    assert_eq!(
        ci::verify_basic("ackbot", "other", Some(auth)),
        Err(VerifyError::BadToken)
    );
    assert_eq!(
        ci::verify_basic("someone", "s3cr3t-token", Some(auth)),
        Err(VerifyError::BadToken)
    );
    for bad in ["Bearer s3cr3t-token", "Basic", "Basic !!!", ""] {
        assert!(
            ci::verify_basic("ackbot", "s3cr3t-token", Some(bad)).is_err(),
            "{bad}"
        );
    }
}
