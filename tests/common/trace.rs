//! Running one test of the current test binary again under `strace`: to see which system
//! calls tempkit makes, and to make a system call fail or a race happen exactly when a test
//! wants it (`-e inject=...`), without touching the library.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that tells a test it is the traced re-run of itself; its value
/// is the argument the re-run works on (see [`tracee_arg`]).
const TRACEE: &str = "TEMPKIT_TEST_TRACEE";

/// In a re-run started by [`rerun`] (or [`traced`], [`strace_test`]): the argument it was
/// given. `None` in a normal run.
pub fn tracee_arg() -> Option<PathBuf> {
    std::env::var_os(TRACEE).map(PathBuf::from)
}

/// Whether `strace` can run here.
pub fn strace_available() -> bool {
    super::output_of(Command::new("strace").arg("-V"))
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// What a traced re-run did.
pub struct Rerun {
    /// It passed, and the filter ran exactly that one test.
    pub ok: bool,
    /// Its stdout and stderr, for failure messages.
    pub output: String,
    /// The trace, one system call a line.
    pub trace: String,
}

/// Runs the test called `test` of this very test binary again, alone, under
/// `strace -f -qq -s 4096 STRACE_ARGS`, with [`tracee_arg`] returning `arg` in the re-run and
/// `env` added to its environment. Bounded by [`super::CHILD_TIMEOUT`]. Panics when strace is
/// missing: CI installs it, and a security test must not pass by not running.
pub fn rerun(test: &str, strace_args: &[&str], arg: &Path, env: &[(&str, &OsStr)]) -> Rerun {
    assert!(strace_available(), "strace is needed (CI installs it)");
    // The argument first: a TRACEE the caller passes in `env` wins.
    let mut all = vec![(TRACEE, arg.as_os_str())];
    all.extend_from_slice(env);
    let (output, trace) = run_under_strace(test, strace_args, &all);
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The filter must have matched exactly one test, or the trace proves nothing.
    let ok = output.status.success() && stdout.contains("test result: ok. 1 passed");
    Rerun {
        ok,
        output: format!("{}\n{}", stdout, String::from_utf8_lossy(&output.stderr)),
        trace,
    }
}

/// The one way tests run themselves under strace: `test` of this binary, alone, under
/// `strace -f -qq -s 4096 STRACE_ARGS -o TRACE`, with `env` added, bounded by
/// [`super::CHILD_TIMEOUT`]. Returns its output and the trace, whatever its outcome.
fn run_under_strace(
    test: &str,
    strace_args: &[&str],
    env: &[(&str, &OsStr)],
) -> (std::process::Output, String) {
    let scratch = super::Scratch::new();
    let out = scratch.path().join("strace.out");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-s", "4096"])
        .args(strace_args)
        .arg("-o")
        .arg(&out)
        .arg(std::env::current_exe().expect("current test binary"))
        .args(["--exact", test, "--test-threads=1", "--nocapture"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = super::output_of(&mut cmd).expect("run strace");
    let trace = std::fs::read_to_string(&out).unwrap_or_default();
    (output, trace)
}

/// [`rerun`], asserting that the re-run passed; returns the trace.
pub fn rerun_passing(test: &str, strace_args: &[&str], arg: &Path) -> String {
    let run = rerun(test, strace_args, arg, &[]);
    assert!(
        run.ok,
        "traced re-run of `{}` failed:\n{}",
        test, run.output
    );
    run.trace
}

/// Runs the test named `test` of this test binary again, alone, under
/// `strace -f -e trace=SYSCALLS`, with [`tracee_arg`] returning `arg` in the re-run. Returns
/// whether the re-run passed (and really ran that one test) and the lines of the trace.
///
/// This is how tests count system calls ("one attempt", "exactly `TMP_MAX` attempts") without
/// the library exposing anything for it.
pub fn traced(test: &str, syscalls: &str, arg: &Path) -> (bool, Vec<String>) {
    let run = rerun(test, &["-e", &format!("trace={}", syscalls)], arg, &[]);
    if !run.ok {
        eprintln!("traced re-run of {} failed:\n{}", test, run.output);
    }
    (run.ok, run.trace.lines().map(str::to_owned).collect())
}

/// Runs the test called `test` of this very test binary under `strace -f`, with `env` added
/// to its environment, tracing the system calls in `syscalls` (strace's `-e trace=` syntax).
/// Returns the trace, one system call a line. Panics if the traced test fails, or if strace
/// is missing; `None` only when `TEMPKIT_TEST_SKIP` lists strace (see `common::need`).
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
    // `None` only when the developer chose to skip tests needing strace (common::need).
    if !super::need::strace() {
        return None;
    }
    let (output, trace) = strace_run(test, env, syscalls, extra);
    let stdout = String::from_utf8_lossy(&output.stdout);
    // The filter must have matched exactly one test, or the trace proves nothing.
    assert!(
        output.status.success() && stdout.contains("test result: ok. 1 passed"),
        "traced test `{}` failed or did not run: {}\n{}\n{}",
        test,
        output.status,
        stdout,
        String::from_utf8_lossy(&output.stderr)
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
    let trace = format!("trace={}", syscalls);
    let mut args = vec!["-e", trace.as_str()];
    args.extend(extra.iter().map(String::as_str));
    run_under_strace(test, &args, env)
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
