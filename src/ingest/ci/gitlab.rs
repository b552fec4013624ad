//! GitLab webhooks (spec section 2): the Pipeline Hook, sent on every status
//! change of a pipeline. Terminal statuses (`success`, `failed`, `canceled`,
//! `skipped`) are results; `running` is a start; the rest is ignored. Its
//! `builds[]` names the failed jobs, so the Job Hook is not needed.
//!
//! A series is (project path, pipeline name — or `schedule` for scheduled
//! pipelines, else `pipeline` —, ref); pipelines are ordered by their id. A
//! pipeline that fails, has a job retried and then passes changes its own
//! result: it is the same run number with another outcome.

use serde::Deserialize;

use super::{
    Event, FailedJob, MAX_JOBS, MAX_TEXT, Outcome, Run, Series, Unreadable, one_line, url,
};

#[derive(Deserialize)]
struct Attributes {
    id: i64,
    #[serde(rename = "ref")]
    git_ref: Option<String>,
    name: Option<String>,
    status: String,
    source: Option<String>,
    sha: Option<String>,
    duration: Option<f64>,
    url: Option<String>,
}

#[derive(Deserialize)]
struct Project {
    path_with_namespace: String,
    web_url: Option<String>,
}

#[derive(Deserialize)]
struct User {
    username: Option<String>,
    name: Option<String>,
}

#[derive(Deserialize)]
struct Author {
    name: Option<String>,
}

#[derive(Deserialize)]
struct CommitInfo {
    id: Option<String>,
    message: Option<String>,
    title: Option<String>,
    author: Option<Author>,
}

#[derive(Deserialize)]
struct Build {
    id: Option<i64>,
    stage: Option<String>,
    name: Option<String>,
    status: Option<String>,
    #[serde(default)]
    allow_failure: bool,
    failure_reason: Option<String>,
}

#[derive(Deserialize)]
struct PipelineHook {
    object_attributes: Attributes,
    project: Project,
    user: Option<User>,
    commit: Option<CommitInfo>,
    #[serde(default)]
    builds: Vec<Build>,
}

/// `Ci::HasStatus` (spec 2.6): completed statuses, and `running`.
fn outcome(status: &str) -> Option<Outcome> {
    Some(match status {
        "success" => Outcome::Success,
        "failed" => Outcome::Failure,
        "canceled" => Outcome::Cancelled,
        "skipped" => Outcome::Neutral,
        _ => return None,
    })
}

/// The event named by `X-Gitlab-Event`.
pub fn parse(event: &str, body: &[u8]) -> Result<Event, Unreadable> {
    match event {
        "Pipeline Hook" => pipeline(serde_json::from_slice(body)?),
        "Job Hook" => Ok(Event::Ignored(
            "Job Hook: failed jobs are read from the Pipeline Hook".into(),
        )),
        other => Ok(Event::Ignored(format!(
            "`{}` is not used; enable Pipeline events",
            one_line(other, 40)
        ))),
    }
}

fn pipeline(p: PipelineHook) -> Result<Event, Unreadable> {
    let a = p.object_attributes;
    let name = match (a.name.as_deref(), a.source.as_deref()) {
        (Some(n), _) if !n.is_empty() => n,
        (_, Some("schedule")) => "schedule",
        _ => "pipeline",
    };
    let series = Series::new(
        &p.project.path_with_namespace,
        name,
        a.git_ref.as_deref().unwrap_or(""),
    );
    let Some(outcome) = outcome(&a.status) else {
        if a.status == "running" {
            return Ok(Event::Started {
                series,
                run_id: a.id.to_string(),
            });
        }
        return Ok(Event::Ignored(format!(
            "pipeline status `{}` is not a result",
            one_line(&a.status, 40)
        )));
    };
    let web = p
        .project
        .web_url
        .as_deref()
        .map(|w| w.trim_end_matches('/'));
    let failed_jobs = p
        .builds
        .iter()
        .filter(|b| b.status.as_deref() == Some("failed") && !b.allow_failure)
        .take(MAX_JOBS)
        .map(|b| FailedJob {
            name: one_line(b.name.as_deref().unwrap_or("job"), MAX_TEXT),
            stage: b.stage.as_deref().map(|s| one_line(s, MAX_TEXT)),
            reason: b.failure_reason.as_deref().map(|r| one_line(r, MAX_TEXT)),
            url: match (web, b.id) {
                (Some(w), Some(id)) => url(Some(&format!("{w}/-/jobs/{id}"))),
                _ => None,
            },
        })
        .collect();
    let c = p.commit.as_ref();
    Ok(Event::Finished(Run {
        run_id: a.id.to_string(),
        number: a.id,
        attempt: 0,
        outcome,
        status: one_line(&a.status, 40),
        url: url(a.url.as_deref())
            .or_else(|| web.and_then(|w| url(Some(&format!("{w}/-/pipelines/{}", a.id))))),
        commit: super::commit(
            c.and_then(|c| c.id.as_deref()).or(a.sha.as_deref()),
            c.and_then(|c| c.title.as_deref().or(c.message.as_deref())),
            c.and_then(|c| c.author.as_ref())
                .and_then(|a| a.name.as_deref()),
        ),
        triggered_by: p
            .user
            .and_then(|u| u.username.or(u.name))
            .map(|u| one_line(&u, MAX_TEXT)),
        duration_secs: a.duration.filter(|d| d.is_finite() && *d >= 0.0),
        failed_jobs,
        series,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ci::test_payload as payload;

    #[test]
    fn a_failed_pipeline_names_its_failed_jobs() {
        let Event::Finished(run) =
            parse("Pipeline Hook", &payload("gitlab-pipeline-failed.json")).unwrap()
        else {
            panic!("not a result")
        };
        assert_eq!(run.series.project, "pengyonghui/datakit");
        assert_eq!(run.series.git_ref, "iss-449");
        assert_eq!(run.series.pipeline, "pipeline");
        assert_eq!(run.number, 110437);
        assert_eq!(run.outcome, Outcome::Failure);
        // `duration: null` in this real capture.
        assert_eq!(run.duration_secs, None);
        assert_eq!(run.failed_jobs.len(), 1);
        assert_eq!(run.failed_jobs[0].name, "release-nothing-only-build");
        assert_eq!(run.commit.unwrap().title, "Update test-ci.txt");
        assert!(run.url.unwrap().ends_with("/-/pipelines/110437"));
    }

    #[test]
    fn the_docs_success_example_is_a_success() {
        let Event::Finished(run) = parse(
            "Pipeline Hook",
            &payload("gitlab-pipeline-success-doc-example.json"),
        )
        .unwrap() else {
            panic!("not a result")
        };
        assert_eq!(run.outcome, Outcome::Success);
        assert!(run.failed_jobs.is_empty());
    }

    #[test]
    fn running_is_a_start_and_other_hooks_are_ignored() {
        let mut v: serde_json::Value =
            serde_json::from_slice(&payload("gitlab-pipeline-failed.json")).unwrap();
        v["object_attributes"]["status"] = "running".into();
        assert!(matches!(
            parse("Pipeline Hook", v.to_string().as_bytes()).unwrap(),
            Event::Started { .. }
        ));
        v["object_attributes"]["status"] = "pending".into();
        assert!(matches!(
            parse("Pipeline Hook", v.to_string().as_bytes()).unwrap(),
            Event::Ignored(_)
        ));
        assert!(matches!(
            parse("Job Hook", &payload("gitlab-job-failed.json")).unwrap(),
            Event::Ignored(_)
        ));
        assert!(matches!(
            parse("Push Hook", b"{}").unwrap(),
            Event::Ignored(_)
        ));
    }
}
