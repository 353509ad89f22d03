//! `NamedTemporaryFile`, a temporary file with a path, and `PersistError`, which hands it back
//! when making it permanent fails.

use std::fmt;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::create::Kind;
use crate::keep::{self, Keepable, Life};
use crate::publish::{self, Destination, Failure, Poison, Source, Stage};
use crate::{error, path, reap, sys, Builder};

/// A temporary file with a name, deleted according to `delete` and `delete_on_close`.
///
/// Create one with [`NamedTemporaryFile::new`] or [`Builder::named_temporary_file`]. The file
/// is made as by [`mkstemp`](crate::mkstemp) (mode 0600, `O_EXCL|O_NOFOLLOW|O_CLOEXEC`) and
/// its absolute path is [`path()`](NamedTemporaryFile::path). What happens to it:
///
/// | [`delete`](Builder::delete) | [`delete_on_close`](Builder::delete_on_close) | [`close()`](NamedTemporaryFile::close) | drop |
/// |---|---|---|---|
/// | `true` | `true` (default) | closes and deletes | deletes |
/// | `true` | `false` | closes only; the file stays and can be reopened by name | deletes |
/// | `false` | any | closes only | closes only |
///
/// A file that someone else already removed is not an error. [`persist`], [`persist_noclobber`]
/// and [`keep`] turn it into an ordinary file; on failure [`PersistError`] hands the object
/// back, so nothing is lost.
///
/// After [`close()`](NamedTemporaryFile::close), reading, writing and seeking fail with an
/// error, and [`as_file`](NamedTemporaryFile::as_file) returns an error instead of
/// panicking; [`reopen`](NamedTemporaryFile::reopen), [`persist`] and [`keep`] still work
/// while the file exists.
///
/// # Resource leaking
/// Deletion happens in `close()` or `Drop`: a process killed with `SIGKILL` (or that calls
/// `std::process::exit`, or leaks the object with `mem::forget`) leaves the file behind. Use
/// [`TemporaryFile`](crate::TemporaryFile) when no name is needed.
///
/// # Keeping evidence
/// With [`Builder::keep_on_panic`] (or `TEMPKIT_KEEP`), [`keep_if`](NamedTemporaryFile::keep_if)
/// or [`keep_on_error`](NamedTemporaryFile::keep_on_error), drop keeps the file and prints its
/// path; a deletion that fails on drop goes to the
/// [cleanup-error hook](crate::set_cleanup_error_hook). `AsRef<Path>` is implemented for
/// `&NamedTemporaryFile` only, so the file cannot be moved into (and deleted before) a call
/// that wanted its path.
///
/// # Security
/// Anyone who can write to the directory can unlink or replace the name (in a sticky
/// directory such as `/tmp`, only you and root can). Open by name with care; prefer the open
/// handle, or [`reopen`](NamedTemporaryFile::reopen), which checks that the name still refers
/// to this file.
///
/// # Platform notes
/// On Windows the file shares read, write and delete, so other programs can open it by name
/// while it is open, also those that do not share delete themselves (C's `fopen`, Python's
/// `open`: CPython's `delete_on_close=False` behaviour, for every row of the table). It is not
/// delete-on-close, which could not be undone for [`persist`] or [`keep`]: it is deleted by
/// name (a read-only one through a handle, its attribute cleared first), and Windows
/// before 10 1903 (and wine) keeps the name until every handle is closed.
/// A process killed meanwhile leaves it behind, as on Unix.
///
/// # Python equivalent
/// `tempfile.NamedTemporaryFile(delete=, delete_on_close=, ...)` (3.12+ semantics), binary
/// mode; `.name` is [`path()`](NamedTemporaryFile::path), leaving the `with` block is drop.
///
/// ```
/// use std::io::Write;
/// let mut file = tempkit::NamedTemporaryFile::new()?;
/// file.write_all(b"hello")?;
/// let path = file.path().to_owned();
/// assert_eq!(std::fs::read(&path)?, b"hello");
/// drop(file);
/// assert!(!path.exists());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`persist`]: NamedTemporaryFile::persist
/// [`persist_noclobber`]: NamedTemporaryFile::persist_noclobber
/// [`keep`]: NamedTemporaryFile::keep
#[must_use = "dropping a NamedTemporaryFile deletes it (with delete(true))"]
pub struct NamedTemporaryFile {
    /// `None` once closed.
    file: Option<File>,
    path: PathBuf,
    delete: bool,
    delete_on_close: bool,
    /// Set once the name is no longer ours to delete: we deleted it, or it was persisted or
    /// kept. A name is never unlinked twice (someone else may have taken it since).
    disarmed: bool,
    /// The identity of the file, recorded by `close()` when the name stays, so that later
    /// path-based work (reopen, persist, drop) can prove the name still refers to it.
    closed_id: Option<sys::FileId>,
    /// Carries an owner tag ([`Builder::reapable`]), removed before the file is published.
    tagged: bool,
    /// Keep policy and error reports of drop.
    life: Life,
    /// Set when a durable persist's `fsync` failed: no later durable persist may succeed.
    poisoned: Option<Poison>,
    /// The open handle is driven elsewhere (`tempkit::tokio`, [`lend`](Self::lend)): `file`
    /// is `None` but the file is open, not closed.
    lent: bool,
}

