//! Wharf's errors as the Python exceptions of `wharf.errors`: each kind
//! its own class, also the built-in exception Python code expects
//! (`FileNotFoundError` for not-found…), carrying the kind, remote,
//! operation and key. This is the one place kinds are mapped.

use pyo3::prelude::*;
use wharf::ErrorKind;

/// The class in `wharf.errors` for `kind`.
fn class_name(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "NotFound",
        ErrorKind::AlreadyExists => "AlreadyExists",
        ErrorKind::InvalidKey => "InvalidKey",
        ErrorKind::InvalidConfig => "InvalidConfig",
        ErrorKind::PermissionDenied => "PermissionDenied",
        ErrorKind::Unsupported => "Unsupported",
        ErrorKind::RateLimited { .. } => "RateLimited",
        ErrorKind::Unavailable => "Unavailable",
        ErrorKind::LimitExceeded => "LimitExceeded",
        ErrorKind::PluginFailed => "PluginFailed",
        ErrorKind::InvalidPlugin => "InvalidPlugin",
        ErrorKind::Io => "IoFailed",
        ErrorKind::Corrupted => "Corrupted",
        ErrorKind::InvalidRequest => "InvalidRequest",
        _ => "Error",
    }
}

/// The kind's name as `Error.kind` gives it: `not-found`, as in the WIT.
fn kind_name(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::NotFound => "not-found",
        ErrorKind::AlreadyExists => "already-exists",
        ErrorKind::InvalidKey => "invalid-key",
        ErrorKind::InvalidConfig => "invalid-config",
        ErrorKind::PermissionDenied => "permission-denied",
        ErrorKind::Unsupported => "unsupported",
        ErrorKind::RateLimited { .. } => "rate-limited",
        ErrorKind::Unavailable => "unavailable",
        ErrorKind::LimitExceeded => "limit-exceeded",
        ErrorKind::PluginFailed => "plugin-failed",
        ErrorKind::InvalidPlugin => "invalid-plugin",
        ErrorKind::Io => "io",
        ErrorKind::Corrupted => "corrupted",
        ErrorKind::InvalidRequest => "invalid-request",
        _ => "other",
    }
}

/// `error` as an exception of `wharf.errors`.
pub fn to_py(error: wharf::Error) -> PyErr {
    Python::attach(|py| match build(py, &error) {
        Ok(exception) => exception,
        // Only if the package itself is broken.
        Err(broken) => broken,
    })
}

fn build(py: Python<'_>, error: &wharf::Error) -> PyResult<PyErr> {
    let errors = py.import("wharf.errors")?;
    let class = errors.getattr(class_name(error.kind()))?;
    // One argument only: OSError's subclasses read more as errno, strerror.
    let exception = class.call1((error.to_string(),))?;
    let context = error.context();
    exception.setattr("kind", kind_name(error.kind()))?;
    exception.setattr("remote", context.remote.clone())?;
    exception.setattr("operation", context.operation)?;
    exception.setattr("key", context.key.clone())?;
    exception.setattr("detail", error.message())?;
    if let Some(after) = error.retry_after() {
        exception.setattr("retry_after", after.as_secs_f64())?;
    }
    Ok(PyErr::from_value(exception))
}
