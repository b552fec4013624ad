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
    AliyunSms,
    AliyunVoice,
    TencentSms,
    TencentVoice,
    TwilioSms,
    TwilioVoice,
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
    /// SMS and voice: where the provider's API is (tests point it at a mock).
    pub api_base: Option<String>,
    /// Alibaba Cloud AccessKey.
    pub access_key_id: Option<String>,
    pub access_key_secret: Option<Secret>,
    /// Alibaba: `acs3` (ACS3-HMAC-SHA256, default) or `hmac-sha1` (legacy RPC).
    pub signature: Option<String>,
    /// Tencent Cloud API key.
    pub secret_id: Option<String>,
    pub secret_key: Option<Secret>,
    /// Tencent `X-TC-Region` (default `ap-guangzhou`).
    pub region: Option<String>,
    /// Tencent `SmsSdkAppId` / `VoiceSdkAppid`.
    pub sdk_app_id: Option<String>,
    /// Twilio Account SID (`AC…`), with `auth_token` or an API key.
    pub account_sid: Option<String>,
    pub auth_token: Option<Secret>,
    /// Twilio API key SID (`SK…`) and its secret, instead of the auth token.
    pub api_key_sid: Option<String>,
    pub api_key_secret: Option<Secret>,
    /// Twilio Messaging Service (`MG…`), instead of `from`.
    pub messaging_service_sid: Option<String>,
    /// The approved signature name (Alibaba `SignName`, Tencent `SignName`).
    pub sign_name: Option<String>,
    /// The approved template: Alibaba `TemplateCode` / `TtsCode`, Tencent `TemplateId`.
    pub template_code: Option<String>,
    /// What fills the template's variables: Alibaba a table
    /// `{ variable = "field" }`, Tencent the fields in `{1}`, `{2}` order.
    /// Fields: severity, title, service, id, duration, count.
    pub template_params: Option<TemplateParams>,
    /// Characters per template variable (Alibaba 20, Tencent 6 by default).
    pub param_max_chars: Option<usize>,
    /// Messages one phone number may get from this channel in 24 hours
    /// (Alibaba SMS 50, Alibaba voice 20, Tencent 10 by default; 0: none).
    pub daily_cap: Option<u32>,
    /// Alibaba voice `CalledShowNumber` (dedicated mode).
    pub called_show_number: Option<String>,
    /// Voice: times the message is played (1 to 3).
    pub play_times: Option<u32>,
    /// This channel's cards show times in this IANA zone (else `[cards]
    /// timezone`).
    pub timezone: Option<String>,
    /// This channel's cards' words: `en` or `zh-CN` (else `[cards] locale`).
    pub locale: Option<String>,
    /// MiniJinja for this channel's card titles (README "Templates").
    pub title_template: Option<String>,
    /// MiniJinja for this channel's card bodies, in place of the content.
    pub body_template: Option<String>,
}

/// The variables of a provider template (see [`ChannelConfig::template_params`]).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum TemplateParams {
    Named(std::collections::BTreeMap<String, String>),
    Ordered(Vec<String>),
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
            // sms.md §1.5, §2, §3.3: thousands per second per account; the
            // limits that matter are per number (`daily_cap`).
            Self::AliyunSms
            | Self::AliyunVoice
            | Self::TencentSms
            | Self::TencentVoice
            | Self::TwilioSms
            | Self::TwilioVoice => (None, None),
        }
    }

    /// SMS and voice: these page one person at a time, only from
    /// escalation steps.
    pub fn pages(self) -> bool {
        matches!(
            self,
            Self::AliyunSms
                | Self::AliyunVoice
                | Self::TencentSms
                | Self::TencentVoice
                | Self::TwilioSms
                | Self::TwilioVoice
        )
    }

    /// Rings a phone rather than texting it.
    pub fn calls(self) -> bool {
        matches!(
            self,
            Self::AliyunVoice | Self::TencentVoice | Self::TwilioVoice
        )
    }

    /// Messages one number may get in 24 hours by default (sms.md §1.8,
    /// §2, §3.6); `None`: the provider documents no such cap.
    pub fn default_daily_cap(self) -> Option<u32> {
        match self {
            Self::AliyunSms => Some(50),
            Self::AliyunVoice => Some(20),
            Self::TencentSms | Self::TencentVoice => Some(10),
            _ => None,
        }
    }
}

impl ChannelConfig {
    /// The channel's templates, compiled and checked.
    pub fn templates(
        &self,
    ) -> Result<
        Option<crate::outbound::template::Templates>,
        crate::outbound::template::TemplateError,
    > {
        crate::outbound::template::Templates::compile(
            &self.name,
            self.title_template.as_deref(),
            self.body_template.as_deref(),
        )
    }

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

