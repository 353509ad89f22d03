//! NamedTemporaryFile and PersistError: CPython's TestNamedTemporaryFile ported (the
//! delete/delete_on_close table, multiple close, manual deletion), plus reopen, persist,
//! persist_noclobber (also racing and across file systems) and keep.
// Tests may use the current toolchain (only the library keeps to Rust 1.63).
#![allow(clippy::incompatible_msrv)]

mod common;

use std::io::{self, Read, Seek, SeekFrom, Write};
#[cfg(unix)]
use std::os::unix::fs::MetadataExt;
#[cfg(unix)]
use std::os::unix::io::AsRawFd;
use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;

#[cfg(unix)]
use common::child::{child_args, Child};
use common::Scratch;
#[cfg(unix)]
use common::{assert_empty, list, mode};
use tempkit::{Builder, NamedTemporaryFile, PersistError};

const _: () = {
    fn send_sync<T: Send + Sync>() {}
    #[allow(dead_code)]
    fn check() {
        send_sync::<NamedTemporaryFile>();
        send_sync::<PersistError>();
    }
};

fn builder(dir: &Path) -> Builder {
    let mut b = Builder::new();
    b.dir(dir);
    b
}

fn named(dir: &Path) -> NamedTemporaryFile {
    builder(dir).named_temporary_file().unwrap()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_owned()
}

#[cfg(unix)]
fn inode(meta: &std::fs::Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

#[test]
fn basic_names_follow_prefix_random_suffix() {
    let scratch = Scratch::new();
    for (prefix, suffix) in [("", ""), ("pre", ""), ("", ".suf"), ("pre", ".suf")] {
        let file = builder(scratch.path())
            .prefix(prefix)
            .suffix(suffix)
            .named_temporary_file();
        let file = file.unwrap();
        let name = file_name(file.path());
        assert!(file.path().is_absolute());
        assert_eq!(file.path().parent(), Some(scratch.path()));
        let expected_prefix = if prefix.is_empty() && suffix.is_empty() {
            ""
        } else {
            prefix
        };
        assert!(
            name.starts_with(expected_prefix) && name.ends_with(suffix),
            "{}",
            name
        );
        let random = &name[prefix.len()..name.len() - suffix.len()];
        assert_eq!(random.len(), 8, "{}", name);
        assert!(random
            .bytes()
            .all(|c| b"abcdefghijklmnopqrstuvwxyz0123456789_".contains(&c)));
    }
    // The default prefix is "tmp".
    assert!(file_name(named(scratch.path()).path()).starts_with("tmp"));
}

#[test]
#[cfg(unix)]
fn creates_named_private_close_on_exec_file() {
    let scratch = Scratch::new();
    let file = named(scratch.path());
    assert!(file.path().is_file());
    assert_eq!(mode(file.path()), 0o600);
    assert_eq!(scratch.names(), [file_name(file.path())]);
    // SAFETY: F_GETFD on a descriptor we own.
    let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFD) };
    assert!(flags >= 0 && flags & libc::FD_CLOEXEC != 0);
}

#[test]
fn round_trip_through_value_and_shared_reference() {
    let scratch = Scratch::new();
    let mut file = named(scratch.path());
    file.write_all(b"one\r\ntwo\n").unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut back = String::new();
    file.read_to_string(&mut back).unwrap();
    assert_eq!(back, "one\r\ntwo\n");
    let shared = &file;
    (&*shared).seek(SeekFrom::End(0)).unwrap();
    (&*shared).write_all(b"three").unwrap();
    (&*shared).flush().unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"one\r\ntwo\nthree"); // AsRef<Path>
}

#[test]
fn del_on_close_drop_deletes() {
    let scratch = Scratch::new();
    let file = named(scratch.path());
    let path = file.path().to_owned();
    assert!(path.exists());
    drop(file);
    assert!(!path.exists());
    assert!(scratch.names().is_empty());
}

