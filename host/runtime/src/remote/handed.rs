//! Streams a plugin handed over (`reader.take-stream`,
//! `writer.take-stream`, contract 0.3): the host reads or writes them
//! itself, outside the instance, so an object's bytes cross no component
//! boundary and cost no call into the plugin per chunk. They are
//! wasmtime-wasi's own streams (a socket's, say), taken out of the
//! instance's resource table.

use std::time::Duration;

use wasmtime_wasi::p2::{DynInputStream, DynOutputStream, StreamError};

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
    stream: DynInputStream,
    /// How many of its bytes are the read's; `None` to its end.
    length: Option<u64>,
    pub received: u64,
}

impl HandedInput {
    pub fn new(stream: DynInputStream, length: Option<u64>) -> Self {
        HandedInput {
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
            match self.stream.read(want) {
                Ok(bytes) if bytes.is_empty() => {
                    if tokio::time::timeout(timeout, self.stream.ready())
                        .await
                        .is_err()
                    {
                        if !chunk.is_empty() {
                            // What came is delivered; the next fill
                            // reports the silence.
                            break;
                        }
                        return (
                            chunk,
                            Some(InputEnd::Failed(format!(
                                "nothing arrived within the call timeout of {} s (raise \
                                 call_timeout_secs in the remote's configuration if the \
                                 backend needs longer)",
                                timeout.as_secs_f64()
                            ))),
                        );
                    }
                }
                Ok(bytes) => {
                    if chunk.capacity() == 0 {
                        chunk.reserve_exact(want);
                    }
                    self.received += bytes.len() as u64;
                    chunk.extend_from_slice(&bytes);
                }
                Err(StreamError::Closed) => return (chunk, Some(InputEnd::Closed)),
                Err(StreamError::LastOperationFailed(e) | StreamError::Trap(e)) => {
                    return (chunk, Some(InputEnd::Failed(format!("{e:#}"))))
                }
            }
        }
        (chunk, None)
    }
}

/// An output stream a plugin handed over.
pub(super) struct HandedOutput {
    stream: DynOutputStream,
}

impl HandedOutput {
    pub fn new(stream: DynOutputStream) -> Self {
        HandedOutput { stream }
    }

    /// Writes all of `bytes`, as fast as the stream takes them, waiting at
    /// most `timeout` each time it takes nothing.
    pub async fn write(&mut self, bytes: &[u8], timeout: Duration) -> Result<()> {
        // One copy of the chunk, handed on in the pieces the stream takes
        // (a socket's, 64 KiB) without copying again.
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
        self.stream.flush().map_err(failed)?;
        self.writable(timeout).await.map(drop)
    }

    async fn writable(&mut self, timeout: Duration) -> Result<usize> {
        match tokio::time::timeout(timeout, self.stream.write_ready()).await {
            Ok(Ok(permitted)) => Ok(permitted),
            Ok(Err(e)) => Err(failed(e)),
            Err(_) => Err(Error::new(
                ErrorKind::Unavailable,
                format!(
                    "the connection the plugin handed over took nothing within the call \
                     timeout of {} s; if the backend needs longer, raise call_timeout_secs in \
                     the remote's configuration",
                    timeout.as_secs_f64()
                ),
            )),
        }
    }
}

fn failed(error: StreamError) -> Error {
    let detail = match error {
        StreamError::Closed => "the other side closed it".to_owned(),
        StreamError::LastOperationFailed(e) | StreamError::Trap(e) => format!("{e:#}"),
    };
    Error::new(
        ErrorKind::Unavailable,
        format!("writing to the connection the plugin handed over failed: {detail}"),
    )
}
