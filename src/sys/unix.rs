//! Unix (reference: Linux) implementation of the platform seam.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

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

/// Where the registration of the fork handler stands.
static ATFORK: AtomicU8 = AtomicU8::new(UNREGISTERED);
const UNREGISTERED: u8 = 0;
const REGISTERING: u8 = 1;
const REGISTERED: u8 = 2;
const FAILED: u8 = 3;

/// Marks generations taken from the process id, so that they never equal a counter value.
const BY_PID: usize = 1 << (usize::BITS - 1);

extern "C" fn after_fork_in_child() {
    // Only an atomic add: async-signal-safe, as a handler run after fork must be.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// A number that differs in a forked child from its parent's.
///
/// A `pthread_atfork` child handler bumps it, so the steady state costs one atomic load and no
/// system call. Until the handler is registered (also in a child forked while another thread
/// was registering it, where that thread no longer exists), or if registering failed, the
/// process id serves instead: a `getpid` per call, correct, only slower. Nothing here ever
/// waits, so a fork at any moment cannot leave a child blocked.
pub(crate) fn fork_generation() -> usize {
    let mut state = ATFORK.load(Ordering::Acquire);
    if state == UNREGISTERED
        && ATFORK
            .compare_exchange(
                UNREGISTERED,
                REGISTERING,
                Ordering::AcqRel,
                Ordering::Acquire,
            )
            .is_ok()
    {
        // SAFETY: pthread_atfork only records the function pointers. The one handler given is
        // an `extern "C"` function with no arguments that touches nothing but a static atomic,
        // which is sound to run in a freshly forked child.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        state = if rc == 0 { REGISTERED } else { FAILED };
        ATFORK.store(state, Ordering::Release);
    }
    if state == REGISTERED || ATFORK.load(Ordering::Acquire) == REGISTERED {
        FORK_GENERATION.load(Ordering::Relaxed)
    } else {
        BY_PID | std::process::id() as usize
    }
}

/// Fills `buf` from `getrandom(2)`, else `/dev/urandom`, else std's OS-seeded hasher keys.
pub(crate) fn fill_random(buf: &mut [u8]) {
    if getrandom(buf) {
        return;
    }
    let urandom = File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf));
    if urandom.is_err() {
        super::fill_random_from_std(buf);
    }
}

/// Fills `buf` from `getrandom(2)`; `false` if the kernel refused.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn getrandom(buf: &mut [u8]) -> bool {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return false,
        }
    }
    true
}

/// rustix offers `getrandom(2)` on Linux and Android only: elsewhere `/dev/urandom` serves.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn getrandom(_buf: &mut [u8]) -> bool {
    false
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
static NO_TMPFILE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

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

pub(crate) use removal::*;

/// Descriptor-relative primitives for the secure removal in `remove.rs`. Every call names an
/// entry relative to a directory descriptor we hold and never follows a symlink.
mod removal {
    use std::io;
    use std::path::Path;

    use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
    use rustix::fs::{AtFlags, FileType, Mode, OFlags};
    use rustix::io::Errno;
    use std::ffi::{CStr, CString, OsStr};
    use std::os::unix::ffi::OsStrExt;

    /// The name of a directory entry, as the system calls take it.
    pub(crate) type Name = CStr;
    /// An owned [`Name`].
    pub(crate) type NameBuf = CString;

    /// An open directory: a descriptor, opened read-only, no-follow, close-on-exec.
    #[derive(Debug)]
    pub(crate) struct DirHandle(OwnedFd);

