//! `[[channels]]` (where notifications go) and `[[routes]]` (which alerts go
//! where), per the config contract in DESIGN.md. Validated at load: a route
//! naming an unknown channel, a channel missing what its type needs, or a bad
//! matcher stops start-up with the key at fault.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{ConfigError, Secret, duration};
use crate::domain::Matcher;
use crate::domain::labels::is_valid_name;

/// The sender a channel uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    FeishuBot,
    FeishuApp,
    DingtalkBot,
    WecomBot,
    Slack,
    Email,
    Webhook,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ChannelKind,
    /// Webhook URL (bots, Slack, webhook). It carries the bot's token: a secret.
    pub url: Option<Secret>,
    /// Signing secret (feishu_bot, dingtalk_bot, webhook).
    pub secret: Option<Secret>,
    /// feishu_app: the chat to post into (`oc_…`).
    pub chat_id: Option<String>,
    /// email: `smtps://user:pass@host:465` (TLS) or
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS). Plain `smtp://`
    /// is accepted only for a relay on this machine (localhost, 127.0.0.1).
    pub smtp_url: Option<Secret>,
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    /// Rate limits; the defaults are the platform's documented ones
    /// ([`ChannelKind::default_rates`]). 0 means no limit of that kind.
    pub rate_per_second: Option<u32>,
    pub rate_per_minute: Option<u32>,
}

impl ChannelKind {
    /// `(per second, per minute)` from the platform docs (`../shared/spec/`);
    /// `None`: the platform documents no such limit.
    pub fn default_rates(self) -> (Option<u32>, Option<u32>) {
        match self {
            // feishu.md §1.5: 5/s and 100/min per custom bot.
            Self::FeishuBot => (Some(5), Some(100)),
            // feishu.md §2.2: 5 QPS to one group, shared by all bots in it.
            Self::FeishuApp => (Some(5), None),
            // dingtalk.md §1.5 and §4.4: 20/min (DingTalk throttles for 10 min beyond).
            Self::DingtalkBot | Self::WecomBot => (None, Some(20)),
            // Slack incoming webhooks: 1 message per second.
            Self::Slack => (Some(1), None),
            Self::Email | Self::Webhook => (None, None),
        }
    }
}

impl ChannelConfig {
    /// The effective `(per second, per minute)` limits.
    pub fn rates(&self) -> (Option<u32>, Option<u32>) {
        let (s, m) = self.kind.default_rates();
        let pick = |set: Option<u32>, default| match set {
            Some(0) => None,
            Some(n) => Some(n),
            None => default,
        };
        (pick(self.rate_per_second, s), pick(self.rate_per_minute, m))
    }
}

/// Alertmanager's defaults.
fn default_group_by() -> Vec<String> {
    vec!["...".to_string()]
}
fn default_group_wait() -> Duration {
    Duration::from_secs(30)
}
fn default_group_interval() -> Duration {
    Duration::from_secs(300)
}
fn default_repeat_interval() -> Duration {
    Duration::from_secs(4 * 3600)
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// Alertmanager matchers; empty matches every alert.
    #[serde(default)]
    pub matchers: Vec<Matcher>,
    pub channels: Vec<String>,
    /// Labels that form a notification group; `["..."]` (default): every
    /// distinct alert is its own group.
    #[serde(default = "default_group_by")]
    pub group_by: Vec<String>,
    #[serde(default = "default_group_wait", with = "duration")]
    pub group_wait: Duration,
    #[serde(default = "default_group_interval", with = "duration")]
    pub group_interval: Duration,
    #[serde(default = "default_repeat_interval", with = "duration")]
    pub repeat_interval: Duration,
    /// Keep evaluating later routes after this one matched.
    #[serde(default, rename = "continue")]
    pub continue_matching: bool,
}

fn invalid(key: &'static str, message: String) -> ConfigError {
    ConfigError::Invalid { key, message }
}

