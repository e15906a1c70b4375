//! Reads, writes and listings in progress. Each holds a resource of the
//! instance that opened it and makes its calls there; dropping one queues
//! its resource to be dropped in the guest at that instance's next call.

use super::bounds::{CHUNK_SIZE, LIST_PAGE, WRITE_PIECE};
use super::handed::{HandedInput, HandedOutput, InputEnd};
use super::pool::{Farewell, Handle, Slot};
use super::Remote;
use crate::bindings::types::{Entry, ObjectMeta};
use crate::bindings::{Call, PluginApi};
use crate::sandbox::HostState;
use crate::{Error, ErrorKind, Result};
use std::sync::Arc;
use wasmtime::component::ResourceAny;
use wasmtime::Store;

/// The remote a handle makes its calls on: borrowed by a caller that holds
/// the remote, or shared when the handle must outlive any borrow (an
/// overlay's reads and writes on the remote below it, kept in its
/// instance's resource table).
pub(super) enum RemoteRef<'r> {
    Borrowed(&'r Remote),
    Shared(Arc<Remote>),
}

impl std::ops::Deref for RemoteRef<'_> {
    type Target = Remote;

    fn deref(&self) -> &Remote {
        match self {
            RemoteRef::Borrowed(remote) => remote,
            RemoteRef::Shared(remote) => remote,
        }
    }
}

/// Gives a handle's resource back to its instance, to be dropped in the
/// guest after its farewell call (`Drop` cannot call into it; see
/// [`Slot::let_go`]).
fn release(handle: &mut Option<Handle>) {
    if let Some(handle) = handle.take() {
        Slot::let_go(handle);
    }
}

/// Gives a handle's resource back with nothing to tell the plugin: it is
/// done with (finished, aborted, or read to its end).
fn done_with(handle: Handle) {
    Slot::let_go(Handle {
        farewell: Farewell::None,
        ..handle
    });
}

/// A read in progress, pulled a chunk at a time: from the plugin, or from
/// the stream it handed over.
pub struct ObjectReader<'r> {
    pub(super) remote: RemoteRef<'r>,
    pub(super) key: String,
    pub(super) handle: Option<Handle>,
    pub(super) stream: Option<HandedInput>,
}

impl ObjectReader<'_> {
    /// The next chunk of at most [`CHUNK_SIZE`] bytes; empty at the end.
    pub async fn read(&mut self) -> Result<Vec<u8>> {
        loop {
            let Some(handle) = &self.handle else {
                return Ok(Vec::new());
            };
            let resource = handle.resource;
            if let Some(stream) = self.stream.as_mut() {
                let timeout = self.remote.limits.call_timeout;
                let (chunk, end) = stream.fill(CHUNK_SIZE, timeout).await;
                let Some(end) = end else {
                    return Ok(chunk);
                };
                let received = stream.received;
                // The plugin judges the end, and may go on with another
                // stream (a resumed transfer).
                self.stream = None;
                let failure = match end {
                    InputEnd::Closed => None,
                    InputEnd::Failed(why) => Some(why),
                };
                self.stream = self
                    .remote
                    .run_on(handle, "read", &self.key, async |api, store, _| {
                        let ended = api
                            .reader_stream_ended(store, resource, received, failure.as_deref())
                            .await?;
                        if let Err(e) = ended {
                            return Ok(Err(e));
                        }
                        take_input(api, store, resource).await
                    })
                    .await?;
                if !chunk.is_empty() {
                    return Ok(chunk);
                }
                continue;
            }
            let chunk = self
                .remote
                .run_on(handle, "read", &self.key, async |api, store, _| {
                    api.reader_read(store, resource, CHUNK_SIZE as u32).await
                })
                .await?;
            if chunk.is_empty() {
                // At the end the plugin has let go of the read itself.
                if let Some(handle) = self.handle.take() {
                    done_with(handle);
                }
            }
            return Ok(chunk);
        }
    }

    /// Ends the read (telling the plugin with `reader.close` when it
    /// stopped before the end) and releases it in the plugin.
    pub async fn close(mut self) {
        self.stream = None;
        close_now(self.handle.take()).await;
    }
}

