//! When to try again: exponential backoff with jitter, not sooner than the
//! platform asked (`Retry-After`, documented penalties) unless that is beyond
//! `[delivery] max_backoff`, the operator's cap on any wait.

use std::time::Duration;

/// The wait after the `attempts`-th failed attempt (1-based): 1 s, 2 s, 4 s …
/// capped at `max`, times a jitter factor in [0.8, 1.2) so that many rows
/// failing together do not retry together. `floor` is the platform's ask.
pub fn delay(attempts: i64, floor: Option<Duration>, max: Duration, jitter: f64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 31) - 1).expect("clamped");
    let base = Duration::from_secs(1)
        .saturating_mul(2u32.saturating_pow(exp))
        .min(max);
    let jittered = base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    jittered.max(floor.unwrap_or_default()).min(max)
}

/// A uniform number in [0, 1) from the OS.
pub fn jitter() -> f64 {
    let mut b = [0u8; 4];
    getrandom::fill(&mut b).expect("OS random source");
    f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAX: Duration = Duration::from_secs(600);

    #[test]
    fn doubles_up_to_the_cap() {
        let d = |a| delay(a, None, MAX, 0.5);
        assert_eq!(d(1), Duration::from_secs(1));
        assert_eq!(d(2), Duration::from_secs(2));
        assert_eq!(d(5), Duration::from_secs(16));
        assert_eq!(d(20), MAX);
        assert_eq!(d(1000), MAX);
    }

    #[test]
    fn jitter_spreads_within_a_fifth() {
        assert_eq!(delay(4, None, MAX, 0.0), Duration::from_millis(6400));
        assert!(delay(4, None, MAX, 0.999) < Duration::from_millis(9600));
        let j = jitter();
        assert!((0.0..1.0).contains(&j));
    }

    #[test]
    fn the_platform_ask_is_a_floor_up_to_the_cap() {
        let ask = Some(Duration::from_secs(30));
        assert_eq!(delay(1, ask, MAX, 0.5), Duration::from_secs(30));
        let long = Some(Duration::from_secs(900));
        assert_eq!(delay(1, long, MAX, 0.5), MAX);
    }
}
