//! SpooledTemporaryFile: CPython's TestSpooledTemporaryFile (observable behaviour), random
//! operation sequences against a plain file, and rollovers that fail without losing data.
// Tests may use the current toolchain (only the library is held to Rust 1.63).
#![allow(clippy::incompatible_msrv)]

mod common;

use std::fs::File;
use std::io::{self, IoSlice, Read, Seek, SeekFrom, Write};
#[cfg(unix)]
use std::os::unix::fs::MetadataExt;
#[cfg(unix)]
use std::os::unix::io::AsRawFd;
use std::path::Path;

use common::Scratch;
use proptest::prelude::*;
use tempkit::{Builder, SpooledTemporaryFile};

/// A spooled file that rolls over into `dir`.
fn spooled_in(dir: &Path, max_size: usize) -> SpooledTemporaryFile {
    Builder::new().dir(dir).spooled_temporary_file(max_size)
}

/// Everything in the file, read from the start; the position is put back afterwards.
fn contents<F: Read + Seek>(f: &mut F) -> Vec<u8> {
    let pos = f.stream_position().unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    let mut all = Vec::new();
    f.read_to_end(&mut all).unwrap();
    f.seek(SeekFrom::Start(pos)).unwrap();
    all
}

fn is_send_sync<T: Send + Sync>() {}

#[test]
fn is_send_and_sync() {
    is_send_sync::<SpooledTemporaryFile>();
}

// ---- CPython's TestSpooledTemporaryFile ----

#[test]
fn basic_is_not_rolled_over_and_creates_nothing() {
    let scratch = Scratch::new();
    let mut b = Builder::new();
    b.dir(scratch.path());
    let files = [
        b.spooled_temporary_file(0),
        b.spooled_temporary_file(10),
        b.clone().prefix("a").spooled_temporary_file(10),
        b.clone().suffix("b").spooled_temporary_file(10),
        b.clone().prefix("a").suffix("b").spooled_temporary_file(10),
        SpooledTemporaryFile::new(0),
    ];
    for f in &files {
        assert!(!f.is_rolled_over());
        assert_eq!(f.len(), 0);
        assert!(f.is_empty());
    }
    assert!(scratch.names().is_empty());
}

#[test]
#[cfg(unix)]
fn del_on_close_leaves_the_directory_empty() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 10);
    f.write_all(&[b'x'; 25]).unwrap();
    assert!(f.is_rolled_over());
    // The disk file has no name: nothing in the directory, no link to it anywhere.
    assert!(scratch.names().is_empty());
    assert_eq!(f.as_file().unwrap().metadata().unwrap().nlink(), 0);
    assert_eq!(contents(&mut f), vec![b'x'; 25]);
    drop(f);
    assert!(scratch.names().is_empty());
}

#[test]
fn rewrite_small_never_rolls_over() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 30);
    for i in 0..5u8 {
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(&[b'a' + i; 20]).unwrap();
        assert!(!f.is_rolled_over());
    }
    assert_eq!(contents(&mut f), vec![b'e'; 20]);
}

#[test]
fn write_sequential_rolls_over_only_past_max_size() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 30);
    f.write_all(&[b'x'; 20]).unwrap();
    assert!(!f.is_rolled_over());
    f.write_all(&[b'x'; 10]).unwrap();
    assert!(!f.is_rolled_over(), "exactly max_size bytes stay in memory");
    f.write_all(b"x").unwrap();
    assert!(f.is_rolled_over());
    assert_eq!(f.stream_position().unwrap(), 31);
    assert_eq!(contents(&mut f), vec![b'x'; 31]);
}

#[test]
fn writelines_sequential_rolls_over_only_past_max_size() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 35);
    let (a, b, c) = ([b'x'; 20], [b'y'; 10], [b'z'; 5]);
    let n = f
        .write_vectored(&[IoSlice::new(&a), IoSlice::new(&b), IoSlice::new(&c)])
        .unwrap();
    assert_eq!(n, 35);
    assert!(!f.is_rolled_over());
    assert_eq!(f.write_vectored(&[IoSlice::new(b"w")]).unwrap(), 1);
    assert!(f.is_rolled_over());
    let mut want = Vec::new();
    for part in [&a[..], &b[..], &c[..], b"w"] {
        want.extend_from_slice(part);
    }
    assert_eq!(contents(&mut f), want);
}

