//! Alertmanager-style label matchers: `name OP value`, with OP one of `=`,
//! `!=`, `=~`, `!~`, as written in routes (`matchers = ['severity="critical"',
//! 'team=~"db|infra"']`) and silences.
//!
//! Semantics follow Prometheus Alertmanager:
//! - a label that is absent matches as the empty string, so `foo=""` matches
//!   alerts without `foo` and `foo!=""` means `foo` is set;
//! - regexes are fully anchored (`^(?:VALUE)$`).
//!
//! Syntax: whitespace is allowed around the parts. The name is a Prometheus
//! label name. The value is either double-quoted, with the escapes `\"`, `\\`
//! and `\n` (any other `\x` is kept as the two characters, as Alertmanager
//! does, so regexes like `"host\d+"` work), or unquoted: non-space characters
//! without quotes, commas or braces (`env=prod`), with the same escapes.

use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::DomainError;
use super::labels::{self, Labels, MAX_VALUE_LEN};

/// The field every matcher error is reported against.
const FIELD: &str = "matchers";
/// A matcher value (regex or literal) longer than this (bytes) is refused.
pub const MAX_MATCHER_VALUE_LEN: usize = MAX_VALUE_LEN;
/// Compiled-size limit for one matcher regex, so a hostile pattern (`(a{100}){100}`)
/// cannot take memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// How much of a bad input an error message quotes.
const QUOTE_CHARS: usize = 60;

/// The matcher operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchOp {
    /// `=`
    Equal,
    /// `!=`
    NotEqual,
    /// `=~`, fully anchored
    Regex,
    /// `!~`, fully anchored
    NotRegex,
}

impl MatchOp {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchOp::Equal => "=",
            MatchOp::NotEqual => "!=",
            MatchOp::Regex => "=~",
            MatchOp::NotRegex => "!~",
        }
    }

    pub fn is_regex(self) -> bool {
        matches!(self, MatchOp::Regex | MatchOp::NotRegex)
    }
}

impl fmt::Display for MatchOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One label matcher. Constructed only through [`Matcher::new`] or
/// [`Matcher::parse`], so the name is valid and a regex is compiled.
#[derive(Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    /// `Some` exactly for `=~` and `!~`.
    regex: Option<Regex>,
}

impl Matcher {
    /// Builds a matcher from its parts; refuses a bad name, a value longer
    /// than [`MAX_MATCHER_VALUE_LEN`] and an invalid or too complex regex.
    pub fn new(
        name: impl Into<String>,
        op: MatchOp,
        value: impl Into<String>,
    ) -> Result<Self, DomainError> {
        let (name, value) = (name.into(), value.into());
        build(name, op, value).map_err(|(name, op, value, why)| {
            let shown = format!("{name}{op}\"{}\"", escape(&value));
            bad(&shown, &why)
        })
    }

    /// Parses `name OP value` (see the module docs for the syntax).
    pub fn parse(input: &str) -> Result<Self, DomainError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DomainError::new(
                FIELD,
                "empty matcher; expected `name=\"value\"` (operators =, !=, =~, !~)",
            ));
        }
        let Some((at, op)) = find_op(s) else {
            return Err(bad(
                input,
                "no operator; expected `name=\"value\"` (operators =, !=, =~, !~)",
            ));
        };
        let name = s[..at].trim();
        // The name first: `{a="x"}` is about the brace, not the value.
        check_name(name).map_err(|why| bad(input, &why))?;
        let raw = s[at + op.as_str().len()..].trim();
        let value = parse_value(raw).map_err(|why| bad(input, &why))?;
        build(name.to_string(), op, value).map_err(|(.., why)| bad(input, &why))
    }

    /// True if the labels satisfy this matcher; an absent label is the empty
    /// string.
    pub fn matches(&self, labels: &Labels) -> bool {
        let actual = labels.get(&self.name).unwrap_or("");
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => actual == self.value,
            (MatchOp::NotEqual, _) => actual != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(actual),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(actual),
            // `build` compiles a regex for every regex operator.
            (MatchOp::Regex | MatchOp::NotRegex, None) => {
                unreachable!("regex matcher without regex")
            }
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn op(&self) -> MatchOp {
        self.op
    }

    /// The unescaped value (for regex operators, the pattern without the
    /// anchors).
    pub fn value(&self) -> &str {
        &self.value
    }
}

