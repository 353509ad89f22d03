//! The operations compared, and how each Rust contender performs them: tempkit, the
//! `tempfile` crate and the raw system-call floor. CPython's loops live in `cpython.py`.

use std::hint::black_box;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::floor;

/// One operation of the comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `TemporaryFile` created and dropped.
    TemporaryFile,
    /// `NamedTemporaryFile` created and dropped.
    NamedTemporaryFile,
    /// `mkstemp`, close, unlink.
    MkstempUnlink,
    /// `mkdtemp`, rmdir.
    MkdtempRmdir,
    /// `TemporaryDirectory` created empty and dropped.
    TempDirEmpty,
    /// `TemporaryDirectory` created, filled with 100 empty files, dropped.
    TempDir100,
    /// `TemporaryDirectory` with `protect(true)`, created empty and dropped.
    TempDirProtect,
    /// `TemporaryDirectory` with `reapable(true)`, created empty and dropped.
    TempDirReapable,
    /// Removal of a tree of 10,000 files in 100 directories (the building is not timed).
    RemoveTree,
    /// Removal of a tree of 100,000 files in 1,000 directories (the building is not timed).
    RemoveTreeLarge,
    /// Removal of a chain of 2,000 nested directories, one file in each (the building is not
    /// timed).
    RemoveTreeDeep,
    /// `SpooledTemporaryFile`: 1 MiB in 4 KiB writes, staying in memory, dropped.
    SpooledMemory,
    /// `SpooledTemporaryFile` holding 1 MiB in memory: `rollover()` and drop (the in-memory
    /// writes before are not timed).
    Rollover,
    /// `gettempdir()` once the answer is cached.
    GettempdirCached,
    /// The first `gettempdir()` of a fresh process: a process spawned, run and waited for.
    GettempdirFresh,
    /// `write_atomic` of 4 KiB over an existing file, durable (fsync file, rename, fsync dir).
    WriteAtomicDurable,
    /// The same, atomic only (no fsync).
    WriteAtomicOnly,
    /// Async (tokio, multi-thread runtime): 1,000 tasks at once, each creating a named file,
    /// writing 4 KiB and dropping it.
    AsyncNamed1000,
    /// Async: a directory of 1,000 files dropped in a task; the time the drop holds the
    /// worker.
    AsyncDirDrop,
    /// Async: the same, until the tree is gone.
    AsyncDirRemoved,
}

/// Who performs an operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// This project.
    Tempkit,
    /// The `tempfile` crate.
    Tempfile,
    /// The raw system-call floor (or, for tree removal, `std::fs::remove_dir_all`).
    Floor,
    /// CPython's `tempfile` module, in a `python3` subprocess.
    Python,
    /// The `atomic-write-file` crate (only for the publishing rows).
    AtomicWriteFile,
    /// The `async-tempfile` crate (only for the async rows).
    AsyncTempfile,
}

/// Files in the directory of [`Op::TempDir100`].
pub const FLAT_FILES: usize = 100;
/// Directories in the tree of [`Op::RemoveTree`].
pub const TREE_DIRS: usize = 100;
/// Files in each directory of the tree of [`Op::RemoveTree`].
pub const TREE_FILES_PER_DIR: usize = 100;
/// Directories in the tree of [`Op::RemoveTreeLarge`] (each with [`TREE_FILES_PER_DIR`] files).
pub const LARGE_TREE_DIRS: usize = 1000;
/// Levels of the chain of [`Op::RemoveTreeDeep`].
pub const DEEP_LEVELS: usize = 2000;
/// Bytes written by the spooled operations.
pub const SPOOL_BYTES: usize = 1 << 20;
/// Size of each spooled write.
pub const CHUNK: usize = 4096;
/// `max_size` of the spooled files: above [`SPOOL_BYTES`], so only `rollover()` moves them.
pub const SPOOL_MAX: usize = 2 * SPOOL_BYTES;
/// Bytes written by the publishing rows.
pub const PUBLISH_BYTES: usize = 4096;
/// The file the publishing rows replace, inside the row's directory.
pub const PUBLISH_NAME: &str = "published";

impl Op {
    /// Every operation, in table order.
    pub const ALL: [Op; 20] = [
        Op::TemporaryFile,
        Op::NamedTemporaryFile,
        Op::MkstempUnlink,
        Op::MkdtempRmdir,
        Op::TempDirEmpty,
        Op::TempDir100,
        Op::TempDirProtect,
        Op::TempDirReapable,
        Op::RemoveTree,
        Op::RemoveTreeLarge,
        Op::RemoveTreeDeep,
        Op::SpooledMemory,
        Op::Rollover,
        Op::GettempdirCached,
        Op::GettempdirFresh,
        Op::WriteAtomicDurable,
        Op::WriteAtomicOnly,
        Op::AsyncNamed1000,
        Op::AsyncDirDrop,
        Op::AsyncDirRemoved,
    ];

