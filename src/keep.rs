//! What `Drop` does with a temporary object beyond removing it: keeping it as evidence when
//! its thread panics (`Builder::keep_on_panic`, `TEMPKIT_KEEP`), on request (`keep_if`,
//! `keep_on_error`), and reporting what could not be removed to the cleanup-error hook.
//!
//! The drop paths of `TemporaryDirectory` and `NamedTemporaryFile` make one call here,
//! [`on_drop`]. With nothing set, it costs one relaxed atomic load (the cached `TEMPKIT_KEEP`)
//! and no system call; the environment is read once per process, at the first drop that needs
//! it.

use std::error::Error;
use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Write};
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

/// The environment variable that sets the process's default keep policy.
const VAR: &str = "TEMPKIT_KEEP";

/// The process's policy for objects whose [`Builder`](crate::Builder) said nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Policy {
    Never = 1,
    OnPanic = 2,
    Always = 3,
}

/// `TEMPKIT_KEEP` as read, or [`UNREAD`].
static POLICY: AtomicU8 = AtomicU8::new(UNREAD);
const UNREAD: u8 = 0;

impl Policy {
    fn from_u8(n: u8) -> Option<Policy> {
        match n {
            1 => Some(Policy::Never),
            2 => Some(Policy::OnPanic),
            3 => Some(Policy::Always),
            _ => None,
        }
    }

    /// The value of `TEMPKIT_KEEP`; `Err` holds the policy to use for an invalid value.
    fn parse(value: Option<&OsStr>) -> Result<Policy, Policy> {
        match value.map(|v| v.to_str()) {
            None => Ok(Policy::Never),
            Some(Some("")) | Some(Some("never")) => Ok(Policy::Never),
            Some(Some("on-panic")) => Ok(Policy::OnPanic),
            Some(Some("always")) => Ok(Policy::Always),
            Some(_) => Err(Policy::Never),
        }
    }

    /// The process default: `TEMPKIT_KEEP`, read at the first call and cached.
    fn process_default() -> Policy {
        if let Some(policy) = Policy::from_u8(POLICY.load(Ordering::Relaxed)) {
            return policy;
        }
        let value = std::env::var_os(VAR);
        let (policy, valid) = match Policy::parse(value.as_deref()) {
            Ok(policy) => (policy, true),
            Err(policy) => (policy, false),
        };
        // Threads racing here read the same value; only the one that stores it complains.
        let first = POLICY
            .compare_exchange(UNREAD, policy as u8, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok();
        if first && !valid {
            // Straight to the process's stderr (not a test's captured output): the setting is
            // the whole process's. Never panics.
            let _ = writeln!(
                io::stderr(),
                "tempkit: ignoring {}={:?}: expected never, on-panic or always",
                VAR,
                value.unwrap_or_default()
            );
        }
        policy
    }
}

/// What a [`Builder`](crate::Builder) said about keeping on panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Setting {
    /// Nothing: `TEMPKIT_KEEP` decides.
    Default,
    /// `keep_on_panic(false)`.
    Never,
    /// `keep_on_panic(true)`.
    OnPanic,
}

impl Setting {
    pub(crate) fn from_builder(keep_on_panic: Option<bool>) -> Setting {
        match keep_on_panic {
            None => Setting::Default,
            Some(false) => Setting::Never,
            Some(true) => Setting::OnPanic,
        }
    }
}

/// Why an object was kept, for the line on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reason {
    Panicked,
    Always,
    KeepIf,
    ReturnedErr,
}

/// The life-cycle options of one object, read by its `Drop`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Life {
    setting: Setting,
    /// Report removal errors to the hook (`false` with `ignore_cleanup_errors(true)`).
    report: bool,
    /// Kept whatever happens (`keep_if(true)`, or `keep_on_error` saw an `Err`).
    requested: Option<Reason>,
    /// Inside `keep_on_error`: kept if the thread panics, whatever the setting.
    in_scope: bool,
}

impl Life {
    pub(crate) fn new(setting: Setting, ignore_cleanup_errors: bool) -> Life {
        Life {
            setting,
            report: !ignore_cleanup_errors,
            requested: None,
            in_scope: false,
        }
    }

    /// Whether removal errors are ignored (`cleanup()` reports success).
    pub(crate) fn ignores_errors(&self) -> bool {
        !self.report
    }

