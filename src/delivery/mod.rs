//! The delivery worker: turns due outbox rows into messages and records what
//! became of each. Rows are claimed with a lease (`Store::claim_due`; `FOR
//! UPDATE SKIP LOCKED` on PostgreSQL), so several replicas share the work and
//! a row whose worker died is claimed again when its lease ends.
//!
//! For each channel, the claimed rows are grouped into messages
//! ([`compose`]), fitted into the channel's rate budget ([`limits`]; a digest
//! when the budget is short, a deferral when it is spent), sent, and
//! finished: `sent`; retried with backoff ([`backoff`]) on transient errors
//! until `[delivery] give_up_after`, then `dead`; `failed` at once on a
//! permanent refusal. Nothing is dropped: every end state stays in the
//! outbox and shows in the API.
//!
//! Critical alerts have their own lane: they are claimed first, take the
//! budget first, and are never folded into a digest of lower severities.
//! When the budget is short, it is the others that are digested: one
//! message that absorbs everything due for the channel (up to
//! [`DIGEST_MAX`] rows), names as many alerts as fit and links to the rest.
//!
//! Messages about one alert go out in the order they were decided (the
//! claim waits for the earlier row), and each shows the alert's state as it
//! was decided, so a `firing` message never shows `resolved`.
//!
//! Delivery is at least once: a crash between the platform's answer and the
//! commit of `sent` sends that message again after the lease (Feishu app
//! messages carry a `uuid` that Feishu de-duplicates for an hour).

pub mod backoff;
pub mod compose;
pub mod limits;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;

use crate::config::{Config, DeliveryConfig, Secret};
use crate::engine::NoticeKind;
use crate::outbound::cards::{Action, ActionLinks, Digest, Item, Message};
use crate::outbound::{Channel, SendError};
use crate::store::{AlertRecord, Claimed, Outcome, Store};
use compose::Planned;

/// Rows claimed per round: few enough that their lease covers sending them
/// all, even when every send runs into the timeout.
const BATCH: u32 = 64;
/// Rows one digest may stand for.
pub const DIGEST_MAX: usize = 10_000;
/// Alerts a digest reads to name them (as many as fit are named; the
/// rest are counted).
const DIGEST_LISTED: usize = 500;
/// Alerts a digest shows like a group before the one-line ones.
const DIGEST_DETAILED: usize = 3;
/// Sends in flight per channel.
const IN_FLIGHT: usize = 8;
/// How often to look for rows that fell due without a commit waking us
/// (group_wait timers, retries, other replicas' rows).
const POLL: Duration = Duration::from_millis(500);

/// The alert as it was when a notification about it was decided: its
/// state then, without what came later (an ack, a resolve, a silence).
fn as_decided(mut alert: AlertRecord, state: &str) -> AlertRecord {
    match state {
        "firing" => {
            alert.state = "firing";
            alert.acked_by = None;
            alert.acked_at = None;
            alert.resolved_at = None;
            alert.silenced_until = None;
        }
        "acknowledged" => {
            alert.state = "acknowledged";
            alert.resolved_at = None;
        }
        "resolved" => {
            alert.state = "resolved";
            alert.silenced_until = None;
        }
        _ => {}
    }
    alert
}

/// Signs `/a/{token}` links for cards whose buttons are URLs.
#[derive(Clone)]
pub struct LinkSigner {
    pub public_url: String,
    pub secret: Secret,
    pub ttl: chrono::Duration,
}

impl LinkSigner {
    pub fn from_config(config: &Config) -> Option<Self> {
        let links = config.links.as_ref()?;
        let public_url = config.server.public_url.as_ref()?;
        Some(Self {
            public_url: public_url.trim_end_matches('/').to_string(),
            secret: links.secret.clone(),
            ttl: chrono::Duration::from_std(links.ttl).unwrap_or(chrono::Duration::hours(24)),
        })
    }

