//! Publishing: `AtomicFile`, `write_atomic`, `persist_durable` and the directory publish.
//! Contents, modes, owners and listings are read back; the order of system calls and the
//! failure paths are checked under `strace` (tracing and fault injection), the crash points
//! with a `SIGKILL` injected at every call of the sequence, and atomicity with real `SIGKILL`s
//! at random moments. Whatever runs under another user or umask runs in a fresh process
//! (`common::child::Child`, an `#[ignore]`d `child_*` test of this binary).
#![allow(clippy::incompatible_msrv)] // tests use the current toolchain, not rust-version
#![cfg(unix)] // strace, SIGKILL, modes, owners: Unix (tests/windows.rs publishes under wine)

mod common;

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use common::child::{child_args, Child};
use common::need;
use common::trace::{calls, strace_run, strace_test, Call};
use common::{list, mode, tracee_arg, Scratch, NOBODY};
use tempkit::{AtomicFile, Builder, TemporaryDirectory};

const OLD: &[u8] = b"OLD-CONTENT";

/// The environment variable `common::tracee_arg` reads in a re-run of a test.
const TRACEE: &str = "TEMPKIT_TEST_TRACEE";

/// The temporary names `AtomicFile` left in `dir` (`.NAME.XXXXXXXX.tmpkit`).
fn leftovers(dir: &Path) -> Vec<String> {
    list(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.ends_with(".tmpkit"))
        .collect()
}

/// The new content of the tests: large enough that a torn write would show.
fn new_content() -> Vec<u8> {
    (0..64 * 1024).map(|i| b"NEW-"[i % 4]).collect()
}

/// The owner and group of `path` (not following a symlink).
fn owner(path: &Path) -> (u32, u32) {
    let meta = path.symlink_metadata().expect("lstat");
    (meta.uid(), meta.gid())
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

// ---- child tests: run only by their parents, in a fresh process ------------------------

/// `write_atomic(PATH, CONTENT)`; with a third argument (octal), through
/// `AtomicFile::options().mode(MODE)`.
#[test]
#[ignore = "a child test: run by its parent"]
fn child_write_atomic() {
    let args = child_args();
    let content = args[1].to_str().unwrap();
    match args.get(2) {
        None => tempkit::write_atomic(&args[0], content).unwrap(),
        Some(mode) => {
            let mode = u32::from_str_radix(mode.to_str().unwrap(), 8).unwrap();
            AtomicFile::options()
                .mode(mode)
                .write(&args[0], content)
                .unwrap()
        }
    }
    assert_eq!(std::fs::read(&args[0]).unwrap(), content.as_bytes());
}

/// Creates the file PATH with CONTENT and MODE (octal): what another user plants.
#[test]
#[ignore = "a child test: run by its parent"]
fn child_plant() {
    let args = child_args();
    let path = &args[0];
    std::fs::write(path, args[1].to_str().unwrap()).unwrap();
    let mode = u32::from_str_radix(args[2].to_str().unwrap(), 8).unwrap();
    chmod(path, mode);
}

/// Opens PATH for `read` or `write` and checks that this is `allowed` or `denied`.
#[test]
#[ignore = "a child test: run by its parent"]
fn child_open() {
    let args = child_args();
    let (path, how, want) = (
        &args[0],
        args[1].to_str().unwrap(),
        args[2].to_str().unwrap(),
    );
    let opened = match how {
        "read" => std::fs::File::open(path),
        _ => std::fs::OpenOptions::new().write(true).open(path),
    };
    match want {
        "allowed" => assert!(opened.is_ok(), "{} {}: {:?}", how, path.display(), opened),
        _ => assert_eq!(
            opened.map(drop).unwrap_err().kind(),
            io::ErrorKind::PermissionDenied,
            "{} {}",
            how,
            path.display()
        ),
    }
}

/// A parent of [`child_write_atomic`]: `write_atomic(path, content)` under `umask`, with
/// `AtomicFile::options().mode(new_mode)` when given.
fn write_atomic_under(umask: u32, path: &Path, content: &str, new_mode: Option<u32>) {
    let mut child = Child::new("child_write_atomic")
        .umask(umask)
        .arg(path)
        .arg(content);
    if let Some(new_mode) = new_mode {
        child = child.arg(format!("{:o}", new_mode));
    }
    child.assert_passes();
}

// ---- modes and owners --------------------------------------------------------------------

#[test]
fn write_atomic_creates_with_0666_minus_the_umask() {
    let scratch = Scratch::new();
    for (mask, want) in [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)] {
        let path = scratch.path().join(format!("new-{:03o}", mask));
        write_atomic_under(mask, &path, "fresh", None);
        assert_eq!(std::fs::read(&path).unwrap(), b"fresh");
        assert_eq!(mode(&path), want, "umask {:03o}", mask);
    }
    assert!(leftovers(scratch.path()).is_empty());
}

