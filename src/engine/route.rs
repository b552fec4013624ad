//! `[[routes]]`: which channels an alert goes to, and in which notification
//! group. Evaluated in order; the first route that matches wins unless it says
//! `continue = true`; an empty `matchers` list matches everything.
//!
//! Without routes, every alert goes to every channel, each alert in its own
//! group and at once (`group_wait = 0s`, `group_interval = 0s`). An alert that
//! no route takes (or any alert when no channel is configured) still gets an
//! outbox row with no channel: the decision is recorded, and the delivery
//! worker marks it `unrouted`.
//!
//! A notification group is (channel, group key). Its clock follows
//! Alertmanager: the first notice of a quiet group waits `group_wait`, notices
//! that arrive while a flush is pending join it, and after a flush the next
//! one waits until `group_interval` has passed.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::config::{ChannelConfig, RouteConfig};
use crate::domain::matcher::all_match;
use crate::domain::silence::FINGERPRINT_LABEL;
use crate::domain::{Labels, Matcher};
use crate::engine::interval::{Hold, TimeInterval};

/// Where one notice goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// `None`: no channel takes it; recorded, not sent.
    pub channel: Option<String>,
    pub group_key: String,
    pub group_wait: Duration,
    pub group_interval: Duration,
    pub repeat_interval: Duration,
    /// The route's `[[escalations]]` policy.
    pub escalation: Option<String>,
    /// The route's `mention` references, comma-joined (empty: none).
    pub mention: String,
    /// The route's mute and active time intervals, if it has any.
    pub hold: Option<Arc<Hold>>,
}

#[derive(Debug, Clone)]
struct Route {
    matchers: Vec<Matcher>,
    channels: Vec<String>,
    /// `None`: `["..."]`, every alert its own group.
    group_by: Option<Vec<String>>,
    group_wait: Duration,
    group_interval: Duration,
    repeat_interval: Duration,
    continue_matching: bool,
    escalation: Option<String>,
    mention: String,
    hold: Option<Arc<Hold>>,
}

#[derive(Debug, Clone)]
pub struct Router {
    routes: Vec<Route>,
    /// No channel configured at all.
    nowhere: bool,
}

