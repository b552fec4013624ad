//! `[ci]`: the CI/CD senders whose webhooks ackbot accepts (several of each,
//! every one named, so that an alert says which GitLab it came from) and the
//! `[[ci.rules]]` that turn failure streaks into alerts
//! (`../shared/spec/cicd.md`).

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, invalid, non_empty};
use crate::domain::{Matcher, Severity};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CiConfig {
    /// GitHub repository or organisation webhooks (`POST /ci/github`).
    #[serde(default)]
    pub github: Vec<GithubSource>,
    /// GitLab project or group webhooks (`POST /ci/gitlab`).
    #[serde(default)]
    pub gitlab: Vec<GitlabSource>,
    /// Gitee webhooks and Gitee Go pipeline notifications (`POST /ci/gitee`).
    #[serde(default)]
    pub gitee: Vec<GiteeSource>,
    /// Gitea and Forgejo webhooks (`POST /ci/gitea`).
    #[serde(default)]
    pub gitea: Vec<GiteaSource>,
    /// Jenkins Notification plugin pushes (`POST /ci/jenkins`).
    #[serde(default)]
    pub jenkins: Vec<JenkinsSource>,
    /// Which failure streaks alert, after how many runs, how loud; first
    /// match wins. No match: [`CiRule::default`].
    #[serde(default)]
    pub rules: Vec<CiRule>,
    /// Pipeline series `/metrics` shows at most; results of further series
    /// still alert, and are counted in `ackbot_ci_series_overflow_total`.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
}

impl Default for CiConfig {
    fn default() -> Self {
        Self {
            github: Vec::new(),
            gitlab: Vec::new(),
            gitee: Vec::new(),
            gitea: Vec::new(),
            jenkins: Vec::new(),
            rules: Vec::new(),
            max_series: default_max_series(),
        }
    }
}

