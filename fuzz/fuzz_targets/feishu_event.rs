//! Feishu events: the envelope, its signature and window, AES-256-CBC
//! decryption, and the typed parse of the plaintext, on any bytes. With the
//! first byte odd, the request is signed properly, so that everything after
//! the signature is reached too.
#![no_main]
use ackbot::verify::feishu::{self, EncryptKey, EventKeys, SignatureHeaders};
use libfuzzer_sys::fuzz_target;

const KEY: &str = "fuzz-encrypt-key";
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut parts = rest.splitn(3, |b| *b == b'\n');
    let ts = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let nonce = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let keys = EventKeys {
        encrypt_key: Some(EncryptKey::new(KEY)),
        tolerance_secs: 3600,
    };
    let signature = hex(&feishu::event_signature(&ts, &nonce, KEY, body));
    let headers = match mode % 3 {
        0 => SignatureHeaders {
            timestamp: None,
            nonce: None,
            signature: None,
        },
        1 => SignatureHeaders {
            timestamp: Some(&ts),
            nonce: Some(&nonce),
            signature: Some(&signature),
        },
        _ => SignatureHeaders {
            timestamp: Some(&ts),
            nonce: None,
            signature: Some(&nonce),
        },
    };
    if let Ok((plain, _)) = feishu::open_event(&keys, &headers, body, NOW) {
        let _ = serde_json::from_slice::<serde_json::Value>(&plain);
    }
    let _ = feishu::Cipher::new(KEY).decrypt(&String::from_utf8_lossy(body));
    let _ = feishu::looks_like_event_signature(&nonce);
});

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
