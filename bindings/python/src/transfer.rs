//! The library's copy, move, sync and check between remotes and local
//! paths, with the events reported to a Python callback.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use wharf_transfer::{
    Bandwidth, BandwidthLimit, Cancel, Endpoint, Event, Location, Mode, Options, Transfer, Verified,
};

use crate::errors::to_py;
use crate::global::{remotes, run};
use crate::remote::Remote;

/// One side as the package passes it: `"remote:key"` or a local path as
/// the CLI reads it, `(Remote, key)`, or `(None, path)` for a local path
/// taken as it is.
enum Side {
    Location(String),
    Remote(Arc<wharf::Remote>, String),
    Local(PathBuf),
}

fn side(value: &Bound<'_, PyAny>) -> PyResult<Side> {
    if let Ok(text) = value.extract::<String>() {
        return Ok(Side::Location(text));
    }
    if let Ok((remote, key)) = value.extract::<(PyRef<'_, Remote>, String)>() {
        return Ok(Side::Remote(remote.shared(), key));
    }
    if let Ok((none, path)) = value.extract::<(Bound<'_, PyAny>, PathBuf)>() {
        if none.is_none() {
            return Ok(Side::Local(path));
        }
    }
    Err(pyo3::exceptions::PyTypeError::new_err(
        "a side of a transfer is \"remote:key\", a local path, or (Remote, key)",
    ))
}

fn mode(name: &str) -> PyResult<Mode> {
    Ok(match name {
        "copy" => Mode::Copy,
        "move" => Mode::Move,
        "sync" => Mode::Sync,
        "check" => Mode::Check,
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "unknown transfer mode {name:?}: copy, move, sync or check"
            )))
        }
    })
}

/// An event as a dict: `{"event": "copied", "rel": …, "bytes": …}`.
fn event_dict<'py>(py: Python<'py>, event: &Event) -> PyResult<Option<Bound<'py, PyDict>>> {
    let dict = PyDict::new(py);
    let (name, rel): (&str, Option<&str>) = match event {
        Event::Planned { rel, bytes } => {
            dict.set_item("bytes", *bytes)?;
            ("planned", Some(rel))
        }
        Event::Started { rel } => ("started", Some(rel)),
        Event::Progress { rel, bytes } => {
            dict.set_item("bytes", *bytes)?;
            ("progress", Some(rel))
        }
        Event::Copied {
            rel,
            bytes,
            verified,
        } => {
            dict.set_item("bytes", *bytes)?;
            let verified = match verified {
                Verified::ServerSide => "server-side".to_owned(),
                Verified::Hash(kind) => kind.clone(),
                Verified::Backend => "backend".to_owned(),
                Verified::Size => "size".to_owned(),
            };
            dict.set_item("verified", verified)?;
            ("copied", Some(rel))
        }
        Event::Skipped { rel } => ("skipped", Some(rel)),
        Event::Deleted { rel } => ("deleted", Some(rel)),
        Event::Retrying {
            rel,
            attempt,
            error,
        } => {
            dict.set_item("attempt", *attempt)?;
            dict.set_item("error", error.to_string())?;
            ("retrying", Some(rel))
        }
        Event::Failed { rel, error } => {
            dict.set_item("error", to_py(error.clone()).into_value(py))?;
            ("failed", Some(rel))
        }
        Event::WouldCopy { rel, bytes } => {
            dict.set_item("bytes", *bytes)?;
            ("would-copy", Some(rel))
        }
        Event::WouldDelete { rel } => ("would-delete", Some(rel)),
        Event::Missing { rel } => ("missing", Some(rel)),
        Event::Extra { rel } => ("extra", Some(rel)),
        Event::Same { rel, by } => {
            dict.set_item("by", by)?;
            ("same", Some(rel))
        }
        Event::Differs { rel, why } => {
            dict.set_item("why", why)?;
            ("differs", Some(rel))
        }
        Event::SizeOnly { rel } => ("size-only", Some(rel)),
        Event::Note(text) => {
            dict.set_item("text", text)?;
            ("note", None)
        }
        _ => return Ok(None),
    };
    dict.set_item("event", name)?;
    if let Some(rel) = rel {
        dict.set_item("rel", rel)?;
    }
    Ok(Some(dict))
}

