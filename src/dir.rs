//! `TemporaryDirectory`: a directory removed, with everything in it, when dropped.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use crate::keep::{self, Keepable, Life};
use crate::sys::{self, StatKind};
use crate::{error, reap, remove, Builder};

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
/// The secure walk is the Unix one; other platforms remove the tree with a path-based walk
/// built on `std` only.
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
        // No descriptor (EMFILE), a platform without locks: unprotected and untagged.
        if let Ok(held) = sys::open_dir_handle(&self.path) {
            let stat = sys::stat_fd(held.fd()).ok();
            guard.id = stat.map(|st| (st.dev, st.ino));
            if protect {
                // ENOLCK/EOPNOTSUPP (NFS without locks): unprotected, still checked by id.
                guard.locked = sys::lock_shared(held.fd()).is_ok();
            }
            if let (true, Some(stat)) = (tag, stat) {
                guard.tagged = reap::tag(held.fd(), &stat).is_ok();
            }
            if protect {
                guard.held = Some(held);
            }
        }
        self.guard = Some(guard);
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

// Compile-time check: a `TemporaryDirectory` may be sent to and shared with other threads.
const _: fn() = || {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TemporaryDirectory>();
};
