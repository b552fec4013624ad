//! On-call schedules: who gets paged, now and next.
//!
//! An alert that nobody acknowledges should reach a person, not a channel:
//! the one on call for the schedule (`[[schedules]]`), and if they do not
//! answer, the backup. This module answers "who is that at instant T" for a
//! rotation (members taking turns, shifts of whole days or hours) with
//! overrides ("I take tonight") on top, like PrometheusAlert's duty roster or
//! Grafana OnCall rotations. Pure: the instant is always a parameter.
//!
//! Hand-overs happen in local time, because that is how people plan them:
//! a daily rotation at 10:00 Asia/Shanghai changes hands at 02:00 UTC every
//! day, and before 10:00 local the previous day's person is still on call
//! (PrometheusAlert's OnCallTime rule). Where the zone has daylight saving
//! time the hand-over stays at the wall-clock time, so a one-day shift lasts
//! 23 or 25 hours. A hand-over time that does not exist that day (spring
//! forward) happens at the first instant after the gap; one that exists
//! twice (fall back) happens at the earlier one. Shifts whose length is not a
//! whole number of days ("12h", "36h") are fixed UTC durations counted from
//! the start date's hand-over instead. The schedule is defined for all
//! times, before its start date too (counting backwards).
//!
//! Overrides come from people, through the API: while one is in force, its
//! person is on call instead of the rotation's; where overrides overlap, the
//! most recently created one wins. [`on_call`] and [`next`] report changes of
//! *person*: back-to-back turns of the same person (an override that extends
//! one's own shift, a name listed twice in a row) form one shift.
//!
//! Arithmetic is checked: absurd inputs (lengths of thousands of days,
//! instants near the ends of chrono's range) give `None`, never a panic.

use chrono::{
    DateTime, Days, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeDelta,
    TimeZone, Utc,
};
use chrono_tz::{GapInfo, Tz};
use serde::{Deserialize, Serialize};

/// The longest rotation [`parse_length`] accepts: ten years.
pub const MAX_ROTATION_DAYS: u32 = 3650;

/// The start date when the configuration names none: Monday 2026-01-05.
pub const DEFAULT_START: NaiveDate = match NaiveDate::from_ymd_opt(2026, 1, 5) {
    Some(date) => date,
    None => panic!("2026-01-05 is a date"),
};

/// How long one member's shift lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationLength {
    /// Whole local days: hand-overs at the same wall-clock time, so a day
    /// can last 23 or 25 hours across a DST change.
    Days(u32),
    /// Fixed UTC hours. A multiple of 24 behaves exactly like
    /// [`RotationLength::Days`] (what [`parse_length`] returns for it).
    Hours(u32),
}

/// A rotation length as the arithmetic uses it: never zero, and hours only
/// when they are not whole days.
#[derive(Debug, Clone, Copy)]
enum Step {
    Days(u32),
    Hours(u32),
}

impl RotationLength {
    fn step(self) -> Option<Step> {
        match self {
            Self::Days(0) | Self::Hours(0) => None,
            Self::Days(days) => Some(Step::Days(days)),
            Self::Hours(hours) if hours % 24 == 0 => Some(Step::Days(hours / 24)),
            Self::Hours(hours) => Some(Step::Hours(hours)),
        }
    }
}

/// A schedule's rotation: members take turns, in order, one shift each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// In turn order; member 0 has the shift starting on [`Rotation::start`].
    /// A name may appear more than once.
    pub members: Vec<String>,
    /// Length of one shift; zero makes the rotation empty.
    pub length: RotationLength,
    /// Local wall-clock time of the hand-over, in `tz`.
    pub handover: NaiveTime,
    /// The zone `handover` and `start` are read in.
    pub tz: Tz,
    /// Local date of the first shift's hand-over ([`DEFAULT_START`] when not
    /// configured).
    pub start: NaiveDate,
}

/// Someone on call instead of the rotation from `start` (inclusive) to `end`
/// (exclusive). One with `end <= start` changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    /// Who takes over (need not be a member).
    pub person: String,
    /// First instant covered.
    pub start: DateTime<Utc>,
    /// First instant no longer covered.
    pub end: DateTime<Utc>,
    /// When it was made: where overrides overlap, the latest created wins
    /// (and of two created at the same instant, the later in the slice).
    pub created: DateTime<Utc>,
}

/// One person's time on call, from `start` (inclusive) to `end` (exclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shift {
    /// Who is on call.
    pub person: String,
    /// When they take over.
    pub start: DateTime<Utc>,
    /// When someone else does (for [`on_call`] and [`next`]; the next
    /// member's turn for [`Rotation::shift_at`]).
    pub end: DateTime<Utc>,
    /// An override, not the rotation, puts the person on call: at the
    /// instant asked about ([`on_call`]) or at `start` ([`next`]).
    pub overridden: bool,
}

/// How many times locating a shift may correct its first estimate. One
/// step is enough in real zones; the rest is a margin for odd history.
const MAX_ADJUST: usize = 8;

impl Rotation {
    /// The rotation's own shift (no overrides) covering `at`, one member's
    /// turn, not merged with the same person's next turn.
    ///
    /// `None` only if `members` is empty, the length is zero, or the shift's
    /// bounds fall outside chrono's range.
    pub fn shift_at(&self, at: DateTime<Utc>) -> Option<Shift> {
        let (k, start, end) = self.locate(at)?;
        Some(Shift {
            person: self.member(k)?.to_owned(),
            start,
            end,
            overridden: false,
        })
    }

    /// The index of the shift covering `at` (negative before the start),
    /// with its bounds.
    fn locate(&self, at: DateTime<Utc>) -> Option<(i64, DateTime<Utc>, DateTime<Utc>)> {
        if self.members.is_empty() {
            return None;
        }
        let mut k = self.estimate(at)?;
        for _ in 0..MAX_ADJUST {
            let start = self.handover_at(k)?;
            if start > at {
                k = k.checked_sub(1)?;
                continue;
            }
            let following = k.checked_add(1)?;
            let end = self.handover_at(following)?;
            if end <= at {
                k = following;
                continue;
            }
            return Some((k, start, end));
        }
        None
    }

    /// A first guess at the index of the shift covering `at`: exact but for
    /// the hand-over time of day (and DST), which [`Rotation::locate`] fixes.
    fn estimate(&self, at: DateTime<Utc>) -> Option<i64> {
        match self.length.step()? {
            Step::Days(days) => {
                let elapsed = local_date(self.tz, at)?.signed_duration_since(self.start);
                Some(elapsed.num_days().div_euclid(i64::from(days)))
            }
            Step::Hours(hours) => {
                let elapsed = at.signed_duration_since(self.origin()?);
                Some(elapsed.num_seconds().div_euclid(i64::from(hours) * 3600))
            }
        }
    }

