//! Alert labels: Prometheus-style names (`[a-zA-Z_][a-zA-Z0-9_]*`) and bounded
//! values, kept sorted so the fingerprint and every rendering are stable.
//!
//! Two ways in, for two kinds of sender:
//! - [`Labels::parse`] refuses what is out of bounds, for ackbot's own API,
//!   whose callers see the 400 and can fix their request;
//! - [`Labels::repair`] keeps everything it can, for Alertmanager and Grafana,
//!   which drop a whole group for good on a 4xx: names are mended, long values
//!   cut with a visible marker, and labels over the limit dropped, each change
//!   reported so the alert can carry a note.
//!
//! The limits live here and only here. Matchers see an alert's labels plus a
//! few derived ones (`domain::silence::match_labels`); that view is built
//! with [`Labels::trusted`], which checks nothing, so no combination of valid
//! input can make it fail.

use std::collections::BTreeMap;

use serde::Serialize;

use super::DomainError;

/// A label name longer than this is refused (Prometheus has no limit; ours keeps
/// fingerprints, cards and storage rows bounded).
pub const MAX_NAME_LEN: usize = 128;
/// A label value longer than this (bytes) is refused.
pub const MAX_VALUE_LEN: usize = 1024;
/// More labels than this on one alert is refused (or, repaired, dropped).
pub const MAX_LABELS: usize = 64;
/// Marks a value that was cut to fit (the same words cards use).
pub const CUT_MARK: &str = "…truncated";

/// True for a valid label name.
pub fn is_valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b == b'_' || b.is_ascii_alphabetic())
        && bytes.all(|b| b == b'_' || b.is_ascii_alphanumeric())
        && name.len() <= MAX_NAME_LEN
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Labels(BTreeMap<String, String>);

impl Labels {
    /// Validates every name and value; `field` names the input field in errors
    /// (`labels`, `annotations`).
    pub fn parse(
        field: &'static str,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, DomainError> {
        Self::parse_bounded(field, pairs, MAX_VALUE_LEN)
    }

    /// As [`Labels::parse`], with another bound on value length (annotations
    /// carry descriptions and runbook URLs, so they may be longer).
    pub fn parse_bounded(
        field: &'static str,
        pairs: impl IntoIterator<Item = (String, String)>,
        max_value_len: usize,
    ) -> Result<Self, DomainError> {
        let mut map = BTreeMap::new();
        for (name, value) in pairs {
            if !is_valid_name(&name) {
                return Err(DomainError::new(
                    field,
                    format!(
                        "`{}` is not a valid name (letters, digits and `_`, not starting with a digit, at most {MAX_NAME_LEN})",
                        truncate(&name, 40)
                    ),
                ));
            }
            if value.len() > max_value_len {
                return Err(DomainError::new(
                    field,
                    format!("value of `{name}` is longer than {max_value_len} bytes"),
                ));
            }
            map.insert(name, value);
            if map.len() > MAX_LABELS {
                return Err(DomainError::new(
                    field,
                    format!("more than {MAX_LABELS} entries"),
                ));
            }
        }
        Ok(Self(map))
    }

    /// Labels already validated, or built from validated parts (stored rows,
    /// the view matchers see): nothing is checked, nothing can fail.
    pub(crate) fn trusted(map: BTreeMap<String, String>) -> Self {
        Self(map)
    }

    /// Like [`Labels::parse_bounded`], but never refuses: invalid names are
    /// mended (see [`mend_name`]), values longer than `max_value_len` are cut
    /// on a character boundary and end in [`CUT_MARK`], and beyond
    /// `max_labels` the names in `keep` are kept first, then the rest in
    /// name order. Everything changed is in the returned [`Repairs`].
    pub fn repair(
        pairs: impl IntoIterator<Item = (String, String)>,
        max_value_len: usize,
        max_labels: usize,
        keep: &[&str],
    ) -> (Self, Repairs) {
        let mut repairs = Repairs::default();
        let mut map: BTreeMap<String, String> = BTreeMap::new();
        for (name, value) in pairs {
            let name = if is_valid_name(&name) {
                name
            } else {
                let mended = mend_name(&name);
                repairs.renamed.push(truncate(&name, 40));
                mended
            };
            let value = if value.len() > max_value_len {
                repairs.cut.push(name.clone());
                cut(&value, max_value_len)
            } else {
                value
            };
            // Two names that mend to the same one: the first stays.
            map.entry(name).or_insert(value);
        }
        if map.len() > max_labels {
            let mut kept = BTreeMap::new();
            for name in keep {
                if let Some((k, v)) = map.remove_entry(*name) {
                    kept.insert(k, v);
                }
            }
            let mut rest = map.into_iter();
            while kept.len() < max_labels {
                let Some((k, v)) = rest.next() else { break };
                kept.insert(k, v);
            }
            repairs.dropped = rest.map(|(k, _)| k).collect();
            map = kept;
        }
        (Self(map), repairs)
    }

    /// Adds or replaces one entry, for notes ackbot adds itself.
    pub(crate) fn insert(&mut self, name: &str, value: String) {
        self.0.insert(name.to_string(), value);
    }

    /// The map behind the labels (for storage as JSON).
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// What [`Labels::repair`] changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Repairs {
    /// Names that were not valid label names, as given (shortened).
    pub renamed: Vec<String>,
    /// Names whose values were cut.
    pub cut: Vec<String>,
    /// Names dropped over the count limit.
    pub dropped: Vec<String>,
}

