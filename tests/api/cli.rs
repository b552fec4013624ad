//! The `ackbot` binary's `check-config` and `send`: exit codes and what they print.

use std::process::Command;

fn check_config(toml: &str, env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ackbot.toml");
    std::fs::write(&path, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_ackbot"))
        .args(["check-config", "--config"])
        .arg(&path)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn a_valid_config_is_printed_with_secrets_masked() {
    let toml = "[feishu]\nverification_token = \"${ACKBOT_TEST_TOKEN}\"\nencrypt_key = \"literal-encrypt-key\"\n";
    let (code, out, _) = check_config(toml, &[("ACKBOT_TEST_TOKEN", "token-from-the-environment")]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("[feishu]") && out.contains("********"),
        "{out}"
    );
    assert!(
        !out.contains("token-from-the-environment") && !out.contains("literal-encrypt-key"),
        "{out}"
    );
    assert!(
        out.contains("listen = \"0.0.0.0:8443\""),
        "defaults are shown: {out}"
    );
}

#[test]
fn errors_exit_non_zero_and_say_what_to_fix() {
    let cases = [
        (
            "[feishu]\nverification_token = \"${ACKBOT_SURELY_UNSET_VAR}\"\n",
            "ACKBOT_SURELY_UNSET_VAR",
        ),
        ("[server]\nlisen = \"0.0.0.0:1\"\n", "lisen"),
        (
            "[wecom]\ntoken = \"t\"\nencoding_aes_key = \"abc\"\n",
            "wecom.encoding_aes_key",
        ),
        ("this is not toml", "not valid TOML"),
    ];
    for (toml, needle) in cases {
        let (code, _, err) = check_config(toml, &[]);
        assert_eq!(code, 2, "{toml}");
        assert!(err.contains(needle), "{toml} -> {err}");
    }
}

#[test]
fn a_missing_config_file_is_an_error() {
    let out = Command::new(env!("CARGO_BIN_EXE_ackbot"))
        .args(["check-config", "--config", "/nonexistent/ackbot.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/ackbot.toml"));
}

#[test]
fn the_example_config_is_valid() {
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/ackbot.example.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_ackbot"))
        .args(["check-config", "--config", example])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `ackbot send` with a config (the mock must keep running: the command
/// is run on a blocking thread while the test's runtime serves the mock).
async fn send(toml: String, args: &[&str]) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ackbot.toml");
        std::fs::write(&path, toml).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ackbot"))
            .arg("send")
            .arg("--config")
            .arg(&path)
            .args(&args)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn send_delivers_one_test_alert_and_prints_the_platform_answer() {
    let mock = crate::mockbot::MockBot::dingtalk_bot("SECsend-secret").await;
    let toml = format!(
        "[[channels]]\nname = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{}\"\nsecret = \"SECsend-secret\"\n",
        mock.url()
    );
    let (code, out, err) = send(
        toml.clone(),
        &[
            "--channel",
            "dd",
            "--title",
            "hello from ackbot",
            "--severity",
            "warning",
        ],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("\"errcode\":0"),
        "prints DingTalk's answer: {out}"
    );
    let got = mock.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].verified);
    assert!(got[0].body.to_string().contains("hello from ackbot"));

    // A refusal is reported with the platform's words and a failing status.
    let wrong = toml.replace("SECsend-secret\"", "SECwrong\"");
    let (code, _, err) = send(wrong, &["--channel", "dd"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("refused") && err.contains("310000"), "{err}");

    let (code, _, err) = send(toml, &["--channel", "nope"]).await;
    assert_eq!(code, 2);
    assert!(
        err.contains("no channel named `nope`") && err.contains("dd"),
        "{err}"
    );
}

#[tokio::test]
async fn send_needs_only_what_its_channel_uses() {
    let mock = crate::mockbot::MockBot::webhook(None).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ackbot.toml");
    // Variables only `serve` uses are not set: `send` must not need them.
    let toml = format!(
        "[api]\ntokens = [\"${{ACKBOT_SURELY_UNSET_TOKEN}}\"]\n\n[storage]\nurl = \"${{ACKBOT_SURELY_UNSET_DB}}\"\n\n\
         [dingtalk]\napp_secret = \"${{ACKBOT_SURELY_UNSET_SECRET}}\"\n\n\
         [[channels]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"{}\"\n\n\
         [[channels]]\nname = \"other\"\ntype = \"webhook\"\nurl = \"${{ACKBOT_SURELY_UNSET_URL}}\"\n",
        mock.url()
    );
    std::fs::write(&path, toml).unwrap();
    let send = |channel: &'static str| {
        let path = path.clone();
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_ackbot"))
                .args(["send", "--channel", channel, "--config"])
                .arg(&path)
                .output()
                .unwrap()
        })
    };
    let out = send("hook").await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(mock.received().len(), 1);
    let out = send("nope").await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("configured: hook, other"), "{err}");
}

