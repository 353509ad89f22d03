//! Publishing: [`AtomicFile`], [`write_atomic`], and the one sync sequence that they,
//! [`NamedTemporaryFile::persist_durable`](crate::NamedTemporaryFile::persist_durable) and the
//! directory publish of [`TemporaryDirectory`](crate::TemporaryDirectory) share.
//!
//! # The sequence ([`publish`])
//! 1. The destination's directory is opened (`O_DIRECTORY`) before anything else, and every
//!    later step names the destination relative to that descriptor: a rename of the
//!    directory meanwhile changes nothing, and no error can come from opening it after the
//!    rename has committed.
//! 2. Durable only: the new content is synced (`fsync` of the file; for a tree, every file
//!    and directory in it, bottom-up). An error here is never retried (after `EIO` the
//!    kernel may have dropped the data and a second `fsync` would succeed): nothing is
//!    renamed.
//! 3. The rename: `renameat` (replace), `renameat2(RENAME_NOREPLACE)` (never replace; for a
//!    file `link` + `unlink` where the file system lacks the flag, decided per call) or
//!    `renameat2(RENAME_EXCHANGE)` (swap).
//! 4. Durable only: `fsync` of the destination's directory, which makes the rename itself
//!    durable. An error here comes after the commit: the caller says so.
//!
//! After a failed `fsync` (step 2 or 4), [`AtomicFile`] removes its temporary file, and the
//! object that `persist_durable` or a directory publish hands back is poisoned ([`Poison`]):
//! a retry by the caller would be told 0 by the kernel, so it is refused.
//!
//! # Metadata of a replaced file ([`AtomicFile`] only)
//! Keeping the owner is for a file nobody else could have placed there. In a directory that a
//! user other than the caller can write (a group or other write bit, or another owner; the
//! sticky bit of `/tmp` does not help: root may rename over anyone's entry there), the file
//! at the destination may have been planted, so the new content is never given to an owner
//! other than the caller, nor a mode wider than the caller's default (what a new file gets:
//! [`AtomicFileOptions::mode`] minus the umask). Elsewhere the old file was put there by the
//! caller or by root, and its owner, group and mode are kept. Either way a group that cannot be
//! kept leaves the new file (now in the caller's group) only what others get. A symlink
//! replaced as a link caps the new file at its target's mode. POSIX ACLs and other extended
//! attributes are not carried over (see [`AtomicFile`]).

use std::ffi::OsStr;
#[cfg(not(unix))]
use std::ffi::OsString;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::create::{self, Kind, Template};
use crate::error;
use crate::sys::{self, At, DirHandle, EntryKind, EntryMeta, KeepMeta, MetaKind, Rename};

/// What is being published.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source<'a> {
    /// An open file: `fsync` it; a no-clobber rename may fall back to `link` + `unlink`.
    File(&'a File),
    /// A directory tree: sync everything in it; no fallback for a no-clobber rename or an
    /// exchange (there is no race-free one for directories).
    Tree(&'a Path),
    /// A directory tree whose sync already succeeded (a rename tried again): only the
    /// rename and the destination's directory are left.
    SyncedTree,
}

/// The step of [`publish`] that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Syncing the new content: nothing was renamed, and the content is not to be trusted.
    Sync,
    /// The rename: nothing was renamed.
    Rename,
    /// The directory `fsync` after the rename: the rename has happened, its durability is
    /// not proven.
    SyncDir,
}

/// A failed [`publish`]: where it stopped, and the OS error (without context: the caller
/// names the paths).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) stage: Stage,
    pub(crate) error: io::Error,
}

impl Failure {
    /// A failed rename.
    pub(crate) fn rename(error: io::Error) -> Failure {
        Failure {
            stage: Stage::Rename,
            error,
        }
    }
}

/// What a failed `fsync` leaves on the object it was syncing ("fsyncgate"): after `EIO` the
/// kernel may have dropped the dirty pages and marked them clean, so a second `fsync` returns
/// 0 for data that never reached the disk. An object that a durable publish hands back after
/// a failed `fsync` (of its content, or of the destination's directory after the rename)
/// carries this, and every later durable publish of it fails with [`Poison::error`], before
/// any system call: no retry can turn the failure into a reported success.
#[derive(Clone, Debug)]
pub(crate) struct Poison {
    /// The kind of the first failure, which the refusals keep.
    kind: io::ErrorKind,
    /// The first failure, for the refusals' message.
    cause: String,
}

impl Poison {
    /// The poison left by the failed `fsync` whose error is `error`.
    pub(crate) fn new(error: &io::Error) -> Poison {
        Poison {
            kind: error.kind(),
            cause: error.to_string(),
        }
    }

    /// The error of a durable publish refused because of it; `what` says what was refused.
    pub(crate) fn error(&self, what: &str) -> io::Error {
        error::new(
            self.kind,
            format!(
                "{}: poisoned by an earlier failed fsync ({}): the kernel may have dropped \
                 the data, and a second fsync would report success anyway, so this can never \
                 be published durably; write the content again into a new temporary object",
                what, self.cause
            ),
        )
    }
}

/// The sync sequence, the one place that knows the order of `fsync` and rename: sync
/// `source` (if `durable`), rename `from` to `to` as `how` says, sync the directory of `to`
/// (if `durable`). `to.dir` must be the destination's directory, opened first.
pub(crate) fn publish(
    source: Source<'_>,
    from: At<'_>,
    to: At<'_>,
    how: Rename,
    durable: bool,
) -> Result<(), Failure> {
    if durable {
        let synced = match source {
            Source::File(file) => file.sync_all(),
            Source::Tree(root) => sync_tree(root),
            Source::SyncedTree => Ok(()),
        };
        synced.map_err(|error| Failure {
            stage: Stage::Sync,
            error,
        })?;
    }
    let renamed = match (source, how) {
        (Source::File(_), Rename::NoReplace) => sys::rename_noclobber(from, to),
        _ => sys::rename_at(from, to, how),
    };
    renamed.map_err(Failure::rename)?;
    if durable {
        if let Some(dir) = to.dir {
            sys::sync_dir(dir).map_err(|error| Failure {
                stage: Stage::SyncDir,
                error,
            })?;
        }
    }
    Ok(())
}

