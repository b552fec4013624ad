//! The timestamp window shared by every platform: a request is fresh when its
//! timestamp is within `tolerance` of our clock, in either direction. Future
//! timestamps are refused too: a clock far ahead would otherwise let a captured
//! request be replayed for longer than the window.

use super::VerifyError;

/// Checks `ts_ms` against `now_ms` (both Unix milliseconds). Computed in i128,
/// so no input overflows; a negative tolerance admits nothing.
pub fn check_window(ts_ms: i64, now_ms: i64, tolerance_ms: i64) -> Result<(), VerifyError> {
    let skew = i128::from(now_ms) - i128::from(ts_ms);
    let tolerance = i128::from(tolerance_ms);
    let secs = |ms: i128| i64::try_from(ms / 1000).unwrap_or(i64::MAX);
    if skew > tolerance {
        Err(VerifyError::TimestampTooOld {
            skew_secs: secs(skew),
        })
    } else if skew < -tolerance {
        Err(VerifyError::TimestampInFuture {
            skew_secs: secs(-skew),
        })
    } else {
        Ok(())
    }
}

/// Parses a decimal header value; anything else (sign, spaces, hex, a
/// leading zero) is malformed. Canonical only: where a signature covers
/// the value concatenated with others (WeCom sorts and joins them), a
/// second spelling of the same instant would be a second request.
pub fn parse_decimal(value: &str, header: &'static str) -> Result<i64, VerifyError> {
    if value.is_empty()
        || value.len() > 19
        || (value.len() > 1 && value.starts_with('0'))
        || !value.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(VerifyError::MalformedHeader(header));
    }
    value
        .parse()
        .map_err(|_| VerifyError::MalformedHeader(header))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_is_inclusive_and_symmetric() {
        assert!(check_window(1_000, 1_000, 0).is_ok());
        assert!(check_window(0, 3_600_000, 3_600_000).is_ok());
        assert!(check_window(7_200_000, 3_600_000, 3_600_000).is_ok());
        assert_eq!(
            check_window(0, 3_600_001, 3_600_000),
            Err(VerifyError::TimestampTooOld { skew_secs: 3600 })
        );
        assert_eq!(
            check_window(7_200_001, 3_600_000, 3_600_000),
            Err(VerifyError::TimestampInFuture { skew_secs: 3600 })
        );
    }

    #[test]
    fn extreme_values_do_not_overflow() {
        assert!(check_window(i64::MIN, i64::MAX, 1000).is_err());
        assert!(check_window(i64::MAX, i64::MIN, 1000).is_err());
    }

    #[test]
    fn only_plain_decimals_parse() {
        assert_eq!(parse_decimal("1700000000", "t"), Ok(1_700_000_000));
        for bad in ["", "-1", "+1", " 1", "1e3", "0x10", "99999999999999999999"] {
            assert_eq!(
                parse_decimal(bad, "t"),
                Err(VerifyError::MalformedHeader("t")),
                "{bad}"
            );
        }
    }
}
