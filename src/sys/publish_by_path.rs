//! The primitives of publishing (`publish.rs`) by path with `std`, for the platforms that are
//! not Unix (`windows.rs`, `fallback.rs`). Each platform adds `open_dir_following`,
//! `rename_no_replace` (the native rename that refuses to replace, or `Unsupported`) and
//! `unlink_at`; Windows also its own `sync_file_at`.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::PathBuf;

#[cfg(not(windows))]
use super::Name;
use super::{At, DirHandle, EntryMeta, KeepMeta, MetaKind, Rename};

/// The path `at` names.
pub(crate) fn path_of(at: &At<'_>) -> PathBuf {
    match at.dir {
        Some(dir) => dir.path().join(at.name),
        None => at.name.to_path_buf(),
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
    meta_of(fs::symlink_metadata(path_of(&at)))
}

/// The [`EntryMeta`] of what `stat` found (`None` for nothing there).
fn meta_of(stat: io::Result<fs::Metadata>) -> io::Result<Option<EntryMeta>> {
    let meta = match stat {
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

/// What a symlink at `at` points to, following it; `None` if nothing is there.
pub(crate) fn entry_meta_following(at: At<'_>) -> io::Result<Option<EntryMeta>> {
    meta_of(fs::metadata(path_of(&at)))
}

/// Only the read-only attribute can be copied here (there are no owners or modes to widen).
pub(crate) fn set_owner_and_mode(file: &File, _dir: &DirHandle, keep: &KeepMeta) -> io::Result<()> {
    let mut permissions = file.metadata()?.permissions();
    permissions.set_readonly(keep.meta.mode & 0o222 == 0);
    file.set_permissions(permissions)
}

/// `std::fs::rename` for `Replace` (Windows: `replace_file`, which also replaces a read-only
/// file); `NoReplace` where the platform has it natively
/// (`rename_no_replace`: Windows); `Exchange` is not available: `Unsupported` if something is
/// at `to`, and `NotFound` (as `renameat2` gives) if nothing is, so that a `replace` onto
/// nothing goes on as a plain no-clobber rename, as on Unix.
pub(crate) fn rename_at(from: At<'_>, to: At<'_>, how: Rename) -> io::Result<()> {
    match how {
        #[cfg(windows)]
        Rename::Replace => super::replace_file(&path_of(&from), &path_of(&to)),
        #[cfg(not(windows))]
        Rename::Replace => fs::rename(path_of(&from), path_of(&to)),
        Rename::NoReplace => super::rename_no_replace(&path_of(&from), &path_of(&to)),
        Rename::Exchange => match entry_meta(to)? {
            None => Err(io::Error::new(
                io::ErrorKind::NotFound,
                "nothing to exchange with",
            )),
            Some(_) => Err(unsupported_rename()),
        },
    }
}

pub(crate) fn unsupported_rename() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "no atomic rename that refuses to replace or exchanges on this platform",
    )
}

/// Whether a rename failed because the platform does not offer it.
pub(crate) fn is_unsupported(err: &io::Error) -> bool {
    err.kind() == io::ErrorKind::Unsupported
}

/// A second name for a file.
#[cfg_attr(windows, allow(dead_code))] // only for `link_then_unlink`, which Windows needs not
pub(crate) fn hard_link_at(from: At<'_>, to: At<'_>) -> io::Result<()> {
    fs::hard_link(path_of(&from), path_of(&to))
}

/// Directories cannot be synced through `std` (Windows has no directory flush).
pub(crate) fn sync_dir(dir: &DirHandle) -> io::Result<()> {
    let _ = dir;
    Ok(())
}

/// Flushes the entry `name` of `dir` if it is a regular file. (Windows has its own, through
/// a handle that never follows a link.)
#[cfg(not(windows))]
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
