//! Escalation end to end: the real server, a DingTalk mock (`mockbot`) and
//! SMS / voice providers (`mocksms`) that check signatures as Alibaba Cloud,
//! Tencent Cloud and Twilio do and answer with their real shapes. Waits are
//! seconds long so that the chain runs within a test.

use std::time::Duration;

use ackbot::config::Config;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::mockbot::MockBot;
use crate::mocksms::MockSms;

const LI: &str = "+8613800000001";
const HAN: &str = "+8613800000002";
const AK: (&str, &str) = ("test-access-key-id", "test-access-key-secret");

/// People, a schedule whose first member (Li Lei) is on call today and
/// whose backup is Han Meimei, and `extra` (channels, routes, escalations).
fn oncall(extra: &str) -> impl FnOnce(&mut Config) + use<> {
    let text = oncall_toml(extra);
    move |config: &mut Config| {
        let extra: Config = toml::from_str(&text).expect("test config parses");
        config.channels = extra.channels;
        config.routes = extra.routes;
        config.people = extra.people;
        config.schedules = extra.schedules;
        config.escalations = extra.escalations;
        config.delivery.max_backoff = Duration::from_secs(1);
        config.delivery.timeout = Duration::from_millis(800);
        config.validate().unwrap();
    }
}

/// The TOML of [`oncall`].
fn oncall_toml(extra: &str) -> String {
    let today = chrono::Utc::now().format("%Y-%m-%d");
    format!(
        r#"
[[people]]
name = "Li Lei"
phone = "{LI}"
dingtalk_user_id = "lilei"
[[people]]
name = "Han Meimei"
phone = "{HAN}"
[[schedules]]
name = "primary"
members = ["Li Lei", "Han Meimei"]
rotation = "7d"
handover = "00:00"
timezone = "UTC"
start = "{today}"
{extra}
"#
    )
}

fn aliyun(name: &str, kind: &str, mock: &MockSms) -> String {
    format!(
        r#"
[[channels]]
name = "{name}"
type = "{kind}"
access_key_id = "{}"
access_key_secret = "{}"
sign_name = "ackbot"
template_code = "SMS_154950909"
api_base = "{}"
"#,
        AK.0,
        AK.1,
        mock.base()
    )
}

fn dingtalk(mock: &MockBot) -> String {
    format!(
        "[[channels]]\nname = \"ops\"\ntype = \"dingtalk_bot\"\nurl = \"{}\"\nsecret = \"dingtalk-bot-secret\"\n",
        mock.url()
    )
}

/// The route: critical alerts to DingTalk at once, @-mentioning the
/// on-call person, escalating under `critical`.
const ROUTE: &str = r#"
[[routes]]
matchers = ['severity="critical"']
channels = ["ops"]
group_wait = "0s"
escalation = "critical"
mention = ["schedule:primary"]
"#;

