//! Bad input gets a clear error, at once: a missing, non-directory or unwritable `dir`, a
//! prefix or suffix that is not a plain name, a name too long, a directory whose names are all
//! taken, symlinks planted at candidate names (CPython's TestBadTempdir, run for every
//! creator, plus issue 2's "Bad input" list).
//!
//! "After one attempt" and "after exactly `TMP_MAX` attempts" are counted with strace: the
//! test runs itself again under `strace -f` (see `common::traced`) and counts the calls on
//! paths inside the directory in question.
#![allow(deprecated)]
// `mktemp` is one of the creators under test
// Tests build with the current toolchain; only the library is held to Rust 1.63.
#![allow(clippy::incompatible_msrv)]
#![cfg(unix)] // for now

mod common;

use std::io::{self, ErrorKind};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use common::child::{child_args, Child};
use common::{calls_in, list, mode, traced, tracee_arg, Scratch, ALPHABET, NOBODY};
use tempkit::{Builder, TMP_MAX};

/// The system calls a creation attempt can make: `openat` (mkstemp), `mkdir`/`mkdirat`
/// (mkdtemp), and the `lstat` family (mktemp).
const ATTEMPT_CALLS: &str = "openat,mkdir,mkdirat,newfstatat,statx,lstat";

/// One way of creating something with a builder, returning the path it created.
type Creator = fn(&Builder) -> io::Result<PathBuf>;

fn via_mkstemp(b: &Builder) -> io::Result<PathBuf> {
    b.mkstemp().map(|(_, path)| path)
}

fn via_mkdtemp(b: &Builder) -> io::Result<PathBuf> {
    b.mkdtemp()
}

fn via_mktemp(b: &Builder) -> io::Result<PathBuf> {
    b.mktemp()
}

/// The creators that create something (CPython runs TestBadTempdir for both).
const CREATORS: [(&str, Creator); 2] = [("mkstemp", via_mkstemp), ("mkdtemp", via_mkdtemp)];

/// Every creator, also the one that only picks a name.
const ALL_CREATORS: [(&str, Creator); 3] = [
    ("mkstemp", via_mkstemp),
    ("mkdtemp", via_mkdtemp),
    ("mktemp", via_mktemp),
];

/// `root/TAG-WHAT`: where a test points the creator named `what`.
fn at(root: &Path, tag: &str, what: &str) -> PathBuf {
    root.join(format!("{}-{}", tag, what))
}

/// [`at`] for each of [`CREATORS`], in order.
fn per_creator(root: &Path, tag: &str) -> Vec<PathBuf> {
    CREATORS
        .iter()
        .map(|(what, _)| at(root, tag, what))
        .collect()
}

/// Runs the test named `test` again under strace with `root` as its argument (see
/// `common::traced`), asserts that the re-run passed, and returns the trace.
fn rerun_traced(test: &str, root: &Path) -> Vec<String> {
    let (ok, lines) = traced(test, ATTEMPT_CALLS, root);
    assert!(ok, "the traced run failed");
    lines
}

/// Asserts that `result` failed with `kind` and that its message names `dir`.
fn assert_fails(result: io::Result<PathBuf>, kind: ErrorKind, dir: &Path, what: &str) {
    match result {
        Ok(path) => panic!("{}: created {} instead of failing", what, path.display()),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{}: {}", what, e);
            let text = e.to_string();
            assert!(
                text.contains(&dir.display().to_string()),
                "{}: {:?} does not name {}",
                what,
                text,
                dir.display()
            );
        }
    }
}

/// Asserts that each of [`CREATORS`], given [`at`]`(root, tag, ...)` as its `dir`, fails with
/// `kind` and names that path.
fn assert_each_creator_fails(root: &Path, tag: &str, kind: ErrorKind) {
    for (what, create) in CREATORS {
        let dir = at(root, tag, what);
        assert_fails(create(Builder::new().dir(&dir)), kind, &dir, what);
    }
}

/// Counts the attempts the traced re-run made in each directory of `dirs` and asserts it is
/// `expected` for each.
fn assert_attempts(lines: &[String], dirs: &[PathBuf], expected: usize) {
    for dir in dirs {
        let calls = calls_in(lines, dir);
        assert_eq!(
            calls.len(),
            expected,
            "attempts in {}: {:#?}",
            dir.display(),
            calls
        );
    }
}

