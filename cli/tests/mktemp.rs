//! `tempkit mktemp` against GNU coreutils' `mktemp` (`/usr/bin/mktemp`): the same table of
//! argument combinations runs through both (and through a link named `mktemp`), each run in a
//! fresh scratch directory that is also its working directory and `$TMPDIR`. They must agree
//! on the exit status, the kind and mode of what is created, where, the shape of the name
//! printed, and give an error message for every error.
//!
//! The one deliberate difference: GNU draws random characters from `[A-Za-z0-9]`, tempkit from
//! Python's `[a-z0-9_]`.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::Scratch;

const GNU: &str = "/usr/bin/mktemp";
const TEMPKIT: &str = env!("CARGO_BIN_EXE_tempkit");

/// What `$TMPDIR` is for a case.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Env {
    /// The case's scratch directory.
    Scratch,
    /// Set but empty (GNU then uses /tmp, or -p's DIR with -t).
    Empty,
    /// Not set.
    Unset,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Made {
    File,
    Dir,
    /// `-u`: a name only.
    Nothing,
}

#[derive(Clone, Copy, Debug)]
enum Expect {
    /// Success, printing a path of this shape: `<S>` is the scratch directory, `#` one random
    /// character; a relative shape is relative to the scratch directory.
    Creates(Made, &'static str),
    /// Failure with a message containing this phrase (both tools word it the same way).
    Fails(&'static str),
    /// Failure without a message (`-q`).
    Silent,
    /// `--help` / `--version`: success, text on standard output, nothing created.
    Info,
}

struct Case {
    args: &'static [&'static str],
    env: Env,
    umask: u32,
    /// Run with POSIXLY_CORRECT set: options end at the template.
    posix: bool,
    expect: Expect,
}

const fn case(args: &'static [&'static str], expect: Expect) -> Case {
    Case {
        args,
        env: Env::Scratch,
        umask: 0o022,
        posix: false,
        expect,
    }
}

const fn env_case(args: &'static [&'static str], env: Env, expect: Expect) -> Case {
    Case {
        args,
        env,
        umask: 0o022,
        posix: false,
        expect,
    }
}

const fn umask_case(args: &'static [&'static str], umask: u32, expect: Expect) -> Case {
    Case {
        args,
        env: Env::Scratch,
        umask,
        posix: false,
        expect,
    }
}

const fn posixly(args: &'static [&'static str], expect: Expect) -> Case {
    Case {
        args,
        env: Env::Scratch,
        umask: 0o022,
        posix: true,
        expect,
    }
}

use Expect::{Creates, Fails, Info, Silent};
use Made::{Dir, File, Nothing};

