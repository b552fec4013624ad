//! `[[inhibit_rules]]`, with Alertmanager's semantics: while a source alert
//! fires, alerts its rule targets are recorded but not notified.
//!
//! A target `T` is inhibited when some rule's `target_matchers` match `T`
//! and some alert `S` that has not resolved matches its `source_matchers`
//! with the same value for every `equal` label (a label missing on both
//! sides counts as equal: missing and empty are the same thing). An alert
//! that matches both sides of a rule is not inhibited by alerts for which
//! the same is true (itself included), so nothing inhibits itself.
//!
//! Alertmanager since 0.30 checks only one source per set of `equal` values,
//! which can miss a valid source; this is the documented rule, any source.
//! Matchers see what silences and routes see (`severity`, `service`,
//! `alertname`, `__fingerprint__` besides the labels).

use crate::config::inhibit::InhibitRuleConfig;
use crate::domain::matcher::all_match;
use crate::domain::{Labels, Matcher};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub name: String,
    pub source: Vec<Matcher>,
    pub target: Vec<Matcher>,
    pub equal: Vec<String>,
}

impl Rule {
    pub fn from_config(c: &InhibitRuleConfig) -> Self {
        Self {
            name: c.name.clone().unwrap_or_default(),
            source: c.source_matchers.clone(),
            target: c.target_matchers.clone(),
            equal: c.equal.clone(),
        }
    }

    fn equal(&self, a: &Labels, b: &Labels) -> bool {
        self.equal
            .iter()
            .all(|l| a.get(l).unwrap_or_default() == b.get(l).unwrap_or_default())
    }
}

/// An alert that may inhibit others: its id and the labels matchers see.
#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub view: Labels,
}

/// The first source (by rule, then by `sources` order) that inhibits an
/// alert with this view, if any. `sources` are alerts not resolved; the
/// alert itself may be among them.
pub fn inhibited_by<'a>(rules: &[Rule], target: &Labels, sources: &'a [Source]) -> Option<&'a str> {
    for rule in rules {
        if !all_match(&rule.target, target) {
            continue;
        }
        let two_sided = all_match(&rule.source, target);
        let hit = sources.iter().find(|s| {
            all_match(&rule.source, &s.view)
                && rule.equal(&s.view, target)
                && !(two_sided && all_match(&rule.target, &s.view))
        });
        if let Some(s) = hit {
            return Some(&s.id);
        }
    }
    None
}

/// Whether any rule could take this alert as a source (worth keeping in
/// the set of sources).
pub fn is_source(rules: &[Rule], view: &Labels) -> bool {
    rules.iter().any(|r| all_match(&r.source, view))
}

/// Whether any rule could inhibit this alert.
pub fn is_target(rules: &[Rule], view: &Labels) -> bool {
    rules.iter().any(|r| all_match(&r.target, view))
}

#[cfg(test)]
mod tests {
    //! Alertmanager's `inhibit_test.go` cases: TestInhibitRuleHasEqual (H),
    //! TestInhibitRuleMatches (M, from its `source_match` maps written as
    //! matchers), TestInhibitRuleMatchers (N), TestInhibit (E), and the
    //! documented missing-label rule.

    use super::*;
    use crate::domain::labels::test_labels;

    fn m(s: &str) -> Vec<Matcher> {
        crate::domain::matcher::parse_list(&[s.to_string()]).unwrap()
    }

