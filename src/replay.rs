//! Replay protection: remembers the identity of every accepted callback (a
//! Feishu `event_id`, a DingTalk `(timestamp, sign)` pair, a WeCom
//! signature, …) until the moment a replay of it would be refused by the
//! timestamp window anyway. Anything seen before within that time is not
//! acted on twice: not by this process, not after a restart, not by another
//! replica.
//!
//! The memory of record is the store's `replay_ids` table
//! ([`Store::remember`]): a callback is acted on only once its identity is
//! written there. Writes are group-committed by one task (every identity
//! waiting goes into one statement), and on SQLite they do not wait for an
//! fsync: they survive a crash of the process, and after a power loss the
//! last moments' identities may be forgotten, a window the platforms'
//! timestamps bound. In front sits an in-process map of identities this
//! process saw, so that repeats (a platform re-sending, a replay flood) are
//! refused without a database round trip; it is a cache, and forgets when
//! full.
//!
//! Bounded: only verified callbacks reach it, each signed thing is one
//! identity however often it is sent, expired identities are pruned every
//! [`PRUNE_EVERY`], and each namespace may hold at most
//! `server.replay_cache_capacity` unexpired identities. A namespace that is
//! full answers 503 (the platform retries later) while the others go on, so
//! a flood through one platform cannot lock out the rest.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use crate::store::{ReplayId, Store, StoreError};
use crate::tasks::Tasks;

/// Expired entries are swept at most this often (seconds).
const SWEEP_INTERVAL_SECS: i64 = 30;
/// How often expired identities are deleted from the store, and the
/// namespaces' counts refreshed.
pub const PRUNE_EVERY: Duration = Duration::from_secs(60);
/// Identities one pruning statement deletes.
const PRUNE_BATCH: u32 = 5_000;
/// Identities one write takes.
const WRITE_BATCH: usize = 500;
/// Identities that may wait for the writer.
const QUEUE: usize = 8_192;

#[derive(Debug, PartialEq, Eq)]
pub enum Sighting {
    /// Not seen before: recorded now, go ahead.
    First,
    /// Seen before and not yet expired: do not act again.
    Repeat,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The namespace holds its maximum of unexpired identities.
    #[error("the replay memory of `{0}` is full")]
    Full(&'static str),
    /// The identity could not be recorded: not acted on.
    #[error("cannot record the callback in the replay memory: {0}")]
    Store(String),
}

/// The identity of `key` in `namespace`: hashing bounds the memory per
/// entry whatever the key's length, and the separator keeps namespaces apart.
pub fn digest(namespace: &str, key: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(namespace.as_bytes());
    h.update([0]);
    h.update(key.as_bytes());
    h.finalize().into()
}

struct Job {
    id: ReplayId,
    reply: oneshot::Sender<Result<bool, String>>,
}

/// The replay memory the callback handlers use: the in-process front and
/// the store behind it.
pub struct ReplayMemory {
    front: ReplayGuard,
    capacity: u64,
    /// Unexpired identities per namespace, as the store last counted them
    /// plus those recorded since.
    counts: Mutex<HashMap<String, u64>>,
    queue: mpsc::Sender<Job>,
}

impl ReplayMemory {
    /// Starts the writer and the pruning on `tasks`.
    pub fn spawn(store: Arc<dyn Store>, capacity: usize, tasks: &Tasks) -> Arc<Self> {
        let (queue, rx) = mpsc::channel(QUEUE);
        let this = Arc::new(Self {
            front: ReplayGuard::new(capacity),
            capacity: capacity as u64,
            counts: Mutex::new(HashMap::new()),
            queue,
        });
        tasks.spawn("replay memory writer", write(store.clone(), rx));
        let weak = Arc::downgrade(&this);
        tasks.spawn("replay memory pruning", async move {
            loop {
                let Some(memory) = weak.upgrade() else { return };
                memory.prune(store.as_ref()).await;
                drop(memory);
                tokio::time::sleep(PRUNE_EVERY).await;
            }
        });
        this
    }

    /// Records `key` in `namespace` until `expires_at` (Unix seconds) unless
    /// it is already there unexpired.
    pub async fn check(
        &self,
        namespace: &'static str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Sighting, ReplayError> {
        let digest = digest(namespace, key);
        if self.front.check_digest(digest, expires_at, now) == Sighting::Repeat {
            return Ok(Sighting::Repeat);
        }
        let full = self
            .counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(namespace)
            .is_some_and(|&n| n >= self.capacity);
        let outcome = if full {
            Err(ReplayError::Full(namespace))
        } else {
            self.record(ReplayId {
                key: digest,
                namespace,
                expires_at,
            })
            .await
        };
        match outcome {
            Ok(true) => {
                *self
                    .counts
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(namespace.to_string())
                    .or_default() += 1;
                Ok(Sighting::First)
            }
            // Another process (or this one, before a restart) accepted it.
            Ok(false) => Ok(Sighting::Repeat),
            Err(e) => {
                // Not recorded: the platform's retry must not look like a replay.
                self.front.forget(&digest);
                Err(e)
            }
        }
    }

