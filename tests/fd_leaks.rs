//! Descriptor leaks: 10,000 failing creations of each kind (missing directory, bad prefix,
//! every name taken) leave the process's descriptor count unchanged. Each count is taken in a
//! child test alone in a fresh process, where no other test's thread can open or close
//! anything meanwhile.

#![cfg(unix)] // for now

mod common;

use std::io;
use std::path::{Path, PathBuf};

use common::child::{child_args, Child};
use common::creators::{self, Creator};
use common::Scratch;

const ROUNDS: usize = 10_000;

/// Python's alphabet: the 37 names a random part of length 1 can take.
const ALPHABET: &[u8; 37] = b"abcdefghijklmnopqrstuvwxyz0123456789_";

/// The number of open descriptors of this process.
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// Runs [`child_no_leak`] for every kind, each in a fresh process: `ROUNDS` failing
/// creations of the case `case` (see [`configure`]) in `dir`.
fn no_leak(case: &str, dir: &Path) {
    for creator in creators::all() {
        Child::new("child_no_leak")
            .arg(case)
            .arg(creator.name)
            .arg(dir)
            .timeout(common::CHILD_TIMEOUT)
            .assert_passes();
    }
}

/// The builder options of each case, and the error its creations must fail with.
fn configure(case: &str, creator: &Creator, dir: &Path, b: &mut tempkit::Builder) -> io::ErrorKind {
    match case {
        "missing" => {
            b.dir(dir.join("missing"));
            io::ErrorKind::NotFound
        }
        "bad-prefix" => {
            b.dir(dir).prefix("a/b");
            io::ErrorKind::InvalidInput
        }
        "exhausted" => {
            // Unnamed files only try names when `dir` is a symlink (their named fallback).
            let d = if creator.named_only_via_symlinked_dir {
                dir.join("full-link")
            } else {
                dir.join("full")
            };
            b.dir(d).prefix("").random_len(1);
            io::ErrorKind::AlreadyExists
        }
        other => panic!("no case {}", other),
    }
}

/// Fails `ROUNDS` creations of one kind in the case its parent names, expecting that case's
/// error, and checks the descriptor count before and after.
#[test]
#[ignore]
fn child_no_leak() {
    let args = child_args();
    let (case, name) = (args[0].to_str().unwrap(), args[1].to_str().unwrap());
    let creator = creators::all()
        .into_iter()
        .find(|c| c.name == name)
        .expect("a creator of that name");
    let mut b = tempkit::Builder::new();
    let kind = configure(case, &creator, &args[2], &mut b);
    // Warm up: whatever is opened once per process (the random source, caches) is opened
    // before the first count.
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
}

#[test]
fn a_missing_directory_leaks_no_descriptor() {
    let scratch = Scratch::new();
    no_leak("missing", scratch.path());
}

#[test]
fn a_bad_prefix_leaks_no_descriptor() {
    let scratch = Scratch::new();
    no_leak("bad-prefix", scratch.path());
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
    no_leak("exhausted", scratch.path());
    assert_eq!(common::list(&dir).len(), ALPHABET.len());
}
