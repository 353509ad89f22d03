//! Secure removal of a directory tree: descriptor-relative, never following a symlink,
//! repairing permissions inside the tree only, with bounded depth of recursion and descriptors.
//!
//! # The walk
//! 1. `rmdir(root)` first: an empty directory costs this one system call.
//! 2. Otherwise the root is opened with `O_DIRECTORY|O_NOFOLLOW` (a root replaced by a symlink
//!    is an error, not followed), and the tree is walked depth-first with an explicit stack on
//!    the heap (no recursion: depth is bounded only by the file system).
//! 3. Each directory is listed once (`getdents`, the type from `d_type`, no `stat` per entry):
//!    non-directories, symlinks included, are unlinked at once relative to the directory's
//!    descriptor; subdirectories are remembered by name and entered afterwards, one at a
//!    time, with `openat(O_DIRECTORY|O_NOFOLLOW)`. If an attacker swaps a subdirectory for a
//!    symlink, that open fails (`ELOOP`/`ENOTDIR`) and the link is unlinked as a link: the walk
//!    never leaves the tree.
//! 4. An emptied directory is removed with `unlinkat(parent, name, AT_REMOVEDIR)`; if entries
//!    appeared meanwhile it is listed again (a bounded number of times).
//! 5. At most [`MAX_OPEN`] directory descriptors stay open (one more for a moment: a
//!    directory is opened before the oldest is closed). Deeper, the oldest is closed after its
//!    device and inode numbers are recorded; coming back up, it is reopened as `..` of its
//!    child and used only if it is the same directory (else the walk stops with an error).
//!
//! 6. A large tree is removed by several threads where they pay. Once the walk has met
//!    [`PARALLEL_AFTER`] entries, a directory with at least two subdirectories still to
//!    enter hands them to scoped threads (and the current one), each taking one subdirectory
//!    at a time and walking it exactly as above, relative to the shared parent descriptor.
//!    The descriptor bound is split between them, so that the total stays at [`MAX_OPEN`]
//!    (plus, for a moment, one per thread as in 5: 33 with two or four threads, 34 with
//!    three). A small tree never starts a thread, nor asks whether threads pay; a large one
//!    asks once, of the file system of the directory it would split
//!    (`sys::removal_threads_pay`: tmpfs yes, the others no, as measured), and on one core
//!    never. Where a thread cannot be started, the others (at least the current thread) do
//!    its share.
//!
//! # Permissions
//! The owner's missing permissions are repaired only where needed, after `EACCES`/`EPERM`,
//! and only inside the tree: a directory we hold gets `fchmod(0700)` through its descriptor; a
//! subdirectory we cannot open (no read permission) gets mode 0700 without following a
//! symlink (see `sys::make_subdir_usable`). Nothing outside the tree is ever changed: not the
//! root's parent, not a symlink's target.
//!
//! # Windows
//! The same walk over `sys::windows`'s primitives, relative to handles as on Unix: each
//! directory is listed through its handle (`FileIdBothDirectoryInfo`), and each entry is
//! opened relative to its parent's handle (`NtCreateFile` with a root directory) with
//! `FILE_OPEN_REPARSE_POINT`, inspected and deleted through that handle (a symlink or junction
//! as a link, never entered), its read-only attribute cleared first. Only the root is opened
//! by path, and a parent reopened past [`MAX_OPEN`] levels (checked to be the same directory).
//!
//! # Errors
//! The walk removes everything it can and returns the first error, naming the path. Entries
//! that someone else removed meanwhile count as removed.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::error;
use crate::sys::{self, DirHandle, DirId, EntryKind, Name, NameBuf};

/// The most directory descriptors the walk holds at once.
const MAX_OPEN: usize = 32;

/// How many times one directory is listed when entries keep appearing in it.
const MAX_PASSES: u32 = 3;

/// Entries met before the walk hands subdirectories to threads. Removing an entry costs
/// 3 to 20 µs, starting a thread (and asking how many cores there are) 50 to 100 µs: after
/// 100 entries (0.3 to 2 ms of work) a thread that finds an idle core repays its start
/// several times over, and a tree of 2,000 files in 40 directories (the Python package's
/// bench) leaves all but 5% to the threads (500 left a quarter: 0.57x `shutil.rmtree` on an
/// idle tmpfs, 0.48x now). Threads start only where they pay (tmpfs), and a directory of
/// files alone (no two subdirectories) never starts one.
#[cfg(not(feature = "__test-parallel-removal"))]
const PARALLEL_AFTER: u64 = 100;
/// Test builds force the parallel walk on every tree that has a subdirectory.
#[cfg(feature = "__test-parallel-removal")]
const PARALLEL_AFTER: u64 = 1;

