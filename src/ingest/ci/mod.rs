//! CI/CD senders' webhook payloads (`../shared/spec/cicd.md`) converted into
//! one shape, [`Event`]: a run that finished, a run that started, a job that
//! failed, a ping, or something ackbot does not use (answered 2xx all the
//! same: GitLab disables a hook that is answered 4xx).
//!
//! Pure: the bytes given here are already verified; what they mean is all
//! this module decides. Every text that ends up in a label or an alert is
//! cut to a bound here, so a 25 MB commit message costs nothing later.

pub mod gitee;
pub mod github;
pub mod gitlab;
pub mod jenkins;

use serde::{Deserialize, Serialize};

use crate::domain::labels::cut;

/// Longest project, pipeline or ref kept (labels, series keys).
pub const MAX_NAME: usize = 200;
/// Longest commit title, author or job name kept.
pub const MAX_TEXT: usize = 300;
/// Failed jobs kept per run.
pub const MAX_JOBS: usize = 10;

/// The sending product, as `ci_system` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum System {
    Github,
    Gitlab,
    Gitee,
    Gitea,
    Jenkins,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
            Self::Gitee => "gitee",
            Self::Gitea => "gitea",
            Self::Jenkins => "jenkins",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Github,
            Self::Gitlab,
            Self::Gitee,
            Self::Gitea,
            Self::Jenkins,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }

    /// How people call it, for alert text.
    pub fn display(self) -> &'static str {
        match self {
            Self::Github => "GitHub",
            Self::Gitlab => "GitLab",
            Self::Gitee => "Gitee",
            Self::Gitea => "Gitea",
            Self::Jenkins => "Jenkins",
        }
    }
}

/// A run's result in the senders' common terms; which of them count as a
/// failure is the rule's choice (`[[ci.rules]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    TimedOut,
    Cancelled,
    /// Jenkins `UNSTABLE`: built, tests failed.
    Unstable,
    /// Skipped, neutral, waiting for approval, not built: says nothing.
    Neutral,
}

/// One pipeline's history: what failure streaks are counted over.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Series {
    pub project: String,
    pub pipeline: String,
    /// Branch or tag; empty when the sender gives none.
    #[serde(rename = "ref")]
    pub git_ref: String,
}

impl Series {
    pub fn new(project: &str, pipeline: &str, git_ref: &str) -> Self {
        let git_ref = git_ref
            .strip_prefix("refs/remotes/origin/")
            .or_else(|| git_ref.strip_prefix("refs/heads/"))
            .or_else(|| git_ref.strip_prefix("refs/tags/"))
            .or_else(|| git_ref.strip_prefix("origin/"))
            .unwrap_or(git_ref);
        Self {
            project: one_line(project, MAX_NAME),
            pipeline: one_line(pipeline, MAX_NAME),
            git_ref: one_line(git_ref, MAX_NAME),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The full sha as sent (cut to 64).
    pub sha: String,
    /// The message's first line.
    pub title: String,
    pub author: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailedJob {
    pub name: String,
    pub stage: Option<String>,
    /// The failed step (GitHub) or failure reason (GitLab).
    pub reason: Option<String>,
    pub url: Option<String>,
}

/// A run that reached a terminal result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub series: Series,
    /// The sender's id of the run (stable across re-runs).
    pub run_id: String,
    /// The sender's sequence number: results are ordered by it.
    pub number: i64,
    /// Re-runs of one run number: a later attempt replaces an earlier one.
    pub attempt: i64,
    pub outcome: Outcome,
    /// The sender's own word for it (`failure`, `failed`, `FAILURE`, …).
    pub status: String,
    pub url: Option<String>,
    pub commit: Option<Commit>,
    pub triggered_by: Option<String>,
    pub duration_secs: Option<f64>,
    pub failed_jobs: Vec<FailedJob>,
}

/// What one verified delivery says.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The sender checks the hook (GitHub `ping`).
    Ping,
    Finished(Run),
    /// A run is in progress (for the "running now" gauge).
    Started {
        series: Series,
        run_id: String,
    },
    /// One job of a run failed (GitHub `workflow_job`): named on the run's alert.
    JobFailed {
        series: Series,
        run_id: String,
        attempt: i64,
        job: FailedJob,
    },
    /// Verified, understood, not used: why.
    Ignored(String),
}

/// A verified body that is not what its event header says.
#[derive(Debug, thiserror::Error)]
#[error("the payload cannot be read: {0}")]
pub struct Unreadable(pub String);

impl From<serde_json::Error> for Unreadable {
    fn from(e: serde_json::Error) -> Self {
        Self(e.to_string())
    }
}

/// `s` on one line (control characters become spaces), cut to `max` bytes.
pub fn one_line(s: &str, max: usize) -> String {
    let line: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    cut(line.trim(), max)
}

/// The first line of a commit message, bounded.
pub fn title_of(message: &str) -> String {
    one_line(message.lines().next().unwrap_or(""), MAX_TEXT)
}

pub fn commit(sha: Option<&str>, message: Option<&str>, author: Option<&str>) -> Option<Commit> {
    let sha = sha.filter(|s| !s.is_empty())?;
    Some(Commit {
        sha: one_line(sha, 64),
        title: title_of(message.unwrap_or("")),
        author: author
            .filter(|a| !a.is_empty())
            .map(|a| one_line(a, MAX_TEXT)),
    })
}

/// A URL kept only if it is http(s) and of sane length (cards link it).
pub fn url(u: Option<&str>) -> Option<String> {
    u.filter(|u| (u.starts_with("https://") || u.starts_with("http://")) && u.len() <= 2048)
        .map(str::to_string)
}

/// An RFC 3339 time, or GitLab's `2016-08-12 15:23:28 UTC` and
/// `2022-04-01 13:49:55 +0800` (spec 2.6).
pub fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S %z") {
        return Some(t.with_timezone(&Utc));
    }
    let bare = s.strip_suffix(" UTC")?;
    NaiveDateTime::parse_from_str(bare, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// Seconds from `start` to `end`, when both parse and are in order.
pub fn seconds_between(start: Option<&str>, end: Option<&str>) -> Option<f64> {
    let (s, e) = (parse_time(start?)?, parse_time(end?)?);
    let ms = (e - s).num_milliseconds();
    (ms >= 0).then(|| ms as f64 / 1000.0)
}

/// A captured payload of `tests/vectors/cicd-payloads/`.
#[cfg(test)]
pub(crate) fn test_payload(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/vectors/cicd-payloads/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitlab_and_rfc3339_times_parse_to_the_same_instant() {
        let a = parse_time("2022-04-01 13:49:55 +0800").unwrap();
        let b = parse_time("2022-04-01T05:49:55Z").unwrap();
        let c = parse_time("2022-04-01 05:49:55 UTC").unwrap();
        assert_eq!(a, b);
        assert_eq!(b, c);
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn names_are_one_bounded_line_and_refs_lose_their_prefix() {
        let s = Series::new("a\nb", &"x".repeat(500), "refs/heads/main");
        assert_eq!(s.project, "a b");
        assert!(s.pipeline.len() <= MAX_NAME);
        assert_eq!(s.git_ref, "main");
        assert_eq!(Series::new("p", "q", "origin/master").git_ref, "master");
        assert_eq!(title_of("Fix it\n\nlong body"), "Fix it");
        assert_eq!(url(Some("javascript:alert(1)")), None);
    }
}
