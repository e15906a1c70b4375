//! Remotes and where they come from: the config file, the environment, and
//! the built-in `media` remote that needs no configuration at all.
//!
//! ```toml
//! [remotes.backup]
//! plugin = "fs"              # a built-in plugin, a name in the plugin directory, or a .wasm path
//! root = "/srv/backup"       # the plugin's own options
//! memory_limit_mib = 256     # optional bounds on the plugin instance
//! call_timeout_secs = 60
//! max_sockets = 16           # TCP sockets / HTTP connections per instance
//! host_memory_limit_mib = 64 # memory the host holds for an instance
//! allow_hosts = ["proxy.example:3128"]  # more endpoints the plugin may reach
//! tls_ca_file = "~/ca.pem"   # CA certificates its TLS connections also trust
//! tls_insecure_skip_verify = false      # true: no certificate checks (testing only)
//! ```
//!
//! Any option can be overridden with `WHARF_REMOTE_<NAME>_<OPTION>`
//! (upper-case, `-` as `_`), and a remote can be defined by the
//! environment alone with `WHARF_REMOTE_<NAME>_PLUGIN`. A variable that
//! fits two remotes (`WHARF_REMOTE_A_B_ROOT` for `a` and `a-b`) belongs to
//! the one with the longer name.
//! `WHARF_REMOTE_<NAME>_OPTIONS` (or `options = '…'` in the file) gives
//! options as one JSON object, the way Django sites configure
//! django-storages, whose S3 option names are accepted as aliases (see
//! `django.rs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use wharf_rclone_conf::{Located, RcloneConf};

use crate::{Error, ErrorKind, Limits, Result};

/// The remote that exists without configuration.
pub const DEFAULT_REMOTE: &str = "media";
/// Its directory, relative to the current directory.
pub const DEFAULT_REMOTE_ROOT: &str = "./media";

/// Keys of a remote's table that configure the host, not the plugin.
const PLUGIN_KEY: &str = "plugin";
const MEMORY_KEY: &str = "memory_limit_mib";
const TIMEOUT_KEY: &str = "call_timeout_secs";
const INSTANCES_KEY: &str = "max_instances";
const SOCKETS_KEY: &str = "max_sockets";
const HOST_MEMORY_KEY: &str = "host_memory_limit_mib";
const ALLOW_HOSTS_KEY: &str = "allow_hosts";
const TLS_CA_KEY: &str = "tls_ca_file";
const TLS_SKIP_VERIFY_KEY: &str = "tls_insecure_skip_verify";
/// The sha256 the remote's plugin must have: a pin kept in the user's own
/// config, where whoever can replace a plugin file cannot change it.
const PIN_KEY: &str = "sha256";
/// For an overlay: the remote (and prefix) it stores its objects in,
/// `REMOTE:PREFIX`, as rclone's `remote =` is written.
const BELOW_KEY: &str = "remote";
/// boto3's (and so django-storages') spelling of the TLS trust: `false`
/// checks no certificate, a path adds a CA bundle.
const VERIFY_KEY: &str = "verify";
/// One JSON object of plugin options (`WHARF_REMOTE_<NAME>_OPTIONS`).
const OPTIONS_KEY: &str = "options";
/// Every key of a remote's table that is not a plugin option.
pub const HOST_KEYS: &[&str] = &[
    MEMORY_KEY,
    TIMEOUT_KEY,
    INSTANCES_KEY,
    SOCKETS_KEY,
    HOST_MEMORY_KEY,
    ALLOW_HOSTS_KEY,
    TLS_CA_KEY,
    TLS_SKIP_VERIFY_KEY,
    VERIFY_KEY,
    PIN_KEY,
    BELOW_KEY,
];

/// The configuration: every declared remote.
#[derive(Debug, Clone, Default)]
pub struct Config {
    path: Option<PathBuf>,
    remotes: BTreeMap<String, BTreeMap<String, String>>,
    /// The remotes of an rclone.conf, read in place beside the file's.
    rclone: Option<RcloneConf>,
    /// Why the rclone.conf found by rclone's lookup could not be read
    /// (said when a remote is not found, not before: a Wharf command
    /// that does not use it must not fail for it).
    rclone_unread: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    remotes: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

/// Where a remote was declared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RemoteOrigin {
    /// In the config file.
    File(PathBuf),
    /// By `WHARF_REMOTE_<NAME>_PLUGIN`.
    Environment,
    /// The built-in `media` remote.
    Default,
    /// Given whole by the program (a plugin name and its options, as the
    /// Python package and the Django storage take them).
    Inline,
    /// In an rclone.conf (or rclone's environment variables), read in
    /// place; the path is the file's, if there is one.
    Rclone(Option<PathBuf>),
}

