//! The overview's figures, from the rows [`crate::store::OverviewRows`]
//! holds: alerts firing per hour by severity, time to acknowledge and to
//! resolve per service (median and p90), and each channel's health. Pure
//! code, so the geometry of the pictures is unit-tested; the template only
//! places what is computed here.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

use crate::store::{ChannelActivity, StateChange};

/// The picture's drawing box (SVG user units; it scales to the screen).
pub const WIDTH: f64 = 720.0;
pub const HEIGHT: f64 = 160.0;
const HOUR_MS: i64 = 3_600_000;

/// The severities, bottom of a stacked bar first.
pub const SEVERITIES: [&str; 4] = ["critical", "error", "warning", "info"];

/// One rectangle of the stacked bars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub severity: &'static str,
    /// The hover text: the hour (UTC) and the count.
    pub label: String,
}

/// Firings (new and again) per hour by severity, drawn as stacked bars.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    pub bars: Vec<Bar>,
    /// The tallest hour, the scale's top.
    pub max: u32,
    pub total: u32,
    /// Per severity, for the legend.
    pub totals: Vec<(&'static str, u32)>,
    /// Hour marks under the bars: x and text.
    pub ticks: Vec<(f64, String)>,
}

/// Firings per hour over `hours` hours ending at `now_ms`.
pub fn histogram(changes: &[StateChange], now_ms: i64, hours: i64) -> Histogram {
    let hours = hours.max(1);
    // Whole hours: the newest bar is the current, partial hour.
    let end = (now_ms.div_euclid(HOUR_MS) + 1) * HOUR_MS;
    let start = end - hours * HOUR_MS;
    let mut counts = vec![[0u32; 4]; hours as usize];
    for c in changes {
        if !matches!(c.kind.as_str(), "fired" | "refired") || c.at < start || c.at >= end {
            continue;
        }
        let slot = ((c.at - start) / HOUR_MS) as usize;
        let sev = SEVERITIES
            .iter()
            .position(|s| *s == c.severity)
            .unwrap_or(3);
        counts[slot][sev] += 1;
    }
    let max = counts
        .iter()
        .map(|c| c.iter().sum::<u32>())
        .max()
        .unwrap_or(0);
    let slot_w = WIDTH / hours as f64;
    let gap = if slot_w > 4.0 { 1.0 } else { 0.0 };
    let mut bars = Vec::new();
    for (i, c) in counts.iter().enumerate() {
        let mut y = HEIGHT;
        let hour = hour_text(start + i as i64 * HOUR_MS);
        for (sev, n) in SEVERITIES.iter().zip(c) {
            if *n == 0 {
                continue;
            }
            let h = f64::from(*n) / f64::from(max) * HEIGHT;
            y -= h;
            bars.push(Bar {
                x: round(i as f64 * slot_w),
                y: round(y),
                w: round(slot_w - gap),
                h: round(h),
                severity: sev,
                label: format!("{hour} UTC · {n} {sev}"),
            });
        }
    }
    let mut totals = Vec::new();
    for (i, sev) in SEVERITIES.iter().enumerate() {
        totals.push((*sev, counts.iter().map(|c| c[i]).sum()));
    }
    // A mark every 6 hours on a day, every day on a week.
    let every = if hours <= 48 { 6 } else { 24 };
    let ticks = (0..hours)
        .filter(|i| (start / HOUR_MS + i).rem_euclid(every) == 0)
        .map(|i| {
            let at = start + i * HOUR_MS;
            let text = if every == 24 {
                day_text(at)
            } else {
                hour_text(at)[11..].to_string()
            };
            (round(i as f64 * slot_w), text)
        })
        .collect();
    Histogram {
        total: totals.iter().map(|(_, n)| n).sum(),
        bars,
        max,
        totals,
        ticks,
    }
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn hour_text(ms: i64) -> String {
    crate::store::from_ms(ms)
        .map(|t| t.format("%Y-%m-%d %H:00").to_string())
        .unwrap_or_default()
}

fn day_text(ms: i64) -> String {
    crate::store::from_ms(ms)
        .map(|t| t.format("%m-%d").to_string())
        .unwrap_or_default()
}

/// How fast a service's alerts were acknowledged and resolved.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Timing {
    pub service: String,
    pub acked: usize,
    pub ack_p50: String,
    pub ack_p90: String,
    /// Bar widths (0–100, of the slowest p90 on the page).
    pub ack_p50_w: f64,
    pub ack_p90_w: f64,
    pub resolved: usize,
    pub resolve_p50: String,
    pub resolve_p90: String,
    pub resolve_p50_w: f64,
    pub resolve_p90_w: f64,
}

/// The most services shown; the busiest first.
const MAX_SERVICES: usize = 15;