#[test]
fn mode_option_sets_a_new_files_mode() {
    let scratch = Scratch::new();
    let path = scratch.path().join("secret");
    write_atomic_under(0o022, &path, "key", Some(0o600));
    assert_eq!(std::fs::read(&path).unwrap(), b"key");
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn replacing_keeps_the_mode_0640() {
    let scratch = Scratch::new();
    let path = scratch.path().join("config");
    std::fs::write(&path, OLD).unwrap();
    chmod(&path, 0o640);
    tempkit::write_atomic(&path, b"new").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    assert_eq!(mode(&path), 0o640);
    assert!(leftovers(scratch.path()).is_empty());
}

/// The modes [`child_temporary_file_modes`] replaces.
const TEMP_MODES: [u32; 11] = [
    0o640, 0o604, 0o660, 0o664, 0o644, 0o755, 0o751, 0o600, 0o444, 0o4755, 0o2770,
];

/// Under umask 000 (so that the mode seen is the one asked for), in DIR: for each of
/// [`TEMP_MODES`], the temporary file's mode while it is written, then the published mode.
#[test]
#[ignore = "a child test: run by its parent"]
fn child_temporary_file_modes() {
    let dir = &child_args()[0];
    for want in TEMP_MODES {
        let path = dir.join(format!("m{:o}", want));
        std::fs::write(&path, OLD).unwrap();
        chmod(&path, want);
        let file = AtomicFile::options().mode(0o777).create(&path).unwrap();
        let temp = mode(&dir.join(&leftovers(dir)[0]));
        let everyone = (want >> 6) & (want >> 3) & want & 0o7;
        assert!(
            temp & !0o777 == 0
                && temp & 0o700 == want & 0o700
                && (temp >> 3) & 0o7 & !everyone == 0
                && temp & 0o7 & !everyone == 0,
            "destination {:o}: temporary {:o}",
            want,
            temp
        );
        file.commit().unwrap();
        assert_eq!(mode(&path), want, "destination {:o} after the commit", want);
    }
}

/// While it is written, the temporary file grants nobody more than the published file will:
/// it belongs to us (our user and group, perhaps not the destination's), so each of its
/// group and other bits must be granted by every class of the destination's mode; no setuid,
/// setgid or sticky bit before the commit. After the commit the destination's mode is back
/// exactly (in a directory only we can write).
#[test]
fn the_temporary_file_never_grants_more_than_the_published_one() {
    let scratch = Scratch::new();
    chmod(scratch.path(), 0o700);
    Child::new("child_temporary_file_modes")
        .umask(0)
        .arg(scratch.path())
        .assert_passes();
    assert_eq!(list(scratch.path()).len(), TEMP_MODES.len());
    assert!(leftovers(scratch.path()).is_empty());
}

/// A narrow umask cannot narrow a replaced file's mode: the kernel gives the new file less
/// than asked (0600), the commit sees it and sets the destination's mode.
#[test]
fn replacing_under_umask_077_keeps_the_mode_0644() {
    let scratch = Scratch::new();
    let path = scratch.path().join("shared");
    std::fs::write(&path, OLD).unwrap();
    chmod(&path, 0o644);
    write_atomic_under(0o077, &path, "new", None);
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    assert_eq!(mode(&path), 0o644);
}

/// Child: as its owner, makes DIR/tool 06755 and replaces it: setuid and setgid survive.
#[test]
#[ignore = "a child test: run by its parent"]
fn child_replace_own_setuid_file() {
    let path = child_args()[0].join("tool");
    std::fs::write(&path, OLD).unwrap();
    chmod(&path, 0o6755);
    tempkit::write_atomic(&path, b"#!/bin/true\n").unwrap();
    assert_eq!(mode(&path), 0o6755);
}

/// Setuid and setgid survive when an unprivileged owner replaces its own file (the owner is
/// already right, so only the mode is set, after the write that would have cleared them).
#[test]
fn replacing_keeps_setuid_and_setgid_06755() {
    let scratch = Scratch::for_nobody();
    Child::new("child_replace_own_setuid_file")
        .as_nobody()
        .arg(scratch.path())
        .assert_passes();
    let path = scratch.path().join("tool");
    assert_eq!(mode(&path), 0o6755);
    assert_eq!(std::fs::read(&path).unwrap(), b"#!/bin/true\n");
}

/// As root, replacing another user's file in a directory only root can write keeps that
/// user as owner, and the mode with its setuid bit: a `chown` clears it, so it must come
/// first (this test fails if the mode is set before the owner).
#[test]
fn root_replacing_keeps_the_owner_65534_and_setuid() {
    if !need::root() {
        return;
    }
    let scratch = Scratch::new();
    chmod(scratch.path(), 0o755);
    let path = scratch.path().join("owned");
    std::fs::write(&path, OLD).unwrap();
    std::os::unix::fs::chown(&path, Some(NOBODY), Some(NOBODY)).unwrap();
    chmod(&path, 0o4750);
    tempkit::write_atomic(&path, b"new").unwrap();
    assert_eq!(owner(&path), (NOBODY, NOBODY));
    assert_eq!(mode(&path), 0o4750);
}

/// As root, replacing a file of ours whose group alone is another's keeps that group: the
/// owner is set when either of the two differs, not only when both do.
#[test]
fn root_replacing_keeps_a_foreign_group_65534_under_its_own_owner() {
    if !need::root() {
        return;
    }
    let scratch = Scratch::new();
    chmod(scratch.path(), 0o755);
    let path = scratch.path().join("grouped");
    std::fs::write(&path, OLD).unwrap();
    std::os::unix::fs::chown(&path, None, Some(NOBODY)).unwrap();
    chmod(&path, 0o640);
    tempkit::write_atomic(&path, b"new").unwrap();
    assert_eq!(owner(&path), (0, NOBODY));
    assert_eq!(mode(&path), 0o640);
}

/// An unprivileged caller cannot give the file to another owner: `EPERM` from `fchown` is
/// not an error, the content is replaced and the mode kept (the file is now the caller's).
#[test]
fn unprivileged_replacing_a_foreign_file_ignores_eperm_from_fchown() {
    // Needs a file owned by someone else in a directory nobody else may write.
    if !need::root() {
        return;
    }
    let scratch = Scratch::for_nobody();
    let path = scratch.path().join("roots");
    std::fs::write(&path, OLD).unwrap();
    chmod(&path, 0o644);
    Child::new("child_write_atomic")
        .as_nobody()
        .umask(0o022)
        .arg(&path)
        .arg("mine")
        .assert_passes();
    assert_eq!(std::fs::read(&path).unwrap(), b"mine");
    assert_eq!(owner(&path).0, NOBODY);
    assert_eq!(mode(&path), 0o644);
}

/// Issue 21, finding 3: in a directory others can write (here 1777, as `/tmp`), the file at
/// the destination may have been planted. Root publishing over one that uid 65534 planted
/// (0666, its own) keeps the new content root's (never `fchown` to the planter) and gives it
/// at most a new file's mode (0600 with `mode(0o600)`, 0640 under umask 027: the group is
/// root's); the planter can then neither read nor rewrite it.
#[test]
fn root_publishing_over_a_file_planted_in_a_shared_directory_keeps_it_roots() {
    if !need::root() {
        return;
    }
    let scratch = Scratch::new();
    chmod(scratch.path(), 0o1777);
    let path = scratch.path().join("app.state");
    let plant = || {
        let _ = std::fs::remove_file(&path);
        Child::new("child_plant")
            .as_nobody()
            .umask(0)
            .arg(&path)
            .arg("planted")
            .arg("666")
            .assert_passes();
        assert_eq!((owner(&path), mode(&path)), ((NOBODY, NOBODY), 0o666));
    };
    let attacker_can = |how: &str, want: &str| {
        Child::new("child_open")
            .as_nobody()
            .arg(&path)
            .arg(how)
            .arg(want)
            .assert_passes();
    };
    plant();
    write_atomic_under(0o022, &path, "root's secret", Some(0o600));
    assert_eq!(std::fs::read(&path).unwrap(), b"root's secret");
    assert_eq!((owner(&path), mode(&path)), ((0, 0), 0o600));
    attacker_can("read", "denied");
    attacker_can("write", "denied");

    plant();
    write_atomic_under(0o027, &path, "root's secret", None);
    assert_eq!((owner(&path), mode(&path)), ((0, 0), 0o640));
    attacker_can("read", "denied");
    assert!(leftovers(scratch.path()).is_empty());
}

/// In a directory others can write, even the caller's own file keeps at most a new file's
/// mode: `mode()` (0666 by default) minus the umask, the umask read back exactly where the
/// creation did not show it (0660 stays 0660 under umask 002, is 0640 under 027; an
/// executable 0755 is 0644 unless `mode(0o777)`). In a directory only we can write, the
/// mode is kept whatever the umask (control).
#[test]
fn in_a_shared_directory_even_an_own_file_keeps_at_most_a_new_files_mode() {
    let shared = Scratch::new();
    chmod(shared.path(), 0o777);
    let private = Scratch::new();
    chmod(private.path(), 0o700);
    let cases = [
        // (umask, old mode, mode option, in the shared directory, in the private one)
        (0o002, 0o660, None, 0o660, 0o660),
        (0o027, 0o660, None, 0o640, 0o660),
        (0o077, 0o644, None, 0o600, 0o644),
        (0o022, 0o755, None, 0o644, 0o755),
        (0o022, 0o755, Some(0o777), 0o755, 0o755),
        (0o022, 0o644, Some(0o600), 0o600, 0o644),
    ];
    for (i, &(umask, old, option, in_shared, in_private)) in cases.iter().enumerate() {
        for (dir, want) in [(shared.path(), in_shared), (private.path(), in_private)] {
            let path = dir.join(format!("f{}", i));
            std::fs::write(&path, OLD).unwrap();
            chmod(&path, old);
            write_atomic_under(umask, &path, "new", option);
            assert_eq!(
                mode(&path),
                want,
                "{:o} replaced under umask {:03o}, mode {:?}, in {}",
                old,
                umask,
                option,
                dir.display()
            );
        }
    }
}

/// Issue 21, finding 6a: uid 65534 in supplementary group 4242 replaces a `1000:4242 0640`
/// file in its own directory. It cannot give the file to uid 1000, but keeps the group
/// alone (`fchown(-1, 4242)`): `65534:4242 0640`, not its own group 100 with group read.
/// Where it is not in the group (4243), the group bits go: `65534:100 0600`. In a directory
/// others can write, a group someone else chose is never kept: `65534:100 0600` too.
#[test]
fn replacing_keeps_the_group_alone_or_clears_its_bits_never_giving_them_to_ours() {
    if !need::root() {
        return;
    }
    let scratch = Scratch::new();
    chmod(scratch.path(), 0o755);
    let own = scratch.path().join("own");
    std::fs::create_dir(&own).unwrap();
    std::os::unix::fs::chown(&own, Some(NOBODY), Some(100)).unwrap();
    chmod(&own, 0o700);
    // Not sticky: there 65534 may not rename over uid 1000's file.
    let shared = scratch.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o777);
    let cases = [
        (own.join("member"), 4242, (NOBODY, 4242), 0o640),
        (own.join("stranger"), 4243, (NOBODY, 100), 0o600),
        (shared.join("member"), 4242, (NOBODY, 100), 0o600),
    ];
    for (path, gid, want_owner, want_mode) in cases {
        std::fs::write(&path, OLD).unwrap();
        std::os::unix::fs::chown(&path, Some(1000), Some(gid)).unwrap();
        chmod(&path, 0o640);
        Child::new("child_write_atomic")
            .uid_gid(NOBODY, 100)
            .groups(&[4242])
            .umask(0o022)
            .arg(&path)
            .arg("new")
            .assert_passes();
        assert_eq!(
            (owner(&path), mode(&path)),
            (want_owner, want_mode),
            "{}",
            path.display()
        );
    }
}

#[test]
fn a_symlink_destination_is_replaced_as_a_link_never_wider_than_its_target() {
    let scratch = Scratch::new();
    // (target's mode, or none: dangling; the new file's mode under umask 022)
    for (i, (target_mode, want)) in [(Some(0o600), 0o600), (Some(0o755), 0o644), (None, 0o644)]
        .into_iter()
        .enumerate()
    {
        let target = scratch.path().join(format!("target{}", i));
        let link = scratch.path().join(format!("link{}", i));
        if let Some(target_mode) = target_mode {
            std::fs::write(&target, OLD).unwrap();
            chmod(&target, target_mode);
        }
        std::os::unix::fs::symlink(target.file_name().unwrap(), &link).unwrap();
        write_atomic_under(0o022, &link, "new", None);
        let meta = link.symlink_metadata().unwrap();
        assert!(meta.file_type().is_file(), "the link is now a regular file");
        assert_eq!(
            mode(&link),
            want,
            "a link to {:?}: at most the target's mode, never the link's 0777",
            target_mode
        );
        assert_eq!(std::fs::read(&link).unwrap(), b"new");
        if let Some(target_mode) = target_mode {
            let old = std::fs::read(&target).unwrap();
            assert_eq!(old, OLD, "never written through");
            assert_eq!(mode(&target), target_mode);
        } else {
            assert!(!target.exists(), "nothing created where the link pointed");
        }
    }
}

/// A symlink replaced as a link: its target's owner and group are never taken (the link may
/// have been planted pointing anywhere), and its group bits go with its group.
#[test]
fn root_replacing_a_symlink_takes_neither_owner_nor_group_of_its_target() {
    if !need::root() {
        return;
    }
    let scratch = Scratch::new();
    let target = scratch.path().join("target");
    std::fs::write(&target, OLD).unwrap();
    std::os::unix::fs::chown(&target, Some(NOBODY), Some(NOBODY)).unwrap();
    chmod(&target, 0o640);
    let link = scratch.path().join("link");
    std::os::unix::fs::symlink("target", &link).unwrap();
    write_atomic_under(0o022, &link, "new", None);
    assert_eq!((owner(&link), mode(&link)), ((0, 0), 0o600));
    assert_eq!((owner(&target), mode(&target)), ((NOBODY, NOBODY), 0o640));
}

/// Whether `getfacl` lists `entry` (e.g. `user:65534:r--`) for `path`.
fn acl_lists(path: &Path, entry: &str) -> bool {
    let out = common::output_of(Command::new("getfacl").arg("-cpn").arg(path)).unwrap();
    assert!(out.status.success(), "getfacl {}", path.display());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.starts_with(entry))
}

