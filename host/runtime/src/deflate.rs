//! `wharf:storage/deflate`: blocks of a deflate stream compressed by the
//! host for an overlay, natively and on the host's blocking threads, while
//! the overlay's one thread goes on. What an instance may have in the
//! host's hands is bounded (blocks, bytes), counting blocks the overlay
//! dropped while they were still being compressed: dropping does not stop
//! the work, so it does not free the bound either until the work ends.

use std::sync::{Arc, Mutex};

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::overlay::wharf::storage::deflate::{
    DeflatedBlock, Host, HostContentMd5, HostDeflation,
};
use crate::bindings::types::Error as WitError;

/// The largest block one call may hand over.
const MAX_BLOCK: usize = 4 << 20;
/// How many blocks an instance may have in the host's hands at a time.
const MAX_BLOCKS: usize = 4;
/// What a compressor's own state takes, counted for each block: its
/// window, hash chains and pending output at zlib's memory level 8, with
/// room to spare.
const STATE_BYTES: usize = 512 << 10;

/// What the host holds for one instance's blocks.
#[derive(Default)]
pub(crate) struct DeflateLoad {
    held: Mutex<Held>,
}

impl DeflateLoad {
    /// The bytes the host holds for the instance's blocks.
    pub fn bytes(&self) -> usize {
        self.held.lock().unwrap_or_else(|e| e.into_inner()).bytes
    }
}

#[derive(Default, Clone, Copy)]
struct Held {
    blocks: usize,
    bytes: usize,
}

/// One block's share of the load, given back when the block's memory is:
/// when its output has been handed to the overlay, or when the work on a
/// dropped block ends.
struct Share {
    load: Arc<DeflateLoad>,
    /// 1 for a block, 0 for a piece to hash (which counts only bytes).
    blocks: usize,
    bytes: usize,
}

impl Drop for Share {
    fn drop(&mut self) {
        let mut held = self.load.held.lock().unwrap_or_else(|e| e.into_inner());
        held.blocks -= self.blocks;
        held.bytes -= self.bytes;
    }
}

/// What a finished block's work gives: the block, and the share that is
/// given back once the block has gone to the overlay.
type Done = (Result<DeflatedBlock, String>, Share);

/// A block being compressed (the `deflation` resource).
pub struct Deflation {
    work: Option<tokio::task::JoinHandle<Done>>,
}

/// A content's MD5 the host computes for an instance (`content-md5`): the
/// pieces go to a thread of its own, in order, at most two waiting.
pub struct ContentMd5 {
    pieces: Option<tokio::sync::mpsc::Sender<(Vec<u8>, Share)>>,
    digest: Option<tokio::task::JoinHandle<[u8; 16]>>,
}

impl ContentMd5 {
    fn new() -> Self {
        let (pieces, mut arriving) = tokio::sync::mpsc::channel::<(Vec<u8>, Share)>(2);
        let digest = tokio::task::spawn_blocking(move || {
            let mut md5 = wharf_md5::Md5::new();
            // Each piece's share of the load goes back once it is hashed.
            while let Some((piece, _share)) = arriving.blocking_recv() {
                md5.update(&piece);
            }
            md5.finalize()
        });
        ContentMd5 {
            pieces: Some(pieces),
            digest: Some(digest),
        }
    }
}

/// What the `deflate` functions of one instance work on.
pub(crate) struct DeflateView<'a> {
    pub table: &'a mut ResourceTable,
    pub load: &'a Arc<DeflateLoad>,
    pub host_memory: usize,
}

/// Marks [`DeflateView`] as the data the `deflate` functions get.
pub(crate) struct DeflateData;

impl HasData for DeflateData {
    type Data<'a> = DeflateView<'a>;
}

