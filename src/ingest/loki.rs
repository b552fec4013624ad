//! Loki push bodies (`../shared/spec/errors-and-logs.md` section 2), decoded
//! into streams of entries for the log rules. Pure: the HTTP layer has
//! already checked the token and removed `Content-Encoding` gzip/deflate;
//! what the bytes mean is all this module decides.
//!
//! Three body formats, chosen like Loki chooses them ([`format_for`]):
//! - JSON v1 (`{"streams":[{"stream":{…},"values":[["<ns>","line"]]}]}`);
//! - the legacy JSON of `/api/prom/push` (`labels` as a label-set string,
//!   `entries[].ts` in RFC 3339);
//! - snappy **block** format around protobuf `logproto.PushRequest`, with
//!   the messages written out by hand below (no `protoc`, no `build.rs`).
//!
//! Limits are applied here so that nothing later has to think about them: a
//! snappy header that declares more than [`Limits::max_decoded`] is refused
//! before anything is allocated (a 100-byte body can claim 4 GiB); lines are
//! cut, not refused, past [`Limits::max_line`] (shippers drop a whole batch
//! on a 400, spec 2.7); label sets are checked as Loki checks them.

use std::collections::BTreeMap;
use std::fmt;

use prost::Message;
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use crate::domain::labels::truncate_text;

/// A label name longer than this (bytes) is refused, as Loki does (spec 2.8).
pub const MAX_LABEL_NAME: usize = 1024;
/// A label value longer than this (bytes) is cut on a character boundary.
pub const MAX_LABEL_VALUE: usize = 2048;
/// Structured-metadata pairs kept per entry; the rest are dropped (they only
/// feed `label:` sources of the rules).
pub const MAX_METADATA: usize = 64;
/// How much of a bad input an error message quotes.
const QUOTE: usize = 60;

/// One stream: its label set (sorted by name, names unique) and its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stream {
    pub labels: Vec<(String, String)>,
    pub entries: Vec<Entry>,
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Nanoseconds since the Unix epoch, as the sender stamped it (0 when a
    /// protobuf entry has no timestamp).
    pub ts_ns: i64,
    pub line: String,
    /// Structured metadata (JSON third element, protobuf
    /// `structuredMetadata` then `parsed`); order not significant.
    pub metadata: Vec<(String, String)>,
}

/// Bounds on one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest snappy-decoded protobuf (and largest JSON body) accepted.
    pub max_decoded: usize,
    /// Longer lines are cut at a character boundary, not refused.
    pub max_line: usize,
    /// More labels on one stream is a [`PushError::BadLabels`].
    pub max_labels: usize,
    /// More entries in one request is a [`PushError::TooManyEntries`].
    pub max_entries: usize,
}

impl Default for Limits {
    /// The limits suggested in spec 2.8.
    fn default() -> Self {
        Self {
            max_decoded: 64 * 1024 * 1024,
            max_line: 256 * 1024,
            max_labels: 30,
            max_entries: 10_000,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("the body is not snappy block format: {0}")]
    BadSnappy(String),
    #[error("the body is larger than {limit} bytes once decompressed")]
    TooLarge { limit: usize },
    #[error("the body is not a Loki PushRequest: {0}")]
    BadProtobuf(String),
    #[error("the body is not a Loki JSON push: {0}")]
    BadJson(String),
    #[error("bad stream labels: {0}")]
    BadLabels(String),
    #[error("more than {limit} log lines in one request; send smaller batches")]
    TooManyEntries { limit: usize },
}

/// The body format of a push request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON v1 (`stream` + `values`).
    Json,
    /// The JSON of `/api/prom/push` (`labels` string + `entries`).
    LegacyJson,
    /// Snappy block format around protobuf `PushRequest`.
    Protobuf,
}

/// Spec 2.2: `Content-Type: application/json` (parameters ignored, any
/// case) is JSON, v1 or, on `/api/prom/push`, legacy; anything else or no
/// `Content-Type` at all is snappy-compressed protobuf (Promtail sends
/// `application/x-protobuf`, old tracing-loki `application/x-snappy`).
pub fn format_for(content_type: Option<&str>, legacy_path: bool) -> Format {
    let json = content_type
        .and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"));
    match (json, legacy_path) {
        (true, false) => Format::Json,
        (true, true) => Format::LegacyJson,
        (false, _) => Format::Protobuf,
    }
}

