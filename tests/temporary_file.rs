//! TemporaryFile: CPython's TestTemporaryFile ported, plus both creation paths (unnamed
//! `O_TMPFILE`, and a named file unlinked at once) observed from the outside.
// Tests may use the current toolchain (only the library keeps to Rust 1.63).
#![allow(clippy::incompatible_msrv)]

mod common;

#[cfg(unix)]
use std::io;
use std::io::{Read, Seek, SeekFrom, Write};
#[cfg(unix)]
use std::os::unix::fs::{symlink, MetadataExt, OpenOptionsExt};
#[cfg(unix)]
use std::os::unix::io::AsRawFd;
#[cfg(unix)]
use std::path::Path;

#[cfg(unix)]
use common::append_only::{open_descriptors_of, AppendOnly};
#[cfg(unix)]
use common::child::{child_args, Child};
#[cfg(unix)]
use common::{list, Scratch};
#[cfg(unix)]
use tempkit::Builder;
use tempkit::TemporaryFile;

const _: () = {
    fn send_sync<T: Send + Sync>() {}
    #[allow(dead_code)]
    fn check() {
        send_sync::<TemporaryFile>();
    }
};

#[cfg(unix)]
fn in_dir(dir: &Path) -> io::Result<TemporaryFile> {
    Builder::new().prefix("fallback-").dir(dir).temporary_file()
}

/// What `/proc/self/fd/N` says the descriptor refers to.
#[cfg(unix)]
fn link_text(file: &TemporaryFile) -> String {
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
        .expect("readlink /proc/self/fd")
        .to_string_lossy()
        .into_owned()
}

fn round_trip(mut file: TemporaryFile) {
    file.write_all(b"abc\r\ndef\n").unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut back = Vec::new();
    file.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"abc\r\ndef\n");
    // The same through a shared reference.
    let shared = &file;
    (&*shared).seek(SeekFrom::Start(5)).unwrap();
    (&*shared).write_all(b"DEF").unwrap();
    (&*shared).seek(SeekFrom::Start(0)).unwrap();
    let mut text = String::new();
    (&*shared).read_to_string(&mut text).unwrap();
    assert_eq!(text, "abc\r\nDEF\n");
}

#[test]
fn basic_round_trip_in_the_default_directory() {
    round_trip(TemporaryFile::new().unwrap());
}

#[test]
#[cfg(unix)]
fn round_trip_on_the_fallback_path() {
    let scratch = Scratch::new();
    let real = scratch.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = scratch.path().join("link");
    symlink(&real, &link).unwrap();
    round_trip(in_dir(&link).unwrap());
    assert!(list(&real).is_empty());
}

#[test]
#[cfg(unix)]
fn unnamed_path_has_no_name_and_cannot_be_linked() {
    let scratch = Scratch::new();
    let file = in_dir(scratch.path()).unwrap();
    let text = link_text(&file);
    // O_TMPFILE files show as `dir/#inode (deleted)`; the prefix never appears.
    assert!(
        text.starts_with(&format!("{}/#", scratch.path().display())),
        "{}",
        text
    );
    assert!(text.ends_with(" (deleted)"), "{}", text);
    assert!(!text.contains("fallback-"), "{}", text);
    assert_eq!(file.as_file().metadata().unwrap().nlink(), 0);
    assert!(scratch.names().is_empty());
    // O_EXCL: the inode can never be given a name, not even through /proc.
    let target = scratch.path().join("linked");
    assert_eq!(
        link_through_proc(file.as_file(), &target).map_err(|e| e.raw_os_error()),
        Err(Some(libc::ENOENT))
    );
    assert!(scratch.names().is_empty());
}

