//! The one name-and-retry loop that every temporary object is created through.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};

use crate::{error, name, sys, TMP_MAX};

/// What is being created, for error messages.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    File,
    Dir,
    Name,
}

impl Kind {
    fn noun(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Name => "name",
        }
    }
}

/// The parts of a temporary name: `dir/prefix + random + suffix`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Template<'a> {
    /// An absolute directory.
    pub(crate) dir: &'a Path,
    pub(crate) prefix: &'a OsStr,
    pub(crate) suffix: &'a OsStr,
    pub(crate) random_len: usize,
}

/// The longest random part accepted: no file system takes a name component this long, so a
/// larger `random_len` is a mistake to report, not an allocation to attempt.
pub(crate) const MAX_RANDOM_LEN: usize = 4096;

/// Checks that the template can make names: `InvalidInput` for a prefix or suffix holding a
/// separator or NUL, or for a name that would be empty. Objects without a name (an unnamed
/// `TemporaryFile`) check this too, so that the options behave alike on every file system.
#[inline]
pub(crate) fn validate(t: Template<'_>) -> io::Result<()> {
    // The usual template passes with a scan of the affixes; the rest is off the hot path.
    if t.random_len == 0
        || t.random_len > MAX_RANDOM_LEN
        || name::has_separator_or_nul(t.prefix)
        || name::has_separator_or_nul(t.suffix)
    {
        return validate_fully(t);
    }
    Ok(())
}

/// Every check of [`validate`], each with its message.
#[cold]
fn validate_fully(t: Template<'_>) -> io::Result<()> {
    if t.random_len > MAX_RANDOM_LEN {
        return Err(error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "random_len {} is longer than any file name can be (at most {})",
                t.random_len, MAX_RANDOM_LEN
            ),
        ));
    }
    name::check_affix(t.prefix, "prefix")?;
    name::check_affix(t.suffix, "suffix")?;
    if t.prefix.is_empty() && t.suffix.is_empty() && t.random_len == 0 {
        return Err(error::new(
            io::ErrorKind::InvalidInput,
            "temporary name would be empty (no prefix, suffix or random part)".to_string(),
        ));
    }
    // Only a name without a random part can be "." or "..". Checked here, not per candidate,
    // so that every kind refuses it, also those (unnamed files) that may never use the name.
    if t.random_len == 0 {
        let mut fixed = t.prefix.to_owned();
        fixed.push(t.suffix);
        if fixed == "." || fixed == ".." {
            return Err(error::new(
                io::ErrorKind::InvalidInput,
                format!("temporary name {:?} is not a usable file name", fixed),
            ));
        }
    }
    Ok(())
}

/// Calls `make` on fresh candidate paths until it succeeds, returning its value and the path.
///
/// Only a taken name is retried (`AlreadyExists`; on Windows also access denied while `dir` is
/// a directory and attempts remain, as CPython 3.14.4: see `sys::is_name_taken`), at most
/// [`TMP_MAX`] times (once when `random_len` is 0, since there is only one name); any other
/// error is returned at once, naming the directory.
/// Nothing is created for a prefix or suffix holding a separator or NUL (`InvalidInput`).
pub(crate) fn create<T>(
    t: Template<'_>,
    kind: Kind,
    make: impl FnMut(&Path) -> io::Result<T>,
) -> io::Result<(T, PathBuf)> {
    retry(t, kind, true, make)
}

/// As [`create`], but `make` gets the bare name (a single component), for creation relative
/// to a descriptor of `t.dir` that the caller holds; the name is what is returned.
pub(crate) fn create_in_dir<T>(
    t: Template<'_>,
    kind: Kind,
    make: impl FnMut(&Path) -> io::Result<T>,
) -> io::Result<(T, PathBuf)> {
    retry(t, kind, false, make)
}

