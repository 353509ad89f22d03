//! `tempkit run` leaves nothing when tempkit itself is killed with SIGKILL (its guardian stops
//! the command and removes the directory), also when its whole process group is killed, also
//! right after the command was spawned; the guardian never signals a process that reused the
//! command's pid; a command that ignores SIGTERM is killed with its grandchildren after the
//! grace period while the directory stays protected; a guardian killed alone changes nothing;
//! and if both die, `tempkit reap` removes exactly the directory left.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Scratch;

const TEMPKIT: &str = env!("CARGO_BIN_EXE_tempkit");

/// Polls `done` every 20 ms for at most `secs` seconds.
fn within(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// A running `tempkit run` whose command records its directory and pid, then sleeps.
struct Run {
    tempkit: Child,
    dir: PathBuf,
    command: i32,
}

/// Starts `tempkit run --dir <scratch>/tmp -- sh -c '...; exec sleep 100'`, in a process
/// group of its own when `own_group`, and waits (bounded) until the command runs.
fn start(scratch: &Scratch, own_group: bool) -> Run {
    start_script(scratch, "exec sleep 100", &[], own_group)
}

/// Starts `tempkit run --dir <scratch>/tmp -- sh -c '...; TAIL' MARKER ARGS...` and waits
/// (bounded) until the command has written its directory and pid into MARKER.
fn start_script(scratch: &Scratch, tail: &str, args: &[&Path], own_group: bool) -> Run {
    let parent = scratch.path().join("tmp");
    std::fs::create_dir_all(&parent).unwrap();
    let marker = scratch.path().join("marker");
    let mut cmd = Command::new(TEMPKIT);
    cmd.arg("run")
        .arg("--dir")
        .arg(&parent)
        .args(["--", "sh", "-c"])
        .arg(format!(
            "echo \"$TMPDIR $$\" > \"$0.tmp\"; mv \"$0.tmp\" \"$0\"; {}",
            tail
        ))
        .arg(&marker)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if own_group {
        cmd.process_group(0);
    }
    let tempkit = cmd.spawn().unwrap();
    assert!(within(10, || marker.exists()), "the command did not start");
    let text = std::fs::read_to_string(&marker).unwrap();
    let (dir, pid) = text.trim().rsplit_once(' ').unwrap();
    Run {
        tempkit,
        dir: PathBuf::from(dir),
        command: pid.parse().unwrap(),
    }
}

/// Gone, or a zombie nobody reaped yet (it runs nothing and holds nothing).
fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid)) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('Z'),
    }
}

/// The guardian: tempkit's child process that is not the command.
fn guardian_of(tempkit: u32, command: i32) -> i32 {
    for entry in std::fs::read_dir("/proc").unwrap() {
        let name = entry.unwrap().file_name();
        let Ok(pid) = name.to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", pid)) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        if fields[1] == tempkit.to_string() && pid != command {
            return pid;
        }
    }
    panic!("no guardian found");
}

/// The process group of `pid`.
fn pgid_of(pid: i32) -> i32 {
    // SAFETY: getpgid has no memory-safety preconditions.
    let pgid = unsafe { libc::getpgid(pid) };
    assert!(
        pgid > 0,
        "getpgid({}): {}",
        pid,
        std::io::Error::last_os_error()
    );
    pgid
}

