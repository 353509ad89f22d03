//! Running one test of the current test binary again under `strace`, to see which system
//! calls tempkit makes.

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

/// Whether `strace` can run here.
pub fn strace_available() -> bool {
    Command::new("strace")
        .arg("-V")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs the test called `test` of this very test binary under `strace -f`, with `env` added
/// to its environment, tracing the system calls in `syscalls` (strace's `-e trace=` syntax).
/// Returns the trace, one system call a line; `None` (after saying so on stderr) when strace
/// is not installed. Panics if the traced test fails.
pub fn strace_test(test: &str, env: &[(&str, &OsStr)], syscalls: &str) -> Option<String> {
    strace_test_with(test, env, &[], syscalls)
}

/// [`strace_test`] with `extra` added to strace's arguments (fault injection such as
/// `-e inject=openat:error=EOPNOTSUPP`, path filters such as `-P PATH`).
pub fn strace_test_with(
    test: &str,
    env: &[(&str, &OsStr)],
    extra: &[String],
    syscalls: &str,
) -> Option<String> {
    if !strace_available() {
        eprintln!("strace is not installed: skipping the system-call check of `{test}`");
        return None;
    }
    let (output, trace) = strace_run(test, env, syscalls, extra);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "traced test `{test}` failed: {}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // The filter must have matched exactly one test, or the trace proves nothing.
    assert!(
        stdout.contains("1 passed"),
        "traced test `{test}` did not run:\n{stdout}"
    );
    Some(trace)
}

/// Runs the test called `test` of this very test binary under `strace -f`, as
/// [`strace_test`] does, with `extra` added to strace's arguments (fault injection:
/// `-e inject=...`), whatever its outcome (an injected `SIGKILL` ends it). Returns the
/// test's output and the trace.
pub fn strace_run(
    test: &str,
    env: &[(&str, &OsStr)],
    syscalls: &str,
    extra: &[String],
) -> (std::process::Output, String) {
    let scratch = super::Scratch::new();
    let out = scratch.path().join("strace.out");
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-s", "4096", "-e"])
        .arg(format!("trace={syscalls}"))
        .args(extra)
        .arg("-o")
        .arg(&out)
        .arg(&exe)
        .args(["--exact", test, "--test-threads=1", "--nocapture"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("run strace");
    let trace = std::fs::read_to_string(&out).expect("read the trace");
    (output, trace)
}

/// One system call of a trace made with `strace -f`.
#[derive(Clone, Debug)]
pub struct Call {
    /// The thread that made it.
    pub pid: u32,
    /// The system call's name.
    pub name: String,
    /// The whole line.
    pub line: String,
    /// How many calls of this name the thread made up to this one (1 for the first): the
    /// `when=` of `strace -e inject=NAME:...:when=N`, which counts per thread.
    pub ordinal: usize,
}

/// The system calls of a trace made with `strace -f -qq` (lines `PID name(args) = ret`),
/// in order; signals, exits and resumed halves are left out.
pub fn calls(trace: &str) -> Vec<Call> {
    let mut counts = std::collections::HashMap::new();
    let mut calls = Vec::new();
    for line in trace.lines() {
        let (pid, rest) = match line.split_once(' ') {
            Some((pid, rest)) => match pid.parse::<u32>() {
                Ok(pid) => (pid, rest.trim_start()),
                Err(_) => (0, line),
            },
            None => continue,
        };
        let name = match rest.split_once('(') {
            Some((name, _)) if name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => name,
            _ => continue,
        };
        let n = counts.entry((pid, name.to_owned())).or_insert(0);
        *n += 1;
        calls.push(Call {
            pid,
            name: name.to_owned(),
            line: line.to_owned(),
            ordinal: *n,
        });
    }
    calls
}

/// The lines of `trace` that mention `path` (as a string inside the call's arguments).
pub fn lines_about<'a>(trace: &'a str, path: &Path) -> Vec<&'a str> {
    let needle = format!("\"{}", path.display());
    trace.lines().filter(|l| l.contains(&needle)).collect()
}