fn is_http_url(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// Encrypted, or plain to this machine only (credentials travel in it).
fn smtp_url_is_safe(url: &str) -> bool {
    if url.starts_with("smtps://") {
        return true;
    }
    let Some(rest) = url.strip_prefix("smtp://") else {
        return false;
    };
    if rest.contains("tls=required") {
        return true;
    }
    let host_port = rest.rsplit('@').next().unwrap_or(rest);
    let host = host_port.split(['/', '?']).next().unwrap_or_default();
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Checks channels and routes together (routes name channels).
pub fn validate(
    channels: &[ChannelConfig],
    routes: &[RouteConfig],
    feishu_app: bool,
) -> Result<(), ConfigError> {
    let mut names = std::collections::HashSet::new();
    for c in channels {
        let ok_name = !c.name.is_empty()
            && c.name.len() <= 64
            && c.name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok_name {
            return Err(invalid(
                "channels.name",
                format!(
                    "`{}` must be 1 to 64 of letters, digits, `-` and `_`",
                    c.name
                ),
            ));
        }
        if !names.insert(c.name.as_str()) {
            return Err(invalid(
                "channels.name",
                format!("`{}` is used by two channels", c.name),
            ));
        }
        let needs_url = matches!(
            c.kind,
            ChannelKind::FeishuBot
                | ChannelKind::DingtalkBot
                | ChannelKind::WecomBot
                | ChannelKind::Slack
                | ChannelKind::Webhook
        );
        match &c.url {
            Some(url) if !is_http_url(url.expose()) => {
                return Err(invalid(
                    "channels.url",
                    format!("channel `{}`: must be an http(s) URL", c.name),
                ));
            }
            None if needs_url => {
                return Err(invalid(
                    "channels.url",
                    format!("channel `{}` ({:?}) needs a url", c.name, c.kind),
                ));
            }
            _ => {}
        }
        if c.secret.as_ref().is_some_and(Secret::is_empty) {
            return Err(invalid(
                "channels.secret",
                format!("channel `{}`: secret is empty", c.name),
            ));
        }
        if c.kind == ChannelKind::FeishuApp {
            if c.chat_id.as_deref().is_none_or(str::is_empty) {
                return Err(invalid(
                    "channels.chat_id",
                    format!("channel `{}` (feishu_app) needs chat_id", c.name),
                ));
            }
            if !feishu_app {
                return Err(invalid(
                    "channels.type",
                    format!(
                        "channel `{}` is feishu_app: set [feishu] app_id and app_secret",
                        c.name
                    ),
                ));
            }
        }
        if c.kind == ChannelKind::Email
            && (c.smtp_url.is_none() || c.from.is_none() || c.to.is_empty())
        {
            return Err(invalid(
                "channels.smtp_url",
                format!("channel `{}` (email) needs smtp_url, from and to", c.name),
            ));
        }
        if let Some(url) = &c.smtp_url {
            if !smtp_url_is_safe(url.expose()) {
                return Err(invalid(
                    "channels.smtp_url",
                    format!(
                        "channel `{}`: use smtps://… or smtp://…?tls=required; plain smtp:// \
                         only to a relay on localhost",
                        c.name
                    ),
                ));
            }
        }
    }
    for (i, r) in routes.iter().enumerate() {
        if r.channels.is_empty() {
            return Err(invalid(
                "routes.channels",
                format!("route #{} names no channel", i + 1),
            ));
        }
        if let Some(unknown) = r.channels.iter().find(|c| !names.contains(c.as_str())) {
            return Err(invalid(
                "routes.channels",
                format!("route #{} names unknown channel `{unknown}`", i + 1),
            ));
        }
        let group_by_ok = r.group_by == ["..."] || r.group_by.iter().all(|l| is_valid_name(l));
        if !group_by_ok {
            return Err(invalid(
                "routes.group_by",
                format!(
                    "route #{}: label names, or [\"...\"] alone for every alert on its own",
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}
