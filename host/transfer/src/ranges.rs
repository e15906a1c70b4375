//! One large object from a remote into a local file in several ranges at
//! once (rclone's multi-thread download), each range read on a plugin
//! instance of its own and written at its place in the file: a cipher or
//! decompressor in the sandbox then runs on every core instead of one.
//! Where the copy is to be hashed, a thread follows the ranges from the
//! file's start, reading back (from the page cache) as far as they have
//! filled it without a gap: the hash needs the bytes in order, and the
//! ranges bring them out of order. The file is written beside its place
//! and put there when complete, as every local copy.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use wharf::{ByteRange, Error, ErrorKind, Remote, Result, Span};

use crate::engine::Engine;
use crate::event::Event;
use crate::staged::Staged;
use crate::verify::{Hasher, Hashes};
use crate::walk::Item;

/// Ranges start at multiples of this: whole blocks of the overlays'
/// formats (crypt's 64 KiB, compress's 1 MiB).
const ALIGN: u64 = 1 << 20;

/// The most bytes one write into the file takes. The ranges write into one
/// file at once, and each buffered write holds the file's lock while it
/// copies into the page cache: at 1 MiB a write, a 1 GiB download from
/// FTP on loopback took 0.8 to 4.9 s of system time (the other ranges'
/// threads spinning on the lock), at 128 KiB (rclone's multi-thread write
/// buffer) a steady 0.7 s, as rclone's.
const WRITE_PIECE: usize = 128 << 10;

/// The ranges `size` bytes are read in by `streams` readers.
fn ranges(size: u64, streams: usize) -> Vec<(u64, u64)> {
    let each = size.div_ceil(streams.max(1) as u64).div_ceil(ALIGN) * ALIGN;
    let mut out = Vec::new();
    let mut at = 0;
    while at < size {
        let length = each.min(size - at);
        out.push((at, length));
        at += length;
    }
    out
}

impl Engine {
    /// Whether `item` from `remote` into a local file is read in ranges.
    pub(crate) fn in_ranges(&self, item: &Item, remote: &Remote) -> bool {
        let streams = self.options.multi_thread_streams;
        streams > 1
            && item.size >= self.options.multi_thread_cutoff
            && remote.capabilities().ranged_read
    }

    /// Copies `key` of `remote` (`item`) into the file `to`, in ranges;
    /// with what the copy hashed to, where `hasher` computes anything. The
    /// file is in place when this returns, for the caller to check.
    pub(crate) async fn stream_in_ranges(
        &self,
        item: &Item,
        remote: &Arc<Remote>,
        key: &str,
        to: &Path,
        hasher: Hasher,
    ) -> Result<(u64, Option<Hashes>)> {
        let (staged, file) = Staged::beside(to)?;
        let cannot = |e| Error::io(format!("cannot write {}", to.display()), e);
        file.set_len(item.size).map_err(cannot)?;
        let file = Arc::new(file);
        let stop = Arc::new(AtomicBool::new(false));
        let (progress, mut heard) = tokio::sync::mpsc::unbounded_channel::<(usize, u64)>();
        let spans = ranges(item.size, self.options.multi_thread_streams);
        let mut follower = (!hasher.is_empty()).then(|| Follower::start(file.clone(), hasher));
        let mut filled = vec![0u64; spans.len()];
        let mut tasks = Vec::new();
        for (index, &(offset, length)) in spans.iter().enumerate() {
            let (remote, key, file) = (remote.clone(), key.to_owned(), file.clone());
            let (stop, progress, shown) =
                (stop.clone(), progress.clone(), to.display().to_string());
            let (limit, flow) = (self.options.bandwidth.clone(), self.flow());
            let cancel = self.cancel.clone();
            tasks.push(tokio::spawn(async move {
                let range = ByteRange::Span(Span { offset, length });
                let mut reader = remote.open_read(&key, Some(range)).await?;
                let mut at = offset;
                while !stop.load(Ordering::Relaxed) {
                    let chunk = reader.read().await?;
                    if chunk.is_empty() {
                        break;
                    }
                    for (i, piece) in chunk.chunks(WRITE_PIECE).enumerate() {
                        file.write_at(piece, at + (i * WRITE_PIECE) as u64)
                            .map_err(|e| Error::io(format!("cannot write {shown}"), e))?;
                    }
                    at += chunk.len() as u64;
                    let _ = progress.send((index, chunk.len() as u64));
                    if let Some(limit) = &limit {
                        let n = chunk.len() as u64;
                        limit
                            .pace_unless(n, flow, || {
                                stop.load(Ordering::Relaxed) || cancel.is_cancelled()
                            })
                            .await;
                    }
                }
                reader.close().await;
                Ok::<u64, Error>(at - offset)
            }));
        }
        drop(progress);
        let shown = self.shown(&item.rel);
        while let Some((index, bytes)) = heard.recv().await {
            self.emit(Event::Progress {
                rel: shown.clone(),
                bytes,
            });
            if self.cancelled() {
                stop.store(true, Ordering::Relaxed);
            }
            filled[index] += bytes;
            if let Some(follower) = &mut follower {
                follower.filled_to(written_from_start(&spans, &filled));
            }
        }
        let mut total = 0;
        let mut failed = None;
        for task in tasks {
            match task.await {
                Ok(Ok(n)) => total += n,
                Ok(Err(e)) => {
                    failed.get_or_insert(e);
                }
                Err(e) => {
                    failed.get_or_insert(Error::new(
                        ErrorKind::Other,
                        format!("{}: a range of the copy stopped: {e}", to.display()),
                    ));
                }
            }
        }
        // The staged file is removed when dropped unpublished.
        if let Some(e) = failed {
            return Err(e);
        }
        if self.cancelled() {
            return Err(Error::new(
                ErrorKind::Other,
                format!("{}: interrupted", to.display()),
            ));
        }
        if total != item.size {
            return Err(Error::new(
                ErrorKind::Corrupted,
                format!(
                    "{key} changed while it was copied: {total} bytes read, {} listed",
                    item.size
                ),
            ));
        }
        let hashes = match follower {
            Some(follower) => Some(follower.finish(total).await.map_err(|e| {
                Error::io(format!("cannot read back {} to hash it", to.display()), e)
            })?),
            None => None,
        };
        staged.publish(&file)?;
        Ok((total, hashes))
    }
}

