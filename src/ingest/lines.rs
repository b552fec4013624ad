//! Bodies of ackbot's own line endpoint, `POST /api/v1/logs`
//! (`../shared/spec/errors-and-logs.md` 2.9): for `curl --data-binary
//! @app.log`, Vector's `http` sink and scripts that have no Loki client.
//! Pure, like [`super::loki`], and never refuses a body for one odd line:
//! a sender would drop the whole batch.
//!
//! Two formats ([`format_for`]):
//! - text: one log line per body line, stamped with the receive time;
//! - NDJSON: one JSON object per line, from which `ts`/`time`, `level` and
//!   `msg`/`message` are read; a line that is not a JSON object is kept as a
//!   text line.

use serde_json::{Map, Value};

use super::loki::{Entry, Limits, PushError};

/// Longest `level` value kept (it is matched, not shown).
const MAX_LEVEL: usize = 256;
/// JSON keys read as the entry's time, first present wins.
const TIME_KEYS: [&str; 4] = ["ts", "time", "timestamp", "@timestamp"];
/// JSON keys read as the line's text, first string wins.
const TEXT_KEYS: [&str; 2] = ["msg", "message"];
/// RFC 7464 record separator, which starts every `application/json-seq` record.
const RS: u8 = 0x1e;

/// How a body's lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFormat {
    /// One log line per body line.
    Text,
    /// One JSON object per body line (or a JSON array of them).
    NdJson,
}

/// NDJSON for `application/x-ndjson`, `application/ndjson`,
/// `application/jsonl`, `application/x-jsonl`, `application/jsonlines`,
/// `application/x-jsonlines`, `application/json-seq` (records may start with
/// RS, 0x1E) and `application/json` (one object, objects one per line, or
/// an array of objects, as Vector's `http` sink sends with the `json`
/// codec). Everything else, and no `Content-Type`, is text (`text/plain`,
/// `application/octet-stream`).
pub fn format_for(content_type: Option<&str>) -> LineFormat {
    let Some(media) = content_type.and_then(|c| c.split(';').next()) else {
        return LineFormat::Text;
    };
    match media.trim().to_ascii_lowercase().as_str() {
        "application/x-ndjson"
        | "application/ndjson"
        | "application/jsonl"
        | "application/x-jsonl"
        | "application/jsonlines"
        | "application/x-jsonlines"
        | "application/json-seq"
        | "application/json" => LineFormat::NdJson,
        _ => LineFormat::Text,
    }
}

/// The body's entries. Text: split on `\n`, one trailing `\r` stripped,
/// empty lines skipped, invalid UTF-8 replaced (U+FFFD), every entry
/// stamped `now_ns`. Lines longer than [`Limits::max_line`] are cut; more
/// than [`Limits::max_entries`] entries is [`PushError::TooManyEntries`].
///
/// NDJSON times: an RFC 3339 string, or a number (or a string of digits)
/// whose magnitude says the unit: below 10^11 seconds (fractions kept),
/// below 10^14 milliseconds, below 10^17 microseconds, else nanoseconds
/// (10^11 s and 10^14 ms are both in the year 5138, so no real time is
/// misread). A time that cannot be read is `now_ns`. `level` (a string, or
/// a number such as pino's `50`, as its text) becomes the metadata
/// `("level", value)`; `msg` or `message` is the line, else the raw line.
pub fn parse(
    body: &[u8],
    format: LineFormat,
    now_ns: i64,
    limits: &Limits,
) -> Result<Vec<Entry>, PushError> {
    if body.len() > limits.max_decoded {
        return Err(PushError::TooLarge {
            limit: limits.max_decoded,
        });
    }
    let mut out = Vec::new();
    let too_many = || PushError::TooManyEntries {
        limit: limits.max_entries,
    };
    if format == LineFormat::NdJson {
        if let Some(records) = json_array(body) {
            if records.len() > limits.max_entries {
                return Err(too_many());
            }
            for v in records {
                out.push(match v {
                    Value::Object(map) => record(map, None, now_ns, limits),
                    Value::String(s) => text_entry(s, now_ns, limits),
                    other => text_entry(other.to_string(), now_ns, limits),
                });
            }
            return Ok(out);
        }
    }
    for raw in body.split(|&b| b == b'\n') {
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        if raw.is_empty() {
            continue;
        }
        if out.len() >= limits.max_entries {
            return Err(too_many());
        }
        let entry = match format {
            LineFormat::Text => text_entry(lossy(raw), now_ns, limits),
            LineFormat::NdJson => json_line(raw, now_ns, limits),
        };
        out.push(entry);
    }
    Ok(out)
}

