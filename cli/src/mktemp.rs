//! `tempkit mktemp`: GNU coreutils `mktemp`, option for option.
//!
//! The rules are GNU's (coreutils 9.x `src/mktemp.c`): options may come before or after the
//! template (only before it under `POSIXLY_CORRECT`), long options may be abbreviated, `-p DIR` and `--tmpdir[=DIR]` are one option (the
//! last one given counts), the suffix is what follows the last `X` unless `--suffix` is given,
//! and the path printed is the template as given (relative stays relative) with its run of
//! `X`s replaced. Files get mode 0600 and directories 0700, minus the umask. Exit status is 0,
//! or 1 on any error.
//!
//! On Windows both `/` and `\` separate components, a drive (`C:`) starts a name, `\` joins
//! the directory and the template, and without `$TMPDIR` or a DIR the default directory is the
//! library's `gettempdir()` (`%TEMP%`, ...) where GNU says `/tmp` (see `os.rs`).
//!
//! The one deliberate difference: the random characters come from tempkit's generator, whose
//! alphabet is Python's `[a-z0-9_]` (safe on case-insensitive file systems), where GNU uses
//! `[A-Za-z0-9]`.

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{ArgAction, CommandFactory, FromArgMatches, Parser};

use crate::os;
use crate::out;

/// The long options, for GNU's "ambiguous option" message (clap infers unambiguous ones).
const LONG_OPTIONS: [&str; 7] = [
    "directory",
    "dry-run",
    "quiet",
    "suffix",
    "tmpdir",
    "help",
    "version",
];

/// The template used when none is given; `--tmpdir` is then implied.
const DEFAULT_TEMPLATE: &[u8] = b"tmp.XXXXXXXXXX";

// The help of --tmpdir and -t names the default directory: GNU's /tmp on Unix (the text is
// GNU's), the library's choice on Windows (%TEMP%, ...; see `os::default_tmpdir`).
#[cfg(not(windows))]
const TMPDIR_HELP: &str = "Interpret TEMPLATE relative to DIR; if DIR is not specified, use \
                           $TMPDIR if set, else /tmp. With this option, TEMPLATE must not be an \
                           absolute name; unlike with -t, TEMPLATE may contain slashes, but \
                           mktemp creates only the final component";
#[cfg(windows)]
const TMPDIR_HELP: &str = "Interpret TEMPLATE relative to DIR; if DIR is not specified, use \
                           $TMPDIR if set, else %TEMP%. With this option, TEMPLATE must not be \
                           an absolute name; unlike with -t, TEMPLATE may contain slashes, but \
                           mktemp creates only the final component";
#[cfg(not(windows))]
const T_HELP: &str = "Interpret TEMPLATE as a single file name component, relative to a \
                      directory: $TMPDIR, if set; else the directory specified via -p; else \
                      /tmp [deprecated]";
#[cfg(windows)]
const T_HELP: &str = "Interpret TEMPLATE as a single file name component, relative to a \
                      directory: $TMPDIR, if set; else the directory specified via -p; else \
                      %TEMP% [deprecated]";

/// Create a temporary file or directory, safely, and print its name.
///
/// TEMPLATE must contain at least 3 consecutive 'X's in last component. If TEMPLATE is not
/// specified, use tmp.XXXXXXXXXX, and --tmpdir is implied. Files are created u+rw, and
/// directories u+rwx, minus umask restrictions.
#[derive(Debug, Parser)]
#[command(
    name = "mktemp",
    version = concat!("(tempkit) ", env!("CARGO_PKG_VERSION")),
    override_usage = "mktemp [OPTION]... [TEMPLATE]",
    disable_help_flag = true,
    infer_long_args = true,
    args_override_self = true,
    after_help = "The random characters are drawn from [a-z0-9_] (Python's tempfile alphabet, \
                  safe on case-insensitive file systems); GNU mktemp draws from [A-Za-z0-9].\n\
                  Otherwise this command behaves as GNU coreutils mktemp."
)]
struct Args {
    /// Create a directory, not a file
    #[arg(short = 'd', long = "directory")]
    directory: bool,

