//! A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`,
//! 0.25 in CI) sending to ackbot, configured as the README tells users to:
//! `webhook_configs` with `http_config.authorization` and
//! `tls_config.ca_file`. One group holds ordinary alerts and one with 70
//! labels and an 11 KB description; Alertmanager drops a whole group for
//! good on a 4xx, so every alert of it must arrive, then resolve.
//!
//! Skipped when the binary is not installed, unless
//! `ACKBOT_REQUIRE_PEERS=1` (set by `.ci/run`, which installs it).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

const BINARIES: [&str; 2] = ["prometheus-alertmanager", "alertmanager"];

fn binary() -> Option<String> {
    BINARIES.iter().find_map(|b| {
        Command::new(b)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| b.to_string())
    })
}

struct Alertmanager {
    child: Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Drop for Alertmanager {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Alertmanager {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The README's Alertmanager configuration, pointed at `ackbot`.
fn config(ackbot_port: u16, ca_file: &std::path::Path) -> String {
    format!(
        r#"route:
  receiver: ackbot
  group_by: ['alertname']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: ackbot
    webhook_configs:
      - url: https://127.0.0.1:{ackbot_port}/api/v1/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {API_TOKEN}
          tls_config:
            ca_file: {ca}
"#,
        ca = ca_file.display()
    )
}

async fn start(bin: &str, dir: &std::path::Path, config: &str) -> Alertmanager {
    std::fs::write(dir.join("alertmanager.yml"), config).unwrap();
    let port = free_port();
    let log = dir.join("alertmanager.log");
    let out = std::fs::File::create(&log).unwrap();
    let child = Command::new(bin)
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap();
    let am = Alertmanager { child, port, log };
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = client
            .get(format!("http://127.0.0.1:{port}/-/ready"))
            .send()
            .await;
        if ready.is_ok_and(|r| r.status().is_success()) {
            return am;
        }
        assert!(
            Instant::now() < deadline,
            "Alertmanager did not start:\n{}",
            am.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_real_alertmanager_delivers_a_group_with_an_oversized_alert_whole_and_resolves_it() {
    let Some(bin) = binary() else {
        assert!(
            std::env::var("ACKBOT_REQUIRE_PEERS").is_err(),
            "ACKBOT_REQUIRE_PEERS is set but prometheus-alertmanager is not installed"
        );
        eprintln!(
            "skipped: prometheus-alertmanager is not installed (apt-get install prometheus-alertmanager)"
        );
        return;
    };
    let app = spawn_app().await;
    let port: u16 = app.address.rsplit(':').next().unwrap().parse().unwrap();
    let am_dir = tempfile::tempdir().unwrap();
    let am = start(
        &bin,
        am_dir.path(),
        &config(port, &app.dir.path().join("certs/server.crt")),
    )
    .await;

    let starts = chrono::Utc::now().to_rfc3339();
    let mut alerts: Vec<Value> = (0..50)
        .map(|i| {
            json!({"labels": {"alertname": "NodeDown", "instance": format!("node-{i}:9100"),
                               "severity": "warning", "job": "node"},
                   "annotations": {"summary": format!("node-{i} is down")},
                   "startsAt": starts, "generatorURL": "http://prometheus:9090/graph"})
        })
        .collect();
    let mut labels: serde_json::Map<String, Value> = (0..70)
        .map(|i| (format!("label_{i:02}"), json!(format!("value {i}"))))
        .collect();
    labels.insert("alertname".into(), json!("NodeDown"));
    labels.insert("instance".into(), json!("huge:9100"));
    labels.insert("severity".into(), json!("critical"));
    alerts.push(json!({"labels": labels,
                       "annotations": {"summary": "the odd one", "description": "d".repeat(11 * 1024)},
                       "startsAt": starts}));
    let am_client = reqwest::Client::new();
    let res = am_client
        .post(format!("http://127.0.0.1:{}/api/v2/alerts", am.port))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());

    let wait_for = |state: &'static str| {
        let app = &app;
        let am = &am;
        async move {
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                let listed = app
                    .get_json(&format!("/api/v1/alerts?state={state}&limit=1000"))
                    .await;
                let n = listed["alerts"].as_array().unwrap().len();
                if n == 51 {
                    return listed;
                }
                assert!(
                    Instant::now() < deadline,
                    "{n} of 51 alerts {state}; Alertmanager says:\n{}",
                    am.log()
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    };
    let firing = wait_for("firing").await;
    let huge = firing["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["instance"] == "huge:9100")
        .expect("the oversized alert arrived")
        .clone();
    assert_eq!(huge["labels"].as_object().unwrap().len(), 64);
    assert!(huge["annotations"]["ackbot_note"].is_string());

    // Resolved at the source: Alertmanager sends the resolution.
    let ends = chrono::Utc::now().to_rfc3339();
    for a in &mut alerts {
        a["endsAt"] = json!(ends);
    }
    let res = am_client
        .post(format!("http://127.0.0.1:{}/api/v2/alerts", am.port))
        .json(&alerts)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
    wait_for("resolved").await;
    let log = am.log();
    assert!(
        !log.contains("unrecoverable") && !log.contains("Notify for alerts failed"),
        "{log}"
    );
}
