//! An rclone.conf, read in place as rclone reads it, its remotes as Wharf
//! plugins with options.
//!
//! - The file is found as rclone finds it ([`default_path`]); one that is
//!   encrypted is opened with `RCLONE_CONFIG_PASS`, or refused saying so.
//! - `RCLONE_CONFIG_<NAME>_<KEY>` overrides (or, with `_TYPE`, defines) a
//!   remote, `RCLONE_<TYPE>_<KEY>` sets a key for every remote of a type,
//!   and a front end's `--<type>-<key>` flags win over both, in rclone's
//!   order.
//! - A path is located in rclone's syntax ([`RcloneConf::locate`]): an S3
//!   remote takes its bucket from the path's first segment, an alias
//!   points on to another remote's path, an overlay's `remote =` stays in
//!   rclone's syntax for the caller to locate in turn.
//! - A remote of a backend Wharf has no plugin for is an error when it is
//!   used, naming the backend; reading the file never fails for it.

mod file;
mod map;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use map::{known_keys, map, parse_flag_size, parse_size, Mapped};

/// rclone's config file: `$RCLONE_CONFIG`, else `rclone.conf` under
/// `$XDG_CONFIG_HOME/rclone` (or `~/.config/rclone`), else the old
/// `~/.rclone.conf` where that exists.
pub fn default_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("RCLONE_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let config_dir = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".config")));
    let modern = config_dir.map(|d| d.join("rclone").join("rclone.conf"));
    let old = home.map(|h| h.join(".rclone.conf"));
    match (modern, old) {
        (Some(modern), Some(old)) if !modern.exists() && old.exists() => Some(old),
        (modern, _) => modern,
    }
}

/// Where a path of an rclone remote leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    /// A key on a remote of a Wharf plugin. `id` names that remote: the
    /// rclone name, or `NAME:BUCKET` for an S3 remote (one Wharf remote per
    /// bucket); `key` is the path below it.
    Remote {
        /// The remote's name for Wharf.
        id: String,
        /// Its plugin and options.
        mapped: Mapped,
        /// The key or prefix on it.
        key: String,
    },
    /// An alias: the same path on another remote, to be located in turn.
    Alias {
        /// The remote the alias names.
        remote: String,
        /// The path on it.
        path: String,
    },
}

/// The remotes of one rclone.conf (and the environment's).
#[derive(Debug, Clone, Default)]
pub struct RcloneConf {
    path: Option<PathBuf>,
    sections: Vec<(String, BTreeMap<String, String>)>,
    vars: Vec<(String, String)>,
    flags: Vec<(String, String, String)>,
    /// rclone's `--ca-cert` files, in the order given.
    ca_certs: Vec<String>,
}

/// The backends that reach a server, to which rclone's `--ca-cert` (and
/// `RCLONE_CA_CERT`) applies.
const NETWORK_PLUGINS: &[&str] = &["s3", "ftp", "dropbox"];

/// The host setting a CA certificate file becomes (`tls_ca_file`, several
/// separated by commas).
const TLS_CA_KEY: &str = "tls_ca_file";