fn setfacl(args: &[&str], path: &Path) {
    let out = common::output_of(Command::new("setfacl").args(args).arg(path)).unwrap();
    assert!(
        out.status.success(),
        "setfacl {:?} {}: {}",
        args,
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Issue 21, finding 6c, as documented: POSIX ACLs are not carried over. The old file's
/// access ACL is dropped (its named users lose their access: narrower, never wider), and a
/// default ACL of the directory applies to the new file as to any file created there, its
/// named entries limited by the group bits of the kept mode (its mask).
#[test]
fn acls_are_not_carried_over_and_a_default_acl_applies_as_to_any_new_file() {
    if !need::program("setfacl", "--version") || !need::program("getfacl", "--version") {
        return;
    }
    let scratch = Scratch::new();
    chmod(scratch.path(), 0o700);
    let path = scratch.path().join("acl");
    std::fs::write(&path, OLD).unwrap();
    chmod(&path, 0o640);
    setfacl(&["-m", "u:65534:r"], &path);
    assert!(acl_lists(&path, "user:65534:r--"));
    tempkit::write_atomic(&path, b"new").unwrap();
    assert!(
        !acl_lists(&path, "user:65534:"),
        "the access ACL is dropped"
    );
    assert_eq!(mode(&path), 0o640);

    let with_default = scratch.path().join("default");
    std::fs::create_dir(&with_default).unwrap();
    setfacl(&["-d", "-m", "u:65534:rw"], &with_default);
    let path = with_default.join("plain");
    std::fs::write(&path, OLD).unwrap();
    setfacl(&["-b"], &path); // no ACL of its own: only the mode
    chmod(&path, 0o640);
    assert!(!acl_lists(&path, "user:65534:"));
    tempkit::write_atomic(&path, b"new").unwrap();
    assert!(
        acl_lists(&path, "user:65534:rw-"),
        "the default ACL applies"
    );
    assert!(
        acl_lists(&path, "mask::r--"),
        "limited by the mode's group bits"
    );
    assert_eq!(mode(&path), 0o640);
}

#[test]
fn follow_symlink_replaces_the_target_once_in_its_own_directory() {
    let scratch = Scratch::new();
    let real = scratch.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let target = real.join("data");
    std::fs::write(&target, OLD).unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = scratch.path().join("link");
    std::os::unix::fs::symlink("real/data", &link).unwrap();

    let mut options = AtomicFile::options();
    options.follow_symlink(true);
    let mut file = options.create(&link).unwrap();
    file.write_all(b"through").unwrap();
    assert_eq!(
        leftovers(&real).len(),
        1,
        "the temporary file is beside the target"
    );
    file.commit().unwrap();

    assert!(link.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"through");
    assert_eq!(mode(&target), 0o640, "the target's mode is kept");
    assert!(leftovers(&real).is_empty() && leftovers(scratch.path()).is_empty());

    // One level only, and never a file created where a dangling link points.
    let chain = scratch.path().join("chain");
    std::os::unix::fs::symlink("link", &chain).unwrap();
    let err = options.create(&chain).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let dangling = scratch.path().join("dangling");
    std::os::unix::fs::symlink("nowhere", &dangling).unwrap();
    assert_eq!(
        options.create(&dangling).unwrap_err().kind(),
        io::ErrorKind::NotFound
    );
    assert!(!scratch.path().join("nowhere").exists());
}

#[test]
fn a_hard_linked_destination_is_replaced_under_its_name_only() {
    let scratch = Scratch::new();
    let path = scratch.path().join("name");
    let other = scratch.path().join("other-name");
    std::fs::write(&path, OLD).unwrap();
    std::fs::hard_link(&path, &other).unwrap();
    tempkit::write_atomic(&path, b"new").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    assert_eq!(std::fs::read(&other).unwrap(), OLD);
    assert_eq!(path.symlink_metadata().unwrap().nlink(), 1);
}

#[test]
fn nothing_changes_before_commit_and_discard_or_drop_leave_nothing() {
    let scratch = Scratch::new();
    let path = scratch.path().join("f");
    std::fs::write(&path, OLD).unwrap();
    // Group-readable only: until the commit gives the file the destination's group, no
    // group may read it (0600).
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut file = AtomicFile::create(&path).unwrap();
    file.write_all(b"new").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), OLD);
    let temp = leftovers(scratch.path());
    assert_eq!(temp.len(), 1);
    assert!(temp[0].starts_with(".f.") && temp[0].len() == ".f.".len() + 8 + ".tmpkit".len());
    assert_eq!(mode(&scratch.path().join(&temp[0])), 0o600);
    file.discard().unwrap();
    assert_eq!(list(scratch.path()), ["f"]);

    drop(AtomicFile::create(&path).unwrap());
    assert_eq!(list(scratch.path()), ["f"]);
    assert_eq!(std::fs::read(&path).unwrap(), OLD);
}

#[test]
fn commit_noclobber_refuses_an_existing_destination_and_hands_the_file_back() {
    let scratch = Scratch::new();
    let path = scratch.path().join("taken");
    std::fs::write(&path, OLD).unwrap();
    let mut file = AtomicFile::create(&path).unwrap();
    file.write_all(b"new").unwrap();
    let err = file.commit_noclobber().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert!(!err.committed());
    assert!(err.to_string().contains(&path.display().to_string()));
    assert_eq!(std::fs::read(&path).unwrap(), OLD);
    let file = err.into_file().expect("handed back");
    std::fs::remove_file(&path).unwrap();
    file.commit_noclobber().unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"new");
    assert_eq!(list(scratch.path()), ["taken"]);
}

#[test]
fn commit_noclobber_race_between_threads_has_exactly_one_winner() {
    let scratch = Scratch::new();
    let path = scratch.path().join("contested");
    for round in 0..20 {
        let threads = 8;
        let barrier = Arc::new(Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (barrier, path) = (barrier.clone(), path.clone());
                std::thread::spawn(move || {
                    let mut file = AtomicFile::create(&path).unwrap();
                    write!(file, "writer {}", i).unwrap();
                    barrier.wait();
                    match file.commit_noclobber() {
                        Ok(()) => Some(i),
                        Err(e) => {
                            assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{}", e);
                            None
                        }
                    }
                })
            })
            .collect();
        let winners: Vec<usize> = handles
            .into_iter()
            .filter_map(|h| h.join().unwrap())
            .collect();
        assert_eq!(winners.len(), 1, "round {}: {:?}", round, winners);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, format!("writer {}", winners[0]));
        assert_eq!(list(scratch.path()), ["contested"], "no leftovers");
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn persist_durable_moves_and_syncs() {
    let scratch = Scratch::new();
    let mut file = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    file.write_all(b"durable").unwrap();
    let to = scratch.path().join("kept");
    std::fs::write(&to, OLD).unwrap();
    let _file = file.persist_durable(&to).unwrap();
    assert_eq!(std::fs::read(&to).unwrap(), b"durable");
    assert_eq!(list(scratch.path()), ["kept"]);

    // A missing directory: handed back, still temporary.
    let file = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    let err = file
        .persist_durable(scratch.path().join("missing/x"))
        .unwrap_err();
    assert_eq!(err.error.kind(), io::ErrorKind::NotFound);
    assert!(err.file.path().exists());
}

// ---- the order of system calls --------------------------------------------------------

const SEQUENCE: &str =
    "open,openat,newfstatat,fstat,statx,write,fchown,fchmod,fsync,rename,renameat,renameat2,linkat,unlinkat,close";

/// The calls of the thread that ran the sequence, from the opening of `dir` to the end.
fn sequence_of<'a>(calls: &'a [Call], dir: &Path) -> Vec<&'a Call> {
    let needle = format!("\"{}\", O_RDONLY|O_", dir.display());
    let start = calls
        .iter()
        .position(|c| {
            (c.name == "open" || c.name == "openat")
                && c.line.contains(&needle)
                && c.line.contains("O_DIRECTORY")
        })
        .unwrap_or_else(|| panic!("the directory is never opened: {:#?}", calls));
    let pid = calls[start].pid;
    calls[start..].iter().filter(|c| c.pid == pid).collect()
}

fn position(seq: &[&Call], what: impl Fn(&Call) -> bool, label: &str) -> usize {
    seq.iter()
        .position(|c| what(c))
        .unwrap_or_else(|| panic!("no {} in {:#?}", label, seq))
}

/// How many calls of each kind [`pad`] makes: more than the test harness's other threads
/// make in a whole run (checked by [`calibrate`]).
const PAD: usize = 500;

/// Makes [`PAD`] calls of each system call that both the harness's threads and the sequence
/// make, so that in the calling thread the sequence's calls come after ordinal `PAD`.
/// `strace -e inject=...:when=N` counts per thread: an `N` above what the other threads reach
/// can only hit this thread.
fn pad() {
    for _ in 0..PAD {
        let mut null = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/null")
            .unwrap();
        null.write_all(b"x").unwrap();
        let _ = null.metadata().unwrap();
        let _ = rustix::fs::fstat(&null);
        let _ = rustix::fs::statat(rustix::fs::CWD, "/dev/null", rustix::fs::AtFlags::empty());
        let _ = rustix::fs::open(
            "/dev/null",
            rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        );
    }
}

/// A scratch directory holding `dest`, with the old content and `mode`.
fn scratch_with_dest(mode: u32) -> Scratch {
    let scratch = Scratch::new();
    std::fs::write(scratch.path().join("dest"), OLD).unwrap();
    std::fs::set_permissions(
        scratch.path().join("dest"),
        std::fs::Permissions::from_mode(mode),
    )
    .unwrap();
    scratch
}

/// The tracee of the order checks: replaces `DIR/dest` with the new content.
fn replace_in(dir: &Path) {
    tempkit::write_atomic(dir.join("dest"), new_content()).unwrap();
}

#[test]
fn order_directory_opened_first_fsync_file_before_rename_fsync_dir_after() {
    if let Some(dir) = tracee_arg() {
        replace_in(&dir);
        return;
    }
    let scratch = scratch_with_dest(0o640);
    let env = [(TRACEE, scratch.path().as_os_str())];
    if !need::strace() {
        return;
    }
    let trace = strace_test(
        "order_directory_opened_first_fsync_file_before_rename_fsync_dir_after",
        &env,
        SEQUENCE,
    )
    .expect("strace ran");
    let all = calls(&trace);
    let seq = sequence_of(&all, scratch.path());
    let dirfd = seq[0].line.rsplit("= ").next().unwrap().trim().to_owned();
    let create = position(
        &seq,
        |c| c.name == "openat" && c.line.contains(".dest."),
        "creation",
    );
    let write = position(&seq, |c| c.name == "write", "write");
    let chmod = position(
        &seq,
        |c| c.name == "fchmod" && c.line.contains("0640"),
        "fchmod",
    );
    let fsync_file = position(&seq, |c| c.name == "fsync", "fsync of the file");
    let rename = position(&seq, |c| c.name == "renameat", "renameat");
    let fsync_dir = position(
        &seq,
        |c| c.line.contains(&format!(" fsync({})", dirfd)),
        "fsync of the directory",
    );
    assert!(seq[create]
        .line
        .contains(&format!("openat({}, \".dest.", dirfd)));
    // Created exclusively, never through a symlink squatting the name, never inherited.
    for flag in ["O_CREAT", "O_EXCL", "O_NOFOLLOW", "O_CLOEXEC"] {
        assert!(seq[create].line.contains(flag), "{}", seq[create].line);
    }
    assert!(seq[rename]
        .line
        .contains(&format!("renameat({}, \".dest.", dirfd)));
    assert!(seq[rename]
        .line
        .contains(&format!(", {}, \"dest\")", dirfd)));
    assert!(
        create < write
            && write < chmod
            && chmod < fsync_file
            && fsync_file < rename
            && rename < fsync_dir,
        "wrong order: {:#?}",
        seq
    );
    assert_ne!(fsync_file, fsync_dir);
    // The mode must change (0640 is created 0600): one `fstat` of the directory decides
    // whether the old file could have been planted; only we write it, so the umask is not
    // read.
    let dir_fstats = seq
        .iter()
        .filter(|c| c.name == "fstat" && c.line.contains(&format!("fstat({},", dirfd)))
        .count();
    assert_eq!(dir_fstats, 1, "{:#?}", seq);
    assert!(seq.iter().all(|c| !c.line.contains("/proc/self/status")));
    assert_eq!(
        std::fs::read(scratch.path().join("dest")).unwrap(),
        new_content()
    );
}

