//! A remote: one configured plugin instance and the operations on it.
//!
//! Each remote has its own store and instance, created on first use. Calls
//! are serialized on that instance; a call that traps or goes past a bound
//! throws the instance away, and the next call starts a fresh one and opens
//! the store again.

use std::path::Path;
use std::sync::Mutex as SyncMutex;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{Mutex, MutexGuard};
use wasmtime::component::ResourceAny;

use crate::bindings::types::{self, ByteRange, Entry, NetworkProtocol, ObjectMeta, WriteOptions};
use crate::grant::{self, Grant};
use crate::limits::Limits;
use crate::plugin::{arm_deadline, classify_failure, Instance, Plugin};
use crate::{Error, ErrorKind, Result};

/// The size of the chunks the host reads and writes. Large enough that the
/// copy across the component boundary costs little next to the I/O, small
/// enough that memory stays flat.
pub const CHUNK_SIZE: usize = 1 << 20;

/// How many entries the host asks a plugin for per listing page.
pub const LIST_PAGE: u32 = 1000;

/// The most bytes of keys one listing page may hold: [`LIST_PAGE`] keys of
/// the contract's longest (1,024 bytes). A bound of the contract, not a
/// setting.
pub const MAX_PAGE_KEY_BYTES: usize = LIST_PAGE as usize * wharf_key::MAX_KEY_LEN;

/// The most bytes one object's description (key, etag, content type and
/// user metadata) may take, 32 times S3's 2 KiB of user metadata. A bound
/// of the contract, not a setting.
pub const MAX_META_BYTES: usize = 64 << 10;

/// How many keys the host passes to one `store.delete-many` call. The
/// contract allows 1,000 (S3's DeleteObjects limit); the host sends 100 so
/// that a backend which deletes key by key, with a round trip or two each
/// (FTP, Dropbox's lookups), finishes a call well inside its time limit
/// even far from its server, while a bulk backend still needs one request
/// per 100 keys instead of 100.
pub const DELETE_BATCH: usize = 100;

/// Extra time the host's own timer gives a call beyond the plugin's epoch
/// deadline, for calls stuck in the host (a slow disk) rather than in wasm.
const HOST_TIMER_GRACE: Duration = Duration::from_secs(5);

/// One configured backend, ready to use.
pub struct Remote {
    name: String,
    plugin: Plugin,
    grant: Grant,
    guest_options: Vec<(String, String)>,
    limits: Limits,
    check_keys: bool,
    state: Mutex<State>,
    /// Resources whose Rust handle was dropped without closing them; they
    /// are dropped in the guest at the start of the next call.
    orphans: SyncMutex<Vec<Handle>>,
}

#[derive(Default)]
struct State {
    live: Option<Live>,
    /// Counts instances, so a handle from a thrown-away instance is never
    /// used on its successor.
    generation: u64,
}

struct Live {
    instance: Instance,
    store: ResourceAny,
}

/// A guest resource and the instance generation it belongs to.
#[derive(Clone, Copy)]
struct Handle {
    generation: u64,
    resource: ResourceAny,
}

/// Whether an operation may create the remote's directories.
#[derive(PartialEq, Eq, Clone, Copy)]
enum Intent {
    Read,
    Write,
}

/// The outcome of one call into the guest, before it is judged.
type CallOutcome<T> = std::result::Result<
    wasmtime::Result<std::result::Result<T, types::Error>>,
    tokio::time::error::Elapsed,
>;

impl Remote {
    /// Configures a remote named `name` on `plugin` with the user's
    /// `options`. Relative directory options are resolved against the
    /// current directory. Nothing runs until the first operation.
    pub fn new(
        name: &str,
        plugin: Plugin,
        options: Vec<(String, String)>,
        limits: Limits,
    ) -> Result<Self> {
        let base = std::env::current_dir()
            .map_err(|e| Error::io("cannot read the current directory", e))?;
        Self::with_base(name, plugin, options, limits, &base)
    }