fn kill(pid: i32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

fn assert_cleaned_up(run: &mut Run, parent: &Path) {
    let status = common::wait_within(&mut run.tempkit);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    assert!(within(8, || is_gone(run.command)), "the command still runs");
    assert!(
        within(8, || !run.dir.exists()),
        "the directory is still there"
    );
    common::assert_empty(parent);
}

#[test]
fn sigkill_of_tempkit_stops_the_command_and_removes_the_directory() {
    let scratch = Scratch::new();
    let mut run = start(&scratch, false);
    assert!(run.dir.is_dir());
    kill(run.tempkit.id() as i32, libc::SIGKILL);
    assert_cleaned_up(&mut run, &scratch.path().join("tmp"));
}

#[test]
fn sigkill_of_tempkits_whole_process_group_is_cleaned_up_too() {
    let scratch = Scratch::new();
    let mut run = start(&scratch, true);
    kill(-(run.tempkit.id() as i32), libc::SIGKILL);
    assert_cleaned_up(&mut run, &scratch.path().join("tmp"));
}

#[test]
fn killing_only_the_guardian_changes_nothing_for_a_normal_end() {
    let scratch = Scratch::new();
    // The command ends when the test writes a line into the FIFO: after the guardian is dead.
    let fifo = scratch.path().join("fifo");
    let c_fifo = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
    let mut run = start_script(&scratch, "read line < \"$1\"", &[&fifo], false);
    let guardian = guardian_of(run.tempkit.id(), run.command);
    let anchor = pgid_of(run.command);
    assert_ne!(anchor, run.command, "the command's group is the anchor's");
    kill(guardian, libc::SIGKILL);
    assert!(within(8, || is_gone(guardian)), "the guardian survived");
    assert!(
        within(8, || is_gone(anchor)),
        "the anchor outlived its guardian"
    );
    assert!(!is_gone(run.command), "the command ended too early");
    std::fs::write(&fifo, b"end\n").unwrap();
    let status = common::wait_within(&mut run.tempkit);
    assert_eq!(status.code(), Some(0));
    assert!(!run.dir.exists());
    common::assert_empty(&scratch.path().join("tmp"));
}

#[test]
fn when_tempkit_and_its_guardian_both_die_tempkit_reap_removes_exactly_the_directory() {
    let scratch = Scratch::new();
    let parent = scratch.path().join("tmp");
    let mut run = start(&scratch, false);
    let guardian = guardian_of(run.tempkit.id(), run.command);
    let other = tempkit::Builder::new().dir(&parent).mkdtemp().unwrap();
    kill(guardian, libc::SIGKILL);
    kill(run.tempkit.id() as i32, libc::SIGKILL);
    common::wait_within(&mut run.tempkit);
    kill(run.command, libc::SIGKILL);
    assert!(within(8, || is_gone(run.command)));
    assert!(within(8, || is_gone(guardian)));
    assert!(run.dir.is_dir(), "nobody was left to remove it");

    let reap = |dry: bool| {
        let mut cmd = Command::new(TEMPKIT);
        cmd.arg("reap").arg(&parent);
        if dry {
            cmd.arg("--dry-run");
        }
        let out = common::output_of(&mut cmd).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = reap(true);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 1, "{}", listed);
    assert!(
        lines[0].starts_with(&format!("would remove {} (owner ", run.dir.display())),
        "{}",
        listed
    );
    assert!(run.dir.is_dir());
    let removed = reap(false);
    assert!(
        removed.starts_with(&format!("removed {} (", run.dir.display())),
        "{}",
        removed
    );
    assert!(!run.dir.exists());
    assert!(other.is_dir(), "an untagged directory was removed");
}

#[test]
fn a_directory_kept_on_failure_is_untagged_and_never_reaped() {
    let scratch = Scratch::new();
    let parent = scratch.path().join("tmp");
    std::fs::create_dir(&parent).unwrap();
    let out = common::output_of(
        Command::new(TEMPKIT)
            .arg("run")
            .arg("--dir")
            .arg(&parent)
            .args(["--keep-on-failure", "--", "false"]),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let kept = common::list(&parent);
    assert_eq!(kept.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let kept = parent.join(&kept[0]);
    // tempkit, its owner, is dead: were it still tagged, this reap would remove it.
    let reaped = tempkit::reap(&parent, false).unwrap();
    assert!(reaped.is_empty(), "{:?}", reaped);
    assert!(kept.is_dir());
}

// --- Killing tempkit at an exact moment ----------------------------------------------------
//
// tempkit stops itself (SIGSTOP) at a test-only failpoint (`TEMPKIT_TEST_PAUSE_AT`); the test
// waits until it is stopped, sets the scene, and kills it there with SIGKILL.

/// A process this test may have left running, killed through a pidfd when dropped (a failing
/// test leaves nothing behind).
struct Stray(std::os::fd::OwnedFd);

impl Stray {
    /// `pid` must be running (so that the pidfd names it).
    fn new(pid: i32) -> Stray {
        use std::os::fd::FromRawFd;
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
        assert!(
            fd >= 0,
            "pidfd_open({}): {}",
            pid,
            std::io::Error::last_os_error()
        );
        // SAFETY: a fresh descriptor that nobody else owns.
        Stray(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd as i32) })
    }
}

impl Drop for Stray {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd;
        // SAFETY: pidfd_send_signal on our own descriptor; fails harmlessly once it ended.
        unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.0.as_raw_fd(),
                libc::SIGKILL,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
    }
}

