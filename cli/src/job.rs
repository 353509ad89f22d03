//! The guardian of `tempkit run` on Windows: a Job object with
//! `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`, holding the command and everything it starts.
//!
//! Only tempkit holds a handle to the job (made without inheritance: std starts the command
//! with handle inheritance on, but only for inheritable handles). When tempkit ends, however
//! it ends (`TerminateProcess`, `taskkill /F`, a crash, the console closed), the kernel closes
//! that handle, and closing the last handle of such a job terminates every process in it. So
//! the command's tree dies with tempkit; what Unix needs a guardian process for, the kernel
//! does here.
//!
//! # No window in which the command runs outside the job
//!
//! The command is created suspended (`CREATE_SUSPENDED`): it has run no instruction of its own
//! when it is assigned to the job, and every process it starts from then on is in the job too
//! (no `JOB_OBJECT_LIMIT_BREAKAWAY_OK`: it cannot leave). Only then is its main thread resumed.
//! std keeps that thread's handle to itself, so the thread is found in a thread snapshot
//! (`CreateToolhelp32Snapshot`: one system-wide listing per `tempkit run`, a few milliseconds
//! at most). If tempkit is killed between the creation and the assignment (two system calls),
//! the command is left suspended outside the job: it never runs, but it stays until someone
//! ends it (`taskkill /PID`). The test
//! `windows::a_hard_kill_before_the_command_is_in_its_job_leaves_it_suspended_never_run`
//! kills tempkit there (a test-only failpoint in `run_windows.rs`).
//!
//! # What the job does not do
//!
//! It removes no directory: a hard-killed tempkit leaves its directory behind (see
//! `run_windows.rs`).

use std::io;
use std::mem;
use std::os::windows::io::AsRawHandle;
use std::os::windows::process::CommandExt;
use std::process::{Child, Command};
use std::ptr;
use std::thread;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE, INVALID_HANDLE_VALUE};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, Thread32First, Thread32Next, TH32CS_SNAPTHREAD, THREADENTRY32,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, JobObjectBasicAccountingInformation,
    JobObjectExtendedLimitInformation, QueryInformationJobObject, SetInformationJobObject,
    TerminateJobObject, JOBOBJECT_BASIC_ACCOUNTING_INFORMATION,
    JOBOBJECT_EXTENDED_LIMIT_INFORMATION, JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE,
};
use windows_sys::Win32::System::Threading::{
    OpenThread, ResumeThread, CREATE_SUSPENDED, THREAD_SUSPEND_RESUME,
};

/// The exit code of the processes the job ends (as `taskkill /F` and Rust's `Child::kill`).
const KILLED: u32 = 1;

/// A handle that is closed on drop.
struct Owned(HANDLE);

impl Drop for Owned {
    fn drop(&mut self) {
        // SAFETY: the handle is ours, open, and closed exactly once.
        unsafe { CloseHandle(self.0) };
    }
}

/// A Job object that terminates its processes when its last handle closes.
pub(crate) struct Job {
    handle: Owned,
}

impl Job {
    /// A new, unnamed job with `JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE`; its handle is not
    /// inheritable.
    pub(crate) fn new() -> io::Result<Job> {
        // SAFETY: no security attributes (so the handle is not inheritable) and no name.
        let handle = unsafe { CreateJobObjectW(ptr::null(), ptr::null()) };
        if handle as isize == 0 {
            return Err(last_error("CreateJobObjectW"));
        }
        let job = Job {
            handle: Owned(handle),
        };
        // SAFETY: an all-zero JOBOBJECT_EXTENDED_LIMIT_INFORMATION is valid (no limits).
        let mut limits: JOBOBJECT_EXTENDED_LIMIT_INFORMATION = unsafe { mem::zeroed() };
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        // SAFETY: `limits` is a valid structure of the size given, read during the call only.
        let ok = unsafe {
            SetInformationJobObject(
                job.handle.0,
                JobObjectExtendedLimitInformation,
                &limits as *const _ as *const _,
                mem::size_of::<JOBOBJECT_EXTENDED_LIMIT_INFORMATION>() as u32,
            )
        };
        if ok == 0 {
            return Err(last_error("SetInformationJobObject(KILL_ON_JOB_CLOSE)"));
        }
        Ok(job)
    }

