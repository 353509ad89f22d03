//! The cleanup-error hook: what `Drop` cannot remove is reported, never swallowed, never a
//! panic. Removal fails for real: as root, a file made immutable with `chattr +i` (ext4, as
//! `/tmp` is here and in CI); as the unprivileged user, an entry owned by root. The hook is
//! process-wide, so each case runs in a child test (this binary again, see `common::child`);
//! the parent clears the immutable flags and removes what is left.

#![cfg(unix)] // chattr +i and a root-owned entry: Linux (tests/windows.rs makes removal fail with a file held open)

mod common;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use common::child::{child_arg, run_child, Child};
use common::{chattr, is_root, Scratch, NOBODY};

/// What the recording hook saw: path, error kind, is_dir, while_panicking, Display.
type Seen = (PathBuf, io::ErrorKind, bool, bool, String);

static SEEN: Mutex<Vec<Seen>> = Mutex::new(Vec::new());

/// A hook that records what it sees in [`SEEN`].
fn record(e: &tempkit::CleanupError) {
    SEEN.lock().unwrap().push((
        e.path().to_owned(),
        e.error().kind(),
        e.is_dir(),
        e.while_panicking(),
        e.to_string(),
    ))
}

fn record_hook() {
    tempkit::set_cleanup_error_hook(Box::new(record));
}

fn seen() -> Vec<Seen> {
    std::mem::take(&mut *SEEN.lock().unwrap())
}

/// A scratch directory whose immutable flags are cleared before it is removed.
struct ImmutableScratch(Scratch);

