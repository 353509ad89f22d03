//! What tempkit adds to Python beyond CPython's `tempfile`, as the native half of the
//! `tempkit` package (its Python half is `tempkit/_extras.py`): durable atomic publishing
//! (`write_atomic`, `AtomicFile`), a `TemporaryDirectory` that can be kept when something
//! failed (and tagged for `reap`, or protected from age-based cleaners), `reap`, and the
//! cleanup-error hook routed to `sys.unraisablehook`.
//!
//! Paths cross as `bytes` (the Python half passes `os.fsencode(path)`, and decodes what comes
//! back as the caller's type), so that str, bytes and `os.PathLike` are all taken, and names
//! that are not valid in the file system encoding survive. Errors are `OSError` made with
//! `(errno, message, filename)`, so Python picks the subclass (`FileNotFoundError`, ...) and
//! sets `errno` and `filename`. The file system work runs without the GIL.

use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyTuple};

/// Adds the extras to the native module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(write_atomic, m)?)?;
    m.add_function(wrap_pyfunction!(reap, m)?)?;
    m.add_class::<AtomicFile>()?;
    m.add_class::<TemporaryDirectory>()?;
    route_cleanup_errors();
    Ok(())
}

/// A path handed over by the Python half (`os.fsencode`d).
fn path_of(bytes: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(bytes))
}

/// A path handed back, as `bytes` (the Python half decodes it to the caller's type).
fn bytes_of<'py>(py: Python<'py>, path: &Path) -> Bound<'py, PyBytes> {
    PyBytes::new(py, path.as_os_str().as_bytes())
}

/// `OSError(errno, strerror, filename)` (Python picks the subclass), as the drop-in's errors
/// are made ([`super::os_error`]); `filename` is the caller's path object.
fn os_error(error: io::Error, filename: Option<Py<PyAny>>) -> PyErr {
    Python::attach(|py| super::os_error(error, filename.as_ref().map(|f| f.bind(py))))
}

/// `write_atomic(path, data, durable, mode, follow_symlink, filename)`: `tempkit::write_atomic`
/// with options; `filename` is the caller's path object, for the error.
#[pyfunction]
#[pyo3(signature = (path, data, durable, mode, follow_symlink, filename))]
fn write_atomic(
    py: Python<'_>,
    path: &[u8],
    data: &[u8],
    durable: bool,
    mode: Option<u32>,
    follow_symlink: bool,
    filename: Py<PyAny>,
) -> PyResult<()> {
    let path = path_of(path);
    let mut options = tempkit::AtomicFile::options();
    options.durable(durable).follow_symlink(follow_symlink);
    if let Some(mode) = mode {
        options.mode(mode);
    }
    py.detach(|| options.write(&path, data))
        .map_err(|e| os_error(e, Some(filename)))
}

/// The native half of `tempkit.AtomicFile`: the temporary file beside the destination, which
/// the Python half wraps with `io.open(fileno(), closefd=False)`, then commits or discards.
#[pyclass(module = "tempkit._native")]
struct AtomicFile {
    inner: Option<tempkit::AtomicFile>,
    /// The caller's path object, for errors.
    filename: Py<PyAny>,
}

impl AtomicFile {
    fn take(&mut self) -> PyResult<tempkit::AtomicFile> {
        self.inner.take().ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err("AtomicFile: already committed or discarded")
        })
    }
}

#[pymethods]
impl AtomicFile {
    #[new]
    #[pyo3(signature = (path, durable, mode, follow_symlink, filename))]
    fn new(
        py: Python<'_>,
        path: &[u8],
        durable: bool,
        mode: Option<u32>,
        follow_symlink: bool,
        filename: Py<PyAny>,
    ) -> PyResult<AtomicFile> {
        let path = path_of(path);
        let mut options = tempkit::AtomicFile::options();
        options.durable(durable).follow_symlink(follow_symlink);
        if let Some(mode) = mode {
            options.mode(mode);
        }
        match py.detach(|| options.create(&path)) {
            Ok(file) => Ok(AtomicFile {
                inner: Some(file),
                filename,
            }),
            Err(e) => Err(os_error(e, Some(filename))),
        }
    }

    /// The temporary file's descriptor (owned here: the Python file object must not close it).
    fn fileno(&self) -> PyResult<i32> {
        use std::os::unix::io::AsRawFd;
        match &self.inner {
            Some(file) => Ok(file.as_file().as_raw_fd()),
            None => Err(pyo3::exceptions::PyValueError::new_err(
                "AtomicFile: already committed or discarded",
            )),
        }
    }

