//! Replay protection: remembers the identity of every accepted callback (a
//! Feishu `event_id`, a DingTalk `(timestamp, sign)` pair, a WeCom nonce, …)
//! until the moment a replay of it would be refused by the timestamp window
//! anyway. Anything seen before within that time is not acted on twice.
//!
//! Why not an off-the-shelf cache: caches evict under pressure, and an evicted
//! key is a replay that succeeds. This one never forgets an entry before it
//! expires; when it is full of live entries it refuses new ones (the caller
//! answers 503 and the platform retries later). It is in memory, so a restart
//! forgets: the timestamp windows bound what that exposes.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// Expired entries are swept at most this often (seconds).
const SWEEP_INTERVAL_SECS: i64 = 30;
/// When full, a sweep is tried at most once a second: a sweep is O(n) under
/// the lock, and sweeping on every refused request would serialise them all.
const FULL_SWEEP_INTERVAL_SECS: i64 = 1;

#[derive(Debug, PartialEq, Eq)]
pub enum Sighting {
    /// Not seen before: recorded now, go ahead.
    First,
    /// Seen before and not yet expired: do not act again.
    Repeat,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("replay cache is full of unexpired entries")]
pub struct Full;

pub struct ReplayGuard {
    capacity: usize,
    inner: Mutex<Inner>,
}

struct Inner {
    /// SHA-256 of the namespaced key → expiry (Unix seconds). Hashing bounds the
    /// memory per entry whatever the key's length.
    seen: HashMap<[u8; 32], i64>,
    next_sweep: i64,
    next_full_sweep: i64,
}

impl ReplayGuard {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner {
                seen: HashMap::new(),
                next_sweep: 0,
                next_full_sweep: 0,
            }),
        }
    }

    /// Records `key` in `namespace` until `expires_at` unless it is already there.
    pub fn check(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Sighting, Full> {
        let mut h = Sha256::new();
        h.update(namespace.as_bytes());
        h.update([0]);
        h.update(key.as_bytes());
        let digest: [u8; 32] = h.finalize().into();

        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let inner = &mut *inner;
        match inner.seen.get_mut(&digest) {
            Some(exp) if *exp > now => return Ok(Sighting::Repeat),
            // Expired but not swept yet: reuse the slot.
            Some(exp) => {
                *exp = expires_at;
                return Ok(Sighting::First);
            }
            None => {}
        }
        let full = inner.seen.len() >= self.capacity;
        if now >= inner.next_sweep || (full && now >= inner.next_full_sweep) {
            inner.seen.retain(|_, exp| *exp > now);
            inner.next_sweep = now + SWEEP_INTERVAL_SECS;
            inner.next_full_sweep = now + FULL_SWEEP_INTERVAL_SECS;
        }
        if inner.seen.len() >= self.capacity {
            return Err(Full);
        }
        inner.seen.insert(digest, expires_at);
        Ok(Sighting::First)
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
        assert_eq!(g.check("feishu", "evt-1", 100, 0), Ok(Sighting::First));
        assert_eq!(g.check("feishu", "evt-1", 100, 99), Ok(Sighting::Repeat));
        assert_eq!(g.check("feishu", "evt-1", 200, 100), Ok(Sighting::First));
    }

    #[test]
    fn namespaces_do_not_collide() {
        let g = ReplayGuard::new(10);
        assert_eq!(g.check("a", "bc", 100, 0), Ok(Sighting::First));
        assert_eq!(g.check("ab", "c", 100, 0), Ok(Sighting::First));
        assert_eq!(g.check("b", "bc", 100, 0), Ok(Sighting::First));
    }

    #[test]
    fn full_of_live_entries_refuses_instead_of_forgetting() {
        let g = ReplayGuard::new(2);
        assert_eq!(g.check("n", "1", 100, 0), Ok(Sighting::First));
        assert_eq!(g.check("n", "2", 100, 0), Ok(Sighting::First));
        assert_eq!(g.check("n", "3", 100, 1), Err(Full));
        // The old entries are still remembered.
        assert_eq!(g.check("n", "1", 100, 1), Ok(Sighting::Repeat));
        // Once they expire, room is made.
        assert_eq!(g.check("n", "3", 300, 100), Ok(Sighting::First));
        assert_eq!(g.len(), 1);
    }

    #[test]
    fn a_full_cache_frees_room_as_soon_as_an_entry_expires() {
        // Sweeps of a full cache are rate-limited to one a second (a cost
        // property, measured by bench/load.sh); what must hold is that no
        // live entry is forgotten and expired ones make room.
        let g = ReplayGuard::new(2);
        assert_eq!(g.check("n", "1", 10, 0), Ok(Sighting::First));
        assert_eq!(g.check("n", "2", 100, 0), Ok(Sighting::First));
        assert_eq!(g.check("n", "3", 100, 9), Err(Full));
        assert_eq!(g.check("n", "3", 100, 9), Err(Full));
        assert_eq!(g.check("n", "3", 100, 10), Ok(Sighting::First));
        assert_eq!(g.check("n", "2", 100, 10), Ok(Sighting::Repeat));
        // An expired entry that is seen again is recorded afresh.
        let g = ReplayGuard::new(10);
        assert_eq!(g.check("n", "x", 5, 0), Ok(Sighting::First));
        assert_eq!(g.check("n", "x", 50, 6), Ok(Sighting::First));
        assert_eq!(g.check("n", "x", 50, 40), Ok(Sighting::Repeat));
    }
}