#[tokio::test]
async fn send_pages_a_person_through_an_sms_channel_and_prints_the_provider_answer() {
    let mock = crate::mocksms::MockSms::aliyun_sms("send-ak", "send-sk").await;
    let toml = format!(
        "[[people]]\nname = \"Li Lei\"\nphone = \"+8613800000001\"\n\
         [[channels]]\nname = \"oncall-sms\"\ntype = \"aliyun_sms\"\naccess_key_id = \"send-ak\"\n\
         access_key_secret = \"send-sk\"\nsign_name = \"ackbot\"\ntemplate_code = \"SMS_1\"\napi_base = \"{}\"\n",
        mock.base()
    );
    let (code, out, err) = send(toml.clone(), &["--channel", "oncall-sms", "--to", "Li Lei"]).await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("\"Code\":\"OK\""),
        "prints Alibaba's answer: {out}"
    );
    let got = mock.delivered();
    assert_eq!(got.len(), 1, "{}", mock.summary());
    assert_eq!(got[0].phone.as_deref(), Some("8613800000001"));

    let (code, _, err) = send(toml.clone(), &["--channel", "oncall-sms"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("--to"), "{err}");

    mock.limit_number("+8613800000001", "isv.BUSINESS_LIMIT_CONTROL");
    let (code, _, err) = send(toml, &["--channel", "oncall-sms", "--to", "+8613800000001"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("isv.BUSINESS_LIMIT_CONTROL"), "{err}");
}

/// Runs a client command against `app` (blocking thread: the test's runtime
/// keeps serving). Returns exit code, stdout, stderr.
async fn client(
    app: &crate::helpers::TestApp,
    token: &str,
    args: &[&str],
) -> (i32, String, String) {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let url = app.address.clone();
    let cert = app.dir.path().join("certs/server.crt");
    let token = token.to_string();
    tokio::task::spawn_blocking(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_ackbot"))
            .args(&args)
            .arg("--cacert")
            .arg(&cert)
            .env("ACKBOT_URL", url)
            .env("ACKBOT_API_TOKEN", token)
            .output()
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn the_client_commands_list_act_silence_and_retry_like_the_api() {
    use crate::helpers::API_TOKEN;
    let app = crate::helpers::spawn_app().await;
    let id = app
        .post_alert(
            &serde_json::json!({"title": "Payment DB unreachable", "severity": "critical",
            "service": "payment", "labels": {"team": "db"}}),
        )
        .await;

    let (code, out, err) = client(&app, API_TOKEN, &["alerts", "list"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("ID "), "{out}");
    assert!(
        out.contains(&id) && out.contains("firing") && out.contains("Payment DB unreachable"),
        "{out}"
    );

    let (code, out, _) = client(&app, API_TOKEN, &["alerts", "ack", &id, "--by", "Li Lei"]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains("acknowledged") && out.contains("Li Lei"),
        "{out}"
    );
    let (code, out, _) = client(&app, API_TOKEN, &["alerts", "ack", &id]).await;
    assert_eq!(code, 0);
    assert!(out.contains("(unchanged)"), "{out}");

    let (code, out, _) = client(
        &app,
        API_TOKEN,
        &["alerts", "show", &id, "--output", "json"],
    )
    .await;
    assert_eq!(code, 0);
    let shown: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(shown["acked_by"], "Li Lei");
    assert!(shown["deliveries"].is_array());
    let (code, out, _) = client(&app, API_TOKEN, &["deliveries", "list", &id]).await;
    assert_eq!(code, 0);
    assert!(out.starts_with("DELIVERY"), "{out}");

    let (code, out, err) = client(
        &app,
        API_TOKEN,
        &[
            "silence",
            "add",
            "team=\"db\"",
            "--duration",
            "2h",
            "--comment",
            "maintenance",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("active") && out.contains("team=\"db\""),
        "{out}"
    );
    let silence_id = out
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    // The server's match-everything refusal reaches the user as it is.
    let (code, _, err) = client(&app, API_TOKEN, &["silence", "add", "team!=\"x\""]).await;
    assert_eq!(code, 1);
    assert!(err.contains("refused (400"), "{err}");
    let (code, out, _) = client(&app, API_TOKEN, &["silence", "list", "-o", "json"]).await;
    assert_eq!(code, 0);
    let listed: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(listed["silences"].as_array().unwrap().len(), 1);
    let (code, out, _) = client(&app, API_TOKEN, &["silence", "expire", &silence_id]).await;
    assert_eq!(code, 0);
    assert!(out.contains("expired"), "{out}");

    let (code, out, _) = client(&app, API_TOKEN, &["alerts", "resolve", &id]).await;
    assert_eq!(code, 0);
    assert!(out.contains("resolved"), "{out}");
    let (code, _, err) = client(&app, API_TOKEN, &["deliveries", "retry", &id, "999999"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("404"), "{err}");
    let (code, _, err) = client(&app, API_TOKEN, &["deliveries", "retry"]).await;
    assert_eq!(code, 2, "{err}");

    // A wrong token, an unknown alert, no server at all.
    let (code, _, err) = client(&app, "not-a-token", &["alerts", "list"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("401"), "{err}");
    let (code, _, err) = client(&app, API_TOKEN, &["alerts", "show", "nope"]).await;
    assert_eq!(code, 1);
    assert!(err.contains("404") && err.contains("not_found"), "{err}");
    let out = Command::new(env!("CARGO_BIN_EXE_ackbot"))
        .args(["alerts", "list", "--url", "https://127.0.0.1:1"])
        .env("ACKBOT_API_TOKEN", API_TOKEN)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach"));
}

#[test]
fn completions_are_generated_for_the_usual_shells() {
    for shell in ["bash", "zsh", "fish"] {
        let out = Command::new(env!("CARGO_BIN_EXE_ackbot"))
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("silence") && text.contains("deliveries"),
            "{shell}: {text}"
        );
    }
}

/// The shipped unit passes `systemd-analyze verify` (with `ExecStart`
/// pointing at this build's binary, since /usr/bin/ackbot is not installed
/// here). Skipped where systemd-analyze is missing.
#[test]
fn the_systemd_unit_verifies() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("systemd-analyze not installed: unit not checked");
        return;
    }
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/ackbot.service"
    ))
    .unwrap();
    assert!(unit.contains("ExecStart=/usr/bin/ackbot serve"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ackbot.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/ackbot", env!("CARGO_BIN_EXE_ackbot")),
    )
    .unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn serve_with_a_state_dir_keeps_data_and_certs_there() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config = dir.path().join("ackbot.toml");
    std::fs::write(
        &config,
        "[server]\nlisten = \"127.0.0.1:0\"\nworkers = 1\n[api]\ntokens = [\"state-dir-token-0123456789\"]\n",
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ackbot"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--state-dir")
        .arg(&state)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !(state.join("certs/server.crt").exists() && state.join("data/ackbot.db").exists()) {
        assert!(
            std::time::Instant::now() < deadline,
            "no data/ and certs/ in the state directory"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !dir.path().join("data").exists(),
        "nothing next to the config"
    );
}

#[test]
fn hash_password_prints_an_argon2id_hash_of_its_input() {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ackbot"))
        .arg("hash-password")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let hash = String::from_utf8(out.stdout).unwrap();
    let hash = hash.trim();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(ackbot::config::ui::verify_password("correct horse", hash));
    assert!(!ackbot::config::ui::verify_password(
        "correct horse\n",
        hash
    ));
}

#[test]
fn render_prints_the_card_a_channel_would_send_in_its_language_and_zone() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("ackbot.toml");
    std::fs::write(
        &config,
        "[cards]\nlocale = \"zh-CN\"\ntimezone = \"Asia/Shanghai\"\n\n[[channels]]\nname = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"https://oapi.dingtalk.com/robot/send?access_token=x\"\nsecret = \"SECx\"\n",
    )
    .unwrap();
    let alert = dir.path().join("alert.json");
    std::fs::write(
        &alert,
        r#"{"title": "DB <primary> down", "severity": "critical", "service": "payment",
            "labels": {"team": "db"}, "annotations": {"runbook_url": "https://runbooks.example.com/db"}}"#,
    )
    .unwrap();
    let run = |channel: &str| {
        Command::new(env!("CARGO_BIN_EXE_ackbot"))
            .arg("render")
            .arg("--config")
            .arg(&config)
            .args(["--channel", channel, "--alert"])
            .arg(&alert)
            .output()
            .unwrap()
    };
    let out = run("dd");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(
        text.contains("DB &#60;primary&#62; down"),
        "escaped: {text}"
    );
    assert!(
        text.contains("级别") && text.contains("处理手册") && text.contains(" CST"),
        "{text}"
    );
    // Not an alert, an unknown channel: exit 2 with the reason.
    std::fs::write(&alert, r#"{"titel": "x"}"#).unwrap();
    let out = run("dd");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an alert"));
    let out = run("nope");
    assert_eq!(out.status.code(), Some(2));
}

#[tokio::test]
async fn a_channels_template_shapes_its_cards_and_a_bad_one_refuses_the_config() {
    let mock = crate::mockbot::MockBot::dingtalk_bot("SECtpl").await;
    let url = mock.url();
    let app = crate::helpers::spawn_app_with(move |c| {
        c.channels = vec![crate::helpers::channel(&format!(
            "name = \"dd\"\ntype = \"dingtalk_bot\"\nurl = \"{url}\"\nsecret = \"SECtpl\"\nrate_per_minute = 0\ntitle_template = '[{{{{ status | upper }}}}] {{{{ labels.alertname }}}} on {{{{ labels.instance }}}}'\nbody_template = '{{{{ annotations.summary }}}} (runbook: {{{{ annotations.runbook_url }}}})'"
        ))];
        c.validate().unwrap();
    })
    .await;
    app.post_alert(&serde_json::json!({
        "title": "ignored", "severity": "critical",
        "labels": {"alertname": "NodeDown", "instance": "db-1"},
        "annotations": {"summary": "db-1 <unreachable>", "runbook_url": "https://runbooks.example.com/node"}
    }))
    .await;
    let got = mock.wait_for(1, std::time::Duration::from_secs(10)).await[0]
        .body
        .to_string();
    assert!(got.contains("[FIRING] NodeDown on db-1"), "{got}");
    assert!(
        got.contains(
            "db-1 &#60;unreachable&#62; &#40;runbook: https://runbooks.example.com/node&#41;"
        ),
        "escaped: {got}"
    );
    // An unknown name is refused with the template and the line.
    let bad = ackbot::config::Config {
        channels: vec![crate::helpers::channel(
            "name = \"x\"\ntype = \"webhook\"\nurl = \"https://example.com\"\nbody_template = \"ok\\n{{ lables.team }}\"",
        )],
        ..Default::default()
    };
    let e = bad.validate().unwrap_err().to_string();
    assert!(
        e.contains("channel `x` body_template line 2") && e.contains("undefined"),
        "{e}"
    );
}
