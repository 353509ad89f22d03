//! TemporaryDirectory: CPython's TestTemporaryDirectory, plus the attacks and the sizes that
//! the secure removal is built for.
// Tests may use the current toolchain (the library alone keeps to Rust 1.63).
#![allow(clippy::incompatible_msrv)]

mod common;

#[cfg(unix)]
use std::ffi::CString;
use std::fs;
use std::io;
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
#[cfg(unix)]
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
#[cfg(unix)]
use std::path::PathBuf;
#[cfg(unix)]
use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(unix)]
use std::sync::Arc;
#[cfg(unix)]
use std::sync::OnceLock;

#[cfg(unix)]
use common::child::{child_args, Child};
#[cfg(unix)]
use common::trace::{rerun_passing, tracee_arg};
use common::Scratch;
#[cfg(unix)]
use common::{is_root, list, mode};
use tempkit::{Builder, TemporaryDirectory};

fn in_dir(dir: &Path) -> Builder {
    let mut b = Builder::new();
    b.dir(dir);
    b
}

/// Fills `root` with `files` files and `dirs` directories per level, `levels` deep (CPython's
/// `do_create(recurse=, dirs=, files=)`).
fn fill(root: &Path, levels: u32, dirs: u32, files: u32) {
    for f in 0..files {
        fs::write(root.join(format!("file{}", f)), format!("data {}", f)).unwrap();
    }
    if levels > 0 {
        for d in 0..dirs {
            let sub = root.join(format!("dir{}", d));
            fs::create_dir(&sub).unwrap();
            fill(&sub, levels - 1, dirs, files);
        }
    }
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
/// Gives every file and directory under `root` (and `root`) `mode`, bottom-up.
fn chmod_tree(root: &Path, mode: u32) {
    for entry in fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            chmod_tree(&entry.path(), mode);
        } else {
            chmod(&entry.path(), mode);
        }
    }
    chmod(root, mode);
}

fn exists(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

#[test]
fn new_creates_a_private_directory_that_drop_removes() {
    let dir = TemporaryDirectory::new().unwrap();
    let path = dir.path().to_path_buf();
    assert!(path.is_absolute());
    assert!(path.starts_with(tempkit::gettempdir().unwrap()));
    assert!(path
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("tmp"));
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o700);
    fill(&path, 2, 2, 2);
    drop(dir);
    assert!(!exists(&path));
}

#[test]
fn builder_options_shape_the_name() {
    let scratch = Scratch::new();
    let dir = in_dir(scratch.path())
        .prefix("pre-")
        .suffix(".d")
        .temporary_directory()
        .unwrap();
    let name = dir
        .path()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(name.starts_with("pre-") && name.ends_with(".d"), "{}", name);
    assert_eq!(scratch.names(), vec![name]);
    drop(dir);
    assert!(scratch.names().is_empty());
}

#[test]
fn explicit_cleanup_removes_a_populated_tree() {
    let scratch = Scratch::new();
    let mut dir = in_dir(scratch.path()).temporary_directory().unwrap();
    fill(dir.path(), 3, 2, 2);
    dir.cleanup().unwrap();
    assert!(!exists(dir.path()));
    assert!(scratch.names().is_empty());
}

#[test]
fn multiple_cleanup_calls_succeed() {
    let scratch = Scratch::new();
    let mut dir = in_dir(scratch.path()).temporary_directory().unwrap();
    fill(dir.path(), 1, 1, 1);
    dir.cleanup().unwrap();
    dir.cleanup().unwrap();
    dir.cleanup().unwrap();
    assert!(scratch.names().is_empty());
}

#[test]
fn cleanup_after_success_does_not_remove_a_newcomer_at_the_name() {
    let scratch = Scratch::new();
    let mut dir = in_dir(scratch.path()).temporary_directory().unwrap();
    dir.cleanup().unwrap();
    fs::create_dir(dir.path()).unwrap();
    dir.cleanup().unwrap();
    drop(dir);
    assert_eq!(scratch.names().len(), 1);
}

#[test]
fn a_directory_removed_by_someone_else_is_not_an_error() {
    let scratch = Scratch::new();
    let mut dir = in_dir(scratch.path()).temporary_directory().unwrap();
    fs::remove_dir(dir.path()).unwrap();
    dir.cleanup().unwrap();
}

#[test]
fn a_protected_or_reapable_directory_removed_by_someone_else_is_not_an_error() {
    // Such a directory is checked by identity before its removal: a name that is gone is
    // success too, as for a plain one.
    let scratch = Scratch::new();
    for (protect, reapable) in [(true, false), (false, true)] {
        let mut dir = in_dir(scratch.path())
            .protect(protect)
            .reapable(reapable)
            .temporary_directory()
            .unwrap();
        fs::remove_dir(dir.path()).unwrap();
        dir.cleanup().unwrap();
    }
}

#[test]
#[cfg(unix)]
fn a_protected_directory_whose_name_cannot_be_inspected_is_reported_not_taken_for_removed() {
    // The identity check before the removal: a `stat` that fails for another reason than
    // `ENOENT` (here `EACCES`: the parent lost its search permission) is an error, never
    // "someone removed it already". As the unprivileged user, since root could search.
    let scratch = Scratch::for_nobody();
    Child::new("child_protected_directory_whose_name_cannot_be_inspected")
        .arg(scratch.path())
        .as_nobody()
        .assert_passes();
    assert!(scratch.names().is_empty());
}

#[test]
#[ignore]
#[cfg(unix)]
fn child_protected_directory_whose_name_cannot_be_inspected() {
    let parent = child_args()[0].clone();
    let mut dir = in_dir(&parent).protect(true).temporary_directory().unwrap();
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o600)).unwrap();
    let result = dir.cleanup();
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o755)).unwrap();
    let kept = dir.path().is_dir();
    match result {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied && kept => {
            let message = e.to_string();
            assert!(message.contains(&*dir.path().to_string_lossy()), "{}", e);
            dir.cleanup().unwrap();
            assert!(!dir.path().exists());
        }
        other => panic!("cleanup: {:?}, directory still there: {}", other, kept),
    }
}

#[test]
fn delete_false_keeps_the_directory_on_drop() {
    let scratch = Scratch::new();
    let dir = in_dir(scratch.path())
        .delete(false)
        .temporary_directory()
        .unwrap();
    let path = dir.path().to_path_buf();
    fs::write(path.join("f"), b"x").unwrap();
    drop(dir);
    assert_eq!(fs::read(path.join("f")).unwrap(), b"x");
}

#[test]
fn delete_false_still_removes_on_explicit_cleanup() {
    let scratch = Scratch::new();
    let mut dir = in_dir(scratch.path())
        .delete(false)
        .temporary_directory()
        .unwrap();
    fill(dir.path(), 1, 2, 2);
    dir.cleanup().unwrap();
    assert!(scratch.names().is_empty());
}

#[test]
fn keep_disarms_and_hands_back_the_path() {
    let scratch = Scratch::new();
    let dir = in_dir(scratch.path()).temporary_directory().unwrap();
    fs::write(dir.path().join("f"), b"kept").unwrap();
    let expected = dir.path().to_path_buf();
    let path = dir.keep();
    assert_eq!(path, expected);
    assert_eq!(fs::read(path.join("f")).unwrap(), b"kept");
}

#[test]
fn missing_dir_is_a_not_found_error_naming_it() {
    let scratch = Scratch::new();
    let missing = scratch.path().join("gone");
    let err = in_dir(&missing).temporary_directory().unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::NotFound);
    assert!(
        err.to_string().contains(missing.to_str().unwrap()),
        "{}",
        err
    );
    assert!(scratch.names().is_empty());
}

#[test]
fn debug_shows_the_path_and_as_ref_gives_it() {
    let dir = TemporaryDirectory::new().unwrap();
    let shown = format!("{:?}", dir);
    assert!(shown.starts_with("TemporaryDirectory"), "{}", shown);
    assert!(shown.contains(&format!("{:?}", dir.path())), "{}", shown);
    let borrowed = &dir; // AsRef<Path> is for `&TemporaryDirectory` only
    let as_ref: &Path = borrowed.as_ref();
    assert_eq!(as_ref, dir.path());
}

#[test]
fn is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<TemporaryDirectory>();
    let dir = TemporaryDirectory::new().unwrap();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || drop(dir)).join().unwrap();
    assert!(!exists(&path));
}

