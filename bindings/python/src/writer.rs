//! A write in progress: chunks gathered up to the library's chunk size
//! (a Django upload comes 64 KiB at a time) and handed to a task on the
//! I/O threads that writes them in order. Python reads the next chunks
//! of its source while the plugin sends the last ones: one after the
//! other, the upload would wait for the source and the source for the
//! upload. At most two whole chunks wait for the task. Nothing is visible
//! until `finish`.

use std::sync::Mutex;

use pyo3::prelude::*;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use wharf::{ObjectWriter, CHUNK_SIZE};

use crate::errors::to_py;
use crate::global::{run, spawn, wait};
use crate::meta::{meta, MetaTuple};

/// Chunks waiting for the task, besides the one it is writing.
const QUEUED: usize = 1;

/// The task that writes the chunks: it gives the writer back, with the
/// first error (after which it takes no more chunks).
type Sending = JoinHandle<(ObjectWriter<'static>, wharf::Result<()>)>;

#[pyclass(module = "wharf._native")]
pub struct Writer {
    pub(crate) state: Mutex<State>,
}

pub(crate) struct State {
    /// To the task; `None` once the write is finished or aborted.
    chunks: Option<mpsc::Sender<Vec<u8>>>,
    sending: Option<Sending>,
    /// Bytes not yet a whole chunk.
    pending: Vec<u8>,
    key: String,
}

impl State {
    /// Starts the task that writes `writer`'s chunks.
    pub(crate) fn new(writer: ObjectWriter<'static>, key: String) -> PyResult<State> {
        let (chunks, mut received) = mpsc::channel::<Vec<u8>>(QUEUED);
        let sending = spawn(async move {
            let mut writer = writer;
            while let Some(chunk) = received.recv().await {
                if let Err(error) = writer.write(&chunk).await {
                    return (writer, Err(error));
                }
            }
            (writer, Ok(()))
        })?;
        Ok(State {
            chunks: Some(chunks),
            sending: Some(sending),
            pending: Vec::with_capacity(CHUNK_SIZE),
            key,
        })
    }

    /// Ends the task (no more chunks): the writer, and whether every
    /// chunk was written.
    fn stop(
        &mut self,
        py: Python<'_>,
    ) -> PyResult<Option<(ObjectWriter<'static>, wharf::Result<()>)>> {
        self.chunks = None;
        self.pending = Vec::new();
        let Some(sending) = self.sending.take() else {
            return Ok(None);
        };
        match wait(py, sending)? {
            Ok(ended) => Ok(Some(ended)),
            Err(panicked) => Err(pyo3::exceptions::PyRuntimeError::new_err(format!(
                "the write of {:?} stopped: {panicked}",
                self.key
            ))),
        }
    }

    /// Hands a whole chunk to the task; if the task stopped at an error,
    /// aborts the write and raises that error.
    fn send(&mut self, py: Python<'_>, chunk: Vec<u8>) -> PyResult<()> {
        let Some(chunks) = self.chunks.as_ref() else {
            return Err(closed(&self.key));
        };
        if wait(py, chunks.send(chunk))?.is_ok() {
            return Ok(());
        }
        self.fail(py)
    }

    /// The task stopped at an error: the write is aborted and the error
    /// raised.
    fn fail<T>(&mut self, py: Python<'_>) -> PyResult<T> {
        let (writer, result) = self.stop(py)?.expect("the task was running");
        run(py, writer.abort())?;
        Err(match result {
            Err(error) => to_py(error),
            Ok(()) => pyo3::exceptions::PyRuntimeError::new_err(format!(
                "the write of {:?} stopped taking chunks",
                self.key
            )),
        })
    }
}

fn closed(key: &str) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!(
        "the write of {key:?} was already finished or aborted; start another with put()"
    ))
}

#[pymethods]
impl Writer {
    /// Appends `data` to the object. An error writing an earlier chunk is
    /// raised here (or by `finish`), the write then aborted.
    fn write(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let mut state = self.state.lock().unwrap();
        if state.chunks.is_none() {
            return Err(closed(&state.key));
        }
        let mut rest = data;
        while state.pending.len() + rest.len() >= CHUNK_SIZE {
            let take = CHUNK_SIZE - state.pending.len();
            state.pending.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            let chunk = std::mem::replace(&mut state.pending, Vec::with_capacity(CHUNK_SIZE));
            state.send(py, chunk)?;
        }
        state.pending.extend_from_slice(rest);
        Ok(())
    }

    /// Stores the object; returns what the store says of it.
    fn finish(&self, py: Python<'_>) -> PyResult<MetaTuple> {
        let mut state = self.state.lock().unwrap();
        if state.chunks.is_none() {
            return Err(closed(&state.key));
        }
        let rest = std::mem::take(&mut state.pending);
        if !rest.is_empty() {
            state.send(py, rest)?;
        }
        let (writer, written) = state.stop(py)?.expect("the task was running");
        let finished = run(py, async move {
            if let Err(error) = written {
                let _ = writer.abort().await;
                return Err(error);
            }
            writer.finish().await
        })?;
        Ok(meta(finished))
    }

    /// Throws the write away: nothing is stored. Aborting twice, or after
    /// `finish`, does nothing.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        let mut state = self.state.lock().unwrap();
        match state.stop(py)? {
            Some((writer, _)) => run(py, writer.abort()),
            None => Ok(()),
        }
    }
}
