//! compat's one change to the crate's names: a forked child does not draw its parent's
//! names (tempkit's fork-safe names), while `fastrand::seed` still makes a process's names
//! reproducible (the crate's `test_reseed`).
//!
//! The forking runs in a fresh process of this test binary that never becomes the test
//! harness: before `main`, while the process has its one thread, the scenario runs and exits.
//! Forking the multi-threaded harness itself would let the child inherit locks held by
//! threads it does not have.
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The variable naming the directory a fresh process of this binary runs the scenario in.
const SCENARIO_DIR: &str = "COMPAT_TEST_FORK_SCENARIO_DIR";

#[used]
#[cfg_attr(not(target_vendor = "apple"), link_section = ".init_array")]
#[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
static SCENARIO: extern "C" fn() = scenario;

/// Draws `n` names with the crate's loop (`Builder::make_in` creating nothing).
fn names(dir: &Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let named = tempfile::Builder::new()
                .make_in(dir, |path| Ok(path.to_owned()))
                .expect("make_in");
            let name = named
                .path()
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            // Nothing was created: the TempPath's removal fails silently, as in the crate.
            drop(named);
            name
        })
        .collect()
}

/// Waits (bounded) for `pid`; whether it exited with status 0.
fn wait_child(pid: libc::pid_t) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on our own child, with a valid pointer to an int.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
        }
        assert!(rc == 0, "waitpid: {}", std::io::Error::last_os_error());
        if Instant::now() > deadline {
            // SAFETY: kill of our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the forked child did not end within 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Seeds fastrand, draws 3 names, forks: the child and the parent each draw 3 more (to
/// `child` and `parent`); then the parent reseeds with the same seed and draws 6 (`again`).
extern "C" fn scenario() {
    let Some(dir) = std::env::var_os(SCENARIO_DIR) else {
        return;
    };
    let dir = PathBuf::from(dir);
    let ran = std::panic::catch_unwind(|| {
        fastrand::seed(42);
        let mut first = names(&dir, 3);
        // SAFETY: this process has one thread (before `main`, none started): the child may
        // run any code, and ends with `_exit`.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            let ok = std::fs::write(dir.join("child"), names(&dir, 3).join("\n")).is_ok();
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        assert!(wait_child(pid), "the child failed");
        std::fs::write(dir.join("parent"), names(&dir, 3).join("\n")).unwrap();
        fastrand::seed(42);
        let again = names(&dir, 6);
        first.extend(
            std::fs::read_to_string(dir.join("parent"))
                .unwrap()
                .lines()
                .map(String::from),
        );
        assert_eq!(
            again, first,
            "fastrand::seed no longer reproduces the names"
        );
    });
    std::process::exit(if ran.is_ok() { 0 } else { 1 });
}

#[test]
fn a_forked_child_does_not_draw_its_parents_names() {
    let dir = tempfile::tempdir().unwrap();
    let mut process = std::process::Command::new(std::env::current_exe().unwrap())
        .env(SCENARIO_DIR, dir.path())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = process.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = process.kill();
            panic!("the scenario did not end within 120 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    assert!(status.success(), "the scenario failed: see its panic above");
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let (parent, child) = (read("parent"), read("child"));
    assert_eq!(parent.lines().count(), 3);
    assert_eq!(child.lines().count(), 3);
    for name in child.lines() {
        assert!(
            !parent.lines().any(|p| p == name),
            "the child drew its parent's name {}\nparent:\n{}\nchild:\n{}",
            name,
            parent,
            child
        );
    }
}
