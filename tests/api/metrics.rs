//! `/metrics` as Prometheus reads it after real traffic: promtool accepts
//! the exposition, the shipped alerting rules pass `promtool check rules`,
//! and every `ackbot_…` metric the rules and the Grafana dashboard query is
//! there.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;
use crate::mockbot::MockBot;

#[tokio::test]
async fn the_operational_metrics_are_there_and_the_shipped_rules_query_only_them() {
    let mock = MockBot::webhook(None).await;
    let hook = channel(&format!(
        "name = \"metrics-hook\"\ntype = \"webhook\"\nurl = \"{}\"",
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
    let r = app
        .api(reqwest::Method::POST, &format!("/api/v1/alerts/{id}/ack"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A refused callback, an unknown path. The registry is the process's,
    // and other tests refuse DingTalk callbacks too: this one must add one.
    const REFUSED: &str =
        "ackbot_callbacks_refused_total{platform=\"dingtalk\",reason=\"missing_signature\"} ";
    let count = |metrics: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(REFUSED))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    };
    let refused_before = count(&app.metrics_text().await);
    let r = app
        .client
        .post(app.url("/dingtalk/robot"))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    app.client.get(app.url("/nope")).send().await.unwrap();
    // The card and the follow-up after the ack, both recorded as sent (the
    // mock answers before ackbot counts).
    mock.wait_for(2, Duration::from_secs(10)).await;
    let sent = "ackbot_delivery_latency_seconds_count{channel=\"metrics-hook\"} 2";
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let metrics = loop {
        let m = app.metrics_text().await;
        if m.lines().any(|l| l == sent) || std::time::Instant::now() > deadline {
            break m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let has = |line: &str| metrics.lines().any(|l| l.starts_with(line));
    assert!(has("ackbot_build_info{version=\""), "{metrics}");
    assert!(
        has("ackbot_messages_total{channel=\"metrics-hook\",outcome=\"sent\"}"),
        "{metrics}"
    );
    assert!(has(sent), "{metrics}");
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
    assert!(has("ackbot_alerts_accepted_total{source=\"api\"} "));
    assert!(count(&metrics) >= refused_before + 1.0, "{metrics}");
    assert!(has("ackbot_ingest_commit_duration_seconds_count "));
    assert!(has("ackbot_ingest_commit_alerts_bucket{le=\"1.0\"} "));
    // Configured channels have their series from the start, at 0.
    assert!(has(
        "ackbot_rate_budget_deferrals_total{channel=\"metrics-hook\"} 0"
    ));
    assert!(has("ackbot_digests_total{channel=\"metrics-hook\"} 0"));
    assert!(has(
        "ackbot_messages_total{channel=\"metrics-hook\",outcome=\"dead\"} 0"
    ));
    assert!(has("ackbot_outbox_oldest_pending_age_seconds "));
    assert!(has("ackbot_replay_cache_entries "));
    assert!(has("ackbot_process_cpu_seconds_total "));
    assert!(has("ackbot_process_resident_memory_bytes "));
    assert!(has("ackbot_process_open_fds "));
    assert!(!metrics.contains(&id), "no alert content in labels");
    crate::ci::promtool_check(&metrics);

    // Every ackbot_ metric the shipped rules and dashboard query is one
    // /metrics declares (a family, or a histogram's series).
    let declared: std::collections::HashSet<String> = metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .flat_map(|n| {
            ["", "_bucket", "_count", "_sum"]
                .into_iter()
                .map(move |s| format!("{n}{s}"))
        })
        .collect();
    assert!(declared.contains("ackbot_messages_total"), "{declared:?}");
    let names = regex::Regex::new(r"ackbot_[a-z_]+").unwrap();
    let rules = concat!(env!("CARGO_MANIFEST_DIR"), "/monitoring/ackbot-rules.yml");
    let text = std::fs::read_to_string(rules).unwrap();
    let queried: Vec<&str> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("expr:"))
        .flat_map(|l| names.find_iter(l).map(|m| m.as_str()))
        .collect();
    assert!(queried.len() >= 8, "{queried:?}");
    for name in queried {
        assert!(
            declared.contains(name),
            "the rules query {name}, which /metrics does not have"
        );
    }
    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/dashboards/ackbot.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let mut exprs = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            let expr = target["expr"].as_str().unwrap();
            exprs += 1;
            for name in names.find_iter(expr) {
                assert!(
                    declared.contains(name.as_str()),
                    "the dashboard panel {:?} queries {}, which /metrics does not have",
                    panel["title"],
                    name.as_str()
                );
            }
        }
    }
    assert!(exprs >= 15, "{exprs} queries in the dashboard");
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