/// The loop itself: candidates are prefix + random + suffix, after `dir` and a separator
/// when `in_dir_path`.
fn retry<T>(
    t: Template<'_>,
    kind: Kind,
    in_dir_path: bool,
    mut make: impl FnMut(&Path) -> io::Result<T>,
) -> io::Result<(T, PathBuf)> {
    validate(t)?;
    let name_len = t.prefix.len() + t.random_len + t.suffix.len();
    let attempts = if t.random_len == 0 { 1 } else { TMP_MAX };
    for attempt in 1..=attempts {
        // One allocation per attempt, of the final size: it becomes the path returned.
        let mut candidate = if in_dir_path {
            let mut path = PathBuf::with_capacity(t.dir.as_os_str().len() + 1 + name_len);
            path.push(t.dir);
            path.push("");
            path.into_os_string()
        } else {
            OsString::with_capacity(name_len)
        };
        candidate.push(t.prefix);
        name::push_random(&mut candidate, t.random_len);
        candidate.push(t.suffix);
        let path = PathBuf::from(candidate);
        match make(&path) {
            Ok(value) => return Ok((value, path)),
            Err(e) if sys::is_name_taken(&e, t.dir, attempt == attempts) => continue,
            Err(e) => {
                let what = format!("create temporary {} in", kind.noun());
                return Err(error::with_path(e, &what, t.dir));
            }
        }
    }
    Err(error::new(
        io::ErrorKind::AlreadyExists,
        format!(
            "no usable temporary {} name found in `{}` after {} attempts",
            kind.noun(),
            t.dir.display(),
            attempts
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the loop in `dir` with `make` always failing with `err`; returns how many names
    /// were tried and the error.
    fn attempts_with(dir: &Path, err: impl Fn() -> io::Error) -> (u32, io::Error) {
        let template = Template {
            dir,
            prefix: OsStr::new("retry-"),
            suffix: OsStr::new(""),
            random_len: 8,
        };
        let mut tried = 0;
        let result = create(template, Kind::File, |_| -> io::Result<()> {
            tried += 1;
            Err(err())
        });
        (tried, result.unwrap_err())
    }

    #[test]
    fn a_taken_name_is_retried_tmp_max_times_and_other_errors_are_not() {
        let dir = std::env::temp_dir();
        let (tried, e) = attempts_with(&dir, || io::ErrorKind::AlreadyExists.into());
        assert_eq!((tried, e.kind()), (TMP_MAX, io::ErrorKind::AlreadyExists));
        let (tried, e) = attempts_with(&dir, || io::ErrorKind::NotFound.into());
        assert_eq!((tried, e.kind()), (1, io::ErrorKind::NotFound));
    }

    /// CPython 3.14.4 (gh-66305): access denied means "try the next name" only while `dir` is a
    /// directory and attempts remain; the last attempt's error is returned as it is.
    #[cfg(windows)]
    #[test]
    fn access_denied_is_retried_only_in_a_directory_and_not_on_the_last_attempt() {
        let denied = || io::Error::from_raw_os_error(5);
        let dir = std::env::temp_dir();
        let (tried, e) = attempts_with(&dir, denied);
        assert_eq!(tried, TMP_MAX);
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{}", e);
        let missing = dir.join("tempkit-no-such-directory");
        let (tried, e) = attempts_with(&missing, denied);
        assert_eq!((tried, e.kind()), (1, io::ErrorKind::PermissionDenied));
        // ERROR_FILE_EXISTS and ERROR_ALREADY_EXISTS are both "taken".
        for code in [80, 183] {
            let (tried, _) = attempts_with(&dir, || io::Error::from_raw_os_error(code));
            assert_eq!(tried, TMP_MAX, "error {}", code);
        }
    }

    /// Elsewhere access denied is never retried.
    #[cfg(unix)]
    #[test]
    fn access_denied_is_not_retried() {
        let dir = std::env::temp_dir();
        let (tried, e) = attempts_with(&dir, || io::ErrorKind::PermissionDenied.into());
        assert_eq!((tried, e.kind()), (1, io::ErrorKind::PermissionDenied));
    }
}
