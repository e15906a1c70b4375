//! Where an argument points: `remote:key` or a local path, as in rclone.

use std::path::PathBuf;

use crate::Endpoint;

/// One side of a transfer or the target of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file or directory on this machine.
    Local(PathBuf),
    /// A key or prefix on a remote; `key` may be empty (the whole remote).
    Remote {
        /// The remote's name.
        remote: String,
        /// The key or prefix on it.
        key: String,
    },
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
}

impl Location {
    /// The endpoint it names, its remote opened from `remotes` (once, and
    /// shared with every other use of that remote).
    pub async fn endpoint(&self, remotes: &wharf::Remotes) -> wharf::Result<Endpoint> {
        Ok(match self {
            Location::Local(path) => Endpoint::local(path.clone()),
            Location::Remote { remote, key } => {
                let (remote, key) = remotes.locate(remote, key).await?;
                Endpoint::remote(remote, key)
            }
        })
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
}
