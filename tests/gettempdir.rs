//! The default directory: `gettempdir`, its cache and `set_tempdir` (CPython's
//! TestGetTempDir, TestCandidateTempdirList, TestGetDefaultTempdir and TestBadTempdir through
//! the override), and every `TMPDIR`/`TEMP`/`TMP` fallback case.
//!
//! Discovery reads process-wide state (environment, current directory, the cache). Each case
//! runs in a fresh process of this test binary (`common::child::Child`: an `#[ignore]`d
//! `child_...` test run again alone) whose `TMPDIR`, `TEMP` and `TMP` are given to it, so the
//! test process never changes, and nothing is ever forked from the test harness.
// Tests build with the current toolchain; only the library is held to Rust 1.63.
#![allow(clippy::incompatible_msrv)]
#![cfg(unix)] // for now

mod common;

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use common::child::{child_args, Child};
use common::{creators, list, Scratch, NOBODY};

const VARS: [&str; 3] = ["TMPDIR", "TEMP", "TMP"];

/// The child test `test`, to run in a fresh process (so with an empty cache) whose `TMPDIR`,
/// `TEMP` and `TMP` are exactly `vars` (the others unset).
fn with_env(test: &str, vars: &[(&str, &OsStr)]) -> Child {
    let mut child = Child::new(test);
    for var in VARS {
        child = match vars.iter().find(|(k, _)| *k == var) {
            Some((_, value)) => child.env(var, value),
            None => child.env_remove(var),
        };
    }
    child
}

/// [`child_answers`] with `vars`: `gettempdir()` must answer `expected`.
fn answers(vars: &[(&str, &OsStr)], expected: &Path) -> Child {
    with_env("child_answers", vars).arg(expected)
}

/// A child test's argument `i`, or `None` when it was not given or is empty.
fn optional_arg(args: &[PathBuf], i: usize) -> Option<&Path> {
    args.get(i)
        .map(PathBuf::as_path)
        .filter(|p| !p.as_os_str().is_empty())
}

/// Asserts that `gettempdir()` answers `expected`.
fn assert_answers(expected: &Path) {
    let got = tempkit::gettempdir();
    assert!(
        matches!(&got, Ok(dir) if dir == expected),
        "gettempdir() = {:?}, expected {}",
        got,
        expected.display()
    );
}

/// A child: moves to its second argument, if given, and asserts that `gettempdir()` answers
/// its first.
#[test]
#[ignore]
fn child_answers() {
    let args = child_args();
    if let Some(cwd) = optional_arg(&args, 1) {
        std::env::set_current_dir(cwd).unwrap();
    }
    assert_answers(&args[0]);
}

#[test]
fn the_default_directory_is_an_absolute_directory_and_the_same_each_time() {
    let first = tempkit::gettempdir().unwrap();
    assert!(first.is_absolute(), "{}", first.display());
    assert!(first.is_dir(), "{}", first.display());
    assert_eq!(tempkit::gettempdir().unwrap(), first);
}

