//! The Sentry protocol (`../shared/spec/errors-and-logs.md` section 1), so
//! that an app which already reports with any Sentry SDK (Python, Rust,
//! Node, Go, Java, …) reports to ackbot with only its DSN changed: no agent,
//! no code change, no second library.
//!
//! What is read, all of it pure (bytes in, values out):
//!
//! - [`envelope`]: the envelope framing (spec 1.4): one header line, then
//!   items, each a header line and a payload of `length` bytes or up to the
//!   next newline. Every item is handed back with its type, known or not:
//!   an SDK must never see a 400 for an item type ackbot does not use.
//! - [`event`]: an `event` item (or the legacy `/store/` body): the few
//!   fields an alert needs (exception, message, top frames, trace id,
//!   release, environment, tags). Everything else is skipped while parsing,
//!   never kept: frame `vars` and source context, request headers, cookies
//!   and bodies, the user's e-mail and IP address, breadcrumbs, `debug_meta`.
//! - [`group`]: which frames matter (the SDKs mark their own and the
//!   runtime's frames in-app; spec 1.7) and the group key that folds repeats
//!   of one error into one alert (spec 1.9).
//! - [`checkin`]: a `check_in` item of a cron monitor (spec 1.10).
//! - [`category`]: the data category of an item type, as the SDKs' rate
//!   limits name it (spec 1.12).
//!
//! Sessions, transactions, spans, client reports, attachments, profiles,
//! replays and logs are framed but not read: the caller counts and drops
//! them.
//!
//! SDKs disagree on types (numbers as strings, `null` for absent, a legacy
//! `message` that is a string, an object or `false`), so every field but the
//! framing is read leniently (the private `lenient` readers below): a value
//! of the wrong type is treated as absent instead of failing the whole event.

pub mod alert;
pub mod checkin;
pub mod envelope;
pub mod event;
pub mod group;

/// Relay's data category of an item type (spec 1.12), for
/// `X-Sentry-Rate-Limits` and per-category counts. Unknown types are
/// `default`.
pub fn category(item_type: &str) -> &'static str {
    match item_type {
        "event" | "unreal_report" => "error",
        "transaction" => "transaction",
        "security" | "raw_security" | "nel" => "security",
        "attachment" => "attachment",
        "session" | "sessions" => "session",
        "check_in" => "monitor",
        "log" => "log_item",
        "span" => "span",
        "client_report" | "statsd" | "metric_buckets" | "integration" => "internal",
        "profile" => "profile",
        "profile_chunk" | "profile_chunk_ui" => "profile_chunk",
        "replay_event" | "replay_recording" | "replay_video" => "replay",
        "feedback" | "user_report" => "feedback",
        "trace_metric" => "trace_metric",
        _ => "default",
    }
}

/// The envelope bytes of a capture in `tests/vectors/errors-and-logs-payloads/`
/// (spec 1.15): a `.decoded.txt` as is (decompressed or de-chunked), or the
/// body of an uncompressed `.txt` request (after the empty line).
#[cfg(test)]
fn capture_envelope(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/vectors/errors-and-logs-payloads/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    if name.ends_with(".decoded.txt") {
        return raw;
    }
    let at = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("{path}: no request head"));
    raw[at + 4..].to_vec()
}

/// The payload of the first `kind` item of a capture's envelope.
#[cfg(test)]
fn capture_item(name: &str, kind: &str) -> Vec<u8> {
    let buf = capture_envelope(name);
    let env = envelope::parse(&buf).unwrap_or_else(|e| panic!("{name}: {e}"));
    env.items
        .iter()
        .find(|i| i.kind == kind)
        .unwrap_or_else(|| panic!("{name}: no {kind} item"))
        .payload
        .to_vec()
}

/// `s` cut to at most `max` bytes, at a char boundary (no mark added).
fn cut_bytes(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
    s
}

/// `s` cut to at most `max` characters (no mark added).
fn cut_chars(mut s: String, max: usize) -> String {
    if let Some((i, _)) = s.char_indices().nth(max) {
        s.truncate(i);
    }
    s
}

/// Lenient `deserialize_with` readers shared by [`event`] and [`checkin`].
///
/// Each accepts any JSON value: the expected shape gives a value, anything
/// else (including `null`) gives "absent" and is skipped without
/// allocating. An object is read field by field into a derived struct whose
/// fields all use these readers, so a struct never fails on a type either;
/// only JSON that is not JSON at all fails (and a key repeated inside one
/// object, which serde's derive refuses).
mod lenient {
    use std::fmt;
    use std::marker::PhantomData;

    use chrono::{DateTime, NaiveDateTime, Utc};
    use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

