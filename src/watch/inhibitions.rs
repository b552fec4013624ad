//! Releases alerts whose inhibition ended: every [`EVERY`], the alerts
//! recorded as inhibited are checked against the sources that still fire
//! ([`crate::store::Store::release_inhibited`]). One whose sources all
//! resolved is notified now if it still fires (Alertmanager would wait for
//! the sender's next resend); one that another source inhibits records that
//! one. Every replica runs it; a compare-and-set on the alert's
//! `inhibited_by` lets one of them act.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::store::Store;
use crate::tasks::Tasks;

pub const EVERY: Duration = Duration::from_secs(2);

pub fn spawn(store: Arc<dyn Store>, tasks: &Tasks) {
    tasks.spawn("inhibition sweep", async move {
        loop {
            match store.release_inhibited(Utc::now()).await {
                Ok(0) => {}
                Ok(n) => {
                    tracing::info!(released = n, "inhibition ended; still firing alerts notify")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "inhibition sweep: storage failed; trying again")
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    });
}
