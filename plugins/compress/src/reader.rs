//! Reading through compress, by the mode each object's metadata records
//! (whatever the remote writes). Content stored as it is (`.bin`) is read
//! below as it is, ranges and all; zstd content as `zstd_reader` reads
//! it. gzip content is inflated: a read from
//! the start checks the gzip trailer (CRC-32 and size) at the end; a
//! ranged read fetches only the 1 MiB blocks the range needs, found in the
//! metadata's block index, and inflates them from where the first starts.

use wharf_plugin::below::{self, BelowReader};
use wharf_plugin::{ByteRange, Reader, Result, Span};

use crate::error::unreadable;
use crate::gzip::{self, Inflated, Inflater};
use crate::names::Mode;
use crate::objects::Stored;
use crate::zstd_reader::ZstdReader;

/// How much is read from below at once.
const INPUT: u32 = 1 << 20;

/// A read in progress.
pub enum CompressReader {
    Stored(BelowReader),
    Gzip(Box<GzipReader>),
    Zstd(Box<ZstdReader>),
    Empty,
}

/// A read of gzip content.
pub struct GzipReader {
    key: String,
    below: Option<BelowReader>,
    input: Vec<u8>,
    input_at: usize,
    inflater: Inflater,
    ended: bool,
    /// Content still to skip (the start of the range in its block).
    skip: u64,
    /// Content still to return.
    left: u64,
    /// For a read of the whole: the CRC-32 so far, checked at the end.
    crc: Option<crc32fast::Hasher>,
    size: u64,
}

/// The range `range` asks of `size` bytes, as (offset, length); past the
/// end is empty.
fn resolve(range: Option<ByteRange>, size: u64) -> (u64, u64) {
    let (offset, length) = match range {
        None => (0, size),
        Some(ByteRange::Span(span)) => (span.offset, span.length),
        Some(ByteRange::From(offset)) => (offset, size.saturating_sub(offset)),
        Some(ByteRange::Suffix(n)) => (size.saturating_sub(n), n),
    };
    let offset = offset.min(size);
    (offset, length.min(size - offset))
}

impl CompressReader {
    /// Starts reading `key`, stored as `stored`, all of it or `range`.
    pub fn open(key: &str, stored: &Stored, range: Option<ByteRange>) -> Result<Self> {
        match stored.mode {
            Mode::Stored => Ok(CompressReader::Stored(below::read(
                &stored.data_name,
                range,
            )?)),
            Mode::Gzip | Mode::Zstd => {
                let (offset, length) = resolve(range, stored.size);
                if length == 0 {
                    return Ok(CompressReader::Empty);
                }
                if stored.mode == Mode::Zstd {
                    return ZstdReader::open(key, stored, offset, length)
                        .map(|reader| CompressReader::Zstd(Box::new(reader)));
                }
                let whole = range.is_none() || (offset == 0 && length == stored.size);
                GzipReader::open(key, stored, offset, length, whole)
                    .map(|reader| CompressReader::Gzip(Box::new(reader)))
            }
        }
    }
}

impl GzipReader {
    fn open(key: &str, stored: &Stored, offset: u64, length: u64, whole: bool) -> Result<Self> {
        let (block, starts) = stored
            .metadata
            .block_starts()
            .map_err(|why| unreadable(key, &why))?;
        let first = (offset / block) as usize;
        let last = ((offset + length - 1) / block) as usize;
        let blocks = starts.len() - 1;
        if last >= blocks {
            return Err(unreadable(
                key,
                &format!("its block index has {blocks} blocks, too few for its size"),
            ));
        }
        // A read of the whole takes the header and trailer too, to check
        // them; a range takes the blocks it needs.
        let (from, to, skip) = if whole {
            (0, starts[blocks] + gzip::TRAILER_LEN as u64, 0)
        } else {
            (
                starts[first],
                starts[last + 1],
                offset - first as u64 * block,
            )
        };
        let reader = below::read(
            &stored.data_name,
            Some(ByteRange::Span(Span {
                offset: from,
                length: to - from,
            })),
        )?;
        let mut reader = GzipReader {
            key: key.to_owned(),
            below: Some(reader),
            input: Vec::new(),
            input_at: 0,
            inflater: Inflater::default(),
            ended: false,
            skip,
            left: length,
            crc: whole.then(crc32fast::Hasher::new),
            size: stored.size,
        };
        if whole {
            let header_len = starts[0] as usize;
            reader.fill(header_len)?;
            let header = &reader.input[..header_len.min(reader.input.len())];
            if header.len() < header_len || header[..3] != [0x1f, 0x8b, 8] {
                return Err(unreadable(key, "its data object is not gzip"));
            }
            reader.input_at = header_len;
        }
        Ok(reader)
    }

