//! A loaded plugin: its compiled component, ready to instantiate, and its
//! self-description.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use wasmtime::component::Component;
use wasmtime::Store;

use crate::bindings::authorization::AuthorizingIndices;
use crate::bindings::types::{OauthFlow, OptionAlias, PluginInfo};
use crate::bindings::{PluginApi, PluginApiPre, LOADABLE_MINORS};
use crate::grant::Grant;
use crate::http_client::HttpPool;
use crate::limits::{Limits, MemoryLimitHit};
use crate::notices::Notices;
use crate::runtime::{bindings_pre, Runtime, CONTRACT_VERSION, EPOCH_TICK};
use crate::sandbox::HostState;
use crate::{Error, ErrorKind, Result};

/// Where a plugin came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginSource {
    /// Built into this host.
    Bundled(String),
    /// Loaded from a file.
    File(PathBuf),
    /// Loaded from bytes the embedding program gave.
    Bytes(String),
}

impl fmt::Display for PluginSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PluginSource::Bundled(name) => write!(f, "the built-in plugin '{name}'"),
            PluginSource::File(path) => write!(f, "plugin file {}", path.display()),
            PluginSource::Bytes(name) => write!(f, "plugin '{name}'"),
        }
    }
}

/// A plugin ready to open remotes. Cheap to clone.
#[derive(Clone)]
pub struct Plugin {
    inner: Arc<PluginInner>,
}

/// A [`Plugin`] that does not keep it loaded: what the runtime remembers
/// of the plugins it loaded.
#[derive(Clone)]
pub(crate) struct WeakPlugin {
    inner: std::sync::Weak<PluginInner>,
}

impl WeakPlugin {
    pub fn upgrade(&self) -> Option<Plugin> {
        self.inner.upgrade().map(|inner| Plugin { inner })
    }
}

struct PluginInner {
    runtime: Runtime,
    pre: PluginApiPre,
    info: PluginInfo,
    aliases: Vec<OptionAlias>,
    contract: String,
    sha256: String,
    source: PluginSource,
    overlay: bool,
}

/// A running instance of a plugin, inside its own store.
pub(crate) struct Instance {
    pub store: Store<HostState>,
    pub api: PluginApi,
}

