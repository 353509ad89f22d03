//! Disk full: with a file size limit (`RLIMIT_FSIZE`, in a child test alone in its process,
//! which ignores `SIGXFSZ`), writes past the limit fail with an error, and nothing written before is lost.
//! A spooled file whose rollover cannot be written keeps its bytes in memory, intact. The same
//! on a really full disk: a small tmpfs mounted by the test (as root, which CI is).

// Tests may use the current toolchain (only the library keeps to Rust 1.63).
#![allow(clippy::incompatible_msrv)]
#![cfg(unix)] // for now

mod common;

use std::io::{Read, Seek, SeekFrom, Write};

use common::child::{child_args, Child};
use common::Scratch;

/// The file size limit of the children.
const LIMIT: usize = 64 * 1024;

/// `len` bytes of a pattern that differs per `seed`, so that misplaced bytes show.
fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Runs the child test `test` in a fresh process, given `dir`; it calls [`size_limited`]
/// first.
fn with_size_limit(test: &str, dir: &std::path::Path) {
    Child::new(test).arg(dir).assert_passes();
}

/// In a child test (alone in its process): its files cannot grow past `LIMIT` bytes, and a
/// write past that fails instead of raising `SIGXFSZ`. Returns the directory its parent gave.
fn size_limited() -> std::path::PathBuf {
    common::limit_file_size(LIMIT);
    child_args()[0].clone()
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
    overflow_with(file, LIMIT, is_file_too_large);
}

/// [`overflow_then_read_back`] for a file that can hold at most `room` bytes, whose write
/// past that fails with an error `full` recognizes.
fn overflow_with<F: Read + Write + Seek>(
    file: &mut F,
    room: usize,
    full: fn(&std::io::Error) -> bool,
) {
    let before = pattern(1, room / 2);
    let after = pattern(2, 2 * room);
    file.write_all(&before).expect("the first half fits");
    let err = file
        .write_all(&after)
        .expect_err("a write past the limit must fail");
    assert!(full(&err), "{err}");
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    file.read_to_end(&mut back).unwrap();
    assert!(
        back.len() >= before.len() && back.len() <= room,
        "{}",
        back.len()
    );
    assert_eq!(&back[..before.len()], &before[..], "earlier bytes lost");
    assert_eq!(&back[before.len()..], &after[..back.len() - before.len()]);
}

