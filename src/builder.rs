//! `Builder`: Python's keyword arguments, set once and used by every kind of temporary object.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use crate::create::{self, Kind, Template};
use crate::{env, keep, path, sys, NamedTemporaryFile, TemporaryDirectory, TemporaryFile};

/// Options for creating temporary objects: Python's keyword arguments.
///
/// Setters take `&mut self` and return `&mut Self`, so one builder can be configured in a
/// chain and then used for any number of objects. Each kind of object reads the options that
/// apply to it and ignores the rest.
///
/// | option | default | used by |
/// |---|---|---|
/// | [`prefix`](Builder::prefix) | [`gettempprefix()`](crate::gettempprefix) (`"tmp"`) | every named object |
/// | [`suffix`](Builder::suffix) | `""` | every named object |
/// | [`dir`](Builder::dir) | [`gettempdir()`](crate::gettempdir) | everything |
/// | [`random_len`](Builder::random_len) | 8 | every named object |
/// | [`delete`](Builder::delete) | `true` | named file, directory |
/// | [`delete_on_close`](Builder::delete_on_close) | `true` | named file |
/// | [`ignore_cleanup_errors`](Builder::ignore_cleanup_errors) | `false` | directory; named file (drop's reports) |
/// | [`keep_on_panic`](Builder::keep_on_panic) | `TEMPKIT_KEEP`, else `false` | directory, named file |
/// | [`protect`](Builder::protect) | `false` | directory |
/// | [`reapable`](Builder::reapable) | `false` | named file, directory |
/// | [`dir_mode`](Builder::dir_mode) (Unix) | `0o700` | directory |
///
/// # Python equivalent
/// The keyword arguments `prefix=`, `suffix=`, `dir=`, `delete=`, `delete_on_close=` and
/// `ignore_cleanup_errors=` of `tempfile`'s functions and classes. `random_len` is new (Python
/// always uses 8). `mode`, `buffering`, `encoding`, `newline` and `errors` have no setter:
/// files are bytes; wrap them in `BufReader`, `BufWriter` or a decoder.
///
/// ```
/// let dir = tempkit::Builder::new().prefix("report-").suffix(".d").mkdtemp()?;
/// let name = dir.file_name().unwrap().to_str().unwrap();
/// assert!(name.starts_with("report-") && name.ends_with(".d"));
/// std::fs::remove_dir(&dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Builder {
    /// Borrowed for the default ([`gettempprefix()`](crate::gettempprefix)), so that
    /// `Builder::new()` allocates nothing.
    prefix: Cow<'static, OsStr>,
    suffix: OsString,
    dir: Option<PathBuf>,
    /// `dir` was given to [`Builder::dir_verbatim`]: never folded.
    dir_verbatim: bool,
    random_len: usize,
    delete: bool,
    delete_on_close: bool,
    ignore_cleanup_errors: bool,
    keep_on_panic: Option<bool>,
    protect: bool,
    reapable: bool,
    /// The mode `mkdir` is given (see [`Builder::dir_mode`]).
    #[cfg(unix)]
    dir_mode: u32,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            prefix: Cow::Borrowed(OsStr::new(env::gettempprefix())),
            suffix: OsString::new(),
            dir: None,
            dir_verbatim: false,
            random_len: 8,
            delete: true,
            delete_on_close: true,
            ignore_cleanup_errors: false,
            keep_on_panic: None,
            protect: false,
            reapable: false,
            #[cfg(unix)]
            dir_mode: 0o700,
        }
    }
}