/// Replacing our own file whose mode the kernel gives the new file as it is created (0644
/// under umask 022) takes eight calls, the fewest that keep the guarantees: open the
/// directory, `fstatat` the destination, create, write, `fstat` (owner, group and mode are
/// already right: no `fchown`, no `fchmod`), `renameat`, close both.
#[test]
fn atomic_only_replacing_an_own_file_makes_eight_calls_and_no_fchmod() {
    if let Some(dir) = tracee_arg() {
        // SAFETY: umask has no preconditions; this process runs only this test.
        unsafe { libc::umask(0o022) };
        AtomicFile::options()
            .durable(false)
            .write(dir.join("dest"), b"fast")
            .unwrap();
        return;
    }
    let scratch = scratch_with_dest(0o644);
    let env = [(TRACEE, scratch.path().as_os_str())];
    let test = "atomic_only_replacing_an_own_file_makes_eight_calls_and_no_fchmod";
    if !need::strace() {
        return;
    }
    let trace =
        strace_test(test, &env, &format!("{},fchmodat,fchownat", SEQUENCE)).expect("strace ran");
    let all = calls(&trace);
    let seq = sequence_of(&all, scratch.path());
    let names: Vec<&str> = seq.iter().take(8).map(|c| c.name.as_str()).collect();
    assert_eq!(
        names[1..],
        [
            "newfstatat",
            "openat",
            "write",
            "fstat",
            "renameat",
            "close",
            "close"
        ],
        "{:#?}",
        seq
    );
    assert!(
        seq.iter()
            .all(|c| !c.name.starts_with("fch") && c.name != "statx"),
        "{:#?}",
        seq
    );
    assert_eq!(std::fs::read(scratch.path().join("dest")).unwrap(), b"fast");
    assert_eq!(mode(&scratch.path().join("dest")), 0o644);
}

#[test]
fn atomic_only_makes_no_fsync() {
    if let Some(dir) = tracee_arg() {
        AtomicFile::options()
            .durable(false)
            .write(dir.join("dest"), b"fast")
            .unwrap();
        return;
    }
    let scratch = Scratch::new();
    let env = [(TRACEE, scratch.path().as_os_str())];
    if !need::strace() {
        return;
    }
    let trace = strace_test("atomic_only_makes_no_fsync", &env, SEQUENCE).expect("strace ran");
    let all = calls(&trace);
    let seq = sequence_of(&all, scratch.path());
    assert!(seq.iter().all(|c| c.name != "fsync"), "{:#?}", seq);
    assert!(seq.iter().any(|c| c.name == "renameat"));
    assert_eq!(std::fs::read(scratch.path().join("dest")).unwrap(), b"fast");
}

// ---- failure paths, by fault injection ------------------------------------------------

/// Runs the tracee of `test` (which works in `dir`) under strace with `inject`
/// (`SYSCALL:...`), tracing `SYSCALL` and `also`; returns whether the re-run passed, and the
/// trace.
fn run_injected(test: &str, dir: &Path, inject: &str, also: &str) -> (bool, String) {
    let env = [(TRACEE, dir.as_os_str())];
    // strace injects only into the calls it traces.
    let syscall = inject.split(':').next().unwrap();
    let traced = format!("{},{}", syscall, also)
        .trim_end_matches(',')
        .to_owned();
    let extra = ["-e".into(), format!("inject={}", inject)];
    let (output, trace) = strace_run(test, &env, &traced, &extra);
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        eprintln!("{}\n{}", stdout, String::from_utf8_lossy(&output.stderr));
    }
    (
        output.status.success() && stdout.contains("1 passed"),
        trace,
    )
}

/// The usual failure-path check: `dir/dest` holds [`OLD`]; the tracee of `test` runs with
/// `inject` and must pass. Returns the scratch directory and the trace.
/// `None` only where strace is missing and the developer chose to skip such tests
/// (`common::need`); without strace the test otherwise fails, naming it.
fn injected_over_old(test: &str, inject: &str, also: &str) -> Option<(Scratch, String)> {
    if !need::strace() {
        return None;
    }
    let scratch = Scratch::new();
    std::fs::write(scratch.path().join("dest"), OLD).unwrap();
    let (passed, trace) = run_injected(test, scratch.path(), inject, also);
    assert!(passed, "the tracee of {} failed under {}", test, inject);
    Some((scratch, trace))
}

/// The tracee side: an `AtomicFile` for `dir/dest` with `b"new"` written, committed, with
/// the commit expected to fail.
fn failing_commit(dir: &Path) -> tempkit::CommitError {
    let mut file = AtomicFile::create(dir.join("dest")).unwrap();
    file.write_all(b"new").unwrap();
    file.commit().unwrap_err()
}

/// The sequence of the tracee of `test` (which calls [`pad`] first) in a run without
/// injection, up to the first `close`; checks that no other thread reaches ordinal [`PAD`]
/// of any call in it, so that `when=ordinal` hits the sequence's thread only.
fn calibrate(test: &str, dir: &Path, env: &[(&str, &OsStr)]) -> Vec<Call> {
    calibrate_with(test, dir, env, SEQUENCE, |seq| {
        seq.iter()
            .position(|c| c.name == "close")
            .unwrap_or(seq.len())
    })
}

/// [`calibrate`] tracing `syscalls`, the sequence cut where `end` says.
fn calibrate_with(
    test: &str,
    dir: &Path,
    env: &[(&str, &OsStr)],
    syscalls: &str,
    end: impl Fn(&[Call]) -> usize,
) -> Vec<Call> {
    let env = [env, &[(TRACEE, dir.as_os_str())]].concat();
    let (output, trace) = strace_run(test, &env, syscalls, &[]);
    assert!(output.status.success(), "calibration run failed");
    let all = calls(&trace);
    let mut seq: Vec<Call> = sequence_of(&all, dir).into_iter().cloned().collect();
    seq.truncate(end(&seq));
    for call in &seq {
        let others = all
            .iter()
            .filter(|c| c.pid != call.pid && c.name == call.name)
            .map(|c| c.ordinal)
            .max()
            .unwrap_or(0);
        assert!(
            others < call.ordinal,
            "another thread makes {} {} calls: raise PAD",
            others,
            call.name
        );
    }
    seq
}

/// Runs the tracee of `test` with a `SIGKILL` injected on entry to `call` (as found by
/// [`calibrate`]), and checks that the kill came there: the last call traced is that one.
fn kill_at(test: &str, env: &[(&str, &OsStr)], call: &Call) {
    let inject = format!("inject={}:signal=KILL:when={}", call.name, call.ordinal);
    let (output, trace) = strace_run(test, env, &call.name, &["-e".into(), inject]);
    assert!(!output.status.success(), "not killed at {}", call.line);
    let last = normalized(&calls(&trace).pop().expect("calls traced").line);
    assert!(
        last.contains('(') && normalized(&call.line).starts_with(&last),
        "meant to kill at {}, killed at {}",
        call.line,
        last
    );
}

