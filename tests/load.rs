//! Load: 4 threads in each of 2 processes create 5,000 objects of every kind each, all in one
//! directory. No creation fails, no name is handed out twice (threads and processes never
//! repeat each other's names), and the directory is empty at the end. Each process is a child
//! test of this binary, run in a fresh process (never a fork of the test harness); that a
//! forked child rekeys is shown by tests/names.rs.

#![cfg(unix)] // for now

mod common;

use std::collections::{HashSet, VecDeque};
use std::path::Path;

use common::child::{child_args, Child};
use common::creators::{self, Held};
use common::Scratch;

const PROCESSES: usize = 2;
const THREADS: usize = 4;
const PER_THREAD: usize = 5_000;
/// How many objects each thread holds at once, so that the directory stays busy.
const WINDOW: usize = 64;
/// 37^12 names: among the 160,000 named objects of this test an accidental repeat has a chance
/// below 1e-8, so any repeat is a generator bug (with the default 8 it would be about 0.4%).
const RANDOM_LEN: usize = 12;

/// One thread's work: every kind, `PER_THREAD` times each. Returns the names it was given.
fn thread_body(dir: &Path) -> Vec<String> {
    let mut names = Vec::with_capacity(PER_THREAD * creators::all().len());
    let mut b = tempkit::Builder::new();
    b.dir(dir).prefix("load-").random_len(RANDOM_LEN);
    for creator in creators::all() {
        let mut live: VecDeque<Held> = VecDeque::with_capacity(WINDOW);
        for i in 0..PER_THREAD {
            let held = (creator.create)(&b)
                .unwrap_or_else(|e| panic!("{} #{i} failed: {e}", creator.name));
            if let Some(p) = held.path() {
                names.push(p.file_name().unwrap().to_string_lossy().into_owned());
            }
            live.push_back(held);
            if live.len() == WINDOW {
                live.pop_front().unwrap().finish().expect("finish");
            }
        }
        for held in live {
            held.finish().expect("finish");
        }
    }
    names
}

/// One process's work: `THREADS` threads in `dir`; writes the names they were given to `out`.
#[test]
#[ignore]
fn child_process_body() {
    let args = child_args();
    let (dir, out) = (&args[0], &args[1]);
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let dir = dir.to_owned();
            std::thread::spawn(move || thread_body(&dir))
        })
        .collect();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().expect("a thread failed"));
    }
    std::fs::write(out, all.join("\n")).expect("write names");
}

#[test]
fn eight_threads_in_two_processes_share_one_directory() {
    let scratch = Scratch::new();
    let dir = scratch.path().join("shared");
    let out = scratch.path().join("names");
    std::fs::create_dir(&dir).unwrap();
    std::fs::create_dir(&out).unwrap();
    // The processes run at once; each is waited for (bounded) by a thread of ours.
    let processes: Vec<_> = (0..PROCESSES)
        .map(|p| {
            let (dir, file) = (dir.clone(), out.join(p.to_string()));
            std::thread::spawn(move || {
                Child::new("child_process_body")
                    .arg(dir)
                    .arg(file)
                    .timeout(common::CHILD_TIMEOUT)
                    .assert_passes();
            })
        })
        .collect();
    for (p, process) in processes.into_iter().enumerate() {
        assert!(
            process.join().is_ok(),
            "process {p} failed: see its output above"
        );
    }

    let mut seen = HashSet::new();
    let mut total = 0;
    for p in 0..PROCESSES {
        let text = std::fs::read_to_string(out.join(p.to_string())).unwrap();
        for name in text.lines() {
            total += 1;
            assert!(seen.insert(name.to_owned()), "name {name} handed out twice");
        }
    }
    let named = creators::all().iter().filter(|c| c.named).count();
    assert_eq!(total, PROCESSES * THREADS * PER_THREAD * named);
    assert!(
        common::list(&dir).is_empty(),
        "left behind: {:?}",
        common::list(&dir)
    );
}
