//! `[[time_intervals]]`: named sets of times, with Alertmanager's syntax and
//! semantics (its `timeinterval` package), used by routes as
//! `mute_time_intervals` and `active_time_intervals`.
//!
//! A spec's fields are ANDed and a field's ranges ORed; a field left out
//! matches everything; an interval is in force when any of its specs is.
//! Times are wall-clock `HH:MM` in the spec's `location` (UTC when unset),
//! the start inclusive and the end exclusive, to the minute; `24:00` ends a
//! day and a range may not cross midnight (write two). Weekdays, days of the
//! month (negative: from the month's end), months and years are inclusive.
//!
//! Stricter than Alertmanager where it silently never matches: a month
//! outside 1–12 and an empty list are refused at load.
//!
//! What a route does with them is the engine's: a notice due while its route
//! is muted (or outside its active intervals) is held until the first minute
//! that is not ([`Hold::next_open`]), durably, as its due time.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;

/// Why a spec does not parse: Alertmanager's words where it has them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct IntervalError(pub String);

fn err(s: impl Into<String>) -> IntervalError {
    IntervalError(s.into())
}

/// One `time_intervals` entry of an interval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// Minutes of the day, `[start, end)`.
    pub times: Option<Vec<(u32, u32)>>,
    /// 0 = Sunday … 6 = Saturday, inclusive.
    pub weekdays: Option<Vec<(u32, u32)>>,
    /// 1..=31 or -31..=-1, inclusive.
    pub days_of_month: Option<Vec<(i32, i32)>>,
    pub months: Option<Vec<(u32, u32)>>,
    pub years: Option<Vec<(i32, i32)>>,
    pub location: Tz,
}

/// A named interval: in force when any of its specs is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeInterval {
    pub name: String,
    pub specs: Vec<Spec>,
}

impl TimeInterval {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.specs.iter().any(|s| s.contains(t))
    }
}

/// `HH:MM` from `00:00` to `23:59`, or `24:00`, as minutes.
pub fn parse_time(s: &str) -> Result<u32, IntervalError> {
    let invalid = || err(format!("couldn't parse timestamp {s}, invalid format"));
    if s == "24:00" {
        return Ok(1440);
    }
    let b = s.as_bytes();
    if b.len() != 5
        || b[2] != b':'
        || !b
            .iter()
            .enumerate()
            .all(|(i, c)| i == 2 || c.is_ascii_digit())
    {
        return Err(invalid());
    }
    let h = u32::from(b[0] - b'0') * 10 + u32::from(b[1] - b'0');
    let m = u32::from(b[3] - b'0') * 10 + u32::from(b[4] - b'0');
    if h > 23 || m > 59 {
        return Err(invalid());
    }
    Ok(h * 60 + m)
}

/// One `times` entry.
pub fn parse_times(start: Option<&str>, end: Option<&str>) -> Result<(u32, u32), IntervalError> {
    let (Some(start), Some(end)) = (start, end) else {
        return Err(err("both start and end times must be provided"));
    };
    let (s, e) = (parse_time(start)?, parse_time(end)?);
    if s >= e {
        return Err(err("start time cannot be equal or greater than end time"));
    }
    Ok((s, e))
}

/// `a:b` or `a`, lower-cased, not trimmed (as Alertmanager).
fn split(s: &str) -> Result<(String, String), IntervalError> {
    let lower = s.to_lowercase();
    let parts: Vec<&str> = lower.split(':').collect();
    match parts.as_slice() {
        [one] => Ok((one.to_string(), one.to_string())),
        [a, b] => Ok((a.to_string(), b.to_string())),
        _ => Err(err(format!("couldn't parse range {s}, invalid format"))),
    }
}

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

pub fn parse_weekdays(s: &str) -> Result<(u32, u32), IntervalError> {
    let (a, b) = split(s)?;
    let day = |d: &str| {
        WEEKDAYS
            .iter()
            .position(|w| *w == d)
            .map(|i| i as u32)
            .ok_or_else(|| err(format!("{d} is not a valid weekday")))
    };
    let (a, b) = (day(&a)?, day(&b)?);
    if a > b {
        return Err(err("start day cannot be before end day"));
    }
    Ok((a, b))
}

