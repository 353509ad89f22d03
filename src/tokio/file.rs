//! The async `TemporaryFile` and `NamedTemporaryFile`: the blocking objects inside, their
//! handle driven as a `tokio::fs::File`.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use ::tokio::fs::File;
use ::tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{blocking, blocking_with};
use crate::Builder;

/// A write that failed on the blocking pool. tokio returns its error once (to the next write,
/// flush or shutdown) and a later flush succeeds; the object remembers it, so that no later
/// publish (`persist*`, `keep`, `close`, `commit`) turns the incomplete content into a
/// reported success.
#[derive(Clone, Debug)]
pub(super) struct WriteFailure {
    /// The kind of the failure, which the refusals keep.
    kind: io::ErrorKind,
    /// The failure, for the refusals' message.
    cause: String,
}

impl WriteFailure {
    /// Records `e` in `slot`, unless a failure is there already (the first one is the cause).
    pub(super) fn record(slot: &mut Option<WriteFailure>, e: &io::Error) {
        if slot.is_none() {
            *slot = Some(WriteFailure {
                kind: e.kind(),
                cause: e.to_string(),
            });
        }
    }

    /// The error of a publish refused because of it; `what` says what was refused, naming the
    /// path.
    pub(super) fn error(&self, what: &str) -> io::Error {
        crate::error::new(
            self.kind,
            format!(
                "{}: an earlier write to it failed ({}), so it does not hold everything that was \
                 written; write the content again into a new temporary file",
                what, self.cause
            ),
        )
    }
}

/// Gives tokio's `File` back as a `std::fs::File`, once no operation of its own is in flight
/// (after a flush). A task of `metadata`, `sync_all`, `set_len`... whose future was dropped
/// may still share it, and tokio's `into_std` would panic then: the blocking object gets a
/// second descriptor of the same open file instead (same offset; one `fcntl`, on that path
/// only). On error the `File` is handed back.
pub(super) fn into_std(file: File) -> Result<std::fs::File, (io::Error, File)> {
    match file.try_into_std() {
        Ok(file) => Ok(file),
        Err(file) => match crate::sys::duplicate(&file) {
            // tokio's descriptor closes when the task sharing it ends.
            Ok(again) => Ok(again),
            Err(e) => Err((e, file)),
        },
    }
}

/// tokio's `File` made anew after one of its operations failed, with the same open file and
/// offset. When the runtime is shutting down, tokio drops the operation's task unrun, reports
/// that once, and leaves its `File` waiting on the task's spent handle: the next operation
/// on it would panic ("JoinHandle polled after completion"). The dropped task released its
/// share of the file, so no system call is needed (else a duplicate, as [`into_std`]); the
/// read-ahead buffer that task held is gone, so the offset may be past what was read.
/// `None` when even the duplicate fails: the handle is then closed (when the last task
/// sharing it ends).
pub(super) fn rebuilt(file: File) -> Option<File> {
    into_std(file).ok().map(File::from_std)
}

/// The same for a `File` that cannot be moved out: a duplicate of its descriptor (one
/// `fcntl`, only after a failed operation). On error the `File` stays as it is.
pub(super) fn rebuild_in_place(file: &mut File) {
    if let Ok(again) = crate::sys::duplicate(file) {
        *file = File::from_std(again);
    }
}