#[test]
fn the_default_directory_is_writable() {
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

/// Creates one object of every kind with `builder` and asserts that each is in `dir` (and
/// that every path is absolute).
fn assert_every_creator_lands_in(builder: &tempkit::Builder, dir: &Path) {
    for creator in creators::all() {
        let mut held =
            (creator.create)(builder).unwrap_or_else(|e| panic!("{}: {}", creator.name, e));
        let at = location(&mut held);
        let absolute = held.path().map_or(true, Path::is_absolute);
        assert!(
            at == dir && absolute,
            "{}: {:?} in {} (want {})",
            creator.name,
            held.path(),
            at.display(),
            dir.display()
        );
        held.finish().unwrap();
    }
    #[allow(deprecated)]
    let name = builder.mktemp().unwrap();
    assert_eq!(name.parent(), Some(dir), "mktemp");
}

/// A child: moves to its second argument, if given, and asserts that every creator lands in
/// its first, with a builder whose `dir` is its third if given (the default otherwise).
#[test]
#[ignore]
fn child_every_creator_lands_in() {
    let args = child_args();
    if let Some(cwd) = optional_arg(&args, 1) {
        std::env::set_current_dir(cwd).unwrap();
    }
    let mut builder = tempkit::Builder::new();
    if let Some(dir) = optional_arg(&args, 2) {
        builder.dir(dir);
    }
    assert_every_creator_lands_in(&builder, &args[0]);
}

#[test]
fn every_creator_uses_the_discovered_directory() {
    let scratch = Scratch::new();
    let dir = scratch.path().to_path_buf();
    with_env(
        "child_every_creator_lands_in",
        &[("TMPDIR", dir.as_os_str())],
    )
    .arg(&dir)
    .assert_passes();
    assert!(scratch.names().is_empty());
}

#[test]
fn every_creator_makes_absolute_paths_from_a_relative_dir() {
    let scratch = Scratch::new();
    let sub = scratch.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    with_env("child_every_creator_lands_in", &[])
        .arg(&sub)
        .arg(scratch.path())
        .arg("sub")
        .assert_passes();
    assert!(list(&sub).is_empty());
}

#[test]
fn the_variables_are_tried_in_the_order_tmpdir_temp_tmp() {
    let scratch = Scratch::new();
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
        answers(&vars, expected).assert_passes();
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
    let scratch = Scratch::new();
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
            let run = answers(&vars, expected).run();
            assert!(
                run.passed(),
                "{:?} in {}:\n{}",
                bad,
                VARS[position],
                run.output
            );
        }
        // All three bad at once.
        let vars: Vec<(&str, &OsStr)> = match bad_value {
            Some(value) => VARS.iter().map(|&v| (v, value)).collect(),
            None => Vec::new(),
        };
        let run = answers(&vars, Path::new("/tmp")).run();
        assert!(run.passed(), "{:?} everywhere:\n{}", bad, run.output);
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"not a directory");
    assert!(!missing.exists());
    assert!(list(&good).is_empty(), "the probe left {:?}", list(&good));
}

#[test]
fn an_unwritable_variable_falls_through_for_an_unprivileged_user() {
    // Two directories nobody cannot write to: one of root's (0755) and one of its own with
    // mode 0555. As root both would be usable, so discovery runs as nobody.
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::new();
    let root_owned = scratch.path().join("root-owned");
    std::fs::create_dir(&root_owned).unwrap();
    std::fs::set_permissions(&root_owned, std::fs::Permissions::from_mode(0o755)).unwrap();
    let read_only = scratch.path().join("read-only");
    std::fs::create_dir(&read_only).unwrap();
    std::os::unix::fs::chown(&read_only, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(&read_only, std::fs::Permissions::from_mode(0o555)).unwrap();
    let good_scratch = Scratch::for_nobody();
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
            let run = answers(&vars, expected).as_nobody().run();
            assert!(
                run.passed(),
                "{} in {}:\n{}",
                unwritable.display(),
                VARS[position],
                run.output
            );
        }
    }
    for dir in [&root_owned, &read_only, &good.to_path_buf()] {
        common::assert_empty(dir);
    }
}

#[test]
fn the_answer_is_cached_until_set_tempdir_none() {
    let scratch = Scratch::new();
    let [first, second] = ["first", "second"].map(|n| {
        let p = scratch.path().join(n);
        std::fs::create_dir(&p).unwrap();
        p
    });
    with_env(
        "child_the_answer_is_cached",
        &[("TMPDIR", first.as_os_str())],
    )
    .arg(&first)
    .arg(&second)
    .assert_passes();
}

/// The child of [`the_answer_is_cached_until_set_tempdir_none`], whose `TMPDIR` is its first
/// argument.
#[test]
#[ignore]
fn child_the_answer_is_cached() {
    let args = child_args();
    let (first, second) = (&args[0], &args[1]);
    assert_answers(first);
    // Neither a new TMPDIR nor the directory vanishing changes the cached answer (this
    // process runs this one test: changing its environment disturbs nothing).
    std::env::set_var("TMPDIR", second);
    assert_answers(first);
    std::fs::remove_dir(first).unwrap();
    assert_answers(first);
    // Clearing the cache discovers again.
    tempkit::set_tempdir(None);
    assert_answers(second);
}