#[test]
#[cfg(unix)]
fn symlink_to_a_directory_is_removed_as_a_link() {
    // CPython's test_cleanup_with_symlink_to_a_directory, plus links to files and dangling
    // links.
    let outside = TemporaryDirectory::new().unwrap();
    fs::write(outside.path().join("kept.txt"), b"precious").unwrap();
    fs::create_dir(outside.path().join("subdir")).unwrap();
    fs::write(outside.path().join("subdir/deep.txt"), b"deep").unwrap();
    let mut dir = TemporaryDirectory::new().unwrap();
    symlink(outside.path(), dir.path().join("to_dir")).unwrap();
    symlink(outside.path().join("kept.txt"), dir.path().join("to_file")).unwrap();
    symlink("/nonexistent/target", dir.path().join("dangling")).unwrap();
    fs::create_dir(dir.path().join("real")).unwrap();
    symlink(
        outside.path().join("subdir"),
        dir.path().join("real/nested_link"),
    )
    .unwrap();
    dir.cleanup().unwrap();
    assert!(!exists(dir.path()));
    assert_eq!(list(outside.path()), vec!["kept.txt", "subdir"]);
    assert_eq!(
        fs::read(outside.path().join("kept.txt")).unwrap(),
        b"precious"
    );
    assert_eq!(
        fs::read(outside.path().join("subdir/deep.txt")).unwrap(),
        b"deep"
    );
}

#[test]
#[cfg(unix)]
fn every_owner_mode_on_every_level_is_repaired_and_removed() {
    // CPython's test_modes, as an unprivileged user: modes 000 to 700 on every file and
    // directory of a three-level tree, read-only and unsearchable directories included. Also
    // with directories only: then the first call a read-only directory refuses is the `rmdir`
    // of a subdirectory, not the unlink of a file.
    let scratch = Scratch::for_nobody();
    Child::new("child_every_owner_mode_on_every_level")
        .arg(scratch.path())
        .as_nobody()
        .assert_passes();
    assert!(scratch.names().is_empty());
}

#[test]
#[ignore]
#[cfg(unix)]
fn child_every_owner_mode_on_every_level() {
    let parent = child_args()[0].clone();
    for (m, files) in (0..8u32).flat_map(|m| [(m, 2), (m, 0)]) {
        let mode = m << 6;
        let mut dir = in_dir(&parent).temporary_directory().unwrap();
        fill(dir.path(), 3, 2, files);
        chmod_tree(dir.path(), mode);
        if let Err(e) = dir.cleanup() {
            panic!("mode {:03o}, {} files: {}", mode, files, e);
        }
        assert!(
            !exists(dir.path()) && list(&parent).is_empty(),
            "mode {:03o}, {} files: left behind",
            mode,
            files
        );
    }
}

#[test]
#[cfg(unix)]
fn symlink_targets_keep_their_modes_whatever_the_root_mode() {
    // CPython's test_cleanup_with_symlink_modes (CVE-2023-6597), as an unprivileged user.
    let scratch = Scratch::for_nobody();
    Child::new("child_symlink_targets_keep_their_modes")
        .arg(scratch.path())
        .as_nobody()
        .assert_passes();
}

#[test]
#[ignore]
#[cfg(unix)]
fn child_symlink_targets_keep_their_modes() {
    let parent = child_args()[0].clone();
    let targets = parent.join("targets");
    fs::create_dir(&targets).unwrap();
    let file1 = targets.join("file1");
    fs::write(&file1, b"target").unwrap();
    let dir1 = targets.join("dir1");
    fs::create_dir(&dir1).unwrap();
    fs::write(dir1.join("inside"), b"inside").unwrap();
    for m in 0..8u32 {
        let mode = m << 6;
        chmod(&file1, mode);
        chmod(&dir1, mode);
        let cases: [(PathBuf, bool); 4] = [
            (targets.join("nonexisting"), false),
            (targets.join("nonexisting-dir"), false),
            (file1.clone(), true),
            (dir1.clone(), true),
        ];
        for (target, check) in cases.iter() {
            let mut d1 = in_dir(&parent).temporary_directory().unwrap();
            symlink(target, d1.path().join("symlink")).unwrap();
            chmod(d1.path(), mode);
            let before = target
                .symlink_metadata()
                .ok()
                .map(|m| m.permissions().mode());
            if let Err(e) = d1.cleanup() {
                panic!("mode {:03o}, {}: {}", mode, target.display(), e);
            }
            let after = target
                .symlink_metadata()
                .ok()
                .map(|m| m.permissions().mode());
            assert!(
                !(exists(d1.path()) || before != after || (*check && after.is_none())),
                "mode {:03o}, {}: {:?} -> {:?}",
                mode,
                target.display(),
                before,
                after
            );
        }
    }
    chmod(&dir1, 0o700);
    chmod(&file1, 0o600);
    assert_eq!(fs::read(dir1.join("inside")).unwrap(), b"inside");
    assert_eq!(fs::read(&file1).unwrap(), b"target");
}

#[test]
#[cfg(unix)]
fn nothing_outside_the_tree_changes_when_a_link_points_at_a_read_only_directory() {
    let scratch = Scratch::for_nobody();
    Child::new("child_nothing_outside_the_tree_changes")
        .arg(scratch.path())
        .as_nobody()
        .assert_passes();
}

#[test]
#[ignore]
#[cfg(unix)]
fn child_nothing_outside_the_tree_changes() {
    let parent = child_args()[0].clone();
    let victim = parent.join("victim");
    fs::create_dir(&victim).unwrap();
    fs::write(victim.join("a"), b"a").unwrap();
    chmod(&victim, 0o500);
    let mut dir = in_dir(&parent).temporary_directory().unwrap();
    fs::create_dir(dir.path().join("sub")).unwrap();
    symlink(&victim, dir.path().join("sub/link")).unwrap();
    chmod(&dir.path().join("sub"), 0o000);
    chmod(dir.path(), 0o000);
    dir.cleanup().unwrap();
    assert!(!exists(dir.path()));
    assert_eq!(mode(&victim), 0o500);
    assert_eq!(list(&victim), vec!["a".to_string()]);
    assert_eq!(fs::read(victim.join("a")).unwrap(), b"a");
}

#[cfg(unix)]
/// Gives `path` and everything under it but `except` to nobody.
fn chown_to_nobody_except(path: &Path, except: &Path) {
    if path == except {
        return;
    }
    std::os::unix::fs::lchown(path, Some(common::NOBODY), Some(common::NOBODY)).unwrap();
    if path.symlink_metadata().unwrap().is_dir() {
        for entry in fs::read_dir(path).unwrap() {
            chown_to_nobody_except(&entry.unwrap().path(), except);
        }
    }
}

#[cfg(unix)]
/// A tree owned by nobody holding a directory of root's that nobody may not change.
fn tree_with_roots_entry(scratch: &Path, locked_mode: u32, ignore: bool) -> TemporaryDirectory {
    assert!(
        is_root(),
        "this test needs root, to make an entry nobody cannot remove"
    );
    let dir = in_dir(scratch)
        .ignore_cleanup_errors(ignore)
        .temporary_directory()
        .unwrap();
    fill(dir.path(), 1, 2, 2);
    let locked = dir.path().join("locked");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("stuck"), b"stuck").unwrap();
    chmod(&locked, locked_mode);
    chown_to_nobody_except(dir.path(), &locked);

    dir
}

/// In a child test (alone in its fresh process): makes the whole process the unprivileged
/// user and group, without supplementary groups, when it runs as root (otherwise it is
/// unprivileged already). For a test that must set up as root what it then does as nobody:
/// glibc's `setgroups`, `setgid` and `setuid` change every thread of the process.
#[cfg(unix)]
fn become_nobody() {
    if !is_root() {
        return;
    }
    // SAFETY: plain system calls (through glibc's wrappers, which change every thread) with
    // valid arguments; no memory is passed but a null list of no groups.
    unsafe {
        assert_eq!(libc::setgroups(0, std::ptr::null()), 0, "setgroups");
        assert_eq!(libc::setgid(common::NOBODY), 0, "setgid");
        assert_eq!(libc::setuid(common::NOBODY), 0, "setuid");
    }
    assert!(!is_root(), "still root after setuid");
}

