//! Severity, most urgent first. `critical` bypasses aggregation.

use serde::{Deserialize, Serialize};

use super::DomainError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Critical,
    Error,
    Warning,
    Info,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Critical, Self::Error, Self::Warning, Self::Info];

    /// 0 for critical up to 3 for info: the delivery order (critical first).
    pub fn rank(self) -> i64 {
        match self {
            Self::Critical => 0,
            Self::Error => 1,
            Self::Warning => 2,
            Self::Info => 3,
        }
    }

    /// Case-insensitive; `field` is the input field the value came from.
    pub fn parse(field: &'static str, value: &str) -> Result<Self, DomainError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value.trim()))
            .ok_or_else(|| {
                DomainError::new(
                    field,
                    format!(
                        "`{}` is not a severity; use critical, error, warning or info",
                        super::labels::truncate(value, 40)
                    ),
                )
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Critical => "critical",
            Self::Error => "error",
            Self::Warning => "warning",
            Self::Info => "info",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_case_insensitively_and_orders_by_urgency() {
        assert_eq!(
            Severity::parse("severity", "CRITICAL"),
            Ok(Severity::Critical)
        );
        assert_eq!(Severity::parse("level", " warning "), Ok(Severity::Warning));
        let e = Severity::parse("level", "panic").unwrap_err();
        assert_eq!(e.field, "level");
        assert!(Severity::Critical < Severity::Info);
        for s in Severity::ALL {
            assert_eq!(Severity::parse("severity", s.as_str()), Ok(s));
        }
    }
}
