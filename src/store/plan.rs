//! What a write transaction changes, computed in memory: the rows it loaded,
//! folded with the new occurrences or actions through the engine's rules,
//! become a list of rows to write. Both backends run the same plan, and a
//! batch of many requests costs a handful of statements, not a few per alert.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::rows::{AlertRow, EventRow, OutboxRow, labels_json};
use super::{Actor, SilenceRecord, StoreError, new_id};
use crate::domain::matcher::all_match;
use crate::domain::silence::match_labels;
use crate::domain::{AlertState, AlertStatus, Labels, NewAlert, Severity, StateAction, Transition};
use crate::engine::{Engine, GroupClocks, Notice, Occurrence, Target};

/// The audit-trail name of a transition.
pub(crate) fn event_kind(to: AlertState, from: AlertState) -> &'static str {
    match (from, to) {
        (AlertState::Resolved, AlertState::Firing) => "refired",
        (AlertState::Acknowledged, AlertState::Firing) => "unacknowledged",
        (_, AlertState::Acknowledged) => "acknowledged",
        (_, AlertState::Resolved) => "resolved",
        (_, AlertState::Firing) => "fired",
    }
}

/// The labels matchers (routes, silences, inhibit rules) see for a stored
/// alert.
pub(crate) fn view_of(r: &AlertRow) -> Result<Labels, StoreError> {
    Ok(match_labels(
        &r.labels()?,
        r.severity()?,
        r.service.as_deref(),
        &r.title,
        &r.fingerprint,
    ))
}

/// Which of `views`, each at its own time, an active silence matches.
/// Silence by silence, not alert by alert: one silence's compiled matchers
/// stay in the CPU's caches across the whole batch. Visiting 500 regex
/// silences once per alert missed the cache on each of them, a third of the
/// ingest time with 500 silences.
pub(crate) fn silenced_views(
    silences: &[SilenceRecord],
    views: &[(&Labels, DateTime<Utc>)],
) -> Vec<bool> {
    let mut silenced = vec![false; views.len()];
    for s in silences {
        for ((view, now), flag) in views.iter().zip(silenced.iter_mut()) {
            if !*flag && s.is_active(*now) && all_match(&s.matchers, view) {
                *flag = true;
            }
        }
    }
    silenced
}

/// Routing for one alert, computed before loading so the batch knows which
/// group clocks to read.
pub(crate) struct Routed {
    pub view: Labels,
    pub targets: Vec<Target>,
}

impl Routed {
    pub fn new(engine: &Engine, view: Labels) -> Self {
        let targets = engine.router.targets(&view);
        Self { view, targets }
    }

    pub fn alert(engine: &Engine, a: &NewAlert) -> Self {
        let view = match_labels(
            &a.labels,
            a.severity,
            a.service.as_deref(),
            &a.title,
            a.fingerprint.as_str(),
        );
        Self::new(engine, view)
    }

    pub fn row(engine: &Engine, r: &AlertRow) -> Result<Self, StoreError> {
        Ok(Self::new(engine, view_of(r)?))
    }

    /// The `notify_groups` ids of the targets that have a channel.
    pub fn group_ids(&self) -> impl Iterator<Item = String> + '_ {
        self.targets
            .iter()
            .filter_map(|t| t.channel.as_deref().map(|c| group_id(c, &t.group_key)))
    }
}

/// The primary key of `notify_groups` (channel names have no spaces).
pub(crate) fn group_id(channel: &str, group_key: &str) -> String {
    format!("{channel} {group_key}")
}

/// One transaction's worth of changes.
pub(crate) struct Plan<'a> {
    engine: &'a Engine,
    silences: &'a [SilenceRecord],
    now: DateTime<Utc>,
    now_ms: i64,
    /// Loaded or created records by fingerprint, and whether they changed.
    rows: HashMap<String, (AlertRow, bool)>,
    /// Fingerprints in first-touched order (stable write order).
    order: Vec<String>,
    pub clocks: GroupClocks,
    /// Reserved `seq` values for the records this plan creates.
    seqs: std::vec::IntoIter<i64>,
    pub events: Vec<EventRow>,
    pub outbox: Vec<OutboxRow>,
    /// Escalation changes, in the order they happened.
    pub escalations: Vec<EscalationWrite>,
}

