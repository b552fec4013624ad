//! The embedded SQLite backend (WAL). Writes go through one connection, which
//! serialises them without `SQLITE_BUSY` upgrade failures; reads use a pool.
//! `synchronous = FULL`: an alert answered 202 survives power loss, not only
//! a process crash.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{Row, SqlitePool};

use super::{
    ActionOutcome, Actor, AlertEvent, AlertRecord, SilenceRecord, Store, StoreError, from_ms,
    new_id, to_ms,
};
use crate::domain::matcher::all_match;
use crate::domain::silence::match_labels;
use crate::domain::{
    AlertState, AlertStatus, Labels, Matcher, NewAlert, NewSilence, Severity, StateAction,
    Transition,
};

/// Concurrent readers.
const READ_CONNECTIONS: u32 = 4;

pub struct SqliteStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

const SELECT_SILENCE: &str = "SELECT id, matchers, starts_at, ends_at, created_by, comment, created_at, expired_at FROM silences";

fn silence(row: &SqliteRow, now: DateTime<Utc>) -> Result<SilenceRecord, StoreError> {
    let matchers: Vec<Matcher> = serde_json::from_str(row.try_get("matchers")?)
        .map_err(|e| StoreError::Corrupt(format!("silence matchers: {e}")))?;
    let starts_at = from_ms(row.try_get("starts_at")?)?;
    let ends_at = from_ms(row.try_get("ends_at")?)?;
    let expired_at = opt_time(row, "expired_at")?;
    let status = if NewSilence::is_active(starts_at, ends_at, expired_at, now) {
        "active"
    } else if now < starts_at && expired_at.is_none() {
        "pending"
    } else {
        "expired"
    };
    Ok(SilenceRecord {
        id: row.try_get("id")?,
        matchers,
        starts_at,
        ends_at,
        created_by: row.try_get("created_by")?,
        comment: row.try_get("comment")?,
        created_at: from_ms(row.try_get("created_at")?)?,
        expired_at,
        status,
    })
}

/// Marks records that an active silence covers: `silenced_until` is the latest
/// end among the silences that match, and the state is shown accordingly.
fn overlay(
    records: &mut [AlertRecord],
    silences: &[SilenceRecord],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if silences.is_empty() {
        return Ok(());
    }
    for r in records {
        let labels = match_labels(
            &r.labels,
            r.severity,
            r.service.as_deref(),
            &r.title,
            &r.fingerprint,
        );
        let until = silences
            .iter()
            .filter(|s| all_match(&s.matchers, &labels))
            .map(|s| s.ends_at)
            .max();
        if until.is_some() {
            r.silenced_until = until;
            r.state = state_from(r.state)?.shown(until, now);
        }
    }
    Ok(())
}

const SELECT_ALERT: &str = "SELECT id, fingerprint, title, content, severity, service, labels, annotations, \
     state, acked_by, acked_at, count, first_seen, last_seen, trace_id, request_id, \
     starts_at, resolved_at FROM alerts";

impl SqliteStore {
    async fn active_silences(&self, now: DateTime<Utc>) -> Result<Vec<SilenceRecord>, StoreError> {
        let now_ms = to_ms(now);
        let rows = sqlx::query(&format!(
            "{SELECT_SILENCE} WHERE starts_at <= ? AND ends_at > ? AND (expired_at IS NULL OR expired_at > ?)"
        ))
        .bind(now_ms)
        .bind(now_ms)
        .bind(now_ms)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|r| silence(r, now)).collect()
    }

    /// Opens (creating the file and its directory if needed) and migrates.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(5));
        if let Some(dir) = options.get_filename().parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Url(format!("cannot create {}: {e}", dir.display()))
                })?;
            }
        }
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("migrations/sqlite").run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(READ_CONNECTIONS)
            .connect_with(options.read_only(true))
            .await?;
        Ok(Self { writer, reader })
    }
}

fn labels_json(labels: &Labels) -> String {
    serde_json::to_string(labels.as_map()).expect("string map serializes")
}