    /// The instant shift `k` starts.
    fn handover_at(&self, k: i64) -> Option<DateTime<Utc>> {
        match self.length.step()? {
            Step::Days(days) => {
                let date = add_days(self.start, k.checked_mul(i64::from(days))?)?;
                resolve_local(self.tz, date.and_time(self.handover))
            }
            Step::Hours(hours) => {
                let seconds = k.checked_mul(i64::from(hours))?.checked_mul(3600)?;
                self.origin()?
                    .checked_add_signed(TimeDelta::try_seconds(seconds)?)
            }
        }
    }

    /// The first shift's start: the start date's hand-over.
    fn origin(&self) -> Option<DateTime<Utc>> {
        resolve_local(self.tz, self.start.and_time(self.handover))
    }

    /// Who has shift `k`.
    fn member(&self, k: i64) -> Option<&str> {
        let n = i64::try_from(self.members.len()).ok()?;
        if n == 0 {
            return None;
        }
        let i = usize::try_from(k.rem_euclid(n)).ok()?;
        self.members.get(i).map(String::as_str)
    }

    fn len_i64(&self) -> Option<i64> {
        i64::try_from(self.members.len()).ok()
    }

    /// The first shift after `k` that is someone else's; `None` if every
    /// member is the same person.
    fn next_change(&self, k: i64) -> Option<i64> {
        let who = self.member(k)?;
        (1..=self.len_i64()?)
            .filter_map(|i| k.checked_add(i))
            .find(|&j| self.member(j) != Some(who))
    }

    /// The first of the run of shifts ending with `k` that are all `k`'s
    /// person's; `None` if every member is the same person.
    fn run_start(&self, k: i64) -> Option<i64> {
        let who = self.member(k)?;
        (0..self.len_i64()?)
            .filter_map(|i| k.checked_sub(i))
            .find(|&j| j.checked_sub(1).and_then(|p| self.member(p)) != Some(who))
    }
}

/// Who is on call at `at`, overrides applied, and for how long: from when
/// this person took over until the next change of person.
///
/// Without overrides and with consecutive members distinct, this is
/// [`Rotation::shift_at`]. When the person never changes (one member, no
/// overrides ahead or behind), the bounds are those of the rotation shift or
/// override covering `at`. `None` if nobody is: no members or a zero length,
/// and no override in force.
pub fn on_call(rot: &Rotation, overrides: &[Override], at: DateTime<Utc>) -> Option<Shift> {
    let here = stretch(rot, overrides, at)?;
    let start = change_before(rot, overrides, &here).unwrap_or(here.piece.0);
    let end = change_after(rot, overrides, &here).map_or(here.piece.1, |(change, _)| change);
    Some(Shift {
        person: here.person.to_owned(),
        start,
        end,
        overridden: here.overridden,
    })
}

/// The shift after the one covering `at`, overrides applied: the next person
/// to take over, when, and until when. Always someone other than
/// [`on_call`]'s person, starting at its `end`.
///
/// An override in force hands back at its end (to whoever is on call then);
/// one that begins before the current shift ends is the next shift.
/// `None` if the person never changes (one member and no override ahead),
/// or nobody is on call now.
pub fn next(rot: &Rotation, overrides: &[Override], at: DateTime<Utc>) -> Option<Shift> {
    let here = stretch(rot, overrides, at)?;
    let (start, then) = change_after(rot, overrides, &here)?;
    let end = change_after(rot, overrides, &then).map_or(then.piece.1, |(change, _)| change);
    Some(Shift {
        person: then.person.to_owned(),
        start,
        end,
        overridden: then.overridden,
    })
}

/// The backup at `at`: the member after the rotation's member at `at`, in
/// order, skipping whoever is on call (so when an override puts someone else
/// on call, the rotation's own member can be the backup).
///
/// `None` with fewer than two distinct people among the members and the
/// person on call, or when the rotation has no shift at `at`.
pub fn backup(rot: &Rotation, overrides: &[Override], at: DateTime<Utc>) -> Option<String> {
    let (k, _, _) = rot.locate(at)?;
    let on_call = stretch(rot, overrides, at)?.person;
    (1..=rot.len_i64()?)
        .filter_map(|i| k.checked_add(i))
        .filter_map(|j| rot.member(j))
        .find(|&member| member != on_call)
        .map(str::to_owned)
}

/// Reads a hand-over time, "HH:MM" from "00:00" to "23:59" (a one-digit
/// hour, "9:30", is accepted too).
pub fn parse_handover(s: &str) -> Option<NaiveTime> {
    let (hours, minutes) = s.split_once(':')?;
    if !(1..=2).contains(&hours.len()) || minutes.len() != 2 {
        return None;
    }
    NaiveTime::from_hms_opt(number(hours)?, number(minutes)?, 0)
}

/// Reads a rotation length: a positive whole number of days ("7d") or
/// hours ("12h"), at most [`MAX_ROTATION_DAYS`] days. Hours that make whole
/// days ("168h") come back as [`RotationLength::Days`].
pub fn parse_length(s: &str) -> Option<RotationLength> {
    let length = if let Some(days) = s.strip_suffix('d') {
        RotationLength::Days(number(days)?)
    } else if let Some(hours) = s.strip_suffix('h') {
        match number(hours)? {
            hours if hours % 24 == 0 => RotationLength::Days(hours / 24),
            hours => RotationLength::Hours(hours),
        }
    } else {
        return None;
    };
    let hours = match length {
        RotationLength::Days(days) => u64::from(days) * 24,
        RotationLength::Hours(hours) => u64::from(hours),
    };
    (1..=u64::from(MAX_ROTATION_DAYS) * 24)
        .contains(&hours)
        .then_some(length)
}