    fn rule(source: &str, target: &str, equal: &[&str]) -> Rule {
        Rule {
            name: String::new(),
            source: m(source),
            target: m(target),
            equal: equal.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn src(id: &str, pairs: &[(&str, &str)]) -> Source {
        Source {
            id: id.into(),
            view: test_labels(pairs),
        }
    }

    fn l(pairs: &[(&str, &str)]) -> Labels {
        test_labels(pairs)
    }

    #[test]
    fn has_equal() {
        // H1: no source.
        let r = rule(r#"a=~".*""#, r#"a=~".*""#, &[]);
        assert_eq!(
            inhibited_by(std::slice::from_ref(&r), &l(&[("a", "b")]), &[]),
            None
        );
        // H2: no equal labels: any source inhibits.
        let any = Rule {
            source: m(r#"s="1""#),
            target: m(r#"a="b""#),
            ..r
        };
        assert_eq!(
            inhibited_by(&[any], &l(&[("a", "b")]), &[src("s", &[("s", "1")])]),
            Some("s")
        );
        // H4: equal on `a`: the active source with the same value.
        let eq = rule(r#"c=~"d|f""#, r#"a="b""#, &["a"]);
        let sources = [src("active", &[("a", "b"), ("c", "f")])];
        assert_eq!(
            inhibited_by(std::slice::from_ref(&eq), &l(&[("a", "b")]), &sources),
            Some("active")
        );
        // H5: equal mismatch.
        let sources = [src("other", &[("a", "c"), ("c", "f")])];
        assert_eq!(inhibited_by(&[eq], &l(&[("a", "b")]), &sources), None);
    }

    fn two_rules(first_target: &str) -> Vec<Rule> {
        vec![
            rule(r#"s1="1""#, first_target, &["e"]),
            rule(r#"s2="1""#, r#"t2="1""#, &["e"]),
        ]
    }

    fn sources() -> Vec<Source> {
        vec![
            src("S1", &[("s1", "1"), ("t1", "2"), ("e", "1")]),
            src("S2", &[("s2", "1"), ("t2", "1"), ("e", "1")]),
        ]
    }

    #[test]
    fn rule_matches() {
        let rules = two_rules(r#"t1="1""#);
        let s = sources();
        let inhibited = |pairs: &[(&str, &str)]| inhibited_by(&rules, &l(pairs), &s).is_some();
        assert!(inhibited(&[("t1", "1"), ("e", "1")]), "M1");
        assert!(inhibited(&[("t2", "1"), ("e", "1")]), "M2");
        assert!(inhibited(&[("t1", "1"), ("t3", "1"), ("e", "1")]), "M3");
        assert!(inhibited(&[("t1", "1"), ("t2", "1"), ("e", "1")]), "M4");
        assert!(!inhibited(&[("t1", "0"), ("e", "1")]), "M5");
        assert!(
            inhibited(&[("s1", "1"), ("t1", "1"), ("e", "1")]),
            "M6: S1 is no target"
        );
        assert!(
            !inhibited(&[("s2", "1"), ("t2", "1"), ("e", "1")]),
            "M7: no self-inhibition"
        );
        assert!(!inhibited(&[("t1", "1"), ("e", "0")]), "M8");
    }

    #[test]
    fn rule_matchers() {
        let rules = two_rules(r#"t1!="1""#);
        let s = sources();
        let inhibited = |pairs: &[(&str, &str)]| inhibited_by(&rules, &l(pairs), &s).is_some();
        assert!(!inhibited(&[("t1", "1"), ("e", "1")]), "N1");
        assert!(inhibited(&[("t2", "1"), ("e", "1")]), "N2");
        assert!(!inhibited(&[("t1", "1"), ("t3", "1"), ("e", "1")]), "N3");
        assert!(inhibited(&[("t1", "1"), ("t2", "1"), ("e", "1")]), "N4");
        assert!(inhibited(&[("t1", "0"), ("e", "1")]), "N5");
        assert!(!inhibited(&[("s1", "1"), ("t1", "1"), ("e", "1")]), "N6");
        assert!(
            inhibited(&[("s2", "1"), ("t2", "1"), ("e", "1")]),
            "N7: rule 1 via S1"
        );
        assert!(!inhibited(&[("t1", "1"), ("e", "0")]), "N8");
    }

    #[test]
    fn a_source_inhibits_while_it_fires_and_is_no_target_itself() {
        let rules = vec![rule(r#"s="1""#, r#"t="1""#, &["e"])];
        let one = l(&[("t", "1"), ("e", "f")]);
        let two = src("two", &[("s", "1"), ("e", "f")]);
        assert_eq!(inhibited_by(&rules, &one, &[]), None, "E1");
        assert_eq!(
            inhibited_by(&rules, &one, std::slice::from_ref(&two)),
            Some("two"),
            "E2"
        );
        assert_eq!(
            inhibited_by(&rules, &two.view, std::slice::from_ref(&two)),
            None,
            "E3"
        );
        // E4, E5: the source resolved, so it is not among the sources.
        assert_eq!(inhibited_by(&rules, &one, &[]), None);
        assert!(is_source(&rules, &two.view) && !is_target(&rules, &two.view));
        assert!(is_target(&rules, &one) && !is_source(&rules, &one));
    }

    #[test]
    fn equal_on_a_label_missing_from_both_counts_as_equal() {
        let rules = vec![rule(
            r#"alertname="NodeDown""#,
            r#"severity="warning""#,
            &["cluster"],
        )];
        let target = l(&[("alertname", "DiskSlow"), ("severity", "warning")]);
        let source = [src(
            "down",
            &[("alertname", "NodeDown"), ("severity", "critical")],
        )];
        assert_eq!(inhibited_by(&rules, &target, &source), Some("down"));
        // Missing on one side, set on the other: not equal.
        let target = l(&[
            ("alertname", "DiskSlow"),
            ("severity", "warning"),
            ("cluster", "a"),
        ]);
        assert_eq!(inhibited_by(&rules, &target, &source), None);
        // Empty on one side, missing on the other: equal.
        let target = l(&[
            ("alertname", "DiskSlow"),
            ("severity", "warning"),
            ("cluster", ""),
        ]);
        assert_eq!(inhibited_by(&rules, &target, &source), Some("down"));
    }
}