    /// Like [`Remote::new`], resolving relative paths against `base`.
    pub fn with_base(
        name: &str,
        plugin: Plugin,
        options: Vec<(String, String)>,
        limits: Limits,
        base: &Path,
    ) -> Result<Self> {
        let (grant, guest_options) =
            grant::compute(plugin.info(), &options, base).map_err(|e| e.with_remote(name))?;
        Ok(Remote {
            name: name.to_owned(),
            plugin,
            grant,
            guest_options,
            limits,
            check_keys: true,
            state: Mutex::new(State::default()),
            orphans: SyncMutex::new(Vec::new()),
        })
    }

    /// Also lets the plugin reach `hosts` (`host:port`, or `host` for any
    /// port) over TCP and HTTP, beyond what its configuration grants: the
    /// remote's `allow_hosts` option.
    pub fn with_allowed_hosts(mut self, hosts: &[String]) -> Self {
        for host in hosts {
            for protocol in [NetworkProtocol::Tcp, NetworkProtocol::Http] {
                self.grant.network.push(grant::NetworkGrant {
                    protocol,
                    endpoint: host.clone(),
                    reason: "listed in the remote's allow_hosts".into(),
                });
            }
        }
        self
    }

    /// What the plugin's TLS connections trust beyond the web PKI: the
    /// remote's `tls_ca_file` and `tls_insecure_skip_verify` options.
    pub fn with_tls_trust(mut self, trust: crate::TlsTrust) -> Self {
        self.grant.tls = trust;
        self
    }

    /// The remote's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The plugin behind it.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Exactly what the plugin may reach for this remote.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The bounds on its instance.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The options it was configured with, directory options as absolute
    /// host paths, so that a remote configured from them reaches the same
    /// places whatever the current directory.
    pub fn options(&self) -> Vec<(String, String)> {
        self.guest_options
            .iter()
            .map(
                |(name, value)| match self.grant.directories.iter().find(|d| &d.option == name) {
                    Some(dir) => (name.clone(), dir.host_path.display().to_string()),
                    None => (name.clone(), value.clone()),
                },
            )
            .collect()
    }

    /// Whether the host checks keys before they reach the plugin (on by
    /// default). The conformance suite turns it off to prove that a plugin
    /// enforces the key rules itself.
    pub fn set_host_key_checks(&mut self, on: bool) {
        self.check_keys = on;
    }

    fn check_key(&self, op: &'static str, key: &str) -> Result<()> {
        if self.check_keys {
            wharf_key::check_key(key).map_err(|e| {
                self.context(
                    Error::new(ErrorKind::InvalidKey, format!("invalid key {key:?}: {e}")),
                    op,
                    key,
                )
            })?;
        }
        Ok(())
    }

    fn context(&self, error: Error, op: &'static str, key: &str) -> Error {
        error
            .with_remote(&self.name)
            .with_operation(op)
            .with_key(key)
    }

