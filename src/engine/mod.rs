//! Deciding what to notify, and where: no HTTP and no SQL here, so the rules
//! are unit-tested in one place and both storage backends apply the same ones.
//!
//! For every occurrence the store folds into a record, [`Engine::notices`]
//! answers "should people hear about this, how soon, and through which
//! channels". The store writes that answer to the outbox in the same
//! transaction as the alert, so a decision is never lost or made twice; the
//! delivery worker sends what is due.
//!
//! - [`notify`]: dedup, the aggregation window, critical bypass, resolve and
//!   repeat rules, silences (per alert, from its tracking columns).
//! - [`route`]: `[[routes]]` matching and notification groups (group_by,
//!   group_wait, group_interval, repeat_interval).
//! - [`streak`]: CI failure streaks, and the alert a streak raises.
//! - [`escalation`]: chains of steps while nobody acknowledges;
//!   [`schedule`] and [`oncall`]: who is on call, and whom a reference means.

pub mod escalation;
pub mod inhibit;
pub mod interval;
pub mod logrules;
pub mod notify;
pub mod oncall;
pub mod route;
pub mod schedule;
pub mod streak;

pub use notify::{Aggregation, Decision, Due, NoticeKind, Occurrence, Tracking};
pub use route::{GroupClocks, Router, Target, group_due};

use chrono::{DateTime, Utc};

use crate::config::Config;

/// The engine as configured: aggregation policy plus routing table.
#[derive(Debug, Clone)]
pub struct Engine {
    pub aggregation: Aggregation,
    pub router: Router,
    /// An acknowledgement older than this ends at the next firing occurrence.
    pub ack_ttl: chrono::Duration,
    /// `[[escalations]]` by name.
    pub escalations: std::collections::HashMap<String, escalation::Policy>,
    /// `[[inhibit_rules]]`, in order.
    pub inhibit: Vec<inhibit::Rule>,
}

impl Engine {
    pub fn from_config(config: &Config) -> Self {
        Self {
            aggregation: Aggregation {
                window: chrono::Duration::from_std(config.aggregation.window)
                    .expect("validated window"),
                threshold: config.aggregation.threshold,
            },
            router: Router::with_intervals(
                &config.channels,
                &config.routes,
                &crate::config::intervals::compile(&config.time_intervals).unwrap_or_default(),
            ),
            ack_ttl: chrono::Duration::from_std(config.alerts.ack_ttl)
                .unwrap_or(chrono::Duration::hours(8)),
            escalations: config
                .escalations
                .iter()
                .map(|e| (e.name.clone(), escalation::Policy::from_config(e)))
                .collect(),
            inhibit: config
                .inhibit_rules
                .iter()
                .map(inhibit::Rule::from_config)
                .collect(),
        }
    }

    /// The policy that escalates an alert of `severity` with these targets:
    /// the first route's that names one and covers the severity.
    pub fn escalation_for(
        &self,
        targets: &[Target],
        severity: crate::domain::Severity,
    ) -> Option<&escalation::Policy> {
        targets
            .iter()
            .filter_map(|t| self.escalations.get(t.escalation.as_deref()?))
            .find(|p| p.covers(severity))
    }
}

impl Default for Engine {
    fn default() -> Self {
        Self {
            aggregation: Aggregation::default(),
            router: Router::new(&[], &[]),
            ack_ttl: chrono::Duration::hours(8),
            escalations: Default::default(),
            inhibit: Vec::new(),
        }
    }
}

/// One outbox row to write: a notice for one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub kind: NoticeKind,
    pub channel: Option<String>,
    pub group_key: String,
    pub due_at: DateTime<Utc>,
    /// The route's `mention` references (empty: none).
    pub mention: String,
    /// Its route has time intervals: it may be due later than decided (the
    /// route muted by `mute_time_intervals`, or outside
    /// `active_time_intervals`), and when it is due it goes out only if it
    /// still applies (the alert still fires; its firing reached the channel).
    pub held: bool,
}

impl Engine {
    /// Decides for one occurrence and spreads the decision over its targets,
    /// moving their group clocks. Empty when nothing is to be said.
    pub fn notices(
        &self,
        targets: &[Target],
        tracking: &mut Tracking,
        occurrence: &Occurrence,
        clocks: &mut GroupClocks,
        now: DateTime<Utc>,
    ) -> Vec<Notice> {
        let repeat = targets
            .iter()
            .map(|t| t.repeat_interval)
            .min()
            .unwrap_or(chrono::Duration::hours(4));
        let Some(decision) = self.aggregation.decide(tracking, occurrence, repeat, now) else {
            return Vec::new();
        };
        targets
            .iter()
            .map(|t| {
                let due = match (decision.due, &t.channel) {
                    (Due::At(at), _) => at,
                    (Due::Grouped, Some(channel)) => clocks.due(channel, t, now),
                    (Due::Now | Due::Grouped, _) => now,
                };
                // Critical or not: a muted route waits (Alertmanager's mute
                // stage knows no severity either).
                let open = t.hold.as_ref().map_or(due, |h| h.next_open(due));
                Notice {
                    kind: decision.kind,
                    channel: t.channel.clone(),
                    group_key: t.group_key.clone(),
                    due_at: open,
                    mention: t.mention.clone(),
                    held: t.hold.is_some(),
                }
            })
            .collect()
    }
}