pub fn parse_days_of_month(s: &str) -> Result<(i32, i32), IntervalError> {
    let (a, b) = split(s)?;
    let num = |d: &str| {
        d.parse::<i32>()
            .map_err(|_| err(format!("{d} is not a valid day of the month")))
    };
    let (a, b) = (num(&a)?, num(&b)?);
    for d in [a, b] {
        if d == 0 || !(-31..=31).contains(&d) {
            return Err(err(format!(
                "{d} is not a valid day of the month: out of range"
            )));
        }
    }
    if a < 0 && b > 0 {
        return Err(err("end day must be negative if start day is negative"));
    }
    let mapped = |d: i32| if d < 0 { 28 + d } else { d };
    if mapped(a) > mapped(b) {
        return Err(err(format!("end day {b} is always before start day {a}")));
    }
    Ok((a, b))
}

pub fn parse_months(s: &str) -> Result<(u32, u32), IntervalError> {
    let (a, b) = split(s)?;
    let month = |m: &str| -> Result<u32, IntervalError> {
        if let Some(i) = MONTHS.iter().position(|n| *n == m) {
            return Ok(i as u32 + 1);
        }
        match m.parse::<u32>() {
            Ok(n @ 1..=12) => Ok(n),
            Ok(_) => Err(err(format!("{m} is not a valid month: out of range"))),
            Err(_) => Err(err(format!("{m} is not a valid month"))),
        }
    };
    let (x, y) = (month(&a)?, month(&b)?);
    if x > y {
        return Err(err(format!("end month {b} is before start month {a}")));
    }
    Ok((x, y))
}

pub fn parse_years(s: &str) -> Result<(i32, i32), IntervalError> {
    let (a, b) = split(s)?;
    let year = |y: &str| {
        y.parse::<i32>()
            .map_err(|_| err(format!("{y} is not a valid year")))
    };
    let (x, y) = (year(&a)?, year(&b)?);
    if x > y {
        return Err(err(format!("end year {y} is before start year {x}")));
    }
    Ok((x, y))
}

/// An IANA name; empty or `UTC` is UTC. (Alertmanager's `Local`, the
/// host's zone, is refused: it would differ between replicas.)
pub fn parse_location(s: &str) -> Result<Tz, IntervalError> {
    if s.is_empty() {
        return Ok(Tz::UTC);
    }
    s.parse::<Tz>()
        .map_err(|_| err(format!("unknown time zone {s}")))
}

/// Days in the month of this local date, by the calendar.
fn days_in_month(year: i32, month: u32) -> i32 {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)
        .and_then(|d| d.pred_opt())
        .map_or(31, |d| d.day() as i32)
}

impl Spec {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.location);
        if let Some(times) = &self.times {
            let minute = local.hour() * 60 + local.minute();
            if !times.iter().any(|(s, e)| minute >= *s && minute < *e) {
                return false;
            }
        }
        if let Some(days) = &self.weekdays {
            let wd = local.weekday().num_days_from_sunday();
            if !days.iter().any(|(a, b)| wd >= *a && wd <= *b) {
                return false;
            }
        }
        if let Some(ranges) = &self.days_of_month {
            let dim = days_in_month(local.year(), local.month());
            let day = local.day() as i32;
            let hit = ranges.iter().any(|(a, b)| {
                let begin = if *a < 0 { dim + a + 1 } else { *a };
                let end = if *b < 0 { dim + b + 1 } else { *b };
                if begin > dim {
                    return false;
                }
                let begin = begin.clamp(-dim, dim);
                let end = end.clamp(-dim, dim);
                day >= begin && day <= end
            });
            if !hit {
                return false;
            }
        }
        if let Some(months) = &self.months {
            let m = local.month();
            if !months.iter().any(|(a, b)| m >= *a && m <= *b) {
                return false;
            }
        }
        if let Some(years) = &self.years {
            let y = local.year();
            if !years.iter().any(|(a, b)| y >= *a && y <= *b) {
                return false;
            }
        }
        true
    }
}

