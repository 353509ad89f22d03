//! The guardian of `tempkit run`: a process that outlives a `SIGKILL` of tempkit, then stops
//! the command and removes the directory, without ever signalling a process that merely
//! reused a pid of the command.
//!
//! Forked right after the directory is made, it starts its own session (so a `kill -9` of
//! tempkit's process group, or Ctrl-C on the terminal, misses it), ignores the signals that
//! end a process politely, and reads a socket whose other end only tempkit holds
//! (close-on-exec). It also holds the directory's lock descriptor (inherited), so the directory
//! stays protected from age-based cleaners until it is gone.
//!
//! # Whom it signals, and why no pid can have been reused
//!
//! - **The command's process group** (when the command is not in tempkit's own, foreground,
//!   group) is led by the guardian's **anchor**: a child of the guardian that does nothing but
//!   wait, forked before the guardian leaves tempkit's session, made the leader of a new process
//!   group there; the command joins that group before it execs. A process group's id is its
//!   leader's pid, and that number stays taken while the leader is alive or an unreaped zombie.
//!   Only the guardian can reap the anchor, and it does so only by exiting, after its last
//!   signal. So every `kill(-anchor, ...)` it sends reaches exactly the command's group (the
//!   command, and whatever it started that stayed in the group), on every kernel.
//! - **The command itself**, through a pidfd. The command's own process, between `fork` and
//!   `exec`, opens a pidfd of itself (`pidfd_open(getpid())`, exact: no other process can have
//!   that pid while it runs) and sends it to the guardian over the socket (`SCM_RIGHTS`). A
//!   signal sent through it after the command ended (and was reaped, and its pid reused) fails
//!   with `ESRCH`: it can reach no one else. Where pidfds are missing (Linux before 5.3) the
//!   command sends only its pid, and the ordering rule applies: tempkit tells the guardian
//!   that the command ended *before* it reaps it, and the guardian then never signals that
//!   pid. (After a `SIGKILL` of tempkit the command's new parent, init, reaps it: between the
//!   guardian's check and its `kill` a pid could still be reused there. pidfds close that.)
//!
//! The command sends its pidfd before it execs, and it holds a copy of tempkit's end of the
//! socket until then (close-on-exec): the guardian sees end-of-file only after the command has
//! either exec'd (its pidfd and group are then known) or died. So a `SIGKILL` of tempkit at
//! any moment after the command was forked leaves the command guarded.
//!
//! # The end
//!
//! tempkit sends `done` after it removed or kept the directory: the guardian leaves. If the
//! socket reaches end-of-file without `done`, tempkit died: the guardian sends `SIGTERM` to
//! the group and the command, `SIGKILL` after a grace period if any of them is still there,
//! waits (bounded) until they are gone, and removes the directory with the library's secure
//! removal.
//!
//! If the guardian alone is killed, nothing changes: tempkit's writes to the closed socket fail
//! quietly and tempkit removes the directory itself at the end, as without a guardian.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::net::{
    recv, recvmsg, send, sendmsg, socketpair, AddressFamily, RecvAncillaryBuffer,
    RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer, SendAncillaryMessage, SendFlags,
    SocketFlags, SocketType,
};
use rustix::process::{pidfd_open, pidfd_send_signal, PidfdFlags, Signal};

use tempkit::TemporaryDirectory;

use crate::out;

/// How long the command gets between `SIGTERM` and `SIGKILL`.
const GRACE: Duration = Duration::from_secs(2);
/// How long the guardian waits for killed processes to be gone before it removes the
/// directory anyway: they can run no code of their own any more, but a system call already
/// under way (a file being created) finishes, and on a loaded machine a killed process may
/// take a while to be scheduled and exit. Only a process stuck in the kernel takes longer.
const KILL_WAIT: Duration = Duration::from_secs(10);

/// The messages on the socket: one tag byte and a process id (native byte order).
/// Guardian to tempkit: the anchor's pid (0: no anchor).
const ANCHOR: u8 = b'A';
/// The command (between fork and exec) to the guardian: its pid, and its pidfd alongside.
const COMMAND: u8 = b'C';
/// tempkit to the guardian: the command ended and is about to be reaped.
const ENDED: u8 = b'E';
/// tempkit to the guardian: the directory was removed or kept.
const DONE: u8 = b'D';
const MESSAGE_LEN: usize = 5;