    /// `keep_if(yes)`.
    pub(crate) fn keep_if(&mut self, yes: bool) {
        self.requested = if yes { Some(Reason::KeepIf) } else { None };
    }

    /// Why the object is kept now, if it is. Reads `TEMPKIT_KEEP` only when the Builder said
    /// nothing; asks whether the thread panics only when that could keep it.
    fn keep_reason(&self) -> Option<Reason> {
        if self.requested.is_some() {
            return self.requested;
        }
        let policy = match self.setting {
            Setting::Never => Policy::Never,
            Setting::OnPanic => Policy::OnPanic,
            Setting::Default => Policy::process_default(),
        };
        if policy == Policy::Always {
            return Some(Reason::Always);
        }
        if (policy == Policy::OnPanic || self.in_scope) && thread::panicking() {
            return Some(Reason::Panicked);
        }
        None
    }
}

/// The objects whose `Drop` goes through [`on_drop`] and that [`keep_on_error`] works on.
pub(crate) trait Keepable {
    /// A directory (`false`: a named file), for the report.
    const IS_DIR: bool;
    fn life_mut(&mut self) -> &mut Life;
    /// The object's path.
    fn kept_path(&self) -> &Path;
    /// Makes the object an ordinary one before it is kept: removes its owner tag, so that
    /// `reap` never removes it. Best effort.
    fn prepare_to_keep(&mut self);
    /// Removes the object, as drop does.
    fn remove_on_drop(&mut self) -> io::Result<()>;
}

/// The whole of an armed object's `Drop`: keep it (and say so on stderr) if its policy says
/// so, else remove it and hand an error to the cleanup-error hook. Never panics.
pub(crate) fn on_drop<O: Keepable>(object: &mut O) {
    if !keep_on_drop(object) {
        remove_on_drop(object, thread::panicking());
    }
}

/// The first half of [`on_drop`], on the dropping thread (whose panic it sees): keeps the
/// object and says so if its policy says so. Returns whether it was kept.
pub(crate) fn keep_on_drop<O: Keepable>(object: &mut O) -> bool {
    match object.life_mut().keep_reason() {
        Some(reason) => {
            object.prepare_to_keep();
            announce(object.kept_path(), reason);
            true
        }
        None => false,
    }
}

/// The second half of [`on_drop`], on any thread (`tempkit::tokio` runs it on the blocking
/// pool): removes the object and hands an error to the hook, saying whether the dropping
/// thread was panicking.
pub(crate) fn remove_on_drop<O: Keepable>(object: &mut O, while_panicking: bool) {
    let life = *object.life_mut();
    if let Err(error) = object.remove_on_drop() {
        if life.report {
            report(CleanupError {
                path: object.kept_path().to_owned(),
                error,
                is_dir: O::IS_DIR,
                while_panicking,
                unprotected: false,
            });
        }
    }
}

/// The line that names a kept object. `eprintln!`, so that the test harness shows it with the
/// failing test's output.
fn announce(path: &Path, reason: Reason) {
    // `eprintln!` panics only when stderr cannot be written; that must not escape a `Drop`.
    let _ = panic::catch_unwind(|| {
        let why = match reason {
            Reason::Panicked => {
                let thread = thread::current();
                format!("thread '{}' panicked", thread.name().unwrap_or("<unnamed>"))
            }
            Reason::Always => format!("{}=always", VAR),
            Reason::KeepIf => "keep_if(true)".to_owned(),
            Reason::ReturnedErr => "keep_on_error: the closure returned an error".to_owned(),
        };
        eprintln!("tempkit: kept {} ({})", path.display(), why);
    });
}

/// `keep_on_error`: runs `f` with `object`; keeps the object if `f` returns `Err` or panics.
pub(crate) fn keep_on_error<O: Keepable, T, E>(
    mut object: O,
    f: impl FnOnce(&mut O) -> Result<T, E>,
) -> Result<T, E> {
    // A panic in `f` drops `object` while unwinding, with `in_scope` set: it is kept.
    object.life_mut().in_scope = true;
    let result = f(&mut object);
    let life = object.life_mut();
    life.in_scope = false;
    if result.is_err() {
        life.requested = Some(Reason::ReturnedErr);
    }
    result
}

