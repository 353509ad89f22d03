//! Python's `tempfile` module, done natively in Rust.
//!
//! tempkit creates temporary files and directories in shared, world-writable directories
//! without the classic mistakes: names are unpredictable and created atomically
//! (`O_CREAT|O_EXCL`, never following a symlink), modes are private from the first moment
//! (0600 files, 0700 directories), no descriptor leaks into child processes, and every error
//! says what failed and on which path while keeping the original [`std::io::ErrorKind`].
//!
//! # Which function or type do I want?
//!
//! | you want | use |
//! |---|---|
//! | scratch space with no name, gone when dropped (even on `SIGKILL`) | [`TemporaryFile`] / [`Builder::temporary_file`] |
//! | bytes in memory while small, moved to an unnamed file on disk when they grow | [`SpooledTemporaryFile`] / [`Builder::spooled_temporary_file`] |
//! | a file with a path to hand to others, deleted on close or drop | [`NamedTemporaryFile`] / [`Builder::named_temporary_file`] |
//! | replace a file atomically and durably (old or new content, even after a power cut) | [`write_atomic`], [`AtomicFile`] (see [Publishing](#publishing)) |
//! | write a file, then move it into place atomically | [`NamedTemporaryFile::persist`], [`persist_noclobber`](NamedTemporaryFile::persist_noclobber), [`persist_durable`](NamedTemporaryFile::persist_durable) |
//! | publish or swap a whole directory tree | [`TemporaryDirectory::persist_noclobber`], [`replace`](TemporaryDirectory::replace), [`exchange`](TemporaryDirectory::exchange) |
//! | a file you create, name and clean up yourself | [`mkstemp`] / [`Builder::mkstemp`] |
//! | a directory you clean up yourself | [`mkdtemp`] / [`Builder::mkdtemp`] |
//! | a directory removed with everything in it when dropped | [`TemporaryDirectory`] / [`Builder::temporary_directory`] |
//! | only a name (unsafe, kept for Python parity) | [`mktemp`] (deprecated) |
//! | the directory all of these go in by default | [`gettempdir`], [`set_tempdir`] |
//! | shield a live directory from age-based cleaners; reclaim what dead processes left | [`Builder::protect`], [`Builder::reapable`], [`reap`] (see "Leaks and cleaners") |
//! | Python's keyword arguments (`prefix=`, `suffix=`, `dir=`, ...) | [`Builder`] |
//! | keep what a failing test made | [`Builder::keep_on_panic`], `TEMPKIT_KEEP`, [`TemporaryDirectory::keep_on_error`] |
//! | see what `Drop` could not remove | [`set_cleanup_error_hook`], [`CleanupError`] |
//!
//! # Python to tempkit
//!
//! | Python `tempfile` | tempkit |
//! |---|---|
//! | `TemporaryFile(dir=)` | [`TemporaryFile::new()`], [`Builder::temporary_file`] (bytes; no name at all) |
//! | `NamedTemporaryFile(delete=, delete_on_close=)` | [`NamedTemporaryFile::new()`], [`Builder::named_temporary_file`] |
//! | `ntf.name`, `ntf.close()`, leaving `with` | [`NamedTemporaryFile::path`], [`NamedTemporaryFile::close`], drop |
//! | `os.replace(ntf.name, to)` with `delete=False` | [`NamedTemporaryFile::persist`] (and [`persist_noclobber`](NamedTemporaryFile::persist_noclobber), [`persist_durable`](NamedTemporaryFile::persist_durable), [`keep`](NamedTemporaryFile::keep)) |
//! | `NamedTemporaryFile(dir=d, delete=False)`, `os.fsync`, `os.replace`, `os.fsync(dir)` | [`write_atomic`], [`AtomicFile`] |
//! | `mkstemp(suffix, prefix, dir)` | [`mkstemp()`], `Builder::new().suffix(s).prefix(p).dir(d).mkstemp()` |
//! | `mkdtemp(suffix, prefix, dir)` | [`mkdtemp()`], [`Builder::mkdtemp`] |
//! | `mktemp(suffix, prefix, dir)` | [`mktemp()`], [`Builder::mktemp`] (deprecated, as in Python) |
//! | `TemporaryDirectory(suffix, prefix, dir, ignore_cleanup_errors, delete)` | [`TemporaryDirectory::new()`], [`Builder::temporary_directory`]; `with ... as name` is [`TemporaryDirectory::path`], `cleanup()` is [`TemporaryDirectory::cleanup`], `delete=False` is [`Builder::delete`] or [`TemporaryDirectory::keep`] |
//! | `gettempdir()`, `gettempdirb()` | [`gettempdir()`] (a `PathBuf` serves both) |
//! | `gettempprefix()`, `gettempprefixb()` | [`gettempprefix()`] |
//! | `tempfile.tempdir = x` | [`set_tempdir`]`(Some(x))`; `= None` is `set_tempdir(None)` |
//! | `TMP_MAX` | [`TMP_MAX`] (20, as in CPython 3.14.4+) |
//! | `SpooledTemporaryFile(max_size, suffix, prefix, dir)` | [`SpooledTemporaryFile::new`], [`Builder::spooled_temporary_file`] |
//! | `spooled.rollover()`, `spooled._rolled` | [`SpooledTemporaryFile::rollover`], [`SpooledTemporaryFile::is_rolled_over`] |
//! | `spooled.fileno()` (rolls over) | [`SpooledTemporaryFile::as_file`], [`as_file_mut`](SpooledTemporaryFile::as_file_mut) (roll over too) |
//! | `spooled.truncate(n)` | [`SpooledTemporaryFile::set_len`] (extends with zeros in memory too) |
//! | `spooled.close()` | drop, or [`SpooledTemporaryFile::into_file`] to keep the open file |
//! | `delete=False` to inspect a failure | [`Builder::keep_on_panic`], `TEMPKIT_KEEP=on-panic`, [`keep_if`](TemporaryDirectory::keep_if), [`keep_on_error`](TemporaryDirectory::keep_on_error) (kept only when something failed) |
//! | `tempfile._candidate_tempdir_list()`, one candidate's probe in `_get_default_tempdir()` | [`tempdir_candidates`], [`probe_tempdir`] |
//! | `next(tempfile._RandomNameSequence())` with your own names | [`random_name`], [`Builder::random_len`]`(0)` |
//! | `TemporaryDirectory._rmtree(path)` (`shutil.rmtree` with the mode repair) | [`remove_tree`] |
//! | `OSError.errno` | [`raw_os_error`] (also through tempkit's context) |
//! | `os.register_at_fork(after_in_child=...)` to renew per-process state (`_RandomNameSequence`'s `os.getpid()` check) | [`fork_generation`] |
//! | cleanup errors printed via `sys.unraisablehook` | [`set_cleanup_error_hook`] (default: one line on stderr), [`take_cleanup_error_hook`] |
//!
//! # Publishing
//!
//! Writing a new version of a file aside and swapping it in is what most named temporary
//! files are for. tempkit makes the temporary file in the destination's directory (so the
//! rename never crosses file systems), works relative to one directory descriptor opened
//! first, and is durable by default: `fsync` the file, `renameat` over the destination,
//! `fsync` the directory. An `fsync` error is never retried.
//!
//! | you want | use |
//! |---|---|
//! | replace a file with bytes you have | [`write_atomic`] |
//! | write a new version as a stream, then replace | [`AtomicFile::create`], [`commit`](AtomicFile::commit) |
//! | publish a file only if nobody else did | [`AtomicFile::commit_noclobber`] |
//! | many files, one sync at the end | [`AtomicFileOptions::durable`]`(false)` |
//! | make a [`NamedTemporaryFile`] permanent, durably | [`NamedTemporaryFile::persist_durable`] ([`persist`](NamedTemporaryFile::persist) does not sync) |
//! | publish a directory tree, never replacing | [`TemporaryDirectory::persist_noclobber`] |
//! | swap in a new version of a directory | [`TemporaryDirectory::replace`] (old tree removed), [`exchange`](TemporaryDirectory::exchange) (old tree handed to you) |
//! | publish a directory atomically, without syncing it | [`TemporaryDirectory::durable`]`(false)` first |
//!
//! Guarantees ([`AtomicFile`] has the details): at every instant the destination holds the
//! complete old or the complete new content, also after `SIGKILL`; after `Ok` a power cut keeps
//! the new content; an existing file's owner, group and mode (setuid and setgid included) are
//! kept where only the caller (and root) can write the directory, a new one gets 0666 minus the
//! umask; where others can write the directory the new file stays the caller's, at most a new
//! file's mode (see [`AtomicFile`], "Metadata"); a symlink is replaced as a link, never written
//! through and never wider than its target. [`CommitError::committed`] tells "destination untouched" from
//! "in place, durability not proven". Per file system: ext4, xfs and btrfs are atomic and
//! durable; tmpfs atomic (nothing survives a reboot); overlayfs as its upper layer (not with
//! `volatile`; a lower-layer directory cannot be exchanged: an error); NFS atomic for readers of
//! one client only; FUSE as its implementation (no-clobber of a file falls back to `link` +
//! `unlink` per call; of a directory, `Unsupported`). Where a directory cannot be exchanged or
//! published without replacing atomically, the error says so and hands the tree back: never a
//! silent non-atomic fallback.
//!
//! Python's equivalent: `NamedTemporaryFile(dir=os.path.dirname(path), delete=False)`,
//! write, `os.fsync`, `os.replace`, `os.fsync` of the directory (keeping neither mode nor
//! owner).
//!
//! ```
//! let dir = tempkit::TemporaryDirectory::new()?;
//! let path = dir.path().join("state.json");
//! tempkit::write_atomic(&path, b"{}")?;
//! assert_eq!(std::fs::read(&path)?, b"{}");
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Async (tokio)
//!
//! With the `tokio` feature (off by default), the module `tempkit::tokio` has the same objects
//! for async code on a tokio runtime: `NamedTemporaryFile`, `TemporaryFile`,
//! `SpooledTemporaryFile`, `TemporaryDirectory`, `AtomicFile` and `write_atomic`, made with
//! the same [`Builder`] options (`Builder::named_temporary_file_async`,
//! `temporary_directory_async`, ...). The files implement tokio's `AsyncRead`, `AsyncWrite`
//! and `AsyncSeek`; creation, `persist*`, `reopen`, `close`, `commit` and `cleanup` run the
//! blocking calls on tokio's blocking pool; a spooled file in memory uses no thread pool at
//! all; dropping a directory hands its removal to the blocking pool, so that a large tree never
//! stalls a worker, and a runtime shutdown loses no removal. Keeping on panic,
//! `TEMPKIT_KEEP`, the cleanup-error hook, `protect` and `reapable` work as for the blocking
//! types, which these objects hold inside.
//!
//! Python's equivalent: none. Its `tempfile` has no async API (asyncio code calls it through
//! `asyncio.to_thread`, or blocks the event loop).
//!
//! ```
//! # #[cfg(feature = "tokio")]
//! # fn main() -> std::io::Result<()> {
//! use tokio::io::AsyncWriteExt;
//! let rt = tokio::runtime::Builder::new_current_thread().build()?;
//! rt.block_on(async {
//!     let dir = tempkit::tokio::TemporaryDirectory::new().await?;
//!     let mut file = tempkit::Builder::new().dir(dir.path()).named_temporary_file_async().await?;
//!     file.write_all(b"report").await?;
//!     file.persist(dir.path().join("report.txt")).await?;
//!     drop(dir); // removed on the blocking pool: the worker goes on at once
//!     Ok(())
//! })
//! # }
//! # #[cfg(not(feature = "tokio"))]
//! # fn main() {}
//! ```
//!
//! # Security
//!
//! - Names are `prefix + random + suffix`; the random part comes from a ChaCha20 keystream
//!   keyed from the OS, rekeyed in every child made by `fork(2)` (a `pthread_atfork` handler
//!   tells; a raw `clone` without `exec` does not run it), so other users cannot predict the
//!   next name and a forked child never repeats its parent's names.
//! - Creation relies on `O_EXCL` alone: an existing file, directory or symlink (dangling or
//!   not) at a candidate name means "try another name", at most [`TMP_MAX`] times. Only that
//!   is retried; any other error is returned at once.
//! - A prefix or suffix cannot move the object out of its directory: one with a path
//!   separator or NUL is refused (deviation 2 below).
//! - [`TemporaryDirectory`] removes its tree relative to directory descriptors and never
//!   follows a symlink, not even one swapped in while the removal runs; it repairs modes only
//!   inside the tree, and handles any depth with a bounded number of descriptors.
//!
//! # Resource leaking
//!
//! - [`TemporaryFile`] has no name on Linux (`O_TMPFILE`), so it cannot leak. Where that is
//!   refused (a file system without `O_TMPFILE`, a `dir` that is a symlink, other platforms)
//!   it is a named file unlinked right after creation, which only a kill in between can leave.
//!   Its space is freed when the last descriptor closes. A [`SpooledTemporaryFile`] is memory,
//!   or such a file once rolled over.
//! - [`NamedTemporaryFile`] is deleted by `close()` or drop, and [`TemporaryDirectory`]
//!   removes its tree when dropped (unless `delete(false)`, or after
//!   [`keep`](TemporaryDirectory::keep)): a process killed by `SIGKILL`, or one that exits
//!   without unwinding, leaves them behind.
//! - [`mkstemp`] and [`mkdtemp`] hand the object to you: nothing removes it but you.
//!   [`mktemp`] creates nothing.
//!
//! # Leaks and cleaners
//!
//! Drop cannot run after `SIGKILL`, an abort, or a process that exits without unwinding, so
//! directories and named files can be left behind. The usual remedy is an age-based cleaner
//! (systemd-tmpfiles ages `/tmp` after 10 days on many distributions, tmpreaper, tmpwatch),
//! which is wrong both ways: it deletes the directories of long-running live processes, and
//! it reclaims a leak only days later. tempkit makes both exact, with two opt-in mechanisms
//! and one command:
//!
//! | mechanism | covers | costs |
//! |---|---|---|
//! | [`Builder::protect`] | a live [`TemporaryDirectory`] and its whole subtree are skipped by systemd-tmpfiles (242+), which honours a `flock` held on a directory; the lock dies with the process | one descriptor per directory; `openat` + `flock` + `fstat` at creation, `lstat` before removal, `close` (measured: 1.9x an empty directory on tmpfs, 1.04x on ext4; docs/PERFORMANCE.md) |
//! | [`Builder::reapable`] | an owner tag (`user.tempkit.owner` extended attribute) on directories and named files, so [`reap`] can tell exactly when the owner is dead | `fstat` + `fsetxattr` (for a directory also `openat`, `close`, and `lstat` before removal; measured 1.5x on tmpfs, 1.3x on ext4) |
//! | [`reap`], `tempkit reap [DIR]...` | removes exactly the tagged entries whose owner is dead: other boot, no such process, a zombie, a reused pid; never by age | one `lgetxattr` per entry, more only for tagged ones |
//! | `tempkit run` | a guardian process stops the command and removes the directory even when `tempkit` is killed with `SIGKILL`; the run directory is protected and reapable | one process and one pipe per run |
//!
//! Not covered: tmpreaper and tmpwatch ignore locks (run them with `--protect`/`-x` patterns,
//! or keep long-lived work out of their directories, e.g. under `$XDG_RUNTIME_DIR`);
//! systemd-tmpfiles before 254 does not honour locks on regular files (put named files in a
//! protected directory); owners on another machine or in another pid namespace cannot be
//! checked, so their entries are never reaped from here; where a file system takes no `user.*`
//! extended attributes, nothing is tagged and nothing reaped (the objects report it through
//! `is_reapable()`).
//!
//! Reaping from a timer: a crontab line `@hourly tempkit reap`, or as a systemd user timer,
//! `systemd-run --user --on-calendar=hourly tempkit reap` (add directories as arguments; the
//! default is [`gettempdir`]). A reaper removes only entries of its own user; root may pass
//! `--all-users`, which still requires the tag to name the entry's owner.
//!
//! # Keeping evidence, reporting leaks
//!
//! A failing test destroys its own evidence: its temporary directory is removed while the
//! panic unwinds. tempkit can keep it instead, and says where:
//!
//! - [`Builder::keep_on_panic`]`(true)`: a [`TemporaryDirectory`] or [`NamedTemporaryFile`]
//!   dropped while its thread panics is kept, and one line goes to stderr with `eprintln!`,
//!   so the test harness shows it with the failure:
//!   `tempkit: kept /tmp/tmpab12cd34 (thread 'tests::parse' panicked)`.
//! - `TEMPKIT_KEEP=never|on-panic|always` sets the default for the whole process (read once,
//!   at the first drop that needs it), without touching the code: `TEMPKIT_KEEP=on-panic
//!   cargo test`. An explicit `keep_on_panic` wins.
//! - A test that fails by returning `Err` panics nowhere: run its body in
//!   [`TemporaryDirectory::keep_on_error`] (kept on `Err` or panic), or decide with
//!   [`keep_if`](TemporaryDirectory::keep_if).
//!
//! With nothing set, none of this costs a system call: an empty directory is still exactly
//! `mkdir` + `rmdir`.
//!
//! What `Drop` cannot remove (an immutable file, an entry owned by someone else) is not
//! swallowed: it goes to the hook set with [`set_cleanup_error_hook`] as a [`CleanupError`]
//! (path, `io::Error`, directory or file, whether panicking). The default hook prints one line
//! to the process's stderr, with one `write(2)` and without std's lock on `Stderr` (it never
//! waits for a thread holding it); [`Builder::ignore_cleanup_errors`] objects report nothing;
//! the explicit [`TemporaryDirectory::cleanup`] still returns its error. A panicking hook
//! never makes `Drop` panic.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! static LEAKS: AtomicUsize = AtomicUsize::new(0);
//! tempkit::set_cleanup_error_hook(Box::new(|e| {
//!     LEAKS.fetch_add(1, Ordering::Relaxed);
//!     eprintln!("leaked: {}", e);
//! }));
//!
//! let result = tempkit::Builder::new()
//!     .keep_on_panic(true)
//!     .temporary_directory()?
//!     .keep_on_error(|dir| std::fs::write(dir.path().join("input"), "data"));
//! result?; // Ok: removed; an Err or a panic would have kept it
//! assert_eq!(LEAKS.load(Ordering::Relaxed), 0);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! # Deliberate deviations from CPython
//!
//! 1. Files are bytes: no `mode`, `buffering`, `encoding`, `newline` or `errors`.
//! 2. A prefix or suffix holding a path separator or NUL is an `InvalidInput` error.
//! 3. [`gettempdir`] is always absolute, and so is every path returned (also by [`mktemp`]).
//! 4. [`TMP_MAX`] is 20, not libc's 238328.
//! 5. [`SpooledTemporaryFile::set_len`] extends with zeros in memory too (Python's in-memory
//!    `truncate(n)` never extends), and with `max_size == 0` it never rolls over (Python's
//!    `truncate(n > 0)` always does).
//! 6. A [`SpooledTemporaryFile`] rolls over before a write that would take it past
//!    `max_size`, so that write goes straight to disk (Python writes to memory, then rolls
//!    over); the contents are the same.
//! 7. [`TemporaryDirectory::cleanup`] after a cleanup that fully succeeded does nothing
//!    (Python removes whatever has appeared at the name since), and `ignore_cleanup_errors`
//!    also covers errors of the permission repair (CPython's gh-135812).
#![deny(missing_docs)]
#![warn(rust_2018_idioms, unreachable_pub)]

mod builder;
mod create;
#[macro_use]
mod delegate;
mod dir;
mod env;
mod error;
mod file;
mod fork;
mod keep;
mod name;
mod named;
mod path;
mod publish;
mod reap;
mod remove;
mod spooled;
mod sys;
#[cfg(feature = "tokio")]
pub mod tokio;

#[allow(deprecated)]
pub use builder::mktemp;
pub use builder::{mkdtemp, mkstemp, Builder};
pub use dir::{PersistDirError, TemporaryDirectory};
pub use env::{gettempdir, gettempprefix, probe_tempdir, set_tempdir, tempdir_candidates, TMP_MAX};
pub use error::raw_os_error;
pub use file::TemporaryFile;
// For code outside tempkit that keeps per-process state (compat/ reseeds its names with it).
pub use fork::fork_generation;
pub use keep::{set_cleanup_error_hook, take_cleanup_error_hook, CleanupError};
pub use name::random_name;
pub use named::{NamedTemporaryFile, PersistError};
pub use publish::{write_atomic, AtomicFile, AtomicFileOptions, CommitError};
pub use reap::{reap, ReapEntry, ReapOptions, ReapOutcome};
pub use remove::remove_tree;
pub use spooled::SpooledTemporaryFile;

// The README's examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
