//! Owner tags, liveness and [`reap`]: exact removal of what dead processes left behind.
//!
//! # The tag
//! [`Builder::reapable`](crate::Builder::reapable) puts an extended attribute,
//! `user.tempkit.owner`, on a new directory or named file:
//!
//! ```text
//! v1 host=<machine id> boot=<boot id> pidns=<inode> pid=<pid> start=<ticks> uid=<euid> dev=<st_dev> ino=<st_ino>
//! ```
//!
//! `start` is field 22 of `/proc/<pid>/stat` (a pid is reused, a pid with its start time is
//! not); `dev` and `ino` bind the tag to the inode it was written on, so a copy that carries
//! the attribute along (`cp --preserve=xattr`, `rsync -X`) is never reaped. The tag is
//! removed before an object is published (`keep`, `persist*`), so a crash after that leaves
//! an untagged file or directory, which no reaper touches.
//!
//! # Trust
//! Anyone who may write a file, or a directory without the sticky bit, may set its `user.*`
//! attributes, not only its owner. A tag is therefore judged only on an entry nobody but its
//! owner may write (no group or other write bit; tempkit makes 0700 and 0600) that belongs to
//! the uid the tag names, and only as read from the descriptor the entry is removed through.
//!
//! # Liveness (no ages)
//! In this order: another machine id: skipped (its processes cannot be seen from here);
//! another boot id: dead; another pid namespace, or a mounted `/proc` that shows another pid
//! namespace's pids: skipped; `/proc/<pid>/stat` missing: dead; another start time: dead (the
//! pid was reused); state `Z` or `X` (a zombie holds no locks and runs no destructors) with no
//! other thread running: dead (a leader that called `pthread_exit` is a zombie while its
//! other threads run: alive); else alive.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use crate::sys::{self, Fd, Stat, StatKind};
use crate::{error, remove};

/// The version word that starts every tag.
const VERSION: &str = "v1";

/// Who owns a temporary object: the fields of a tag.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Owner {
    host: String,
    boot: String,
    pidns: u64,
    pid: u32,
    start: u64,
}

/// An owner tag as written on an object.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Tag {
    owner: Owner,
    uid: u32,
    dev: u64,
    ino: u64,
}

impl Tag {
    fn encode(&self) -> String {
        format!(
            "{} host={} boot={} pidns={} pid={} start={} uid={} dev={} ino={}",
            VERSION,
            self.owner.host,
            self.owner.boot,
            self.owner.pidns,
            self.owner.pid,
            self.owner.start,
            self.uid,
            self.dev,
            self.ino
        )
    }

    /// Parses a tag; `None` for anything not written by this version.
    fn parse(bytes: &[u8]) -> Option<Tag> {
        let text = std::str::from_utf8(bytes).ok()?;
        let mut words = text.split(' ');
        if words.next()? != VERSION {
            return None;
        }
        let mut fields: HashMap<&str, &str> = HashMap::new();
        for word in words {
            let (key, value) = word.split_once('=')?;
            if fields.insert(key, value).is_some() {
                return None;
            }
        }
        let text = |key: &str| -> Option<String> {
            let value = *fields.get(key)?;
            if value.is_empty() {
                None
            } else {
                Some(value.to_string())
            }
        };
        let number = |key: &str| -> Option<u64> { fields.get(key)?.parse().ok() };
        Some(Tag {
            owner: Owner {
                host: text("host")?,
                boot: text("boot")?,
                pidns: number("pidns")?,
                pid: u32::try_from(number("pid")?).ok()?,
                start: number("start")?,
            },
            uid: u32::try_from(number("uid")?).ok()?,
            dev: number("dev")?,
            ino: number("ino")?,
        })
    }
}

/// This process, as a tag names it; read once per process (again in a forked child).
static ME: Mutex<Option<(usize, Arc<Owner>)>> = Mutex::new(None);

/// Who we are: cached, and read again after a `fork` (the pid and start time change).
fn me() -> io::Result<Arc<Owner>> {
    let generation = sys::fork_generation();
    let mut cached = ME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((seen, owner)) = cached.as_ref() {
        if *seen == generation {
            return Ok(Arc::clone(owner));
        }
    }
    let own = sys::process_stat("self")?
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "/proc/self/stat is missing"))?;
    let owner = Arc::new(Owner {
        host: sys::machine_id()?,
        boot: sys::boot_id()?,
        pidns: sys::pid_namespace()?,
        pid: std::process::id(),
        start: own.start,
    });
    *cached = Some((generation, Arc::clone(&owner)));
    Ok(owner)
}

/// Tags the object open as `fd` (which `stat` describes) as ours: one `fsetxattr`.
///
/// # Errors
/// `Unsupported` where the file system takes no `user.*` extended attributes or the platform
/// has no tags; the OS error otherwise. The object is then untagged: it is never reaped.
pub(crate) fn tag(fd: Fd<'_>, stat: &Stat) -> io::Result<()> {
    let tag = Tag {
        owner: (*me()?).clone(),
        uid: stat.uid,
        dev: stat.dev,
        ino: stat.ino,
    };
    sys::set_tag(fd, tag.encode().as_bytes())
}