/// A failure to remove a temporary object in `Drop`, as the cleanup-error hook sees it (or,
/// once at creation, a directory that [`protect(true)`](crate::Builder::protect) could not
/// protect: [`is_unprotected`](CleanupError::is_unprotected)).
///
/// Made by `Drop` of a [`TemporaryDirectory`](crate::TemporaryDirectory) or a
/// [`NamedTemporaryFile`](crate::NamedTemporaryFile) (not of objects with
/// [`ignore_cleanup_errors(true)`](crate::Builder::ignore_cleanup_errors)) and handed to the
/// hook set with [`set_cleanup_error_hook`]. The explicit exits,
/// [`TemporaryDirectory::cleanup`](crate::TemporaryDirectory::cleanup) and
/// [`NamedTemporaryFile::close`](crate::NamedTemporaryFile::close), return their errors
/// instead.
///
/// `Display` prints one sentence: the object, then the error (which names the entry that
/// could not be removed); `source()` is `None`, as the error is printed already.
///
/// # Python equivalent
/// The exception that `TemporaryDirectory`'s finalizer passes to `sys.unraisablehook`.
///
/// ```
/// tempkit::set_cleanup_error_hook(Box::new(|e: &tempkit::CleanupError| {
///     eprintln!("leaked {} ({:?}): {}", e.path().display(), e.error().kind(), e);
/// }));
/// # let _ = tempkit::take_cleanup_error_hook();
/// ```
pub struct CleanupError {
    path: PathBuf,
    error: io::Error,
    is_dir: bool,
    while_panicking: bool,
    /// Not a removal failure: a directory that `protect(true)` could not protect.
    unprotected: bool,
}

impl CleanupError {
    /// The path of the temporary object (the directory, or the named file).
    ///
    /// # Python equivalent
    /// The finalizer's `name`.
    ///
    /// ```
    /// fn hook(e: &tempkit::CleanupError) {
    ///     assert!(e.path().is_absolute());
    /// }
    /// tempkit::set_cleanup_error_hook(Box::new(hook));
    /// # let _ = tempkit::take_cleanup_error_hook();
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What went wrong, naming the entry that could not be removed and keeping the OS error's
    /// kind (e.g. `PermissionDenied` for an immutable file).
    ///
    /// # Python equivalent
    /// The `OSError` passed to `sys.unraisablehook`.
    ///
    /// ```
    /// fn hook(e: &tempkit::CleanupError) {
    ///     eprintln!("{:?}", e.error().kind());
    /// }
    /// tempkit::set_cleanup_error_hook(Box::new(hook));
    /// # let _ = tempkit::take_cleanup_error_hook();
    /// ```
    pub fn error(&self) -> &io::Error {
        &self.error
    }

    /// Whether the object is a directory (`false`: a named file).
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// fn hook(e: &tempkit::CleanupError) {
    ///     let what = if e.is_dir() { "directory" } else { "file" };
    ///     eprintln!("could not remove {} {}", what, e.path().display());
    /// }
    /// tempkit::set_cleanup_error_hook(Box::new(hook));
    /// # let _ = tempkit::take_cleanup_error_hook();
    /// ```
    pub fn is_dir(&self) -> bool {
        self.is_dir
    }

    /// Whether the drop happened while the thread was panicking (unwinding).
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// fn hook(e: &tempkit::CleanupError) {
    ///     if !e.while_panicking() {
    ///         eprintln!("{}", e);
    ///     }
    /// }
    /// tempkit::set_cleanup_error_hook(Box::new(hook));
    /// # let _ = tempkit::take_cleanup_error_hook();
    /// ```
    pub fn while_panicking(&self) -> bool {
        self.while_panicking
    }

    /// Whether this is not a removal failure but a directory created with
    /// [`protect(true)`](crate::Builder::protect) that could not be protected (no descriptor
    /// left, a file system without locks): it exists and works, unprotected. Reported once, at
    /// creation; [`TemporaryDirectory::is_protected`](crate::TemporaryDirectory::is_protected)
    /// says the same.
    ///
    /// # Python equivalent
    /// None.
    ///
    /// ```
    /// fn hook(e: &tempkit::CleanupError) {
    ///     if !e.is_unprotected() {
    ///         eprintln!("{}", e);
    ///     }
    /// }
    /// tempkit::set_cleanup_error_hook(Box::new(hook));
    /// # let _ = tempkit::take_cleanup_error_hook();
    /// ```
    #[must_use]
    pub fn is_unprotected(&self) -> bool {
        self.unprotected
    }
}

