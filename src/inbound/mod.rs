//! Thin actix handlers for everything that calls ackbot. Each one: take the raw
//! body, verify with `verify/`, decode into `interaction` types, check replay,
//! call the [`InteractionHandler`], render the reply. Refusals are
//! [`InboundError`]s and change nothing.

pub mod api;
pub mod body;
pub mod ci;
pub mod dingtalk;
pub mod error;
pub mod feishu;
pub mod health;
pub mod heartbeats;
pub mod links;
pub mod logs;
pub mod peers;
pub mod reload;
pub mod schedules;
pub mod sentry;
pub mod twilio;
pub mod ui;
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
    /// `[ci]` sources; the rules apart, shared with the CI sweep.
    pub ci: arc_swap::ArcSwap<ci::CiInbound>,
    pub ci_rules: ci::SharedRules,
    /// What the prober probes (`[[ci.jenkins]]` with a url, `[[checks]]`).
    pub watched: Arc<arc_swap::ArcSwap<crate::watch::prober::Watched>>,
    pub replay: Arc<ReplayMemory>,
    pub handler: Arc<dyn InteractionHandler>,
    /// `[errors]`: Sentry projects and their rate limit.
    pub errors: arc_swap::ArcSwap<sentry::ErrorsInbound>,
    /// `[logs]`: tokens, rules and their windows.
    pub logs: arc_swap::ArcSwap<logs::LogsInbound>,
    /// People, schedules and channel kinds, shared with the escalation runner.
    pub oncall: crate::watch::escalations::SharedOncall,
    /// Twilio status callbacks: the public URL and the channels' tokens.
    pub twilio: arc_swap::ArcSwap<twilio::TwilioInbound>,
    /// The web console's users and session key.
    pub ui: ui::Ui,
}

impl Inbound {
    pub fn from_config(
        config: &Config,
        handler: Arc<dyn InteractionHandler>,
        replay: Arc<ReplayMemory>,
        oncall: crate::watch::escalations::SharedOncall,
    ) -> Self {
        let this = Self {
            feishu: ArcSwapOption::empty(),
            dingtalk: ArcSwapOption::empty(),
            wecom: ArcSwapOption::empty(),
            ci: arc_swap::ArcSwap::from_pointee(ci::CiInbound::new(&config.ci)),
            ci_rules: Arc::new(arc_swap::ArcSwap::from_pointee(config.ci.rules.clone())),
            watched: Arc::new(arc_swap::ArcSwap::from_pointee(
                crate::watch::prober::Watched::from_config(config),
            )),
            replay,
            handler,
            errors: arc_swap::ArcSwap::new(sentry::shared(&config.errors)),
            logs: arc_swap::ArcSwap::new(logs::shared(&config.logs)),
            oncall,
            twilio: arc_swap::ArcSwap::from_pointee(twilio::TwilioInbound::from_config(config)),
            ui: ui::Ui::from_config(config),
        };
        this.reconfigure(config);
        this
    }

    /// Takes the `[feishu]`, `[dingtalk]`, `[wecom]` and `[ci]` sections of
    /// `config`.
    pub fn reconfigure(&self, config: &Config) {
        self.ci.store(Arc::new(ci::CiInbound::new(&config.ci)));
        self.errors.store(sentry::shared(&config.errors));
        self.logs.store(logs::shared(&config.logs));
        self.twilio
            .store(Arc::new(twilio::TwilioInbound::from_config(config)));
        self.ui.reconfigure(config);
        self.oncall
            .store(Arc::new(crate::watch::escalations::Oncall::from_config(
                config,
            )));
        self.ci_rules.store(Arc::new(config.ci.rules.clone()));
        self.watched
            .store(Arc::new(crate::watch::prober::Watched::from_config(config)));
        crate::metrics::get().set_max_series(config.ci.max_series);
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
