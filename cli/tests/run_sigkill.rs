//! `tempkit run` leaves nothing when tempkit itself is killed with SIGKILL (its guardian stops
//! the command and removes the directory), also when its whole process group is killed; a
//! guardian killed alone changes nothing; and if both die, `tempkit reap` removes exactly the
//! directory left.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::Scratch;

const TEMPKIT: &str = env!("CARGO_BIN_EXE_tempkit");

/// Polls `done` every 20 ms for at most `secs` seconds.
fn within(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(secs) {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// A running `tempkit run` whose command records its directory and pid, then sleeps.
struct Run {
    tempkit: Child,
    dir: PathBuf,
    command: i32,
}

/// Starts `tempkit run --dir <scratch>/tmp -- sh -c '...; exec sleep SECS'`, in a process
/// group of its own when `own_group`, and waits (bounded) until the command runs.
fn start(scratch: &Scratch, secs: u32, own_group: bool) -> Run {
    let parent = scratch.path().join("tmp");
    std::fs::create_dir_all(&parent).unwrap();
    let marker = scratch.path().join("marker");
    let mut cmd = Command::new(TEMPKIT);
    cmd.arg("run")
        .arg("--dir")
        .arg(&parent)
        .args([
            "--",
            "sh",
            "-c",
            "echo \"$TMPDIR $$\" > \"$0.tmp\"; mv \"$0.tmp\" \"$0\"; exec sleep \"$1\"",
        ])
        .arg(&marker)
        .arg(secs.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if own_group {
        cmd.process_group(0);
    }
    let tempkit = cmd.spawn().unwrap();
    assert!(within(10, || marker.exists()), "the command did not start");
    let text = std::fs::read_to_string(&marker).unwrap();
    let (dir, pid) = text.trim().rsplit_once(' ').unwrap();
    Run {
        tempkit,
        dir: PathBuf::from(dir),
        command: pid.parse().unwrap(),
    }
}

/// Gone, or a zombie nobody reaped yet (it runs nothing and holds nothing).
fn is_gone(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{}/stat", pid)) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .unwrap()
            .trim_start()
            .starts_with('Z'),
    }
}

/// The guardian: tempkit's child process that is not the command.
fn guardian_of(tempkit: u32, command: i32) -> i32 {
    for entry in std::fs::read_dir("/proc").unwrap() {
        let name = entry.unwrap().file_name();
        let Ok(pid) = name.to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{}/stat", pid)) else {
            continue;
        };
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        if fields[1] == tempkit.to_string() && pid != command {
            return pid;
        }
    }
    panic!("no guardian found");
}

fn kill(pid: i32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    assert_eq!(unsafe { libc::kill(pid, signal) }, 0);
}

fn assert_cleaned_up(run: &mut Run, parent: &Path) {
    let status = common::wait_within(&mut run.tempkit);
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(libc::SIGKILL)
    );
    assert!(within(8, || is_gone(run.command)), "the command still runs");
    assert!(
        within(8, || !run.dir.exists()),
        "the directory is still there"
    );
    common::assert_empty(parent);
}

#[test]
fn sigkill_of_tempkit_stops_the_command_and_removes_the_directory() {
    let scratch = Scratch::new();
    let mut run = start(&scratch, 100, false);
    assert!(run.dir.is_dir());
    kill(run.tempkit.id() as i32, libc::SIGKILL);
    assert_cleaned_up(&mut run, &scratch.path().join("tmp"));
}

#[test]
fn sigkill_of_tempkits_whole_process_group_is_cleaned_up_too() {
    let scratch = Scratch::new();
    let mut run = start(&scratch, 100, true);
    kill(-(run.tempkit.id() as i32), libc::SIGKILL);
    assert_cleaned_up(&mut run, &scratch.path().join("tmp"));
}

#[test]
fn killing_only_the_guardian_changes_nothing_for_a_normal_end() {
    let scratch = Scratch::new();
    let mut run = start(&scratch, 1, false);
    let guardian = guardian_of(run.tempkit.id(), run.command);
    kill(guardian, libc::SIGKILL);
    let status = common::wait_within(&mut run.tempkit);
    assert_eq!(status.code(), Some(0));
    assert!(!run.dir.exists());
    common::assert_empty(&scratch.path().join("tmp"));
}

#[test]
fn when_tempkit_and_its_guardian_both_die_tempkit_reap_removes_exactly_the_directory() {
    let scratch = Scratch::new();
    let parent = scratch.path().join("tmp");
    let mut run = start(&scratch, 100, false);
    let guardian = guardian_of(run.tempkit.id(), run.command);
    let other = tempkit::Builder::new().dir(&parent).mkdtemp().unwrap();
    kill(guardian, libc::SIGKILL);
    kill(run.tempkit.id() as i32, libc::SIGKILL);
    common::wait_within(&mut run.tempkit);
    kill(run.command, libc::SIGKILL);
    assert!(within(8, || is_gone(run.command)));
    assert!(within(8, || is_gone(guardian)));
    assert!(run.dir.is_dir(), "nobody was left to remove it");

    let reap = |dry: bool| {
        let mut cmd = Command::new(TEMPKIT);
        cmd.arg("reap").arg(&parent);
        if dry {
            cmd.arg("--dry-run");
        }
        let out = common::output_of(&mut cmd).unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let listed = reap(true);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 1, "{}", listed);
    assert!(
        lines[0].starts_with(&format!("would remove {} (owner ", run.dir.display())),
        "{}",
        listed
    );
    assert!(run.dir.is_dir());
    let removed = reap(false);
    assert!(
        removed.starts_with(&format!("removed {} (", run.dir.display())),
        "{}",
        removed
    );
    assert!(!run.dir.exists());
    assert!(other.is_dir(), "an untagged directory was removed");
}

#[test]
fn a_directory_kept_on_failure_is_untagged_and_never_reaped() {
    let scratch = Scratch::new();
    let parent = scratch.path().join("tmp");
    std::fs::create_dir(&parent).unwrap();
    let out = common::output_of(
        Command::new(TEMPKIT)
            .arg("run")
            .arg("--dir")
            .arg(&parent)
            .args(["--keep-on-failure", "--", "false"]),
    )
    .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let kept = common::list(&parent);
    assert_eq!(kept.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let kept = parent.join(&kept[0]);
    // tempkit, its owner, is dead: were it still tagged, this reap would remove it.
    let reaped = tempkit::reap(&parent, false).unwrap();
    assert!(reaped.is_empty(), "{:?}", reaped);
    assert!(kept.is_dir());
}
