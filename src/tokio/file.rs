//! The async `TemporaryFile` and `NamedTemporaryFile`: the blocking objects inside, their
//! handle driven as a `tokio::fs::File`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;

use ::tokio::fs::File;
use ::tokio::io::AsyncWriteExt;

use super::{blocking, blocking_with};
use crate::Builder;

/// A file with no name, gone when dropped: the async [`crate::TemporaryFile`].
///
/// Made on the blocking pool; read, written and sought as a [`tokio::fs::File`](File).
///
/// # Python equivalent
/// None (no async API): `tempfile.TemporaryFile()`.
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # fn main() -> std::io::Result<()> {
/// use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
///     let mut file = tempkit::tokio::TemporaryFile::new().await?;
///     file.write_all(b"scratch").await?;
///     file.rewind().await?;
///     let mut text = String::new();
///     file.read_to_string(&mut text).await?;
///     assert_eq!(text, "scratch");
///     Ok(())
/// })
/// # }
/// # #[cfg(not(feature = "tokio"))]
/// # fn main() {}
/// ```
pub struct TemporaryFile {
    file: File,
}

impl TemporaryFile {
    /// Creates an unnamed file in [`gettempdir()`](crate::gettempdir), on the blocking pool.
    ///
    /// # Errors
    /// As [`Builder::temporary_file`].
    ///
    /// # Python equivalent
    /// None (no async API): `tempfile.TemporaryFile()`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let mut file = tempkit::tokio::TemporaryFile::new().await?;
    /// file.write_all(b"scratch").await?;
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn new() -> io::Result<TemporaryFile> {
        Builder::new().temporary_file_async().await
    }

    /// The open file.
    ///
    /// # Python equivalent
    /// The object `TemporaryFile()` returns is itself the file.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let file = tempkit::tokio::TemporaryFile::new().await?;
    /// assert_eq!(file.as_file().metadata().await?.len(), 0);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn as_file(&self) -> &File {
        &self.file
    }

    /// The open file, mutably.
    ///
    /// # Python equivalent
    /// The object `TemporaryFile()` returns is itself the file.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let mut file = tempkit::tokio::TemporaryFile::new().await?;
    /// file.as_file_mut().set_len(10).await?;
    /// assert_eq!(file.as_file().metadata().await?.len(), 10);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn as_file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// The open file; it is gone when closed.
    ///
    /// # Python equivalent
    /// None needed: Python's object is the file.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let mut file: tokio::fs::File = tempkit::tokio::TemporaryFile::new().await?.into_file();
    /// file.write_all(b"still unnamed").await?;
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn into_file(self) -> File {
        self.file
    }

    /// The file every `AsyncRead`, `AsyncWrite` and `AsyncSeek` call goes to.
    fn io(&mut self) -> io::Result<Pin<&mut File>> {
        Ok(Pin::new(&mut self.file))
    }
}

impl fmt::Debug for TemporaryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryFile").finish_non_exhaustive()
    }
}

/// A temporary file with a name, deleted as `delete` and `delete_on_close` say: the async
/// [`crate::NamedTemporaryFile`].
///
/// The blocking object inside (its options, keeping on panic, reports, owner tags), with its
/// handle driven as a [`tokio::fs::File`](File). Creation, [`close`](Self::close),
/// [`reopen`](Self::reopen) and the `persist` methods run on the blocking pool. Drop deletes
/// the name in place (one `unlink`).
///
/// Writes go to the blocking pool in the background, as with any `tokio::fs::File`:
/// `flush().await` waits for them and returns their error; `close`, `persist*` and `keep`
/// flush first.
///
/// Dropping the future of `close`, `reopen` or a `persist` method before it completes drops
/// the file (it is deleted as by drop, once the blocking call has ended).
///
/// # Python equivalent
/// None (no async API): `tempfile.NamedTemporaryFile()`.
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # fn main() -> std::io::Result<()> {
/// use tokio::io::AsyncWriteExt;
/// tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
///     let mut file = tempkit::tokio::NamedTemporaryFile::new().await?;
///     file.write_all(b"hello").await?;
///     file.flush().await?;
///     assert_eq!(tokio::fs::read(file.path()).await?, b"hello");
///     let path = file.path().to_owned();
///     drop(file);
///     assert!(!path.exists());
///     Ok(())
/// })
/// # }
/// # #[cfg(not(feature = "tokio"))]
/// # fn main() {}
/// ```
pub struct NamedTemporaryFile {
    /// The handle, `None` once closed (or while a blocking call has it).
    file: Option<File>,
    /// The blocking object, its handle lent to `file`; `None` only while a blocking call has
    /// it (and for good if that call's future was dropped).
    inner: Option<crate::NamedTemporaryFile>,
    path: PathBuf,
}