    /// Publishes the file (`noclobber`: only if nothing is at the destination). On an error
    /// before the rename nothing changed and the temporary file is gone.
    fn commit(&mut self, py: Python<'_>, noclobber: bool) -> PyResult<()> {
        let file = self.take()?;
        let result = py.detach(move || {
            let result = if noclobber {
                file.commit_noclobber()
            } else {
                file.commit()
            };
            // A file handed back for a retry is discarded here (dropping it removes it).
            result.map_err(|e| e.into_error())
        });
        result.map_err(|e| os_error(e, Some(self.filename.clone_ref(py))))
    }

    /// Removes the temporary file; the destination is untouched. Does nothing when done.
    fn discard(&mut self, py: Python<'_>) -> PyResult<()> {
        match self.inner.take() {
            Some(file) => py
                .detach(move || file.discard())
                .map_err(|e| os_error(e, Some(self.filename.clone_ref(py)))),
            None => Ok(()),
        }
    }
}

/// The native half of `tempkit.TemporaryDirectory`: a `tempkit::TemporaryDirectory`, whose
/// Python half decides, when its `with` block ends, whether to keep it.
#[pyclass(module = "tempkit._native")]
struct TemporaryDirectory {
    inner: Option<tempkit::TemporaryDirectory>,
    /// The path, kept after `cleanup`/`keep` for `name`.
    path: PathBuf,
}

#[pymethods]
impl TemporaryDirectory {
    #[new]
    #[pyo3(signature = (suffix, prefix, dir, ignore_cleanup_errors, delete, protect, reapable, filename))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        suffix: Option<&[u8]>,
        prefix: Option<&[u8]>,
        dir: Option<&[u8]>,
        ignore_cleanup_errors: bool,
        delete: bool,
        protect: bool,
        reapable: bool,
        filename: Option<Py<PyAny>>,
    ) -> PyResult<TemporaryDirectory> {
        let mut builder = tempkit::Builder::new();
        if let Some(suffix) = suffix {
            builder.suffix(OsStr::from_bytes(suffix));
        }
        if let Some(prefix) = prefix {
            builder.prefix(OsStr::from_bytes(prefix));
        }
        if let Some(dir) = dir {
            builder.dir(path_of(dir));
        }
        builder
            .ignore_cleanup_errors(ignore_cleanup_errors)
            .delete(delete)
            .protect(protect)
            .reapable(reapable);
        match py.detach(|| builder.temporary_directory()) {
            Ok(dir) => Ok(TemporaryDirectory {
                path: dir.path().to_owned(),
                inner: Some(dir),
            }),
            Err(e) => Err(os_error(e, filename)),
        }
    }

    /// The directory's path, as bytes.
    fn path<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        bytes_of(py, &self.path)
    }

    /// Removes the tree now (securely, repairing modes; never following a link); an error
    /// names the entry. Does nothing once removed or kept.
    fn cleanup(&mut self, py: Python<'_>) -> PyResult<()> {
        let path = &self.path;
        match self.inner.as_mut() {
            Some(dir) => py.detach(|| dir.cleanup()).map_err(|e| {
                // tempkit's whole account: it names the entry that could not be removed.
                PyOSError::new_err((
                    super::errno_of(&e),
                    e.to_string(),
                    bytes_of(py, path).unbind(),
                ))
            }),
            None => Ok(()),
        }
    }

    /// Disarms it: nothing removes the directory any more. Returns the path, as bytes.
    fn keep<'py>(&mut self, py: Python<'py>) -> Bound<'py, PyBytes> {
        if let Some(dir) = self.inner.take() {
            let _ = dir.keep();
        }
        bytes_of(py, &self.path)
    }

    /// Drops it now, as Rust's `Drop` does: removed unless `TEMPKIT_KEEP=always` or
    /// `delete=False`; what cannot be removed goes to the cleanup-error hook.
    fn close(&mut self, py: Python<'_>) {
        if let Some(dir) = self.inner.take() {
            py.detach(move || drop(dir));
        }
    }

    /// Whether it holds the lock that age-based cleaners honour (`protect=True`).
    fn is_protected(&self) -> bool {
        self.inner.as_ref().is_some_and(|d| d.is_protected())
    }

    /// Whether it carries the owner tag that `reap` reads (`reapable=True`).
    fn is_reapable(&self) -> bool {
        self.inner.as_ref().is_some_and(|d| d.is_reapable())
    }
}