/// Syncs every regular file and directory of the tree at `root` (not following symlinks),
/// children before their directory, `root` last. A tree too deep for the descriptors at hand
/// is synced with `syncfs` of its file system instead.
fn sync_tree(root: &Path) -> io::Result<()> {
    match sync_walk(root) {
        Err(e) if sys::is_out_of_descriptors(&e) => {
            let dir = sys::open_dir(root)?;
            sys::sync_file_system(&dir).map_err(|_| e)
        }
        other => other.map_err(|e| error::with_path(e, "sync the directory tree", root)),
    }
}

fn sync_walk(root: &Path) -> io::Result<()> {
    let mut buf = sys::ReadBuf::new();
    let top = sys::open_dir(root)?;
    let subdirs = sync_entries(&top, &mut buf)?;
    // One open directory per level below `root`, with its subdirectories still to visit.
    let mut stack = vec![(top, subdirs)];
    while let Some((dir, pending)) = stack.last_mut() {
        match pending.pop() {
            Some(name) => {
                let sub = sys::open_subdir(dir, &name)?;
                let subdirs = sync_entries(&sub, &mut buf)?;
                stack.push((sub, subdirs));
            }
            None => {
                sys::sync_dir(dir)?;
                stack.pop();
            }
        }
    }
    Ok(())
}

/// Syncs the regular files of `dir` and returns the names of its subdirectories.
fn sync_entries(dir: &DirHandle, buf: &mut sys::ReadBuf) -> io::Result<Vec<sys::NameBuf>> {
    let mut subdirs = Vec::new();
    let mut failed = None;
    sys::read_entries(dir, buf, false, &mut |name, kind| {
        if failed.is_some() {
            return;
        }
        let kind = match kind {
            EntryKind::Unknown => match sys::entry_kind(dir, name) {
                Ok((kind, _)) => kind,
                Err(e) => {
                    failed = Some(e);
                    return;
                }
            },
            known => known,
        };
        if kind == EntryKind::Dir {
            subdirs.push(name.to_owned());
        } else if let Err(e) = sys::sync_file_at(dir, name) {
            failed = Some(e);
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(subdirs),
    }
}

/// A destination: its directory, opened first, and its name in it.
pub(crate) struct Destination {
    pub(crate) dir: DirHandle,
    /// The destination's path as given (or as a followed symlink resolves), for messages.
    path: PathBuf,
    /// Where its directory part and its name lie in `path`.
    parts: Parts,
}

/// The directory part and the name of a destination path. Unix: offsets into the path (no
/// copy); elsewhere owned copies.
#[cfg(unix)]
struct Parts {
    /// `path[..end]` is the directory; `None`: the current directory (`.`).
    dir_end: Option<usize>,
    name_start: usize,
}

#[cfg(not(unix))]
struct Parts {
    dir: PathBuf,
    name: PathBuf,
}

impl Parts {
    /// The directory part of `path` (which these parts describe).
    fn dir_path<'a>(&'a self, path: &'a Path) -> &'a Path {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            match self.dir_end {
                Some(end) => Path::new(OsStr::from_bytes(&path.as_os_str().as_bytes()[..end])),
                None => Path::new("."),
            }
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            &self.dir
        }
    }

    /// The name in `path` (which these parts describe).
    fn name<'a>(&'a self, path: &'a Path) -> &'a Path {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            Path::new(OsStr::from_bytes(
                &path.as_os_str().as_bytes()[self.name_start..],
            ))
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            &self.name
        }
    }
}

/// `to` and its parts; `None` if it names no file (`/`, `..`, empty). The parts are found
/// by `Path::file_name` and `Path::parent`; on Unix a plain `DIR/NAME` (the usual case) is
/// split at its last `/` instead, without parsing every component or copying.
fn split(to: &Path) -> Option<(PathBuf, Parts)> {
    #[cfg(unix)]
    {
        if let Some(parts) = split_plain(to) {
            return Some((to.to_path_buf(), parts));
        }
    }
    let name = to.file_name()?;
    let dir = match to.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => Some(parent),
        _ => None,
    };
    #[cfg(unix)]
    {
        // Made plain (`DIR/NAME`), so that the offsets apply.
        let path = match dir {
            Some(dir) => dir.join(name),
            None => PathBuf::from(name),
        };
        let parts = split_plain(&path)?;
        Some((path, parts))
    }
    #[cfg(not(unix))]
    {
        let parts = Parts {
            dir: dir.map_or_else(|| PathBuf::from("."), Path::to_path_buf),
            name: PathBuf::from(name),
        };
        Some((to.to_path_buf(), parts))
    }
}

/// The parts of a path whose last component, after its last `/`, is a plain name (not
/// empty, `.` or `..`): the directory is what comes before that `/`, its trailing slashes
/// trimmed (`/` itself kept), or `.` without a `/`. `None` for any other path.
#[cfg(unix)]
fn split_plain(path: &Path) -> Option<Parts> {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let slash = bytes.iter().rposition(|&b| b == b'/');
    let name_start = slash.map_or(0, |i| i + 1);
    if matches!(&bytes[name_start..], b"" | b"." | b"..") {
        return None;
    }
    let dir_end = slash.map(|i| {
        let trimmed = bytes[..i]
            .iter()
            .rposition(|&b| b != b'/')
            .map_or(0, |j| j + 1);
        trimmed.max(1)
    });
    Some(Parts {
        dir_end,
        name_start,
    })
}