/// Per service, from each firing to the first acknowledgement after it and
/// to its resolution (a firing before the window, or still open, gives no
/// sample). `changes` are in (alert, audit) order.
pub fn timings(changes: &[StateChange]) -> Vec<Timing> {
    let mut acks: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut resolves: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    let mut alert = None;
    let mut open: Option<i64> = None;
    let mut acked = false;
    for c in changes {
        if alert != Some(c.alert_seq) {
            alert = Some(c.alert_seq);
            open = None;
            acked = false;
        }
        let service = c.service.clone().unwrap_or_else(|| "-".into());
        match c.kind.as_str() {
            "fired" | "refired" => {
                open = Some(c.at);
                acked = false;
            }
            "acknowledged" => {
                if let Some(at) = open.filter(|_| !acked) {
                    acks.entry(service).or_default().push(c.at - at);
                    acked = true;
                }
            }
            "resolved" => {
                if let Some(at) = open.take() {
                    resolves.entry(service).or_default().push(c.at - at);
                }
            }
            _ => {}
        }
    }
    let mut services: Vec<String> = acks.keys().chain(resolves.keys()).cloned().collect();
    services.sort();
    services.dedup();
    let samples = |s: &str| acks.get(s).map_or(0, Vec::len) + resolves.get(s).map_or(0, Vec::len);
    services.sort_by_key(|s| std::cmp::Reverse(samples(s)));
    services.truncate(MAX_SERVICES);
    let stats = |v: Option<&Vec<i64>>| -> (usize, Option<i64>, Option<i64>) {
        let Some(v) = v.filter(|v| !v.is_empty()) else {
            return (0, None, None);
        };
        let mut v = v.clone();
        v.sort_unstable();
        (v.len(), Some(percentile(&v, 50)), Some(percentile(&v, 90)))
    };
    let rows: Vec<_> = services
        .into_iter()
        .map(|s| {
            let a = stats(acks.get(&s));
            let r = stats(resolves.get(&s));
            (s, a, r)
        })
        .collect();
    let slowest = rows
        .iter()
        .flat_map(|(_, a, r)| [a.2, r.2])
        .flatten()
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let w = |v: Option<i64>| v.map_or(0.0, |v| round(v as f64 / slowest * 100.0));
    let text = |v: Option<i64>| v.map_or_else(|| "–".to_string(), human_ms);
    rows.into_iter()
        .map(|(service, a, r)| Timing {
            service,
            acked: a.0,
            ack_p50: text(a.1),
            ack_p90: text(a.2),
            ack_p50_w: w(a.1),
            ack_p90_w: w(a.2),
            resolved: r.0,
            resolve_p50: text(r.1),
            resolve_p90: text(r.2),
            resolve_p50_w: w(r.1),
            resolve_p90_w: w(r.2),
        })
        .collect()
}

/// Nearest rank: the smallest value with at least `p` % of them at or
/// below it. `sorted` is not empty.
pub fn percentile(sorted: &[i64], p: usize) -> i64 {
    let rank = (sorted.len() * p).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// `45 s`, `12 min`, `3.5 h`, `2.1 d`.
pub fn human_ms(ms: i64) -> String {
    let s = ms.max(0) as f64 / 1000.0;
    if s < 90.0 {
        format!("{} s", s.round())
    } else if s < 90.0 * 60.0 {
        format!("{} min", (s / 60.0).round())
    } else if s < 36.0 * 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else {
        format!("{:.1} d", s / 86_400.0)
    }
}

/// A channel's health row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub name: String,
    /// When it last delivered, or `None`.
    pub last_sent: Option<String>,
    pub failed: i64,
    pub sends_last_hour: i64,
    /// Share (0–100) of the last hour's rate budget used; `None`: no budget.
    pub budget_used: Option<f64>,
}

