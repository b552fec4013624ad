//! Property tests of the error and log parsers: what a sender may frame in
//! any legal way comes back as sent, and no input panics them.

use proptest::collection::vec;
use proptest::prelude::*;

use super::loki::{self, Limits};
use super::sentry::envelope;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// An item: its type and a payload; `sized` items carry a `length` (and
/// may then hold newlines).
fn item() -> impl Strategy<Value = (String, Vec<u8>, bool)> {
    (
        prop_oneof![
            Just("event".to_string()),
            Just("check_in".to_string()),
            Just("session".to_string()),
            "[a-z_]{1,12}"
        ],
        vec(any::<u8>(), 0..200),
        any::<bool>(),
    )
        .prop_map(|(kind, mut payload, sized)| {
            if !sized {
                payload.retain(|b| *b != b'\n');
            }
            (kind, payload, sized)
        })
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn envelopes_framed_any_legal_way_read_back_as_sent(
        items in vec(item(), 0..8),
        trailing_newline in any::<bool>(),
    ) {
        let mut buf = b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}".to_vec();
        for (kind, payload, sized) in &items {
            buf.push(b'\n');
            let header = if *sized {
                serde_json::json!({"type": kind, "length": payload.len()})
            } else {
                serde_json::json!({"type": kind})
            };
            buf.extend(serde_json::to_vec(&header).unwrap());
            buf.push(b'\n');
            buf.extend(payload);
        }
        if trailing_newline {
            buf.push(b'\n');
        }
        let env = envelope::parse(&buf).unwrap();
        prop_assert_eq!(env.event_id.as_deref(), Some("9ec79c33ec9942ab8353589fcb2e04dc"));
        // An empty unsized last payload and the optional final newline
        // cannot be told apart: such an item may read as absent.
        let got: Vec<(String, Vec<u8>)> =
            env.items.iter().map(|i| (i.kind.clone(), i.payload.to_vec())).collect();
        let want: Vec<(String, Vec<u8>)> =
            items.iter().map(|(k, p, _)| (k.clone(), p.clone())).collect();
        prop_assert!(got == want || (got.len() + 1 == want.len() && want.last().unwrap().1.is_empty()),
            "{:?} vs {:?}", got, want);
    }

    #[test]
    fn no_bytes_panic_the_readers(body in vec(any::<u8>(), 0..512)) {
        let _ = envelope::parse(&body);
        let _ = super::sentry::event::parse(&body);
        let _ = super::sentry::checkin::parse(&body);
        let limits = Limits { max_decoded: 1 << 16, ..Limits::default() };
        for format in [loki::Format::Json, loki::Format::LegacyJson, loki::Format::Protobuf] {
            let _ = loki::decode(&body, format, &limits);
        }
        let _ = loki::parse_label_set(&String::from_utf8_lossy(&body));
        let lines = super::lines::parse(&body, super::lines::LineFormat::Text, 0, &limits).unwrap();
        prop_assert!(lines.len() <= body.split(|b| *b == b'\n').count());
    }

    #[test]
    fn label_sets_and_protobuf_pushes_read_back_as_sent(
        labels in vec(("[a-zA-Z_][a-zA-Z0-9_]{0,10}", "\\PC{0,20}"), 1..6),
        lines in vec("\\PC{0,80}", 1..20),
        seconds in 0i64..4_000_000_000,
        nanos in 0i32..1_000_000_000,
    ) {
        let mut labels = labels;
        labels.sort();
        labels.dedup_by(|a, b| a.0 == b.0);
        let text = format!(
            "{{{}}}",
            labels
                .iter()
                .map(|(k, v)| format!("{k}={}", serde_json::to_string(v).unwrap()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let mut parsed = loki::parse_label_set(&text).unwrap();
        parsed.sort();
        prop_assert_eq!(&parsed, &labels);
        let push = loki::PushRequest {
            streams: vec![loki::StreamAdapter {
                labels: text,
                entries: lines
                    .iter()
                    .map(|l| loki::EntryAdapter {
                        timestamp: Some(loki::Timestamp { seconds, nanos }),
                        line: l.as_bytes().to_vec(),
                        structured_metadata: vec![],
                        parsed: vec![],
                    })
                    .collect(),
                hash: 0,
            }],
            format: String::new(),
        };
        let raw = prost::Message::encode_to_vec(&push);
        let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        let streams = loki::decode(&body, loki::Format::Protobuf, &Limits::default()).unwrap();
        prop_assert_eq!(streams.len(), 1);
        let got: Vec<&str> = streams[0].entries.iter().map(|e| e.line.as_str()).collect();
        prop_assert_eq!(got, lines.iter().map(String::as_str).collect::<Vec<_>>());
        prop_assert_eq!(streams[0].entries[0].ts_ns, seconds * 1_000_000_000 + i64::from(nanos));
    }

    #[test]
    fn the_sentry_key_is_found_whatever_the_pair_order(
        key in "[0-9a-f]{32}",
        order in Just(vec![0usize, 1, 2]).prop_shuffle(),
        spaces in "[ ]{0,2}",
    ) {
        let pairs = [
            format!("sentry_key={key}"),
            "sentry_version=7".to_string(),
            "sentry_client=test/1.0".to_string(),
        ];
        let header = format!(
            "Sentry {}",
            order.iter().map(|i| pairs[*i].clone()).collect::<Vec<_>>().join(&format!(",{spaces}"))
        );
        prop_assert_eq!(crate::verify::sentry::public_key(Some(&header), "", None).unwrap(), key);
    }
}