fn lossy(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

fn cut(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

fn text_entry(line: String, now_ns: i64, limits: &Limits) -> Entry {
    Entry {
        ts_ns: now_ns,
        line: cut(line, limits.max_line),
        metadata: Vec::new(),
    }
}

/// The body as one JSON array, when it is one.
fn json_array(body: &[u8]) -> Option<Vec<Value>> {
    let start = body.iter().position(|b| !b.is_ascii_whitespace())?;
    if body[start] != b'[' {
        return None;
    }
    serde_json::from_slice(body).ok()
}

fn json_line(raw: &[u8], now_ns: i64, limits: &Limits) -> Entry {
    let trimmed = raw
        .iter()
        .position(|&b| b != RS && !b.is_ascii_whitespace())
        .map_or(&raw[raw.len()..], |at| &raw[at..]);
    if trimmed.first() == Some(&b'{') {
        if let Ok(map) = serde_json::from_slice::<Map<String, Value>>(trimmed) {
            return record(map, Some(raw), now_ns, limits);
        }
    }
    text_entry(lossy(raw), now_ns, limits)
}

/// One JSON record; `raw` is its line as sent (`None` inside an array,
/// where the object's JSON text stands in for it).
fn record(map: Map<String, Value>, raw: Option<&[u8]>, now_ns: i64, limits: &Limits) -> Entry {
    let ts_ns = TIME_KEYS
        .iter()
        .find_map(|k| map.get(*k))
        .and_then(time_of)
        .unwrap_or(now_ns);
    let level = match map.get("level") {
        Some(Value::String(s)) => Some(s.clone()),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
        _ => None,
    };
    let text = TEXT_KEYS
        .iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
        .map(str::to_string);
    let line = match (text, raw) {
        (Some(t), _) => t,
        (None, Some(raw)) => lossy(raw),
        (None, None) => Value::Object(map).to_string(),
    };
    Entry {
        ts_ns,
        line: cut(line, limits.max_line),
        metadata: level
            .map(|l| vec![("level".to_string(), cut(l, MAX_LEVEL))])
            .unwrap_or_default(),
    }
}

/// Nanoseconds from a JSON time (see [`parse`]).
fn time_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => from_integer(i),
            None => n.as_f64().and_then(from_float),
        },
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
                return t.timestamp_nanos_opt();
            }
            if let Ok(i) = s.parse::<i64>() {
                return from_integer(i);
            }
            s.parse::<f64>().ok().and_then(from_float)
        }
        _ => None,
    }
}

/// The multiplier to nanoseconds for a time of this magnitude.
fn unit_of(magnitude: f64) -> i64 {
    if magnitude < 1e11 {
        1_000_000_000
    } else if magnitude < 1e14 {
        1_000_000
    } else if magnitude < 1e17 {
        1_000
    } else {
        1
    }
}

fn from_integer(i: i64) -> Option<i64> {
    i.checked_mul(unit_of(i.unsigned_abs() as f64))
}