impl Destination {
    /// Opens the directory of `to` (following symlinks: it is the caller's path), to be
    /// synced after the rename.
    pub(crate) fn open(to: &Path) -> io::Result<Destination> {
        Destination::open_for(to, true)
    }

    /// As [`open`](Destination::open); the directory is synced only if `sync` (a descriptor
    /// that cannot be synced may be cheaper).
    pub(crate) fn open_for(to: &Path, sync: bool) -> io::Result<Destination> {
        let (path, parts) = split(to).ok_or_else(|| {
            error::new(
                io::ErrorKind::InvalidInput,
                format!("cannot publish at `{}`: it names no file", to.display()),
            )
        })?;
        let dir = sys::open_dir_following(parts.dir_path(&path), sync)
            .map_err(|e| error::with_path(e, "open the directory of", to))?;
        Ok(Destination { dir, path, parts })
    }

    /// The destination's path (as given, or with its directory and name made explicit
    /// when the given path ends in `/` or `.`).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The directory's path, for messages.
    pub(crate) fn dir_path(&self) -> &Path {
        self.parts.dir_path(&self.path)
    }

    /// The last component of the destination's path.
    pub(crate) fn name(&self) -> &Path {
        self.parts.name(&self.path)
    }

    /// The destination, relative to its directory's descriptor.
    pub(crate) fn at(&self) -> At<'_> {
        At::entry(&self.dir, self.name())
    }

    /// What is at the destination now, not following a symlink.
    pub(crate) fn meta(&self) -> io::Result<Option<EntryMeta>> {
        sys::entry_meta(self.at()).map_err(|e| error::with_path(e, "inspect", &self.path))
    }
}

/// How an [`AtomicFile`] is made and committed: durability, symlink policy, mode of a new file.
///
/// Defaults: durable, a symlink destination replaced as a link, mode 0666 for a new file
/// (minus the umask).
///
/// # Python equivalent
/// None: Python has no atomic write.
///
/// ```
/// let dir = tempkit::TemporaryDirectory::new()?;
/// let mut options = tempkit::AtomicFile::options();
/// options.durable(false).mode(0o600);
/// options.write(dir.path().join("cache.bin"), b"batch entry")?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct AtomicFileOptions {
    durable: bool,
    follow_symlink: bool,
    mode: u32,
}

impl Default for AtomicFileOptions {
    fn default() -> Self {
        AtomicFileOptions {
            durable: true,
            follow_symlink: false,
            mode: 0o666,
        }
    }
}

impl AtomicFileOptions {
    /// The defaults: durable, symlinks replaced as links, mode 0666 minus the umask.
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// let options = tempkit::AtomicFileOptions::new();
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether `commit` makes the new content durable (default `true`): `fsync` the file
    /// before the rename and the directory after it.
    ///
    /// With `false` the replacement is still atomic (readers and a crashed writer see the old
    /// content or the new, never a mix), but a power cut shortly after may bring back the
    /// old content, or on some file systems an empty file. For callers that publish a batch
    /// and sync once themselves (`sync_all` each file, then the directory).
    ///
    /// # Python equivalent
    /// `os.replace` alone, without `os.fsync`.
    ///
    /// ```
    /// let mut options = tempkit::AtomicFileOptions::new();
    /// options.durable(false);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn durable(&mut self, yes: bool) -> &mut Self {
        self.durable = yes;
        self
    }

    /// Whether a destination that is a symlink is followed, once (default `false`).
    ///
    /// By default the link itself is replaced by the new file (its target is left alone).
    /// With `true`, the link is read once and its target (relative to the link's directory)
    /// is replaced instead, in the target's own directory and with the target's metadata; the
    /// link stays. A target that is itself a symlink, or that does not exist, is refused
    /// (`InvalidInput`, `NotFound`): one level only, and never a file created where a
    /// dangling link points.
    ///
    /// # Security
    /// Following a link that someone else may plant (in a shared directory such as `/tmp`)
    /// replaces whatever it points to: keep the default there.
    ///
    /// # Python equivalent
    /// `os.replace(tmp, os.path.realpath(path))` for one level.
    ///
    /// ```
    /// let mut options = tempkit::AtomicFileOptions::new();
    /// options.follow_symlink(true);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn follow_symlink(&mut self, yes: bool) -> &mut Self {
        self.follow_symlink = yes;
        self
    }

    /// The mode of a file that does not exist yet (default 0o666); the umask applies, as for
    /// `File::create` and `OpenOptionsExt::mode`. An existing regular file's mode is kept
    /// instead, except in a directory that another user can write, where the new file's mode
    /// is at most this one minus the umask (see [`AtomicFile`], "Metadata").
    ///
    /// # Platform notes
    /// Unix only; ignored elsewhere.
    ///
    /// # Python equivalent
    /// The `mode` argument of `os.open`.
    ///
    /// ```
    /// let mut options = tempkit::AtomicFileOptions::new();
    /// options.mode(0o600);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = mode;
        self
    }

    /// Starts a new version of the file at `path` with these options: see
    /// [`AtomicFile::create`].
    ///
    /// # Python equivalent
    /// As [`AtomicFile::create`].
    ///
    /// # Errors
    /// As [`AtomicFile::create`].
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// let mut file = tempkit::AtomicFile::options().durable(false).create(dir.path().join("a"))?;
    /// file.write_all(b"new")?;
    /// file.commit()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create<P: AsRef<Path>>(&self, path: P) -> io::Result<AtomicFile> {
        AtomicFile::create_with(path.as_ref(), self)
    }

    /// Replaces the file at `path` with `contents` using these options: see [`write_atomic`].
    ///
    /// # Python equivalent
    /// As [`write_atomic`].
    ///
    /// # Errors
    /// As [`write_atomic`].
    ///
    /// ```
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// tempkit::AtomicFile::options().durable(false).write(dir.path().join("a"), "x")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write<P: AsRef<Path>, C: AsRef<[u8]>>(&self, path: P, contents: C) -> io::Result<()> {
        let mut file = self.create(path)?;
        file.file
            .write_all(contents.as_ref())
            .map_err(|e| error::with_path(e, "write the new version of", file.path()))?;
        file.commit().map_err(io::Error::from)
    }
}

