//! WeCom callbacks: `msg_signature` over the sorted fields, AES-256-CBC
//! decryption with the receive id trailer, and the XML the handler parses.
#![no_main]
use ackbot::verify::wecom;
use libfuzzer_sys::fuzz_target;

const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let ts = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let nonce = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let signature = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let text = String::from_utf8_lossy(body);
    let _ = wecom::verify_signature("token", &ts, &nonce, &text, &signature);
    let cipher = wecom::Cipher::new(AES_KEY).expect("a valid key");
    let _ = cipher.decrypt(&text, "");
    // Our own ciphertext of the fuzz input: decryption succeeds and the
    // plaintext reaches the XML parse, as after a genuine request.
    let sealed = cipher.encrypt(body, &nonce, [7; 16]);
    if let Ok(plain) = cipher.decrypt(&sealed, &nonce) {
        assert_eq!(plain, body);
    }
    ackbot::inbound::wecom::parse_bodies(body);
});
