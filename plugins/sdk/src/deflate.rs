//! Deflate by the host (`wharf:storage/deflate`), for an overlay that
//! stores compressed data. Inside the sandbox deflate runs at about half
//! its native speed, on the instance's one thread; the host compresses a
//! block natively on a thread of its own and returns at once, so an
//! overlay that keeps a few blocks started while it gathers the next
//! compresses on every core.
//!
//! Each block is compressed from a fresh state and ends with a sync flush
//! (the last with the stream's end), so blocks put one after the other are
//! one raw deflate stream, and each inflates on its own from its start.
//!
//! A plugin that calls nothing here does not import it.

use crate::bindings::wharf::storage::deflate as raw;
use crate::Result;

/// One block, compressed.
pub struct DeflatedBlock {
    /// The block's raw deflate data.
    pub data: Vec<u8>,
    /// The CRC-32 of its content, as gzip keeps it.
    pub crc32: u32,
}

/// A block the host is compressing. Dropped unfinished, it is thrown away.
pub struct Deflation(raw::Deflation);

impl Deflation {
    /// Waits for the block.
    pub fn finish(self) -> Result<DeflatedBlock> {
        let block = self.0.finish()?;
        Ok(DeflatedBlock {
            data: block.data,
            crc32: block.crc32,
        })
    }
}

/// Starts compressing `content` as one block at zlib's `level` (0 to 9),
/// with Huffman coding only if `huffman_only`; the `last` block ends the
/// stream. The host bounds each instance to blocks of 4 MiB, 4 of them at
/// a time, within the remote's host memory limit; past a bound the error
/// says which.
pub fn start(content: &[u8], level: u8, huffman_only: bool, last: bool) -> Result<Deflation> {
    raw::start(content, level, huffman_only, last).map(Deflation)
}

/// The MD5 of a content given piece by piece, computed by the host natively
/// on a thread of its own, in order, while the overlay goes on (see
/// `wharf:storage/deflate.content-md5`). Pieces of at most 4 MiB.
pub struct ContentMd5(raw::ContentMd5);

impl ContentMd5 {
    /// The MD5 of nothing yet.
    pub fn new() -> Self {
        ContentMd5(raw::ContentMd5::new())
    }

    /// Adds the next piece; returns once the host holds it.
    pub fn add(&self, piece: &[u8]) -> Result<()> {
        self.0.add(piece)
    }

    /// Waits for every piece and gives the digest.
    pub fn finish(self) -> Result<[u8; 16]> {
        let digest = self.0.finish()?;
        digest.try_into().map_err(|digest: Vec<u8>| {
            crate::Error::other(format!(
                "the host gave an MD5 of {} bytes, not 16",
                digest.len()
            ))
        })
    }
}

impl Default for ContentMd5 {
    fn default() -> Self {
        Self::new()
    }
}
