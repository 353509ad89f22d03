//! Errors that say what failed and on which path, keeping the original [`io::ErrorKind`].

use std::error::Error;
use std::fmt;
use std::io;
use std::path::Path;

/// The payload of every error tempkit makes from an OS error: a sentence saying what was being
/// done and where, then the cause. The cause is printed here, once, so `source()` is `None`.
#[derive(Debug)]
struct Context {
    what: String,
    cause: io::Error,
}

impl fmt::Display for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.cause)
    }
}

impl Error for Context {}

/// The operating system's error code behind `e`: its own, or that of the system call whose
/// error tempkit wrapped with an account of what failed and where (the wrapping keeps the
/// [`io::ErrorKind`] but hides the code from [`io::Error::raw_os_error`]).
///
/// For bindings that must report `errno` (the Python package raises `OSError(errno, ...)`).
///
/// # Python equivalent
/// `OSError.errno`.
///
/// ```
/// let e = tempkit::Builder::new().dir("/nonexistent/dir").mkstemp().unwrap_err();
/// # #[cfg(unix)]
/// assert_eq!(tempkit::raw_os_error(&e), Some(2)); // ENOENT
/// ```
pub fn raw_os_error(e: &io::Error) -> Option<i32> {
    let mut e = e;
    loop {
        if let Some(code) = e.raw_os_error() {
            return Some(code);
        }
        e = &e.get_ref()?.downcast_ref::<Context>()?.cause;
    }
}

/// Wraps `cause` with a description, keeping `cause.kind()`.
pub(crate) fn context(cause: io::Error, what: String) -> io::Error {
    io::Error::new(cause.kind(), Context { what, cause })
}

/// Wraps `cause` with a description, under another kind (the cause keeps its own).
pub(crate) fn context_as(kind: io::ErrorKind, cause: io::Error, what: String) -> io::Error {
    io::Error::new(kind, Context { what, cause })
}

/// Wraps `cause` as "failed to `op` `path`: cause".
pub(crate) fn with_path(cause: io::Error, op: &str, path: &Path) -> io::Error {
    context(cause, format!("failed to {} `{}`", op, path.display()))
}

/// An error of tempkit's own (no OS error behind it).
pub(crate) fn new(kind: io::ErrorKind, message: String) -> io::Error {
    io::Error::new(kind, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_the_kind_and_prints_the_cause_once() {
        let cause = io::Error::from(io::ErrorKind::PermissionDenied);
        let cause_text = cause.to_string();
        let err = with_path(cause, "create temporary file in", Path::new("/srv/x"));
        assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
        let text = err.to_string();
        assert_eq!(
            text,
            format!(
                "failed to create temporary file in `/srv/x`: {}",
                cause_text
            )
        );
        assert!(err.get_ref().and_then(|e| e.source()).is_none());
    }
}