#[test]
fn a_full_named_file_fails_the_write_and_keeps_what_was_written() {
    let scratch = Scratch::new();
    with_size_limit("child_full_named_file", scratch.path());
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
#[ignore]
fn child_full_named_file() {
    let dir = size_limited();
    let mut file = tempkit::Builder::new()
        .dir(&dir)
        .named_temporary_file()
        .unwrap();
    overflow_then_read_back(&mut file);
    // The same bytes by name, through another handle.
    let by_name = std::fs::read(file.path()).unwrap();
    assert_eq!(&by_name[..LIMIT / 2], &pattern(1, LIMIT / 2)[..]);
}

#[test]
fn a_full_unnamed_file_fails_the_write_and_keeps_what_was_written() {
    let scratch = Scratch::new();
    with_size_limit("child_full_unnamed_file", scratch.path());
}

#[test]
#[ignore]
fn child_full_unnamed_file() {
    let dir = size_limited();
    let mut file = tempkit::Builder::new().dir(&dir).temporary_file().unwrap();
    overflow_then_read_back(&mut file);
}

#[test]
fn a_full_rolled_over_spooled_file_fails_the_write_and_keeps_what_was_written() {
    let scratch = Scratch::new();
    with_size_limit("child_full_rolled_over_spooled_file", scratch.path());
}

#[test]
#[ignore]
fn child_full_rolled_over_spooled_file() {
    let dir = size_limited();
    let mut file = tempkit::Builder::new()
        .dir(&dir)
        .spooled_temporary_file(1024);
    overflow_then_read_back(&mut file);
    assert!(file.is_rolled_over());
}

#[test]
fn a_spooled_rollover_that_cannot_be_written_keeps_the_bytes_in_memory() {
    let scratch = Scratch::new();
    with_size_limit(
        "child_spooled_rollover_that_cannot_be_written",
        scratch.path(),
    );
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
#[ignore]
fn child_spooled_rollover_that_cannot_be_written() {
    let dir = size_limited();
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
}

/// The size of the file system [`SmallTmpfs`] mounts.
const TMPFS_SIZE: usize = 256 * 1024;

/// A real full disk: a tmpfs of [`TMPFS_SIZE`] bytes and `inodes` inodes mounted on a fresh
/// directory, unmounted on drop. Mounting needs root, which CI runs as: without it the test
/// fails, or gets `None` when the developer chose to skip such tests (`common::need`).
struct SmallTmpfs {
    mount: std::path::PathBuf,
    _scratch: Scratch,
}

impl SmallTmpfs {
    fn new(inodes: usize) -> Option<SmallTmpfs> {
        if !common::need::root() {
            return None;
        }
        let scratch = Scratch::new();
        let mount = scratch.path().join("mnt");
        std::fs::create_dir(&mount).unwrap();
        let status = common::output_of(
            std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o"])
                .arg(format!(
                    "size={},nr_inodes={},mode=0700",
                    TMPFS_SIZE, inodes
                ))
                .arg("tempkit-test")
                .arg(&mount),
        )
        .expect("run mount")
        .status;
        assert!(status.success(), "mount a tmpfs on {}", mount.display());
        Some(SmallTmpfs {
            mount,
            _scratch: scratch,
        })
    }

    fn path(&self) -> &std::path::Path {
        &self.mount
    }
}

impl Drop for SmallTmpfs {
    fn drop(&mut self) {
        let _ = common::output_of(
            std::process::Command::new("umount")
                .arg("-l")
                .arg(&self.mount),
        );
    }
}

fn is_no_space(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull
}

#[test]
fn a_real_full_disk_fails_writes_and_keeps_what_was_written() {
    // Each kind on a file system of its own: a child spawned meanwhile by another test of
    // this binary holds copies of our descriptors until its exec closes them, so a dropped
    // file's space may not be free yet.
    let filled_by = |fill: &dyn Fn(&tempkit::Builder)| {
        if let Some(fs) = SmallTmpfs::new(1024) {
            fill(tempkit::Builder::new().dir(fs.path()));
            assert!(common::list(fs.path()).is_empty());
        }
    };
    filled_by(&|b| {
        let mut named = b.named_temporary_file().unwrap();
        overflow_with(&mut named, TMPFS_SIZE, is_no_space);
        let by_name = std::fs::read(named.path()).unwrap();
        assert!(by_name.starts_with(&pattern(1, TMPFS_SIZE / 2)));
    });
    filled_by(&|b| {
        let mut unnamed = b.temporary_file().unwrap();
        overflow_with(&mut unnamed, TMPFS_SIZE, is_no_space);
    });
    filled_by(&|b| {
        let (mut file, path) = b.mkstemp().unwrap();
        overflow_with(&mut file, TMPFS_SIZE, is_no_space);
        std::fs::remove_file(&path).unwrap();
    });
    filled_by(&|b| {
        let mut spooled = b.spooled_temporary_file(16);
        overflow_with(&mut spooled, TMPFS_SIZE, is_no_space);
        assert!(spooled.is_rolled_over());
    });
}

#[test]
fn a_spooled_rollover_onto_a_real_full_disk_keeps_the_bytes_in_memory() {
    let Some(fs) = SmallTmpfs::new(1024) else {
        return;
    };
    let mut spooled = tempkit::Builder::new()
        .dir(fs.path())
        .spooled_temporary_file(4 * TMPFS_SIZE);
    let data = pattern(3, 2 * TMPFS_SIZE);
    spooled.write_all(&data).unwrap();
    let err = spooled.rollover().expect_err("the rollover cannot fit");
    assert!(is_no_space(&err), "{err}");
    assert!(!spooled.is_rolled_over());
    spooled.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    spooled.read_to_end(&mut back).unwrap();
    assert_eq!(back, data);
    assert!(common::list(fs.path()).is_empty());
}

#[test]
fn creating_on_a_disk_without_free_inodes_is_no_space_after_one_attempt() {
    // Four inodes: the root directory and three files; then every creator meets ENOSPC, which
    // is not "name exists" and must come back at once.
    let Some(fs) = SmallTmpfs::new(4) else {
        return;
    };
    let dir = fs.path();
    let mut fillers = 0;
    while std::fs::File::create(dir.join(format!("filler-{}", fillers))).is_ok() {
        fillers += 1;
    }
    assert!(fillers > 0 && fillers < 4, "{} fillers", fillers);
    for creator in common::creators::all() {
        let err = match (creator.create)(tempkit::Builder::new().dir(dir)) {
            Ok(_) => panic!("{}: created on a disk without free inodes", creator.name),
            Err(e) => e,
        };
        assert!(is_no_space(&err), "{}: {}", creator.name, err);
        assert!(
            err.to_string().contains(&dir.display().to_string()),
            "{}: {}",
            creator.name,
            err
        );
    }
    assert_eq!(common::list(dir).len(), fillers);
}
