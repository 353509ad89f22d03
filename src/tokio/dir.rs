//! The async `TemporaryDirectory`: a blocking one inside, whose removal never runs on a
//! runtime worker.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::thread;

use super::{blocking, blocking_with};
use crate::{Builder, PersistDirError};

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
    /// end, and what it could not remove goes to the cleanup-error hook.
    ///
    /// # Errors
    /// As [`crate::TemporaryDirectory::cleanup`]; also when the runtime shuts down before the
    /// removal started (it is then done in place by the thread that drops it).
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
            None => return Ok(()),
        };
        let (inner, result) =
            blocking_with("remove temporary directory", &self.path, inner, |inner| {
                inner.cleanup()
            })
            .await?;
        self.inner = Some(inner);
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
    /// [`crate::TemporaryDirectory::persist_noclobber`]. On failure the error hands the
    /// blocking directory back (make it async again with
    /// [`from_blocking`](Self::from_blocking)).
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
    /// directory.
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
        self.publish(move |d| d.exchange(to).map(TemporaryDirectory::from))
            .await
    }

    /// Runs one of the blocking publishing methods on the blocking pool.
    async fn publish<T: Send + 'static>(
        mut self,
        f: impl FnOnce(crate::TemporaryDirectory) -> Result<T, PersistDirError> + Send + 'static,
    ) -> Result<T, PersistDirError> {
        let inner = match self.inner.take() {
            Some(inner) => inner,
            None => return Err(gone(&self.path)),
        };
        // A task dropped unrun drops `inner`, which removes the tree: as dropping `self`.
        match blocking("publish temporary directory", Some(&self.path), move || {
            f(inner)
        })
        .await
        {
            Ok(result) => result,
            Err(error) => Err(PersistDirError {
                error,
                dir: disarmed(std::mem::take(&mut self.path)),
            }),
        }
    }
}

/// The error of a method called after `keep` (impossible through the public API).
fn gone(path: &Path) -> PersistDirError {
    PersistDirError {
        error: crate::error::new(
            io::ErrorKind::NotFound,
            format!("temporary directory `{}` was kept", path.display()),
        ),
        dir: disarmed(path.to_owned()),
    }
}

/// A blocking directory object for `path` that removes nothing, for an error that must hand
/// one back after the directory was dropped or kept.
fn disarmed(path: PathBuf) -> crate::TemporaryDirectory {
    let life = crate::keep::Life::new(crate::keep::Setting::Default, true);
    crate::TemporaryDirectory::from_created(path, false, life)
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
        // panics.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
            drop(handle.spawn_blocking(move || drop(removal)));
        }));
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