/// Test builds split on every file system, not only where threads pay.
const FORCE_THREADS: bool = cfg!(feature = "__test-parallel-removal");

/// Subdirectories waiting in one directory for the walk to hand them to threads.
#[cfg(not(feature = "__test-parallel-removal"))]
const PARALLEL_MIN_PENDING: usize = 2;
#[cfg(feature = "__test-parallel-removal")]
const PARALLEL_MIN_PENDING: usize = 1;

/// The most threads (the current one included) removing one tree.
const MAX_THREADS: usize = 4;

/// Removes the directory `root` and everything in it, as a [`TemporaryDirectory`] removes
/// its own tree.
///
/// The walk works relative to directory descriptors and never follows a symlink, not even
/// one swapped in while it runs; it makes directories inside the tree writable and
/// searchable where it must (never `root`'s parent, never a link's target), handles any
/// depth with a bounded number of descriptors, and goes on past an entry it cannot remove,
/// returning the first error.
///
/// A missing `root` is success. A `root` that is not a directory (a symlink included) is an
/// error and is left alone.
///
/// # Python equivalent
/// `shutil.rmtree(root)` as `TemporaryDirectory.cleanup()` calls it (its mode repair
/// included); the Python package's `TemporaryDirectory` uses this.
///
/// ```
/// let dir = tempkit::mkdtemp()?;
/// std::fs::create_dir(dir.join("sub"))?;
/// std::fs::write(dir.join("sub/file"), b"x")?;
/// tempkit::remove_tree(&dir)?;
/// assert!(!dir.exists());
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// [`TemporaryDirectory`]: crate::TemporaryDirectory
pub fn remove_tree(root: &Path) -> io::Result<()> {
    match sys::remove_dir_path(root) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) if sys::is_not_dir(&e) => return Err(not_followed(e, root)),
        // Not empty, mostly; anything else the walk meets again and reports.
        Err(_) => {}
    }
    let mut walk = Walk::new(root, MAX_OPEN);
    walk.may_split = true;
    walk.run();
    match walk.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Removes the directory `name` in `parent`, already opened as `dir`, and everything in it,
/// as [`remove_tree`] does; `path` names it in messages. The walk starts from `dir` (which
/// the caller has identified), and the final `rmdir` is relative to `parent`: no path is
/// resolved again. `reap.rs` removes what dead owners left this way.
pub(crate) fn remove_tree_at(
    parent: &DirHandle,
    name: &Name,
    dir: DirHandle,
    path: &Path,
) -> io::Result<()> {
    let mut walk = Walk::new(path, MAX_OPEN);
    walk.at = Some((parent, name));
    walk.preopened = Some(dir);
    walk.may_split = true;
    walk.run();
    match walk.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn not_followed(e: io::Error, root: &Path) -> io::Error {
    error::context(
        e,
        format!(
            "failed to remove `{}`: it is no longer a directory (a symlink is never followed)",
            root.display()
        ),
    )
}

/// An open directory of a frame: our own, or the one a thread was handed (shared with the
/// thread that listed it, and used only relative to it: never listed again).
enum Held<'a> {
    Own(DirHandle),
    Shared(&'a DirHandle),
}

impl Held<'_> {
    fn get(&self) -> &DirHandle {
        match self {
            Held::Own(dir) => dir,
            Held::Shared(dir) => dir,
        }
    }
}

/// One directory on the walk's stack.
struct Frame<'a> {
    /// The open directory; `None` while closed to bound the descriptors held.
    dir: Option<Held<'a>>,
    /// Recorded when `dir` is closed, checked when it is reopened.
    id: Option<DirId>,
    /// The name in the parent (empty for the root).
    name: NameBuf,
    /// Subdirectories listed but not yet entered.
    pending: Vec<NameBuf>,
    /// Already given mode 0700 by us.
    repaired: bool,
    /// Something in it could not be removed (the error is recorded).
    failed: bool,
    /// How many times it was listed.
    passes: u32,
}