/// Removes our tag from the object open as `fd`, before it is published: the one untag
/// function every publishing path (`keep`, `persist*`) calls.
pub(crate) fn untag(fd: Fd<'_>) -> io::Result<()> {
    sys::remove_tag(fd)
}

/// Whether the owner named by a tag is alive, as far as this machine can tell.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Liveness {
    Dead(String),
    Alive(String),
    Unknown(String),
}

/// What the reaper knows of a pid: `/proc/<pid>/stat`, and for a zombie leader whether
/// another of its threads still runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Process {
    stat: sys::ProcStat,
    /// Read only when `stat` says zombie (`Z` or `X`); `false` otherwise.
    other_thread_alive: bool,
}

/// Reads what [`liveness`] needs of `pid`: `None` if there is no such process.
fn process(pid: u32) -> io::Result<Option<Process>> {
    let stat = match sys::process_stat(&pid.to_string())? {
        Some(stat) => stat,
        None => return Ok(None),
    };
    // Costs a listing of /proc/<pid>/task and a read per thread, on a zombie leader only.
    let other_thread_alive = is_zombie(stat.state) && sys::other_thread_alive(pid)?;
    Ok(Some(Process {
        stat,
        other_thread_alive,
    }))
}

fn is_zombie(state: u8) -> bool {
    state == b'Z' || state == b'X'
}

/// The liveness of `owner`, seen by `me`; `proc_ours` says whether the mounted `/proc`
/// shows the pids of `me`'s pid namespace; `procs` caches [`process`] per pid.
fn liveness(
    owner: &Owner,
    me: &Owner,
    proc_ours: bool,
    procs: &mut HashMap<u32, Option<Process>>,
) -> io::Result<Liveness> {
    if owner.host != me.host {
        return Ok(Liveness::Unknown(format!(
            "owner on another machine ({}): cannot be checked from here",
            owner.host
        )));
    }
    if owner.boot != me.boot {
        return Ok(Liveness::Dead(
            "owner's boot has ended (another boot id)".into(),
        ));
    }
    if owner.pidns != me.pidns {
        return Ok(Liveness::Unknown(format!(
            "owner in another pid namespace (pid:[{}]): cannot be checked from here",
            owner.pidns
        )));
    }
    // The tag's pid is one of our namespace, but /proc may show another one's pids (a pid
    // namespace entered without mounting its own /proc): there, /proc/<pid> is a stranger.
    if !proc_ours {
        return Ok(Liveness::Unknown(
            "the mounted /proc shows another pid namespace's processes: the owner cannot be \
             checked from here"
                .into(),
        ));
    }
    let pid = owner.pid;
    let found = match procs.get(&pid) {
        Some(found) => *found,
        None => {
            let found = process(pid)?;
            procs.insert(pid, found);
            found
        }
    };
    Ok(match found {
        None => Liveness::Dead(format!("owner {} is dead (no such process)", pid)),
        Some(p) if p.stat.start != owner.start => Liveness::Dead(format!(
            "owner {} is dead (pid reused: another start time)",
            pid
        )),
        // A process lives while any of its threads does: a leader that called pthread_exit
        // is a zombie while the others run.
        Some(p) if is_zombie(p.stat.state) && p.other_thread_alive => Liveness::Alive(format!(
            "owner {} is alive (its main thread has exited, another thread runs)",
            pid
        )),
        Some(p) if is_zombie(p.stat.state) => {
            Liveness::Dead(format!("owner {} is dead (a zombie)", pid))
        }
        Some(_) => Liveness::Alive(format!("owner {} is alive", pid)),
    })
}

/// What [`ReapOptions::reap`] did with one entry.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReapOutcome {
    /// Its owner is dead and it was removed.
    Removed,
    /// Its owner is dead; a dry run removes nothing.
    WouldRemove,
    /// Left alone: untagged, a live owner's, or not ours to judge ([`ReapEntry::reason`]).
    Skipped,
    /// Its owner is dead, but it could not be removed (entirely).
    Failed(io::Error),
}

/// One top-level entry that [`ReapOptions::reap`] looked at, and what it did with it.
#[derive(Debug)]
pub struct ReapEntry {
    path: PathBuf,
    outcome: ReapOutcome,
    reason: String,
}

impl ReapEntry {
    /// The entry's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was done with it.
    #[must_use]
    pub fn outcome(&self) -> &ReapOutcome {
        &self.outcome
    }

    /// Why, in words: `"owner 4242 is dead (no such process)"`, `"untagged"`, ...
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// Whether it carried an owner tag at all.
    #[must_use]
    pub fn is_tagged(&self) -> bool {
        self.reason != UNTAGGED
    }

    /// Removed, or would be in a dry run.
    #[must_use]
    pub fn is_reaped(&self) -> bool {
        matches!(
            self.outcome,
            ReapOutcome::Removed | ReapOutcome::WouldRemove
        )
    }
}

