//! Names: for arbitrary bytes as prefix and suffix, every creator either makes an object whose
//! name is exactly prefix + random part + suffix inside `dir`, or refuses with `InvalidInput`
//! (a '/' or NUL in an affix, or an empty or dot name). A name of exactly 255 bytes (the
//! usual NAME_MAX) works; 256 bytes fails at once with the OS's error, after one attempt.

#![cfg(unix)] // for now

mod common;

use std::ffi::OsString;
use std::io;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::Path;

use proptest::prelude::*;

use common::creators::{self, Creator};
use common::trace::strace_test;
use common::Scratch;

/// Python's alphabet for the random part.
const ALPHABET: &[u8; 37] = b"abcdefghijklmnopqrstuvwxyz0123456789_";

/// What tempkit must answer for these options.
fn expected_invalid(prefix: &[u8], suffix: &[u8], random_len: usize) -> bool {
    let bad = |a: &[u8]| a.iter().any(|&b| b == b'/' || b == 0);
    let total = prefix.len() + suffix.len() + random_len;
    let dots = random_len == 0 && matches!([prefix, suffix].concat().as_slice(), b"." | b"..");
    bad(prefix) || bad(suffix) || total == 0 || dots
}

/// Creates with `creator` and checks the outcome against the model.
fn check(creator: &Creator, dir: &Path, prefix: &[u8], suffix: &[u8], random_len: usize) {
    let mut b = tempkit::Builder::new();
    b.dir(dir)
        .prefix(OsString::from_vec(prefix.to_vec()))
        .suffix(OsString::from_vec(suffix.to_vec()))
        .random_len(random_len);
    let result = (creator.create)(&b);
    if expected_invalid(prefix, suffix, random_len) {
        match result {
            Err(e) => assert_eq!(
                e.kind(),
                io::ErrorKind::InvalidInput,
                "{}: {e}",
                creator.name
            ),
            Ok(_) => panic!(
                "{}: {prefix:?} {suffix:?} {random_len} accepted",
                creator.name
            ),
        }
        return;
    }
    let held = result.unwrap_or_else(|e| panic!("{}: {prefix:?} {suffix:?}: {e}", creator.name));
    if let Some(path) = held.path() {
        assert_eq!(path.parent(), Some(dir), "{}", creator.name);
        let name = path.file_name().unwrap().as_bytes();
        assert_eq!(name.len(), prefix.len() + random_len + suffix.len());
        assert_eq!(&name[..prefix.len()], prefix, "{}", creator.name);
        assert_eq!(
            &name[prefix.len() + random_len..],
            suffix,
            "{}",
            creator.name
        );
        let random = &name[prefix.len()..prefix.len() + random_len];
        assert!(random.iter().all(|c| ALPHABET.contains(c)), "{random:?}");
        assert!(
            path.symlink_metadata().is_ok(),
            "{} made no object",
            creator.name
        );
    }
    held.finish().unwrap();
}

/// Affixes of arbitrary bytes; '/' and NUL are made frequent enough to show up often.
fn affix() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![8 => any::<u8>(), 1 => Just(b'/'), 1 => Just(0u8), 1 => Just(b'.')],
        0..100,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn any_affix_gives_exactly_that_name_or_invalid_input(
        creator in 0..creators::all().len(),
        prefix in affix(),
        suffix in affix(),
        random_len in 0usize..12,
    ) {
        let scratch = Scratch::new();
        check(&creators::all()[creator], scratch.path(), &prefix, &suffix, random_len);
        prop_assert!(scratch.names().is_empty(), "{:?}", scratch.names());
    }
}

#[test]
fn dot_names_and_empty_names_are_refused() {
    let scratch = Scratch::new();
    for creator in creators::all() {
        for (p, s) in [
            (&b"."[..], &b""[..]),
            (b"", b".."),
            (b".", b"."),
            (b"", b""),
        ] {
            check(&creator, scratch.path(), p, s, 0);
        }
    }
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// The longest name most file systems allow (NAME_MAX).
const NAME_MAX: usize = 255;
/// `random_len` of the long-name tests (the default).
const RANDOM_LEN: usize = 8;

/// When set, the long-name test runs only the 256-byte case (it is being traced).
const TRACED_VAR: &str = "TEMPKIT_TEST_TRACED";

#[test]
fn names_of_255_bytes_work_and_256_bytes_fail_with_the_os_error() {
    let scratch = Scratch::new();
    let traced = std::env::var_os(TRACED_VAR).is_some();
    for creator in creators::all().into_iter().filter(|c| c.named) {
        if !traced {
            let prefix = vec![b'a'; NAME_MAX - RANDOM_LEN];
            check(&creator, scratch.path(), &prefix, b"", RANDOM_LEN);
        }
        let mut b = tempkit::Builder::new();
        b.dir(scratch.path())
            .prefix("b".repeat(NAME_MAX + 1 - RANDOM_LEN))
            .random_len(RANDOM_LEN);
        let err = match (creator.create)(&b) {
            Ok(_) => panic!("{}: a 256-byte name was accepted", creator.name),
            Err(e) => e,
        };
        let os = io::Error::from_raw_os_error(libc::ENAMETOOLONG);
        assert_eq!(err.kind(), os.kind(), "{}: {err}", creator.name);
        assert!(err.to_string().ends_with(&os.to_string()), "{err}");
        let dir = scratch.path().display().to_string();
        assert!(
            err.to_string().contains(&dir),
            "the error names the directory: {err}"
        );
    }
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
fn a_name_too_long_is_tried_once() {
    let Some(trace) = strace_test(
        "names_of_255_bytes_work_and_256_bytes_fail_with_the_os_error",
        &[(TRACED_VAR, "1".as_ref())],
        "open,openat,creat,mkdir,mkdirat",
    ) else {
        return;
    };
    let long = "b".repeat(NAME_MAX + 1 - RANDOM_LEN);
    let attempts: Vec<&str> = trace.lines().filter(|l| l.contains(&long)).collect();
    let named = creators::all().iter().filter(|c| c.named).count();
    assert_eq!(
        attempts.len(),
        named,
        "one attempt per creator:\n{}",
        attempts.join("\n")
    );
    assert!(
        attempts.iter().all(|l| l.contains("ENAMETOOLONG")),
        "{}",
        attempts.join("\n")
    );
}