impl RcloneConf {
    /// The config at `explicit` (which need not exist: rclone then runs
    /// with no remotes), else at [`default_path`] if there is one there.
    /// `Ok(None)`: no rclone config at all.
    pub fn load(explicit: Option<&Path>) -> Result<Option<RcloneConf>, String> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        let path = match explicit {
            Some(path) => path.to_path_buf(),
            None => match default_path() {
                Some(path) if path.exists() => path,
                _ if vars.iter().any(|(k, _)| is_remote_type_var(k)) => {
                    return Ok(Some(RcloneConf {
                        vars,
                        ..RcloneConf::default()
                    }))
                }
                _ => return Ok(None),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                return Err(format!(
                    "cannot read the rclone config {}: {e}",
                    path.display()
                ))
            }
        };
        let password = std::env::var("RCLONE_CONFIG_PASS").ok();
        let mut conf = RcloneConf::parse(&text, Some(path), password.as_deref())?;
        conf.vars = vars;
        Ok(Some(conf))
    }

    /// The config in `text` (read from `path`, for messages); `password`
    /// opens an encrypted one.
    pub fn parse(
        text: &str,
        path: Option<PathBuf>,
        password: Option<&str>,
    ) -> Result<RcloneConf, String> {
        let shown = path
            .as_deref()
            .map_or("the rclone config".to_owned(), |p| p.display().to_string());
        let plain;
        let text = if file::is_encrypted(text) {
            let Some(password) = password.filter(|p| !p.is_empty()) else {
                return Err(format!(
                    "{shown} is encrypted: set RCLONE_CONFIG_PASS to its password (as rclone \
                     takes it), or decrypt it with `rclone config encryption remove`"
                ));
            };
            plain = file::decrypt(text, password).map_err(|why| format!("{shown}: {why}"))?;
            plain.as_str()
        } else {
            text
        };
        Ok(RcloneConf {
            path,
            sections: file::sections(text),
            vars: Vec::new(),
            flags: Vec::new(),
            ca_certs: Vec::new(),
        })
    }

    /// The environment to read overrides from (the process's by default
    /// when loaded; none when parsed).
    pub fn with_vars(mut self, vars: Vec<(String, String)>) -> Self {
        self.vars = vars;
        self
    }

    /// The file it was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Sets `key` for every remote of backend `kind`, as rclone's
    /// `--<kind>-<key>` flags do (over the file and the environment). A key
    /// Wharf has no equivalent for is refused, naming it.
    pub fn set_flag(&mut self, kind: &str, key: &str, value: &str) -> Result<(), String> {
        let key = key.replace('-', "_");
        if !known_keys(kind).contains(&key.as_str()) {
            return Err(format!(
                "--{kind}-{} is not supported: Wharf's {kind} has no such setting",
                key.replace('_', "-")
            ));
        }
        self.flags.push((kind.to_owned(), key, value.to_owned()));
        Ok(())
    }

    /// Trusts the CA certificates in the PEM file at `path` for every
    /// remote that reaches a server, as rclone's `--ca-cert` (which may be
    /// given more than once) does. Given, it replaces `RCLONE_CA_CERT`.
    pub fn add_ca_cert(&mut self, path: &str) {
        self.ca_certs.push(path.to_owned());
    }

    /// The CA certificate files to trust: `--ca-cert`'s, else those of
    /// `RCLONE_CA_CERT` (rclone's form of the flag: one path, or several
    /// separated by commas).
    fn ca_certs(&self) -> Option<String> {
        if !self.ca_certs.is_empty() {
            return Some(self.ca_certs.join(","));
        }
        self.vars
            .iter()
            .find(|(var, _)| var == "RCLONE_CA_CERT")
            .map(|(_, value)| value.trim().to_owned())
            .filter(|value| !value.is_empty())
    }

    /// Every remote's name: the file's sections and those the environment
    /// defines, in the file's order.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.sections.iter().map(|(n, _)| n.clone()).collect();
        for (var, _) in &self.vars {
            if let Some(name) = remote_type_var(var) {
                if !names.iter().any(|n| env_name(n) == name) {
                    names.push(name.to_lowercase());
                }
            }
        }
        names
    }

    /// Whether remote `name` is defined here.
    pub fn has(&self, name: &str) -> bool {
        self.keys(name).is_some()
    }

    /// The keys of remote `name`, every override applied.
    pub fn keys(&self, name: &str) -> Option<BTreeMap<String, String>> {
        let own = env_name(name);
        let mut keys = self
            .sections
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, keys)| keys.clone());
        let remote_prefix = format!("RCLONE_CONFIG_{own}_");
        let longer: Vec<String> = self
            .sections
            .iter()
            .map(|(n, _)| env_name(n))
            .filter(|n| n.len() > own.len() && n.starts_with(&own))
            .collect();
        let mut remote_vars = BTreeMap::new();
        for (var, value) in &self.vars {
            let Some(key) = var.strip_prefix(&remote_prefix) else {
                continue;
            };
            // RCLONE_CONFIG_R2_BACKUPS_REGION belongs to r2_backups, not r2.
            if longer
                .iter()
                .any(|l| var.starts_with(&format!("RCLONE_CONFIG_{l}_")))
            {
                continue;
            }
            remote_vars.insert(key.to_lowercase(), value.clone());
        }
        if keys.is_none() && remote_vars.contains_key("type") {
            keys = Some(BTreeMap::new());
        }
        let mut keys = keys?;
        if let Some(kind) = remote_vars.get("type").or(keys.get("type")).cloned() {
            let backend_prefix = format!("RCLONE_{}_", kind.to_uppercase());
            for (var, value) in &self.vars {
                if let Some(key) = var.strip_prefix(&backend_prefix) {
                    let key = key.to_lowercase();
                    if known_keys(&kind).contains(&key.as_str()) {
                        keys.insert(key, value.clone());
                    }
                }
            }
            keys.extend(remote_vars);
            for (flag_kind, key, value) in &self.flags {
                if *flag_kind == kind {
                    keys.insert(key.clone(), value.clone());
                }
            }
        }
        Some(keys)
    }

    /// Where `path` on remote `name` leads; `Err` says why it cannot be
    /// used (an unknown remote, a backend Wharf has no plugin for, an S3
    /// path without a bucket…). A remote that reaches a server trusts the
    /// CA certificates of `--ca-cert` or `RCLONE_CA_CERT`.
    pub fn locate(&self, name: &str, path: &str) -> Result<Located, String> {
        let mut located = self.locate_untrusting(name, path)?;
        if let (Located::Remote { mapped, .. }, Some(files)) = (&mut located, self.ca_certs()) {
            if NETWORK_PLUGINS.contains(&mapped.plugin) {
                mapped.options.insert(TLS_CA_KEY.to_owned(), files);
            }
        }
        Ok(located)
    }

    fn locate_untrusting(&self, name: &str, path: &str) -> Result<Located, String> {
        let shown = self
            .path
            .as_deref()
            .map_or("the environment".to_owned(), |p| p.display().to_string());
        let Some(keys) = self.keys(name) else {
            return Err(format!("there is no remote '{name}' in {shown}"));
        };
        let in_conf = |why: String| format!("remote '{name}' of {shown}: {why}");
        match keys.get("type").map(String::as_str) {
            Some("alias") => {
                let target = keys
                    .get("remote")
                    .filter(|r| !r.is_empty())
                    .ok_or_else(|| in_conf("it is an alias with no remote to name".into()))?;
                match split_remote(target) {
                    Some((remote, base)) => Ok(Located::Alias {
                        remote: remote.to_owned(),
                        path: join(base, path),
                    }),
                    None => Ok(Located::Remote {
                        id: name.to_owned(),
                        mapped: map(name, &keys, None).map_err(in_conf)?,
                        key: path.trim_matches('/').to_owned(),
                    }),
                }
            }
            Some("s3") => {
                let trimmed = path.trim_start_matches('/');
                let (bucket, key) = trimmed.split_once('/').unwrap_or((trimmed, ""));
                Ok(Located::Remote {
                    id: format!("{name}:{bucket}"),
                    mapped: map(name, &keys, Some(bucket)).map_err(in_conf)?,
                    key: key.to_owned(),
                })
            }
            Some("local") => {
                let absolute = if path.starts_with('/') {
                    PathBuf::from(path)
                } else {
                    std::env::current_dir()
                        .map_err(|e| format!("cannot read the current directory: {e}"))?
                        .join(path)
                };
                Ok(Located::Remote {
                    id: name.to_owned(),
                    mapped: map(name, &keys, None).map_err(in_conf)?,
                    key: absolute
                        .to_string_lossy()
                        .trim_start_matches('/')
                        .to_owned(),
                })
            }
            _ => Ok(Located::Remote {
                id: name.to_owned(),
                mapped: map(name, &keys, None).map_err(in_conf)?,
                key: path.to_owned(),
            }),
        }
    }
}

