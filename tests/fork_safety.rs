//! Why no test forks the test harness to run a test body, and why the fresh process of
//! `common::child::Child` is safe where a fork is not.
//!
//! libtest runs tests on several threads. A lock that another thread holds at the moment of
//! `fork` stays held in the child, which has no thread to release it: the child blocks forever
//! on its first attempt to take it. std's environment lock is the one that hung CI (a forked
//! child calling `std::env::remove_var`); stdout's lock and the allocator's are others. These
//! tests hold the environment lock in one thread, deterministically (the thread is parked
//! inside an allocation that `std::env::vars_os` makes while it holds the lock), and then:
//! - fork and call `set_var` in the child: the child blocks in the kernel's futex wait, and
//!   can never leave it (the old pattern, shown to hang);
//! - run a child test through `Child` with an environment, a umask and another user: it
//!   passes under the same pressure.
#![cfg(unix)]

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use common::child::{child_args, Child};

/// The system allocator, except that while [`HELD`] is set, an allocation by the thread whose
/// id is [`PARK_TID`] waits until it is cleared (after setting [`PARKED`]).
struct Gate;

static HELD: AtomicBool = AtomicBool::new(false);
static PARKED: AtomicBool = AtomicBool::new(false);
static PARK_TID: AtomicI64 = AtomicI64::new(-1);

fn gettid() -> i64 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::syscall(libc::SYS_gettid) as i64 }
}

// SAFETY: every allocation is the system allocator's; the gate only delays it, without
// allocating (atomics, gettid and usleep only).
unsafe impl GlobalAlloc for Gate {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if HELD.load(Ordering::Acquire) && gettid() == PARK_TID.load(Ordering::Acquire) {
            PARKED.store(true, Ordering::Release);
            while HELD.load(Ordering::Acquire) {
                libc::usleep(1000);
            }
        }
        System.alloc(layout)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GATE: Gate = Gate;

/// One holder of the gate at a time (both tests use it).
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `body` while another thread holds std's environment lock (parked in an allocation
/// inside `std::env::vars_os`), then lets it go.
fn with_environment_lock_held(body: impl FnOnce()) {
    let _serial = SERIAL.lock().unwrap_or_else(|p| p.into_inner());
    PARKED.store(false, Ordering::Release);
    let holder = std::thread::spawn(|| {
        PARK_TID.store(gettid(), Ordering::Release);
        HELD.store(true, Ordering::Release);
        std::env::vars_os().count()
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while !PARKED.load(Ordering::Acquire) {
        assert!(
            Instant::now() < deadline,
            "the holder thread never parked inside vars_os"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    HELD.store(false, Ordering::Release);
    let vars = holder.join().expect("the holder thread");
    assert!(vars > 0, "vars_os saw no variable");
    PARK_TID.store(-1, Ordering::Release);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// The system call a stopped process is in, from `/proc/PID/syscall` (its first field), or
/// `None` once it is running or gone.
fn syscall_of(pid: libc::pid_t) -> Option<i64> {
    let text = std::fs::read_to_string(format!("/proc/{}/syscall", pid)).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

#[test]
fn a_forked_child_blocks_forever_on_a_lock_another_thread_held() {
    with_environment_lock_held(|| {
        // SAFETY: this fork is the pattern under test: the child calls `set_var`, which is not
        // async-signal-safe, and is expected to block; it is killed below.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            std::env::set_var("TEMPKIT_FORK_SAFETY", "1");
            // SAFETY: ends the child without running the parent's destructors.
            unsafe { libc::_exit(0) };
        }
        // The child is stuck once it waits in futex(2) for the lock: no thread of the child
        // holds it, so nothing can ever wake it. It must never exit on its own.
        let deadline = Instant::now() + Duration::from_secs(30);
        let blocked = loop {
            if let Some(status) = common::reap_within(pid, Duration::from_millis(0)) {
                panic!(
                    "the forked child ended (wait status {:#x}): set_var did not block",
                    status
                );
            }
            if syscall_of(pid) == Some(libc::SYS_futex) {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let status = common::kill_child(pid);
        assert!(blocked, "the forked child never waited on the lock");
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL,
            "the child was still blocked when killed: {:#x}",
            status
        );
    });
}

#[test]
fn a_child_test_in_a_fresh_process_passes_under_the_same_pressure() {
    let scratch = common::Scratch::for_nobody();
    with_environment_lock_held(|| {
        let mut child = Child::new("child_sets_the_environment_and_creates")
            .arg(scratch.path())
            .env("TEMPKIT_FORK_SAFETY", "given")
            .umask(0o027);
        if common::is_root() {
            child = child.as_nobody();
        }
        child.assert_passes();
    });
    // What the child made is there, as the child's user.
    let names = scratch.names();
    assert_eq!(names, ["made-by-child"], "{:?}", names);
    let meta = std::fs::metadata(scratch.path().join("made-by-child")).unwrap();
    use std::os::unix::fs::MetadataExt;
    let want_uid = if common::is_root() {
        common::NOBODY
    } else {
        // SAFETY: getuid has no preconditions.
        unsafe { libc::getuid() }
    };
    assert_eq!(meta.uid(), want_uid);
    assert_eq!(meta.mode() & 0o777, 0o640, "the umask 027 applied to 0666");
}

#[test]
#[ignore]
fn child_sets_the_environment_and_creates() {
    let dir = &child_args()[0];
    assert_eq!(std::env::var("TEMPKIT_FORK_SAFETY").unwrap(), "given");
    std::env::set_var("TEMPKIT_FORK_SAFETY", "changed");
    assert_eq!(std::env::var("TEMPKIT_FORK_SAFETY").unwrap(), "changed");
    if common::is_root() {
        panic!("the child still runs as root");
    }
    std::fs::write(dir.join("made-by-child"), b"x").expect("write as the child's user");
}
