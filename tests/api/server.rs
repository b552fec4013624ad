use ackbot::config::Config;
use ackbot::startup::Application;

use crate::helpers::*;

#[tokio::test]
async fn healthz_answers_over_tls_with_a_request_id() {
    let app = spawn_app().await;
    assert!(app.address.starts_with("https://"));
    let res = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let id = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let other = app.client.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(other.status(), 200);
    assert_ne!(
        other.headers()["x-request-id"].to_str().unwrap(),
        id,
        "one id per request"
    );
}

#[tokio::test]
async fn plain_http_to_the_tls_port_gets_no_answer() {
    let app = spawn_app().await;
    let plain = app.address.replace("https://", "http://");
    let res = reqwest::Client::new()
        .get(format!("{plain}/healthz"))
        .send()
        .await;
    assert!(res.is_err() || !res.unwrap().status().is_success());
}

#[tokio::test]
async fn the_generated_certificate_is_reused_on_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut c = Config::from_toml(&test_config_toml(dir.path()), "test", &|_| None).unwrap();
        c.server.listen = "127.0.0.1:0".into();
        c
    };
    let cert = dir.path().join("certs/server.crt");
    let first_app = Application::build(config()).await.unwrap();
    let first = std::fs::read(&cert).unwrap();
    drop(first_app);
    let second_app = Application::build(config()).await.unwrap();
    assert_eq!(std::fs::read(&cert).unwrap(), first);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("certs/server.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "private key readable by others: {mode:o}");
    }
    // The certificate is valid for 127.0.0.1 (the client trusts only it).
    let port = second_app.port();
    tokio::spawn(second_app.run_until_stopped());
    let client = client_trusting(&cert);
    let res = client
        .get(format!("https://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(format!("https://localhost:{port}/healthz"))
        .send()
        .await;
    // localhost may resolve to ::1 first, where nothing listens; when it connects, TLS must verify.
    if let Ok(res) = res {
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn a_configured_certificate_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let generated = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let (cert, key) = (dir.path().join("my.crt"), dir.path().join("my.key"));
    std::fs::write(&cert, generated.cert.pem()).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    let app = spawn_app_with(|c| {
        c.server.tls_cert = Some(cert.clone());
        c.server.tls_key = Some(key.clone());
    })
    .await;
    assert!(
        !app.dir.path().join("certs/server.crt").exists(),
        "nothing generated"
    );
    let res = client_trusting(&cert)
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn insecure_http_serves_plain_http() {
    let app = spawn_app_with(|c| c.server.insecure_http = true).await;
    assert!(app.address.starts_with("http://"));
    let res = reqwest::Client::new()
        .get(app.url("/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

#[tokio::test]
async fn unknown_paths_methods_and_unconfigured_platforms_get_json_errors() {
    let app = spawn_app_with(|c| {
        c.dingtalk = None;
        c.wecom = None;
        c.feishu = None;
    })
    .await;
    assert_error(
        app.client.get(app.url("/nope")).send().await.unwrap(),
        404,
        "not_found",
    )
    .await;
    assert_error(
        app.client
            .get(app.url("/feishu/events"))
            .send()
            .await
            .unwrap(),
        405,
        "method_not_allowed",
    )
    .await;
    for path in [
        "/feishu/events",
        "/feishu/card",
        "/dingtalk/robot",
        "/wecom/callback",
    ] {
        assert_error(app.post_unsigned(path, "{}").await, 404, "not_configured").await;
    }
}
