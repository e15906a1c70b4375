//! A Wharf storage plugin, made by `wharf plugins new`.
//!
//! As made, it keeps objects in memory for as long as its plugin instance
//! lives: a complete backend that passes the conformance suite, for you to
//! replace piece by piece with calls to your own. Every key and prefix that
//! reaches these methods has been checked against the contract's rules
//! already, and `open` gets only declared options, with defaults filled in.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use wharf_plugin::{
    option, ByteRange, Capabilities, Entry, Error, Lister, ObjectMeta, Options, Plugin, PluginInfo,
    Reader, Result, Store, Timestamp, WriteOptions, Writer,
};

/// The option that bounds how much the store holds.
const CAPACITY_MIB: &str = "capacity_mib";

/// The plugin: describes itself and opens stores.
pub struct MemoryPlugin;

/// One opened store: its objects, shared with the writers that add to it.
pub struct MemoryStore {
    objects: Objects,
    capacity: usize,
}

type Objects = Rc<RefCell<BTreeMap<String, Object>>>;

/// One stored object. The bytes are shared, so readers and copies cost no
/// copy of them.
#[derive(Clone)]
struct Object {
    data: Rc<Vec<u8>>,
    content_type: Option<String>,
    modified: Timestamp,
}

impl Object {
    fn meta(&self, key: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.into(),
            size: self.data.len() as u64,
            last_modified: Some(self.modified),
            etag: None,
            content_type: self.content_type.clone(),
            metadata: Vec::new(),
        }
    }
}

impl Plugin for MemoryPlugin {
    type Store = MemoryStore;

    fn info() -> PluginInfo {
        PluginInfo {
            name: env!("CARGO_PKG_NAME").into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: env!("CARGO_PKG_DESCRIPTION").into(),
            options: vec![option(
                CAPACITY_MIB,
                "How many MiB of objects the store holds at most, e.g. 128. The instance has 256 MiB of memory in all unless the remote raises memory_limit_mib.",
                false,
                false,
                Some("128"),
            )],
            capabilities: Capabilities {
                ranged_read: true,
                list_delimiter: true,
                copy: true,
                content_type: true,
                user_metadata: false,
                last_modified: true,
                etag: false,
                case_insensitive: false,
                key_and_prefix: true,
            },
            // Memory needs nothing from the host. A backend on disk would
            // declare `Access::Directory("root")`; one on the network,
            // `Access::Network(..)` with the hosts its options name.
            access: Vec::new(),
        }
    }

    fn open(options: Options) -> Result<MemoryStore> {
        let mib: usize = options.parse(CAPACITY_MIB)?.unwrap_or(128);
        Ok(MemoryStore {
            objects: Rc::default(),
            capacity: mib << 20,
        })
    }
}

impl MemoryStore {
    fn get(&self, key: &str) -> Result<Object> {
        self.objects
            .borrow()
            .get(key)
            .cloned()
            .ok_or_else(|| Error::not_found(format!("no object at {key:?}")))
    }
}

impl Store for MemoryStore {
    type Reader = MemoryReader;
    type Writer = MemoryWriter;
    type Lister = MemoryLister;

    fn stat(&self, key: &str) -> Result<ObjectMeta> {
        Ok(self.get(key)?.meta(key))
    }

    fn read(&self, key: &str, range: Option<ByteRange>) -> Result<MemoryReader> {
        let data = self.get(key)?.data;
        let size = data.len() as u64;
        let (start, end) = match range {
            None => (0, size),
            Some(ByteRange::Span(span)) => (span.offset, span.offset.saturating_add(span.length)),
            Some(ByteRange::From(offset)) => (offset, size),
            Some(ByteRange::Suffix(length)) => (size.saturating_sub(length), size),
        };
        Ok(MemoryReader {
            data,
            position: start.min(size) as usize,
            end: end.min(size) as usize,
        })
    }

    fn write(&self, key: &str, options: WriteOptions) -> Result<MemoryWriter> {
        Ok(MemoryWriter {
            objects: self.objects.clone(),
            capacity: self.capacity,
            key: key.to_owned(),
            content_type: options.content_type,
            data: Vec::new(),
        })
    }

    fn delete(&self, key: &str) -> Result<()> {
        self.objects.borrow_mut().remove(key);
        Ok(())
    }

    fn list(&self, prefix: &str, delimiter: Option<&str>) -> Result<MemoryLister> {
        // A BTreeMap of Strings is already in the byte order the contract
        // asks for; a backend that returns another order must sort.
        let mut entries = Vec::new();
        for (key, object) in self.objects.borrow().range(prefix.to_owned()..) {
            let Some(rest) = key.strip_prefix(prefix) else {
                break;
            };
            match rest.find('/').filter(|_| delimiter.is_some()) {
                Some(slash) => {
                    let common = format!("{prefix}{}", &rest[..=slash]);
                    if !matches!(entries.last(), Some(Entry::CommonPrefix(last)) if *last == common)
                    {
                        entries.push(Entry::CommonPrefix(common));
                    }
                }
                None => entries.push(Entry::Object(object.meta(key))),
            }
        }
        Ok(MemoryLister {
            entries: entries.into_iter(),
        })
    }

    fn copy(&self, source: &str, destination: &str) -> Result<ObjectMeta> {
        let copied = Object {
            modified: wharf_plugin::time::now(),
            ..self.get(source)?
        };
        let meta = copied.meta(destination);
        self.objects
            .borrow_mut()
            .insert(destination.to_owned(), copied);
        Ok(meta)
    }
}

/// A read in progress: the object's bytes and how far it has got.
pub struct MemoryReader {
    data: Rc<Vec<u8>>,
    position: usize,
    end: usize,
}

impl Reader for MemoryReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let end = self.end.min(self.position + max_bytes);
        let chunk = self.data[self.position..end].to_vec();
        self.position = end;
        Ok(chunk)
    }
}

/// A write in progress. Its bytes stay here until `finish`, so nothing is
/// visible at the key before then (the contract's atomic write).
pub struct MemoryWriter {
    objects: Objects,
    capacity: usize,
    key: String,
    content_type: Option<String>,
    data: Vec<u8>,
}

impl Writer for MemoryWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        let stored: usize = self.objects.borrow().values().map(|o| o.data.len()).sum();
        if stored + self.data.len() + chunk.len() > self.capacity {
            return Err(Error::other(format!(
                "the store is full ({} MiB) writing {:?}; delete objects or raise {CAPACITY_MIB}",
                self.capacity >> 20,
                self.key
            )));
        }
        self.data.extend_from_slice(&chunk);
        Ok(())
    }

    fn finish(self) -> Result<ObjectMeta> {
        let object = Object {
            data: Rc::new(self.data),
            content_type: self.content_type,
            modified: wharf_plugin::time::now(),
        };
        let meta = object.meta(&self.key);
        self.objects.borrow_mut().insert(self.key, object);
        Ok(meta)
    }

    fn abort(self) -> Result<()> {
        Ok(())
    }
}

/// A listing in progress, handed out a page at a time.
pub struct MemoryLister {
    entries: std::vec::IntoIter<Entry>,
}

impl Lister for MemoryLister {
    fn next(&mut self, max_entries: usize) -> Result<Vec<Entry>> {
        Ok(self.entries.by_ref().take(max_entries).collect())
    }
}

wharf_plugin::export_plugin!(MemoryPlugin);
