//! `TemporaryDirectory`: a directory removed, with everything in it, when dropped.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::keep::{self, Keepable, Life};
use crate::publish::{self, Destination, Failure, Poison, Source, Stage};
use crate::sys::{self, At, MetaKind, Rename, StatKind};
use crate::{error, path, reap, remove, Builder};

/// A private directory (mode 0700) that is removed, with everything in it, when dropped.
///
/// Create one with [`TemporaryDirectory::new`] or, with options, with
/// [`Builder::temporary_directory`]. Three ways out:
///
/// | exit | removes? | errors |
/// |---|---|---|
/// | drop | if [`delete`](Builder::delete) is `true` (the default) | to the [cleanup-error hook](crate::set_cleanup_error_hook); never panics |
/// | [`cleanup`](TemporaryDirectory::cleanup) | always, also with `delete(false)` | returned, unless [`ignore_cleanup_errors`](Builder::ignore_cleanup_errors) |
/// | [`keep`](TemporaryDirectory::keep) | never: hands you the path | none |
///
/// # Security
/// The removal is descriptor-relative (`openat`/`unlinkat`/`fstatat`, no-follow) and never
/// follows a symlink: a link inside the tree is removed as a link, and its target keeps its
/// contents, mode and owner. It stays inside the tree even if someone swaps a subdirectory
/// for a symlink while it runs (the class of CVE-2022-21658 and CPython's gh-157579), and if
/// the directory itself was replaced by a symlink, the link is left alone and an error
/// returned. Entries the owner may not enter or delete (mode 000, read-only directories) are
/// given mode 0700 and removed; nothing outside the tree is ever changed. The walk uses a
/// heap stack and a bounded number of descriptors (about 32), so a tree 10,000 levels deep is
/// no problem.
///
/// # Performance
/// An empty directory costs one `rmdir`. A large tree (past 100 entries, on tmpfs) is removed by up to
/// four threads (the one dropping it among them, at most one per core), each taking whole
/// subdirectories, with the same guarantees and the same bound on descriptors in total; a
/// small tree never starts a thread, and where no thread can be started the current one does
/// all the work.
///
/// # Keeping evidence
/// A directory dropped while its thread panics is kept, and its path printed, with
/// [`Builder::keep_on_panic`] or `TEMPKIT_KEEP=on-panic`; for failures that are not panics,
/// see [`keep_on_error`](TemporaryDirectory::keep_on_error) and
/// [`keep_if`](TemporaryDirectory::keep_if).
///
/// # Borrow it, never move it
/// `AsRef<Path>` is implemented for `&TemporaryDirectory` only. Passing the directory by
/// value to a function taking `impl AsRef<Path>` would move it in and drop it, removing the
/// directory, before the callee used the path (the `tempfile` crate's issue #115), so it does
/// not compile:
///
/// ```compile_fail
/// let dir = tempkit::TemporaryDirectory::new()?;
/// let mut make = std::process::Command::new("make");
/// make.current_dir(dir); // error: `AsRef<Path>` is not implemented for `TemporaryDirectory`
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// Borrow it instead:
///
/// ```
/// let dir = tempkit::TemporaryDirectory::new()?;
/// let status = std::process::Command::new("true").current_dir(&dir).status()?;
/// assert!(status.success() && dir.path().is_dir());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Platform notes
/// Windows: the directory is created with CPython's owner-only security descriptor
/// (`D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)`: SYSTEM, Administrators and the
/// owner; nothing inherited from the parent). The walk opens every entry itself with
/// `FILE_FLAG_OPEN_REPARSE_POINT`: a symlink or junction is deleted as a link and never
/// entered; a read-only attribute is cleared on the entry itself, through that handle, and the
/// entry deleted through it. A file that someone holds open without sharing delete (C's
/// `fopen`) cannot be deleted: `cleanup()` names it in its error and removes the rest, and a
/// later `cleanup()` finishes once it is closed. Entries are found by path, not relative to a
/// handle. Other non-Unix platforms use a path-based walk built on `std` only.
///
/// Publishing on Windows: [`persist_noclobber`](TemporaryDirectory::persist_noclobber) is
/// `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING`; its durable sync flushes every file
/// through a handle to the entry itself (a symlink or junction is never followed), a read-only
/// file with its attribute cleared for the flush and restored after it (there is no directory
/// flush). There is no atomic exchange: [`exchange`](TemporaryDirectory::exchange) is
/// `Unsupported` (`NotFound` with nothing at `to`), so [`replace`](TemporaryDirectory::replace)
/// works onto nothing only.
///
/// # Python equivalent
/// `tempfile.TemporaryDirectory(suffix, prefix, dir, ignore_cleanup_errors, delete=)`. The
/// `with` block is the value's scope: [`path`](TemporaryDirectory::path) is what `__enter__`
/// returns. Deviations: after a cleanup that succeeded, further `cleanup()` calls do nothing
/// (Python removes whatever is at the name again); `ignore_cleanup_errors` also covers errors
/// of the permission repair (CPython's gh-135812); no `ResourceWarning` on drop.
///
/// ```
/// let dir = tempkit::TemporaryDirectory::new()?;
/// std::fs::write(dir.path().join("notes.txt"), b"scratch")?;
/// let path = dir.path().to_path_buf();
/// drop(dir);
/// assert!(!path.exists());
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "the directory is removed at once when the value is dropped"]
pub struct TemporaryDirectory {
    path: PathBuf,
    delete: bool,
    /// Keep policy, error reports and `ignore_cleanup_errors`.
    life: Life,
    /// Removed entirely by a `cleanup()` that succeeded: nothing is left to do.
    removed: bool,
    /// Set by [`Builder::protect`] or [`Builder::reapable`]; `None` for a plain directory.
    guard: Option<Guard>,
    /// Whether publishing syncs the tree and the destination's directory (the default).
    durable: bool,
    /// Set when a durable publish's `fsync` failed: no later durable publish may succeed.
    poisoned: Option<Poison>,
}