/// Parses every item as one matcher; the first bad item is the error.
pub fn parse_list(items: &[String]) -> Result<Vec<Matcher>, DomainError> {
    items.iter().map(|s| Matcher::parse(s)).collect()
}

/// True if every matcher matches; an empty list matches everything.
pub fn all_match(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers.iter().all(|m| m.matches(labels))
}

/// True if the matchers also match an alert that has none of their labels
/// (`team=~".*"`, `env!="x"`): as a silence, a misspelt label name would
/// then silence every alert.
pub fn match_unlabelled(matchers: &[Matcher]) -> bool {
    all_match(matchers, &Labels::default())
}

/// A refusal whose reason is the second element; the parts are handed back so
/// `new` can show them.
type BuildError = (String, MatchOp, String, String);

fn check_name(name: &str) -> Result<(), String> {
    if labels::is_valid_name(name) {
        Ok(())
    } else if name.is_empty() {
        Err("no label name before the operator".to_string())
    } else {
        Err(format!(
            "`{}` is not a valid label name (letters, digits and `_`, not starting with a digit, at most {})",
            labels::truncate(name, 40),
            labels::MAX_NAME_LEN
        ))
    }
}

fn build(name: String, op: MatchOp, value: String) -> Result<Matcher, BuildError> {
    if let Err(why) = check_name(&name) {
        return Err((name, op, value, why));
    }
    if value.len() > MAX_MATCHER_VALUE_LEN {
        let why = format!("value is longer than {MAX_MATCHER_VALUE_LEN} bytes");
        return Err((name, op, value, why));
    }
    let regex = if op.is_regex() {
        match compile(&value) {
            Ok(re) => Some(re),
            Err(why) => return Err((name, op, value, why)),
        }
    } else {
        None
    };
    Ok(Matcher {
        name,
        op,
        value,
        regex,
    })
}

/// Compiled regexes by pattern, shared by every matcher: silences are read
/// from the store on every ingest commit and every alert read, and
/// compiling `\w{20}` each time cost milliseconds per silence. A pattern
/// is its own key, so a changed silence needs no invalidation; the map is
/// bounded by [`REGEX_CACHE`] entries (cleared when full).
static COMPILED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Regex>>> =
    std::sync::LazyLock::new(Default::default);
/// Patterns the cache keeps: more than the active silences may hold
/// ([`super::silence::MAX_ACTIVE_SILENCES`] × their regex matchers is the
/// worst case, and a full cache only costs compiling again).
const REGEX_CACHE: usize = 4096;

fn compile(pattern: &str) -> Result<Regex, String> {
    let cache = || COMPILED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(re) = cache().get(pattern) {
        return Ok(re.clone());
    }
    let re = compile_uncached(pattern)?;
    let mut cache = cache();
    if cache.len() >= REGEX_CACHE {
        cache.clear();
    }
    cache.insert(pattern.to_string(), re.clone());
    Ok(re)
}

fn compile_uncached(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => {
                format!("regex is too complex (compiled size over {limit} bytes)")
            }
            regex::Error::Syntax(text) => {
                // The syntax error text repeats the pattern over several lines;
                // the line that says what is wrong starts with "error:".
                let what = text
                    .lines()
                    .find_map(|l| l.trim().strip_prefix("error:"))
                    .unwrap_or(&text)
                    .trim();
                format!("invalid regex: {}", labels::truncate(what, 120))
            }
            other => format!(
                "invalid regex: {}",
                labels::truncate(&other.to_string(), 120)
            ),
        })
}