#[test]
fn concurrent_first_calls_agree() {
    let scratch = Scratch::new();
    let dir = scratch.path().to_path_buf();
    with_env(
        "child_concurrent_first_calls",
        &[("TMPDIR", dir.as_os_str())],
    )
    .arg(&dir)
    .assert_passes();
    assert!(
        scratch.names().is_empty(),
        "the probes left {:?}",
        scratch.names()
    );
}

/// The child of [`concurrent_first_calls_agree`]: 8 threads make the first call at once.
#[test]
#[ignore]
fn child_concurrent_first_calls() {
    let dir = child_args().remove(0);
    let threads: Vec<_> = (0..8)
        .map(|_| std::thread::spawn(tempkit::gettempdir))
        .collect();
    for t in threads {
        let got = t.join().expect("a thread panicked");
        assert!(
            matches!(&got, Ok(d) if *d == dir),
            "gettempdir() = {:?}, expected {}",
            got,
            dir.display()
        );
    }
}

#[test]
fn set_tempdir_is_taken_as_given_without_a_probe() {
    let scratch = Scratch::new();
    let missing = scratch.path().join("missing");
    let file = scratch.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    with_env("child_set_tempdir_is_taken_as_given", &[])
        .arg(&missing)
        .arg(&file)
        .assert_passes();
    assert_eq!(scratch.names(), ["a-file"]);
}

/// The child of [`set_tempdir_is_taken_as_given_without_a_probe`].
#[test]
#[ignore]
fn child_set_tempdir_is_taken_as_given() {
    let args = child_args();
    let (missing, file) = (&args[0], &args[1]);
    // Not probed: a missing directory is accepted and returned...
    tempkit::set_tempdir(Some(missing.clone()));
    assert_answers(missing);
    // ...and creating in it fails at once, naming it (CPython's TestBadTempdir with
    // `tempfile.tempdir` pointed at a bad directory).
    let err = tempkit::mkstemp().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{}", err);
    assert!(
        err.to_string().contains(missing.to_str().unwrap()),
        "{}",
        err
    );
    let err = tempkit::mkdtemp().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{}", err);
    assert!(
        err.to_string().contains(missing.to_str().unwrap()),
        "{}",
        err
    );
    tempkit::set_tempdir(Some(file.clone()));
    assert_answers(file);
    let err = tempkit::mkstemp().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotADirectory, "{}", err);
}

#[test]
fn set_tempdir_makes_a_relative_path_absolute_at_once() {
    let scratch = Scratch::new();
    let elsewhere = scratch.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    with_env("child_set_tempdir_relative", &[])
        .arg(scratch.path())
        .arg(&elsewhere)
        .assert_passes();
}

/// The child of [`set_tempdir_makes_a_relative_path_absolute_at_once`].
#[test]
#[ignore]
fn child_set_tempdir_relative() {
    let args = child_args();
    let (start, elsewhere) = (&args[0], &args[1]);
    std::env::set_current_dir(start).unwrap();
    tempkit::set_tempdir(Some(PathBuf::from("rel/./x/..")));
    std::env::set_current_dir(elsewhere).unwrap();
    assert_answers(&start.join("rel"));
}

#[test]
fn tmpdir_is_made_absolute_and_folded_without_resolving_anything() {
    // As Python's os.path.abspath: relative against the current directory, `.`, `..` and
    // trailing separators folded lexically, symlinks kept (no realpath).
    let scratch = Scratch::new();
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
        let run = answers(&[("TMPDIR", OsStr::new(value))], expected)
            .arg(scratch.path())
            .run();
        assert!(run.passed(), "TMPDIR={:?}:\n{}", value, run.output);
    }
    assert!(list(&sub).is_empty());
}

