//! The prober, end to end: a mock Jenkins whose job goes fail, fail,
//! success (with builds finishing while ackbot is stopped, and a spell of
//! not answering), and health checks against a local server that answers
//! 500, answers slowly, serves the wrong body, drops connections and comes
//! back, and an HTTPS server whose certificate expires in 3 days.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ackbot::config::Config;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(30);

/// Polls `f` until it gives `Some`, or panics after `timeout`.
async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

impl TestApp {
    async fn alert_titled(&self, title: &str) -> Option<Value> {
        self.get_json("/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["title"] == title)
            .cloned()
    }

    /// Waits for the alert with this title to be in `state`.
    async fn wait_state(&self, title: &str, state: &str) -> Value {
        eventually(&format!("{title} {state}"), WAIT, || async {
            self.alert_titled(title)
                .await
                .filter(|a| a["state"] == state)
        })
        .await
    }
}

// ---- Jenkins ----

#[derive(Default)]
struct JenkinsState {
    /// Results of builds 1, 2, …; `None`: building.
    builds: Vec<Option<&'static str>>,
    down: bool,
    /// Paths asked for, in order.
    asked: Vec<String>,
    refused_credentials: usize,
}

#[derive(Clone)]
struct MockJenkins(Arc<Mutex<JenkinsState>>, String);

const JENKINS_AUTH: &str = "Basic YWNrYm90OmFwaS10b2tlbi0x"; // ackbot:api-token-1

impl Respond for MockJenkins {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let mut st = self.0.lock().unwrap();
        let path = req.url.path().to_string();
        st.asked.push(path.clone());
        if st.down {
            return ResponseTemplate::new(503).set_body_string("Jenkins is going to shut down");
        }
        let auth = req
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if auth != Some(JENKINS_AUTH) {
            st.refused_credentials += 1;
            return ResponseTemplate::new(403);
        }
        let base = &self.1;
        match path.as_str() {
            "/job/platform/api/json" => ResponseTemplate::new(200).set_body_json(json!({
                "_class": "com.cloudbees.hudson.plugins.folder.Folder",
                "jobs": [{"_class": "hudson.model.FreeStyleProject", "name": "api"}]
            })),
            "/job/platform/job/api/api/json" => {
                let last = st.builds.iter().rposition(Option::is_some).map(|i| i + 1);
                ResponseTemplate::new(200).set_body_json(json!({
                    "_class": "hudson.model.FreeStyleProject",
                    "lastCompletedBuild": last.map(|n| json!({"number": n})),
                }))
            }
            p => {
                let n: Option<usize> = p
                    .strip_prefix("/job/platform/job/api/")
                    .and_then(|r| r.strip_suffix("/api/json"))
                    .and_then(|n| n.parse().ok());
                match n.and_then(|n| st.builds.get(n.wrapping_sub(1)).map(|r| (n, *r))) {
                    Some((n, result)) => ResponseTemplate::new(200).set_body_json(json!({
                        "_class": "hudson.model.FreeStyleBuild",
                        "number": n,
                        "url": format!("{base}/job/platform/job/api/{n}/"),
                        "result": result,
                        "building": result.is_none(),
                        "duration": 61_000,
                        "changeSet": {"items": [{"commitId": format!("{n:02}c6d86dc654b12425e706bcf951adfe5a8627a5"), "msg": format!("change {n}\n\nbody"), "author": {"fullName": "Li Lei"}}]},
                        "actions": [{}, {"causes": [{"shortDescription": "Started by timer"}]},
                                    {"lastBuiltRevision": {"SHA1": "c6d86dc654b12425e706bcf951adfe5a8627a517", "branch": [{"name": "refs/remotes/origin/main"}]}}]
                    })),
                    None => ResponseTemplate::new(404),
                }
            }
        }
    }
}

