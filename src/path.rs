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

/// Folds `.` and `..` lexically, as `os.path.normpath` does.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
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
    fn relative_paths_join_the_current_directory() {
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(absolute(Path::new("sub/.")).unwrap(), cwd.join("sub"));
        assert!(absolute(Path::new(".")).unwrap().is_absolute());
    }
}
