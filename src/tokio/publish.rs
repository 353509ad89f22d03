//! The async `AtomicFile` and `write_atomic`: the blocking publishing, on the blocking pool.

use std::fmt;
use std::io;
use std::path::Path;
use std::pin::Pin;

use ::tokio::fs::File;
use ::tokio::io::AsyncWriteExt;

use super::blocking;
use super::file::WriteFailure;
use crate::{AtomicFileOptions, CommitError};

/// A new version of a file, written as a stream, then published atomically (and durably, by
/// default): the async [`crate::AtomicFile`].
///
/// Created and committed on the blocking pool; written through a [`tokio::fs::File`](File)
/// on a second descriptor of the same open file (one `fcntl` more than the blocking type).
/// Dropping it without [`commit`](Self::commit) removes the temporary name in place (one
/// `unlink`). The guarantees are the blocking type's ([`crate::AtomicFile`]).
///
/// # Python equivalent
/// None (no async API): `NamedTemporaryFile(dir=os.path.dirname(path), delete=False)`,
/// `os.fsync`, `os.replace`.
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # fn main() -> std::io::Result<()> {
/// use tokio::io::AsyncWriteExt;
/// tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
///     let dir = tempkit::tokio::TemporaryDirectory::new().await?;
///     let path = dir.path().join("config.toml");
///     let mut file = tempkit::tokio::AtomicFile::create(&path).await?;
///     file.write_all(b"new = true\n").await?;
///     file.commit().await?;
///     assert_eq!(tokio::fs::read(&path).await?, b"new = true\n");
///     Ok(())
/// })
/// # }
/// # #[cfg(not(feature = "tokio"))]
/// # fn main() {}
/// ```
#[must_use = "dropping an AtomicFile discards it: call commit()"]
pub struct AtomicFile {
    file: File,
    inner: crate::AtomicFile,
    /// The first write that failed in the background (tokio reports it once): a commit is
    /// refused from then on.
    failed: Option<WriteFailure>,
}

