//! ackbot: alerts from monitoring and CI into Feishu/Lark, DingTalk and WeCom,
//! and acknowledgements back from the chat.
//!
//! # Layout
//!
//! Data flows one way: inbound → engine → store → delivery → outbound; chat
//! callbacks come back in through inbound → act → store.
//!
//! - [`config`]: the TOML contract, `${VAR}` expansion, secrets that never print.
//! - [`verify`]: pure signature, timestamp and decryption checks per platform,
//!   and the signing of outbound requests and action links.
//! - [`inbound`]: thin actix handlers that verify, decode and dispatch.
//! - [`domain`], [`ingest`]: validated alerts, silences, matchers; source formats.
//! - [`engine`]: what to notify, when and where (pure).
//! - [`store`]: the durable state and outbox, SQLite or PostgreSQL.
//! - [`delivery`], [`outbound`]: the worker that sends due notifications, and the
//!   channels and cards it sends them through.
//! - [`interaction`], [`act`]: card clicks and chat commands, and acting on them.
//! - [`replay`]: remembers accepted callbacks so none is acted on twice.
//! - [`startup`], [`tls`], [`telemetry`], [`metrics`]: the server, its
//!   certificate, its logs, its counters.
//! - [`watch`]: ackbot's own clocks (retention, the CI sweep, quiet
//!   resolution, escalation timers, the prober: Jenkins polls, health checks,
//!   heartbeats and cron monitors).
//! - [`reload`]: a new config applied without a restart (SIGHUP, `/-/reload`).
//! - [`cli`]: the client commands (`ackbot alerts`, `silence`, `deliveries`)
//!   against a running ackbot's API.
//! - [`tasks`]: background tasks that cannot end silently; [`faults`]: fault
//!   points the tests arm to prove a failure loses nothing.

pub mod act;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod engine;
pub mod faults;
pub mod inbound;
pub mod ingest;
pub mod interaction;
pub mod metrics;
pub mod outbound;
pub mod reload;
pub mod replay;
pub mod startup;
pub mod store;
pub mod streaks;
pub mod tasks;
pub mod telemetry;
pub mod tls;
pub mod verify;
pub mod watch;
