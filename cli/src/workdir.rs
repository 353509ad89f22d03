//! The directory `tempkit run` works in.
//!
//! TO BE REPLACED by the library's `TemporaryDirectory` (`Builder::temporary_directory`) once
//! it is merged: it removes trees descriptor-relatively and never follows a symlink swapped in
//! while it runs. Until then this stand-in creates with `Builder::mkdtemp` and removes with a
//! path-based walk that repairs permissions, which is enough for a private (0700) directory
//! whose only writer is the command we ran.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A temporary directory that `cleanup` removes with everything in it.
#[derive(Debug)]
pub(crate) struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    /// Creates the directory (mode 0700) with `builder`'s prefix, suffix and dir.
    pub(crate) fn create(builder: &tempkit::Builder) -> io::Result<WorkDir> {
        builder.mkdtemp().map(|path| WorkDir { path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Leaves the directory in place and returns its path.
    pub(crate) fn keep(self) -> PathBuf {
        self.path
    }

    /// Removes the directory and everything in it, also entries made read-only or
    /// unsearchable. A directory already gone is not an error.
    pub(crate) fn cleanup(self) -> io::Result<()> {
        remove_tree(&self.path)
    }
}

/// Removes `root` and its contents without following symlinks and without recursion (a deep
/// tree cannot overflow the stack): directories are opened up (0700) and emptied of
/// non-directories top-down, then removed bottom-up.
fn remove_tree(root: &Path) -> io::Result<()> {
    let mut dirs = vec![root.to_owned()];
    let mut next = 0;
    while next < dirs.len() {
        let dir = dirs[next].clone();
        next += 1;
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                fs::remove_file(&dir).map_err(|e| context(e, "remove", &dir))?;
                continue;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(context(e, "inspect", &dir)),
        }
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| context(e, "make removable", &dir))?;
        for entry in fs::read_dir(&dir).map_err(|e| context(e, "read", &dir))? {
            let entry = entry.map_err(|e| context(e, "read", &dir))?;
            let path = entry.path();
            if entry
                .file_type()
                .map_err(|e| context(e, "inspect", &path))?
                .is_dir()
            {
                dirs.push(path);
            } else {
                fs::remove_file(&path).map_err(|e| context(e, "remove", &path))?;
            }
        }
    }
    for dir in dirs.iter().rev() {
        match fs::remove_dir(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(context(e, "remove", dir)),
        }
    }
    Ok(())
}

fn context(err: io::Error, op: &str, path: &Path) -> io::Error {
    io::Error::new(
        err.kind(),
        format!("failed to {} `{}`: {}", op, path.display(), err),
    )
}
