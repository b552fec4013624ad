//! One SQL implementation of [`Store`] for both backends. The schemas agree
//! (text, 64-bit integers, Unix ms), so the differences fit in [`Dialect`]:
//! placeholders, row locks, and which errors mean "try the transaction again".
//!
//! Ingestion goes through a group-commit writer ([`super::writer`]): requests
//! that arrive while a transaction commits are folded into the next one, so
//! one fsync and a handful of multi-row statements serve many requests. Every
//! request is still answered only after the commit that holds it.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Arguments, Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::plan::{self, Plan, Routed, group_id};
use super::rows::{
    ALERT_COLUMNS, AlertRow, DELIVERY_COLUMNS, DeliveryRow, EventRow, OUTBOX_COLUMNS, OutboxRow,
    SILENCE_COLUMNS, SilenceRow,
};
use super::writer::{self, Queue};
use super::{
    ActionOutcome, Actor, AlertEvent, AlertRecord, Claimed, LinkUse, NotificationRecord, Outcome,
    Pruned, RetryOutcome, SilenceRecord, Store, StoreError, from_ms, new_id, to_ms,
};
use crate::domain::matcher::all_match;
use crate::domain::silence::match_labels;
use crate::domain::{Labels, NewAlert, NewSilence, StateAction, Transition};
use crate::engine::Engine;

/// What differs between the SQL backends.
pub trait Dialect: Database {
    /// Appended to the SELECT that loads the rows a write changes:
    /// `FOR UPDATE` where several replicas write (PostgreSQL). SQLite has one
    /// writer connection, which already serialises.
    const LOCK: &'static str;

    /// The query with `?` placeholders rewritten for the backend.
    fn sql(query: &str) -> Cow<'_, str>;

    /// Appended to the SELECT that picks outbox rows to claim.
    const CLAIM_LOCK: &'static str;

    /// Returns `?` (a count) fresh `alerts.seq` values, one per row.
    const RESERVE_SEQS: &'static str;

    /// The current time in Unix milliseconds, as an SQL expression.
    const NOW_MS: &'static str;

    /// Run on the writer connection before and after a replay-memory
    /// write: that write does not wait for the disk (it survives a crash of
    /// the process, not of the machine), so that it stays cheap.
    const RELAXED: (&'static str, &'static str);

    /// Whether replicas share the replay memory ([`Store::shared_replay`]):
    /// `replay_ids` with a unique key, else the append-only `replay_log`.
    const SHARED_REPLAY: bool;

    /// Rows an `INSERT`/`UPDATE` changed.
    fn rows_affected(result: &Self::QueryResult) -> u64;

    /// The transaction lost a race with another writer (unique violation,
    /// deadlock, serialization failure) and should simply run again.
    fn retryable(error: &sqlx::Error) -> bool;
}

