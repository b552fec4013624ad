//! Log-line rules (`[[logs.rules]]`, `../shared/spec/errors-and-logs.md`
//! 3.6): which lines match, at what severity, in which group, and when a
//! group has matched often enough to fire. Pure: no clock (times are
//! passed in), no I/O; the handler turns a [`Fire`] into an alert
//! occurrence and applies `realert`.
//!
//! Built for throughput (≥ 500 000 lines/s through the server with a few
//! rules and ~1 % of lines matching), so the common path, a line that
//! matches nothing, costs one scan:
//! - label matchers run once per stream ([`RuleSet::for_stream`]), not per
//!   line; the result is a bit mask of the rules that apply;
//! - every rule's regex is in one [`RegexSet`], run once per line; only a
//!   rule the set reports (and the stream's mask allows) runs its own
//!   `captures` and `exclude`;
//! - `json_field` rules parse the line as JSON once per line, and only for
//!   streams they apply to;
//! - templates are parsed when the rules are compiled, not per line.
//!
//! A group's window is a ring of its last `count` match times: the rule
//! fires when the ring holds `count` times no further apart than `window`
//! (sliding, as ElastAlert's `frequency`), and again on every further match
//! while that holds (repeat control is `realert`, the handler's). The
//! number of groups is bounded; the least recently matched goes first.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::Duration;

use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use sha1::{Digest, Sha1};

use crate::config::logs::{LogRuleConfig, MAX_COUNT, MAX_RULES, ValueSource};
use crate::domain::labels::{is_valid_name, truncate_text};
use crate::domain::{Labels, Matcher, Severity};

/// A hit's line is cut to this many bytes (it is shown, not matched again).
pub const MAX_HIT_LINE: usize = 1024;
/// Every value put into a template is cut to this many characters.
pub const MAX_VALUE_CHARS: usize = 512;
/// A rendered title is cut to this many bytes.
pub const MAX_TITLE: usize = 256;
/// A rendered summary is cut to this many bytes.
pub const MAX_SUMMARY: usize = 4096;
/// The variables every rule has, besides its named groups.
pub const BUILTINS: [&str; 7] = [
    "count",
    "window",
    "first_line",
    "last_line",
    "service",
    "level",
    "rule",
];
/// Compiled-size limit of one rule's regex (and, per rule, of the set).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// A longer pattern is refused before compiling.
const MAX_PATTERN_LEN: usize = 4096;
/// The lazy-DFA cache of the shared set: large enough that a few rules
/// over long lines do not thrash it.
const SET_DFA_LIMIT: usize = 8 << 20;
/// A line's own timestamp is used for its window only within this much of
/// the receive time (spec 2.8); beyond it (a replayed backlog, a wrong
/// clock, a missing timestamp), the receive time is.
const TRUSTED_SKEW_NS: u64 = 3600 * 1_000_000_000;
/// The longest window.
const MAX_WINDOW: Duration = Duration::from_secs(24 * 3600);
/// Bits in a [`Mask`].
const MASK_BITS: usize = 256;
const _: () = assert!(MAX_RULES <= MASK_BITS);

/// A rule that does not compile: the config key, and what is wrong (the
/// message names the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config key `{key}`: {message}")]
pub struct RuleError {
    pub key: &'static str,
    pub message: String,
}

// ---------------------------------------------------------------- templates

/// A title or summary, parsed once into literal and variable parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(String),
}

/// A variable name as regex group names are spelt (`labels.NAME` fits too).
fn is_var_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_alphabetic())
        && chars.all(|c| c == '_' || c == '.' || c == '[' || c == ']' || c.is_alphanumeric())
}

impl Template {
    /// `{name}` is a variable, `{{` and `}}` are literal braces; a lone `}`
    /// is kept as written.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut rest = s;
        while let Some(i) = rest.find(['{', '}']) {
            lit.push_str(&rest[..i]);
            let brace = rest.as_bytes()[i];
            let after = &rest[i + 1..];
            if brace == b'}' {
                lit.push('}');
                rest = after.strip_prefix('}').unwrap_or(after);
                continue;
            }
            if let Some(a) = after.strip_prefix('{') {
                lit.push('{');
                rest = a;
                continue;
            }
            let Some(end) = after.find('}') else {
                return Err(
                    "has a `{` without its `}` (write `{{` for a literal brace)".to_string()
                );
            };
            let name = &after[..end];
            if !is_var_name(name) {
                return Err(format!(
                    "has `{{{}}}`, which is not a variable name (write `{{{{` for a literal brace)",
                    truncate_text(name, 40)
                ));
            }
            if !lit.is_empty() {
                parts.push(Part::Lit(std::mem::take(&mut lit)));
            }
            parts.push(Part::Var(name.to_string()));
            rest = &after[end + 1..];
        }
        lit.push_str(rest);
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Self { parts })
    }

    /// The variables used, in order (with repeats).
    pub fn vars(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Lit(_) => None,
        })
    }
}

/// Fills `template` from `vars` (the first pair of a name wins). An unknown
/// variable is the empty string; each value is cut to
/// [`MAX_VALUE_CHARS`]. Nothing is escaped: the card layer does that.
pub fn render(template: &Template, vars: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for p in &template.parts {
        match p {
            Part::Lit(s) => out.push_str(s),
            Part::Var(name) => {
                if let Some((_, v)) = vars.iter().find(|(k, _)| *k == name.as_str()) {
                    out.push_str(cut_chars(v, MAX_VALUE_CHARS));
                }
            }
        }
    }
    out
}

