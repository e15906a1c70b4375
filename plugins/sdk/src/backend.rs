//! The traits a plugin implements: one per resource of `wharf:storage`.
//! Their contracts are the WIT's; the doc comments here say only what this
//! crate adds.

use crate::{
    ByteRange, Entry, EtagKind, HandedStream, OauthFlow, ObjectMeta, OptionAlias, Options,
    PluginInfo, Result, StoreDescription, WriteOptions,
};
use wasip2::io::streams::OutputStream;

/// A storage backend: describes itself and opens stores.
pub trait Plugin: 'static {
    /// The store [`Plugin::open`] returns.
    type Store: Store;

    /// Describes the plugin. Must not touch the disk or the network.
    fn info() -> PluginInfo;

    /// Opens a store. `options` already holds every default from
    /// [`Plugin::info`], every required option, and no unknown one.
    fn open(options: Options) -> Result<Self::Store>;

    /// The other names of the plugin's options (django-storages', rclone's),
    /// declared here once; see `option-aliases` in the WIT. The default has
    /// none. Each alias must name an option of [`Plugin::info`].
    fn option_aliases() -> Vec<OptionAlias> {
        Vec::new()
    }

    /// How a user connects an account of the plugin's service with OAuth 2
    /// (`wharf authorize PLUGIN`); see `oauth-flow` in the WIT. The default
    /// is none: the plugin needs no account connected. Each option it names
    /// must be one of [`Plugin::info`]'s.
    fn oauth_flow() -> Option<OauthFlow> {
        None
    }
}

/// One configured backend. Every key and prefix passed in has already been
/// checked against the key rules.
pub trait Store: 'static {
    /// What [`Store::read`] returns.
    type Reader: Reader;
    /// What [`Store::write`] returns.
    type Writer: Writer;
    /// What [`Store::list`] returns.
    type Lister: Lister;

    /// See `store.stat` in the WIT.
    fn stat(&self, key: &str) -> Result<ObjectMeta>;
    /// See `store.read` in the WIT.
    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<Self::Reader>;
    /// See `store.write` in the WIT.
    fn write(&self, key: &str, options: WriteOptions) -> Result<Self::Writer>;
    /// See `store.delete` in the WIT. Deleting a missing key must succeed.
    fn delete(&self, key: &str) -> Result<()>;
    /// See `store.list` in the WIT. `delimiter` is `None` or `Some("/")`;
    /// other delimiters are refused before this is called.
    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<Self::Lister>;
    /// See `store.copy` in the WIT. The default refuses it as unsupported.
    fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        let _ = (source, destination);
        Err(crate::Error::unsupported(
            "this backend has no server-side copy",
        ))
    }
    /// See `store.delete-many` in the WIT. Every key has been checked
    /// already (one that fails the key rules is answered for you and not
    /// passed in). The default deletes one key at a time with
    /// [`Store::delete`]; override it where the backend deletes many keys
    /// in one request.
    fn delete_many(&self, keys: &[&str]) -> Vec<Result<()>> {
        keys.iter().map(|key| self.delete(key)).collect()
    }
    /// See `store.describe` in the WIT: how this store's etags relate to
    /// the content, and the hash kinds [`Store::hash`] gives. The default:
    /// opaque etags, no hashes.
    fn describe(&self) -> StoreDescription {
        StoreDescription {
            etag: EtagKind::Opaque,
            hashes: Vec::new(),
            urls: crate::UrlSupport::Unsupported,
            create_only: false,
            checked_writes: false,
        }
    }
    /// See `store.hash` in the WIT. `kind` is one that
    /// [`Store::describe`] lists (others are refused before this is
    /// called). The default refuses every kind; a store that must read the
    /// object to hash it can use [`crate::hash::of_reader`].
    fn hash(&self, key: &str, kind: &str) -> Result<String> {
        let _ = key;
        Err(crate::Error::unsupported(format!(
            "this backend gives no {kind} hash"
        )))
    }

    /// See `store.presign` in the WIT: a URL for `method` on the object at
    /// `key`, good for `expires_in` seconds (never more than
    /// [`Store::describe`]'s `urls` allows; a `public` store is only asked
    /// for `get`). The default refuses: declare `urls` and override both.
    fn presign(
        &self,
        key: &str,
        method: crate::HttpMethod,
        expires_in: u64,
    ) -> Result<crate::PresignedUrl> {
        let _ = (key, method, expires_in);
        Err(crate::Error::unsupported(
            "this backend makes no URLs for its objects",
        ))
    }
    /// See `store.write-new` in the WIT: as [`Store::write`], but the
    /// writer's `finish` must fail with `already-exists` if an object is at
    /// `key` by then, checked by the backend in the same step as the store.
    /// The default refuses: declare `create_only` and override both.
    fn write_new(&self, key: &str, options: WriteOptions) -> Result<Self::Writer> {
        let _ = (key, options);
        Err(crate::Error::unsupported(
            "this backend cannot refuse a write onto an existing key in the same step as the write",
        ))
    }
}

/// A read in progress.
pub trait Reader: 'static {
    /// Returns up to `max_bytes` next bytes; an empty vector at the end.
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>>;

    /// Hands the host the next bytes as a stream it reads itself, with no
    /// call per chunk (contract 0.3 `take-stream`): a data connection
    /// whose bytes are the object's as they are. The stream must carry
    /// exactly what [`Reader::read`] would return next (up to
    /// [`HandedStream::length`] of them, when it carries more), and the
    /// reader must keep no pollable of it. The default keeps every byte on
    /// `read`.
    fn take_stream(&mut self) -> Option<HandedStream> {
        None
    }

    /// The stream from [`Reader::take_stream`] ended after the host read
    /// `received` bytes of it: closed by the other side (`failure` is
    /// `None`) or failing. Check the transfer: an error fails the read;
    /// `Ok` goes on from there (`take_stream` is asked again, then `read`,
    /// which returns the end when nothing is left).
    fn stream_ended(&mut self, received: u64, failure: Option<String>) -> Result<()> {
        let _ = received;
        match failure {
            None => Ok(()),
            Some(why) => Err(crate::Error::unavailable(why)),
        }
    }
}

/// A write in progress. If it is dropped without [`Writer::finish`] or
/// [`Writer::abort`], this crate calls [`Writer::abort`].
pub trait Writer: 'static {
    /// Appends `chunk`.
    fn write(&mut self, chunk: Vec<u8>) -> Result<()>;
    /// Makes the object visible and returns its metadata. On error the
    /// implementation must leave nothing behind.
    fn finish(self) -> Result<ObjectMeta>;
    /// Throws the write away.
    fn abort(self) -> Result<()>;

    /// Hands the host a stream it writes the rest of the object into
    /// itself, with no call per chunk (contract 0.3 `take-stream`): an
    /// upload's data connection that takes the object's bytes as they are.
    /// Asked once, before the first non-empty chunk; the host flushes and
    /// drops the stream before [`Writer::finish`] (or [`Writer::abort`]).
    /// The writer must keep no pollable of it. The default keeps every
    /// chunk on `write`.
    fn take_stream(&mut self) -> Option<OutputStream> {
        None
    }
}

/// A listing in progress.
pub trait Lister: 'static {
    /// Returns up to `max_entries` next entries; an empty vector at the end.
    fn next(&mut self, max_entries: usize) -> Result<Vec<Entry>>;
}
