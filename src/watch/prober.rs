//! The prober: the one scheduler of ackbot's outbound probes, the Jenkins
//! polls ([`super::jenkins`]) and the health checks ([`super::checks`]).
//!
//! - **One replica probes.** The prober runs where it holds the store's
//!   lease `prober` (taken for [`LEASE`], renewed every [`RENEW`]); the
//!   other replicas wait and take over within [`LEASE`] of its loss, or
//!   at their next try when a stopping replica gives it back. A
//!   Jenkins build counted twice in a handover is still counted once (runs
//!   are deduplicated by number, `crate::streaks`).
//! - **Durable.** What a probe learns (streaks, cursors, since when a server
//!   is down) is stored; a restarted or new prober goes on from there.
//! - **Jittered.** A probe first runs at a random point of its interval, then
//!   every interval ±10%, so a hundred checks do not fire in the same
//!   millisecond; a failing Jenkins is polled less often (backoff).
//! - **Bounded.** At most [`CHECKS_AT_ONCE`] checks run at once; a Jenkins
//!   poll makes at most a few requests at once (`super::jenkins`).
//! - **Never silent.** A probe that panics is logged and scheduled again.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::config::ci::{CiRule, JenkinsSource};
use crate::config::{CheckConfig, Config};
use crate::store::Store;
use crate::tasks::Tasks;

pub const LEASE_NAME: &str = "prober";
/// How long a lease lasts without renewal.
pub const LEASE: Duration = Duration::from_secs(30);
/// How often the holder renews it.
const RENEW: Duration = Duration::from_secs(10);
const TICK: Duration = Duration::from_millis(250);
pub const CHECKS_AT_ONCE: usize = 16;
/// The longest a failing probe waits before its next attempt.
const MAX_BACKOFF: Duration = Duration::from_secs(600);

/// What the prober probes; replaced on a reload.
#[derive(Debug, Clone, Default)]
pub struct Watched {
    /// `[[ci.jenkins]]` sources with a `url`.
    pub jenkins: Vec<JenkinsSource>,
    pub checks: Vec<CheckConfig>,
    pub heartbeats: Vec<crate::config::heartbeats::HeartbeatConfig>,
    /// Sentry projects are configured: their cron monitors are watched.
    pub monitors: bool,
}

impl Watched {
    pub fn from_config(config: &Config) -> Self {
        Self {
            jenkins: config
                .ci
                .jenkins
                .iter()
                .filter(|j| j.polled())
                .cloned()
                .collect(),
            checks: config.checks.clone(),
            heartbeats: config.heartbeats.clone(),
            monitors: !config.errors.projects.is_empty(),
        }
    }

    fn probes(&self) -> Vec<(String, Duration)> {
        let jenkins = self
            .jenkins
            .iter()
            .map(|j| (format!("jenkins/{}", j.name), j.interval));
        let checks = self
            .checks
            .iter()
            .map(|c| (format!("check/{}", c.name), c.interval));
        let heartbeats = self.heartbeats.iter().map(|h| {
            (
                format!("heartbeat/{}", h.name),
                super::heartbeats::interval(h),
            )
        });
        let monitors = self
            .monitors
            .then(|| ("monitors".to_string(), super::monitors::EVERY));
        jenkins
            .chain(checks)
            .chain(heartbeats)
            .chain(monitors)
            .collect()
    }
}

/// What the probes share.
pub struct Context {
    pub store: Arc<dyn Store>,
    pub rules: Arc<ArcSwap<Vec<CiRule>>>,
    pub watched: Arc<ArcSwap<Watched>>,
    pub checks_at_once: Semaphore,
    pub client: reqwest::Client,
    /// Clients of checks with a `ca_file`, and compiled body regexes, so
    /// that a probe neither reads a file nor compiles (bounded: cleared
    /// past [`CACHED`] entries, e.g. after many reloads).
    pub clients: std::sync::Mutex<HashMap<std::path::PathBuf, reqwest::Client>>,
    pub regexes: std::sync::Mutex<HashMap<String, regex::Regex>>,
}

const CACHED: usize = 256;

impl Context {
    /// A cached value, or `make`'s (cached if it succeeds).
    pub fn cached<K, V>(
        map: &std::sync::Mutex<HashMap<K, V>>,
        key: &K,
        make: impl FnOnce() -> Result<V, String>,
    ) -> Result<V, String>
    where
        K: std::hash::Hash + Eq + Clone,
        V: Clone,
    {
        if let Some(v) = map.lock().expect("cache lock").get(key) {
            return Ok(v.clone());
        }
        let v = make()?;
        let mut map = map.lock().expect("cache lock");
        if map.len() >= CACHED {
            map.clear();
        }
        map.insert(key.clone(), v.clone());
        Ok(v)
    }
}

/// How a probe went: `Ok` schedules the next one an interval later; `Err`
/// backs off.
pub type Outcome = Result<(), ()>;

