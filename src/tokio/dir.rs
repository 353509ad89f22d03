//! The async `TemporaryDirectory`: a blocking one inside, whose removal never runs on a
//! runtime worker.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use super::blocking;
use crate::Builder;

/// A directory removed with everything in it when dropped, without blocking the runtime.
///
/// The blocking [`crate::TemporaryDirectory`] inside, with the same options ([`Builder`]:
/// `prefix`, `dir`, `delete`, `ignore_cleanup_errors`, `keep_on_panic`, `protect`,
/// `reapable`), the same security (the removal never follows a symlink) and the same
/// keeping and reporting on drop.
///
/// # Drop and runtime shutdown
/// Drop decides on the dropping thread whether the directory is kept (a panic of that thread,
/// `TEMPKIT_KEEP`, `keep_if`), then:
///
/// - inside a tokio runtime (`Handle::try_current()` finds one), the removal goes to the
///   runtime's blocking pool (`spawn_blocking`) and drop returns at once: the worker goes on
///   with other tasks while another thread removes the tree. An error goes to the
///   [cleanup-error hook](crate::set_cleanup_error_hook), as for the blocking type.
/// - outside a runtime, or while the thread panics, it removes in place, as the blocking type
///   does.
///
/// Nothing is lost when the runtime shuts down. Dropping a `Runtime` (also at the end of
/// `#[tokio::main]`) waits for the blocking pool's tasks, started or queued, so every
/// removal handed over before has finished when the drop returns; tasks dropped by the
/// shutdown itself still hand theirs over, or remove in place. A removal that tokio drops
/// without running (handed over after the shutdown began, or left in the queue by it) is
/// done in place by the thread that drops it: the removal is an object whose own `Drop`
/// removes. After `Runtime::shutdown_timeout` or `shutdown_background`, which stop waiting,
/// a removal still running goes on in its thread as long as the process lives; a process that
/// exits first leaves the rest behind, as a `SIGKILL` would: await
/// [`cleanup`](TemporaryDirectory::cleanup) where that matters.
///
/// # Python equivalent
/// None (Python has no async temporary directory): `tempfile.TemporaryDirectory` whose
/// finalizer would run in a thread.
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # fn main() -> std::io::Result<()> {
/// let rt = tokio::runtime::Builder::new_current_thread().build()?;
/// rt.block_on(async {
///     let mut dir = tempkit::tokio::TemporaryDirectory::new().await?;
///     tokio::fs::write(dir.path().join("notes.txt"), b"scratch").await?;
///     dir.cleanup().await?; // errors reported here; or drop it: removed on the blocking pool
///     assert!(!dir.path().exists());
///     Ok(())
/// })
/// # }
/// # #[cfg(not(feature = "tokio"))]
/// # fn main() {}
/// ```
#[must_use = "the directory is removed at once when the value is dropped"]
pub struct TemporaryDirectory {
    /// `None` only while `cleanup` runs on the blocking pool, and after `keep`.
    inner: Option<crate::TemporaryDirectory>,
    /// The path, for `path()` while `inner` is away.
    path: PathBuf,
}

