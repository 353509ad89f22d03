//! Keeping what a failing test made: `Builder::keep_on_panic`, `TEMPKIT_KEEP`, `keep_if` and
//! `keep_on_error`. Each case runs a child test (this binary again, see `common::child`): the
//! policy is read once per process, and the kept object must be named in the output the test
//! harness shows for the failing test. The parent checks what is left on disk, reads it back,
//! and removes it.

mod common;

use std::ffi::OsStr;
use std::io::{self, Write};

use common::child::{child_arg, run_child, Child, ChildRun};
use common::Scratch;

/// The objects [`child_panics_holding_objects`] makes, by prefix: what their builder says.
const DIR_DEFAULT: &str = "dir-default-";
const DIR_ON: &str = "dir-on-";
const DIR_OFF: &str = "dir-off-";
const FILE_DEFAULT: &str = "file-default-";
const FILE_ON: &str = "file-on-";
/// `keep_on_panic(true)`, closed with `delete_on_close(true)`: gone, nothing to keep.
const FILE_CLOSED: &str = "file-closed-";
/// `keep_on_panic(true)`, closed with `delete_on_close(false)`: still there, kept.
const FILE_CLOSED_STAYS: &str = "file-closed-stays-";

/// Where a child test creates its objects (the parent's scratch directory).
fn builder(prefix: &str) -> tempkit::Builder {
    let mut b = tempkit::Builder::new();
    b.dir(child_arg()).prefix(prefix);
    b
}

/// Makes one object of each kind in the child's directory, each holding its prefix as
/// evidence, then panics if `TEMPKIT_TEST_PANIC` is set.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_panics_holding_objects() {
    let dir = |prefix: &str, on: Option<bool>| {
        let mut b = builder(prefix);
        if let Some(on) = on {
            b.keep_on_panic(on);
        }
        let d = b.temporary_directory().unwrap();
        std::fs::write(d.path().join("evidence"), prefix).unwrap();
        d
    };
    let file = |prefix: &str, on: Option<bool>| {
        let mut b = builder(prefix);
        if let Some(on) = on {
            b.keep_on_panic(on);
        }
        let mut f = b.named_temporary_file().unwrap();
        f.write_all(prefix.as_bytes()).unwrap();
        f
    };
    let _dirs = [
        dir(DIR_DEFAULT, None),
        dir(DIR_ON, Some(true)),
        dir(DIR_OFF, Some(false)),
    ];
    let mut closed = file(FILE_CLOSED, Some(true));
    closed.close().unwrap();
    let mut closed_stays = builder(FILE_CLOSED_STAYS)
        .keep_on_panic(true)
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    closed_stays
        .write_all(FILE_CLOSED_STAYS.as_bytes())
        .unwrap();
    closed_stays.close().unwrap();
    let _files = [
        file(FILE_DEFAULT, None),
        file(FILE_ON, Some(true)),
        closed,
        closed_stays,
    ];
    if std::env::var_os("TEMPKIT_TEST_PANIC").is_some() {
        panic!("the test failed");
    }
}

/// Whether `name` is `prefix` + a random part (which holds no `-`).
fn is_named(name: &str, prefix: &str) -> bool {
    name.starts_with(prefix) && !name[prefix.len()..].contains('-')
}

/// The one name of `names` made with `prefix`.
fn named<'a>(names: &'a [String], prefix: &str) -> &'a str {
    let found: Vec<&String> = names.iter().filter(|n| is_named(n, prefix)).collect();
    assert_eq!(found.len(), 1, "{:?} with prefix {:?}", names, prefix);
    found[0]
}

/// Why an object is expected to be kept: the text in parentheses of its line.
const PANICKED: &str = "thread 'child_panics_holding_objects' panicked";
const ALWAYS: &str = "TEMPKIT_KEEP=always";

