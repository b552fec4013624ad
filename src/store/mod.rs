//! Persistence behind one trait. An alert is answered 2xx only after the
//! store has committed it, together with the engine's notification decisions
//! (the outbox). Backends: SQLite (embedded default) and PostgreSQL (several
//! replicas), one SQL implementation over both. Times are Unix milliseconds.

mod ci_writer;
mod escalations;
mod overview;
mod plan;
mod postgres;
mod rows;
mod sql;
mod sqlite;
mod writer;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

pub use escalations::{Advance, EscalationRecord, FailedDelivery, OverrideRecord};
pub use overview::{ChannelActivity, Noisy, OverviewRows, StateChange};
pub use postgres::PostgresStore;
pub use rows::OutboxRow;
pub use sql::SqlStore;
pub use sqlite::SqliteStore;

use crate::domain::{Labels, Matcher, NewAlert, NewSilence, Severity, StateAction};
use crate::engine::Engine;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("cannot apply storage migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("storage url: {0}")]
    Url(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("the storage writer has stopped")]
    WriterGone,
    /// A bug (a panic while writing); the request failed, nothing was stored.
    #[error("internal error while storing: {0}")]
    Internal(String),
    /// A bound was reached (too many active silences); nothing was changed.
    #[error("{0}")]
    Limit(String),
    /// The signed link was used already (nothing was changed).
    #[error("this link was already used")]
    LinkUsed,
    /// Injected by a test ([`crate::faults`]).
    #[error(transparent)]
    Injected(#[from] crate::faults::Injected),
}

/// An alert as stored and as the API shows it (DESIGN.md "Alert JSON").
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AlertRecord {
    pub id: String,
    pub fingerprint: String,
    pub title: String,
    pub content: String,
    pub severity: Severity,
    pub service: Option<String>,
    pub labels: Labels,
    pub annotations: Labels,
    /// `firing`, `acknowledged`, `silenced` or `resolved`.
    pub state: &'static str,
    pub acked_by: Option<String>,
    pub acked_at: Option<DateTime<Utc>>,
    pub silenced_until: Option<DateTime<Utc>>,
    /// Occurrences folded into this record.
    pub count: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub trace_id: Option<String>,
    pub request_id: Option<String>,
    pub starts_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The id of the firing alert that inhibits this one: it is recorded
    /// but not notified while that one fires.
    pub inhibited_by: Option<String>,
}

impl AlertRecord {
    /// An alert as it would be stored right after `new` arrived, for
    /// `ackbot render`.
    pub fn preview(new: &crate::domain::NewAlert, now: DateTime<Utc>) -> Self {
        let mut a = Self::test_alert(
            &new.title,
            &new.content,
            new.severity,
            new.service.clone(),
            now,
        );
        a.id = "0123456789abcdef".into();
        a.fingerprint = new.fingerprint.as_str().to_string();
        a.labels = new.labels.clone();
        a.annotations = new.annotations.clone();
        a.trace_id.clone_from(&new.trace_id);
        a.request_id.clone_from(&new.request_id);
        a.starts_at = new.starts_at;
        if new.status == crate::domain::alert::AlertStatus::Resolved {
            a.state = "resolved";
            a.resolved_at = Some(now);
        }
        a
    }

    /// An alert that exists only to be sent (`ackbot send`).
    pub fn test_alert(
        title: &str,
        content: &str,
        severity: Severity,
        service: Option<String>,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            id: format!("test{}", &new_id()[..12]),
            fingerprint: "ackbot-send-test".into(),
            title: title.to_string(),
            content: content.to_string(),
            severity,
            service,
            labels: Labels::default(),
            annotations: Labels::default(),
            state: "firing",
            acked_by: None,
            acked_at: None,
            silenced_until: None,
            count: 1,
            first_seen: now,
            last_seen: now,
            trace_id: None,
            request_id: None,
            starts_at: None,
            resolved_at: None,
            inhibited_by: None,
        }
    }
}

/// One entry of the audit trail.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct AlertEvent {
    pub at: DateTime<Utc>,
    /// `fired`, `refired`, `acknowledged`, `unacknowledged`, `resolved`.
    pub kind: String,
    pub actor: String,
    /// `source`, `api`, `feishu`, `dingtalk`, `wecom`, `link`.
    pub via: String,
}