    /// Do not create anything; merely print a name (unsafe)
    #[arg(short = 'u', long = "dry-run")]
    dry_run: bool,

    /// Suppress diagnostics about file/dir-creation failure
    #[arg(short = 'q', long = "quiet")]
    quiet: bool,

    /// Append SUFF to TEMPLATE; SUFF must not contain a slash. This option is implied if
    /// TEMPLATE does not end in X
    #[arg(long = "suffix", value_name = "SUFF", allow_hyphen_values = true)]
    suffix: Option<OsString>,

    /// Interpret TEMPLATE relative to DIR (the same option as --tmpdir=DIR)
    #[arg(short = 'p', value_name = "DIR", allow_hyphen_values = true)]
    p: Option<OsString>,

    #[arg(
        long = "tmpdir",
        help = TMPDIR_HELP,
        value_name = "DIR",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = ""
    )]
    tmpdir: Option<OsString>,

    #[arg(
        short = 't',
        help = T_HELP
    )]
    t: bool,

    /// Display this help and exit
    #[arg(long = "help", action = ArgAction::Help)]
    help: Option<bool>,

    /// The name to create, with at least 3 consecutive X's in its last component
    #[arg(value_name = "TEMPLATE")]
    template: Option<OsString>,
}

/// Runs `mktemp` with `args` (without the program name); `prog` prefixes diagnostics.
pub(crate) fn main(prog: &str, args: Vec<OsString>) -> ExitCode {
    let mut argv = vec![OsString::from("mktemp")];
    argv.extend(args);
    if std::env::var_os("POSIXLY_CORRECT").is_some() {
        posixly_correct(&mut argv);
    }
    let request = match parse(prog, argv) {
        Ok(request) => request,
        Err(code) => return code,
    };
    match request.run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Message(message)) => {
            out::error_bytes(prog, &message);
            ExitCode::FAILURE
        }
        Err(Failure::Quiet) => ExitCode::FAILURE,
    }
}

/// GNU getopt's POSIXLY_CORRECT mode: options end at the first operand. Marks that place with
/// `--` so that clap, which otherwise accepts options after operands, does the same.
fn posixly_correct(argv: &mut Vec<OsString>) {
    let mut i = 1;
    while i < argv.len() {
        let arg = os::bytes(&argv[i]);
        let arg: &[u8] = &arg;
        if arg == b"--" {
            return;
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            // `--suffix SUFF` (or an abbreviation of it) takes the next argument.
            if !long.contains(&b'=') && !long.is_empty() && b"suffix".starts_with(long) {
                i += 1;
            }
        } else if arg.len() > 1 && arg[0] == b'-' {
            // A cluster of short options; `-p` takes the rest, or the next argument.
            if let Some(p) = arg.iter().position(|&b| b == b'p') {
                if p == arg.len() - 1 {
                    i += 1;
                }
            }
        } else {
            argv.insert(i, OsString::from("--"));
            return;
        }
        i += 1;
    }
}

/// What the options ask for, after parsing.
#[derive(Debug)]
struct Request {
    directory: bool,
    dry_run: bool,
    quiet: bool,
    suffix: Option<Vec<u8>>,
    /// `Some` when `-p`/`--tmpdir` was given (the last one counts); the DIR, possibly empty.
    dest_dir_arg: Option<Vec<u8>>,
    use_dest_dir: bool,
    deprecated_t: bool,
    template: Option<Vec<u8>>,
}

enum Failure {
    Message(Vec<u8>),
    /// Failed, and `--quiet` asked for no diagnostic.
    Quiet,
}