/// A remote as configured: which plugin, with which options and bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteSpec {
    /// The remote's name.
    pub name: String,
    /// The plugin: a built-in name, a name in the plugin path, or a path.
    pub plugin: String,
    /// The plugin's options, environment overrides applied.
    pub options: Vec<(String, String)>,
    /// The keys that configure the host: bounds on its instance, endpoints
    /// beyond what its options grant, TLS trust.
    pub host: HostSettings,
    /// Where it was declared.
    pub origin: RemoteOrigin,
    /// What the user should know about how it was read (an rclone
    /// setting taken differently or left out), one sentence each.
    pub notes: Vec<String>,
}

impl Config {
    /// The config file to use: `explicit` (from `--config`), else
    /// `$WHARF_CONFIG`, else `config.toml` in the user's config directory
    /// under `wharf`.
    pub fn default_path(explicit: Option<&Path>) -> Option<PathBuf> {
        explicit
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("WHARF_CONFIG").map(PathBuf::from))
            .or_else(|| dirs::config_dir().map(|d| d.join("wharf").join("config.toml")))
    }

    /// Loads the config file chosen by [`Config::default_path`]. A missing
    /// file is an empty configuration (that `wharf config create` and
    /// `wharf authorize` will create); a remote looked up in it says the
    /// file does not exist.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let Some(path) = Self::default_path(explicit) else {
            return Ok(Config::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, Some(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config {
                path: Some(path),
                ..Config::default()
            }),
            Err(e) => Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("cannot read the config file {}: {e}", path.display()),
            )),
        }
    }

    /// Parses config file text; `path` is only used in messages.
    pub fn parse(text: &str, path: Option<PathBuf>) -> Result<Self> {
        let shown = path
            .as_deref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "the config".into());
        let file: ConfigFile = toml::from_str(text).map_err(|e| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("{shown} is not a valid Wharf config: {e}"),
            )
        })?;
        let mut remotes = BTreeMap::new();
        for (name, table) in file.remotes {
            check_remote_name(&name).map_err(|e| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("{shown}: {}", e.message()),
                )
            })?;
            let mut options = BTreeMap::new();
            for (key, value) in table {
                let value = match value {
                    toml::Value::String(s) => s,
                    toml::Value::Array(items) if key == ALLOW_HOSTS_KEY || key == TLS_CA_KEY => {
                        items
                            .iter()
                            .map(|item| {
                                item.as_str()
                                    .map(str::to_owned)
                                    .unwrap_or_else(|| item.to_string())
                            })
                            .collect::<Vec<_>>()
                            .join(",")
                    }
                    toml::Value::Integer(i) => i.to_string(),
                    toml::Value::Float(f) => f.to_string(),
                    toml::Value::Boolean(b) => b.to_string(),
                    other => {
                        return Err(Error::new(
                            ErrorKind::InvalidConfig,
                            format!(
                                "{shown}: remotes.{name}.{key} is a {}; option values are strings, \
                                 numbers or booleans",
                                other.type_str()
                            ),
                        ))
                    }
                };
                options.insert(key, value);
            }
            if !options.contains_key(PLUGIN_KEY) {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "{shown}: remotes.{name} has no 'plugin' key; add e.g. plugin = \"fs\""
                    ),
                ));
            }
            remotes.insert(name, options);
        }
        Ok(Config {
            path,
            remotes,
            rclone: None,
            rclone_unread: None,
        })
    }

    /// This configuration with the remotes of `rclone` beside its own.
    pub fn with_rclone(mut self, rclone: RcloneConf) -> Self {
        self.rclone = Some(rclone);
        self.rclone_unread = None;
        self
    }

    /// This configuration with the rclone.conf rclone itself would read
    /// (`$RCLONE_CONFIG`, else rclone's default path), if there is one.
    pub fn with_default_rclone(mut self) -> Self {
        match RcloneConf::load(None) {
            Ok(Some(rclone)) => self = self.with_rclone(rclone),
            Ok(None) => {}
            Err(why) => self.rclone_unread = Some(why),
        }
        self
    }

    /// The rclone.conf read beside the file, if any.
    pub fn rclone(&self) -> Option<&RcloneConf> {
        self.rclone.as_ref()
    }

    /// Where `path` on remote `name` leads, in rclone's path syntax: the
    /// remote to open (for an rclone S3 remote, the one of the bucket the
    /// path names first) and the key on it. Aliases are followed.
    pub fn locate(&self, name: &str, path: &str) -> Result<(RemoteSpec, String)> {
        let (mut name, mut path) = (name.to_owned(), path.to_owned());
        // An alias may name an alias; rclone gives up on a circle too.
        for _ in 0..16 {
            let Some(rclone) = self.rclone.as_ref().filter(|r| r.has(&name)) else {
                return Ok((self.remote(&name)?, path));
            };
            self.check_not_in_both(&name)?;
            let located = rclone
                .locate(&name, &path)
                .map_err(|why| Error::new(ErrorKind::InvalidConfig, why))?;
            match located {
                Located::Alias { remote, path: on } => (name, path) = (remote, on),
                Located::Remote { id, mapped, key } => {
                    let mut table: BTreeMap<String, String> = mapped.options;
                    table.insert(PLUGIN_KEY.to_owned(), mapped.plugin.to_owned());
                    let origin = RemoteOrigin::Rclone(rclone.path().map(Path::to_path_buf));
                    let mut spec = RemoteSpec::from_table(&id, table, origin)?;
                    spec.notes = mapped.notes;
                    return Ok((spec, key));
                }
            }
        }
        Err(Error::new(
            ErrorKind::InvalidConfig,
            format!("remote '{name}': its aliases name each other in a circle; point one at a remote that stores objects"),
        ))
    }

    /// A name in both Wharf's file and the rclone.conf is refused: which
    /// one a command meant cannot be told.
    fn check_not_in_both(&self, name: &str) -> Result<()> {
        if !self.remotes.contains_key(name) {
            return Ok(());
        }
        let rclone = self
            .rclone
            .as_ref()
            .and_then(RcloneConf::path)
            .map_or("rclone's environment".to_owned(), |p| {
                p.display().to_string()
            });
        let wharf = self
            .path
            .as_deref()
            .map_or("the Wharf config".to_owned(), |p| p.display().to_string());
        Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "remote '{name}' is defined in both {wharf} and {rclone}, and neither wins: \
                 rename it in one of them (or remove it from one: `wharf config delete {name}` \
                 leaves rclone's)"
            ),
        ))
    }

    /// The config file this configuration was read from (or would be).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The names of every remote that can be used: the file's, the
    /// environment's and `media`, sorted.
    pub fn remote_names(&self) -> Vec<String> {
        self.remote_names_with(&std::env::vars().collect::<Vec<_>>())
    }

    /// [`Config::remote_names`] with `vars` as the environment.
    fn remote_names_with(&self, vars: &[(String, String)]) -> Vec<String> {
        let mut names: Vec<String> = self.remotes.keys().cloned().collect();
        for (var, _) in vars {
            if let Some(name) = var
                .strip_prefix("WHARF_REMOTE_")
                .and_then(|rest| rest.strip_suffix("_PLUGIN"))
            {
                let name = name.to_lowercase();
                if !names.iter().any(|n| env_name(n) == env_name(&name)) {
                    names.push(name);
                }
            }
        }
        for name in self.rclone.iter().flat_map(RcloneConf::names) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        if !names.iter().any(|n| n == DEFAULT_REMOTE) {
            names.push(DEFAULT_REMOTE.to_owned());
        }
        names.sort();
        names
    }

    /// The options that `vars` set for remote `name`, lower-cased.
    ///
    /// `WHARF_REMOTE_A_B_ROOT` reads as option `b_root` of remote `a` and as
    /// option `root` of remote `a-b` (or `a_b`); it belongs to the known
    /// remote with the longest matching name, so one remote never picks up
    /// another's settings.
    fn env_overrides(&self, name: &str, vars: &[(String, String)]) -> Vec<(String, String)> {
        let own = env_name(name);
        let mut known: Vec<String> = self
            .remote_names_with(vars)
            .iter()
            .map(|n| env_name(n))
            .collect();
        known.push(own.clone());
        let owner = |var: &str| {
            known
                .iter()
                .filter(|k| {
                    var.strip_prefix("WHARF_REMOTE_")
                        .and_then(|rest| rest.strip_prefix(k.as_str()))
                        .is_some_and(|rest| rest.len() > 1 && rest.starts_with('_'))
                })
                .max_by_key(|k| k.len())
                .cloned()
        };
        let env_prefix = format!("WHARF_REMOTE_{own}_");
        vars.iter()
            .filter_map(|(var, value)| {
                let option = var.strip_prefix(&env_prefix)?;
                (owner(var).as_deref() == Some(own.as_str()))
                    .then(|| (option.to_lowercase(), value.clone()))
            })
            .collect()
    }

    /// The remote called `name`, with environment overrides applied.
    pub fn remote(&self, name: &str) -> Result<RemoteSpec> {
        self.remote_with(name, &std::env::vars().collect::<Vec<_>>())
    }

    /// [`Config::remote`] with `vars` as the environment.
    fn remote_with(&self, name: &str, vars: &[(String, String)]) -> Result<RemoteSpec> {
        if self.rclone.as_ref().is_some_and(|r| r.has(name)) {
            return Ok(self.locate(name, "")?.0);
        }
        check_remote_name(name)?;
        let overrides = self.env_overrides(name, vars);
        let (mut table, origin) = match self.remotes.get(name) {
            Some(table) => (
                table.clone(),
                RemoteOrigin::File(self.path.clone().unwrap_or_default()),
            ),
            None if overrides.iter().any(|(k, _)| k == PLUGIN_KEY) => {
                (BTreeMap::new(), RemoteOrigin::Environment)
            }
            None if name == DEFAULT_REMOTE => (
                BTreeMap::from([
                    (PLUGIN_KEY.to_owned(), "fs".to_owned()),
                    ("root".to_owned(), DEFAULT_REMOTE_ROOT.to_owned()),
                ]),
                RemoteOrigin::Default,
            ),
            None => {
                if let Some(why) = &self.rclone_unread {
                    return Err(Error::new(
                        ErrorKind::InvalidConfig,
                        format!("there is no remote named '{name}' in the Wharf config, and the rclone config could not be read: {why}"),
                    ));
                }
                let known = self.remote_names_with(vars).join(", ");
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "there is no remote named '{name}' (known remotes: {known}); declare it \
                         under [remotes.{name}] in {}, or run `wharf config create {name} PLUGIN key=value…`",
                        match self.path.as_deref() {
                            Some(p) if p.exists() => p.display().to_string(),
                            Some(p) => format!("{} (which does not exist yet)", p.display()),
                            None => "the config file".into(),
                        }
                    ),
                ));
            }
        };
        table.extend(overrides);
        RemoteSpec::from_table(name, table, origin)
    }
}