/// `linkat(AT_FDCWD, "/proc/self/fd/N", AT_FDCWD, to, AT_SYMLINK_FOLLOW)`: gives the open file
/// `file` the name `to`, which the kernel allows for an `O_TMPFILE` file opened without
/// `O_EXCL` (std's `hard_link` does not follow the magic link and always fails, with `EXDEV`).
#[cfg(unix)]
fn link_through_proc(file: &std::fs::File, to: &Path) -> io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let from = std::ffi::CString::new(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap();
    let to = std::ffi::CString::new(to.as_os_str().as_bytes()).unwrap();
    // SAFETY: both paths are valid NUL-terminated strings.
    let rc = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(unix)]
#[test]
fn control_an_unnamed_file_opened_without_o_excl_can_be_linked() {
    // What the check above would see if the library dropped O_EXCL: the link works.
    let scratch = Scratch::new();
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o600)
        .open(scratch.path())
        .unwrap();
    file.write_all(b"linked").unwrap();
    let target = scratch.path().join("linked");
    link_through_proc(&file, &target).unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"linked");
}

#[test]
#[cfg(unix)]
fn symlinked_dir_takes_the_fallback_and_leaves_no_name() {
    let scratch = Scratch::new();
    let real = scratch.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = scratch.path().join("link");
    symlink(&real, &link).unwrap();
    let mut file = in_dir(&link).unwrap();
    let text = link_text(&file);
    // A named file that was unlinked at once: its old name, marked deleted.
    assert!(
        text.starts_with(&format!("{}/fallback-", real.display())),
        "{}",
        text
    );
    assert!(text.ends_with(" (deleted)"), "{}", text);
    assert_eq!(file.as_file().metadata().unwrap().nlink(), 0);
    assert!(list(&real).is_empty());
    file.write_all(b"x").unwrap();
    assert!(list(&real).is_empty());
    drop(file);
    assert!(list(&real).is_empty());
    assert_eq!(scratch.names(), ["link", "real"]);
}

#[test]
#[cfg(unix)]
fn has_no_name_the_directory_can_be_removed_while_open() {
    for use_symlink in [false, true] {
        let scratch = Scratch::new();
        let dir = scratch.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        let given = if use_symlink {
            let link = scratch.path().join("l");
            symlink(&dir, &link).unwrap();
            link
        } else {
            dir.clone()
        };
        let mut file = in_dir(&given).unwrap();
        file.write_all(b"survives rmdir").unwrap();
        std::fs::remove_dir(&dir).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).unwrap();
        assert_eq!(text, "survives rmdir");
    }
}

#[test]
#[cfg(unix)]
fn mode_is_0600_on_both_paths_whatever_the_umask() {
    let scratch = Scratch::new();
    Child::new("child_makes_files_on_both_paths")
        .arg(scratch.path())
        .umask(0)
        .assert_passes();
    assert_eq!(scratch.names(), ["l"]);
}

/// The child of [`mode_is_0600_on_both_paths_whatever_the_umask`], under umask 0: makes a
/// file on each path (directly in the directory it was given, and through a symlink to it)
/// and checks its mode.
#[test]
#[ignore]
#[cfg(unix)]
fn child_makes_files_on_both_paths() {
    assert_eq!(common::current_umask(), 0, "the child's umask");
    let dir = &child_args()[0];
    let link = dir.join("l");
    symlink(dir, &link).unwrap();
    for dir in [dir.as_path(), link.as_path()] {
        let file = in_dir(dir).unwrap();
        let mode = file.as_file().metadata().unwrap().mode() & 0o7777;
        assert_eq!(mode, 0o600, "{:o} in {}", mode, dir.display());
    }
}

#[test]
#[cfg(unix)]
fn descriptor_is_close_on_exec_on_both_paths() {
    let scratch = Scratch::new();
    let link = scratch.path().join("l");
    symlink(scratch.path(), &link).unwrap();
    for dir in [scratch.path(), link.as_path()] {
        let file = in_dir(dir).unwrap();
        // SAFETY: F_GETFD on a descriptor we own.
        let flags = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETFD) };
        assert!(flags >= 0 && flags & libc::FD_CLOEXEC != 0);
    }
}

