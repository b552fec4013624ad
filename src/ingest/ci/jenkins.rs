//! The Jenkins Notification plugin's JSON (spec 4.2). Phases `COMPLETED`
//! and `FINALIZED` carry the result (both arrive with event `all`, and are
//! then one result); `STARTED` is a start; `QUEUED` is ignored.
//!
//! A series is (job full name, job name, branch), ordered by build number.
//! The full name comes from the job's relative `url` (`job/a/job/b/` is
//! `a/b`), so folders and multibranch jobs keep their path.

use serde::Deserialize;

use super::{Event, MAX_NAME, MAX_TEXT, Outcome, Run, Series, Unreadable, one_line, url};

#[derive(Deserialize)]
struct Scm {
    branch: Option<String>,
    commit: Option<String>,
}

#[derive(Deserialize)]
struct Build {
    full_url: Option<String>,
    number: i64,
    phase: String,
    status: Option<String>,
    duration: Option<f64>,
    scm: Option<Scm>,
}

#[derive(Deserialize)]
struct Notification {
    name: String,
    url: Option<String>,
    build: Build,
}

/// `hudson.model.Result` (spec 4.1).
pub fn outcome(result: &str) -> Outcome {
    match result {
        "SUCCESS" => Outcome::Success,
        "FAILURE" => Outcome::Failure,
        "UNSTABLE" => Outcome::Unstable,
        "ABORTED" => Outcome::Cancelled,
        _ => Outcome::Neutral,
    }
}

/// `job/a/job/b%2Fc/` → `a/b%2Fc` (names are kept as Jenkins encodes them).
pub fn full_name(job_url: &str) -> Option<String> {
    let path = job_url.trim_matches('/');
    let path = path.find("job/").map(|i| &path[i..])?;
    let parts: Vec<&str> = path
        .split('/')
        .collect::<Vec<_>>()
        .chunks(2)
        .filter_map(|c| match c {
            ["job", name] if !name.is_empty() => Some(*name),
            _ => None,
        })
        .collect();
    (!parts.is_empty()).then(|| parts.join("/"))
}

pub fn parse(body: &[u8]) -> Result<Event, Unreadable> {
    let n: Notification = serde_json::from_slice(body)?;
    let b = n.build;
    let project = n
        .url
        .as_deref()
        .and_then(full_name)
        .unwrap_or_else(|| n.name.clone());
    let series = Series::new(
        &project,
        &n.name,
        b.scm
            .as_ref()
            .and_then(|s| s.branch.as_deref())
            .unwrap_or(""),
    );
    match b.phase.as_str() {
        "COMPLETED" | "FINALIZED" => {}
        "STARTED" => {
            return Ok(Event::Started {
                series,
                run_id: b.number.to_string(),
            });
        }
        other => {
            return Ok(Event::Ignored(format!(
                "phase `{}` is not a result",
                one_line(other, 40)
            )));
        }
    }
    let Some(status) = b.status else {
        return Ok(Event::Ignored("a finished build without a status".into()));
    };
    Ok(Event::Finished(Run {
        run_id: format!("{}#{}", one_line(&project, MAX_NAME), b.number),
        number: b.number,
        attempt: 0,
        outcome: outcome(&status),
        status: one_line(&status, 40),
        url: url(b.full_url.as_deref()),
        commit: super::commit(b.scm.as_ref().and_then(|s| s.commit.as_deref()), None, None),
        triggered_by: None,
        duration_secs: b
            .duration
            .filter(|d| d.is_finite() && *d > 0.0)
            .map(|ms| ms / 1000.0),
        failed_jobs: Vec::new(),
        series,
    }))
}

/// The `tree=` of a build read by the poller (spec 4.1).
pub const BUILD_TREE: &str = "number,url,result,building,timestamp,duration,changeSets[items[commitId,msg,author[fullName]]],changeSet[items[commitId,msg,author[fullName]]],actions[causes[shortDescription],lastBuiltRevision[SHA1,branch[name]]]";

#[derive(Deserialize)]
struct ApiAuthor {
    #[serde(rename = "fullName")]
    full_name: Option<String>,
}

#[derive(Deserialize)]
struct ApiChange {
    #[serde(rename = "commitId")]
    commit_id: Option<String>,
    msg: Option<String>,
    author: Option<ApiAuthor>,
}

#[derive(Deserialize, Default)]
struct ApiChangeSet {
    #[serde(default)]
    items: Vec<ApiChange>,
}

#[derive(Deserialize)]
struct ApiBranch {
    name: Option<String>,
}

#[derive(Deserialize)]
struct ApiRevision {
    #[serde(rename = "SHA1")]
    sha1: Option<String>,
    #[serde(default)]
    branch: Vec<ApiBranch>,
}

#[derive(Deserialize)]
struct ApiCause {
    #[serde(rename = "shortDescription")]
    short_description: Option<String>,
}

#[derive(Deserialize, Default)]
struct ApiAction {
    #[serde(default)]
    causes: Vec<ApiCause>,
    #[serde(rename = "lastBuiltRevision")]
    last_built_revision: Option<ApiRevision>,
}

