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
    ByteRange, Capabilities, Error, ObjectMeta, Options, Plugin, PluginInfo, Reader, Result, Store,
    WriteOptions, Writer,
};

use crate::config::CryptConfig;
use crate::error::{undecryptable, unencryptable};
use crate::lister::{CryptLister, OwnedLister, Recursion};
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
    /// `no_data_encryption`: content stored as it is, names encrypted.
    plain_data: bool,
}

/// A read: of sealed content, or of content stored as it is.
pub enum AnyReader {
    Sealed(CryptReader),
    Plain(below::BelowReader),
}

impl Reader for AnyReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        match self {
            AnyReader::Sealed(reader) => reader.read(max_bytes),
            AnyReader::Plain(reader) => reader.read(max_bytes.min(u32::MAX as usize) as u32),
        }
    }
}

/// A write: sealed, or of content stored as it is.
pub enum AnyWriter {
    Sealed(CryptWriter),
    Plain {
        key: String,
        below: below::BelowWriter,
    },
}

impl Writer for AnyWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        match self {
            AnyWriter::Sealed(writer) => writer.write(chunk),
            AnyWriter::Plain { below, .. } => below.write(&chunk),
        }
    }

    fn finish(self) -> Result<ObjectMeta> {
        match self {
            AnyWriter::Sealed(writer) => writer.finish(),
            AnyWriter::Plain { key, below } => {
                let mut meta = below.finish()?;
                meta.key = key;
                meta.etag = None;
                Ok(meta)
            }
        }
    }

    fn abort(self) -> Result<()> {
        match self {
            AnyWriter::Sealed(writer) => writer.abort(),
            AnyWriter::Plain { below, .. } => below.abort(),
        }
    }
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
            plain_data: config.no_data_encryption,
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
    type Reader = AnyReader;
    type Writer = AnyWriter;
    type Lister = OwnedLister;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        let mut meta = below::stat(&self.name(key)?).map_err(|e| match e {
            Error::NotFound(_) => Error::not_found(format!("no object at {key:?}")),
            other => other,
        })?;
        if !self.plain_data {
            meta.size =
                content::decrypted_size(meta.size).map_err(|why| undecryptable(key, why))?;
        }
        meta.key = key.to_owned();
        meta.etag = None;
        meta.content_type = None;
        meta.metadata = Vec::new();
        Ok(meta)
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<AnyReader> {
        let name = self.name(key)?;
        let opened = if self.plain_data {
            below::read(&name, range).map(AnyReader::Plain)
        } else {
            CryptReader::open(key, &name, &self.data_key, range).map(AnyReader::Sealed)
        };
        opened.map_err(|e| match e {
            Error::NotFound(_) => Error::not_found(format!("no object at {key:?}")),
            other => other,
        })
    }

    fn write(&self, key: &str, options: WriteOptions) -> Result<AnyWriter> {
        let name = self.name(key)?;
        let created = if self.plain_data {
            let options = WriteOptions {
                content_type: None,
                metadata: Vec::new(),
                size_hint: options.size_hint,
            };
            below::write(&name, &options).map(|below| AnyWriter::Plain {
                key: key.to_owned(),
                below,
            })
        } else {
            CryptWriter::create(key, &name, &self.data_key, &options).map(AnyWriter::Sealed)
        };
        created.map_err(|e| match e {
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
        let recursion = Recursion {
            names: &self.names,
            strict: self.strict_names,
            plain_data: self.plain_data,
        };
        Ok(OwnedLister {
            lister: CryptLister::open(&recursion, prefix, delimiter)?,
            names: self.names.clone(),
            strict: self.strict_names,
            plain_data: self.plain_data,
        })
    }
}

wharf_plugin::export_plugin!(CryptPlugin);
