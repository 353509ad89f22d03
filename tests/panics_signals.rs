//! Panics and signals: a panic unwinding through a scope removes every self-cleaning object
//! it held; a process killed with SIGKILL (no destructor runs) leaves no `TemporaryFile` or
//! rolled-over spooled file behind (they never had a name, or lost it at once), while the
//! named objects are left with their prefix, for a reaper to find (see SECURITY.md).

#![cfg(unix)] // for now

mod common;

use std::path::{Path, PathBuf};

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

/// Forks a child that creates one object with `creator` in `dir`, tells us, and waits to be
/// killed; kills it with SIGKILL once the object exists.
fn kill_while_holding(creator: &Creator, dir: &Path) {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    let (read_end, write_end) = (fds[0], fds[1]);
    // SAFETY: the child only creates the object, writes to the pipe and sleeps.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0);
    if pid == 0 {
        let _ = std::panic::catch_unwind(|| {
            let mut b = tempkit::Builder::new();
            b.dir(dir).prefix("reapme-");
            let mut held = (creator.create)(&b).expect("create");
            creators::write_to(&mut held, b"held when killed").unwrap();
            // SAFETY: writes one byte from a valid buffer to our pipe.
            assert_eq!(
                unsafe { libc::write(write_end, b"!".as_ptr().cast(), 1) },
                1
            );
            loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            }
        });
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(1) };
    }
    // SAFETY: closing our copy of the write end, so a child that dies early gives EOF.
    unsafe { libc::close(write_end) };
    let mut byte = [0u8; 1];
    // Bounded: a child stuck before it writes (or exits) fails the test instead of hanging it.
    let mut poll = libc::pollfd {
        fd: read_end,
        events: libc::POLLIN,
        revents: 0,
    };
    let timeout_ms = common::CHILD_TIMEOUT.as_millis() as i32;
    // SAFETY: polls one valid pollfd.
    let ready = unsafe { libc::poll(&mut poll, 1, timeout_ms) };
    let n = if ready == 1 {
        // SAFETY: reads into a valid one-byte buffer.
        unsafe { libc::read(read_end, byte.as_mut_ptr().cast(), 1) }
    } else {
        -1
    };
    // SAFETY: our own descriptor, closed once.
    unsafe { libc::close(read_end) };
    let status = common::kill_child(pid);
    assert!(libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGKILL);
    assert_eq!(
        n, 1,
        "{}: the child failed before holding its object",
        creator.name
    );
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
