//! What `tempkit run` does the same on every platform: its options, the directory's creation,
//! the command line and environment the command gets, the messages, keeping or removing the
//! directory, and the exit status. The platform code (signals and a guardian on Unix,
//! `run.rs`; a Job object on Windows, `run_windows.rs`) starts and waits for the command.
//!
//! This file is built for Windows with Rust 1.63 and clap 4.0 (`.ci/windows-cli`).

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::PathBuf;
use std::process::{Command, ExitCode, ExitStatus};

use tempkit::TemporaryDirectory;

use crate::out;

/// The name messages start with.
pub(crate) const PROG: &str = "tempkit run";

/// Exit status when tempkit itself fails (as `env`, `timeout` and `nohup` use it).
pub(crate) const TEMPKIT_FAILED: u8 = 125;
/// Exit status when the command exists but cannot be run (as shells use it).
const CANNOT_EXECUTE: u8 = 126;
/// Exit status when the command is not found (as shells use it).
const NOT_FOUND: u8 = 127;

// The help text differs by platform (what survives which kill, how the status is made): one
// `doc` line per line of the help, as a `///` comment would give them.
#[cfg_attr(
    unix,
    doc = " Run a command inside a fresh temporary directory, then remove it."
)]
#[cfg_attr(unix, doc = "")]
#[cfg_attr(
    unix,
    doc = " The directory (mode 0700) is removed whatever happens: the command succeeds, fails, is"
)]
#[cfg_attr(
    unix,
    doc = " killed by a signal, or tempkit receives SIGINT, SIGTERM or SIGHUP (forwarded to the"
)]
#[cfg_attr(
    unix,
    doc = " command; the directory is removed once it has ended). Files the command made read-only or"
)]
#[cfg_attr(
    unix,
    doc = " unsearchable are removed too. With --keep-on-failure a failed command's directory stays"
)]
#[cfg_attr(
    unix,
    doc = " for a post-mortem. Even if tempkit is killed with SIGKILL, a guardian process stops the"
)]
#[cfg_attr(
    unix,
    doc = " command and removes the directory; the directory is shielded from systemd-tmpfiles while"
)]
#[cfg_attr(unix, doc = " it exists and tagged for `tempkit reap`.")]
#[cfg_attr(
    windows,
    doc = " Run a command inside a fresh temporary directory, then remove it."
)]
#[cfg_attr(windows, doc = "")]
#[cfg_attr(
    windows,
    doc = " The directory (owner-only) is removed whatever happens: the command succeeds, fails, is"
)]
#[cfg_attr(
    windows,
    doc = " killed, or Ctrl-C is pressed (the command gets it; the directory is removed once it has"
)]
#[cfg_attr(
    windows,
    doc = " ended). The command and everything it starts run in a Job object that ends them all when"
)]
#[cfg_attr(
    windows,
    doc = " the command ends or tempkit itself is killed; a directory whose tempkit was killed stays."
)]
#[cfg_attr(
    windows,
    doc = " With --keep-on-failure a failed command's directory stays for a post-mortem."
)]
#[derive(Debug, clap::Args)]
#[cfg_attr(
    unix,
    command(
        after_help = "Exit status: the command's; 128+N if signal N killed it; 127 if it was not \
                      found, 126 if it could not be run; 125 if tempkit itself failed.\n\n\
                      Example: tempkit run -- sh -c 'echo \"inside: $TMPDIR\"; ls -ld \"$TMPDIR\"'"
    )
)]
#[cfg_attr(
    windows,
    command(
        after_help = "Exit status: the command's; 127 if it was not found, 126 if it could not \
                      be run; 125 if tempkit itself failed.\n\n\
                      Example: tempkit run -- cmd /c \"echo inside: %TEMP%\""
    )
)]
pub(crate) struct RunArgs {
    /// Keep the directory afterwards and print its path on standard error
    #[arg(long)]
    pub(crate) keep: bool,