/// Runs `f(object)` on the blocking pool. A task the runtime dropped unrun (it is shutting
/// down) hands `object` back with the error, instead of dropping it (which would delete the
/// file): it waits in a slot shared with the task (one allocation, no system call).
async fn on_pool<O, T, F>(
    what: &str,
    path: &Path,
    object: O,
    f: F,
) -> Result<T, (io::Error, Option<O>)>
where
    O: Send + 'static,
    T: Send + 'static,
    F: FnOnce(O) -> T + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Some(object)));
    let theirs = Arc::clone(&slot);
    let outcome = blocking(what, Some(path), move || {
        let object = theirs.lock().unwrap_or_else(PoisonError::into_inner).take();
        object.map(f)
    })
    .await;
    let error = match outcome {
        Ok(Some(out)) => return Ok(out),
        Err(error) => error,
        // Never: only the task takes the object, once.
        Ok(None) => crate::error::new(
            io::ErrorKind::Other,
            format!("failed to {} `{}`: it was gone", what, path.display()),
        ),
    };
    let back = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
    Err((error, back))
}

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

    /// Nothing to do: the handle is never handed back.
    fn reading(&mut self) {}

    /// A write or flush failed: tokio's `File` may be stuck on a task dropped unrun.
    fn write_failed(&mut self, _e: &io::Error) {
        rebuild_in_place(&mut self.file);
    }

    /// A read or seek failed: tokio's `File` may be stuck on a task dropped unrun.
    fn op_failed(&mut self) {
        rebuild_in_place(&mut self.file);
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
/// flush first. tokio reports a failed write only once; this object remembers it (when the
/// error reaches it through its own `AsyncWrite`, a flush, `close`, `persist*` or `keep`),
/// and every later `persist*`, `keep` and `close` of it fails with that error's kind: a
/// truncated file is never published. An error you take from the `tokio::fs::File` of
/// [`as_file_mut`](Self::as_file_mut) yourself is not seen here.
///
/// Dropping the future of a `persist` method before it completes does not stop the publish:
/// once its flush is done, the blocking call is on the pool and still runs (also when it had
/// not started yet), so the file is published at `to` all the same, its handle closed
/// (deleted only if the runtime shuts down before the call ran, or if the future was dropped
/// during the flush). Dropping the future of `close` or `reopen` drops the file: it is deleted
/// as by drop once the blocking call has ended. Do not put a timeout on them unless that is
/// what you want.
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
    /// The first write that failed in the background: every later publish is refused.
    failed: Option<WriteFailure>,
    /// A read (or [`as_file_mut`](Self::as_file_mut)) may have left bytes in tokio's
    /// read-ahead buffer, so the descriptor's offset may be past what the caller read.
    read_ahead: bool,
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
            failed: None,
            read_ahead: false,
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
    /// Whatever is read through it, the handle that `reopen` leaves and `keep` and
    /// `persist*` hand back is where your reads stopped (tokio's read-ahead is given back
    /// first: one `lseek` more for them, once this was called). A write error you take from
    /// it yourself is not seen by this object: flush through the object itself.
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
        // It may be read from: the offset is set right before the handle is handed back.
        self.read_ahead = true;
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
    /// A write that failed in the background (the file stays open); once such a failure was
    /// reported, the close happens but returns an error of its kind; the runtime shutting
    /// down (the file stays open, as it was); then as [`crate::NamedTemporaryFile::close`].
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
        // The content is incomplete: closing is reported as a failure (once, while open).
        let refused = match (&self.failed, &self.file) {
            (Some(failed), Some(_)) => Some(failed.error(&format!(
                "failed to close temporary file `{}`",
                self.path.display()
            ))),
            _ => None,
        };
        let inner = self.take_inner().await?;
        let close = |mut inner: crate::NamedTemporaryFile| {
            let result = inner.close();
            (inner, result)
        };
        match on_pool("close temporary file", &self.path, inner, close).await {
            Ok((inner, result)) => {
                self.inner = Some(inner);
                result?;
                refused.map_or(Ok(()), Err)
            }
            // The runtime is shutting down: the file is left open, as it was.
            Err((error, Some(inner))) => {
                self.restore(inner);
                Err(error)
            }
            Err((error, None)) => Err(error),
        }
    }

    /// Opens the file again (a new handle with its own position), on the blocking pool, after
    /// proving the name still refers to this file: see [`crate::NamedTemporaryFile::reopen`].
    ///
    /// The handle this object keeps reading and writing through is where your reads stopped
    /// (tokio's read-ahead is given back first). Dropping this future before it completes
    /// deletes the file, as the type's documentation says.
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
        let (inner, result) = blocking_with("reopen temporary file", &self.path, inner, |inner| {
            inner.reopen()
        })
        .await?;
        self.restore(inner);
        result.map(File::from_std)
    }

    /// Flushes, then renames the file to `to` (replacing what is there) and hands back the
    /// open handle: [`crate::NamedTemporaryFile::persist`], on the blocking pool.
    ///
    /// # Errors
    /// A failed background write (this one, or an earlier one: the file can then never be
    /// published, and every retry fails with that error's kind), the runtime shutting down
    /// or the rename's error, with the file handed back.
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
        let to = to.as_ref();
        if let Some(error) = self.refusal("persist", to) {
            return Err(PersistError { error, file: self });
        }
        let to = to.to_owned();
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
        let to = to.as_ref();
        if let Some(error) = self.refusal("persist (durably)", to) {
            return Err(PersistError { error, file: self });
        }
        let to = to.to_owned();
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
        let to = to.as_ref();
        if let Some(error) = self.refusal("persist (without replacing)", to) {
            return Err(PersistError { error, file: self });
        }
        let to = to.to_owned();
        self.persist_with(move |f| f.persist_noclobber(to)).await
    }

    /// Flushes, then disarms the file: not deleted on drop; the handle and path are handed to
    /// you ([`crate::NamedTemporaryFile::keep`], on the blocking pool).
    ///
    /// If the runtime is shutting down (the blocking pool takes no more tasks), the file is
    /// kept in place, on this thread (no system call for an open file without owner tag;
    /// else the tag's removal, or `reopen`'s after [`close`](Self::close)). tokio's
    /// read-ahead cannot be given back then: after a read, the handle's offset may be past
    /// what was read.
    ///
    /// # Errors
    /// A failed background write, this one or an earlier one (the object is then dropped, and
    /// the file deleted, as by drop: it does not hold what was written), or as
    /// [`crate::NamedTemporaryFile::keep`].
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
        if let Some(failed) = &self.failed {
            return Err(failed.error(&format!(
                "failed to keep temporary file `{}`",
                self.path.display()
            )));
        }
        let inner = match self.take_inner().await {
            Ok(inner) => inner,
            // A write failed: refused, as above.
            Err(error) if self.failed.is_some() => return Err(error),
            // tokio's read-ahead could not be given back (the seek's task was dropped unrun:
            // the runtime is shutting down): kept all the same, the handle's offset where it
            // is. The `File` was made anew, so this takes no seek and no flush.
            Err(_) => self.take_inner().await?,
        };
        let kept = match on_pool("keep temporary file", &self.path, inner, |inner| {
            inner.keep()
        })
        .await
        {
            Ok(kept) => kept,
            // The runtime is shutting down: kept here rather than deleted by the drop.
            Err((_, Some(inner))) => inner.keep(),
            Err((error, None)) => Err(error),
        };
        kept.map(|(file, path)| (File::from_std(file), path))
    }

    /// The error that refuses to publish this file at `to` (`op` says how), after a write
    /// that failed: `None` when nothing failed.
    fn refusal(&self, op: &str, to: &Path) -> Option<io::Error> {
        self.failed.as_ref().map(|failed| {
            failed.error(&format!(
                "failed to {} temporary file `{}` as `{}`",
                op,
                self.path.display(),
                to.display()
            ))
        })
    }

    /// Lends the handle of `inner` again and takes it back as this object's.
    fn restore(&mut self, mut inner: crate::NamedTemporaryFile) {
        self.file = inner.lend().map(File::from_std);
        if inner.path() != self.path {
            // Published, only its directory's fsync failed: it stands for `to` now.
            self.path = inner.path().to_owned();
        }
        self.inner = Some(inner);
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
        match on_pool("persist temporary file", &self.path, inner, f).await {
            Ok(Ok(file)) => Ok(File::from_std(file)),
            Ok(Err(e)) => {
                self.restore(e.file);
                Err(PersistError {
                    error: e.error,
                    file: self,
                })
            }
            // The runtime is shutting down: the file is handed back as it was.
            Err((error, back)) => {
                if let Some(inner) = back {
                    self.restore(inner);
                }
                Err(PersistError { error, file: self })
            }
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

    /// Called before every read: tokio may read ahead.
    fn reading(&mut self) {
        self.read_ahead = true;
    }

    /// Remembers a failed write: every later publish is refused. tokio's `File` is made anew
    /// (it may be stuck on a task dropped unrun).
    fn write_failed(&mut self, e: &io::Error) {
        WriteFailure::record(&mut self.failed, e);
        self.unstick();
    }

    /// A read or seek failed: tokio's `File` may be stuck on a task dropped unrun (the
    /// runtime is shutting down), where the next call would panic: made anew.
    fn op_failed(&mut self) {
        self.unstick();
    }

    /// The error of a flush or seek of `take_inner` (`what` failed), tokio's `File` made anew
    /// first: a task tokio dropped unrun (the runtime is shutting down) leaves it stuck, the
    /// read-ahead lost.
    fn unstuck(&mut self, e: io::Error, what: &str) -> io::Error {
        self.unstick();
        crate::error::with_path(e, what, &self.path)
    }

    /// Replaces tokio's `File` after one of its operations failed ([`rebuilt`]): it never
    /// stays waiting on a task tokio dropped unrun at runtime shutdown, where the next flush,
    /// seek, read or write would panic. Its read-ahead is gone with it.
    fn unstick(&mut self) {
        if let Some(file) = self.file.take() {
            // `None` (no descriptor left for a duplicate): as closed; the blocking object
            // reopens by name, proving its identity, when it needs a handle.
            self.file = rebuilt(file);
        }
        self.read_ahead = false;
    }

    /// The blocking object with its handle back in it, after a flush that reported the
    /// background writes' error (remembered: every later publish is refused), with the
    /// descriptor's offset where the caller's reads and writes stopped (on error, nothing was
    /// taken).
    async fn take_inner(&mut self) -> io::Result<crate::NamedTemporaryFile> {
        if let Some(file) = self.file.as_mut() {
            if let Err(e) = file.flush().await {
                WriteFailure::record(&mut self.failed, &e);
                return Err(self.unstuck(e, "write temporary file"));
            }
            if self.read_ahead {
                // tokio reads ahead into its buffer, so the offset may be past what the caller
                // read; a seek by 0 through tokio gives the buffer back (one `lseek` on the
                // blocking pool, only once the file was read or lent by `as_file_mut`).
                if let Err(e) = file.seek(io::SeekFrom::Current(0)).await {
                    return Err(self.unstuck(e, "seek in temporary file"));
                }
                self.read_ahead = false;
            }
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
            match into_std(file) {
                Ok(file) => inner.give_back(file),
                Err((e, file)) => {
                    self.file = Some(file);
                    self.inner = Some(inner);
                    return Err(crate::error::with_path(
                        e,
                        "duplicate the descriptor of",
                        &self.path,
                    ));
                }
            }
        }
        Ok(inner)
    }
}

impl Drop for NamedTemporaryFile {
    fn drop(&mut self) {
        // The handle goes back into the blocking object when no operation is in flight, so
        // that its drop is exactly the blocking one (an owner tag can be removed through it).
        if let (Some(file), Some(inner)) = (self.file.take(), self.inner.as_mut()) {
            match file.try_into_std() {
                Ok(file) => inner.give_back(file),
                // An operation in flight still shares tokio's `std::fs::File`. A tagged file
                // that is kept needs a handle to remove its owner tag: a second descriptor of
                // the same file (one `fcntl`, only on this path). Untagged, the name alone
                // serves.
                Err(file) if inner.is_reapable() => {
                    if let Ok(again) = crate::sys::duplicate(&file) {
                        inner.give_back(again);
                    }
                }
                Err(_) => {}
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
    /// The temporary file, handed back as it was (also when the runtime is shutting down).
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
