//! The default directory: `gettempdir`, its cache and `set_tempdir` (CPython's
//! TestGetTempDir, TestCandidateTempdirList, TestGetDefaultTempdir and TestBadTempdir through
//! the override), and every `TMPDIR`/`TEMP`/`TMP` fallback case.
//!
//! Discovery reads process-wide state (environment, current directory, the cache). Each case
//! runs in a forked child that sets up its own environment, so the test process never changes;
//! one lock serializes the cases so that no other test thread is inside the library (or holds
//! the environment lock) at the moment of a fork.
// Tests build with the current toolchain; only the library is held to Rust 1.63.
#![allow(clippy::incompatible_msrv)]
#![cfg(unix)] // for now

mod common;

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use common::{as_nobody, creators, in_child, list, Scratch, NOBODY};

const VARS: [&str; 3] = ["TMPDIR", "TEMP", "TMP"];

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A scratch directory, made under the lock: `Scratch::new` reads the environment
/// (`std::env::temp_dir`), and a fork by another test while std's environment lock is held
/// would leave that child blocked forever in `set_var`.
fn scratch() -> Scratch {
    let _serial = lock();
    Scratch::new()
}

/// [`scratch`] for the unprivileged user.
fn scratch_for_nobody() -> Scratch {
    let _serial = lock();
    Scratch::for_nobody()
}

/// Writes `message` straight to the standard error of a forked child (the test harness's
/// capture of the parent does not reach the parent from there).
fn report(message: &str) {
    let line = format!("{}\n", message);
    // SAFETY: writes a buffer we own to descriptor 2.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}

/// Runs `body` in a forked child whose `TMPDIR`, `TEMP` and `TMP` are exactly `vars` (the
/// others unset), whose cache is empty, and after `setup`.
fn with_env(vars: &[(&str, &OsStr)], setup: impl FnOnce(), body: impl FnOnce() -> bool) -> bool {
    let _serial = lock();
    in_child(
        || {
            for var in VARS {
                std::env::remove_var(var);
            }
            for (var, value) in vars {
                std::env::set_var(var, value);
            }
            tempkit::set_tempdir(None);
            setup();
        },
        body,
    )
}

/// Whether `gettempdir()` answers `expected` (reporting what it said otherwise).
fn answers(expected: &Path) -> bool {
    match tempkit::gettempdir() {
        Ok(dir) if dir == expected => true,
        other => {
            report(&format!(
                "gettempdir() = {:?}, expected {}",
                other,
                expected.display()
            ));
            false
        }
    }
}

#[test]
fn the_default_directory_is_an_absolute_directory_and_the_same_each_time() {
    let _serial = lock();
    let first = tempkit::gettempdir().unwrap();
    assert!(first.is_absolute(), "{}", first.display());
    assert!(first.is_dir(), "{}", first.display());
    assert_eq!(tempkit::gettempdir().unwrap(), first);
}

#[test]
fn the_default_directory_is_writable() {
    let _serial = lock();
    let (file, path) = tempkit::mkstemp().unwrap();
    assert_eq!(
        path.parent(),
        Some(tempkit::gettempdir().unwrap().as_path())
    );
    std::fs::write(&path, b"written").unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), b"written");
    drop(file);
    std::fs::remove_file(&path).unwrap();
}

/// Where `held` is: its path, or for an object without a name, the directory the kernel
/// names for its descriptor (`/proc/self/fd/N` reads `DIR/#inode (deleted)` for an
/// `O_TMPFILE` file).
fn location(held: &mut creators::Held) -> PathBuf {
    use std::os::unix::io::AsRawFd;
    let fd = match held {
        creators::Held::Unnamed(f) => f.as_raw_fd(),
        creators::Held::Spooled(s) => s.as_file().unwrap().as_raw_fd(),
        other => return other.path().unwrap().parent().unwrap().to_path_buf(),
    };
    let link = std::fs::read_link(format!("/proc/self/fd/{}", fd)).unwrap();
    link.parent().unwrap().to_path_buf()
}

/// Creates one object of every kind with `builder` and checks that each is in `dir` (and
/// that every path is absolute), reporting the first that is not.
fn every_creator_lands_in(builder: &tempkit::Builder, dir: &Path) -> bool {
    for creator in creators::all() {
        let mut held = match (creator.create)(builder) {
            Ok(held) => held,
            Err(e) => {
                report(&format!("{}: {}", creator.name, e));
                return false;
            }
        };
        let at = location(&mut held);
        let absolute = held.path().map_or(true, Path::is_absolute);
        if at != dir || !absolute {
            report(&format!(
                "{}: in {} (want {})",
                creator.name,
                at.display(),
                dir.display()
            ));
            return false;
        }
        held.finish().unwrap();
    }
    #[allow(deprecated)]
    let name = builder.mktemp().unwrap();
    name.parent() == Some(dir)
}