/// Runs [`child_panics_holding_objects`] with `TEMPKIT_KEEP=keep_var` (unset if `None`),
/// panicking or not, and checks that exactly `kept` (prefix, reason) are left, each named by
/// one line of the test's output and holding its evidence.
fn check_kept(keep_var: Option<&str>, panic: bool, kept: &[(&str, &str)]) -> ChildRun {
    let case = format!("TEMPKIT_KEEP={:?}, panic: {}", keep_var, panic);
    let scratch = Scratch::new();
    let mut env: Vec<(&str, &OsStr)> = Vec::new();
    if let Some(v) = keep_var {
        env.push(("TEMPKIT_KEEP", OsStr::new(v)));
    }
    if panic {
        env.push(("TEMPKIT_TEST_PANIC", OsStr::new("1")));
    }
    let run = run_child("child_panics_holding_objects", scratch.path(), &env);
    if panic {
        assert!(
            run.failed(),
            "{}: the child should fail:\n{}",
            case,
            run.output
        );
    } else {
        assert!(
            run.passed(),
            "{}: the child should pass:\n{}",
            case,
            run.output
        );
    }
    let left = scratch.names();
    let mut want: Vec<&str> = kept.iter().map(|(p, _)| *p).collect();
    want.sort_unstable();
    let mut got: Vec<&str> = want
        .iter()
        .copied()
        .filter(|p| left.iter().any(|n| is_named(n, p)))
        .collect();
    got.sort_unstable();
    assert_eq!(
        left.len(),
        kept.len(),
        "{}: left {:?}\n{}",
        case,
        left,
        run.output
    );
    assert_eq!(got, want, "{}: left {:?}\n{}", case, left, run.output);
    for (prefix, reason) in kept {
        let name = named(&left, prefix);
        let path = scratch.path().join(name);
        let evidence = if prefix.starts_with("dir") {
            std::fs::read_to_string(path.join("evidence")).unwrap()
        } else {
            std::fs::read_to_string(&path).unwrap()
        };
        assert_eq!(evidence, *prefix, "{}", case);
        let line = format!("tempkit: kept {} ({})", path.display(), reason);
        assert_eq!(
            run.lines_with(&line).len(),
            1,
            "{}: no line {:?} in\n{}",
            case,
            line,
            run.output
        );
    }
    assert_eq!(
        run.lines_with("tempkit: kept").len(),
        kept.len(),
        "{}: one line per kept object:\n{}",
        case,
        run.output
    );
    run
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Rust 1.63's libtest runs a lone test on the thread `main`, not one named after it"
)]
fn keep_on_panic_keeps_directory_and_file_and_names_them_in_the_failing_tests_output() {
    let kept = [
        (DIR_ON, PANICKED),
        (FILE_ON, PANICKED),
        (FILE_CLOSED_STAYS, PANICKED),
    ];
    let run = check_kept(None, true, &kept);
    // The line is in the harness's report of the failing test, next to the panic message.
    let report = run
        .output
        .split("---- child_panics_holding_objects stdout ----")
        .nth(1)
        .unwrap_or_else(|| panic!("no failure report:\n{}", run.output));
    assert!(report.contains("tempkit: kept "), "{}", run.output);
    assert!(report.contains("the test failed"), "{}", run.output);
    check_kept(Some("never"), true, &kept);
}

#[test]
fn nothing_is_kept_without_a_panic_or_without_the_option() {
    check_kept(None, false, &[]);
    check_kept(Some("never"), false, &[]);
    check_kept(Some("on-panic"), false, &[]);
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Rust 1.63's libtest runs a lone test on the thread `main`, not one named after it"
)]
fn tempkit_keep_on_panic_sets_the_default_and_keep_on_panic_false_wins() {
    check_kept(
        Some("on-panic"),
        true,
        &[
            (DIR_DEFAULT, PANICKED),
            (DIR_ON, PANICKED),
            (FILE_DEFAULT, PANICKED),
            (FILE_ON, PANICKED),
            (FILE_CLOSED_STAYS, PANICKED),
        ],
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Rust 1.63's libtest runs a lone test on the thread `main`, not one named after it"
)]
fn tempkit_keep_always_keeps_every_default_object_and_explicit_settings_win() {
    // No panic: only the objects whose builder said nothing.
    check_kept(
        Some("always"),
        false,
        &[(DIR_DEFAULT, ALWAYS), (FILE_DEFAULT, ALWAYS)],
    );
    check_kept(
        Some("always"),
        true,
        &[
            (DIR_DEFAULT, ALWAYS),
            (DIR_ON, PANICKED),
            (FILE_DEFAULT, ALWAYS),
            (FILE_ON, PANICKED),
            (FILE_CLOSED_STAYS, PANICKED),
        ],
    );
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Rust 1.63's libtest runs a lone test on the thread `main`, not one named after it"
)]
fn an_invalid_tempkit_keep_is_reported_once_and_means_never() {
    let run = check_kept(
        Some("sometimes"),
        true,
        &[
            (DIR_ON, PANICKED),
            (FILE_ON, PANICKED),
            (FILE_CLOSED_STAYS, PANICKED),
        ],
    );
    let complaints = run.lines_with("tempkit: ignoring TEMPKIT_KEEP=\"sometimes\"");
    assert_eq!(complaints.len(), 1, "{}", run.output);
    assert!(
        complaints[0].contains("expected never, on-panic or always"),
        "{}",
        run.output
    );
}

