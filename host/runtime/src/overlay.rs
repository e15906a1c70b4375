//! The host side of `wharf:storage/below`: what an overlay (a plugin that
//! stores its objects in another remote) is given of the remote below it.
//! Each call goes to that remote as any caller's would, through its own
//! sandbox and bounds; the overlay sees only keys under the prefix its
//! configuration names (`remote = "r2:backups"`), and never the options
//! (the credentials) of the remote below.

use std::collections::VecDeque;
use std::sync::Arc;

use wasmtime::component::{HasData, Resource, ResourceTable};

use crate::bindings::overlay::wharf::storage::below::{
    Host, HostBelowLister, HostBelowReader, HostBelowWriter,
};
use crate::bindings::types::{
    self as wit, ByteRange, Capabilities, Entry, ObjectMeta, StoreDescription, WriteOptions,
};
use crate::remote::{ObjectLister, ObjectReader, ObjectWriter};
use crate::{Error, ErrorKind, Remote};

/// The remote an overlay sits on, and the prefix under which it keeps its
/// objects there (empty for the whole remote).
#[derive(Clone)]
pub struct Below {
    /// The remote below.
    pub remote: Arc<Remote>,
    /// Keys below are `prefix/key`.
    pub prefix: String,
}

impl std::fmt::Debug for Below {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::path_on(self.remote.name(), &self.prefix))
    }
}

impl PartialEq for Below {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.remote, &other.remote) && self.prefix == other.prefix
    }
}

impl Eq for Below {}

impl Below {
    fn key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    /// A key or prefix below, as the overlay knows it.
    fn strip(&self, key: String) -> String {
        if self.prefix.is_empty() {
            return key;
        }
        match key
            .strip_prefix(&self.prefix)
            .and_then(|k| k.strip_prefix('/'))
        {
            Some(rest) => rest.to_owned(),
            None => key,
        }
    }

    fn meta(&self, mut meta: ObjectMeta) -> ObjectMeta {
        meta.key = self.strip(meta.key);
        meta
    }
}

/// A read in progress below, with what the last chunk held beyond what
/// the overlay asked for.
pub struct BelowReader {
    /// `None` once the overlay closed it.
    reader: Option<ObjectReader<'static>>,
    pending: Vec<u8>,
    at: usize,
}

/// A write in progress below. Its chunks go to a task of their own that
/// writes them to the remote below, so the overlay works on the next chunk
/// (encrypts, compresses) while the remote below stores the last (hashes,
/// sends): the two layers run on two cores, not one after the other. At
/// most [`PIPELINED_CHUNKS`] wait between them.
pub struct BelowWriter {
    pipe: Option<WritePipe>,
    key: String,
}

/// Chunks an overlay may have handed on that the remote below has not yet
/// taken: enough to keep both layers busy, few enough that a write holds
/// only a few chunks in the host (each at most 1 MiB; crypt's are 512 KiB).
/// The remote below stops taking chunks while it waits, as S3 does for a
/// part's answer before it fills the next; with room for two chunks, crypt
/// then stopped too, and 384 MiB through crypt over S3 on loopback took
/// 3.12 to 3.84 s (rclone 2.97 to 3.07); with room for eight (4 MiB of
/// crypt's, most of a part) it encrypts on meanwhile: 3.05 to 3.09 s
/// against rclone's 3.09 to 3.14 s, peak RSS 43 to 45 MiB.
const PIPELINED_CHUNKS: usize = 8;

/// The two ends of a pipelined write below.
struct WritePipe {
    chunks: tokio::sync::mpsc::Sender<Vec<u8>>,
    /// Set before the sender is dropped to abort instead of finishing.
    abort: Arc<std::sync::atomic::AtomicBool>,
    /// The object written, or `None` when the write was aborted.
    task: tokio::task::JoinHandle<crate::Result<Option<ObjectMeta>>>,
}

