//! A remote: one configured plugin and the operations on it.
//!
//! A remote runs its plugin in a pool of instances (`pool`), each in its
//! own store, started on first use from the one loaded plugin; every call
//! takes the same path (`call`): a live instance, the deadline, the call,
//! the outcome judged, the answer held to the contract's bounds
//! (`bounds`). Reads, writes and listings in progress are handles on the
//! instance that holds them (`handles`).

mod bounds;
mod call;
mod handed;
mod handles;
mod pool;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::bindings::types::{
    ByteRange, HttpMethod, NetworkProtocol, ObjectMeta, StoreDescription, UrlSupport, WriteOptions,
};
use crate::grant::{self, Grant};
use crate::limits::Limits;
use crate::plugin::Plugin;
use crate::{Error, ErrorKind, Result};
pub use bounds::{CHUNK_SIZE, LIST_PAGE};
use call::{Intent, Ready};
pub use handles::{ObjectLister, ObjectReader, ObjectWriter};
use pool::{Farewell, Pool};

/// How many keys the host passes to one `store.delete-many` call. The
/// contract allows 1,000 (S3's DeleteObjects limit); the host sends 100 so
/// that a backend which deletes key by key, with a round trip or two each
/// (FTP, Dropbox's lookups), finishes a call well inside its time limit
/// even far from its server, while a bulk backend still needs one request
/// per 100 keys instead of 100.
pub const DELETE_BATCH: usize = 100;

/// A URL for one object, from [`Remote::presign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presigned {
    /// The URL.
    pub url: String,
    /// Seconds until it stops working; `None` if it does not expire.
    pub expires_in: Option<u64>,
    /// The expiry asked for, when the store allows less and it was
    /// shortened to `expires_in`.
    pub shortened_from: Option<u64>,
}

/// One configured backend, ready to use. Share it (`Arc<Remote>`) between
/// tasks: calls from several tasks at once run on several instances.
pub struct Remote {
    name: String,
    plugin: Plugin,
    grant: Grant,
    guest_options: Vec<(String, String)>,
    limits: Limits,
    check_keys: bool,
    pool: Pool,
    instances_started: AtomicU64,
    /// What the user should know about the configuration (aliases
    /// accepted and left out).
    notes: Vec<String>,
    /// The store's description, asked once.
    description: tokio::sync::OnceCell<Option<StoreDescription>>,
    /// What its plugin told the user, not yet shown.
    notices: crate::Notices,
    /// The HTTP connections its instances share, made at the first
    /// instance (the grant is final by then).
    http_pool: std::sync::OnceLock<Arc<crate::http_client::HttpPool>>,
    /// How the user gives it a CA certificate to trust, where it is
    /// configured; `None`: `tls_ca_file` under `[remotes.NAME]`.
    tls_ca_advice: Option<String>,
}

