//! Micro-benchmarks of the pure verification functions in `ackbot::verify`.
//!
//! Run with `cargo bench --bench verify`. Every input is built (signed and
//! encrypted) once, outside the timed loop, and checked to verify successfully,
//! so each benchmark times the accepting path of exactly one verify call.
//!
//! Issue target: Feishu signature check + decrypt of a 1 KB callback
//! (`feishu/open_event/card_action_1k`) under 5 µs on the 2-core dev machine.

use std::hint::black_box;

use ackbot::verify::feishu::{self, SignatureHeaders};
use ackbot::verify::{dingtalk, wecom};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A fixed "now" (seconds); every timestamp below equals it.
const NOW_SECS: i64 = 1_700_000_000;
const TOLERANCE_SECS: i64 = 3600;
/// Size of the plaintext payloads ("a 1 KB callback").
const PAYLOAD_BYTES: usize = 1024;

const FEISHU_TOKEN: &str = "bench-token";
const FEISHU_ENCRYPT_KEY: &str = "bench-encrypt-key";
const NONCE: &str = "bench-nonce-0001";

/// Pads `template` to exactly `PAYLOAD_BYTES` by filling its `@PAD@` placeholder
/// (inside a string field) with `x`s.
fn pad_to_size(template: &str) -> String {
    let base = template.replace("@PAD@", "");
    assert!(
        base.len() <= PAYLOAD_BYTES,
        "template is already {} bytes",
        base.len()
    );
    let out = template.replace("@PAD@", &"x".repeat(PAYLOAD_BYTES - base.len()));
    assert_eq!(out.len(), PAYLOAD_BYTES);
    out
}

/// A schema 2.0 `card.action.trigger` envelope, 1 KB, shaped like
/// `tests/vectors/feishu-vectors.json` `f_signed_encrypted_card_action.plaintext`.
fn feishu_card_action_plaintext() -> String {
    let template = format!(
        concat!(
            r#"{{"schema":"2.0","header":{{"event_id":"evt-bench-1","token":"{token}","#,
            r#""create_time":"1700000000000000","event_type":"card.action.trigger","#,
            r#""tenant_key":"tenant-bench","app_id":"cli_bench"}},"event":{{"operator":"#,
            r#"{{"open_id":"ou_bench_user","user_id":"u_bench","union_id":"on_bench"}},"#,
            r#""token":"c-bench-update-token","action":{{"tag":"button","value":"#,
            r#"{{"action":"ack","alert_id":"A-42","note":"@PAD@"}}}},"host":"im_message","#,
            r#""context":{{"open_message_id":"om_bench_msg","open_chat_id":"oc_bench_chat"}}}}}}"#
        ),
        token = FEISHU_TOKEN
    );
    let out = pad_to_size(&template);
    serde_json::from_str::<serde_json::Value>(&out).expect("valid JSON");
    out
}

