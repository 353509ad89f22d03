//! Runs one operation COUNT times in a fresh directory, for counting system calls:
//!
//! ```text
//! strace -c -f target/release/syscalls mkstemp 10000 --keep
//! strace -c -f target/release/syscalls mkstemp 0 --keep
//! ```
//!
//! The difference between the two counts is what the operation costs per call. Operations:
//! `mkstemp` (create and close), `mkstemp-unlink` (create, close, unlink: the benchmark's
//! loop), `mkdtemp`, and `raw` (the raw `open` + `close` + `unlink` floor). Creation uses the
//! default directory (`set_tempdir` points it at the fresh directory), so the cached
//! `gettempdir` path is part of what is counted. With `--keep` the directory and what was
//! created in it stay (its path is printed), so removing them is not counted; remove it
//! afterwards.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (op, count, keep) = match args.as_slice() {
        [op, n] => (op.as_str(), n.parse::<usize>(), false),
        [op, n, k] if k == "--keep" => (op.as_str(), n.parse::<usize>(), true),
        _ => ("", Ok(0), false),
    };
    let Ok(count) = count else {
        eprintln!("syscalls: COUNT must be a number");
        return ExitCode::from(2);
    };
    let dir = tempkit::Builder::new()
        .prefix("syscalls-")
        .mkdtemp()
        .expect("a fresh directory");
    tempkit::set_tempdir(Some(dir.clone()));
    let result = match op {
        "mkstemp" => (0..count).try_for_each(|_| tempkit::mkstemp().map(drop)),
        "mkstemp-unlink" => (0..count).try_for_each(|_| {
            let (file, path) = tempkit::mkstemp()?;
            drop(file);
            std::fs::remove_file(path)
        }),
        "mkdtemp" => (0..count).try_for_each(|_| tempkit::mkdtemp().map(drop)),
        "raw" => (0..count).try_for_each(|i| {
            let path: PathBuf = dir.join(format!("tmp{:08}", i));
            tempkit_bench::raw_create_close_unlink(&path)
        }),
        _ => {
            eprintln!("usage: syscalls mkstemp|mkstemp-unlink|mkdtemp|raw COUNT [--keep]");
            let _ = std::fs::remove_dir(&dir);
            return ExitCode::from(2);
        }
    };
    if let Err(e) = result {
        eprintln!("syscalls: {}", e);
        return ExitCode::FAILURE;
    }
    if keep {
        println!("{}", dir.display());
    } else if let Err(e) = std::fs::remove_dir_all(&dir) {
        eprintln!("syscalls: removing {}: {}", dir.display(), e);
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