/// Runs the child test [`child_cleans_a_tree_with_roots_entry`] for `case` in a fresh process:
/// as root, it makes [`tree_with_roots_entry`] in `scratch`, then it becomes nobody and cleans
/// the tree up as `case` says. Returns the tree's path (the one new name in `scratch`), left
/// as the child's cleanup left it.
#[cfg(unix)]
fn cleaned_up_by_nobody(scratch: &Scratch, case: &str) -> PathBuf {
    let before = scratch.names();
    Child::new("child_cleans_a_tree_with_roots_entry")
        .arg(scratch.path())
        .arg(case)
        .assert_passes();
    let made: Vec<String> = scratch
        .names()
        .into_iter()
        .filter(|n| !before.contains(n))
        .collect();
    assert_eq!(made.len(), 1, "{:?}", made);
    scratch.path().join(&made[0])
}

#[test]
#[ignore]
#[cfg(unix)]
fn child_cleans_a_tree_with_roots_entry() {
    let args = child_args();
    let case = args[1].to_str().unwrap();
    let (locked_mode, ignore) = match case {
        "reports" => (0o755, false),
        "ignore" => (0o755, true),
        "ignore-repair" => (0o000, true),
        "strict-repair" | "drop" => (0o000, false),
        "parallel" => (0o755, false),
        other => panic!("no case {}", other),
    };
    let mut dir = if case == "parallel" {
        large_tree_with_roots_entry(&args[0])
    } else {
        tree_with_roots_entry(&args[0], locked_mode, ignore)
    };
    let locked = dir.path().join("locked");
    become_nobody();
    match case {
        "reports" => {
            let stuck = locked.join("stuck");
            let err = dir.cleanup().expect_err("the cleanup must fail");
            eprintln!("{}", err);
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{}", err);
            assert!(err.to_string().contains(stuck.to_str().unwrap()), "{}", err);
        }
        "ignore" | "ignore-repair" => dir.cleanup().unwrap(),
        "parallel" => {
            let locked = dir.path().join("dir7/locked");
            let err = dir.cleanup().expect_err("the cleanup must fail");
            let text = err.to_string();
            assert!(text.contains(locked.to_str().unwrap()), "{}", text);
        }
        "strict-repair" => {
            let err = dir.cleanup().expect_err("the cleanup must fail");
            assert_eq!(err.kind(), io::ErrorKind::PermissionDenied, "{}", err);
            assert!(
                err.to_string().contains(locked.to_str().unwrap()),
                "{}",
                err
            );
        }
        _ => {
            drop(dir);
            return;
        }
    }
    // What the cleanup left is for the parent to see: no second attempt by the drop.
    let _ = dir.keep();
}

#[test]
#[cfg(unix)]
fn cleanup_reports_what_it_cannot_remove_and_removes_the_rest() {
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::for_nobody();
    let dir = cleaned_up_by_nobody(&scratch, "reports");
    let stuck = dir.join("locked").join("stuck");
    assert_eq!(list(&dir), vec!["locked"]);
    assert_eq!(fs::read(&stuck).unwrap(), b"stuck");
}

#[test]
#[cfg(unix)]
fn ignore_cleanup_errors_hides_what_cannot_be_removed() {
    // CPython's ignore-errors cases: cleanup() succeeds, the rest is removed.
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::for_nobody();
    let dir = cleaned_up_by_nobody(&scratch, "ignore");
    assert_eq!(list(&dir), vec!["locked"]);
}

#[test]
#[cfg(unix)]
fn ignore_cleanup_errors_also_covers_errors_of_the_permission_repair() {
    // CPython's gh-135812: a chmod that fails during the repair escaped ignore_cleanup_errors.
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::for_nobody();
    let dir = cleaned_up_by_nobody(&scratch, "ignore-repair");
    assert_eq!(list(&dir), vec!["locked"]);
    assert_eq!(mode(&dir.join("locked")), 0o000);
    // Without ignore_cleanup_errors, the same tree: the error names the locked directory.
    cleaned_up_by_nobody(&scratch, "strict-repair");
}

#[test]
#[cfg(unix)]
fn drop_ignores_errors_without_panicking() {
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::for_nobody();
    let path = cleaned_up_by_nobody(&scratch, "drop");
    assert_eq!(list(&path), vec!["locked"]);
}

#[test]
#[cfg(unix)]
fn a_root_replaced_by_a_symlink_is_not_followed() {
    let scratch = Scratch::new();
    let victim = scratch.path().join("victim");
    fs::create_dir(&victim).unwrap();
    fs::write(victim.join("v"), b"victim").unwrap();
    for ignore in [false, true] {
        let mut dir = in_dir(scratch.path())
            .ignore_cleanup_errors(ignore)
            .temporary_directory()
            .unwrap();
        let path = dir.path().to_path_buf();
        fs::write(path.join("own"), b"own").unwrap();
        let moved = scratch.path().join("moved");
        fs::rename(&path, &moved).unwrap();
        symlink(&victim, &path).unwrap();
        let result = dir.cleanup();
        if ignore {
            result.unwrap();
        } else {
            let err = result.unwrap_err();
            assert!(err.to_string().contains(path.to_str().unwrap()), "{}", err);
        }
        drop(dir);
        assert!(path.symlink_metadata().unwrap().file_type().is_symlink());
        assert_eq!(list(&victim), vec!["v"]);
        assert_eq!(fs::read(victim.join("v")).unwrap(), b"victim");
        assert_eq!(list(&moved), vec!["own"]);
        fs::remove_file(&path).unwrap();
        fs::remove_dir_all(&moved).unwrap();
    }
}

#[test]
#[cfg(unix)]
fn a_subdirectory_swapped_for_a_symlink_never_leads_outside() {
    // An attacker thread keeps replacing a subdirectory with a symlink to a victim directory
    // while cleanup runs (CVE-2022-21658, CPython's gh-157579).
    let scratch = Scratch::new();
    let victim = scratch.path().join("victim");
    fs::create_dir(&victim).unwrap();
    let victim_files: Vec<String> = (0..4).map(|i| format!("v{}", i)).collect();
    for name in &victim_files {
        fs::write(victim.join(name), name).unwrap();
    }
    fs::create_dir(victim.join("vsub")).unwrap();
    fs::write(victim.join("vsub/deep"), b"deep").unwrap();
    let mut expected = victim_files.clone();
    expected.push("vsub".to_string());
    let victim_mode = mode(&victim);
    for round in 0..1000 {
        let mut dir = in_dir(scratch.path()).temporary_directory().unwrap();
        let sub = dir.path().join("sub");
        fs::create_dir(&sub).unwrap();
        for i in 0..4 {
            fs::write(sub.join(format!("f{}", i)), b"x").unwrap();
        }
        fs::create_dir(sub.join("inner")).unwrap();
        fs::write(sub.join("inner/g"), b"y").unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let attacker = {
            let stop = Arc::clone(&stop);
            let root = dir.path().to_path_buf();
            let victim = victim.clone();
            std::thread::spawn(move || {
                let sub = root.join("sub");
                let moved = root.join("moved");
                // Only ever a real directory or absent: the attacker never makes it a link.
                let inner = moved.join("inner");
                let inner_moved = moved.join("inner-moved");
                while !stop.load(Ordering::Relaxed) {
                    let _ = fs::rename(&sub, &moved);
                    let _ = symlink(&victim, &sub);
                    let _ = fs::rename(&inner, &inner_moved);
                    let _ = symlink(&victim, &inner);
                    std::thread::yield_now();
                    let _ = fs::remove_file(&inner);
                    let _ = fs::rename(&inner_moved, &inner);
                    let _ = fs::remove_file(&sub);
                    let _ = fs::rename(&moved, &sub);
                    if fs::symlink_metadata(&root).is_err() {
                        break;
                    }
                }
            })
        };
        let _ = dir.cleanup();
        stop.store(true, Ordering::Relaxed);
        attacker.join().unwrap();
        assert_eq!(list(&victim), expected, "round {}", round);
        for name in &victim_files {
            assert_eq!(
                fs::read(victim.join(name)).unwrap(),
                name.as_bytes(),
                "round {}",
                round
            );
        }
        assert_eq!(
            fs::read(victim.join("vsub/deep")).unwrap(),
            b"deep",
            "round {}",
            round
        );
        assert_eq!(mode(&victim), victim_mode, "round {}", round);
        dir.cleanup().unwrap();
        drop(dir);
        assert_eq!(scratch.names(), vec!["victim"], "round {}", round);
    }
}