/// The first operator outside of the value: the first `=` (read as `=~` when
/// followed by `~`), or `!` followed by `=` or `~`.
fn find_op(s: &str) -> Option<(usize, MatchOp)> {
    let b = s.as_bytes();
    for i in 0..b.len() {
        let next = b.get(i + 1).copied();
        match (b[i], next) {
            (b'=', Some(b'~')) => return Some((i, MatchOp::Regex)),
            (b'=', _) => return Some((i, MatchOp::Equal)),
            (b'!', Some(b'=')) => return Some((i, MatchOp::NotEqual)),
            (b'!', Some(b'~')) => return Some((i, MatchOp::NotRegex)),
            _ => {}
        }
    }
    None
}

/// Unescapes a trimmed value, quoted or not.
fn parse_value(raw: &str) -> Result<String, String> {
    if let Some(body) = raw.strip_prefix('"') {
        let mut out = String::with_capacity(body.len());
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => {
                    let rest = &body[i + 1..];
                    if rest.is_empty() {
                        return Ok(out);
                    }
                    return Err(format!(
                        "unexpected `{}` after the closing quote (escape a quote in the value as \\\")",
                        labels::truncate(rest.trim_start(), 20)
                    ));
                }
                '\\' => match chars.next() {
                    Some((_, e)) => unescape_into(&mut out, e),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("unterminated quoted value (missing the closing `\"`)".to_string());
    }
    if let Some(bad) = raw
        .chars()
        .find(|c| c.is_whitespace() || matches!(c, '"' | '\'' | ',' | '{' | '}'))
    {
        let what = match bad {
            '\'' => "a single quote".to_string(),
            c if c.is_whitespace() => "whitespace".to_string(),
            c => format!("`{c}`"),
        };
        return Err(format!(
            "unquoted value contains {what}; put the value in double quotes"
        ));
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        match (c, chars.clone().next()) {
            ('\\', Some(e)) => {
                chars.next();
                unescape_into(&mut out, e);
            }
            (c, _) => out.push(c),
        }
    }
    Ok(out)
}

/// `\n`, `\"` and `\\` are escapes; any other `\x` stays as written.
fn unescape_into(out: &mut String, e: char) {
    match e {
        'n' => out.push('\n'),
        '"' | '\\' => out.push(e),
        other => {
            out.push('\\');
            out.push(other);
        }
    }
}

/// The value as written between double quotes.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn bad(input: &str, why: &str) -> DomainError {
    DomainError::new(
        FIELD,
        format!("`{}`: {why}", labels::truncate(input, QUOTE_CHARS)),
    )
}

impl fmt::Display for Matcher {
    /// The canonical form `name="value"`, which [`Matcher::parse`] reads back.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}\"{}\"", self.name, self.op, escape(&self.value))
    }
}

