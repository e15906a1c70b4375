//! How objects are shown: for people, and as JSON.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use serde_json::{json, Value};
use tokio::io::AsyncWrite;
use wharf::{ObjectMeta, Timestamp};

pub fn time_text(time: &Option<Timestamp>) -> String {
    match time {
        Some(t) if t.seconds >= 0 => {
            let system =
                std::time::UNIX_EPOCH + std::time::Duration::new(t.seconds as u64, t.nanoseconds);
            humantime::format_rfc3339_seconds(system).to_string()
        }
        _ => "-".to_owned(),
    }
}

pub fn meta_json(meta: &ObjectMeta) -> Value {
    json!({
        "key": meta.key,
        "size": meta.size,
        "last_modified": meta.last_modified.as_ref().map(|_| time_text(&meta.last_modified)),
        "etag": meta.etag,
        "content_type": meta.content_type,
        "metadata": meta.metadata.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(),
    })
}

/// Standard output for `cat`, which tells a reader that closed the pipe
/// early (`wharf cat … | head -3`) apart from a write that failed: the
/// first is a normal end, as for `cat`, the second an error.
pub struct StdoutSink {
    stdout: tokio::io::Stdout,
    reader_left: bool,
}

impl StdoutSink {
    pub fn new() -> Self {
        StdoutSink {
            stdout: tokio::io::stdout(),
            reader_left: false,
        }
    }

    /// Whether a write failed because the reader closed the pipe.
    pub fn reader_left(&self) -> bool {
        self.reader_left
    }

    fn note<T>(&mut self, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if let Poll::Ready(Err(e)) = &polled {
            self.reader_left |= e.kind() == io::ErrorKind::BrokenPipe;
        }
        polled
    }
}

impl AsyncWrite for StdoutSink {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.stdout).poll_write(cx, buf);
        self.note(polled)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stdout).poll_flush(cx);
        self.note(polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.stdout).poll_shutdown(cx);
        self.note(polled)
    }
}

/// `result`, except that a reader closing standard output early (`wharf ls
/// -R … | head`) is a normal end, as for `ls`. Only a write to standard
/// output fails with a bare `io::Error`: remote failures are `wharf::Error`s.
pub fn end_where_the_reader_left(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e)
            if e.downcast_ref::<io::Error>()
                .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe) =>
        {
            Ok(())
        }
        other => other,
    }
}
