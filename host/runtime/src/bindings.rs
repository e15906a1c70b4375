//! The `bindgen!` calls: host-side types for `wit/`, and the calls of each
//! earlier contract version this host still loads, behind one [`PluginApi`].

use wasmtime::component::{InstancePre, Resource, ResourceAny};
use wasmtime::Store;
use wasmtime_wasi::p2::DynOutputStream;

use crate::sandbox::HostState;

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "wharf:storage/plugin",
    exports: { default: async },
    // The streams a plugin hands over (`take-stream`) are wasmtime-wasi's
    // own, so the host reads and writes them where the plugin's WASI
    // calls would.
    with: { "wasi:io": wasmtime_wasi::p2::bindings::io },
});

pub use self::exports::wharf::storage::storage::HandedStream;
pub use self::wharf::storage::types;
use types::{
    ByteRange, Entry, Error, HttpMethod, ObjectMeta, OptionAlias, PluginInfo, PresignedUrl,
    StoreDescription, WriteOptions,
};

/// The `overlay` world's import: the store below an overlay, which the host
/// provides (see `overlay.rs`). Its exports are the same `storage` as a
/// plugin's, called through [`PluginApi`].
pub(crate) mod overlay {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "wharf:storage/overlay",
        imports: { default: async | trappable },
        exports: { default: async },
        with: {
            "wharf:storage/types": crate::bindings::types,
            "wharf:storage/below.below-reader": crate::overlay::BelowReader,
            "wharf:storage/below.below-writer": crate::overlay::BelowWriter,
            "wharf:storage/below.below-lister": crate::overlay::BelowLister,
            "wharf:storage/deflate.deflation": crate::deflate::Deflation,
            "wharf:storage/deflate.content-md5": crate::deflate::ContentMd5,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
        },
    });
}

/// The optional `authorization` export (contract 0.3): how a plugin's
/// service connects an account. Bound on its own, since a plugin may leave
/// it out; the host looks for it only when asked to authorize.
pub(crate) mod authorization {
    wasmtime::component::bindgen!({
        path: "../../wit",
        inline: "package wharf:host-view;
                 world authorizing {
                     export wharf:storage/authorization@0.3.0;
                 }",
        world: "wharf:host-view/authorizing",
        exports: { default: async },
        with: { "wharf:storage/types": crate::bindings::types },
    });
}

/// The `staging` import (contract 0.3): unnamed files for a plugin that
/// writes into a directory it was granted. Its descriptors are
/// wasmtime-wasi's own, the ones the plugin's `wasi:filesystem` calls use.
pub(crate) mod staging {
    wasmtime::component::bindgen!({
        path: "../../wit",
        inline: "package wharf:host-staging;
                 world staging-host {
                     import wharf:storage/staging@0.3.0;
                 }",
        world: "wharf:host-staging/staging-host",
        imports: { default: trappable },
        require_store_data_send: true,
        with: {
            "wasi:filesystem": wasmtime_wasi::p2::bindings::filesystem,
            "wasi:io": wasmtime_wasi::p2::bindings::io,
            "wasi:clocks": wasmtime_wasi::p2::bindings::clocks,
        },
    });
}

/// Contract 0.2.0, as released (`wit/released/0.2.0`). Later versions only
/// added types and calls, so its types are the current ones; only the set
/// of calls differs.
mod v0_2 {
    wasmtime::component::bindgen!({
        path: "../../wit/released/0.2.0",
        world: "wharf:storage/plugin",
        exports: { default: async },
        with: { "wharf:storage/types": crate::bindings::types },
    });
}

/// Contract 0.1.0, as released (`wit/released/0.1.0`).
mod v0_1 {
    wasmtime::component::bindgen!({
        path: "../../wit/released/0.1.0",
        world: "wharf:storage/plugin",
        exports: { default: async },
        with: { "wharf:storage/types": crate::bindings::types },
    });
}

/// The contract minor versions this host loads, oldest first; the last is
/// the current one (`wit/`).
pub(crate) const LOADABLE_MINORS: std::ops::RangeInclusive<u64> = 1..=3;

/// A plugin's exports, prepared for instantiation, for the contract version
/// it was built against.
pub(crate) enum PluginApiPre {
    Current(PluginPre<HostState>),
    V0_2(v0_2::PluginPre<HostState>),
    V0_1(v0_1::PluginPre<HostState>),
}

impl PluginApiPre {
    /// Checks that the component exports the calls of contract `0.{minor}`.
    pub fn new(pre: InstancePre<HostState>, minor: u64) -> wasmtime::Result<Self> {
        Ok(match minor {
            1 => PluginApiPre::V0_1(v0_1::PluginPre::new(pre)?),
            2 => PluginApiPre::V0_2(v0_2::PluginPre::new(pre)?),
            _ => PluginApiPre::Current(PluginPre::new(pre)?),
        })
    }

