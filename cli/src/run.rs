//! `tempkit run`: runs a command inside a fresh temporary directory and always removes it.
//!
//! The directory is created first; `TMPDIR`, `TEMP` and `TMP` point at it (and, with `--cd`,
//! the working directory). While the command runs, SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGALRM,
//! SIGUSR1 and SIGUSR2 sent to tempkit are forwarded to it, so that tempkit outlives it and
//! removes the directory after it ends. A signal the terminal sent to its whole foreground
//! process group (Ctrl-C) has reached the command already and is not sent twice.
//!
//! If tempkit itself is killed (`SIGKILL`, which cannot be caught), a guardian process stops
//! the command and removes the directory (see `guardian.rs`). The directory is protected from
//! age-based cleaners and tagged for `tempkit reap` while it exists.
//!
//! `--keep` keeps the directory; `--keep-on-failure` keeps it only when the command exits
//! with a non-zero status or is killed by a signal. Either way its path goes to stderr
//! (`tempkit run: kept PATH`).
//!
//! Exit status: the command's; 128+N when a signal N killed it (as shells report it); 127
//! when it was not found and 126 when it could not be started otherwise; 125 when tempkit
//! itself failed (the directory could not be created, or, after a successful command, could
//! not be removed).
//!
//! The options, the directory's creation and removal, the messages and the exit statuses shared
//! with Windows are in `run_common.rs`; this file starts the command, forwards the signals and
//! runs the guardian.

use std::io;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{ExitCode, ExitStatus};
use std::sync::atomic::{AtomicI32, Ordering};

use tempkit::TemporaryDirectory;

use crate::guardian::{self, Guardian};
use crate::out;
pub(crate) use crate::run_common::RunArgs;
use crate::run_common::{self as common, PROG, TEMPKIT_FAILED};

/// The signals forwarded to the command. Each of them would otherwise end tempkit and leave
/// the directory behind.
const FORWARDED: [libc::c_int; 7] = [
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGALRM,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// The command's process id while it may be signalled (alive, or a zombie not yet reaped);
/// 0 before it starts and after it is reaped.
static CHILD: AtomicI32 = AtomicI32::new(0);
/// A signal that arrived before the command started, to forward once it has.
static PENDING: AtomicI32 = AtomicI32::new(0);

pub(crate) fn main(args: RunArgs) -> ExitCode {
    let mut builder = args.builder();
    // Shielded from age-based cleaners while it lives, and reapable by `tempkit reap` if
    // tempkit and its guardian both die (one directory per run: the cost does not matter).
    builder.protect(true).reapable(true);
    // The default SIGCHLD action, whatever our parent left us: an ignored SIGCHLD would make
    // the kernel reap the command (and the guardian's anchor) at once, freeing its pid while
    // it may still be signalled.
    // SAFETY: no memory-safety preconditions; no handler of ours is replaced.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_DFL) };
    // Handlers first: from the moment the directory exists, a signal must not end tempkit.
    if let Err(e) = install_forwarding() {
        out::error(PROG, format_args!("cannot handle signals: {}", e));
        return ExitCode::from(TEMPKIT_FAILED);
    }
    let mut workdir = match common::create(&builder) {
        Ok(w) => w,
        Err(code) => return code,
    };
    let own_group = !in_terminal_foreground();
    // Before the command starts, while tempkit is single-threaded.
    let mut guardian = match Guardian::start(&mut workdir, own_group) {
        Ok(guardian) => Some(guardian),
        Err(e) => {
            out::error(
                PROG,
                format_args!("no guardian (a SIGKILL would leak): {}", e),
            );
            None
        }
    };
    let status = run_command(&args, &workdir, own_group, &mut guardian);
    let keep = args.keeps(&status);
    let code = common::finish(workdir, keep, exit_code(status));
    if let Some(guardian) = guardian {
        guardian.done();
    }
    code
}

/// Whether tempkit is the foreground job of its terminal: the command then stays in tempkit's
/// process group, so that job control (Ctrl-C, Ctrl-Z) treats both as one job. Otherwise the
/// command gets a process group of its own (led by the guardian's anchor, see `guardian.rs`),
/// which the guardian can stop as a whole.
fn in_terminal_foreground() -> bool {
    // SAFETY: isatty, tcgetpgrp and getpgrp have no memory-safety preconditions.
    unsafe { libc::isatty(0) == 1 && libc::tcgetpgrp(0) == libc::getpgrp() }
}

/// Runs the command to its end. `Ok` is its exit status; `Err` the status to exit with when it
/// could not be started (the message is printed).
fn run_command(
    args: &RunArgs,
    workdir: &TemporaryDirectory,
    own_group: bool,
    guardian: &mut Option<Guardian>,
) -> Result<ExitStatus, u8> {
    let mut command = args.command(workdir)?;
    if own_group {
        // The anchor's group, whose id cannot be reused while the guardian lives; a group of
        // its own without a guardian.
        command.process_group(guardian.as_ref().and_then(Guardian::group).unwrap_or(0));
    }
    if let Some(socket) = guardian.as_ref().and_then(Guardian::socket_fd) {
        // SAFETY: `announce` makes only raw system calls (getpid, pidfd_open, sendmsg, close)
        // on memory of its own stack: async-signal-safe, as the child of a fork must be.
        unsafe {
            command.pre_exec(move || {
                guardian::announce(socket);
                Ok(())
            });
        }
    }
    // Told to stop before the command started: do not start it.
    let early = PENDING.swap(0, Ordering::SeqCst);
    if early != 0 {
        return Err(u8::try_from(128 + early).unwrap_or(255));
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            // The process that failed to exec may have announced itself; std has reaped it
            // already. (Only a guardian without pidfds, on Linux before 5.3, would signal its
            // pid; it must not from now on.)
            if let Some(guardian) = guardian.as_mut() {
                guardian.command_ended();
            }
            return Err(common::not_started(command.get_program(), &e));
        }
    };
    pause_at("after-spawn");
    let pid = i32::try_from(child.id()).map_err(|_| TEMPKIT_FAILED)?;
    CHILD.store(pid, Ordering::SeqCst);
    let early = PENDING.swap(0, Ordering::SeqCst);
    if early != 0 {
        // SAFETY: kill has no memory-safety preconditions; `pid` is our unreaped child.
        unsafe { libc::kill(pid, early) };
    }
    // Wait for the command to end without reaping it: until `CHILD` is cleared its process id
    // cannot be reused, so a signal forwarded meanwhile cannot reach a stranger.
    let waited = wait_unreaped(pid);
    CHILD.store(0, Ordering::SeqCst);
    if let Err(e) = waited {
        out::error(PROG, format_args!("waiting for the command: {}", e));
    }
    pause_at("after-exit");
    // Before reaping: where the guardian has no pidfd of the command, it must learn that the
    // pid is no longer to be signalled while the pid is still ours.
    if let Some(guardian) = guardian.as_mut() {
        guardian.command_ended();
    }
    let status = child.wait().map_err(|e| common::wait_failed(&e));
    pause_at("after-reap");
    status
}

