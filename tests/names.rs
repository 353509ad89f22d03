//! Temporary names: the default prefix, the shape of the random part, its distribution, and
//! uniqueness across threads and `fork` (CPython's TestGetTempPrefix and
//! TestRandomNameSequence, observed through the public API).
#![allow(deprecated)]
// `mktemp` draws names without creating anything: what these tests need
// Tests build with the current toolchain; only the library is held to Rust 1.63.
#![allow(clippy::incompatible_msrv)]
#![cfg(unix)] // for now

mod common;

use std::collections::{HashMap, HashSet};
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};

use common::{check_name, list, Scratch, ALPHABET};
use tempkit::Builder;

/// `n` names drawn by `mktemp` in `dir` with the default prefix, as random parts.
fn random_parts(dir: &Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| {
            let path = Builder::new().dir(dir).mktemp().expect("mktemp");
            check_name(&path, dir, "tmp", "", 8)
        })
        .collect()
}

#[test]
fn the_default_prefix_is_tmp_and_not_empty() {
    assert_eq!(tempkit::gettempprefix(), "tmp");
    assert!(!tempkit::gettempprefix().is_empty());
}

#[test]
fn a_name_made_from_the_prefix_can_be_created() {
    // CPython's test_usable_template: prefix + "xxxxxx.xxx" is a valid file name.
    let scratch = Scratch::new();
    let by_hand = scratch
        .path()
        .join(format!("{}xxxxxx.xxx", tempkit::gettempprefix()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&by_hand)
        .unwrap();
    assert!(by_hand.is_file());

    // The same name through the builder: no random part, so exactly prefix + suffix.
    let (_file, path) = Builder::new()
        .dir(scratch.path())
        .prefix(format!("{}yyyyyy", tempkit::gettempprefix()))
        .suffix(".yyy")
        .random_len(0)
        .mkstemp()
        .unwrap();
    assert_eq!(path, scratch.path().join("tmpyyyyyy.yyy"));
    assert_eq!(scratch.names(), ["tmpxxxxxx.xxx", "tmpyyyyyy.yyy"]);
}

#[test]
fn the_default_name_is_the_prefix_then_eight_characters_of_the_alphabet() {
    let scratch = Scratch::new();
    let (_file, path) = Builder::new().dir(scratch.path()).mkstemp().unwrap();
    let random = check_name(&path, scratch.path(), "tmp", "", 8);
    assert_eq!(random.len(), 8);
    assert!(random.bytes().all(|b| !b.is_ascii_uppercase() && b != b'-'));
}

#[test]
fn random_len_sets_the_number_of_random_characters() {
    let scratch = Scratch::new();
    for len in [1, 2, 8, 13, 32, 33, 64, 200] {
        let (_file, path) = Builder::new()
            .dir(scratch.path())
            .prefix("p-")
            .suffix(".s")
            .random_len(len)
            .mkstemp()
            .unwrap();
        check_name(&path, scratch.path(), "p-", ".s", len);
    }
    assert_eq!(scratch.names().len(), 8);
}

#[test]
fn a_hundred_consecutive_names_are_valid_and_distinct() {
    // CPython's TestRandomNameSequence.test_many.
    let scratch = Scratch::new();
    let names = random_parts(scratch.path(), 100);
    let distinct: HashSet<&String> = names.iter().collect();
    assert_eq!(distinct.len(), 100);
    assert!(scratch.names().is_empty(), "mktemp created something");
}

#[test]
fn every_character_of_the_alphabet_is_equally_likely() {
    // 370,000 characters: each of the 37 should turn up about 10,000 times. A generator with
    // modulo bias (a byte % 37 without rejection) gives 34 characters a weight of 7/256 and 3
    // a weight of 6/256: a chi-square of about 575, far above the bound used here.
    let scratch = Scratch::new();
    let mut counts: HashMap<char, u64> = ALPHABET.chars().map(|c| (c, 0)).collect();
    let per_name = 200;
    let names = 1850;
    for _ in 0..names {
        let path = Builder::new()
            .dir(scratch.path())
            .prefix("")
            .random_len(per_name)
            .mktemp()
            .unwrap();
        for c in path.file_name().unwrap().to_str().unwrap().chars() {
            *counts
                .get_mut(&c)
                .unwrap_or_else(|| panic!("{:?} is not in the alphabet", c)) += 1;
        }
    }
    let total = (per_name * names) as f64;
    let expected = total / 37.0;
    let chi_square: f64 = counts
        .values()
        .map(|&n| (n as f64 - expected).powi(2) / expected)
        .sum();
    // 36 degrees of freedom: P(chi-square > 90) is about 2e-6 for a uniform generator.
    assert!(
        chi_square < 90.0,
        "chi-square {:.1} over {:?}",
        chi_square,
        counts
    );
    assert!(counts.values().all(|&n| n > 0));
}

#[test]
fn threads_creating_in_one_directory_never_collide() {
    let scratch = Scratch::new();
    let dir = scratch.path().to_path_buf();
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                (0..50)
                    .map(|_| Builder::new().dir(&dir).mkstemp().unwrap().1)
                    .collect::<Vec<PathBuf>>()
            })
        })
        .collect();
    let mut all = HashSet::new();
    for t in threads {
        for path in t.join().unwrap() {
            assert!(
                all.insert(path.clone()),
                "{} returned twice",
                path.display()
            );
        }
    }
    assert_eq!(all.len(), 400);
    assert_eq!(scratch.names().len(), 400);
}