    /// The effective per-number daily cap.
    pub fn daily_cap(&self) -> Option<u32> {
        match self.daily_cap {
            Some(0) => None,
            Some(n) => Some(n),
            None => self.kind.default_daily_cap(),
        }
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
    /// The `[[escalations]]` policy that runs while this route's alerts
    /// stay unacknowledged.
    pub escalation: Option<String>,
    /// People @-mentioned in this route's cards (`schedule:primary`,
    /// `schedule:primary:backup`, a person's name).
    #[serde(default)]
    pub mention: Vec<String>,
    /// `[[time_intervals]]` during which this route's notices wait (sent at
    /// the interval's end if the alert still fires).
    #[serde(default)]
    pub mute_time_intervals: Vec<String>,
    /// When set, this route's notices go out only during these intervals.
    #[serde(default)]
    pub active_time_intervals: Vec<String>,
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
        if c.kind.pages() {
            validate_pager(c)?;
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
        if let Some(pager) = r
            .channels
            .iter()
            .find(|c| channels.iter().any(|x| &x.name == *c && x.kind.pages()))
        {
            return Err(invalid(
                "routes.channels",
                format!(
                    "route #{}: `{pager}` is an SMS or voice channel; these page people \
                     only from [[escalations]] steps (set escalation = \"…\" on the route)",
                    i + 1
                ),
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

/// What an SMS or voice channel needs, by provider.
fn validate_pager(c: &ChannelConfig) -> Result<(), ConfigError> {
    let need = |ok: bool, key: &'static str, what: &str| {
        if ok {
            Ok(())
        } else {
            Err(invalid(
                key,
                format!("channel `{}` ({:?}) needs {what}", c.name, c.kind),
            ))
        }
    };
    let some = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
    let secret = |s: &Option<Secret>| s.as_ref().is_some_and(|s| !s.is_empty());
    if let Some(base) = &c.api_base {
        need(
            is_http_url(base),
            "channels.api_base",
            "an http(s) api_base",
        )?;
    }
    match c.kind {
        ChannelKind::AliyunSms | ChannelKind::AliyunVoice => {
            need(
                some(&c.access_key_id),
                "channels.access_key_id",
                "access_key_id",
            )?;
            need(
                secret(&c.access_key_secret),
                "channels.access_key_secret",
                "access_key_secret",
            )?;
            need(
                some(&c.template_code),
                "channels.template_code",
                "template_code",
            )?;
            if c.kind == ChannelKind::AliyunSms {
                need(some(&c.sign_name), "channels.sign_name", "sign_name")?;
            }
            need(
                !matches!(c.template_params, Some(TemplateParams::Ordered(_))),
                "channels.template_params",
                "template_params as a table { variable = \"field\" }",
            )?;
            need(
                matches!(c.signature.as_deref(), None | Some("acs3" | "hmac-sha1")),
                "channels.signature",
                "signature = \"acs3\" or \"hmac-sha1\"",
            )?;
        }
        ChannelKind::TencentSms | ChannelKind::TencentVoice => {
            need(some(&c.secret_id), "channels.secret_id", "secret_id")?;
            need(secret(&c.secret_key), "channels.secret_key", "secret_key")?;
            need(some(&c.sdk_app_id), "channels.sdk_app_id", "sdk_app_id")?;
            need(
                some(&c.template_code),
                "channels.template_code",
                "template_code (the TemplateId)",
            )?;
            if c.kind == ChannelKind::TencentSms {
                need(some(&c.sign_name), "channels.sign_name", "sign_name")?;
            }
            need(
                !matches!(c.template_params, Some(TemplateParams::Named(_))),
                "channels.template_params",
                "template_params as a list of fields in {1}, {2} order",
            )?;
        }
        ChannelKind::TwilioSms | ChannelKind::TwilioVoice => {
            need(some(&c.account_sid), "channels.account_sid", "account_sid")?;
            need(
                secret(&c.auth_token) || (some(&c.api_key_sid) && secret(&c.api_key_secret)),
                "channels.auth_token",
                "auth_token, or api_key_sid and api_key_secret",
            )?;
            need(
                some(&c.from)
                    || (c.kind == ChannelKind::TwilioSms && some(&c.messaging_service_sid)),
                "channels.from",
                "from (a Twilio number) or, for SMS, messaging_service_sid",
            )?;
        }
        _ => {}
    }
    if let Some(TemplateParams::Named(m)) = &c.template_params {
        if let Some(bad) = m.values().find(|f| !crate::outbound::page::is_field(f)) {
            return Err(invalid(
                "channels.template_params",
                format!(
                    "channel `{}`: `{bad}` is not a field ({})",
                    c.name,
                    crate::outbound::page::FIELDS.join(", ")
                ),
            ));
        }
    }
    if let Some(TemplateParams::Ordered(v)) = &c.template_params {
        if let Some(bad) = v.iter().find(|f| !crate::outbound::page::is_field(f)) {
            return Err(invalid(
                "channels.template_params",
                format!(
                    "channel `{}`: `{bad}` is not a field ({})",
                    c.name,
                    crate::outbound::page::FIELDS.join(", ")
                ),
            ));
        }
    }
    if c.play_times.is_some_and(|n| !(1..=3).contains(&n)) {
        return Err(invalid(
            "channels.play_times",
            format!("channel `{}`: 1 to 3", c.name),
        ));
    }
    if c.param_max_chars == Some(0) {
        return Err(invalid(
            "channels.param_max_chars",
            format!("channel `{}`: at least 1", c.name),
        ));
    }
    Ok(())
}