#[derive(Deserialize)]
struct ApiBuild {
    number: i64,
    url: Option<String>,
    result: Option<String>,
    #[serde(default)]
    building: bool,
    duration: Option<f64>,
    #[serde(default, rename = "changeSets")]
    change_sets: Vec<ApiChangeSet>,
    #[serde(rename = "changeSet")]
    change_set: Option<ApiChangeSet>,
    #[serde(default)]
    actions: Vec<Option<ApiAction>>,
}

/// A build as the JSON API gives it (`{job}/{number}/api/json`), for the
/// job `project` (its full name) called `name`: `None` while it runs.
/// The ref is the branch the last git checkout built (a Pipeline's
/// shared libraries are checked out first), else `default_ref` (a
/// multibranch job's own name).
pub fn api_build(
    project: &str,
    name: &str,
    default_ref: &str,
    body: &[u8],
) -> Result<Option<Run>, Unreadable> {
    let b: ApiBuild = serde_json::from_slice(body)?;
    let Some(result) = b.result.filter(|_| !b.building) else {
        return Ok(None);
    };
    let actions: Vec<ApiAction> = b.actions.into_iter().flatten().collect();
    let revision = actions
        .iter()
        .rev()
        .find_map(|a| a.last_built_revision.as_ref());
    let git_ref = revision
        .and_then(|r| r.branch.first())
        .and_then(|b| b.name.as_deref())
        .unwrap_or(default_ref);
    let change = b
        .change_sets
        .iter()
        .chain(b.change_set.as_ref())
        .flat_map(|c| c.items.last())
        .next_back();
    let sha = revision
        .and_then(|r| r.sha1.as_deref())
        .or(change.and_then(|c| c.commit_id.as_deref()));
    let commit = super::commit(
        sha,
        change.and_then(|c| c.msg.as_deref()),
        change
            .and_then(|c| c.author.as_ref())
            .and_then(|a| a.full_name.as_deref()),
    );
    let triggered_by = actions
        .iter()
        .flat_map(|a| a.causes.iter())
        .find_map(|c| c.short_description.as_deref())
        .map(|d| one_line(d, MAX_TEXT));
    let series = Series::new(project, name, git_ref);
    Ok(Some(Run {
        run_id: format!("{}#{}", one_line(project, MAX_NAME), b.number),
        number: b.number,
        attempt: 0,
        outcome: outcome(&result),
        status: one_line(&result, 40),
        url: url(b.url.as_deref()),
        commit,
        triggered_by,
        duration_secs: b
            .duration
            .filter(|d| d.is_finite() && *d > 0.0)
            .map(|ms| ms / 1000.0),
        failed_jobs: Vec::new(),
        series,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ci::test_payload as payload;

    #[test]
    fn the_docs_example_is_a_success_of_its_job() {
        let body = payload("jenkins-notification-plugin-doc-example.json");
        let Event::Finished(run) = parse(&body).unwrap() else {
            panic!("not a result")
        };
        assert_eq!(run.series.project, "asgard");
        assert_eq!(run.series.git_ref, "master");
        assert_eq!(run.number, 18);
        assert_eq!(run.outcome, Outcome::Success);
        assert_eq!(
            run.url.as_deref(),
            Some("http://localhost:8080/job/asgard/18/")
        );
    }

    #[test]
    fn api_builds_of_both_kinds_are_runs_with_their_branch_and_commit() {
        let run = api_build(
            "zowe-docs-site/users%2Fjack%2Flf-jenkins",
            "users%2Fjack%2Flf-jenkins",
            "users/jack/lf-jenkins",
            &payload("jenkins-build-api-pipeline-failure.json"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(run.number, 4);
        assert_eq!(run.outcome, Outcome::Failure);
        assert_eq!(run.series.git_ref, "users/jack/lf-jenkins");
        assert_eq!(
            run.commit.as_ref().map(|c| c.sha.as_str()),
            Some("2c6e06a3bf6a52ae3f8f26f11c91d9550794c161")
        );
        assert_eq!(
            run.triggered_by.as_deref(),
            Some("Started by user Daniel Pono Takamori")
        );
        assert_eq!(run.duration_secs, Some(127.885));
        let run = api_build(
            "apex",
            "apex",
            "",
            &payload("jenkins-build-api-freestyle-failure.json"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(run.series.git_ref, "master");
        assert_eq!(run.number, 92);
        assert!(run.commit.unwrap().author.is_some());
        let building = br#"{"number": 5, "building": true, "result": null}"#;
        assert_eq!(api_build("a", "a", "", building).unwrap(), None);
    }

    #[test]
    fn folder_paths_come_from_the_job_url() {
        assert_eq!(full_name("job/a/job/b/").as_deref(), Some("a/b"));
        assert_eq!(
            full_name("job/zowe/job/users%2Fjack/").as_deref(),
            Some("zowe/users%2Fjack")
        );
        assert_eq!(full_name("nothing"), None);
        assert_eq!(outcome("NOT_BUILT"), Outcome::Neutral);
        assert_eq!(outcome("ABORTED"), Outcome::Cancelled);
    }
}
