//! Fixtures shared by the integration tests: scratch directories, bounded waits for child
//! processes, and name and mode checks. A test body that must run as another user, under a
//! umask, an environment or a limit of its own runs in a fresh process (`child::Child`), never
//! in a fork of the multi-threaded test harness (tests/fork_safety.rs shows why).
#![allow(dead_code)] // each test binary uses its own share of these
#![allow(clippy::incompatible_msrv)] // tests use the current toolchain, not rust-version

// Unix only: modes, forks, strace, ioctl. The rest of this file also serves the tests that
// run under wine (.ci/windows), so it sticks to Rust 1.63.
pub mod child;
#[cfg(unix)]
pub mod creators;
pub mod need;
#[cfg(unix)]
pub mod trace;

#[cfg(unix)]
pub mod append_only;

#[cfg(unix)]
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
        Scratch::new_in(&std::env::temp_dir())
    }

    /// A fresh scratch directory in `base`.
    pub fn new_in(base: &Path) -> Scratch {
        loop {
            let path = base.join(format!(
                "tempkit-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            ));
            // A name left by an earlier run (process ids are reused, under wine at once).
            match std::fs::create_dir(&path) {
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                created => created.expect("create scratch directory"),
            }
            return Scratch { path };
        }
    }

    /// A scratch directory that the unprivileged user owns (when running as root).
    #[cfg(unix)]
    pub fn for_nobody() -> Scratch {
        Scratch::for_nobody_in(&std::env::temp_dir())
    }

    /// [`Scratch::for_nobody`] in `base`.
    #[cfg(unix)]
    pub fn for_nobody_in(base: &Path) -> Scratch {
        let s = Scratch::new_in(base);
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
    let meta = match path.symlink_metadata() {
        Ok(meta) => meta,
        Err(_) => return,
    };
    if meta.is_dir() {
        #[cfg(unix)]
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700));
        if let Ok(entries) = std::fs::read_dir(path) {
            for e in entries.flatten() {
                make_writable(&e.path());
            }
        }
    }
    clear_readonly(path, &meta);
}

/// Windows: a read-only attribute, on files too, blocks std's removal.
#[cfg(windows)]
fn clear_readonly(path: &Path, meta: &std::fs::Metadata) {
    if meta.permissions().readonly() {
        let mut permissions = meta.permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        permissions.set_readonly(false);
        let _ = std::fs::set_permissions(path, permissions);
    }
}

#[cfg(not(windows))]
fn clear_readonly(_path: &Path, _meta: &std::fs::Metadata) {}

/// The permission bits of `path` (not following a symlink).
#[cfg(unix)]
pub fn mode(path: &Path) -> u32 {
    path.symlink_metadata().expect("lstat").permissions().mode() & 0o7777
}

#[cfg(unix)]
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// The longest a test waits for a child (process, traced re-run, command) before killing it
/// and failing: a hang becomes a failure that names what hung, never a stuck suite.
pub const CHILD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

#[cfg(unix)]
/// Waits for the child `pid` at most [`CHILD_TIMEOUT`]; returns whether it exited with status
/// 0. A child still running then is killed (`SIGKILL`) and the test fails.
pub fn wait_child(pid: libc::pid_t) -> bool {
    let status = wait_status(pid);
    libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0
}

#[cfg(unix)]
/// Reaps the child `pid`, waiting at most [`CHILD_TIMEOUT`], and returns its wait status. A
/// child still running then is killed (`SIGKILL`) and the test fails.
pub fn wait_status(pid: libc::pid_t) -> libc::c_int {
    if let Some(status) = reap_within(pid, CHILD_TIMEOUT) {
        return status;
    }
    kill_child(pid);
    panic!(
        "child {} still running after {:?}: killed",
        pid, CHILD_TIMEOUT
    );
}

/// How long a child killed with `SIGKILL` may take to end. It ends at once unless it is stuck
/// in the kernel (an uninterruptible sleep, `D` state): the test then fails instead of hanging
/// with it.
pub const KILL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

