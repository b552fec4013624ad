//! DingTalk robot and card callbacks: the `timestamp`/`sign` headers and
//! their window, then the bodies the handlers parse after verification.
#![no_main]
use ackbot::verify::dingtalk;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let ts = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let sign = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let body = parts.next().unwrap_or_default();
    let now = 1_700_000_000_000;
    let _ = dingtalk::verify_robot_callback(Some(&ts), Some(&sign), "secret", now, 3_600_000);
    let _ = dingtalk::verify_card_callback(Some(&ts), Some(&sign), "secret", now, 3_600_000);
    // Properly signed: the window is what decides.
    let good = dingtalk::robot_sign(&ts, "secret");
    let _ = dingtalk::verify_robot_callback(Some(&ts), Some(&good), "secret", now, 3_600_000);
    ackbot::inbound::dingtalk::parse_bodies(body);
});
