//! Unix (reference: Linux) implementation of the platform seam.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use super::{At, Rename};

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

/// The file behind a `TemporaryFile` where `O_TMPFILE` is not available: a new file as
/// [`create_file`], whose name the caller unlinks at once (`true`).
pub(crate) fn create_temporary_file(path: &Path) -> io::Result<(File, bool)> {
    create_file(path).map(|file| (file, true))
}

/// Only a taken name (`EEXIST`) means "try the next name".
pub(crate) fn is_name_taken(err: &io::Error, _dir: &Path, _last_attempt: bool) -> bool {
    err.kind() == io::ErrorKind::AlreadyExists
}

/// `mkdir(path, mode)` (the umask applies; the builder's default is 0700): one system call.
/// `mkdir` never follows a symlink at `path`.
pub(crate) fn create_dir_mode(path: &Path, mode: u32) -> io::Result<()> {
    DirBuilder::new().mode(mode).create(path)
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
///
/// Inlined: the first `gettempdir()` of a process then runs its probe from the code of its
/// caller, one page fault fewer than a call into another part of the program.
#[inline]
pub(crate) fn create_unnamed_file(dir: &Path) -> io::Result<Option<File>> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if NO_TMPFILE.load(Ordering::Relaxed) {
            return Ok(None);
        }
        use rustix::fs::{Mode, OFlags};
        use rustix::io::Errno;
        // rustix rather than `OpenOptions`: the same one `openat`, without libc's wrapper.
        let flags =
            OFlags::TMPFILE | OFlags::EXCL | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        match rustix::fs::openat(rustix::fs::CWD, dir, flags, Mode::RUSR | Mode::WUSR) {
            Ok(fd) => Ok(Some(File::from(fd))),
            Err(Errno::ISDIR) => {
                NO_TMPFILE.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(
                e @ (Errno::NOSPC
                | Errno::DQUOT
                | Errno::MFILE
                | Errno::NFILE
                | Errno::NOMEM
                | Errno::ROFS
                | Errno::NAMETOOLONG),
            ) => Err(e.into()),
            Err(_) => Ok(None),
        }
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let _ = dir;
        Ok(None)
    }
}

