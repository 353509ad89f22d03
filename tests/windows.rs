//! Windows behaviour, run under wine by `.ci/windows` (built with Rust 1.63): delete-on-close
//! unnamed files, sharing, the delete table, atomic no-clobber persist, removal of read-only
//! trees and of trees with files held open, owner-only directories, publishing (a durable
//! directory publish of read-only files, `replace` onto nothing).
//!
//! What wine cannot show (symlinks and junctions, ACL enforcement, POSIX delete) is listed in
//! SECURITY.md.

#![cfg(windows)]

mod common;

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::windows::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Barrier};
use std::time::{Duration, Instant};

use common::{list, Scratch};
use tempkit::{Builder, TemporaryDirectory};

/// `FILE_SHARE_READ | FILE_SHARE_WRITE`: how C's `fopen` and CPython's `open()` share, without
/// `FILE_SHARE_DELETE`.
const SHARE_READ_WRITE: u32 = 1 | 2;

/// `ERROR_SHARING_VIOLATION`.
const SHARING_VIOLATION: i32 = 32;

/// Opens `path` by name as another program would (std's default sharing: read, write, delete).
fn open_by_name(path: &Path) -> io::Result<File> {
    OpenOptions::new().read(true).write(true).open(path)
}

/// Opens `path` by name as C's `fopen` does: sharing read and write, not delete.
fn fopen(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .share_mode(SHARE_READ_WRITE)
        .open(path)
}

fn read_all(mut file: &File) -> Vec<u8> {
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0)).unwrap();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

/// Polls until `dir` is empty (the system closes a killed process's handles a moment after
/// it ends), for at most `secs` seconds; returns what is left.
fn wait_until_empty(dir: &Path, secs: u64) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let names = list(dir);
        if names.is_empty() || Instant::now() > deadline {
            return names;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn the_unnamed_file_cannot_be_opened_by_name_and_is_gone_after_drop() {
    let scratch = Scratch::new();
    let mut file = Builder::new()
        .prefix("unnamed-")
        .dir(scratch.path())
        .temporary_file()
        .unwrap();
    file.write_all(b"private").unwrap();
    assert_eq!(read_all(file.as_file()), b"private");
    // Windows shows the name while the file is open; nobody can open it.
    let names = scratch.names();
    assert_eq!(names.len(), 1, "{:?}", names);
    assert!(names[0].starts_with("unnamed-"), "{:?}", names);
    let path = scratch.path().join(&names[0]);
    for opened in [open_by_name(&path), fopen(&path), File::open(&path)] {
        let e = opened.expect_err("another handle was opened on the unnamed file");
        assert_eq!(e.raw_os_error(), Some(SHARING_VIOLATION), "{}", e);
    }
    assert!(std::fs::remove_file(&path).is_err());
    drop(file);
    assert_eq!(scratch.names(), Vec::<String>::new());
}

#[test]
fn a_spooled_file_rolls_over_to_an_unnamed_file() {
    let scratch = Scratch::new();
    let mut spooled = Builder::new().dir(scratch.path()).spooled_temporary_file(4);
    spooled.write_all(b"more than four").unwrap();
    assert!(spooled.is_rolled_over());
    let names = scratch.names();
    assert_eq!(names.len(), 1);
    let e = open_by_name(&scratch.path().join(&names[0])).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(SHARING_VIOLATION), "{}", e);
    let mut text = String::new();
    spooled.seek(SeekFrom::Start(0)).unwrap();
    spooled.read_to_string(&mut text).unwrap();
    assert_eq!(text, "more than four");
    drop(spooled);
    assert_eq!(scratch.names(), Vec::<String>::new());
}

/// The environment variable that makes [`child_holds_a_file`] act: the directory to create in.
const CHILD_DIR: &str = "TEMPKIT_TEST_CHILD_DIR";
/// What the child creates: `unnamed` (a `TemporaryFile`) or `named` (a `NamedTemporaryFile`).
const CHILD_KIND: &str = "TEMPKIT_TEST_CHILD_KIND";

