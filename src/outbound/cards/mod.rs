//! What a notification says, rendered per platform. Pure functions from a
//! [`Message`] to the JSON (or text) each platform accepts, so the wording is
//! the same everywhere and every renderer is unit-tested without a network.
//!
//! Every renderer keeps its output under the platform's size limit by
//! truncating the alert content (and then listed alerts) with a visible
//! "…truncated", never by failing.

use chrono::{DateTime, Utc};

use crate::config::oncall::PersonConfig;
use crate::domain::Severity;
use crate::engine::NoticeKind;
use crate::store::AlertRecord;

pub mod dingtalk;
pub mod email;
pub mod feishu;
pub mod slack;
pub mod text;
pub mod words;

pub use words::Locale;
pub mod webhook;
pub mod wecom;

#[cfg(test)]
mod platforms_tests;

/// The action buttons of a card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Ack,
    /// Silence for one hour.
    Silence,
    Resolve,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Ack, Action::Silence, Action::Resolve];

    /// The value carried by callback buttons and signed links.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ack => "ack",
            Self::Silence => "silence_1h",
            Self::Resolve => "resolve",
        }
    }

    /// The button's words in a card's language.
    pub fn label_in(self, locale: Locale) -> &'static str {
        let w = locale.words();
        match self {
            Self::Ack => w.ack,
            Self::Silence => w.silence_1h,
            Self::Resolve => w.resolve,
        }
    }
}

/// Signed `/a/{token}` URLs for one alert, one per action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionLinks {
    pub ack: String,
    pub silence: String,
    pub resolve: String,
}

impl ActionLinks {
    pub fn get(&self, action: Action) -> &str {
        match action {
            Action::Ack => &self.ack,
            Action::Silence => &self.silence,
            Action::Resolve => &self.resolve,
        }
    }
}

/// One alert as a card shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub alert: AlertRecord,
    /// Signed action links; `None` when `[links]` or `server.public_url` is not
    /// configured (then link-button platforms show no buttons).
    pub links: Option<ActionLinks>,
    /// The alert's page in the web console, when cards link to it
    /// (`[ui] card_links`).
    pub console: Option<String>,
}

/// What makes a message a digest: everything that was due when a channel's
/// rate budget was short, in one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Digest {
    /// The first items a digest shows like a group does; every item after
    /// them gets one compact line, as many as fit the platform's limit.
    pub detailed: usize,
    /// Where to see every firing alert (a signed list page), for the
    /// "N more alerts" line; `None` without `[server] public_url`.
    pub more_url: Option<String>,
}

/// Who a message is for beyond the channel's own audience, and what the
/// escalation does next.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Audience {
    /// People the card @-mentions (chat channels).
    pub mentions: Vec<PersonConfig>,
    /// The one person a page goes to (SMS, voice).
    pub to: Option<PersonConfig>,
    /// "Escalates to Li Lei by SMS at 03:12 unless acknowledged".
    pub next: Option<String>,
}

/// One message to send: a notice about one alert, or a group/digest of several.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub kind: NoticeKind,
    /// At least one. The first is the headline alert.
    pub items: Vec<Item>,
    /// Alerts folded into this message but not listed ("12 more alerts").
    pub omitted: usize,
    /// Set for a digest.
    pub digest: Option<Digest>,
    /// Occurrences in the aggregation window (for `Aggregated`).
    pub occurrences: i64,
    pub now: DateTime<Utc>,
    pub audience: Audience,
    /// The time zone and language of the message (`[cards]`, or the
    /// channel's own `timezone` and `locale`).
    pub look: Look,
}

/// How a channel's cards read: their time zone and their words.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Look {
    pub tz: chrono_tz::Tz,
    pub locale: Locale,
}

/// The colour family of a card: platforms name them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Red,
    Orange,
    Yellow,
    Blue,
    Green,
}

impl Message {
    /// Resolved is green; otherwise the headline alert's severity decides.
    pub fn tone(&self) -> Tone {
        if self.kind == NoticeKind::Resolved {
            return Tone::Green;
        }
        match self.items[0].alert.severity {
            Severity::Critical => Tone::Red,
            Severity::Error => Tone::Orange,
            Severity::Warning => Tone::Yellow,
            Severity::Info => Tone::Blue,
        }
    }
}

/// What a channel of `kind` would send for `msg`, for `ackbot render`: the
/// request body as the platform gets it (pretty JSON), an email's subject,
/// text and HTML, or an SMS/voice page's template fields.
pub fn preview(kind: crate::config::ChannelKind, msg: &Message) -> String {
    use crate::config::ChannelKind as K;
    let json = |v: serde_json::Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    match kind {
        K::FeishuBot => json(feishu::bot_body(msg)),
        K::FeishuApp => json(feishu::card(msg, true)),
        K::DingtalkBot => json(dingtalk::message(msg)),
        K::WecomBot => json(wecom::message(msg)),
        K::Slack => json(slack::message(msg)),
        K::Webhook => json(webhook::payload(msg)),
        K::Email => {
            let e = email::message(msg);
            format!(
                "Subject: {}\n\n{}\n--- HTML ---\n{}",
                e.subject, e.text, e.html
            )
        }
        _ => {
            let p = crate::outbound::page::Page::of(msg);
            json(serde_json::json!({
                "severity": p.severity, "title": p.title, "service": p.service,
                "id": p.id, "duration": p.duration, "count": p.count,
            }))
        }
    }
}
