//! The Jenkins poller, for teams whose Jenkins cannot push (spec 4.1).
//!
//! Each poll of a `[[ci.jenkins]]` server reads, per job, the number of its
//! `lastCompletedBuild` (`tree=` keeps the answer small), then every build
//! after the job's stored cursor, oldest first, at most `catch_up` of them
//! (builds finished while ackbot was stopped are caught up on; older ones
//! are skipped), and counts each into its failure streak exactly as a
//! pushed result (`crate::streaks`: deduplicated by build number, so a
//! build polled twice, or polled and pushed, counts once). A job seen for
//! the first time counts only its newest completed build: history from
//! before is not replayed.
//!
//! `folder/*` takes every job under a folder (folders and multibranch
//! projects inside it too, [`MAX_DEPTH`] deep, [`MAX_JOBS`] jobs at most).
//! At most [`AT_ONCE`] requests run at once per server. A poll that cannot
//! reach Jenkins (connection, timeout, 5xx, or 401/403: credentials) backs
//! off (`super::prober`); Jenkins unreachable for `unreachable_after` is an
//! alert of its own, resolved by the next answer.

use std::time::Duration;

use chrono::Utc;
use futures_util::StreamExt;
use serde::Deserialize;

use super::prober::{Context, Outcome, ProbeAlert, ProbeState};
use crate::config::ci::JenkinsSource;
use crate::domain::{NewAlert, Severity};
use crate::engine::streak::human_duration;
use crate::ingest::ci::{System, jenkins};

pub const AT_ONCE: usize = 4;
pub const MAX_JOBS: usize = 200;
pub const MAX_DEPTH: usize = 4;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Largest answer read (a build with a huge change set is cut by `tree=`).
const MAX_ANSWER: usize = 4 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    /// Jenkins did not answer usefully: the server is down for us.
    #[error("{0}")]
    Unreachable(String),
    /// Jenkins answered, but this job cannot be read (gone, not JSON).
    #[error("{0}")]
    Job(String),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// A job to poll.
#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// Its full name as Jenkins encodes it (`folder/users%2Fjack`).
    pub full_name: String,
    pub name: String,
    /// Where its API is: `{base}job/folder/job/name/`.
    pub url: String,
    /// The ref when its builds name no branch: a multibranch job's branch.
    pub default_ref: String,
}

/// `https://ci.example.com` → `https://ci.example.com/`.
fn base(url: &str) -> String {
    if url.ends_with('/') {
        url.to_string()
    } else {
        format!("{url}/")
    }
}

/// `a/b` under `base` → `{base}job/a/job/b/`. Each name is written as a
/// path segment (a space is `%20`); a `%` is kept, since Jenkins shows
/// some names already encoded (`users%2Fjack`, a multibranch branch).
pub fn job_url(base: &str, path: &str) -> String {
    let mut url = base.to_string();
    for segment in path.split('/') {
        url.push_str("job/");
        url.push_str(&segment_encode(segment));
        url.push('/');
    }
    url
}

/// What a job name keeps in a path segment: RFC 3986 `pchar`, and `%`
/// (names Jenkins shows encoded stay so).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'%')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

