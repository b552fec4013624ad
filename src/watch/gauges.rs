//! Gauges that need a look at the store: outbox rows by status and the age
//! of the oldest due pending row ("is delivery keeping up?"), and the
//! replay memory's size, every [`EVERY`]. Counters are written where things
//! happen; these are states, read on a clock so that a scrape costs no query.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::replay::ReplayMemory;
use crate::store::Store;
use crate::tasks::Tasks;

pub const EVERY: Duration = Duration::from_secs(15);

pub fn spawn(store: Arc<dyn Store>, replay: Arc<ReplayMemory>, tasks: &Tasks) {
    tasks.spawn("metrics gauges", async move {
        loop {
            update(store.as_ref(), &replay).await;
            tokio::time::sleep(EVERY).await;
        }
    });
}

pub async fn update(store: &dyn Store, replay: &ReplayMemory) {
    let metrics = crate::metrics::get();
    metrics.replay_entries.set(replay.entries() as i64);
    let now = Utc::now();
    match store.outbox_counts(now).await {
        Ok((counts, oldest)) => {
            let age = oldest.map_or(0.0, |due| (now.timestamp_millis() - due) as f64 / 1000.0);
            metrics.outbox(&counts, age);
        }
        Err(e) => tracing::warn!(error = %e, "metrics: cannot count the outbox"),
    }
}