impl Repairs {
    pub fn is_empty(&self) -> bool {
        self.renamed.is_empty() && self.cut.is_empty() && self.dropped.is_empty()
    }

    /// One sentence about `what` (`labels`, `annotations`), or `None`.
    pub fn describe(&self, what: &str) -> Option<String> {
        let mut parts = Vec::new();
        let list = |v: &[String]| {
            let shown: Vec<&str> = v.iter().take(10).map(String::as_str).collect();
            let more = v.len().saturating_sub(shown.len());
            if more > 0 {
                format!("{} and {more} more", shown.join(", "))
            } else {
                shown.join(", ")
            }
        };
        if !self.dropped.is_empty() {
            parts.push(format!(
                "{} {what} dropped over the limit of {MAX_LABELS}: {}",
                self.dropped.len(),
                list(&self.dropped)
            ));
        }
        if !self.cut.is_empty() {
            parts.push(format!("{what} cut to fit: {}", list(&self.cut)));
        }
        if !self.renamed.is_empty() {
            parts.push(format!(
                "{what} with invalid names renamed: {}",
                list(&self.renamed)
            ));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }
}

/// A valid label name made from any string, the way Prometheus sanitises
/// metric names: every other character becomes `_`, a leading digit gets a
/// `_` before it, an empty name becomes `_`, and the result is cut to
/// [`MAX_NAME_LEN`].
pub fn mend_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c == '_' || c.is_ascii_alphanumeric() {
                c
            } else {
                '_'
            }
        })
        .collect();
    if !out.starts_with(|c: char| c == '_' || c.is_ascii_alphabetic()) {
        out.insert(0, '_');
    }
    out.truncate(MAX_NAME_LEN);
    out
}

/// `s` cut to at most `max` bytes on a character boundary, ending in
/// [`CUT_MARK`] (which counts within `max`).
pub fn cut(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max.saturating_sub(CUT_MARK.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}{CUT_MARK}", &s[..end])
}

/// At most `max` characters of `s`, for error messages about hostile input.
pub fn truncate_text(s: &str, max: usize) -> String {
    truncate(s, max)
}

/// At most `max` characters of `s`, for error messages about hostile input.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Labels from literal pairs, for tests across the domain.
#[cfg(test)]
pub(crate) fn test_labels(v: &[(&str, &str)]) -> Labels {
    Labels::parse(
        "labels",
        v.iter().map(|(a, b)| (a.to_string(), b.to_string())),
    )
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn names_follow_prometheus() {
        for ok in ["a", "_", "env", "http_status_2xx", "A_b9"] {
            assert!(is_valid_name(ok), "{ok}");
        }
        for bad in [
            "",
            "9a",
            "a-b",
            "a.b",
            "é",
            "a b",
            &"a".repeat(MAX_NAME_LEN + 1),
        ] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }

    #[test]
    fn parse_checks_names_values_and_count() {
        let l = Labels::parse("labels", pairs(&[("env", "prod"), ("team", "db")])).unwrap();
        assert_eq!(l.get("env"), Some("prod"));
        assert_eq!(
            l.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["env", "team"]
        );
        let e = Labels::parse("labels", pairs(&[("bad-name", "x")])).unwrap_err();
        assert_eq!(e.field, "labels");
        assert!(e.message.contains("bad-name"));
        let long = "x".repeat(MAX_VALUE_LEN + 1);
        assert!(Labels::parse("annotations", pairs(&[("a", &long)])).is_err());
        let many: Vec<_> = (0..=MAX_LABELS)
            .map(|i| (format!("l{i}"), String::new()))
            .collect();
        assert!(Labels::parse("labels", many).is_err());
    }

    #[test]
    fn repair_keeps_what_it_can_and_says_what_it_changed() {
        let mut input = pairs(&[("bad-name", "x"), ("9lives", "y"), ("alertname", "A")]);
        input.push(("long".into(), "é".repeat(600)));
        input.extend((0..70).map(|i| (format!("l{i:02}"), String::new())));
        let (l, r) = Labels::repair(input, MAX_VALUE_LEN, MAX_LABELS, &["alertname", "long"]);
        assert_eq!(l.len(), MAX_LABELS);
        assert_eq!(l.get("alertname"), Some("A"), "kept first");
        assert_eq!(l.get("bad_name"), Some("x"));
        assert_eq!(l.get("_9lives"), Some("y"));
        let long = l.get("long").unwrap();
        assert!(
            long.len() <= MAX_VALUE_LEN && long.ends_with(CUT_MARK),
            "{long}"
        );
        assert_eq!(r.renamed, ["bad-name", "9lives"]);
        assert_eq!(r.cut, ["long"]);
        assert_eq!(r.dropped.len(), 74 - MAX_LABELS);
        assert!(l.iter().all(|(k, _)| is_valid_name(k)));
        let note = r.describe("labels").unwrap();
        assert!(
            note.starts_with("10 labels dropped over the limit of 64: "),
            "{note}"
        );
        assert!(Repairs::default().describe("labels").is_none());
    }

    #[test]
    fn mended_names_are_valid() {
        for raw in ["", "9", "a-b", "é", "a.b.c", &"x".repeat(300)] {
            assert!(is_valid_name(&mend_name(raw)), "{raw}");
        }
        assert_eq!(cut("abcdef", 100), "abcdef");
        assert_eq!(cut(&"é".repeat(10), 14), "é…truncated");
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("日本語テキスト", 3), "日本語…");
        assert_eq!(truncate("ab", 3), "ab");
    }
}
