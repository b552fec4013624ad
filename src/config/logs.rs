//! `[logs]` and `[[logs.rules]]`: log lines pushed by Loki clients
//! (`POST /loki/api/v1/push`, `/api/prom/push`) and by scripts
//! (`POST /api/v1/logs`), and the rules that turn matching lines into
//! alerts (`crate::engine::logrules`; rule shape from
//! `../shared/spec/errors-and-logs.md` 3.6).
//!
//! A rule is checked at load by compiling it exactly as the engine will
//! ([`crate::engine::logrules::CompiledRule::compile`]): one code path
//! decides what a valid regex, source, severity or template is, so a config
//! that loads is a rule set that runs.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{ConfigError, Secret, invalid, non_empty};
use crate::domain::Matcher;

/// Rules at most: every line is tested against all of them at once
/// (one `RegexSet`), and the per-stream rule mask has room for 256.
pub const MAX_RULES: usize = 200;
/// The largest `count`: each group keeps a ring of `count` match times, so
/// 1000 × 10 000 groups is at most 80 MB.
pub const MAX_COUNT: u32 = 1000;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogsConfig {
    /// Accepted as `Authorization: Bearer <token>` or as the password of
    /// basic auth (whatever the user: Loki clients put a tenant there).
    pub tokens: Vec<Secret>,
    /// What lines become alerts; a line may match several rules.
    pub rules: Vec<LogRuleConfig>,
    /// Largest body as sent (compressed), in bytes; larger ones get 413.
    /// Shippers batch far below this (spec 2.7).
    pub max_body_bytes: usize,
    /// Largest body once decompressed (gzip, deflate, or the declared
    /// snappy length, checked before decoding); a bomb stops here with 413.
    pub max_decoded_bytes: usize,
}

impl Default for LogsConfig {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            rules: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            max_decoded_bytes: 64 * 1024 * 1024,
        }
    }
}

/// One `[[logs.rules]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogRuleConfig {
    /// Unique; part of each alert's fingerprint, and its `rule` label.
    pub name: String,
    /// Alertmanager-style matchers on the stream's labels
    /// (`job="shop"`, `env=~"prod|staging"`); all must match. Empty: every
    /// stream.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    /// The line test (Rust `regex` syntax, RE2-like); named groups become
    /// variables.
    pub regex: String,
    /// Lines matching this too are skipped.
    pub exclude: Option<String>,
    /// Test this field of a JSON line instead of the whole line (`message`;
    /// `a.b` for a nested field). Lines that are not JSON objects, or lack
    /// the field as a string, do not match the rule.
    pub json_field: Option<String>,
    /// Where the level comes from, first source that gives one wins:
    /// `capture:NAME` (a named group), `label:NAME` (a stream label, then
    /// the entry's structured metadata), `const:VALUE`. A string or a list.
    /// Default: `["label:level", "label:severity"]`.
    #[serde(default = "default_level")]
    pub level: LevelSources,
    /// Where the alert's service comes from, the same way. Default:
    /// `["label:service"]`; no source giving one: no service.
    #[serde(default = "default_service")]
    pub service: LevelSources,
    /// Level → severity (`critical`, `error`, `warning`, `info`, or `none`
    /// for no alert); looked up exactly, then ignoring case. A level the
    /// map does not name but that is a severity itself (`error`, `ERROR`,
    /// `warn`, `fatal`, …) is that severity.
    #[serde(default)]
    pub severity_map: BTreeMap<String, String>,
    /// The severity of any other level (`debug`, pino's `50`), or of no
    /// level; `none`: no alert then.
    #[serde(default = "default_severity")]
    pub default_severity: String,
    /// Matches within `window` (sliding) that fire the alert; 1: every
    /// match.
    #[serde(default = "default_count")]
    pub count: u32,
    #[serde(default = "default_window", with = "super::duration")]
    pub window: Duration,
    /// What separates groups (each its own count and alert): named groups,
    /// `service`, `level`, or `labels.NAME` for a stream label. Empty: one
    /// group for the whole rule.
    #[serde(default)]
    pub group_by: Vec<String>,
    /// The alert title: `{name}` is a named group, or one of `{count}`,
    /// `{window}`, `{first_line}`, `{last_line}`, `{service}`, `{level}`,
    /// `{rule}`; `{labels.NAME}` a stream label; `{{` and `}}` are braces.
    pub title: String,
    /// The alert text above the matched lines, with the same variables.
    pub summary: Option<String>,
    /// No new occurrence of the same group's alert within this long.
    #[serde(
        default,
        with = "opt_duration",
        skip_serializing_if = "Option::is_none"
    )]
    pub realert: Option<Duration>,
    /// The alert resolves when its group has had no match for this long;
    /// `"0s"`: never.
    #[serde(default = "default_resolve_after", with = "super::duration")]
    pub resolve_after: Duration,
    /// Extra labels on the alert, for routes (`rule` and `source` are set
    /// by ackbot).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn default_level() -> LevelSources {
    LevelSources(vec![
        ValueSource::Label("level".into()),
        ValueSource::Label("severity".into()),
    ])
}