#[test]
fn close_deletes_by_default_and_io_after_close_fails() {
    let scratch = Scratch::new();
    let mut file = named(scratch.path());
    file.write_all(b"x").unwrap();
    file.close().unwrap();
    assert!(file.is_closed());
    assert!(scratch.names().is_empty());
    assert!(file.as_file().is_err());
    assert!(file.as_file_mut().is_err());
    let err = file.write(b"more").unwrap_err();
    assert!(err.to_string().contains("closed"), "{}", err);
    assert!(file.read(&mut [0u8; 4]).is_err());
    assert!(file.seek(SeekFrom::Start(0)).is_err());
    assert!((&file).read(&mut [0u8; 4]).is_err());
    #[cfg(unix)]
    assert_eq!(file.as_raw_fd(), -1);
    drop(file);
    assert!(scratch.names().is_empty());
}

#[test]
#[cfg(unix)]
fn as_fd_after_close_panics_instead_of_lying() {
    use std::os::unix::io::AsFd;
    let scratch = Scratch::new();
    let mut file = named(scratch.path());
    file.close().unwrap();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = file.as_fd();
    }));
    assert!(outcome.is_err());
}

#[test]
fn multiple_close_is_harmless() {
    let scratch = Scratch::new();
    for delete_on_close in [true, false] {
        let mut file = builder(scratch.path())
            .delete_on_close(delete_on_close)
            .named_temporary_file();
        let file = file.as_mut().unwrap();
        file.close().unwrap();
        file.close().unwrap();
        file.close().unwrap();
        assert_eq!(file.path().exists(), !delete_on_close);
    }
    assert!(scratch.names().is_empty());
}

#[test]
fn not_deleted_on_close_if_delete_on_close_false_but_on_drop() {
    let scratch = Scratch::new();
    let mut file = builder(scratch.path())
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    file.write_all(b"kept until drop").unwrap();
    file.close().unwrap();
    let path = file.path().to_owned();
    // Reopened by name meanwhile, as the option is meant for.
    assert_eq!(std::fs::read(&path).unwrap(), b"kept until drop");
    drop(file);
    assert!(!path.exists());
    assert!(scratch.names().is_empty());
}

#[test]
fn del_by_drop_when_never_closed_and_delete_on_close_false() {
    let scratch = Scratch::new();
    let file = builder(scratch.path())
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    assert_eq!(scratch.names().len(), 1);
    drop(file);
    assert!(scratch.names().is_empty());
}

#[test]
fn not_deleted_if_delete_false_whatever_delete_on_close() {
    let scratch = Scratch::new();
    for delete_on_close in [true, false] {
        let mut file = builder(scratch.path())
            .delete(false)
            .delete_on_close(delete_on_close)
            .named_temporary_file()
            .unwrap();
        file.write_all(b"survivor").unwrap();
        let path = file.path().to_owned();
        file.close().unwrap();
        assert!(path.exists());
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"survivor");
        std::fs::remove_file(&path).unwrap();
    }
    // Dropped without close too.
    let file = builder(scratch.path())
        .delete(false)
        .named_temporary_file()
        .unwrap();
    let path = file.path().to_owned();
    drop(file);
    assert!(path.exists());
}

#[test]
fn ok_to_delete_manually_before_close_or_drop() {
    let scratch = Scratch::new();
    // Removed inside the scope, then dropped.
    let file = named(scratch.path());
    std::fs::remove_file(file.path()).unwrap();
    drop(file);
    // Removed, then closed (which deletes): not an error.
    let mut file = named(scratch.path());
    std::fs::remove_file(file.path()).unwrap();
    file.close().unwrap();
    // delete_on_close(false): closed, removed by someone else, then dropped.
    let mut file = builder(scratch.path())
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    file.close().unwrap();
    std::fs::remove_file(file.path()).unwrap();
    drop(file);
    assert!(scratch.names().is_empty());
}