/// Not a test of its own: the child process of
/// [`the_unnamed_file_is_gone_after_its_process_is_killed`], which runs this binary with
/// `--ignored --exact` and the variables above. It creates the file, says `ready`, and waits
/// to be killed.
#[test]
#[ignore]
fn child_holds_a_file() {
    let dir = PathBuf::from(std::env::var_os(CHILD_DIR).expect("run by the parent test only"));
    let builder = Builder::new().dir(&dir).clone();
    let _held: Box<dyn std::any::Any> = match std::env::var(CHILD_KIND).as_deref() {
        Ok("unnamed") => Box::new(builder.temporary_file().unwrap()),
        Ok("named") => Box::new(builder.named_temporary_file().unwrap()),
        other => panic!("unknown kind {:?}", other),
    };
    println!("ready");
    io::stdout().flush().unwrap();
    std::thread::sleep(Duration::from_secs(60));
}

/// Starts [`child_holds_a_file`] creating `kind` in `dir`, and waits (at most 60 s) until it
/// holds the file.
fn start_child(dir: &Path, kind: &str) -> Child {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["child_holds_a_file", "--exact", "--ignored", "--nocapture"])
        .env(CHILD_DIR, dir)
        .env(CHILD_KIND, kind)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let line = line.unwrap_or_default();
            if line.trim() == "ready" {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        common::kill_within(&mut child);
        panic!("the child did not become ready");
    }
    child
}

/// Kills `child` (TerminateProcess) and waits for it, bounded.
fn kill(mut child: Child) {
    common::kill_within(&mut child);
}

#[test]
fn the_unnamed_file_is_gone_after_its_process_is_killed() {
    let scratch = Scratch::new();
    let child = start_child(scratch.path(), "unnamed");
    let names = scratch.names();
    assert_eq!(names.len(), 1, "{:?}", names);
    assert!(open_by_name(&scratch.path().join(&names[0])).is_err());
    kill(child);
    assert_eq!(wait_until_empty(scratch.path(), 10), Vec::<String>::new());

    // The control: a named file, which only its drop deletes, stays after the kill.
    let control = Scratch::new();
    kill(start_child(control.path(), "named"));
    assert_eq!(wait_until_empty(control.path(), 2).len(), 1);
}

#[test]
fn a_named_file_is_reopened_by_name_by_other_programs_while_open() {
    let scratch = Scratch::new();
    let mut file = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    file.write_all(b"shared").unwrap();
    for other in [open_by_name(file.path()), fopen(file.path())] {
        assert_eq!(read_all(&other.unwrap()), b"shared");
    }
    // Written through another handle, read through ours.
    fopen(file.path()).unwrap().write_all(b"SH").unwrap();
    assert_eq!(read_all(file.as_file().unwrap()), b"SHared");
    // reopen(): a second handle through ReOpenFile, with its own position.
    let again = file.reopen().unwrap();
    assert_eq!(read_all(&again), b"SHared");
    let path = file.path().to_owned();
    drop(again);
    drop(file);
    assert!(!path.exists());
}

#[test]
fn reopen_while_open_goes_through_the_handle_not_the_name() {
    let scratch = Scratch::new();
    let mut file = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    file.write_all(b"mine").unwrap();
    // Someone moves the file away and puts another at its name.
    std::fs::rename(file.path(), scratch.path().join("moved")).unwrap();
    std::fs::write(file.path(), b"impostor").unwrap();
    // Windows reopens the file itself; wine looks the name up again, and the identity check
    // refuses what it finds. Never the impostor.
    match file.reopen() {
        Ok(again) => assert_eq!(read_all(&again), b"mine"),
        Err(e) => assert!(e.to_string().contains("another file"), "{}", e),
    }
}

#[test]
fn named_files_follow_the_delete_table() {
    let scratch = Scratch::new();
    let named = |delete: bool, delete_on_close: bool| {
        Builder::new()
            .dir(scratch.path())
            .delete(delete)
            .delete_on_close(delete_on_close)
            .named_temporary_file()
            .unwrap()
    };
    // delete, delete_on_close: close deletes.
    let mut file = named(true, true);
    file.close().unwrap();
    assert!(!file.path().exists());
    drop(file);
    // delete only: close keeps it (reopenable by name), drop deletes.
    let mut file = named(true, false);
    file.write_all(b"kept").unwrap();
    file.close().unwrap();
    assert_eq!(std::fs::read(file.path()).unwrap(), b"kept");
    assert_eq!(read_all(&file.reopen().unwrap()), b"kept");
    let path = file.path().to_owned();
    drop(file);
    assert!(!path.exists());
    // No delete: neither close nor drop deletes.
    for delete_on_close in [true, false] {
        let mut file = named(false, delete_on_close);
        file.close().unwrap();
        let path = file.path().to_owned();
        drop(file);
        assert!(path.exists());
        std::fs::remove_file(&path).unwrap();
    }
    // Deleted by someone else meanwhile: not an error.
    let mut file = named(true, true);
    std::fs::remove_file(file.path()).unwrap();
    file.close().unwrap();
    assert_eq!(scratch.names(), Vec::<String>::new());
}