#[test]
fn writelines_one_chunk_at_a_time_rolls_over_before_the_end() {
    // Python writes the items of writelines one by one and rolls over as soon as the
    // threshold is passed, before the rest of the iterator is consumed.
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 2);
    let mut rolled_at = Vec::new();
    for chunk in [&b"xy"[..], b"z"] {
        f.write_all(chunk).unwrap();
        rolled_at.push(f.is_rolled_over());
    }
    assert_eq!(rolled_at, [false, true]);
    assert_eq!(f.seek(SeekFrom::Start(0)).unwrap(), 0);
    let mut all = Vec::new();
    f.read_to_end(&mut all).unwrap();
    assert_eq!(all, b"xyz");
}

#[test]
#[cfg_attr(
    windows,
    ignore = "std's File::write_vectored on Windows writes one buffer per call"
)]
fn writelines_after_rollover_appends() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 2);
    f.write_all(b"abc").unwrap();
    assert!(f.is_rolled_over());
    let n = f
        .write_vectored(&[IoSlice::new(b"d"), IoSlice::new(b"e"), IoSlice::new(b"f")])
        .unwrap();
    assert_eq!(n, 3);
    assert_eq!(contents(&mut f), b"abcdef");
}

#[test]
fn sparse_seek_does_not_roll_over_but_a_write_there_does() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 30);
    assert_eq!(f.seek(SeekFrom::Start(100)).unwrap(), 100);
    assert!(!f.is_rolled_over());
    assert_eq!(f.len(), 0);
    // write_all of nothing makes no write; a write of nothing there is Python's write(b'').
    f.write_all(b"").unwrap();
    assert!(!f.is_rolled_over());
    let mut g = spooled_in(scratch.path(), 30);
    g.seek(SeekFrom::Start(100)).unwrap();
    assert_eq!(g.write(b"").unwrap(), 0);
    assert!(g.is_rolled_over());
    assert_eq!(g.len(), 0);
    f.write_all(b"x").unwrap();
    assert!(f.is_rolled_over());
    assert_eq!(f.len(), 101);
    let mut want = vec![0u8; 100];
    want.push(b'x');
    assert_eq!(contents(&mut f), want);
}

#[test]
fn sparse_write_in_memory_leaves_a_zero_filled_gap() {
    let mut f = SpooledTemporaryFile::new(0);
    f.write_all(b"ab").unwrap();
    f.seek(SeekFrom::End(3)).unwrap();
    f.write_all(b"c").unwrap();
    assert!(!f.is_rolled_over());
    assert_eq!(contents(&mut f), b"ab\0\0\0c");
    // Writing nothing past the end does not extend, as for a file.
    f.seek(SeekFrom::Current(10)).unwrap();
    assert_eq!(f.write(b"").unwrap(), 0);
    assert_eq!(f.len(), 6);
}

#[test]
#[cfg(unix)]
fn fileno_rolls_over() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 30);
    f.write_all(b"abc").unwrap();
    let fd = f.as_file().unwrap().as_raw_fd();
    assert!(fd > 0);
    assert!(f.is_rolled_over());
    // The descriptor is the file: it sees the bytes and the position.
    let via_fd = f.as_file_mut().unwrap();
    assert_eq!(via_fd.stream_position().unwrap(), 3);
    via_fd.write_all(b"def").unwrap();
    assert_eq!(contents(&mut f), b"abcdef");
}

