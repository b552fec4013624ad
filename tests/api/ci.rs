//! CI/CD webhooks, end to end: the real payloads of `cicd-payloads/`, signed
//! the way each sender signs (here, independently of the server's code),
//! and every vector of `cicd-vectors.json` sent as it is. Streaks fire on the
//! second failure, resolve on the first success, and a redelivery, an older
//! run or a refused delivery changes nothing.

use std::time::Duration;

use ackbot::config::Config;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::chatops::{click, with_feishu_app};
use crate::helpers::*;
use crate::mockbot::MockBot;

const WAIT: Duration = Duration::from_secs(10);
const GITHUB_SECRET: &str = "ackbot-github-demo-secret";
const GITLAB_TOKEN: &str = "ackbot-gitlab-token";
const GITLAB_SIGNING_TOKEN: &str = "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q=";
const GITEE_SECRET: &str = "bBg5lrt03VixkX85CNqYIcecC0SIGASE";
const JENKINS_AUTH: &str = "Basic YWNrYm90OnMzY3IzdC10b2tlbg==";

/// One source per authentication mode, with the vectors' secrets.
pub const CI_TOML: &str = r#"
[[github]]
name = "acme"
secret = "ackbot-github-demo-secret"

[[github]]
name = "legacy"
secret = "It's a Secret to Everybody"
accept_sha1 = true

[[gitlab]]
name = "gitlab-token"
token = "ackbot-gitlab-token"

[[gitlab]]
name = "gitlab-signed"
signing_token = "whsec_dGVzdHRlc3R0ZXN0dGVzdHRlc3R0ZXN0dGVzdHRlc3Q="

[[gitee]]
name = "gitee"
secret = "bBg5lrt03VixkX85CNqYIcecC0SIGASE"

[[gitee]]
name = "gitee-password"
secret = "pwd"
mode = "password"

[[gitea]]
name = "forge"
secret = "Jefe"

[[jenkins]]
name = "jenkins"
push_user = "ackbot"
push_password = "s3cr3t-token"
"#;

pub fn with_ci(config: &mut Config) {
    config.ci = toml::from_str(CI_TOML).unwrap();
    config.validate().unwrap();
}

pub fn payload(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/vectors/cicd-payloads/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).unwrap()
}

fn payload_json(name: &str) -> Value {
    serde_json::from_slice(&payload(name)).unwrap()
}

fn hmac256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// What GitHub puts in `X-Hub-Signature-256`.
pub fn github_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac256(secret.as_bytes(), body)))
}

/// A Standard-Webhooks signature (GitLab's signing token) made now.
fn gitlab_signed(id: &str, ts: i64, body: &[u8]) -> String {
    let key = base64::engine::general_purpose::STANDARD
        .decode(GITLAB_SIGNING_TOKEN.trim_start_matches("whsec_"))
        .unwrap();
    let mut message = format!("{id}.{ts}.").into_bytes();
    message.extend_from_slice(body);
    format!("v1,{}", b64(&hmac256(&key, &message)))
}

/// Gitee's `X-Gitee-Token` for a timestamp in milliseconds.
fn gitee_token(ts_ms: i64, secret: &str) -> String {
    b64(&hmac256(
        secret.as_bytes(),
        format!("{ts_ms}\n{secret}").as_bytes(),
    ))
}

/// A `workflow_run` delivery's headers with this signature.
fn headers(sig: &str) -> [(&'static str, &str); 2] {
    [
        ("X-GitHub-Event", "workflow_run"),
        ("X-Hub-Signature-256", sig),
    ]
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("vector field {key}"))
}

impl TestApp {
    /// A POST to `/ci/{path}` with these headers and this exact body.
    pub async fn post_ci(
        &self,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url(&format!("/ci/{path}")))
            .header("Content-Type", "application/json")
            .body(body.to_vec());
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        req.send().await.unwrap()
    }

    /// A GitHub delivery of `event`, signed with the `acme` secret.
    pub async fn github(&self, event: &str, delivery: &str, body: &[u8]) -> reqwest::Response {
        let sig = github_signature(GITHUB_SECRET, body);
        self.post_ci(
            "github",
            &[
                ("X-GitHub-Event", event),
                ("X-GitHub-Delivery", delivery),
                ("X-Hub-Signature-256", &sig),
            ],
            body,
        )
        .await
    }

    async fn alerts(&self) -> Vec<Value> {
        self.get_json("/api/v1/alerts").await["alerts"]
            .as_array()
            .unwrap()
            .clone()
    }
}

