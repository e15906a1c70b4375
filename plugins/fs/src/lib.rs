//! Wharf's file system backend: each object is a file under one directory,
//! its key the file's path relative to that directory. See `docs.md`.

mod config;
mod core;
mod error;
mod lister;
mod reader;
mod writer;

use wharf_plugin::{
    Access, ByteRange, Capabilities, EtagKind, HttpMethod, ObjectMeta, Options, Plugin, PluginInfo,
    PresignedUrl, Result, Store, StoreDescription, UrlSupport, WriteOptions,
};

pub use crate::config::FsConfig;
use crate::core::FsCore;
pub use crate::lister::FsLister;
pub use crate::reader::FsReader;
pub use crate::writer::FsWriter;

/// The plugin: describes itself and opens [`FsBackend`]s.
pub struct FsPlugin;

/// One fs remote: a directory the host has preopened for it.
pub struct FsBackend {
    core: FsCore,
    /// Where a web server publishes the directory (option `base_url`).
    base_url: Option<String>,
}

impl Plugin for FsPlugin {
    type Store = FsBackend;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "fs".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Objects as files under one local directory".into(),
            options: FsConfig::options(),
            capabilities: Capabilities {
                ranged_read: true,
                list_delimiter: true,
                copy: true,
                content_type: false,
                user_metadata: false,
                last_modified: true,
                etag: false,
                case_insensitive: false,
                key_and_prefix: false,
            },
            access: vec![Access::Directory(config::ROOT.into())],
        }
    }

    fn open(options: Options) -> Result<FsBackend> {
        let config = FsConfig::from_options(&options)?;
        Ok(FsBackend {
            base_url: config.base_url.clone(),
            core: FsCore::new(config)?,
        })
    }
}

impl Store for FsBackend {
    type Reader = FsReader;
    type Writer = FsWriter;
    type Lister = FsLister;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        self.core.stat(key)
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<FsReader> {
        FsReader::open(&self.core, key, range)
    }

    fn write(&self, key: &str, _options: WriteOptions) -> Result<FsWriter> {
        FsWriter::create(&self.core, key, false)
    }

    /// The staged file is linked to the key, which fails if anything is
    /// there: no window between a check and the write.
    fn write_new(&self, key: &str, _options: WriteOptions) -> Result<FsWriter> {
        FsWriter::create(&self.core, key, true)
    }

    /// The object's address under `base_url`: the directory as a web server
    /// publishes it, so no signature and no expiry.
    fn presign(&self, key: &str, _method: HttpMethod, _expires_in: u64) -> Result<PresignedUrl> {
        let Some(base) = &self.base_url else {
            return Err(wharf_plugin::Error::unsupported(
                "this fs remote has no base_url, so it makes no URLs; set base_url to where a \
                 web server publishes the directory",
            ));
        };
        self.core.stat(key)?;
        Ok(PresignedUrl {
            url: format!("{base}{}", wharf_plugin::http::percent_encode(key, true)),
            expires_in: None,
        })
    }

    /// A file keeps no hash, so every hash is computed by reading it (as
    /// `md5sum` would), which `check` asks for only to compare content.
    fn describe(&self) -> StoreDescription {
        StoreDescription {
            etag: EtagKind::Opaque,
            hashes: wharf_plugin::hash::KINDS
                .iter()
                .map(|k| k.to_string())
                .collect(),
            urls: if self.base_url.is_some() {
                UrlSupport::Public
            } else {
                UrlSupport::Unsupported
            },
            create_only: true,
            checked_writes: false,
        }
    }

    fn hash(&self, key: &str, kind: &str) -> Result<String> {
        let mut reader = FsReader::open(&self.core, key, None)?;
        wharf_plugin::hash::of_reader(&mut reader, kind)
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.core.delete(key)
    }

    fn delete_many(&self, keys: &[&str]) -> Vec<Result<()>> {
        self.core.delete_many(keys)
    }

    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<FsLister> {
        FsLister::new(&self.core, prefix, delimiter.is_some())
    }

    fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        self.core.copy(source, destination)
    }
}

wharf_plugin::export_plugin!(FsPlugin);