/// Parses the command line as GNU's getopt would; on a usage error prints GNU's kind of
/// message and returns the exit status (1; 0 for `--help` and `--version`).
fn parse(prog: &str, argv: Vec<OsString>) -> Result<Request, ExitCode> {
    // After a `--`, everything is a template: a second one is "too many templates".
    let operands_from = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
    let operands: Vec<OsString> = argv[operands_from..].to_vec();
    let matches = match Args::command().try_get_matches_from(argv) {
        Ok(m) => m,
        Err(e) => return Err(usage_error(prog, &e, &operands)),
    };
    let last = |id: &str| matches.indices_of(id).and_then(|i| i.max());
    let (p_at, tmpdir_at) = (last("p"), last("tmpdir"));
    let args = Args::from_arg_matches(&matches).map_err(|e| usage_error(prog, &e, &operands))?;
    let bytes = |s: Option<OsString>| match s.map(os::into_bytes) {
        None => Ok(None),
        Some(Ok(b)) => Ok(Some(b)),
        Some(Err(s)) => {
            out::error(prog, format_args!("{:?} is not valid Unicode", s));
            Err(ExitCode::FAILURE)
        }
    };
    let dest_dir_arg = match (p_at, tmpdir_at) {
        (Some(p), Some(t)) if t > p => args.tmpdir,
        (Some(_), _) => args.p,
        (None, _) => args.tmpdir,
    };
    Ok(Request {
        directory: args.directory,
        dry_run: args.dry_run,
        quiet: args.quiet,
        suffix: bytes(args.suffix)?,
        use_dest_dir: dest_dir_arg.is_some() || args.t,
        dest_dir_arg: bytes(dest_dir_arg)?,
        deprecated_t: args.t,
        template: bytes(args.template)?,
    })
}

/// Prints a usage error the way GNU does (or help/version), returning the exit status.
/// `operands` are the arguments from a `--` on: templates, whatever they look like.
fn usage_error(prog: &str, err: &clap::Error, operands: &[OsString]) -> ExitCode {
    match err.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // Help and version go to standard output, and succeed.
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let arg = match err.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let message = match err.kind() {
        ErrorKind::UnknownArgument
            if !arg.starts_with('-') || operands.iter().any(|o| *o == *arg) =>
        {
            "too many templates".to_owned()
        }
        ErrorKind::UnknownArgument if arg.starts_with("--") => {
            let typed = arg.split('=').next().unwrap_or(&arg);
            let possible: Vec<String> = LONG_OPTIONS
                .iter()
                .filter(|long| long.starts_with(&typed[2..]))
                .map(|long| format!("'--{}'", long))
                .collect();
            if possible.len() > 1 {
                format!(
                    "option '{}' is ambiguous; possibilities: {}",
                    typed,
                    possible.join(" ")
                )
            } else {
                format!("unrecognized option '{}'", arg)
            }
        }
        ErrorKind::UnknownArgument => {
            format!("invalid option -- '{}'", arg.trim_start_matches('-'))
        }
        ErrorKind::InvalidValue | ErrorKind::NoEquals | ErrorKind::WrongNumberOfValues => {
            let option = arg.split([' ', '=', '<']).next().unwrap_or("");
            match option.strip_prefix("--") {
                Some(_) => format!("option '{}' requires an argument", option),
                None => format!(
                    "option requires an argument -- '{}'",
                    option.trim_start_matches('-')
                ),
            }
        }
        _ => {
            // Clap's own first line ("error: ..."), without its "error: " and styling.
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            first.strip_prefix("error: ").unwrap_or(first).to_owned()
        }
    };
    let short = prog.rsplit(' ').next().unwrap_or(prog);
    out::error(
        prog,
        format_args!("{}\nTry '{} --help' for more information.", message, short),
    );
    ExitCode::FAILURE
}

