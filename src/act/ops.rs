//! The actions people take on alerts, whatever they clicked or typed: one
//! place that resolves short ids, applies the state change or creates the
//! silence, and says what happened in words fit for a toast or a chat reply.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::domain::silence::{FINGERPRINT_LABEL, MAX_SILENCE};
use crate::domain::{MatchOp, Matcher, NewSilence, StateAction};
use crate::store::{ActionOutcome, Actor, AlertRecord, LinkUse, SilenceRecord, Store, StoreError};

/// What a person asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    Ack,
    Unack,
    Resolve,
    Silence(Duration),
}

impl Act {
    /// From a button value (`ack`, `unack`, `resolve`, `silence_1h`,
    /// `silence` with `duration_s`, 1 s to 90 days, default 1 h). The value
    /// comes from outside (a card callback body): anything else is an
    /// error to show, never arithmetic that overflows.
    pub fn from_value(
        action: &str,
        duration_s: Option<&serde_json::Value>,
    ) -> Result<Self, String> {
        match action {
            "ack" => Ok(Self::Ack),
            "unack" => Ok(Self::Unack),
            "resolve" => Ok(Self::Resolve),
            "silence_1h" => Ok(Self::Silence(Duration::hours(1))),
            "silence" => {
                let Some(value) = duration_s else {
                    return Ok(Self::Silence(Duration::hours(1)));
                };
                value
                    .as_i64()
                    .filter(|s| (1..=MAX_SILENCE.num_seconds()).contains(s))
                    .map(|s| Self::Silence(Duration::seconds(s)))
                    .ok_or_else(|| {
                        format!(
                            "`duration_s` must be a whole number of seconds from 1 to {} (90 days).",
                            MAX_SILENCE.num_seconds()
                        )
                    })
            }
            _ => Err(format!(
                "Unknown action `{}`.",
                crate::domain::labels::truncate_text(action, 40)
            )),
        }
    }
}

/// How it went, with the alert as it is now.
#[derive(Debug, Clone, PartialEq)]
pub enum Done {
    Changed(AlertRecord),
    /// Nothing to do: it already was (acknowledged by someone, resolved, …).
    Already(AlertRecord),
    Refused(String),
    NotFound(String),
    /// The short id fits several alerts.
    Ambiguous(String, Vec<String>),
}

impl Done {
    /// The `outcome` label of `ackbot_actions_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            Done::Changed(_) => "changed",
            Done::Already(_) => "unchanged",
            Done::Refused(_) => "refused",
            Done::NotFound(_) | Done::Ambiguous(..) => "not_found",
        }
    }

    /// One sentence for a toast or a reply.
    pub fn say(&self, act: Act) -> String {
        let title = |r: &AlertRecord| format!("[{}] {}", short(&r.id), r.title);
        match self {
            Done::Changed(r) => match act {
                Act::Ack => format!(
                    "Acknowledged {} ({})",
                    title(r),
                    r.acked_by.as_deref().unwrap_or("?")
                ),
                Act::Unack => format!("{} is firing again (unacknowledged)", title(r)),
                Act::Resolve => format!("Resolved {}", title(r)),
                Act::Silence(d) => format!(
                    "Silenced {} for {} (until {})",
                    title(r),
                    human(d),
                    r.silenced_until
                        .map(|t| t.format("%H:%M UTC").to_string())
                        .unwrap_or_default()
                ),
            },
            Done::Already(r) => match (act, r.acked_by.as_deref()) {
                (Act::Ack, Some(by)) => format!("{} is already acknowledged by {by}", title(r)),
                (Act::Resolve, _) => format!("{} is already resolved", title(r)),
                _ => format!("{} is already {}", title(r), r.state),
            },
            Done::Refused(why) => format!("Not done: {why}"),
            Done::NotFound(id) => format!("No alert with id {id}"),
            Done::Ambiguous(id, ids) => format!(
                "{id} fits several alerts ({}); type more of the id",
                ids.iter().map(|i| short(i)).collect::<Vec<_>>().join(", ")
            ),
        }
    }

    pub fn record(&self) -> Option<&AlertRecord> {
        match self {
            Done::Changed(r) | Done::Already(r) => Some(r),
            _ => None,
        }
    }
}

/// The first 8 characters of an id: what people see and type.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(8)]
}

fn human(d: Duration) -> String {
    let s = d.num_seconds();
    match (s / 3600, s % 3600 / 60) {
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h{m}m"),
    }
}

#[derive(Clone)]
pub struct Ops {
    pub store: Arc<dyn Store>,
}

impl Ops {
    /// An exact id, or an unambiguous prefix of one.
    pub async fn resolve_id(&self, id: &str) -> Result<Result<String, Done>, StoreError> {
        let id = id.trim_start_matches('#');
        if self.store.get(id).await?.is_some() {
            return Ok(Ok(id.to_string()));
        }
        if id.len() >= crate::store::ID_LEN {
            // As long as a whole id: a prefix of nothing else.
            return Ok(Err(Done::NotFound(id.to_string())));
        }
        let found = self.store.find_ids(id, 5).await?;
        Ok(match found.len() {
            0 => Err(Done::NotFound(id.to_string())),
            1 => Ok(found.into_iter().next().expect("one")),
            _ => Err(Done::Ambiguous(id.to_string(), found)),
        })
    }