    pub async fn instantiate(&self, store: &mut Store<HostState>) -> wasmtime::Result<PluginApi> {
        Ok(match self {
            PluginApiPre::Current(pre) => {
                PluginApi::Current(Box::new(pre.instantiate_async(store).await?))
            }
            PluginApiPre::V0_2(pre) => PluginApi::V0_2(pre.instantiate_async(store).await?),
            PluginApiPre::V0_1(pre) => PluginApi::V0_1(pre.instantiate_async(store).await?),
        })
    }
}

/// A running plugin's exports. Each method is the WIT call of the same name;
/// a call the plugin's contract version does not have returns `None`.
pub(crate) enum PluginApi {
    // Boxed: the current contract's export table is the largest by far.
    Current(Box<Plugin>),
    V0_2(v0_2::Plugin),
    V0_1(v0_1::Plugin),
}

/// What a call into the guest gives: a trap, or the plugin's own answer.
pub(crate) type Call<T> = wasmtime::Result<Result<T, Error>>;

/// Runs `$call` with `$storage` bound to the plugin's storage exports,
/// whichever version they are; the generated types are shared, so the same
/// expression fits every version.
macro_rules! on_every_version {
    ($api:expr, $storage:ident => $call:expr) => {
        match $api {
            PluginApi::Current(plugin) => {
                let $storage = plugin.wharf_storage_storage();
                $call
            }
            PluginApi::V0_2(plugin) => {
                let $storage = plugin.wharf_storage_storage();
                $call
            }
            PluginApi::V0_1(plugin) => {
                let $storage = plugin.wharf_storage_storage();
                $call
            }
        }
    };
}

/// Runs `$call` with `$store` bound to the `store` exports of a plugin of
/// the current contract; a plugin built before 0.3 gets `unsupported`,
/// saying that `$what` arrived after its contract.
macro_rules! since_0_3 {
    ($api:expr, $what:literal, $store:ident => $call:expr) => {
        match $api {
            PluginApi::Current(plugin) => {
                let $store = plugin.wharf_storage_storage().store();
                $call
            }
            PluginApi::V0_2(_) | PluginApi::V0_1(_) => Ok(Err(Error::Unsupported(
                concat!(
                    $what,
                    " arrived in wharf:storage 0.3.0, after this plugin's contract"
                )
                .into(),
            ))),
        }
    };
}

impl PluginApi {
    pub async fn info(&self, store: &mut Store<HostState>) -> wasmtime::Result<PluginInfo> {
        on_every_version!(self, s => s.call_info(store).await)
    }

    pub async fn open(
        &self,
        store: &mut Store<HostState>,
        options: &[(String, String)],
    ) -> Call<ResourceAny> {
        on_every_version!(self, s => s.call_open(store, options).await)
    }

    pub async fn stat(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        key: &str,
    ) -> Call<ObjectMeta> {
        on_every_version!(self, s => s.store().call_stat(store, this, key).await)
    }

    pub async fn read(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        key: &str,
        range: Option<ByteRange>,
    ) -> Call<ResourceAny> {
        on_every_version!(self, s => s.store().call_read(store, this, key, range).await)
    }

    pub async fn write(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        key: &str,
        options: &WriteOptions,
    ) -> Call<ResourceAny> {
        on_every_version!(self, s => s.store().call_write(store, this, key, options).await)
    }

    pub async fn delete(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        key: &str,
    ) -> Call<()> {
        on_every_version!(self, s => s.store().call_delete(store, this, key).await)
    }

    pub async fn list(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        prefix: &str,
        delimiter: Option<&str>,
    ) -> Call<ResourceAny> {
        on_every_version!(self, s => s.store().call_list(store, this, prefix, delimiter).await)
    }

    pub async fn copy(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        source: &str,
        destination: &str,
    ) -> Call<ObjectMeta> {
        on_every_version!(self, s => s.store().call_copy(store, this, source, destination).await)
    }

    /// Whether the plugin's contract has `store.delete-many` (since 0.2).
    pub fn has_delete_many(&self) -> bool {
        !matches!(self, PluginApi::V0_1(_))
    }

    /// `option-aliases`; none for a plugin built before 0.3.
    pub async fn option_aliases(
        &self,
        store: &mut Store<HostState>,
    ) -> wasmtime::Result<Vec<OptionAlias>> {
        match self {
            PluginApi::Current(plugin) => {
                plugin
                    .wharf_storage_storage()
                    .call_option_aliases(store)
                    .await
            }
            PluginApi::V0_2(_) | PluginApi::V0_1(_) => Ok(Vec::new()),
        }
    }

    /// `store.describe`; for a plugin built before 0.3, which declares
    /// nothing, `None`.
    pub async fn describe(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
    ) -> Call<Option<StoreDescription>> {
        match self {
            PluginApi::Current(plugin) => plugin
                .wharf_storage_storage()
                .store()
                .call_describe(store, this)
                .await
                .map(|d| Ok(Some(d))),
            PluginApi::V0_2(_) | PluginApi::V0_1(_) => Ok(Ok(None)),
        }
    }