#[test]
// Windows: a directory another remover has marked for deletion cannot be listed (wine: 32,
// Windows: access denied) until its handles close.
#[cfg(unix)]
fn entries_removed_concurrently_count_as_removed() {
    let scratch = Scratch::new();
    for _ in 0..20 {
        let mut dir = in_dir(scratch.path()).temporary_directory().unwrap();
        fill(dir.path(), 2, 6, 10);
        let path = dir.path().to_path_buf();
        let other = std::thread::spawn(move || {
            let _ = fs::remove_dir_all(&path);
        });
        let result = dir.cleanup();
        other.join().unwrap();
        result.unwrap();
        assert!(!exists(dir.path()));
    }
}

#[test]
#[cfg(unix)]
fn a_tree_ten_thousand_levels_deep_is_removed_with_few_descriptors() {
    // In a child allowed 64 more descriptors: one per level would need 10,000. In a
    // temporary directory of ours: should the child fail, what it leaves is removed without
    // a recursion 10,000 deep (the scratch directories' removal recurses).
    let base = TemporaryDirectory::new().unwrap();
    cleanup_with_descriptors(base.path(), "ten-thousand-levels", 64);
}

/// 10,000 levels `d/d/...` in `root`, a file every 100 levels.
#[cfg(unix)]
fn ten_thousand_levels(root: &Path) {
    use rustix::fs::{mkdirat, openat, Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let mut fd = rustix::fs::open(root, flags, Mode::empty()).unwrap();
    for level in 0..10_000 {
        mkdirat(&fd, "d", Mode::RWXU).unwrap();
        if level % 100 == 0 {
            fs::write(
                format!("/proc/self/fd/{}/file", rustix::fd::AsRawFd::as_raw_fd(&fd)),
                b"x",
            )
            .unwrap();
        }
        fd = openat(&fd, "d", flags, Mode::empty()).unwrap();
    }
}

/// Runs [`child_cleans_up_with_descriptors`] in a fresh process: it makes a temporary
/// directory in `base` holding the tree named `tree`, and removes it allowed `free` more
/// descriptors. Checks that nothing is left.
#[cfg(unix)]
fn cleanup_with_descriptors(base: &Path, tree: &str, free: u64) {
    Child::new("child_cleans_up_with_descriptors")
        .arg(base)
        .arg(tree)
        .arg(free.to_string())
        .timeout(common::CHILD_TIMEOUT)
        .assert_passes();
    assert!(list(base).is_empty(), "{:?}", list(base));
}

/// Makes a temporary directory holding the tree its parent names, then removes it in this
/// process allowed only the given number of descriptors more than it has open (the limit is
/// set where exactly that many numbers are left below it).
#[test]
#[ignore]
#[cfg(unix)]
fn child_cleans_up_with_descriptors() {
    let args = child_args();
    let free: u64 = args[2].to_str().unwrap().parse().unwrap();
    let mut dir = in_dir(&args[0]).temporary_directory().unwrap();
    match args[1].to_str().unwrap() {
        "ten-thousand-levels" => ten_thousand_levels(dir.path()),
        "chains" => fill_chains(dir.path(), 8, 300),
        "wide-root-and-chains" => wide_root_and_chains(dir.path()),
        "wide-bottom" => wide_bottom(dir.path()),
        other => panic!("no tree {}", other),
    }
    let mut limit = 0;
    let mut left = free;
    while left > 0 {
        // SAFETY: F_GETFD only asks whether the number is open.
        if unsafe { libc::fcntl(limit as libc::c_int, libc::F_GETFD) } < 0 {
            left -= 1;
        }
        limit += 1;
    }
    let limit = libc::rlimit {
        rlim_cur: limit,
        rlim_max: limit,
    };
    // SAFETY: setrlimit with a valid struct; this child test is alone in its process.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) }, 0);
    if let Err(e) = dir.cleanup() {
        panic!("{}", e);
    }
    assert!(!exists(dir.path()));
}

#[test]
#[cfg(unix)]
fn a_deep_tree_with_side_branches_at_every_level_is_removed() {
    // Deeper than the descriptors the walk keeps open, with a sibling left to visit at every
    // level: each closed directory is reopened through `..` and its remaining entries handled.
    let mut dir = TemporaryDirectory::new().unwrap();
    let mut level = dir.path().to_path_buf();
    for i in 0..200 {
        fs::create_dir(level.join("side")).unwrap();
        fs::write(level.join("side/leaf"), format!("{}", i)).unwrap();
        fs::write(level.join("file"), b"x").unwrap();
        level.push("spine");
        fs::create_dir(&level).unwrap();
    }
    dir.cleanup().unwrap();
    assert!(!exists(dir.path()));
}

#[test]
#[cfg(unix)]
fn an_open_file_inside_does_not_stop_the_cleanup() {
    // CPython's test_explicit_cleanup_ignore_errors: on POSIX everything is removed.
    let scratch = Scratch::new();
    for ignore in [false, true] {
        let mut dir = in_dir(scratch.path())
            .ignore_cleanup_errors(ignore)
            .temporary_directory()
            .unwrap();
        fs::create_dir(dir.path().join("sub")).unwrap();
        let mut open = fs::File::create(dir.path().join("sub/open.txt")).unwrap();
        dir.cleanup().unwrap();
        io::Write::write_all(&mut open, b"still writable").unwrap();
        assert!(scratch.names().is_empty());
    }
}

#[test]
#[cfg(unix)]
fn a_directory_of_a_hundred_thousand_entries_is_removed() {
    let mut dir = TemporaryDirectory::new().unwrap();
    let big = dir.path().join("big");
    fs::create_dir(&big).unwrap();
    // Hard links: one system call each and no new inode, so the test stays quick. Two
    // sources, as ext4 allows 65,000 links per inode.
    let sources = [dir.path().join("source-a"), dir.path().join("source-b")];
    for source in &sources {
        fs::write(source, b"linked").unwrap();
    }
    for i in 0..100_000 {
        fs::hard_link(&sources[i % 2], big.join(format!("entry-{:06}", i))).unwrap();
    }
    assert_eq!(fs::read_dir(&big).unwrap().count(), 100_000);
    dir.cleanup().unwrap();
    assert!(!exists(dir.path()));
}

/// Fills `root` with `dirs` directories of `files` empty files each.
#[cfg(unix)]
fn fill_wide(root: &Path, dirs: u32, files: u32) {
    for d in 0..dirs {
        let sub = root.join(format!("dir{}", d));
        fs::create_dir(&sub).unwrap();
        for f in 0..files {
            fs::File::create(sub.join(format!("f{}", f))).unwrap();
        }
    }
}

/// The trace (thread starts, `rmdir`, `unlinkat` and `stat` calls) of the removal of a tree
/// of `dirs` directories of `files` files in a fresh directory in `base`, from a re-run of the
/// test named `test` under strace (the re-run builds and removes the tree). `None` in that
/// re-run, and when strace is missing and the developer chose to skip such tests.
#[cfg(unix)]
fn removal_trace(test: &str, base: &Path, dirs: u32, files: u32) -> Option<Vec<String>> {
    if let Some(scratch) = common::tracee_arg() {
        let dir = in_dir(&scratch).temporary_directory().unwrap();
        fill_wide(dir.path(), dirs, files);
        let path = dir.path().to_path_buf();
        // A mark in the trace: what follows is the removal.
        let _ = fs::symlink_metadata(scratch.join("removal-starts"));
        drop(dir);
        assert!(!exists(&path));
        return None;
    }
    if !common::need::strace() {
        return None;
    }
    let scratch = Scratch::new_in(base);
    let (ok, lines) = common::traced(
        test,
        "clone,clone3,rmdir,unlinkat,stat,lstat,newfstatat,statx",
        scratch.path(),
    );
    assert!(ok, "the traced re-run failed");
    let mark = lines
        .iter()
        .position(|l| l.contains("removal-starts"))
        .expect("the mark is in the trace");
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
    Some(lines[mark..].to_vec())
}

/// Threads started by the removal of a tree (see [`removal_trace`]).
#[cfg(unix)]
fn threads_started_by_removal(test: &str, base: &Path, dirs: u32, files: u32) -> Option<usize> {
    let lines = removal_trace(test, base, dirs, files)?;
    Some(threads_started(&lines))
}

/// The thread starts among the lines of a trace.
#[cfg(unix)]
fn threads_started(lines: &[String]) -> usize {
    lines
        .iter()
        .filter(|l| l.contains("clone") && !l.contains("resumed"))
        .count()
}

/// The threads (their ids) that removed entries (`unlinkat`) in the lines of a trace.
#[cfg(unix)]
fn threads_unlinking(lines: &[String]) -> std::collections::BTreeSet<u32> {
    common::trace::calls(&lines.join("\n"))
        .into_iter()
        .filter(|c| c.name == "unlinkat")
        .map(|c| c.pid)
        .collect()
}

#[cfg(unix)]
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `/dev/shm` when it is a tmpfs, where a large tree is removed by several threads (on a
/// machine with more than one core); the tests of the parallel walk run there so that it is
/// taken whatever file system the default temporary directory is on.
#[cfg(unix)]
fn tmpfs() -> Option<&'static Path> {
    let shm = Path::new("/dev/shm");
    if is_tmpfs(shm) {
        Some(shm)
    } else {
        eprintln!("/dev/shm is not a tmpfs here: the parallel walk is not taken");
        None
    }
}

/// Where the tests of the parallel walk make their trees: on tmpfs if there is one.
#[cfg(unix)]
fn where_threads_pay() -> PathBuf {
    tmpfs().map_or_else(std::env::temp_dir, Path::to_path_buf)
}

#[cfg(unix)]
fn is_tmpfs(path: &Path) -> bool {
    /// `TMPFS_MAGIC` of `<linux/magic.h>`.
    const TMPFS: u32 = 0x0102_1994;
    cfg!(any(target_os = "linux", target_os = "android"))
        && rustix::fs::statfs(path).map_or(false, |st| st.f_type as u32 == TMPFS)
}

#[test]
#[cfg(unix)]
fn a_small_tree_is_removed_without_threads() {
    // 10 directories of 10 files, on tmpfs: far below the size where threads pay off. (The
    // test build that forces the parallel walk starts them on any tree with a subdirectory.)
    let base = where_threads_pay();
    let Some(threads) =
        threads_started_by_removal("a_small_tree_is_removed_without_threads", &base, 10, 10)
    else {
        return;
    };
    let forced = cfg!(feature = "__test-parallel-removal") && cores() > 1;
    assert_eq!(threads > 0, forced, "{} threads", threads);
}

#[test]
#[cfg(unix)]
fn a_large_tree_on_tmpfs_is_removed_by_several_threads() {
    // 20 directories of 200 files: large enough, on a machine with more than one core.
    // Threads are started, and more than one thread removes entries: the work is shared.
    let base = where_threads_pay();
    let Some(lines) = removal_trace(
        "a_large_tree_on_tmpfs_is_removed_by_several_threads",
        &base,
        20,
        200,
    ) else {
        return;
    };
    let threads = threads_started(&lines);
    let expected = cores() > 1 && (is_tmpfs(&base) || cfg!(feature = "__test-parallel-removal"));
    assert_eq!(threads > 0, expected, "{} threads", threads);
    let unlinking = threads_unlinking(&lines);
    eprintln!("threads that removed entries: {:?}", unlinking);
    assert!(!unlinking.is_empty(), "no unlinkat in the trace");
    assert_eq!(
        unlinking.len() > 1,
        expected,
        "threads that removed entries: {:?}",
        unlinking
    );
}

#[test]
#[cfg(unix)]
fn a_large_tree_off_tmpfs_is_removed_by_one_thread() {
    // The same tree in the default temporary directory (ext4 on the reference machine), where
    // tempkit keeps to one thread (threads gained there only on an idle machine): none is
    // started (but in the test build that forces the parallel walk).
    let base = std::env::temp_dir();
    let Some(threads) = threads_started_by_removal(
        "a_large_tree_off_tmpfs_is_removed_by_one_thread",
        &base,
        20,
        200,
    ) else {
        return;
    };
    if is_tmpfs(&base) {
        eprintln!("the default temporary directory is a tmpfs here: nothing to check");
        return;
    }
    let forced = cfg!(feature = "__test-parallel-removal") && cores() > 1;
    assert_eq!(threads > 0, forced, "{} threads", threads);
}

#[test]
#[cfg(unix)]
fn threads_never_remove_the_directory_they_share_by_its_path() {
    // The root is removed by path twice: the first `rmdir` (it is not empty), and the last
    // one, once the walk has emptied it. The threads that share it leave it to the walk: a
    // thread's walk ends with the shared directory still there, and never names it by path.
    let test = "threads_never_remove_the_directory_they_share_by_its_path";
    let base = where_threads_pay();
    let Some(lines) = removal_trace(test, &base, 20, 200) else {
        return;
    };
    let threads = lines.iter().filter(|l| l.contains("clone")).count();
    let expected = cores() > 1 && (is_tmpfs(&base) || cfg!(feature = "__test-parallel-removal"));
    assert_eq!(threads > 0, expected, "{} threads", threads);
    let rmdirs: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("rmdir(") && !l.contains("resumed"))
        .collect();
    assert_eq!(rmdirs.len(), 2, "{:#?}", rmdirs);
}