impl NamedTemporaryFile {
    /// Creates a named file in [`gettempdir()`](crate::gettempdir), deleted on close or drop.
    ///
    /// The same as `Builder::new().named_temporary_file()`: see
    /// [`Builder::named_temporary_file`].
    ///
    /// # Errors
    /// As [`Builder::named_temporary_file`].
    ///
    /// # Python equivalent
    /// `tempfile.NamedTemporaryFile()`.
    ///
    /// ```
    /// let file = tempkit::NamedTemporaryFile::new()?;
    /// assert!(file.path().is_absolute() && file.path().is_file());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<NamedTemporaryFile> {
        Builder::new().named_temporary_file()
    }

    /// Creation with `builder`'s options. Nothing can fail once the name exists: the guard
    /// that removes it is built in the same step.
    pub(crate) fn create(builder: &Builder) -> io::Result<NamedTemporaryFile> {
        let (file, path) = builder.create(Kind::File, sys::create_file)?;
        // Best effort: a file system without user extended attributes leaves it untagged.
        let tagged = builder.tags()
            && sys::stat_fd(sys::file_fd(&file))
                .and_then(|stat| reap::tag(sys::file_fd(&file), &stat))
                .is_ok();
        Ok(NamedTemporaryFile {
            file: Some(file),
            path,
            delete: builder.deletes(),
            delete_on_close: builder.deletes_on_close(),
            disarmed: false,
            closed_id: None,
            tagged,
            life: builder.life(),
            poisoned: None,
            lent: false,
        })
    }

    /// Whether the file carries an owner tag, so that [`reap`](crate::reap) can remove it
    /// once this process is dead (see [`Builder::reapable`]).
    ///
    /// `false` without `reapable(true)`, with `delete(false)`, and where tagging was
    /// impossible (a file system without `user.*` extended attributes, a platform other than
    /// Linux).
    ///
    /// ```
    /// let file = tempkit::Builder::new().reapable(true).named_temporary_file()?;
    /// # let _ = file.is_reapable();
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn is_reapable(&self) -> bool {
        self.tagged
    }

    /// Removes the owner tag before the file is published (through `file`, its open handle).
    fn untag(&mut self, file: &File) -> io::Result<()> {
        if self.tagged {
            reap::untag(sys::file_fd(file))
                .map_err(|e| error::with_path(e, "remove the owner tag of", &self.path))?;
            self.tagged = false;
        }
        Ok(())
    }

    /// The file's absolute path (also after `close()` and after it was deleted).
    ///
    /// # Python equivalent
    /// The `.name` attribute.
    ///
    /// ```
    /// let file = tempkit::Builder::new().suffix(".log").named_temporary_file()?;
    /// assert_eq!(file.path().extension().unwrap(), "log");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether [`close()`](NamedTemporaryFile::close) was called.
    ///
    /// # Python equivalent
    /// The `.closed` attribute.
    ///
    /// ```
    /// let mut file = tempkit::NamedTemporaryFile::new()?;
    /// assert!(!file.is_closed());
    /// file.close()?;
    /// assert!(file.is_closed());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_closed(&self) -> bool {
        self.file.is_none()
    }

    /// The open file.
    ///
    /// # Errors
    /// After [`close()`](NamedTemporaryFile::close): an error (kind `Other`, "I/O operation on
    /// closed file"), never a panic.
    ///
    /// # Python equivalent
    /// The `.file` attribute.
    ///
    /// ```
    /// let mut file = tempkit::NamedTemporaryFile::new()?;
    /// assert_eq!(file.as_file()?.metadata()?.len(), 0);
    /// file.close()?;
    /// assert!(file.as_file().is_err());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_file(&self) -> io::Result<&File> {
        match &self.file {
            Some(file) => Ok(file),
            None => Err(self.closed_error()),
        }
    }

    /// The open file, mutably.
    ///
    /// # Errors
    /// After [`close()`](NamedTemporaryFile::close), as [`as_file`](NamedTemporaryFile::as_file).
    ///
    /// # Python equivalent
    /// The `.file` attribute.
    ///
    /// ```
    /// let mut file = tempkit::NamedTemporaryFile::new()?;
    /// file.as_file_mut()?.set_len(3)?;
    /// assert_eq!(std::fs::metadata(file.path())?.len(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_file_mut(&mut self) -> io::Result<&mut File> {
        match self.file {
            Some(ref mut file) => Ok(file),
            None => Err(self.closed_error()),
        }
    }

    fn closed_error(&self) -> io::Error {
        closed_error(&self.path)
    }

    /// Borrowing a descriptor (`as_fd`, `as_handle`) after `close()` is a bug of the caller.
    #[cfg(any(unix, windows))]
    fn closed_panic(&self, op: &str) -> ! {
        panic!("{} on closed temporary file `{}`", op, self.path.display())
    }

    /// Closes the handle; deletes the file too when both `delete` and `delete_on_close` are
    /// set. Calling it again does nothing.
    ///
    /// A file that was already removed by someone else is not an error. When the file stays
    /// (`delete_on_close(false)` or `delete(false)`), its identity (device, inode) is recorded,
    /// so that [`reopen`](NamedTemporaryFile::reopen), [`persist`](NamedTemporaryFile::persist)
    /// and drop can check that the name still refers to it.
    ///
    /// # Errors
    /// The deletion's error (not `NotFound`), naming the path; the handle is closed anyway.
    ///
    /// # Python equivalent
    /// `NamedTemporaryFile.close()`.
    ///
    /// ```
    /// let mut file = tempkit::Builder::new().delete_on_close(false).named_temporary_file()?;
    /// file.close()?;
    /// assert!(file.path().exists()); // stays until drop: reopen it by name meanwhile
    /// let path = file.path().to_owned();
    /// drop(file);
    /// assert!(!path.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn close(&mut self) -> io::Result<()> {
        let file = match self.file.take() {
            Some(file) => file,
            None => return Ok(()),
        };
        if self.delete && self.delete_on_close {
            let result = self.remove_name();
            drop(file);
            result
        } else {
            self.closed_id = sys::file_id(&file).ok();
            drop(file);
            Ok(())
        }
    }

    /// Unlinks the name once; `NotFound` is success.
    fn remove_name(&mut self) -> io::Result<()> {
        if self.disarmed {
            return Ok(());
        }
        self.disarmed = true;
        // Windows: also a read-only file, through a handle.
        #[cfg(windows)]
        let removed = sys::remove_named_file(&self.path);
        #[cfg(not(windows))]
        let removed = std::fs::remove_file(&self.path);
        match removed {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(error::with_path(e, "delete temporary file", &self.path))
            }
            _ => Ok(()),
        }
    }

    /// The identity the name must have: the open file's, or the one recorded at close.
    fn expected_id(&self) -> io::Result<sys::FileId> {
        match (&self.file, self.closed_id) {
            (Some(file), _) => sys::file_id(file),
            (None, Some(id)) if !self.disarmed => Ok(id),
            _ => Err(error::new(
                io::ErrorKind::NotFound,
                format!(
                    "temporary file `{}` was closed and deleted",
                    self.path.display()
                ),
            )),
        }
    }

    /// Opens the file again by name, read-write, as a second, independent handle (its own
    /// position), after checking that the name still refers to this file.
    ///
    /// Works while open and after [`close()`](NamedTemporaryFile::close) as long as the file
    /// stays.
    ///
    /// # Errors
    /// `NotFound` if the name was deleted; an error (kind `Other`) if the name now refers to a
    /// different file (device, inode or birth time differ); the OS error (`ELOOP`) if it is now
    /// a symlink, which is never followed; any other error of `open`; each naming the path.
    ///
    /// # Platform notes
    /// The check compares device and inode numbers on Unix, and the birth time where the
    /// file system records one (an inode number is reused as soon as its file is deleted).
    /// On Windows, while the file is open, the second handle comes from the handle itself
    /// (`ReOpenFile`), whatever happened to the name; after `close()` the name is opened
    /// without following a symlink or junction and the volume serial number and file index
    /// are compared (under wine the index is the inode number, which a new file can reuse).
    /// Where `std` exposes no file identity (the portable fallback), the check passes.
    ///
    /// # Python equivalent
    /// `open(ntf.name, ...)`, without the check.
    ///
    /// ```
    /// use std::io::{Read, Write};
    /// let mut file = tempkit::NamedTemporaryFile::new()?;
    /// file.write_all(b"shared")?;
    /// let mut again = file.reopen()?;
    /// let mut text = String::new();
    /// again.read_to_string(&mut text)?;
    /// assert_eq!(text, "shared");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reopen(&self) -> io::Result<File> {
        if let Some(file) = &self.file {
            if let Some(again) = sys::reopen_handle(file)
                .map_err(|e| error::with_path(e, "reopen temporary file", &self.path))?
            {
                return Ok(again);
            }
        }
        let expected = self.expected_id()?;
        let reopened = sys::open_existing(&self.path)
            .map_err(|e| error::with_path(e, "reopen temporary file", &self.path))?;
        let found = sys::file_id(&reopened)
            .map_err(|e| error::with_path(e, "reopen temporary file", &self.path))?;
        if found != expected {
            return Err(error::new(
                io::ErrorKind::Other,
                format!(
                    "failed to reopen temporary file `{}`: the name now refers to another file",
                    self.path.display()
                ),
            ));
        }
        Ok(reopened)
    }

    /// The open handle, or after `close()` a verified new one.
    fn handle(&mut self) -> io::Result<File> {
        match self.file.take() {
            Some(file) => Ok(file),
            None => self.reopen(),
        }
    }

    /// Moves the file to `to` atomically (`rename`), replacing whatever `to` names, and
    /// returns the open file: it is no longer temporary.
    ///
    /// # Platform notes
    /// Windows: `MoveFileExW` with `MOVEFILE_REPLACE_EXISTING` (what `std::fs::rename` does);
    /// it fails with `PermissionDenied` when someone holds `to` open. A read-only `to`, which
    /// NTFS refuses to replace, is replaced too (its attribute cleared through a handle that
    /// keeps writers out, and put back if the rename still fails); the file keeps its own
    /// attributes, as on Unix its own mode.
    ///
    /// `to` must be on the same file system as the temporary file: use
    /// [`Builder::dir`] to create it next to its destination.
    ///
    /// Atomic, not durable: nothing is synced, so after a power cut `to` may hold the old
    /// file or, on some file systems, an empty one. Use
    /// [`persist_durable`](NamedTemporaryFile::persist_durable), or
    /// [`AtomicFile`](crate::AtomicFile) to also keep the destination's owner and mode.
    ///
    /// # Errors
    /// A [`PersistError`] holding the error (naming both paths, keeping its kind: e.g.
    /// `CrossesDevices` (raw `EXDEV`) across file systems) and this object, unchanged and
    /// still temporary: nothing is lost.
    ///
    /// # Python equivalent
    /// None in `tempfile`: `os.replace(ntf.name, to)` with `delete=False`.
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempkit::mkdtemp()?;
    /// let mut file = tempkit::Builder::new().dir(&dir).named_temporary_file()?;
    /// file.write_all(b"final")?;
    /// let target = dir.join("result.txt");
    /// let _file = file.persist(&target)?;
    /// assert_eq!(std::fs::read(&target)?, b"final");
    /// # std::fs::remove_file(&target)?; std::fs::remove_dir(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn persist<P: AsRef<Path>>(self, to: P) -> Result<File, PersistError> {
        let to = to.as_ref();
        self.persist_with(to, "persist", |from, _| {
            // Windows: also over a read-only file, which NTFS refuses to replace.
            #[cfg(windows)]
            let renamed = sys::replace_file(from, to);
            #[cfg(not(windows))]
            let renamed = std::fs::rename(from, to);
            renamed.map_err(Failure::rename)
        })
    }

    /// [`persist`](NamedTemporaryFile::persist), durably: after it returns `Ok`, a crash or
    /// power cut keeps the file at `to` with its content.
    ///
    /// The sequence of [`AtomicFile::commit`](crate::AtomicFile::commit): the directory of
    /// `to` is opened first, then the file is synced (`fsync`), renamed over `to` (relative
    /// to that directory's descriptor), and the directory is synced. The file keeps its own
    /// mode (0600 unless changed); use [`AtomicFile`](crate::AtomicFile) to take the
    /// destination's owner and mode.
    ///
    /// # Errors
    /// A [`PersistError`]. If opening the directory, the file's `fsync` (never retried) or
    /// the rename failed, nothing was renamed and the object is handed back, still
    /// temporary. If only the directory's `fsync` after the rename failed, the file *is* at
    /// `to` but its durability is not proven: the error says so, and the object handed back
    /// refers to `to` (absolute) and is disarmed (dropping it never deletes the published
    /// file).
    ///
    /// After a failed `fsync` (the file's or the directory's) the object handed back is
    /// *poisoned*: the kernel may have dropped the data after `EIO` and would report a second
    /// `fsync` as a success, so every later `persist_durable` of it fails at once, without a
    /// system call, with an error that says so and keeps the first failure's kind. Write the
    /// content again into a new file. [`persist`](NamedTemporaryFile::persist),
    /// [`persist_noclobber`](NamedTemporaryFile::persist_noclobber) and
    /// [`keep`](NamedTemporaryFile::keep), which promise no durability, still work. An
    /// `fsync` you made yourself through the handle, and that failed, is not seen here.
    ///
    /// # Python equivalent
    /// None in `tempfile`: with `delete=False`, `os.fsync(ntf.fileno())`,
    /// `os.replace(ntf.name, to)`, and `os.fsync` of the directory.
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempkit::TemporaryDirectory::new()?;
    /// let mut file = tempkit::Builder::new().dir(dir.path()).named_temporary_file()?;
    /// file.write_all(b"durable")?;
    /// let target = dir.path().join("result.txt");
    /// let _file = file.persist_durable(&target)?;
    /// assert_eq!(std::fs::read(&target)?, b"durable");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn persist_durable<P: AsRef<Path>>(self, to: P) -> Result<File, PersistError> {
        let to = to.as_ref();
        if let Some(poison) = &self.poisoned {
            let error = poison.error(&format!(
                "failed to persist (durably) `{}` as `{}`",
                self.path.display(),
                to.display()
            ));
            return Err(PersistError { error, file: self });
        }
        let dest = match Destination::open(to) {
            Ok(dest) => dest,
            Err(error) => return Err(PersistError { error, file: self }),
        };
        self.persist_with(to, "persist (durably)", |from, file| {
            publish::publish(
                Source::File(file),
                sys::At::path(from),
                dest.at(),
                sys::Rename::Replace,
                true,
            )
        })
    }

    /// Moves the file to `to` unless `to` exists, and returns the open file.
    ///
    /// Never replaces anything, also under a race: one atomic
    /// `renameat2(RENAME_NOREPLACE)` on Linux; on other Unix systems, or where the file system
    /// lacks it, `link` + `unlink` (which cannot replace either).
    ///
    /// # Platform notes
    /// Windows: one `MoveFileExW` without `MOVEFILE_REPLACE_EXISTING`, which refuses an
    /// existing `to` atomically (`AlreadyExists`); of threads racing for one name exactly one
    /// wins.
    ///
    /// # Errors
    /// `AlreadyExists` if `to` exists, and every error of
    /// [`persist`](NamedTemporaryFile::persist), inside a [`PersistError`] that hands this
    /// object back.
    ///
    /// # Python equivalent
    /// None in `tempfile`.
    ///
    /// ```
    /// let dir = tempkit::mkdtemp()?;
    /// std::fs::write(dir.join("taken"), b"old")?;
    /// let file = tempkit::Builder::new().dir(&dir).named_temporary_file()?;
    /// let err = file.persist_noclobber(dir.join("taken")).unwrap_err();
    /// assert_eq!(err.error.kind(), std::io::ErrorKind::AlreadyExists);
    /// let file = err.file; // handed back, still temporary
    /// let _kept = file.persist_noclobber(dir.join("free"))?;
    /// # std::fs::remove_file(dir.join("taken"))?; std::fs::remove_file(dir.join("free"))?;
    /// # std::fs::remove_dir(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn persist_noclobber<P: AsRef<Path>>(self, to: P) -> Result<File, PersistError> {
        let to = to.as_ref();
        self.persist_with(to, "persist (without replacing)", |from, _| {
            sys::rename_noclobber(sys::At::path(from), sys::At::path(to)).map_err(Failure::rename)
        })
    }

    /// Moves the file with `publish(from, file)`; on failure hands `self` back, as it was,
    /// unless the move happened (only the directory `fsync` after it failed).
    fn persist_with(
        mut self,
        to: &Path,
        op: &str,
        publish: impl FnOnce(&Path, &File) -> Result<(), Failure>,
    ) -> Result<File, PersistError> {
        let was_open = self.file.is_some();
        let file = match self.handle() {
            Ok(file) => file,
            Err(error) => return Err(PersistError { error, file: self }),
        };
        // Untagged first: a crash after the rename never leaves a published file tagged.
        if let Err(error) = self.untag(&file) {
            if was_open {
                self.file = Some(file);
            }
            return Err(PersistError { error, file: self });
        }
        let failure = match publish(&self.path, &file) {
            Ok(()) => {
                self.disarmed = true;
                return Ok(file);
            }
            Err(failure) => failure,
        };
        let what = format!(
            "failed to {} temporary file `{}` as `{}`",
            op,
            self.path.display(),
            to.display()
        );
        let error = match failure.stage {
            Stage::SyncDir => {
                // Renamed: the object now stands for the published file, never deleted, and
                // its path is absolute as always (a `getcwd` for a relative `to`, on this
                // failure path only).
                self.disarmed = true;
                self.path = path::absolute(to).unwrap_or_else(|_| to.to_path_buf());
                self.poisoned = Some(Poison::new(&failure.error));
                error::context(
                    failure.error,
                    format!(
                        "{}: the file is in place, but the directory fsync failed, so its \
                         durability is not proven",
                        what
                    ),
                )
            }
            Stage::Sync => {
                self.poisoned = Some(Poison::new(&failure.error));
                error::context(
                    failure.error,
                    format!("{}: fsync failed, nothing was renamed", what),
                )
            }
            Stage::Rename => error::context(failure.error, what),
        };
        if was_open {
            self.file = Some(file);
        }
        Err(PersistError { error, file: self })
    }

    /// Disarms the object: the file stays where it is, and its open handle and path are
    /// returned, like [`mkstemp`](crate::mkstemp)'s result.
    ///
    /// # Errors
    /// Only after [`close()`](NamedTemporaryFile::close): the error of
    /// [`reopen`](NamedTemporaryFile::reopen) (e.g. `NotFound` if closing deleted it). The
    /// file is left in place whatever happens.
    ///
    /// # Python equivalent
    /// `NamedTemporaryFile(delete=False)`, decided after creation.
    ///
    /// ```
    /// let file = tempkit::NamedTemporaryFile::new()?;
    /// let (_file, path) = file.keep()?;
    /// assert!(path.exists());
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn keep(mut self) -> io::Result<(File, PathBuf)> {
        let result = self.handle().map(|file| {
            // Best effort: the handle is handed over whatever happens.
            let _ = self.untag(&file);
            file
        });
        self.disarmed = true;
        let path = std::mem::take(&mut self.path);
        result.map(|file| (file, path))
    }

    /// Keeps the file when dropped if `yes` (and prints its path then, as
    /// [`Builder::keep_on_panic`] does); `keep_if(false)` undoes it.
    ///
    /// For a test that returns `Err` (no panic involved): decide while the outcome is known.
    /// Unlike [`keep`](NamedTemporaryFile::keep), the object stays armed and usable, and
    /// [`close()`](NamedTemporaryFile::close) still deletes it (with `delete_on_close`).
    ///
    /// # Python equivalent
    /// None: `delete=False` is decided at creation.
    ///
    /// ```
    /// let mut file = tempkit::NamedTemporaryFile::new()?;
    /// file.keep_if(true);
    /// let path = file.path().to_owned();
    /// drop(file); // prints "tempkit: kept <path> (keep_if(true))"
    /// assert!(path.exists());
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn keep_if(&mut self, yes: bool) -> &mut Self {
        self.life.keep_if(yes);
        self
    }

    /// Runs `f` with the file and keeps it (printing its path to stderr) if `f` returns `Err`
    /// or panics; otherwise it is dropped as usual when `f` returns.
    ///
    /// See [`TemporaryDirectory::keep_on_error`](crate::TemporaryDirectory::keep_on_error).
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// use std::io::Write;
    /// let result = tempkit::NamedTemporaryFile::new()?.keep_on_error(|file| {
    ///     file.write_all(b"input")?;
    ///     std::fs::read(file.path())
    /// });
    /// assert_eq!(result?, b"input");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn keep_on_error<T, E>(
        self,
        f: impl FnOnce(&mut NamedTemporaryFile) -> Result<T, E>,
    ) -> Result<T, E> {
        keep::keep_on_error(self, f)
    }
}

