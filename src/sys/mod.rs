//! The platform seam: every platform-specific system call tempkit makes goes through here.
//!
//! Each implementation offers the same functions with the same signatures:
//!
//! | function | what it does |
//! |---|---|
//! | `create_file(path)` | a new file, read-write, mode 0600, no-follow, close-on-exec; `AlreadyExists` if the name is taken |
//! | `create_temporary_file(path)` | the file behind a `TemporaryFile`, and whether its name must be unlinked at once (Unix) or goes by itself (Windows: delete-on-close) |
//! | `create_dir(path)` | a new directory, mode 0700 (Windows: owner-only ACL); `AlreadyExists` if the name is taken (Unix has `create_dir_mode(path, mode)` instead, for `Builder::dir_mode`) |
//! | `is_name_taken(err, dir, last_attempt)` | whether a creation error means "try the next name" |
//! | `fork_generation()` | a number that changes in a forked child (no system call in the steady state) |
//! | `fill_random(buf)` | bytes from the OS's random source |
//! | `platform_temp_dirs()` | the platform's fixed candidates for the default temporary directory |
//! | `create_unnamed_file(dir)` | a file with no name in `dir`; `None` when the platform or file system cannot |
//! | `FileId`, `file_id(file)`, `path_id(path)` | the identity of a file (device, inode, birth time), to prove two handles are one file |
//! | `open_existing(path)` | an existing file, read-write, not following a symlink |
//! | `reopen_handle(file)` | a second handle to the open file without its name (Windows: `ReOpenFile`); `None` where only the name serves |
//! | `duplicate(file)` | (feature `tokio`) a second descriptor or handle of the same open file, same offset |
//! | `At`, `rename_noclobber(from, to)` | an atomic rename that never replaces `to`; `At` names an entry relative to an open directory or, without one, by path |
//! | `open_dir_following`, `create_file_at`, `entry_meta`, `entry_meta_following`, `read_link`, `set_owner_and_mode`, `rename_at`, `hard_link_at`, `unlink_at`, `sync_dir`, `sync_file_at`, `sync_file_system` | the primitives of publishing in `publish.rs`: descriptor-relative on Unix, by path with `std` elsewhere |
//! | `DirHandle`, `remove_dir_path`, `open_dir`, `open_subdir`, `open_parent`, `dir_id`, `entry_kind`, `read_entries`, `remove_file_at`, `remove_dir_at`, `make_dir_usable`, `make_subdir_usable`, `make_path_usable`, `is_not_dir`, `is_not_empty`, `is_a_dir` | the primitives of the tree removal in `remove.rs`: descriptor-relative and no-follow on Unix, handle-relative (`NtCreateFile` with a root directory) on Windows, by path with `std` elsewhere |
//! | `removal_threads_pay(dir)` | whether several threads remove a large tree on the file system of `dir` faster than one (Linux: tmpfs yes; elsewhere no) |
//!
//! `unix.rs` is the reference implementation; `windows.rs` the Windows one (built with Rust
//! 1.63 for `x86_64-pc-windows-gnu` and tested under wine by `.ci/windows`); `fallback.rs` uses
//! only `std` and compiles everywhere else.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub(crate) use windows::*;

#[cfg(not(any(unix, windows)))]
mod fallback;
#[cfg(not(any(unix, windows)))]
pub(crate) use fallback::*;

#[cfg(not(unix))]
mod by_path;
#[cfg(not(unix))]
mod publish_by_path;

// Locks, owner tags and process identity (`reap.rs`): Unix only for now.
#[cfg(not(unix))]
mod unsupported;
#[cfg(not(unix))]
pub(crate) use unsupported::*;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
#[cfg(not(windows))]
use std::io;
use std::path::Path;

/// What an entry is (protection and reaping; one definition for every platform).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(not(unix), allow(dead_code))] // nothing is stat'ed there: the shared code matches
pub(crate) enum StatKind {
    Dir,
    File,
    Symlink,
    Other,
}

/// The parts of `stat` that protection and reaping look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stat {
    pub(crate) kind: StatKind,
    pub(crate) uid: u32,
    /// The permission bits (`st_mode & 0o7777`).
    pub(crate) mode: u32,
    pub(crate) dev: u64,
    pub(crate) ino: u64,
    pub(crate) nlink: u64,
    /// The last status change (`st_ctime`, seconds and nanoseconds): a `chmod`, `chown`,
    /// `link`, `setxattr` or write moves it, so two equal values bracket no such change.
    pub(crate) ctime: (i64, i64),
}

/// What `/proc/PID/stat` says of a process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProcStat {
    /// Field 3: `R`, `S`, `D`, `Z` (zombie), `X` (dead), ...
    pub(crate) state: u8,
    /// Field 22: the start time, in clock ticks since boot.
    pub(crate) start: u64,
}

/// An entry named relative to an open directory, or (without one) a path taken as usual:
/// relative to the current directory unless absolute.
#[derive(Clone, Copy, Debug)]
pub(crate) struct At<'a> {
    pub(crate) dir: Option<&'a DirHandle>,
    pub(crate) name: &'a Path,
}