/// Decodes one push body (already without gzip/deflate).
pub fn decode(body: &[u8], format: Format, limits: &Limits) -> Result<Vec<Stream>, PushError> {
    let streams = match format {
        Format::Json => decode_json(body, limits)?,
        Format::LegacyJson => decode_legacy(body, limits)?,
        Format::Protobuf => decode_protobuf(body, limits)?,
    };
    let total: usize = streams.iter().map(|s| s.entries.len()).sum();
    if total > limits.max_entries {
        return Err(PushError::TooManyEntries {
            limit: limits.max_entries,
        });
    }
    Ok(streams)
}

// ---------------------------------------------------------------- protobuf

/// `logproto.PushRequest` (Src `grafana/loki` `pkg/push/push.proto`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
    /// "loki" or "otlp"; clients leave it empty.
    #[prost(string, tag = "2")]
    pub format: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    /// A label-set string, `{a="b",c="d"}` ([`parse_label_set`]).
    #[prost(string, tag = "1")]
    pub labels: String,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    /// `string` in push.proto; read as `bytes` (the same wire type) so that
    /// one line with invalid UTF-8 is repaired (U+FFFD) instead of failing
    /// the whole batch, which the shipper would then drop.
    #[prost(bytes = "vec", tag = "2")]
    pub line: Vec<u8>,
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
    /// "Shouldn't be used by clients to push data"; kept as metadata.
    #[prost(message, repeated, tag = "4")]
    pub parsed: Vec<LabelPairAdapter>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPairAdapter {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `google.protobuf.Timestamp`, written here instead of pulling in
/// `prost-types` for one message.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

impl Timestamp {
    /// Nanoseconds since the epoch, saturating far outside 1678..2262.
    pub fn to_ns(self) -> i64 {
        self.seconds
            .saturating_mul(1_000_000_000)
            .saturating_add(i64::from(self.nanos))
    }
}

/// The start of the snappy *framed* format (`sNaPpY` stream identifier),
/// which Loki refuses; named in the error so the sender's setting is found.
const SNAPPY_FRAMED: &[u8] = b"\xff\x06\x00\x00sNaPpY";

/// Snappy block decode, refusing a declared length over `max` before the
/// output buffer exists.
pub fn snappy_block(body: &[u8], max: usize) -> Result<Vec<u8>, PushError> {
    if body.starts_with(SNAPPY_FRAMED) {
        return Err(PushError::BadSnappy(
            "this is the snappy framed (stream) format; Loki clients send the block format".into(),
        ));
    }
    let len = snap::raw::decompress_len(body).map_err(|e| PushError::BadSnappy(e.to_string()))?;
    if len > max {
        return Err(PushError::TooLarge { limit: max });
    }
    let mut out = vec![0u8; len];
    let n = snap::raw::Decoder::new()
        .decompress(body, &mut out)
        .map_err(|e| PushError::BadSnappy(e.to_string()))?;
    out.truncate(n);
    Ok(out)
}

fn decode_protobuf(body: &[u8], limits: &Limits) -> Result<Vec<Stream>, PushError> {
    if body.is_empty() {
        // An empty PushRequest: nothing to do (Loki answers 204 too).
        return Ok(Vec::new());
    }
    let raw = snappy_block(body, limits.max_decoded)?;
    let request =
        PushRequest::decode(&raw[..]).map_err(|e| PushError::BadProtobuf(e.to_string()))?;
    drop(raw);
    let mut streams = Vec::with_capacity(request.streams.len());
    let mut total = 0usize;
    for s in request.streams {
        total += s.entries.len();
        if total > limits.max_entries {
            return Err(PushError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let labels = check_labels(parse_label_set(&s.labels)?, limits)?;
        let entries = s
            .entries
            .into_iter()
            .map(|e| {
                let mut line = match String::from_utf8(e.line) {
                    Ok(s) => s,
                    Err(bad) => String::from_utf8_lossy(bad.as_bytes()).into_owned(),
                };
                cut_in_place(&mut line, limits.max_line);
                let metadata = bound_metadata(
                    e.structured_metadata
                        .into_iter()
                        .chain(e.parsed)
                        .map(|p| (p.name, p.value)),
                );
                Entry {
                    ts_ns: e.timestamp.map_or(0, Timestamp::to_ns),
                    line,
                    metadata,
                }
            })
            .collect();
        streams.push(Stream { labels, entries });
    }
    Ok(streams)
}

// ---------------------------------------------------------------- JSON v1

#[derive(Deserialize)]
struct JsonPush {
    #[serde(default)]
    streams: Vec<JsonStream>,
}

/// Unknown keys are ignored, as Loki's decoder does (loki-logger-handler
/// adds `message_in_json_format` and `loki_metadata`).
#[derive(Deserialize)]
struct JsonStream {
    stream: BTreeMap<String, String>,
    values: Vec<JsonEntry>,
}

/// `["<ns>", "<line>"]` or `["<ns>", "<line>", {metadata}]`.
struct JsonEntry {
    ts_ns: i64,
    line: String,
    metadata: Vec<(String, String)>,
}

impl<'de> Deserialize<'de> for JsonEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> Visitor<'de> for EntryVisitor {
            type Value = JsonEntry;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value [\"<unix epoch in nanoseconds>\", \"<log line>\"] with an optional metadata object")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonEntry, A::Error> {
                let NsString(ts_ns) = seq
                    .next_element::<NsString>()?
                    .ok_or_else(|| <A::Error as de::Error>::invalid_length(0, &self))?;
                let line = seq
                    .next_element::<String>()?
                    .ok_or_else(|| <A::Error as de::Error>::invalid_length(1, &self))?;
                let third = seq.next_element::<serde_json::Value>()?;
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(JsonEntry {
                    ts_ns,
                    line,
                    metadata: third.map(metadata_of).unwrap_or_default(),
                })
            }
        }
        d.deserialize_seq(EntryVisitor)
    }
}