    /// The short name used on command lines, in JSON and by `cpython.py`.
    pub fn id(self) -> &'static str {
        match self {
            Op::TemporaryFile => "temporary_file",
            Op::NamedTemporaryFile => "named_temporary_file",
            Op::MkstempUnlink => "mkstemp_unlink",
            Op::MkdtempRmdir => "mkdtemp_rmdir",
            Op::TempDirEmpty => "tempdir_empty",
            Op::TempDir100 => "tempdir_100_files",
            Op::TempDirProtect => "tempdir_protect",
            Op::TempDirReapable => "tempdir_reapable",
            Op::RemoveTree => "remove_tree_10000",
            Op::RemoveTreeLarge => "remove_tree_100000",
            Op::RemoveTreeDeep => "remove_tree_deep_2000",
            Op::SpooledMemory => "spooled_1mib_memory",
            Op::Rollover => "rollover_1mib",
            Op::GettempdirCached => "gettempdir_cached",
            Op::GettempdirFresh => "gettempdir_fresh_process",
            Op::WriteAtomicDurable => "write_atomic_4k_durable",
            Op::WriteAtomicOnly => "write_atomic_4k_atomic_only",
            Op::AsyncNamed1000 => "async_named_1000",
            Op::AsyncDirDrop => "async_dir_1000_drop",
            Op::AsyncDirRemoved => "async_dir_1000_removed",
        }
    }

    /// The operation named `id`.
    pub fn from_id(id: &str) -> Option<Op> {
        Op::ALL.iter().copied().find(|op| op.id() == id)
    }

    /// What the table calls it.
    pub fn title(self) -> &'static str {
        match self {
            Op::TemporaryFile => "TemporaryFile new + drop",
            Op::NamedTemporaryFile => "NamedTemporaryFile new + drop",
            Op::MkstempUnlink => "mkstemp + close + unlink",
            Op::MkdtempRmdir => "mkdtemp + rmdir",
            Op::TempDirEmpty => "TemporaryDirectory empty, new + drop",
            Op::TempDir100 => "TemporaryDirectory + 100 files + drop",
            Op::TempDirProtect => "TemporaryDirectory protect(true), empty, new + drop",
            Op::TempDirReapable => "TemporaryDirectory reapable(true), empty, new + drop",
            Op::RemoveTree => "remove a tree of 10,000 files in 100 dirs",
            Op::RemoveTreeLarge => "remove a tree of 100,000 files in 1,000 dirs",
            Op::RemoveTreeDeep => "remove a chain of 2,000 nested dirs, a file in each",
            Op::SpooledMemory => "SpooledTemporaryFile 1 MiB in 4 KiB writes, in memory",
            Op::Rollover => "rollover of 1 MiB",
            Op::GettempdirCached => "gettempdir() cached",
            Op::GettempdirFresh => "first gettempdir() in a fresh process",
            Op::WriteAtomicDurable => "replace a file with 4 KiB, durable",
            Op::WriteAtomicOnly => "replace a file with 4 KiB, atomic only",
            Op::AsyncNamed1000 => {
                "async: 1,000 named files at once, create + write 4 KiB + drop (per 1,000)"
            }
            Op::AsyncDirDrop => "async: dir of 1,000 files dropped, worker held",
            Op::AsyncDirRemoved => "async: dir of 1,000 files dropped, until removed",
        }
    }

    /// What each contender actually calls, for the notes under the table.
    pub fn calls(self, who: Who) -> &'static str {
        use Op::*;
        use Who::*;
        match (self, who) {
            (TemporaryFile, Tempkit) => "TemporaryFile (Builder::dir(d).temporary_file())",
            (TemporaryFile, Tempfile) => "tempfile::tempfile_in(d)",
            (TemporaryFile, Floor) => "open(d, O_TMPFILE|O_EXCL) + close",
            (TemporaryFile, Python) => "TemporaryFile(dir=d).close()",
            (NamedTemporaryFile, Tempkit) => "Builder::dir(d).named_temporary_file()",
            (NamedTemporaryFile, Tempfile) => "NamedTempFile::new_in(d)",
            (NamedTemporaryFile, Floor) => "open(O_CREAT|O_EXCL) + unlink + close",
            (NamedTemporaryFile, Python) => "NamedTemporaryFile(dir=d).close()",
            (MkstempUnlink, Tempkit) => "Builder::dir(d).mkstemp(), drop, remove_file",
            (MkstempUnlink, Tempfile) => "NamedTempFile::new_in(d)?.keep(), drop, remove_file",
            (MkstempUnlink, Floor) => "open(O_CREAT|O_EXCL) + close + unlink",
            (MkstempUnlink, Python) => "os.close(fd); os.unlink(p) after mkstemp(dir=d)",
            (MkdtempRmdir, Tempkit) => "Builder::dir(d).mkdtemp(), remove_dir",
            (MkdtempRmdir, Tempfile) => "TempDir::new_in(d)?.keep(), remove_dir",
            (MkdtempRmdir, Floor) => "mkdir + rmdir",
            (MkdtempRmdir, Python) => "os.rmdir(mkdtemp(dir=d))",
            (TempDirEmpty, Tempkit) => "Builder::dir(d).temporary_directory(), drop",
            (TempDirEmpty, Tempfile) => "TempDir::new_in(d), drop",
            (TempDirEmpty, Floor) => "mkdir + rmdir",
            (TempDirEmpty, Python) => "TemporaryDirectory(dir=d).cleanup()",
            (TempDir100, Tempkit) => "temporary_directory(), 100 × open+close, drop",
            (TempDir100, Tempfile) => "TempDir::new_in(d), 100 × open+close, drop",
            (TempDir100, Floor) => "mkdir, 100 × open+close, 100 × unlink, rmdir",
            (TempDir100, Python) => "TemporaryDirectory, 100 × os.open+os.close, cleanup()",
            (TempDirProtect, Tempkit) => "temporary_directory() with protect(true), drop",
            (TempDirReapable, Tempkit) => "temporary_directory() with reapable(true), drop",
            (TempDirProtect | TempDirReapable, Floor) => "mkdir + rmdir (the plain directory)",
            (TempDirProtect | TempDirReapable, _) => "no such option",
            (RemoveTree | RemoveTreeLarge | RemoveTreeDeep, Tempkit) => "TemporaryDirectory drop",
            (RemoveTree | RemoveTreeLarge | RemoveTreeDeep, Tempfile) => "TempDir drop",
            (RemoveTree | RemoveTreeLarge | RemoveTreeDeep, Floor) => "std::fs::remove_dir_all",
            (RemoveTree, Python) => "TemporaryDirectory.cleanup() (shutil.rmtree)",
            (RemoveTreeLarge | RemoveTreeDeep, Python) => "(not measured)",
            (SpooledMemory, Tempkit) => "SpooledTemporaryFile::new(2 MiB), 256 writes",
            (SpooledMemory, Tempfile) => "spooled_tempfile(2 MiB), 256 writes",
            (SpooledMemory, Floor) => "Vec<u8>::extend_from_slice × 256",
            (SpooledMemory, Python) => "SpooledTemporaryFile(2 MiB), 256 writes, close()",
            (Rollover, Tempkit) => "SpooledTemporaryFile::rollover(), drop",
            (Rollover, Tempfile) => "SpooledTempFile::roll(), drop",
            (Rollover, Floor) => "open(O_TMPFILE) + write 1 MiB + close",
            (Rollover, Python) => "SpooledTemporaryFile.rollover(), close()",
            (GettempdirCached, Tempkit) => "tempkit::gettempdir()",
            (GettempdirCached, Tempfile) => "tempfile::env::temp_dir()",
            (GettempdirCached, Floor) => "PathBuf clone of a cached answer",
            (GettempdirCached, Python) => "tempfile.gettempdir()",
            (GettempdirFresh, Tempkit) => "spawn + wait: process calling tempkit::gettempdir()",
            (GettempdirFresh, Tempfile) => {
                "spawn + wait: process calling tempfile::env::temp_dir()"
            }
            (GettempdirFresh, Floor) => {
                "spawn + wait: process doing open($TMPDIR, O_TMPFILE) + write + close by hand"
            }
            (GettempdirFresh, Python) => "spawn + wait: python3 -c 'tempfile.gettempdir()'",
            (WriteAtomicDurable, Tempkit) => "tempkit::write_atomic(d/published, 4 KiB)",
            (WriteAtomicDurable, Tempfile) => {
                "NamedTempFile::new_in(d), write, sync_all, persist, File::open(d).sync_all()"
            }
            (WriteAtomicDurable, Floor) => {
                "open(d), fstatat, openat(O_EXCL), write, fstat (fchown, fchmod only if \
                 needed), fsync, renameat, fsync(d), close × 2"
            }
            (WriteAtomicDurable, Python) => {
                "NamedTemporaryFile(dir=d, delete=False), write, fsync, os.replace, fsync(d)"
            }
            (WriteAtomicDurable, AtomicWriteFile) => "AtomicWriteFile::open, write_all, commit",
            (WriteAtomicOnly, Tempkit) => "AtomicFile::options().durable(false).write(..)",
            (WriteAtomicOnly, Tempfile) => "NamedTempFile::new_in(d), write, persist",
            (WriteAtomicOnly, Floor) => {
                "open(d, O_PATH), fstatat, openat(O_EXCL), write, fstat (fchown, fchmod only \
                 if needed), renameat, close × 2"
            }
            (WriteAtomicOnly, Python) => "NamedTemporaryFile(dir=d, delete=False), os.replace",
            (WriteAtomicOnly, AtomicWriteFile) => "no atomic-only mode",
            (_, AtomicWriteFile) => "not its job",
            (AsyncNamed1000, Tempkit) => {
                "tokio::NamedTemporaryFile (Builder::named_temporary_file_async), write_all, flush, drop"
            }
            (AsyncNamed1000, Tempfile) => {
                "spawn_blocking(NamedTempFile::new_in), spawn_blocking(write_all), spawn_blocking(drop)"
            }
            (AsyncNamed1000, AsyncTempfile) => "TempFile::new_in, write_all, flush, drop",
            (AsyncDirDrop | AsyncDirRemoved, Tempkit) => {
                "tokio::TemporaryDirectory drop (removal on the blocking pool)"
            }
            (AsyncDirDrop | AsyncDirRemoved, Tempfile) => "spawn_blocking(TempDir drop)",
            (AsyncDirDrop | AsyncDirRemoved, AsyncTempfile) => {
                "TempDir drop (remove_dir_all in place)"
            }
            (AsyncNamed1000 | AsyncDirDrop | AsyncDirRemoved, _) => "no async equivalent",
            (_, AsyncTempfile) => "not its job",
        }
    }

    /// Whether the directory matters (all but the cached `gettempdir()` run once per
    /// directory).
    pub fn per_dir(self) -> bool {
        self != Op::GettempdirCached
    }

    /// Whether one operation is costly enough to be timed alone (no calibration of batches).
    pub fn heavy(self) -> bool {
        matches!(
            self,
            Op::RemoveTree
                | Op::RemoveTreeLarge
                | Op::RemoveTreeDeep
                | Op::AsyncDirDrop
                | Op::AsyncDirRemoved
        )
    }

    /// Whether this is one of the async rows (tokio), run by [`crate::asyncops`].
    pub fn is_async(self) -> bool {
        matches!(
            self,
            Op::AsyncNamed1000 | Op::AsyncDirDrop | Op::AsyncDirRemoved
        )
    }

    /// How many operations an instruction count runs under `valgrind` (fewer than
    /// [`count_n`](Op::count_n) where each costs a process or a tree).
    pub fn instructions_n(self, quick: bool) -> u64 {
        match self {
            Op::GettempdirFresh => 3,
            _ => self.count_n(quick).min(1_000),
        }
    }

    /// How many operations a system-call count runs (the difference to a baseline run is
    /// divided by it).
    pub fn count_n(self, quick: bool) -> u64 {
        let n = match self {
            Op::RemoveTree | Op::RemoveTreeLarge | Op::RemoveTreeDeep => 1,
            Op::AsyncDirDrop | Op::AsyncDirRemoved => 1,
            Op::AsyncNamed1000 => 10,
            Op::GettempdirFresh => 20,
            Op::TempDir100 => 100,
            Op::SpooledMemory | Op::Rollover => 200,
            Op::WriteAtomicDurable => 200,
            // Issue 2 asks for the calls of 10,000 mkstemp.
            Op::MkstempUnlink => 10_000,
            _ => 1_000,
        };
        if quick {
            (n / 10).clamp(5, 100)
        } else {
            n
        }
    }
}

