//! The portable implementation of the platform seam: only `std`, so it compiles everywhere
//! (Windows builds with it, including Debian's Rust 1.63 for `x86_64-pc-windows-gnu`).

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// A new file, read-write, failing with `AlreadyExists` if the name is taken.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
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

/// The fixed candidates after the environment variables: Python's list on Windows, `/tmp` and
/// friends elsewhere.
pub(crate) fn platform_temp_dirs() -> Vec<PathBuf> {
    if cfg!(windows) {
        let mut dirs = Vec::new();
        if let Some(profile) = std::env::var_os("USERPROFILE") {
            dirs.push(PathBuf::from(profile).join(r"AppData\Local\Temp"));
        }
        if let Some(root) = std::env::var_os("SYSTEMROOT") {
            dirs.push(PathBuf::from(root).join("Temp"));
        }
        for d in [r"c:\temp", r"c:\tmp", r"\temp", r"\tmp"] {
            dirs.push(PathBuf::from(d));
        }
        dirs
    } else {
        ["/tmp", "/var/tmp", "/usr/tmp"]
            .iter()
            .map(PathBuf::from)
            .collect()
    }
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

/// Renames `from` to `to` unless `to` exists (`AlreadyExists`): `link` + `unlink`.
pub(crate) fn rename_noclobber(from: &Path, to: &Path) -> io::Result<()> {
    super::link_then_unlink(from, to)
}