fn message(tag: u8, pid: i32) -> [u8; MESSAGE_LEN] {
    let [a, b, c, d] = pid.to_ne_bytes();
    [tag, a, b, c, d]
}

/// tempkit's end of the socket to the guardian.
pub(crate) struct Guardian {
    socket: Option<OwnedFd>,
    anchor: Option<i32>,
}

impl Guardian {
    /// Forks the guardian of `workdir`. With `own_group`, the guardian makes an anchor whose
    /// process group the command must join ([`Guardian::group`]).
    ///
    /// Must be called while tempkit is single-threaded (the child runs ordinary Rust code).
    pub(crate) fn start(workdir: &mut TemporaryDirectory, own_group: bool) -> io::Result<Guardian> {
        // SEQPACKET: messages keep their bounds, and reading returns 0 once every copy of the
        // other end is closed.
        let (ours, theirs) = socketpair(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::CLOEXEC,
            None,
        )?;
        // SAFETY: tempkit is single-threaded here (no thread has been started), so the child
        // may run any code.
        match unsafe { libc::fork() } {
            -1 => Err(io::Error::last_os_error()),
            0 => {
                drop(ours);
                guard(theirs, workdir, own_group)
            }
            _ => {
                drop(theirs);
                let mut guardian = Guardian {
                    socket: Some(ours),
                    anchor: None,
                };
                if own_group {
                    guardian.anchor = guardian.receive_anchor();
                }
                Ok(guardian)
            }
        }
    }

    /// The process group the command must join (the anchor's), if the guardian made one.
    pub(crate) fn group(&self) -> Option<i32> {
        self.anchor
    }

    /// The descriptor the command's process hands to [`announce`] between fork and exec.
    pub(crate) fn socket_fd(&self) -> Option<RawFd> {
        self.socket.as_ref().map(|s| s.as_raw_fd())
    }

    /// The command has ended and is not reaped yet: from now on the guardian never signals
    /// its pid (the ordering rule, for kernels without pidfds). Call before reaping it.
    pub(crate) fn command_ended(&mut self) {
        self.send(&message(ENDED, 0));
    }

    /// The normal end: the directory was removed or kept by tempkit; the guardian leaves.
    pub(crate) fn done(mut self) {
        self.send(&message(DONE, 0));
        self.socket = None;
    }

    fn receive_anchor(&mut self) -> Option<i32> {
        let socket = self.socket.as_ref()?;
        let mut buf = [0u8; MESSAGE_LEN];
        loop {
            match recv(socket, &mut buf, RecvFlags::empty()) {
                Ok((MESSAGE_LEN, _)) if buf[0] == ANCHOR => {
                    let pid = i32::from_ne_bytes([buf[1], buf[2], buf[3], buf[4]]);
                    return Some(pid).filter(|&p| p > 0);
                }
                Err(rustix::io::Errno::INTR) => continue,
                // The guardian died or said something else: no anchor.
                _ => return None,
            }
        }
    }

    /// Writes to the guardian; a guardian that was killed is no error (nothing changes).
    fn send(&mut self, message: &[u8]) {
        if let Some(socket) = self.socket.as_ref() {
            loop {
                match send(socket, message, SendFlags::NOSIGNAL) {
                    Err(rustix::io::Errno::INTR) => continue,
                    Ok(_) => return,
                    Err(_) => break,
                }
            }
            self.socket = None;
        }
    }
}

/// Run by the command's own process between fork and exec (so only raw system calls, no
/// allocation): sends the guardian its pid and, where the kernel has them, a pidfd of itself.
/// Errors are ignored: a guardian that is gone cannot be told, and tempkit still guards.
pub(crate) fn announce(socket: RawFd) {
    // SAFETY: `socket` is tempkit's end of the socket, inherited and open until exec.
    let socket = unsafe { BorrowedFd::borrow_raw(socket) };
    let pid = rustix::process::getpid();
    // Exact: this process is running, so no other process has its pid.
    let pidfd = pidfd_open(pid, PidfdFlags::empty()).ok();
    let bytes = message(COMMAND, pid.as_raw_nonzero().get());
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds;
    if let Some(pidfd) = &pidfd {
        fds = [pidfd.as_fd()];
        control.push(SendAncillaryMessage::ScmRights(&fds));
    }
    let _ = sendmsg(
        socket,
        &[IoSlice::new(&bytes)],
        &mut control,
        SendFlags::NOSIGNAL,
    );
}

