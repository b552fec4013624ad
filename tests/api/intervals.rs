//! Routes with `mute_time_intervals`: a notice decided while its route is
//! muted waits, durably, for the interval's end; then it goes out if the
//! alert still fires, and ends `muted` if it resolved meanwhile (firing and
//! resolution both: the channel never heard of it).

use std::time::Duration;

use chrono::{Timelike, Utc};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mockbot::MockBot;

fn deliveries(a: &Value) -> Vec<(String, String, String)> {
    a["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or("").to_string(),
                d["status"].as_str().unwrap_or("").to_string(),
                d["due_at"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_muted_route_sends_at_the_intervals_end_only_what_still_fires_across_a_restart() {
    // The interval ends at the next minute; leave room to post before it.
    if Utc::now().second() > 40 {
        tokio::time::sleep(Duration::from_secs(61 - u64::from(Utc::now().second()))).await;
    }
    let now = Utc::now();
    let end =
        now.with_second(0).unwrap().with_nanosecond(0).unwrap() + chrono::Duration::minutes(1);
    let end_time = if end.hour() == 0 && end.minute() == 0 {
        "24:00".to_string()
    } else {
        end.format("%H:%M").to_string()
    };
    let mock = MockBot::webhook(None).await;
    let url = mock.url();
    let tweak = move |c: &mut ackbot::config::Config| {
        c.channels = vec![channel(&format!(
            "name = \"hook\"\ntype = \"webhook\"\nurl = \"{url}\""
        ))];
        c.time_intervals = vec![
            toml::from_str(&format!(
                "name = \"now\"\n[[time_intervals]]\ntimes = [{{ start_time = \"00:00\", end_time = \"{end_time}\" }}]\n"
            ))
            .unwrap(),
        ];
        c.routes = vec![
            toml::from_str(
                "channels = [\"hook\"]\ngroup_wait = \"0s\"\ngroup_interval = \"1s\"\nmute_time_intervals = [\"now\"]\n",
            )
            .unwrap(),
        ];
        c.validate().unwrap();
    };
    let app = spawn_app_with(tweak.clone()).await;
    let stays = app
        .post_alert(&json!({"title": "Disk full", "severity": "critical", "fingerprint": "stays"}))
        .await;
    let gone = app
        .post_alert(&json!({"title": "Blip", "severity": "warning", "fingerprint": "gone"}))
        .await;
    app.post_alert(&json!({"title": "Blip", "fingerprint": "gone", "status": "resolved"}))
        .await;
    let want_due = end.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let a = app.get_json(&format!("/api/v1/alerts/{stays}")).await;
    assert_eq!(
        deliveries(&a),
        [("firing".into(), "pending".into(), want_due.clone())],
        "held to the interval's end, critical too: {a}"
    );
    let b = app.get_json(&format!("/api/v1/alerts/{gone}")).await;
    assert_eq!(deliveries(&b).len(), 2, "{b}");
    assert!(
        deliveries(&b)
            .iter()
            .all(|d| d.1 == "pending" && d.2 == want_due),
        "{b}"
    );

    // A restart inside the interval changes nothing.
    let dir = app.stop().await;
    let app = spawn_app_in(dir, tweak).await;
    assert_eq!(
        deliveries(&app.get_json(&format!("/api/v1/alerts/{stays}")).await)[0],
        ("firing".into(), "pending".into(), want_due.clone())
    );
    assert!(mock.received().is_empty(), "nothing sent while muted");

    // At the end: what still fires goes out; what resolved does not.
    let got = mock.wait_for(1, Duration::from_secs(90)).await;
    assert!(Utc::now() >= end, "not before the interval's end");
    assert!(
        got[0].body.to_string().contains("Disk full"),
        "{:?}",
        got[0].body
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let b = app.get_json(&format!("/api/v1/alerts/{gone}")).await;
        if deliveries(&b).iter().all(|d| d.1 == "muted") {
            let why: Vec<&str> = b["deliveries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["last_error"].as_str().unwrap_or(""))
                .collect();
            assert!(why[0].contains("the alert resolved before"), "{why:?}");
            assert!(why[1].contains("never went to this channel"), "{why:?}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        mock.received().len(),
        1,
        "the resolved alert was never told"
    );
}