#[test]
#[cfg(unix)]
fn close_before_rollover_by_drop_and_by_into_file() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 100);
    f.write_all(b"abc").unwrap();
    drop(f);
    assert!(scratch.names().is_empty());

    let mut f = spooled_in(scratch.path(), 100);
    f.write_all(b"abcdef").unwrap();
    f.seek(SeekFrom::Start(2)).unwrap();
    let mut file = f.into_file().unwrap();
    assert_eq!(file.stream_position().unwrap(), 2, "the position is kept");
    let mut rest = Vec::new();
    file.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"cdef");
    assert_eq!(file.metadata().unwrap().nlink(), 0);
    drop(file);
    assert!(scratch.names().is_empty());
}

#[test]
#[cfg(unix)]
fn close_after_rollover_by_drop_and_by_into_file() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 1);
    f.write_all(b"abc").unwrap();
    assert!(f.is_rolled_over());
    drop(f);
    assert!(scratch.names().is_empty());

    let mut f = spooled_in(scratch.path(), 1);
    f.write_all(b"abc").unwrap();
    let fd = f.as_file().unwrap().as_raw_fd();
    let file = f.into_file().unwrap();
    assert_eq!(file.as_raw_fd(), fd, "the same descriptor is handed over");
    assert_eq!(contents(&mut &file), b"abc");
    drop(file);
    assert!(scratch.names().is_empty());
}

#[test]
fn rollover_keeps_the_position() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 0);
    f.write_all(b"abcdef").unwrap();
    f.seek(SeekFrom::Start(2)).unwrap();
    f.rollover().unwrap();
    assert!(f.is_rolled_over());
    assert_eq!(f.stream_position().unwrap(), 2);
    let mut rest = Vec::new();
    f.read_to_end(&mut rest).unwrap();
    assert_eq!(rest, b"cdef");
    // A second rollover does nothing.
    f.rollover().unwrap();
    assert_eq!(contents(&mut f), b"abcdef");
}

#[test]
fn rollover_with_the_position_past_the_end() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 0);
    f.write_all(b"ab").unwrap();
    f.seek(SeekFrom::Start(10)).unwrap();
    f.rollover().unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(f.stream_position().unwrap(), 10);
    f.write_all(b"c").unwrap();
    assert_eq!(contents(&mut f), b"ab\0\0\0\0\0\0\0\0c");
}

#[test]
fn truncate_with_size_parameter() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 10);
    f.write_all(b"abcdefg\n").unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    // Python's truncate() with no size: at the position.
    let here = f.stream_position().unwrap();
    f.set_len(here).unwrap();
    assert!(!f.is_rolled_over());
    assert_eq!(contents(&mut f), b"");
    f.write_all(b"abcdefg\n").unwrap();
    f.set_len(4).unwrap();
    assert!(!f.is_rolled_over());
    assert_eq!(contents(&mut f), b"abcd");
    assert_eq!(
        f.stream_position().unwrap(),
        8,
        "set_len does not move the position"
    );
    f.set_len(20).unwrap();
    assert!(f.is_rolled_over());
    assert_eq!(f.as_file().unwrap().metadata().unwrap().len(), 20);
    let mut want = b"abcd".to_vec();
    want.resize(20, 0);
    assert_eq!(contents(&mut f), want);
}

#[test]
fn set_len_extends_with_zeros_in_memory_too() {
    // Deviation 5: Python's in-memory truncate(8) of 3 bytes keeps 3; a file gets 8.
    let mut f = SpooledTemporaryFile::new(10);
    f.write_all(b"abc").unwrap();
    f.set_len(8).unwrap();
    assert!(!f.is_rolled_over());
    assert_eq!(f.len(), 8);
    assert_eq!(contents(&mut f), b"abc\0\0\0\0\0");
    // Shrink, then grow again: the cut bytes come back as zeros.
    f.set_len(1).unwrap();
    f.set_len(3).unwrap();
    assert_eq!(contents(&mut f), b"a\0\0");
}

#[test]
fn set_len_with_max_size_zero_never_rolls_over() {
    let mut f = SpooledTemporaryFile::new(0);
    f.set_len(1 << 20).unwrap();
    assert!(!f.is_rolled_over());
    assert_eq!(f.len(), 1 << 20);
    f.write_all(&[1u8; 5000]).unwrap();
    assert!(!f.is_rolled_over());
}