/// How far from its start the file is written without a gap, given what
/// each range (`spans`, in order) has `filled`.
fn written_from_start(spans: &[(u64, u64)], filled: &[u64]) -> u64 {
    let mut end = 0;
    for (&(offset, length), &done) in spans.iter().zip(filled) {
        end = offset + done;
        if done < length {
            break;
        }
    }
    end
}

/// A thread hashing a file that ranges are filling, in order, as far as
/// it is told the file is written without a gap.
struct Follower {
    filled: std::sync::mpsc::Sender<u64>,
    told: u64,
    done: std::thread::JoinHandle<std::io::Result<Hashes>>,
}

/// The follower reads back at most this much at a time.
const READ_BACK: usize = 1 << 20;

impl Follower {
    fn start(file: Arc<File>, mut hasher: Hasher) -> Follower {
        let (filled, told) = std::sync::mpsc::channel::<u64>();
        let done = std::thread::spawn(move || {
            let mut buffer = vec![0u8; READ_BACK];
            let mut at = 0u64;
            while let Ok(mut end) = told.recv() {
                // Only the latest word counts: the ranges outrun the hash.
                while let Ok(later) = told.try_recv() {
                    end = later;
                }
                while at < end {
                    let n = ((end - at) as usize).min(READ_BACK);
                    file.read_exact_at(&mut buffer[..n], at)?;
                    hasher.update(&buffer[..n]);
                    at += n as u64;
                }
            }
            Ok(hasher.finish())
        });
        Follower {
            filled,
            told: 0,
            done,
        }
    }

    /// The file is written up to `end` without a gap. Told once a read
    /// back's worth has come (or more), not for every chunk.
    fn filled_to(&mut self, end: u64) {
        if end >= self.told + READ_BACK as u64 {
            self.told = end;
            let _ = self.filled.send(end);
        }
    }

    /// What the file hashed to, written whole up to `end`, once the
    /// follower has caught up.
    async fn finish(self, end: u64) -> std::io::Result<Hashes> {
        let Follower { filled, done, .. } = self;
        let _ = filled.send(end);
        drop(filled);
        tokio::task::spawn_blocking(move || done.join())
            .await
            .map_err(std::io::Error::other)?
            .map_err(|_| std::io::Error::other("the thread hashing the copy stopped"))?
    }
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn ranges_cover_the_object_on_block_boundaries() {
        let mib = 1 << 20;
        assert_eq!(
            ranges(1024 * mib, 4),
            [
                (0, 256 * mib),
                (256 * mib, 256 * mib),
                (512 * mib, 256 * mib),
                (768 * mib, 256 * mib)
            ]
        );
        let odd = ranges(300 * mib + 5, 4);
        assert_eq!(odd.len(), 4);
        assert!(odd.iter().all(|(offset, _)| offset % mib == 0));
        assert_eq!(odd.iter().map(|(_, l)| l).sum::<u64>(), 300 * mib + 5);
        assert_eq!(ranges(mib / 2, 4), [(0, mib / 2)]);
    }
}