/// What the guardian learnt from the socket.
#[derive(Default)]
struct News {
    /// The command's pid and, where the kernel has them, its pidfd.
    command: Option<(i32, Option<OwnedFd>)>,
    ended: bool,
    done: bool,
}

/// The guardian's life: never returns.
fn guard(socket: OwnedFd, workdir: &mut TemporaryDirectory, own_group: bool) -> ! {
    // SAFETY: plain system calls on our own process; the descriptors are stdin and stdout,
    // pointed at /dev/null so that we hold no terminal or pipe of the caller open.
    unsafe {
        // The default SIGCHLD action: an ignored one would make the kernel reap the anchor at
        // once, freeing its number while we still signal its group.
        libc::signal(libc::SIGCHLD, libc::SIG_DFL);
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
    // Before leaving tempkit's session: the anchor's group must be in it for the command to
    // join. The anchor is ours until we exit (we never wait for it before that).
    let anchor = if own_group { start_anchor() } else { None };
    let mut bytes = message(ANCHOR, 0);
    if let Some((pid, _)) = &anchor {
        bytes = message(ANCHOR, *pid);
    }
    if own_group {
        let _ = send(&socket, &bytes, SendFlags::NOSIGNAL);
    }
    // SAFETY: no memory-safety preconditions; we are not a process group leader.
    unsafe { libc::setsid() };

    let news = listen(&socket);
    if news.done {
        // SAFETY: ends the guardian without running destructors: the directory is tempkit's.
        unsafe { libc::_exit(0) };
    }
    // tempkit died: stop the command, then remove the directory.
    let command = match news.command {
        Some((_, Some(pidfd))) => Some(Command::Pidfd(pidfd)),
        // Without a pidfd, the pid may be signalled only while tempkit had not yet said that
        // the command ended (and so had not reaped it).
        Some((pid, None)) if !news.ended => Some(Command::Pid(pid)),
        _ => None,
    };
    stop(anchor.as_ref().map(|(pid, _)| *pid), command.as_ref());
    let status = match workdir.cleanup() {
        Ok(()) => 0,
        Err(e) => {
            out::error("tempkit run (guardian)", format_args!("{}", e));
            1
        }
    };
    // SAFETY: ends the guardian; the directory is handled. The anchor, ours until now, sees
    // its pipe close and leaves; init reaps it.
    unsafe { libc::_exit(status) }
}

/// Reads the socket until every copy of tempkit's end is closed (tempkit and a command that
/// has not exec'd yet).
fn listen(socket: &OwnedFd) -> News {
    let mut news = News::default();
    loop {
        let mut buf = [0u8; MESSAGE_LEN];
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let received = recvmsg(
            socket,
            &mut [IoSliceMut::new(&mut buf)],
            &mut control,
            RecvFlags::CMSG_CLOEXEC,
        );
        let received = match received {
            Ok(r) => r,
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return news,
        };
        if received.bytes == 0 {
            return news;
        }
        let mut pidfd = None;
        for message in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = message {
                for fd in fds {
                    pidfd = Some(fd);
                }
            }
        }
        let pid = i32::from_ne_bytes([buf[1], buf[2], buf[3], buf[4]]);
        match buf[0] {
            COMMAND if received.bytes == MESSAGE_LEN && pid > 0 => {
                news.command = Some((pid, pidfd))
            }
            ENDED => news.ended = true,
            DONE => news.done = true,
            _ => {}
        }
    }
}

/// Forks the anchor and makes it the leader of a new process group; returns its pid and the
/// write end of the pipe it waits on (closed when the guardian exits, which ends it).
fn start_anchor() -> Option<(i32, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a valid array of two ints for pipe2 to fill.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return None;
    }
    // SAFETY: both descriptors are fresh and owned by nobody else.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the guardian is single-threaded; the child only makes raw system calls.
    match unsafe { libc::fork() } {
        -1 => None,
        0 => anchor(read.as_raw_fd()),
        pid => {
            drop(read);
            // The parent sets the group too, so that it exists before tempkit learns of it.
            // SAFETY: no memory-safety preconditions; `pid` is our child that has not exec'd.
            if unsafe { libc::setpgid(pid, pid) } != 0 {
                // SAFETY: as above; the child is ours and unreaped.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
                return None;
            }
            Some((pid, write))
        }
    }
}

