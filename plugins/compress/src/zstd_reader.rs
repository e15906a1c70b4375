//! Reading zstd content: the seek table from the data object's tail says
//! where each frame is and how much content it holds, so a read fetches
//! only the frames its range needs and decodes them one at a time, each
//! checked against its content checksum.

use std::collections::VecDeque;

use ruzstd::decoding::FrameDecoder;
use wharf_plugin::below::{self, BelowReader};
use wharf_plugin::{ByteRange, Result, Span};

use crate::error::unreadable;
use crate::objects::Stored;
use crate::zstd::{self, Frame};

/// How much is read from below at once.
const INPUT: u32 = 1 << 20;

/// A read of zstd content in progress.
pub struct ZstdReader {
    key: String,
    below: Option<BelowReader>,
    input: Vec<u8>,
    input_at: usize,
    /// The frames still to decode, in order.
    frames: VecDeque<Frame>,
    decoder: Box<FrameDecoder>,
    /// The current frame's content, from `at`.
    block: Vec<u8>,
    at: usize,
    /// Content still to skip (the start of the range in its frame).
    skip: usize,
    /// Content still to return.
    left: u64,
}

/// The tail of the object at `name` below: its last `n` bytes.
fn tail(name: &str, n: usize) -> Result<Vec<u8>> {
    below::read(name, Some(ByteRange::Suffix(n as u64)))?.read_exact(n)
}

impl ZstdReader {
    /// Starts reading `length` bytes of `key`'s content from `offset`
    /// (both within its size, `length` > 0).
    pub fn open(key: &str, stored: &Stored, offset: u64, length: u64) -> Result<Self> {
        let name = &stored.data_name;
        let footer = tail(name, zstd::FOOTER_LEN)?;
        let table_len = zstd::table_len(&footer).map_err(|why| unreadable(key, &why))?;
        let frames =
            zstd::parse_table(&tail(name, table_len)?).map_err(|why| unreadable(key, &why))?;
        let total: u64 = frames.iter().map(|f| u64::from(f.content)).sum();
        if total != stored.size {
            return Err(unreadable(
                key,
                &format!(
                    "its seek table holds {total} bytes of content, its metadata says {}",
                    stored.size
                ),
            ));
        }
        // The frames the range needs, and where the first starts below.
        let (mut content_at, mut stored_at) = (0u64, 0u64);
        let mut wanted = VecDeque::new();
        let (mut from, mut skip) = (None, 0);
        for frame in frames {
            let content_end = content_at + u64::from(frame.content);
            if content_end > offset && content_at < offset + length {
                if from.is_none() {
                    from = Some(stored_at);
                    skip = (offset - content_at) as usize;
                }
                wanted.push_back(frame);
            }
            content_at = content_end;
            stored_at += u64::from(frame.compressed);
        }
        let from = from.unwrap_or(0);
        let span: u64 = wanted.iter().map(|f| u64::from(f.compressed)).sum();
        let reader = below::read(
            name,
            Some(ByteRange::Span(Span {
                offset: from,
                length: span,
            })),
        )?;
        Ok(ZstdReader {
            key: key.to_owned(),
            below: Some(reader),
            input: Vec::new(),
            input_at: 0,
            frames: wanted,
            decoder: Box::new(FrameDecoder::new()),
            block: Vec::new(),
            at: 0,
            skip,
            left: length,
        })
    }

    /// Decodes the next frame into `block`; false when none is left.
    fn next_frame(&mut self) -> Result<bool> {
        let Some(frame) = self.frames.pop_front() else {
            return Ok(false);
        };
        let n = frame.compressed as usize;
        while self.input.len() - self.input_at < n {
            let more = match &self.below {
                Some(below) => below.read(INPUT)?,
                None => Vec::new(),
            };
            if more.is_empty() {
                return Err(unreadable(&self.key, "its zstd data is truncated"));
            }
            self.input.drain(..self.input_at);
            self.input_at = 0;
            self.input.extend_from_slice(&more);
        }
        self.block.clear();
        let bytes = &self.input[self.input_at..self.input_at + n];
        zstd::decode_frame(&mut self.decoder, bytes, &mut self.block)
            .map_err(|why| unreadable(&self.key, &why))?;
        self.input_at += n;
        if self.block.len() != frame.content as usize {
            return Err(unreadable(
                &self.key,
                "a zstd frame holds other than its seek table says",
            ));
        }
        self.at = std::mem::take(&mut self.skip).min(self.block.len());
        Ok(true)
    }

    pub fn read(&mut self, max_bytes: usize) -> Result<Vec<u8>> {
        let want = (max_bytes.max(1) as u64).min(self.left) as usize;
        let mut out = Vec::with_capacity(want);
        while out.len() < want {
            if self.at >= self.block.len() && !self.next_frame()? {
                return Err(unreadable(&self.key, "its zstd data ends early"));
            }
            let n = (self.block.len() - self.at).min(want - out.len());
            out.extend_from_slice(&self.block[self.at..self.at + n]);
            self.at += n;
        }
        self.left -= out.len() as u64;
        Ok(out)
    }
}