/// What a protected or tagged directory holds beyond its path.
#[derive(Debug)]
struct Guard {
    /// The directory, open (`O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC`) for its whole life
    /// when protected, holding `flock(LOCK_SH)` if `locked`; `None` when only tagged.
    held: Option<sys::Handle>,
    locked: bool,
    /// Device and inode, to prove the name still refers to this directory before removing.
    id: Option<(u64, u64)>,
    tagged: bool,
}

impl TemporaryDirectory {
    /// Wraps a directory just created at `path` (by [`Builder::temporary_directory`]).
    pub(crate) fn from_created(path: PathBuf, delete: bool, life: Life) -> Self {
        TemporaryDirectory {
            path,
            delete,
            life,
            removed: false,
            guard: None,
            durable: true,
            poisoned: None,
        }
    }

    /// Protects (`flock(LOCK_SH)` on a descriptor held for the directory's life) and/or tags
    /// the new directory. Never fails: what cannot be done is left undone, and
    /// [`is_protected`](TemporaryDirectory::is_protected) and
    /// [`is_reapable`](TemporaryDirectory::is_reapable) say so.
    pub(crate) fn arm(&mut self, protect: bool, tag: bool) {
        let mut guard = Guard {
            held: None,
            locked: false,
            id: None,
            tagged: false,
        };
        let mut unprotected = None;
        // No descriptor (EMFILE), a platform without locks: unprotected and untagged.
        match sys::open_dir_handle(&self.path) {
            Ok(held) => {
                let stat = sys::stat_fd(held.fd()).ok();
                guard.id = stat.map(|st| (st.dev, st.ino));
                if protect {
                    // ENOLCK/EOPNOTSUPP (NFS without locks): unprotected, still checked by id.
                    match sys::lock_shared(held.fd()) {
                        Ok(()) => guard.locked = true,
                        Err(e) => unprotected = Some(error::with_path(e, "lock", &self.path)),
                    }
                }
                if let (true, Some(stat)) = (tag, stat) {
                    guard.tagged = reap::tag(held.fd(), &stat).is_ok();
                }
                if protect {
                    guard.held = Some(held);
                }
            }
            Err(e) if protect => unprotected = Some(error::with_path(e, "open", &self.path)),
            Err(_) => {}
        }
        self.guard = Some(guard);
        // Said once, through the cleanup-error hook (unless errors are ignored).
        if let Some(e) = unprotected {
            if !self.life.ignores_errors() {
                keep::report_unprotected(&self.path, e);
            }
        }
    }