#[test]
fn every_creator_uses_the_discovered_directory() {
    let scratch = scratch();
    let dir = scratch.path().to_path_buf();
    let ok = with_env(
        &[("TMPDIR", dir.as_os_str())],
        || {},
        || every_creator_lands_in(&tempkit::Builder::new(), &dir),
    );
    assert!(ok, "the child failed");
    assert!(scratch.names().is_empty());
}

#[test]
fn every_creator_makes_absolute_paths_from_a_relative_dir() {
    let scratch = scratch();
    let sub = scratch.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let ok = with_env(
        &[],
        || std::env::set_current_dir(scratch.path()).unwrap(),
        || every_creator_lands_in(tempkit::Builder::new().dir("sub"), &sub),
    );
    assert!(ok, "the child failed");
    assert!(list(&sub).is_empty());
}

#[test]
fn the_variables_are_tried_in_the_order_tmpdir_temp_tmp() {
    let scratch = scratch();
    let [a, b, c] = ["a", "b", "c"].map(|n| {
        let p = scratch.path().join(n);
        std::fs::create_dir(&p).unwrap();
        p
    });
    let cases: [(Vec<(&str, &OsStr)>, &Path); 4] = [
        (
            vec![
                ("TMPDIR", a.as_os_str()),
                ("TEMP", b.as_os_str()),
                ("TMP", c.as_os_str()),
            ],
            &a,
        ),
        (vec![("TEMP", b.as_os_str()), ("TMP", c.as_os_str())], &b),
        (vec![("TMP", c.as_os_str())], &c),
        (vec![("TMPDIR", a.as_os_str()), ("TMP", c.as_os_str())], &a),
    ];
    for (vars, expected) in cases {
        assert!(with_env(&vars, || {}, || answers(expected)), "{:?}", vars);
    }
    // The probes left nothing behind.
    for dir in [&a, &b, &c] {
        assert!(list(dir).is_empty(), "{:?}", list(dir));
    }
}

/// A value a variable can have that makes it unusable.
#[derive(Debug)]
enum Bad {
    Unset,
    Empty,
    Missing,
    AFile,
}