/// The anchor's life: lead the group, hold nothing of tempkit's, wait for the guardian's end.
fn anchor(pipe: RawFd) -> ! {
    // SAFETY: raw system calls on our own process and descriptors only.
    unsafe {
        libc::setpgid(0, 0);
        libc::dup2(pipe, 0);
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 1);
            libc::dup2(null, 2);
        }
        // Nothing else: not the socket, not the directory's lock.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
        let mut byte = 0u8;
        loop {
            let n = libc::read(0, (&mut byte as *mut u8).cast(), 1);
            if n == 0 || (n < 0 && *libc::__errno_location() != libc::EINTR) {
                libc::_exit(0);
            }
        }
    }
}

/// The command, as the guardian may signal it.
enum Command {
    /// Signals can never reach another process.
    Pidfd(OwnedFd),
    /// A pid tempkit had not reaped when it died (no pidfds on this kernel).
    Pid(i32),
}

impl Command {
    fn signal(&self, signal: Signal) {
        match self {
            Command::Pidfd(fd) => {
                let _ = pidfd_send_signal(fd, signal);
            }
            // SAFETY: kill has no memory-safety preconditions.
            Command::Pid(pid) => unsafe {
                libc::kill(*pid, signal.as_raw());
            },
        }
    }

    fn alive(&self) -> bool {
        match self {
            Command::Pidfd(fd) => {
                // A pidfd is readable once its process has ended.
                let mut fds = [PollFd::new(fd, PollFlags::IN)];
                !matches!(poll(&mut fds, Some(&Timespec::default())), Ok(1))
            }
            // SAFETY: kill has no memory-safety preconditions.
            Command::Pid(pid) => unsafe { libc::kill(*pid, 0) == 0 },
        }
    }
}

/// `SIGTERM` to the anchor's process group and to the command, then `SIGKILL` after
/// [`GRACE`] if any of them is still there; then waits (at most [`KILL_WAIT`]) until they are
/// gone, so that nothing writes into the directory meanwhile.
fn stop(group: Option<i32>, command: Option<&Command>) {
    let signal_all = |signal: Signal| {
        if let Some(anchor) = group {
            // SAFETY: kill has no memory-safety preconditions. The anchor is our unreaped
            // child: its group id cannot have been reused.
            unsafe { libc::kill(-anchor, signal.as_raw()) };
        }
        if let Some(command) = command {
            command.signal(signal);
        }
    };
    let alive = || {
        group.is_some_and(|anchor| members_besides(anchor) != Some(0))
            || command.is_some_and(Command::alive)
    };
    if !alive() {
        return;
    }
    signal_all(Signal::TERM);
    if wait_gone(&alive, GRACE) {
        return;
    }
    signal_all(Signal::KILL);
    wait_gone(&alive, KILL_WAIT);
}

/// Polls `alive` every 20 ms for at most `bound`; whether it ended.
fn wait_gone(alive: &dyn Fn() -> bool, bound: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < bound {
        if !alive() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    !alive()
}

/// How many processes other than the anchor itself are in the anchor's process group and not
/// zombies (read from /proc); `None` if /proc cannot be read.
fn members_besides(anchor: i32) -> Option<usize> {
    let mut count = 0;
    for entry in std::fs::read_dir("/proc").ok()? {
        let Ok(entry) = entry else { continue };
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == anchor {
            continue;
        }
        let Ok(stat) = std::fs::read(entry.path().join("stat")) else {
            continue;
        };
        // After the last ')': state, ppid, pgrp, ...
        let Some(end) = stat.iter().rposition(|&b| b == b')') else {
            continue;
        };
        let rest = String::from_utf8_lossy(&stat[end + 1..]);
        let mut fields = rest.split_whitespace();
        let state = fields.next();
        let pgrp = fields.nth(1).and_then(|p| p.parse::<i32>().ok());
        if pgrp == Some(anchor) && !matches!(state, Some("Z" | "X")) {
            count += 1;
        }
    }
    Some(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_carry_a_tag_and_a_pid() {
        let m = message(COMMAND, 4242);
        assert_eq!(m[0], COMMAND);
        assert_eq!(i32::from_ne_bytes([m[1], m[2], m[3], m[4]]), 4242);
    }
}
