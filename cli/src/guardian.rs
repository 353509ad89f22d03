//! The guardian of `tempkit run`: a process that outlives a `SIGKILL` of tempkit, then stops
//! the command and removes the directory.
//!
//! Forked right after the directory is made, it starts its own session (so a `kill -9` of
//! tempkit's process group, or Ctrl-C on the terminal, misses it), ignores the signals that
//! end a process politely, and blocks reading a pipe whose only write end tempkit holds
//! (close-on-exec, so the command never holds it). tempkit writes the command's process id
//! (and whether it leads its own process group) once it has started it, and `done` after it
//! has removed or kept the directory. If the pipe reaches end-of-file without `done`, tempkit
//! died: the guardian sends `SIGTERM` to the command (its process group when it has one of its
//! own), `SIGKILL` after a grace period, and removes the directory with the library's secure
//! removal. It also holds the directory's lock descriptor (inherited), so the directory stays
//! protected from age-based cleaners until it is gone.
//!
//! If the guardian alone is killed, nothing changes: tempkit's writes to the closed pipe fail
//! quietly and tempkit removes the directory itself at the end, as without a guardian.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

use tempkit::TemporaryDirectory;

use crate::out;

/// How long the command gets between `SIGTERM` and `SIGKILL`.
const GRACE: Duration = Duration::from_secs(2);

/// tempkit's end of the pipe to the guardian.
pub(crate) struct Guardian {
    pipe: Option<File>,
}

impl Guardian {
    /// Forks the guardian of `workdir`.
    ///
    /// Must be called while tempkit is single-threaded (the child runs ordinary Rust code).
    pub(crate) fn start(workdir: &mut TemporaryDirectory) -> io::Result<Guardian> {
        let mut fds = [0; 2];
        // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: both descriptors are fresh and owned by nobody else.
        let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
        // SAFETY: tempkit is single-threaded here (no thread has been started), so the child
        // may run any code.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                drop(write);
                guard(File::from(read), workdir)
            }
            _ => Ok(Guardian {
                pipe: Some(File::from(write)),
            }),
        }
    }

    /// Tells the guardian which process to stop: `pid`, and its process group if `own_group`.
    pub(crate) fn command_started(&mut self, pid: i32, own_group: bool) {
        self.send(format!("{} {}\n", if own_group { "G" } else { "P" }, pid).as_bytes());
    }

    /// The normal end: the directory was removed or kept by tempkit; the guardian leaves.
    pub(crate) fn done(mut self) {
        self.send(b"done\n");
        self.pipe = None;
    }

    /// Writes to the guardian; a guardian that was killed is no error (nothing changes).
    fn send(&mut self, message: &[u8]) {
        if let Some(pipe) = self.pipe.as_mut() {
            if pipe.write_all(message).is_err() {
                self.pipe = None;
            }
        }
    }
}

/// The guardian's life: never returns.
fn guard(mut pipe: File, workdir: &mut TemporaryDirectory) -> ! {
    // SAFETY: plain system calls on our own process; the descriptors are stdin and stdout,
    // pointed at /dev/null so that we hold no terminal or pipe of the caller open.
    unsafe {
        libc::setsid();
        for signal in [
            libc::SIGHUP,
            libc::SIGINT,
            libc::SIGQUIT,
            libc::SIGTERM,
            libc::SIGTSTP,
            libc::SIGTTIN,
            libc::SIGTTOU,
            libc::SIGALRM,
            libc::SIGUSR1,
            libc::SIGUSR2,
            libc::SIGPIPE,
        ] {
            libc::signal(signal, libc::SIG_IGN);
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            if null > 2 {
                libc::close(null);
            }
        }
    }
    let mut text = Vec::new();
    let mut buf = [0u8; 64];
    loop {
        match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&text);
    if text.lines().any(|l| l == "done") {
        // SAFETY: ends the guardian without running destructors: the directory is tempkit's.
        unsafe { libc::_exit(0) };
    }
    // tempkit died: stop the command, then remove the directory.
    let target = text.lines().find_map(|l| {
        let (kind, pid) = l.split_once(' ')?;
        let pid: i32 = pid.parse().ok().filter(|&p| p > 0)?;
        match kind {
            "G" => Some(-pid),
            "P" => Some(pid),
            _ => None,
        }
    });
    if let Some(target) = target {
        stop(target);
    }
    let status = match workdir.cleanup() {
        Ok(()) => 0,
        Err(e) => {
            out::error("tempkit run (guardian)", format_args!("{}", e));
            1
        }
    };
    // SAFETY: ends the guardian; the directory is handled.
    unsafe { libc::_exit(status) }
}

/// `SIGTERM` to `target` (a pid, or a process group as a negative number), then `SIGKILL`
/// after [`GRACE`] if it is still there.
fn stop(target: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    let alive = || unsafe { libc::kill(target, 0) } == 0;
    // SAFETY: as above.
    if unsafe { libc::kill(target, libc::SIGTERM) } != 0 {
        return;
    }
    let start = Instant::now();
    while start.elapsed() < GRACE {
        if !alive() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: as above.
    unsafe { libc::kill(target, libc::SIGKILL) };
    // Wait (bounded) until it is gone, so that nothing writes into the directory meanwhile.
    let start = Instant::now();
    while alive() && start.elapsed() < GRACE {
        std::thread::sleep(Duration::from_millis(20));
    }
}
