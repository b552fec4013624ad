//! Alert labels: Prometheus-style names (`[a-zA-Z_][a-zA-Z0-9_]*`) and bounded
//! values, kept sorted so the fingerprint and every rendering are stable.

use std::collections::BTreeMap;

use serde::Serialize;

use super::DomainError;

/// A label name longer than this is refused (Prometheus has no limit; ours keeps
/// fingerprints, cards and storage rows bounded).
pub const MAX_NAME_LEN: usize = 128;
/// A label value longer than this (bytes) is refused.
pub const MAX_VALUE_LEN: usize = 1024;
/// More labels than this on one alert is refused.
pub const MAX_LABELS: usize = 64;

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
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("日本語テキスト", 3), "日本語…");
        assert_eq!(truncate("ab", 3), "ab");
    }
}
