//! The escalation runner: runs the steps of chains that fell due.
//!
//! Chains are rows (`store::escalations`), so 1 000 waiting escalations
//! cost a 1-row index read per tick, not 1 000 sleeping tasks. Every replica
//! runs the runner; a step runs once because moving a chain on is a
//! compare-and-set written with the step's outbox rows in one transaction.
//! When a step falls due the alert is read again, and:
//! - resolved (or gone): the chain ends;
//! - acknowledged: nothing runs until the acknowledgement expires
//!   (`[alerts] ack_ttl`); then the alert is unacknowledged, which starts
//!   the chain over;
//! - silenced: the chain pauses until the silence ends, then runs the step
//!   that was due;
//! - otherwise the step runs: chat channels post the alert again with the
//!   people @-mentioned, SMS and voice channels page each person, and the
//!   chain waits for the next step (or starts over, `repeat`, or ends).
//!
//! A step that finds nobody to page (a person without a phone, an empty
//! schedule) does not wait: the next step is due at once. Pages that fail
//! for good (a per-number limit, a bad number) move the chain on at once
//! too (`delivery`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chrono::{DateTime, Utc};

use crate::config::{ChannelKind, Config};
use crate::domain::StateAction;
use crate::engine::escalation::{Position, Snapshot};
use crate::engine::oncall::{Directory, Overrides};
use crate::engine::schedule::Override;
use crate::store::{Actor, Advance, AlertRecord, EscalationRecord, OutboxRow, Store, StoreError};
use crate::tasks::Tasks;

const TICK: Duration = Duration::from_secs(1);
/// Chains looked at per tick.
const BATCH: u32 = 200;
/// Pages wait this long for the other pages of the same tick, so that a
/// storm of alerts escalating together reaches a person as one text.
const COALESCE_MS: i64 = 1000;
/// A silence without an end in sight is looked at again after this.
const PAUSE_RECHECK: chrono::Duration = chrono::Duration::hours(1);

/// What escalation and mentions need from the config; replaced on a reload.
#[derive(Debug, Clone, Default)]
pub struct Oncall {
    pub directory: Directory,
    pub kinds: HashMap<String, ChannelKind>,
    pub ack_ttl: chrono::Duration,
    /// Some `[[escalations]]` policy exists (else cards need not ask).
    pub escalates: bool,
    /// `[cards]` time zone and words, for escalation notes and the Feishu
    /// card edited after an action.
    pub look: crate::outbound::cards::Look,
}

impl Oncall {
    pub fn from_config(config: &Config) -> Self {
        Self {
            directory: Directory::from_config(config),
            kinds: config
                .channels
                .iter()
                .map(|c| (c.name.clone(), c.kind))
                .collect(),
            ack_ttl: chrono::Duration::from_std(config.alerts.ack_ttl)
                .unwrap_or(chrono::Duration::hours(8)),
            escalates: !config.escalations.is_empty(),
            look: config.card_look(None),
        }
    }
}

pub type SharedOncall = Arc<ArcSwap<Oncall>>;

/// The overrides of the schedules `refs` look into, as `engine::schedule`
/// takes them.
pub async fn overrides<'a>(
    store: &dyn Store,
    refs: impl IntoIterator<Item = &'a str>,
    now: DateTime<Utc>,
) -> Result<Overrides, StoreError> {
    let schedules = Directory::schedules_in(refs);
    let mut out: Overrides = HashMap::new();
    for o in store.overrides(&schedules, now).await? {
        if let Some(x) = to_override(&o) {
            out.entry(o.schedule.clone()).or_default().push(x);
        }
    }
    Ok(out)
}

/// A stored override as `engine::schedule` takes it (`None`: a time out of range).
pub fn to_override(o: &crate::store::OverrideRecord) -> Option<Override> {
    Some(Override {
        person: o.person.clone(),
        start: crate::store::from_ms(o.start_at).ok()?,
        end: crate::store::from_ms(o.end_at).ok()?,
        created: crate::store::from_ms(o.created_at).ok()?,
    })
}

pub fn spawn(store: Arc<dyn Store>, oncall: SharedOncall, tasks: &Tasks) {
    tasks.spawn("escalation runner", async move {
        loop {
            tokio::time::sleep(TICK).await;
            match pass(store.as_ref(), &oncall.load(), Utc::now()).await {
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "escalations: trying again in 1 s"),
            }
        }
    });
}