/// A timestamp that must be a JSON *string* holding an integer: a JSON
/// number is refused, as Loki refuses it (Src `pkg/loghttp/entry.go`).
struct NsString(i64);

impl<'de> Deserialize<'de> for NsString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct NsVisitor;
        impl Visitor<'_> for NsVisitor {
            type Value = NsString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string holding an integer count of nanoseconds (not a JSON number)")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<NsString, E> {
                v.parse::<i64>().map(NsString).map_err(|_| {
                    E::custom(format!(
                        "timestamp `{}` is not an integer count of nanoseconds",
                        truncate_text(v, 40)
                    ))
                })
            }
        }
        d.deserialize_str(NsVisitor)
    }
}

/// The third element: a flat string→string object, or the query-response
/// shape `{"structuredMetadata": {…}, "parsed": {…}}`. Numbers and booleans
/// are kept as their JSON text; nulls, arrays and other nested objects are
/// skipped rather than failing the batch.
fn metadata_of(v: serde_json::Value) -> Vec<(String, String)> {
    use serde_json::Value;
    let Value::Object(map) = v else {
        return Vec::new();
    };
    let mut pairs = Vec::new();
    for (k, v) in map {
        match v {
            Value::Object(inner) if k == "structuredMetadata" || k == "parsed" => {
                pairs.extend(
                    inner
                        .into_iter()
                        .filter_map(|(k, v)| scalar(v).map(|v| (k, v))),
                );
            }
            v => {
                if let Some(v) = scalar(v) {
                    pairs.push((k, v));
                }
            }
        }
    }
    bound_metadata(pairs.into_iter())
}

