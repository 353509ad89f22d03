//! A guided tour: creates every kind of temporary object tempkit has, shows it, and shows that
//! it is gone once cleaned up.
//!
//! Run it with `cargo run --example tour`. Every step asserts what it shows (CI runs the tour
//! in an empty `TMPDIR` and checks that it stays empty).

use std::io::{self, Write};
use std::path::Path;

fn show(what: &str, path: &Path) {
    println!("{:<28} {}", what, path.display());
}

fn exists(path: &Path) -> &'static str {
    if path.symlink_metadata().is_ok() {
        "exists"
    } else {
        "gone"
    }
}

/// What `/proc/self/fd/N` says an open file is: for a file without a name, its directory and
/// `#inode (deleted)`.
#[cfg(target_os = "linux")]
fn what_the_kernel_calls(file: &tempkit::TemporaryFile) -> Option<std::path::PathBuf> {
    use std::os::unix::io::AsRawFd;
    std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()
}

#[cfg(not(target_os = "linux"))]
fn what_the_kernel_calls(_file: &tempkit::TemporaryFile) -> Option<std::path::PathBuf> {
    None
}

fn main() -> io::Result<()> {
    println!(
        "gettempdir()                 {}",
        tempkit::gettempdir()?.display()
    );
    println!("gettempprefix()              {}", tempkit::gettempprefix());
    println!();

    let (mut file, path) = tempkit::Builder::new().suffix(".txt").mkstemp()?;
    file.write_all(b"written by the tour\n")?;
    show("mkstemp() created", &path);
    println!("{:<28} {:?}", "  it holds", std::fs::read_to_string(&path)?);
    drop(file);
    std::fs::remove_file(&path)?;
    println!("{:<28} {}", "  after remove_file", exists(&path));
    assert_eq!(exists(&path), "gone");

    let dir = tempkit::Builder::new().prefix("tour-").mkdtemp()?;
    show("mkdtemp() created", &dir);
    assert!(dir.is_dir());
    std::fs::remove_dir(&dir)?;
    println!("{:<28} {}", "  after remove_dir", exists(&dir));
    assert_eq!(exists(&dir), "gone");

    let mut unnamed = tempkit::TemporaryFile::new()?;
    unnamed.write_all(b"no name at all")?;
    match what_the_kernel_calls(&unnamed) {
        Some(target) => {
            show("TemporaryFile::new() is", &target);
            assert!(target.to_string_lossy().ends_with(" (deleted)"));
        }
        None => println!("{:<28} (no name to show)", "TemporaryFile::new() is"),
    }
    drop(unnamed);
    println!("{:<28} gone (it never had a name)", "  after drop");

    let mut named = tempkit::Builder::new()
        .suffix(".txt")
        .named_temporary_file()?;
    named.write_all(b"written by the tour\n")?;
    let named_path = named.path().to_owned();
    show("NamedTemporaryFile created", &named_path);
    println!("{:<28} {}", "  while open", exists(&named_path));
    assert_eq!(std::fs::read(&named_path)?, b"written by the tour\n");
    drop(named);
    println!("{:<28} {}", "  after drop", exists(&named_path));
    assert_eq!(exists(&named_path), "gone");
    let mut tree = tempkit::Builder::new()
        .prefix("tour-")
        .temporary_directory()?;
    show("TemporaryDirectory created", tree.path());
    std::fs::create_dir(tree.path().join("sub"))?;
    std::fs::write(tree.path().join("sub/file.txt"), b"inside")?;
    println!("{:<28} sub/file.txt", "  it holds");
    let tree_path = tree.path().to_path_buf();
    tree.cleanup()?;
    println!("{:<28} {}", "  after cleanup()", exists(&tree_path));
    assert_eq!(exists(&tree_path), "gone");
    let kept = tempkit::TemporaryDirectory::new()?.keep();
    show("TemporaryDirectory kept", &kept);
    std::fs::remove_dir(&kept)?;
    println!("{:<28} {}", "  after remove_dir", exists(&kept));
    assert_eq!(exists(&kept), "gone");

    #[allow(deprecated)]
    let name = tempkit::mktemp()?;
    show("mktemp() names (unsafe)", &name);
    println!("{:<28} {}", "  nothing was created", exists(&name));
    assert_eq!(exists(&name), "gone");
    spooled_tour()?;
    Ok(())
}

/// SpooledTemporaryFile: memory while small, an unnamed file on disk once it grows.
fn spooled_tour() -> io::Result<()> {
    use std::io::{Read, Seek, SeekFrom};

    println!();
    let dir = tempkit::Builder::new().prefix("tour-spool-").mkdtemp()?;
    let mut spooled = tempkit::Builder::new().dir(&dir).spooled_temporary_file(16);
    spooled.write_all(b"small")?;
    let state = |f: &tempkit::SpooledTemporaryFile| {
        let place = if f.is_rolled_over() {
            "on disk"
        } else {
            "in memory"
        };
        format!("{} bytes, {}", f.len(), place)
    };
    println!("{:<28} {}", "SpooledTemporaryFile(16)", state(&spooled));
    assert!(!spooled.is_rolled_over());
    spooled.write_all(b", then it grew past 16")?;
    println!("{:<28} {}", "  after another write", state(&spooled));
    assert!(spooled.is_rolled_over());
    let entries = std::fs::read_dir(&dir)?.count();
    assert_eq!(entries, 0);
    println!(
        "{:<28} {} (the disk file has no name)",
        "  entries in its dir", entries
    );
    spooled.seek(SeekFrom::Start(0))?;
    let mut text = String::new();
    spooled.read_to_string(&mut text)?;
    println!("{:<28} {:?}", "  it holds", text);
    assert_eq!(text, "small, then it grew past 16");
    drop(spooled);
    std::fs::remove_dir(&dir)?;
    println!("{:<28} {}", "  its dir after remove_dir", exists(&dir));
    Ok(())
}
