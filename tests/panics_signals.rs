//! Panics and signals: a panic unwinding through a scope removes every self-cleaning object
//! it held; a process killed with SIGKILL (no destructor runs) leaves no `TemporaryFile` or
//! rolled-over spooled file behind (they never had a name, or lost it at once), while the
//! named objects are left with their prefix, for a reaper to find (see SECURITY.md). The
//! killed process is a fresh process of this test binary, never a fork of the test harness.

#![cfg(unix)] // for now

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::creators::{self, Creator};
use common::Scratch;

#[test]
fn a_panic_in_a_scope_removes_everything_on_unwind() {
    let scratch = Scratch::new();
    let real = scratch.path().join("real");
    let link = scratch.path().join("link");
    std::fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let result = std::panic::catch_unwind(|| {
        let mut held = Vec::new();
        for creator in creators::all().into_iter().filter(|c| c.self_cleaning) {
            // Both paths of the unnamed kinds: O_TMPFILE, and the named fallback.
            let dirs: &[&Path] = if creator.named_only_via_symlinked_dir {
                &[&real, &link]
            } else {
                &[&real]
            };
            for d in dirs {
                let mut b = tempkit::Builder::new();
                b.dir(d).prefix("unwind-");
                let mut h = (creator.create)(&b).expect("create");
                creators::write_to(&mut h, b"data").unwrap();
                held.push(h);
            }
        }
        // A directory with contents, nested two deep.
        let tree = tempkit::Builder::new()
            .dir(&real)
            .prefix("unwind-")
            .temporary_directory()
            .unwrap();
        std::fs::create_dir_all(tree.path().join("a/b")).unwrap();
        std::fs::write(tree.path().join("a/b/f"), b"x").unwrap();
        let named = held.iter().filter(|h| h.path().is_some()).count();
        assert_eq!(common::list(&real).len(), named + 1);
        panic!("unwinding on purpose with {} objects held", held.len() + 1);
    });
    assert!(result.is_err());
    assert!(
        common::list(&real).is_empty(),
        "left: {:?}",
        common::list(&real)
    );
}

/// The variables through which [`kill_while_holding`] tells [`child_holds_until_killed`] what
/// to create, where, and where to say that it holds it.
const HOLD_CREATOR: &str = "TEMPKIT_TEST_HOLD_CREATOR";
const HOLD_DIR: &str = "TEMPKIT_TEST_HOLD_DIR";
const HOLD_READY: &str = "TEMPKIT_TEST_HOLD_READY";

/// Starts a fresh process of this test binary (the ignored test [`child_holds_until_killed`])
/// that creates one object with `creator` in `dir`, says so, and waits to be killed; kills it
/// with SIGKILL once the object exists.
fn kill_while_holding(creator: &Creator, dir: &Path) {
    let signals = Scratch::new();
    let ready = signals.path().join("ready");
    let output = signals.path().join("output");
    let out = std::fs::File::create(&output).expect("create the child's output");
    let err = out.try_clone().expect("clone the child's output");
    let mut child = Command::new(std::env::current_exe().expect("current test binary"))
        .args([
            "child_holds_until_killed",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(HOLD_CREATOR, creator.name)
        .env(HOLD_DIR, dir)
        .env(HOLD_READY, &ready)
        .env_remove("TEMPKIT_KEEP")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .expect("start the child");
    // Bounded: a child stuck before it says so (or that ended) fails the test instead of
    // hanging it.
    let deadline = Instant::now() + common::CHILD_TIMEOUT;
    let ended = loop {
        if ready.exists() {
            break None;
        }
        if let Some(status) = child.try_wait().expect("try_wait") {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let held = ready.exists();
    let status = match ended {
        Some(status) => status,
        None => common::kill_within(&mut child),
    };
    assert!(
        held,
        "{}: the child failed before holding its object ({}):\n{}",
        creator.name,
        status,
        std::fs::read_to_string(&output).unwrap_or_default()
    );
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{}", status);
}

/// What [`kill_while_holding`] starts: creates the object, says so (a file made by `rename`,
/// so that it appears whole), and waits to be killed (bounded, should its parent be gone).
#[test]
#[ignore]
fn child_holds_until_killed() {
    let name = std::env::var(HOLD_CREATOR).expect("run by kill_while_holding");
    let dir = PathBuf::from(std::env::var_os(HOLD_DIR).expect("run by kill_while_holding"));
    let ready = PathBuf::from(std::env::var_os(HOLD_READY).expect("run by kill_while_holding"));
    let creator = creators::all()
        .into_iter()
        .find(|c| c.name == name)
        .expect("a creator of that name");
    let mut b = tempkit::Builder::new();
    b.dir(&dir).prefix("reapme-");
    let mut held = (creator.create)(&b).expect("create");
    creators::write_to(&mut held, b"held when killed").unwrap();
    std::fs::write(ready.with_extension("tmp"), b"").unwrap();
    std::fs::rename(ready.with_extension("tmp"), &ready).unwrap();
    std::thread::sleep(common::CHILD_TIMEOUT);
    panic!("never killed");
}

#[test]
fn sigkill_leaves_no_unnamed_file_and_named_objects_keep_their_prefix() {
    for creator in creators::all() {
        let scratch = Scratch::new();
        let real = scratch.path().join("real");
        std::fs::create_dir(&real).unwrap();
        let link = scratch.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let dirs: Vec<PathBuf> = if creator.named_only_via_symlinked_dir {
            vec![real.clone(), link]
        } else {
            vec![real.clone()]
        };
        for d in &dirs {
            kill_while_holding(&creator, d);
            let left = common::list(&real);
            if creator.named {
                assert_eq!(left.len(), 1, "{}: {:?}", creator.name, left);
                assert!(
                    left[0].starts_with("reapme-"),
                    "{}: {:?}",
                    creator.name,
                    left
                );
                let path = real.join(&left[0]);
                if creator.is_dir {
                    std::fs::remove_dir(&path).unwrap();
                } else {
                    assert_eq!(std::fs::read(&path).unwrap(), b"held when killed");
                    std::fs::remove_file(&path).unwrap();
                }
            } else {
                assert!(
                    left.is_empty(),
                    "{} via {}: {:?}",
                    creator.name,
                    d.display(),
                    left
                );
            }
        }
    }
}