/// A trace line without its thread id, return value and random temporary names (the
/// `AtomicFile`'s `.dest.XXXXXXXX.tmpkit`, a directory's `tmpXXXXXXXX`).
fn normalized(line: &str) -> String {
    let call = line
        .split_once(' ')
        .map_or(line, |(_, rest)| rest.trim_start());
    let call = call.split(" = ").next().unwrap();
    // A killed call is printed unfinished: keep what both forms show.
    let call = call.split(" <unfinished").next().unwrap();
    let call = call.trim_end_matches([' ', ',', ')']);
    let call = match (call.find(".dest."), call.find(".tmpkit")) {
        (Some(a), Some(b)) if a < b => format!("{}.dest.*{}", &call[..a], &call[b..]),
        _ => call.to_owned(),
    };
    // `/tmp` followed by the 8 random characters of a temporary directory's name.
    let mut out = String::new();
    let mut rest = call.as_str();
    while let Some(at) = rest.find("/tmp") {
        let (head, tail) = rest.split_at(at + 4);
        out.push_str(head);
        let random = tail
            .get(..8)
            .filter(|r| r.chars().all(|c| common::ALPHABET.contains(c)));
        match random {
            Some(_) => {
                out.push('*');
                rest = &tail[8..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn fsync_eio_is_not_retried_commits_nothing_and_leaves_nothing() {
    if let Some(dir) = tracee_arg() {
        let err = failing_commit(&dir);
        assert!(!err.committed());
        assert!(err.to_string().contains("Input/output error"), "{}", err);
        assert!(err.to_string().contains("dest"));
        assert!(err.into_file().is_none());
        return;
    }
    let test = "fsync_eio_is_not_retried_commits_nothing_and_leaves_nothing";
    let (scratch, trace) = match injected_over_old(test, "fsync:error=EIO:when=1", "renameat") {
        Some(done) => done,
        None => return,
    };
    assert_eq!(std::fs::read(scratch.path().join("dest")).unwrap(), OLD);
    assert_eq!(list(scratch.path()), ["dest"]);
    // Never retried: exactly one fsync, and no rename.
    let all = calls(&trace);
    let count = |name: &str| all.iter().filter(|c| c.name == name).count();
    assert_eq!((count("fsync"), count("renameat")), (1, 0), "{}", trace);
}

#[test]
fn directory_fsync_failure_reports_committed_but_not_durable() {
    if let Some(dir) = tracee_arg() {
        let err = failing_commit(&dir);
        assert!(err.committed(), "{}", err);
        assert!(err.to_string().contains("durability"), "{}", err);
        assert!(err.into_file().is_none());
        return;
    }
    let test = "directory_fsync_failure_reports_committed_but_not_durable";
    let (scratch, _) = match injected_over_old(test, "fsync:error=EIO:when=2", "") {
        Some(done) => done,
        None => return,
    };
    assert_eq!(std::fs::read(scratch.path().join("dest")).unwrap(), b"new");
    assert_eq!(list(scratch.path()), ["dest"]);
}

#[test]
fn enospc_on_write_leaves_the_destination_and_nothing_else() {
    if let Some(dir) = tracee_arg() {
        pad();
        if std::env::var_os("CALIBRATE").is_some() {
            return replace_in(&dir);
        }
        let err = tempkit::write_atomic(dir.join("dest"), new_content()).unwrap_err();
        assert!(err.to_string().contains("No space left"), "{}", err);
        return;
    }
    if !need::strace() {
        return;
    }
    let test = "enospc_on_write_leaves_the_destination_and_nothing_else";
    let probe = Scratch::new();
    let seq = calibrate(test, probe.path(), &[("CALIBRATE", OsStr::new("1"))]);
    let when = seq.iter().find(|c| c.name == "write").unwrap().ordinal;
    let inject = format!("write:error=ENOSPC:when={}", when);
    let (scratch, trace) = injected_over_old(test, &inject, "").unwrap();
    let injected: Vec<&str> = trace.lines().filter(|l| l.contains("INJECTED")).collect();
    assert!(
        injected.len() == 1 && !injected[0].contains("write(1,"),
        "{}",
        trace
    );
    assert_eq!(std::fs::read(scratch.path().join("dest")).unwrap(), OLD);
    assert_eq!(list(scratch.path()), ["dest"]);
}

#[test]
fn a_failed_rename_hands_the_file_back_untouched() {
    if let Some(dir) = tracee_arg() {
        let err = failing_commit(&dir);
        assert!(!err.committed());
        assert!(
            err.to_string().contains("Invalid cross-device link"),
            "{}",
            err
        );
        let file = err.into_file().expect("handed back");
        file.commit().unwrap(); // the next rename is not injected
        return;
    }
    let test = "a_failed_rename_hands_the_file_back_untouched";
    let (scratch, _) = match injected_over_old(test, "renameat:error=EXDEV:when=1", "") {
        Some(done) => done,
        None => return,
    };
    assert_eq!(std::fs::read(scratch.path().join("dest")).unwrap(), b"new");
    assert_eq!(list(scratch.path()), ["dest"]);
}

/// Where `RENAME_NOREPLACE` is refused (`EINVAL`: FUSE, NFS), no-clobber falls back to
/// `link` + `unlink` for that call, and still never replaces.
#[test]
fn noclobber_falls_back_to_link_and_unlink_when_renameat2_is_refused() {
    if let Some(dir) = tracee_arg() {
        let free = AtomicFile::create(dir.join("free")).unwrap();
        free.commit_noclobber().unwrap();
        let taken = AtomicFile::create(dir.join("taken")).unwrap();
        let err = taken.commit_noclobber().unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists, "{}", err);
        return;
    }
    if !need::strace() {
        return;
    }
    let scratch = Scratch::new();
    std::fs::write(scratch.path().join("taken"), OLD).unwrap();
    let test = "noclobber_falls_back_to_link_and_unlink_when_renameat2_is_refused";
    let env = [(TRACEE, scratch.path().as_os_str())];
    let (output, trace) = strace_run(
        test,
        &env,
        "renameat2,linkat,unlinkat",
        &["-e".into(), "inject=renameat2:error=EINVAL".into()],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let all = calls(&trace);
    assert_eq!(
        all.iter().filter(|c| c.name == "linkat").count(),
        2,
        "{}",
        trace
    );
    assert_eq!(std::fs::read(scratch.path().join("taken")).unwrap(), OLD);
    assert_eq!(list(scratch.path()), ["free", "taken"]);
}

// ---- crash points and random kills ----------------------------------------------------

/// A `SIGKILL` on entry to each call of the sequence in turn: before the rename the old
/// content stays, from the directory `fsync` on the new one; never anything else, and at
/// most the one temporary name is left.
#[test]
fn sigkill_at_every_call_of_the_sequence_leaves_old_or_new() {
    if let Some(dir) = tracee_arg() {
        pad();
        replace_in(&dir);
        return;
    }
    if !need::strace() {
        return;
    }
    let test = "sigkill_at_every_call_of_the_sequence_leaves_old_or_new";
    let scratch = Scratch::new();
    let dest = scratch.path().join("dest");
    std::fs::write(&dest, OLD).unwrap();
    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o640)).unwrap();
    let env = [(TRACEE, scratch.path().as_os_str())];
    let seq = calibrate(test, scratch.path(), &[]);
    let rename = seq.iter().position(|c| c.name == "renameat").unwrap();
    assert!(seq.len() >= 7, "{:#?}", seq);
    for (i, call) in seq.iter().enumerate() {
        std::fs::write(&dest, OLD).unwrap();
        kill_at(test, &env, call);
        let content = std::fs::read(&dest).unwrap();
        let want = if i <= rename {
            OLD.to_vec()
        } else {
            new_content()
        };
        assert!(content == want, "killed at {}: wrong content", call.line);
        let left = leftovers(scratch.path());
        assert!(left.len() <= 1, "killed at {}: {:?}", call.line, left);
        for name in left {
            std::fs::remove_file(scratch.path().join(name)).unwrap();
        }
        assert_eq!(list(scratch.path()), ["dest"]);
    }
}

/// The same for `replace` of a directory: a `SIGKILL` on entry to each call from the opening
/// of the parent to its `fsync` after the exchange leaves the whole old tree or the whole new
/// one at the destination, never nothing, plus at most the one temporary directory.
#[test]
fn sigkill_at_every_call_of_a_directory_replace_leaves_old_or_new() {
    if let Some(dir) = tracee_arg() {
        pad();
        staged(&dir, "v", "new").replace(dir.join("site")).unwrap();
        return;
    }
    if !need::strace() {
        return;
    }
    let test = "sigkill_at_every_call_of_a_directory_replace_leaves_old_or_new";
    let scratch = Scratch::new();
    let site = scratch.path().join("site");
    let reset = || {
        for name in list(scratch.path()) {
            std::fs::remove_dir_all(scratch.path().join(name)).unwrap();
        }
        std::fs::create_dir_all(site.join("sub")).unwrap();
        std::fs::write(site.join("sub/v"), "old").unwrap();
    };
    reset();
    let env = [(TRACEE, scratch.path().as_os_str())];
    let syscalls = "open,openat,newfstatat,getdents64,fsync,renameat2,close";
    let seq = calibrate_with(test, scratch.path(), &[], syscalls, |seq| {
        let rename = seq.iter().position(|c| c.name == "renameat2").unwrap();
        rename + 2 // the rename and the parent's fsync
    });
    let rename = seq.iter().position(|c| c.name == "renameat2").unwrap();
    assert!(seq[rename].line.contains("RENAME_EXCHANGE"), "{:#?}", seq);
    assert_eq!(seq.last().unwrap().name, "fsync");
    // The parent's open and inspection, the tree's sync, the exchange, the parent's fsync.
    assert!(seq.len() >= 10 && rename >= 8, "{:#?}", seq);
    for (i, call) in seq.iter().enumerate() {
        reset();
        kill_at(test, &env, call);
        let want = if i <= rename { "old" } else { "new" };
        let got = std::fs::read_to_string(site.join("sub/v"));
        assert_eq!(got.ok().as_deref(), Some(want), "killed at {}", call.line);
        assert!(list(&site) == ["sub"] && list(&site.join("sub")) == ["v"]);
        let others: Vec<String> = list(scratch.path())
            .into_iter()
            .filter(|n| n != "site")
            .collect();
        assert!(others.len() <= 1, "killed at {}: {:?}", call.line, others);
    }
}

/// The child side of the random-kill tests: `write_b()` once, then a mark at `mark` (made
/// whole by a rename) holding how long that took in microseconds, then `write_a()` and
/// `write_b()` in turn until the parent kills it.
fn mark_the_first_write_then_alternate(
    mark: &Path,
    mut write_a: impl FnMut(),
    mut write_b: impl FnMut(),
) {
    let started = Instant::now();
    write_b();
    let took = started.elapsed().as_micros().to_string();
    let half = mark.with_extension("part");
    std::fs::write(&half, took).unwrap();
    std::fs::rename(&half, mark).unwrap();
    loop {
        write_a();
        write_b();
    }
}

/// Child: the writer of the random-kill test: replaces `DIR/dest` (first argument) with
/// "B..." once, marks that at `MARK` (second argument), then with "A..." and "B..." in turn
/// until its parent kills it.
#[test]
#[ignore = "a child test: run by its parent"]
fn child_writer_alternating_two_contents() {
    let args = child_args();
    let (a, b) = contents_a_b();
    let dest = args[0].join("dest");
    mark_the_first_write_then_alternate(
        &args[1],
        || tempkit::write_atomic(&dest, &a).unwrap(),
        || tempkit::write_atomic(&dest, &b).unwrap(),
    );
}

/// Child: the naive writer of the control: `std::fs::write` (truncate, then write) of "B..."
/// once, marked at `MARK`, then of "A..." and "B..." in turn to `DIR/dest`, until its parent
/// kills it.
#[test]
#[ignore = "a child test: run by its parent"]
fn child_naive_writer_alternating_two_contents() {
    let args = child_args();
    let (a, b) = contents_a_b();
    let dest = args[0].join("dest");
    mark_the_first_write_then_alternate(
        &args[1],
        || std::fs::write(&dest, &a).unwrap(),
        || std::fs::write(&dest, &b).unwrap(),
    );
}

fn contents_a_b() -> (Vec<u8>, Vec<u8>) {
    (vec![b'A'; 256 * 1024], vec![b'B'; 256 * 1024])
}

/// One round of a random-kill test: starts the writer `test` (a fresh process, never a fork
/// of this multi-threaded harness) on `dir`, waits until it has written once (its mark
/// appears: an event, bounded by [`common::CHILD_TIMEOUT`], never a guess at how long a
/// process takes to start on a loaded machine), lets it run for a random part (`seed`) of
/// twice the time its first write took, so that the kill lands anywhere in the next write or
/// two, and kills it with `SIGKILL`.
fn kill_a_writer(test: &str, dir: &Path, marks: &Path, round: u64, seed: u64) {
    let mark = marks.join(round.to_string());
    let mut running = Child::new(test).arg(dir).arg(&mark).spawn();
    let deadline = Instant::now() + common::CHILD_TIMEOUT;
    let first_write = loop {
        if let Ok(took) = std::fs::read_to_string(&mark) {
            break Duration::from_micros(took.parse().expect("the mark holds microseconds"));
        }
        if let Some(status) = running.child.try_wait().unwrap() {
            panic!(
                "round {}: the writer ended ({}) before its first write:\n{}",
                round,
                status,
                running.output()
            );
        }
        if Instant::now() > deadline {
            common::kill_within(&mut running.child);
            panic!(
                "round {}: the writer made no write within {:?}:\n{}",
                round,
                common::CHILD_TIMEOUT,
                running.output()
            );
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let window = 2 * first_write.as_micros() as u64 + 1;
    std::thread::sleep(Duration::from_micros(seed % window));
    let status = common::kill_within(&mut running.child);
    assert!(
        !status.success(),
        "round {}: the writer stopped by itself:\n{}",
        round,
        running.output()
    );
}

/// How many writers the random-kill test kills: a count of events, whatever the load.
const KILL_ROUNDS: u64 = 50;

/// Real `SIGKILL`s at random moments of a writer that alternates two contents: the
/// destination is always exactly one of them (never missing, never torn), and each kill
/// leaves at most one temporary name. Every round kills a writer that has already committed
/// once, somewhere in its next commit or two.
#[test]
fn random_sigkill_leaves_exactly_one_of_the_two_contents() {
    let scratch = Scratch::new();
    let marks = Scratch::new();
    let dest = scratch.path().join("dest");
    let (a, b) = contents_a_b();
    std::fs::write(&dest, &a).unwrap();
    let mut seed = std::process::id() as u64 ^ 0x9e37_79b9_7f4a_7c15;
    let (mut ended_a, mut left_behind) = (0, 0);
    for round in 1..=KILL_ROUNDS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        kill_a_writer(
            "child_writer_alternating_two_contents",
            scratch.path(),
            marks.path(),
            round,
            seed,
        );
        let content = std::fs::read(&dest).expect("the destination is never missing");
        assert!(
            content == a || content == b,
            "round {}: torn content",
            round
        );
        ended_a += usize::from(content == a);
        let left = leftovers(scratch.path());
        assert!(left.len() <= 1, "round {}: {:?}", round, left);
        left_behind += left.len();
        for name in left {
            std::fs::remove_file(scratch.path().join(name)).unwrap();
        }
        assert_eq!(list(scratch.path()), ["dest"], "round {}", round);
    }
    eprintln!(
        "{} kills: {} left \"A\", {} \"B\", {} a temporary name",
        KILL_ROUNDS,
        ended_a,
        KILL_ROUNDS as usize - ended_a,
        left_behind
    );
}

/// The most writers the control kills looking for a torn file (the first one usually is).
const CONTROL_ROUNDS: u64 = 200;

/// The control of the random-kill test: the naive `std::fs::write` (truncate, then write)
/// does leave torn or empty files when killed at random in the same way, so the test above
/// can fail.
#[test]
fn control_naive_write_is_torn_by_random_sigkill() {
    let scratch = Scratch::new();
    let marks = Scratch::new();
    let dest = scratch.path().join("dest");
    let (a, b) = contents_a_b();
    std::fs::write(&dest, &a).unwrap();
    let torn_in = (1..=CONTROL_ROUNDS).find(|&round| {
        kill_a_writer(
            "child_naive_writer_alternating_two_contents",
            scratch.path(),
            marks.path(),
            round,
            round * 7919,
        );
        let content = std::fs::read(&dest).unwrap();
        content != a && content != b
    });
    let round = torn_in.unwrap_or_else(|| panic!("no torn write in {} rounds", CONTROL_ROUNDS));
    eprintln!("the naive write was torn by kill {}", round);
}

// ---- directories -----------------------------------------------------------------------

fn staged(parent: &Path, file: &str, text: &str) -> TemporaryDirectory {
    let dir = Builder::new().dir(parent).temporary_directory().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("sub").join(file), text).unwrap();
    dir
}

#[test]
fn directory_persist_noclobber_publishes_and_never_replaces_even_an_empty_directory() {
    let scratch = Scratch::new();
    let to = scratch.path().join("site");
    let published = staged(scratch.path(), "a", "v1")
        .persist_noclobber(&to)
        .unwrap();
    assert_eq!(published, to);
    assert_eq!(std::fs::read_to_string(to.join("sub/a")).unwrap(), "v1");
    assert_eq!(list(scratch.path()), ["site"]);

    let empty = scratch.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    // A file there is refused the same way (AlreadyExists), not as "not a directory".
    let file = scratch.path().join("file");
    std::fs::write(&file, b"file").unwrap();
    for taken in [&to, &empty, &file] {
        let err = staged(scratch.path(), "b", "v2")
            .persist_noclobber(taken)
            .unwrap_err();
        assert_eq!(err.error.kind(), io::ErrorKind::AlreadyExists, "{}", err);
        // The message says what was attempted, and on which paths.
        let text = err.error.to_string();
        let what = format!(
            "failed to publish (without replacing) directory `{}`",
            err.dir.path().display()
        );
        assert!(
            text.starts_with(&what) && text.contains(taken.to_str().unwrap()),
            "{}",
            text
        );
        let debug = format!("{:?}", err);
        assert!(debug.starts_with("PersistDirError { error: "), "{}", debug);
        assert_eq!(
            std::fs::read_to_string(err.dir.path().join("sub/b")).unwrap(),
            "v2",
            "handed back"
        );
    }
    assert!(list(&empty).is_empty());
    assert_eq!(std::fs::read(&file).unwrap(), b"file");
    assert_eq!(list(scratch.path()), ["empty", "file", "site"]);
}

#[test]
fn directory_noclobber_race_between_threads_has_exactly_one_winner() {
    let scratch = Scratch::new();
    let to = scratch.path().join("contested");
    let threads = 8;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let dir = staged(scratch.path(), "who", &i.to_string());
            let (barrier, to) = (barrier.clone(), to.clone());
            std::thread::spawn(move || {
                barrier.wait();
                dir.persist_noclobber(&to).ok().map(|_| i)
            })
        })
        .collect();
    let winners: Vec<usize> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap())
        .collect();
    assert_eq!(winners.len(), 1, "{:?}", winners);
    let who = std::fs::read_to_string(to.join("sub/who")).unwrap();
    assert_eq!(who, winners[0].to_string());
    assert_eq!(
        list(scratch.path()),
        ["contested"],
        "the losers removed themselves"
    );
}