/// Every scratch directory holds `sub/deep/`, a file `plain`, and a symlink `lnk` to
/// `sub/deep` (so that `lnk/..` is `sub` for the kernel, not the scratch directory).
const CASES: &[Case] = &[
    // Defaults and the template's shape.
    case(&[], Creates(File, "<S>/tmp.##########")),
    case(&["-d"], Creates(Dir, "<S>/tmp.##########")),
    case(&["-u"], Creates(Nothing, "<S>/tmp.##########")),
    case(&["-d", "-u"], Creates(Nothing, "<S>/tmp.##########")),
    case(&["fooXXX"], Creates(File, "foo###")),
    case(&["fooXXXXXXXXXXXX"], Creates(File, "foo############")),
    case(&["XXX"], Creates(File, "###")),
    case(&["XXXaXXX"], Creates(File, "XXXa###")),
    case(&["fooXXX.txt"], Creates(File, "foo###.txt")),
    case(&["-d", "fooXXXX.d"], Creates(Dir, "foo####.d")),
    case(&["sub/fooXXX"], Creates(File, "sub/foo###")),
    case(&["<S>/sub/fooXXX"], Creates(File, "<S>/sub/foo###")),
    case(&["sub/../fooXXX"], Creates(File, "sub/../foo###")),
    case(&["lnk/../fooXXX"], Creates(File, "lnk/../foo###")),
    case(&["fooXXX", "-d"], Creates(Dir, "foo###")),
    case(&["--", "-fooXXX"], Creates(File, "-foo###")),
    // --suffix.
    case(&["--suffix=.s"], Creates(File, "<S>/tmp.##########.s")),
    case(&["--suffix", ".s", "fooXXX"], Creates(File, "foo###.s")),
    case(&["--suffix=", "fooXXX"], Creates(File, "foo###")),
    case(
        &["--suffix=.a", "--suffix=.b", "XXX"],
        Creates(File, "###.b"),
    ),
    case(&["-d", "--suffix=a/", "XXX"], Creates(Dir, "###a/")),
    // -p, --tmpdir, -t.
    case(&["-t", "fooXXX"], Creates(File, "<S>/foo###")),
    case(&["-t"], Creates(File, "<S>/tmp.##########")),
    case(&["-p", "sub", "fooXXX"], Creates(File, "sub/foo###")),
    case(&["-psub", "fooXXX"], Creates(File, "sub/foo###")),
    case(&["--tmpdir=sub", "fooXXX"], Creates(File, "sub/foo###")),
    case(&["--tmpdir", "fooXXX"], Creates(File, "<S>/foo###")),
    case(&["--tmpdir", "sub/fooXXX"], Creates(File, "<S>/sub/foo###")),
    case(&["-p", "<S>/sub//", "XXX"], Creates(File, "<S>/sub/###")),
    case(&["-p", "", "XXX"], Creates(File, "<S>/###")),
    case(&["-p", ".", "-d"], Creates(Dir, "./tmp.##########")),
    case(&["-t", "-p", "sub", "XXX"], Creates(File, "<S>/###")),
    env_case(
        &["-t", "-p", "sub", "XXX"],
        Env::Empty,
        Creates(File, "sub/###"),
    ),
    case(&["-p", "sub", "--tmpdir", "XXX"], Creates(File, "<S>/###")),
    case(&["--tmpdir", "-p", "sub", "XXX"], Creates(File, "sub/###")),
    case(
        &["-u", "-p", "<S>/missing"],
        Creates(Nothing, "<S>/missing/tmp.##########"),
    ),
    env_case(&["-u"], Env::Unset, Creates(Nothing, "/tmp/tmp.##########")),
    env_case(
        &["-u", "-t", "XXX"],
        Env::Empty,
        Creates(Nothing, "/tmp/###"),
    ),
    env_case(&[], Env::Unset, Creates(File, "/tmp/tmp.##########")),
    // Short options bundled, long options abbreviated.
    case(&["-dq", "fooXXX"], Creates(Dir, "foo###")),
    case(&["--dir", "--dry", "XXX"], Creates(Nothing, "###")),
    case(
        &["--suff=.x", "--tmp"],
        Creates(File, "<S>/tmp.##########.x"),
    ),
    case(&["--quiet", "--directory", "XXX"], Creates(Dir, "###")),
    // POSIXLY_CORRECT: options end at the first operand.
    posixly(&["-d", "-p", "sub", "fooXXX"], Creates(Dir, "sub/foo###")),
    posixly(
        &["--suffix", ".s", "-psub", "-d", "fooXXX"],
        Creates(Dir, "sub/foo###.s"),
    ),
    posixly(
        &["--su", ".s", "-qp", "sub", "--", "XXX"],
        Creates(File, "sub/###.s"),
    ),
    posixly(&["fooXXX", "-d"], Fails("too many templates")),
    posixly(&["-dp", "sub", "XXX", "-u"], Fails("too many templates")),
    // Modes: 0600 / 0700 minus the umask.
    umask_case(&["XXX"], 0o077, Creates(File, "###")),
    umask_case(&["-d", "XXX"], 0o077, Creates(Dir, "###")),
    umask_case(&["XXX"], 0o277, Creates(File, "###")),
    umask_case(&["-d", "XXX"], 0o277, Creates(Dir, "###")),
    // Information.
    case(&["--help"], Info),
    case(&["--version"], Info),
    case(&["-V"], Info),
    // Template errors.
    case(&["abc"], Fails("too few X's in template")),
    case(&["abcXX"], Fails("too few X's in template")),
    case(&[""], Fails("too few X's in template")),
    case(&["-u", "abc"], Fails("too few X's in template")),
    case(&["-q", "abc"], Fails("too few X's in template")),
    case(&["XXX/aXX"], Fails("too few X's in template")),
    case(&["XXXa", "--suffix=.s"], Fails("must end in X")),
    case(&["--suffix=.s", "abc"], Fails("must end in X")),
    case(&["--suffix=a/b"], Fails("contains directory separator")),
    case(&["--suffix=/"], Fails("contains directory separator")),
    case(&["fooXXX/bar"], Fails("contains directory separator")),
    case(&["-t", "sub/XXX"], Fails("contains directory separator")),
    case(&["-t", "/abcXXX"], Fails("contains directory separator")),
    case(&["--tmpdir", "/abs/XXX"], Fails("may not be absolute")),
    case(&["-p", "sub", "<S>/XXX"], Fails("may not be absolute")),
    // Creation errors.
    case(
        &["-p", "<S>/missing"],
        Fails("failed to create file via template"),
    ),
    case(
        &["-d", "-p", "<S>/missing"],
        Fails("failed to create directory via template"),
    ),
    case(&["-p", "<S>/plain", "XXX"], Fails("Not a directory")),
    case(&["-u", "-p", "<S>/plain"], Fails("Not a directory")),
    case(
        &["-u", "-d", "missing/../plain/XXX"],
        Creates(Nothing, "missing/../plain/###"),
    ),
    case(&["-u", "plain/../XXX"], Fails("Not a directory")),
    case(&["plain/../XXX"], Fails("Not a directory")),
    case(
        &["-d", "missing/../XXX"],
        Fails("No such file or directory"),
    ),
    case(&["missing/XXX"], Fails("No such file or directory")),
    case(&["--suffix=a/", "XXX"], Fails("Is a directory")),
    case(&["-q", "-p", "<S>/missing"], Silent),
    case(&["-dq", "missing/XXX"], Silent),
    // Usage errors.
    case(&["aXXX", "bXXX"], Fails("too many templates")),
    case(&["--", "aXXX", "-bXXX"], Fails("too many templates")),
    case(&["-x"], Fails("invalid option")),
    case(&["-h"], Fails("invalid option")),
    case(&["--foo"], Fails("unrecognized option")),
    case(&["-p"], Fails("requires an argument")),
    case(&["--suffix"], Fails("requires an argument")),
    case(&["--d"], Fails("ambiguous")),
];