impl Plugin {
    pub(crate) async fn new(
        runtime: Runtime,
        component: Component,
        sha256: String,
        source: PluginSource,
    ) -> Result<Self> {
        let (contract, minor) = contract_version(&runtime, &component, &source)?;
        // An overlay imports the store below it; it stores nothing itself.
        let overlay = component
            .component_type()
            .imports(&runtime.inner().engine)
            .any(|(name, _)| name.starts_with("wharf:storage/below@"));
        let pre = bindings_pre(&runtime, &component, &source, &contract, minor)?;
        // `info` runs with nothing granted: it must not need anything.
        let limits = Limits::default();
        // Like every call, bounded in time: a plugin that blocks while
        // starting or describing itself is refused, not waited for.
        let deadline = tokio::time::Instant::now() + limits.call_timeout + HOST_TIMER_GRACE;
        let hung = |call: &str| {
            Error::new(
                ErrorKind::InvalidPlugin,
                format!(
                    "{source}: its {call} did not finish within {} s; it is a fault in the \
                     plugin, to report to its author",
                    limits.call_timeout.as_secs()
                ),
            )
        };
        let mut instance = tokio::time::timeout_at(
            deadline,
            instantiate(
                &runtime,
                &pre,
                &Grant::default(),
                &limits,
                &Notices::default(),
                None,
            ),
        )
        .await
        .map_err(|_| hung("start"))??;
        let failed = |call: &str, e: wasmtime::Error| {
            let e = classify_failure(e, &limits);
            Error::new(
                e.kind().clone(),
                format!("{source}: its {call}() call failed: {}", e.message()),
            )
        };
        let info = tokio::time::timeout_at(deadline, instance.api.info(&mut instance.store))
            .await
            .map_err(|_| hung("info() call"))?
            .map_err(|e| failed("info", e))?;
        let info = printable_info(info);
        let aliases =
            tokio::time::timeout_at(deadline, instance.api.option_aliases(&mut instance.store))
                .await
                .map_err(|_| hung("option-aliases() call"))?
                .map_err(|e| failed("option-aliases", e))?;
        crate::aliases::check(&info, &aliases, &source)?;
        if overlay && !info.access.is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidPlugin,
                format!(
                    "{source} is an overlay (it imports the store below it), and an overlay \
                     reaches the world only through that store, but it declares access of its \
                     own ({}); it is refused",
                    describe_access(&info.access)
                ),
            ));
        }
        Ok(Plugin {
            inner: Arc::new(PluginInner {
                runtime,
                pre,
                info,
                aliases,
                contract,
                sha256,
                source,
                overlay,
            }),
        })
    }

    /// Whether this plugin is an overlay: it stores its objects in the
    /// remote below it (its remote's `remote` option), not a backend.
    pub fn is_overlay(&self) -> bool {
        self.inner.overlay
    }

    pub(crate) fn downgrade(&self) -> WeakPlugin {
        WeakPlugin {
            inner: Arc::downgrade(&self.inner),
        }
    }

    /// The plugin's description of itself.
    pub fn info(&self) -> &PluginInfo {
        &self.inner.info
    }

    /// The other names of its options, as it declares them (none for a
    /// plugin built before contract 0.3).
    pub fn aliases(&self) -> &[OptionAlias] {
        &self.inner.aliases
    }

    /// The contract version the plugin was built against, such as `0.1.0`.
    pub fn contract_version(&self) -> &str {
        &self.inner.contract
    }

    /// The sha256 of the component file, in hex.
    pub fn sha256(&self) -> &str {
        &self.inner.sha256
    }

    /// Where the plugin came from.
    pub fn source(&self) -> &PluginSource {
        &self.inner.source
    }

    /// How a user connects an account of the plugin's service with OAuth 2
    /// (`authorization.flow`, contract 0.3), every text made printable;
    /// `None` for a plugin that declares no flow, exports no
    /// `authorization`, or was built before 0.3. It runs the plugin once,
    /// with nothing granted and the usual time bound; `wharf authorize`
    /// asks, nothing else.
    pub async fn oauth_flow(&self) -> Result<Option<OauthFlow>> {
        let PluginApiPre::Current(pre) = &self.inner.pre else {
            return Ok(None);
        };
        // Not exported: this plugin needs no account connected.
        let Ok(indices) = AuthorizingIndices::new(pre.instance_pre()) else {
            return Ok(None);
        };
        let source = &self.inner.source;
        let limits = Limits::default();
        let deadline = tokio::time::Instant::now() + limits.call_timeout + HOST_TIMER_GRACE;
        let failed = |e: wasmtime::Error| {
            let e = classify_failure(e, &limits);
            Error::new(
                e.kind().clone(),
                format!(
                    "{source}: its authorization.flow() call failed: {}",
                    e.message()
                ),
            )
        };
        let call = async {
            let mut store = new_store(
                &self.inner.runtime,
                &Grant::default(),
                &limits,
                &Notices::default(),
                None,
            )?;
            let instance = pre
                .instance_pre()
                .instantiate_async(&mut store)
                .await
                .map_err(failed)?;
            let exports = indices.load(&mut store, &instance).map_err(failed)?;
            exports
                .wharf_storage_authorization()
                .call_flow(&mut store)
                .await
                .map_err(failed)
        };
        let flow = tokio::time::timeout_at(deadline, call)
            .await
            .map_err(|_| {
                Error::new(
                    ErrorKind::InvalidPlugin,
                    format!(
                    "{source}: its authorization.flow() call did not finish within {} s; it is \
                     a fault in the plugin, to report to its author",
                    limits.call_timeout.as_secs()
                ),
                )
            })??;
        Ok(flow.map(printable_flow))
    }

    /// A new instance in a new store that can reach only `grant`, whose
    /// notices go to `notices`, whose HTTP requests go through `http` (its
    /// remote's connections; a pool of its own if `None`).
    pub(crate) async fn instantiate(
        &self,
        grant: &Grant,
        limits: &Limits,
        notices: &Notices,
        http: Option<Arc<HttpPool>>,
    ) -> Result<Instance> {
        instantiate(
            &self.inner.runtime,
            &self.inner.pre,
            grant,
            limits,
            notices,
            http,
        )
        .await
    }
}