/// The state letter of `pid` in /proc (`T`: stopped), if it exists.
fn state_of(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", pid)).ok()?;
    stat.rsplit(')').next()?.trim_start().chars().next()
}

/// A `tempkit run` started with a test-only failpoint.
struct Paused {
    /// tempkit, or the strace running it.
    tempkit: Child,
    /// tempkit's pid when `tempkit` is strace.
    tempkit_pid: Option<u32>,
    /// The terminal's master side, held while tempkit runs in the foreground of it.
    _terminal: Option<std::fs::File>,
}

/// Starts `tempkit run --dir PARENT -- sh -c SCRIPT ARGS...` that stops itself at `pause_at`,
/// as the foreground job of a terminal of its own (the command then stays in tempkit's process
/// group) or not (the command gets a group of its own), and waits until it is stopped.
fn start_paused(
    parent: &Path,
    script: &str,
    args: &[&Path],
    pause_at: &str,
    foreground: bool,
) -> Paused {
    start_paused_with(parent, script, args, pause_at, foreground, None, &|| true)
}

/// [`start_paused`], with tempkit run under `strace STRACE_ARGS` when given (a traced
/// tempkit stops in a tracing stop, `t`).
fn start_paused_with(
    parent: &Path,
    script: &str,
    args: &[&Path],
    pause_at: &str,
    foreground: bool,
    strace_args: Option<&[&str]>,
    ready: &dyn Fn() -> bool,
) -> Paused {
    let mut cmd = match strace_args {
        Some(strace_args) => {
            let mut cmd = Command::new("strace");
            cmd.args(strace_args).arg(TEMPKIT);
            cmd
        }
        None => Command::new(TEMPKIT),
    };
    cmd.arg("run")
        .arg("--dir")
        .arg(parent)
        .args(["--", "sh", "-c", script])
        .args(args)
        .env("TEMPKIT_TEST_PAUSE_AT", pause_at);
    let mut terminal = None;
    if foreground {
        let (master, slave) = common::openpty();
        cmd.stdin(slave.try_clone().unwrap())
            .stdout(slave.try_clone().unwrap())
            .stderr(slave);
        // SAFETY: setsid and ioctl are async-signal-safe; they make the terminal tempkit's
        // controlling terminal, with tempkit's process group in the foreground.
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        terminal = Some(std::fs::File::from(master));
    } else {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
    }
    let spawned = cmd.spawn().unwrap();
    drop(cmd); // our copies of the terminal's slave side
    let pid = match strace_args {
        // tempkit is strace's child.
        Some(_) => {
            let strace = spawned.id();
            let mut tempkit = None;
            assert!(
                within(10, || {
                    // strace also forks short-lived children of its own to probe ptrace.
                    tempkit = children_of(strace).into_iter().find(|&c| {
                        std::fs::read_to_string(format!("/proc/{}/comm", c)).ok()
                            == Some("tempkit\n".into())
                    });
                    tempkit.is_some()
                }),
                "strace started no tempkit"
            );
            tempkit.unwrap() as u32
        }
        None => spawned.id(),
    };
    let traced = strace_args.is_some();
    // A traced process shows `t` at every traced system call too: there the caller's `ready`
    // says when tempkit has passed the point before the failpoint (it does nothing else
    // before it stops).
    assert!(
        within(10, || state_of(pid) == Some('T')
            || (traced && ready() && state_of(pid) == Some('t'))),
        "tempkit did not stop at {} (state {:?}; processes: {})",
        pause_at,
        state_of(pid),
        String::from_utf8_lossy(
            &Command::new("ps")
                .args(["-eo", "pid,ppid,pgid,sid,stat,args"])
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        )
    );
    if traced {
        // Kill tempkit itself; strace then ends on its own.
        return Paused {
            tempkit: spawned,
            tempkit_pid: Some(pid),
            _terminal: terminal,
        };
    }
    Paused {
        tempkit: spawned,
        tempkit_pid: None,
        _terminal: terminal,
    }
}