/// A new version of the file at a path, written aside in the same directory and swapped in
/// atomically by [`commit`](AtomicFile::commit).
///
/// [`create`](AtomicFile::create) opens the destination's directory, looks at what is there,
/// and creates a temporary file `.NAME.XXXXXXXX.tmpkit` beside it (same directory, so the
/// rename never crosses file systems). Write to it (`Write`, `Seek`, [`as_file`](AtomicFile::as_file)),
/// then:
///
/// | exit | effect |
/// |---|---|
/// | [`commit`](AtomicFile::commit) | replaces the destination (durably by default) |
/// | [`commit_noclobber`](AtomicFile::commit_noclobber) | publishes only if nothing is at the destination |
/// | [`discard`](AtomicFile::discard), drop | removes the temporary file; the destination is untouched |
///
/// # Guarantees
/// - Atomic: at every instant, also after `SIGKILL` at any point, the destination holds the
///   complete old content or the complete new one, never a mix, never nothing (when it
///   existed). A kill leaves at most the temporary name, never a partial destination.
/// - Durable (the default; see [`AtomicFileOptions::durable`]): once `commit` returns `Ok`,
///   a crash or power cut keeps the new content. Sequence: `fsync` the file, `renameat` over
///   the destination, `fsync` the directory, all relative to the directory's descriptor
///   opened at creation. An `fsync` error is never retried.
/// - Metadata: see below. A new file gets the mode of [`AtomicFileOptions::mode`] (0666)
///   minus the umask, as with `File::create`; the kernel applies the umask at creation.
/// - A symlink destination is replaced as a link (its target untouched) unless
///   [`AtomicFileOptions::follow_symlink`]; the new file then has at most the mode of the
///   link's target (a link to a 0600 file gives a 0600 file, never 0644, never the link's
///   0777), never the target's owner or group. A hard-linked destination is replaced under
///   this name only: the other names keep the old content.
///
/// # Metadata
/// What an existing regular destination (as it was at [`create`](AtomicFile::create)) passes
/// on to the new file depends on who else can write its directory:
///
/// | directory | owner | group | mode |
/// |---|---|---|---|
/// | only the caller (and root) can write it | kept where permitted (`fchown`; an unprivileged caller cannot give a file away: the file is then the caller's) | kept (as an unprivileged caller, `fchown(-1, gid)`, if it is one of the caller's groups) | kept, setuid and setgid included, whatever the umask |
/// | another user can write it (group or other write bit, or another owner: `/tmp`, a shared group directory, another user's home as seen by root) | the caller's, always | kept only if the old file is the caller's own and the caller may (`fchown(-1, gid)`) | the old mode, at most the caller's default: [`AtomicFileOptions::mode`] minus the umask (so 0666 planted by another is 0644 under umask 022, 0600 with `mode(0o600)`; an executable needs `mode(0o777)` to stay one there) |
///
/// When the group cannot be kept, the new file is in the caller's group, and that group gets
/// only what others get (0640 becomes 0600, 0644 stays 0644): never what the old group had.
///
/// Cost: none in the usual case (the new file is created with the old mode, and the `fstat`
/// at commit shows owner, group and mode already right); otherwise one `fstat` of the
/// directory's descriptor, and, only in a directory others can write when the creation did
/// not show the umask, a read of `/proc/self/status` for it (where it cannot be read, a
/// permission bit the creation did not show is left out).
///
/// POSIX ACLs and other extended attributes are not carried over. The old file's access ACL
/// is dropped (the users and groups it named lose their access); if the directory has a
/// default ACL, the new file gets it, as every file created there does, its named entries
/// limited by the group bits of the mode (the ACL mask).
///
/// # Security
/// The temporary file is created with `O_EXCL|O_NOFOLLOW` under a random name. When it
/// replaces an existing file it has our owner and group until the commit, so it is created
/// with a mode that grants nobody more than the published file will: the owner's bits, and
/// for group and others only what every class of the destination's mode grants (0644 stays
/// 0644, 0640 starts as 0600), never setuid, setgid or sticky, and nothing
/// [`AtomicFileOptions::mode`] does not grant. A new file gets its final mode at creation.
///
/// In a directory others can write, whoever can write it may plant the destination (a file of
/// theirs, a symlink, a hard link to a file they may link) before we replace it: what it
/// plants never decides the new content's owner, and widens neither its group nor its mode
/// beyond a new file's (see "Metadata"). They can still replace or remove the published
/// file afterwards (unless the directory is sticky), as with any file there.
///
/// # Platform notes
/// | file system | guarantee |
/// |---|---|
/// | ext4, xfs, btrfs | atomic and durable |
/// | tmpfs | atomic; nothing survives a reboot anyway |
/// | overlayfs | atomic; durable as its upper layer, unless mounted `volatile` |
/// | NFS | atomic for readers on one client only; a failed rename may have happened |
/// | FUSE | as the file system implements rename and `fsync`; no-clobber uses `link` + `unlink` where `RENAME_NOREPLACE` is refused |
///
/// Windows (the portable implementation): the rename is `MoveFileExW(REPLACE_EXISTING)`
/// (over a read-only destination too, which NTFS refuses to replace: see
/// [`NamedTemporaryFile::persist`](crate::NamedTemporaryFile::persist)), there is no directory
/// `fsync`, and only the read-only attribute is kept.
///
/// # Python equivalent
/// `NamedTemporaryFile(dir=os.path.dirname(path), delete=False)`, write, `f.flush()`,
/// `os.fsync(f.fileno())`, `os.replace(f.name, path)`, then `os.fsync` of the directory;
/// Python keeps neither the mode nor the owner.
///
/// ```
/// use std::io::Write;
/// let dir = tempkit::TemporaryDirectory::new()?;
/// let path = dir.path().join("config.toml");
/// std::fs::write(&path, "old = true\n")?;
/// let mut file = tempkit::AtomicFile::create(&path)?;
/// file.write_all(b"new = true\n")?;
/// assert_eq!(std::fs::read(&path)?, b"old = true\n"); // untouched until commit
/// file.commit()?;
/// assert_eq!(std::fs::read(&path)?, b"new = true\n");
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "dropping an AtomicFile discards it: call commit()"]
pub struct AtomicFile {
    file: File,
    /// The destination as the caller named it, when that is not `target.path()` (a followed
    /// symlink, a path ending in `/` or `.`).
    named: Option<PathBuf>,
    /// Where the new version is published: the destination's directory (or, after following
    /// a symlink, its target's), opened first.
    target: Destination,
    /// The temporary name in `target.dir`.
    temp: PathBuf,
    /// What the commit keeps of the file it replaces (an existing regular destination, or
    /// the target of a symlink destination).
    keep: Option<KeepMeta>,
    durable: bool,
    /// The temporary name is still ours to remove.
    armed: bool,
}

