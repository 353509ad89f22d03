//! `SpooledTemporaryFile`: bytes in memory until they grow past a limit, then an unnamed file
//! on disk, without losing a byte on the way.

use std::fmt;
use std::fs::File;
use std::io::{self, IoSlice, Read, Seek, SeekFrom, Write};

use crate::{error, Builder, TemporaryFile};

/// A temporary file that lives in memory until it grows past `max_size` bytes, then moves to
/// an unnamed file on disk (it "rolls over").
///
/// It reads, writes and seeks like a [`File`] in both states: seeking past the end is allowed,
/// and a later write leaves a zero-filled gap; [`set_len`](SpooledTemporaryFile::set_len)
/// truncates or extends with zeros. While in memory, writing at the end costs what extending
/// a `Vec<u8>` costs.
///
/// It rolls over:
/// - when a write would take the position past `max_size` (strictly greater; with
///   `max_size == 0` never by itself). The rollover happens before that write, so the write
///   goes straight to disk; the outcome is the same as Python's write-then-roll. (A `write`
///   of nothing at a position already past `max_size` rolls over, as Python's `write(b'')`
///   does; `write_all` of nothing makes no write at all.)
/// - on [`rollover`](SpooledTemporaryFile::rollover),
///   [`into_file`](SpooledTemporaryFile::into_file), [`as_file`](SpooledTemporaryFile::as_file)
///   and [`as_file_mut`](SpooledTemporaryFile::as_file_mut) (Python's `fileno()`);
/// - on [`set_len`](SpooledTemporaryFile::set_len) to more than `max_size` (but never when
///   `max_size == 0`).
///
/// The position is kept across a rollover. The file on disk is a
/// [`TemporaryFile`](crate::TemporaryFile) made with the [`Builder`]'s options (`dir` above
/// all): it has no name and disappears when this value is dropped.
///
/// # Errors
/// A rollover that fails (a missing `dir`, no space left, the file size limit) returns the
/// error and changes nothing: every byte stays in memory, readable and writable, the position
/// is unchanged, the half-written disk file is gone, and a later rollover can succeed. When a
/// write triggered the rollover, that write is not performed (it returns the error), so a
/// retry never duplicates data.
///
/// # Python equivalent
/// `tempfile.SpooledTemporaryFile(max_size, mode='w+b', suffix=, prefix=, dir=)`. Deviations:
/// files are bytes (no text mode); [`set_len`](SpooledTemporaryFile::set_len) extends with
/// zeros in memory too, where Python's `truncate(n)` does not, and with `max_size == 0` it
/// never rolls over, where Python's `truncate(n > 0)` always does; `close()` is `drop`.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom, Write};
///
/// let mut file = tempkit::SpooledTemporaryFile::new(10);
/// file.write_all(b"0123456789")?;
/// assert!(!file.is_rolled_over()); // exactly max_size bytes: still in memory
/// file.write_all(b"!")?;
/// assert!(file.is_rolled_over()); // past max_size: on disk now
/// file.seek(SeekFrom::Start(8))?;
/// let mut rest = String::new();
/// file.read_to_string(&mut rest)?;
/// assert_eq!(rest, "89!");
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct SpooledTemporaryFile {
    /// The bytes and the position while in memory; empty once rolled over.
    memory: Memory,
    /// The file on disk, once rolled over.
    file: Option<File>,
    max_size: usize,
    /// The options the disk file is made with.
    builder: Builder,
}

/// The in-memory state: the bytes and a position that may lie past their end.
#[derive(Default)]
struct Memory {
    data: Vec<u8>,
    /// At most `i64::MAX`, as for a file.
    pos: u64,
}

impl SpooledTemporaryFile {
    /// A spooled file with the default options: the same as
    /// `Builder::new().spooled_temporary_file(max_size)`.
    ///
    /// # Python equivalent
    /// `tempfile.SpooledTemporaryFile(max_size)`.
    ///
    /// ```
    /// let file = tempkit::SpooledTemporaryFile::new(1024);
    /// assert!(!file.is_rolled_over());
    /// assert_eq!(file.len(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[must_use]
    pub fn new(max_size: usize) -> SpooledTemporaryFile {
        Builder::new().spooled_temporary_file(max_size)
    }