#[test]
#[cfg_attr(
    windows,
    ignore = "wine's file index is the inode number, which the replacement may reuse"
)]
fn a_name_taken_by_someone_else_after_deletion_is_left_alone() {
    let scratch = Scratch::new();
    // close() deleted it; a new file appears under the same name; drop must not touch it.
    let mut file = named(scratch.path());
    file.close().unwrap();
    std::fs::write(file.path(), b"someone else's").unwrap();
    let path = file.path().to_owned();
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), b"someone else's");
    std::fs::remove_file(&path).unwrap();
    // Closed with the name kept; the name is replaced by another file; drop leaves it.
    let mut file = builder(scratch.path())
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    file.close().unwrap();
    let path = file.path().to_owned();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"replacement").unwrap();
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), b"replacement");
}

#[test]
fn failed_creation_leaves_nothing() {
    let scratch = Scratch::new();
    for delete in [true, false] {
        let err = builder(scratch.path())
            .prefix("a/b")
            .delete(delete)
            .named_temporary_file();
        assert_eq!(err.unwrap_err().kind(), io::ErrorKind::InvalidInput);
    }
    let missing = scratch.path().join("missing");
    let err = builder(&missing).named_temporary_file().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{}",
        err
    );
    // Every name taken: AlreadyExists, and the file that holds the name is untouched.
    std::fs::write(scratch.path().join("fixed"), b"mine").unwrap();
    let err = builder(scratch.path())
        .prefix("fixed")
        .random_len(0)
        .delete(false)
        .named_temporary_file()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
    assert_eq!(
        std::fs::read(scratch.path().join("fixed")).unwrap(),
        b"mine"
    );
    assert_eq!(scratch.names(), ["fixed"]);
}

#[test]
#[cfg(unix)]
fn unwritable_dir_is_permission_denied_and_leaves_nothing() {
    // Root ignores the directory's mode: the creation runs as nobody.
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::new();
    std::fs::set_permissions(
        scratch.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    Child::new("child_is_refused_in_an_unwritable_dir")
        .arg(scratch.path())
        .as_nobody()
        .assert_passes();
    assert!(scratch.names().is_empty());
}

/// The child of [`unwritable_dir_is_permission_denied_and_leaves_nothing`], as nobody.
#[test]
#[ignore]
#[cfg(unix)]
fn child_is_refused_in_an_unwritable_dir() {
    let dir = &child_args()[0];
    let err = Builder::new()
        .dir(dir)
        .delete(false)
        .named_temporary_file()
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{}", err);
}

#[test]
#[cfg(unix)]
fn reopen_is_a_second_handle_to_the_same_inode() {
    let scratch = Scratch::new();
    let mut file = named(scratch.path());
    file.write_all(b"first").unwrap();
    let mut again = file.reopen().unwrap();
    assert_eq!(
        inode(&again.metadata().unwrap()),
        inode(&file.as_file().unwrap().metadata().unwrap())
    );
    // Its own position: it starts at 0 while the original sits at 5.
    let mut text = String::new();
    again.read_to_string(&mut text).unwrap();
    assert_eq!(text, "first");
    again.write_all(b"+second").unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    text.clear();
    file.read_to_string(&mut text).unwrap();
    assert_eq!(text, "first+second");
}

#[test]
#[cfg(unix)] // compares inode numbers (tests/windows.rs covers Windows)
fn reopen_after_close_while_the_file_stays() {
    let scratch = Scratch::new();
    let mut file = builder(scratch.path())
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    file.write_all(b"closed").unwrap();
    let id = inode(&file.as_file().unwrap().metadata().unwrap());
    file.close().unwrap();
    let mut again = file.reopen().unwrap();
    assert_eq!(inode(&again.metadata().unwrap()), id);
    let mut text = String::new();
    again.read_to_string(&mut text).unwrap();
    assert_eq!(text, "closed");
    // Closed and deleted: NotFound.
    let mut gone = named(scratch.path());
    gone.close().unwrap();
    assert_eq!(gone.reopen().unwrap_err().kind(), io::ErrorKind::NotFound);
}

#[test]
#[cfg(unix)]
fn reopen_refuses_a_replaced_name() {
    let scratch = Scratch::new();
    let file = named(scratch.path());
    let path = file.path().to_owned();
    // Replaced by another file.
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, b"impostor").unwrap();
    let err = file.reopen().unwrap_err();
    assert!(err.to_string().contains("another file"), "{}", err);
    // Replaced by a symlink to the impostor: never followed.
    let impostor = scratch.path().join("impostor");
    std::fs::rename(&path, &impostor).unwrap();
    std::os::unix::fs::symlink(&impostor, &path).unwrap();
    let err = file.reopen().unwrap_err();
    assert_eq!(err.raw_os_error(), None);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{}",
        err
    );
    assert_eq!(std::fs::read(&impostor).unwrap(), b"impostor");
}

