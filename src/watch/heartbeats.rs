//! Heartbeat deadlines (`[[heartbeats]]`): the prober looks at each
//! heartbeat every few seconds; one silent for `period` + `grace` since its
//! last good ping (or since ackbot first watched it) fires
//! "<name>: no heartbeat". Pings (`crate::inbound::heartbeats`, and
//! Alertmanager alerts named by `alertmanager_alertname`) record the time,
//! fire at once when they report a failure, and resolve.
//!
//! The deadline is durable: the last ping is stored (`ci_series`, key
//! `probe\nheartbeat\n<name>`), so a deadline that passed while ackbot was
//! down fires after the restart. Once across replicas: the prober runs on
//! one replica at a time, and the state is written back at the version
//! read; a write that loses (a handover) has raised an occurrence that
//! folds into the same alert.

use chrono::Utc;

use super::prober::{Context, Outcome, ProbeAlert, ProbeState};
use crate::config::heartbeats::HeartbeatConfig;
use crate::store::{Store, StoreError};

/// Written-back attempts before a ping gives up (a state that keeps
/// changing under it).
const ATTEMPTS: usize = 5;

fn key(name: &str) -> String {
    format!("probe\nheartbeat\n{name}")
}

/// How often the prober looks: a quarter of the grace, 1 to 30 s.
pub fn interval(h: &HeartbeatConfig) -> std::time::Duration {
    (h.grace / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(30),
    )
}

fn alert(h: &HeartbeatConfig, firing: bool, content: String) -> crate::domain::NewAlert {
    let mut labels = h.labels.clone();
    labels.insert("heartbeat".into(), h.name.clone());
    ProbeAlert {
        origin: "heartbeat",
        kind: "heartbeat",
        labels,
        title: format!("{}: no heartbeat", h.name),
        content,
        severity: h.severity(),
        service: h.service().to_string(),
        firing,
    }
    .into()
}

fn human(ms: i64) -> String {
    crate::engine::streak::human_duration(ms.max(0) / 1000)
}

async fn load(store: &dyn Store, key: &str) -> Result<(i64, ProbeState), StoreError> {
    Ok(match store.ci_load(key).await? {
        Some(row) => (
            row.version,
            serde_json::from_str(&row.state).unwrap_or_default(),
        ),
        None => (0, ProbeState::default()),
    })
}

async fn save(
    store: &dyn Store,
    key: &str,
    version: i64,
    state: &ProbeState,
) -> Result<bool, StoreError> {
    let json = serde_json::to_string(state).expect("state serializes");
    store.ci_put(key, version, &json, false).await
}

/// The prober's look at one heartbeat.
pub async fn check(cx: &Context, h: &HeartbeatConfig) -> Outcome {
    let now = Utc::now().timestamp_millis();
    let key = key(&h.name);
    let result: Result<(), StoreError> = async {
        let (version, mut state) = load(cx.store.as_ref(), &key).await?;
        let Some(since) = state.last_ok_ms.or(state.since_ms) else {
            // First sight: the deadline counts from now.
            state.since_ms = Some(now);
            save(cx.store.as_ref(), &key, version, &state).await?;
            return Ok(());
        };
        let deadline = since
            .saturating_add(h.period.as_millis() as i64)
            .saturating_add(h.grace.as_millis() as i64);
        if state.firing || now < deadline {
            return Ok(());
        }
        let what = match state.last_ok_ms {
            Some(at) => format!(
                "No heartbeat for {} (expected every {}, grace {}); the last one came {} ago.",
                human(now - at),
                human(h.period.as_millis() as i64),
                human(h.grace.as_millis() as i64),
                human(now - at)
            ),
            None => format!(
                "No heartbeat since ackbot started watching it {} ago (expected every {}, grace {}).",
                human(now - since),
                human(h.period.as_millis() as i64),
                human(h.grace.as_millis() as i64)
            ),
        };
        state.firing = true;
        state.reason = Some("missed".into());
        // Raised, then remembered: a failed write raises it again on the
        // next look, and the second occurrence folds into the first.
        cx.ingest("heartbeat", vec![alert(h, true, what)]).await?;
        save(cx.store.as_ref(), &key, version, &state).await?;
        Ok(())
    }
    .await;
    result.map_err(|e| tracing::warn!(heartbeat = h.name, error = %e, "heartbeat check"))
}

/// A ping: `failed` reports a failure (`/fail`), with the sender's words.
pub async fn ping(
    store: &dyn Store,
    h: &HeartbeatConfig,
    failed: bool,
    note: Option<&str>,
) -> Result<(), StoreError> {
    let key = key(&h.name);
    for _ in 0..ATTEMPTS {
        let now = Utc::now().timestamp_millis();
        let (version, mut state) = load(store, &key).await?;
        let was_firing = state.firing;
        let occurrence = if failed {
            state.firing = true;
            state.reason = Some("failed".into());
            state.since_ms = state.since_ms.or(Some(now));
            let mut text = "The job reported a failure.".to_string();
            if let Some(n) = note.filter(|n| !n.trim().is_empty()) {
                text.push('\n');
                text.push_str(&crate::domain::labels::truncate_text(n.trim(), 2048));
            }
            Some(alert(h, true, text))
        } else {
            state.last_ok_ms = Some(now);
            state.firing = false;
            state.reason = None;
            was_firing.then(|| alert(h, false, "The heartbeat is back.".into()))
        };
        // The alert first: a ping answered 2xx changed it. A lost race
        // ingests again; the occurrences fold.
        if let Some(a) = occurrence {
            store.ingest(vec![a], Utc::now()).await?;
            crate::metrics::get().accepted("heartbeat", 1);
        }
        if save(store, &key, version, &state).await? {
            return Ok(());
        }
    }
    Err(StoreError::Limit(
        "the heartbeat's state kept changing under this ping; retry".into(),
    ))
}
