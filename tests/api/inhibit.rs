//! `[[inhibit_rules]]` through Alertmanager's own webhook: a NodeDown in
//! the same group inhibits the warnings of its instance (recorded, shown as
//! inhibited by it, not notified), not those of another instance; when it
//! resolves, the still-firing warning is notified at once.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::mockbot::MockBot;

fn group(alerts: &[(&str, &str, &str, &str)]) -> Value {
    json!({
        "version": "4", "status": "firing", "receiver": "ackbot", "groupKey": "{}:{}",
        "alerts": alerts.iter().map(|(name, sev, instance, status)| json!({
            "status": status,
            "labels": {"alertname": name, "severity": sev, "instance": instance},
            "annotations": {"summary": format!("{name} on {instance}")},
            "fingerprint": format!("{name}-{instance}").to_lowercase(),
        })).collect::<Vec<_>>()
    })
}

/// The alert's audit trail has an entry of this kind.
async fn assert_recorded(app: &TestApp, id: &str, kind: &str) {
    let events = app.get_json(&format!("/api/v1/alerts/{id}/events")).await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == kind),
        "no `{kind}`: {events}"
    );
}

#[tokio::test]
async fn a_source_inhibits_its_instances_warnings_until_it_resolves() {
    let mock = MockBot::webhook(None).await;
    let hook = channel(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"",
        mock.url()
    ));
    let app = spawn_app_with(move |c| {
        c.channels = vec![hook];
        c.inhibit_rules = vec![
            toml::from_str(
                "name = \"node-down\"\nsource_matchers = ['alertname=\"NodeDown\"']\ntarget_matchers = ['severity=\"warning\"']\nequal = [\"instance\"]\n",
            )
            .unwrap(),
        ];
        c.validate().unwrap();
    })
    .await;
    let post = |body: Value| {
        app.api(reqwest::Method::POST, "/api/v1/alertmanager")
            .json(&body)
            .send()
    };
    // The warning comes first in the group; its source is in the same group.
    let r = post(group(&[
        ("DiskSlow", "warning", "a", "firing"),
        ("NodeDown", "critical", "a", "firing"),
        ("DiskSlow", "warning", "b", "firing"),
    ]))
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    let ids: Vec<String> = r.json::<Value>().await.unwrap()["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let (slow_a, down, slow_b) = (&ids[0], &ids[1], &ids[2]);
    let got = mock.wait_for(2, Duration::from_secs(10)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let told: Vec<String> = mock.received().iter().map(|r| r.body.to_string()).collect();
    assert_eq!(told.len(), 2, "{told:?}");
    assert!(
        got.iter()
            .any(|r| r.body.to_string().contains("NodeDown on a"))
    );
    assert!(
        got.iter()
            .any(|r| r.body.to_string().contains("DiskSlow on b"))
    );
    let a = app.get_json(&format!("/api/v1/alerts/{slow_a}")).await;
    assert_eq!(a["inhibited_by"].as_str(), Some(down.as_str()), "{a}");
    assert_eq!(a["state"], "firing", "recorded: {a}");
    assert_recorded(&app, slow_a, &format!("inhibited by {down}")).await;
    assert!(app.get_json(&format!("/api/v1/alerts/{slow_b}")).await["inhibited_by"].is_null());
    assert!(app.get_json(&format!("/api/v1/alerts/{down}")).await["inhibited_by"].is_null());
    // A resend of the group changes nothing.
    let r = post(group(&[
        ("DiskSlow", "warning", "a", "firing"),
        ("NodeDown", "critical", "a", "firing"),
    ]))
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(mock.received().len(), 2);

    // The source resolves: the warning still fires and is told now.
    let r = post(group(&[("NodeDown", "critical", "a", "resolved")]))
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let got = mock.wait_for(4, Duration::from_secs(15)).await;
    let bodies: Vec<String> = got.iter().map(|r| r.body.to_string()).collect();
    assert!(
        bodies[2..].iter().any(|b| b.contains("DiskSlow on a")),
        "{bodies:?}"
    );
    let a = app.get_json(&format!("/api/v1/alerts/{slow_a}")).await;
    assert!(a["inhibited_by"].is_null(), "{a}");
    assert_recorded(&app, slow_a, "inhibition ended").await;
}