#[test]
fn impossible_sizes_are_errors_not_aborts() {
    let mut f = SpooledTemporaryFile::new(0);
    f.write_all(b"keep").unwrap();
    let err = f.set_len(u64::MAX).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let err = f.set_len(i64::MAX as u64).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::OutOfMemory);
    let err = f.seek(SeekFrom::Current(-100)).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(f.seek(SeekFrom::Start(u64::MAX)).is_err());
    assert_eq!(
        f.stream_position().unwrap(),
        4,
        "a failed seek does not move"
    );
    assert_eq!(contents(&mut f), b"keep");
}

#[test]
fn debug_shows_the_state_not_the_bytes() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 4);
    f.write_all(b"abc").unwrap();
    let text = format!("{:?}", f);
    assert!(text.starts_with("SpooledTemporaryFile"), "{}", text);
    assert!(
        text.contains("len: 3") && text.contains("max_size: 4"),
        "{}",
        text
    );
    f.write_all(b"secret").unwrap();
    let text = format!("{:?}", f);
    assert!(
        text.contains("file") && !text.contains("secret"),
        "{}",
        text
    );
}

// ---- failed rollovers keep every byte ----

#[test]
fn rollover_into_a_removed_dir_keeps_the_data_and_succeeds_once_it_is_back() {
    let scratch = Scratch::new();
    let dir = scratch.path().join("spool");
    std::fs::create_dir(&dir).unwrap();
    let mut f = spooled_in(&dir, 10);
    f.write_all(b"0123456789").unwrap();
    f.seek(SeekFrom::Start(4)).unwrap();
    std::fs::remove_dir(&dir).unwrap();

    let err = f.rollover().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(err.to_string().contains(dir.to_str().unwrap()), "{}", err);
    assert!(!f.is_rolled_over());
    assert_eq!(f.stream_position().unwrap(), 4);

    // The descriptor, set_len past max_size and a write past max_size fail the same way;
    // the write is not performed, so nothing is duplicated on retry.
    assert_eq!(f.as_file().unwrap_err().kind(), io::ErrorKind::NotFound);
    assert_eq!(f.set_len(11).unwrap_err().kind(), io::ErrorKind::NotFound);
    f.seek(SeekFrom::End(0)).unwrap();
    assert_eq!(f.write(b"!").unwrap_err().kind(), io::ErrorKind::NotFound);
    assert_eq!(f.len(), 10);

    // Still readable and writable in memory.
    f.seek(SeekFrom::Start(0)).unwrap();
    f.write_all(b"ab").unwrap();
    let mut buf = [0u8; 3];
    f.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"234");
    assert_eq!(contents(&mut f), b"ab23456789");

    std::fs::create_dir(&dir).unwrap();
    f.rollover().unwrap();
    assert!(f.is_rolled_over());
    assert_eq!(f.stream_position().unwrap(), 5);
    assert_eq!(contents(&mut f), b"ab23456789");
    f.seek(SeekFrom::End(0)).unwrap();
    f.write_all(b"!").unwrap();
    assert_eq!(contents(&mut f), b"ab23456789!");
    drop(f);
    assert!(
        common::list(&dir).is_empty(),
        "no half-made file is left behind"
    );
}

#[test]
fn into_file_into_a_removed_dir_is_an_error() {
    let scratch = Scratch::new();
    let dir = scratch.path().join("gone");
    let mut f = spooled_in(&dir, 10);
    f.write_all(b"abc").unwrap();
    assert_eq!(f.into_file().unwrap_err().kind(), io::ErrorKind::NotFound);
}

#[test]
#[cfg(unix)]
fn rollover_past_the_file_size_limit_keeps_the_data() {
    // The file size limit is process-wide: the body runs in a fresh process of its own,
    // which sets the limit itself.
    let scratch = Scratch::new();
    common::child::Child::new("child_rolls_over_past_the_file_size_limit")
        .arg(scratch.path())
        .assert_passes();
    assert!(common::list(scratch.path()).is_empty());
}

