//! `[[inhibit_rules]]` as written in `ackbot.toml`: Alertmanager's
//! `source_matchers`, `target_matchers` and `equal` (its deprecated
//! `source_match` / `target_match` maps are not taken: write them as
//! matchers, `source_matchers = ['alertname="NodeDown"']`).

use serde::{Deserialize, Serialize};

use super::{ConfigError, invalid};
use crate::domain::Matcher;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Shown with the inhibited alert ("inhibited by … (rule)").
    pub name: Option<String>,
    #[serde(default)]
    pub source_matchers: Vec<Matcher>,
    #[serde(default)]
    pub target_matchers: Vec<Matcher>,
    /// Labels whose values must be the same in the source and the target.
    #[serde(default)]
    pub equal: Vec<String>,
}

/// Label names as Prometheus writes them.
fn label_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

pub fn validate(rules: &[InhibitRuleConfig]) -> Result<(), ConfigError> {
    for (i, r) in rules.iter().enumerate() {
        let which = r.name.clone().unwrap_or_else(|| format!("#{}", i + 1));
        if let Some(bad) = r.equal.iter().find(|l| !label_name(l)) {
            return Err(invalid(
                "inhibit_rules.equal",
                format!(
                    "rule {which}: invalid label name \"{}\" in equal list",
                    crate::domain::labels::truncate_text(bad, 64)
                ),
            ));
        }
        // Alertmanager takes an empty side as "every alert"; here that is
        // almost surely a mistake that would mute everything.
        if r.source_matchers.is_empty() || r.target_matchers.is_empty() {
            return Err(invalid(
                "inhibit_rules.source_matchers",
                format!(
                    "rule {which}: needs both source_matchers and target_matchers (an empty side matches every alert)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<(), String> {
        #[derive(Deserialize)]
        struct Doc {
            inhibit_rules: Vec<InhibitRuleConfig>,
        }
        let doc: Doc = toml::from_str(text).map_err(|e| e.to_string())?;
        validate(&doc.inhibit_rules).map_err(|e| e.to_string())
    }

    #[test]
    fn rules_are_checked_at_load() {
        assert_eq!(
            parse(
                "[[inhibit_rules]]\nsource_matchers = ['foo=\"bar\"']\ntarget_matchers = ['bar=\"baz\"']\nequal = ['qux', 'corge']\n"
            ),
            Ok(())
        );
        let e = parse(
            "[[inhibit_rules]]\nname = \"x\"\nsource_matchers = ['a=\"b\"']\ntarget_matchers = ['c=\"d\"']\nequal = ['qux🙂']\n",
        )
        .unwrap_err();
        assert!(
            e.contains("rule x: invalid label name \"qux🙂\" in equal list"),
            "{e}"
        );
        let e = parse("[[inhibit_rules]]\ntarget_matchers = ['c=\"d\"']\n").unwrap_err();
        assert!(e.contains("rule #1: needs both"), "{e}");
        let e = parse("[[inhibit_rules]]\nsource_match = { a = \"b\" }\n").unwrap_err();
        assert!(e.contains("unknown field `source_match`"), "{e}");
        let e = parse(
            "[[inhibit_rules]]\nsource_matchers = ['a=~\"(\"']\ntarget_matchers = ['c=\"d\"']\n",
        )
        .unwrap_err();
        assert!(!e.is_empty());
    }
}