fn chrono(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

/// Used for the implicit route and for unrouted alerts.
const DEFAULT_REPEAT: Duration = Duration::hours(4);

impl Router {
    pub fn new(channels: &[ChannelConfig], routes: &[RouteConfig]) -> Self {
        Self::with_intervals(channels, routes, &HashMap::new())
    }

    /// [`Router::new`] with the `[[time_intervals]]` routes name (names not
    /// in `intervals` were refused at load).
    pub fn with_intervals(
        channels: &[ChannelConfig],
        routes: &[RouteConfig],
        intervals: &HashMap<String, TimeInterval>,
    ) -> Self {
        let pick = |names: &[String]| -> Vec<TimeInterval> {
            names
                .iter()
                .filter_map(|n| intervals.get(n).cloned())
                .collect()
        };
        let chat: Vec<&ChannelConfig> = channels.iter().filter(|c| !c.kind.pages()).collect();
        let routes = if routes.is_empty() {
            // Every alert to every channel, at once (SMS and voice page
            // people only from escalation steps).
            vec![Route {
                matchers: Vec::new(),
                channels: chat.iter().map(|c| c.name.clone()).collect(),
                group_by: None,
                group_wait: Duration::zero(),
                group_interval: Duration::zero(),
                repeat_interval: DEFAULT_REPEAT,
                continue_matching: false,
                escalation: None,
                mention: String::new(),
                hold: None,
            }]
        } else {
            routes
                .iter()
                .map(|r| Route {
                    matchers: r.matchers.clone(),
                    channels: r.channels.clone(),
                    group_by: (r.group_by != ["..."]).then(|| r.group_by.clone()),
                    group_wait: chrono(r.group_wait),
                    group_interval: chrono(r.group_interval),
                    repeat_interval: chrono(r.repeat_interval),
                    continue_matching: r.continue_matching,
                    escalation: r.escalation.clone(),
                    mention: r.mention.join(","),
                    hold: {
                        let hold = Hold {
                            mute: pick(&r.mute_time_intervals),
                            active: pick(&r.active_time_intervals),
                            memo: Default::default(),
                        };
                        (!hold.is_empty()).then(|| Arc::new(hold))
                    },
                })
                .collect()
        };
        Self {
            routes,
            nowhere: chat.is_empty(),
        }
    }

    /// The targets for an alert, given the labels matchers see
    /// (`domain::silence::match_labels`, which includes `__fingerprint__`).
    pub fn targets(&self, labels: &Labels) -> Vec<Target> {
        let fingerprint = labels.get(FINGERPRINT_LABEL).unwrap_or_default();
        let unrouted = || Target {
            channel: None,
            group_key: format!("fp:{fingerprint}"),
            group_wait: Duration::zero(),
            group_interval: Duration::zero(),
            repeat_interval: DEFAULT_REPEAT,
            escalation: None,
            mention: String::new(),
            hold: None,
        };
        if self.nowhere {
            return vec![unrouted()];
        }
        let mut out = Vec::new();
        for (i, route) in self.routes.iter().enumerate() {
            if !all_match(&route.matchers, labels) {
                continue;
            }
            let group_key = match &route.group_by {
                None => format!("{i}:fp:{fingerprint}"),
                Some(names) => {
                    let values: Vec<&str> = names
                        .iter()
                        .map(|n| labels.get(n).unwrap_or_default())
                        .collect();
                    format!(
                        "{i}:{}",
                        serde_json::to_string(&values).expect("strings serialize")
                    )
                }
            };
            out.extend(route.channels.iter().map(|c| Target {
                channel: Some(c.clone()),
                group_key: group_key.clone(),
                group_wait: route.group_wait,
                group_interval: route.group_interval,
                repeat_interval: route.repeat_interval,
                escalation: route.escalation.clone(),
                mention: route.mention.clone(),
                hold: route.hold.clone(),
            }));
            if !route.continue_matching {
                break;
            }
        }
        if out.is_empty() {
            out.push(unrouted());
        }
        out
    }
}

/// When a grouped notice for `target` is due, given the group's last or
/// pending flush; the caller stores the answer as the group's new flush time.
pub fn group_due(
    flush_at: Option<DateTime<Utc>>,
    target: &Target,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    match flush_at {
        Some(f) if f > now => f,
        Some(f) if f + target.group_interval > now => f + target.group_interval,
        _ => now + target.group_wait,
    }
}

/// Group flush times loaded for a batch, with the ones it changed.
#[derive(Debug, Default)]
pub struct GroupClocks {
    map: HashMap<(String, String), (DateTime<Utc>, bool)>,
}

impl GroupClocks {
    pub fn load(&mut self, channel: String, key: String, flush_at: DateTime<Utc>) {
        self.map.insert((channel, key), (flush_at, false));
    }

    /// The due time of a grouped notice, moving the group's clock.
    pub fn due(&mut self, channel: &str, target: &Target, now: DateTime<Utc>) -> DateTime<Utc> {
        let k = (channel.to_string(), target.group_key.clone());
        let current = self.map.get(&k).map(|(at, _)| *at);
        let due = group_due(current, target, now);
        self.map.insert(k, (due, true));
        due
    }

    /// Groups whose clock moved: (channel, key, flush_at).
    pub fn changed(&self) -> impl Iterator<Item = (&str, &str, DateTime<Utc>)> {
        self.map
            .iter()
            .filter(|(_, (_, dirty))| *dirty)
            .map(|((c, k), (at, _))| (c.as_str(), k.as_str(), *at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::labels::test_labels;

    fn channel(name: &str) -> ChannelConfig {
        toml::from_str(&format!(
            "name = \"{name}\"\ntype = \"webhook\"\nurl = \"https://example.com/{name}\""
        ))
        .unwrap()
    }

    fn route(toml_text: &str) -> RouteConfig {
        toml::from_str(toml_text).unwrap()
    }

    fn names(targets: &[Target]) -> Vec<Option<&str>> {
        targets.iter().map(|t| t.channel.as_deref()).collect()
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        let mut all = pairs.to_vec();
        all.push((FINGERPRINT_LABEL, "f00d"));
        test_labels(&all)
    }

    #[test]
    fn no_channels_records_without_a_channel() {
        let r = Router::new(&[], &[]);
        let t = r.targets(&labels(&[("severity", "critical")]));
        assert_eq!(names(&t), vec![None]);
        assert_eq!(t[0].group_key, "fp:f00d");
    }

    #[test]
    fn channels_without_routes_take_every_alert_at_once() {
        let r = Router::new(&[channel("a"), channel("b")], &[]);
        let t = r.targets(&labels(&[]));
        assert_eq!(names(&t), vec![Some("a"), Some("b")]);
        assert!(t.iter().all(|t| t.group_wait.is_zero()));
    }

    #[test]
    fn first_match_wins_unless_continue() {
        let chans = [channel("db"), channel("ops"), channel("all")];
        let routes = [
            route("matchers = ['team=\"db\"']\nchannels = [\"db\"]\ncontinue = true"),
            route("matchers = ['severity=~\"critical|error\"']\nchannels = [\"ops\"]"),
            route("channels = [\"all\"]"),
        ];
        let r = Router::new(&chans, &routes);
        let t = |pairs: &[(&str, &str)]| {
            names(&r.targets(&labels(pairs)))
                .into_iter()
                .map(|c| c.unwrap_or("-").to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            t(&[("team", "db"), ("severity", "critical")]),
            ["db", "ops"]
        );
        assert_eq!(t(&[("team", "db"), ("severity", "info")]), ["db", "all"]);
        assert_eq!(t(&[("severity", "error")]), ["ops"]);
        assert_eq!(t(&[("severity", "info")]), ["all"]);
    }

    #[test]
    fn nothing_matching_is_recorded_unrouted() {
        let routes = [route("matchers = ['team=\"db\"']\nchannels = [\"db\"]")];
        let r = Router::new(&[channel("db")], &routes);
        assert_eq!(names(&r.targets(&labels(&[("team", "web")]))), vec![None]);
    }

    #[test]
    fn group_by_labels_shares_a_key() {
        let routes = [route("channels = [\"a\"]\ngroup_by = [\"alertname\"]")];
        let r = Router::new(&[channel("a")], &routes);
        let one = r.targets(&labels(&[("alertname", "Disk"), ("host", "x")]));
        let two = r.targets(&labels(&[("alertname", "Disk"), ("host", "y")]));
        let other = r.targets(&labels(&[("alertname", "CPU")]));
        assert_eq!(one[0].group_key, two[0].group_key);
        assert_ne!(one[0].group_key, other[0].group_key);
    }

    #[test]
    fn group_clock_waits_joins_and_spaces_flushes() {
        let now = DateTime::parse_from_rfc3339("2026-11-22T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let target = Target {
            channel: Some("a".into()),
            group_key: "k".into(),
            group_wait: Duration::seconds(30),
            group_interval: Duration::minutes(5),
            repeat_interval: DEFAULT_REPEAT,
            escalation: None,
            mention: String::new(),
            hold: None,
        };
        let mut clocks = GroupClocks::default();
        let first = clocks.due("a", &target, now);
        assert_eq!(first, now + Duration::seconds(30));
        // A second notice while the flush is pending joins it.
        assert_eq!(clocks.due("a", &target, now + Duration::seconds(10)), first);
        // After the flush, the next waits for group_interval.
        let after = first + Duration::seconds(1);
        assert_eq!(
            clocks.due("a", &target, after),
            first + Duration::minutes(5)
        );
        // Long quiet: group_wait again.
        let quiet = first + Duration::hours(1);
        assert_eq!(
            clocks.due("a", &target, quiet),
            quiet + Duration::seconds(30)
        );
        assert_eq!(clocks.changed().count(), 1);
    }

    #[test]
    fn a_routes_time_intervals_hold_its_notices_critical_too_until_they_end() {
        let intervals = crate::config::intervals::compile(&[toml::from_str(
            "name = \"nights\"\n[[time_intervals]]\ntimes = [{ start_time = \"00:00\", end_time = \"08:00\" }]\n",
        )
        .unwrap()])
        .unwrap();
        let routes = vec![
            route(
                "matchers = ['team=\"db\"']\nchannels = [\"a\"]\ngroup_wait = \"0s\"\nmute_time_intervals = [\"nights\"]",
            ),
            route("channels = [\"b\"]\ngroup_wait = \"0s\""),
        ];
        let r = Router::with_intervals(&[channel("a"), channel("b")], &routes, &intervals);
        let muted = r.targets(&labels(&[("team", "db")]));
        assert!(muted[0].hold.is_some());
        let open = r.targets(&labels(&[("team", "web")]));
        assert!(open[0].hold.is_none());
        let engine = crate::engine::Engine {
            router: r,
            ..crate::engine::Engine::default()
        };
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let now = at("2026-11-22T03:00:00Z");
        let occurrence = crate::engine::Occurrence {
            firing: true,
            critical: true,
            from: None,
            to: crate::domain::AlertState::Firing,
            silenced: false,
        };
        let decide = |targets: &[Target]| {
            engine.notices(
                targets,
                &mut crate::engine::Tracking::default(),
                &occurrence,
                &mut GroupClocks::default(),
                now,
            )
        };
        let held = decide(&muted);
        assert_eq!(held[0].due_at, at("2026-11-22T08:00:00Z"));
        assert!(held[0].held);
        let sent = decide(&open);
        assert_eq!((sent[0].due_at, sent[0].held), (now, false));
        // At 08:00 the route is open: due at once, still checked when sent.
        let later = engine.notices(
            &muted,
            &mut crate::engine::Tracking::default(),
            &occurrence,
            &mut GroupClocks::default(),
            at("2026-11-22T08:00:00Z"),
        );
        assert_eq!(later[0].due_at, at("2026-11-22T08:00:00Z"));
        assert!(later[0].held);
    }
}
