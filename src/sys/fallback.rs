//! The portable implementation of the platform seam: only `std`, so it compiles everywhere
//! (for platforms that are neither Unix nor Windows).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

use super::At;

/// A new file, read-write, failing with `AlreadyExists` if the name is taken.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
}

/// The file behind a `TemporaryFile`: a new file whose name the caller unlinks at once.
pub(crate) fn create_temporary_file(path: &Path) -> io::Result<(File, bool)> {
    create_file(path).map(|file| (file, true))
}

/// Only a taken name means "try the next name".
pub(crate) fn is_name_taken(err: &io::Error, _dir: &Path, _last_attempt: bool) -> bool {
    err.kind() == io::ErrorKind::AlreadyExists
}

/// A new directory, failing with `AlreadyExists` if the name is taken.
pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new().create(path)
}

/// Platforms served by this file have no `fork`.
pub(crate) fn fork_generation() -> usize {
    0
}

/// std's hasher keys come from the OS's random source.
pub(crate) fn fill_random(buf: &mut [u8]) {
    super::fill_random_from_std(buf)
}

/// The fixed candidates after the environment variables, as on Unix.
pub(crate) fn platform_temp_dirs() -> Vec<PathBuf> {
    ["/tmp", "/var/tmp", "/usr/tmp"]
        .iter()
        .map(PathBuf::from)
        .collect()
}

/// No unnamed files without the platform's help: always "make a named file and unlink it".
pub(crate) fn create_unnamed_file(dir: &Path) -> io::Result<Option<File>> {
    let _ = dir;
    Ok(None)
}

/// `std` gives no stable identity of an open file on every platform (Windows' file index
/// needs Rust 1.75's unstable API): every file compares equal, so checks of identity pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId;

/// See [`FileId`]: no identity is available.
pub(crate) fn file_id(file: &File) -> io::Result<FileId> {
    file.metadata().map(|_| FileId)
}

/// See [`FileId`]: no identity is available.
pub(crate) fn path_id(path: &Path) -> io::Result<FileId> {
    std::fs::symlink_metadata(path).map(|_| FileId)
}

/// Opens an existing file read-write.
pub(crate) fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// A second handle of the same open file: `std` offers none here.
#[cfg(feature = "tokio")]
pub(crate) fn duplicate<F>(_file: &F) -> io::Result<File> {
    Err(io::Error::new(
        io::ErrorKind::Other,
        "duplicating a handle is not supported on this platform",
    ))
}