impl fmt::Display for CleanupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.unprotected {
            return write!(
                f,
                "temporary directory `{}` could not be protected from age-based cleaners \
                 (it was created, unprotected): {}",
                self.path.display(),
                self.error
            );
        }
        write!(
            f,
            "temporary {} `{}` was not removed on drop{}: {}",
            if self.is_dir { "directory" } else { "file" },
            self.path.display(),
            if self.while_panicking {
                " (while panicking)"
            } else {
                ""
            },
            self.error
        )
    }
}

impl fmt::Debug for CleanupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CleanupError")
            .field("path", &self.path)
            .field("error", &self.error)
            .field("is_dir", &self.is_dir)
            .field("while_panicking", &self.while_panicking)
            .field("unprotected", &self.unprotected)
            .finish()
    }
}

impl Error for CleanupError {}

/// The hook's type.
type Hook = dyn Fn(&CleanupError) + Send + Sync;

/// The hook set by [`set_cleanup_error_hook`]; `None` is the default hook. An `Arc`, so that
/// the hook runs without the lock held (it may set a new hook itself).
static HOOK: Mutex<Option<Arc<Hook>>> = Mutex::new(None);

/// The default hook: one line on the process's stderr, made whole first and written with
/// one `write(2)` (Windows: `WriteFile`) without std's lock on `Stderr`, so that it never
/// waits for a thread holding `std::io::stderr().lock()`: during a panic that thread may be
/// the unwinding one, which waits for this hook's thread (a deadlock with `eprintln!`). It
/// cannot panic either.
fn default_hook(error: &CleanupError) {
    let line = format!("tempkit: {}\n", error);
    crate::sys::write_stderr(line.as_bytes());
}

/// Sets the function that `Drop` calls when it cannot remove a temporary object, replacing
/// the previous one.
///
/// The default hook prints one line to the process's stderr:
///
/// ```text
/// tempkit: temporary directory `/tmp/tmpab12cd34` was not removed on drop: failed to remove `/tmp/tmpab12cd34/f`: Operation not permitted (os error 1)
/// ```
///
/// It writes the line with one `write(2)` to descriptor 2, without std's lock on `Stderr`, so
/// it never waits for a thread that holds `std::io::stderr().lock()`, the panicking thread
/// included (see below); it therefore bypasses a test harness's output capture, and the line
/// shows as soon as it is written. A hook of your own that prints with `eprintln!` does take
/// that lock: during an unwinding drop it runs on another thread, and if the panicking thread
/// holds the lock, the two wait for each other forever.
///
/// The hook is called only from `Drop` of a [`TemporaryDirectory`](crate::TemporaryDirectory)
/// or a [`NamedTemporaryFile`](crate::NamedTemporaryFile), once per object, on the dropping
/// thread (for a drop during unwinding, see below), and once at the creation of a directory
/// that [`protect(true)`](crate::Builder::protect) could not protect, on the creating thread
/// ([`CleanupError::is_unprotected`]); never for objects with
/// [`ignore_cleanup_errors(true)`](crate::Builder::ignore_cleanup_errors), never for what
/// [`cleanup()`](crate::TemporaryDirectory::cleanup) or
/// [`close()`](crate::NamedTemporaryFile::close) return. It runs under `catch_unwind`: a hook
/// that panics does not make `Drop` panic (the panic's message is printed as usual). During a
/// drop that unwinding caused, the hook runs on a short-lived thread of its own, joined before
/// the drop returns, because a second panic on an unwinding thread would abort the process on
/// compilers before Rust 1.71; if no thread can be started, the default line is printed
/// instead. To count failures in a test, or to fail it, record them in the hook and check
/// afterwards.
///
/// # Python equivalent
/// `sys.unraisablehook`, which receives the errors of `TemporaryDirectory`'s implicit
/// cleanup (and by default prints them).
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
/// static LEAKS: AtomicUsize = AtomicUsize::new(0);
/// tempkit::set_cleanup_error_hook(Box::new(|e| {
///     LEAKS.fetch_add(1, Ordering::Relaxed);
///     eprintln!("{}", e);
/// }));
/// drop(tempkit::TemporaryDirectory::new()?); // removed: the hook is not called
/// assert_eq!(LEAKS.load(Ordering::Relaxed), 0);
/// # let _ = tempkit::take_cleanup_error_hook();
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn set_cleanup_error_hook(hook: Box<dyn Fn(&CleanupError) + Send + Sync>) {
    let old = HOOK
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(Arc::from(hook));
    // The old hook is dropped here, without the lock held.
    drop(old);
}