    pub async fn act(
        &self,
        id: &str,
        act: Act,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Done, StoreError> {
        self.act_once(id, act, actor, None, now).await
    }

    /// [`Ops::act`] through a signed link, which is marked used together
    /// with the change ([`StoreError::LinkUsed`] if it already was).
    pub async fn act_once(
        &self,
        id: &str,
        act: Act,
        actor: &Actor,
        link: Option<&LinkUse>,
        now: DateTime<Utc>,
    ) -> Result<Done, StoreError> {
        let id = match self.resolve_id(id).await? {
            Ok(id) => id,
            Err(done) => return Ok(done),
        };
        let (action, name) = match act {
            Act::Ack => (StateAction::Ack, "ack"),
            Act::Unack => (StateAction::Unack, "unack"),
            Act::Resolve => (StateAction::Resolve, "resolve"),
            Act::Silence(d) => {
                let done = self.silence_alert(&id, d, actor, link, now).await?;
                crate::metrics::get().action(actor.via, "silence", done.outcome());
                return Ok(done);
            }
        };
        let done = match self.store.apply(&id, action, actor, link, now).await? {
            ActionOutcome::Changed(r) => Done::Changed(r),
            ActionOutcome::Unchanged(r) => Done::Already(r),
            ActionOutcome::Refused(why) => Done::Refused(why.to_string()),
            ActionOutcome::NotFound => Done::NotFound(id),
        };
        crate::metrics::get().action(actor.via, name, done.outcome());
        Ok(done)
    }

    async fn silence_alert(
        &self,
        id: &str,
        duration: Duration,
        actor: &Actor,
        link: Option<&LinkUse>,
        now: DateTime<Utc>,
    ) -> Result<Done, StoreError> {
        let Some(record) = self.store.get(id).await? else {
            return Ok(Done::NotFound(id.to_string()));
        };
        let matcher = Matcher::new(FINGERPRINT_LABEL, MatchOp::Equal, &record.fingerprint)
            .expect("an equality matcher on a stored fingerprint is valid");
        let comment = format!("from {}", actor.via);
        let silence = match NewSilence::new(
            vec![matcher],
            now,
            now + duration,
            actor.name(),
            &comment,
            now,
        ) {
            Ok(s) => s,
            Err(e) => return Ok(Done::Refused(e.to_string())),
        };
        match self
            .store
            .create_silence(&silence, Some((id, actor)), link, now)
            .await
        {
            Err(StoreError::Limit(why)) => return Ok(Done::Refused(why)),
            other => other?,
        };
        Ok(match self.store.get(id).await? {
            Some(r) => Done::Changed(r),
            None => Done::NotFound(id.to_string()),
        })
    }

    /// A silence by matchers (`silence team="db" 1h`).
    pub async fn silence_matchers(
        &self,
        matchers: Vec<Matcher>,
        duration: Duration,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Result<SilenceRecord, String>, StoreError> {
        let comment = format!("from {}", actor.via);
        match NewSilence::new(matchers, now, now + duration, actor.name(), &comment, now) {
            Ok(s) => match self.store.create_silence(&s, None, None, now).await {
                Err(StoreError::Limit(why)) => Ok(Err(why)),
                other => Ok(Ok(other?)),
            },
            Err(e) => Ok(Err(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn button_values() {
        use serde_json::json;
        assert_eq!(Act::from_value("ack", None), Ok(Act::Ack));
        assert_eq!(
            Act::from_value("silence_1h", None),
            Ok(Act::Silence(Duration::hours(1)))
        );
        assert_eq!(
            Act::from_value("silence", Some(&json!(600))),
            Ok(Act::Silence(Duration::minutes(10)))
        );
        assert_eq!(
            Act::from_value("silence", None),
            Ok(Act::Silence(Duration::hours(1)))
        );
        assert!(Act::from_value("delete", None).is_err());
        // Out of range, absurd or not a number: an error, never a panic.
        for bad in [
            json!(0),
            json!(-1),
            json!(i64::MAX),
            json!(i64::MIN),
            json!(u64::MAX),
            json!(1e300),
            json!("3600"),
            json!(90 * 86400 + 1),
        ] {
            assert!(Act::from_value("silence", Some(&bad)).is_err(), "{bad}");
        }
        assert!(Act::from_value("silence", Some(&json!(90 * 86400))).is_ok());
    }

    #[test]
    fn durations_read_like_people_write_them() {
        assert_eq!(human(Duration::hours(1)), "1h");
        assert_eq!(human(Duration::minutes(90)), "1h30m");
        assert_eq!(human(Duration::minutes(5)), "5m");
        assert_eq!(short("3f2a9c1d00aa11bb"), "3f2a9c1d");
        assert_eq!(short("ab"), "ab");
    }
}
