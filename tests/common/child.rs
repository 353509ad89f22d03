//! Running one test of the current test binary again in a child process, for tests of
//! process-wide state (environment variables read once, hooks, panics that end a test) and
//! of what the test harness prints.

use std::ffi::{OsStr, OsString};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Duration;

/// The environment variable a child test reads its argument from (see [`child_arg`]).
const CHILD_ARG: &str = "TEMPKIT_TEST_CHILD_ARG";

/// How long a child test may run before it is killed and the parent test fails.
const TIMEOUT: Duration = Duration::from_secs(120);

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
/// Kills it and panics after its timeout (see [`Child`]).
pub fn run_child(test: &str, arg: &std::path::Path, env: &[(&str, &OsStr)]) -> ChildRun {
    let mut child = Child::new(test).arg(arg);
    for (k, v) in env {
        child = child.env(k, v);
    }
    child.run()
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

/// The environment variable holding the number of arguments a [`Child`] passes; the
/// arguments themselves are `TEMPKIT_TEST_CHILD_ARG` (the first, as [`child_arg`] reads it)
/// and `TEMPKIT_TEST_CHILD_ARG_1`, `_2`, ... after it.
const CHILD_ARGS: &str = "TEMPKIT_TEST_CHILD_ARGS";

fn arg_var(i: usize) -> String {
    if i == 0 {
        CHILD_ARG.to_owned()
    } else {
        format!("{}_{}", CHILD_ARG, i)
    }
}

/// In a child test run by [`Child`]: the arguments the parent gave it, in order. Panics if
/// the test was run directly.
pub fn child_args() -> Vec<std::path::PathBuf> {
    let count: usize = std::env::var(CHILD_ARGS)
        .ok()
        .and_then(|n| n.parse().ok())
        .expect("a child test: run by its parent test (common::child::Child), not directly");
    (0..count)
        .map(|i| {
            std::env::var_os(arg_var(i))
                .map(std::path::PathBuf::from)
                .expect("a child argument")
        })
        .collect()
}

/// One test of the current test binary, run again alone in a fresh process: the way a test
/// body runs as another user, under another umask, environment or limit.
///
/// Never `fork` the test harness for that: its other threads may hold a lock at the fork
/// (std's environment lock, stdout's, the allocator's), and the child, which inherits the lock
/// but not the thread that would release it, blocks forever (tests/fork_safety.rs shows it).
/// A fresh process (`fork` + `exec` through std's `Command`, whose child runs only raw system
/// calls before `exec`) inherits no lock.
///
/// The child test is an `#[ignore]`d `#[test]` of the same binary; it reads its arguments with
/// [`child_args`] and fails by panicking, as any test does.
pub struct Child {
    test: String,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    #[cfg(unix)]
    ids: Option<(u32, u32, Vec<u32>)>,
    #[cfg(unix)]
    umask: Option<u32>,
    wrapper: Vec<OsString>,
    timeout: Duration,
    nocapture: bool,
}

/// A child test started by [`Child::spawn`], still running (or ended and not yet waited for).
pub struct Running {
    /// The process (its pid: `child.id()`).
    pub child: std::process::Child,
    test: String,
    timeout: Duration,
    out: std::path::PathBuf,
    _logs: super::Scratch,
}

impl Running {
    /// Its output so far.
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.out).unwrap_or_default()).into_owned()
    }

    /// Waits for its end, bounded by its timeout; panics (after killing it) if it must be
    /// killed.
    pub fn wait(mut self) -> ChildRun {
        let status = super::try_wait_for(&mut self.child, self.timeout).unwrap_or_else(|| {
            super::kill_within(&mut self.child);
            panic!(
                "child test `{}` did not end within {:?}; its output:\n{}",
                self.test,
                self.timeout,
                self.output()
            )
        });
        let output = String::from_utf8_lossy(&std::fs::read(&self.out).expect("read the output"))
            .into_owned();
        ChildRun { status, output }
    }
}