impl WritePipe {
    fn start(mut writer: ObjectWriter<'static>) -> WritePipe {
        let (chunks, mut incoming) = tokio::sync::mpsc::channel::<Vec<u8>>(PIPELINED_CHUNKS);
        // Aborted unless `end` says to finish: a pipe dropped without
        // `end` (its overlay instance thrown away mid-write) must not
        // finish a partial object below.
        let abort = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let aborting = abort.clone();
        let task = tokio::spawn(async move {
            while let Some(chunk) = incoming.recv().await {
                if let Err(e) = writer.write(&chunk).await {
                    // Nothing of a failed write may stay visible below.
                    let _ = writer.abort().await;
                    return Err(e);
                }
            }
            if aborting.load(std::sync::atomic::Ordering::SeqCst) {
                writer.abort().await?;
                return Ok(None);
            }
            writer.finish().await.map(Some)
        });
        WritePipe {
            chunks,
            abort,
            task,
        }
    }

    /// Waits for the write below to end: finished, or (`abort`) aborted.
    async fn end(self, abort: bool) -> crate::Result<Option<ObjectMeta>> {
        self.abort.store(abort, std::sync::atomic::Ordering::SeqCst);
        drop(self.chunks);
        self.task.await.map_err(|e| {
            Error::new(
                ErrorKind::Other,
                format!("the write below stopped unexpectedly: {e}"),
            )
        })?
    }
}

/// A listing in progress below, with the rest of its last page.
pub struct BelowLister {
    /// `None` once the overlay closed it.
    lister: Option<ObjectLister<'static>>,
    pending: VecDeque<Entry>,
}

/// What the `below` functions of one instance work on.
pub(crate) struct BelowView<'a> {
    pub table: &'a mut ResourceTable,
    pub below: Option<&'a Below>,
    pub notices: &'a crate::Notices,
}

/// Marks [`BelowView`] as the data the `below` functions get.
pub(crate) struct BelowData;

impl HasData for BelowData {
    type Data<'a> = BelowView<'a>;
}

/// A host failure as the contract's error, for the overlay.
pub(crate) fn to_wit(error: &Error) -> wit::Error {
    let message = error.to_string();
    match error.kind() {
        ErrorKind::NotFound => wit::Error::NotFound(message),
        ErrorKind::AlreadyExists => wit::Error::AlreadyExists(message),
        ErrorKind::InvalidKey => wit::Error::InvalidKey(message),
        ErrorKind::InvalidConfig => wit::Error::InvalidConfig(message),
        ErrorKind::PermissionDenied => wit::Error::PermissionDenied(message),
        ErrorKind::Unsupported => wit::Error::Unsupported(message),
        ErrorKind::RateLimited { retry_after } => wit::Error::RateLimited(wit::RateLimit {
            message,
            retry_after_ms: retry_after.map(|d| d.as_millis() as u64),
        }),
        ErrorKind::Unavailable | ErrorKind::Corrupted => wit::Error::Unavailable(message),
        _ => wit::Error::Other(message),
    }
}

type Answer<T> = wasmtime::Result<Result<T, wit::Error>>;

impl BelowView<'_> {
    fn below(&self) -> Result<Below, wit::Error> {
        self.below.cloned().ok_or_else(|| {
            wit::Error::Other(
                "this plugin imports the store below, but its remote sets no `remote` to sit on"
                    .into(),
            )
        })
    }
}

