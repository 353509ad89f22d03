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

/// Only the name serves to reopen.
pub(crate) fn reopen_handle(_file: &File) -> io::Result<Option<File>> {
    Ok(None)
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists`): `link` + `unlink`.
pub(crate) fn rename_noclobber(from: At<'_>, to: At<'_>) -> io::Result<()> {
    super::link_then_unlink(from, to)
}

pub(crate) use publishing::*;

/// The primitives of publishing, by path with `std` only.
mod publishing {
    use std::fs::{self, File, OpenOptions};
    use std::io;
    use std::path::{Path, PathBuf};

    use super::super::{At, EntryMeta, MetaKind, Rename};
    use super::removal::{DirHandle, Name};

    fn path_of(at: &At<'_>) -> PathBuf {
        match at.dir {
            Some(dir) => dir.path().join(at.name),
            None => at.name.to_path_buf(),
        }
    }

    /// The directory at `path`, following symlinks.
    pub(crate) fn open_dir_following(path: &Path) -> io::Result<DirHandle> {
        if fs::metadata(path)?.is_dir() {
            Ok(DirHandle::from(path.to_path_buf()))
        } else {
            Err(io::Error::new(
                io::ErrorKind::Other,
                format!("`{}` is not a directory", path.display()),
            ))
        }
    }

    /// A new file, read-write; `AlreadyExists` if the name is taken. No mode on this platform.
    pub(crate) fn create_file_at(at: At<'_>, mode: u32) -> io::Result<File> {
        let _ = mode;
        OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path_of(&at))
    }

    /// What is at `at`, not following a symlink; `None` if nothing is. The mode is 0o444 for
    /// a read-only entry and 0o666 otherwise; owners are not known (0).
    pub(crate) fn entry_meta(at: At<'_>) -> io::Result<Option<EntryMeta>> {
        let meta = match fs::symlink_metadata(path_of(&at)) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let kind = if meta.file_type().is_symlink() {
            MetaKind::Symlink
        } else if meta.is_dir() {
            MetaKind::Dir
        } else if meta.is_file() {
            MetaKind::File
        } else {
            MetaKind::Other
        };
        let mode = if meta.permissions().readonly() {
            0o444
        } else {
            0o666
        };
        Ok(Some(EntryMeta {
            kind,
            mode,
            uid: 0,
            gid: 0,
        }))
    }

    /// Where a symlink points.
    pub(crate) fn read_link(at: At<'_>) -> io::Result<PathBuf> {
        fs::read_link(path_of(&at))
    }

    /// Only the read-only attribute can be copied here.
    pub(crate) fn set_owner_and_mode(file: &File, meta: &EntryMeta) -> io::Result<()> {
        let mut permissions = file.metadata()?.permissions();
        permissions.set_readonly(meta.mode & 0o222 == 0);
        file.set_permissions(permissions)
    }

    /// `std::fs::rename` for `Replace`; the others are not available: `Unsupported`.
    pub(crate) fn rename_at(from: At<'_>, to: At<'_>, how: Rename) -> io::Result<()> {
        match how {
            Rename::Replace => fs::rename(path_of(&from), path_of(&to)),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no atomic rename that refuses to replace or exchanges on this platform",
            )),
        }
    }

    /// Whether a rename failed because the platform does not offer it.
    pub(crate) fn is_unsupported(err: &io::Error) -> bool {
        err.kind() == io::ErrorKind::Unsupported
    }

    /// A second name for a file.
    pub(crate) fn hard_link_at(from: At<'_>, to: At<'_>) -> io::Result<()> {
        fs::hard_link(path_of(&from), path_of(&to))
    }

    /// Removes a file.
    pub(crate) fn unlink_at(at: At<'_>) -> io::Result<()> {
        fs::remove_file(path_of(&at))
    }

    /// Directories cannot be synced through `std` (Windows has no directory flush).
    pub(crate) fn sync_dir(dir: &DirHandle) -> io::Result<()> {
        let _ = dir;
        Ok(())
    }

    /// Flushes the entry `name` of `dir` if it is a regular file.
    pub(crate) fn sync_file_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        let path = dir.path().join(name);
        if fs::symlink_metadata(&path)?.is_file() {
            OpenOptions::new().write(true).open(&path)?.sync_all()?;
        }
        Ok(())
    }

    /// Not available through `std`: the walk syncs every file instead.
    pub(crate) fn sync_file_system(dir: &DirHandle) -> io::Result<()> {
        let _ = dir;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no file system sync on this platform",
        ))
    }

    /// Whether a rename failed because the two names are on different volumes (Windows:
    /// `ERROR_NOT_SAME_DEVICE`, 17).
    pub(crate) fn is_cross_device(err: &io::Error) -> bool {
        cfg!(windows) && err.raw_os_error() == Some(17)
    }

    /// Never told apart here.
    pub(crate) fn is_out_of_descriptors(_err: &io::Error) -> bool {
        false
    }
}

pub(crate) use removal::*;

/// The primitives of the removal in `remove.rs`, by path with `std` only: the same walk, but
/// without descriptors it cannot rule out a symlink swapped in between a check and a use.
mod removal {
    use std::ffi::{OsStr, OsString};
    use std::fmt;
    use std::fs;
    use std::io;
    use std::path::{Path, PathBuf};

    /// The name of a directory entry.
    pub(crate) type Name = OsStr;
    /// An owned [`Name`].
    pub(crate) type NameBuf = OsString;

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

    /// What a directory entry is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum EntryKind {
        Dir,
        NotDir,
        #[allow(dead_code)] // std always knows the type
        Unknown,
    }

    /// No buffer is needed: `std::fs::read_dir` keeps its own.
    pub(crate) struct ReadBuf;

    impl ReadBuf {
        pub(crate) fn new() -> ReadBuf {
            ReadBuf
        }
    }

    /// The error for "a symlink or a non-directory where a directory was expected".
    #[derive(Debug)]
    struct NotADirectory;

    impl fmt::Display for NotADirectory {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("not a directory (a symlink is never followed)")
        }
    }

    impl std::error::Error for NotADirectory {}

    pub(crate) fn name_as_os_str(name: &Name) -> &OsStr {
        name
    }

    /// The directory at `path`, refusing a symlink.
    pub(crate) fn open_dir(path: &Path) -> io::Result<DirHandle> {
        let meta = fs::symlink_metadata(path)?;
        if meta.is_dir() {
            Ok(DirHandle(path.to_path_buf()))
        } else {
            Err(io::Error::new(io::ErrorKind::Other, NotADirectory))
        }
    }

    pub(crate) fn open_subdir(dir: &DirHandle, name: &Name) -> io::Result<DirHandle> {
        open_dir(&dir.0.join(name))
    }

    pub(crate) fn open_parent(dir: &DirHandle) -> io::Result<DirHandle> {
        match dir.0.parent() {
            Some(parent) => open_dir(parent),
            None => Err(io::Error::new(io::ErrorKind::Other, NotADirectory)),
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
            return Err(io::Error::new(io::ErrorKind::Other, NotADirectory));
        }
        let mut permissions = meta.permissions();
        #[allow(clippy::permissions_set_readonly_false)] // the owner's own directory
        permissions.set_readonly(false);
        fs::set_permissions(path, permissions)
    }

    pub(crate) fn is_not_dir(err: &io::Error) -> bool {
        err.get_ref()
            .map_or(false, |inner| inner.is::<NotADirectory>())
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
