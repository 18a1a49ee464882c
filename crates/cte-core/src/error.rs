//! Errors of the storage port.

/// A boxed error from an adapter, kept for logs.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What a [`crate::store::Store`] call can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing named does not exist; the message says which, in words fit for a user.
    #[error("{0}")]
    NotFound(String),
    /// The write would break a uniqueness rule; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The request is well-formed but refers to something unusable (e.g. an unknown tag).
    #[error("{0}")]
    Invalid(String),
    /// The store itself failed (IO, corruption, a bug).
    #[error("storage failure: {0}")]
    Unavailable(#[source] BoxError),
}

/// Result of a store call.
pub type StoreResult<T> = Result<T, StoreError>;