impl TemporaryDirectory {
    /// Creates a directory in [`gettempdir()`](crate::gettempdir), on the blocking pool.
    ///
    /// The same as `Builder::new().temporary_directory_async().await`.
    ///
    /// # Errors
    /// As [`Builder::temporary_directory`].
    ///
    /// # Python equivalent
    /// None (no async API): `tempfile.TemporaryDirectory()`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// assert!(dir.path().is_dir());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn new() -> io::Result<TemporaryDirectory> {
        Builder::new().temporary_directory_async().await
    }

    /// The async object for a blocking one (no system call); the same as `From`, named as
    /// [`NamedTemporaryFile::from_blocking`](super::NamedTemporaryFile::from_blocking) and
    /// [`AtomicFile::from_blocking`](super::AtomicFile::from_blocking) are.
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let blocking = tempkit::TemporaryDirectory::new()?;
    /// let path = blocking.path().to_owned();
    /// let dir = tempkit::tokio::TemporaryDirectory::from_blocking(blocking);
    /// assert_eq!(dir.path(), path);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn from_blocking(dir: crate::TemporaryDirectory) -> TemporaryDirectory {
        TemporaryDirectory {
            path: dir.path().to_owned(),
            inner: Some(dir),
        }
    }

    /// The directory's absolute path.
    ///
    /// # Python equivalent
    /// None (no async API): `TemporaryDirectory().name`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// tokio::fs::write(dir.path().join("a.txt"), b"x").await?;
    /// assert!(dir.path().is_absolute());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Removes the directory and everything in it now, on the blocking pool, and says what
    /// failed (unless [`ignore_cleanup_errors`](Builder::ignore_cleanup_errors)).
    ///
    /// As [`crate::TemporaryDirectory::cleanup`]; calling it again after a success does
    /// nothing. If the future is dropped before it completes, the removal still runs to the
    /// end, off the worker, and what it could not remove goes to the cleanup-error hook.
    ///
    /// # Errors
    /// As [`crate::TemporaryDirectory::cleanup`]. When the runtime shuts down before the
    /// removal started, it is done in place by the thread that drops the task, and this
    /// returns its outcome. After a `cleanup` whose future was dropped unfinished, an error
    /// saying so: that removal's outcome went to the hook.
    ///
    /// # Python equivalent
    /// None (no async API): `TemporaryDirectory.cleanup()`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let mut dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// tokio::fs::create_dir(dir.path().join("sub")).await?;
    /// dir.cleanup().await?;
    /// assert!(!dir.path().exists());
    /// dir.cleanup().await?; // again: nothing to do
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn cleanup(&mut self) -> io::Result<()> {
        let inner = match self.inner.take() {
            Some(inner) => inner,
            None => return Err(gone(&self.path).error),
        };
        let unrun: Unrun = Arc::new(Mutex::new(None));
        let task = Cleanup {
            dir: Some(inner),
            unrun: Arc::clone(&unrun),
        };
        let ran = blocking("remove temporary directory", Some(&self.path), move || {
            task.run()
        })
        .await;
        let (inner, result) = match ran {
            // Back as the async object: dropped here (this future cancelled after the task
            // ended), it hands what is left to the pool, never removes on this worker.
            Ok((mut dir, result)) => (dir.inner.take(), result),
            // Dropped unrun at shutdown: `Cleanup`'s drop removed in place, and left the
            // directory and that outcome behind.
            Err(not_run) => {
                let unrun = unrun.lock().unwrap_or_else(PoisonError::into_inner).take();
                match unrun {
                    Some((dir, result)) => (Some(dir), result),
                    None => return Err(not_run),
                }
            }
        };
        self.inner = inner;
        result
    }

    /// Disarms the directory: it is not removed on drop, and its path is handed to you.
    ///
    /// As [`crate::TemporaryDirectory::keep`] (a reapable directory's owner tag is removed,
    /// in place).
    ///
    /// # Python equivalent
    /// None (no async API): `TemporaryDirectory(delete=False)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.keep();
    /// assert!(path.is_dir()); // and stays
    /// # std::fs::remove_dir(&path)?;
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    #[must_use = "the directory stays: its path is all that is left of it"]
    pub fn keep(mut self) -> PathBuf {
        match self.inner.take() {
            Some(inner) => inner.keep(),
            None => std::mem::take(&mut self.path),
        }
    }

    /// Keeps the directory when dropped if `yes`: see [`crate::TemporaryDirectory::keep_if`].
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let mut dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().to_owned();
    /// dir.keep_if(true); // e.g. a check failed: keep it to look at
    /// drop(dir);
    /// assert!(path.is_dir());
    /// # std::fs::remove_dir(&path)?;
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn keep_if(&mut self, yes: bool) -> &mut Self {
        if let Some(inner) = self.inner.as_mut() {
            inner.keep_if(yes);
        }
        self
    }

    /// Whether a live-directory lock shields it from systemd-tmpfiles: see
    /// [`crate::TemporaryDirectory::is_protected`].
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::Builder::new().protect(true).temporary_directory_async().await?;
    /// assert_eq!(dir.is_protected(), cfg!(target_os = "linux"));
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn is_protected(&self) -> bool {
        self.inner.as_ref().map_or(false, |d| d.is_protected())
    }

    /// Whether it carries an owner tag for [`reap`](crate::reap): see
    /// [`crate::TemporaryDirectory::is_reapable`].
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::Builder::new().reapable(true).temporary_directory_async().await?;
    /// # let _ = dir.is_reapable();
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn is_reapable(&self) -> bool {
        self.inner.as_ref().map_or(false, |d| d.is_reapable())
    }

    /// Publishes the tree at `to` unless something is there, on the blocking pool: see
    /// [`crate::TemporaryDirectory::persist_noclobber`].
    ///
    /// # Errors
    /// As [`crate::TemporaryDirectory::persist_noclobber`]: a [`PersistDirError`] that hands
    /// the directory back as an async object, so that dropping it (or `?`) hands its removal
    /// to the blocking pool, as dropping `self` would. When the runtime shuts down before the
    /// task ran, an error saying so, handing back this directory whole and still temporary:
    /// nothing published, nothing removed.
    ///
    /// # Python equivalent
    /// None (no async API): `os.rename` after a check, racy.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let parent = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let staged = tempkit::Builder::new().dir(parent.path()).temporary_directory_async().await?;
    /// tokio::fs::write(staged.path().join("data"), b"built").await?;
    /// let to = staged.persist_noclobber(parent.path().join("release")).await?;
    /// assert_eq!(tokio::fs::read(to.join("data")).await?, b"built");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn persist_noclobber<P: AsRef<Path>>(
        self,
        to: P,
    ) -> Result<PathBuf, PersistDirError> {
        let to = to.as_ref().to_owned();
        self.publish(move |d| d.persist_noclobber(to)).await
    }

    /// Replaces the directory at `to` with this tree, on the blocking pool: see
    /// [`crate::TemporaryDirectory::replace`].
    ///
    /// # Errors
    /// As [`crate::TemporaryDirectory::replace`]: a [`PersistDirError`] whose `dir` is this
    /// directory handed back, or, when the swap happened but the old tree could not be fully
    /// removed, what is left of the old tree. Either is an async object: dropping it removes
    /// on the blocking pool. When the runtime shuts down before the task ran, an error
    /// handing back this directory whole: `to` untouched, nothing removed.
    ///
    /// # Python equivalent
    /// None (no async API): `shutil.rmtree(to)` then `os.rename`, not atomic.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let parent = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let to = parent.path().join("site");
    /// tokio::fs::create_dir(&to).await?;
    /// tokio::fs::write(to.join("index.html"), b"old").await?;
    /// let staged = tempkit::Builder::new().dir(parent.path()).temporary_directory_async().await?;
    /// tokio::fs::write(staged.path().join("index.html"), b"new").await?;
    /// staged.replace(&to).await?;
    /// assert_eq!(tokio::fs::read(to.join("index.html")).await?, b"new");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn replace<P: AsRef<Path>>(self, to: P) -> Result<PathBuf, PersistDirError> {
        let to = to.as_ref().to_owned();
        self.publish(move |d| d.replace(to)).await
    }

    /// Swaps this tree with the directory at `to`, on the blocking pool: see
    /// [`crate::TemporaryDirectory::exchange`]; the old tree comes back as a temporary
    /// directory (async: its drop removes on the blocking pool).
    ///
    /// # Errors
    /// As [`crate::TemporaryDirectory::exchange`]: a [`PersistDirError`] handing back this
    /// directory (or, if only the final sync failed, the old tree) as an async object. When
    /// the runtime shuts down before the task ran, an error handing back this directory
    /// whole: `to` untouched, nothing removed.
    ///
    /// # Python equivalent
    /// None (no async API).
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let parent = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let to = parent.path().join("site");
    /// tokio::fs::create_dir(&to).await?;
    /// tokio::fs::write(to.join("index.html"), b"old").await?;
    /// let staged = tempkit::Builder::new().dir(parent.path()).temporary_directory_async().await?;
    /// tokio::fs::write(staged.path().join("index.html"), b"new").await?;
    /// let old = staged.exchange(&to).await?;
    /// assert_eq!(tokio::fs::read(to.join("index.html")).await?, b"new");
    /// assert_eq!(tokio::fs::read(old.path().join("index.html")).await?, b"old");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn exchange<P: AsRef<Path>>(
        self,
        to: P,
    ) -> Result<TemporaryDirectory, PersistDirError> {
        let to = to.as_ref().to_owned();
        // The old tree becomes the async object on the pool thread: a future cancelled after
        // the task ended drops it on the worker, which must only hand it back to the pool.
        self.publish(move |d| d.exchange(to).map(TemporaryDirectory::from))
            .await
    }

    /// Runs one of the blocking publishing methods on the blocking pool. The directory an
    /// error hands back becomes the async object there, on the pool thread: dropped on a
    /// worker (`?`, or this future cancelled after the task ended, when tokio drops the
    /// task's output on the thread that drops the `JoinHandle`), its tree is removed on the
    /// pool, never on the worker. A task the runtime drops unrun hands back `self`, whole.
    // The error's size is the directory's, handed back by value as the blocking type does.
    #[allow(clippy::result_large_err)]
    async fn publish<T: Send + 'static>(
        mut self,
        f: impl FnOnce(crate::TemporaryDirectory) -> Result<T, crate::PersistDirError> + Send + 'static,
    ) -> Result<T, PersistDirError> {
        let inner = match self.inner.take() {
            Some(inner) => inner,
            None => return Err(gone(&self.path)),
        };
        // `inner` waits in a slot shared with the task (one allocation, no system call): a
        // task that tokio drops unrun (the runtime shuts down) leaves it there, and the error
        // hands this directory back, armed and whole, instead of dropping it (which would
        // remove the tree, in place, on this thread).
        let slot = Arc::new(Mutex::new(Some(inner)));
        let theirs = Arc::clone(&slot);
        let outcome = blocking("publish temporary directory", Some(&self.path), move || {
            let inner = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
            inner.map(|inner| f(inner).map_err(PersistDirError::from_blocking))
        })
        .await;
        let error = match outcome {
            Ok(Some(result)) => return result,
            Err(error) => error,
            // Never: only the task takes the directory, once.
            Ok(None) => crate::error::new(
                io::ErrorKind::Other,
                format!(
                    "failed to publish temporary directory `{}`: it was gone",
                    self.path.display()
                ),
            ),
        };
        self.inner = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        Err(PersistDirError { error, dir: self })
    }
}