#[cfg(unix)]
#[test]
fn reopen_refuses_a_symlink_to_the_same_file() {
    // The inode check cannot see this one: the link leads to the very file. Only O_NOFOLLOW
    // refuses it (ELOOP), open or closed with the name kept.
    let scratch = Scratch::new();
    for close_first in [false, true] {
        let mut file = builder(scratch.path())
            .delete_on_close(false)
            .named_temporary_file()
            .unwrap();
        file.write_all(b"ours").unwrap();
        if close_first {
            file.close().unwrap();
        }
        let path = file.path().to_owned();
        let moved = scratch.path().join("moved");
        std::fs::rename(&path, &moved).unwrap();
        std::os::unix::fs::symlink(&moved, &path).unwrap();
        // Control: following the link does reach the same file.
        assert_eq!(std::fs::read(&path).unwrap(), b"ours");
        let err = file.reopen().unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{}",
            err
        );
        assert!(!err.to_string().contains("another file"), "{}", err);
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_file(&moved).unwrap();
        drop(file);
    }
    assert_empty(scratch.path());
}

#[cfg(unix)]
#[test]
fn persist_and_keep_after_close_refuse_a_replaced_name() {
    // Closed with the name kept, then the name is given to another file: persist,
    // persist_noclobber and keep must not adopt it (the identity recorded at close).
    let scratch = Scratch::new();
    let target = scratch.path().join("target");
    type Finish = fn(NamedTemporaryFile, &Path) -> io::Result<()>;
    let finishers: [(&str, Finish); 3] = [
        ("persist", |f, to| {
            f.persist(to).map(drop).map_err(|e| e.error)
        }),
        ("persist_noclobber", |f, to| {
            f.persist_noclobber(to).map(drop).map_err(|e| e.error)
        }),
        ("keep", |f, _| f.keep().map(drop)),
    ];
    for (what, finish) in finishers {
        let mut file = builder(scratch.path())
            .delete_on_close(false)
            .named_temporary_file()
            .unwrap();
        file.write_all(b"ours").unwrap();
        file.close().unwrap();
        let path = file.path().to_owned();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"impostor").unwrap();
        let err = finish(file, &target).unwrap_err();
        assert!(
            err.to_string().contains("another file"),
            "{}: {}",
            what,
            err
        );
        assert!(!target.exists(), "{}: the impostor was moved", what);
        assert_eq!(std::fs::read(&path).unwrap(), b"impostor", "{}", what);
        std::fs::remove_file(&path).unwrap();
    }
    assert_empty(scratch.path());
}