#[cfg(feature = "tokio")]
impl NamedTemporaryFile {
    /// Takes the open handle out, for `tempkit::tokio` to drive; the object stays armed as an
    /// open file. `None` once closed.
    pub(crate) fn lend(&mut self) -> Option<File> {
        let file = self.file.take();
        self.lent = file.is_some();
        file
    }

    /// Puts back the handle that [`lend`](Self::lend) took.
    pub(crate) fn give_back(&mut self, file: File) {
        self.file = Some(file);
        self.lent = false;
    }
}

/// The error of I/O on the temporary file at `path` after `close()` (also `tempkit::tokio`'s).
pub(crate) fn closed_error(path: &Path) -> io::Error {
    error::new(
        io::ErrorKind::Other,
        format!(
            "I/O operation on closed temporary file `{}`",
            path.display()
        ),
    )
}

impl Keepable for NamedTemporaryFile {
    const IS_DIR: bool = false;
    fn life_mut(&mut self) -> &mut Life {
        &mut self.life
    }
    fn kept_path(&self) -> &Path {
        &self.path
    }
    fn prepare_to_keep(&mut self) {
        if self.tagged {
            if let Ok(file) = self.handle() {
                let _ = self.untag(&file);
                self.file = Some(file);
            }
        }
    }
    fn remove_on_drop(&mut self) -> io::Result<()> {
        self.remove_name()
    }
}