impl fmt::Display for ReapEntry {
    /// `removed /tmp/tmpab12cd34 (owner 4242 is dead (no such process))`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match &self.outcome {
            ReapOutcome::Removed => "removed",
            ReapOutcome::WouldRemove => "would remove",
            ReapOutcome::Skipped => "skipped",
            ReapOutcome::Failed(_) => "failed to remove",
        };
        write!(f, "{} {} ({})", what, self.path.display(), self.reason)?;
        if let ReapOutcome::Failed(e) = &self.outcome {
            write!(f, ": {}", e)?;
        }
        Ok(())
    }
}

const UNTAGGED: &str = "untagged";

/// Options of a reap: [`reap`] with more control, and a reason for every entry.
///
/// ```
/// let dir = tempkit::mkdtemp()?;
/// let report = tempkit::ReapOptions::new().dry_run(true).reap(&dir)?;
/// assert!(report.is_empty()); // nothing in it
/// # std::fs::remove_dir(dir)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReapOptions {
    dry_run: bool,
    all_users: bool,
}

impl ReapOptions {
    /// A real run over the caller's own entries.
    #[must_use]
    pub fn new() -> ReapOptions {
        ReapOptions::default()
    }

    /// List what would be removed, removing nothing (default `false`).
    pub fn dry_run(&mut self, yes: bool) -> &mut Self {
        self.dry_run = yes;
        self
    }

    /// Also judge entries of other users (default `false`: only those the effective user
    /// owns). Meant for root; an entry is then reaped only if its tag names its owner.
    pub fn all_users(&mut self, yes: bool) -> &mut Self {
        self.all_users = yes;
        self
    }

    /// Looks at every top-level entry of `dir` and removes those whose tag says the owner
    /// is dead, as [`reap`] does; returns one [`ReapEntry`] per entry looked at, with the
    /// reason, in listing order.
    ///
    /// # Errors
    /// Only if `dir` cannot be opened or listed (or this process's own identity cannot be
    /// read); a failure on one entry is that entry's [`ReapOutcome::Failed`].
    pub fn reap(&self, dir: &Path) -> io::Result<Vec<ReapEntry>> {
        Reaper::new(dir, self)?.run()
    }
}

/// Removes exactly the top-level entries of `dir` whose owner tag says their owner is dead;
/// returns their paths (with `dry_run`, those it would remove, removing nothing).
///
/// An entry is removed only if all hold: it is a directory or a regular file (never a
/// symlink; a file with other hard links neither); it carries a tempkit owner tag (see
/// [`Builder::reapable`](crate::Builder::reapable)); the tag names its own device and inode
/// (a copy that carried the tag along does not); nobody but its owner may write it (no group
/// or other write bit: anyone who may write an entry may set its tag); it belongs to the uid
/// the tag names, and that is the effective user; the tag's machine and pid namespace are
/// this process's, and the mounted `/proc` shows this pid namespace, so liveness can be
/// checked; and the owner is dead: another boot, no process with its pid, a process with its
/// pid but another start time, or a zombie none of whose threads runs. No age rule is
/// involved anywhere.
///
/// Removal is that of [`TemporaryDirectory::cleanup`](crate::TemporaryDirectory::cleanup):
/// descriptor-relative, never following a symlink. The entry is judged on one descriptor
/// opened without following links (its `fstat` and its tag), then locked with
/// `flock(LOCK_EX|LOCK_NB)` (a held lock means a live holder or another reaper: skipped); under
/// the lock its `fstat` must be unchanged (ctime included) and its name must still refer to
/// it; so two reapers at once never fail and remove each entry once, and an entry swapped or
/// changed meanwhile is left alone. [`ReapOptions`] gives the reason for each entry.
///
/// Costs, per entry: one `lgetxattr` (all an untagged entry costs); for a tagged one also
/// `fstatat`, `openat`, `fstat` and `fgetxattr`; for a dead owner's also `flock`, `fstat`,
/// `fstatat` and the removal. Per reap: one read of `/proc/self/status`; per owner pid, one
/// read of its `/proc/<pid>/stat`, and for a zombie leader a listing of its threads.
///
/// # Errors
/// If `dir` cannot be opened or listed, or this process's identity cannot be read. An entry
/// that could not be removed is not an error here (see [`ReapOptions::reap`]).
///
/// # Platform notes
/// Linux (tags are extended attributes; liveness comes from `/proc`). Elsewhere nothing is
/// tagged, and nothing is reaped.
///
/// # Python equivalent
/// None.
///
/// ```
/// let parent = tempkit::mkdtemp()?;
/// let dir = tempkit::Builder::new().dir(&parent).reapable(true).temporary_directory()?;
/// // Our own directory: we are alive, so it stays.
/// assert!(tempkit::reap(&parent, false)?.is_empty());
/// assert!(dir.path().is_dir());
/// # drop(dir); std::fs::remove_dir(parent)?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn reap(dir: &Path, dry_run: bool) -> io::Result<Vec<PathBuf>> {
    let entries = ReapOptions::new().dry_run(dry_run).reap(dir)?;
    Ok(entries
        .into_iter()
        .filter(ReapEntry::is_reaped)
        .map(|e| e.path)
        .collect())
}

