//! Replay protection: remembers the identity of every accepted callback (a
//! Feishu `event_id`, a DingTalk `(timestamp, sign)` pair, a WeCom
//! signature, …) until the moment a replay of it would be refused by the
//! timestamp window anyway. Anything seen before within that time is not
//! acted on twice: not by this process, not after a restart, not by another
//! replica.
//!
//! A callback is acted on only once its identity is written to the store.
//! Writes are group-committed by one task (every identity waiting goes into
//! one statement) and do not wait for an fsync: they survive a crash of the
//! process; after a power loss the last moments' identities may be
//! forgotten, a window the platforms' timestamps bound. Who decides depends
//! on the backend ([`Store::shared_replay`]):
//!
//! - **PostgreSQL** (replicas): the store's unique key. The in-process map
//!   in front only answers repeats this process saw without a round trip;
//!   it is a cache and forgets when full.
//! - **SQLite** (one process): the in-process map, which holds every
//!   unexpired identity; the store keeps an append-only log of them, read
//!   back at start-up. Why not a unique index there too: identities are
//!   random, so each insert would rewrite a different index page into the
//!   WAL (a 4 KiB page per callback, measured at ~110 µs each), while an
//!   append touches the last page only.
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

enum Job {
    /// An identity to write; `reply` says whether it was new (write-through)
    /// or is `None` (written behind).
    Record {
        id: ReplayId,
        reply: Option<oneshot::Sender<Result<bool, String>>>,
    },
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// How long the writer behind a single-process store gathers identities
/// before writing them: one statement per this much time under load, and
/// what a `kill -9` may lose (a graceful stop flushes).
const LINGER: Duration = Duration::from_millis(10);

/// The replay memory the callback handlers use: the in-process front and
/// the store behind it.
pub struct ReplayMemory {
    front: ReplayGuard,
    /// The store decides (PostgreSQL: write through, wait for its answer);
    /// else the front does, and the store's log is written behind.
    shared: bool,
    capacity: u64,
    /// Unexpired identities per namespace, as the store last counted them
    /// plus those recorded since.
    counts: Mutex<HashMap<String, u64>>,
    queue: mpsc::Sender<Job>,
}

impl ReplayMemory {
    /// Loads what a single-process store logged, then starts the writer and
    /// the pruning on `tasks`.
    pub async fn start(
        store: Arc<dyn Store>,
        capacity: usize,
        tasks: &Tasks,
    ) -> Result<Arc<Self>, StoreError> {
        let shared = store.shared_replay();
        let (queue, rx) = mpsc::channel(QUEUE);
        let now = crate::inbound::now_ms() / 1000;
        let this = Arc::new(Self {
            // The deciding front never forgets a live identity.
            front: ReplayGuard::with_eviction(if shared { capacity } else { usize::MAX }, shared),
            shared,
            capacity: capacity as u64,
            counts: Mutex::new(HashMap::new()),
            queue,
        });
        let logged = store.load_replay(now).await?;
        if !logged.is_empty() {
            tracing::info!(ids = logged.len(), "replay memory read back");
        }
        {
            let mut counts = this.counts.lock().unwrap_or_else(|e| e.into_inner());
            for id in logged {
                if this.front.check_digest(id.key, id.expires_at, now) == Sighting::First {
                    *counts.entry(id.namespace.into_owned()).or_default() += 1;
                }
            }
        }
        // Counts each namespace, and drops what expired while stopped.
        this.prune(store.as_ref()).await;
        let linger = (!shared).then_some(LINGER);
        tasks.spawn("replay memory writer", write(store.clone(), rx, linger));
        let weak = Arc::downgrade(&this);
        tasks.spawn("replay memory pruning", async move {
            loop {
                tokio::time::sleep(PRUNE_EVERY).await;
                let Some(memory) = weak.upgrade() else { return };
                memory.prune(store.as_ref()).await;
            }
        });
        Ok(this)
    }

    /// Records `key` in `namespace` until `expires_at` (Unix seconds) unless
    /// it is already there unexpired.
    /// Identities the in-process front holds (`ackbot_replay_cache_entries`).
    pub fn entries(&self) -> usize {
        self.front.len()
    }

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
                namespace: namespace.into(),
                expires_at,
            })
            .await
        };
        match outcome {
            Ok(true) => {
                let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
                match counts.get_mut(namespace) {
                    Some(n) => *n += 1,
                    None => {
                        counts.insert(namespace.to_string(), 1);
                    }
                }
                Ok(Sighting::First)
            }
            // Another replica (or this one, before a restart) accepted it.
            Ok(false) => Ok(Sighting::Repeat),
            Err(e) => {
                // Not recorded: the platform's retry must not look like a replay.
                self.front.forget(&digest);
                Err(e)
            }
        }
    }

    async fn record(&self, id: ReplayId) -> Result<bool, ReplayError> {
        let gone = || ReplayError::Store(StoreError::WriterGone.to_string());
        if !self.shared {
            // The front decided; the log is written behind (and flushed on stop).
            self.queue
                .send(Job::Record { id, reply: None })
                .await
                .map_err(|_| gone())?;
            return Ok(true);
        }
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Job::Record {
                id,
                reply: Some(reply),
            })
            .await
            .map_err(|_| gone())?;
        answer
            .await
            .map_err(|_| gone())?
            .map_err(ReplayError::Store)
    }

    /// Waits until every identity recorded so far is written (a stop).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.queue.send(Job::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
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

