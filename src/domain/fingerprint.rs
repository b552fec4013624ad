//! The identity under which occurrences of "the same alert" fold together.
//! Given by the sender (Alertmanager's, or the `fingerprint` field), or derived
//! from service, title and labels.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{DomainError, Labels};

pub const MAX_LEN: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Fingerprint(String);

impl Fingerprint {
    /// A sender-given fingerprint: 1..=128 of `[A-Za-z0-9_.:-]`.
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let ok = !value.is_empty()
            && value.len() <= MAX_LEN
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_.:-".contains(&b));
        if ok {
            Ok(Self(value.to_string()))
        } else {
            Err(DomainError::new(
                "fingerprint",
                format!(
                    "must be 1 to {MAX_LEN} characters of letters, digits, `_`, `.`, `:` or `-`"
                ),
            ))
        }
    }

    /// Derived: the first 16 bytes of SHA-256 over service, title and the sorted
    /// labels, each length-prefixed so no two different inputs share a preimage.
    pub fn derive(service: Option<&str>, title: &str, labels: &Labels) -> Self {
        Self::derive_pairs(service, title, labels.iter())
    }

    /// [`Fingerprint::derive`] over label pairs in name order, valid or not
    /// (a repaired alert is identified by the labels it was sent with).
    pub fn derive_pairs<'a>(
        service: Option<&str>,
        title: &str,
        labels: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Self {
        let mut h = Sha256::new();
        let mut field = |s: &str| {
            h.update((s.len() as u64).to_be_bytes());
            h.update(s.as_bytes());
        };
        field(service.unwrap_or(""));
        field(title);
        for (k, v) in labels {
            field(k);
            field(v);
        }
        Self(hex::encode(&h.finalize()[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::labels::test_labels as labels;

    #[test]
    fn derived_is_stable_and_sensitive_to_every_part() {
        let a = Fingerprint::derive(Some("pay"), "DB down", &labels(&[("env", "prod")]));
        assert_eq!(
            a,
            Fingerprint::derive(Some("pay"), "DB down", &labels(&[("env", "prod")]))
        );
        assert_eq!(a.as_str().len(), 32);
        assert_ne!(
            a,
            Fingerprint::derive(Some("pay"), "DB down", &labels(&[("env", "dev")]))
        );
        assert_ne!(
            a,
            Fingerprint::derive(None, "DB down", &labels(&[("env", "prod")]))
        );
        assert_ne!(
            a,
            Fingerprint::derive(Some("pay"), "DB up", &labels(&[("env", "prod")]))
        );
        // Length prefixes: moving a boundary changes the fingerprint.
        assert_ne!(
            Fingerprint::derive(Some("ab"), "c", &Labels::default()),
            Fingerprint::derive(Some("a"), "bc", &Labels::default())
        );
    }

    #[test]
    fn given_fingerprints_are_checked() {
        assert!(Fingerprint::parse("c0ffee12:alert-1").is_ok());
        for bad in ["", "a b", "ä", &"x".repeat(MAX_LEN + 1)] {
            assert_eq!(Fingerprint::parse(bad).unwrap_err().field, "fingerprint");
        }
    }
}
