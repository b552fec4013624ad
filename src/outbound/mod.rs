//! Outbound: the channels notifications leave through, and how each renders
//! and signs what it sends. Platform quirks live here and in `verify/` only.
//!
//! - [`channel`]: the [`Channel`] trait, the shared HTTP client (timeouts) and
//!   how answers become sent / retry / give up;
//! - one module per `[[channels]] type`;
//! - [`cards`]: what a message says, rendered per platform;
//! - [`page`]: what an SMS or a call says (template fields, free text),
//!   for [`aliyun`], [`tencent`] and [`twilio`].

pub mod aliyun;
pub mod cards;
pub mod channel;
pub mod dingtalk;
pub mod email;
pub mod feishu;
pub mod feishu_app;
pub mod page;
pub mod slack;
pub mod template;
pub mod tencent;
pub mod twilio;
pub mod webhook;
pub mod wecom;

use std::collections::HashMap;
use std::sync::Arc;

pub use channel::{Channel, SendError, Sent};

use crate::config::{ChannelKind, Config};

/// Builds every configured channel. Config validation has already checked
/// that each has what its type needs; what is left to fail is parsing
/// (email addresses, SMTP URLs).
pub fn build(config: &Config) -> Result<HashMap<String, Arc<dyn Channel>>, String> {
    let client = channel::http_client(config.delivery.timeout);
    let app = config.feishu.as_ref().and_then(|f| {
        Some(Arc::new(feishu_app::AppAuth::new(
            &f.api_base,
            f.app_id.as_deref()?,
            f.app_secret.clone()?,
            client.clone(),
        )))
    });
    let mut out: HashMap<String, Arc<dyn Channel>> = HashMap::new();
    for c in &config.channels {
        let name = c.name.clone();
        let url = || c.url.clone().expect("validated: this type has a url");
        let channel: Arc<dyn Channel> = match c.kind {
            ChannelKind::FeishuBot => Arc::new(feishu::FeishuBot {
                name,
                url: url(),
                secret: c.secret.clone(),
                client: client.clone(),
            }),
            ChannelKind::FeishuApp => Arc::new(feishu_app::FeishuApp {
                name,
                chat_id: c
                    .chat_id
                    .clone()
                    .expect("validated: feishu_app has chat_id"),
                auth: app
                    .clone()
                    .expect("validated: feishu_app needs [feishu] app_id and app_secret"),
                client: client.clone(),
            }),
            ChannelKind::DingtalkBot => Arc::new(dingtalk::DingTalkBot {
                name,
                url: url(),
                secret: c.secret.clone(),
                client: client.clone(),
            }),
            ChannelKind::WecomBot => Arc::new(wecom::WeComBot {
                name,
                url: url(),
                client: client.clone(),
            }),
            ChannelKind::Slack => Arc::new(slack::Slack {
                name,
                url: url(),
                client: client.clone(),
            }),
            ChannelKind::Webhook => Arc::new(webhook::Webhook {
                name,
                url: url(),
                secret: c.secret.clone(),
                client: client.clone(),
            }),
            ChannelKind::AliyunSms | ChannelKind::AliyunVoice => {
                Arc::new(aliyun::Aliyun::new(c, client.clone()))
            }
            ChannelKind::TencentSms | ChannelKind::TencentVoice => {
                Arc::new(tencent::Tencent::new(c, client.clone()))
            }
            ChannelKind::TwilioSms | ChannelKind::TwilioVoice => Arc::new(twilio::Twilio::new(
                c,
                config.server.public_url.as_deref(),
                client.clone(),
            )),
            ChannelKind::Email => Arc::new(
                email::Email::new(
                    &name,
                    c.smtp_url.as_ref().expect("validated").expose(),
                    c.from.as_deref().expect("validated"),
                    &c.to,
                    config.delivery.timeout,
                )
                .map_err(|e| format!("channel `{}`: {e}", c.name))?,
            ),
        };
        out.insert(c.name.clone(), channel);
    }
    Ok(out)
}