#[test]
#[cfg(unix)]
fn nothing_is_left_after_drop_or_into_file() {
    let scratch = Scratch::new();
    let link = scratch.path().join("l");
    symlink(scratch.path(), &link).unwrap();
    for dir in [scratch.path(), link.as_path()] {
        let files: Vec<_> = (0..20).map(|_| in_dir(dir).unwrap()).collect();
        assert_eq!(scratch.names(), ["l"]);
        drop(files);
        let mut owned = in_dir(dir).unwrap().into_file();
        owned.write_all(b"owned").unwrap();
        assert_eq!(owned.metadata().unwrap().len(), 5);
        assert_eq!(scratch.names(), ["l"]);
    }
}

#[test]
#[cfg(unix)]
fn missing_dir_is_not_found_naming_the_dir() {
    let scratch = Scratch::new();
    let missing = scratch.path().join("missing");
    let err = in_dir(&missing).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{}",
        err
    );
    // The same through a dangling symlink, which takes the fallback.
    let dangling = scratch.path().join("dangling");
    symlink(&missing, &dangling).unwrap();
    let err = in_dir(&dangling).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert_eq!(scratch.names(), ["dangling"]);
}

#[test]
#[cfg(unix)]
fn a_file_as_dir_is_not_a_directory() {
    let scratch = Scratch::new();
    let plain = scratch.path().join("plain");
    std::fs::write(&plain, b"not a dir").unwrap();
    let err = in_dir(&plain).unwrap_err();
    assert_eq!(err.raw_os_error(), None, "wrapped with context");
    assert_eq!(err.kind(), io::ErrorKind::NotADirectory);
    assert!(
        err.to_string().contains(&plain.display().to_string()),
        "{}",
        err
    );
    assert_eq!(std::fs::read(&plain).unwrap(), b"not a dir");
    assert_eq!(scratch.names(), ["plain"]);
}

#[test]
#[cfg(unix)]
fn unwritable_dir_is_permission_denied_and_leaves_nothing() {
    // Root ignores the directory's mode: the creation runs as nobody.
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::new(); // owned by root, mode 0755: not writable by nobody
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
    let err = in_dir(dir).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{}", err);
    assert!(
        err.to_string().contains(&dir.display().to_string()),
        "{}",
        err
    );
}

#[test]
#[cfg(unix)]
fn a_bad_prefix_or_suffix_is_refused_on_both_paths() {
    let scratch = Scratch::new();
    let link = scratch.path().join("l");
    symlink(scratch.path(), &link).unwrap();
    for dir in [scratch.path(), link.as_path()] {
        let err = Builder::new()
            .prefix("a/b")
            .dir(dir)
            .temporary_file()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        let err = Builder::new()
            .suffix("x\0")
            .dir(dir)
            .temporary_file()
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }
    assert_eq!(scratch.names(), ["l"]);
}

