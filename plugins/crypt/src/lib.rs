//! Wharf's encryption overlay: stores objects encrypted in the remote
//! below it, in rclone's crypt format byte for byte, so a crypt remote
//! rclone wrote reads here and the other way round. See `docs.md`.
// A native build exports nothing (see `export_plugin!`); the format's
// modules are still tested natively.
#![cfg_attr(not(target_family = "wasm"), allow(dead_code))]

mod config;
pub mod content;
pub mod eme;
pub mod encoding;
mod error;
pub mod keys;
mod lister;
pub mod names;
mod reader;
mod writer;

use std::rc::Rc;

use wharf_plugin::below;
use wharf_plugin::{
    ByteRange, Capabilities, Error, ObjectMeta, Options, Plugin, PluginInfo, Result, Store,
    WriteOptions,
};

use crate::config::CryptConfig;
use crate::error::{undecryptable, unencryptable};
use crate::lister::{CryptLister, OwnedLister};
use crate::names::Names;
use crate::reader::CryptReader;
use crate::writer::CryptWriter;

/// The longest key the contract allows, below as everywhere.
const MAX_KEY: usize = 1024;

/// The plugin: describes itself and opens [`CryptStore`]s.
pub struct CryptPlugin;

/// One crypt remote: its keys, over the remote below.
pub struct CryptStore {
    data_key: [u8; 32],
    names: Rc<Names>,
    strict_names: bool,
}

impl Plugin for CryptPlugin {
    type Store = CryptStore;

    fn info() -> PluginInfo {
        PluginInfo {
            name: "crypt".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Encrypts objects into the remote below it, in rclone's crypt format"
                .into(),
            options: config::options(),
            capabilities: Capabilities {
                ranged_read: true,
                list_delimiter: true,
                copy: false,
                content_type: false,
                user_metadata: false,
                last_modified: true,
                etag: false,
                case_insensitive: false,
                // As the store below: crypt adds no limit of its own (the
                // host reports the store below's).
                key_and_prefix: true,
            },
            // An overlay reaches nothing but the store below.
            access: Vec::new(),
        }
    }

    fn open(options: Options) -> Result<CryptStore> {
        let config = CryptConfig::from_options(&options)?;
        Ok(CryptStore {
            data_key: config.keys.data,
            names: Rc::new(config.names),
            strict_names: config.strict_names,
        })
    }
}

impl CryptStore {
    /// The name below of `key`.
    fn name(&self, key: &str) -> Result<String> {
        let name = self
            .names
            .encrypt_key(key)
            .map_err(|why| unencryptable(key, &why))?;
        if name.len() > MAX_KEY {
            return Err(unencryptable(
                key,
                &format!(
                    "encrypted, it would be {} bytes, more than the {MAX_KEY} a key may hold \
                     (encrypted names are longer than plain ones); shorten it",
                    name.len()
                ),
            ));
        }
        Ok(name)
    }
}

impl Store for CryptStore {
    type Reader = CryptReader;
    type Writer = CryptWriter;
    type Lister = OwnedLister;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        let mut meta = below::stat(&self.name(key)?).map_err(|e| match e {
            Error::NotFound(_) => Error::not_found(format!("no object at {key:?}")),
            other => other,
        })?;
        meta.size = content::decrypted_size(meta.size).map_err(|why| undecryptable(key, why))?;
        meta.key = key.to_owned();
        meta.etag = None;
        meta.content_type = None;
        meta.metadata = Vec::new();
        Ok(meta)
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<CryptReader> {
        let name = self.name(key)?;
        CryptReader::open(key, &name, &self.data_key, range).map_err(|e| match e {
            Error::NotFound(_) => Error::not_found(format!("no object at {key:?}")),
            other => other,
        })
    }

    fn write(&self, key: &str, options: WriteOptions) -> Result<CryptWriter> {
        CryptWriter::create(key, &self.name(key)?, &self.data_key, &options).map_err(|e| match e {
            Error::InvalidKey(why) => Error::invalid_key(format!(
                "{key:?}: encrypted, its name is too long for the store below (encrypted names \
                 are longer than plain ones; shorten the key): {why}"
            )),
            other => other,
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        below::delete(&self.name(key)?)
    }

    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<OwnedLister> {
        Ok(OwnedLister {
            lister: CryptLister::open(&self.names, self.strict_names, prefix, delimiter)?,
            names: self.names.clone(),
            strict: self.strict_names,
        })
    }
}

wharf_plugin::export_plugin!(CryptPlugin);
