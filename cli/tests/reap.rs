//! `tempkit reap`: lists every tagged entry with what it did and why, untagged ones only with
//! `--verbose`; `--dry-run` removes nothing; the default directory is `gettempdir()`.

#[path = "../../tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::child::Child;
use common::{list, Scratch};

const TEMPKIT: &str = env!("CARGO_BIN_EXE_tempkit");

/// `tempkit reap ARGS...` with TMPDIR set to `tmpdir`: its standard output, after checking
/// that it succeeded.
fn reap(tmpdir: &Path, args: &[&str]) -> String {
    let out = common::output_of(
        Command::new(TEMPKIT)
            .arg("reap")
            .args(args)
            .env("TMPDIR", tmpdir),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The paths of the lines starting with `what ` (`what PATH (reason)`).
fn paths(output: &str, what: &str) -> BTreeSet<String> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix(what)?.strip_prefix(' '))
        .map(|rest| rest.split(" (").next().unwrap().to_string())
        .collect()
}

#[test]
fn dry_run_lists_exactly_the_dead_and_a_real_run_removes_exactly_them() {
    let scratch = Scratch::new();
    let dir = scratch.path();
    // A child (a fresh process) leaks six tagged directories and four tagged files and exits
    // without destructors.
    let record = Scratch::new();
    let record_file = record.path().join("made");
    Child::new("child_leak").arg(dir).arg(&record_file).run();
    let dead: BTreeSet<String> = std::fs::read_to_string(&record_file)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(dead.len(), 10);
    let untagged = tempkit::Builder::new().dir(dir).mkdtemp().unwrap();
    let live = tempkit::Builder::new()
        .dir(dir)
        .reapable(true)
        .temporary_directory()
        .unwrap();

    // No DIR: the default directory, here TMPDIR.
    let dry = reap(dir, &["--dry-run"]);
    assert_eq!(paths(&dry, "would remove"), dead, "{}", dry);
    let skipped = paths(&dry, "skipped");
    let live_path = live.path().display().to_string();
    assert_eq!(skipped, BTreeSet::from([live_path.clone()]), "{}", dry);
    assert!(dry.contains(&format!(
        "skipped {} (owner {} is alive)",
        live_path,
        std::process::id()
    )));
    assert_eq!(list(dir).len(), 12, "a dry run removes nothing");
    let verbose = reap(dir, &["--dry-run", "--verbose"]);
    assert!(verbose.contains(&format!("skipped {} (untagged)", untagged.display())));

    let real = reap(dir, &[dir.to_str().unwrap()]);
    assert_eq!(paths(&real, "removed"), dead, "{}", real);
    let mut left: Vec<String> = list(dir);
    left.sort();
    let mut want = vec![
        untagged.file_name().unwrap().to_string_lossy().into_owned(),
        live.path()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned(),
    ];
    want.sort();
    assert_eq!(left, want);
}

#[test]
#[ignore]
fn child_leak() {
    let args = common::child::child_args();
    let (dir, record_file) = (&args[0], &args[1]);
    let mut b = tempkit::Builder::new();
    b.dir(dir).reapable(true);
    let mut made = String::new();
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for _ in 0..6 {
        let d = b.temporary_directory().unwrap();
        std::fs::write(d.path().join("inside"), b"x").unwrap();
        made.push_str(&format!("{}\n", d.path().display()));
        dirs.push(d);
    }
    for _ in 0..4 {
        let f = b.named_temporary_file().unwrap();
        made.push_str(&format!("{}\n", f.path().display()));
        files.push(f);
    }
    std::fs::write(record_file, made).unwrap();
    // SAFETY: ends the process without dropping what it made.
    unsafe { libc::_exit(0) }
}

const TAG: &str = "user.tempkit.owner";
const VICTIM: u32 = 1000;

fn cstr(path: &Path) -> std::ffi::CString {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap()
}