fn labels_from(field: &'static str, json: &str) -> Result<Labels, StoreError> {
    let map: std::collections::BTreeMap<String, String> =
        serde_json::from_str(json).map_err(|e| StoreError::Corrupt(format!("{field}: {e}")))?;
    Labels::parse_bounded(field, map, usize::MAX).map_err(|e| StoreError::Corrupt(e.to_string()))
}

fn opt_time(row: &SqliteRow, col: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<i64>, _>(col)?.map(from_ms).transpose()
}

fn state_from(s: &str) -> Result<AlertState, StoreError> {
    match s {
        "firing" => Ok(AlertState::Firing),
        "acknowledged" => Ok(AlertState::Acknowledged),
        "resolved" => Ok(AlertState::Resolved),
        other => Err(StoreError::Corrupt(format!("unknown state {other}"))),
    }
}

fn record(row: &SqliteRow, now: DateTime<Utc>) -> Result<AlertRecord, StoreError> {
    let state = state_from(row.try_get("state")?)?;
    let severity: String = row.try_get("severity")?;
    Ok(AlertRecord {
        id: row.try_get("id")?,
        fingerprint: row.try_get("fingerprint")?,
        title: row.try_get("title")?,
        content: row.try_get("content")?,
        severity: Severity::parse("severity", &severity)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        service: row.try_get("service")?,
        labels: labels_from("labels", row.try_get("labels")?)?,
        annotations: labels_from("annotations", row.try_get("annotations")?)?,
        // Silences are applied afterwards by `overlay`.
        state: state.shown(None, now),
        acked_by: row.try_get("acked_by")?,
        acked_at: opt_time(row, "acked_at")?,
        silenced_until: None,
        count: row.try_get("count")?,
        first_seen: from_ms(row.try_get("first_seen")?)?,
        last_seen: from_ms(row.try_get("last_seen")?)?,
        trace_id: row.try_get("trace_id")?,
        request_id: row.try_get("request_id")?,
        starts_at: opt_time(row, "starts_at")?,
        resolved_at: opt_time(row, "resolved_at")?,
    })
}

fn event_kind(to: AlertState, from: AlertState) -> &'static str {
    match (from, to) {
        (AlertState::Resolved, AlertState::Firing) => "refired",
        (AlertState::Acknowledged, AlertState::Firing) => "unacknowledged",
        (_, AlertState::Acknowledged) => "acknowledged",
        (_, AlertState::Resolved) => "resolved",
        (_, AlertState::Firing) => "fired",
    }
}

async fn insert_event(
    tx: &mut sqlx::SqliteConnection,
    alert_id: &str,
    now: i64,
    kind: &str,
    actor: &str,
    via: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO alert_events (alert_id, at, kind, actor, via) VALUES (?, ?, ?, ?, ?)")
        .bind(alert_id)
        .bind(now)
        .bind(kind)
        .bind(actor)
        .bind(via)
        .execute(tx)
        .await?;
    Ok(())
}