/// How each tool is invoked.
#[derive(Clone, Copy, Debug)]
enum Tool {
    Gnu,
    Subcommand,
    /// The tempkit binary through a symbolic link named `mktemp`.
    Link,
}

struct Run {
    scratch: Scratch,
    before: Vec<PathBuf>,
    output: Output,
}

fn prepare(scratch: &Scratch) {
    let s = scratch.path();
    std::fs::create_dir_all(s.join("sub/deep")).unwrap();
    std::fs::write(s.join("plain"), b"x").unwrap();
    std::os::unix::fs::symlink("sub/deep", s.join("lnk")).unwrap();
}

/// Every path under `dir` (not following symlinks), sorted.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if e.file_type().unwrap().is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out.sort();
    out
}

fn substitute(text: &str, scratch: &Path) -> OsString {
    let mut bytes = Vec::new();
    let mut parts = text.split("<S>");
    bytes.extend_from_slice(parts.next().unwrap_or("").as_bytes());
    for part in parts {
        bytes.extend_from_slice(scratch.as_os_str().as_bytes());
        bytes.extend_from_slice(part.as_bytes());
    }
    OsString::from_vec(bytes)
}

fn run(tool: Tool, case: &Case, link: &Path) -> Run {
    let scratch = Scratch::new();
    prepare(&scratch);
    let before = tree(scratch.path());
    let mut cmd = match tool {
        Tool::Gnu => Command::new(GNU),
        Tool::Subcommand => {
            let mut c = Command::new(TEMPKIT);
            c.arg("mktemp");
            c
        }
        Tool::Link => Command::new(link),
    };
    cmd.args(case.args.iter().map(|a| substitute(a, scratch.path())));
    // Messages in English; options permuted unless the case says POSIXLY_CORRECT.
    cmd.current_dir(scratch.path())
        .stdin(Stdio::null())
        .env("LC_ALL", "C");
    if case.posix {
        cmd.env("POSIXLY_CORRECT", "1");
    } else {
        cmd.env_remove("POSIXLY_CORRECT");
    }
    match case.env {
        Env::Scratch => cmd.env("TMPDIR", scratch.path()),
        Env::Empty => cmd.env("TMPDIR", ""),
        Env::Unset => cmd.env_remove("TMPDIR"),
    };
    let mask = case.umask;
    // The umask is set in the spawned child between fork and exec, by one raw system call:
    // nothing else runs in the fork of this multi-threaded test harness before exec.
    // SAFETY: umask is async-signal-safe and touches only the child.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(mask as libc::mode_t);
            Ok(())
        });
    }
    let output = common::output_of(&mut cmd).expect("run mktemp");
    Run {
        scratch,
        before,
        output,
    }
}