#[test]
fn a_missing_dir_is_not_found_after_one_attempt_naming_the_dir() {
    if let Some(root) = tracee_arg() {
        assert_each_creator_fails(&root, "missing", ErrorKind::NotFound);
        return;
    }
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let lines = rerun_traced(
        "a_missing_dir_is_not_found_after_one_attempt_naming_the_dir",
        scratch.path(),
    );
    let dirs = per_creator(scratch.path(), "missing");
    assert_attempts(&lines, &dirs, 1);
    assert!(
        scratch.names().is_empty(),
        "something was created: {:?}",
        scratch.names()
    );
}

#[test]
fn a_dir_that_is_a_file_is_not_a_directory_after_one_attempt() {
    if let Some(root) = tracee_arg() {
        assert_each_creator_fails(&root, "file", ErrorKind::NotADirectory);
        for file in per_creator(&root, "file") {
            assert_eq!(std::fs::read(&file).unwrap(), b"contents");
        }
        return;
    }
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let files = per_creator(scratch.path(), "file");
    for file in &files {
        std::fs::write(file, b"contents").unwrap();
    }
    let lines = rerun_traced(
        "a_dir_that_is_a_file_is_not_a_directory_after_one_attempt",
        scratch.path(),
    );
    assert_attempts(&lines, &files, 1);
    assert_eq!(scratch.names(), ["file-mkdtemp", "file-mkstemp"]);
}

#[test]
fn an_unwritable_dir_is_permission_denied_after_one_attempt() {
    // Two kinds of directory nobody cannot write to: one owned by root (mode 0755), and one
    // of nobody's own with mode 0555. Root ignores both, so the body runs as nobody.
    if let Some(root) = tracee_arg() {
        // Traced too (`strace -f`): the child process that runs the attempts as nobody.
        Child::new("child_is_refused_in_unwritable_dirs")
            .arg(&root)
            .as_nobody()
            .assert_passes();
        return;
    }
    if !common::need::root() || !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let mut dirs = Vec::new();
    for owner in ["root", "nobody"] {
        for (what, _) in CREATORS {
            let dir = at(scratch.path(), owner, what);
            std::fs::create_dir(&dir).unwrap();
            if owner == "nobody" {
                std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).unwrap();
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
            } else {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
            }
            dirs.push(dir);
        }
    }
    let lines = rerun_traced(
        "an_unwritable_dir_is_permission_denied_after_one_attempt",
        scratch.path(),
    );
    assert_attempts(&lines, &dirs, 1);
    for dir in &dirs {
        common::assert_empty(dir);
    }
}

/// The child of [`an_unwritable_dir_is_permission_denied_after_one_attempt`], as nobody.
#[test]
#[ignore]
fn child_is_refused_in_unwritable_dirs() {
    let root = &child_args()[0];
    for owner in ["root", "nobody"] {
        assert_each_creator_fails(root, owner, ErrorKind::PermissionDenied);
    }
}

/// Asserts that each of [`ALL_CREATORS`] refuses `b`'s options with `InvalidInput`; `case`
/// is printed on failure.
fn assert_all_refuse(b: &Builder, case: impl std::fmt::Debug) {
    for (what, create) in ALL_CREATORS {
        let err = create(b).expect_err(what);
        assert_eq!(
            err.kind(),
            ErrorKind::InvalidInput,
            "{} {:?}: {}",
            what,
            case,
            err
        );
    }
}

#[test]
fn a_prefix_or_suffix_with_a_separator_or_nul_is_invalid_input_and_creates_nothing() {
    let scratch = Scratch::new();
    // Were the prefix honoured, "a/" would put the object inside this subdirectory.
    let sub = scratch.path().join("a");
    std::fs::create_dir(&sub).unwrap();
    for bad in ["a/", "/", "a/b", "../a", "x\0y", "\0"] {
        for as_prefix in [true, false] {
            let mut b = Builder::new();
            b.dir(scratch.path());
            if as_prefix {
                b.prefix(bad);
            } else {
                b.suffix(bad);
            }
            assert_all_refuse(&b, bad);
        }
    }
    assert_eq!(scratch.names(), ["a"]);
    assert!(list(&sub).is_empty());
}

