//! `Builder::protect` against the real systemd-tmpfiles: a protected directory with 40-day-old
//! timestamps survives `systemd-tmpfiles --clean`, an unprotected one is removed (the
//! control), and once the owner is gone (even by SIGKILL, even with a command it started still
//! running) the protected one is removed too. Also: what protect costs in system calls, and
//! that with the options off a directory is still exactly `mkdir` + `rmdir`.

#![cfg(unix)] // flock, extended attributes, /proc: Unix features (tests/windows.rs checks the no-ops)

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::child::{child_args, Child};
use common::Scratch;

const TMPFILES: &str = "systemd-tmpfiles";

/// `systemd-tmpfiles --clean` with a private configuration that ages everything in `dir`
/// older than a day, by access and modification times of files and directories.
fn clean(dir: &Path, conf: &Path) {
    std::fs::write(conf, format!("e {} - - - amAM:1d\n", dir.display())).unwrap();
    let out = common::output_of(Command::new(TMPFILES).arg("--clean").arg(conf))
        .expect("run systemd-tmpfiles");
    assert!(
        out.status.success(),
        "systemd-tmpfiles failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Makes `paths` (and what is inside the directories among them) 40 days old.
fn age(paths: &[&Path]) {
    for path in paths {
        let mut all: Vec<PathBuf> = Vec::new();
        if path.is_dir() {
            for e in std::fs::read_dir(path).unwrap() {
                all.push(e.unwrap().path());
            }
        }
        all.push(path.to_path_buf());
        let ok = common::output_of(
            Command::new("touch")
                .args(["-h", "-d", "40 days ago"])
                .args(&all),
        )
        .unwrap()
        .status;
        assert!(ok.success());
    }
}

/// Waits (at most 10 s) until `path` exists; fails at once if `owner`, our child that is to
/// make it, has ended (showing what it printed, in `output`).
fn wait_for(path: &Path, owner: &mut std::process::Child, output: &Path) {
    let start = Instant::now();
    while !path.exists() {
        if let Some(status) = owner.try_wait().expect("try_wait") {
            panic!(
                "the owner ended ({}) before it recorded its directory:\n{}",
                status,
                std::fs::read_to_string(output).unwrap_or_default()
            );
        }
        assert!(start.elapsed() < Duration::from_secs(10), "timed out");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Processes killed (and our children reaped) when the test ends, also when it fails.
struct KillOnDrop(Vec<i32>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        for &pid in &self.0 {
            // SAFETY: kill has no memory-safety preconditions.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        for &pid in &self.0 {
            // Bounded, and silent (this may run while a failed test unwinds); a pid that is not
            // our child (the sleeper) answers ECHILD at once.
            common::reap_within(pid, common::KILL_TIMEOUT);
        }
    }
}

/// The variables through which [`spawn_owner`] tells [`child_owner`] where to work.
const OWNER_PARENT: &str = "TEMPKIT_TEST_OWNER_PARENT";
const OWNER_RECORD: &str = "TEMPKIT_TEST_OWNER_RECORD";

/// An owner in a fresh process (the ignored test [`child_owner`] of this binary): creates a
/// protected directory with a file in `parent`, starts `sleep 60` (which must not inherit the
/// lock), records both, and waits to be killed. Returns the owner's pid (our child, reaped by
/// the caller), the directory and the sleeper's pid.
fn spawn_owner(parent: &Path, record: &Path) -> (i32, PathBuf, u32) {
    let output = record.with_extension("out");
    let out = std::fs::File::create(&output).expect("create the owner's output");
    let err = out.try_clone().expect("clone the owner's output");
    let mut owner = Command::new(std::env::current_exe().expect("current test binary"))
        .args([
            "child_owner",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(OWNER_PARENT, parent)
        .env(OWNER_RECORD, record)
        .env_remove("TEMPKIT_KEEP")
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start the owner");
    let pid = owner.id() as i32;
    let mut killer = KillOnDrop(vec![pid]);
    wait_for(record, &mut owner, &output);
    // From here the caller kills and reaps it, by pid.
    killer.0.clear();
    let text = std::fs::read_to_string(record).unwrap();
    let mut lines = text.lines();
    let dir = PathBuf::from(lines.next().unwrap());
    let sleeper = lines.next().unwrap().parse().unwrap();
    (pid, dir, sleeper)
}

/// The owner [`spawn_owner`] starts: alone in its process, killed by its parent.
#[test]
#[ignore]
fn child_owner() {
    let parent = PathBuf::from(std::env::var_os(OWNER_PARENT).expect("run by spawn_owner"));
    let record = PathBuf::from(std::env::var_os(OWNER_RECORD).expect("run by spawn_owner"));
    let dir = tempkit::Builder::new()
        .dir(&parent)
        .protect(true)
        .temporary_directory()
        .unwrap();
    assert!(dir.is_protected());
    std::fs::write(dir.path().join("work"), b"in progress").unwrap();
    #[allow(clippy::zombie_processes)] // the owner is killed; init reaps the sleeper
    let sleeper = Command::new("sleep").arg("60").spawn().unwrap();
    let text = format!("{}\n{}\n", dir.path().display(), sleeper.id());
    std::fs::write(record.with_extension("tmp"), text).unwrap();
    std::fs::rename(record.with_extension("tmp"), &record).unwrap();
    // Waits to be killed; bounded, should the parent be gone.
    std::thread::sleep(common::CHILD_TIMEOUT);
    panic!("the owner was never killed");
}

/// The flock lines of /proc/locks that name `dir`'s inode.
fn locks_on(dir: &Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(dir).unwrap().ino();
    std::fs::read_to_string("/proc/locks")
        .unwrap()
        .lines()
        .filter(|l| l.contains("FLOCK") && l.contains(&format!(":{} ", ino)))
        .count()
}

#[test]
fn a_protected_directory_survives_systemd_tmpfiles_until_its_owner_dies() {
    // .ci/run installs it (Debian's systemd package).
    if !common::need::program(TMPFILES, "--version") {
        return;
    }
    let scratch = Scratch::new();
    let parent = scratch.path().join("tmp");
    std::fs::create_dir(&parent).unwrap();
    let conf = scratch.path().join("tempkit-test.conf");
    let (owner, protected, sleeper) = spawn_owner(&parent, &scratch.path().join("record"));
    let mut cleanup = KillOnDrop(vec![owner, sleeper as i32]);
    let plain = tempkit::Builder::new()
        .dir(&parent)
        .temporary_directory()
        .unwrap();
    assert!(!plain.is_protected());
    std::fs::write(plain.path().join("work"), b"in progress").unwrap();
    assert_eq!(locks_on(&protected), 1);

    age(&[&protected, plain.path()]);
    clean(&parent, &conf);
    assert_eq!(
        std::fs::read(protected.join("work")).unwrap(),
        b"in progress",
        "the protected directory lost its contents"
    );
    assert!(
        !plain.path().exists(),
        "the control: unprotected, it is removed"
    );

    // The owner dies by SIGKILL; the command it started lives on, without the lock.
    common::kill_child(owner);
    cleanup.0.retain(|&pid| pid != owner);
    assert!(Path::new(&format!("/proc/{}", sleeper)).exists());
    assert_eq!(locks_on(&protected), 0, "the command inherited the lock");
    age(&[&protected]);
    clean(&parent, &conf);
    assert!(!protected.exists(), "the dead owner's directory stays");
}

#[test]
fn a_protected_directory_is_checked_by_identity_before_removal() {
    let scratch = Scratch::new();
    let mut dir = tempkit::Builder::new()
        .dir(scratch.path())
        .protect(true)
        .temporary_directory()
        .unwrap();
    // Someone moves it away and puts another directory at its name: that one is not ours.
    let moved = scratch.path().join("moved");
    std::fs::rename(dir.path(), &moved).unwrap();
    std::fs::create_dir(dir.path()).unwrap();
    std::fs::write(dir.path().join("theirs"), b"keep").unwrap();
    let err = dir.cleanup().unwrap_err();
    assert!(err.to_string().contains("no longer refers"), "{}", err);
    assert_eq!(std::fs::read(dir.path().join("theirs")).unwrap(), b"keep");
    drop(dir);
    assert!(scratch.path().join("moved").exists());
}

#[test]
fn without_descriptors_creation_succeeds_unprotected_and_the_hook_is_told() {
    let scratch = Scratch::new();
    Child::new("child_creates_without_descriptors")
        .arg(scratch.path())
        .assert_passes();
    common::assert_empty(scratch.path());
}

#[test]
#[ignore]
fn child_creates_without_descriptors() {
    let dir = child_args()[0].clone();
    // Only the descriptors already open: the lock's descriptor cannot be opened.
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 1024,
    };
    // SAFETY: plain system call; this child test is alone in its process.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    // The hook hears of it once, at creation (this process's hook: the parent's is untouched).
    static SEEN: std::sync::Mutex<Vec<(PathBuf, bool, String)>> = std::sync::Mutex::new(Vec::new());
    tempkit::set_cleanup_error_hook(Box::new(|e| {
        SEEN.lock()
            .unwrap()
            .push((e.path().to_path_buf(), e.is_unprotected(), e.to_string()))
    }));
    let made = tempkit::Builder::new()
        .dir(&dir)
        .protect(true)
        .reapable(true)
        .temporary_directory()
        .unwrap();
    let seen = SEEN.lock().unwrap().clone();
    let quiet = tempkit::Builder::new()
        .dir(&dir)
        .protect(true)
        .ignore_cleanup_errors(true)
        .temporary_directory()
        .unwrap();
    let after_quiet = SEEN.lock().unwrap().len();
    assert!(!made.is_protected());
    assert!(!made.is_reapable());
    assert!(made.path().is_dir());
    assert!(!quiet.is_protected());
    assert_eq!(seen.len(), 1, "{:?}", seen);
    assert_eq!(seen[0].0, made.path());
    assert!(seen[0].1, "{:?}", seen);
    assert!(seen[0].2.contains("could not be protected"), "{:?}", seen);
    assert_eq!(after_quiet, 1);
}

/// In the traced re-run: one directory with the options named by the given directory's
/// name, created and dropped in it, between two marks (failed `stat`s of `start-mark` and
/// `end-mark`). One such directory is created and dropped before, so that what a process
/// does once (seeding the name generator) is not counted.
fn traced_body(dir: &Path) {
    let options = dir.file_name().unwrap().to_string_lossy().into_owned();
    let create = || {
        tempkit::Builder::new()
            .dir(dir)
            .protect(options.contains("protect"))
            .reapable(options.contains("reapable"))
            .temporary_directory()
            .unwrap()
    };
    drop(create());
    let _ = std::fs::symlink_metadata(dir.join("start-mark"));
    let d = create();
    drop(d);
    let _ = std::fs::symlink_metadata(dir.join("end-mark"));
}

/// Every system call the test's thread makes between the marks of [`traced_body`], in order:
/// (kind, the whole line). The kind is the call's name, but `open` for `open`/`openat` and
/// `stat` for the `stat` family (which one is used depends on the architecture). Left out:
/// `fcntl(F_GETFD)`, which std's debug builds make before closing a descriptor they own (a
/// check of theirs, absent from release builds).
fn calls_for(options: &str) -> Vec<(&'static str, String)> {
    let scratch = Scratch::new();
    let dir = scratch.path().join(format!("options-{}", options));
    std::fs::create_dir(&dir).unwrap();
    let trace = common::trace::rerun_passing(TRACED, &["-e", "trace=all"], &dir);
    let calls = common::trace::calls(&trace);
    let start = calls
        .iter()
        .position(|c| c.line.contains("start-mark"))
        .expect("the start mark");
    let end = calls
        .iter()
        .position(|c| c.line.contains("end-mark"))
        .expect("the end mark");
    let thread = calls[start].pid;
    calls[start + 1..end]
        .iter()
        .filter(|c| c.pid == thread)
        .filter(|c| !(c.name == "fcntl" && c.line.contains("F_GETFD")))
        .map(|c| {
            let kind = match c.name.as_str() {
                "open" | "openat" => "open",
                "stat" | "lstat" | "fstat" | "newfstatat" | "fstatat64" | "statx" => "stat",
                "mkdir" | "mkdirat" => "mkdir",
                "rmdir" => "rmdir",
                "flock" => "flock",
                "fsetxattr" => "fsetxattr",
                "close" => "close",
                _ => "other",
            };
            (kind, c.line.clone())
        })
        .collect()
}

/// The kinds of `calls`, in order.
fn kinds(calls: &[(&'static str, String)]) -> Vec<&'static str> {
    calls.iter().map(|(kind, _)| *kind).collect()
}

const TRACED: &str = "options_off_is_mkdir_and_rmdir_and_protect_adds_four_calls";

#[test]
fn options_off_is_mkdir_and_rmdir_and_protect_adds_four_calls() {
    // Every call of one directory's life, counted exactly: with the options off, mkdir and
    // rmdir alone; protect adds four between them (open, fstat, a shared non-blocking flock
    // at creation, the lstat of the identity check before removal) and the close of its
    // descriptor after the rmdir; reapable adds the tag (fsetxattr) on that descriptor.
    if let Some(dir) = common::tracee_arg() {
        traced_body(&dir);
        return;
    }
    if !common::need::strace() {
        return;
    }
    let off = calls_for("");
    assert_eq!(kinds(&off), ["mkdir", "rmdir"], "{:#?}", off);
    let protect = calls_for("protect");
    assert_eq!(
        kinds(&protect),
        ["mkdir", "open", "stat", "flock", "stat", "rmdir", "close"],
        "{:#?}",
        protect
    );
    // A shared lock (systemd-tmpfiles takes an exclusive one before it removes anything),
    // never waiting for one held by another.
    let flock = &protect[3].1;
    assert!(
        flock.contains("LOCK_SH") && flock.contains("LOCK_NB") && !flock.contains("LOCK_EX"),
        "{}",
        flock
    );
    let both = calls_for("protect,reapable");
    assert_eq!(
        kinds(&both),
        [
            "mkdir",
            "open",
            "stat",
            "flock",
            "fsetxattr",
            "stat",
            "rmdir",
            "close"
        ],
        "{:#?}",
        both
    );
    assert!(both[3].1.contains("LOCK_SH"), "{}", both[3].1);
}
