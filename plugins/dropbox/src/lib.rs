//! Wharf's Dropbox backend: the Dropbox HTTP API v2 through `wasi:http`.
//! See `docs.md` for the options, how keys map to Dropbox paths, and what
//! each operation calls.

mod config;
mod core;
mod delete;
mod error;
mod links;
mod lister;
mod meta;
mod reader;
mod writer;

use std::rc::Rc;

use serde_json::{json, Value};
use wharf_plugin::{
    Access, ByteRange, Capabilities, Error, EtagKind, HttpMethod, NetworkAccess, NetworkProtocol,
    OauthFlow, ObjectMeta, OptionAlias, Options, Plugin, PluginInfo, PresignedUrl, Result, Store,
    StoreDescription, UrlSupport, WriteOptions,
};

use crate::config::check_key;
pub use crate::config::DropboxConfig;
use crate::core::DropboxCore;
use crate::error::{DropboxError, DropboxResult};
pub use crate::lister::DropboxLister;
use crate::meta::{object_meta, FileMeta, Metadata, Wrapped};
pub use crate::reader::DropboxReader;
pub use crate::writer::DropboxWriter;

/// The plugin: describes itself and opens [`DropboxBackend`]s.
pub struct DropboxPlugin;

/// One Dropbox account (and folder in it).
pub struct DropboxBackend {
    core: Rc<DropboxCore>,
    /// Temporary links already made, reused while they last.
    links: links::Links,
}

impl Plugin for DropboxPlugin {
    type Store = DropboxBackend;

    fn info() -> PluginInfo {
        let host = |option: &str, reason: &str| {
            Access::Network(NetworkAccess {
                protocol: NetworkProtocol::Http,
                endpoints: vec![format!("{{{option}}}")],
                reason: reason.into(),
            })
        };
        PluginInfo {
            name: "dropbox".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Dropbox, through its HTTP API v2 (OAuth refresh tokens, upload sessions, content hashes)".into(),
            options: DropboxConfig::options(),
            capabilities: Capabilities {
                ranged_read: true,
                list_delimiter: true,
                copy: true,
                content_type: false,
                user_metadata: false,
                last_modified: true,
                etag: true,
                case_insensitive: true,
                key_and_prefix: false,
            },
            access: vec![
                host("api_url", "Dropbox's API host: metadata, listings, tokens"),
                host("content_url", "Dropbox's content host: uploads and downloads"),
            ],
        }
    }

    fn option_aliases() -> Vec<OptionAlias> {
        DropboxConfig::aliases()
    }

    fn oauth_flow() -> Option<OauthFlow> {
        Some(DropboxConfig::oauth_flow())
    }

    fn open(options: Options) -> Result<DropboxBackend> {
        Ok(DropboxBackend {
            core: Rc::new(DropboxCore::new(DropboxConfig::from_options(&options)?)),
            links: Default::default(),
        })
    }
}

