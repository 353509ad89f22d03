//! `tempkit reap`: lists every tagged entry with what it did and why, untagged ones only with
//! `--verbose`; `--dry-run` removes nothing; the default directory is `gettempdir()`.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::{in_child, list, Scratch};

const TEMPKIT: &str = env!("CARGO_BIN_EXE_tempkit");

/// `tempkit reap ARGS...` with TMPDIR set to `tmpdir`: its standard output, after checking
/// that it succeeded.
fn reap(tmpdir: &Path, args: &[&str]) -> String {
    let out = common::output_of(
        Command::new(TEMPKIT)
            .arg("reap")
            .args(args)
            .env("TMPDIR", tmpdir),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The paths of the lines starting with `what ` (`what PATH (reason)`).
fn paths(output: &str, what: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix(what)?.strip_prefix(' '))
        .map(|rest| rest.split(" (").next().unwrap().to_string())
        .collect()
}

#[test]
fn dry_run_lists_exactly_the_dead_and_a_real_run_removes_exactly_them() {
    let scratch = Scratch::new();
    let dir = scratch.path();
    // A child leaks six tagged directories and four tagged files and exits without
    // destructors.
    let record = Scratch::new();
    let record_file = record.path().join("made");
    in_child(
        || {},
        || {
            let mut b = tempkit::Builder::new();
            b.dir(dir).reapable(true);
            let mut made = String::new();
            let mut dirs = Vec::new();
            let mut files = Vec::new();
            for _ in 0..6 {
                let d = b.temporary_directory().unwrap();
                std::fs::write(d.path().join("inside"), b"x").unwrap();
                made.push_str(&format!("{}\n", d.path().display()));
                dirs.push(d);
            }
            for _ in 0..4 {
                let f = b.named_temporary_file().unwrap();
                made.push_str(&format!("{}\n", f.path().display()));
                files.push(f);
            }
            std::fs::write(&record_file, made).unwrap();
            // SAFETY: ends the child without dropping what it made.
            unsafe { libc::_exit(0) }
        },
    );
    let dead: BTreeSet<String> = std::fs::read_to_string(&record_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(dead.len(), 10);
    let untagged = tempkit::Builder::new().dir(dir).mkdtemp().unwrap();
    let live = tempkit::Builder::new()
        .dir(dir)
        .reapable(true)
        .temporary_directory()
        .unwrap();

    // No DIR: the default directory, here TMPDIR.
    let dry = reap(dir, &["--dry-run"]);
    assert_eq!(paths(&dry, "would remove"), dead, "{}", dry);
    let skipped = paths(&dry, "skipped");
    let live_path = live.path().display().to_string();
    assert_eq!(skipped, BTreeSet::from([live_path.clone()]), "{}", dry);
    assert!(dry.contains(&format!(
        "skipped {} (owner {} is alive)",
        live_path,
        std::process::id()
    )));
    assert_eq!(list(dir).len(), 12, "a dry run removes nothing");
    let verbose = reap(dir, &["--dry-run", "--verbose"]);
    assert!(verbose.contains(&format!("skipped {} (untagged)", untagged.display())));

    let real = reap(dir, &[dir.to_str().unwrap()]);
    assert_eq!(paths(&real, "removed"), dead, "{}", real);
    let mut left: Vec<String> = list(dir);
    left.sort();
    let mut want = vec![
        untagged.file_name().unwrap().to_string_lossy().into_owned(),
        live.path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
    ];
    want.sort();
    assert_eq!(left, want);
}