/// ASCII digits only (no sign, no spaces), as a `u32`.
fn number(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The local date at `at` in `tz` (`None` past the ends of chrono's range).
fn local_date(tz: Tz, at: DateTime<Utc>) -> Option<NaiveDate> {
    let utc = at.naive_utc();
    let offset = tz.offset_from_utc_datetime(&utc).fix();
    Some(utc.checked_add_offset(offset)?.date())
}

fn add_days(date: NaiveDate, days: i64) -> Option<NaiveDate> {
    let magnitude = Days::new(days.unsigned_abs());
    if days >= 0 {
        date.checked_add_days(magnitude)
    } else {
        date.checked_sub_days(magnitude)
    }
}

/// The instant a local wall-clock time happens in `tz`: the earlier of two
/// (fall back), or the first instant after the gap (spring forward).
fn resolve_local(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let utc = match tz.offset_from_local_datetime(&local) {
        MappedLocalTime::Single(offset) => local.checked_sub_offset(offset.fix())?,
        MappedLocalTime::Ambiguous(a, b) => {
            let a = local.checked_sub_offset(a.fix())?;
            let b = local.checked_sub_offset(b.fix())?;
            a.min(b)
        }
        MappedLocalTime::None => return gap_end(tz, local),
    };
    Some(utc.and_utc())
}

/// The first instant after the gap `local` falls in. Should the zone data
/// not say, the local time read with the offset before the gap (an instant
/// after the gap too).
fn gap_end(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let gap = GapInfo::new(&local, &tz)?;
    if let Some(end) = gap.end {
        return Some(end.with_timezone(&Utc));
    }
    let (_, before) = gap.begin?;
    Some(local.checked_sub_offset(before.fix())?.and_utc())
}

/// Overrides that change something, with their positions (tie-breaks).
fn live(overrides: &[Override]) -> impl Iterator<Item = (usize, &Override)> {
    overrides
        .iter()
        .enumerate()
        .filter(|(_, o)| o.start < o.end)
}

/// The override in force at `t`: the newest of those covering it.
fn winner(overrides: &[Override], t: DateTime<Utc>) -> Option<(usize, &Override)> {
    live(overrides)
        .filter(|(_, o)| o.start <= t && t < o.end)
        .max_by_key(|&(i, o)| (o.created, i))
}

/// The longest interval around an instant during which the same thing
/// decides who is on call (one override, or the rotation while it stays
/// with one person), so the person does not change inside it.
#[derive(Debug)]
struct Stretch<'a> {
    person: &'a str,
    overridden: bool,
    /// Where the stretch begins; `None` if it never does (the rotation is
    /// one person and no override ended before).
    start: Option<DateTime<Utc>>,
    /// Where it ends; `None` if never.
    end: Option<DateTime<Utc>>,
    /// Finite bounds for a person who never changes: the rotation shift
    /// (cut at overrides) or the override.
    piece: (DateTime<Utc>, DateTime<Utc>),
}

/// The stretch covering `t`.
fn stretch<'a>(
    rot: &'a Rotation,
    overrides: &'a [Override],
    t: DateTime<Utc>,
) -> Option<Stretch<'a>> {
    match winner(overrides, t) {
        Some(won) => Some(override_stretch(overrides, won, t)),
        None => rotation_stretch(rot, overrides, t),
    }
}

/// Override `w`, in force at `t`, stays in force until it ends or a newer
/// override begins, and has been since it began or a newer one ended.
fn override_stretch<'a>(
    overrides: &'a [Override],
    (wi, w): (usize, &'a Override),
    t: DateTime<Utc>,
) -> Stretch<'a> {
    let newer = || live(overrides).filter(move |&(i, o)| (o.created, i) > (w.created, wi));
    let start = newer()
        .map(|(_, o)| o.end)
        .filter(|&end| w.start < end && end <= t)
        .fold(w.start, std::cmp::max);
    let end = newer()
        .map(|(_, o)| o.start)
        .filter(|&start| t < start && start < w.end)
        .fold(w.end, std::cmp::min);
    Stretch {
        person: &w.person,
        overridden: true,
        start: Some(start),
        end: Some(end),
        piece: (start, end),
    }
}

/// With no override in force at `t`, the rotation decides from the last
/// override's end or the start of its person's run of shifts, whichever is
/// later, until the next override or the end of the run.
fn rotation_stretch<'a>(
    rot: &'a Rotation,
    overrides: &[Override],
    t: DateTime<Utc>,
) -> Option<Stretch<'a>> {
    let (k, shift_start, shift_end) = rot.locate(t)?;
    let last_end = live(overrides)
        .map(|(_, o)| o.end)
        .filter(|&e| e <= t)
        .max();
    let next_start = live(overrides)
        .map(|(_, o)| o.start)
        .filter(|&s| t < s)
        .min();
    let run_start = rot.run_start(k).and_then(|j| rot.handover_at(j));
    let run_end = rot.next_change(k).and_then(|j| rot.handover_at(j));
    Some(Stretch {
        person: rot.member(k)?,
        overridden: false,
        start: run_start.into_iter().chain(last_end).max(),
        end: run_end.into_iter().chain(next_start).min(),
        piece: (
            last_end.map_or(shift_start, |e| e.max(shift_start)),
            next_start.map_or(shift_end, |s| s.min(shift_end)),
        ),
    })
}

/// How many stretches a walk looks at before giving up. Each step crosses an
/// override's start or end or a change of the rotation's person, so this is
/// never reached in practice; it keeps a walk finite whatever the input.
fn step_limit(rot: &Rotation, overrides: &[Override]) -> usize {
    overrides
        .len()
        .saturating_add(rot.members.len())
        .saturating_mul(2)
        .saturating_add(MAX_ADJUST)
}

/// The first instant after `from` with another person on call, and the
/// stretch starting there.
fn change_after<'a>(
    rot: &'a Rotation,
    overrides: &'a [Override],
    from: &Stretch<'a>,
) -> Option<(DateTime<Utc>, Stretch<'a>)> {
    let mut end = from.end?;
    for _ in 0..step_limit(rot, overrides) {
        let here = stretch(rot, overrides, end)?;
        if here.person != from.person {
            return Some((end, here));
        }
        end = here.end?;
    }
    None
}

