//! A write in progress: chunks gathered up to the library's chunk size
//! (a Django upload comes 64 KiB at a time), each full chunk sent on with
//! the GIL released. Nothing is visible until `finish`.

use std::sync::Mutex;

use pyo3::prelude::*;
use wharf::{ObjectWriter, CHUNK_SIZE};

use crate::global::run;
use crate::meta::{meta, MetaTuple};

#[pyclass(module = "wharf._native")]
pub struct Writer {
    pub(crate) state: Mutex<State>,
}

pub(crate) struct State {
    pub writer: Option<ObjectWriter<'static>>,
    pub pending: Vec<u8>,
    pub key: String,
}

fn closed(key: &str) -> PyErr {
    pyo3::exceptions::PyValueError::new_err(format!(
        "the write of {key:?} was already finished or aborted; start another with put()"
    ))
}

#[pymethods]
impl Writer {
    /// Appends `data` to the object.
    fn write(&self, py: Python<'_>, data: &[u8]) -> PyResult<()> {
        let mut state = self.state.lock().unwrap();
        let State {
            writer,
            pending,
            key,
        } = &mut *state;
        let Some(writer) = writer.as_mut() else {
            return Err(closed(key));
        };
        if pending.len() + data.len() < CHUNK_SIZE {
            pending.extend_from_slice(data);
            return Ok(());
        }
        // Whole chunks go on now (from `data` itself once `pending` is
        // topped up, without a copy); the rest waits for more.
        let top_up = CHUNK_SIZE - pending.len();
        pending.extend_from_slice(&data[..top_up.min(data.len())]);
        let rest = &data[top_up.min(data.len())..];
        let whole = rest.len() / CHUNK_SIZE * CHUNK_SIZE;
        let first = std::mem::take(pending);
        run(py, async {
            writer.write(&first).await?;
            for chunk in rest[..whole].chunks(CHUNK_SIZE) {
                writer.write(chunk).await?;
            }
            Ok(())
        })?;
        *pending = first;
        pending.clear();
        pending.extend_from_slice(&rest[whole..]);
        Ok(())
    }

    /// Stores the object; returns what the store says of it.
    fn finish(&self, py: Python<'_>) -> PyResult<MetaTuple> {
        let mut state = self.state.lock().unwrap();
        let Some(mut writer) = state.writer.take() else {
            return Err(closed(&state.key));
        };
        let rest = std::mem::take(&mut state.pending);
        let finished = run(py, async move {
            if !rest.is_empty() {
                if let Err(error) = writer.write(&rest).await {
                    let _ = writer.abort().await;
                    return Err(error);
                }
            }
            writer.finish().await
        })?;
        Ok(meta(finished))
    }

    /// Throws the write away: nothing is stored. Aborting twice, or after
    /// `finish`, does nothing.
    fn abort(&self, py: Python<'_>) -> PyResult<()> {
        let mut state = self.state.lock().unwrap();
        state.pending = Vec::new();
        match state.writer.take() {
            Some(writer) => run(py, writer.abort()),
            None => Ok(()),
        }
    }
}