/// The error of a method called after a `cleanup` whose future was dropped unfinished (the
/// only way to leave the object without its directory: `keep` and the publishing methods
/// consume it).
fn gone(path: &Path) -> PersistDirError {
    PersistDirError {
        error: crate::error::new(
            io::ErrorKind::NotFound,
            format!(
                "temporary directory `{}` was handed to a cleanup that was cancelled: it is \
                 removed on the blocking pool, and what cannot be removed goes to the \
                 cleanup-error hook",
                path.display()
            ),
        ),
        dir: disarmed(path.to_owned()),
    }
}

/// A directory object for `path` that removes nothing, for an error that must hand one back
/// after the directory was dropped or handed to a removal.
fn disarmed(path: PathBuf) -> TemporaryDirectory {
    let life = crate::keep::Life::new(crate::keep::Setting::Default, true);
    TemporaryDirectory::from_blocking(crate::TemporaryDirectory::from_created(path, false, life))
}

/// A `cleanup` handed to the blocking pool. Run, it hands back the directory as the async
/// object (whose drop never removes on a worker) and the outcome. Dropped unrun by tokio (the
/// runtime shuts down), its own `Drop` removes in place and leaves the directory and the
/// outcome in `unrun`, for `cleanup` to return.
struct Cleanup {
    dir: Option<crate::TemporaryDirectory>,
    unrun: Unrun,
}