impl ImmutableScratch {
    fn new() -> ImmutableScratch {
        assert!(is_root(), "chattr +i needs root (CI runs as root)");
        ImmutableScratch(Scratch::new())
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for ImmutableScratch {
    fn drop(&mut self) {
        let _ = common::output_of(
            Command::new("chattr")
                .arg("-R")
                .arg("-i")
                .arg(self.0.path()),
        );
    }
}

/// A directory in the child's directory holding an immutable file `f`.
fn dir_that_cannot_be_removed(b: &mut tempkit::Builder) -> tempkit::TemporaryDirectory {
    let dir = b.dir(child_arg()).temporary_directory().unwrap();
    let f = dir.path().join("f");
    std::fs::write(&f, "stuck").unwrap();
    chattr("+i", &f);
    dir
}

/// A named file in the child's directory that is immutable itself.
fn file_that_cannot_be_removed(b: &mut tempkit::Builder) -> tempkit::NamedTemporaryFile {
    let mut file = b.dir(child_arg()).named_temporary_file().unwrap();
    file.write_all(b"stuck").unwrap();
    chattr("+i", file.path());
    file
}

#[test]
#[ignore = "a child test: run by its parent test"]
fn child_hook_sees_what_drop_could_not_remove() {
    record_hook();
    // The explicit exits return their errors and do not call the hook.
    let mut explicit = dir_that_cannot_be_removed(tempkit::Builder::new().prefix("explicit-"));
    let err = explicit.cleanup().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{}", err);
    assert!(seen().is_empty());
    // ignore_cleanup_errors(true): nothing reported, from cleanup() or from drop.
    let mut ignored = dir_that_cannot_be_removed(
        tempkit::Builder::new()
            .prefix("ignored-")
            .ignore_cleanup_errors(true),
    );
    ignored.cleanup().unwrap();
    drop(ignored);
    drop(file_that_cannot_be_removed(
        tempkit::Builder::new()
            .prefix("ignored-file-")
            .ignore_cleanup_errors(true),
    ));
    assert!(seen().is_empty());

    let dir = dir_that_cannot_be_removed(tempkit::Builder::new().prefix("dir-"));
    let dir_path = dir.path().to_owned();
    drop(dir);
    let file = file_that_cannot_be_removed(tempkit::Builder::new().prefix("file-"));
    let file_path = file.path().to_owned();
    drop(file);
    let seen = seen();
    assert_eq!(seen.len(), 2, "{:?}", seen);
    let (path, kind, is_dir, panicking, text) = &seen[0];
    assert_eq!(path, &dir_path);
    assert_eq!(*kind, io::ErrorKind::PermissionDenied);
    assert!(*is_dir && !*panicking);
    assert!(
        text.contains(&format!("`{}/f`", dir_path.display())),
        "names the entry: {}",
        text
    );
    let (path, kind, is_dir, panicking, _) = &seen[1];
    assert_eq!(path, &file_path);
    assert_eq!(*kind, io::ErrorKind::PermissionDenied);
    assert!(!*is_dir && !*panicking);
    drop(explicit);
}

#[test]
fn the_hook_gets_the_path_and_error_of_what_drop_could_not_remove() {
    let scratch = ImmutableScratch::new();
    let run = run_child(
        "child_hook_sees_what_drop_could_not_remove",
        scratch.path(),
        &[],
    );
    assert!(run.passed(), "{}", run.output);
    // What could not be removed is still there (the hook reports, it does not hide).
    let left = common::list(scratch.path());
    assert_eq!(left.len(), 5, "{:?}", left);
}

/// The hook panics: in a plain drop, and in a drop caused by a panic in another thread.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_panicking_hook() {
    // The name of the thread each call of the hook ran on.
    static HOOK_THREADS: Mutex<Vec<Option<String>>> = Mutex::new(Vec::new());
    tempkit::set_cleanup_error_hook(Box::new(|e| {
        record(e);
        let name = std::thread::current().name().map(str::to_owned);
        HOOK_THREADS.lock().unwrap().push(name);
        panic!("the hook panics");
    }));
    drop(dir_that_cannot_be_removed(&mut tempkit::Builder::new()));
    let unwinding = std::thread::Builder::new()
        .name("unwinding".into())
        .spawn(|| {
            let _dir = dir_that_cannot_be_removed(&mut tempkit::Builder::new());
            panic!("the thread panics");
        })
        .unwrap();
    assert!(unwinding.join().is_err());
    let seen = seen();
    assert_eq!(seen.len(), 2, "{:?}", seen);
    assert!(!seen[0].3, "the first drop was not unwinding");
    assert!(seen[1].3, "the second drop was unwinding");
    // Before Rust 1.71 a second panic on an unwinding thread aborts even under
    // `catch_unwind`: the hook of an unwinding drop must run on a thread of its own.
    let threads = HOOK_THREADS.lock().unwrap().clone();
    let this = std::thread::current().name().map(str::to_owned);
    assert_eq!(
        threads[0], this,
        "a plain drop calls the hook on its own thread"
    );
    assert_ne!(threads[1].as_deref(), Some("unwinding"), "{:?}", threads);
    println!("survived both drops");
}

#[test]
fn a_panicking_hook_never_makes_drop_panic_or_abort() {
    let scratch = ImmutableScratch::new();
    let run = run_child("child_panicking_hook", scratch.path(), &[]);
    assert!(run.passed(), "{:?}\n{}", run.status, run.output);
    assert!(run.output.contains("survived both drops"), "{}", run.output);
    assert_eq!(
        run.lines_with("the hook panics").len(),
        2,
        "both panics were reported as panics:\n{}",
        run.output
    );
}

/// No hook set: the default one prints.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_default_hook() {
    let dir = dir_that_cannot_be_removed(&mut tempkit::Builder::new());
    println!("dir: {}", dir.path().display());
    drop(dir);
    drop(dir_that_cannot_be_removed(
        tempkit::Builder::new().ignore_cleanup_errors(true),
    ));
    let mut explicit = dir_that_cannot_be_removed(&mut tempkit::Builder::new());
    assert!(explicit.cleanup().is_err());
    explicit.keep_if(true); // kept, so its drop does not report either
}

#[test]
fn the_default_hook_prints_one_line_and_ignore_cleanup_errors_is_silent() {
    let scratch = ImmutableScratch::new();
    let run = run_child("child_default_hook", scratch.path(), &[]);
    assert!(run.passed(), "{}", run.output);
    let dir = run.lines_with("dir: ")[0]
        .trim_start_matches("dir: ")
        .to_owned();
    let want = format!(
        "tempkit: temporary directory `{}` was not removed on drop: failed to remove `{}/f`: ",
        dir, dir
    );
    // The report goes straight to the process's stderr (not captured), maybe on the line
    // where libtest wrote `test NAME ... `: read from its marker on.
    let lines: Vec<&str> = run
        .lines_with("tempkit: ")
        .into_iter()
        .map(from_marker)
        .collect();
    assert_eq!(lines.len(), 2, "{}", run.output); // the report, and the kept line
    assert!(lines[0].starts_with(&want), "{:?}\n{}", lines[0], want);
    assert!(lines[0].ends_with("Operation not permitted (os error 1)"));
    assert!(lines[1].starts_with("tempkit: kept "), "{}", lines[1]);
}