impl AtomicFile {
    /// Starts a new version of the file at `path` with the default options, on the blocking
    /// pool: [`crate::AtomicFile::create`].
    ///
    /// # Errors
    /// As [`crate::AtomicFile::create`].
    ///
    /// # Python equivalent
    /// None (no async API): `NamedTemporaryFile(dir=os.path.dirname(path), delete=False)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("state.json");
    /// let mut file = tempkit::tokio::AtomicFile::create(&path).await?;
    /// file.write_all(b"{}").await?;
    /// file.commit().await?;
    /// assert_eq!(tokio::fs::read(&path).await?, b"{}");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn create<P: AsRef<Path>>(path: P) -> io::Result<AtomicFile> {
        AtomicFileOptions::new().create_async(path).await
    }

    /// The async object for a blocking one (one `fcntl`: a second descriptor).
    ///
    /// # Errors
    /// Duplicating the descriptor failed (`EMFILE`).
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("state.json");
    /// let blocking = tempkit::AtomicFile::create(&path)?;
    /// let mut file = tempkit::tokio::AtomicFile::from_blocking(blocking)?;
    /// file.write_all(b"{}").await?;
    /// file.commit().await?;
    /// assert_eq!(tokio::fs::read(&path).await?, b"{}");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn from_blocking(inner: crate::AtomicFile) -> io::Result<AtomicFile> {
        let file = inner
            .as_file()
            .try_clone()
            .map_err(|e| crate::error::with_path(e, "duplicate the descriptor of", inner.path()))?;
        Ok(AtomicFile {
            file: File::from_std(file),
            inner,
            failed: None,
        })
    }

    /// The destination, as given.
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("state.json");
    /// let file = tempkit::tokio::AtomicFile::create(&path).await?;
    /// assert_eq!(file.path(), path);
    /// file.discard().await?;
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn path(&self) -> &Path {
        self.inner.path()
    }

    /// The file being written.
    ///
    /// # Python equivalent
    /// None (no async API): the `NamedTemporaryFile` object.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let file = tempkit::tokio::AtomicFile::create(dir.path().join("a")).await?;
    /// assert_eq!(file.as_file().metadata().await?.len(), 0);
    /// file.discard().await?;
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn as_file(&self) -> &File {
        &self.file
    }

    /// The file being written, mutably.
    ///
    /// # Python equivalent
    /// None (no async API): the `NamedTemporaryFile` object.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("a");
    /// let mut file = tempkit::tokio::AtomicFile::create(&path).await?;
    /// file.as_file_mut().set_len(2).await?;
    /// file.commit().await?;
    /// assert_eq!(tokio::fs::read(&path).await?, [0, 0]);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn as_file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// The file every `AsyncRead`, `AsyncWrite` and `AsyncSeek` call goes to.
    fn io(&mut self) -> io::Result<Pin<&mut File>> {
        Ok(Pin::new(&mut self.file))
    }

    /// Nothing to do: the handle is never handed back.
    fn reading(&mut self) {}

    /// Remembers a failed write: the commit is refused. tokio's `File` is made anew: one whose
    /// write tokio dropped unrun at runtime shutdown stays stuck on it, and `discard`'s flush
    /// or the next write would panic.
    fn write_failed(&mut self, e: &io::Error) {
        WriteFailure::record(&mut self.failed, e);
        super::file::rebuild_in_place(&mut self.file);
    }

    /// A read or seek failed: tokio's `File` may be stuck on a task dropped unrun.
    fn op_failed(&mut self) {
        super::file::rebuild_in_place(&mut self.file);
    }

    /// Flushes, then publishes the new version, replacing the destination:
    /// [`crate::AtomicFile::commit`], on the blocking pool.
    ///
    /// # Errors
    /// A failed background write (destination untouched, the file discarded), also one
    /// reported earlier, to a write or flush of this object (tokio reports it only once), or as
    /// [`crate::AtomicFile::commit`]: [`CommitError`] hands the blocking object back where it
    /// can be retried ([`AtomicFile::from_blocking`] makes it async again).
    ///
    /// # Python equivalent
    /// None (no async API): `f.flush()`, `os.fsync(f.fileno())`, `os.replace(f.name, path)`, then `os.fsync` of the directory.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("state.json");
    /// tokio::fs::write(&path, b"old").await?;
    /// let mut file = tempkit::tokio::AtomicFile::create(&path).await?;
    /// file.write_all(b"new").await?;
    /// file.commit().await?;
    /// assert_eq!(tokio::fs::read(&path).await?, b"new");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn commit(self) -> Result<(), CommitError> {
        self.finish(crate::AtomicFile::commit).await
    }

    /// As [`commit`](Self::commit), but fails with `AlreadyExists` if the destination exists:
    /// [`crate::AtomicFile::commit_noclobber`].
    ///
    /// # Errors
    /// As [`commit`](Self::commit).
    ///
    /// # Python equivalent
    /// None (no async API): `os.link(f.name, path)` then `os.unlink(f.name)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("taken");
    /// tokio::fs::write(&path, b"old").await?;
    /// let file = tempkit::tokio::AtomicFile::create(&path).await?;
    /// let err = file.commit_noclobber().await.unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    /// assert_eq!(tokio::fs::read(&path).await?, b"old");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn commit_noclobber(self) -> Result<(), CommitError> {
        self.finish(crate::AtomicFile::commit_noclobber).await
    }

    /// Removes the temporary file without publishing it, on the blocking pool.
    ///
    /// # Errors
    /// As [`crate::AtomicFile::discard`].
    ///
    /// # Python equivalent
    /// None (no async API): `os.unlink(f.name)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("draft");
    /// let mut file = tempkit::tokio::AtomicFile::create(&path).await?;
    /// file.write_all(b"draft").await?;
    /// file.discard().await?;
    /// assert!(!path.exists());
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn discard(self) -> io::Result<()> {
        let AtomicFile {
            mut file, inner, ..
        } = self;
        // Waits for a write in flight (its error does not matter: nothing is published).
        let _ = file.flush().await;
        // For the error only (a task dropped unrun), as the commit's.
        let path = inner.path().to_owned();
        blocking("discard the atomic file for", Some(&path), move || {
            // Closed on the pool, or when a task sharing it (a cancelled `sync_all`...) ends.
            drop(file);
            inner.discard()
        })
        .await?
    }

    async fn finish(
        self,
        f: fn(crate::AtomicFile) -> Result<(), CommitError>,
    ) -> Result<(), CommitError> {
        let AtomicFile {
            mut file,
            inner,
            failed,
        } = self;
        if let Some(failed) = failed {
            // The blocking object is dropped with the error: the temporary name goes.
            let e = failed.error(&format!(
                "failed to commit the new version of `{}`",
                inner.path().display()
            ));
            return Err(CommitError::not_committed(e));
        }
        if let Err(e) = file.flush().await {
            // The blocking object is dropped with the error: the temporary name goes.
            let e = crate::error::with_path(e, "write the new version of", inner.path());
            return Err(CommitError::not_committed(e));
        }
        // For the error of a task dropped unrun: one allocation beside the task's own.
        let path = inner.path().to_owned();
        let publish = move || {
            // The second descriptor closes on the pool, or when a task sharing it (a
            // cancelled `sync_all`...) ends: never `into_std`, which panics then.
            drop(file);
            f(inner)
        };
        match blocking("commit the atomic file for", Some(&path), publish).await {
            Ok(result) => result,
            Err(e) => Err(CommitError::not_committed(e)),
        }
    }
}