/// The children of `pid` (from /proc).
fn children_of(pid: u32) -> Vec<i32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap() {
        let name = entry.unwrap().file_name();
        let Ok(child) = name.to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", child)) else {
            continue;
        };
        let ppid = stat.rsplit(')').next().unwrap().split_whitespace().nth(1);
        if ppid == Some(&*pid.to_string()) {
            found.push(child);
        }
    }
    found
}

impl Paused {
    /// tempkit's pid.
    fn pid(&self) -> i32 {
        self.tempkit_pid.unwrap_or(self.tempkit.id()) as i32
    }
}

/// Kills the paused tempkit with SIGKILL and reaps it; under strace, waits until strace has
/// reaped it (strace itself runs on while it traces the guardian).
fn kill_paused(paused: &mut Paused) {
    kill(paused.pid(), libc::SIGKILL);
    if paused.tempkit_pid.is_some() {
        let pid = paused.pid();
        assert!(within(10, || is_gone(pid) && state_of(pid as u32).is_none()));
        return;
    }
    let status = common::wait_within(&mut paused.tempkit);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
}

/// The directory and pid a command wrote into `marker` (`echo "$TMPDIR $$"`).
fn read_marker(marker: &Path) -> (PathBuf, i32) {
    let text = std::fs::read_to_string(marker).unwrap();
    let (dir, pid) = text.trim().rsplit_once(' ').unwrap();
    (PathBuf::from(dir), pid.parse().unwrap())
}

/// The command's pid (and process group id) goes to a stranger while the guardian has yet to
/// act on tempkit's death (in a pid namespace of the test's own, `ns_last_pid` hands it out
/// exactly). The guardian must not signal the stranger, with the command in a group of its own
/// or in tempkit's (foreground) group, in each scenario:
/// - `after-reap`: tempkit is killed after it reaped the command and before it removed the
///   directory (the pidfd, and the "ended" message sent before the reap, protect);
/// - `after-exit`: tempkit is killed after the command ended and before it told the guardian;
///   the guardian is held stopped while the test (pid 1, the orphan's new parent) reaps the
///   command and hands its pid out (only the pidfd and the anchor protect);
/// - `no-pidfd`: as `after-reap`, with `pidfd_open` failing with `ENOSYS` (strace), as on
///   kernels before 5.3: the ordering rule alone protects.
#[test]
fn a_pid_reused_after_the_command_ended_is_never_signalled() {
    // Root: a pid namespace of its own and ns_last_pid; unshare makes it; strace the
    // `no-pidfd` scenario.
    if !common::need::root()
        || !common::need::program("unshare", "--version")
        || !common::need::strace()
    {
        return;
    }
    for scenario in ["after-reap", "after-exit", "no-pidfd"] {
        for foreground in [false, true] {
            let out = common::output_of(
                Command::new("unshare")
                    .args(["--pid", "--fork", "--mount-proc", "--"])
                    .arg(std::env::current_exe().unwrap())
                    .args([
                        "child_a_reused_pid_is_never_signalled",
                        "--exact",
                        "--ignored",
                        "--test-threads=1",
                        "--nocapture",
                    ])
                    .env("TEMPKIT_TEST_SCENARIO", scenario)
                    .env(
                        "TEMPKIT_TEST_FOREGROUND",
                        if foreground { "1" } else { "0" },
                    ),
            )
            .expect("run unshare");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                out.status.success() && text.contains("test result: ok. 1 passed"),
                "{}, foreground {}: {}",
                scenario,
                foreground,
                text
            );
        }
    }
}

