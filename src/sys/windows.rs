//! Windows implementation of the platform seam, through `std` where it suffices and
//! `windows-sys` for the rest.
//!
//! - The file behind a `TemporaryFile` is opened delete-on-close with no sharing: no other
//!   process can open it, and the system deletes it when the last handle closes, also when the
//!   process is killed. It is never deleted at once (the `tempfile` crate's #339).
//! - Named files share read, write and delete, so other programs can open them by name, and
//!   are deleted by name.
//! - Directories get CPython's owner-only security descriptor (CVE-2024-4030).
//! - Removal opens every entry itself with `FILE_FLAG_OPEN_REPARSE_POINT`: a symlink or
//!   junction is deleted as a link and never entered; a read-only attribute is cleared on the
//!   entry through its handle; the deletion goes through the same handle, so what is deleted is
//!   what was inspected.
//!
//! Long paths (over 260 characters) are not given the `\\?\` prefix: they fail as they do in
//! `std` 1.63.

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, RawHandle};
use std::path::{Path, PathBuf};

use windows_sys::Win32::Foundation::{LocalFree, INVALID_HANDLE_VALUE};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Storage::FileSystem::{
    CreateDirectoryW, GetFileInformationByHandle, MoveFileExW, ReOpenFile,
    BY_HANDLE_FILE_INFORMATION, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_READONLY,
    FILE_ATTRIBUTE_REPARSE_POINT, FILE_ATTRIBUTE_TEMPORARY, FILE_FLAG_BACKUP_SEMANTICS,
    FILE_FLAG_DELETE_ON_CLOSE, FILE_FLAG_OPEN_REPARSE_POINT, FILE_GENERIC_READ, FILE_GENERIC_WRITE,
    FILE_LIST_DIRECTORY, FILE_READ_ATTRIBUTES, FILE_SHARE_DELETE, FILE_SHARE_READ,
    FILE_SHARE_WRITE, FILE_WRITE_ATTRIBUTES, FILE_WRITE_DATA, SYNCHRONIZE,
};

use super::At;

/// `ERROR_ACCESS_DENIED`.
const ACCESS_DENIED: i32 = 5;

/// Every sharing mode: others may read, write, rename and delete.
const SHARE_ALL: u32 = FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE;

/// A new file, read-write, `CREATE_NEW` (which fails on any existing name, a symlink
/// included), sharing read, write and delete so that other programs can open it by name and
/// it can be renamed and deleted while open. std's handles are never inheritable.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .share_mode(SHARE_ALL)
        .open(path)
}

/// The file behind a `TemporaryFile`: `CREATE_NEW`, no sharing (no other open succeeds, by
/// name or otherwise), `FILE_FLAG_DELETE_ON_CLOSE` (the system deletes it when the last handle
/// closes, also if the process is killed) and `FILE_ATTRIBUTE_TEMPORARY` (kept in the cache).
/// The name is never removed by us (`false`): deleting at once made new files fail at scale
/// (the `tempfile` crate's #339).
pub(crate) fn create_temporary_file(path: &Path) -> io::Result<(File, bool)> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .share_mode(0)
        .custom_flags(FILE_FLAG_DELETE_ON_CLOSE)
        .attributes(FILE_ATTRIBUTE_TEMPORARY)
        .open(path)
        .map(|file| (file, false))
}

/// `path` as a NUL-terminated wide string; `InvalidInput` if it holds a NUL.
fn to_wide(path: &OsStr) -> io::Result<Vec<u16>> {
    let mut wide: Vec<u16> = path.encode_wide().collect();
    if wide.contains(&0) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "path contains a NUL character",
        ));
    }
    wide.push(0);
    Ok(wide)
}

/// CPython's owner-only descriptor (3.12.4+, CVE-2024-4030): full control for SYSTEM, the
/// Administrators and the owner, inherited by everything inside, nothing from the parent.
const OWNER_ONLY_SDDL: &str = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)";

/// A security descriptor that `LocalFree` releases on drop.
struct SecurityDescriptor(*mut std::ffi::c_void);

impl SecurityDescriptor {
    fn owner_only() -> io::Result<SecurityDescriptor> {
        let sddl: Vec<u16> = OWNER_ONLY_SDDL.encode_utf16().chain(Some(0)).collect();
        let mut sd: *mut std::ffi::c_void = std::ptr::null_mut();
        // SAFETY: `sddl` is a NUL-terminated wide string that outlives the call; `sd` is a valid
        // place for the returned pointer, and the size pointer may be null.
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut sd as *mut _ as *mut _,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 || sd.is_null() {
            return Err(io::Error::last_os_error());
        }
        Ok(SecurityDescriptor(sd))
    }
}