/// `data` written to `file`, retried after a short write or `EINTR`: `write(2)` itself, inlined,
/// where std's `write_all` goes through its own I/O layer (the first `gettempdir()` of a
/// process then touches no more code than the probe needs).
#[inline]
pub(crate) fn write_all(file: &File, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match rustix::io::write(file, data) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => data = &data[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `line` written to the process's standard error (fd 2) with `write(2)`, without std's lock
/// on `Stderr` (which a thread may hold for as long as it likes, or while it panics); retried
/// only for what a short write left or `EINTR`. Errors are dropped: a report that cannot be
/// written is lost, never a panic.
pub(crate) fn write_stderr(mut line: &[u8]) {
    use std::os::unix::io::AsFd;
    // `as_fd` borrows descriptor 2 without locking anything.
    let stderr = io::stderr();
    while !line.is_empty() {
        match rustix::io::write(stderr.as_fd(), line) {
            Ok(0) => return,
            Ok(n) => line = &line[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => return,
        }
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

/// A second descriptor of the same open file (`fcntl(F_DUPFD_CLOEXEC)`): same file, same
/// offset, for `tempkit::tokio` when tokio still shares its `std::fs::File` with a task.
#[cfg(feature = "tokio")]
pub(crate) fn duplicate<F: std::os::unix::io::AsFd>(file: &F) -> io::Result<File> {
    Ok(File::from(file.as_fd().try_clone_to_owned()?))
}

/// Unix reopens by name (`open_existing`), with the caller's identity check.
pub(crate) fn reopen_handle(_file: &File) -> io::Result<Option<File>> {
    Ok(None)
}

/// Renames `from` to `to` unless `to` exists (`AlreadyExists`), atomically even under a race:
/// `renameat2(RENAME_NOREPLACE)`, or `link` + `unlink` where the kernel or file system lacks it
/// (decided per call: one file system without the flag changes nothing for the others).
pub(crate) fn rename_noclobber(from: At<'_>, to: At<'_>) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        match rename_at(from, to, Rename::NoReplace) {
            Ok(()) => return Ok(()),
            // The kernel (before 3.15) or the file system does not know the flag.
            Err(e) if is_unsupported(&e) => {}
            Err(e) => return Err(e),
        }
    }
    super::link_then_unlink(from, to)
}

pub(crate) use publishing::*;

/// Descriptor-relative primitives for publishing in `publish.rs`.
mod publishing {
    use std::fs::File;
    use std::io;
    use std::path::{Path, PathBuf};

    use rustix::fd::BorrowedFd;
    use rustix::fs::{AtFlags, FileType, Mode, OFlags, CWD};
    use rustix::io::Errno;

    use super::super::{At, EntryMeta, KeepMeta, MetaKind, Rename};
    use super::removal::{DirHandle, Name};

    fn fd_of<'a>(at: &At<'a>) -> BorrowedFd<'a> {
        match at.dir {
            Some(dir) => dir.fd(),
            None => CWD,
        }
    }

    /// `open(path, O_RDONLY|O_DIRECTORY|O_CLOEXEC)`, following symlinks: the directory a
    /// destination is published in, as its path names it. Without `sync` (nothing will
    /// `fsync` it) on Linux `O_PATH` instead of `O_RDONLY`: a cheaper open and close, and
    /// enough for every `*at` call relative to it (the directory need not be readable).
    pub(crate) fn open_dir_following(path: &Path, sync: bool) -> io::Result<DirHandle> {
        let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        #[cfg(any(target_os = "linux", target_os = "android"))]
        if !sync {
            flags |= OFlags::PATH;
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = sync;
        Ok(DirHandle::from(rustix::fs::open(
            path,
            flags,
            Mode::empty(),
        )?))
    }

    /// `openat(dir, name, O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode)`: the umask
    /// applies to `mode`, as for every file the process creates.
    pub(crate) fn create_file_at(at: At<'_>, mode: u32) -> io::Result<File> {
        let flags =
            OFlags::RDWR | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(fd_of(&at), at.name, flags, Mode::from_raw_mode(mode))?;
        Ok(File::from(fd))
    }

    /// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`; `None` if nothing is there.
    pub(crate) fn entry_meta(at: At<'_>) -> io::Result<Option<EntryMeta>> {
        let st = match rustix::fs::statat(fd_of(&at), at.name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let kind = match FileType::from_raw_mode(st.st_mode as _) {
            FileType::RegularFile => MetaKind::File,
            FileType::Symlink => MetaKind::Symlink,
            FileType::Directory => MetaKind::Dir,
            _ => MetaKind::Other,
        };
        Ok(Some(EntryMeta {
            kind,
            mode: st.st_mode as u32 & 0o7777,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
        }))
    }

    /// `readlinkat(dir, name)`: where a symlink points, as written in it.
    pub(crate) fn read_link(at: At<'_>) -> io::Result<PathBuf> {
        use std::os::unix::ffi::OsStringExt;
        let target = rustix::fs::readlinkat(fd_of(&at), at.name, Vec::new())?;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(
            target.into_bytes(),
        )))
    }

    /// `fstatat(dir, name)`, following a symlink: the regular file a symlink at the
    /// destination points to (whose mode a new file replacing the link must not exceed);
    /// `None` if nothing can be found there (a dangling link, a loop, a target we may not
    /// reach): the link is then replaced as a new file would be.
    pub(crate) fn entry_meta_following(at: At<'_>) -> io::Result<Option<EntryMeta>> {
        let st = match rustix::fs::statat(fd_of(&at), at.name, AtFlags::empty()) {
            Ok(st) => st,
            Err(Errno::NOENT | Errno::LOOP | Errno::ACCESS | Errno::NOTDIR) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let kind = match FileType::from_raw_mode(st.st_mode as _) {
            FileType::RegularFile => MetaKind::File,
            FileType::Directory => MetaKind::Dir,
            _ => MetaKind::Other,
        };
        Ok(Some(EntryMeta {
            kind,
            mode: st.st_mode as u32 & 0o7777,
            uid: st.st_uid as u32,
            gid: st.st_gid as u32,
        }))
    }

    /// `mode` for a file whose group could not be kept: the group gets only what others get,
    /// and no setgid, so that the group the file now has (the caller's) never gets what the
    /// old group had (0640 is 0600, 0644 stays 0644).
    fn group_as_others(mode: u32) -> u32 {
        let common = (mode >> 3) & mode & 0o7;
        (mode & !0o2070) | (common << 3)
    }

    /// Gives `file` (the new version, created by us with `keep.created_mode`) what it keeps
    /// of the file it replaces, in `dir` (the directory published in).
    ///
    /// `fstat` first; nothing more when the kernel already gave the file the old file's owner,
    /// group and mode (the usual case: our own file, created with its final mode; such a file
    /// is exactly what a new file of ours would be, so it is right in every directory).
    /// Otherwise one `fstat` of `dir` decides whom the old file's metadata can be trusted from:
    ///
    /// - Only we (and root) can write `dir`: the old file was put there by us or by root, so
    ///   its owner and group are kept (`fchown`; as an unprivileged user, who cannot give a file
    ///   away, the group alone with `fchown(-1, gid)`, and if even that is refused, the group
    ///   gets only what others get: the caller's own group never gets what the old group had),
    ///   then its
    ///   mode (`fchmod`, after `fchown`, which clears setuid and setgid).
    /// - Someone else can write `dir` (group or other write bit, or another owner; the sticky
    ///   bit does not help, since we may rename over others' entries), or `keep` describes a
    ///   symlink's target: anyone may have planted the old file. The new file stays ours
    ///   (never `fchown` to another user); its group is kept only if the old file is our own
    ///   (else the group gets only what others get), and its mode is at most what a new file gets
    ///   (`keep.new_mode` minus the umask; the umask is read from `/proc/self/status` only
    ///   when the file's creation did not already show it).
    #[allow(clippy::unnecessary_cast)] // the field types differ between targets
    pub(crate) fn set_owner_and_mode(
        file: &File,
        dir: &DirHandle,
        keep: &KeepMeta,
    ) -> io::Result<()> {
        let current = rustix::fs::fstat(file)?;
        let (caller, group) = (current.st_uid as u32, current.st_gid as u32);
        let now = current.st_mode as u32 & 0o7777;
        let old = keep.meta;
        if old.uid == caller && old.gid == group && old.mode == now {
            return Ok(());
        }
        // One more call, only when something must change.
        let planted = keep.of_link_target || others_can_write(dir, caller)?;
        let mut mode = old.mode;
        let mut chowned = false;
        if !planted {
            if old.uid != caller || old.gid != group {
                let uid = Some(old.uid).filter(|&uid| uid != caller);
                chowned = change_owner(file, uid, old.gid)?;
                // Not allowed to give the file away: the group alone, if it differs.
                if !chowned && uid.is_some() && old.gid != group {
                    chowned = change_owner(file, None, old.gid)?;
                }
                if !chowned && old.gid != group {
                    mode = group_as_others(mode);
                }
            }
        } else {
            if old.gid != group {
                let own = old.uid == caller && !keep.of_link_target;
                match own && change_owner(file, None, old.gid)? {
                    true => chowned = true,
                    false => mode = group_as_others(mode),
                }
            }
            mode = capped(mode, keep, now);
        }
        if chowned || mode != now {
            rustix::fs::fchmod(file, Mode::from_raw_mode(mode as _))?;
        }
        Ok(())
    }

    /// `mode`, at most what a new file would get: `keep.new_mode` minus the umask. The file
    /// was created with `keep.created_mode` and got `now`: where that shows the umask, it is
    /// not read; else from `/proc/self/status`; where that cannot be read, a bit the creation
    /// did not show is dropped.
    fn capped(mode: u32, keep: &KeepMeta, now: u32) -> u32 {
        let wanted = mode & keep.new_mode & 0o7777;
        // Permission bits asked for whose fate under the umask the creation did not show.
        let unknown = wanted & !keep.created_mode & 0o777;
        let allowed = if unknown == 0 {
            now | !keep.created_mode
        } else {
            match read_umask() {
                Some(mask) => !mask,
                None => now | (!keep.created_mode & !0o777),
            }
        };
        wanted & allowed
    }

    /// Whether a user other than `uid` can write the directory `dir` (its owner is another, or
    /// it has a group or other write bit): one `fstat` of the descriptor held. ACLs are not
    /// read; a directory whose ACL grants others write access shows the group write bit (its
    /// mask), unless the mask is cleared, which then denies them too.
    fn others_can_write(dir: &DirHandle, uid: u32) -> io::Result<bool> {
        let st = rustix::fs::fstat(dir.fd())?;
        Ok(st.st_uid as u32 != uid || st.st_mode as u32 & 0o022 != 0)
    }

    /// `fchown(file, uid, gid)` (`uid` `None`: the owner unchanged); `Ok(false)` if it is not
    /// permitted (`EPERM`: an unprivileged caller giving the file away, or a group it is not
    /// in).
    fn change_owner(file: &File, uid: Option<u32>, gid: u32) -> io::Result<bool> {
        let uid = uid.map(rustix::fs::Uid::from_raw);
        match rustix::fs::fchown(file, uid, Some(rustix::fs::Gid::from_raw(gid))) {
            Ok(()) => Ok(true),
            Err(Errno::PERM) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// The umask, from the `Umask:` line of `/proc/self/status` (Linux 4.7+), without changing
    /// it (`umask(2)` can only set it, which would race with other threads creating files).
    /// `None` where it cannot be read.
    fn read_umask() -> Option<u32> {
        let fd = rustix::fs::open(
            "/proc/self/status",
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        // `Name:` (at most 64 bytes escaped) comes first, `Umask:` second.
        let mut buf = [0u8; 256];
        let n = rustix::io::read(&fd, &mut buf).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        let line = text.lines().find_map(|l| l.strip_prefix("Umask:"))?;
        u32::from_str_radix(line.trim(), 8).ok()
    }

    /// `renameat` (`Replace`) or `renameat2` with `RENAME_NOREPLACE` or `RENAME_EXCHANGE`.
    /// Where the flags are unknown (other platforms), `Unsupported`.
    pub(crate) fn rename_at(from: At<'_>, to: At<'_>, how: Rename) -> io::Result<()> {
        let (from_fd, to_fd) = (fd_of(&from), fd_of(&to));
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            use rustix::fs::RenameFlags;
            let flags = match how {
                Rename::Replace => {
                    return Ok(rustix::fs::renameat(from_fd, from.name, to_fd, to.name)?)
                }
                Rename::NoReplace => RenameFlags::NOREPLACE,
                Rename::Exchange => RenameFlags::EXCHANGE,
            };
            Ok(rustix::fs::renameat_with(
                from_fd, from.name, to_fd, to.name, flags,
            )?)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        match how {
            Rename::Replace => Ok(rustix::fs::renameat(from_fd, from.name, to_fd, to.name)?),
            _ => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "no atomic rename that refuses to replace or exchanges on this platform",
            )),
        }
    }

    /// Whether a rename failed because the kernel or file system does not know its flag.
    pub(crate) fn is_unsupported(err: &io::Error) -> bool {
        err.kind() == io::ErrorKind::Unsupported
            || matches!(
                Errno::from_io_error(err),
                Some(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP)
            )
    }

    /// `linkat(from, to, 0)`: a second name for a file; `AlreadyExists` if `to` is taken.
    pub(crate) fn hard_link_at(from: At<'_>, to: At<'_>) -> io::Result<()> {
        Ok(rustix::fs::linkat(
            fd_of(&from),
            from.name,
            fd_of(&to),
            to.name,
            AtFlags::empty(),
        )?)
    }

    /// `unlinkat(dir, name, 0)`.
    pub(crate) fn unlink_at(at: At<'_>) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(fd_of(&at), at.name, AtFlags::empty())?)
    }

    /// `fsync(dir)`: makes the directory's entries (a rename into it) durable.
    pub(crate) fn sync_dir(dir: &DirHandle) -> io::Result<()> {
        Ok(rustix::fs::fsync(dir.fd())?)
    }

    /// `fsync` of the entry `name` of `dir` if it is a regular file (opened read-only,
    /// no-follow, non-blocking); other kinds (symlinks, devices, FIFOs, sockets) are never
    /// opened: their entry is made durable by the directory's own `fsync`.
    pub(crate) fn sync_file_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        let st = rustix::fs::statat(dir.fd(), name, AtFlags::SYMLINK_NOFOLLOW)?;
        if FileType::from_raw_mode(st.st_mode as _) != FileType::RegularFile {
            return Ok(());
        }
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
        let fd = rustix::fs::openat(dir.fd(), name, flags, Mode::empty())?;
        Ok(rustix::fs::fsync(&fd)?)
    }

    /// Everything on the file system holding `dir` (`syncfs`; elsewhere `sync`): the
    /// fallback of a tree sync that runs out of descriptors.
    pub(crate) fn sync_file_system(dir: &DirHandle) -> io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            Ok(rustix::fs::syncfs(dir.fd())?)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = dir;
            rustix::fs::sync();
            Ok(())
        }
    }

    /// Whether a rename failed because the two names are on different file systems.
    pub(crate) fn is_cross_device(err: &io::Error) -> bool {
        Errno::from_io_error(err) == Some(Errno::XDEV)
    }

    /// Whether a walk failed for lack of descriptors (`EMFILE`, `ENFILE`).
    pub(crate) fn is_out_of_descriptors(err: &io::Error) -> bool {
        matches!(Errno::from_io_error(err), Some(Errno::MFILE | Errno::NFILE))
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_group_not_kept_gets_only_what_others_get() {
            for (mode, want) in [
                (0o640, 0o600),
                (0o644, 0o644),
                (0o664, 0o644),
                (0o2750, 0o700),
                (0o4755, 0o4755),
                (0o606, 0o606),
            ] {
                assert_eq!(group_as_others(mode), want, "{:o}", mode);
            }
        }

        /// Where the creation showed the umask for every bit asked (here 0644 created,
        /// umask 077 gave 0600), it is not read: the cap is what a new file would get.
        #[test]
        fn the_cap_is_a_new_files_mode_where_the_creation_showed_the_umask() {
            let meta = EntryMeta {
                kind: MetaKind::File,
                mode: 0o644,
                uid: 0,
                gid: 0,
            };
            let keep = |new_mode, created_mode| KeepMeta {
                meta,
                of_link_target: false,
                new_mode,
                created_mode,
            };
            assert_eq!(capped(0o644, &keep(0o666, 0o644), 0o600), 0o600);
            assert_eq!(capped(0o644, &keep(0o666, 0o644), 0o644), 0o644);
            assert_eq!(capped(0o666, &keep(0o600, 0o600), 0o600), 0o600);
            assert_eq!(capped(0o755, &keep(0o666, 0o644), 0o644), 0o644);
            assert_eq!(capped(0o4755, &keep(0o777, 0o755), 0o755), 0o755);
        }
    }
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

    /// An open directory: a descriptor, opened read-only, close-on-exec (no-follow when
    /// opened for removal).
    #[derive(Debug)]
    pub(crate) struct DirHandle(OwnedFd);

    impl DirHandle {
        /// The descriptor, for the lifecycle calls in `owner`.
        pub(crate) fn fd(&self) -> BorrowedFd<'_> {
            self.0.as_fd()
        }
    }

    impl From<OwnedFd> for DirHandle {
        fn from(fd: OwnedFd) -> DirHandle {
            DirHandle(fd)
        }
    }

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

    /// `rmdir(path)`: removes an empty directory (`ENOTDIR` for a symlink).
    pub(crate) fn remove_dir_path(path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }

    /// `unlinkat(dir, name, AT_REMOVEDIR)`: removes an empty directory (`ENOTDIR` for a symlink).
    pub(crate) fn remove_dir_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        Ok(rustix::fs::unlinkat(&dir.0, name, AtFlags::REMOVEDIR)?)
    }

    /// `fchmod(dir, 0700)` through the descriptor held: the owner may list, enter and change it.
    pub(crate) fn make_dir_usable(dir: &DirHandle) -> io::Result<()> {
        Ok(rustix::fs::fchmod(&dir.0, Mode::RWXU)?)
    }

    /// Whether several threads remove a large tree on the file system of `dir` faster than one
    /// (`fstatfs`, one system call): yes on tmpfs (two threads: half the time of one). Every
    /// other file system gets one thread, the conservative choice, never slower than the
    /// serial walk: on btrfs two threads took 1.5x the time of one; on ext4 and XFS they
    /// gain where a core is idle (0.5x, 0.7x) but lost a few percent to the serial walk when
    /// the cores were busy (docs/PERFORMANCE.md, issue 15). A failed `fstatfs`: one thread.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub(crate) fn removal_threads_pay(dir: &DirHandle) -> bool {
        /// `TMPFS_MAGIC` of `<linux/magic.h>`.
        const TMPFS: u32 = 0x0102_1994;
        match rustix::fs::fstatfs(&dir.0) {
            // The magic numbers are 32-bit; `f_type` is wider or signed on some targets.
            Ok(st) => st.f_type as u32 == TMPFS,
            Err(_) => false,
        }
    }

    /// Elsewhere the file system type is not asked: one thread.
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub(crate) fn removal_threads_pay(_dir: &DirHandle) -> bool {
        false
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

pub(crate) use owner::*;

/// Locks, owner tags and process identity for protection and reaping (`dir.rs`, `reap.rs`).
/// Tags and process identity are Linux's (extended attributes, `/proc`); elsewhere those
/// calls say `Unsupported`.
mod owner {
    use std::fs::File;
    use std::io;
    use std::path::Path;

    use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
    use rustix::fs::{AtFlags, FileType, FlockOperation, Mode, OFlags};
    use rustix::io::Errno;

    use super::removal::{DirHandle, Name};
    use crate::sys::{ProcStat, Stat, StatKind};

    /// A borrowed descriptor that locks and tags apply to.
    pub(crate) type Fd<'a> = BorrowedFd<'a>;

    /// An open file or directory held for its lock or its tag: read-only, no-follow,
    /// close-on-exec (never inherited by a command we start).
    #[derive(Debug)]
    pub(crate) struct Handle(OwnedFd);

    impl Handle {
        pub(crate) fn fd(&self) -> Fd<'_> {
            self.0.as_fd()
        }
    }

    /// The descriptor of an open file.
    pub(crate) fn file_fd(file: &File) -> Fd<'_> {
        file.as_fd()
    }

    /// `open(path, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC)`: one system call.
    pub(crate) fn open_dir_handle(path: &Path) -> io::Result<Handle> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        Ok(Handle(rustix::fs::open(path, flags, Mode::empty())?))
    }

    /// `openat(dir, name, O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_NONBLOCK)`, plus `O_DIRECTORY` for a
    /// directory (`O_NONBLOCK`: a FIFO swapped in never blocks the open).
    pub(crate) fn open_entry(dir: &DirHandle, name: &Name, is_dir: bool) -> io::Result<Handle> {
        let mut flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        if is_dir {
            flags |= OFlags::DIRECTORY;
        }
        Ok(Handle(rustix::fs::openat(
            dir.fd(),
            name,
            flags,
            Mode::empty(),
        )?))
    }

    /// `flock(fd, LOCK_SH|LOCK_NB)`: a shared lock, which systemd-tmpfiles honours on
    /// directories (it skips what it cannot lock exclusively).
    pub(crate) fn lock_shared(fd: Fd<'_>) -> io::Result<()> {
        Ok(rustix::fs::flock(
            fd,
            FlockOperation::NonBlockingLockShared,
        )?)
    }

    /// `flock(fd, LOCK_EX|LOCK_NB)`: `Ok(false)` if someone else holds a lock.
    pub(crate) fn try_lock_exclusive(fd: Fd<'_>) -> io::Result<bool> {
        match rustix::fs::flock(fd, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(true),
            Err(Errno::WOULDBLOCK) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    #[allow(clippy::unnecessary_cast)] // the field types differ between targets
    fn stat_of(st: &rustix::fs::Stat) -> Stat {
        let kind = match FileType::from_raw_mode(st.st_mode) {
            FileType::Directory => StatKind::Dir,
            FileType::RegularFile => StatKind::File,
            FileType::Symlink => StatKind::Symlink,
            _ => StatKind::Other,
        };
        Stat {
            kind,
            uid: st.st_uid,
            mode: st.st_mode as u32 & 0o7777,
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            nlink: st.st_nlink as u64,
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
        }
    }

    /// `fstat(fd)`.
    pub(crate) fn stat_fd(fd: Fd<'_>) -> io::Result<Stat> {
        Ok(stat_of(&rustix::fs::fstat(fd)?))
    }

    /// `fstatat(dir, name, AT_SYMLINK_NOFOLLOW)`.
    pub(crate) fn stat_at(dir: &DirHandle, name: &Name) -> io::Result<Stat> {
        Ok(stat_of(&rustix::fs::statat(
            dir.fd(),
            name,
            AtFlags::SYMLINK_NOFOLLOW,
        )?))
    }

    /// `lstat(path)`.
    pub(crate) fn stat_path(path: &Path) -> io::Result<Stat> {
        Ok(stat_of(&rustix::fs::lstat(path)?))
    }

    /// The effective user id.
    pub(crate) fn euid() -> u32 {
        rustix::process::geteuid().as_raw()
    }

    /// The extended attribute that carries the owner tag.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const TAG: &str = "user.tempkit.owner";

    /// The longest tag read back; longer values are not ours.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const TAG_MAX: usize = 512;

    /// `fsetxattr(fd, "user.tempkit.owner", value)`: `Unsupported` where the file system takes
    /// no `user.*` attributes (tmpfs before Linux 6.6, some network file systems).
    pub(crate) fn set_tag(fd: Fd<'_>, value: &[u8]) -> io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            match rustix::fs::fsetxattr(fd, TAG, value, rustix::fs::XattrFlags::empty()) {
                Ok(()) => Ok(()),
                Err(Errno::OPNOTSUPP) => Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the file system does not support user extended attributes",
                )),
                Err(e) => Err(e.into()),
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = (fd, value);
            Err(unsupported())
        }
    }

    /// The tag a `getxattr` call read into `buf`: `None` when the entry has none, its file
    /// system no attributes, or a value longer than any tag (not ours).
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn tag_read(read: rustix::io::Result<usize>, buf: &[u8]) -> io::Result<Option<Vec<u8>>> {
        match read {
            Ok(n) => Ok(Some(buf[..n].to_vec())),
            Err(Errno::NODATA | Errno::OPNOTSUPP | Errno::RANGE) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// `lgetxattr(path, "user.tempkit.owner")`, not following a symlink: `None` when the entry
    /// has no tag (or its file system no attributes).
    pub(crate) fn get_tag_path(path: &Path) -> io::Result<Option<Vec<u8>>> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let mut buf = [0u8; TAG_MAX];
            tag_read(rustix::fs::lgetxattr(path, TAG, &mut buf[..]), &buf)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = path;
            Ok(None)
        }
    }

    /// `fgetxattr(fd, "user.tempkit.owner")`: the tag of exactly the inode `fd` holds (a
    /// name read by path may meanwhile name another one); `None` when it has none.
    pub(crate) fn get_tag(fd: Fd<'_>) -> io::Result<Option<Vec<u8>>> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let mut buf = [0u8; TAG_MAX];
            tag_read(rustix::fs::fgetxattr(fd, TAG, &mut buf[..]), &buf)
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = fd;
            Ok(None)
        }
    }

    /// `fremovexattr(fd, "user.tempkit.owner")`; no tag is success.
    pub(crate) fn remove_tag(fd: Fd<'_>) -> io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            match rustix::fs::fremovexattr(fd, TAG) {
                Ok(()) | Err(Errno::NODATA | Errno::OPNOTSUPP) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        {
            let _ = fd;
            Ok(())
        }
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn unsupported() -> io::Error {
        io::Error::new(
            io::ErrorKind::Unsupported,
            "owner tags are implemented on Linux only",
        )
    }

    /// The first line of a small file under `/proc` or `/etc`, trimmed.
    fn read_line(path: &str) -> io::Result<String> {
        let text = std::fs::read_to_string(path)?;
        Ok(text.lines().next().unwrap_or("").trim().to_string())
    }

    /// This boot's identity (`/proc/sys/kernel/random/boot_id`).
    pub(crate) fn boot_id() -> io::Result<String> {
        read_line("/proc/sys/kernel/random/boot_id")
    }

    /// This machine's identity: `/etc/machine-id` (or D-Bus's copy), else `host:` and the
    /// host name.
    pub(crate) fn machine_id() -> io::Result<String> {
        for path in ["/etc/machine-id", "/var/lib/dbus/machine-id"] {
            if let Ok(id) = read_line(path) {
                if !id.is_empty() && !id.contains(char::is_whitespace) {
                    return Ok(id);
                }
            }
        }
        let host = read_line("/proc/sys/kernel/hostname")?;
        if host.is_empty() || host.contains(char::is_whitespace) {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no machine id and no usable host name",
            ));
        }
        Ok(format!("host:{}", host))
    }

    /// The identity of our pid namespace: the inode of `/proc/self/ns/pid`.
    pub(crate) fn pid_namespace() -> io::Result<u64> {
        Ok(rustix::fs::stat("/proc/self/ns/pid")?.st_ino as u64)
    }

    /// Whether the mounted `/proc` shows the pids of our own pid namespace, the one
    /// `getpid()` and the tags speak of. `NSpid:` in `/proc/self/status` lists our pid in
    /// each namespace from that of `/proc` down to ours: one entry (our `getpid()`) means the
    /// same namespace. A `/proc` of an ancestor namespace (`unshare --pid --fork` without a new
    /// `/proc`) shows two or more; one of an unrelated namespace has no `/proc/self`; a
    /// kernel before 4.1 has no `NSpid:`. Each of those is `false`: such a `/proc` cannot
    /// tell whether a pid of ours is alive. One read of a small file.
    pub(crate) fn proc_shows_our_pids() -> bool {
        let text = match std::fs::read_to_string("/proc/self/status") {
            Ok(text) => text,
            Err(_) => return false,
        };
        let line = match text.lines().find_map(|l| l.strip_prefix("NSpid:")) {
            Some(line) => line,
            None => return false,
        };
        let pids: Vec<&str> = line.split_whitespace().collect();
        pids.len() == 1 && pids[0] == std::process::id().to_string()
    }

    /// Whether a thread of process `pid` other than its leader still runs: listed in
    /// `/proc/PID/task` and not a zombie. A process whose main thread has exited
    /// (`pthread_exit` in `main`) shows its leader as a zombie while its other threads run.
    /// Only asked of a zombie leader: one directory listing, and one read per thread.
    pub(crate) fn other_thread_alive(pid: u32) -> io::Result<bool> {
        let tasks = match std::fs::read_dir(format!("/proc/{}/task", pid)) {
            Ok(tasks) => tasks,
            // Gone meanwhile: no thread left.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(false),
            Err(e) => return Err(e),
        };
        let leader = pid.to_string();
        for task in tasks {
            let task = task?;
            if task.file_name().to_str() == Some(leader.as_str()) {
                continue;
            }
            let text = match std::fs::read(task.path().join("stat")) {
                Ok(text) => text,
                // A thread that ended between the listing and the read.
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => continue,
                Err(e) => return Err(e),
            };
            match parse_proc_stat(&text) {
                Some(st) if st.state == b'Z' || st.state == b'X' => {}
                Some(_) => return Ok(true),
                None => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("cannot parse {}", task.path().join("stat").display()),
                    ))
                }
            }
        }
        Ok(false)
    }

    /// `/proc/PID/stat` of process `pid` (`"self"` for ours): `None` if there is no such
    /// process.
    pub(crate) fn process_stat(pid: &str) -> io::Result<Option<ProcStat>> {
        let text = match std::fs::read(format!("/proc/{}/stat", pid)) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            // A process that ended between the open and the read.
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => return Ok(None),
            Err(e) => return Err(e),
        };
        parse_proc_stat(&text).map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("cannot parse /proc/{}/stat", pid),
            )
        })
    }

    /// Fields 3 and 22, counted after the last `)` (field 2, the command name, may hold
    /// spaces and parentheses).
    pub(crate) fn parse_proc_stat(text: &[u8]) -> Option<ProcStat> {
        let close = text.iter().rposition(|&b| b == b')')?;
        let rest = std::str::from_utf8(&text[close + 1..]).ok()?;
        let mut fields = rest.split_ascii_whitespace();
        let state = *fields.next()?.as_bytes().first()?;
        // Field 3 was the first after ')'; field 22 is 19 further on.
        let start = fields.nth(18)?.parse().ok()?;
        Some(ProcStat { state, start })
    }
}