/// Removes the hook set by [`set_cleanup_error_hook`], restoring the default one, and returns
/// it (the default hook if none was set), for example to call it from a new hook.
///
/// # Python equivalent
/// Reading `sys.unraisablehook` before replacing it.
///
/// ```
/// let previous = tempkit::take_cleanup_error_hook();
/// tempkit::set_cleanup_error_hook(Box::new(move |e| {
///     eprintln!("cleanup failed");
///     previous(e);
/// }));
/// # let _ = tempkit::take_cleanup_error_hook();
/// ```
pub fn take_cleanup_error_hook() -> Box<dyn Fn(&CleanupError) + Send + Sync> {
    let hook = HOOK.lock().unwrap_or_else(PoisonError::into_inner).take();
    match hook {
        Some(hook) => Box::new(move |e: &CleanupError| hook(e)),
        None => Box::new(default_hook),
    }
}

/// Reports a directory that `protect(true)` could not protect (see
/// [`CleanupError::is_unprotected`]).
pub(crate) fn report_unprotected(path: &Path, error: io::Error) {
    report(CleanupError {
        path: path.to_owned(),
        error,
        is_dir: true,
        while_panicking: false,
        unprotected: true,
    });
}

/// Hands `error` to the hook; a panic in the hook goes no further.
///
/// While the thread unwinds, the hook runs on a thread of its own: before Rust 1.71 a second
/// panic on an unwinding thread aborts the process even under `catch_unwind`, whereas a panic
/// on another thread only ends that thread. If no thread can be started, the default line is
/// written instead (the default hook cannot panic).
fn report(error: CleanupError) {
    let hook = HOOK.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let error = &error;
    // The hook (and its `Arc`, which may be the last one) is used and dropped inside.
    let call = move || match hook {
        Some(hook) => hook(error),
        None => default_hook(error),
    };
    if !thread::panicking() {
        let _ = panic::catch_unwind(AssertUnwindSafe(call));
        return;
    }
    thread::scope(
        |scope| match thread::Builder::new().spawn_scoped(scope, call) {
            // Joined here, so that a panic in the hook does not make `scope` panic.
            Ok(handle) => drop(handle.join()),
            Err(_) => default_hook(error),
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempkit_keep_values() {
        let parse = |v: &str| Policy::parse(Some(OsStr::new(v)));
        assert_eq!(Policy::parse(None), Ok(Policy::Never));
        assert_eq!(parse(""), Ok(Policy::Never));
        assert_eq!(parse("never"), Ok(Policy::Never));
        assert_eq!(parse("on-panic"), Ok(Policy::OnPanic));
        assert_eq!(parse("always"), Ok(Policy::Always));
        assert_eq!(parse("Always"), Err(Policy::Never));
        assert_eq!(parse("1"), Err(Policy::Never));
        for p in [Policy::Never, Policy::OnPanic, Policy::Always] {
            assert_eq!(Policy::from_u8(p as u8), Some(p));
        }
        assert_eq!(Policy::from_u8(UNREAD), None);
    }

    #[test]
    fn cleanup_error_says_what_where_and_keeps_the_kind() {
        let e = CleanupError {
            path: PathBuf::from("/srv/tmpx"),
            error: io::Error::from(io::ErrorKind::PermissionDenied),
            is_dir: true,
            while_panicking: true,
            unprotected: false,
        };
        let text = e.to_string();
        assert!(
            text.starts_with(
                "temporary directory `/srv/tmpx` was not removed on drop (while panicking): "
            ),
            "{}",
            text
        );
        assert_eq!(e.error().kind(), io::ErrorKind::PermissionDenied);
        assert!(e.source().is_none());
        assert!(format!("{:?}", e).contains("/srv/tmpx"));
    }
}
