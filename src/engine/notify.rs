//! When an occurrence is worth a notification.
//!
//! The rules, in the order they are checked:
//! - **Silenced**: an alert that an active silence covers is never notified;
//!   its occurrences still count, and once the silence ends the next firing
//!   occurrence notifies again.
//! - **Aggregation**: occurrences of one fingerprint are counted in a window
//!   (default 60 s from the burst's first occurrence). The occurrence that
//!   makes the count exceed the threshold (default 5) schedules one
//!   `aggregated` notification for the window's end; until then the burst's
//!   other notices (re-fires and resolves of a flapping alert) fold into it.
//!   So 5 occurrences in a minute give one message, and 500 give two: the
//!   first, and one summary.
//! - **Critical bypass**: `critical` alerts are never aggregated nor held in a
//!   group: their notices are due at once.
//! - **Dedup**: a re-sent occurrence of an alert that is already firing, and
//!   already notified, says nothing new and is not notified.
//! - **Firing**: an alert notifies when it starts firing (new, or firing again
//!   after it resolved), or when it fires and people were never told (it was
//!   silenced when it started).
//! - **Resolved**: notified when the alert was notified firing, even if it was
//!   acknowledged meanwhile (acknowledged is not silenced).
//! - **Repeat**: a firing, unacknowledged alert whose last notice is older than
//!   the route's `repeat_interval` notifies again on its next occurrence.

use chrono::{DateTime, Duration, Utc};

use crate::domain::AlertState;

/// The aggregation window from `[aggregation]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aggregation {
    pub window: Duration,
    pub threshold: u32,
}

impl Default for Aggregation {
    fn default() -> Self {
        Self {
            window: Duration::seconds(60),
            threshold: 5,
        }
    }
}

/// What kind of message a notice becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NoticeKind {
    Firing,
    Resolved,
    /// A burst: "seen N times in the last minute".
    Aggregated,
    /// Still firing after `repeat_interval`.
    Repeat,
    /// A person acknowledged, silenced, resolved or unacknowledged it: the
    /// channels that carried the alert update their card or get a follow-up.
    Update,
    /// An escalation step posts the alert again, @-mentioning people.
    Escalation,
    /// An escalation step pages one person (SMS, voice).
    Page,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Resolved => "resolved",
            Self::Aggregated => "aggregated",
            Self::Repeat => "repeat",
            Self::Update => "update",
            Self::Escalation => "escalation",
            Self::Page => "page",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Firing,
            Self::Resolved,
            Self::Aggregated,
            Self::Repeat,
            Self::Update,
            Self::Escalation,
            Self::Page,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// How soon a notice is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// At once, ignoring the route's group timers (critical alerts).
    Now,
    /// When the notification group next flushes (group_wait/group_interval).
    Grouped,
    /// At this time (the end of an aggregation window).
    At(DateTime<Utc>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub kind: NoticeKind,
    pub due: Due,
}

/// Per-alert notification memory, kept in the alert's row.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tracking {
    /// What people were last told: `Firing`, `Resolved`, or nothing yet.
    pub notified: Option<AlertState>,
    pub last_notified_at: Option<DateTime<Utc>>,
    /// The current aggregation window: its start, occurrences in it, and
    /// whether its aggregated notice is already scheduled.
    pub window_start: Option<DateTime<Utc>>,
    pub window_count: u32,
    pub window_aggregated: bool,
}

/// One thing that happened to an alert, as the rules need to see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occurrence {
    /// A firing occurrence from the source (counts in the window); `false`
    /// for a resolve, from the source or from a person.
    pub firing: bool,
    pub critical: bool,
    /// The state before; `None` for a record this occurrence creates.
    pub from: Option<AlertState>,
    pub to: AlertState,
    /// An active silence covers the alert now.
    pub silenced: bool,
}

