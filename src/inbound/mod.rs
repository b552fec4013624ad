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
pub mod peers;
pub mod reload;
pub mod wecom;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::HttpRequest;
use arc_swap::ArcSwapOption;

pub use body::{BodyLimit, BodyTimeout, RawBody};
pub use error::InboundError;

use crate::config::Config;
use crate::interaction::InteractionHandler;
use crate::replay::{ReplayMemory, Sighting};

/// How long message ids (Feishu `event_id`, DingTalk `msgId`, WeCom `MsgId`) are
/// remembered. Feishu re-delivers for about 7 h; a day is comfortable.
pub const MESSAGE_ID_TTL_SECS: i64 = 24 * 3600;

/// Everything the platform handlers share, built from the config. The
/// platforms' secrets and settings are replaced on a config reload
/// ([`Inbound::reconfigure`]); a request in progress keeps the ones it
/// started with. The replay memory is kept across reloads (and restarts,
/// in the store).
pub struct Inbound {
    pub feishu: ArcSwapOption<feishu::FeishuInbound>,
    pub dingtalk: ArcSwapOption<dingtalk::DingTalkInbound>,
    pub wecom: ArcSwapOption<wecom::WeComInbound>,
    pub replay: Arc<ReplayMemory>,
    pub handler: Arc<dyn InteractionHandler>,
}

impl Inbound {
    pub fn from_config(
        config: &Config,
        handler: Arc<dyn InteractionHandler>,
        replay: Arc<ReplayMemory>,
    ) -> Self {
        let this = Self {
            feishu: ArcSwapOption::empty(),
            dingtalk: ArcSwapOption::empty(),
            wecom: ArcSwapOption::empty(),
            replay,
            handler,
        };
        this.reconfigure(config);
        this
    }

    /// Takes the `[feishu]`, `[dingtalk]` and `[wecom]` sections of `config`.
    pub fn reconfigure(&self, config: &Config) {
        let arc = |v| Arc::new(v);
        self.feishu.store(
            config
                .feishu
                .as_ref()
                .map(feishu::FeishuInbound::new)
                .map(arc),
        );
        self.dingtalk.store(
            config
                .dingtalk
                .as_ref()
                .map(dingtalk::DingTalkInbound::new)
                .map(Arc::new),
        );
        self.wecom.store(
            config
                .wecom
                .as_ref()
                .map(wecom::WeComInbound::new)
                .map(Arc::new),
        );
    }

    /// Records a sighting in the shared replay memory. A full namespace or
    /// a store that cannot record it is busy (503: the platform retries);
    /// the callback is not acted on unrecorded.
    async fn sighting(
        &self,
        namespace: &'static str,
        key: &str,
        expires_at: i64,
        now: i64,
    ) -> Result<Sighting, InboundError> {
        self.replay
            .check(namespace, key, expires_at, now)
            .await
            .map_err(|e| {
                tracing::warn!(error = %e, "callback not acted on: answered busy");
                InboundError::Busy
            })
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
