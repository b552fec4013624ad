//! The Sentry envelope framing (spec 1.4), as Relay reads it: a JSON header
//! line, then items of a JSON header line and a payload. A payload is
//! `length` bytes when the item header says so (Python, Rust) and runs to
//! the next newline otherwise (`@sentry/node` sends no `length`, and no
//! final newline either).
//!
//! Items are only framed here, never read: each comes back with its type,
//! known or not, because an SDK must never see a 400 for an item type ackbot
//! does not use (spec 1.5). What the framing cannot forgive is an error:
//! a header that is not a JSON object, a `length` longer than the rest of
//! the body, bytes after a payload where the newline should be, and more
//! than [`MAX_ITEMS`] items.

use serde::Deserialize;

use super::lenient;

/// Items read from one envelope; more is refused (spec 1.13).
pub const MAX_ITEMS: usize = 100;

/// One framed envelope; payloads borrow the decoded body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The header's `event_id`, as 32 lowercase hex digits (Rust sends it
    /// dashed); `None` when absent or not a UUID.
    pub event_id: Option<String>,
    /// The header's `dsn` (self-authenticated envelopes, `sentry-go`).
    pub dsn: Option<String>,
    pub items: Vec<Item<'a>>,
}

/// One item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item<'a> {
    /// The header's `type` (`event`, `check_in`, `session`, …), as sent.
    /// Owned: a JSON string with escapes cannot borrow the body, and the
    /// name is short.
    pub kind: String,
    pub payload: &'a [u8],
}

#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    #[error("the envelope is empty; it must start with a JSON header line")]
    Empty,
    #[error("the envelope header (line 1) is not a JSON object: {0}")]
    Header(String),
    #[error("the header of item {item} is not a JSON object with a string `type`: {reason}")]
    ItemHeader { item: usize, reason: String },
    #[error("a header ends at byte {at} but is followed by something other than a newline")]
    NoNewline { at: usize },
    #[error("item {item} says it is {length} bytes long but only {left} bytes follow its header")]
    Truncated {
        item: usize,
        length: u64,
        left: usize,
    },
    #[error("item {item} is followed by something other than a newline after its {length} bytes")]
    Trailing { item: usize, length: u64 },
    #[error("the envelope has more than {MAX_ITEMS} items")]
    TooManyItems,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct EnvelopeHeader {
    #[serde(deserialize_with = "lenient::text")]
    event_id: Option<String>,
    #[serde(deserialize_with = "lenient::text")]
    dsn: Option<String>,
}

#[derive(Deserialize)]
struct ItemHeader {
    #[serde(rename = "type")]
    kind: String,
    /// `null` is read as absent; anything but a byte count is an error.
    #[serde(default)]
    length: Option<u64>,
}

/// Frames `buf`, the decoded body (spec 1.4's decoder algorithm).
pub fn parse(buf: &[u8]) -> Result<Envelope<'_>, EnvelopeError> {
    if buf.is_empty() {
        return Err(EnvelopeError::Empty);
    }
    let (header, mut pos) =
        json_line::<EnvelopeHeader>(buf, 0).map_err(|e| EnvelopeError::Header(e.reason()))?;
    pos = after_line(buf, pos)?;
    let mut items = Vec::new();
    while pos < buf.len() {
        // One empty trailing line is tolerated.
        if &buf[pos..] == b"\n" {
            break;
        }
        if items.len() == MAX_ITEMS {
            return Err(EnvelopeError::TooManyItems);
        }
        let n = items.len() + 1;
        let (ih, at) =
            json_line::<ItemHeader>(buf, pos).map_err(|e| EnvelopeError::ItemHeader {
                item: n,
                reason: e.reason(),
            })?;
        pos = after_line(buf, at)?;
        let payload = match ih.length {
            Some(length) => {
                let left = buf.len() - pos;
                let end = usize::try_from(length)
                    .ok()
                    .and_then(|l| pos.checked_add(l))
                    .filter(|&end| end <= buf.len())
                    .ok_or(EnvelopeError::Truncated {
                        item: n,
                        length,
                        left,
                    })?;
                let payload = &buf[pos..end];
                pos = match buf.get(end) {
                    None => end,
                    Some(b'\n') => end + 1,
                    Some(_) => return Err(EnvelopeError::Trailing { item: n, length }),
                };
                payload
            }
            None => {
                let end = newline(buf, pos).unwrap_or(buf.len());
                let payload = &buf[pos..end];
                pos = (end + 1).min(buf.len());
                payload
            }
        };
        items.push(Item {
            kind: ih.kind,
            payload,
        });
    }
    Ok(Envelope {
        event_id: header.event_id.as_deref().and_then(normalize_uuid),
        dsn: header.dsn.filter(|d| !d.trim().is_empty()),
        items,
    })
}