/// The longest part of the destination's name used in the temporary name, so that
/// `.NAME.XXXXXXXX.tmpkit` stays within the usual 255-byte limit.
const MAX_NAME_IN_TEMP: usize = 200;

impl AtomicFile {
    /// Starts a new version of the file at `path`, with the default options (durable,
    /// symlinks replaced as links): nothing at `path` changes until
    /// [`commit`](AtomicFile::commit).
    ///
    /// # Errors
    /// `InvalidInput` for a path that names no file (`/`, `..`); the errors of opening the
    /// directory (`NotFound`, `PermissionDenied`, ...) and of creating the temporary file in
    /// it, each naming the path.
    ///
    /// # Python equivalent
    /// `NamedTemporaryFile(dir=os.path.dirname(path), delete=False)`.
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// let mut file = tempkit::AtomicFile::create(dir.path().join("new.txt"))?;
    /// write!(file, "hello")?;
    /// file.commit()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn create<P: AsRef<Path>>(path: P) -> io::Result<AtomicFile> {
        AtomicFile::create_with(path.as_ref(), &AtomicFileOptions::default())
    }

    /// The options of [`AtomicFile`] and [`write_atomic`]: durability, symlink policy, mode.
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// let options = tempkit::AtomicFile::options();
    /// # let _ = options;
    /// ```
    #[must_use]
    pub fn options() -> AtomicFileOptions {
        AtomicFileOptions::default()
    }

    fn create_with(dest: &Path, options: &AtomicFileOptions) -> io::Result<AtomicFile> {
        let mut target = Destination::open_for(dest, options.durable)?;
        let mut meta = target.meta()?;
        if options.follow_symlink && meta.map(|m| m.kind) == Some(MetaKind::Symlink) {
            target = follow_once(&target, dest, options.durable)?;
            meta = target.meta()?;
            match meta.map(|m| m.kind) {
                Some(MetaKind::Symlink) => {
                    return Err(error::new(
                        io::ErrorKind::InvalidInput,
                        format!(
                            "`{}` is a symlink to another symlink: only one level is followed",
                            dest.display()
                        ),
                    ))
                }
                None => {
                    return Err(error::new(
                        io::ErrorKind::NotFound,
                        format!("`{}` is a dangling symlink: not followed", dest.display()),
                    ))
                }
                _ => {}
            }
        }
        // Only an existing regular file's metadata is kept (at commit). A symlink replaced as
        // a link is not what readers of the name saw: its target was, so the target's mode
        // caps the new file's (one more `fstatat`, for a symlink only). A new file starts
        // with its final mode (the umask applies).
        let (meta, of_link_target) = match meta {
            Some(m) if m.kind == MetaKind::Symlink => {
                let pointed = sys::entry_meta_following(target.at())
                    .map_err(|e| error::with_path(e, "inspect the target of", target.path()))?;
                (pointed, true)
            }
            other => (other, false),
        };
        let meta = meta.filter(|m| m.kind == MetaKind::File);
        let mode = match meta {
            // Never more than a new file would be asked for: where the old file may have been
            // planted, that is all the commit will keep.
            Some(m) => mode_until_commit(m.mode) & options.mode,
            None => options.mode,
        };
        let keep = meta.map(|meta| KeepMeta {
            meta,
            of_link_target,
            new_mode: options.mode,
            created_mode: mode,
        });
        let mut prefix_buf = PrefixBuf::new();
        let prefix = prefix_buf.temp_prefix(target.name());
        let template = Template {
            dir: target.dir_path(),
            prefix,
            suffix: OsStr::new(".tmpkit"),
            random_len: 8,
        };
        let dir = &target.dir;
        let (file, temp) = create::create_in_dir(template, Kind::File, |name| {
            sys::create_file_at(At::entry(dir, name), mode)
        })?;
        let named = if target.path().as_os_str() == dest.as_os_str() {
            None
        } else {
            Some(dest.to_path_buf())
        };
        Ok(AtomicFile {
            file,
            named,
            target,
            temp,
            keep,
            durable: options.durable,
            armed: true,
        })
    }

    /// The destination, as given to [`create`](AtomicFile::create).
    ///
    /// # Python equivalent
    /// The `path` the caller passes to `os.replace`.
    ///
    /// ```
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// let file = tempkit::AtomicFile::create(dir.path().join("x"))?;
    /// assert_eq!(file.path(), dir.path().join("x"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        self.named.as_deref().unwrap_or_else(|| self.target.path())
    }

    /// The temporary file being written.
    ///
    /// # Python equivalent
    /// The `NamedTemporaryFile` object itself (`.file`).
    ///
    /// ```
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// let file = tempkit::AtomicFile::create(dir.path().join("x"))?;
    /// assert_eq!(file.as_file().metadata()?.len(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_file(&self) -> &File {
        &self.file
    }

    /// The temporary file being written, mutably.
    ///
    /// # Python equivalent
    /// The `NamedTemporaryFile` object itself (`.file`).
    ///
    /// ```
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// let mut file = tempkit::AtomicFile::create(dir.path().join("x"))?;
    /// file.as_file_mut().set_len(3)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// Replaces the destination with what was written, atomically and (by default) durably.
    ///
    /// Sequence: give the new file what it keeps of the old one (see "Metadata" on
    /// [`AtomicFile`]: `fstat` the new file, then, only if something must change, `fstat` the
    /// directory, `fchown` and `fchmod` as needed; usually none of them),
    /// `fsync` the file, `renameat` over the destination, `fsync` the directory.
    ///
    /// # Errors
    /// A [`CommitError`] that says which case it is:
    /// - [`committed()`](CommitError::committed) `false`: the destination is untouched. If the
    ///   `fsync` of the file failed, the temporary file was removed (its content cannot be
    ///   trusted and the `fsync` is never retried) and
    ///   [`into_file()`](CommitError::into_file) is `None`; otherwise (metadata, rename) it
    ///   hands this `AtomicFile` back, to retry or discard.
    /// - `committed()` `true`: the new content is in place, but the directory `fsync` failed,
    ///   so its durability is not proven.
    ///
    /// # Python equivalent
    /// `os.fsync(f.fileno())`, `os.replace(f.name, path)`, `os.fsync(dirfd)`.
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// let mut file = tempkit::AtomicFile::create(dir.path().join("state"))?;
    /// file.write_all(b"v2")?;
    /// file.commit()?;
    /// assert_eq!(std::fs::read(dir.path().join("state"))?, b"v2");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn commit(self) -> Result<(), CommitError> {
        self.finish(Rename::Replace)
    }

    /// Publishes what was written only if nothing is at the destination; never replaces,
    /// also under a race.
    ///
    /// `renameat2(RENAME_NOREPLACE)`; where the file system refuses the flag, `link` +
    /// `unlink` for this call only. Durable as [`commit`](AtomicFile::commit).
    ///
    /// # Errors
    /// As [`commit`](AtomicFile::commit); `AlreadyExists` (not committed, the file handed
    /// back) if something is at the destination.
    ///
    /// # Python equivalent
    /// `os.link(f.name, path)` then `os.unlink(f.name)`.
    ///
    /// ```
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// std::fs::write(dir.path().join("taken"), "old")?;
    /// let file = tempkit::AtomicFile::create(dir.path().join("taken"))?;
    /// let err = file.commit_noclobber().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// assert!(!err.committed());
    /// err.into_file().unwrap().discard()?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn commit_noclobber(self) -> Result<(), CommitError> {
        self.finish(Rename::NoReplace)
    }

    /// Removes the temporary file; the destination is untouched. Drop does the same,
    /// ignoring errors.
    ///
    /// # Errors
    /// The error of removing the temporary file (not `NotFound`), naming it.
    ///
    /// # Python equivalent
    /// `os.unlink(f.name)`.
    ///
    /// ```
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// let file = tempkit::AtomicFile::create(dir.path().join("x"))?;
    /// file.discard()?;
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn discard(mut self) -> io::Result<()> {
        self.remove_temp()
    }

    fn remove_temp(&mut self) -> io::Result<()> {
        if !self.armed {
            return Ok(());
        }
        self.armed = false;
        match sys::unlink_at(At::entry(&self.target.dir, &self.temp)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(error::with_path(
                e,
                "remove temporary file",
                &self.target.dir_path().join(&self.temp),
            )),
            _ => Ok(()),
        }
    }

    fn finish(mut self, how: Rename) -> Result<(), CommitError> {
        let what = match how {
            Rename::NoReplace => "commit (without replacing)",
            _ => "commit",
        };
        if let Some(keep) = self.keep {
            if let Err(e) = sys::set_owner_and_mode(&self.file, &self.target.dir, &keep) {
                let error = self.context(e, what, "copying the owner and mode failed");
                return Err(CommitError::handed_back(error, self));
            }
        }
        let from = At::entry(&self.target.dir, &self.temp);
        match publish(
            Source::File(&self.file),
            from,
            self.target.at(),
            how,
            self.durable,
        ) {
            Ok(()) => {
                self.armed = false;
                Ok(())
            }
            Err(Failure {
                stage: Stage::Sync,
                error,
            }) => {
                let error = self.context(
                    error,
                    what,
                    "fsync of the new content failed, so nothing was replaced and the \
                     temporary file was removed",
                );
                let _ = self.remove_temp();
                Err(CommitError {
                    error,
                    file: None,
                    committed: false,
                })
            }
            Err(Failure {
                stage: Stage::Rename,
                error,
            }) => {
                let error = self.context(error, what, "the rename failed");
                Err(CommitError::handed_back(error, self))
            }
            Err(Failure {
                stage: Stage::SyncDir,
                error,
            }) => {
                self.armed = false;
                let error = self.context(
                    error,
                    what,
                    "the new content is in place, but the directory fsync failed, so its \
                     durability is not proven",
                );
                Err(CommitError {
                    error,
                    file: None,
                    committed: true,
                })
            }
        }
    }

    fn context(&self, cause: io::Error, what: &str, why: &str) -> io::Error {
        error::context(
            cause,
            format!("failed to {} `{}`: {}", what, self.path().display(), why),
        )
    }
}