/// The file size limit of this process (`RLIMIT_FSIZE`): `(soft, hard)`.
#[cfg(unix)]
fn file_size_limit() -> (libc::rlim_t, libc::rlim_t) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into `lim`, which we own.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim) }, 0);
    (lim.rlim_cur, lim.rlim_max)
}

/// Sets the soft file size limit of this process to `soft` (the hard one is kept).
#[cfg(unix)]
fn set_file_size_limit(soft: libc::rlim_t) {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: file_size_limit().1,
    };
    // SAFETY: setrlimit reads `lim`, which we own.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_FSIZE, &lim) }, 0);
}

/// Raises the soft file size limit to the hard one when dropped, also when the test panics:
/// the test harness of the child process then writes its report (a file) in full.
#[cfg(unix)]
struct RaiseOnDrop;

#[cfg(unix)]
impl Drop for RaiseOnDrop {
    fn drop(&mut self) {
        set_file_size_limit(file_size_limit().1);
    }
}

/// The child of [`rollover_past_the_file_size_limit_keeps_the_data`].
#[test]
#[ignore]
#[cfg(unix)]
fn child_rolls_over_past_the_file_size_limit() {
    const LIMIT: u64 = 4096;
    let dir = common::child::child_args().remove(0);
    // A write past the limit fails with EFBIG instead of killing the process.
    // SAFETY: ignoring a signal has no memory-safety preconditions.
    unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
    let raise = RaiseOnDrop;
    set_file_size_limit(LIMIT as libc::rlim_t);
    let data: Vec<u8> = (0..3 * LIMIT).map(|i| (i % 251) as u8).collect();
    let mut f = spooled_in(&dir, 0);
    f.write_all(&data).unwrap();
    f.seek(SeekFrom::Start(7)).unwrap();
    let err = f.rollover().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::FileTooLarge, "{}", err);
    assert!(err.to_string().contains(dir.to_str().unwrap()), "{}", err);
    assert!(!f.is_rolled_over());
    assert_eq!(f.stream_position().unwrap(), 7);
    assert_eq!(contents(&mut f), data);
    assert!(common::list(&dir).is_empty());
    // Raise the limit again: the same bytes now move to disk.
    drop(raise);
    f.rollover().unwrap();
    assert!(f.is_rolled_over());
    assert_eq!(f.stream_position().unwrap(), 7);
    assert_eq!(contents(&mut f), data);
}

// ---- random operation sequences against a plain file ----

#[derive(Clone, Debug)]
enum Op {
    Write(Vec<u8>),
    WriteAll(Vec<u8>),
    WriteVectored(Vec<Vec<u8>>),
    Seek(SeekFrom),
    Read(usize),
    SetLen(u64),
    Rollover,
}

/// Bytes to write; empty often, since writing nothing has rules of its own.
fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => Just(Vec::new()),
        5 => prop::collection::vec(any::<u8>(), 1..80),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => bytes().prop_map(Op::Write),
        2 => bytes().prop_map(Op::WriteAll),
        1 => prop::collection::vec(prop::collection::vec(any::<u8>(), 0..30), 0..4)
            .prop_map(Op::WriteVectored),
        1 => (0u64..300).prop_map(|n| Op::Seek(SeekFrom::Start(n))),
        1 => (-150i64..150).prop_map(|n| Op::Seek(SeekFrom::End(n))),
        1 => (-150i64..150).prop_map(|n| Op::Seek(SeekFrom::Current(n))),
        2 => (0usize..120).prop_map(Op::Read),
        1 => (0u64..300).prop_map(Op::SetLen),
        1 => Just(Op::Rollover),
    ]
}

/// What an operation gave: its value, or only that it failed (the kinds may differ).
#[derive(Debug, PartialEq)]
enum Outcome {
    Done(u64),
    Read(Vec<u8>),
    Failed,
}

fn outcome<T: Into<u64>>(r: io::Result<T>) -> Outcome {
    r.map_or(Outcome::Failed, |v| Outcome::Done(v.into()))
}

