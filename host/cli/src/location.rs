//! Where an argument points: `remote:key` or a local path, as in rclone.

use std::path::PathBuf;

use anyhow::{bail, Result};

/// One side of a transfer or the target of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file or directory on this machine.
    Local(PathBuf),
    /// A key or prefix on a remote; `key` may be empty (the whole remote).
    Remote { remote: String, key: String },
}

impl Location {
    /// `name:rest` is a remote when `name` is a valid remote name; anything
    /// else, and anything starting with `/` or `.`, is a local path.
    pub fn parse(arg: &str) -> Location {
        if !arg.starts_with('/') && !arg.starts_with('.') {
            if let Some((remote, key)) = arg.split_once(':') {
                if wharf::config::check_remote_name(remote).is_ok() {
                    return Location::Remote {
                        remote: remote.to_owned(),
                        key: key.to_owned(),
                    };
                }
            }
        }
        Location::Local(PathBuf::from(arg))
    }

    /// The last segment of the path or key, used when the destination is a
    /// directory or prefix.
    pub fn base_name(&self) -> Option<String> {
        match self {
            Location::Local(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            Location::Remote { key, .. } => key
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .filter(|n| !n.is_empty())
                .map(str::to_owned),
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Remote { remote, key } => write!(f, "{remote}:{key}"),
        }
    }
}

/// A destination that is a directory or prefix (ends with `/`, is the
/// whole remote, or is an existing local directory) receives the source
/// under its own name.
pub fn destination_for(src: &Location, dst: &Location) -> Result<Location> {
    let into = match dst {
        Location::Local(path) => path.is_dir() || path.to_string_lossy().ends_with('/'),
        Location::Remote { key, .. } => key.is_empty() || key.ends_with('/'),
    };
    if !into {
        return Ok(dst.clone());
    }
    let Some(name) = src.base_name() else {
        bail!(crate::UsageError(format!(
            "cannot tell what to name the copy of {src} in {dst}; give the destination a name"
        )));
    };
    Ok(match dst {
        Location::Local(path) => Location::Local(path.join(name)),
        Location::Remote { remote, key } => Location::Remote {
            remote: remote.clone(),
            key: format!("{key}{name}"),
        },
    })
}

/// `a/b` as the prefix `a/b/`; the empty key stays the whole remote.
pub fn as_prefix(key: &str) -> String {
    if key.is_empty() || key.ends_with('/') {
        key.to_owned()
    } else {
        format!("{key}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_remotes_and_paths() {
        assert_eq!(
            Location::parse("media:2026/a.jpg"),
            Location::Remote {
                remote: "media".into(),
                key: "2026/a.jpg".into()
            }
        );
        assert_eq!(
            Location::parse("media:"),
            Location::Remote {
                remote: "media".into(),
                key: "".into()
            }
        );
        assert_eq!(
            Location::parse("photo.jpg"),
            Location::Local("photo.jpg".into())
        );
        assert_eq!(Location::parse("./a:b"), Location::Local("./a:b".into()));
        assert_eq!(
            Location::parse("/tmp/a:b"),
            Location::Local("/tmp/a:b".into())
        );
        assert_eq!(Location::parse("a b:c"), Location::Local("a b:c".into()));
    }

    #[test]
    fn base_names() {
        assert_eq!(
            Location::parse("media:a/b.jpg").base_name().as_deref(),
            Some("b.jpg")
        );
        assert_eq!(
            Location::parse("media:a/b/").base_name().as_deref(),
            Some("b")
        );
        assert_eq!(Location::parse("media:").base_name(), None);
        assert_eq!(
            Location::parse("dir/x.txt").base_name().as_deref(),
            Some("x.txt")
        );
    }
}
