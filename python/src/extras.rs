//! The native side of the extras beyond CPython's `tempfile` (`tempkit.write_atomic`,
//! `AtomicFile`, `reap`, ...): registered into `tempkit._native` by [`register`].

use pyo3::prelude::*;

/// Adds the extras' functions and classes to the native module.
pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    Ok(())
}
