//! Feishu legacy card callbacks (`/feishu/card`): headers, SHA-1 signature
//! and window on any bytes; with the first byte odd, properly signed.
#![no_main]
use ackbot::verify::feishu::{self, SignatureHeaders};
use libfuzzer_sys::fuzz_target;

const TOKEN: &str = "fuzz-verification-token";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let ts = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let nonce = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let signature: String = feishu::legacy_card_signature(&ts, &nonce, TOKEN, body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let signature = if mode % 2 == 1 {
        signature
    } else {
        nonce.clone()
    };
    let headers = SignatureHeaders {
        timestamp: Some(&ts),
        nonce: Some(&nonce),
        signature: Some(&signature),
    };
    if feishu::verify_legacy_card(TOKEN, &headers, body, 1_700_000_000, 3600).is_ok() {
        let _ = serde_json::from_slice::<serde_json::Value>(body);
    }
});
