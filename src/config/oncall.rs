//! `[[people]]`, `[[schedules]]` and `[[escalations]]`: who can be paged,
//! who is on call when, and what happens when nobody acknowledges.
//!
//! People are named once and referred to everywhere by name, so a phone
//! number changes in one place. A reference in a step's `notify` or a
//! route's `mention` is one of:
//! - `schedule:<name>`: whoever is on call on that schedule when the step
//!   runs (overrides applied);
//! - `schedule:<name>:backup`: the next member of that rotation after the
//!   one on call;
//! - `person:<name>` or just `<name>`: that person.
//!
//! Validation resolves every reference at load, so a typo stops start-up
//! instead of paging nobody at 3 a.m.

use std::collections::HashSet;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::engine::schedule;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PersonConfig {
    pub name: String,
    /// E.164 (`+8613800000000`): SMS, voice, and DingTalk/WeCom @-mentions.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// Feishu `<at id=…>` (`ou_…`).
    pub feishu_open_id: Option<String>,
    /// DingTalk `at.atUserIds`.
    pub dingtalk_user_id: Option<String>,
    /// WeCom `mentioned_list`.
    pub wecom_user_id: Option<String>,
}

fn default_rotation() -> String {
    "7d".into()
}
fn default_handover() -> String {
    "10:00".into()
}
fn default_timezone() -> String {
    "UTC".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleConfig {
    pub name: String,
    /// `[[people]]` names, in rotation order.
    pub members: Vec<String>,
    /// Shift length: `1d`, `7d`, `12h`.
    #[serde(default = "default_rotation")]
    pub rotation: String,
    /// Local wall-clock time of the hand-over, `HH:MM`.
    #[serde(default = "default_handover")]
    pub handover: String,
    /// IANA zone of `handover` (`Asia/Shanghai`).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// Local date (`YYYY-MM-DD`) of the hand-over to the first member.
    pub start: Option<String>,
}

impl ScheduleConfig {
    /// The rotation this schedule describes (validated at load).
    pub fn rotation(&self) -> Option<schedule::Rotation> {
        let start = match &self.start {
            Some(s) => chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?,
            None => schedule::DEFAULT_START,
        };
        Some(schedule::Rotation {
            members: self.members.clone(),
            length: schedule::parse_length(&self.rotation)?,
            handover: schedule::parse_handover(&self.handover)?,
            tz: self.timezone.parse().ok()?,
            start,
        })
    }
}

fn default_wait() -> Duration {
    Duration::from_secs(300)
}
fn default_severities() -> Vec<String> {
    vec!["critical".into(), "error".into()]
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationConfig {
    pub name: String,
    /// Times the whole chain runs again after its last step (at most 9).
    #[serde(default)]
    pub repeat: u32,
    /// Only alerts of these severities escalate; the others are notified
    /// by their route and nothing more.
    #[serde(default = "default_severities")]
    pub severities: Vec<String>,
    pub steps: Vec<EscalationStep>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationStep {
    /// How long the alert stays unacknowledged before this step runs,
    /// counted from the route's notification (first step) or the step before.
    #[serde(default = "default_wait", with = "super::duration")]
    pub wait: Duration,
    /// Chat channels post the alert again with the `notify` people
    /// @-mentioned; SMS and voice channels page each of them.
    pub channels: Vec<String>,
    #[serde(default)]
    pub notify: Vec<String>,
}

/// The longest wait a step may have.
const MAX_WAIT: Duration = Duration::from_secs(7 * 24 * 3600);
/// Steps a policy may have, and repeats.
const MAX_STEPS: usize = 20;
pub const MAX_REPEAT: u32 = 9;

/// A parsed reference to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref<'a> {
    OnCall(&'a str),
    Backup(&'a str),
    Person(&'a str),
}

impl<'a> Ref<'a> {
    pub fn parse(s: &'a str) -> Self {
        if let Some(rest) = s.strip_prefix("schedule:") {
            return match rest.strip_suffix(":backup") {
                Some(name) => Ref::Backup(name),
                None => Ref::OnCall(rest),
            };
        }
        Ref::Person(s.strip_prefix("person:").unwrap_or(s))
    }
}

fn name_ok(s: &str) -> bool {
    !s.trim().is_empty() && s.chars().count() <= 64 && !s.chars().any(char::is_control)
}

pub(super) fn validate(
    people: &[PersonConfig],
    schedules: &[ScheduleConfig],
    escalations: &[EscalationConfig],
    channels: &[super::ChannelConfig],
) -> Result<(), ConfigError> {
    let mut persons = HashSet::new();
    for p in people {
        if !name_ok(&p.name) || p.name.contains(',') || p.name.contains(':') {
            return Err(invalid(
                "people.name",
                format!("`{}` must be 1 to 64 characters without `,` or `:`", p.name),
            ));
        }
        if !persons.insert(p.name.as_str()) {
            return Err(invalid(
                "people.name",
                format!("two people are named `{}`", p.name),
            ));
        }
        if let Some(phone) = &p.phone {
            if !crate::outbound::page::is_e164(phone) {
                return Err(invalid(
                    "people.phone",
                    format!(
                        "of `{}`: `{phone}` is not an E.164 number like +8613800000000",
                        p.name
                    ),
                ));
            }
        }
    }
    let mut names = HashSet::new();
    for s in schedules {
        if !name_ok(&s.name) || s.name.contains(':') || !names.insert(s.name.as_str()) {
            return Err(invalid(
                "schedules.name",
                format!("`{}` is empty, has a `:`, or is used twice", s.name),
            ));
        }
        if s.members.is_empty() {
            return Err(invalid(
                "schedules.members",
                format!("schedule `{}` has no members", s.name),
            ));
        }
        if let Some(m) = s.members.iter().find(|m| !persons.contains(m.as_str())) {
            return Err(invalid(
                "schedules.members",
                format!("schedule `{}`: `{m}` is not in [[people]]", s.name),
            ));
        }
        if schedule::parse_length(&s.rotation).is_none() {
            return Err(invalid(
                "schedules.rotation",
                format!(
                    "schedule `{}`: `{}` is not a shift length like 1d, 7d or 12h",
                    s.name, s.rotation
                ),
            ));
        }
        if schedule::parse_handover(&s.handover).is_none() {
            return Err(invalid(
                "schedules.handover",
                format!("schedule `{}`: `{}` is not HH:MM", s.name, s.handover),
            ));
        }
        if s.timezone.parse::<chrono_tz::Tz>().is_err() {
            return Err(invalid(
                "schedules.timezone",
                format!(
                    "schedule `{}`: `{}` is not an IANA time zone like Asia/Shanghai",
                    s.name, s.timezone
                ),
            ));
        }
        if let Some(start) = &s.start {
            if chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d").is_err() {
                return Err(invalid(
                    "schedules.start",
                    format!("schedule `{}`: `{start}` is not YYYY-MM-DD", s.name),
                ));
            }
        }
    }
    let check_ref = |key: &'static str, r: &str| -> Result<(), ConfigError> {
        let ok = match Ref::parse(r) {
            Ref::OnCall(s) | Ref::Backup(s) => names.contains(s),
            Ref::Person(p) => persons.contains(p),
        };
        if ok {
            Ok(())
        } else {
            Err(invalid(
                key,
                format!("`{r}` names no [[schedules]] or [[people]] entry"),
            ))
        }
    };
    let mut policies = HashSet::new();
    for e in escalations {
        if !name_ok(&e.name) || !policies.insert(e.name.as_str()) {
            return Err(invalid(
                "escalations.name",
                format!("`{}` is empty or used twice", e.name),
            ));
        }
        if e.steps.is_empty() || e.steps.len() > MAX_STEPS {
            return Err(invalid(
                "escalations.steps",
                format!("`{}` needs 1 to {MAX_STEPS} steps", e.name),
            ));
        }
        if e.repeat > MAX_REPEAT {
            return Err(invalid(
                "escalations.repeat",
                format!("`{}`: at most {MAX_REPEAT}", e.name),
            ));
        }
        for s in &e.severities {
            crate::domain::Severity::parse("severity", s)
                .map_err(|err| invalid("escalations.severities", format!("`{}`: {err}", e.name)))?;
        }
        for (i, step) in e.steps.iter().enumerate() {
            if step.wait > MAX_WAIT {
                return Err(invalid(
                    "escalations.steps.wait",
                    format!("`{}` step {}: at most 7d", e.name, i + 1),
                ));
            }
            if step.channels.is_empty() {
                return Err(invalid(
                    "escalations.steps.channels",
                    format!("`{}` step {} names no channel", e.name, i + 1),
                ));
            }
            for c in &step.channels {
                let Some(channel) = channels.iter().find(|x| &x.name == c) else {
                    return Err(invalid(
                        "escalations.steps.channels",
                        format!("`{}` step {}: unknown channel `{c}`", e.name, i + 1),
                    ));
                };
                if channel.kind.pages() && step.notify.is_empty() {
                    return Err(invalid(
                        "escalations.steps.notify",
                        format!(
                            "`{}` step {}: `{c}` pages people; say whom with notify",
                            e.name,
                            i + 1
                        ),
                    ));
                }
            }
            for r in &step.notify {
                check_ref("escalations.steps.notify", r)?;
            }
        }
    }
    Ok(())
}

/// Checks the references of routes (`escalation`, `mention`).
pub(super) fn validate_routes(
    routes: &[super::RouteConfig],
    people: &[PersonConfig],
    schedules: &[ScheduleConfig],
    escalations: &[EscalationConfig],
) -> Result<(), ConfigError> {
    for (i, r) in routes.iter().enumerate() {
        if let Some(e) = &r.escalation {
            if !escalations.iter().any(|x| &x.name == e) {
                return Err(invalid(
                    "routes.escalation",
                    format!("route #{}: no [[escalations]] named `{e}`", i + 1),
                ));
            }
        }
        for m in &r.mention {
            let ok = match Ref::parse(m) {
                Ref::OnCall(s) | Ref::Backup(s) => schedules.iter().any(|x| x.name == s),
                Ref::Person(p) => people.iter().any(|x| x.name == p),
            };
            if !ok {
                return Err(invalid(
                    "routes.mention",
                    format!("route #{}: `{m}` names no schedule or person", i + 1),
                ));
            }
        }
    }
    Ok(())
}
