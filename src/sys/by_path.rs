//! What the removal primitives of the non-Unix platforms (`windows.rs`, `fallback.rs`) share:
//! they find entries by path with `std::fs::read_dir`, so names are `OsStr`s, no listing
//! buffer is needed, and "not a directory" is an error of their own.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io;

/// The name of a directory entry.
pub(crate) type Name = OsStr;
/// An owned [`Name`].
pub(crate) type NameBuf = OsString;

/// What a directory entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryKind {
    Dir,
    NotDir,
    #[allow(dead_code)] // the listing always tells
    Unknown,
}

/// No buffer is needed: `std::fs::read_dir` keeps its own.
pub(crate) struct ReadBuf;

impl ReadBuf {
    pub(crate) fn new() -> ReadBuf {
        ReadBuf
    }
}

pub(crate) fn name_as_os_str(name: &Name) -> &OsStr {
    name
}

/// Whether several threads remove a large tree on the file system of `_dir` faster than one:
/// not measured on these platforms, so one thread (never slower than the serial walk).
pub(crate) fn removal_threads_pay<D>(_dir: &D) -> bool {
    false
}

/// The error for "a symlink (or junction) or a non-directory where a directory was expected".
#[derive(Debug)]
struct NotADirectory;

impl fmt::Display for NotADirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a directory (a symlink or junction is never followed)")
    }
}

impl std::error::Error for NotADirectory {}

pub(crate) fn not_a_directory() -> io::Error {
    io::Error::new(io::ErrorKind::Other, NotADirectory)
}

/// Whether `err` is [`not_a_directory`]'s.
pub(crate) fn is_not_a_directory(err: &io::Error) -> bool {
    err.get_ref()
        .map_or(false, |inner| inner.is::<NotADirectory>())
}