    /// Locks the instance, starting it (and opening the store) if needed.
    /// Returns `None` for a read when a granted directory does not exist
    /// yet: such a remote holds no objects, and it is only created by the
    /// first write.
    async fn lock(
        &self,
        intent: Intent,
        op: &'static str,
        key: &str,
    ) -> Result<(MutexGuard<'_, State>, bool)> {
        let mut state = self.state.lock().await;
        self.drop_orphans(&mut state).await;
        if state.live.is_some() {
            return Ok((state, true));
        }
        for dir in &self.grant.directories {
            if dir.host_path.is_dir() {
                continue;
            }
            if intent == Intent::Read {
                return Ok((state, false));
            }
            std::fs::create_dir_all(&dir.host_path).map_err(|e| {
                self.context(
                    Error::io(
                        format!("cannot create directory {}", dir.host_path.display()),
                        e,
                    ),
                    op,
                    key,
                )
            })?;
        }
        let mut instance = self
            .plugin
            .instantiate(&self.grant, &self.limits)
            .await
            .map_err(|e| self.context(e, op, key))?;
        arm_deadline(&mut instance.store, &self.limits);
        let opened = instance
            .api
            .open(&mut instance.store, &self.guest_options)
            .await;
        // A plugin that reaches for a host while opening then fails with
        // its own error; as for every other call (see `settle`), the refusal
        // behind it is what the user can act on.
        let refusal = instance.store.data().take_refusals().into_iter().next();
        let blame = |error: Error| match &refusal {
            Some(refusal) => self.refused(refusal, &error),
            None => error,
        };
        let opened =
            opened.map_err(|e| self.context(blame(classify_failure(e, &self.limits)), op, key))?;
        let store = opened.map_err(|e| {
            blame(Error::from(e))
                .with_remote(&self.name)
                .with_operation("open")
        })?;
        state.generation += 1;
        state.live = Some(Live { instance, store });
        Ok((state, true))
    }

    async fn drop_orphans(&self, state: &mut State) {
        let orphans = std::mem::take(&mut *self.orphans.lock().unwrap());
        let generation = state.generation;
        let Some(live) = state.live.as_mut() else {
            return;
        };
        for orphan in orphans.into_iter().filter(|o| o.generation == generation) {
            arm_deadline(&mut live.instance.store, &self.limits);
            if orphan
                .resource
                .resource_drop_async(&mut live.instance.store)
                .await
                .is_err()
            {
                // Its destructor trapped: the instance is not to be trusted.
                state.live = None;
                return;
            }
        }
    }

    fn orphan(&self, handle: Handle) {
        self.orphans.lock().unwrap().push(handle);
    }

