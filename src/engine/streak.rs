//! Failure streaks (spec section 6.1): a pipeline's terminal results, in
//! the sender's run order, counted into "failed N times in a row"; the rule
//! (`[[ci.rules]]`) says after how many an alert fires and how loud. The
//! first success resolves it. Pure: the store keeps a [`SeriesState`] per
//! series and `crate::streaks` does the round trip.
//!
//! Ordering: a run older than the newest one seen changes nothing, and
//! neither does the same result of the same run again (a redelivery, a
//! status-change storm). Another attempt of the newest run, or the same run
//! with another result (a GitLab pipeline whose failed job was retried),
//! replaces that run's result: the streak is recomputed from before it.

use serde::{Deserialize, Serialize};

use crate::config::ci::CiRule;
use crate::domain::alert::AlertStatus;
use crate::domain::{Fingerprint, Labels, NewAlert, Severity};
use crate::ingest::ci::{FailedJob, MAX_JOBS, Outcome, Run, Series, System};

/// What a result counts as, under a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counted {
    Success,
    Failure,
    /// Changes nothing (skipped, or cancelled when cancelled does not count).
    Neutral,
}

pub fn counted(outcome: Outcome, rule: &CiRule) -> Counted {
    match outcome {
        Outcome::Success => Counted::Success,
        Outcome::Failure => Counted::Failure,
        Outcome::TimedOut if rule.count_timed_out => Counted::Failure,
        Outcome::Cancelled if rule.count_cancelled => Counted::Failure,
        Outcome::Unstable if rule.count_unstable => Counted::Failure,
        _ => Counted::Neutral,
    }
}

/// A series and where it came from: the unit a rule and an alert are about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesId {
    pub system: System,
    /// The configured source's name (`[[ci.gitlab]] name`).
    pub source: String,
    pub series: Series,
}

impl SeriesId {
    /// The store's key: unambiguous (length-prefixed parts).
    pub fn key(&self) -> String {
        let mut k = String::new();
        for part in [
            self.system.as_str(),
            &self.source,
            &self.series.project,
            &self.series.pipeline,
            &self.series.git_ref,
        ] {
            k.push_str(&format!("{}:{part}", part.len()));
        }
        k
    }

    /// What rules match and alerts carry: `source="ci"`, `ci_system`,
    /// `ci_source`, `project`, `pipeline`, `ref`.
    pub fn labels(&self) -> Labels {
        let mut map = std::collections::BTreeMap::new();
        map.insert("source".to_string(), "ci".to_string());
        map.insert("ci_system".to_string(), self.system.as_str().to_string());
        map.insert("ci_source".to_string(), self.source.clone());
        map.insert("project".to_string(), self.series.project.clone());
        map.insert("pipeline".to_string(), self.series.pipeline.clone());
        map.insert("ref".to_string(), self.series.git_ref.clone());
        Labels::trusted(map)
    }

    /// The alert of this series: one per series, whatever its runs.
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::derive(Some("ci"), "failure streak", &self.labels())
    }
}

/// The first rule whose matchers all match `labels`, else the default.
pub fn rule_for<'a>(rules: &'a [CiRule], labels: &Labels) -> std::borrow::Cow<'a, CiRule> {
    rules
        .iter()
        .find(|r| r.matchers.iter().all(|m| m.matches(labels)))
        .map_or_else(
            || std::borrow::Cow::Owned(CiRule::default()),
            std::borrow::Cow::Borrowed,
        )
}

/// A failed job, remembered for the run it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunJob {
    pub run_id: String,
    pub attempt: i64,
    pub job: FailedJob,
}

/// What the store keeps per series.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesState {
    /// `ci_system` and `ci_source` of the series (with `last.series`, its
    /// identity, for a sweep that finds it by its row).
    #[serde(default)]
    pub system: String,
    #[serde(default)]
    pub source: String,
    /// The newest run counted: its number, attempt and what it counted as.
    pub number: i64,
    pub attempt: i64,
    pub counted: Option<Counted>,
    /// Failures in a row before the newest run, and including it.
    pub failures_before: u32,
    pub failures: u32,
    /// The alert is firing (as far as streaks go).
    pub firing: bool,
    /// When the current streak's first failure arrived (Unix ms).
    pub since_ms: Option<i64>,
    /// The newest run, for the alert's text.
    pub last: Option<Run>,
    /// Failed jobs reported apart from their run (GitHub `workflow_job`),
    /// for the newest runs; bounded by [`MAX_JOBS`].
    #[serde(default)]
    pub jobs: Vec<RunJob>,
}