/// The order of the contenders (indices into [`Who::ALL`]) in round `rep`: a shuffle fixed by
/// `rep`, so that over the rounds each contender comes after each other one about equally
/// often. (A rotation keeps the neighbours: the contender after CPython, whose exit leaves the
/// next process slower, was nearly always tempkit.)
pub fn round_order(rep: usize) -> [usize; Who::ALL.len()] {
    let mut order: [usize; Who::ALL.len()] = std::array::from_fn(|i| i);
    // xorshift64*, seeded by the round.
    let mut state = (rep as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for i in (1..order.len()).rev() {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let j = (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize % (i + 1);
        order.swap(i, j);
    }
    order
}

impl Who {
    /// Every contender, in column order.
    pub const ALL: [Who; 6] = [
        Who::Tempkit,
        Who::Tempfile,
        Who::Floor,
        Who::Python,
        Who::AtomicWriteFile,
        Who::AsyncTempfile,
    ];

    /// The short name used on command lines and in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Who::Tempkit => "tempkit",
            Who::Tempfile => "tempfile",
            Who::Floor => "floor",
            Who::Python => "cpython",
            Who::AtomicWriteFile => "atomic-write-file",
            Who::AsyncTempfile => "async-tempfile",
        }
    }

    /// The contender named `id`.
    pub fn from_id(id: &str) -> Option<Who> {
        Who::ALL.iter().copied().find(|w| w.id() == id)
    }

    /// Whether this contender takes part in `op` at all (the `atomic-write-file` crate only
    /// in the durable publishing row); the report leaves the others out.
    pub fn takes_part(self, op: Op) -> bool {
        match self {
            Who::AtomicWriteFile => op == Op::WriteAtomicDurable,
            // The async rows: tempkit::tokio, spawn_blocking around the tempfile crate, and
            // async-tempfile; neither the floor nor CPython has an async equivalent.
            Who::AsyncTempfile => op.is_async(),
            Who::Floor | Who::Python => !op.is_async(),
            Who::Tempkit | Who::Tempfile => true,
        }
    }

    /// What the table calls it.
    pub fn label(self) -> &'static str {
        match self {
            Who::Tempkit => "tempkit",
            Who::Tempfile => "tempfile crate",
            Who::Floor => "floor",
            Who::Python => "CPython",
            Who::AtomicWriteFile => "atomic-write-file crate",
            Who::AsyncTempfile => "async-tempfile crate",
        }
    }
}