impl Request {
    /// Checks the template, creates the object and prints its name: GNU's `main`, step by step.
    fn run(self) -> Result<(), Failure> {
        let (template, use_dest_dir) = match self.template {
            Some(t) => (t, self.use_dest_dir),
            None => (DEFAULT_TEMPLATE.to_vec(), true),
        };

        // The suffix: given, or whatever follows the last X.
        let (template, suffix_start) = match &self.suffix {
            Some(suffix) => {
                if template.last() != Some(&b'X') {
                    return Err(message(&[
                        b"with --suffix, template ",
                        &quote(&template),
                        b" must end in X",
                    ]));
                }
                let start = template.len();
                ([template, suffix.clone()].concat(), start)
            }
            None => {
                let start = template
                    .iter()
                    .rposition(|&b| b == b'X')
                    .map_or(template.len(), |i| i + 1);
                (template, start)
            }
        };
        let suffix = &template[suffix_start..];
        if !suffix.is_empty() && last_component(suffix) != suffix {
            return Err(message(&[
                b"invalid suffix ",
                &quote(suffix),
                b", contains directory separator",
            ]));
        }
        let x_count = template[..suffix_start]
            .iter()
            .rev()
            .take_while(|&&b| b == b'X')
            .count();
        if x_count < 3 {
            return Err(message(&[b"too few X's in template ", &quote(&template)]));
        }
        let suffix_len = template.len() - suffix_start;

        // Where it goes.
        let full = if use_dest_dir {
            let tmpdir = std::env::var_os("TMPDIR")
                .and_then(|d| os::into_bytes(d).ok())
                .filter(|d| !d.is_empty());
            // GNU's /tmp; on Windows the library's choice (%TEMP%, ...).
            let default = || {
                os::default_tmpdir().map_err(|e| {
                    message(&[
                        b"cannot find a temporary directory: ",
                        out::strerror(&e).as_bytes(),
                    ])
                })
            };
            let arg = self.dest_dir_arg.filter(|d| !d.is_empty());
            let dest_dir = if self.deprecated_t {
                if last_component(&template) != template.as_slice() {
                    return Err(message(&[
                        b"invalid template, ",
                        &quote(&template),
                        b", contains directory separator",
                    ]));
                }
                match tmpdir.or(arg) {
                    Some(dir) => dir,
                    None => default()?,
                }
            } else {
                if os::is_absolute(&template) {
                    return Err(message(&[
                        b"invalid template, ",
                        &quote(&template),
                        b"; with --tmpdir, it may not be absolute",
                    ]));
                }
                match arg.or(tmpdir) {
                    Some(dir) => dir,
                    None => default()?,
                }
            };
            file_name_concat(&dest_dir, &template)
        } else {
            template
        };

        let noun: &[u8] = if self.directory {
            b"directory"
        } else {
            b"file"
        };
        let fail = |err: &io::Error| {
            if self.quiet {
                Failure::Quiet
            } else {
                message(&[
                    b"failed to create ",
                    noun,
                    b" via template ",
                    &quote(&full),
                    b": ",
                    out::strerror(err).as_bytes(),
                ])
            }
        };

        let parts = Parts::split(&full, x_count, suffix_len);
        let created = parts
            .create(self.directory, self.dry_run)
            .map_err(|e| fail(&e))?;
        let name = parts.printed(&created);
        if let Err(e) = out::write_line(&name) {
            // GNU removes what it created when the name cannot be handed over.
            if !self.dry_run {
                let _ = if self.directory {
                    std::fs::remove_dir(&created)
                } else {
                    std::fs::remove_file(&created)
                };
            }
            return Err(if self.quiet {
                Failure::Quiet
            } else {
                message(&[b"write error: ", out::strerror(&e).as_bytes()])
            });
        }
        Ok(())
    }
}

/// The pieces of the full template: the directory part as written, and the last component
/// split into prefix, X run and suffix.
struct Parts<'a> {
    /// Everything up to and including the last separator or drive (empty for a bare name).
    dir: &'a [u8],
    prefix: &'a [u8],
    x_count: usize,
    /// The suffix without trailing slashes (GNU accepts `--suffix=a/`, meaning a directory).
    suffix: &'a [u8],
    /// The trailing slashes of the suffix, printed back as given.
    slashes: &'a [u8],
}