impl RemoteSpec {
    /// How the user gives this remote a CA certificate to trust, where it
    /// is configured other than under `[remotes.NAME]` of Wharf's file
    /// (completing "put the certificate in a PEM file and …").
    pub fn tls_ca_advice(&self) -> Option<String> {
        match &self.origin {
            RemoteOrigin::File(_) | RemoteOrigin::Default => None,
            RemoteOrigin::Environment => Some(format!(
                "set WHARF_REMOTE_{}_TLS_CA_FILE to its path",
                env_name(&self.name)
            )),
            RemoteOrigin::Inline => Some(
                "give its path in the remote's options as tls_ca_file (or verify, as \
                 django-storages names it)"
                    .to_owned(),
            ),
            RemoteOrigin::Rclone(_) => Some(
                "set RCLONE_CA_CERT to its path, or pass --ca-cert with it to wharf-rclone, as \
                 rclone takes it"
                    .to_owned(),
            ),
        }
    }

    /// A remote given whole by the program rather than the config file:
    /// plugin `plugin` with `options`, which may hold host keys
    /// (`memory_limit_mib`, `remote` for an overlay…) and the aliases the
    /// plugin declares, as a `[remotes.NAME]` table may.
    pub fn inline(
        name: &str,
        plugin: &str,
        options: impl IntoIterator<Item = (String, String)>,
    ) -> Result<RemoteSpec> {
        check_remote_name(name)?;
        let mut table: BTreeMap<String, String> = options.into_iter().collect();
        table.insert(PLUGIN_KEY.to_owned(), plugin.to_owned());
        RemoteSpec::from_table(name, table, RemoteOrigin::Inline)
    }

