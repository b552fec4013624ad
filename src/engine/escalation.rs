//! Escalation chains: what runs while an alert stays unacknowledged.
//!
//! A chain is a snapshot of an `[[escalations]]` policy taken when the alert
//! starts firing (a config reload does not change a running chain), and a
//! position in it: the next step and the repeats done. Each step waits,
//! then notifies; after the last step the chain starts over at most
//! `repeat` times, then it is exhausted. Everything here is pure: the store
//! keeps the position as a row with a due time (timers are rows, not
//! sleeping tasks), and `watch::escalations` runs what falls due.

use serde::{Deserialize, Serialize};

use crate::config::oncall::EscalationConfig;
use crate::domain::Severity;

/// One step as the chain keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// Milliseconds to wait before this step, from the step before (or the
    /// start).
    pub wait_ms: i64,
    pub channels: Vec<String>,
    pub notify: Vec<String>,
}

/// A policy as it was when the chain started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub steps: Vec<Step>,
    pub repeat: u32,
}

/// A configured policy, ready to start chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub name: String,
    pub severities: Vec<Severity>,
    pub snapshot: Snapshot,
}

impl Policy {
    pub fn from_config(c: &EscalationConfig) -> Self {
        Self {
            name: c.name.clone(),
            severities: c
                .severities
                .iter()
                .filter_map(|s| Severity::parse("severity", s).ok())
                .collect(),
            snapshot: Snapshot {
                steps: c
                    .steps
                    .iter()
                    .map(|s| Step {
                        wait_ms: i64::try_from(s.wait.as_millis()).unwrap_or(i64::MAX),
                        channels: s.channels.clone(),
                        notify: s.notify.clone(),
                    })
                    .collect(),
                repeat: c.repeat,
            },
        }
    }

    /// Whether an alert of this severity escalates under this policy.
    pub fn covers(&self, severity: Severity) -> bool {
        self.severities.contains(&severity)
    }
}

/// Where a chain stands: the next step to run and the repeats done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub step: usize,
    pub round: u32,
}

impl Snapshot {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a snapshot serializes")
    }

    pub fn from_json(s: &str) -> Option<Self> {
        serde_json::from_str(s)
            .ok()
            .filter(|s: &Self| !s.steps.is_empty())
    }

    /// The wait before the first step.
    pub fn first_wait(&self) -> i64 {
        self.steps.first().map_or(0, |s| s.wait_ms)
    }

    pub fn step(&self, p: Position) -> Option<&Step> {
        self.steps.get(p.step)
    }

    /// After running the step at `p`: the next position and how long to
    /// wait for it, or `None` when the chain is exhausted.
    pub fn after(&self, p: Position) -> Option<(Position, i64)> {
        let next = p.step + 1;
        if let Some(s) = self.steps.get(next) {
            return Some((
                Position {
                    step: next,
                    round: p.round,
                },
                s.wait_ms,
            ));
        }
        if p.round < self.repeat {
            return Some((
                Position {
                    step: 0,
                    round: p.round + 1,
                },
                self.first_wait(),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(waits: &[i64], repeat: u32) -> Snapshot {
        Snapshot {
            steps: waits
                .iter()
                .map(|w| Step {
                    wait_ms: *w,
                    channels: vec!["sms".into()],
                    notify: vec!["schedule:primary".into()],
                })
                .collect(),
            repeat,
        }
    }

    #[test]
    fn steps_run_in_order_then_repeat_then_stop() {
        let s = snapshot(&[300_000, 300_000, 600_000], 1);
        let mut p = Position { step: 0, round: 0 };
        let mut seen = vec![];
        while let Some((next, wait)) = s.after(p) {
            seen.push((next.step, next.round, wait));
            p = next;
        }
        assert_eq!(
            seen,
            vec![
                (1, 0, 300_000),
                (2, 0, 600_000),
                (0, 1, 300_000),
                (1, 1, 300_000),
                (2, 1, 600_000)
            ]
        );
    }

    #[test]
    fn no_repeat_ends_after_the_last_step() {
        let s = snapshot(&[60_000], 0);
        assert_eq!(s.after(Position { step: 0, round: 0 }), None);
    }

    #[test]
    fn snapshots_round_trip_and_reject_empty_chains() {
        let s = snapshot(&[1, 2], 3);
        assert_eq!(Snapshot::from_json(&s.to_json()), Some(s));
        assert_eq!(Snapshot::from_json(r#"{"steps":[],"repeat":0}"#), None);
        assert_eq!(Snapshot::from_json("not json"), None);
    }
}