    /// Creates a directory in [`gettempdir()`](crate::gettempdir), removed when dropped.
    ///
    /// The same as `Builder::new().temporary_directory()`: see
    /// [`Builder::temporary_directory`].
    ///
    /// # Errors
    /// As [`Builder::mkdtemp`].
    ///
    /// # Python equivalent
    /// `tempfile.TemporaryDirectory()`.
    ///
    /// ```
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// assert!(dir.path().is_dir());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<TemporaryDirectory> {
        Builder::new().temporary_directory()
    }

    /// The directory's absolute path.
    ///
    /// # Python equivalent
    /// The `name` attribute, and what `with TemporaryDirectory() as name` binds.
    ///
    /// ```
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// assert!(dir.path().is_absolute());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory and everything in it now, reporting errors.
    ///
    /// Removes also when [`delete`](Builder::delete) is `false` (which only turns off the
    /// removal on drop). Calling it again after it succeeded does nothing; after it failed,
    /// it tries again. A directory that someone else removed already is not an error.
    ///
    /// # Errors
    /// The first thing that could not be removed (or made removable), naming its path and
    /// keeping the OS error's kind; the walk still removes everything else it can. If the
    /// directory was replaced by a symlink, an error, and the link is left alone. With
    /// [`ignore_cleanup_errors`](Builder::ignore_cleanup_errors), never an error.
    ///
    /// # Security
    /// See the [type's documentation](TemporaryDirectory#security).
    ///
    /// # Python equivalent
    /// `TemporaryDirectory.cleanup()`.
    ///
    /// ```
    /// let mut dir = tempkit::TemporaryDirectory::new()?;
    /// std::fs::create_dir(dir.path().join("sub"))?;
    /// dir.cleanup()?;
    /// assert!(!dir.path().exists());
    /// dir.cleanup()?; // again: nothing to do
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn cleanup(&mut self) -> io::Result<()> {
        if self.removed {
            return Ok(());
        }
        match self.remove() {
            Ok(()) => {
                self.removed = true;
                Ok(())
            }
            Err(_) if self.life.ignores_errors() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Disarms the directory: it is not removed on drop, and its path is handed to you.
    ///
    /// # Python equivalent
    /// `TemporaryDirectory(delete=False)` decided after creation; or `mkdtemp()`.
    ///
    /// ```
    /// let path = tempkit::TemporaryDirectory::new()?.keep();
    /// assert!(path.is_dir());
    /// std::fs::remove_dir(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use = "the directory stays: its path is all that is left of it"]
    pub fn keep(mut self) -> PathBuf {
        self.delete = false;
        self.untag();
        std::mem::take(&mut self.path)
    }

    /// Keeps the directory when dropped if `yes` (and prints its path then, as
    /// [`Builder::keep_on_panic`] does); `keep_if(false)` undoes it.
    ///
    /// For a test that returns `Err`, whose locals are dropped before the harness sees the
    /// error (so no panic is involved): decide while the outcome is known. Unlike
    /// [`keep`](TemporaryDirectory::keep), the object stays armed and usable, and
    /// [`cleanup()`](TemporaryDirectory::cleanup) still removes it.
    ///
    /// # Python equivalent
    /// None: `delete=False` is decided at creation.
    ///
    /// ```
    /// let mut dir = tempkit::TemporaryDirectory::new()?;
    /// let outcome: Result<(), std::io::Error> = Ok(()); // what the test found
    /// dir.keep_if(outcome.is_err());
    /// let path = dir.path().to_owned();
    /// drop(dir);
    /// assert!(!path.exists()); // success: removed
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn keep_if(&mut self, yes: bool) -> &mut Self {
        self.life.keep_if(yes);
        self
    }

    /// Whether [`persist_noclobber`](TemporaryDirectory::persist_noclobber),
    /// [`replace`](TemporaryDirectory::replace) and [`exchange`](TemporaryDirectory::exchange)
    /// make the publish durable (default `true`): every file and directory of the tree synced
    /// before the rename, the destination's directory after it.
    ///
    /// With `false` the publish is still atomic (readers and a crashed writer see the old tree
    /// or the new one, never a mix), but a power cut shortly after may bring back the old tree,
    /// or on some file systems empty files in the new one. For callers that publish often and
    /// sync in their own way (`syncfs`, a batch). The guard that
    /// [`exchange`](TemporaryDirectory::exchange) returns for the old tree keeps the setting.
    ///
    /// # Python equivalent
    /// `os.rename` alone, without `os.fsync`.
    ///
    /// ```
    /// let parent = tempkit::TemporaryDirectory::new()?;
    /// let mut staged = tempkit::Builder::new().dir(parent.path()).temporary_directory()?;
    /// std::fs::write(staged.path().join("cache.bin"), "entry")?;
    /// staged.durable(false);
    /// let cache = staged.persist_noclobber(parent.path().join("cache"))?;
    /// assert!(cache.join("cache.bin").is_file());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn durable(&mut self, yes: bool) -> &mut Self {
        self.durable = yes;
        self
    }

    /// Runs `f` with the directory and keeps it (printing its path to stderr) if `f` returns
    /// `Err` or panics; otherwise it is dropped as usual when `f` returns.
    ///
    /// This is keep-on-failure for tests that return `Result`: their locals are dropped
    /// before the harness sees the `Err`, so [`Builder::keep_on_panic`] cannot tell. A panic
    /// inside `f` keeps the directory whatever `keep_on_panic` says.
    ///
    /// # Python equivalent
    /// None (pytest's `tmp_path_retention_policy = "failed"` is the closest).
    ///
    /// ```
    /// use std::io;
    /// fn parse_config(dir: &std::path::Path) -> io::Result<String> {
    ///     std::fs::read_to_string(dir.join("config.toml"))
    /// }
    ///
    /// let result = tempkit::TemporaryDirectory::new()?.keep_on_error(|dir| {
    ///     std::fs::write(dir.path().join("config.toml"), "answer = 42")?;
    ///     parse_config(dir.path())
    /// });
    /// assert_eq!(result?, "answer = 42"); // Ok: the directory is gone
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn keep_on_error<T, E>(
        self,
        f: impl FnOnce(&mut TemporaryDirectory) -> Result<T, E>,
    ) -> Result<T, E> {
        keep::keep_on_error(self, f)
    }

    /// Whether the directory holds a shared lock that age-based cleaners honour (see
    /// [`Builder::protect`]).
    ///
    /// `false` without `protect(true)`, and also with it where locking was impossible:
    /// no descriptor left (`EMFILE`), a file system without locks (NFS: `ENOLCK`,
    /// `EOPNOTSUPP`), a platform other than Unix. Creation succeeds regardless.
    ///
    /// ```
    /// let dir = tempkit::Builder::new().protect(true).temporary_directory()?;
    /// assert_eq!(dir.is_protected(), cfg!(target_os = "linux"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn is_protected(&self) -> bool {
        self.guard.as_ref().map_or(false, |g| g.locked)
    }

    /// Whether the directory carries an owner tag, so that [`reap`](crate::reap) can remove
    /// it once this process is dead (see [`Builder::reapable`]).
    ///
    /// `false` without `reapable(true)`, with `delete(false)` (such a directory is meant to
    /// stay), after [`keep`](TemporaryDirectory::keep), and where tagging was impossible: a
    /// file system without `user.*` extended attributes, no descriptor left, a platform
    /// other than Linux.
    ///
    /// ```
    /// let dir = tempkit::Builder::new().reapable(true).temporary_directory()?;
    /// # let _ = dir.is_reapable();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn is_reapable(&self) -> bool {
        self.guard.as_ref().map_or(false, |g| g.tagged)
    }

    /// Removes the tag before the directory is handed over: through the descriptor held, or
    /// one opened for it (and proven to be this directory).
    fn untag(&mut self) {
        let guard = match self.guard.as_mut() {
            Some(guard) if guard.tagged => guard,
            _ => return,
        };
        let removed = match &guard.held {
            Some(held) => reap::untag(held.fd()),
            None => sys::open_dir_handle(&self.path).and_then(|held| {
                let st = sys::stat_fd(held.fd())?;
                if Some((st.dev, st.ino)) == guard.id {
                    reap::untag(held.fd())
                } else {
                    Ok(())
                }
            }),
        };
        guard.tagged = removed.is_err();
    }

    /// Removes the tree, after proving that the name still refers to the directory created
    /// (when its identity was recorded).
    fn remove(&self) -> io::Result<()> {
        let expected = match self.guard.as_ref().and_then(|g| g.id) {
            Some(id) => id,
            None => return remove::remove_tree(&self.path),
        };
        match sys::stat_path(&self.path) {
            Ok(st) if st.kind == StatKind::Dir && (st.dev, st.ino) == expected => {
                remove::remove_tree(&self.path)
            }
            Ok(_) => Err(error::new(
                io::ErrorKind::Other,
                format!(
                    "failed to remove `{}`: the name no longer refers to the directory created \
                     (left alone)",
                    self.path.display()
                ),
            )),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(error::with_path(e, "inspect", &self.path)),
        }
    }
}