/// A notification the engine decided (an outbox row).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NotificationRecord {
    /// The delivery's id (`POST /api/v1/alerts/{id}/deliveries/{delivery}/retry`).
    pub id: i64,
    /// The alert's state when this was decided, which its message shows.
    pub state: Option<String>,
    /// `firing`, `resolved`, `aggregated`, `repeat`.
    pub kind: &'static str,
    /// `None`: no channel takes this alert; recorded only.
    pub channel: Option<String>,
    pub group_key: String,
    /// Occurrences in the aggregation window when decided.
    pub occurrences: i64,
    pub created_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    /// `pending` (to deliver when due), `sent`, `failed` (the platform
    /// refused it for good), `dead` (kept failing until `[delivery]
    /// give_up_after`), or `unrouted` (no channel takes the alert).
    pub status: String,
    pub attempts: i64,
    /// The platform's answer to the last failed attempt.
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// `page`: the person paged; chat rows: who the card @-mentions.
    pub target: Option<String>,
}

/// An outbox row claimed for delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub alert_id: String,
    pub kind: String,
    pub channel: String,
    pub group_key: String,
    pub due_at: i64,
    pub created_at: i64,
    /// Including this one.
    pub attempts: i64,
    /// Occurrences in the aggregation window when decided.
    pub occurrences: i64,
    /// [`Severity::rank`] when decided: 0 is critical.
    pub priority: i64,
    /// The alert's state when decided; the message shows it.
    pub state: Option<String>,
    /// When giving up counts from: the decision, or a person's retry.
    pub since: i64,
    /// `page`: the person paged; chat rows: the `mention` references.
    pub target: Option<String>,
    /// Its route has time intervals: sent only if it still applies.
    pub held: bool,
}

/// What became of a delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        message_id: Option<String>,
    },
    /// Try again at `at` (transient failure).
    Retry {
        at: DateTime<Utc>,
        error: String,
    },
    /// Refused for good (`failed`) or given up after retrying (`dead`).
    Failed {
        dead: bool,
        error: String,
    },
    /// Not attempted (the channel's rate budget is spent): due again at `at`,
    /// and the attempt is not counted.
    Deferred {
        at: DateTime<Utc>,
    },
    /// Not attempted (shutting down): handed back at once, due as before,
    /// and the attempt is not counted.
    Released,
    /// Not sent, for good: held by a mute interval, it no longer applies
    /// when the interval ends (status `muted`).
    Muted {
        reason: String,
    },
}

/// What [`Store::retry_delivery`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RetryOutcome {
    Requeued,
    /// No such delivery for that alert.
    NotFound,
    /// Not failed or dead: its status.
    NotFailed(String),
    /// A later message about the alert on that channel went out: sending
    /// this one now would tell people things out of order.
    Superseded,
}

/// What one [`Store::prune`] pass deleted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pruned {
    pub alerts: u64,
    pub silences: u64,
}

/// A stored silence.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SilenceRecord {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub created_by: String,
    pub comment: String,
    pub created_at: DateTime<Utc>,
    pub expired_at: Option<DateTime<Utc>>,
    /// `pending`, `active` or `expired`, at the time of reading.
    pub status: &'static str,
}

impl SilenceRecord {
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        NewSilence::is_active(self.starts_at, self.ends_at, self.expired_at, now)
    }
}

/// A signed action link being pressed. Marking it used commits in the same
/// transaction as its action, or not at all: a crash between the two can
/// neither spend the link without acting nor act twice.
#[derive(Debug, Clone)]
pub struct LinkUse {
    /// `sha256_hex(token)`, never the token.
    pub id: String,
    /// The token's expiry: the row may be forgotten after it.
    pub expires_at: DateTime<Utc>,
}

/// Who changes an alert, and through what.
#[derive(Debug, Clone)]
pub struct Actor {
    name: String,
    pub via: &'static str,
}