/// One reap of one directory.
struct Reaper<'a> {
    dir: &'a Path,
    handle: sys::DirHandle,
    options: &'a ReapOptions,
    /// Our identity; `None` where it cannot be read (then no tag can be judged).
    me: Option<Arc<Owner>>,
    /// Whether the mounted `/proc` shows our pid namespace's pids: read once, when the first
    /// tag gets that far (one read of `/proc/self/status` per reap).
    proc_ours: Option<bool>,
    euid: u32,
    procs: HashMap<u32, Option<Process>>,
}

/// What became of an entry after the checks before removal.
enum Judged {
    /// A dead owner's entry, open as `held`, whose `fstat` was `stat`.
    Reap(sys::Handle, Stat, String),
    Skip(String),
    /// Gone meanwhile (another reaper): not listed.
    Gone,
}

impl<'a> Reaper<'a> {
    fn new(dir: &'a Path, options: &'a ReapOptions) -> io::Result<Reaper<'a>> {
        let handle = sys::open_dir(dir)
            .map_err(|e| error::with_path(e, "open the directory to reap", dir))?;
        Ok(Reaper {
            dir,
            handle,
            options,
            me: me().ok(),
            proc_ours: None,
            euid: sys::euid(),
            procs: HashMap::new(),
        })
    }

    fn run(mut self) -> io::Result<Vec<ReapEntry>> {
        let mut names = Vec::new();
        let mut buf = sys::ReadBuf::new();
        sys::read_entries(&self.handle, &mut buf, false, &mut |name, _| {
            names.push(name.to_owned())
        })
        .map_err(|e| error::with_path(e, "list the directory to reap", self.dir))?;
        let mut report = Vec::with_capacity(names.len());
        for name in &names {
            if let Some(entry) = self.entry(name) {
                report.push(entry);
            }
        }
        Ok(report)
    }

    fn entry(&mut self, name: &sys::Name) -> Option<ReapEntry> {
        let path = self.dir.join(sys::name_as_os_str(name));
        let entry = |outcome, reason: String| {
            Some(ReapEntry {
                path: path.clone(),
                outcome,
                reason,
            })
        };
        let (held, stat, reason) = match self.judge(name, &path) {
            Judged::Reap(held, stat, reason) => (held, stat, reason),
            Judged::Skip(reason) => return entry(ReapOutcome::Skipped, reason),
            Judged::Gone => return None,
        };
        if self.options.dry_run {
            return entry(ReapOutcome::WouldRemove, reason);
        }
        match self.remove(name, &path, held, &stat) {
            Ok(Removal::Done) => entry(ReapOutcome::Removed, reason),
            Ok(Removal::Gone) => None,
            Ok(Removal::Skip(why)) => entry(ReapOutcome::Skipped, why),
            Err(e) => entry(ReapOutcome::Failed(e), reason),
        }
    }

    /// Reads the tag and decides. Every fact the decision rests on (kind, owner, mode, link
    /// count, inode, tag) is read from one open descriptor of the entry, so a name swapped
    /// meanwhile cannot lend one inode's tag to another.
    fn judge(&mut self, name: &sys::Name, path: &Path) -> Judged {
        // One system call for the common case, an untagged entry; never follows a link.
        let by_path = match sys::get_tag_path(path) {
            Ok(Some(bytes)) => bytes,
            Ok(None) => return Judged::Skip(UNTAGGED.into()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Judged::Gone,
            // No read permission (mode 000, for a reaper that is not root): its tag cannot be
            // read without changing its mode, and an entry that may be untagged is never
            // changed. Left alone.
            Err(e) => return Judged::Skip(format!("cannot read its tag: {}", e)),
        };
        #[cfg(test)]
        hooks::after_tag_by_path(path);
        // The kind decides how to open it; a symlink, a FIFO or a device is never opened.
        let named = match sys::stat_at(&self.handle, name) {
            Ok(stat) => stat,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Judged::Gone,
            Err(e) => return Judged::Skip(format!("cannot stat it: {}", e)),
        };
        if let Some(why) = refuse_kind(&named) {
            return Judged::Skip(why);
        }
        let held = match sys::open_entry(&self.handle, name, named.kind == StatKind::Dir) {
            Ok(held) => held,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Judged::Gone,
            Err(e) if sys::is_not_dir(&e) => return Judged::Skip(CHANGED.into()),
            Err(e) => return Judged::Skip(format!("cannot open it: {}", e)),
        };
        let stat = match sys::stat_fd(held.fd()) {
            Ok(stat) => stat,
            Err(e) => return Judged::Skip(format!("cannot stat it: {}", e)),
        };
        if stat.dev != named.dev || stat.ino != named.ino {
            return Judged::Skip(CHANGED.into());
        }
        // Read after the fstat: a tag written after it moves the ctime, which the check
        // under the lock compares.
        let tag = match sys::get_tag(held.fd()) {
            // The tag read by path may have been another inode's.
            Ok(Some(bytes)) if bytes != by_path => return Judged::Skip(CHANGED.into()),
            Ok(Some(bytes)) => match Tag::parse(&bytes) {
                Some(tag) => tag,
                None => return Judged::Skip("unreadable tag".into()),
            },
            Ok(None) => return Judged::Skip(UNTAGGED.into()),
            Err(e) => return Judged::Skip(format!("cannot read its tag: {}", e)),
        };
        if let Some(why) = self.refuse(&tag, &stat) {
            return Judged::Skip(why);
        }
        let me = match &self.me {
            Some(me) => Arc::clone(me),
            None => return Judged::Skip("cannot read this process's own identity".into()),
        };
        let proc_ours = *self.proc_ours.get_or_insert_with(sys::proc_shows_our_pids);
        match liveness(&tag.owner, &me, proc_ours, &mut self.procs) {
            Ok(Liveness::Dead(why)) => Judged::Reap(held, stat, why),
            Ok(Liveness::Alive(why)) | Ok(Liveness::Unknown(why)) => Judged::Skip(why),
            Err(e) => Judged::Skip(format!("cannot check the owner: {}", e)),
        }
    }

    /// Why an entry with this tag and this `stat` (of its open descriptor) is not ours to
    /// judge, if it is not.
    fn refuse(&self, tag: &Tag, stat: &Stat) -> Option<String> {
        if let Some(why) = refuse_kind(stat) {
            return Some(why);
        }
        if tag.dev != stat.dev || tag.ino != stat.ino {
            return Some("the tag names another inode (a copy or a moved tag)".into());
        }
        // Anyone who may write an entry may set its user.* attributes (on a file, and on a
        // directory without the sticky bit), the owner or not: a tag is its owner's word only
        // where nobody else may write. A POSIX ACL granting anyone write shows in the group
        // bits (its mask). tempkit makes 0700 and 0600.
        if stat.mode & 0o022 != 0 {
            return Some(format!(
                "writable by others (mode {:04o}): its tag may be forged",
                stat.mode
            ));
        }
        // The tag names the uid that made the entry; an entry owned by another was given
        // away (chown) or tagged by someone else.
        if tag.uid != stat.uid {
            return Some(format!(
                "the tag names uid {}, the owner is uid {}",
                tag.uid, stat.uid
            ));
        }
        if stat.uid != self.euid && !self.options.all_users {
            return Some(format!("another user's (uid {})", stat.uid));
        }
        None
    }

    /// Locks, re-checks and removes a dead owner's entry, open as `held`, whose `fstat` was
    /// `stat` when it was judged.
    fn remove(
        &self,
        name: &sys::Name,
        path: &Path,
        held: sys::Handle,
        stat: &Stat,
    ) -> io::Result<Removal> {
        let is_dir = stat.kind == StatKind::Dir;
        let same = |found: &Stat| found.dev == stat.dev && found.ino == stat.ino;
        #[cfg(test)]
        hooks::before_lock(path);
        match sys::try_lock_exclusive(held.fd()) {
            Ok(true) => {}
            Ok(false) => {
                return Ok(Removal::Skip(
                    "locked: held by a live process or another reaper".into(),
                ))
            }
            Err(e) => return Err(error::with_path(e, "lock", path)),
        }
        // Under the lock: nothing about the inode changed since it was judged (its mode,
        // owner, links and tag move the ctime) ...
        let now = sys::stat_fd(held.fd()).map_err(|e| error::with_path(e, "stat", path))?;
        if now != *stat {
            return Ok(Removal::Skip(CHANGED.into()));
        }
        // ... and its name still refers to it: another reaper that got here first has
        // removed the name by now.
        match sys::stat_at(&self.handle, name) {
            Ok(found) if same(&found) => {}
            Ok(_) => return Ok(Removal::Skip(CHANGED.into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Removal::Gone),
            Err(e) => return Err(error::with_path(e, "stat", path)),
        }
        #[cfg(test)]
        hooks::before_removal(path);
        if is_dir {
            let dir = match sys::open_subdir(&self.handle, name) {
                Ok(dir) => dir,
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Removal::Gone),
                Err(e) if sys::is_not_dir(&e) => return Ok(Removal::Skip(CHANGED.into())),
                Err(e) => return Err(error::with_path(e, "open", path)),
            };
            if !same(&sys::stat_fd(dir.fd()).map_err(|e| error::with_path(e, "stat", path))?) {
                return Ok(Removal::Skip(CHANGED.into()));
            }
            remove::remove_tree_at(&self.handle, name, dir, path)?;
        } else {
            match sys::remove_file_at(&self.handle, name) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Removal::Gone),
                Err(e) => return Err(error::with_path(e, "remove", path)),
            }
        }
        // The lock goes with `held`, after the removal.
        drop(held);
        Ok(Removal::Done)
    }
}

