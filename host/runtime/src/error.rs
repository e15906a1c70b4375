//! The host's error type. Errors a plugin returns (its `error` variant) and
//! failures of the plugin itself (a trap, a limit) are kept apart: the first
//! are storage answers a caller can branch on, the second mean the plugin
//! was stopped and will be started afresh.

use std::fmt;
use std::time::Duration;

use crate::bindings::types;

/// What kind of failure an [`Error`] is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// There is no object at the key.
    NotFound,
    /// The operation would replace something it must not.
    AlreadyExists,
    /// The key or prefix breaks the key rules or the backend's limits.
    InvalidKey,
    /// The configuration (a remote, an option, the config file) is wrong.
    InvalidConfig,
    /// The backend or the sandbox refused the access.
    PermissionDenied,
    /// The backend cannot do this.
    Unsupported,
    /// The backend asked to slow down.
    RateLimited {
        /// How long it asked the caller to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// A transient failure worth retrying.
    Unavailable,
    /// The plugin went past a bound the host sets (memory, time, message
    /// size); the call was stopped and the plugin will be restarted.
    LimitExceeded,
    /// The plugin crashed (a trap or a panic) or broke the contract; it will
    /// be restarted for the next call.
    PluginFailed,
    /// A plugin file could not be loaded: not a component, not a Wharf
    /// plugin, or built for an incompatible contract version.
    InvalidPlugin,
    /// Reading or writing a local file or stream failed.
    Io,
    /// The bytes did not arrive as they were sent: a size or a hash of a
    /// copy differs from its source's. Worth another try.
    Corrupted,
    /// The request cannot be done as asked (sync of one object, a copy
    /// into a directory with no name to give it); the caller must change
    /// it.
    InvalidRequest,
    /// Anything else.
    Other,
}

/// Where a failure happened: which remote, which operation, which key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    /// The remote's name, such as `media`.
    pub remote: Option<String>,
    /// The operation, such as `read`.
    pub operation: Option<&'static str>,
    /// The key or prefix involved.
    pub key: Option<String>,
}

