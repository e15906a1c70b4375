//! The engine every plugin runs on: one wasmtime `Engine` and `Linker`, the
//! compile cache, and the clock that bounds the time of each call.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

use crate::bindings::PluginApiPre;
use crate::cache::{CompileCache, Lookup};
use crate::plugin::{Plugin, PluginSource, WeakPlugin};
use crate::sandbox::HostState;
use crate::{Error, ErrorKind, Result};

/// How often the epoch advances; call deadlines are counted in these ticks.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// The contract version this host implements.
pub const CONTRACT_VERSION: &str = "0.3.0";

/// Loads plugins and runs them. Cheap to clone; clones share the engine.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

pub(crate) struct RuntimeInner {
    pub engine: Engine,
    pub linker: Linker<HostState>,
    cache: Option<CompileCache>,
    stop_ticker: Arc<AtomicBool>,
    /// The plugins loaded so far, by `bundled:<name>` or the sha256 of
    /// their bytes, held weakly (a plugin holds its runtime): each is
    /// compiled or deserialized, and asked for its `info()`, once while in
    /// use. The lock is held across a load, so two callers asking for the
    /// same plugin at once load it once.
    loaded: tokio::sync::Mutex<HashMap<String, WeakPlugin>>,
    /// How many times each plugin (by its own name) was loaded.
    loads: std::sync::Mutex<BTreeMap<String, u64>>,
    /// What the user should know that did not stop anything (a compile
    /// cache entry refused and compiled again).
    warnings: std::sync::Mutex<Vec<String>>,
}

impl Drop for RuntimeInner {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// Settings for a [`Runtime`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeBuilder {
    cache_dir: Option<PathBuf>,
    no_cache: bool,
}

impl RuntimeBuilder {
    /// Keeps precompiled plugins in `dir` instead of the default
    /// (`$WHARF_CACHE_DIR`, else the user's cache directory + `wharf`).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Compiles plugins on every load instead of caching them.
    pub fn no_cache(mut self) -> Self {
        self.no_cache = true;
        self
    }

    /// Creates the runtime.
    pub fn build(self) -> Result<Runtime> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        // `WHARF_PROFILE=perfmap` names plugin code for `perf` (in
        // /tmp/perf-<pid>.map), so a plugin's own functions show in a
        // profile instead of bare addresses.
        if std::env::var_os("WHARF_PROFILE").is_some_and(|v| v == "perfmap") {
            config.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        let engine = Engine::new(&config).map_err(|e| {
            Error::new(
                ErrorKind::Other,
                format!("cannot start the WebAssembly engine: {e}"),
            )
        })?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .and_then(|()| wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker))
            .and_then(|()| {
                let mut options = wasmtime_wasi_tls::p2::LinkOptions::default();
                options.tls(true);
                wasmtime_wasi_tls::p2::add_to_linker(&mut linker, &options)
            })
            .and_then(|()| {
                // Lookups are answered by the policy, not wasmtime's
                // resolver (see `name_lookup.rs`): replace its functions.
                linker.allow_shadowing(true);
                let replaced =
                    wasmtime_wasi::p2::bindings::sockets::ip_name_lookup::add_to_linker::<
                        _,
                        crate::name_lookup::NameLookups,
                    >(&mut linker, HostState::name_lookup)
                    .and_then(|()| {
                        // And TCP is the host's own (see `tcp.rs`): sockets
                        // made behind the instance's bound, connections
                        // whose streams the host can move in large pieces.
                        wasmtime_wasi::p2::bindings::sockets::tcp_create_socket::add_to_linker::<
                            _,
                            crate::tcp::TcpCalls,
                        >(&mut linker, HostState::tcp)
                    })
                    .and_then(|()| {
                        wasmtime_wasi::p2::bindings::sockets::tcp::add_to_linker::<
                            _,
                            crate::tcp::TcpCalls,
                        >(&mut linker, HostState::tcp)
                    });
                linker.allow_shadowing(false);
                replaced
            })
            .and_then(|()| {
                // The store below an overlay (see `overlay.rs`).
                crate::bindings::overlay::wharf::storage::below::add_to_linker::<
                    _,
                    crate::overlay::BelowData,
                >(&mut linker, HostState::below)
            })
            .and_then(|()| {
                // Key derivation for overlays (see `kdf.rs`).
                crate::bindings::overlay::wharf::storage::kdf::add_to_linker::<
                    _,
                    crate::kdf::KdfData,
                >(&mut linker, HostState::kdf)
            })
            .and_then(|()| {
                // Encryption for overlays (see `secretbox.rs`).
                crate::bindings::overlay::wharf::storage::secretbox::add_to_linker::<
                    _,
                    crate::secretbox::SecretboxData,
                >(&mut linker, HostState::secretbox)
            })
            .and_then(|()| {
                // Compression for overlays (see `deflate.rs`).
                crate::bindings::overlay::wharf::storage::deflate::add_to_linker::<
                    _,
                    crate::deflate::DeflateData,
                >(&mut linker, HostState::deflate)
            })
            .and_then(|()| {
                // Unnamed files for plugins that write into a granted
                // directory (see `staging.rs`).
                crate::bindings::staging::wharf::storage::staging::add_to_linker::<
                    _,
                    crate::staging::StagingData,
                >(&mut linker, HostState::staging)
            })
            .map_err(|e| {
                Error::new(
                    ErrorKind::Other,
                    format!("cannot set up WASI for plugins: {e}"),
                )
            })?;
        // No shared fallback (a temporary directory others can write to):
        // without a cache directory of the user's own, plugins are
        // compiled on every load.
        let dir = self
            .cache_dir
            .or_else(|| std::env::var_os("WHARF_CACHE_DIR").map(PathBuf::from))
            .or_else(|| dirs::cache_dir().map(|d| d.join("wharf")));
        let cache = match dir {
            Some(dir) if !self.no_cache => Some(CompileCache::open(dir.join("compiled"))?),
            _ => None,
        };
        let stop_ticker = Arc::new(AtomicBool::new(false));
        spawn_epoch_ticker(engine.clone(), stop_ticker.clone());
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                linker,
                cache,
                stop_ticker,
                loaded: Default::default(),
                loads: Default::default(),
                warnings: Default::default(),
            }),
        })
    }
}

