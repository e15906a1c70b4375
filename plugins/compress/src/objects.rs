//! The two objects below that hold one object above: reading the metadata
//! object, finding the data object it names, and deleting both.

use wharf_plugin::below;
use wharf_plugin::{Entry, Error, ObjectMeta, Result, WriteOptions};

use crate::error::unreadable;
use crate::metadata::Metadata;
use crate::names::{self, Listed, Mode};

/// The most a metadata object may hold: its block index grows by a few
/// bytes per MiB of content, so this is far more than any object needs.
const MAX_METADATA: usize = 16 << 20;

/// An object as its metadata describes it.
pub struct Stored {
    pub metadata: Metadata,
    pub mode: Mode,
    pub size: u64,
    /// Where its content is below.
    pub data_name: String,
}

/// Reads the metadata object of `key`: `None` if there is none.
pub fn metadata(key: &str) -> Result<Option<Metadata>> {
    let reader = match below::read(&names::metadata_name(key), None) {
        Ok(reader) => reader,
        Err(Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut bytes = Vec::new();
    loop {
        let chunk = reader.read(1 << 20)?;
        if chunk.is_empty() {
            break;
        }
        bytes.extend_from_slice(&chunk);
        if bytes.len() > MAX_METADATA {
            return Err(unreadable(
                key,
                &format!("its metadata object is larger than {MAX_METADATA} bytes"),
            ));
        }
    }
    Metadata::from_json(&bytes)
        .map(Some)
        .map_err(|why| unreadable(key, &why))
}

/// The object at `key`, from its metadata; a clear error if only half of
/// it is there.
pub fn stored(key: &str) -> Result<Stored> {
    let Some(metadata) = metadata(key)? else {
        return Err(match data_objects(key)?.first() {
            Some(data) => unreadable(
                key,
                &format!(
                    "its data object {data:?} is there but its metadata object {:?} is missing \
                     (rclone's compress keeps both); restore the metadata, or delete the object",
                    names::metadata_name(key)
                ),
            ),
            None => crate::error::not_found(key),
        });
    };
    let mode = metadata.mode().map_err(|why| unreadable(key, &why))?;
    let size = metadata
        .content_size()
        .map_err(|why| unreadable(key, &why))?;
    Ok(Stored {
        data_name: names::data_name(key, mode, size),
        metadata,
        mode,
        size,
    })
}

/// The data objects below that hold `key` (normally one; an interrupted
/// write of another tool can leave two).
pub fn data_objects(key: &str) -> Result<Vec<String>> {
    let segment_start = key.rfind('/').map_or(0, |i| i + 1);
    let lister = below::list(&format!("{key}."), Some("/"))?;
    let mut found = Vec::new();
    loop {
        let page = lister.next(1000)?;
        if page.is_empty() {
            return Ok(found);
        }
        for entry in page {
            let Entry::Object(meta) = entry else {
                continue;
            };
            if let Listed::Data { key: name, .. } = names::parse(&meta.key[segment_start..]) {
                if name == key[segment_start..] {
                    found.push(meta.key);
                }
            }
        }
    }
}

/// Copies `source` to `destination` inside the store below, as rclone's
/// compress does: the data object, then the metadata object (the same
/// JSON: it names no key); if the metadata cannot be copied, the data
/// copy is deleted again. The destination's old data object goes last, if
/// its name differs. Returns the copy's data object below.
pub fn copy(source: &str, destination: &str) -> Result<ObjectMeta> {
    let stored = stored(source)?;
    let previous = data_objects(destination)?;
    let data = names::data_name(destination, stored.mode, stored.size);
    let copied = below::copy(&stored.data_name, &data)?;
    if let Err(e) = below::copy(
        &names::metadata_name(source),
        &names::metadata_name(destination),
    ) {
        let undone = match below::delete(&data) {
            Ok(()) => "its data object was deleted again".to_owned(),
            Err(why) => format!("its data object {data:?} could not be deleted ({why}); delete it"),
        };
        return Err(Error::other(format!(
            "copying {source:?} to {destination:?}: the metadata object could not be copied \
             ({e}); {undone}"
        )));
    }
    for old in previous.iter().filter(|p| **p != data) {
        below::delete(old)?;
    }
    Ok(ObjectMeta {
        key: destination.to_owned(),
        size: stored.size,
        last_modified: copied.last_modified,
        etag: Some(stored.metadata.md5),
        content_type: Some(stored.metadata.mime_type),
        metadata: Vec::new(),
    })
}

/// Deletes `key`: its data objects first, so that what a failure leaves is
/// a metadata object, which no listing shows.
pub fn delete(key: &str) -> Result<()> {
    for data in data_objects(key)? {
        below::delete(&data)?;
    }
    below::delete(&names::metadata_name(key))
}

/// Moves the object at `from` below to `to`: copied by the store below if
/// it can, else streamed through; then `from` is deleted.
pub fn move_object(from: &str, to: &str) -> Result<()> {
    if below::capabilities().copy {
        below::copy(from, to)?;
    } else {
        let reader = below::read(from, None)?;
        let writer = below::write(
            to,
            &WriteOptions {
                content_type: None,
                metadata: Vec::new(),
                size_hint: None,
            },
        )?;
        loop {
            let chunk = reader.read(1 << 20)?;
            if chunk.is_empty() {
                break;
            }
            writer.write(&chunk)?;
        }
        writer.finish()?;
    }
    below::delete(from)
}