/// At most `max` characters of `s`.
fn cut_chars(s: &str, max: usize) -> &str {
    match s.char_indices().nth(max) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
fn cut_bytes(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

// ---------------------------------------------------------------- rules

/// Where a level or service is read from, resolved against the regex.
#[derive(Debug, Clone)]
enum Source {
    /// Index of the named group.
    Capture(usize),
    Label(String),
    Const(String),
}

/// One `group_by` entry.
#[derive(Debug, Clone)]
struct GroupPart {
    /// As written (`service`, `labels.env`): the group key's text.
    key: String,
    /// `Some(NAME)` for `labels.NAME`; `None` for a variable.
    label: Option<String>,
}

/// One rule, compiled.
#[derive(Debug)]
pub struct CompiledRule {
    pub name: String,
    /// Matches within `window` that fire.
    pub count: u32,
    pub window: Duration,
    /// No new occurrence of a group's alert within this long (the handler's).
    pub realert: Option<Duration>,
    /// Resolve after this long without a match; `None`: never.
    pub resolve_after: Option<Duration>,
    matchers: Vec<Matcher>,
    regex: Regex,
    exclude: Option<Regex>,
    json_field: Option<String>,
    /// Named groups: (index, name).
    groups: Vec<(usize, String)>,
    level: Vec<Source>,
    service: Vec<Source>,
    /// `None` values: "none", no alert.
    severity_exact: HashMap<String, Option<Severity>>,
    severity_folded: HashMap<String, Option<Severity>>,
    default_severity: Option<Severity>,
    group_by: Vec<GroupPart>,
    title: Template,
    summary: Option<Template>,
    /// Stream labels the templates read (`{labels.NAME}`).
    template_labels: Vec<String>,
    labels: Vec<(String, String)>,
    window_ns: i64,
}

/// The rule's regex (or exclude), with bounded size; errors in one line.
fn compile_pattern(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_LEN {
        return Err(format!("is longer than {MAX_PATTERN_LEN} bytes"));
    }
    RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| regex_error(&e))
}

fn regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(limit) => {
            format!("is too complex (compiled size over {limit} bytes)")
        }
        regex::Error::Syntax(text) => {
            // The text repeats the pattern over several lines; the line
            // that says what is wrong starts with "error:".
            let what = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("error:"))
                .unwrap_or(text)
                .trim();
            format!("is not a valid regex: {}", truncate_text(what, 120))
        }
        other => format!(
            "is not a valid regex: {}",
            truncate_text(&other.to_string(), 120)
        ),
    }
}

/// `critical`…`info`, or `None` for "none".
fn severity_or_none(value: &str) -> Result<Option<Severity>, ()> {
    if value.trim().eq_ignore_ascii_case("none") {
        Ok(None)
    } else {
        Severity::parse("severity", value).map(Some).map_err(|_| ())
    }
}

fn is_rule_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

impl CompiledRule {
    /// Compiles and checks one rule (spec 3.6 point 7); every error names
    /// the rule and the key.
    pub fn compile(r: &LogRuleConfig) -> Result<Self, RuleError> {
        if !is_rule_name(&r.name) {
            return Err(RuleError {
                key: "logs.rules.name",
                message: format!(
                    "`{}` must be 1 to 64 letters, digits, `-`, `_` or `.`",
                    truncate_text(&r.name, 70)
                ),
            });
        }
        let name = r.name.as_str();
        let err = |key: &'static str, message: String| RuleError {
            key,
            message: format!("rule `{name}`: {message}"),
        };
        let regex =
            compile_pattern(&r.regex).map_err(|e| err("logs.rules.regex", format!("regex {e}")))?;
        let exclude = match &r.exclude {
            Some(p) => Some(
                compile_pattern(p)
                    .map_err(|e| err("logs.rules.exclude", format!("exclude {e}")))?,
            ),
            None => None,
        };
        if r.json_field.as_deref().is_some_and(|f| f.trim().is_empty()) {
            return Err(err("logs.rules.json_field", "is empty".into()));
        }
        let groups: Vec<(usize, String)> = regex
            .capture_names()
            .enumerate()
            .filter_map(|(i, n)| n.map(|n| (i, n.to_string())))
            .collect();
        let group_index = |n: &str| groups.iter().find(|(_, g)| g == n).map(|(i, _)| *i);
        let group_list = || {
            if groups.is_empty() {
                "it has none".to_string()
            } else {
                let names: Vec<&str> = groups.iter().map(|(_, g)| g.as_str()).collect();
                format!("its named groups are {}", names.join(", "))
            }
        };