    fn from_table(
        name: &str,
        mut table: BTreeMap<String, String>,
        origin: RemoteOrigin,
    ) -> Result<RemoteSpec> {
        // One JSON object of options, as django-storages takes them; the
        // keys given one by one win over it.
        if let Some(json) = table.remove(OPTIONS_KEY) {
            for (key, value) in crate::aliases::options_from_json(name, &json)? {
                table.entry(key).or_insert(value);
            }
        }
        // The plugin's own aliases (django-storages' names…) are applied
        // when the remote is made, once the plugin is loaded.
        let plugin = table.remove(PLUGIN_KEY).unwrap_or_default();
        let host = HostSettings::take(name, &mut table)?;
        Ok(RemoteSpec {
            name: name.to_owned(),
            plugin,
            options: table.into_iter().collect(),
            host,
            origin,
            notes: Vec::new(),
        })
    }
}

/// The keys of a remote's options that configure the host rather than the
/// plugin: bounds, extra endpoints, TLS trust.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HostSettings {
    /// `memory_limit_mib`, `call_timeout_secs`, `max_instances`,
    /// `max_sockets`, `host_memory_limit_mib`.
    pub limits: Limits,
    /// `allow_hosts`, comma-separated in the environment.
    pub allow_hosts: Vec<String>,
    /// `tls_ca_file`, `tls_insecure_skip_verify`.
    pub tls: crate::TlsTrust,
    /// `sha256`: the plugin must have exactly this hash (hex).
    pub pin: Option<String>,
    /// `remote`: for an overlay, the remote below it and the prefix there.
    pub below: Option<BelowSpec>,
}

