//! Chat commands: the pure parser for what on-call engineers type to the bot
//! (`ack 3f2a`, `silence {team=~"db|infra"} 30m`, `静默 3f2a 1h`).
//!
//! The text arrives with the bot mention already removed
//! ([`crate::interaction::strip_leading_mentions`]); [`parse`] turns it into a
//! [`Command`] and does nothing else, so the rules below can be tested alone.
//!
//! # Lenient about form
//!
//! People type these on phones, often mid-incident and often with a Chinese
//! input method, so whatever cannot change the meaning is forgiven:
//! - verbs are case-insensitive (`ACK`, `Ack`) and have Chinese aliases
//!   (`确认` ack, `取消确认` unack, `解决` resolve, `静默` silence, `列表` list,
//!   `帮助` help); a Chinese verb may be written without a space before an
//!   argument that starts with an ASCII character (`确认3f2a`), since Chinese
//!   is written without spaces;
//! - any run of whitespace separates words, including full-width spaces
//!   (U+3000) and zero-width spaces;
//! - outside quoted values, full-width ASCII forms from Chinese input methods
//!   count as their ASCII letters (`＃`, `，`, `！`, `｛`, `３ｆ`);
//! - when the text contains no straight `"`, curly quotes (`“ ”`, what phones'
//!   "smart punctuation" and Chinese input methods type) are read as `"`;
//! - an id may start with `#` (`ack #3f2a`) and may be a prefix of the id.
//!
//! # Strict about arguments
//!
//! A misread argument could silence the wrong alerts, so a known verb with
//! anything off in its arguments is an error that says what is wrong and shows
//! the usage, never a guess: a missing or extra argument, an id with other
//! characters than `[0-9A-Za-z_-]`, a duration outside 1s to 90 days, `M`
//! (months, easily meant as minutes), an invalid matcher, a stray curly or
//! single quote outside a quoted value (it would otherwise become part of an
//! unquoted value), or matchers that all match an alert *without* their labels
//! (`sevrity!="critical"`, misspelt, would silence everything; Alertmanager
//! refuses such silences too).
//!
//! Text whose first word is no verb is [`Command::Unknown`]: the caller answers
//! with [`HELP`]. An id is returned as typed (not lower-cased); resolving a
//! prefix to exactly one alert, and refusing an ambiguous one, is the caller's.
//!
//! # Grammar
//!
//! ```text
//! ack <id> | unack <id> | resolve <id>
//! silence <id> <duration>
//! silence <matchers> <duration>     matchers: {m, m, ...} or m m ...
//! list
//! help [anything]                   and empty text
//! ```
//!
//! A silence target is matchers when it contains `=`, `!~`, `{` or `}` (so
//! every operator `=`, `!=`, `=~`, `!~`), else an id; the last word is the
//! duration (`30m`, `1h`, `2h30m`, `1d`, as [`NewSilence::parse_duration`]
//! reads it). Matchers use the Alertmanager syntax of [`Matcher::parse`]:
//! double-quoted values may hold spaces, commas and braces, with `\"` and `\\`
//! escapes. In the bare form, matchers are separated by spaces or commas; in
//! braces, by commas.

use chrono::Duration;

use crate::domain::labels::truncate;
use crate::domain::{Matcher, NewSilence};

/// What a silence applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An alert id, or a prefix of one, without a leading `#`.
    Id(String),
    /// At least one matcher, and at least one that requires a label value.
    Matchers(Vec<Matcher>),
}

/// A parsed chat command.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Ack(String),
    Unack(String),
    Resolve(String),
    Silence {
        target: Target,
        /// Between 1s and 90 days.
        duration: Duration,
    },
    List,
    Help,
    /// Who is on call: on one schedule, or on every one.
    Oncall(Option<String>),
    /// The first word is no command; `input` is the text, trimmed.
    Unknown {
        input: String,
    },
}

/// A known command with bad arguments: what is wrong, and the usage.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CommandError(pub String);

