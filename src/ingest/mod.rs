//! Wire payloads from other systems, converted into [`crate::domain::NewAlert`].
//! Pure: no HTTP and no storage, so each format is unit-tested on captured
//! payloads (`tests/fixtures/`).

pub mod alertmanager;
pub mod ci;
pub mod decode;
pub mod lines;
pub mod loki;
pub mod sentry;

#[cfg(test)]
mod proptests;