/// Whether a run times the whole operation or only performs its untimed setup (the
/// baseline that system-call counts subtract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Setup and the timed part.
    Full,
    /// Only the untimed setup (nothing for most operations); what it leaves behind stays in
    /// `dir` for the caller to remove.
    SetupOnly,
}

/// The environment variable that turns a process into the child of [`Op::GettempdirFresh`].
pub const CHILD_ENV: &str = "TEMPKIT_BENCH_CHILD";

/// Call first thing in `main` of every binary that [`Op::GettempdirFresh`] spawns (the
/// `compare` binary and the criterion benches): when the process was started as such a
/// child, does the child's work and exits.
pub fn child_entry() {
    let Some(who) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let code = match who.to_str() {
        Some("tempkit") => match tempkit::gettempdir() {
            Ok(dir) => {
                black_box(dir);
                0
            }
            Err(_) => 1,
        },
        Some("tempfile") => {
            black_box(tempfile::env::temp_dir());
            0
        }
        // The least a probe with Python's guarantee can do, by hand: `$TMPDIR` accepts a new
        // (unnamed) file and a write.
        Some("floor") => {
            let probed = std::env::var_os("TMPDIR")
                .ok_or_else(|| io::Error::other("TMPDIR not set"))
                .and_then(|dir| floor::c_path(Path::new(&dir)))
                .and_then(|dir| floor::tmpfile_write_close(&dir, b"blat"));
            i32::from(probed.is_err())
        }
        _ => 0,
    };
    std::process::exit(code);
}

