//! Reading through crypt: the header's nonce, then only the blocks the
//! range needs, each authenticated before a byte of it is returned.

use wharf_plugin::below::{self, BelowReader};
use wharf_plugin::{ByteRange, Reader, Result, Span};

use crate::content::{self, Blocks, BLOCK, BLOCK_DATA, BLOCK_OVERHEAD, HEADER};
use crate::error::undecryptable;

/// A read in progress.
pub struct CryptReader {
    key: String,
    below: Option<BelowReader>,
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
            blocks: Some(Blocks::new(data_key, nonce, first)),
            block: Vec::new(),
            at: 0,
            skip,
            left: length,
        })
    }

    /// Opens the next block; false at the end of the object.
    fn next_block(&mut self) -> Result<bool> {
        let Some(reader) = &self.below else {
            return Ok(false);
        };
        let mut sealed = reader.read_exact(BLOCK)?;
        if sealed.is_empty() {
            self.below = None;
            return Ok(false);
        }
        let blocks = self.blocks.as_mut().expect("set while reading");
        blocks
            .open(&mut sealed)
            .map_err(|e| undecryptable(&self.key, e))?;
        if sealed.len() < BLOCK {
            // A short block is the last one.
            self.below = None;
        }
        self.block = sealed;
        self.at = BLOCK_OVERHEAD;
        if self.skip > 0 {
            let plain = self.block.len() - BLOCK_OVERHEAD;
            if self.skip > plain {
                self.skip = 0;
                self.block.clear();
                self.at = 0;
                self.below = None;
                return Ok(false);
            }
            self.at += self.skip;
            self.skip = 0;
        }
        Ok(true)
    }
}

impl Reader for CryptReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        if self.left == Some(0) {
            return Ok(Vec::new());
        }
        while self.at >= self.block.len() {
            if !self.next_block()? {
                return Ok(Vec::new());
            }
        }
        let mut n = (self.block.len() - self.at).min(max_bytes.max(1));
        if let Some(left) = self.left {
            n = n.min(left as usize);
            self.left = Some(left - n as u64);
        }
        let out = self.block[self.at..self.at + n].to_vec();
        self.at += n;
        Ok(out)
    }
}
