//! `tempkit._native`: the Rust core behind `tempkit.tempfile`.
//!
//! Every system call that matters happens here, in tempkit: the probe of a candidate
//! directory, the names, the `O_EXCL` / `O_TMPFILE` creation with its flags and modes, the
//! removal of a tree. The Python side only wraps the descriptors returned here into file
//! objects, as CPython's own module does. Errors are Python's `OSError` subclasses with
//! `errno` and `filename` set. The GIL is released around every system call made here, as
//! CPython's `os` functions release it.

use std::ffi::{OsStr, OsString};
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::io::IntoRawFd;
use std::path::{Path, PathBuf};

use pyo3::exceptions::{PyFileExistsError, PyOSError, PyStopIteration, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyIterator, PyString};

mod extras;

/// A path or name component from Python: `bytes` as they are, `str` encoded with the file
/// system encoding (as `os.fsencode`), an `os.PathLike` through `os.fspath`.
fn os_string(obj: &Bound<'_, PyAny>) -> PyResult<OsString> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(OsString::from_vec(b.as_bytes().to_vec()));
    }
    if obj.is_instance_of::<PyString>() {
        return obj.extract::<OsString>();
    }
    // os.PathLike (and anything else, which fspath refuses with CPython's TypeError).
    let path = obj.py().import("os")?.call_method1("fspath", (obj,))?;
    os_string(&path)
}

fn bytes<'py>(py: Python<'py>, s: &OsStr) -> Bound<'py, PyBytes> {
    PyBytes::new(py, s.as_bytes())
}

/// The OS error code of `e`: its own, the one tempkit kept behind its context, or the code
/// its kind stands for.
fn errno_of(e: &io::Error) -> i32 {
    if let Some(code) = tempkit::raw_os_error(e) {
        return code;
    }
    match e.kind() {
        io::ErrorKind::NotFound => libc_errno::ENOENT,
        io::ErrorKind::PermissionDenied => libc_errno::EACCES,
        io::ErrorKind::AlreadyExists => libc_errno::EEXIST,
        io::ErrorKind::InvalidInput => libc_errno::EINVAL,
        _ => libc_errno::EIO,
    }
}

/// The errno values used when an error carries no OS code (Linux's numbers, which every
/// Unix tempkit builds on shares for these).
mod libc_errno {
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const EACCES: i32 = 13;
    pub const EEXIST: i32 = 17;
    pub const EINVAL: i32 = 22;
}

/// `OSError(errno, strerror, filename)`: Python picks the subclass (`FileNotFoundError`,
/// `PermissionError`, `FileExistsError`, ...) from the errno.
///
/// tempkit's own refusal of an argument (a prefix or suffix with a path separator or NUL:
/// `InvalidInput` without an OS code) is a `ValueError`, as Python's for a NUL in a path.
fn os_error(e: io::Error, filename: Option<&Bound<'_, PyAny>>) -> PyErr {
    if e.kind() == io::ErrorKind::InvalidInput && tempkit::raw_os_error(&e).is_none() {
        return PyValueError::new_err(e.to_string());
    }
    let code = errno_of(&e);
    let system = io::Error::from_raw_os_error(code).to_string();
    let system = match system.find(" (os error") {
        Some(at) => system[..at].to_string(),
        None => system,
    };
    // With an OS code, Python's own form: the system's text, the path in `filename`. Without
    // one (tempkit's own refusals), tempkit's account follows.
    let text = if tempkit::raw_os_error(&e).is_some() {
        system
    } else {
        format!("{} ({})", system, e)
    };
    match filename {
        Some(f) => PyOSError::new_err((code, text, f.clone().unbind())),
        None => PyOSError::new_err((code, text)),
    }
}

/// Runs `make` on the name `prefix + name + suffix` in `dir` for each name drawn from
/// `names`, or from tempkit's own random names when `names` is `None`, at most `TMP_MAX`
/// names. A taken name is retried, anything else fails at once: tempkit's creation rules.
///
/// Errors are CPython's: a failed attempt's `filename` is the candidate path it tried
/// (`dir` joined with the name, bytes when `dir` is bytes); when every name is taken, a
/// `FileExistsError` saying "No usable temporary `noun` found", with no filename; a
/// replaced `_get_candidate_names` iterator that runs dry lets its `StopIteration` out (as
/// CPython's `next(names)`).
fn create<T>(
    dir: &Bound<'_, PyAny>,
    prefix: &Bound<'_, PyAny>,
    suffix: &Bound<'_, PyAny>,
    names: Option<&Bound<'_, PyAny>>,
    noun: &str,
    make: impl Fn(&tempkit::Builder) -> io::Result<T> + Sync,
) -> PyResult<T>
where
    T: Send,
{
    let py = dir.py();
    let dir_os = os_string(dir)?;
    let prefix = os_string(prefix)?;
    let suffix = os_string(suffix)?;
    let mut builder = tempkit::Builder::new();
    // One name per call (the loop is here), so that a failure can name the path it tried.
    builder
        .dir(PathBuf::from(&dir_os))
        .suffix(&suffix)
        .random_len(0);
    let mut names: Option<Bound<'_, PyIterator>> = match names {
        None => None,
        Some(names) => Some(names.try_iter()?),
    };
    for _ in 0..tempkit::TMP_MAX {
        let name = match names.as_mut() {
            None => OsString::from(tempkit::random_name(8)),
            Some(names) => match names.next() {
                Some(name) => os_string(&name?)?,
                None => return Err(PyStopIteration::new_err(())),
            },
        };
        let mut full = prefix.clone();
        full.push(&name);
        builder.prefix(&full);
        match py.detach(|| make(&builder)) {
            Ok(value) => return Ok(value),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                full.push(&suffix);
                let candidate = Path::new(&dir_os).join(&full);
                let filename = if dir.is_instance_of::<PyBytes>() {
                    bytes(py, candidate.as_os_str()).into_any()
                } else {
                    candidate.as_os_str().into_pyobject(py)?.into_any()
                };
                return Err(os_error(e, Some(&filename)));
            }
        }
    }
    Err(PyFileExistsError::new_err((
        libc_errno::EEXIST,
        format!("No usable temporary {} found", noun),
    )))
}

