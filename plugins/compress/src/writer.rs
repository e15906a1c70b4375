//! Writing through compress. The first MiB decides, as rclone decides:
//! content that the remote's mode (gzip or zstd) shrinks by more than 1.1
//! times is stored compressed in 1 MiB blocks, anything else as it is
//! (`.bin`). The MD5 of the content is taken on the way through, by the
//! host on a thread of its own (in the sandbox it took the overlay's one
//! thread longer than the compression it waits on: 256 MiB of text in
//! 1.23-1.27 s with it there, 0.86-0.89 s without it). gzip
//! blocks are compressed by the host, natively, a few at a time while the
//! next block is gathered; the CRC-32 gzip keeps comes back with each.
//!
//! One object above is two below, and the order keeps a failed write
//! invisible:
//! 1. the data object, streamed to its final name when the size it must
//!    carry is known in advance (the writer's size hint), else to a
//!    staging name ending in `.json`, which no listing shows (rclone's
//!    neither) and moved into place when the size is known. A write below
//!    is visible only once finished, so a failure or abort up to here
//!    leaves nothing;
//! 2. the metadata object. If it cannot be written, the data object is
//!    deleted again, and nothing is left;
//! 3. the data object of the object replaced, if it had another name.
//!
//! rclone writes in the same order (without the staging) and reads either
//! way. A listing shows an object only once its data object is there; its
//! metadata is read only by stat and read, which find both or report the
//! half that is missing.

use std::collections::VecDeque;

use wharf_plugin::below::{self, BelowWriter};
use wharf_plugin::deflate::{self, ContentMd5, Deflation};
use wharf_plugin::{Error, ObjectMeta, Result, WriteOptions, Writer};

use crate::gzip::{self, BLOCK, HEADER_LEN};
use crate::metadata::{Blocks, Metadata};
use crate::names::{self, Mode};
use crate::objects;
use crate::sniff;
use crate::zstd::{self, Frame};

/// How much compressed output is gathered before it goes below.
const BATCH: usize = 1 << 20;

/// rclone's test: compressed, the first MiB must shrink by more than this.
const MIN_RATIO: f64 = 1.1;

/// How many gzip blocks may be in the host's hands at a time: two cores
/// compress while this instance gathers the next block.
const DEPTH: usize = 3;

/// How blocks are compressed.
#[derive(Clone, Copy)]
pub enum Codec {
    /// gzip, by the host at zlib's level (and Huffman coding alone if
    /// set): blocks of one deflate stream.
    Gzip { level: u8, huffman_only: bool },
    /// zstd: each block an independent frame.
    Zstd,
}

/// One compressed block: its bytes, and for gzip the CRC-32 of its content.
struct Compressed {
    data: Vec<u8>,
    crc32: Option<u32>,
}

impl Codec {
    /// The codec of `mode` at `level`.
    pub fn new(mode: Mode, level: i32) -> Codec {
        match mode {
            Mode::Zstd => Codec::Zstd,
            _ => {
                let (level, huffman_only) = gzip::host_level(level);
                Codec::Gzip {
                    level,
                    huffman_only,
                }
            }
        }
    }

    fn mode(&self) -> Mode {
        match self {
            Codec::Gzip { .. } => Mode::Gzip,
            Codec::Zstd => Mode::Zstd,
        }
    }

    /// Compresses `data` as one block now (the `last` one ends the
    /// stream).
    fn block_now(&self, data: &[u8], last: bool) -> Result<Compressed> {
        match *self {
            Codec::Gzip {
                level,
                huffman_only,
            } => {
                let block = deflate::start(data, level, huffman_only, last)?.finish()?;
                Ok(Compressed {
                    data: block.data,
                    crc32: Some(block.crc32),
                })
            }
            Codec::Zstd => {
                let mut out = Vec::new();
                zstd::compress_frame(data, &mut out);
                Ok(Compressed {
                    data: out,
                    crc32: None,
                })
            }
        }
    }

    /// What goes before the first block.
    fn header(&self, level: i32) -> Vec<u8> {
        match self {
            Codec::Gzip { .. } => gzip::header(level).to_vec(),
            Codec::Zstd => Vec::new(),
        }
    }

    /// How long a whole object of one block of `compressed` bytes (not
    /// the last if `!ended`) would be.
    fn whole_len(&self, compressed: usize, ended: bool) -> usize {
        match self {
            Codec::Gzip { .. } => {
                HEADER_LEN + compressed + gzip::TRAILER_LEN + if ended { 0 } else { 2 }
            }
            Codec::Zstd => {
                compressed
                    + zstd::seek_table(&[Frame {
                        compressed: 0,
                        content: 0,
                    }])
                    .len()
            }
        }
    }
}