/// Asks the plugin for the stream of the read `resource`
/// (`reader.take-stream`) and takes it out of the instance.
pub(super) async fn take_input(
    api: &PluginApi,
    store: &mut Store<HostState>,
    resource: ResourceAny,
) -> Call<Option<HandedInput>> {
    let Some(handed) = api.reader_take_stream(store, resource).await? else {
        return Ok(Ok(None));
    };
    let rep = handed.bytes.rep();
    let stream = store.data_mut().take_handed(handed.bytes)?;
    let socket = store.data_mut().handed_socket(rep);
    Ok(Ok(Some(HandedInput::new(stream, socket, handed.length))))
}

impl ObjectReader<'_> {
    /// The same read, holding its remote itself.
    pub(crate) fn shared(mut self, remote: Arc<Remote>) -> ObjectReader<'static> {
        ObjectReader {
            remote: RemoteRef::Shared(remote),
            key: std::mem::take(&mut self.key),
            handle: self.handle.take(),
            stream: self.stream.take(),
        }
    }
}

impl Drop for ObjectReader<'_> {
    fn drop(&mut self) {
        release(&mut self.handle);
    }
}

/// A write in progress. Dropping it without [`ObjectWriter::finish`] aborts
/// it (in the plugin, at the instance's next call).
pub struct ObjectWriter<'r> {
    pub(super) remote: RemoteRef<'r>,
    pub(super) key: String,
    pub(super) handle: Option<Handle>,
    /// The stream the plugin handed over, which the host writes itself.
    pub(super) stream: Option<HandedOutput>,
    pub(super) asked_for_stream: bool,
}

impl ObjectWriter<'_> {
    fn handle(&self, op: &'static str) -> Result<&Handle> {
        self.handle.as_ref().ok_or_else(|| {
            self.remote.context(
                Error::new(
                    ErrorKind::Other,
                    "this write was already finished or aborted",
                ),
                op,
                &self.key,
            )
        })
    }

    /// Appends `chunk` to the object.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.handle("write")?;
        if let (false, false, Some(handle)) = (
            self.asked_for_stream,
            chunk.is_empty(),
            self.handle.as_ref(),
        ) {
            self.asked_for_stream = true;
            let resource = handle.resource;
            self.stream = self
                .remote
                .run_on(handle, "write", &self.key, async |api, store, _| {
                    let Some(stream) = api.writer_take_stream(store, resource).await? else {
                        return Ok(Ok(None));
                    };
                    let rep = stream.rep();
                    let stream = store.data_mut().take_handed(stream)?;
                    let socket = store.data_mut().handed_socket(rep);
                    Ok(Ok(Some(HandedOutput::new(stream, socket))))
                })
                .await?;
        }
        if let Some(stream) = self.stream.as_mut() {
            let timeout = self.remote.limits.call_timeout;
            return stream
                .write(chunk, timeout)
                .await
                .map_err(|e| self.remote.context(e, "write", &self.key));
        }
        let handle = self.handle("write")?;
        let resource = handle.resource;
        self.remote
            .run_on(handle, "write", &self.key, async |api, store, _| {
                for piece in chunk.chunks(WRITE_PIECE) {
                    if let refused @ Err(_) = api.writer_write(store, resource, piece).await? {
                        return Ok(refused);
                    }
                }
                Ok(Ok(()))
            })
            .await
    }

    /// Makes the object visible at its key.
    pub async fn finish(mut self) -> Result<ObjectMeta> {
        self.handle("write")?;
        if let Some(mut stream) = self.stream.take() {
            // Everything written reaches the stream's far side before the
            // plugin is told to finish; a failure there is the write's.
            let flushed = stream.flush(self.remote.limits.call_timeout).await;
            drop(stream);
            if let Err(e) = flushed {
                let _ = self.abort_in_place().await;
                return Err(self.remote.context(e, "write", &self.key));
            }
        }
        let handle = self.handle("write")?.clone();
        let mut held = handle.slot.lock().await;
        let result = self
            .remote
            .run(
                &mut held,
                Some(handle.generation),
                "write",
                &self.key,
                async |api, store, _| api.writer_finish(store, handle.resource).await,
            )
            .await;
        drop(held);
        // Finished or failed, the resource is done with: after an error the
        // contract has the plugin clean up itself.
        self.handle = None;
        done_with(handle);
        result
    }

    /// Throws the write away; nothing is stored.
    pub async fn abort(mut self) -> Result<()> {
        self.abort_in_place().await
    }

    pub(super) async fn abort_in_place(&mut self) -> Result<()> {
        self.stream = None;
        let Some(handle) = self.handle.take() else {
            return Ok(());
        };
        let mut held = handle.slot.lock().await;
        // After a restart there is nothing left to abort: the instance that
        // held the write is gone, and the contract says it left nothing.
        if held.state.generation != handle.generation || held.state.live.is_none() {
            return Ok(());
        }
        let result = self
            .remote
            .run(
                &mut held,
                Some(handle.generation),
                "abort",
                &self.key,
                async |api, store, _| api.writer_abort(store, handle.resource).await,
            )
            .await;
        drop(held);
        done_with(handle);
        result
    }
}

