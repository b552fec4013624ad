//! The alert lifecycle: firing → acknowledged → resolved, with silences as an
//! overlay that has its own end time (a silenced alert keeps its state; while
//! the silence lasts it is shown as `silenced` and not notified).
//!
//! Transitions are a pure function so the engine, the API and the chat
//! handlers all apply the same rules, and the table is tested in one place.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertState {
    Firing,
    Acknowledged,
    Resolved,
}

/// Something that happens to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateAction {
    /// A new firing occurrence from the source.
    Fire,
    /// The source says it is over, or a person resolves it.
    Resolve,
    Ack,
    Unack,
}

/// The outcome of applying an action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// The state becomes this (record it in the audit trail).
    To(AlertState),
    /// Already there: nothing to record ("already acknowledged").
    Unchanged,
    /// Not allowed from the current state (the API answers 409).
    Refused(&'static str),
}

impl AlertState {
    pub fn apply(self, action: StateAction) -> Transition {
        use AlertState::*;
        use StateAction::*;
        match (self, action) {
            // A resolved alert that fires again is open again.
            (Resolved, Fire) => Transition::To(Firing),
            // Firing stays firing (the engine counts it); acknowledged stays
            // acknowledged: an ack holds until resolve or unack.
            (Firing | Acknowledged, Fire) => Transition::Unchanged,
            (Firing | Acknowledged, Resolve) => Transition::To(Resolved),
            (Resolved, Resolve) => Transition::Unchanged,
            (Firing, Ack) => Transition::To(Acknowledged),
            (Acknowledged, Ack) => Transition::Unchanged,
            (Resolved, Ack) => Transition::Refused("the alert is resolved"),
            (Acknowledged, Unack) => Transition::To(Firing),
            (Firing, Unack) => Transition::Unchanged,
            (Resolved, Unack) => Transition::Refused("the alert is resolved"),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    /// The state as the API shows it: `silenced` while a silence covers an
    /// unresolved alert.
    pub fn shown(self, silenced_until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> &'static str {
        match (self, silenced_until) {
            (Self::Resolved, _) => "resolved",
            (_, Some(until)) if until > now => "silenced",
            (state, _) => state.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::AlertState::*;
    use super::StateAction::*;
    use super::*;

    #[test]
    fn the_transition_table() {
        let table = [
            (Firing, Fire, Transition::Unchanged),
            (Firing, Ack, Transition::To(Acknowledged)),
            (Firing, Unack, Transition::Unchanged),
            (Firing, Resolve, Transition::To(Resolved)),
            (Acknowledged, Fire, Transition::Unchanged),
            (Acknowledged, Ack, Transition::Unchanged),
            (Acknowledged, Unack, Transition::To(Firing)),
            (Acknowledged, Resolve, Transition::To(Resolved)),
            (Resolved, Fire, Transition::To(Firing)),
            (Resolved, Ack, Transition::Refused("the alert is resolved")),
            (
                Resolved,
                Unack,
                Transition::Refused("the alert is resolved"),
            ),
            (Resolved, Resolve, Transition::Unchanged),
        ];
        for (from, action, want) in table {
            assert_eq!(from.apply(action), want, "{from:?} + {action:?}");
        }
    }

    #[test]
    fn silence_is_an_overlay_until_its_end() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let later = now + chrono::Duration::hours(1);
        assert_eq!(Firing.shown(Some(later), now), "silenced");
        assert_eq!(Acknowledged.shown(Some(later), now), "silenced");
        assert_eq!(Firing.shown(Some(now), now), "firing");
        assert_eq!(Resolved.shown(Some(later), now), "resolved");
        assert_eq!(Acknowledged.shown(None, now), "acknowledged");
    }
}
