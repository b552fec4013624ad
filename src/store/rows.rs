//! Rows as both backends store them (text, 64-bit integers, Unix ms), and
//! their conversion to the records the API shows. Keeping one row type per
//! table lets one SQL implementation serve SQLite and PostgreSQL.

use chrono::{DateTime, Utc};

use super::{AlertEvent, AlertRecord, NotificationRecord, SilenceRecord, StoreError, from_ms};
use crate::domain::{AlertState, Labels, Matcher, NewSilence, Severity};
use crate::engine::{NoticeKind, Tracking};

/// The columns of `alerts`, in the order of [`AlertRow`]'s fields.
pub(crate) const ALERT_COLUMNS: &str = "id, seq, fingerprint, title, content, severity, service, labels, \
     annotations, state, acked_by, acked_at, count, first_seen, last_seen, trace_id, request_id, \
     starts_at, resolved_at, notified_state, last_notified_at, window_start, window_count, \
     window_aggregated, inhibited_by";

/// One `alerts` row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AlertRow {
    pub id: String,
    /// Sequential key of the rows that hang off the alert (events, outbox).
    pub seq: i64,
    pub fingerprint: String,
    pub title: String,
    pub content: String,
    pub severity: String,
    pub service: Option<String>,
    /// JSON object.
    pub labels: String,
    /// JSON object.
    pub annotations: String,
    /// `firing`, `acknowledged` or `resolved`; silences are an overlay.
    pub state: String,
    pub acked_by: Option<String>,
    pub acked_at: Option<i64>,
    pub count: i64,
    pub first_seen: i64,
    pub last_seen: i64,
    pub trace_id: Option<String>,
    pub request_id: Option<String>,
    pub starts_at: Option<i64>,
    pub resolved_at: Option<i64>,
    /// The engine's [`Tracking`].
    pub notified_state: Option<String>,
    pub last_notified_at: Option<i64>,
    pub window_start: Option<i64>,
    pub window_count: i64,
    pub window_aggregated: i64,
    /// The firing alert that inhibits this one (`[[inhibit_rules]]`).
    pub inhibited_by: Option<String>,
}

pub(crate) fn labels_json(labels: &Labels) -> String {
    serde_json::to_string(labels.as_map()).expect("string map serializes")
}

fn labels_from(field: &'static str, json: &str) -> Result<Labels, StoreError> {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))?;
    // Validated when it was written; reading it back checks nothing more.
    Ok(Labels::trusted(map))
}

pub(crate) fn state_from(s: &str) -> Result<AlertState, StoreError> {
    match s {
        "firing" => Ok(AlertState::Firing),
        "acknowledged" => Ok(AlertState::Acknowledged),
        "resolved" => Ok(AlertState::Resolved),
        other => Err(StoreError::Corrupt(format!("unknown state {other}"))),
    }
}

fn opt_time(ms: Option<i64>) -> Result<Option<DateTime<Utc>>, StoreError> {
    ms.map(from_ms).transpose()
}

impl AlertRow {
    pub fn state(&self) -> Result<AlertState, StoreError> {
        state_from(&self.state)
    }

    pub fn severity(&self) -> Result<Severity, StoreError> {
        Severity::parse("severity", &self.severity).map_err(|e| StoreError::Corrupt(e.to_string()))
    }

    pub fn annotations(&self) -> Result<Labels, StoreError> {
        labels_from("annotations", &self.annotations)
    }

    pub fn labels(&self) -> Result<Labels, StoreError> {
        labels_from("labels", &self.labels)
    }

    /// The record as the API shows it, before the silence overlay.
    pub fn record(&self, now: DateTime<Utc>) -> Result<AlertRecord, StoreError> {
        Ok(AlertRecord {
            id: self.id.clone(),
            fingerprint: self.fingerprint.clone(),
            title: self.title.clone(),
            content: self.content.clone(),
            severity: self.severity()?,
            service: self.service.clone(),
            labels: self.labels()?,
            annotations: labels_from("annotations", &self.annotations)?,
            state: self.state()?.shown(None, now),
            acked_by: self.acked_by.clone(),
            acked_at: opt_time(self.acked_at)?,
            silenced_until: None,
            count: self.count,
            first_seen: from_ms(self.first_seen)?,
            last_seen: from_ms(self.last_seen)?,
            trace_id: self.trace_id.clone(),
            request_id: self.request_id.clone(),
            starts_at: opt_time(self.starts_at)?,
            resolved_at: opt_time(self.resolved_at)?,
            inhibited_by: self.inhibited_by.clone(),
        })
    }

    pub fn tracking(&self) -> Result<Tracking, StoreError> {
        Ok(Tracking {
            notified: self.notified_state.as_deref().map(state_from).transpose()?,
            last_notified_at: opt_time(self.last_notified_at)?,
            window_start: opt_time(self.window_start)?,
            window_count: u32::try_from(self.window_count).unwrap_or(u32::MAX),
            window_aggregated: self.window_aggregated != 0,
        })
    }

