//! The async `SpooledTemporaryFile`: memory without any thread pool, a rollover on the
//! blocking pool that loses nothing when it fails.

use std::fmt;
use std::future::Future;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use ::tokio::fs::File;
use ::tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};
use ::tokio::task::JoinHandle;

use super::not_run;
use crate::Builder;

/// Bytes in memory while small, moved to an unnamed file on disk when they grow: the async
/// [`crate::SpooledTemporaryFile`].
///
/// In memory, reading, writing and seeking are plain memory operations done in the calling
/// task: no thread pool, no system call. A write that would take it past `max_size` first
/// rolls it over on the blocking pool (the write waits, the worker does not); on disk it is a
/// [`tokio::fs::File`](File). A rollover that fails (no space, a bad `dir`) returns its error
/// from the write and leaves every byte and the position in memory, as the blocking type
/// does; so does a rollover whose task the runtime drops at shutdown, and one asked for
/// outside a tokio runtime (polled by another executor) or when tokio cannot start a thread.
/// That last one is tokio's panic, caught: its message still reaches the panic hook, and a
/// program built with `panic = "abort"` aborts there instead.
///
/// # Python equivalent
/// None (no async API): `tempfile.SpooledTemporaryFile(max_size)`.
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # fn main() -> std::io::Result<()> {
/// use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
/// tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
///     let mut file = tempkit::tokio::SpooledTemporaryFile::new(4);
///     file.write_all(b"abc").await?;
///     assert!(!file.is_rolled_over()); // in memory
///     file.write_all(b"def").await?; // past 4 bytes: rolled over first
///     assert!(file.is_rolled_over());
///     file.rewind().await?;
///     let mut text = String::new();
///     file.read_to_string(&mut text).await?;
///     assert_eq!(text, "abcdef");
///     Ok(())
/// })
/// # }
/// # #[cfg(not(feature = "tokio"))]
/// # fn main() {}
/// ```
pub struct SpooledTemporaryFile {
    state: State,
    /// A seek started in memory: its outcome, for `poll_complete`.
    seek: Option<io::Result<u64>>,
}

enum State {
    /// The blocking object, in memory.
    Memory(crate::SpooledTemporaryFile),
    /// A rollover on the blocking pool. The object stays in the shared slot whatever the task
    /// does, so that a failed or dropped rollover loses nothing.
    Rolling {
        slot: Arc<Mutex<Option<crate::SpooledTemporaryFile>>>,
        task: JoinHandle<io::Result<()>>,
    },
    /// On disk.
    Disk(File),
    /// Only while changing state (or after a panic in the rollover task).
    Gone,
}

impl SpooledTemporaryFile {
    /// A spooled file with the default options that stays in memory until it holds more than
    /// `max_size` bytes (`0`: until [`rollover`](Self::rollover)).
    ///
    /// # Python equivalent
    /// None (no async API): `tempfile.SpooledTemporaryFile(max_size)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let file = tempkit::tokio::SpooledTemporaryFile::new(1024);
    /// assert!(!file.is_rolled_over()); // nothing created yet
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn new(max_size: usize) -> SpooledTemporaryFile {
        Builder::new().spooled_temporary_file_async(max_size)
    }

