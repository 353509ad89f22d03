//! Permissions: whatever the umask, files are 0600 and directories 0700 from the moment they
//! exist. The modes are read back with stat, and a traced run shows that each mode is given
//! to the creating system call and never fixed later by a chmod.

#![cfg(unix)] // for now

mod common;

use std::path::{Path, PathBuf};

use common::child::{child_args, Child};
use common::creators;
use common::trace::{lines_about, strace_test_with};
use common::Scratch;

const UMASKS: [u32; 3] = [0o000, 0o022, 0o077];

/// When set, the directory the traced run creates in (made by the tracing test).
const TRACE_DIR_VAR: &str = "TEMPKIT_TEST_TRACE_DIR";

/// The test that the traced run repeats.
const TRACED_TEST: &str = "every_kind_is_private_under_umask_000_022_077";

/// The system calls that change a mode.
const CHMODS: [&str; 4] = ["chmod", "fchmod", "fchmodat", "fchmodat2"];

/// Creates one object of every kind in `dir` under each umask, as an unprivileged user,
/// checking its mode while it is held: one child process per umask (see
/// [`child_creates_every_kind`]).
fn create_every_kind(dir: &Path) {
    for mask in UMASKS {
        Child::new("child_creates_every_kind")
            .arg(dir)
            .arg(format!("{:o}", mask))
            .umask(mask)
            .as_nobody()
            .assert_passes();
    }
}

/// The child of [`create_every_kind`]: under the umask it was given, as the unprivileged
/// user, creates one object of every kind in the directory it was given and checks its mode
/// while it is held.
#[test]
#[ignore]
fn child_creates_every_kind() {
    let args = child_args();
    let dir = &args[0];
    let mask = u32::from_str_radix(args[1].to_str().unwrap(), 8).unwrap();
    assert_eq!(common::current_umask(), mask, "the child's umask");
    for creator in creators::all() {
        let mut b = tempkit::Builder::new();
        b.dir(dir).prefix("tkperm-");
        let held = (creator.create)(&b).expect("create");
        let want = if creator.is_dir { 0o700 } else { 0o600 };
        if let Some(path) = held.path() {
            assert_eq!(common::mode(path), want, "{} by name", creator.name);
        }
        let (mode, held) = held.mode().expect("fstat");
        assert_eq!(mode, want, "{} under umask {:03o}", creator.name, mask);
        held.finish().expect("finish");
    }
}

#[test]
fn every_kind_is_private_under_umask_000_022_077() {
    match std::env::var_os(TRACE_DIR_VAR) {
        Some(dir) => create_every_kind(Path::new(&dir)),
        None => {
            let scratch = Scratch::for_nobody();
            create_every_kind(scratch.path());
            assert!(scratch.names().is_empty(), "{:?}", scratch.names());
        }
    }
}

/// The name of the system call on a line of `strace -f` output (`PID name(args) = result`).
fn syscall_name(line: &str) -> &str {
    let call = line
        .split_once(' ')
        .map_or(line, |(_, rest)| rest.trim_start());
    call.split('(').next().unwrap_or("")
}

#[test]
fn modes_are_given_at_creation_and_never_changed_by_chmod() {
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::for_nobody();
    let dir: PathBuf = scratch.path().to_owned();
    // `-y` prints the path behind each descriptor, so that an `fchmod` of an object in `dir`
    // names it too. The chmods looked for are those of objects in `dir`: the test's own
    // machinery (the scratch directory of each child process's output) chmods elsewhere.
    let trace = strace_test_with(
        TRACED_TEST,
        &[(TRACE_DIR_VAR, dir.as_os_str())],
        &["-y".to_string()],
        "chmod,fchmod,fchmodat,?fchmodat2,open,openat,creat,mkdir,mkdirat",
    )
    .expect("the trace");
    let in_dir = dir.to_str().unwrap();
    let chmods: Vec<&str> = trace
        .lines()
        .filter(|l| CHMODS.contains(&syscall_name(l)) && l.contains(in_dir))
        .collect();
    assert!(chmods.is_empty(), "chmod issued:\n{}", chmods.join("\n"));

    let mut created = 0;
    for line in lines_about(&trace, &dir) {
        let name = syscall_name(line);
        let succeeded = !line.contains(" = -1");
        if name.starts_with("mkdir") {
            assert!(
                line.contains(", 0700)"),
                "directory not created 0700: {line}"
            );
            created += usize::from(succeeded);
        } else if line.contains("O_CREAT") || line.contains("O_TMPFILE") {
            assert!(line.contains(", 0600)"), "file not created 0600: {line}");
            created += usize::from(succeeded);
        }
    }
    // One creation per creator and umask, at least (the trace really covered them).
    let expected = UMASKS.len() * creators::all().len();
    assert!(
        created >= expected,
        "only {created} creating calls traced, expected {expected}:\n{trace}"
    );
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// `Builder::dir_mode`: the mode given to `mkdir`, minus the umask, for both directory kinds;
/// the default stays 0700 whatever the umask. One fresh process per umask.
#[test]
fn dir_mode_is_given_to_mkdir_and_the_umask_applies() {
    let scratch = common::Scratch::new();
    for mask in [0o000, 0o022, 0o077] {
        Child::new("child_dir_mode")
            .arg(scratch.path())
            .arg(format!("{:o}", mask))
            .umask(mask)
            .assert_passes();
    }
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// The child of [`dir_mode_is_given_to_mkdir_and_the_umask_applies`].
#[test]
#[ignore]
fn child_dir_mode() {
    let args = child_args();
    let dir = &args[0];
    let mask = u32::from_str_radix(args[1].to_str().unwrap(), 8).unwrap();
    assert_eq!(common::current_umask(), mask, "the child's umask");
    for mode in [0o777, 0o750, 0o700] {
        let held = tempkit::Builder::new()
            .dir(dir)
            .dir_mode(mode)
            .temporary_directory()
            .expect("temporary_directory");
        assert_eq!(
            common::mode(held.path()),
            mode & !mask,
            "temporary_directory {:o}",
            mode
        );
        // A tree inside is removed as usual.
        std::fs::create_dir(held.path().join("sub")).unwrap();
        std::fs::write(held.path().join("sub").join("f"), "x").unwrap();
        let path = held.path().to_owned();
        drop(held);
        assert!(!path.exists(), "{} left behind", path.display());

        let made = tempkit::Builder::new()
            .dir(dir)
            .dir_mode(mode)
            .mkdtemp()
            .expect("mkdtemp");
        assert_eq!(common::mode(&made), mode & !mask, "mkdtemp {:o}", mode);
        std::fs::remove_dir(&made).unwrap();
    }
    let default = tempkit::Builder::new()
        .dir(dir)
        .temporary_directory()
        .unwrap();
    assert_eq!(common::mode(default.path()), 0o700, "the default");
}
