//! The public names and signatures of SPEC sections 1 and 6, which code outside this repository
//! compiles against. Each line coerces an item to the exact signature the contract gives, so
//! renaming a name or changing a signature fails to compile here.
#![allow(deprecated)]

use std::fs::File;
use std::io::{self, Read, Seek, Write};
use std::path::{Path, PathBuf};

use tempkit::{
    Builder, NamedTemporaryFile, PersistError, SpooledTemporaryFile, TemporaryDirectory,
    TemporaryFile,
};

fn rw_seek<T: Read + Write + Seek>() {}

#[test]
fn the_contract_compiles_and_its_constants_hold() {
    let _: u32 = tempkit::TMP_MAX;
    assert_eq!(tempkit::TMP_MAX, 20);
    let _: fn() -> io::Result<PathBuf> = tempkit::gettempdir;
    let _: fn() -> &'static str = tempkit::gettempprefix;
    assert_eq!(tempkit::gettempprefix(), "tmp");
    let _: fn(Option<PathBuf>) = tempkit::set_tempdir;
    let _: fn() -> io::Result<(File, PathBuf)> = tempkit::mkstemp;
    let _: fn() -> io::Result<PathBuf> = tempkit::mkdtemp;
    let _: fn() -> io::Result<PathBuf> = tempkit::mktemp;

    let _: fn() -> Builder = Builder::new;
    let _: Builder = Builder::default();
    let _: for<'a> fn(&'a mut Builder, std::ffi::OsString) -> &'a mut Builder =
        Builder::prefix::<std::ffi::OsString>;
    let _: for<'a> fn(&'a mut Builder, String) -> &'a mut Builder = Builder::suffix::<String>;
    let _: for<'a> fn(&'a mut Builder, PathBuf) -> &'a mut Builder = Builder::dir::<PathBuf>;
    let _: fn(&mut Builder, usize) -> &mut Builder = Builder::random_len;
    let _: fn(&mut Builder, bool) -> &mut Builder = Builder::delete;
    let _: fn(&mut Builder, bool) -> &mut Builder = Builder::delete_on_close;
    let _: fn(&mut Builder, bool) -> &mut Builder = Builder::ignore_cleanup_errors;
    // compat/ (the `tempfile` crate's API) builds on these two.
    #[cfg(unix)]
    let _: fn(&mut Builder, u32) -> &mut Builder = Builder::dir_mode;
    let _: fn() -> usize = tempkit::fork_generation;
    let _: fn(&Builder) -> io::Result<(File, PathBuf)> = Builder::mkstemp;
    let _: fn(&Builder) -> io::Result<PathBuf> = Builder::mkdtemp;
    let _: fn(&Builder) -> io::Result<TemporaryFile> = Builder::temporary_file;
    let _: fn(&Builder) -> io::Result<NamedTemporaryFile> = Builder::named_temporary_file;
    let _: fn(&Builder) -> io::Result<TemporaryDirectory> = Builder::temporary_directory;
    let _: fn(&Builder, usize) -> SpooledTemporaryFile = Builder::spooled_temporary_file;

    let _: fn() -> io::Result<TemporaryFile> = TemporaryFile::new;
    rw_seek::<TemporaryFile>();
    rw_seek::<&TemporaryFile>();
    let _: fn(&TemporaryFile) -> &File = TemporaryFile::as_file;
    let _: fn(&mut TemporaryFile) -> &mut File = TemporaryFile::as_file_mut;
    let _: fn(TemporaryFile) -> File = TemporaryFile::into_file;

    let _: fn() -> io::Result<NamedTemporaryFile> = NamedTemporaryFile::new;
    rw_seek::<NamedTemporaryFile>();
    let _: fn(&NamedTemporaryFile) -> &Path = NamedTemporaryFile::path;
    let _: fn(&mut NamedTemporaryFile) -> io::Result<()> = NamedTemporaryFile::close;
    let _: fn(&NamedTemporaryFile) -> io::Result<File> = NamedTemporaryFile::reopen;
    let _: fn(NamedTemporaryFile, PathBuf) -> Result<File, PersistError> =
        NamedTemporaryFile::persist::<PathBuf>;
    let _: fn(NamedTemporaryFile, PathBuf) -> Result<File, PersistError> =
        NamedTemporaryFile::persist_noclobber::<PathBuf>;
    let _: fn(NamedTemporaryFile) -> io::Result<(File, PathBuf)> = NamedTemporaryFile::keep;
    let _ = |e: PersistError| -> (io::Error, NamedTemporaryFile) { (e.error, e.file) };

    let _: fn() -> io::Result<TemporaryDirectory> = TemporaryDirectory::new;
    let _: fn(&TemporaryDirectory) -> &Path = TemporaryDirectory::path;
    let _: fn(&mut TemporaryDirectory) -> io::Result<()> = TemporaryDirectory::cleanup;
    let _: fn(TemporaryDirectory) -> PathBuf = TemporaryDirectory::keep;
    let dir = TemporaryDirectory::new().unwrap();
    // By reference only (SPEC section 1): `current_dir(dir)` by value does not compile (the
    // compile_fail doctest on `TemporaryDirectory`).
    let _: &Path = (&dir).as_ref();
    std::process::Command::new("true").current_dir(&dir);
    let file = NamedTemporaryFile::new().unwrap();
    let _: &Path = (&file).as_ref();

    let _: fn(usize) -> SpooledTemporaryFile = SpooledTemporaryFile::new;
    rw_seek::<SpooledTemporaryFile>();
    let _: fn(&SpooledTemporaryFile) -> bool = SpooledTemporaryFile::is_rolled_over;
    let _: fn(&mut SpooledTemporaryFile) -> io::Result<()> = SpooledTemporaryFile::rollover;
    let _: fn(&mut SpooledTemporaryFile, u64) -> io::Result<()> = SpooledTemporaryFile::set_len;
    let _: fn(&SpooledTemporaryFile) -> u64 = SpooledTemporaryFile::len;
    let _: fn(SpooledTemporaryFile) -> io::Result<File> = SpooledTemporaryFile::into_file;
}