/// Names the program [`self_exe`] returns, where `/proc/self/exe` would name another (under
/// `valgrind` it is the tool's own executable).
pub const EXE_ENV: &str = "TEMPKIT_BENCH_EXE";

/// This program, to be spawned again: [`EXE_ENV`] when set, else `/proc/self/exe` where it
/// exists (it stays valid when the file is replaced by a rebuild during a long run), else
/// [`std::env::current_exe`].
pub fn self_exe() -> io::Result<PathBuf> {
    if let Some(exe) = std::env::var_os(EXE_ENV) {
        return Ok(PathBuf::from(exe));
    }
    let proc = Path::new("/proc/self/exe");
    if proc.exists() {
        Ok(proc.to_path_buf())
    } else {
        std::env::current_exe()
    }
}

/// Spawns `exe` as a [`CHILD_ENV`] child for `who` with `TMPDIR=dir` and waits for it.
pub fn spawn_child(exe: &Path, who: Who, dir: &Path) -> io::Result<()> {
    let status = Command::new(exe)
        .env(CHILD_ENV, who.id())
        .env("TMPDIR", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!(
            "child {} failed: {status}",
            who.id()
        )))
    }
}

/// Spawns `n` processes of this binary that exit at once, untimed: they take what a heavy
/// process leaves behind for the next one (see [`crate::cpython::fresh_gettempdir`]).
pub fn settle(n: usize) -> io::Result<()> {
    let exe = self_exe()?;
    for _ in 0..n {
        Command::new(&exe)
            .env(CHILD_ENV, "settle")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()?;
    }
    Ok(())
}