/// A named thread and an unnamed one panic (`unwrap()` of an `Err`) holding a directory with
/// `keep_on_panic(true)`; the test joins them and passes.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_spawned_threads_panic() {
    let named = std::thread::Builder::new()
        .name("worker".to_owned())
        .spawn(|| {
            let d = builder("worker-")
                .keep_on_panic(true)
                .temporary_directory()
                .unwrap();
            std::fs::write(d.path().join("evidence"), "worker").unwrap();
            std::fs::read(d.path().join("missing")).unwrap(); // the failure: NotFound
        })
        .unwrap();
    let unnamed = std::thread::spawn(|| {
        let _d = builder("unnamed-")
            .keep_on_panic(true)
            .temporary_directory()
            .unwrap();
        panic!("unnamed thread fails");
    });
    assert!(named.join().is_err());
    assert!(unnamed.join().is_err());
    // The test thread itself did not panic: its own object is removed.
    let mine = builder("main-")
        .keep_on_panic(true)
        .temporary_directory()
        .unwrap();
    drop(mine);
}

#[test]
fn a_panic_in_a_spawned_thread_keeps_that_threads_objects_and_names_the_thread() {
    let scratch = Scratch::new();
    let run = run_child("child_spawned_threads_panic", scratch.path(), &[]);
    assert!(run.passed(), "{}", run.output);
    let left = scratch.names();
    assert_eq!(left.len(), 2, "{:?}", left);
    let worker = scratch.path().join(&left[1]);
    let unnamed = scratch.path().join(&left[0]);
    assert!(left[1].starts_with("worker-") && left[0].starts_with("unnamed-"));
    assert_eq!(
        std::fs::read_to_string(worker.join("evidence")).unwrap(),
        "worker"
    );
    for (path, thread) in [(worker, "worker"), (unnamed, "<unnamed>")] {
        let line = format!(
            "tempkit: kept {} (thread '{}' panicked)",
            path.display(),
            thread
        );
        assert_eq!(run.lines_with(&line).len(), 1, "{}\n{}", line, run.output);
    }
}

/// A test that fails by returning `Err` from inside `keep_on_error`, after one that
/// succeeded.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_keep_on_error_returns_err() -> io::Result<()> {
    let n = builder("ok-")
        .temporary_directory()?
        .keep_on_error(|d| std::fs::write(d.path().join("evidence"), "ok").map(|()| 7))?;
    assert_eq!(n, 7);
    builder("file-ok-")
        .named_temporary_file()?
        .keep_on_error(|f| f.write_all(b"ok"))?;
    builder("file-err-")
        .named_temporary_file()?
        .keep_on_error(|f| {
            f.write_all(b"input")?;
            Err::<(), _>(io::Error::new(io::ErrorKind::InvalidData, "bad file"))
        })
        .unwrap_err();
    builder("err-").temporary_directory()?.keep_on_error(|d| {
        std::fs::write(d.path().join("evidence"), "err")?;
        Err(io::Error::new(io::ErrorKind::InvalidData, "parse failed"))
    })
}

