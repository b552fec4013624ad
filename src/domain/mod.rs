//! The alert domain: types whose constructors refuse bad input ("parse, don't
//! validate"), so the engine and the store only ever see valid values. Every
//! error names the input field it is about, for the API's 400 answers.

pub mod labels;

pub use labels::Labels;

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
}
