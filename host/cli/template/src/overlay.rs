//! A Wharf overlay, made by `wharf plugins new --overlay`.
//!
//! An overlay keeps its objects in the remote below it (the one its
//! remote's `remote = "REMOTE:PREFIX"` names) instead of a backend of its
//! own; encryption and compression are overlays. As made, this one stores
//! each object below unchanged, in a folder of its own if the `folder`
//! option names one: a complete overlay that passes the conformance suite,
//! for you to change into one that transforms what it stores. It declares no
//! access: an overlay reaches nothing but the store below.

use wharf_plugin::below::{self, BelowLister, BelowReader, BelowWriter};
use wharf_plugin::{
    option, ByteRange, Capabilities, Entry, Error, Lister, ObjectMeta, Options, Plugin, PluginInfo,
    Reader, Result, Store, WriteOptions, Writer,
};

/// The option that names the folder below that holds the objects.
const FOLDER: &str = "folder";

/// The plugin: describes itself and opens stores.
pub struct PassPlugin;

/// One opened store: where its objects are below.
pub struct PassStore {
    folder: String,
}

impl Plugin for PassPlugin {
    type Store = PassStore;

    fn info() -> PluginInfo {
        PluginInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "An overlay that stores objects below as they are, in a folder".into(),
            options: vec![option(FOLDER, "A folder below to keep the objects in (none: the keys below are the keys).", false, false, None)],
            capabilities: Capabilities {
                // As the store below: the host reports no more than it has.
                ranged_read: true,
                list_delimiter: true,
                copy: true,
                content_type: true,
                user_metadata: true,
                last_modified: true,
                etag: true,
                case_insensitive: false,
                key_and_prefix: true,
            },
            // An overlay reaches nothing but the store below.
            access: Vec::new(),
        }
    }

    fn open(options: Options) -> Result<PassStore> {
        let folder = options.get(FOLDER).unwrap_or("").trim_matches('/').to_owned();
        if !folder.is_empty() && wharf_plugin::key::check_key(&folder).is_err() {
            return Err(Error::invalid_config(format!("option '{FOLDER}': '{folder}' cannot name a folder")));
        }
        Ok(PassStore { folder })
    }
}

impl PassStore {
    /// The key below of `key` (a prefix keeps the order of keys, so
    /// listings below come in the order they must come in here).
    fn below(&self, key: &str) -> String {
        if self.folder.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.folder)
        }
    }

    /// `meta`, an object below, as this store knows it.
    fn above(&self, meta: ObjectMeta) -> ObjectMeta {
        above(&self.folder, meta)
    }
}

fn above(folder: &str, mut meta: ObjectMeta) -> ObjectMeta {
    meta.key = strip(folder, &meta.key);
    meta
}

/// `key` below without the folder.
fn strip(folder: &str, key: &str) -> String {
    if folder.is_empty() {
        return key.to_owned();
    }
    key.strip_prefix(folder)
        .and_then(|k| k.strip_prefix('/'))
        .unwrap_or(key)
        .to_owned()
}

impl Store for PassStore {
    type Reader = PassReader;
    type Writer = PassWriter;
    type Lister = PassLister;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        below::stat(&self.below(key)).map(|meta| self.above(meta))
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<PassReader> {
        below::read(&self.below(key), range).map(PassReader)
    }

    fn write(&self, key: &str, options: WriteOptions) -> Result<PassWriter> {
        Ok(PassWriter {
            below: below::write(&self.below(key), &options)?,
            key: key.to_owned(),
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        below::delete(&self.below(key))
    }

    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<PassLister> {
        Ok(PassLister {
            below: below::list(&self.below(prefix), delimiter)?,
            folder: self.folder.clone(),
        })
    }

    fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        below::copy(&self.below(source), &self.below(destination)).map(|meta| self.above(meta))
    }
}

/// A read in progress: the bytes below, as they are.
pub struct PassReader(BelowReader);

impl Reader for PassReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        self.0.read(max_bytes.min(u32::MAX as usize) as u32)
    }
}

/// A write in progress below; dropped unfinished, it is aborted there.
pub struct PassWriter {
    below: BelowWriter,
    key: String,
}

impl Writer for PassWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        self.below.write(&chunk)
    }

    fn finish(self) -> Result<ObjectMeta> {
        let mut meta = self.below.finish()?;
        meta.key = self.key;
        Ok(meta)
    }

    fn abort(self) -> Result<()> {
        self.below.abort()
    }
}

/// A listing below, with the folder taken off each key.
pub struct PassLister {
    below: BelowLister,
    folder: String,
}

impl Lister for PassLister {
    fn next(&mut self, max_entries: usize) -> Result<Vec<Entry>> {
        let page = self.below.next(max_entries.min(u32::MAX as usize) as u32)?;
        Ok(page
            .into_iter()
            .map(|entry| match entry {
                Entry::Object(meta) => Entry::Object(above(&self.folder, meta)),
                Entry::CommonPrefix(prefix) => Entry::CommonPrefix(strip(&self.folder, &prefix)),
            })
            .collect())
    }
}

wharf_plugin::export_plugin!(PassPlugin);