/// The compressed blocks of one object, in order: zstd's made here,
/// gzip's by the host, up to [`DEPTH`] of them at a time.
struct Pipeline {
    codec: Codec,
    /// Compressed output not yet sent below.
    out: Vec<u8>,
    /// The compressed length of each block.
    lengths: Vec<u32>,
    /// gzip blocks in the host's hands, oldest first, with their content's
    /// length.
    started: VecDeque<(Deflation, u64)>,
    /// The CRC-32 of the content of the gzip blocks taken so far.
    crc: crc32fast::Hasher,
}

impl Pipeline {
    fn new(codec: Codec, header: Vec<u8>) -> Pipeline {
        Pipeline {
            codec,
            out: header,
            lengths: Vec::new(),
            started: VecDeque::new(),
            crc: crc32fast::Hasher::new(),
        }
    }

    /// Adds `data` as the next block (the `last` one ends the stream).
    fn push(&mut self, data: &[u8], last: bool) -> Result<()> {
        match self.codec {
            Codec::Gzip {
                level,
                huffman_only,
            } => {
                if self.started.len() >= DEPTH {
                    self.take_oldest()?;
                }
                let deflation = deflate::start(data, level, huffman_only, last)?;
                self.started.push_back((deflation, data.len() as u64));
                Ok(())
            }
            // zstd frames end themselves; no empty one is needed at the end.
            Codec::Zstd if data.is_empty() => Ok(()),
            Codec::Zstd => {
                let compressed = self.codec.block_now(data, last)?;
                self.add(compressed, data.len() as u64);
                Ok(())
            }
        }
    }

    /// Appends a block compressed elsewhere (the sample) after those before.
    fn add(&mut self, block: Compressed, content: u64) {
        if let Some(crc32) = block.crc32 {
            self.crc
                .combine(&crc32fast::Hasher::new_with_initial_len(crc32, content));
        }
        self.lengths.push(block.data.len() as u32);
        self.out.extend_from_slice(&block.data);
    }

    /// Waits for the oldest block in the host's hands and appends it.
    fn take_oldest(&mut self) -> Result<()> {
        if let Some((deflation, content)) = self.started.pop_front() {
            let block = deflation.finish()?;
            self.add(
                Compressed {
                    data: block.data,
                    crc32: Some(block.crc32),
                },
                content,
            );
        }
        Ok(())
    }

    /// Waits for every block in the host's hands.
    fn take_all(&mut self) -> Result<()> {
        while !self.started.is_empty() {
            self.take_oldest()?;
        }
        Ok(())
    }
}

enum State {
    /// The first MiB is being gathered (in `pending`).
    Sampling,
    Compressed {
        below: BelowWriter,
        /// The name written below: final, or staging.
        name: String,
        blocks: Pipeline,
        /// Whether the final block has been compressed.
        ended: bool,
    },
    Stored {
        below: BelowWriter,
    },
}

/// A write in progress.
pub struct CompressWriter {
    key: String,
    mode: Mode,
    level: i32,
    content_type: Option<String>,
    size_hint: Option<u64>,
    /// The data objects of what is being replaced.
    previous: Vec<String>,
    /// `None` once finished.
    md5: Option<ContentMd5>,
    size: u64,
    /// Content not yet compressed: the sample, then the current block.
    pending: Vec<u8>,
    /// The content type the metadata records: the writer's, or guessed
    /// from the sample.
    mime: String,
    state: State,
}

/// The lower-case hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A name below that no listing shows, for data whose final name is not
/// known yet.
fn staging_name(key: &str) -> String {
    let random = wasip2::random::random::get_random_u64();
    format!("{key}.{}.partial.json", names::size_token(random as i64))
}

impl CompressWriter {
    /// Starts writing `key`, compressed in `mode` at `level`.
    pub fn create(key: &str, mode: Mode, level: i32, options: &WriteOptions) -> Result<Self> {
        Ok(CompressWriter {
            key: key.to_owned(),
            mode,
            level,
            content_type: options.content_type.clone(),
            size_hint: options.size_hint,
            previous: objects::data_objects(key)?,
            md5: Some(ContentMd5::new()),
            size: 0,
            pending: Vec::with_capacity(BLOCK),
            mime: String::new(),
            state: State::Sampling,
        })
    }

