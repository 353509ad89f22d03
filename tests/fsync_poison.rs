//! A failed `fsync` is never retried into a reported success ("fsyncgate": after `EIO` the
//! kernel may have dropped the dirty pages and marked them clean, so a second `fsync` returns
//! 0 for data that never reached the disk). The object a failed durable publish hands back is
//! poisoned: every later durable publish of it fails, saying so, without another `fsync`.
//!
//! Each test re-runs itself under `strace -e inject=fsync:error=EIO:when=N` (the tracee makes
//! the first call and the caller's natural retry in the same process); the parent checks the
//! trace and what is on disk. Also: after a failed directory `fsync`, a relative destination
//! comes back absolute (the tracee changes its current directory: it is a process of its own).
#![cfg(unix)] // strace

mod common;

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use common::trace::{calls, rerun, tracee_arg, Rerun};
use common::{list, Scratch};
use tempkit::{Builder, NamedTemporaryFile, TemporaryDirectory};

const OLD: &[u8] = b"OLD-CONTENT";

/// Runs the tracee of `test` on `dir` under strace, tracing the calls of publishing and
/// failing the `when`-th `fsync` with `EIO`; asserts that the tracee passed and that the
/// injected `fsync` was the last one to fail. Panics (naming strace) if strace is missing.
fn run_with_fsync_eio(test: &str, dir: &Path, when: usize) -> Rerun {
    let inject = format!("inject=fsync:error=EIO:when={}", when);
    let run = rerun(
        test,
        &[
            "-e",
            "trace=fsync,syncfs,rename,renameat,renameat2",
            "-e",
            &inject,
        ],
        dir,
        &[],
    );
    assert!(run.ok, "the tracee of {} failed:\n{}", test, run.output);
    let injected = run
        .trace
        .lines()
        .filter(|l| l.contains("(INJECTED)"))
        .count();
    assert_eq!(injected, 1, "one fsync failed:\n{}", run.trace);
    run
}

/// How many calls named `name` the trace holds.
fn count(trace: &str, name: &str) -> usize {
    calls(trace).iter().filter(|c| c.name == name).count()
}

/// A named temporary file in `dir` holding `b"new"`.
fn new_file(dir: &Path) -> NamedTemporaryFile {
    let mut file = Builder::new().dir(dir).named_temporary_file().unwrap();
    file.write_all(b"new").unwrap();
    file
}

/// Checks that `err` refuses a durable publish of a poisoned object, keeping the kind of
/// the first failure.
fn assert_poisoned(err: &io::Error, first: io::ErrorKind) {
    let text = err.to_string();
    assert!(text.contains("poisoned"), "{}", text);
    assert!(
        text.contains("Input/output error"),
        "names the cause: {}",
        text
    );
    assert_eq!(err.kind(), first, "{}", text);
}

#[test]
fn a_named_file_whose_fsync_failed_is_poisoned_and_its_retry_fails() {
    if let Some(dir) = tracee_arg() {
        let dest = dir.join("dest");
        let err = new_file(&dir).persist_durable(&dest).unwrap_err();
        let first = err.error.kind();
        assert!(err.error.to_string().contains("fsync failed"), "{}", err);
        // Nothing was renamed; the file is handed back, still temporary.
        let file = err.file;
        assert!(file.path().exists());
        assert_eq!(std::fs::read(&dest).unwrap(), OLD);
        // The caller's natural retry: its fsync would now return 0.
        let err = file.persist_durable(&dest).unwrap_err();
        assert_poisoned(&err.error, first);
        assert_eq!(std::fs::read(&dest).unwrap(), OLD);
        // Again, and to another destination: still refused.
        let err = err.file.persist_durable(dir.join("elsewhere")).unwrap_err();
        assert_poisoned(&err.error, first);
        let path = err.file.path().to_owned();
        drop(err);
        assert!(!path.exists(), "still temporary: deleted on drop");
        return;
    }
    let scratch = Scratch::new();
    std::fs::write(scratch.path().join("dest"), OLD).unwrap();
    let test = "a_named_file_whose_fsync_failed_is_poisoned_and_its_retry_fails";
    let run = run_with_fsync_eio(test, scratch.path(), 1);
    // The retries made no fsync and renamed nothing.
    assert_eq!(count(&run.trace, "fsync"), 1, "{}", run.trace);
    assert_eq!(count(&run.trace, "rename"), 0, "{}", run.trace);
    assert_eq!(count(&run.trace, "renameat"), 0, "{}", run.trace);
    assert_eq!(std::fs::read(scratch.path().join("dest")).unwrap(), OLD);
    assert_eq!(list(scratch.path()), ["dest"]);
}

#[test]
fn a_named_file_whose_directory_fsync_failed_is_poisoned_and_its_retry_fails() {
    if let Some(dir) = tracee_arg() {
        let dest = dir.join("dest");
        let err = new_file(&dir).persist_durable(&dest).unwrap_err();
        let first = err.error.kind();
        assert!(err.error.to_string().contains("durability"), "{}", err);
        // Renamed: the object stands for the published file.
        assert_eq!(err.file.path(), dest);
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        // The retry would rename the file onto itself and sync the directory again, whose
        // fsync now returns 0: refused instead.
        let err = err.file.persist_durable(&dest).unwrap_err();
        assert_poisoned(&err.error, first);
        drop(err);
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            b"new",
            "disarmed: never deleted"
        );
        return;
    }
    let scratch = Scratch::new();
    std::fs::write(scratch.path().join("dest"), OLD).unwrap();
    let test = "a_named_file_whose_directory_fsync_failed_is_poisoned_and_its_retry_fails";
    let run = run_with_fsync_eio(test, scratch.path(), 2);
    // The file's fsync and the directory's (injected); none for the retry.
    assert_eq!(count(&run.trace, "fsync"), 2, "{}", run.trace);
    assert_eq!(count(&run.trace, "renameat"), 1, "{}", run.trace);
    assert_eq!(list(scratch.path()), ["dest"]);
}