impl NamedTemporaryFile {
    /// Creates a named file in [`gettempdir()`](crate::gettempdir), on the blocking pool.
    ///
    /// # Errors
    /// As [`Builder::named_temporary_file`].
    ///
    /// # Python equivalent
    /// None (no async API): `tempfile.NamedTemporaryFile()`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let file = tempkit::tokio::NamedTemporaryFile::new().await?;
    /// assert!(file.path().exists());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn new() -> io::Result<NamedTemporaryFile> {
        Builder::new().named_temporary_file_async().await
    }

    /// The async object for a blocking one (no system call).
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let blocking = tempkit::NamedTemporaryFile::new()?;
    /// let path = blocking.path().to_owned();
    /// let file = tempkit::tokio::NamedTemporaryFile::from_blocking(blocking);
    /// assert_eq!(file.path(), path);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn from_blocking(mut inner: crate::NamedTemporaryFile) -> NamedTemporaryFile {
        let file = inner.lend().map(File::from_std);
        NamedTemporaryFile {
            file,
            path: inner.path().to_owned(),
            inner: Some(inner),
        }
    }

    /// The file's absolute path.
    ///
    /// # Python equivalent
    /// None (no async API): `NamedTemporaryFile().name`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let file = tempkit::tokio::NamedTemporaryFile::new().await?;
    /// assert!(file.path().is_absolute());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether [`close`](Self::close) was called.
    ///
    /// # Python equivalent
    /// None (no async API): `f.closed`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let mut file = tempkit::Builder::new().delete_on_close(false).named_temporary_file_async().await?;
    /// assert!(!file.is_closed());
    /// file.close().await?;
    /// assert!(file.is_closed());
    /// assert!(file.path().exists()); // deleted on drop
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn is_closed(&self) -> bool {
        self.file.is_none()
    }

    /// The open file; an error after [`close`](Self::close).
    ///
    /// # Python equivalent
    /// The object `NamedTemporaryFile()` returns is itself the file.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let file = tempkit::tokio::NamedTemporaryFile::new().await?;
    /// assert_eq!(file.as_file()?.metadata().await?.len(), 0);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn as_file(&self) -> io::Result<&File> {
        self.file
            .as_ref()
            .ok_or_else(|| crate::named::closed_error(&self.path))
    }

    /// The open file, mutably; an error after [`close`](Self::close).
    ///
    /// # Python equivalent
    /// The object `NamedTemporaryFile()` returns is itself the file.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let mut file = tempkit::tokio::NamedTemporaryFile::new().await?;
    /// file.as_file_mut()?.set_len(3).await?;
    /// assert_eq!(tokio::fs::metadata(file.path()).await?.len(), 3);
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn as_file_mut(&mut self) -> io::Result<&mut File> {
        let path = &self.path;
        self.file
            .as_mut()
            .ok_or_else(|| crate::named::closed_error(path))
    }

    /// Keeps the file when dropped if `yes`: see [`crate::NamedTemporaryFile::keep_if`].
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let mut file = tempkit::tokio::NamedTemporaryFile::new().await?;
    /// let path = file.path().to_owned();
    /// file.keep_if(true); // e.g. a check failed: keep it to look at
    /// drop(file);
    /// assert!(path.exists());
    /// # std::fs::remove_file(&path)?;
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

    /// Whether the file carries an owner tag: see [`crate::NamedTemporaryFile::is_reapable`].
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let file = tempkit::Builder::new().reapable(true).named_temporary_file_async().await?;
    /// # let _ = file.is_reapable();
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn is_reapable(&self) -> bool {
        self.inner.as_ref().map_or(false, |f| f.is_reapable())
    }

    /// Flushes and closes the file, on the blocking pool; deletes it if `delete` and
    /// `delete_on_close` (as [`crate::NamedTemporaryFile::close`]).
    ///
    /// # Errors
    /// A write that failed in the background, then as [`crate::NamedTemporaryFile::close`].
    ///
    /// # Python equivalent
    /// None (no async API): `f.close()`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let mut file = tempkit::tokio::NamedTemporaryFile::new().await?;
    /// let path = file.path().to_owned();
    /// file.close().await?;
    /// assert!(!path.exists());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn close(&mut self) -> io::Result<()> {
        let inner = self.take_inner().await?;
        let (inner, result) = blocking_with("close temporary file", &self.path, inner, |inner| {
            inner.close()
        })
        .await?;
        self.inner = Some(inner);
        result
    }

    /// Opens the file again (a new handle with its own position), on the blocking pool, after
    /// proving the name still refers to this file: see [`crate::NamedTemporaryFile::reopen`].
    ///
    /// # Errors
    /// As [`crate::NamedTemporaryFile::reopen`].
    ///
    /// # Python equivalent
    /// None (no async API): `open(f.name)`, without the check.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::{AsyncReadExt, AsyncWriteExt};
    /// let mut file = tempkit::tokio::NamedTemporaryFile::new().await?;
    /// file.write_all(b"hello").await?;
    /// file.flush().await?;
    /// let mut again = file.reopen().await?;
    /// let mut text = String::new();
    /// again.read_to_string(&mut text).await?;
    /// assert_eq!(text, "hello");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn reopen(&mut self) -> io::Result<File> {
        let inner = self.take_inner().await?;
        let (mut inner, result) =
            blocking_with("reopen temporary file", &self.path, inner, |inner| {
                inner.reopen()
            })
            .await?;
        self.file = inner.lend().map(File::from_std);
        self.inner = Some(inner);
        result.map(File::from_std)
    }

    /// Flushes, then renames the file to `to` (replacing what is there) and hands back the
    /// open handle: [`crate::NamedTemporaryFile::persist`], on the blocking pool.
    ///
    /// # Errors
    /// A failed background write or the rename's error, with the file handed back.
    ///
    /// # Python equivalent
    /// None (no async API): `NamedTemporaryFile(delete=False)`, then `os.replace(f.name, to)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let mut file = tempkit::Builder::new().dir(dir.path()).named_temporary_file_async().await?;
    /// file.write_all(b"done").await?;
    /// let to = dir.path().join("out.txt");
    /// file.persist(&to).await?;
    /// assert_eq!(tokio::fs::read(&to).await?, b"done");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn persist<P: AsRef<Path>>(self, to: P) -> Result<File, PersistError> {
        let to = to.as_ref().to_owned();
        self.persist_with(move |f| f.persist(to)).await
    }

    /// Flushes, then publishes the file at `to` durably (`fsync` file, rename, `fsync`
    /// directory): [`crate::NamedTemporaryFile::persist_durable`], on the blocking pool.
    ///
    /// # Errors
    /// As [`persist`](Self::persist).
    ///
    /// # Python equivalent
    /// None (no async API): `f.flush()`, `os.fsync(f.fileno())`, `os.replace(f.name, to)`, then `os.fsync` of the directory.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let mut file = tempkit::Builder::new().dir(dir.path()).named_temporary_file_async().await?;
    /// file.write_all(b"durable").await?;
    /// let to = dir.path().join("out.txt");
    /// file.persist_durable(&to).await?;
    /// assert_eq!(tokio::fs::read(&to).await?, b"durable");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn persist_durable<P: AsRef<Path>>(self, to: P) -> Result<File, PersistError> {
        let to = to.as_ref().to_owned();
        self.persist_with(move |f| f.persist_durable(to)).await
    }

    /// Flushes, then publishes the file at `to` only if nothing is there:
    /// [`crate::NamedTemporaryFile::persist_noclobber`], on the blocking pool.
    ///
    /// # Errors
    /// As [`persist`](Self::persist); `AlreadyExists` when `to` exists.
    ///
    /// # Python equivalent
    /// None (no async API): `os.link(f.name, to)` then `os.unlink(f.name)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let taken = dir.path().join("taken");
    /// tokio::fs::write(&taken, b"old").await?;
    /// let file = tempkit::Builder::new().dir(dir.path()).named_temporary_file_async().await?;
    /// let err = file.persist_noclobber(&taken).await.unwrap_err();
    /// assert_eq!(err.error.kind(), std::io::ErrorKind::AlreadyExists);
    /// err.file.persist_noclobber(dir.path().join("free")).await?;
    /// assert_eq!(tokio::fs::read(&taken).await?, b"old");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn persist_noclobber<P: AsRef<Path>>(self, to: P) -> Result<File, PersistError> {
        let to = to.as_ref().to_owned();
        self.persist_with(move |f| f.persist_noclobber(to)).await
    }

    /// Flushes, then disarms the file: not deleted on drop; the handle and path are handed to
    /// you ([`crate::NamedTemporaryFile::keep`], on the blocking pool).
    ///
    /// # Errors
    /// A failed background write (the object is then dropped, and the file deleted, as by
    /// drop), or as [`crate::NamedTemporaryFile::keep`].
    ///
    /// # Python equivalent
    /// None (no async API): `NamedTemporaryFile(delete=False)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let file = tempkit::tokio::NamedTemporaryFile::new().await?;
    /// let (file, path) = file.keep().await?;
    /// drop(file);
    /// assert!(path.exists()); // and stays
    /// # std::fs::remove_file(&path)?;
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn keep(mut self) -> io::Result<(File, PathBuf)> {
        let inner = self.take_inner().await?;
        let (file, path) = blocking("keep temporary file", Some(&self.path), move || {
            inner.keep()
        })
        .await??;
        Ok((File::from_std(file), path))
    }

    /// Runs one of the blocking `persist` methods on the blocking pool.
    async fn persist_with(
        mut self,
        f: impl FnOnce(crate::NamedTemporaryFile) -> Result<std::fs::File, crate::PersistError>
            + Send
            + 'static,
    ) -> Result<File, PersistError> {
        let inner = match self.take_inner().await {
            Ok(inner) => inner,
            Err(error) => return Err(PersistError { error, file: self }),
        };
        match blocking("persist temporary file", Some(&self.path), move || f(inner)).await {
            Ok(Ok(file)) => Ok(File::from_std(file)),
            Ok(Err(e)) => Err(PersistError {
                error: e.error,
                file: NamedTemporaryFile::from_blocking(e.file),
            }),
            Err(error) => Err(PersistError { error, file: self }),
        }
    }

    /// The file every `AsyncRead`, `AsyncWrite` and `AsyncSeek` call goes to; an error after
    /// [`close`](Self::close).
    fn io(&mut self) -> io::Result<Pin<&mut File>> {
        match self.file.as_mut() {
            Some(file) => Ok(Pin::new(file)),
            None => Err(crate::named::closed_error(&self.path)),
        }
    }

    /// The blocking object with its handle back in it, after a flush that reported the
    /// background writes' error (on error, nothing was taken).
    async fn take_inner(&mut self) -> io::Result<crate::NamedTemporaryFile> {
        if let Some(file) = self.file.as_mut() {
            let path = &self.path;
            file.flush()
                .await
                .map_err(|e| crate::error::with_path(e, "write temporary file", path))?;
        }
        let mut inner = match self.inner.take() {
            Some(inner) => inner,
            None => {
                return Err(crate::error::new(
                    io::ErrorKind::Other,
                    format!(
                        "temporary file `{}` was dropped by a cancelled operation",
                        self.path.display()
                    ),
                ))
            }
        };
        if let Some(file) = self.file.take() {
            inner.give_back(file.into_std().await);
        }
        Ok(inner)
    }
}