/// How long the silences read for one decision serve the next ones. A
/// silence created or ended through this process applies at once (the
/// cache is dropped); one created through another replica within this.
pub const SILENCE_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The silences not yet ended as last read (with their matchers parsed and
/// their regexes compiled), so that ingest commits and reads do not parse
/// every silence again: with 500 silences that cost more than the rest.
#[derive(Default)]
pub struct SilenceCache {
    inner: std::sync::Mutex<Option<(std::time::Instant, Arc<Vec<SilenceRecord>>)>>,
}

impl SilenceCache {
    fn fresh(&self) -> Option<Arc<Vec<SilenceRecord>>> {
        let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner
            .as_ref()
            .filter(|(at, _)| at.elapsed() < SILENCE_CACHE_TTL)
            .map(|(_, all)| all.clone())
    }

    fn keep(&self, all: Vec<SilenceRecord>) -> Arc<Vec<SilenceRecord>> {
        let all = Arc::new(all);
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((std::time::Instant::now(), all.clone()));
        all
    }

    /// Drops what was read: silences changed (before the change commits,
    /// so no read in between can keep the old list).
    fn forget(&self) {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

/// Rows per multi-row statement: 24 columns × 500 stays under every
/// backend's bind limit (SQLite 32 766, PostgreSQL 65 535).
const CHUNK: usize = 500;

/// Attempts for a transaction that lost a race with another replica.
const ATTEMPTS: u32 = 5;

/// CI series states written by one statement at most.
const CI_CHUNK: usize = 128;

/// CI series rows kept in memory at most (a row is a few KB).
const CI_CACHE: usize = 10_000;

pub struct SqlStore<DB: Database> {
    pub(super) writer: Pool<DB>,
    pub(super) reader: Pool<DB>,
    /// The rules in force; replaced on a config reload.
    pub(super) engine: Arc<arc_swap::ArcSwap<Engine>>,
    queue: Queue,
    ci_queue: super::ci_writer::Queue,
    /// CI series as this process last wrote or read them, so that a
    /// delivery need not read its series first. Only a hint: a put made on
    /// a stale entry (another replica wrote since) fails its version check
    /// and drops the entry, and the request reads the store. (Another
    /// replica's `ci_synced` changes no version: a `pending` flag cached
    /// here may be stale, which costs one more ingest of the same alert
    /// state, folded into the alert as an occurrence.)
    ci_cache: std::sync::Mutex<std::collections::HashMap<String, super::CiSeriesRow>>,
    /// The silences not yet ended, shared with the writer.
    silences: Arc<SilenceCache>,
    pub(super) wake: Arc<tokio::sync::Notify>,
    faults: Arc<crate::faults::Faults>,
}

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
    for<'r> super::escalations::EscalationRecord: FromRow<'r, DB::Row>,
    for<'r> super::escalations::OverrideRecord: FromRow<'r, DB::Row>,
    for<'r> super::escalations::CountRow: FromRow<'r, DB::Row>,
    for<'r> super::escalations::FailedDelivery: FromRow<'r, DB::Row>,
{
    /// Wraps migrated pools and starts the group-commit writer.
    pub(super) fn start(
        writer: Pool<DB>,
        reader: Pool<DB>,
        engine: Engine,
        background: super::Background,
    ) -> Self {
        let engine = Arc::new(arc_swap::ArcSwap::from_pointee(engine));
        let wake = Arc::new(tokio::sync::Notify::new());
        let silences = Arc::new(SilenceCache::default());
        let (pool, eng, faults) = (writer.clone(), engine.clone(), background.faults.clone());
        let cache = silences.clone();
        let commit: writer::Commit = Arc::new(move |batch| {
            let (pool, eng, faults) = (pool.clone(), eng.load_full(), faults.clone());
            let cache = cache.clone();
            Box::pin(async move { Self::commit(&pool, &eng, &cache, &faults, batch).await })
        });
        let queue = writer::spawn(
            commit,
            wake.clone(),
            &background.tasks,
            background.faults.clone(),
        );
        let pool = writer.clone();
        let ci_commit: super::ci_writer::Commit = Arc::new(move |puts| {
            let pool = pool.clone();
            Box::pin(async move { Self::ci_commit(&pool, &puts).await })
        });
        let ci_queue = super::ci_writer::spawn(ci_commit, &background.tasks);
        Self {
            writer,
            reader,
            engine,
            queue,
            ci_queue,
            ci_cache: Default::default(),
            silences,
            wake,
            faults: background.faults,
        }
    }

    /// Remembers a series row; past [`CI_CACHE`] rows, starts over.
    fn ci_cache_insert(&self, row: super::CiSeriesRow) {
        let mut cache = self.ci_cache.lock().expect("cache lock");
        if cache.len() >= CI_CACHE && !cache.contains_key(&row.key) {
            cache.clear();
        }
        cache.insert(row.key.clone(), row);
    }

    /// Writes a batch of CI series states in one transaction (see
    /// [`super::ci_writer`]). A batch that changes no alert (no `pending`
    /// state) does not wait for the disk, like the replay memory: it
    /// survives a crash of ackbot; a power loss may lose it (a streak then
    /// counts a run fewer). A batch with an alert change is fully durable,
    /// and its commit carries the relaxed ones before it (WAL).
    async fn ci_commit(
        pool: &Pool<DB>,
        puts: &[super::ci_writer::CiPut],
    ) -> Result<Vec<bool>, StoreError> {
        let now = Utc::now().timestamp_millis();
        let mut conn = pool.acquire().await?;
        let relaxed = puts.iter().all(|p| !p.pending);
        if relaxed {
            sqlx::query(DB::RELAXED.0).execute(&mut *conn).await?;
        }
        let result = async {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            // One statement per power-of-two chunk of inserts and of updates
            // (few statement shapes for the cache), each returning the keys
            // it wrote: the puts whose version still matched.
            let mut written = std::collections::HashSet::new();
            let (inserts, updates): (Vec<_>, Vec<_>) = puts.iter().partition(|p| p.version == 0);
            for chunk in pow2_chunks(&inserts, CI_CHUNK) {
                let sql = format!(
                    "INSERT INTO ci_series (key, version, state, pending, updated_at) VALUES {} \
                     ON CONFLICT (key) DO NOTHING RETURNING key AS id",
                    tuples(chunk.len(), 5)
                );
                let sql = DB::sql(&sql);
                let mut args = DB::Arguments::default();
                for p in chunk {
                    bind(&mut args, p.key.clone())?;
                    bind(&mut args, 1i64)?;
                    bind(&mut args, p.state.clone())?;
                    bind(&mut args, i64::from(p.pending))?;
                    bind(&mut args, now)?;
                }
                let rows: Vec<IdRow> = sqlx::query_as_with(&sql, args).fetch_all(&mut *tx).await?;
                written.extend(rows.into_iter().map(|r| r.id));
            }
            for chunk in pow2_chunks(&updates, CI_CHUNK) {
                // VALUES columns are column1… in SQLite and PostgreSQL alike.
                let sql = format!(
                    "UPDATE ci_series SET version = ci_series.version + 1, state = v.column3, \
                     pending = v.column4, updated_at = ? FROM (VALUES {}) AS v \
                     WHERE ci_series.key = v.column1 AND ci_series.version = v.column2 \
                     RETURNING ci_series.key AS id",
                    tuples(chunk.len(), 4)
                );
                let sql = DB::sql(&sql);
                let mut args = DB::Arguments::default();
                bind(&mut args, now)?;
                for p in chunk {
                    bind(&mut args, p.key.clone())?;
                    bind(&mut args, p.version)?;
                    bind(&mut args, p.state.clone())?;
                    bind(&mut args, i64::from(p.pending))?;
                }
                let rows: Vec<IdRow> = sqlx::query_as_with(&sql, args).fetch_all(&mut *tx).await?;
                written.extend(rows.into_iter().map(|r| r.id));
            }
            tx.commit().await?;
            // Keys are unique in a batch (`ci_writer`).
            Ok::<_, StoreError>(puts.iter().map(|p| written.contains(&p.key)).collect())
        }
        .await;
        if relaxed
            && sqlx::query(DB::RELAXED.1)
                .execute(&mut *conn)
                .await
                .is_err()
        {
            // Never hand the writer back with relaxed durability.
            conn.close_on_drop();
        }
        result
    }

    /// The silences not ended when they were read: from [`SilenceCache`]
    /// when it was read less than [`SILENCE_CACHE_TTL`] ago, else read
    /// again. Shared, not copied: a copy of a regex matcher starts with
    /// cold caches, so every batch would pay to warm 500 regexes again.
    /// Callers check [`SilenceRecord::is_active`] at their own `now`.
    async fn active_silences(
        cache: &SilenceCache,
        conn: &mut DB::Connection,
        now: DateTime<Utc>,
    ) -> Result<Arc<Vec<SilenceRecord>>, StoreError> {
        let fresh = cache.fresh();
        Ok(match fresh {
            Some(all) => all,
            None => {
                let now_ms = to_ms(now);
                let sql = format!(
                    "SELECT {SILENCE_COLUMNS} FROM silences \
                     WHERE ends_at > ? AND (expired_at IS NULL OR expired_at > ?)"
                );
                let sql = DB::sql(&sql);
                let rows: Vec<SilenceRow> = sqlx::query_as(&sql)
                    .bind(now_ms)
                    .bind(now_ms)
                    .fetch_all(&mut *conn)
                    .await?;
                let all: Vec<SilenceRecord> = rows
                    .iter()
                    .map(|r| r.record(now))
                    .collect::<Result<_, _>>()?;
                cache.keep(all)
            }
        })
    }

    async fn load_alerts(
        conn: &mut DB::Connection,
        column: &str,
        keys: &[String],
    ) -> Result<Vec<AlertRow>, StoreError> {
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(CHUNK) {
            let sql = format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE {column} IN {} ORDER BY fingerprint{}",
                tuples(1, chunk.len()),
                DB::LOCK
            );
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for k in chunk {
                bind(&mut args, k.clone())?;
            }
            let rows: Vec<AlertRow> = sqlx::query_as_with(&sql, args)
                .fetch_all(&mut *conn)
                .await?;
            out.extend(rows);
        }
        Ok(out)
    }

    async fn load_clocks(
        conn: &mut DB::Connection,
        plan: &mut Plan<'_>,
        ids: BTreeSet<String>,
    ) -> Result<(), StoreError> {
        let ids: Vec<String> = ids.into_iter().collect();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT channel, group_key, flush_at FROM notify_groups WHERE id IN {} ORDER BY id{}",
                tuples(1, chunk.len()),
                DB::LOCK
            );
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for k in chunk {
                bind(&mut args, k.clone())?;
            }
            let rows: Vec<GroupRow> = sqlx::query_as_with(&sql, args)
                .fetch_all(&mut *conn)
                .await?;
            for r in rows {
                plan.clocks
                    .load(r.channel, r.group_key, from_ms(r.flush_at)?);
            }
        }
        Ok(())
    }

    /// Binds one row's columns in [`ALERT_COLUMNS`] order.
    fn bind_alert<'q>(args: &mut DB::Arguments<'q>, r: &AlertRow) -> Result<(), StoreError> {
        bind(args, r.id.clone())?;
        bind(args, r.seq)?;
        bind(args, r.fingerprint.clone())?;
        bind(args, r.title.clone())?;
        bind(args, r.content.clone())?;
        bind(args, r.severity.clone())?;
        bind(args, r.service.clone())?;
        bind(args, r.labels.clone())?;
        bind(args, r.annotations.clone())?;
        bind(args, r.state.clone())?;
        bind(args, r.acked_by.clone())?;
        bind(args, r.acked_at)?;
        bind(args, r.count)?;
        bind(args, r.first_seen)?;
        bind(args, r.last_seen)?;
        bind(args, r.trace_id.clone())?;
        bind(args, r.request_id.clone())?;
        bind(args, r.starts_at)?;
        bind(args, r.resolved_at)?;
        bind(args, r.notified_state.clone())?;
        bind(args, r.last_notified_at)?;
        bind(args, r.window_start)?;
        bind(args, r.window_count)?;
        bind(args, r.window_aggregated)?;
        bind(args, r.inhibited_by.clone())
    }

    /// Writes what a plan changed: a few multi-row statements per chunk.
    async fn write(conn: &mut DB::Connection, plan: &Plan<'_>) -> Result<(), StoreError> {
        let rows: Vec<&AlertRow> = plan.changed_rows().collect();
        let columns = ALERT_COLUMNS.split(", ").count();
        let updates = ALERT_COLUMNS
            .split(", ")
            .filter(|c| !matches!(*c, "id" | "seq" | "fingerprint" | "first_seen"))
            .map(|c| format!("{c} = excluded.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO alerts ({ALERT_COLUMNS}) VALUES {} ON CONFLICT (id) DO UPDATE SET {updates}",
                tuples(chunk.len(), columns)
            );
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for r in chunk {
                Self::bind_alert(&mut args, r)?;
            }
            sqlx::query_with(&sql, args).execute(&mut *conn).await?;
        }
        Self::insert_events(conn, &plan.events).await?;
        Self::insert_outbox_rows(conn, &plan.outbox).await?;
        Self::write_escalations(conn, &plan.escalations, to_ms(plan.now())).await?;
        let clocks: Vec<_> = plan.clocks.changed().collect();
        for chunk in clocks.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO notify_groups (id, channel, group_key, flush_at) VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET flush_at = excluded.flush_at",
                tuples(chunk.len(), 4)
            );
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for (channel, key, at) in chunk {
                bind(&mut args, group_id(channel, key))?;
                bind(&mut args, channel.to_string())?;
                bind(&mut args, key.to_string())?;
                bind(&mut args, to_ms(*at))?;
            }
            sqlx::query_with(&sql, args).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Appends audit entries, a few rows per statement.
    pub(super) async fn insert_events(
        conn: &mut DB::Connection,
        events: &[EventRow],
    ) -> Result<(), StoreError> {
        for chunk in events.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO alert_events (alert_id, alert_seq, at, kind, actor, via) VALUES {}",
                tuples(chunk.len(), 6)
            );
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for e in chunk {
                bind(&mut args, e.alert_id.clone())?;
                bind(&mut args, e.alert_seq)?;
                bind(&mut args, e.at)?;
                bind(&mut args, e.kind.clone())?;
                bind(&mut args, e.actor.clone())?;
                bind(&mut args, e.via.clone())?;
            }
            sqlx::query_with(&sql, args).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// Appends outbox rows, a few per statement.
    pub(super) async fn insert_outbox_rows(
        conn: &mut DB::Connection,
        outbox: &[OutboxRow],
    ) -> Result<(), StoreError> {
        for chunk in outbox.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO outbox ({OUTBOX_COLUMNS}) VALUES {}",
                tuples(chunk.len(), 13)
            );
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for o in chunk {
                bind(&mut args, o.alert_id.clone())?;
                bind(&mut args, o.alert_seq)?;
                bind(&mut args, o.kind.clone())?;
                bind(&mut args, o.channel.clone())?;
                bind(&mut args, o.group_key.clone())?;
                bind(&mut args, o.occurrences)?;
                bind(&mut args, o.created_at)?;
                bind(&mut args, o.due_at)?;
                bind(&mut args, o.status.clone())?;
                bind(&mut args, o.state.clone())?;
                bind(&mut args, o.priority)?;
                bind(&mut args, o.target.clone())?;
                bind(&mut args, o.held)?;
            }
            sqlx::query_with(&sql, args).execute(&mut *conn).await?;
        }
        Ok(())
    }

    /// A person changed the alert: every channel that carried it gets an
    /// `update` row, to edit its card (Feishu app bot) or post a follow-up.
    async fn follow_up(
        conn: &mut DB::Connection,
        alert_id: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = to_ms(now);
        sqlx::query(&DB::sql(
            "INSERT INTO outbox (alert_id, alert_seq, kind, channel, group_key, occurrences, \
             created_at, due_at, status, state, priority) \
             SELECT DISTINCT o.alert_id, o.alert_seq, 'update', o.channel, o.group_key, 0, ?, ?, \
             'pending', a.state, CASE a.severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1 \
             WHEN 'warning' THEN 2 ELSE 3 END \
             FROM outbox o JOIN alerts a ON a.seq = o.alert_seq \
             WHERE o.alert_seq = (SELECT seq FROM alerts WHERE id = ?) \
             AND o.status = 'sent' AND o.channel IS NOT NULL \
             AND o.kind NOT IN ('update', 'page', 'escalation')",
        ))
        .bind(now)
        .bind(now)
        .bind(alert_id.to_string())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Marks a signed link used inside the caller's transaction (forgetting
    /// uses whose token has expired); [`StoreError::LinkUsed`] if it was.
    async fn use_link(
        conn: &mut DB::Connection,
        link: &LinkUse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(&DB::sql("DELETE FROM used_links WHERE expires_at < ?"))
            .bind(to_ms(now))
            .execute(&mut *conn)
            .await?;
        let inserted = sqlx::query(&DB::sql(
            "INSERT INTO used_links (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
        ))
        .bind(link.id.clone())
        .bind(to_ms(link.expires_at))
        .execute(&mut *conn)
        .await?;
        if DB::rows_affected(&inserted) == 1 {
            Ok(())
        } else {
            Err(StoreError::LinkUsed)
        }
    }

    async fn reserve_seqs(conn: &mut DB::Connection, n: usize) -> Result<Vec<i64>, StoreError> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let n = i64::try_from(n).expect("batch size fits i64");
        let rows: Vec<SeqRow> = sqlx::query_as(&DB::sql(DB::RESERVE_SEQS))
            .bind(n)
            .fetch_all(&mut *conn)
            .await?;
        Ok(rows.into_iter().map(|r| r.seq).collect())
    }

    /// Runs [`Self::ingest_batch`] in a transaction and commits it, again
    /// when it lost a race with another replica.
    async fn commit(
        pool: &Pool<DB>,
        engine: &Engine,
        silences: &SilenceCache,
        faults: &crate::faults::Faults,
        batch: &writer::Batch<'_>,
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let mut attempt = 1;
        loop {
            let result = async {
                let mut tx = pool.begin().await?;
                faults.hit("store.plan")?;
                let ids = Self::ingest_batch(&mut tx, engine, silences, batch).await?;
                tx.commit().await?;
                Ok(ids)
            }
            .await;
            match result {
                Err(StoreError::Database(e)) if attempt < ATTEMPTS && DB::retryable(&e) => {
                    tracing::debug!(error = %e, attempt, "write lost a race; retrying");
                    tokio::time::sleep(std::time::Duration::from_millis(5 << attempt)).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One group-commit transaction: every request of the batch, in order.
    /// Returns each request's record ids.
    pub(super) async fn ingest_batch(
        conn: &mut DB::Connection,
        engine: &Engine,
        silences: &SilenceCache,
        batch: &[(&[NewAlert], DateTime<Utc>)],
    ) -> Result<Vec<Vec<String>>, StoreError> {
        let routed: Vec<Vec<Routed>> = batch
            .iter()
            .map(|(alerts, _)| alerts.iter().map(|a| Routed::alert(engine, a)).collect())
            .collect();
        let fingerprints: BTreeSet<String> = batch
            .iter()
            .flat_map(|(alerts, _)| alerts.iter().map(|a| a.fingerprint.as_str().to_string()))
            .collect();
        let fingerprints: Vec<String> = fingerprints.into_iter().collect();
        let loaded = Self::load_alerts(conn, "fingerprint", &fingerprints).await?;
        let seqs = Self::reserve_seqs(conn, fingerprints.len() - loaded.len()).await?;
        let latest = batch
            .iter()
            .map(|(_, now)| *now)
            .max()
            .unwrap_or_else(Utc::now);
        let silences = Self::active_silences(silences, conn, latest).await?;
        let mut plan = Plan::new(engine, &silences, loaded, seqs, latest);
        let groups = routed
            .iter()
            .flatten()
            .flat_map(Routed::group_ids)
            .collect();
        Self::load_clocks(conn, &mut plan, groups).await?;
        let views: Vec<(&Labels, DateTime<Utc>)> = batch
            .iter()
            .zip(&routed)
            .flat_map(|((_, now), routed)| routed.iter().map(|r| (&r.view, *now)))
            .collect();
        let silenced = plan::silenced_views(&silences, &views);
        // With [[inhibit_rules]], the alerts a rule may inhibit wait for a
        // second pass, after the batch's other alerts (its sources, as
        // Alertmanager sends them together) are folded in.
        let rules = &engine.inhibit;
        let target =
            |r: &Routed| !rules.is_empty() && crate::engine::inhibit::is_target(rules, &r.view);
        let mut ids: Vec<Vec<String>> = batch
            .iter()
            .map(|(a, _)| Vec::with_capacity(a.len()))
            .collect();
        let mut at = 0;
        let mut second = Vec::new();
        for (n, ((alerts, now), routed)) in batch.iter().zip(&routed).enumerate() {
            plan.set_now(*now);
            for (i, (alert, r)) in alerts.iter().zip(routed).enumerate() {
                let silenced = silenced.get(at).copied().unwrap_or(false);
                at += 1;
                if target(r) {
                    ids[n].push(String::new());
                    second.push((n, i, silenced));
                } else {
                    ids[n].push(plan.occurrence(alert, r, silenced, None)?);
                }
            }
        }
        if !second.is_empty() {
            let stored = Self::inhibit_sources(conn, engine).await?;
            let sources = plan.inhibit_sources(stored)?;
            for (n, i, silenced) in second {
                let (alerts, now) = batch[n];
                plan.set_now(now);
                let r = &routed[n][i];
                let by = crate::engine::inhibit::inhibited_by(rules, &r.view, &sources)
                    .map(str::to_string);
                ids[n][i] = plan.occurrence(&alerts[i], r, silenced, by)?;
            }
        }
        Self::write(conn, &plan).await?;
        Ok(ids)
    }

    /// Stored alerts that are not resolved and that a rule may take as a
    /// source, with the labels matchers see (at most [`MAX_SOURCES`], the
    /// newest first).
    async fn inhibit_sources(
        conn: &mut DB::Connection,
        engine: &Engine,
    ) -> Result<Vec<crate::engine::inhibit::Source>, StoreError> {
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE state != 'resolved' ORDER BY last_seen DESC LIMIT ?"
        );
        let rows: Vec<AlertRow> = sqlx::query_as(&DB::sql(&sql))
            .bind(MAX_SOURCES)
            .fetch_all(&mut *conn)
            .await?;
        let mut out = Vec::new();
        for row in &rows {
            let view = plan::view_of(row)?;
            if crate::engine::inhibit::is_source(&engine.inhibit, &view) {
                out.push(crate::engine::inhibit::Source {
                    id: row.id.clone(),
                    view,
                });
            }
        }
        Ok(out)
    }

    /// Claims due pending rows for `worker`: critical first, then by due
    /// time. A row waits while an earlier row about the same alert for the
    /// same channel is still pending, so the messages about one alert go
    /// out in the order they were decided. With `channel`, only that
    /// channel's rows below critical (the ones a digest may absorb).
    async fn claim(
        &self,
        worker: &str,
        channel: Option<&str>,
        limit: u32,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError> {
        let now_ms = to_ms(now);
        let mut tx = self.writer.begin().await?;
        let only = if channel.is_some() {
            " AND channel = ? AND priority > 0"
        } else {
            ""
        };
        let sql = format!(
            "SELECT {CLAIM_COLUMNS} FROM outbox WHERE status = 'pending' AND due_at <= ? \
             AND (lease_until IS NULL OR lease_until <= ?){only} \
             AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.alert_seq = outbox.alert_seq \
             AND e.channel = outbox.channel AND e.status = 'pending' AND e.id < outbox.id) \
             ORDER BY priority, due_at, id LIMIT ?{}",
            DB::CLAIM_LOCK
        );
        let sql = DB::sql(&sql);
        let mut query = sqlx::query_as::<DB, ClaimRow>(&sql)
            .bind(now_ms)
            .bind(now_ms);
        if let Some(c) = channel {
            query = query.bind(c.to_string());
        }
        let mut rows: Vec<ClaimRow> = query.bind(i64::from(limit)).fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "UPDATE outbox SET claimed_by = ?, lease_until = ?, attempts = attempts + 1 WHERE id IN {}",
                tuples(1, chunk.len())
            );
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            bind(&mut args, worker.to_string())?;
            bind(&mut args, to_ms(now + lease))?;
            for r in chunk {
                bind(&mut args, r.id)?;
            }
            sqlx::query_with(&sql, args).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(rows
            .drain(..)
            .map(|r| Claimed {
                id: r.id,
                alert_id: r.alert_id,
                kind: r.kind,
                channel: r.channel.unwrap_or_default(),
                group_key: r.group_key,
                due_at: r.due_at,
                created_at: r.created_at,
                attempts: r.attempts + 1,
                occurrences: r.occurrences,
                priority: r.priority,
                state: r.state,
                since: r.requeued_at.unwrap_or(r.created_at),
                target: r.target,
                held: r.held != 0,
            })
            .collect())
    }

    async fn finish_chunk(
        &self,
        ids: &[i64],
        set: &str,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let sql = format!(
            "UPDATE outbox SET {set} WHERE id IN {}",
            tuples(1, ids.len())
        );
        let sql = DB::sql(&sql);
        let mut args = DB::Arguments::default();
        match outcome {
            Outcome::Sent { message_id } => {
                bind(&mut args, to_ms(now))?;
                bind(&mut args, message_id.clone())?;
            }
            Outcome::Retry { at, error } => {
                bind(&mut args, to_ms(*at))?;
                bind(&mut args, error.clone())?;
            }
            Outcome::Failed { dead, error } => {
                bind(&mut args, if *dead { "dead" } else { "failed" }.to_string())?;
                bind(&mut args, error.clone())?;
            }
            Outcome::Muted { reason } => {
                bind(&mut args, "muted".to_string())?;
                bind(&mut args, reason.clone())?;
            }
            Outcome::Deferred { at } => bind(&mut args, to_ms(*at))?,
            Outcome::Released => {}
        }
        for id in ids {
            bind(&mut args, *id)?;
        }
        sqlx::query_with(&sql, args).execute(&self.writer).await?;
        Ok(())
    }

    async fn select_alert(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<AlertRecord>, StoreError> {
        let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?");
        let sql = DB::sql(&sql);
        let row: Option<AlertRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let mut records = [row.record(now)?];
        self.overlay(&mut records, now).await?;
        let [record] = records;
        Ok(Some(record))
    }

    /// Marks records that an active silence covers: `silenced_until` is the
    /// latest end among the silences that match, and the state is shown so.
    async fn overlay(
        &self,
        records: &mut [AlertRecord],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let silences = match self.silences.fresh() {
            Some(all) => all,
            None => {
                let mut conn = self.reader.acquire().await?;
                Self::active_silences(&self.silences, &mut conn, now).await?
            }
        };
        if silences.is_empty() {
            return Ok(());
        }
        let views: Vec<Labels> = records
            .iter()
            .map(|r| {
                match_labels(
                    &r.labels,
                    r.severity,
                    r.service.as_deref(),
                    &r.title,
                    &r.fingerprint,
                )
            })
            .collect();
        // Silence by silence, as in `plan::silenced_views`.
        let mut ends: Vec<Option<DateTime<Utc>>> = vec![None; records.len()];
        for s in silences.iter().filter(|s| s.is_active(now)) {
            for (view, end) in views.iter().zip(ends.iter_mut()) {
                if all_match(&s.matchers, view) {
                    *end = (*end).max(Some(s.ends_at));
                }
            }
        }
        for (r, until) in records.iter_mut().zip(ends) {
            if until.is_some() {
                r.silenced_until = until;
                r.state = super::rows::state_from(r.state)?.shown(until, now);
            }
        }
        Ok(())
    }
}

/// Rows per replay-memory statement: a power of two (see [`pow2_chunks`]).
const REPLAY_CHUNK: usize = 512;

/// Splits `items` into slices whose lengths are powers of two, largest
/// first, none longer than `max` (a power of two): a statement with one
/// tuple per item then comes in at most log2(`max`) + 1 shapes, which the
/// connection's statement cache keeps prepared, where one shape per batch
/// size would be parsed again for almost every batch.
fn pow2_chunks<T>(mut items: &[T], max: usize) -> impl Iterator<Item = &[T]> {
    debug_assert!(max.is_power_of_two());
    std::iter::from_fn(move || {
        if items.is_empty() {
            return None;
        }
        let n = items.len().min(max);
        let size = 1 << n.ilog2();
        let (head, tail) = items.split_at(size);
        items = tail;
        Some(head)
    })
}

/// `(?, ?), (?, ?)`: `rows` tuples of `columns` placeholders.
pub(super) fn tuples(rows: usize, columns: usize) -> String {
    let one = format!("({})", vec!["?"; columns].join(", "));
    vec![one; rows].join(", ")
}

fn bind<'q, DB: Database, T>(args: &mut DB::Arguments<'q>, value: T) -> Result<(), StoreError>
where
    T: 'q + Encode<'q, DB> + Type<DB>,
{
    args.add(value)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode a value: {e}")))
}

/// Stored alerts read as inhibition sources per batch, at most.
const MAX_SOURCES: i64 = 20_000;

const CLAIM_COLUMNS: &str = "id, alert_id, kind, channel, group_key, due_at, created_at, \
     attempts, occurrences, priority, state, requeued_at, target, held";

#[derive(sqlx::FromRow)]
pub struct ClaimRow {
    id: i64,
    alert_id: String,
    kind: String,
    channel: Option<String>,
    group_key: String,
    due_at: i64,
    created_at: i64,
    attempts: i64,
    occurrences: i64,
    priority: i64,
    state: Option<String>,
    requeued_at: Option<i64>,
    target: Option<String>,
    held: i64,
}

#[derive(sqlx::FromRow)]
pub struct MessageRow {
    channel: Option<String>,
    message_id: Option<String>,
}

#[derive(sqlx::FromRow)]
pub struct IdRow {
    id: String,
}

#[derive(sqlx::FromRow)]
pub struct RetryRow {
    status: String,
    channel: Option<String>,
    alert_seq: i64,
    later: i64,
}

#[derive(sqlx::FromRow)]
pub struct CiRow {
    key: String,
    version: i64,
    state: String,
    pending: i64,
}

impl CiRow {
    fn into_series(self) -> super::CiSeriesRow {
        super::CiSeriesRow {
            key: self.key,
            version: self.version,
            state: self.state,
            pending: self.pending != 0,
        }
    }
}

#[derive(sqlx::FromRow)]
pub struct WaitRow {
    wait: i64,
}

#[derive(sqlx::FromRow)]
pub struct KeyRow {
    key: Vec<u8>,
}

#[derive(sqlx::FromRow)]
pub struct ReplayRow {
    key: Vec<u8>,
    namespace: String,
    expires_at: i64,
}

#[derive(sqlx::FromRow)]
pub struct NamespaceRow {
    namespace: String,
    n: i64,
}

#[derive(sqlx::FromRow)]
pub struct SeqRow {
    seq: i64,
}

#[derive(sqlx::FromRow)]
pub struct GroupRow {
    channel: String,
    group_key: String,
    flush_at: i64,
}

#[async_trait]
impl<DB> Store for SqlStore<DB>
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
    for<'r> KeyRow: FromRow<'r, DB::Row>,
    for<'r> NamespaceRow: FromRow<'r, DB::Row>,
    for<'r> ReplayRow: FromRow<'r, DB::Row>,
    for<'r> CiRow: FromRow<'r, DB::Row>,
    for<'r> super::escalations::EscalationRecord: FromRow<'r, DB::Row>,
    for<'r> super::escalations::OverrideRecord: FromRow<'r, DB::Row>,
    for<'r> super::escalations::CountRow: FromRow<'r, DB::Row>,
    for<'r> super::escalations::FailedDelivery: FromRow<'r, DB::Row>,
    for<'r> super::overview::StateChange: FromRow<'r, DB::Row>,
    for<'r> super::overview::Noisy: FromRow<'r, DB::Row>,
    for<'r> super::overview::ChannelActivity: FromRow<'r, DB::Row>,
    for<'q> Vec<u8>: Encode<'q, DB> + Type<DB>,
{
    async fn ci_load(&self, key: &str) -> Result<Option<super::CiSeriesRow>, StoreError> {
        if let Some(row) = self.ci_cache.lock().expect("cache lock").get(key) {
            return Ok(Some(row.clone()));
        }
        let row: Option<CiRow> = sqlx::query_as(&DB::sql(
            "SELECT key, version, state, pending FROM ci_series WHERE key = ?",
        ))
        .bind(key.to_string())
        // A reader: each query sees every commit before it, and a write
        // made on a stale read fails its version check (and is retried).
        .fetch_optional(&self.reader)
        .await?;
        let row = row.map(CiRow::into_series);
        if let Some(r) = &row {
            self.ci_cache_insert(r.clone());
        }
        Ok(row)
    }

    async fn ci_put(
        &self,
        key: &str,
        version: i64,
        state: &str,
        pending: bool,
    ) -> Result<bool, StoreError> {
        let put = super::ci_writer::CiPut {
            key: key.to_string(),
            version,
            state: state.to_string(),
            pending,
        };
        let applied = self.ci_queue.put(put).await;
        match applied {
            Ok(true) => self.ci_cache_insert(super::CiSeriesRow {
                key: key.to_string(),
                version: version + 1,
                state: state.to_string(),
                pending,
            }),
            _ => {
                self.ci_cache.lock().expect("cache lock").remove(key);
            }
        }
        applied
    }

    async fn ci_synced(&self, key: &str, version: i64) -> Result<(), StoreError> {
        sqlx::query(&DB::sql(
            "UPDATE ci_series SET pending = 0 WHERE key = ? AND version = ?",
        ))
        .bind(key.to_string())
        .bind(version)
        .execute(&self.writer)
        .await?;
        if let Some(row) = self.ci_cache.lock().expect("cache lock").get_mut(key) {
            if row.version == version {
                row.pending = false;
            }
        }
        Ok(())
    }

    async fn lease(
        &self,
        name: &str,
        owner: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(&DB::sql(
            "INSERT INTO leases (name, owner, until_ms) VALUES (?, ?, ?) \
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until_ms = excluded.until_ms \
             WHERE leases.owner = excluded.owner OR leases.until_ms < ?",
        ))
        .bind(name.to_string())
        .bind(owner.to_string())
        .bind(until_ms)
        .bind(now_ms)
        .execute(&self.writer)
        .await?;
        Ok(DB::rows_affected(&done) == 1)
    }

    async fn release(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query(&DB::sql("DELETE FROM leases WHERE name = ? AND owner = ?"))
            .bind(name.to_string())
            .bind(owner.to_string())
            .execute(&self.writer)
            .await?;
        Ok(())
    }

    async fn due_escalations(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<super::EscalationRecord>, StoreError> {
        self.esc_due(now, limit).await
    }

    async fn escalation(
        &self,
        alert_id: &str,
    ) -> Result<Option<super::EscalationRecord>, StoreError> {
        self.esc_get(alert_id).await
    }

    async fn advance_escalation(&self, advance: &super::Advance) -> Result<bool, StoreError> {
        self.esc_advance(advance).await
    }

    async fn escalate_now(
        &self,
        alert_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.esc_now(alert_ids, now).await
    }

    async fn note(
        &self,
        alert_id: &str,
        entry: (&str, &str, &str),
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.esc_note(alert_id, entry, now).await
    }

    async fn add_override(&self, o: &super::OverrideRecord) -> Result<(), StoreError> {
        self.override_add(o).await
    }

    async fn overrides(
        &self,
        schedules: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Vec<super::OverrideRecord>, StoreError> {
        self.override_list(schedules, now).await
    }

    async fn outbox_counts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<(&'static str, i64)>, Option<i64>), StoreError> {
        self.count_outbox(now).await
    }

    async fn failed_deliveries(
        &self,
        limit: u32,
    ) -> Result<Vec<super::FailedDelivery>, StoreError> {
        self.failed_list(limit).await
    }

    async fn release_inhibited(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let engine = self.engine.load_full();
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE inhibited_by IS NOT NULL ORDER BY last_seen DESC LIMIT 1000"
        );
        let inhibited: Vec<AlertRow> = sqlx::query_as(&DB::sql(&sql))
            .fetch_all(&self.reader)
            .await?;
        if inhibited.is_empty() {
            return Ok(0);
        }
        let sources = {
            let mut conn = self.reader.acquire().await?;
            Self::inhibit_sources(&mut conn, &engine).await?
        };
        let mut released = 0;
        for row in inhibited {
            let current = row.inhibited_by.clone().unwrap_or_default();
            let routed = Routed::row(&engine, &row)?;
            let now_by = if row.state == "resolved" {
                None
            } else {
                crate::engine::inhibit::inhibited_by(&engine.inhibit, &routed.view, &sources)
            };
            if now_by == Some(current.as_str()) {
                continue;
            }
            let mut tx = self.writer.begin().await?;
            // Compare-and-set: one replica acts on it.
            let done = sqlx::query(&DB::sql(
                "UPDATE alerts SET inhibited_by = ? WHERE id = ? AND inhibited_by = ?",
            ))
            .bind(now_by.map(str::to_string))
            .bind(row.id.clone())
            .bind(current.clone())
            .execute(&mut *tx)
            .await?;
            let changed = DB::rows_affected(&done);
            if changed == 0 || now_by.is_some() {
                tx.commit().await?;
                continue;
            }
            let mut loaded =
                Self::load_alerts(&mut tx, "id", std::slice::from_ref(&row.id)).await?;
            let Some(fresh) = loaded.pop() else { continue };
            let fingerprint = fresh.fingerprint.clone();
            let silences = Self::active_silences(&self.silences, &mut tx, now).await?;
            let mut plan = Plan::new(&engine, &silences, vec![fresh], Vec::new(), now);
            Self::load_clocks(&mut tx, &mut plan, routed.group_ids().collect()).await?;
            plan.release(&fingerprint, &routed)?;
            Self::write(&mut tx, &plan).await?;
            tx.commit().await?;
            self.wake.notify_one();
            released += 1;
        }
        Ok(released)
    }

    async fn overview(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<super::OverviewRows, StoreError> {
        self.overview_rows(since, now).await
    }

    async fn pages_sent(
        &self,
        channel: &str,
        person: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.pages_count(channel, person, since).await
    }

    async fn ci_pending(&self, limit: u32) -> Result<Vec<super::CiSeriesRow>, StoreError> {
        let rows: Vec<CiRow> = sqlx::query_as(&DB::sql(
            "SELECT key, version, state, pending FROM ci_series WHERE pending = 1 ORDER BY updated_at LIMIT ?",
        ))
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        Ok(rows.into_iter().map(CiRow::into_series).collect())
    }

    async fn ingest(
        &self,
        alerts: Vec<NewAlert>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.queue.ingest(alerts, now).await
    }

    async fn get(&self, id: &str) -> Result<Option<AlertRecord>, StoreError> {
        self.select_alert(id, Utc::now()).await
    }

    async fn list(
        &self,
        state: Option<&str>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError> {
        // The stored states an alert shown in `state` can have: a silence
        // shows a firing or acknowledged alert as `silenced`.
        let stored: &[&str] = match state {
            None => &[],
            Some("silenced") => &["firing", "acknowledged"],
            Some("firing") => &["firing"],
            Some("acknowledged") => &["acknowledged"],
            Some("resolved") => &["resolved"],
            Some(_) => return Ok(Vec::new()),
        };
        let filter = if stored.is_empty() {
            String::new()
        } else {
            format!("WHERE state IN {} ", tuples(1, stored.len()))
        };
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts {filter}ORDER BY last_seen DESC, id LIMIT ? OFFSET ?"
        );
        let sql = DB::sql(&sql);
        let page = i64::from(limit.max(100));
        let mut out = Vec::new();
        let mut offset = 0i64;
        loop {
            let mut query = sqlx::query_as::<DB, AlertRow>(&sql);
            for s in stored {
                query = query.bind(s.to_string());
            }
            let rows = query
                .bind(page)
                .bind(offset)
                .fetch_all(&self.reader)
                .await?;
            let exhausted = (rows.len() as i64) < page;
            let mut records = rows
                .iter()
                .map(|r| r.record(now))
                .collect::<Result<Vec<_>, _>>()?;
            self.overlay(&mut records, now).await?;
            out.extend(
                records
                    .into_iter()
                    .filter(|r| state.is_none_or(|s| r.state == s)),
            );
            if out.len() >= limit as usize || exhausted {
                out.truncate(limit as usize);
                return Ok(out);
            }
            offset += page;
        }
    }

    async fn apply(
        &self,
        id: &str,
        action: StateAction,
        actor: &Actor,
        link: Option<&LinkUse>,
        now: DateTime<Utc>,
    ) -> Result<ActionOutcome, StoreError> {
        let mut tx = self.writer.begin().await?;
        if let Some(link) = link {
            Self::use_link(&mut tx, link, now).await?;
        }
        let mut loaded = Self::load_alerts(&mut tx, "id", &[id.to_string()]).await?;
        let Some(row) = loaded.pop() else {
            return Ok(ActionOutcome::NotFound);
        };
        let fingerprint = row.fingerprint.clone();
        let engine = self.engine.load_full();
        let routed = Routed::row(&engine, &row)?;
        let silences = Self::active_silences(&self.silences, &mut tx, now).await?;
        let mut plan = Plan::new(&engine, &silences, vec![row], Vec::new(), now);
        Self::load_clocks(&mut tx, &mut plan, routed.group_ids().collect()).await?;
        match plan.action(&fingerprint, &routed, action, actor)? {
            Ok(()) => {}
            Err(Transition::Refused(why)) => return Ok(ActionOutcome::Refused(why)),
            Err(_) => {
                drop(tx);
                let record = self
                    .select_alert(id, now)
                    .await?
                    .ok_or(StoreError::Corrupt("alert vanished".into()))?;
                return Ok(ActionOutcome::Unchanged(record));
            }
        }
        Self::write(&mut tx, &plan).await?;
        Self::follow_up(&mut tx, id, now).await?;
        if link.is_some() {
            self.faults.hit("link.commit")?;
        }
        tx.commit().await?;
        self.wake.notify_one();
        let row = plan.row(&fingerprint).expect("planned");
        Ok(ActionOutcome::Changed(row.record(now)?))
    }

    async fn events(&self, id: &str) -> Result<Vec<AlertEvent>, StoreError> {
        let sql = DB::sql(
            "SELECT alert_id, alert_seq, at, kind, actor, via FROM alert_events \
             WHERE alert_seq = (SELECT seq FROM alerts WHERE id = ?) ORDER BY seq",
        );
        let rows: Vec<EventRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(EventRow::record).collect()
    }

    async fn notifications(&self, id: &str) -> Result<Vec<NotificationRecord>, StoreError> {
        let sql = DB::sql(&format!(
            "SELECT {OUTBOX_COLUMNS}, {DELIVERY_COLUMNS} FROM outbox \
             WHERE alert_seq = (SELECT seq FROM alerts WHERE id = ?) ORDER BY id"
        ))
        .into_owned();
        let rows: Vec<DeliveryRow> = sqlx::query_as(&sql)
            .bind(id.to_string())
            .fetch_all(&self.reader)
            .await?;
        rows.iter().map(DeliveryRow::record).collect()
    }

    async fn create_silence(
        &self,
        new: &NewSilence,
        for_alert: Option<(&str, &Actor)>,
        link: Option<&LinkUse>,
        now: DateTime<Utc>,
    ) -> Result<SilenceRecord, StoreError> {
        let row = SilenceRow {
            id: new_id(),
            matchers: serde_json::to_string(
                &new.matchers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>(),
            )
            .expect("strings serialize"),
            starts_at: to_ms(new.starts_at),
            ends_at: to_ms(new.ends_at),
            created_by: new.created_by.clone(),
            comment: new.comment.clone(),
            created_at: to_ms(now),
            expired_at: None,
        };
        self.silences.forget();
        let mut tx = self.writer.begin().await?;
        if let Some(link) = link {
            Self::use_link(&mut tx, link, now).await?;
        }
        let active: WaitRow = sqlx::query_as(&DB::sql(
            "SELECT COUNT(*) AS wait FROM silences WHERE ends_at > ? AND expired_at IS NULL",
        ))
        .bind(to_ms(now))
        .fetch_one(&mut *tx)
        .await?;
        if active.wait >= crate::domain::silence::MAX_ACTIVE_SILENCES as i64 {
            return Err(StoreError::Limit(format!(
                "there are already {} silences in force or pending, the most ackbot keeps; end some first",
                active.wait
            )));
        }
        let sql = DB::sql(
            "INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?)",
        );
        sqlx::query(&sql)
            .bind(row.id.clone())
            .bind(row.matchers.clone())
            .bind(row.starts_at)
            .bind(row.ends_at)
            .bind(row.created_by.clone())
            .bind(row.comment.clone())
            .bind(row.created_at)
            .execute(&mut *tx)
            .await?;
        if let Some((alert_id, actor)) = for_alert {
            let sql = DB::sql(
                "INSERT INTO alert_events (alert_id, alert_seq, at, kind, actor, via) \
                 SELECT id, seq, ?, ?, ?, ? FROM alerts WHERE id = ?",
            );
            sqlx::query(&sql)
                .bind(to_ms(now))
                .bind("silenced".to_string())
                .bind(actor.name.clone())
                .bind(actor.via.to_string())
                .bind(alert_id.to_string())
                .execute(&mut *tx)
                .await?;
            Self::follow_up(&mut tx, alert_id, now).await?;
        }
        if link.is_some() {
            self.faults.hit("link.commit")?;
        }
        tx.commit().await?;
        self.silences.forget();
        if for_alert.is_some() {
            self.wake.notify_one();
        }
        row.record(now)
    }

    async fn list_silences(
        &self,
        include_expired: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<SilenceRecord>, StoreError> {
        let filter = if include_expired {
            Cow::Borrowed("")
        } else {
            DB::sql("WHERE ends_at > ? AND expired_at IS NULL")
        };
        let sql = format!("SELECT {SILENCE_COLUMNS} FROM silences {filter} ORDER BY ends_at");
        let mut query = sqlx::query_as::<DB, SilenceRow>(&sql);
        if !include_expired {
            query = query.bind(to_ms(now));
        }
        let rows = query.fetch_all(&self.reader).await?;
        rows.iter().map(|r| r.record(now)).collect()
    }

    async fn expire_silence(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SilenceRecord>, StoreError> {
        let now_ms = to_ms(now);
        self.silences.forget();
        let mut tx = self.writer.begin().await?;
        let sql = DB::sql(
            "UPDATE silences SET expired_at = ? WHERE id = ? AND expired_at IS NULL AND ends_at > ?",
        );
        sqlx::query(&sql)
            .bind(now_ms)
            .bind(id.to_string())
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        let sql = DB::sql("WHERE id = ?");
        let row: Option<SilenceRow> =
            sqlx::query_as(&format!("SELECT {SILENCE_COLUMNS} FROM silences {sql}"))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await?;
        tx.commit().await?;
        self.silences.forget();
        row.map(|r| r.record(now)).transpose()
    }

    async fn claim_due(
        &self,
        worker: &str,
        limit: u32,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError> {
        self.claim(worker, None, limit, lease, now).await
    }

    async fn claim_more(
        &self,
        worker: &str,
        channel: &str,
        limit: u32,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError> {
        self.claim(worker, Some(channel), limit, lease, now).await
    }

    async fn finish(
        &self,
        ids: &[i64],
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let set = match outcome {
            Outcome::Sent { .. } => {
                "status = 'sent', sent_at = ?, message_id = ?, last_error = NULL, lease_until = NULL"
            }
            Outcome::Retry { .. } => "due_at = ?, last_error = ?, lease_until = NULL",
            Outcome::Failed { .. } | Outcome::Muted { .. } => {
                "status = ?, last_error = ?, lease_until = NULL"
            }
            Outcome::Deferred { .. } => "due_at = ?, attempts = attempts - 1, lease_until = NULL",
            Outcome::Released => "attempts = attempts - 1, lease_until = NULL",
        };
        for chunk in ids.chunks(CHUNK) {
            self.finish_chunk(chunk, set, outcome, now).await?;
        }
        Ok(())
    }

    async fn release_leases(&self, worker: Option<&str>) -> Result<u64, StoreError> {
        let base = "UPDATE outbox SET lease_until = NULL, attempts = attempts - 1 \
                    WHERE status = 'pending' AND lease_until IS NOT NULL";
        let result = match worker {
            Some(w) => {
                sqlx::query(&DB::sql(&format!("{base} AND claimed_by = ?")))
                    .bind(w.to_string())
                    .execute(&self.writer)
                    .await?
            }
            None => sqlx::query(base).execute(&self.writer).await?,
        };
        Ok(DB::rows_affected(&result))
    }

    async fn retry_delivery(
        &self,
        alert_id: &str,
        delivery: i64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<RetryOutcome, StoreError> {
        let mut tx = self.writer.begin().await?;
        let row: Option<RetryRow> = sqlx::query_as(&DB::sql(&format!(
            "SELECT o.status, o.channel, o.alert_seq, \
             (SELECT COUNT(*) FROM outbox l WHERE l.alert_seq = o.alert_seq \
              AND l.channel = o.channel AND l.id > o.id AND l.status = 'sent') AS later \
             FROM outbox o JOIN alerts a ON a.seq = o.alert_seq \
             WHERE o.id = ? AND a.id = ?{}",
            DB::LOCK
        )))
        .bind(delivery)
        .bind(alert_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(RetryOutcome::NotFound);
        };
        if row.status != "failed" && row.status != "dead" {
            return Ok(RetryOutcome::NotFailed(row.status));
        }
        if row.later > 0 {
            return Ok(RetryOutcome::Superseded);
        }
        let now_ms = to_ms(now);
        sqlx::query(&DB::sql(
            "UPDATE outbox SET status = 'pending', due_at = ?, attempts = 0, requeued_at = ?, \
             lease_until = NULL WHERE id = ?",
        ))
        .bind(now_ms)
        .bind(now_ms)
        .bind(delivery)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&DB::sql(
            "INSERT INTO alert_events (alert_id, alert_seq, at, kind, actor, via) VALUES (?, ?, ?, ?, ?, ?)",
        ))
        .bind(alert_id.to_string())
        .bind(row.alert_seq)
        .bind(now_ms)
        .bind(format!(
            "delivery {delivery} to {} retried",
            row.channel.unwrap_or_default()
        ))
        .bind(actor.name.clone())
        .bind(actor.via.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.wake.notify_one();
        Ok(RetryOutcome::Requeued)
    }

    async fn retry_channel(
        &self,
        channel: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let now_ms = to_ms(now);
        // Failed rows with no later sent row about the same alert there.
        let which = "channel = ? AND status IN ('failed', 'dead') AND NOT EXISTS \
                     (SELECT 1 FROM outbox l WHERE l.alert_seq = outbox.alert_seq \
                     AND l.channel = outbox.channel AND l.id > outbox.id AND l.status = 'sent')";
        let mut tx = self.writer.begin().await?;
        sqlx::query(&DB::sql(&format!(
            "INSERT INTO alert_events (alert_id, alert_seq, at, kind, actor, via) \
             SELECT DISTINCT alert_id, alert_seq, ?, ?, ?, ? FROM outbox WHERE {which}"
        )))
        .bind(now_ms)
        .bind(format!("deliveries to {channel} retried"))
        .bind(actor.name.clone())
        .bind(actor.via.to_string())
        .bind(channel.to_string())
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(&DB::sql(&format!(
            "UPDATE outbox SET status = 'pending', due_at = ?, attempts = 0, requeued_at = ?, \
             lease_until = NULL WHERE {which}"
        )))
        .bind(now_ms)
        .bind(now_ms)
        .bind(channel.to_string())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.wake.notify_one();
        Ok(DB::rows_affected(&done))
    }

    async fn prune(&self, before: DateTime<Utc>, batch: u32) -> Result<Pruned, StoreError> {
        let before_ms = to_ms(before);
        let mut tx = self.writer.begin().await?;
        let doomed: Vec<SeqRow> = sqlx::query_as(&DB::sql(
            "SELECT seq FROM alerts WHERE state = 'resolved' AND resolved_at < ? \
             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.alert_seq = alerts.seq \
             AND o.status = 'pending') ORDER BY resolved_at LIMIT ?",
        ))
        .bind(before_ms)
        .bind(i64::from(batch))
        .fetch_all(&mut *tx)
        .await?;
        if !doomed.is_empty() {
            let list = tuples(1, doomed.len());
            for table in ["alert_events", "outbox", "escalations"] {
                let sql = format!("DELETE FROM {table} WHERE alert_seq IN {list}");
                let sql = DB::sql(&sql);
                let mut args = DB::Arguments::default();
                for r in &doomed {
                    bind(&mut args, r.seq)?;
                }
                sqlx::query_with(&sql, args).execute(&mut *tx).await?;
            }
            let sql = format!("DELETE FROM alerts WHERE seq IN {list}");
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for r in &doomed {
                bind(&mut args, r.seq)?;
            }
            sqlx::query_with(&sql, args).execute(&mut *tx).await?;
        }
        let silences = sqlx::query(&DB::sql(
            "DELETE FROM silences WHERE id IN (SELECT id FROM silences \
             WHERE ends_at < ? OR expired_at < ? LIMIT ?)",
        ))
        .bind(before_ms)
        .bind(before_ms)
        .bind(i64::from(batch))
        .execute(&mut *tx)
        .await?;
        sqlx::query(&DB::sql("DELETE FROM used_links WHERE expires_at < ?"))
            .bind(to_ms(Utc::now()))
            .execute(&mut *tx)
            .await?;
        sqlx::query(&DB::sql("DELETE FROM notify_groups WHERE flush_at < ?"))
            .bind(before_ms)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Pruned {
            alerts: doomed.len() as u64,
            silences: DB::rows_affected(&silences),
        })
    }

    async fn hold_budget(
        &self,
        channel: &str,
        interval: std::time::Duration,
    ) -> Result<(), StoreError> {
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        let now = DB::NOW_MS;
        sqlx::query(&DB::sql(&format!(
            "UPDATE rate_budgets SET next_at = {now} + ? WHERE channel = ? AND next_at < {now} + ?"
        )))
        .bind(interval_ms)
        .bind(channel.to_string())
        .bind(interval_ms)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn get_many(&self, ids: &[String]) -> Result<Vec<AlertRecord>, StoreError> {
        let now = Utc::now();
        let mut by_id = std::collections::HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE id IN {}",
                tuples(1, chunk.len())
            );
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for id in chunk {
                bind(&mut args, id.clone())?;
            }
            let rows: Vec<AlertRow> = sqlx::query_as_with(&sql, args)
                .fetch_all(&self.reader)
                .await?;
            for r in rows {
                by_id.insert(r.id.clone(), r.record(now)?);
            }
        }
        let mut records: Vec<AlertRecord> = ids.iter().filter_map(|id| by_id.remove(id)).collect();
        self.overlay(&mut records, now).await?;
        Ok(records)
    }

    async fn take_budget(
        &self,
        channel: &str,
        interval: std::time::Duration,
    ) -> Result<Option<std::time::Duration>, StoreError> {
        let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
        let now = DB::NOW_MS;
        sqlx::query(&DB::sql(
            "INSERT INTO rate_budgets (channel, next_at) VALUES (?, 0) ON CONFLICT (channel) DO NOTHING",
        ))
        .bind(channel.to_string())
        .execute(&self.writer)
        .await?;
        let taken = sqlx::query(&DB::sql(&format!(
            "UPDATE rate_budgets SET next_at = {now} + ? WHERE channel = ? AND next_at <= {now}"
        )))
        .bind(interval_ms)
        .bind(channel.to_string())
        .execute(&self.writer)
        .await?;
        if DB::rows_affected(&taken) == 1 {
            return Ok(None);
        }
        let wait: Option<WaitRow> = sqlx::query_as(&DB::sql(&format!(
            "SELECT next_at - {now} AS wait FROM rate_budgets WHERE channel = ?"
        )))
        .bind(channel.to_string())
        .fetch_optional(&self.writer)
        .await?;
        let ms = wait
            .map_or(interval_ms, |w| w.wait)
            .clamp(1, interval_ms.max(1));
        Ok(Some(std::time::Duration::from_millis(ms as u64)))
    }

    async fn sent_messages(&self, alert_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<MessageRow> = sqlx::query_as(&DB::sql(
            "SELECT channel, message_id FROM outbox WHERE alert_seq = \
             (SELECT seq FROM alerts WHERE id = ?) AND message_id IS NOT NULL ORDER BY id",
        ))
        .bind(alert_id.to_string())
        .fetch_all(&self.reader)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|r| Some((r.channel?, r.message_id?)))
            .collect())
    }

    async fn find_ids(&self, prefix: &str, limit: u32) -> Result<Vec<String>, StoreError> {
        // Only hex reaches LIKE, so `%` and `_` cannot widen the match.
        if prefix.is_empty() || !prefix.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(Vec::new());
        }
        // A range over the primary key, not `LIKE 'p%'`, which both backends
        // answer by scanning the table: every hex continuation of the
        // prefix sorts below `g`.
        let low = prefix.to_ascii_lowercase();
        let high = format!("{low}g");
        let rows: Vec<IdRow> = sqlx::query_as(&DB::sql(
            "SELECT id FROM alerts WHERE id >= ? AND id < ? ORDER BY id LIMIT ?",
        ))
        .bind(low)
        .bind(high)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        Ok(rows.into_iter().map(|r| r.id).collect())
    }

    fn wake(&self) -> Arc<tokio::sync::Notify> {
        self.wake.clone()
    }

    fn set_engine(&self, engine: Engine) {
        self.engine.store(Arc::new(engine));
    }

    fn shared_replay(&self) -> bool {
        DB::SHARED_REPLAY
    }

    async fn remember(
        &self,
        ids: &[super::ReplayId],
        now_secs: i64,
    ) -> Result<Vec<bool>, StoreError> {
        let mut first = std::collections::HashSet::with_capacity(ids.len());
        let mut conn = self.writer.acquire().await?;
        sqlx::query(DB::RELAXED.0).execute(&mut *conn).await?;
        let mut result = Ok(());
        for chunk in pow2_chunks(ids, REPLAY_CHUNK) {
            let sql = if DB::SHARED_REPLAY {
                format!(
                    "INSERT INTO replay_ids (key, namespace, expires_at) VALUES {} \
                     ON CONFLICT (key) DO UPDATE SET namespace = excluded.namespace, \
                     expires_at = excluded.expires_at WHERE replay_ids.expires_at <= ? \
                     RETURNING key",
                    tuples(chunk.len(), 3)
                )
            } else {
                format!(
                    "INSERT INTO replay_log (key, namespace, expires_at) VALUES {}",
                    tuples(chunk.len(), 3)
                )
            };
            let sql = DB::sql(&sql);
            let mut args = DB::Arguments::default();
            for id in chunk {
                bind(&mut args, id.key.to_vec())?;
                bind(&mut args, id.namespace.to_string())?;
                bind(&mut args, id.expires_at)?;
            }
            let done = if DB::SHARED_REPLAY {
                bind(&mut args, now_secs)?;
                sqlx::query_as_with::<_, KeyRow, _>(&sql, args)
                    .fetch_all(&mut *conn)
                    .await
                    .map(|rows| first.extend(rows.into_iter().map(|r| r.key)))
            } else {
                sqlx::query_with(&sql, args)
                    .execute(&mut *conn)
                    .await
                    .map(|_| ())
            };
            if let Err(e) = done {
                result = Err(e);
                break;
            }
        }
        if sqlx::query(DB::RELAXED.1)
            .execute(&mut *conn)
            .await
            .is_err()
        {
            // Never hand the writer back with relaxed durability.
            conn.close_on_drop();
        }
        result?;
        if !DB::SHARED_REPLAY {
            return Ok(vec![true; ids.len()]);
        }
        Ok(ids.iter().map(|id| first.contains(&id.key[..])).collect())
    }

    async fn load_replay(&self, now_secs: i64) -> Result<Vec<super::ReplayId>, StoreError> {
        if DB::SHARED_REPLAY {
            return Ok(Vec::new());
        }
        let rows: Vec<ReplayRow> = sqlx::query_as(&DB::sql(
            "SELECT key, namespace, expires_at FROM replay_log WHERE expires_at > ?",
        ))
        .bind(now_secs)
        .fetch_all(&self.reader)
        .await?;
        rows.into_iter()
            .map(|r| {
                let key: [u8; 32] = r
                    .key
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("replay id of the wrong length".into()))?;
                Ok(super::ReplayId {
                    key,
                    namespace: r.namespace.into(),
                    expires_at: r.expires_at,
                })
            })
            .collect()
    }

    async fn prune_replay(
        &self,
        now_secs: i64,
        batch: u32,
    ) -> Result<(u64, Vec<(String, u64)>), StoreError> {
        let (table, key) = if DB::SHARED_REPLAY {
            ("replay_ids", "key")
        } else {
            ("replay_log", "rowid")
        };
        let sql = format!(
            "DELETE FROM {table} WHERE {key} IN \
             (SELECT {key} FROM {table} WHERE expires_at <= ? LIMIT ?)"
        );
        let done = sqlx::query(&DB::sql(&sql))
            .bind(now_secs)
            .bind(i64::from(batch))
            .execute(&self.writer)
            .await?;
        let sql = format!(
            "SELECT namespace, COUNT(*) AS n FROM {table} WHERE expires_at > ? GROUP BY namespace"
        );
        let counts: Vec<NamespaceRow> = sqlx::query_as(&DB::sql(&sql))
            .bind(now_secs)
            .fetch_all(&self.reader)
            .await?;
        Ok((
            DB::rows_affected(&done),
            counts
                .into_iter()
                .map(|r| (r.namespace, u64::try_from(r.n).unwrap_or(0)))
                .collect(),
        ))
    }

    async fn ping(&self) -> Result<(), StoreError> {
        if !self.queue.is_alive() {
            return Err(StoreError::WriterGone);
        }
        sqlx::query("SELECT 1").execute(&self.reader).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::pow2_chunks;

    #[test]
    fn chunks_are_powers_of_two_and_cover_everything_in_order() {
        for n in 0..1500usize {
            let items: Vec<usize> = (0..n).collect();
            let chunks: Vec<&[usize]> = pow2_chunks(&items, 512).collect();
            assert!(
                chunks
                    .iter()
                    .all(|c| c.len().is_power_of_two() && c.len() <= 512)
            );
            assert!(chunks.windows(2).all(|w| w[0].len() >= w[1].len()));
            assert_eq!(chunks.concat(), items);
            // Only the first chunks can be full; the rest is n's binary digits.
            let rest = n % 512;
            assert_eq!(chunks.len(), n / 512 + rest.count_ones() as usize, "{n}");
        }
    }
}