#[test]
fn an_empty_dot_or_dot_dot_name_is_invalid_input() {
    let scratch = Scratch::new();
    let mut b = Builder::new();
    b.dir(scratch.path()).prefix("").suffix("").random_len(0);
    assert_all_refuse(&b, ("", ""));
    // Nor can a fixed name be `.` or `..`; with a random part it can start with dots.
    for (prefix, suffix) in [(".", ""), ("", ".."), (".", ".")] {
        b.prefix(prefix).suffix(suffix);
        assert_all_refuse(&b, (prefix, suffix));
    }
    assert!(scratch.names().is_empty());
    let (_f, dotted) = Builder::new()
        .dir(scratch.path())
        .prefix("..")
        .random_len(1)
        .mkstemp()
        .unwrap();
    common::check_name(&dotted, scratch.path(), "..", "", 1);
}

/// The longest file name the file system of `dir` allows.
fn name_max(dir: &Path) -> usize {
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    let max = unsafe { libc::pathconf(c.as_ptr(), libc::_PC_NAME_MAX) };
    assert!(max > 0, "pathconf failed");
    max as usize
}

#[test]
fn a_name_longer_than_the_file_system_allows_is_the_os_error_after_one_attempt() {
    if let Some(root) = tracee_arg() {
        let max = name_max(&root);
        for (what, create) in CREATORS {
            let dir = at(&root, "long", what);
            // One character more than allowed: prefix + 8 random characters.
            let prefix = "x".repeat(max + 1 - 8);
            assert_fails(
                create(Builder::new().dir(&dir).prefix(&prefix)),
                ErrorKind::InvalidFilename,
                &dir,
                what,
            );
            // Exactly as long as allowed works.
            let path = create(Builder::new().dir(&dir).prefix(&prefix[1..])).unwrap();
            assert_eq!(path.file_name().unwrap().len(), max);
        }
        return;
    }
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let dirs = per_creator(scratch.path(), "long");
    for dir in &dirs {
        std::fs::create_dir(dir).unwrap();
    }
    let lines = rerun_traced(
        "a_name_longer_than_the_file_system_allows_is_the_os_error_after_one_attempt",
        scratch.path(),
    );
    // One failed attempt, then one that succeeds.
    assert_attempts(&lines, &dirs, 2);
    for dir in &dirs {
        assert_eq!(list(dir).len(), 1);
    }
}

/// Fills `dir` with all 37 one-character names: files, directories, a symlink to a file, and
/// dangling symlinks.
fn take_every_one_character_name(dir: &Path) {
    std::fs::create_dir(dir).unwrap();
    for (i, c) in ALPHABET.chars().enumerate() {
        let path = dir.join(c.to_string());
        match i % 4 {
            0 => std::fs::write(&path, b"taken").unwrap(),
            1 => std::fs::create_dir(&path).unwrap(),
            2 => symlink("/", &path).unwrap(),
            _ => symlink(dir.join("nowhere"), &path).unwrap(),
        }
    }
}