impl<'a> Frame<'a> {
    fn new(dir: Held<'a>, name: NameBuf) -> Frame<'a> {
        Frame {
            dir: Some(dir),
            id: None,
            name,
            pending: Vec::new(),
            repaired: false,
            failed: false,
            passes: 0,
        }
    }

    fn handle(&self) -> Option<&DirHandle> {
        self.dir.as_ref().map(Held::get)
    }
}

struct Walk<'a> {
    /// The path of the bottom frame, for messages (and the root's removal by path, unless
    /// `at`); the root is opened by this path unless `preopened`.
    root: &'a Path,
    /// Where the root is: by descriptor and name (`remove_tree_at`), else by `root`.
    at: Option<(&'a DirHandle, &'a Name)>,
    /// The root, opened by the caller.
    preopened: Option<DirHandle>,
    /// From the bottom (index 0: the root, or the directory a thread was handed) to the
    /// directory being worked on; the frames holding a descriptor are always the last `open`
    /// ones.
    stack: Vec<Frame<'a>>,
    open: usize,
    /// The most descriptors this walk holds at once.
    max_open: usize,
    /// Entries listed so far.
    seen: u64,
    /// Whether this walk may hand subdirectories to threads (the walk of a whole tree; not
    /// the walks of those threads).
    may_split: bool,
    /// How many threads a split uses, decided at the first one.
    threads: Option<usize>,
    error: Option<io::Error>,
    buf: sys::ReadBuf,
}