/// A named file in `dir`, closed with `delete_on_close(false)`: its name stays.
fn closed_with_name_kept(dir: &Path) -> tempkit::NamedTemporaryFile {
    let mut file = Builder::new()
        .dir(dir)
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    file.close().unwrap();
    file
}

#[test]
fn reopen_after_close_refuses_a_file_swapped_in_at_the_name() {
    let scratch = Scratch::new();
    let file = closed_with_name_kept(scratch.path());
    file.reopen().unwrap();
    // Moved away (so that its file index stays in use), and another file put at the name.
    std::fs::rename(file.path(), scratch.path().join("moved")).unwrap();
    std::fs::write(file.path(), b"impostor").unwrap();
    let e = file.reopen().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::Other, "{}", e);
    assert!(e.to_string().contains("another file"), "{}", e);
    // Drop leaves the impostor alone.
    let path = file.path().to_owned();
    drop(file);
    assert_eq!(std::fs::read(&path).unwrap(), b"impostor");
}

#[test]
fn a_closed_file_written_by_name_is_still_recognised_as_ours() {
    let scratch = Scratch::new();
    let file = closed_with_name_kept(scratch.path());
    std::thread::sleep(Duration::from_millis(50));
    std::fs::write(file.path(), b"written by another program").unwrap();
    assert_eq!(
        read_all(&file.reopen().unwrap()),
        b"written by another program"
    );
    drop(file);
    assert_eq!(scratch.names(), Vec::<String>::new());
}

#[test]
fn persist_replaces_and_persist_noclobber_refuses() {
    let scratch = Scratch::new();
    let target = scratch.path().join("target");
    std::fs::write(&target, b"old").unwrap();
    let mut file = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    file.write_all(b"new").unwrap();
    let err = file.persist_noclobber(&target).unwrap_err();
    assert_eq!(err.error.kind(), io::ErrorKind::AlreadyExists, "{}", err);
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    let file = err.file;
    assert!(file.path().exists());
    let kept = file.persist(&target).unwrap();
    assert_eq!(read_all(&kept), b"new");
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    assert_eq!(scratch.names(), ["target"]);
}

#[test]
fn persist_noclobber_between_threads_has_exactly_one_winner() {
    const THREADS: usize = 8;
    let scratch = Scratch::new();
    for round in 0..20 {
        let target = scratch.path().join(format!("target-{}", round));
        let barrier = Arc::new(Barrier::new(THREADS));
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let (barrier, target) = (barrier.clone(), target.clone());
                let dir = scratch.path().to_owned();
                std::thread::spawn(move || {
                    let mut file = Builder::new().dir(&dir).named_temporary_file().unwrap();
                    write!(file, "thread {}", i).unwrap();
                    barrier.wait();
                    match file.persist_noclobber(&target) {
                        Ok(_) => Some(i),
                        Err(e) => {
                            assert_eq!(e.error.kind(), io::ErrorKind::AlreadyExists, "{}", e);
                            assert!(e.file.path().exists(), "the loser's file was lost");
                            None
                        }
                    }
                })
            })
            .collect();
        let winners: Vec<usize> = threads
            .into_iter()
            .filter_map(|t| t.join().unwrap())
            .collect();
        assert_eq!(winners.len(), 1, "round {}: {:?}", round, winners);
        let text = std::fs::read_to_string(&target).unwrap();
        assert_eq!(text, format!("thread {}", winners[0]));
    }
    // Only the targets are left: the losers' files were deleted on drop.
    assert_eq!(scratch.names().len(), 20);
}

/// Builds `root/a/b` with a read-only file in each and read-only directories.
fn read_only_tree(root: &Path) {
    let deep = root.join("a").join("b");
    std::fs::create_dir_all(&deep).unwrap();
    for dir in [root.to_path_buf(), root.join("a"), deep.clone()] {
        let file = dir.join("ro.txt");
        std::fs::write(&file, b"read-only").unwrap();
        std::fs::write(dir.join("rw.txt"), b"writable").unwrap();
        set_readonly(&file);
    }
    set_readonly(&deep);
    set_readonly(&root.join("a"));
}