/// The instant `from`'s person took over: the latest stretch start with
/// someone else on call just before it.
fn change_before(
    rot: &Rotation,
    overrides: &[Override],
    from: &Stretch<'_>,
) -> Option<DateTime<Utc>> {
    let mut start = from.start?;
    for _ in 0..step_limit(rot, overrides) {
        let just_before = start.checked_sub_signed(TimeDelta::nanoseconds(1))?;
        let here = stretch(rot, overrides, just_before)?;
        if here.person != from.person {
            return Some(start);
        }
        start = here.start?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;
    use chrono_tz::{America, Asia, Europe, Pacific};
    use proptest::prelude::*;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().expect("test instant")
    }

    fn date(s: &str) -> NaiveDate {
        s.parse().expect("test date")
    }

    fn rotation(members: &[&str], length: &str, handover: &str, tz: Tz, start: &str) -> Rotation {
        Rotation {
            members: members.iter().map(|m| m.to_string()).collect(),
            length: parse_length(length).expect("test length"),
            handover: parse_handover(handover).expect("test handover"),
            tz,
            start: date(start),
        }
    }

    fn shift(person: &str, start: &str, end: &str, overridden: bool) -> Shift {
        Shift {
            person: person.to_owned(),
            start: utc(start),
            end: utc(end),
            overridden,
        }
    }

    fn over(person: &str, start: &str, end: &str, created: &str) -> Override {
        Override {
            person: person.to_owned(),
            start: utc(start),
            end: utc(end),
            created: utc(created),
        }
    }

    fn who(rot: &Rotation, overrides: &[Override], at: &str) -> String {
        on_call(rot, overrides, utc(at))
            .expect("someone on call")
            .person
    }

    fn shanghai_daily() -> Rotation {
        rotation(
            &["Li Lei", "Han Meimei"],
            "1d",
            "10:00",
            Asia::Shanghai,
            "2026-01-05",
        )
    }

    #[test]
    fn hand_over_at_local_time_in_shanghai() {
        let rot = shanghai_daily();
        // 10:00 in Shanghai is 02:00 UTC.
        assert_eq!(
            rot.shift_at(utc("2026-01-05T02:00:00Z")),
            Some(shift(
                "Li Lei",
                "2026-01-05T02:00:00Z",
                "2026-01-06T02:00:00Z",
                false
            ))
        );
        // 09:59 local on the 6th: still the 5th's person.
        assert_eq!(who(&rot, &[], "2026-01-06T01:59:59Z"), "Li Lei");
        assert_eq!(
            on_call(&rot, &[], utc("2026-01-06T02:00:00Z")),
            Some(shift(
                "Han Meimei",
                "2026-01-06T02:00:00Z",
                "2026-01-07T02:00:00Z",
                false
            ))
        );
        assert_eq!(who(&rot, &[], "2026-01-07T02:00:00Z"), "Li Lei");
        assert_eq!(
            next(&rot, &[], utc("2026-01-05T20:00:00Z")),
            Some(shift(
                "Han Meimei",
                "2026-01-06T02:00:00Z",
                "2026-01-07T02:00:00Z",
                false
            ))
        );
    }

    #[test]
    fn weekly_rotation_of_three_over_several_weeks() {
        let rot = rotation(
            &["A", "B", "C"],
            "7d",
            "09:00",
            Europe::Berlin,
            "2026-01-05",
        );
        // Winter: 09:00 in Berlin is 08:00 UTC, every Monday.
        let weeks = [
            (
                "2026-01-07T12:00:00Z",
                "A",
                "2026-01-05T08:00:00Z",
                "2026-01-12T08:00:00Z",
            ),
            (
                "2026-01-12T07:59:00Z",
                "A",
                "2026-01-05T08:00:00Z",
                "2026-01-12T08:00:00Z",
            ),
            (
                "2026-01-12T08:00:00Z",
                "B",
                "2026-01-12T08:00:00Z",
                "2026-01-19T08:00:00Z",
            ),
            (
                "2026-01-25T23:00:00Z",
                "C",
                "2026-01-19T08:00:00Z",
                "2026-01-26T08:00:00Z",
            ),
            (
                "2026-01-28T12:00:00Z",
                "A",
                "2026-01-26T08:00:00Z",
                "2026-02-02T08:00:00Z",
            ),
            (
                "2026-02-03T00:00:00Z",
                "B",
                "2026-02-02T08:00:00Z",
                "2026-02-09T08:00:00Z",
            ),
            // 11 weeks in: C, and the week that summer time starts (Sunday
            // 29 March) is an hour short: 09:00 CEST is 07:00 UTC.
            (
                "2026-03-29T12:00:00Z",
                "C",
                "2026-03-23T08:00:00Z",
                "2026-03-30T07:00:00Z",
            ),
            (
                "2026-03-30T07:00:00Z",
                "A",
                "2026-03-30T07:00:00Z",
                "2026-04-06T07:00:00Z",
            ),
        ];
        for (at, person, start, end) in weeks {
            assert_eq!(
                on_call(&rot, &[], utc(at)),
                Some(shift(person, start, end, false)),
                "{at}"
            );
        }
        assert_eq!(
            next(&rot, &[], utc("2026-03-29T12:00:00Z")),
            Some(shift(
                "A",
                "2026-03-30T07:00:00Z",
                "2026-04-06T07:00:00Z",
                false
            ))
        );
    }

    #[test]
    fn daily_rotation_keeps_local_time_across_dst_in_new_york() {
        // DST 2026 in New York: 8 March (02:00 -> 03:00), 1 November
        // (02:00 -> 01:00).
        let rot = rotation(&["A", "B"], "1d", "10:00", America::New_York, "2026-03-07");
        // 10:00 EST = 15:00 UTC; 10:00 EDT = 14:00 UTC: a 23-hour day.
        assert_eq!(
            on_call(&rot, &[], utc("2026-03-07T20:00:00Z")),
            Some(shift(
                "A",
                "2026-03-07T15:00:00Z",
                "2026-03-08T14:00:00Z",
                false
            ))
        );
        assert_eq!(
            on_call(&rot, &[], utc("2026-03-08T14:00:00Z")),
            Some(shift(
                "B",
                "2026-03-08T14:00:00Z",
                "2026-03-09T14:00:00Z",
                false
            ))
        );
        // Fall back: a 25-hour day. 2026-10-31 is 238 days after 03-07.
        assert_eq!(
            on_call(&rot, &[], utc("2026-11-01T12:00:00Z")),
            Some(shift(
                "A",
                "2026-10-31T14:00:00Z",
                "2026-11-01T15:00:00Z",
                false
            ))
        );
        assert_eq!(who(&rot, &[], "2026-11-01T14:59:59Z"), "A");
        assert_eq!(who(&rot, &[], "2026-11-01T15:00:00Z"), "B");
    }

    #[test]
    fn handover_in_the_spring_gap_happens_when_the_clock_jumps() {
        // 02:30 does not exist on 8 March: the hand-over is at 03:00 EDT.
        let rot = rotation(&["A", "B"], "1d", "02:30", America::New_York, "2026-03-07");
        assert_eq!(
            rot.shift_at(utc("2026-03-07T12:00:00Z")),
            Some(shift(
                "A",
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                false
            ))
        );
        assert_eq!(
            rot.shift_at(utc("2026-03-08T07:00:00Z")),
            Some(shift(
                "B",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z",
                false
            ))
        );
    }

    #[test]
    fn ambiguous_handover_in_the_fall_takes_the_earlier_instant() {
        // 01:30 happens twice on 1 November: EDT (05:30 UTC), then EST.
        let rot = rotation(&["A", "B"], "1d", "01:30", America::New_York, "2026-10-31");
        assert_eq!(
            rot.shift_at(utc("2026-10-31T12:00:00Z")),
            Some(shift(
                "A",
                "2026-10-31T05:30:00Z",
                "2026-11-01T05:30:00Z",
                false
            ))
        );
        assert_eq!(
            rot.shift_at(utc("2026-11-01T06:00:00Z")),
            Some(shift(
                "B",
                "2026-11-01T05:30:00Z",
                "2026-11-02T06:30:00Z",
                false
            ))
        );
    }

    #[test]
    fn a_skipped_local_day_gives_an_empty_shift() {
        // Samoa skipped 30 December 2011: 29 Dec 24:00 (-10) became
        // 31 Dec 00:00 (+14). B's midnight hand-over and A's coincide.
        let rot = rotation(&["A", "B"], "1d", "00:00", Pacific::Apia, "2011-12-29");
        assert_eq!(
            on_call(&rot, &[], utc("2011-12-30T12:00:00Z")),
            Some(shift(
                "A",
                "2011-12-29T10:00:00Z",
                "2011-12-31T10:00:00Z",
                false
            ))
        );
        assert_eq!(
            next(&rot, &[], utc("2011-12-29T12:00:00Z")),
            Some(shift(
                "B",
                "2011-12-31T10:00:00Z",
                "2012-01-01T10:00:00Z",
                false
            ))
        );
    }

    #[test]
    fn instants_before_the_start_count_backwards() {
        let rot = shanghai_daily();
        assert_eq!(
            rot.shift_at(utc("2026-01-05T01:59:59Z")),
            Some(shift(
                "Han Meimei",
                "2026-01-04T02:00:00Z",
                "2026-01-05T02:00:00Z",
                false
            ))
        );
        assert_eq!(who(&rot, &[], "2026-01-03T12:00:00Z"), "Li Lei");
        // 1001 days before the start: an odd shift index, member 1.
        assert_eq!(
            rot.shift_at(utc("2023-04-10T03:00:00Z")),
            Some(shift(
                "Han Meimei",
                "2023-04-10T02:00:00Z",
                "2023-04-11T02:00:00Z",
                false
            ))
        );
        let weekly = rotation(&["A", "B", "C"], "7d", "10:00", Tz::UTC, "2026-01-05");
        // Shift -1 is C's, -2 B's, -3 A's.
        assert_eq!(who(&weekly, &[], "2026-01-04T10:00:00Z"), "C");
        assert_eq!(who(&weekly, &[], "2025-12-22T09:59:59Z"), "A");
        assert_eq!(
            weekly.shift_at(utc("2025-12-22T10:00:00Z")),
            Some(shift(
                "B",
                "2025-12-22T10:00:00Z",
                "2025-12-29T10:00:00Z",
                false
            ))
        );
    }

    #[test]
    fn hour_rotation_counts_fixed_durations_from_the_first_handover() {
        // 08:00 in Shanghai on the 5th is 00:00 UTC.
        let rot = rotation(
            &["A", "B", "C"],
            "12h",
            "08:00",
            Asia::Shanghai,
            "2026-01-05",
        );
        let expected = [
            (
                "2026-01-05T00:00:00Z",
                "A",
                "2026-01-05T00:00:00Z",
                "2026-01-05T12:00:00Z",
            ),
            (
                "2026-01-05T12:00:00Z",
                "B",
                "2026-01-05T12:00:00Z",
                "2026-01-06T00:00:00Z",
            ),
            (
                "2026-01-06T11:59:59Z",
                "C",
                "2026-01-06T00:00:00Z",
                "2026-01-06T12:00:00Z",
            ),
            (
                "2026-01-06T12:00:00Z",
                "A",
                "2026-01-06T12:00:00Z",
                "2026-01-07T00:00:00Z",
            ),
            (
                "2026-01-04T23:00:00Z",
                "C",
                "2026-01-04T12:00:00Z",
                "2026-01-05T00:00:00Z",
            ),
        ];
        for (at, person, start, end) in expected {
            assert_eq!(
                rot.shift_at(utc(at)),
                Some(shift(person, start, end, false)),
                "{at}"
            );
        }
        // Fixed UTC hours across DST: 10 hours each, from 09:00 EST.
        let ny = rotation(&["A", "B"], "10h", "09:00", America::New_York, "2026-03-07");
        assert_eq!(
            ny.shift_at(utc("2026-03-08T21:00:00Z")),
            Some(shift(
                "B",
                "2026-03-08T20:00:00Z",
                "2026-03-09T06:00:00Z",
                false
            ))
        );
        // Sub-second instants just before a hand-over.
        assert_eq!(
            rot.shift_at(utc("2026-01-04T23:59:59.999999999Z"))
                .map(|s| s.person),
            Some("C".to_owned())
        );
    }

    #[test]
    fn i_take_tonight() {
        let rot = shanghai_daily();
        // Han Meimei's day (6th 10:00 to 7th 10:00 local); Li Lei takes
        // 20:00 to 08:00 local, 12:00 to 00:00 UTC.
        let tonight = [over(
            "Li Lei",
            "2026-01-06T12:00:00Z",
            "2026-01-07T00:00:00Z",
            "2026-01-06T09:00:00Z",
        )];
        assert_eq!(
            on_call(&rot, &tonight, utc("2026-01-06T11:00:00Z")),
            Some(shift(
                "Han Meimei",
                "2026-01-06T02:00:00Z",
                "2026-01-06T12:00:00Z",
                false
            ))
        );
        assert_eq!(
            next(&rot, &tonight, utc("2026-01-06T11:00:00Z")),
            Some(shift(
                "Li Lei",
                "2026-01-06T12:00:00Z",
                "2026-01-07T00:00:00Z",
                true
            ))
        );
        assert_eq!(
            on_call(&rot, &tonight, utc("2026-01-06T15:00:00Z")),
            Some(shift(
                "Li Lei",
                "2026-01-06T12:00:00Z",
                "2026-01-07T00:00:00Z",
                true
            ))
        );
        // At its end Han Meimei is back until her shift ends.
        assert_eq!(
            next(&rot, &tonight, utc("2026-01-06T15:00:00Z")),
            Some(shift(
                "Han Meimei",
                "2026-01-07T00:00:00Z",
                "2026-01-07T02:00:00Z",
                false
            ))
        );
        assert_eq!(
            on_call(&rot, &tonight, utc("2026-01-07T00:00:00Z")),
            Some(shift(
                "Han Meimei",
                "2026-01-07T00:00:00Z",
                "2026-01-07T02:00:00Z",
                false
            ))
        );
        // The rotation itself is unchanged.
        assert_eq!(
            rot.shift_at(utc("2026-01-06T15:00:00Z")).map(|s| s.person),
            Some("Han Meimei".to_owned())
        );
    }

    #[test]
    fn an_override_into_ones_own_shift_is_one_shift() {
        let rot = shanghai_daily();
        // Li Lei takes over from 20:00 local until his own shift starts.
        let early = [over(
            "Li Lei",
            "2026-01-06T12:00:00Z",
            "2026-01-07T02:00:00Z",
            "2026-01-06T09:00:00Z",
        )];
        assert_eq!(
            on_call(&rot, &early, utc("2026-01-06T15:00:00Z")),
            Some(shift(
                "Li Lei",
                "2026-01-06T12:00:00Z",
                "2026-01-08T02:00:00Z",
                true
            ))
        );
        assert_eq!(
            next(&rot, &early, utc("2026-01-06T15:00:00Z")),
            Some(shift(
                "Han Meimei",
                "2026-01-08T02:00:00Z",
                "2026-01-09T02:00:00Z",
                false
            ))
        );
        assert_eq!(
            on_call(&rot, &early, utc("2026-01-07T12:00:00Z")),
            Some(shift(
                "Li Lei",
                "2026-01-06T12:00:00Z",
                "2026-01-08T02:00:00Z",
                false
            ))
        );
    }

    #[test]
    fn overlapping_overrides_the_later_created_wins() {
        let rot = rotation(&["R"], "1d", "00:00", Tz::UTC, "2026-01-05");
        let a = over(
            "A",
            "2026-01-06T10:00:00Z",
            "2026-01-06T18:00:00Z",
            "2026-01-01T00:00:00Z",
        );
        let b = over(
            "B",
            "2026-01-06T14:00:00Z",
            "2026-01-06T16:00:00Z",
            "2026-01-02T00:00:00Z",
        );
        let both = [b.clone(), a.clone()];
        assert_eq!(
            on_call(&rot, &both, utc("2026-01-06T12:00:00Z")),
            Some(shift(
                "A",
                "2026-01-06T10:00:00Z",
                "2026-01-06T14:00:00Z",
                true
            ))
        );
        assert_eq!(
            on_call(&rot, &both, utc("2026-01-06T15:00:00Z")),
            Some(shift(
                "B",
                "2026-01-06T14:00:00Z",
                "2026-01-06T16:00:00Z",
                true
            ))
        );
        assert_eq!(
            on_call(&rot, &both, utc("2026-01-06T16:00:00Z")),
            Some(shift(
                "A",
                "2026-01-06T16:00:00Z",
                "2026-01-06T18:00:00Z",
                true
            ))
        );
        assert_eq!(
            on_call(&rot, &both, utc("2026-01-06T17:00:00Z")),
            Some(shift(
                "A",
                "2026-01-06T16:00:00Z",
                "2026-01-06T18:00:00Z",
                true
            ))
        );
        assert_eq!(
            next(&rot, &both, utc("2026-01-06T17:00:00Z")),
            Some(shift(
                "R",
                "2026-01-06T18:00:00Z",
                "2026-01-07T00:00:00Z",
                false
            ))
        );
        // B made first: A covers it entirely.
        let older_b = Override {
            created: utc("2025-12-31T00:00:00Z"),
            ..b
        };
        let both = [a, older_b];
        assert_eq!(
            on_call(&rot, &both, utc("2026-01-06T15:00:00Z")),
            Some(shift(
                "A",
                "2026-01-06T10:00:00Z",
                "2026-01-06T18:00:00Z",
                true
            ))
        );
    }

    #[test]
    fn next_is_an_override_that_starts_before_the_shift_ends() {
        let rot = shanghai_daily();
        let x = [over(
            "X",
            "2026-01-06T20:00:00Z",
            "2026-01-06T22:00:00Z",
            "2026-01-06T00:00:00Z",
        )];
        assert_eq!(
            next(&rot, &x, utc("2026-01-06T10:00:00Z")),
            Some(shift(
                "X",
                "2026-01-06T20:00:00Z",
                "2026-01-06T22:00:00Z",
                true
            ))
        );
        assert_eq!(
            on_call(&rot, &x, utc("2026-01-06T10:00:00Z")).map(|s| s.end),
            Some(utc("2026-01-06T20:00:00Z"))
        );
        // Over: next is the rotation's hand-over.
        assert_eq!(
            next(&rot, &x, utc("2026-01-06T22:00:00Z")),
            Some(shift(
                "Li Lei",
                "2026-01-07T02:00:00Z",
                "2026-01-08T02:00:00Z",
                false
            ))
        );
    }

    #[test]
    fn next_skips_hand_overs_to_the_same_person() {
        let rot = rotation(&["A", "A", "B"], "1d", "00:00", Tz::UTC, "2026-01-05");
        assert_eq!(
            next(&rot, &[], utc("2026-01-05T12:00:00Z")),
            Some(shift(
                "B",
                "2026-01-07T00:00:00Z",
                "2026-01-08T00:00:00Z",
                false
            ))
        );
        // B's shift is followed by two of A's.
        assert_eq!(
            next(&rot, &[], utc("2026-01-07T12:00:00Z")),
            Some(shift(
                "A",
                "2026-01-08T00:00:00Z",
                "2026-01-10T00:00:00Z",
                false
            ))
        );
        // One person only: nothing ever changes; the shift is the rotation's.
        let alone = rotation(&["A"], "7d", "10:00", Tz::UTC, "2026-01-05");
        assert_eq!(next(&alone, &[], utc("2026-01-06T00:00:00Z")), None);
        assert_eq!(
            on_call(&alone, &[], utc("2026-01-06T00:00:00Z")),
            Some(shift(
                "A",
                "2026-01-05T10:00:00Z",
                "2026-01-12T10:00:00Z",
                false
            ))
        );
        // ... unless someone takes over, in a year.
        let later = [over(
            "B",
            "2027-01-01T00:00:00Z",
            "2027-01-02T00:00:00Z",
            "2026-01-01T00:00:00Z",
        )];
        assert_eq!(
            next(&alone, &later, utc("2026-01-06T00:00:00Z")),
            Some(shift(
                "B",
                "2027-01-01T00:00:00Z",
                "2027-01-02T00:00:00Z",
                true
            ))
        );
        assert_eq!(
            next(&alone, &later, utc("2027-01-01T12:00:00Z")),
            Some(shift(
                "A",
                "2027-01-02T00:00:00Z",
                "2027-01-04T10:00:00Z",
                false
            ))
        );
    }

    #[test]
    fn backup_is_the_next_member_but_not_the_one_on_call() {
        let rot = rotation(&["A", "B", "C"], "1d", "00:00", Tz::UTC, "2026-01-05");
        let at = utc("2026-01-05T12:00:00Z");
        assert_eq!(backup(&rot, &[], at), Some("B".to_owned()));
        assert_eq!(
            backup(&rot, &[], utc("2026-01-07T12:00:00Z")),
            Some("A".to_owned())
        );
        let by = |person: &str| {
            [over(
                person,
                "2026-01-05T06:00:00Z",
                "2026-01-05T18:00:00Z",
                "2026-01-01T00:00:00Z",
            )]
        };
        assert_eq!(backup(&rot, &by("B"), at), Some("C".to_owned()));
        assert_eq!(backup(&rot, &by("C"), at), Some("B".to_owned()));
        assert_eq!(backup(&rot, &by("X"), at), Some("B".to_owned()));
        let alone = rotation(&["A"], "1d", "00:00", Tz::UTC, "2026-01-05");
        assert_eq!(backup(&alone, &[], at), None);
        assert_eq!(backup(&alone, &by("X"), at), Some("A".to_owned()));
        let twice = rotation(&["A", "A"], "1d", "00:00", Tz::UTC, "2026-01-05");
        assert_eq!(backup(&twice, &[], at), None);
        let empty = Rotation {
            members: vec![],
            ..alone
        };
        assert_eq!(backup(&empty, &by("X"), at), None);
    }

    #[test]
    fn overrides_alone_without_members() {
        let empty = Rotation {
            members: vec![],
            ..shanghai_daily()
        };
        let x = [over(
            "X",
            "2026-01-06T20:00:00Z",
            "2026-01-06T22:00:00Z",
            "2026-01-06T00:00:00Z",
        )];
        assert_eq!(empty.shift_at(utc("2026-01-06T21:00:00Z")), None);
        assert_eq!(on_call(&empty, &[], utc("2026-01-06T21:00:00Z")), None);
        assert_eq!(
            on_call(&empty, &x, utc("2026-01-06T21:00:00Z")),
            Some(shift(
                "X",
                "2026-01-06T20:00:00Z",
                "2026-01-06T22:00:00Z",
                true
            ))
        );
        assert_eq!(next(&empty, &x, utc("2026-01-06T21:00:00Z")), None);
    }

    #[test]
    fn empty_and_zero_length_inputs() {
        let zero = Rotation {
            length: RotationLength::Days(0),
            ..shanghai_daily()
        };
        assert_eq!(zero.shift_at(utc("2026-01-06T00:00:00Z")), None);
        // An override that ends before it starts is ignored.
        let backwards = [over(
            "X",
            "2026-01-06T22:00:00Z",
            "2026-01-06T20:00:00Z",
            "2026-01-06T00:00:00Z",
        )];
        assert_eq!(
            who(&shanghai_daily(), &backwards, "2026-01-06T21:00:00Z"),
            "Han Meimei"
        );
    }

    #[test]
    fn parses_handover_times() {
        let hm = |h, m| NaiveTime::from_hms_opt(h, m, 0);
        assert_eq!(parse_handover("10:00"), hm(10, 0));
        assert_eq!(parse_handover("00:00"), hm(0, 0));
        assert_eq!(parse_handover("23:59"), hm(23, 59));
        assert_eq!(parse_handover("9:30"), hm(9, 30));
        for bad in [
            "24:00", "12:60", "10", "10:0", "10:000", "+1:00", " 10:00", "10:00:00", "", ":",
        ] {
            assert_eq!(parse_handover(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn parses_lengths() {
        use RotationLength::{Days, Hours};
        assert_eq!(parse_length("7d"), Some(Days(7)));
        assert_eq!(parse_length("1d"), Some(Days(1)));
        assert_eq!(parse_length("12h"), Some(Hours(12)));
        assert_eq!(parse_length("168h"), Some(Days(7)));
        assert_eq!(parse_length("3650d"), Some(Days(3650)));
        assert_eq!(parse_length("87599h"), Some(Hours(87599)));
        assert_eq!(parse_length("87600h"), Some(Days(3650)));
        for bad in [
            "0d",
            "0h",
            "3651d",
            "87624h",
            "7",
            "d",
            "-1d",
            "+7d",
            "7 d",
            "7D",
            "1w",
            "99999999999d",
            "7dd",
            "",
        ] {
            assert_eq!(parse_length(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hours_in_whole_days_behave_like_days() {
        let days = rotation(&["A", "B"], "1d", "10:00", America::New_York, "2026-03-07");
        let hours = Rotation {
            length: RotationLength::Hours(24),
            ..days.clone()
        };
        let at = utc("2026-03-08T20:00:00Z");
        assert_eq!(days.shift_at(at), hours.shift_at(at));
    }

    // Property tests.

    const ZONES: [Tz; 11] = [
        Tz::UTC,
        Asia::Shanghai,
        Asia::Kolkata,
        Europe::Berlin,
        Europe::London,
        America::New_York,
        America::St_Johns,
        America::Sao_Paulo,
        chrono_tz::Australia::Lord_Howe,
        Pacific::Apia,
        Pacific::Chatham,
    ];

    const CENTURY_SECONDS: i64 = 100 * 366 * 86_400;

    fn around_2026(seconds: i64, nanos: u32) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + seconds, nanos).expect("within range")
    }

    fn length() -> impl Strategy<Value = RotationLength> {
        prop_oneof![
            (1u32..=14).prop_map(RotationLength::Days),
            (1u32..=MAX_ROTATION_DAYS).prop_map(RotationLength::Days),
            (1u32..=72).prop_map(RotationLength::Hours),
            (1u32..=MAX_ROTATION_DAYS * 24).prop_map(RotationLength::Hours),
        ]
    }

    fn rotation_strategy() -> impl Strategy<Value = Rotation> {
        (
            prop::collection::vec(prop::sample::select(vec!["A", "B", "C"]), 1..5),
            length(),
            0u32..24,
            0u32..60,
            prop::sample::select(ZONES.to_vec()),
            -36_600i64..=36_600,
        )
            .prop_map(|(members, length, h, m, tz, start)| Rotation {
                members: members.into_iter().map(str::to_owned).collect(),
                length,
                handover: NaiveTime::from_hms_opt(h, m, 0).expect("valid time"),
                tz,
                start: add_days(DEFAULT_START, start).expect("within range"),
            })
    }

    /// Within a century of 2026; often on the hour, to meet hand-overs and
    /// override bounds exactly.
    fn instant() -> impl Strategy<Value = DateTime<Utc>> {
        prop_oneof![
            (-CENTURY_SECONDS..=CENTURY_SECONDS, 0u32..1_000_000_000)
                .prop_map(|(s, n)| around_2026(s, n)),
            (-CENTURY_SECONDS / 3600..=CENTURY_SECONDS / 3600)
                .prop_map(|h| around_2026(h * 3600, 0)),
        ]
    }

    /// Seconds, often whole hours (so bounds coincide).
    fn seconds(range: std::ops::Range<i64>) -> impl Strategy<Value = i64> {
        let hours = range.start / 3600..range.end / 3600;
        prop_oneof![range, hours.prop_map(|h| h * 3600)]
    }

    /// Overrides near `at`, some empty, with few distinct creation times.
    fn overrides_near(at: DateTime<Utc>) -> impl Strategy<Value = Vec<Override>> {
        let one = (
            prop::sample::select(vec!["A", "B", "X"]),
            seconds(-200_000..200_000),
            seconds(0..300_000),
            0i64..4,
        )
            .prop_map(move |(person, offset, duration, created)| {
                let start = at + TimeDelta::seconds(offset);
                Override {
                    person: person.to_owned(),
                    start,
                    end: start + TimeDelta::seconds(duration),
                    created: around_2026(created, 0),
                }
            });
        prop::collection::vec(one, 0..5)
    }

    /// Who is on call at `t`, straight from the definition.
    fn oracle(rot: &Rotation, overrides: &[Override], t: DateTime<Utc>) -> Option<String> {
        match winner(overrides, t) {
            Some((_, o)) => Some(o.person.clone()),
            None => rot.shift_at(t).map(|s| s.person),
        }
    }

    fn distinct(rot: &Rotation) -> usize {
        let mut members = rot.members.clone();
        members.sort();
        members.dedup();
        members.len()
    }

    proptest! {
        #[test]
        fn without_overrides_shifts_tile_time(rot in rotation_strategy(), at in instant()) {
            let own = rot.shift_at(at).expect("members, so a shift");
            prop_assert!(own.start <= at && at < own.end);
            let now = on_call(&rot, &[], at).expect("members, so someone on call");
            prop_assert!(now.start <= at && at < now.end);
            prop_assert!(now.start <= own.start && own.end <= now.end);
            prop_assert_eq!(&now.person, &own.person);
            prop_assert!(!now.overridden);
            let following = next(&rot, &[], at);
            if distinct(&rot) >= 2 {
                let following = following.expect("two people, so a change");
                prop_assert!(following.start > at);
                prop_assert_eq!(following.start, now.end);
                prop_assert!(following.end > following.start);
                prop_assert_ne!(&following.person, &now.person);
                prop_assert_eq!(oracle(&rot, &[], following.start), Some(following.person.clone()));
                let before = now.start - TimeDelta::nanoseconds(1);
                prop_assert_ne!(oracle(&rot, &[], before), Some(now.person.clone()));
            } else {
                prop_assert_eq!(following, None);
                prop_assert_eq!(now, own);
            }
        }

        #[test]
        fn with_overrides_the_answers_agree_with_the_definition(
            (rot, at, overrides) in (rotation_strategy(), instant())
                .prop_flat_map(|(rot, at)| (Just(rot), Just(at), overrides_near(at))),
            fraction in 0.0f64..1.0,
        ) {
            let now = on_call(&rot, &overrides, at).expect("members, so someone on call");
            let person = Some(now.person.clone());
            let changes = distinct(&rot) >= 2;
            prop_assert!(now.start <= at && at < now.end);
            prop_assert_eq!(&person, &oracle(&rot, &overrides, at));
            prop_assert_eq!(now.overridden, winner(&overrides, at).is_some());
            // The person is the same throughout, and changes at both ends.
            let inside = now.start + TimeDelta::seconds(
                ((now.end - now.start).num_seconds() as f64 * fraction) as i64,
            );
            prop_assert_eq!(&oracle(&rot, &overrides, inside), &person);
            prop_assert_eq!(&oracle(&rot, &overrides, now.start), &person);
            let just_before_end = now.end - TimeDelta::nanoseconds(1);
            prop_assert_eq!(&oracle(&rot, &overrides, just_before_end), &person);
            let just_before_start = now.start - TimeDelta::nanoseconds(1);
            if changes {
                prop_assert_ne!(&oracle(&rot, &overrides, just_before_start), &person);
            }
            if let Some(following) = next(&rot, &overrides, at) {
                let then = Some(following.person.clone());
                prop_assert!(following.start > at);
                prop_assert_eq!(following.start, now.end);
                prop_assert!(following.end > following.start);
                prop_assert_ne!(&then, &person);
                prop_assert_eq!(&oracle(&rot, &overrides, following.start), &then);
                let last = following.end - TimeDelta::nanoseconds(1);
                prop_assert_eq!(&oracle(&rot, &overrides, last), &then);
                if changes {
                    prop_assert_ne!(&oracle(&rot, &overrides, following.end), &then);
                }
            } else {
                prop_assert!(!changes);
            }
            if let Some(b) = backup(&rot, &overrides, at) {
                prop_assert_ne!(&b, &now.person);
                prop_assert!(rot.members.contains(&b));
            }
        }

        #[test]
        fn extreme_inputs_do_not_panic(
            seconds in DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
            start in NaiveDate::MIN.num_days_from_ce()..=NaiveDate::MAX.num_days_from_ce(),
            days in any::<u32>(),
            hours in any::<bool>(),
            handover in 0u32..1440,
            tz in prop::sample::select(ZONES.to_vec()),
            members in 0usize..4,
            ends in prop::collection::vec(
                (
                    DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
                    DateTime::<Utc>::MIN_UTC.timestamp()..=DateTime::<Utc>::MAX_UTC.timestamp(),
                ),
                0..3,
            ),
        ) {
            let at = DateTime::from_timestamp(seconds, 0).expect("within range");
            let rot = Rotation {
                members: ["A", "B", "C"][..members].iter().map(|m| m.to_string()).collect(),
                length: if hours { RotationLength::Hours(days) } else { RotationLength::Days(days) },
                handover: NaiveTime::from_hms_opt(handover / 60, handover % 60, 0).expect("valid time"),
                tz,
                start: NaiveDate::from_num_days_from_ce_opt(start).expect("within range"),
            };
            let overrides: Vec<Override> = ends
                .into_iter()
                .map(|(a, b)| Override {
                    person: "X".to_owned(),
                    start: DateTime::from_timestamp(a, 0).expect("within range"),
                    end: DateTime::from_timestamp(b, 0).expect("within range"),
                    created: at,
                })
                .collect();
            for at in [at, DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MAX_UTC] {
                if let Some(s) = rot.shift_at(at) {
                    prop_assert!(s.start <= at && at < s.end);
                }
                if let Some(s) = on_call(&rot, &overrides, at) {
                    prop_assert!(s.start <= at && at < s.end);
                }
                if let Some(s) = next(&rot, &overrides, at) {
                    prop_assert!(s.start > at);
                }
                let _ = backup(&rot, &overrides, at);
            }
        }
    }
}