impl<'a> Parts<'a> {
    fn split(full: &'a [u8], x_count: usize, suffix_len: usize) -> Parts<'a> {
        let suffix_start = full.len() - suffix_len;
        let prefix_end = suffix_start - x_count;
        let dir_end = full[..prefix_end]
            .iter()
            .rposition(|&b| os::is_separator(b))
            .map_or(0, |i| i + 1)
            .max(os::drive_len(&full[..prefix_end]));
        let suffix = &full[suffix_start..];
        let kept = suffix
            .iter()
            .rposition(|&b| !os::is_separator(b))
            .map_or(0, |i| i + 1);
        Parts {
            dir: &full[..dir_end],
            prefix: &full[dir_end..prefix_end],
            x_count,
            suffix: &suffix[..kept],
            slashes: &suffix[kept..],
        }
    }

    /// Creates the object (or, for a dry run, finds a free name) through tempkit's `Builder`.
    fn create(&self, directory: bool, dry_run: bool) -> io::Result<PathBuf> {
        let dir = self.creation_dir(dry_run)?;
        let mut builder = tempkit::Builder::new();
        builder
            .dir(&dir)
            .prefix(os::from_bytes(self.prefix))
            .suffix(os::from_bytes(self.suffix))
            .random_len(self.x_count);
        if dry_run {
            #[allow(deprecated)] // `mktemp -u` is the unsafe name-only mode by definition
            return builder.mktemp();
        }
        if !self.slashes.is_empty() && !directory {
            // "name/" can only be a directory: open(2) says EISDIR, and so do we.
            return Err(os::is_a_directory());
        }
        if directory {
            builder.mkdtemp()
        } else {
            builder.mkstemp().map(|(_file, path)| path)
        }
    }

    /// The directory to create in. tempkit makes directories absolute lexically (as Python's
    /// `abspath`), which folds `a/..` even when `a` is a symbolic link; the kernel does not.
    /// A directory part with `..` is therefore resolved by the kernel first.
    fn creation_dir(&self, dry_run: bool) -> io::Result<PathBuf> {
        let dir = if self.dir.is_empty() {
            Cow::Borrowed(OsStr::new("."))
        } else {
            os::from_bytes(self.dir)
        };
        let dir = Path::new(&dir);
        if !dir.components().any(|c| c == Component::ParentDir) {
            return Ok(dir.to_owned());
        }
        match std::fs::canonicalize(dir) {
            Ok(resolved) => Ok(resolved),
            Err(e) if dry_run && e.kind() == io::ErrorKind::NotFound => Ok(first_missing(dir)),
            Err(e) => Err(e),
        }
    }

    /// What to print: the directory part as written, then the created name.
    fn printed(&self, created: &Path) -> Vec<u8> {
        let name = created
            .file_name()
            .map_or(Cow::Borrowed(&[][..]), os::bytes);
        [self.dir, &name, self.slashes].concat()
    }
}

/// The first component of `dir` that does not exist, after the resolved part before it. A dry
/// run in a directory that does not exist may print any name (as GNU's `lstat` says ENOENT);
/// looking there, the library finds every name free, wherever its lexical folding of a later
/// `..` would have led.
fn first_missing(dir: &Path) -> PathBuf {
    let mut base = PathBuf::from(".");
    for component in dir.components() {
        let next = base.join(component);
        match std::fs::canonicalize(&next) {
            Ok(resolved) => base = resolved,
            Err(_) => return next,
        }
    }
    base
}

fn message(parts: &[&[u8]]) -> Failure {
    Failure::Message(parts.concat())
}

/// gnulib's `last_component`: what follows the last slash that is followed by something other
/// than slashes (a drive prefix and leading slashes skipped; trailing slashes belong to the
/// component).
fn last_component(name: &[u8]) -> &[u8] {
    let drive = os::drive_len(name);
    let mut base = name[drive..]
        .iter()
        .position(|&b| !os::is_separator(b))
        .map_or(name.len(), |i| i + drive);
    let mut last_was_slash = false;
    for (i, &b) in name.iter().enumerate().skip(base) {
        if os::is_separator(b) {
            last_was_slash = true;
        } else if last_was_slash {
            base = i;
            last_was_slash = false;
        }
    }
    &name[base..]
}

/// gnulib's `file_name_concat(dir, base)`: one slash between them, `dir`'s trailing slashes
/// folded (a root directory stays as it is).
fn file_name_concat(dir: &[u8], base: &[u8]) -> Vec<u8> {
    let comp = last_component(dir);
    let comp_start = dir.len() - comp.len();
    let mut comp_len = comp.len();
    while comp_len > 1 && os::is_separator(comp[comp_len - 1]) {
        comp_len -= 1;
    }
    let dir_len = comp_start + comp_len;
    // (`matches!`, not `is_some_and`: the Windows build is Rust 1.63.)
    let base_slash = matches!(base.first(), Some(&b) if os::is_separator(b));
    let separator = [os::SEPARATOR];
    let sep: &[u8] = if comp_len > 0 {
        if !os::is_separator(dir[dir_len - 1]) && !base_slash {
            &separator
        } else {
            b""
        }
    } else if base_slash {
        b"."
    } else {
        b""
    };
    [&dir[..dir_len], sep, base].concat()
}

/// GNU's `quote`: ‘…’ in a UTF-8 locale, '…' otherwise.
fn quote(text: &[u8]) -> Vec<u8> {
    let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
        .map(|v| v.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (open, close): (&[u8], &[u8]) = if locale.contains("utf-8") || locale.contains("utf8") {
        ("\u{2018}".as_bytes(), "\u{2019}".as_bytes())
    } else {
        (b"'", b"'")
    };
    [open, text, close].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_component_follows_gnulib() {
        assert_eq!(last_component(b"a/b"), b"b");
        assert_eq!(last_component(b"/abc"), b"abc");
        assert_eq!(last_component(b"a/"), b"a/");
        assert_eq!(last_component(b"/"), b"");
        assert_eq!(last_component(b"b//"), b"b//");
        assert_eq!(last_component(b"x/b//"), b"b//");
    }

    #[test]
    #[cfg(unix)]
    fn file_name_concat_follows_gnulib() {
        assert_eq!(file_name_concat(b"/tmp", b"x"), b"/tmp/x");
        assert_eq!(file_name_concat(b"/tmp//", b"x"), b"/tmp/x");
        assert_eq!(file_name_concat(b"/", b"x"), b"/x");
        assert_eq!(file_name_concat(b"//", b"x"), b"//x");
        assert_eq!(file_name_concat(b".", b"a/x"), b"./a/x");
    }

    #[test]
    #[cfg(windows)]
    fn windows_names_split_at_either_separator_and_after_a_drive() {
        assert_eq!(last_component(b"C:\\a\\b"), b"b");
        assert_eq!(last_component(b"C:b"), b"b");
        assert_eq!(last_component(b"a/b\\c"), b"c");
        assert_eq!(file_name_concat(b"C:\\Temp", b"x"), b"C:\\Temp\\x");
        assert_eq!(file_name_concat(b"C:\\Temp\\", b"x"), b"C:\\Temp\\x");
        assert_eq!(file_name_concat(b"C:/Temp", b"x"), b"C:/Temp\\x");
        let p = Parts::split(b"C:XXX", 3, 0);
        assert_eq!((p.dir, p.prefix), (&b"C:"[..], &b""[..]));
        assert!(os::is_absolute(b"C:\\x") && os::is_absolute(b"\\x") && os::is_absolute(b"C:x"));
        assert!(!os::is_absolute(b"x\\y"));
    }

    #[test]
    fn parts_split_at_the_x_run() {
        let p = Parts::split(b"d/e/XXaXXX.s/", 3, 3);
        assert_eq!(
            (p.dir, p.prefix, p.suffix, p.slashes),
            (&b"d/e/"[..], &b"XXa"[..], &b".s"[..], &b"/"[..])
        );
    }
}
