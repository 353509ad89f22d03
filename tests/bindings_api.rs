//! The library APIs the Python package (python/) is built on: `remove_tree`,
//! `probe_tempdir`, `tempdir_candidates`, `random_name` and `raw_os_error`. CPython's own
//! `test_tempfile` checks them through the package (`.ci/python`); these check them here.
#![cfg(unix)]

mod common;

use std::collections::HashSet;
use std::io::ErrorKind;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;

use common::child::{child_args, Child};
use common::{list, Scratch};

#[test]
fn remove_tree_removes_everything_and_follows_no_link() {
    let scratch = Scratch::new();
    let outside = scratch.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("keep"), b"x").unwrap();
    let root = scratch.path().join("root");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    std::fs::write(root.join("a/b/file"), b"x").unwrap();
    symlink(&outside, root.join("a/link")).unwrap();
    symlink(&outside, root.join("link")).unwrap();

    tempkit::remove_tree(&root).unwrap();
    assert!(!root.exists());
    assert_eq!(list(&outside), ["keep"], "a link's target was touched");
    // A missing root is success (CPython's cleanup after the directory went away).
    tempkit::remove_tree(&root).unwrap();
}

#[test]
fn remove_tree_refuses_a_root_that_is_a_symlink_and_leaves_it() {
    let scratch = Scratch::new();
    let target = scratch.path().join("target");
    std::fs::create_dir(&target).unwrap();
    std::fs::write(target.join("keep"), b"x").unwrap();
    let link = scratch.path().join("link");
    symlink(&target, &link).unwrap();
    let e = tempkit::remove_tree(&link).unwrap_err();
    assert_eq!(tempkit::raw_os_error(&e), Some(libc::ENOTDIR), "{}", e);
    assert!(
        std::fs::symlink_metadata(&link).is_ok(),
        "the link was removed"
    );
    assert_eq!(list(&target), ["keep"]);
}

#[test]
fn remove_tree_repairs_modes_inside_the_tree() {
    // As an unprivileged user (root ignores modes): a directory without write or search
    // permission inside the tree, as CPython's test_modes makes.
    let scratch = Scratch::for_nobody();
    Child::new("child_remove_tree_repairs_modes")
        .arg(scratch.path())
        .as_nobody()
        .assert_passes();
}

/// The child of [`remove_tree_repairs_modes_inside_the_tree`], as uid 65534.
#[test]
#[ignore]
fn child_remove_tree_repairs_modes() {
    let base = child_args().remove(0);
    let root = base.join("root");
    std::fs::create_dir_all(root.join("locked/inner")).unwrap();
    std::fs::write(root.join("locked/inner/file"), b"x").unwrap();
    std::fs::write(root.join("locked/file"), b"x").unwrap();
    for (dir, mode) in [("locked/inner", 0o500), ("locked", 0o000)] {
        std::fs::set_permissions(root.join(dir), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    tempkit::remove_tree(&root).unwrap();
    assert!(!root.exists());
}

#[test]
fn probe_tempdir_accepts_a_usable_directory_leaving_nothing_and_names_the_error_otherwise() {
    let scratch = Scratch::new();
    tempkit::probe_tempdir(scratch.path()).unwrap();
    assert!(
        list(scratch.path()).is_empty(),
        "{:?}",
        list(scratch.path())
    );

    let missing = scratch.path().join("missing");
    let e = tempkit::probe_tempdir(&missing).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(tempkit::raw_os_error(&e), Some(libc::ENOENT));
    assert!(e.to_string().contains("missing"), "{}", e);

    let file = scratch.path().join("file");
    std::fs::write(&file, b"").unwrap();
    let e = tempkit::probe_tempdir(&file).unwrap_err();
    assert_eq!(tempkit::raw_os_error(&e), Some(libc::ENOTDIR), "{}", e);
}

#[test]
fn tempdir_candidates_follow_the_environment_then_the_platform_then_the_current_directory() {
    let scratch = Scratch::new();
    Child::new("child_candidates")
        .arg(scratch.path())
        .env("TMPDIR", scratch.path())
        .env("TEMP", "")
        .env("TMP", "relative")
        .assert_passes();
}

/// The child of [`tempdir_candidates_follow_the_environment_then_the_platform_then_the_current_directory`].
#[test]
#[ignore]
fn child_candidates() {
    let dir = child_args().remove(0);
    let all = tempkit::tempdir_candidates();
    let expected: Vec<PathBuf> = vec![
        dir,
        // TEMP is empty: skipped. TMP is taken as given, relative.
        PathBuf::from("relative"),
        PathBuf::from("/tmp"),
        PathBuf::from("/var/tmp"),
        PathBuf::from("/usr/tmp"),
        std::env::current_dir().unwrap(),
    ];
    assert_eq!(all, expected);
}

#[test]
fn random_names_are_eight_characters_of_the_alphabet_and_do_not_repeat() {
    let names: HashSet<String> = (0..1000).map(|_| tempkit::random_name(8)).collect();
    assert_eq!(names.len(), 1000);
    for name in &names {
        assert_eq!(name.len(), 8);
        assert!(
            name.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            name
        );
    }
    assert_eq!(tempkit::random_name(0), "");
}

#[test]
fn raw_os_error_sees_through_the_context_and_is_none_for_tempkit_own_refusals() {
    let scratch = Scratch::new();
    let e = tempkit::Builder::new()
        .dir(scratch.path().join("missing"))
        .mkdtemp()
        .unwrap_err();
    assert_eq!(e.raw_os_error(), None, "the context hides the code");
    assert_eq!(tempkit::raw_os_error(&e), Some(libc::ENOENT));
    let e = tempkit::Builder::new()
        .prefix("a/b")
        .dir(scratch.path())
        .mkstemp()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(tempkit::raw_os_error(&e), None);
}