    /// Judges a finished call: a trap or a timeout throws the instance away.
    /// A failure after the sandbox refused the plugin some access is
    /// reported as that refusal, since that is what the user can act on.
    fn settle<T>(
        &self,
        state: &mut State,
        outcome: CallOutcome<T>,
        op: &'static str,
        key: &str,
    ) -> Result<T> {
        let (refusals, printed) = match state.live.as_ref() {
            Some(live) => {
                let data = live.instance.store.data();
                (data.take_refusals(), data.stderr_tail())
            }
            None => (Vec::new(), None),
        };
        let error = match outcome {
            Ok(Ok(Ok(value))) => return Ok(value),
            Ok(Ok(Err(guest))) => Error::from(guest),
            Ok(Err(failure)) => {
                state.live = None;
                let error = classify_failure(failure, &self.limits);
                match printed {
                    Some(printed) if *error.kind() == ErrorKind::PluginFailed => Error::new(
                        ErrorKind::PluginFailed,
                        format!("{}; it printed: {printed}", error.message()),
                    ),
                    _ => error,
                }
            }
            Err(_elapsed) => {
                state.live = None;
                Error::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "the call did not finish within the time limit of {} s and was stopped; \
                         if it needs longer, raise call_timeout_secs in the remote's configuration",
                        self.limits.call_timeout.as_secs_f64()
                    ),
                )
            }
        };
        let error = match refusals.first() {
            Some(refusal) => self.refused(refusal, &error),
            None => error,
        };
        Err(self.context(error, op, key))
    }

    fn refused(&self, refusal: &crate::policy::Refusal, then: &Error) -> Error {
        let endpoint = &refusal.endpoint;
        Error::new(
            ErrorKind::PermissionDenied,
            format!(
                "the sandbox refused plugin '{}' (remote '{}') when it tried to {} {endpoint}, \
                 which this remote's configuration does not grant; if you trust the plugin to \
                 reach it, add allow_hosts = \"{endpoint}\" to [remotes.{}] (the plugin then \
                 failed with: {})",
                self.plugin.info().name,
                self.name,
                refusal.action,
                self.name,
                then.message()
            ),
        )
    }

    /// Stops at an object description past [`MAX_META_BYTES`]: like any
    /// other bound, it throws the instance away.
    fn check_meta(
        &self,
        state: &mut State,
        meta: &ObjectMeta,
        op: &'static str,
        key: &str,
    ) -> Result<()> {
        let size = meta.key.len()
            + meta.etag.as_ref().map_or(0, String::len)
            + meta.content_type.as_ref().map_or(0, String::len)
            + meta
                .metadata
                .iter()
                .map(|(name, value)| name.len() + value.len())
                .sum::<usize>();
        if size <= MAX_META_BYTES {
            return Ok(());
        }
        state.live = None;
        Err(self.context(
            Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the plugin described one object in {size} bytes, past the bound of \
                     {MAX_META_BYTES} bytes (key, etag, content type and metadata) that the \
                     Wharf contract fixes; it is a fault in the plugin, to report to its \
                     author; the plugin will be restarted for the next call"
                ),
            ),
            op,
            key,
        ))
    }

    fn timer(&self) -> Duration {
        self.limits.call_timeout + HOST_TIMER_GRACE
    }

    /// The live instance for a handle from `generation`, or an error if the
    /// instance was restarted since.
    fn live_for<'s>(
        &self,
        state: &'s mut State,
        generation: u64,
        op: &'static str,
        key: &str,
    ) -> Result<&'s mut Live> {
        match state.live.as_mut() {
            Some(live) if state.generation == generation => {
                arm_deadline(&mut live.instance.store, &self.limits);
                Ok(live)
            }
            _ => Err(self.context(
                Error::new(
                    ErrorKind::PluginFailed,
                    "the plugin was restarted after a failure, so this operation cannot go on; \
                     start it again",
                ),
                op,
                key,
            )),
        }
    }

    /// What is known about the object at `key`.
    pub async fn stat(&self, key: &str) -> Result<ObjectMeta> {
        const OP: &str = "stat";
        self.check_key(OP, key)?;
        let (mut state, present) = self.lock(Intent::Read, OP, key).await?;
        if !present {
            return Err(self.missing_root(OP, key));
        }
        let generation = state.generation;
        let live = self.live_for(&mut state, generation, OP, key)?;
        let call = live
            .instance
            .api
            .stat(&mut live.instance.store, live.store, key);
        let outcome = tokio::time::timeout(self.timer(), call).await;
        let meta = self.settle(&mut state, outcome, OP, key)?;
        self.check_meta(&mut state, &meta, OP, key)?;
        Ok(meta)
    }

    fn missing_root(&self, op: &'static str, key: &str) -> Error {
        let dirs: Vec<String> = self
            .grant
            .directories
            .iter()
            .map(|d| d.host_path.display().to_string())
            .collect();
        self.context(
            Error::new(
                ErrorKind::NotFound,
                format!(
                    "no object there: the remote's directory {} does not exist yet",
                    dirs.join(", ")
                ),
            ),
            op,
            key,
        )
    }

    /// Deletes the object at `key`; deleting a missing key succeeds.
    pub async fn delete(&self, key: &str) -> Result<()> {
        const OP: &str = "delete";
        self.check_key(OP, key)?;
        let (mut state, present) = self.lock(Intent::Read, OP, key).await?;
        if !present {
            return Ok(());
        }
        let generation = state.generation;
        let live = self.live_for(&mut state, generation, OP, key)?;
        let call = live
            .instance
            .api
            .delete(&mut live.instance.store, live.store, key);
        let outcome = tokio::time::timeout(self.timer(), call).await;
        self.settle(&mut state, outcome, OP, key)
    }

    /// Deletes the objects at `keys`, each as [`Remote::delete`] would, and
    /// returns one result per key, in order. A plugin built for contract
    /// 0.2 or later gets the keys [`DELETE_BATCH`] at a time in one call
    /// each, which a backend can turn into one request; for an older
    /// plugin the host deletes them one at a time.
    pub async fn delete_many(&self, keys: &[String]) -> Vec<Result<()>> {
        let mut results = Vec::with_capacity(keys.len());
        for batch in keys.chunks(DELETE_BATCH) {
            results.extend(self.delete_batch(batch).await);
        }
        results
    }

    async fn delete_batch(&self, keys: &[String]) -> Vec<Result<()>> {
        const OP: &str = "delete";
        let mut results: Vec<Result<()>> = keys.iter().map(|key| self.check_key(OP, key)).collect();
        let valid: Vec<String> = keys
            .iter()
            .zip(&results)
            .filter(|(_, checked)| checked.is_ok())
            .map(|(key, _)| key.clone())
            .collect();
        let Some(first) = valid.first() else {
            return results;
        };
        let answers = match self.lock(Intent::Read, OP, first).await {
            Ok((mut state, true))
                if state
                    .live
                    .as_ref()
                    .is_some_and(|l| l.instance.api.has_delete_many()) =>
            {
                let generation = state.generation;
                match self.live_for(&mut state, generation, OP, first) {
                    Ok(live) => {
                        let call = live.instance.api.delete_many(
                            &mut live.instance.store,
                            live.store,
                            &valid,
                        );
                        let outcome = tokio::time::timeout(self.timer(), call).await;
                        self.settle(&mut state, outcome, OP, first)
                    }
                    Err(e) => Err(e),
                }
            }
            // Nothing was ever written: there is nothing to delete.
            Ok((_, false)) => Ok(valid.iter().map(|_| Ok(())).collect()),
            Ok((state, true)) => {
                drop(state);
                let mut each = Vec::with_capacity(valid.len());
                for key in &valid {
                    each.push(self.delete(key).await);
                }
                let mut each = each.into_iter();
                return results
                    .into_iter()
                    .map(|checked| checked.and_then(|()| each.next().unwrap_or(Ok(()))))
                    .collect();
            }
            Err(e) => Err(e),
        };
        let mut answers = match answers {
            Ok(answers) if answers.len() == valid.len() => answers.into_iter(),
            Ok(answers) => {
                let error = self.context(
                    Error::new(
                        ErrorKind::PluginFailed,
                        format!(
                            "the plugin answered delete-many of {} keys with {} results",
                            valid.len(),
                            answers.len()
                        ),
                    ),
                    OP,
                    first,
                );
                return results
                    .into_iter()
                    .map(|c| c.and(Err(error.clone())))
                    .collect();
            }
            Err(error) => {
                return results
                    .into_iter()
                    .map(|c| c.and(Err(error.clone())))
                    .collect();
            }
        };
        for (result, key) in results.iter_mut().zip(keys) {
            if result.is_ok() {
                if let Some(Err(guest)) = answers.next() {
                    *result = Err(self.context(Error::from(guest), OP, key));
                }
            }
        }
        results
    }

    /// Copies `source` to `destination` inside the backend.
    pub async fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        const OP: &str = "copy";
        self.check_key(OP, source)?;
        self.check_key(OP, destination)?;
        let (mut state, present) = self.lock(Intent::Write, OP, source).await?;
        if !present {
            return Err(self.missing_root(OP, source));
        }
        let generation = state.generation;
        let live = self.live_for(&mut state, generation, OP, source)?;
        let call =
            live.instance
                .api
                .copy(&mut live.instance.store, live.store, source, destination);
        let outcome = tokio::time::timeout(self.timer(), call).await;
        let meta = self.settle(&mut state, outcome, OP, source)?;
        self.check_meta(&mut state, &meta, OP, source)?;
        Ok(meta)
    }

    /// Starts reading the object at `key`, all of it or `range`.
    pub async fn open_read(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectReader<'_>> {
        const OP: &str = "read";
        self.check_key(OP, key)?;
        let (mut state, present) = self.lock(Intent::Read, OP, key).await?;
        if !present {
            return Err(self.missing_root(OP, key));
        }
        let generation = state.generation;
        let live = self.live_for(&mut state, generation, OP, key)?;
        let call = live
            .instance
            .api
            .read(&mut live.instance.store, live.store, key, range);
        let outcome = tokio::time::timeout(self.timer(), call).await;
        let resource = self.settle(&mut state, outcome, OP, key)?;
        Ok(ObjectReader {
            remote: self,
            key: key.to_owned(),
            handle: Some(Handle {
                generation,
                resource,
            }),
        })
    }

    /// Starts writing an object at `key`; nothing is visible until
    /// [`ObjectWriter::finish`].
    pub async fn open_write(&self, key: &str, options: WriteOptions) -> Result<ObjectWriter<'_>> {
        const OP: &str = "write";
        self.check_key(OP, key)?;
        let (mut state, _) = self.lock(Intent::Write, OP, key).await?;
        let generation = state.generation;
        let live = self.live_for(&mut state, generation, OP, key)?;
        let call = live
            .instance
            .api
            .write(&mut live.instance.store, live.store, key, &options);
        let outcome = tokio::time::timeout(self.timer(), call).await;
        let resource = self.settle(&mut state, outcome, OP, key)?;
        Ok(ObjectWriter {
            remote: self,
            key: key.to_owned(),
            handle: Some(Handle {
                generation,
                resource,
            }),
        })
    }

    /// Lists the objects under `prefix`, with `/` as the delimiter if
    /// `delimiter` is set.
    pub async fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<ObjectLister<'_>> {
        const OP: &str = "list";
        if self.check_keys {
            wharf_key::check_prefix(prefix).map_err(|e| {
                self.context(
                    Error::new(
                        ErrorKind::InvalidKey,
                        format!("invalid prefix {prefix:?}: {e}"),
                    ),
                    OP,
                    prefix,
                )
            })?;
        }
        let (mut state, present) = self.lock(Intent::Read, OP, prefix).await?;
        let handle = if present {
            let generation = state.generation;
            let live = self.live_for(&mut state, generation, OP, prefix)?;
            let call =
                live.instance
                    .api
                    .list(&mut live.instance.store, live.store, prefix, delimiter);
            let outcome = tokio::time::timeout(self.timer(), call).await;
            let resource = self.settle(&mut state, outcome, OP, prefix)?;
            Some(Handle {
                generation,
                resource,
            })
        } else {
            None
        };
        Ok(ObjectLister {
            remote: self,
            prefix: prefix.to_owned(),
            handle,
        })
    }

    /// Stores everything `source` yields at `key`, a chunk at a time. If
    /// `source` fails, the write is aborted and nothing is stored.
    pub async fn put(
        &self,
        key: &str,
        mut source: impl AsyncRead + Unpin,
        options: WriteOptions,
    ) -> Result<ObjectMeta> {
        let mut writer = self.open_write(key, options).await?;
        let mut chunk = vec![0; CHUNK_SIZE];
        loop {
            let filled = match read_full(&mut source, &mut chunk).await {
                Ok(filled) => filled,
                Err(e) => {
                    let _ = writer.abort_in_place().await;
                    return Err(self.context(
                        Error::io("reading the source failed", e),
                        "write",
                        key,
                    ));
                }
            };
            if filled == 0 {
                break;
            }
            if let Err(e) = writer.write(&chunk[..filled]).await {
                let _ = writer.abort_in_place().await;
                return Err(e);
            }
        }
        writer.finish().await
    }

    /// Writes the object at `key` (or `range` of it) into `sink`, a chunk at
    /// a time; returns how many bytes it wrote.
    pub async fn get(
        &self,
        key: &str,
        range: Option<ByteRange>,
        mut sink: impl AsyncWrite + Unpin,
    ) -> Result<u64> {
        let mut reader = self.open_read(key, range).await?;
        let mut total = 0;
        loop {
            let chunk = reader.read().await?;
            if chunk.is_empty() {
                break;
            }
            sink.write_all(&chunk).await.map_err(|e| {
                self.context(Error::io("writing the destination failed", e), "read", key)
            })?;
            total += chunk.len() as u64;
        }
        sink.flush().await.map_err(|e| {
            self.context(Error::io("writing the destination failed", e), "read", key)
        })?;
        reader.close().await;
        Ok(total)
    }
}