/// `line` from its `tempkit: ` on.
fn from_marker(line: &str) -> &str {
    &line[line.find("tempkit: ").unwrap()..]
}

/// As the unprivileged user: the directory holds `sub/f`, owned by root (planted before the
/// child gives up root), which nobody else may remove.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_unprivileged_root_owned_entry() {
    record_hook();
    let dir = tempkit::Builder::new()
        .dir(child_arg())
        .temporary_directory()
        .unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::write(sub.join("f"), "root's").unwrap();
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
    // SAFETY: plain system calls; the process is this child test alone.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0, "setgroups");
        assert_eq!(libc::setgid(NOBODY), 0, "setgid");
        assert_eq!(libc::setuid(NOBODY), 0, "setuid");
    }
    let path = dir.path().to_owned();
    drop(dir);
    let seen = seen();
    assert_eq!(seen.len(), 1, "{:?}", seen);
    assert_eq!(seen[0].0, path);
    assert_eq!(seen[0].1, io::ErrorKind::PermissionDenied, "{:?}", seen);
    assert!(seen[0].2);
    assert!(seen[0].4.contains("/sub"), "{}", seen[0].4);
}

#[test]
fn the_hook_reports_a_root_owned_entry_the_unprivileged_owner_cannot_remove() {
    assert!(is_root(), "needs root to plant the entry (CI runs as root)");
    let scratch = Scratch::for_nobody();
    let run = run_child("child_unprivileged_root_owned_entry", scratch.path(), &[]);
    assert!(run.passed(), "{}", run.output);
    let left = scratch.names();
    assert_eq!(left.len(), 1, "{:?}", left);
    let sub = scratch.path().join(&left[0]).join("sub");
    assert_eq!(std::fs::read_to_string(sub.join("f")).unwrap(), "root's");
}

/// The thread that panics holds std's stderr lock (`std::io::stderr().lock()`) while a
/// directory that cannot be removed is dropped by the unwinding: the default hook, on a
/// thread of its own, must not wait for that lock, which is released only after the drop.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_default_hook_while_the_panicking_thread_holds_stderr() {
    let panicking = std::thread::spawn(|| {
        let _stderr = io::stderr().lock();
        // Dropped before the lock (declared after it), while unwinding.
        let dir = dir_that_cannot_be_removed(&mut tempkit::Builder::new());
        println!("dir: {}", dir.path().display());
        panic!("the thread panics holding stderr's lock");
    });
    assert!(panicking.join().is_err());
    println!("the unwinding drop returned");
}

#[test]
fn the_default_hook_never_waits_for_stderrs_lock_held_by_the_panicking_thread() {
    let scratch = ImmutableScratch::new();
    // `nocapture`: libtest's output capture, which the hook's thread inherits, would take
    // `eprintln!` away from the real stderr and its lock. Seconds when it works; forever when
    // the hook waits for the lock (then the child is killed and this test fails).
    let limit = std::time::Duration::from_secs(30);
    let run = Child::new("child_default_hook_while_the_panicking_thread_holds_stderr")
        .arg(scratch.path())
        .nocapture()
        .timeout(limit)
        .assert_passes();
    let output = &run.output;
    assert!(output.contains("the unwinding drop returned"), "{}", output);
    let dir = output
        .lines()
        .find_map(|l| l.split_once("dir: ").map(|(_, dir)| dir))
        .unwrap_or_else(|| panic!("{}", output));
    let want = format!(
        "tempkit: temporary directory `{}` was not removed on drop (while panicking): failed \
         to remove `{}/f`: Operation not permitted (os error 1)",
        dir, dir
    );
    let reports: Vec<&str> = output
        .lines()
        .filter(|l| l.contains("tempkit: "))
        .map(from_marker)
        .collect();
    assert_eq!(reports, [want.as_str()], "{}", output);
}