impl Keepable for TemporaryDirectory {
    const IS_DIR: bool = true;
    fn life_mut(&mut self) -> &mut Life {
        &mut self.life
    }
    fn kept_path(&self) -> &Path {
        &self.path
    }
    fn prepare_to_keep(&mut self) {
        self.untag();
    }
    fn remove_on_drop(&mut self) -> io::Result<()> {
        self.remove()
    }
}

/// Which of the three publishing methods is running.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DirOp {
    Publish,
    Replace,
    Exchange,
}

impl DirOp {
    fn verb(self) -> &'static str {
        match self {
            DirOp::Publish => "publish (without replacing)",
            DirOp::Replace => "replace",
            DirOp::Exchange => "exchange",
        }
    }
}

/// The outcome of one publishing rename of a directory.
enum Published {
    /// Done, and durable.
    Done,
    /// Done, but the directory `fsync` after the rename failed.
    NotDurable(io::Error),
}

impl TemporaryDirectory {
    /// Publishes the directory, with everything in it, at `to`, unless something is there:
    /// never replaces anything, not even an empty directory. Returns `to`, absolute.
    ///
    /// Durable (unless [`durable(false)`](TemporaryDirectory::durable)): every file and
    /// directory of the tree is synced (`fsync`) before the rename, which is one
    /// `renameat2(RENAME_NOREPLACE)` relative to the opened directory of `to`, and that
    /// directory is synced after it. The directory must be on the destination's
    /// file system: create it there with [`Builder::dir`] (e.g. in `to`'s parent).
    ///
    /// # Errors
    /// A [`PersistDirError`] that hands this directory back, unchanged (unless a sync failed,
    /// see below): `AlreadyExists` if something is at `to`; `Unsupported` where the file
    /// system cannot refuse to replace atomically (FUSE, NFS, older kernels): there is no
    /// silent non-atomic fallback; the OS's cross-device error (`EXDEV`) if `to` is on
    /// another file system. If only the
    /// final directory `fsync` failed, the tree *is* at `to`: the error says so and its
    /// `dir` is disarmed and refers to `to`.
    ///
    /// After a failed sync (of the tree before the rename, or of the destination's directory
    /// after it) the directory handed back is *poisoned*: the kernel may have dropped the
    /// data after `EIO` and would report a second `fsync` as a success, so every later
    /// durable publish of it ([`persist_noclobber`](TemporaryDirectory::persist_noclobber),
    /// [`replace`](TemporaryDirectory::replace), [`exchange`](TemporaryDirectory::exchange))
    /// fails at once, without a system call, with an error that says so and keeps the first
    /// failure's kind. Write the tree again into a new directory. A tree sync that failed
    /// opening or listing an entry poisons too (the walk does not tell it from a failed
    /// `fsync`). A publish with [`durable(false)`](TemporaryDirectory::durable) promises no
    /// durability and still works.
    ///
    /// # Python equivalent
    /// None: `os.rename(tmp.name, to)` replaces an empty directory silently.
    ///
    /// ```
    /// let parent = tempkit::TemporaryDirectory::new()?;
    /// let staged = tempkit::Builder::new().dir(parent.path()).temporary_directory()?;
    /// std::fs::write(staged.path().join("index.html"), "<h1>v1</h1>")?;
    /// let site = staged.persist_noclobber(parent.path().join("site"))?;
    /// assert!(site.join("index.html").is_file());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn persist_noclobber<P: AsRef<Path>>(self, to: P) -> Result<PathBuf, PersistDirError> {
        let to = to.as_ref();
        self.publish_at(to, DirOp::Publish, |dir, dest| {
            (
                Rename::NoReplace,
                dir.rename(dest, Rename::NoReplace, false),
            )
        })
        .map(|(dir, to)| {
            let _ = dir.keep();
            to
        })
    }

    /// Replaces the directory at `to` (or publishes at `to` if nothing is there) with this
    /// one, atomically, then removes the old tree securely. Returns `to`, absolute.
    ///
    /// The swap is [`exchange`](TemporaryDirectory::exchange) (durable in the same way),
    /// followed by the removal of the old tree as [`cleanup`](TemporaryDirectory::cleanup)
    /// does it (descriptor-relative, never following a symlink). With nothing at `to`, it
    /// is [`persist_noclobber`](TemporaryDirectory::persist_noclobber).
    ///
    /// # Errors
    /// As [`exchange`](TemporaryDirectory::exchange). If the swap happened but the old tree
    /// could not be fully removed, the error says so and its `dir` owns what is left of the
    /// old tree (it tries again when dropped); with
    /// [`ignore_cleanup_errors`](Builder::ignore_cleanup_errors) that is not an error.
    ///
    /// # Python equivalent
    /// None: `os.rename` cannot replace a non-empty directory.
    ///
    /// ```
    /// let parent = tempkit::TemporaryDirectory::new()?;
    /// let site = parent.path().join("site");
    /// std::fs::create_dir(&site)?;
    /// std::fs::write(site.join("index.html"), "v1")?;
    /// let staged = tempkit::Builder::new().dir(parent.path()).temporary_directory()?;
    /// std::fs::write(staged.path().join("index.html"), "v2")?;
    /// staged.replace(&site)?;
    /// assert_eq!(std::fs::read_to_string(site.join("index.html"))?, "v2");
    /// assert_eq!(std::fs::read_dir(parent.path())?.count(), 1); // the old tree is gone
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn replace<P: AsRef<Path>>(self, to: P) -> Result<PathBuf, PersistDirError> {
        let to = to.as_ref();
        let (mut old, to) = self.publish_at(to, DirOp::Replace, |dir, dest| {
            // Something may appear or vanish at `to` meanwhile: a few rounds settle it.
            let mut how = Rename::Exchange;
            let mut result = dir.rename(dest, how, false);
            for _ in 0..3 {
                let retry = match &result {
                    Err(Failure {
                        stage: Stage::Rename,
                        error,
                    }) if error.kind() == io::ErrorKind::NotFound => Rename::NoReplace,
                    Err(Failure {
                        stage: Stage::Rename,
                        error,
                    }) if error.kind() == io::ErrorKind::AlreadyExists => Rename::Exchange,
                    _ => break,
                };
                // Only a rename failed: the tree's sync before it stands.
                how = retry;
                result = dir.rename(dest, how, true);
            }
            (how, result)
        })?;
        // After an exchange the old tree is at our path; after a plain publish, nothing is.
        match old.cleanup() {
            Ok(()) => {
                old.delete = false;
                Ok(to)
            }
            Err(e) => {
                let error = error::context(
                    e,
                    format!(
                        "replaced `{}`, but failed to remove the old tree, now at `{}`",
                        to.display(),
                        old.path.display()
                    ),
                );
                Err(PersistDirError { error, dir: old })
            }
        }
    }

    /// Swaps this directory and the directory at `to` atomically
    /// (`renameat2(RENAME_EXCHANGE)`): the new tree is at `to`, and the returned
    /// `TemporaryDirectory` owns the old one, now at this directory's path (removed when
    /// dropped, unless `delete(false)`).
    ///
    /// Durable as [`persist_noclobber`](TemporaryDirectory::persist_noclobber): the tree is
    /// synced before, the directory of `to` after (unless
    /// [`durable(false)`](TemporaryDirectory::durable)).
    ///
    /// # Errors
    /// A [`PersistDirError`] that hands this directory back, unchanged (unless a sync failed):
    /// `NotFound` if nothing is at `to`; `InvalidInput` if `to` is not a directory (a symlink
    /// included); `Unsupported` where the file system cannot exchange atomically (FUSE, NFS,
    /// an overlayfs lower layer, older kernels): no silent non-atomic fallback; the
    /// cross-device error if `to` is on another file system. If only the final directory
    /// `fsync` failed, the swap happened: the error says so and its `dir` owns the old tree.
    /// After a failed sync the directory handed back is poisoned, as for
    /// [`persist_noclobber`](TemporaryDirectory::persist_noclobber).
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// let parent = tempkit::TemporaryDirectory::new()?;
    /// let live = parent.path().join("live");
    /// std::fs::create_dir(&live)?;
    /// std::fs::write(live.join("v"), "1")?;
    /// let staged = tempkit::Builder::new().dir(parent.path()).temporary_directory()?;
    /// std::fs::write(staged.path().join("v"), "2")?;
    /// let old = staged.exchange(&live)?;
    /// assert_eq!(std::fs::read_to_string(live.join("v"))?, "2");
    /// assert_eq!(std::fs::read_to_string(old.path().join("v"))?, "1"); // roll back with it
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn exchange<P: AsRef<Path>>(self, to: P) -> Result<TemporaryDirectory, PersistDirError> {
        let to = to.as_ref();
        self.publish_at(to, DirOp::Exchange, |dir, dest| {
            (Rename::Exchange, dir.rename(dest, Rename::Exchange, false))
        })
        .map(|(old, _)| old)
    }

    /// The publishing sequence with `rename` as its rename (which says how it renamed last:
    /// a `replace` may end in a plain publish): opens the directory of `to`, checks what is
    /// there, runs it. Returns the guard of what is at this directory's path
    /// afterwards (the old tree after an exchange; nothing after a plain publish) and `to`,
    /// absolute; or hands `self` back with the error.
    fn publish_at(
        mut self,
        to: &Path,
        op: DirOp,
        rename: impl FnOnce(&TemporaryDirectory, &Destination) -> (Rename, Result<(), Failure>),
    ) -> Result<(TemporaryDirectory, PathBuf), PersistDirError> {
        let what = format!(
            "failed to {} directory `{}` as `{}`",
            op.verb(),
            self.path.display(),
            to.display()
        );
        // A durable publish after a failed fsync could only be told 0 by the kernel.
        if self.durable {
            if let Some(poison) = &self.poisoned {
                let error = poison.error(&what);
                return Err(PersistDirError { error, dir: self });
            }
        }
        let prepared = path::absolute(to).and_then(|absolute| {
            let dest = Destination::open_for(to, self.durable)?;
            match dest.meta()?.map(|m| m.kind) {
                // Publishing refuses whatever is there; a swap needs a directory there.
                None | Some(MetaKind::Dir) => Ok((absolute, dest)),
                Some(_) if op == DirOp::Publish => Ok((absolute, dest)),
                Some(_) => Err(error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{}: it is not a directory", what),
                )),
            }
        });
        let (absolute, dest) = match prepared {
            Ok(prepared) => prepared,
            Err(error) => return Err(PersistDirError { error, dir: self }),
        };
        // Untagged first: a published tree must never look like a dead owner's leftover.
        self.untag();
        if self.is_reapable() {
            let error = error::new(
                io::ErrorKind::Other,
                format!("{}: its owner tag could not be removed", what),
            );
            return Err(PersistDirError { error, dir: self });
        }
        let (how, renamed) = rename(&self, &dest);
        let outcome = match renamed {
            Ok(()) => Published::Done,
            Err(Failure {
                stage: Stage::SyncDir,
                error,
            }) => Published::NotDurable(error),
            Err(Failure { stage, error }) => {
                if stage == Stage::Sync {
                    // Also when what failed was opening or listing an entry of the tree: the
                    // walk does not tell them apart, and the safe side is to refuse.
                    self.poisoned = Some(Poison::new(&error));
                }
                let error = describe(error, stage, &what);
                return Err(PersistDirError { error, dir: self });
            }
        };
        // Whatever is at our path now (the old tree, or nothing) is the guard's.
        let life = self.life;
        let mut old = TemporaryDirectory::from_created(self.path.clone(), self.delete, life);
        old.durable = self.durable;
        let _ = self.keep();
        match outcome {
            Published::Done => Ok((old, absolute)),
            Published::NotDurable(e) => {
                let poison = Poison::new(&e);
                let error = error::context(
                    e,
                    format!(
                        "{}: the rename happened, but the directory fsync failed, so its \
                         durability is not proven",
                        what
                    ),
                );
                // After a swap (`exchange`, or `replace` over a tree) the old tree is at our
                // path: its guard goes with the error; else the published tree, disarmed.
                let mut dir = if how == Rename::Exchange {
                    old
                } else {
                    let _ = old.keep();
                    TemporaryDirectory::from_created(absolute, false, life)
                };
                // Publishing it durably again would sync that directory again, told 0.
                dir.poisoned = Some(poison);
                Err(PersistDirError { error, dir })
            }
        }
    }

    /// The publishing rename of this tree to `dest`, durable unless `durable(false)`;
    /// `synced`: the tree was synced for an earlier try, which only failed to rename.
    fn rename(&self, dest: &Destination, how: Rename, synced: bool) -> Result<(), Failure> {
        publish::publish(
            if synced {
                Source::SyncedTree
            } else {
                Source::Tree(&self.path)
            },
            At::path(&self.path),
            dest.at(),
            how,
            self.durable,
        )
    }
}

