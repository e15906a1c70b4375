//! A plugin's standard error, keeping the *last* bytes it wrote. A plugin
//! that writes a lot and then panics puts the panic message at the end;
//! wasmtime's memory pipe keeps the first bytes and then refuses the rest,
//! so that message was lost.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError};

/// The last `capacity` bytes written; clones share them.
#[derive(Debug, Clone)]
pub(crate) struct StderrTail {
    capacity: usize,
    kept: Arc<Mutex<VecDeque<u8>>>,
}

impl StderrTail {
    pub fn new(capacity: usize) -> Self {
        StderrTail {
            capacity,
            kept: Arc::new(Mutex::new(VecDeque::new())),
        }
    }

    /// What was kept, oldest first.
    pub fn contents(&self) -> Vec<u8> {
        self.kept.lock().unwrap().iter().copied().collect()
    }

    fn keep(&self, bytes: &[u8]) {
        let mut kept = self.kept.lock().unwrap();
        let bytes = &bytes[bytes.len().saturating_sub(self.capacity)..];
        let overflow = (kept.len() + bytes.len()).saturating_sub(self.capacity);
        kept.drain(..overflow);
        kept.extend(bytes);
    }
}

#[async_trait::async_trait]
impl OutputStream for StderrTail {
    fn write(&mut self, bytes: Bytes) -> Result<(), StreamError> {
        self.keep(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StreamError> {
        Ok(())
    }

    fn check_write(&mut self) -> Result<usize, StreamError> {
        // Always room: the oldest bytes make way.
        Ok(self.capacity)
    }
}

#[async_trait::async_trait]
impl Pollable for StderrTail {
    async fn ready(&mut self) {}
}

impl AsyncWrite for StderrTail {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.keep(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl IsTerminal for StderrTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for StderrTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_bytes() {
        let tail = StderrTail::new(8);
        tail.keep(b"0123456789");
        assert_eq!(tail.contents(), b"23456789");
        tail.keep(b"ab");
        assert_eq!(tail.contents(), b"456789ab");
    }
}