fn segment_encode(name: &str) -> String {
    percent_encoding::utf8_percent_encode(name, SEGMENT).to_string()
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

async fn get(cx: &Context, s: &JenkinsSource, url: &str) -> Result<Option<Vec<u8>>, PollError> {
    let mut req = cx.client.get(url).timeout(REQUEST_TIMEOUT);
    if let (Some(user), Some(token)) = (&s.user, &s.api_token) {
        // Preemptive: Jenkins answers 403 and does not negotiate.
        req = req.basic_auth(user, Some(token.expose()));
    }
    let mut res = req
        .send()
        .await
        .map_err(|e| PollError::Unreachable(super::checks::describe(&e, REQUEST_TIMEOUT)))?;
    let status = res.status().as_u16();
    match status {
        200..=299 => {}
        404 => return Ok(None),
        401 | 403 => {
            return Err(PollError::Unreachable(format!(
                "HTTP {status}: Jenkins refuses the credentials (check user and api_token)"
            )));
        }
        500.. => return Err(PollError::Unreachable(format!("HTTP {status}"))),
        _ => return Err(PollError::Job(format!("HTTP {status}"))),
    }
    let mut body = Vec::new();
    while let Some(chunk) = res
        .chunk()
        .await
        .map_err(|e| PollError::Unreachable(super::checks::describe(&e, REQUEST_TIMEOUT)))?
    {
        if body.len() + chunk.len() > MAX_ANSWER {
            return Err(PollError::Job(format!(
                "answer larger than {MAX_ANSWER} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(body))
}

#[derive(Deserialize)]
struct Child {
    name: String,
    #[serde(rename = "_class", default)]
    class: String,
}

#[derive(Deserialize)]
struct Folder {
    #[serde(default)]
    jobs: Vec<Child>,
}

fn is_folder(class: &str) -> bool {
    class.contains("Folder") || class.contains("MultiBranch")
}

/// The jobs `s.jobs` names, folders expanded.
pub async fn expand(cx: &Context, s: &JenkinsSource) -> Result<Vec<Job>, PollError> {
    let root = base(s.url.as_deref().unwrap_or_default());
    let mut jobs = Vec::new();
    let mut dropped = 0usize;
    for entry in &s.jobs {
        match entry.strip_suffix("/*").or((entry == "*").then_some("")) {
            Some(folder) => {
                let url = if folder.is_empty() {
                    root.clone()
                } else {
                    job_url(&root, folder)
                };
                // Depth first: (folder path, its URL, multibranch, depth).
                let mut stack = vec![(folder.to_string(), url, false, 0)];
                while let Some((path, url, multibranch, depth)) = stack.pop() {
                    let tree = format!("{url}api/json?tree=jobs[name,_class]");
                    // One folder that cannot be read is skipped; Jenkins
                    // not answering ends the poll.
                    let body = match get(cx, s, &tree).await {
                        Ok(Some(body)) => body,
                        Ok(None) => {
                            tracing::warn!(
                                source = s.name,
                                folder = path,
                                "Jenkins folder not found"
                            );
                            continue;
                        }
                        Err(PollError::Job(e)) => {
                            tracing::warn!(
                                source = s.name,
                                folder = path,
                                error = e,
                                "Jenkins folder not read"
                            );
                            continue;
                        }
                        Err(e) => return Err(e),
                    };
                    let folder: Folder = match serde_json::from_slice(&body) {
                        Ok(f) => f,
                        Err(e) => {
                            tracing::warn!(source = s.name, folder = path, error = %e, "Jenkins folder listing is not JSON");
                            continue;
                        }
                    };
                    for child in folder.jobs {
                        let full = if path.is_empty() {
                            child.name.clone()
                        } else {
                            format!("{path}/{}", child.name)
                        };
                        let child_url = format!("{url}job/{}/", segment_encode(&child.name));
                        if is_folder(&child.class) {
                            if depth + 1 < MAX_DEPTH {
                                stack.push((
                                    full,
                                    child_url,
                                    child.class.contains("MultiBranch"),
                                    depth + 1,
                                ));
                            } else {
                                tracing::warn!(
                                    source = s.name,
                                    folder = full,
                                    "Jenkins folder deeper than {MAX_DEPTH} levels: not polled"
                                );
                            }
                        } else if jobs.len() < MAX_JOBS {
                            jobs.push(Job {
                                default_ref: if multibranch {
                                    percent_decode(&child.name)
                                } else {
                                    String::new()
                                },
                                full_name: full,
                                name: child.name,
                                url: child_url,
                            });
                        } else {
                            dropped += 1;
                        }
                    }
                }
            }
            None => {
                if jobs.len() >= MAX_JOBS {
                    dropped += 1;
                } else {
                    let name = entry.rsplit('/').next().unwrap_or(entry).to_string();
                    jobs.push(Job {
                        full_name: entry.clone(),
                        name,
                        url: job_url(&root, entry),
                        default_ref: String::new(),
                    });
                }
            }
        }
    }
    if dropped > 0 {
        tracing::warn!(
            source = s.name,
            dropped,
            "more than {MAX_JOBS} Jenkins jobs: the rest are not polled"
        );
    }
    let mut seen = std::collections::HashSet::new();
    jobs.retain(|j| seen.insert(j.url.clone()));
    Ok(jobs)
}

#[derive(Deserialize)]
struct Numbered {
    number: i64,
}

#[derive(Deserialize)]
struct JobInfo {
    #[serde(rename = "lastCompletedBuild")]
    last_completed: Option<Numbered>,
}

/// Counts the builds of `job` after its cursor; returns how many.
pub async fn poll_job(cx: &Context, s: &JenkinsSource, job: &Job) -> Result<usize, PollError> {
    let Some(body) = get(
        cx,
        s,
        &format!("{}api/json?tree=lastCompletedBuild[number]", job.url),
    )
    .await?
    else {
        return Err(PollError::Job(format!("job {} not found", job.full_name)));
    };
    let info: JobInfo = serde_json::from_slice(&body)
        .map_err(|e| PollError::Job(format!("job {}: {e}", job.full_name)))?;
    let Some(last) = info.last_completed.map(|b| b.number) else {
        return Ok(0);
    };
    let key = format!("probe\njenkins-cursor\n{}\n{}", s.name, job.full_name);
    let (version, mut state) = cx.load(&key).await?;
    let from = match state.cursor {
        None => last,
        Some(c) if c >= last => return Ok(0),
        Some(c) => (c + 1).max(last - i64::from(s.catch_up) + 1),
    };
    let mut counted = 0;
    let rules = cx.rules.load_full();
    for n in from..=last {
        let url = format!("{}{n}/api/json?tree={}", job.url, jenkins::BUILD_TREE);
        let Some(body) = get(cx, s, &url).await? else {
            // Deleted (discarded by the job's build retention).
            state.cursor = Some(n);
            continue;
        };
        let run = jenkins::api_build(&job.full_name, &job.name, &job.default_ref, &body)
            .map_err(|e| PollError::Job(format!("build {} #{n}: {e}", job.full_name)))?;
        let Some(run) = run else {
            // Still running (a later one finished first): read it next time.
            break;
        };
        crate::streaks::record_run(cx.store.as_ref(), &rules, System::Jenkins, &s.name, &run)
            .await?;
        state.cursor = Some(n);
        counted += 1;
    }
    cx.save(&key, version, &state).await?;
    Ok(counted)
}

/// One poll of a server: every job, [`AT_ONCE`] at a time.
pub async fn poll(cx: &Context, s: &JenkinsSource) -> Outcome {
    let result = match expand(cx, s).await {
        Ok(jobs) => {
            let results: Vec<Result<usize, PollError>> = futures_util::stream::iter(jobs)
                .map(|job| async move { poll_job(cx, s, &job).await })
                .buffer_unordered(AT_ONCE)
                .collect()
                .await;
            let mut down = None;
            for r in results {
                match r {
                    Ok(_) => {}
                    Err(PollError::Unreachable(e)) => down = Some(e),
                    Err(e) => tracing::warn!(source = s.name, error = %e, "Jenkins poll"),
                }
            }
            down.map_or(Ok(()), Err)
        }
        Err(PollError::Unreachable(e)) => Err(e),
        Err(e) => {
            tracing::warn!(source = s.name, error = %e, "Jenkins poll");
            Ok(())
        }
    };
    if let Err(e) = reachability(cx, s, result.as_ref().err().map(String::as_str)).await {
        tracing::warn!(source = s.name, error = %e, "Jenkins reachability not stored");
    }
    match result {
        Ok(()) => Ok(()),
        Err(reason) => {
            tracing::warn!(source = s.name, reason, "Jenkins unreachable; backing off");
            Err(())
        }
    }
}

/// Counts an answer (`None`) or a failure into the server's state.
async fn reachability(
    cx: &Context,
    s: &JenkinsSource,
    failure: Option<&str>,
) -> Result<(), crate::store::StoreError> {
    let key = format!("probe\njenkins\n{}", s.name);
    let (version, mut state) = cx.load(&key).await?;
    let before = state.clone();
    let alerts = step(s, &mut state, failure, Utc::now().timestamp_millis());
    cx.ingest("ci", alerts).await?;
    if state != before {
        cx.save(&key, version, &state).await?;
    }
    Ok(())
}

/// The unreachable rule: failing for `unreachable_after` fires; the first
/// answer resolves.
pub fn step(
    s: &JenkinsSource,
    state: &mut ProbeState,
    failure: Option<&str>,
    now_ms: i64,
) -> Vec<NewAlert> {
    match failure {
        Some(reason) => {
            if state.failures == 0 {
                state.since_ms = Some(now_ms);
            }
            state.failures = state.failures.saturating_add(1);
            state.reason = Some(reason.to_string());
            let down_for = now_ms - state.since_ms.unwrap_or(now_ms);
            if !state.firing && down_for >= s.unreachable_after.as_millis() as i64 {
                state.firing = true;
                return vec![unreachable(s, state, now_ms)];
            }
            Vec::new()
        }
        None => {
            let was = state.firing;
            state.firing = false;
            let alert = was.then(|| unreachable(s, state, now_ms));
            state.failures = 0;
            state.since_ms = None;
            state.reason = None;
            state.last_ok_ms = Some(now_ms);
            alert.into_iter().collect()
        }
    }
}

fn host(s: &JenkinsSource) -> String {
    s.url
        .as_deref()
        .and_then(|u| reqwest::Url::parse(u).ok())
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_else(|| s.name.clone())
}

fn unreachable(s: &JenkinsSource, state: &ProbeState, now_ms: i64) -> NewAlert {
    let labels = [
        ("source", "ci"),
        ("ci_system", "jenkins"),
        ("ci_source", s.name.as_str()),
        ("check", "reachability"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let since = human_duration((now_ms - state.since_ms.unwrap_or(now_ms)).max(0) / 1000);
    ProbeAlert {
        origin: "ci",
        kind: "jenkins unreachable",
        labels,
        title: format!("Jenkins {} unreachable", host(s)),
        content: format!(
            "No answer from {} for {since} ({} polls): {}",
            s.url.as_deref().unwrap_or_default(),
            state.failures,
            state.reason.as_deref().unwrap_or("?")
        ),
        severity: Severity::Error,
        service: format!("jenkins {}", s.name),
        firing: state.firing,
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::AlertStatus;

    fn source() -> JenkinsSource {
        toml::from_str(
            r#"name = "jenkins"
url = "https://ci.example.com"
jobs = ["backend/api"]
unreachable_after = "5m""#,
        )
        .unwrap()
    }

    #[test]
    fn job_urls_nest_folders_and_keep_jenkins_encoding() {
        assert_eq!(
            job_url("https://ci.example.com/", "backend/api"),
            "https://ci.example.com/job/backend/job/api/"
        );
        assert_eq!(
            job_url("https://ci.example.com/jenkins/", "zowe/users%2Fjack"),
            "https://ci.example.com/jenkins/job/zowe/job/users%2Fjack/"
        );
        assert_eq!(job_url("http://h/", "my job"), "http://h/job/my%20job/");
        assert_eq!(job_url("http://h/", "a#b?c"), "http://h/job/a%23b%3Fc/");
        assert_eq!(percent_decode("users%2Fjack%2Flf"), "users/jack/lf");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("a%zz"), "a%zz");
    }

    #[test]
    fn unreachable_for_the_configured_time_fires_once_and_an_answer_resolves() {
        let s = source();
        let mut st = ProbeState::default();
        let min = 60_000;
        assert!(step(&s, &mut st, Some("connection refused"), 0).is_empty());
        assert!(step(&s, &mut st, Some("connection refused"), 4 * min).is_empty());
        let fired = step(&s, &mut st, Some("HTTP 503"), 5 * min);
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].title, "Jenkins ci.example.com unreachable");
        assert!(
            fired[0].content.contains("for 5m (3 polls): HTTP 503"),
            "{}",
            fired[0].content
        );
        assert!(step(&s, &mut st, Some("HTTP 503"), 6 * min).is_empty());
        let resolved = step(&s, &mut st, None, 7 * min);
        assert_eq!(resolved.len(), 1);
        assert_eq!(resolved[0].status, AlertStatus::Resolved);
        assert_eq!(resolved[0].fingerprint, fired[0].fingerprint);
        assert!(step(&s, &mut st, None, 8 * min).is_empty());
    }
}
