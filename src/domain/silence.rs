//! Silences: matchers plus a time window. An alert that an active silence
//! matches is shown as `silenced` and will not be notified; its state is kept.
//!
//! Matchers see the alert's labels plus a few derived ones, so routes and
//! silences can name what every alert has: `severity`, `service`, `alertname`
//! (the title when the alert has no such label) and `__fingerprint__`.

use chrono::{DateTime, Duration, Utc};

use super::{DomainError, Labels, Matcher, Severity, labels::truncate};

pub const MAX_COMMENT_LEN: usize = 1024;
pub const MAX_AUTHOR_LEN: usize = 128;
/// Matchers one silence may have (Alertmanager's own silences rarely have
/// more than a handful).
pub const MAX_MATCHERS: usize = 16;
/// Silences in force or pending at once; creating another is refused.
pub const MAX_ACTIVE_SILENCES: usize = 1000;
/// The longest silence: longer ones are forgotten, not silences.
pub const MAX_SILENCE: Duration = Duration::days(90);
/// The label through which a silence targets one alert.
pub const FINGERPRINT_LABEL: &str = "__fingerprint__";

/// A valid silence, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSilence {
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
}

impl NewSilence {
    pub fn new(
        matchers: Vec<Matcher>,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        created_by: &str,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<Self, DomainError> {
        if matchers.is_empty() {
            return Err(DomainError::new(
                "matchers",
                "at least one matcher is required",
            ));
        }
        if matchers.len() > MAX_MATCHERS {
            return Err(DomainError::new(
                "matchers",
                format!("a silence may have at most {MAX_MATCHERS} matchers"),
            ));
        }
        if super::matcher::match_unlabelled(&matchers) {
            return Err(DomainError::new(
                "matchers",
                "these matchers also match alerts without those labels, so a misspelt label \
                 would silence everything; add one that requires a value, e.g. env=\"prod\"",
            ));
        }
        if ends_at <= starts_at {
            return Err(DomainError::new("ends_at", "must be after starts_at"));
        }
        if ends_at <= now {
            return Err(DomainError::new("ends_at", "is in the past"));
        }
        if ends_at - starts_at > MAX_SILENCE {
            return Err(DomainError::new(
                "ends_at",
                "a silence may last at most 90 days",
            ));
        }
        // People's text, without control, bidi or invisible characters.
        let created_by = super::human::name(created_by, MAX_AUTHOR_LEN + 1);
        let comment = super::human::text(comment);
        if created_by.is_empty() || created_by.chars().count() > MAX_AUTHOR_LEN {
            return Err(DomainError::new(
                "created_by",
                format!("must be 1 to {MAX_AUTHOR_LEN} visible characters"),
            ));
        }
        if comment.len() > MAX_COMMENT_LEN {
            return Err(DomainError::new(
                "comment",
                format!("is longer than {MAX_COMMENT_LEN} bytes"),
            ));
        }
        Ok(Self {
            matchers,
            starts_at,
            ends_at,
            created_by,
            comment,
        })
    }

    /// A duration such as `"1h"` from now.
    pub fn parse_duration(field: &'static str, value: &str) -> Result<Duration, DomainError> {
        let d = humantime::parse_duration(value).map_err(|_| {
            DomainError::new(
                field,
                format!(
                    "`{}` is not a duration like \"30m\" or \"1h\"",
                    truncate(value, 40)
                ),
            )
        })?;
        let d = Duration::from_std(d).map_err(|_| DomainError::new(field, "is too long"))?;
        if d < Duration::seconds(1) || d > MAX_SILENCE {
            return Err(DomainError::new(field, "must be between 1s and 90 days"));
        }
        Ok(d)
    }

    /// Whether the silence is in force at `now`, given when it was expired early.
    pub fn is_active(
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        expired_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> bool {
        starts_at <= now && now < ends_at && expired_at.is_none_or(|e| now < e)
    }
}

/// The labels matchers are evaluated against (see the module docs).
pub fn match_labels(
    labels: &Labels,
    severity: Severity,
    service: Option<&str>,
    title: &str,
    fingerprint: &str,
) -> Labels {
    let mut map = labels.as_map().clone();
    map.entry("severity".into())
        .or_insert_with(|| severity.as_str().to_string());
    if let Some(service) = service {
        map.entry("service".into())
            .or_insert_with(|| service.to_string());
    }
    map.entry("alertname".into())
        .or_insert_with(|| title.to_string());
    map.insert(FINGERPRINT_LABEL.into(), fingerprint.to_string());
    // Valid labels plus valid derived names: nothing to check, so however
    // many labels the alert has, this cannot fail.
    Labels::trusted(map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::labels::test_labels;
    use crate::domain::matcher::all_match;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn m(s: &str) -> Matcher {
        Matcher::parse(s).unwrap()
    }

    #[test]
    fn validation_names_the_field() {
        let now = t("2026-11-22T10:00:00Z");
        let later = now + Duration::hours(1);
        assert!(NewSilence::new(vec![m("a=\"b\"")], now, later, "Li Lei", "", now).is_ok());
        let cases = [
            (vec![], now, later, "Li Lei", "matchers"),
            (vec![m("a=\"b\"")], later, now, "Li Lei", "ends_at"),
            (
                vec![m("a=\"b\"")],
                now - Duration::hours(2),
                now - Duration::hours(1),
                "Li Lei",
                "ends_at",
            ),
            (
                vec![m("a=\"b\"")],
                now,
                now + Duration::days(91),
                "Li Lei",
                "ends_at",
            ),
            (vec![m("a=\"b\"")], now, later, "  ", "created_by"),
            (vec![m("team=~\".*\"")], now, later, "Li Lei", "matchers"),
            (vec![m("env!=\"dev\"")], now, later, "Li Lei", "matchers"),
        ];
        for (matchers, s, e, by, field) in cases {
            assert_eq!(
                NewSilence::new(matchers, s, e, by, "", now)
                    .unwrap_err()
                    .field,
                field
            );
        }
        assert_eq!(
            NewSilence::parse_duration("duration", "1h").unwrap(),
            Duration::hours(1)
        );
        for bad in ["soon", "0s", "91d"] {
            assert_eq!(
                NewSilence::parse_duration("duration", bad)
                    .unwrap_err()
                    .field,
                "duration"
            );
        }
    }

    #[test]
    fn activity_window_and_early_expiry() {
        let (s, e) = (t("2026-11-22T10:00:00Z"), t("2026-11-22T11:00:00Z"));
        assert!(!NewSilence::is_active(s, e, None, s - Duration::seconds(1)));
        assert!(NewSilence::is_active(s, e, None, s));
        assert!(!NewSilence::is_active(s, e, None, e));
        let expired = s + Duration::minutes(5);
        assert!(!NewSilence::is_active(s, e, Some(expired), expired));
    }

    #[test]
    fn the_view_of_an_alert_with_the_most_labels_is_built() {
        let many: Vec<(String, String)> = (0..crate::domain::labels::MAX_LABELS)
            .map(|i| (format!("l{i}"), "v".into()))
            .collect();
        let labels = Labels::parse("labels", many).unwrap();
        let view = match_labels(&labels, Severity::Warning, Some("svc"), "t", "fp");
        assert_eq!(view.len(), crate::domain::labels::MAX_LABELS + 4);
    }

    #[test]
    fn derived_labels_let_matchers_name_what_every_alert_has() {
        let labels = test_labels(&[("team", "db")]);
        let l = match_labels(&labels, Severity::Critical, Some("pay"), "DB down", "fp1");
        assert!(all_match(
            &[
                m("severity=\"critical\""),
                m("service=\"pay\""),
                m("alertname=\"DB down\"")
            ],
            &l
        ));
        assert!(all_match(
            &[m("__fingerprint__=\"fp1\""), m("team=~\"db|infra\"")],
            &l
        ));
        // An alert's own label wins over a derived one.
        let own = test_labels(&[("alertname", "Disk")]);
        assert_eq!(
            match_labels(&own, Severity::Info, None, "t", "f").get("alertname"),
            Some("Disk")
        );
    }
}
