//! Quiet resolution: an application error group or a log rule's group says
//! nothing when the problem stops, so its alert resolves once it has been
//! quiet for its `resolve_after` (`[errors] resolve_after`, a rule's
//! `resolve_after`), carried on the alert as the `resolve_after`
//! annotation by the code that raised it.
//!
//! Every [`EVERY`] the sweep reads the unresolved alerts (newest first, at
//! most [`SCAN`]) and ingests a resolved occurrence for each whose last
//! occurrence is older than its annotation. Replicas may all run it: a
//! second resolution of the same alert folds into the first, and a new
//! occurrence that races it simply fires again.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::domain::alert::AlertStatus;
use crate::domain::{Fingerprint, NewAlert};
use crate::store::{AlertRecord, Store, StoreError};
use crate::tasks::Tasks;

const EVERY: Duration = Duration::from_secs(5);
/// Unresolved alerts read per sweep and state.
const SCAN: u32 = 5000;

pub fn spawn(store: Arc<dyn Store>, tasks: &Tasks) {
    tasks.spawn("quiet resolution", async move {
        loop {
            tokio::time::sleep(EVERY).await;
            match sweep(store.as_ref()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(alerts = n, "quiet alerts resolved"),
                Err(e) => tracing::warn!(error = %e, "quiet resolution: trying again in 5 s"),
            }
        }
    });
}

/// The `resolve_after` of an alert, if it has one.
pub fn quiet_for(record: &AlertRecord) -> Option<Duration> {
    let v = record.annotations.get("resolve_after")?;
    humantime::parse_duration(v).ok().filter(|d| !d.is_zero())
}

/// Resolves what has been quiet long enough; returns how many.
pub async fn sweep(store: &dyn Store) -> Result<usize, StoreError> {
    let now = Utc::now();
    let mut quiet = Vec::new();
    for state in ["firing", "acknowledged"] {
        for r in store.list(Some(state), SCAN, now).await? {
            let Some(after) = quiet_for(&r) else { continue };
            let after = chrono::Duration::from_std(after).unwrap_or(chrono::Duration::MAX);
            if now - r.last_seen >= after {
                quiet.push(resolution(&r));
            }
        }
    }
    let n = quiet.len();
    if n > 0 {
        store.ingest(quiet, now).await?;
    }
    Ok(n)
}

fn resolution(r: &AlertRecord) -> NewAlert {
    NewAlert {
        fingerprint: Fingerprint::parse(&r.fingerprint)
            .unwrap_or_else(|_| Fingerprint::derive(r.service.as_deref(), &r.title, &r.labels)),
        title: r.title.clone(),
        content: r.content.clone(),
        severity: r.severity,
        service: r.service.clone(),
        status: AlertStatus::Resolved,
        labels: r.labels.clone(),
        annotations: r.annotations.clone(),
        trace_id: r.trace_id.clone(),
        request_id: r.request_id.clone(),
        starts_at: r.starts_at,
    }
}