async fn instantiate(
    runtime: &Runtime,
    pre: &PluginApiPre,
    grant: &Grant,
    limits: &Limits,
    notices: &Notices,
    http: Option<Arc<HttpPool>>,
) -> Result<Instance> {
    let mut store = new_store(runtime, grant, limits, notices, http)?;
    let api = match pre.instantiate(&mut store).await {
        Ok(api) => api,
        // A crash while starting (a Python plugin's module failing to
        // import) shows what it printed too.
        Err(e) => {
            return Err(with_printed(
                classify_failure(e, limits),
                store.data().stderr_tail(),
            ))
        }
    };
    Ok(Instance { store, api })
}

/// A store for one instance: its memory limiter, its deadline ticking.
fn new_store(
    runtime: &Runtime,
    grant: &Grant,
    limits: &Limits,
    notices: &Notices,
    http: Option<Arc<HttpPool>>,
) -> Result<Store<HostState>> {
    let state = HostState::new(grant, limits, notices.clone(), http)?;
    let mut store = Store::new(&runtime.inner().engine, state);
    store.limiter(|state| &mut state.limiter);
    // Every tick while the plugin runs: the host memory it holds is
    // checked, and its call's deadline counted down.
    store.epoch_deadline_callback(|mut store| {
        let state = store.data_mut();
        if let Some(hit) = state.host_memory_over() {
            return Err(wasmtime::Error::new(hit));
        }
        if state.ticks_left <= 1 {
            return Err(wasmtime::Trap::Interrupt.into());
        }
        state.ticks_left -= 1;
        Ok(wasmtime::UpdateDeadline::Continue(1))
    });
    arm_deadline(&mut store, limits);
    Ok(store)
}

/// `info` with every text meant for people made printable (see
/// [`crate::printable`]): `plugins inspect` shows them on a terminal, where
/// an escape could hide an access line.
fn printable_info(mut info: PluginInfo) -> PluginInfo {
    let clean = |text: &mut String| *text = crate::printable(text).into_owned();
    clean(&mut info.name);
    clean(&mut info.version);
    clean(&mut info.description);
    for option in &mut info.options {
        clean(&mut option.name);
        clean(&mut option.help);
        if let Some(default) = &mut option.default {
            clean(default);
        }
    }
    for access in &mut info.access {
        match access {
            crate::Access::Directory(option) => clean(option),
            crate::Access::Network(network) => {
                clean(&mut network.reason);
                network.endpoints.iter_mut().for_each(clean);
            }
        }
    }
    info
}

/// An OAuth flow with every text made printable: `wharf authorize` prints
/// its link and service name on a terminal.
fn printable_flow(mut flow: OauthFlow) -> OauthFlow {
    let clean = |text: &mut String| *text = crate::printable(text).into_owned();
    clean(&mut flow.service);
    clean(&mut flow.authorize_url);
    clean(&mut flow.token_url);
    clean(&mut flow.console_url);
    clean(&mut flow.client_id_option);
    clean(&mut flow.refresh_token_option);
    if let Some(option) = &mut flow.client_secret_option {
        clean(option);
    }
    for (name, value) in &mut flow.authorize_parameters {
        clean(name);
        clean(value);
    }
    flow
}

