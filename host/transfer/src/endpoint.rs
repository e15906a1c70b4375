//! Either side of a transfer: a local path or a key or prefix on a remote.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use wharf::Remote;

/// One side of a transfer. A key or path ending in `/`, an empty key, or
/// an existing local directory names a tree; anything else names one
/// object (or, for `copy -R` and `sync`, the tree below it).
#[derive(Clone)]
pub enum Endpoint {
    /// A file or directory on this machine.
    Local(PathBuf),
    /// A key or prefix on a remote; an empty key is the whole remote.
    Remote {
        /// The remote, shared: its instances serve every worker.
        remote: Arc<Remote>,
        /// The key or prefix.
        key: String,
    },
}

impl Endpoint {
    /// A local file or directory.
    pub fn local(path: impl Into<PathBuf>) -> Self {
        Endpoint::Local(path.into())
    }

    /// `key` (or a prefix ending in `/`) on `remote`.
    pub fn remote(remote: Arc<Remote>, key: impl Into<String>) -> Self {
        Endpoint::Remote {
            remote,
            key: key.into(),
        }
    }

    /// Where the object `rel` (relative to this endpoint as a tree; empty
    /// for the endpoint itself) is.
    pub fn at(&self, rel: &str) -> Endpoint {
        if rel.is_empty() {
            return self.clone();
        }
        match self {
            Endpoint::Local(path) => Endpoint::Local(path.join(rel)),
            Endpoint::Remote { remote, key } => Endpoint::Remote {
                remote: remote.clone(),
                key: format!("{key}{rel}"),
            },
        }
    }

    /// This endpoint as the root of a tree: a remote key gains its `/`.
    pub fn as_tree(&self) -> Endpoint {
        match self {
            Endpoint::Local(path) => Endpoint::Local(path.clone()),
            Endpoint::Remote { remote, key } => Endpoint::Remote {
                remote: remote.clone(),
                key: as_prefix(key),
            },
        }
    }

    /// Whether this endpoint ends in a separator or is a whole remote: a
    /// copy into it keeps the source's name.
    pub fn is_container(&self) -> bool {
        match self {
            Endpoint::Local(path) => path.is_dir() || path.to_string_lossy().ends_with('/'),
            Endpoint::Remote { key, .. } => key.is_empty() || key.ends_with('/'),
        }
    }

    /// The last segment of the path or key: the name a copy into a
    /// container takes.
    pub fn base_name(&self) -> Option<String> {
        match self {
            Endpoint::Local(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            Endpoint::Remote { key, .. } => key
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        }
    }

    /// The remote, for a remote endpoint.
    pub fn remote_ref(&self) -> Option<&Arc<Remote>> {
        match self {
            Endpoint::Remote { remote, .. } => Some(remote),
            Endpoint::Local(_) => None,
        }
    }

    /// Whether both endpoints are on the same remote (the same shared
    /// remote, so one plugin can copy inside its backend).
    pub(crate) fn same_remote(&self, other: &Endpoint) -> bool {
        match (self.remote_ref(), other.remote_ref()) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a.name() == b.name(),
            _ => false,
        }
    }
}

/// `key` as a prefix: empty stays empty, anything else ends in `/`.
pub fn as_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_owned()
    } else {
        format!("{key}/")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Endpoint::Local(path) => write!(f, "{}", path.display()),
            Endpoint::Remote { remote, key } => f.write_str(&wharf::path_on(remote.name(), key)),
        }
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_into_a_container_takes_the_last_segment() {
        assert_eq!(
            Endpoint::local("dir/x.txt").base_name().as_deref(),
            Some("x.txt")
        );
        assert_eq!(Endpoint::local("/").base_name(), None);
        assert_eq!(as_prefix("a/b"), "a/b/");
        assert_eq!(as_prefix("a/b/"), "a/b/");
        assert_eq!(as_prefix(""), "");
    }
}