impl DeflateView<'_> {
    /// Takes a share of the load for a block of `len` bytes, or says why
    /// the host will not.
    fn share(&self, len: usize, level: u8) -> Result<Share, String> {
        let refused = |why: String| Err(format!("the host refused to deflate a block: {why}"));
        if level > 9 {
            return refused(format!("level {level} is not zlib's (0 to 9)"));
        }
        if len > MAX_BLOCK {
            return refused(format!(
                "it holds {len} bytes, past the bound of {MAX_BLOCK} (4 MiB); cut the content \
                 into smaller blocks"
            ));
        }
        let bytes = len + wharf_deflate::bound(len) + STATE_BYTES;
        let mut held = self.load.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.blocks >= MAX_BLOCKS {
            return refused(format!(
                "{MAX_BLOCKS} blocks are already in the host's hands; finish one first"
            ));
        }
        if held.bytes + bytes > self.host_memory {
            return refused(format!(
                "with the blocks already in its hands it would hold {} MiB, past the remote's \
                 host memory limit of {} MiB; raise host_memory_limit_mib in the remote's \
                 configuration, or send smaller blocks",
                (held.bytes + bytes).div_ceil(1 << 20),
                self.host_memory >> 20
            ));
        }
        held.blocks += 1;
        held.bytes += bytes;
        Ok(Share {
            load: self.load.clone(),
            blocks: 1,
            bytes,
        })
    }
}

thread_local! {
    /// Each host thread's compressor (with the level it was made for) and
    /// the room it compresses into. Made once per thread, not once per
    /// block: a block's worth of fresh allocations each time left the
    /// allocator's arenas holding tens of MiB the process never gave back.
    static HERE: std::cell::RefCell<Option<(wharf_deflate::Level, wharf_deflate::Deflater, Vec<u8>)>> =
        const { std::cell::RefCell::new(None) };
}

/// Compresses `content` as one block on this thread; the output in a
/// buffer of its own size.
fn deflate_here(
    content: &[u8],
    level: wharf_deflate::Level,
    last: bool,
) -> Result<Vec<u8>, String> {
    HERE.with_borrow_mut(|here| {
        if here
            .as_ref()
            .is_none_or(|(made_for, _, _)| *made_for != level)
        {
            let deflater = wharf_deflate::Deflater::new(level)
                .ok_or_else(|| format!("level {} is not zlib's (0 to 9)", level.level))?;
            *here = Some((level, deflater, Vec::new()));
        }
        let (_, deflater, room) = here.as_mut().expect("made above");
        room.clear();
        deflater.block(content, last, room);
        let data = room.to_vec();
        // A block bigger than the usual leaves no big room behind.
        if room.capacity() > 2 * wharf_deflate::bound(1 << 20) {
            *room = Vec::new();
        }
        Ok(data)
    })
}

impl Host for DeflateView<'_> {
    async fn start(
        &mut self,
        content: Vec<u8>,
        level: u8,
        huffman_only: bool,
        last: bool,
    ) -> wasmtime::Result<Result<Resource<Deflation>, WitError>> {
        let share = match self.share(content.len(), level) {
            Ok(share) => share,
            Err(why) => return Ok(Err(WitError::Other(why))),
        };
        let level = wharf_deflate::Level {
            level,
            huffman_only,
        };
        // Milliseconds of CPU for a MiB: off the threads that run the
        // instances' calls, so the overlay (and others) go on meanwhile.
        let work = tokio::task::spawn_blocking(move || {
            let block = deflate_here(&content, level, last).map(|data| DeflatedBlock {
                data,
                crc32: wharf_deflate::crc32(0, &content),
            });
            (block, share)
        });
        Ok(Ok(self.table.push(Deflation { work: Some(work) })?))
    }
}