/// `access` in words, for a message.
fn describe_access(access: &[crate::Access]) -> String {
    access
        .iter()
        .map(|a| match a {
            crate::Access::Directory(option) => format!("the directory of option '{option}'"),
            crate::Access::Network(network) => network.endpoints.join(", "),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Capabilities with nothing declared.
pub(crate) fn no_capabilities() -> crate::Capabilities {
    crate::Capabilities {
        ranged_read: false,
        list_delimiter: false,
        copy: false,
        content_type: false,
        user_metadata: false,
        last_modified: false,
        etag: false,
        case_insensitive: false,
        key_and_prefix: false,
    }
}

/// Gives the next call `limits.call_timeout` before it is interrupted.
pub(crate) fn arm_deadline(store: &mut Store<HostState>, limits: &Limits) {
    let ticks = limits.call_timeout.as_millis() / EPOCH_TICK.as_millis();
    store.data_mut().ticks_left = ticks.max(1) as u64;
    store.set_epoch_deadline(1);
}

/// Turns a failure of the plugin itself (not an error it returned) into an
/// error that says which bound it hit, or that it crashed.
/// A crash, with the last lines the plugin wrote to stderr when it wrote
/// any (a limit that stopped it is its own explanation).
pub(crate) fn with_printed(error: Error, printed: Option<String>) -> Error {
    match printed {
        Some(printed) if *error.kind() == ErrorKind::PluginFailed => Error::new(
            ErrorKind::PluginFailed,
            format!("{}; it printed: {printed}", error.message()),
        ),
        _ => error,
    }
}

pub(crate) fn classify_failure(error: wasmtime::Error, limits: &Limits) -> Error {
    if let Some(hit) = error.downcast_ref::<crate::limits::HostMemoryHit>() {
        return Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the plugin went past its host memory limit of {} MiB ({hit}); if it really \
                 needs more, raise host_memory_limit_mib in the remote's configuration",
                limits.host_memory >> 20
            ),
        );
    }
    if let Some(hit) = error.downcast_ref::<MemoryLimitHit>() {
        return Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the plugin went past its memory limit of {} MiB ({hit}); if it really needs \
                 more, raise memory_limit_mib in the remote's configuration",
                limits.memory >> 20
            ),
        );
    }
    if let Some(wasmtime::Trap::Interrupt) = error.downcast_ref::<wasmtime::Trap>() {
        return Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the plugin did not finish the call within its time limit of {} s and was \
                 stopped; if the call needs longer, raise call_timeout_secs in the remote's \
                 configuration",
                limits.call_timeout.as_secs_f64()
            ),
        );
    }
    // The wasm backtrace helps the plugin's author, not the user: it is
    // shown only when asked for.
    let cause = if std::env::var_os(BACKTRACE_VAR).is_some() {
        format!("{error:#}")
    } else if let Some(trap) = error.downcast_ref::<wasmtime::Trap>() {
        format!("{trap}; set {BACKTRACE_VAR}=1 to see where")
    } else {
        // wasmtime wraps the cause in its backtrace; only the cause is kept.
        let causes: Vec<String> = error
            .chain()
            .map(|cause| cause.to_string())
            .filter(|text| !text.starts_with("error while executing at wasm backtrace"))
            .collect();
        causes.join(": ")
    };
    Error::new(
        ErrorKind::PluginFailed,
        format!("the plugin crashed and will be restarted for the next call: {cause}"),
    )
}

/// Extra time the host's own timer gives a call beyond the plugin's epoch
/// deadline, for calls stuck in the host (a slow disk, a pollable that
/// never fires) rather than in wasm.
pub(crate) const HOST_TIMER_GRACE: std::time::Duration = std::time::Duration::from_secs(5);

/// Set (to anything) to have a plugin's crash reported with its wasm
/// backtrace.
pub const BACKTRACE_VAR: &str = "WHARF_PLUGIN_BACKTRACE";