/// Room for the prefix of a temporary name, `.NAME.`: on the stack on Unix (no allocation
/// per file), an `OsString` elsewhere.
struct PrefixBuf {
    #[cfg(unix)]
    bytes: [u8; MAX_NAME_IN_TEMP + 2],
    #[cfg(not(unix))]
    text: OsString,
}

impl PrefixBuf {
    fn new() -> PrefixBuf {
        PrefixBuf {
            #[cfg(unix)]
            bytes: [0; MAX_NAME_IN_TEMP + 2],
            #[cfg(not(unix))]
            text: OsString::new(),
        }
    }

    /// `.NAME.`, with NAME cut to [`MAX_NAME_IN_TEMP`] bytes (Unix) or characters.
    fn temp_prefix(&mut self, name: &Path) -> &OsStr {
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let name = name.as_os_str().as_bytes();
            let name = &name[..name.len().min(MAX_NAME_IN_TEMP)];
            self.bytes[0] = b'.';
            self.bytes[1..=name.len()].copy_from_slice(name);
            self.bytes[name.len() + 1] = b'.';
            OsStr::from_bytes(&self.bytes[..name.len() + 2])
        }
        #[cfg(not(unix))]
        {
            let name: String = name
                .to_string_lossy()
                .chars()
                .take(MAX_NAME_IN_TEMP)
                .collect();
            self.text = OsString::from(".");
            self.text.push(name);
            self.text.push(".");
            &self.text
        }
    }
}