/// Where an overlay keeps its objects: a prefix in another remote, or a
/// local directory (as rclone's `remote = /path` is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BelowSpec {
    /// A remote of the configuration, and the prefix in it.
    Remote {
        /// The remote's name.
        remote: String,
        /// The prefix in it, without leading or trailing `/` (empty: all
        /// of it).
        prefix: String,
    },
    /// A local directory, stored in with the fs plugin.
    Directory(PathBuf),
}

impl BelowSpec {
    /// Parses `REMOTE:PREFIX` (`r2:backups`, `r2:`) or a local directory
    /// (`/srv/vault`, `./vault`, `~/vault`).
    pub fn parse(owner: &str, text: &str) -> Result<BelowSpec> {
        if text.starts_with('/') || text.starts_with("./") || text.starts_with("~/") {
            let base = std::env::current_dir()
                .map_err(|e| Error::io("cannot read the current directory", e))?;
            return Ok(BelowSpec::Directory(crate::grant::absolute(text, &base)));
        }
        let Some((remote, prefix)) = text.split_once(':') else {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "remote '{owner}': {BELOW_KEY} = '{text}' names no remote; write \
                     REMOTE:PREFIX, such as \"r2:backups\" (a remote of the config, then where \
                     in it), or a local directory such as \"/srv/vault\""
                ),
            ));
        };
        check_remote_name(remote).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!(
                    "remote '{owner}': {BELOW_KEY} = '{text}': '{remote}' is not a remote name"
                ),
            )
        })?;
        Ok(BelowSpec::Remote {
            remote: remote.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }

    /// How it is written in a configuration.
    pub fn describe(&self) -> String {
        match self {
            BelowSpec::Remote { remote, prefix } => format!("{remote}:{prefix}"),
            BelowSpec::Directory(path) => path.display().to_string(),
        }
    }
}