    async fn record(&self, id: ReplayId) -> Result<bool, ReplayError> {
        let (reply, answer) = oneshot::channel();
        let gone = || ReplayError::Store(StoreError::WriterGone.to_string());
        self.queue
            .send(Job { id, reply })
            .await
            .map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(ReplayError::Store)
    }

    /// Deletes expired identities and recounts the namespaces.
    async fn prune(&self, store: &dyn Store) {
        let now = crate::inbound::now_ms() / 1000;
        loop {
            match store.prune_replay(now, PRUNE_BATCH).await {
                Ok((deleted, counts)) => {
                    if deleted == u64::from(PRUNE_BATCH) {
                        continue;
                    }
                    for (namespace, n) in &counts {
                        if *n >= self.capacity {
                            tracing::warn!(%namespace, identities = n, "replay memory full for this namespace: its callbacks are answered 503 until identities expire");
                        }
                    }
                    *self.counts.lock().unwrap_or_else(|e| e.into_inner()) =
                        counts.into_iter().collect();
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot prune the replay memory; trying again later");
                    return;
                }
            }
        }
    }
}

/// The group-commit writer: every identity waiting goes into one statement.
async fn write(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < WRITE_BATCH {
            let Ok(job) = rx.try_recv() else { break };
            jobs.push(job);
        }
        // The same identity twice in one batch: the first one is the first.
        let mut seen = std::collections::HashSet::with_capacity(jobs.len());
        let mut ids = Vec::with_capacity(jobs.len());
        let mut repeats = Vec::new();
        for (i, job) in jobs.iter().enumerate() {
            if seen.insert(job.id.key) {
                ids.push(job.id.clone());
            } else {
                repeats.push(i);
            }
        }
        let now = crate::inbound::now_ms() / 1000;
        let mut answers = match store.remember(&ids, now).await {
            Ok(firsts) => firsts.into_iter().map(Ok).collect::<Vec<_>>(),
            Err(e) => {
                tracing::warn!(error = %e, identities = ids.len(), "cannot record callbacks in the replay memory; they are refused with 503");
                let e = e.to_string();
                ids.iter().map(|_| Err(e.clone())).collect()
            }
        }
        .into_iter();
        for (i, job) in jobs.into_iter().enumerate() {
            let answer = if repeats.contains(&i) {
                Ok(false)
            } else {
                answers.next().unwrap_or(Ok(false))
            };
            let _ = job.reply.send(answer);
        }
    }
}

/// The in-process front: identities this process recorded, until they
/// expire or room is needed.
pub struct ReplayGuard {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Identity → expiry (Unix seconds).
    seen: HashMap<[u8; 32], i64>,
    next_sweep: i64,
}

