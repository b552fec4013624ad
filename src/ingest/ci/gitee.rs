//! Gitee (spec section 3). Repository webhooks carry no CI result (pushes,
//! issues, merge requests: ignored); Gitee Go's pipeline task notification
//! does: `job.statusCode` `SUCC`, `FAIL`, `CANCEL`, `SKIP` (spec 3.6).
//!
//! A notification is sent per task node, so a series is (repository,
//! pipeline name and job name, branch), ordered by `buildNumber`.

use serde::Deserialize;

use super::{Event, FailedJob, MAX_TEXT, Outcome, Run, Series, Unreadable, one_line, url};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Job {
    pipeline_id: Option<i64>,
    pipeline_name: Option<String>,
    stage_name: Option<String>,
    job_name: Option<String>,
    build_number: i64,
    status_code: String,
    pipeline_url: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Source {
    source_type: Option<String>,
    repo_path: Option<String>,
    branch: Option<String>,
    commit_id: Option<String>,
}

#[derive(Deserialize)]
struct Notification {
    job: Job,
    #[serde(default)]
    sources: Vec<Source>,
}

/// A Gitee Go notification (its headers are not documented, so it is known
/// by its body), else a repository event named by `X-Gitee-Event`.
pub fn parse(event: Option<&str>, body: &[u8]) -> Result<Event, Unreadable> {
    let n: Notification = match serde_json::from_slice(body) {
        Ok(n) => n,
        Err(e) => {
            return match event.filter(|e| !e.is_empty()) {
                Some(event) => Ok(Event::Ignored(format!(
                    "Gitee `{}` carries no pipeline result; use a Gitee Go pipeline webhook",
                    one_line(event, 40)
                ))),
                None => Err(e.into()),
            };
        }
    };
    let j = n.job;
    let outcome = match j.status_code.as_str() {
        "SUCC" => Outcome::Success,
        "FAIL" => Outcome::Failure,
        "CANCEL" => Outcome::Cancelled,
        "SKIP" => Outcome::Neutral,
        other => {
            return Ok(Event::Ignored(format!(
                "Gitee Go status `{}` is not a result",
                one_line(other, 40)
            )));
        }
    };
    let source = n
        .sources
        .iter()
        .find(|s| s.source_type.as_deref() == Some("GITEE_GO"));
    let pipeline = j.pipeline_name.as_deref().unwrap_or("pipeline");
    let pipeline = match j.job_name.as_deref() {
        Some(job) if !job.is_empty() => format!("{pipeline} / {job}"),
        _ => pipeline.to_string(),
    };
    let project = source
        .and_then(|s| s.repo_path.as_deref())
        .unwrap_or(&pipeline)
        .to_string();
    let series = Series::new(
        &project,
        &pipeline,
        source.and_then(|s| s.branch.as_deref()).unwrap_or(""),
    );
    let failed_jobs = if outcome == Outcome::Failure {
        vec![FailedJob {
            name: one_line(j.job_name.as_deref().unwrap_or("job"), MAX_TEXT),
            stage: j.stage_name.as_deref().map(|s| one_line(s, MAX_TEXT)),
            reason: None,
            url: None,
        }]
    } else {
        Vec::new()
    };
    Ok(Event::Finished(Run {
        run_id: format!("{}#{}", j.pipeline_id.unwrap_or(0), j.build_number),
        number: j.build_number,
        attempt: 0,
        outcome,
        status: one_line(&j.status_code, 40),
        url: url(j.pipeline_url.as_deref()),
        commit: super::commit(source.and_then(|s| s.commit_id.as_deref()), None, None),
        triggered_by: None,
        duration_secs: None,
        failed_jobs,
        series,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ci::test_payload as payload;

    #[test]
    fn a_gitee_go_notification_is_a_result_of_its_job() {
        let Event::Finished(run) = parse(
            None,
            &payload("gitee-go-pipeline-job-webhook-doc-example.json"),
        )
        .unwrap() else {
            panic!("not a result")
        };
        assert_eq!(run.series.project, "xiaoxuxuy/test");
        assert_eq!(run.series.pipeline, "测试流水线 / java构建");
        assert_eq!(run.series.git_ref, "master");
        assert_eq!(run.number, 19);
        assert_eq!(run.outcome, Outcome::Success);
    }

    #[test]
    fn repository_events_are_ignored() {
        assert!(matches!(
            parse(Some("Push Hook"), &payload("gitee-push.json")).unwrap(),
            Event::Ignored(_)
        ));
    }
}