#[test]
fn keep_on_error_keeps_what_a_test_returning_err_made() {
    let scratch = Scratch::new();
    let run = run_child("child_keep_on_error_returns_err", scratch.path(), &[]);
    assert!(run.failed(), "{}", run.output);
    assert!(run.output.contains("parse failed"), "{}", run.output);
    let left = scratch.names();
    assert_eq!(left.len(), 2, "{:?}\n{}", left, run.output);
    let dir = scratch.path().join(&left[0]);
    let file = scratch.path().join(&left[1]);
    assert!(left[0].starts_with("err-") && left[1].starts_with("file-err-"));
    assert_eq!(
        std::fs::read_to_string(dir.join("evidence")).unwrap(),
        "err"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "input");
    for path in [dir, file] {
        let line = format!(
            "tempkit: kept {} (keep_on_error: the closure returned an error)",
            path.display()
        );
        assert_eq!(run.lines_with(&line).len(), 1, "{}\n{}", line, run.output);
    }
    assert_eq!(run.lines_with("tempkit: kept").len(), 2, "{}", run.output);
}

/// `keep_on_error`'s closure panics; the builder says `keep_on_panic(false)`.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_keep_on_error_panics() {
    let _ = builder("panics-")
        .keep_on_panic(false)
        .temporary_directory()
        .unwrap()
        .keep_on_error(|d| -> io::Result<()> {
            std::fs::write(d.path().join("evidence"), "panicked").unwrap();
            panic!("inside keep_on_error");
        });
}

#[test]
#[cfg_attr(
    windows,
    ignore = "Rust 1.63's libtest runs a lone test on the thread `main`, not one named after it"
)]
fn keep_on_error_keeps_what_a_panic_inside_left_whatever_keep_on_panic_says() {
    let scratch = Scratch::new();
    let run = run_child("child_keep_on_error_panics", scratch.path(), &[]);
    assert!(run.failed(), "{}", run.output);
    let left = scratch.names();
    assert_eq!(left.len(), 1, "{:?}\n{}", left, run.output);
    let dir = scratch.path().join(&left[0]);
    assert_eq!(
        std::fs::read_to_string(dir.join("evidence")).unwrap(),
        "panicked"
    );
    let line = format!(
        "tempkit: kept {} (thread 'child_keep_on_error_panics' panicked)",
        dir.display()
    );
    assert_eq!(run.lines_with(&line).len(), 1, "{}\n{}", line, run.output);
}

/// `keep_if` on directories and files, set, cleared, and set after `cleanup()`.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_keep_if() {
    let mut kept = builder("kept-").temporary_directory().unwrap();
    kept.keep_if(true);
    let mut undone = builder("undone-").temporary_directory().unwrap();
    undone.keep_if(true).keep_if(false);
    let mut cleaned = builder("cleaned-").temporary_directory().unwrap();
    cleaned.keep_if(true);
    cleaned.cleanup().unwrap();
    let mut file = builder("kept-file-").named_temporary_file().unwrap();
    file.keep_if(true);
    let mut closed = builder("closed-file-").named_temporary_file().unwrap();
    closed.keep_if(true);
    closed.close().unwrap(); // delete_on_close: gone, nothing to keep
}

#[test]
fn keep_if_keeps_and_names_the_object_and_can_be_undone() {
    let scratch = Scratch::new();
    let run = run_child("child_keep_if", scratch.path(), &[]);
    assert!(run.passed(), "{}", run.output);
    let left = scratch.names();
    assert_eq!(left.len(), 2, "{:?}\n{}", left, run.output);
    for prefix in ["kept-", "kept-file-"] {
        let name = named(&left, prefix);
        let line = format!(
            "tempkit: kept {} (keep_if(true))",
            scratch.path().join(name).display()
        );
        assert_eq!(run.lines_with(&line).len(), 1, "{}\n{}", line, run.output);
    }
    assert_eq!(run.lines_with("tempkit: kept").len(), 2, "{}", run.output);
}

/// Drops one object (which reads `TEMPKIT_KEEP`, unset), then sets `TEMPKIT_KEEP=always`
/// in its own environment and drops another.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_sets_tempkit_keep_late() {
    drop(builder("first-").temporary_directory().unwrap());
    std::env::set_var("TEMPKIT_KEEP", "always");
    drop(builder("second-").temporary_directory().unwrap());
    drop(builder("file-").named_temporary_file().unwrap());
}

#[test]
fn tempkit_keep_is_read_once_per_process_at_the_first_drop() {
    let scratch = Scratch::new();
    let run = run_child("child_sets_tempkit_keep_late", scratch.path(), &[]);
    assert!(run.passed(), "{}", run.output);
    common::assert_empty(scratch.path());
    assert!(run.lines_with("tempkit:").is_empty(), "{}", run.output);
}

