//! The `tempkit` command: temporary files and directories from the shell.
//!
//! - `tempkit mktemp [OPTION]... [TEMPLATE]`: GNU coreutils `mktemp`, option for option (also
//!   when the binary is invoked through a link named `mktemp`).
//! - `tempkit run [--keep] [--keep-on-failure] [--prefix P] [--dir D] [--cd] -- CMD [ARG]...`: runs CMD in a fresh
//!   temporary directory and always removes it.
//! - `tempkit reap [DIR]... [--dry-run]`: removes exactly what dead owners left behind.
//! - `tempkit gettempdir`: prints the directory temporary objects go in by default.

// Unix: the guardian process that outlives a SIGKILL of `tempkit run`.
#[cfg(unix)]
mod guardian;
// Windows: the Job object that kills the command's tree with `tempkit run` (its guardian).
#[cfg(windows)]
mod job;
mod mktemp;
mod os;
mod out;
mod reap;
#[cfg(unix)]
mod run;
// `tempkit run` on Windows: the same options, a job instead of signals and a guardian.
#[cfg(windows)]
#[path = "run_windows.rs"]
mod run;
// What `tempkit run` does alike on both: options, directory, messages, exit status.
mod run_common;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Temporary files and directories from the shell, made safely and always cleaned up.
#[derive(Debug, Parser)]
#[command(name = "tempkit", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a temporary file or directory and print its name (GNU coreutils mktemp).
    ///
    /// Runs exactly like GNU mktemp; see `tempkit mktemp --help`.
    #[command(disable_help_flag = true)]
    Mktemp {
        /// Options and template, as for GNU mktemp.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<OsString>,
    },
    /// Run a command inside a fresh temporary directory, then remove it.
    Run(run::RunArgs),
    /// Remove what dead processes left in temporary directories (exactly, never by age).
    Reap(reap::ReapArgs),
    /// Print the directory temporary objects go in by default.
    ///
    /// The first usable of $TMPDIR, $TEMP, $TMP, /tmp, /var/tmp, /usr/tmp and the current
    /// directory (each proven usable by creating and removing a probe file in it).
    Gettempdir,
}

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    // Invoked through a link named `mktemp`: be mktemp.
    let invoked_as = args.first().and_then(|a| os::program_name(a));
    if invoked_as == Some("mktemp".as_ref()) {
        return mktemp::main("mktemp", args.split_off(1));
    }
    // `tempkit mktemp ...`: GNU's parsing, errors and exit status, not the top level's.
    if args.get(1).map(|a| a == "mktemp").unwrap_or(false) {
        return mktemp::main("tempkit mktemp", args.split_off(2));
    }
    let cli = Cli::parse_from(args);
    match cli.command {
        Command::Mktemp { args } => mktemp::main("tempkit mktemp", args),
        Command::Run(run) => run::main(run),
        Command::Reap(reap) => reap::main(reap),
        Command::Gettempdir => gettempdir(),
    }
}

fn gettempdir() -> ExitCode {
    match tempkit::gettempdir() {
        Ok(dir) => out::print_path_line(dir.as_os_str(), "tempkit gettempdir"),
        Err(e) => {
            out::error("tempkit gettempdir", format_args!("{}", e));
            ExitCode::FAILURE
        }
    }
}
