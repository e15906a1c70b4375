//! A remote: opened by name from the user's configuration, or given whole
//! (a plugin and its options), and the calls on it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use wharf::config::RemoteSpec;
use wharf::WriteOptions;

use crate::errors::to_py;
use crate::file::File;
use crate::global::{remotes, run};
use crate::lister::Lister;
use crate::meta::{meta, MetaTuple};
use crate::writer::{State, Writer};

#[pyclass(module = "wharf._native", frozen)]
pub struct Remote {
    remote: Arc<wharf::Remote>,
}

#[pymethods]
impl Remote {
    /// Remote `name` of the config file `config` (None: `$WHARF_CONFIG`,
    /// else the user's default; `media` needs none), shared with every
    /// other open of it in this process.
    #[staticmethod]
    #[pyo3(signature = (name, config = None))]
    fn named(py: Python<'_>, name: &str, config: Option<PathBuf>) -> PyResult<Remote> {
        let remotes = remotes(config)?;
        let remote = run(py, remotes.get(name))?;
        check_config(py, &remote)?;
        Ok(Remote { remote })
    }

    /// A remote of plugin `plugin` with `options` (the plugin's names or
    /// the aliases it declares, such as django-storages' `bucket_name`;
    /// host keys such as `memory_limit_mib`; for an overlay, `remote` naming
    /// a remote of the config file `config`).
    #[staticmethod]
    #[pyo3(signature = (name, plugin, options, config = None))]
    fn inline(
        py: Python<'_>,
        name: &str,
        plugin: &str,
        options: BTreeMap<String, String>,
        config: Option<PathBuf>,
    ) -> PyResult<Remote> {
        let remotes = remotes(config)?;
        let spec = RemoteSpec::inline(name, plugin, options).map_err(to_py)?;
        let remote = Arc::new(run(py, remotes.open_spec(spec))?);
        check_config(py, &remote)?;
        Ok(Remote { remote })
    }

    /// The remote's name.
    #[getter]
    fn name(&self) -> &str {
        self.remote.name()
    }

    /// The name its plugin gives itself.
    #[getter]
    fn plugin(&self) -> String {
        self.remote.plugin().info().name.clone()
    }

    /// What the backend can do, by the contract's names (`ranged_read`…).
    fn capabilities<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.remote.capabilities();
        let dict = PyDict::new(py);
        for (name, value) in [
            ("ranged_read", c.ranged_read),
            ("list_delimiter", c.list_delimiter),
            ("copy", c.copy),
            ("content_type", c.content_type),
            ("user_metadata", c.user_metadata),
            ("last_modified", c.last_modified),
            ("etag", c.etag),
            ("case_insensitive", c.case_insensitive),
            ("key_and_prefix", c.key_and_prefix),
        ] {
            dict.set_item(name, value)?;
        }
        Ok(dict)
    }

    /// What the remote's plugins told the user since last asked (names an
    /// overlay skipped).
    fn take_notices(&self) -> Vec<String> {
        self.remote.take_notices()
    }

    fn stat(&self, py: Python<'_>, key: &str) -> PyResult<MetaTuple> {
        Ok(meta(run(py, self.remote.stat(key))?))
    }

    fn hash(&self, py: Python<'_>, key: &str, kind: &str) -> PyResult<String> {
        run(py, self.remote.hash(key, kind))
    }

    fn delete(&self, py: Python<'_>, key: &str) -> PyResult<()> {
        run(py, self.remote.delete(key))
    }

    /// One entry per key: None where it was deleted, else the exception.
    fn delete_many(&self, py: Python<'_>, keys: Vec<String>) -> PyResult<Vec<Option<PyErr>>> {
        let results = crate::global::wait(py, self.remote.delete_many(&keys))?;
        Ok(results.into_iter().map(|r| r.err().map(to_py)).collect())
    }

    fn copy(&self, py: Python<'_>, source: &str, destination: &str) -> PyResult<MetaTuple> {
        Ok(meta(run(py, self.remote.copy(source, destination))?))
    }

    /// The object at `key`, open for reading.
    fn open(&self, py: Python<'_>, key: String) -> PyResult<File> {
        File::open(py, self.remote.clone(), key)
    }

    /// A write of `key`, visible once finished; with `only_new`, `finish`
    /// fails with AlreadyExists if an object is there by then.
    #[pyo3(signature = (key, content_type = None, metadata = Vec::new(), size_hint = None, only_new = false))]
    fn writer(
        &self,
        py: Python<'_>,
        key: String,
        content_type: Option<String>,
        metadata: Vec<(String, String)>,
        size_hint: Option<u64>,
        only_new: bool,
    ) -> PyResult<Writer> {
        let options = WriteOptions {
            content_type,
            metadata,
            size_hint,
        };
        let writer = if only_new {
            run(py, self.remote.open_write_new_shared(&key, options))?
        } else {
            run(py, self.remote.open_write_shared(&key, options))?
        };
        Ok(Writer {
            state: Mutex::new(State::new(writer, key)?),
        })
    }

    /// A URL for `method` (get, head, put) on `key`, good for `expires`
    /// seconds: `(url, expires_in or None, the expiry asked for if it was
    /// shortened)`.
    fn presign(
        &self,
        py: Python<'_>,
        key: &str,
        method: &str,
        expires: u64,
    ) -> PyResult<(String, Option<u64>, Option<u64>)> {
        let method = match method.to_ascii_lowercase().as_str() {
            "get" => wharf::HttpMethod::Get,
            "head" => wharf::HttpMethod::Head,
            "put" => wharf::HttpMethod::Put,
            other => {
                return Err(pyo3::exceptions::PyValueError::new_err(format!(
                    "method {other:?}: URLs are made for GET, HEAD or PUT"
                )))
            }
        };
        let url = run(py, self.remote.presign(key, method, expires))?;
        Ok((url.url, url.expires_in, url.shortened_from))
    }

    /// A listing of `prefix`, one level if `delimiter` is given.
    #[pyo3(signature = (prefix = "", delimiter = None))]
    fn lister(&self, py: Python<'_>, prefix: &str, delimiter: Option<&str>) -> PyResult<Lister> {
        let lister = run(py, self.remote.list_shared(prefix, delimiter))?;
        Ok(Lister {
            lister: Mutex::new(Some(lister)),
        })
    }
}

/// Starts the remote's plugin, so a wrong option is an error where the
/// remote is made, not at its first use. Only the configuration is judged
/// here: a server that cannot be reached yet is the first call's business.
fn check_config(py: Python<'_>, remote: &wharf::Remote) -> PyResult<()> {
    match crate::global::wait(py, remote.describe())? {
        Err(error) if *error.kind() == wharf::ErrorKind::InvalidConfig => Err(to_py(error)),
        _ => Ok(()),
    }
}

impl Remote {
    pub(crate) fn shared(&self) -> Arc<wharf::Remote> {
        self.remote.clone()
    }
}

/// The plugins that take every one of `names` as an option or an alias
/// (built-in ones first): which backend a django-storages `OPTIONS` dict
/// is for.
#[pyfunction]
#[pyo3(signature = (names, config = None))]
pub fn plugins_accepting(
    py: Python<'_>,
    names: Vec<String>,
    config: Option<PathBuf>,
) -> PyResult<Vec<String>> {
    let remotes = remotes(config)?;
    crate::global::wait(py, remotes.catalog().plugins_accepting(&names))
}