    /// A signed link to the page that lists every firing alert.
    pub fn list_url(&self, now: DateTime<Utc>) -> String {
        let expires = (now + self.ttl).timestamp();
        let token = crate::verify::links::sign(
            self.secret.expose().as_bytes(),
            crate::verify::links::LIST_ALERT,
            crate::verify::links::LIST_ACTION,
            expires,
        );
        format!("{}/a/{token}", self.public_url)
    }

    pub fn links(&self, alert_id: &str, now: DateTime<Utc>) -> ActionLinks {
        let expires = (now + self.ttl).timestamp();
        let url = |a: Action| {
            let token = crate::verify::links::sign(
                self.secret.expose().as_bytes(),
                alert_id,
                a.as_str(),
                expires,
            );
            format!("{}/a/{token}", self.public_url)
        };
        ActionLinks {
            ack: url(Action::Ack),
            silence: url(Action::Silence),
            resolve: url(Action::Resolve),
        }
    }
}

/// What the worker sends with: the channels, their budgets, the link
/// signer and the `[delivery]` settings. Replaced whole on a config reload;
/// a round in progress keeps the one it started with.
pub struct Setup {
    channels: HashMap<String, Arc<dyn Channel>>,
    /// Each rate-limited channel's spacing between sends.
    intervals: HashMap<String, Duration>,
    links: Option<LinkSigner>,
    /// `{public_url}/ui` when cards link to the console (`[ui] card_links`).
    console: Option<String>,
    /// Each channel's cards' time zone and language.
    looks: HashMap<String, crate::outbound::cards::Look>,
    /// Channels' own title and body templates.
    templates: HashMap<String, Arc<crate::outbound::template::Templates>>,
    config: DeliveryConfig,
    /// SMS and voice channels' per-number caps in 24 hours.
    caps: HashMap<String, u32>,
}

/// Attempts a page gets on transient errors before the escalation moves
/// on (sms.md §7.5: at most 2 retries; SMS APIs are not idempotent).
const PAGE_ATTEMPTS: i64 = 3;

impl Setup {
    pub fn new(channels: HashMap<String, Arc<dyn Channel>>, config: &Config) -> Self {
        crate::metrics::get().channels_known(config.channels.iter().map(|c| c.name.as_str()));
        let intervals = config
            .channels
            .iter()
            .filter_map(|c| Some((c.name.clone(), limits::interval(c.rates())?)))
            .collect();
        Self {
            channels,
            intervals,
            links: LinkSigner::from_config(config),
            console: config.ui.card_base(config.server.public_url.as_deref()),
            looks: config
                .channels
                .iter()
                .map(|c| (c.name.clone(), config.card_look(Some(&c.name))))
                .collect(),
            templates: config
                .channels
                .iter()
                .filter_map(|c| Some((c.name.clone(), Arc::new(c.templates().ok()??))))
                .collect(),
            config: config.delivery.clone(),
            caps: config
                .channels
                .iter()
                .filter(|c| c.kind.pages())
                .filter_map(|c| Some((c.name.clone(), c.daily_cap()?)))
                .collect(),
        }
    }
}

pub struct Delivery {
    store: Arc<dyn Store>,
    setup: arc_swap::ArcSwap<Setup>,
    worker: String,
    /// True once shutdown began: no new claims, no new sends.
    stop: tokio::sync::watch::Receiver<bool>,
    /// People and schedules: whom pages and mentions name.
    oncall: crate::watch::escalations::SharedOncall,
}

impl Delivery {
    pub fn new(
        store: Arc<dyn Store>,
        channels: HashMap<String, Arc<dyn Channel>>,
        config: &Config,
        stop: tokio::sync::watch::Receiver<bool>,
        oncall: crate::watch::escalations::SharedOncall,
    ) -> Self {
        Self {
            store,
            setup: arc_swap::ArcSwap::from_pointee(Setup::new(channels, config)),
            worker: format!("{}-{}", std::process::id(), crate::store::new_id()),
            stop,
            oncall,
        }
    }

    /// This worker's name in the outbox's `claimed_by`.
    pub fn worker(&self) -> &str {
        &self.worker
    }