/// What a result did to a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Older than the newest run seen.
    Stale,
    /// The same result of the same run again.
    Duplicate,
    /// Counted; the alert changes (or not) as said.
    Counted(Change),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    None,
    /// The streak reached the rule's count: the alert fires.
    Fire,
    /// Still failing: the alert's occurrence is updated.
    Refire,
    /// The first success: the alert resolves.
    Resolve,
}

impl SeriesState {
    fn seen(&self) -> bool {
        self.counted.is_some()
    }

    /// Counts `run` (already classified as `counted`) with `threshold`
    /// failures in a row firing; `now_ms` dates a streak's start.
    pub fn step(&mut self, run: &Run, counted: Counted, threshold: u32, now_ms: i64) -> Step {
        let (number, attempt) = (run.number, run.attempt);
        let base = if self.seen() {
            if (number, attempt) < (self.number, self.attempt) {
                return Step::Stale;
            }
            if (number, attempt) == (self.number, self.attempt) && Some(counted) == self.counted {
                return Step::Duplicate;
            }
            if number == self.number {
                self.failures_before
            } else {
                self.failures
            }
        } else {
            0
        };
        let failures = match counted {
            Counted::Failure => base.saturating_add(1),
            Counted::Success => 0,
            Counted::Neutral => base,
        };
        if failures == 0 {
            self.since_ms = None;
        } else if base == 0 {
            self.since_ms = Some(now_ms);
        }
        self.number = number;
        self.attempt = attempt;
        self.counted = Some(counted);
        self.failures_before = base;
        self.failures = failures;
        self.last = Some(run.clone());
        let keep = &run.run_id;
        self.jobs.retain(|j| &j.run_id == keep);
        let change = if failures >= threshold.max(1) {
            if self.firing {
                Change::Refire
            } else {
                Change::Fire
            }
        } else if counted == Counted::Success && self.firing {
            Change::Resolve
        } else {
            Change::None
        };
        match change {
            Change::Fire | Change::Refire => self.firing = true,
            Change::Resolve => self.firing = false,
            Change::None => {}
        }
        Step::Counted(change)
    }

    /// Remembers a failed job of a run; false if it was known (or is of a
    /// run older than the newest).
    pub fn add_job(&mut self, run_id: &str, attempt: i64, job: &FailedJob) -> bool {
        let known = self
            .jobs
            .iter()
            .any(|j| j.run_id == run_id && j.attempt == attempt && j.job.name == job.name);
        let older = self
            .last
            .as_ref()
            .is_some_and(|l| l.run_id == run_id && attempt < l.attempt);
        if known || older || self.jobs.len() >= MAX_JOBS * 2 {
            return false;
        }
        self.jobs.push(RunJob {
            run_id: run_id.to_string(),
            attempt,
            job: job.clone(),
        });
        true
    }

    /// The failed jobs of the newest run: those it carried, then those
    /// reported apart, without repeats.
    pub fn failed_jobs(&self) -> Vec<FailedJob> {
        let Some(run) = &self.last else {
            return Vec::new();
        };
        let mut jobs = run.failed_jobs.clone();
        for j in &self.jobs {
            if j.run_id == run.run_id
                && j.attempt == run.attempt
                && !jobs.iter().any(|k| k.name == j.job.name)
            {
                jobs.push(j.job.clone());
            }
        }
        jobs.truncate(MAX_JOBS);
        jobs
    }

