//! The group-commit writer. Ingest requests queue here; one task takes every
//! request waiting (up to [`MAX_BATCH`] alerts) into a single transaction,
//! commits once, then answers each. Under load, the requests that arrive
//! during one commit make up the next: the fsync and statement overheads are
//! shared instead of paid per request, and nobody is answered before the
//! commit that holds their alerts.
//!
//! A batch that fails for a reason other than a lost race is retried one
//! request at a time, so one request's trouble is not every request's. A
//! panic while planning or writing a batch is such a failure too: it is
//! caught, its requests are answered with the error (500, cause in the log),
//! and the writer goes on with the next batch. Should the writer task end
//! anyway, it was spawned through [`Tasks`], which makes readiness and the
//! process say so, and [`Queue::is_alive`] turns false.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{Notify, mpsc, oneshot};

use super::StoreError;
use crate::domain::NewAlert;
use crate::tasks::{Tasks, panic_message};

/// The most alerts one transaction takes (a single request may exceed it).
const MAX_BATCH: usize = 2_000;
/// Requests that may wait for the writer before senders wait to enqueue.
const QUEUE: usize = 4_096;

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

    /// False once the writer task has ended (readiness reports it).
    pub fn is_alive(&self) -> bool {
        !self.tx.is_closed()
    }
}

/// The requests of one transaction: each one's alerts and arrival time.
pub(super) type Batch<'a> = [(&'a [NewAlert], DateTime<Utc>)];

/// Commits a batch in one transaction and returns each request's record
/// ids; the backend supplies it (`SqlStore::commit`).
pub(super) type Commit = Arc<
    dyn for<'a> Fn(&'a Batch<'a>) -> BoxFuture<'a, Result<Vec<Vec<String>>, StoreError>>
        + Send
        + Sync,
>;

pub(super) fn spawn(
    commit: Commit,
    wake: Arc<Notify>,
    tasks: &Tasks,
    faults: Arc<crate::faults::Faults>,
) -> Queue {
    let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
    tasks.spawn("storage writer", async move {
        while let Some(first) = rx.recv().await {
            // A test's way to kill the writer itself (outside the batch guard).
            let _ = faults.hit("store.writer");
            let mut size = first.alerts.len();
            let mut jobs = vec![first];
            while size < MAX_BATCH {
                let Ok(job) = rx.try_recv() else { break };
                size += job.alerts.len();
                jobs.push(job);
            }
            let started = std::time::Instant::now();
            let result = run(&commit, &jobs).await;
            let metrics = crate::metrics::get();
            metrics.commit_latency.observe(started.elapsed().as_secs_f64());
            metrics.commit_batch.observe(size as f64);
            match result {
                Ok(ids) => {
                    wake.notify_one();
                    for (job, ids) in jobs.into_iter().zip(ids) {
                        let _ = job.reply.send(Ok(ids));
                    }
                }
                Err(e) if jobs.len() > 1 => {
                    tracing::warn!(error = %e, requests = jobs.len(), "batch failed; committing its requests one by one");
                    for job in jobs {
                        let one = run(&commit, std::slice::from_ref(&job)).await;
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

/// Commits the jobs' alerts in one transaction; a panic inside is an error
/// (the transaction is rolled back as it is dropped).
async fn run(commit: &Commit, jobs: &[Job]) -> Result<Vec<Vec<String>>, StoreError> {
    let batch: Vec<(&[NewAlert], DateTime<Utc>)> =
        jobs.iter().map(|j| (j.alerts.as_slice(), j.now)).collect();
    match AssertUnwindSafe(commit(&batch)).catch_unwind().await {
        Ok(result) => result,
        Err(panic) => {
            let cause = panic_message(panic.as_ref());
            tracing::error!(%cause, requests = jobs.len(), "the storage writer panicked on a batch; its requests fail, the next batch goes on");
            Err(StoreError::Internal(cause))
        }
    }
}