/// What happened to an entry.
enum Fate {
    Removed,
    IsDir,
    Failed(&'static str, io::Error),
}

/// What one thread of a parallel walk hands back.
struct Share {
    error: Option<io::Error>,
    /// Something in the shared directory could not be removed.
    failed: bool,
    /// The shared directory was given mode 0700.
    repaired: bool,
    /// The walk had to stop (the tree was moved under it).
    stopped: bool,
}

impl<'a> Walk<'a> {
    fn new(root: &'a Path, max_open: usize) -> Walk<'a> {
        Walk {
            root,
            at: None,
            preopened: None,
            stack: Vec::new(),
            open: 0,
            max_open,
            seen: 0,
            may_split: false,
            threads: None,
            error: None,
            buf: sys::ReadBuf::new(),
        }
    }

    fn run(&mut self) {
        let root = match self.open_root() {
            Some(root) => root,
            None => return,
        };
        self.push(Held::Own(root), NameBuf::default());
        self.drain(false);
    }

    /// Works on the stack until it is empty, or, with `keep_bottom`, until only the bottom
    /// frame is left with nothing pending (the bottom is not removed: it is the directory a
    /// thread was handed, which its owner removes). `false` if the walk had to stop.
    fn drain(&mut self, keep_bottom: bool) -> bool {
        while let Some(top) = self.stack.last_mut() {
            if self.may_split
                && top.pending.len() >= PARALLEL_MIN_PENDING
                && self.seen >= PARALLEL_AFTER
                && self.open <= self.max_open / 2
            {
                if !self.split() {
                    return false;
                }
                continue;
            }
            match top.pending.pop() {
                Some(name) => self.enter(name),
                None if keep_bottom && self.stack.len() == 1 => return true,
                None => {
                    if !self.finish_top() {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Hands the subdirectories pending in the top directory to threads, the current one
    /// among them, and waits for them. `false` if the walk had to stop.
    fn split(&mut self) -> bool {
        let stack = &self.stack;
        let threads = *self
            .threads
            .get_or_insert_with(|| stack.last().and_then(Frame::handle).map_or(1, threads_for));
        if threads < 2 {
            // Threads would not pay here, or only take turns: serial from now on.
            self.may_split = false;
            return true;
        }
        // Each thread's bound; the directories held here stay open meanwhile.
        let max_open = (self.max_open - self.open) / threads;
        let path = self.path_of(None);
        let (pending, dir, repaired) = match self.stack.last_mut() {
            Some(top) => (std::mem::take(&mut top.pending), &top.dir, top.repaired),
            None => return false,
        };
        let dir = match dir {
            Some(dir) => dir.get(),
            None => return false,
        };
        let queue = Mutex::new(pending);
        let stop = AtomicBool::new(false);
        let work = || share(dir, repaired, &path, &queue, &stop, max_open);
        let shares: Vec<Share> = std::thread::scope(|scope| {
            let others: Vec<_> = (1..threads)
                .map_while(|_| std::thread::Builder::new().spawn_scoped(scope, work).ok())
                .collect();
            let mut shares = vec![work()];
            for other in others {
                shares.push(other.join().unwrap_or_else(|_| Share {
                    error: Some(error::new(
                        io::ErrorKind::Other,
                        format!(
                            "failed to remove `{}`: a removal thread panicked",
                            path.display()
                        ),
                    )),
                    failed: true,
                    repaired: false,
                    stopped: true,
                }));
            }
            shares
        });
        let mut stopped = false;
        for share in shares {
            if let Some(top) = self.stack.last_mut() {
                top.failed |= share.failed;
                top.repaired |= share.repaired;
            }
            if self.error.is_none() {
                self.error = share.error;
            }
            stopped |= share.stopped;
        }
        if stopped {
            self.stack.clear();
        }
        !stopped
    }

    /// Opens the root without following a symlink, repairing a root we may not read.
    fn open_root(&mut self) -> Option<DirHandle> {
        if let Some(dir) = self.preopened.take() {
            return Some(dir);
        }
        let mut repaired = false;
        loop {
            match sys::open_dir(self.root) {
                Ok(dir) => return Some(dir),
                Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
                Err(e) if sys::is_not_dir(&e) => {
                    self.error = Some(not_followed(e, self.root));
                    return None;
                }
                Err(e) if e.kind() == io::ErrorKind::PermissionDenied && !repaired => {
                    repaired = true;
                    if let Err(e) = sys::make_path_usable(self.root) {
                        self.record(e, "change the mode (to 0700) of", self.root.to_path_buf());
                        return None;
                    }
                }
                Err(e) => {
                    self.record(e, "open directory", self.root.to_path_buf());
                    return None;
                }
            }
        }
    }

    /// The path of `name` in the top directory (or of the top directory), for messages.
    fn path_of(&self, name: Option<&Name>) -> PathBuf {
        let mut path = self.root.to_path_buf();
        for frame in self.stack.iter().skip(1) {
            path.push(sys::name_as_os_str(&frame.name));
        }
        if let Some(name) = name {
            path.push(sys::name_as_os_str(name));
        }
        path
    }

    fn record(&mut self, e: io::Error, op: &str, path: PathBuf) {
        if let Some(top) = self.stack.last_mut() {
            top.failed = true;
        }
        if self.error.is_none() {
            self.error = Some(error::with_path(e, op, &path));
        }
    }

    /// Pushes an opened directory, lists it, and closes the oldest descriptor if too many are
    /// open.
    fn push(&mut self, dir: Held<'a>, name: NameBuf) {
        self.stack.push(Frame::new(dir, name));
        self.open += 1;
        if self.open > self.max_open {
            let index = self.stack.len().saturating_sub(self.open);
            if let Some(Frame {
                dir: dir @ Some(_),
                id,
                ..
            }) = self.stack.get_mut(index)
            {
                // Without its identity it could not be verified when reopened: keep it open.
                if let Some(found) = dir.as_ref().and_then(|d| sys::dir_id(d.get()).ok()) {
                    *id = Some(found);
                    *dir = None;
                    self.open -= 1;
                }
            }
        }
        self.list_top(false);
    }

    /// Lists the top directory: unlinks every non-directory, remembers the subdirectories.
    fn list_top(&mut self, rewind: bool) {
        let mut failure: Option<(NameBuf, &'static str, io::Error)> = None;
        let read = match self.stack.last_mut() {
            Some(Frame {
                dir: Some(dir),
                pending,
                repaired,
                passes,
                ..
            }) => {
                let dir: &DirHandle = dir.get();
                let seen = &mut self.seen;
                *passes += 1;
                sys::read_entries(dir, &mut self.buf, rewind, &mut |name, kind| {
                    *seen += 1;
                    let fate = match kind {
                        EntryKind::Dir => Fate::IsDir,
                        EntryKind::NotDir => unlink(dir, name, repaired),
                        EntryKind::Unknown => match sys::entry_kind(dir, name) {
                            Ok((EntryKind::Dir, _)) => Fate::IsDir,
                            Ok(_) => unlink(dir, name, repaired),
                            Err(e) if e.kind() == io::ErrorKind::NotFound => Fate::Removed,
                            Err(e) => Fate::Failed("inspect", e),
                        },
                    };
                    match fate {
                        Fate::Removed => {}
                        Fate::IsDir => pending.push(name.to_owned()),
                        Fate::Failed(op, e) => {
                            if failure.is_none() {
                                failure = Some((name.to_owned(), op, e));
                            }
                        }
                    }
                })
            }
            _ => return,
        };
        if let Err(e) = read {
            let path = self.path_of(None);
            self.record(e, "list directory", path);
        }
        if let Some((name, op, e)) = failure {
            let path = self.path_of(Some(&name));
            self.record(e, op, path);
        }
    }

    /// Opens the subdirectory `name` of the top directory and pushes it.
    fn enter(&mut self, name: NameBuf) {
        let mut repaired_child = false;
        loop {
            let top = match self.stack.last_mut() {
                Some(top) => top,
                None => return,
            };
            let dir = match top.dir.as_ref().map(Held::get) {
                Some(dir) => dir,
                None => return,
            };
            let e = match sys::open_subdir(dir, &name) {
                Ok(child) => return self.push(Held::Own(child), name),
                Err(e) => e,
            };
            if e.kind() == io::ErrorKind::NotFound {
                return;
            }
            if sys::is_not_dir(&e) {
                // Swapped for a symlink or a file since it was listed: unlink it as such.
                return match unlink(dir, &name, &mut top.repaired) {
                    Fate::Removed => {}
                    Fate::IsDir => {
                        let path = self.path_of(Some(&name));
                        self.record(e, "open directory", path);
                    }
                    Fate::Failed(op, e) => {
                        let path = self.path_of(Some(&name));
                        self.record(e, op, path);
                    }
                };
            }
            if e.kind() == io::ErrorKind::PermissionDenied && !top.repaired {
                // We may lack search permission in the directory we hold.
                top.repaired = true;
                if sys::make_dir_usable(dir).is_ok() {
                    continue;
                }
            }
            if e.kind() == io::ErrorKind::PermissionDenied && !repaired_child {
                repaired_child = true;
                match sys::make_subdir_usable(dir, &name) {
                    Ok(()) => continue,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return,
                    Err(e) => {
                        let path = self.path_of(Some(&name));
                        return self.record(e, "change the mode (to 0700) of", path);
                    }
                }
            }
            let path = self.path_of(Some(&name));
            return self.record(e, "open directory", path);
        }
    }

    /// The top directory is listed and its subdirectories handled: remove it (or list it
    /// again if entries appeared). Returns `false` if the walk must stop.
    fn finish_top(&mut self) -> bool {
        let frame = match self.stack.pop() {
            Some(frame) => frame,
            None => return false,
        };
        let dir = match frame.handle() {
            Some(dir) => dir,
            None => return false,
        };
        if self.stack.is_empty() {
            // The root: by its path, as it was created (or relative to the given parent).
            if frame.failed {
                return true;
            }
            let removed = match self.at {
                Some((parent, name)) => sys::remove_dir_at(parent, name),
                None => sys::remove_dir_path(self.root),
            };
            return match removed {
                Ok(()) => true,
                Err(e) if e.kind() == io::ErrorKind::NotFound => true,
                Err(e) if sys::is_not_empty(&e) && frame.passes < MAX_PASSES => {
                    self.stack.push(frame);
                    self.list_top(true);
                    true
                }
                Err(e) if sys::is_not_dir(&e) => {
                    self.error.get_or_insert(not_followed(e, self.root));
                    true
                }
                Err(e) => {
                    self.record(e, "remove", self.root.to_path_buf());
                    true
                }
            };
        }
        if let Err(e) = self.reopen_parent(dir) {
            let path = self.path_of(None);
            self.stack.clear();
            self.record(e, "return to", path);
            return false;
        }
        let parent = match self.stack.last_mut() {
            Some(parent) => parent,
            None => return false,
        };
        let parent_dir = match parent.dir.as_ref().map(Held::get) {
            Some(dir) => dir,
            None => return false,
        };
        if frame.failed {
            parent.failed = true;
            self.open -= 1;
            return true;
        }
        loop {
            let e = match sys::remove_dir_at(parent_dir, &frame.name) {
                Ok(()) => break,
                Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                Err(e) => e,
            };
            if sys::is_not_empty(&e) && frame.passes < MAX_PASSES {
                self.stack.push(frame);
                self.list_top(true);
                return true;
            }
            if e.kind() == io::ErrorKind::PermissionDenied && !parent.repaired {
                parent.repaired = true;
                if sys::make_dir_usable(parent_dir).is_ok() {
                    continue;
                }
            }
            if sys::is_not_dir(&e) {
                // Swapped for a symlink after we entered it: remove the link, as a link.
                match unlink(parent_dir, &frame.name, &mut parent.repaired) {
                    Fate::Removed => break,
                    Fate::IsDir => {}
                    Fate::Failed(_, e2) => {
                        let path = self.path_of(Some(&frame.name));
                        self.open -= 1;
                        self.record(e2, "remove", path);
                        return true;
                    }
                }
            }
            let path = self.path_of(Some(&frame.name));
            self.open -= 1;
            self.record(e, "remove directory", path);
            return true;
        }
        self.open -= 1;
        true
    }

    /// Makes sure the new top of the stack holds a descriptor: reopens it as `..` of `child`
    /// and checks that it is the directory that was closed.
    fn reopen_parent(&mut self, child: &DirHandle) -> io::Result<()> {
        let parent = match self.stack.last_mut() {
            Some(parent) => parent,
            None => return Ok(()),
        };
        if parent.dir.is_some() {
            return Ok(());
        }
        let reopened = match sys::open_parent(child) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                // We may lack search permission in `child`: repair it through its descriptor.
                sys::make_dir_usable(child)?;
                sys::open_parent(child)?
            }
            Err(e) => return Err(e),
        };
        if Some(sys::dir_id(&reopened)?) != parent.id {
            return Err(error::new(
                io::ErrorKind::Other,
                "the directory was moved during removal; stopped so as not to leave the tree"
                    .to_string(),
            ));
        }
        parent.dir = Some(Held::Own(reopened));
        self.open += 1;
        Ok(())
    }
}

/// How many threads (the current one included) remove a large tree in `dir`: one where the
/// file system does not gain from more (or with one core), else one per core, at most
/// [`MAX_THREADS`].
fn threads_for(dir: &DirHandle) -> usize {
    if !(FORCE_THREADS || sys::removal_threads_pay(dir)) {
        return 1;
    }
    std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS)
}

/// One thread's share of a parallel walk: takes the subdirectories of `dir` (at `path`) from
/// `queue` one at a time and removes each with everything in it, as the serial walk does,
/// holding at most `max_open` descriptors (the shared `dir` among them). `repaired`: `dir`
/// was given mode 0700 already.
fn share(
    dir: &DirHandle,
    repaired: bool,
    path: &Path,
    queue: &Mutex<Vec<NameBuf>>,
    stop: &AtomicBool,
    max_open: usize,
) -> Share {
    let mut walk = Walk::new(path, max_open.max(2));
    let mut bottom = Frame::new(Held::Shared(dir), NameBuf::default());
    // Already given mode 0700 by us: not again.
    bottom.repaired = repaired;
    walk.stack.push(bottom);
    walk.open = 1;
    let mut stopped = false;
    while !stop.load(Ordering::Relaxed) {
        let next = queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pop();
        match (next, walk.stack.first_mut()) {
            (Some(name), Some(bottom)) => bottom.pending.push(name),
            _ => break,
        }
        if !walk.drain(true) {
            stopped = true;
            stop.store(true, Ordering::Relaxed);
            break;
        }
    }
    let (failed, repaired) = walk
        .stack
        .first()
        .map_or((false, false), |bottom| (bottom.failed, bottom.repaired));
    Share {
        error: walk.error,
        failed,
        repaired,
        stopped,
    }
}

/// Unlinks the non-directory `name` in `dir`, giving `dir` mode 0700 once if we may not.
fn unlink(dir: &DirHandle, name: &Name, repaired: &mut bool) -> Fate {
    loop {
        match sys::remove_file_at(dir, name) {
            Ok(()) => return Fate::Removed,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Fate::Removed,
            Err(e) if sys::is_a_dir(&e) => return Fate::IsDir,
            Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
                if !*repaired {
                    *repaired = true;
                    match sys::make_dir_usable(dir) {
                        Ok(()) => continue,
                        Err(e) => return Fate::Failed("change the mode (to 0700) of", e),
                    }
                }
                // Some systems refuse to unlink a directory with EPERM.
                if let Ok((EntryKind::Dir, _)) = sys::entry_kind(dir, name) {
                    return Fate::IsDir;
                }
                return Fate::Failed("remove", e);
            }
            Err(e) => return Fate::Failed("remove", e),
        }
    }
}
