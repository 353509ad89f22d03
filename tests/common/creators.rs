//! Every creator of tempkit as one row of a table, so that each suite runs the same checks on
//! every kind of temporary object.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tempkit::Builder;

/// A temporary object of any kind, as a test holds it.
pub enum Held {
    /// From `mkstemp`: the caller removes it.
    Mkstemp(File, PathBuf),
    /// From `mkdtemp`: the caller removes it.
    Mkdtemp(PathBuf),
    /// A `TemporaryFile`: no name.
    Unnamed(tempkit::TemporaryFile),
    /// A `NamedTemporaryFile`.
    Named(tempkit::NamedTemporaryFile),
    /// A `TemporaryDirectory`.
    Directory(tempkit::TemporaryDirectory),
    /// A `SpooledTemporaryFile` that has rolled over to disk.
    Spooled(tempkit::SpooledTemporaryFile),
}

impl Held {
    /// The object's name in its directory, if it has one.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Held::Mkstemp(_, p) | Held::Mkdtemp(p) => Some(p),
            Held::Named(f) => Some(f.path()),
            Held::Directory(d) => Some(d.path()),
            Held::Unnamed(_) | Held::Spooled(_) => None,
        }
    }

    /// The permission bits of the object itself (by `fstat` when it has no name).
    pub fn mode(mut self) -> io::Result<(u32, Held)> {
        let meta = match &mut self {
            Held::Mkstemp(f, _) => f.metadata()?,
            Held::Mkdtemp(p) => p.symlink_metadata()?,
            Held::Unnamed(f) => f.as_file().metadata()?,
            Held::Named(f) => f.as_file()?.metadata()?,
            Held::Directory(d) => d.path().symlink_metadata()?,
            Held::Spooled(s) => s.as_file()?.metadata()?,
        };
        Ok((meta.mode() & 0o7777, self))
    }

    /// Ends the object: removes what the caller must remove (`mkstemp`, `mkdtemp`) and drops
    /// the rest, which remove themselves.
    pub fn finish(self) -> io::Result<()> {
        match self {
            Held::Mkstemp(f, p) => {
                drop(f);
                std::fs::remove_file(p)
            }
            Held::Mkdtemp(p) => std::fs::remove_dir(p),
            Held::Named(mut f) => f.close(),
            Held::Directory(mut d) => d.cleanup(),
            Held::Unnamed(f) => {
                drop(f);
                Ok(())
            }
            Held::Spooled(s) => {
                drop(s);
                Ok(())
            }
        }
    }
}

/// One way of creating a temporary object.
#[derive(Clone, Copy)]
pub struct Creator {
    /// The row's name, printed by failing assertions.
    pub name: &'static str,
    /// Creates one object with the builder's options.
    pub create: fn(&Builder) -> io::Result<Held>,
    /// Whether the object has a name in its directory while it is held.
    pub named: bool,
    /// Whether the object is a directory.
    pub is_dir: bool,
    /// Whether the object removes itself when dropped (or, for unnamed objects, never had a
    /// name to leave behind).
    pub self_cleaning: bool,
    /// Whether the object's named creation path is only taken when `dir` is a symlink to the
    /// directory (`TemporaryFile` and a spooled rollover prefer an unnamed `O_TMPFILE`).
    pub named_only_via_symlinked_dir: bool,
}

fn mkstemp(b: &Builder) -> io::Result<Held> {
    b.mkstemp().map(|(f, p)| Held::Mkstemp(f, p))
}

fn mkdtemp(b: &Builder) -> io::Result<Held> {
    b.mkdtemp().map(Held::Mkdtemp)
}

fn temporary_file(b: &Builder) -> io::Result<Held> {
    b.temporary_file().map(Held::Unnamed)
}

fn named_temporary_file(b: &Builder) -> io::Result<Held> {
    b.named_temporary_file().map(Held::Named)
}

fn temporary_directory(b: &Builder) -> io::Result<Held> {
    b.temporary_directory().map(Held::Directory)
}

/// A spooled file made to roll over by writing past its `max_size`.
fn spooled_rollover(b: &Builder) -> io::Result<Held> {
    let mut s = b.spooled_temporary_file(4);
    s.write_all(b"past max_size")?;
    assert!(s.is_rolled_over());
    Ok(Held::Spooled(s))
}

/// Every creator, one row each.
pub fn all() -> Vec<Creator> {
    vec![
        Creator {
            name: "mkstemp",
            create: mkstemp,
            named: true,
            is_dir: false,
            self_cleaning: false,
            named_only_via_symlinked_dir: false,
        },
        Creator {
            name: "mkdtemp",
            create: mkdtemp,
            named: true,
            is_dir: true,
            self_cleaning: false,
            named_only_via_symlinked_dir: false,
        },
        Creator {
            name: "temporary_file",
            create: temporary_file,
            named: false,
            is_dir: false,
            self_cleaning: true,
            named_only_via_symlinked_dir: true,
        },
        Creator {
            name: "named_temporary_file",
            create: named_temporary_file,
            named: true,
            is_dir: false,
            self_cleaning: true,
            named_only_via_symlinked_dir: false,
        },
        Creator {
            name: "temporary_directory",
            create: temporary_directory,
            named: true,
            is_dir: true,
            self_cleaning: true,
            named_only_via_symlinked_dir: false,
        },
        Creator {
            name: "spooled_temporary_file rollover",
            create: spooled_rollover,
            named: false,
            is_dir: false,
            self_cleaning: true,
            named_only_via_symlinked_dir: true,
        },
    ]
}

/// Writes `data` to a file object, if the object is a file.
#[allow(dead_code)]
pub fn write_to(held: &mut Held, data: &[u8]) -> io::Result<()> {
    match held {
        Held::Mkstemp(f, _) => f.write_all(data),
        Held::Unnamed(f) => f.write_all(data),
        Held::Named(f) => f.write_all(data),
        Held::Spooled(s) => s.write_all(data),
        Held::Mkdtemp(_) | Held::Directory(_) => Ok(()),
    }
}