    pub fn set_tracking(&mut self, t: &Tracking) {
        self.notified_state = t.notified.map(|s| s.as_str().to_string());
        self.last_notified_at = t.last_notified_at.map(|t| t.timestamp_millis());
        self.window_start = t.window_start.map(|t| t.timestamp_millis());
        self.window_count = i64::from(t.window_count);
        self.window_aggregated = i64::from(t.window_aggregated);
    }
}

pub(crate) const SILENCE_COLUMNS: &str =
    "id, matchers, starts_at, ends_at, created_by, comment, created_at, expired_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SilenceRow {
    pub id: String,
    /// JSON array of canonical matcher strings.
    pub matchers: String,
    pub starts_at: i64,
    pub ends_at: i64,
    pub created_by: String,
    pub comment: String,
    pub created_at: i64,
    pub expired_at: Option<i64>,
}

impl SilenceRow {
    pub fn record(&self, now: DateTime<Utc>) -> Result<SilenceRecord, StoreError> {
        let matchers: Vec<Matcher> = serde_json::from_str(&self.matchers)
            .map_err(|e| StoreError::Corrupt(format!("silence matchers: {e}")))?;
        let starts_at = from_ms(self.starts_at)?;
        let ends_at = from_ms(self.ends_at)?;
        let expired_at = opt_time(self.expired_at)?;
        let status = if NewSilence::is_active(starts_at, ends_at, expired_at, now) {
            "active"
        } else if now < starts_at && expired_at.is_none() {
            "pending"
        } else {
            "expired"
        };
        Ok(SilenceRecord {
            id: self.id.clone(),
            matchers,
            starts_at,
            ends_at,
            created_by: self.created_by.clone(),
            comment: self.comment.clone(),
            created_at: from_ms(self.created_at)?,
            expired_at,
            status,
        })
    }
}

/// One `alert_events` row to insert or read.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct EventRow {
    pub alert_id: String,
    pub alert_seq: i64,
    pub at: i64,
    pub kind: String,
    pub actor: String,
    pub via: String,
}

impl EventRow {
    pub fn record(&self) -> Result<AlertEvent, StoreError> {
        Ok(AlertEvent {
            at: from_ms(self.at)?,
            kind: self.kind.clone(),
            actor: self.actor.clone(),
            via: self.via.clone(),
        })
    }
}

/// The columns written when a row is decided.
pub(crate) const OUTBOX_COLUMNS: &str = "alert_id, alert_seq, kind, channel, group_key, \
     occurrences, created_at, due_at, status, state, priority, target, held";

/// The delivery columns, read with the others.
pub(crate) const DELIVERY_COLUMNS: &str = "id, attempts, last_error, sent_at";

/// One `outbox` row: a notification decided, to be delivered when due.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub alert_id: String,
    pub alert_seq: i64,
    /// `firing`, `resolved`, `aggregated`, `repeat`.
    pub kind: String,
    /// `None`: no channel takes it (status `unrouted`).
    pub channel: Option<String>,
    pub group_key: String,
    /// Occurrences in the aggregation window when decided.
    pub occurrences: i64,
    pub created_at: i64,
    pub due_at: i64,
    /// `pending` or `unrouted` when written; delivery moves it on.
    pub status: String,
    /// The alert's state when decided (`firing`, `acknowledged`, `resolved`);
    /// `None` in rows older than this column.
    pub state: Option<String>,
    /// [`Severity::rank`] of the alert when decided: critical goes first.
    pub priority: i64,
    /// `page` rows: the person paged; chat rows: the `mention` references
    /// (comma-joined); `None`: nobody in particular.
    pub target: Option<String>,
    /// 1: its route has time intervals (it may be held past its decision);
    /// at its due time it is sent only if it still applies.
    pub held: i64,
}

/// An outbox row with its delivery state, as read back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    #[sqlx(flatten)]
    pub outbox: OutboxRow,
    pub id: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub sent_at: Option<i64>,
}

impl DeliveryRow {
    pub fn record(&self) -> Result<NotificationRecord, StoreError> {
        let o = &self.outbox;
        Ok(NotificationRecord {
            id: self.id,
            state: o.state.clone(),
            attempts: self.attempts,
            last_error: self.last_error.clone(),
            sent_at: opt_time(self.sent_at)?,
            kind: NoticeKind::parse(&o.kind)
                .ok_or_else(|| StoreError::Corrupt(format!("outbox kind {}", o.kind)))?
                .as_str(),
            channel: o.channel.clone(),
            group_key: o.group_key.clone(),
            occurrences: o.occurrences,
            created_at: from_ms(o.created_at)?,
            due_at: from_ms(o.due_at)?,
            status: o.status.clone(),
            target: o.target.clone(),
        })
    }
}
