//! The group-commit writer. Ingest requests queue here; one task takes every
//! request waiting (up to [`MAX_BATCH`] alerts) into a single transaction,
//! commits once, then answers each. Under load, the requests that arrive
//! during one commit make up the next: the fsync and statement overheads are
//! shared instead of paid per request, and nobody is answered before the
//! commit that holds their alerts.
//!
//! A batch that fails for a reason other than a lost race is retried one
//! request at a time, so one request's trouble is not every request's.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};
use tokio::sync::{Notify, mpsc, oneshot};

use super::StoreError;
use super::rows::{AlertRow, DeliveryRow, EventRow, OutboxRow, SilenceRow};
use super::sql::{ClaimRow, Dialect, GroupRow, IdRow, MessageRow, SeqRow, SqlStore};
use crate::domain::NewAlert;
use crate::engine::Engine;

/// The most alerts one transaction takes (a single request may exceed it).
const MAX_BATCH: usize = 2_000;
/// Requests that may wait for the writer before senders wait to enqueue.
const QUEUE: usize = 4_096;
/// Attempts for a transaction that lost a race with another replica.
const ATTEMPTS: u32 = 5;

struct Job {
    alerts: Vec<NewAlert>,
    now: DateTime<Utc>,
    reply: oneshot::Sender<Result<Vec<String>, StoreError>>,
}

/// The sending side, held by the store.
pub(super) struct Queue {
    tx: mpsc::Sender<Job>,
}

impl Queue {
    pub async fn ingest(
        &self,
        alerts: Vec<NewAlert>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { alerts, now, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

pub(super) fn spawn<DB>(pool: Pool<DB>, engine: Arc<Engine>, wake: Arc<Notify>) -> Queue
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
{
    let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut size = first.alerts.len();
            let mut jobs = vec![first];
            while size < MAX_BATCH {
                let Ok(job) = rx.try_recv() else { break };
                size += job.alerts.len();
                jobs.push(job);
            }
            match commit(&pool, &engine, &jobs).await {
                Ok(ids) => {
                    wake.notify_one();
                    for (job, ids) in jobs.into_iter().zip(ids) {
                        let _ = job.reply.send(Ok(ids));
                    }
                }
                Err(e) if jobs.len() > 1 => {
                    tracing::warn!(error = %e, requests = jobs.len(), "batch failed; committing its requests one by one");
                    for job in jobs {
                        let one = commit(&pool, &engine, std::slice::from_ref(&job)).await;
                        if one.is_ok() {
                            wake.notify_one();
                        }
                        let _ = job.reply.send(one.map(|mut ids| ids.remove(0)));
                    }
                }
                Err(e) => {
                    tracing::error!(error = %e, "cannot commit alerts");
                    let job = jobs.pop().expect("one job");
                    let _ = job.reply.send(Err(e));
                }
            }
        }
    });
    Queue { tx }
}

async fn commit<DB>(
    pool: &Pool<DB>,
    engine: &Engine,
    jobs: &[Job],
) -> Result<Vec<Vec<String>>, StoreError>
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
{
    let batch: Vec<(&[NewAlert], DateTime<Utc>)> =
        jobs.iter().map(|j| (j.alerts.as_slice(), j.now)).collect();
    let mut attempt = 1;
    loop {
        let result = async {
            let mut tx = pool.begin().await?;
            let ids = SqlStore::<DB>::ingest_batch(&mut tx, engine, &batch).await?;
            tx.commit().await?;
            Ok(ids)
        }
        .await;
        match result {
            Err(StoreError::Database(e)) if attempt < ATTEMPTS && DB::retryable(&e) => {
                tracing::debug!(error = %e, attempt, "write lost a race; retrying");
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}