/// A route's intervals: muted while any `mute` interval is in force, and,
/// when it has `active` intervals, while none of them is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Hold {
    pub mute: Vec<TimeInterval>,
    pub active: Vec<TimeInterval>,
    /// The last minute asked about and its answer: a storm on a muted route
    /// asks about the same minute thousands of times in one batch.
    pub memo: Memo,
}

/// [`Hold::next_open`]'s last answer, by minute: `None` when that minute
/// was open.
#[derive(Debug, Default)]
pub struct Memo(std::sync::Mutex<Option<(i64, Option<DateTime<Utc>>)>>);

impl Clone for Memo {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for Memo {
    /// A cache: never part of what a hold is.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Memo {}

/// How far ahead a hold looks for an open minute: an interval set that is
/// never open (an active interval in a past year) holds for this long.
pub const HORIZON_DAYS: i64 = 400;

impl Hold {
    pub fn is_empty(&self) -> bool {
        self.mute.is_empty() && self.active.is_empty()
    }

    /// Which interval mutes the route at `t` (a mute interval's name, or
    /// `outside active intervals`), or `None`.
    pub fn muted_by(&self, t: DateTime<Utc>) -> Option<&str> {
        if let Some(m) = self.mute.iter().find(|i| i.contains(t)) {
            return Some(&m.name);
        }
        if !self.active.is_empty() && !self.active.iter().any(|i| i.contains(t)) {
            return Some("outside its active time intervals");
        }
        None
    }

    /// The first instant at or after `t` when the route is not muted: `t`
    /// itself, or the start of a later minute (at most [`HORIZON_DAYS`]
    /// ahead).
    pub fn next_open(&self, t: DateTime<Utc>) -> DateTime<Utc> {
        // Whether a minute is muted and when the next open one starts are
        // the same for every instant in it.
        let minute = t.timestamp().div_euclid(60) * 60;
        let mut memo = self.memo.0.lock().unwrap_or_else(|e| e.into_inner());
        let open = match *memo {
            Some((m, open)) if m == minute => open,
            _ => {
                let open = self.search(t, minute);
                *memo = Some((minute, open));
                open
            }
        };
        open.unwrap_or(t)
    }

    /// The start of the first open minute after `minute` if `t`'s is
    /// muted, else `None`.
    fn search(&self, t: DateTime<Utc>, minute: i64) -> Option<DateTime<Utc>> {
        self.muted_by(t)?;
        let start = DateTime::from_timestamp(minute, 0).unwrap_or(t);
        let mut at = start + Duration::minutes(1);
        let end = t + Duration::days(HORIZON_DAYS);
        while at < end {
            if self.muted_by(at).is_none() {
                return Some(at);
            }
            at += Duration::minutes(1);
        }
        Some(end)
    }
}

#[cfg(test)]
mod tests {
    //! Alertmanager's `timeinterval_test.go` cases (TestContainsTime,
    //! TestParseTimeString, TestYamlUnmarshal, TestTimeIntervalComplete,
    //! TestIntervener_Mutes), instants in its RFC 822 form.

    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_str(s, "%d %b %y %H:%M %z")
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .with_timezone(&Utc)
    }

    fn spec() -> Spec {
        Spec {
            times: None,
            weekdays: None,
            days_of_month: None,
            months: None,
            years: None,
            location: Tz::UTC,
        }
    }

    fn check(s: &Spec, inside: &[&str], outside: &[&str]) {
        for t in inside {
            assert!(s.contains(at(t)), "{t} should be inside {s:?}");
        }
        for t in outside {
            assert!(!s.contains(at(t)), "{t} should be outside {s:?}");
        }
    }

