//! Escalation rows, schedule overrides, the page counts behind per-number
//! caps, and the outbox counts behind its gauges, for both SQL backends.
//!
//! A step runs exactly once, however many replicas look at it: the runner
//! moves a chain on with a compare-and-set on (alert, run id, step, round),
//! and the outbox rows and audit entries of the step are written in the same
//! transaction, or not at all.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Type};

use super::rows::{AlertRow, DeliveryRow, EventRow, OutboxRow, SilenceRow};
use super::sql::{
    CiRow, ClaimRow, Dialect, GroupRow, IdRow, MessageRow, RetryRow, SeqRow, SqlStore, WaitRow,
    tuples,
};
use super::{StoreError, from_ms, to_ms};

/// An alert's escalation as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct EscalationRecord {
    pub alert_id: String,
    #[serde(skip)]
    pub alert_seq: i64,
    /// This run of the chain; a new one each time the alert fires again.
    pub id: String,
    pub policy: String,
    /// The policy's steps when it started (`engine::escalation::Snapshot`).
    #[serde(skip)]
    pub snapshot: String,
    /// The next step to run, 0-based.
    pub step: i64,
    /// Repeats done.
    pub round: i64,
    /// Unix ms: when the next step runs (`waiting`), the pause is looked at
    /// again (`paused`), or the acknowledgement expires (`acked`).
    pub due_at: i64,
    /// `waiting`, `paused`, `acked`, `cancelled` or `exhausted`.
    pub status: String,
    pub started_at: i64,
    pub updated_at: i64,
}

impl EscalationRecord {
    pub fn due(&self) -> Result<DateTime<Utc>, StoreError> {
        from_ms(self.due_at)
    }

    /// Still able to do something.
    pub fn active(&self) -> bool {
        matches!(self.status.as_str(), "waiting" | "paused" | "acked")
    }
}

/// Moving a chain on: where it must be (`expect_*`) and where it goes, with
/// what the step sends and records.
#[derive(Debug, Clone)]
pub struct Advance {
    pub alert_id: String,
    pub expect_id: String,
    pub expect_step: i64,
    pub expect_round: i64,
    pub step: i64,
    pub round: i64,
    pub status: &'static str,
    pub due_at: i64,
    pub outbox: Vec<OutboxRow>,
    /// (kind, actor, via) audit entries.
    pub events: Vec<(String, String, String)>,
    pub now: DateTime<Utc>,
}

/// "I take tonight": a person on call instead of the rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct OverrideRecord {
    pub id: String,
    pub schedule: String,
    pub person: String,
    pub start_at: i64,
    pub end_at: i64,
    pub created_at: i64,
    pub created_by: String,
}

/// Overrides kept per schedule: the oldest ended ones are forgotten.
pub const MAX_OVERRIDES: i64 = 500;

#[derive(sqlx::FromRow)]
pub struct CountRow {
    n: i64,
}

/// A delivery refused for good or given up, with its alert's title.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct FailedDelivery {
    pub id: i64,
    pub alert_id: String,
    pub title: String,
    pub channel: Option<String>,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "alert_id, alert_seq, id, policy, snapshot, step, round, due_at, status, \
     started_at, updated_at";