        let sources = |key: &'static str, what: &str, list: &[ValueSource]| {
            list.iter()
                .map(|s| match s {
                    ValueSource::Capture(n) => group_index(n.as_str()).map(Source::Capture).ok_or_else(|| {
                        err(
                            key,
                            format!(
                                "{what} source `capture:{n}` is not a named group of regex ({})",
                                group_list()
                            ),
                        )
                    }),
                    ValueSource::Label(n) => Ok(Source::Label(n.clone())),
                    ValueSource::Const(v) => Ok(Source::Const(v.clone())),
                })
                .collect::<Result<Vec<Source>, RuleError>>()
        };
        let level = sources("logs.rules.level", "level", r.level.0.as_slice())?;
        let service = sources("logs.rules.service", "service", r.service.0.as_slice())?;

        let mut severity_exact = HashMap::new();
        let mut severity_folded = HashMap::new();
        for (k, v) in &r.severity_map {
            let s = severity_or_none(v).map_err(|()| {
                err(
                    "logs.rules.severity_map",
                    format!(
                        "`{}` = `{}`: use critical, error, warning, info or none",
                        truncate_text(k, 40),
                        truncate_text(v, 40)
                    ),
                )
            })?;
            severity_exact.insert(k.clone(), s);
            severity_folded.entry(k.to_lowercase()).or_insert(s);
        }
        let default_severity = severity_or_none(&r.default_severity).map_err(|()| {
            err(
                "logs.rules.default_severity",
                format!(
                    "`{}`: use critical, error, warning, info or none",
                    truncate_text(&r.default_severity, 40)
                ),
            )
        })?;

        if r.count == 0 || r.count > MAX_COUNT {
            return Err(err("logs.rules.count", format!("must be 1 to {MAX_COUNT}")));
        }
        if r.window < Duration::from_secs(1) || r.window > MAX_WINDOW {
            return Err(err(
                "logs.rules.window",
                "must be between 1s and 24h".into(),
            ));
        }

        let mut group_by = Vec::with_capacity(r.group_by.len());
        for g in &r.group_by {
            let label = match g.strip_prefix("labels.") {
                Some(l) if is_valid_name(l) => Some(l.to_string()),
                Some(_) => {
                    return Err(err(
                        "logs.rules.group_by",
                        format!("`{}` does not name a label", truncate_text(g, 40)),
                    ));
                }
                None if group_index(g.as_str()).is_some() || g == "service" || g == "level" => None,
                None => {
                    return Err(err(
                        "logs.rules.group_by",
                        format!(
                            "`{}` is neither a named group of regex, service, level, nor labels.NAME",
                            truncate_text(g, 40)
                        ),
                    ));
                }
            };
            group_by.push(GroupPart {
                key: g.clone(),
                label,
            });
        }

        let mut template_labels: Vec<String> = Vec::new();
        let mut template = |key: &'static str,
                            what: &str,
                            text: &str|
         -> Result<Template, RuleError> {
            let t = Template::parse(text).map_err(|e| err(key, format!("{what} {e}")))?;
            for v in t.vars() {
                if let Some(l) = v.strip_prefix("labels.") {
                    if !is_valid_name(l) {
                        return Err(err(
                            key,
                            format!("{what} uses {{{v}}}, and `{l}` is not a label name"),
                        ));
                    }
                    if !template_labels.iter().any(|x| x == l) {
                        template_labels.push(l.to_string());
                    }
                } else if group_index(v).is_none() && !BUILTINS.contains(&v) {
                    return Err(err(
                        key,
                        format!(
                            "{what} uses {{{v}}}, which is neither a named group of regex nor one of {}; stream labels are {{labels.NAME}}",
                            BUILTINS.join(", ")
                        ),
                    ));
                }
            }
            Ok(t)
        };
        if r.title.trim().is_empty() {
            return Err(err("logs.rules.title", "title is empty".into()));
        }
        let title = template("logs.rules.title", "title", r.title.as_str())?;
        let summary = match &r.summary {
            Some(s) => Some(template("logs.rules.summary", "summary", s.as_str())?),
            None => None,
        };

        let mut labels = Vec::with_capacity(r.labels.len() + 1);
        for (k, v) in &r.labels {
            if !is_valid_name(k) || k.len() > 64 || v.len() > 1024 {
                return Err(err(
                    "logs.rules.labels",
                    format!(
                        "`{}`: names like Prometheus label names (up to 64 bytes), values up to 1024 bytes",
                        truncate_text(k, 70)
                    ),
                ));
            }
            if k == "rule" || k == "source" {
                return Err(err("logs.rules.labels", format!("`{k}` is set by ackbot")));
            }
            labels.push((k.clone(), v.clone()));
        }
        labels.push(("rule".to_string(), r.name.clone()));

        Ok(Self {
            name: r.name.clone(),
            count: r.count,
            window: r.window,
            realert: r.realert.filter(|d| !d.is_zero()),
            resolve_after: Some(r.resolve_after).filter(|d| !d.is_zero()),
            matchers: r.matchers.clone(),
            regex,
            exclude,
            json_field: r.json_field.clone(),
            groups,
            level,
            service,
            severity_exact,
            severity_folded,
            default_severity,
            group_by,
            title,
            summary,
            template_labels,
            labels,
            window_ns: i64::try_from(r.window.as_nanos()).unwrap_or(i64::MAX),
        })
    }

    /// The severity for a found level; `None`: no alert. `severity_map`
    /// first (exactly, then ignoring case); then a level that is itself a
    /// severity name ([`level_severity`]: `level="error"` from tracing-loki
    /// or winston needs no map); then `default_severity`.
    fn severity_for(&self, level: Option<&str>) -> Option<Severity> {
        let Some(level) = level else {
            return self.default_severity;
        };
        if let Some(s) = self.severity_exact.get(level) {
            return *s;
        }
        if !self.severity_folded.is_empty() {
            if let Some(s) = self.severity_folded.get(&level.to_lowercase()) {
                return *s;
            }
        }
        level_severity(level).or(self.default_severity)
    }
}

/// The severity a level names by itself, ignoring case: `critical`,
/// `error`, `warning`, `info`, and the usual short forms `crit`, `fatal`,
/// `err`, `warn`. Other levels (`debug`, `notice`, pino's `50`) need the
/// rule's `severity_map`.
pub fn level_severity(level: &str) -> Option<Severity> {
    let level = level.trim();
    if let Ok(s) = Severity::parse("level", level) {
        return Some(s);
    }
    [
        ("crit", Severity::Critical),
        ("fatal", Severity::Critical),
        ("err", Severity::Error),
        ("warn", Severity::Warning),
    ]
    .into_iter()
    .find(|(name, _)| name.eq_ignore_ascii_case(level))
    .map(|(_, s)| s)
}

// ---------------------------------------------------------------- the set

/// A set of rule indexes (at most [`MASK_BITS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Mask([u64; MASK_BITS / 64]);

impl Mask {
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1u64 << (i % 64);
    }

    fn has(&self, i: usize) -> bool {
        self.0[i / 64] & (1u64 << (i % 64)) != 0
    }

    fn and(self, other: Mask) -> Mask {
        let mut out = self;
        for (a, b) in out.0.iter_mut().zip(other.0) {
            *a &= b;
        }
        out
    }

    fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }

    fn iter(self) -> impl Iterator<Item = usize> {
        self.0.into_iter().enumerate().flat_map(|(w, mut bits)| {
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let b = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + b)
            })
        })
    }
}

/// The compiled `[[logs.rules]]`. `Send + Sync`: shared by every handler.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<CompiledRule>,
    /// The regexes of the rules that test the raw line.
    text_set: RegexSet,
    /// Set pattern index → rule index.
    text_rules: Vec<usize>,
    text_mask: Mask,
    /// Rules with `json_field`.
    json_mask: Mask,
    /// Rules without matchers apply to every stream.
    unconditional: Mask,
}