/// Runs what is due; returns the chains moved.
pub async fn pass(
    store: &dyn Store,
    oncall: &Oncall,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut moved = 0;
    for row in store.due_escalations(now, BATCH).await? {
        // One chain that cannot move (its alert unreadable) must not hold
        // up the others: it is logged and tried again next tick.
        match one(store, oncall, &row, now).await {
            Ok(true) => moved += 1,
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(alert = %row.alert_id, error = %e, "escalation step failed; trying again")
            }
        }
    }
    Ok(moved)
}

/// A move of `row` to `(pos, status, due)` with what it records and sends.
fn advance(
    row: &EscalationRecord,
    pos: Position,
    status: &'static str,
    due_at: i64,
    now: DateTime<Utc>,
) -> Advance {
    Advance {
        alert_id: row.alert_id.clone(),
        expect_id: row.id.clone(),
        expect_step: row.step,
        expect_round: row.round,
        step: pos.step as i64,
        round: i64::from(pos.round),
        status,
        due_at,
        outbox: Vec::new(),
        events: Vec::new(),
        now,
    }
}

fn entry(kind: &str, actor: &str, via: &str) -> (String, String, String) {
    (kind.to_string(), actor.to_string(), via.to_string())
}

async fn one(
    store: &dyn Store,
    oncall: &Oncall,
    row: &EscalationRecord,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let now_ms = now.timestamp_millis();
    let pos = Position {
        step: usize::try_from(row.step).unwrap_or(usize::MAX),
        round: u32::try_from(row.round).unwrap_or(u32::MAX),
    };
    let alert = store.get(&row.alert_id).await?;
    let Some(alert) = alert.filter(|a| a.state != "resolved") else {
        let mut a = advance(row, pos, "cancelled", row.due_at, now);
        a.events
            .push(entry("escalation cancelled", "ackbot", "resolved"));
        return store.advance_escalation(&a).await;
    };
    let Some(snapshot) = Snapshot::from_json(&row.snapshot) else {
        let mut a = advance(row, pos, "exhausted", row.due_at, now);
        a.events.push(entry(
            "escalation stopped: unreadable chain",
            "ackbot",
            "escalation",
        ));
        return store.advance_escalation(&a).await;
    };
    if let Some(acked_at) = alert.acked_at.filter(|_| alert.acked_by.is_some()) {
        let expires = acked_at + oncall.ack_ttl;
        if expires > now {
            // Acknowledged: wait for the acknowledgement to expire.
            let a = advance(row, pos, "acked", expires.timestamp_millis(), now);
            return store.advance_escalation(&a).await;
        }
        // Expired: unacknowledge, which starts the chain over (a new run
        // replaces this row; if the route no longer escalates, it ends).
        let actor = Actor::new("ackbot", "ack_ttl");
        store
            .apply(&row.alert_id, StateAction::Unack, &actor, None, now)
            .await?;
        let mut a = advance(row, pos, "cancelled", row.due_at, now);
        a.events.push(entry("ack expired", "ackbot", "ack_ttl"));
        return store.advance_escalation(&a).await;
    }
    if let Some(until) = alert.silenced_until.filter(|u| *u > now) {
        let resume = until.min(now + PAUSE_RECHECK);
        let mut a = advance(row, pos, "paused", resume.timestamp_millis(), now);
        if row.status != "paused" {
            a.events
                .push(entry("escalation paused (silenced)", "ackbot", "silence"));
        }
        return store.advance_escalation(&a).await;
    }
    let Some(step) = snapshot.step(pos) else {
        let a = advance(row, pos, "exhausted", row.due_at, now);
        return store.advance_escalation(&a).await;
    };
    let overrides = overrides(store, step.notify.iter().map(String::as_str), now).await?;
    let people = oncall
        .directory
        .resolve(step.notify.iter().map(String::as_str), &overrides, now);
    let mut outbox = Vec::new();
    let mut events = Vec::new();
    let mut paged = 0;
    for channel in &step.channels {
        let Some(kind) = oncall.kinds.get(channel) else {
            events.push(entry(
                "escalation step skipped: channel gone",
                channel,
                "escalation",
            ));
            continue;
        };
        if kind.pages() {
            for p in &people {
                if p.phone.is_none() {
                    events.push(entry("not paged: no phone", &p.name, channel));
                    continue;
                }
                outbox.push(page_row(
                    &alert,
                    row.alert_seq,
                    channel,
                    "page",
                    &p.name,
                    now_ms,
                ));
                events.push(entry("escalated", &p.name, channel));
                paged += 1;
            }
        } else {
            let names: Vec<&str> = people.iter().map(|p| p.name.as_str()).collect();
            outbox.push(page_row(
                &alert,
                row.alert_seq,
                channel,
                "escalation",
                &step.notify.join(","),
                now_ms,
            ));
            let who = if names.is_empty() {
                "everyone".to_string()
            } else {
                names.join(", ")
            };
            events.push(entry("escalated", &who, channel));
            paged += 1;
        }
    }
    let (status, next, due_at) = match snapshot.after(pos) {
        Some((next, wait)) => {
            // Nobody reached: do not wait out the timer.
            let wait = if paged == 0 { 0 } else { wait };
            ("waiting", next, now_ms.saturating_add(wait))
        }
        None => {
            events.push(entry("escalation exhausted", "ackbot", "escalation"));
            ("exhausted", pos, now_ms)
        }
    };
    let mut a = advance(row, next, status, due_at, now);
    a.outbox = outbox;
    a.events = events;
    store.advance_escalation(&a).await
}

