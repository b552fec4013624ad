//! Typed configuration (`../shared/DESIGN.md`, "Config contract").
//!
//! Loading is three steps, each with an error that says what to fix:
//! 1. parse the TOML file (or start from built-in defaults when there is none);
//! 2. expand `${VAR}` in string values from the environment ([`expand`]);
//! 3. deserialize into these structs, which reject unknown keys (a typo such as
//!    `encrpyt_key` must not silently switch a security check off), then
//!    [`Config::validate`] the values that types alone cannot check.
//!
//! Secrets are [`Secret`]s: `Debug`, logs and `check-config` show a mask.

pub mod checks;
pub mod ci;
pub mod errors;
mod expand;
pub mod heartbeats;
pub mod inhibit;
pub mod intervals;
pub mod logs;
pub mod oncall;
pub mod routing;
mod secret;
pub mod ui;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

pub use checks::CheckConfig;
pub use ci::CiConfig;
pub use errors::ErrorsConfig;
pub use expand::ExpandError;
pub use routing::{ChannelConfig, ChannelKind, RouteConfig};
pub use secret::Secret;

/// The file `serve` and `check-config` read when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "ackbot.toml";

#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not valid TOML: {message}")]
    Syntax { path: String, message: String },
    #[error(transparent)]
    Expand(#[from] ExpandError),
    #[error("config key `{key}`: {message}")]
    Shape { key: String, message: String },
    #[error("config key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

fn invalid(key: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        message: message.into(),
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub storage: StorageConfig,
    #[serde(default)]
    pub aggregation: AggregationConfig,
    #[serde(default)]
    pub alerts: AlertsConfig,
    #[serde(default)]
    pub delivery: DeliveryConfig,
    #[serde(default)]
    pub api: ApiConfig,
    /// The Feishu app whose events and card callbacks we receive.
    pub feishu: Option<FeishuConfig>,
    /// The DingTalk app robot whose callbacks we receive.
    pub dingtalk: Option<DingTalkConfig>,
    /// The WeCom robot or app whose callbacks we receive.
    pub wecom: Option<WeComConfig>,
    /// Signing of `/a/{token}` action links.
    pub links: Option<LinksConfig>,
    /// Where notifications go.
    #[serde(default)]
    pub channels: Vec<ChannelConfig>,
    /// Which alerts go to which channels, first match wins unless `continue`.
    /// With channels but no routes, every alert goes to every channel.
    #[serde(default)]
    pub routes: Vec<RouteConfig>,
    /// CI/CD webhooks and failure-streak rules.
    #[serde(default)]
    pub ci: CiConfig,
    /// Health checks ackbot runs itself.
    #[serde(default)]
    pub checks: Vec<CheckConfig>,
    /// Applications' errors through the Sentry protocol.
    #[serde(default)]
    pub errors: ErrorsConfig,
    /// Log lines from Loki clients and scripts, and the rules over them.
    #[serde(default)]
    pub logs: logs::LogsConfig,
    /// Jobs that must check in, and Alertmanager's Watchdog.
    #[serde(default)]
    pub heartbeats: Vec<heartbeats::HeartbeatConfig>,
    /// Who can be paged, and their ids on each platform.
    #[serde(default)]
    pub people: Vec<oncall::PersonConfig>,
    /// On-call rotations.
    #[serde(default)]
    pub schedules: Vec<oncall::ScheduleConfig>,
    /// What happens while an alert stays unacknowledged.
    #[serde(default)]
    pub escalations: Vec<oncall::EscalationConfig>,
    /// The web console's users and sessions.
    #[serde(default)]
    pub ui: ui::UiConfig,
    /// Named times routes are muted in (`mute_time_intervals`) or active
    /// in only (`active_time_intervals`), as Alertmanager writes them.
    #[serde(default)]
    pub time_intervals: Vec<intervals::TimeIntervalConfig>,
    /// While a source alert fires, the alerts it inhibits are recorded but
    /// not notified (Alertmanager's inhibition).
    #[serde(default)]
    pub inhibit_rules: Vec<inhibit::InhibitRuleConfig>,
    /// How cards show things: the time zone of their times.
    #[serde(default)]
    pub cards: CardsConfig,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CardsConfig {
    /// IANA name (`Asia/Shanghai`) for every time on cards, digests,
    /// follow-ups and escalation notes; UTC when unset. A channel's own
    /// `timezone` wins for that channel.
    pub timezone: Option<String>,
    /// `en` (default) or `zh-CN`: the fixed words of cards, digests and
    /// follow-ups. A channel's own `locale` wins for that channel.
    pub locale: Option<String>,
}

impl Config {
    /// The time zone of a channel's cards: its own, else `[cards]`, else
    /// UTC (validated at load).
    fn card_tz(&self, channel: Option<&str>) -> chrono_tz::Tz {
        let own = channel
            .and_then(|n| self.channels.iter().find(|c| c.name == n))
            .and_then(|c| c.timezone.as_deref());
        own.or(self.cards.timezone.as_deref())
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::Tz::UTC)
    }

    /// A channel's cards' time zone and words: its own, else `[cards]`.
    pub fn card_look(&self, channel: Option<&str>) -> crate::outbound::cards::Look {
        let own = channel
            .and_then(|n| self.channels.iter().find(|c| c.name == n))
            .and_then(|c| c.locale.as_deref());
        crate::outbound::cards::Look {
            tz: self.card_tz(channel),
            locale: own
                .or(self.cards.locale.as_deref())
                .and_then(crate::outbound::cards::Locale::parse)
                .unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address and port to listen on.
    pub listen: String,
    /// PEM certificate chain and private key. Both unset: a self-signed certificate
    /// for localhost is generated into `generated_cert_dir` on first start.
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Where the self-signed development certificate is written and reused from.
    pub generated_cert_dir: PathBuf,
    /// Serve plain HTTP (behind a TLS-terminating proxy only). Logged loudly.
    pub insecure_http: bool,
    /// Base URL for signed action links.
    pub public_url: Option<String>,
    /// Requests with larger bodies get 413 before any parsing or crypto.
    pub max_body_bytes: usize,
    /// The same for the ingestion endpoints (`/api/v1/alerts`,
    /// `/alertmanager`, `/grafana`), which take whole alert groups: an
    /// Alertmanager group of 10 000 alerts is about 4 MB.
    pub max_ingest_body_bytes: usize,
    /// HTTP worker threads; default: one per CPU core.
    pub workers: Option<usize>,
    /// Unexpired callback ids each replay namespace may hold before its new
    /// callbacks are answered 503 (on PostgreSQL also the size of the
    /// in-process cache in front of the store).
    pub replay_cache_capacity: usize,
    /// How long a client may take to send a request body, from its first
    /// byte to its last; slower ones get 408 and are closed.
    #[serde(with = "duration")]
    pub body_timeout: Duration,
    /// How long a client may take to send a request's headers (and how long
    /// an idle keep-alive connection stays open).
    #[serde(with = "duration")]
    pub header_timeout: Duration,
    /// Connections open at once, all clients together; more wait to be
    /// accepted. Kept under the process's file descriptor limit.
    pub max_connections: usize,
    /// Requests in progress at once from one IP address (a slow client
    /// holds one while it trickles its body); more are answered 503 and
    /// their connections closed at once. Health checks are not counted.
    pub max_requests_per_peer: usize,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8443".into(),
            tls_cert: None,
            tls_key: None,
            generated_cert_dir: PathBuf::from("certs"),
            insecure_http: false,
            public_url: None,
            max_body_bytes: 1024 * 1024,
            max_ingest_body_bytes: 32 * 1024 * 1024,
            workers: None,
            replay_cache_capacity: 1_000_000,
            body_timeout: Duration::from_secs(15),
            header_timeout: Duration::from_secs(5),
            max_connections: 10_000,
            max_requests_per_peer: 256,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `sqlite://path` (embedded default) or `postgres://…`.
    pub url: Secret,
    /// Resolved alerts, with their audit trail and deliveries, are deleted
    /// this long after they resolved; so are silences that ended. `"0s"`
    /// keeps everything.
    #[serde(with = "duration")]
    pub retention: Duration,
}

impl Default for StorageConfig {
    fn default() -> Self {
        Self {
            url: Secret::new("sqlite://data/ackbot.db"),
            retention: Duration::from_secs(30 * 24 * 3600),
        }
    }
}

/// How the delivery worker sends (see `delivery`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Connect and total timeout of one request to a platform.
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// A notification still failing this long after it was decided is marked
    /// `dead` (kept, visible in the API), no longer retried.
    #[serde(with = "duration")]
    pub give_up_after: Duration,
    /// The longest wait between two attempts.
    #[serde(with = "duration")]
    pub max_backoff: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            give_up_after: Duration::from_secs(24 * 3600),
            max_backoff: Duration::from_secs(600),
        }
    }
}