impl RuleSet {
    pub fn compile(rules: &[LogRuleConfig]) -> Result<RuleSet, String> {
        if rules.len() > MAX_RULES {
            return Err(format!("{} rules; at most {MAX_RULES}", rules.len()));
        }
        let mut compiled: Vec<CompiledRule> = Vec::with_capacity(rules.len());
        for r in rules {
            let c = CompiledRule::compile(r).map_err(|e| e.to_string())?;
            if compiled.iter().any(|x| x.name == c.name) {
                return Err(format!("two rules are named `{}`", c.name));
            }
            compiled.push(c);
        }
        let (mut text_mask, mut json_mask, mut unconditional) =
            (Mask::default(), Mask::default(), Mask::default());
        let mut text_rules = Vec::new();
        let mut patterns = Vec::new();
        for (i, r) in compiled.iter().enumerate() {
            if r.json_field.is_some() {
                json_mask.set(i);
            } else {
                text_mask.set(i);
                text_rules.push(i);
                patterns.push(r.regex.as_str());
            }
            if r.matchers.is_empty() {
                unconditional.set(i);
            }
        }
        let text_set = RegexSetBuilder::new(&patterns)
            .size_limit(REGEX_SIZE_LIMIT.saturating_mul(patterns.len().max(1)))
            .dfa_size_limit(SET_DFA_LIMIT)
            .build()
            .map_err(|e| format!("[[logs.rules]] together: {}", regex_error(&e)))?;
        Ok(RuleSet {
            rules: compiled,
            text_set,
            text_rules,
            text_mask,
            json_mask,
            unconditional,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// Rule `i` (of a [`Hit`] or [`Fire`]). Panics on an index not from
    /// this set.
    pub fn rule(&self, i: usize) -> &CompiledRule {
        &self.rules[i]
    }

    /// The rules whose matchers accept this stream's labels; evaluate once
    /// per stream, then [`StreamRules::matches`] for each of its lines.
    pub fn for_stream(&self, labels: &[(String, String)]) -> StreamRules<'_> {
        let mut mask = self.unconditional;
        // The label view is built only if some rule has matchers.
        let mut view: Option<Labels> = None;
        for (i, r) in self.rules.iter().enumerate() {
            if r.matchers.is_empty() {
                continue;
            }
            let l: &Labels = view.get_or_insert_with(|| {
                Labels::trusted(labels.iter().cloned().collect::<BTreeMap<_, _>>())
            });
            if r.matchers.iter().all(|m| m.matches(l)) {
                mask.set(i);
            }
        }
        StreamRules {
            set: self,
            text: mask.and(self.text_mask),
            json: mask.and(self.json_mask),
        }
    }

    /// Every rule that matches `line` (matchers on `line.labels` included);
    /// for one-off lines. A stream's lines are cheaper through
    /// [`RuleSet::for_stream`].
    pub fn matches(&self, line: &Line<'_>, out: &mut Vec<Hit>) {
        self.for_stream(line.labels).matches(line, out);
    }

    /// Rule `ri` on `text` (the line, or its JSON field): exclude,
    /// captures, level, severity, service, variables, group key.
    fn try_rule(&self, ri: usize, text: &str, line: &Line<'_>, out: &mut Vec<Hit>) {
        let rule = &self.rules[ri];
        if rule.exclude.as_ref().is_some_and(|x| x.is_match(text)) {
            return;
        }
        let Some(caps) = rule.regex.captures(text) else {
            return;
        };
        let level = resolve(&rule.level, &caps, line);
        let Some(severity) = rule.severity_for(level) else {
            return;
        };
        let service =
            resolve(&rule.service, &caps, line).map(|s| cut_chars(s, MAX_VALUE_CHARS).to_string());

        let mut vars: Vec<(String, String)> =
            Vec::with_capacity(rule.groups.len() + 2 + rule.template_labels.len());
        for (i, name) in &rule.groups {
            if let Some(m) = caps.get(*i) {
                vars.push((
                    name.clone(),
                    cut_chars(m.as_str(), MAX_VALUE_CHARS).to_string(),
                ));
            }
        }
        // A named group of the same name wins over the built-in.
        if let Some(l) = level {
            if !vars.iter().any(|(n, _)| n == "level") {
                vars.push(("level".into(), cut_chars(l, MAX_VALUE_CHARS).to_string()));
            }
        }
        if let Some(s) = &service {
            if !vars.iter().any(|(n, _)| n == "service") {
                vars.push(("service".into(), s.clone()));
            }
        }
        for name in &rule.template_labels {
            if let Some(v) = label_value(line, name) {
                vars.push((
                    format!("labels.{name}"),
                    cut_chars(v, MAX_VALUE_CHARS).to_string(),
                ));
            }
        }

        let mut group = String::new();
        for (n, part) in rule.group_by.iter().enumerate() {
            let value = match &part.label {
                Some(l) => label_value(line, l),
                None => vars
                    .iter()
                    .find(|(k, _)| *k == part.key)
                    .map(|(_, v)| v.as_str()),
            };
            if n > 0 {
                group.push_str(", ");
            }
            group.push_str(&part.key);
            group.push_str("=\"");
            for c in cut_chars(value.unwrap_or(""), MAX_VALUE_CHARS).chars() {
                if c == '"' || c == '\\' {
                    group.push('\\');
                }
                group.push(c);
            }
            group.push('"');
        }

        out.push(Hit {
            rule: ri,
            group,
            severity,
            service,
            vars,
            line: cut_bytes(text, MAX_HIT_LINE).to_string(),
            ts_ns: line.ts_ns,
        });
    }
}

/// A stream label, else the entry's structured metadata.
fn label_value<'a>(line: &Line<'a>, name: &str) -> Option<&'a str> {
    line.labels
        .iter()
        .chain(line.metadata)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// The first source that gives a value.
fn resolve<'x>(
    sources: &'x [Source],
    caps: &regex::Captures<'x>,
    line: &Line<'x>,
) -> Option<&'x str> {
    sources.iter().find_map(|s| match s {
        Source::Capture(i) => caps.get(*i).map(|m| m.as_str()),
        Source::Label(n) => label_value(line, n),
        Source::Const(v) => Some(v.as_str()),
    })
}

/// The string at `field` of a JSON object: the key itself, else a dotted
/// path through nested objects.
fn json_text<'v>(doc: &'v serde_json::Value, field: &str) -> Option<&'v str> {
    if let Some(v) = doc.get(field) {
        return v.as_str();
    }
    if !field.contains('.') {
        return None;
    }
    field
        .split('.')
        .try_fold(doc, |v, k| v.get(k))
        .and_then(serde_json::Value::as_str)
}