// ---- names across `fork` ----
//
// These tests must fork a process that then draws names: that is what they test (the name
// generator's fork awareness). Forking the test harness for that would be unsafe: its other
// threads may hold a lock at the fork (std's environment lock, stdout's, a test's `Mutex`),
// which the child inherits without the thread that would release it. So the forking runs in
// a fresh process of this test binary that never becomes the test harness: before `main`,
// while the process has its one thread, [`single_threaded_scenario`] sees
// `TEMPKIT_TEST_SINGLE_THREADED`, runs the scenario it names and exits. A single-threaded
// process may fork and run anything in the child (no other thread can hold a lock).

/// The variable naming the scenario a fresh process of this binary runs before `main`.
const SCENARIO: &str = "TEMPKIT_TEST_SINGLE_THREADED";

/// The directory a scenario draws names in and writes its reports to.
const SCENARIO_DIR: &str = "TEMPKIT_TEST_SINGLE_THREADED_DIR";

/// Run by the loader before `main` (an `.init_array` entry), in every process of this binary;
/// it returns at once unless [`SCENARIO`] is set.
#[used]
#[cfg_attr(not(target_vendor = "apple"), link_section = ".init_array")]
#[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
static SINGLE_THREADED_SCENARIO: extern "C" fn() = single_threaded_scenario;

extern "C" fn single_threaded_scenario() {
    let Some(scenario) = std::env::var_os(SCENARIO) else {
        return;
    };
    let dir = PathBuf::from(std::env::var_os(SCENARIO_DIR).expect("the scenario's directory"));
    let ran = std::panic::catch_unwind(|| match scenario.to_str() {
        Some("fork-once") => fork_once(&dir),
        Some("fork-generation") => fork_generation(&dir),
        Some("eight-children-draw") => eight_children_draw(&dir),
        Some("eight-children-create") => eight_children_create(&dir),
        other => panic!("no scenario {:?}", other),
    });
    // Exits before `main`: the test harness never starts in this process.
    std::process::exit(if ran.is_ok() { 0 } else { 1 });
}

