//! Works out exactly what a plugin may reach from its declared `access`
//! and the user's option values, before any of its code runs with them.

use std::path::{Path, PathBuf};

use crate::bindings::types::{Access, NetworkProtocol, PluginInfo};
use crate::{Error, ErrorKind, Result};

/// Everything one remote's plugin instance is allowed to reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grant {
    /// Host directories, each preopened in the guest.
    pub directories: Vec<DirectoryGrant>,
    /// Network endpoints.
    pub network: Vec<NetworkGrant>,
    /// What its TLS connections (`wasi:tls`) trust.
    pub tls: crate::TlsTrust,
    /// For an overlay, the remote (and prefix) it stores its objects in.
    pub below: Option<crate::overlay::Below>,
}

/// One directory a plugin may read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryGrant {
    /// The option that named it.
    pub option: String,
    /// The directory on the host, absolute.
    pub host_path: PathBuf,
    /// Where the guest sees it: `/` and the option's name.
    pub guest_path: String,
}

/// One network endpoint a plugin may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkGrant {
    /// How it is reached.
    pub protocol: NetworkProtocol,
    /// A URL for HTTP, `host:port` for TCP.
    pub endpoint: String,
    /// Why the plugin says it needs it.
    pub reason: String,
    /// Whether the user's configuration names its host (an option value
    /// the user gave, or `allow_hosts`), rather than the plugin (a host
    /// written in its template, or an option's default). Only a host the
    /// user named may resolve to a loopback, private or link-local
    /// address: a plugin must not point its own name at the user's
    /// machine or network.
    pub named_by_user: bool,
}

/// The grant for `options`, and the options as the guest must see them
/// (directory options rewritten to their guest paths). `base` resolves
/// relative directory paths.
pub fn compute(
    info: &PluginInfo,
    options: &[(String, String)],
    base: &Path,
) -> Result<(Grant, Vec<(String, String)>)> {
    let value = |name: &str| -> Option<String> {
        options
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .or_else(|| {
                info.options
                    .iter()
                    .find(|spec| spec.name == name)
                    .and_then(|spec| spec.default.clone())
            })
            .filter(|v| !v.is_empty())
    };
    let mut grant = Grant::default();
    let mut guest_options = options.to_vec();
    for access in &info.access {
        match access {
            Access::Directory(option) => {
                // A directory is granted only from a value the user gave:
                // a default is the plugin's choice, and a plugin must not
                // choose what it may reach (`~/`, `/`).
                let given = options
                    .iter()
                    .find(|(n, _)| n == option)
                    .map(|(_, v)| v.clone())
                    .filter(|v| !v.is_empty());
                let Some(path) = given else {
                    let suggested = info
                        .options
                        .iter()
                        .find(|spec| &spec.name == option)
                        .and_then(|spec| spec.default.as_deref())
                        .filter(|d| !d.is_empty())
                        .map(|d| {
                            format!(
                                "; the plugin suggests '{d}', but a directory is granted only \
                                 from a value you give"
                            )
                        })
                        .unwrap_or_default();
                    return Err(Error::new(
                        ErrorKind::InvalidConfig,
                        format!(
                            "option '{option}' is required: it names the directory the plugin \
                             may use{suggested}"
                        ),
                    ));
                };
                let guest_path = format!("/{option}");
                let host_path = absolute(&path, base);
                refuse_links(option, &host_path)?;
                match guest_options.iter_mut().find(|(n, _)| n == option) {
                    Some(entry) => entry.1 = guest_path.clone(),
                    None => guest_options.push((option.clone(), guest_path.clone())),
                }
                grant.directories.push(DirectoryGrant {
                    option: option.clone(),
                    host_path,
                    guest_path,
                });
            }
            Access::Network(network) => {
                if let Some(endpoint) = network
                    .endpoints
                    .iter()
                    .find_map(|template| expand(template, &value))
                {
                    let named_by_user = names_host_of(&endpoint, options);
                    grant.network.push(NetworkGrant {
                        protocol: network.protocol,
                        named_by_user,
                        endpoint,
                        reason: network.reason.clone(),
                    });
                }
            }
        }
    }
    Ok((grant, guest_options))
}

/// Refuses a directory reached through a symbolic link a plugin could
/// have made. A plugin can make links inside its own root (they stay
/// inside its sandbox), but the host follows links when it opens a root:
/// a remote whose root lies inside another's would open wherever a link
/// made by the other's plugin points. Links the system set up (owned by
/// root, in a directory the user cannot write, such as macOS's `/tmp`)
/// are followed; a plugin running as the user cannot have made them.
fn refuse_links(option: &str, path: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    let mut prefix = PathBuf::new();
    for component in path.components() {
        prefix.push(component);
        let Ok(meta) = std::fs::symlink_metadata(&prefix) else {
            // Not there (yet): nothing further to follow.
            return Ok(());
        };
        if !meta.file_type().is_symlink() {
            continue;
        }
        let parent_writable = prefix
            .parent()
            .and_then(|p| std::fs::metadata(p).ok())
            .is_none_or(|parent| {
                me == 0
                    || parent.mode() & 0o022 != 0
                    || (parent.uid() == me && parent.mode() & 0o200 != 0)
            });
        if meta.uid() == 0 && me != 0 && !parent_writable {
            continue;
        }
        let target = std::fs::read_link(&prefix)
            .map(|t| t.display().to_string())
            .unwrap_or_else(|_| "?".into());
        let resolved = std::fs::canonicalize(path)
            .map(|p| format!(": give {} if that is what you mean", p.display()))
            .unwrap_or_default();
        return Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "option '{option}': {} is a symbolic link (to {target}), and a remote's \
                 directory is not reached through a link, which a plugin could have made{resolved}",
                prefix.display()
            ),
        ));
    }
    Ok(())
}

