//! Descriptor leaks: 10,000 failing creations of each kind (missing directory, bad prefix,
//! every name taken) leave the process's descriptor count unchanged. Each count is taken in a
//! forked child, where no other test's thread can open or close anything meanwhile.

#![cfg(unix)] // for now

mod common;

use std::io;
use std::path::PathBuf;

use common::creators::{self, Creator};
use common::{in_child, Scratch};

const ROUNDS: usize = 10_000;

/// Python's alphabet: the 37 names a random part of length 1 can take.
const ALPHABET: &[u8; 37] = b"abcdefghijklmnopqrstuvwxyz0123456789_";

/// The number of open descriptors of this process.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Fails `ROUNDS` creations of every kind with `configure`'s options, expecting `kind`, and
/// checks the descriptor count before and after.
fn no_leak(kind: io::ErrorKind, configure: impl Fn(&Creator, &mut tempkit::Builder)) {
    for creator in creators::all() {
        let ok = in_child(
            || {},
            || {
                // Warm up: whatever is opened once per process (the random source, caches)
                // is opened before the first count.
                let mut b = tempkit::Builder::new();
                configure(&creator, &mut b);
                let _ = (creator.create)(&b);
                let before = open_descriptors();
                for i in 0..ROUNDS {
                    match (creator.create)(&b) {
                        Ok(_) => panic!("{} #{i} succeeded", creator.name),
                        Err(e) => assert_eq!(e.kind(), kind, "{}: {e}", creator.name),
                    }
                }
                let after = open_descriptors();
                assert_eq!(after, before, "{} leaked descriptors", creator.name);
                true
            },
        );
        assert!(ok, "{}: see the child's panic above", creator.name);
    }
}

#[test]
fn a_missing_directory_leaks_no_descriptor() {
    let scratch = Scratch::new();
    let missing = scratch.path().join("missing");
    no_leak(io::ErrorKind::NotFound, |_, b| {
        b.dir(&missing);
    });
}

#[test]
fn a_bad_prefix_leaks_no_descriptor() {
    let scratch = Scratch::new();
    let dir = scratch.path().to_owned();
    no_leak(io::ErrorKind::InvalidInput, |_, b| {
        b.dir(&dir).prefix("a/b");
    });
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
fn exhausted_names_leak_no_descriptor() {
    let scratch = Scratch::new();
    let dir = scratch.path().join("full");
    std::fs::create_dir(&dir).unwrap();
    for c in ALPHABET {
        std::fs::write(dir.join((*c as char).to_string()), b"").unwrap();
    }
    let link: PathBuf = scratch.path().join("full-link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    no_leak(io::ErrorKind::AlreadyExists, |creator, b| {
        // Unnamed files only try names when `dir` is a symlink (their named fallback).
        let d = if creator.named_only_via_symlinked_dir {
            &link
        } else {
            &dir
        };
        b.dir(d).prefix("").random_len(1);
    });
    assert_eq!(common::list(&dir).len(), ALPHABET.len());
}