#[test]
fn after_a_failed_directory_fsync_a_relative_destination_comes_back_absolute() {
    if let Some(dir) = tracee_arg() {
        // This process runs this test alone: changing its current directory is harmless.
        std::env::set_current_dir(&dir).unwrap();
        let cwd = std::env::current_dir().unwrap();
        let err = new_file(&dir).persist_durable("out.txt").unwrap_err();
        assert!(err.error.to_string().contains("durability"), "{}", err);
        assert!(err.file.path().is_absolute(), "{:?}", err.file.path());
        assert_eq!(err.file.path(), cwd.join("out.txt"));
        // It still names the published file from elsewhere.
        std::env::set_current_dir("/").unwrap();
        assert_eq!(std::fs::read(err.file.path()).unwrap(), b"new");
        return;
    }
    let scratch = Scratch::new();
    let test = "after_a_failed_directory_fsync_a_relative_destination_comes_back_absolute";
    run_with_fsync_eio(test, scratch.path(), 2);
    assert_eq!(list(scratch.path()), ["out.txt"]);
}

/// A tree `staged/v` (and `staged/sub/w`) in `parent`, ready to publish.
fn staged(parent: &Path) -> TemporaryDirectory {
    let dir = Builder::new().dir(parent).temporary_directory().unwrap();
    std::fs::write(dir.path().join("v"), "new").unwrap();
    dir
}

#[test]
fn a_directory_whose_tree_fsync_failed_is_poisoned_and_its_retry_fails() {
    if let Some(dir) = tracee_arg() {
        let site = dir.join("site");
        let err = staged(&dir).persist_noclobber(&site).unwrap_err();
        let first = err.error.kind();
        assert!(
            err.error.to_string().contains("nothing was moved"),
            "{}",
            err
        );
        let staged = err.dir;
        assert!(staged.path().join("v").is_file());
        let err = staged.persist_noclobber(&site).map(drop).unwrap_err();
        assert_poisoned(&err.error, first);
        let err = err.dir.replace(&site).map(drop).unwrap_err();
        assert_poisoned(&err.error, first);
        assert!(!site.exists());
        // Not durable is no claim of durability: still allowed.
        let mut staged = err.dir;
        staged.durable(false);
        let published = staged.persist_noclobber(&site).unwrap();
        assert_eq!(std::fs::read_to_string(published.join("v")).unwrap(), "new");
        return;
    }
    let scratch = Scratch::new();
    let test = "a_directory_whose_tree_fsync_failed_is_poisoned_and_its_retry_fails";
    let run = run_with_fsync_eio(test, scratch.path(), 1);
    // The tree's first fsync failed; the refused retries synced nothing more (the last,
    // not durable, publish syncs nothing either).
    assert_eq!(count(&run.trace, "fsync"), 1, "{}", run.trace);
    assert_eq!(count(&run.trace, "syncfs"), 0, "{}", run.trace);
    assert_eq!(count(&run.trace, "renameat2"), 1, "{}", run.trace);
    assert_eq!(list(scratch.path()), ["site"]);
}

#[test]
fn a_directory_whose_destination_fsync_failed_hands_back_a_poisoned_guard() {
    if let Some(dir) = tracee_arg() {
        let live = dir.join("live");
        let exchange = dir.ends_with("exchange");
        let err = if exchange {
            staged(&dir).exchange(&live).unwrap_err()
        } else {
            staged(&dir).persist_noclobber(&live).map(drop).unwrap_err()
        };
        let first = err.error.kind();
        assert!(err.error.to_string().contains("durability"), "{}", err);
        assert_eq!(std::fs::read_to_string(live.join("v")).unwrap(), "new");
        // exchange: the old tree; persist_noclobber: the published tree, disarmed. Either
        // retry would sync the destination's directory again and be told 0.
        let handed: PathBuf = err.dir.path().to_owned();
        let err = if exchange {
            err.dir.exchange(&live).unwrap_err()
        } else {
            err.dir.persist_noclobber(&live).map(drop).unwrap_err()
        };
        assert_poisoned(&err.error, first);
        assert_eq!(err.dir.path(), handed);
        assert_eq!(std::fs::read_to_string(live.join("v")).unwrap(), "new");
        drop(err);
        assert_eq!(list(&dir), ["live"]);
        return;
    }
    let test = "a_directory_whose_destination_fsync_failed_hands_back_a_poisoned_guard";
    for method in ["exchange", "noclobber"] {
        let scratch = Scratch::new();
        let dir = scratch.path().join(method);
        std::fs::create_dir(&dir).unwrap();
        if method == "exchange" {
            std::fs::create_dir(dir.join("live")).unwrap();
            std::fs::write(dir.join("live/v"), "old").unwrap();
        }
        // The tree's sync: `v`, then the temporary directory; the third is the
        // destination's directory after the rename.
        let run = run_with_fsync_eio(test, &dir, 3);
        let all = calls(&run.trace);
        let rename = all.iter().position(|c| c.name == "renameat2").unwrap();
        let failed = all
            .iter()
            .position(|c| c.line.contains("(INJECTED)"))
            .unwrap();
        assert!(rename < failed, "{}", run.trace);
        // The refused retry synced and renamed nothing.
        assert_eq!(count(&run.trace, "fsync"), 3, "{}: {}", method, run.trace);
        assert_eq!(
            count(&run.trace, "renameat2"),
            1,
            "{}: {}",
            method,
            run.trace
        );
    }
}
