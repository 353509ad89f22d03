//! `mkstemp`: files the caller owns (CPython's TestMkstemp and the public side of
//! TestMkstempInner): names, directories, modes under any umask, existing names skipped, and
//! no descriptor inherited by a child process.
// Tests build with the current toolchain; only the library is held to Rust 1.63.
#![allow(clippy::incompatible_msrv)]

mod common;

use std::collections::HashSet;
use std::io::{Read, Seek, SeekFrom, Write};
#[cfg(unix)]
use std::os::unix::io::AsRawFd;
#[cfg(unix)]
use std::process::Command;

#[cfg(unix)]
use common::assert_mode_under_umasks;
#[cfg(unix)]
use common::child::{child_args, Child};
use common::{
    assert_occupants_kept, builders_with_dir_of_every_type, check_name, occupy_all_names_but,
    Scratch,
};
use tempkit::Builder;

/// The prefix/suffix combinations CPython's tests use.
const AFFIXES: [(&str, &str); 5] = [("", ""), ("a", ""), ("", "b"), ("a", "b"), ("aa", ".txt")];

#[test]
fn files_have_the_prefix_suffix_and_directory_asked_for() {
    let scratch = Scratch::new();
    for (prefix, suffix) in AFFIXES {
        let (mut file, path) = Builder::new()
            .dir(scratch.path())
            .prefix(prefix)
            .suffix(suffix)
            .mkstemp()
            .unwrap();
        check_name(&path, scratch.path(), prefix, suffix, 8);
        let meta = path.symlink_metadata().unwrap();
        assert!(meta.is_file());
        assert_eq!(meta.len(), 0);
        // The handle is open for writing and for reading, at position 0.
        file.write_all(b"both ways").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"both ways");
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut back = String::new();
        file.read_to_string(&mut back).unwrap();
        assert_eq!(back, "both ways");
    }
    assert_eq!(scratch.names().len(), AFFIXES.len());
}

#[test]
fn the_free_function_creates_in_gettempdir_with_the_default_prefix() {
    let (file, path) = tempkit::mkstemp().unwrap();
    let dir = tempkit::gettempdir().unwrap();
    check_name(&path, &dir, "tmp", "", 8);
    assert!(path.is_file());
    drop(file);
    std::fs::remove_file(&path).unwrap();
}

#[test]
fn the_directory_can_be_given_as_any_path_type() {
    // CPython's test_choose_directory: a str dir and a path-like dir.
    let scratch = Scratch::new();
    for b in builders_with_dir_of_every_type(scratch.path()) {
        let (_file, path) = b.mkstemp().unwrap();
        assert_eq!(path.parent(), Some(scratch.path()));
    }
    assert_eq!(scratch.names().len(), 4);
}

#[test]
fn a_hundred_files_with_one_prefix_are_all_distinct() {
    let scratch = Scratch::new();
    let mut paths = HashSet::new();
    let mut files = Vec::new();
    for _ in 0..100 {
        let (file, path) = Builder::new()
            .dir(scratch.path())
            .prefix("many")
            .mkstemp()
            .unwrap();
        check_name(&path, scratch.path(), "many", "", 8);
        assert!(paths.insert(path));
        files.push(file);
    }
    assert_eq!(scratch.names().len(), 100);
}

#[test]
#[cfg(unix)]
fn files_are_mode_0600_whatever_the_umask() {
    let scratch = Scratch::new();
    assert_mode_under_umasks(
        &scratch,
        &[0o000, 0o022, 0o077, 0o177],
        0o600,
        "child_makes_one_file",
    );
}

/// The child of [`files_are_mode_0600_whatever_the_umask`], under the umask it was given.
#[test]
#[ignore]
#[cfg(unix)]
fn child_makes_one_file() {
    common::umask_child(|dir| {
        let (_file, path) = Builder::new().dir(dir).mkstemp().unwrap();
        path
    });
}

#[test]
#[cfg(unix)]
fn a_relative_dir_gives_an_absolute_path() {
    // Changing the current directory is process-wide: done in a child process of its own.
    let scratch = Scratch::new();
    let sub = scratch.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    Child::new("child_creates_in_relative_dirs")
        .arg(scratch.path())
        .assert_passes();
    assert_eq!(scratch.names().len(), 2);
    assert_eq!(common::list(&sub).len(), 3);
}