#[cfg(unix)]
#[test]
fn a_new_file_under_a_reused_inode_number_is_not_taken_for_ours() {
    // Closed with the name kept, then deleted by someone else, who creates files at the name
    // until one gets our old inode number (ext4 reuses a freed number at once). Device and
    // inode are then equal: only the birth time tells the newcomer from our file. The scratch
    // directory is on the build's file system (cargo's target tmp), not a possible tmpfs,
    // whose inode numbers are never reused.
    let base = Path::new(env!("CARGO_TARGET_TMPDIR"));
    let scratch = builder(base)
        .prefix("reuse-")
        .temporary_directory()
        .unwrap();
    let mut file = builder(scratch.path())
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    file.write_all(b"ours").unwrap();
    let ours = inode(&file.as_file().unwrap().metadata().unwrap());
    file.close().unwrap();
    let path = file.path().to_owned();
    std::fs::remove_file(&path).unwrap();
    let mut reused = false;
    for attempt in 0..100 {
        std::fs::write(&path, b"impostor").unwrap();
        if inode(&std::fs::metadata(&path).unwrap()) == ours {
            reused = true;
            break;
        }
        // Keep the wrong one aside (its number stays taken) and try again.
        std::fs::rename(&path, scratch.path().join(format!("aside-{}", attempt))).unwrap();
    }
    if !reused {
        eprintln!("skipped: the file system did not reuse the inode number");
        return;
    }
    let err = file.reopen().unwrap_err();
    assert!(err.to_string().contains("another file"), "{}", err);
    drop(file);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"impostor",
        "drop deleted it"
    );
}

#[test]
#[cfg(unix)] // compares inode numbers (tests/windows.rs covers Windows)
fn persist_keeps_contents_and_replaces_the_target() {
    let scratch = Scratch::new();
    let target = scratch.path().join("target.txt");
    std::fs::write(&target, b"old contents").unwrap();
    let mut file = named(scratch.path());
    file.write_all(b"new contents").unwrap();
    let temp = file.path().to_owned();
    let id = inode(&file.as_file().unwrap().metadata().unwrap());
    let mut persisted = file.persist(&target).unwrap();
    assert!(!temp.exists());
    assert_eq!(inode(&std::fs::metadata(&target).unwrap()), id);
    assert_eq!(std::fs::read(&target).unwrap(), b"new contents");
    persisted.write_all(b" and more").unwrap();
    drop(persisted);
    assert_eq!(std::fs::read(&target).unwrap(), b"new contents and more");
    assert_eq!(scratch.names(), ["target.txt"]);
}

#[test]
fn persist_after_close_with_the_name_kept() {
    let scratch = Scratch::new();
    let mut file = builder(scratch.path())
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    file.write_all(b"closed first").unwrap();
    file.close().unwrap();
    let target = scratch.path().join("out");
    let mut persisted = file.persist(&target).unwrap();
    let mut text = String::new();
    persisted.read_to_string(&mut text).unwrap();
    assert_eq!(text, "closed first");
    assert_eq!(scratch.names(), ["out"]);
}

#[test]
fn persist_noclobber_onto_an_existing_file_fails_and_both_are_intact() {
    let scratch = Scratch::new();
    let target = scratch.path().join("taken");
    std::fs::write(&target, b"original").unwrap();
    let mut file = named(scratch.path());
    file.write_all(b"temporary").unwrap();
    let temp = file.path().to_owned();
    let err = file.persist_noclobber(&target).unwrap_err();
    assert_eq!(err.error.kind(), io::ErrorKind::AlreadyExists);
    let text = err.to_string();
    assert!(text.contains(&temp.display().to_string()), "{}", text);
    assert!(text.contains(&target.display().to_string()), "{}", text);
    assert_eq!(std::fs::read(&target).unwrap(), b"original");
    assert_eq!(std::fs::read(&temp).unwrap(), b"temporary");
    // The file comes back usable and still temporary.
    let mut file = err.file;
    assert_eq!(file.path(), temp);
    file.write_all(b"+more").unwrap();
    assert_eq!(std::fs::read(&temp).unwrap(), b"temporary+more");
    drop(file);
    assert!(!temp.exists());
    assert_eq!(scratch.names(), ["taken"]);
}

#[test]
fn persist_noclobber_to_a_free_name() {
    let scratch = Scratch::new();
    let mut file = named(scratch.path());
    file.write_all(b"moved").unwrap();
    let target = scratch.path().join("free");
    drop(file.persist_noclobber(&target).unwrap());
    assert_eq!(std::fs::read(&target).unwrap(), b"moved");
    assert_eq!(scratch.names(), ["free"]);
}

