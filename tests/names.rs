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

use common::{check_name, fork_child, in_child, list, wait_child, Scratch, ALPHABET};
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

#[test]
fn a_forked_child_does_not_repeat_its_parents_names() {
    // CPython's test_process_awareness: the parent has drawn names (so its generator is
    // seeded), forks, and both draw the next name.
    let scratch = Scratch::new();
    let _ = random_parts(scratch.path(), 3);
    let out = scratch.path().join("child");
    let ok = in_child(
        || {},
        || {
            let name = random_parts(scratch.path(), 1).remove(0);
            std::fs::write(&out, name).is_ok()
        },
    );
    assert!(ok, "child failed");
    let parent_next = random_parts(scratch.path(), 1).remove(0);
    let child_next = std::fs::read_to_string(&out).unwrap();
    assert_eq!(child_next.len(), 8);
    assert_ne!(parent_next, child_next);
}

/// Waits for each of `children` (bounded) and asserts that it exited with status 0 (a child
/// that panicked exits with 1).
fn wait_all(children: Vec<libc::pid_t>) {
    for pid in children {
        assert!(wait_child(pid), "child {} failed: see its panic above", pid);
    }
}

#[test]
fn a_parent_and_eight_forked_children_draw_disjoint_names() {
    let scratch = Scratch::new();
    let names_dir = scratch.path();
    // Seed the parent's generator and use up part of its block before forking.
    let before = random_parts(names_dir, 50);
    let mut children = Vec::new();
    for i in 0..8 {
        // The child only draws names and writes one file.
        children.push(fork_child(|| {
            let names = random_parts(names_dir, 200);
            std::fs::write(names_dir.join(format!("child-{}", i)), names.join("\n")).is_ok()
        }));
    }
    let parent_after = random_parts(names_dir, 200);
    wait_all(children);
    let mut sets: Vec<Vec<String>> = vec![before, parent_after];
    for i in 0..8 {
        let text = std::fs::read_to_string(names_dir.join(format!("child-{}", i))).unwrap();
        let names: Vec<String> = text.lines().map(str::to_owned).collect();
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

#[test]
fn a_parent_and_eight_forked_children_creating_in_one_directory_never_collide() {
    // File creation is the slow part here: 50 files per process keep the test quick.
    const PER_PROCESS: usize = 50;
    let scratch = Scratch::new();
    let work = scratch.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let _ = Builder::new().dir(&work).prefix("seed").mkdtemp().unwrap();
    let reports = scratch.path();
    let mut children = Vec::new();
    for i in 0..8 {
        // The child only creates files and writes one report.
        children.push(fork_child(|| {
            let created: Result<Vec<String>, _> = (0..PER_PROCESS)
                .map(|_| {
                    Builder::new()
                        .dir(&work)
                        .mkstemp()
                        .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
                })
                .collect();
            match created {
                Ok(names) => {
                    std::fs::write(reports.join(format!("child-{}", i)), names.join("\n")).is_ok()
                }
                Err(_) => false,
            }
        }));
    }
    let mut all: HashSet<String> = (0..PER_PROCESS)
        .map(|_| {
            Builder::new()
                .dir(&work)
                .mkstemp()
                .unwrap()
                .1
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    assert_eq!(all.len(), PER_PROCESS);
    wait_all(children);
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
