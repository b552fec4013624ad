//! The CI sweep: a series whose alert occurrence could not be ingested when
//! its result arrived (storage trouble) stays `pending`; every
//! [`EVERY`] this ingests what such rows call for. Replicas may all run it:
//! a row is marked synced only at the version ingested, and ingesting the
//! same state twice folds into one alert.

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use crate::config::ci::CiRule;
use crate::store::Store;
use crate::tasks::Tasks;

const EVERY: Duration = Duration::from_secs(30);

pub fn spawn(store: Arc<dyn Store>, rules: Arc<ArcSwap<Vec<CiRule>>>, tasks: &Tasks) {
    tasks.spawn("ci sweep", async move {
        loop {
            tokio::time::sleep(EVERY).await;
            match crate::streaks::sync_pending(store.as_ref(), &rules.load()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(series = n, "CI alerts caught up"),
                Err(e) => {
                    tracing::warn!(error = %e, "CI sweep: cannot catch up; trying again in 30 s")
                }
            }
        }
    });
}