    #[cfg_attr(
        unix,
        doc = " Keep the directory, and print its path on standard error, if the command exits with a"
    )]
    #[cfg_attr(unix, doc = " non-zero status or is killed by a signal")]
    #[cfg_attr(
        windows,
        doc = " Keep the directory, and print its path on standard error, if the command exits with a"
    )]
    #[cfg_attr(windows, doc = " non-zero status")]
    #[arg(long)]
    pub(crate) keep_on_failure: bool,

    /// Start of the directory's name [default: tmp]
    #[arg(long, value_name = "P")]
    prefix: Option<OsString>,

    /// Create the directory in D [default: the directory `tempkit gettempdir` prints]
    #[arg(long, value_name = "D")]
    dir: Option<PathBuf>,

    /// Run the command with the directory as its working directory
    #[arg(long)]
    cd: bool,

    /// The command to run, and its arguments
    #[arg(value_name = "CMD", required = true, trailing_var_arg = true, num_args = 1..)]
    command: Vec<OsString>,
}

impl RunArgs {
    /// A builder for the directory, with `--prefix` and `--dir` applied.
    pub(crate) fn builder(&self) -> tempkit::Builder {
        let mut builder = tempkit::Builder::new();
        if let Some(prefix) = &self.prefix {
            builder.prefix(prefix);
        }
        if let Some(dir) = &self.dir {
            builder.dir(dir);
        }
        builder
    }

    /// The command to run in `workdir`: its arguments, `TMPDIR`, `TEMP` and `TMP` pointing at
    /// the directory, and with `--cd` the directory as its working directory. `Err` is the
    /// status to exit with (clap ensures there is a command).
    pub(crate) fn command(&self, workdir: &TemporaryDirectory) -> Result<Command, u8> {
        let (program, rest) = self.command.split_first().ok_or(TEMPKIT_FAILED)?;
        let path = workdir.path();
        let mut command = Command::new(program);
        command
            .args(rest)
            .env("TMPDIR", path)
            .env("TEMP", path)
            .env("TMP", path);
        if self.cd {
            command.current_dir(path);
        }
        Ok(command)
    }

    /// Whether to keep the directory once the command had this `outcome`.
    pub(crate) fn keeps(&self, outcome: &Result<ExitStatus, u8>) -> bool {
        self.keep || (self.keep_on_failure && failed(outcome))
    }
}

/// Creates the directory; `Err` is the status to exit with (the message is printed).
pub(crate) fn create(builder: &tempkit::Builder) -> Result<TemporaryDirectory, ExitCode> {
    builder.temporary_directory().map_err(|e| {
        out::error(PROG, format_args!("{}", e));
        ExitCode::from(TEMPKIT_FAILED)
    })
}

/// Prints why `program` could not be started and returns the status to exit with: 127 when it
/// was not found, 126 otherwise.
pub(crate) fn not_started(program: &OsStr, e: &io::Error) -> u8 {
    let mut message = crate::os::bytes(program).into_owned();
    message.extend_from_slice(b": ");
    message.extend_from_slice(out::strerror(e).as_bytes());
    out::error_bytes(PROG, &message);
    if e.kind() == io::ErrorKind::NotFound {
        NOT_FOUND
    } else {
        CANNOT_EXECUTE
    }
}

/// Prints that waiting for the command failed and returns the status to exit with.
pub(crate) fn wait_failed(e: &io::Error) -> u8 {
    out::error(PROG, format_args!("waiting for the command: {}", e));
    TEMPKIT_FAILED
}

/// Whether the command ran and failed: a non-zero exit status (or, on Unix, killed by a
/// signal). A command that could not be started left nothing in the directory to keep.
fn failed(outcome: &Result<ExitStatus, u8>) -> bool {
    matches!(outcome, Ok(status) if !status.success())
}

/// Removes (or keeps) the directory and exits with `code`, the command's outcome as the
/// platform maps it; a failed removal after a successful command makes it 125.
pub(crate) fn finish(mut workdir: TemporaryDirectory, keep: bool, code: i32) -> ExitCode {
    let code = if keep {
        let mut message = b"kept ".to_vec();
        message.extend_from_slice(&crate::os::bytes(workdir.keep().as_os_str()));
        out::error_bytes(PROG, &message);
        code
    } else {
        match workdir.cleanup() {
            Ok(()) => code,
            Err(e) => {
                out::error(PROG, format_args!("{}", e));
                if code == 0 {
                    i32::from(TEMPKIT_FAILED)
                } else {
                    code
                }
            }
        }
    };
    match u8::try_from(code) {
        Ok(code) => ExitCode::from(code),
        // A Windows exit code does not fit ExitCode::from; nothing is left to drop.
        Err(_) => std::process::exit(code),
    }
}