/// Where a `cleanup` dropped unrun leaves the directory and the outcome of its removal.
type Unrun = Arc<Mutex<Option<(crate::TemporaryDirectory, io::Result<()>)>>>;

impl Cleanup {
    fn run(mut self) -> (TemporaryDirectory, io::Result<()>) {
        match self.dir.take() {
            Some(mut dir) => {
                let result = dir.cleanup();
                (TemporaryDirectory::from_blocking(dir), result)
            }
            // Built with `Some`: not reached.
            None => (disarmed(PathBuf::new()), Ok(())),
        }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(mut dir) = self.dir.take() {
            let result = dir.cleanup();
            *self.unrun.lock().unwrap_or_else(PoisonError::into_inner) = Some((dir, result));
        }
    }
}

impl From<crate::TemporaryDirectory> for TemporaryDirectory {
    /// The async object for a blocking one (no system call).
    fn from(dir: crate::TemporaryDirectory) -> Self {
        TemporaryDirectory::from_blocking(dir)
    }
}

impl Builder {
    /// [`temporary_directory`](Builder::temporary_directory), on the blocking pool: an
    /// async [`TemporaryDirectory`](crate::tokio::TemporaryDirectory) (feature `tokio`).
    ///
    /// # Errors
    /// As [`temporary_directory`](Builder::temporary_directory).
    ///
    /// # Python equivalent
    /// None (no async API): `tempfile.TemporaryDirectory(prefix=..., dir=...)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::Builder::new().prefix("job-").temporary_directory_async().await?;
    /// let name = dir.path().file_name().unwrap_or_default().to_string_lossy().into_owned();
    /// assert!(name.starts_with("job-"));
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn temporary_directory_async(&self) -> io::Result<TemporaryDirectory> {
        let builder = self.clone();
        super::gate::create_in(
            self.given_dir(),
            "create a temporary directory",
            None,
            move || builder.temporary_directory(),
        )
        .await?
        .map(TemporaryDirectory::from)
    }
}