/// Alert lifecycle settings.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsConfig {
    /// How long an acknowledgement holds while the alert keeps firing: after
    /// it, the next firing occurrence takes the ack back and pages again.
    #[serde(with = "duration")]
    pub ack_ttl: Duration,
    /// Who may create silences from chat (buttons and `silence` commands):
    /// `allowed` (default), only the people in the platform's
    /// `allowed_users`; `anyone`, whoever may act.
    pub chat_silences: ChatSilences,
}

/// [`AlertsConfig::chat_silences`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ChatSilences {
    /// Only users listed in `allowed_users` (nobody, when it is empty).
    #[default]
    Allowed,
    /// Anyone who may act on alerts from chat.
    Anyone,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            ack_ttl: Duration::from_secs(8 * 3600),
            chat_silences: ChatSilences::Allowed,
        }
    }
}

/// Folding bursts of one alert into one notification (see `engine`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AggregationConfig {
    /// The window a burst is counted in, from its first occurrence.
    #[serde(with = "duration")]
    pub window: Duration,
    /// More occurrences than this in one window give one aggregated
    /// notification at the window's end. `critical` alerts bypass it.
    pub threshold: u32,
}

impl Default for AggregationConfig {
    fn default() -> Self {
        Self {
            window: Duration::from_secs(60),
            threshold: 5,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Bearer tokens accepted on `/api/v1/*`.
    pub tokens: Vec<Secret>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FeishuConfig {
    pub app_id: Option<String>,
    pub app_secret: Option<Secret>,
    /// Checked on every callback (`token` / `header.token`), and the key of the
    /// legacy card-callback signature.
    pub verification_token: Secret,
    /// Decrypts payloads and keys the `X-Lark-Signature` check, which is then
    /// required on everything except the unsigned `url_verification` challenge.
    pub encrypt_key: Option<Secret>,
    #[serde(default = "FeishuConfig::default_api_base")]
    pub api_base: String,
    /// How far `X-Lark-Request-Timestamp` may be from our clock, either way.
    #[serde(default = "FeishuConfig::default_tolerance", with = "duration")]
    pub timestamp_tolerance: Duration,
    /// Who may acknowledge, silence and resolve from this platform's chats
    /// (user ids: Feishu open_id, DingTalk staff id, WeCom user id). Empty:
    /// anyone in a chat the bot is in.
    #[serde(default)]
    pub allowed_users: Vec<String>,
}

impl FeishuConfig {
    fn default_api_base() -> String {
        "https://open.feishu.cn".into()
    }
    fn default_tolerance() -> Duration {
        Duration::from_secs(3600)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DingTalkConfig {
    pub app_key: Option<String>,
    /// The app's Client Secret: the key of the robot callback `sign`.
    pub app_secret: Secret,
    /// The `apiSecret` registered with an interactive-card callback route
    /// (`POST /dingtalk/card`, spec §3); unset: that endpoint answers 404.
    pub card_callback_secret: Option<Secret>,
    #[serde(default = "DingTalkConfig::default_api_base")]
    pub api_base: String,
    /// DingTalk documents one hour.
    #[serde(default = "DingTalkConfig::default_tolerance", with = "duration")]
    pub timestamp_tolerance: Duration,
    /// Who may acknowledge, silence and resolve from this platform's chats
    /// (user ids: Feishu open_id, DingTalk staff id, WeCom user id). Empty:
    /// anyone in a chat the bot is in.
    #[serde(default)]
    pub allowed_users: Vec<String>,
}

impl DingTalkConfig {
    fn default_api_base() -> String {
        "https://api.dingtalk.com".into()
    }
    fn default_tolerance() -> Duration {
        Duration::from_secs(3600)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WeComConfig {
    pub token: Secret,
    /// 43 characters from the WeCom console.
    pub encoding_aes_key: Secret,
    /// The corp id for apps; empty for group robots.
    #[serde(default)]
    pub receive_id: String,
    /// WeCom documents no window; five minutes is the local policy.
    #[serde(default = "WeComConfig::default_tolerance", with = "duration")]
    pub timestamp_tolerance: Duration,
    /// Who may acknowledge, silence and resolve from this platform's chats
    /// (user ids: Feishu open_id, DingTalk staff id, WeCom user id). Empty:
    /// anyone in a chat the bot is in.
    #[serde(default)]
    pub allowed_users: Vec<String>,
}

impl WeComConfig {
    fn default_tolerance() -> Duration {
        Duration::from_secs(300)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LinksConfig {
    pub secret: Secret,
    #[serde(default = "LinksConfig::default_ttl", with = "duration")]
    pub ttl: Duration,
}

impl LinksConfig {
    fn default_ttl() -> Duration {
        Duration::from_secs(24 * 3600)
    }
}

/// Durations as human strings: `"90s"`, `"5m"`, `"4h"`, `"1h 30m"`.
pub(crate) mod duration {
    use super::*;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let s = String::deserialize(d)?;
        humantime::parse_duration(&s).map_err(|e| {
            serde::de::Error::custom(format!(
                "`{s}` is not a duration like \"90s\", \"5m\" or \"4h\": {e}"
            ))
        })
    }

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&humantime::format_duration(*d).to_string())
    }
}

/// The longest timestamp tolerance accepted: replay caches must hold entries for
/// the whole window, and a day-long window is a misconfiguration.
const MAX_TOLERANCE: Duration = Duration::from_secs(12 * 3600);
/// The shortest: clocks drift, and platform retries are not instantaneous.
const MIN_TOLERANCE: Duration = Duration::from_secs(30);

/// Where a loaded config came from (printed by `check-config` and at start-up).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    File(PathBuf),
    Defaults,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Defaults => f.write_str("built-in defaults (no ackbot.toml found)"),
        }
    }
}

impl Config {
    /// Loads `path`, or `ackbot.toml` if it exists, or the built-in defaults.
    pub fn load(path: Option<&Path>) -> Result<(Self, Source), ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let path = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
            None => return Ok((Self::from_toml("", "defaults", &env)?, Source::Defaults)),
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let config = Self::from_toml(&text, &path.display().to_string(), &env)?;
        Ok((config, Source::File(path)))
    }

    /// Parses, expands, deserializes and validates one TOML document.
    pub fn from_toml(
        text: &str,
        origin: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        Self::from_toml_scoped(text, origin, env, None)
    }

    /// What `ackbot send --channel NAME` needs of `path`: only that channel,
    /// `[delivery]`, `[links]`, `[server] public_url` and, for a `feishu_app`
    /// channel, the `[feishu]` app credentials. Everything else is left out
    /// before `${VAR}` expansion, so a variable that only `serve` uses (an
    /// API token, a storage password) need not be set. Also returns the
    /// names of every channel in the file, for "no channel named …".
    pub fn load_for_channel(
        path: Option<&Path>,
        channel: &str,
    ) -> Result<(Self, Vec<String>), ConfigError> {
        let env = |name: &str| std::env::var(name).ok();
        let (text, origin) = match path {
            Some(p) => (Self::read(p)?, p.display().to_string()),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => (
                Self::read(Path::new(DEFAULT_CONFIG_FILE))?,
                DEFAULT_CONFIG_FILE.to_string(),
            ),
            None => (String::new(), "defaults".to_string()),
        };
        let mut names = Vec::new();
        let config = Self::from_toml_scoped(&text, &origin, &env, Some((channel, &mut names)))?;
        Ok((config, names))
    }

    fn read(path: &Path) -> Result<String, ConfigError> {
        std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })
    }