/// `mkstemp(dir, prefix, suffix, names=None) -> (fd, path)`: a new file, mode 0600,
/// `O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC`; `path` is bytes.
#[pyfunction]
#[pyo3(signature = (dir, prefix, suffix, names=None))]
fn mkstemp<'py>(
    py: Python<'py>,
    dir: &Bound<'py, PyAny>,
    prefix: &Bound<'py, PyAny>,
    suffix: &Bound<'py, PyAny>,
    names: Option<&Bound<'py, PyAny>>,
) -> PyResult<(i32, Bound<'py, PyBytes>)> {
    let (file, path) = create(dir, prefix, suffix, names, "file name", |b| b.mkstemp())?;
    Ok((file.into_raw_fd(), bytes(py, path.as_os_str())))
}

/// `mkdtemp(dir, prefix, suffix, names=None) -> path`: a new directory, mode 0700.
#[pyfunction]
#[pyo3(signature = (dir, prefix, suffix, names=None))]
fn mkdtemp<'py>(
    py: Python<'py>,
    dir: &Bound<'py, PyAny>,
    prefix: &Bound<'py, PyAny>,
    suffix: &Bound<'py, PyAny>,
    names: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let path = create(dir, prefix, suffix, names, "directory name", |b| {
        b.mkdtemp()
    })?;
    Ok(bytes(py, path.as_os_str()))
}

/// `mktemp(dir, prefix, suffix, names=None) -> name`: the file name (no directory) of a path
/// in `dir` that did not exist (by `lstat`) when checked. Creates nothing.
#[pyfunction]
#[pyo3(signature = (dir, prefix, suffix, names=None))]
fn mktemp<'py>(
    py: Python<'py>,
    dir: &Bound<'py, PyAny>,
    prefix: &Bound<'py, PyAny>,
    suffix: &Bound<'py, PyAny>,
    names: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    #[allow(deprecated)]
    let path = create(dir, prefix, suffix, names, "filename", |b| b.mktemp())?;
    let name = path.file_name().unwrap_or_else(|| path.as_os_str());
    Ok(bytes(py, name))
}

/// `temporary_file(dir, prefix, suffix) -> fd`: a file with no name (`O_TMPFILE`), or one
/// named `prefix + random + suffix` and unlinked at once where that is refused.
#[pyfunction]
fn temporary_file(
    dir: &Bound<'_, PyAny>,
    prefix: &Bound<'_, PyAny>,
    suffix: &Bound<'_, PyAny>,
) -> PyResult<i32> {
    let mut builder = tempkit::Builder::new();
    builder
        .dir(PathBuf::from(os_string(dir)?))
        .prefix(os_string(prefix)?)
        .suffix(os_string(suffix)?);
    let file = dir
        .py()
        .detach(|| builder.temporary_file())
        .map_err(|e| os_error(e, Some(dir)))?;
    Ok(file.into_file().into_raw_fd())
}

/// `random_name() -> str`: 8 characters of `[a-z0-9_]` from tempkit's name generator.
#[pyfunction]
fn random_name() -> String {
    tempkit::random_name(8)
}

/// `probe(dir)`: whether a file can be created in `dir` and written to (nothing is left).
#[pyfunction]
fn probe(dir: &Bound<'_, PyAny>) -> PyResult<()> {
    let path = PathBuf::from(os_string(dir)?);
    dir.py()
        .detach(|| tempkit::probe_tempdir(&path))
        .map_err(|e| os_error(e, Some(dir)))
}

/// `candidate_dirs() -> list[bytes]`: where the default temporary directory is looked for,
/// in order, before making them absolute.
#[pyfunction]
fn candidate_dirs(py: Python<'_>) -> Vec<Bound<'_, PyBytes>> {
    tempkit::tempdir_candidates()
        .iter()
        .map(|p| bytes(py, p.as_os_str()))
        .collect()
}

/// `rmtree(path)`: removes the directory `path` and everything in it with tempkit's removal
/// engine (never following a symlink, repairing modes inside the tree). A missing `path` is
/// success.
#[pyfunction]
fn rmtree(path: &Bound<'_, PyAny>) -> PyResult<()> {
    let p = PathBuf::from(os_string(path)?);
    path.py()
        .detach(|| tempkit::remove_tree(Path::new(&p)))
        .map_err(|e| os_error(e, Some(path)))
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("TMP_MAX", tempkit::TMP_MAX)?;
    m.add_function(wrap_pyfunction!(mkstemp, m)?)?;
    m.add_function(wrap_pyfunction!(mkdtemp, m)?)?;
    m.add_function(wrap_pyfunction!(mktemp, m)?)?;
    m.add_function(wrap_pyfunction!(temporary_file, m)?)?;
    m.add_function(wrap_pyfunction!(random_name, m)?)?;
    m.add_function(wrap_pyfunction!(probe, m)?)?;
    m.add_function(wrap_pyfunction!(candidate_dirs, m)?)?;
    m.add_function(wrap_pyfunction!(rmtree, m)?)?;
    extras::register(m)?;
    Ok(())
}
