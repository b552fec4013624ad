//! The alert domain: types whose constructors refuse bad input ("parse, don't
//! validate"), so the engine and the store only ever see valid values. Every
//! error names the input field it is about, for the API's 400 answers.

pub mod alert;
pub mod fingerprint;
pub mod human;
pub mod labels;
pub mod matcher;
pub mod severity;
pub mod silence;
pub mod state;

pub use alert::{AlertInput, AlertStatus, NewAlert};
pub use fingerprint::Fingerprint;
pub use labels::Labels;
pub use matcher::{MatchOp, Matcher};
pub use severity::Severity;
pub use silence::NewSilence;
pub use state::{AlertState, StateAction, Transition};

/// A refused input value: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct DomainError {
    pub field: &'static str,
    pub message: String,
}

impl DomainError {
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }

    /// The same error about item `index` of a batch: `alerts[2]: …`.
    pub fn at_index(self, index: usize) -> Self {
        Self::new(self.field, format!("alerts[{index}]: {}", self.message))
    }
}
