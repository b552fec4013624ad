//! GitHub webhooks (spec section 1): `workflow_run` (a run finished or
//! started), `workflow_job` (a job failed: named on the run's alert), `ping`.
//! Gitea Actions sends the same two events in GitHub's shape (spec 5.1), so
//! `/ci/gitea` reads them here too.
//!
//! A series is (repository, workflow name, branch); runs are ordered by
//! `run_number`, re-runs by `run_attempt`.

use serde::Deserialize;

use super::{
    Event, FailedJob, MAX_TEXT, Outcome, Run, Series, Unreadable, commit, one_line,
    seconds_between, url,
};

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize, Default)]
struct Login {
    login: Option<String>,
}

#[derive(Deserialize)]
struct Workflow {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Author {
    name: Option<String>,
}

#[derive(Deserialize)]
struct HeadCommit {
    message: Option<String>,
    author: Option<Author>,
}

#[derive(Deserialize)]
struct WorkflowRun {
    id: i64,
    name: Option<String>,
    display_title: Option<String>,
    head_branch: Option<String>,
    head_sha: Option<String>,
    head_commit: Option<HeadCommit>,
    run_number: i64,
    run_attempt: Option<i64>,
    status: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
    run_started_at: Option<String>,
    updated_at: Option<String>,
    actor: Option<Login>,
    triggering_actor: Option<Login>,
}

#[derive(Deserialize)]
struct RunEvent {
    action: String,
    repository: Repository,
    workflow: Option<Workflow>,
    workflow_run: WorkflowRun,
    sender: Option<Login>,
}

#[derive(Deserialize)]
struct Step {
    name: String,
    conclusion: Option<String>,
}

#[derive(Deserialize)]
struct WorkflowJob {
    run_id: i64,
    run_attempt: Option<i64>,
    name: String,
    workflow_name: Option<String>,
    head_branch: Option<String>,
    conclusion: Option<String>,
    html_url: Option<String>,
    #[serde(default)]
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct JobEvent {
    action: String,
    repository: Repository,
    workflow_job: WorkflowJob,
}

/// Spec 1.5: `failure` and `startup_failure` fail; `timed_out` and
/// `cancelled` are the rule's choice; the rest says nothing.
pub fn outcome(conclusion: Option<&str>) -> Outcome {
    match conclusion {
        Some("success") => Outcome::Success,
        Some("failure" | "startup_failure") => Outcome::Failure,
        Some("timed_out") => Outcome::TimedOut,
        Some("cancelled") => Outcome::Cancelled,
        _ => Outcome::Neutral,
    }
}

/// The event named by `X-GitHub-Event` (or `X-Gitea-Event`).
pub fn parse(event: &str, body: &[u8]) -> Result<Event, Unreadable> {
    match event {
        "ping" => Ok(Event::Ping),
        "workflow_run" => run(serde_json::from_slice(body)?),
        "workflow_job" => Ok(job(serde_json::from_slice(body)?)),
        other => Ok(Event::Ignored(format!(
            "`{}` events are not used; send workflow_run and workflow_job",
            one_line(other, 40)
        ))),
    }
}

fn run(e: RunEvent) -> Result<Event, Unreadable> {
    let w = e.workflow_run;
    let name = [
        w.name.as_deref(),
        e.workflow.as_ref().and_then(|w| w.name.as_deref()),
        w.display_title.as_deref(),
    ]
    .into_iter()
    .flatten()
    .find(|n| !n.is_empty())
    .unwrap_or("workflow");
    let series = Series::new(
        &e.repository.full_name,
        name,
        w.head_branch.as_deref().unwrap_or(""),
    );
    match e.action.as_str() {
        "completed" => {}
        "in_progress" => {
            return Ok(Event::Started {
                series,
                run_id: w.id.to_string(),
            });
        }
        other => {
            return Ok(Event::Ignored(format!(
                "workflow_run `{}`: only completed runs are counted",
                one_line(other, 40)
            )));
        }
    }
    let who = |l: Option<Login>| l.and_then(|l| l.login).filter(|l| !l.is_empty());
    let triggered_by = who(w.triggering_actor)
        .or_else(|| who(w.actor))
        .or_else(|| who(e.sender))
        .map(|l| one_line(&l, MAX_TEXT));
    let head = w.head_commit.as_ref();
    Ok(Event::Finished(Run {
        series,
        run_id: w.id.to_string(),
        number: w.run_number,
        attempt: w.run_attempt.unwrap_or(1),
        outcome: outcome(w.conclusion.as_deref()),
        status: one_line(
            w.conclusion
                .as_deref()
                .or(w.status.as_deref())
                .unwrap_or("completed"),
            40,
        ),
        url: url(w.html_url.as_deref()),
        commit: commit(
            w.head_sha.as_deref(),
            head.and_then(|h| h.message.as_deref()),
            head.and_then(|h| h.author.as_ref())
                .and_then(|a| a.name.as_deref()),
        ),
        triggered_by,
        duration_secs: seconds_between(w.run_started_at.as_deref(), w.updated_at.as_deref()),
        failed_jobs: Vec::new(),
    }))
}

fn job(e: JobEvent) -> Event {
    let j = e.workflow_job;
    let failed = matches!(
        outcome(j.conclusion.as_deref()),
        Outcome::Failure | Outcome::TimedOut
    );
    if e.action != "completed" || !failed {
        return Event::Ignored("workflow_job: only failed jobs are named on alerts".into());
    }
    let Some(workflow) = j.workflow_name.filter(|n| !n.is_empty()) else {
        return Event::Ignored("workflow_job without workflow_name (an old GitHub)".into());
    };
    let step = j
        .steps
        .iter()
        .find(|s| matches!(s.conclusion.as_deref(), Some("failure" | "timed_out")))
        .map(|s| one_line(&s.name, MAX_TEXT));
    Event::JobFailed {
        series: Series::new(
            &e.repository.full_name,
            &workflow,
            j.head_branch.as_deref().unwrap_or(""),
        ),
        run_id: j.run_id.to_string(),
        attempt: j.run_attempt.unwrap_or(1),
        job: FailedJob {
            name: one_line(&j.name, MAX_TEXT),
            stage: None,
            reason: step,
            url: url(j.html_url.as_deref()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ci::test_payload as payload;

    #[test]
    fn a_completed_run_is_a_finished_run_with_its_commit() {
        let Event::Finished(run) = parse(
            "workflow_run",
            &payload("github-workflow_run-completed-success.json"),
        )
        .unwrap() else {
            panic!("not a finished run")
        };
        assert_eq!(run.series.project, "octo-org/octo-repo");
        // `workflow_run.name` is "" in this payload: the workflow's name.
        assert_eq!(run.series.pipeline, "test");
        assert_eq!(run.series.git_ref, "master");
        assert_eq!((run.number, run.attempt), (163, 1));
        assert_eq!(run.outcome, Outcome::Success);
        assert_eq!(run.run_id, "289782451");
        let c = run.commit.unwrap();
        assert_eq!(c.title, "build(test): check workflow run event payload");
        assert_eq!(c.author.as_deref(), Some("Matthias Fax"));
        assert_eq!(
            run.url.as_deref(),
            Some("https://github.com/octo-org/octo-repo/actions/runs/289782451")
        );
    }

    #[test]
    fn a_failed_job_names_its_failed_step() {
        let Event::JobFailed {
            series,
            job,
            run_id,
            ..
        } = parse(
            "workflow_job",
            &payload("github-workflow_job-completed-failure.json"),
        )
        .unwrap()
        else {
            panic!("not a failed job")
        };
        assert_eq!(series.pipeline, "CodeQL");
        assert_eq!(series.git_ref, "main");
        assert_eq!(run_id, "2202229078");
        assert_eq!(job.name, "linters");
        assert_eq!(job.reason.as_deref(), Some("Run yarn run format-check"));
    }

    #[test]
    fn ping_and_other_events_are_not_runs() {
        assert_eq!(
            parse("ping", &payload("github-ping.json")).unwrap(),
            Event::Ping
        );
        assert!(matches!(
            parse(
                "check_run",
                &payload("github-check_run-completed-failure.json")
            )
            .unwrap(),
            Event::Ignored(_)
        ));
        assert!(parse("workflow_run", b"{}").is_err());
    }

    #[test]
    fn conclusions_map_as_the_spec_lists_them() {
        assert_eq!(outcome(Some("startup_failure")), Outcome::Failure);
        assert_eq!(outcome(Some("action_required")), Outcome::Neutral);
        assert_eq!(outcome(Some("timed_out")), Outcome::TimedOut);
        assert_eq!(outcome(None), Outcome::Neutral);
        assert_eq!(outcome(Some("something_new")), Outcome::Neutral);
    }
}
