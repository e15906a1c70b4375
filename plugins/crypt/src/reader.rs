//! Reading through crypt: the header's nonce, then only the blocks the
//! range needs, each authenticated before a byte of it is returned.

use wharf_plugin::below::{self, BelowReader};
use wharf_plugin::{ByteRange, Reader, Result, Span};

use crate::content::{self, Blocks, BLOCK, BLOCK_DATA, BLOCK_OVERHEAD, HEADER};
use crate::error::undecryptable;

/// How many sealed blocks are read from below at once: under the 1 MiB a
/// chunk may hold. Fewer, larger calls are most of the speed.
const BATCH: usize = 15;

/// A read in progress.
pub struct CryptReader {
    key: String,
    below: Option<BelowReader>,
    /// Sealed bytes read from below and not yet opened, from `sealed_at`.
    sealed: Vec<u8>,
    sealed_at: usize,
    blocks: Option<Blocks>,
    /// The current block, opened: plaintext from `at` to the end.
    block: Vec<u8>,
    at: usize,
    /// Plaintext still to skip (the start of the range in its block).
    skip: usize,
    /// Plaintext still to return, if the range has an end.
    left: Option<u64>,
}

impl CryptReader {
    /// Starts reading `key` (stored below as `name`), all of it or `range`.
    pub fn open(
        key: &str,
        name: &str,
        data_key: &[u8; 32],
        range: Option<ByteRange>,
    ) -> Result<Self> {
        let (offset, length) = match range {
            None => (0, None),
            Some(ByteRange::Span(span)) => (span.offset, Some(span.length)),
            Some(ByteRange::From(offset)) => (offset, None),
            Some(ByteRange::Suffix(n)) => {
                let stored = below::stat(name)?.size;
                let size = content::decrypted_size(stored).map_err(|e| undecryptable(key, e))?;
                (size.saturating_sub(n), None)
            }
        };
        let first = offset / BLOCK_DATA as u64;
        let skip = (offset % BLOCK_DATA as u64) as usize;
        let (header, reader) = if first == 0 && length.is_none() {
            // One read from the start: the header, then the blocks.
            let reader = below::read(name, None)?;
            (reader.read_exact(HEADER)?, reader)
        } else {
            let header = below::read(
                name,
                Some(ByteRange::Span(Span {
                    offset: 0,
                    length: HEADER as u64,
                })),
            )?
            .read_exact(HEADER)?;
            let start = HEADER as u64 + first * BLOCK as u64;
            let range = match length {
                None => ByteRange::From(start),
                Some(length) => {
                    let wanted = (skip as u64 + length).div_ceil(BLOCK_DATA as u64).max(1);
                    ByteRange::Span(Span {
                        offset: start,
                        length: wanted * BLOCK as u64,
                    })
                }
            };
            (header, below::read(name, Some(range))?)
        };
        let nonce = content::parse_header(&header).map_err(|e| undecryptable(key, e))?;
        Ok(CryptReader {
            key: key.to_owned(),
            below: Some(reader),
            sealed: Vec::new(),
            sealed_at: 0,
            blocks: Some(Blocks::new(data_key, nonce, first)),
            block: Vec::new(),
            at: 0,
            skip,
            left: length,
        })
    }

    /// The next sealed block (at most [`BLOCK`] bytes), read from below a
    /// batch at a time; empty at the end.
    fn next_sealed(&mut self) -> Result<Vec<u8>> {
        if self.sealed.len() - self.sealed_at < BLOCK {
            if let Some(reader) = &self.below {
                self.sealed.drain(..self.sealed_at);
                self.sealed_at = 0;
                let more = reader.read_exact(BATCH * BLOCK)?;
                if more.len() < BATCH * BLOCK {
                    self.below = None;
                }
                self.sealed.extend_from_slice(&more);
            }
        }
        let n = BLOCK.min(self.sealed.len() - self.sealed_at);
        let block = self.sealed[self.sealed_at..self.sealed_at + n].to_vec();
        self.sealed_at += n;
        Ok(block)
    }

    /// Opens the next block; false at the end of the object.
    fn next_block(&mut self) -> Result<bool> {
        let mut sealed = self.next_sealed()?;
        if sealed.is_empty() {
            return Ok(false);
        }
        let blocks = self.blocks.as_mut().expect("set while reading");
        blocks
            .open(&mut sealed)
            .map_err(|e| undecryptable(&self.key, e))?;
        self.block = sealed;
        self.at = BLOCK_OVERHEAD;
        if self.skip > 0 {
            let plain = self.block.len() - BLOCK_OVERHEAD;
            if self.skip > plain {
                self.skip = 0;
                self.block.clear();
                self.at = 0;
                self.below = None;
                self.sealed.clear();
                self.sealed_at = 0;
                return Ok(false);
            }
            self.at += self.skip;
            self.skip = 0;
        }
        Ok(true)
    }
}

impl Reader for CryptReader {
    /// As many opened blocks as fit in `max_bytes`: one call per chunk the
    /// host asks for, not one per 64 KiB block.
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let mut want = max_bytes.max(1);
        if let Some(left) = self.left {
            want = want.min(left as usize);
        }
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            if self.at >= self.block.len() && !self.next_block()? {
                break;
            }
            let n = (self.block.len() - self.at).min(want - out.len());
            out.extend_from_slice(&self.block[self.at..self.at + n]);
            self.at += n;
        }
        if let Some(left) = self.left.as_mut() {
            *left -= out.len() as u64;
        }
        Ok(out)
    }
}
