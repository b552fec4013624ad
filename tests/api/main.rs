//! Black-box tests: a real ackbot on a random port, over TLS, spoken to with
//! HTTP. One test binary (faster to link); one module per surface.

mod alertmanager;
mod alerts;
mod chatops;
mod ci;
mod cli;
mod delivery;
mod dingtalk;
mod engine;
mod errors;
mod escalation;
mod feishu;
mod heartbeats;
mod helpers;
mod hostile;
mod ingest;
mod inhibit;
mod intervals;
mod lifecycle;
mod links;
mod logs;
mod metrics;
mod mockbot;
mod mocksms;
mod probes;
mod process;
mod replays;
mod server;
mod silences;
mod store;
mod storm;
mod ui;
mod wecom;