    /// What a directory is, as opposed to where it is: device and inode numbers.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) struct DirId {
        dev: u64,
        ino: u64,
    }

    /// What a directory entry is, as far as the listing or `fstatat` tells.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) enum EntryKind {
        Dir,
        NotDir,
        /// The file system does not say in its listing (`DT_UNKNOWN`): ask `fstatat`.
        Unknown,
    }

    /// The one buffer directory listings are read into (32 KiB, glibc's size).
    #[cfg_attr(
        not(any(target_os = "linux", target_os = "android")),
        allow(dead_code) // rustix's `Dir` brings its own buffer there
    )]
    pub(crate) struct ReadBuf(Vec<std::mem::MaybeUninit<u8>>);

    impl ReadBuf {
        pub(crate) fn new() -> ReadBuf {
            ReadBuf(vec![std::mem::MaybeUninit::uninit(); 32 * 1024])
        }
    }

    /// The name as an `OsStr`, for paths in error messages.
    pub(crate) fn name_as_os_str(name: &Name) -> &OsStr {
        OsStr::from_bytes(name.to_bytes())
    }

    const DIR_FLAGS: OFlags = OFlags::RDONLY
        .union(OFlags::DIRECTORY)
        .union(OFlags::NOFOLLOW)
        .union(OFlags::CLOEXEC);

    /// `open(path, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC)`: `ELOOP`/`ENOTDIR` for a symlink.
    pub(crate) fn open_dir(path: &Path) -> io::Result<DirHandle> {
        Ok(DirHandle(rustix::fs::open(path, DIR_FLAGS, Mode::empty())?))
    }

    /// `openat(dir, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC)`.
    pub(crate) fn open_subdir(dir: &DirHandle, name: &Name) -> io::Result<DirHandle> {
        Ok(DirHandle(rustix::fs::openat(
            &dir.0,
            name,
            DIR_FLAGS,
            Mode::empty(),
        )?))
    }

    /// `openat(dir, "..", ...)`: the directory `dir` is in now (the caller verifies which it is).
    pub(crate) fn open_parent(dir: &DirHandle) -> io::Result<DirHandle> {
        Ok(DirHandle(rustix::fs::openat(
            &dir.0,
            "..",
            DIR_FLAGS,
            Mode::empty(),
        )?))
    }

    /// `fstat(dir)`: its device and inode numbers.
    pub(crate) fn dir_id(dir: &DirHandle) -> io::Result<DirId> {
        let st = rustix::fs::fstat(&dir.0)?;
        Ok(DirId {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
        })
    }

    /// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`: what the entry is, and its identity if a
    /// directory.
    pub(crate) fn entry_kind(
        dir: &DirHandle,
        name: &Name,
    ) -> io::Result<(EntryKind, Option<DirId>)> {
        let st = rustix::fs::statat(&dir.0, name, AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(st.st_mode) == FileType::Directory {
            let id = DirId {
                dev: st.st_dev as u64,
                ino: st.st_ino as u64,
            };
            Ok((EntryKind::Dir, Some(id)))
        } else {
            Ok((EntryKind::NotDir, None))
        }
    }

    /// Calls `f` on every entry of `dir` but `.` and `..`, from the start when `rewind`.
    ///
    /// Linux: `getdents64` into `buf`, with the type from `d_type` (no `stat` per entry). A
    /// directory removed meanwhile (`ENOENT`) lists as empty.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn read_entries(
        dir: &DirHandle,
        buf: &mut ReadBuf,
        rewind: bool,
        f: &mut dyn FnMut(&Name, EntryKind),
    ) -> io::Result<()> {
        if rewind {
            rustix::fs::seek(&dir.0, rustix::fs::SeekFrom::Start(0))?;
        }
        let mut entries = rustix::fs::RawDir::new(dir.0.as_fd(), &mut buf.0);
        while let Some(entry) = entries.next() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(Errno::NOENT) => break,
                Err(e) => return Err(e.into()),
            };
            let name = entry.file_name();
            if !is_dot(name) {
                f(name, kind_of(entry.file_type()));
            }
        }
        Ok(())
    }

    /// Calls `f` on every entry of `dir` but `.` and `..`, from the start (`rewind` is implied:
    /// each call reads through a fresh open file description).
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn read_entries(
        dir: &DirHandle,
        _buf: &mut ReadBuf,
        _rewind: bool,
        f: &mut dyn FnMut(&Name, EntryKind),
    ) -> io::Result<()> {
        let mut entries = rustix::fs::Dir::read_from(&dir.0)?;
        while let Some(entry) = entries.read() {
            let entry = match entry {
                Ok(entry) => entry,
                Err(Errno::NOENT) => break,
                Err(e) => return Err(e.into()),
            };
            let name = entry.file_name();
            if !is_dot(name) {
                f(name, kind_of(entry.file_type()));
            }
        }
        Ok(())
    }

    fn is_dot(name: &CStr) -> bool {
        matches!(name.to_bytes(), b"." | b"..")
    }

    fn kind_of(file_type: FileType) -> EntryKind {
        match file_type {
            FileType::Directory => EntryKind::Dir,
            FileType::Unknown => EntryKind::Unknown,
            _ => EntryKind::NotDir,
        }
    }

    /// `unlinkat(dir, name, 0)`: removes a non-directory (a symlink as a link).
    pub(crate) fn remove_file_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&dir.0, name, AtFlags::empty())?)
    }

    /// `unlinkat(dir, name, AT_REMOVEDIR)`: removes an empty directory (`ENOTDIR` for a symlink).
    pub(crate) fn remove_dir_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&dir.0, name, AtFlags::REMOVEDIR)?)
    }

    /// `fchmod(dir, 0700)` through the descriptor held: the owner may list, enter and change it.
    pub(crate) fn make_dir_usable(dir: &DirHandle) -> io::Result<()> {
        Ok(rustix::fs::fchmod(&dir.0, Mode::RWXU)?)
    }

    /// Mode 0700 for the directory `name` in `dir`, which we cannot open; a symlink there is never
    /// followed (Linux: `ENOTDIR`; the BSDs change the link's own mode, harmlessly).
    pub(crate) fn make_subdir_usable(dir: &DirHandle, name: &Name) -> io::Result<()> {
        chmod_dir_nofollow(dir.0.as_fd(), name)
    }

    /// Mode 0700 for the directory at `path`, which we cannot open; a symlink at `path` is never
    /// followed (Linux: `ENOTDIR`; the BSDs change the link's own mode, harmlessly).
    pub(crate) fn make_path_usable(path: &Path) -> io::Result<()> {
        chmod_dir_nofollow(rustix::fs::CWD, path)
    }

    /// Linux cannot `fchmod` a descriptor it may open without read permission (`O_PATH`), and
    /// its `fchmodat` has no `AT_SYMLINK_NOFOLLOW`. So: open the directory itself with
    /// `O_PATH|O_NOFOLLOW|O_DIRECTORY` (no permission needed, never a symlink), then change the
    /// mode through `/proc/self/fd/N`, which names exactly the inode that descriptor holds (what
    /// glibc's `fchmodat(AT_SYMLINK_NOFOLLOW)` does).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn chmod_dir_nofollow<P: rustix::path::Arg>(dir: BorrowedFd<'_>, path: P) -> io::Result<()> {
        use rustix::fd::AsRawFd;
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir, path, flags, Mode::empty())?;
        let link = format!("/proc/self/fd/{}", fd.as_raw_fd());
        match rustix::fs::chmod(link.as_str(), Mode::RWXU) {
            Ok(()) => Ok(()),
            // Not the entry that is missing, but /proc: say so, lest it pass for "removed".
            Err(Errno::NOENT) => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "cannot change the mode of a directory we may not open: /proc is not mounted",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// The BSDs and macOS implement `fchmodat(AT_SYMLINK_NOFOLLOW)`.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn chmod_dir_nofollow<P: rustix::path::Arg>(dir: BorrowedFd<'_>, path: P) -> io::Result<()> {
        Ok(rustix::fs::chmodat(
            dir,
            path,
            Mode::RWXU,
            AtFlags::SYMLINK_NOFOLLOW,
        )?)
    }

    fn errno_of(err: &io::Error) -> Option<Errno> {
        Errno::from_io_error(err)
    }

    /// The entry is not a directory, or is a symlink that was not followed.
    pub(crate) fn is_not_dir(err: &io::Error) -> bool {
        matches!(errno_of(err), Some(Errno::NOTDIR) | Some(Errno::LOOP))
    }

    /// The directory still has entries.
    pub(crate) fn is_not_empty(err: &io::Error) -> bool {
        matches!(errno_of(err), Some(Errno::NOTEMPTY) | Some(Errno::EXIST))
    }

    /// `unlink` met a directory.
    pub(crate) fn is_a_dir(err: &io::Error) -> bool {
        errno_of(err) == Some(Errno::ISDIR)
    }
}
