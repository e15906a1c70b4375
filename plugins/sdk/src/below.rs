//! The store an overlay sits on (`wharf:storage/below`): the remote its
//! configuration names with `remote = "REMOTE:PREFIX"`. An overlay (such
//! as encryption or compression) keeps its objects there instead of in a
//! backend of its own; it declares no access and reaches nothing else.
//!
//! Every call has the promises of the same call on a store: keys follow
//! the key rules, listings come in byte order, a write is visible only
//! after [`BelowWriter::finish`] and a writer dropped unfinished is
//! aborted. Keys are the store below's, under the configured prefix (the
//! host adds and strips it).
//!
//! A plugin that calls nothing here does not import it, and is a plain
//! plugin.

use crate::bindings::wharf::storage::below as raw;
use crate::{ByteRange, Capabilities, Entry, ObjectMeta, Result, StoreDescription, WriteOptions};

/// What the store below can do.
pub fn capabilities() -> Capabilities {
    raw::store_capabilities()
}

/// How the store below's etags relate to content, and its hashes.
pub fn describe() -> StoreDescription {
    raw::describe()
}

/// What is known about the object at `key` below.
pub fn stat(key: &str) -> Result<ObjectMeta> {
    raw::stat(key)
}

/// Starts reading the object at `key` below, all of it or `range`.
pub fn read(key: &str, range: Option<ByteRange>) -> Result<BelowReader> {
    raw::read(key, range).map(BelowReader)
}

/// Starts writing an object at `key` below.
pub fn write(key: &str, options: &WriteOptions) -> Result<BelowWriter> {
    raw::write(key, options).map(|w| BelowWriter(Some(w)))
}

/// Deletes the object at `key` below (succeeds if there is none).
pub fn delete(key: &str) -> Result<()> {
    raw::delete(key)
}

/// Lists the objects below whose keys start with `prefix`.
pub fn list(prefix: &str, delimiter: Option<&str>) -> Result<BelowLister> {
    raw::list(prefix, delimiter).map(BelowLister)
}

/// Copies an object inside the store below.
pub fn copy(source: &str, destination: &str) -> Result<ObjectMeta> {
    raw::copy(source, destination)
}

/// Tells the user `message`: something the overlay skipped, and why (not
/// an error; the host shows it as a note naming the remote).
pub fn notice(message: &str) {
    raw::notice(message)
}

/// A hash of the object at `key` below, of a kind `describe` lists.
pub fn hash(key: &str, kind: &str) -> Result<String> {
    raw::hash(key, kind)
}

/// A read in progress below.
pub struct BelowReader(raw::BelowReader);

impl BelowReader {
    /// At most `max_bytes` more bytes; empty at the end.
    pub fn read(&self, max_bytes: u32) -> Result<Vec<u8>> {
        self.0.read(max_bytes)
    }

    /// Ends the read below now (dropping it does too).
    pub fn close(self) {
        self.0.close()
    }

    /// Exactly `n` bytes, fewer only at the end of the object.
    pub fn read_exact(&self, n: usize) -> Result<Vec<u8>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let ask = |want: usize| want.min(u32::MAX as usize) as u32;
        // Mostly the first read brings it all: then it is the answer, not
        // copied into a second buffer of the same size.
        let mut out = self.0.read(ask(n))?;
        if out.len() >= n || out.is_empty() {
            return Ok(out);
        }
        out.reserve_exact(n - out.len());
        while out.len() < n {
            let chunk = self.0.read(ask(n - out.len()))?;
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(&chunk);
        }
        Ok(out)
    }
}

/// A write in progress below; dropped unfinished, it is aborted.
pub struct BelowWriter(Option<raw::BelowWriter>);

impl BelowWriter {
    fn inner(&self) -> Result<&raw::BelowWriter> {
        self.0
            .as_ref()
            .ok_or_else(|| crate::Error::other("the write below was already finished or aborted"))
    }

    /// Appends `chunk`.
    pub fn write(&self, chunk: &[u8]) -> Result<()> {
        self.inner()?.write(chunk)
    }

    /// Makes the object visible below.
    pub fn finish(mut self) -> Result<ObjectMeta> {
        match self.0.take() {
            Some(writer) => writer.finish(),
            None => Err(crate::Error::other(
                "the write below was already finished or aborted",
            )),
        }
    }

    /// Throws the write away.
    pub fn abort(mut self) -> Result<()> {
        match self.0.take() {
            Some(writer) => writer.abort(),
            None => Ok(()),
        }
    }
}

impl Drop for BelowWriter {
    fn drop(&mut self) {
        if let Some(writer) = self.0.take() {
            let _ = writer.abort();
        }
    }
}

/// A listing in progress below.
pub struct BelowLister(raw::BelowLister);

impl BelowLister {
    /// At most `max_entries` more entries; empty at the end.
    pub fn next(&self, max_entries: u32) -> Result<Vec<Entry>> {
        self.0.next(max_entries)
    }
}