#[test]
#[cfg(unix)]
fn when_no_thread_can_start_the_removal_goes_on_serially() {
    // As nobody, allowed no more processes than it has: every thread spawn fails (EAGAIN),
    // and the large tree is removed all the same, by the current thread alone. On tmpfs,
    // where it would start them.
    let scratch = Scratch::for_nobody_in(&where_threads_pay());
    Child::new("child_removes_without_threads")
        .arg(scratch.path())
        .as_nobody()
        .assert_passes();
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
#[ignore]
#[cfg(unix)]
fn child_removes_without_threads() {
    let base = child_args()[0].clone();
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit with a valid struct; this child test is alone in its process
    // (lowering a limit needs no privilege).
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &none) }, 0);
    // The control: no thread can start here.
    assert!(
        std::thread::Builder::new().spawn(|| ()).is_err(),
        "a thread started despite RLIMIT_NPROC"
    );
    let mut dir = in_dir(&base).temporary_directory().unwrap();
    fill_wide(dir.path(), 20, 200);
    if let Err(e) = dir.cleanup() {
        panic!("{}", e);
    }
    assert!(!exists(dir.path()));
}

#[test]
#[cfg(unix)]
fn errors_in_a_parallel_removal_name_the_path_and_the_rest_goes() {
    // A large tree in which one deep directory cannot be emptied (its entry is an
    // immutable-by-nobody directory of root's): the error names it, everything else goes.
    // On tmpfs, where the tree is removed by several threads.
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::for_nobody_in(&where_threads_pay());
    let path = cleaned_up_by_nobody(&scratch, "parallel");
    // Only the path to the locked directory is left.
    let locked = path.join("dir7/locked");
    assert_eq!(list(&path), vec!["dir7"]);
    assert_eq!(list(&path.join("dir7")), vec!["locked"]);
    assert_eq!(list(&locked), vec!["kept"]);
}

/// [`errors_in_a_parallel_removal_name_the_path_and_the_rest_goes`]'s tree in `scratch`:
/// owned by nobody but for `dir7/locked`, root's, holding `kept`.
#[cfg(unix)]
fn large_tree_with_roots_entry(scratch: &Path) -> TemporaryDirectory {
    let dir = in_dir(scratch).temporary_directory().unwrap();
    fill_wide(dir.path(), 20, 200);
    let locked = dir.path().join("dir7/locked");
    fs::create_dir(&locked).unwrap();
    fs::write(locked.join("kept"), b"root's").unwrap();
    chmod(&locked, 0o755);
    chown_to_nobody_except(dir.path(), &locked);
    dir
}

/// Fills `root` with `chains` chains `chain<i>/d/d/...` of `levels` directories, a file in
/// each.
#[cfg(unix)]
fn fill_chains(root: &Path, chains: u32, levels: u32) {
    for chain in 0..chains {
        let mut level = root.join(format!("chain{}", chain));
        for _ in 0..levels {
            fs::create_dir(&level).unwrap();
            fs::write(level.join("file"), b"x").unwrap();
            level.push("d");
        }
    }
}

#[test]
#[cfg(unix)]
fn a_parallel_removal_keeps_the_descriptor_bound_in_total() {
    // 8 chains of 300 levels, a file at each: large enough for threads, and deep enough that
    // each thread must close and reopen directories to stay within its share of the bound.
    // In a child allowed 48 more descriptors: the walk's 32 in all fit, 32 per thread would
    // not. On tmpfs, where the tree is removed by several threads.
    let scratch = Scratch::new_in(&where_threads_pay());
    cleanup_with_descriptors(scratch.path(), "chains", 48);
}