#[test]
fn an_unusable_variable_falls_through_to_the_next_candidate() {
    let scratch = scratch();
    let good = scratch.path().join("good");
    std::fs::create_dir(&good).unwrap();
    let missing = scratch.path().join("missing");
    let file = scratch.path().join("a-file");
    std::fs::write(&file, b"not a directory").unwrap();
    for bad in [Bad::Unset, Bad::Empty, Bad::Missing, Bad::AFile] {
        let bad_value: Option<&OsStr> = match bad {
            Bad::Unset => None,
            Bad::Empty => Some(OsStr::new("")),
            Bad::Missing => Some(missing.as_os_str()),
            Bad::AFile => Some(file.as_os_str()),
        };
        // The bad one in each position, the good one after it; after TMP comes /tmp.
        for position in 0..3 {
            let mut vars: Vec<(&str, &OsStr)> = Vec::new();
            if let Some(value) = bad_value {
                vars.push((VARS[position], value));
            }
            let expected: &Path = if position < 2 {
                vars.push((VARS[position + 1], good.as_os_str()));
                &good
            } else {
                Path::new("/tmp")
            };
            assert!(
                with_env(&vars, || {}, || answers(expected)),
                "{:?} in {}",
                bad,
                VARS[position]
            );
        }
        // All three bad at once.
        let vars: Vec<(&str, &OsStr)> = match bad_value {
            Some(value) => VARS.iter().map(|&v| (v, value)).collect(),
            None => Vec::new(),
        };
        assert!(
            with_env(&vars, || {}, || answers(Path::new("/tmp"))),
            "{:?} everywhere",
            bad
        );
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
    assert!(!missing.exists());
    assert!(list(&good).is_empty(), "the probe left {:?}", list(&good));
}

#[test]
fn an_unwritable_variable_falls_through_for_an_unprivileged_user() {
    // Two directories nobody cannot write to: one of root's (0755) and one of its own with
    // mode 0555. As root both would be usable, so discovery runs as nobody.
    let scratch = scratch();
    let root_owned = scratch.path().join("root-owned");
    std::fs::create_dir(&root_owned).unwrap();
    std::fs::set_permissions(&root_owned, std::fs::Permissions::from_mode(0o755)).unwrap();
    let read_only = scratch.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::os::unix::fs::chown(&read_only, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
    let good_scratch = scratch_for_nobody();
    let good = good_scratch.path();
    for unwritable in [&root_owned, &read_only] {
        for position in 0..3 {
            let mut vars: Vec<(&str, &OsStr)> = vec![(VARS[position], unwritable.as_os_str())];
            // /tmp is writable by everyone: after TMP, discovery lands there.
            let expected: &Path = if position < 2 {
                vars.push((VARS[position + 1], good.as_os_str()));
                good
            } else {
                Path::new("/tmp")
            };
            let ok = with_env(&vars, || {}, || as_nobody(|| answers(expected)));
            assert!(ok, "{} in {}", unwritable.display(), VARS[position]);
        }
    }
    for dir in [&root_owned, &read_only, &good.to_path_buf()] {
        common::assert_empty(dir);
    }
}

#[test]
fn the_answer_is_cached_until_set_tempdir_none() {
    let scratch = scratch();
    let [first, second] = ["first", "second"].map(|n| {
        let p = scratch.path().join(n);
        std::fs::create_dir(&p).unwrap();
        p
    });
    let ok = with_env(
        &[("TMPDIR", first.as_os_str())],
        || {},
        || {
            let mut ok = answers(&first);
            // Neither a new TMPDIR nor the directory vanishing changes the cached answer.
            std::env::set_var("TMPDIR", &second);
            ok &= answers(&first);
            std::fs::remove_dir(&first).unwrap();
            ok &= answers(&first);
            // Clearing the cache discovers again.
            tempkit::set_tempdir(None);
            ok && answers(&second)
        },
    );
    assert!(ok, "the child failed");
}

#[test]
fn concurrent_first_calls_agree() {
    let scratch = scratch();
    let dir = scratch.path().to_path_buf();
    let ok = with_env(
        &[("TMPDIR", dir.as_os_str())],
        || {},
        || {
            let threads: Vec<_> = (0..8)
                .map(|_| std::thread::spawn(tempkit::gettempdir))
                .collect();
            threads
                .into_iter()
                .all(|t| t.join().ok().and_then(Result::ok).as_deref() == Some(dir.as_path()))
        },
    );
    assert!(ok, "the child failed");
    assert!(
        scratch.names().is_empty(),
        "the probes left {:?}",
        scratch.names()
    );
}

#[test]
fn set_tempdir_is_taken_as_given_without_a_probe() {
    let scratch = scratch();
    let missing = scratch.path().join("missing");
    let file = scratch.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    let ok = with_env(
        &[],
        || {},
        || {
            // Not probed: a missing directory is accepted and returned...
            tempkit::set_tempdir(Some(missing.clone()));
            let mut ok = answers(&missing);
            // ...and creating in it fails at once, naming it (CPython's TestBadTempdir with
            // `tempfile.tempdir` pointed at a bad directory).
            let err = tempkit::mkstemp().unwrap_err();
            ok &= err.kind() == ErrorKind::NotFound
                && err.to_string().contains(missing.to_str().unwrap());
            let err = tempkit::mkdtemp().unwrap_err();
            ok &= err.kind() == ErrorKind::NotFound
                && err.to_string().contains(missing.to_str().unwrap());
            tempkit::set_tempdir(Some(file.clone()));
            ok &= answers(&file);
            let err = tempkit::mkstemp().unwrap_err();
            ok &= err.kind() == ErrorKind::NotADirectory;
            if !ok {
                report(&format!("last error: {}", err));
            }
            ok
        },
    );
    assert!(ok, "the child failed");
    assert_eq!(scratch.names(), ["a-file"]);
}

#[test]
fn set_tempdir_makes_a_relative_path_absolute_at_once() {
    let scratch = scratch();
    let elsewhere = scratch.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    let ok = with_env(
        &[],
        || std::env::set_current_dir(scratch.path()).unwrap(),
        || {
            tempkit::set_tempdir(Some(PathBuf::from("rel/./x/..")));
            std::env::set_current_dir(&elsewhere).unwrap();
            answers(&scratch.path().join("rel"))
        },
    );
    assert!(ok, "the child failed");
}

#[test]
fn tmpdir_is_made_absolute_and_folded_without_resolving_anything() {
    // As Python's os.path.abspath: relative against the current directory, `.`, `..` and
    // trailing separators folded lexically, symlinks kept (no realpath).
    let scratch = scratch();
    let sub = scratch.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let link = scratch.path().join("link");
    symlink(&sub, &link).unwrap();
    let absolute_messy = format!("{}/./link/../sub/", scratch.path().display());
    let cases: [(&str, PathBuf); 6] = [
        ("sub", sub.clone()),
        ("./sub/../sub/", sub.clone()),
        (".", scratch.path().to_path_buf()),
        ("link", link.clone()),
        ("link/.", link.clone()),
        (&absolute_messy, sub.clone()),
    ];
    for (value, expected) in &cases {
        let ok = with_env(
            &[("TMPDIR", OsStr::new(value))],
            || std::env::set_current_dir(scratch.path()).unwrap(),
            || answers(expected),
        );
        assert!(ok, "TMPDIR={:?}", value);
    }
    assert!(list(&sub).is_empty());
}

#[test]
fn the_case_of_the_directory_is_kept() {
    // CPython's test_case_sensitive.
    let scratch = scratch();
    let mixed = scratch.path().join("Mixed-Case-Temp");
    std::fs::create_dir(&mixed).unwrap();
    assert!(with_env(
        &[("TMPDIR", mixed.as_os_str())],
        || {},
        || answers(&mixed)
    ));
}

#[test]
fn a_successful_probe_leaves_nothing_behind() {
    // CPython's test_no_files_left_behind, success half.
    let scratch = scratch();
    for _ in 0..3 {
        assert!(with_env(
            &[("TMPDIR", scratch.path().as_os_str())],
            || {},
            || answers(scratch.path())
        ));
    }
    assert!(
        scratch.names().is_empty(),
        "the probe left {:?}",
        scratch.names()
    );
}

/// Where `path` first appears in `text` as a whole path (not as the start of a longer one).
fn position_of_path(text: &str, path: &Path) -> Option<usize> {
    let needle = path.to_str().unwrap();
    text.match_indices(needle).map(|(i, _)| i).find(|&i| {
        let next = text[i + needle.len()..].chars().next();
        !matches!(next, Some(c) if c.is_alphanumeric() || "/_.-".contains(c))
    })
}

#[test]
fn when_no_candidate_is_usable_the_error_lists_them_all_and_the_probes_leave_nothing() {
    // Every write fails (the file size limit is 0), so every probe fails half way: after
    // creating its file. Discovery must remove each probe file, try every candidate in order,
    // and report NotFound listing them (CPython's test_no_files_left_behind, failure half,
    // and test_wanted_dirs).
    let scratch = scratch();
    let [a, b, c, cwd] = ["tmpdir", "temp", "tmp", "cwd"].map(|n| {
        let p = scratch.path().join(n);
        std::fs::create_dir(&p).unwrap();
        p
    });
    let vars = [
        ("TMPDIR", a.as_os_str()),
        ("TEMP", b.as_os_str()),
        ("TMP", c.as_os_str()),
    ];
    let order: Vec<&Path> = vec![
        &a,
        &b,
        &c,
        Path::new("/tmp"),
        Path::new("/var/tmp"),
        Path::new("/usr/tmp"),
        &cwd,
    ];
    let ok = with_env(
        &vars,
        || {
            std::env::set_current_dir(&cwd).unwrap();
            no_writes();
        },
        || {
            let err = match tempkit::gettempdir() {
                Ok(dir) => {
                    report(&format!(
                        "gettempdir() found {} with every write failing",
                        dir.display()
                    ));
                    return false;
                }
                Err(e) => e,
            };
            let text = err.to_string();
            let positions: Vec<Option<usize>> =
                order.iter().map(|p| position_of_path(&text, p)).collect();
            let listed_in_order =
                positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1]);
            if err.kind() != ErrorKind::NotFound || !listed_in_order {
                report(&format!("{:?}: {} ({:?})", err.kind(), text, positions));
                return false;
            }
            // Creation with the default directory reports the same failure.
            tempkit::mkstemp().map_err(|e| e.kind()).err() == Some(ErrorKind::NotFound)
        },
    );
    assert!(ok, "the child failed");
    for dir in [&a, &b, &c, &cwd] {
        assert!(
            list(dir).is_empty(),
            "a probe left {:?} in {}",
            list(dir),
            dir.display()
        );
    }
}