/// A UUID as 32 lowercase hex digits: from 32 hex digits, or 36 characters
/// with dashes at 8, 13, 18 and 23 (spec 1.4 rule 8).
pub fn normalize_uuid(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let hex: String = match b.len() {
        32 => s.to_string(),
        36 if [8, 13, 18, 23].iter().all(|&i| b[i] == b'-') => {
            s.chars().filter(|&c| c != '-').collect()
        }
        _ => return None,
    };
    (hex.len() == 32 && hex.bytes().all(|c| c.is_ascii_hexdigit()))
        .then(|| hex.to_ascii_lowercase())
}

/// Why a header line could not be read.
enum LineError {
    NotObject,
    Eof,
    Json(serde_json::Error),
}

impl LineError {
    fn reason(&self) -> String {
        match self {
            Self::NotObject => "it does not start with `{`".into(),
            Self::Eof => "the envelope ends where a header should be".into(),
            // serde_json's messages name a position and at most a short
            // scalar of the header (`invalid type: string "2"`); the
            // sender's own bytes, never a payload.
            Self::Json(e) => e.to_string(),
        }
    }
}

/// The JSON object starting exactly at `pos` and the offset just after it.
/// The object must start at `pos` (no leading whitespace: an empty line is
/// not a header).
fn json_line<'a, T: Deserialize<'a>>(buf: &'a [u8], pos: usize) -> Result<(T, usize), LineError> {
    match buf.get(pos) {
        None => return Err(LineError::Eof),
        Some(b'{') => {}
        Some(_) => return Err(LineError::NotObject),
    }
    let mut stream = serde_json::Deserializer::from_slice(&buf[pos..]).into_iter::<T>();
    match stream.next() {
        Some(Ok(v)) => Ok((v, pos + stream.byte_offset())),
        Some(Err(e)) => Err(LineError::Json(e)),
        None => Err(LineError::Eof),
    }
}

/// After a header ending at `at`: the start of the next line, which must
/// follow a `\n` (or the end of the body).
fn after_line(buf: &[u8], at: usize) -> Result<usize, EnvelopeError> {
    match buf.get(at) {
        None => Ok(at),
        Some(b'\n') => Ok(at + 1),
        Some(_) => Err(EnvelopeError::NoNewline { at }),
    }
}

