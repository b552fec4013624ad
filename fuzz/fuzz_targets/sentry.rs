//! The Sentry protocol: the auth header, query and DSN readers, the
//! envelope parser, then every item through the event and check-in readers,
//! the grouping and the alert it would become. Also the decompressors, on
//! any body. Input: a mode byte, then `header\nbody`.
#![no_main]
use ackbot::ingest::decode::{Encoding, decode};
use ackbot::ingest::sentry::{alert, checkin, envelope, event, group};
use ackbot::verify::sentry as auth;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (header, body) = match rest.iter().position(|b| *b == b'\n') {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&rest[..0], rest),
    };
    let header = String::from_utf8_lossy(header);
    let _ = auth::public_key(Some(&header), &header, Some(&header));
    let _ = auth::matching_key(&header, &["0123456789abcdef0123456789abcdef"]);
    let bytes = bytes::Bytes::copy_from_slice(body);
    let encoding = [
        Encoding::Identity,
        Encoding::Gzip,
        Encoding::Deflate,
        Encoding::Brotli,
    ][usize::from(mode % 4)];
    let Ok(decoded) = decode(&bytes, encoding, 1 << 20) else {
        return;
    };
    assert!(decoded.len() <= 1 << 20);
    let labels = Default::default();
    let project = alert::Project {
        id: 42,
        service: Some("shop"),
        environment: "production",
        labels: &labels,
        resolve_after_secs: 60,
    };
    let mut payloads = vec![("event".to_string(), &decoded[..])];
    if let Ok(env) = envelope::parse(&decoded) {
        payloads.extend(env.items.iter().map(|i| (i.kind.clone(), i.payload)));
    }
    for (kind, payload) in payloads {
        if kind == "check_in" {
            let _ = checkin::parse(payload);
        } else if let Ok(ev) = event::parse(payload) {
            let key = group::group_key(42, &ev);
            let a = alert::to_alert(&project, &ev, &key);
            assert!(a.title.len() <= ackbot::domain::alert::MAX_TITLE_LEN);
            assert!(a.content.len() <= ackbot::domain::alert::MAX_CONTENT_LEN);
        }
    }
});
