//! Temporary objects for tokio that never block the runtime (feature `tokio`).
//!
//! The same objects as the blocking ones, with the same [`Builder`](crate::Builder) options
//! (`Builder::*_async`), made for `async` code on a tokio runtime:
//!
//! | blocking | async | made by |
//! |---|---|---|
//! | [`crate::TemporaryFile`] | [`TemporaryFile`] | [`TemporaryFile::new`], [`Builder::temporary_file_async`](crate::Builder::temporary_file_async) |
//! | [`crate::NamedTemporaryFile`] | [`NamedTemporaryFile`] | [`NamedTemporaryFile::new`], [`Builder::named_temporary_file_async`](crate::Builder::named_temporary_file_async) |
//! | [`crate::SpooledTemporaryFile`] | [`SpooledTemporaryFile`] | [`SpooledTemporaryFile::new`], [`Builder::spooled_temporary_file_async`](crate::Builder::spooled_temporary_file_async) |
//! | [`crate::TemporaryDirectory`] | [`TemporaryDirectory`] | [`TemporaryDirectory::new`], [`Builder::temporary_directory_async`](crate::Builder::temporary_directory_async) |
//! | [`crate::AtomicFile`] | [`AtomicFile`] | [`AtomicFile::create`], [`AtomicFileOptions::create_async`](crate::AtomicFileOptions::create_async) |
//! | [`crate::write_atomic`] | [`write_atomic`] | |
//!
//! - The file types implement tokio's `AsyncRead`, `AsyncWrite` and `AsyncSeek` (through a
//!   [`tokio::fs::File`], as tokio's own files do: a write is handed to
//!   the blocking pool; `flush().await` waits for it and reports its error).
//!   tokio reports a write that failed there only once: a [`NamedTemporaryFile`] or an
//!   [`AtomicFile`] remembers it and refuses every later `persist*`, `keep` and `commit`,
//!   so a retry never publishes a truncated file.
//! - Creation, `persist*`, `reopen`, `close`, `commit` and `cleanup` are `async fn`s that run
//!   the blocking calls of the blocking types on tokio's blocking pool (`spawn_blocking`),
//!   never on a runtime worker. They must be called within a tokio runtime.
//! - The creations of named files, directories and atomic files in one directory take
//!   turns, at most 8 at once; the others wait as futures, without a thread. The kernel
//!   creates the entries of one directory one at a time anyway, and a thousand tasks creating
//!   at once would otherwise each hold a blocking-pool thread to wait for that (4 to 10 times
//!   slower on ext4, see docs/PERFORMANCE.md). Each directory has its own turns: one whose
//!   creations hang holds up no other.
//! - A [`SpooledTemporaryFile`] in memory uses no thread pool at all; its rollover runs on the
//!   blocking pool, and a rollover that fails leaves every byte in memory.
//! - Dropping a [`TemporaryDirectory`] hands the removal of its tree to the blocking pool
//!   when a runtime is present, and removes in place when none is: a large tree never stalls
//!   a worker. See [`TemporaryDirectory`], "Drop and runtime shutdown". A failed publish
//!   hands the directory back as this async object too ([`PersistDirError`]), so `?` on it
//!   never removes a tree on a worker either.
//! - Keeping on panic (`keep_on_panic`, `TEMPKIT_KEEP`), `keep_if`, the cleanup-error hook,
//!   [`protect`](crate::Builder::protect) and [`reapable`](crate::Builder::reapable) work as
//!   for the blocking types: these objects are the blocking ones inside.
//!
//! Dropping a [`NamedTemporaryFile`] or an [`AtomicFile`] removes one name in place (one
//! `unlink`, as closing a `tokio::fs::File` closes in place).
//!
//! # Python equivalent
//! None: Python's `tempfile` has no asynchronous API (asyncio code calls it from a thread,
//! `asyncio.to_thread`, or blocks the event loop). New here: objects whose creation and
//! publishing never run on the runtime's workers, a directory whose drop never blocks one,
//! and a spooled file that stays off every thread pool while in memory.
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # fn main() -> std::io::Result<()> {
//! use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! rt.block_on(async {
//!     let dir = tempkit::Builder::new().prefix("job-").temporary_directory_async().await?;
//!     let mut file = tempkit::Builder::new().dir(dir.path()).named_temporary_file_async().await?;
//!     file.write_all(b"hello").await?;
//!     file.flush().await?;
//!     file.seek(std::io::SeekFrom::Start(0)).await?;
//!     let mut text = String::new();
//!     file.read_to_string(&mut text).await?;
//!     assert_eq!(text, "hello");
//!     let kept = file.persist(dir.path().join("hello.txt")).await?;
//!     drop(kept);
//!     tempkit::tokio::write_atomic(dir.path().join("state.json"), b"{}").await?;
//!     drop(dir); // the tree is removed on the blocking pool
//!     Ok(())
//! })
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```

/// Implements tokio's `AsyncRead`, `AsyncWrite` and `AsyncSeek` for `$ty` by handing every call
/// to the `tokio::fs::File` its method `fn io(&mut self) -> io::Result<Pin<&mut File>>` gives
/// (an error, such as "closed", is returned as the call's outcome).
///
/// `$ty` also has `fn reading(&mut self)`, called before every read (tokio may read ahead
/// into its buffer), and `fn write_failed(&mut self, e: &io::Error)`, called with every error
/// a write, flush or shutdown of the file returns: tokio reports a write that failed in the
/// background only once, so the object must remember it (see `file.rs`, `WriteFailure`);
/// and `fn op_failed(&mut self)`, called when a read or a seek fails: a read or seek whose
/// task tokio dropped unrun (the runtime shuts down) leaves its `File` waiting on that spent
/// task, and the next call on it would panic, so the object makes its `File` anew.
macro_rules! async_io_through_file {
    ($ty:ty) => {
        impl $ty {
            /// Runs `call` on the file [`io`](Self::io) gives (its error is the outcome), and
            /// hands an error `call` returns to `failed` before returning it.
            fn through<T>(
                &mut self,
                call: impl FnOnce(
                    std::pin::Pin<&mut ::tokio::fs::File>,
                ) -> std::task::Poll<std::io::Result<T>>,
                failed: impl FnOnce(&mut Self, &std::io::Error),
            ) -> std::task::Poll<std::io::Result<T>> {
                let outcome = match self.io() {
                    Ok(file) => call(file),
                    Err(e) => return std::task::Poll::Ready(Err(e)),
                };
                if let std::task::Poll::Ready(Err(e)) = &outcome {
                    failed(self, e);
                }
                outcome
            }
        }

        impl ::tokio::io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut ::tokio::io::ReadBuf<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                let this = self.get_mut();
                this.reading();
                this.through(
                    |file| ::tokio::io::AsyncRead::poll_read(file, cx, buf),
                    |this, _| this.op_failed(),
                )
            }
        }

        impl ::tokio::io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.get_mut().through(
                    |file| ::tokio::io::AsyncWrite::poll_write(file, cx, buf),
                    Self::write_failed,
                )
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().through(
                    |file| ::tokio::io::AsyncWrite::poll_flush(file, cx),
                    Self::write_failed,
                )
            }

            fn poll_shutdown(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                self.get_mut().through(
                    |file| ::tokio::io::AsyncWrite::poll_shutdown(file, cx),
                    Self::write_failed,
                )
            }
        }

        impl ::tokio::io::AsyncSeek for $ty {
            fn start_seek(
                self: std::pin::Pin<&mut Self>,
                position: std::io::SeekFrom,
            ) -> std::io::Result<()> {
                ::tokio::io::AsyncSeek::start_seek(self.get_mut().io()?, position)
            }

            fn poll_complete(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<u64>> {
                self.get_mut().through(
                    |file| ::tokio::io::AsyncSeek::poll_complete(file, cx),
                    |this, _| this.op_failed(),
                )
            }
        }
    };
}

mod dir;
mod file;
mod gate;
mod publish;
mod spooled;

use std::io;
use std::path::Path;

pub use dir::{PersistDirError, TemporaryDirectory};
pub use file::{NamedTemporaryFile, PersistError, TemporaryFile};
pub use publish::{write_atomic, AtomicFile};
pub use spooled::SpooledTemporaryFile;

/// Runs `f` on tokio's blocking pool and waits for it. A panic in `f` is resumed here; a task
/// the runtime dropped unrun (it is shutting down) is an error saying `what` did not happen,
/// and to which `path` (when there is one yet).
async fn blocking<T, F>(what: &str, path: Option<&Path>, f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    ::tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| not_run(what, path, e))
}

/// Lends `object` to `f` on tokio's blocking pool and hands it back with `f`'s outcome, as
/// [`blocking`] (a task dropped unrun drops the object).
async fn blocking_with<O, R, F>(what: &str, path: &Path, mut object: O, f: F) -> io::Result<(O, R)>
where
    O: Send + 'static,
    R: Send + 'static,
    F: FnOnce(&mut O) -> R + Send + 'static,
{
    blocking(what, Some(path), move || {
        let outcome = f(&mut object);
        (object, outcome)
    })
    .await
}

/// The error of a blocking-pool task that did not complete: a panic in it is resumed here (it
/// does not return); a task the runtime dropped unrun (it is shutting down) is an error saying
/// `what` did not happen, and to which `path`.
fn not_run(what: &str, path: Option<&Path>, e: ::tokio::task::JoinError) -> io::Error {
    if e.is_panic() {
        std::panic::resume_unwind(e.into_panic());
    }
    let what = match path {
        Some(path) => format!("failed to {} `{}`", what, path.display()),
        None => format!("failed to {}", what),
    };
    crate::error::new(
        io::ErrorKind::Other,
        format!("{}: the runtime is shutting down", what),
    )
}