impl Drop for SecurityDescriptor {
    fn drop(&mut self) {
        // SAFETY: the pointer was allocated by ConvertStringSecurityDescriptorToSecurity-
        // DescriptorW, which documents LocalFree as its release, and is freed only here.
        unsafe {
            LocalFree(self.0 as _);
        }
    }
}

/// `CreateDirectoryW` with the owner-only descriptor (see [`OWNER_ONLY_SDDL`]), as CPython's
/// `os.mkdir(path, 0o700)`. It fails on any existing name (`AlreadyExists`).
pub(crate) fn create_dir(path: &Path) -> io::Result<()> {
    let wide = to_wide(path.as_os_str())?;
    let sd = SecurityDescriptor::owner_only()?;
    let attributes = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd.0 as _,
        bInheritHandle: 0,
    };
    // SAFETY: `wide` is NUL-terminated, and `attributes` and the descriptor it points to live
    // until the call returns.
    if unsafe { CreateDirectoryW(wide.as_ptr(), &attributes) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Windows has no `fork`.
pub(crate) fn fork_generation() -> usize {
    0
}

/// std's hasher keys come from the system's random source.
pub(crate) fn fill_random(buf: &mut [u8]) {
    super::fill_random_from_std(buf)
}

/// CPython's fixed Windows candidates, after the environment variables.
pub(crate) fn platform_temp_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(profile) = std::env::var_os("USERPROFILE") {
        dirs.push(PathBuf::from(profile).join(r"AppData\Local\Temp"));
    }
    if let Some(root) = std::env::var_os("SYSTEMROOT") {
        dirs.push(PathBuf::from(root).join("Temp"));
    }
    for d in [r"c:\temp", r"c:\tmp", r"\temp", r"\tmp"] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

/// Windows cannot make a file without a name: `TemporaryFile` uses [`create_temporary_file`].
pub(crate) fn create_unnamed_file(dir: &Path) -> io::Result<Option<File>> {
    let _ = dir;
    Ok(None)
}

/// Whether a creation that failed with `err` should try the next name (CPython 3.14.4,
/// gh-66305): a taken name, or access denied while `dir` is a directory and attempts remain
/// (Windows reports "a directory has that name" and "delete pending" as access denied, like
/// "no permission"; hence the limit).
pub(crate) fn is_name_taken(err: &io::Error, dir: &Path, last_attempt: bool) -> bool {
    err.kind() == io::ErrorKind::AlreadyExists
        || (err.raw_os_error() == Some(ACCESS_DENIED) && !last_attempt && dir.is_dir())
}

/// What identifies a file: the volume's serial number and the file's index on it. (NTFS's
/// index carries a sequence number, so a new file never gets a deleted one's; wine's is the
/// Unix inode number, which may be reused at once. The creation time cannot help there: wine
/// reports the inode's change time, which every write moves.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    volume: u32,
    index: u64,
}