/// The error of a failed step, saying why in the words the caller needs.
fn describe(e: io::Error, stage: Stage, what: &str) -> io::Error {
    if stage == Stage::Sync {
        return error::context(
            e,
            format!("{}: syncing the tree failed, nothing was moved", what),
        );
    }
    if sys::is_cross_device(&e) {
        return error::context(
            e,
            format!(
                "{}: they are on different file systems; create the temporary directory \
                 beside its destination (Builder::dir)",
                what
            ),
        );
    }
    if sys::is_unsupported(&e) {
        return error::context_as(
            io::ErrorKind::Unsupported,
            e,
            format!(
                "{}: the file system cannot do this atomically (no RENAME_NOREPLACE or \
                 RENAME_EXCHANGE); nothing was moved",
                what
            ),
        );
    }
    error::context(e, what.to_string())
}

#[cfg(feature = "tokio")]
impl TemporaryDirectory {
    /// Drop's first half, on the dropping thread (`tempkit::tokio`): keeps the directory if
    /// its policy says so (the thread's panic is seen here). Returns `true` when nothing is
    /// left to remove (kept, `delete(false)`, or removed already); else the removal is left to
    /// [`remove_deferred`](Self::remove_deferred), on any thread.
    pub(crate) fn drop_keeps(&mut self) -> bool {
        if !self.delete || self.removed {
            return true;
        }
        if keep::keep_on_drop(self) {
            self.delete = false;
            return true;
        }
        false
    }