/// The value of one sample (`name{labels}`) in an exposition; 0 if absent.
pub fn sample(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

const GITHUB_DUPLICATE: &str =
    r#"ackbot_webhook_deliveries_total{system="github",outcome="duplicate"}"#;
const GITHUB_OUT_OF_ORDER: &str =
    r#"ackbot_webhook_deliveries_total{system="github",outcome="out_of_order"}"#;
const GITHUB_BAD_SIGNATURE: &str =
    r#"ackbot_webhook_deliveries_total{system="github",outcome="bad_signature"}"#;

/// Cards escape markdown punctuation as numeric entities; read them back.
fn unescape(card: &str) -> String {
    let mut out = String::new();
    let mut rest = card;
    while let Some(i) = rest.find("&#") {
        out.push_str(&rest[..i]);
        let tail = &rest[i + 2..];
        match tail
            .find(';')
            .and_then(|j| Some((j, tail[..j].parse::<u32>().ok()?)))
        {
            Some((j, n)) => {
                out.push(char::from_u32(n).unwrap());
                rest = &tail[j + 1..];
            }
            None => {
                out.push_str("&#");
                rest = tail;
            }
        }
    }
    out.push_str(rest);
    out
}

async fn outcome(res: reqwest::Response) -> String {
    let status = res.status();
    let body: Value = res.json().await.unwrap();
    assert_eq!(status, 200, "{body}");
    body["outcome"].as_str().unwrap().to_string()
}

/// The `workflow_run` payload as run `number` of workflow `CI` on `main`.
fn workflow_run(number: i64, conclusion: &str) -> Vec<u8> {
    named_run("CI", number, conclusion)
}

/// The same for another workflow: metrics are per process, and the tests
/// of this binary share one, so each test counts its own series.
fn named_run(workflow: &str, number: i64, conclusion: &str) -> Vec<u8> {
    let mut v = payload_json("github-workflow_run-completed-success.json");
    let run = &mut v["workflow_run"];
    run["id"] = json!(900_000 + number);
    run["run_number"] = json!(number);
    run["name"] = json!(workflow);
    run["head_branch"] = json!("main");
    run["conclusion"] = json!(conclusion);
    run["html_url"] = json!(format!(
        "https://github.com/octo-org/octo-repo/actions/runs/{}",
        900_000 + number
    ));
    serde_json::to_vec_pretty(&v).unwrap()
}

/// The failed `workflow_job` payload as a job of that run.
fn workflow_job(number: i64) -> Vec<u8> {
    let mut v = payload_json("github-workflow_job-completed-failure.json");
    let job = &mut v["workflow_job"];
    job["run_id"] = json!(900_000 + number);
    job["workflow_name"] = json!("CI");
    job["head_branch"] = json!("main");
    v["repository"]["full_name"] = json!("octo-org/octo-repo");
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn two_failed_github_runs_fire_one_alert_that_chat_acks_and_a_success_resolves() {
    let mock = MockBot::feishu_app("cli_test", "app-secret-value").await;
    let feishu = with_feishu_app(&mock);
    let app = spawn_app_with(|c| {
        feishu(c);
        with_ci(c);
    })
    .await;

    // A run starts: the pipeline is running now.
    let mut started: Value = serde_json::from_slice(&workflow_run(41, "failure")).unwrap();
    started["action"] = json!("in_progress");
    started["workflow_run"]["status"] = json!("in_progress");
    started["workflow_run"]["conclusion"] = Value::Null;
    let started = serde_json::to_vec(&started).unwrap();
    assert_eq!(
        outcome(app.github("workflow_run", "d-41s", &started).await).await,
        "accepted"
    );
    let running = r#"ackbot_ci_pipeline_running{system="github",source="acme",project="octo-org/octo-repo",pipeline="CI",ref="main"}"#;
    assert_eq!(sample(&app.metrics_text().await, running), 1.0);
    assert_eq!(
        outcome(
            app.github("workflow_run", "d-41", &workflow_run(41, "failure"))
                .await
        )
        .await,
        "accepted"
    );
    assert_eq!(app.alert_count().await, 0, "one red run is not a page");
    // The failed job arrives before its run finishes, as GitHub sends them.
    assert_eq!(
        outcome(app.github("workflow_job", "d-42j", &workflow_job(42)).await).await,
        "accepted"
    );
    assert_eq!(
        outcome(
            app.github("workflow_run", "d-42", &workflow_run(42, "failure"))
                .await
        )
        .await,
        "accepted"
    );
    let alerts = app.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert["state"], "firing");
    assert_eq!(alert["title"], "octo-org/octo-repo: CI on main");
    let labels = &alert["labels"];
    assert_eq!(
        (
            labels["source"].as_str(),
            labels["ci_system"].as_str(),
            labels["project"].as_str(),
            labels["pipeline"].as_str(),
            labels["ref"].as_str()
        ),
        (
            Some("ci"),
            Some("github"),
            Some("octo-org/octo-repo"),
            Some("CI"),
            Some("main")
        )
    );
    let id = alert["id"].as_str().unwrap().to_string();

    // The card names the commit, its author, the failed job and the run.
    let sent = mock.wait_for(1, WAIT).await;
    let card = sent[0].body["content"].as_str().unwrap().to_string();
    let text = unescape(&card);
    for needle in [
        "3484a3fb",
        "Matthias Fax",
        "build(test): check workflow run event payload",
        "linters",
        "Run yarn run format-check",
        "https://github.com/octo-org/octo-repo/actions/runs/900042",
        "2 failed runs in a row",
        "Pipeline run",
    ] {
        assert!(text.contains(needle), "{needle} not on the card: {text}");
    }

    // A redelivery (same id, or GitHub's "Redeliver" with a new id) and an
    // older run that arrives late change nothing.
    let before = app.metrics_text().await;
    let events_before = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    assert_eq!(
        outcome(
            app.github("workflow_run", "d-42", &workflow_run(42, "failure"))
                .await
        )
        .await,
        "duplicate"
    );
    assert_eq!(
        outcome(
            app.github("workflow_run", "d-42-again", &workflow_run(42, "failure"))
                .await
        )
        .await,
        "duplicate"
    );
    assert_eq!(
        outcome(
            app.github("workflow_run", "d-40", &workflow_run(40, "failure"))
                .await
        )
        .await,
        "out_of_order"
    );
    assert_eq!(
        outcome(
            app.github("workflow_run", "d-39", &workflow_run(39, "success"))
                .await
        )
        .await,
        "out_of_order"
    );
    let events_after = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    assert_eq!(events_before, events_after);
    assert_eq!(app.alert_count().await, 1);
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "firing"
    );

    // A chat ack works as on any alert.
    let values = crate::chatops::button_values(&card);
    let ack = values
        .iter()
        .find(|v| v["action"] == "ack")
        .unwrap()
        .clone();
    let reply = click(&app, "evt-ci-ack", ack).await;
    assert_eq!(reply["toast"]["type"], "success", "{reply}");
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "acknowledged"
    );

    // A third failure keeps the one alert; the next green run resolves it.
    assert_eq!(
        outcome(
            app.github("workflow_run", "d-43", &workflow_run(43, "failure"))
                .await
        )
        .await,
        "accepted"
    );
    assert_eq!(app.alert_count().await, 1);
    assert_eq!(
        outcome(
            app.github("workflow_run", "d-44", &workflow_run(44, "success"))
                .await
        )
        .await,
        "accepted"
    );
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "resolved", "{alert}");
    assert_eq!(app.alert_count().await, 1);

    // The pipeline figures, and their format checked by promtool if here.
    let metrics = app.metrics_text().await;
    let series =
        r#"system="github",source="acme",project="octo-org/octo-repo",pipeline="CI",ref="main""#;
    for line in [
        format!("ackbot_ci_pipeline_runs_total{{{series},status=\"failure\"}} 3"),
        format!("ackbot_ci_pipeline_runs_total{{{series},status=\"success\"}} 1"),
        format!("ackbot_ci_pipeline_consecutive_failures{{{series}}} 0"),
        format!("ackbot_ci_pipeline_running{{{series}}} 0"),
        format!("ackbot_ci_pipeline_status{{{series},status=\"success\"}} 1"),
        format!("ackbot_ci_pipeline_status{{{series},status=\"failure\"}} 0"),
    ] {
        assert!(
            metrics.contains(&line),
            "{line} not in /metrics:\n{metrics}"
        );
    }
    for (counter, added) in [(GITHUB_DUPLICATE, 2.0), (GITHUB_OUT_OF_ORDER, 2.0)] {
        assert!(
            sample(&metrics, counter) - sample(&before, counter) >= added,
            "{counter}:\n{metrics}"
        );
    }
    assert!(!metrics.contains("3484a3fb"), "no shas in labels");
    promtool_check(&metrics);
    dashboard_queries_exist(&metrics);
    // Prometheus asks for OpenMetrics and gets it.
    let res = app
        .client
        .get(app.url("/metrics"))
        .header(
            "Accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let om = res.text().await.unwrap();
    assert!(
        om.ends_with("# EOF\n") && om.contains("# TYPE ackbot_ci_pipeline_runs counter"),
        "{om}"
    );
}

