//! ackbot: alerts from monitoring and CI into Feishu/Lark, DingTalk and WeCom,
//! and acknowledgements back from the chat.
//!
//! # Layout
//!
//! Data flows one way: inbound → engine → store → delivery → outbound; chat
//! callbacks come back in through inbound. So far:
//!
//! - [`config`]: the TOML contract, `${VAR}` expansion, secrets that never print.
//! - [`verify`]: pure signature, timestamp and decryption checks per platform.
//! - [`inbound`]: thin actix handlers that verify, decode and dispatch.
//! - [`interaction`]: platform-neutral card clicks and chat messages, and the
//!   handler interface that acts on them.
//! - [`replay`]: remembers accepted callbacks so none is acted on twice.
//! - [`startup`], [`tls`], [`telemetry`]: the server, its certificate, its logs.

pub mod act;
pub mod config;
pub mod delivery;
pub mod domain;
pub mod engine;
pub mod inbound;
pub mod ingest;
pub mod interaction;
pub mod metrics;
pub mod outbound;
pub mod replay;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod verify;