/// A failure of the host or of a plugin, with where it happened.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    context: Context,
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message for people.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            context: Context::default(),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The message, without the context.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where it happened.
    pub fn context(&self) -> &Context {
        &self.context
    }

    /// Records the remote, unless one is recorded already.
    pub fn with_remote(mut self, remote: &str) -> Self {
        self.context.remote.get_or_insert_with(|| remote.to_owned());
        self
    }

    /// Records the operation, unless one is recorded already.
    pub fn with_operation(mut self, operation: &'static str) -> Self {
        self.context.operation.get_or_insert(operation);
        self
    }

    /// Records the key, unless one is recorded already.
    pub fn with_key(mut self, key: &str) -> Self {
        self.context.key.get_or_insert_with(|| key.to_owned());
        self
    }

    /// Whether retrying later may succeed: the backend said so
    /// (`unavailable`, `rate-limited`), or a copy did not arrive whole
    /// (`Corrupted`). Everything else is permanent: retrying a missing
    /// object, a refused key or credential, a bad configuration, a crash
    /// of the plugin or a bound it went past gives the same answer again.
    pub fn is_transient(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Unavailable | ErrorKind::RateLimited { .. } | ErrorKind::Corrupted
        )
    }

    /// How long the backend asked the caller to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match self.kind {
            ErrorKind::RateLimited { retry_after } => retry_after,
            _ => None,
        }
    }

    /// A failure to read or write a local file or stream: `what` says
    /// what was being done, with the path.
    pub fn io(what: impl fmt::Display, error: std::io::Error) -> Self {
        Error::new(ErrorKind::Io, format!("{what}: {error}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Context {
            remote,
            operation,
            key,
        } = &self.context;
        match (operation, remote, key) {
            (Some(op), Some(remote), Some(key)) => {
                write!(f, "{op} {}: ", crate::path_on(remote, key))?
            }
            (Some(op), Some(remote), None) => write!(f, "{op} on remote '{remote}': ")?,
            (None, Some(remote), Some(key)) => write!(f, "{}: ", crate::path_on(remote, key))?,
            (None, Some(remote), None) => write!(f, "remote '{remote}': ")?,
            (Some(op), None, Some(key)) => write!(f, "{op} {key}: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<types::Error> for Error {
    fn from(error: types::Error) -> Self {
        use types::Error as E;
        let (kind, message) = match error {
            E::NotFound(m) => (ErrorKind::NotFound, m),
            E::AlreadyExists(m) => (ErrorKind::AlreadyExists, m),
            E::InvalidKey(m) => (ErrorKind::InvalidKey, m),
            E::InvalidConfig(m) => (ErrorKind::InvalidConfig, m),
            E::PermissionDenied(m) => (ErrorKind::PermissionDenied, m),
            E::Unsupported(m) => (ErrorKind::Unsupported, m),
            E::RateLimited(limit) => (
                ErrorKind::RateLimited {
                    retry_after: limit.retry_after_ms.map(Duration::from_millis),
                },
                limit.message,
            ),
            E::Unavailable(m) => (ErrorKind::Unavailable, m),
            E::Other(m) => (ErrorKind::Other, m),
        };
        Error::new(kind, printable(&bounded_message(message)))
    }
}

/// `text` with every control character but newline and tab written out as
/// an escape (`\u{1b}`), so that text from a plugin (an error message, a
/// description, a key shown to people) cannot move the cursor, erase a
/// line or recolour what the user reads on a terminal.
pub fn printable(text: &str) -> std::borrow::Cow<'_, str> {
    let unsafe_char = |c: char| c.is_control() && c != '\n' && c != '\t';
    if !text.chars().any(unsafe_char) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The most bytes of a plugin's error message the host keeps: a bound of
/// the contract, so that one answer cannot flood a terminal or a log.
const MAX_PLUGIN_MESSAGE_BYTES: usize = 4096;

/// `message`, cut after [`MAX_PLUGIN_MESSAGE_BYTES`] (at a character
/// boundary) with the cut marked.
fn bounded_message(mut message: String) -> String {
    if message.len() <= MAX_PLUGIN_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_PLUGIN_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    let cut = message.len() - end;
    message.truncate(end);
    message.push_str(&format!(
        "… [{cut} more bytes cut: the host keeps the first {MAX_PLUGIN_MESSAGE_BYTES} bytes of \
         a plugin's message]"
    ));
    message
}

/// The end of `text` (what a plugin printed last), cut before its last
/// [`MAX_PLUGIN_MESSAGE_BYTES`] (at a character boundary) with the cut
/// marked.
pub(crate) fn bounded_tail(text: &str) -> String {
    if text.len() <= MAX_PLUGIN_MESSAGE_BYTES {
        return text.to_owned();
    }
    let mut start = text.len() - MAX_PLUGIN_MESSAGE_BYTES;
    while !text.is_char_boundary(start) {
        start += 1;
    }
    format!(
        "[{start} earlier bytes cut: the host quotes the last {MAX_PLUGIN_MESSAGE_BYTES} bytes \
         a plugin printed] …{}",
        &text[start..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_from_a_plugin_are_written_out() {
        let error = Error::from(types::Error::Other(
            "\u{1b}[2K\rall good\u{9b}31m\nnext\tline".into(),
        ));
        assert_eq!(
            error.message(),
            "\\u{1b}[2K\\u{d}all good\\u{9b}31m\nnext\tline"
        );
        assert_eq!(printable("plain/key.jpg"), "plain/key.jpg");
    }

    #[test]
    fn a_long_plugin_message_is_cut_at_a_character_and_marked() {
        let long = format!("x{}", "é".repeat(3000));
        let error = Error::from(types::Error::Other(long.clone()));
        let (kept, marker) = error.message().split_once('…').unwrap();
        assert_eq!(kept.len(), 4095, "the cut falls before a split 'é'");
        assert!(long.starts_with(kept));
        assert_eq!(
            marker,
            " [1906 more bytes cut: the host keeps the first 4096 bytes of a plugin's message]"
        );
        let short = Error::from(types::Error::NotFound("no object there".into()));
        assert_eq!(short.message(), "no object there");
    }
}