/// Reads until `buf` is full or `source` ends.
async fn read_full(
    source: &mut (impl AsyncRead + Unpin),
    buf: &mut [u8],
) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]).await? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

/// A read in progress, pulled a chunk at a time.
pub struct ObjectReader<'r> {
    remote: &'r Remote,
    key: String,
    handle: Option<Handle>,
}

impl ObjectReader<'_> {
    /// The next chunk of at most [`CHUNK_SIZE`] bytes; empty at the end.
    pub async fn read(&mut self) -> Result<Vec<u8>> {
        const OP: &str = "read";
        let Some(handle) = self.handle else {
            return Ok(Vec::new());
        };
        let remote = self.remote;
        let mut state = remote.state.lock().await;
        let live = remote.live_for(&mut state, handle.generation, OP, &self.key)?;
        let call = live.instance.api.reader_read(
            &mut live.instance.store,
            handle.resource,
            CHUNK_SIZE as u32,
        );
        let outcome = tokio::time::timeout(remote.timer(), call).await;
        let chunk = remote.settle(&mut state, outcome, OP, &self.key)?;
        if chunk.len() > CHUNK_SIZE {
            state.live = None;
            return Err(remote.context(
                Error::new(
                    ErrorKind::PluginFailed,
                    format!(
                        "the plugin returned {} bytes when asked for at most {CHUNK_SIZE}",
                        chunk.len()
                    ),
                ),
                OP,
                &self.key,
            ));
        }
        Ok(chunk)
    }

    /// Ends the read and releases it in the plugin.
    pub async fn close(mut self) {
        if let Some(handle) = self.handle.take() {
            self.remote.orphan(handle);
            let mut state = self.remote.state.lock().await;
            self.remote.drop_orphans(&mut state).await;
        }
    }
}