    /// The visitor methods for the JSON types a visitor does not want: they
    /// give its "absent" value (`$none`), draining arrays and objects.
    macro_rules! absent_for {
        (@one bool, $none:expr) => {
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok($none)
            }
        };
        (@one num, $none:expr) => {
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok($none)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok($none)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok($none)
            }
        };
        (@one str, $none:expr) => {
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok($none)
            }
        };
        (@one null, $none:expr) => {
            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok($none)
            }
            fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok($none)
            }
        };
        (@one seq, $none:expr) => {
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_seq(seq).map(|_| $none)
            }
        };
        (@one map, $none:expr) => {
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                IgnoredAny.visit_map(map).map(|_| $none)
            }
        };
        // Last: the `@one` arms above must be tried first.
        ($none:expr; $($m:ident),*) => {
            $(absent_for!(@one $m, $none);)*
        };
    }

    // ---- text ----------------------------------------------------------

    /// A string, or a number written as text (`user.id: 7`); anything else
    /// is absent.
    pub struct Text(pub Option<String>);

    struct TextVisitor;

    impl<'de> Visitor<'de> for TextVisitor {
        type Value = Option<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("any JSON value")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(v.to_owned()))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v.to_string()))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(v.is_finite().then(|| v.to_string()))
        }

        absent_for!(None; bool, null, seq, map);
    }

    impl<'de> Deserialize<'de> for Text {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(TextVisitor).map(Text)
        }
    }

    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        d.deserialize_any(TextVisitor)
    }

    /// A list of [`Text`] (other elements dropped), at most 32 kept, each cut
    /// to 512 characters.
    pub fn text_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
        d.deserialize_any(TextListVisitor)
    }

    /// Elements of a text list kept (fingerprints, in practice 1–3).
    const MAX_TEXTS: usize = 32;

    struct TextListVisitor;

    impl<'de> Visitor<'de> for TextListVisitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of strings")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while out.len() < MAX_TEXTS {
                match seq.next_element::<Text>()? {
                    Some(Text(Some(s))) => out.push(super::cut_chars(s, 512)),
                    Some(Text(None)) => {}
                    None => return Ok(out),
                }
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(out)
        }

        absent_for!(Vec::new(); bool, num, str, null, map);
    }

    // ---- scalars -------------------------------------------------------

    /// `true` or `false`; anything else is absent.
    pub fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        d.deserialize_any(BoolVisitor)
    }

    struct BoolVisitor;

    impl<'de> Visitor<'de> for BoolVisitor {
        type Value = Option<bool>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a boolean")
        }

        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            Ok(Some(v))
        }

        absent_for!(None; num, str, null, seq, map);
    }

    /// `true` when the value is `true`; anything else is `false`.
    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        boolean(d).map(|b| b == Some(true))
    }

    /// A non-negative integer that fits `u32` (a number, or digits in a
    /// string); anything else is absent.
    pub fn uint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        d.deserialize_any(U32Visitor)
    }

    struct U32Visitor;

    impl<'de> Visitor<'de> for U32Visitor {
        type Value = Option<u32>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a non-negative integer")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(u32::try_from(v).ok())
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(u32::try_from(v).ok())
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            let ok = v.is_finite() && v >= 0.0 && v <= f64::from(u32::MAX);
            // `as` saturates and drops the fraction: 24.0 -> 24.
            Ok(ok.then_some(v as u32))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.trim().parse().ok())
        }

        absent_for!(None; bool, null, seq, map);
    }

    /// A finite number (or a number in a string); anything else is absent.
    pub fn float<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(F64Visitor)
    }

    struct F64Visitor;

    impl<'de> Visitor<'de> for F64Visitor {
        type Value = Option<f64>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a number")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(Some(v as f64))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(v.is_finite().then_some(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(v.trim().parse::<f64>().ok().filter(|x| x.is_finite()))
        }

        absent_for!(None; bool, null, seq, map);
    }

    /// A Sentry timestamp: RFC 3339 (a missing zone is UTC) or a number of
    /// seconds since the epoch (spec 1.6).
    pub fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        d.deserialize_any(TimestampVisitor)
    }

    struct TimestampVisitor;

    impl<'de> Visitor<'de> for TimestampVisitor {
        type Value = Option<DateTime<Utc>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a timestamp")
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
            Ok(i64::try_from(v)
                .ok()
                .and_then(|s| DateTime::<Utc>::from_timestamp(s, 0)))
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
            Ok(DateTime::<Utc>::from_timestamp(v, 0))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Ok(from_seconds(v))
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(parse_time(v))
        }

        absent_for!(None; bool, null, seq, map);
    }

    /// Float seconds since the epoch.
    pub fn from_seconds(v: f64) -> Option<DateTime<Utc>> {
        // Beyond ±2^53 s a float has no sub-second part anyway, and chrono
        // covers far less than that.
        if !v.is_finite() || v.abs() > 9.0e15 {
            return None;
        }
        let secs = v.floor();
        let nanos = ((v - secs) * 1e9).round().clamp(0.0, 999_999_999.0) as u32;
        DateTime::<Utc>::from_timestamp(secs as i64, nanos)
    }

    /// RFC 3339, or the same without a zone (`2011-05-02T17:41:36`, UTC),
    /// or a number of seconds in a string.
    pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
        let s = s.trim();
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(t.with_timezone(&Utc));
        }
        for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Some(t.and_utc());
            }
        }
        s.parse::<f64>().ok().and_then(from_seconds)
    }

    // ---- objects and lists ---------------------------------------------

    /// An object read as `T`; anything else is absent.
    pub struct Obj<T>(pub Option<T>);

    struct ObjVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }

        absent_for!(None; bool, num, str, null, seq);
    }

    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(ObjVisitor(PhantomData)).map(Obj)
        }
    }

    pub fn obj<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        d.deserialize_any(ObjVisitor(PhantomData))
    }

    /// The objects of a list, read as `T` (other elements dropped), or the
    /// same list under the key `values` of an object: Sentry writes
    /// `exception` and `threads` either way (spec 1.6).
    pub fn values<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        d.deserialize_any(ValuesVisitor(PhantomData, true))
    }

    /// The objects of a list, read as `T` (other elements dropped).
    pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        d.deserialize_any(ValuesVisitor(PhantomData, false))
    }

    /// `.1`: whether an object with a `values` list is accepted too.
    struct ValuesVisitor<T>(PhantomData<T>, bool);

    impl<'de, T: Deserialize<'de>> Visitor<'de> for ValuesVisitor<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a list of objects")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Obj(x)) = seq.next_element::<Obj<T>>()? {
                out.extend(x);
            }
            Ok(out)
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(key) = map.next_key::<Text>()? {
                if self.1 && key.0.as_deref() == Some("values") {
                    out = map.next_value_seed(ListSeed::<T>(PhantomData))?;
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }

        absent_for!(Vec::new(); bool, num, str, null);
    }

    /// A string read as `T::from(string)`, or an object read as `T`;
    /// anything else is absent (the legacy `message`: a string, an object
    /// like `logentry`, or `false`).
    pub fn text_or_obj<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de> + From<String>,
    {
        d.deserialize_any(TextOrObjVisitor(PhantomData))
    }

    struct TextOrObjVisitor<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de> + From<String>> Visitor<'de> for TextOrObjVisitor<T> {
        type Value = Option<T>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a string or an object")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(T::from(v.to_owned())))
        }

        fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(T::from(v)))
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }

        absent_for!(None; bool, num, null, seq);
    }

    // ---- tags ----------------------------------------------------------

    /// Tags kept per event.
    pub const MAX_TAGS: usize = 20;
    /// Longest tag key or value kept, in characters (Sentry's limit).
    pub const MAX_TAG_CHARS: usize = 200;

    /// Tags as an object `{k: v}` or a list of `[k, v]` pairs (spec 1.6):
    /// text values only (numbers become text), non-empty keys, at most
    /// [`MAX_TAGS`], keys and values cut to [`MAX_TAG_CHARS`].
    pub fn tags<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
        d.deserialize_any(TagsVisitor)
    }

    fn tag(out: &mut Vec<(String, String)>, k: Option<String>, v: Option<String>) {
        if let (Some(k), Some(v)) = (k, v) {
            if !k.is_empty() && out.len() < MAX_TAGS {
                out.push((
                    super::cut_chars(k, MAX_TAG_CHARS),
                    super::cut_chars(v, MAX_TAG_CHARS),
                ));
            }
        }
    }

    struct TagsVisitor;

    impl<'de> Visitor<'de> for TagsVisitor {
        type Value = Vec<(String, String)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("tags")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(Text(k)) = map.next_key::<Text>()? {
                if out.len() < MAX_TAGS {
                    let Text(v) = map.next_value::<Text>()?;
                    tag(&mut out, k, v);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while out.len() < MAX_TAGS {
                match seq.next_element::<Pair>()? {
                    Some(Pair(Some((k, v)))) => tag(&mut out, Some(k), Some(v)),
                    Some(Pair(None)) => {}
                    None => return Ok(out),
                }
            }
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(out)
        }

        absent_for!(Vec::new(); bool, num, str, null);
    }

    /// `[k, v]` with both text (more elements are ignored).
    struct Pair(Option<(String, String)>);

    struct PairVisitor;

    impl<'de> Visitor<'de> for PairVisitor {
        type Value = Option<(String, String)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a [key, value] pair")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let k = seq.next_element::<Text>()?.and_then(|t| t.0);
            let v = match k {
                Some(_) => seq.next_element::<Text>()?.and_then(|t| t.0),
                None => None,
            };
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(k.zip(v))
        }

        absent_for!(None; bool, num, str, null, map);
    }

    impl<'de> Deserialize<'de> for Pair {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_any(PairVisitor).map(Pair)
        }
    }

    /// [`list`] as a seed, for the value under `values`.
    struct ListSeed<T>(PhantomData<T>);

    impl<'de, T: Deserialize<'de>> de::DeserializeSeed<'de> for ListSeed<T> {
        type Value = Vec<T>;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(ValuesVisitor(PhantomData, false))
        }
    }
}
