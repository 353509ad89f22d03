//! `tempkit run`: the command sees a fresh private directory in TMPDIR/TEMP/TMP, its exit
//! status comes back, and the directory is gone afterwards whatever happened: success,
//! failure, a signal to the command, a signal to tempkit, a hostile read-only tree, a command
//! that cannot start.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{is_root, Scratch, NOBODY};

const TEMPKIT: &str = env!("CARGO_BIN_EXE_tempkit");

/// `tempkit run --dir <scratch> ARGS...`, with the output captured.
fn run_in(scratch: &Scratch, args: &[&str]) -> Output {
    common::output_of(
        Command::new(TEMPKIT)
            .arg("run")
            .arg("--dir")
            .arg(scratch.path())
            .args(args)
            .stdin(Stdio::null()),
    )
    .expect("run tempkit")
}

fn stdout_lines(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Asserts that tempkit exited 0, showing its stderr otherwise.
fn assert_succeeded(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Asserts that `scratch` is empty again; `case` says which case left something.
fn assert_left_nothing(scratch: &Scratch, case: impl std::fmt::Display) {
    let names = scratch.names();
    assert!(names.is_empty(), "{} left {:?}", case, names);
}

#[test]
fn the_command_sees_the_directory_in_tmpdir_temp_and_tmp() {
    let scratch = Scratch::new();
    let out = run_in(
        &scratch,
        &[
            "--",
            "sh",
            "-c",
            r#"printf '%s\n' "$TMPDIR" "$TEMP" "$TMP"; stat -c '%a %F' "$TMPDIR"; pwd -P; ls -A "$TMPDIR" | wc -l"#,
        ],
    );
    assert_succeeded(&out);
    let lines = stdout_lines(&out);
    let dir = PathBuf::from(&lines[0]);
    assert_eq!(dir.parent(), Some(scratch.path()), "{:?}", lines);
    assert!(dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("tmp"));
    assert_eq!(lines[1], lines[0], "TEMP");
    assert_eq!(lines[2], lines[0], "TMP");
    assert_eq!(lines[3], "700 directory", "mode and kind inside");
    let cwd = std::env::current_dir().unwrap().canonicalize().unwrap();
    assert_eq!(
        Path::new(&lines[4]),
        cwd,
        "without --cd the working directory is kept"
    );
    assert_eq!(lines[5].trim(), "0", "the directory starts empty");
    assert!(!dir.exists(), "the directory is removed afterwards");
    assert_left_nothing(&scratch, "the run");
}

#[test]
fn cd_makes_it_the_working_directory_and_prefix_names_it() {
    let scratch = Scratch::new();
    let out = run_in(
        &scratch,
        &[
            "--cd",
            "--prefix",
            "job-",
            "--",
            "sh",
            "-c",
            "pwd -P; echo $TMPDIR",
        ],
    );
    assert_succeeded(&out);
    let lines = stdout_lines(&out);
    let real_scratch = scratch.path().canonicalize().unwrap();
    let cwd = PathBuf::from(&lines[0]);
    assert_eq!(cwd.parent(), Some(real_scratch.as_path()));
    assert_eq!(cwd.file_name(), Path::new(&lines[1]).file_name());
    assert!(cwd
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .starts_with("job-"));
    assert_left_nothing(&scratch, "the run");
}

#[test]
fn the_default_directory_is_gettempdir() {
    let scratch = Scratch::new();
    let out = common::output_of(
        Command::new(TEMPKIT)
            .args(["run", "--", "sh", "-c", "echo $TMPDIR; touch $TMPDIR/file"])
            .env("TMPDIR", scratch.path()),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        Path::new(&stdout_lines(&out)[0]).parent(),
        Some(scratch.path())
    );
    assert_left_nothing(&scratch, "the run");
}

#[test]
fn exit_status_is_passed_through_and_the_directory_removed() {
    for code in [0, 1, 7, 42, 125, 255] {
        let scratch = Scratch::new();
        let script = format!("touch \"$TMPDIR/f\"; mkdir \"$TMPDIR/d\"; exit {}", code);
        let out = run_in(&scratch, &["--", "sh", "-c", &script]);
        assert_eq!(out.status.code(), Some(code), "exit {}", code);
        assert_left_nothing(&scratch, format!("exit {}", code));
    }
}

#[test]
fn a_command_killed_by_a_signal_gives_128_plus_n() {
    for (signal, name) in [
        (libc::SIGTERM, "TERM"),
        (libc::SIGKILL, "KILL"),
        (libc::SIGINT, "INT"),
    ] {
        let scratch = Scratch::new();
        let script = format!("touch \"$TMPDIR/f\"; kill -{} $$", name);
        let out = run_in(&scratch, &["--", "sh", "-c", &script]);
        assert_eq!(out.status.code(), Some(128 + signal), "SIG{}", name);
        assert_left_nothing(&scratch, format!("SIG{}", name));
    }
}

/// Starts `tempkit run --dir <scratch> -- sh -c SCRIPT`, waits for the script's first line
/// (the directory), sends `signal` to tempkit, and returns the exit status, the directory
/// and the rest of the output.
fn signal_tempkit(
    scratch: &Scratch,
    script: &str,
    signal: i32,
) -> (std::process::ExitStatus, PathBuf, Vec<String>) {
    let mut child = Command::new(TEMPKIT)
        .arg("run")
        .arg("--dir")
        .arg(scratch.path())
        .args(["--", "sh", "-c", script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // The test harness may ignore some signals; the command must get the default actions.
        .spawn()
        .unwrap();
    let _watchdog = common::watchdog(child.id());
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let dir = PathBuf::from(lines.next().unwrap().unwrap());
    assert!(dir.is_dir(), "the directory exists while the command runs");
    // SAFETY: kill has no memory-safety preconditions; the pid is our unreaped child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, signal) }, 0);
    let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
    let status = common::wait_within(&mut child);
    (status, dir, rest)
}

#[test]
fn every_forwarded_signal_to_tempkit_reaches_the_command_and_the_directory_goes() {
    for signal in [
        libc::SIGTERM,
        libc::SIGINT,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGALRM,
        libc::SIGUSR1,
        libc::SIGUSR2,
    ] {
        let scratch = Scratch::new();
        // `exec` makes sleep the command itself: the forwarded signal kills it.
        let (status, dir, _) = signal_tempkit(&scratch, "echo \"$TMPDIR\"; exec sleep 30", signal);
        assert_eq!(
            status.code(),
            Some(128 + signal),
            "signal {}: {:?}",
            signal,
            status
        );
        assert!(status.signal().is_none(), "tempkit itself was not killed");
        assert!(!dir.exists(), "signal {}", signal);
        assert_left_nothing(&scratch, format!("signal {}", signal));
    }
}

#[test]
fn a_command_that_handles_the_signal_finishes_before_the_directory_goes() {
    let scratch = Scratch::new();
    let script = r#"trap 'test -d "$TMPDIR" && echo still-there; exit 3' TERM
echo "$TMPDIR"
while :; do sleep 0.05; done"#;
    let (status, dir, rest) = signal_tempkit(&scratch, script, libc::SIGTERM);
    assert_eq!(status.code(), Some(3));
    assert_eq!(
        rest,
        ["still-there"],
        "the handler ran with the directory in place"
    );
    assert!(!dir.exists());
    assert_left_nothing(&scratch, "the run");
}

#[test]
fn a_command_that_cannot_start_exits_127_or_126_and_leaves_nothing() {
    let scratch = Scratch::new();
    let other = Scratch::new();
    let not_executable = other.path().join("script");
    std::fs::write(&not_executable, b"#!/bin/sh\n").unwrap();
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cases: [(&OsStr, i32); 4] = [
        (OsStr::new("tempkit-no-such-command"), 127),
        (OsStr::new("/no/such/path/cmd"), 127),
        (not_executable.as_os_str(), 126),
        (other.path().as_os_str(), 126),
    ];
    for (cmd, code) in cases {
        let out = common::output_of(
            Command::new(TEMPKIT)
                .arg("run")
                .arg("--dir")
                .arg(scratch.path())
                .arg("--")
                .arg(cmd),
        )
        .unwrap();
        assert_eq!(out.status.code(), Some(code), "{:?}", cmd);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&*cmd.to_string_lossy()),
            "{:?}: message {:?}",
            cmd,
            err
        );
        assert_left_nothing(&scratch, format!("{:?}", cmd));
    }
}

#[test]
fn a_directory_that_cannot_be_created_is_an_error_of_tempkit() {
    let scratch = Scratch::new();
    let out = common::output_of(
        Command::new(TEMPKIT)
            .args(["run", "--dir"])
            .arg(scratch.path().join("missing"))
            .args(["--", "sh", "-c", "echo ran"]),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(out.stdout.is_empty(), "the command did not run");
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));
}

#[test]
fn keep_keeps_the_directory_and_names_it_on_stderr() {
    let scratch = Scratch::new();
    let out = run_in(
        &scratch,
        &[
            "--keep",
            "--",
            "sh",
            "-c",
            "echo $TMPDIR; echo data > $TMPDIR/f; exit 4",
        ],
    );
    assert_eq!(out.status.code(), Some(4));
    let dir = PathBuf::from(&stdout_lines(&out)[0]);
    assert_eq!(std::fs::read(dir.join("f")).unwrap(), b"data\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&*dir.to_string_lossy()), "stderr {:?}", err);
}

#[test]
fn keep_on_failure_keeps_the_directory_of_a_command_that_fails_or_is_killed() {
    let script = |end: &str| format!("echo $TMPDIR; echo evidence > $TMPDIR/f; {}", end);
    for (end, code) in [("exit 3", 3), ("kill -TERM $$", 128 + libc::SIGTERM)] {
        let scratch = Scratch::new();
        let out = run_in(
            &scratch,
            &["--keep-on-failure", "--", "sh", "-c", &script(end)],
        );
        assert_eq!(out.status.code(), Some(code), "{}", end);
        let dir = PathBuf::from(&stdout_lines(&out)[0]);
        assert_eq!(scratch.names().len(), 1, "{}", end);
        assert_eq!(
            std::fs::read(dir.join("f")).unwrap(),
            b"evidence\n",
            "{}",
            end
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.trim_end(),
            format!("tempkit run: kept {}", dir.display()),
            "{}",
            end
        );
    }
    // Success, or a command that never started: nothing to keep, nothing printed.
    for (args, code) in [
        (vec!["sh", "-c", "touch $TMPDIR/f"], 0),
        (vec!["/nonexistent/command"], 127),
    ] {
        let scratch = Scratch::new();
        let mut all = vec!["--keep-on-failure", "--"];
        all.extend(args);
        let out = run_in(&scratch, &all);
        assert_eq!(out.status.code(), Some(code));
        assert_left_nothing(&scratch, format!("exit {}", code));
        assert!(!String::from_utf8_lossy(&out.stderr).contains("kept"));
    }
}

/// A copy of the tempkit binary that the unprivileged user can run (the build directory may
/// not be reachable for it), in a directory it owns.
fn binary_for_nobody(home: &Scratch) -> PathBuf {
    let bin = home.path().join("tempkit");
    std::fs::copy(TEMPKIT, &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    bin
}

/// A command that leaves a tree its owner cannot simply remove: a read-only file in a
/// read-only directory, an unsearchable directory, a directory with mode 000 on top.
const HOSTILE_TREE: &str = r#"set -e
cd "$TMPDIR"
mkdir -p a/b/c a/ro
touch a/b/c/f a/ro/f a/file
chmod 0444 a/ro/f a/file
chmod 0555 a/ro
chmod 0 a/b/c
chmod 0300 a/b
chmod 0 a
echo "$TMPDIR""#;

/// Runs `cmd`, retrying while the freshly copied binary is "busy" (ETXTBSY): another test
/// thread may have forked while the copy was open for writing, and that child holds the
/// descriptor until it execs.
fn output_of_copy(cmd: &mut Command) -> Output {
    for _ in 0..100 {
        match common::output_of(cmd) {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            other => return other.expect("run the copied tempkit"),
        }
    }
    panic!("the copied binary stayed busy");
}

/// `cmd`, to be run as the unprivileged user (when we are root).
fn as_nobody(mut cmd: Command) -> Command {
    if is_root() {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    cmd
}

#[test]
fn a_read_only_unsearchable_tree_left_by_the_command_is_removed() {
    let home = Scratch::for_nobody();
    let bin = binary_for_nobody(&home);
    let work = Scratch::for_nobody();
    let tempkit_run = |dir: &Path, keep: bool| {
        let mut cmd = as_nobody(Command::new(&bin));
        cmd.arg("run")
            .args(keep.then_some("--keep"))
            .arg("--dir")
            .arg(dir);
        cmd.args(["--", "sh", "-c", HOSTILE_TREE]);
        output_of_copy(&mut cmd)
    };

    // The tree defeats a plain `rm -rf` by its owner (kept with --keep to show it).
    let kept = tempkit_run(work.path(), true);
    let err = String::from_utf8_lossy(&kept.stderr);
    assert_eq!(kept.status.code(), Some(0), "{}", err);
    let kept_dir = PathBuf::from(&stdout_lines(&kept)[0]);
    let mut rm = as_nobody(Command::new("rm"));
    let rm = common::output_of(rm.arg("-rf").arg(&kept_dir)).unwrap();
    assert!(
        !rm.status.success(),
        "rm -rf removed the hostile tree: the test would prove nothing"
    );
    assert!(kept_dir.exists());

    // tempkit run removes it.
    let clean = Scratch::for_nobody();
    let out = tempkit_run(clean.path(), false);
    assert_succeeded(&out);
    assert_left_nothing(&clean, "the run");
}

#[test]
fn paths_with_non_utf8_bytes_reach_the_command_and_stderr_intact() {
    let scratch = Scratch::new();
    let out = common::output_of(
        Command::new(TEMPKIT)
            .args([
                OsStr::new("run"),
                OsStr::new("--keep"),
                OsStr::new("--prefix"),
            ])
            .arg(OsStr::from_bytes(b"p\xff-"))
            .arg("--dir")
            .arg(scratch.path())
            .args(["--", "sh", "-c", "printf '%s' \"$TMPDIR\""]),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let dir = Path::new(OsStr::from_bytes(&out.stdout));
    assert!(dir.file_name().unwrap().as_bytes().starts_with(b"p\xff-"));
    assert!(dir.is_dir());
    let needle = dir.as_os_str().as_bytes();
    assert!(
        out.stderr.windows(needle.len()).any(|w| w == needle),
        "stderr has the raw path"
    );
}

#[test]
fn a_directory_swapped_for_a_symlink_is_not_followed_and_reported() {
    let scratch = Scratch::new();
    let victim = Scratch::new();
    std::fs::write(victim.path().join("precious"), b"keep me").unwrap();
    let script = format!(
        "echo \"$TMPDIR\"; rmdir \"$TMPDIR\" && ln -s '{}' \"$TMPDIR\"",
        victim.path().display()
    );
    let out = run_in(&scratch, &["--", "sh", "-c", &script]);
    assert_eq!(
        out.status.code(),
        Some(125),
        "a cleanup that failed is tempkit's failure"
    );
    let link = PathBuf::from(&stdout_lines(&out)[0]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&*link.to_string_lossy()), "stderr {:?}", err);
    assert_eq!(
        std::fs::read(victim.path().join("precious")).unwrap(),
        b"keep me"
    );
    assert!(
        link.symlink_metadata().unwrap().file_type().is_symlink(),
        "the link is left alone"
    );
}

#[test]
fn a_command_that_removes_the_directory_itself_is_fine() {
    let scratch = Scratch::new();
    let out = run_in(&scratch, &["--", "sh", "-c", "rm -rf \"$TMPDIR\"; exit 5"]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_left_nothing(&scratch, "the run");
}

/// Ctrl-C on a terminal signals the whole foreground process group: the command gets its
/// SIGINT from the terminal, tempkit survives it, waits, and removes the directory.
#[test]
fn ctrl_c_on_the_terminal_ends_the_command_and_the_directory_goes() {
    use std::io::{Read, Write};

    let (master, slave) = common::openpty();
    let mut master = std::fs::File::from(master);
    let scratch = Scratch::new();
    let mut cmd = Command::new(TEMPKIT);
    cmd.arg("run")
        .arg("--dir")
        .arg(scratch.path())
        .args(["--", "sh", "-c", "echo \"dir=$TMPDIR\"; exec sleep 30"])
        .stdin(slave.try_clone().unwrap())
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
    let mut child = cmd.spawn().unwrap();
    let _watchdog = common::watchdog(child.id());
    drop(cmd); // our copies of the terminal's slave side: reads end when tempkit's do

    // Read until the command has printed its directory.
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    let dir = loop {
        let n = master.read(&mut buf).expect("read the terminal");
        assert!(
            n > 0,
            "the terminal closed early: {:?}",
            String::from_utf8_lossy(&seen)
        );
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        // A complete line (the terminal ends it with "\r\n").
        if let Some(start) = text.find("dir=") {
            if let Some(len) = text[start..].find('\n') {
                break PathBuf::from(text[start + 4..start + len].trim_end());
            }
        }
    };
    assert!(dir.is_dir());
    master.write_all(b"\x03").unwrap(); // Ctrl-C
    let status = common::wait_within(&mut child);
    assert_eq!(status.signal(), None, "tempkit was killed: {:?}", status);
    assert_eq!(status.code(), Some(128 + libc::SIGINT));
    assert!(!dir.exists());
    assert_left_nothing(&scratch, "the run");
}

#[test]
fn a_failed_cleanup_after_a_failed_command_keeps_the_commands_status() {
    // As above, but the command fails: its status (3) wins over tempkit's 125.
    let scratch = Scratch::new();
    let victim = Scratch::new();
    std::fs::write(victim.path().join("precious"), b"keep me").unwrap();
    let script = format!(
        "echo \"$TMPDIR\"; rmdir \"$TMPDIR\" && ln -s '{}' \"$TMPDIR\"; exit 3",
        victim.path().display()
    );
    let out = run_in(&scratch, &["--", "sh", "-c", &script]);
    assert_eq!(out.status.code(), Some(3));
    let link = PathBuf::from(&stdout_lines(&out)[0]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&*link.to_string_lossy()), "stderr {:?}", err);
    assert_eq!(
        std::fs::read(victim.path().join("precious")).unwrap(),
        b"keep me"
    );
}

#[test]
fn a_signal_before_the_command_starts_stops_it_from_starting() {
    // strace sends SIGTERM to tempkit on its first `mkdir` (creating the directory): after
    // the handlers are installed, before the command is spawned. The command must not run,
    // the status is 128 + 15, and the directory goes.
    let scratch = Scratch::new();
    let marker = scratch.path().join("ran");
    let out = common::output_of(
        Command::new("strace")
            .args(["-f", "-qq", "-o", "/dev/null", "-e", "trace=mkdir,mkdirat"])
            .args(["-e", "inject=mkdir,mkdirat:signal=SIGTERM:when=1"])
            .arg(TEMPKIT)
            .arg("run")
            .arg("--dir")
            .arg(scratch.path())
            .args(["--", "sh", "-c"])
            .arg(format!("touch '{}'", marker.display())),
    )
    .expect("run strace (CI installs it)");
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!marker.exists(), "the command ran");
    assert_left_nothing(&scratch, "the run");
}
