//! Group commit for CI series states (`Store::ci_put`), as
//! [`super::writer`] does for alerts: the puts waiting when one commit ends
//! make up the next transaction, so a burst of webhook deliveries pays one
//! commit, not one each, on the store's single writer connection.
//!
//! Optimistic concurrency is kept per put: each is applied only if its
//! series is still at the version it read. Two puts of one series in one
//! batch: the first is applied, the second answered "changed meanwhile"
//! (its request reads again). A batch that fails is retried one put at a
//! time, so one put's trouble is not every put's. A panic while writing is
//! such a failure too: caught, its puts answered with the error, and the
//! writer goes on (as [`super::writer`] does).

use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot};

use super::StoreError;
use crate::tasks::{Tasks, panic_message};

/// The most puts one transaction takes.
const MAX_BATCH: usize = 256;
const QUEUE: usize = 4_096;

#[derive(Debug, Clone)]
pub struct CiPut {
    pub key: String,
    pub version: i64,
    pub state: String,
    pub pending: bool,
}

struct Job {
    put: CiPut,
    reply: oneshot::Sender<Result<bool, StoreError>>,
}

/// Applies a batch in one transaction: for each put, whether it was applied.
pub(super) type Commit =
    Arc<dyn Fn(Vec<CiPut>) -> BoxFuture<'static, Result<Vec<bool>, StoreError>> + Send + Sync>;

pub(super) struct Queue {
    tx: mpsc::Sender<Job>,
}

impl Queue {
    pub async fn put(&self, put: CiPut) -> Result<bool, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job { put, reply })
            .await
            .map_err(|_| StoreError::WriterGone)?;
        answer.await.map_err(|_| StoreError::WriterGone)?
    }
}

pub(super) fn spawn(commit: Commit, tasks: &Tasks) -> Queue {
    let (tx, mut rx) = mpsc::channel::<Job>(QUEUE);
    tasks.spawn("CI series writer", async move {
        while let Some(first) = rx.recv().await {
            let mut jobs = vec![first];
            while jobs.len() < MAX_BATCH {
                let Ok(job) = rx.try_recv() else { break };
                jobs.push(job);
            }
            // One put per series per batch; later ones lost the race.
            let mut seen = std::collections::HashSet::new();
            let (mut batch, mut late) = (Vec::new(), Vec::new());
            for job in jobs {
                if seen.insert(job.put.key.clone()) {
                    batch.push(job);
                } else {
                    late.push(job);
                }
            }
            for job in late {
                let _ = job.reply.send(Ok(false));
            }
            let puts: Vec<CiPut> = batch.iter().map(|j| j.put.clone()).collect();
            match run(&commit, puts).await {
                Ok(applied) => {
                    for (job, ok) in batch.into_iter().zip(applied) {
                        let _ = job.reply.send(Ok(ok));
                    }
                }
                Err(e) if batch.len() > 1 => {
                    tracing::warn!(error = %e, puts = batch.len(), "CI series batch failed; writing its puts one by one");
                    for job in batch {
                        let one = run(&commit, vec![job.put.clone()]).await.map(|v| v[0]);
                        let _ = job.reply.send(one);
                    }
                }
                Err(e) => {
                    if let Some(job) = batch.pop() {
                        let _ = job.reply.send(Err(e));
                    }
                }
            }
        }
    });
    Queue { tx }
}

/// Commits a batch; a panic inside is an error (the transaction is rolled
/// back as it is dropped).
async fn run(commit: &Commit, puts: Vec<CiPut>) -> Result<Vec<bool>, StoreError> {
    let n = puts.len();
    match std::panic::AssertUnwindSafe(commit(puts))
        .catch_unwind()
        .await
    {
        Ok(result) => result,
        Err(panic) => {
            let cause = panic_message(panic.as_ref());
            tracing::error!(%cause, puts = n, "the CI series writer panicked on a batch; its puts fail, the next batch goes on");
            Err(StoreError::Internal(cause))
        }
    }
}