impl fmt::Debug for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Matcher")
            .field("name", &self.name)
            .field("op", &self.op)
            .field("value", &self.value)
            .finish()
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Eq for Matcher {}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Matcher::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::labels::test_labels as labels;
    use proptest::prelude::*;

    fn m(s: &str) -> Matcher {
        Matcher::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> String {
        let e = Matcher::parse(s).expect_err(s);
        assert_eq!(e.field, "matchers");
        e.message
    }

    #[test]
    fn each_operator() {
        let l = labels(&[("severity", "critical"), ("team", "db")]);
        assert!(m(r#"severity="critical""#).matches(&l));
        assert!(!m(r#"severity="warning""#).matches(&l));
        assert!(m(r#"severity!="warning""#).matches(&l));
        assert!(!m(r#"severity!="critical""#).matches(&l));
        assert!(m(r#"team=~"db|infra""#).matches(&l));
        assert!(!m(r#"team=~"infra|web""#).matches(&l));
        assert!(m(r#"team!~"infra|web""#).matches(&l));
        assert!(!m(r#"team!~"db|infra""#).matches(&l));
        let p = m(r#"team=~"db|infra""#);
        assert_eq!(
            (p.name(), p.op(), p.value()),
            ("team", MatchOp::Regex, "db|infra")
        );
    }

    #[test]
    fn regexes_are_fully_anchored() {
        let l = labels(&[("team", "dbx"), ("env", "prod")]);
        assert!(!m(r#"team=~"db""#).matches(&l));
        assert!(!m(r#"team=~"b.""#).matches(&l));
        assert!(m(r#"team=~"db.""#).matches(&l));
        // The alternation stays inside the anchors.
        assert!(!m(r#"env=~"pro|x""#).matches(&l));
        assert!(m(r#"team!~"db""#).matches(&l));
    }

    #[test]
    fn absent_label_is_the_empty_string() {
        let without = labels(&[("env", "prod")]);
        let with = labels(&[("foo", "x")]);
        assert!(m(r#"foo="""#).matches(&without));
        assert!(!m(r#"foo="""#).matches(&with));
        assert!(!m(r#"foo!="""#).matches(&without));
        assert!(m(r#"foo!="""#).matches(&with));
        assert!(m(r#"foo=~".*""#).matches(&without));
        assert!(!m(r#"foo=~".+""#).matches(&without));
        assert!(m(r#"foo!~"x""#).matches(&without));
        assert!(!m(r#"foo="x""#).matches(&without));
    }

    #[test]
    fn escapes() {
        assert_eq!(m(r#"a="say \"hi\"""#).value(), r#"say "hi""#);
        assert_eq!(m(r#"a="back\\slash""#).value(), r"back\slash");
        assert_eq!(m(r#"a="two\nlines""#).value(), "two\nlines");
        // Other escapes stay as written (Alertmanager), so regex classes work.
        assert_eq!(m(r#"a=~"host\d+""#).value(), r"host\d+");
        assert!(m(r#"a=~"host\d+""#).matches(&labels(&[("a", "host42")])));
        assert_eq!(m(r#"a="x,y {z}""#).value(), "x,y {z}");
        let tricky = Matcher::new("a", MatchOp::Equal, "q\"b\\n\nz").unwrap();
        assert_eq!(tricky.to_string(), r#"a="q\"b\\n\nz""#);
        assert_eq!(m(&tricky.to_string()), tricky);
    }

    #[test]
    fn unquoted_values() {
        let p = m("env=prod");
        assert_eq!(
            (p.name(), p.op(), p.value()),
            ("env", MatchOp::Equal, "prod")
        );
        assert_eq!(m("env!=").value(), "");
        assert_eq!(m("code=~5..").value(), "5..");
        assert_eq!(m("x==y").value(), "=y");
        assert_eq!(m("env=prod").to_string(), r#"env="prod""#);
    }

    #[test]
    fn whitespace_around_parts() {
        let p = m("  team  =~  \"db|infra\"  ");
        assert_eq!(
            (p.name(), p.op(), p.value()),
            ("team", MatchOp::Regex, "db|infra")
        );
        assert_eq!(m("\tenv != prod\n").value(), "prod");
        assert_eq!(m(r#"a=" padded ""#).value(), " padded ");
        assert_eq!(m("a = \"\"").value(), "");
    }

    #[test]
    fn parse_errors() {
        assert!(err("").contains("empty"));
        assert!(err("   ").contains("empty"));
        let e = err("severity");
        assert!(e.contains("`severity`") && e.contains("no operator"), "{e}");
        assert!(err("a ~ b").contains("no operator"));
        let e = err(r#"9lives="x""#);
        assert!(
            e.contains("`9lives`") && e.contains("not a valid label name"),
            "{e}"
        );
        assert!(err(r#"a-b="x""#).contains("not a valid label name"));
        assert!(err(r#"a.b="x""#).contains("not a valid label name"));
        assert!(err(r#"="x""#).contains("no label name"));
        let e = err(r#"a="open"#);
        assert!(
            e.contains("unterminated") && e.contains(r#"`a="open`"#),
            "{e}"
        );
        assert!(err(r#"a="ends with escaped quote\""#).contains("unterminated"));
        assert!(err(r#"a="x"y""#).contains("after the closing quote"));
        assert!(err(r#"a="x" y"#).contains("after the closing quote"));
        assert!(err("a=two words").contains("whitespace"));
        assert!(err("a='x'").contains("single quote"));
        assert!(err("a=x,b=y").contains("`,`"));
        assert!(err("{a=x}").contains("not a valid label name"));
        let e = err(r#"a=~"(unclosed""#);
        assert!(
            e.contains("invalid regex") && e.contains("unclosed group"),
            "{e}"
        );
        assert!(!e.contains('\n'), "{e}");
        assert!(err(r#"a=~"x{2,1}""#).contains("invalid regex"));
        assert!(err(r#"a=~"(?P<n>x)\1""#).contains("invalid regex"));
        let e = err(r#"a=~"(\w{100}){100}""#);
        assert!(e.contains("too complex"), "{e}");
        let long = format!("a=~\"{}\"", "x".repeat(MAX_MATCHER_VALUE_LEN + 1));
        let e = err(&long);
        assert!(e.contains("longer than 1024 bytes"), "{e}");
        assert!(
            e.chars().count() < 200,
            "hostile input is quoted truncated: {e}"
        );
        let long_eq = format!("a=\"{}\"", "x".repeat(MAX_MATCHER_VALUE_LEN + 1));
        assert!(err(&long_eq).contains("longer than"));
        assert!(Matcher::parse(&format!("a=~\"{}\"", "x".repeat(MAX_MATCHER_VALUE_LEN))).is_ok());
    }

    #[test]
    fn new_checks_like_parse() {
        assert!(Matcher::new("env", MatchOp::NotRegex, "a|b").is_ok());
        let e = Matcher::new("bad name", MatchOp::Equal, "x").unwrap_err();
        assert_eq!(e.field, "matchers");
        assert!(
            e.message.contains("not a valid label name"),
            "{}",
            e.message
        );
        let e = Matcher::new("a", MatchOp::Regex, "(").unwrap_err();
        assert!(e.message.contains(r#"`a=~"("`"#), "{}", e.message);
        // A bad regex is only a problem for regex operators.
        assert_eq!(Matcher::new("a", MatchOp::Equal, "(").unwrap().value(), "(");
    }

    #[test]
    fn equality_ignores_the_compiled_regex() {
        assert_eq!(m("a=~x"), m(r#" a =~ "x" "#));
        assert_ne!(m("a=~x"), m("a=x"));
        assert_ne!(m("a=x"), m("b=x"));
        assert_eq!(
            format!("{:?}", m("a!~x")),
            r#"Matcher { name: "a", op: NotRegex, value: "x" }"#
        );
    }

    #[test]
    fn lists() {
        let items = vec![
            r#"severity="critical""#.to_string(),
            "team=~db|infra".to_string(),
        ];
        let ms = parse_list(&items).unwrap();
        assert_eq!(ms.len(), 2);
        assert!(all_match(
            &ms,
            &labels(&[("severity", "critical"), ("team", "infra")])
        ));
        assert!(!all_match(
            &ms,
            &labels(&[("severity", "critical"), ("team", "web")])
        ));
        assert!(all_match(&[], &labels(&[])));
        assert!(all_match(&[], &labels(&[("a", "b")])));
        let e = parse_list(&["a=b".to_string(), "oops".to_string()]).unwrap_err();
        assert!(e.message.contains("`oops`"), "{}", e.message);
        assert!(parse_list(&[]).unwrap().is_empty());
    }

    #[test]
    fn serde_uses_the_canonical_string() {
        let ms = vec![m(r#"a="x\"y""#), m("team =~ db|infra")];
        let json = serde_json::to_string(&ms).unwrap();
        assert_eq!(json, r#"["a=\"x\\\"y\"","team=~\"db|infra\""]"#);
        assert_eq!(serde_json::from_str::<Vec<Matcher>>(&json).unwrap(), ms);
        let e = serde_json::from_str::<Matcher>(r#""a=~\"(\"""#).unwrap_err();
        assert!(e.to_string().contains("invalid regex"), "{e}");

        #[derive(Deserialize)]
        struct Route {
            matchers: Vec<Matcher>,
        }
        let r: Route =
            toml::from_str(r#"matchers = ['severity="critical"', 'team=~"db|infra"']"#).unwrap();
        assert_eq!(r.matchers[1].op(), MatchOp::Regex);
        assert!(toml::from_str::<Route>("matchers = ['severity']").is_err());
    }

    // ---- property tests ----

    fn name_strategy() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,20}"
    }

    fn op_strategy() -> impl Strategy<Value = MatchOp> {
        prop_oneof![
            Just(MatchOp::Equal),
            Just(MatchOp::NotEqual),
            Just(MatchOp::Regex),
            Just(MatchOp::NotRegex),
        ]
    }

    /// Values rich in the characters the syntax cares about.
    fn raw_value_strategy() -> impl Strategy<Value = String> {
        prop_oneof![".{0,40}", "[a \"\\\\\n\t,{}=~!'n]{0,20}", "\\PC{0,30}"]
    }

    /// A small world so generated matchers and labels meet often.
    fn small_labels() -> impl Strategy<Value = Labels> {
        prop::collection::btree_map("[abc]", "(|x|y|xy)", 0..=3)
            .prop_map(|map| Labels::parse("labels", map).unwrap())
    }

    const SMALL_REGEXES: &[&str] = &["", "x", "x|y", ".*", ".+", "x.*", "[xy]+", "(x|)y?"];

    proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,80}") {
            let _ = Matcher::parse(&s);
        }

        #[test]
        fn parse_never_panics_on_syntax_soup(s in "[a_9 =!~\"\\\\,{}'n().*|\t]{0,30}") {
            if let Ok(m) = Matcher::parse(&s) {
                // Whatever parses renders to something that parses back equal.
                prop_assert_eq!(Matcher::parse(&m.to_string()).unwrap(), m);
            }
        }

        #[test]
        fn display_parse_round_trips(
            name in name_strategy(),
            op in op_strategy(),
            raw in raw_value_strategy(),
        ) {
            let value = if op.is_regex() { regex::escape(&raw) } else { raw.clone() };
            let m = Matcher::new(name.clone(), op, value).unwrap();
            let text = m.to_string();
            let back = Matcher::parse(&text).unwrap();
            prop_assert_eq!(&back, &m);
            prop_assert_eq!(back.to_string(), text);
            // An escaped literal regex matches exactly that literal.
            let l = Labels::parse("labels", [(name, raw)]).unwrap();
            prop_assert!(matches!(op, MatchOp::Equal | MatchOp::Regex) == back.matches(&l));
        }

        #[test]
        fn equality_agrees_with_a_model(
            l in small_labels(),
            name in "[abcd]",
            value in "(|x|y|xy)",
        ) {
            let actual = l.get(&name).unwrap_or("");
            let eq = Matcher::new(name.clone(), MatchOp::Equal, value.clone()).unwrap();
            let ne = Matcher::new(name, MatchOp::NotEqual, value.clone()).unwrap();
            prop_assert_eq!(eq.matches(&l), actual == value);
            prop_assert_eq!(ne.matches(&l), actual != value);
        }

        #[test]
        fn negated_operators_are_negations(
            l in small_labels(),
            name in "[abcd]",
            value in "(|x|y|xy)",
            re in prop::sample::select(SMALL_REGEXES),
        ) {
            let eq = Matcher::new(name.clone(), MatchOp::Equal, value.clone()).unwrap();
            let ne = Matcher::new(name.clone(), MatchOp::NotEqual, value).unwrap();
            prop_assert_eq!(ne.matches(&l), !eq.matches(&l));
            let rx = Matcher::new(name.clone(), MatchOp::Regex, re).unwrap();
            let nrx = Matcher::new(name, MatchOp::NotRegex, re).unwrap();
            prop_assert_eq!(nrx.matches(&l), !rx.matches(&l));
        }

        #[test]
        fn all_match_is_conjunction(
            l in small_labels(),
            specs in prop::collection::vec(("[abcd]", op_strategy(), prop::sample::select(SMALL_REGEXES)), 0..4),
        ) {
            let ms: Vec<Matcher> = specs
                .into_iter()
                .map(|(n, op, v)| Matcher::new(n, op, v).unwrap())
                .collect();
            prop_assert_eq!(all_match(&ms, &l), ms.iter().all(|m| m.matches(&l)));
        }
    }
}
