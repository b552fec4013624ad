//! Acting on alerts from where people are: card buttons, chat commands and
//! signed links all end in [`ops::Ops`], so every path applies the same rules
//! and leaves the same audit trail ("who, when, through what").
//!
//! - [`commands`]: what people type (`ack 3f2a`, `silence team="db" 1h`);
//! - [`ops`]: short ids, state changes, silences, and what to say back;
//! - [`oncall`]: who is on call, and overrides ("I take tonight");
//! - [`handler`]: the [`InteractionHandler`](crate::interaction::InteractionHandler)
//!   the inbound callbacks call.

pub mod commands;
pub mod handler;
pub mod oncall;
pub mod ops;