/// The reply to `help` and to unknown commands.
pub const HELP: &str = "\
ackbot commands (<id> is an alert id or its first few characters, e.g. 3f2a or #3f2a):
ack <id> - acknowledge an alert, e.g. ack 3f2a (also: 确认 3f2a)
unack <id> - take an acknowledgement back, e.g. unack 3f2a (also: 取消确认 3f2a)
resolve <id> - resolve an alert, e.g. resolve 3f2a (also: 解决 3f2a)
silence <id> <duration> - silence one alert, e.g. silence 3f2a 1h (also: 静默 3f2a 1h)
silence <matchers> <duration> - silence every matching alert, e.g. silence {team=~\"db|infra\", env=\"prod\"} 30m or silence service=\"payment\" 2h
list - list the open alerts (also: 列表)
oncall [schedule] - who is on call now and next, e.g. oncall primary (also: 值班)
help - this text (also: 帮助)
Durations: 30m, 1h, 2h30m, 1d; at most 90d.";

/// Longest accepted id, in characters.
const MAX_ID_LEN: usize = 64;
/// How much of a bad argument an error message quotes.
const QUOTE_CHARS: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verb {
    Ack,
    Unack,
    Resolve,
    Silence,
    List,
    Help,
    Oncall,
}

/// Every spelling of every verb. The Chinese ones are longest first, so that a
/// verb written without a following space is found by its longest spelling.
const VERBS: &[(&str, Verb)] = &[
    ("ack", Verb::Ack),
    ("unack", Verb::Unack),
    ("resolve", Verb::Resolve),
    ("silence", Verb::Silence),
    ("list", Verb::List),
    ("help", Verb::Help),
    ("oncall", Verb::Oncall),
    ("取消确认", Verb::Unack),
    ("确认", Verb::Ack),
    ("解决", Verb::Resolve),
    ("静默", Verb::Silence),
    ("列表", Verb::List),
    ("帮助", Verb::Help),
    ("值班", Verb::Oncall),
];

/// Parses one chat message (without the bot mention); see the module docs.
pub fn parse(text: &str) -> Result<Command, CommandError> {
    let input = text.trim_matches(is_space);
    if input.is_empty() {
        return Ok(Command::Help);
    }
    let normal = normalize(input);
    let Some((verb, word, args)) = split_verb(normal.trim_matches(is_space)) else {
        return Ok(Command::Unknown {
            input: input.to_string(),
        });
    };
    let usage = Usage { verb, word };
    let tokens = tokenize(args).map_err(|why| usage.error(why))?;
    match verb {
        Verb::Ack => one_id(&tokens, &usage).map(Command::Ack),
        Verb::Unack => one_id(&tokens, &usage).map(Command::Unack),
        Verb::Resolve => one_id(&tokens, &usage).map(Command::Resolve),
        Verb::Silence => silence(&tokens, &usage),
        Verb::List => match tokens.first() {
            None => Ok(Command::List),
            Some(_) => Err(usage.error(format!(
                "{word} takes no arguments (got `{}`)",
                quote(&tokens.join(" "))
            ))),
        },
        // Nothing can go wrong with help, so whatever follows is forgiven.
        Verb::Help => Ok(Command::Help),
        Verb::Oncall => match tokens.as_slice() {
            [] => Ok(Command::Oncall(None)),
            [name] => Ok(Command::Oncall(Some(
                truncate(name, MAX_ID_LEN).to_string(),
            ))),
            _ => Err(usage.error("give one schedule name at most")),
        },
    }
}

/// The verb, its spelling as listed in [`VERBS`], and the rest of the text.
fn split_verb(text: &str) -> Option<(Verb, &'static str, &str)> {
    let end = text.find(is_space).unwrap_or(text.len());
    let (head, rest) = text.split_at(end);
    if let Some(&(word, verb)) = VERBS.iter().find(|(w, _)| head.eq_ignore_ascii_case(w)) {
        return Some((verb, word, rest));
    }
    // A Chinese verb glued to an ASCII argument: `确认3f2a`, `静默{team="db"} 1h`.
    // Not to Chinese text: `确认一下` is a sentence, not `ack 一下`.
    VERBS
        .iter()
        .filter(|(w, _)| !w.is_ascii())
        .find_map(|&(word, verb)| {
            let rest = text.strip_prefix(word)?;
            rest.starts_with(|c: char| c.is_ascii())
                .then_some((verb, word, rest))
        })
}

/// How to write the command, for error messages, in the user's spelling of
/// the verb.
struct Usage {
    verb: Verb,
    word: &'static str,
}

impl Usage {
    fn error(&self, what: impl std::fmt::Display) -> CommandError {
        let w = self.word;
        let usage = match self.verb {
            Verb::Ack | Verb::Unack | Verb::Resolve => format!("{w} <id>, e.g. {w} 3f2a"),
            Verb::Silence => format!(
                "{w} <id|matchers> <duration>, e.g. {w} 3f2a 1h or {w} {{team=~\"db|infra\"}} 30m"
            ),
            Verb::List | Verb::Help => w.to_string(),
            Verb::Oncall => format!("{w} [schedule], e.g. {w} primary"),
        };
        CommandError(format!("{what}; usage: {usage}"))
    }
}

fn one_id(tokens: &[&str], usage: &Usage) -> Result<String, CommandError> {
    match tokens {
        [] => Err(usage.error("missing the alert id")),
        [id] => parse_id(id).map_err(|why| usage.error(why)),
        [_, extra @ ..] => Err(usage.error(format!(
            "{} takes one alert id; unexpected `{}`",
            usage.word,
            quote(&extra.join(" "))
        ))),
    }
}

fn silence(tokens: &[&str], usage: &Usage) -> Result<Command, CommandError> {
    let Some((&last, target)) = tokens.split_last() else {
        return Err(usage.error("missing the alert id or matchers, and the duration"));
    };
    if looks_like_matchers(last) {
        return Err(usage.error("missing the duration (the last argument)"));
    }
    if target.is_empty() {
        let what = if parse_duration(last).is_ok() {
            "missing the alert id or matchers before the duration"
        } else {
            "missing the duration"
        };
        return Err(usage.error(what));
    }
    // `silence 3f2a 1h 30m`: say so rather than "too many arguments".
    if let [_, .., before] = target
        && !looks_like_matchers(before)
        && parse_duration(before).is_ok()
        && parse_duration(last).is_ok()
    {
        return Err(usage.error(format!(
            "write the duration as one word, e.g. {}{}",
            quote(before),
            quote(last)
        )));
    }
    let target = parse_target(target, usage)?;
    let duration = parse_duration(last).map_err(|why| usage.error(why))?;
    Ok(Command::Silence { target, duration })
}

fn parse_target(tokens: &[&str], usage: &Usage) -> Result<Target, CommandError> {
    if !tokens.iter().any(|t| looks_like_matchers(t)) {
        return match tokens {
            [id] => parse_id(id).map(Target::Id).map_err(|why| usage.error(why)),
            _ => Err(usage.error(format!(
                "too many arguments: `{}` is neither one alert id nor matchers",
                quote(&tokens.join(" "))
            ))),
        };
    }
    let items = match tokens {
        [braced] if braced.starts_with('{') => {
            // The tokenizer ends a `{` group at its `}`.
            let inner = braced
                .strip_prefix('{')
                .and_then(|t| t.strip_suffix('}'))
                .ok_or_else(|| usage.error("missing the closing `}`"))?;
            split_commas(inner)
        }
        _ if tokens
            .iter()
            .any(|t| unquoted_chars(t).any(|c| matches!(c, '{' | '}'))) =>
        {
            return Err(usage.error(
                "write the matchers either all in one {…} or space-separated without braces",
            ));
        }
        _ => tokens.iter().flat_map(|t| split_commas(t)).collect(),
    };
    if items.is_empty() {
        return Err(usage.error("no matchers inside `{}`"));
    }
    let matchers = items
        .iter()
        .map(|item| Matcher::parse(item))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| usage.error(format!("bad matcher {}", e.message)))?;
    if crate::domain::matcher::match_unlabelled(&matchers) {
        return Err(usage.error(
            "these matchers also match alerts without those labels, so a misspelt label would \
             silence everything; add one that requires a value, e.g. env=\"prod\"",
        ));
    }
    Ok(Target::Matchers(matchers))
}

