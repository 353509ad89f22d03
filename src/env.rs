//! Where temporary objects go by default: `gettempdir`, its cache and override, the prefix.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::create::{self, Kind, Template};
use crate::{error, path, sys};

/// How many names one creation tries before giving up with `AlreadyExists`.
///
/// # Python equivalent
/// `tempfile.TMP_MAX`, which is 20 since CPython 3.14.4 (it used to be libc's 238328, which
/// made a hostile or broken directory hang creation for hours).
pub const TMP_MAX: u32 = 20;

/// The default prefix of temporary names: `"tmp"`.
///
/// # Python equivalent
/// `tempfile.gettempprefix()` (and `gettempprefixb()`: an `&str` serves both).
///
/// ```
/// assert_eq!(tempkit::gettempprefix(), "tmp");
/// ```
pub fn gettempprefix() -> &'static str {
    "tmp"
}

/// The cached answer of [`gettempdir`], or the override of [`set_tempdir`].
static TEMPDIR: Mutex<Option<PathBuf>> = Mutex::new(None);

fn cache() -> MutexGuard<'static, Option<PathBuf>> {
    // A panic while the lock was held cannot leave a half-written `Option`: use it as it is.
    TEMPDIR
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The directory temporary objects go in when no `dir` is given.
///
/// The first usable of: `$TMPDIR`, `$TEMP`, `$TMP` (each only when set and not empty), then
/// `/tmp`, `/var/tmp`, `/usr/tmp`, then the current directory. A candidate is made absolute
/// (without resolving symlinks or changing case) and counts as usable when a new file can be
/// created in it and written to. On Linux that probe file has no name (`O_TMPFILE`: three
/// system calls, nothing to remove); where the file system refuses that, a named probe file
/// is created, written and removed. Either way the probe leaves nothing behind, also when it
/// fails.
/// The answer is computed once per process and cached; [`set_tempdir`] replaces or clears it.
///
/// # Errors
/// `NotFound` when no candidate is usable, listing each candidate with the reason it failed.
///
/// # Platform notes
/// Windows: after the variables, CPython's Windows list: `%USERPROFILE%\AppData\Local\Temp`,
/// `%SYSTEMROOT%\Temp`, `c:\temp`, `c:\tmp`, `\temp`, `\tmp`, then the current directory.
/// `TMPDIR` still comes first, as in CPython (wine passes a Unix `TMPDIR` through unchanged).
///
/// # Python equivalent
/// `tempfile.gettempdir()`, except that the result is always absolute (Python returns `.`
/// when the current directory is the one that works).
///
/// ```
/// let dir = tempkit::gettempdir()?;
/// assert!(dir.is_absolute() && dir.is_dir());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn gettempdir() -> io::Result<PathBuf> {
    let mut cached = cache();
    match &*cached {
        Some(dir) if dir.is_absolute() => Ok(dir.clone()),
        Some(dir) => path::absolute(dir),
        None => {
            let dir = discover()?;
            *cached = Some(dir.clone());
            Ok(dir)
        }
    }
}

/// Overrides the default directory (`Some`), or clears the cache so that the next
/// [`gettempdir`] discovers it again (`None`).
///
/// The directory given is not probed. A relative path is made absolute against the current
/// directory now.
///
/// # Python equivalent
/// Assigning `tempfile.tempdir = ...`.
///
/// ```
/// let here = std::env::current_dir()?;
/// tempkit::set_tempdir(Some(here.clone()));
/// assert_eq!(tempkit::gettempdir()?, here);
/// tempkit::set_tempdir(None);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_tempdir(dir: Option<PathBuf>) {
    let dir = dir.map(|d| path::absolute(&d).unwrap_or(d));
    *cache() = dir;
}

/// The candidates, in order, before making them absolute: the environment variables, the
/// platform's fixed directories, then the current directory. Lazy, so that the usual first
/// answer (`$TMPDIR`) builds no list and costs no `getcwd`.
pub(crate) fn candidate_dirs() -> impl Iterator<Item = PathBuf> {
    ["TMPDIR", "TEMP", "TMP"]
        .iter()
        .filter_map(std::env::var_os)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .chain(std::iter::once(()).flat_map(|()| sys::platform_temp_dirs()))
        .chain(std::iter::once(()).filter_map(|()| std::env::current_dir().ok()))
}

fn discover() -> io::Result<PathBuf> {
    let mut tried = Vec::new();
    for candidate in candidate_dirs() {
        let result = path::absolute(&candidate).and_then(|dir| probe(&dir).map(|()| dir));
        match result {
            Ok(dir) => return Ok(dir),
            Err(e) => tried.push(format!("`{}` ({})", candidate.display(), e)),
        }
    }
    Err(error::new(
        io::ErrorKind::NotFound,
        format!(
            "no usable temporary directory found; tried {}",
            tried.join(", ")
        ),
    ))
}

/// Proves `dir` usable as a temporary directory, as Python does: a new file can be created
/// in it and written to. The check [`gettempdir`] makes of each candidate.
///
/// Where the platform and file system can (Linux, `O_TMPFILE`), the file has no name: one
/// `openat`, one `write`, one `close`, and nothing to remove, not even after a `SIGKILL`.
/// Elsewhere, or where that open is refused, a named file is created, written and removed;
/// it is removed whatever the write did.
///
/// # Errors
/// What the creation or the write failed with (`NotFound`, `PermissionDenied`, no space,
/// ...), naming `dir`.
///
/// # Python equivalent
/// One candidate's turn in `tempfile._get_default_tempdir()`.
///
/// ```
/// tempkit::probe_tempdir(&tempkit::gettempdir()?)?;
/// assert!(tempkit::probe_tempdir(std::path::Path::new("/nonexistent/dir")).is_err());
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn probe_tempdir(dir: &Path) -> io::Result<()> {
    probe(dir)
}

/// The directories [`gettempdir`] tries, in order, as given (not yet made absolute): `$TMPDIR`,
/// `$TEMP`, `$TMP` (each when set and not empty), the platform's fixed directories, then the
/// current directory (when it can be had).
///
/// # Python equivalent
/// `tempfile._candidate_tempdir_list()`.
///
/// ```
/// let all = tempkit::tempdir_candidates();
/// assert!(!all.is_empty());
/// ```
#[must_use]
pub fn tempdir_candidates() -> Vec<PathBuf> {
    candidate_dirs().collect()
}

pub(crate) fn probe(dir: &Path) -> io::Result<()> {
    const PROBE: &[u8] = b"blat";
    let unnamed =
        sys::create_unnamed_file(dir).map_err(|e| error::with_path(e, "create a file in", dir))?;
    if let Some(file) = unnamed {
        return sys::write_all(&file, PROBE)
            .map_err(|e| error::with_path(e, "write a new file in", dir));
    }
    let template = Template {
        dir,
        prefix: OsStr::new(""),
        suffix: OsStr::new(""),
        random_len: 8,
    };
    create::create(template, Kind::File, |candidate| {
        let file = sys::create_file(candidate)?;
        let written = sys::write_all(&file, PROBE);
        drop(file);
        let removed = std::fs::remove_file(candidate);
        written.and(removed)
    })
    .map(|_| ())
}