#[test]
fn persist_noclobber_race_has_exactly_one_winner() {
    let scratch = Scratch::new();
    let target = scratch.path().join("contended");
    for round in 0..20 {
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let threads: Vec<_> = (0..4u8)
            .map(|i| {
                let mut file = named(scratch.path());
                file.write_all(&[b'0' + i; 16]).unwrap();
                let (barrier, target) = (barrier.clone(), target.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    match file.persist_noclobber(&target) {
                        Ok(_) => Some(i),
                        Err(e) => {
                            assert_eq!(e.error.kind(), io::ErrorKind::AlreadyExists);
                            assert_eq!(std::fs::read(e.file.path()).unwrap(), [b'0' + i; 16]);
                            None
                        }
                    }
                })
            })
            .collect();
        let winners: Vec<u8> = threads
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(winners.len(), 1, "round {}", round);
        assert_eq!(std::fs::read(&target).unwrap(), [b'0' + winners[0]; 16]);
        assert_eq!(scratch.names(), ["contended"]);
        std::fs::remove_file(&target).unwrap();
    }
}

#[cfg(unix)]
#[test]
fn persist_noclobber_race_has_exactly_one_winner_on_the_link_fallback() {
    // The race again, with every `renameat2` failing with EINVAL as on a file system without
    // RENAME_NOREPLACE (strace): each persist_noclobber goes through link + unlink.
    let trace = common::trace::rerun_passing(
        "persist_noclobber_race_has_exactly_one_winner",
        &[
            "-e",
            "trace=renameat2,link,linkat",
            "-e",
            "inject=renameat2:error=EINVAL",
        ],
        Path::new(""),
    );
    let calls = |name: &str| trace.lines().filter(|l| l.contains(name)).count();
    assert_eq!(
        calls("renameat2("),
        trace.matches("(INJECTED)").count(),
        "a renameat2 was not made to fail:\n{}",
        trace
    );
    assert!(
        calls("link") >= 4 * 20,
        "the fallback was not taken:\n{}",
        trace
    );
}

/// A directory on `/dev/shm`, which is a different file system from the default temporary
/// directory on the reference machine.
#[cfg(unix)]
fn other_file_system() -> (PathBuf, tempkit::NamedTemporaryFile) {
    let shm = Builder::new()
        .dir("/dev/shm")
        .prefix("tempkit-test-")
        .mkdtemp()
        .unwrap();
    let file = NamedTemporaryFile::new().unwrap();
    assert_ne!(
        std::fs::metadata(&shm).unwrap().dev(),
        std::fs::metadata(file.path()).unwrap().dev(),
        "the test needs the default temp dir and /dev/shm on different file systems"
    );
    (shm, file)
}

#[test]
#[cfg(unix)]
fn persist_across_file_systems_hands_the_file_back_intact() {
    for noclobber in [false, true] {
        let (shm, mut file) = other_file_system();
        file.write_all(b"precious data").unwrap();
        let temp = file.path().to_owned();
        let target = shm.join("target");
        let err = if noclobber {
            file.persist_noclobber(&target).unwrap_err()
        } else {
            file.persist(&target).unwrap_err()
        };
        assert_eq!(err.error.kind(), io::ErrorKind::CrossesDevices);
        assert!(!target.exists());
        let mut file = err.file;
        assert_eq!(file.path(), temp);
        assert_eq!(std::fs::read(&temp).unwrap(), b"precious data");
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "precious data");
        // Converted to io::Error, the kind stays.
        let err = file.persist(&target).unwrap_err();
        let as_io: io::Error = err.into();
        assert_eq!(as_io.kind(), io::ErrorKind::CrossesDevices);
        assert!(!temp.exists(), "dropping the handed-back file deletes it");
        assert!(list(&shm).is_empty());
        std::fs::remove_dir(&shm).unwrap();
    }
}

