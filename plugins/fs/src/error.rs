//! The one place where I/O errors become the contract's error cases.

use std::io;

use wasip2::filesystem::types::ErrorCode;
use wharf_plugin::Error;

/// The operation a failure happened in, for error messages.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Stat,
    Read,
    Write,
    Delete,
    List,
    Copy,
}

impl Op {
    fn verb(self) -> &'static str {
        match self {
            Op::Stat => "stat",
            Op::Read => "read",
            Op::Write => "write",
            Op::Delete => "delete",
            Op::List => "list",
            Op::Copy => "copy",
        }
    }
}

/// The `std::io` view of a WASI error code, so one `parse_error` serves both.
pub fn io_error(code: ErrorCode) -> io::Error {
    use io::ErrorKind as K;
    let kind = match code {
        ErrorCode::NoEntry => K::NotFound,
        ErrorCode::Access | ErrorCode::NotPermitted => K::PermissionDenied,
        ErrorCode::Exist => K::AlreadyExists,
        ErrorCode::IsDirectory => K::IsADirectory,
        ErrorCode::NotDirectory => K::NotADirectory,
        ErrorCode::NotEmpty => K::DirectoryNotEmpty,
        ErrorCode::NameTooLong => K::InvalidFilename,
        ErrorCode::InsufficientSpace => K::StorageFull,
        ErrorCode::Quota => K::QuotaExceeded,
        ErrorCode::ReadOnly => K::ReadOnlyFilesystem,
        ErrorCode::Interrupted => K::Interrupted,
        ErrorCode::WouldBlock => K::WouldBlock,
        _ => K::Other,
    };
    io::Error::new(kind, format!("{code:?}"))
}

pub fn not_an_object(key: &str) -> Error {
    Error::not_found(format!(
        "no object at {key:?}: it is a directory, which holds other keys; list it instead"
    ))
}

/// Maps an I/O error onto the contract's cases. The sandbox reports a path
/// that escapes the root (through a symbolic link) as a permission error.
pub fn parse_error(op: Op, key: &str, error: io::Error) -> Error {
    let verb = op.verb();
    match error.kind() {
        io::ErrorKind::NotFound => Error::not_found(format!("no object at {key:?}")),
        io::ErrorKind::PermissionDenied => Error::permission_denied(format!(
            "cannot {verb} {key:?}: permission denied, either by the file's permissions or \
             because its path leads outside this remote's directory (a symbolic link), \
             which the sandbox refuses"
        )),
        io::ErrorKind::IsADirectory | io::ErrorKind::DirectoryNotEmpty => {
            Error::already_exists(format!(
                "cannot {verb} {key:?}: it is a directory that holds other keys, and on a file \
                 system an object cannot also hold other keys"
            ))
        }
        io::ErrorKind::NotADirectory => Error::not_found(format!(
            "no object at {key:?}: part of its path is an object, not a directory"
        )),
        io::ErrorKind::InvalidFilename => Error::invalid_key(format!(
            "cannot {verb} {key:?}: the file system refuses the name (a segment longer than \
             255 bytes?); shorten the key"
        )),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Error::other(format!(
            "cannot {verb} {key:?}: the disk is full; free some space and retry"
        )),
        io::ErrorKind::ReadOnlyFilesystem => Error::permission_denied(format!(
            "cannot {verb} {key:?}: the file system is read-only"
        )),
        io::ErrorKind::Interrupted | io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => {
            Error::unavailable(format!("cannot {verb} {key:?}: {error}; retry"))
        }
        _ => Error::other(format!("cannot {verb} {key:?}: {error}")),
    }
}