#[test]
fn directory_replace_swaps_and_removes_the_old_tree() {
    let scratch = Scratch::new();
    let to = scratch.path().join("site");
    // Nothing there yet: a plain publish.
    staged(scratch.path(), "v", "1").replace(&to).unwrap();
    assert_eq!(std::fs::read_to_string(to.join("sub/v")).unwrap(), "1");
    // A tree there, with a read-only corner that the secure removal must repair.
    std::fs::set_permissions(to.join("sub"), std::fs::Permissions::from_mode(0o500)).unwrap();
    staged(scratch.path(), "v", "2").replace(&to).unwrap();
    assert_eq!(std::fs::read_to_string(to.join("sub/v")).unwrap(), "2");
    assert_eq!(list(scratch.path()), ["site"], "the old tree is gone");
}

#[test]
fn directory_exchange_returns_a_guard_owning_the_old_tree() {
    let scratch = Scratch::new();
    let to = scratch.path().join("live");
    staged(scratch.path(), "v", "1")
        .persist_noclobber(&to)
        .unwrap();
    let old = staged(scratch.path(), "v", "2").exchange(&to).unwrap();
    assert_eq!(std::fs::read_to_string(to.join("sub/v")).unwrap(), "2");
    assert_eq!(
        std::fs::read_to_string(old.path().join("sub/v")).unwrap(),
        "1"
    );
    let old_path = old.path().to_path_buf();
    drop(old);
    assert!(!old_path.exists());
    assert_eq!(list(scratch.path()), ["live"]);

    // Nothing to exchange with, or not a directory: refused, handed back.
    let err = staged(scratch.path(), "v", "3")
        .exchange(scratch.path().join("missing"))
        .unwrap_err();
    assert_eq!(err.error.kind(), io::ErrorKind::NotFound, "{}", err);
    assert!(err.dir.path().join("sub/v").is_file());
    drop(err);
    std::fs::write(scratch.path().join("file"), "x").unwrap();
    let err = staged(scratch.path(), "v", "4")
        .exchange(scratch.path().join("file"))
        .unwrap_err();
    assert_eq!(err.error.kind(), io::ErrorKind::InvalidInput, "{}", err);
    drop(err);
    assert_eq!(list(scratch.path()), ["file", "live"]);
}

/// `/tmp` (ext4 here) and `/dev/shm` (tmpfs) are different file systems: the rename is
/// refused with the cross-device error, and the tree handed back intact.
#[test]
fn directory_publish_across_file_systems_is_refused_and_the_tree_handed_back() {
    let shm = Path::new("/dev/shm");
    let scratch = Scratch::new();
    let elsewhere =
        shm.is_dir() && shm.metadata().unwrap().dev() != scratch.path().metadata().unwrap().dev();
    if !need::feature(
        "dev-shm",
        elsewhere,
        "/dev/shm, on another file system than the scratch directory",
    ) {
        return;
    }
    let to = scratch.path().join("site");
    std::fs::create_dir(&to).unwrap();
    for (i, how) in ["persist_noclobber", "replace", "exchange"]
        .iter()
        .enumerate()
    {
        let dir = staged(shm, "v", "new");
        let target = if i == 0 {
            scratch.path().join("fresh")
        } else {
            to.clone()
        };
        let err = match *how {
            "persist_noclobber" => dir.persist_noclobber(&target).unwrap_err(),
            "replace" => dir.replace(&target).unwrap_err(),
            _ => dir.exchange(&target).unwrap_err(),
        };
        assert_eq!(
            err.error.kind(),
            io::ErrorKind::CrossesDevices,
            "{}: {}",
            how,
            err
        );
        assert!(
            err.to_string().contains("different file systems"),
            "{}",
            err
        );
        assert_eq!(
            std::fs::read_to_string(err.dir.path().join("sub/v")).unwrap(),
            "new",
            "{}: the tree is handed back",
            how
        );
    }
    assert_eq!(list(scratch.path()), ["site"]);
    assert!(list(&to).is_empty());
}