    /// Starts `command` inside the job: created suspended, assigned, then resumed. The second
    /// value is the assignment's outcome: where it fails (Windows 7 refuses a job inside
    /// another unless that one allows breakaway), the command runs anyway, outside the job,
    /// as the Unix command runs without a guardian. If it cannot be resumed, it is killed and
    /// the error returned.
    ///
    /// `created` is called with the command's process id between its creation and its
    /// assignment (the tests' failpoint).
    pub(crate) fn spawn(
        &self,
        command: &mut Command,
        created: impl FnOnce(u32),
    ) -> io::Result<(Child, io::Result<()>)> {
        command.creation_flags(CREATE_SUSPENDED);
        let mut child = command.spawn()?;
        created(child.id());
        let assigned = self.assign(&child);
        if let Err(e) = resume(child.id()) {
            // It never ran: nothing of it to wait for but its end.
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok((child, assigned))
    }

    fn assign(&self, child: &Child) -> io::Result<()> {
        // SAFETY: both handles are open for the duration of the call.
        let ok = unsafe { AssignProcessToJobObject(self.handle.0, child.as_raw_handle() as _) };
        if ok == 0 {
            return Err(last_error("AssignProcessToJobObject"));
        }
        Ok(())
    }

    /// Terminates every process still in the job (what the command left running) and waits,
    /// at most `limit`, until none is left, so that none still holds a file open in the
    /// directory when it is removed. `Ok(false)` if some are still there after `limit`.
    pub(crate) fn terminate_and_wait(&self, limit: Duration) -> io::Result<bool> {
        // SAFETY: the handle is open.
        if unsafe { TerminateJobObject(self.handle.0, KILLED) } == 0 {
            return Err(last_error("TerminateJobObject"));
        }
        let start = Instant::now();
        loop {
            if self.active_processes()? == 0 {
                return Ok(true);
            }
            if start.elapsed() >= limit {
                return Ok(false);
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn active_processes(&self) -> io::Result<u32> {
        // SAFETY: an all-zero accounting structure is valid.
        let mut info: JOBOBJECT_BASIC_ACCOUNTING_INFORMATION = unsafe { mem::zeroed() };
        // SAFETY: `info` is writable and of the size given; no return length is asked for.
        let ok = unsafe {
            QueryInformationJobObject(
                self.handle.0,
                JobObjectBasicAccountingInformation,
                &mut info as *mut _ as *mut _,
                mem::size_of::<JOBOBJECT_BASIC_ACCOUNTING_INFORMATION>() as u32,
                ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(last_error("QueryInformationJobObject(BasicAccounting)"));
        }
        Ok(info.ActiveProcesses)
    }
}

/// Resumes the (only) thread of the suspended process `pid`, found in a thread snapshot.
fn resume(pid: u32) -> io::Result<()> {
    // SAFETY: plain call; the snapshot handle is closed by `Owned`.
    let snapshot = unsafe { CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0) };
    if snapshot == INVALID_HANDLE_VALUE {
        return Err(last_error("CreateToolhelp32Snapshot"));
    }
    let snapshot = Owned(snapshot);
    // SAFETY: an all-zero THREADENTRY32 is valid; dwSize is set before use.
    let mut entry: THREADENTRY32 = unsafe { mem::zeroed() };
    entry.dwSize = mem::size_of::<THREADENTRY32>() as u32;
    let mut resumed = 0;
    // SAFETY: `entry` is writable, its dwSize set; the snapshot handle is open.
    let mut more = unsafe { Thread32First(snapshot.0, &mut entry) } != 0;
    while more {
        if entry.th32OwnerProcessID == pid {
            // SAFETY: plain call; the thread handle is closed by `Owned`.
            let thread = unsafe { OpenThread(THREAD_SUSPEND_RESUME, 0, entry.th32ThreadID) };
            if thread as isize == 0 {
                return Err(last_error("OpenThread"));
            }
            let thread = Owned(thread);
            // SAFETY: the handle is open with THREAD_SUSPEND_RESUME.
            if unsafe { ResumeThread(thread.0) } == u32::MAX {
                return Err(last_error("ResumeThread"));
            }
            resumed += 1;
        }
        // SAFETY: as for Thread32First.
        more = unsafe { Thread32Next(snapshot.0, &mut entry) } != 0;
    }
    if resumed == 0 {
        // Not NotFound: that would say the command was not found (exit 127); it was found
        // and could not be run (126).
        return Err(io::Error::new(
            io::ErrorKind::Other,
            format!("resuming the command: no thread of process {} found", pid),
        ));
    }
    Ok(())
}

/// The last Win32 error, saying which call failed, with its kind kept.
fn last_error(call: &str) -> io::Error {
    let err = io::Error::last_os_error();
    io::Error::new(err.kind(), format!("{}: {}", call, err))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A process with no thread left to resume (it has ended; its handle keeps its id) is a
    /// command that could not be run: `tempkit run` exits 126, not 127 ("not found").
    #[test]
    fn no_thread_to_resume_is_not_a_command_not_found() {
        let mut child = Command::new("cmd")
            .args(["/c", "exit", "0"])
            .spawn()
            .expect("cmd.exe starts");
        child.wait().expect("cmd.exe ends");
        let e = resume(child.id()).expect_err("an ended process has no thread to resume");
        assert_ne!(e.kind(), io::ErrorKind::NotFound, "{}", e);
        assert_eq!(
            crate::run_common::not_started(std::ffi::OsStr::new("cmd"), &e),
            126
        );
    }
}