/// Why an entry of this kind is never judged, if it is not: only directories and regular
/// files with one link (a hard link elsewhere is a name the tag's owner may not have made).
fn refuse_kind(stat: &Stat) -> Option<String> {
    match stat.kind {
        StatKind::Dir => None,
        StatKind::File if stat.nlink > 1 => Some("a file with other hard links".into()),
        StatKind::File => None,
        StatKind::Symlink => Some("a symlink".into()),
        StatKind::Other => Some("not a file or directory".into()),
    }
}

const CHANGED: &str = "changed during the reap: left alone";

enum Removal {
    Done,
    Gone,
    Skip(String),
}

/// A test-only failpoint: the unit tests swap entries at the one moment between the last
/// check and the removal, deterministically.
#[cfg(test)]
mod hooks {
    use std::cell::RefCell;
    use std::path::Path;

    pub(super) type Hook = Box<dyn FnMut(&Path)>;

    thread_local! {
        pub(super) static BEFORE_REMOVAL: RefCell<Option<Hook>> = RefCell::new(None);
    }

    thread_local! {
        pub(super) static AFTER_TAG_BY_PATH: RefCell<Option<Hook>> = RefCell::new(None);
        pub(super) static BEFORE_LOCK: RefCell<Option<Hook>> = RefCell::new(None);
    }

