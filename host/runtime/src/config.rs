//! Remotes and where they come from: the config file, the environment, and
//! the built-in `media` remote that needs no configuration at all.
//!
//! ```toml
//! [remotes.backup]
//! plugin = "fs"              # a built-in plugin, a name in the plugin directory, or a .wasm path
//! root = "/srv/backup"       # the plugin's own options
//! memory_limit_mib = 256     # optional bounds on the plugin instance
//! call_timeout_secs = 60
//! ```
//!
//! Any option can be overridden with `WHARF_REMOTE_<NAME>_<OPTION>`
//! (upper-case, `-` as `_`), and a remote can be defined by the
//! environment alone with `WHARF_REMOTE_<NAME>_PLUGIN`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::{Error, ErrorKind, Limits, Result};

/// The remote that exists without configuration.
pub const DEFAULT_REMOTE: &str = "media";
/// Its directory, relative to the current directory.
pub const DEFAULT_REMOTE_ROOT: &str = "./media";

/// Keys of a remote's table that configure the host, not the plugin.
const PLUGIN_KEY: &str = "plugin";
const MEMORY_KEY: &str = "memory_limit_mib";
const TIMEOUT_KEY: &str = "call_timeout_secs";
const ALLOW_HOSTS_KEY: &str = "allow_hosts";

/// The configuration: every declared remote.
#[derive(Debug, Clone, Default)]
pub struct Config {
    path: Option<PathBuf>,
    remotes: BTreeMap<String, BTreeMap<String, String>>,
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
    /// The bounds on its instance.
    pub limits: Limits,
    /// Endpoints the plugin may reach beyond what its options grant
    /// (`allow_hosts`, `host:port` or `host`).
    pub allow_hosts: Vec<String>,
    /// Where it was declared.
    pub origin: RemoteOrigin,
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
    /// file is an empty configuration unless it was named explicitly.
    pub fn load(explicit: Option<&Path>) -> Result<Self> {
        let named = explicit.is_some() || std::env::var_os("WHARF_CONFIG").is_some();
        let Some(path) = Self::default_path(explicit) else {
            return Ok(Config::default());
        };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(&text, Some(path)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => Ok(Config {
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
                    toml::Value::Array(items) if key == ALLOW_HOSTS_KEY => items
                        .iter()
                        .map(|item| {
                            item.as_str()
                                .map(str::to_owned)
                                .unwrap_or_else(|| item.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(","),
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
        Ok(Config { path, remotes })
    }

    /// The config file this configuration was read from (or would be).
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The names of every remote that can be used: the file's, the
    /// environment's and `media`, sorted.
    pub fn remote_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.remotes.keys().cloned().collect();
        for (var, _) in std::env::vars() {
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
        if !names.iter().any(|n| n == DEFAULT_REMOTE) {
            names.push(DEFAULT_REMOTE.to_owned());
        }
        names.sort();
        names
    }

    /// The remote called `name`, with environment overrides applied.
    pub fn remote(&self, name: &str) -> Result<RemoteSpec> {
        check_remote_name(name)?;
        let env_prefix = format!("WHARF_REMOTE_{}_", env_name(name));
        let overrides: Vec<(String, String)> = std::env::vars()
            .filter_map(|(var, value)| {
                var.strip_prefix(&env_prefix)
                    .map(|option| (option.to_lowercase(), value))
            })
            .collect();
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
                let known = self.remote_names().join(", ");
                return Err(Error::new(
                    ErrorKind::InvalidConfig,
                    format!(
                        "there is no remote named '{name}' (known remotes: {known}); declare it \
                         under [remotes.{name}] in {}",
                        self.path
                            .as_deref()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| "the config file".into())
                    ),
                ));
            }
        };
        table.extend(overrides);
        let plugin = table.remove(PLUGIN_KEY).unwrap_or_default();
        let mut limits = Limits::default();
        if let Some(value) = table.remove(MEMORY_KEY) {
            let mib: usize = parse_number(name, MEMORY_KEY, &value)?;
            limits.memory = mib << 20;
        }
        if let Some(value) = table.remove(TIMEOUT_KEY) {
            let secs: u64 = parse_number(name, TIMEOUT_KEY, &value)?;
            limits.call_timeout = Duration::from_secs(secs);
        }
        let allow_hosts = table
            .remove(ALLOW_HOSTS_KEY)
            .map(|hosts| {
                hosts
                    .split(',')
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        Ok(RemoteSpec {
            name: name.to_owned(),
            plugin,
            options: table.into_iter().collect(),
            limits,
            allow_hosts,
            origin,
        })
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
        assert_eq!(spec.limits.memory, 64 << 20);
        assert_eq!(spec.limits.call_timeout, Duration::from_secs(5));
        let config = Config::parse(
            "[remotes.s3]\nplugin = \"s3\"\nallow_hosts = [\"a.example:443\", \"b.example\"]\n",
            None,
        )
        .unwrap();
        assert_eq!(
            config.remote("s3").unwrap().allow_hosts,
            vec!["a.example:443", "b.example"]
        );
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
