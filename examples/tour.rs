//! A guided tour: creates every kind of temporary object tempkit has, shows it, and shows that
//! it is gone once cleaned up.
//!
//! Run it with `cargo run --example tour`.

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

    let dir = tempkit::Builder::new().prefix("tour-").mkdtemp()?;
    show("mkdtemp() created", &dir);
    std::fs::remove_dir(&dir)?;
    println!("{:<28} {}", "  after remove_dir", exists(&dir));

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
    let kept = tempkit::TemporaryDirectory::new()?.keep();
    show("TemporaryDirectory kept", &kept);
    std::fs::remove_dir(&kept)?;
    println!("{:<28} {}", "  after remove_dir", exists(&kept));

    #[allow(deprecated)]
    let name = tempkit::mktemp()?;
    show("mktemp() names (unsafe)", &name);
    println!("{:<28} {}", "  nothing was created", exists(&name));
    Ok(())
}
