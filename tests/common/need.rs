//! What a test needs from the machine (root, strace, xattrs, systemd-tmpfiles, mkfs, chattr,
//! setfacl, ...), checked the one way: a test whose need is missing FAILS, naming it. It never
//! passes by returning early.
//!
//! A developer without a tool can say so: `TEMPKIT_TEST_SKIP=strace,root cargo test` lets
//! the tests needing those return early instead, each printing `SKIPPED (needs strace): TEST`,
//! and the run prints a summary line per skipped test on stderr. CI never sets it
//! (`.ci/run` checks that every need is met before any test runs).

use std::process::Command;

/// The variable that lists the needs a developer chose to skip, comma-separated.
pub const SKIP: &str = "TEMPKIT_TEST_SKIP";

/// Whether the need called `name` may be skipped here (listed in [`SKIP`]).
fn skipping(name: &str) -> bool {
    std::env::var(SKIP)
        .map(|list| list.split(',').any(|n| n.trim() == name))
        .unwrap_or(false)
}

/// Decides a test's fate when `name` is missing: `false` (return early, after saying so) if
/// the developer listed it in [`SKIP`]; otherwise the test fails, naming what is missing.
fn missing(name: &str, why: &str) -> bool {
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_owned();
    if skipping(name) {
        // Straight to stderr, past libtest's capture, so that the run shows what it skipped.
        let line = format!(
            "SKIPPED (needs {}, {}={}): {}: {}\n",
            name,
            SKIP,
            std::env::var(SKIP).unwrap_or_default(),
            test,
            why
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
        return false;
    }
    panic!(
        "{} needs {}: {} (install it, run as root as CI does, or set {}={} to skip such tests)",
        test, name, why, SKIP, name
    );
}

/// Whether a program runs here (`PROGRAM ARG` exits, whatever its status: some tools have no
/// version flag).
pub fn program_runs(program: &str, arg: &str) -> bool {
    super::output_of(Command::new(program).arg(arg)).is_ok()
}

/// The test needs `program` (run with `arg` to check it, e.g. `-V`). `true` when it is there;
/// see the module doc for what happens when it is not.
pub fn program(program: &str, arg: &str) -> bool {
    program_runs(program, arg) || missing(program, "not found on PATH")
}

/// The test needs something of the machine that no program shows (user extended attributes
/// on the scratch file system, a second file system), called `name` in [`SKIP`]: `present`
/// says whether it is there, `what` what it is. `true` when present; otherwise see the module
/// doc.
pub fn feature(name: &str, present: bool, what: &str) -> bool {
    present || missing(name, &format!("{} is missing", what))
}

/// The test needs strace. `true` when it runs; otherwise see the module doc.
pub fn strace() -> bool {
    program("strace", "-V")
}

/// The test needs to run as root (mounts, other users' files, chattr). `true` when it does;
/// otherwise see the module doc.
#[cfg(unix)]
pub fn root() -> bool {
    super::is_root() || missing("root", "not running as root")
}
