//! The `tempkit` command on Windows (run under wine by `.ci/windows-cli`): `mktemp` with
//! Windows paths and `%TEMP%`, `gettempdir`, `run` (exit codes, the directory removed, the
//! command's tree in a Job object that dies with tempkit) and `reap`'s refusal.
//!
//! The commands `run` starts are this test binary itself, re-run as the ignored test `helper`
//! with `TEMPKIT_TEST_HELPER` saying what to do; they report to a file outside the directory.
#![cfg(windows)]

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{CloseHandle, HANDLE};
use windows_sys::Win32::System::Threading::{
    OpenProcess, TerminateProcess, WaitForSingleObject, PROCESS_SYNCHRONIZE, PROCESS_TERMINATE,
};

const TEMPKIT: &str = env!("CARGO_BIN_EXE_tempkit");
/// Every wait in these tests ends, failing the test, after this long.
const LIMIT: Duration = Duration::from_secs(30);

/// A directory of the test's own, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let path =
            std::env::temp_dir().join(format!("tempkit-cli-{}-{}", name, std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir(&path).unwrap();
        Scratch(path)
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn tempkit(args: &[&OsStr], temp: &Path) -> Output {
    Command::new(TEMPKIT)
        .args(args)
        .env_remove("TMPDIR")
        .env("TEMP", temp)
        .env("TMP", temp)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn stdout_line(out: &Output) -> String {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    text.strip_suffix('\n')
        .unwrap_or_else(|| panic!("no newline: {:?}", text))
        .to_owned()
}

#[test]
fn mktemp_creates_a_file_in_temp_and_prints_its_windows_path() {
    let scratch = Scratch::new("mktemp");
    let out = tempkit(&[os("mktemp")], &scratch.0);
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    let printed = stdout_line(&out);
    let want = format!("{}\\tmp.", scratch.0.display());
    assert!(
        printed.starts_with(&want),
        "{} does not start with {}",
        printed,
        want
    );
    assert_eq!(printed.len(), want.len() + 10);
    assert!(fs::metadata(&printed).unwrap().is_file());
    assert_eq!(fs::read(&printed).unwrap(), b"");
    assert_eq!(scratch.names().len(), 1);
}

#[test]
fn mktemp_makes_directories_with_either_separator_a_suffix_and_dash_p() {
    let scratch = Scratch::new("mktemp-d");
    let sub = scratch.0.join("sub");
    fs::create_dir(&sub).unwrap();
    // A template with a backslash directory part, relative to -p.
    let out = tempkit(
        &[
            os("mktemp"),
            os("-d"),
            os("--suffix=.dir"),
            os("-p"),
            scratch.0.as_os_str(),
            os("--tmpdir="),
        ],
        &scratch.0,
    );
    // `--tmpdir=` (empty) after -p: the last one counts, and an empty DIR means %TEMP%.
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    let printed = stdout_line(&out);
    assert!(printed.ends_with(".dir"), "{}", printed);
    assert!(Path::new(&printed).is_dir());
    let template = format!("{}\\sub\\keepXXXXXX", scratch.0.display());
    let out = tempkit(&[os("mktemp"), os("-d"), os(&template)], &scratch.0);
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    let printed = stdout_line(&out);
    assert!(
        printed.starts_with(&format!("{}\\sub\\keep", scratch.0.display())),
        "{}",
        printed
    );
    assert!(Path::new(&printed).is_dir());
    let template = format!("{}/sub/fwdXXX.txt", scratch.0.display());
    let out = tempkit(&[os("mktemp"), os(&template)], &scratch.0);
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    let printed = stdout_line(&out);
    assert!(
        printed.ends_with(".txt") && printed.contains("/sub/fwd"),
        "{}",
        printed
    );
    assert!(Path::new(&printed).is_file());
    let mut names: Vec<String> = fs::read_dir(&sub)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "{:?}", names);
    assert!(
        names[0].starts_with("fwd") && names[1].starts_with("keep"),
        "{:?}",
        names
    );
}

#[test]
fn mktemp_dry_run_creates_nothing_and_errors_exit_1() {
    let scratch = Scratch::new("mktemp-u");
    let out = tempkit(&[os("mktemp"), os("-u"), os("-t"), os("aXXXX")], &scratch.0);
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    assert!(stdout_line(&out).starts_with(&format!("{}\\a", scratch.0.display())));
    assert!(scratch.names().is_empty());
    let out = tempkit(&[os("mktemp"), os("aXX")], &scratch.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("too few X's"),
        "{:?}",
        out
    );
    let out = tempkit(
        &[os("mktemp"), os("--tmpdir"), os("C:\\absXXX")],
        &scratch.0,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("may not be absolute"),
        "{:?}",
        out
    );
    let missing = scratch.0.join("missing");
    let out = tempkit(&[os("mktemp"), os("-p"), missing.as_os_str()], &scratch.0);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("failed to create file"),
        "{:?}",
        out
    );
    assert!(out.stdout.is_empty());
    assert!(scratch.names().is_empty());
}

#[test]
fn gettempdir_prints_temp() {
    let scratch = Scratch::new("gettempdir");
    let out = tempkit(&[os("gettempdir")], &scratch.0);
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    assert_eq!(stdout_line(&out), scratch.0.display().to_string());
}

#[test]
fn mktemp_help_names_temp_not_tmp() {
    let scratch = Scratch::new("mktemp-help");
    let out = tempkit(&[os("mktemp"), os("--help")], &scratch.0);
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    let help = String::from_utf8(out.stdout).unwrap();
    assert!(!help.contains("/tmp"), "{}", help);
    assert!(help.contains("else %TEMP%. With this option"), "{}", help);
    assert!(help.contains("else %TEMP% [deprecated]"), "{}", help);
    assert!(scratch.names().is_empty());
}

#[test]
fn reap_refuses_saying_why() {
    let scratch = Scratch::new("reap");
    let out = tempkit(&[os("reap"), scratch.0.as_os_str()], &scratch.0);
    assert_eq!(out.status.code(), Some(1), "{:?}", out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("tempkit reap: not available on this platform"),
        "{}",
        err
    );
    assert!(out.stdout.is_empty());
}

// ---- run ----

/// `tempkit run [options] -- <this binary as helper>`, reporting to `report`.
fn run_helper(scratch: &Scratch, options: &[&str], mode: &str, report: &Path) -> Command {
    let mut cmd = Command::new(TEMPKIT);
    cmd.arg("run")
        .args(options)
        .arg("--dir")
        .arg(scratch.0.join("runs"))
        .arg("--")
        .arg(std::env::current_exe().unwrap())
        .args(["--exact", "helper", "--ignored", "--test-threads=1", "-q"])
        .env("TEMPKIT_TEST_HELPER", mode)
        .env("TEMPKIT_TEST_REPORT", report)
        .env_remove("TMPDIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn runs_dir(scratch: &Scratch) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(scratch.0.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The helper's report: `key=value` lines, once it has written `done`.
fn wait_for_report(report: &Path) -> Vec<(String, String)> {
    let start = Instant::now();
    loop {
        if let Ok(text) = fs::read_to_string(report) {
            if text.lines().any(|l| l == "done=1") {
                return text
                    .lines()
                    .filter_map(|l| l.split_once('='))
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect();
            }
        }
        assert!(
            start.elapsed() < LIMIT,
            "the helper never reported to {}",
            report.display()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

fn value(report: &[(String, String)], key: &str) -> String {
    report
        .iter()
        .find(|(k, _)| k == key)
        .unwrap_or_else(|| panic!("no {} in {:?}", key, report))
        .1
        .clone()
}

/// A process, held open so that its id cannot be reused while we look at it.
struct Process(HANDLE);

impl Process {
    fn open(pid: u32) -> Process {
        // SAFETY: plain call; the handle is closed on drop.
        let h = unsafe { OpenProcess(PROCESS_SYNCHRONIZE | PROCESS_TERMINATE, 0, pid) };
        assert!(
            h as isize != 0,
            "process {} is not running: {}",
            pid,
            std::io::Error::last_os_error()
        );
        Process(h)
    }

    /// Whether it ended within `limit`.
    fn ends_within(&self, limit: Duration) -> bool {
        // SAFETY: the handle is open with SYNCHRONIZE.
        unsafe { WaitForSingleObject(self.0, limit.as_millis() as u32) == 0 }
    }

    fn terminate(&self) {
        // SAFETY: the handle is open with PROCESS_TERMINATE.
        assert!(unsafe { TerminateProcess(self.0, 9) } != 0);
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // SAFETY: ours, closed once.
        unsafe { CloseHandle(self.0) };
    }
}

fn wait_bounded(child: &mut Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            panic!("tempkit run did not end within {:?}", LIMIT);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

fn new_runs(name: &str) -> (Scratch, PathBuf) {
    let scratch = Scratch::new(name);
    fs::create_dir(scratch.0.join("runs")).unwrap();
    let report = scratch.0.join("report");
    (scratch, report)
}

#[test]
fn run_passes_the_exit_code_and_removes_the_directory_the_command_used() {
    let (scratch, report) = new_runs("run-exit");
    for (code, cd) in [(0, false), (3, true), (1000, false)] {
        let _ = fs::remove_file(&report);
        let options: &[&str] = if cd { &["--cd"] } else { &[] };
        let mut cmd = run_helper(&scratch, options, "report", &report);
        cmd.env("TEMPKIT_TEST_EXIT", code.to_string());
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{:?}", out);
        let report = wait_for_report(&report);
        let temp = value(&report, "temp");
        assert_eq!(value(&report, "tmp"), temp);
        assert_eq!(value(&report, "tmpdir"), temp);
        assert!(
            Path::new(&temp).starts_with(scratch.0.join("runs")),
            "{}",
            temp
        );
        assert_eq!(value(&report, "wrote"), "1");
        if cd {
            assert_eq!(Path::new(&value(&report, "cwd")), Path::new(&temp));
        }
        assert!(!Path::new(&temp).exists(), "{} was left", temp);
        assert!(runs_dir(&scratch).is_empty(), "{:?}", runs_dir(&scratch));
    }
}

#[test]
fn run_reports_a_missing_command_127_and_keeps_on_request() {
    let (scratch, report) = new_runs("run-127");
    let out = Command::new(TEMPKIT)
        .args(["run", "--dir"])
        .arg(scratch.0.join("runs"))
        .args(["--", "no-such-command-tempkit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{:?}", out);
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("tempkit run: no-such-command-tempkit: ")
    );
    assert!(runs_dir(&scratch).is_empty());
    let mut cmd = run_helper(&scratch, &["--keep-on-failure"], "report", &report);
    let out = cmd.env("TEMPKIT_TEST_EXIT", "2").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{:?}", out);
    let temp = value(&wait_for_report(&report), "temp");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("tempkit run: kept {}", temp)),
        "{}",
        err
    );
    assert!(Path::new(&temp).join("made-by-the-command").is_file());
    assert_eq!(runs_dir(&scratch).len(), 1);
}

#[test]
fn run_removes_the_directory_when_the_command_is_killed() {
    let (scratch, report) = new_runs("run-killed");
    let mut child = run_helper(&scratch, &[], "tree", &report).spawn().unwrap();
    let info = wait_for_report(&report);
    let command = Process::open(value(&info, "pid").parse().unwrap());
    let grandchild = Process::open(value(&info, "child").parse().unwrap());
    command.terminate();
    let status = wait_bounded(&mut child);
    assert_eq!(status.code(), Some(9));
    // What the command left running is ended with it, so the directory can go.
    assert!(
        grandchild.ends_within(Duration::from_secs(0)),
        "the grandchild outlived the run"
    );
    assert!(runs_dir(&scratch).is_empty(), "{:?}", runs_dir(&scratch));
}

#[test]
fn run_ends_what_the_command_left_running_then_removes_the_directory() {
    let (scratch, report) = new_runs("run-leftover");
    let mut cmd = run_helper(&scratch, &[], "leave", &report);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{:?}", out);
    let info = wait_for_report(&report);
    // The grandchild was in the job: already gone (its id may be reused, so no OpenProcess
    // here); its directory, in which it held a file open, was removed.
    assert_eq!(value(&info, "child_open"), "1");
    assert!(!Path::new(&value(&info, "temp")).exists());
    assert!(runs_dir(&scratch).is_empty(), "{:?}", runs_dir(&scratch));
}

#[test]
fn a_hard_kill_of_tempkit_kills_the_command_and_its_children() {
    for killer in ["TerminateProcess", "taskkill /F"] {
        let (scratch, report) = new_runs("run-hardkill");
        let mut child = run_helper(&scratch, &[], "tree", &report).spawn().unwrap();
        let info = wait_for_report(&report);
        let command = Process::open(value(&info, "pid").parse().unwrap());
        let grandchild = Process::open(value(&info, "child").parse().unwrap());
        if killer == "TerminateProcess" {
            child.kill().unwrap(); // tempkit runs no code of its own after this
        } else {
            // Without /T: tempkit alone (taskkill /F is TerminateProcess too).
            let out = Command::new("taskkill")
                .args(["/F", "/PID", &child.id().to_string()])
                .output()
                .expect("taskkill is needed by this test");
            assert!(out.status.success(), "taskkill: {:?}", out);
        }
        assert!(wait_bounded(&mut child).code().is_some());
        assert!(
            command.ends_within(LIMIT),
            "{}: the command outlived tempkit",
            killer
        );
        assert!(
            grandchild.ends_within(LIMIT),
            "{}: its child outlived tempkit",
            killer
        );
        // Documented: nothing removes the directory of a hard-killed tempkit on Windows.
        assert_eq!(runs_dir(&scratch).len(), 1, "{}", killer);
    }
}

#[test]
fn a_hard_kill_before_the_command_is_in_its_job_leaves_it_suspended_never_run() {
    let (scratch, report) = new_runs("run-suspended");
    let mut cmd = run_helper(&scratch, &[], "report", &report);
    cmd.env("TEMPKIT_TEST_PAUSE_AT", "after-spawn")
        .env("TEMPKIT_TEST_EXIT", "0");
    let mut child = cmd.spawn().unwrap();
    // The failpoint's line, read on a thread so that the wait is bounded.
    let mut stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let mut line = Vec::new();
        let mut byte = [0u8];
        while std::io::Read::read(&mut stderr, &mut byte).map_or(false, |n| n == 1) {
            if byte[0] == b'\n' {
                break;
            }
            line.push(byte[0]);
        }
        let _ = tx.send(String::from_utf8_lossy(&line).into_owned());
    });
    let line = match rx.recv_timeout(LIMIT) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            panic!("tempkit never reached its after-spawn failpoint");
        }
    };
    let pid: u32 = line
        .strip_prefix("tempkit run: paused after-spawn ")
        .unwrap_or_else(|| panic!("unexpected stderr line {:?}", line))
        .trim()
        .parse()
        .unwrap();
    let command = Process::open(pid);
    child.kill().unwrap();
    child.wait().unwrap();
    // Created suspended: it never runs, so it never reports, and it does not end by itself.
    // (Without CREATE_SUSPENDED it would have reported at once: the test fails so.)
    assert!(
        !command.ends_within(Duration::from_secs(5)),
        "the command ended by itself"
    );
    assert!(!report.exists(), "the command ran outside its job");
    command.terminate();
    assert!(command.ends_within(LIMIT));
}

/// The command `run` starts in these tests (re-run of this binary; see the module doc).
#[test]
#[ignore]
fn helper() {
    let mode = std::env::var("TEMPKIT_TEST_HELPER").unwrap();
    let report = PathBuf::from(std::env::var_os("TEMPKIT_TEST_REPORT").unwrap());
    let temp = std::env::var("TEMP").unwrap();
    let mut lines = format!(
        "pid={}\ntemp={}\ntmp={}\ntmpdir={}\ncwd={}\n",
        std::process::id(),
        temp,
        std::env::var("TMP").unwrap(),
        std::env::var("TMPDIR").unwrap(),
        std::env::current_dir().unwrap().display()
    );
    match mode.as_str() {
        "report" => {
            fs::write(Path::new(&temp).join("made-by-the-command"), b"x").unwrap();
            lines.push_str("wrote=1\n");
            fs::write(&report, lines + "done=1\n").unwrap();
            std::process::exit(std::env::var("TEMPKIT_TEST_EXIT").unwrap().parse().unwrap());
        }
        "tree" | "leave" => {
            let sleeper = Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "helper", "--ignored", "--test-threads=1", "-q"])
                .env("TEMPKIT_TEST_HELPER", "sleep")
                .stdout(Stdio::null())
                .spawn()
                .unwrap();
            lines.push_str(&format!("child={}\n", sleeper.id()));
            if mode == "leave" {
                // Wait (bounded) until the sleeper holds its file open inside the directory.
                let held = Path::new(&temp).join("held-open");
                let start = Instant::now();
                while !held.exists() {
                    assert!(start.elapsed() < LIMIT);
                    thread::sleep(Duration::from_millis(20));
                }
                lines.push_str("child_open=1\n");
                fs::write(&report, lines + "done=1\n").unwrap();
                std::process::exit(0);
            }
            fs::write(&report, lines + "done=1\n").unwrap();
            thread::sleep(LIMIT * 2);
            std::process::exit(0);
        }
        "sleep" => {
            let _held = fs::File::create(Path::new(&temp).join("held-open")).unwrap();
            thread::sleep(LIMIT * 2);
            std::process::exit(0);
        }
        other => panic!("unknown helper mode {}", other),
    }
}