impl Actor {
    /// Whoever acts, named as they gave it: one line without invisible or
    /// bidi characters ([`crate::domain::human::name`]), at most
    /// [`crate::domain::silence::MAX_AUTHOR_LEN`] characters.
    pub fn new(name: &str, via: &'static str) -> Self {
        Self {
            name: crate::domain::human::name(name, crate::domain::silence::MAX_AUTHOR_LEN),
            via,
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The result of an action on one alert.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionOutcome {
    Changed(AlertRecord),
    /// Already in that state; nothing recorded.
    Unchanged(AlertRecord),
    /// Not allowed from the current state.
    Refused(&'static str),
    NotFound,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Commits a batch atomically (all or nothing): each alert folds into the
    /// record of its fingerprint, or creates it. Returns the record ids in order.
    async fn ingest(
        &self,
        alerts: Vec<NewAlert>,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError>;
    async fn get(&self, id: &str) -> Result<Option<AlertRecord>, StoreError>;
    /// Newest first; `state` filters by the state alerts show (`silenced`
    /// included), not only the stored one.
    async fn list(
        &self,
        state: Option<&str>,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<AlertRecord>, StoreError>;
    /// A person's action. With `link`, the link is marked used in the same
    /// transaction, and only if the action changes something:
    /// [`StoreError::LinkUsed`] when it already was used.
    async fn apply(
        &self,
        id: &str,
        action: StateAction,
        actor: &Actor,
        link: Option<&LinkUse>,
        now: DateTime<Utc>,
    ) -> Result<ActionOutcome, StoreError>;
    async fn events(&self, id: &str) -> Result<Vec<AlertEvent>, StoreError>;
    /// The notifications decided for an alert, oldest first.
    async fn notifications(&self, id: &str) -> Result<Vec<NotificationRecord>, StoreError>;
    /// Stores a silence. With `for_alert`, the silence is also recorded in that
    /// alert's audit trail (kind `silenced`), in the same transaction; with
    /// `link`, so is the link's use (as in [`Store::apply`]).
    async fn create_silence(
        &self,
        silence: &NewSilence,
        for_alert: Option<(&str, &Actor)>,
        link: Option<&LinkUse>,
        now: DateTime<Utc>,
    ) -> Result<SilenceRecord, StoreError>;
    /// Silences not yet ended (pending and active), or all with `include_expired`.
    async fn list_silences(
        &self,
        include_expired: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<SilenceRecord>, StoreError>;
    /// Ends a silence now. `None` if there is no such silence.
    async fn expire_silence(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SilenceRecord>, StoreError>;
    /// Claims up to `limit` pending outbox rows that are due, for `worker`,
    /// until `now + lease`. A row another worker holds under an unexpired
    /// lease is skipped; on PostgreSQL the claim uses `FOR UPDATE SKIP LOCKED`,
    /// so replicas never claim the same row and never wait for each other.
    async fn claim_due(
        &self,
        worker: &str,
        limit: u32,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Claims up to `limit` more due rows of one channel, below critical and
    /// in the same order: what a digest absorbs when the budget is short.
    async fn claim_more(
        &self,
        worker: &str,
        channel: &str,
        limit: u32,
        lease: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Vec<Claimed>, StoreError>;
    /// Takes one send from `channel`'s rate budget, shared by every ackbot on
    /// this database and kept across restarts: sends at least `interval`
    /// apart, on the database's clock. `None`: granted; `Some(wait)`: the
    /// next send may go after `wait`.
    async fn take_budget(
        &self,
        channel: &str,
        interval: std::time::Duration,
    ) -> Result<Option<std::time::Duration>, StoreError>;
    /// A send on `channel` just ended: the next may go `interval` from now
    /// at the earliest. Counting from the end of a send (not only from the
    /// grant) keeps sends `interval` apart where the platform counts them,
    /// however long a message took to build.
    async fn hold_budget(
        &self,
        channel: &str,
        interval: std::time::Duration,
    ) -> Result<(), StoreError>;
    /// The alerts with these ids, in this order (unknown ids are left out).
    async fn get_many(&self, ids: &[String]) -> Result<Vec<AlertRecord>, StoreError>;
    /// Puts a `failed` or `dead` delivery of an alert back in the outbox, due
    /// now, recorded in the alert's audit trail.
    async fn retry_delivery(
        &self,
        alert_id: &str,
        delivery: i64,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<RetryOutcome, StoreError>;
    /// The same for every `failed` or `dead` delivery of a channel (after
    /// fixing its secret). Returns how many were put back.
    async fn retry_channel(
        &self,
        channel: &str,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError>;
    /// Deletes at most `batch` alerts resolved before `before` (with their
    /// events and outbox rows; never one with a pending delivery), and
    /// silences, link uses and group clocks that ended before then.
    async fn prune(&self, before: DateTime<Utc>, batch: u32) -> Result<Pruned, StoreError>;
    /// Records the outcome of sending claimed rows, and ends their lease.
    async fn finish(
        &self,
        ids: &[i64],
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Hands back every row `worker` claimed and has not finished (its lease
    /// ends now), or with `None` every claimed row: when a single instance
    /// (SQLite) starts, no other worker can hold one.
    async fn release_leases(&self, worker: Option<&str>) -> Result<u64, StoreError>;
    /// `(channel, message_id)` of the messages sent about an alert that the
    /// platform identified (Feishu app bot), for updating its cards.
    async fn sent_messages(&self, alert_id: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// Ids of alerts whose id starts with `prefix` (lowercase hex), at most
    /// `limit`, for short ids typed in chat.
    async fn find_ids(&self, prefix: &str, limit: u32) -> Result<Vec<String>, StoreError>;
    /// Notified after every commit that may have made outbox rows due, so
    /// the delivery worker need not poll to be quick.
    fn wake(&self) -> std::sync::Arc<tokio::sync::Notify>;
    /// Decides with `engine` (routes, aggregation, ack TTL) from the next
    /// transaction on (a config reload).
    fn set_engine(&self, engine: Engine);
    /// Whether several processes share this store's replay memory
    /// (PostgreSQL). Then [`Store::remember`] decides which callbacks are
    /// new. Otherwise (SQLite, one process) that process's memory decides,
    /// and the store keeps its log for restarts ([`Store::load_replay`]).
    fn shared_replay(&self) -> bool;
    /// Records callback identities, one statement for the batch, and says
    /// for each whether it was new. Shared: `false` when the store already
    /// holds it unexpired (another replica, or before a restart, accepted
    /// it); keys must be distinct within a batch. Not shared: appended to
    /// the log, all `true`. Durable against a crash of the process; not
    /// waiting for an fsync (see `replay.rs`).
    async fn remember(&self, ids: &[ReplayId], now_secs: i64) -> Result<Vec<bool>, StoreError>;
    /// The unexpired identities of the log (not shared), for start-up; a
    /// shared store returns none (it answers [`Store::remember`] itself).
    async fn load_replay(&self, now_secs: i64) -> Result<Vec<ReplayId>, StoreError>;
    /// Deletes at most `batch` replay ids expired by `now_secs`, and
    /// returns how many it deleted and how many unexpired ids each
    /// namespace holds.
    async fn prune_replay(
        &self,
        now_secs: i64,
        batch: u32,
    ) -> Result<(u64, Vec<(String, u64)>), StoreError>;
    /// Cheap round trip for `/readyz`.
    async fn ping(&self) -> Result<(), StoreError>;

    /// A CI series' state (`crate::streaks`) as last committed.
    async fn ci_load(&self, key: &str) -> Result<Option<CiSeriesRow>, StoreError>;
    /// Writes a series' state if it is still at `version` (0: not stored
    /// yet); false when another request changed it first. `pending`: the
    /// alert does not yet show this state (written with full durability;
    /// a state that is not pending changes no alert and is written like
    /// the replay memory: it survives a crash of ackbot, not of the machine).
    async fn ci_put(
        &self,
        key: &str,
        version: i64,
        state: &str,
        pending: bool,
    ) -> Result<bool, StoreError>;
    /// The alert shows the series' state at `version`.
    async fn ci_synced(&self, key: &str, version: i64) -> Result<(), StoreError>;
    /// Series whose alert does not yet show their state, oldest first.
    async fn ci_pending(&self, limit: u32) -> Result<Vec<CiSeriesRow>, StoreError>;

    /// Takes or renews the lease `name` for `owner` until `until_ms`: true
    /// if `owner` holds it now (it was free, expired, or its own).
    async fn lease(
        &self,
        name: &str,
        owner: &str,
        until_ms: i64,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Gives the lease back if `owner` holds it (a stopping replica).
    async fn release(&self, name: &str, owner: &str) -> Result<(), StoreError>;

    /// Escalations whose next step, pause or acknowledgement is due.
    async fn due_escalations(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<EscalationRecord>, StoreError>;
    /// The alert's escalation, active or not.
    async fn escalation(&self, alert_id: &str) -> Result<Option<EscalationRecord>, StoreError>;
    /// Moves a chain on (compare-and-set); `false`: it was not where expected.
    async fn advance_escalation(&self, advance: &Advance) -> Result<bool, StoreError>;
    /// Pages failed for good: these alerts' chains move on now.
    async fn escalate_now(
        &self,
        alert_ids: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// One audit entry: (kind, actor, via).
    async fn note(
        &self,
        alert_id: &str,
        entry: (&str, &str, &str),
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn add_override(&self, o: &OverrideRecord) -> Result<(), StoreError>;
    /// Overrides of these schedules that have not ended.
    async fn overrides(
        &self,
        schedules: &[&str],
        now: DateTime<Utc>,
    ) -> Result<Vec<OverrideRecord>, StoreError>;
    /// Outbox rows pending, failed and dead, and the due time (Unix ms) of
    /// the oldest due pending row.
    async fn outbox_counts(
        &self,
        now: DateTime<Utc>,
    ) -> Result<(Vec<(&'static str, i64)>, Option<i64>), StoreError>;
    /// Failed and dead deliveries, newest first, with their alerts' titles.
    async fn failed_deliveries(&self, limit: u32) -> Result<Vec<FailedDelivery>, StoreError>;
    /// What the console's overview draws: state changes since `since`, the
    /// alerts seen since then that fired most, each channel's outbox.
    async fn overview(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<OverviewRows, StoreError>;
    /// Re-checks alerts recorded as inhibited: one whose sources all
    /// resolved is released (notified if it still fires); one inhibited by
    /// another source now records that one. Returns how many were released.
    async fn release_inhibited(&self, now: DateTime<Utc>) -> Result<usize, StoreError>;
    /// Pages sent through `channel` to `person` since `since`.
    async fn pages_sent(
        &self,
        channel: &str,
        person: &str,
        since: DateTime<Utc>,
    ) -> Result<i64, StoreError>;
}

/// A CI series as stored: its key, a version that grows with every write
/// (optimistic concurrency across requests and replicas), and its state
/// (`engine::streak::SeriesState` as JSON).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiSeriesRow {
    pub key: String,
    pub version: i64,
    pub state: String,
    /// The alert does not yet show this state.
    pub pending: bool,
}

/// One callback identity for [`Store::remember`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayId {
    /// SHA-256 of the namespace and the key.
    pub key: [u8; 32],
    pub namespace: std::borrow::Cow<'static, str>,
    /// Unix seconds.
    pub expires_at: i64,
}

/// Opens the backend named by `[storage] url`, applying migrations.
pub async fn open(url: &str, engine: Engine) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    open_with(url, engine, Background::default()).await
}

/// What a store runs with besides its URL and rules: where its background
/// tasks are supervised, and the fault points tests arm.
#[derive(Clone, Default)]
pub struct Background {
    pub tasks: crate::tasks::Tasks,
    pub faults: std::sync::Arc<crate::faults::Faults>,
}

/// [`open`], with the server's tasks and faults.
pub async fn open_with(
    url: &str,
    engine: Engine,
    background: Background,
) -> Result<std::sync::Arc<dyn Store>, StoreError> {
    if url.starts_with("sqlite:") {
        Ok(std::sync::Arc::new(
            sqlite::open(url, engine, background).await?,
        ))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(std::sync::Arc::new(
            postgres::open(url, engine, background).await?,
        ))
    } else {
        Err(StoreError::Url(
            "must start with sqlite: or postgres://".into(),
        ))
    }
}

pub(crate) fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_ms(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("time {ms} out of range")))
}

/// The length of every id [`new_id`] makes: a shorter string may be a prefix
/// of one, a string this long is one or nothing.
pub const ID_LEN: usize = 16;

/// A new record id: 16 hex digits. Short prefixes stay unambiguous for chat
/// commands (`ack 3f2a`).
pub fn new_id() -> String {
    let mut b = [0u8; ID_LEN / 2];
    getrandom::fill(&mut b).expect("OS random source");
    hex::encode(b)
}
