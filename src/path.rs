//! Making paths absolute the way Python's `os.path.abspath` does: lexically, without resolving
//! symlinks and without changing case.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error;

/// `path` made absolute against the current directory, with `.` and `..` components and
/// trailing separators folded away. Only a relative `path` costs a system call (`getcwd`).
#[inline]
pub(crate) fn absolute(path: &Path) -> io::Result<PathBuf> {
    if is_absolute(path) {
        return Ok(normalize(path));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| error::with_path(e, "make absolute (current directory unknown):", path))?;
    Ok(normalize(&cwd.join(path)))
}

/// `path` joined to the current directory if it is relative, without folding anything (the
/// `tempfile` crate's way, for [`Builder::dir_verbatim`](crate::Builder::dir_verbatim)).
/// Only a relative `path` costs a system call (`getcwd`).
pub(crate) fn absolute_verbatim(path: &Path) -> io::Result<PathBuf> {
    if is_absolute(path) {
        return Ok(path.to_owned());
    }
    let cwd = std::env::current_dir()
        .map_err(|e| error::with_path(e, "make absolute (current directory unknown):", path))?;
    Ok(cwd.join(path))
}

/// Whether `path` is absolute: on Unix a look at its first byte (std's `is_absolute` parses
/// components, in a call that is not inlined).
#[inline]
pub(crate) fn is_absolute(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().first() == Some(&b'/')
    }
    #[cfg(not(unix))]
    {
        path.is_absolute()
    }
}

/// `path` folded now if it is absolute (the result cannot change later), else as it is: a
/// relative path is made absolute only when used, against the current directory of then.
pub(crate) fn fold_if_absolute(path: &Path) -> PathBuf {
    if is_absolute(path) {
        normalize(path)
    } else {
        path.to_owned()
    }
}

/// Folds `.` and `..` lexically, as `os.path.normpath` does.
#[inline]
fn normalize(path: &Path) -> PathBuf {
    if is_normal(path) {
        return path.to_owned();
    }
    fold(path)
}

/// Whether [`fold`] would return `path` unchanged: on Unix a look at its bytes (no `.` or `..`
/// component, no doubled or trailing separator), so that the usual answer (`/tmp`) is neither
/// parsed nor rebuilt, and the first `gettempdir()` touches less code.
#[inline]
fn is_normal(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = path.as_os_str().as_bytes();
        let rest = bytes.strip_prefix(b"/").unwrap_or(bytes);
        // One pass: a component is folded away when empty, `.` or `..`.
        let folded = |len: usize, dots: bool| len == 0 || (dots && len <= 2);
        let (mut len, mut dots) = (0, true);
        for &b in rest {
            if b == b'/' {
                if folded(len, dots) {
                    return false;
                }
                (len, dots) = (0, true);
            } else {
                len += 1;
                dots &= b == b'.';
            }
        }
        rest.is_empty() || !folded(len, dots)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// The component by component fold of [`normalize`].
fn fold(path: &Path) -> PathBuf {
    let mut out = PathBuf::with_capacity(path.as_os_str().len());
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                // `..` at the root stays at the root.
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_dots_and_trailing_separators_without_resolving() {
        assert_eq!(normalize(Path::new("/var/tmp/")), Path::new("/var/tmp"));
        assert_eq!(normalize(Path::new("/a/./b/../c")), Path::new("/a/c"));
        assert_eq!(normalize(Path::new("/../x")), Path::new("/x"));
        assert_eq!(
            normalize(Path::new("/Mixed/Case")),
            Path::new("/Mixed/Case")
        );
    }

    #[test]
    fn paths_taken_as_normal_are_those_the_fold_keeps() {
        let kept = ["/", "/tmp", "/var/tmp", "/a/b.c/.d/..e/...", "a", "a/b", ""];
        let changed = [
            "/tmp/", "//tmp", "/a//b", "/a/.", "/a/./b", "/a/..", "/../x", "./a", "a/", "..",
        ];
        for p in kept {
            assert_eq!(fold(Path::new(p)), Path::new(p), "{p}");
            #[cfg(unix)]
            assert!(is_normal(Path::new(p)), "{p}");
        }
        for p in changed {
            assert_ne!(fold(Path::new(p)).as_os_str(), p, "{p}");
            assert!(!is_normal(Path::new(p)), "{p}");
            assert_eq!(normalize(Path::new(p)), fold(Path::new(p)), "{p}");
        }
    }

    #[test]
    fn absolute_paths_are_folded_at_once_and_relative_ones_kept() {
        assert_eq!(fold_if_absolute(Path::new("/a/./b/")), Path::new("/a/b"));
        assert_eq!(fold_if_absolute(Path::new("a/./b/")), Path::new("a/./b/"));
    }

    #[test]
    fn relative_paths_join_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(absolute(Path::new("sub/.")).unwrap(), cwd.join("sub"));
        assert!(absolute(Path::new(".")).unwrap().is_absolute());
    }
}