/// What a transaction does to an alert's escalation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EscalationWrite {
    /// A new chain (replacing any earlier one of the alert).
    Start {
        alert_id: String,
        alert_seq: i64,
        id: String,
        policy: String,
        snapshot: String,
        due_at: i64,
    },
    /// Acknowledged: nothing runs until the acknowledgement expires at `until`.
    Acked { alert_id: String, until: i64 },
    /// Resolved: the chain ends.
    Cancel { alert_id: String },
}

impl<'a> Plan<'a> {
    pub fn new(
        engine: &'a Engine,
        silences: &'a [SilenceRecord],
        loaded: Vec<AlertRow>,
        seqs: Vec<i64>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            engine,
            silences,
            now,
            now_ms: now.timestamp_millis(),
            order: loaded.iter().map(|r| r.fingerprint.clone()).collect(),
            rows: loaded
                .into_iter()
                .map(|r| (r.fingerprint.clone(), (r, false)))
                .collect(),
            clocks: GroupClocks::default(),
            seqs: seqs.into_iter(),
            events: Vec::new(),
            outbox: Vec::new(),
            escalations: Vec::new(),
        }
    }

    /// Rows created or changed, to upsert.
    pub fn changed_rows(&self) -> impl Iterator<Item = &AlertRow> {
        self.order
            .iter()
            .filter_map(|fp| self.rows.get(fp))
            .filter(|(_, dirty)| *dirty)
            .map(|(row, _)| row)
    }

    fn silenced(&self, view: &Labels) -> bool {
        self.silences
            .iter()
            .any(|s| s.is_active(self.now) && all_match(&s.matchers, view))
    }

    /// The alerts that may inhibit others now: `stored` (sources not
    /// resolved, read for the batch) and the batch's own records as they are
    /// now, which replace their stored selves.
    pub fn inhibit_sources(
        &self,
        stored: Vec<crate::engine::inhibit::Source>,
    ) -> Result<Vec<crate::engine::inhibit::Source>, StoreError> {
        let rules = &self.engine.inhibit;
        let batch: std::collections::HashSet<&str> =
            self.rows.values().map(|(r, _)| r.id.as_str()).collect();
        let mut sources: Vec<crate::engine::inhibit::Source> = stored
            .into_iter()
            .filter(|s| !batch.contains(s.id.as_str()))
            .collect();
        for (row, _) in self.rows.values() {
            if row.state == "resolved" {
                continue;
            }
            let view = view_of(row)?;
            if crate::engine::inhibit::is_source(rules, &view) {
                sources.push(crate::engine::inhibit::Source {
                    id: row.id.clone(),
                    view,
                });
            }
        }
        Ok(sources)
    }

    fn event(&mut self, (alert_id, alert_seq): (&str, i64), kind: &str, actor: &str, via: &str) {
        self.events.push(EventRow {
            alert_id: alert_id.to_string(),
            alert_seq,
            at: self.now_ms,
            kind: kind.to_string(),
            actor: actor.to_string(),
            via: via.to_string(),
        });
    }

    fn notify(
        &mut self,
        fp: &str,
        routed: &Routed,
        occurrence: Occurrence,
    ) -> Result<(), StoreError> {
        let (row, _) = self.rows.get_mut(fp).expect("row present");
        let mut tracking = row.tracking()?;
        let notices: Vec<Notice> = self.engine.notices(
            &routed.targets,
            &mut tracking,
            &occurrence,
            &mut self.clocks,
            self.now,
        );
        row.set_tracking(&tracking);
        let (alert_id, alert_seq, occurrences) = (row.id.clone(), row.seq, row.window_count);
        let (state, priority) = (row.state.clone(), row.severity()?.rank());
        for n in notices {
            self.outbox.push(OutboxRow {
                alert_id: alert_id.clone(),
                alert_seq,
                kind: n.kind.as_str().to_string(),
                status: if n.channel.is_some() {
                    "pending"
                } else {
                    "unrouted"
                }
                .to_string(),
                channel: n.channel,
                group_key: n.group_key,
                occurrences,
                created_at: self.now_ms,
                due_at: n.due_at.timestamp_millis(),
                state: Some(state.clone()),
                priority,
                target: (!n.mention.is_empty()).then_some(n.mention),
                held: i64::from(n.held),
            });
        }
        Ok(())
    }

    /// Starts, pauses for an acknowledgement, or ends the alert's
    /// escalation after its state went `from` → `to`.
    fn escalate(
        &mut self,
        fp: &str,
        routed: &Routed,
        from: Option<AlertState>,
        to: AlertState,
        restarted: bool,
    ) -> Result<(), StoreError> {
        let (row, _) = self.rows.get(fp).expect("row present");
        let alert_id = row.id.clone();
        match to {
            AlertState::Firing if restarted || from != Some(AlertState::Firing) => {
                let Some(policy) = self.engine.escalation_for(&routed.targets, row.severity()?)
                else {
                    return Ok(());
                };
                // Per alert (sms.md §6.5 #10): `escalation = "off"` opts out,
                // `escalation_wait = "2m"` replaces the first step's wait.
                let annotations = row.annotations()?;
                if annotations.get("escalation") == Some("off") {
                    return Ok(());
                }
                let mut snapshot = policy.snapshot.clone();
                if let (Some(wait), Some(first)) = (
                    annotations
                        .get("escalation_wait")
                        .and_then(|w| humantime::parse_duration(w).ok())
                        .filter(|w| *w <= std::time::Duration::from_secs(7 * 24 * 3600)),
                    snapshot.steps.first_mut(),
                ) {
                    first.wait_ms = i64::try_from(wait.as_millis()).unwrap_or(0);
                }
                let seq = row.seq;
                self.escalations.push(EscalationWrite::Start {
                    alert_id: alert_id.clone(),
                    alert_seq: seq,
                    id: new_id(),
                    policy: policy.name.clone(),
                    snapshot: snapshot.to_json(),
                    due_at: self.now_ms.saturating_add(snapshot.first_wait()),
                });
                let name = policy.name.clone();
                self.event((&alert_id, seq), "escalation started", &name, "escalation");
            }
            AlertState::Acknowledged if from != Some(AlertState::Acknowledged) => {
                let until = self
                    .now_ms
                    .saturating_add(self.engine.ack_ttl.num_milliseconds());
                self.escalations
                    .push(EscalationWrite::Acked { alert_id, until });
            }
            AlertState::Resolved if from != Some(AlertState::Resolved) => {
                self.escalations.push(EscalationWrite::Cancel { alert_id });
            }
            _ => {}
        }
        Ok(())
    }

    /// Folds one occurrence from a source into its record (creating it),
    /// records the transition and decides the notice. Returns the record id.
    /// `silenced`: whether an active silence matches it
    /// ([`silenced_views`]); `inhibited_by`: the firing alert that inhibits
    /// it ([`Plan::inhibitor`]). Either way it is recorded, not notified,
    /// and no escalation starts.
    pub fn occurrence(
        &mut self,
        alert: &NewAlert,
        routed: &Routed,
        silenced: bool,
        inhibited_by: Option<String>,
    ) -> Result<String, StoreError> {
        let fp = alert.fingerprint.as_str();
        let firing = alert.status == AlertStatus::Firing;
        let now = self.now_ms;
        let mut ack_ended = false;
        let (from, to) = match self.rows.get_mut(fp) {
            None => {
                let to = if firing {
                    AlertState::Firing
                } else {
                    AlertState::Resolved
                };
                let seq = self
                    .seqs
                    .next()
                    .ok_or_else(|| StoreError::Corrupt("too few reserved seqs".into()))?;
                let row = AlertRow {
                    id: new_id(),
                    seq,
                    fingerprint: fp.to_string(),
                    title: alert.title.clone(),
                    content: alert.content.clone(),
                    severity: alert.severity.as_str().to_string(),
                    service: alert.service.clone(),
                    labels: labels_json(&alert.labels),
                    annotations: labels_json(&alert.annotations),
                    state: to.as_str().to_string(),
                    acked_by: None,
                    acked_at: None,
                    count: 1,
                    first_seen: now,
                    last_seen: now,
                    trace_id: alert.trace_id.clone(),
                    request_id: alert.request_id.clone(),
                    starts_at: alert.starts_at.map(|t| t.timestamp_millis()),
                    resolved_at: (!firing).then_some(now),
                    notified_state: None,
                    last_notified_at: None,
                    window_start: None,
                    window_count: 0,
                    window_aggregated: 0,
                    inhibited_by: None,
                };
                self.order.push(fp.to_string());
                self.rows.insert(fp.to_string(), (row, true));
                (None, to)
            }
            Some((row, dirty)) => {
                *dirty = true;
                let mut from = row.state()?;
                // An old acknowledgement ends when the alert keeps firing:
                // it goes back to firing and pages again (`[alerts] ack_ttl`).
                let ack_expired = firing
                    && from == AlertState::Acknowledged
                    && row
                        .acked_at
                        .is_some_and(|at| now - at >= self.engine.ack_ttl.num_milliseconds());
                if ack_expired {
                    row.state = AlertState::Firing.as_str().to_string();
                    row.acked_by = None;
                    row.acked_at = None;
                    let mut tracking = row.tracking()?;
                    tracking.notified = None;
                    row.set_tracking(&tracking);
                    from = AlertState::Firing;
                    ack_ended = true;
                }
                let action = if firing {
                    StateAction::Fire
                } else {
                    StateAction::Resolve
                };
                let to = match from.apply(action) {
                    Transition::To(to) => to,
                    Transition::Unchanged | Transition::Refused(_) => from,
                };
                // A firing occurrence counts and its content wins; a
                // resolution keeps the last firing content and records the end.
                if firing {
                    row.count += 1;
                    row.title.clone_from(&alert.title);
                    row.content.clone_from(&alert.content);
                    row.severity = alert.severity.as_str().to_string();
                    row.service.clone_from(&alert.service);
                    row.labels = labels_json(&alert.labels);
                    row.annotations = labels_json(&alert.annotations);
                }
                row.last_seen = now;
                if alert.trace_id.is_some() {
                    row.trace_id.clone_from(&alert.trace_id);
                }
                if alert.request_id.is_some() {
                    row.request_id.clone_from(&alert.request_id);
                }
                row.state = to.as_str().to_string();
                if from == AlertState::Resolved && to == AlertState::Firing {
                    // A new firing: its start is the sender's, or now (the
                    // resolved card says how long this firing lasted).
                    row.starts_at = Some(alert.starts_at.map_or(now, |t| t.timestamp_millis()));
                }
                row.resolved_at = match to {
                    AlertState::Resolved => row.resolved_at.or(Some(now)),
                    _ => None,
                };
                if to == AlertState::Firing {
                    row.acked_by = None;
                    row.acked_at = None;
                }
                (Some(from), to)
            }
        };
        let (id, seq) = (self.rows[fp].0.id.clone(), self.rows[fp].0.seq);
        if ack_ended {
            self.event((&id, seq), "ack expired", "ackbot", "ack_ttl");
        }
        let changed = from.is_none_or(|f| f != to);
        if changed {
            let kind = event_kind(to, from.unwrap_or(AlertState::Firing));
            self.event((&id, seq), kind, "source", "source");
        }
        let inhibited = to != AlertState::Resolved && inhibited_by.is_some();
        let now_inhibited = inhibited_by.filter(|_| inhibited);
        let (row, dirty) = self.rows.get_mut(fp).expect("row present");
        if row.inhibited_by != now_inhibited {
            row.inhibited_by.clone_from(&now_inhibited);
            *dirty = true;
            if let Some(by) = &now_inhibited {
                self.event(
                    (&id, seq),
                    &format!("inhibited by {by}"),
                    "ackbot",
                    "inhibit_rules",
                );
            }
        }
        let occurrence = Occurrence {
            firing,
            critical: alert.severity == Severity::Critical,
            from,
            to,
            silenced: silenced || inhibited,
        };
        self.notify(fp, routed, occurrence)?;
        if !inhibited {
            self.escalate(fp, routed, from, to, ack_ended)?;
        }
        Ok(id)
    }

    /// A person's action on a loaded record. `Err(outcome)` when nothing
    /// changes (already there, or refused).
    pub fn action(
        &mut self,
        fingerprint: &str,
        routed: &Routed,
        action: StateAction,
        actor: &Actor,
    ) -> Result<Result<(), Transition>, StoreError> {
        let now = self.now_ms;
        let (row, dirty) = self.rows.get_mut(fingerprint).expect("loaded");
        let from = row.state()?;
        let to = match from.apply(action) {
            Transition::To(to) => to,
            other => return Ok(Err(other)),
        };
        *dirty = true;
        row.state = to.as_str().to_string();
        match to {
            AlertState::Acknowledged => {
                row.acked_by = Some(actor.name.clone());
                row.acked_at = Some(now);
                row.resolved_at = None;
            }
            AlertState::Firing => {
                row.acked_by = None;
                row.acked_at = None;
                row.resolved_at = None;
            }
            // Who acknowledged stays on record after the resolve.
            AlertState::Resolved => row.resolved_at = Some(now),
        }
        let (id, seq) = (row.id.clone(), row.seq);
        let critical = row.severity()? == Severity::Critical;
        self.event((&id, seq), event_kind(to, from), &actor.name, actor.via);
        if to == AlertState::Resolved {
            let occurrence = Occurrence {
                firing: false,
                critical,
                from: Some(from),
                to,
                silenced: self.silenced(&routed.view),
            };
            self.notify(fingerprint, routed, occurrence)?;
        }
        self.escalate(fingerprint, routed, Some(from), to, false)?;
        Ok(Ok(()))
    }

    /// The alert's source of inhibition resolved and nothing else inhibits
    /// it: if it still fires and people were never told, they are now (and
    /// its escalation starts); recorded in its audit trail either way.
    pub fn release(&mut self, fingerprint: &str, routed: &Routed) -> Result<(), StoreError> {
        let (row, dirty) = self.rows.get_mut(fingerprint).expect("loaded");
        *dirty = true;
        row.inhibited_by = None;
        let state = row.state()?;
        let (id, seq) = (row.id.clone(), row.seq);
        let critical = row.severity()? == Severity::Critical;
        self.event((&id, seq), "inhibition ended", "ackbot", "inhibit_rules");
        if state == AlertState::Firing {
            let occurrence = Occurrence {
                firing: true,
                critical,
                from: Some(AlertState::Firing),
                to: AlertState::Firing,
                silenced: self.silenced(&routed.view),
            };
            self.notify(fingerprint, routed, occurrence)?;
            self.escalate(fingerprint, routed, None, AlertState::Firing, true)?;
        }
        Ok(())
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Each request of a batch keeps the time it arrived.
    pub fn set_now(&mut self, now: DateTime<Utc>) {
        self.now = now;
        self.now_ms = now.timestamp_millis();
    }

    pub fn row(&self, fingerprint: &str) -> Option<&AlertRow> {
        self.rows.get(fingerprint).map(|(r, _)| r)
    }
}