    fn from_toml_scoped(
        text: &str,
        origin: &str,
        env: &dyn Fn(&str) -> Option<String>,
        only: Option<(&str, &mut Vec<String>)>,
    ) -> Result<Self, ConfigError> {
        let mut tree: toml::Value = toml::from_str::<toml::Table>(text)
            .map(toml::Value::Table)
            .map_err(|e| ConfigError::Syntax {
                path: origin.to_string(),
                message: e.to_string(),
            })?;
        if let Some((channel, names)) = only {
            *names = scope_to_channel(&mut tree, channel);
        }
        expand::expand_tree(&mut tree, "", env)?;
        let config: Config =
            serde_path_to_error::deserialize(tree).map_err(|e| ConfigError::Shape {
                key: e.path().to_string(),
                message: e.inner().to_string(),
            })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types cannot: addresses, sizes, windows, key formats, and
    /// secrets that expanded to nothing.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        s.listen.to_socket_addrs().map_err(|e| {
            invalid(
                "server.listen",
                format!("`{}` is not host:port ({e})", s.listen),
            )
        })?;
        match (&s.tls_cert, &s.tls_key) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(invalid(
                    "server.tls_cert",
                    "set both tls_cert and tls_key, or neither",
                ));
            }
            _ => {}
        }
        if !(1024..=64 * 1024 * 1024).contains(&s.max_body_bytes) {
            return Err(invalid(
                "server.max_body_bytes",
                "must be between 1024 and 67108864",
            ));
        }
        if !(1024..=256 * 1024 * 1024).contains(&s.max_ingest_body_bytes) {
            return Err(invalid(
                "server.max_ingest_body_bytes",
                "must be between 1024 and 268435456",
            ));
        }
        if s.workers == Some(0) {
            return Err(invalid("server.workers", "must be at least 1"));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(300)).contains(&s.body_timeout) {
            return Err(invalid("server.body_timeout", "must be between 1s and 5m"));
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(300)).contains(&s.header_timeout) {
            return Err(invalid(
                "server.header_timeout",
                "must be between 1s and 5m",
            ));
        }
        if s.max_connections < 16 {
            return Err(invalid("server.max_connections", "must be at least 16"));
        }
        if s.max_requests_per_peer == 0 {
            return Err(invalid(
                "server.max_requests_per_peer",
                "must be at least 1",
            ));
        }
        if s.replay_cache_capacity < 1000 {
            return Err(invalid(
                "server.replay_cache_capacity",
                "must be at least 1000",
            ));
        }
        if let Some(url) = &s.public_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(invalid(
                    "server.public_url",
                    "must start with https:// or http://",
                ));
            }
        }
        let storage = self.storage.url.expose();
        if !["sqlite:", "postgres://", "postgresql://"]
            .iter()
            .any(|p| storage.starts_with(p))
        {
            return Err(invalid(
                "storage.url",
                "must start with sqlite: or postgres://",
            ));
        }
        let retention = self.storage.retention;
        if !retention.is_zero() && retention < Duration::from_secs(3600) {
            return Err(invalid(
                "storage.retention",
                "must be at least 1h, or \"0s\" to keep everything",
            ));
        }
        let d = &self.delivery;
        if !(Duration::from_millis(100)..=Duration::from_secs(120)).contains(&d.timeout) {
            return Err(invalid("delivery.timeout", "must be between 100ms and 2m"));
        }
        if d.give_up_after < Duration::from_secs(60) {
            return Err(invalid("delivery.give_up_after", "must be at least 1m"));
        }
        if d.max_backoff < Duration::from_secs(1) {
            return Err(invalid("delivery.max_backoff", "must be at least 1s"));
        }
        if self.alerts.ack_ttl < Duration::from_secs(60) {
            return Err(invalid("alerts.ack_ttl", "must be at least 1m"));
        }
        let a = &self.aggregation;
        if !(Duration::from_secs(1)..=Duration::from_secs(24 * 3600)).contains(&a.window) {
            return Err(invalid("aggregation.window", "must be between 1s and 24h"));
        }
        if a.threshold == 0 {
            return Err(invalid("aggregation.threshold", "must be at least 1"));
        }
        for (i, t) in self.api.tokens.iter().enumerate() {
            if t.expose().len() < 16 {
                return Err(invalid(
                    "api.tokens",
                    format!("token #{} is shorter than 16 characters", i + 1),
                ));
            }
        }
        if let Some(f) = &self.feishu {
            non_empty(&f.verification_token, "feishu.verification_token")?;
            if let Some(k) = &f.encrypt_key {
                non_empty(k, "feishu.encrypt_key")?;
            }
            if let Some(k) = &f.app_secret {
                non_empty(k, "feishu.app_secret")?;
            }
            tolerance(f.timestamp_tolerance, "feishu.timestamp_tolerance")?;
        }
        if let Some(d) = &self.dingtalk {
            non_empty(&d.app_secret, "dingtalk.app_secret")?;
            tolerance(d.timestamp_tolerance, "dingtalk.timestamp_tolerance")?;
        }
        if let Some(w) = &self.wecom {
            non_empty(&w.token, "wecom.token")?;
            crate::verify::wecom::Cipher::new(w.encoding_aes_key.expose())
                .map_err(|e| invalid("wecom.encoding_aes_key", e.to_string()))?;
            tolerance(w.timestamp_tolerance, "wecom.timestamp_tolerance")?;
        }
        let feishu_app = self
            .feishu
            .as_ref()
            .is_some_and(|f| f.app_id.is_some() && f.app_secret.is_some());
        routing::validate(&self.channels, &self.routes, feishu_app)?;
        intervals::validate(&self.time_intervals, &self.routes)?;
        inhibit::validate(&self.inhibit_rules)?;
        let zones = self
            .channels
            .iter()
            .filter_map(|c| c.timezone.as_deref().map(|z| ("channels.timezone", z)))
            .chain(
                self.cards
                    .timezone
                    .as_deref()
                    .map(|z| ("cards.timezone", z)),
            );
        for c in &self.channels {
            c.templates()
                .map_err(|e| invalid("channels.title_template", e.to_string()))?;
        }
        let locales = self
            .channels
            .iter()
            .filter_map(|c| c.locale.as_deref().map(|l| ("channels.locale", l)))
            .chain(self.cards.locale.as_deref().map(|l| ("cards.locale", l)));
        for (key, locale) in locales {
            if crate::outbound::cards::Locale::parse(locale).is_none() {
                return Err(invalid(
                    key,
                    format!(
                        "`{}` is not a card language: \"en\" or \"zh-CN\"",
                        crate::domain::labels::truncate_text(locale, 32)
                    ),
                ));
            }
        }
        for (key, zone) in zones {
            if zone.parse::<chrono_tz::Tz>().is_err() {
                return Err(invalid(
                    key,
                    format!(
                        "`{}` is not an IANA time zone name (like Asia/Shanghai)",
                        crate::domain::labels::truncate_text(zone, 64)
                    ),
                ));
            }
        }
        self.ci.validate()?;
        checks::validate(&self.checks)?;
        errors::validate(&self.errors)?;
        self.logs.validate()?;
        heartbeats::validate(&self.heartbeats)?;
        oncall::validate(
            &self.people,
            &self.schedules,
            &self.escalations,
            &self.channels,
        )?;
        oncall::validate_routes(
            &self.routes,
            &self.people,
            &self.schedules,
            &self.escalations,
        )?;
        ui::validate(&self.ui)?;
        if let Some(l) = &self.links {
            if l.secret.expose().len() < 32 {
                return Err(invalid("links.secret", "must be at least 32 characters"));
            }
        }
        Ok(())
    }

    /// The config as `check-config` prints it: TOML with every secret masked.
    pub fn to_masked_toml(&self) -> String {
        toml::to_string_pretty(self).expect("config types serialize")
    }

    /// The first address `server.listen` resolves to.
    pub fn listen_addr(&self) -> std::io::Result<SocketAddr> {
        self.server.listen.to_socket_addrs()?.next().ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "server.listen resolves to nothing",
            )
        })
    }
}