/// Runs a transfer; returns its counts. `progress(event)` hears every
/// event; if it raises, the transfer is cancelled (writes in flight
/// aborted) and the exception raised here.
#[pyfunction]
#[pyo3(signature = (
    mode_name, source, destination, *, recursive = true, config = None, progress = None,
    transfers = None, retries = None, dry_run = false, delete = false, checksum = false,
    download = false, follow_links = false, multi_thread_streams = None, bwlimit = None,
))]
#[allow(clippy::too_many_arguments)]
pub fn transfer<'py>(
    py: Python<'py>,
    mode_name: &str,
    source: &Bound<'py, PyAny>,
    destination: &Bound<'py, PyAny>,
    recursive: bool,
    config: Option<PathBuf>,
    progress: Option<Py<PyAny>>,
    transfers: Option<usize>,
    retries: Option<u32>,
    dry_run: bool,
    delete: bool,
    checksum: bool,
    download: bool,
    follow_links: bool,
    multi_thread_streams: Option<usize>,
    bwlimit: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let mode = mode(mode_name)?;
    let (source, destination) = (side(source)?, side(destination)?);
    let mut options = Options::default();
    if let Some(n) = transfers {
        options.transfers = n.max(1);
    }
    if let Some(n) = retries {
        options.retries = n;
    }
    if let Some(n) = multi_thread_streams {
        options.multi_thread_streams = n.max(1);
    }
    if let Some(text) = bwlimit {
        let table = Bandwidth::parse(text).map_err(to_py)?;
        options.bandwidth = (!table.is_off()).then(|| Arc::new(BandwidthLimit::new(table)));
    }
    options.dry_run = dry_run;
    options.delete = delete;
    options.checksum = checksum;
    options.download = download;
    options.follow_links = follow_links;
    let needs_config = [&source, &destination]
        .iter()
        .any(|s| matches!(s, Side::Location(_)));
    let remotes = if needs_config {
        Some(remotes(config)?)
    } else {
        None
    };
    let cancel = Cancel::new();
    let raised: Arc<Mutex<Option<PyErr>>> = Arc::default();
    let observer = {
        let (cancel, raised) = (cancel.clone(), raised.clone());
        move |event: &Event| {
            let Some(callback) = &progress else { return };
            if raised.lock().unwrap().is_some() {
                return;
            }
            Python::attach(|py| {
                let called = event_dict(py, event).and_then(|dict| match dict {
                    Some(dict) => callback.call1(py, (dict,)).map(|_| ()),
                    None => Ok(()),
                });
                if let Err(error) = called {
                    *raised.lock().unwrap() = Some(error);
                    cancel.cancel();
                }
            });
        }
    };
    let summary = run(py, async move {
        let endpoint = async |side: Side| -> wharf::Result<Endpoint> {
            Ok(match side {
                Side::Location(text) => {
                    let remotes = remotes.as_ref().expect("loaded for a location");
                    Location::parse(&text).endpoint(remotes).await?
                }
                Side::Remote(remote, key) => Endpoint::remote(remote, key),
                Side::Local(path) => Endpoint::local(path),
            })
        };
        let source = endpoint(source).await?;
        let destination = endpoint(destination).await?;
        Transfer::new(mode, source, destination)
            .recursive(recursive)
            .options(options)
            .observe(observer)
            .cancel_on(cancel)
            .run()
            .await
    });
    if let Some(error) = raised.lock().unwrap().take() {
        return Err(error);
    }
    let summary = summary?;
    let dict = PyDict::new(py);
    for (name, value) in [
        ("copied", summary.copied),
        ("skipped", summary.skipped),
        ("deleted", summary.deleted),
        ("failed", summary.failed),
        ("bytes", summary.bytes),
        ("same", summary.same),
        ("differ", summary.differ),
        ("missing", summary.missing),
        ("extra", summary.extra),
        ("size_only", summary.size_only),
        ("planned", summary.planned),
        ("planned_bytes", summary.planned_bytes),
    ] {
        dict.set_item(name, value)?;
    }
    dict.set_item("ok", summary.ok())?;
    Ok(dict)
}