fn scalar(v: serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match v {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

fn json_error(e: serde_json::Error) -> PushError {
    PushError::BadJson(truncate_text(&e.to_string(), 300))
}

fn decode_json(body: &[u8], limits: &Limits) -> Result<Vec<Stream>, PushError> {
    if body.len() > limits.max_decoded {
        return Err(PushError::TooLarge {
            limit: limits.max_decoded,
        });
    }
    let push: JsonPush = serde_json::from_slice(body).map_err(json_error)?;
    let mut streams = Vec::with_capacity(push.streams.len());
    let mut total = 0usize;
    for s in push.streams {
        total += s.values.len();
        if total > limits.max_entries {
            return Err(PushError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let labels = check_labels(s.stream.into_iter().collect(), limits)?;
        let entries = s
            .values
            .into_iter()
            .map(|e| {
                let mut line = e.line;
                cut_in_place(&mut line, limits.max_line);
                Entry {
                    ts_ns: e.ts_ns,
                    line,
                    metadata: e.metadata,
                }
            })
            .collect();
        streams.push(Stream { labels, entries });
    }
    Ok(streams)
}

// ---------------------------------------------------------------- legacy JSON

#[derive(Deserialize)]
struct LegacyPush {
    #[serde(default)]
    streams: Vec<LegacyStream>,
}

#[derive(Deserialize)]
struct LegacyStream {
    labels: String,
    #[serde(default)]
    entries: Vec<LegacyEntry>,
}

#[derive(Deserialize)]
struct LegacyEntry {
    /// RFC 3339 (the protobuf JSON mapping of `Timestamp`).
    ts: String,
    line: String,
}

fn decode_legacy(body: &[u8], limits: &Limits) -> Result<Vec<Stream>, PushError> {
    if body.len() > limits.max_decoded {
        return Err(PushError::TooLarge {
            limit: limits.max_decoded,
        });
    }
    let push: LegacyPush = serde_json::from_slice(body).map_err(json_error)?;
    let mut streams = Vec::with_capacity(push.streams.len());
    let mut total = 0usize;
    for s in push.streams {
        total += s.entries.len();
        if total > limits.max_entries {
            return Err(PushError::TooManyEntries {
                limit: limits.max_entries,
            });
        }
        let labels = check_labels(parse_label_set(&s.labels)?, limits)?;
        let mut entries = Vec::with_capacity(s.entries.len());
        for e in s.entries {
            let ts_ns = chrono::DateTime::parse_from_rfc3339(e.ts.trim())
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
                .ok_or_else(|| {
                    PushError::BadJson(format!(
                        "entry ts `{}` is not an RFC 3339 time",
                        truncate_text(&e.ts, 40)
                    ))
                })?;
            let mut line = e.line;
            cut_in_place(&mut line, limits.max_line);
            entries.push(Entry {
                ts_ns,
                line,
                metadata: Vec::new(),
            });
        }
        streams.push(Stream { labels, entries });
    }
    Ok(streams)
}

// ---------------------------------------------------------------- labels

/// True for a Prometheus label name, `[a-zA-Z_][a-zA-Z0-9_]*`.
fn is_label_name(name: &str) -> bool {
    let mut b = name.bytes();
    matches!(b.next(), Some(c) if c == b'_' || c.is_ascii_alphabetic())
        && b.all(|c| c == b'_' || c.is_ascii_alphanumeric())
}

/// Checks a stream's label set as Loki would (count, names, duplicates),
/// cuts over-long values, and sorts it by name.
fn check_labels(
    mut labels: Vec<(String, String)>,
    limits: &Limits,
) -> Result<Vec<(String, String)>, PushError> {
    if labels.len() > limits.max_labels {
        return Err(PushError::BadLabels(format!(
            "{} labels on one stream; at most {}",
            labels.len(),
            limits.max_labels
        )));
    }
    for (name, value) in &mut labels {
        if !is_label_name(name) {
            return Err(PushError::BadLabels(format!(
                "`{}` is not a label name (letters, digits and `_`, not starting with a digit)",
                truncate_text(name, 40)
            )));
        }
        if name.len() > MAX_LABEL_NAME {
            return Err(PushError::BadLabels(format!(
                "a label name is longer than {MAX_LABEL_NAME} bytes"
            )));
        }
        cut_in_place(value, MAX_LABEL_VALUE);
    }
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    if let Some(w) = labels.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(PushError::BadLabels(format!(
            "label `{}` appears twice",
            truncate_text(&w[0].0, 40)
        )));
    }
    Ok(labels)
}

fn bound_metadata(pairs: impl Iterator<Item = (String, String)>) -> Vec<(String, String)> {
    pairs
        .take(MAX_METADATA)
        .map(|(k, mut v)| {
            cut_in_place(&mut v, MAX_LABEL_VALUE);
            (k, v)
        })
        .collect()
}

/// Cuts `s` to at most `max` bytes, on a character boundary.
fn cut_in_place(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// Parses a label-set string as Loki reads a stream's `labels`:
///
/// ```text
/// labels = "{" [ pair { "," pair } [ "," ] ] "}"   ; spaces around tokens
/// pair   = name "=" quoted
/// name   = [a-zA-Z_][a-zA-Z0-9_]*
/// quoted = '"' Go-escaped text '"'  |  '`' raw text '`'
/// ```
///
/// Escapes are Go's: `\"` `\\` `\'` `\a` `\b` `\f` `\n` `\r` `\t` `\v`,
/// `\xHH`, `\NNN` (octal), `\uXXXX` and `\UXXXXXXXX`; the result must be
/// UTF-8. Pairs come back in the order written (duplicates are checked by
/// the decoder, with the other limits).
pub fn parse_label_set(s: &str) -> Result<Vec<(String, String)>, PushError> {
    LabelParser {
        src: s,
        b: s.as_bytes(),
        i: 0,
    }
    .parse()
}

struct LabelParser<'a> {
    src: &'a str,
    b: &'a [u8],
    i: usize,
}

impl LabelParser<'_> {
    fn bad(&self, why: impl fmt::Display) -> PushError {
        PushError::BadLabels(format!("`{}`: {why}", truncate_text(self.src, QUOTE)))
    }

    fn ws(&mut self) {
        while self.i < self.b.len() && self.b[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn parse(mut self) -> Result<Vec<(String, String)>, PushError> {
        let mut out = Vec::new();
        self.ws();
        if !self.eat(b'{') {
            return Err(self.bad("a label set starts with `{`"));
        }
        self.ws();
        if !self.eat(b'}') {
            loop {
                self.ws();
                let name = self.name()?;
                self.ws();
                if !self.eat(b'=') || matches!(self.b.get(self.i), Some(b'~')) {
                    return Err(self.bad(format!(
                        "expected `=` after `{}` (a stream's labels are name=\"value\" pairs)",
                        truncate_text(&name, 40)
                    )));
                }
                self.ws();
                let value = self.quoted()?;
                out.push((name, value));
                self.ws();
                if self.eat(b',') {
                    self.ws();
                    if self.eat(b'}') {
                        break;
                    }
                    continue;
                }
                if self.eat(b'}') {
                    break;
                }
                return Err(self.bad("expected `,` or `}` after a value"));
            }
        }
        self.ws();
        if self.i != self.b.len() {
            return Err(self.bad("unexpected text after the closing `}`"));
        }
        Ok(out)
    }

    fn name(&mut self) -> Result<String, PushError> {
        let start = self.i;
        while self.i < self.b.len()
            && (self.b[self.i] == b'_' || self.b[self.i].is_ascii_alphanumeric())
        {
            self.i += 1;
        }
        let name = &self.src[start..self.i];
        if name.is_empty() {
            return Err(self.bad("expected a label name"));
        }
        if !is_label_name(name) {
            return Err(self.bad(format!(
                "`{}` is not a label name (it starts with a digit)",
                truncate_text(name, 40)
            )));
        }
        Ok(name.to_string())
    }

    fn hex(&mut self, digits: usize) -> Result<u32, PushError> {
        let end = self.i + digits;
        let text = self
            .src
            .get(self.i..end)
            .filter(|t| t.bytes().all(|c| c.is_ascii_hexdigit()))
            .ok_or_else(|| self.bad(format!("an escape needs {digits} hex digits")))?;
        self.i = end;
        Ok(u32::from_str_radix(text, 16).expect("hex digits"))
    }

    fn quoted(&mut self) -> Result<String, PushError> {
        if self.eat(b'`') {
            // Raw string: everything up to the next backtick.
            let start = self.i;
            let Some(len) = self.b[start..].iter().position(|&c| c == b'`') else {
                return Err(self.bad("unterminated `raw` value"));
            };
            self.i = start + len + 1;
            return Ok(self.src[start..start + len].to_string());
        }
        if !self.eat(b'"') {
            return Err(self.bad("a label value is a double-quoted string"));
        }
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err(self.bad("unterminated value (missing the closing `\"`)"));
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.b.get(self.i) else {
                        return Err(self.bad("unterminated escape"));
                    };
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'\'' => out.push(e),
                        b'a' => out.push(0x07),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'v' => out.push(0x0b),
                        b'x' => {
                            let v = self.hex(2)?;
                            out.push(v as u8);
                        }
                        b'0'..=b'7' => {
                            let digits = self
                                .src
                                .get(self.i - 1..self.i + 2)
                                .filter(|t| t.bytes().all(|c| (b'0'..=b'7').contains(&c)));
                            let v = digits
                                .and_then(|t| u8::from_str_radix(t, 8).ok())
                                .ok_or_else(|| {
                                    self.bad("an octal escape is three digits up to \\377")
                                })?;
                            self.i += 2;
                            out.push(v);
                        }
                        b'u' | b'U' => {
                            let v = self.hex(if e == b'u' { 4 } else { 8 })?;
                            let ch = char::from_u32(v).ok_or_else(|| {
                                self.bad(format!(
                                    "\\{} {v:X} is not a Unicode character",
                                    e as char
                                ))
                            })?;
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                        }
                        other => {
                            return Err(self.bad(format!(
                                "unknown escape `\\{}`",
                                char::from(other).escape_default()
                            )));
                        }
                    }
                }
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|_| self.bad("a value's escapes do not form UTF-8"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    fn vector(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/tests/vectors/errors-and-logs-payloads/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
    }

    fn b64(name: &str) -> Vec<u8> {
        let text: String = String::from_utf8(vector(name))
            .unwrap()
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    /// The body of a `.txt` capture: what follows the blank line.
    fn body_of(name: &str) -> Vec<u8> {
        let raw = vector(name);
        let at = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a request head");
        raw[at + 4..].to_vec()
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn content_type_decides_the_format() {
        assert_eq!(format_for(Some("application/json"), false), Format::Json);
        assert_eq!(
            format_for(Some("Application/JSON; charset=utf-8"), false),
            Format::Json
        );
        assert_eq!(
            format_for(Some("application/json"), true),
            Format::LegacyJson
        );
        assert_eq!(
            format_for(Some("application/x-protobuf"), false),
            Format::Protobuf
        );
        assert_eq!(
            format_for(Some("application/x-snappy"), true),
            Format::Protobuf
        );
        assert_eq!(format_for(None, false), Format::Protobuf);
    }

    #[test]
    fn tracing_loki_protobuf_push_decodes() {
        // Spec 4 check 9.
        let body = b64("loki-protobuf-push.b64");
        let pb = b64("loki-protobuf-push.pb.b64");
        assert_eq!(&body[..2], &[0xa1, 0x03]);
        assert_eq!(snappy_block(&body, 1 << 20).unwrap(), pb);
        let request = PushRequest::decode(&pb[..]).unwrap();
        assert_eq!(request.streams.len(), 2);
        let ts = request.streams[0].entries[0].timestamp.unwrap();
        assert_eq!((ts.seconds, ts.nanos), (1796195672, 270686912));

        let streams = decode(&body, Format::Protobuf, &Limits::default()).unwrap();
        assert_eq!(streams.len(), 2);
        assert_eq!(
            streams[0].labels,
            pairs(&[("level", "info"), ("service", "ackbot-demo")])
        );
        assert_eq!(
            streams[1].labels,
            pairs(&[("level", "error"), ("service", "ackbot-demo")])
        );
        let first = &streams[0].entries[0];
        assert_eq!(first.ts_ns, 1796195672270686912);
        assert!(
            first
                .line
                .starts_with(r#"{"message":"login ok","user":"alice""#)
        );
        assert!(first.metadata.is_empty());
        let second = &streams[1].entries[0];
        assert_eq!(second.ts_ns, 1796195672270538911);
        assert!(
            second
                .line
                .starts_with(r#"{"message":"upstream timeout after 30s""#)
        );
    }

    #[test]
    fn winston_protobuf_push_decodes_without_content_encoding() {
        // Spec 4 check 10: no Content-Encoding, Content-Type x-protobuf.
        let body = b64("loki-protobuf-push-winston.b64");
        assert_eq!(
            snappy_block(&body, 1 << 20).unwrap(),
            b64("loki-protobuf-push-winston.pb.b64")
        );
        let format = format_for(Some("application/x-protobuf"), false);
        let streams = decode(&body, format, &Limits::default()).unwrap();
        assert_eq!(streams.len(), 2);
        assert_eq!(
            streams[0].labels,
            pairs(&[
                ("env", "production"),
                ("level", "error"),
                ("route", "/orders"),
                ("service", "web"),
            ])
        );
        assert_eq!(streams[0].entries[0].ts_ns, 1_796_195_633_096_000_000);
        assert_eq!(
            streams[0].entries[0].line,
            r#"upstream timeout after 30s {"level":"error"}"#
        );
        assert_eq!(
            streams[1].entries[0].line,
            r#"login ok user=alice {"level":"info"}"#
        );
    }

    #[test]
    fn gzip_json_push_ignores_unknown_keys_and_reads_structured_metadata() {
        // Spec 4 check 11 (the body as gunzipped).
        let body = vector("loki-json-gzip-push.decoded.json");
        let streams = decode(&body, Format::Json, &Limits::default()).unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(
            streams[0].labels,
            pairs(&[("env", "production"), ("service", "shop")])
        );
        let e = &streams[0].entries;
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].ts_ns, 1796195628142589696);
        assert!(e[0].line.contains("ERROR db connection refused host=db-1"));
        assert_eq!(
            e[0].metadata,
            pairs(&[("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736")])
        );
        assert_eq!(e[1].metadata, e[0].metadata);
    }

    #[test]
    fn python_logging_loki_json_push_decodes() {
        let body = vector("loki-json-push.json");
        assert_eq!(body_of("loki-json-push.txt"), body);
        let streams = decode(&body, Format::Json, &Limits::default()).unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(
            streams[0].labels,
            pairs(&[
                ("env", "production"),
                ("logger", "shop.payments"),
                ("region", "eu-1"),
                ("service", "shop"),
                ("severity", "error"),
            ])
        );
        let e = &streams[0].entries[0];
        assert_eq!(e.ts_ns, 1796195623392554752);
        assert_eq!(e.line, "payment gateway timeout after 30s order_id=17");
    }

    #[test]
    fn pino_and_winston_json_pushes_decode() {
        let pino = decode(
            &body_of("loki-json-push-pino.txt"),
            Format::Json,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(pino.len(), 2);
        assert!(pino[0].labels.contains(&("level".into(), "error".into())));
        assert!(pino[1].labels.contains(&("level".into(), "warning".into())));
        assert_eq!(pino[0].entries[0].ts_ns, 1796195641800000000);
        assert!(
            pino[0].entries[0]
                .line
                .contains(r#""msg":"payment gateway timeout after 30s""#)
        );

        let winston = decode(
            &body_of("loki-json-push-winston.txt"),
            Format::Json,
            &Limits::default(),
        )
        .unwrap();
        assert_eq!(winston.len(), 2);
        let e = &winston[0].entries[0];
        assert_eq!(e.line, r#"upstream timeout after 30s {"level":"error"}"#);
        assert_eq!(e.metadata, pairs(&[("level", "error")]));
        assert_eq!(winston[1].entries[0].metadata, pairs(&[("level", "info")]));
    }

    #[test]
    fn legacy_prom_push_decodes() {
        let body = body_of("loki-legacy-prom-push.txt");
        let format = format_for(Some("application/json"), true);
        let streams = decode(&body, format, &Limits::default()).unwrap();
        assert_eq!(streams.len(), 1);
        assert_eq!(
            streams[0].labels,
            pairs(&[
                ("logger", "shop.payments"),
                ("service", "shop"),
                ("severity", "error"),
            ])
        );
        let e = &streams[0].entries[0];
        // 2026-12-02T07:13:45.787721+00:00
        assert_eq!(e.ts_ns, 1796195625787721000);
        assert_eq!(e.line, "payment gateway timeout after 30s order_id=17");
    }

    #[test]
    fn a_snappy_bomb_is_refused_before_allocating() {
        // Declares 1 GiB (varint 80 80 80 80 04), then one literal byte.
        let bomb = [0x80, 0x80, 0x80, 0x80, 0x04, 0x00, b'a'];
        let limits = Limits::default();
        assert!(matches!(
            decode(&bomb, Format::Protobuf, &limits),
            Err(PushError::TooLarge { limit }) if limit == limits.max_decoded
        ));
        assert!(matches!(
            decode(b"\xff\x06\x00\x00sNaPpY", Format::Protobuf, &limits),
            Err(PushError::BadSnappy(_))
        ));
        assert!(matches!(
            decode(&[0x05, 0x00, b'a'], Format::Protobuf, &limits),
            Err(PushError::BadSnappy(_))
        ));
        assert_eq!(decode(b"", Format::Protobuf, &limits).unwrap(), vec![]);
    }

    #[test]
    fn a_json_number_timestamp_is_refused() {
        let body = br#"{"streams":[{"stream":{"a":"b"},"values":[[1796195623392554752,"x"]]}]}"#;
        let e = decode(body, Format::Json, &Limits::default()).unwrap_err();
        assert!(matches!(e, PushError::BadJson(_)), "{e}");
        let body = br#"{"streams":[{"stream":{"a":"b"},"values":[["12x","x"]]}]}"#;
        assert!(matches!(
            decode(body, Format::Json, &Limits::default()),
            Err(PushError::BadJson(_))
        ));
    }

    #[test]
    fn third_element_shapes() {
        let body = br#"{"streams":[{"stream":{"a":"b"},"values":[
            ["1","x",{"structuredMetadata":{"trace_id":"t1"},"parsed":{"p":"v"}}],
            ["2","y",{"k":"v","n":5,"nested":{"no":"pe"}}],
            ["3","z",null]]}]}"#;
        let s = decode(body, Format::Json, &Limits::default()).unwrap();
        let e = &s[0].entries;
        let sorted = |m: &[(String, String)]| {
            let mut m = m.to_vec();
            m.sort();
            m
        };
        assert_eq!(
            sorted(&e[0].metadata),
            pairs(&[("p", "v"), ("trace_id", "t1")])
        );
        assert_eq!(sorted(&e[1].metadata), pairs(&[("k", "v"), ("n", "5")]));
        assert!(e[2].metadata.is_empty());
    }

    #[test]
    fn limits_apply() {
        let body = br#"{"streams":[{"stream":{"a":"b"},"values":[["1","x"],["2","y"]]}]}"#;
        let limits = Limits {
            max_entries: 1,
            ..Limits::default()
        };
        assert!(matches!(
            decode(body, Format::Json, &limits),
            Err(PushError::TooManyEntries { limit: 1 })
        ));

        // Cut, not refused, on a character boundary.
        let body = r#"{"streams":[{"stream":{"a":"b"},"values":[["1","ééééé"]]}]}"#;
        let limits = Limits {
            max_line: 5,
            ..Limits::default()
        };
        let s = decode(body.as_bytes(), Format::Json, &limits).unwrap();
        assert_eq!(s[0].entries[0].line, "éé");

        let bad = br#"{"streams":[{"stream":{"bad-name":"x"},"values":[]}]}"#;
        assert!(matches!(
            decode(bad, Format::Json, &Limits::default()),
            Err(PushError::BadLabels(_))
        ));
        let many = format!(
            "{{\"streams\":[{{\"stream\":{{{}}},\"values\":[]}}]}}",
            (0..31)
                .map(|i| format!("\"l{i}\":\"v\""))
                .collect::<Vec<_>>()
                .join(",")
        );
        assert!(matches!(
            decode(many.as_bytes(), Format::Json, &Limits::default()),
            Err(PushError::BadLabels(_))
        ));
        let twice = br#"{"streams":[{"labels":"{a=\"1\",a=\"2\"}","entries":[]}]}"#;
        assert!(matches!(
            decode(twice, Format::LegacyJson, &Limits::default()),
            Err(PushError::BadLabels(_))
        ));
        // A legacy body sent as v1 is refused, not silently empty.
        let legacy = br#"{"streams":[{"labels":"{a=\"1\"}","entries":[]}]}"#;
        assert!(matches!(
            decode(legacy, Format::Json, &Limits::default()),
            Err(PushError::BadJson(_))
        ));
    }

    #[test]
    fn label_set_strings() {
        assert_eq!(
            parse_label_set(r#"{a="b", c="d\"e"}"#).unwrap(),
            pairs(&[("a", "b"), ("c", "d\"e")])
        );
        assert_eq!(
            parse_label_set(r#" { a = "x\\y\n\t\r\u00e9\x41\101" , _b2="" , } "#).unwrap(),
            pairs(&[("a", "x\\y\n\t\réAA"), ("_b2", "")])
        );
        assert_eq!(parse_label_set("{}").unwrap(), vec![]);
        assert_eq!(parse_label_set("  { }  ").unwrap(), vec![]);
        assert_eq!(
            parse_label_set("{path=`C:\\dir`}").unwrap(),
            pairs(&[("path", "C:\\dir")])
        );
        assert_eq!(
            parse_label_set(r#"{service="ackbot-demo",level="info"}"#).unwrap(),
            pairs(&[("service", "ackbot-demo"), ("level", "info")])
        );
        for bad in [
            r#"{1a="b"}"#,
            r#"{a-b="c"}"#,
            r#"{="x"}"#,
            r#"{a="b""#,
            r#"a="b""#,
            r#"{a=b}"#,
            r#"{a!="b"}"#,
            r#"{a=~"b"}"#,
            r#"{a="\q"}"#,
            r#"{a="\u00"}"#,
            r#"{a="\xff"}"#,
            r#"{a="b"} x"#,
            r#"{a="b" c="d"}"#,
            "",
        ] {
            assert!(
                matches!(parse_label_set(bad), Err(PushError::BadLabels(_))),
                "{bad}"
            );
        }
    }
}
