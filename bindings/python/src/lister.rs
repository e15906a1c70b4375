//! A listing in progress, a page at a time.

use std::sync::Mutex;

use pyo3::prelude::*;
use wharf::ObjectLister;

use crate::global::run;
use crate::meta::{entry, EntryOut};

/// `Remote.lister(prefix, delimiter)`: pages of entries until an empty one.
#[pyclass(module = "wharf._native")]
pub struct Lister {
    pub(crate) lister: Mutex<Option<ObjectLister<'static>>>,
}

#[pymethods]
impl Lister {
    /// The next page (objects as tuples, common prefixes as text); empty at
    /// the end.
    fn next_page(&self, py: Python<'_>) -> PyResult<Vec<EntryOut>> {
        let mut slot = self.lister.lock().unwrap();
        let Some(lister) = slot.as_mut() else {
            return Ok(Vec::new());
        };
        let page = run(py, lister.next_page())?;
        if page.is_empty() {
            *slot = None;
        }
        Ok(page.into_iter().map(entry).collect())
    }
}