impl Aggregation {
    /// Applies the rules (module docs) to one occurrence, updating `t`.
    /// `repeat` is the shortest `repeat_interval` of the alert's routes.
    pub fn decide(
        &self,
        t: &mut Tracking,
        o: &Occurrence,
        repeat: Duration,
        now: DateTime<Utc>,
    ) -> Option<Decision> {
        if o.firing {
            match t.window_start {
                Some(start) if start <= now && now < start + self.window => {
                    t.window_count = t.window_count.saturating_add(1);
                }
                _ => {
                    t.window_start = Some(now);
                    t.window_count = 1;
                    t.window_aggregated = false;
                }
            }
        }
        if o.silenced {
            // What people were told no longer holds once a silence hid the
            // alert: when it ends, the next firing occurrence notifies again.
            if t.notified == Some(AlertState::Firing) {
                t.notified = None;
            }
            return None;
        }
        let window_end = t.window_start.map(|s| s + self.window);
        let in_burst = !o.critical && t.window_aggregated && window_end.is_some_and(|e| now < e);
        let due = if o.critical { Due::Now } else { Due::Grouped };
        let notify = |t: &mut Tracking, kind, due, told| {
            t.notified = Some(told);
            t.last_notified_at = Some(now);
            Some(Decision { kind, due })
        };
        if !o.firing {
            let resolves = o.to == AlertState::Resolved && o.from != Some(AlertState::Resolved);
            if !resolves || t.notified != Some(AlertState::Firing) || in_burst {
                return None;
            }
            return notify(t, NoticeKind::Resolved, due, AlertState::Resolved);
        }
        if !o.critical
            && !t.window_aggregated
            && t.window_count > self.threshold
            && o.to == AlertState::Firing
        {
            t.window_aggregated = true;
            let end = window_end.expect("a firing occurrence opened the window");
            return notify(t, NoticeKind::Aggregated, Due::At(end), AlertState::Firing);
        }
        if in_burst {
            return None;
        }
        let starts = !matches!(o.from, Some(AlertState::Firing | AlertState::Acknowledged));
        if starts || (o.to == AlertState::Firing && t.notified != Some(AlertState::Firing)) {
            return notify(t, NoticeKind::Firing, due, AlertState::Firing);
        }
        if o.to == AlertState::Firing && t.last_notified_at.is_some_and(|l| now >= l + repeat) {
            return notify(t, NoticeKind::Repeat, due, AlertState::Firing);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AlertState::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    const REPEAT: Duration = Duration::hours(4);

    fn fire(from: Option<AlertState>) -> Occurrence {
        Occurrence {
            firing: true,
            critical: false,
            from,
            to: if from == Some(Acknowledged) {
                Acknowledged
            } else {
                Firing
            },
            silenced: false,
        }
    }

    fn resolve(from: AlertState) -> Occurrence {
        Occurrence {
            firing: false,
            critical: false,
            from: Some(from),
            to: Resolved,
            silenced: false,
        }
    }

    /// Feeds occurrences one second apart; returns the kinds decided.
    fn run(
        agg: &Aggregation,
        t: &mut Tracking,
        occs: &[Occurrence],
        start: DateTime<Utc>,
    ) -> Vec<Option<NoticeKind>> {
        occs.iter()
            .enumerate()
            .map(|(i, o)| {
                agg.decide(t, o, REPEAT, start + Duration::seconds(i as i64))
                    .map(|d| d.kind)
            })
            .collect()
    }

    #[test]
    fn five_in_a_window_give_one_notice() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        let mut occs = vec![fire(None)];
        occs.extend([fire(Some(Firing)); 4]);
        let kinds = run(&agg, &mut t, &occs, t0());
        assert_eq!(kinds[0], Some(NoticeKind::Firing));
        assert!(kinds[1..].iter().all(Option::is_none), "{kinds:?}");
        assert_eq!(t.window_count, 5);
    }

    #[test]
    fn the_sixth_schedules_one_aggregated_notice_at_the_window_end() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        let mut occs = vec![fire(None)];
        occs.extend([fire(Some(Firing)); 20]);
        let mut decisions = Vec::new();
        for (i, o) in occs.iter().enumerate() {
            let now = t0() + Duration::seconds(i as i64);
            decisions.push(agg.decide(&mut t, o, REPEAT, now));
        }
        let made: Vec<_> = decisions.iter().flatten().collect();
        assert_eq!(made.len(), 2, "{made:?}");
        assert_eq!(made[0].kind, NoticeKind::Firing);
        assert_eq!(made[0].due, Due::Grouped);
        assert_eq!(made[1].kind, NoticeKind::Aggregated);
        assert_eq!(made[1].due, Due::At(t0() + Duration::seconds(60)));
        assert!(decisions[5].is_some(), "the sixth occurrence decides");
    }