fn newline(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..]
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::ingest::sentry::capture_envelope as envelope_bytes;

    fn kinds<'a>(env: &'a Envelope<'a>) -> Vec<&'a str> {
        env.items.iter().map(|i| i.kind.as_str()).collect()
    }

    #[test]
    fn every_sentry_capture_frames() {
        let cases: &[(&str, &[&str])] = &[
            (
                "sentry-node-envelope-checkin-in-progress.decoded.txt",
                &["check_in"],
            ),
            ("sentry-node-envelope-checkin-ok.decoded.txt", &["check_in"]),
            ("sentry-node-envelope-exception.decoded.txt", &["event"]),
            ("sentry-node-envelope-message.decoded.txt", &["event"]),
            ("sentry-node-envelope-session.decoded.txt", &["session"]),
            ("sentry-node-envelope-span-v2.decoded.txt", &["span"]),
            (
                "sentry-python-envelope-checkin-error.decoded.txt",
                &["check_in"],
            ),
            (
                "sentry-python-envelope-checkin-in-progress.decoded.txt",
                &["check_in"],
            ),
            (
                "sentry-python-envelope-client-report-after-429.decoded.txt",
                &["client_report"],
            ),
            (
                "sentry-python-envelope-exception-br.decoded.txt",
                &["event"],
            ),
            ("sentry-python-envelope-exception.decoded.txt", &["event"]),
            (
                "sentry-python-envelope-logging-logentry.decoded.txt",
                &["event"],
            ),
            ("sentry-python-envelope-message.decoded.txt", &["event"]),
            ("sentry-python-envelope-sessions.decoded.txt", &["sessions"]),
            (
                "sentry-python-envelope-transaction.decoded.txt",
                &["transaction"],
            ),
            (
                "sentry-python-envelope-wsgi-unhandled-request.decoded.txt",
                &["event"],
            ),
            ("sentry-rust-envelope-capture-error.txt", &["event"]),
            ("sentry-rust-envelope-log.txt", &["log"]),
            ("sentry-rust-envelope-panic.txt", &["event"]),
            ("sentry-rust-envelope-tracing-error-event.txt", &["event"]),
            ("sentry-rust-envelope-transaction.txt", &["transaction"]),
        ];
        for (name, want) in cases {
            let buf = envelope_bytes(name);
            let env = parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(kinds(&env), *want, "{name}");
            for item in &env.items {
                // Every captured payload is one JSON object.
                assert_eq!(item.payload.first(), Some(&b'{'), "{name}");
                assert_eq!(item.payload.last(), Some(&b'}'), "{name}");
            }
        }
    }

    #[test]
    fn python_item_has_exactly_its_length() {
        let buf = envelope_bytes("sentry-python-envelope-exception.decoded.txt");
        let env = parse(&buf).unwrap();
        assert_eq!(
            env.event_id.as_deref(),
            Some("ce522237773245a2b92ff9a3d59b4f2e")
        );
        assert_eq!(env.dsn, None);
        assert_eq!(env.items[0].payload.len(), 3377);
    }

    #[test]
    fn rust_dashed_event_id_is_undashed() {
        let buf = envelope_bytes("sentry-rust-envelope-panic.txt");
        let env = parse(&buf).unwrap();
        assert_eq!(
            env.event_id.as_deref(),
            Some("84658415d34248b0beb7d9d6dc69c154")
        );
        assert_eq!(env.items[0].payload.len(), 11541);
    }

    #[test]
    fn node_items_without_length_and_without_final_newline() {
        let buf = envelope_bytes("sentry-node-envelope-exception.decoded.txt");
        assert_ne!(buf.last(), Some(&b'\n'));
        let env = parse(&buf).unwrap();
        assert_eq!(
            env.event_id.as_deref(),
            Some("77595c262d124c93bfddd9ce8d5931e4")
        );
        let p = env.items[0].payload;
        assert!(p.starts_with(b"{\"exception\""));
        assert_eq!(
            p.as_ptr_range().end,
            buf.as_ptr_range().end,
            "runs to the end"
        );
    }

    #[test]
    fn the_log_item_without_length_runs_to_its_newline() {
        let buf = envelope_bytes("sentry-rust-envelope-log.txt");
        let env = parse(&buf).unwrap();
        assert_eq!(env.event_id, None);
        assert_eq!(env.items.len(), 1);
        // `{}` line (3), item header line (85), payload, final newline.
        assert_eq!(buf.len(), 1763);
        assert_eq!(env.items[0].payload.len(), 1674);
    }

    #[test]
    fn length_exact_with_and_without_newline() {
        let env = parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}\n").unwrap();
        assert_eq!(env.items[0].payload, b"{}");
        let env = parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}").unwrap();
        assert_eq!(env.items[0].payload, b"{}");
        // A payload with a length may hold newlines.
        let env = parse(b"{}\n{\"type\":\"attachment\",\"length\":3}\na\nb\n").unwrap();
        assert_eq!(env.items[0].payload, b"a\nb");
        // Zero bytes.
        let env = parse(b"{}\n{\"type\":\"attachment\",\"length\":0}\n\n").unwrap();
        assert_eq!(env.items[0].payload, b"");
        // `length: null` is no length.
        let env = parse(b"{}\n{\"type\":\"event\",\"length\":null}\n{\"a\":1}\n").unwrap();
        assert_eq!(env.items[0].payload, b"{\"a\":1}");
    }

    #[test]
    fn length_longer_than_the_body_is_malformed() {
        let e = parse(b"{}\n{\"type\":\"event\",\"length\":10}\n{}\n").unwrap_err();
        assert!(
            matches!(
                e,
                EnvelopeError::Truncated {
                    item: 1,
                    length: 10,
                    left: 3
                }
            ),
            "{e}"
        );
        let e = parse(b"{}\n{\"type\":\"event\",\"length\":18446744073709551615}\n{}").unwrap_err();
        assert!(matches!(e, EnvelopeError::Truncated { .. }), "{e}");
    }

    #[test]
    fn garbage_after_a_payload_is_malformed() {
        let e = parse(b"{}\n{\"type\":\"event\",\"length\":2}\n{}xx\n").unwrap_err();
        assert!(
            matches!(e, EnvelopeError::Trailing { item: 1, length: 2 }),
            "{e}"
        );
        // After a header line too, and a `\r` is not a newline.
        let e = parse(b"{} x\n").unwrap_err();
        assert!(matches!(e, EnvelopeError::NoNewline { at: 2 }), "{e}");
        let e = parse(b"{}\r\n{\"type\":\"event\"}\n{}").unwrap_err();
        assert!(matches!(e, EnvelopeError::NoNewline { at: 2 }), "{e}");
    }

    #[test]
    fn empty_envelopes_are_valid() {
        for body in [&b"{}"[..], b"{}\n", b"{}\n\n"] {
            let env = parse(body).unwrap();
            assert!(env.items.is_empty());
            assert_eq!(env.event_id, None);
        }
        assert!(matches!(parse(b"").unwrap_err(), EnvelopeError::Empty));
    }

    #[test]
    fn only_one_empty_trailing_line_is_tolerated() {
        let env = parse(b"{}\n{\"type\":\"event\"}\n{}\n\n").unwrap();
        assert_eq!(env.items.len(), 1);
        let e = parse(b"{}\n{\"type\":\"event\"}\n{}\n\n\n").unwrap_err();
        assert!(
            matches!(e, EnvelopeError::ItemHeader { item: 2, .. }),
            "{e}"
        );
    }

    #[test]
    fn headers_must_be_json_objects_with_a_type() {
        assert!(matches!(
            parse(b"[]\n").unwrap_err(),
            EnvelopeError::Header(_)
        ));
        assert!(matches!(
            parse(b"{\"event_id\":\n").unwrap_err(),
            EnvelopeError::Header(_)
        ));
        assert!(matches!(
            parse(b"not json").unwrap_err(),
            EnvelopeError::Header(_)
        ));
        for body in [
            &b"{}\n{\"length\":2}\n{}"[..],
            b"{}\n{\"type\":3}\n{}",
            b"{}\n{\"type\":\"event\",\"length\":\"2\"}\n{}",
            b"{}\n{\"type\":\"event\",\"length\":-1}\n{}",
            b"{}\n[\"event\"]\n{}",
        ] {
            let e = parse(body).unwrap_err();
            assert!(
                matches!(e, EnvelopeError::ItemHeader { item: 1, .. }),
                "{e}"
            );
        }
    }

    #[test]
    fn header_fields_of_the_wrong_type_are_absent() {
        let env = parse(b"{\"event_id\":42,\"dsn\":false,\"sent_at\":[1]}\n").unwrap();
        assert_eq!((env.event_id, env.dsn), (None, None));
        let env = parse(b"{\"event_id\":\"not-a-uuid\",\"dsn\":\"https://k@h/1\"}").unwrap();
        assert_eq!(env.event_id, None);
        assert_eq!(env.dsn.as_deref(), Some("https://k@h/1"));
    }

    #[test]
    fn unknown_item_types_are_kept() {
        let env = parse(
            b"{\"event_id\":\"9ec79c33ec9942ab8353589fcb2e04dc\"}\n\
              {\"type\":\"future_thing\",\"length\":5}\nhello\n\
              {\"type\":\"event\"}\n{}\n",
        )
        .unwrap();
        assert_eq!(kinds(&env), ["future_thing", "event"]);
        assert_eq!(env.items[0].payload, b"hello");
    }

    #[test]
    fn at_most_max_items() {
        let mut body = b"{}\n".to_vec();
        for _ in 0..MAX_ITEMS {
            body.extend_from_slice(b"{\"type\":\"session\"}\n{}\n");
        }
        assert_eq!(parse(&body).unwrap().items.len(), MAX_ITEMS);
        body.extend_from_slice(b"{\"type\":\"session\"}\n{}\n");
        assert!(matches!(
            parse(&body).unwrap_err(),
            EnvelopeError::TooManyItems
        ));
    }

    #[test]
    fn uuids_normalize() {
        let want = Some("84658415d34248b0beb7d9d6dc69c154".to_string());
        assert_eq!(normalize_uuid("84658415-d342-48b0-beb7-d9d6dc69c154"), want);
        assert_eq!(normalize_uuid("84658415D34248B0BEB7D9D6DC69C154"), want);
        assert_eq!(normalize_uuid("84658415d34248b0beb7d9d6dc69c154"), want);
        assert_eq!(normalize_uuid("84658415-d342-48b0-beb7-d9d6dc69c15"), None);
        assert_eq!(normalize_uuid("84658415xd342x48b0xbeb7xd9d6dc69c154"), None);
        assert_eq!(normalize_uuid("84658415-d342-48b0-beb7-d9d6dc69c1zz"), None);
        assert_eq!(normalize_uuid("8465841-5d342-48b0-beb7-d9d6dc69c154"), None);
        assert_eq!(normalize_uuid(""), None);
        // Multi-byte characters of the right byte length are not hex.
        assert_eq!(normalize_uuid("é84658415d34248b0beb7d9d6dc69c15"), None);
    }
}