impl fmt::Debug for AtomicFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AtomicFile")
            .field("path", &self.inner.path())
            .finish()
    }
}

impl AtomicFileOptions {
    /// [`create`](AtomicFileOptions::create) on the blocking pool: an async
    /// [`AtomicFile`](crate::tokio::AtomicFile) (feature `tokio`).
    ///
    /// # Errors
    /// As [`create`](AtomicFileOptions::create).
    ///
    /// # Python equivalent
    /// None (no async API): `NamedTemporaryFile(dir=os.path.dirname(path), delete=False)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("cache.bin");
    /// let mut file = tempkit::AtomicFile::options().durable(false).create_async(&path).await?;
    /// file.write_all(b"cache").await?;
    /// file.commit().await?;
    /// assert_eq!(tokio::fs::read(&path).await?, b"cache");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn create_async<P: AsRef<Path>>(&self, path: P) -> io::Result<AtomicFile> {
        let options = self.clone();
        let owned = path.as_ref().to_owned();
        // The temporary file is created next to `path`.
        let inner = super::gate::create_in(
            path.as_ref().parent(),
            "create an atomic file for",
            Some(path.as_ref()),
            move || options.create(owned),
        )
        .await??;
        AtomicFile::from_blocking(inner)
    }

    /// [`write`](AtomicFileOptions::write) on the blocking pool (feature `tokio`).
    ///
    /// # Errors
    /// As [`write`](AtomicFileOptions::write).
    ///
    /// # Python equivalent
    /// None (no async API).
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let path = dir.path().join("cache.bin");
    /// tempkit::AtomicFile::options().durable(false).write_async(&path, b"cache".to_vec()).await?;
    /// assert_eq!(tokio::fs::read(&path).await?, b"cache");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn write_async<P, C>(&self, path: P, contents: C) -> io::Result<()>
    where
        P: AsRef<Path>,
        C: AsRef<[u8]> + Send + 'static,
    {
        let options = self.clone();
        let owned = path.as_ref().to_owned();
        blocking("write atomically", Some(path.as_ref()), move || {
            options.write(owned, contents)
        })
        .await?
    }
}

/// Replaces the file at `path` with `contents`, atomically and durably, on the blocking pool:
/// [`crate::write_atomic`] (feature `tokio`).
///
/// `contents` is moved to the blocking pool, not copied: a `Vec<u8>`, a `String`, a
/// `&'static [u8]` or `bytes::Bytes`.
///
/// # Errors
/// As [`crate::write_atomic`].
///
/// # Python equivalent
/// None (no async API).
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
/// let path = dir.path().join("state.json");
/// tempkit::tokio::write_atomic(&path, b"{}").await?;
/// assert_eq!(tokio::fs::read(&path).await?, b"{}");
/// # Ok(())
/// # })
/// # }
/// ```
pub async fn write_atomic<P, C>(path: P, contents: C) -> io::Result<()>
where
    P: AsRef<Path>,
    C: AsRef<[u8]> + Send + 'static,
{
    AtomicFileOptions::new().write_async(path, contents).await
}

async_io_through_file!(AtomicFile);