impl Drop for ObjectReader<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.remote.orphan(handle);
        }
    }
}

/// A write in progress. Dropping it without [`ObjectWriter::finish`] aborts
/// it (in the plugin, at the remote's next call).
pub struct ObjectWriter<'r> {
    remote: &'r Remote,
    key: String,
    handle: Option<Handle>,
}

impl ObjectWriter<'_> {
    fn handle(&self, op: &'static str) -> Result<Handle> {
        self.handle.ok_or_else(|| {
            self.remote.context(
                Error::new(
                    ErrorKind::Other,
                    "this write was already finished or aborted",
                ),
                op,
                &self.key,
            )
        })
    }

    /// Appends `chunk` to the object.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        const OP: &str = "write";
        let handle = self.handle(OP)?;
        let remote = self.remote;
        let mut state = remote.state.lock().await;
        let live = remote.live_for(&mut state, handle.generation, OP, &self.key)?;
        let call = live
            .instance
            .api
            .writer_write(&mut live.instance.store, handle.resource, chunk);
        let outcome = tokio::time::timeout(remote.timer(), call).await;
        remote.settle(&mut state, outcome, OP, &self.key)
    }

    /// Makes the object visible at its key.
    pub async fn finish(mut self) -> Result<ObjectMeta> {
        const OP: &str = "write";
        let handle = self.handle(OP)?;
        let remote = self.remote;
        let mut state = remote.state.lock().await;
        let live = remote.live_for(&mut state, handle.generation, OP, &self.key)?;
        let call = live
            .instance
            .api
            .writer_finish(&mut live.instance.store, handle.resource);
        let outcome = tokio::time::timeout(remote.timer(), call).await;
        let result = remote
            .settle(&mut state, outcome, OP, &self.key)
            .and_then(|meta| {
                remote.check_meta(&mut state, &meta, OP, &self.key)?;
                Ok(meta)
            });
        drop(state);
        // Finished or failed, the resource is done with.
        self.handle = None;
        remote.orphan(handle);
        result
    }

    /// Throws the write away; nothing is stored.
    pub async fn abort(mut self) -> Result<()> {
        self.abort_in_place().await
    }

    async fn abort_in_place(&mut self) -> Result<()> {
        const OP: &str = "abort";
        let Some(handle) = self.handle.take() else {
            return Ok(());
        };
        let remote = self.remote;
        let mut state = remote.state.lock().await;
        // After a restart there is nothing left to abort: the instance that
        // held the write is gone, and the contract says it left nothing.
        let Ok(live) = remote.live_for(&mut state, handle.generation, OP, &self.key) else {
            return Ok(());
        };
        let call = live
            .instance
            .api
            .writer_abort(&mut live.instance.store, handle.resource);
        let outcome = tokio::time::timeout(remote.timer(), call).await;
        let result = remote.settle(&mut state, outcome, OP, &self.key);
        drop(state);
        remote.orphan(handle);
        result
    }
}