#[test]
#[cfg(unix)]
fn shared_between_threads() {
    let file = std::sync::Arc::new(TemporaryFile::new().unwrap());
    let handles: Vec<_> = (0..4u8)
        .map(|i| {
            let file = file.clone();
            std::thread::spawn(move || {
                use std::os::unix::fs::FileExt;
                file.as_file()
                    .write_all_at(&[b'a' + i; 4], u64::from(i) * 4)
                    .unwrap();
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let mut text = String::new();
    (&*file).seek(SeekFrom::Start(0)).unwrap();
    (&*file).read_to_string(&mut text).unwrap();
    assert_eq!(text, "aaaabbbbccccdddd");
}

#[test]
#[cfg(unix)]
fn debug_names_the_type_and_descriptor() {
    let file = TemporaryFile::new().unwrap();
    let text = format!("{:?}", file);
    assert!(text.starts_with("TemporaryFile"), "{}", text);
    assert!(
        text.contains(&format!("fd: {}", file.as_raw_fd())),
        "{}",
        text
    );
}

#[test]
fn as_file_mut_and_from_conversion() {
    let mut file = TemporaryFile::new().unwrap();
    file.as_file_mut().set_len(7).unwrap();
    let owned: std::fs::File = file.into();
    assert_eq!(owned.metadata().unwrap().len(), 7);
}

#[test]
#[cfg(unix)]
fn fallback_unlink_failure_closes_the_file_and_names_it() {
    let scratch = Scratch::new();
    let real = scratch.path().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = scratch.path().join("link");
    symlink(&real, &link).unwrap();
    let guard = AppendOnly::new(&real);
    let err = in_dir(&link).unwrap_err();
    let left = list(&real);
    drop(guard);
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{}", err);
    assert_eq!(left.len(), 1, "the name that could not be unlinked");
    let leftover = real.join(&left[0]);
    assert!(err.to_string().contains(&left[0]), "{}", err);
    assert_eq!(
        open_descriptors_of(&leftover),
        0,
        "the descriptor was closed"
    );
}

/// How strace makes the `O_TMPFILE` open fail, and what the library must do then.
#[cfg(unix)]
const REFUSALS: [(&str, Refusal); 5] = [
    ("EOPNOTSUPP", Refusal::FallBackOnce),
    ("EINVAL", Refusal::FallBackOnce),
    ("EISDIR", Refusal::FallBackForGood),
    ("ENOSPC", Refusal::Fail(io::ErrorKind::StorageFull)),
    ("EROFS", Refusal::Fail(io::ErrorKind::ReadOnlyFilesystem)),
];

#[derive(Clone, Copy, Debug)]
#[cfg(unix)]
enum Refusal {
    /// The file system refuses `O_TMPFILE`: a named file this time, `O_TMPFILE` again next time.
    FallBackOnce,
    /// The kernel does not know `O_TMPFILE`: named files from now on (remembered).
    FallBackForGood,
    /// An error a named file would meet too: returned at once, nothing created.
    Fail(io::ErrorKind),
}

#[cfg(unix)]
#[test]
fn o_tmpfile_refusals_fall_back_and_other_errors_are_returned_at_once() {
    const TEST: &str = "o_tmpfile_refusals_fall_back_and_other_errors_are_returned_at_once";
    if let Some(dir) = common::tracee_arg() {
        // In the re-run: the first open of `dir` (the O_TMPFILE one) fails as strace says.
        let case = dir.file_name().unwrap().to_str().unwrap();
        let (_, refusal) = REFUSALS.iter().find(|(name, _)| *name == case).unwrap();
        let create = || {
            Builder::new()
                .prefix("named")
                .random_len(0)
                .dir(&dir)
                .temporary_file()
        };
        let named = format!("{}/named", dir.display());
        match refusal {
            Refusal::Fail(kind) => {
                let err = create().unwrap_err();
                assert_eq!(err.kind(), *kind, "{}", err);
                assert!(
                    err.to_string().contains(&dir.display().to_string()),
                    "{}",
                    err
                );
            }
            Refusal::FallBackOnce | Refusal::FallBackForGood => {
                let first = create().unwrap();
                let second = create().unwrap();
                assert!(
                    link_text(&first).starts_with(&named),
                    "{}",
                    link_text(&first)
                );
                let second_named = link_text(&second).starts_with(&named);
                assert_eq!(
                    second_named,
                    matches!(refusal, Refusal::FallBackForGood),
                    "{}",
                    link_text(&second)
                );
                round_trip(first);
                round_trip(second);
            }
        }
        assert!(list(&dir).is_empty());
        return;
    }
    let scratch = Scratch::new();
    for (errno, refusal) in REFUSALS {
        let dir = scratch.path().canonicalize().unwrap().join(errno);
        std::fs::create_dir(&dir).unwrap();
        let inject = format!("inject=openat:error={}:when=1", errno);
        let named = dir.join("named");
        let trace = common::trace::rerun_passing(
            TEST,
            &[
                "-P",
                dir.to_str().unwrap(),
                "-P",
                named.to_str().unwrap(),
                "-e",
                "trace=openat,unlink",
                "-e",
                &inject,
            ],
            &dir,
        );
        let tmpfile_opens = trace.lines().filter(|l| l.contains("O_TMPFILE")).count();
        let named_opens = trace
            .lines()
            .filter(|l| l.contains("O_EXCL|O_CREAT") || l.contains("O_CREAT|O_EXCL"))
            .count();
        assert!(trace.contains("(INJECTED)"), "{}: {}", errno, trace);
        let want = match refusal {
            Refusal::FallBackOnce => (2, 1),
            Refusal::FallBackForGood => (1, 2),
            Refusal::Fail(_) => (1, 0),
        };
        assert_eq!((tmpfile_opens, named_opens), want, "{}:\n{}", errno, trace);
        assert!(list(&dir).is_empty(), "{}", errno);
    }
}

/// `dir` relative to the current directory, through `..` up to the root: a relative path
/// that reaches any directory.
#[cfg(target_os = "linux")]
fn relative_to_cwd(dir: &Path) -> std::path::PathBuf {
    let cwd = std::env::current_dir().unwrap();
    let mut rel = std::path::PathBuf::new();
    for _ in cwd.components().skip(1) {
        rel.push("..");
    }
    rel.join(dir.strip_prefix("/").unwrap())
}

/// A relative `dir_verbatim` (the `tempfile` crate's `tempfile_in(dir)`, through compat/) is
/// opened as given, as the crate opens it: one `openat` of the relative path, no `getcwd`.
/// Only the named fallback (here: `dir` is a symlink, which the `O_TMPFILE` open does not
/// follow) makes it absolute, with one `getcwd`, and unfolded (the `..` stay).
#[cfg(target_os = "linux")]
#[test]
fn a_relative_verbatim_dir_is_opened_as_given() {
    const TEST: &str = "a_relative_verbatim_dir_is_opened_as_given";
    if let Some(rel) = common::tracee_arg() {
        // In the re-run, `rel` is relative and holds `real/` and `link` -> `real`.
        for sub in ["real", "link"] {
            let file = Builder::new()
                .prefix("fallback-")
                .dir_verbatim(rel.join(sub))
                .temporary_file()
                .unwrap();
            assert_eq!(file.as_file().metadata().unwrap().nlink(), 0);
            round_trip(file);
        }
        return;
    }
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let dir = scratch.path().canonicalize().unwrap();
    std::fs::create_dir(dir.join("real")).unwrap();
    symlink(dir.join("real"), dir.join("link")).unwrap();
    let rel = relative_to_cwd(&dir);
    let trace = common::trace::rerun_passing(TEST, &["-e", "trace=getcwd,openat,unlink"], &rel);
    let opens: Vec<&str> = trace.lines().filter(|l| l.contains("O_TMPFILE")).collect();
    assert_eq!(opens.len(), 2, "{}", trace);
    let real = format!("\"{}\"", rel.join("real").display());
    let link = format!("\"{}\"", rel.join("link").display());
    assert!(
        opens[0].contains(&real) && !opens[0].contains("= -1"),
        "{}",
        trace
    );
    assert!(
        opens[1].contains(&link) && opens[1].contains("= -1"),
        "{}",
        trace
    );
    // The fallback's one getcwd, and its named file in `cwd/rel/link`, as given.
    assert_eq!(trace.matches("getcwd(").count(), 1, "{}", trace);
    let cwd = std::env::current_dir().unwrap();
    let named = format!("\"{}/fallback-", cwd.join(&rel).join("link").display());
    assert!(
        trace
            .lines()
            .any(|l| l.contains("O_CREAT") && l.contains(&named) && !l.contains("= -1")),
        "{}",
        trace
    );
    assert!(list(&dir.join("real")).is_empty());
}