fn set_readonly(path: &Path) {
    let mut permissions = std::fs::metadata(path).unwrap().permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(path, permissions).unwrap();
}

#[test]
fn a_tree_of_read_only_files_and_directories_is_removed() {
    let mut dir = TemporaryDirectory::new().unwrap();
    read_only_tree(dir.path());
    dir.cleanup().unwrap();
    assert!(!dir.path().exists());
    // Dropping one does it too.
    let dir = TemporaryDirectory::new().unwrap();
    read_only_tree(dir.path());
    let path = dir.path().to_owned();
    drop(dir);
    assert!(!path.exists());

    // The control: std's remove_dir_all (1.63, wine) fails on such a tree.
    let control = Scratch::new();
    read_only_tree(control.path());
    assert!(std::fs::remove_dir_all(control.path()).is_err());
}

#[test]
fn a_file_held_open_without_delete_sharing_fails_cleanup_naming_it_until_closed() {
    let mut dir = TemporaryDirectory::new().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let busy = sub.join("busy.txt");
    std::fs::write(&busy, b"in use").unwrap();
    std::fs::write(sub.join("other.txt"), b"free").unwrap();
    let held = fopen(&busy).unwrap();
    let e = dir.cleanup().unwrap_err();
    assert!(e.to_string().contains("busy.txt"), "{}", e);
    assert_eq!(std::fs::read(&busy).unwrap(), b"in use");
    // Everything else went.
    assert_eq!(list(&sub), ["busy.txt"]);
    drop(held);
    dir.cleanup().unwrap();
    assert!(!dir.path().exists());
}

#[test]
fn with_ignore_cleanup_errors_a_held_file_stays_for_a_later_cleanup() {
    let mut dir = Builder::new()
        .ignore_cleanup_errors(true)
        .temporary_directory()
        .unwrap();
    let busy = dir.path().join("busy.txt");
    std::fs::write(&busy, b"in use").unwrap();
    let held = fopen(&busy).unwrap();
    dir.cleanup().unwrap();
    assert!(busy.exists());
    drop(held);
    dir.cleanup().unwrap();
    assert!(!dir.path().exists());
}

/// The DACL of `path` as SDDL, as the system reports it.
fn dacl_of(path: &Path) -> String {
    use std::os::windows::ffi::OsStrExt;
    use windows_sys::Win32::Foundation::LocalFree;
    use windows_sys::Win32::Security::Authorization::{
        ConvertSecurityDescriptorToStringSecurityDescriptorW, GetNamedSecurityInfoW,
        SDDL_REVISION_1, SE_FILE_OBJECT,
    };
    use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;
    let wide: Vec<u16> = path.as_os_str().encode_wide().chain(Some(0)).collect();
    let mut sd = std::ptr::null_mut();
    // SAFETY: `wide` is NUL-terminated; only the descriptor is asked for (the other out
    // pointers may be null); it is freed with LocalFree below.
    let rc = unsafe {
        GetNamedSecurityInfoW(
            wide.as_ptr(),
            SE_FILE_OBJECT,
            DACL_SECURITY_INFORMATION,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &mut sd,
        )
    };
    assert_eq!(rc, 0, "GetNamedSecurityInfoW");
    let mut text = std::ptr::null_mut();
    let mut len = 0u32;
    // SAFETY: `sd` is the descriptor just returned; `text` receives a LocalAlloc'ed string of
    // `len` characters.
    let ok = unsafe {
        ConvertSecurityDescriptorToStringSecurityDescriptorW(
            sd,
            SDDL_REVISION_1,
            DACL_SECURITY_INFORMATION,
            &mut text,
            &mut len,
        )
    };
    assert_ne!(
        ok, 0,
        "ConvertSecurityDescriptorToStringSecurityDescriptorW"
    );
    // SAFETY: `text` points to `len` UTF-16 units (the last may be the NUL).
    let units = unsafe { std::slice::from_raw_parts(text, len as usize) };
    let sddl = String::from_utf16_lossy(units)
        .trim_end_matches('\0')
        .to_owned();
    // SAFETY: both were allocated by the calls above, which document LocalFree.
    unsafe {
        LocalFree(text as _);
        LocalFree(sd as _);
    }
    sddl
}