#[test]
fn the_case_of_the_directory_is_kept() {
    // CPython's test_case_sensitive.
    let scratch = Scratch::new();
    let mixed = scratch.path().join("Mixed-Case-Temp");
    std::fs::create_dir(&mixed).unwrap();
    answers(&[("TMPDIR", mixed.as_os_str())], &mixed).assert_passes();
}

#[test]
fn a_successful_probe_leaves_nothing_behind() {
    // CPython's test_no_files_left_behind, success half.
    let scratch = Scratch::new();
    for _ in 0..3 {
        answers(&[("TMPDIR", scratch.path().as_os_str())], scratch.path()).assert_passes();
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
    let scratch = Scratch::new();
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
    with_env("child_no_candidate_is_usable", &vars)
        .arg(&a)
        .arg(&b)
        .arg(&c)
        .arg(&cwd)
        .assert_passes();
    for dir in [&a, &b, &c, &cwd] {
        assert!(
            list(dir).is_empty(),
            "a probe left {:?} in {}",
            list(dir),
            dir.display()
        );
    }
}

/// The child of
/// [`when_no_candidate_is_usable_the_error_lists_them_all_and_the_probes_leave_nothing`]:
/// its arguments are `TMPDIR`, `TEMP`, `TMP` and the directory it works in.
#[test]
#[ignore]
fn child_no_candidate_is_usable() {
    let args = child_args();
    let (a, b, c, cwd) = (&args[0], &args[1], &args[2], &args[3]);
    std::env::set_current_dir(cwd).unwrap();
    let order: Vec<&Path> = vec![
        a,
        b,
        c,
        Path::new("/tmp"),
        Path::new("/var/tmp"),
        Path::new("/usr/tmp"),
        cwd,
    ];
    let _writes = NoWrites::new();
    let err = match tempkit::gettempdir() {
        Ok(dir) => panic!(
            "gettempdir() found {} with every write failing",
            dir.display()
        ),
        Err(e) => e,
    };
    let text = err.to_string();
    let positions: Vec<Option<usize>> = order.iter().map(|p| position_of_path(&text, p)).collect();
    let listed_in_order =
        positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1]);
    assert!(
        err.kind() == ErrorKind::NotFound && listed_in_order,
        "{:?}: {} ({:?})",
        err.kind(),
        text,
        positions
    );
    // Creation with the default directory reports the same failure.
    assert_eq!(
        tempkit::mkstemp().map_err(|e| e.kind()).err(),
        Some(ErrorKind::NotFound)
    );
}

/// Set in the traced re-run of [`where_o_tmpfile_is_refused_the_named_probe_decides`]: the
/// directory holding the candidates whose `O_TMPFILE` opens strace refuses.
const REFUSED_ROOT: &str = "TEMPKIT_TEST_REFUSED_ROOT";

/// The candidates of that test, inside `root`: a usable directory, a missing one, a file, a
/// directory of root's (unwritable for nobody), and one of nobody's.
fn refused_candidates(root: &Path) -> [PathBuf; 5] {
    ["good", "missing", "a-file", "root-owned", "nobodys"].map(|n| root.join(n))
}

/// Every write to a file fails while this lives: the soft file size limit is 0, and `SIGXFSZ`
/// is ignored so that a write past it fails with `EFBIG` instead of killing the process. For
/// a child test only (the limit is the whole process's). The limit is raised to the hard one
/// again on drop, also when the test panics: the test harness of the child process writes its
/// report to a file.
struct NoWrites;

impl NoWrites {
    fn new() -> NoWrites {
        // SAFETY: ignoring a signal has no memory-safety preconditions.
        unsafe { libc::signal(libc::SIGXFSZ, libc::SIG_IGN) };
        set_soft_file_size_limit(|_| 0);
        NoWrites
    }
}

impl Drop for NoWrites {
    fn drop(&mut self) {
        set_soft_file_size_limit(|hard| hard);
    }
}