/// A silence target with an operator or a brace is matchers (see the module docs).
fn looks_like_matchers(token: &str) -> bool {
    token.contains(['=', '{', '}']) || token.contains("!~")
}

/// An alert id or prefix: an optional `#`, then 1 to [`MAX_ID_LEN`] of
/// `[0-9A-Za-z_-]`.
fn parse_id(token: &str) -> Result<String, String> {
    let id = token.strip_prefix('#').unwrap_or(token);
    if id.is_empty() {
        return Err("missing the alert id after `#`".to_string());
    }
    let valid = id.len() <= MAX_ID_LEN
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !valid {
        return Err(format!(
            "`{}` is not an alert id (1 to {MAX_ID_LEN} letters, digits, `-` or `_`)",
            quote(token)
        ));
    }
    Ok(id.to_string())
}

fn parse_duration(token: &str) -> Result<Duration, String> {
    // humantime reads `M` as months: `1M` meant as a minute would be a month.
    if token.contains('M') {
        return Err(format!(
            "`{}`: `M` would mean months; write minutes as `m` or days as `d`, e.g. 30m or 30d",
            quote(token)
        ));
    }
    NewSilence::parse_duration("duration", token).map_err(|e| {
        if e.message.starts_with('`') {
            format!("bad duration: {}", e.message)
        } else {
            format!("bad duration `{}`: {}", quote(token), e.message)
        }
    })
}