async fn mock_jenkins(builds: &[Option<&'static str>]) -> (MockServer, MockJenkins) {
    let server = MockServer::start().await;
    let mock = MockJenkins(
        Arc::new(Mutex::new(JenkinsState {
            builds: builds.to_vec(),
            ..Default::default()
        })),
        server.uri(),
    );
    Mock::given(wiremock::matchers::any())
        .respond_with(mock.clone())
        .mount(&server)
        .await;
    (server, mock)
}

fn with_jenkins(uri: String) -> impl FnOnce(&mut Config) + Clone {
    move |c: &mut Config| {
        c.ci = toml::from_str(&format!(
            r#"
[[jenkins]]
name = "ci"
url = "{uri}"
user = "ackbot"
api_token = "api-token-1"
jobs = ["platform/*"]
interval = "1s"
unreachable_after = "2s"
"#
        ))
        .unwrap();
        c.validate().unwrap();
    }
}

const JOB_ALERT: &str = "platform/api: api on main";

#[tokio::test]
async fn a_polled_jenkins_job_fires_catches_up_after_a_restart_and_its_outage_alerts() {
    let (server, jenkins) = mock_jenkins(&[Some("FAILURE")]).await;
    let app = spawn_app_with(with_jenkins(server.uri())).await;
    // First sight counts the newest build only: one failure, no alert.
    eventually("build 1 read", WAIT, || async {
        let asked = jenkins.0.lock().unwrap().asked.clone();
        asked
            .iter()
            .any(|p| p == "/job/platform/job/api/1/api/json")
            .then_some(())
    })
    .await;
    assert!(app.alert_titled(JOB_ALERT).await.is_none());
    // The second failure in a row fires, with the build's details.
    jenkins.0.lock().unwrap().builds.push(Some("FAILURE"));
    let alert = app.wait_state(JOB_ALERT, "firing").await;
    let content = alert["content"].as_str().unwrap();
    for needle in [
        "2 failed runs in a row (Jenkins ci)",
        "Run #2 FAILURE in 1m 1s",
        "/job/platform/job/api/2/",
        "\"change 2\" by Li Lei",
        "Started by timer",
    ] {
        assert!(content.contains(needle), "{needle}: {content}");
    }
    assert_eq!(alert["labels"]["ci_system"], "jenkins");
    assert_eq!(alert["labels"]["project"], "platform/api");
    assert_eq!(alert["labels"]["ref"], "main");

    // The cursor is saved after the build is counted, so a stop right after
    // the alert fires would (rightly) read build 2 again. A server's polls
    // run one after another: the next poll starting means the cursor of the
    // one that read build 2 is stored.
    eventually("cursor after build 2 stored", WAIT, || async {
        let asked = jenkins.0.lock().unwrap().asked.clone();
        let two = asked
            .iter()
            .position(|p| p == "/job/platform/job/api/2/api/json")?;
        asked[two..]
            .iter()
            .any(|p| p == "/job/platform/api/json")
            .then_some(())
    })
    .await;
    // Stopped: build 3 fails and build 4 passes meanwhile; a restarted
    // ackbot reads both (3 counted before 4) and resolves.
    let dir = app.stop().await;
    // A stopped ackbot polls no more (its prober ended with it).
    jenkins.0.lock().unwrap().asked.clear();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(jenkins.0.lock().unwrap().asked, Vec::<String>::new());
    {
        let mut st = jenkins.0.lock().unwrap();
        st.builds.push(Some("FAILURE"));
        st.builds.push(Some("SUCCESS"));
    }
    let app = spawn_app_in(dir, with_jenkins(server.uri())).await;
    let resolved = app.wait_state(JOB_ALERT, "resolved").await;
    assert_eq!(resolved["id"], alert["id"]);
    {
        let st = jenkins.0.lock().unwrap();
        let three = st.asked.iter().position(|p| p.ends_with("/api/3/api/json"));
        let four = st.asked.iter().position(|p| p.ends_with("/api/4/api/json"));
        assert!(
            matches!((three, four), (Some(a), Some(b)) if a < b),
            "{:?}",
            st.asked
        );
        assert!(
            !st.asked.iter().any(|p| p.ends_with("/api/2/api/json")),
            "build 2 was counted before the stop: {:?}",
            st.asked
        );
        assert_eq!(st.refused_credentials, 0, "credentials sent preemptively");
    }
    let events = app
        .get_json(&format!(
            "/api/v1/alerts/{}/events",
            alert["id"].as_str().unwrap()
        ))
        .await;
    assert!(events["events"].as_array().unwrap().len() >= 2);

    // Jenkins stops answering: after unreachable_after, an alert of its
    // own; the next answer resolves it.
    jenkins.0.lock().unwrap().down = true;
    let title = "Jenkins 127.0.0.1 unreachable";
    let down = app.wait_state(title, "firing").await;
    assert!(
        down["content"].as_str().unwrap().contains("HTTP 503"),
        "{down}"
    );
    assert_eq!(down["labels"]["check"], "reachability");
    jenkins.0.lock().unwrap().down = false;
    app.wait_state(title, "resolved").await;
    // The job's alert was not touched by the outage.
    assert_eq!(
        app.alert_titled(JOB_ALERT).await.unwrap()["state"],
        "resolved"
    );
}

#[tokio::test]
async fn two_replicas_poll_once_between_them() {
    let (server, jenkins) = mock_jenkins(&[Some("FAILURE")]).await;
    let first = spawn_app_with(with_jenkins(server.uri())).await;
    let second = spawn_replica(&first, with_jenkins(server.uri())).await;
    tokio::time::sleep(Duration::from_secs(6)).await;
    let asked = jenkins.0.lock().unwrap().asked.clone();
    let job_reads = asked
        .iter()
        .filter(|p| *p == "/job/platform/job/api/api/json")
        .count();
    // About one read per second by the lease holder (5 or 6); both
    // replicas polling would make 10 to 12.
    assert!(
        (3..=8).contains(&job_reads),
        "{job_reads} reads of the job in 6 s: {asked:?}"
    );
    drop(second);
}

// ---- health checks ----

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Ok,
    Error500,
    Slow,
    WrongBody,
    Drop,
}

