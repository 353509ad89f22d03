//! Disk full: with a file size limit (`RLIMIT_FSIZE`, in a forked child that ignores
//! `SIGXFSZ`), writes past the limit fail with an error, and nothing written before is lost.
//! A spooled file whose rollover cannot be written keeps its bytes in memory, intact.

#![cfg(unix)] // for now

mod common;

use std::io::{Read, Seek, SeekFrom, Write};

use common::{in_child, Scratch};

/// The file size limit of the children.
const LIMIT: usize = 64 * 1024;

/// `len` bytes of a pattern that differs per `seed`, so that misplaced bytes show.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Runs `body` in a child whose files cannot grow past `LIMIT` bytes.
fn with_size_limit(body: impl FnOnce() -> bool) -> bool {
    in_child(
        || {
            let limit = libc::rlimit {
                rlim_cur: LIMIT as libc::rlim_t,
                rlim_max: LIMIT as libc::rlim_t,
            };
            // SAFETY: plain system calls in the child; `limit` is a valid rlimit.
            unsafe {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &limit), 0);
            }
        },
        body,
    )
}

/// Whether `e` is, or wraps with its kind kept, the OS's "file too large" (EFBIG).
fn is_file_too_large(e: &std::io::Error) -> bool {
    e.kind() == std::io::Error::from_raw_os_error(libc::EFBIG).kind()
        && (e.raw_os_error() == Some(libc::EFBIG)
            || e.to_string().contains(&format!("os error {}", libc::EFBIG)))
}

/// Writes `before` (which fits) then `after` (which does not) to `file`; checks the second
/// write fails with EFBIG and that `before` reads back whole, followed by no more than a
/// partial start of `after`.
fn overflow_then_read_back<F: Read + Write + Seek>(file: &mut F) {
    let before = pattern(1, LIMIT / 2);
    let after = pattern(2, LIMIT);
    file.write_all(&before).expect("the first half fits");
    let err = file
        .write_all(&after)
        .expect_err("a write past the limit must fail");
    assert!(is_file_too_large(&err), "{err}");
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    file.read_to_end(&mut back).unwrap();
    assert!(
        back.len() >= before.len() && back.len() <= LIMIT,
        "{}",
        back.len()
    );
    assert_eq!(&back[..before.len()], &before[..], "earlier bytes lost");
    assert_eq!(&back[before.len()..], &after[..back.len() - before.len()]);
}

#[test]
fn a_full_named_file_fails_the_write_and_keeps_what_was_written() {
    let scratch = Scratch::new();
    let dir = scratch.path().to_owned();
    assert!(with_size_limit(|| {
        let mut file = tempkit::Builder::new()
            .dir(&dir)
            .named_temporary_file()
            .unwrap();
        overflow_then_read_back(&mut file);
        // The same bytes by name, through another handle.
        let by_name = std::fs::read(file.path()).unwrap();
        assert_eq!(&by_name[..LIMIT / 2], &pattern(1, LIMIT / 2)[..]);
        true
    }));
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
fn a_full_unnamed_file_fails_the_write_and_keeps_what_was_written() {
    let scratch = Scratch::new();
    let dir = scratch.path().to_owned();
    assert!(with_size_limit(|| {
        let mut file = tempkit::Builder::new().dir(&dir).temporary_file().unwrap();
        overflow_then_read_back(&mut file);
        true
    }));
}

#[test]
fn a_full_rolled_over_spooled_file_fails_the_write_and_keeps_what_was_written() {
    let scratch = Scratch::new();
    let dir = scratch.path().to_owned();
    assert!(with_size_limit(|| {
        let mut file = tempkit::Builder::new()
            .dir(&dir)
            .spooled_temporary_file(1024);
        overflow_then_read_back(&mut file);
        assert!(file.is_rolled_over());
        true
    }));
}

#[test]
fn a_spooled_rollover_that_cannot_be_written_keeps_the_bytes_in_memory() {
    let scratch = Scratch::new();
    let dir = scratch.path().to_owned();
    assert!(with_size_limit(|| {
        let mut file = tempkit::Builder::new()
            .dir(&dir)
            .spooled_temporary_file(4 * LIMIT);
        let data = pattern(3, 2 * LIMIT);
        file.write_all(&data).unwrap();
        file.seek(SeekFrom::Start(10)).unwrap();
        assert!(!file.is_rolled_over());

        // An explicit rollover, then one forced by a write past max_size: both fail.
        let err = file
            .rollover()
            .expect_err("rollover past the limit must fail");
        assert!(is_file_too_large(&err), "{err}");
        assert!(!file.is_rolled_over());
        assert_eq!(file.stream_position().unwrap(), 10, "position kept");
        file.seek(SeekFrom::End(0)).unwrap();
        let err = file
            .write_all(&pattern(4, 3 * LIMIT))
            .expect_err("a write that rolls over past the limit must fail");
        assert!(is_file_too_large(&err), "{err}");
        assert!(!file.is_rolled_over());

        // Everything written before is there, and the file is still usable in memory.
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut back = Vec::new();
        file.read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        file.write_all(b"more").unwrap();
        assert_eq!(file.len(), data.len() as u64 + 4);
        true
    }));
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}