/// An outbox row of a step: a `page` to one person, or an `escalation`
/// post @-mentioning `target`'s references. All of a channel's due rows of
/// a kind share a group key, so a storm reaches a person as one message.
fn page_row(
    alert: &AlertRecord,
    alert_seq: i64,
    channel: &str,
    kind: &str,
    target: &str,
    now_ms: i64,
) -> OutboxRow {
    OutboxRow {
        alert_id: alert.id.clone(),
        alert_seq,
        kind: kind.to_string(),
        channel: Some(channel.to_string()),
        group_key: if kind == "page" {
            format!("page:{target}")
        } else {
            "escalation".to_string()
        },
        occurrences: alert.count,
        created_at: now_ms,
        due_at: if kind == "page" {
            now_ms + COALESCE_MS
        } else {
            now_ms
        },
        status: "pending".to_string(),
        state: Some(alert.state.to_string()),
        priority: alert.severity.rank(),
        target: (!target.is_empty()).then(|| target.to_string()),
        held: 0,
    }
}

/// What the alert's escalation does next, as a card says it: "Escalates to
/// Li Lei by SMS at 03:12 unless acknowledged". `None` when nothing waits.
pub async fn next_step(
    store: &dyn Store,
    oncall: &Oncall,
    alert_id: &str,
) -> Result<Option<String>, StoreError> {
    if !oncall.escalates {
        return Ok(None);
    }
    let Some(row) = store.escalation(alert_id).await? else {
        return Ok(None);
    };
    if row.status != "waiting" {
        return Ok(None);
    }
    let Some(snapshot) = Snapshot::from_json(&row.snapshot) else {
        return Ok(None);
    };
    let pos = Position {
        step: usize::try_from(row.step).unwrap_or(usize::MAX),
        round: u32::try_from(row.round).unwrap_or(u32::MAX),
    };
    let Some(step) = snapshot.step(pos) else {
        return Ok(None);
    };
    let due = row.due()?;
    let overrides = overrides(store, step.notify.iter().map(String::as_str), due).await?;
    let names: Vec<String> = oncall
        .directory
        .resolve(step.notify.iter().map(String::as_str), &overrides, due)
        .into_iter()
        .map(|p| p.name.clone())
        .collect();
    let mut via: Vec<&str> = Vec::new();
    for c in &step.channels {
        let word = match oncall.kinds.get(c) {
            Some(k) if k.calls() => "phone call",
            Some(k) if k.pages() => "SMS",
            _ => "chat",
        };
        if !via.contains(&word) {
            via.push(word);
        }
    }
    let who = if names.is_empty() {
        "the next step".to_string()
    } else {
        names.join(", ")
    };
    Ok(Some(format!(
        "Escalates to {who} by {} at {} unless acknowledged",
        via.join(" and "),
        crate::outbound::cards::text::time(due, oncall.look.tz)
    )))
}