impl Child {
    /// The ignored test `test` (its full name, as libtest prints it) of this test binary.
    pub fn new(test: &str) -> Child {
        Child {
            test: test.to_owned(),
            args: Vec::new(),
            env: Vec::new(),
            #[cfg(unix)]
            ids: None,
            #[cfg(unix)]
            umask: None,
            wrapper: Vec::new(),
            timeout: TIMEOUT,
            nocapture: false,
        }
    }

    /// Adds an argument, which the child reads with [`child_args`] (the first also with
    /// [`child_arg`]).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Child {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// Sets an environment variable in the child.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Child {
        self.env
            .push((key.as_ref().to_owned(), Some(value.as_ref().to_owned())));
        self
    }

    /// Removes an environment variable in the child.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Child {
        self.env.push((key.as_ref().to_owned(), None));
        self
    }

    /// Runs the child as the unprivileged user and group (65534), without supplementary
    /// groups, when we are root (otherwise as ourselves, who are unprivileged already).
    #[cfg(unix)]
    #[allow(clippy::wrong_self_convention)] // a builder step, named like the old helper
    pub fn as_nobody(self) -> Child {
        if super::is_root() {
            self.uid_gid(super::NOBODY, super::NOBODY)
        } else {
            self
        }
    }

    /// Runs the child as `uid` and `gid`, without supplementary groups (we must be root).
    #[cfg(unix)]
    pub fn uid_gid(mut self, uid: u32, gid: u32) -> Child {
        assert!(
            super::is_root(),
            "changing user needs root (CI runs as root)"
        );
        let groups = self.ids.take().map(|(_, _, g)| g).unwrap_or_default();
        self.ids = Some((uid, gid, groups));
        self
    }

    /// The child's supplementary groups; with [`Child::as_nobody`] or [`Child::uid_gid`].
    #[cfg(unix)]
    pub fn groups(mut self, groups: &[u32]) -> Child {
        let ids = self
            .ids
            .as_mut()
            .expect("groups() after as_nobody() or uid_gid()");
        ids.2 = groups.to_vec();
        self
    }

    /// The child's umask.
    #[cfg(unix)]
    pub fn umask(mut self, mask: u32) -> Child {
        self.umask = Some(mask);
        self
    }

    /// How long the child may run before it is killed and the parent fails (a minute unless
    /// set).
    pub fn timeout(mut self, timeout: Duration) -> Child {
        self.timeout = timeout;
        self
    }

    /// Runs the child under `wrapper` (a program and its arguments, e.g. `unshare --pid
    /// --fork`), which must run the test binary it is given after them; not with another user.
    pub fn wrapped_in(mut self, wrapper: &[&str]) -> Child {
        self.wrapper = wrapper.iter().map(OsString::from).collect();
        self
    }

    /// Runs the child test with `--nocapture` instead of `--show-output`: what it prints goes
    /// straight to the process's stdout and stderr (through std's locks on them), not into
    /// libtest's capture, which the threads it starts would inherit.
    pub fn nocapture(mut self) -> Child {
        self.nocapture = true;
        self
    }

    /// Runs the child to its end, bounded by its timeout; panics if it must be killed.
    pub fn run(self) -> ChildRun {
        self.spawn().wait()
    }

    /// Starts the child and returns at once: for a test that acts while the child runs, or
    /// lingers unreaped. [`Running::wait`] ends it as [`Child::run`] does.
    pub fn spawn(self) -> Running {
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
        let exe = std::env::current_exe().expect("current test binary");
        let harness_args = [
            OsStr::new(&self.test),
            OsStr::new("--exact"),
            OsStr::new("--ignored"),
            OsStr::new(if self.nocapture {
                "--nocapture"
            } else {
                "--show-output"
            }),
            OsStr::new("--test-threads=1"),
        ];
        let mut cmd = match self.wrapper.split_first() {
            None => Command::new(&exe),
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(&exe);
                cmd
            }
        };
        cmd.args(harness_args)
            .env(CHILD_ARGS, self.args.len().to_string())
            .env_remove("TEMPKIT_KEEP")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::null())
            .stdout(append())
            .stderr(append());
        for (i, arg) in self.args.iter().enumerate() {
            cmd.env(arg_var(i), arg);
        }
        for (key, value) in &self.env {
            match value {
                Some(value) => cmd.env(key, value),
                None => cmd.env_remove(key),
            };
        }
        #[cfg(unix)]
        {
            assert!(
                self.wrapper.is_empty() || self.ids.is_none(),
                "a wrapped child runs as ourselves"
            );
            self.prepare_unix(&mut cmd, &exe, &harness_args);
        }
        let child = spawn_retrying(&mut cmd);
        Running {
            child,
            test: self.test,
            timeout: self.timeout,
            out,
            _logs: logs,
        }
    }

    /// Runs the child and panics, showing its output, unless it ran and passed.
    pub fn assert_passes(self) -> ChildRun {
        let test = self.test.clone();
        let run = self.run();
        assert!(
            run.passed(),
            "child test `{}` did not pass ({}); its output:\n{}",
            test,
            run.status,
            run.output
        );
        run
    }

    /// The umask and the user, set in the child between `fork` and `exec` with raw system
    /// calls only (async-signal-safe). A child that changes user `exec`s the test binary
    /// through a descriptor opened here (`fexecve`): the unprivileged user may not be able to
    /// reach the binary by its path (a checkout under a home directory of mode 0700).
    #[cfg(unix)]
    fn prepare_unix(&self, cmd: &mut Command, exe: &std::path::Path, harness_args: &[&OsStr]) {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::io::AsRawFd;
        use std::os::unix::process::CommandExt;
        let umask = self.umask;
        let ids = self.ids.clone();
        if umask.is_none() && ids.is_none() {
            return;
        }
        // Everything the child needs is made here, before the fork: the child allocates
        // nothing.
        let exec = ids.as_ref().map(|_| {
            let binary = std::fs::File::open(exe).expect("open the test binary");
            let cstring =
                |s: &OsStr| std::ffi::CString::new(s.as_bytes()).expect("no NUL in an argument");
            let argv: Vec<std::ffi::CString> = std::iter::once(exe.as_os_str())
                .chain(harness_args.iter().copied())
                .map(cstring)
                .collect();
            // The environment the child would get from `cmd`: ours with its changes.
            let mut vars: std::collections::BTreeMap<OsString, OsString> =
                std::env::vars_os().collect();
            for (key, value) in cmd.get_envs() {
                match value {
                    Some(value) => vars.insert(key.to_owned(), value.to_owned()),
                    None => vars.remove(key),
                };
            }
            let envp: Vec<std::ffi::CString> = vars
                .iter()
                .map(|(k, v)| {
                    let mut kv = k.clone();
                    kv.push("=");
                    kv.push(v);
                    cstring(&kv)
                })
                .collect();
            (binary, argv, envp)
        });
        // The pointer arrays as addresses (a closure given to `pre_exec` must be `Sync`), each
        // ending with a null pointer; the `CString`s they point into move with them.
        let exec = exec.map(|(binary, argv, envp)| {
            let pointers = |strings: &[std::ffi::CString]| -> Vec<usize> {
                strings
                    .iter()
                    .map(|s| s.as_ptr() as usize)
                    .chain(std::iter::once(0))
                    .collect()
            };
            let (argv_ptrs, envp_ptrs) = (pointers(&argv), pointers(&envp));
            (binary, argv, envp, argv_ptrs, envp_ptrs)
        });
        // SAFETY: the closure runs in the forked child before exec and makes only raw system
        // calls (umask, setgroups, setgid, setuid, fexecve), on memory made before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if let Some(mask) = umask {
                    libc::umask(mask as libc::mode_t);
                }
                if let Some((uid, gid, groups)) = &ids {
                    let list: &[libc::gid_t] = groups;
                    if libc::setgroups(list.len() as _, list.as_ptr()) != 0
                        || libc::setgid(*gid) != 0
                        || libc::setuid(*uid) != 0
                    {
                        return Err(std::io::Error::last_os_error());
                    }
                }
                if let Some((binary, _, _, argv, envp)) = &exec {
                    libc::fexecve(
                        binary.as_raw_fd(),
                        argv.as_ptr() as *const *const libc::c_char,
                        envp.as_ptr() as *const *const libc::c_char,
                    );
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}