#[test]
#[ignore = "run by a_pid_reused_after_the_command_ended_is_never_signalled, as pid 1 of a pid namespace"]
fn child_a_reused_pid_is_never_signalled() {
    assert_eq!(std::process::id(), 1, "not in a pid namespace of its own");
    let foreground = std::env::var("TEMPKIT_TEST_FOREGROUND").unwrap() == "1";
    let scenario = std::env::var("TEMPKIT_TEST_SCENARIO").unwrap();
    let scratch = Scratch::new();
    let parent = scratch.path().join("tmp");
    std::fs::create_dir(&parent).unwrap();
    let marker = scratch.path().join("marker");
    let script = "echo \"$TMPDIR $$\" > \"$0.tmp\"; mv \"$0.tmp\" \"$0\"";
    let mut paused = match scenario.as_str() {
        "no-pidfd" => start_paused_with(
            &parent,
            script,
            &[&marker],
            "after-reap",
            foreground,
            Some(
                &[
                    "-f",
                    "-qq",
                    "-o",
                    "/dev/null",
                    "-e",
                    "trace=pidfd_open",
                    "-e",
                    "inject=pidfd_open:error=ENOSYS",
                ][..],
            ),
            // The command has run and was reaped.
            &|| marker.exists() && state_of(read_marker(&marker).1 as u32).is_none(),
        ),
        point => start_paused(&parent, script, &[&marker], point, foreground),
    };
    let (dir, command) = read_marker(&marker);
    assert!(
        dir.is_dir(),
        "tempkit stopped before removing the directory"
    );
    let mut guardian = None;
    if scenario == "after-exit" {
        let g = guardian_of(paused.pid() as u32, command);
        kill(g, libc::SIGSTOP);
        assert!(within(10, || state_of(g as u32) == Some('T')));
        guardian = Some(g);
        kill_paused(&mut paused);
        // We are init here: the unreaped command is ours now.
        assert!(
            common::reap_within(command, std::time::Duration::from_secs(10)).is_some(),
            "the command was not handed to us"
        );
    }
    // Nothing else forks in this namespace now: the next pid is exactly the command's.
    std::fs::write("/proc/sys/kernel/ns_last_pid", (command - 1).to_string()).unwrap();
    let mut stranger = Command::new("sleep")
        .arg("60")
        .process_group(0)
        .spawn()
        .unwrap();
    assert_eq!(
        stranger.id() as i32,
        command,
        "the stranger did not get the command's pid"
    );
    match guardian {
        Some(g) => kill(g, libc::SIGCONT),
        None => kill_paused(&mut paused),
    }
    // The guardian signals (if at all) before it removes the directory.
    assert!(
        within(15, || !dir.exists()),
        "the guardian did not remove the directory"
    );
    let fate = stranger.try_wait().unwrap();
    let _ = stranger.kill();
    let _ = stranger.wait();
    assert_eq!(
        fate, None,
        "the guardian signalled the stranger who reused the command's pid {}",
        command
    );
    common::assert_empty(&parent);
    common::wait_within(&mut paused.tempkit); // strace, if it ran tempkit
}