#[test]
#[cfg(unix)]
fn threads_share_the_descriptors_left_by_the_walk_and_no_more() {
    // 500 files at the root (enough entries for threads at once) and 4 chains of 300 levels:
    // the walk splits at the root, holding 1 descriptor, and shares the 31 left between its
    // `t` threads (one per core, at most 4). Each thread's walk may hold 31 / t (the shared
    // root counted among them at first), and one more while it opens a level before closing
    // the oldest: 1 + t x (31 / t + 1) at the most (33 with two threads), the child's
    // allowance. A thread given more than its share runs out as soon as the threads are deep.
    let threads = cores().min(4) as u64;
    let allowance = if threads < 2 {
        33
    } else {
        1 + threads * (31 / threads + 1)
    };
    let scratch = Scratch::new_in(&where_threads_pay());
    cleanup_with_descriptors(scratch.path(), "wide-root-and-chains", allowance);
}

/// 500 files in `root` and 4 chains of 300 levels.
#[cfg(unix)]
fn wide_root_and_chains(root: &Path) {
    for f in 0..500 {
        fs::File::create(root.join(format!("f{}", f))).unwrap();
    }
    fill_chains(root, 4, 300);
}

#[test]
#[cfg(unix)]
fn threads_start_only_where_the_walk_holds_at_most_half_its_descriptors() {
    // A chain 31 levels deep (with the root, the walk's 32 descriptors all held at the bottom),
    // and at the bottom 500 files (enough entries for threads) and 4 subdirectories (enough
    // work to share). Threads there would have no descriptors left to share: the walk must
    // go on alone, within its 32 (and one more, opened before the oldest is closed), so the
    // child is allowed 34. Started anyway, each would hold two of its own. On tmpfs, where a
    // large tree is removed by several threads.
    let scratch = Scratch::new_in(&where_threads_pay());
    cleanup_with_descriptors(scratch.path(), "wide-bottom", 34);
}

/// A chain of 31 levels in `root`, holding at its bottom 500 files and 4 subdirectories.
#[cfg(unix)]
fn wide_bottom(root: &Path) {
    let mut bottom = root.to_path_buf();
    for level in 0..31 {
        bottom.push(format!("c{}", level));
    }
    fs::create_dir_all(&bottom).unwrap();
    for f in 0..500 {
        fs::File::create(bottom.join(format!("f{}", f))).unwrap();
    }
    for sub in 0..4 {
        fs::create_dir_all(bottom.join(format!("s{}/a/b/c", sub))).unwrap();
    }
}

/// What the `SIGUSR1` handler of a traced re-run does: `rename(from, to)`, then, if given,
/// `symlink(link_to, from)`. strace delivers the signal on the system call a test picks
/// (`-e inject=SYSCALL:signal=SIGUSR1:when=N`), so the swap lands exactly between two calls of
/// the walk: a race made deterministic.
#[cfg(unix)]
struct Swap {
    from: CString,
    to: CString,
    link_to: Option<CString>,
}

#[cfg(unix)]
static SWAP: OnceLock<Swap> = OnceLock::new();
#[cfg(unix)]
static SWAPPED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn swap_on_signal(_: libc::c_int) {
    if let Some(swap) = SWAP.get() {
        // SAFETY: rename and symlink are async-signal-safe; the strings live in a static.
        unsafe {
            if libc::rename(swap.from.as_ptr(), swap.to.as_ptr()) == 0 {
                SWAPPED.store(true, Ordering::SeqCst);
            }
            if let Some(link_to) = &swap.link_to {
                libc::symlink(link_to.as_ptr(), swap.from.as_ptr());
            }
        }
    }
}

/// Installs [`swap_on_signal`] for `SIGUSR1` (in a traced re-run only).
#[cfg(unix)]
fn swap_on_sigusr1(from: &Path, to: &Path, link_to: Option<&Path>) {
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).unwrap();
    let swap = Swap {
        from: c(from),
        to: c(to),
        link_to: link_to.map(c),
    };
    assert!(SWAP.set(swap).is_ok(), "one swap per re-run");
    let handler = swap_on_signal as extern "C" fn(libc::c_int);
    // SAFETY: installs a handler that only makes async-signal-safe calls.
    assert_ne!(
        unsafe { libc::signal(libc::SIGUSR1, handler as libc::sighandler_t) },
        libc::SIG_ERR
    );
}

/// A directory `victim` in `parent` holding the file `v` and the directory `vsub/deep`.
#[cfg(unix)]
fn make_victim(parent: &Path) -> PathBuf {
    let victim = parent.join("victim");
    fs::create_dir_all(victim.join("vsub")).unwrap();
    fs::write(victim.join("v"), b"victim").unwrap();
    fs::write(victim.join("vsub/deep"), b"deep").unwrap();
    victim
}

/// Asserts that [`make_victim`]'s directory is as it was made (plus the names in `extra`).
#[cfg(unix)]
fn assert_victim_intact(victim: &Path, extra: &[&str]) {
    let mut want = vec!["v".to_string(), "vsub".to_string()];
    want.extend(extra.iter().map(|s| s.to_string()));
    want.sort();
    assert_eq!(list(victim), want);
    assert_eq!(fs::read(victim.join("v")).unwrap(), b"victim");
    assert_eq!(fs::read(victim.join("vsub/deep")).unwrap(), b"deep");
}

/// The scratch directory of a traced re-run, canonical (strace's `-P` compares paths).
#[cfg(unix)]
fn canonical_scratch() -> (Scratch, PathBuf) {
    let scratch = Scratch::new();
    let path = scratch.path().canonicalize().unwrap();
    (scratch, path)
}

/// In a traced re-run: the directory `root` in `scratch`, holding the file `own`.
#[cfg(unix)]
fn root_with_a_file(scratch: &Path) -> TemporaryDirectory {
    let dir = in_dir(scratch)
        .prefix("root")
        .random_len(0)
        .temporary_directory()
        .unwrap();
    fs::write(dir.path().join("own"), b"own").unwrap();
    dir
}

/// Re-runs `test` (which must pass) in `scratch` under strace with `-e inject=INJECT` on the
/// system calls naming `target` only (`-P`); returns the trace, checking that a call was made
/// to fail.
#[cfg(unix)]
fn rerun_injecting(test: &str, scratch: &Path, target: &Path, inject: &str) -> String {
    let inject = format!("inject={}", inject);
    let trace = rerun_passing(
        test,
        &["-P", target.to_str().unwrap(), "-e", &inject],
        scratch,
    );
    assert!(
        trace.lines().any(|l| l.contains("(INJECTED)")),
        "no call was made to fail:\n{}",
        trace
    );
    trace
}

