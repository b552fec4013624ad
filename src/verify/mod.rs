//! Pure, I/O-free verification of inbound platform callbacks, plus the matching
//! signing functions (tests, benches and outbound senders need the exact inverse).
//!
//! Everything here works on raw bytes and strings and takes "now" as an argument,
//! so it can be unit-tested against the SDK-checked vectors in `tests/vectors/`
//! (copied from `../shared/spec/`) and benchmarked without a server.
//!
//! Every comparison of a signature, digest or token goes through [`ct_eq`], which
//! uses `subtle` so the time taken does not reveal how many leading bytes matched.

pub mod ci;
pub mod dingtalk;
mod error;
pub mod feishu;
pub mod links;
pub mod sentry;
pub mod sms;
pub mod timestamp;
pub mod webhook;
pub mod wecom;

pub use error::VerifyError;
use subtle::ConstantTimeEq;

/// Constant-time equality. Unequal lengths return `false` (lengths are public:
/// every digest we compare has a fixed, documented size).
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod vectors;

#[cfg(test)]
mod ci_vectors;
#[cfg(test)]
mod sms_vectors;

#[cfg(test)]
mod proptests;