/// Whether one of the values the user gave (not a default) is the host of
/// `endpoint`, or a URL or `host:port` with that host.
fn names_host_of(endpoint: &str, options: &[(String, String)]) -> bool {
    let Some(host) = crate::policy::host_of(endpoint) else {
        return false;
    };
    options.iter().any(|(_, value)| {
        let value = value.trim();
        value.eq_ignore_ascii_case(&host)
            || crate::policy::host_of(value).is_some_and(|given| given == host)
    })
}

/// Fills the `{option}` placeholders of `template`; `None` if one has no
/// value.
pub fn expand(template: &str, value: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let close = open + rest[open..].find('}')?;
        out.push_str(&rest[..open]);
        out.push_str(&value(&rest[open + 1..close])?);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// `path` made absolute against `base`, with a leading `~/` meaning the
/// home directory.
pub fn absolute(path: &str, base: &Path) -> PathBuf {
    let path = match (path.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    };
    let joined = if path.is_absolute() {
        path
    } else {
        base.join(path)
    };
    // Drop `.` components so messages show clean paths.
    joined.components().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_templates() {
        let value = |name: &str| match name {
            "host" => Some("ftp.example.com".to_owned()),
            "port" => Some("21".to_owned()),
            _ => None,
        };
        assert_eq!(
            expand("{host}:{port}", &value).as_deref(),
            Some("ftp.example.com:21")
        );
        assert_eq!(expand("{endpoint}", &value), None);
        assert_eq!(
            expand("api.example.com:443", &value).as_deref(),
            Some("api.example.com:443")
        );
    }

    #[test]
    fn a_directory_is_granted_only_from_a_value_the_user_gave() {
        use crate::plugin::tests::{info, option};
        let info = info(
            vec![option("root", "where", Some("~/"))],
            vec![Access::Directory("root".into())],
        );
        let error = compute(&info, &[], Path::new("/work")).unwrap_err();
        assert_eq!(*error.kind(), ErrorKind::InvalidConfig);
        assert_eq!(
            error.message(),
            "option 'root' is required: it names the directory the plugin may use; the plugin \
             suggests '~/', but a directory is granted only from a value you give"
        );
        let given = [("root".to_owned(), "./media".to_owned())];
        let (grant, guest) = compute(&info, &given, Path::new("/work")).unwrap();
        assert_eq!(grant.directories[0].host_path, PathBuf::from("/work/media"));
        assert_eq!(guest, [("root".to_owned(), "/root".to_owned())]);
    }

    #[test]
    fn only_a_host_the_user_gave_is_named_by_the_user() {
        use crate::bindings::types::NetworkAccess;
        use crate::plugin::tests::{info, option};
        let access = |template: &str| {
            Access::Network(NetworkAccess {
                protocol: NetworkProtocol::Http,
                endpoints: vec![template.into()],
                reason: String::new(),
            })
        };
        let info = info(
            vec![
                option("endpoint", "where", Some("http://169.254.169.254")),
                option("port", "port", None),
            ],
            vec![access("{endpoint}"), access("http://localhost:{port}")],
        );
        let named = |options: &[(&str, &str)]| {
            let options: Vec<(String, String)> = options
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let (grant, _) = compute(&info, &options, Path::new("/")).unwrap();
            grant
                .network
                .iter()
                .map(|g| (g.endpoint.clone(), g.named_by_user))
                .collect::<Vec<_>>()
        };
        // The default is the plugin's choice; the literal `localhost` too.
        assert_eq!(
            named(&[("port", "9000")]),
            [
                ("http://169.254.169.254".to_owned(), false),
                ("http://localhost:9000".to_owned(), false)
            ]
        );
        // A value the user wrote names its host.
        assert_eq!(
            named(&[("endpoint", "http://127.0.0.1:9000/"), ("port", "1")])[0],
            ("http://127.0.0.1:9000/".to_owned(), true)
        );
    }

    #[test]
    fn absolute_paths() {
        assert_eq!(
            absolute("./media", Path::new("/work")),
            PathBuf::from("/work/media")
        );
        assert_eq!(
            absolute("/srv/x", Path::new("/work")),
            PathBuf::from("/srv/x")
        );
    }
}