    #[test]
    fn contains_time_as_alertmanager() {
        // T1: an empty spec is always in force.
        check(
            &spec(),
            &[
                "02 Jan 06 15:04 +0000",
                "03 Jan 07 10:04 +0000",
                "04 Jan 06 09:04 +0000",
            ],
            &[],
        );
        // T2: 09:00-17:00, Monday to Friday.
        let office = Spec {
            times: Some(vec![(540, 1020)]),
            weekdays: Some(vec![(1, 5)]),
            ..spec()
        };
        check(
            &office,
            &[
                "04 May 20 15:04 +0000",
                "05 May 20 10:04 +0000",
                "09 Jun 20 09:04 +0000",
            ],
            &[
                "03 May 20 15:04 +0000",
                "04 May 20 08:59 +0000",
                "05 May 20 05:00 +0000",
            ],
        );
        // T3: Easter 2020.
        check(
            &Spec {
                days_of_month: Some(vec![(4, 6)]),
                months: Some(vec![(4, 4)]),
                years: Some(vec![(2020, 2020)]),
                ..spec()
            },
            &[
                "04 Apr 20 15:04 +0000",
                "05 Apr 20 00:00 +0000",
                "06 Apr 20 23:05 +0000",
            ],
            &[
                "03 May 18 15:04 +0000",
                "03 Apr 20 23:59 +0000",
                "04 Jun 20 23:59 +0000",
                "06 Apr 19 23:59 +0000",
                "07 Apr 20 00:00 +0000",
            ],
        );
        // T4: the last three days of the month.
        check(
            &Spec {
                days_of_month: Some(vec![(-3, -1)]),
                ..spec()
            },
            &[
                "31 Jan 20 15:04 +0000",
                "30 Jan 20 15:04 +0000",
                "29 Jan 20 15:04 +0000",
                "30 Jun 20 00:00 +0000",
                "29 Feb 20 23:05 +0000",
            ],
            &[
                "03 May 18 15:04 +0000",
                "27 Jan 20 15:04 +0000",
                "03 Apr 20 23:59 +0000",
                "04 Jun 20 23:59 +0000",
                "06 Apr 19 23:59 +0000",
                "07 Apr 20 00:00 +0000",
                "01 Mar 20 00:00 +0000",
            ],
        );
        // T5: clamped to the month.
        check(
            &Spec {
                months: Some(vec![(6, 6)]),
                days_of_month: Some(vec![(-31, 31)]),
                ..spec()
            },
            &["30 Jun 20 00:00 +0000", "01 Jun 20 00:00 +0000"],
            &["31 May 20 00:00 +0000", "01 Jul 20 00:00 +0000"],
        );
        // T6, T7: in Sydney, with and across its daylight saving time.
        let sydney = Spec {
            location: chrono_tz::Australia::Sydney,
            ..office.clone()
        };
        check(
            &sydney,
            &["06 Apr 21 13:00 +1000"],
            &["06 Apr 21 13:00 +0000"],
        );
        check(
            &Spec {
                months: Some(vec![(11, 11)]),
                ..sydney
            },
            &["01 Nov 21 09:00 +1100", "31 Oct 21 22:00 +0000"],
            &["31 Oct 21 21:00 +0000"],
        );
        // T8: the last day of a month with a spring-forward change (by the
        // calendar, not by elapsed hours).
        check(
            &Spec {
                days_of_month: Some(vec![(-1, -1)]),
                location: chrono_tz::America::New_York,
                ..spec()
            },
            &["31 Mar 21 12:00 -0400"],
            &["30 Mar 21 12:00 -0400"],
        );
    }

    #[test]
    fn times_parse_as_alertmanager() {
        let t = |s: &str, e: &str| parse_times(Some(s), Some(e)).map_err(|e| e.0);
        assert_eq!(t("00:00", "24:00"), Ok((0, 1440)));
        assert_eq!(t("01:35", "17:39"), Ok((95, 1059)));
        assert_eq!(t("09:35", "09:39"), Ok((575, 579)));
        let equal = "start time cannot be equal or greater than end time";
        assert_eq!(t("17:31", "17:31").unwrap_err(), equal);
        assert_eq!(
            t("12:30", "24:01").unwrap_err(),
            "couldn't parse timestamp 24:01, invalid format"
        );
        assert_eq!(t("09:30", "07:41").unwrap_err(), equal);
        assert_eq!(t("24:00", "17:41").unwrap_err(), equal);
        assert_eq!(
            parse_times(Some("14:03"), None).unwrap_err().0,
            "both start and end times must be provided"
        );
        for bad in ["01:99", "99:99", "9:00", "12:60", "09:00:00"] {
            assert_eq!(
                parse_time(bad).unwrap_err().0,
                format!("couldn't parse timestamp {bad}, invalid format")
            );
        }
        // A range across midnight is two ranges.
        assert!(t("22:00", "06:00").is_err());
    }