#[test]
fn private_directories_get_no_entry_for_everyone() {
    // Wine does not store the descriptor: it derives one from the Unix mode, which the owner-
    // only descriptor sets to 0750 (no "Everyone" entry) where a plain directory gets 0755
    // (read for Everyone, `WD`). The control shows the check can fail.
    let scratch = Scratch::new();
    let control = scratch.path().join("plain");
    std::fs::create_dir(&control).unwrap();
    assert!(
        dacl_of(&control).contains(";;;WD)"),
        "{}",
        dacl_of(&control)
    );
    let private = Builder::new().dir(scratch.path()).mkdtemp().unwrap();
    let dacl = dacl_of(&private);
    assert!(dacl.starts_with("D:"), "{}", dacl);
    assert!(!dacl.contains(";;;WD)"), "{}", dacl);
    let dir = Builder::new()
        .dir(scratch.path())
        .temporary_directory()
        .unwrap();
    assert!(!dacl_of(dir.path()).contains(";;;WD)"));
}

#[test]
fn private_directories_are_created_and_usable_by_their_owner() {
    let path = tempkit::mkdtemp().unwrap();
    let file = path.join("inside.txt");
    std::fs::write(&file, b"owner").unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), b"owner");
    std::fs::create_dir(path.join("sub")).unwrap();
    assert_eq!(list(&path), ["inside.txt", "sub"]);
    std::fs::remove_file(&file).unwrap();
    std::fs::remove_dir(path.join("sub")).unwrap();
    std::fs::remove_dir(&path).unwrap();

    let dir = TemporaryDirectory::new().unwrap();
    let mut nested = Builder::new().dir(dir.path()).mkstemp().unwrap().0;
    nested.write_all(b"ok").unwrap();
}

#[test]
fn gettempdir_follows_temp_when_tmpdir_is_unset() {
    let temp = match (std::env::var_os("TMPDIR"), std::env::var_os("TEMP")) {
        (None, Some(temp)) if !temp.is_empty() => PathBuf::from(temp),
        _ => panic!(".ci/windows runs the tests with TMPDIR unset and TEMP set"),
    };
    assert_eq!(tempkit::gettempdir().unwrap(), temp);
    assert!(temp.is_absolute());
}

#[test]
fn protect_and_reapable_are_no_ops_and_nothing_is_reaped() {
    let scratch = Scratch::new();
    let mut dir = Builder::new()
        .dir(scratch.path())
        .protect(true)
        .reapable(true)
        .temporary_directory()
        .unwrap();
    std::fs::write(dir.path().join("inside"), b"works").unwrap();
    let kept = Builder::new()
        .dir(scratch.path())
        .reapable(true)
        .mkdtemp()
        .unwrap();
    assert_eq!(
        tempkit::reap(scratch.path(), false).unwrap(),
        Vec::<PathBuf>::new()
    );
    assert!(kept.is_dir() && dir.path().join("inside").exists());
    dir.cleanup().unwrap();
    std::fs::remove_dir(&kept).unwrap();
    assert_eq!(scratch.names(), Vec::<String>::new());
}

#[test]
fn publishing_replaces_atomically_and_refuses_to_clobber() {
    let scratch = Scratch::new();
    let target = scratch.path().join("config.txt");
    tempkit::write_atomic(&target, b"first").unwrap();
    tempkit::write_atomic(&target, b"second").unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"second");
    // A read-only destination keeps its attribute.
    set_readonly(&target);
    let mut file = tempkit::AtomicFile::create(&target).unwrap();
    file.write_all(b"third").unwrap();
    file.commit().unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"third");
    assert!(std::fs::metadata(&target).unwrap().permissions().readonly());
    // No clobbering: refused, the destination untouched, nothing left behind.
    let mut file = tempkit::AtomicFile::create(&target).unwrap();
    file.write_all(b"fourth").unwrap();
    let e = file.commit_noclobber().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::AlreadyExists, "{}", e);
    assert!(!e.committed());
    drop(e);
    assert_eq!(std::fs::read(&target).unwrap(), b"third");
    assert_eq!(scratch.names(), ["config.txt"]);
    // persist_durable replaces.
    let mut named = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    named.write_all(b"durable").unwrap();
    let other = scratch.path().join("other.txt");
    named.persist_durable(&other).unwrap();
    assert_eq!(std::fs::read(&other).unwrap(), b"durable");
}