impl<'a> At<'a> {
    /// `path`, resolved as usual.
    pub(crate) fn path(path: &'a Path) -> At<'a> {
        At {
            dir: None,
            name: path,
        }
    }

    /// `name` inside the open directory `dir`.
    pub(crate) fn entry(dir: &'a DirHandle, name: &'a Path) -> At<'a> {
        At {
            dir: Some(dir),
            name,
        }
    }
}

/// What a rename may do to its destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rename {
    /// Replace whatever is there (`rename(2)`).
    Replace,
    /// Fail with `AlreadyExists` if anything is there (`RENAME_NOREPLACE`); no fallback.
    NoReplace,
    /// Swap the two entries, which must both exist (`RENAME_EXCHANGE`).
    Exchange,
}

/// What an entry is, as `lstat` tells (a symlink is not followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MetaKind {
    File,
    Symlink,
    Dir,
    Other,
}

/// The metadata of an entry that publishing looks at and copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct EntryMeta {
    pub(crate) kind: MetaKind,
    /// Permission bits, setuid, setgid and sticky included (`st_mode & 0o7777`).
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) gid: u32,
}

/// What a commit gives the file that replaces another: the replaced file's metadata, and how
/// far it may be trusted (see `set_owner_and_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct KeepMeta {
    /// The replaced regular file's metadata, or (`of_link_target`) that of the regular file a
    /// symlink at the destination pointed to.
    pub(crate) meta: EntryMeta,
    /// `meta` is a symlink's target, not the file being replaced: its mode may narrow the new
    /// file's, its owner and group are never taken.
    pub(crate) of_link_target: bool,
    /// The mode a new file would be created with before the umask ([`AtomicFileOptions::mode`](crate::AtomicFileOptions::mode)):
    /// where the replaced file may have been planted, the new file's mode never exceeds it.
    pub(crate) new_mode: u32,
    /// The mode the new file was created with (the umask then applied).
    pub(crate) created_mode: u32,
}

/// `link(from, to)` then `unlink(from)`: a rename that fails with `AlreadyExists` rather than
/// replace `to`, for where no native no-replace rename exists. If `from` cannot be unlinked,
/// the new link is removed again, so that the file keeps exactly its old name. (Windows has
/// `MoveFileExW` without replacing.)
#[cfg(not(windows))]
pub(crate) fn link_then_unlink(from: At<'_>, to: At<'_>) -> io::Result<()> {
    hard_link_at(from, to)?;
    if let Err(e) = unlink_at(from) {
        let _ = unlink_at(to);
        return Err(e);
    }
    Ok(())
}

/// `data` written to `file` with std's `write_all` (Unix makes the `write` itself, inlined).
#[cfg(not(unix))]
pub(crate) fn write_all(file: &std::fs::File, data: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = file;
    file.write_all(data)
}

/// `line` written to the process's standard error without std's lock on `Stderr` (which a
/// thread may hold for as long as it likes, or while it panics): one `WriteFile` on a
/// duplicate of the standard error handle. Errors are dropped.
#[cfg(windows)]
pub(crate) fn write_stderr(line: &[u8]) {
    use std::io::Write;
    use std::os::windows::io::AsHandle;
    // `as_handle` borrows the handle without locking anything.
    if let Ok(handle) = std::io::stderr().as_handle().try_clone_to_owned() {
        let _ = std::fs::File::from(handle).write_all(line);
    }
}

/// `line` written to the process's standard error, through std (no raw descriptor to write
/// to here): elsewhere than on Unix and Windows this takes std's lock on `Stderr`.
#[cfg(not(any(unix, windows)))]
pub(crate) fn write_stderr(line: &[u8]) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(line);
}

/// Random bytes from std's hasher keys, which std seeds from the OS's random source once per
/// thread. The last resort when the OS's own interface fails (a very old kernel, a sandbox).
pub(crate) fn fill_random_from_std(buf: &mut [u8]) {
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_usize(i);
        let bytes = hasher.finish().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}

#[cfg(all(test, not(windows)))]
mod tests {
    use super::*;

    #[test]
    fn the_last_resort_random_source_gives_fresh_bytes_each_time() {
        // Where getrandom(2) and /dev/urandom both fail, these bytes key the name generator:
        // never left as they were (zeros would make every process draw the same names), and
        // never the same twice.
        let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
        fill_random_from_std(&mut a);
        fill_random_from_std(&mut b);
        assert_ne!(a, [0u8; 20]);
        assert_ne!(a, b);
    }

    #[test]
    fn link_then_unlink_moves_or_refuses_without_touching_either_file() {
        // A fresh unique directory: a fixed name in the shared directory could be taken.
        let dir = crate::Builder::new()
            .prefix("tempkit-sys-")
            .mkdtemp()
            .unwrap();
        let (from, taken, free) = (dir.join("from"), dir.join("taken"), dir.join("free"));
        std::fs::write(&from, b"moving").unwrap();
        std::fs::write(&taken, b"stays").unwrap();
        let (at_from, at_taken) = (At::path(&from), At::path(&taken));
        let err = link_then_unlink(at_from, at_taken).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&from).unwrap(), b"moving");
        assert_eq!(std::fs::read(&taken).unwrap(), b"stays");
        link_then_unlink(at_from, At::path(&free)).unwrap();
        assert!(!from.exists());
        assert_eq!(std::fs::read(&free).unwrap(), b"moving");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