/// `REMOTE:PATH` split, or `None` for a local path (`/srv/x`, `./x`).
pub fn split_remote(text: &str) -> Option<(&str, &str)> {
    if text.starts_with('/') || text.starts_with('.') {
        return None;
    }
    let (remote, path) = text.split_once(':')?;
    (!remote.is_empty() && !remote.contains('/')).then_some((remote, path))
}

/// `base` with `path` below it.
fn join(base: &str, path: &str) -> String {
    let path = path.trim_start_matches('/');
    match (base.is_empty(), path.is_empty()) {
        (_, true) => base.to_owned(),
        (true, false) => path.to_owned(),
        (false, false) => format!("{}/{path}", base.trim_end_matches('/')),
    }
}

/// A remote's name as rclone writes it in a variable.
fn env_name(name: &str) -> String {
    name.to_uppercase().replace('-', "_")
}

/// `RCLONE_CONFIG_<NAME>_TYPE`: the `NAME` of a remote the environment
/// defines.
fn remote_type_var(var: &str) -> Option<&str> {
    var.strip_prefix("RCLONE_CONFIG_")?
        .strip_suffix("_TYPE")
        .filter(|n| !n.is_empty())
}

fn is_remote_type_var(var: &str) -> bool {
    remote_type_var(var).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = "\
[r2_backups]
type = s3
provider = Cloudflare
access_key_id = AK
secret_access_key = SK
endpoint = http://127.0.0.1:9000
no_check_bucket = true

[r2_compressed]
type = compress
remote = r2_backups:my-bucket
mode = gzip

[r2_secure]
type = crypt
remote = r2_compressed:
password = x

[photos]
type = alias
remote = r2_backups:media/photos

[box]
type = sftp
host = example.com
";

    fn conf(vars: &[(&str, &str)]) -> RcloneConf {
        RcloneConf::parse(CONF, Some("rclone.conf".into()), None)
            .unwrap()
            .with_vars(
                vars.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
    }

    #[test]
    fn an_s3_path_names_its_bucket_first() {
        let Located::Remote { id, mapped, key } =
            conf(&[]).locate("r2_backups", "my-bucket/db/x.gz").unwrap()
        else {
            panic!("not a remote")
        };
        assert_eq!(id, "r2_backups:my-bucket");
        assert_eq!(mapped.options["bucket"], "my-bucket");
        assert_eq!(key, "db/x.gz");
    }

    #[test]
    fn overlays_keep_their_remote_in_rclone_syntax() {
        let Located::Remote { mapped, key, .. } =
            conf(&[]).locate("r2_secure", "django-backups/db").unwrap()
        else {
            panic!("not a remote")
        };
        assert_eq!(mapped.plugin, "crypt");
        assert_eq!(mapped.options["remote"], "r2_compressed:");
        assert_eq!(key, "django-backups/db");
    }

    #[test]
    fn an_alias_points_on() {
        assert_eq!(
            conf(&[]).locate("photos", "2026/a.jpg").unwrap(),
            Located::Alias {
                remote: "r2_backups".into(),
                path: "media/photos/2026/a.jpg".into()
            }
        );
    }

    #[test]
    fn the_environment_overrides_and_defines_remotes() {
        let conf = conf(&[
            ("RCLONE_CONFIG_R2_BACKUPS_REGION", "weur"),
            ("RCLONE_S3_ACL", "private"),
            ("RCLONE_CONFIG_EXTRA_TYPE", "local"),
        ]);
        let keys = conf.keys("r2_backups").unwrap();
        assert_eq!(keys["region"], "weur");
        assert_eq!(keys["acl"], "private");
        assert!(conf.names().contains(&"extra".to_owned()));
        assert!(conf.has("extra"));
    }

    #[test]
    fn flags_win_and_unknown_ones_are_named() {
        let mut conf = conf(&[("RCLONE_CONFIG_R2_BACKUPS_CHUNK_SIZE", "16Mi")]);
        conf.set_flag("s3", "chunk-size", "8Mi").unwrap();
        assert_eq!(conf.keys("r2_backups").unwrap()["chunk_size"], "8Mi");
        let err = conf.set_flag("s3", "sse-kms-key-id", "k").unwrap_err();
        assert!(err.contains("--s3-sse-kms-key-id"), "{err}");
    }

    #[test]
    fn ca_cert_is_trusted_by_every_remote_that_reaches_a_server() {
        let trusted =
            |conf: &RcloneConf, name: &str, path: &str| match conf.locate(name, path).unwrap() {
                Located::Remote { mapped, .. } => mapped.options.get("tls_ca_file").cloned(),
                Located::Alias { .. } => panic!("not a remote"),
            };
        let plain = conf(&[]);
        assert_eq!(trusted(&plain, "r2_backups", "b/x"), None);

        let from_env = conf(&[("RCLONE_CA_CERT", "/etc/ca.pem,/etc/other.pem")]);
        assert_eq!(
            trusted(&from_env, "r2_backups", "b/x").as_deref(),
            Some("/etc/ca.pem,/etc/other.pem")
        );
        // An overlay reaches no server itself; the remote below it trusts.
        assert_eq!(trusted(&from_env, "r2_secure", "x"), None);

        let mut flagged = conf(&[("RCLONE_CA_CERT", "/etc/ca.pem")]);
        flagged.add_ca_cert("/a.pem");
        flagged.add_ca_cert("/b.pem");
        assert_eq!(
            trusted(&flagged, "r2_backups", "b/x").as_deref(),
            Some("/a.pem,/b.pem")
        );
    }

    #[test]
    fn a_backend_without_a_plugin_fails_when_used_naming_it() {
        let err = conf(&[]).locate("box", "x").unwrap_err();
        assert!(err.contains("'sftp'") && err.contains("box"), "{err}");
        assert!(conf(&[])
            .locate("nowhere", "x")
            .unwrap_err()
            .contains("no remote 'nowhere'"));
    }

    #[test]
    fn an_encrypted_file_without_its_password_is_refused_saying_why() {
        let err = RcloneConf::parse(
            "# Encrypted rclone configuration File\n\nRCLONE_ENCRYPT_V0:\nAAAA\n",
            None,
            None,
        )
        .unwrap_err();
        assert!(err.contains("RCLONE_CONFIG_PASS"), "{err}");
    }
}
