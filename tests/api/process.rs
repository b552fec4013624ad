//! The real `ackbot serve` binary as a child process, for what only a
//! process can show: signals (SIGTERM, SIGHUP), `kill -9` at an injected
//! crash point, and restarts on the same storage.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{API_TOKEN, client_trusting, storage_url};

pub struct Ackbot {
    child: Child,
    pub port: u16,
    pub client: reqwest::Client,
    log: PathBuf,
}

/// The config a spawned server runs with: the test API token, storage in
/// (or for) `dir`, a random port, and `extra` appended.
pub async fn config_in(dir: &Path, extra: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\ngenerated_cert_dir = \"{certs}\"\nworkers = 1\n\n\
         [storage]\nurl = \"{db}\"\n\n[api]\ntokens = [\"{API_TOKEN}\"]\n\n{extra}\n",
        certs = dir.join("certs").display(),
        db = storage_url(dir).await,
    )
}

impl Ackbot {
    /// Writes `config` to `dir/ackbot.toml` and starts `ackbot serve` on it
    /// with `env`; returns once it listens.
    pub async fn start(dir: &Path, config: &str, env: &[(&str, &str)]) -> Self {
        let path = dir.join("ackbot.toml");
        std::fs::write(&path, config).unwrap();
        let n = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().starts_with("serve-"))
            })
            .count();
        let log = dir.join(format!("serve-{n}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_ackbot"))
            .args(["serve", "--config"])
            .arg(&path)
            .current_dir(dir)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        let port = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(port) = text
                .lines()
                .find(|l| l.contains("ackbot listening"))
                .and_then(|l| l.split("port=").nth(1))
                .and_then(|p| p.split_whitespace().next())
                .and_then(|p| p.parse::<u16>().ok())
            {
                break port;
            }
            assert!(Instant::now() < deadline, "ackbot did not start:\n{text}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        let client = client_trusting(&dir.join("certs/server.crt"));
        Self {
            child,
            port,
            client,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.port)
    }

    pub fn api(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .bearer_auth(API_TOKEN)
    }

    /// GET of an API path, expecting 200.
    pub async fn get_json(&self, path: &str) -> serde_json::Value {
        let res = self.api(reqwest::Method::GET, path).send().await.unwrap();
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.unwrap()
    }

    /// Presses a signed link's button as `name`.
    pub async fn press(&self, token: &str, name: &str) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(self.url(&format!("/a/{token}")))
            .form(&[("name", name)])
            .send()
            .await
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    pub fn hup(&self) {
        self.signal("HUP");
    }

    /// Sends SIGTERM and waits for the exit; returns how long it took and
    /// the exit code.
    pub async fn term(mut self) -> (Duration, Option<i32>) {
        let started = Instant::now();
        self.signal("TERM");
        let code = self.wait(Duration::from_secs(40)).await;
        (started.elapsed(), code)
    }

    /// `kill -9`.
    pub async fn kill9(mut self) {
        self.child.kill().unwrap();
        self.wait(Duration::from_secs(10)).await;
    }

    /// Waits for the process to end by itself (a crash point, a fatal error).
    pub async fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            assert!(
                Instant::now() < deadline,
                "ackbot still running after {limit:?}:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Ackbot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