    /// Drop's second half: removes the tree and reports an error to the hook, as `Drop` does
    /// (`while_panicking`: whether the thread that dropped it was panicking).
    pub(crate) fn remove_deferred(mut self, while_panicking: bool) {
        keep::remove_on_drop(&mut self, while_panicking);
        // Done, whatever the outcome: `Drop` must not try (and report) again.
        self.removed = true;
    }
}

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        if self.delete && !self.removed {
            keep::on_drop(self);
        }
        // A protected directory's lock is released here, after the removal, when the guard's
        // descriptor closes.
    }
}

impl fmt::Debug for TemporaryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryDirectory")
            .field("path", &self.path)
            .field("protected", &self.is_protected())
            .field("reapable", &self.is_reapable())
            .finish()
    }
}

/// By reference only: see [Borrow it, never move it](TemporaryDirectory#borrow-it-never-move-it).
impl AsRef<Path> for &TemporaryDirectory {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

/// A failed [`persist_noclobber`](TemporaryDirectory::persist_noclobber),
/// [`replace`](TemporaryDirectory::replace) or [`exchange`](TemporaryDirectory::exchange):
/// the error, and the directory handed back, so that nothing is lost.
///
/// Converts into [`io::Error`] with `?` (dropping the directory, which removes it if
/// `delete`). The async directories (feature `tokio`) hand theirs back in
/// `tempkit::tokio::PersistDirError`, whose directory is the async one.
///
/// # Python equivalent
/// None.
///
/// ```
/// let parent = tempkit::TemporaryDirectory::new()?;
/// std::fs::create_dir(parent.path().join("taken"))?;
/// let staged = tempkit::Builder::new().dir(parent.path()).temporary_directory()?;
/// let err = staged.persist_noclobber(parent.path().join("taken")).unwrap_err();
/// assert_eq!(err.error.kind(), std::io::ErrorKind::AlreadyExists);
/// assert!(err.dir.path().is_dir()); // handed back, still temporary
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct PersistDirError {
    /// What went wrong, naming both paths.
    pub error: io::Error,
    /// The directory, handed back (see each method for what it holds).
    pub dir: TemporaryDirectory,
}

impl fmt::Debug for PersistDirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistDirError")
            .field("error", &self.error)
            .field("dir", &self.dir)
            .finish()
    }
}

handing_back_error!(PersistDirError, error);

// Compile-time check: a `TemporaryDirectory` may be sent to and shared with other threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TemporaryDirectory>();
    send_sync::<PersistDirError>();
};