/// Folds one occurrence into its record inside the caller's transaction.
async fn ingest_one(
    tx: &mut sqlx::SqliteConnection,
    alert: &NewAlert,
    now: i64,
) -> Result<String, StoreError> {
    let existing = sqlx::query("SELECT id, state FROM alerts WHERE fingerprint = ?")
        .bind(alert.fingerprint.as_str())
        .fetch_optional(&mut *tx)
        .await?;
    let action = match alert.status {
        AlertStatus::Firing => StateAction::Fire,
        AlertStatus::Resolved => StateAction::Resolve,
    };
    let Some(row) = existing else {
        let id = new_id();
        let state = match alert.status {
            AlertStatus::Firing => AlertState::Firing,
            AlertStatus::Resolved => AlertState::Resolved,
        };
        sqlx::query(
            "INSERT INTO alerts (id, fingerprint, title, content, severity, service, labels, annotations, \
             state, count, first_seen, last_seen, trace_id, request_id, starts_at, resolved_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(alert.fingerprint.as_str())
        .bind(&alert.title)
        .bind(&alert.content)
        .bind(alert.severity.as_str())
        .bind(&alert.service)
        .bind(labels_json(&alert.labels))
        .bind(labels_json(&alert.annotations))
        .bind(state.as_str())
        .bind(now)
        .bind(now)
        .bind(&alert.trace_id)
        .bind(&alert.request_id)
        .bind(alert.starts_at.map(to_ms))
        .bind((state == AlertState::Resolved).then_some(now))
        .execute(&mut *tx)
        .await?;
        insert_event(
            tx,
            &id,
            now,
            event_kind(state, AlertState::Firing),
            "source",
            "source",
        )
        .await?;
        return Ok(id);
    };
    let id: String = row.try_get("id")?;
    let from = state_from(row.try_get("state")?)?;
    let to = match from.apply(action) {
        Transition::To(to) => {
            insert_event(tx, &id, now, event_kind(to, from), "source", "source").await?;
            to
        }
        Transition::Unchanged | Transition::Refused(_) => from,
    };
    // A firing occurrence counts; the latest content wins. A resolution keeps
    // the last firing content and only records the end.
    let firing = alert.status == AlertStatus::Firing;
    sqlx::query(
        "UPDATE alerts SET count = count + ?, last_seen = ?, state = ?, \
         title = CASE WHEN ? THEN ? ELSE title END, content = CASE WHEN ? THEN ? ELSE content END, \
         severity = CASE WHEN ? THEN ? ELSE severity END, service = CASE WHEN ? THEN ? ELSE service END, \
         labels = CASE WHEN ? THEN ? ELSE labels END, annotations = CASE WHEN ? THEN ? ELSE annotations END, \
         trace_id = COALESCE(?, trace_id), request_id = COALESCE(?, request_id), \
         resolved_at = CASE WHEN ? = 'resolved' THEN COALESCE(resolved_at, ?) ELSE NULL END, \
         acked_by = CASE WHEN ? = 'firing' THEN NULL ELSE acked_by END, \
         acked_at = CASE WHEN ? = 'firing' THEN NULL ELSE acked_at END \
         WHERE id = ?",
    )
    .bind(i64::from(firing))
    .bind(now)
    .bind(to.as_str())
    .bind(firing)
    .bind(&alert.title)
    .bind(firing)
    .bind(&alert.content)
    .bind(firing)
    .bind(alert.severity.as_str())
    .bind(firing)
    .bind(&alert.service)
    .bind(firing)
    .bind(labels_json(&alert.labels))
    .bind(firing)
    .bind(labels_json(&alert.annotations))
    .bind(&alert.trace_id)
    .bind(&alert.request_id)
    .bind(to.as_str())
    .bind(now)
    .bind(to.as_str())
    .bind(to.as_str())
    .bind(&id)
    .execute(&mut *tx)
    .await?;
    Ok(id)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ingest(
        &self,
        alerts: &[NewAlert],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let now = to_ms(now);
        let mut tx = self.writer.begin().await?;
        let mut ids = Vec::with_capacity(alerts.len());
        for alert in alerts {
            ids.push(ingest_one(&mut tx, alert, now).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    async fn get(&self, id: &str) -> Result<Option<AlertRecord>, StoreError> {
        let row = sqlx::query(&format!("{SELECT_ALERT} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&self.reader)
            .await?;
        let now = Utc::now();
        let Some(row) = row else { return Ok(None) };
        let mut records = [record(&row, now)?];
        overlay(&mut records, &self.active_silences(now).await?, now)?;
        let [record] = records;
        Ok(Some(record))
    }

    async fn list(
        &self,
        state: Option<&str>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        let rows = match state {
            Some(state) => {
                sqlx::query(&format!(
                    "{SELECT_ALERT} WHERE state = ? ORDER BY last_seen DESC LIMIT ?"
                ))
                .bind(state)
                .bind(limit)
                .fetch_all(&self.reader)
                .await?
            }
            None => {
                sqlx::query(&format!("{SELECT_ALERT} ORDER BY last_seen DESC LIMIT ?"))
                    .bind(limit)
                    .fetch_all(&self.reader)
                    .await?
            }
        };
        let mut records = rows
            .iter()
            .map(|r| record(r, now))
            .collect::<Result<Vec<_>, _>>()?;
        overlay(&mut records, &self.active_silences(now).await?, now)?;
        Ok(records)
    }

    async fn apply(
        &self,
        id: &str,
        action: StateAction,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<ActionOutcome, StoreError> {
        let now_ms = to_ms(now);
        let mut tx = self.writer.begin().await?;
        let Some(row) = sqlx::query("SELECT state FROM alerts WHERE id = ?")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(ActionOutcome::NotFound);
        };
        let from = state_from(row.try_get("state")?)?;
        let to = match from.apply(action) {
            Transition::Refused(why) => return Ok(ActionOutcome::Refused(why)),
            Transition::Unchanged => {
                drop(tx);
                let record = self
                    .get(id)
                    .await?
                    .ok_or(StoreError::Corrupt("alert vanished".into()))?;
                return Ok(ActionOutcome::Unchanged(record));
            }
            Transition::To(to) => to,
        };
        let (acked_by, acked_at) = match to {
            AlertState::Acknowledged => (Some(actor.name.as_str()), Some(now_ms)),
            _ => (None, None),
        };
        sqlx::query(
            "UPDATE alerts SET state = ?, acked_by = CASE WHEN ? = 'resolved' THEN acked_by ELSE ? END, \
             acked_at = CASE WHEN ? = 'resolved' THEN acked_at ELSE ? END, \
             resolved_at = CASE WHEN ? = 'resolved' THEN ? ELSE NULL END WHERE id = ?",
        )
        .bind(to.as_str())
        .bind(to.as_str())
        .bind(acked_by)
        .bind(to.as_str())
        .bind(acked_at)
        .bind(to.as_str())
        .bind(now_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        insert_event(
            &mut tx,
            id,
            now_ms,
            event_kind(to, from),
            &actor.name,
            actor.via,
        )
        .await?;
        let row = sqlx::query(&format!("{SELECT_ALERT} WHERE id = ?"))
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let record = record(&row, now)?;
        tx.commit().await?;
        Ok(ActionOutcome::Changed(record))
    }

    async fn events(&self, id: &str) -> Result<Vec<AlertEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, kind, actor, via FROM alert_events WHERE alert_id = ? ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AlertEvent {
                    at: from_ms(r.try_get("at")?)?,
                    kind: r.try_get("kind")?,
                    actor: r.try_get("actor")?,
                    via: r.try_get("via")?,
                })
            })
            .collect()
    }

    async fn create_silence(
        &self,
        new: &NewSilence,
        for_alert: Option<(&str, &Actor)>,
        now: DateTime<Utc>,
    ) -> Result<SilenceRecord, StoreError> {
        let id = new_id();
        let matchers: Vec<String> = new.matchers.iter().map(ToString::to_string).collect();
        let mut tx = self.writer.begin().await?;
        sqlx::query(
            "INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&id)
        .bind(serde_json::to_string(&matchers).expect("strings serialize"))
        .bind(to_ms(new.starts_at))
        .bind(to_ms(new.ends_at))
        .bind(&new.created_by)
        .bind(&new.comment)
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?;
        if let Some((alert_id, actor)) = for_alert {
            insert_event(
                &mut tx,
                alert_id,
                to_ms(now),
                "silenced",
                &actor.name,
                actor.via,
            )
            .await?;
        }
        let row = sqlx::query(&format!("{SELECT_SILENCE} WHERE id = ?"))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        let record = silence(&row, now)?;
        tx.commit().await?;
        Ok(record)
    }

    async fn list_silences(
        &self,
        include_expired: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<SilenceRecord>, StoreError> {
        let now_ms = to_ms(now);
        let rows = sqlx::query(&format!(
            "{SELECT_SILENCE} WHERE ? OR (ends_at > ? AND expired_at IS NULL) ORDER BY ends_at"
        ))
        .bind(include_expired)
        .bind(now_ms)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(|r| silence(r, now)).collect()
    }

    async fn expire_silence(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SilenceRecord>, StoreError> {
        let now_ms = to_ms(now);
        let mut tx = self.writer.begin().await?;
        sqlx::query("UPDATE silences SET expired_at = ? WHERE id = ? AND expired_at IS NULL AND ends_at > ?")
            .bind(now_ms)
            .bind(id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query(&format!("{SELECT_SILENCE} WHERE id = ?"))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        tx.commit().await?;
        row.map(|r| silence(&r, now)).transpose()
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
}
