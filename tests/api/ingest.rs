//! What real senders send: alerts with every label they have, long
//! descriptions, groups of thousands. Alertmanager drops a group for good on
//! a 4xx, so none of that may be refused, and none of it may break the
//! writer for the requests after it.

use serde_json::{Value, json};

use crate::helpers::*;

/// An Alertmanager webhook notification (version 4) of `alerts`.
pub fn notification(alerts: Vec<Value>) -> Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"x\"}", "truncatedAlerts": 0,
        "status": "firing", "receiver": "ackbot", "groupLabels": {}, "commonLabels": {},
        "commonAnnotations": {}, "externalURL": "http://alertmanager:9093",
        "alerts": alerts,
    })
}

/// One firing Alertmanager alert with these labels and annotations.
pub fn am_alert(labels: Value, annotations: Value, fingerprint: &str) -> Value {
    json!({
        "status": "firing", "labels": labels, "annotations": annotations,
        "startsAt": "2026-12-01T10:00:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph?g0.expr=up", "fingerprint": fingerprint,
    })
}

impl TestApp {
    pub async fn post_alertmanager(&self, body: &Value) -> reqwest::Response {
        self.api(reqwest::Method::POST, "/api/v1/alertmanager")
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

fn many_labels(n: usize) -> Value {
    let mut labels: serde_json::Map<String, Value> = (0..n)
        .map(|i| (format!("label_{i:02}"), json!(format!("value {i}"))))
        .collect();
    labels.insert("alertname".into(), json!("TooManyLabels"));
    labels.insert("severity".into(), json!("critical"));
    Value::Object(labels)
}

#[tokio::test]
async fn sixty_four_labels_and_an_11_kb_description_are_kept_and_the_next_request_succeeds() {
    let app = spawn_app().await;
    let innocent = am_alert(
        json!({"alertname": "Innocent", "severity": "warning"}),
        json!({"summary": "a normal alert in the same group"}),
        "00000000000000aa",
    );
    let odd = am_alert(
        many_labels(70),
        json!({"description": "d".repeat(11 * 1024), "summary": "many labels",
               "zz_value": "v".repeat(2000)}),
        "00000000000000bb",
    );
    let res = app
        .post_alertmanager(&notification(vec![innocent, odd]))
        .await;
    assert_eq!(res.status(), 202, "{}", res.text().await.unwrap());
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["accepted"], 2);
    let id = body["ids"][1].as_str().unwrap();
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["title"], "TooManyLabels");
    assert_eq!(alert["severity"], "critical");
    assert_eq!(alert["labels"].as_object().unwrap().len(), 64);
    assert_eq!(alert["content"].as_str().unwrap().len(), 11 * 1024);
    let note = alert["annotations"]["ackbot_note"].as_str().unwrap();
    assert!(
        note.contains("labels dropped over the limit of 64"),
        "{note}"
    );
    let description = alert["annotations"]["description"].as_str().unwrap();
    assert!(description.ends_with("…truncated"), "cut visibly");