impl Drop for NamedTemporaryFile {
    fn drop(&mut self) {
        // The handle goes back into the blocking object when no operation is in flight, so
        // that its drop is exactly the blocking one (an owner tag can be removed through it).
        if let (Some(file), Some(inner)) = (self.file.take(), self.inner.as_mut()) {
            if let Ok(file) = file.try_into_std() {
                inner.give_back(file);
            }
        }
        // `inner` is dropped next: the blocking drop (keep on panic, delete, report).
    }
}

impl fmt::Debug for NamedTemporaryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedTemporaryFile")
            .field("path", &self.path)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The error of a `persist` method: the error and the async file, handed back.
///
/// # Python equivalent
/// None: Python has no persist.
///
/// ```
/// # fn main() -> std::io::Result<()> {
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let file = tempkit::tokio::NamedTemporaryFile::new().await?;
/// let missing = file.path().with_file_name("no-such-dir").join("x");
/// let err = file.persist(&missing).await.unwrap_err();
/// assert_eq!(err.error.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.file.path().exists()); // still there, still temporary
/// # Ok(())
/// # })
/// # }
/// ```
pub struct PersistError {
    /// What went wrong, naming both paths.
    pub error: io::Error,
    /// The temporary file, handed back as it was.
    pub file: NamedTemporaryFile,
}