    #[test]
    fn ranges_parse_and_refuse_as_alertmanager() {
        let e = |r: Result<(u32, u32), IntervalError>| r.unwrap_err().0;
        assert_eq!(parse_weekdays("monday:friday"), Ok((1, 5)));
        assert_eq!(parse_weekdays("Sunday"), Ok((0, 0)));
        assert_eq!(
            e(parse_weekdays("friday:monday")),
            "start day cannot be before end day"
        );
        assert_eq!(
            e(parse_weekdays("saturday:sunday")),
            "start day cannot be before end day"
        );
        assert_eq!(
            e(parse_weekdays("blurgsday:flurgsday")),
            "blurgsday is not a valid weekday"
        );
        assert_eq!(e(parse_weekdays("1:3")), "1 is not a valid weekday");
        assert_eq!(e(parse_weekdays("-2:-1")), "-2 is not a valid weekday");
        assert_eq!(
            e(parse_weekdays("monday: friday")),
            " friday is not a valid weekday"
        );
        let d = |s: &str| parse_days_of_month(s).map_err(|e| e.0);
        assert_eq!(
            d("0").unwrap_err(),
            "0 is not a valid day of the month: out of range"
        );
        assert_eq!(
            d("-50:-20").unwrap_err(),
            "-50 is not a valid day of the month: out of range"
        );
        assert_eq!(
            d("1:50").unwrap_err(),
            "50 is not a valid day of the month: out of range"
        );
        assert_eq!(d("1:-1"), Ok((1, -1)));
        assert_eq!(
            d("-15:5").unwrap_err(),
            "end day must be negative if start day is negative"
        );
        assert_eq!(
            d("10:-25").unwrap_err(),
            "end day -25 is always before start day 10"
        );
        assert_eq!(parse_months("January:december"), Ok((1, 12)));
        assert_eq!(
            e(parse_months("martius:june")),
            "martius is not a valid month"
        );
        assert_eq!(
            e(parse_months("march:junius")),
            "junius is not a valid month"
        );
        assert_eq!(
            e(parse_months("december:january")),
            "end month january is before start month december"
        );
        assert_eq!(
            e(parse_months("13")),
            "13 is not a valid month: out of range"
        );
        assert_eq!(parse_years("2020:2022").map_err(|e| e.0), Ok((2020, 2022)));
        assert_eq!(
            parse_years("2022:2020").unwrap_err().0,
            "end year 2020 is before start year 2022"
        );
        assert_eq!(parse_location(""), Ok(Tz::UTC));
        assert_eq!(
            parse_location("Australia/Sydney"),
            Ok(chrono_tz::Australia::Sydney)
        );
        assert!(parse_location("Mars/Olympus").is_err());
        assert!(parse_location("Local").is_err(), "differs between replicas");
    }

    #[test]
    fn a_full_spec_ands_its_fields_and_ors_their_ranges() {
        // Y2.
        let s = Spec {
            weekdays: Some(vec![(1, 5), (0, 0)]),
            months: Some(vec![(1, 3)]),
            days_of_month: Some(vec![(-7, -1)]),
            years: Some(vec![(2020, 2025), (2030, 2035)]),
            times: Some(vec![(540, 1020)]),
            ..spec()
        };
        check(
            &s,
            &[
                "27 Jan 21 09:00 +0000",
                "28 Jan 21 16:59 +0000",
                "29 Jan 21 13:00 +0000",
                "31 Mar 25 13:00 +0000",
                "31 Jan 35 13:00 +0000",
            ],
            &[
                "30 Jan 21 13:00 +0000",
                "01 Apr 21 13:00 +0000",
                "30 Jan 26 13:00 +0000",
                "31 Jan 35 17:01 +0000",
            ],
        );
        // C1.
        check(
            &Spec {
                weekdays: Some(vec![(1, 3), (6, 6), (0, 0)]),
                times: Some(vec![(780, 900)]),
                days_of_month: Some(vec![(1, 1), (10, 10), (20, -1)]),
                years: Some(vec![(2020, 2023)]),
                months: Some(vec![(1, 3)]),
                ..spec()
            },
            &["10 Jan 21 13:00 +0000", "30 Jan 21 14:24 +0000"],
            &[
                "09 Jan 21 13:00 +0000",
                "20 Jan 21 12:59 +0000",
                "02 Feb 21 13:00 +0000",
            ],
        );
        // C2: the 30th and 31st of February never come.
        check(
            &Spec {
                days_of_month: Some(vec![(30, 31)]),
                years: Some(vec![(2020, 2023)]),
                months: Some(vec![(2, 2)]),
                ..spec()
            },
            &[],
            &["28 Feb 21 13:00 +0000"],
        );
    }