fn default_service() -> LevelSources {
    LevelSources(vec![ValueSource::Label("service".into())])
}

fn default_severity() -> String {
    "warning".into()
}

fn default_count() -> u32 {
    1
}

fn default_window() -> Duration {
    Duration::from_secs(60)
}

fn default_resolve_after() -> Duration {
    Duration::from_secs(15 * 60)
}

/// `Option<Duration>` as an optional human duration string.
mod opt_duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        crate::config::duration::deserialize(d).map(Some)
    }

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => crate::config::duration::serialize(d, s),
            None => s.serialize_none(),
        }
    }
}

/// Where a value (a level, a service) is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// `capture:NAME`: the named group of the rule's regex.
    Capture(String),
    /// `label:NAME`: the stream label, else the entry's structured metadata.
    Label(String),
    /// `const:VALUE`: always this.
    Const(String),
}

impl ValueSource {
    pub fn parse(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "`{}` is not a source; write capture:NAME, label:NAME or const:VALUE",
                crate::domain::labels::truncate_text(s, 60)
            )
        };
        let (kind, rest) = s.split_once(':').ok_or_else(bad)?;
        match kind.trim() {
            "capture" if !rest.trim().is_empty() => Ok(Self::Capture(rest.trim().to_string())),
            "label" if crate::domain::labels::is_valid_name(rest.trim()) => {
                Ok(Self::Label(rest.trim().to_string()))
            }
            "label" => Err(format!(
                "`{}` does not name a label (letters, digits and `_`)",
                crate::domain::labels::truncate_text(s, 60)
            )),
            "const" if !rest.is_empty() => Ok(Self::Const(rest.to_string())),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for ValueSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Capture(n) => write!(f, "capture:{n}"),
            Self::Label(n) => write!(f, "label:{n}"),
            Self::Const(v) => write!(f, "const:{v}"),
        }
    }
}

/// `level` and `service` of a rule: one source or a list, tried in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LevelSources(pub Vec<ValueSource>);

impl<'de> Deserialize<'de> for LevelSources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SourcesVisitor;
        impl<'de> Visitor<'de> for SourcesVisitor {
            type Value = LevelSources;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a source like \"capture:level\", \"label:severity\" or \"const:error\", or a list of them",
                )
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<LevelSources, E> {
                ValueSource::parse(v)
                    .map(|s| LevelSources(vec![s]))
                    .map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<LevelSources, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(ValueSource::parse(&s).map_err(<A::Error as de::Error>::custom)?);
                }
                Ok(LevelSources(out))
            }
        }
        d.deserialize_any(SourcesVisitor)
    }
}

impl Serialize for LevelSources {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ToString::to_string))
    }
}