/// Only the name serves to reopen.
pub(crate) fn reopen_handle(_file: &File) -> io::Result<Option<File>> {
    Ok(None)
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists`): `link` + `unlink`.
pub(crate) fn rename_noclobber(from: At<'_>, to: At<'_>) -> io::Result<()> {
    super::link_then_unlink(from, to)
}

pub(crate) use super::publish_by_path::*;

/// The directory at `path`, following symlinks.
pub(crate) fn open_dir_following(path: &Path, sync: bool) -> io::Result<DirHandle> {
    let _ = sync; // the handle serves every use alike
    if std::fs::metadata(path)?.is_dir() {
        Ok(DirHandle::from(path.to_path_buf()))
    } else {
        Err(io::Error::new(
            io::ErrorKind::Other,
            format!("`{}` is not a directory", path.display()),
        ))
    }
}

/// Removes a file.
pub(crate) fn unlink_at(at: At<'_>) -> io::Result<()> {
    std::fs::remove_file(super::publish_by_path::path_of(&at))
}

/// No native rename that refuses to replace.
pub(crate) fn rename_no_replace(_from: &Path, _to: &Path) -> io::Result<()> {
    Err(super::publish_by_path::unsupported_rename())
}

pub(crate) use super::by_path::{
    name_as_os_str, removal_threads_pay, EntryKind, Name, NameBuf, ReadBuf,
};
pub(crate) use removal::*;

/// The primitives of the removal in `remove.rs`, by path with `std` only: the same walk, but
/// without descriptors it cannot rule out a symlink swapped in between a check and a use.
mod removal {
    use std::fs;
    use std::io;
    use std::path::{Path, PathBuf};

    use super::super::by_path::{is_not_a_directory, not_a_directory, EntryKind, Name};

    /// A directory, by path.
    #[derive(Debug)]
    pub(crate) struct DirHandle(PathBuf);

    impl DirHandle {
        pub(crate) fn path(&self) -> &Path {
            &self.0
        }
    }

    impl From<PathBuf> for DirHandle {
        fn from(path: PathBuf) -> DirHandle {
            DirHandle(path)
        }
    }

    /// A directory's identity: here only its path.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub(crate) struct DirId(PathBuf);

    /// The directory at `path`, refusing a symlink.
    pub(crate) fn open_dir(path: &Path) -> io::Result<DirHandle> {
        let meta = fs::symlink_metadata(path)?;
        if meta.is_dir() {
            Ok(DirHandle(path.to_path_buf()))
        } else {
            Err(not_a_directory())
        }
    }

    pub(crate) fn open_subdir(dir: &DirHandle, name: &Name) -> io::Result<DirHandle> {
        open_dir(&dir.0.join(name))
    }

    pub(crate) fn open_parent(dir: &DirHandle) -> io::Result<DirHandle> {
        match dir.0.parent() {
            Some(parent) => open_dir(parent),
            None => Err(not_a_directory()),
        }
    }

    pub(crate) fn dir_id(dir: &DirHandle) -> io::Result<DirId> {
        Ok(DirId(dir.0.clone()))
    }

    pub(crate) fn entry_kind(
        dir: &DirHandle,
        name: &Name,
    ) -> io::Result<(EntryKind, Option<DirId>)> {
        let path = dir.0.join(name);
        if fs::symlink_metadata(&path)?.is_dir() {
            Ok((EntryKind::Dir, Some(DirId(path))))
        } else {
            Ok((EntryKind::NotDir, None))
        }
    }

    pub(crate) fn read_entries(
        dir: &DirHandle,
        _buf: &mut ReadBuf,
        _rewind: bool,
        f: &mut dyn FnMut(&Name, EntryKind),
    ) -> io::Result<()> {
        for entry in fs::read_dir(&dir.0)? {
            let entry = entry?;
            // `DirEntry::file_type` does not follow symlinks.
            let kind = if entry.file_type()?.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::NotDir
            };
            f(&entry.file_name(), kind);
        }
        Ok(())
    }

    /// Removes a non-directory; a symlink to a directory (which Windows removes as a
    /// directory) as a link.
    pub(crate) fn remove_file_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        let path = dir.0.join(name);
        match fs::remove_file(&path) {
            Err(e) if fs::symlink_metadata(&path).map_or(false, |m| m.file_type().is_symlink()) => {
                fs::remove_dir(&path).map_err(|_| e)
            }
            other => other,
        }
    }

    pub(crate) fn remove_dir_path(path: &Path) -> io::Result<()> {
        fs::remove_dir(path)
    }

    pub(crate) fn remove_dir_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        fs::remove_dir(dir.0.join(name))
    }

    /// Clears the read-only attribute.
    pub(crate) fn make_dir_usable(dir: &DirHandle) -> io::Result<()> {
        make_path_usable(&dir.0)
    }

    pub(crate) fn make_subdir_usable(dir: &DirHandle, name: &Name) -> io::Result<()> {
        make_path_usable(&dir.0.join(name))
    }

    /// Clears the read-only attribute of a directory, never of a symlink's target.
    pub(crate) fn make_path_usable(path: &Path) -> io::Result<()> {
        let meta = fs::symlink_metadata(path)?;
        if !meta.is_dir() {
            return Err(not_a_directory());
        }
        let mut permissions = meta.permissions();
        #[allow(clippy::permissions_set_readonly_false)] // the owner's own directory
        permissions.set_readonly(false);
        fs::set_permissions(path, permissions)
    }

    pub(crate) fn is_not_dir(err: &io::Error) -> bool {
        is_not_a_directory(err)
    }

    /// Windows: `ERROR_DIR_NOT_EMPTY` (145).
    pub(crate) fn is_not_empty(err: &io::Error) -> bool {
        cfg!(windows) && err.raw_os_error() == Some(145)
    }

    /// Not told apart here: a directory that `remove_file` refuses is recognised by
    /// `entry_kind` after the permission repair.
    pub(crate) fn is_a_dir(_err: &io::Error) -> bool {
        false
    }
}