/// Collected without `cleanup()` or `close()`: the directory is dropped here, inside CPython's
/// deallocation, which holds the GIL. The removal of a tree can take seconds, so the GIL is
/// released around it, as `close()` releases it (and as CPython's `FileIO` releases it around
/// the `close` its deallocation makes). Never panics: when the interpreter declines to attach
/// (shutting down), the directory is dropped as it is.
impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        let mut dir = self.inner.take();
        if dir.is_none() {
            return;
        }
        let _ = Python::try_attach(|py| {
            let dir = dir.take();
            py.detach(move || drop(dir));
        });
        drop(dir);
    }
}

/// `reap(dir, dry_run, all_users)`: `[(path, outcome, reason, error)]` for every top-level
/// entry looked at; outcome is "removed", "would-remove", "skipped" or "failed" (then `error`
/// is the `OSError`, else `None`).
#[pyfunction]
#[pyo3(signature = (dir, dry_run, all_users, filename))]
fn reap<'py>(
    py: Python<'py>,
    dir: Option<&[u8]>,
    dry_run: bool,
    all_users: bool,
    filename: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyList>> {
    let dir = match dir {
        Some(dir) => path_of(dir),
        None => py
            .detach(tempkit::gettempdir)
            .map_err(|e| os_error(e, None))?,
    };
    let mut options = tempkit::ReapOptions::new();
    options.dry_run(dry_run).all_users(all_users);
    let entries = py
        .detach(|| options.reap(&dir))
        .map_err(|e| os_error(e, filename))?;
    let list = PyList::empty(py);
    for entry in entries {
        let path = bytes_of(py, entry.path());
        let (outcome, error) = match entry.outcome() {
            tempkit::ReapOutcome::Removed => ("removed", None),
            tempkit::ReapOutcome::WouldRemove => ("would-remove", None),
            tempkit::ReapOutcome::Skipped => ("skipped", None),
            tempkit::ReapOutcome::Failed(e) => (
                "failed",
                Some(
                    PyOSError::new_err((super::errno_of(e), e.to_string(), path.clone().unbind()))
                        .into_value(py),
                ),
            ),
            _ => ("skipped", None),
        };
        let item = PyTuple::new(
            py,
            [
                path.into_any(),
                outcome.into_pyobject(py)?.into_any(),
                entry.reason().into_pyobject(py)?.into_any(),
                match error {
                    Some(e) => e.into_bound(py).into_any(),
                    None => py.None().into_bound(py),
                },
            ],
        )?;
        list.append(item)?;
    }
    Ok(list)
}

/// Routes what `Drop` cannot remove (and a directory that `protect=True` could not protect)
/// to `sys.unraisablehook`, as CPython reports the errors of `TemporaryDirectory`'s implicit
/// cleanup: the `OSError` (with errno and the path as filename), "Exception ignored in: PATH".
/// Set when the native module is loaded.
fn route_cleanup_errors() {
    tempkit::set_cleanup_error_hook(Box::new(unraisable));
}

/// The hook. Never panics, never deadlocks: during unwinding the library calls it on a thread
/// of its own and joins it, while the unwinding thread may hold the GIL; attaching then would
/// wait forever, so the line goes to stderr instead. It also does when the interpreter is
/// shutting down (`try_attach` declines) or routing fails.
fn unraisable(error: &tempkit::CleanupError) {
    // As the library's default hook: one write to descriptor 2, without std's lock on
    // `Stderr` (the unwinding thread that waits for this one may hold it).
    let line = || {
        use std::io::Write;
        use std::os::unix::io::FromRawFd;
        let text = format!("tempkit: {}\n", error);
        // SAFETY: descriptor 2 is borrowed for one write and never closed (ManuallyDrop).
        let mut stderr = std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(2) });
        let _ = stderr.write_all(text.as_bytes());
    };
    if error.while_panicking() {
        line();
        return;
    }
    let routed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Python::try_attach(|py| {
            let path = bytes_of(py, error.path());
            // The path as the user sees it (str), as CPython's filename would be.
            let shown = match py
                .import("os")
                .and_then(|os| os.call_method1("fsdecode", (path.clone(),)))
            {
                Ok(s) => s,
                Err(_) => path.into_any(),
            };
            // The whole account (it names the entry that could not be removed), the errno of
            // the system call behind it, the object's path as filename.
            let errno = super::errno_of(error.error());
            let err = PyOSError::new_err((errno, error.to_string(), shown.clone().unbind()));
            err.write_unraisable(py, Some(&shown));
        })
    }));
    if !matches!(routed, Ok(Some(()))) {
        line();
    }
}