    fn sydney(name: &str, spec: Spec) -> TimeInterval {
        TimeInterval {
            name: name.into(),
            specs: vec![Spec {
                location: chrono_tz::Australia::Sydney,
                ..spec
            }],
        }
    }

    #[test]
    fn a_route_is_muted_by_its_intervals_and_opens_at_their_end() {
        // TestIntervener_Mutes: evenings and weekends in Sydney.
        let evenings = sydney(
            "evenings",
            Spec {
                times: Some(vec![(0, 540), (1020, 1440)]),
                ..spec()
            },
        );
        let weekends = sydney(
            "weekends",
            Spec {
                weekdays: Some(vec![(6, 6), (0, 0)]),
                ..spec()
            },
        );
        let hold = Hold {
            mute: vec![evenings.clone(), weekends.clone()],
            active: vec![],
            memo: Default::default(),
        };
        let syd = |s: &str| at(&format!("{s} +1100"));
        assert_eq!(hold.muted_by(syd("01 Jan 24 00:00")), Some("evenings"));
        assert_eq!(hold.muted_by(syd("01 Jan 24 09:00")), None);
        assert_eq!(hold.muted_by(syd("06 Jan 24 10:00")), Some("weekends"));
        assert!(
            weekends.contains(syd("06 Jan 24 17:00")) && evenings.contains(syd("06 Jan 24 17:00"))
        );
        assert_eq!(hold.muted_by(at("01 Jan 24 10:00 +0000")), Some("evenings"));
        // Saturday 17:00 Sydney: muted until Monday 09:00.
        assert_eq!(
            hold.next_open(syd("06 Jan 24 17:00")),
            syd("08 Jan 24 09:00")
        );
        // Not muted: now.
        let t = syd("08 Jan 24 10:00") + Duration::seconds(7);
        assert_eq!(hold.next_open(t), t);
        // Active intervals: only during office hours.
        let office = Hold {
            mute: vec![],
            active: vec![sydney(
                "office",
                Spec {
                    times: Some(vec![(540, 1020)]),
                    weekdays: Some(vec![(1, 5)]),
                    ..spec()
                },
            )],
            memo: Default::default(),
        };
        assert_eq!(
            office.muted_by(syd("05 Jan 24 18:00")),
            Some("outside its active time intervals")
        );
        assert_eq!(
            office.next_open(syd("05 Jan 24 18:00")),
            syd("08 Jan 24 09:00")
        );
        // Never open: held to the horizon.
        let never = Hold {
            mute: vec![],
            active: vec![TimeInterval {
                name: "2020".into(),
                specs: vec![Spec {
                    years: Some(vec![(2020, 2020)]),
                    ..spec()
                }],
            }],
            memo: Default::default(),
        };
        let now = at("01 Jan 24 00:00 +0000");
        assert_eq!(never.next_open(now), now + Duration::days(HORIZON_DAYS));
        // Remembered for the minute: a storm's thousands of notices cost one
        // search; the next minute searches again.
        let saturday = syd("06 Jan 24 17:00");
        assert_eq!(
            hold.next_open(saturday + Duration::seconds(30)),
            syd("08 Jan 24 09:00")
        );
        assert_eq!(hold.next_open(saturday), syd("08 Jan 24 09:00"));
        let monday = syd("08 Jan 24 10:00") + Duration::seconds(5);
        assert_eq!(
            hold.next_open(monday),
            monday,
            "an open minute answers itself"
        );
    }
}