/// `GetFileInformationByHandle` on `handle`.
fn handle_info(handle: RawHandle) -> io::Result<BY_HANDLE_FILE_INFORMATION> {
    // SAFETY: all-zero bytes are a valid BY_HANDLE_FILE_INFORMATION (plain integers).
    let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
    // SAFETY: `handle` is an open handle borrowed for the call; `info` is a valid out pointer.
    if unsafe { GetFileInformationByHandle(handle as _, &mut info) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(info)
}

/// The identity of an open file.
pub(crate) fn file_id(file: &File) -> io::Result<FileId> {
    let info = handle_info(file.as_raw_handle())?;
    Ok(FileId {
        volume: info.dwVolumeSerialNumber,
        index: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
    })
}

/// The identity of what `path` names, not following a symlink or junction.
pub(crate) fn path_id(path: &Path) -> io::Result<FileId> {
    file_id(&open_entry(path, 0)?)
}

/// Opens an existing file read-write (sharing everything); a symlink or junction at `path`
/// is opened as itself, never followed, so an identity check against it fails.
pub(crate) fn open_existing(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .share_mode(SHARE_ALL)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// A second handle to the open file, with its own position, through `ReOpenFile`: on Windows
/// no path is involved, so it is this file whatever happened to the name. Wine looks the name
/// up again: there a handle to another file is refused (identity check).
pub(crate) fn reopen_handle(file: &File) -> io::Result<Option<File>> {
    // SAFETY: the handle is open (borrowed from `file`) for the duration of the call.
    let handle = unsafe {
        ReOpenFile(
            file.as_raw_handle() as _,
            FILE_GENERIC_READ | FILE_GENERIC_WRITE,
            SHARE_ALL,
            0,
        )
    };
    if handle as RawHandle == INVALID_HANDLE_VALUE as RawHandle {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: ReOpenFile returned a new handle that nothing else owns.
    let again = unsafe { File::from_raw_handle(handle as RawHandle) };
    // Windows reopens the very file; wine resolves the name again, which may now be another.
    if file_id(&again)? != file_id(file)? {
        return Err(io::Error::new(
            io::ErrorKind::Other,
            "the name now refers to another file",
        ));
    }
    Ok(Some(again))
}

/// `MoveFileExW(from, to, flags)`.
fn move_file(from: &Path, to: &Path, flags: u32) -> io::Result<()> {
    let (from, to) = (to_wide(from.as_os_str())?, to_wide(to.as_os_str())?);
    // SAFETY: both strings are NUL-terminated and live until the call returns.
    if unsafe { MoveFileExW(from.as_ptr(), to.as_ptr(), flags) } == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Renames `from` to `to` unless `to` exists: `MoveFileExW` without
/// `MOVEFILE_REPLACE_EXISTING`, which refuses atomically (`ERROR_ALREADY_EXISTS`).
pub(crate) fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    move_file(from, to, 0)
}

/// As [`rename_no_replace`], for entries named either way.
pub(crate) fn rename_noclobber(from: At<'_>, to: At<'_>) -> io::Result<()> {
    rename_no_replace(&path_of(&from), &path_of(&to))
}

pub(crate) use super::publish_by_path::*;

/// What `FlushFileBuffers` needs of a file's handle: write access to its data.
const FLUSH_ACCESS: u32 = FILE_WRITE_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE;

/// What reading and changing a file's attributes needs, and no more.
const ATTRIBUTES_ACCESS: u32 = FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE;

/// A regular file: neither a directory nor a reparse point (symlink, junction).
fn is_regular_file(attributes: u32) -> bool {
    attributes & (FILE_ATTRIBUTE_DIRECTORY | FILE_ATTRIBUTE_REPARSE_POINT) == 0
}

/// Flushes the entry `name` of `dir` (`FlushFileBuffers`) if it is a regular file, through a
/// handle to the entry itself: a symlink or junction there (also one swapped in after the
/// listing) is opened as the link, seen through that handle and left alone, never followed.
/// One open, `GetFileInformationByHandle` and the flush.
///
/// A read-only file refuses the write access that the flush needs (`ERROR_ACCESS_DENIED`):
/// see [`sync_read_only_file`].
pub(crate) fn sync_file_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
    let path = dir.path().join(name);
    match open_entry(&path, FLUSH_ACCESS) {
        Ok(entry) => {
            if is_regular_file(handle_info(entry.as_raw_handle())?.dwFileAttributes) {
                entry.sync_all()?;
            }
            Ok(())
        }
        Err(e) if e.raw_os_error() == Some(ACCESS_DENIED) => sync_read_only_file(&path, e),
        Err(e) => Err(e),
    }
}

/// Flushes the read-only file at `path`, which refused a writable handle with `denied`: its
/// attribute is cleared through a handle to the entry itself that holds only
/// `FILE_WRITE_ATTRIBUTES` (which a read-only file grants), the file is flushed through a
/// second handle that must be the same file (volume serial, file index), and the attribute is
/// restored through the first handle whatever the flush gave. A reparse point or directory
/// there is left alone; a regular file without the attribute was refused for another reason
/// (its ACL): `denied` is returned. Four calls more than a writable file costs: an open,
/// `GetFileInformationByHandle` and two attribute changes. If the process dies between the
/// two changes, the file keeps no read-only attribute, in a tree that was not published (the
/// rename comes after the sync).
fn sync_read_only_file(path: &Path, denied: io::Error) -> io::Result<()> {
    let entry = match open_entry(path, ATTRIBUTES_ACCESS) {
        // Windows grants FILE_WRITE_ATTRIBUTES on a read-only file. Wine, run as a user, asks
        // the Unix file for write permission for it (refused), but sets attributes through any
        // handle; on Windows such a handle is refused the change (ACCESS_DENIED) as it should.
        Err(e) if e.raw_os_error() == Some(ACCESS_DENIED) => {
            open_entry(path, FILE_READ_ATTRIBUTES | SYNCHRONIZE)?
        }
        other => other?,
    };
    let attributes = handle_info(entry.as_raw_handle())?.dwFileAttributes;
    if !is_regular_file(attributes) {
        return Ok(());
    }
    if attributes & FILE_ATTRIBUTE_READONLY == 0 {
        return Err(denied);
    }
    set_attributes(&entry, attributes & !FILE_ATTRIBUTE_READONLY)?;
    let flushed = open_entry(path, FLUSH_ACCESS).and_then(|writable| {
        if file_id(&writable)? != file_id(&entry)? {
            return Err(io::Error::new(
                io::ErrorKind::Other,
                "the name now refers to another file",
            ));
        }
        writable.sync_all()
    });
    let restored = set_attributes(&entry, attributes);
    flushed.and(restored)
}

/// Removes a file (a link as a link) through its own handle, clearing its read-only attribute
/// first: a temporary file that took a read-only destination's attributes can be discarded.
pub(crate) fn unlink_at(at: At<'_>) -> io::Result<()> {
    remove_path(&path_of(&at))
}

/// The directory at `path`, following a symlink or junction (as `open` does on Unix).
pub(crate) fn open_dir_following(path: &Path, sync: bool) -> io::Result<DirHandle> {
    let _ = sync; // the handle serves every use alike
    let file = OpenOptions::new()
        .access_mode(FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE)
        .share_mode(SHARE_ALL)
        .custom_flags(FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)?;
    DirHandle::new(file, path)
}

/// Opens `path` itself (a symlink or junction as the link) with `access`, sharing everything.
fn open_entry(path: &Path, access: u32) -> io::Result<File> {
    OpenOptions::new()
        .access_mode(access)
        .share_mode(SHARE_ALL)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)
}

pub(crate) use super::by_path::{
    name_as_os_str, removal_threads_pay, EntryKind, Name, NameBuf, ReadBuf,
};
pub(crate) use removal::*;

/// The primitives of the removal in `remove.rs`. Every entry is opened itself with
/// `FILE_FLAG_OPEN_REPARSE_POINT|FILE_FLAG_BACKUP_SEMANTICS`, inspected through that handle and
/// deleted through it: a reparse point (symlink, junction) is never entered and is deleted as
/// a link.
mod removal {
    use std::fmt;
    use std::fs::{self, File};
    use std::io;
    use std::os::windows::fs::MetadataExt;
    use std::os::windows::io::AsRawHandle;
    use std::path::{Path, PathBuf};

    use windows_sys::Win32::Storage::FileSystem::{
        FileBasicInfo, FileDispositionInfo, FileDispositionInfoEx, SetFileInformationByHandle,
        DELETE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_READONLY,
        FILE_ATTRIBUTE_REPARSE_POINT, FILE_BASIC_INFO, FILE_DISPOSITION_FLAG_DELETE,
        FILE_DISPOSITION_FLAG_POSIX_SEMANTICS, FILE_DISPOSITION_INFO, FILE_DISPOSITION_INFO_EX,
        FILE_INFO_BY_HANDLE_CLASS, FILE_LIST_DIRECTORY, FILE_READ_ATTRIBUTES,
        FILE_WRITE_ATTRIBUTES, SYNCHRONIZE,
    };

    use super::super::by_path::{is_not_a_directory, not_a_directory, EntryKind, Name, ReadBuf};
    use super::{file_id, open_entry, FileId};

    /// An open directory and its path.
    #[derive(Debug)]
    pub(crate) struct DirHandle {
        file: File,
        path: PathBuf,
    }

    impl DirHandle {
        /// Wraps `file`, opened on `path`, if it is a directory.
        pub(crate) fn new(file: File, path: &Path) -> io::Result<DirHandle> {
            if file.metadata()?.file_attributes() & FILE_ATTRIBUTE_DIRECTORY == 0 {
                return Err(not_a_directory());
            }
            Ok(DirHandle {
                file,
                path: path.to_path_buf(),
            })
        }

        /// Its path, for the calls that only take paths.
        pub(crate) fn path(&self) -> &Path {
            &self.path
        }
    }

    /// A directory's identity: volume serial number and file index.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub(crate) struct DirId(FileId);

    /// "A directory where a non-directory was expected".
    #[derive(Debug)]
    struct IsADirectory;

    impl fmt::Display for IsADirectory {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("is a directory")
        }
    }

    impl std::error::Error for IsADirectory {}

    /// A directory, and not a reparse point (a directory symlink or a junction).
    fn is_real_dir(attributes: u32) -> bool {
        attributes & FILE_ATTRIBUTE_DIRECTORY != 0 && attributes & FILE_ATTRIBUTE_REPARSE_POINT == 0
    }

    /// The directory at `path`, refusing a reparse point or a non-directory.
    pub(crate) fn open_dir(path: &Path) -> io::Result<DirHandle> {
        let file = open_entry(
            path,
            FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
        )?;
        if !is_real_dir(file.metadata()?.file_attributes()) {
            return Err(not_a_directory());
        }
        Ok(DirHandle {
            file,
            path: path.to_path_buf(),
        })
    }

    pub(crate) fn open_subdir(dir: &DirHandle, name: &Name) -> io::Result<DirHandle> {
        open_dir(&dir.path.join(name))
    }

    /// The directory `dir` is in (the caller checks that it is the one it expects).
    pub(crate) fn open_parent(dir: &DirHandle) -> io::Result<DirHandle> {
        match dir.path.parent() {
            Some(parent) => open_dir(parent),
            None => Err(not_a_directory()),
        }
    }

    pub(crate) fn dir_id(dir: &DirHandle) -> io::Result<DirId> {
        file_id(&dir.file).map(DirId)
    }

    pub(crate) fn entry_kind(
        dir: &DirHandle,
        name: &Name,
    ) -> io::Result<(EntryKind, Option<DirId>)> {
        let path = dir.path.join(name);
        let entry = open_entry(&path, FILE_READ_ATTRIBUTES)?;
        if is_real_dir(entry.metadata()?.file_attributes()) {
            Ok((EntryKind::Dir, Some(DirId(file_id(&entry)?))))
        } else {
            Ok((EntryKind::NotDir, None))
        }
    }

    /// Calls `f` on every entry of `dir`, with its kind from the listing itself (a reparse
    /// point is never a directory here). A directory removed meanwhile lists as empty.
    pub(crate) fn read_entries(
        dir: &DirHandle,
        _buf: &mut ReadBuf,
        _rewind: bool,
        f: &mut dyn FnMut(&Name, EntryKind),
    ) -> io::Result<()> {
        let entries = match fs::read_dir(&dir.path) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        for entry in entries {
            let entry = entry?;
            // On Windows the listing carries the attributes: no system call per entry.
            let kind = if is_real_dir(entry.metadata()?.file_attributes()) {
                EntryKind::Dir
            } else {
                EntryKind::NotDir
            };
            f(&entry.file_name(), kind);
        }
        Ok(())
    }

    /// Removes the non-directory `name` (a symlink or junction as a link).
    pub(crate) fn remove_file_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        remove_entry(&dir.path.join(name), false)
    }

    /// Removes the empty directory `name`; a reparse point there is `NotADirectory`.
    pub(crate) fn remove_dir_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        remove_entry(&dir.path.join(name), true)
    }

    /// Removes the non-directory at `path` as [`remove_file_at`] does.
    pub(crate) fn remove_path(path: &Path) -> io::Result<()> {
        remove_entry(path, false)
    }

    /// Removes the empty directory at `path` (the root of a removal) the same way.
    pub(crate) fn remove_dir_path(path: &Path) -> io::Result<()> {
        remove_entry(path, true)
    }

    /// Opens the entry itself for deletion, checks what it is through the handle, clears its
    /// read-only attribute, and deletes it through the same handle. A file that someone holds
    /// open without sharing delete (as C's `fopen` does) fails the open with a sharing
    /// violation (32), which the caller reports naming the path.
    fn remove_entry(path: &Path, want_dir: bool) -> io::Result<()> {
        let entry = open_entry(path, DELETE | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES)?;
        let attributes = entry.metadata()?.file_attributes();
        let is_dir = is_real_dir(attributes);
        if is_dir && !want_dir {
            return Err(io::Error::new(io::ErrorKind::Other, IsADirectory));
        }
        if !is_dir && want_dir {
            return Err(not_a_directory());
        }
        if attributes & FILE_ATTRIBUTE_READONLY != 0 {
            set_attributes(&entry, attributes & !FILE_ATTRIBUTE_READONLY)?;
        }
        delete_by_handle(&entry)
    }

    /// Sets the attributes of the open entry (0 would mean "unchanged": NORMAL then).
    pub(super) fn set_attributes(entry: &File, attributes: u32) -> io::Result<()> {
        let info = FILE_BASIC_INFO {
            // Zero times mean "unchanged".
            CreationTime: 0,
            LastAccessTime: 0,
            LastWriteTime: 0,
            ChangeTime: 0,
            FileAttributes: if attributes == 0 {
                FILE_ATTRIBUTE_NORMAL
            } else {
                attributes
            },
        };
        // SAFETY: FileBasicInfo takes a FILE_BASIC_INFO.
        unsafe { set_info(entry, FileBasicInfo, &info) }
    }

    /// Deletes the entry the handle holds: POSIX semantics (the name goes at once, Windows 10
    /// 1607+), else the classic disposition (the name goes when the last handle closes), which
    /// is what older Windows and wine do.
    fn delete_by_handle(entry: &File) -> io::Result<()> {
        let posix = FILE_DISPOSITION_INFO_EX {
            Flags: FILE_DISPOSITION_FLAG_DELETE | FILE_DISPOSITION_FLAG_POSIX_SEMANTICS,
        };
        // SAFETY: FileDispositionInfoEx takes a FILE_DISPOSITION_INFO_EX.
        match unsafe { set_info(entry, FileDispositionInfoEx, &posix) } {
            // ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED, ERROR_INVALID_PARAMETER: not known
            // to this system or file system.
            Err(e) if matches!(e.raw_os_error(), Some(1 | 50 | 87)) => {}
            other => return other,
        }
        let classic = FILE_DISPOSITION_INFO {
            DeleteFile: true as _,
        };
        // SAFETY: FileDispositionInfo takes a FILE_DISPOSITION_INFO.
        unsafe { set_info(entry, FileDispositionInfo, &classic) }
    }

    /// `SetFileInformationByHandle(entry, class, info)`.
    ///
    /// # Safety
    /// `T` must be the structure that `class` names.
    unsafe fn set_info<T>(
        entry: &File,
        class: FILE_INFO_BY_HANDLE_CLASS,
        info: &T,
    ) -> io::Result<()> {
        // SAFETY: the handle is open (borrowed from `entry`); `info` points to a `T` of the
        // size given, which the caller guarantees is what `class` expects.
        let ok = SetFileInformationByHandle(
            entry.as_raw_handle() as _,
            class,
            info as *const T as *const _,
            std::mem::size_of::<T>() as u32,
        );
        if ok == 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }

    /// Clears the read-only attribute of the directory `path` through its own handle; a reparse
    /// point or non-directory is refused.
    fn clear_dir_readonly(path: &Path) -> io::Result<()> {
        let entry = open_entry(path, FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES)?;
        let attributes = entry.metadata()?.file_attributes();
        if !is_real_dir(attributes) {
            return Err(not_a_directory());
        }
        if attributes & FILE_ATTRIBUTE_READONLY != 0 {
            set_attributes(&entry, attributes & !FILE_ATTRIBUTE_READONLY)?;
        }
        Ok(())
    }

    pub(crate) fn make_dir_usable(dir: &DirHandle) -> io::Result<()> {
        clear_dir_readonly(&dir.path)
    }

    pub(crate) fn make_subdir_usable(dir: &DirHandle, name: &Name) -> io::Result<()> {
        clear_dir_readonly(&dir.path.join(name))
    }

    pub(crate) fn make_path_usable(path: &Path) -> io::Result<()> {
        clear_dir_readonly(path)
    }

    /// A reparse point or a non-directory where a directory was expected; also
    /// `ERROR_DIRECTORY` (267), which `RemoveDirectoryW` gives for a file.
    pub(crate) fn is_not_dir(err: &io::Error) -> bool {
        err.raw_os_error() == Some(267) || is_not_a_directory(err)
    }

    /// `ERROR_DIR_NOT_EMPTY` (145).
    pub(crate) fn is_not_empty(err: &io::Error) -> bool {
        err.raw_os_error() == Some(145)
    }

    pub(crate) fn is_a_dir(err: &io::Error) -> bool {
        err.get_ref()
            .map_or(false, |inner| inner.is::<IsADirectory>())
    }
}