/// `lgetxattr(path, user.tempkit.owner)`.
fn tag_of(path: &Path) -> String {
    let name = std::ffi::CString::new(TAG).unwrap();
    let mut buf = [0u8; 512];
    // SAFETY: valid NUL-terminated strings and a buffer of the length given.
    let n = unsafe {
        libc::lgetxattr(
            cstr(path).as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    assert!(n > 0, "no tag on {}", path.display());
    String::from_utf8(buf[..n as usize].to_vec()).unwrap()
}

/// Issue 21, finding 1, through the command: uid 65534 forges "owner dead, uid 1000" on the
/// victim's 0777 directory and 0666 file in a sticky directory; `tempkit reap` run by the
/// victim and `tempkit reap --all-users` run by root both leave them, and what they hold.
#[test]
fn a_tag_forged_by_someone_who_may_write_the_entry_is_never_trusted() {
    if !common::need::root() {
        return;
    }
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::os::unix::process::CommandExt;
    let scratch = Scratch::new();
    let dir = scratch.path().join("tmp");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let (wide_dir, wide_file) = (dir.join("wide-dir"), dir.join("wide-file"));
    std::fs::create_dir_all(wide_dir.join("sub")).unwrap();
    std::fs::write(wide_dir.join("sub/precious"), b"mine").unwrap();
    std::fs::write(&wide_file, b"mine").unwrap();
    for (path, mode) in [
        (wide_dir.join("sub/precious"), 0o600),
        (wide_dir.join("sub"), 0o700),
        (wide_dir.clone(), 0o777),
        (wide_file.clone(), 0o666),
    ] {
        std::os::unix::fs::chown(&path, Some(VICTIM), Some(VICTIM)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    // The forgery: a real tag with another boot, the victim's uid and the target's inode.
    let model = tempkit::Builder::new()
        .dir(scratch.path())
        .reapable(true)
        .temporary_directory()
        .unwrap();
    let model = tag_of(model.path());
    let forge = |path: &Path| -> String {
        let meta = std::fs::symlink_metadata(path).unwrap();
        model
            .split(' ')
            .map(|w| match w.split_once('=') {
                Some(("boot", _)) => "boot=another-boot".to_string(),
                Some(("uid", _)) => format!("uid={}", VICTIM),
                Some(("dev", _)) => format!("dev={}", meta.dev()),
                Some(("ino", _)) => format!("ino={}", meta.ino()),
                _ => w.to_string(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    Child::new("child_forge_tags")
        .arg(&wide_dir)
        .arg(forge(&wide_dir))
        .arg(&wide_file)
        .arg(forge(&wide_file))
        .as_nobody()
        .assert_passes();
    let check = |out: &str| {
        for path in [&wide_dir, &wide_file] {
            assert!(path.exists(), "{} was removed:\n{}", path.display(), out);
            let line = format!(
                "skipped {} (writable by others (mode 0{:o}): its tag may be forged)",
                path.display(),
                common::mode(path) & 0o7777
            );
            assert!(out.contains(&line), "{}\nwanted: {}", out, line);
        }
        assert_eq!(
            std::fs::read(wide_dir.join("sub/precious")).unwrap(),
            b"mine"
        );
        assert_eq!(std::fs::read(&wide_file).unwrap(), b"mine");
    };
    // The victim's own reap.
    let out = common::output_of(
        Command::new(TEMPKIT)
            .arg("reap")
            .arg(&dir)
            .uid(VICTIM)
            .gid(VICTIM),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    check(&String::from_utf8(out.stdout).unwrap());
    // Root's reap of every user's entries.
    check(&reap(&dir, &["--all-users", dir.to_str().unwrap()]));
}

/// The attacker (arguments: path, tag, ...): writes each tag, which Linux allows anyone who
/// may write the file or the directory (without the sticky bit).
#[test]
#[ignore]
fn child_forge_tags() {
    let args = common::child::child_args();
    let name = std::ffi::CString::new(TAG).unwrap();
    for pair in args.chunks(2) {
        let tag = pair[1].to_str().unwrap();
        // SAFETY: valid NUL-terminated strings and a value of the length given.
        let rc = unsafe {
            libc::lsetxattr(
                cstr(&pair[0]).as_ptr(),
                name.as_ptr(),
                tag.as_ptr().cast(),
                tag.len(),
                0,
            )
        };
        assert_eq!(
            rc,
            0,
            "the attacker could not tag {}: {}",
            pair[0].display(),
            std::io::Error::last_os_error()
        );
    }
}
