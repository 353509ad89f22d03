//! Durability across a simulated power cut (root): a loop-mounted xfs or ext4 image, the
//! library's publish in a child test (a fresh process of this binary), then `xfs_io -x -c shutdown` (the file system stops at
//! once, without flushing its log: what a crash leaves), unmount, mount again, read back.
//!
//! Controls show that the check can fail: published atomically but not durably
//! (`durable(false)`), the new content is lost; renamed and the directory synced but the
//! file not (xfs, ext4 with `noauto_da_alloc`), the file comes back empty.
//! Root, mkfs and xfs_io are needed: CI runs as root and installs xfsprogs; without them the
//! tests fail naming what is missing (`common::need`). The two tests run one at a time: the
//! global `sync` of one must not run between the other's publish and its power cut.
#![allow(clippy::incompatible_msrv)] // tests use the current toolchain, not rust-version
#![cfg(unix)] // loop-mounted xfs and ext4: Linux

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::child::{child_args, Child};
use common::Scratch;

/// Held by each power-cut test for its whole run (see the module doc).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

const OLD: &[u8] = b"OLD-CONTENT";

/// 11,000 bytes: more than one block, as in the measurements behind the reference table.
fn new_content() -> Vec<u8> {
    (0..11_000).map(|i| b'a' + (i % 26) as u8).collect()
}