impl fmt::Debug for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PersistError")
            .field("error", &self.error)
            .field("file", &self.file)
            .finish()
    }
}

handing_back_error!(PersistError, error);

async_io_through_file!(NamedTemporaryFile);
async_io_through_file!(TemporaryFile);

impl Builder {
    /// [`temporary_file`](Builder::temporary_file), on the blocking pool: an async
    /// [`TemporaryFile`](crate::tokio::TemporaryFile) (feature `tokio`).
    ///
    /// # Errors
    /// As [`temporary_file`](Builder::temporary_file).
    ///
    /// # Python equivalent
    /// None (no async API): `tempfile.TemporaryFile(dir=...)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let file = tempkit::Builder::new().dir(dir.path()).temporary_file_async().await?;
    /// assert_eq!(file.as_file().metadata().await?.len(), 0);
    /// assert_eq!(std::fs::read_dir(dir.path())?.count(), 0); // no name
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn temporary_file_async(&self) -> io::Result<TemporaryFile> {
        let builder = self.clone();
        let file = blocking("create a temporary file", None, move || {
            builder.temporary_file()
        })
        .await??;
        Ok(TemporaryFile {
            file: File::from_std(file.into_file()),
        })
    }

    /// [`named_temporary_file`](Builder::named_temporary_file), on the blocking pool: an
    /// async [`NamedTemporaryFile`](crate::tokio::NamedTemporaryFile) (feature `tokio`).
    ///
    /// # Errors
    /// As [`named_temporary_file`](Builder::named_temporary_file).
    ///
    /// # Python equivalent
    /// None (no async API): `tempfile.NamedTemporaryFile(suffix=...)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let file = tempkit::Builder::new().suffix(".json").named_temporary_file_async().await?;
    /// assert!(file.path().to_string_lossy().ends_with(".json"));
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn named_temporary_file_async(&self) -> io::Result<NamedTemporaryFile> {
        let builder = self.clone();
        let file = super::gate::create_in(
            self.given_dir(),
            "create a temporary file",
            None,
            move || builder.named_temporary_file(),
        )
        .await??;
        Ok(NamedTemporaryFile::from_blocking(file))
    }
}