    /// The alert occurrence that says what the series shows now: firing
    /// while the streak alerts, else resolved.
    pub fn alert(&self, id: &SeriesId, severity: Severity, now_ms: i64) -> NewAlert {
        let s = &id.series;
        let on_ref = if s.git_ref.is_empty() {
            String::new()
        } else {
            format!(" on {}", s.git_ref)
        };
        let title = crate::domain::labels::cut(
            &format!("{}: {}{on_ref}", s.project, s.pipeline),
            crate::domain::alert::MAX_TITLE_LEN,
        );
        let mut lines = Vec::new();
        let origin = format!("{} {}", id.system.display(), id.source);
        if self.firing {
            let since = self
                .since_ms
                .map(|t| {
                    format!(
                        ", failing for {}",
                        human_duration((now_ms - t).max(0) / 1000)
                    )
                })
                .unwrap_or_default();
            lines.push(format!(
                "{} failed run{} in a row ({origin}){since}",
                self.failures,
                if self.failures == 1 { "" } else { "s" }
            ));
        }
        let mut annotations = std::collections::BTreeMap::new();
        if let Some(run) = &self.last {
            let duration = run
                .duration_secs
                .map(|d| format!(" in {}", human_duration(d.round() as i64)))
                .unwrap_or_default();
            let link = run
                .url
                .as_deref()
                .map(|u| format!(": {u}"))
                .unwrap_or_default();
            let attempt = if run.attempt > 1 {
                format!(" (attempt {})", run.attempt)
            } else {
                String::new()
            };
            lines.push(format!(
                "Run #{}{attempt} {}{duration}{link}",
                run.number, run.status
            ));
            if let Some(c) = &run.commit {
                let short: String = c.sha.chars().take(8).collect();
                let by = c
                    .author
                    .as_deref()
                    .map(|a| format!(" by {a}"))
                    .unwrap_or_default();
                let title = if c.title.is_empty() {
                    String::new()
                } else {
                    format!(" \"{}\"", c.title)
                };
                lines.push(format!("Commit {short}{title}{by}"));
                annotations.insert("commit".to_string(), c.sha.clone());
            }
            if let Some(who) = &run.triggered_by {
                lines.push(format!("Triggered by {who}"));
            }
            if let Some(u) = &run.url {
                annotations.insert("run_url".to_string(), u.clone());
            }
            let jobs = self.failed_jobs();
            if self.firing && !jobs.is_empty() {
                let names: Vec<String> = jobs
                    .iter()
                    .map(|j| {
                        let mut n = match &j.stage {
                            Some(st) => format!("{st}/{}", j.name),
                            None => j.name.clone(),
                        };
                        if let Some(r) = &j.reason {
                            n.push_str(&format!(" ({r})"));
                        }
                        n
                    })
                    .collect();
                lines.push(format!("Failed jobs: {}", names.join("; ")));
            }
        }
        NewAlert {
            fingerprint: id.fingerprint(),
            title,
            content: crate::domain::labels::cut(
                &lines.join("\n"),
                crate::domain::alert::MAX_CONTENT_LEN,
            ),
            severity,
            service: Some(crate::domain::labels::cut(
                &s.project,
                crate::domain::alert::MAX_SERVICE_LEN,
            )),
            status: if self.firing {
                AlertStatus::Firing
            } else {
                AlertStatus::Resolved
            },
            labels: id.labels(),
            annotations: Labels::trusted(annotations),
            trace_id: None,
            request_id: None,
            starts_at: None,
        }
    }
}