async fn events(app: &TestApp, id: &str) -> Vec<Value> {
    app.get_json(&format!("/api/v1/alerts/{id}/events")).await["events"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Waits until `n` pages were accepted (verified and answered with success).
async fn delivered(
    mock: &MockSms,
    n: usize,
    timeout: Duration,
) -> Vec<crate::mocksms::SmsReceived> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let d = mock.delivered();
        if d.len() >= n || std::time::Instant::now() >= deadline {
            assert!(d.len() >= n, "{} of {n} pages: {}", d.len(), mock.summary());
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn phone(p: &str) -> String {
    p.trim_start_matches('+').to_string()
}

#[tokio::test]
async fn unacknowledged_the_chain_mentions_texts_calls_then_texts_the_backup() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let voice = MockSms::aliyun_voice(AK.0, AK.1).await;
    let app = spawn_app_with(oncall(&format!(
        r#"{}{}{}{ROUTE}
[[escalations]]
name = "critical"
[[escalations.steps]]
wait = "2s"
channels = ["oncall-sms"]
notify = ["schedule:primary"]
[[escalations.steps]]
wait = "2s"
channels = ["oncall-voice"]
notify = ["schedule:primary"]
[[escalations.steps]]
wait = "2s"
channels = ["oncall-sms", "ops"]
notify = ["schedule:primary:backup"]
"#,
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms),
        aliyun("oncall-voice", "aliyun_voice", &voice),
    )))
    .await;
    let started = std::time::Instant::now();
    let id = app
        .post_alert(
            &json!({"title": "Payment DB unreachable", "severity": "critical",
            "service": "payment"}),
        )
        .await;

    // At once: DingTalk, with Li Lei @-mentioned the way DingTalk renders it.
    let first = bot.wait_for(1, Duration::from_secs(10)).await;
    let body = &first[0].body;
    assert_eq!(body["at"]["atMobiles"], json!(["13800000001"]), "{body}");
    assert_eq!(body["at"]["atUserIds"], json!(["lilei"]));
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(text.contains("@13800000001"), "{text}");
    assert!(text.contains("Escalates to Li Lei by SMS"), "{text}");
    assert!(sms.received().is_empty(), "no text before the wait");

    // After the wait: a text to Li Lei, the alert as template variables.
    let texts = delivered(&sms, 1, Duration::from_secs(15)).await;
    assert!(started.elapsed() >= Duration::from_secs(2));
    assert_eq!(texts[0].phone.as_deref(), Some(phone(LI).as_str()));
    assert_eq!(texts[0].params["sev"], "P1", "{:?}", texts[0].params);
    assert_eq!(texts[0].params["target"], "payment");
    assert!(
        texts[0].params["name"]
            .as_str()
            .unwrap()
            .starts_with("Payment DB")
    );

    // Then a call, then the backup by SMS and DingTalk.
    let calls = delivered(&voice, 1, Duration::from_secs(15)).await;
    assert_eq!(calls[0].phone.as_deref(), Some(phone(LI).as_str()));
    let texts = delivered(&sms, 2, Duration::from_secs(15)).await;
    assert_eq!(texts[1].phone.as_deref(), Some(phone(HAN).as_str()));
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sms.delivered().len(), 2, "exhausted: nothing more");
    assert_eq!(voice.delivered().len(), 1);

    let trail = events(&app, &id).await;
    let escalated: Vec<(&str, &str)> = trail
        .iter()
        .filter(|e| e["kind"] == "escalated")
        .map(|e| (e["actor"].as_str().unwrap(), e["via"].as_str().unwrap()))
        .collect();
    assert_eq!(
        escalated,
        vec![
            ("Li Lei", "oncall-sms"),
            ("Li Lei", "oncall-voice"),
            ("Han Meimei", "oncall-sms"),
            ("Han Meimei", "ops")
        ],
        "{trail:#?}"
    );
    assert!(trail.iter().any(|e| e["kind"] == "escalation exhausted"));
}

const ONE_SMS_STEP: &str = r#"
[[escalations]]
name = "critical"
[[escalations.steps]]
wait = "2s"
channels = ["oncall-sms"]
notify = ["schedule:primary"]
"#;

#[tokio::test]
async fn an_ack_from_a_dingtalk_command_before_the_wait_means_no_text_at_all() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let app = spawn_app_with(oncall(&format!(
        "{}{}{ROUTE}{ONE_SMS_STEP}",
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms)
    )))
    .await;
    let id = app
        .post_alert(&json!({"title": "Disk full", "severity": "critical"}))
        .await;
    let (ts, sign) = dingtalk_headers(now_secs() * 1000 + 7, DINGTALK_SECRET);
    let r = app
        .post_dingtalk(
            &ts,
            &sign,
            &dingtalk_message("msg-ack-1", &format!("ack {}", &id[..8])),
        )
        .await;
    assert_eq!(r.status(), 200);
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "acknowledged", "{alert}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(sms.received().is_empty(), "{:?}", sms.received());
}

