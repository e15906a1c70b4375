//! Typed errors: the WIT `error` variant with constructors that read well.

pub use crate::bindings::wharf::storage::types::Error;
use crate::RateLimit;

/// The result of every plugin operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// `not-found`: there is no object at the key.
    pub fn not_found(message: impl Into<String>) -> Self {
        Error::NotFound(message.into())
    }
    /// `already-exists`: the operation would replace what it must not.
    pub fn already_exists(message: impl Into<String>) -> Self {
        Error::AlreadyExists(message.into())
    }
    /// `invalid-key`: the key breaks the rules or the backend's limits.
    pub fn invalid_key(message: impl Into<String>) -> Self {
        Error::InvalidKey(message.into())
    }
    /// `invalid-config`: an option is missing, unknown or unusable.
    pub fn invalid_config(message: impl Into<String>) -> Self {
        Error::InvalidConfig(message.into())
    }
    /// `permission-denied`: credentials or access were refused.
    pub fn permission_denied(message: impl Into<String>) -> Self {
        Error::PermissionDenied(message.into())
    }
    /// `unsupported`: the backend cannot do this at all.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::Unsupported(message.into())
    }
    /// `rate-limited`, with how long the backend asked to wait, if it said.
    pub fn rate_limited(message: impl Into<String>, retry_after_ms: Option<u64>) -> Self {
        Error::RateLimited(RateLimit {
            message: message.into(),
            retry_after_ms,
        })
    }
    /// `unavailable`: a transient failure worth retrying.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Error::Unavailable(message.into())
    }
    /// `other`: anything else.
    pub fn other(message: impl Into<String>) -> Self {
        Error::Other(message.into())
    }

    /// The human message, whatever the case.
    pub fn message(&self) -> &str {
        match self {
            Error::NotFound(m)
            | Error::AlreadyExists(m)
            | Error::InvalidKey(m)
            | Error::InvalidConfig(m)
            | Error::PermissionDenied(m)
            | Error::Unsupported(m)
            | Error::Unavailable(m)
            | Error::Other(m) => m,
            Error::RateLimited(limit) => &limit.message,
        }
    }
}