    #[test]
    fn a_new_window_can_aggregate_again() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        let mut occs = vec![fire(None)];
        occs.extend([fire(Some(Firing)); 9]);
        run(&agg, &mut t, &occs, t0());
        let later = t0() + Duration::seconds(120);
        let kinds = run(&agg, &mut t, &[fire(Some(Firing)); 6], later);
        assert_eq!(kinds.iter().flatten().count(), 1);
        assert_eq!(kinds[5], Some(NoticeKind::Aggregated));
    }

    #[test]
    fn critical_bypasses_aggregation_and_is_due_at_once() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        let crit = |from| Occurrence {
            critical: true,
            ..fire(from)
        };
        let mut decisions = vec![agg.decide(&mut t, &crit(None), REPEAT, t0())];
        for i in 1..20 {
            let now = t0() + Duration::seconds(i);
            decisions.push(agg.decide(&mut t, &crit(Some(Firing)), REPEAT, now));
        }
        assert_eq!(
            decisions[0],
            Some(Decision {
                kind: NoticeKind::Firing,
                due: Due::Now
            })
        );
        assert!(decisions[1..].iter().all(Option::is_none), "re-sends dedup");
        let resolved = agg.decide(
            &mut t,
            &Occurrence {
                critical: true,
                ..resolve(Firing)
            },
            REPEAT,
            t0() + Duration::seconds(21),
        );
        assert_eq!(
            resolved,
            Some(Decision {
                kind: NoticeKind::Resolved,
                due: Due::Now
            })
        );
    }

    #[test]
    fn a_flapping_alert_folds_into_the_aggregated_notice() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        let mut occs = vec![fire(None)];
        for _ in 0..10 {
            occs.push(resolve(Firing));
            occs.push(fire(Some(Resolved)));
        }
        let kinds: Vec<_> = run(&agg, &mut t, &occs, t0())
            .into_iter()
            .flatten()
            .collect();
        // fire, resolve, 4 re-fires notified individually (with their
        // resolves), then the 6th firing occurrence opens the summary.
        assert_eq!(kinds.last(), Some(&NoticeKind::Aggregated));
        assert_eq!(
            kinds
                .iter()
                .filter(|k| **k == NoticeKind::Aggregated)
                .count(),
            1
        );
        assert!(kinds.len() <= 11, "{kinds:?}");
    }

    #[test]
    fn resolve_notifies_even_when_acknowledged_but_not_if_never_told() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        agg.decide(&mut t, &fire(None), REPEAT, t0());
        let d = agg.decide(&mut t, &resolve(Acknowledged), REPEAT, t0());
        assert_eq!(d.map(|d| d.kind), Some(NoticeKind::Resolved));
        assert_eq!(t.notified, Some(Resolved));
        // Already resolved: a second resolve says nothing.
        assert_eq!(agg.decide(&mut t, &resolve(Resolved), REPEAT, t0()), None);

        let mut never = Tracking::default();
        let silenced = Occurrence {
            silenced: true,
            ..fire(None)
        };
        assert_eq!(agg.decide(&mut never, &silenced, REPEAT, t0()), None);
        assert_eq!(agg.decide(&mut never, &resolve(Firing), REPEAT, t0()), None);
    }

    #[test]
    fn silenced_alerts_count_but_do_not_notify_and_notify_once_the_silence_ends() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        let silenced = |from| Occurrence {
            silenced: true,
            ..fire(from)
        };
        assert_eq!(agg.decide(&mut t, &silenced(None), REPEAT, t0()), None);
        assert_eq!(
            agg.decide(&mut t, &silenced(Some(Firing)), REPEAT, t0()),
            None
        );
        assert_eq!(t.window_count, 2);
        let after = t0() + Duration::hours(2);
        let d = agg.decide(&mut t, &fire(Some(Firing)), REPEAT, after);
        assert_eq!(d.map(|d| d.kind), Some(NoticeKind::Firing));
    }

    #[test]
    fn a_silence_over_a_notified_alert_lets_it_notify_again_when_it_ends() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        agg.decide(&mut t, &fire(None), REPEAT, t0());
        let during = Occurrence {
            silenced: true,
            ..fire(Some(Firing))
        };
        let t1 = t0() + Duration::minutes(10);
        assert_eq!(agg.decide(&mut t, &during, REPEAT, t1), None);
        let after = t0() + Duration::hours(2);
        let d = agg.decide(&mut t, &fire(Some(Firing)), REPEAT, after);
        assert_eq!(d.map(|d| d.kind), Some(NoticeKind::Firing));
    }

    #[test]
    fn repeat_after_the_interval_unless_acknowledged() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        agg.decide(&mut t, &fire(None), REPEAT, t0());
        let soon = t0() + Duration::hours(1);
        assert_eq!(agg.decide(&mut t, &fire(Some(Firing)), REPEAT, soon), None);
        let late = t0() + Duration::hours(5);
        let mut acked = t.clone();
        let d = agg.decide(&mut t, &fire(Some(Firing)), REPEAT, late);
        assert_eq!(d.map(|d| d.kind), Some(NoticeKind::Repeat));
        let d = agg.decide(&mut acked, &fire(Some(Acknowledged)), REPEAT, late);
        assert_eq!(d, None);
    }

    #[test]
    fn refire_after_resolve_notifies_again() {
        let agg = Aggregation::default();
        let mut t = Tracking::default();
        agg.decide(&mut t, &fire(None), REPEAT, t0());
        agg.decide(&mut t, &resolve(Firing), REPEAT, t0());
        let later = t0() + Duration::minutes(10);
        let d = agg.decide(&mut t, &fire(Some(Resolved)), REPEAT, later);
        assert_eq!(d.map(|d| d.kind), Some(NoticeKind::Firing));
    }

    #[test]
    fn threshold_is_configurable() {
        let agg = Aggregation {
            window: Duration::seconds(10),
            threshold: 2,
        };
        let mut t = Tracking::default();
        let occs = [fire(None), fire(Some(Firing)), fire(Some(Firing))];
        let kinds = run(&agg, &mut t, &occs, t0());
        assert_eq!(
            kinds,
            vec![Some(NoticeKind::Firing), None, Some(NoticeKind::Aggregated)]
        );
    }
}
