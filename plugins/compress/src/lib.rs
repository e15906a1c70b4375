//! Wharf's compression overlay: stores objects compressed (gzip or zstd)
//! in the remote below it, in rclone's compress format (1 MiB blocks, a
//! metadata object beside each data object), so a compress remote rclone
//! wrote reads here and the other way round. See `docs.md`.
// A native build exports nothing (see `export_plugin!`); the format's
// modules are still tested natively.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

mod config;
mod error;
pub mod gzip;
mod lister;
pub mod metadata;
pub mod names;
mod objects;
mod reader;
pub mod sniff;
mod writer;
pub mod zstd;
mod zstd_reader;

use wharf_plugin::below;
use wharf_plugin::tree::TreeLister;
use wharf_plugin::{
    ByteRange, Capabilities, Error, EtagKind, ObjectMeta, OptionAlias, Options, Plugin, PluginInfo,
    Result, Store, StoreDescription, WriteOptions,
};

use crate::config::CompressConfig;
use crate::lister::Below;
use crate::reader::CompressReader;
use crate::writer::CompressWriter;

/// The plugin: describes itself and opens [`CompressStore`]s.
pub struct CompressPlugin;

/// One compress remote, over the remote below.
pub struct CompressStore {
    mode: names::Mode,
    level: i32,
}

impl Plugin for CompressPlugin {
    type Store = CompressStore;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "compress".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Compresses objects into the remote below it, in rclone's compress format"
                .into(),
            options: config::options(),
            capabilities: Capabilities {
                ranged_read: true,
                list_delimiter: true,
                // Both objects copied by the store below, where it can.
                copy: true,
                // Kept in the metadata object, as rclone keeps it.
                content_type: true,
                user_metadata: false,
                last_modified: true,
                // The MD5 of the content, from the metadata object.
                etag: true,
                case_insensitive: false,
                // As the store below (the host reports its limits).
                key_and_prefix: true,
            },
            // An overlay reaches nothing but the store below.
            access: Vec::new(),
        }
    }

    fn option_aliases() -> Vec<OptionAlias> {
        config::aliases()
    }

    fn open(options: Options) -> Result<CompressStore> {
        let config = CompressConfig::from_options(&options)?;
        Ok(CompressStore {
            mode: config.mode,
            level: config.level,
        })
    }
}

/// `e` from below, said of `key` above when it is about the name.
fn name_error(key: &str, e: Error) -> Error {
    match e {
        Error::InvalidKey(why) => error::too_long(key, &why),
        other => other,
    }
}

impl Store for CompressStore {
    type Reader = CompressReader;
    type Writer = CompressWriter;
    type Lister = TreeLister<Below>;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        let stored = objects::stored(key).map_err(|e| name_error(key, e))?;
        let data = below::stat(&stored.data_name).map_err(|e| match e {
            // A metadata object whose data is not there (yet): rclone's
            // write in progress, or its remains.
            Error::NotFound(_) => error::not_found(key),
            other => other,
        })?;
        Ok(ObjectMeta {
            key: key.to_owned(),
            size: stored.size,
            last_modified: data.last_modified,
            etag: Some(stored.metadata.md5),
            content_type: Some(stored.metadata.mime_type),
            metadata: Vec::new(),
        })
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<CompressReader> {
        let stored = objects::stored(key).map_err(|e| name_error(key, e))?;
        CompressReader::open(key, &stored, range).map_err(|e| match e {
            Error::NotFound(_) => error::not_found(key),
            other => other,
        })
    }

    fn write(&self, key: &str, options: WriteOptions) -> Result<CompressWriter> {
        CompressWriter::create(key, self.mode, self.level, &options).map_err(|e| name_error(key, e))
    }

    fn delete(&self, key: &str) -> Result<()> {
        objects::delete(key).map_err(|e| name_error(key, e))
    }

    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<TreeLister<Below>> {
        if delimiter.is_some_and(|d| d != "/") {
            return Err(Error::unsupported(
                "compress lists with the delimiter / only",
            ));
        }
        Ok(TreeLister::new(Below, prefix, delimiter.is_some()))
    }

    fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        objects::copy(source, destination).map_err(|e| match e {
            Error::NotFound(_) => error::not_found(source),
            Error::InvalidKey(why) => error::too_long(destination, &why),
            other => other,
        })
    }

    fn describe(&self) -> StoreDescription {
        StoreDescription {
            etag: EtagKind::Md5,
            hashes: vec!["md5".into()],
            urls: wharf_plugin::UrlSupport::Unsupported,
            create_only: false,
            checked_writes: false,
        }
    }

    fn hash(&self, key: &str, kind: &str) -> Result<String> {
        if kind != "md5" {
            return Err(Error::unsupported(format!(
                "compress keeps the md5 of each object, not its {kind}"
            )));
        }
        Ok(objects::stored(key)?.metadata.md5)
    }
}

wharf_plugin::export_plugin!(CompressPlugin);