#[cfg(unix)]
#[test]
fn a_root_replaced_by_a_symlink_is_not_followed_when_the_first_rmdir_says_not_empty() {
    // The root is swapped for a symlink to a victim after the removal's first `rmdir` (here:
    // strace makes that `rmdir` answer ENOTEMPTY while the root already is the symlink). The
    // walk then opens the root by name: O_NOFOLLOW must refuse it.
    const TEST: &str =
        "a_root_replaced_by_a_symlink_is_not_followed_when_the_first_rmdir_says_not_empty";
    if let Some(scratch) = tracee_arg() {
        let mut dir = root_with_a_file(&scratch);
        fs::rename(dir.path(), scratch.join("moved")).unwrap();
        symlink(scratch.join("victim"), dir.path()).unwrap();
        let err = dir.cleanup().unwrap_err();
        assert!(err.to_string().contains("no longer a directory"), "{}", err);
        return;
    }
    if !common::need::strace() {
        return;
    }
    let (_scratch, path) = canonical_scratch();
    let victim = make_victim(&path);
    let root = path.join("root");
    rerun_injecting(TEST, &path, &root, "rmdir:error=ENOTEMPTY:when=1");
    assert_victim_intact(&victim, &[]);
    assert!(root.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(list(&path.join("moved")), ["own"]);
}

/// Re-runs `test` (which must pass) in `scratch`, next to [`make_victim`]'s directory, under
/// strace signalling it (`SIGUSR1`, see [`swap_on_sigusr1`]) on its first `unlinkat` in
/// `scratch/root`; checks that the signal came and the victim is intact. Returns the root.
#[cfg(unix)]
fn rerun_swapping_at_the_first_unlink(test: &str, scratch: &Path) -> PathBuf {
    let victim = make_victim(scratch);
    let root = scratch.join("root");
    let trace = rerun_passing(
        test,
        &[
            "-P",
            root.to_str().unwrap(),
            "-e",
            "inject=unlinkat:signal=SIGUSR1:when=1",
        ],
        scratch,
    );
    assert!(trace.contains("SIGUSR1"), "no signal was sent:\n{}", trace);
    assert_victim_intact(&victim, &[]);
    root
}

#[cfg(unix)]
#[test]
fn a_subdirectory_swapped_for_a_symlink_after_the_listing_is_not_followed() {
    // The walk lists the root (`sub` is a directory), then, before it opens `sub`, `sub` is
    // replaced by a symlink to a victim: strace signals the walk on its first `unlinkat` in
    // the root (of the file `f`, made between the listing and the open), and the handler swaps.
    const TEST: &str = "a_subdirectory_swapped_for_a_symlink_after_the_listing_is_not_followed";
    if let Some(scratch) = tracee_arg() {
        let mut dir = in_dir(&scratch)
            .prefix("root")
            .random_len(0)
            .temporary_directory()
            .unwrap();
        let root = dir.path().to_path_buf();
        fs::write(root.join("f"), b"f").unwrap();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/s"), b"s").unwrap();
        swap_on_sigusr1(
            &root.join("sub"),
            &root.join("moved"),
            Some(&scratch.join("victim")),
        );
        let result = dir.cleanup();
        assert!(SWAPPED.load(Ordering::SeqCst), "the swap did not happen");
        result.unwrap();
        assert!(!exists(&root));
        return;
    }
    if !common::need::strace() {
        return;
    }
    let (_scratch, path) = canonical_scratch();
    rerun_swapping_at_the_first_unlink(TEST, &path);
    assert_eq!(list(&path), ["victim"]);
}

#[cfg(unix)]
#[test]
fn the_walk_stops_when_a_closed_directory_was_moved() {
    // A chain deeper than the descriptors the walk holds: the upper directories are closed
    // (their identity recorded) while it works at the bottom. There, strace signals it and
    // the handler moves `d5` (closed) into a victim directory outside the tree. Coming back
    // up, `..` of `d5` is the victim, not `d4`: the walk must stop there, not go on in the
    // victim (and then its parents). The victim sits deep in the scratch directory, so that
    // even a walk without the check only climbs inside it.
    const TEST: &str = "the_walk_stops_when_a_closed_directory_was_moved";
    const DEPTH: usize = 100;
    let chain = |root: &Path, n: usize| {
        let mut p = root.to_path_buf();
        for i in 1..=n {
            p.push(format!("d{}", i));
        }
        p
    };
    let sandbox = |scratch: &Path| chain(&scratch.join("sandbox"), 12);
    if let Some(scratch) = tracee_arg() {
        let mut dir = in_dir(&scratch)
            .prefix("root")
            .random_len(0)
            .temporary_directory()
            .unwrap();
        let bottom = chain(dir.path(), DEPTH);
        fs::create_dir_all(&bottom).unwrap();
        fs::write(bottom.join("leaf"), b"leaf").unwrap();
        swap_on_sigusr1(
            &chain(dir.path(), 5),
            &sandbox(&scratch).join("victim/d5"),
            None,
        );
        let err = dir.cleanup().unwrap_err();
        assert!(SWAPPED.load(Ordering::SeqCst), "the move did not happen");
        assert!(err.to_string().contains("moved during removal"), "{}", err);
        return;
    }
    if !common::need::strace() {
        return;
    }
    let (_scratch, path) = canonical_scratch();
    let deep = sandbox(&path);
    fs::create_dir_all(&deep).unwrap();
    let victim = make_victim(&deep);
    let bottom = chain(&path.join("root"), DEPTH);
    let trace = rerun_passing(
        TEST,
        &[
            "-P",
            bottom.to_str().unwrap(),
            "-e",
            "inject=unlinkat:signal=SIGUSR1:when=1",
        ],
        &path,
    );
    assert!(trace.contains("SIGUSR1"), "no signal was sent:\n{}", trace);
    assert_victim_intact(&victim, &["d5"]);
    assert_eq!(list(&deep), ["victim"]);
}

#[cfg(unix)]
#[test]
fn a_subdirectory_swapped_for_a_symlink_before_its_mode_is_repaired_is_not_followed() {
    // As nobody: `sub` (mode 000) cannot be opened, so the walk gives it mode 0700 itself,
    // through an O_PATH|O_NOFOLLOW descriptor. Between its last failed open and that repair,
    // `sub` becomes a symlink to a victim directory of the same user: strace signals the walk
    // on its second `openat` in the tree (`sub`, then `sub` again after repairing the root;
    // the root itself is opened with `open` on x86_64) and the handler swaps as that call
    // returns. The trace is checked to show the swap right before the repair's open. The
    // victim's mode must stay.
    const TEST: &str =
        "a_subdirectory_swapped_for_a_symlink_before_its_mode_is_repaired_is_not_followed";
    if let Some(scratch) = tracee_arg() {
        // The re-run is a fresh process of its own (strace started it): it becomes nobody
        // as a whole, never through a fork of itself.
        become_nobody();
        let mut dir = in_dir(&scratch)
            .prefix("root")
            .random_len(0)
            .temporary_directory()
            .unwrap();
        let root = dir.path().to_path_buf();
        fs::create_dir(root.join("sub")).unwrap();
        fs::write(root.join("sub/s"), b"s").unwrap();
        chmod(&root.join("sub"), 0o000);
        swap_on_sigusr1(
            &root.join("sub"),
            &root.join("moved"),
            Some(&scratch.join("victim")),
        );
        let _ = dir.cleanup();
        assert!(SWAPPED.load(Ordering::SeqCst), "the swap did not happen");
        return;
    }
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::for_nobody();
    let path = scratch.path().canonicalize().unwrap();
    let victim = make_victim(&path);
    chown_to_nobody_except(&victim, Path::new(""));
    chmod(&victim, 0o750);
    let root = path.join("root");
    let trace = rerun_passing(
        TEST,
        &[
            "-P",
            root.to_str().unwrap(),
            "-e",
            "inject=openat:signal=SIGUSR1:when=2",
        ],
        &path,
    );
    // The swap landed right before the repair's O_PATH open, or the test proves nothing.
    let after_signal: Vec<&str> = trace
        .lines()
        .skip_while(|l| !l.contains("--- SIGUSR1"))
        .filter(|l| l.contains("openat("))
        .collect();
    assert!(
        after_signal.first().is_some_and(|l| l.contains("O_PATH")),
        "the signal did not come right before the repair:\n{}",
        trace
    );
    assert_eq!(mode(&victim), 0o750);
    assert_victim_intact(&victim, &[]);
}

#[cfg(unix)]
#[test]
fn a_root_replaced_by_a_symlink_during_the_walk_is_not_followed_and_said_so() {
    // The walk holds the root open and unlinks its file `own`: right then (strace signals it
    // on that `unlinkat`; the handler swaps) the root is moved away and a symlink to a victim
    // takes its name. The last `rmdir`, by path, meets the symlink: the error says that the
    // root is no longer a directory; the victim and the moved root are left alone.
    const TEST: &str = "a_root_replaced_by_a_symlink_during_the_walk_is_not_followed_and_said_so";
    if let Some(scratch) = tracee_arg() {
        let mut dir = root_with_a_file(&scratch);
        swap_on_sigusr1(
            dir.path(),
            &scratch.join("moved"),
            Some(&scratch.join("victim")),
        );
        let err = dir.cleanup().unwrap_err();
        assert!(SWAPPED.load(Ordering::SeqCst), "the swap did not happen");
        assert!(err.to_string().contains("no longer a directory"), "{}", err);
        return;
    }
    if !common::need::strace() {
        return;
    }
    let (_scratch, path) = canonical_scratch();
    let root = rerun_swapping_at_the_first_unlink(TEST, &path);
    assert!(root.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(list(&path.join("moved")), Vec::<String>::new());
}

/// The shape of the tests that inject faults on the root: in the traced re-run, `body` gets
/// the directory `root` (holding the file `own`, or, when `with_sub`, a directory `sub` holding it)
/// and checks what its cleanup does; outside it, the test re-runs itself under strace with
/// `-e inject=INJECT` on the system calls naming the root or made relative to it, and gets
/// the trace (`None` in the re-run, and when strace is missing and the developer chose to
/// skip such tests).
#[cfg(unix)]
fn with_faults_on_the_root(
    test: &str,
    with_sub: bool,
    inject: &str,
    body: impl FnOnce(TemporaryDirectory),
) -> Option<String> {
    if let Some(scratch) = tracee_arg() {
        let dir = root_with_a_file(&scratch);
        if with_sub {
            // The file goes into `sub`: every `unlinkat` relative to the root is then the
            // `rmdir` of `sub`, whichever thread makes it (strace counts `when=` per thread,
            // and the parallel walk hands `sub` to any of them).
            fs::create_dir(dir.path().join("sub")).unwrap();
            fs::rename(dir.path().join("own"), dir.path().join("sub/own")).unwrap();
        }
        body(dir);
        return None;
    }
    if !common::need::strace() {
        return None;
    }
    let (_scratch, path) = canonical_scratch();
    Some(rerun_injecting(test, &path, &path.join("root"), inject))
}

/// Asserts that `err` says `op` failed on `root/sub` with the OS error `errno`.
#[cfg(unix)]
fn assert_names_sub(err: io::Error, op: &str, errno: i32) {
    assert_names(err, "sub", op, errno)
}

/// Asserts that `err` says `op` failed on `root/NAME` with the OS error `errno`.
#[cfg(unix)]
fn assert_names(err: io::Error, name: &str, op: &str, errno: i32) {
    let text = err.to_string();
    let sub = format!("root{}{}`", std::path::MAIN_SEPARATOR, name);
    let os = format!("(os error {})", errno);
    assert!(
        text.contains(op) && text.contains(&sub) && text.contains(&os),
        "{}",
        text
    );
}

/// Cleans `dir` up, which must fail, under an `alarm` (the re-run ends if it loops), and
/// keeps it (the trace then holds the calls of one cleanup, none of a drop).
#[cfg(unix)]
fn failed_cleanup(mut dir: TemporaryDirectory) -> io::Error {
    // SAFETY: alarm has no memory-safety preconditions; SIGALRM ends the re-run.
    unsafe { libc::alarm(30) };
    let err = dir.cleanup().unwrap_err();
    let _ = dir.keep();
    err
}

/// The lines of `trace` that contain `needle`.
#[cfg(unix)]
fn calls<'a>(trace: &'a str, needle: &str) -> Vec<&'a str> {
    trace.lines().filter(|l| l.contains(needle)).collect()
}