/// A minimal HTTP/1.1 server whose answer is `mode`.
async fn health_server(mode: Arc<Mutex<Mode>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                continue;
            };
            let mode = *mode.lock().unwrap();
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                let (status, body) = match mode {
                    Mode::Drop => return,
                    Mode::Ok => ("200 OK", "status: ok"),
                    Mode::Error500 => ("500 Internal Server Error", "boom"),
                    Mode::WrongBody => ("200 OK", "status: degraded"),
                    Mode::Slow => {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        ("200 OK", "status: ok")
                    }
                };
                let reply = format!(
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(reply.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}/healthz")
}

#[tokio::test]
async fn a_health_check_fires_after_n_failures_says_why_and_resolves_on_recovery() {
    let mode = Arc::new(Mutex::new(Mode::Ok));
    let url = health_server(mode.clone()).await;
    // Nothing listens on a port just closed.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let app = spawn_app_with(move |c| {
        c.checks = toml::from_str::<toml::Table>(&format!(
            r#"
[[checks]]
name = "payment-health"
service = "payment"
url = "{url}"
interval = "1s"
timeout = "700ms"
failures = 2
body_regex = "status: ok"
labels = {{ team = "pay" }}

[[checks]]
name = "db"
tcp = "{closed}"
interval = "1s"
timeout = "1s"
failures = 2
severity = "warning"
"#
        ))
        .unwrap()["checks"]
            .clone()
            .try_into()
            .unwrap();
        c.validate().unwrap();
    })
    .await;

    // The TCP check on a closed port fires on its own.
    let db = app.wait_state("db unavailable", "firing").await;
    assert!(
        db["content"].as_str().unwrap().contains("TCP connect to"),
        "{db}"
    );
    assert_eq!(db["severity"], "warning");

    // Healthy: no alert. Then each kind of failure, and the reason follows.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(app.alert_titled("payment unavailable").await.is_none());
    let reason = |alert: &Value| alert["content"].as_str().unwrap().to_string();
    *mode.lock().unwrap() = Mode::Error500;
    let alert = app.wait_state("payment unavailable", "firing").await;
    assert!(
        reason(&alert).contains("HTTP 500 (expected 2xx)"),
        "{alert}"
    );
    assert!(reason(&alert).contains("failed checks in a row of http://127.0.0.1:"));
    assert_eq!(alert["labels"]["team"], "pay");
    assert_eq!(alert["severity"], "critical");
    let id = alert["id"].as_str().unwrap().to_string();
    for (m, needle) in [
        (Mode::Slow, "timed out after 700ms"),
        (Mode::WrongBody, "does not match /status: ok/"),
        (Mode::Drop, "request failed"),
    ] {
        *mode.lock().unwrap() = m;
        eventually(&format!("{m:?} on the alert"), WAIT, || async {
            let a = app.get_json(&format!("/api/v1/alerts/{id}")).await;
            reason(&a).contains(needle).then_some(())
        })
        .await;
    }
    *mode.lock().unwrap() = Mode::Ok;
    let resolved = app.wait_state("payment unavailable", "resolved").await;
    assert_eq!(resolved["id"], id.as_str());
    // A resolution keeps the text of what was wrong (as every alert does).
    assert!(resolved["resolved_at"].is_string(), "{resolved}");
    assert_eq!(
        app.alert_titled("db unavailable").await.unwrap()["state"],
        "firing"
    );
}

#[tokio::test]
async fn a_certificate_that_expires_in_3_days_warns() {
    // A server (another ackbot) whose certificate ends in 3 days.
    let certs = tempfile::tempdir().unwrap();
    let end = chrono::Utc::now() + chrono::Duration::days(3);
    use chrono::Datelike;
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.not_after = rcgen::date_time_ymd(end.year(), end.month() as u8, end.day() as u8);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let (cert_path, key_path) = (certs.path().join("soon.crt"), certs.path().join("soon.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let (c2, k2) = (cert_path.clone(), key_path.clone());
    let target = spawn_app_with(move |c| {
        c.server.tls_cert = Some(c2);
        c.server.tls_key = Some(k2);
    })
    .await;
    let url = target.url("/healthz");
    let app = spawn_app_with(move |c| {
        c.checks = vec![
            toml::from_str(&format!(
                r#"name = "site"
service = "site"
url = "{url}"
ca_file = "{}"
interval = "1s"
tls_expiry_warning = "14d""#,
                cert_path.display()
            ))
            .unwrap(),
        ];
        c.validate().unwrap();
    })
    .await;
    let warning = eventually("TLS warning", WAIT, || async {
        app.get_json("/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| {
                a["title"]
                    .as_str()
                    .unwrap_or("")
                    .contains("TLS certificate")
            })
            .cloned()
    })
    .await;
    let title = warning["title"].as_str().unwrap();
    assert!(
        title.starts_with("site: TLS certificate of 127.0.0.1 expires in ")
            && (title.ends_with("3 days") || title.ends_with("2 days")),
        "{title}"
    );
    assert_eq!(warning["severity"], "warning");
    assert_eq!(warning["state"], "firing");
    // The server itself is up: no "unavailable".
    assert!(app.alert_titled("site unavailable").await.is_none());
}