/// Advances the engine's epoch every tick until the runtime is dropped. A
/// thread of its own, so a plugin spinning on the async executor's thread
/// cannot hold the clock back.
fn spawn_epoch_ticker(engine: Engine, stop: Arc<AtomicBool>) {
    std::thread::Builder::new()
        .name("wharf-epoch".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(EPOCH_TICK);
                engine.increment_epoch();
            }
        })
        .expect("cannot start the epoch thread");
}

impl Runtime {
    /// A runtime with the default settings.
    pub fn new() -> Result<Self> {
        RuntimeBuilder::default().build()
    }

    /// Settings for a runtime.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder::default()
    }

    pub(crate) fn inner(&self) -> &RuntimeInner {
        &self.inner
    }

    /// Loads a plugin from a `.wasm` file.
    pub async fn load_file(&self, path: impl Into<PathBuf>) -> Result<Plugin> {
        let path = path.into();
        let bytes = tokio::fs::read(&path).await.map_err(|e| {
            Error::new(
                ErrorKind::InvalidPlugin,
                format!("cannot read plugin file {}: {e}", path.display()),
            )
        })?;
        self.load(&bytes, PluginSource::File(path)).await
    }

    /// Loads one of the plugins built into this host, such as `fs`.
    pub async fn load_bundled(&self, name: &str) -> Result<Plugin> {
        let (_, bytes) = wharf_bundled::ALL
            .iter()
            .find(|(bundled, _)| *bundled == name)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidConfig,
                    format!("no plugin named '{name}' is built into this host"),
                )
            })?;
        // A built-in plugin is known by name, and its hash was taken when
        // it was built: its bytes are not read to find it again.
        let sha256 = wharf_bundled::SHA256
            .iter()
            .find(|(bundled, _)| *bundled == name)
            .map(|(_, sha256)| (*sha256).to_owned())
            .unwrap_or_else(|| hex::encode(Sha256::digest(bytes)));
        self.load_once(format!("bundled:{name}"), bytes, sha256, || {
            PluginSource::Bundled(name.to_owned())
        })
        .await
    }

    /// Loads a plugin from component bytes. Loading the same bytes again
    /// while the first is in use gives the same plugin, without compiling
    /// or starting it again.
    pub async fn load(&self, bytes: &[u8], source: PluginSource) -> Result<Plugin> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        self.load_once(sha256.clone(), bytes, sha256, || source)
            .await
    }

    async fn load_once(
        &self,
        key: String,
        bytes: &[u8],
        sha256: String,
        source: impl FnOnce() -> PluginSource,
    ) -> Result<Plugin> {
        let mut loaded = self.inner.loaded.lock().await;
        if let Some(plugin) = loaded.get(&key).and_then(WeakPlugin::upgrade) {
            return Ok(plugin);
        }
        let source = source();
        let component = self.compile(bytes, &sha256, &source)?;
        let plugin = Plugin::new(self.clone(), component, sha256, source).await?;
        *self
            .inner
            .loads
            .lock()
            .unwrap()
            .entry(plugin.info().name.clone())
            .or_default() += 1;
        loaded.retain(|_, weak| weak.upgrade().is_some());
        loaded.insert(key, plugin.downgrade());
        Ok(plugin)
    }

    /// Takes the warnings gathered so far: things the user should know
    /// that stopped nothing, such as a compile cache entry that did not
    /// check out and was compiled again instead of run.
    pub fn take_warnings(&self) -> Vec<String> {
        std::mem::take(&mut *self.inner.warnings.lock().unwrap())
    }

    /// How many times each plugin (by the name its `info()` gives) was
    /// loaded by this runtime: compiled or read from the compile cache, and
    /// started once for its `info()`. A plugin stays loaded while anything
    /// uses it, so in one process this is one per plugin.
    pub fn plugin_loads(&self) -> BTreeMap<String, u64> {
        self.inner.loads.lock().unwrap().clone()
    }

    fn compile(&self, bytes: &[u8], sha256: &str, source: &PluginSource) -> Result<Component> {
        check_header(bytes, source)?;
        let engine = &self.inner.engine;
        if let Some(cache) = &self.inner.cache {
            match cache.load(engine, sha256) {
                Lookup::Hit(component) => return Ok(component),
                Lookup::Miss => {}
                Lookup::Refused(why) => self.inner.warnings.lock().unwrap().push(why),
            }
        }
        let component = Component::new(engine, bytes).map_err(|e| {
            Error::new(
                ErrorKind::InvalidPlugin,
                format!("{source} is not a valid WebAssembly component: {e:#}"),
            )
        })?;
        if let Some(cache) = &self.inner.cache {
            cache.store(engine, sha256, &component);
        }
        Ok(component)
    }
}