fn default_max_series() -> usize {
    1000
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GithubSource {
    pub name: String,
    /// The webhook secret: `X-Hub-Signature-256` must be its HMAC of the body.
    pub secret: Secret,
    /// Also accept a delivery signed only with the legacy SHA-1
    /// `X-Hub-Signature` (off: GitHub sends both; SHA-1 is for old proxies).
    #[serde(default)]
    pub accept_sha1: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GitlabSource {
    pub name: String,
    /// The hook's secret token (`X-Gitlab-Token`, sent in clear text).
    pub token: Option<Secret>,
    /// The hook's signing token (`whsec_…`, Standard Webhooks). When set,
    /// every delivery must carry a valid `webhook-signature`.
    pub signing_token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GiteeMode {
    /// 签名密钥: `X-Gitee-Token` is a signature of `X-Gitee-Timestamp`.
    Signature,
    /// WebHook 密码: `X-Gitee-Token` is the password itself.
    Password,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GiteeSource {
    pub name: String,
    pub secret: Secret,
    #[serde(default = "default_gitee_mode")]
    pub mode: GiteeMode,
}

fn default_gitee_mode() -> GiteeMode {
    GiteeMode::Signature
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GiteaSource {
    pub name: String,
    /// `X-Gitea-Signature` / `X-Forgejo-Signature` must be its HMAC of the body.
    pub secret: Secret,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JenkinsSource {
    pub name: String,
    /// The user of the Notification plugin's URL (`https://ackbot:<password>@…`).
    #[serde(default = "default_push_user")]
    pub push_user: String,
    /// The password of that URL: pushes to `/ci/jenkins` need
    /// `Authorization: Basic` with these two.
    pub push_password: Option<Secret>,
    /// Poll this Jenkins (its root URL, e.g. `https://ci.example.com/`)
    /// for the `jobs` below; with `user` and `api_token`.
    pub url: Option<String>,
    pub user: Option<String>,
    pub api_token: Option<Secret>,
    /// Jobs to poll: `deploy-prod`, folders as `backend/api`, and
    /// `backend/*` for every job under a folder (folders and multibranch
    /// projects inside it too).
    #[serde(default)]
    pub jobs: Vec<String>,
    #[serde(default = "default_poll_interval", with = "super::duration")]
    pub interval: std::time::Duration,
    /// Jenkins not answering for this long is an alert of its own.
    #[serde(default = "default_unreachable_after", with = "super::duration")]
    pub unreachable_after: std::time::Duration,
    /// Builds of one job read at most per poll when catching up on builds
    /// missed while ackbot was stopped (older ones are skipped).
    #[serde(default = "default_catch_up")]
    pub catch_up: u32,
}

impl JenkinsSource {
    /// Whether this source is polled (it has a `url`).
    pub fn polled(&self) -> bool {
        self.url.is_some()
    }
}

fn default_poll_interval() -> std::time::Duration {
    std::time::Duration::from_secs(30)
}

fn default_unreachable_after() -> std::time::Duration {
    std::time::Duration::from_secs(300)
}

fn default_catch_up() -> u32 {
    20
}

fn default_push_user() -> String {
    "ackbot".into()
}

/// How a failure streak alerts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CiRule {
    /// Matchers on `ci_system`, `ci_source`, `project`, `pipeline`, `ref`;
    /// empty matches every series.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    /// Failed runs in a row that fire the alert.
    #[serde(default = "default_failures")]
    pub consecutive_failures: u32,
    /// `critical`, `error`, `warning`, `info`, or `ignore` (no alert).
    #[serde(default = "default_severity")]
    pub severity: String,
    /// Cancelled runs (GitHub `cancelled`, GitLab `canceled`, Jenkins
    /// `ABORTED`) count as failures; otherwise they change nothing.
    #[serde(default)]
    pub count_cancelled: bool,
    /// Timed-out runs (GitHub `timed_out`) count as failures.
    #[serde(default = "yes")]
    pub count_timed_out: bool,
    /// Jenkins `UNSTABLE` (tests failed) counts as a failure.
    #[serde(default)]
    pub count_unstable: bool,
}

impl Default for CiRule {
    fn default() -> Self {
        Self {
            matchers: Vec::new(),
            consecutive_failures: default_failures(),
            severity: default_severity(),
            count_cancelled: false,
            count_timed_out: true,
            count_unstable: false,
        }
    }
}

impl CiRule {
    /// The severity of the alert; `None` for `ignore`.
    pub fn alert_severity(&self) -> Option<Severity> {
        if self.severity.eq_ignore_ascii_case("ignore") {
            None
        } else {
            Severity::parse("severity", &self.severity).ok()
        }
    }
}

fn default_failures() -> u32 {
    2
}

fn default_severity() -> String {
    "error".into()
}

fn yes() -> bool {
    true
}

impl CiConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        let mut unique = |system: &str, name: &str, key: &'static str| {
            if name.is_empty()
                || name.len() > 64
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            {
                return Err(invalid(
                    key,
                    format!("`{name}` must be 1 to 64 letters, digits, `-`, `_` or `.`"),
                ));
            }
            if !names.insert((system.to_string(), name.to_string())) {
                return Err(invalid(key, format!("two sources are named `{name}`")));
            }
            Ok(())
        };
        for s in &self.github {
            unique("github", &s.name, "ci.github.name")?;
            non_empty(&s.secret, "ci.github.secret")?;
        }
        for s in &self.gitlab {
            unique("gitlab", &s.name, "ci.gitlab.name")?;
            match (&s.token, &s.signing_token) {
                (None, None) => {
                    return Err(invalid(
                        "ci.gitlab.token",
                        format!(
                            "source `{}` needs a token, a signing_token, or both",
                            s.name
                        ),
                    ));
                }
                (t, k) => {
                    if let Some(t) = t {
                        non_empty(t, "ci.gitlab.token")?;
                    }
                    if let Some(k) = k {
                        crate::verify::ci::SigningKey::from_token(k.expose()).map_err(|_| {
                            invalid(
                                "ci.gitlab.signing_token",
                                "must be `whsec_` and the base64 of 32 bytes, as GitLab shows it",
                            )
                        })?;
                    }
                }
            }
        }
        for s in &self.gitee {
            unique("gitee", &s.name, "ci.gitee.name")?;
            non_empty(&s.secret, "ci.gitee.secret")?;
        }
        for s in &self.gitea {
            unique("gitea", &s.name, "ci.gitea.name")?;
            non_empty(&s.secret, "ci.gitea.secret")?;
        }
        for s in &self.jenkins {
            unique("jenkins", &s.name, "ci.jenkins.name")?;
            match (&s.push_password, &s.url) {
                (Some(p), _) => non_empty(p, "ci.jenkins.push_password")?,
                (None, Some(_)) => {}
                (None, None) => {
                    return Err(invalid(
                        "ci.jenkins.url",
                        format!(
                            "source `{}` needs a url (to poll Jenkins), a push_password (for the Notification plugin), or both",
                            s.name
                        ),
                    ));
                }
            }
            if let Some(url) = &s.url {
                let parsed = reqwest::Url::parse(url)
                    .map_err(|e| invalid("ci.jenkins.url", format!("`{url}` is not a URL: {e}")))?;
                if !matches!(parsed.scheme(), "http" | "https")
                    || !parsed.username().is_empty()
                    || parsed.password().is_some()
                {
                    return Err(invalid(
                        "ci.jenkins.url",
                        "must be http(s) without credentials (they go in user and api_token)",
                    ));
                }
                if s.jobs.is_empty() {
                    return Err(invalid(
                        "ci.jenkins.jobs",
                        format!(
                            "source `{}` polls no job: list jobs, e.g. [\"backend/*\"]",
                            s.name
                        ),
                    ));
                }
                for j in &s.jobs {
                    if j.is_empty() || j.split('/').any(str::is_empty) || j.contains("..") {
                        return Err(invalid(
                            "ci.jenkins.jobs",
                            format!("`{j}` is not a job path like `folder/job` or `folder/*`"),
                        ));
                    }
                }
                if s.user.is_some() != s.api_token.is_some() {
                    return Err(invalid(
                        "ci.jenkins.api_token",
                        "user and api_token go together",
                    ));
                }
                if s.interval < std::time::Duration::from_secs(1) {
                    return Err(invalid("ci.jenkins.interval", "must be at least 1s"));
                }
                if s.catch_up == 0 || s.catch_up > 200 {
                    return Err(invalid("ci.jenkins.catch_up", "must be 1 to 200"));
                }
            }
            if s.push_user.is_empty() || s.push_user.contains(':') {
                return Err(invalid(
                    "ci.jenkins.push_user",
                    "must be non-empty and without `:`",
                ));
            }
        }
        for r in &self.rules {
            if r.consecutive_failures == 0 {
                return Err(invalid(
                    "ci.rules.consecutive_failures",
                    "must be at least 1",
                ));
            }
            if r.alert_severity().is_none() && !r.severity.eq_ignore_ascii_case("ignore") {
                return Err(invalid(
                    "ci.rules.severity",
                    format!(
                        "`{}` is not critical, error, warning, info or ignore",
                        crate::domain::labels::truncate_text(&r.severity, 40)
                    ),
                ));
            }
        }
        if self.max_series == 0 {
            return Err(invalid("ci.max_series", "must be at least 1"));
        }
        Ok(())
    }
}
