//! Random operation sequences on `SpooledTemporaryFile` and `NamedTemporaryFile`, checked
//! step by step against a model: a `Vec<u8>` and a position.
#![no_main]

use std::io::{Read, Seek, SeekFrom, Write};

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

/// Positions and lengths stay below this, so that no case spends its time on huge files.
const SPAN: u64 = 1 << 20;

#[derive(Arbitrary, Debug)]
enum Op {
    Write(Vec<u8>),
    Read(u16),
    SeekStart(u32),
    SeekCurrent(i32),
    SeekEnd(i32),
    SetLen(u32),
    Rollover,
    Flush,
    /// Compares everything: the length, and every byte (through a second handle when there
    /// is one), without moving the position.
    Check,
}

#[derive(Arbitrary, Debug)]
struct Case {
    /// `None`: a NamedTemporaryFile; `Some(max_size)`: a SpooledTemporaryFile.
    spooled: Option<u16>,
    ops: Vec<Op>,
}

/// The expected state.
#[derive(Default)]
struct Model {
    data: Vec<u8>,
    pos: u64,
    rolled: bool,
}

impl Model {
    fn write(&mut self, buf: &[u8]) {
        // As a file: writing nothing past the end does not extend it.
        if buf.is_empty() {
            return;
        }
        let at = self.pos as usize;
        if self.data.len() < at {
            self.data.resize(at, 0);
        }
        let end = at + buf.len();
        if self.data.len() < end {
            self.data.resize(end, 0);
        }
        self.data[at..end].copy_from_slice(buf);
        self.pos = end as u64;
    }

    fn read(&mut self, n: usize) -> Vec<u8> {
        let at = (self.pos as usize).min(self.data.len());
        let end = (at + n).min(self.data.len());
        self.pos += (end - at) as u64;
        self.data[at..end].to_vec()
    }

    /// The new position, or `None` for a seek before the start (an error, position kept).
    fn seek(&mut self, to: SeekFrom) -> Option<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n as i128),
            SeekFrom::Current(d) => Some(self.pos as i128 + d as i128),
            SeekFrom::End(d) => Some(self.data.len() as i128 + d as i128),
        }
        .filter(|&n| n >= 0)?;
        self.pos = new as u64;
        Some(self.pos)
    }
}

/// What both kinds of file offer the fuzzer.
trait Target: Read + Write + Seek {
    fn set_len(&mut self, n: u64) -> std::io::Result<()>;
    fn rollover(&mut self) -> std::io::Result<()>;
    fn len(&mut self) -> u64;
    fn is_rolled_over(&self) -> bool;
    /// The whole contents, read without moving the position.
    fn contents(&mut self) -> Vec<u8>;
}

impl Target for tempkit::SpooledTemporaryFile {
    fn set_len(&mut self, n: u64) -> std::io::Result<()> {
        tempkit::SpooledTemporaryFile::set_len(self, n)
    }
    fn rollover(&mut self) -> std::io::Result<()> {
        tempkit::SpooledTemporaryFile::rollover(self)
    }
    fn len(&mut self) -> u64 {
        tempkit::SpooledTemporaryFile::len(self)
    }
    fn is_rolled_over(&self) -> bool {
        tempkit::SpooledTemporaryFile::is_rolled_over(self)
    }
    fn contents(&mut self) -> Vec<u8> {
        let pos = self.stream_position().unwrap();
        self.seek(SeekFrom::Start(0)).unwrap();
        let mut all = Vec::new();
        self.read_to_end(&mut all).unwrap();
        self.seek(SeekFrom::Start(pos)).unwrap();
        all
    }
}

