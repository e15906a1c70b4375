//! What crypt's own failures say: which object, what went wrong, and what
//! the user can do about it.

use wharf_plugin::Error;

/// An object below that does not decrypt (a wrong password, a damaged or
/// truncated object, or not a crypt object at all).
pub fn undecryptable(key: &str, why: &str) -> Error {
    let hint = match why {
        "failed to authenticate decrypted block - bad password?" => {
            "its data does not decrypt with this password: the password is wrong, the object \
             was changed or damaged below, or this is not a crypt remote"
        }
        "not an encrypted file - bad magic string" => {
            "it is not a crypt object (no RCLONE header): this may not be a crypt remote, or the \
             object was written there by something else"
        }
        "file is too short to be encrypted" | "file has truncated block header" => {
            "it is truncated or damaged below"
        }
        _ => "it does not decrypt",
    };
    Error::other(format!("{key:?}: {hint} ({why})"))
}

/// A key that cannot be encrypted (a segment too long for `standard`).
pub fn unencryptable(key: &str, why: &str) -> Error {
    Error::invalid_key(format!("{key:?} cannot be encrypted: {why}"))
}