    /// Decides from the sample in `pending` (all of the content if
    /// `ended`) how to store the content, and starts the data object.
    fn decide(&mut self, ended: bool) -> Result<()> {
        self.mime = match &self.content_type {
            Some(given) => given.clone(),
            None => sniff::content_type(&self.pending).to_owned(),
        };
        // rclone compresses the sample at the mode's default level.
        let sampler = Codec::new(self.mode, gzip::DEFAULT_LEVEL);
        let first = sampler.block_now(&self.pending, ended)?;
        let total = sampler.whole_len(first.data.len(), ended);
        let ratio = self.pending.len() as f64 / total as f64;
        if ratio <= MIN_RATIO {
            let below = below::write(
                &names::data_name(&self.key, Mode::Stored, 0),
                &below_options(self.size_hint),
            )?;
            if !self.pending.is_empty() {
                below.write(&self.pending)?;
            }
            self.pending.clear();
            self.state = State::Stored { below };
            return Ok(());
        }
        let size = if ended {
            Some(self.size)
        } else {
            self.size_hint
        };
        let name = match size {
            Some(size) => names::data_name(&self.key, self.mode, size),
            None => staging_name(&self.key),
        };
        let below = below::write(&name, &below_options(None))?;
        let codec = Codec::new(self.mode, self.level);
        let mut blocks = Pipeline::new(codec, codec.header(self.level));
        // The sample is the first block: compressed again only at another
        // level than the test's.
        let same = matches!(codec, Codec::Zstd) || self.level == gzip::DEFAULT_LEVEL;
        if same {
            blocks.add(first, self.pending.len() as u64);
        } else {
            blocks.push(&self.pending, ended)?;
        }
        self.pending.clear();
        self.state = State::Compressed {
            below,
            name,
            blocks,
            ended,
        };
        Ok(())
    }

    /// Takes `chunk` into the state, compressing each block it fills.
    fn take(&mut self, mut chunk: &[u8]) -> Result<()> {
        while !chunk.is_empty() {
            match &mut self.state {
                State::Stored { below } => return below.write(chunk),
                State::Sampling | State::Compressed { .. } => {
                    let n = (BLOCK - self.pending.len()).min(chunk.len());
                    self.pending.extend_from_slice(&chunk[..n]);
                    chunk = &chunk[n..];
                    if self.pending.len() == BLOCK {
                        self.full_block()?;
                    }
                }
            }
        }
        Ok(())
    }

    fn full_block(&mut self) -> Result<()> {
        match &mut self.state {
            State::Sampling => self.decide(false),
            State::Compressed { below, blocks, .. } => {
                blocks.push(&self.pending, false)?;
                self.pending.clear();
                if blocks.out.len() >= BATCH {
                    send(below, &mut blocks.out)?;
                }
                Ok(())
            }
            State::Stored { .. } => unreachable!("stored content is not gathered in blocks"),
        }
    }

    /// Writes the metadata object, or deletes `data` if it cannot.
    fn commit(&self, data: &str, metadata: &Metadata) -> Result<()> {
        let json = metadata.to_json();
        let written = below::write(
            &names::metadata_name(&self.key),
            &below_options(Some(json.len() as u64)),
        )
        .and_then(|writer| {
            writer.write(&json)?;
            writer.finish()
        });
        if let Err(e) = written {
            let undone = below::delete(data);
            let left = match undone {
                Ok(()) => "its data object was deleted again, so nothing was written".to_owned(),
                Err(why) => format!(
                    "its data object {data:?} could not be deleted again ({why}); delete it"
                ),
            };
            return Err(with_context(
                e,
                &format!(
                    "{:?}: the metadata object {:?} could not be written; {left}",
                    self.key,
                    names::metadata_name(&self.key)
                ),
            ));
        }
        for previous in self.previous.iter().filter(|p| *p != data) {
            below::delete(previous).map_err(|e| {
                with_context(
                    e,
                    &format!(
                        "{:?} was written, but the data object {previous:?} of what it replaced \
                         could not be deleted; delete it",
                        self.key
                    ),
                )
            })?;
        }
        Ok(())
    }
}

/// The zstd frames of `size` bytes of content cut into blocks whose
/// compressed lengths are `lengths`.
fn frames(lengths: &[u32], size: u64) -> Vec<Frame> {
    let mut left = size;
    lengths
        .iter()
        .map(|compressed| {
            let content = left.min(BLOCK as u64);
            left -= content;
            Frame {
                compressed: *compressed,
                content: content as u32,
            }
        })
        .collect()
}

