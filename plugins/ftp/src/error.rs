//! What goes wrong talking to an FTP server, and the one place where it
//! becomes the contract's error.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use wharf_plugin::net::NetError;
use wharf_plugin::Error;

/// A server's reply: its code and its text (all lines, joined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub code: u16,
    pub text: String,
}

impl Reply {
    /// 1xx: the server started something and will reply again.
    pub fn is_preliminary(&self) -> bool {
        (100..200).contains(&self.code)
    }
    /// 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code)
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code, self.text.trim())
    }
}

/// Every failure, typed. `what` says which operation on which key.
#[derive(Debug, Clone)]
pub enum FtpError {
    /// The connection failed, timed out, or was refused by the sandbox.
    Net { what: String, error: NetError },
    /// The server refused the login.
    Login { server: String, reply: Reply },
    /// The server answered a command with an error.
    Refused {
        what: String,
        command: String,
        reply: Reply,
    },
    /// There is no object at the key.
    NotFound { what: String },
    /// An object or a directory is in the way.
    AlreadyExists { what: String, detail: String },
    /// A passive-mode reply named another address than the server's: the
    /// FTP bounce problem. Nothing was connected.
    Bounce {
        what: String,
        offered: SocketAddr,
        server: IpAddr,
    },
    /// The server said something this plugin cannot read.
    Protocol { what: String, detail: String },
    /// Every connection the configuration allows is in use.
    Busy { concurrency: usize },
    /// The key cannot be stored on an FTP server.
    InvalidKey { key: String, why: String },
    /// A finished writer was used again, or the like.
    Misuse { what: String },
}

pub type FtpResult<T> = std::result::Result<T, FtpError>;

impl FtpError {
    pub fn net(what: impl Into<String>, error: NetError) -> Self {
        FtpError::Net {
            what: what.into(),
            error,
        }
    }

    /// Whether a retry on a fresh connection may succeed: the connection
    /// dropped (an idle timeout) or the server said 421 (closing).
    pub fn is_lost_connection(&self) -> bool {
        match self {
            FtpError::Net { error, .. } => {
                matches!(error, NetError::Unreachable(_) | NetError::Timeout(_))
            }
            FtpError::Refused { reply, .. } => reply.code == 421,
            _ => false,
        }
    }
}

impl fmt::Display for FtpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FtpError::Net {
                what,
                error: error @ NetError::Tls(_),
            } => write!(
                f,
                "{what}: {error}; if the server's certificate is the right one, trust the CA \
                 that signed it with the remote's tls_ca_file"
            ),
            FtpError::Net { what, error } => write!(f, "{what}: {error}"),
            FtpError::Login { server, reply } => write!(
                f,
                "log in to {server}: the server refused it ({reply}); check options 'user' and 'password'"
            ),
            FtpError::Refused {
                what,
                command,
                reply,
            } => write!(f, "{what}: {command} failed: {reply}"),
            FtpError::NotFound { what } => write!(f, "{what}: no such object"),
            FtpError::AlreadyExists { what, detail } => write!(f, "{what}: {detail}"),
            FtpError::Bounce {
                what,
                offered,
                server,
            } => write!(
                f,
                "{what}: the server asked for a data connection to {offered}, not to itself ({server}); \
                 refused, since that would let a server aim this plugin at another machine (the FTP \
                 bounce problem). A server behind NAT must be configured to announce its public address"
            ),
            FtpError::Protocol { what, detail } => write!(f, "{what}: {detail}"),
            FtpError::Busy { concurrency } => write!(
                f,
                "all {concurrency} connections to the server are in use; finish a transfer first or \
                 raise option 'concurrency'"
            ),
            FtpError::InvalidKey { key, why } => write!(f, "key {key:?}: {why}"),
            FtpError::Misuse { what } => write!(f, "{what}"),
        }
    }
}

impl From<FtpError> for Error {
    fn from(error: FtpError) -> Self {
        let message = error.to_string();
        match error {
            FtpError::Net { error, .. } => match error {
                NetError::Refused(_) | NetError::Tls(_) => Error::permission_denied(message),
                NetError::Unreachable(_) | NetError::Timeout(_) => Error::unavailable(message),
                NetError::Other(_) => Error::other(message),
            },
            FtpError::Login { .. } => Error::permission_denied(message),
            FtpError::Refused { reply, .. } => match reply.code {
                // 421: closing; 425/426: data connection trouble; 450/451:
                // busy or local error; 452: out of space for now.
                421 | 425 | 426 | 450 | 451 => Error::unavailable(message),
                452 | 552 => Error::other(message),
                530 | 532 | 534 => Error::permission_denied(message),
                553 => Error::invalid_key(message),
                502 | 504 => Error::unsupported(message),
                _ => Error::other(message),
            },
            FtpError::NotFound { .. } => Error::not_found(message),
            FtpError::AlreadyExists { .. } => Error::already_exists(message),
            FtpError::Bounce { .. } => Error::permission_denied(message),
            FtpError::Protocol { .. } | FtpError::Misuse { .. } => Error::other(message),
            FtpError::Busy { .. } => Error::unavailable(message),
            FtpError::InvalidKey { .. } => Error::invalid_key(message),
        }
    }
}