impl HostDeflation for DeflateView<'_> {
    async fn finish(
        &mut self,
        deflation: Resource<Deflation>,
    ) -> wasmtime::Result<Result<DeflatedBlock, WitError>> {
        let Some(work) = self.table.get_mut(&deflation)?.work.take() else {
            return Ok(Err(WitError::Other(
                "this block was already finished: each is finished once".to_owned(),
            )));
        };
        let (block, _share) = work.await?;
        Ok(block.map_err(WitError::Other))
    }

    async fn drop(&mut self, deflation: Resource<Deflation>) -> wasmtime::Result<()> {
        // Work still running goes on to its end and then gives its share
        // back; it cannot be stopped halfway.
        self.table.delete(deflation)?;
        Ok(())
    }
}

impl DeflateView<'_> {
    /// Takes a share of the load for a piece of `len` bytes to hash.
    fn piece_share(&self, len: usize) -> Result<Share, String> {
        let refused = |why: String| Err(format!("the host refused to hash a piece: {why}"));
        if len > MAX_BLOCK {
            return refused(format!(
                "it holds {len} bytes, past the bound of {MAX_BLOCK} (4 MiB); add the content \
                 in smaller pieces"
            ));
        }
        let mut held = self.load.held.lock().unwrap_or_else(|e| e.into_inner());
        if held.bytes + len > self.host_memory {
            return refused(format!(
                "with what it already holds it would hold {} MiB, past the remote's host memory \
                 limit of {} MiB; raise host_memory_limit_mib in the remote's configuration, or \
                 add smaller pieces",
                (held.bytes + len).div_ceil(1 << 20),
                self.host_memory >> 20
            ));
        }
        held.bytes += len;
        Ok(Share {
            load: self.load.clone(),
            blocks: 0,
            bytes: len,
        })
    }
}