/// SPEC section 7: keeping what failed and reporting what could not be removed.
#[test]
fn the_life_cycle_contract_compiles() {
    let _: fn(&mut Builder, bool) -> &mut Builder = Builder::keep_on_panic;
    type Hook = Box<dyn Fn(&tempkit::CleanupError) + Send + Sync>;
    let _: fn(Hook) = tempkit::set_cleanup_error_hook;
    let _: fn(&tempkit::CleanupError) -> &Path = tempkit::CleanupError::path;
    let _: fn(&tempkit::CleanupError) -> &io::Error = tempkit::CleanupError::error;
    fn debug_display_error<T: std::fmt::Debug + std::fmt::Display + std::error::Error>() {}
    debug_display_error::<tempkit::CleanupError>();
}

fn debug_error<T: std::fmt::Debug + std::error::Error + Send + Sync>() {}

/// SPEC section 6: publishing.
#[test]
fn the_publishing_contract_compiles() {
    use tempkit::{AtomicFile, CommitError, PersistDirError};
    #[cfg(unix)]
    fn handles<T: std::os::unix::io::AsFd + std::os::unix::io::AsRawFd + std::fmt::Debug>() {}
    #[cfg(not(unix))]
    fn handles<T: std::fmt::Debug>() {}

    let _: fn(PathBuf) -> io::Result<AtomicFile> = AtomicFile::create::<PathBuf>;
    let _: fn(&AtomicFile) -> &Path = AtomicFile::path;
    let _: fn(AtomicFile) -> Result<(), CommitError> = AtomicFile::commit;
    let _: fn(AtomicFile) -> Result<(), CommitError> = AtomicFile::commit_noclobber;
    let _: fn(AtomicFile) -> io::Result<()> = AtomicFile::discard;
    rw_seek::<AtomicFile>();
    rw_seek::<&AtomicFile>();
    handles::<AtomicFile>();
    debug_error::<CommitError>();
    let _: fn(&CommitError) -> io::ErrorKind = CommitError::kind;
    let _: fn(&CommitError) -> bool = CommitError::committed;
    let _: fn(CommitError) -> Option<AtomicFile> = CommitError::into_file;
    let _: fn(PathBuf, Vec<u8>) -> io::Result<()> = tempkit::write_atomic::<PathBuf, Vec<u8>>;
    let _: fn(NamedTemporaryFile, PathBuf) -> Result<File, PersistError> =
        NamedTemporaryFile::persist_durable::<PathBuf>;
    let _: fn(TemporaryDirectory, PathBuf) -> Result<PathBuf, PersistDirError> =
        TemporaryDirectory::persist_noclobber::<PathBuf>;
    let _: fn(TemporaryDirectory, PathBuf) -> Result<PathBuf, PersistDirError> =
        TemporaryDirectory::replace::<PathBuf>;
    let _: fn(TemporaryDirectory, PathBuf) -> Result<TemporaryDirectory, PersistDirError> =
        TemporaryDirectory::exchange::<PathBuf>;
    let _ = |e: PersistDirError| -> (io::Error, TemporaryDirectory) { (e.error, e.dir) };
    debug_error::<PersistDirError>();
}
