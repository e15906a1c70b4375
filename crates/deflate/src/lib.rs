//! Deflate (RFC 1951) in blocks: content cut into blocks, each compressed
//! by a fresh compressor and ended with a sync flush, so the blocks put
//! one after the other form one raw deflate stream and any of them can be
//! inflated on its own from where it starts (rclone's seekable gzip cuts
//! its content this way). Because no block depends on another, blocks can
//! be compressed at the same time, on as many threads as there are.
#![deny(missing_docs)]
#![no_std]

extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;

use zlib_rs::{DeflateConfig, DeflateFlush, Method, Status, Strategy};

/// How a block is compressed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// zlib's level: 0 (stored) to 9 (smallest).
    pub level: u8,
    /// Huffman coding only, no matches (fast, for content with little
    /// repetition).
    pub huffman_only: bool,
}

/// Compresses blocks, each on its own.
pub struct Deflater {
    // Boxed: the stream's state is a few hundred bytes inline.
    stream: Box<zlib_rs::Deflate>,
}

impl Deflater {
    /// A compressor at `level`; `None` if the level is not zlib's (past 9).
    pub fn new(level: Level) -> Option<Self> {
        if level.level > 9 {
            return None;
        }
        let config = DeflateConfig {
            level: i32::from(level.level),
            method: Method::Deflated,
            // Negative window bits: raw deflate; the framing is the caller's.
            window_bits: -15,
            mem_level: 8,
            strategy: if level.huffman_only {
                Strategy::HuffmanOnly
            } else {
                Strategy::Default
            },
        };
        Some(Deflater {
            stream: Box::new(zlib_rs::Deflate::new_with_config(config)),
        })
    }

    /// Appends `data` compressed as one block to `out`, from a fresh
    /// state: ended by a sync flush, or, for the `last` block, by the
    /// final deflate block. Returns how many bytes it appended.
    pub fn block(&mut self, data: &[u8], last: bool, out: &mut Vec<u8>) -> usize {
        self.stream.reset();
        let before = out.len();
        let flush = if last {
            DeflateFlush::Finish
        } else {
            DeflateFlush::SyncFlush
        };
        let mut input = data;
        loop {
            // zlib's own bound for what `input` can deflate to, so one
            // call nearly always finishes the block.
            out.reserve(bound(input.len()));
            let (used_before, wrote_before) = (self.stream.total_in(), self.stream.total_out());
            let status = self
                .stream
                .compress_uninit(input, out.spare_capacity_mut(), flush);
            let used = (self.stream.total_in() - used_before) as usize;
            let wrote = (self.stream.total_out() - wrote_before) as usize;
            // SAFETY: zlib-rs initialised the `wrote` bytes after the end.
            unsafe { out.set_len(out.len() + wrote) };
            input = &input[used..];
            let room_left = out.capacity() > out.len();
            match status {
                Ok(Status::StreamEnd) => break,
                // With input used up and room left over, the flush is out.
                Ok(_) if input.is_empty() && room_left && !last => break,
                Ok(_) => continue,
                Err(e) => unreachable!("deflate refused its own state: {}", e.as_str()),
            }
        }
        out.len() - before
    }
}

/// The most `len` bytes can deflate to, as one block with its flush.
pub fn bound(len: usize) -> usize {
    zlib_rs::compress_bound(len)
}

/// The CRC-32 gzip keeps of its content (ISO-HDLC), continued from
/// `start` (0 for the first bytes).
pub fn crc32(start: u32, data: &[u8]) -> u32 {
    zlib_rs::crc32::crc32(start, data)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use zlib_rs::{InflateFlush, Status};

    fn text(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| b"wharf stores blocks "[i % 20] ^ (i / 4096) as u8)
            .collect()
    }

    /// Inflates a whole raw deflate stream.
    fn inflate(data: &[u8], size: usize) -> Vec<u8> {
        let mut stream = zlib_rs::Inflate::new(false, 15);
        let mut out = alloc::vec![0u8; size + 16];
        let status = stream.decompress(data, &mut out, InflateFlush::Finish);
        assert!(
            matches!(status, Ok(Status::StreamEnd)),
            "{:?}",
            status.err()
        );
        out.truncate(stream.total_out() as usize);
        out
    }

    #[test]
    fn blocks_one_after_the_other_are_one_stream() {
        let content = text(3 << 20);
        for level in [0, 1, 3, 9] {
            let mut deflater = Deflater::new(Level {
                level,
                huffman_only: false,
            })
            .unwrap();
            let mut out = Vec::new();
            let blocks: Vec<&[u8]> = content.chunks(1 << 20).collect();
            for (i, block) in blocks.iter().enumerate() {
                deflater.block(block, i == blocks.len() - 1, &mut out);
            }
            assert_eq!(inflate(&out, content.len()), content, "level {level}");
        }
    }

    #[test]
    fn a_block_inflates_from_where_it_starts() {
        let content = text(2 << 20);
        let mut deflater = Deflater::new(Level {
            level: 3,
            huffman_only: true,
        })
        .unwrap();
        let mut first = Vec::new();
        deflater.block(&content[..1 << 20], false, &mut first);
        let mut second = Vec::new();
        deflater.block(&content[1 << 20..], true, &mut second);
        assert!(first.len() <= bound(1 << 20));
        assert_eq!(inflate(&second, 1 << 20), &content[1 << 20..]);
    }

    #[test]
    fn levels_past_nine_are_refused_and_crc_is_gzips() {
        assert!(Deflater::new(Level {
            level: 10,
            huffman_only: false
        })
        .is_none());
        // The check value of CRC-32/ISO-HDLC.
        assert_eq!(crc32(0, b"123456789"), 0xcbf4_3926);
        assert_eq!(crc32(crc32(0, b"1234"), b"56789"), 0xcbf4_3926);
    }
}