#[test]
fn persist_after_close_and_delete_fails_without_losing_the_object() {
    let scratch = Scratch::new();
    let mut file = named(scratch.path());
    file.close().unwrap();
    let err = file.persist(scratch.path().join("nowhere")).unwrap_err();
    assert_eq!(err.error.kind(), io::ErrorKind::NotFound);
    assert!(err.file.is_closed());
    assert!(scratch.names().is_empty());
}

#[test]
fn keep_disarms_and_contents_survive() {
    let scratch = Scratch::new();
    let mut file = named(scratch.path());
    file.write_all(b"kept").unwrap();
    let (mut kept, path) = file.keep().unwrap();
    kept.write_all(b" forever").unwrap();
    drop(kept);
    assert_eq!(std::fs::read(&path).unwrap(), b"kept forever");
    assert_eq!(scratch.names(), [file_name(&path)]);
    std::fs::remove_file(&path).unwrap();

    // After close, while the name stays.
    let mut file = builder(scratch.path())
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    file.write_all(b"closed then kept").unwrap();
    file.close().unwrap();
    let (mut kept, path) = file.keep().unwrap();
    let mut text = String::new();
    kept.read_to_string(&mut text).unwrap();
    assert_eq!(text, "closed then kept");
    assert!(path.exists());
    // Closed first: Windows keeps the name of a deleted file until its last handle closes.
    drop(kept);
    std::fs::remove_file(&path).unwrap();

    // After close deleted it: NotFound, and nothing appears.
    let mut file = named(scratch.path());
    file.close().unwrap();
    assert_eq!(file.keep().unwrap_err().kind(), io::ErrorKind::NotFound);
    assert!(scratch.names().is_empty());
}

#[test]
fn debug_shows_the_path() {
    let scratch = Scratch::new();
    let file = named(scratch.path());
    let text = format!("{:?}", file);
    assert!(text.starts_with("NamedTemporaryFile"), "{}", text);
    assert!(text.contains(&format!("{:?}", file.path())), "{}", text);
}

#[test]
fn persist_error_display_debug_and_source() {
    use std::error::Error;
    let scratch = Scratch::new();
    let file = named(scratch.path());
    let target = scratch.path().join("no").join("such");
    let err = file.persist(&target).unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains(&target.display().to_string()), "{}", shown);
    assert!(
        shown.contains(&err.file.path().display().to_string()),
        "{}",
        shown
    );
    assert!(format!("{:?}", err).contains("PersistError"));
    // The cause is printed once: by Display, not again as a source.
    assert!(err.source().is_none());
}

#[test]
#[cfg(unix)]
fn shared_between_threads() {
    let scratch = Scratch::new();
    let file = std::sync::Arc::new(named(scratch.path()));
    let threads: Vec<_> = (0..4u8)
        .map(|i| {
            let file = file.clone();
            std::thread::spawn(move || {
                use std::os::unix::fs::FileExt;
                file.as_file()
                    .unwrap()
                    .write_all_at(&[b'a' + i; 2], u64::from(i) * 2)
                    .unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(std::fs::read(file.path()).unwrap(), b"aabbccdd");
}

#[test]
#[cfg(unix)]
fn close_reports_a_failed_delete_and_still_closes() {
    use common::append_only::{open_descriptors_of, AppendOnly};
    let scratch = Scratch::new();
    let mut file = named(scratch.path());
    let path = file.path().to_owned();
    let guard = AppendOnly::new(scratch.path());
    let err = file.close().unwrap_err();
    assert!(file.is_closed());
    assert_eq!(open_descriptors_of(&path), 0);
    // Drop does not try again (the name may belong to someone else by then).
    drop(file);
    assert!(path.exists());
    drop(guard);
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{}", err);
    assert!(
        err.to_string().contains(&path.display().to_string()),
        "{}",
        err
    );
    // A drop while the directory refuses deletion is silent: no panic, the file stays.
    let file = named(scratch.path());
    let guard = AppendOnly::new(scratch.path());
    drop(file);
    drop(guard);
    assert_eq!(scratch.names().len(), 2);
}
