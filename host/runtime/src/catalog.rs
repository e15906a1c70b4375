//! Finding plugins by name: the built-in ones, then `.wasm` files in the
//! plugin path (`$WHARF_PLUGIN_PATH`, then the user's data directory under
//! `wharf/plugins`), or a path given directly.

use std::path::{Path, PathBuf};

use crate::config::RemoteSpec;
use crate::install::PluginLock;
use crate::plugin::PluginSource;
use crate::{Error, ErrorKind, Plugin, Remote, Result, Runtime};

/// Where plugins are found, and the runtime that loads them.
#[derive(Clone)]
pub struct Catalog {
    runtime: Runtime,
    dirs: Vec<PathBuf>,
    /// The record of installed plugins (`plugins.lock` beside the config).
    lock: Option<PathBuf>,
}

/// The install record for config file `config`: `plugins.lock` beside it.
fn lock_beside(config: &Path) -> PathBuf {
    config
        .parent()
        .unwrap_or(Path::new("."))
        .join(crate::install::LOCK_FILE)
}

/// A plugin the catalog can load, before it is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Available {
    /// Built into the host.
    Bundled(String),
    /// A `.wasm` file in the plugin path; `shadowed` when a built-in plugin
    /// has the same name and wins.
    File {
        /// The name it is used by: the file name without `.wasm`.
        name: String,
        /// The file.
        path: PathBuf,
        /// Whether a built-in plugin of the same name takes precedence.
        shadowed: bool,
    },
}

impl Catalog {
    /// A catalog over the default plugin path, with the install record
    /// beside the default config file.
    pub fn new(runtime: Runtime) -> Self {
        Catalog::with_dirs(runtime, Self::default_dirs())
    }

    /// A catalog over `dirs`, searched in order.
    pub fn with_dirs(runtime: Runtime, dirs: Vec<PathBuf>) -> Self {
        let lock = crate::config::Config::default_path(None).map(|c| lock_beside(&c));
        Catalog {
            runtime,
            dirs,
            lock,
        }
    }

    /// Keeps the install record beside config file `config` (the one in
    /// use), where plugins cannot be written.
    pub fn with_config(mut self, config: &Path) -> Self {
        self.lock = Some(lock_beside(config));
        self
    }

    fn lock(&self) -> Result<PluginLock> {
        match &self.lock {
            Some(path) => PluginLock::read(path),
            None => Err(Error::new(
                ErrorKind::InvalidConfig,
                "there is no config directory to record installed plugins in; set WHARF_CONFIG",
            )),
        }
    }

    /// `$WHARF_PLUGIN_PATH` (separated like `PATH`), then the user's data
    /// directory under `wharf/plugins`.
    pub fn default_dirs() -> Vec<PathBuf> {
        let mut dirs: Vec<PathBuf> = std::env::var_os("WHARF_PLUGIN_PATH")
            .map(|path| std::env::split_paths(&path).collect())
            .unwrap_or_default();
        if let Some(data) = dirs::data_dir() {
            dirs.push(data.join("wharf").join("plugins"));
        }
        dirs
    }