impl HostSettings {
    /// Takes the host's keys out of `options` (the rest are the plugin's).
    pub fn take(remote: &str, options: &mut BTreeMap<String, String>) -> Result<HostSettings> {
        let mut settings = HostSettings::default();
        if let Some(verify) = options.remove(VERIFY_KEY) {
            match verify.as_str() {
                "false" | "False" => {
                    options
                        .entry(TLS_SKIP_VERIFY_KEY.into())
                        .or_insert_with(|| "true".into());
                }
                "true" | "True" | "" => {}
                path => {
                    options
                        .entry(TLS_CA_KEY.into())
                        .or_insert_with(|| path.into());
                }
            }
        }
        if let Some(value) = options.remove(MEMORY_KEY) {
            let mib: usize = parse_number(remote, MEMORY_KEY, &value)?;
            settings.limits.memory = mib << 20;
        }
        if let Some(value) = options.remove(TIMEOUT_KEY) {
            let secs: u64 = parse_number(remote, TIMEOUT_KEY, &value)?;
            settings.limits.call_timeout = Duration::from_secs(secs);
        }
        if let Some(value) = options.remove(INSTANCES_KEY) {
            let most: usize = parse_number(remote, INSTANCES_KEY, &value)?;
            if most == 0 {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "remote '{remote}': {INSTANCES_KEY} = 0 would run nothing; use 1 or more"
                    ),
                ));
            }
            settings.limits.max_instances = most;
        }
        if let Some(value) = options.remove(SOCKETS_KEY) {
            settings.limits.max_sockets = parse_number(remote, SOCKETS_KEY, &value)?;
        }
        if let Some(value) = options.remove(HOST_MEMORY_KEY) {
            let mib: usize = parse_number(remote, HOST_MEMORY_KEY, &value)?;
            settings.limits.host_memory = mib << 20;
        }
        if let Some(below) = options.remove(BELOW_KEY) {
            settings.below = Some(BelowSpec::parse(remote, &below)?);
        }
        if let Some(pin) = options.remove(PIN_KEY) {
            let pin = pin.trim().to_ascii_lowercase();
            if pin.len() != 64 || !pin.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "remote '{remote}': {PIN_KEY} = '{pin}' is not a sha256 (64 hex digits); \
                         `wharf plugins inspect PLUGIN` shows the plugin's"
                    ),
                ));
            }
            settings.pin = Some(pin);
        }
        if let Some(hosts) = options.remove(ALLOW_HOSTS_KEY) {
            settings.allow_hosts = hosts
                .split(',')
                .map(str::trim)
                .filter(|h| !h.is_empty())
                .map(str::to_owned)
                .collect();
        }
        if let Some(files) = options.remove(TLS_CA_KEY) {
            let base = std::env::current_dir()
                .map_err(|e| Error::io("cannot read the current directory", e))?;
            settings.tls.ca_files = files
                .split(',')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(|f| crate::grant::absolute(f, &base))
                .collect();
        }
        if let Some(value) = options.remove(TLS_SKIP_VERIFY_KEY) {
            settings.tls.skip_verify = match value.as_str() {
                "true" | "yes" | "1" => true,
                "false" | "no" | "0" | "" => false,
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidConfig,
                        format!(
                        "remote '{remote}': {TLS_SKIP_VERIFY_KEY} = '{value}' is not true or false"
                    ),
                    ))
                }
            };
        }
        Ok(settings)
    }

    /// Applies the settings that are not bounds to `remote`.
    pub fn apply(&self, remote: crate::Remote) -> crate::Remote {
        remote
            .with_allowed_hosts(&self.allow_hosts)
            .with_tls_trust(self.tls.clone())
    }
}

fn parse_number<T: std::str::FromStr>(remote: &str, key: &str, value: &str) -> Result<T> {
    value.parse().map_err(|_| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("remote '{remote}': {key} = '{value}' is not a whole number"),
        )
    })
}

/// How a remote's name appears in environment variables.
fn env_name(name: &str) -> String {
    name.to_uppercase().replace('-', "_")
}

/// Remote names are what may stand before the `:` of `remote:key`.
pub fn check_remote_name(name: &str) -> Result<()> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if valid {
        Ok(())
    } else {
        Err(Error::new(
            ErrorKind::InvalidConfig,
            format!("'{name}' is not a valid remote name; use letters, digits, '_' and '-'"),
        ))
    }
}