#[cfg(unix)]
#[test]
fn a_root_that_vanishes_after_the_first_rmdir_counts_as_removed() {
    // The first `rmdir` of the root says "not empty"; then someone else removes the root
    // before the walk opens it (strace makes that open answer ENOENT). Gone is what cleanup
    // wanted: success, not an error.
    with_faults_on_the_root(
        "a_root_that_vanishes_after_the_first_rmdir_counts_as_removed",
        false,
        "open,openat:error=ENOENT:when=1",
        |mut dir| dir.cleanup().unwrap(),
    );
}

#[cfg(unix)]
#[test]
fn a_directory_that_never_empties_is_given_up_after_three_passes() {
    // Every `rmdir` of the root says "not empty" (strace), as if entries kept appearing: the
    // walk lists it again, three times in all, then returns the error (which does not say
    // that the root is no longer a directory). Never an endless loop.
    let trace = with_faults_on_the_root(
        "a_directory_that_never_empties_is_given_up_after_three_passes",
        false,
        "rmdir:error=ENOTEMPTY",
        |dir| {
            let err = failed_cleanup(dir);
            assert_eq!(err.kind(), io::ErrorKind::DirectoryNotEmpty, "{}", err);
            assert!(err.to_string().contains("root"), "{}", err);
            assert!(!err.to_string().contains("no longer"), "{}", err);
        },
    );
    if let Some(trace) = trace {
        // The first `rmdir`, and one after each of the three listings.
        let rmdirs = calls(&trace, "rmdir(");
        assert_eq!(rmdirs.len(), 4, "{:#?}", rmdirs);
    }
}

#[cfg(unix)]
#[test]
fn a_subdirectory_that_cannot_be_removed_is_named_in_the_error() {
    // The `rmdir` of the emptied subdirectory `sub` (the one `unlinkat` relative to the root:
    // the file `own` is inside `sub`) fails once with EIO (strace): the error names `sub` and
    // says what happened; the root, which still holds `sub`, is left.
    with_faults_on_the_root(
        "a_subdirectory_that_cannot_be_removed_is_named_in_the_error",
        true,
        "unlinkat:error=EIO:when=1",
        |mut dir| assert_names_sub(dir.cleanup().unwrap_err(), "remove directory", libc::EIO),
    );
}

#[cfg(unix)]
#[test]
fn a_subdirectory_that_never_empties_is_given_up_after_three_passes() {
    // Every `rmdir` of the subdirectory `sub` (every `unlinkat` relative to the root: the file
    // `own` is inside `sub`) says "not empty" (strace): the walk lists it again, three times in
    // all, then reports it. Never an endless loop, never given up before the third listing.
    let trace = with_faults_on_the_root(
        "a_subdirectory_that_never_empties_is_given_up_after_three_passes",
        true,
        "unlinkat:error=ENOTEMPTY:when=1+",
        |dir| assert_names_sub(failed_cleanup(dir), "remove directory", libc::ENOTEMPTY),
    );
    if let Some(trace) = trace {
        let rmdirs = calls(&trace, "AT_REMOVEDIR");
        assert_eq!(rmdirs.len(), 3, "{:#?}", rmdirs);
    }
}

#[cfg(unix)]
#[test]
fn a_root_that_cannot_be_opened_is_reported_without_a_repair() {
    // The walk's open of the root fails with EIO (strace): that is the error, as it is. A
    // mode repair is only for "permission denied" (and would not help here).
    with_faults_on_the_root(
        "a_root_that_cannot_be_opened_is_reported_without_a_repair",
        false,
        "open,openat:error=EIO:when=1",
        |mut dir| {
            let text = dir.cleanup().unwrap_err().to_string();
            assert!(text.contains("failed to open directory"), "{}", text);
            assert!(text.contains("(os error 5)"), "EIO: {}", text);
        },
    );
}

#[cfg(unix)]
#[test]
fn a_subdirectory_that_cannot_be_opened_is_reported_without_a_repair() {
    // The walk's open of the subdirectory `sub` fails with EIO (strace): the error names
    // `sub` as it is, with no mode repair of the root or of `sub` tried first. The first
    // `openat` naming the root or relative to it opens `sub`: the root itself is opened with
    // `open` where that call exists, with the first `openat` elsewhere.
    let when = if cfg!(any(target_arch = "x86_64", target_arch = "x86")) {
        1
    } else {
        2
    };
    let trace = with_faults_on_the_root(
        "a_subdirectory_that_cannot_be_opened_is_reported_without_a_repair",
        true,
        &format!("openat:error=EIO:when={}", when),
        |mut dir| assert_names_sub(dir.cleanup().unwrap_err(), "open directory", libc::EIO),
    );
    if let Some(trace) = trace {
        let injected = calls(&trace, "(INJECTED)");
        assert!(
            injected.iter().all(|l| l.contains("\"sub\"")),
            "the open of `sub` was not the one made to fail:\n{}",
            trace
        );
    }
}

#[cfg(unix)]
#[test]
fn a_file_that_cannot_be_unlinked_is_reported_without_a_repair() {
    // The unlink of the file `own` fails with EIO (strace): the error names `own` as it is,
    // with no mode repair of the root tried first (that is only for "permission denied").
    with_faults_on_the_root(
        "a_file_that_cannot_be_unlinked_is_reported_without_a_repair",
        false,
        "unlinkat:error=EIO:when=1",
        |mut dir| assert_names(dir.cleanup().unwrap_err(), "own", "remove", libc::EIO),
    );
}

#[cfg(unix)]
#[test]
fn an_entry_that_is_a_directory_at_its_unlink_is_entered_instead() {
    // The file `own` was listed as a file, but its unlink says "is a directory" (strace: as
    // if it was swapped for a directory after the listing): the walk takes it for one and
    // goes on (there the open says "not a directory" and it is unlinked after all).
    with_faults_on_the_root(
        "an_entry_that_is_a_directory_at_its_unlink_is_entered_instead",
        false,
        "unlinkat:error=EISDIR:when=1",
        |mut dir| dir.cleanup().unwrap(),
    );
}
