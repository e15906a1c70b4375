//! `wharf._native`: the host runtime and the transfer engine for the
//! `wharf` Python package. The package's Python code (`python/wharf`) is
//! the API users see; this module is the thin part that calls the library:
//! every call releases the GIL while it waits, on one Tokio runtime per
//! process.

mod errors;
mod file;
mod global;
mod lister;
mod meta;
mod remote;
mod transfer;
mod writer;

use pyo3::prelude::*;

/// The native half of the `wharf` package.
#[pymodule]
fn _native(module: &Bound<'_, PyModule>) -> PyResult<()> {
    module.add_class::<remote::Remote>()?;
    module.add_class::<file::File>()?;
    module.add_class::<writer::Writer>()?;
    module.add_class::<lister::Lister>()?;
    module.add_function(wrap_pyfunction!(transfer::transfer, module)?)?;
    module.add_function(wrap_pyfunction!(remote::plugins_accepting, module)?)?;
    module.add("CHUNK_SIZE", wharf::CHUNK_SIZE)?;
    module.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