/// Test-only failpoint: stops tempkit (`SIGSTOP`) at `point` when `TEMPKIT_TEST_PAUSE_AT` names
/// it, so that a test can kill it exactly there (`after-spawn`: the command has exec'd, tempkit
/// has done nothing with it yet; `after-exit`: the command has ended, is not reaped, and the
/// guardian is not told; `after-reap`: the command is reaped, the directory not yet removed).
/// Not a feature: undocumented outside the tests, and it only stops tempkit itself.
fn pause_at(point: &str) {
    if std::env::var_os("TEMPKIT_TEST_PAUSE_AT").is_some_and(|p| p == point) {
        // SAFETY: raise has no memory-safety preconditions.
        unsafe { libc::raise(libc::SIGSTOP) };
    }
}

/// Blocks until process `pid` has ended, leaving it a zombie (`waitid` with `WNOWAIT`).
fn wait_unreaped(pid: i32) -> io::Result<()> {
    let id = libc::id_t::try_from(pid).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    loop {
        // SAFETY: a zeroed siginfo_t is a valid value for waitid to fill in.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        // SAFETY: `info` is a valid, writable siginfo_t; waitid only writes into it.
        let rc = unsafe { libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT) };
        if rc == 0 {
            return Ok(());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Forwards the signals in [`FORWARDED`] to the command (or keeps one for it until it starts).
fn install_forwarding() -> io::Result<()> {
    for &signal in &FORWARDED {
        // SAFETY: the handler only reads and writes atomics and calls kill, getpgid and
        // getpgrp, which are plain system calls and async-signal-safe.
        unsafe {
            signal_hook_registry::register_sigaction(signal, move |info: &libc::siginfo_t| {
                forward(signal, info.si_code)
            })?;
        }
    }
    Ok(())
}

/// The signal handler's work; async-signal-safe.
fn forward(signal: libc::c_int, si_code: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid == 0 {
        PENDING.store(signal, Ordering::SeqCst);
        return;
    }
    // A positive code means the kernel generated the signal, which for these signals is the
    // terminal (Ctrl-C, Ctrl-\, hangup) signalling its foreground process group. If the
    // command is in our group it has its own copy already.
    // SAFETY: getpgid, getpgrp and kill have no memory-safety preconditions.
    unsafe {
        if si_code > 0 && libc::getpgid(pid) == libc::getpgrp() {
            return;
        }
        libc::kill(pid, signal);
    }
}

/// The command's outcome as tempkit's exit status: its own; 128+N when signal N killed it.
fn exit_code(outcome: Result<ExitStatus, u8>) -> i32 {
    let code = match outcome {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => u8::try_from(code).unwrap_or(1),
            (None, Some(signal)) => u8::try_from(128 + signal).unwrap_or(255),
            (None, None) => 1,
        },
        Err(code) => code,
    };
    i32::from(code)
}
