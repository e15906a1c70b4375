//! rclone's zstd mode: the Zstandard seekable format. The content is a
//! run of independent zstd frames, then one skippable frame holding the
//! seek table (each frame's compressed and content size), so a ranged read
//! finds the frames it needs from the object's tail. rclone's frames hold
//! up to 32 KiB of content each; Wharf writes 1 MiB frames, as the
//! metadata's block size says. Both read the other's.

use ruzstd::decoding::{BlockDecodingStrategy, FrameDecoder};
use ruzstd::encoding::{compress, CompressionLevel};

/// Content bytes per frame Wharf writes.
pub const FRAME: usize = 1 << 20;

/// The skippable frame's magic number the seek table sits in.
const SKIPPABLE_MAGIC: u32 = 0x184D_2A5E;

/// The seek table's closing magic number.
const SEEKABLE_MAGIC: u32 = 0x8F92_EAB1;

/// The seek table's footer: frame count, descriptor, magic.
pub const FOOTER_LEN: usize = 9;

/// The skippable frame's header: magic and length.
const SKIPPABLE_HEADER_LEN: usize = 8;

/// rclone's default zstd level.
pub const DEFAULT_LEVEL: i32 = 2;

/// Checks a level as rclone's zstd takes it: 1 (fastest) to 4 (best).
pub fn check_level(level: i32) -> Result<(), String> {
    match level {
        1..=4 => Ok(()),
        _ => Err(format!(
            "{level} is not a zstd level: give 1 (the fastest) to 4 (the smallest), 2 being \
             rclone's default"
        )),
    }
}

/// Appends `content` compressed as one independent frame (with its
/// content checksum) to `out`; returns how many bytes it appended. The
/// pure-Rust encoder that builds for WebAssembly compresses at zstd's
/// fastest level, whatever level the remote asks for.
pub fn compress_frame(content: &[u8], out: &mut Vec<u8>) -> usize {
    let before = out.len();
    compress(content, &mut *out, CompressionLevel::Fastest);
    out.len() - before
}

/// One frame, as the seek table records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub compressed: u32,
    pub content: u32,
}

/// The seek table of `frames`, as a skippable frame (without per-frame
/// checksums: each frame carries its own).
pub fn seek_table(frames: &[Frame]) -> Vec<u8> {
    let mut out = Vec::with_capacity(SKIPPABLE_HEADER_LEN + frames.len() * 8 + FOOTER_LEN);
    out.extend_from_slice(&SKIPPABLE_MAGIC.to_le_bytes());
    out.extend_from_slice(&((frames.len() * 8 + FOOTER_LEN) as u32).to_le_bytes());
    for frame in frames {
        out.extend_from_slice(&frame.compressed.to_le_bytes());
        out.extend_from_slice(&frame.content.to_le_bytes());
    }
    out.extend_from_slice(&(frames.len() as u32).to_le_bytes());
    out.push(0);
    out.extend_from_slice(&SEEKABLE_MAGIC.to_le_bytes());
    out
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("four bytes"))
}

/// How long the seek table is, whole, from its footer (the object's last
/// [`FOOTER_LEN`] bytes).
pub fn table_len(footer: &[u8]) -> Result<usize, String> {
    if footer.len() != FOOTER_LEN || u32_at(footer, 5) != SEEKABLE_MAGIC {
        return Err("its zstd data has no seek table at its end".into());
    }
    let entry = if footer[4] & 0x80 != 0 { 12 } else { 8 };
    Ok(SKIPPABLE_HEADER_LEN + u32_at(footer, 0) as usize * entry + FOOTER_LEN)
}

/// The frames a seek table (from [`table_len`] bytes of the tail) lists.
pub fn parse_table(table: &[u8]) -> Result<Vec<Frame>, String> {
    let damaged = || "its zstd seek table is damaged".to_owned();
    if table.len() < SKIPPABLE_HEADER_LEN + FOOTER_LEN
        || u32_at(table, 0) != SKIPPABLE_MAGIC
        || u32_at(table, 4) as usize != table.len() - SKIPPABLE_HEADER_LEN
    {
        return Err(damaged());
    }
    let footer = &table[table.len() - FOOTER_LEN..];
    let count = u32_at(footer, 0) as usize;
    let entry = if footer[4] & 0x80 != 0 { 12 } else { 8 };
    let entries = &table[SKIPPABLE_HEADER_LEN..table.len() - FOOTER_LEN];
    if entries.len() != count * entry {
        return Err(damaged());
    }
    Ok(entries
        .chunks(entry)
        .map(|e| Frame {
            compressed: u32_at(e, 0),
            content: u32_at(e, 4),
        })
        .collect())
}

/// Decodes one frame, `frame` holding exactly it, into `out`, checking its
/// content checksum where it has one.
pub fn decode_frame(
    decoder: &mut FrameDecoder,
    mut frame: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let damaged = |e: &dyn std::fmt::Display| format!("its zstd data is damaged ({e})");
    decoder.init(&mut frame).map_err(|e| damaged(&e))?;
    loop {
        decoder
            .decode_blocks(&mut frame, BlockDecodingStrategy::UptoBytes(FRAME))
            .map_err(|e| damaged(&e))?;
        if let Some(bytes) = decoder.collect() {
            out.extend_from_slice(&bytes);
        }
        if decoder.is_finished() {
            break;
        }
        if frame.is_empty() {
            return Err("its zstd data is truncated".into());
        }
    }
    if let Some(bytes) = decoder.collect() {
        out.extend_from_slice(&bytes);
    }
    if let (Some(stored), Some(computed)) = (
        decoder.get_checksum_from_data(),
        decoder.get_calculated_checksum(),
    ) {
        if stored != computed {
            return Err("its content does not match a zstd frame's checksum".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_and_their_table_read_back() {
        let content: Vec<u8> = (0..(2 * FRAME + 777))
            .map(|i| (i / 13 % 200) as u8)
            .collect();
        let mut data = Vec::new();
        let mut frames = Vec::new();
        for chunk in content.chunks(FRAME) {
            frames.push(Frame {
                compressed: compress_frame(chunk, &mut data) as u32,
                content: chunk.len() as u32,
            });
        }
        data.extend_from_slice(&seek_table(&frames));
        assert!(data.len() < content.len() / 4);
        let footer = &data[data.len() - FOOTER_LEN..];
        let table = &data[data.len() - table_len(footer).unwrap()..];
        assert_eq!(parse_table(table).unwrap(), frames);
        // Any frame decodes on its own.
        let mut decoder = FrameDecoder::new();
        let second = frames[0].compressed as usize;
        let mut out = Vec::new();
        decode_frame(
            &mut decoder,
            &data[second..second + frames[1].compressed as usize],
            &mut out,
        )
        .unwrap();
        assert_eq!(out, content[FRAME..2 * FRAME]);
        // A damaged frame is an error.
        let mut bad = data[..frames[0].compressed as usize].to_vec();
        let middle = bad.len() / 2;
        bad[middle] ^= 0x5a;
        let mut out = Vec::new();
        assert!(decode_frame(&mut FrameDecoder::new(), &bad, &mut out).is_err());
        assert!(check_level(0).is_err() && check_level(5).is_err() && check_level(2).is_ok());
    }
}