impl Host for BelowView<'_> {
    async fn store_capabilities(&mut self) -> wasmtime::Result<Capabilities> {
        Ok(match self.below() {
            Ok(below) => below.remote.plugin().info().capabilities,
            Err(_) => crate::plugin::no_capabilities(),
        })
    }

    async fn describe(&mut self) -> wasmtime::Result<StoreDescription> {
        let none = StoreDescription {
            etag: wit::EtagKind::Opaque,
            hashes: Vec::new(),
            urls: wit::UrlSupport::Unsupported,
            create_only: false,
            checked_writes: false,
        };
        let Ok(below) = self.below() else {
            return Ok(none);
        };
        Ok(below.remote.describe().await.ok().flatten().unwrap_or(none))
    }

    async fn notice(&mut self, message: String) -> wasmtime::Result<()> {
        self.notices.push(&message);
        Ok(())
    }

    async fn stat(&mut self, key: String) -> Answer<ObjectMeta> {
        let below = match self.below() {
            Ok(below) => below,
            Err(e) => return Ok(Err(e)),
        };
        Ok(below
            .remote
            .stat(&below.key(&key))
            .await
            .map(|m| below.meta(m))
            .map_err(|e| to_wit(&e)))
    }

    async fn read(
        &mut self,
        key: String,
        range: Option<ByteRange>,
    ) -> Answer<Resource<BelowReader>> {
        let below = match self.below() {
            Ok(below) => below,
            Err(e) => return Ok(Err(e)),
        };
        let reader = match below.remote.open_read(&below.key(&key), range).await {
            Ok(reader) => reader.shared(below.remote.clone()),
            Err(e) => return Ok(Err(to_wit(&e))),
        };
        let reader = BelowReader {
            reader: Some(reader),
            pending: Vec::new(),
            at: 0,
        };
        Ok(Ok(self.table.push(reader)?))
    }

    async fn write(&mut self, key: String, options: WriteOptions) -> Answer<Resource<BelowWriter>> {
        let below = match self.below() {
            Ok(below) => below,
            Err(e) => return Ok(Err(e)),
        };
        let writer = match below.remote.open_write(&below.key(&key), options).await {
            Ok(writer) => writer.shared(below.remote.clone()),
            Err(e) => return Ok(Err(to_wit(&e))),
        };
        Ok(Ok(self.table.push(BelowWriter {
            pipe: Some(WritePipe::start(writer)),
            key,
        })?))
    }

    async fn delete(&mut self, key: String) -> Answer<()> {
        let below = match self.below() {
            Ok(below) => below,
            Err(e) => return Ok(Err(e)),
        };
        Ok(below
            .remote
            .delete(&below.key(&key))
            .await
            .map_err(|e| to_wit(&e)))
    }

    async fn list(
        &mut self,
        prefix: String,
        delimiter: Option<String>,
    ) -> Answer<Resource<BelowLister>> {
        let below = match self.below() {
            Ok(below) => below,
            Err(e) => return Ok(Err(e)),
        };
        let full = if below.prefix.is_empty() {
            prefix
        } else {
            format!("{}/{prefix}", below.prefix)
        };
        let lister = match below.remote.list(&full, delimiter.as_deref()).await {
            Ok(lister) => lister.shared(below.remote.clone()),
            Err(e) => return Ok(Err(to_wit(&e))),
        };
        Ok(Ok(self.table.push(BelowLister {
            lister: Some(lister),
            pending: VecDeque::new(),
        })?))
    }

    async fn copy(&mut self, source: String, destination: String) -> Answer<ObjectMeta> {
        let below = match self.below() {
            Ok(below) => below,
            Err(e) => return Ok(Err(e)),
        };
        Ok(below
            .remote
            .copy(&below.key(&source), &below.key(&destination))
            .await
            .map(|m| below.meta(m))
            .map_err(|e| to_wit(&e)))
    }

    async fn hash(&mut self, key: String, kind: String) -> Answer<String> {
        let below = match self.below() {
            Ok(below) => below,
            Err(e) => return Ok(Err(e)),
        };
        Ok(below
            .remote
            .hash(&below.key(&key), &kind)
            .await
            .map_err(|e| to_wit(&e)))
    }
}

impl HostBelowReader for BelowView<'_> {
    async fn read(&mut self, reader: Resource<BelowReader>, max_bytes: u32) -> Answer<Vec<u8>> {
        let reader = self.table.get_mut(&reader)?;
        if reader.at == reader.pending.len() {
            let Some(below) = reader.reader.as_mut() else {
                return Ok(Ok(Vec::new()));
            };
            reader.pending = match below.read().await {
                Ok(chunk) => chunk,
                Err(e) => return Ok(Err(to_wit(&e))),
            };
            reader.at = 0;
        }
        let end = reader
            .pending
            .len()
            .min(reader.at + max_bytes.max(1) as usize);
        let chunk = reader.pending[reader.at..end].to_vec();
        reader.at = end;
        Ok(Ok(chunk))
    }

    async fn close(&mut self, reader: Resource<BelowReader>) -> wasmtime::Result<()> {
        let reader = self.table.get_mut(&reader)?;
        reader.pending = Vec::new();
        reader.at = 0;
        if let Some(below) = reader.reader.take() {
            below.close().await;
        }
        Ok(())
    }

    async fn drop(&mut self, reader: Resource<BelowReader>) -> wasmtime::Result<()> {
        if let Some(below) = self.table.delete(reader)?.reader {
            below.close().await;
        }
        Ok(())
    }
}