/// Reads which `wharf:storage` version the component exports and refuses
/// versions this host cannot serve; returns the version and its minor.
fn contract_version(
    runtime: &Runtime,
    component: &Component,
    source: &PluginSource,
) -> Result<(String, u64)> {
    const PREFIX: &str = "wharf:storage/storage@";
    let engine = &runtime.inner().engine;
    let ty = component.component_type();
    let exported: Vec<String> = ty
        .exports(engine)
        .map(|(name, _)| name.to_owned())
        .collect();
    let Some(version) = exported.iter().find_map(|name| name.strip_prefix(PREFIX)) else {
        return Err(Error::new(
            ErrorKind::InvalidPlugin,
            format!(
                "{source} is a component but not a Wharf storage plugin: it does not export \
                 wharf:storage/storage (it exports: {})",
                if exported.is_empty() {
                    "nothing".to_owned()
                } else {
                    exported.join(", ")
                }
            ),
        ));
    };
    let (major, minor) = major_minor(version);
    let oldest = LOADABLE_MINORS.start();
    if major == 0 && minor > *LOADABLE_MINORS.end() && minor != u64::MAX {
        return Err(Error::new(
            ErrorKind::InvalidPlugin,
            format!(
                "{source} was built for wharf:storage@{version}, a newer contract than this \
                 host's {CONTRACT_VERSION}; upgrade Wharf, or use a build of the plugin for \
                 contract 0.{oldest} to {CONTRACT_VERSION}"
            ),
        ));
    }
    if major != 0 || !LOADABLE_MINORS.contains(&minor) {
        return Err(Error::new(
            ErrorKind::InvalidPlugin,
            format!(
                "{source} was built for wharf:storage@{version}, which this host (contract \
                 {CONTRACT_VERSION}, loading plugins built for 0.{oldest} to {CONTRACT_VERSION}) \
                 cannot load; rebuild it against the wit/ of this Wharf version or upgrade Wharf"
            ),
        ));
    }
    Ok((version.to_owned(), minor))
}

fn major_minor(version: &str) -> (u64, u64) {
    let mut parts = version.split('.').map(|p| p.parse().unwrap_or(u64::MAX));
    (
        parts.next().unwrap_or(u64::MAX),
        parts.next().unwrap_or(u64::MAX),
    )
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{Access, NetworkAccess, NetworkProtocol, OptionSpec};

    /// A plugin's self-description with `options` and `access`, and no
    /// capability, for tests of what the host makes of one.
    pub(crate) fn info(options: Vec<OptionSpec>, access: Vec<Access>) -> PluginInfo {
        PluginInfo {
            name: "x".into(),
            version: "1".into(),
            description: "a plugin under test".into(),
            options,
            capabilities: no_capabilities(),
            access,
        }
    }

    /// An option that is not required and not secret.
    pub(crate) fn option(name: &str, help: &str, default: Option<&str>) -> OptionSpec {
        OptionSpec {
            name: name.into(),
            help: help.into(),
            required: false,
            secret: false,
            default: default.map(str::to_owned),
        }
    }

    #[test]
    fn what_a_plugin_says_of_itself_is_made_printable() {
        let mut described = info(
            vec![option("root", "\rhidden", None)],
            vec![Access::Network(NetworkAccess {
                protocol: NetworkProtocol::Http,
                endpoints: vec!["{endpoint}".into()],
                reason: "the API\u{1b}[8m".into(),
            })],
        );
        described.description = "fine\u{1b}[1A\u{1b}[2K".into();
        let info = printable_info(described);
        assert_eq!(info.description, "fine\\u{1b}[1A\\u{1b}[2K");
        assert_eq!(info.options[0].help, "\\u{d}hidden");
        let Access::Network(network) = &info.access[0] else {
            panic!("{:?}", info.access)
        };
        assert_eq!(network.reason, "the API\\u{1b}[8m");
    }
}
