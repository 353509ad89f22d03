//! Fixtures shared by the integration tests: scratch directories, and running a test body in
//! a forked child (as an unprivileged user, or with a umask of its own).
#![allow(dead_code)] // each test binary uses its own share of these

pub mod append_only;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The unprivileged user and group (`nobody`/`nogroup`) permission tests run as.
pub const NOBODY: u32 = 65534;

/// A fresh scratch directory under the default temporary directory, removed on drop (with a
/// plain recursive removal that first makes everything writable, so that tests can leave
/// read-only trees behind).
pub struct Scratch {
    path: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let path = std::env::temp_dir().join(format!(
            "tempkit-test-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        ));
        std::fs::create_dir(&path).expect("create scratch directory");
        Scratch { path }
    }

    /// A scratch directory that the unprivileged user owns (when running as root).
    pub fn for_nobody() -> Scratch {
        let s = Scratch::new();
        if is_root() {
            std::os::unix::fs::chown(&s.path, Some(NOBODY), Some(NOBODY)).expect("chown scratch");
        }
        std::fs::set_permissions(&s.path, std::fs::Permissions::from_mode(0o755)).unwrap();
        s
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names in the directory, sorted.
    pub fn names(&self) -> Vec<String> {
        list(&self.path)
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for Scratch {
    fn drop(&mut self) {
        make_writable(&self.path);
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// The entry names of `dir`, sorted.
pub fn list(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn make_writable(path: &Path) {
    let Ok(meta) = path.symlink_metadata() else {
        return;
    };
    if meta.is_dir() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                make_writable(&e.path());
            }
        }
    }
}

/// The permission bits of `path` (not following a symlink).
pub fn mode(path: &Path) -> u32 {
    path.symlink_metadata().expect("lstat").permissions().mode() & 0o7777
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs `body` in a forked child and returns whether it succeeded (returned `true` without
/// panicking). `setup` runs in the child first, before `body` (as root, when we are root).
///
/// The child touches only what it was given; it ends with `_exit`, so no destructor or
/// atexit handler of the parent runs twice.
pub fn in_child(setup: impl FnOnce(), body: impl FnOnce() -> bool) -> bool {
    // SAFETY: fork in a test process; the child only runs the closures and then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            setup();
            body()
        }))
        .unwrap_or(false);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child we forked.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid failed");
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

/// Runs `body` in a forked child as the unprivileged user (when we are root; otherwise as
/// ourselves, who are unprivileged already). Root ignores file permissions, so permission
/// behaviour can only be observed this way.
pub fn as_nobody(body: impl FnOnce() -> bool) -> bool {
    in_child(
        || {
            if is_root() {
                // SAFETY: plain system calls in the single-threaded child.
                unsafe {
                    assert_eq!(libc::setgroups(0, std::ptr::null()), 0, "setgroups");
                    assert_eq!(libc::setgid(NOBODY), 0, "setgid");
                    assert_eq!(libc::setuid(NOBODY), 0, "setuid");
                }
            }
        },
        body,
    )
}

/// Runs `body` in a forked child whose umask is `mask` (the parent's is untouched).
pub fn with_umask(mask: u32, body: impl FnOnce() -> bool) -> bool {
    in_child(
        || {
            // SAFETY: umask has no preconditions; it changes only the child.
            unsafe { libc::umask(mask as libc::mode_t) };
        },
        body,
    )
}
