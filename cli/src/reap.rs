//! `tempkit reap`: removes exactly what dead owners left in temporary directories.
//!
//! Every entry that carries a tempkit owner tag is listed on standard output with what was
//! done and why (`removed /tmp/tmpab12cd34 (owner 4242 is dead (no such process))`); untagged
//! entries only with `--verbose`. Exit status: 0; 1 if a directory could not be read or a dead
//! owner's entry could not be removed.
//!
//! Not on Windows: there the library writes no owner tags (they are extended attributes with
//! a Linux process identity), so no entry can be proven dead, and `tempkit reap` says so and
//! fails (exit status 1) rather than report an empty reap.

use std::path::PathBuf;
use std::process::ExitCode;

#[cfg(unix)]
use tempkit::{ReapEntry, ReapOptions, ReapOutcome};

use crate::out;

const PROG: &str = "tempkit reap";

/// Remove the temporary files and directories whose owner process is dead.
///
/// Only entries tagged by tempkit (`Builder::reapable`, `tempkit run`) are ever removed, and
/// only when the tag proves the owner dead: another boot, no such process, a zombie with no
/// thread left, or a pid now used by another process. Never by age; never a live owner's
/// entry, an untagged one, a symlink, one others may write (they may have forged its tag),
/// another user's (unless --all-users), or one whose owner cannot be checked from here
/// (another machine or pid namespace, or a /proc of another pid namespace).
#[derive(Debug, clap::Args)]
#[cfg_attr(not(unix), allow(dead_code))] // parsed for --help and usage errors, then refused
#[command(
    after_help = "Exit status: 0; 1 if a directory could not be read or an entry could not be \
                  removed.\n\n\
                  From a timer: systemd-run --user --on-calendar=hourly tempkit reap, or the \
                  crontab line `@hourly tempkit reap`."
)]
pub(crate) struct ReapArgs {
    /// List what would be removed; remove nothing
    #[arg(long)]
    dry_run: bool,

    /// Also judge other users' entries (for root); each is reaped only if its tag names its
    /// owner
    #[arg(long)]
    all_users: bool,

    /// List untagged entries too
    #[arg(short, long)]
    verbose: bool,

    /// The directories to reap [default: the directory `tempkit gettempdir` prints]
    #[arg(value_name = "DIR")]
    dirs: Vec<PathBuf>,
}

/// Refuses: see the module's documentation.
#[cfg(not(unix))]
pub(crate) fn main(_args: ReapArgs) -> ExitCode {
    out::error(
        PROG,
        format_args!(
            "not available on this platform: tempkit writes owner tags only on Linux, so \
             nothing here can be proven to belong to a dead process (a directory left by a \
             hard-killed `tempkit run` must be removed by hand)"
        ),
    );
    ExitCode::FAILURE
}

#[cfg(unix)]
pub(crate) fn main(args: ReapArgs) -> ExitCode {
    let dirs = if args.dirs.is_empty() {
        match tempkit::gettempdir() {
            Ok(dir) => vec![dir],
            Err(e) => {
                out::error(PROG, format_args!("{}", e));
                return ExitCode::FAILURE;
            }
        }
    } else {
        args.dirs.clone()
    };
    let mut options = ReapOptions::new();
    options.dry_run(args.dry_run).all_users(args.all_users);
    let mut failed = false;
    for dir in &dirs {
        let entries = match options.reap(dir) {
            Ok(entries) => entries,
            Err(e) => {
                out::error(PROG, format_args!("{}", e));
                failed = true;
                continue;
            }
        };
        for entry in entries {
            failed |= matches!(entry.outcome(), ReapOutcome::Failed(_));
            if entry.is_tagged() || args.verbose {
                if let Err(e) = out::write_line(&line(&entry)) {
                    out::error(PROG, format_args!("write error: {}", out::strerror(&e)));
                    return ExitCode::FAILURE;
                }
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(unix)]
/// `removed PATH (reason)`, the path as the file system holds it (non-UTF-8 bytes intact).
fn line(entry: &ReapEntry) -> Vec<u8> {
    let what: &str = match entry.outcome() {
        ReapOutcome::Removed => "removed",
        ReapOutcome::WouldRemove => "would remove",
        ReapOutcome::Failed(_) => "failed to remove",
        _ => "skipped",
    };
    let mut line = what.as_bytes().to_vec();
    line.push(b' ');
    line.extend_from_slice(&crate::os::bytes(entry.path().as_os_str()));
    line.extend_from_slice(format!(" ({})", entry.reason()).as_bytes());
    if let ReapOutcome::Failed(e) = entry.outcome() {
        line.extend_from_slice(format!(": {}", e).as_bytes());
    }
    line
}
