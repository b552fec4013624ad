//! `/metrics` as Prometheus reads it after real traffic: promtool accepts
//! the exposition, the shipped alerting rules pass `promtool check rules`,
//! and every `ackbot_…` metric the rules query is there.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::mockbot::MockBot;

#[tokio::test]
async fn the_operational_metrics_are_there_and_the_shipped_rules_query_only_them() {
    let mock = MockBot::webhook(None).await;
    let hook = channel(&format!(
        "name = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"",
        mock.url()
    ));
    let app = spawn_app_with(move |c| {
        c.channels = vec![hook];
        c.validate().unwrap();
    })
    .await;
    let id = app
        .post_alert(&json!({"title": "Disk full", "severity": "critical"}))
        .await;
    mock.wait_for(1, Duration::from_secs(10)).await;
    // A refused callback, an unknown path.
    let r = app
        .client
        .post(app.url("/dingtalk/robot"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.client.get(app.url("/nope")).send().await.unwrap();
    let metrics = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let has = |line: &str| metrics.lines().any(|l| l.starts_with(line));
    assert!(has("ackbot_build_info{version=\""), "{metrics}");
    assert!(
        has("ackbot_messages_total{channel=\"hook\",outcome=\"sent\"}"),
        "{metrics}"
    );
    assert!(
        has("ackbot_delivery_latency_seconds_count{channel=\"hook\"} 1"),
        "{metrics}"
    );
    assert!(has(
        "ackbot_http_requests_total{route=\"/dingtalk/robot\",method=\"POST\",status=\"401\"}"
    ));
    assert!(has(
        "ackbot_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"
    ));
    assert!(has(
        "ackbot_http_requests_total{route=\"/api/v1/alerts\",method=\"POST\",status=\"202\"}"
    ));
    assert!(has("ackbot_outbox_rows{status=\"pending\"}"));
    assert!(has("ackbot_outbox_oldest_pending_age_seconds "));
    assert!(has("ackbot_replay_cache_entries "));
    assert!(has("ackbot_process_cpu_seconds_total "));
    assert!(has("ackbot_process_resident_memory_bytes "));
    assert!(has("ackbot_process_open_fds "));
    assert!(!metrics.contains(&id), "no alert content in labels");
    crate::ci::promtool_check(&metrics);

    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/monitoring/ackbot-rules.yml");
    let text = std::fs::read_to_string(rules).unwrap();
    let samples: std::collections::HashSet<&str> = metrics
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(['{', ' ']).next())
        .collect();
    let names = regex::Regex::new(r"ackbot_[a-z_]+").unwrap();
    let queried: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("expr:"))
        .flat_map(|l| names.find_iter(l).map(|m| m.as_str()))
        .collect();
    assert!(queried.len() >= 5, "{queried:?}");
    for name in queried {
        assert!(
            samples.contains(name),
            "the rules query {name}, which /metrics does not have"
        );
    }
    promtool_rules(rules);
}

/// `promtool check rules`, when promtool is installed (`.ci/run` installs it).
fn promtool_rules(path: &str) {
    let Ok(out) = std::process::Command::new("promtool")
        .args(["check", "rules", path])
        .output()
    else {
        assert!(
            std::env::var_os("ACKBOT_REQUIRE_PEERS").is_none(),
            "promtool is required here (ACKBOT_REQUIRE_PEERS) but not installed"
        );
        eprintln!("promtool not installed: rules not checked");
        return;
    };
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
