//! Unix (reference: Linux) implementation of the platform seam.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

/// `open(path, O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600)`: one `openat` system call.
/// std adds `O_CLOEXEC` to every open on Unix.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(path)
}

/// `mkdir(path, 0700)`: one system call. `mkdir` never follows a symlink at `path`.
pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new().mode(0o700).create(path)
}

static FORK_GENERATION: AtomicUsize = AtomicUsize::new(0);
static ATFORK_FAILED: AtomicBool = AtomicBool::new(false);

extern "C" fn after_fork_in_child() {
    // Only an atomic add: async-signal-safe, as a handler run after fork must be.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// A number that differs in a forked child from its parent's.
///
/// A `pthread_atfork` child handler bumps it, so the steady state costs one atomic load and no
/// system call. Should registering the handler fail, the process id serves instead (a
/// `getpid` per call: correct, only slower).
pub(crate) fn fork_generation() -> usize {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: pthread_atfork only records the function pointers. The one handler given is
        // an `extern "C"` function with no arguments that touches nothing but a static atomic,
        // which is sound to run in a freshly forked child.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        if rc != 0 {
            ATFORK_FAILED.store(true, Ordering::Relaxed);
        }
    });
    if ATFORK_FAILED.load(Ordering::Relaxed) {
        std::process::id() as usize
    } else {
        FORK_GENERATION.load(Ordering::Relaxed)
    }
}

/// Fills `buf` from `getrandom(2)`, else `/dev/urandom`, else std's OS-seeded hasher keys.
pub(crate) fn fill_random(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => break,
        }
    }
    if filled == buf.len() {
        return;
    }
    let urandom = File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf));
    if urandom.is_err() {
        super::fill_random_from_std(buf);
    }
}

/// Python's fixed Unix candidates, after the environment variables.
pub(crate) fn platform_temp_dirs() -> Vec<PathBuf> {
    ["/tmp", "/var/tmp", "/usr/tmp"]
        .iter()
        .map(PathBuf::from)
        .collect()
}

/// Set once a kernel has shown that it does not know `O_TMPFILE` (before Linux 3.11 the flag
/// reads as `O_DIRECTORY`, so opening a directory read-write fails with `EISDIR`).
#[cfg(any(target_os = "linux", target_os = "android"))]
static NO_TMPFILE: AtomicBool = AtomicBool::new(false);

/// An unnamed file in `dir`: `open(dir, O_TMPFILE|O_EXCL|O_RDWR|O_NOFOLLOW|O_CLOEXEC, 0600)`,
/// one `openat` system call. `O_EXCL` means it can never be linked into the tree.
///
/// `Ok(None)` means "make a named file and unlink it instead": the file system refuses
/// `O_TMPFILE` (`EOPNOTSUPP`, `EINVAL`), the kernel does not know it (`EISDIR`, remembered for
/// the life of the process), `dir` is a symlink (`O_NOFOLLOW`: `ENOTDIR`/`ELOOP`), or `dir` is
/// missing or not a directory, where the fallback reports the very error a named file gets.
/// Errors that a named file would meet just the same (no space, no descriptors left, read-only
/// file system, path too long) are returned at once.
pub(crate) fn create_unnamed_file(dir: &Path) -> io::Result<Option<File>> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if NO_TMPFILE.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let opened = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_TMPFILE | libc::O_EXCL | libc::O_NOFOLLOW)
            .mode(0o600)
            .open(dir);
        match opened {
            Ok(file) => Ok(Some(file)),
            Err(e) => match e.raw_os_error() {
                Some(libc::EISDIR) => {
                    NO_TMPFILE.store(true, Ordering::Relaxed);
                    Ok(None)
                }
                Some(
                    libc::ENOSPC
                    | libc::EDQUOT
                    | libc::EMFILE
                    | libc::ENFILE
                    | libc::ENOMEM
                    | libc::EROFS
                    | libc::ENAMETOOLONG,
                ) => Err(e),
                _ => Ok(None),
            },
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dir;
        Ok(None)
    }
}

/// What identifies a file on this system: its device and inode numbers, and its birth time
/// where the file system records one (inode numbers are reused as soon as a file is deleted;
/// the birth time tells a new file under a recycled number from the old one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    dev: u64,
    ino: u64,
    born: Option<std::time::SystemTime>,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
            born: meta.created().ok(),
        }
    }
}

/// The identity of an open file (`fstat`, or `statx` where std uses it: one system call).
pub(crate) fn file_id(file: &File) -> io::Result<FileId> {
    file.metadata().map(|meta| FileId::of(&meta))
}

/// The identity of what `path` names, not following a symlink (`lstat`).
pub(crate) fn path_id(path: &Path) -> io::Result<FileId> {
    std::fs::symlink_metadata(path).map(|meta| FileId::of(&meta))
}

/// Opens an existing file read-write, never following a symlink at `path`.
pub(crate) fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists`), atomically even under a race:
/// `renameat2(RENAME_NOREPLACE)`, or `link` + `unlink` where the kernel or file system lacks it.
pub(crate) fn rename_noclobber(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        use rustix::io::Errno;
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            // The kernel (before 3.15) or the file system does not know the flag.
            Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
            Err(e) => return Err(e.into()),
        }
    }
    super::link_then_unlink(from, to)
}