/// Runs `scenario` in a fresh, single-threaded process of this binary with `dir` (bounded by
/// `common::CHILD_TIMEOUT`), and asserts that it succeeded.
fn run_scenario(scenario: &str, dir: &Path) {
    let output = common::output_of(
        std::process::Command::new(std::env::current_exe().expect("the test binary"))
            .env(SCENARIO, scenario)
            .env(SCENARIO_DIR, dir),
    )
    .expect("run the test binary");
    assert!(
        output.status.success(),
        "scenario {} failed ({}):\n{}{}",
        scenario,
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Forks the current process, which must be single-threaded (a scenario's): the child runs
/// `body` and exits with status 0 if it returned `true`, 1 if it returned `false` or
/// panicked (`_exit`: no destructor or atexit handler runs twice). Returns the child's pid.
fn fork_single_threaded(body: impl FnOnce() -> bool) -> libc::pid_t {
    // SAFETY: the process forking is a scenario's, which has one thread (it runs before
    // `main`, and starts none): no lock can be held by another thread at the fork, so the
    // child may run any code. It ends with `_exit`.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)).unwrap_or(false);
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    pid
}

/// Waits for each of `children` (bounded) and asserts that it exited with status 0 (a child
/// that panicked exits with 1).
fn wait_all(children: Vec<libc::pid_t>) {
    for pid in children {
        assert!(
            common::wait_child(pid),
            "child {} failed: see its panic above",
            pid
        );
    }
}

/// The scenario of [`a_forked_child_does_not_repeat_its_parents_names`]: draws names (so
/// that the generator is seeded), forks, and both draw the next name: the child's goes to
/// `child`, the parent's to `parent`.
fn fork_once(dir: &Path) {
    let _ = random_parts(dir, 3);
    let out = dir.join("child");
    let child = fork_single_threaded(|| {
        let name = random_parts(dir, 1).remove(0);
        std::fs::write(&out, name).is_ok()
    });
    wait_all(vec![child]);
    let parent_next = random_parts(dir, 1).remove(0);
    std::fs::write(dir.join("parent"), parent_next).unwrap();
}

#[test]
fn a_forked_child_does_not_repeat_its_parents_names() {
    // CPython's test_process_awareness: the parent has drawn names (so its generator is
    // seeded), forks, and both draw the next name.
    let scratch = Scratch::new();
    run_scenario("fork-once", scratch.path());
    let parent_next = std::fs::read_to_string(scratch.path().join("parent")).unwrap();
    let child_next = std::fs::read_to_string(scratch.path().join("child")).unwrap();
    assert_eq!(parent_next.len(), 8);
    assert_eq!(child_next.len(), 8);
    assert_ne!(parent_next, child_next);
}

/// The scenario of [`fork_generation_differs_in_a_forked_child`]: the parent's value before
/// and after the fork (`parent`), the child's and its own child's (`child`, `grandchild`).
fn fork_generation(dir: &Path) {
    let before = tempkit::fork_generation();
    let child = fork_single_threaded(|| {
        let grandchild = fork_single_threaded(|| {
            std::fs::write(
                dir.join("grandchild"),
                tempkit::fork_generation().to_string(),
            )
            .is_ok()
        });
        wait_all(vec![grandchild]);
        std::fs::write(dir.join("child"), tempkit::fork_generation().to_string()).is_ok()
    });
    wait_all(vec![child]);
    let after = tempkit::fork_generation();
    std::fs::write(dir.join("parent"), format!("{} {}", before, after)).unwrap();
}

#[test]
fn fork_generation_differs_in_a_forked_child() {
    let scratch = Scratch::new();
    run_scenario("fork-generation", scratch.path());
    let read = |name: &str| std::fs::read_to_string(scratch.path().join(name)).unwrap();
    let parent = read("parent");
    let (before, after) = parent.split_once(' ').unwrap();
    assert_eq!(before, after, "the parent's value changed");
    let (child, grandchild) = (read("child"), read("grandchild"));
    assert_ne!(child, before, "the child's value is the parent's");
    assert_ne!(grandchild, child, "the grandchild's value is the child's");
    assert_ne!(grandchild, before, "the grandchild's value is the parent's");
}

/// The scenario of [`a_parent_and_eight_forked_children_draw_disjoint_names`]: the parent
/// draws 50 names (`before`), forks 8 children that draw 200 each (`child-I`), and draws 200
/// more meanwhile (`after`).
fn eight_children_draw(names_dir: &Path) {
    // Seed the parent's generator and use up part of its block before forking.
    let before = random_parts(names_dir, 50);
    let mut children = Vec::new();
    for i in 0..8 {
        // The child only draws names and writes one file.
        children.push(fork_single_threaded(|| {
            let names = random_parts(names_dir, 200);
            std::fs::write(names_dir.join(format!("child-{}", i)), names.join("\n")).is_ok()
        }));
    }
    let parent_after = random_parts(names_dir, 200);
    wait_all(children);
    std::fs::write(names_dir.join("before"), before.join("\n")).unwrap();
    std::fs::write(names_dir.join("after"), parent_after.join("\n")).unwrap();
}

#[test]
fn a_parent_and_eight_forked_children_draw_disjoint_names() {
    let scratch = Scratch::new();
    let names_dir = scratch.path();
    run_scenario("eight-children-draw", names_dir);
    let read = |name: &str| -> Vec<String> {
        let text = std::fs::read_to_string(names_dir.join(name)).unwrap();
        text.lines().map(str::to_owned).collect()
    };
    let (before, parent_after) = (read("before"), read("after"));
    assert_eq!(before.len(), 50);
    assert_eq!(parent_after.len(), 200);
    let mut sets: Vec<Vec<String>> = vec![before, parent_after];
    for i in 0..8 {
        let names = read(&format!("child-{}", i));
        assert_eq!(names.len(), 200);
        sets.push(names);
    }
    let mut seen = HashMap::new();
    for (who, set) in sets.iter().enumerate() {
        for name in set {
            if let Some(other) = seen.insert(name.clone(), who) {
                panic!("{:?} drawn by set {} and set {}", name, other, who);
            }
        }
    }
    assert_eq!(seen.len(), 50 + 200 + 8 * 200);
}

/// File creation is the slow part of [`eight_children_create`]: 50 files per process keep
/// the test quick.
const PER_PROCESS: usize = 50;

/// The scenario of
/// [`a_parent_and_eight_forked_children_creating_in_one_directory_never_collide`]: in
/// `DIR/work`, after a seed directory, 8 forked children and the parent create
/// [`PER_PROCESS`] files each at once, reporting their names in `DIR/child-I` and
/// `DIR/parent`.
fn eight_children_create(reports: &Path) {
    let work = reports.join("work");
    let _ = Builder::new().dir(&work).prefix("seed").mkdtemp().unwrap();
    let create = || -> std::io::Result<Vec<String>> {
        (0..PER_PROCESS)
            .map(|_| {
                Builder::new()
                    .dir(&work)
                    .mkstemp()
                    .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
            })
            .collect()
    };
    let mut children = Vec::new();
    for i in 0..8 {
        // The child only creates files and writes one report.
        children.push(fork_single_threaded(|| match create() {
            Ok(names) => {
                std::fs::write(reports.join(format!("child-{}", i)), names.join("\n")).is_ok()
            }
            Err(_) => false,
        }));
    }
    let mine = create().unwrap();
    wait_all(children);
    std::fs::write(reports.join("parent"), mine.join("\n")).unwrap();
}

#[test]
fn a_parent_and_eight_forked_children_creating_in_one_directory_never_collide() {
    let scratch = Scratch::new();
    let work = scratch.path().join("work");
    std::fs::create_dir(&work).unwrap();
    run_scenario("eight-children-create", scratch.path());
    let reports = scratch.path();
    let text = std::fs::read_to_string(reports.join("parent")).unwrap();
    let mut all: HashSet<String> = text.lines().map(str::to_owned).collect();
    assert_eq!(all.len(), PER_PROCESS);
    for i in 0..8 {
        let text = std::fs::read_to_string(reports.join(format!("child-{}", i))).unwrap();
        for name in text.lines() {
            assert!(
                all.insert(name.to_owned()),
                "{:?} returned to two processes",
                name
            );
        }
    }
    assert_eq!(all.len(), 9 * PER_PROCESS);
    // Every name returned is a distinct file; only the seed directory is extra.
    let on_disk = list(&work);
    assert_eq!(on_disk.len(), 9 * PER_PROCESS + 1);
    assert!(all.iter().all(|n| work.join(n).is_file()));
}

#[test]
fn drawing_names_costs_no_getpid_once_the_fork_handler_is_registered() {
    // The first name registers the fork handler; from then on, telling whether the process
    // has forked is one atomic load per name, not a `getpid` (the fallback while no handler
    // is registered). Traced: 100 names after a mark make no `getpid` call.
    const TEST: &str = "drawing_names_costs_no_getpid_once_the_fork_handler_is_registered";
    if let Some(dir) = common::tracee_arg() {
        random_parts(&dir, 1);
        // A mark in the trace: what follows are the 100 names.
        let _ = std::fs::symlink_metadata(dir.join("names-start"));
        random_parts(&dir, 100);
        return;
    }
    if !common::need::strace() {
        return;
    }
    let scratch = Scratch::new();
    let (ok, lines) = common::traced(TEST, "getpid,stat,lstat,newfstatat,statx", scratch.path());
    assert!(ok, "the traced re-run failed");
    let mark = lines
        .iter()
        .position(|l| l.contains("names-start"))
        .expect("the mark is in the trace");
    let getpids: Vec<&String> = lines[mark..]
        .iter()
        .filter(|l| l.contains("getpid("))
        .collect();
    assert!(getpids.is_empty(), "{:#?}", getpids);
}
