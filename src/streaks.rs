//! CI results into alerts: the store round trip around
//! [`engine::streak`](crate::engine::streak).
//!
//! A result is counted into its series' stored state with optimistic
//! concurrency (read, decide, write if nobody wrote in between, else again),
//! so two requests or two replicas never lose each other's result. When the
//! state changes what the alert should show, the row is written `pending`
//! first, then the alert occurrence is ingested through the ordinary path
//! (store, engine, routes, silences, chat actions), then the row is marked
//! synced. Should the ingest fail, the request answers 503 and the row
//! stays pending: a redelivery, or the sweep ([`crate::watch::streaks`]),
//! ingests it later. Nothing counted is lost and nothing is counted twice.

use chrono::Utc;

use crate::config::ci::CiRule;
use crate::engine::streak::{Change, SeriesId, SeriesState, Step, counted, rule_for};
use crate::ingest::ci::{FailedJob, Run, Series, System};
use crate::metrics::{PipelineLabels, RefLabel};
use crate::store::{CiSeriesRow, Store, StoreError};

/// Rounds of read-decide-write before giving up on a series that others
/// keep changing (then 503; the sender or the sweep comes back).
const ATTEMPTS: usize = 8;

/// What recording a result did.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// Counted; the alert changed as said (`Change::None`: not yet, or not
    /// any more).
    Counted { change: Change, failures: u32 },
    /// The same result of the same run again.
    Duplicate,
    /// Older than the newest run of its series.
    Stale,
}

fn parse(row: &CiSeriesRow) -> Result<SeriesState, StoreError> {
    serde_json::from_str(&row.state)
        .map_err(|e| StoreError::Corrupt(format!("CI series {}: {e}", row.key)))
}

fn encode(state: &SeriesState) -> Result<String, StoreError> {
    serde_json::to_string(state).map_err(|e| StoreError::Internal(e.to_string()))
}

pub fn metric_labels(id: &SeriesId) -> PipelineLabels {
    PipelineLabels {
        system: id.system.as_str().to_string(),
        source: id.source.clone(),
        project: id.series.project.clone(),
        pipeline: id.series.pipeline.clone(),
        git_ref: RefLabel(id.series.git_ref.clone()),
    }
}

/// Ingests the alert occurrence `state` calls for, then marks the row at
/// `version` synced. The rule's `ignore` means no alert: nothing to ingest.
async fn sync(
    store: &dyn Store,
    rules: &[CiRule],
    id: &SeriesId,
    state: &SeriesState,
    version: i64,
) -> Result<(), StoreError> {
    let rule = rule_for(rules, &id.labels());
    // An `ignore`d series ingests only resolutions: of an alert that fired
    // before the rule said `ignore` (a row is pending only then, or when
    // its ingest failed before the rule changed).
    let severity = rule
        .alert_severity()
        .or((!state.firing).then_some(crate::domain::Severity::Info));
    if let Some(severity) = severity {
        let alert = state.alert(id, severity, Utc::now().timestamp_millis());
        store.ingest(vec![alert], Utc::now()).await?;
        crate::metrics::get().accepted("ci", 1);
    }
    store.ci_synced(&id.key(), version).await
}

