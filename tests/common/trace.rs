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
    if !strace_available() {
        eprintln!("strace is not installed: skipping the system-call check of `{test}`");
        return None;
    }
    let scratch = super::Scratch::new();
    let out = scratch.path().join("strace.out");
    let exe = std::env::current_exe().expect("current_exe");
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-s", "4096", "-e"])
        .arg(format!("trace={syscalls}"))
        .arg("-o")
        .arg(&out)
        .arg(&exe)
        .args(["--exact", test, "--test-threads=1", "--nocapture"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let output = cmd.output().expect("run strace");
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
    Some(std::fs::read_to_string(&out).expect("read the trace"))
}

/// The lines of `trace` that mention `path` (as a string inside the call's arguments).
pub fn lines_about<'a>(trace: &'a str, path: &Path) -> Vec<&'a str> {
    let needle = format!("\"{}", path.display());
    trace.lines().filter(|l| l.contains(&needle)).collect()
}