/// tempkit is killed right after `spawn` returned, before it did anything with the command:
/// the guardian knows the command already (the command told it before exec), stops it, and
/// removes the directory only once it is gone. In its own group and in tempkit's.
#[test]
fn sigkill_right_after_spawn_still_stops_the_command_before_the_directory_goes() {
    // The command ignores SIGHUP (the terminal's hangup when tempkit, its session leader,
    // dies): only the guardian's SIGTERM ends it, and its handler checks the directory.
    let script = r#"trap '' HUP
trap 'test -d "$TMPDIR" && echo still-there > "$1"; exit 0' TERM
echo "$TMPDIR $$" > "$0.tmp"; mv "$0.tmp" "$0"
while :; do sleep 0.05; done"#;
    for foreground in [false, true] {
        let scratch = Scratch::new();
        let parent = scratch.path().join("tmp");
        std::fs::create_dir(&parent).unwrap();
        let (marker, trapped) = (
            scratch.path().join("marker"),
            scratch.path().join("trapped"),
        );
        let mut paused = start_paused(
            &parent,
            script,
            &[&marker, &trapped],
            "after-spawn",
            foreground,
        );
        assert!(
            within(10, || marker.exists()),
            "the command did not start (foreground {})",
            foreground
        );
        let (dir, command) = read_marker(&marker);
        let _stray = Stray::new(command);
        kill_paused(&mut paused);
        assert!(
            within(15, || is_gone(command)),
            "the command outlived tempkit unguarded (foreground {})",
            foreground
        );
        assert!(within(15, || !dir.exists()), "foreground {}", foreground);
        assert_eq!(
            std::fs::read_to_string(&trapped).unwrap_or_default(),
            "still-there\n",
            "the command was not ended by SIGTERM with its directory in place (foreground {})",
            foreground
        );
        common::assert_empty(&parent);
    }
}

/// The result of trying to take the directory's lock as an age-based cleaner would.
#[derive(Debug, PartialEq)]
enum Lock {
    /// `flock(LOCK_EX|LOCK_NB)` fails with `EWOULDBLOCK`: someone protects it.
    Held,
    Free,
    Missing,
}

fn try_lock(dir: &Path) -> Lock {
    use std::os::fd::AsRawFd;
    let Ok(fd) = std::fs::File::open(dir) else {
        return Lock::Missing;
    };
    // SAFETY: flock on a descriptor we own; the lock, if taken, goes with it at once.
    if unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        Lock::Free
    } else {
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::EWOULDBLOCK)
        );
        Lock::Held
    }
}

/// A command that ignores SIGTERM, with a grandchild (which inherits that): after tempkit's
/// SIGKILL, both are killed after the grace period, and until they are gone the directory is
/// there and protected (its lock held, as systemd-tmpfiles checks it).
#[test]
fn a_command_ignoring_sigterm_dies_with_its_grandchild_after_the_grace_and_stays_protected() {
    let scratch = Scratch::new();
    let grandchild_file = scratch.path().join("grandchild");
    let mut run = start_script(
        &scratch,
        r#"trap '' TERM; sleep 100 & echo $! > "$1.tmp"; mv "$1.tmp" "$1"; wait"#,
        &[&grandchild_file],
        false,
    );
    assert!(within(10, || grandchild_file.exists()));
    let grandchild: i32 = std::fs::read_to_string(&grandchild_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let _strays = (Stray::new(run.command), Stray::new(grandchild));
    assert_eq!(pgid_of(grandchild), pgid_of(run.command));
    assert_eq!(
        try_lock(&run.dir),
        Lock::Held,
        "unprotected while tempkit runs"
    );
    kill(run.tempkit.id() as i32, libc::SIGKILL);
    common::wait_within(&mut run.tempkit);
    let mut checked_while_running = 0;
    let both_gone = within(20, || {
        let lock = try_lock(&run.dir);
        let gone = is_gone(run.command) && is_gone(grandchild);
        if !gone {
            assert_eq!(
                lock,
                Lock::Held,
                "the directory must be there and protected while the command runs (states {:?} {:?})",
                state_of(run.command as u32),
                state_of(grandchild as u32)
            );
            checked_while_running += 1;
        }
        gone
    });
    assert!(
        both_gone,
        "the command or its grandchild survived the grace period"
    );
    assert!(checked_while_running > 0, "never saw the grace period");
    assert!(within(15, || !run.dir.exists()));
    common::assert_empty(&scratch.path().join("tmp"));
}