fn run(program: &str, args: &[&str]) {
    let output = common::output_of(Command::new(program).args(args))
        .unwrap_or_else(|e| panic!("run {} (CI installs it): {}", program, e));
    assert!(
        output.status.success(),
        "{} {:?}: {}",
        program,
        args,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A file system image, mounted at `mnt` while the value lives.
///
/// Each mount goes through a loop device of its own, attached here and detached after the
/// unmount: never one that `mount -o loop` would reuse. A process elsewhere that copied our
/// mounts into a mount namespace of its own (`unshare --mount`, as some tests of the CLI do)
/// keeps the shut-down file system alive after our unmount; mounting its device again would
/// give back that same shut-down file system (every read `EIO`), a failure that says nothing
/// about publishing. For the same reason xfs is mounted with `nouuid` (it refuses a second
/// mount of a file system whose UUID is mounted still).
struct Image {
    _scratch: Scratch,
    image: PathBuf,
    mnt: PathBuf,
    options: String,
    /// The loop device while one is attached.
    device: Option<String>,
    mounted: bool,
}

impl Image {
    fn new(fs: &str, size: &str, options: &str) -> Image {
        let scratch = Scratch::new();
        let image = scratch.path().join("fs.img");
        let mnt = scratch.path().join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        run("truncate", &["-s", size, image.to_str().unwrap()]);
        run(&format!("mkfs.{}", fs), &["-q", image.to_str().unwrap()]);
        let mut all: Vec<&str> = options.split(',').filter(|o| !o.is_empty()).collect();
        if fs == "xfs" {
            all.push("nouuid");
        }
        let mut img = Image {
            _scratch: scratch,
            image,
            mnt,
            options: all.join(","),
            device: None,
            mounted: false,
        };
        img.mount();
        img
    }

    fn mount(&mut self) {
        let attached = common::output_of(
            Command::new("losetup")
                .args(["--find", "--show"])
                .arg(&self.image),
        )
        .expect("run losetup");
        assert!(
            attached.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&attached.stderr)
        );
        let device = String::from_utf8(attached.stdout)
            .unwrap()
            .trim()
            .to_owned();
        self.device = Some(device.clone());
        let mut args = vec![];
        if !self.options.is_empty() {
            args.extend(["-o", self.options.as_str()]);
        }
        args.extend([device.as_str(), self.mnt.to_str().unwrap()]);
        run("mount", &args);
        self.mounted = true;
    }

    /// Detaches our loop device (after the unmount).
    fn detach(&mut self) {
        if let Some(device) = self.device.take() {
            run("losetup", &["-d", &device]);
        }
    }

    /// The power cut: shut the file system down without flushing, unmount, mount again.
    fn power_cut(&mut self) {
        run(
            "xfs_io",
            &["-x", "-c", "shutdown", self.mnt.to_str().unwrap()],
        );
        run("umount", &[self.mnt.to_str().unwrap()]);
        self.mounted = false;
        self.detach();
        self.mount();
    }

    fn path(&self, name: &str) -> PathBuf {
        self.mnt.join(name)
    }
}

impl Drop for Image {
    fn drop(&mut self) {
        if self.mounted {
            let _ = common::output_of(Command::new("umount").arg(&self.mnt));
        }
        if let Some(device) = self.device.take() {
            let _ = common::output_of(Command::new("losetup").args(["-d", &device]));
        }
    }
}

/// Runs the publish `case` of [`child_publish`] in a fresh process, given `args`; it must
/// succeed.
fn publish(case: &str, args: &[&Path]) {
    let mut child = Child::new("child_publish").arg(case);
    for arg in args {
        child = child.arg(arg);
    }
    child.assert_passes();
}

/// The publishes whose outcome a power cut tests, each in a process of its own that ends
/// before the power cut (as a program that published and exited). The arguments: the case,
/// then its paths.
#[test]
#[ignore]
fn child_publish() {
    let args = child_args();
    let path = |i: usize| args[i].as_path();
    match args[0].to_str().unwrap() {
        // write_atomic: durable by default.
        "write_atomic" => tempkit::write_atomic(path(1), new_content()).unwrap(),
        // NamedTemporaryFile::persist_durable to `path(1)`, made in `path(2)`.
        "persist_durable" => {
            let mut file = tempkit::Builder::new()
                .dir(path(2))
                .named_temporary_file()
                .unwrap();
            file.write_all(&new_content()).unwrap();
            file.persist_durable(path(1)).unwrap();
        }
        // A directory tree staged in `path(2)`, published at `path(1)` without replacing.
        "tree" => {
            let staged = tempkit::Builder::new()
                .dir(path(2))
                .temporary_directory()
                .unwrap();
            std::fs::create_dir(staged.path().join("sub")).unwrap();
            std::fs::write(staged.path().join("sub/page"), new_content()).unwrap();
            staged.persist_noclobber(path(1)).unwrap();
        }
        // Control 1: atomic only.
        "atomic_only" => tempkit::AtomicFile::options()
            .durable(false)
            .write(path(1), new_content())
            .unwrap(),
        // Control 2: rename and directory fsync without the file's fsync.
        "no_file_fsync" => {
            let dest = path(1);
            let temp = dest.with_file_name(".no_file_fsync.tmp");
            std::fs::write(&temp, new_content()).unwrap();
            std::fs::rename(&temp, dest).unwrap();
            std::fs::File::open(dest.parent().unwrap())
                .unwrap()
                .sync_all()
                .unwrap();
        }
        // Control 3: the file's fsync and the rename, without the directory's fsync.
        "no_dir_fsync" => {
            let dest = path(1);
            let temp = dest.with_file_name(".no_dir_fsync.tmp");
            let mut file = std::fs::File::create(&temp).unwrap();
            file.write_all(&new_content()).unwrap();
            file.sync_all().unwrap();
            drop(file);
            std::fs::rename(&temp, dest).unwrap();
        }
        other => panic!("no case {}", other),
    }
}

/// Writes the old content durably (`sync`), runs the publish `case` of [`child_publish`] on
/// `dest` (then `extra`) in a fresh process, cuts the power, and returns what `dest` holds
/// afterwards (`None`: missing).
fn after_power_cut(img: &mut Image, dest: &Path, case: &str, extra: &[&Path]) -> Option<Vec<u8>> {
    std::fs::write(dest, OLD).unwrap();
    run("sync", &[]);
    let mut args = vec![dest];
    args.extend_from_slice(extra);
    publish(case, &args);
    img.power_cut();
    read_back(dest)
}

/// What `path` holds; `None` if it cannot be read (said on stderr unless it is missing).
fn read_back(path: &Path) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(content) => Some(content),
        Err(e) => {
            if e.kind() != std::io::ErrorKind::NotFound {
                eprintln!("read {} after the power cut: {}", path.display(), e);
            }
            None
        }
    }
}

/// What a file held after a power cut, short enough for an assertion message.
fn summary(content: &Option<Vec<u8>>) -> String {
    match content {
        None => "missing".into(),
        Some(c) if c.as_slice() == OLD => "the old content".into(),
        Some(c) if *c == new_content() => "the new content".into(),
        Some(c) => format!("{} other bytes", c.len()),
    }
}