    // The writer is alive: the next requests, of both kinds, succeed.
    for _ in 0..3 {
        let res = app
            .post_alertmanager(&notification(vec![am_alert(
                json!({"alertname": "After"}),
                json!({}),
                "00000000000000cc",
            )]))
            .await;
        assert_eq!(res.status(), 202);
        app.post_alert(&json!({"title": "native after"})).await;
    }
    let ready = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn the_native_api_takes_64_labels_and_refuses_65_with_the_field() {
    let app = spawn_app().await;
    let labels: serde_json::Map<String, Value> =
        (0..64).map(|i| (format!("l{i}"), json!("v"))).collect();
    // 64 own labels plus the derived ones (severity, service, alertname,
    // __fingerprint__) once made the writer panic.
    let id = app
        .post_alert(&json!({"title": "full", "service": "svc", "labels": labels}))
        .await;
    assert_eq!(
        app.get_json(&format!("/api/v1/alerts/{id}")).await["labels"]
            .as_object()
            .unwrap()
            .len(),
        64
    );
    let mut more = labels.clone();
    more.insert("l64".into(), json!("v"));
    let res = app
        .post_alerts(&json!({"title": "over", "labels": more}))
        .await;
    let body = assert_error(res, 400, "invalid").await;
    assert_eq!(body["field"], "labels");
    app.post_alert(&json!({"title": "still fine"})).await;
}

#[tokio::test]
async fn an_alertmanager_group_of_ten_thousand_alerts_is_taken_whole() {
    let app = spawn_app().await;
    let alerts: Vec<Value> = (0..10_000)
        .map(|i| {
            am_alert(
                json!({"alertname": "NodeDown", "instance": format!("node-{i}:9100"),
                       "job": "node", "severity": "warning"}),
                json!({"summary": format!("node-{i} is down"),
                       "description": "The node exporter has not answered for 5 minutes."}),
                &format!("{i:016x}"),
            )
        })
        .collect();
    let body = notification(alerts);
    let bytes = body.to_string().len();
    assert!(
        bytes > 3 * 1024 * 1024,
        "a realistic group is a few MB: {bytes}"
    );
    let res = app.post_alertmanager(&body).await;
    assert_eq!(res.status(), 202);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(answer["accepted"], 10_000);
    let ids = answer["ids"].as_array().unwrap();
    let unique: std::collections::BTreeSet<&str> = ids.iter().filter_map(Value::as_str).collect();
    assert_eq!(unique.len(), 10_000);
    let last = ids[9_999].as_str().unwrap();
    let alert = app.get_json(&format!("/api/v1/alerts/{last}")).await;
    assert_eq!(alert["labels"]["instance"], "node-9999:9100");
}

#[tokio::test]
async fn a_body_over_the_ingest_cap_is_413_and_the_other_endpoints_keep_the_small_cap() {
    let app = spawn_app_with(|c| c.server.max_ingest_body_bytes = 64 * 1024).await;
    let big = notification(vec![am_alert(
        json!({"alertname": "Big"}),
        json!({"description": "x".repeat(100 * 1024)}),
        "00000000000000dd",
    )]);
    let res = app.post_alertmanager(&big).await;
    assert_error(res, 413, "payload_too_large").await;
    // 32 KiB fits the ingest cap but not the 16 KiB callback cap of the tests.
    let mid = notification(vec![am_alert(
        json!({"alertname": "Mid"}),
        json!({"description": "x".repeat(32 * 1024)}),
        "00000000000000ee",
    )]);
    assert_eq!(app.post_alertmanager(&mid).await.status(), 202);
    let res = app.post_unsigned("/feishu/events", mid.to_string()).await;
    assert_error(res, 413, "payload_too_large").await;
}

#[tokio::test]
async fn a_grafana_alert_with_odd_values_is_kept_with_a_note() {
    let app = spawn_app().await;
    let payload = json!({
        "receiver": "ackbot", "status": "firing", "orgId": 1, "version": "1",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "Odd", "grafana_folder": "Infra", "bad-name": "x",
                        "long": "l".repeat(3000)},
            "annotations": {"summary": "odd"},
            "startsAt": "not a time", "fingerprint": "not a valid fingerprint!",
            "silenceURL": "https://grafana/silence", "dashboardURL": "", "panelURL": ""
        }]
    });
    let res = app
        .api(reqwest::Method::POST, "/api/v1/grafana")
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let body: Value = res.json().await.unwrap();
    let alert = app
        .get_json(&format!(
            "/api/v1/alerts/{}",
            body["ids"][0].as_str().unwrap()
        ))
        .await;
    assert_eq!(alert["labels"]["bad_name"], "x");
    assert!(alert["labels"]["long"].as_str().unwrap().len() <= 1024);
    let note = alert["annotations"]["ackbot_note"].as_str().unwrap();
    for part in ["renamed", "cut", "startsAt", "fingerprint"] {
        assert!(note.contains(part), "{part}: {note}");
    }
}

#[tokio::test]
async fn a_body_that_is_not_alertmanager_json_is_still_refused_with_the_field() {
    let app = spawn_app().await;
    let res = app
        .post_alertmanager(&json!({"version": "3", "alerts": []}))
        .await;
    let body = assert_error(res, 400, "invalid").await;
    assert_eq!(body["field"], "version");
    let res = app
        .api(reqwest::Method::POST, "/api/v1/alertmanager")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let body = assert_error(res, 400, "invalid").await;
    assert_eq!(body["field"], "body");
}

#[tokio::test]
async fn a_grafana_alert_shows_its_values_and_panel_and_its_resolution_says_how_long_it_fired() {
    use crate::mockbot::MockBot;
    let mock = MockBot::dingtalk_bot("SECgrafana-secret").await;
    let dd = channel(&format!(
        "name = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{}\"\nsecret = \"SECgrafana-secret\"\nrate_per_minute = 0",
        mock.url()
    ));
    let app = spawn_app_with(move |c| {
        c.channels = vec![dd];
        c.validate().unwrap();
    })
    .await;
    let alert = |status: &str| {
        json!({"receiver": "ackbot", "status": status, "orgId": 1, "version": "1", "alerts": [{
            "status": status,
            "labels": {"alertname": "High CPU", "severity": "critical", "instance": "web-1"},
            "annotations": {"summary": "CPU over 90 %", "runbook_url": "https://runbooks.example.com/cpu"},
            "startsAt": (chrono::Utc::now() - chrono::Duration::minutes(42)).to_rfc3339(),
            "fingerprint": "6a1b2c3d4e5f6071",
            "values": {"B": 93.51234, "C": 1},
            "valueString": "[ var='B' labels={instance=web-1} value=93.51234 ]",
            "imageURL": "https://grafana.example.com/render/d-solo/cpu.png"
        }]})
    };
    let post = |body: Value| {
        app.api(reqwest::Method::POST, "/api/v1/grafana")
            .json(&body)
            .send()
    };
    assert_eq!(post(alert("firing")).await.unwrap().status(), 202);
    let firing = mock.wait_for(1, std::time::Duration::from_secs(10)).await[0]
        .body
        .to_string();
    assert!(firing.contains("B=93.5123, C=1"), "{firing}");
    assert!(
        firing.contains("![panel](https://grafana.example.com/render/d-solo/cpu.png)"),
        "{firing}"
    );
    assert_eq!(post(alert("resolved")).await.unwrap().status(), 202);
    let resolved = mock.wait_for(2, std::time::Duration::from_secs(10)).await[1]
        .body
        .to_string();
    assert!(resolved.contains("Resolved after 42m"), "{resolved}");
}