/// The mode a temporary file that will replace a regular file of mode `mode` is created
/// with: the owner's permission bits, and for group and others only what all three classes
/// of `mode` grant (0644 stays 0644, 0640 becomes 0600); setuid, setgid and sticky bits come
/// at commit.
///
/// Until commit the file is ours (our user and group, maybe not the destination's), so
/// someone may fall in another class than they will on the published file. With these bits,
/// whatever class they fall in before and after, nobody can open the file with more rights
/// than the published one gives them (and a descriptor opened early keeps its rights).
/// Usually the kernel then gives the file exactly the destination's mode and owner, and the
/// commit needs no `fchmod`.
fn mode_until_commit(mode: u32) -> u32 {
    let everyone = (mode >> 6) & (mode >> 3) & mode & 0o7;
    (mode & 0o700) | (everyone << 3) | everyone
}

/// The target of the symlink at `link` (which `dest` names), resolved once: relative to the
/// link's directory.
fn follow_once(link: &Destination, dest: &Path, sync: bool) -> io::Result<Destination> {
    let target =
        sys::read_link(link.at()).map_err(|e| error::with_path(e, "read symlink", dest))?;
    Destination::open_for(&link.dir_path().join(target), sync)
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        let _ = self.remove_temp();
    }
}

impl fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicFile")
            .field("path", &self.path())
            .field("temp", &self.target.dir_path().join(&self.temp))
            .field("durable", &self.durable)
            .finish()
    }
}

delegate_io!(AtomicFile, as_file());
delegate_handles!(AtomicFile, as_file());

/// A failed [`AtomicFile::commit`] or [`commit_noclobber`](AtomicFile::commit_noclobber):
/// whether the new content got in place, the error, and the uncommitted file when it can be
/// retried.
///
/// Converts into [`io::Error`] with `?` (dropping a handed-back file, which removes it).
///
/// # Python equivalent
/// None: `os.replace` raises `OSError` without saying whether anything happened.
///
/// ```
/// let dir = tempkit::TemporaryDirectory::new()?;
/// std::fs::create_dir(dir.path().join("a-directory"))?;
/// let file = tempkit::AtomicFile::create(dir.path().join("a-directory"))?;
/// let err = file.commit().unwrap_err(); // a file cannot replace a directory
/// assert!(!err.committed());
/// let file = err.into_file().expect("handed back");
/// file.discard()?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct CommitError {
    error: io::Error,
    /// Boxed: a `Result` with this error stays small.
    file: Option<Box<AtomicFile>>,
    committed: bool,
}

impl CommitError {
    /// An error before anything was published, with nothing handed back (`tempkit::tokio`:
    /// a background write failed, or the runtime shut down).
    #[cfg(feature = "tokio")]
    pub(crate) fn not_committed(error: io::Error) -> CommitError {
        CommitError {
            error,
            file: None,
            committed: false,
        }
    }

    fn handed_back(error: io::Error, file: AtomicFile) -> CommitError {
        CommitError {
            error,
            file: Some(Box::new(file)),
            committed: false,
        }
    }