    fn call(hook: &'static std::thread::LocalKey<RefCell<Option<Hook>>>, path: &Path) {
        hook.with(|hook| {
            if let Some(hook) = hook.borrow_mut().as_mut() {
                hook(path);
            }
        });
    }

    /// After the tag was read by path, before anything else.
    pub(super) fn after_tag_by_path(path: &Path) {
        call(&AFTER_TAG_BY_PATH, path)
    }

    /// After the entry was judged on its descriptor, before it is locked.
    pub(super) fn before_lock(path: &Path) {
        call(&BEFORE_LOCK, path)
    }

    /// After the last check, before the removal.
    pub(super) fn before_removal(path: &Path) {
        call(&BEFORE_REMOVAL, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner() -> Owner {
        Owner {
            host: "m1".into(),
            boot: "b1".into(),
            pidns: 7,
            pid: 42,
            start: 1000,
        }
    }

    #[test]
    fn a_tag_reads_back_as_written_and_nothing_else_parses() {
        let tag = Tag {
            owner: owner(),
            uid: 1000,
            dev: 5,
            ino: 99,
        };
        let text = tag.encode();
        assert_eq!(
            text,
            "v1 host=m1 boot=b1 pidns=7 pid=42 start=1000 uid=1000 dev=5 ino=99"
        );
        assert_eq!(Tag::parse(text.as_bytes()), Some(tag));
        for bad in [
            "",
            "v2 host=m1 boot=b1 pidns=7 pid=42 start=1000 uid=1000 dev=5 ino=99",
            "v1 host=m1 boot=b1 pidns=7 pid=42 start=1000 uid=1000 dev=5",
            "v1 host= boot=b1 pidns=7 pid=42 start=1000 uid=1000 dev=5 ino=99",
            "v1 host=m1 boot=b1 pidns=7 pid=x start=1000 uid=1000 dev=5 ino=99",
            "v1 host=m1 host=m2 boot=b1 pidns=7 pid=42 start=1000 uid=1000 dev=5 ino=99",
        ] {
            assert_eq!(Tag::parse(bad.as_bytes()), None, "{:?}", bad);
        }
    }

    #[test]
    fn liveness_follows_machine_boot_namespace_and_process() {
        let me = owner();
        let process = |state: u8, start: u64, other_thread_alive: bool| {
            Some(Process {
                stat: sys::ProcStat { state, start },
                other_thread_alive,
            })
        };
        let mut procs = HashMap::new();
        procs.insert(42, process(b'S', 1000, false));
        procs.insert(43, process(b'Z', 1000, false));
        procs.insert(44, process(b'R', 2000, false));
        procs.insert(45, None);
        // A leader that called pthread_exit: a zombie while another thread runs.
        procs.insert(46, process(b'Z', 1000, true));
        procs.insert(47, process(b'X', 1000, true));
        // A reused pid whose new process is such a leader: still reused.
        procs.insert(48, process(b'Z', 2000, true));
        let check =
            |o: Owner, proc_ours: bool, procs: &mut HashMap<u32, Option<Process>>| match liveness(
                &o, &me, proc_ours, procs,
            )
            .unwrap()
            {
                Liveness::Dead(_) => "dead",
                Liveness::Alive(_) => "alive",
                Liveness::Unknown(_) => "unknown",
            };
        let with = |f: &dyn Fn(&mut Owner)| {
            let mut o = owner();
            f(&mut o);
            o
        };
        assert_eq!(check(owner(), true, &mut procs), "alive");
        assert_eq!(
            check(with(&|o| o.host = "m2".into()), true, &mut procs),
            "unknown"
        );
        assert_eq!(
            check(with(&|o| o.boot = "b2".into()), true, &mut procs),
            "dead"
        );
        assert_eq!(check(with(&|o| o.pidns = 8), true, &mut procs), "unknown");
        assert_eq!(check(with(&|o| o.pid = 43), true, &mut procs), "dead");
        assert_eq!(check(with(&|o| o.pid = 44), true, &mut procs), "dead");
        assert_eq!(check(with(&|o| o.pid = 45), true, &mut procs), "dead");
        assert_eq!(check(with(&|o| o.pid = 46), true, &mut procs), "alive");
        assert_eq!(check(with(&|o| o.pid = 47), true, &mut procs), "alive");
        assert_eq!(check(with(&|o| o.pid = 48), true, &mut procs), "dead");
        // Another machine wins over another boot: never judged.
        let foreign = with(&|o| {
            o.host = "m2".into();
            o.boot = "b2".into()
        });
        assert_eq!(check(foreign, true, &mut procs), "unknown");
        // A /proc of another pid namespace tells nothing about our pids, dead or alive; an
        // ended boot needs no /proc.
        for pid in [42, 43, 44, 45, 46] {
            assert_eq!(
                check(with(&|o| o.pid = pid), false, &mut procs),
                "unknown",
                "pid {}",
                pid
            );
        }
        assert_eq!(
            check(with(&|o| o.boot = "b2".into()), false, &mut procs),
            "dead"
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn proc_stat_is_parsed_after_the_last_parenthesis() {
        let line = b"4242 (a) b) c) S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 123456 23";
        let st = sys::parse_proc_stat(line).unwrap();
        assert_eq!((st.state, st.start), (b'S', 123456));
        let me = sys::process_stat("self").unwrap().unwrap();
        assert!(me.state != b'Z' && me.start > 0);
    }

    /// A directory in `parent` tagged as left by a dead owner (another boot of this machine).
    #[cfg(target_os = "linux")]
    fn dead_dir(parent: &Path, name: &str) -> PathBuf {
        let path = parent.join(name);
        std::fs::create_dir(&path).unwrap();
        let held = sys::open_dir_handle(&path).unwrap();
        let stat = sys::stat_fd(held.fd()).unwrap();
        let mut owner = (*me().unwrap()).clone();
        owner.boot = "another-boot".into();
        let tag = Tag {
            owner,
            uid: stat.uid,
            dev: stat.dev,
            ino: stat.ino,
        };
        sys::set_tag(held.fd(), tag.encode().as_bytes()).unwrap();
        path
    }

    /// Runs a real reap of `dir` with `swap` called at the one moment between the last check
    /// of an entry and its removal.
    #[cfg(target_os = "linux")]
    fn reap_with_swap(dir: &Path, swap: impl FnMut(&Path) + 'static) -> Vec<ReapEntry> {
        reap_with_hook(&hooks::BEFORE_REMOVAL, dir, swap)
    }

    #[cfg(target_os = "linux")]
    fn scratch(name: &str) -> (PathBuf, PathBuf, PathBuf) {
        let base =
            std::env::temp_dir().join(format!("tempkit-reap-{}-{}", name, std::process::id()));
        let (dir, outside) = (base.join("tmp"), base.join("outside"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::create_dir_all(outside.join("sub")).unwrap();
        std::fs::write(outside.join("precious"), b"mine").unwrap();
        std::fs::write(outside.join("sub/precious"), b"mine").unwrap();
        (base, dir, outside)
    }

    #[cfg(target_os = "linux")]
    fn assert_outside_intact(outside: &Path) {
        assert_eq!(std::fs::read(outside.join("precious")).unwrap(), b"mine");
        assert_eq!(
            std::fs::read(outside.join("sub/precious")).unwrap(),
            b"mine"
        );
    }

    /// Runs a real reap of `dir` with `hook` set as `which` (one of the failpoints).
    #[cfg(target_os = "linux")]
    fn reap_with_hook(
        which: &'static std::thread::LocalKey<std::cell::RefCell<Option<hooks::Hook>>>,
        dir: &Path,
        hook: impl FnMut(&Path) + 'static,
    ) -> Vec<ReapEntry> {
        which.with(|h| *h.borrow_mut() = Some(Box::new(hook)));
        let entries = ReapOptions::new().reap(dir);
        which.with(|h| *h.borrow_mut() = None);
        entries.unwrap()
    }

    #[cfg(target_os = "linux")]
    fn only(entries: &[ReapEntry]) -> &ReapEntry {
        assert_eq!(entries.len(), 1, "{:?}", entries);
        &entries[0]
    }

    /// The tag is read from the descriptor the entry is judged and removed through: a name
    /// that named a forged tag's holder when it was read by path, and names an untagged
    /// victim when it is opened, leaves the victim alone (it would be removed if the tag read
    /// by path were trusted: the forgery names the victim's inode, owner and a dead owner).
    #[test]
    #[cfg(target_os = "linux")]
    fn the_tag_is_read_from_the_opened_entry_not_from_the_name() {
        let (base, dir, _outside) = scratch("swap-tag");
        let victim = base.join("victim");
        std::fs::create_dir(&victim).unwrap();
        std::fs::write(victim.join("precious"), b"mine").unwrap();
        let decoy = dead_dir(&dir, "decoy");
        let vstat = sys::stat_path(&victim).unwrap();
        let held = sys::open_dir_handle(&decoy).unwrap();
        let text = String::from_utf8(sys::get_tag_path(&decoy).unwrap().unwrap()).unwrap();
        let forged = text
            .split(' ')
            .map(|w| match w.split_once('=') {
                Some(("dev", _)) => format!("dev={}", vstat.dev),
                Some(("ino", _)) => format!("ino={}", vstat.ino),
                _ => w.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ");
        sys::set_tag(held.fd(), forged.as_bytes()).unwrap();
        drop(held);
        let (v, d) = (victim.clone(), decoy.clone());
        let entries = reap_with_hook(&hooks::AFTER_TAG_BY_PATH, &dir, move |path| {
            assert_eq!(path, d);
            // The victim takes the decoy's name (an empty directory is replaced).
            std::fs::rename(&v, &d).unwrap();
        });
        let entry = only(&entries);
        assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
        assert_eq!(entry.reason(), UNTAGGED);
        assert_eq!(std::fs::read(decoy.join("precious")).unwrap(), b"mine");
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// A change to the entry between its judging and its removal (here its mode widened, as
    /// its owner or root could) is seen under the lock: left alone.
    #[test]
    #[cfg(target_os = "linux")]
    fn an_entry_changed_after_its_judging_is_left_alone() {
        use std::os::unix::fs::PermissionsExt;
        let (base, dir, _outside) = scratch("chmod");
        let victim = dead_dir(&dir, "victim");
        let v = victim.clone();
        let entries = reap_with_hook(&hooks::BEFORE_LOCK, &dir, move |_| {
            std::fs::set_permissions(&v, std::fs::Permissions::from_mode(0o777)).unwrap();
        });
        let entry = only(&entries);
        assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
        assert_eq!(entry.reason(), CHANGED);
        assert!(victim.is_dir());
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// A tagged file with another name elsewhere (a hard link: a name its owner may not have
    /// made, and whose removal would not free it) is left alone.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_file_with_another_hard_link_is_left_alone() {
        let (base, dir, _outside) = scratch("link");
        let victim = dir.join("victim");
        std::fs::write(&victim, b"x").unwrap();
        let file = std::fs::File::open(&victim).unwrap();
        let stat = sys::stat_fd(sys::file_fd(&file)).unwrap();
        let mut owner = (*me().unwrap()).clone();
        owner.boot = "another-boot".into();
        let tag = Tag {
            owner,
            uid: stat.uid,
            dev: stat.dev,
            ino: stat.ino,
        };
        sys::set_tag(sys::file_fd(&file), tag.encode().as_bytes()).unwrap();
        std::fs::hard_link(&victim, base.join("elsewhere")).unwrap();
        let entry = ReapOptions::new().reap(&dir).unwrap().remove(0);
        assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
        assert!(entry.reason().contains("hard links"), "{}", entry);
        assert!(victim.is_file());
        // Control: with its one name, it goes.
        std::fs::remove_file(base.join("elsewhere")).unwrap();
        let entry = ReapOptions::new().reap(&dir).unwrap().remove(0);
        assert!(matches!(entry.outcome(), ReapOutcome::Removed), "{}", entry);
        std::fs::remove_dir_all(&base).unwrap();
    }

    /// A dead owner's entry that someone holds a `flock` on (a live process it was handed
    /// to, or another reaper) is left alone.
    #[test]
    #[cfg(target_os = "linux")]
    fn a_locked_entry_is_left_alone() {
        let (base, dir, _outside) = scratch("locked");
        let victim = dead_dir(&dir, "victim");
        let holder = sys::open_dir_handle(&victim).unwrap();
        sys::lock_shared(holder.fd()).unwrap();
        let entry = ReapOptions::new().reap(&dir).unwrap().remove(0);
        assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
        assert!(entry.reason().starts_with("locked"), "{}", entry);
        assert!(victim.is_dir());
        drop(holder);
        let entry = ReapOptions::new().reap(&dir).unwrap().remove(0);
        assert!(matches!(entry.outcome(), ReapOutcome::Removed), "{}", entry);
        assert!(!victim.exists());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn an_entry_swapped_for_a_symlink_before_removal_is_left_alone() {
        let (base, dir, outside) = scratch("root");
        let victim = dead_dir(&dir, "victim");
        std::fs::write(victim.join("inside"), b"x").unwrap();
        let (v, o, b) = (victim.clone(), outside.clone(), base.clone());
        let entries = reap_with_swap(&dir, move |path| {
            assert_eq!(path, v);
            std::fs::rename(&v, b.join("moved")).unwrap();
            std::os::unix::fs::symlink(&o, &v).unwrap();
        });
        assert_eq!(entries.len(), 1);
        assert!(
            matches!(entries[0].outcome(), ReapOutcome::Skipped),
            "{}",
            entries[0]
        );
        assert_eq!(entries[0].reason(), CHANGED);
        assert_outside_intact(&outside);
        assert!(std::fs::symlink_metadata(&victim)
            .unwrap()
            .file_type()
            .is_symlink());
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_subdirectory_swapped_for_a_symlink_during_removal_is_not_followed() {
        let (base, dir, outside) = scratch("sub");
        let victim = dead_dir(&dir, "victim");
        std::fs::create_dir(victim.join("sub")).unwrap();
        std::fs::write(victim.join("sub/inside"), b"x").unwrap();
        let (v, o) = (victim.clone(), outside.clone());
        let entries = reap_with_swap(&dir, move |_| {
            std::fs::remove_dir_all(v.join("sub")).unwrap();
            std::os::unix::fs::symlink(o.join("sub"), v.join("sub")).unwrap();
        });
        assert_eq!(entries.len(), 1);
        assert!(
            matches!(entries[0].outcome(), ReapOutcome::Removed),
            "{}",
            entries[0]
        );
        assert_outside_intact(&outside);
        assert!(!victim.exists());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
