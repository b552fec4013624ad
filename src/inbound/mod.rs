//! Thin actix handlers for everything that calls ackbot. Each one: take the raw
//! body, verify with `verify/`, decode into `interaction` types, check replay,
//! call the [`InteractionHandler`], render the reply. Refusals are
//! [`InboundError`]s and change nothing.

pub mod api;
pub mod body;
pub mod dingtalk;
pub mod error;
pub mod feishu;
pub mod health;
pub mod links;
pub mod wecom;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;

pub use body::{BodyLimit, RawBody};
pub use error::InboundError;

use crate::config::Config;
use crate::interaction::InteractionHandler;
use crate::replay::{ReplayGuard, Sighting};

/// How long message ids (Feishu `event_id`, DingTalk `msgId`, WeCom `MsgId`) are
/// remembered. Feishu re-delivers for about 7 h; a day is comfortable.
pub const MESSAGE_ID_TTL_SECS: i64 = 24 * 3600;

/// Everything the platform handlers share, built once from the config.
pub struct Inbound {
    pub feishu: Option<feishu::FeishuInbound>,
    pub dingtalk: Option<dingtalk::DingTalkInbound>,
    pub wecom: Option<wecom::WeComInbound>,
    pub replay: ReplayGuard,
    pub handler: Arc<dyn InteractionHandler>,
}

impl Inbound {
    pub fn from_config(config: &Config, handler: Arc<dyn InteractionHandler>) -> Self {
        Self {
            feishu: config.feishu.as_ref().map(feishu::FeishuInbound::new),
            dingtalk: config.dingtalk.as_ref().map(dingtalk::DingTalkInbound::new),
            wecom: config.wecom.as_ref().map(wecom::WeComInbound::new),
            replay: ReplayGuard::new(config.server.replay_cache_capacity),
            handler,
        }
    }

    /// Records a sighting; a full cache is reported as busy (503, retry later).
    fn sighting(
        &self,
        namespace: &str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Sighting, InboundError> {
        self.replay
            .check(namespace, key, expires_at, now)
            .map_err(|_| InboundError::Busy)
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

pub fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// A header as text; absent or non-UTF-8 is `None`.
fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}