impl Builder {
    /// A builder with Python's defaults.
    ///
    /// ```
    /// let (file, path) = tempkit::Builder::new().mkstemp()?;
    /// assert!(path.file_name().unwrap().to_str().unwrap().starts_with("tmp"));
    /// # drop(file); std::fs::remove_file(path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The start of the name (default [`gettempprefix()`](crate::gettempprefix), `"tmp"`).
    ///
    /// A prefix holding a path separator or NUL makes creation fail with `InvalidInput`.
    ///
    /// # Python equivalent
    /// `prefix=`.
    ///
    /// ```
    /// let (_file, path) = tempkit::Builder::new().prefix("log-").mkstemp()?;
    /// assert!(path.file_name().unwrap().to_str().unwrap().starts_with("log-"));
    /// # std::fs::remove_file(path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn prefix<S: AsRef<OsStr>>(&mut self, prefix: S) -> &mut Self {
        self.prefix = Cow::Owned(prefix.as_ref().to_owned());
        self
    }

    /// The end of the name (default `""`); a dot is not added: give `".txt"`, not `"txt"`.
    ///
    /// A suffix holding a path separator or NUL makes creation fail with `InvalidInput`.
    ///
    /// # Python equivalent
    /// `suffix=`.
    ///
    /// ```
    /// let (_file, path) = tempkit::Builder::new().suffix(".csv").mkstemp()?;
    /// assert_eq!(path.extension().unwrap(), "csv");
    /// # std::fs::remove_file(path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn suffix<S: AsRef<OsStr>>(&mut self, suffix: S) -> &mut Self {
        self.suffix = suffix.as_ref().to_owned();
        self
    }

    /// The directory to create in (default [`gettempdir()`](crate::gettempdir)). A relative
    /// directory is taken against the current directory at creation; paths returned are
    /// always absolute.
    ///
    /// # Python equivalent
    /// `dir=`.
    ///
    /// ```
    /// let parent = tempkit::mkdtemp()?;
    /// let (_file, path) = tempkit::Builder::new().dir(&parent).mkstemp()?;
    /// assert_eq!(path.parent(), Some(parent.as_path()));
    /// # std::fs::remove_file(path)?; std::fs::remove_dir(parent)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn dir<P: AsRef<Path>>(&mut self, dir: P) -> &mut Self {
        // Folded once here rather than on every creation.
        self.dir = Some(path::fold_if_absolute(dir.as_ref()));
        self.dir_verbatim = false;
        self
    }

    /// As [`dir`](Builder::dir), but the path is used exactly as given: `.` and `..` are
    /// left to the kernel instead of being folded as text, so `link/..` is the parent of the
    /// symbolic link's target (where [`dir`](Builder::dir), like Python's `os.path.abspath`,
    /// makes it the directory holding `link`), and paths returned are `dir`, a separator
    /// (unless `dir` ends with one) and the name, byte for byte. A relative directory is
    /// joined to the current directory at creation, unfolded too; an unnamed file
    /// ([`temporary_file`](Builder::temporary_file)) is opened in it as it is, with no
    /// `getcwd` unless it falls back to a named file.
    ///
    /// This is how the `tempfile` crate treats its `dir` argument; its compat build
    /// (`compat/`) uses it. Costs nothing more than [`dir`](Builder::dir) (less: no scan).
    ///
    /// # Python equivalent
    /// None: Python's `dir=` goes through `os.path.abspath`.
    ///
    /// ```
    /// let parent = tempkit::mkdtemp()?;
    /// let given = parent.join(".");
    /// let (_file, path) = tempkit::Builder::new().dir_verbatim(&given).mkstemp()?;
    /// // `parent/./tmp…`, where `dir(&given)` gives `parent/tmp…`.
    /// assert_eq!(path.as_os_str(), given.join(path.file_name().unwrap()).as_os_str());
    /// # std::fs::remove_file(path)?; std::fs::remove_dir(parent)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn dir_verbatim<P: AsRef<Path>>(&mut self, dir: P) -> &mut Self {
        self.dir = Some(dir.as_ref().to_owned());
        self.dir_verbatim = true;
        self
    }

    /// How many random characters go between prefix and suffix (default 8: 37^8, about 41.7
    /// bits). With 0 the name is exactly prefix + suffix and is tried once. More than 4096 is
    /// refused with `InvalidInput` at creation (no file name can be that long).
    ///
    /// # Python equivalent
    /// None: Python always uses 8.
    ///
    /// ```
    /// let (_file, path) = tempkit::Builder::new().prefix("").random_len(12).mkstemp()?;
    /// assert_eq!(path.file_name().unwrap().len(), 12);
    /// # std::fs::remove_file(path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn random_len(&mut self, len: usize) -> &mut Self {
        self.random_len = len;
        self
    }

    /// The permission bits new directories are created with, before the umask (Unix only;
    /// default `0o700`, owner only).
    ///
    /// Given to `mkdir` itself, so the directory never has other bits, even for a moment, and
    /// the cost stays one system call. Widen it only for a directory that others must read
    /// (`0o755`) or to follow the umask (`0o777`, as `std::fs::create_dir` and the `tempfile`
    /// crate do); the removal is the same whatever the mode. Read by
    /// [`mkdtemp`](Builder::mkdtemp) and
    /// [`temporary_directory`](Builder::temporary_directory).
    ///
    /// # Python equivalent
    /// None: Python's `mkdtemp` always uses 0o700.
    ///
    /// ```
    /// # #[cfg(unix)] {
    /// use std::os::unix::fs::PermissionsExt;
    /// let dir = tempkit::Builder::new().dir_mode(0o750).temporary_directory()?;
    /// let mode = std::fs::metadata(dir.path())?.permissions().mode() & 0o777;
    /// assert_eq!(mode & !0o750, 0); // 0o750 minus the umask's bits
    /// # }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[cfg(unix)]
    pub fn dir_mode(&mut self, mode: u32) -> &mut Self {
        self.dir_mode = mode;
        self
    }

    /// `mkdir` with this builder's mode.
    fn make_dir(&self, path: &Path) -> io::Result<()> {
        #[cfg(unix)]
        return sys::create_dir_mode(path, self.dir_mode);
        #[cfg(not(unix))]
        return sys::create_dir(path);
    }

    /// Whether a named file or directory is deleted automatically (default `true`).
    ///
    /// # Python equivalent
    /// `delete=` of `NamedTemporaryFile` and `TemporaryDirectory`.
    ///
    /// ```
    /// let mut b = tempkit::Builder::new();
    /// b.delete(false);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn delete(&mut self, yes: bool) -> &mut Self {
        self.delete = yes;
        self
    }

    /// Whether closing a named file also deletes it (default `true`; only with `delete`).
    ///
    /// # Python equivalent
    /// `delete_on_close=` of `NamedTemporaryFile` (Python 3.12+).
    ///
    /// ```
    /// let mut b = tempkit::Builder::new();
    /// b.delete_on_close(false);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn delete_on_close(&mut self, yes: bool) -> &mut Self {
        self.delete_on_close = yes;
        self
    }

    /// Whether a directory's cleanup reports success even when something could not be
    /// removed (default `false`); also, for directories and named files, whether a failed
    /// removal on drop goes unreported (by default it goes to the
    /// [cleanup-error hook](crate::set_cleanup_error_hook)).
    ///
    /// # Python equivalent
    /// `ignore_cleanup_errors=` of `TemporaryDirectory` (Python 3.10+), which also silences
    /// the implicit cleanup's report; Python's `NamedTemporaryFile` has no such option.
    ///
    /// ```
    /// let mut b = tempkit::Builder::new();
    /// b.ignore_cleanup_errors(true);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn ignore_cleanup_errors(&mut self, yes: bool) -> &mut Self {
        self.ignore_cleanup_errors = yes;
        self
    }

    /// Whether a [`TemporaryDirectory`] is shielded from age-based cleaners while it lives
    /// (default `false`).
    ///
    /// The directory holds a descriptor (`O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC`) with a
    /// shared `flock` for its whole life. systemd-tmpfiles (242 and later) tries an exclusive
    /// lock on every directory before it ages it and skips the whole subtree when that fails,
    /// so a protected directory survives `systemd-tmpfiles --clean` however old its
    /// timestamps; once the owner is gone (dropped, or the process died, even by `SIGKILL`)
    /// the lock is gone too. The descriptor is close-on-exec: commands you start do not keep
    /// the lock alive. The same descriptor makes [`cleanup`](TemporaryDirectory::cleanup)
    /// check, before removing, that the name still refers to the directory created (device
    /// and inode).
    ///
    /// Cost: one descriptor for the directory's life, and four system calls (`openat`,
    /// `flock`, `fstat` at creation, `lstat` before removal). So it is off by default; it is
    /// on in `tempkit run`.
    ///
    /// If locking is impossible (no descriptor left, a file system without locks such as
    /// NFS without lock support), creation still succeeds, unprotected:
    /// [`TemporaryDirectory::is_protected`] says so, and the cleanup-error hook is told once
    /// (see [`CleanupError::is_unprotected`](crate::CleanupError::is_unprotected); not with
    /// [`ignore_cleanup_errors(true)`](Builder::ignore_cleanup_errors)). tmpreaper and tmpwatch ignore locks:
    /// see the crate documentation, "Leaks and cleaners".
    ///
    /// # Platform notes
    /// Unix (tested on Linux). Elsewhere a documented no-op: the directory is unprotected.
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// let dir = tempkit::Builder::new().protect(true).temporary_directory()?;
    /// if cfg!(target_os = "linux") {
    ///     assert!(dir.is_protected());
    /// }
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn protect(&mut self, yes: bool) -> &mut Self {
        self.protect = yes;
        self
    }

    /// Whether a [`TemporaryDirectory`] or [`NamedTemporaryFile`] carries an owner tag, so
    /// that [`reap`](crate::reap) (and `tempkit reap`) can remove it once its owner is dead
    /// (default `false`).
    ///
    /// The tag is the extended attribute `user.tempkit.owner`: machine id, boot id, pid
    /// namespace, pid, process start time, user, device and inode (see [`reap`](crate::reap)
    /// for how it is judged). Only objects that tempkit would delete are tagged: with
    /// [`delete(false)`](Builder::delete) nothing is tagged (such objects are meant to stay);
    /// [`TemporaryDirectory::keep`], [`NamedTemporaryFile::keep`] and
    /// [`NamedTemporaryFile::persist`] remove the tag before handing the object over, so a
    /// published object is never reaped. `mkstemp`/`mkdtemp` objects are the caller's and never
    /// tagged.
    ///
    /// The tag names the process that created the object. An object handed to a child made
    /// by `fork` (without `exec`) counts as dead once its creator has ended, unless it is
    /// also [`protect`](Builder::protect)ed: the child then holds the inherited lock, and
    /// `reap` skips what is locked.
    ///
    /// Cost: `fsetxattr` and `fstat` at creation (and, for a directory, an `openat` and
    /// `close` unless [`protect`](Builder::protect) holds its descriptor anyway).
    ///
    /// Where tags cannot be written (a file system without `user.*` extended attributes:
    /// tmpfs before Linux 6.6, some network file systems; a platform other than Linux), the
    /// fallback is no tag: creation succeeds and the object is never reaped (only an
    /// age-based cleaner would remove it after a crash).
    /// [`TemporaryDirectory::is_reapable`] and [`NamedTemporaryFile::is_reapable`] tell.
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// let dir = tempkit::Builder::new().reapable(true).temporary_directory()?;
    /// # let _ = dir;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn reapable(&mut self, yes: bool) -> &mut Self {
        self.reapable = yes;
        self
    }

    /// Whether a directory or named file dropped while its thread panics is kept, with one
    /// line naming it on stderr (default: the `TEMPKIT_KEEP` environment variable, else
    /// `false`).
    ///
    /// The line is printed with `eprintln!`, so the test harness shows it with the failing
    /// test's output:
    ///
    /// ```text
    /// tempkit: kept /tmp/tmpab12cd34 (thread 'tests::parse' panicked)
    /// ```
    ///
    /// `TEMPKIT_KEEP` sets the default of every object whose builder did not call this:
    /// `never` (the default), `on-panic`, or `always` (every such object is kept, panic or
    /// not, with the same line). It is read once per process, at the first drop that needs
    /// it; an invalid value is reported once on stderr and treated as `never`. An explicit
    /// `keep_on_panic(true)` or `keep_on_panic(false)` wins over it. A named file already
    /// deleted by [`close()`](crate::NamedTemporaryFile::close) is gone and not reported.
    /// A kept object loses its owner tag ([`reapable`](Builder::reapable)) first, so
    /// [`reap`](crate::reap) never removes it. For a test that fails by returning `Err`, see
    /// [`TemporaryDirectory::keep_on_error`] and [`TemporaryDirectory::keep_if`].
    ///
    /// # Platform notes
    /// A panic is seen only while it unwinds: with `panic = "abort"`, after `SIGKILL` or
    /// `std::process::exit`, no `Drop` runs and the object stays anyway, unannounced.
    ///
    /// # Python equivalent
    /// None: Python's `delete=False` keeps the object always, whether the code failed or not.
    ///
    /// ```
    /// let dir = tempkit::Builder::new().keep_on_panic(true).temporary_directory()?;
    /// let path = dir.path().to_owned();
    /// drop(dir); // no panic: removed as usual
    /// assert!(!path.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn keep_on_panic(&mut self, yes: bool) -> &mut Self {
        self.keep_on_panic = Some(yes);
        self
    }

    /// Creates a file, open for reading and writing, that the caller closes and removes.
    ///
    /// The file has mode 0600 from the moment it exists, is opened with
    /// `O_EXCL|O_NOFOLLOW|O_CLOEXEC` (a symlink at the name is never followed; no child
    /// process inherits the descriptor), and the path returned is absolute.
    ///
    /// # Errors
    /// `InvalidInput` for a prefix or suffix with a separator or NUL; `AlreadyExists` after
    /// [`TMP_MAX`](crate::TMP_MAX) names were all taken; any other OS error (missing `dir`,
    /// not a directory, no permission, name too long, no space) at once, naming the
    /// directory.
    ///
    /// # Platform notes
    /// Windows: `CREATE_NEW` (fails on any existing name, a link included), sharing read,
    /// write and delete, not inheritable; no mode bits (the directory's ACL applies). Access
    /// denied counts as a taken name while `dir` is a directory and attempts remain (CPython
    /// 3.14.4, gh-66305: Windows says so for a directory or a delete-pending file at the name).
    ///
    /// # Python equivalent
    /// `tempfile.mkstemp(suffix, prefix, dir)`, returning a [`File`] instead of a raw
    /// descriptor. `text=` has no equivalent: files are bytes.
    ///
    /// ```
    /// use std::io::Write;
    /// let (mut file, path) = tempkit::Builder::new().suffix(".txt").mkstemp()?;
    /// file.write_all(b"hello")?;
    /// assert_eq!(std::fs::read(&path)?, b"hello");
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn mkstemp(&self) -> io::Result<(File, PathBuf)> {
        self.create(Kind::File, sys::create_file)
    }

    /// Creates a directory, mode 0700, that the caller removes; returns its absolute path.
    ///
    /// # Errors
    /// As [`mkstemp`](Builder::mkstemp).
    ///
    /// # Platform notes
    /// Windows: `CreateDirectoryW` with CPython's owner-only security descriptor (3.12.4+,
    /// CVE-2024-4030): full control for SYSTEM, the Administrators and the owner, inherited by
    /// everything created inside, nothing from the parent. CPython's known limits apply: an
    /// elevated process's owner is Administrators (gh-157876); an AppContainer process needs
    /// its own SID (gh-134587). Retries as [`mkstemp`](Builder::mkstemp).
    ///
    /// # Python equivalent
    /// `tempfile.mkdtemp(suffix, prefix, dir)`.
    ///
    /// ```
    /// let dir = tempkit::Builder::new().prefix("work-").mkdtemp()?;
    /// assert!(dir.is_dir());
    /// std::fs::remove_dir(&dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn mkdtemp(&self) -> io::Result<PathBuf> {
        self.create(Kind::Dir, |p| self.make_dir(p))
            .map(|((), path)| path)
    }

    /// Creates a file with no name, open for reading and writing, gone when dropped.
    ///
    /// On Linux the file is opened with `O_TMPFILE|O_EXCL` in `dir`: it never has a name, can
    /// never be linked into the tree, and cannot leak even if the process is killed with
    /// `SIGKILL`. When the file system or kernel refuses that (or `dir` is a symlink to a
    /// directory, which is not followed), a named file is created as by
    /// [`mkstemp`](Builder::mkstemp) and unlinked at once (only a `SIGKILL` between the two
    /// calls could leave that name behind). Either way `dir` can be removed
    /// while the file is open. Prefix and suffix are checked but unused on the unnamed path.
    ///
    /// # Errors
    /// As [`mkstemp`](Builder::mkstemp): `NotFound` for a missing `dir`, `NotADirectory` (raw
    /// `ENOTDIR`) for a `dir` that is a file, `PermissionDenied`, and so on, naming the
    /// directory. If the fallback's unlink fails, the file is closed and that error returned.
    ///
    /// # Security
    /// Mode 0600 from the start, close-on-exec, never following a symlink at the name.
    ///
    /// # Platform notes
    /// `O_TMPFILE` is Linux's (3.11+; most local file systems); other Unix systems take the
    /// named-and-unlinked path. Windows has no unnamed files: the file is created with the
    /// prefix and suffix, `FILE_FLAG_DELETE_ON_CLOSE` and no sharing at all, and is never
    /// deleted by name. No other handle can be opened on it (by name or otherwise), and the
    /// system deletes it when the last handle closes, also when the process is killed. Its name
    /// is visible in `dir` while it is open, and `dir` cannot be removed meanwhile.
    ///
    /// # Python equivalent
    /// `tempfile.TemporaryFile(dir=..)`, binary (`mode='w+b'`). Python's object has `.name`
    /// set to the descriptor number; this one has no name at all.
    ///
    /// ```
    /// use std::io::{Read, Seek, SeekFrom, Write};
    /// let mut file = tempkit::Builder::new().temporary_file()?;
    /// file.write_all(b"scratch")?;
    /// file.seek(SeekFrom::Start(0))?;
    /// let mut text = String::new();
    /// file.read_to_string(&mut text)?;
    /// assert_eq!(text, "scratch");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn temporary_file(&self) -> io::Result<TemporaryFile> {
        TemporaryFile::create(self)
    }

    /// Creates a named file, open for reading and writing, deleted as `delete` and
    /// `delete_on_close` say (see [`NamedTemporaryFile`]).
    ///
    /// The file is created as by [`mkstemp`](Builder::mkstemp). Nothing can fail once the
    /// name exists, so a failed call never leaves a file behind, whatever `delete` says.
    ///
    /// # Errors
    /// As [`mkstemp`](Builder::mkstemp).
    ///
    /// # Security
    /// As [`mkstemp`](Builder::mkstemp): mode 0600 from the start, `O_EXCL|O_NOFOLLOW`,
    /// close-on-exec.
    ///
    /// # Python equivalent
    /// `tempfile.NamedTemporaryFile(suffix=, prefix=, dir=, delete=, delete_on_close=)`, binary.
    ///
    /// ```
    /// let file = tempkit::Builder::new().prefix("job-").delete(false).named_temporary_file()?;
    /// let path = file.path().to_owned();
    /// drop(file);
    /// assert!(path.exists()); // delete(false): the caller removes it
    /// std::fs::remove_file(&path)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn named_temporary_file(&self) -> io::Result<NamedTemporaryFile> {
        NamedTemporaryFile::create(self)
    }

    /// Returns an absolute path that did not exist when it was checked, creating nothing.
    ///
    /// # Security
    /// Unsafe by design, as in Python: another process can create the name between this call
    /// and yours (and can make it a symlink to a file of yours). Use
    /// [`mkstemp`](Builder::mkstemp) or [`mkdtemp`](Builder::mkdtemp), which create the name
    /// atomically.
    ///
    /// # Errors
    /// As [`mkstemp`](Builder::mkstemp). A missing `dir` is not an error (nothing is created
    /// there), as in Python.
    ///
    /// # Python equivalent
    /// `tempfile.mktemp(suffix, prefix, dir)`, deprecated since Python 2.3; unlike Python the
    /// path is absolute.
    ///
    /// ```
    /// #[allow(deprecated)]
    /// let path = tempkit::Builder::new().mktemp()?;
    /// assert!(!path.exists());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[deprecated(note = "the name can be taken before you use it; use mkstemp or mkdtemp")]
    pub fn mktemp(&self) -> io::Result<PathBuf> {
        self.create(Kind::Name, |candidate| {
            match std::fs::symlink_metadata(candidate) {
                Ok(_) => Err(io::Error::from(io::ErrorKind::AlreadyExists)),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(e),
            }
        })
        .map(|((), path)| path)
    }

    /// A [`SpooledTemporaryFile`](crate::SpooledTemporaryFile) that stays in memory until it holds more than `max_size`
    /// bytes (`0`: until asked), then moves to a [`TemporaryFile`](crate::TemporaryFile) made
    /// with these options.
    ///
    /// Nothing is created on disk now, so this cannot fail: a bad `dir`, prefix or suffix
    /// shows up as the error of the first rollover.
    ///
    /// # Python equivalent
    /// `tempfile.SpooledTemporaryFile(max_size, suffix=, prefix=, dir=)`.
    ///
    /// ```
    /// use std::io::Write;
    /// let dir = tempkit::mkdtemp()?;
    /// let mut file = tempkit::Builder::new().dir(&dir).spooled_temporary_file(4);
    /// file.write_all(b"hello")?;
    /// assert!(file.is_rolled_over());
    /// # drop(file); std::fs::remove_dir(dir)?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn spooled_temporary_file(&self, max_size: usize) -> crate::SpooledTemporaryFile {
        crate::SpooledTemporaryFile::with_builder(self.clone(), max_size)
    }

    /// Creates a directory, mode 0700, that is removed with everything in it when dropped
    /// (unless [`delete`](Builder::delete) is `false`).
    ///
    /// Reads `prefix`, `suffix`, `dir`, `random_len`, `delete`, `ignore_cleanup_errors`,
    /// `protect` and `reapable`.
    ///
    /// # Errors
    /// As [`mkdtemp`](Builder::mkdtemp): a missing `dir` is a `NotFound` error naming it.
    ///
    /// # Python equivalent
    /// `tempfile.TemporaryDirectory(suffix, prefix, dir, ignore_cleanup_errors, delete=)`.
    ///
    /// ```
    /// let dir = tempkit::Builder::new().prefix("build-").temporary_directory()?;
    /// let name = dir.path().file_name().unwrap().to_str().unwrap();
    /// assert!(name.starts_with("build-"));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn temporary_directory(&self) -> io::Result<TemporaryDirectory> {
        let ((), path) = self.create(Kind::Dir, |p| self.make_dir(p))?;
        let mut dir = TemporaryDirectory::from_created(path, self.deletes(), self.life());
        if self.protect || self.tags() {
            dir.arm(self.protect, self.tags());
        }
        Ok(dir)
    }

    /// Whether new directories and named files get an owner tag: only objects deleted
    /// automatically (a `delete(false)` object is meant to stay).
    pub(crate) fn tags(&self) -> bool {
        self.reapable && self.delete
    }

    /// The directory to create in, absolute (borrowed when `dir` already is, and folded
    /// unless given to `dir_verbatim`).
    pub(crate) fn resolved_dir(&self) -> io::Result<Cow<'_, Path>> {
        match &self.dir {
            // Absolute means already folded (see `dir`), or never to be (`dir_verbatim`).
            Some(dir) if path::is_absolute(dir) => Ok(Cow::Borrowed(dir)),
            Some(dir) if self.dir_verbatim => path::absolute_verbatim(dir).map(Cow::Owned),
            Some(dir) => path::absolute(dir).map(Cow::Owned),
            None => env::gettempdir().map(Cow::Owned),
        }
    }

    /// The directory as given to `dir` or `dir_verbatim` (`None`: the default), unresolved.
    #[cfg(feature = "tokio")]
    pub(crate) fn given_dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// The directory given to `dir_verbatim`, when it is relative: an unnamed file can be
    /// opened in it as it is (see `TemporaryFile::create`).
    pub(crate) fn relative_verbatim_dir(&self) -> Option<&Path> {
        match &self.dir {
            Some(dir) if self.dir_verbatim && !path::is_absolute(dir) => Some(dir),
            _ => None,
        }
    }

    /// Runs the name-and-retry loop with these options.
    pub(crate) fn create<T>(
        &self,
        kind: Kind,
        make: impl FnMut(&Path) -> io::Result<T>,
    ) -> io::Result<(T, PathBuf)> {
        let dir = self.resolved_dir()?;
        create::create(self.template(&dir), kind, make)
    }

    /// The name template of these options, in `dir`.
    pub(crate) fn template<'a>(&'a self, dir: &'a Path) -> Template<'a> {
        Template {
            dir,
            prefix: &self.prefix,
            suffix: &self.suffix,
            random_len: self.random_len,
        }
    }

    /// Whether named objects are deleted automatically.
    pub(crate) fn deletes(&self) -> bool {
        self.delete
    }

    /// Whether closing a named file deletes it.
    pub(crate) fn deletes_on_close(&self) -> bool {
        self.delete_on_close
    }

    /// What drop does beyond removing: the keep policy and the error reports.
    pub(crate) fn life(&self) -> keep::Life {
        keep::Life::new(
            keep::Setting::from_builder(self.keep_on_panic),
            self.ignore_cleanup_errors,
        )
    }
}

