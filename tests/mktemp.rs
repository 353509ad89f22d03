//! `mktemp` (deprecated): a name only (CPython's TestMktemp): the names are valid, absent,
//! absolute, can be created, and nothing is created by asking.
#![allow(deprecated)]
// Tests build with the current toolchain; only the library is held to Rust 1.63.
#![allow(clippy::incompatible_msrv)]

mod common;

use std::collections::HashSet;
use std::fs::OpenOptions;
#[cfg(unix)]
use std::os::unix::fs::symlink;

#[cfg(unix)]
use common::child::{child_args, Child};
#[cfg(unix)]
use common::ALPHABET;
use common::{check_name, Scratch};
use tempkit::Builder;

#[test]
fn names_have_the_affixes_asked_for_and_can_be_created_exclusively() {
    let scratch = Scratch::new();
    let combos = [("", ""), ("a", ""), ("", "b"), ("a", "b"), ("aa", ".txt")];
    for (prefix, suffix) in combos {
        let path = Builder::new()
            .dir(scratch.path())
            .prefix(prefix)
            .suffix(suffix)
            .mktemp()
            .unwrap();
        check_name(&path, scratch.path(), prefix, suffix, 8);
        assert!(
            path.symlink_metadata().is_err(),
            "{} exists",
            path.display()
        );
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .unwrap();
    }
    assert_eq!(scratch.names().len(), combos.len());
}

#[test]
fn a_hundred_names_are_valid_distinct_and_create_nothing() {
    let scratch = Scratch::new();
    let names: HashSet<_> = (0..100)
        .map(|_| {
            let path = Builder::new().dir(scratch.path()).mktemp().unwrap();
            check_name(&path, scratch.path(), "tmp", "", 8);
            path
        })
        .collect();
    assert_eq!(names.len(), 100);
    assert!(
        scratch.names().is_empty(),
        "mktemp created {:?}",
        scratch.names()
    );
    for path in &names {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .unwrap();
    }
    assert_eq!(scratch.names().len(), 100);
}

#[test]
fn the_free_function_names_a_path_in_gettempdir() {
    let path = tempkit::mktemp().unwrap();
    check_name(&path, &tempkit::gettempdir().unwrap(), "tmp", "", 8);
    assert!(path.symlink_metadata().is_err());
}

#[test]
fn a_missing_dir_is_not_an_error() {
    // As in Python: nothing is created, so nothing has to exist.
    let scratch = Scratch::new();
    let missing = scratch.path().join("missing");
    let path = Builder::new().dir(&missing).mktemp().unwrap();
    check_name(&path, &missing, "tmp", "", 8);
    assert!(scratch.names().is_empty());
}

#[test]
#[cfg(unix)]
fn a_dangling_symlink_counts_as_taken() {
    let scratch = Scratch::new();
    let nowhere = scratch.path().join("nowhere");
    let dir = scratch.path().join("links");
    std::fs::create_dir(&dir).unwrap();
    for c in ALPHABET.chars().filter(|&c| c != 'k') {
        symlink(nowhere.join(c.to_string()), dir.join(c.to_string())).unwrap();
    }
    let mut b = Builder::new();
    b.dir(&dir).prefix("").random_len(1);
    for _ in 0..5 {
        // Each call tries 20 names; with one free name of 37 a call fails now and then.
        let found = (0..60).find_map(|_| b.mktemp().ok());
        assert_eq!(found, Some(dir.join("k")));
    }
    assert!(nowhere.symlink_metadata().is_err());
}

#[test]
#[cfg(unix)]
fn a_relative_dir_gives_an_absolute_path() {
    // Python returns "./tmpXXXXXXXX" here; tempkit always returns absolute paths. The
    // current directory is changed in a child process of its own.
    let scratch = Scratch::new();
    Child::new("child_draws_a_name_in_dot")
        .arg(scratch.path())
        .assert_passes();
}

/// The child of [`a_relative_dir_gives_an_absolute_path`]: draws a name with `dir(".")` in
/// the directory it was given.
#[test]
#[ignore]
#[cfg(unix)]
fn child_draws_a_name_in_dot() {
    let scratch = &child_args()[0];
    std::env::set_current_dir(scratch).unwrap();
    let path = Builder::new().dir(".").mktemp().unwrap();
    check_name(&path, scratch, "tmp", "", 8);
}