/// Makes a directory and a file, then sets `TEMPKIT_KEEP=always` in its own environment
/// (long after the process started, and after the objects were created), then drops them.
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_sets_tempkit_keep_before_the_first_drop() {
    let dir = builder("dir-").temporary_directory().unwrap();
    std::fs::write(dir.path().join("evidence"), "dir-").unwrap();
    let mut file = builder("file-").named_temporary_file().unwrap();
    file.write_all(b"file-").unwrap();
    std::env::set_var("TEMPKIT_KEEP", "always");
    drop(dir);
    drop(file);
}

#[test]
fn tempkit_keep_is_read_at_the_first_drop_not_at_start() {
    let scratch = Scratch::new();
    // A fresh process with no TEMPKIT_KEEP at its start: only the child's set_var sets it.
    let run = Child::new("child_sets_tempkit_keep_before_the_first_drop")
        .arg(scratch.path())
        .env_remove("TEMPKIT_KEEP")
        .run();
    assert!(run.passed(), "{}", run.output);
    let left = scratch.names();
    assert_eq!(
        left.len(),
        2,
        "both objects are kept: {:?}\n{}",
        left,
        run.output
    );
    let dir = scratch.path().join(named(&left, "dir-"));
    let file = scratch.path().join(named(&left, "file-"));
    assert_eq!(
        std::fs::read_to_string(dir.join("evidence")).unwrap(),
        "dir-"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "file-");
    for path in [dir, file] {
        let line = format!("tempkit: kept {} (TEMPKIT_KEEP=always)", path.display());
        assert_eq!(run.lines_with(&line).len(), 1, "{}\n{}", line, run.output);
    }
    assert_eq!(run.lines_with("tempkit: kept").len(), 2, "{}", run.output);
}

/// Reapable objects kept on panic, and, as the control, a reapable directory leaked without
/// its destructor (which stays tagged).
#[test]
#[cfg(unix)] // owner tags are extended attributes
#[ignore = "a child test: run by its parent test"]
fn child_panics_holding_reapable_objects() {
    let mut b = builder("kept-");
    b.reapable(true).keep_on_panic(true);
    let dir = b.temporary_directory().unwrap();
    let file = b.named_temporary_file().unwrap();
    let mut closed = b.delete_on_close(false).named_temporary_file().unwrap();
    closed.close().unwrap();
    let leaked = builder("leaked-")
        .reapable(true)
        .temporary_directory()
        .unwrap();
    assert!(dir.is_reapable() && file.is_reapable() && leaked.is_reapable());
    #[allow(clippy::disallowed_methods)] // the control: a leak with its tag
    std::mem::forget(leaked);
    panic!("the test failed");
}

#[test]
#[cfg(unix)] // owner tags are extended attributes
fn a_kept_reapable_object_loses_its_tag_so_reap_never_removes_it() {
    let scratch = Scratch::new();
    let run = run_child("child_panics_holding_reapable_objects", scratch.path(), &[]);
    assert!(run.failed(), "{}", run.output);
    assert_eq!(run.lines_with("tempkit: kept").len(), 3, "{}", run.output);
    let tagged = |name: &str| {
        let mut buf = [0u8; 512];
        rustix::fs::lgetxattr(
            scratch.path().join(name),
            "user.tempkit.owner",
            &mut buf[..],
        )
        .is_ok()
    };
    let left = scratch.names();
    assert_eq!(left.len(), 4, "{:?}", left);
    let leaked = named(&left, "leaked-").to_owned();
    assert!(tagged(&leaked), "the control keeps its tag");
    for name in left.iter().filter(|n| n.starts_with("kept-")) {
        assert!(!tagged(name), "{} is still tagged", name);
    }
    // The owner is dead: reap takes the leak and nothing that was kept.
    let reaped = tempkit::reap(scratch.path(), false).unwrap();
    assert_eq!(reaped, vec![scratch.path().join(&leaked)]);
    let mut kept = left.clone();
    kept.retain(|n| *n != leaked);
    assert_eq!(scratch.names(), kept);
}