/// Creates or updates remote `name` in the config file at `path`, setting
/// each of `entries` (plugin options and host settings, as text) and
/// keeping everything else in the file as it was, comments included. The
/// file holds credentials, so it is written owner-only (0600), through a
/// temporary file renamed over the old one.
pub fn save_remote(path: &Path, name: &str, entries: &[(String, String)]) -> Result<()> {
    edit_remote(path, name, |remote| {
        for (key, value) in entries {
            remote[key.as_str()] = toml_edit::value(value.as_str());
        }
    })
}

/// Removes remote `name` from the config file at `path`; false if it was
/// not there.
pub fn delete_remote(path: &Path, name: &str) -> Result<bool> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let document: toml_edit::DocumentMut = text.parse().map_err(|e| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("cannot parse the config file {}: {e}", path.display()),
        )
    })?;
    let present = document
        .get("remotes")
        .and_then(|r| r.as_table())
        .is_some_and(|r| r.contains_key(name));
    if present {
        edit_document(path, |document| {
            if let Some(remotes) = document.get_mut("remotes").and_then(|r| r.as_table_mut()) {
                remotes.remove(name);
            }
        })?;
    }
    Ok(present)
}

/// Replaces remote `name` in the config file at `path` by `entries`.
pub fn replace_remote(path: &Path, name: &str, entries: &[(String, String)]) -> Result<()> {
    edit_remote(path, name, |remote| {
        remote.clear();
        for (key, value) in entries {
            remote[key.as_str()] = toml_edit::value(value.as_str());
        }
    })
}

fn edit_remote(path: &Path, name: &str, edit: impl FnOnce(&mut toml_edit::Table)) -> Result<()> {
    check_remote_name(name)?;
    let mut result = Ok(());
    edit_document(path, |document| {
        let remotes = document
            .entry("remotes")
            .or_insert_with(|| {
                let mut table = toml_edit::Table::new();
                table.set_implicit(true);
                toml_edit::Item::Table(table)
            })
            .as_table_mut();
        let Some(remotes) = remotes else {
            result = Err("'remotes' is not a table".to_owned());
            return;
        };
        match remotes
            .entry(name)
            .or_insert_with(toml_edit::table)
            .as_table_mut()
        {
            Some(remote) => edit(remote),
            None => result = Err(format!("remotes.{name} is not a table")),
        }
    })?;
    result.map_err(|why| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("cannot update the config file {}: {why}", path.display()),
        )
    })
}

/// Reads the config file at `path` (empty if missing), lets `edit` change
/// it, and writes it back owner-only through a renamed temporary file.
fn edit_document(path: &Path, edit: impl FnOnce(&mut toml_edit::DocumentMut)) -> Result<()> {
    let failed = |what: &str, e: &dyn std::fmt::Display| {
        Error::new(
            ErrorKind::InvalidConfig,
            format!("cannot {what} the config file {}: {e}", path.display()),
        )
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(failed("read", &e)),
    };
    let mut document: toml_edit::DocumentMut = text.parse().map_err(|e| failed("parse", &e))?;
    edit(&mut document);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| failed("create the directory of", &e))?;
    }
    let temporary = path.with_extension("toml.tmp");
    write_owner_only(&temporary, document.to_string().as_bytes())
        .map_err(|e| failed("write", &e))?;
    std::fs::rename(&temporary, path).map_err(|e| failed("replace", &e))
}

