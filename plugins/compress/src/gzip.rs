//! rclone's seekable gzip: one ordinary gzip member whose deflate stream
//! is cut into 1 MiB blocks of content, each compressed by a fresh
//! compressor and ended with a sync flush, so any block can be inflated on
//! its own from where it starts. Where each block starts is kept in the
//! metadata object, not in the gzip data.

use zlib_rs::{InflateFlush, Status as ZStatus};

/// Content bytes per block.
pub const BLOCK: usize = 1 << 20;

/// The gzip header's length: rclone writes no optional fields.
pub const HEADER_LEN: usize = 10;

/// The trailer's length: CRC-32 and size.
pub const TRAILER_LEN: usize = 8;

/// rclone's default level, whatever the remote's: the compressibility test
/// always uses it.
pub const DEFAULT_LEVEL: i32 = -1;

/// The header rclone writes: no name, no extra fields, the modification
/// time Go's zero time gives (0x886E0900), and "unknown" for the system.
pub fn header(level: i32) -> [u8; HEADER_LEN] {
    let extra_flags = match level {
        9 => 2,
        1 => 4,
        _ => 0,
    };
    [0x1f, 0x8b, 8, 0, 0x00, 0x09, 0x6e, 0x88, extra_flags, 0xff]
}

/// The trailer: CRC-32 of the content, and its size modulo 2^32.
pub fn trailer(crc: u32, size: u64) -> [u8; TRAILER_LEN] {
    let mut out = [0; TRAILER_LEN];
    out[..4].copy_from_slice(&crc.to_le_bytes());
    out[4..].copy_from_slice(&(size as u32).to_le_bytes());
    out
}

/// Checks a level as rclone's gzip takes it: -2 (Huffman only), -1 (the
/// default), 0 (stored) to 9.
pub fn check_level(level: i32) -> Result<(), String> {
    match level {
        -2..=9 => Ok(()),
        _ => Err(format!(
            "{level} is not a gzip level: give -1 (the default), 0 (none) to 9 (the smallest), \
             or -2 (Huffman coding only)"
        )),
    }
}

/// How the host deflates a block at one of rclone's gzip levels (checked
/// by [`check_level`]): zlib's level, and whether by Huffman coding alone.
/// The blocks are compressed by the host (`wharf_plugin::deflate`),
/// natively and several at a time.
pub fn host_level(level: i32) -> (u8, bool) {
    match level {
        -2 => (1, true),
        // rclone's default (level 6 of klauspost's flate) stores 256 MiB
        // of the benchmark's logs in 47.2 MB; zlib's level 3 in 48.1 MB,
        // at twice the speed of its level 6 (208 against 101 MiB/s,
        // natively).
        -1 => (3, false),
        level => (level.clamp(0, 9) as u8, false),
    }
}

/// What inflating stopped at.
#[derive(Debug, PartialEq, Eq)]
pub enum Inflated {
    /// More input is needed (or more room).
    More,
    /// The final block ended.
    End,
}

/// Inflates a raw deflate stream fed in pieces.
pub struct Inflater {
    stream: Box<zlib_rs::Inflate>,
}

impl Default for Inflater {
    fn default() -> Self {
        Inflater {
            stream: Box::new(zlib_rs::Inflate::new(false, 15)),
        }
    }
}

impl Inflater {
    /// Inflates from `input` into `out`, appending at most `room` bytes.
    /// Returns how much input it consumed and whether the stream ended.
    pub fn inflate(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
        room: usize,
    ) -> Result<(usize, Inflated), String> {
        out.reserve(room);
        let (used_before, wrote_before) = (self.stream.total_in(), self.stream.total_out());
        let result = self.stream.decompress_uninit(
            input,
            &mut out.spare_capacity_mut()[..room],
            InflateFlush::NoFlush,
        );
        let used = (self.stream.total_in() - used_before) as usize;
        let wrote = (self.stream.total_out() - wrote_before) as usize;
        // SAFETY: zlib-rs initialised the `wrote` bytes after the end.
        unsafe { out.set_len(out.len() + wrote) };
        match result {
            Ok(ZStatus::StreamEnd) => Ok((used, Inflated::End)),
            Ok(_) => Ok((used, Inflated::More)),
            Err(e) => Err(format!("its gzip data is damaged ({})", e.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compresses `content` as rclone's writer does, returning the data
    /// object and its block index.
    fn sgzip(content: &[u8], level: i32) -> (Vec<u8>, Vec<u32>) {
        let mut out = header(level).to_vec();
        let mut index = vec![HEADER_LEN as u32];
        let (level_number, huffman_only) = host_level(level);
        let mut deflater = wharf_deflate::Deflater::new(wharf_deflate::Level {
            level: level_number,
            huffman_only,
        })
        .unwrap();
        let mut blocks = content.chunks(BLOCK).peekable();
        let mut ended = false;
        while let Some(block) = blocks.next() {
            let last = blocks.peek().is_none() && block.len() < BLOCK;
            index.push(deflater.block(block, last, &mut out) as u32);
            ended = last;
        }
        if !ended {
            index.push(deflater.block(&[], true, &mut out) as u32);
        }
        let mut crc = crc32fast::Hasher::new();
        crc.update(content);
        out.extend_from_slice(&trailer(crc.finalize(), content.len() as u64));
        (out, index)
    }

    fn inflate_all(data: &[u8]) -> (Vec<u8>, Inflated) {
        let mut inflater = Inflater::default();
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let (used, state) = inflater.inflate(&data[at..], &mut out, 64 << 10).unwrap();
            at += used;
            if state == Inflated::End || (used == 0 && at == data.len()) {
                return (out, state);
            }
        }
    }

    fn content(n: usize) -> Vec<u8> {
        (0..n)
            .map(|i| ((i / 7) % 251) as u8 ^ (i % 3) as u8)
            .collect()
    }

    #[test]
    fn the_whole_is_an_ordinary_gzip_file() {
        let data = content(2 * BLOCK + 12345);
        for level in [-2, -1, 0, 1, 9] {
            let (gz, index) = sgzip(&data, level);
            assert_eq!(index.len(), 4);
            assert_eq!(
                index.iter().map(|n| *n as usize).sum::<usize>() + 8,
                gz.len()
            );
            let (inflated, state) = inflate_all(&gz[HEADER_LEN..gz.len() - 8]);
            assert_eq!(state, Inflated::End);
            assert_eq!(inflated, data);
        }
        // A size that is a whole number of blocks ends with an empty block,
        // as rclone's does.
        let (_, index) = sgzip(&content(BLOCK), -1);
        assert_eq!(index.len(), 3);
    }

    #[test]
    fn each_block_inflates_from_where_it_starts() {
        let data = content(3 * BLOCK + 5);
        let (gz, index) = sgzip(&data, -1);
        let mut start = 0usize;
        for (i, length) in index.iter().enumerate() {
            if i > 0 {
                let end = start + *length as usize;
                let (inflated, _) = inflate_all(&gz[start..end]);
                let from = (i - 1) * BLOCK;
                assert_eq!(inflated, data[from..(from + BLOCK).min(data.len())]);
            }
            start += *length as usize;
        }
    }

    #[test]
    fn damage_is_an_error() {
        let (mut gz, _) = sgzip(&content(100_000), -1);
        // A final block of the reserved type 3.
        gz[HEADER_LEN] = 0b111;
        let mut inflater = Inflater::default();
        let mut out = Vec::new();
        assert!(inflater
            .inflate(&gz[HEADER_LEN..], &mut out, 1 << 20)
            .is_err());
        assert!(check_level(10).is_err() && check_level(-3).is_err());
    }
}
