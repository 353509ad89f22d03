//! Exact reaping: `reap` removes exactly what dead owners left (exit without destructors,
//! SIGKILL, zombie, another boot, a reused pid), and never a live owner's (also in a pid
//! namespace without its own /proc, or with its main thread exited), an untagged, kept,
//! persisted, symlinked, copied, another user's, a foreign machine's entry, or one whose tag
//! someone else may have forged.

#![cfg(unix)] // flock, extended attributes, /proc: Unix features (tests/windows.rs checks the no-ops)
#![allow(clippy::incompatible_msrv)] // tests use the current toolchain, not rust-version

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::child::Child;
use common::{list, Scratch, NOBODY};
use tempkit::{Builder, ReapEntry, ReapOptions, ReapOutcome};

const TAG: &str = "user.tempkit.owner";

fn reapable(dir: &Path) -> Builder {
    let mut b = Builder::new();
    b.dir(dir).reapable(true);
    b
}

fn tag_of(path: &Path) -> Option<String> {
    let mut buf = [0u8; 512];
    rustix::fs::lgetxattr(path, TAG, &mut buf[..])
        .ok()
        .map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
}

fn set_tag(path: &Path, tag: &str) {
    rustix::fs::lsetxattr(path, TAG, tag.as_bytes(), rustix::fs::XattrFlags::empty())
        .expect("write a tag");
}

