//! The chat command grammar (`ack 3f2a`, `silence {team=~"db"} 1h`, …).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = ackbot::act::commands::parse(&text);
    let _ = ackbot::interaction::strip_leading_mentions(&text);
});
