//! Making paths absolute the way Python's `os.path.abspath` does: lexically, without resolving
//! symlinks and without changing case.

use std::io;
use std::path::{Component, Path, PathBuf};

use crate::error;

/// `path` made absolute against the current directory, with `.` and `..` components and
/// trailing separators folded away. Only a relative `path` costs a system call (`getcwd`).
pub(crate) fn absolute(path: &Path) -> io::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(normalize(path));
    }
    let cwd = std::env::current_dir()
        .map_err(|e| error::with_path(e, "make absolute (current directory unknown):", path))?;
    Ok(normalize(&cwd.join(path)))
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
    if path.is_absolute() {
        normalize(path)
    } else {
        path.to_owned()
    }
}

/// Folds `.` and `..` lexically, as `os.path.normpath` does.
fn normalize(path: &Path) -> PathBuf {
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