    /// The kind of the underlying error (`AlreadyExists` for a refused no-clobber commit).
    ///
    /// # Python equivalent
    /// The `OSError` subclass (`FileExistsError`, ...).
    ///
    /// ```
    /// # let dir = tempkit::TemporaryDirectory::new()?;
    /// # std::fs::write(dir.path().join("t"), "")?;
    /// let err = tempkit::AtomicFile::create(dir.path().join("t"))?.commit_noclobber().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn kind(&self) -> io::ErrorKind {
        self.error.kind()
    }

    /// `false`: the destination is untouched. `true`: the new content is in place, but its
    /// durability could not be proven (the directory `fsync` failed).
    ///
    /// # Python equivalent
    /// None: Python does not tell.
    ///
    /// ```
    /// # let dir = tempkit::TemporaryDirectory::new()?;
    /// # std::fs::write(dir.path().join("t"), "")?;
    /// let err = tempkit::AtomicFile::create(dir.path().join("t"))?.commit_noclobber().unwrap_err();
    /// assert!(!err.committed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn committed(&self) -> bool {
        self.committed
    }

    /// The error, naming the destination.
    ///
    /// # Python equivalent
    /// The `OSError` raised.
    ///
    /// ```
    /// # let dir = tempkit::TemporaryDirectory::new()?;
    /// # std::fs::write(dir.path().join("t"), "")?;
    /// let err = tempkit::AtomicFile::create(dir.path().join("t"))?.commit_noclobber().unwrap_err();
    /// assert!(err.error().to_string().contains("without replacing"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn error(&self) -> &io::Error {
        &self.error
    }

    /// The uncommitted [`AtomicFile`], to commit again (or elsewhere) or discard: `Some`
    /// when nothing was committed and the file can still be trusted (a failed rename or
    /// metadata copy); `None` when the commit happened, or when the file's `fsync` failed
    /// (the temporary file is then already removed).
    ///
    /// # Python equivalent
    /// None: after a failed `os.replace` the caller still holds the temporary file's name.
    ///
    /// ```
    /// # let dir = tempkit::TemporaryDirectory::new()?;
    /// # std::fs::write(dir.path().join("t"), "")?;
    /// let err = tempkit::AtomicFile::create(dir.path().join("t"))?.commit_noclobber().unwrap_err();
    /// let file = err.into_file().unwrap();
    /// file.commit()?; // replacing is fine after all
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_file(self) -> Option<AtomicFile> {
        self.file.map(|file| *file)
    }

    /// The error alone (dropping a handed-back file, which removes it).
    ///
    /// # Python equivalent
    /// The `OSError` raised.
    ///
    /// ```
    /// # let dir = tempkit::TemporaryDirectory::new()?;
    /// # std::fs::write(dir.path().join("t"), "")?;
    /// let err = tempkit::AtomicFile::create(dir.path().join("t"))?.commit_noclobber().unwrap_err();
    /// let io_error: std::io::Error = err.into_error();
    /// # let _ = io_error;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_error(self) -> io::Error {
        self.error
    }
}

impl fmt::Debug for CommitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CommitError")
            .field("error", &self.error)
            .field("committed", &self.committed)
            .field("file", &self.file)
            .finish()
    }
}

handing_back_error!(CommitError, error);

/// Replaces the file at `path` with `contents`, atomically and durably.
///
/// The same as [`AtomicFile::create`], `write_all`, [`commit`](AtomicFile::commit): see
/// [`AtomicFile`] for the guarantees (old or new content at every instant, new content kept
/// after a power cut once this returns `Ok`, owner and mode of an existing file kept where
/// nobody else can write the directory, else the caller's and at most a new file's mode, a
/// symlink replaced as a link). [`AtomicFileOptions::write`] takes options.
///
/// # Errors
/// Those of [`AtomicFile::create`], of the write, and of the commit (as an [`io::Error`]
/// naming the path). If only the final directory `fsync` failed, the new content is in place
/// but the error is still returned: its durability is not proven.
///
/// # Python equivalent
/// None in the standard library: `NamedTemporaryFile(dir=..., delete=False)`, write,
/// `os.fsync`, `os.replace`, `os.fsync` of the directory.
///
/// ```
/// let dir = tempkit::TemporaryDirectory::new()?;
/// let path = dir.path().join("settings.json");
/// tempkit::write_atomic(&path, br#"{"theme": "dark"}"#)?;
/// assert_eq!(std::fs::read_to_string(&path)?, r#"{"theme": "dark"}"#);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn write_atomic<P: AsRef<Path>, C: AsRef<[u8]>>(path: P, contents: C) -> io::Result<()> {
    AtomicFileOptions::default().write(path, contents)
}

// The file and the error cross threads: checked at compile time.
const _: () = {
    fn send_sync<T: Send + Sync>() {}
    #[allow(dead_code)]
    fn check() {
        send_sync::<AtomicFile>();
        send_sync::<CommitError>();
        send_sync::<AtomicFileOptions>();
    }
};

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts found without parsing every component are those of `Path::file_name` and
    /// `Path::parent` (the current directory for an empty parent).
    #[test]
    fn split_agrees_with_file_name_and_parent() {
        let paths = [
            "a", "a/b", "/b", "a//b", "//b", "a/b/", "a/b/.", "./b", "a/./b", "../b", "/a/b//",
            "/", "..", "a/..", "", ".", "a/.b", "...",
        ];
        for given in paths {
            let path = Path::new(given);
            let split = split(path);
            match path.file_name() {
                None => assert!(split.is_none(), "{:?}", given),
                Some(name) => {
                    let (whole, parts) = split.expect(given);
                    assert_eq!(parts.name(&whole), Path::new(name), "{:?}", given);
                    let parent = match path.parent() {
                        Some(p) if !p.as_os_str().is_empty() => p,
                        _ => Path::new("."),
                    };
                    assert_eq!(parts.dir_path(&whole), parent, "{:?}", given);
                    assert_eq!(whole, path, "{:?}", given);
                }
            }
        }
    }

    #[test]
    fn mode_until_commit_keeps_only_what_every_class_grants() {
        for (mode, want) in [
            (0o644, 0o644),
            (0o640, 0o600),
            (0o604, 0o600),
            (0o664, 0o644),
            (0o755, 0o755),
            (0o751, 0o711),
            (0o4755, 0o755),
            (0o2770, 0o700),
            (0o444, 0o444),
            (0o000, 0o000),
        ] {
            assert_eq!(mode_until_commit(mode), want, "{:o}", mode);
        }
    }
}