/// What is asked of the store below: bytes only (what the writer asked to
/// store besides them goes into the metadata object).
fn below_options(size_hint: Option<u64>) -> WriteOptions {
    WriteOptions {
        content_type: None,
        metadata: Vec::new(),
        size_hint,
    }
}

/// Sends `out` below, in chunks a call may carry.
fn send(below: &BelowWriter, out: &mut Vec<u8>) -> Result<()> {
    for piece in out.chunks(BATCH) {
        below.write(piece)?;
    }
    out.clear();
    Ok(())
}

/// `e` with `context` in front of what it says, of the same kind.
fn with_context(e: Error, context: &str) -> Error {
    let message = format!("{context}: {e}");
    match e {
        Error::NotFound(_) => Error::not_found(message),
        Error::InvalidKey(_) => Error::invalid_key(message),
        Error::Unsupported(_) => Error::unsupported(message),
        Error::InvalidConfig(_) => Error::invalid_config(message),
        _ => Error::other(message),
    }
}

impl Writer for CompressWriter {
    fn write(&mut self, chunk: Vec<u8>) -> Result<()> {
        if let Some(md5) = &self.md5 {
            md5.add(&chunk)?;
        }
        self.size += chunk.len() as u64;
        self.take(&chunk)
    }

    fn finish(mut self) -> Result<ObjectMeta> {
        if matches!(self.state, State::Sampling) {
            self.decide(true)?;
        }
        let mime = std::mem::take(&mut self.mime);
        let md5 = match self.md5.take() {
            Some(md5) => hex(&md5.finish()?),
            None => return Err(Error::other("this write was already finished")),
        };
        let state = std::mem::replace(&mut self.state, State::Sampling);
        let (data, metadata, stored) = match state {
            State::Sampling => unreachable!("decided above"),
            State::Stored { below } => {
                let stored = below.finish()?;
                // rclone reads the sub-record of its configured mode, even
                // for content stored as it is.
                let (gzip, zstd) = match self.mode {
                    Mode::Zstd => (None, Some(Blocks::default())),
                    _ => (Some(Blocks::default()), None),
                };
                let metadata = Metadata {
                    mode: Mode::Stored.number(),
                    size: self.size as i64,
                    md5: md5.clone(),
                    mime_type: mime,
                    gzip,
                    zstd,
                };
                (
                    names::data_name(&self.key, Mode::Stored, 0),
                    metadata,
                    stored,
                )
            }
            State::Compressed {
                below,
                name,
                mut blocks,
                ended,
            } => {
                if !ended {
                    blocks.push(&self.pending, true)?;
                }
                blocks.take_all()?;
                let Pipeline {
                    codec,
                    mut out,
                    lengths,
                    crc,
                    ..
                } = blocks;
                let mode = codec.mode();
                let blocks = match mode {
                    Mode::Zstd => {
                        out.extend_from_slice(&zstd::seek_table(&frames(&lengths, self.size)));
                        // rclone's index: 0, then where each frame ends.
                        let mut ends = vec![0u32];
                        let mut at = 0u32;
                        for length in &lengths {
                            at += length;
                            ends.push(at);
                        }
                        ends
                    }
                    _ => {
                        out.extend_from_slice(&gzip::trailer(crc.finalize(), self.size));
                        // rclone's index: the header's length, then each
                        // block's.
                        std::iter::once(HEADER_LEN as u32).chain(lengths).collect()
                    }
                };
                send(&below, &mut out)?;
                let stored = below.finish()?;
                let data = names::data_name(&self.key, mode, self.size);
                if name != data {
                    // Staged, or the size hint was wrong: into place.
                    objects::move_object(&name, &data)?;
                }
                let index = Some(Blocks {
                    block_size: BLOCK as u64,
                    size: self.size as i64,
                    block_data: Some(blocks),
                });
                let (gzip, zstd) = match mode {
                    Mode::Zstd => (None, index),
                    _ => (index, None),
                };
                let metadata = Metadata {
                    mode: mode.number(),
                    size: self.size as i64,
                    md5: md5.clone(),
                    mime_type: mime,
                    gzip,
                    zstd,
                };
                (data, metadata, stored)
            }
        };
        self.commit(&data, &metadata)?;
        Ok(ObjectMeta {
            key: self.key,
            size: self.size,
            last_modified: stored.last_modified,
            etag: Some(metadata.md5),
            content_type: Some(metadata.mime_type),
            metadata: Vec::new(),
        })
    }

    fn abort(self) -> Result<()> {
        match self.state {
            State::Sampling => Ok(()),
            State::Stored { below } | State::Compressed { below, .. } => below.abort(),
        }
    }
}