    /// Whether the bytes have moved to a file on disk.
    ///
    /// # Python equivalent
    /// The private `_rolled` attribute.
    ///
    /// ```
    /// let mut file = tempkit::SpooledTemporaryFile::new(0);
    /// assert!(!file.is_rolled_over());
    /// file.rollover()?;
    /// assert!(file.is_rolled_over());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_rolled_over(&self) -> bool {
        self.file.is_some()
    }

    /// Moves the bytes to a file on disk now, keeping the position; does nothing if they are
    /// there already.
    ///
    /// # Errors
    /// Creating the file (missing `dir`, no permission, bad prefix or suffix), writing to it
    /// (no space, file size limit) or seeking in it. On error nothing changes: every byte
    /// stays in memory, usable, and calling this again later can succeed.
    ///
    /// # Python equivalent
    /// `SpooledTemporaryFile.rollover()`.
    ///
    /// ```
    /// use std::io::{Seek, SeekFrom, Write};
    /// let mut file = tempkit::SpooledTemporaryFile::new(0);
    /// file.write_all(b"abc")?;
    /// file.seek(SeekFrom::Start(1))?;
    /// file.rollover()?;
    /// assert!(file.is_rolled_over());
    /// assert_eq!(file.stream_position()?, 1);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn rollover(&mut self) -> io::Result<()> {
        self.roll().map(|_| ())
    }

    /// The size in bytes (in memory, or of the file on disk).
    ///
    /// After a rollover this asks the file system (`fstat`); in the impossible case that this
    /// fails on the open descriptor, the answer is 0.
    ///
    /// # Python equivalent
    /// None directly: `f.seek(0, 2)` or `os.fstat(f.fileno()).st_size`.
    ///
    /// ```
    /// use std::io::Write;
    /// let mut file = tempkit::SpooledTemporaryFile::new(100);
    /// file.write_all(b"abc")?;
    /// assert_eq!(file.len(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn len(&self) -> u64 {
        match &self.file {
            Some(file) => file.metadata().map(|m| m.len()).unwrap_or(0),
            None => self.memory.data.len() as u64,
        }
    }

    /// Whether the size is 0.
    ///
    /// # Python equivalent
    /// None directly.
    ///
    /// ```
    /// let file = tempkit::SpooledTemporaryFile::new(100);
    /// assert!(file.is_empty());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Truncates or extends (with zeros) to `size` bytes, as [`File::set_len`] does; the
    /// position does not move.
    ///
    /// Rolls over first when `size > max_size`, unless `max_size == 0`.
    ///
    /// # Errors
    /// A failed rollover (nothing changes, see [`rollover`](Self::rollover)); `size` above
    /// `i64::MAX` (`InvalidInput`, as for a file); memory that cannot be had (`OutOfMemory`);
    /// the OS error of `ftruncate` on disk.
    ///
    /// # Python equivalent
    /// `SpooledTemporaryFile.truncate(size)`. Deviation: in memory Python never extends
    /// (`truncate(8)` of 3 bytes keeps 3); this extends with zeros, as a file does. With
    /// `max_size == 0` Python rolls over on any `truncate(n > 0)`; this never does.
    ///
    /// ```
    /// use std::io::{Read, Seek, SeekFrom, Write};
    /// let mut file = tempkit::SpooledTemporaryFile::new(100);
    /// file.write_all(b"abc")?;
    /// file.set_len(5)?;
    /// assert!(!file.is_rolled_over());
    /// file.seek(SeekFrom::Start(0))?;
    /// let mut all = Vec::new();
    /// file.read_to_end(&mut all)?;
    /// assert_eq!(all, b"abc\0\0");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn set_len(&mut self, size: u64) -> io::Result<()> {
        if self.file.is_none() && i64::try_from(size).is_err() {
            // Refused by a file too: do not roll over for nothing.
            return self.memory.set_len(size);
        }
        if self.file.is_none() && (self.max_size == 0 || size <= self.max_size as u64) {
            return self.memory.set_len(size);
        }
        self.roll()?.set_len(size)
    }

    /// The file on disk, rolling over first: the way to its descriptor (`AsFd`/`AsRawFd` on
    /// the [`File`]) and its metadata.
    ///
    /// # Errors
    /// A failed rollover; nothing changes (see [`rollover`](Self::rollover)).
    ///
    /// # Python equivalent
    /// `SpooledTemporaryFile.fileno()`, which also rolls over first.
    ///
    /// ```
    /// use std::io::Write;
    /// let mut file = tempkit::SpooledTemporaryFile::new(100);
    /// file.write_all(b"abc")?;
    /// assert_eq!(file.as_file()?.metadata()?.len(), 3);
    /// assert!(file.is_rolled_over());
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_file(&mut self) -> io::Result<&File> {
        self.roll().map(|file| &*file)
    }

    /// The file on disk, mutable, rolling over first.
    ///
    /// # Errors
    /// A failed rollover; nothing changes (see [`rollover`](Self::rollover)).
    ///
    /// # Python equivalent
    /// `SpooledTemporaryFile.fileno()`, which also rolls over first.
    ///
    /// ```
    /// use std::io::Write;
    /// let mut file = tempkit::SpooledTemporaryFile::new(100);
    /// file.as_file_mut()?.write_all(b"abc")?;
    /// assert_eq!(file.len(), 3);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_file_mut(&mut self) -> io::Result<&mut File> {
        self.roll()
    }

    /// The file on disk, rolling over first; it is still unnamed and disappears when closed.
    ///
    /// # Errors
    /// A failed rollover. The bytes are then dropped with `self`: to keep them on failure,
    /// call [`rollover`](Self::rollover) first (after which this cannot fail).
    ///
    /// # Python equivalent
    /// None: Python's `_file` attribute after `rollover()`.
    ///
    /// ```
    /// use std::io::{Read, Seek, SeekFrom, Write};
    /// let mut spooled = tempkit::SpooledTemporaryFile::new(100);
    /// spooled.write_all(b"abc")?;
    /// let mut file = spooled.into_file()?;
    /// file.seek(SeekFrom::Start(0))?;
    /// let mut text = String::new();
    /// file.read_to_string(&mut text)?;
    /// assert_eq!(text, "abc");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_file(mut self) -> io::Result<File> {
        match self.file.take() {
            Some(file) => Ok(file),
            None => self.memory.spill(&self.builder),
        }
    }

    /// A spooled file that rolls over into a file made with `builder`'s options.
    pub(crate) fn with_builder(builder: Builder, max_size: usize) -> SpooledTemporaryFile {
        SpooledTemporaryFile {
            memory: Memory::default(),
            file: None,
            max_size,
            builder,
        }
    }

    /// The file on disk, rolling over first if need be.
    fn roll(&mut self) -> io::Result<&mut File> {
        let file = match self.file.take() {
            Some(file) => file,
            None => {
                let file = self.memory.spill(&self.builder)?;
                self.memory = Memory::default();
                file
            }
        };
        Ok(self.file.insert(file))
    }

    /// Writes to the disk file, rolling over first if need be. Kept out of line so that
    /// writing to memory stays small.
    #[inline(never)]
    fn write_to_disk(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(file) = &mut self.file {
            return file.write(buf);
        }
        self.roll()?.write(buf)
    }

    /// [`write_to_disk`](Self::write_to_disk) for all of `buf`.
    #[inline(never)]
    fn write_all_to_disk(&mut self, buf: &[u8]) -> io::Result<()> {
        if let Some(file) = &mut self.file {
            return file.write_all(buf);
        }
        if buf.is_empty() {
            // As `write_all` always does: nothing to write, no write, so no rollover.
            return Ok(());
        }
        self.roll()?.write_all(buf)
    }

    /// Whether writing `len` bytes at the memory position stays within `max_size`.
    #[inline]
    pub(crate) fn fits(&self, len: usize) -> bool {
        self.max_size == 0
            || (self.memory.pos)
                .checked_add(len as u64)
                .map_or(false, |end| end <= self.max_size as u64)
    }
}

