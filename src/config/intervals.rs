//! `[[time_intervals]]` as written in `ackbot.toml`, in Alertmanager's shape
//! (a name and a list of `time_intervals` with `times`, `weekdays`,
//! `days_of_month`, `months`, `years`, `location`), compiled into
//! [`crate::engine::interval::TimeInterval`] at load and on reload: a bad
//! spec refuses the configuration with Alertmanager's message and the
//! interval's name.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::{ConfigError, RouteConfig, invalid};
use crate::engine::interval::{self, IntervalError, Spec, TimeInterval};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimeIntervalConfig {
    pub name: String,
    #[serde(default)]
    pub time_intervals: Vec<SpecConfig>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SpecConfig {
    pub times: Option<Vec<TimesConfig>>,
    pub weekdays: Option<Vec<String>>,
    pub days_of_month: Option<Vec<RangeValue>>,
    pub months: Option<Vec<RangeValue>>,
    pub years: Option<Vec<RangeValue>>,
    pub location: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TimesConfig {
    pub start_time: Option<String>,
    pub end_time: Option<String>,
}

/// `"1:5"`, `"-3:-1"`, `"may:august"`, or a bare number (`5`, `2026`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum RangeValue {
    Number(i64),
    Text(String),
}

impl RangeValue {
    fn text(&self) -> String {
        match self {
            Self::Number(n) => n.to_string(),
            Self::Text(s) => s.clone(),
        }
    }
}

fn list<T, R>(
    field: &str,
    values: &Option<Vec<T>>,
    parse: impl Fn(&T) -> Result<R, IntervalError>,
) -> Result<Option<Vec<R>>, IntervalError> {
    match values {
        None => Ok(None),
        Some(v) if v.is_empty() => Err(IntervalError(format!(
            "`{field} = []` would match nothing; leave it out to match every {field}"
        ))),
        Some(v) => v.iter().map(parse).collect::<Result<Vec<_>, _>>().map(Some),
    }
}

impl SpecConfig {
    pub fn compile(&self) -> Result<Spec, IntervalError> {
        Ok(Spec {
            times: list("times", &self.times, |t| {
                interval::parse_times(t.start_time.as_deref(), t.end_time.as_deref())
            })?,
            weekdays: list("weekdays", &self.weekdays, |s| interval::parse_weekdays(s))?,
            days_of_month: list("days_of_month", &self.days_of_month, |v| {
                interval::parse_days_of_month(&v.text())
            })?,
            months: list("months", &self.months, |v| {
                interval::parse_months(&v.text())
            })?,
            years: list("years", &self.years, |v| interval::parse_years(&v.text()))?,
            location: interval::parse_location(self.location.as_deref().unwrap_or(""))?,
        })
    }
}

/// Every interval compiled, by name; refuses a missing or repeated name and
/// a spec that does not parse.
pub fn compile(
    configs: &[TimeIntervalConfig],
) -> Result<HashMap<String, TimeInterval>, ConfigError> {
    let mut out = HashMap::new();
    for c in configs {
        if c.name.trim().is_empty() {
            return Err(invalid(
                "time_intervals.name",
                "missing name in time interval",
            ));
        }
        let mut specs = Vec::with_capacity(c.time_intervals.len());
        for (i, s) in c.time_intervals.iter().enumerate() {
            specs.push(s.compile().map_err(|e| {
                invalid(
                    "time_intervals.time_intervals",
                    format!("`{}` (entry {}): {e}", c.name, i + 1),
                )
            })?);
        }
        let interval = TimeInterval {
            name: c.name.clone(),
            specs,
        };
        if out.insert(c.name.clone(), interval).is_some() {
            return Err(invalid(
                "time_intervals.name",
                format!("time interval \"{}\" is not unique", c.name),
            ));
        }
    }
    Ok(out)
}

/// Routes name only intervals that exist.
pub fn validate(configs: &[TimeIntervalConfig], routes: &[RouteConfig]) -> Result<(), ConfigError> {
    let known = compile(configs)?;
    for r in routes {
        for (key, names) in [
            ("routes.mute_time_intervals", &r.mute_time_intervals),
            ("routes.active_time_intervals", &r.active_time_intervals),
        ] {
            if let Some(name) = names.iter().find(|n| !known.contains_key(*n)) {
                return Err(invalid(
                    key,
                    format!("undefined time interval \"{name}\" used in route"),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(toml_text: &str) -> Result<HashMap<String, TimeInterval>, String> {
        #[derive(Deserialize)]
        struct Doc {
            time_intervals: Vec<TimeIntervalConfig>,
        }
        let doc: Doc = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        compile(&doc.time_intervals).map_err(|e| e.to_string())
    }

    #[test]
    fn the_design_example_compiles_and_numbers_may_be_bare() {
        let m = parse(
            r#"
[[time_intervals]]
name = "office-hours"
[[time_intervals.time_intervals]]
weekdays = ["monday:friday"]
times = [{ start_time = "09:00", end_time = "18:00" }]
location = "Asia/Shanghai"
[[time_intervals]]
name = "month-end"
[[time_intervals.time_intervals]]
days_of_month = ["-3:-1", 15]
months = ["january:march", 12]
years = [2026, "2028:2030"]
"#,
        )
        .unwrap();
        let office = &m["office-hours"].specs[0];
        assert_eq!(office.times, Some(vec![(540, 1080)]));
        assert_eq!(office.weekdays, Some(vec![(1, 5)]));
        assert_eq!(office.location, chrono_tz::Asia::Shanghai);
        let end = &m["month-end"].specs[0];
        assert_eq!(end.days_of_month, Some(vec![(-3, -1), (15, 15)]));
        assert_eq!(end.months, Some(vec![(1, 3), (12, 12)]));
        assert_eq!(end.years, Some(vec![(2026, 2026), (2028, 2030)]));
        assert_eq!(end.location, chrono_tz::Tz::UTC);
    }

    #[test]
    fn a_bad_spec_names_its_interval_and_says_what_alertmanager_says() {
        let e = parse(
            r#"
[[time_intervals]]
name = "nights"
[[time_intervals.time_intervals]]
times = [{ start_time = "22:00", end_time = "06:00" }]
"#,
        )
        .unwrap_err();
        assert!(
            e.contains("`nights` (entry 1): start time cannot be equal or greater than end time"),
            "{e}"
        );
        let e = parse(
            "[[time_intervals]]\nname = \"x\"\n[[time_intervals.time_intervals]]\nweekdays = []\n",
        )
        .unwrap_err();
        assert!(e.contains("would match nothing"), "{e}");
        let e = parse("[[time_intervals]]\nname = \"x\"\n[[time_intervals]]\nname = \"x\"\n")
            .unwrap_err();
        assert!(e.contains("time interval \"x\" is not unique"), "{e}");
        let e = parse("[[time_intervals]]\nname = \"\"\n").unwrap_err();
        assert!(e.contains("missing name in time interval"), "{e}");
        let e = parse(
            "[[time_intervals]]\nname = \"x\"\n[[time_intervals.time_intervals]]\nweekday = [\"monday\"]\n",
        )
        .unwrap_err();
        assert!(
            e.contains("unknown field `weekday`"),
            "a typo is not ignored: {e}"
        );
    }
}
