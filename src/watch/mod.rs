//! ackbot's own clocks: work that runs on a timer rather than because
//! someone called. Each runs as a supervised background task
//! ([`crate::tasks`]); all but the prober run on every replica at once.
//!
//! - [`retention`]: prunes what is older than `[storage] retention`.
//! - [`streaks`]: ingests CI alerts whose first ingest failed.
//! - [`quiet`]: resolves error groups and log-rule groups that went quiet.
//! - [`escalations`]: runs the escalation steps that fell due.
//! - [`gauges`]: the outbox and replay-memory gauges of `/metrics`.
//! - [`inhibitions`]: notifies alerts whose inhibiting source resolved.
//! - [`prober`]: the Jenkins poller ([`jenkins`]) and the health checks
//!   ([`checks`]) the heartbeat deadlines ([`heartbeats`]) and Sentry cron
//!   monitors' ([`monitors`]); unlike the
//!   others, it runs on one replica at a time.

pub mod checks;
pub mod escalations;
pub mod gauges;
pub mod heartbeats;
pub mod inhibitions;
pub mod jenkins;
pub mod monitors;
pub mod prober;
pub mod quiet;
pub mod retention;
pub mod streaks;
