//! Streams a plugin handed over (`reader.take-stream`,
//! `writer.take-stream`, contract 0.3): the host reads or writes them
//! itself, outside the instance, so an object's bytes cross no component
//! boundary and cost no call into the plugin per chunk. They are taken out
//! of the instance's resource table. A stream of one of the instance's TCP
//! connections (`tcp.rs`: an FTP data connection) is read and written on
//! its socket, as much at once as the kernel takes; any other (an HTTP
//! body, say) through its `wasi:io` stream.

use std::io;
use std::time::Duration;

use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, StreamError};

use crate::tcp::HandedSocket;
use crate::{Error, ErrorKind, Result};

/// What brought a handed-over input stream to its end.
pub(super) enum InputEnd {
    /// The other side closed it, or the host read the `length` that was
    /// the read's: for the plugin to judge (a complete transfer, or one
    /// cut short).
    Closed,
    /// Reading failed, or nothing came within the call timeout; the text
    /// goes to the plugin.
    Failed(String),
}

/// An input stream a plugin handed over, and how much the host has read
/// from it.
pub(super) struct HandedInput {
    /// The socket under the stream, when it is one of the instance's TCP
    /// connections; then the stream is only kept, to be dropped after it.
    socket: Option<HandedSocket>,
    stream: DynInputStream,
    /// How many of its bytes are the read's; `None` to its end.
    length: Option<u64>,
    pub received: u64,
}

impl HandedInput {
    pub fn new(stream: DynInputStream, socket: Option<HandedSocket>, length: Option<u64>) -> Self {
        HandedInput {
            socket,
            stream,
            length,
            received: 0,
        }
    }

    /// Reads up to `max` bytes, waiting (at most `timeout` each time) until
    /// it has them all or the stream ends (closed, or its `length` read);
    /// what was read before an end comes with it.
    pub async fn fill(&mut self, max: usize, timeout: Duration) -> (Vec<u8>, Option<InputEnd>) {
        let mut chunk = Vec::new();
        loop {
            let left = self.length.map_or(u64::MAX, |l| l - self.received);
            if left == 0 {
                return (chunk, Some(InputEnd::Closed));
            }
            let want = (max - chunk.len()).min(left.min(usize::MAX as u64) as usize);
            if want == 0 {
                break;
            }
            let read = match &self.socket {
                Some(socket) => tokio::time::timeout(timeout, socket.read(&mut chunk, want))
                    .await
                    .ok(),
                None => self.read_stream(&mut chunk, want, timeout).await,
            };
            match read {
                Some(Ok(0)) => return (chunk, Some(InputEnd::Closed)),
                Some(Ok(n)) => self.received += n as u64,
                Some(Err(e)) => return (chunk, Some(InputEnd::Failed(e.to_string()))),
                None if !chunk.is_empty() => {
                    // What came is delivered; the next fill reports the
                    // silence.
                    break;
                }
                None => {
                    return (
                        chunk,
                        Some(InputEnd::Failed(format!(
                            "nothing arrived within the call timeout of {} s (raise \
                             call_timeout_secs in the remote's configuration if the backend \
                             needs longer)",
                            timeout.as_secs_f64()
                        ))),
                    );
                }
            }
        }
        (chunk, None)
    }

    /// One read of the `wasi:io` stream into `chunk` (at most `want`
    /// bytes), waiting at most `timeout` for something to come: the count
    /// (0 at the end), or `None` if nothing came.
    async fn read_stream(
        &mut self,
        chunk: &mut Vec<u8>,
        want: usize,
        timeout: Duration,
    ) -> Option<io::Result<usize>> {
        loop {
            match self.stream.read(want) {
                Ok(bytes) if bytes.is_empty() => {
                    tokio::time::timeout(timeout, self.stream.ready())
                        .await
                        .ok()?;
                }
                Ok(bytes) => {
                    if chunk.capacity() == 0 {
                        chunk.reserve_exact(want);
                    }
                    chunk.extend_from_slice(&bytes);
                    return Some(Ok(bytes.len()));
                }
                Err(StreamError::Closed) => return Some(Ok(0)),
                Err(StreamError::LastOperationFailed(e) | StreamError::Trap(e)) => {
                    return Some(Err(io::Error::other(format!("{e:#}"))))
                }
            }
        }
    }
}

/// An output stream a plugin handed over.
pub(super) struct HandedOutput {
    /// The socket under the stream, as for [`HandedInput`].
    socket: Option<HandedSocket>,
    stream: DynOutputStream,
}

impl HandedOutput {
    pub fn new(stream: DynOutputStream, socket: Option<HandedSocket>) -> Self {
        HandedOutput { socket, stream }
    }

    /// Writes all of `bytes`, as fast as the stream takes them, waiting at
    /// most `timeout` each time it takes nothing.
    pub async fn write(&mut self, bytes: &[u8], timeout: Duration) -> Result<()> {
        if let Some(socket) = &self.socket {
            return socket.write(bytes, timeout).await.map_err(socket_failed);
        }
        // One copy of the chunk, handed on in the pieces the stream takes
        // without copying again.
        let mut rest = bytes::Bytes::copy_from_slice(bytes);
        while !rest.is_empty() {
            let permitted = self.writable(timeout).await?;
            let piece = rest.split_to(permitted.min(rest.len()));
            self.stream.write(piece).map_err(failed)?;
        }
        Ok(())
    }

    /// Flushes the stream and waits until it has handed everything on.
    pub async fn flush(&mut self, timeout: Duration) -> Result<()> {
        if let Some(socket) = &self.socket {
            return socket.flush(timeout).await.map_err(socket_failed);
        }
        self.stream.flush().map_err(failed)?;
        self.writable(timeout).await.map(drop)
    }

    async fn writable(&mut self, timeout: Duration) -> Result<usize> {
        match tokio::time::timeout(timeout, self.stream.write_ready()).await {
            Ok(Ok(permitted)) => Ok(permitted),
            Ok(Err(e)) => Err(failed(e)),
            Err(_) => Err(silent(timeout)),
        }
    }
}

fn silent(timeout: Duration) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!(
            "the connection the plugin handed over took nothing within the call timeout of {} \
             s; if the backend needs longer, raise call_timeout_secs in the remote's \
             configuration",
            timeout.as_secs_f64()
        ),
    )
}

fn socket_failed(error: crate::tcp::WriteError) -> Error {
    match error {
        crate::tcp::WriteError::Silent(timeout) => silent(timeout),
        crate::tcp::WriteError::Failed(e)
            if matches!(
                e.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ) =>
        {
            written_badly("the other side closed it".to_owned())
        }
        crate::tcp::WriteError::Failed(e) => written_badly(e.to_string()),
    }
}

fn failed(error: StreamError) -> Error {
    let detail = match error {
        StreamError::Closed => "the other side closed it".to_owned(),
        StreamError::LastOperationFailed(e) | StreamError::Trap(e) => format!("{e:#}"),
    };
    written_badly(detail)
}

fn written_badly(detail: String) -> Error {
    Error::new(
        ErrorKind::Unavailable,
        format!("writing to the connection the plugin handed over failed: {detail}"),
    )
}