/// Creates a file in [`gettempdir()`](crate::gettempdir) that the caller closes and removes.
///
/// The same as `Builder::new().mkstemp()`: see [`Builder::mkstemp`].
///
/// # Python equivalent
/// `tempfile.mkstemp()`.
///
/// ```
/// let (file, path) = tempkit::mkstemp()?;
/// assert!(path.is_absolute() && path.is_file());
/// drop(file);
/// std::fs::remove_file(path)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn mkstemp() -> io::Result<(File, PathBuf)> {
    Builder::new().mkstemp()
}

/// Creates a directory in [`gettempdir()`](crate::gettempdir) that the caller removes.
///
/// The same as `Builder::new().mkdtemp()`: see [`Builder::mkdtemp`].
///
/// # Python equivalent
/// `tempfile.mkdtemp()`.
///
/// ```
/// let dir = tempkit::mkdtemp()?;
/// assert!(dir.is_dir());
/// std::fs::remove_dir(dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn mkdtemp() -> io::Result<PathBuf> {
    Builder::new().mkdtemp()
}

/// Returns a path in [`gettempdir()`](crate::gettempdir) that did not exist when checked.
///
/// # Security
/// Unsafe, as in Python: see [`Builder::mktemp`]. Use [`mkstemp`] or [`mkdtemp`].
///
/// # Python equivalent
/// `tempfile.mktemp()` (deprecated since Python 2.3).
///
/// ```
/// #[allow(deprecated)]
/// let path = tempkit::mktemp()?;
/// assert!(path.is_absolute() && !path.exists());
/// # Ok::<(), std::io::Error>(())
/// ```
#[deprecated(note = "the name can be taken before you use it; use mkstemp or mkdtemp")]
pub fn mktemp() -> io::Result<PathBuf> {
    #[allow(deprecated)]
    Builder::new().mktemp()
}