#[tokio::test]
async fn a_resolve_cancels_and_a_silence_pauses_then_resumes() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let app = spawn_app_with(oncall(&format!(
        "{}{}{ROUTE}{ONE_SMS_STEP}",
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms)
    )))
    .await;
    let resolved = app
        .post_alert(&json!({"title": "Queue stuck", "severity": "critical"}))
        .await;
    let silenced = app
        .post_alert(&json!({"title": "Cache cold", "severity": "critical"}))
        .await;
    let r = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{resolved}/resolve"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = app
        .api(
            reqwest::Method::POST,
            &format!("/api/v1/alerts/{silenced}/silence"),
        )
        .json(&json!({"duration": "5s"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let paused_at = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        sms.received().is_empty(),
        "nothing while silenced or resolved"
    );
    let texts = delivered(&sms, 1, Duration::from_secs(15)).await;
    assert!(
        paused_at.elapsed() >= Duration::from_secs(4),
        "only once the silence ended"
    );
    assert_eq!(texts.len(), 1, "the resolved alert never pages");
    let trail = events(&app, &silenced).await;
    assert!(
        trail
            .iter()
            .any(|e| e["kind"] == "escalation paused (silenced)"),
        "{trail:#?}"
    );
}

#[tokio::test]
async fn a_per_number_limit_moves_on_to_the_backup_at_once() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    sms.limit_number(LI, "isv.BUSINESS_LIMIT_CONTROL");
    let app = spawn_app_with(oncall(&format!(
        r#"{}{}{ROUTE}
[[escalations]]
name = "critical"
[[escalations.steps]]
wait = "1s"
channels = ["oncall-sms"]
notify = ["schedule:primary"]
[[escalations.steps]]
wait = "60s"
channels = ["oncall-sms"]
notify = ["schedule:primary:backup"]
"#,
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms)
    )))
    .await;
    let id = app
        .post_alert(&json!({"title": "API 5xx", "severity": "critical"}))
        .await;
    // The backup's text comes long before the 60 s wait.
    let texts = delivered(&sms, 1, Duration::from_secs(20)).await;
    assert_eq!(texts[0].phone.as_deref(), Some(phone(HAN).as_str()));
    let refused: Vec<_> = sms
        .received()
        .into_iter()
        .filter(|r| r.code.as_deref() == Some("isv.BUSINESS_LIMIT_CONTROL"))
        .collect();
    assert_eq!(
        refused.len(),
        1,
        "the limit is not retried into the same wall"
    );
    let trail = events(&app, &id).await;
    assert!(
        trail
            .iter()
            .any(|e| e["kind"].as_str().unwrap().starts_with("page failed")),
        "{trail:#?}"
    );
}

#[tokio::test]
async fn a_storm_of_thirty_critical_alerts_is_one_text_to_the_on_call_person() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let app = spawn_app_with(oncall(&format!(
        "{}{}{ROUTE}{ONE_SMS_STEP}",
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms)
    )))
    .await;
    let storm: Vec<Value> = (0..30)
        .map(|i| json!({"title": format!("node-{i} down"), "severity": "critical"}))
        .collect();
    let r = app.post_alerts(&json!(storm)).await;
    assert_eq!(r.status(), 202);
    let texts = delivered(&sms, 1, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sms.received().len(), 1, "one text, not thirty");
    let name = texts[0].params["name"].as_str().unwrap();
    assert!(name.starts_with("30 alerts"), "{name}");
}

#[tokio::test]
async fn two_replicas_text_once() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let extra = format!(
        "{}{}{ROUTE}{ONE_SMS_STEP}",
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms)
    );
    let first = spawn_app_with(oncall(&extra)).await;
    let second = spawn_replica(&first, oncall(&extra)).await;
    first
        .post_alert(&json!({"title": "Payment DB unreachable", "severity": "critical"}))
        .await;
    delivered(&sms, 1, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sms.received().len(), 1, "one text across replicas");
    drop(second);
}

