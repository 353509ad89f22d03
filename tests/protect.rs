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

use common::Scratch;

const TMPFILES: &str = "systemd-tmpfiles";

fn tmpfiles_available() -> bool {
    common::output_of(Command::new(TMPFILES).arg("--version"))
        .map(|o| o.status.success())
        .unwrap_or(false)
}

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

/// Waits (at most 10 s) until `path` exists.
fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
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

/// A forked owner: creates a protected directory with a file in `parent`, starts `sleep 60`
/// (which must not inherit the lock), records both, and waits to be killed.
fn spawn_owner(parent: &Path, record: &Path) -> (i32, PathBuf, u32) {
    // SAFETY: fork in a test; the child only creates, spawns, records, and pauses.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let dir = tempkit::Builder::new()
            .dir(parent)
            .protect(true)
            .temporary_directory()
            .unwrap();
        assert!(dir.is_protected());
        std::fs::write(dir.path().join("work"), b"in progress").unwrap();
        #[allow(clippy::zombie_processes)] // the owner is killed; init reaps the sleeper
        let sleeper = Command::new("sleep").arg("60").spawn().unwrap();
        let text = format!("{}\n{}\n", dir.path().display(), sleeper.id());
        std::fs::write(record.with_extension("tmp"), text).unwrap();
        std::fs::rename(record.with_extension("tmp"), record).unwrap();
        loop {
            // SAFETY: waits for a signal; the parent kills us.
            unsafe { libc::pause() };
        }
    }
    wait_for(record);
    let text = std::fs::read_to_string(record).unwrap();
    let mut lines = text.lines();
    let dir = PathBuf::from(lines.next().unwrap());
    let sleeper = lines.next().unwrap().parse().unwrap();
    (pid, dir, sleeper)
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
    if !tmpfiles_available() {
        panic!("systemd-tmpfiles is missing (.ci/run installs Debian's systemd package)");
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
    let ok = common::in_child(
        || {
            // Only the descriptors already open: the lock's descriptor cannot be opened.
            let limit = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 1024,
            };
            // SAFETY: plain system call in the child.
            assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
        },
        || {
            // The hook hears of it once, at creation (the child's hook: process-wide state
            // stays in the child).
            static SEEN: std::sync::Mutex<Vec<(PathBuf, bool, String)>> =
                std::sync::Mutex::new(Vec::new());
            tempkit::set_cleanup_error_hook(Box::new(|e| {
                SEEN.lock().unwrap().push((
                    e.path().to_path_buf(),
                    e.is_unprotected(),
                    e.to_string(),
                ))
            }));
            let dir = tempkit::Builder::new()
                .dir(scratch.path())
                .protect(true)
                .reapable(true)
                .temporary_directory()
                .unwrap();
            let seen = SEEN.lock().unwrap().clone();
            let quiet = tempkit::Builder::new()
                .dir(scratch.path())
                .protect(true)
                .ignore_cleanup_errors(true)
                .temporary_directory()
                .unwrap();
            let after_quiet = SEEN.lock().unwrap().len();
            !dir.is_protected()
                && !dir.is_reapable()
                && dir.path().is_dir()
                && !quiet.is_protected()
                && seen.len() == 1
                && seen[0].0 == dir.path()
                && seen[0].1
                && seen[0].2.contains("could not be protected")
                && after_quiet == 1
        },
    );
    assert!(ok);
    common::assert_empty(scratch.path());
}

/// The traced body: one directory with the options named by the given directory's name,
/// created and dropped in it.
#[test]
fn traced_directory() {
    let Some(dir) = common::tracee_arg() else {
        return;
    };
    let options = dir.file_name().unwrap().to_string_lossy().into_owned();
    let d = tempkit::Builder::new()
        .dir(&dir)
        .protect(options.contains("protect"))
        .reapable(options.contains("reapable"))
        .temporary_directory()
        .unwrap();
    drop(d);
}

/// The system calls on the directory's path or its descriptor, by name, in order.
fn calls_for(options: &str) -> Vec<String> {
    let scratch = Scratch::new();
    let dir = scratch.path().join(format!("options-{}", options));
    std::fs::create_dir(&dir).unwrap();
    let (ok, lines) = common::traced(
        "traced_directory",
        "mkdir,rmdir,open,openat,flock,fstat,newfstatat,statx,lstat,fsetxattr,close",
        &dir,
    );
    assert!(ok);
    // From the mkdir of the directory to its rmdir.
    let start = lines
        .iter()
        .position(|l| l.contains("mkdir(") && l.contains(&*dir.to_string_lossy()))
        .expect("the mkdir");
    let end = lines
        .iter()
        .rposition(|l| l.contains("rmdir("))
        .expect("the rmdir");
    lines[start..=end]
        .iter()
        .filter_map(|l| {
            let l = l.split_once(' ').map_or(l.as_str(), |(_, rest)| rest);
            l.split('(').next().map(|name| name.trim().to_owned())
        })
        .collect()
}

#[test]
fn options_off_is_mkdir_and_rmdir_and_protect_adds_four_calls() {
    assert_eq!(calls_for(""), ["mkdir", "rmdir"]);
    let protect = calls_for("protect");
    assert_eq!(protect[0], "mkdir");
    assert_eq!(protect.last().unwrap(), "rmdir");
    assert!(protect.contains(&"flock".to_string()), "{:?}", protect);
    assert_eq!(protect.len(), 6, "{:?}", protect);
    let both = calls_for("protect,reapable");
    assert!(both.contains(&"fsetxattr".to_string()), "{:?}", both);
}
