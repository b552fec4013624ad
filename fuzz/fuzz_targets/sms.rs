//! What SMS and voice providers send back in: Twilio status callbacks (a
//! form body, its signature over a URL with a query) and the providers'
//! answers as their channels read them (Alibaba `Code`, Tencent
//! `Response.Error` / `SendStatusSet`, Twilio `code`). Input: a mode byte,
//! then the bytes.
#![no_main]
use ackbot::outbound::{aliyun, tencent, twilio};
use ackbot::verify::sms::{form_pairs, twilio_valid};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    match mode % 3 {
        0 => {
            let pairs = form_pairs(&text);
            let params: Vec<(&str, &str)> =
                pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let (url, header) = text.split_once('\n').unwrap_or((&text, ""));
            let _ = twilio_valid("token", url, &params, header);
            let _ = ackbot::inbound::twilio::unreached(&text);
        }
        1 => {
            // The codes a provider's answer carries, however odd.
            let _ = aliyun::classify(&text);
            let _ = tencent::classify(&text);
            let _ = twilio::classify(u16::from(mode), text.parse().ok());
        }
        _ => {
            let page = ackbot::outbound::page::clean(&text, usize::from(mode));
            assert!(page.chars().count() <= usize::from(mode));
            assert!(!page.contains("://"));
        }
    }
});