/// The child of [`a_relative_dir_gives_an_absolute_path`]: in the directory it was given
/// (with `sub/` in it), creates with `.`, `sub` and a messy path to `sub` as `dir`.
#[test]
#[ignore]
#[cfg(unix)]
fn child_creates_in_relative_dirs() {
    let scratch = &child_args()[0];
    let sub = scratch.join("sub");
    std::env::set_current_dir(scratch).unwrap();
    let (_f, dot) = Builder::new().dir(".").mkstemp().unwrap();
    check_name(&dot, scratch, "tmp", "", 8);
    let (_f, rel) = Builder::new().dir("sub").mkstemp().unwrap();
    check_name(&rel, &sub, "tmp", "", 8);
    // `.` and `..` are folded lexically, as Python's os.path.abspath does.
    let (_f, messy) = Builder::new().dir("./sub/../sub/.").mkstemp().unwrap();
    check_name(&messy, &sub, "tmp", "", 8);
    // `dir_verbatim`: joined to the current directory, nothing folded.
    let (_f, kept) = Builder::new()
        .dir_verbatim("./sub/../sub/.")
        .mkstemp()
        .unwrap();
    let cwd = std::env::current_dir().unwrap();
    let expected = cwd.join("./sub/../sub/.").join(kept.file_name().unwrap());
    assert_eq!(kept.as_os_str(), expected.as_os_str());
    assert!(sub.join(kept.file_name().unwrap()).is_file());
}

/// `dir_verbatim` leaves `..` to the kernel (the `tempfile` crate's way, for compat/): after a
/// symbolic link it is the parent of the link's target, and the paths returned keep the
/// directory as given; `dir` still folds it as text, as Python's `os.path.abspath`.
#[test]
#[cfg(unix)]
fn dir_verbatim_leaves_dot_dot_to_the_kernel() {
    let scratch = Scratch::new();
    let (near, far) = (scratch.path().join("near"), scratch.path().join("far"));
    std::fs::create_dir(&near).unwrap();
    std::fs::create_dir_all(far.join("inner")).unwrap();
    std::os::unix::fs::symlink(far.join("inner"), near.join("link")).unwrap();
    let given = near.join("link/..");
    let as_given = |made: &std::path::Path| given.join(made.file_name().unwrap());

    let (_f, file) = Builder::new().dir_verbatim(&given).mkstemp().unwrap();
    assert_eq!(file.as_os_str(), as_given(&file).as_os_str());
    assert!(far.join(file.file_name().unwrap()).is_file());
    let made = Builder::new().dir_verbatim(&given).mkdtemp().unwrap();
    assert_eq!(made.as_os_str(), as_given(&made).as_os_str());
    assert!(far.join(made.file_name().unwrap()).is_dir());
    let dir = Builder::new()
        .dir_verbatim(&given)
        .temporary_directory()
        .unwrap();
    let name = dir.path().file_name().unwrap().to_owned();
    assert_eq!(dir.path().as_os_str(), as_given(dir.path()).as_os_str());
    assert!(far.join(&name).is_dir());
    drop(dir);
    assert!(!far.join(&name).exists(), "removed from where it was made");
    assert_eq!(common::list(&near), vec!["link".to_owned()]);

    // `dir` after `dir_verbatim` folds again: `near/link/..` is `near`.
    let (_f, folded) = Builder::new()
        .dir_verbatim(&far)
        .dir(&given)
        .mkstemp()
        .unwrap();
    assert_eq!(folded.parent(), Some(near.as_path()));
    assert!(folded.is_file());
}

#[test]
fn existing_files_and_directories_at_candidate_names_are_skipped_and_kept() {
    // CPython's test_collision_with_existing_file/directory, without mocking the names: 36
    // of the 37 one-character names are taken, so every creation must land on the free one.
    let scratch = Scratch::new();
    occupy_all_names_but(scratch.path(), 'q');
    let mut b = Builder::new();
    b.dir(scratch.path()).prefix("").random_len(1);
    let created = (0..60).find_map(|_| match b.mkstemp() {
        Ok((_, path)) => Some(path),
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{}", e);
            None
        }
    });
    assert_eq!(created, Some(scratch.path().join("q")));
    assert_occupants_kept(scratch.path(), 'q');
    assert_eq!(std::fs::read(scratch.path().join("q")).unwrap(), b"");
}

/// Whether a shell started now can see descriptor `fd`.
#[cfg(unix)]
fn child_sees(fd: i32) -> bool {
    let out = common::output_of(
        Command::new("sh")
            .arg("-c")
            .arg(format!("test -e /proc/self/fd/{}", fd)),
    )
    .expect("run sh");
    out.status.success()
}

#[test]
#[cfg(unix)]
fn no_descriptor_is_inherited_by_a_child_process() {
    let scratch = Scratch::new();
    let (file, _path) = Builder::new().dir(scratch.path()).mkstemp().unwrap();
    let fd = file.as_raw_fd();
    // SAFETY: F_GETFD on a descriptor we own.
    let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
    assert!(flags >= 0);
    assert_ne!(flags & libc::FD_CLOEXEC, 0, "FD_CLOEXEC is not set");
    assert!(
        !child_sees(fd),
        "a child process sees mkstemp's descriptor {}",
        fd
    );

    // The check can fail: a duplicate without close-on-exec is inherited.
    // SAFETY: dup of a descriptor we own; the copy is closed below.
    let inheritable = unsafe { libc::dup(fd) };
    assert!(inheritable >= 0);
    let seen = child_sees(inheritable);
    // SAFETY: closes the duplicate made above, once.
    unsafe { libc::close(inheritable) };
    assert!(
        seen,
        "the control descriptor {} was not inherited",
        inheritable
    );
}
