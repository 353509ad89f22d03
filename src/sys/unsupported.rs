//! Locks, owner tags and process identity: not available through `std`. Protection and tags
//! are documented no-ops here (creation succeeds, unprotected and untagged), and reaping finds
//! no tags.
//!
//! Shared by every platform that is not Unix (`windows.rs` and `fallback.rs`).

use std::fs::File;
use std::io;
use std::marker::PhantomData;
use std::path::Path;

use super::{DirHandle, Name, ProcStat, Stat};

/// Stands for a borrowed descriptor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fd<'a>(PhantomData<&'a ()>);

/// Never made: [`open_dir_handle`] and [`open_entry`] fail.
#[derive(Debug)]
pub(crate) struct Handle(());

impl Handle {
    pub(crate) fn fd(&self) -> Fd<'_> {
        Fd(PhantomData)
    }
}

pub(crate) fn file_fd(_file: &File) -> Fd<'_> {
    Fd(PhantomData)
}

impl DirHandle {
    pub(crate) fn fd(&self) -> Fd<'_> {
        Fd(PhantomData)
    }
}

fn unsupported() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "locks and owner tags are not implemented on this platform",
    )
}

pub(crate) fn open_dir_handle(_path: &Path) -> io::Result<Handle> {
    Err(unsupported())
}

pub(crate) fn open_entry(_dir: &DirHandle, _name: &Name, _is_dir: bool) -> io::Result<Handle> {
    Err(unsupported())
}

pub(crate) fn lock_shared(_fd: Fd<'_>) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn try_lock_exclusive(_fd: Fd<'_>) -> io::Result<bool> {
    Err(unsupported())
}

pub(crate) fn stat_fd(_fd: Fd<'_>) -> io::Result<Stat> {
    Err(unsupported())
}

pub(crate) fn stat_at(_dir: &DirHandle, _name: &Name) -> io::Result<Stat> {
    Err(unsupported())
}

pub(crate) fn stat_path(_path: &Path) -> io::Result<Stat> {
    Err(unsupported())
}

pub(crate) fn euid() -> u32 {
    0
}

pub(crate) fn set_tag(_fd: Fd<'_>, _value: &[u8]) -> io::Result<()> {
    Err(unsupported())
}

pub(crate) fn get_tag_path(_path: &Path) -> io::Result<Option<Vec<u8>>> {
    Ok(None)
}

pub(crate) fn get_tag(_fd: Fd<'_>) -> io::Result<Option<Vec<u8>>> {
    Ok(None)
}

pub(crate) fn proc_shows_our_pids() -> bool {
    false
}

pub(crate) fn other_thread_alive(_pid: u32) -> io::Result<bool> {
    Err(unsupported())
}

pub(crate) fn remove_tag(_fd: Fd<'_>) -> io::Result<()> {
    Ok(())
}

pub(crate) fn boot_id() -> io::Result<String> {
    Err(unsupported())
}

pub(crate) fn machine_id() -> io::Result<String> {
    Err(unsupported())
}

pub(crate) fn pid_namespace() -> io::Result<u64> {
    Err(unsupported())
}

pub(crate) fn process_stat(_pid: &str) -> io::Result<Option<ProcStat>> {
    Err(unsupported())
}