/// Whitespace, including full-width (U+3000, which `char::is_whitespace`
/// covers) and the zero-width spaces that chat clients leave around mentions.
fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{2060}' | '\u{FEFF}')
}

/// Quotes that stay an error outside a quoted value: they would otherwise end
/// up inside an unquoted matcher value (`env=‘prod’` matches nothing).
fn is_stray_quote(c: char) -> bool {
    matches!(c, '“' | '”' | '‘' | '’' | '＂')
}

/// Applies the input-method leniency (see the module docs) outside quoted
/// values, keeping quoted values as typed. Quotes and escapes are tracked the
/// way [`tokenize`] and [`Matcher::parse`] read them.
fn normalize(text: &str) -> String {
    // Curly quotes are quotes only in text without a straight one, so a quoted
    // value can still contain them (`summary="he said “hi”"`).
    let curly = !text.contains('"');
    let is_quote = |c: char| c == '"' || (curly && matches!(c, '“' | '”' | '＂'));
    let mut out = String::with_capacity(text.len());
    let (mut quoted, mut escaped) = (false, false);
    for c in text.chars() {
        if escaped {
            escaped = false;
            out.push(c);
        } else if quoted {
            if is_quote(c) {
                quoted = false;
                out.push('"');
            } else {
                escaped = c == '\\';
                out.push(c);
            }
        } else if is_quote(c) {
            quoted = true;
            out.push('"');
        } else {
            // `＂` is left to `tokenize` to refuse: folded, it would open a quote
            // that the user did not see as one.
            let c = if c == '＂' { c } else { fold_full_width(c) };
            escaped = c == '\\';
            out.push(c);
        }
    }
    out
}

/// Full-width ASCII forms (U+FF01..U+FF5E) and the ideographic space as ASCII.
fn fold_full_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        c => c,
    }
}

/// Splits the arguments into words at whitespace outside double quotes and
/// outside `{…}`; a `}` ends its word. A backslash escapes the next character.
fn tokenize(text: &str) -> Result<Vec<&str>, String> {
    let mut tokens = Vec::new();
    let mut start: Option<usize> = None;
    let (mut quoted, mut braced) = (false, false);
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        let begin = match start {
            Some(begin) => begin,
            None if is_space(c) => continue,
            None => *start.insert(i),
        };
        match c {
            '\\' => {
                chars.next();
            }
            '"' => quoted = !quoted,
            _ if quoted => {}
            c if is_stray_quote(c) => {
                return Err(format!(
                    "put values in straight double quotes (\"), not `{c}`"
                ));
            }
            '{' => braced = true,
            '}' if braced => {
                braced = false;
                tokens.push(&text[begin..i + 1]);
                start = None;
            }
            c if is_space(c) && !braced => {
                tokens.push(&text[begin..i]);
                start = None;
            }
            _ => {}
        }
    }
    if quoted {
        return Err("a quoted value is missing its closing `\"`".to_string());
    }
    if braced {
        return Err("missing the closing `}`".to_string());
    }
    if let Some(begin) = start {
        tokens.push(&text[begin..]);
    }
    Ok(tokens)
}

/// The characters of `text` outside double-quoted values, escapes skipped.
fn unquoted_chars(text: &str) -> impl Iterator<Item = char> + '_ {
    let (mut quoted, mut escaped) = (false, false);
    text.chars().filter(move |&c| {
        if escaped {
            escaped = false;
            return false;
        }
        match c {
            '\\' => {
                escaped = true;
                false
            }
            '"' => {
                quoted = !quoted;
                false
            }
            _ => !quoted,
        }
    })
}

/// Splits at commas outside double quotes; trims, and drops empty items (a
/// trailing comma is fine).
fn split_commas(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let (mut begin, mut quoted, mut escaped) = (0, false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&text[begin..i]);
                begin = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[begin..]);
    items
        .into_iter()
        .map(|s| s.trim_matches(is_space))
        .filter(|s| !s.is_empty())
        .collect()
}

