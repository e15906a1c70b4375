//! What compress's own failures say: which object, what went wrong, and
//! what the user can do about it.

use wharf_plugin::Error;

/// An object whose stored form cannot be read back.
pub fn unreadable(key: &str, why: &str) -> Error {
    Error::other(format!(
        "{key:?} cannot be read through compress: {why}; it was damaged or truncated below, or \
         written there by something other than rclone's compress"
    ))
}

/// A key whose stored names would be too long below.
pub fn too_long(key: &str, why: &str) -> Error {
    Error::invalid_key(format!(
        "{key:?}: stored compressed, its name below is longer (rclone's compress adds `.` and an \
         11-character size and `.gz`, or `.bin`, and keeps `.json` beside it), and the store \
         below refuses it; shorten the key ({why})"
    ))
}

/// No object at `key`.
pub fn not_found(key: &str) -> Error {
    Error::not_found(format!("no object at {key:?}"))
}
