//! Who a reference means at a given time: `[[people]]` by name, and
//! `[[schedules]]` through their rotations and the overrides people made
//! (`engine::schedule`). Resolution happens when a step runs or a card is
//! sent, so the person paged is whoever is on call then, not when the alert
//! fired.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::schedule::{self, Override, Rotation};
use crate::config::Config;
use crate::config::oncall::{PersonConfig, Ref};

/// Overrides by schedule name.
pub type Overrides = HashMap<String, Vec<Override>>;

#[derive(Debug, Clone, Default)]
pub struct Directory {
    people: HashMap<String, PersonConfig>,
    schedules: HashMap<String, Rotation>,
}

impl Directory {
    pub fn from_config(config: &Config) -> Self {
        Self {
            people: config
                .people
                .iter()
                .map(|p| (p.name.clone(), p.clone()))
                .collect(),
            schedules: config
                .schedules
                .iter()
                .filter_map(|s| Some((s.name.clone(), s.rotation()?)))
                .collect(),
        }
    }

    pub fn person(&self, name: &str) -> Option<&PersonConfig> {
        self.people.get(name)
    }

    pub fn schedule(&self, name: &str) -> Option<&Rotation> {
        self.schedules.get(name)
    }

    pub fn schedule_names(&self) -> impl Iterator<Item = &str> {
        self.schedules.keys().map(String::as_str)
    }

    /// The schedules `refs` look into (whose overrides the caller loads).
    pub fn schedules_in<'a>(refs: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
        let mut out: Vec<&str> = Vec::new();
        for r in refs {
            if let Ref::OnCall(s) | Ref::Backup(s) = Ref::parse(r) {
                if !out.contains(&s) {
                    out.push(s);
                }
            }
        }
        out
    }

    /// The people `refs` name at `at`, each once, in order. A schedule with
    /// nobody resolvable (no backup in a one-person rotation) adds nobody.
    pub fn resolve<'a>(
        &self,
        refs: impl IntoIterator<Item = &'a str>,
        overrides: &Overrides,
        at: DateTime<Utc>,
    ) -> Vec<&PersonConfig> {
        let none = Vec::new();
        let mut out: Vec<&PersonConfig> = Vec::new();
        for r in refs {
            let name = match Ref::parse(r) {
                Ref::Person(p) => Some(p.to_string()),
                Ref::OnCall(s) => self.schedules.get(s).and_then(|rot| {
                    schedule::on_call(rot, overrides.get(s).unwrap_or(&none), at).map(|x| x.person)
                }),
                Ref::Backup(s) => self
                    .schedules
                    .get(s)
                    .and_then(|rot| schedule::backup(rot, overrides.get(s).unwrap_or(&none), at)),
            };
            if let Some(p) = name.and_then(|n| self.people.get(&n)) {
                if !out.iter().any(|x| x.name == p.name) {
                    out.push(p);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directory() -> Directory {
        let config: Config = toml::from_str(
            r#"
[[people]]
name = "Li Lei"
phone = "+8613800000001"
[[people]]
name = "Han Meimei"
[[people]]
name = "Wang Wu"
[[schedules]]
name = "primary"
members = ["Li Lei", "Han Meimei"]
rotation = "1d"
handover = "10:00"
timezone = "Asia/Shanghai"
start = "2026-12-01"
"#,
        )
        .unwrap();
        Directory::from_config(&config)
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn names(d: &Directory, refs: &[&str], overrides: &Overrides, t: &str) -> Vec<String> {
        d.resolve(refs.iter().copied(), overrides, at(t))
            .into_iter()
            .map(|p| p.name.clone())
            .collect()
    }

    #[test]
    fn references_resolve_through_the_rotation_at_the_time_asked() {
        let d = directory();
        let none = Overrides::new();
        // 2026-12-01 10:00 Shanghai = 02:00 UTC: Li Lei's day; the 2nd is Han Meimei's.
        assert_eq!(
            names(&d, &["schedule:primary"], &none, "2026-12-01T02:00:00Z"),
            ["Li Lei"]
        );
        assert_eq!(
            names(&d, &["schedule:primary"], &none, "2026-12-02T01:59:59Z"),
            ["Li Lei"],
            "before the hand-over in Shanghai, yesterday's person"
        );
        assert_eq!(
            names(
                &d,
                &["schedule:primary", "schedule:primary:backup"],
                &none,
                "2026-12-02T02:00:00Z"
            ),
            ["Han Meimei", "Li Lei"]
        );
        // Named people, each once; unknown names and schedules add nobody.
        assert_eq!(
            names(
                &d,
                &[
                    "person:Wang Wu",
                    "Wang Wu",
                    "Nobody",
                    "schedule:nope",
                    "schedule:primary"
                ],
                &none,
                "2026-12-01T03:00:00Z"
            ),
            ["Wang Wu", "Li Lei"]
        );
    }

    #[test]
    fn an_override_takes_the_shift() {
        let d = directory();
        let mut overrides = Overrides::new();
        overrides.insert(
            "primary".into(),
            vec![Override {
                person: "Wang Wu".into(),
                start: at("2026-12-01T12:00:00Z"),
                end: at("2026-12-02T00:00:00Z"),
                created: at("2026-12-01T11:00:00Z"),
            }],
        );
        assert_eq!(
            names(
                &d,
                &["schedule:primary"],
                &overrides,
                "2026-12-01T13:00:00Z"
            ),
            ["Wang Wu"]
        );
        assert_eq!(
            names(
                &d,
                &["schedule:primary"],
                &overrides,
                "2026-12-01T11:00:00Z"
            ),
            ["Li Lei"]
        );
        assert_eq!(
            Directory::schedules_in(["schedule:primary", "schedule:primary:backup", "Li Lei"]),
            ["primary"]
        );
    }
}
