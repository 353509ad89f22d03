//! `mkdtemp`: directories the caller owns (CPython's TestMkdtemp): names, directories, mode
//! 0700 under any umask, absolute paths for a relative `dir`, existing names skipped.
// Tests build with the current toolchain; only the library is held to Rust 1.63.
#![allow(clippy::incompatible_msrv)]

mod common;

use std::collections::HashSet;

#[cfg(unix)]
use common::assert_mode_under_umasks;
#[cfg(unix)]
use common::child::{child_args, Child};
use common::{
    assert_occupants_kept, builders_with_dir_of_every_type, check_name, list, occupy_all_names_but,
    Scratch,
};
use tempkit::Builder;

/// The prefix/suffix combinations CPython's tests use.
const AFFIXES: [(&str, &str); 5] = [("", ""), ("a", ""), ("", "b"), ("a", "b"), ("aa", ".d")];

#[test]
fn directories_have_the_prefix_suffix_and_parent_asked_for_and_are_empty() {
    let scratch = Scratch::new();
    for (prefix, suffix) in AFFIXES {
        let path = Builder::new()
            .dir(scratch.path())
            .prefix(prefix)
            .suffix(suffix)
            .mkdtemp()
            .unwrap();
        check_name(&path, scratch.path(), prefix, suffix, 8);
        assert!(path.symlink_metadata().unwrap().is_dir());
        assert!(list(&path).is_empty());
        // Usable: something can be created inside.
        std::fs::write(path.join("inside"), b"x").unwrap();
    }
    assert_eq!(scratch.names().len(), AFFIXES.len());
}

#[test]
fn the_free_function_creates_in_gettempdir_with_the_default_prefix() {
    let path = tempkit::mkdtemp().unwrap();
    check_name(&path, &tempkit::gettempdir().unwrap(), "tmp", "", 8);
    assert!(path.is_dir());
    std::fs::remove_dir(&path).unwrap();
}

#[test]
fn the_directory_can_be_given_as_any_path_type() {
    let scratch = Scratch::new();
    for b in builders_with_dir_of_every_type(scratch.path()) {
        let path = b.mkdtemp().unwrap();
        assert_eq!(path.parent(), Some(scratch.path()));
    }
    assert_eq!(scratch.names().len(), 4);
}

#[test]
fn a_hundred_directories_are_all_distinct() {
    let scratch = Scratch::new();
    let paths: HashSet<_> = (0..100)
        .map(|_| Builder::new().dir(scratch.path()).mkdtemp().unwrap())
        .collect();
    assert_eq!(paths.len(), 100);
    assert_eq!(scratch.names().len(), 100);
}

#[test]
#[cfg(unix)]
fn directories_are_mode_0700_whatever_the_umask() {
    let scratch = Scratch::new();
    assert_mode_under_umasks(
        &scratch,
        &[0o000, 0o022, 0o077],
        0o700,
        "child_makes_one_directory",
    );
}

/// The child of [`directories_are_mode_0700_whatever_the_umask`], under the umask it was
/// given.
#[test]
#[ignore]
#[cfg(unix)]
fn child_makes_one_directory() {
    common::umask_child(|dir| Builder::new().dir(dir).mkdtemp().unwrap());
}

#[test]
#[cfg(unix)]
fn a_relative_dir_gives_an_absolute_path() {
    // CPython's test_path_is_absolute (gh-51574). The current directory is changed in a
    // child process of its own only.
    let scratch = Scratch::new();
    let sub = scratch.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    Child::new("child_creates_in_relative_dirs")
        .arg(scratch.path())
        .assert_passes();
    assert_eq!(scratch.names().len(), 2);
    assert_eq!(list(&sub).len(), 2);
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
    let dot = Builder::new().dir(".").mkdtemp().unwrap();
    check_name(&dot, scratch, "tmp", "", 8);
    let rel = Builder::new().dir("sub").mkdtemp().unwrap();
    check_name(&rel, &sub, "tmp", "", 8);
    let messy = Builder::new().dir("sub/./../sub/").mkdtemp().unwrap();
    check_name(&messy, &sub, "tmp", "", 8);
    assert!(dot.is_dir() && rel.is_dir() && messy.is_dir());
}

#[test]
fn existing_files_and_directories_at_candidate_names_are_skipped_and_kept() {
    let scratch = Scratch::new();
    occupy_all_names_but(scratch.path(), '7');
    let mut b = Builder::new();
    b.dir(scratch.path()).prefix("").random_len(1);
    let created = (0..60).find_map(|_| match b.mkdtemp() {
        Ok(path) => Some(path),
        Err(e) => {
            assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists, "{}", e);
            None
        }
    });
    assert_eq!(created, Some(scratch.path().join("7")));
    assert_occupants_kept(scratch.path(), '7');
}