    /// Sends with `setup` from the next round on.
    pub fn reconfigure(&self, setup: Setup) {
        self.setup.store(Arc::new(setup));
    }

    /// Runs until the stop signal: then it claims nothing more, lets the
    /// sends in flight finish, and hands back what it had claimed but not
    /// sent.
    pub fn spawn(self: Arc<Self>, tasks: &crate::tasks::Tasks) -> tokio::task::JoinHandle<()> {
        tasks.spawn("delivery worker", async move { self.run().await })
    }

    fn stopping(&self) -> bool {
        *self.stop.borrow()
    }

    /// Long enough for a round in which every send times out (BATCH rows,
    /// IN_FLIGHT at a time, plus a token fetch); a dead worker's rows wait
    /// this long before another worker takes them.
    fn lease(&self) -> chrono::Duration {
        let rounds = BATCH.div_ceil(IN_FLIGHT as u32) + 1;
        let timeout = self.setup.load().config.timeout;
        chrono::Duration::from_std(timeout * rounds + Duration::from_secs(5))
            .expect("bounded timeout")
    }

    async fn run(self: Arc<Self>) {
        let wake = self.store.wake();
        let mut stop = self.stop.clone();
        while !self.stopping() {
            match self.round().await {
                Ok(0) => {
                    tokio::select! {
                        _ = wake.notified() => {}
                        _ = tokio::time::sleep(POLL) => {}
                        _ = stop.changed() => {}
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "delivery: cannot claim outbox rows");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
        tracing::info!("delivery worker stopped");
    }

    /// Claims what is due and sends it. Returns the rows claimed.
    pub async fn round(&self) -> Result<usize, crate::store::StoreError> {
        let now = Utc::now();
        let setup = self.setup.load_full();
        let rows = self
            .store
            .claim_due(&self.worker, BATCH, self.lease(), now)
            .await?;
        let claimed = rows.len();
        let mut by_channel: BTreeMap<String, Vec<Claimed>> = BTreeMap::new();
        for row in rows {
            by_channel.entry(row.channel.clone()).or_default().push(row);
        }
        let rounds = by_channel
            .into_iter()
            .map(|(channel, rows)| self.channel_round(&setup, channel, rows, now));
        futures_util::future::join_all(rounds).await;
        Ok(claimed)
    }

    async fn channel_round(
        &self,
        setup: &Setup,
        name: String,
        rows: Vec<Claimed>,
        now: DateTime<Utc>,
    ) {
        let Some(channel) = setup.channels.get(&name).cloned() else {
            let error = format!("channel `{name}` is not configured (any more)");
            self.finish(&rows, Outcome::Failed { dead: false, error }, now)
                .await;
            return;
        };
        let rows = self.drop_stale_held(rows, now).await;
        if rows.is_empty() {
            return;
        }
        let messages = compose::group(rows);
        // One send from the shared budget, when the channel has one.
        let (budget, wait) = match setup.intervals.get(&name) {
            None => (usize::MAX, None),
            Some(interval) => match self.store.take_budget(&name, *interval).await {
                Ok(None) => (1, Some(*interval)),
                Ok(Some(wait)) => (0, Some(wait)),
                Err(e) => {
                    tracing::warn!(channel = %name, error = %e, "delivery: cannot read the rate budget");
                    (0, Some(Duration::from_secs(1)))
                }
            },
        };
        let (mut planned, deferred) = compose::fit(messages, budget);
        if !deferred.is_empty() {
            let wait = wait.unwrap_or(Duration::from_secs(1));
            let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
            tracing::debug!(channel = %name, rows = deferred.len(), wait_ms = wait.as_millis() as u64, "rate budget spent: deferred");
            crate::metrics::Metrics::channel_event(&crate::metrics::get().budget_deferrals, &name);
            self.finish(&deferred, Outcome::Deferred { at }, now).await;
        }
        // A digest stands for everything due for the channel, not only
        // this round's claim: a storm costs a message per budget slot.
        if let Some(digest) = planned.iter_mut().find(|p| p.absorbs) {
            let room = DIGEST_MAX.saturating_sub(digest.rows.len());
            match self
                .store
                .claim_more(&self.worker, &name, room as u32, self.lease(), now)
                .await
            {
                Ok(more) => digest.rows.extend(more),
                Err(e) => {
                    tracing::warn!(channel = %name, error = %e, "delivery: cannot widen a digest")
                }
            }
            tracing::info!(channel = %name, rows = digest.rows.len(), "rate budget short: one digest for everything due");
        }
        let outcomes: Vec<(Vec<Claimed>, Outcome)> = futures_util::stream::iter(planned)
            .map(|p| self.send_one(setup, channel.as_ref(), p))
            .buffer_unordered(IN_FLIGHT)
            .filter_map(|o| async move { o })
            .collect()
            .await;
        // One write for every plain success of the round; the rest one by one.
        let mut sent = Vec::new();
        for (rows, outcome) in outcomes {
            match outcome {
                Outcome::Sent { message_id: None } => sent.extend(rows),
                other => self.finish(&rows, other, Utc::now()).await,
            }
        }
        self.finish(&sent, Outcome::Sent { message_id: None }, Utc::now())
            .await;
    }

    /// Rows of routes with time intervals that no longer apply end `muted`:
    /// a firing notice whose alert resolved meanwhile, a resolution whose
    /// firing this channel never carried. The rest go on.
    async fn drop_stale_held(&self, rows: Vec<Claimed>, now: DateTime<Utc>) -> Vec<Claimed> {
        let mut keep = Vec::with_capacity(rows.len());
        for row in rows {
            if !row.held {
                keep.push(row);
                continue;
            }
            match self.held_reason(&row).await {
                Ok(Some(reason)) => {
                    tracing::info!(channel = %row.channel, alert_id = %row.alert_id, reason, "held notification not sent");
                    self.finish(std::slice::from_ref(&row), Outcome::Muted { reason }, now)
                        .await;
                }
                Ok(None) => keep.push(row),
                Err(e) => {
                    tracing::warn!(error = %e, "delivery: cannot check a held notification; sending it");
                    keep.push(row);
                }
            }
        }
        keep
    }

    /// Why a held row no longer applies, if it does not.
    async fn held_reason(&self, row: &Claimed) -> Result<Option<String>, crate::store::StoreError> {
        match row.kind.as_str() {
            "firing" | "aggregated" | "repeat" => {
                let resolved = self
                    .store
                    .get(&row.alert_id)
                    .await?
                    .is_some_and(|a| a.state == "resolved");
                Ok(resolved.then(|| {
                    "the alert resolved before its route's time intervals let this go".to_string()
                }))
            }
            "resolved" => {
                let told = self
                    .store
                    .notifications(&row.alert_id)
                    .await?
                    .iter()
                    .any(|n| {
                        n.channel.as_deref() == Some(row.channel.as_str())
                            && n.status == "sent"
                            && !matches!(n.kind, "resolved" | "update")
                    });
                Ok((!told).then(|| {
                    "its firing never went to this channel (the route's time intervals held it)"
                        .to_string()
                }))
            }
            _ => Ok(None),
        }
    }

    /// Sends one planned message; returns its rows and what became of them
    /// (`None`: nothing to record, the lease will hand them out again).
    async fn send_one(
        &self,
        setup: &Setup,
        channel: &dyn Channel,
        planned: Planned,
    ) -> Option<(Vec<Claimed>, Outcome)> {
        if self.stopping() {
            // Shutting down: not sent, handed back for the next worker.
            return Some((planned.rows, Outcome::Released));
        }
        let now = Utc::now();
        let message = match self.message(setup, &planned, now).await {
            Ok(Some(m)) => m,
            Ok(None) => {
                let error = "the alert no longer exists".to_string();
                return Some((planned.rows, Outcome::Failed { dead: false, error }));
            }
            Err(e) => {
                tracing::warn!(error = %e, "delivery: cannot read the alerts of a message");
                return None;
            }
        };
        if let Some(refused) = self.over_cap(setup, channel, &planned, &message, now).await {
            crate::metrics::get().message(channel.name(), "failed", None);
            return Some((planned.rows, refused));
        }
        let key = format!(
            "ackbot-{}",
            planned.rows.iter().map(|r| r.id).min().unwrap_or_default()
        );
        let result = if message.kind == NoticeKind::Update {
            self.update(channel, &message, &key).await
        } else {
            channel.send(&message, &key).await
        };
        if let Some(interval) = setup.intervals.get(channel.name()) {
            if let Err(e) = self.store.hold_budget(channel.name(), *interval).await {
                tracing::warn!(channel = channel.name(), error = %e, "delivery: cannot record the send in the rate budget");
            }
        }
        let attempts = planned.rows.iter().map(|r| r.attempts).max().unwrap_or(1);
        let outcome = match result {
            Ok(sent) => {
                tracing::info!(
                    channel = channel.name(),
                    rows = planned.rows.len(),
                    digest = planned.digest,
                    attempts,
                    "delivered"
                );
                Outcome::Sent {
                    message_id: sent.message_id,
                }
            }
            Err(SendError::Permanent { message }) => {
                tracing::warn!(channel = channel.name(), rows = planned.rows.len(), error = %message, "delivery refused for good: failed");
                Outcome::Failed {
                    dead: false,
                    error: message,
                }
            }
            Err(SendError::Transient {
                message,
                retry_after,
            }) => {
                let oldest = planned
                    .rows
                    .iter()
                    .map(|r| r.since)
                    .min()
                    .unwrap_or_default();
                let give_up = chrono::Duration::from_std(setup.config.give_up_after)
                    .unwrap_or(chrono::Duration::hours(24));
                let page_spent = planned.rows[0].kind == "page" && attempts >= PAGE_ATTEMPTS;
                if page_spent || now.timestamp_millis() - oldest >= give_up.num_milliseconds() {
                    tracing::error!(channel = channel.name(), rows = planned.rows.len(), error = %message, "delivery kept failing: dead");
                    Outcome::Failed {
                        dead: true,
                        error: message,
                    }
                } else {
                    let wait = backoff::delay(
                        attempts,
                        retry_after,
                        setup.config.max_backoff,
                        backoff::jitter(),
                    );
                    tracing::warn!(channel = channel.name(), rows = planned.rows.len(), attempts, retry_in_ms = wait.as_millis() as u64, error = %message, "delivery failed; will retry");
                    Outcome::Retry {
                        at: now + chrono::Duration::from_std(wait).unwrap_or_default(),
                        error: message,
                    }
                }
            }
        };
        let due = planned
            .rows
            .iter()
            .map(|r| r.due_at)
            .min()
            .unwrap_or_default();
        if planned.digest && matches!(outcome, Outcome::Sent { .. }) {
            crate::metrics::Metrics::channel_event(&crate::metrics::get().digests, channel.name());
        }
        let (counted, latency) = match &outcome {
            Outcome::Sent { .. } => (
                "sent",
                Some((Utc::now().timestamp_millis() - due) as f64 / 1000.0),
            ),
            Outcome::Retry { .. } => ("retry", None),
            Outcome::Failed { dead: true, .. } => ("dead", None),
            _ => ("failed", None),
        };
        crate::metrics::get().message(channel.name(), counted, latency);
        Some((planned.rows, outcome))
    }

    /// A person changed these alerts. Cards the platform can edit (Feishu app
    /// bot messages) are replaced with the current card; for the others a
    /// short follow-up goes out, except for a resolve, which the resolved
    /// notification already announces.
    async fn update(
        &self,
        channel: &dyn Channel,
        message: &Message,
        key: &str,
    ) -> Result<crate::outbound::Sent, SendError> {
        let mut follow = Vec::new();
        for item in &message.items {
            let sent = self
                .store
                .sent_messages(&item.alert.id)
                .await
                .map_err(|e| SendError::transient(format!("cannot read sent messages: {e}")))?;
            let resolved = item.alert.state == "resolved";
            let card = Message {
                look: message.look,
                kind: if resolved {
                    NoticeKind::Resolved
                } else {
                    NoticeKind::Firing
                },
                items: vec![item.clone()],
                omitted: 0,
                digest: None,
                occurrences: item.alert.count,
                now: message.now,
                audience: Default::default(),
            };
            let mut edited = false;
            for (_, message_id) in sent.iter().filter(|(c, _)| c == channel.name()) {
                edited |= channel.update(message_id, &card).await?;
            }
            if !edited && !resolved {
                follow.push(item.clone());
            }
        }
        if follow.is_empty() {
            return Ok(crate::outbound::Sent {
                message_id: None,
                answer: "cards updated in place".into(),
            });
        }
        let follow_up = Message {
            items: follow,
            ..message.clone()
        };
        channel.send(&follow_up, key).await
    }

    /// The message for planned rows: each alert read now, shown in the
    /// state it was in when the notification was decided.
    async fn message(
        &self,
        setup: &Setup,
        planned: &Planned,
        now: DateTime<Utc>,
    ) -> Result<Option<Message>, crate::store::StoreError> {
        let mut ids: Vec<String> = Vec::new();
        let mut decided: HashMap<&str, Option<&str>> = HashMap::new();
        for r in &planned.rows {
            if !decided.contains_key(r.alert_id.as_str()) {
                decided.insert(&r.alert_id, r.state.as_deref());
                ids.push(r.alert_id.clone());
            }
        }
        let listed = if planned.digest {
            ids.len().min(DIGEST_LISTED)
        } else {
            ids.len()
        };
        let first = &planned.rows[0];
        let same_kind = planned.rows.iter().all(|r| r.kind == first.kind);
        let kind = match NoticeKind::parse(&first.kind) {
            Some(k) if same_kind => k,
            _ => NoticeKind::Firing,
        };
        let records = self.store.get_many(&ids[..listed]).await?;
        let items: Vec<Item> = records
            .into_iter()
            .map(|alert| {
                // A firing, resolved or repeat message shows the state it
                // announces; a burst's summary and a follow-up show the
                // alert as it is now (the burst folded its later changes).
                let announces = matches!(
                    kind,
                    NoticeKind::Firing | NoticeKind::Resolved | NoticeKind::Repeat
                );
                let alert = match decided.get(alert.id.as_str()) {
                    Some(Some(state)) if announces => as_decided(alert, state),
                    _ => alert,
                };
                // The channel's own title and body, where it has them.
                let alert = match setup.templates.get(&first.channel) {
                    Some(t) => t.apply(
                        alert,
                        setup.looks.get(&first.channel).copied().unwrap_or_default(),
                    ),
                    None => alert,
                };
                let links = setup.links.as_ref().map(|l| l.links(&alert.id, now));
                let console = setup
                    .console
                    .as_ref()
                    .map(|base| format!("{base}/alerts/{}", alert.id));
                Item {
                    alert,
                    links,
                    console,
                }
            })
            .collect();
        if items.is_empty() {
            return Ok(None);
        }
        let audience = self.audience(first, &items, now).await?;
        Ok(Some(Message {
            look: setup.looks.get(&first.channel).copied().unwrap_or_default(),
            kind,
            omitted: ids.len() - items.len(),
            audience,
            items,
            digest: planned.digest.then(|| Digest {
                detailed: DIGEST_DETAILED,
                more_url: match &setup.console {
                    Some(base) => Some(format!("{base}/alerts?state=firing")),
                    None => setup.links.as_ref().map(|l| l.list_url(now)),
                },
            }),
            occurrences: planned
                .rows
                .iter()
                .map(|r| r.occurrences)
                .max()
                .unwrap_or(1),
            now,
        }))
    }

    /// Whom a message names: the person a page goes to, the people a card
    /// @-mentions (resolved now: whoever is on call), and what the
    /// headline alert's escalation does next.
    async fn audience(
        &self,
        row: &Claimed,
        items: &[Item],
        now: DateTime<Utc>,
    ) -> Result<crate::outbound::cards::Audience, crate::store::StoreError> {
        let oncall = self.oncall.load();
        let mut audience = crate::outbound::cards::Audience::default();
        let refs: Vec<&str> = row
            .target
            .as_deref()
            .map(|t| t.split(',').filter(|r| !r.is_empty()).collect())
            .unwrap_or_default();
        if row.kind == "page" {
            audience.to = row
                .target
                .as_deref()
                .and_then(|t| oncall.directory.person(t))
                .cloned();
        } else if !refs.is_empty() && !matches!(row.kind.as_str(), "resolved" | "update") {
            // Nobody is woken for good news or a follow-up.
            let overrides = crate::watch::escalations::overrides(
                self.store.as_ref(),
                refs.iter().copied(),
                now,
            )
            .await?;
            audience.mentions = oncall
                .directory
                .resolve(refs.iter().copied(), &overrides, now)
                .into_iter()
                .cloned()
                .collect();
        }
        if let Some(item) = items.first().filter(|i| i.alert.state != "resolved") {
            audience.next =
                crate::watch::escalations::next_step(self.store.as_ref(), &oncall, &item.alert.id)
                    .await?;
        }
        Ok(audience)
    }

    /// A page over its channel's per-number cap is refused here, before
    /// the provider refuses it: the escalation moves on at once.
    async fn over_cap(
        &self,
        setup: &Setup,
        channel: &dyn Channel,
        planned: &Planned,
        message: &Message,
        now: DateTime<Utc>,
    ) -> Option<Outcome> {
        let cap = *setup.caps.get(channel.name())?;
        let person = message.audience.to.as_ref()?;
        if planned.rows[0].kind != "page" {
            return None;
        }
        let since = now - chrono::Duration::hours(24);
        match self
            .store
            .pages_sent(channel.name(), &person.name, since)
            .await
        {
            Ok(n) if n >= i64::from(cap) => Some(Outcome::Failed {
                dead: false,
                error: format!(
                    "{} had {n} pages from `{}` in 24 hours (daily_cap {cap}): not sent",
                    person.name,
                    channel.name()
                ),
            }),
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "delivery: cannot count pages for the daily cap");
                None
            }
        }
    }

    /// A page failed for good: say so on each alert and move its
    /// escalation on now.
    async fn page_failed(&self, rows: &[Claimed], error: &str, now: DateTime<Utc>) {
        let mut ids: Vec<String> = rows.iter().map(|r| r.alert_id.clone()).collect();
        ids.dedup();
        let who = rows[0].target.clone().unwrap_or_default();
        for id in &ids {
            let kind = format!("page failed: {}", crate::outbound::page::clean(error, 200));
            if let Err(e) = self
                .store
                .note(id, (&kind, &who, &rows[0].channel), now)
                .await
            {
                tracing::warn!(error = %e, "delivery: cannot record a failed page");
            }
        }
        if let Err(e) = self.store.escalate_now(&ids, now).await {
            tracing::warn!(error = %e, "delivery: cannot move escalations on after a failed page");
        }
    }

    async fn finish(&self, rows: &[Claimed], outcome: Outcome, now: DateTime<Utc>) {
        if rows.is_empty() {
            return;
        }
        let counted = match &outcome {
            Outcome::Sent { .. } => "sent",
            Outcome::Retry { .. } => "retry",
            Outcome::Failed { dead: true, .. } => "dead",
            Outcome::Failed { dead: false, .. } => "failed",
            Outcome::Deferred { .. } => "deferred",
            Outcome::Released => "released",
            Outcome::Muted { .. } => "muted",
        };
        crate::metrics::get().delivery(&rows[0].channel, counted, rows.len());
        if let Outcome::Failed { error, .. } = &outcome {
            if rows[0].kind == "page" {
                self.page_failed(rows, error, now).await;
            }
        }
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        if let Err(e) = self.store.finish(&ids, &outcome, now).await {
            // The lease ends and the rows are claimed again: at least once.
            tracing::error!(error = %e, rows = ids.len(), "delivery: cannot record the outcome");
        }
    }
}
