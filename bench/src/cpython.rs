//! CPython's `tempfile` as a contender: a `python3` subprocess running `cpython.py`, which
//! times the same loops and answers in nanoseconds.

use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::ops::{self, Mode, Op};

/// The timing loops, run by `python3 -c`.
pub const SCRIPT: &str = include_str!("cpython.py");

/// The real interpreter behind `python3` on `PATH` (a version-manager shim would add its own
/// start-up to every spawned process), with its version; `None` when there is no `python3`.
pub fn find() -> Option<(PathBuf, String)> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import sys, platform; print(sys.executable); print(platform.python_version())",
        ])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines();
    let exe = PathBuf::from(lines.next()?);
    let version = lines.next()?.to_string();
    Some((exe, version))
}

/// A running `cpython.py serve`.
pub struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Server {
    /// Starts the interpreter `python`.
    pub fn start(python: &Path) -> io::Result<Server> {
        let mut child = Command::new(python)
            .args(["-c", SCRIPT, "serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| io::Error::other("no stdin"))?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("no stdout"))?;
        Ok(Server {
            child,
            stdin,
            stdout: BufReader::new(stdout),
        })
    }

    /// Times `n` operations `op` in `dir`; `Ok(None)` for an operation the script does not
    /// loop over (the fresh-process one, which [`fresh_gettempdir`] times).
    pub fn run(&mut self, op: Op, dir: &Path, n: u64) -> io::Result<Option<Duration>> {
        let dir = dir
            .to_str()
            .ok_or_else(|| io::Error::other("directory is not UTF-8"))?;
        writeln!(self.stdin, "{}\t{}\t{}", op.id(), dir, n)?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            return Err(io::Error::other("python3 benchmark loop exited"));
        }
        match line.trim() {
            "na" => Ok(None),
            ns => ns
                .parse::<u64>()
                .map(|ns| Some(Duration::from_nanos(ns)))
                .map_err(|e| io::Error::other(format!("python3 answered {ns:?}: {e}"))),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Spawns `python3 -c 'import tempfile; tempfile.gettempdir()'` with `TMPDIR=dir` `n` times
/// and waits for each: the first `gettempdir()` of a fresh CPython process, start-up
/// included.
pub fn fresh_gettempdir(python: &Path, dir: &Path, n: u64) -> io::Result<Duration> {
    let start = Instant::now();
    for _ in 0..n {
        let status = Command::new(python)
            .args(["-c", "import tempfile; tempfile.gettempdir()"])
            .env("TMPDIR", dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!("python3 failed: {status}")));
        }
    }
    let elapsed = start.elapsed();
    // The three processes after a CPython one start about 330, 60 and 35 µs slower than the
    // rest (measured here; its exit leaves the caches cold): three untimed ones take that, so
    // that the contender timed next is not charged for CPython.
    ops::settle(3)?;
    Ok(elapsed)
}

/// The arguments after the interpreter for a system-call count of `op` (see `cpython.py`).
pub fn count_args(op: Op, dir: &Path, n: u64, mode: Mode) -> Vec<String> {
    vec![
        "-c".into(),
        SCRIPT.into(),
        "count".into(),
        op.id().into(),
        dir.display().to_string(),
        n.to_string(),
        match mode {
            Mode::Full => "full".into(),
            Mode::SetupOnly => "setup".into(),
        },
    ]
}
