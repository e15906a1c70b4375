//! What a plugin may return, bounded by the contract: a read chunk, a
//! listing page and one object's description. An answer past a bound
//! throws the instance away, like a trap, so a plugin cannot flood the
//! host through a call that otherwise succeeds.

use wasmtime::component::ResourceAny;

use crate::bindings::types::{self, Entry, EtagKind, ObjectMeta, StoreDescription};
use crate::{Error, ErrorKind, Result};

/// The size of the chunks the host reads and writes. Large enough that the
/// copy across the component boundary costs little next to the I/O, small
/// enough that memory stays flat.
pub const CHUNK_SIZE: usize = 1 << 20;

/// The most bytes handed to a plugin's `write` in one call; a larger chunk
/// goes in pieces. Each piece is copied into the plugin's memory beside
/// what the plugin keeps (an S3 part, a part in flight), and that memory
/// never shrinks, so a 1 MiB copy would add 1 MiB to every upload's
/// resident size for good; a quarter of it costs three more calls per
/// chunk, a few microseconds.
pub const WRITE_PIECE: usize = 256 << 10;

/// How many entries the host asks a plugin for per listing page.
pub const LIST_PAGE: u32 = 1000;

/// The most bytes of keys one listing page may hold: [`LIST_PAGE`] keys of
/// the contract's longest (1,024 bytes). A bound of the contract, not a
/// setting.
pub const MAX_PAGE_KEY_BYTES: usize = LIST_PAGE as usize * wharf_key::MAX_KEY_LEN;

/// The most bytes one object's description (key, etag, content type and
/// user metadata) may take, 32 times S3's 2 KiB of user metadata. A bound
/// of the contract, not a setting.
pub const MAX_META_BYTES: usize = 64 << 10;

/// An answer of the plugin, checked against the contract's bounds.
pub(crate) trait Answer {
    /// `Err` when the answer is past a bound.
    fn within_bounds(&self) -> Result<()> {
        Ok(())
    }
}

impl Answer for () {}
impl Answer for ResourceAny {}
impl Answer for Option<super::handed::HandedInput> {}
impl Answer for Option<super::handed::HandedOutput> {}
impl Answer for Vec<std::result::Result<(), types::Error>> {}

impl Answer for ObjectMeta {
    fn within_bounds(&self) -> Result<()> {
        let size = self.key.len()
            + self.etag.as_ref().map_or(0, String::len)
            + self.content_type.as_ref().map_or(0, String::len)
            + self
                .metadata
                .iter()
                .map(|(name, value)| name.len() + value.len())
                .sum::<usize>();
        if size <= MAX_META_BYTES {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the plugin described one object in {size} bytes, past the bound of \
                 {MAX_META_BYTES} bytes (key, etag, content type and metadata) that the Wharf \
                 contract fixes; it is a fault in the plugin, to report to its author; the \
                 plugin will be restarted for the next call"
            ),
        ))
    }
}

/// The most bytes of a hash `store.hash` returns: a SHA-512 in hex is 128.
pub const MAX_HASH_BYTES: usize = 1024;

/// A store's description: a few names, bounded like an object's.
impl Answer for Option<StoreDescription> {
    fn within_bounds(&self) -> Result<()> {
        let Some(description) = self else {
            return Ok(());
        };
        let etag = match &description.etag {
            EtagKind::Hash(name) => name.len(),
            _ => 0,
        };
        let size = etag + description.hashes.iter().map(String::len).sum::<usize>();
        if size <= MAX_META_BYTES {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the plugin described its store in {size} bytes, past the bound of \
                 {MAX_META_BYTES} bytes that the Wharf contract fixes; it is a fault in the \
                 plugin, to report to its author; the plugin will be restarted for the next call"
            ),
        ))
    }
}

/// A hash, in hex.
/// The longest URL a plugin may return: far above any real presigned URL
/// (S3's are well under 2 KiB), far below what would cost the host.
pub const MAX_URL_BYTES: usize = 16 * 1024;

impl Answer for types::PresignedUrl {
    fn within_bounds(&self) -> Result<()> {
        if self.url.len() <= MAX_URL_BYTES {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the plugin returned a URL of {} bytes, past the bound of {MAX_URL_BYTES}",
                self.url.len()
            ),
        ))
    }
}

impl Answer for String {
    fn within_bounds(&self) -> Result<()> {
        if self.len() <= MAX_HASH_BYTES {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::LimitExceeded,
            format!(
                "the plugin returned a hash of {} bytes, past the bound of {MAX_HASH_BYTES} \
                 bytes that the Wharf contract fixes; it is a fault in the plugin, to report to \
                 its author; the plugin will be restarted for the next call",
                self.len()
            ),
        ))
    }
}

/// A read chunk: the host always asks for at most [`CHUNK_SIZE`] bytes.
impl Answer for Vec<u8> {
    fn within_bounds(&self) -> Result<()> {
        if self.len() <= CHUNK_SIZE {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::PluginFailed,
            format!(
                "the plugin returned {} bytes when asked for at most {CHUNK_SIZE}",
                self.len()
            ),
        ))
    }
}

/// A listing page: the host always asks for at most [`LIST_PAGE`] entries.
impl Answer for Vec<Entry> {
    fn within_bounds(&self) -> Result<()> {
        if self.len() > LIST_PAGE as usize {
            return Err(Error::new(
                ErrorKind::PluginFailed,
                format!(
                    "the plugin returned {} entries when asked for at most {LIST_PAGE}",
                    self.len()
                ),
            ));
        }
        let key_bytes: usize = self
            .iter()
            .map(|entry| match entry {
                Entry::Object(meta) => meta.key.len(),
                Entry::CommonPrefix(prefix) => prefix.len(),
            })
            .sum();
        if key_bytes > MAX_PAGE_KEY_BYTES {
            return Err(Error::new(
                ErrorKind::LimitExceeded,
                format!(
                    "the plugin returned a listing page whose keys take {key_bytes} bytes, past \
                     the bound of {MAX_PAGE_KEY_BYTES} bytes ({LIST_PAGE} keys of at most {} \
                     bytes) that the Wharf contract fixes; it is a fault in the plugin, to \
                     report to its author; the plugin will be restarted for the next call",
                    wharf_key::MAX_KEY_LEN
                ),
            ));
        }
        self.iter().try_for_each(|entry| match entry {
            Entry::Object(meta) => meta.within_bounds(),
            Entry::CommonPrefix(_) => Ok(()),
        })
    }
}
