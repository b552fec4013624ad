//! What a page says: the few short fields that SMS and voice templates
//! carry, and the free text Twilio sends.
//!
//! Chinese providers accept alert text only as template variables, each a
//! few characters long (Alibaba 20, Tencent 6 by default: sms.md §1.9, §3.6)
//! and refuse URLs in them, so every field is cleaned (no URLs, no `【】{}`,
//! no control characters, spaces collapsed) and cut to the channel's limit
//! by characters, never bytes. A page about several alerts says how many
//! ("3 alerts: …"), so a storm costs one text, not one per alert.

use super::SendError;
use super::cards::Message;
use crate::domain::Severity;

/// The fields a template variable can take.
pub const FIELDS: [&str; 6] = ["severity", "title", "service", "id", "duration", "count"];

pub fn is_field(s: &str) -> bool {
    FIELDS.contains(&s)
}

/// `+` and 8 to 15 digits (E.164).
pub fn is_e164(s: &str) -> bool {
    let Some(digits) = s.strip_prefix('+') else {
        return false;
    };
    (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `P1` … `P4`: short enough for any template.
pub fn priority(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "P1",
        Severity::Error => "P2",
        Severity::Warning => "P3",
        Severity::Info => "P4",
    }
}

/// `s` without URLs, brackets providers refuse, control characters and
/// runs of spaces, cut to `max` characters.
pub fn clean(s: &str, max: usize) -> String {
    let mut words = Vec::new();
    for word in s.split_whitespace() {
        // Filtered first, so that a control character cannot hide a URL.
        let kept: String = word
            .chars()
            .filter(|c| !crate::domain::human::is_invisible(*c) && !"【】{}<>".contains(*c))
            .collect();
        let lower = kept.to_ascii_lowercase();
        if kept.is_empty() || lower.contains("://") || lower.starts_with("www.") {
            continue;
        }
        words.push(kept);
    }
    words.join(" ").chars().take(max).collect()
}

/// How long ago, in a few characters: `45s`, `12m`, `3h`, `2d`.
pub fn age(seconds: i64) -> String {
    let s = seconds.max(0);
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m", s / 60),
        3600..86_400 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// A page's fields, raw (not yet cut to a template's limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub severity: String,
    pub title: String,
    pub service: String,
    pub id: String,
    pub duration: String,
    pub count: usize,
}

impl Page {
    pub fn of(msg: &Message) -> Self {
        let count = msg.items.len() + msg.omitted;
        let head = &msg.items[0].alert;
        let severity = msg
            .items
            .iter()
            .map(|i| i.alert.severity)
            .min_by_key(|s| s.rank())
            .unwrap_or(head.severity);
        let title = if count > 1 {
            format!("{count} alerts: {}", head.title)
        } else {
            head.title.clone()
        };
        Self {
            severity: priority(severity).to_string(),
            title,
            service: head.service.clone().unwrap_or_default(),
            id: head.id.chars().take(8).collect(),
            duration: age((msg.now - head.first_seen).num_seconds()),
            count,
        }
    }

    /// One field by name, cleaned and cut to `max` characters.
    pub fn field(&self, name: &str, max: usize) -> String {
        let raw = match name {
            "severity" => self.severity.clone(),
            "title" => self.title.clone(),
            "service" => self.service.clone(),
            "id" => self.id.clone(),
            "duration" => self.duration.clone(),
            "count" => self.count.to_string(),
            _ => String::new(),
        };
        clean(&raw, max)
    }

    /// Free text (Twilio SMS): everything in one line, no links.
    pub fn text(&self, max: usize) -> String {
        let mut s = format!("[ackbot] {} {}", self.severity, self.title);
        if !self.service.is_empty() {
            s.push_str(&format!(" ({})", self.service));
        }
        s.push_str(&format!(
            ", open {}. Alert {}. Acknowledge in chat.",
            self.duration, self.id
        ));
        clean(&s, max)
    }

    /// What a voice call says.
    pub fn spoken(&self, max: usize) -> String {
        let what = if self.service.is_empty() {
            self.title.clone()
        } else {
            format!("{} on {}", self.title, self.service)
        };
        clean(
            &format!(
                "{} alert. {what}. Open for {}. Please acknowledge in chat.",
                self.severity, self.duration
            ),
            max,
        )
    }
}

/// How a provider's error code is handled (sms.md §1.7, §3.5, §4.3, §7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Back off and try the same provider again.
    Retry,
    /// A limit (per number, per day): trying again now would hit the same
    /// wall; the escalation moves on.
    Later,
    /// Wrong config or data: never retried; the escalation moves on.
    Fail,
}

impl Class {
    pub fn error(self, provider: &str, code: &str, message: &str) -> SendError {
        let text = format!("{provider} {code}: {}", clean(message, 200));
        match self {
            Class::Retry => SendError::transient(text),
            Class::Later => SendError::permanent(format!("limit reached, not retried: {text}")),
            Class::Fail => SendError::permanent(text),
        }
    }
}

/// The person a page goes to and their number.
pub fn recipient(msg: &Message) -> Result<(&str, &str), SendError> {
    let to = msg
        .audience
        .to
        .as_ref()
        .ok_or_else(|| SendError::permanent("a page needs a person to send to"))?;
    let phone = to
        .phone
        .as_deref()
        .ok_or_else(|| SendError::permanent(format!("{} has no phone in [[people]]", to.name)))?;
    Ok((&to.name, phone))
}

/// `host[:port]` of a base URL as an HTTP client sends it in `Host`.
pub fn host_of(base: &str) -> Result<String, SendError> {
    let url = reqwest::Url::parse(base)
        .map_err(|e| SendError::permanent(format!("api_base `{base}`: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| SendError::permanent(format!("api_base `{base}` has no host")))?;
    Ok(match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_brackets_and_controls_go_and_lengths_are_characters() {
        assert_eq!(
            clean("db-01 down see https://x.io/a now", 99),
            "db-01 down see now"
        );
        assert_eq!(
            clean("【ackbot】 {x}\u{7}  www.example.com ok", 99),
            "ackbot x ok"
        );
        assert_eq!(clean("磁盘满磁盘满磁盘满", 4), "磁盘满磁");
        assert_eq!(clean("", 5), "");
        assert_eq!(
            clean("see h\u{7}ttps:\u{200b}//x.io", 99),
            "see",
            "a hidden URL still goes"
        );
    }

    #[test]
    fn numbers_are_e164() {
        assert!(is_e164("+8613800000000"));
        assert!(is_e164("+15558675310"));
        assert!(!is_e164("13800000000"));
        assert!(!is_e164("+86 138 0000 0000"));
        assert!(!is_e164("+1234567"));
        assert!(!is_e164("+1234567890123456"));
    }

    #[test]
    fn ages_are_short() {
        assert_eq!(age(-3), "0s");
        assert_eq!(age(59), "59s");
        assert_eq!(age(720), "12m");
        assert_eq!(age(3 * 3600 + 5), "3h");
        assert_eq!(age(200_000), "2d");
    }
}