    /// Whether the contents are on disk.
    ///
    /// # Python equivalent
    /// None (no async API): `f._rolled`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::AsyncWriteExt;
    /// let mut file = tempkit::tokio::SpooledTemporaryFile::new(2);
    /// file.write_all(b"ab").await?;
    /// assert!(!file.is_rolled_over());
    /// file.write_all(b"c").await?;
    /// assert!(file.is_rolled_over());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub fn is_rolled_over(&self) -> bool {
        matches!(self.state, State::Disk(_))
    }

    /// Moves the contents to a file on disk now (nothing if done already), on the blocking
    /// pool, keeping the position.
    ///
    /// # Errors
    /// As [`crate::SpooledTemporaryFile::rollover`]; also outside a tokio runtime, or when
    /// tokio cannot start a blocking thread. The contents then stay in memory, usable.
    ///
    /// # Python equivalent
    /// None (no async API): `f.rollover()`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    /// let mut file = tempkit::tokio::SpooledTemporaryFile::new(0);
    /// file.write_all(b"abc").await?;
    /// file.rollover().await?;
    /// assert!(file.is_rolled_over());
    /// file.rewind().await?;
    /// let mut text = String::new();
    /// file.read_to_string(&mut text).await?;
    /// assert_eq!(text, "abc");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn rollover(&mut self) -> io::Result<()> {
        Roll(self).await
    }

    /// The file on disk, rolling over first if need be (on the blocking pool).
    ///
    /// # Errors
    /// As [`rollover`](Self::rollover). The bytes are then dropped with `self`, as
    /// [`crate::SpooledTemporaryFile::into_file`] drops them: to keep them on failure, call
    /// [`rollover`](Self::rollover) first (after which this cannot fail).
    ///
    /// # Python equivalent
    /// None (no async API): `f.rollover()`, then `f._file`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    /// let mut file = tempkit::tokio::SpooledTemporaryFile::new(1024);
    /// file.write_all(b"abc").await?;
    /// let mut disk: tokio::fs::File = file.into_file().await?;
    /// disk.rewind().await?;
    /// let mut text = String::new();
    /// disk.read_to_string(&mut text).await?;
    /// assert_eq!(text, "abc");
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    pub async fn into_file(mut self) -> io::Result<File> {
        self.rollover().await?;
        match std::mem::replace(&mut self.state, State::Gone) {
            State::Disk(file) => Ok(file),
            _ => Err(gone()),
        }
    }

    /// Settles a rollover in progress, starting one first if `start` (and in memory).
    fn poll_roll(&mut self, cx: &mut Context<'_>, start: bool) -> Poll<io::Result<()>> {
        loop {
            match &mut self.state {
                State::Disk(_) => return Poll::Ready(Ok(())),
                State::Gone => return Poll::Ready(Err(gone())),
                State::Memory(_) if !start => return Poll::Ready(Ok(())),
                State::Memory(_) => {
                    // Checked first: `spawn_blocking` panics outside a runtime, and the bytes
                    // must stay where they are.
                    let handle = match ::tokio::runtime::Handle::try_current() {
                        Ok(handle) => handle,
                        Err(e) => {
                            return Poll::Ready(Err(crate::error::new(
                                io::ErrorKind::Other,
                                format!(
                                    "failed to roll a spooled temporary file over: {} (its \
                                     rollover runs on tokio's blocking pool); every byte \
                                     stays in memory",
                                    e
                                ),
                            )))
                        }
                    };
                    let slot = Arc::new(Mutex::new(None::<crate::SpooledTemporaryFile>));
                    let theirs = Arc::clone(&slot);
                    // Held until the task exists: it finds the object in the slot, or (if
                    // `spawn_blocking` panicked and the task runs later) nothing to do.
                    let mut ours = slot.lock().unwrap_or_else(PoisonError::into_inner);
                    // `spawn_blocking` panics when no thread can be started at all: the
                    // state is replaced only once the task exists, as the directory's drop
                    // guards it. Caught only when unwinding: with `panic = "abort"` the
                    // process aborts; either way tokio's message reaches the panic hook.
                    let spawned = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        handle.spawn_blocking(move || {
                            let mut guard = theirs.lock().unwrap_or_else(PoisonError::into_inner);
                            match guard.as_mut() {
                                Some(file) => file.rollover(),
                                None => Ok(()),
                            }
                        })
                    }));
                    let task = match spawned {
                        Ok(task) => task,
                        Err(_) => {
                            return Poll::Ready(Err(crate::error::new(
                                io::ErrorKind::Other,
                                "failed to roll a spooled temporary file over: tokio could \
                                 not start a blocking thread; every byte stays in memory"
                                    .to_owned(),
                            )))
                        }
                    };
                    match std::mem::replace(&mut self.state, State::Gone) {
                        State::Memory(memory) => *ours = Some(memory),
                        _ => unreachable!("matched above"),
                    }
                    drop(ours);
                    self.state = State::Rolling { slot, task };
                }
                State::Rolling { slot, task } => {
                    let outcome = match Pin::new(task).poll(cx) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(outcome) => outcome,
                    };
                    // The task has ended or was dropped unrun: the object is ours again.
                    let object = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
                    let object = match object {
                        Some(object) => object,
                        None => {
                            self.state = State::Gone;
                            return Poll::Ready(Err(gone()));
                        }
                    };
                    match outcome {
                        Ok(Ok(())) if object.is_rolled_over() => {}
                        // Settled in memory: start again if asked.
                        Ok(Ok(())) => {
                            self.state = State::Memory(object);
                            continue;
                        }
                        // Failed: every byte stays in memory.
                        Ok(Err(e)) => {
                            self.state = State::Memory(object);
                            return Poll::Ready(Err(e));
                        }
                        // Dropped unrun, or a panic (resumed): the same.
                        Err(e) => {
                            self.state = State::Memory(object);
                            return Poll::Ready(Err(not_run(
                                "roll a spooled temporary file over",
                                None,
                                e,
                            )));
                        }
                    }
                    // Rolled over: `into_file` hands the file over without a system call (the
                    // task is spent: never left in `Rolling`, to be polled again).
                    match object.into_file() {
                        Ok(file) => self.state = State::Disk(File::from_std(file)),
                        Err(e) => {
                            self.state = State::Gone;
                            return Poll::Ready(Err(e));
                        }
                    }
                    return Poll::Ready(Ok(()));
                }
            }
        }
    }
}