impl Drop for NamedTemporaryFile {
    fn drop(&mut self) {
        if !self.delete || self.disarmed {
            return;
        }
        if self.file.is_none() && !self.lent {
            // Closed earlier and the name stayed: delete only what is still this file.
            match (self.closed_id, sys::path_id(&self.path)) {
                (Some(expected), Ok(found)) if expected == found => {}
                _ => return,
            }
        }
        keep::on_drop(self);
        // The handle, if still open, closes after this, when the fields are dropped.
    }
}

/// By reference only, as for [`TemporaryDirectory`](crate::TemporaryDirectory#borrow-it-never-move-it):
/// passing the file by value to a function taking `impl AsRef<Path>` would delete it first.
///
/// ```compile_fail
/// let file = tempkit::NamedTemporaryFile::new()?;
/// std::process::Command::new("cat").arg("-").stdin(std::fs::File::open(file)?);
/// # Ok::<(), std::io::Error>(())
/// ```
impl AsRef<Path> for &NamedTemporaryFile {
    fn as_ref(&self) -> &Path {
        &self.path
    }
}

impl fmt::Debug for NamedTemporaryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedTemporaryFile")
            .field("path", &self.path)
            .field("file", &self.file)
            .field("delete", &self.delete)
            .field("delete_on_close", &self.delete_on_close)
            .field("poisoned", &self.poisoned.is_some())
            .finish()
    }
}

