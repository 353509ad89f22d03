//! Symlink and squatting attacks: another user pre-creates the names tempkit is about to pick.
//!
//! With `random_len(1)` and no prefix or suffix there are only 37 names. The attacker takes 36
//! of them (as symlinks to a victim file, as hard links to it, as directories, as FIFOs) and
//! leaves one free; every creator must then either take the free name or fail with
//! `AlreadyExists`, and must never open, write or chmod the victim (contents, mode, mtime and
//! ctime are compared; a FIFO would block an open, so a test that finishes proves none was
//! opened). Each round frees another name, 37 rounds per creator and trap kind; across the
//! rounds both outcomes must occur (a creator that never fails cannot have tried the trapped
//! names). The bodies run as an unprivileged user: root would not be stopped by permissions.

#![cfg(unix)] // for now

mod common;

use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use common::child::{child_args, Child};
use common::creators::{self, Creator};
use common::{list, Scratch};

/// Python's alphabet: the 37 names a random part of length 1 can take.
const ALPHABET: &[u8; 37] = b"abcdefghijklmnopqrstuvwxyz0123456789_";

/// How long the 37 rounds of one creator and trap may take before the child process running
/// them is killed (a blocked FIFO open).
const CHILD_SECONDS: u64 = 120;

#[derive(Clone, Copy, Debug)]
enum Trap {
    Symlink,
    HardLink,
    Directory,
    Fifo,
}

impl Trap {
    /// The trap called `name` (its `Debug` form), as a child process is given it.
    fn named(name: &str) -> Trap {
        [Trap::Symlink, Trap::HardLink, Trap::Directory, Trap::Fifo]
            .into_iter()
            .find(|t| format!("{:?}", t) == name)
            .unwrap_or_else(|| panic!("no trap called {:?}", name))
    }

    fn plant(self, at: &Path, victim: &Path) -> io::Result<()> {
        match self {
            Trap::Symlink => std::os::unix::fs::symlink(victim, at),
            Trap::HardLink => std::fs::hard_link(victim, at),
            Trap::Directory => {
                std::fs::create_dir(at)?;
                std::fs::set_permissions(at, std::fs::Permissions::from_mode(0o755))
            }
            Trap::Fifo => {
                let c = CString::new(at.as_os_str().as_bytes()).unwrap();
                // SAFETY: `c` is a valid NUL-terminated path.
                if unsafe { libc::mkfifo(c.as_ptr(), 0o644) } == 0 {
                    Ok(())
                } else {
                    Err(io::Error::last_os_error())
                }
            }
        }
    }

    fn remove(self, at: &Path) -> io::Result<()> {
        match self {
            Trap::Directory => std::fs::remove_dir(at),
            _ => std::fs::remove_file(at),
        }
    }
}

/// Everything an open, a write or a chmod would change about a file, read without following
/// a symlink.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    ino: u64,
    mode: u32,
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    nlink: u64,
}

fn snapshot(path: &Path) -> Snapshot {
    let m = path.symlink_metadata().expect("lstat");
    Snapshot {
        ino: m.ino(),
        mode: m.mode(),
        size: m.size(),
        mtime: (m.mtime(), m.mtime_nsec()),
        ctime: (m.ctime(), m.ctime_nsec()),
        nlink: m.nlink(),
    }
}

fn name(i: usize) -> String {
    (ALPHABET[i] as char).to_string()
}

const VICTIM_CONTENTS: &[u8] = b"the victim's precious data\n";