impl DropboxBackend {
    /// `files/get_metadata`; `None` when nothing (or a folder) is there.
    fn file(&self, what: &str, key: &str) -> DropboxResult<Option<FileMeta>> {
        let arg = json!({ "path": self.core.config.path(key) });
        match self.core.rpc(what, "files/get_metadata", &arg) {
            Ok(Metadata::File(file)) => Ok(Some(file)),
            Ok(_) => Ok(None),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The object at `key`, or not-found.
    pub(crate) fn stat_file(&self, key: &str) -> Result<FileMeta> {
        check_key(key)?;
        let what = format!("stat {key:?}");
        self.file(&what, key)?
            .ok_or_else(|| Error::not_found(format!("{what}: no object at this key")))
    }

    /// `files/delete_v2` of the file at `key` as it was at `rev`: a folder
    /// (other keys below) is never deleted, nor a file written since.
    fn delete_rev(&self, what: &str, key: &str, rev: &str) -> DropboxResult<()> {
        let arg = json!({ "path": self.core.config.path(key), "parent_rev": rev });
        match self.core.rpc::<Value>(what, "files/delete_v2", &arg) {
            Ok(_) => Ok(()),
            Err(e) if e.is_not_found() => Ok(()),
            Err(e) => Err(e),
        }
    }
}

impl Store for DropboxBackend {
    type Reader = DropboxReader;
    type Writer = DropboxWriter;
    type Lister = DropboxLister;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        Ok(object_meta(key, &self.stat_file(key)?))
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<DropboxReader> {
        check_key(key)?;
        DropboxReader::open(self, key, range)
    }

    fn write(&self, key: &str, options: WriteOptions) -> Result<DropboxWriter> {
        check_key(key)?;
        self.links.forget(key);
        Ok(DropboxWriter::new(
            self.core.clone(),
            key,
            options.size_hint,
            false,
        ))
    }

    fn write_new(&self, key: &str, options: WriteOptions) -> Result<DropboxWriter> {
        check_key(key)?;
        Ok(DropboxWriter::new(
            self.core.clone(),
            key,
            options.size_hint,
            true,
        ))
    }

    /// A temporary link (files/get_temporary_link): it works for four
    /// hours, whatever was asked, so one is reused while it has at least
    /// the asked time left.
    fn presign(&self, key: &str, method: HttpMethod, expires_in: u64) -> Result<PresignedUrl> {
        check_key(key)?;
        if !matches!(method, HttpMethod::Get) {
            return Err(Error::unsupported(
                "Dropbox's temporary links can only be read (GET); upload through the remote",
            ));
        }
        Ok(self.links.link(&self.core, key, expires_in)?)
    }

    fn delete(&self, key: &str) -> Result<()> {
        check_key(key)?;
        self.links.forget(key);
        let what = format!("delete {key:?}");
        if let Some(file) = self.file(&what, key)? {
            self.delete_rev(&what, key, &file.rev)?;
        }
        Ok(())
    }

    fn delete_many(&self, keys: &[&str]) -> Vec<Result<()>> {
        delete::delete_many(self, keys)
    }

    /// Dropbox keeps every file's content hash, and it is the etag.
    fn describe(&self) -> StoreDescription {
        StoreDescription {
            etag: EtagKind::Hash("dropbox".into()),
            hashes: vec!["dropbox".into()],
            urls: UrlSupport::Expiring(links::MAX_EXPIRY),
            // upload with mode add and strict_conflict: Dropbox checks as
            // it commits.
            create_only: true,
            checked_writes: false,
        }
    }

    fn hash(&self, key: &str, _kind: &str) -> Result<String> {
        self.stat_file(key)?.content_hash.ok_or_else(|| {
            Error::unavailable(format!(
                "Dropbox gave no content hash for {key:?}; try again"
            ))
        })
    }

    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<DropboxLister> {
        Ok(lister::lister(
            self.core.clone(),
            prefix,
            delimiter.is_some(),
        ))
    }

    fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        check_key(source)?;
        check_key(destination)?;
        let what = format!("copy {source:?} to {destination:?}");
        // Only objects are copied: a folder at `source` is not one.
        self.file(&what, source)?
            .ok_or_else(|| Error::not_found(format!("{what}: no object at the source key")))?;
        let config = &self.core.config;
        let arg = json!({
            "from_path": config.path(source),
            "to_path": config.path(destination),
            "autorename": false,
        });
        for _ in 0..2 {
            match self.core.rpc::<Wrapped>(&what, "files/copy_v2", &arg) {
                Ok(Wrapped {
                    metadata: Metadata::File(file),
                }) => return Ok(object_meta(destination, &file)),
                Ok(_) => {
                    return Err(DropboxError::BadResponse {
                        what,
                        detail: "copy_v2 did not answer with a file".into(),
                    }
                    .into())
                }
                // copy_v2 never replaces; the contract's copy does. The old
                // destination goes first (a folder there stays a conflict).
                Err(e) if e.tags().starts_with(&["to", "conflict", "file"]) => {
                    if let Some(old) = self.file(&what, destination)? {
                        self.delete_rev(&what, destination, &old.rev)?;
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::already_exists(format!(
            "{what}: the destination was written again while it was being replaced; retry"
        )))
    }
}

wharf_plugin::export_plugin!(DropboxPlugin);
