//! Unix (reference: Linux) implementation of the platform seam.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Once;

/// `open(path, O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600)`: one `openat` system call.
/// std adds `O_CLOEXEC` to every open on Unix.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW)
        .mode(0o600)
        .open(path)
}

/// `mkdir(path, 0700)`: one system call. `mkdir` never follows a symlink at `path`.
pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
    DirBuilder::new().mode(0o700).create(path)
}

static FORK_GENERATION: AtomicUsize = AtomicUsize::new(0);
static ATFORK_FAILED: AtomicBool = AtomicBool::new(false);

extern "C" fn after_fork_in_child() {
    // Only an atomic add: async-signal-safe, as a handler run after fork must be.
    FORK_GENERATION.fetch_add(1, Ordering::Relaxed);
}

/// A number that differs in a forked child from its parent's.
///
/// A `pthread_atfork` child handler bumps it, so the steady state costs one atomic load and no
/// system call. Should registering the handler fail, the process id serves instead (a
/// `getpid` per call: correct, only slower).
pub(crate) fn fork_generation() -> usize {
    static REGISTER: Once = Once::new();
    REGISTER.call_once(|| {
        // SAFETY: pthread_atfork only records the function pointers. The one handler given is
        // an `extern "C"` function with no arguments that touches nothing but a static atomic,
        // which is sound to run in a freshly forked child.
        let rc = unsafe { libc::pthread_atfork(None, None, Some(after_fork_in_child)) };
        if rc != 0 {
            ATFORK_FAILED.store(true, Ordering::Relaxed);
        }
    });
    if ATFORK_FAILED.load(Ordering::Relaxed) {
        std::process::id() as usize
    } else {
        FORK_GENERATION.load(Ordering::Relaxed)
    }
}

/// Fills `buf` from `getrandom(2)`, else `/dev/urandom`, else std's OS-seeded hasher keys.
pub(crate) fn fill_random(buf: &mut [u8]) {
    let mut filled = 0;
    while filled < buf.len() {
        match rustix::rand::getrandom(&mut buf[filled..], rustix::rand::GetRandomFlags::empty()) {
            Ok(n) => filled += n,
            Err(rustix::io::Errno::INTR) => {}
            Err(_) => break,
        }
    }
    if filled == buf.len() {
        return;
    }
    let urandom = File::open("/dev/urandom").and_then(|mut f| f.read_exact(buf));
    if urandom.is_err() {
        super::fill_random_from_std(buf);
    }
}

/// Python's fixed Unix candidates, after the environment variables.
pub(crate) fn platform_temp_dirs() -> Vec<PathBuf> {
    ["/tmp", "/var/tmp", "/usr/tmp"]
        .iter()
        .map(PathBuf::from)
        .collect()
}