impl Memory {
    /// The position as an index into memory, or an error if no memory could be that large.
    fn index(&self) -> io::Result<usize> {
        usize::try_from(self.pos).map_err(|_| too_large(self.pos))
    }

    /// Makes room for the bytes up to `end`, as an error rather than an abort when memory
    /// runs out.
    fn reserve_to(&mut self, end: usize) -> io::Result<()> {
        if end > self.data.len() {
            let more = end - self.data.len();
            if self.data.try_reserve(more).is_err() {
                return Err(too_large(end as u64));
            }
        }
        Ok(())
    }

    /// Writes all of `buf` at the position (room already reserved) and advances it.
    fn put(&mut self, at: usize, buf: &[u8]) {
        let len = self.data.len();
        if buf.is_empty() {
            // As for a file: writing nothing past the end does not extend.
        } else if at == len {
            self.data.extend_from_slice(buf);
        } else if at < len {
            let overlap = (len - at).min(buf.len());
            self.data[at..at + overlap].copy_from_slice(&buf[..overlap]);
            self.data.extend_from_slice(&buf[overlap..]);
        } else {
            self.data.resize(at, 0);
            self.data.extend_from_slice(buf);
        }
    }

    #[inline]
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // The common case, appending, costs what `Vec::extend_from_slice` costs. (The bytes
        // are already in memory once, in `buf`, so this grows as any `Vec` does; sizes made
        // from a number, a gap or `set_len`, go through `reserve_to` and fail softly.)
        if self.pos == self.data.len() as u64 {
            self.data.extend_from_slice(buf);
            self.pos = self.data.len() as u64;
            return Ok(buf.len());
        }
        self.write_inside_or_past_end(buf)
    }

    /// Writing anywhere but at the end: over bytes already there, or after a gap past the
    /// end. Kept out of line so that appending stays small.
    #[inline(never)]
    fn write_inside_or_past_end(&mut self, buf: &[u8]) -> io::Result<usize> {
        let at = self.index()?;
        let end = at
            .checked_add(buf.len())
            .ok_or_else(|| too_large(u64::MAX))?;
        self.reserve_to(end)?;
        self.put(at, buf);
        self.pos = end as u64;
        Ok(buf.len())
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let total = bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()));
        let mut at = self.index()?;
        let end = at.checked_add(total).ok_or_else(|| too_large(u64::MAX))?;
        self.reserve_to(end)?;
        for buf in bufs {
            self.put(at, buf);
            at += buf.len();
        }
        self.pos = end as u64;
        Ok(total)
    }

    fn read(&mut self, buf: &mut [u8]) -> usize {
        let len = self.data.len();
        let at = usize::try_from(self.pos).map_or(len, |p| p.min(len));
        let n = (len - at).min(buf.len());
        buf[..n].copy_from_slice(&self.data[at..at + n]);
        self.pos += n as u64;
        n
    }

    fn seek(&mut self, from: SeekFrom) -> io::Result<u64> {
        let new = match from {
            SeekFrom::Start(n) => i64::try_from(n).ok(),
            SeekFrom::End(delta) => i64::try_from(self.data.len())
                .ok()
                .and_then(|len| len.checked_add(delta)),
            SeekFrom::Current(delta) => i64::try_from(self.pos)
                .ok()
                .and_then(|pos| pos.checked_add(delta)),
        };
        match new {
            Some(pos) if pos >= 0 => {
                self.pos = pos as u64;
                Ok(self.pos)
            }
            _ => Err(error::new(
                io::ErrorKind::InvalidInput,
                format!("invalid seek in spooled temporary file: {:?}", from),
            )),
        }
    }

    fn set_len(&mut self, size: u64) -> io::Result<()> {
        if i64::try_from(size).is_err() {
            return Err(error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "cannot set the length of a spooled temporary file to {}",
                    size
                ),
            ));
        }
        let size = usize::try_from(size).map_err(|_| too_large(size))?;
        if size <= self.data.len() {
            self.data.truncate(size);
        } else {
            self.reserve_to(size)?;
            self.data.resize(size, 0);
        }
        Ok(())
    }

    /// A new disk file holding these bytes, positioned where memory is. `self` is untouched,
    /// and on error the half-made file is dropped (and, having no name, is gone).
    fn spill(&self, builder: &Builder) -> io::Result<File> {
        let mut file = disk_file(builder)?;
        let mut copy = file.write_all(&self.data);
        if copy.is_ok() && self.pos != self.data.len() as u64 {
            // After the write the file is at its end; elsewhere takes a seek.
            copy = file.seek(SeekFrom::Start(self.pos)).map(|_| ());
        }
        copy.map_err(|e| spill_error(e, builder, self.data.len()))?;
        Ok(file)
    }
}