/// Builds the tree of [`Op::RemoveTree`] inside `root` (one `mkdir` per directory, one
/// `mknod` per file).
pub fn fill_tree(root: &Path) -> io::Result<()> {
    fill_wide(root, TREE_DIRS)
}

/// `dirs` directories of [`TREE_FILES_PER_DIR`] empty files each, inside `root`.
fn fill_wide(root: &Path, dirs: usize) -> io::Result<()> {
    for d in 0..dirs {
        let sub = root.join(format!("d{d:02}"));
        std::fs::create_dir(&sub)?;
        floor::mknod_flat(&sub, TREE_FILES_PER_DIR)?;
    }
    Ok(())
}

/// Builds the tree that `op` (one of the tree removals) removes, inside `root`.
pub fn fill_tree_for(op: Op, root: &Path) -> io::Result<()> {
    match op {
        Op::RemoveTreeLarge => fill_wide(root, LARGE_TREE_DIRS),
        Op::RemoveTreeDeep => floor::fill_chain(root, DEEP_LEVELS),
        _ => fill_tree(root),
    }
}

fn builder(dir: &Path) -> tempkit::Builder {
    let mut b = tempkit::Builder::new();
    b.dir(dir);
    b
}

static CHUNK_DATA: [u8; CHUNK] = [0xA5; CHUNK];

fn write_chunks(w: &mut impl Write) -> io::Result<()> {
    for _ in 0..SPOOL_BYTES / CHUNK {
        w.write_all(black_box(&CHUNK_DATA))?;
    }
    Ok(())
}