fn from_float(f: f64) -> Option<i64> {
    if !f.is_finite() {
        return None;
    }
    let ns = f * unit_of(f.abs()) as f64;
    // `as` saturates; refuse rather than pin to the extremes.
    (ns.abs() < 9.2e18).then_some(ns as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_796_195_000_000_000_000;

    fn entries(body: &str, format: LineFormat) -> Vec<Entry> {
        parse(body.as_bytes(), format, NOW, &Limits::default()).unwrap()
    }

    #[test]
    fn content_types() {
        assert_eq!(format_for(None), LineFormat::Text);
        assert_eq!(
            format_for(Some("text/plain; charset=utf-8")),
            LineFormat::Text
        );
        assert_eq!(
            format_for(Some("application/octet-stream")),
            LineFormat::Text
        );
        assert_eq!(format_for(Some("application/x-ndjson")), LineFormat::NdJson);
        assert_eq!(format_for(Some("Application/JSONL")), LineFormat::NdJson);
        assert_eq!(format_for(Some("application/json-seq")), LineFormat::NdJson);
        assert_eq!(format_for(Some("application/json")), LineFormat::NdJson);
    }

    #[test]
    fn text_lines() {
        let body = b"first\r\n\nsecond\n\xffbad\r\r\n\n";
        let e = parse(body, LineFormat::Text, NOW, &Limits::default()).unwrap();
        let lines: Vec<&str> = e.iter().map(|e| e.line.as_str()).collect();
        // One trailing \r stripped, not two.
        assert_eq!(lines, ["first", "second", "\u{fffd}bad\r"]);
        assert!(e.iter().all(|e| e.ts_ns == NOW && e.metadata.is_empty()));
        assert!(entries("", LineFormat::Text).is_empty());
    }

    #[test]
    fn limits_apply() {
        let limits = Limits {
            max_entries: 2,
            max_line: 3,
            ..Limits::default()
        };
        assert!(matches!(
            parse(b"a\nb\nc", LineFormat::Text, NOW, &limits),
            Err(PushError::TooManyEntries { limit: 2 })
        ));
        let e = parse("ab\u{e9}z\n".as_bytes(), LineFormat::Text, NOW, &limits).unwrap();
        assert_eq!(e[0].line, "ab");
        assert!(matches!(
            parse(b"[1,2,3]", LineFormat::NdJson, NOW, &limits),
            Err(PushError::TooManyEntries { limit: 2 })
        ));
    }

    #[test]
    fn ndjson_records() {
        let body = concat!(
            r#"{"level":50,"time":1796195641800,"pid":5738,"msg":"payment gateway timeout after 30s"}"#,
            "\n",
            r#"{"ts":"2026-12-02T07:13:45.787721+00:00","level":"error","message":"db down"}"#,
            "\n",
            r#"{"timestamp":1796195628.5,"event":"no text field"}"#,
            "\n",
            "not json at all\n",
            "{broken json\n",
            "\u{1e}",
            r#"{"time":"1796195623392554752","msg":"seq record"}"#,
            "\n",
        );
        let e = entries(body, LineFormat::NdJson);
        assert_eq!(e.len(), 6);
        assert_eq!(e[0].line, "payment gateway timeout after 30s");
        assert_eq!(e[0].ts_ns, 1_796_195_641_800_000_000);
        assert_eq!(e[0].metadata, vec![("level".to_string(), "50".to_string())]);
        assert_eq!(e[1].line, "db down");
        assert_eq!(e[1].ts_ns, 1796195625787721000);
        assert_eq!(
            e[1].metadata,
            vec![("level".to_string(), "error".to_string())]
        );
        assert_eq!(
            e[2].line,
            r#"{"timestamp":1796195628.5,"event":"no text field"}"#
        );
        assert!((e[2].ts_ns - 1_796_195_628_500_000_000).abs() < 1_000);
        assert_eq!((e[3].line.as_str(), e[3].ts_ns), ("not json at all", NOW));
        assert_eq!(e[4].line, "{broken json");
        assert_eq!(e[5].line, "seq record");
        assert_eq!(e[5].ts_ns, 1796195623392554752);
    }

    #[test]
    fn time_units_by_magnitude() {
        let ns = 1_796_195_641_800_000_000i64;
        for v in [
            serde_json::json!(1_796_195_641.8),
            serde_json::json!(1_796_195_641_800i64),
            serde_json::json!(1_796_195_641_800_000i64),
            serde_json::json!(ns),
            serde_json::json!("1796195641800"),
        ] {
            let got = time_of(&v).unwrap();
            assert!((got - ns).abs() < 1_000, "{v}: {got}");
        }
        assert_eq!(time_of(&serde_json::json!("yesterday")), None);
        assert_eq!(time_of(&serde_json::json!(null)), None);
    }

    #[test]
    fn a_json_array_body() {
        let body = r#" [{"msg":"one","level":"warn"},"two",{"x":1}] "#;
        let e = entries(body, LineFormat::NdJson);
        let lines: Vec<&str> = e.iter().map(|e| e.line.as_str()).collect();
        assert_eq!(lines, ["one", "two", r#"{"x":1}"#]);
        assert_eq!(
            e[0].metadata,
            vec![("level".to_string(), "warn".to_string())]
        );
        // As text, the same body is one line.
        assert_eq!(entries(body, LineFormat::Text).len(), 1);
    }
}