impl LogsConfig {
    /// Checks what the types cannot; each rule is compiled as the engine
    /// will run it, and its errors name the rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for t in &self.tokens {
            non_empty(t, "logs.tokens")?;
        }
        if !(1024..=256 * 1024 * 1024).contains(&self.max_body_bytes) {
            return Err(invalid(
                "logs.max_body_bytes",
                "must be between 1024 and 268435456",
            ));
        }
        if self.max_decoded_bytes < self.max_body_bytes
            || self.max_decoded_bytes > 1024 * 1024 * 1024
        {
            return Err(invalid(
                "logs.max_decoded_bytes",
                "must be at least max_body_bytes and at most 1073741824",
            ));
        }
        if self.rules.len() > MAX_RULES {
            return Err(invalid(
                "logs.rules",
                format!("{} rules; at most {MAX_RULES}", self.rules.len()),
            ));
        }
        let mut names = std::collections::HashSet::new();
        for r in &self.rules {
            crate::engine::logrules::CompiledRule::compile(r)
                .map_err(|e| invalid(e.key, e.message))?;
            if !names.insert(r.name.as_str()) {
                return Err(invalid(
                    "logs.rules.name",
                    format!("two rules are named `{}`", r.name),
                ));
            }
        }
        // Each rule compiles; so must all of them in one RegexSet.
        crate::engine::logrules::RuleSet::compile(&self.rules)
            .map_err(|e| invalid("logs.rules", e))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The DESIGN's example, verbatim.
    const DESIGN: &str = r#"