/// `tag` with field `key` set to `value`.
fn with_field(tag: &str, key: &str, value: &str) -> String {
    tag.split(' ')
        .map(|w| match w.split_once('=') {
            Some((k, _)) if k == key => format!("{}={}", k, value),
            _ => w.to_string(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A tag for `path` that names this (live) process, as tempkit writes it.
fn live_tag_for(path: &Path, scratch: &Path) -> String {
    let model = reapable(scratch).temporary_directory().unwrap();
    let tag = tag_of(model.path()).expect("tempkit tags on this file system");
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path).unwrap();
    let tag = with_field(&tag, "dev", &meta.dev().to_string());
    with_field(&tag, "ino", &meta.ino().to_string())
}

/// Names in `dir` that `reap` reports as (would be) removed.
fn reaped(dir: &Path, dry_run: bool) -> BTreeSet<String> {
    tempkit::reap(dir, dry_run)
        .unwrap()
        .iter()
        .map(|p| {
            assert_eq!(p.parent(), Some(dir));
            p.file_name().unwrap().to_string_lossy().into_owned()
        })
        .collect()
}

fn names(paths: &[PathBuf]) -> BTreeSet<String> {
    paths
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// In a fresh process ([`child_leak`]): makes `dirs` tagged directories (each with a file
/// and a subdirectory inside) and `files` tagged named files in `dir`, writes their paths to
/// `record`, and ends without running a destructor: `_exit`, or `SIGKILL` when `kill`.
fn leak(dir: &Path, record: &Path, dirs: usize, files: usize, kill: bool) {
    leaker(dir, record, dirs, files, kill).run();
    assert_eq!(recorded(record).len(), dirs + files, "the leaking child");
}

/// The [`child_leak`] child for [`leak`], not started yet.
fn leaker(dir: &Path, record: &Path, dirs: usize, files: usize, kill: bool) -> Child {
    Child::new("child_leak")
        .arg(dir)
        .arg(record)
        .arg(dirs.to_string())
        .arg(files.to_string())
        .arg(if kill { "kill" } else { "exit" })
}

#[test]
#[ignore]
fn child_leak() {
    let args = common::child::child_args();
    let (dir, record) = (&args[0], &args[1]);
    let count = |i: usize| -> usize { args[i].to_str().unwrap().parse().unwrap() };
    let (dirs, files, kill) = (count(2), count(3), args[4].to_str() == Some("kill"));
    let mut made = String::new();
    // Held until `_exit`, which runs no destructor: leaked as by a crash.
    let mut held_dirs = Vec::new();
    let mut held_files = Vec::new();
    for _ in 0..dirs {
        let d = reapable(dir).temporary_directory().unwrap();
        assert!(d.is_reapable());
        std::fs::write(d.path().join("inside"), b"x").unwrap();
        std::fs::create_dir(d.path().join("sub")).unwrap();
        made.push_str(&format!("{}\n", d.path().display()));
        held_dirs.push(d);
    }
    for _ in 0..files {
        let f = reapable(dir).named_temporary_file().unwrap();
        assert!(f.is_reapable());
        made.push_str(&format!("{}\n", f.path().display()));
        held_files.push(f);
    }
    std::fs::write(record, made).unwrap();
    // SAFETY: plain system calls; nothing runs after them.
    unsafe {
        if kill {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
        libc::_exit(0)
    }
}

fn recorded(record: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(record)
        .unwrap_or_default()
        .lines()
        .map(PathBuf::from)
        .collect()
}

#[test]
fn exactly_the_dead_owners_entries_are_listed_and_removed() {
    let scratch = Scratch::new();
    let dir = scratch.path().join("tmp");
    let outside = scratch.path().join("outside");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(&outside).unwrap();
    // Leaked by a child that exits without destructors, and by one killed with SIGKILL.
    leak(&dir, &scratch.path().join("a"), 3, 2, false);
    leak(&dir, &scratch.path().join("b"), 2, 1, true);
    let mut dead = recorded(&scratch.path().join("a"));
    dead.extend(recorded(&scratch.path().join("b")));
    assert_eq!(dead.len(), 8);

    // What must stay: a live owner's (ours), untagged ones, a kept and a persisted one, a
    // symlink to a dead owner's directory elsewhere, and a copy that carries the tag along.
    let live_dir = reapable(&dir).temporary_directory().unwrap();
    let live_file = reapable(&dir).named_temporary_file().unwrap();
    let untagged_dir = tempkit::Builder::new().dir(&dir).mkdtemp().unwrap();
    let (_f, untagged_file) = tempkit::Builder::new().dir(&dir).mkstemp().unwrap();
    let no_delete = reapable(&dir).delete(false).temporary_directory().unwrap();
    assert!(!no_delete.is_reapable());
    let no_delete = no_delete.keep();
    let kept_path = {
        let d = reapable(&dir).temporary_directory().unwrap();
        assert!(d.is_reapable());
        d.keep()
    };
    let (_kept_file, kept_file) = reapable(&dir)
        .named_temporary_file()
        .unwrap()
        .keep()
        .unwrap();
    let persisted = dir.join("persisted");
    let _p = reapable(&dir)
        .named_temporary_file()
        .unwrap()
        .persist(&persisted)
        .unwrap();
    leak(&outside, &scratch.path().join("c"), 1, 0, false);
    let dead_outside = recorded(&scratch.path().join("c")).remove(0);
    let link = dir.join("link");
    std::os::unix::fs::symlink(&dead_outside, &link).unwrap();
    let copy = dir.join("copy");
    let cp = common::output_of(
        std::process::Command::new("cp")
            .args(["-r", "--preserve=xattr"])
            .arg(&dead[0])
            .arg(&copy),
    )
    .unwrap()
    .status;
    assert!(cp.success());
    assert!(
        tag_of(&copy).is_some(),
        "cp --preserve=xattr carried the tag"
    );
    for kept in [&kept_path, &kept_file, &persisted, &no_delete] {
        assert_eq!(tag_of(kept), None, "{} is still tagged", kept.display());
    }
    let before = list(&dir);

    assert_eq!(
        reaped(&dir, true),
        names(&dead),
        "the dry run lists exactly the dead"
    );
    assert_eq!(list(&dir), before, "a dry run removes nothing");
    assert_eq!(
        reaped(&dir, false),
        names(&dead),
        "the real run removes exactly them"
    );
    let after: BTreeSet<String> = list(&dir).into_iter().collect();
    let expected: BTreeSet<String> = before
        .iter()
        .filter(|n| !names(&dead).contains(*n))
        .cloned()
        .collect();
    assert_eq!(after, expected);
    for stays in [
        live_dir.path(),
        live_file.path(),
        &untagged_dir,
        &untagged_file,
        &kept_path,
        &kept_file,
        &persisted,
        &no_delete,
        &copy,
    ] {
        assert!(stays.exists(), "{} was removed", stays.display());
    }
    assert!(
        dead_outside.join("inside").exists(),
        "the link was followed"
    );
    assert!(std::fs::symlink_metadata(&link).is_ok());
    assert!(reaped(&dir, false).is_empty(), "a second run finds nothing");
}

#[test]
fn forged_tags_are_judged_as_specified() {
    let scratch = Scratch::new();
    let dir = scratch.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    let cases = [
        ("start", "1", true),                // live pid, another start time: reused
        ("boot", "another-boot", true),      // another boot of this machine
        ("host", "another-host", false),     // another machine: cannot be checked
        ("pidns", "1", false),               // another pid namespace: cannot be checked
        ("uid", &NOBODY.to_string(), false), // names another uid than the owner: never judged
    ];
    let mut expect = BTreeSet::new();
    for (i, (key, value, dead)) in cases.iter().enumerate() {
        let path = dir.join(format!("forged-{}-{}", i, key));
        std::fs::create_dir(&path).unwrap();
        let tag = with_field(&live_tag_for(&path, scratch.path()), key, value);
        set_tag(&path, &tag);
        if *dead {
            expect.insert(path.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    // A tag that names another inode (moved from elsewhere) is never judged.
    let moved = dir.join("moved");
    std::fs::create_dir(&moved).unwrap();
    let tag = with_field(&live_tag_for(&moved, scratch.path()), "ino", "1");
    set_tag(&moved, &with_field(&tag, "boot", "another-boot"));
    let entries = ReapOptions::new().dry_run(true).reap(&dir).unwrap();
    for e in &entries {
        eprintln!("{}", e);
    }
    let listed: BTreeSet<String> = entries
        .iter()
        .filter(|e| e.is_reaped())
        .map(|e| e.path().file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, expect);
    assert_eq!(
        entries.len(),
        cases.len() + 1,
        "every tagged entry is listed"
    );
    assert!(entries.iter().all(|e| !e.reason().is_empty()));
    assert_eq!(reaped(&dir, false), expect);
}

#[test]
fn a_zombie_owner_is_dead() {
    let scratch = Scratch::new();
    let record = scratch.path().join("record");
    let dir = scratch.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    // A fresh process that leaks a directory and exits; not waited for, so a zombie.
    let mut running = leaker(&dir, &record, 1, 0, false).spawn();
    let pid = running.child.id();
    let zombie = wait_until(|| proc_state(pid) == Some('Z'));
    assert!(zombie, "the child did not end within the bound");
    let leaked = recorded(&record).remove(0);
    let entries = ReapOptions::new().reap(&dir).unwrap();
    let entry = entries.iter().find(|e| e.path() == leaked).unwrap();
    assert!(matches!(entry.outcome(), ReapOutcome::Removed), "{}", entry);
    assert!(entry.reason().contains("zombie"), "{}", entry);
    assert!(!leaked.exists());
    common::try_wait_for(&mut running.child, std::time::Duration::from_secs(10))
        .expect("reap the zombie");
}

/// Field 3 of `/proc/PID/stat`: the state of the process (its leader thread).
fn proc_state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid)).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// Polls `done` every 10 ms for at most 20 s; whether it became true.
fn wait_until(mut done: impl FnMut() -> bool) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(20) {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    done()
}

#[test]
fn another_users_entry_needs_all_users_and_a_matching_tag() {
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::new();
    let record = scratch.path().join("record");
    leak(scratch.path(), &record, 2, 0, false);
    let leaked = recorded(&record);
    for path in &leaked {
        std::os::unix::fs::chown(path, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    // The second one's tag names its owner, as nobody's own process would have written it.
    let tag = tag_of(&leaked[1]).unwrap();
    set_tag(&leaked[1], &with_field(&tag, "uid", &NOBODY.to_string()));
    let plain = ReapOptions::new().reap(scratch.path()).unwrap();
    assert!(plain.iter().all(|e| !e.is_reaped()));
    assert!(plain.iter().any(|e| e.reason().contains("another user's")));
    let all = ReapOptions::new()
        .all_users(true)
        .reap(scratch.path())
        .unwrap();
    let removed: Vec<&Path> = all
        .iter()
        .filter(|e| e.is_reaped())
        .map(|e| e.path())
        .collect();
    assert_eq!(removed, vec![leaked[1].as_path()]);
    assert!(leaked[0].exists() && !leaked[1].exists());
}

#[test]
fn two_reapers_at_once_never_fail_and_remove_each_entry_once() {
    let scratch = Scratch::new();
    let record = scratch.path().join("record");
    let dir = scratch.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    leak(&dir, &record, 40, 40, true);
    let dead = names(&recorded(&record));
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let runs: Vec<_> = (0..2)
        .map(|_| {
            let (dir, barrier) = (dir.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                ReapOptions::new().reap(&dir).expect("a reaper failed")
            })
        })
        .collect();
    let mut removed = Vec::new();
    for run in runs {
        for e in run.join().unwrap() {
            assert!(!matches!(e.outcome(), ReapOutcome::Failed(_)), "{}", e);
            if matches!(e.outcome(), ReapOutcome::Removed) {
                removed.push(e.path().file_name().unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let once: BTreeSet<String> = removed.iter().cloned().collect();
    assert_eq!(once.len(), removed.len(), "an entry was removed twice");
    assert_eq!(once, dead);
    common::assert_empty(&dir);
}

#[test]
fn an_unreadable_entry_is_left_unchanged_by_an_unprivileged_reaper() {
    // Its tag cannot be read without changing its mode (user extended attributes need read
    // permission), and a possibly untagged entry is never changed: skipped, with the reason.
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::for_nobody();
    let dir = scratch.path().to_path_buf();
    let record = Scratch::for_nobody();
    let record = record.path().join("record");
    // Leaked by nobody's process, then made unreadable (mode 000), as its owner may.
    leaker(&dir, &record, 1, 0, false).as_nobody().run();
    let leaked = recorded(&record).remove(0);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&leaked, std::fs::Permissions::from_mode(0o000)).unwrap();
    Child::new("child_an_unreadable_entry_is_skipped")
        .arg(&dir)
        .arg(&leaked)
        .as_nobody()
        .assert_passes();
    assert_eq!(common::mode(&leaked), 0);
    // Root reads it regardless, and removes it when asked to judge other users' entries.
    let entries = ReapOptions::new().all_users(true).reap(&dir).unwrap();
    let removed: Vec<&ReapEntry> = entries.iter().filter(|e| e.is_reaped()).collect();
    assert_eq!(removed.len(), 1, "{:?}", entries);
    assert!(!removed[0].path().exists());
}

#[test]
#[ignore]
fn child_an_unreadable_entry_is_skipped() {
    let args = common::child::child_args();
    let (dir, leaked) = (&args[0], &args[1]);
    let entries = ReapOptions::new().reap(dir).unwrap();
    let entry = entries.iter().find(|e| e.path() == leaked).unwrap();
    assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
    assert!(entry.reason().contains("cannot read its tag"), "{}", entry);
    assert_eq!(common::mode(leaked), 0);
}

/// Whether a thread of `pid` is inside `openat` of the relative name `name` (its
/// `/proc/.../syscall` and the name read from its memory): where the traced reaper is held.
#[cfg(target_os = "linux")]
fn in_openat_of(pid: u32, name: &str) -> bool {
    use std::os::unix::fs::FileExt;
    let tasks = match std::fs::read_dir(format!("/proc/{}/task", pid)) {
        Ok(tasks) => tasks,
        Err(_) => return false,
    };
    tasks.flatten().any(|task| {
        let syscall = std::fs::read_to_string(task.path().join("syscall")).unwrap_or_default();
        let fields: Vec<&str> = syscall.split_whitespace().collect();
        if fields.len() < 3 || fields[0] != libc::SYS_openat.to_string() {
            return false;
        }
        let addr = u64::from_str_radix(fields[2].trim_start_matches("0x"), 16).unwrap_or(0);
        let mut buf = vec![0u8; name.len() + 1];
        std::fs::File::open(task.path().join("mem"))
            .and_then(|mem| mem.read_exact_at(&mut buf, addr))
            .is_ok()
            && buf[..name.len()] == *name.as_bytes()
            && buf[name.len()] == 0
    })
}

/// The pids of `parent`'s children.
#[cfg(target_os = "linux")]
fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{}/task/{}/children", parent, parent))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A FIFO swapped in at a dead owner's file name between its judging and its opening must
/// not block the reaper (`O_NONBLOCK`): the open returns at once, the identity check finds
/// another inode, and the FIFO is left alone. Made deterministic with strace: the reaper's
/// `openat` of the name is held on entry (`delay_enter`) while the test swaps the file for a
/// FIFO, then runs on the FIFO. Bounded: a blocked reaper fails the test.
#[cfg(target_os = "linux")] // /proc, strace
#[test]
fn a_fifo_swapped_in_at_the_name_never_blocks_the_reaper() {
    if let Some(dir) = common::tracee_arg() {
        let entries = ReapOptions::new().reap(&dir).unwrap();
        assert_eq!(entries.len(), 1, "{:?}", entries);
        assert!(
            matches!(entries[0].outcome(), ReapOutcome::Skipped)
                && entries[0].reason().contains("changed"),
            "{}",
            entries[0]
        );
        return;
    }
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let dir = scratch.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    leak(&dir, &scratch.path().join("record"), 0, 1, true);
    let victim = recorded(&scratch.path().join("record")).remove(0);
    let name = victim.file_name().unwrap().to_str().unwrap().to_owned();
    // Only calls naming the entry are traced (`-P`), so the delay holds its open alone.
    let mut child = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-o",
            "/dev/null",
            "-e",
            "trace=openat",
            "-P",
            &name,
        ])
        .args(["-e", "inject=openat:delay_enter=3000000:when=1"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_fifo_swapped_in_at_the_name_never_blocks_the_reaper",
        ])
        .args(["--test-threads=1"])
        .env("TEMPKIT_TEST_TRACEE", &dir)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let held = std::time::Instant::now();
    let tracee = loop {
        let tracee = children_of(child.id())
            .into_iter()
            .find(|&pid| in_openat_of(pid, &name));
        if let Some(pid) = tracee {
            break pid;
        }
        assert!(
            held.elapsed() < std::time::Duration::from_secs(60),
            "the reaper never opened the entry"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    // Made beside, then renamed over the file: a new inode (a file removed first could
    // hand its inode number to the FIFO).
    let beside = scratch.path().join("fifo");
    let fifo = std::ffi::CString::new(beside.as_os_str().to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
    std::fs::rename(&beside, &victim).unwrap();
    assert!(
        in_openat_of(tracee, &name),
        "the swap came too late: the open had already run"
    );
    // Far longer than the delay; a reaper blocked in the open never ends by itself.
    let status = common::try_wait_for(&mut child, std::time::Duration::from_secs(60));
    if status.is_none() {
        // Release a reader blocked on the FIFO, then stop everything.
        let _ = std::fs::OpenOptions::new().write(true).open(&victim);
        common::kill_within(&mut child);
        panic!("the reaper blocked on the FIFO swapped in at {}", name);
    }
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    assert!(
        status.unwrap().success() && out.contains("test result: ok. 1 passed"),
        "{}",
        out
    );
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::symlink_metadata(&victim)
        .unwrap()
        .file_type()
        .is_fifo());
}

/// The victim of the forgery tests, and the attacker's extra group.
const VICTIM: u32 = 1000;
const SHARED_GROUP: u32 = 4242;

/// Makes `path` a directory (`dir`) or file owned by `uid:gid` with `mode`, and, for a
/// directory, `sub/precious` inside it, owned by the victim, mode 0700: what someone able to
/// write `path` still cannot delete.
fn victims(path: &Path, dir: bool, uid: u32, gid: u32, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    if dir {
        std::fs::create_dir(path).unwrap();
        std::fs::create_dir(path.join("sub")).unwrap();
        std::fs::write(path.join("sub/precious"), b"mine").unwrap();
        for p in [path.join("sub/precious"), path.join("sub")] {
            std::os::unix::fs::chown(&p, Some(VICTIM), Some(VICTIM)).unwrap();
        }
        std::fs::set_permissions(path.join("sub"), std::fs::Permissions::from_mode(0o700)).unwrap();
    } else {
        std::fs::write(path, b"mine").unwrap();
    }
    std::os::unix::fs::chown(path, Some(uid), Some(gid)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A tag for `path` saying "owner dead (another boot), uid = `uid`", as tempkit would write it.
fn dead_tag_for(path: &Path, scratch: &Path, uid: u32) -> String {
    let tag = with_field(&live_tag_for(path, scratch), "boot", "another-boot");
    with_field(&tag, "uid", &uid.to_string())
}

/// Finding 1 of issue 21. Anyone who may write an entry may set its `user.*` attributes (a
/// file; a directory without the sticky bit), not only its owner. The attacker (65534, also in
/// group 4242) forges "owner dead, uid = victim" on the victim's (1000) 0777 directory, 0666
/// file and 2775 directory of a group it shares, in a sticky directory like /tmp. Neither the
/// victim's own reap nor root's `--all-users` reap may remove them or what they hold, which
/// the attacker could not delete itself. Controls: the same tags on the victim's 0700
/// directory and 0600 file (which only the victim could have written) are reaped.
#[test]
fn a_tag_forged_by_someone_who_may_write_the_entry_is_never_trusted() {
    if !common::need::root() {
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new();
    let dir = scratch.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let forged = [
        (dir.join("wide-dir"), true, VICTIM, 0o777),
        (dir.join("wide-file"), false, VICTIM, 0o666),
        (dir.join("group-dir"), true, SHARED_GROUP, 0o2775),
    ];
    let mut attacker = Child::new("child_forge_tags");
    for (path, is_dir, gid, mode) in &forged {
        victims(path, *is_dir, VICTIM, *gid, *mode);
        attacker = attacker
            .arg(path)
            .arg(dead_tag_for(path, scratch.path(), VICTIM));
    }
    attacker
        .uid_gid(NOBODY, NOBODY)
        .groups(&[SHARED_GROUP])
        .assert_passes();
    let controls = |round: &str| -> Vec<PathBuf> {
        let (d, f) = (
            dir.join(format!("private-dir-{}", round)),
            dir.join(format!("private-file-{}", round)),
        );
        victims(&d, true, VICTIM, VICTIM, 0o700);
        victims(&f, false, VICTIM, VICTIM, 0o600);
        for p in [&d, &f] {
            set_tag(p, &dead_tag_for(p, scratch.path(), VICTIM));
        }
        vec![d, f]
    };
    let assert_forged_kept = |entries: &[ReapEntry]| {
        for (path, is_dir, _, mode) in &forged {
            let entry = entries.iter().find(|e| e.path() == path).unwrap();
            assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
            assert!(entry.reason().contains("writable by others"), "{}", entry);
            assert_eq!(common::mode(path) & 0o7777, *mode);
            let precious = if *is_dir {
                path.join("sub/precious")
            } else {
                path.clone()
            };
            assert_eq!(std::fs::read(&precious).unwrap(), b"mine");
        }
    };

    // The victim's own reap, in a fresh process as uid 1000.
    let first = controls("victim");
    let mut victim = Child::new("child_victim_reaps").arg(&dir);
    for (path, ..) in &forged {
        victim = victim.arg(path);
    }
    victim.uid_gid(VICTIM, VICTIM).assert_passes();
    assert_forged_kept(
        &ReapOptions::new()
            .dry_run(true)
            .all_users(true)
            .reap(&dir)
            .unwrap(),
    );
    for control in &first {
        assert!(!control.exists(), "{} stayed", control.display());
    }

    // Root's reap of every user's entries.
    let second = controls("root");
    let entries = ReapOptions::new().all_users(true).reap(&dir).unwrap();
    for e in &entries {
        eprintln!("{}", e);
    }
    assert_forged_kept(&entries);
    let removed: BTreeSet<&Path> = entries
        .iter()
        .filter(|e| matches!(e.outcome(), ReapOutcome::Removed))
        .map(|e| e.path())
        .collect();
    assert_eq!(removed, second.iter().map(PathBuf::as_path).collect());
}

/// The attacker: writes each forged tag (arguments: path, tag, path, tag, ...) and shows it
/// could not delete what the victim's entries hold.
#[test]
#[ignore]
fn child_forge_tags() {
    let args = common::child::child_args();
    for pair in args.chunks(2) {
        let (path, tag) = (&pair[0], pair[1].to_str().unwrap());
        rustix::fs::lsetxattr(path, TAG, tag.as_bytes(), rustix::fs::XattrFlags::empty())
            .unwrap_or_else(|e| panic!("the attacker could not tag {}: {}", path.display(), e));
        let precious = if path.is_dir() {
            path.join("sub/precious")
        } else {
            path.clone()
        };
        let denied = std::fs::remove_file(&precious).unwrap_err();
        assert_eq!(denied.kind(), std::io::ErrorKind::PermissionDenied);
    }
}

/// The victim's reap (arguments: the directory, then the forged entries): every forged entry
/// stays, with its reason; its own private entries with the same tag are removed.
#[test]
#[ignore]
fn child_victim_reaps() {
    let args = common::child::child_args();
    let entries = ReapOptions::new().reap(&args[0]).unwrap();
    for e in &entries {
        eprintln!("{}", e);
    }
    for path in &args[1..] {
        let entry = entries.iter().find(|e| e.path() == path).unwrap();
        assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
        assert!(entry.reason().contains("writable by others"), "{}", entry);
    }
    let removed = entries
        .iter()
        .filter(|e| matches!(e.outcome(), ReapOutcome::Removed))
        .count();
    assert_eq!(removed, 2, "the two private controls");
}

/// Waits (bounded) until `record` holds a line, and returns it; panics with `running`'s
/// output if it never does.
fn await_record(record: &Path, running: &common::child::Running) -> PathBuf {
    let done = wait_until(|| {
        std::fs::read_to_string(record)
            .map(|t| t.ends_with('\n'))
            .unwrap_or(false)
    });
    assert!(
        done,
        "the child never wrote {}; its output:\n{}",
        record.display(),
        running.output()
    );
    PathBuf::from(std::fs::read_to_string(record).unwrap().trim_end())
}

/// In a child: waits (bounded) until `release` exists.
fn await_release(release: &Path) {
    assert!(wait_until(|| release.exists()), "never released");
}

/// Finding 5a of issue 21. A process in a pid namespace entered without mounting its own
/// /proc (`unshare --pid --fork`) tags with its pid there (1) and its namespace, but the /proc
/// it sees shows the outer namespace's pids: /proc/1 is another process. A reaper in that
/// namespace must not take the live owner for dead ("pid reused"); a reaper outside it sees
/// another namespace. Both keep the live owner's directory.
#[test]
fn a_live_owner_in_a_pid_namespace_without_its_own_proc_is_never_reaped() {
    if !common::need::root() || !common::need::program("unshare", "--version") {
        return;
    }
    let scratch = Scratch::new();
    let dir = scratch.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    let (record, release) = (
        scratch.path().join("record"),
        scratch.path().join("release"),
    );
    let running = Child::new("child_owner_in_a_pid_namespace")
        .arg(&dir)
        .arg(&record)
        .arg(&release)
        .wrapped_in(&["unshare", "--pid", "--fork"])
        .spawn();
    let owned = await_record(&record, &running);
    let entries = ReapOptions::new().reap(&dir).unwrap();
    let entry = entries.iter().find(|e| e.path() == owned).unwrap();
    assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
    assert!(
        entry.reason().contains("another pid namespace"),
        "{}",
        entry
    );
    assert!(owned.is_dir());
    std::fs::write(&release, b"").unwrap();
    let run = running.wait();
    assert!(run.passed(), "{}", run.output);
}

/// The owner (pid 1 of a new pid namespace, the outer /proc mounted): makes a tagged
/// directory, reaps its directory itself, records the path, and lives until released.
#[test]
#[ignore]
fn child_owner_in_a_pid_namespace() {
    let args = common::child::child_args();
    let (dir, record, release) = (&args[0], &args[1], &args[2]);
    assert_eq!(std::process::id(), 1, "not pid 1 of a new pid namespace");
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let nspid = status.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    assert!(
        nspid.split_whitespace().count() > 2,
        "the /proc here is not the outer namespace's: {}",
        nspid
    );
    let owned = reapable(dir).temporary_directory().unwrap();
    let entries = ReapOptions::new().reap(dir).unwrap();
    for e in &entries {
        eprintln!("{}", e);
    }
    let entry = entries.iter().find(|e| e.path() == owned.path()).unwrap();
    assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
    assert!(entry.reason().contains("/proc"), "{}", entry);
    assert!(owned.path().is_dir());
    std::fs::write(record, format!("{}\n", owned.path().display())).unwrap();
    await_release(release);
}

/// Finding 5b of issue 21. A process whose main thread has exited (`pthread_exit` in `main`;
/// here the raw `exit` of that thread alone) shows its leader as a zombie while its other
/// threads run: it is alive, and its directory stays. Control: once the process has really
/// ended, the same directory is reaped.
#[test]
fn a_process_whose_main_thread_has_exited_is_alive_while_another_thread_runs() {
    let scratch = Scratch::new();
    let dir = scratch.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    let (record, release) = (
        scratch.path().join("record"),
        scratch.path().join("release"),
    );
    let running = Child::new("child_main_thread_exits")
        .arg(&dir)
        .arg(&record)
        .arg(&release)
        .spawn();
    let pid = running.child.id();
    let owned = await_record(&record, &running);
    assert_eq!(proc_state(pid), Some('Z'), "the leader is not a zombie");
    let entries = ReapOptions::new().reap(&dir).unwrap();
    let entry = entries.iter().find(|e| e.path() == owned).unwrap();
    assert!(matches!(entry.outcome(), ReapOutcome::Skipped), "{}", entry);
    assert!(entry.reason().contains("alive"), "{}", entry);
    assert!(owned.is_dir());
    // Control: the whole process ends (and is waited for): now it is dead.
    std::fs::write(&release, b"").unwrap();
    let run = running.wait();
    assert!(run.status.success(), "{}", run.output);
    let entries = ReapOptions::new().reap(&dir).unwrap();
    let entry = entries.iter().find(|e| e.path() == owned).unwrap();
    assert!(matches!(entry.outcome(), ReapOutcome::Removed), "{}", entry);
    assert!(!owned.exists());
}

/// Makes a tagged directory, ends its main thread alone (the raw `exit` system call, which is
/// what `pthread_exit` ends with, from a signal handler run on that thread), records the path
/// once the leader is a zombie, and lives on in this thread until released; then ends the
/// whole process without destructors (the directory is left for the control).
#[test]
#[ignore]
fn child_main_thread_exits() {
    extern "C" fn exit_this_thread(_: libc::c_int) {
        // SAFETY: the raw exit of the calling thread only; async-signal-safe.
        unsafe {
            libc::syscall(libc::SYS_exit, 0);
        }
    }
    let args = common::child::child_args();
    let (dir, record, release) = (&args[0], &args[1], &args[2]);
    let owned = reapable(dir).temporary_directory().unwrap();
    // SAFETY: installs a handler that makes one raw system call, then signals the main
    // thread (its tid is the pid) with it.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = exit_this_thread as extern "C" fn(libc::c_int) as usize;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
        let pid = libc::getpid();
        assert_eq!(libc::syscall(libc::SYS_tgkill, pid, pid, libc::SIGUSR1), 0);
    }
    assert!(
        wait_until(|| proc_state(std::process::id()) == Some('Z')),
        "the main thread did not exit"
    );
    std::fs::write(record, format!("{}\n", owned.path().display())).unwrap();
    await_release(release);
    // SAFETY: ends the process at once, as a crash would: `owned` is never dropped, and its
    // directory stays for the control.
    unsafe { libc::_exit(0) }
}
