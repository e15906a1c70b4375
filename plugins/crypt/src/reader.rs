//! Reading through crypt: the header's nonce, then only the blocks the
//! range needs, each authenticated before a byte of it is returned.

use wharf_plugin::below::{self, BelowReader};
use wharf_plugin::{ByteRange, Reader, Result, Span};

use crate::content::{self, Blocks, BLOCK, BLOCK_DATA, HEADER};
use crate::error::undecryptable;

/// At most this many sealed blocks are read from below at once (half a
/// MiB): few enough calls that they cost little, and little enough
/// memory that it counts for four ranges at once. With 15 blocks (the
/// most a 1 MiB chunk holds), 384 MiB out of crypt over S3 peaked at
/// 42-44 MiB and took 0.56-0.71 s; with 8, at 37-40 MiB in 0.52-0.55 s
/// (`/usr/bin/time -f %M wharf cp s3secure:big.bin out.bin`, five runs).
const BATCH: usize = 8;

/// A read in progress.
pub struct CryptReader {
    key: String,
    below: Option<BelowReader>,
    blocks: Blocks,
    /// Plaintext opened and not yet returned, from `at`: the batch read
    /// from below, opened in place with the tags squeezed out, so a batch
    /// costs one buffer.
    plain: Vec<u8>,
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
            blocks: Blocks::new(data_key, nonce, first),
            plain: Vec::new(),
            at: 0,
            skip,
            left: length,
        })
    }

    /// Reads the next batch of blocks from below (as many as `want`
    /// bytes of plaintext need, at least one), opens them and makes their
    /// plaintext the next to return; empty at the end of the object.
    fn next_batch(&mut self, want: usize) -> Result<()> {
        self.plain = Vec::new();
        self.at = 0;
        let Some(reader) = &self.below else {
            return Ok(());
        };
        let count = want.div_ceil(BLOCK_DATA).clamp(1, BATCH);
        let mut batch = reader.read_exact(count * BLOCK)?;
        if batch.len() < count * BLOCK {
            self.below = None;
        }
        // Each block's plaintext goes back into the batch, over its own
        // start (the tags squeezed out), so a batch costs one buffer.
        let mut kept = 0;
        for start in (0..batch.len()).step_by(BLOCK) {
            let end = (start + BLOCK).min(batch.len());
            let plain = self.blocks.open(&self.key, &batch[start..end])?;
            // Only a range's first block has bytes to skip; past the end of
            // the last one, the range is past the end of the object.
            let skip = std::mem::take(&mut self.skip).min(plain.len());
            let kept_here = plain.len() - skip;
            batch[kept..kept + kept_here].copy_from_slice(&plain[skip..]);
            kept += kept_here;
        }
        batch.truncate(kept);
        self.plain = batch;
        Ok(())
    }
}

impl Reader for CryptReader {
    /// The opened blocks of one batch, as many as fit in `max_bytes`: one
    /// call per chunk the host asks for, not one per 64 KiB block.
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let mut want = max_bytes.max(1);
        if let Some(left) = self.left {
            want = want.min(usize::try_from(left).unwrap_or(usize::MAX));
        }
        if want == 0 {
            return Ok(Vec::new());
        }
        while self.at >= self.plain.len() {
            if self.below.is_none() {
                return Ok(Vec::new());
            }
            self.next_batch(want)?;
        }
        let available = self.plain.len() - self.at;
        let out = if self.at == 0 && available <= want {
            // The whole batch: handed over, not copied.
            std::mem::take(&mut self.plain)
        } else {
            let n = available.min(want);
            self.at += n;
            self.plain[self.at - n..self.at].to_vec()
        };
        if let Some(left) = self.left.as_mut() {
            *left -= out.len() as u64;
        }
        Ok(out)
    }
}
