//! The key rules of `wharf:storage`, written once for the host and every
//! plugin. The rules themselves are documented in `wit/types.wit`; this crate
//! is their executable form, so the two sides can never disagree.
//!
//! ```
//! use wharf_key::{check_key, check_prefix};
//! assert!(check_key("photos/2026/a b%+#?.jpg").is_ok());
//! assert!(check_key("photos//a.jpg").is_err());
//! assert!(check_prefix("photos/").is_ok());
//! ```
#![deny(missing_docs)]

use std::fmt;

/// The longest key allowed, in bytes of UTF-8.
pub const MAX_KEY_LEN: usize = 1024;

/// Why a key or prefix breaks the rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// The key is the empty string.
    Empty,
    /// The key is longer than [`MAX_KEY_LEN`] bytes.
    TooLong(usize),
    /// The key holds a NUL character.
    Nul,
    /// The key starts with `/`.
    LeadingSlash,
    /// The key ends with `/` (allowed for a prefix).
    TrailingSlash,
    /// The key holds `//`.
    EmptySegment,
    /// A segment is `.` or `..`.
    DotSegment(&'static str),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Empty => write!(f, "a key cannot be empty"),
            KeyError::TooLong(len) => {
                write!(f, "a key is at most {MAX_KEY_LEN} bytes, this one is {len}")
            }
            KeyError::Nul => write!(f, "a key cannot hold a NUL character"),
            KeyError::LeadingSlash => write!(f, "a key cannot start with '/'"),
            KeyError::TrailingSlash => write!(f, "a key cannot end with '/'"),
            KeyError::EmptySegment => write!(f, "a key cannot hold an empty segment ('//')"),
            KeyError::DotSegment(dot) => write!(f, "a key cannot hold a '{dot}' segment"),
        }
    }
}

impl std::error::Error for KeyError {}

/// Checks `key` against the key rules.
pub fn check_key(key: &str) -> Result<(), KeyError> {
    if key.is_empty() {
        return Err(KeyError::Empty);
    }
    if key.ends_with('/') {
        return Err(KeyError::TrailingSlash);
    }
    check_common(key)
}

/// Checks `prefix` against the rules for a listing prefix: the key rules,
/// except that it may be empty, may end with `/`, and its last segment may
/// be the start of a longer one (so a trailing `.` is allowed).
pub fn check_prefix(prefix: &str) -> Result<(), KeyError> {
    if prefix.is_empty() {
        return Ok(());
    }
    // Measured whole: the incomplete last segment below is not passed to
    // `check_common`, so a short folder part with a huge tail would pass.
    if prefix.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong(prefix.len()));
    }
    // The text after the last '/' is incomplete and may grow into any
    // segment, so only the complete segments before it are checked.
    match prefix.rfind('/') {
        Some(end) => check_common(&prefix[..=end]).and_then(|()| {
            if prefix[end + 1..].contains('\0') {
                Err(KeyError::Nul)
            } else {
                Ok(())
            }
        }),
        None if prefix.contains('\0') => Err(KeyError::Nul),
        None => Ok(()),
    }
}

/// The rules shared by keys and prefixes; a trailing `/` is allowed here and
/// rejected by [`check_key`].
fn check_common(text: &str) -> Result<(), KeyError> {
    if text.len() > MAX_KEY_LEN {
        return Err(KeyError::TooLong(text.len()));
    }
    if text.contains('\0') {
        return Err(KeyError::Nul);
    }
    if text.starts_with('/') {
        return Err(KeyError::LeadingSlash);
    }
    let body = text.strip_suffix('/').unwrap_or(text);
    for segment in body.split('/') {
        match segment {
            "" => return Err(KeyError::EmptySegment),
            "." => return Err(KeyError::DotSegment(".")),
            ".." => return Err(KeyError::DotSegment("..")),
            _ => {}
        }
    }
    Ok(())
}

/// Splits `key` into its parent prefix (without the trailing `/`) and its
/// last segment: `a/b/c` gives `(Some("a/b"), "c")`.
pub fn split_parent(key: &str) -> (Option<&str>, &str) {
    match key.rfind('/') {
        Some(i) => (Some(&key[..i]), &key[i + 1..]),
        None => (None, key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_keys() {
        for key in [
            "a",
            "a/b/c",
            "with space/%2F+#?.txt",
            "ünïcödé/日本語/🦀",
            ".hidden/..dots/...",
            "a\\b",
        ] {
            assert_eq!(check_key(key), Ok(()), "{key:?}");
        }
        assert_eq!(check_key(&"k".repeat(MAX_KEY_LEN)), Ok(()));
    }

    #[test]
    fn rejects_invalid_keys() {
        let cases: [(&str, KeyError); 9] = [
            ("", KeyError::Empty),
            ("/a", KeyError::LeadingSlash),
            ("a/", KeyError::TrailingSlash),
            ("a//b", KeyError::EmptySegment),
            (".", KeyError::DotSegment(".")),
            ("a/./b", KeyError::DotSegment(".")),
            ("..", KeyError::DotSegment("..")),
            ("a/../b", KeyError::DotSegment("..")),
            ("a\0b", KeyError::Nul),
        ];
        for (key, want) in cases {
            assert_eq!(check_key(key), Err(want), "{key:?}");
        }
        assert_eq!(
            check_key(&"k".repeat(MAX_KEY_LEN + 1)),
            Err(KeyError::TooLong(MAX_KEY_LEN + 1))
        );
    }

    #[test]
    fn prefixes() {
        for prefix in ["", "a", "a/", "a/b", "a/.", "a/b/.."] {
            assert_eq!(check_prefix(prefix), Ok(()), "{prefix:?}");
        }
        assert_eq!(check_prefix("/"), Err(KeyError::LeadingSlash));
        assert_eq!(check_prefix("a//"), Err(KeyError::EmptySegment));
        assert_eq!(check_prefix("../"), Err(KeyError::DotSegment("..")));
        assert_eq!(check_prefix("a/\0"), Err(KeyError::Nul));
        let long_tail = format!("a/{}", "x".repeat(1100));
        assert_eq!(
            check_prefix(&long_tail),
            Err(KeyError::TooLong(long_tail.len()))
        );
        let long_folder = format!("{}/", "x".repeat(MAX_KEY_LEN));
        assert_eq!(
            check_prefix(&long_folder),
            Err(KeyError::TooLong(MAX_KEY_LEN + 1))
        );
        let longest = format!("a/{}", "x".repeat(MAX_KEY_LEN - 2));
        assert_eq!(check_prefix(&longest), Ok(()));
    }

    #[test]
    fn splits_parent() {
        assert_eq!(split_parent("a/b/c"), (Some("a/b"), "c"));
        assert_eq!(split_parent("c"), (None, "c"));
    }
}