fn is_gnu_char(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn is_tempkit_char(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'
}

/// Whether `printed` has `shape`: `#` stands for one character accepted by `random`.
fn has_shape(printed: &[u8], shape: &[u8], random: fn(u8) -> bool) -> bool {
    printed.len() == shape.len()
        && printed
            .iter()
            .zip(shape)
            .all(|(&p, &s)| if s == b'#' { random(p) } else { p == s })
}

/// Checks one tool's run of one case; returns a description of each problem.
fn check(tool: Tool, case: &Case, r: &Run) -> (Vec<String>, Option<(Made, u32)>) {
    let mut problems = Vec::new();
    let mut say = |what: String| problems.push(format!("{:?} {:?}: {}", tool, case.args, what));
    let status = r.output.status.code();
    let stdout = &r.output.stdout;
    let stderr = String::from_utf8_lossy(&r.output.stderr).into_owned();
    let s = r.scratch.path();
    let after = tree(s);
    let mut seen = None;
    match case.expect {
        Creates(made, shape) => {
            if status != Some(0) {
                say(format!("status {:?}, stderr {:?}", status, stderr));
                return (problems, None);
            }
            let shape = substitute(shape, s).into_vec();
            let printed = stdout.strip_suffix(b"\n").unwrap_or(stdout);
            let random = match tool {
                Tool::Gnu => is_gnu_char,
                _ => is_tempkit_char,
            };
            if !has_shape(printed, &shape, random) {
                say(format!(
                    "printed {:?}, expected the shape {:?}",
                    String::from_utf8_lossy(stdout),
                    String::from_utf8_lossy(&shape)
                ));
            }
            if !stderr.is_empty() {
                say(format!("unexpected stderr {:?}", stderr));
            }
            let path = s.join(OsStr::from_bytes(printed));
            let meta = std::fs::symlink_metadata(&path);
            let kind = match &meta {
                Ok(m) if m.is_dir() => Dir,
                Ok(m) if m.is_file() => File,
                _ => Nothing,
            };
            if kind != made {
                say(format!("made {:?}, expected {:?}", kind, made));
            }
            if let Ok(m) = &meta {
                let mode = m.permissions().mode() & 0o7777;
                let want = if made == Dir { 0o700 } else { 0o600 } & !case.umask;
                if mode != want {
                    say(format!("mode {:o}, expected {:o}", mode, want));
                }
                seen = Some((kind, mode));
                if let Ok(real) = path.canonicalize() {
                    if real.starts_with(s) {
                        // Exactly one new entry, the one printed.
                        let mut expected = r.before.clone();
                        let parent = real.parent().unwrap().canonicalize().unwrap();
                        expected.push(parent.join(real.file_name().unwrap()));
                        expected.sort();
                        if after != expected {
                            say(format!("left {:?}, expected {:?}", after, expected));
                        }
                    } else {
                        // Made outside the scratch directory (in /tmp): remove it.
                        let _ = std::fs::remove_dir(&real).or_else(|_| std::fs::remove_file(&real));
                        if after != r.before {
                            say(format!("also changed the scratch dir: {:?}", after));
                        }
                    }
                }
            } else {
                seen = Some((kind, 0));
                if after != r.before {
                    say(format!("a dry run created {:?}", after));
                }
            }
        }
        Fails(phrase) => {
            if status != Some(1) {
                say(format!("status {:?}, expected 1", status));
            }
            if !stdout.is_empty() {
                say(format!("stdout {:?}", String::from_utf8_lossy(stdout)));
            }
            if !stderr.contains(phrase) {
                say(format!("stderr {:?} lacks {:?}", stderr, phrase));
            }
            if after != r.before {
                say(format!("left {:?}", after));
            }
        }
        Silent => {
            if status != Some(1) || !stdout.is_empty() || !stderr.is_empty() {
                say(format!(
                    "status {:?}, stdout {:?}, stderr {:?}",
                    status, stdout, stderr
                ));
            }
            if after != r.before {
                say(format!("left {:?}", after));
            }
        }
        Info => {
            let text = String::from_utf8_lossy(stdout);
            if status != Some(0) || !text.contains("mktemp") {
                say(format!("status {:?}, stdout {:?}", status, text));
            }
            if after != r.before {
                say(format!("left {:?}", after));
            }
        }
    }
    (problems, seen)
}

#[test]
fn agrees_with_gnu_mktemp_over_the_table() {
    if !common::need::program(GNU, "--version") {
        return;
    }
    assert!(CASES.len() >= 40, "the table has {} cases", CASES.len());
    let links = Scratch::new();
    let link = links.path().join("mktemp");
    std::os::unix::fs::symlink(TEMPKIT, &link).unwrap();
    let check_case = |case: &Case| {
        let mut problems = Vec::new();
        let mut seen = Vec::new();
        for tool in [Tool::Gnu, Tool::Subcommand, Tool::Link] {
            let r = run(tool, case, &link);
            let (mut p, s) = check(tool, case, &r);
            problems.append(&mut p);
            seen.push((r.output.status.code(), s));
        }
        // The same exit status and the same kind and mode of object, whoever made it.
        if seen.iter().any(|s| *s != seen[0]) {
            problems.push(format!("{:?}: the tools disagree: {:?}", case.args, seen));
        }
        problems
    };
    // A few threads: each case is independent (its own scratch directories).
    let problems: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = CASES
            .chunks(CASES.len().div_ceil(4))
            .map(|chunk| scope.spawn(move || chunk.iter().flat_map(check_case).collect::<Vec<_>>()))
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// GNU removes what it created when it cannot print the name (and so do we).
#[test]
fn a_name_that_cannot_be_written_is_not_left_behind() {
    if !common::need::program(GNU, "--version") {
        return;
    }
    for (prog, first) in [(GNU, None), (TEMPKIT, Some("mktemp"))] {
        for dir_flag in [None, Some("-d")] {
            let scratch = Scratch::new();
            let full = std::fs::OpenOptions::new()
                .write(true)
                .open("/dev/full")
                .unwrap();
            let out = common::output_with_stdout(
                Command::new(prog)
                    .args(first)
                    .args(dir_flag)
                    .env("TMPDIR", scratch.path()),
                Some(full),
            )
            .unwrap();
            assert_eq!(out.status.code(), Some(1), "{} {:?}", prog, dir_flag);
            assert!(
                String::from_utf8_lossy(&out.stderr).contains("write error"),
                "{}",
                prog
            );
            assert!(
                scratch.names().is_empty(),
                "{} left {:?}",
                prog,
                scratch.names()
            );
        }
    }
}

/// Paths are printed as bytes: a directory and prefix that are not UTF-8 come back intact.
#[test]
fn non_utf8_names_are_printed_as_bytes() {
    let scratch = Scratch::new();
    let dir = scratch.path().join(OsStr::from_bytes(b"d\xff\xfe"));
    std::fs::create_dir(&dir).unwrap();
    let out = common::output_of(
        Command::new(TEMPKIT)
            .args([OsStr::new("mktemp"), OsStr::new("-p"), dir.as_os_str()])
            .arg(OsStr::from_bytes(b"n\xe9XXXX.\x80")),
    )
    .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = out.stdout.strip_suffix(b"\n").unwrap();
    let mut shape = dir.as_os_str().as_bytes().to_vec();
    shape.extend_from_slice(b"/n\xe9####.\x80");
    assert!(has_shape(printed, &shape, is_tempkit_char), "{:?}", printed);
    assert!(Path::new(OsStr::from_bytes(printed)).is_file());
    assert_eq!(common::list(&dir).len(), 1);
}