impl ReplayGuard {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                seen: HashMap::new(),
                next_sweep: 0,
            }),
        }
    }

    /// Records `key` in `namespace` until `expires_at` unless it is already there.
    pub fn check(&self, namespace: &str, key: &str, expires_at: i64, now: i64) -> Sighting {
        self.check_digest(digest(namespace, key), expires_at, now)
    }

    /// As [`ReplayGuard::check`], for an identity from [`digest`]. When full
    /// of live entries it forgets them all: the store still has them.
    pub fn check_digest(&self, digest: [u8; 32], expires_at: i64, now: i64) -> Sighting {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let inner = &mut *inner;
        match inner.seen.get_mut(&digest) {
            Some(exp) if *exp > now => return Sighting::Repeat,
            // Expired but not swept yet: reuse the slot.
            Some(exp) => {
                *exp = expires_at;
                return Sighting::First;
            }
            None => {}
        }
        let full = inner.seen.len() >= self.capacity;
        if now >= inner.next_sweep || full {
            inner.seen.retain(|_, exp| *exp > now);
            inner.next_sweep = now + SWEEP_INTERVAL_SECS;
        }
        if inner.seen.len() >= self.capacity {
            // A cache in front of the store: make room rather than refuse.
            inner.seen.clear();
        }
        inner.seen.insert(digest, expires_at);
        Sighting::First
    }

    /// Drops an identity (it could not be recorded behind the front).
    pub fn forget(&self, digest: &[u8; 32]) {
        self.inner
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .seen
            .remove(digest);
    }

    pub fn len(&self) -> usize {
        self.inner.lock().map(|i| i.seen.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_sighting_is_a_repeat_until_expiry() {
        let g = ReplayGuard::new(10);
        assert_eq!(g.check("feishu", "evt-1", 100, 0), Sighting::First);
        assert_eq!(g.check("feishu", "evt-1", 100, 99), Sighting::Repeat);
        assert_eq!(g.check("feishu", "evt-1", 200, 100), Sighting::First);
    }

    #[test]
    fn namespaces_do_not_collide() {
        let g = ReplayGuard::new(10);
        assert_eq!(g.check("a", "bc", 100, 0), Sighting::First);
        assert_eq!(g.check("ab", "c", 100, 0), Sighting::First);
        assert_eq!(g.check("b", "bc", 100, 0), Sighting::First);
    }

    #[test]
    fn a_full_front_makes_room() {
        let g = ReplayGuard::new(2);
        assert_eq!(g.check("n", "1", 10, 0), Sighting::First);
        assert_eq!(g.check("n", "2", 100, 0), Sighting::First);
        // Expired ones go first.
        assert_eq!(g.check("n", "3", 100, 10), Sighting::First);
        assert_eq!(g.check("n", "2", 100, 10), Sighting::Repeat);
        // Full of live ones: forgotten (the store behind still has them).
        assert_eq!(g.check("n", "4", 100, 11), Sighting::First);
        assert_eq!(g.len(), 1);
        g.forget(&digest("n", "4"));
        assert!(g.is_empty());
    }

    async fn store(dir: &tempfile::TempDir, tasks: &Tasks) -> Arc<dyn Store> {
        let url = format!("sqlite://{}", dir.path().join("replay.db").display());
        let background = crate::store::Background {
            tasks: tasks.clone(),
            faults: Default::default(),
        };
        let engine = crate::engine::Engine::from_config(
            &crate::config::Config::from_toml("", "t", &|_| None).unwrap(),
        );
        crate::store::open_with(&url, engine, background)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn the_store_remembers_across_processes_and_counts_per_namespace() {
        let dir = tempfile::tempdir().unwrap();
        let tasks = Tasks::new();
        let store = store(&dir, &tasks).await;
        let now = crate::inbound::now_ms() / 1000;
        let one = ReplayMemory::spawn(store.clone(), 1000, &tasks);
        assert_eq!(
            one.check("ns", "k", now + 60, now).await.unwrap(),
            Sighting::First
        );
        assert_eq!(
            one.check("ns", "k", now + 60, now).await.unwrap(),
            Sighting::Repeat
        );
        // Another front (a restart, a replica) over the same store.
        let two = ReplayMemory::spawn(store.clone(), 1000, &tasks);
        assert_eq!(
            two.check("ns", "k", now + 60, now).await.unwrap(),
            Sighting::Repeat
        );
        assert_eq!(
            two.check("other", "k", now + 60, now).await.unwrap(),
            Sighting::First
        );
        // Concurrent sightings of one identity: exactly one is first.
        let three = ReplayMemory::spawn(store.clone(), 1000, &tasks);
        let all = futures_util::future::join_all(
            (0..20).map(|_| three.check("ns", "same", now + 60, now)),
        )
        .await;
        let firsts = all
            .iter()
            .filter(|s| matches!(s, Ok(Sighting::First)))
            .count();
        assert_eq!(firsts, 1);
        // Expired in the store: accepted again, and pruned.
        let four = ReplayMemory::spawn(store.clone(), 1000, &tasks);
        assert_eq!(
            four.check("old", "x", now - 1, now - 10).await.unwrap(),
            Sighting::First
        );
        assert_eq!(
            four.check("old", "x", now + 60, now).await.unwrap(),
            Sighting::First
        );
        assert_eq!(store.prune_replay(now + 61, 100).await.unwrap().0, 4);
        let (_, counts) = store.prune_replay(now, 100).await.unwrap();
        assert!(counts.is_empty());
    }

    #[tokio::test]
    async fn a_full_namespace_is_refused_and_the_others_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let tasks = Tasks::new();
        let store = store(&dir, &tasks).await;
        let now = crate::inbound::now_ms() / 1000;
        let memory = ReplayMemory::spawn(store.clone(), 2, &tasks);
        for k in ["1", "2"] {
            assert_eq!(
                memory.check("flood", k, now + 60, now).await.unwrap(),
                Sighting::First
            );
        }
        assert!(matches!(
            memory.check("flood", "3", now + 60, now).await,
            Err(ReplayError::Full("flood"))
        ));
        assert_eq!(
            memory.check("genuine", "1", now + 60, now).await.unwrap(),
            Sighting::First
        );
        // Not recorded while full: its retry is not taken for a replay.
        memory.counts.lock().unwrap().clear();
        assert_eq!(
            memory.check("flood", "3", now + 60, now).await.unwrap(),
            Sighting::First
        );
    }
}