#[tokio::test]
async fn warnings_never_page_and_a_restart_keeps_the_timer() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let extra = format!(
        r#"{}{}
[[routes]]
channels = ["ops"]
group_wait = "0s"
escalation = "critical"
[[escalations]]
name = "critical"
severities = ["critical"]
[[escalations.steps]]
wait = "3s"
channels = ["oncall-sms"]
notify = ["schedule:primary"]
"#,
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms)
    );
    let app = spawn_app_with(oncall(&extra)).await;
    app.post_alert(&json!({"title": "Latency up", "severity": "warning"}))
        .await;
    app.post_alert(&json!({"title": "Payment down", "severity": "critical"}))
        .await;
    let dir = app.stop().await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(sms.received().is_empty(), "stopped: nothing sent");
    let app = spawn_app_in(dir, oncall(&extra)).await;
    let texts = delivered(&sms, 1, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sms.received().len(), 1, "the critical one, once: {texts:?}");
    assert!(
        texts[0].params["name"]
            .as_str()
            .unwrap()
            .starts_with("Payment")
    );
    drop(app);
}

#[tokio::test]
async fn schedules_say_who_is_on_call_and_an_override_takes_tonight() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let app = spawn_app_with(oncall(&dingtalk(&bot))).await;
    let v = app.get_json("/api/v1/schedules/primary").await;
    assert_eq!(v["on_call"]["person"], "Li Lei", "{v}");
    assert_eq!(v["next"]["person"], "Han Meimei");
    assert_eq!(v["backup"], "Han Meimei");

    let r = app
        .api(reqwest::Method::POST, "/api/v1/schedules/primary/overrides")
        .json(&json!({"person": "Han Meimei", "duration": "12h", "by": "Han Meimei"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let v = app.get_json("/api/v1/schedules/primary").await;
    assert_eq!(v["on_call"]["person"], "Han Meimei", "{v}");
    assert_eq!(v["on_call"]["overridden"], true);
    assert_eq!(v["backup"], "Li Lei");

    let r = app
        .api(reqwest::Method::POST, "/api/v1/schedules/primary/overrides")
        .json(&json!({"person": "Nobody", "duration": "1h"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "invalid").await;
    let r = app
        .api(reqwest::Method::GET, "/api/v1/schedules/nope")
        .send()
        .await
        .unwrap();
    assert_error(r, 404, "not_found").await;

    let (ts, sign) = dingtalk_headers(now_secs() * 1000 + 7, DINGTALK_SECRET);
    let r = app
        .post_dingtalk(
            &ts,
            &sign,
            &dingtalk_message("msg-oncall-1", "oncall primary"),
        )
        .await;
    assert_eq!(r.status(), 200);
    let reply: Value = r.json().await.unwrap();
    let text = reply.to_string();
    assert!(text.contains("Han Meimei is on call"), "{text}");
}

#[tokio::test]
async fn tencent_and_twilio_pages_are_signed_and_accepted_as_the_providers_check_them() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let tencent = MockSms::tencent_sms("AKIDtest", "tencent-secret-key").await;
    let call = MockSms::tencent_voice("AKIDtest", "tencent-secret-key").await;
    let twilio = MockSms::twilio("AC0123456789abcdef0123456789abcdef", "twilio-token").await;
    let app = spawn_app_with(oncall(&format!(
        r#"{}
[[channels]]
name = "tc-sms"
type = "tencent_sms"
secret_id = "AKIDtest"
secret_key = "tencent-secret-key"
sdk_app_id = "1400006666"
sign_name = "ackbot"
template_code = "1110"
api_base = "{}"
[[channels]]
name = "tc-voice"
type = "tencent_voice"
secret_id = "AKIDtest"
secret_key = "tencent-secret-key"
sdk_app_id = "1400006666"
template_code = "2220"
api_base = "{}"
[[channels]]
name = "tw-sms"
type = "twilio_sms"
account_sid = "AC0123456789abcdef0123456789abcdef"
auth_token = "twilio-token"
from = "+15005550006"
api_base = "{}"
{ROUTE}
[[escalations]]
name = "critical"
[[escalations.steps]]
wait = "1s"
channels = ["tc-sms", "tc-voice", "tw-sms"]
notify = ["schedule:primary"]
"#,
        dingtalk(&bot),
        tencent.base(),
        call.base(),
        twilio.base()
    )))
    .await;
    app.post_alert(
        &json!({"title": "Order queue https://x.example/q stuck", "severity": "critical",
        "service": "orders"}),
    )
    .await;
    let sms = delivered(&tencent, 1, Duration::from_secs(15)).await;
    assert_eq!(sms[0].phone.as_deref(), Some(LI));
    assert_eq!(
        sms[0].params,
        json!(["P1", sms[0].params[1].as_str().unwrap()])
    );
    assert!(sms[0].params[1].as_str().unwrap().chars().count() <= 6);
    let voice = delivered(&call, 1, Duration::from_secs(15)).await;
    assert_eq!(voice[0].phone.as_deref(), Some(LI));
    let text = delivered(&twilio, 1, Duration::from_secs(15)).await;
    let body = text[0].params.as_str().unwrap();
    assert!(
        body.starts_with("[ackbot] P1 Order queue stuck (orders)"),
        "{body}"
    );
    assert!(!body.contains("http"), "no links in a page: {body}");
}

#[tokio::test]
async fn killed_during_the_wait_it_texts_exactly_once_after_the_restart() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let dir = tempfile::tempdir().unwrap();
    let extra = oncall_toml(&format!(
        "{}{}{ROUTE}{}",
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms),
        ONE_SMS_STEP.replace("\"2s\"", "\"4s\"")
    ));
    let config = crate::process::config_in(dir.path(), &extra).await;
    let ackbot = crate::process::Ackbot::start(dir.path(), &config, &[]).await;
    let r = ackbot
        .api(reqwest::Method::POST, "/api/v1/alerts")
        .json(&json!({"title": "Payment DB unreachable", "severity": "critical"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    ackbot.kill9().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(sms.received().is_empty(), "dead: nothing sent");
    let _ackbot = crate::process::Ackbot::start(dir.path(), &config, &[]).await;
    delivered(&sms, 1, Duration::from_secs(20)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sms.received().len(), 1, "once: {}", sms.summary());
}

#[tokio::test]
async fn an_expired_acknowledgement_starts_the_chain_over() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let tweak = oncall(&format!(
        "{}{}{ROUTE}{ONE_SMS_STEP}",
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms)
    ));
    // Below the 1m a config may set, to see it expire within the test.
    let app = spawn_app_with(move |c| {
        tweak(c);
        c.alerts.ack_ttl = Duration::from_secs(2);
    })
    .await;
    let id = app
        .post_alert(&json!({"title": "Disk full", "severity": "critical"}))
        .await;
    let r = app
        .api(reqwest::Method::POST, &format!("/api/v1/alerts/{id}/ack"))
        .json(&json!({"by": "Li Lei"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Expires at 2 s, then the chain waits its 2 s again.
    let started = std::time::Instant::now();
    delivered(&sms, 1, Duration::from_secs(20)).await;
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let alert = app.get_json(&format!("/api/v1/alerts/{id}")).await;
    assert_eq!(alert["state"], "firing", "{alert}");
    let trail = events(&app, &id).await;
    assert!(
        trail
            .iter()
            .any(|e| e["kind"] == "unacknowledged" && e["via"] == "ack_ttl"),
        "{trail:#?}"
    );
}

#[tokio::test]
async fn an_alert_can_opt_out_or_shorten_its_first_wait() {
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let app = spawn_app_with(oncall(&format!(
        r#"{}{}{ROUTE}
[[escalations]]
name = "critical"
[[escalations.steps]]
wait = "1h"
channels = ["oncall-sms"]
notify = ["schedule:primary"]
"#,
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms)
    )))
    .await;
    app.post_alert(&json!({"title": "Quiet please", "severity": "critical",
        "annotations": {"escalation": "off", "escalation_wait": "1s"}}))
        .await;
    app.post_alert(&json!({"title": "Page me now", "severity": "critical",
        "annotations": {"escalation_wait": "1s"}}))
        .await;
    let texts = delivered(&sms, 1, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sms.received().len(), 1, "{}", sms.summary());
    assert!(
        texts[0].params["name"]
            .as_str()
            .unwrap()
            .starts_with("Page me")
    );
}

/// `X-Twilio-Signature` as Twilio computes it (sms.md §4.4): the URL, then
/// each parameter's name and value in name order, HMAC-SHA1, base64.
fn twilio_sign(token: &str, url: &str, params: &[(&str, &str)]) -> String {
    use base64::Engine as _;
    use hmac::Mac;
    let mut sorted = params.to_vec();
    sorted.sort();
    let mut s = url.to_string();
    for (k, v) in sorted {
        s.push_str(k);
        s.push_str(v);
    }
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(s.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[tokio::test]
async fn an_unanswered_twilio_call_escalates_at_once_and_its_callback_counts_once() {
    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "twilio-token";
    const PUBLIC: &str = "https://ackbot.example.com";
    let bot = MockBot::dingtalk_bot("dingtalk-bot-secret").await;
    let twilio = MockSms::twilio(SID, TOKEN).await;
    let sms = MockSms::aliyun_sms(AK.0, AK.1).await;
    let tweak = oncall(&format!(
        r#"{}{}
[[channels]]
name = "tw-voice"
type = "twilio_voice"
account_sid = "{SID}"
auth_token = "{TOKEN}"
from = "+15005550006"
api_base = "{}"
{ROUTE}
[[escalations]]
name = "critical"
[[escalations.steps]]
wait = "1s"
channels = ["tw-voice"]
notify = ["schedule:primary"]
[[escalations.steps]]
wait = "60s"
channels = ["oncall-sms"]
notify = ["schedule:primary:backup"]
"#,
        dingtalk(&bot),
        aliyun("oncall-sms", "aliyun_sms", &sms),
        twilio.base()
    ));
    let app = spawn_app_with(move |c| {
        tweak(c);
        c.server.public_url = Some(PUBLIC.into());
    })
    .await;
    let id = app
        .post_alert(&json!({"title": "Payment DB unreachable", "severity": "critical"}))
        .await;
    let calls = delivered(&twilio, 1, Duration::from_secs(15)).await;
    let callback = calls[0]
        .param("StatusCallback")
        .expect("a status callback URL");
    assert!(
        callback.starts_with(&format!(
            "{PUBLIC}/twilio/status?channel=tw-voice&alerts={id}"
        )),
        "{callback}"
    );
    let path = callback.strip_prefix(PUBLIC).unwrap().to_string();
    let form = [
        ("AccountSid", SID),
        ("CallSid", "CA0123456789abcdef0123456789abcdef"),
        ("CallStatus", "no-answer"),
        ("To", LI),
    ];
    let body: String = form
        .iter()
        .map(|(k, v)| format!("{k}={}", percent(v)))
        .collect::<Vec<_>>()
        .join("&");
    let post = |signature: String| {
        app.client
            .post(app.url(&path))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .header("X-Twilio-Signature", signature)
            .body(body.clone())
            .send()
    };
    // Forged: refused, and the chain still waits.
    let r = post(twilio_sign("not-the-token", &callback, &form))
        .await
        .unwrap();
    assert_error(r, 401, "unauthorized").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(sms.received().is_empty());
    // Genuine: the backup is texted long before the 60 s wait.
    let r = post(twilio_sign(TOKEN, &callback, &form)).await.unwrap();
    assert_eq!(r.status(), 204);
    let texts = delivered(&sms, 1, Duration::from_secs(15)).await;
    assert_eq!(texts[0].phone.as_deref(), Some(phone(HAN).as_str()));
    // The same callback again is remembered: nothing more happens.
    let r = post(twilio_sign(TOKEN, &callback, &form)).await.unwrap();
    assert_eq!(r.status(), 204);
    let trail = events(&app, &id).await;
    let noted = trail
        .iter()
        .filter(|e| {
            e["kind"]
                .as_str()
                .unwrap()
                .starts_with("page not answered: no-answer")
        })
        .count();
    assert_eq!(noted, 1, "{trail:#?}");
}
