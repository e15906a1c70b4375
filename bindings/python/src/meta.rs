//! What the library says of objects, as plain tuples that the package's
//! Python code turns into its typed classes (`wharf.ObjectInfo`).

use wharf::{Entry, ObjectMeta};

/// `(key, size, (seconds, nanoseconds) or None, etag, content_type,
/// [(name, value)…])`.
pub type MetaTuple = (
    String,
    u64,
    Option<(i64, u32)>,
    Option<String>,
    Option<String>,
    Vec<(String, String)>,
);

pub fn meta(meta: ObjectMeta) -> MetaTuple {
    (
        meta.key,
        meta.size,
        meta.last_modified.map(|t| (t.seconds, t.nanoseconds)),
        meta.etag,
        meta.content_type,
        meta.metadata,
    )
}

/// An entry of a listing: an object's tuple, or a common prefix's text.
pub enum EntryOut {
    Object(MetaTuple),
    Prefix(String),
}

impl<'py> pyo3::IntoPyObject<'py> for EntryOut {
    type Target = pyo3::PyAny;
    type Output = pyo3::Bound<'py, pyo3::PyAny>;
    type Error = pyo3::PyErr;

    fn into_pyobject(self, py: pyo3::Python<'py>) -> Result<Self::Output, Self::Error> {
        use pyo3::IntoPyObjectExt;
        match self {
            EntryOut::Object(meta) => meta.into_bound_py_any(py),
            EntryOut::Prefix(prefix) => prefix.into_bound_py_any(py),
        }
    }
}

pub fn entry(entry: Entry) -> EntryOut {
    match entry {
        Entry::Object(m) => EntryOut::Object(meta(m)),
        Entry::CommonPrefix(prefix) => EntryOut::Prefix(prefix),
    }
}