#[test]
fn all_names_taken_is_already_exists_after_exactly_tmp_max_attempts() {
    if let Some(root) = tracee_arg() {
        for (what, create) in ALL_CREATORS {
            let dir = at(&root, "full", what);
            let mut b = Builder::new();
            b.dir(&dir).prefix("").random_len(1);
            assert_fails(create(&b), ErrorKind::AlreadyExists, &dir, what);
            // With no random part there is one name only: it is tried once.
            let dir = at(&root, "fixed", what);
            let mut b = Builder::new();
            b.dir(&dir).prefix("taken").random_len(0);
            assert_fails(create(&b), ErrorKind::AlreadyExists, &dir, what);
        }
        return;
    }
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let mut full = Vec::new();
    let mut fixed = Vec::new();
    for (what, _) in ALL_CREATORS {
        let dir = at(scratch.path(), "full", what);
        take_every_one_character_name(&dir);
        full.push(dir);
        let dir = at(scratch.path(), "fixed", what);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("taken"), b"").unwrap();
        fixed.push(dir);
    }
    let lines = rerun_traced(
        "all_names_taken_is_already_exists_after_exactly_tmp_max_attempts",
        scratch.path(),
    );
    assert_attempts(&lines, &full, TMP_MAX as usize);
    assert_attempts(&lines, &fixed, 1);
    // The attempts use the flags and modes of SPEC 2.2 (strace prints them symbolically).
    for call in calls_in(&lines, &full[0]) {
        for flag in [
            "O_RDWR",
            "O_CREAT",
            "O_EXCL",
            "O_NOFOLLOW",
            "O_CLOEXEC",
            "0600",
        ] {
            assert!(call.contains(flag), "{} lacks {}", call, flag);
        }
        assert!(call.contains("EEXIST"), "{}", call);
    }
    for call in calls_in(&lines, &full[1]) {
        assert!(call.contains("0700") && call.contains("EEXIST"), "{}", call);
    }
    for dir in &full {
        assert_eq!(list(dir).len(), 37);
    }
}

/// What a symlink's victim looked like: contents, mode, modification time.
fn snapshot(path: &Path) -> (Vec<u8>, u32, i64, i64) {
    let meta = std::fs::metadata(path).unwrap();
    let contents = if meta.is_dir() {
        list(path).join("/").into_bytes()
    } else {
        std::fs::read(path).unwrap()
    };
    (contents, mode(path), meta.mtime(), meta.mtime_nsec())
}

#[test]
fn a_symlink_at_a_candidate_name_is_never_followed() {
    let scratch = Scratch::new();
    let victim_file = scratch.path().join("victim-file");
    std::fs::write(&victim_file, b"precious").unwrap();
    std::fs::set_permissions(&victim_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let victim_dir = scratch.path().join("victim-dir");
    std::fs::create_dir(&victim_dir).unwrap();
    for victim in [&victim_file, &victim_dir] {
        let old = SystemTime::now() - Duration::from_secs(86_400);
        std::fs::File::open(victim)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let before = (snapshot(&victim_file), snapshot(&victim_dir));

    for (what, create) in CREATORS {
        let dir = at(scratch.path(), "links", what);
        std::fs::create_dir(&dir).unwrap();
        // 36 of the 37 one-character names: symlinks to the victims, or dangling into a place
        // that must stay empty. Only "_" is free.
        let dangling = at(scratch.path(), "dangling", what);
        for (i, c) in ALPHABET.chars().filter(|&c| c != '_').enumerate() {
            let target = match i % 3 {
                0 => victim_file.clone(),
                1 => victim_dir.clone(),
                _ => dangling.join(c.to_string()),
            };
            symlink(&target, dir.join(c.to_string())).unwrap();
        }
        let mut b = Builder::new();
        b.dir(&dir).prefix("").random_len(1);
        // Each call tries 20 names: the free one turns up within a few calls.
        let mut created = None;
        for _ in 0..60 {
            match create(&b) {
                Ok(path) => {
                    created = Some(path);
                    break;
                }
                Err(e) => assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{}: {}", what, e),
            }
        }
        let created = created.unwrap_or_else(|| panic!("{}: the free name was never found", what));
        assert_eq!(created, dir.join("_"));
        let meta = created.symlink_metadata().unwrap();
        assert!(!meta.file_type().is_symlink());
        assert_eq!(list(&dir).len(), 37);
        // Now every name is taken: the symlinks still are not followed.
        let err = create(&b).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::AlreadyExists);
        assert!(
            dangling.symlink_metadata().is_err(),
            "something was created through a dangling link"
        );
        for c in ALPHABET.chars().filter(|&c| c != '_') {
            assert!(dir
                .join(c.to_string())
                .symlink_metadata()
                .unwrap()
                .file_type()
                .is_symlink());
        }
    }
    assert_eq!(
        (snapshot(&victim_file), snapshot(&victim_dir)),
        before,
        "a victim changed"
    );
    assert_eq!(std::fs::read(&victim_file).unwrap(), b"precious");
    assert!(list(&victim_dir).is_empty());
}