/// The disk file a spooled file rolls over into: a `TemporaryFile` with `builder`'s options.
fn disk_file(builder: &Builder) -> io::Result<File> {
    builder.temporary_file().map(TemporaryFile::into_file)
}

/// An error while copying the bytes to disk, naming the directory.
fn spill_error(cause: io::Error, builder: &Builder, len: usize) -> io::Error {
    let what = format!(
        "failed to roll over {} bytes of a spooled temporary file",
        len
    );
    match builder.resolved_dir() {
        Ok(dir) => error::context(cause, format!("{} into `{}`", what, dir.display())),
        Err(_) => error::context(cause, what),
    }
}

/// Memory cannot hold `size` bytes.
fn too_large(size: u64) -> io::Error {
    error::new(
        io::ErrorKind::OutOfMemory,
        format!(
            "a spooled temporary file cannot hold {} bytes in memory",
            size
        ),
    )
}

impl Read for SpooledTemporaryFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(file) => file.read(buf),
            None => Ok(self.memory.read(buf)),
        }
    }
}

impl Write for SpooledTemporaryFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.file.is_none() && self.fits(buf.len()) {
            return self.memory.write(buf);
        }
        self.write_to_disk(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        // In memory a write takes all of `buf`: no loop needed.
        if self.file.is_none() && self.fits(buf.len()) {
            return self.memory.write(buf).map(|_| ());
        }
        self.write_all_to_disk(buf)
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        if let Some(file) = &mut self.file {
            return file.write_vectored(bufs);
        }
        let total = bufs.iter().fold(0usize, |n, b| n.saturating_add(b.len()));
        if self.fits(total) {
            self.memory.write_vectored(bufs)
        } else {
            self.roll()?.write_vectored(bufs)
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl Seek for SpooledTemporaryFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match &mut self.file {
            Some(file) => file.seek(pos),
            None => self.memory.seek(pos),
        }
    }
}

impl fmt::Debug for SpooledTemporaryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("SpooledTemporaryFile");
        d.field("max_size", &self.max_size);
        match &self.file {
            Some(file) => d.field("file", file),
            None => d
                .field("len", &self.memory.data.len())
                .field("position", &self.memory.pos),
        };
        d.finish()
    }
}