#[test]
fn a_directory_is_published_without_clobbering_and_exchange_says_it_cannot() {
    let scratch = Scratch::new();
    let dir = Builder::new()
        .dir(scratch.path())
        .temporary_directory()
        .unwrap();
    std::fs::write(dir.path().join("a"), b"a").unwrap();
    let to = scratch.path().join("published");
    let path = dir.persist_noclobber(&to).unwrap();
    assert_eq!(std::fs::read(path.join("a")).unwrap(), b"a");
    let dir = Builder::new()
        .dir(scratch.path())
        .temporary_directory()
        .unwrap();
    let err = dir.persist_noclobber(&to).unwrap_err();
    assert_eq!(
        err.error.kind(),
        io::ErrorKind::AlreadyExists,
        "{}",
        err.error
    );
    // No atomic exchange on Windows: an error that says so, the directory handed back.
    let err = err.dir.exchange(&to).unwrap_err();
    assert_eq!(
        err.error.kind(),
        io::ErrorKind::Unsupported,
        "{}",
        err.error
    );
    assert!(err.dir.path().is_dir());
    drop(err);
    assert_eq!(scratch.names(), ["published"]);
}

/// Whether `path` has the read-only attribute.
fn is_readonly(path: &Path) -> bool {
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .readonly()
}

/// Run by `.ci/windows` alone, with a wine server that lacks `CAP_DAC_OVERRIDE`: wine keeps
/// the read-only attribute as the Unix mode bits, which root ignores, so only without that
/// capability does a read-only file refuse to be opened for writing, as Windows refuses it.
#[test]
#[ignore]
fn a_tree_holding_read_only_files_is_published_durably_and_they_stay_read_only() {
    let scratch = Scratch::new();
    // The precondition, and the control: such a file cannot be opened for writing, which is
    // what a flush by path asks for.
    let control = scratch.path().join("control.txt");
    std::fs::write(&control, b"read-only").unwrap();
    set_readonly(&control);
    match OpenOptions::new().write(true).open(&control) {
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{}", e),
        Ok(_) => panic!(
            "a read-only file was opened for writing: run this test as .ci/windows does, \
             with wine's server started without CAP_DAC_OVERRIDE (setpriv)"
        ),
    }

    // Durable is the default: every file of the tree is flushed before the rename.
    let staged = Builder::new()
        .dir(scratch.path())
        .temporary_directory()
        .unwrap();
    read_only_tree(staged.path());
    let staged_path = staged.path().to_owned();
    let to = scratch.path().join("published");
    let published = staged.persist_noclobber(&to).unwrap();
    assert_eq!(
        std::fs::read(published.join("ro.txt")).unwrap(),
        b"read-only"
    );
    assert!(!staged_path.exists());
    for dir in [to.clone(), to.join("a"), to.join("a").join("b")] {
        assert_eq!(std::fs::read(dir.join("ro.txt")).unwrap(), b"read-only");
        assert_eq!(std::fs::read(dir.join("rw.txt")).unwrap(), b"writable");
        assert!(is_readonly(&dir.join("ro.txt")), "{}", dir.display());
        assert!(!is_readonly(&dir.join("rw.txt")), "{}", dir.display());
    }
    assert_eq!(list(&to), ["a", "ro.txt", "rw.txt"]);
    assert_eq!(scratch.names(), ["control.txt", "published"]);
}

#[test]
fn replace_onto_nothing_publishes_and_exchange_onto_nothing_is_not_found() {
    let scratch = Scratch::new();
    let staged_with = |v: &[u8]| {
        let staged = Builder::new()
            .dir(scratch.path())
            .temporary_directory()
            .unwrap();
        std::fs::write(staged.path().join("v"), v).unwrap();
        staged
    };
    // replace onto nothing is a plain no-clobber publish (durable: the default).
    let to = scratch.path().join("site");
    let staged = staged_with(b"1");
    let staged_path = staged.path().to_owned();
    let published = staged.replace(&to).unwrap();
    assert_eq!(std::fs::read(published.join("v")).unwrap(), b"1");
    assert_eq!(std::fs::read(to.join("v")).unwrap(), b"1");
    assert!(!staged_path.exists());
    assert_eq!(scratch.names(), ["site"]);
    // exchange needs something at `to`: NotFound, the directory handed back unchanged.
    let err = staged_with(b"2")
        .exchange(scratch.path().join("nothing"))
        .unwrap_err();
    assert_eq!(err.error.kind(), io::ErrorKind::NotFound, "{}", err.error);
    assert_eq!(std::fs::read(err.dir.path().join("v")).unwrap(), b"2");
    drop(err);
    // Over a tree there is still no atomic swap on Windows: refused, both trees untouched.
    let err = staged_with(b"3").replace(&to).unwrap_err();
    assert_eq!(
        err.error.kind(),
        io::ErrorKind::Unsupported,
        "{}",
        err.error
    );
    assert_eq!(std::fs::read(err.dir.path().join("v")).unwrap(), b"3");
    assert_eq!(std::fs::read(to.join("v")).unwrap(), b"1");
    drop(err);
    assert_eq!(scratch.names(), ["site"]);
}