/// Where the file system refuses `RENAME_EXCHANGE`/`RENAME_NOREPLACE` (`EINVAL`), each
/// method (`replace` and `exchange` over a tree, `persist_noclobber` onto nothing) says so
/// (`Unsupported`), hands the tree back intact and moves nothing: no silent non-atomic
/// fallback (no plain `rename`, no `link`), the destination untouched.
#[test]
fn directory_publish_without_renameat2_support_is_refused() {
    if let Some(dir) = tracee_arg() {
        let site = dir.join("site");
        for how in ["replace", "exchange", "persist_noclobber"] {
            let staged = staged(&dir, "v", how);
            let staged_path = staged.path().to_owned();
            let err = match how {
                "replace" => staged.replace(&site).unwrap_err(),
                "exchange" => staged.exchange(&site).unwrap_err(),
                _ => staged.persist_noclobber(dir.join("other")).unwrap_err(),
            };
            assert_eq!(
                err.error.kind(),
                io::ErrorKind::Unsupported,
                "{}: {}",
                how,
                err
            );
            // The very tree, at its own path, as it was.
            assert_eq!(err.dir.path(), staged_path, "{}", how);
            assert_eq!(list(err.dir.path()), ["sub"], "{}", how);
            assert_eq!(list(&err.dir.path().join("sub")), ["v"], "{}", how);
            assert_eq!(
                std::fs::read_to_string(err.dir.path().join("sub/v")).unwrap(),
                how,
                "{}: the tree is handed back intact",
                how
            );
            assert_eq!(list(&site), ["old"], "{}", how);
            assert_eq!(std::fs::read_to_string(site.join("old")).unwrap(), "old");
        }
        return;
    }
    if !need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let site = scratch.path().join("site");
    std::fs::create_dir(&site).unwrap();
    std::fs::write(site.join("old"), "old").unwrap();
    let before = site.symlink_metadata().unwrap();
    let test = "directory_publish_without_renameat2_support_is_refused";
    let (passed, trace) = run_injected(
        test,
        scratch.path(),
        "renameat2:error=EINVAL",
        "rename,renameat,link,linkat",
    );
    assert!(passed, "{}", trace);
    // Each method tried its one atomic rename, was refused, and tried nothing else.
    let all = calls(&trace);
    let renames: Vec<&str> = all.iter().map(|c| c.line.as_str()).collect();
    assert_eq!(renames.len(), 3, "{:#?}", renames);
    for (line, flag) in
        renames
            .iter()
            .zip(["RENAME_EXCHANGE", "RENAME_EXCHANGE", "RENAME_NOREPLACE"])
    {
        assert!(
            line.contains("renameat2(") && line.contains(flag) && line.contains("(INJECTED)"),
            "{}",
            line
        );
    }
    // Nothing at the destination changed: the same directory, its one file, its content.
    let after = site.symlink_metadata().unwrap();
    assert_eq!((after.dev(), after.ino()), (before.dev(), before.ino()));
    assert_eq!(list(scratch.path()), ["site"]);
    assert_eq!(list(&site), ["old"]);
    assert_eq!(std::fs::read_to_string(site.join("old")).unwrap(), "old");
}

/// Durable: every file and directory of the tree is synced before the rename, the
/// destination's directory after it.
#[test]
fn directory_publish_syncs_the_tree_before_and_the_parent_after() {
    if let Some(dir) = tracee_arg() {
        staged(&dir, "v", "new")
            .persist_noclobber(dir.join("site"))
            .unwrap();
        return;
    }
    let scratch = Scratch::new();
    let env = [(TRACEE, scratch.path().as_os_str())];
    if !need::strace() {
        return;
    }
    let trace = strace_test(
        "directory_publish_syncs_the_tree_before_and_the_parent_after",
        &env,
        "open,openat,fsync,renameat2,close",
    )
    .expect("strace ran");
    let all = calls(&trace);
    let seq = sequence_of(&all, scratch.path());
    let parent_fd = seq[0].line.rsplit("= ").next().unwrap().trim().to_owned();
    let open_of = |needle: &str| {
        *seq.iter()
            .find(|c| c.name.starts_with("open") && c.line.contains(needle))
            .unwrap_or_else(|| panic!("{} never opened: {:#?}", needle, seq))
    };
    let fd_of = |c: &Call| c.line.rsplit("= ").next().unwrap().trim().to_owned();
    let (open_sub, open_v) = (open_of("\"sub\""), open_of("\"v\""));
    let (sub_fd, file_fd) = (fd_of(open_sub), fd_of(open_v));
    // The file is opened to be synced only as what `fstatat` saw: never through a symlink,
    // never blocking (a FIFO swapped in), never inherited.
    for flag in ["O_NOFOLLOW", "O_NONBLOCK", "O_CLOEXEC"] {
        assert!(open_v.line.contains(flag), "{}", open_v.line);
    }
    let fsync_of = |fd: &str| {
        seq.iter()
            .position(|c| c.line.contains(&format!("fsync({})", fd)))
            .unwrap_or_else(|| panic!("no fsync({}) in {:#?}", fd, seq))
    };
    let rename = seq.iter().position(|c| c.name == "renameat2").unwrap();
    assert!(fsync_of(&file_fd) < rename);
    assert!(fsync_of(&sub_fd) < rename);
    // The parent's descriptor is the first one; its fsync is the last one, after the rename.
    let last_fsync = seq.iter().rposition(|c| c.name == "fsync").unwrap();
    assert!(seq[last_fsync]
        .line
        .contains(&format!("fsync({})", parent_fd)));
    assert!(rename < last_fsync);
    assert!(seq[rename].line.contains("RENAME_NOREPLACE"));
}

/// The first quoted argument of a trace line (`renameat2(AT_FDCWD</d>, "FROM", ...)`: FROM).
fn first_quoted(line: &str) -> &str {
    let (_, rest) = line
        .split_once('"')
        .unwrap_or_else(|| panic!("no path in {}", line));
    rest.split_once('"').unwrap().0
}

/// The path `strace -y` gives the descriptor of a one-descriptor call (`fsync(5</a/b>)`:
/// `/a/b`), as `/proc/PID/fd` showed it when the call was made.
fn fd_path(line: &str) -> &str {
    let (_, args) = line.split_once('(').unwrap();
    let (_, rest) = args
        .split_once('<')
        .unwrap_or_else(|| panic!("no descriptor path (strace -y) in {}", line));
    rest.split_once('>').unwrap().0
}

/// Durable, for each method (`persist_noclobber` onto nothing, `replace` of a tree,
/// `exchange`): before its rename the staged root itself is synced, by an `fsync` of a
/// descriptor of that very directory (`strace -y` names it) that succeeds, after every
/// file and subdirectory of the tree; the destination's directory after the rename.
#[test]
fn directory_publish_syncs_the_staged_root_itself_last_before_the_rename() {
    if let Some(dir) = tracee_arg() {
        staged(&dir, "v", "new")
            .persist_noclobber(dir.join("fresh"))
            .unwrap();
        staged(&dir, "v", "new")
            .replace(dir.join("replaced"))
            .unwrap();
        let old = staged(&dir, "v", "new")
            .exchange(dir.join("exchanged"))
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(old.path().join("sub/v")).unwrap(),
            "old"
        );
        return;
    }
    if !need::strace() {
        return;
    }
    let scratch = Scratch::new();
    for name in ["replaced", "exchanged"] {
        std::fs::create_dir_all(scratch.path().join(name).join("sub")).unwrap();
        std::fs::write(scratch.path().join(name).join("sub/v"), "old").unwrap();
    }
    let env = [(TRACEE, scratch.path().as_os_str())];
    let trace = common::trace::strace_test_with(
        "directory_publish_syncs_the_staged_root_itself_last_before_the_rename",
        &env,
        &["-y".into()],
        "openat,fsync,renameat2",
    )
    .expect("strace ran");
    // `strace -y` shows the path the kernel resolves: symlinks in the scratch path resolved.
    let base = scratch.path().canonicalize().unwrap();
    let all = calls(&trace);
    let renames: Vec<usize> = (0..all.len())
        .filter(|&i| all[i].name == "renameat2" && all[i].line.ends_with("= 0"))
        .collect();
    assert_eq!(renames.len(), 3, "{}", trace);
    let mut after_previous = 0;
    for (&rename, dest) in renames.iter().zip(["fresh", "replaced", "exchanged"]) {
        let call = &all[rename];
        assert!(
            call.line.contains(&format!("\"{}\"", dest)),
            "{}",
            call.line
        );
        let staged_name = Path::new(first_quoted(&call.line)).file_name().unwrap();
        let root = base.join(staged_name);
        let root = root.to_str().unwrap();
        // This publish's calls, in the thread that made it.
        let window: Vec<&Call> = all[after_previous..rename]
            .iter()
            .filter(|c| c.pid == call.pid)
            .collect();
        let tree_fsyncs: Vec<&&Call> = window
            .iter()
            .filter(|c| {
                c.name == "fsync"
                    && (fd_path(&c.line) == root
                        || fd_path(&c.line).starts_with(&format!("{}/", root)))
            })
            .collect();
        let synced: Vec<&str> = tree_fsyncs.iter().map(|c| fd_path(&c.line)).collect();
        let (sub, v) = (format!("{}/sub", root), format!("{}/sub/v", root));
        assert!(
            synced.contains(&v.as_str()) && synced.contains(&sub.as_str()),
            "{}: the tree's entries are not all synced: {:#?}",
            dest,
            window
        );
        // The root itself, once, last of the tree, successfully, before the rename.
        let own: Vec<&&&Call> = tree_fsyncs
            .iter()
            .filter(|c| fd_path(&c.line) == root)
            .collect();
        assert_eq!(
            own.len(),
            1,
            "{}: the staged root {} is not synced once before the rename: {:#?}",
            dest,
            root,
            window
        );
        assert!(own[0].line.ends_with("= 0"), "{}", own[0].line);
        assert_eq!(synced.last(), Some(&root), "{}: {:#?}", dest, window);
        // The destination's directory after the rename: the next fsync of this thread.
        let parent_sync = all[rename + 1..]
            .iter()
            .find(|c| c.pid == call.pid && c.name == "fsync")
            .unwrap_or_else(|| panic!("{}: no fsync after the rename", dest));
        assert_eq!(
            fd_path(&parent_sync.line),
            base.to_str().unwrap(),
            "{}",
            dest
        );
        after_previous = rename + 1;
    }
    for dest in ["fresh", "replaced", "exchanged"] {
        assert_eq!(
            std::fs::read_to_string(scratch.path().join(dest).join("sub/v")).unwrap(),
            "new"
        );
    }
    assert_eq!(list(scratch.path()), ["exchanged", "fresh", "replaced"]);
}

/// Durable: an `fsync` in the tree that fails (`EIO`) fails the publish, and nothing is
/// moved; only a walk out of descriptors falls back to `syncfs`.
#[test]
fn directory_publish_tree_fsync_eio_moves_nothing() {
    if let Some(dir) = tracee_arg() {
        let err = staged(&dir, "v", "new")
            .persist_noclobber(dir.join("site"))
            .unwrap_err();
        assert!(err.to_string().contains("nothing was moved"), "{}", err);
        assert!(err.to_string().contains("Input/output error"), "{}", err);
        assert!(err.dir.path().join("sub/v").is_file());
        return;
    }
    if !need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let test = "directory_publish_tree_fsync_eio_moves_nothing";
    let (passed, trace) = run_injected(test, scratch.path(), "fsync:error=EIO", "syncfs,renameat2");
    assert!(passed);
    assert!(list(scratch.path()).is_empty());
    let all = calls(&trace);
    assert!(
        all.iter()
            .all(|c| c.name != "syncfs" && c.name != "renameat2"),
        "{}",
        trace
    );
}