impl Target for tempkit::NamedTemporaryFile {
    fn set_len(&mut self, n: u64) -> std::io::Result<()> {
        self.as_file()?.set_len(n)
    }
    fn rollover(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn len(&mut self) -> u64 {
        self.as_file().unwrap().metadata().unwrap().len()
    }
    fn is_rolled_over(&self) -> bool {
        true
    }
    fn contents(&mut self) -> Vec<u8> {
        // A second handle, by name and checked to be the same file.
        let mut all = Vec::new();
        self.reopen().unwrap().read_to_end(&mut all).unwrap();
        all
    }
}

/// Panics, briefly (lengths and the first difference, not megabytes of bytes), unless equal.
fn same(got: &[u8], want: &[u8], what: &str) {
    if got != want {
        let at = got.iter().zip(want).position(|(a, b)| a != b);
        panic!(
            "{what}: got {} bytes, want {}; first difference at {:?}",
            got.len(),
            want.len(),
            at.unwrap_or(got.len().min(want.len()))
        );
    }
}

fn run(t: &mut dyn Target, m: &mut Model, max_size: Option<u64>, ops: &[Op]) {
    for op in ops {
        match op {
            Op::Write(buf) => {
                if m.pos + buf.len() as u64 > SPAN {
                    continue;
                }
                if buf.is_empty() {
                    // One call to `write` (`write_all` would make none): nothing is written,
                    // but a spooled file still checks its position, as Python's does.
                    assert_eq!(t.write(buf).unwrap(), 0);
                } else {
                    t.write_all(buf).unwrap();
                }
                m.write(buf);
                if let Some(max) = max_size {
                    m.rolled |= max > 0 && m.pos > max;
                }
            }
            Op::Read(n) => {
                let mut got = Vec::new();
                t.take(u64::from(*n)).read_to_end(&mut got).unwrap();
                same(&got, &m.read(usize::from(*n)), "read");
            }
            Op::SeekStart(n) => {
                let to = SeekFrom::Start(u64::from(*n) % SPAN);
                assert_eq!(t.seek(to).unwrap(), m.seek(to).unwrap());
            }
            Op::SeekCurrent(d) | Op::SeekEnd(d) => {
                let d = i64::from(*d) % SPAN as i64;
                let to = match op {
                    Op::SeekCurrent(_) => SeekFrom::Current(d),
                    _ => SeekFrom::End(d),
                };
                let before = m.pos;
                match m.seek(to) {
                    Some(p) => assert_eq!(t.seek(to).unwrap(), p),
                    None => {
                        assert!(t.seek(to).is_err(), "seek before the start accepted");
                        assert_eq!(t.stream_position().unwrap(), before);
                    }
                }
            }
            Op::SetLen(n) => {
                let n = u64::from(*n) % SPAN;
                t.set_len(n).unwrap();
                m.data.resize(n as usize, 0);
                if let Some(max) = max_size {
                    m.rolled |= max > 0 && n > max;
                }
            }
            Op::Rollover => {
                t.rollover().unwrap();
                m.rolled = true;
            }
            Op::Flush => t.flush().unwrap(),
            Op::Check => {
                assert_eq!(t.len(), m.data.len() as u64);
                same(&t.contents(), &m.data, "contents");
                assert_eq!(t.stream_position().unwrap(), m.pos);
            }
        }
        if max_size.is_some() {
            assert_eq!(t.is_rolled_over(), m.rolled, "after {:?}", op);
        }
    }
    assert_eq!(t.stream_position().unwrap(), m.pos);
    same(&t.contents(), &m.data, "final contents");
}

fuzz_target!(|case: Case| {
    let mut model = Model::default();
    match case.spooled {
        Some(max) => {
            let max = u64::from(max % 4096);
            let mut file = tempkit::SpooledTemporaryFile::new(max as usize);
            run(&mut file, &mut model, Some(max), &case.ops);
            // into_file rolls over and keeps the position and the bytes.
            let mut file = file.into_file().unwrap();
            assert_eq!(file.stream_position().unwrap(), model.pos);
            let mut all = Vec::new();
            file.seek(SeekFrom::Start(0)).unwrap();
            file.read_to_end(&mut all).unwrap();
            same(&all, &model.data, "into_file");
        }
        None => {
            let mut file = tempkit::NamedTemporaryFile::new().unwrap();
            run(&mut file, &mut model, None, &case.ops);
            let path = file.path().to_owned();
            same(&std::fs::read(&path).unwrap(), &model.data, "by name");
            drop(file);
            assert!(!path.exists(), "a dropped NamedTemporaryFile left its name");
        }
    }
});