/// 30 characters, a name component of the deep tree.
const LONG_NAME: &str = "abcdefghijklmnopqrstuvwxyz0123";

#[test]
fn a_tree_40_levels_deep_is_created_written_published_reopened_and_removed() {
    let mut root = TemporaryDirectory::new().unwrap();
    let mut deep = root.path().to_path_buf();
    for _ in 0..40 {
        deep.push(LONG_NAME);
    }
    assert!(deep.as_os_str().len() > 40 * 31, "{}", deep.display());
    std::fs::create_dir_all(&deep).unwrap();
    // Created: a directory (CreateDirectoryW) and a named file.
    let sub = Builder::new().dir(&deep).temporary_directory().unwrap();
    assert!(sub.path().is_dir());
    let mut named = Builder::new()
        .dir(&deep)
        .delete_on_close(false)
        .named_temporary_file()
        .unwrap();
    // Written, and reopened through the handle and, after close, by name.
    named.write_all(b"deep").unwrap();
    assert_eq!(read_all(&named.reopen().unwrap()), b"deep");
    named.close().unwrap();
    assert_eq!(read_all(&named.reopen().unwrap()), b"deep");
    // Published: persisted (MoveFileExW), persisted without replacing, written atomically
    // (replacing) and as a directory.
    let kept = deep.join("kept.txt");
    named.persist(&kept).unwrap();
    assert_eq!(std::fs::read(&kept).unwrap(), b"deep");
    let mut again = Builder::new().dir(&deep).named_temporary_file().unwrap();
    again.write_all(b"again").unwrap();
    let e = again.persist_noclobber(&kept).unwrap_err();
    assert_eq!(e.error.kind(), io::ErrorKind::AlreadyExists, "{}", e.error);
    e.file.persist_noclobber(deep.join("free.txt")).unwrap();
    tempkit::write_atomic(&kept, b"replaced").unwrap();
    assert_eq!(std::fs::read(&kept).unwrap(), b"replaced");
    std::fs::write(sub.path().join("inside"), b"inside").unwrap();
    let published = deep.join("published");
    sub.persist_noclobber(&published).unwrap();
    assert_eq!(std::fs::read(published.join("inside")).unwrap(), b"inside");
    // Removed: the whole tree, from the top.
    let top = root.path().to_path_buf();
    root.cleanup().unwrap();
    assert!(!top.exists());
}

#[test]
fn a_read_only_named_file_is_deleted_on_drop_and_on_close() {
    let scratch = Scratch::new();
    let named = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    set_readonly(named.path());
    assert!(std::fs::metadata(named.path())
        .unwrap()
        .permissions()
        .readonly());
    // The control: a deletion by name is refused (access denied, 5).
    assert_eq!(
        std::fs::remove_file(named.path())
            .unwrap_err()
            .raw_os_error(),
        Some(5)
    );
    drop(named);
    assert_eq!(scratch.names(), Vec::<String>::new());
    let mut named = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    set_readonly(named.path());
    named.close().unwrap();
    assert_eq!(scratch.names(), Vec::<String>::new());
}

#[test]
fn persist_onto_a_read_only_destination_replaces_it() {
    let scratch = Scratch::new();
    let target = scratch.path().join("target.txt");
    std::fs::write(&target, b"old").unwrap();
    set_readonly(&target);
    let mut named = Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    named.write_all(b"new").unwrap();
    named.persist(&target).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"new");
    // The file keeps its own attributes, as on Unix it keeps its own mode.
    assert!(!std::fs::metadata(&target).unwrap().permissions().readonly());
    assert_eq!(scratch.names(), ["target.txt"]);
}
