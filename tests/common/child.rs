//! Running one test of the current test binary again in a child process, for tests of
//! process-wide state (environment variables read once, hooks, panics that end a test) and
//! of what the test harness prints.

use std::ffi::OsStr;
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// The environment variable a child test reads its argument from (see [`child_arg`]).
const CHILD_ARG: &str = "TEMPKIT_TEST_CHILD_ARG";

/// How long a child test may run before it is killed and the parent test fails.
const TIMEOUT: Duration = Duration::from_secs(60);

/// What a child test did: its exit status, and its stdout and stderr together (libtest
/// prints the captured output of each test, `eprintln!` included, on stdout).
pub struct ChildRun {
    pub status: ExitStatus,
    pub output: String,
}

impl ChildRun {
    /// The lines of the output that contain `needle`.
    pub fn lines_with(&self, needle: &str) -> Vec<&str> {
        self.output.lines().filter(|l| l.contains(needle)).collect()
    }

    /// Whether the child test ran and passed.
    pub fn passed(&self) -> bool {
        self.status.success() && self.output.contains("test result: ok. 1 passed")
    }

    /// Whether the child test ran and failed (a panic, or an `Err` returned).
    pub fn failed(&self) -> bool {
        self.status.code() == Some(101)
            && self
                .output
                .contains("test result: FAILED. 0 passed; 1 failed")
    }
}

/// In a child test: the argument the parent gave it. Panics if the test was run directly:
/// child tests are `#[ignore]`d and only make sense when a parent test runs them.
pub fn child_arg() -> std::path::PathBuf {
    std::env::var_os(CHILD_ARG)
        .map(std::path::PathBuf::from)
        .expect("a child test: run by its parent test, not directly")
}

/// Runs the ignored test `test` of this test binary alone in a child process, with
/// [`child_arg`] returning `arg` there, `env` added to its environment and `TEMPKIT_KEEP`
/// removed unless `env` sets it. Shows the output of a passing test too (`--show-output`).
/// Kills it and panics after a minute.
pub fn run_child(test: &str, arg: &std::path::Path, env: &[(&str, &OsStr)]) -> ChildRun {
    let logs = super::Scratch::new();
    let out = logs.path().join("out");
    // Both streams append to one file, so that their lines interleave as written.
    let append = || {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&out)
            .expect("open the output file")
    };
    let mut cmd = Command::new(std::env::current_exe().expect("current test binary"));
    cmd.args([
        test,
        "--exact",
        "--ignored",
        "--show-output",
        "--test-threads=1",
    ])
    .env(CHILD_ARG, arg)
    .env_remove("TEMPKIT_KEEP")
    .env_remove("RUST_BACKTRACE")
    .stdin(Stdio::null())
    .stdout(append())
    .stderr(append());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = spawn_retrying(&mut cmd);
    let status = super::try_wait_for(&mut child, TIMEOUT).unwrap_or_else(|| {
        super::kill_within(&mut child);
        panic!("child test `{}` did not end within {:?}", test, TIMEOUT)
    });
    let output =
        String::from_utf8_lossy(&std::fs::read(&out).expect("read the output")).into_owned();
    ChildRun { status, output }
}

/// Spawns `cmd`, trying again up to twice after a failure that is not "not found" or "no
/// permission": wine sometimes refuses to start a process while others start
/// ("Internal error", 1359), which says nothing about the library under test.
fn spawn_retrying(cmd: &mut Command) -> std::process::Child {
    let mut tries = 0;
    loop {
        tries += 1;
        match cmd.spawn() {
            Ok(child) => return child,
            Err(e)
                if tries < 3
                    && !matches!(
                        e.kind(),
                        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
                    ) =>
            {
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("run the test binary again: {:?}", e),
        }
    }
}