/// Set in the traced re-run of [`where_o_tmpfile_is_refused_the_named_probe_decides`]: the
/// directory holding the candidates whose `O_TMPFILE` opens strace refuses.
const REFUSED_ROOT: &str = "TEMPKIT_TEST_REFUSED_ROOT";

/// The candidates of that test, inside `root`: a usable directory, a missing one, a file, a
/// directory of root's (unwritable for nobody), and one of nobody's.
fn refused_candidates(root: &Path) -> [PathBuf; 5] {
    ["good", "missing", "a-file", "root-owned", "nobodys"].map(|n| root.join(n))
}

/// Makes every write fail: a file size limit of 0, and `SIGXFSZ` ignored so that a write past
/// it fails with `EFBIG` instead of killing the process.
fn no_writes() {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls in the single-threaded child.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &none), 0);
    }
}

#[test]
fn where_o_tmpfile_is_refused_the_named_probe_decides() {
    // A file system may refuse O_TMPFILE (EOPNOTSUPP: vfat, NFS, ...). strace makes every
    // open of the candidate directories themselves fail so (`-P` limits the injection to
    // calls naming them, which the named probe's `DIR/NAME` does not), and discovery must
    // then accept and refuse exactly the candidates the named probe accepts and refuses.
    if let Some(root) = std::env::var_os(REFUSED_ROOT) {
        let [good, missing, file, root_owned, nobodys] = refused_candidates(Path::new(&root));
        let vars = |a: &PathBuf, b: &PathBuf, c: &PathBuf| {
            vec![
                ("TMPDIR", a.as_os_str().to_owned()),
                ("TEMP", b.as_os_str().to_owned()),
                ("TMP", c.as_os_str().to_owned()),
            ]
        };
        let run = |vars: Vec<(&'static str, std::ffi::OsString)>,
                   setup: fn(),
                   body: &dyn Fn() -> bool| {
            let vars: Vec<(&str, &OsStr)> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
            with_env(&vars, setup, body)
        };
        // Missing and not-a-directory are refused; the good one after them is accepted.
        assert!(run(vars(&missing, &file, &good), || {}, &|| answers(&good)));
        // Unwritable for nobody is refused; nobody's own directory is accepted.
        assert!(run(vars(&root_owned, &nobodys, &good), || {}, &|| {
            as_nobody(|| answers(&nobodys))
        }));
        // A write that fails refuses the directory (the named probe's file is removed),
        // reporting the write's error, not the refusal of O_TMPFILE.
        assert!(run(vars(&good, &good, &good), no_writes, &|| {
            match tempkit::gettempdir() {
                Ok(dir) => {
                    report(&format!(
                        "{} accepted with every write failing",
                        dir.display()
                    ));
                    false
                }
                Err(e) => {
                    let text = e.to_string();
                    let efbig = std::io::Error::from_raw_os_error(libc::EFBIG).to_string();
                    let named =
                        text.contains(&format!("`{}` (", good.display())) && text.contains(&efbig);
                    if !named {
                        report(&text);
                    }
                    named
                }
            }
        }));
        return;
    }
    let scratch = Scratch::new();
    let [good, missing, file, root_owned, nobodys] = refused_candidates(scratch.path());
    std::fs::create_dir(&good).unwrap();
    std::fs::write(&file, b"not a directory").unwrap();
    std::fs::create_dir(&root_owned).unwrap();
    std::fs::set_permissions(&root_owned, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(&nobodys).unwrap();
    if common::is_root() {
        std::os::unix::fs::chown(&nobodys, Some(NOBODY), Some(NOBODY)).unwrap();
    }
    // Nobody must reach its directory through the scratch directory.
    std::fs::set_permissions(scratch.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut options = vec![
        "-e".to_string(),
        "inject=open,openat:error=EOPNOTSUPP".to_string(),
    ];
    for dir in [&good, &missing, &file, &root_owned, &nobodys] {
        options.push("-P".to_string());
        options.push(dir.to_str().unwrap().to_string());
    }
    let Some(trace) = common::trace::strace_test_with(
        "where_o_tmpfile_is_refused_the_named_probe_decides",
        &[(REFUSED_ROOT, scratch.path().as_os_str())],
        &options,
        "open,openat",
    ) else {
        return;
    };
    // The control: the O_TMPFILE opens of each candidate tried were really refused.
    for dir in [&good, &missing, &file, &root_owned, &nobodys] {
        let refused = trace.lines().any(|l| {
            l.contains(&format!("\"{}\"", dir.display()))
                && l.contains("O_TMPFILE")
                && l.contains("EOPNOTSUPP")
                && l.contains("(INJECTED)")
        });
        assert!(
            refused,
            "no refused O_TMPFILE open of {}:\n{}",
            dir.display(),
            trace
        );
    }
    for dir in [&good, &root_owned, &nobodys] {
        common::assert_empty(dir);
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
    assert!(!missing.exists());
}