/// The rules that apply to one stream ([`RuleSet::for_stream`]).
#[derive(Debug, Clone, Copy)]
pub struct StreamRules<'r> {
    set: &'r RuleSet,
    text: Mask,
    json: Mask,
}

impl StreamRules<'_> {
    /// True when no rule applies to the stream (its lines can be skipped).
    pub fn is_empty(&self) -> bool {
        self.text.is_empty() && self.json.is_empty()
    }

    /// Appends a [`Hit`] for every rule that matches `line`.
    pub fn matches(&self, line: &Line<'_>, out: &mut Vec<Hit>) {
        let set = self.set;
        // `is_match` first: it stops at the first match and allocates
        // nothing, which is what the ~99 % of lines that match no rule
        // need; only a matching line pays for the overlapping search.
        if !self.text.is_empty() && set.text_set.is_match(line.text) {
            for p in set.text_set.matches(line.text).iter() {
                let ri = set.text_rules[p];
                if self.text.has(ri) {
                    set.try_rule(ri, line.text, line, out);
                }
            }
        }
        if !self.json.is_empty() && line.text.trim_start().starts_with('{') {
            let Ok(doc) = serde_json::from_str::<serde_json::Value>(line.text) else {
                return;
            };
            for ri in self.json.iter() {
                let field = set.rules[ri].json_field.as_deref().unwrap_or_default();
                if let Some(text) = json_text(&doc, field) {
                    set.try_rule(ri, text, line, out);
                }
            }
        }
    }
}

/// One log line as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub text: &'a str,
    /// The stream's labels.
    pub labels: &'a [(String, String)],
    /// The entry's structured metadata (NDJSON `level` too).
    pub metadata: &'a [(String, String)],
    pub ts_ns: i64,
}

/// A line that matched a rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    /// Index into the [`RuleSet`].
    pub rule: usize,
    /// The group key: `name="value"` for each `group_by` entry, joined by
    /// `, `; empty without `group_by`.
    pub group: String,
    pub severity: Severity,
    pub service: Option<String>,
    /// Named groups that took part in the match, then `level` and
    /// `service` (unless a group has the name), then `labels.NAME` the
    /// templates use; values cut to [`MAX_VALUE_CHARS`].
    pub vars: Vec<(String, String)>,
    /// The text matched (the line, or its `json_field`), cut to
    /// [`MAX_HIT_LINE`] bytes.
    pub line: String,
    pub ts_ns: i64,
}

// ---------------------------------------------------------------- windows

/// A group's state.
#[derive(Debug)]
struct Group {
    /// The last match times (ns), oldest first, at most `count`, none
    /// older than the newest minus the window.
    times: VecDeque<i64>,
    /// The first line of the current burst (matches no further apart than
    /// the window).
    first_line: String,
    /// Its position in [`Windows::order`].
    seq: u64,
}

/// Per (rule, group) match times; at most `max_groups` groups, the least
/// recently matched evicted first.
#[derive(Debug)]
pub struct Windows {
    max_groups: usize,
    groups: HashMap<(usize, String), Group>,
    /// Recency: sequence number of the last match → group.
    order: BTreeMap<u64, (usize, String)>,
    seq: u64,
}

/// A group that reached its rule's count within its window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fire {
    pub rule: usize,
    pub group: String,
    /// Cut to [`MAX_TITLE`] bytes.
    pub title: String,
    /// Empty when the rule has no summary.
    pub summary: String,
    pub severity: Severity,
    pub service: Option<String>,
    /// Matches in the window (the rule's `count`: the ring holds no more).
    pub count: u32,
    /// Hex SHA-1 of `rule name|group key`: the alert's identity (spec 3.6
    /// point 6).
    pub fingerprint_key: String,
    /// The rule's labels and `rule` = its name.
    pub labels: Vec<(String, String)>,
}

impl Windows {
    pub fn new(max_groups: usize) -> Self {
        Self {
            max_groups: max_groups.max(1),
            groups: HashMap::new(),
            order: BTreeMap::new(),
            seq: 0,
        }
    }