fn quote(text: &str) -> String {
    truncate(text, QUOTE_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::MatchOp;
    use proptest::prelude::*;

    fn ok(text: &str) -> Command {
        parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    fn err(text: &str) -> String {
        match parse(text) {
            Ok(c) => panic!("{text:?} parsed as {c:?}"),
            Err(CommandError(e)) => e,
        }
    }

    fn ms(items: &[&str]) -> Target {
        Target::Matchers(items.iter().map(|s| Matcher::parse(s).unwrap()).collect())
    }

    fn silence(target: Target, duration: Duration) -> Command {
        Command::Silence { target, duration }
    }

    fn id(s: &str) -> Target {
        Target::Id(s.to_string())
    }

    fn unknown(s: &str) -> Command {
        Command::Unknown {
            input: s.to_string(),
        }
    }

    #[test]
    fn table() {
        let ack = |s: &str| Command::Ack(s.to_string());
        let h = Duration::hours;
        let m = Duration::minutes;
        let cases: Vec<(&str, Command)> = vec![
            ("ack 3f2a", ack("3f2a")),
            ("ACK  3F2A", ack("3F2A")),
            ("Ack 3f2a", ack("3f2a")),
            ("ack #3f2a", ack("3f2a")),
            ("ack ＃3f2a", ack("3f2a")),
            ("  ack\t3f2a \n", ack("3f2a")),
            ("ack\u{3000}3f2a", ack("3f2a")),
            ("\u{3000}ack\u{3000}\u{3000}3f2a\u{3000}", ack("3f2a")),
            ("ack\u{200B}3f2a", ack("3f2a")),
            ("ａｃｋ　３ｆ２ａ", ack("3f2a")),
            ("ack A-42", ack("A-42")),
            ("ack a_1", ack("a_1")),
            ("unack 3f2a", Command::Unack("3f2a".into())),
            ("UnAck #3f2a", Command::Unack("3f2a".into())),
            ("resolve 3f2a", Command::Resolve("3f2a".into())),
            ("确认 3f2a", ack("3f2a")),
            ("确认3f2a", ack("3f2a")),
            ("确认#3f2a", ack("3f2a")),
            ("取消确认 3f2a", Command::Unack("3f2a".into())),
            ("取消确认3f2a", Command::Unack("3f2a".into())),
            ("解决 3f2a", Command::Resolve("3f2a".into())),
            ("silence 3f2a 1h", silence(id("3f2a"), h(1))),
            ("silence #3f2a 30m", silence(id("3f2a"), m(30))),
            ("SILENCE 3f2a 2h30m", silence(id("3f2a"), h(2) + m(30))),
            ("silence 3f2a 1d", silence(id("3f2a"), h(24))),
            ("silence 3f2a 90d", silence(id("3f2a"), Duration::days(90))),
            ("silence 1h 1h", silence(id("1h"), h(1))),
            ("静默 3f2a 1h", silence(id("3f2a"), h(1))),
            ("静默3f2a 1h", silence(id("3f2a"), h(1))),
            (
                r#"silence {team=~"db|infra"} 30m"#,
                silence(ms(&[r#"team=~"db|infra""#]), m(30)),
            ),
            (
                r#"silence {team=~"db|infra", env="prod"} 30m"#,
                silence(ms(&[r#"team=~"db|infra""#, r#"env="prod""#]), m(30)),
            ),
            (
                r#"silence { team =~ "db|infra" , env = "prod", } 30m"#,
                silence(ms(&[r#"team=~"db|infra""#, r#"env="prod""#]), m(30)),
            ),
            (
                r#"silence {team=~"db|infra"}30m"#,
                silence(ms(&[r#"team=~"db|infra""#]), m(30)),
            ),
            (
                r#"静默{team="db"} 1h"#,
                silence(ms(&[r#"team="db""#]), h(1)),
            ),
            (
                r#"silence service="payment" env!="dev" 2h"#,
                silence(ms(&[r#"service="payment""#, r#"env!="dev""#]), h(2)),
            ),
            (
                r#"silence service="payment", env!="dev" 2h"#,
                silence(ms(&[r#"service="payment""#, r#"env!="dev""#]), h(2)),
            ),
            (
                "silence service=payment 2h",
                silence(ms(&[r#"service="payment""#]), h(2)),
            ),
            (
                r#"silence summary="disk full" 1h"#,
                silence(ms(&[r#"summary="disk full""#]), h(1)),
            ),
            (
                r#"silence summary="a \"quoted\" word, {and} braces" 1h"#,
                silence(ms(&[r#"summary="a \"quoted\" word, {and} braces""#]), h(1)),
            ),
            (
                r#"silence {summary="a, b} c"} 1h"#,
                silence(ms(&[r#"summary="a, b} c""#]), h(1)),
            ),
            (
                "silence summary=\"disk\u{3000}full\" 1h",
                silence(ms(&["summary=\"disk\u{3000}full\""]), h(1)),
            ),
            (
                r#"silence host=~"db\d+" 1h"#,
                silence(ms(&[r#"host=~"db\d+""#]), h(1)),
            ),
            (
                r#"silence team!~"web" env="prod" 1h"#,
                silence(ms(&[r#"team!~"web""#, r#"env="prod""#]), h(1)),
            ),
            // Phones' smart quotes and Chinese punctuation.
            (
                "silence service=“payment” 2h",
                silence(ms(&[r#"service="payment""#]), h(2)),
            ),
            (
                "静默 ｛team＝~“db|infra”，env！＝“dev”｝ 30m",
                silence(ms(&[r#"team=~"db|infra""#, r#"env!="dev""#]), m(30)),
            ),
            (
                r#"silence summary="he said “hi”" 1h"#,
                silence(ms(&[r#"summary="he said “hi”""#]), h(1)),
            ),
            // Full-width forms inside a quoted value are kept.
            (
                r#"silence summary="ａ，ｂ" 1h"#,
                silence(ms(&[r#"summary="ａ，ｂ""#]), h(1)),
            ),
            ("list", Command::List),
            ("LIST", Command::List),
            ("列表", Command::List),
            ("help", Command::Help),
            ("Help ack", Command::Help),
            ("帮助", Command::Help),
            ("", Command::Help),
            ("   ", Command::Help),
            ("\u{3000}\t\n", Command::Help),
            ("hello", unknown("hello")),
            ("ack3f2a", unknown("ack3f2a")),
            ("acknowledge 3f2a", unknown("acknowledge 3f2a")),
            ("确认一下", unknown("确认一下")),
            ("解决了吗？", unknown("解决了吗？")),
            ("  what is up  ", unknown("what is up")),
            ("#3f2a", unknown("#3f2a")),
        ];
        for (text, want) in cases {
            assert_eq!(ok(text), want, "{text:?}");
        }
    }

    #[test]
    fn errors_say_what_and_show_usage() {
        let cases: &[(&str, &str, &str)] = &[
            (
                "ack",
                "missing the alert id",
                "usage: ack <id>, e.g. ack 3f2a",
            ),
            ("ack #", "missing the alert id after `#`", "usage: ack <id>"),
            (
                "ack a b",
                "takes one alert id; unexpected `b`",
                "usage: ack <id>",
            ),
            ("ack 3f2a 1h", "unexpected `1h`", "usage: ack <id>"),
            ("unack", "missing the alert id", "usage: unack <id>"),
            ("resolve a b c", "unexpected `b c`", "usage: resolve <id>"),
            (
                "确认",
                "missing the alert id",
                "usage: 确认 <id>, e.g. 确认 3f2a",
            ),
            ("ack 3f2a!", "`3f2a!` is not an alert id", "usage: ack <id>"),
            ("ack ##3f2a", "`##3f2a` is not an alert id", "usage"),
            ("ack 3f.2a", "is not an alert id", "usage"),
            ("ack 中文", "`中文` is not an alert id", "usage"),
            ("ack team=db", "`team=db` is not an alert id", "usage"),
            ("ack \"3f2a\"", "is not an alert id", "usage"),
            ("ack \"3f2a", "missing its closing `\"`", "usage: ack"),
            (
                "silence",
                "missing the alert id or matchers, and the duration",
                "usage: silence <id|matchers> <duration>, e.g. silence 3f2a 1h",
            ),
            ("silence 3f2a", "missing the duration", "usage: silence"),
            (
                "silence 1h",
                "missing the alert id or matchers before the duration",
                "usage",
            ),
            (r#"silence env="prod""#, "missing the duration", "usage"),
            (r#"silence a="b" c="d""#, "missing the duration", "usage"),
            (
                "silence 3f2a forever",
                "`forever` is not a duration",
                "usage: silence",
            ),
            (
                "silence 3f2a 0s",
                "`0s`: must be between 1s and 90 days",
                "usage",
            ),
            (
                "silence 3f2a 91d",
                "must be between 1s and 90 days",
                "usage",
            ),
            ("silence 3f2a 1y", "must be between 1s and 90 days", "usage"),
            ("silence 3f2a 1M", "`M` would mean months", "usage"),
            ("silence 3f2a 1H", "is not a duration", "usage"),
            ("silence 3f2a 1h extra", "too many arguments", "usage"),
            ("silence 3f2a 3f2b 1h", "too many arguments", "usage"),
            ("silence 3f2a 1h 30m", "as one word, e.g. 1h30m", "usage"),
            (
                r#"silence env="prod" 1h 30m"#,
                "as one word, e.g. 1h30m",
                "usage",
            ),
            (
                "静默 3f2a",
                "missing the duration",
                "usage: 静默 <id|matchers> <duration>",
            ),
            (
                r#"silence team=~"(" 1h"#,
                "bad matcher `team=~\"(\"`: invalid regex",
                "usage",
            ),
            (r#"silence {team=~"("} 1h"#, "invalid regex", "usage"),
            (r#"silence 9x="a" 1h"#, "not a valid label name", "usage"),
            (
                r#"silence 3f2a env="prod" 1h"#,
                "bad matcher `3f2a`: no operator",
                "usage",
            ),
            (
                r#"silence {team="db" 1h"#,
                "missing the closing `}`",
                "usage",
            ),
            (
                r#"silence summary="disk full 1h"#,
                "missing its closing `\"`",
                "usage",
            ),
            ("silence {} 1h", "no matchers inside `{}`", "usage"),
            ("silence {,} 1h", "no matchers inside `{}`", "usage"),
            (r#"silence {a="b"} {c="d"} 1h"#, "all in one {…}", "usage"),
            (r#"silence {a="b"} c="d" 1h"#, "all in one {…}", "usage"),
            (r#"silence {a="b"}x 1h"#, "all in one {…}", "usage"),
            (r#"silence a="b"} 1h"#, "all in one {…}", "usage"),
            ("silence env=‘prod’ 1h", "straight double quotes", "usage"),
            (r#"silence env=“prod” team="db" 1h"#, "not `“`", "usage"),
            (r#"silence env=＂prod＂ team="db" 1h"#, "not `＂`", "usage"),
            (r#"silence env='prod' 1h"#, "single quote", "usage"),
            // Matchers that all match alerts without the label: a typo would
            // silence everything.
            (
                r#"silence sevrity!="critical" 1h"#,
                "also match alerts without",
                "usage",
            ),
            (r#"silence env="" 1h"#, "also match alerts without", "usage"),
            (
                r#"silence env=~".*" team!~"x" 1h"#,
                "also match alerts without",
                "usage",
            ),
            (
                "list all",
                "list takes no arguments (got `all`)",
                "usage: list",
            ),
            ("列表 全部", "takes no arguments", "usage: 列表"),
        ];
        for (text, what, usage) in cases {
            let e = err(text);
            assert!(e.contains(what), "{text:?}: {e}");
            assert!(e.contains(usage), "{text:?}: {e}");
            assert!(!e.contains('\n'), "{text:?}: {e}");
        }
        let long = format!("ack {}", "a".repeat(MAX_ID_LEN + 1));
        assert!(err(&long).contains("is not an alert id"));
        assert_eq!(
            ok(&format!("ack {}", "a".repeat(MAX_ID_LEN))),
            Command::Ack("a".repeat(MAX_ID_LEN))
        );
        // A matcher that requires a value makes the rest fine.
        assert!(parse(r#"silence sevrity!="critical" env="prod" 1h"#).is_ok());
        // Bad input is quoted truncated.
        let e = err(&format!("ack {}", "x!".repeat(500)));
        assert!(e.chars().count() < 200, "{e}");
    }

    #[test]
    fn error_display_is_the_message() {
        let e = parse("ack").unwrap_err();
        assert_eq!(e.to_string(), e.0);
    }

    #[test]
    fn matcher_details_survive() {
        let Command::Silence {
            target: Target::Matchers(ms),
            ..
        } = ok(r#"silence {team=~"db|infra", env!="dev"} 30m"#)
        else {
            panic!("not matchers");
        };
        assert_eq!(
            ms.iter()
                .map(|m| (m.name(), m.op(), m.value()))
                .collect::<Vec<_>>(),
            [
                ("team", MatchOp::Regex, "db|infra"),
                ("env", MatchOp::NotEqual, "dev")
            ]
        );
    }

    #[test]
    fn help_lists_every_command_and_alias() {
        for (word, _) in VERBS {
            assert!(HELP.contains(word), "{word}");
        }
        assert!(HELP.contains("first few characters"));
        assert!(HELP.lines().all(|l| !l.trim().is_empty()));
        // Every example in the help parses to a command.
        for line in HELP.lines().skip(1) {
            for example in line.split("e.g. ").skip(1) {
                for example in example.split(" or ") {
                    let example = example.split(" (also").next().unwrap();
                    let c = ok(example);
                    assert!(!matches!(c, Command::Unknown { .. }), "{example}");
                }
            }
        }
    }

    // ---- property tests ----

    fn id_strategy() -> impl Strategy<Value = String> {
        "[0-9A-Za-z_-]{1,64}"
    }

    fn space_strategy() -> impl Strategy<Value = &'static str> {
        prop::sample::select(&[" ", "  ", "\t", "\u{3000}", " \u{3000} ", "\u{200B}"][..])
    }

    /// A verb in a random mix of cases.
    fn spelled(word: &'static str) -> impl Strategy<Value = String> {
        prop::collection::vec(any::<bool>(), word.len()).prop_map(move |upper| {
            word.chars()
                .zip(upper)
                .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
                .collect()
        })
    }

    /// A duration as people write it, and its value.
    fn duration_strategy() -> impl Strategy<Value = (String, Duration)> {
        (0i64..=72, 0i64..=59, 0usize..3)
            .prop_filter("at least a minute", |(h, m, _)| h + m > 0)
            .prop_map(|(h, m, style)| {
                let d = Duration::hours(h) + Duration::minutes(m);
                let text = match style {
                    0 if m == 0 => format!("{h}h"),
                    1 if h == 0 => format!("{m}m"),
                    2 => format!("{}m", h * 60 + m),
                    _ => format!("{h}h{m}m"),
                };
                (text, d)
            })
    }

    fn matcher_strategy() -> impl Strategy<Value = Matcher> {
        let op = prop_oneof![
            Just(MatchOp::Equal),
            Just(MatchOp::NotEqual),
            Just(MatchOp::Regex),
            Just(MatchOp::NotRegex),
        ];
        let value = prop_oneof![
            "[a-z]{0,8}",
            "[a \"\\\\,{}=~!#“”‘’＂，　\t\nxy]{0,12}",
            "\\PC{0,12}"
        ];
        ("[a-zA-Z_][a-zA-Z0-9_]{0,10}", op, value).prop_map(|(name, op, raw)| {
            let value = if op.is_regex() {
                regex::escape(&raw)
            } else {
                raw
            };
            Matcher::new(name, op, value).unwrap()
        })
    }

    proptest! {
        #[test]
        fn never_panics(text in any::<String>()) {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_printable_unicode(text in "\\PC{0,80}") {
            let _ = parse(&text);
        }

        #[test]
        fn never_panics_on_syntax_soup(
            verb in prop::sample::select(&["ack ", "silence ", "静默", "list ", ""][..]),
            rest in "[a-z0-9 #=!~\"\\\\,{}'“”‘’＂＃，！＝｛｝～　\u{200B}1hmM确认]{0,40}",
        ) {
            if let Ok(Command::Silence { duration, target }) = parse(&format!("{verb}{rest}")) {
                prop_assert!(duration >= Duration::seconds(1) && duration <= Duration::days(90));
                if let Target::Matchers(ms) = target {
                    prop_assert!(!ms.is_empty());
                }
            }
        }

        #[test]
        fn id_commands_round_trip(
            id in id_strategy(),
            hash in any::<bool>(),
            (sep, lead, trail) in (space_strategy(), space_strategy(), space_strategy()),
            which in 0usize..3,
        ) {
            let (word, make): (&str, fn(String) -> Command) = [
                ("ack", Command::Ack as fn(String) -> Command),
                ("unack", Command::Unack),
                ("resolve", Command::Resolve),
            ][which];
            let hash = if hash { "#" } else { "" };
            let text = format!("{lead}{word}{sep}{hash}{id}{trail}");
            prop_assert_eq!(parse(&text), Ok(make(id)));
        }

        #[test]
        fn verbs_are_case_insensitive(verb in spelled("silence"), id in id_strategy()) {
            prop_assert_eq!(
                parse(&format!("{verb} {id} 1h")),
                Ok(silence(Target::Id(id), Duration::hours(1)))
            );
        }

        #[test]
        fn silence_id_round_trips(
            id in id_strategy(),
            (d, want) in duration_strategy(),
            (s1, s2) in (space_strategy(), space_strategy()),
            chinese in any::<bool>(),
        ) {
            let verb = if chinese { "静默" } else { "silence" };
            prop_assert_eq!(
                parse(&format!("{verb}{s1}{id}{s2}{d}")),
                Ok(silence(Target::Id(id), want))
            );
        }

        #[test]
        fn silence_matchers_round_trip(
            matchers in prop::collection::vec(matcher_strategy(), 1..4),
            (d, want) in duration_strategy(),
            sep in space_strategy(),
        ) {
            let shown: Vec<String> = matchers.iter().map(|m| m.to_string()).collect();
            let bare = format!("silence {} {d}", shown.join(sep));
            let braced = format!("silence {{{}}}{sep}{d}", shown.join(", "));
            let matches_unlabelled = crate::domain::matcher::match_unlabelled(&matchers);
            for text in [bare, braced] {
                let got = parse(&text);
                if matches_unlabelled {
                    prop_assert!(got.is_err(), "{}: {:?}", text, got);
                } else {
                    prop_assert_eq!(
                        got,
                        Ok(silence(Target::Matchers(matchers.clone()), want)),
                        "{}", text
                    );
                }
            }
        }
    }
}