// Reading, writing and seeking fail with the "closed" error after `close()`.
delegate_io!(NamedTemporaryFile, as_file()?);

delegate_handles!(
    NamedTemporaryFile, as_file()?, else closed_panic,
    /// # Panics
    /// After [`close()`](NamedTemporaryFile::close): a closed file has no descriptor to borrow.
    /// Use [`as_file`](NamedTemporaryFile::as_file), which returns an error instead.
    AsFd,
    /// After [`close()`](NamedTemporaryFile::close) this is `-1`, which every system call refuses
    /// with `EBADF`.
    AsRawFd,
    /// # Panics
    /// After [`close()`](NamedTemporaryFile::close), as `AsFd` on Unix.
    AsHandle,
);

/// A failed [`persist`](NamedTemporaryFile::persist),
/// [`persist_noclobber`](NamedTemporaryFile::persist_noclobber) or
/// [`persist_durable`](NamedTemporaryFile::persist_durable): the error, and the temporary
/// file handed back, so that nothing is lost (after a failed `fsync`, poisoned for durable
/// persists: see [`persist_durable`](NamedTemporaryFile::persist_durable)).
///
/// Converts into [`io::Error`] with `?` (dropping the file, which deletes it if `delete`).
///
/// # Python equivalent
/// None: Python has no persist.
///
/// ```
/// let file = tempkit::NamedTemporaryFile::new()?;
/// let missing = file.path().with_file_name("no-such-dir").join("x");
/// let err = file.persist(&missing).unwrap_err();
/// assert_eq!(err.error.kind(), std::io::ErrorKind::NotFound);
/// assert!(err.file.path().exists()); // still there, still temporary
/// # Ok::<(), std::io::Error>(())
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

// Both types cross threads: checked at compile time.
const _: () = {
    fn send_sync<T: Send + Sync>() {}
    #[allow(dead_code)]
    fn check() {
        send_sync::<NamedTemporaryFile>();
        send_sync::<PersistError>();
    }
};
