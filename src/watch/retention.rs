//! Retention: the database must not grow forever. Every hour (and shortly
//! after start), resolved alerts older than `[storage] retention` are deleted
//! with their audit trail and outbox rows, never one with a delivery still
//! pending; so are silences that ended before then, used links past their
//! expiry, and idle notification-group clocks.
//!
//! Deletion goes in batches of [`BATCH`] alerts, each its own short
//! transaction with a pause between, so a large backlog never holds the
//! writer for long. Replicas may all run it: the batches are idempotent.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::store::Store;
use crate::tasks::Tasks;

/// Alerts (and silences) deleted per transaction.
pub const BATCH: u32 = 500;
/// Between two passes.
const EVERY: Duration = Duration::from_secs(3600);
/// The first pass, after start-up has settled.
const FIRST: Duration = Duration::from_secs(60);
/// Between two batches of one pass.
const PAUSE: Duration = Duration::from_millis(50);

/// Runs the pruner until shutdown; `retention` zero keeps everything.
pub fn spawn(store: Arc<dyn Store>, retention: Duration, tasks: &Tasks) {
    if retention.is_zero() {
        tracing::info!("[storage] retention = 0s: nothing is pruned");
        return;
    }
    tasks.spawn("retention", async move {
        tokio::time::sleep(FIRST).await;
        loop {
            pass(store.as_ref(), retention).await;
            tokio::time::sleep(EVERY).await;
        }
    });
}

/// One pass: batches until a batch finds less than a full one. Errors are
/// logged and the pass ends; the next one tries again.
pub async fn pass(store: &dyn Store, retention: Duration) {
    let Ok(age) = chrono::Duration::from_std(retention) else {
        return;
    };
    let (mut alerts, mut silences) = (0, 0);
    loop {
        match store.prune(Utc::now() - age, BATCH).await {
            Ok(p) => {
                alerts += p.alerts;
                silences += p.silences;
                if p.alerts < u64::from(BATCH) && p.silences < u64::from(BATCH) {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "retention: cannot prune; trying again at the next pass");
                break;
            }
        }
        tokio::time::sleep(PAUSE).await;
    }
    if alerts + silences > 0 {
        tracing::info!(alerts, silences, "retention: pruned");
    }
}