/// How many times a control is tried: a journal commit that happens to fall between the
/// publish and the power cut (ext4 commits every few seconds) saves what the control shows
/// lost, so one loss in a few tries is the proof.
const CONTROL_TRIES: usize = 3;

/// Runs a control (the publish `case` of [`child_publish`]) up to [`CONTROL_TRIES`] times;
/// `lost` says whether an attempt shows the loss. Every attempt must leave the old or the new content, whole, or (`empty_ok`) an
/// empty file. Returns what the attempts left.
fn control(
    img: &mut Image,
    name: &str,
    empty_ok: bool,
    case: &str,
    lost: impl Fn(&Option<Vec<u8>>) -> bool,
) -> Vec<String> {
    let mut seen = Vec::new();
    for _ in 0..CONTROL_TRIES {
        let dest = img.path(name);
        let got = after_power_cut(img, &dest, case, &[]);
        let shown = summary(&got);
        let whole = got.as_deref() == Some(OLD)
            || got.as_deref() == Some(&new_content()[..])
            || (empty_ok && got.as_ref().map(Vec::len) == Some(0));
        assert!(whole, "control {}: {}", name, shown);
        seen.push(shown);
        if lost(&got) {
            return seen;
        }
    }
    panic!("control {}: never lost anything: {:?}", name, seen);
}

/// The scenarios on one file system.
fn power_cut_suite(fs: &str, size: &str, options: &str, lazy_fs: bool) {
    // Loop mounts need root; the power cut is xfs_io's `shutdown`, on either file system.
    if !common::need::root()
        || !common::need::program(&format!("mkfs.{}", fs), "-V")
        || !common::need::program("xfs_io", "-V")
    {
        return;
    }
    let _one_at_a_time = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let mut img = Image::new(fs, size, options);
    let new = new_content();

    // write_atomic: durable by default.
    let dest = img.path("write_atomic");
    let got = after_power_cut(&mut img, &dest, "write_atomic", &[]);
    assert!(
        got.as_deref() == Some(&new[..]),
        "{}: write_atomic left {}",
        fs,
        summary(&got)
    );

    // NamedTemporaryFile::persist_durable.
    let dest = img.path("persist_durable");
    let dir = img.mnt.clone();
    let got = after_power_cut(&mut img, &dest, "persist_durable", &[&dir]);
    let left = summary(&got);
    assert!(
        got.as_deref() == Some(&new[..]),
        "{}: persist_durable left {}",
        fs,
        left
    );

    // A directory tree, published without replacing.
    let site = img.path("site");
    publish("tree", &[&site, &dir]);
    img.power_cut();
    let page = read_back(&site.join("sub/page"));
    let left = summary(&page);
    assert!(
        page.as_deref() == Some(&new[..]),
        "{}: the published tree left {}",
        fs,
        left
    );

    // Control 1: atomic only. The new content does not survive: the old one does, whole.
    control(&mut img, "atomic_only", false, "atomic_only", |got| {
        got.as_deref() == Some(OLD)
    });

    // Control 3: the file's fsync and the rename without the directory's fsync: the rename
    // is not in the journal yet when the power goes, so the old content is back, whole (the
    // new one, though synced, sits under the temporary name). The publish's directory fsync
    // is what the first two cases survive on.
    control(&mut img, "no_dir_fsync", false, "no_dir_fsync", |got| {
        got.as_deref() == Some(OLD)
    });

    // Control 2: rename and directory fsync without the file's fsync: where the file system
    // does not force the data out before a rename, the file comes back empty.
    if lazy_fs {
        control(&mut img, "no_file_fsync", true, "no_file_fsync", |got| {
            got.as_ref().map(Vec::len) == Some(0)
        });
    }
}

#[test]
fn power_cut_xfs() {
    // xfs needs an image over 300 MB; it is sparse.
    power_cut_suite("xfs", "320M", "", true);
}

#[test]
fn power_cut_ext4() {
    // `noauto_da_alloc`: without it ext4 forces the data of a replaced file out before the
    // rename commits (a heuristic, not a promise), which would hide control 2.
    // `commit=60`: no periodic journal commit (default every 5 s) between a control's publish
    // and its power cut on a slow, loaded machine.
    power_cut_suite("ext4", "64M", "noauto_da_alloc,commit=60", true);
}