    /// Groups held.
    pub fn len(&self) -> usize {
        self.groups.len()
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// Counts `hit` in its group at its line's time (or `now_ns`, when
    /// that is more than an hour away); `Some` when the group now holds
    /// the rule's `count` matches within its window.
    pub fn record(&mut self, rules: &RuleSet, hit: &Hit, now_ns: i64) -> Option<Fire> {
        let rule = rules.rules.get(hit.rule)?;
        let t = if hit.ts_ns.abs_diff(now_ns) <= TRUSTED_SKEW_NS {
            hit.ts_ns
        } else {
            now_ns
        };
        self.seq += 1;
        let seq = self.seq;
        let key = (hit.rule, hit.group.clone());
        if !self.groups.contains_key(&key) {
            while self.groups.len() >= self.max_groups {
                let Some((_, oldest)) = self.order.pop_first() else {
                    break;
                };
                self.groups.remove(&oldest);
            }
        }
        let g = self.groups.entry(key.clone()).or_insert_with(|| Group {
            times: VecDeque::new(),
            first_line: String::new(),
            seq: 0,
        });
        if g.seq != 0 {
            self.order.remove(&g.seq);
        }
        g.seq = seq;
        self.order.insert(seq, key);

        let window = rule.window_ns;
        let newest = g.times.back().copied();
        if newest.is_some_and(|n| n.saturating_sub(t) > window) {
            // Older than the window of what the group already saw (a late
            // line): nothing new within any window.
            return None;
        }
        if newest.is_none_or(|n| t.saturating_sub(n) > window) {
            g.first_line = hit.line.clone();
        }
        let at = g.times.partition_point(|&x| x <= t);
        g.times.insert(at, t);
        let newest = g.times.back().copied().unwrap_or(t);
        while g
            .times
            .front()
            .is_some_and(|&f| newest.saturating_sub(f) > window)
        {
            g.times.pop_front();
        }
        while g.times.len() > rule.count as usize {
            g.times.pop_front();
        }
        if g.times.len() < rule.count as usize {
            return None;
        }

        let count = g.times.len() as u32;
        let count_text = count.to_string();
        let window_text = humantime::format_duration(rule.window).to_string();
        let mut vars: Vec<(&str, &str)> = vec![
            ("count", count_text.as_str()),
            ("window", window_text.as_str()),
            ("first_line", g.first_line.as_str()),
            ("last_line", hit.line.as_str()),
            ("rule", rule.name.as_str()),
        ];
        vars.extend(hit.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let title = cut_bytes(&render(&rule.title, &vars), MAX_TITLE).to_string();
        let summary = rule
            .summary
            .as_ref()
            .map(|s| cut_bytes(&render(s, &vars), MAX_SUMMARY).to_string())
            .unwrap_or_default();
        let fingerprint_key = hex::encode(Sha1::digest(
            format!("{}|{}", rule.name, hit.group).as_bytes(),
        ));
        Some(Fire {
            rule: hit.rule,
            group: hit.group.clone(),
            title,
            summary,
            severity: hit.severity,
            service: hit.service.clone(),
            count,
            fingerprint_key,
            labels: rule.labels.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: i64 = 1_000_000_000;
    const T0: i64 = 1_796_195_328 * SEC; // 2026-12-02 07:08:48 UTC

    /// The DESIGN's example rule, with `job="shop"` on the stream.
    const DESIGN: &str = r#"
name = "app-errors"
matchers = ['job="shop"']
regex = '(?P<timestamp>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) \[(?P<level>\w+)\] (?P<service>\w+) - (?P<message>.+)'
level = "capture:level"
service = "capture:service"
severity_map = { ERROR = "error", WARNING = "warning", INFO = "none" }
count = 1
window = "1m"
group_by = ["service", "message"]
title = "{service}: {message}"
"#;

    fn rule(text: &str) -> LogRuleConfig {
        toml::from_str(text).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn set(texts: &[&str]) -> RuleSet {
        let rules: Vec<LogRuleConfig> = texts.iter().map(|t| rule(t)).collect();
        RuleSet::compile(&rules).unwrap()
    }

    fn labels(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn hits(rules: &RuleSet, text: &str, stream: &[(String, String)], ts_ns: i64) -> Vec<Hit> {
        let mut out = Vec::new();
        rules.for_stream(stream).matches(
            &Line {
                text,
                labels: stream,
                metadata: &[],
                ts_ns,
            },
            &mut out,
        );
        out
    }

    /// The same hit, stamped `ts_ns` (and recorded at that time below).
    fn at(hit: &Hit, ts_ns: i64) -> Hit {
        Hit {
            ts_ns,
            ..hit.clone()
        }
    }

    fn var<'h>(hit: &'h Hit, name: &str) -> Option<&'h str> {
        hit.vars
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    #[test]
    fn the_design_rule_fires_on_an_error_line() {
        let rules = set(&[DESIGN]);
        let shop = labels(&[("job", "shop")]);
        let line = "2026-12-02 07:08:48 [ERROR] payment - cannot reach redis";
        let h = hits(&rules, line, &shop, T0);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].severity, Severity::Error);
        assert_eq!(h[0].service.as_deref(), Some("payment"));
        assert_eq!(
            h[0].group,
            r#"service="payment", message="cannot reach redis""#
        );
        assert_eq!(var(&h[0], "level"), Some("ERROR"));
        assert_eq!(h[0].line, line);

        let mut w = Windows::new(100);
        let fire = w
            .record(&rules, &h[0], T0)
            .expect("count = 1 fires at once");
        assert_eq!(fire.title, "payment: cannot reach redis");
        assert_eq!(fire.severity, Severity::Error);
        assert_eq!(fire.service.as_deref(), Some("payment"));
        assert_eq!(fire.count, 1);
        assert_eq!(fire.summary, "");
        assert_eq!(fire.labels, labels(&[("rule", "app-errors")]));
        let expected = hex::encode(Sha1::digest(
            br#"app-errors|service="payment", message="cannot reach redis""#,
        ));
        assert_eq!(fire.fingerprint_key, expected);
        assert_eq!(fire.fingerprint_key.len(), 40);

        // INFO maps to "none": no hit.
        let info = "2026-12-02 07:08:48 [INFO] payment - cannot reach redis";
        assert!(hits(&rules, info, &shop, T0).is_empty());
        // Unmapped level: the default severity (warning).
        let debug = "2026-12-02 07:08:48 [DEBUG] payment - cannot reach redis";
        assert_eq!(
            hits(&rules, debug, &shop, T0)[0].severity,
            Severity::Warning
        );
        // Unmapped, but a severity name itself.
        let fatal = "2026-12-02 07:08:48 [FATAL] payment - cannot reach redis";
        assert_eq!(
            hits(&rules, fatal, &shop, T0)[0].severity,
            Severity::Critical
        );
        // Case-insensitive fallback.
        let lower = "2026-12-02 07:08:48 [error] payment - cannot reach redis";
        assert_eq!(hits(&rules, lower, &shop, T0)[0].severity, Severity::Error);
        // Another job: the matcher refuses the stream.
        assert!(hits(&rules, line, &labels(&[("job", "web")]), T0).is_empty());
        assert!(rules.for_stream(&labels(&[("job", "web")])).is_empty());
        // Not the shape.
        assert!(hits(&rules, "payment - cannot reach redis", &shop, T0).is_empty());
        assert_eq!(rules.names().collect::<Vec<_>>(), ["app-errors"]);
        assert_eq!(rules.rule(0).resolve_after, Some(Duration::from_secs(900)));
    }

    #[test]
    fn level_falls_back_to_the_severity_label() {
        // Spec 3.6 point 8, on the stream of loki-json-push.json.
        let rules = set(&[r#"
name = "payment-gateway-timeout"
matchers = ['service="shop"', 'env="production"']
regex = '(?:(?P<level>ERROR|WARN)\s+)?payment gateway timeout after (?P<seconds>\d+)s order_id=(?P<order_id>\d+)'
level = ["capture:level", "label:level", "label:severity", "const:info"]
service = ["label:service", "const:shop"]
severity_map = { error = "error", ERROR = "error", WARN = "warning" }
title = "{service}: payment gateway timeout (order {order_id}, {seconds}s)"
"#]);
        let body = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/vectors/errors-and-logs-payloads/loki-json-push.json"
        ))
        .unwrap();
        let streams = crate::ingest::loki::decode(
            &body,
            crate::ingest::loki::Format::Json,
            &crate::ingest::loki::Limits::default(),
        )
        .unwrap();
        let s = &streams[0];
        let e = &s.entries[0];
        let h = hits(&rules, &e.line, &s.labels, e.ts_ns);
        assert_eq!(h.len(), 1);
        assert_eq!(var(&h[0], "level"), Some("error"), "from label:severity");
        assert_eq!(h[0].severity, Severity::Error);
        assert_eq!(h[0].service.as_deref(), Some("shop"));
        let fire = Windows::new(10).record(&rules, &h[0], e.ts_ns).unwrap();
        assert_eq!(fire.title, "shop: payment gateway timeout (order 17, 30s)");
    }

    fn counted(count: u32, window: &str, group_by: &str) -> RuleSet {
        set(&[format!(
            r#"
name = "slow"
regex = 'slow query on (?P<db>\w+)'
count = {count}
window = "{window}"
group_by = {group_by}
title = "{{db}} slow x{{count}} in {{window}}"
summary = "first: {{first_line}} last: {{last_line}}"
"#
        )
        .as_str()])
    }

    #[test]
    fn count_within_a_sliding_window() {
        let rules = counted(5, "1m", "[]");
        let h = hits(&rules, "slow query on orders", &[], T0);
        assert_eq!(h[0].group, "");
        let mut w = Windows::new(10);
        let record = |w: &mut Windows, t: i64| w.record(&rules, &at(&h[0], t), t);
        for i in 0..4 {
            assert_eq!(record(&mut w, T0 + i * 10 * SEC), None, "match {i}");
        }
        let fire = record(&mut w, T0 + 40 * SEC).expect("5th match fires");
        assert_eq!(fire.count, 5);
        assert_eq!(fire.title, "orders slow x5 in 1m");
        assert_eq!(
            fire.summary,
            "first: slow query on orders last: slow query on orders"
        );
        // Still 5 within the last minute: fires again.
        assert!(record(&mut w, T0 + 45 * SEC).is_some());
        // A late line, older than the window of what was seen: not counted.
        assert!(record(&mut w, T0 - 60 * SEC).is_none());

        // Spread over more than the window: never 5 within one minute.
        let mut w = Windows::new(10);
        for i in 0..20 {
            assert_eq!(record(&mut w, T0 + i * 20 * SEC), None, "match {i}");
        }
    }

    #[test]
    fn the_lines_own_time_counts_when_plausible() {
        let rules = counted(2, "1m", "[]");
        let h = hits(&rules, "slow query on orders", &[], T0).remove(0);
        // Two lines stamped 2 minutes apart, received together: no fire.
        let mut w = Windows::new(10);
        assert!(w.record(&rules, &at(&h, T0), T0 + 120 * SEC).is_none());
        assert!(
            w.record(&rules, &at(&h, T0 + 120 * SEC), T0 + 120 * SEC)
                .is_none()
        );
        // Stamped a day ago: the receive time counts instead.
        let mut w = Windows::new(10);
        assert!(w.record(&rules, &at(&h, T0 - 86_400 * SEC), T0).is_none());
        assert!(
            w.record(&rules, &at(&h, T0 - 86_400 * SEC), T0 + SEC)
                .is_some()
        );
    }

    #[test]
    fn group_by_separates_groups() {
        let rules = counted(2, "1m", r#"["db"]"#);
        let orders = hits(&rules, "slow query on orders", &[], T0).remove(0);
        let users = hits(&rules, "slow query on users", &[], T0).remove(0);
        assert_eq!(orders.group, r#"db="orders""#);
        let mut w = Windows::new(10);
        let mut record = |h: &Hit, t: i64| w.record(&rules, &at(h, t), t);
        assert!(record(&orders, T0).is_none());
        assert!(record(&users, T0 + SEC).is_none());
        let fire = record(&orders, T0 + 2 * SEC).expect("orders twice");
        assert_eq!(fire.title, "orders slow x2 in 1m");
        assert_eq!(fire.group, r#"db="orders""#);
        let other = record(&users, T0 + 3 * SEC).expect("users twice");
        assert_ne!(fire.fingerprint_key, other.fingerprint_key);
        assert_eq!(w.len(), 2);
    }

    #[test]
    fn the_least_recently_matched_group_is_evicted() {
        let rules = counted(2, "1m", r#"["db"]"#);
        let hit = |db: &str| hits(&rules, &format!("slow query on {db}"), &[], T0).remove(0);
        let (a, b, c) = (hit("a"), hit("b"), hit("c"));
        let mut w = Windows::new(2);
        let record = |w: &mut Windows, h: &Hit, t: i64| w.record(&rules, &at(h, t), t);
        assert!(record(&mut w, &a, T0).is_none());
        assert!(record(&mut w, &b, T0 + SEC).is_none());
        // `a` again: now `b` is the least recent; `c` evicts it.
        assert!(record(&mut w, &a, T0 + 2 * SEC).is_some());
        assert!(record(&mut w, &c, T0 + 3 * SEC).is_none());
        assert_eq!(w.len(), 2);
        // `b` starts over (its first match was evicted), evicting `a`.
        assert!(record(&mut w, &b, T0 + 4 * SEC).is_none());
        assert_eq!(w.len(), 2);
        // `c` is still there: its second match fires.
        assert!(record(&mut w, &c, T0 + 5 * SEC).is_some());
        // `a` starts over.
        assert!(record(&mut w, &a, T0 + 6 * SEC).is_none());
    }

    #[test]
    fn several_rules_json_fields_and_excludes() {
        let rules = set(&[
            r#"
name = "timeouts"
regex = 'timeout'
exclude = 'healthcheck'
title = "timeout: {last_line}"
"#,
            r#"
name = "json-errors"
regex = '^upstream (?P<what>\w+)'
json_field = "message"
title = "{what} via {labels.service} ({level})"
"#,
            r#"
name = "web-only"
matchers = ['service="web"']
regex = 'timeout'
title = "web"
"#,
        ]);
        let stream = labels(&[("level", "error"), ("service", "ackbot-demo")]);
        let json = r#"{"message":"upstream timeout after 30s","code":500}"#;
        let h = hits(&rules, json, &stream, T0);
        let names: Vec<&str> = h.iter().map(|h| rules.rule(h.rule).name.as_str()).collect();
        assert_eq!(names, ["timeouts", "json-errors"]);
        let j = &h[1];
        assert_eq!(j.line, "upstream timeout after 30s");
        assert_eq!(var(j, "labels.service"), Some("ackbot-demo"));
        let fire = Windows::new(10).record(&rules, j, T0).unwrap();
        assert_eq!(fire.title, "timeout via ackbot-demo (error)");

        assert!(hits(&rules, "GET /healthcheck timeout", &stream, T0).is_empty());
        // Not JSON: only the text rule.
        let h = hits(&rules, "upstream timeout", &stream, T0);
        assert_eq!(h.len(), 1);
        let web = labels(&[("service", "web")]);
        assert_eq!(hits(&rules, "upstream timeout", &web, T0).len(), 2);
    }

    #[test]
    fn templates() {
        let t = Template::parse("{a} and {{b}} } {labels.env}{missing}").unwrap();
        assert_eq!(t.vars().collect::<Vec<_>>(), ["a", "labels.env", "missing"]);
        assert_eq!(
            render(&t, &[("a", "1"), ("labels.env", "prod"), ("a", "2")]),
            "1 and {b} } prod"
        );
        let long = "é".repeat(600);
        let t = Template::parse("{x}").unwrap();
        assert_eq!(
            render(&t, &[("x", long.as_str())]).chars().count(),
            MAX_VALUE_CHARS
        );
        assert!(Template::parse("{unclosed").is_err());
        assert!(Template::parse("{ spaced }").is_err());
        assert!(Template::parse("{}").is_err());
        assert_eq!(Template::parse("").unwrap().vars().count(), 0);

        // Titles are cut to 256 bytes on a character boundary.
        let rules = set(&[r#"
name = "long"
regex = '(?P<x>.+)'
title = "{x}{x}"
"#]);
        let h = hits(&rules, &"é".repeat(400), &[], T0).remove(0);
        let fire = Windows::new(1).record(&rules, &h, T0).unwrap();
        assert!(fire.title.len() <= MAX_TITLE && fire.title.len() >= MAX_TITLE - 1);
        assert!(h.line.len() <= MAX_HIT_LINE);
    }

    #[test]
    fn compile_errors_name_the_rule() {
        let bad = |extra: &str| {
            let text = format!("name = \"r1\"\nregex = '(?P<a>x)'\ntitle = \"t\"\n{extra}");
            CompiledRule::compile(&rule(&text)).unwrap_err()
        };
        let e = bad("summary = \"{foo}\"");
        assert_eq!(e.key, "logs.rules.summary");
        assert!(
            e.message.starts_with("rule `r1`: summary uses {foo}"),
            "{e}"
        );
        assert_eq!(
            bad("severity_map = { X = \"urgent\" }").key,
            "logs.rules.severity_map"
        );
        assert_eq!(bad("service = \"capture:b\"").key, "logs.rules.service");
        assert_eq!(bad("window = \"2d\"").key, "logs.rules.window");
        assert_eq!(bad("count = 1001").key, "logs.rules.count");
        assert_eq!(
            bad("group_by = [\"labels.bad-name\"]").key,
            "logs.rules.group_by"
        );
        assert_eq!(bad("labels = { source = \"x\" }").key, "logs.rules.labels");
        assert_eq!(bad("json_field = \"\"").key, "logs.rules.json_field");

        let e =
            CompiledRule::compile(&rule("name = \"r1\"\nregex = '(x'\ntitle = \"t\"")).unwrap_err();
        assert_eq!(e.key, "logs.rules.regex");
        assert!(
            e.message.contains("rule `r1`: regex is not a valid regex"),
            "{e}"
        );
        let e = CompiledRule::compile(&rule(
            "name = \"r1\"\nregex = '(\\w{100}){100}'\ntitle = \"t\"",
        ))
        .unwrap_err();
        assert!(e.message.contains("too complex"), "{e}");

        let twice = rule("name = \"r1\"\nregex = 'x'\ntitle = \"t\"");
        let e = RuleSet::compile(&[twice.clone(), twice]).unwrap_err();
        assert!(e.contains("two rules are named `r1`"), "{e}");
        assert!(RuleSet::compile(&[]).unwrap().is_empty());
    }

    #[test]
    fn levels_that_name_a_severity_need_no_map() {
        // As tracing-loki pushes: label level="error", no severity_map.
        let rules = set(&[r#"
name = "redis"
regex = 'cannot reach (?P<what>\w+)'
json_field = "message"
level = ["label:level", "const:error"]
service = ["label:service"]
title = "{labels.service}: cannot reach {what}"
"#]);
        let stream = labels(&[("level", "warn"), ("service", "checkout")]);
        let line = r#"{"message":"cannot reach redis","order_id":17}"#;
        let h = hits(&rules, line, &stream, T0);
        assert_eq!(h[0].severity, Severity::Warning);
        let fire = Windows::new(1).record(&rules, &h[0], T0).unwrap();
        assert_eq!(fire.title, "checkout: cannot reach redis");
        assert_eq!(fire.service.as_deref(), Some("checkout"));
        let stream = labels(&[("level", "ERROR"), ("service", "checkout")]);
        assert_eq!(hits(&rules, line, &stream, T0)[0].severity, Severity::Error);
        // No level label: const:error.
        let stream = labels(&[("service", "checkout")]);
        assert_eq!(hits(&rules, line, &stream, T0)[0].severity, Severity::Error);
        assert_eq!(level_severity("debug"), None);
        assert_eq!(level_severity(" Info "), Some(Severity::Info));
    }

    #[test]
    fn the_rule_set_is_shareable() {
        fn shared<T: Send + Sync>() {}
        shared::<RuleSet>();
    }
}
