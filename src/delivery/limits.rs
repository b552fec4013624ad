//! Per-channel rate limits. A bot never receives more than its documented
//! budget from ackbot as a whole: the budget lives in the database
//! ([`crate::store::Store::take_budget`]), so replicas share it and a
//! restart does not start a fresh one. That is also why this is not an
//! in-process limiter (governor's state cannot be shared between replicas).
//!
//! Sends are spaced evenly, with no burst: DingTalk's 20/min is one every
//! 3 s, so no sliding window of the period ever holds more than the limit
//! (DingTalk throttles a robot for 10 minutes beyond 20/min). With both a
//! per-second and a per-minute limit, the stricter spacing is the one that
//! holds. When the budget cannot cover every message that is due, the
//! worker folds the rest into one digest instead of letting them wait.

use std::time::Duration;

/// The spacing between two sends for `(per_second, per_minute)`, or `None`
/// when the channel has no limit.
pub fn interval((per_second, per_minute): (Option<u32>, Option<u32>)) -> Option<Duration> {
    let second = per_second
        .filter(|n| *n > 0)
        .map(|n| Duration::from_secs(1) / n);
    let minute = per_minute
        .filter(|n| *n > 0)
        .map(|n| Duration::from_secs(60) / n);
    match (second, minute) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_per_minute_budget_spaces_sends_evenly() {
        assert_eq!(interval((None, Some(20))), Some(Duration::from_secs(3)));
    }

    #[test]
    fn the_stricter_budget_decides() {
        // 100/min is one per 600 ms, stricter than 5/s (one per 200 ms).
        assert_eq!(
            interval((Some(5), Some(100))),
            Some(Duration::from_millis(600))
        );
        assert_eq!(interval((Some(5), None)), Some(Duration::from_millis(200)));
    }

    #[test]
    fn no_limits_take_everything() {
        assert_eq!(interval((None, None)), None);
        assert_eq!(interval((Some(0), Some(0))), None);
    }
}