/// The group-commit writer: every identity waiting goes into one statement;
/// with `linger`, it first waits that long for more.
async fn write(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Job>, linger: Option<Duration>) {
    let shared = store.shared_replay();
    while let Some(first) = rx.recv().await {
        if let Some(linger) = linger {
            tokio::time::sleep(linger).await;
        }
        let mut jobs = vec![first];
        let mut flushes = Vec::new();
        while jobs.len() < WRITE_BATCH {
            match rx.try_recv() {
                Ok(Job::Flush(done)) => {
                    flushes.push(done);
                    break;
                }
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        let mut records = Vec::with_capacity(jobs.len());
        for job in jobs {
            match job {
                Job::Record { id, reply } => records.push((id, reply)),
                Job::Flush(done) => flushes.push(done),
            }
        }
        // The same identity twice in one batch (a shared store, where one
        // statement cannot write a key twice): the first one is the first.
        // Behind a deciding front every record is written: a second one is
        // an identity seen again after it expired.
        let mut seen = std::collections::HashSet::with_capacity(records.len());
        let repeat: Vec<bool> = records
            .iter()
            .map(|(id, _)| shared && !seen.insert(id.key))
            .collect();
        let ids: Vec<ReplayId> = records
            .iter()
            .zip(&repeat)
            .filter(|(_, r)| !**r)
            .map(|((id, _), _)| id.clone())
            .collect();
        let now = crate::inbound::now_ms() / 1000;
        let mut answers = if ids.is_empty() {
            Vec::new()
        } else {
            match store.remember(&ids, now).await {
                Ok(firsts) => firsts.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => {
                    tracing::warn!(error = %e, identities = ids.len(), "cannot record callbacks in the replay memory");
                    let e = e.to_string();
                    ids.iter().map(|_| Err(e.clone())).collect()
                }
            }
        }
        .into_iter();
        for ((_, reply), repeat) in records.into_iter().zip(repeat) {
            let answer = if repeat {
                Ok(false)
            } else {
                answers.next().unwrap_or(Ok(false))
            };
            if let Some(reply) = reply {
                let _ = reply.send(answer);
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// The in-process front: identities this process recorded, until they
/// expire (or, as a cache in front of a shared store, room is needed).
pub struct ReplayGuard {
    capacity: usize,
    /// When full of live entries: forget them all (a cache) or keep them.
    evict: bool,
    inner: Mutex<Inner>,
}

struct Inner {
    /// Identity → expiry (Unix seconds).
    seen: HashMap<[u8; 32], i64>,
    next_sweep: i64,
}

impl ReplayGuard {
    /// A cache of at most `capacity` identities.
    pub fn new(capacity: usize) -> Self {
        Self::with_eviction(capacity, true)
    }

    fn with_eviction(capacity: usize, evict: bool) -> Self {
        Self {
            capacity,
            evict,
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

    /// As [`ReplayGuard::check`], for an identity from [`digest`]. A cache
    /// full of live entries forgets them all: the store still has them.
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
        if self.evict && inner.seen.len() >= self.capacity {
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
        let one = ReplayMemory::start(store.clone(), 1000, &tasks)
            .await
            .unwrap();
        assert_eq!(
            one.check("ns", "k", now + 60, now).await.unwrap(),
            Sighting::First
        );
        assert_eq!(
            one.check("ns", "k", now + 60, now).await.unwrap(),
            Sighting::Repeat
        );
        // Another front (a restart, a replica) over the same store; a
        // stop flushes first.
        one.flush().await;
        let two = ReplayMemory::start(store.clone(), 1000, &tasks)
            .await
            .unwrap();
        assert_eq!(
            two.check("ns", "k", now + 60, now).await.unwrap(),
            Sighting::Repeat
        );
        assert_eq!(
            two.check("other", "k", now + 60, now).await.unwrap(),
            Sighting::First
        );
        // Concurrent sightings of one identity: exactly one is first.
        let three = ReplayMemory::start(store.clone(), 1000, &tasks)
            .await
            .unwrap();
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
        let four = ReplayMemory::start(store.clone(), 1000, &tasks)
            .await
            .unwrap();
        assert_eq!(
            four.check("old", "x", now - 1, now - 10).await.unwrap(),
            Sighting::First
        );
        assert_eq!(
            four.check("old", "x", now + 60, now).await.unwrap(),
            Sighting::First
        );
        for memory in [&two, &three, &four] {
            memory.flush().await;
        }
        // SQLite's log holds the expired sighting and the new one.
        assert_eq!(store.prune_replay(now + 61, 100).await.unwrap().0, 5);
        let (_, counts) = store.prune_replay(now, 100).await.unwrap();
        assert!(counts.is_empty());
    }

    #[tokio::test]
    async fn a_full_namespace_is_refused_and_the_others_go_on() {
        let dir = tempfile::tempdir().unwrap();
        let tasks = Tasks::new();
        let store = store(&dir, &tasks).await;
        let now = crate::inbound::now_ms() / 1000;
        let memory = ReplayMemory::start(store.clone(), 2, &tasks).await.unwrap();
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