impl Drop for ObjectWriter<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.remote.orphan(handle);
        }
    }
}

/// A listing in progress, pulled a page at a time.
pub struct ObjectLister<'r> {
    remote: &'r Remote,
    prefix: String,
    handle: Option<Handle>,
}

impl ObjectLister<'_> {
    /// The next page of at most [`LIST_PAGE`] entries; empty at the end.
    pub async fn next_page(&mut self) -> Result<Vec<Entry>> {
        const OP: &str = "list";
        let Some(handle) = self.handle else {
            return Ok(Vec::new());
        };
        let remote = self.remote;
        let mut state = remote.state.lock().await;
        let live = remote.live_for(&mut state, handle.generation, OP, &self.prefix)?;
        let call =
            live.instance
                .api
                .lister_next(&mut live.instance.store, handle.resource, LIST_PAGE);
        let outcome = tokio::time::timeout(remote.timer(), call).await;
        let page = remote.settle(&mut state, outcome, OP, &self.prefix)?;
        if page.len() > LIST_PAGE as usize {
            state.live = None;
            return Err(remote.context(
                Error::new(
                    ErrorKind::PluginFailed,
                    format!(
                        "the plugin returned {} entries when asked for at most {LIST_PAGE}",
                        page.len()
                    ),
                ),
                OP,
                &self.prefix,
            ));
        }
        let key_bytes: usize = page
            .iter()
            .map(|entry| match entry {
                Entry::Object(meta) => meta.key.len(),
                Entry::CommonPrefix(prefix) => prefix.len(),
            })
            .sum();
        if key_bytes > MAX_PAGE_KEY_BYTES {
            state.live = None;
            return Err(remote.context(
                Error::new(
                    ErrorKind::LimitExceeded,
                    format!(
                        "the plugin returned a listing page whose keys take {key_bytes} bytes, \
                         past the bound of {MAX_PAGE_KEY_BYTES} bytes ({LIST_PAGE} keys of at \
                         most {} bytes) that the Wharf contract fixes; it is a fault in the \
                         plugin, to report to its author; the plugin will be restarted for the \
                         next call",
                        wharf_key::MAX_KEY_LEN
                    ),
                ),
                OP,
                &self.prefix,
            ));
        }
        for entry in &page {
            if let Entry::Object(meta) = entry {
                remote.check_meta(&mut state, meta, OP, &self.prefix)?;
            }
        }
        if page.is_empty() {
            self.handle = None;
            drop(state);
            remote.orphan(handle);
        }
        Ok(page)
    }
}

impl Drop for ObjectLister<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.remote.orphan(handle);
        }
    }
}