fn bench_feishu(c: &mut Criterion) {
    let plaintext = feishu_card_action_plaintext();
    let key = feishu::EncryptKey::new(FEISHU_ENCRYPT_KEY);
    let encrypt = key
        .cipher()
        .encrypt(plaintext.as_bytes(), *b"0123456789abcdef");
    let body = serde_json::to_vec(&serde_json::json!({ "encrypt": encrypt })).unwrap();
    let ts = NOW_SECS.to_string();
    let sig = hex::encode(feishu::event_signature(
        &ts,
        NONCE,
        FEISHU_ENCRYPT_KEY,
        &body,
    ));
    let headers = SignatureHeaders {
        timestamp: Some(&ts),
        nonce: Some(NONCE),
        signature: Some(&sig),
    };
    let keys = feishu::EventKeys {
        encrypt_key: Some(key.clone()),
        tolerance_secs: TOLERANCE_SECS,
    };

    let (opened, auth) =
        feishu::open_event(&keys, &headers, &body, NOW_SECS).expect("bench input verifies");
    assert_eq!(opened, plaintext.as_bytes());
    assert_eq!(
        auth,
        feishu::Authenticity::Signed {
            timestamp_secs: NOW_SECS
        }
    );
    eprintln!(
        "feishu card.action.trigger: plaintext {} B, HTTP body {} B",
        plaintext.len(),
        body.len()
    );

    let mut g = c.benchmark_group("feishu");
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("open_event/card_action_1k", |b| {
        b.iter(|| {
            feishu::open_event(
                black_box(&keys),
                black_box(&headers),
                black_box(&body),
                NOW_SECS,
            )
            .unwrap()
        })
    });

    // Decryption alone, the same 1 KB payload (base64 of IV ‖ ciphertext).
    let cipher = key.cipher().clone();
    assert_eq!(cipher.decrypt(&encrypt).unwrap(), plaintext.as_bytes());
    g.throughput(Throughput::Bytes(plaintext.len() as u64));
    g.bench_function("cipher_decrypt/1k", |b| {
        b.iter(|| cipher.decrypt(black_box(&encrypt)).unwrap())
    });

    // Legacy message-card callback: SHA-1 over a plain (unencrypted) 1 KB body.
    let legacy_body = pad_to_size(
        r#"{"open_id":"ou_bench_user","user_id":"u_bench","open_message_id":"om_bench_msg","open_chat_id":"oc_bench_chat","tenant_key":"tenant-bench","token":"c-bench-update-token","action":{"tag":"button","value":{"action":"ack","alert_id":"A-42","note":"@PAD@"}}}"#,
    );
    let legacy_sig = hex::encode(feishu::legacy_card_signature(
        &ts,
        NONCE,
        FEISHU_TOKEN,
        legacy_body.as_bytes(),
    ));
    let legacy_headers = SignatureHeaders {
        timestamp: Some(&ts),
        nonce: Some(NONCE),
        signature: Some(&legacy_sig),
    };
    assert_eq!(
        feishu::verify_legacy_card(
            FEISHU_TOKEN,
            &legacy_headers,
            legacy_body.as_bytes(),
            NOW_SECS,
            TOLERANCE_SECS
        ),
        Ok(NOW_SECS)
    );
    g.throughput(Throughput::Bytes(legacy_body.len() as u64));
    g.bench_function("verify_legacy_card/1k", |b| {
        b.iter(|| {
            feishu::verify_legacy_card(
                black_box(FEISHU_TOKEN),
                black_box(&legacy_headers),
                black_box(legacy_body.as_bytes()),
                NOW_SECS,
                TOLERANCE_SECS,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn bench_dingtalk(c: &mut Criterion) {
    let secret = "bench-dingtalk-app-secret-0123456789abcdefghijklmnopqrstuvwxyzABCD";
    let now_ms = NOW_SECS * 1000;
    let ts = now_ms.to_string();
    let sign = dingtalk::robot_sign(&ts, secret);
    assert_eq!(
        dingtalk::verify_robot_callback(
            Some(&ts),
            Some(&sign),
            secret,
            now_ms,
            dingtalk::TIMESTAMP_TOLERANCE_MS
        ),
        Ok(now_ms)
    );
    let mut g = c.benchmark_group("dingtalk");
    g.bench_function("verify_robot_callback", |b| {
        b.iter(|| {
            dingtalk::verify_robot_callback(
                black_box(Some(ts.as_str())),
                black_box(Some(sign.as_str())),
                black_box(secret),
                now_ms,
                dingtalk::TIMESTAMP_TOLERANCE_MS,
            )
            .unwrap()
        })
    });
    g.finish();
}

fn bench_wecom(c: &mut Criterion) {
    let token = "bench-wecom-token";
    let aes_key = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
    let receive_id = "ww_bench_corp";
    let cipher = wecom::Cipher::new(aes_key).expect("43 alphanumerics");
    let msg = pad_to_size(
        "<xml><ToUserName><![CDATA[ww_bench_corp]]></ToUserName><FromUserName><![CDATA[bench_user]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ack A-42 @PAD@]]></Content><MsgId>1234567890123456</MsgId><AgentID>1000002</AgentID></xml>",
    );
    let encrypted = cipher.encrypt(msg.as_bytes(), receive_id, *b"fedcba9876543210");
    let ts = NOW_SECS.to_string();
    let signature = hex::encode(wecom::msg_signature(token, &ts, NONCE, &encrypted));
    wecom::verify_signature(token, &ts, NONCE, &encrypted, &signature)
        .expect("bench input verifies");
    assert_eq!(
        cipher.decrypt(&encrypted, receive_id).unwrap(),
        msg.as_bytes()
    );

    let mut g = c.benchmark_group("wecom");
    g.throughput(Throughput::Bytes(msg.len() as u64));
    g.bench_function("verify_signature+decrypt/1k", |b| {
        b.iter(|| {
            wecom::verify_signature(
                black_box(token),
                black_box(&ts),
                black_box(NONCE),
                black_box(&encrypted),
                black_box(&signature),
            )
            .unwrap();
            cipher
                .decrypt(black_box(&encrypted), black_box(receive_id))
                .unwrap()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_feishu, bench_dingtalk, bench_wecom);
criterion_main!(benches);
