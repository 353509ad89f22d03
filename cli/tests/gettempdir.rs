//! `tempkit gettempdir`: prints the directory the library's `gettempdir()` chooses, as bytes;
//! and the top-level command's help and usage errors.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;

use common::Scratch;

const TEMPKIT: &str = env!("CARGO_BIN_EXE_tempkit");

fn gettempdir(env: &[(&str, &OsStr)]) -> std::process::Output {
    let mut cmd = Command::new(TEMPKIT);
    cmd.arg("gettempdir");
    for var in ["TMPDIR", "TEMP", "TMP"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    common::output_of(&mut cmd).unwrap()
}

#[test]
fn prints_tmpdir_when_usable() {
    let scratch = Scratch::new();
    let out = gettempdir(&[("TMPDIR", scratch.path().as_os_str())]);
    assert_eq!(out.status.code(), Some(0));
    let mut want = scratch.path().as_os_str().as_bytes().to_vec();
    want.push(b'\n');
    assert_eq!(out.stdout, want);
    assert!(
        scratch.names().is_empty(),
        "the probe left {:?}",
        scratch.names()
    );
}

#[test]
fn skips_unusable_candidates_in_order() {
    let scratch = Scratch::new();
    let missing = scratch.path().join("missing");
    let temp = scratch.path().join("temp");
    std::fs::create_dir(&temp).unwrap();
    let out = gettempdir(&[("TMPDIR", missing.as_os_str()), ("TEMP", temp.as_os_str())]);
    assert_eq!(out.stdout, [temp.as_os_str().as_bytes(), b"\n"].concat());
    let out = gettempdir(&[("TMPDIR", OsStr::new("")), ("TMP", temp.as_os_str())]);
    assert_eq!(out.stdout, [temp.as_os_str().as_bytes(), b"\n"].concat());
}

#[test]
fn a_non_utf8_directory_is_printed_byte_for_byte() {
    let scratch = Scratch::new();
    let dir = scratch.path().join(OsStr::from_bytes(b"\xff\xfe-tmp"));
    std::fs::create_dir(&dir).unwrap();
    let out = gettempdir(&[("TMPDIR", dir.as_os_str())]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(out.stdout, [dir.as_os_str().as_bytes(), b"\n"].concat());
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["mktemp", "--help"],
        &["run", "--help"],
        &["gettempdir", "--help"],
    ] {
        let out = common::output_of(Command::new(TEMPKIT).args(args)).unwrap();
        assert_eq!(out.status.code(), Some(0), "{:?}", args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage:"), "{:?}: {}", args, text);
    }
    let top = common::output_of(Command::new(TEMPKIT).arg("--help")).unwrap();
    let text = String::from_utf8_lossy(&top.stdout);
    for sub in ["mktemp", "run", "gettempdir"] {
        assert!(text.contains(sub), "top-level help lists {}", sub);
    }
}

#[test]
fn usage_errors_fail_with_a_message() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["run"],
        &["run", "--bogus", "--", "true"],
    ] {
        let out = common::output_of(Command::new(TEMPKIT).args(args)).unwrap();
        assert!(!out.status.success(), "{:?}", args);
        assert!(!out.stderr.is_empty(), "{:?}", args);
    }
}
