//! `Builder`: Python's keyword arguments. Defaults, chaining, reuse, and the free functions
//! being the builder with its defaults.
// Tests build with the current toolchain; only the library is held to Rust 1.63.
#![allow(clippy::incompatible_msrv)]

mod common;

use common::{check_name, Scratch};
use tempkit::Builder;

#[test]
fn builder_is_send_sync_clone_default_and_debug() {
    fn check<T: Send + Sync + Clone + Default + std::fmt::Debug>() {}
    check::<Builder>();
}

#[test]
fn the_defaults_are_pythons() {
    // prefix "tmp", suffix "", 8 random characters.
    let scratch = Scratch::new();
    let (_f, file) = Builder::new().dir(scratch.path()).mkstemp().unwrap();
    check_name(&file, scratch.path(), "tmp", "", 8);
    let (_f, default) = Builder::default().dir(scratch.path()).mkstemp().unwrap();
    check_name(&default, scratch.path(), "tmp", "", 8);
}

#[test]
fn one_builder_creates_many_distinct_objects_and_the_last_setting_wins() {
    let scratch = Scratch::new();
    let mut b = Builder::new();
    b.prefix("first-")
        .prefix("second-")
        .suffix(".x")
        .suffix(".y")
        .dir(scratch.path());
    let (_f, one) = b.mkstemp().unwrap();
    let (_f, two) = b.mkstemp().unwrap();
    let three = b.mkdtemp().unwrap();
    for path in [&one, &two, &three] {
        check_name(path, scratch.path(), "second-", ".y", 8);
    }
    assert_ne!(one, two);
    // A clone is independent of the original.
    let mut clone = b.clone();
    clone.prefix("clone-");
    let (_f, from_clone) = clone.mkstemp().unwrap();
    check_name(&from_clone, scratch.path(), "clone-", ".y", 8);
    let (_f, from_original) = b.mkstemp().unwrap();
    check_name(&from_original, scratch.path(), "second-", ".y", 8);
    assert_eq!(scratch.names().len(), 5);
}

#[test]
fn the_free_functions_are_the_builder_with_its_defaults() {
    let dir = tempkit::gettempdir().unwrap();
    let (_f, free) = tempkit::mkstemp().unwrap();
    let (_f, built) = Builder::new().mkstemp().unwrap();
    check_name(&free, &dir, "tmp", "", 8);
    check_name(&built, &dir, "tmp", "", 8);
    let free_dir = tempkit::mkdtemp().unwrap();
    let built_dir = Builder::new().mkdtemp().unwrap();
    check_name(&free_dir, &dir, "tmp", "", 8);
    check_name(&built_dir, &dir, "tmp", "", 8);
    for path in [&free, &built] {
        std::fs::remove_file(path).unwrap();
    }
    for path in [&free_dir, &built_dir] {
        std::fs::remove_dir(path).unwrap();
    }
}

#[test]
fn an_absurd_random_len_is_refused_before_anything_is_created() {
    let scratch = Scratch::new();
    for len in [4097, usize::MAX] {
        let err = Builder::new()
            .dir(scratch.path())
            .random_len(len)
            .mkstemp()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{}", err);
        let err = Builder::new()
            .dir(scratch.path())
            .random_len(len)
            .temporary_file()
            .unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{}", err);
    }
    assert!(scratch.names().is_empty());
}

#[cfg(unix)]
#[test]
fn a_random_len_of_4096_is_left_to_the_file_system() {
    // The bound refuses only what no file name can hold: 4,096 itself is tried, and the file
    // system answers with its own error (a name longer than 255 bytes), not InvalidInput.
    let scratch = Scratch::new();
    let err = Builder::new()
        .dir(scratch.path())
        .random_len(4096)
        .mkstemp()
        .unwrap_err();
    assert_ne!(err.kind(), std::io::ErrorKind::InvalidInput, "{}", err);
    let os_error = format!("(os error {})", libc::ENAMETOOLONG);
    assert!(err.to_string().ends_with(&os_error), "{}", err);
    assert!(scratch.names().is_empty());
}

#[test]
fn a_failed_creation_says_what_it_was_creating_and_where() {
    let scratch = Scratch::new();
    let missing = scratch.path().join("missing");
    let file = Builder::new().dir(&missing).mkstemp().unwrap_err();
    let dir = Builder::new().dir(&missing).mkdtemp().unwrap_err();
    for (err, noun) in [(file, "file"), (dir, "directory")] {
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{}", err);
        let text = err.to_string();
        let what = format!("create temporary {} in", noun);
        assert!(text.contains(&what), "{:?} does not say {:?}", text, what);
        assert!(text.contains(&*missing.to_string_lossy()), "{}", text);
    }
}