/// Sets the soft `RLIMIT_FSIZE` of this process to `soft(hard limit)`.
fn set_soft_file_size_limit(soft: impl Fn(libc::rlim_t) -> libc::rlim_t) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit on a struct we own.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_FSIZE, &mut lim), 0);
        lim.rlim_cur = soft(lim.rlim_max);
        assert_eq!(libc::setrlimit(libc::RLIMIT_FSIZE, &lim), 0);
    }
}

/// A child of [`where_o_tmpfile_is_refused_the_named_probe_decides`]: with every write
/// failing, the candidate given (`TMPDIR`, `TEMP` and `TMP` all) is refused, reporting the
/// write's error, not the refusal of `O_TMPFILE`.
#[test]
#[ignore]
fn child_a_failing_write_refuses() {
    let good = child_args().remove(0);
    let _writes = NoWrites::new();
    match tempkit::gettempdir() {
        Ok(dir) => panic!("{} accepted with every write failing", dir.display()),
        Err(e) => {
            let text = e.to_string();
            let efbig = std::io::Error::from_raw_os_error(libc::EFBIG).to_string();
            assert!(
                text.contains(&format!("`{}` (", good.display())) && text.contains(&efbig),
                "{}",
                text
            );
        }
    }
}

#[test]
fn where_o_tmpfile_is_refused_the_named_probe_decides() {
    // A file system may refuse O_TMPFILE (EOPNOTSUPP: vfat, NFS, ...). strace makes every
    // open of the candidate directories themselves fail so (`-P` limits the injection to
    // calls naming them, which the named probe's `DIR/NAME` does not), and discovery must
    // then accept and refuse exactly the candidates the named probe accepts and refuses.
    if let Some(root) = std::env::var_os(REFUSED_ROOT) {
        // The traced re-run: each case is a child process, traced too (`strace -f`).
        let [good, missing, file, root_owned, nobodys] = refused_candidates(Path::new(&root));
        let vars = |a: &PathBuf, b: &PathBuf, c: &PathBuf| {
            vec![
                ("TMPDIR", a.as_os_str().to_owned()),
                ("TEMP", b.as_os_str().to_owned()),
                ("TMP", c.as_os_str().to_owned()),
            ]
        };
        let child = |test: &str, vars: Vec<(&'static str, std::ffi::OsString)>| {
            let vars: Vec<(&str, &OsStr)> = vars.iter().map(|(k, v)| (*k, v.as_os_str())).collect();
            with_env(test, &vars)
        };
        // Missing and not-a-directory are refused; the good one after them is accepted.
        child("child_answers", vars(&missing, &file, &good))
            .arg(&good)
            .assert_passes();
        // Unwritable for nobody is refused; nobody's own directory is accepted.
        child("child_answers", vars(&root_owned, &nobodys, &good))
            .arg(&nobodys)
            .as_nobody()
            .assert_passes();
        // A write that fails refuses the directory (the named probe's file is removed),
        // reporting the write's error, not the refusal of O_TMPFILE.
        child("child_a_failing_write_refuses", vars(&good, &good, &good))
            .arg(&good)
            .assert_passes();
        return;
    }
    // Root: nobody must be refused root's directory.
    if !common::need::root() || !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let [good, missing, file, root_owned, nobodys] = refused_candidates(scratch.path());
    std::fs::create_dir(&good).unwrap();
    std::fs::write(&file, b"not a directory").unwrap();
    std::fs::create_dir(&root_owned).unwrap();
    std::fs::set_permissions(&root_owned, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::create_dir(&nobodys).unwrap();
    std::os::unix::fs::chown(&nobodys, Some(NOBODY), Some(NOBODY)).unwrap();
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
    let trace = common::trace::strace_test_with(
        "where_o_tmpfile_is_refused_the_named_probe_decides",
        &[(REFUSED_ROOT, scratch.path().as_os_str())],
        &options,
        "open,openat",
    )
    .expect("the trace");
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
