//! An object open for reading: streamed a chunk at a time, seekable. A seek
//! within what is already here moves in it; any other seek starts a ranged
//! read at the new place (or, on a backend without ranged reads, a read
//! from the start that skips to it). Nothing holds more than one chunk.

use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wharf::{ByteRange, ObjectReader, Remote};

use crate::global::run;
use crate::meta::{meta, MetaTuple};

#[pyclass(module = "wharf._native")]
pub struct File {
    remote: Arc<Remote>,
    key: String,
    size: u64,
    info: MetaTuple,
    ranged: bool,
    state: Mutex<ReadState>,
}

#[derive(Default)]
struct ReadState {
    /// Where the next read starts.
    position: u64,
    /// The bytes from `position` on, as far as they have come; the reader
    /// goes on from their end.
    buffer: Vec<u8>,
    start: usize,
    reader: Option<ObjectReader<'static>>,
    closed: bool,
}

impl ReadState {
    fn buffered(&self) -> &[u8] {
        &self.buffer[self.start..]
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.position += n as u64;
    }

    fn forget(&mut self) {
        self.buffer = Vec::new();
        self.start = 0;
        self.reader = None;
    }
}

impl File {
    pub(crate) fn open(py: Python<'_>, remote: Arc<Remote>, key: String) -> PyResult<File> {
        let stat = run(py, remote.stat(&key))?;
        Ok(File {
            ranged: remote.capabilities().ranged_read,
            size: stat.size,
            info: meta(stat),
            remote,
            key,
            state: Mutex::new(ReadState::default()),
        })
    }

    /// Reads more into the buffer; false at the end of the object.
    async fn fill(&self, state: &mut ReadState) -> wharf::Result<bool> {
        if state.reader.is_none() {
            let at = state.position + state.buffered().len() as u64;
            if at >= self.size {
                return Ok(false);
            }
            let (range, skip) = match (at, self.ranged) {
                (0, _) => (None, 0),
                (at, true) => (Some(ByteRange::From(at)), 0),
                (at, false) => (None, at),
            };
            let mut reader = self.remote.open_read_shared(&self.key, range).await?;
            let mut skip = skip;
            while skip > 0 {
                let chunk = reader.read().await?;
                if chunk.is_empty() {
                    return Ok(false);
                }
                let n = (chunk.len() as u64).min(skip) as usize;
                skip -= n as u64;
                if skip == 0 {
                    state.buffer.extend_from_slice(&chunk[n..]);
                }
            }
            state.reader = Some(reader);
            if !state.buffered().is_empty() {
                return Ok(true);
            }
        }
        let reader = state.reader.as_mut().expect("opened above");
        let chunk = reader.read().await?;
        if chunk.is_empty() {
            if let Some(reader) = state.reader.take() {
                reader.close().await;
            }
            return Ok(false);
        }
        if state.start == state.buffer.len() {
            // The common case: the last chunk was read to its end.
            state.buffer = chunk;
            state.start = 0;
        } else {
            state.buffer.drain(..state.start);
            state.start = 0;
            state.buffer.extend_from_slice(&chunk);
        }
        Ok(true)
    }

    fn check_open(&self, state: &ReadState) -> PyResult<()> {
        if state.closed {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "I/O operation on closed file {:?}",
                self.key
            )));
        }
        Ok(())
    }
}

#[pymethods]
impl File {
    /// The object's key.
    #[getter]
    fn key(&self) -> &str {
        &self.key
    }

    /// The object's size when it was opened.
    #[getter]
    fn size(&self) -> u64 {
        self.size
    }

    /// What `stat` said of the object when it was opened.
    #[getter]
    fn info(&self) -> MetaTuple {
        self.info.clone()
    }

    /// Up to `n` bytes from the current position (all the rest if `n` is
    /// negative or None); empty at the end.
    #[pyo3(signature = (n = -1))]
    fn read<'py>(&self, py: Python<'py>, n: Option<i64>) -> PyResult<Bound<'py, PyBytes>> {
        let mut guard = self.state.lock().unwrap();
        self.check_open(&guard)?;
        let left = self.size.saturating_sub(guard.position);
        let want = match n {
            Some(n) if n >= 0 => (n as u64).min(left) as usize,
            _ => left as usize,
        };
        if want == 0 {
            return Ok(PyBytes::new(py, b""));
        }
        // Served from the buffer when it holds enough: no GIL release.
        if guard.buffered().len() >= want {
            let out = PyBytes::new(py, &guard.buffered()[..want]);
            guard.consume(want);
            return Ok(out);
        }
        let state: &mut ReadState = &mut guard;
        let out = run(py, async {
            let mut out = Vec::with_capacity(want);
            while out.len() < want {
                if state.buffered().is_empty() && !self.fill(state).await? {
                    break;
                }
                let take = (want - out.len()).min(state.buffered().len());
                out.extend_from_slice(&state.buffered()[..take]);
                state.consume(take);
            }
            Ok(out)
        })?;
        Ok(PyBytes::new(py, &out))
    }

    /// The bytes here without moving (at least one unless at the end).
    #[pyo3(signature = (_n = 1))]
    fn peek<'py>(&self, py: Python<'py>, _n: i64) -> PyResult<Bound<'py, PyBytes>> {
        let mut guard = self.state.lock().unwrap();
        self.check_open(&guard)?;
        if guard.buffered().is_empty() && guard.position < self.size {
            let state: &mut ReadState = &mut guard;
            run(py, self.fill(state))?;
        }
        Ok(PyBytes::new(py, guard.buffered()))
    }

    /// Moves to `offset` from the start (`whence` 0), the current position
    /// (1) or the end (2); returns the new position.
    #[pyo3(signature = (offset, whence = 0))]
    fn seek(&self, offset: i64, whence: i32) -> PyResult<u64> {
        let mut state = self.state.lock().unwrap();
        self.check_open(&state)?;
        let base = match whence {
            0 => 0,
            1 => state.position as i64,
            2 => self.size as i64,
            _ => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "invalid whence ({whence}, should be 0, 1 or 2)"
                )))
            }
        };
        let target = base
            .checked_add(offset)
            .filter(|t| *t >= 0)
            .ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "negative seek position {}",
                    base.saturating_add(offset)
                ))
            })? as u64;
        let ahead = target.wrapping_sub(state.position);
        if target >= state.position && ahead <= state.buffered().len() as u64 {
            state.consume(ahead as usize);
        } else if target != state.position {
            state.forget();
            state.position = target;
        }
        Ok(target)
    }

    /// The current position.
    fn tell(&self) -> PyResult<u64> {
        let state = self.state.lock().unwrap();
        self.check_open(&state)?;
        Ok(state.position)
    }

    /// Ends the read; reading after it is an error. Closing twice does
    /// nothing.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let mut state = self.state.lock().unwrap();
        state.closed = true;
        state.buffer = Vec::new();
        if let Some(reader) = state.reader.take() {
            crate::global::wait(py, reader.close())?;
        }
        Ok(())
    }

    /// Whether `close` was called.
    #[getter]
    fn closed(&self) -> bool {
        self.state.lock().unwrap().closed
    }
}