/// Times `n` operations `op` by `who` in `dir` (for operations with an untimed setup, only
/// the timed part is summed). `Ok(None)`: `who` cannot perform `op` here (CPython, which
/// `cpython.rs` drives, or a tempkit type this build does not have).
pub fn run(op: Op, who: Who, dir: &Path, n: u64, mode: Mode) -> io::Result<Option<Duration>> {
    if who == Who::Python || !who.takes_part(op) {
        return Ok(None);
    }
    if op.is_async() {
        return crate::asyncops::run(op, who, dir, n, mode);
    }
    // Made before the baseline returns, so that a system-call count subtracts their calls.
    let b = builder(dir);
    let cdir = floor::c_path(dir)?;
    let mut names = floor::Names::new(dir);
    if mode == Mode::SetupOnly {
        setup_only(op, who, dir, n)?;
        return Ok(Some(Duration::ZERO));
    }
    let start = Instant::now();
    match (op, who) {
        (Op::TemporaryFile, Who::Tempkit) => {
            for _ in 0..n {
                drop(black_box(b.temporary_file()?));
            }
        }
        (Op::TemporaryFile, Who::Tempfile) => {
            for _ in 0..n {
                drop(black_box(tempfile::tempfile_in(dir)?));
            }
        }
        (Op::TemporaryFile, Who::Floor) => {
            for _ in 0..n {
                floor::tmpfile_close(&cdir)?;
            }
        }
        (Op::NamedTemporaryFile, Who::Tempkit) => {
            for _ in 0..n {
                drop(black_box(b.named_temporary_file()?));
            }
        }
        (Op::NamedTemporaryFile, Who::Tempfile) => {
            for _ in 0..n {
                drop(black_box(tempfile::NamedTempFile::new_in(dir)?));
            }
        }
        (Op::NamedTemporaryFile, Who::Floor) => {
            for _ in 0..n {
                floor::create_unlink_close(&mut names)?;
            }
        }
        (Op::MkstempUnlink, Who::Tempkit) => {
            for _ in 0..n {
                let (file, path) = b.mkstemp()?;
                drop(file);
                std::fs::remove_file(&path)?;
            }
        }
        (Op::MkstempUnlink, Who::Tempfile) => {
            for _ in 0..n {
                let (file, path) = tempfile::NamedTempFile::new_in(dir)?
                    .keep()
                    .map_err(|e| e.error)?;
                drop(file);
                std::fs::remove_file(&path)?;
            }
        }
        (Op::MkstempUnlink, Who::Floor) => {
            for _ in 0..n {
                floor::create_close_unlink(&mut names)?;
            }
        }
        (Op::MkdtempRmdir, Who::Tempkit) => {
            for _ in 0..n {
                std::fs::remove_dir(b.mkdtemp()?)?;
            }
        }
        (Op::MkdtempRmdir, Who::Tempfile) => {
            for _ in 0..n {
                std::fs::remove_dir(tempfile::TempDir::new_in(dir)?.keep())?;
            }
        }
        (Op::TempDirProtect, Who::Tempkit) => {
            let mut b = b.clone();
            b.protect(true);
            for _ in 0..n {
                drop(black_box(b.temporary_directory()?));
            }
        }
        (Op::TempDirReapable, Who::Tempkit) => {
            let mut b = b.clone();
            b.reapable(true);
            for _ in 0..n {
                drop(black_box(b.temporary_directory()?));
            }
        }
        (Op::TempDirProtect | Op::TempDirReapable, Who::Tempfile) => return Ok(None),
        (
            Op::MkdtempRmdir | Op::TempDirEmpty | Op::TempDirProtect | Op::TempDirReapable,
            Who::Floor,
        ) => {
            for _ in 0..n {
                floor::mkdir_rmdir(&mut names)?;
            }
        }
        (Op::TempDirEmpty, Who::Tempkit) => {
            for _ in 0..n {
                drop(black_box(b.temporary_directory()?));
            }
        }
        (Op::TempDirEmpty, Who::Tempfile) => {
            for _ in 0..n {
                drop(black_box(tempfile::TempDir::new_in(dir)?));
            }
        }
        (Op::TempDir100, Who::Tempkit) => {
            for _ in 0..n {
                let d = b.temporary_directory()?;
                floor::fill_flat(d.path(), FLAT_FILES)?;
                drop(d);
            }
        }
        (Op::TempDir100, Who::Tempfile) => {
            for _ in 0..n {
                let d = tempfile::TempDir::new_in(dir)?;
                floor::fill_flat(d.path(), FLAT_FILES)?;
                drop(d);
            }
        }
        (Op::TempDir100, Who::Floor) => {
            for _ in 0..n {
                floor::mkdir_files_remove(&mut names, FLAT_FILES)?;
            }
        }
        (Op::RemoveTree | Op::RemoveTreeLarge | Op::RemoveTreeDeep, _) => {
            return remove_trees(op, who, dir, n).map(Some)
        }
        (Op::SpooledMemory, Who::Tempkit) => {
            for _ in 0..n {
                let mut f = b.spooled_temporary_file(SPOOL_MAX);
                write_chunks(&mut f)?;
                drop(black_box(f));
            }
        }
        (Op::SpooledMemory, Who::Tempfile) => {
            for _ in 0..n {
                let mut f = tempfile::spooled_tempfile_in(SPOOL_MAX, dir);
                write_chunks(&mut f)?;
                drop(black_box(f));
            }
        }
        (Op::SpooledMemory, Who::Floor) => {
            for _ in 0..n {
                let mut v: Vec<u8> = Vec::new();
                for _ in 0..SPOOL_BYTES / CHUNK {
                    v.extend_from_slice(black_box(&CHUNK_DATA));
                }
                drop(black_box(v));
            }
        }
        (Op::Rollover, _) => return rollovers(who, dir, &b, &cdir, n).map(Some),
        (Op::GettempdirCached, Who::Tempkit) => {
            tempkit::gettempdir()?;
            let start = Instant::now();
            for _ in 0..n {
                black_box(tempkit::gettempdir()?);
            }
            return Ok(Some(start.elapsed()));
        }
        (Op::GettempdirCached, Who::Tempfile) => {
            for _ in 0..n {
                black_box(tempfile::env::temp_dir());
            }
        }
        (Op::GettempdirCached, Who::Floor) => {
            let cached = black_box(PathBuf::from(dir));
            let start = Instant::now();
            for _ in 0..n {
                black_box(black_box(&cached).clone());
            }
            return Ok(Some(start.elapsed()));
        }
        (Op::GettempdirFresh, _) => {
            let exe = self_exe()?;
            let start = Instant::now();
            for _ in 0..n {
                spawn_child(&exe, who, dir)?;
            }
            return Ok(Some(start.elapsed()));
        }
        (Op::WriteAtomicDurable | Op::WriteAtomicOnly, _) => {
            return publishes(op, who, dir, n).map(|t| t.map(|_| start.elapsed()))
        }
        (_, Who::Python | Who::AtomicWriteFile | Who::AsyncTempfile) => return Ok(None),
        // Run by crate::asyncops (above).
        (Op::AsyncNamed1000 | Op::AsyncDirDrop | Op::AsyncDirRemoved, _) => return Ok(None),
    }
    Ok(Some(start.elapsed()))
}

static PUBLISH_DATA: [u8; PUBLISH_BYTES] = [0x5A; PUBLISH_BYTES];