/// Tells apart "not WebAssembly" and "a core module, not a component"
/// before the compiler gives a less helpful message.
fn check_header(bytes: &[u8], source: &PluginSource) -> Result<()> {
    const MAGIC: &[u8] = b"\0asm";
    if bytes.len() < 8 || &bytes[..4] != MAGIC {
        return Err(Error::new(
            ErrorKind::InvalidPlugin,
            format!("{source} is not a WebAssembly file; a plugin is a .wasm component"),
        ));
    }
    // Bytes 4..8 are the version and layer: 1,0,0,0 for a core module.
    if bytes[4..8] == [1, 0, 0, 0] {
        return Err(Error::new(
            ErrorKind::InvalidPlugin,
            format!(
                "{source} is a core WebAssembly module, not a component; build the plugin for \
                 the wasm32-wasip2 target (or wrap it with `wasm-tools component new`)"
            ),
        ));
    }
    Ok(())
}

pub(crate) fn bindings_pre(
    runtime: &Runtime,
    component: &Component,
    source: &PluginSource,
    contract: &str,
    minor: u64,
) -> Result<PluginApiPre> {
    let pre = runtime
        .inner
        .linker
        .instantiate_pre(component)
        .map_err(|e| {
            Error::new(
                ErrorKind::InvalidPlugin,
                format!(
                    "{source} imports something this host does not provide (plugins may import \
                     only WASI 0.2 interfaces): {e:#}"
                ),
            )
        })?;
    PluginApiPre::new(pre, minor).map_err(|e| {
        Error::new(
            ErrorKind::InvalidPlugin,
            format!(
                "{source} does not export what wharf:storage/storage@{contract} has, as this \
                 host knows it: {e:#}"
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    /// The hash taken of each built-in plugin when it was built is that of
    /// the bytes embedded: the compile cache finds it by that hash.
    #[test]
    fn each_bundled_plugin_is_known_by_the_hash_of_its_bytes() {
        assert_eq!(wharf_bundled::SHA256.len(), wharf_bundled::ALL.len());
        for (name, bytes) in wharf_bundled::ALL {
            let (_, sha256) = wharf_bundled::SHA256
                .iter()
                .find(|(bundled, _)| bundled == name)
                .unwrap_or_else(|| panic!("no hash for {name}"));
            assert_eq!(*sha256, hex::encode(Sha256::digest(bytes)), "{name}");
        }
    }
}