/// Every `ackbot_…` metric the shipped Grafana dashboard queries is in
/// `/metrics` (as a sample name), and the file is valid JSON with panels.
fn dashboard_queries_exist(metrics: &str) {
    let path = format!(
        "{}/dashboards/ci-pipelines.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    collect_exprs(&dashboard, &mut exprs);
    assert!(exprs.len() >= 6, "{exprs:?}");
    let samples: std::collections::HashSet<&str> = metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let re = regex::Regex::new(r"ackbot_[a-z_]+").unwrap();
    for expr in &exprs {
        for name in re.find_iter(expr) {
            assert!(
                samples.contains(name.as_str()),
                "the dashboard queries {} (in `{expr}`), which /metrics does not have",
                name.as_str()
            );
        }
    }
}

pub fn collect_exprs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("expr" | "query", Value::String(s)) => out.push(s.clone()),
                    ("query", Value::Object(q)) => {
                        if let Some(Value::String(s)) = q.get("query") {
                            out.push(s.clone());
                        }
                    }
                    _ => collect_exprs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_exprs(v, out)),
        _ => {}
    }
}

/// `promtool check metrics` on the exposition, when promtool is installed
/// (`.ci/run` installs it and sets `ACKBOT_REQUIRE_PEERS`).
pub fn promtool_check(metrics: &str) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let Ok(mut child) = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    else {
        assert!(
            std::env::var_os("ACKBOT_REQUIRE_PEERS").is_none(),
            "promtool is required here (ACKBOT_REQUIRE_PEERS) but not installed"
        );
        eprintln!("promtool not installed: format not checked");
        return;
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(metrics.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Lint findings (naming advice) are printed; errors fail the command.
    assert!(out.status.success(), "promtool check metrics: {text}");
}

#[tokio::test]
async fn refused_deliveries_answer_401_and_leave_no_trace() {
    let app = spawn_app_with(with_ci).await;
    let failure = named_run("Refused", 7, "failure");
    let before = app.metrics_text().await;
    let good = github_signature(GITHUB_SECRET, &failure);
    let forged = github_signature("another-secret", &failure);
    let forged = forged.as_str();
    // Forged, wrong secret, unsigned, signed over another body, SHA-1 only
    // for a source that takes SHA-256 only: 401 and the JSON error.
    assert_error(
        app.post_ci("github", &headers(forged), &failure).await,
        401,
        "bad_signature",
    )
    .await;
    assert_error(
        app.post_ci("github", &[("X-GitHub-Event", "workflow_run")], &failure)
            .await,
        401,
        "missing_signature",
    )
    .await;
    let mut tampered = failure.clone();
    tampered.push(b'\n');
    assert_error(
        app.post_ci("github", &headers(&good), &tampered).await,
        401,
        "bad_signature",
    )
    .await;
    let sha1 = format!(
        "sha1={}",
        hex::encode({
            let mut mac = Hmac::<sha1::Sha1>::new_from_slice(GITHUB_SECRET.as_bytes()).unwrap();
            mac.update(&failure);
            mac.finalize().into_bytes()
        })
    );
    assert_error(
        app.post_ci(
            "github",
            &[
                ("X-GitHub-Event", "workflow_run"),
                ("X-Hub-Signature", &sha1),
            ],
            &failure,
        )
        .await,
        401,
        "missing_signature",
    )
    .await;
    // None of them counted: one genuine failure is the first of its streak.
    assert_eq!(
        outcome(app.post_ci("github", &headers(&good), &failure).await).await,
        "accepted"
    );
    assert_eq!(app.alert_count().await, 0);
    let metrics = app.metrics_text().await;
    assert!(
        sample(&metrics, GITHUB_BAD_SIGNATURE) - sample(&before, GITHUB_BAD_SIGNATURE) >= 2.0,
        "{metrics}"
    );
    let streak = r#"ackbot_ci_pipeline_consecutive_failures{system="github",source="acme",project="octo-org/octo-repo",pipeline="Refused",ref="main"}"#;
    assert_eq!(sample(&metrics, streak), 1.0, "{metrics}");
    // The refusal never echoes the secret or the signature.
    let res = app.post_ci("github", &headers(forged), &failure).await;
    let text = res.text().await.unwrap();
    assert!(
        !text.contains(forged) && !text.contains(GITHUB_SECRET),
        "{text}"
    );

    // A form-encoded delivery is verified, then refused with a clear 415.
    let res = app
        .client
        .post(app.url("/ci/github"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("X-GitHub-Event", "workflow_run")
        .header(
            "X-Hub-Signature-256",
            github_signature(GITHUB_SECRET, b"payload=%7B%7D"),
        )
        .body("payload=%7B%7D")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
    // Gitea and Forgejo offer the same form encoding.
    let res = app
        .client
        .post(app.url("/ci/gitea"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header(
            "X-Gitea-Signature",
            hex::encode(hmac256(b"Jefe", b"payload=%7B%7D")),
        )
        .body("payload=%7B%7D")
        .send()
        .await
        .unwrap();
    assert_error(res, 415, "unsupported_media_type").await;
}

#[tokio::test]
async fn ping_unknown_events_and_unconfigured_senders() {
    let app = spawn_app_with(with_ci).await;
    let ping = payload("github-ping.json");
    assert_eq!(
        outcome(app.github("ping", "p-1", &ping).await).await,
        "ping"
    );
    // check_run / check_suite / push: verified, 200, not used.
    for (event, file) in [
        ("check_run", "github-check_run-completed-failure.json"),
        ("check_suite", "github-check_suite-completed-success.json"),
        ("push", "github-ping.json"),
    ] {
        let res = app
            .github(event, &format!("u-{event}"), &payload(file))
            .await;
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["outcome"], "ignored", "{event}: {body}");
        assert!(body["detail"].as_str().unwrap().contains("workflow_run"));
    }
    // A verified body that is not what the event says: 200, noted, kept.
    assert_eq!(
        outcome(
            app.github("workflow_run", "u-bad", b"{\"not\": \"a run\"}")
                .await
        )
        .await,
        "unreadable"
    );
    assert_eq!(app.alert_count().await, 0);

    // A server without [ci] says so (404), for every sender.
    let bare = spawn_app().await;
    for path in ["github", "gitlab", "gitee", "gitea", "jenkins"] {
        let body = assert_error(bare.post_ci(path, &[], b"{}").await, 404, "not_configured").await;
        assert!(
            body["message"].as_str().unwrap().contains("[[ci."),
            "{body}"
        );
    }
    let res = bare
        .client
        .get(bare.url("/ci/github"))
        .send()
        .await
        .unwrap();
    assert_error(res, 405, "method_not_allowed").await;
}

#[tokio::test]
async fn every_cicd_vector_is_checked_by_the_server() {
    let app = spawn_app_with(with_ci).await;
    let v = vectors("cicd-vectors.json");

    // a: GitHub's documented vector (legacy source holds its secret).
    let a = &v["a_github_doc_vector_sha256"];
    let body = s(a, "body").as_bytes();
    let ok = |sig: &str| {
        vec![
            ("X-GitHub-Event".to_string(), "ping".to_string()),
            ("X-Hub-Signature-256".to_string(), sig.to_string()),
        ]
    };
    let send = |h: Vec<(String, String)>, body: Vec<u8>| {
        let app = &app;
        async move {
            let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            app.post_ci("github", &h, &body).await
        }
    };
    let res = send(ok(s(a, "x_hub_signature_256")), body.to_vec()).await;
    assert_eq!(res.json::<Value>().await.unwrap()["source"], "legacy");
    for wrong in [
        "wrong_if_key_and_message_swapped",
        "wrong_if_body_has_trailing_newline",
        "wrong_if_base64_instead_of_hex",
    ] {
        let res = send(ok(s(a, wrong)), body.to_vec()).await;
        assert_eq!(res.status(), 401, "{wrong}");
    }
    // Uppercase hex is the same bytes: accepted (compared decoded).
    let upper = send(
        ok(s(a, "wrong_if_uppercase_hex_compared_as_string")),
        body.to_vec(),
    )
    .await;
    assert_eq!(upper.status(), 200);
    // a2: SHA-1 alone, for the source that accepts it.
    let a2 = &v["a2_github_doc_vector_sha1_legacy"];
    let res = app
        .post_ci(
            "github",
            &[
                ("X-GitHub-Event", "ping"),
                ("X-Hub-Signature", s(a2, "x_hub_signature")),
            ],
            s(a2, "body").as_bytes(),
        )
        .await;
    assert_eq!(outcome(res).await, "ping");
    // a3: the real workflow_job file, byte for byte; its SHA-1 alone is
    // refused (acme takes SHA-256 only); re-serialised or CRLF bodies fail.
    let a3 = &v["a3_github_real_payload_file"];
    let file = payload("github-workflow_job-completed-failure.json");
    let event = s(a3, "x_github_event");
    let res = app
        .post_ci(
            "github",
            &[
                ("X-GitHub-Event", event),
                ("X-Hub-Signature-256", s(a3, "x_hub_signature_256")),
            ],
            &file,
        )
        .await;
    assert_eq!(outcome(res).await, "accepted");
    let res = app
        .post_ci(
            "github",
            &[
                ("X-GitHub-Event", event),
                ("X-Hub-Signature", s(a3, "x_hub_signature")),
            ],
            &file,
        )
        .await;
    assert_error(res, 401, "missing_signature").await;
    for wrong in [
        "wrong_if_body_reserialized_compact_json",
        "wrong_if_line_endings_changed_to_crlf",
    ] {
        let res = app
            .post_ci(
                "github",
                &[
                    ("X-GitHub-Event", event),
                    ("X-Hub-Signature-256", s(a3, wrong)),
                ],
                &file,
            )
            .await;
        assert_error(res, 401, "bad_signature").await;
    }

    // b: GitLab's secret token, clear text.
    let b = &v["b_gitlab_secret_token"];
    let pipeline = payload("gitlab-pipeline-failed.json");
    let res = app
        .post_ci(
            "gitlab",
            &[
                ("X-Gitlab-Event", "Pipeline Hook"),
                ("X-Gitlab-Token", s(b, "x_gitlab_token")),
            ],
            &pipeline,
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["source"], "gitlab-token");
    let res = app
        .post_ci(
            "gitlab",
            &[
                ("X-Gitlab-Event", "Pipeline Hook"),
                ("X-Gitlab-Token", s(b, "wrong_if_prefix_or_case_changed")),
            ],
            &pipeline,
        )
        .await;
    assert_error(res, 401, "bad_token").await;

    // c, c2: the signing-token vectors are genuine but from 2023: stale.
    for (name, body) in [
        (
            "c_gitlab_signing_token_small_body",
            s(&v["c_gitlab_signing_token_small_body"], "body")
                .as_bytes()
                .to_vec(),
        ),
        ("c2_gitlab_signing_token_payload_file", pipeline.clone()),
    ] {
        let c = &v[name];
        let res = app
            .post_ci(
                "gitlab",
                &[
                    ("X-Gitlab-Event", "Pipeline Hook"),
                    ("webhook-id", s(c, "webhook_id")),
                    ("webhook-timestamp", s(c, "webhook_timestamp")),
                    ("webhook-signature", s(c, "webhook_signature")),
                ],
                &body,
            )
            .await;
        assert_error(res, 401, "stale_timestamp").await;
    }
    // The same scheme signed now: accepted, also with a second entry first.
    let now = now_secs().to_string();
    let good = gitlab_signed("msg-now-1", now_secs(), &pipeline);
    let two = format!("v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= {good}");
    let res = app
        .post_ci(
            "gitlab",
            &[
                ("X-Gitlab-Event", "Pipeline Hook"),
                ("webhook-id", "msg-now-1"),
                ("webhook-timestamp", &now),
                ("webhook-signature", &two),
            ],
            &pipeline,
        )
        .await;
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["source"], "gitlab-signed", "{body}");
    let c = &v["c_gitlab_signing_token_small_body"];
    for wrong in [
        "wrong_if_whole_token_string_used_as_key",
        "wrong_if_prefix_stripped_but_not_base64_decoded",
        "wrong_if_timestamp_in_milliseconds",
        "wrong_if_hex_instead_of_base64",
        "wrong_if_timestamp_before_id",
    ] {
        // Each wrong construction, with a fresh timestamp so only the
        // signature is wrong.
        let res = app
            .post_ci(
                "gitlab",
                &[
                    ("webhook-id", s(c, "webhook_id")),
                    ("webhook-timestamp", &now),
                    ("webhook-signature", s(c, wrong)),
                ],
                s(c, "body").as_bytes(),
            )
            .await;
        assert_eq!(res.status(), 401, "{wrong}");
    }

    // d, d2: Gitee's signed timestamps are from 2021: stale.
    for (name, ts, token) in [
        ("d", "timestamp_ms", "x_gitee_token_expected"),
        ("d2", "x_gitee_timestamp", "x_gitee_token"),
    ] {
        let d = &v[if name == "d" {
            "d_gitee_sign_real_delivery"
        } else {
            "d2_gitee_sign_header_test"
        }];
        let res = app
            .post_ci(
                "gitee",
                &[
                    ("X-Gitee-Token", s(d, token)),
                    ("X-Gitee-Timestamp", s(d, ts)),
                ],
                &payload("gitee-push.json"),
            )
            .await;
        assert_error(res, 401, "stale_timestamp").await;
    }
    // Signed now: accepted once; the same (timestamp, token) again is a replay.
    let ts = now_secs() * 1000;
    let token = gitee_token(ts, GITEE_SECRET);
    let headers = [
        ("X-Gitee-Token", token.as_str()),
        ("X-Gitee-Timestamp", &*ts.to_string()),
        ("X-Gitee-Event", "Push Hook"),
    ];
    let headers: Vec<(&str, String)> = headers.iter().map(|(a, b)| (*a, b.to_string())).collect();
    let h: Vec<(&str, &str)> = headers.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let res = app.post_ci("gitee", &h, &payload("gitee-push.json")).await;
    assert_eq!(outcome(res).await, "ignored");
    let res = app.post_ci("gitee", &h, &payload("gitee-push.json")).await;
    assert_error(res, 401, "replay").await;
    let d = &v["d_gitee_sign_real_delivery"];
    let ts_str = ts.to_string();
    for wrong in [
        "wrong_if_timestamp_in_seconds",
        "wrong_if_key_and_message_swapped",
        "wrong_if_newline_missing",
        "wrong_if_hex_instead_of_base64",
    ] {
        let res = app
            .post_ci(
                "gitee",
                &[
                    ("X-Gitee-Token", s(d, wrong)),
                    ("X-Gitee-Timestamp", &ts_str),
                ],
                b"{}",
            )
            .await;
        assert_eq!(res.status(), 401, "{wrong}");
    }
    // e: password mode.
    let e = &v["e_gitee_password_mode"];
    let res = app
        .post_ci(
            "gitee",
            &[("X-Gitee-Token", s(e, "x_gitee_token"))],
            &payload("gitee-push.json"),
        )
        .await;
    assert_eq!(
        res.json::<Value>().await.unwrap()["source"],
        "gitee-password"
    );

    // f: Gitea and Forgejo (RFC 4231 case 2).
    let f = &v["f_gitea_forgejo_signature"];
    for header in ["X-Gitea-Signature", "X-Forgejo-Signature"] {
        let res = app
            .post_ci(
                "gitea",
                &[(header, s(f, "x_gitea_signature"))],
                s(f, "body").as_bytes(),
            )
            .await;
        assert_eq!(outcome(res).await, "ignored", "{header}");
    }
    let res = app
        .post_ci(
            "gitea",
            &[(
                "X-Gitea-Signature",
                s(f, "wrong_if_sha256_prefix_expected_in_x_gitea_signature"),
            )],
            s(f, "body").as_bytes(),
        )
        .await;
    assert_eq!(res.status(), 401);

    // g: Jenkins Notification plugin, Basic auth from the URL's userinfo.
    let g = &v["g_jenkins_notification_basic_auth"];
    assert_eq!(s(g, "authorization"), JENKINS_AUTH);
    let note = payload("jenkins-notification-plugin-doc-example.json");
    let res = app
        .post_ci(
            "jenkins",
            &[("Authorization", s(g, "authorization"))],
            &note,
        )
        .await;
    assert_eq!(outcome(res).await, "accepted");
    let res = app
        .post_ci(
            "jenkins",
            &[(
                "Authorization",
                s(g, "authorization_if_sender_decodes_percent_escapes"),
            )],
            &note,
        )
        .await;
    assert_eq!(res.status(), 401);
    assert_eq!(app.alert_count().await, 0);
}

fn gitlab_pipeline(id: i64, status: &str) -> Vec<u8> {
    let mut v = payload_json("gitlab-pipeline-failed.json");
    v["object_attributes"]["id"] = json!(id);
    v["object_attributes"]["status"] = json!(status);
    if status == "success" {
        for b in v["builds"].as_array_mut().unwrap() {
            b["status"] = json!("success");
        }
    }
    serde_json::to_vec(&v).unwrap()
}

fn jenkins_build(number: i64, status: &str) -> Vec<u8> {
    let mut v = payload_json("jenkins-notification-plugin-doc-example.json");
    v["url"] = json!("job/platform/job/asgard/");
    v["build"]["number"] = json!(number);
    v["build"]["status"] = json!(status);
    v["build"]["full_url"] = json!(format!(
        "http://jenkins.example.com/job/platform/job/asgard/{number}/"
    ));
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn gitlab_and_jenkins_streaks_fire_and_resolve_with_their_own_labels() {
    let app = spawn_app_with(with_ci).await;
    let gitlab = |body: Vec<u8>| {
        let app = &app;
        async move {
            app.post_ci(
                "gitlab",
                &[
                    ("X-Gitlab-Event", "Pipeline Hook"),
                    ("X-Gitlab-Token", GITLAB_TOKEN),
                ],
                &body,
            )
            .await
        }
    };
    assert_eq!(
        outcome(gitlab(gitlab_pipeline(500, "failed")).await).await,
        "accepted"
    );
    // GitLab sends a Pipeline Hook for every status change: running is not terminal.
    assert_eq!(
        outcome(gitlab(gitlab_pipeline(501, "running")).await).await,
        "accepted"
    );
    assert_eq!(app.alert_count().await, 0);
    assert_eq!(
        outcome(gitlab(gitlab_pipeline(501, "failed")).await).await,
        "accepted"
    );
    let alerts = app.alerts().await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    let alert = &alerts[0];
    assert_eq!(alert["labels"]["ci_system"], "gitlab");
    assert_eq!(alert["labels"]["project"], "pengyonghui/datakit");
    assert_eq!(alert["labels"]["ref"], "iss-449");
    assert!(
        alert["content"]
            .as_str()
            .unwrap()
            .contains("release-nothing-only-build"),
        "{alert}"
    );
    assert_eq!(
        outcome(gitlab(gitlab_pipeline(502, "success")).await).await,
        "accepted"
    );
    let id = alert["id"].as_str().unwrap();
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "resolved"
    );

    // Jenkins: the job's full name from its URL, branch from the SCM.
    let jenkins = |body: Vec<u8>| {
        let app = &app;
        async move {
            app.post_ci("jenkins", &[("Authorization", JENKINS_AUTH)], &body)
                .await
        }
    };
    assert_eq!(
        outcome(jenkins(jenkins_build(18, "FAILURE")).await).await,
        "accepted"
    );
    assert_eq!(
        outcome(jenkins(jenkins_build(19, "FAILURE")).await).await,
        "accepted"
    );
    let alerts = app.alerts().await;
    let j = alerts
        .iter()
        .find(|a| a["labels"]["ci_system"] == "jenkins")
        .unwrap_or_else(|| panic!("{alerts:?}"));
    assert_eq!(j["labels"]["project"], "platform/asgard");
    assert_eq!(j["labels"]["ref"], "master");
    assert_eq!(
        outcome(jenkins(jenkins_build(19, "FAILURE")).await).await,
        "duplicate"
    );
    assert_eq!(
        outcome(jenkins(jenkins_build(20, "SUCCESS")).await).await,
        "accepted"
    );
    let jid = j["id"].as_str().unwrap();
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{jid}")).await["state"],
        "resolved"
    );
}

#[tokio::test]
async fn streaks_survive_a_restart() {
    let app = spawn_app_with(with_ci).await;
    assert_eq!(
        outcome(
            app.github("workflow_run", "r-1", &named_run("Restart", 1, "failure"))
                .await
        )
        .await,
        "accepted"
    );
    let dir = app.stop().await;
    let app = spawn_app_in(dir, with_ci).await;
    // The delivery id is remembered across the restart, and so is the streak.
    assert_eq!(
        outcome(
            app.github("workflow_run", "r-1", &named_run("Restart", 1, "failure"))
                .await
        )
        .await,
        "duplicate"
    );
    assert_eq!(
        outcome(
            app.github("workflow_run", "r-2", &named_run("Restart", 2, "failure"))
                .await
        )
        .await,
        "accepted"
    );
    assert_eq!(app.alert_count().await, 1);
}

#[tokio::test]
async fn concurrent_deliveries_count_each_run_once() {
    let app = spawn_app_with(with_ci).await;
    // The same run, delivered 20 times at once (new delivery ids): one
    // counts, the others are duplicates, whatever the interleaving.
    let body = named_run("Concurrent", 5, "failure");
    let same = futures_util::future::join_all((0..20).map(|i| {
        let (app, body) = (&app, &body);
        async move { app.github("workflow_run", &format!("c-{i}"), body).await }
    }))
    .await;
    let mut outcomes = Vec::new();
    for res in same {
        outcomes.push(outcome(res).await);
    }
    outcomes.sort();
    assert_eq!(
        outcomes.iter().filter(|o| *o == "accepted").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|o| *o == "duplicate").count(),
        19,
        "{outcomes:?}"
    );
    // 20 series at once: each counted (one failure each, no alert).
    let bodies: Vec<Vec<u8>> = (0..20)
        .map(|i| named_run(&format!("Many-{i}"), 1, "failure"))
        .collect();
    let many = futures_util::future::join_all(bodies.iter().enumerate().map(|(i, b)| {
        let app = &app;
        async move { app.github("workflow_run", &format!("m-{i}"), b).await }
    }))
    .await;
    for res in many {
        assert_eq!(outcome(res).await, "accepted");
    }
    let metrics = app.metrics_text().await;
    for i in 0..20 {
        let streak = format!(
            "ackbot_ci_pipeline_consecutive_failures{{system=\"github\",source=\"acme\",project=\"octo-org/octo-repo\",pipeline=\"Many-{i}\",ref=\"main\"}}"
        );
        assert_eq!(sample(&metrics, &streak), 1.0, "{streak}");
    }
    // The next failure of the first series fires its alert: it counted once.
    let second = named_run("Concurrent", 6, "failure");
    assert_eq!(
        outcome(app.github("workflow_run", "c-next", &second).await).await,
        "accepted"
    );
    assert_eq!(app.alert_count().await, 1);
}

#[tokio::test]
async fn a_series_whose_rule_turns_to_ignore_resolves_its_alert() {
    let app = spawn_app_with(with_ci).await;
    for n in [1, 2] {
        let body = named_run("Sandbox", n, "failure");
        assert_eq!(
            outcome(app.github("workflow_run", &format!("i-{n}"), &body).await).await,
            "accepted"
        );
    }
    let alerts = app.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["state"], "firing");
    let id = alerts[0]["id"].as_str().unwrap().to_string();
    // Restarted with a rule that ignores the pipeline: its next result,
    // even a failure, resolves the alert instead of leaving it for good.
    let dir = app.stop().await;
    let app = spawn_app_in(dir, |c| {
        with_ci(c);
        c.ci.rules = vec![
            toml::from_str("matchers = ['pipeline=\"Sandbox\"']\nseverity = \"ignore\"").unwrap(),
        ];
        c.validate().unwrap();
    })
    .await;
    let body = named_run("Sandbox", 3, "failure");
    assert_eq!(
        outcome(app.github("workflow_run", "i-3", &body).await).await,
        "accepted"
    );
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "resolved"
    );
    // Ignored from then on: more failures raise nothing.
    let body = named_run("Sandbox", 4, "failure");
    assert_eq!(
        outcome(app.github("workflow_run", "i-4", &body).await).await,
        "accepted"
    );
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["state"],
        "resolved"
    );
    assert_eq!(app.alert_count().await, 1);
}