/// The next delay: the interval ±10% after a good probe; doubling per
/// failure in a row, up to [`MAX_BACKOFF`] (never below the interval).
pub fn next_delay(interval: Duration, failures_in_a_row: u32) -> Duration {
    let jitter = 0.9 + 0.2 * crate::delivery::backoff::jitter();
    let base = if failures_in_a_row == 0 {
        interval
    } else {
        let factor = 2u32.saturating_pow(failures_in_a_row.min(16));
        interval
            .saturating_mul(factor)
            .min(MAX_BACKOFF.max(interval))
    };
    base.mul_f64(jitter)
}

pub fn spawn(
    store: Arc<dyn Store>,
    rules: Arc<ArcSwap<Vec<CiRule>>>,
    watched: Arc<ArcSwap<Watched>>,
    stop: tokio::sync::watch::Receiver<bool>,
    tasks: &Tasks,
) {
    let client = reqwest::Client::builder()
        .user_agent(concat!("ackbot/", env!("CARGO_PKG_VERSION"), " (prober)"))
        .tls_info(true)
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .expect("TLS roots load");
    let context = Arc::new(Context {
        store,
        rules,
        watched,
        checks_at_once: Semaphore::new(CHECKS_AT_ONCE),
        client,
        clients: Default::default(),
        regexes: Default::default(),
    });
    tasks.spawn("prober", run(context, stop));
}

async fn run(cx: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let owner = crate::store::new_id();
    let mut held = false;
    let mut renew_at = Instant::now();
    let mut due: HashMap<String, Instant> = HashMap::new();
    let mut failing: HashMap<String, u32> = HashMap::new();
    let mut running: HashMap<tokio::task::Id, String> = HashMap::new();
    let mut busy: HashSet<String> = HashSet::new();
    let mut set: JoinSet<(String, Outcome)> = JoinSet::new();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = stop.changed() => {
                // Stopping: probes end, and the lease is given back so that
                // another replica, or this one restarted, takes over at once.
                set.abort_all();
                if held {
                    let release = cx.store.release(LEASE_NAME, &owner);
                    if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), release).await {
                        tracing::warn!(error = %e, "prober: lease not given back; it runs out in 30 s");
                    }
                }
                return;
            }
            Some(done) = set.join_next_with_id(), if !set.is_empty() => {
                let (key, outcome) = match done {
                    Ok((id, (key, outcome))) => {
                        running.remove(&id);
                        (key, outcome)
                    }
                    Err(e) => {
                        let key = running.remove(&e.id()).unwrap_or_default();
                        if e.is_panic() {
                            tracing::error!(probe = key, panic = crate::tasks::panic_message(e.into_panic().as_ref()), "probe panicked; it runs again later");
                        }
                        (key, Err(()))
                    }
                };
                busy.remove(&key);
                let interval = cx.watched.load().probes().into_iter().find(|(k, _)| *k == key).map(|(_, i)| i);
                if let Some(interval) = interval {
                    let n = failing.entry(key.clone()).or_default();
                    // Only Jenkins backs off: checks and heartbeats never (a panicked one neither).
                    *n = if outcome.is_ok() || !key.starts_with("jenkins/") { 0 } else { n.saturating_add(1) };
                    due.insert(key, Instant::now() + next_delay(interval, *n));
                }
                continue;
            }
        }
        let now = Instant::now();
        if now >= renew_at {
            let wall = chrono::Utc::now().timestamp_millis();
            let was = held;
            held = match cx
                .store
                .lease(LEASE_NAME, &owner, wall + LEASE.as_millis() as i64, wall)
                .await
            {
                Ok(h) => h,
                Err(e) => {
                    tracing::warn!(error = %e, "prober: cannot renew its lease; probes pause");
                    false
                }
            };
            renew_at = now + RENEW;
            if held != was {
                tracing::info!(held, "prober lease");
            }
            if !held {
                set.abort_all();
                due.clear();
                continue;
            }
        }
        if !held {
            continue;
        }
        let probes = cx.watched.load().probes();
        due.retain(|k, _| probes.iter().any(|(p, _)| p == k));
        for (key, interval) in probes {
            if busy.contains(&key) {
                continue;
            }
            match due.get(&key) {
                None => {
                    // First sight: somewhere within its interval.
                    due.insert(
                        key,
                        now + interval.mul_f64(crate::delivery::backoff::jitter()),
                    );
                }
                Some(at) if *at <= now => {
                    busy.insert(key.clone());
                    let cx = cx.clone();
                    let k = key.clone();
                    let handle = set.spawn(async move {
                        let outcome = probe(&cx, &k).await;
                        (k, outcome)
                    });
                    running.insert(handle.id(), key);
                }
                Some(_) => {}
            }
        }
    }
}