/// What the operations need beyond `Read + Write + Seek`: a plain file has nothing to roll
/// over, so its `rollover` does nothing and succeeds.
trait Target: Read + Write + Seek {
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    fn rollover(&mut self) -> io::Result<()>;
}

impl Target for File {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
    fn rollover(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Target for SpooledTemporaryFile {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        SpooledTemporaryFile::set_len(self, len)
    }
    fn rollover(&mut self) -> io::Result<()> {
        SpooledTemporaryFile::rollover(self)
    }
}

fn apply<F: Target>(f: &mut F, op: &Op) -> Outcome {
    match op {
        Op::Write(buf) => outcome(f.write(buf).map(|n| n as u64)),
        Op::WriteAll(buf) => outcome(f.write_all(buf).map(|()| buf.len() as u64)),
        Op::WriteVectored(bufs) => {
            let slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
            outcome(f.write_vectored(&slices).map(|n| n as u64))
        }
        Op::Seek(from) => outcome(f.seek(*from)),
        Op::Read(n) => {
            let mut buf = vec![0u8; *n];
            f.read(&mut buf)
                .map_or(Outcome::Failed, |got| Outcome::Read(buf[..got].to_vec()))
        }
        Op::SetLen(n) => outcome(f.set_len(*n).map(|()| 0u64)),
        Op::Rollover => outcome(f.rollover().map(|()| 0u64)),
    }
}

/// Whether `op` must roll over a spooled file at `pos` with `max_size` (Python's rule: the
/// position after a write passes max_size; set_len past max_size unless it is 0).
fn rolls_over(op: &Op, pos: u64, max_size: u64) -> bool {
    match op {
        Op::Write(buf) => max_size > 0 && pos + buf.len() as u64 > max_size,
        // write_all of nothing writes nothing, so it cannot roll over.
        Op::WriteAll(buf) => max_size > 0 && !buf.is_empty() && pos + buf.len() as u64 > max_size,
        Op::WriteVectored(bufs) => {
            let total: usize = bufs.iter().map(Vec::len).sum();
            max_size > 0 && pos + total as u64 > max_size
        }
        Op::SetLen(n) => max_size > 0 && *n > max_size,
        Op::Rollover => true,
        Op::Seek(_) | Op::Read(_) => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    #[cfg_attr(
        windows,
        ignore = "std's File::write_vectored on Windows writes one buffer per call"
    )]
    fn behaves_byte_for_byte_like_a_file(
        max_size in prop_oneof![Just(0usize), Just(1), Just(16), Just(64), Just(200)],
        ops in prop::collection::vec(op(), 0..40),
    ) {
        let scratch = Scratch::new();
        let (mut file, path) = tempkit::Builder::new().dir(scratch.path()).mkstemp().unwrap();
        std::fs::remove_file(&path).unwrap();
        let mut spooled = spooled_in(scratch.path(), max_size);
        let mut rolled = false;
        for (i, op) in ops.iter().enumerate() {
            let pos = spooled.stream_position().unwrap();
            rolled |= rolls_over(op, pos, max_size as u64);
            let want = apply(&mut file, op);
            let got = apply(&mut spooled, op);
            prop_assert_eq!(&got, &want, "op {} {:?}", i, op);
            prop_assert_eq!(spooled.is_rolled_over(), rolled, "op {} {:?}", i, op);
            prop_assert_eq!(spooled.len(), file.metadata().unwrap().len());
            prop_assert_eq!(
                spooled.stream_position().unwrap(),
                file.stream_position().unwrap()
            );
        }
        prop_assert_eq!(contents(&mut spooled), contents(&mut file));
    }
}

#[test]
fn an_impossible_length_fails_without_rolling_over() {
    let scratch = Scratch::new();
    let mut f = spooled_in(scratch.path(), 100);
    f.write_all(b"keep").unwrap();
    let err = f.set_len(u64::MAX).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    assert!(
        !f.is_rolled_over(),
        "a size no file can have must not roll over"
    );
    assert_eq!(contents(&mut f), b"keep");
    assert!(scratch.names().is_empty());
}
