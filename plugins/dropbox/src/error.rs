//! What goes wrong talking to Dropbox, and the one place where it becomes
//! the contract's error.

use wharf_plugin::Error;

/// Every failure, typed. `what` says which operation on which key.
#[derive(Debug, Clone)]
pub enum DropboxError {
    /// Dropbox answered with an API error (409 and its `error_summary`,
    /// such as `path/not_found/..`).
    Api {
        what: String,
        summary: String,
        /// The typed `error` of the answer, for the details a summary
        /// leaves out (an upload session's `correct_offset`).
        error: serde_json::Value,
    },
    /// The access token was refused and could not be renewed.
    Auth { what: String, detail: String },
    /// Too many requests; Dropbox asked to wait this long (milliseconds).
    RateLimited {
        what: String,
        summary: String,
        retry_after_ms: Option<u64>,
    },
    /// Dropbox refused the request itself (400: a bug or an API change).
    BadRequest { what: String, detail: String },
    /// A server error (5xx): worth retrying.
    Server {
        what: String,
        status: u16,
        detail: String,
    },
    /// The answer could not be read.
    BadResponse { what: String, detail: String },
    /// What Dropbox stored does not hash to what was sent.
    HashMismatch {
        what: String,
        sent: String,
        stored: String,
    },
    /// The transport failed (connection, TLS, the sandbox).
    Transport(Error),
}

pub type DropboxResult<T> = std::result::Result<T, DropboxError>;

impl DropboxError {
    /// The tags of an API error (`path/not_found/...` → `path`,
    /// `not_found`), empty otherwise.
    pub fn tags(&self) -> Vec<&str> {
        match self {
            DropboxError::Api { summary, .. } => summary
                .split('/')
                .map(|t| t.trim_end_matches('.').trim())
                .filter(|t| !t.is_empty())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Nothing at the path, or a folder where an object was asked for.
    pub fn is_not_found(&self) -> bool {
        let tags = self.tags();
        tags.contains(&"not_found") || tags.contains(&"not_file")
    }

    /// Worth another try: rate limits and server errors.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            DropboxError::RateLimited { .. }
                | DropboxError::Server { .. }
                | DropboxError::Transport(Error::Unavailable(_))
        )
    }
}

impl From<Error> for DropboxError {
    fn from(error: Error) -> Self {
        DropboxError::Transport(error)
    }
}

impl From<DropboxError> for Error {
    fn from(error: DropboxError) -> Error {
        let tags: Vec<String> = error.tags().into_iter().map(str::to_owned).collect();
        let has = |tag: &str| tags.iter().any(|t| t == tag);
        match error {
            DropboxError::Api { what, summary, .. } => {
                let message = format!("{what}: Dropbox said {summary}");
                if has("not_found") || has("not_file") {
                    Error::not_found(message)
                } else if has("conflict") {
                    Error::already_exists(format!(
                        "{message}: a file or folder is in the way (a key cannot be both an object and a folder on Dropbox)"
                    ))
                } else if has("malformed_path") || has("disallowed_name") {
                    Error::invalid_key(format!("{message}: Dropbox does not allow this name"))
                } else if has("too_many_write_operations") {
                    Error::rate_limited(
                        format!("{message}: too many writes to this account at once; retry"),
                        Some(1000),
                    )
                } else if has("no_write_permission") || has("restricted_content") {
                    Error::permission_denied(message)
                } else if has("insufficient_space") {
                    Error::other(format!(
                        "{message}: the Dropbox account is full; free some space or upgrade it"
                    ))
                } else {
                    Error::other(message)
                }
            }
            DropboxError::Auth { what, detail } => Error::permission_denied(format!(
                "{what}: Dropbox refused the credentials: {detail}; run `wharf authorize dropbox` for a new refresh token"
            )),
            DropboxError::RateLimited {
                what,
                summary,
                retry_after_ms,
            } => Error::rate_limited(
                format!("{what}: Dropbox is rate limiting ({summary}) and asked to wait"),
                retry_after_ms,
            ),
            DropboxError::BadRequest { what, detail } => {
                Error::other(format!("{what}: Dropbox refused the request: {detail}"))
            }
            DropboxError::Server {
                what,
                status,
                detail,
            } => Error::unavailable(format!(
                "{what}: Dropbox failed with HTTP {status}: {detail}; retry later"
            )),
            DropboxError::BadResponse { what, detail } => {
                Error::other(format!("{what}: unexpected answer from Dropbox: {detail}"))
            }
            DropboxError::HashMismatch { what, sent, stored } => Error::unavailable(format!(
                "{what}: the content hash of what Dropbox stored ({stored}) is not that of what was sent ({sent}); the upload was removed, retry it"
            )),
            DropboxError::Transport(error) => error,
        }
    }
}
