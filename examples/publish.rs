//! Publishing: replace a file atomically and durably, then publish and swap a directory.
//!
//! Run with `cargo run --example publish`.

use std::io::Write;

fn main() -> std::io::Result<()> {
    let work = tempkit::TemporaryDirectory::new()?;

    // A whole file in one call: after it returns, a power cut keeps the new content.
    let config = work.path().join("config.toml");
    tempkit::write_atomic(&config, "version = 1\n")?;

    // Streaming a new version: nothing changes at `config` until commit.
    let mut next = tempkit::AtomicFile::create(&config)?;
    writeln!(next, "version = 2")?;
    next.commit()?;
    println!("{}", std::fs::read_to_string(&config)?.trim());

    // A directory staged beside its destination, published without replacing anything...
    let site = work.path().join("site");
    let staged = tempkit::Builder::new()
        .dir(work.path())
        .temporary_directory()?;
    std::fs::write(staged.path().join("index.html"), "<h1>v1</h1>")?;
    staged.persist_noclobber(&site)?;

    // ...then swapped for a new version in one atomic step; the old tree is removed.
    let staged = tempkit::Builder::new()
        .dir(work.path())
        .temporary_directory()?;
    std::fs::write(staged.path().join("index.html"), "<h1>v2</h1>")?;
    staged.replace(&site)?;
    println!("{}", std::fs::read_to_string(site.join("index.html"))?);
    Ok(())
}