impl HostContentMd5 for DeflateView<'_> {
    async fn new(&mut self) -> wasmtime::Result<Resource<ContentMd5>> {
        Ok(self.table.push(ContentMd5::new())?)
    }

    async fn add(
        &mut self,
        this: Resource<ContentMd5>,
        piece: Vec<u8>,
    ) -> wasmtime::Result<Result<(), WitError>> {
        let share = match self.piece_share(piece.len()) {
            Ok(share) => share,
            Err(why) => return Ok(Err(WitError::Other(why))),
        };
        let Some(pieces) = self.table.get(&this)?.pieces.clone() else {
            return Ok(Err(WitError::Other(
                "this MD5 was already finished: add every piece before finish".to_owned(),
            )));
        };
        // Waits while two pieces are still to be hashed.
        if pieces.send((piece, share)).await.is_err() {
            return Ok(Err(WitError::Other(
                "the host's MD5 thread stopped".to_owned(),
            )));
        }
        Ok(Ok(()))
    }

    async fn finish(
        &mut self,
        this: Resource<ContentMd5>,
    ) -> wasmtime::Result<Result<Vec<u8>, WitError>> {
        let md5 = self.table.get_mut(&this)?;
        // Without the sender the thread sees the end once the pieces are
        // hashed.
        md5.pieces = None;
        let Some(digest) = md5.digest.take() else {
            return Ok(Err(WitError::Other(
                "this MD5 was already finished: each is finished once".to_owned(),
            )));
        };
        Ok(Ok(digest.await?.to_vec()))
    }

    async fn drop(&mut self, this: Resource<ContentMd5>) -> wasmtime::Result<()> {
        // The thread ends once what was added is hashed, and gives the
        // pieces' shares back.
        self.table.delete(this)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view<'a>(table: &'a mut ResourceTable, load: &'a Arc<DeflateLoad>) -> DeflateView<'a> {
        DeflateView {
            table,
            load,
            host_memory: 64 << 20,
        }
    }

    fn inflate(data: &[u8]) -> Vec<u8> {
        let mut stream = zlib_rs::Inflate::new(false, 15);
        let mut out = vec![0u8; 8 << 20];
        stream
            .decompress(data, &mut out, zlib_rs::InflateFlush::Finish)
            .unwrap();
        out.truncate(stream.total_out() as usize);
        out
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_content_md5_is_the_md5_of_its_pieces_in_order() {
        let (mut table, load) = (ResourceTable::new(), Arc::new(DeflateLoad::default()));
        let mut view = view(&mut table, &load);
        let content: Vec<u8> = (0..5u32 << 20).map(|i| (i % 251) as u8).collect();
        let md5 = HostContentMd5::new(&mut view).await.unwrap();
        for piece in content.chunks(1 << 20) {
            HostContentMd5::add(&mut view, Resource::new_borrow(md5.rep()), piece.to_vec())
                .await
                .unwrap()
                .unwrap();
        }
        let digest = HostContentMd5::finish(&mut view, Resource::new_borrow(md5.rep()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(digest, wharf_md5::digest(&content));
        let again = HostContentMd5::finish(&mut view, Resource::new_borrow(md5.rep()))
            .await
            .unwrap();
        assert!(again.is_err());
        // A piece past 4 MiB is refused, naming the bound.
        let big = HostContentMd5::new(&mut view).await.unwrap();
        let err = HostContentMd5::add(&mut view, big, vec![0; (4 << 20) + 1])
            .await
            .unwrap()
            .unwrap_err();
        assert!(format!("{err:?}").contains("4 MiB"), "{err:?}");
        assert_eq!(load.held.lock().unwrap().bytes, 0);
    }

    #[tokio::test]
    async fn blocks_come_back_compressed_with_their_crc() {
        let (mut table, load) = (ResourceTable::new(), Arc::new(DeflateLoad::default()));
        let mut view = view(&mut table, &load);
        let content: Vec<u8> = (0..3u32 << 20).map(|i| (i % 251 / 7) as u8).collect();
        let mut started = Vec::new();
        for (i, block) in content.chunks(1 << 20).enumerate() {
            started.push(
                view.start(block.to_vec(), 3, false, i == 2)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        let mut stream = Vec::new();
        let mut crc = 0;
        for (block, deflation) in content.chunks(1 << 20).zip(started) {
            let done = HostDeflation::finish(&mut view, deflation)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(done.crc32, wharf_deflate::crc32(0, block));
            crc = wharf_deflate::crc32(crc, block);
            stream.extend_from_slice(&done.data);
        }
        assert!(stream.len() < content.len() / 4);
        assert_eq!(inflate(&stream), content);
        assert_eq!(load.held.lock().unwrap().blocks, 0);
    }

    #[tokio::test]
    async fn the_bounds_are_named_and_dropped_blocks_count_until_done() {
        let (mut table, load) = (ResourceTable::new(), Arc::new(DeflateLoad::default()));
        let mut view = view(&mut table, &load);
        let big = view
            .start(vec![0; MAX_BLOCK + 1], 3, false, true)
            .await
            .unwrap()
            .unwrap_err();
        assert!(format!("{big:?}").contains("4 MiB"), "{big:?}");
        let level = view.start(vec![1], 10, false, true).await.unwrap();
        assert!(format!("{:?}", level.unwrap_err()).contains("level 10"));
        let mut started = Vec::new();
        for _ in 0..MAX_BLOCKS {
            started.push(
                view.start(vec![7; 1 << 20], 9, false, false)
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        let many = view.start(vec![7; 10], 3, false, true).await.unwrap();
        assert!(format!("{:?}", many.unwrap_err()).contains("already in the host's hands"));
        // Dropped, a block still counts until its work is done.
        for deflation in started {
            HostDeflation::drop(&mut view, deflation).await.unwrap();
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while load.held.lock().unwrap().blocks > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "dropped blocks never ended"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        // And the memory bound names its option.
        let mut small = DeflateView {
            table: &mut table,
            load: &load,
            host_memory: 1 << 20,
        };
        let memory = small.start(vec![0; 1 << 20], 3, false, true).await.unwrap();
        assert!(format!("{:?}", memory.unwrap_err()).contains("host_memory_limit_mib"));
    }
}