/// A plugin granted no directory and no host can keep its objects only in
/// its instance's memory, so all its calls go to one instance; any other
/// plugin keeps them outside, and gets up to `max_instances`.
fn instances_for(grant: &Grant, limits: &Limits) -> usize {
    if grant.directories.is_empty() && grant.network.is_empty() && grant.below.is_none() {
        1
    } else {
        limits.max_instances
    }
}

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
        let mut options: BTreeMap<String, String> = options.into_iter().collect();
        let notes = crate::aliases::apply(name, plugin.aliases(), &mut options)?;
        let options: Vec<(String, String)> = options.into_iter().collect();
        let (grant, guest_options) =
            grant::compute(plugin.info(), &options, base).map_err(|e| e.with_remote(name))?;
        let pool = Pool::new(instances_for(&grant, &limits), limits.clone());
        Ok(Remote {
            name: name.to_owned(),
            plugin,
            grant,
            guest_options,
            limits,
            check_keys: true,
            pool,
            instances_started: AtomicU64::new(0),
            notes,
            description: tokio::sync::OnceCell::new(),
            notices: crate::Notices::default(),
            http_pool: std::sync::OnceLock::new(),
            tls_ca_advice: None,
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
                    named_by_user: true,
                });
            }
        }
        // Nothing ran yet, so the pool can still be sized for the grant.
        self.pool = Pool::new(
            instances_for(&self.grant, &self.limits),
            self.limits.clone(),
        );
        self
    }

    /// Puts this remote, an overlay's, on `below`: the remote (and prefix)
    /// it stores its objects in.
    pub fn with_below(mut self, below: crate::overlay::Below) -> Self {
        self.grant.below = Some(below);
        // Nothing ran yet, so the pool can still be sized for the grant.
        self.pool = Pool::new(
            instances_for(&self.grant, &self.limits),
            self.limits.clone(),
        );
        self
    }

    /// What this remote can do: its plugin's capabilities, and for an
    /// overlay no more than the remote below it can (crypt reads ranges
    /// only where the store below does, and a key can be a prefix too only
    /// where the store below allows it).
    pub fn capabilities(&self) -> crate::Capabilities {
        let mut caps = self.plugin.info().capabilities;
        if let Some(below) = &self.grant.below {
            let under = below.remote.capabilities();
            caps.ranged_read &= under.ranged_read;
            caps.list_delimiter &= under.list_delimiter;
            caps.copy &= under.copy;
            // An overlay that passes attributes through (the template)
            // has them only where the store below keeps them; one that
            // keeps them itself (compress) is under-reported over a store
            // without them, which is safe: no caller relies on them.
            caps.content_type &= under.content_type;
            caps.user_metadata &= under.user_metadata;
            caps.last_modified &= under.last_modified;
            caps.etag &= under.etag;
            caps.key_and_prefix &= under.key_and_prefix;
            caps.case_insensitive |= under.case_insensitive;
        }
        caps
    }

    /// The remote below this one, for an overlay.
    pub fn below(&self) -> Option<&crate::overlay::Below> {
        self.grant.below.as_ref()
    }

    /// What the plugin's TLS connections trust beyond the web PKI: the
    /// remote's `tls_ca_file` and `tls_insecure_skip_verify` options.
    pub fn with_tls_trust(mut self, trust: crate::TlsTrust) -> Self {
        self.grant.tls = trust;
        self
    }

    /// What the plugin's TLS connections trust beyond the web PKI.
    pub fn tls_trust(&self) -> &crate::TlsTrust {
        &self.grant.tls
    }

    /// How to give this remote a CA certificate to trust, as a message
    /// about an untrusted server tells it (`advice` completes "put the
    /// certificate in a PEM file and …"), for a remote configured other
    /// than under `[remotes.NAME]` of Wharf's file.
    pub fn with_tls_ca_advice(mut self, advice: String) -> Self {
        self.tls_ca_advice = Some(advice);
        self
    }

    /// How to give this remote a CA certificate to trust.
    pub(crate) fn tls_ca_advice(&self) -> String {
        self.tls_ca_advice.clone().unwrap_or_else(|| {
            format!("add tls_ca_file = \"that file\" to [remotes.{}]", self.name)
        })
    }

    /// Takes what the plugin told the user since the last call (an
    /// overlay's names below it that it skipped), for the front end to
    /// show.
    pub fn take_notices(&self) -> Vec<String> {
        self.notices.take()
    }

    /// The remote's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the user should know about how it was configured: options
    /// given under another tool's name that do not apply to the store.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The plugin behind it.
    pub fn plugin(&self) -> &Plugin {
        &self.plugin
    }

    /// Tells the plugin about every read, write and listing its callers
    /// let go of unfinished (`abort`, `close`) and drops them, and returns
    /// once it has: a front end calls it before it exits, so an abandoned
    /// write's temporary data is gone when the command ends. (It happens
    /// anyway, in a task started when a handle is let go, or at the
    /// instance's next call.)
    pub async fn release_abandoned(&self) {
        for slot in self.pool.slots() {
            slot.lock().await.drop_orphans().await;
        }
        // An overlay's writes below were abandoned with its own.
        if let Some(below) = &self.grant.below {
            Box::pin(below.remote.release_abandoned()).await;
        }
    }

    /// Exactly what the plugin may reach for this remote.
    pub fn grant(&self) -> &Grant {
        &self.grant
    }

    /// The bounds on its instances.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The most instances of the plugin this remote runs at once: the
    /// remote's `max_instances`, or one for a plugin granted nothing
    /// (see [`Limits::max_instances`]).
    pub fn max_instances(&self) -> usize {
        self.pool.max()
    }

    /// How many instances this remote has started so far, restarts after a
    /// failure included.
    pub fn instances_started(&self) -> u64 {
        self.instances_started.load(Ordering::Relaxed)
    }

    pub(crate) fn count_instance(&self) {
        self.instances_started.fetch_add(1, Ordering::Relaxed);
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

    pub(crate) fn context(&self, error: Error, op: &'static str, key: &str) -> Error {
        error
            .with_remote(&self.name)
            .with_operation(op)
            .with_key(key)
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

    /// What is known about the object at `key`.
    pub async fn stat(&self, key: &str) -> Result<ObjectMeta> {
        const OP: &str = "stat";
        self.check_key(OP, key)?;
        let Ready::Live(mut held) = self.ready(Intent::Read, OP, key).await? else {
            return Err(self.missing_root(OP, key));
        };
        self.run(&mut held, None, OP, key, async |api, store, this| {
            api.stat(store, this, key).await
        })
        .await
    }

    /// How the store's etags relate to the content and which hashes
    /// [`Remote::hash`] gives, as the plugin declares them, asked once;
    /// `None` for a plugin built before contract 0.3, which declares
    /// nothing (its etags are then only compared with its own), and for a
    /// remote whose directory does not exist yet.
    pub async fn describe(&self) -> Result<Option<StoreDescription>> {
        const OP: &str = "describe";
        let described = self
            .description
            .get_or_try_init(|| async {
                let Ready::Live(mut held) = self.ready(Intent::Read, OP, "").await? else {
                    return Err(None);
                };
                self.run(&mut held, None, OP, "", async |api, store, this| {
                    api.describe(store, this).await
                })
                .await
                .map_err(Some)
            })
            .await;
        match described {
            Ok(description) => Ok(description.clone()),
            Err(None) => Ok(None),
            Err(Some(error)) => Err(error),
        }
    }

    /// The hash of kind `kind` (`md5`, `sha256`, `dropbox`…; one that
    /// [`Remote::describe`] lists) of the object at `key`: the backend's
    /// own where it keeps one, else computed by the plugin from the bytes.
    pub async fn hash(&self, key: &str, kind: &str) -> Result<String> {
        const OP: &str = "hash";
        self.check_key(OP, key)?;
        let Ready::Live(mut held) = self.ready(Intent::Read, OP, key).await? else {
            return Err(self.missing_root(OP, key));
        };
        self.run(&mut held, None, OP, key, async |api, store, this| {
            api.hash(store, this, key, kind).await
        })
        .await
    }

    /// Deletes the object at `key`; deleting a missing key succeeds.
    pub async fn delete(&self, key: &str) -> Result<()> {
        const OP: &str = "delete";
        self.check_key(OP, key)?;
        let Ready::Live(mut held) = self.ready(Intent::Read, OP, key).await? else {
            return Ok(());
        };
        self.run(&mut held, None, OP, key, async |api, store, this| {
            api.delete(store, this, key).await
        })
        .await
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
        let answers = match self.ready(Intent::Read, OP, first).await {
            // Nothing was ever written: there is nothing to delete.
            Ok(Ready::Absent) => return results,
            Ok(Ready::Live(held))
                if !held
                    .state
                    .live
                    .as_ref()
                    .is_some_and(|l| l.instance.api.has_delete_many()) =>
            {
                drop(held);
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
            Ok(Ready::Live(mut held)) => {
                self.run(&mut held, None, OP, first, async |api, store, this| {
                    api.delete_many(store, this, &valid).await
                })
                .await
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
        let Ready::Live(mut held) = self.ready(Intent::Write, OP, source).await? else {
            return Err(self.missing_root(OP, source));
        };
        self.run(&mut held, None, OP, source, async |api, store, this| {
            api.copy(store, this, source, destination).await
        })
        .await
    }

    /// Starts reading the object at `key`, all of it or `range`.
    pub async fn open_read(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectReader<'_>> {
        const OP: &str = "read";
        self.check_key(OP, key)?;
        let Ready::Live(mut held) = self.ready(Intent::Read, OP, key).await? else {
            return Err(self.missing_root(OP, key));
        };
        let resource = self
            .run(&mut held, None, OP, key, async |api, store, this| {
                api.read(store, this, key, range).await
            })
            .await?;
        let handle = held.handle(resource, Farewell::CloseReader);
        // A plugin that hands the read over as a stream does so now, in
        // the same turn on the instance.
        let stream = self
            .run(&mut held, None, OP, key, async |api, store, _| {
                handles::take_input(api, store, resource).await
            })
            .await;
        let mut reader = ObjectReader {
            remote: handles::RemoteRef::Borrowed(self),
            key: key.to_owned(),
            handle: Some(handle),
            stream: None,
        };
        // On an error the reader goes (its drop releases the plugin's).
        drop(held);
        reader.stream = stream?;
        Ok(reader)
    }

    /// Starts writing an object at `key`; nothing is visible until
    /// [`ObjectWriter::finish`].
    pub async fn open_write(&self, key: &str, options: WriteOptions) -> Result<ObjectWriter<'_>> {
        self.open_write_as(key, options, false).await
    }

    /// Starts writing a new object at `key`: [`ObjectWriter::finish`] fails
    /// with [`ErrorKind::AlreadyExists`] if an object is there by then, the
    /// backend checking in the same step as it stores (contract 0.3
    /// `write-new`). [`ErrorKind::Unsupported`] where the store's
    /// description does not promise that.
    pub async fn open_write_new(
        &self,
        key: &str,
        options: WriteOptions,
    ) -> Result<ObjectWriter<'_>> {
        let mut described = self.describe().await?;
        if described.is_none() {
            // A remote whose directory does not exist yet describes itself
            // once a write has made it (the answer is kept after).
            if let Ready::Live(held) = self.ready(Intent::Write, "write", key).await? {
                drop(held);
            }
            described = self.describe().await?;
        }
        if !described.is_some_and(|d| d.create_only) {
            return Err(self.context(
                Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "plugin '{}' cannot refuse a write onto an existing key in the same step \
                         as the write, so it offers no create-only writes",
                        self.plugin.info().name
                    ),
                ),
                "write",
                key,
            ));
        }
        self.open_write_as(key, options, true).await
    }

    async fn open_write_as(
        &self,
        key: &str,
        options: WriteOptions,
        create_only: bool,
    ) -> Result<ObjectWriter<'_>> {
        const OP: &str = "write";
        self.check_key(OP, key)?;
        // A write makes the remote's directories, so it is never absent.
        let Ready::Live(mut held) = self.ready(Intent::Write, OP, key).await? else {
            return Err(self.missing_root(OP, key));
        };
        let resource = self
            .run(&mut held, None, OP, key, async |api, store, this| {
                if create_only {
                    api.write_new(store, this, key, &options).await
                } else {
                    api.write(store, this, key, &options).await
                }
            })
            .await?;
        Ok(ObjectWriter {
            remote: handles::RemoteRef::Borrowed(self),
            key: key.to_owned(),
            handle: Some(held.handle(resource, Farewell::Abort)),
            stream: None,
            asked_for_stream: false,
        })
    }

    /// A URL that lets a plain HTTP client `method` the object at `key`
    /// for `expires_in` seconds, as the store's description says it makes
    /// them; a longer expiry than the store allows is shortened to what it
    /// allows, and [`Presigned::shortened_from`] says so.
    pub async fn presign(
        &self,
        key: &str,
        method: HttpMethod,
        expires_in: u64,
    ) -> Result<Presigned> {
        const OP: &str = "presign";
        self.check_key(OP, key)?;
        let unsupported =
            |why: String| Err(self.context(Error::new(ErrorKind::Unsupported, why), OP, key));
        if expires_in == 0 {
            return Err(self.context(
                Error::new(
                    ErrorKind::InvalidRequest,
                    "a URL that expires at once is of no use; ask for at least one second",
                ),
                OP,
                key,
            ));
        }
        let described = self.describe().await?;
        if described.is_none() {
            // Not described: a plugin before 0.3, or a directory not made yet.
            if let Ready::Absent = self.ready(Intent::Read, OP, key).await? {
                return Err(self.missing_root(OP, key));
            }
        }
        let (asked, shortened_from) = match described.map(|d| d.urls) {
            None | Some(UrlSupport::Unsupported) => {
                return unsupported(format!(
                    "plugin '{}' makes no URLs for its objects; serve them through your \
                     application instead (read them with open/get)",
                    self.plugin.info().name
                ))
            }
            Some(UrlSupport::Expiring(max)) if expires_in > max => (max, Some(expires_in)),
            Some(_) => (expires_in, None),
        };
        let Ready::Live(mut held) = self.ready(Intent::Read, OP, key).await? else {
            return Err(self.missing_root(OP, key));
        };
        let url = self
            .run(&mut held, None, OP, key, async |api, store, this| {
                api.presign(store, this, key, method, asked).await
            })
            .await?;
        Ok(Presigned {
            url: url.url,
            expires_in: url.expires_in,
            shortened_from,
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
        let handle = match self.ready(Intent::Read, OP, prefix).await? {
            Ready::Absent => None,
            Ready::Live(mut held) => {
                let resource = self
                    .run(&mut held, None, OP, prefix, async |api, store, this| {
                        api.list(store, this, prefix, delimiter).await
                    })
                    .await?;
                Some(held.handle(resource, Farewell::CloseLister))
            }
        };
        Ok(ObjectLister {
            remote: handles::RemoteRef::Borrowed(self),
            prefix: prefix.to_owned(),
            handle,
        })
    }

    /// [`Remote::open_read`] on a shared remote: the read holds the remote
    /// itself, so it can outlive any borrow (a file object in another
    /// language, kept between calls).
    pub async fn open_read_shared(
        self: &Arc<Self>,
        key: &str,
        range: Option<ByteRange>,
    ) -> Result<ObjectReader<'static>> {
        Ok(self.open_read(key, range).await?.shared(self.clone()))
    }

    /// [`Remote::open_write`] on a shared remote, as
    /// [`Remote::open_read_shared`].
    pub async fn open_write_shared(
        self: &Arc<Self>,
        key: &str,
        options: WriteOptions,
    ) -> Result<ObjectWriter<'static>> {
        Ok(self.open_write(key, options).await?.shared(self.clone()))
    }

    /// [`Remote::open_write_new`] on a shared remote, as
    /// [`Remote::open_read_shared`].
    pub async fn open_write_new_shared(
        self: &Arc<Self>,
        key: &str,
        options: WriteOptions,
    ) -> Result<ObjectWriter<'static>> {
        Ok(self
            .open_write_new(key, options)
            .await?
            .shared(self.clone()))
    }

    /// [`Remote::list`] on a shared remote, as [`Remote::open_read_shared`].
    pub async fn list_shared(
        self: &Arc<Self>,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Result<ObjectLister<'static>> {
        Ok(self.list(prefix, delimiter).await?.shared(self.clone()))
    }

    /// Stores everything `source` yields at `key`, a chunk at a time, the
    /// next chunk read while the last is written (a pipe, or a cipher in
    /// the sandbox, then never waits for the other). If `source` fails,
    /// the write is aborted and nothing is stored.
    pub async fn put(
        &self,
        key: &str,
        mut source: impl AsyncRead + Unpin,
        options: WriteOptions,
    ) -> Result<ObjectMeta> {
        let mut writer = self.open_write(key, options).await?;
        let source_failed =
            |e| self.context(Error::io("reading the source failed", e), "write", key);
        let mut current = vec![0; CHUNK_SIZE];
        let mut next = vec![0; CHUNK_SIZE];
        let mut filled = match read_full(&mut source, &mut current).await {
            Ok(filled) => filled,
            Err(e) => {
                let _ = writer.abort_in_place().await;
                return Err(source_failed(e));
            }
        };
        while filled > 0 {
            let (written, read) = tokio::join!(
                writer.write(&current[..filled]),
                read_full(&mut source, &mut next)
            );
            let failed = match (written, read) {
                (Err(e), _) => e,
                (Ok(()), Err(e)) => source_failed(e),
                (Ok(()), Ok(n)) => {
                    filled = n;
                    std::mem::swap(&mut current, &mut next);
                    continue;
                }
            };
            let _ = writer.abort_in_place().await;
            return Err(failed);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_granted_nothing_runs_on_one_instance() {
        // It can keep its objects only in its instance's memory: a second
        // instance would not see them.
        let limits = Limits::default();
        assert_eq!(instances_for(&Grant::default(), &limits), 1);
        let mut grant = Grant::default();
        grant.network.push(grant::NetworkGrant {
            protocol: NetworkProtocol::Http,
            endpoint: "example.com:443".into(),
            reason: "test".into(),
            named_by_user: true,
        });
        assert_eq!(
            instances_for(&grant, &limits),
            Limits::DEFAULT_MAX_INSTANCES
        );
    }
}