tokens = ["0123456789abcdef"]
[[rules]]
name = "app-errors"
matchers = ['job="shop"']                  # on stream labels
regex = '(?P<timestamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>\w+)\] (?P<service>\w+) - (?P<message>.+)'
level = "capture:level"
service = "capture:service"
severity_map = { ERROR = "error", WARNING = "warning", INFO = "none" }
count = 1
window = "1m"
group_by = ["service", "message"]
title = "{service}: {message}"
"#;

    fn load(text: &str) -> Result<LogsConfig, String> {
        let c: LogsConfig = toml::from_str(text).map_err(|e| e.to_string())?;
        c.validate().map_err(|e| e.to_string())?;
        Ok(c)
    }

    /// The DESIGN rule with one line replaced (`key = …`) or added.
    fn with(key: &str, line: &str) -> String {
        let mut out: Vec<String> = DESIGN
            .lines()
            .filter(|l| !l.starts_with(&format!("{key} =")))
            .map(str::to_string)
            .collect();
        out.push(line.to_string());
        out.join("\n")
    }

    #[test]
    fn the_design_example_loads() {
        let c = load(DESIGN).unwrap();
        assert_eq!(c.tokens[0].expose(), "0123456789abcdef");
        assert_eq!(c.max_body_bytes, 10 * 1024 * 1024);
        assert_eq!(c.max_decoded_bytes, 64 * 1024 * 1024);
        let r = &c.rules[0];
        assert_eq!(r.name, "app-errors");
        assert_eq!(r.matchers[0].name(), "job");
        assert_eq!(
            r.level,
            LevelSources(vec![ValueSource::Capture("level".into())])
        );
        assert_eq!(r.severity_map["INFO"], "none");
        assert_eq!((r.count, r.window), (1, Duration::from_secs(60)));
        assert_eq!(r.default_severity, "warning");
        assert_eq!(r.resolve_after, Duration::from_secs(900));
        assert_eq!(r.realert, None);
        assert_eq!(r.group_by, ["service", "message"]);
    }

    #[test]
    fn defaults_and_lists() {
        let c = load(
            r#"
[[rules]]
name = "x"
regex = 'timeout (?P<n>\d+)'
level = ["capture:n", "label:severity", "const:error"]
realert = "10m"
resolve_after = "0s"
title = "{labels.env} {n} x{count} in {window}: {last_line}"
summary = "first: {first_line}, rule {rule}, {{literal}}"
"#,
        )
        .unwrap();
        let r = &c.rules[0];
        assert_eq!(
            r.level.0,
            [
                ValueSource::Capture("n".into()),
                ValueSource::Label("severity".into()),
                ValueSource::Const("error".into()),
            ]
        );
        assert_eq!(r.service.0, [ValueSource::Label("service".into())]);
        assert_eq!(r.realert, Some(Duration::from_secs(600)));
        assert_eq!(r.resolve_after, Duration::ZERO);
        assert!(c.tokens.is_empty());
        assert!(load("").unwrap().rules.is_empty());
    }

    #[test]
    fn errors_name_the_rule_and_the_key() {
        let e = load(&with("title", r#"title = "{service}: {foo}""#)).unwrap_err();
        assert!(e.contains("logs.rules.title"), "{e}");
        assert!(e.contains("`app-errors`"), "{e}");
        assert!(
            e.contains("title uses {foo}, which is neither a named group of regex nor one of count, window, first_line, last_line, service, level, rule; stream labels are {labels.NAME}"),
            "{e}"
        );

        let e = load(&with("regex", r#"regex = '(?P<level>\w+'"#)).unwrap_err();
        assert!(
            e.contains("logs.rules.regex") && e.contains("`app-errors`"),
            "{e}"
        );

        let e = load(&with(
            "severity_map",
            r#"severity_map = { ERROR = "fatal" }"#,
        ))
        .unwrap_err();
        assert!(
            e.contains("logs.rules.severity_map") && e.contains("`app-errors`"),
            "{e}"
        );
        assert!(e.contains("fatal"), "{e}");

        let e = load(&with("default_severity", r#"default_severity = "loud""#)).unwrap_err();
        assert!(e.contains("logs.rules.default_severity"), "{e}");

        let e = load(&with("level", r#"level = "capture:lvl""#)).unwrap_err();
        assert!(e.contains("logs.rules.level") && e.contains("lvl"), "{e}");

        let e = load(&with("level", r#"level = "env:LEVEL""#)).unwrap_err();
        assert!(e.contains("capture:NAME"), "{e}");

        let e = load(&with("group_by", r#"group_by = ["host"]"#)).unwrap_err();
        assert!(
            e.contains("logs.rules.group_by") && e.contains("host"),
            "{e}"
        );
        load(&with("group_by", r#"group_by = ["labels.host", "level"]"#)).unwrap();

        let e = load(&with("count", "count = 0")).unwrap_err();
        assert!(e.contains("logs.rules.count"), "{e}");

        let e = load(&with("window", r#"window = "500ms""#)).unwrap_err();
        assert!(e.contains("logs.rules.window"), "{e}");

        let e = load(&with("matchers", r#"matchers = ['job~"shop"']"#)).unwrap_err();
        assert!(e.contains("job"), "{e}");

        let e = load(&with("exclude", r#"exclude = '[unclosed'"#)).unwrap_err();
        assert!(e.contains("logs.rules.exclude"), "{e}");

        let e = load(&with("title", r#"title = "oops {service""#)).unwrap_err();
        assert!(e.contains("logs.rules.title"), "{e}");

        let e = load(&with("labels", r#"labels = { rule = "x" }"#)).unwrap_err();
        assert!(e.contains("logs.rules.labels"), "{e}");

        let e = load(&with("colour", r#"colour = "red""#)).unwrap_err();
        assert!(e.contains("colour"), "{e}");
    }

    #[test]
    fn set_level_checks() {
        let twice = format!("{DESIGN}\n{}", &DESIGN[DESIGN.find("[[rules]]").unwrap()..]);
        let e = load(&twice).unwrap_err();
        assert!(e.contains("two rules are named `app-errors`"), "{e}");

        let e = load(r#"tokens = [""]"#).unwrap_err();
        assert!(e.contains("logs.tokens"), "{e}");

        let e = load("max_body_bytes = 10\n").unwrap_err();
        assert!(e.contains("logs.max_body_bytes"), "{e}");

        let many: String = (0..=MAX_RULES)
            .map(|i| format!("[[rules]]\nname = \"r{i}\"\nregex = 'x'\ntitle = \"t\"\n"))
            .collect();
        let e = load(&many).unwrap_err();
        assert!(e.contains("at most 200"), "{e}");
    }

    #[test]
    fn serializes_back_for_check_config() {
        let c = load(DESIGN).unwrap();
        let text = toml::to_string(&c).unwrap();
        assert!(text.contains("capture:level"), "{text}");
        assert!(!text.contains("0123456789abcdef"), "{text}");
        let again: LogsConfig = toml::from_str(&text).unwrap();
        again.validate().unwrap();
        assert_eq!(again.rules[0].title, "{service}: {message}");
    }
}