#[cfg(unix)]
/// Kills our child `pid` (`SIGKILL`) and reaps it, waiting at most [`KILL_TIMEOUT`]; returns
/// its wait status. A child that does not end in that time fails the test.
pub fn kill_child(pid: libc::pid_t) -> libc::c_int {
    // SAFETY: kill has no memory-safety preconditions; `pid` is our unreaped child.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    reap_within(pid, KILL_TIMEOUT).unwrap_or_else(|| {
        panic!(
            "child {} still running {:?} after SIGKILL",
            pid, KILL_TIMEOUT
        )
    })
}

#[cfg(unix)]
/// Reaps the child `pid` once it has ended, polling for at most `timeout`: its wait status,
/// or `None` if it is still running then, or is not our child (`ECHILD`). Never blocks longer.
pub fn reap_within(pid: libc::pid_t, timeout: std::time::Duration) -> Option<libc::c_int> {
    let deadline = std::time::Instant::now() + timeout;
    let mut status = 0;
    loop {
        // SAFETY: polls a child; `status` is a valid out-pointer.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return Some(status);
        }
        if rc != 0 || std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// `chattr flag path` (`+i`, `-i`, ...). Panics if it fails: the test needs root and a file
/// system with the flag (ext4).
/// In a child test (alone in its process): its files cannot grow past `bytes` (soft and hard
/// `RLIMIT_FSIZE`), and a write past that fails with `EFBIG` instead of raising `SIGXFSZ`.
#[cfg(unix)]
pub fn limit_file_size(bytes: usize) {
    let limit = libc::rlimit {
        rlim_cur: bytes as libc::rlim_t,
        rlim_max: bytes as libc::rlim_t,
    };
    // SAFETY: plain system calls; `limit` is a valid rlimit. The child test is alone in its
    // process, so the limit and the ignored signal touch no other test.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
    }
}

#[cfg(unix)]
pub fn chattr(flag: &str, path: &Path) {
    let out = output_of(std::process::Command::new("chattr").arg(flag).arg(path))
        .expect("run chattr (e2fsprogs)");
    assert!(
        out.status.success(),
        "chattr {} {}: {} (needs root and ext4)",
        flag,
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `cmd.output()`, bounded: stdin is null, stdout and stderr are captured in files (never a
/// pipe that a grandchild could keep open), and a command still running after
/// [`CHILD_TIMEOUT`] is killed and fails the test. Errors are those of `spawn`.
pub fn output_of(cmd: &mut std::process::Command) -> std::io::Result<std::process::Output> {
    output_with_stdout(cmd, None)
}

/// [`output_of`], with stdout going to `stdout` when given (the output's `stdout` is then
/// empty).
pub fn output_with_stdout(
    cmd: &mut std::process::Command,
    stdout: Option<std::fs::File>,
) -> std::io::Result<std::process::Output> {
    let scratch = Scratch::new();
    let (out, err) = (scratch.path().join("stdout"), scratch.path().join("stderr"));
    let stdout = match stdout {
        Some(file) => file,
        None => std::fs::File::create(&out)?,
    };
    let mut child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(std::fs::File::create(&err)?)
        .spawn()?;
    let status = wait_within(&mut child);
    Ok(std::process::Output {
        status,
        stdout: std::fs::read(&out).unwrap_or_default(),
        stderr: std::fs::read(&err)?,
    })
}

/// Waits for `child` at most [`CHILD_TIMEOUT`]; kills it and fails the test after that.
pub fn wait_within(child: &mut std::process::Child) -> std::process::ExitStatus {
    if let Some(status) = try_wait_for(child, CHILD_TIMEOUT) {
        return status;
    }
    kill_within(child);
    panic!(
        "child {} still running after {:?}: killed",
        child.id(),
        CHILD_TIMEOUT
    );
}

/// Kills `child` (`SIGKILL`; `TerminateProcess` on Windows) and waits for it at most
/// [`KILL_TIMEOUT`]; returns its status. A child that does not end in that time fails the test.
pub fn kill_within(child: &mut std::process::Child) -> std::process::ExitStatus {
    // An error here only says that the child has already ended (and is not reaped yet).
    let _ = child.kill();
    try_wait_for(child, KILL_TIMEOUT).unwrap_or_else(|| {
        panic!(
            "child {} still running {:?} after it was killed",
            child.id(),
            KILL_TIMEOUT
        )
    })
}

/// `child`'s status once it has ended, polling for at most `timeout`; `None` if it is still
/// running then.
pub fn try_wait_for(
    child: &mut std::process::Child,
    timeout: std::time::Duration,
) -> Option<std::process::ExitStatus> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status);
        }
        if std::time::Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(unix)]