/// Durable, with a tree deeper than the descriptors left: the walk runs out (`EMFILE`) and
/// the tree is synced with `syncfs` of its file system instead, before the rename.
#[test]
fn directory_publish_too_deep_for_the_descriptors_falls_back_to_syncfs() {
    if let Some(dir) = tracee_arg() {
        let staged = staged(&dir, "v", "new");
        let deep: std::path::PathBuf = std::iter::repeat("d").take(40).collect();
        std::fs::create_dir_all(staged.path().join("sub").join(&deep)).unwrap();
        let open = std::fs::read_dir("/proc/self/fd").unwrap().count() as libc::rlim_t;
        let limit = libc::rlimit {
            rlim_cur: open + 8,
            rlim_max: open + 8,
        };
        // SAFETY: setrlimit has no preconditions; this process runs only this test.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
        staged.persist_noclobber(dir.join("site")).unwrap();
        assert!(dir.join("site/sub").join(&deep).is_dir());
        return;
    }
    let scratch = Scratch::new();
    let env = [(TRACEE, scratch.path().as_os_str())];
    let test = "directory_publish_too_deep_for_the_descriptors_falls_back_to_syncfs";
    if !need::strace() {
        return;
    }
    let trace = strace_test(test, &env, "syncfs,renameat2").expect("strace ran");
    let all = calls(&trace);
    let syncfs = all.iter().position(|c| c.name == "syncfs");
    let rename = all.iter().position(|c| c.name == "renameat2");
    assert!(
        matches!((syncfs, rename), (Some(s), Some(r)) if s < r),
        "{}",
        trace
    );
}

/// `durable(false)`: the same atomic publish without a single `fsync` (nor `syncfs`), the
/// parent opened once, first, and the rename relative to it.
#[test]
fn directory_publish_atomic_only_makes_no_fsync() {
    if let Some(dir) = tracee_arg() {
        let mut staged = staged(&dir, "v", "new");
        staged.durable(false);
        staged.persist_noclobber(dir.join("site")).unwrap();
        return;
    }
    let scratch = Scratch::new();
    let env = [(TRACEE, scratch.path().as_os_str())];
    if !need::strace() {
        return;
    }
    let trace = strace_test(
        "directory_publish_atomic_only_makes_no_fsync",
        &env,
        "open,openat,fsync,fdatasync,syncfs,renameat2,close",
    )
    .expect("strace ran");
    let all = calls(&trace);
    let seq = sequence_of(&all, scratch.path());
    let parent_fd = seq[0].line.rsplit("= ").next().unwrap().trim().to_owned();
    assert!(seq.iter().all(|c| !c.name.contains("sync")), "{:#?}", seq);
    let rename = position(&seq, |c| c.name == "renameat2", "renameat2");
    assert!(seq[rename].line.contains("RENAME_NOREPLACE"));
    assert!(seq[rename]
        .line
        .contains(&format!(", {}, \"site\"", parent_fd)));
    assert_eq!(
        std::fs::read_to_string(scratch.path().join("site/sub/v")).unwrap(),
        "new"
    );
}

#[test]
fn types_cross_threads_and_errors_convert() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<AtomicFile>();
    send_sync::<tempkit::CommitError>();
    send_sync::<tempkit::PersistDirError>();
    let scratch = Scratch::new();
    std::fs::write(scratch.path().join("t"), OLD).unwrap();
    let err = AtomicFile::create(scratch.path().join("t"))
        .unwrap()
        .commit_noclobber()
        .unwrap_err();
    let as_io: io::Error = err.into();
    assert_eq!(as_io.kind(), io::ErrorKind::AlreadyExists);
}

/// Whether `path` carries the owner tag of `Builder::reapable` (`user.tempkit.owner`).
fn has_owner_tag(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    let name = std::ffi::CString::new("user.tempkit.owner").unwrap();
    // SAFETY: both strings are NUL-terminated; a null buffer of size 0 asks for the size only.
    let n = unsafe { libc::lgetxattr(c_path.as_ptr(), name.as_ptr(), std::ptr::null_mut(), 0) };
    n >= 0
}

/// Published objects are untagged first, so that `reap` never takes them for a dead
/// owner's leftovers.
#[test]
fn published_objects_lose_their_owner_tag() {
    let scratch = Scratch::new();
    let reapable = || Builder::new().dir(scratch.path()).reapable(true).clone();
    let dir = reapable().temporary_directory().unwrap();
    let tagged = dir.is_reapable() && has_owner_tag(dir.path());
    if !need::feature(
        "xattrs",
        tagged,
        "user extended attributes on the scratch directory's file system",
    ) {
        return;
    }
    let site = scratch.path().join("site");
    dir.persist_noclobber(&site).unwrap();
    assert!(!has_owner_tag(&site));
    let next = reapable().temporary_directory().unwrap();
    assert!(has_owner_tag(next.path()));
    let old = next.exchange(&site).unwrap();
    assert!(!has_owner_tag(&site));
    drop(old);
    reapable()
        .temporary_directory()
        .unwrap()
        .replace(&site)
        .unwrap();
    assert!(!has_owner_tag(&site));

    let file = reapable().named_temporary_file().unwrap();
    assert!(has_owner_tag(file.path()));
    let kept = scratch.path().join("kept");
    file.persist_durable(&kept).unwrap();
    assert!(!has_owner_tag(&kept));
}

/// A directory `fsync` after the publishing rename fails (EIO injected on the last `fsync`,
/// the parent's, after `renameat2`): the rename happened, and the error hands back what each
/// method promises. `exchange`, and `replace` over a tree: a guard owning the old tree, now
/// at the temporary path (nothing left behind once dropped); `persist_noclobber`, and
/// `replace` with nothing at the destination: a disarmed handle on the published tree.
#[test]
fn a_failed_directory_fsync_after_the_rename_hands_back_what_each_method_promises() {
    if let Some(dir) = tracee_arg() {
        let live = dir.join("live");
        let staged = staged(&dir, "v", "new");
        let staged_path = staged.path().to_path_buf();
        // Over a tree, `exchange` and `replace` swap; `persist_noclobber`, and `replace` with
        // nothing at the destination, publish.
        let exchange = dir.ends_with("exchange") || dir.ends_with("replace");
        let err = if dir.ends_with("exchange") {
            staged.exchange(&live).unwrap_err()
        } else if dir.ends_with("noclobber") {
            staged.persist_noclobber(&live).map(drop).unwrap_err()
        } else {
            staged.replace(&live).map(drop).unwrap_err()
        };
        let message = err.error.to_string();
        assert!(message.contains("durability"), "{}", message);
        assert!(message.contains("Input/output error"), "{}", message);
        assert_eq!(std::fs::read_to_string(live.join("sub/v")).unwrap(), "new");
        let handed = err.dir.path().to_path_buf();
        if exchange {
            // The old tree, at the temporary path, owned: removed on drop.
            assert_eq!(handed, staged_path);
            assert_eq!(
                std::fs::read_to_string(handed.join("sub/v")).unwrap(),
                "old"
            );
            drop(err);
            assert!(!handed.exists());
        } else {
            // The published tree, disarmed: it stays.
            assert_eq!(handed, live);
            drop(err);
            assert!(live.join("sub/v").is_file());
            assert!(!staged_path.exists());
        }
        assert_eq!(list(&dir), ["live"]);
        return;
    }
    if !need::strace() {
        return;
    }
    let test = "a_failed_directory_fsync_after_the_rename_hands_back_what_each_method_promises";
    for method in ["exchange", "noclobber", "replace", "replace-new"] {
        let scratch = Scratch::new();
        let dir = scratch.path().join(method);
        std::fs::create_dir(&dir).unwrap();
        if method == "exchange" || method == "replace" {
            std::fs::create_dir_all(dir.join("live/sub")).unwrap();
            std::fs::write(dir.join("live/sub/v"), "old").unwrap();
        }
        // The tree's sync: `v`, `sub`, the temporary directory; then the parent's, injected.
        // (`replace` with nothing there tries to swap, then publishes: the tree synced once.)
        let (passed, trace) = run_injected(test, &dir, "fsync:error=EIO:when=4", "renameat2");
        assert!(passed, "{}", method);
        // The injected failure was the parent's fsync after the rename, and the last one.
        let all = calls(&trace);
        let rename = all.iter().position(|c| c.name == "renameat2").unwrap();
        let failed = all
            .iter()
            .position(|c| c.line.contains("(INJECTED)"))
            .unwrap_or_else(|| panic!("nothing injected:\n{}", trace));
        assert!(failed > rename && failed + 1 == all.len(), "{}", trace);
    }
}

/// `replace` settles a destination that vanishes or appears between its check and the rename
/// with a few more rounds, and retries nothing else. Made deterministic by injection on the
/// first `renameat2`: `ENOENT` (the destination seemed to vanish: the next round publishes
/// without replacing, finds it there again (`EEXIST`) and exchanges), or `EIO` (reported at
/// once, the tree handed back).
#[test]
fn directory_replace_retries_a_destination_that_vanishes_or_appears_and_nothing_else() {
    if let Some(dir) = tracee_arg() {
        let site = dir.join("site");
        let staged = staged(&dir, "v", "new");
        let staged_path = staged.path().to_path_buf();
        if dir.ends_with("EIO") {
            let err = staged.replace(&site).unwrap_err();
            assert!(err.to_string().contains("Input/output error"), "{}", err);
            assert_eq!(err.dir.path(), staged_path);
            assert_eq!(
                std::fs::read_to_string(staged_path.join("sub/v")).unwrap(),
                "new"
            );
            drop(err);
            assert_eq!(std::fs::read_to_string(site.join("sub/v")).unwrap(), "old");
        } else {
            staged.replace(&site).unwrap();
            assert_eq!(std::fs::read_to_string(site.join("sub/v")).unwrap(), "new");
        }
        assert_eq!(list(&dir), ["site"]);
        return;
    }
    if !need::strace() {
        return;
    }
    let test = "directory_replace_retries_a_destination_that_vanishes_or_appears_and_nothing_else";
    for (error, rounds) in [("ENOENT", 3), ("EIO", 1)] {
        let scratch = Scratch::new();
        let dir = scratch.path().join(error);
        std::fs::create_dir_all(dir.join("site/sub")).unwrap();
        std::fs::write(dir.join("site/sub/v"), "old").unwrap();
        let inject = format!("renameat2:error={}:when=1", error);
        let (passed, trace) = run_injected(test, &dir, &inject, "");
        assert!(passed, "{}", error);
        let flags: Vec<&str> = calls(&trace)
            .iter()
            .map(|c| {
                if c.line.contains("RENAME_EXCHANGE") {
                    "exchange"
                } else if c.line.contains("RENAME_NOREPLACE") {
                    "noreplace"
                } else {
                    "other"
                }
            })
            .collect();
        let want = ["exchange", "noreplace", "exchange"];
        assert_eq!(flags, want[..rounds], "{}: {}", error, trace);
    }
}