impl HostBelowWriter for BelowView<'_> {
    async fn write(&mut self, writer: Resource<BelowWriter>, chunk: Vec<u8>) -> Answer<()> {
        let writer = self.table.get_mut(&writer)?;
        let Some(pipe) = writer.pipe.as_ref() else {
            return Ok(Err(finished(&writer.key)));
        };
        if pipe.chunks.send(chunk).await.is_ok() {
            return Ok(Ok(()));
        }
        // The task stopped: a chunk before this one failed below (and the
        // write there was aborted). Its error is the answer.
        let pipe = writer.pipe.take().expect("present above");
        Ok(match pipe.end(true).await {
            Err(e) => Err(to_wit(&e)),
            Ok(_) => Err(finished(&writer.key)),
        })
    }

    async fn finish(&mut self, writer: Resource<BelowWriter>) -> Answer<ObjectMeta> {
        let below = self.below.cloned();
        let writer = self.table.get_mut(&writer)?;
        let Some(pipe) = writer.pipe.take() else {
            return Ok(Err(finished(&writer.key)));
        };
        Ok(match pipe.end(false).await {
            Ok(Some(meta)) => Ok(match &below {
                Some(below) => below.meta(meta),
                None => meta,
            }),
            Ok(None) => Err(finished(&writer.key)),
            Err(e) => Err(to_wit(&e)),
        })
    }

    async fn abort(&mut self, writer: Resource<BelowWriter>) -> Answer<()> {
        let writer = self.table.get_mut(&writer)?;
        match writer.pipe.take() {
            Some(pipe) => Ok(pipe.end(true).await.map(drop).map_err(|e| to_wit(&e))),
            None => Ok(Ok(())),
        }
    }

    async fn drop(&mut self, writer: Resource<BelowWriter>) -> wasmtime::Result<()> {
        // Unfinished, it is aborted now: the contract's promise that an
        // abandoned write leaves nothing holds through every layer.
        if let Some(pipe) = self.table.delete(writer)?.pipe {
            let _ = pipe.end(true).await;
        }
        Ok(())
    }
}

fn finished(key: &str) -> wit::Error {
    wit::Error::Other(format!(
        "the write of {key:?} below was already finished or aborted"
    ))
}

impl HostBelowLister for BelowView<'_> {
    async fn next(
        &mut self,
        lister: Resource<BelowLister>,
        max_entries: u32,
    ) -> Answer<Vec<Entry>> {
        let below = self.below.cloned();
        let lister = self.table.get_mut(&lister)?;
        if lister.pending.is_empty() {
            let Some(below_lister) = lister.lister.as_mut() else {
                return Ok(Ok(Vec::new()));
            };
            match below_lister.next_page().await {
                Ok(page) => lister.pending.extend(page),
                Err(e) => return Ok(Err(to_wit(&e))),
            }
        }
        let take = lister.pending.len().min(max_entries.max(1) as usize);
        let page = lister
            .pending
            .drain(..take)
            .map(|entry| match (&below, entry) {
                (Some(below), Entry::Object(meta)) => Entry::Object(below.meta(meta)),
                (Some(below), Entry::CommonPrefix(prefix)) => {
                    Entry::CommonPrefix(below.strip(prefix))
                }
                (None, entry) => entry,
            })
            .collect();
        Ok(Ok(page))
    }

    async fn close(&mut self, lister: Resource<BelowLister>) -> wasmtime::Result<()> {
        let lister = self.table.get_mut(&lister)?;
        lister.pending.clear();
        if let Some(below) = lister.lister.take() {
            below.close().await;
        }
        Ok(())
    }

    async fn drop(&mut self, lister: Resource<BelowLister>) -> wasmtime::Result<()> {
        if let Some(below) = self.table.delete(lister)?.lister {
            below.close().await;
        }
        Ok(())
    }
}