/// The error of an object lost to a panic in its rollover.
fn gone() -> io::Error {
    crate::error::new(
        io::ErrorKind::Other,
        "spooled temporary file lost: its rollover panicked".to_owned(),
    )
}

/// The future of [`SpooledTemporaryFile::rollover`].
struct Roll<'a>(&'a mut SpooledTemporaryFile);

impl Future for Roll<'_> {
    type Output = io::Result<()>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().0.poll_roll(cx, true)
    }
}

impl AsyncRead for SpooledTemporaryFile {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match this.poll_roll(cx, false) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {}
        }
        match &mut this.state {
            State::Memory(memory) => {
                let n = memory.read(buf.initialize_unfilled())?;
                buf.advance(n);
                Poll::Ready(Ok(()))
            }
            State::Disk(file) => Pin::new(file).poll_read(cx, buf),
            _ => Poll::Ready(Err(gone())),
        }
    }
}

impl AsyncWrite for SpooledTemporaryFile {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let start = match &this.state {
            State::Memory(memory) => !memory.fits(buf.len()),
            _ => false,
        };
        match this.poll_roll(cx, start) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Ready(Ok(())) => {}
        }
        match &mut this.state {
            // Fits: the blocking object writes to memory, without a system call.
            State::Memory(memory) => Poll::Ready(memory.write(buf)),
            State::Disk(file) => Pin::new(file).poll_write(cx, buf),
            _ => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.state {
            State::Disk(file) => Pin::new(file).poll_flush(cx),
            _ => Poll::Ready(Ok(())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match &mut this.state {
            State::Disk(file) => Pin::new(file).poll_shutdown(cx),
            _ => Poll::Ready(Ok(())),
        }
    }
}

impl AsyncSeek for SpooledTemporaryFile {
    fn start_seek(self: Pin<&mut Self>, position: SeekFrom) -> io::Result<()> {
        let this = self.get_mut();
        match &mut this.state {
            State::Memory(memory) => {
                this.seek = Some(memory.seek(position));
                Ok(())
            }
            State::Disk(file) => Pin::new(file).start_seek(position),
            State::Rolling { .. } => Err(crate::error::new(
                io::ErrorKind::Other,
                "a spooled temporary file cannot seek while it rolls over".to_owned(),
            )),
            State::Gone => Err(gone()),
        }
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        let this = self.get_mut();
        if let Some(outcome) = this.seek.take() {
            return Poll::Ready(outcome);
        }
        match &mut this.state {
            State::Memory(memory) => Poll::Ready(memory.stream_position()),
            State::Disk(file) => Pin::new(file).poll_complete(cx),
            State::Rolling { .. } => match this.poll_roll(cx, false) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Ready(Ok(())) => Pin::new(this).poll_complete(cx),
            },
            State::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl fmt::Debug for SpooledTemporaryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpooledTemporaryFile")
            .field("rolled_over", &self.is_rolled_over())
            .finish()
    }
}

impl Builder {
    /// [`spooled_temporary_file`](Builder::spooled_temporary_file) as an async
    /// [`SpooledTemporaryFile`](crate::tokio::SpooledTemporaryFile) (feature `tokio`): nothing
    /// is created until it rolls over, so this is not `async` and cannot fail.
    ///
    /// # Python equivalent
    /// None (no async API): `tempfile.SpooledTemporaryFile(max_size, dir=...)`.
    ///
    /// ```
    /// # fn main() -> std::io::Result<()> {
    /// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
    /// let dir = tempkit::tokio::TemporaryDirectory::new().await?;
    /// let mut file = tempkit::Builder::new().dir(dir.path()).spooled_temporary_file_async(0);
    /// file.rollover().await?;
    /// assert!(file.is_rolled_over());
    /// # Ok(())
    /// # })
    /// # }
    /// ```
    #[must_use]
    pub fn spooled_temporary_file_async(&self, max_size: usize) -> SpooledTemporaryFile {
        SpooledTemporaryFile {
            state: State::Memory(self.spooled_temporary_file(max_size)),
            seek: None,
        }
    }
}