/// Every configured channel (with its rate budget's spacing, if any), and
/// any other channel the outbox still names, by name.
pub fn health(
    configured: &[(String, Option<Duration>)],
    activity: &[ChannelActivity],
    time: impl Fn(i64) -> String,
) -> Vec<Health> {
    let mut names: Vec<&str> = configured.iter().map(|(n, _)| n.as_str()).collect();
    names.extend(activity.iter().map(|a| a.channel.as_str()));
    names.sort_unstable();
    names.dedup();
    names
        .into_iter()
        .map(|name| {
            let a = activity.iter().find(|a| a.channel == name);
            let sends = a.map_or(0, |a| a.sends_last_hour);
            let interval = configured
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, i)| *i)
                .filter(|i| !i.is_zero());
            let budget_used = interval.map(|i| {
                let slots = 3600.0 / i.as_secs_f64();
                round((sends as f64 / slots * 100.0).min(100.0))
            });
            Health {
                name: name.to_string(),
                last_sent: a.and_then(|a| a.last_sent).map(&time),
                failed: a.map_or(0, |a| a.failed),
                sends_last_hour: sends,
                budget_used,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(alert: i64, seq: i64, at: i64, kind: &str, sev: &str, svc: &str) -> StateChange {
        StateChange {
            alert_seq: alert,
            seq,
            at,
            kind: kind.into(),
            severity: sev.into(),
            service: Some(svc.into()),
        }
    }

    const NOW: i64 = 1_764_000_000_000 + 30 * 60_000; // half past an hour

    #[test]
    fn firings_land_in_their_hour_stacked_by_severity() {
        let hour = NOW.div_euclid(HOUR_MS) * HOUR_MS;
        let changes = vec![
            change(1, 1, hour + 1, "fired", "critical", "db"),
            change(2, 2, hour + 2, "fired", "warning", "db"),
            change(2, 3, hour + 3, "acknowledged", "warning", "db"),
            change(3, 4, hour - HOUR_MS, "refired", "critical", "web"),
            // Older than the window: not drawn.
            change(4, 5, hour - 30 * HOUR_MS, "fired", "critical", "web"),
        ];
        let h = histogram(&changes, NOW, 24);
        assert_eq!(h.total, 3);
        assert_eq!(h.max, 2);
        assert_eq!(h.totals[0], ("critical", 2));
        assert_eq!(h.totals[2], ("warning", 1));
        // The current hour is the last slot: critical at the bottom, the
        // warning on top, together the full height.
        let slot = WIDTH / 24.0;
        let last: Vec<&Bar> = h
            .bars
            .iter()
            .filter(|b| b.x == round(23.0 * slot))
            .collect();
        assert_eq!(last.len(), 2);
        assert_eq!(last[0].severity, "critical");
        assert_eq!(last[0].y + last[0].h, HEIGHT);
        assert_eq!(last[1].severity, "warning");
        assert_eq!(last[1].y, 0.0);
        // The hour before: one critical, half the height.
        let before: Vec<&Bar> = h
            .bars
            .iter()
            .filter(|b| b.x == round(22.0 * slot))
            .collect();
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].h, HEIGHT / 2.0);
        assert!(
            before[0].label.ends_with("UTC · 1 critical"),
            "{}",
            before[0].label
        );
        assert_eq!(h.ticks.len(), 4, "every 6 hours on a day");
    }

    #[test]
    fn an_empty_window_draws_nothing() {
        let h = histogram(&[], NOW, 168);
        assert!(h.bars.is_empty());
        assert_eq!((h.max, h.total), (0, 0));
        assert_eq!(h.ticks.len(), 7, "a mark per day on a week");
    }

    #[test]
    fn time_to_ack_and_resolve_pairs_each_firing_with_what_followed() {
        let m = 60_000;
        let changes = vec![
            // db: acked after 2 min, resolved after 10; fires again, acked
            // after 4 min (a second ack in the same episode is not counted).
            change(1, 1, 0, "fired", "critical", "db"),
            change(1, 2, 2 * m, "acknowledged", "critical", "db"),
            change(1, 3, 3 * m, "acknowledged", "critical", "db"),
            change(1, 4, 10 * m, "resolved", "critical", "db"),
            change(1, 5, 20 * m, "refired", "critical", "db"),
            change(1, 6, 24 * m, "acknowledged", "critical", "db"),
            // An ack whose firing is before the window: no sample.
            change(2, 7, 5 * m, "acknowledged", "error", "db"),
            // web: resolved by its source after 30 min, never acked.
            change(3, 8, 0, "fired", "error", "web"),
            change(3, 9, 30 * m, "resolved", "error", "web"),
        ];
        let t = timings(&changes);
        assert_eq!(t.len(), 2);
        let db = &t[0];
        assert_eq!(db.service, "db");
        assert_eq!((db.acked, db.resolved), (2, 1));
        assert_eq!(db.ack_p50, "2 min");
        assert_eq!(db.ack_p90, "4 min");
        assert_eq!(db.resolve_p50, "10 min");
        let web = &t[1];
        assert_eq!((web.acked, web.resolved), (0, 1));
        assert_eq!(web.ack_p50, "–");
        assert_eq!(web.resolve_p90, "30 min");
        assert_eq!(web.resolve_p90_w, 100.0, "the slowest p90 is the full bar");
        assert_eq!(db.resolve_p50_w, round(600.0 / 1800.0 * 100.0));
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), 5);
        assert_eq!(percentile(&v, 90), 9);
        assert_eq!(percentile(&[7], 90), 7);
        assert_eq!(percentile(&[1, 2], 50), 1);
    }

    #[test]
    fn durations_read_at_a_glance() {
        assert_eq!(human_ms(45_000), "45 s");
        assert_eq!(human_ms(12 * 60_000), "12 min");
        assert_eq!(human_ms(3 * 3_600_000 + 1_800_000), "3.5 h");
        assert_eq!(human_ms(50 * 3_600_000), "2.1 d");
    }

    #[test]
    fn health_uses_the_budget_and_lists_silent_channels_too() {
        let configured = vec![
            ("dingtalk".to_string(), Some(Duration::from_secs(3))),
            ("mail".to_string(), None),
        ];
        let activity = vec![ChannelActivity {
            channel: "dingtalk".into(),
            last_sent: Some(5),
            failed: 2,
            sends_last_hour: 600,
        }];
        let h = health(&configured, &activity, |ms| format!("t{ms}"));
        assert_eq!(h.len(), 2);
        assert_eq!(h[0].name, "dingtalk");
        assert_eq!(h[0].budget_used, Some(50.0), "600 of 1200 slots an hour");
        assert_eq!(h[0].last_sent.as_deref(), Some("t5"));
        assert_eq!(h[0].failed, 2);
        assert_eq!(h[1].name, "mail");
        assert_eq!(h[1].budget_used, None);
        assert_eq!(h[1].last_sent, None);
    }
}
