//! The native alert JSON of `POST /api/v1/alerts`.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(raw) = serde_json::from_slice::<&serde_json::value::RawValue>(data) {
        let _ = ackbot::domain::alert::from_raw(raw);
    }
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = ackbot::domain::alert::from_json(value);
    }
});
