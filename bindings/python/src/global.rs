//! What the process shares: one Tokio runtime, and the remotes of each
//! configuration file, opened once (their plugins loaded once, their
//! instances shared by every thread).
//!
//! A process that forks (a pre-forking web server) gets fresh ones in the
//! child: the parent's runtime threads do not exist there.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use wharf::Remotes;

use crate::errors::to_py;

struct Global {
    pid: u32,
    tokio: tokio::runtime::Runtime,
    /// By config file (`None`: the user's default).
    remotes: Mutex<HashMap<Option<PathBuf>, Arc<Remotes>>>,
}

static GLOBAL: Mutex<Option<Arc<Global>>> = Mutex::new(None);

fn global() -> PyResult<Arc<Global>> {
    let mut slot = GLOBAL.lock().unwrap();
    let pid = std::process::id();
    if let Some(global) = slot.as_ref() {
        if global.pid == pid {
            return Ok(global.clone());
        }
        // A forked child: the runtime's threads stayed in the parent, so
        // it cannot even be dropped here.
        std::mem::forget(slot.take());
    }
    let tokio = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("wharf")
        .build()
        .map_err(|e| {
            pyo3::exceptions::PyRuntimeError::new_err(format!(
                "wharf could not start its I/O threads: {e}"
            ))
        })?;
    let global = Arc::new(Global {
        pid,
        tokio,
        remotes: Mutex::new(HashMap::new()),
    });
    *slot = Some(global.clone());
    Ok(global)
}

/// Runs `future` to its end with the GIL released.
pub fn wait<F>(py: Python<'_>, future: F) -> PyResult<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    let global = global()?;
    Ok(py.detach(|| global.tokio.block_on(future)))
}

/// Starts `future` on the I/O threads; it runs while Python goes on.
pub fn spawn<F>(future: F) -> PyResult<tokio::task::JoinHandle<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Ok(global()?.tokio.spawn(future))
}

/// [`wait`] for a future that ends in a Wharf result.
pub fn run<T: Send>(
    py: Python<'_>,
    future: impl Future<Output = wharf::Result<T>> + Send,
) -> PyResult<T> {
    wait(py, future)?.map_err(to_py)
}

/// The remotes of config file `config` (`None`: `$WHARF_CONFIG`, else the
/// user's default), loaded on first use.
pub fn remotes(config: Option<PathBuf>) -> PyResult<Arc<Remotes>> {
    let global = global()?;
    let mut all = global.remotes.lock().unwrap();
    if let Some(remotes) = all.get(&config) {
        return Ok(remotes.clone());
    }
    let loaded = Arc::new(Remotes::load(config.as_deref(), Arc::new(warn)).map_err(to_py)?);
    all.insert(config, loaded.clone());
    Ok(loaded)
}

/// A note on a remote, as a Python warning (`wharf.WharfWarning`).
fn warn(remote: &str, note: &str) {
    Python::attach(|py| {
        let text = format!("remote '{remote}': {}", wharf::printable(note));
        let warned = py.import("wharf.errors").and_then(|errors| {
            let category = errors.getattr("WharfWarning")?;
            py.import("warnings")?
                .call_method1("warn", (text, category, 2))
                .map(|_| ())
        });
        // A filter that turns warnings into errors has nowhere to raise
        // to here (the note comes while a remote opens); say it instead.
        if let Err(error) = warned {
            error.print(py);
        }
    })
}