/// Cuts `tree` down to what sending through `channel` uses (see
/// [`Config::load_for_channel`]); returns every channel's name.
fn scope_to_channel(tree: &mut toml::Value, channel: &str) -> Vec<String> {
    let Some(table) = tree.as_table_mut() else {
        return Vec::new();
    };
    let channels = table
        .remove("channels")
        .and_then(|c| c.as_array().cloned())
        .unwrap_or_default();
    let name_of = |c: &toml::Value| c.get("name").and_then(|n| n.as_str()).map(str::to_string);
    let names: Vec<String> = channels.iter().filter_map(name_of).collect();
    let chosen: Vec<toml::Value> = channels
        .into_iter()
        .filter(|c| name_of(c).as_deref() == Some(channel))
        .collect();
    let feishu_app = chosen
        .iter()
        .any(|c| c.get("type").and_then(|t| t.as_str()) == Some("feishu_app"));
    let server = table.remove("server");
    let feishu = table.remove("feishu");
    table.retain(|key, _| matches!(key, "delivery" | "links" | "people" | "cards"));
    if let Some(url) = server.as_ref().and_then(|s| s.get("public_url")) {
        let mut s = toml::Table::new();
        s.insert("public_url".into(), url.clone());
        table.insert("server".into(), toml::Value::Table(s));
    }
    if feishu_app {
        if let Some(f) = feishu.as_ref().and_then(|f| f.as_table()) {
            let mut app: toml::Table = f
                .iter()
                .filter(|(k, _)| matches!(k.as_str(), "app_id" | "app_secret" | "api_base"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            // Required by the section, not used to send.
            app.insert(
                "verification_token".into(),
                toml::Value::String("unused-by-send".into()),
            );
            table.insert("feishu".into(), toml::Value::Table(app));
        }
    }
    table.insert("channels".into(), toml::Value::Array(chosen));
    names
}

fn non_empty(secret: &Secret, key: &'static str) -> Result<(), ConfigError> {
    if secret.is_empty() {
        Err(invalid(
            key,
            "is empty (did its ${VAR} expand to nothing?); remove the key or set a value",
        ))
    } else {
        Ok(())
    }
}

fn tolerance(d: Duration, key: &'static str) -> Result<(), ConfigError> {
    if d < MIN_TOLERANCE || d > MAX_TOLERANCE {
        Err(invalid(key, "must be between 30s and 12h"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
