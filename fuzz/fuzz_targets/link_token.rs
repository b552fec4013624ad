//! Signed action link tokens (`/a/{token}`): any text, and tokens signed
//! with the right secret around any alert id and action.
#![no_main]
use ackbot::verify::links;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = links::verify(b"fuzz-link-secret", &text, 1_700_000_000);
    let mut parts = text.splitn(2, '\n');
    let (alert, action) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let token = links::sign(b"fuzz-link-secret", alert, action, 1_700_000_100);
    let grant = links::verify(b"fuzz-link-secret", &token, 1_700_000_000);
    // ackbot's actions never contain `:` (the payload's separator).
    if !action.contains(':') {
        let grant = grant.expect("a token we signed verifies");
        assert_eq!(grant.alert_id, alert);
        assert_eq!(grant.action, action);
    }
});