/// Counts a finished run of `system`'s source `source`.
pub async fn record_run(
    store: &dyn Store,
    rules: &[CiRule],
    system: System,
    source: &str,
    run: &Run,
) -> Result<Recorded, StoreError> {
    let id = SeriesId {
        system,
        source: source.to_string(),
        series: run.series.clone(),
    };
    let key = id.key();
    let rule = rule_for(rules, &id.labels()).into_owned();
    let counts_as = counted(run.outcome, &rule);
    for _ in 0..ATTEMPTS {
        let row = store.ci_load(&key).await?;
        let (version, mut state) = match &row {
            Some(r) => (r.version, parse(r)?),
            None => (0, SeriesState::default()),
        };
        state.system = system.as_str().to_string();
        state.source = source.to_string();
        let was_firing = state.firing;
        let step = state.step(
            run,
            counts_as,
            rule.consecutive_failures,
            Utc::now().timestamp_millis(),
        );
        let change = match step {
            Step::Stale | Step::Duplicate => {
                // A pending row is the redelivery's to finish.
                if let Some(r) = row.filter(|r| r.pending) {
                    sync(store, rules, &id, &parse(&r)?, r.version).await?;
                }
                return Ok(if step == Step::Stale {
                    Recorded::Stale
                } else {
                    Recorded::Duplicate
                });
            }
            Step::Counted(change) => change,
        };
        let change = if rule.alert_severity().is_none() {
            // `ignore`: counted for the metrics, never an alert; one that
            // fired before the rule said so is resolved.
            state.firing = false;
            if was_firing {
                Change::Resolve
            } else {
                Change::None
            }
        } else {
            change
        };
        // A row still pending (its ingest failed) stays so until synced:
        // this state is newer, and the sync ingests it.
        let pending = change != Change::None || row.as_ref().is_some_and(|r| r.pending);
        if !store
            .ci_put(&key, version, &encode(&state)?, pending)
            .await?
        {
            continue;
        }
        crate::metrics::get().pipeline_finished(
            &metric_labels(&id),
            status_label(run),
            state.failures,
            run.duration_secs,
        );
        if pending {
            sync(store, rules, &id, &state, version + 1).await?;
        }
        return Ok(Recorded::Counted {
            change,
            failures: state.failures,
        });
    }
    Err(StoreError::Limit(
        "the pipeline's series kept changing under this request; retry".into(),
    ))
}

fn status_label(run: &Run) -> &'static str {
    use crate::ingest::ci::Outcome::*;
    match run.outcome {
        Success => "success",
        Failure => "failure",
        TimedOut => "timed_out",
        Cancelled => "cancelled",
        Unstable => "unstable",
        Neutral => "neutral",
    }
}

/// A failed job reported apart from its run (GitHub `workflow_job`).
pub struct JobReport<'a> {
    pub series: &'a Series,
    pub run_id: &'a str,
    pub attempt: i64,
    pub job: &'a FailedJob,
}

/// Notes a failed job for its run's alert; a firing alert of that run is
/// updated to name it. False if the job was known.
pub async fn record_job(
    store: &dyn Store,
    rules: &[CiRule],
    system: System,
    source: &str,
    report: JobReport<'_>,
) -> Result<bool, StoreError> {
    let JobReport {
        series,
        run_id,
        attempt,
        job,
    } = report;
    let id = SeriesId {
        system,
        source: source.to_string(),
        series: series.clone(),
    };
    let key = id.key();
    for _ in 0..ATTEMPTS {
        let row = store.ci_load(&key).await?;
        let (version, mut state) = match &row {
            Some(r) => (r.version, parse(r)?),
            None => (0, SeriesState::default()),
        };
        state.system = system.as_str().to_string();
        state.source = source.to_string();
        if !state.add_job(run_id, attempt, job) {
            return Ok(false);
        }
        let of_newest = state
            .last
            .as_ref()
            .is_some_and(|l| l.run_id == run_id && l.attempt == attempt);
        let pending = state.firing && of_newest;
        if !store
            .ci_put(&key, version, &encode(&state)?, pending)
            .await?
        {
            continue;
        }
        if pending {
            sync(store, rules, &id, &state, version + 1).await?;
        }
        return Ok(true);
    }
    Err(StoreError::Limit(
        "the pipeline's series kept changing under this request; retry".into(),
    ))
}

/// Ingests what pending rows call for (the sweep); returns how many.
pub async fn sync_pending(store: &dyn Store, rules: &[CiRule]) -> Result<usize, StoreError> {
    let rows = store.ci_pending(100).await?;
    let mut done = 0;
    for row in rows {
        let state = parse(&row)?;
        let (Some(system), Some(last)) = (System::parse(&state.system), state.last.as_ref()) else {
            // Nothing to say (a job noted before any run): nothing pending.
            store.ci_synced(&row.key, row.version).await?;
            continue;
        };
        let id = SeriesId {
            system,
            source: state.source.clone(),
            series: last.series.clone(),
        };
        sync(store, rules, &id, &state, row.version).await?;
        done += 1;
    }
    Ok(done)
}