/// The publishing rows: `n` replacements of `dir/`[`PUBLISH_NAME`] with 4 KiB. `Ok(None)`:
/// `who` has no such operation.
fn publishes(op: Op, who: Who, dir: &Path, n: u64) -> io::Result<Option<()>> {
    let durable = op == Op::WriteAtomicDurable;
    let dest = dir.join(PUBLISH_NAME);
    let data = black_box(&PUBLISH_DATA[..]);
    match who {
        Who::Tempkit if durable => {
            for _ in 0..n {
                tempkit::write_atomic(&dest, data)?;
            }
        }
        Who::Tempkit => {
            let mut options = tempkit::AtomicFile::options();
            options.durable(false);
            for _ in 0..n {
                options.write(&dest, data)?;
            }
        }
        Who::Tempfile => {
            for _ in 0..n {
                let mut file = tempfile::NamedTempFile::new_in(dir)?;
                file.write_all(data)?;
                if durable {
                    file.as_file().sync_all()?;
                }
                file.persist(&dest).map_err(|e| e.error)?;
                if durable {
                    std::fs::File::open(dir)?.sync_all()?;
                }
            }
        }
        Who::Floor => {
            let cdir = floor::c_path(dir)?;
            let name = std::ffi::CString::new(PUBLISH_NAME)?;
            for _ in 0..n {
                floor::replace_file(&cdir, &name, data, durable)?;
            }
        }
        Who::AtomicWriteFile if durable => {
            for _ in 0..n {
                let mut file = atomic_write_file::AtomicWriteFile::open(&dest)?;
                file.write_all(data)?;
                file.commit()?;
            }
        }
        Who::AtomicWriteFile | Who::Python | Who::AsyncTempfile => return Ok(None),
    }
    Ok(Some(()))
}

/// The untimed part of `n` operations, left behind in `dir` (see [`Mode::SetupOnly`]).
fn setup_only(op: Op, who: Who, dir: &Path, n: u64) -> io::Result<()> {
    match op {
        Op::RemoveTree | Op::RemoveTreeLarge | Op::RemoveTreeDeep => {
            for _ in 0..n {
                let root = match who {
                    Who::Tempkit => builder(dir).temporary_directory()?.keep(),
                    Who::Tempfile => tempfile::TempDir::new_in(dir)?.keep(),
                    _ => builder(dir).mkdtemp()?,
                };
                fill_tree_for(op, &root)?;
            }
        }
        Op::Rollover if who != Who::Floor => {
            for _ in 0..n {
                let mut v = Vec::new();
                write_chunks(&mut v)?;
                black_box(v);
            }
        }
        _ => {}
    }
    Ok(())
}

/// The tree removals: each tree is built untimed, then its removal is timed.
fn remove_trees(op: Op, who: Who, dir: &Path, n: u64) -> io::Result<Duration> {
    let mut total = Duration::ZERO;
    for _ in 0..n {
        match who {
            Who::Tempkit => {
                let d = builder(dir).temporary_directory()?;
                fill_tree_for(op, d.path())?;
                let start = Instant::now();
                drop(d);
                total += start.elapsed();
            }
            Who::Tempfile => {
                let d = tempfile::TempDir::new_in(dir)?;
                fill_tree_for(op, d.path())?;
                let start = Instant::now();
                drop(d);
                total += start.elapsed();
            }
            _ => {
                let root = builder(dir).mkdtemp()?;
                fill_tree_for(op, &root)?;
                let start = Instant::now();
                std::fs::remove_dir_all(&root)?;
                total += start.elapsed();
            }
        }
    }
    Ok(total)
}

/// [`Op::Rollover`]: 1 MiB is written in memory untimed, then `rollover()` + drop is timed;
/// the floor writes 1 MiB to a fresh `O_TMPFILE` file.
fn rollovers(
    who: Who,
    dir: &Path,
    b: &tempkit::Builder,
    cdir: &std::ffi::CString,
    n: u64,
) -> io::Result<Duration> {
    let mut total = Duration::ZERO;
    match who {
        Who::Tempkit => {
            for _ in 0..n {
                let mut f = b.spooled_temporary_file(SPOOL_MAX);
                write_chunks(&mut f)?;
                let start = Instant::now();
                f.rollover()?;
                drop(f);
                total += start.elapsed();
            }
        }
        Who::Tempfile => {
            for _ in 0..n {
                let mut f = tempfile::spooled_tempfile_in(SPOOL_MAX, dir);
                write_chunks(&mut f)?;
                let start = Instant::now();
                f.roll()?;
                drop(f);
                total += start.elapsed();
            }
        }
        _ => {
            let data = vec![0xA5u8; SPOOL_BYTES];
            let start = Instant::now();
            for _ in 0..n {
                floor::tmpfile_write_close(cdir, black_box(&data))?;
            }
            total = start.elapsed();
        }
    }
    Ok(total)
}