    /// `store.hash`; `unsupported` for a plugin built before 0.3.
    pub async fn hash(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        key: &str,
        kind: &str,
    ) -> Call<String> {
        since_0_3!(self, "hashes on request", s => s.call_hash(store, this, key, kind).await)
    }

    /// `store.presign`; `unsupported` for a plugin built before 0.3.
    pub async fn presign(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        key: &str,
        method: HttpMethod,
        expires_in: u64,
    ) -> Call<PresignedUrl> {
        since_0_3!(self, "URLs for objects", s => {
            s.call_presign(store, this, key, method, expires_in).await
        })
    }

    /// `store.write-new`; `unsupported` for a plugin built before 0.3.
    pub async fn write_new(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        key: &str,
        options: &WriteOptions,
    ) -> Call<ResourceAny> {
        since_0_3!(self, "create-only writes", s => {
            s.call_write_new(store, this, key, options).await
        })
    }

    /// `store.delete-many`; `unsupported` for a plugin built before 0.2.
    pub async fn delete_many(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        keys: &[String],
    ) -> Call<Vec<Result<(), Error>>> {
        match self {
            PluginApi::Current(plugin) => plugin
                .wharf_storage_storage()
                .store()
                .call_delete_many(store, this, keys)
                .await
                .map(Ok),
            PluginApi::V0_2(plugin) => plugin
                .wharf_storage_storage()
                .store()
                .call_delete_many(store, this, keys)
                .await
                .map(Ok),
            PluginApi::V0_1(_) => Ok(Err(Error::Unsupported(
                "delete-many arrived in wharf:storage 0.2.0, after this plugin's contract".into(),
            ))),
        }
    }

    pub async fn reader_read(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        max_bytes: u32,
    ) -> Call<Vec<u8>> {
        on_every_version!(self, s => s.reader().call_read(store, this, max_bytes).await)
    }

    /// `reader.close`; a plugin built before 0.3 has no such call (it
    /// is told by the drop alone).
    pub async fn reader_close(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
    ) -> wasmtime::Result<()> {
        match self {
            PluginApi::Current(plugin) => {
                plugin
                    .wharf_storage_storage()
                    .reader()
                    .call_close(store, this)
                    .await
            }
            PluginApi::V0_2(_) | PluginApi::V0_1(_) => Ok(()),
        }
    }

    /// `reader.take-stream`; a plugin built before 0.3 has no such call
    /// (its reads are all `read`s).
    pub async fn reader_take_stream(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
    ) -> wasmtime::Result<Option<HandedStream>> {
        match self {
            PluginApi::Current(plugin) => {
                plugin
                    .wharf_storage_storage()
                    .reader()
                    .call_take_stream(store, this)
                    .await
            }
            PluginApi::V0_2(_) | PluginApi::V0_1(_) => Ok(None),
        }
    }

    /// `reader.stream-ended`: only ever called after `take-stream` handed
    /// a stream over, which a plugin built before 0.3 never does.
    pub async fn reader_stream_ended(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        received: u64,
        failure: Option<&str>,
    ) -> Call<()> {
        match self {
            PluginApi::Current(plugin) => {
                plugin
                    .wharf_storage_storage()
                    .reader()
                    .call_stream_ended(store, this, received, failure)
                    .await
            }
            PluginApi::V0_2(_) | PluginApi::V0_1(_) => Ok(Ok(())),
        }
    }

    pub async fn writer_write(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        chunk: &[u8],
    ) -> Call<()> {
        on_every_version!(self, s => s.writer().call_write(store, this, chunk).await)
    }

    pub async fn writer_finish(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
    ) -> Call<ObjectMeta> {
        on_every_version!(self, s => s.writer().call_finish(store, this).await)
    }

    /// `writer.take-stream`; a plugin built before 0.3 has no such call.
    pub async fn writer_take_stream(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
    ) -> wasmtime::Result<Option<Resource<DynOutputStream>>> {
        match self {
            PluginApi::Current(plugin) => {
                plugin
                    .wharf_storage_storage()
                    .writer()
                    .call_take_stream(store, this)
                    .await
            }
            PluginApi::V0_2(_) | PluginApi::V0_1(_) => Ok(None),
        }
    }

    pub async fn writer_abort(&self, store: &mut Store<HostState>, this: ResourceAny) -> Call<()> {
        on_every_version!(self, s => s.writer().call_abort(store, this).await)
    }

    pub async fn lister_next(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
        max_entries: u32,
    ) -> Call<Vec<Entry>> {
        on_every_version!(self, s => s.lister().call_next(store, this, max_entries).await)
    }

    /// `lister.close`; a plugin built before 0.3 has no such call.
    pub async fn lister_close(
        &self,
        store: &mut Store<HostState>,
        this: ResourceAny,
    ) -> wasmtime::Result<()> {
        match self {
            PluginApi::Current(plugin) => {
                plugin
                    .wharf_storage_storage()
                    .lister()
                    .call_close(store, this)
                    .await
            }
            PluginApi::V0_2(_) | PluginApi::V0_1(_) => Ok(()),
        }
    }
}
