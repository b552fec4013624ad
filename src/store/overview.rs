//! What the console's overview draws, read in three queries for both SQL
//! backends: the audit trail's firings, acknowledgements and resolutions in
//! a window (through the index on `alert_events.at`), the alerts that fired
//! most, and each channel's outbox in one pass.
//!
//! The figures (per-hour buckets, medians) are computed by the console from
//! these rows, so both backends agree on them to the millisecond.

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::sql::{Dialect, SqlStore};
use super::{StoreError, to_ms};

/// The events read for one overview, at most: a week of a busy team's
/// state changes. Beyond it the oldest hours are drawn short, and the page
/// says so.
pub const MAX_EVENTS: i64 = 200_000;

/// One state change of an alert in the window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StateChange {
    pub alert_seq: i64,
    /// The audit trail's order (two changes may share a millisecond).
    pub seq: i64,
    /// Unix ms.
    pub at: i64,
    /// `fired`, `refired`, `acknowledged` or `resolved`.
    pub kind: String,
    pub severity: String,
    pub service: Option<String>,
}

/// An alert that fired often, among those seen in the window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Noisy {
    pub id: String,
    pub title: String,
    pub severity: String,
    pub service: Option<String>,
    pub state: String,
    pub count: i64,
}

/// A channel's outbox at a glance.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelActivity {
    pub channel: String,
    /// Unix ms of the newest send, if any.
    pub last_sent: Option<i64>,
    /// Rows failed or given up, waiting for a person's retry.
    pub failed: i64,
    /// Distinct send times in the last hour: messages, on a channel with a
    /// rate budget (it sends one message per round).
    pub sends_last_hour: i64,
}

/// The rows behind one overview.
#[derive(Debug, Clone, Default)]
pub struct OverviewRows {
    pub changes: Vec<StateChange>,
    /// True when [`MAX_EVENTS`] cut the window's changes.
    pub cut: bool,
    pub noisiest: Vec<Noisy>,
    pub channels: Vec<ChannelActivity>,
}

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> StateChange: FromRow<'r, DB::Row>,
    for<'r> Noisy: FromRow<'r, DB::Row>,
    for<'r> ChannelActivity: FromRow<'r, DB::Row>,
{
    pub(super) async fn overview_rows(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OverviewRows, StoreError> {
        let mut changes: Vec<StateChange> = sqlx::query_as(&DB::sql(
            "SELECT e.alert_seq, e.seq, e.at, e.kind, a.severity, a.service \
             FROM alert_events e JOIN alerts a ON a.seq = e.alert_seq \
             WHERE e.at >= ? AND e.kind IN ('fired', 'refired', 'acknowledged', 'resolved') \
             ORDER BY e.at DESC LIMIT ?",
        ))
        .bind(to_ms(since))
        .bind(MAX_EVENTS + 1)
        .fetch_all(&self.reader)
        .await?;
        let cut = changes.len() as i64 > MAX_EVENTS;
        changes.truncate(MAX_EVENTS as usize);
        // Per alert, in time order: the console pairs each firing with what
        // followed it.
        changes.sort_by_key(|c| (c.alert_seq, c.seq));
        let noisiest = sqlx::query_as(&DB::sql(
            "SELECT id, title, severity, service, state, count FROM alerts \
             WHERE last_seen >= ? ORDER BY count DESC, last_seen DESC LIMIT 10",
        ))
        .bind(to_ms(since))
        .fetch_all(&self.reader)
        .await?;
        let channels = sqlx::query_as(&DB::sql(
            "SELECT channel, \
             MAX(CASE WHEN status = 'sent' THEN sent_at END) AS last_sent, \
             SUM(CASE WHEN status IN ('failed', 'dead') THEN 1 ELSE 0 END) AS failed, \
             COUNT(DISTINCT CASE WHEN status = 'sent' AND sent_at >= ? THEN sent_at END) AS sends_last_hour \
             FROM outbox WHERE channel IS NOT NULL GROUP BY channel ORDER BY channel",
        ))
        .bind(to_ms(now - chrono::Duration::hours(1)))
        .fetch_all(&self.reader)
        .await?;
        Ok(OverviewRows {
            changes,
            cut,
            noisiest,
            channels,
        })
    }
}
