//! Per-channel rate limits (governor's GCRA): a bot never receives more than
//! its documented budget from this process. When the budget cannot cover
//! every message that is due, the worker folds the rest into one digest
//! instead of letting them wait minutes behind the limit.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{Quota, RateLimiter};

type Direct = RateLimiter<governor::state::NotKeyed, governor::state::InMemoryState, DefaultClock>;

/// A channel's budget: per second and/or per minute, both enforced.
pub struct Limits {
    per_second: Option<Direct>,
    per_minute: Option<Direct>,
    clock: DefaultClock,
}

impl Limits {
    pub fn new((per_second, per_minute): (Option<u32>, Option<u32>)) -> Self {
        // A burst of one: sends are spaced evenly (DingTalk's 20/min is one
        // every 3 s), so no sliding window of the period ever holds more than
        // the limit. A larger burst would allow burst + limit in the first
        // period, and DingTalk throttles a robot for 10 minutes beyond 20/min.
        let one = NonZeroU32::new(1).expect("1 is non-zero");
        let make = |n: Option<u32>, quota: fn(NonZeroU32) -> Quota| {
            n.and_then(NonZeroU32::new)
                .map(|n| RateLimiter::direct(quota(n).allow_burst(one)))
        };
        Self {
            per_second: make(per_second, Quota::per_second),
            per_minute: make(per_minute, Quota::per_minute),
            clock: DefaultClock::default(),
        }
    }

    /// Takes up to `wanted` sends from the budget. Returns how many may go
    /// now and, when that is fewer than wanted, how long until the next one.
    pub fn take(&self, wanted: usize) -> (usize, Option<Duration>) {
        for taken in 0..wanted {
            // The minute budget first: when it binds, its wait is the one to report.
            for limiter in [&self.per_minute, &self.per_second].into_iter().flatten() {
                if let Err(not_until) = limiter.check() {
                    return (taken, Some(not_until.wait_time_from(self.clock.now())));
                }
            }
        }
        (wanted, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_per_minute_budget_spaces_sends_evenly() {
        let l = Limits::new((None, Some(20)));
        let (n, wait) = l.take(10);
        assert_eq!(n, 1, "no burst: one now");
        let wait = wait.unwrap();
        assert!(
            wait > Duration::from_millis(2900) && wait <= Duration::from_secs(3),
            "{wait:?}"
        );
        assert_eq!(l.take(1).0, 0);
    }

    #[test]
    fn the_stricter_budget_decides() {
        let l = Limits::new((Some(5), Some(100)));
        let (n, wait) = l.take(50);
        assert_eq!(n, 1);
        // 100/min is one per 600 ms, stricter than 5/s (one per 200 ms).
        assert!(wait.unwrap() > Duration::from_millis(390), "{wait:?}");
    }

    #[test]
    fn no_limits_take_everything() {
        let l = Limits::new((None, None));
        assert_eq!(l.take(10_000), (10_000, None));
    }
}