/// `90` → `1m 30s`; `7260` → `2h 1m`.
pub fn human_duration(secs: i64) -> String {
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    match (h, m) {
        (0, 0) => format!("{s}s"),
        (0, _) if s == 0 => format!("{m}m"),
        (0, _) => format!("{m}m {s}s"),
        (_, 0) => format!("{h}h"),
        _ => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ci::Commit;

    fn run(number: i64, attempt: i64, outcome: Outcome) -> Run {
        Run {
            series: Series::new("acme/api", "build", "main"),
            run_id: format!("r{number}"),
            number,
            attempt,
            outcome,
            status: format!("{outcome:?}").to_lowercase(),
            url: Some(format!("https://ci.example/runs/{number}")),
            commit: Some(Commit {
                sha: "0123456789abcdef".into(),
                title: "Fix the parser".into(),
                author: Some("Li Lei".into()),
            }),
            triggered_by: Some("lilei".into()),
            duration_secs: Some(192.0),
            failed_jobs: vec![],
        }
    }

    fn feed(state: &mut SeriesState, runs: &[(i64, i64, Outcome)]) -> Vec<Step> {
        let rule = CiRule::default();
        runs.iter()
            .map(|&(n, a, o)| state.step(&run(n, a, o), counted(o, &rule), 2, 0))
            .collect()
    }

    use Change::{Fire, Refire, Resolve};
    use Outcome::*;

    #[test]
    fn the_second_failure_fires_and_the_first_success_resolves() {
        let mut s = SeriesState::default();
        let steps = feed(
            &mut s,
            &[
                (1, 1, Failure),
                (2, 1, Failure),
                (3, 1, Failure),
                (4, 1, Success),
                (5, 1, Success),
            ],
        );
        assert_eq!(
            steps,
            [
                Step::Counted(Change::None),
                Step::Counted(Fire),
                Step::Counted(Refire),
                Step::Counted(Resolve),
                Step::Counted(Change::None),
            ]
        );
        assert!(!s.firing);
    }

    #[test]
    fn older_runs_and_repeats_change_nothing() {
        let mut s = SeriesState::default();
        feed(&mut s, &[(5, 1, Failure)]);
        let before = s.clone();
        assert_eq!(feed(&mut s, &[(4, 1, Failure)]), [Step::Stale]);
        assert_eq!(feed(&mut s, &[(5, 1, Failure)]), [Step::Duplicate]);
        assert_eq!(s, before);
    }

    #[test]
    fn a_rerun_replaces_its_runs_result() {
        let mut s = SeriesState::default();
        // Run 7 fails twice in a row with run 6: fires; its re-run passes.
        feed(&mut s, &[(6, 1, Failure), (7, 1, Failure)]);
        assert!(s.firing);
        assert_eq!(feed(&mut s, &[(7, 2, Success)]), [Step::Counted(Resolve)]);
        // Attempt 1 arriving late is older than attempt 2.
        assert_eq!(feed(&mut s, &[(7, 1, Failure)]), [Step::Stale]);
        // A re-run that fails again counts once, not twice.
        let mut s = SeriesState::default();
        feed(&mut s, &[(1, 1, Failure), (1, 2, Failure)]);
        assert_eq!(s.failures, 1);
        assert!(!s.firing);
        // A GitLab pipeline (attempt 0) going failed → success → failed.
        let mut s = SeriesState::default();
        feed(&mut s, &[(9, 0, Failure), (10, 0, Failure)]);
        assert_eq!(feed(&mut s, &[(10, 0, Success)]), [Step::Counted(Resolve)]);
        assert_eq!(feed(&mut s, &[(10, 0, Failure)]), [Step::Counted(Fire)]);
        assert_eq!(s.failures, 2);
    }

    #[test]
    fn neutral_results_leave_the_streak_alone_unless_the_rule_counts_them() {
        let mut s = SeriesState::default();
        feed(
            &mut s,
            &[(1, 1, Failure), (2, 1, Cancelled), (3, 1, Failure)],
        );
        assert_eq!(s.failures, 2);
        assert!(s.firing);
        let strict = CiRule {
            count_cancelled: true,
            ..CiRule::default()
        };
        let mut s = SeriesState::default();
        s.step(&run(1, 1, Cancelled), counted(Cancelled, &strict), 2, 0);
        s.step(&run(2, 1, Cancelled), counted(Cancelled, &strict), 2, 0);
        assert!(s.firing);
        assert_eq!(counted(TimedOut, &CiRule::default()), Counted::Failure);
        assert_eq!(counted(Unstable, &CiRule::default()), Counted::Neutral);
    }

    #[test]
    fn the_alert_says_what_failed_where_and_by_whom() {
        let mut s = SeriesState::default();
        let id = SeriesId {
            system: System::Github,
            source: "acme".into(),
            series: Series::new("acme/api", "build", "main"),
        };
        feed(&mut s, &[(1, 1, Failure)]);
        assert!(s.add_job(
            "r2",
            1,
            &FailedJob {
                name: "test".into(),
                stage: None,
                reason: Some("Run cargo test".into()),
                url: None,
            }
        ));
        feed(&mut s, &[(2, 1, Failure)]);
        let a = s.alert(&id, Severity::Error, 90_000);
        assert_eq!(a.status, AlertStatus::Firing);
        assert_eq!(a.title, "acme/api: build on main");
        assert!(
            a.content.contains("2 failed runs in a row (GitHub acme)"),
            "{}",
            a.content
        );
        assert!(
            a.content
                .contains("Run #2 failure in 3m 12s: https://ci.example/runs/2")
        );
        assert!(
            a.content
                .contains("Commit 01234567 \"Fix the parser\" by Li Lei")
        );
        assert!(a.content.contains("Failed jobs: test (Run cargo test)"));
        assert_eq!(a.labels.get("ref"), Some("main"));
        assert_eq!(a.labels.get("source"), Some("ci"));
        assert_eq!(
            a.annotations.get("run_url"),
            Some("https://ci.example/runs/2")
        );
        feed(&mut s, &[(3, 1, Success)]);
        let r = s.alert(&id, Severity::Error, 0);
        assert_eq!(r.status, AlertStatus::Resolved);
        assert_eq!(r.fingerprint, a.fingerprint);
        assert!(!r.content.contains("Failed jobs"));
    }

    #[test]
    fn series_keys_and_rules() {
        let a = SeriesId {
            system: System::Gitlab,
            source: "a:b".into(),
            series: Series::new("c", "d", "e"),
        };
        let b = SeriesId {
            system: System::Gitlab,
            source: "a".into(),
            series: Series::new("b:c", "d", "e"),
        };
        assert_ne!(a.key(), b.key());
        assert_ne!(a.fingerprint(), b.fingerprint());
        let rules = vec![CiRule {
            matchers: vec![crate::domain::Matcher::parse("ref=~\"main|release/.*\"").unwrap()],
            consecutive_failures: 1,
            severity: "critical".into(),
            ..CiRule::default()
        }];
        assert_eq!(rule_for(&rules, &a.labels()).consecutive_failures, 2);
        let main = SeriesId {
            series: Series::new("c", "d", "release/1.2"),
            ..a
        };
        assert_eq!(rule_for(&rules, &main.labels()).consecutive_failures, 1);
        assert_eq!(human_duration(7260), "2h 1m");
        assert_eq!(human_duration(59), "59s");
    }
}