    /// Reads from below until at least `n` bytes are buffered (or below
    /// ends).
    fn fill(&mut self, n: usize) -> Result<()> {
        while self.input.len() - self.input_at < n {
            let Some(below) = &self.below else {
                break;
            };
            let more = below.read(INPUT)?;
            if more.is_empty() {
                self.below = None;
                break;
            }
            self.input.drain(..self.input_at);
            self.input_at = 0;
            self.input.extend_from_slice(&more);
        }
        Ok(())
    }

    /// Checks the trailer after the final block.
    fn check_trailer(&mut self) -> Result<()> {
        let Some(crc) = self.crc.take() else {
            return Ok(());
        };
        self.fill(gzip::TRAILER_LEN)?;
        let trailer = &self.input[self.input_at..];
        if trailer.len() < gzip::TRAILER_LEN {
            return Err(unreadable(
                &self.key,
                "its gzip data is truncated (no trailer)",
            ));
        }
        let want = gzip::trailer(crc.finalize(), self.size);
        if trailer[..gzip::TRAILER_LEN] != want {
            return Err(unreadable(
                &self.key,
                "its content does not match the gzip checksum",
            ));
        }
        Ok(())
    }

    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let want = (max_bytes.max(1) as u64).min(self.left) as usize;
        let mut out = Vec::with_capacity(want);
        let mut stalled = false;
        while out.len() < want {
            if self.ended {
                return Err(unreadable(
                    &self.key,
                    &format!(
                        "its gzip data ends {} bytes early",
                        self.left - out.len() as u64
                    ),
                ));
            }
            // After a step that made no progress, more input than is
            // buffered; otherwise any.
            let buffered = self.input.len() - self.input_at;
            self.fill(if stalled { buffered + 1 } else { 1 })?;
            let input = &self.input[self.input_at..];
            let at_end = self.below.is_none() && input.len() == buffered;
            let before = out.len();
            let room = if self.skip > 0 {
                self.skip.min(INPUT as u64) as usize
            } else {
                want - out.len()
            };
            let (used, state) = self
                .inflater
                .inflate(input, &mut out, room)
                .map_err(|why| unreadable(&self.key, &why))?;
            self.input_at += used;
            let made = out.len() - before;
            if self.skip > 0 {
                out.truncate(before);
                self.skip -= made as u64;
            }
            stalled = used == 0 && made == 0;
            if state == Inflated::End {
                self.ended = true;
            } else if stalled && at_end {
                return Err(unreadable(&self.key, "its gzip data is truncated"));
            }
        }
        if let Some(crc) = &mut self.crc {
            crc.update(&out);
        }
        self.left -= out.len() as u64;
        if self.left == 0 && self.crc.is_some() {
            // The final block's end, then the trailer.
            if !self.ended {
                let mut rest = Vec::new();
                self.fill(1)?;
                let (used, state) = self
                    .inflater
                    .inflate(&self.input[self.input_at..], &mut rest, 1)
                    .map_err(|why| unreadable(&self.key, &why))?;
                self.input_at += used;
                if state != Inflated::End || !rest.is_empty() {
                    return Err(unreadable(
                        &self.key,
                        "its gzip data holds more than its metadata's size",
                    ));
                }
            }
            self.check_trailer()?;
        }
        Ok(out)
    }
}

impl Reader for CompressReader {
    fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        match self {
            CompressReader::Stored(reader) => reader.read(max_bytes.min(u32::MAX as usize) as u32),
            CompressReader::Gzip(reader) => reader.read(max_bytes),
            CompressReader::Zstd(reader) => reader.read(max_bytes),
            CompressReader::Empty => Ok(Vec::new()),
        }
    }
}