    /// The directories searched, in order.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    /// The runtime that loads plugins.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Every plugin that can be named, built-in ones first.
    pub fn available(&self) -> Vec<Available> {
        let mut found: Vec<Available> = wharf_bundled::ALL
            .iter()
            .map(|(name, _)| Available::Bundled((*name).to_owned()))
            .collect();
        for dir in &self.dirs {
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|ext| ext == "wasm"))
                .collect();
            files.sort();
            for path in files {
                let name = path.file_stem().unwrap().to_string_lossy().into_owned();
                let shadowed = found.iter().any(|a| match a {
                    Available::Bundled(n) => *n == name,
                    Available::File { name: n, .. } => *n == name,
                });
                found.push(Available::File {
                    name,
                    path,
                    shadowed,
                });
            }
        }
        found
    }

    /// The plugins (built-in ones first) that take every one of `names` as
    /// an option or a declared alias: which backend a set of options is
    /// for, when a program has options but no plugin name (a
    /// django-storages `OPTIONS` dict). Host keys are anybody's; a plugin
    /// that cannot be loaded takes nothing.
    pub async fn plugins_accepting(&self, names: &[String]) -> Vec<String> {
        let mut accepting = Vec::new();
        for available in self.available() {
            let name = match &available {
                Available::Bundled(name) => name.clone(),
                Available::File { shadowed: true, .. } => continue,
                Available::File { name, .. } => name.clone(),
            };
            let Ok(plugin) = self.load_available(&available).await else {
                continue;
            };
            let takes = |option: &str| {
                crate::config::HOST_KEYS.contains(&option)
                    || plugin.info().options.iter().any(|o| o.name == option)
                    || plugin.aliases().iter().any(|a| a.name == option)
            };
            if names.iter().all(|n| takes(n)) {
                accepting.push(name);
            }
        }
        accepting
    }

    /// Loads the plugin called `name`: a path if it contains `/` or ends in
    /// `.wasm`, else a built-in plugin, else `<name>.wasm` in the plugin path.
    pub async fn load(&self, name: &str) -> Result<Plugin> {
        if name.contains('/') || name.ends_with(".wasm") {
            return self.runtime.load_file(Path::new(name)).await;
        }
        if wharf_bundled::ALL.iter().any(|(n, _)| *n == name) {
            return self.runtime.load_bundled(name).await;
        }
        for dir in &self.dirs {
            let path = dir.join(format!("{name}.wasm"));
            if path.is_file() {
                return self.load_installed(name, path).await;
            }
        }
        let builtin: Vec<&str> = wharf_bundled::ALL.iter().map(|(n, _)| *n).collect();
        let dirs: Vec<String> = self.dirs.iter().map(|d| d.display().to_string()).collect();
        Err(Error::new(
            ErrorKind::InvalidConfig,
            format!(
                "no plugin named '{name}': it is not built in ({}) and there is no {name}.wasm in \
                 the plugin path ({}); put the .wasm file there or give its path",
                builtin.join(", "),
                if dirs.is_empty() {
                    "empty".to_owned()
                } else {
                    dirs.join(", ")
                }
            ),
        ))
    }

    /// Loads a plugin that [`Catalog::available`] listed, with the same
    /// checks as loading it by name.
    pub async fn load_available(&self, available: &Available) -> Result<Plugin> {
        match available {
            Available::Bundled(name) => self.runtime.load_bundled(name).await,
            Available::File { name, path, .. } => self.load_installed(name, path.clone()).await,
        }
    }

    /// Loads plugin `name` from `path` in a plugin directory, refusing it
    /// if it was installed and has changed since.
    async fn load_installed(&self, name: &str, path: PathBuf) -> Result<Plugin> {
        let bytes = std::fs::read(&path).map_err(|e| {
            Error::new(
                ErrorKind::InvalidPlugin,
                format!("cannot read plugin file {}: {e}", path.display()),
            )
        })?;
        if self.lock.is_some() {
            self.lock()?.verify(name, &path, &bytes)?;
        }
        self.runtime.load(&bytes, PluginSource::File(path)).await
    }

    /// Where `install` puts plugins: the first plugin directory.
    pub fn install_dir(&self) -> Result<&Path> {
        self.dirs.first().map(PathBuf::as_path).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidConfig,
                "there is no plugin directory; set WHARF_PLUGIN_PATH",
            )
        })
    }

    /// Checks that `source` is a plugin this host can load, then copies it
    /// into the plugin directory as `<name>.wasm` (`name` defaults to the
    /// plugin's own) and records its sha256. Returns the plugin and where
    /// it went.
    pub async fn install(&self, source: &Path, name: Option<&str>) -> Result<(Plugin, PathBuf)> {
        let bytes = std::fs::read(source).map_err(|e| {
            Error::new(
                ErrorKind::InvalidPlugin,
                format!("cannot read plugin file {}: {e}", source.display()),
            )
        })?;
        let plugin = self
            .runtime
            .load(&bytes, PluginSource::File(source.to_path_buf()))
            .await?;
        let name = name.unwrap_or(&plugin.info().name).to_owned();
        crate::config::check_remote_name(&name).map_err(|_| {
            Error::new(
                ErrorKind::InvalidConfig,
                format!("'{name}' cannot name a plugin; use letters, digits, '_' and '-'"),
            )
        })?;
        if wharf_bundled::ALL.iter().any(|(n, _)| *n == name) {
            return Err(Error::new(
                ErrorKind::InvalidConfig,
                format!("'{name}' is a built-in plugin and would be shadowed; install under another name with --name"),
            ));
        }
        let dir = self.install_dir()?;
        let target = self.lock()?.install(dir, &name, source, &bytes)?;
        Ok((plugin, target))
    }

    /// The install record for plugin `name` in the plugin directories.
    pub fn installed(&self, name: &str) -> Option<(PathBuf, crate::install::LockEntry)> {
        let lock = self.lock().ok()?;
        self.dirs.iter().find_map(|dir| {
            let file = dir.join(format!("{name}.wasm"));
            lock.entry(&file).map(|e| (file.clone(), e.clone()))
        })
    }

    /// Loads the plugin of `spec` and configures the remote.
    pub async fn open(&self, spec: &RemoteSpec) -> Result<Remote> {
        self.open_over(spec, None).await
    }

    /// Loads the plugin of `spec` and configures the remote, an overlay on
    /// `below` when one is given (the remote its `remote` option names,
    /// opened by the caller, who holds the configuration).
    pub async fn open_over(
        &self,
        spec: &RemoteSpec,
        below: Option<crate::overlay::Below>,
    ) -> Result<Remote> {
        let plugin = self
            .load(&spec.plugin)
            .await
            .map_err(|e| e.with_remote(&spec.name))?;
        if let Some(pin) = &spec.host.pin {
            if plugin.sha256() != pin {
                return Err(Error::new(
                    ErrorKind::InvalidPlugin,
                    format!(
                        "{} has sha256 {}, but the remote pins sha256 = \"{pin}\"; the plugin \
                         changed since it was pinned: check where the new one came from, then \
                         update the pin",
                        plugin.source(),
                        plugin.sha256()
                    ),
                )
                .with_remote(&spec.name));
            }
        }
        let invalid = |message: String| {
            Err(Error::new(ErrorKind::InvalidConfig, message).with_remote(&spec.name))
        };
        match (plugin.is_overlay(), &below) {
            (true, None) => {
                return invalid(format!(
                    "plugin '{}' is an overlay: it stores its objects in another remote, which \
                     `remote = \"REMOTE:PREFIX\"` in [remotes.{}] must name",
                    plugin.info().name,
                    spec.name
                ))
            }
            (false, Some(_)) => {
                return invalid(format!(
                    "plugin '{}' is not an overlay, so `remote` in [remotes.{}] means nothing to \
                     it; remove it (only overlays such as crypt sit on another remote)",
                    plugin.info().name,
                    spec.name
                ))
            }
            _ => {}
        }
        let mut remote = Remote::new(
            &spec.name,
            plugin,
            spec.options.clone(),
            spec.host.limits.clone(),
        )?;
        if let Some(below) = below {
            remote = remote.with_below(below);
        }
        if let Some(advice) = spec.tls_ca_advice() {
            remote = remote.with_tls_ca_advice(advice);
        }
        Ok(spec.host.apply(remote))
    }
}