/// Runs the 37 rounds of `trap` against `creator`, as the current (unprivileged) user.
fn attack(scratch: &Path, creator: &Creator, trap: Trap) {
    let victim_dir = scratch.join("victim");
    std::fs::create_dir(&victim_dir).unwrap();
    let victim = victim_dir.join("victim");
    std::fs::write(&victim, VICTIM_CONTENTS).unwrap();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o644)).unwrap();
    let attacked = scratch.join("shared");
    std::fs::create_dir(&attacked).unwrap();
    // A creator whose unnamed path cannot go through a symlinked directory takes its named
    // fallback when `dir` is one.
    let dir: PathBuf = if creator.named_only_via_symlinked_dir {
        let link = scratch.join("shared-link");
        std::os::unix::fs::symlink(&attacked, &link).unwrap();
        link
    } else {
        attacked.clone()
    };
    for i in 1..ALPHABET.len() {
        trap.plant(&attacked.join(name(i)), &victim).unwrap();
    }

    let (mut taken, mut refused) = (0, 0);
    for round in 0..ALPHABET.len() {
        if round > 0 {
            // Free this round's name and trap the one freed last round.
            trap.remove(&attacked.join(name(round))).unwrap();
            trap.plant(&attacked.join(name(round - 1)), &victim)
                .unwrap();
        }
        let free = name(round);
        let traps: BTreeMap<String, Snapshot> = list(&attacked)
            .into_iter()
            .map(|n| {
                let s = snapshot(&attacked.join(&n));
                (n, s)
            })
            .collect();
        assert_eq!(traps.len(), 36);
        let before = snapshot(&victim);

        let mut b = tempkit::Builder::new();
        b.prefix("").suffix("").random_len(1).dir(&dir);
        match (creator.create)(&b) {
            Ok(held) => {
                taken += 1;
                if let Some(path) = held.path() {
                    assert_eq!(path.parent(), Some(dir.as_path()), "{}", creator.name);
                    assert_eq!(path.file_name().unwrap(), free.as_str(), "{}", creator.name);
                    let m = attacked.join(&free).symlink_metadata().unwrap();
                    assert!(!m.file_type().is_symlink(), "{}", creator.name);
                    assert_eq!(m.is_dir(), creator.is_dir, "{}", creator.name);
                } else {
                    // An unnamed object unlinked its fallback name at once.
                    assert_eq!(list(&attacked).len(), 36, "{}", creator.name);
                }
                held.finish().unwrap();
            }
            Err(e) => {
                assert_eq!(
                    e.kind(),
                    io::ErrorKind::AlreadyExists,
                    "{} with {:?}: {}",
                    creator.name,
                    trap,
                    e
                );
                refused += 1;
            }
        }

        // The victim was not opened for writing, written, truncated or chmod'ed.
        assert_eq!(
            snapshot(&victim),
            before,
            "{} with {:?}",
            creator.name,
            trap
        );
        assert_eq!(std::fs::read(&victim).unwrap(), VICTIM_CONTENTS);
        // Every trap is still there, the same object, unchanged; the free name is free again.
        let after: BTreeMap<String, Snapshot> = list(&attacked)
            .into_iter()
            .map(|n| {
                let s = snapshot(&attacked.join(&n));
                (n, s)
            })
            .collect();
        assert_eq!(after, traps, "{} with {:?}", creator.name, trap);
        if let Trap::Directory = trap {
            for n in traps.keys() {
                assert!(list(&attacked.join(n)).is_empty(), "{}", creator.name);
            }
        }
    }
    // 37 rounds of 20 tries at 1 free name in 37: each outcome has a chance of about 0.4 to
    // 0.6 per round, so missing either in all rounds (p < 1e-8) means a creator that did not
    // try the trapped names or could not find the free one.
    assert!(
        taken > 0,
        "{} with {:?}: never took the free name",
        creator.name,
        trap
    );
    assert!(
        refused > 0,
        "{} with {:?}: never refused",
        creator.name,
        trap
    );
}

/// Runs [`attack`] for every creator with `trap`, each in a fresh process as the
/// unprivileged user (see [`child_attacks`]).
fn run(trap: Trap) {
    for creator in creators::all() {
        let scratch = Scratch::for_nobody();
        Child::new("child_attacks")
            .arg(scratch.path())
            .arg(creator.name)
            .arg(format!("{:?}", trap))
            .as_nobody()
            .timeout(std::time::Duration::from_secs(CHILD_SECONDS))
            .assert_passes();
    }
}

/// The child of [`run`], as the unprivileged user: the attack with the trap (its `Debug`
/// name) on the creator (its name) given, in the scratch directory given.
#[test]
#[ignore]
fn child_attacks() {
    let args = child_args();
    let name = args[1].to_str().unwrap();
    let creator = creators::all()
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("no creator called {:?}", name));
    attack(&args[0], &creator, Trap::named(args[2].to_str().unwrap()));
}

#[test]
fn symlinks_to_a_victim_are_never_followed() {
    run(Trap::Symlink);
}

#[test]
fn hard_links_to_a_victim_are_never_opened() {
    run(Trap::HardLink);
}

#[test]
fn squatted_directories_are_left_alone() {
    run(Trap::Directory);
}

#[test]
fn fifos_are_never_opened() {
    run(Trap::Fifo);
}

#[test]
fn no_candidate_name_is_ever_opened_without_o_excl() {
    // An open that changes nothing (read-only, through a symlink or a hard link) leaves the
    // victim's snapshot as it was: only the system calls show it. Re-run the symlink and hard
    // link attacks under strace and check every open of a name in the shared directory (the
    // attacks' child processes are traced too: `strace -f`).
    if !common::need::strace() {
        return;
    }
    for test in [
        "symlinks_to_a_victim_are_never_followed",
        "hard_links_to_a_victim_are_never_opened",
    ] {
        let trace = common::trace::rerun_passing(
            test,
            &["--seccomp-bpf", "-e", "trace=open,openat,openat2,creat"],
            Path::new(""),
        );
        let mut candidates = 0;
        for line in trace.lines() {
            let Some(path) = line.split('"').nth(1) else {
                continue;
            };
            let path = Path::new(path);
            let in_shared = path
                .parent()
                .and_then(Path::file_name)
                .is_some_and(|d| d == "shared" || d == "shared-link");
            let candidate = path.file_name().is_some_and(|n| n.len() == 1);
            if in_shared && candidate {
                candidates += 1;
                assert!(
                    line.contains("O_EXCL"),
                    "{}: a candidate name opened without O_EXCL:\n{}",
                    test,
                    line
                );
            }
        }
        // Every named creator opens candidates: the check saw them.
        assert!(
            candidates > 37,
            "{}: only {} candidate opens",
            test,
            candidates
        );
    }
}
