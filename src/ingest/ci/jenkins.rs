//! The Jenkins Notification plugin's JSON (spec 4.2). Phases `COMPLETED`
//! and `FINALIZED` carry the result (both arrive with event `all`, and are
//! then one result); `STARTED` is a start; `QUEUED` is ignored.
//!
//! A series is (job full name, job name, branch), ordered by build number.
//! The full name comes from the job's relative `url` (`job/a/job/b/` is
//! `a/b`), so folders and multibranch jobs keep their path.

use serde::Deserialize;

use super::{Event, MAX_NAME, Outcome, Run, Series, Unreadable, one_line, url};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docs_example_is_a_success_of_its_job() {
        let body = std::fs::read(format!(
            "{}/tests/vectors/cicd-payloads/jenkins-notification-plugin-doc-example.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
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