async fn probe(cx: &Context, key: &str) -> Outcome {
    let watched = cx.watched.load_full();
    if let Some(name) = key.strip_prefix("jenkins/") {
        let Some(source) = watched.jenkins.iter().find(|j| j.name == name) else {
            return Ok(());
        };
        super::jenkins::poll(cx, source).await
    } else if let Some(name) = key.strip_prefix("check/") {
        let Some(check) = watched.checks.iter().find(|c| c.name == name) else {
            return Ok(());
        };
        let _permit = cx.checks_at_once.acquire().await.map_err(|_| ())?;
        super::checks::run(cx, check).await
    } else if let Some(name) = key.strip_prefix("heartbeat/") {
        let Some(h) = watched.heartbeats.iter().find(|h| h.name == name) else {
            return Ok(());
        };
        super::heartbeats::check(cx, h).await
    } else if key == "monitors" {
        super::monitors::check(cx).await
    } else {
        Ok(())
    }
}

/// An alert occurrence of a probe (a check, a Jenkins server): one alert
/// per (`origin`, `kind`, labels). A resolution's text is not shown (the
/// store keeps a resolved alert's last firing text), so one text serves both.
pub struct ProbeAlert {
    pub origin: &'static str,
    pub kind: &'static str,
    pub labels: std::collections::BTreeMap<String, String>,
    pub title: String,
    pub content: String,
    pub severity: crate::domain::Severity,
    pub service: String,
    pub firing: bool,
}

impl From<ProbeAlert> for crate::domain::NewAlert {
    fn from(a: ProbeAlert) -> Self {
        use crate::domain::labels::cut;
        use crate::domain::{AlertStatus, Fingerprint, Labels};
        let labels = Labels::trusted(a.labels);
        Self {
            fingerprint: Fingerprint::derive(Some(a.origin), a.kind, &labels),
            title: cut(&a.title, crate::domain::alert::MAX_TITLE_LEN),
            content: cut(&a.content, crate::domain::alert::MAX_CONTENT_LEN),
            severity: a.severity,
            service: Some(cut(&a.service, crate::domain::alert::MAX_SERVICE_LEN)),
            status: if a.firing {
                AlertStatus::Firing
            } else {
                AlertStatus::Resolved
            },
            labels,
            annotations: Labels::trusted(Default::default()),
            trace_id: None,
            request_id: None,
            starts_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_are_jittered_and_back_off_to_a_bound() {
        let i = Duration::from_secs(30);
        for _ in 0..100 {
            let d = next_delay(i, 0);
            assert!(
                d >= Duration::from_secs(27) && d <= Duration::from_secs(33),
                "{d:?}"
            );
        }
        let d = next_delay(i, 2);
        assert!(d >= Duration::from_secs(108) && d <= Duration::from_secs(132));
        let d = next_delay(i, 30);
        assert!(d <= MAX_BACKOFF.mul_f64(1.1) && d >= MAX_BACKOFF.mul_f64(0.9));
        // A long interval is never shortened by the backoff bound.
        let d = next_delay(Duration::from_secs(3600), 1);
        assert!(d >= Duration::from_secs(3240));
    }
}

/// What a probe remembers between runs, stored with the CI series
/// (`ci_series`, key `probe\n…`, never `pending`: the prober ingests the
/// alert first, then writes this).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ProbeState {
    /// Failed probes in a row.
    pub failures: u32,
    /// The alert fired and is not resolved yet.
    pub firing: bool,
    /// The first failure of the current streak.
    pub since_ms: Option<i64>,
    pub last_ok_ms: Option<i64>,
    /// What the last failure was.
    pub reason: Option<String>,
    /// A TLS expiry warning is open (checks).
    #[serde(default)]
    pub tls_warning: bool,
    /// Jenkins poller: the newest build counted of a job.
    #[serde(default)]
    pub cursor: Option<i64>,
}

impl Context {
    /// A probe's state and the version to write it back at.
    pub async fn load(&self, key: &str) -> Result<(i64, ProbeState), crate::store::StoreError> {
        Ok(match self.store.ci_load(key).await? {
            Some(row) => (
                row.version,
                serde_json::from_str(&row.state).unwrap_or_default(),
            ),
            None => (0, ProbeState::default()),
        })
    }

    /// Writes it back; a conflict (a handover between replicas) leaves the
    /// other writer's state, and this probe runs again.
    pub async fn save(
        &self,
        key: &str,
        version: i64,
        state: &ProbeState,
    ) -> Result<(), crate::store::StoreError> {
        let json = serde_json::to_string(state).expect("probe state serializes");
        if !self.store.ci_put(key, version, &json, false).await? {
            tracing::info!(
                probe = key,
                "probe state changed by another prober; kept theirs"
            );
        }
        Ok(())
    }

    /// Ingests alert occurrences through the ordinary path.
    pub async fn ingest(
        &self,
        source: &str,
        alerts: Vec<crate::domain::NewAlert>,
    ) -> Result<(), crate::store::StoreError> {
        if alerts.is_empty() {
            return Ok(());
        }
        let n = alerts.len() as u64;
        self.store.ingest(alerts, chrono::Utc::now()).await?;
        crate::metrics::get().accepted(source, n);
        Ok(())
    }
}