/// A removal handed to the blocking pool. Its own `Drop` removes, so a task that tokio drops
/// without running it (the runtime shuts down) still removes, in place.
/// Run by dropping it.
struct Removal {
    dir: Option<crate::TemporaryDirectory>,
    /// Whether the thread that dropped the directory was panicking, for the report.
    panicking: bool,
    /// The async object's copy of the path, moved here so that its memory is freed by the
    /// thread that removes, not by the dropping worker.
    _path: PathBuf,
}

impl Drop for Removal {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            dir.remove_deferred(self.panicking);
        }
    }
}

impl Drop for TemporaryDirectory {
    fn drop(&mut self) {
        // Decided in place, and `inner` moved once, straight into the removal: the worker
        // copies the object as few times as it can.
        let keeps = match self.inner.as_mut() {
            Some(dir) => dir.drop_keeps(),
            None => true,
        };
        if keeps {
            // Nothing to remove (kept, `delete(false)`, removed): `inner`'s own drop, with
            // `self`'s, does nothing but close a protected directory's descriptor.
            return;
        }
        let panicking = thread::panicking();
        let removal = Removal {
            dir: self.inner.take(),
            panicking,
            _path: std::mem::take(&mut self.path),
        };
        // While panicking, in place: a second panic (tokio cannot start a thread) would abort.
        let handle = match ::tokio::runtime::Handle::try_current() {
            Ok(handle) if !panicking => handle,
            _ => return drop(removal),
        };
        // `spawn_blocking` panics only when no thread can be started at all; the task is then
        // queued (run by a later thread, or dropped, and so removed, at shutdown). Drop never
        // panics (caught when unwinding; with `panic = "abort"` tokio's panic aborts, and
        // either way its message reaches the panic hook).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            drop(handle.spawn_blocking(move || drop(removal)));
        }));
    }
}

/// A failed [`persist_noclobber`](TemporaryDirectory::persist_noclobber),
/// [`replace`](TemporaryDirectory::replace) or [`exchange`](TemporaryDirectory::exchange) of
/// an async directory: the error, and the directory handed back, so that nothing is lost.
/// The async [`crate::PersistDirError`].
///
/// Its `dir` is the async [`TemporaryDirectory`], made on the blocking pool thread that
/// published (or, when the runtime shut down before that task ran, the directory itself,
/// whole and still temporary): converting the error into [`io::Error`] with `?`, or dropping it, hands the
/// removal of the tree to the blocking pool (in place outside a runtime), as dropping any
/// async directory does; a runtime worker never removes it.
///
/// # Python equivalent
/// None (no async API, and Python has no directory publishing).
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let parent = tempkit::tokio::TemporaryDirectory::new().await?;
/// tokio::fs::create_dir(parent.path().join("taken")).await?;
/// let staged = tempkit::Builder::new().dir(parent.path()).temporary_directory_async().await?;
/// let err = staged.persist_noclobber(parent.path().join("taken")).await.unwrap_err();
/// assert_eq!(err.error.kind(), std::io::ErrorKind::AlreadyExists);
/// let dir: tempkit::tokio::TemporaryDirectory = err.dir; // handed back, still temporary
/// assert!(dir.path().is_dir());
/// drop(dir); // removed on the blocking pool
/// # Ok(())
/// # })
/// # }
/// ```
#[derive(Debug)]
pub struct PersistDirError {
    /// What went wrong, naming both paths.
    pub error: io::Error,
    /// The directory, handed back (see each method for what it holds).
    pub dir: TemporaryDirectory,
}

impl PersistDirError {
    /// The async error for a blocking one (no system call), on the thread that published.
    fn from_blocking(e: crate::PersistDirError) -> PersistDirError {
        PersistDirError {
            error: e.error,
            dir: TemporaryDirectory::from_blocking(e.dir),
        }
    }
}

handing_back_error!(PersistDirError, error);

impl fmt::Debug for TemporaryDirectory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryDirectory")
            .field("path", &self.path)
            .field("protected", &self.is_protected())
            .field("reapable", &self.is_reapable())
            .finish()
    }
}