fn write_owner_only(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        options.mode(0o600);
        let mut file = options.open(path)?;
        // An existing file keeps its mode on open: set it again.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(bytes)?;
        file.sync_all()
    }
    #[cfg(not(unix))]
    {
        let mut file = options.open(path)?;
        file.write_all(bytes)?;
        file.sync_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_remotes_and_limits() {
        let config = Config::parse(
            "[remotes.backup]\nplugin = \"fs\"\nroot = \"/srv\"\nmemory_limit_mib = 64\ncall_timeout_secs = 5\n",
            None,
        )
        .unwrap();
        let spec = config.remote("backup").unwrap();
        assert_eq!(spec.plugin, "fs");
        assert_eq!(spec.options, vec![("root".to_owned(), "/srv".to_owned())]);
        assert_eq!(spec.host.limits.memory, 64 << 20);
        assert_eq!(spec.host.limits.call_timeout, Duration::from_secs(5));
        let config = Config::parse(
            "[remotes.s3]\nplugin = \"s3\"\nallow_hosts = [\"a.example:443\", \"b.example\"]\n",
            None,
        )
        .unwrap();
        assert_eq!(
            config.remote("s3").unwrap().host.allow_hosts,
            vec!["a.example:443", "b.example"]
        );
    }

    #[test]
    fn tls_trust_is_the_hosts() {
        let config = Config::parse(
            "[remotes.box]\nplugin = \"ftp\"\nhost = \"nas\"\ntls_ca_file = \"/etc/nas-ca.pem\"\ntls_insecure_skip_verify = true\n",
            None,
        )
        .unwrap();
        let spec = config.remote("box").unwrap();
        assert_eq!(spec.options, vec![("host".to_owned(), "nas".to_owned())]);
        assert_eq!(
            spec.host.tls.ca_files,
            vec![PathBuf::from("/etc/nas-ca.pem")]
        );
        assert!(spec.host.tls.skip_verify);
        let err = Config::parse(
            "[remotes.box]\nplugin = \"ftp\"\ntls_insecure_skip_verify = \"maybe\"\n",
            None,
        )
        .unwrap()
        .remote("box")
        .unwrap_err();
        assert!(err.message().contains("is not true or false"), "{err}");
    }

    #[test]
    fn an_environment_variable_belongs_to_the_remote_with_the_longest_name() {
        let vars = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let config = Config::parse(
            "[remotes.a]\nplugin = \"fs\"\nroot = \"/a\"\n[remotes.a-b]\nplugin = \"fs\"\nroot = \"/ab\"\n",
            None,
        )
        .unwrap();
        let env = vars(&[
            ("WHARF_REMOTE_A_B_ROOT", "/ab-from-env"),
            ("WHARF_REMOTE_A_MEMORY_LIMIT_MIB", "32"),
        ]);
        let a = config.remote_with("a", &env).unwrap();
        assert_eq!(a.options, vec![("root".to_owned(), "/a".to_owned())]);
        assert_eq!(a.host.limits.memory, 32 << 20);
        let a_b = config.remote_with("a-b", &env).unwrap();
        assert_eq!(
            a_b.options,
            vec![("root".to_owned(), "/ab-from-env".to_owned())]
        );
        // A remote the environment alone defines is known too.
        let env = vars(&[
            ("WHARF_REMOTE_A_B_PLUGIN", "fs"),
            ("WHARF_REMOTE_A_B_ROOT", "/env-ab"),
        ]);
        let config = Config::parse("[remotes.a]\nplugin = \"fs\"\nroot = \"/a\"\n", None).unwrap();
        let a = config.remote_with("a", &env).unwrap();
        assert_eq!(a.plugin, "fs");
        assert_eq!(a.options, vec![("root".to_owned(), "/a".to_owned())]);
        let a_b = config.remote_with("a_b", &env).unwrap();
        assert_eq!(a_b.origin, RemoteOrigin::Environment);
        assert_eq!(a_b.options, vec![("root".to_owned(), "/env-ab".to_owned())]);
        // With no remote `a-b` anywhere, the variable is `a`'s option.
        let config = Config::parse("[remotes.a]\nplugin = \"fs\"\n", None).unwrap();
        let env = vars(&[("WHARF_REMOTE_A_B_ROOT", "/x")]);
        let a = config.remote_with("a", &env).unwrap();
        assert_eq!(a.options, vec![("b_root".to_owned(), "/x".to_owned())]);
    }

    #[test]
    fn media_needs_no_config() {
        let spec = Config::default().remote("media").unwrap();
        assert_eq!(spec.plugin, "fs");
        assert_eq!(spec.origin, RemoteOrigin::Default);
    }

    #[test]
    fn refuses_bad_config() {
        let err = Config::parse("[remotes.x]\nroot = \"/srv\"\n", None).unwrap_err();
        assert!(err.message().contains("no 'plugin' key"), "{err}");
        let err = Config::default().remote("nope").unwrap_err();
        assert!(err.message().contains("no remote named 'nope'"), "{err}");
        let err = Config::parse(
            "[remotes.x]\nplugin = \"fs\"\nmemory_limit_mib = \"lots\"\n",
            None,
        )
        .unwrap()
        .remote("x")
        .unwrap_err();
        assert!(err.message().contains("not a whole number"), "{err}");
    }
}