impl ObjectWriter<'_> {
    /// The same write, holding its remote itself.
    pub(crate) fn shared(mut self, remote: Arc<Remote>) -> ObjectWriter<'static> {
        ObjectWriter {
            remote: RemoteRef::Shared(remote),
            key: std::mem::take(&mut self.key),
            handle: self.handle.take(),
            stream: self.stream.take(),
            asked_for_stream: self.asked_for_stream,
        }
    }
}

impl Drop for ObjectWriter<'_> {
    fn drop(&mut self) {
        release(&mut self.handle);
    }
}

/// A listing in progress, pulled a page at a time.
pub struct ObjectLister<'r> {
    pub(super) remote: RemoteRef<'r>,
    pub(super) prefix: String,
    pub(super) handle: Option<Handle>,
}

impl ObjectLister<'_> {
    /// The next page of at most [`LIST_PAGE`] entries; empty at the end.
    pub async fn next_page(&mut self) -> Result<Vec<Entry>> {
        let Some(handle) = &self.handle else {
            return Ok(Vec::new());
        };
        let resource = handle.resource;
        let page = self
            .remote
            .run_on(handle, "list", &self.prefix, async |api, store, _| {
                api.lister_next(store, resource, LIST_PAGE).await
            })
            .await?;
        if page.is_empty() {
            if let Some(handle) = self.handle.take() {
                done_with(handle);
            }
        }
        Ok(page)
    }

    /// Ends the listing (telling the plugin with `lister.close` when it
    /// stopped before the end) and releases it in the plugin.
    pub async fn close(mut self) {
        close_now(self.handle.take()).await;
    }
}

/// Releases `handle` in the plugin now, after its farewell, rather than
/// in a task of its own.
async fn close_now(handle: Option<Handle>) {
    if let Some(handle) = handle {
        let slot = handle.slot.clone();
        slot.orphan(handle);
        slot.lock().await.drop_orphans().await;
    }
}

impl ObjectLister<'_> {
    /// The same listing, holding its remote itself.
    pub(crate) fn shared(mut self, remote: Arc<Remote>) -> ObjectLister<'static> {
        ObjectLister {
            remote: RemoteRef::Shared(remote),
            prefix: std::mem::take(&mut self.prefix),
            handle: self.handle.take(),
        }
    }
}

impl Drop for ObjectLister<'_> {
    fn drop(&mut self) {
        release(&mut self.handle);
    }
}