/// Kills the process `pid` (`SIGKILL`) if the returned guard is still alive after
/// [`CHILD_TIMEOUT`]: a test reading a child's pipe or terminal then sees the end of it and
/// fails, instead of hanging. Drop the guard once the child was waited for.
pub fn watchdog(pid: u32) -> Watchdog {
    let state = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
    let seen = std::sync::Arc::clone(&state);
    let thread = std::thread::spawn(move || {
        let (done, wake) = &*seen;
        let guard = done.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, timeout) = wake
            .wait_timeout_while(guard, CHILD_TIMEOUT, |done| !*done)
            .unwrap_or_else(|p| p.into_inner());
        if timeout.timed_out() && !*guard {
            eprintln!(
                "child {} still running after {:?}: killed",
                pid, CHILD_TIMEOUT
            );
            // SAFETY: kill has no memory-safety preconditions; the child is not reaped yet.
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
    });
    Watchdog {
        state,
        thread: Some(thread),
    }
}

/// See [`watchdog`].
#[cfg(unix)]
pub struct Watchdog {
    state: std::sync::Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

#[cfg(unix)]
impl Drop for Watchdog {
    fn drop(&mut self) {
        let (done, wake) = &*self.state;
        *done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        wake.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(unix)]
/// A new pseudo-terminal: its master and its slave side.
pub fn openpty() -> (std::os::unix::io::OwnedFd, std::os::unix::io::OwnedFd) {
    use std::os::unix::io::FromRawFd;
    let (mut m, mut s) = (-1, -1);
    // SAFETY: openpty writes two descriptors into the given integers; the other arguments
    // may be null.
    let rc = unsafe {
        libc::openpty(
            &mut m,
            &mut s,
            std::ptr::null_mut(),
            std::ptr::null(),
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors are fresh and owned by nobody else.
    unsafe {
        (
            std::os::unix::io::OwnedFd::from_raw_fd(m),
            std::os::unix::io::OwnedFd::from_raw_fd(s),
        )
    }
}

#[cfg(unix)]
#[allow(unused_imports)] // each test binary uses its share
pub use trace::{traced, tracee_arg};

#[cfg(unix)]
/// The trace lines of calls on a path directly inside `dir` (`"DIR/NAME"` in the arguments).
pub fn calls_in<'a>(lines: &'a [String], dir: &Path) -> Vec<&'a String> {
    let needle = format!("\"{}/", dir.display());
    lines.iter().filter(|l| l.contains(&needle)).collect()
}

/// The characters of the random part of a temporary name (Python's alphabet).
pub const ALPHABET: &str = "abcdefghijklmnopqrstuvwxyz0123456789_";

/// Checks a temporary name as CPython's `nameCheck` does: `path` is absolute, sits directly
/// in `dir`, and its file name is `prefix`, then `random_len` characters of [`ALPHABET`], then
/// `suffix`. Panics with the path on failure; returns the random part.
pub fn check_name(
    path: &Path,
    dir: &Path,
    prefix: &str,
    suffix: &str,
    random_len: usize,
) -> String {
    assert!(path.is_absolute(), "not absolute: {}", path.display());
    assert_eq!(
        path.parent(),
        Some(dir),
        "not directly in {}: {}",
        dir.display(),
        path.display()
    );
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .expect("a UTF-8 file name");
    assert!(
        name.starts_with(prefix),
        "{:?} does not start with {:?}",
        name,
        prefix
    );
    assert!(
        name.ends_with(suffix),
        "{:?} does not end with {:?}",
        name,
        suffix
    );
    assert_eq!(
        name.len(),
        prefix.len() + random_len + suffix.len(),
        "{:?}",
        name
    );
    let random = &name[prefix.len()..prefix.len() + random_len];
    assert!(
        random.chars().all(|c| ALPHABET.contains(c)),
        "{:?} has a character outside the alphabet",
        name
    );
    random.to_owned()
}

/// Takes every one-character name of [`ALPHABET`] in `dir` but `free`: in turn a file holding
/// its own name and an empty directory. A creator with `prefix("")` and `random_len(1)` can
/// then only land on `free`; [`assert_occupants_kept`] checks afterwards that nothing was
/// touched.
pub fn occupy_all_names_but(dir: &Path, free: char) {
    for (i, c) in ALPHABET.chars().filter(|&c| c != free).enumerate() {
        let path = dir.join(c.to_string());
        if i % 2 == 0 {
            std::fs::write(&path, c.to_string()).unwrap();
        } else {
            std::fs::create_dir(&path).unwrap();
        }
    }
}

/// Checks that what [`occupy_all_names_but`] put in `dir` is still there: each file with its
/// contents, each directory empty.
pub fn assert_occupants_kept(dir: &Path, free: char) {
    for (i, c) in ALPHABET.chars().filter(|&c| c != free).enumerate() {
        let path = dir.join(c.to_string());
        if i % 2 == 0 {
            assert_eq!(std::fs::read_to_string(&path).unwrap(), c.to_string());
        } else {
            assert!(path.is_dir() && list(&path).is_empty());
        }
    }
}

#[cfg(unix)]
/// For each umask of `masks`: the ignored child test `child_test` of this test binary runs in
/// a fresh process with that umask (through [`child::Child`], never a fork of the harness)
/// and makes one object in a fresh subdirectory of `scratch` (see [`umask_child`], which the
/// child test calls). Asserts that its mode is `want`, as the child sees it and, afterwards,
/// as the parent does.
pub fn assert_mode_under_umasks(scratch: &Scratch, masks: &[u32], want: u32, child_test: &str) {
    for &mask in masks {
        let dir = scratch.path().join(format!("umask-{:03o}", mask));
        std::fs::create_dir(&dir).unwrap();
        child::Child::new(child_test)
            .arg(&dir)
            .arg(format!("{:o}", mask))
            .arg(format!("{:o}", want))
            .umask(mask)
            .assert_passes();
        let names = list(&dir);
        assert_eq!(names.len(), 1, "umask {:03o}: {:?}", mask, names);
        let got = mode(&dir.join(&names[0]));
        assert!(
            got == want,
            "umask {:03o}: mode {:03o}, want {:03o}",
            mask,
            got,
            want
        );
    }
}

#[cfg(unix)]
/// The process's umask (read by setting it and setting it back at once: only for a child
/// test, which runs alone in its process).
pub fn current_umask() -> u32 {
    // SAFETY: umask has no preconditions.
    unsafe {
        let current = libc::umask(0);
        libc::umask(current);
        current as u32
    }
}

#[cfg(unix)]
/// The body of a child test run by [`assert_mode_under_umasks`]: checks that the process's
/// umask is the one the parent asked for, makes one object with `create` in the directory it
/// was given and asserts that the object's mode is the one wanted.
pub fn umask_child(create: impl Fn(&Path) -> PathBuf) {
    let args = child::child_args();
    let octal = |i: usize| {
        u32::from_str_radix(args[i].to_str().expect("an octal number"), 8).expect("octal")
    };
    let (dir, mask, want) = (&args[0], octal(1), octal(2));
    assert_eq!(current_umask(), mask, "the child's umask");
    let created = create(dir);
    let got = mode(&created);
    assert!(
        got == want,
        "umask {:03o}: mode {:03o}, want {:03o}",
        mask,
        got,
        want
    );
}

/// Builders whose `dir` is `dir` given as each path type a caller may hold: `&str`, `&String`,
/// `&Path` and `PathBuf` (`Builder::dir` takes any `AsRef<Path>`).
pub fn builders_with_dir_of_every_type(dir: &Path) -> [tempkit::Builder; 4] {
    let as_str: &str = dir.to_str().unwrap();
    let as_string: String = as_str.to_owned();
    let as_path: &Path = dir;
    [
        tempkit::Builder::new().dir(as_str).clone(),
        tempkit::Builder::new().dir(&as_string).clone(),
        tempkit::Builder::new().dir(as_path).clone(),
        tempkit::Builder::new().dir(PathBuf::from(as_str)).clone(),
    ]
}

/// Asserts that `dir` holds no entry, listing what was left behind otherwise.
pub fn assert_empty(dir: &Path) {
    let names = list(dir);
    assert!(
        names.is_empty(),
        "left behind in {}: {:?}",
        dir.display(),
        names
    );
}