impl<DB> SqlStore<DB>
where
    DB: Dialect,
    for<'q> <DB as Database>::Arguments<'q>: IntoArguments<'q, DB>,
    for<'c> &'c mut <DB as Database>::Connection: Executor<'c, Database = DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<String>: Encode<'q, DB>,
    for<'r> AlertRow: FromRow<'r, DB::Row>,
    for<'r> SilenceRow: FromRow<'r, DB::Row>,
    for<'r> EventRow: FromRow<'r, DB::Row>,
    for<'r> OutboxRow: FromRow<'r, DB::Row>,
    for<'r> DeliveryRow: FromRow<'r, DB::Row>,
    for<'r> GroupRow: FromRow<'r, DB::Row>,
    for<'r> SeqRow: FromRow<'r, DB::Row>,
    for<'r> ClaimRow: FromRow<'r, DB::Row>,
    for<'r> IdRow: FromRow<'r, DB::Row>,
    for<'r> MessageRow: FromRow<'r, DB::Row>,
    for<'r> WaitRow: FromRow<'r, DB::Row>,
    for<'r> RetryRow: FromRow<'r, DB::Row>,
    for<'r> CiRow: FromRow<'r, DB::Row>,
    for<'r> EscalationRecord: FromRow<'r, DB::Row>,
    for<'r> OverrideRecord: FromRow<'r, DB::Row>,
    for<'r> CountRow: FromRow<'r, DB::Row>,
    for<'r> FailedDelivery: FromRow<'r, DB::Row>,
{
    /// Writes a plan's escalation changes inside its transaction.
    pub(super) async fn write_escalations(
        conn: &mut DB::Connection,
        writes: &[super::plan::EscalationWrite],
        now_ms: i64,
    ) -> Result<(), StoreError> {
        use super::plan::EscalationWrite as W;
        for w in writes {
            match w {
                W::Start {
                    alert_id,
                    alert_seq,
                    id,
                    policy,
                    snapshot,
                    due_at,
                } => {
                    sqlx::query(&DB::sql(&format!(
                        "INSERT INTO escalations ({COLUMNS}) VALUES (?, ?, ?, ?, ?, 0, 0, ?, 'waiting', ?, ?) \
                         ON CONFLICT (alert_id) DO UPDATE SET id = excluded.id, policy = excluded.policy, \
                         snapshot = excluded.snapshot, step = 0, round = 0, due_at = excluded.due_at, \
                         status = 'waiting', started_at = excluded.started_at, updated_at = excluded.updated_at"
                    )))
                    .bind(alert_id.clone())
                    .bind(*alert_seq)
                    .bind(id.clone())
                    .bind(policy.clone())
                    .bind(snapshot.clone())
                    .bind(*due_at)
                    .bind(now_ms)
                    .bind(now_ms)
                    .execute(&mut *conn)
                    .await?;
                }
                W::Acked { alert_id, until } => {
                    sqlx::query(&DB::sql(
                        "UPDATE escalations SET status = 'acked', due_at = ?, updated_at = ? \
                         WHERE alert_id = ? AND status IN ('waiting', 'paused')",
                    ))
                    .bind(*until)
                    .bind(now_ms)
                    .bind(alert_id.clone())
                    .execute(&mut *conn)
                    .await?;
                }
                W::Cancel { alert_id } => {
                    sqlx::query(&DB::sql(
                        "UPDATE escalations SET status = 'cancelled', updated_at = ? \
                         WHERE alert_id = ? AND status IN ('waiting', 'paused', 'acked')",
                    ))
                    .bind(now_ms)
                    .bind(alert_id.clone())
                    .execute(&mut *conn)
                    .await?;
                }
            }
        }
        Ok(())
    }

    pub(super) async fn esc_due(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<EscalationRecord>, StoreError> {
        Ok(sqlx::query_as(&DB::sql(&format!(
            "SELECT {COLUMNS} FROM escalations WHERE status IN ('waiting', 'paused', 'acked') \
             AND due_at <= ? ORDER BY due_at LIMIT ?"
        )))
        .bind(to_ms(now))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?)
    }

    pub(super) async fn esc_get(
        &self,
        alert_id: &str,
    ) -> Result<Option<EscalationRecord>, StoreError> {
        Ok(sqlx::query_as(&DB::sql(&format!(
            "SELECT {COLUMNS} FROM escalations WHERE alert_id = ?"
        )))
        .bind(alert_id.to_string())
        .fetch_optional(&self.reader)
        .await?)
    }

    /// Moves a chain on if it is where `a` expects; `false`: it was not
    /// (acknowledged, restarted or moved by another replica), nothing written.
    pub(super) async fn esc_advance(&self, a: &Advance) -> Result<bool, StoreError> {
        let now = to_ms(a.now);
        let mut tx = self.writer.begin().await?;
        let moved = sqlx::query(&DB::sql(
            "UPDATE escalations SET step = ?, round = ?, status = ?, due_at = ?, updated_at = ? \
             WHERE alert_id = ? AND id = ? AND step = ? AND round = ? \
             AND status IN ('waiting', 'paused', 'acked')",
        ))
        .bind(a.step)
        .bind(a.round)
        .bind(a.status.to_string())
        .bind(a.due_at)
        .bind(now)
        .bind(a.alert_id.clone())
        .bind(a.expect_id.clone())
        .bind(a.expect_step)
        .bind(a.expect_round)
        .execute(&mut *tx)
        .await?;
        if DB::rows_affected(&moved) != 1 {
            return Ok(false);
        }
        let seq: Option<CountRow> =
            sqlx::query_as(&DB::sql("SELECT seq AS n FROM alerts WHERE id = ?"))
                .bind(a.alert_id.clone())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(CountRow { n: seq }) = seq else {
            return Ok(false);
        };
        let events: Vec<EventRow> = a
            .events
            .iter()
            .map(|(kind, actor, via)| EventRow {
                alert_id: a.alert_id.clone(),
                alert_seq: seq,
                at: now,
                kind: kind.clone(),
                actor: actor.clone(),
                via: via.clone(),
            })
            .collect();
        Self::insert_events(&mut tx, &events).await?;
        Self::insert_outbox_rows(&mut tx, &a.outbox).await?;
        tx.commit().await?;
        if !a.outbox.is_empty() {
            self.wake.notify_one();
        }
        Ok(true)
    }

    /// A page failed for good: the chains of these alerts move on now.
    pub(super) async fn esc_now(
        &self,
        alert_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        for id in alert_ids {
            sqlx::query(&DB::sql(
                "UPDATE escalations SET due_at = ?, updated_at = ? \
                 WHERE alert_id = ? AND status = 'waiting' AND due_at > ?",
            ))
            .bind(to_ms(now))
            .bind(to_ms(now))
            .bind(id.clone())
            .bind(to_ms(now))
            .execute(&self.writer)
            .await?;
        }
        Ok(())
    }

    /// One audit entry outside any other change.
    pub(super) async fn esc_note(
        &self,
        alert_id: &str,
        (kind, actor, via): (&str, &str, &str),
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(&DB::sql(
            "INSERT INTO alert_events (alert_id, alert_seq, at, kind, actor, via) \
             SELECT id, seq, ?, ?, ?, ? FROM alerts WHERE id = ?",
        ))
        .bind(to_ms(now))
        .bind(kind.to_string())
        .bind(actor.to_string())
        .bind(via.to_string())
        .bind(alert_id.to_string())
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    pub(super) async fn override_add(&self, o: &OverrideRecord) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await?;
        sqlx::query(&DB::sql(
            "INSERT INTO schedule_overrides (id, schedule, person, start_at, end_at, created_at, created_by) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        ))
        .bind(o.id.clone())
        .bind(o.schedule.clone())
        .bind(o.person.clone())
        .bind(o.start_at)
        .bind(o.end_at)
        .bind(o.created_at)
        .bind(o.created_by.clone())
        .execute(&mut *tx)
        .await?;
        // Bounded: past MAX_OVERRIDES, the ones that ended first go.
        sqlx::query(&DB::sql(
            "DELETE FROM schedule_overrides WHERE schedule = ? AND end_at < ? AND id NOT IN \
             (SELECT id FROM schedule_overrides WHERE schedule = ? ORDER BY end_at DESC LIMIT ?)",
        ))
        .bind(o.schedule.clone())
        .bind(o.created_at)
        .bind(o.schedule.clone())
        .bind(MAX_OVERRIDES)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The overrides of `schedules` that have not ended at `now`.
    pub(super) async fn override_list(
        &self,
        schedules: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Vec<OverrideRecord>, StoreError> {
        if schedules.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, schedule, person, start_at, end_at, created_at, created_by \
             FROM schedule_overrides WHERE end_at > ? AND schedule IN {} ORDER BY start_at LIMIT ?",
            tuples(1, schedules.len())
        );
        let sql = DB::sql(&sql);
        let mut q = sqlx::query_as(&sql).bind(to_ms(now));
        for s in schedules {
            q = q.bind(s.to_string());
        }
        Ok(q.bind(MAX_OVERRIDES).fetch_all(&self.reader).await?)
    }

    /// Pages sent on `channel` to `person` since `since` (per-number caps).
    pub(super) async fn pages_count(
        &self,
        channel: &str,
        person: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let row: CountRow = sqlx::query_as(&DB::sql(
            "SELECT COUNT(*) AS n FROM outbox WHERE channel = ? AND target = ? AND kind = 'page' \
             AND status = 'sent' AND sent_at >= ?",
        ))
        .bind(channel.to_string())
        .bind(person.to_string())
        .bind(to_ms(since))
        .fetch_one(&self.reader)
        .await?;
        Ok(row.n)
    }

    /// Rows pending, failed and dead, and the due time of the oldest due
    /// pending row (each through a partial index).
    pub(super) async fn count_outbox(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<(&'static str, i64)>, Option<i64>), StoreError> {
        let mut counts = Vec::new();
        for status in ["pending", "failed", "dead"] {
            let row: CountRow = sqlx::query_as(&DB::sql(
                "SELECT COUNT(*) AS n FROM outbox WHERE status = ?",
            ))
            .bind(status.to_string())
            .fetch_one(&self.reader)
            .await?;
            counts.push((status, row.n));
        }
        let oldest: CountRow = sqlx::query_as(&DB::sql(
            "SELECT COALESCE(MIN(due_at), 0) AS n FROM outbox WHERE status = 'pending' AND due_at <= ?",
        ))
        .bind(to_ms(now))
        .fetch_one(&self.reader)
        .await?;
        Ok((counts, (oldest.n > 0).then_some(oldest.n)))
    }

    /// Failed and dead deliveries, newest first (through the partial index
    /// on them).
    pub(super) async fn failed_list(&self, limit: u32) -> Result<Vec<FailedDelivery>, StoreError> {
        Ok(sqlx::query_as(&DB::sql(
            "SELECT o.id, o.alert_id, a.title, o.channel, o.kind, o.status, o.attempts, \
             o.last_error, o.created_at FROM outbox o JOIN alerts a ON a.seq = o.alert_seq \
             WHERE o.status IN ('failed', 'dead') ORDER BY o.id DESC LIMIT ?",
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?)
    }
}
