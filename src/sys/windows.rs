//! Windows implementation of the platform seam, through `std` where it suffices and
//! `windows-sys` for the rest (its `Wdk_*` features for `NtCreateFile`).
//!
//! - The file behind a `TemporaryFile` is opened delete-on-close with no sharing: no other
//!   process can open it, and the system deletes it when the last handle closes, also when the
//!   process is killed. It is never deleted at once (the `tempfile` crate's #339).
//! - Named files share read, write and delete, so other programs can open them by name, and
//!   are deleted by name.
//! - Directories get CPython's owner-only security descriptor (CVE-2024-4030).
//! - Removal opens every entry below the root relative to its parent directory's handle
//!   (`NtCreateFile` with a root directory, [`open_at`]) with `FILE_OPEN_REPARSE_POINT`, and
//!   lists directories through their handle: a symlink or junction is deleted as a link and
//!   never entered, also one swapped in during the walk; a read-only attribute is cleared on
//!   the entry through its handle; the deletion goes through the same handle, so what is
//!   deleted is what was inspected.
//! - A replacing rename onto a read-only file ([`replace_file`]) clears the attribute
//!   through a handle that keeps writers out, and puts it back if the rename fails.
//! - Long paths: every direct Win32 call takes its path from [`wide_path`], which gives a
//!   long one the `\\?\` prefix (`\\?\UNC\` for a share); std 1.63 does the same for its own
//!   calls. Below the root of a removal no path is used at all (opens relative to handles).

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, FromRawHandle, RawHandle};
use std::path::{Path, PathBuf};

use windows_sys::Wdk::Foundation::OBJECT_ATTRIBUTES;
use windows_sys::Wdk::Storage::FileSystem::NtCreateFile;
use windows_sys::Win32::Foundation::{
    LocalFree, RtlNtStatusToDosError, INVALID_HANDLE_VALUE, UNICODE_STRING,
};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::SECURITY_ATTRIBUTES;
use windows_sys::Win32::Storage::FileSystem::{
    CreateDirectoryW, GetFileInformationByHandle, GetFullPathNameW, MoveFileExW, ReOpenFile,
    SetFileInformationByHandle, BY_HANDLE_FILE_INFORMATION, DELETE, FILE_ATTRIBUTE_DIRECTORY,
    FILE_ATTRIBUTE_READONLY, FILE_ATTRIBUTE_REPARSE_POINT, FILE_ATTRIBUTE_TEMPORARY,
    FILE_FLAG_BACKUP_SEMANTICS, FILE_FLAG_DELETE_ON_CLOSE, FILE_FLAG_OPEN_REPARSE_POINT,
    FILE_GENERIC_READ, FILE_GENERIC_WRITE, FILE_LIST_DIRECTORY, FILE_READ_ATTRIBUTES,
    FILE_READ_DATA, FILE_SHARE_DELETE, FILE_SHARE_READ, FILE_SHARE_WRITE, FILE_WRITE_ATTRIBUTES,
    FILE_WRITE_DATA, SYNCHRONIZE,
};
use windows_sys::Win32::System::IO::IO_STATUS_BLOCK;

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

/// The longest path passed to a Win32 call as it is: `CreateDirectoryW` refuses more than
/// `MAX_PATH - 12` (248) characters without the `\\?\` prefix (the same limit as std's).
const SHORT_PATH: usize = 248;

/// `path` as a NUL-terminated wide string for a direct Win32 call (every one of them goes
/// through here): as it is when short, else made absolute (`GetFullPathNameW`, which also
/// resolves `.`, `..` and `/`, as the call itself would) and prefixed `\\?\` (a UNC path
/// `\\server\share\...` becomes `\\?\UNC\server\share\...`), which lifts the 260-character
/// limit. A path that already starts with `\\?\` or `\\.\` is left alone. `InvalidInput` if
/// it holds a NUL. No system call for a short path.
pub(crate) fn wide_path(path: &Path) -> io::Result<Vec<u16>> {
    let wide = to_wide(path.as_os_str())?;
    if wide.len() - 1 < SHORT_PATH || is_verbatim_or_device(&wide) {
        return Ok(wide);
    }
    Ok(verbatim_of_full(&full_path(&wide)?))
}

fn starts_with(wide: &[u16], prefix: &str) -> bool {
    let prefix: Vec<u16> = prefix.encode_utf16().collect();
    wide.starts_with(&prefix)
}

/// `\\?\...` or `\\.\...` (also `\??\...`, the NT form).
fn is_verbatim_or_device(wide: &[u16]) -> bool {
    starts_with(wide, r"\\?\") || starts_with(wide, r"\\.\") || starts_with(wide, r"\??\")
}

/// `GetFullPathNameW` of the NUL-terminated `wide`, NUL-terminated.
fn full_path(wide: &[u16]) -> io::Result<Vec<u16>> {
    let mut buf: Vec<u16> = vec![0; wide.len() + 512];
    loop {
        // SAFETY: `wide` is NUL-terminated; `buf` is writable for `buf.len()` units; the
        // file-part pointer may be null.
        let n = unsafe {
            GetFullPathNameW(
                wide.as_ptr(),
                buf.len() as u32,
                buf.as_mut_ptr(),
                std::ptr::null_mut(),
            )
        } as usize;
        if n == 0 {
            return Err(io::Error::last_os_error());
        }
        if n < buf.len() {
            buf.truncate(n);
            buf.push(0);
            return Ok(buf);
        }
        // Too small: `n` is the size needed, NUL included.
        buf.resize(n, 0);
    }
}

/// The verbatim form of a full (absolute, normalized) NUL-terminated path: `C:\x` becomes
/// `\\?\C:\x`, `\\server\share\x` becomes `\\?\UNC\server\share\x`; anything else (already
/// verbatim, a device) is returned as it is.
fn verbatim_of_full(full: &[u16]) -> Vec<u16> {
    if is_verbatim_or_device(full) {
        return full.to_vec();
    }
    let (prefix, rest): (&str, &[u16]) = if starts_with(full, r"\\") {
        (r"\\?\UNC\", &full[2..])
    } else if full.len() > 2 && full[1] == u16::from(b':') {
        (r"\\?\", full)
    } else {
        return full.to_vec();
    };
    prefix.encode_utf16().chain(rest.iter().copied()).collect()
}

/// The NT form of a path for the native calls (`SetFileInformationByHandle`'s rename target):
/// the verbatim form with `\??\` for `\\?\`.
fn nt_path(path: &Path) -> io::Result<Vec<u16>> {
    let wide = to_wide(path.as_os_str())?;
    let mut nt = if starts_with(&wide, r"\??\") {
        wide
    } else {
        verbatim_of_full(&full_path(&wide)?)
    };
    if starts_with(&nt, r"\\?\") {
        nt[1] = u16::from(b'?');
    }
    Ok(nt)
}

/// The `NtCreateFile` flags a handle-relative open uses (numbers: their types in
/// `windows-sys` change between the versions this crate allows).
mod nt {
    /// Names compare as Win32 compares them.
    pub(super) const OBJ_CASE_INSENSITIVE: u32 = 0x40;
    /// Open only what exists.
    pub(super) const FILE_OPEN: u32 = 1;
    pub(super) const FILE_SYNCHRONOUS_IO_NONALERT: u32 = 0x20;
    pub(super) const FILE_OPEN_FOR_BACKUP_INTENT: u32 = 0x4000;
    /// A symlink or junction is opened as itself, never followed.
    pub(super) const FILE_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
}

/// Opens the entry `name` of the directory `dir` relative to `dir`'s handle (`NtCreateFile`
/// with `OBJECT_ATTRIBUTES.RootDirectory`): no path is resolved, so it is an entry of this very
/// directory wherever it has been moved meanwhile. `FILE_OPEN_REPARSE_POINT`: a symlink or
/// junction is opened as itself, never followed. Sharing everything, with `access`. `name`
/// must be one component: a separator, `.` or `..` is `InvalidInput`. The error is the Win32
/// code of the status (`NotFound`, a sharing violation, ...).
pub(crate) fn open_at(dir: &File, name: &OsStr, access: u32) -> io::Result<File> {
    let wide: Vec<u16> = name.encode_wide().collect();
    let one_component = !wide.is_empty()
        && wide.len() < 32768
        && wide != [46]
        && wide != [46, 46]
        && !wide
            .iter()
            .any(|&c| c == 0 || c == u16::from(b'\\') || c == u16::from(b'/'));
    if !one_component {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a single path component",
        ));
    }
    let bytes = (wide.len() * 2) as u16;
    let object_name = UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: wide.as_ptr() as _,
    };
    let attributes = OBJECT_ATTRIBUTES {
        Length: std::mem::size_of::<OBJECT_ATTRIBUTES>() as u32,
        RootDirectory: dir.as_raw_handle() as _,
        ObjectName: &object_name,
        Attributes: nt::OBJ_CASE_INSENSITIVE as _,
        SecurityDescriptor: std::ptr::null(),
        SecurityQualityOfService: std::ptr::null(),
    };
    // SAFETY: all-zero bytes are a valid IO_STATUS_BLOCK (an integer or pointer, and an
    // integer).
    let mut status_block: IO_STATUS_BLOCK = unsafe { std::mem::zeroed() };
    let mut handle = INVALID_HANDLE_VALUE;
    // SAFETY: every pointer is to a local that outlives the call (`wide` backs the name);
    // the handle of `dir` is open for the call; no EA buffer.
    let status = unsafe {
        NtCreateFile(
            &mut handle,
            access as _,
            &attributes,
            &mut status_block,
            std::ptr::null(),
            0 as _,
            SHARE_ALL as _,
            nt::FILE_OPEN as _,
            (nt::FILE_OPEN_REPARSE_POINT
                | nt::FILE_OPEN_FOR_BACKUP_INTENT
                | nt::FILE_SYNCHRONOUS_IO_NONALERT) as _,
            std::ptr::null(),
            0,
        )
    };
    if status < 0 {
        // SAFETY: a pure translation of a status code.
        let code = unsafe { RtlNtStatusToDosError(status) };
        return Err(io::Error::from_raw_os_error(code as i32));
    }
    // SAFETY: NtCreateFile succeeded and returned a new handle that nothing else owns.
    Ok(unsafe { File::from_raw_handle(handle as RawHandle) })
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
    let wide = wide_path(path)?;
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

/// A second handle of the same open file (`DuplicateHandle`): same file, same position, for
/// `tempkit::tokio` when tokio still shares its `std::fs::File` with a task.
#[cfg(feature = "tokio")]
pub(crate) fn duplicate<F: std::os::windows::io::AsHandle>(file: &F) -> io::Result<File> {
    Ok(File::from(file.as_handle().try_clone_to_owned()?))
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
    let (from, to) = (wide_path(from)?, wide_path(to)?);
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

/// `MOVEFILE_REPLACE_EXISTING`.
const REPLACE_EXISTING: u32 = 0x1;

/// Renames `from` over `to` (`MoveFileExW` with `MOVEFILE_REPLACE_EXISTING`, as
/// `std::fs::rename`), also when `to` is a read-only file, which NTFS refuses to replace
/// (access denied): see [`replace_read_only`]. The common case costs the one call.
pub(crate) fn replace_file(from: &Path, to: &Path) -> io::Result<()> {
    let denied = match replace_once(from, to) {
        Err(e) if e.raw_os_error() == Some(ACCESS_DENIED) => e,
        other => return other,
    };
    replace_read_only(from, to, denied)
}

/// One `MoveFileExW(from, to, MOVEFILE_REPLACE_EXISTING)`. (Unit tests make it refuse a
/// read-only `to` as NTFS does, which wine does not.)
fn replace_once(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(test)]
    if hooks::ntfs_refuses(to) {
        return Err(io::Error::from_raw_os_error(ACCESS_DENIED));
    }
    move_file(from, to, REPLACE_EXISTING)
}

/// The share mode of the handle that clears a destination's read-only attribute: others may
/// read and delete, not write. While it is open, nobody can open the file for writing (and
/// it cannot be had if someone already holds it writable).
const SHARE_NO_WRITE: u32 = FILE_SHARE_READ | FILE_SHARE_DELETE;

/// `FileRenameInfoEx` (Windows 10 1809+) and its flags.
const FILE_RENAME_INFO_EX: i32 = 22;
const RENAME_REPLACE_IF_EXISTS: u32 = 0x1;
const RENAME_POSIX_SEMANTICS: u32 = 0x2;
const RENAME_IGNORE_READONLY_ATTRIBUTE: u32 = 0x40;

/// The rename that the first attempt was refused with `denied`, when `to` is a read-only
/// regular file (else `denied` is returned). `to` is opened itself (never following a link)
/// with a handle that shares no write access, held to the end:
/// 1. Windows 10 1809+: the source is renamed through its own handle with POSIX semantics and
///    `IGNORE_READONLY_ATTRIBUTE`, replacing `to` while our handle is open. The attribute is
///    never cleared: no window at all.
/// 2. Elsewhere (older Windows, wine: the call is refused as unknown): the attribute is
///    cleared through that handle, the handle is closed (a classic rename cannot replace an
///    open file) and the rename is tried again; if it fails, `to` is reopened, checked to be
///    the same file (volume serial, file index), and gets its attribute back. Between the
///    close and the rename another process may open `to` for writing: no share mode can
///    prevent that, since the rename needs no handle open; what it could write goes with the
///    old file, which the rename replaces (or, if it keeps the file open and so makes the
///    rename fail, the attribute is put back and the error returned).
///
/// Costs, only on this path: an open and `GetFileInformationByHandle` of `to`, an open of
/// `from` and the rename (1); or the clearing, the rename and, on failure, the restoring (2).
fn replace_read_only(from: &Path, to: &Path, denied: io::Error) -> io::Result<()> {
    // FILE_READ_DATA too: a handle with attribute access alone takes no part in sharing
    // checks, and would keep no writer out.
    let dest = match open_shared(
        to,
        FILE_READ_DATA | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE,
        SHARE_NO_WRITE,
    ) {
        Ok(dest) => dest,
        Err(_) => return Err(denied),
    };
    let attributes = handle_info(dest.as_raw_handle())?.dwFileAttributes;
    if !is_regular_file(attributes) || attributes & FILE_ATTRIBUTE_READONLY == 0 {
        return Err(denied);
    }
    match rename_posix_ignoring_read_only(from, to) {
        // ERROR_INVALID_FUNCTION, ERROR_NOT_SUPPORTED, ERROR_INVALID_PARAMETER: unknown here.
        Err(e) if matches!(e.raw_os_error(), Some(1 | 50 | 87)) => {}
        other => return other,
    }
    let id = file_id(&dest)?;
    set_attributes(&dest, attributes & !FILE_ATTRIBUTE_READONLY)?;
    #[cfg(test)]
    hooks::after_clearing(to);
    drop(dest);
    let renamed = replace_once(from, to);
    if renamed.is_err() {
        // Put the attribute back, on the same file only; sharing everything now, since a
        // writer that slipped in must not stop the restoring.
        if let Ok(again) = open_shared(to, ATTRIBUTES_ACCESS, SHARE_ALL) {
            if file_id(&again).ok() == Some(id) {
                let _ = set_attributes(&again, attributes);
            }
        }
    }
    renamed
}

/// Opens `path` itself (a symlink or junction as the link) with `access` and `share`.
fn open_shared(path: &Path, access: u32, share: u32) -> io::Result<File> {
    OpenOptions::new()
        .access_mode(access)
        .share_mode(share)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
        .open(path)
}

/// Renames `from` over `to` through `from`'s own handle with `FileRenameInfoEx`:
/// replacing, POSIX semantics (an open `to` that shares delete can be replaced) and ignoring
/// `to`'s read-only attribute. Windows 10 1809+ on NTFS; elsewhere an error 1, 50 or 87.
fn rename_posix_ignoring_read_only(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(test)]
    if hooks::classic_ntfs() {
        return Err(io::Error::from_raw_os_error(87));
    }
    let source = open_shared(from, DELETE | SYNCHRONIZE, SHARE_ALL)?;
    let target = nt_path(to)?;
    let name = &target[..target.len() - 1]; // without the NUL
                                            // FILE_RENAME_INFO: Flags (a u32 in a union, padded to the pointer's alignment),
                                            // RootDirectory (a handle), FileNameLength (u32), FileName (u16s, right after it); in a
                                            // u64 buffer for the alignment.
    let word = std::mem::size_of::<usize>();
    let (length_offset, name_offset) = (2 * word, 2 * word + 4);
    let size = name_offset + name.len() * 2 + 2;
    let mut buf = vec![0u64; (size + 7) / 8];
    let base = buf.as_mut_ptr() as *mut u8;
    // SAFETY: `buf` holds at least `size` bytes, 8-aligned: the writes below stay inside it
    // (the flags at 0, the length at `length_offset`, the name from `name_offset`; the root
    // directory stays null).
    unsafe {
        std::ptr::write(
            base as *mut u32,
            RENAME_REPLACE_IF_EXISTS | RENAME_POSIX_SEMANTICS | RENAME_IGNORE_READONLY_ATTRIBUTE,
        );
        std::ptr::write(base.add(length_offset) as *mut u32, (name.len() * 2) as u32);
        for (i, unit) in name.iter().enumerate() {
            std::ptr::write_unaligned(base.add(name_offset + i * 2) as *mut u16, *unit);
        }
    }
    // SAFETY: the handle is open; `buf` holds a FILE_RENAME_INFO of `size` bytes.
    let ok = unsafe {
        SetFileInformationByHandle(
            source.as_raw_handle() as _,
            FILE_RENAME_INFO_EX,
            buf.as_ptr() as *const _,
            size as u32,
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Test-only failpoints: NTFS's refusal to replace a read-only file (which wine lacks), and
/// the moment after a destination's attribute was cleared.
#[cfg(test)]
pub(crate) mod hooks {
    use std::cell::RefCell;
    use std::path::Path;

    pub(crate) type Hook = Box<dyn FnMut(&Path)>;

    thread_local! {
        /// When set, a replacing rename onto a read-only file is refused as on NTFS, and the
        /// POSIX rename is refused as unknown (as before Windows 10 1809, and under wine), so
        /// that the tests run the classic path on every system.
        pub(crate) static NTFS_READ_ONLY_RULE: RefCell<bool> = RefCell::new(false);
        pub(crate) static AFTER_CLEARING: RefCell<Option<Hook>> = RefCell::new(None);
    }

    pub(super) fn classic_ntfs() -> bool {
        NTFS_READ_ONLY_RULE.with(|rule| *rule.borrow())
    }

    pub(super) fn ntfs_refuses(to: &Path) -> bool {
        classic_ntfs()
            && std::fs::symlink_metadata(to).map_or(false, |m| m.permissions().readonly())
    }

    pub(super) fn after_clearing(path: &Path) {
        AFTER_CLEARING.with(|hook| {
            if let Some(hook) = hook.borrow_mut().as_mut() {
                hook(path);
            }
        });
    }
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
    match open_at(dir.file(), name, FLUSH_ACCESS) {
        Ok(entry) => {
            if is_regular_file(handle_info(entry.as_raw_handle())?.dwFileAttributes) {
                entry.sync_all()?;
            }
            Ok(())
        }
        Err(e) if e.raw_os_error() == Some(ACCESS_DENIED) => sync_read_only_file(dir, name, e),
        Err(e) => Err(e),
    }
}

/// Flushes the read-only entry `name` of `dir` (each open relative to `dir`'s handle), which refused a writable handle with `denied`: its
/// attribute is cleared through a handle to the entry itself that holds only
/// `FILE_WRITE_ATTRIBUTES` (which a read-only file grants), the file is flushed through a
/// second handle that must be the same file (volume serial, file index), and the attribute is
/// restored through the first handle whatever the flush gave. A reparse point or directory
/// there is left alone; a regular file without the attribute was refused for another reason
/// (its ACL): `denied` is returned. Four calls more than a writable file costs: an open,
/// `GetFileInformationByHandle` and two attribute changes. If the process dies between the
/// two changes, the file keeps no read-only attribute, in a tree that was not published (the
/// rename comes after the sync).
fn sync_read_only_file(dir: &DirHandle, name: &Name, denied: io::Error) -> io::Result<()> {
    let entry = match open_at(dir.file(), name, ATTRIBUTES_ACCESS) {
        // Windows grants FILE_WRITE_ATTRIBUTES on a read-only file. Wine, run as a user, asks
        // the Unix file for write permission for it (refused), but sets attributes through any
        // handle; on Windows such a handle is refused the change (ACCESS_DENIED) as it should.
        Err(e) if e.raw_os_error() == Some(ACCESS_DENIED) => {
            open_at(dir.file(), name, FILE_READ_ATTRIBUTES | SYNCHRONIZE)?
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
    let flushed = open_at(dir.file(), name, FLUSH_ACCESS).and_then(|writable| {
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

/// Deletes the file at `path` (a `NamedTemporaryFile`'s name): `DeleteFileW`, one call as in
/// `std`; only if that is refused (access denied: a read-only attribute, which Windows
/// checks on the name) it is deleted through a handle to the entry itself, with its
/// attribute cleared first (see [`remove_path`]), whose error is then the one returned.
pub(crate) fn remove_named_file(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.raw_os_error() == Some(ACCESS_DENIED) => remove_path(path),
        other => other,
    }
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

/// The primitives of the removal in `remove.rs`. The root is opened by path; every entry
/// below it is opened relative to its parent directory's handle (`NtCreateFile` with
/// `OBJECT_ATTRIBUTES.RootDirectory`, [`super::open_at`]) with `FILE_OPEN_REPARSE_POINT`,
/// inspected through that handle and deleted through it; directories are listed through their
/// handle (`FileIdBothDirectoryInfo`). So no path is resolved again below the root: a
/// directory renamed or replaced while the walk holds it is still the one walked, and a
/// reparse point (symlink, junction), there from the start or swapped in, is never entered
/// and is deleted as a link.
mod removal {
    use std::ffi::OsString;
    use std::fmt;
    use std::fs::File;
    use std::io;
    use std::os::windows::ffi::OsStringExt;
    use std::os::windows::io::AsRawHandle;
    use std::path::{Path, PathBuf};

    use windows_sys::Win32::Storage::FileSystem::{
        FileBasicInfo, FileDispositionInfo, FileDispositionInfoEx, FileIdBothDirectoryInfo,
        FileIdBothDirectoryRestartInfo, GetFileInformationByHandleEx, SetFileInformationByHandle,
        DELETE, FILE_ATTRIBUTE_DIRECTORY, FILE_ATTRIBUTE_NORMAL, FILE_ATTRIBUTE_READONLY,
        FILE_ATTRIBUTE_REPARSE_POINT, FILE_BASIC_INFO, FILE_DISPOSITION_FLAG_DELETE,
        FILE_DISPOSITION_FLAG_POSIX_SEMANTICS, FILE_DISPOSITION_INFO, FILE_DISPOSITION_INFO_EX,
        FILE_ID_BOTH_DIR_INFO, FILE_INFO_BY_HANDLE_CLASS, FILE_LIST_DIRECTORY,
        FILE_READ_ATTRIBUTES, FILE_WRITE_ATTRIBUTES, SYNCHRONIZE,
    };

    use super::super::by_path::{is_not_a_directory, not_a_directory, EntryKind, Name, ReadBuf};
    use super::{file_id, handle_info, open_at, open_entry, FileId, ATTRIBUTES_ACCESS};

    /// What listing a directory and opening entries relative to it needs.
    const DIR_ACCESS: u32 = FILE_LIST_DIRECTORY | FILE_READ_ATTRIBUTES | SYNCHRONIZE;

    /// What deleting an entry through its handle needs (and clearing its read-only attribute).
    const DELETE_ACCESS: u32 = DELETE | FILE_READ_ATTRIBUTES | FILE_WRITE_ATTRIBUTES | SYNCHRONIZE;

    /// An open directory and its path (for messages, and for reopening a parent by path
    /// with an identity check when the walk is deeper than its handle limit).
    #[derive(Debug)]
    pub(crate) struct DirHandle {
        file: File,
        path: PathBuf,
    }

    impl DirHandle {
        /// Wraps `file`, opened on `path`, if it is a directory.
        pub(crate) fn new(file: File, path: &Path) -> io::Result<DirHandle> {
            if handle_info(file.as_raw_handle())?.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY == 0 {
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

        /// The open directory, for opens relative to it.
        pub(crate) fn file(&self) -> &File {
            &self.file
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

    /// The attributes of an open entry, read through its handle.
    fn attributes_of(entry: &File) -> io::Result<u32> {
        Ok(handle_info(entry.as_raw_handle())?.dwFileAttributes)
    }

    /// `dir` if the open entry is a real directory, else "not a directory".
    fn as_dir(file: File, path: PathBuf) -> io::Result<DirHandle> {
        if !is_real_dir(attributes_of(&file)?) {
            return Err(not_a_directory());
        }
        Ok(DirHandle { file, path })
    }

    /// The directory at `path` (the root of a removal), refusing a reparse point or a
    /// non-directory.
    pub(crate) fn open_dir(path: &Path) -> io::Result<DirHandle> {
        as_dir(open_entry(path, DIR_ACCESS)?, path.to_path_buf())
    }

    /// The subdirectory `name` of `dir`, opened relative to `dir`'s handle; a reparse point
    /// or non-directory there is "not a directory".
    pub(crate) fn open_subdir(dir: &DirHandle, name: &Name) -> io::Result<DirHandle> {
        let sub = as_dir(open_at(&dir.file, name, DIR_ACCESS)?, dir.path.join(name))?;
        #[cfg(test)]
        walk_hooks::after_open_subdir(&sub.path);
        Ok(sub)
    }

    /// The directory `dir` is in, by path (the caller checks that it is the one it expects:
    /// NT offers no `..` relative to a handle).
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
        let entry = open_at(&dir.file, name, FILE_READ_ATTRIBUTES | SYNCHRONIZE)?;
        if is_real_dir(attributes_of(&entry)?) {
            Ok((EntryKind::Dir, Some(DirId(file_id(&entry)?))))
        } else {
            Ok((EntryKind::NotDir, None))
        }
    }

    /// `ERROR_NO_MORE_FILES`: the listing is complete.
    const NO_MORE_FILES: i32 = 18;

    /// Calls `f` on every entry of `dir`, listed through its handle
    /// (`GetFileInformationByHandleEx(FileIdBothDirectoryInfo)`, from the start each time),
    /// with its kind from the listing itself (a reparse point is never a directory here).
    pub(crate) fn read_entries(
        dir: &DirHandle,
        _buf: &mut ReadBuf,
        _rewind: bool,
        f: &mut dyn FnMut(&Name, EntryKind),
    ) -> io::Result<()> {
        // 64 KiB, 8-byte aligned as the entries are.
        let mut buf = vec![0u64; 8192];
        let bytes = buf.len() * 8;
        let mut class: FILE_INFO_BY_HANDLE_CLASS = FileIdBothDirectoryRestartInfo;
        loop {
            // SAFETY: the handle is open (borrowed from `dir`); `buf` is writable for `bytes`
            // bytes and aligned for FILE_ID_BOTH_DIR_INFO.
            let ok = unsafe {
                GetFileInformationByHandleEx(
                    dir.file.as_raw_handle() as _,
                    class,
                    buf.as_mut_ptr() as *mut _,
                    bytes as u32,
                )
            };
            if ok == 0 {
                let e = io::Error::last_os_error();
                return match e.raw_os_error() {
                    Some(NO_MORE_FILES) => Ok(()),
                    _ if e.kind() == io::ErrorKind::NotFound => Ok(()),
                    _ => Err(e),
                };
            }
            class = FileIdBothDirectoryInfo;
            let base = buf.as_ptr() as *const u8;
            let name_offset = offset_of_name();
            let mut offset = 0usize;
            loop {
                if offset + name_offset > bytes {
                    return Err(bad_listing());
                }
                // SAFETY: `offset + name_offset <= bytes`: the fixed part of the entry lies in
                // `buf`; the fields are read unaligned, never by reference.
                let (next, attributes, len) = unsafe {
                    let entry = base.add(offset) as *const FILE_ID_BOTH_DIR_INFO;
                    (
                        std::ptr::read_unaligned(std::ptr::addr_of!((*entry).NextEntryOffset)),
                        std::ptr::read_unaligned(std::ptr::addr_of!((*entry).FileAttributes)),
                        std::ptr::read_unaligned(std::ptr::addr_of!((*entry).FileNameLength)),
                    )
                };
                let len = len as usize / 2;
                if offset + name_offset + len * 2 > bytes {
                    return Err(bad_listing());
                }
                let name: Vec<u16> = (0..len)
                    .map(|i| {
                        // SAFETY: checked just above: the name's `len` units lie in `buf`.
                        unsafe {
                            std::ptr::read_unaligned(
                                base.add(offset + name_offset + i * 2) as *const u16
                            )
                        }
                    })
                    .collect();
                let dot = name == [46] || name == [46, 46];
                if !dot {
                    let kind = if is_real_dir(attributes) {
                        EntryKind::Dir
                    } else {
                        EntryKind::NotDir
                    };
                    f(&OsString::from_wide(&name), kind);
                }
                if next == 0 {
                    break;
                }
                offset += next as usize;
            }
        }
    }

    /// Where `FileName` starts in a FILE_ID_BOTH_DIR_INFO.
    fn offset_of_name() -> usize {
        let probe = std::mem::MaybeUninit::<FILE_ID_BOTH_DIR_INFO>::uninit();
        let base = probe.as_ptr();
        // SAFETY: only the address of a field is taken, never read.
        let field = unsafe { std::ptr::addr_of!((*base).FileName) };
        field as usize - base as usize
    }

    fn bad_listing() -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            "the directory listing is malformed",
        )
    }

    /// Removes the non-directory `name` of `dir` (a symlink or junction as a link), opened
    /// relative to `dir`'s handle.
    pub(crate) fn remove_file_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        remove_opened(open_at(&dir.file, name, DELETE_ACCESS)?, false)
    }

    /// Removes the empty directory `name` of `dir`, opened relative to `dir`'s handle; a
    /// reparse point there is `NotADirectory`.
    pub(crate) fn remove_dir_at(dir: &DirHandle, name: &Name) -> io::Result<()> {
        remove_opened(open_at(&dir.file, name, DELETE_ACCESS)?, true)
    }

    /// Removes the non-directory at `path` as [`remove_file_at`] does (opened by path).
    pub(crate) fn remove_path(path: &Path) -> io::Result<()> {
        remove_opened(open_entry(path, DELETE_ACCESS)?, false)
    }

    /// Removes the empty directory at `path` (the root of a removal) the same way.
    pub(crate) fn remove_dir_path(path: &Path) -> io::Result<()> {
        remove_opened(open_entry(path, DELETE_ACCESS)?, true)
    }

    /// A test-only failpoint: a unit test swaps a directory at the one moment after the walk
    /// opened it.
    #[cfg(test)]
    pub(crate) mod walk_hooks {
        use std::cell::RefCell;
        use std::path::Path;

        pub(crate) type Hook = Box<dyn FnMut(&Path)>;

        thread_local! {
            pub(crate) static AFTER_OPEN_SUBDIR: RefCell<Option<Hook>> = RefCell::new(None);
        }

        pub(super) fn after_open_subdir(path: &Path) {
            AFTER_OPEN_SUBDIR.with(|hook| {
                if let Some(hook) = hook.borrow_mut().as_mut() {
                    hook(path);
                }
            });
        }
    }

    /// Checks what the open entry is through its handle, clears its read-only attribute, and
    /// deletes it through the same handle, so what is deleted is what was inspected. A file
    /// that someone holds open without sharing delete (as C's `fopen` does) fails the open
    /// with a sharing violation (32), which the caller reports naming the path.
    fn remove_opened(entry: File, want_dir: bool) -> io::Result<()> {
        let attributes = attributes_of(&entry)?;
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

    /// Clears the read-only attribute of the open directory `entry`; a reparse point or
    /// non-directory is refused.
    fn clear_dir_readonly(entry: &File) -> io::Result<()> {
        let attributes = attributes_of(entry)?;
        if !is_real_dir(attributes) {
            return Err(not_a_directory());
        }
        if attributes & FILE_ATTRIBUTE_READONLY != 0 {
            set_attributes(entry, attributes & !FILE_ATTRIBUTE_READONLY)?;
        }
        Ok(())
    }

    /// Clears the read-only attribute of `dir` itself: reopened by path with the access the
    /// change needs, and changed only if it is still `dir` (volume serial, file index). Only
    /// after access was refused, so it costs nothing otherwise.
    pub(crate) fn make_dir_usable(dir: &DirHandle) -> io::Result<()> {
        let entry = open_entry(&dir.path, ATTRIBUTES_ACCESS)?;
        if file_id(&entry)? != file_id(&dir.file)? {
            return Err(io::Error::new(
                io::ErrorKind::Other,
                "the directory was moved during removal",
            ));
        }
        clear_dir_readonly(&entry)
    }

    /// Clears the read-only attribute of the subdirectory `name` of `dir`, opened relative to
    /// `dir`'s handle.
    pub(crate) fn make_subdir_usable(dir: &DirHandle, name: &Name) -> io::Result<()> {
        clear_dir_readonly(&open_at(&dir.file, name, ATTRIBUTES_ACCESS)?)
    }

    pub(crate) fn make_path_usable(path: &Path) -> io::Result<()> {
        clear_dir_readonly(&open_entry(path, ATTRIBUTES_ACCESS)?)
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

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::fs;
    use std::path::Path;
    use std::rc::Rc;

    use super::*;

    fn readonly(path: &Path) -> bool {
        fs::symlink_metadata(path).unwrap().permissions().readonly()
    }

    fn set_readonly(path: &Path, on: bool) {
        let mut permissions = fs::metadata(path).unwrap().permissions();
        permissions.set_readonly(on);
        fs::set_permissions(path, permissions).unwrap();
    }

    fn wide(s: &str) -> Vec<u16> {
        s.encode_utf16().chain(Some(0)).collect()
    }

    #[test]
    fn long_and_unc_paths_get_the_verbatim_prefix_and_short_ones_stay() {
        assert_eq!(verbatim_of_full(&wide(r"C:\a\b")), wide(r"\\?\C:\a\b"));
        assert_eq!(
            verbatim_of_full(&wide(r"\\server\share\a")),
            wide(r"\\?\UNC\server\share\a")
        );
        assert_eq!(verbatim_of_full(&wide(r"\\?\C:\a")), wide(r"\\?\C:\a"));
        assert_eq!(verbatim_of_full(&wide(r"\\.\pipe\x")), wide(r"\\.\pipe\x"));
        assert_eq!(
            wide_path(Path::new(r"C:\short")).unwrap(),
            wide(r"C:\short")
        );
        let long = format!(r"C:\{}\x", "a".repeat(300));
        assert_eq!(
            wide_path(Path::new(&long)).unwrap(),
            wide(&format!(r"\\?\{}", long))
        );
        // Separators and `..` are resolved before the prefix turns them literal.
        let messy = format!("C:/{}/y/../x", "a".repeat(300));
        assert_eq!(
            wide_path(Path::new(&messy)).unwrap(),
            wide(&format!(r"\\?\C:\{}\x", "a".repeat(300)))
        );
        let share = format!(r"\\server\share\{}", "b".repeat(300));
        assert_eq!(
            wide_path(Path::new(&share)).unwrap(),
            wide(&format!(r"\\?\UNC\server\share\{}", "b".repeat(300)))
        );
        assert_eq!(nt_path(Path::new(r"C:\a\b")).unwrap(), wide(r"\??\C:\a\b"));
    }

    #[test]
    fn an_entry_name_must_be_one_component() {
        let dir = crate::mkdtemp().unwrap();
        let handle = open_dir(&dir).unwrap();
        for bad in ["", ".", "..", r"a\b", "a/b"] {
            let err = open_at(handle.file(), OsStr::new(bad), FILE_READ_ATTRIBUTES).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidInput, "{:?}", bad);
        }
        let err = open_at(handle.file(), OsStr::new("missing"), FILE_READ_ATTRIBUTES).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        drop(handle);
        crate::remove::remove_tree(&dir).unwrap();
    }

    /// The walk holds `sub` open; `sub` is then moved out of the tree and a directory holding
    /// a victim file is put at its name. A walk by path would list and delete the victim; the
    /// walk relative to handles empties the directory it holds and never touches the newcomer.
    #[test]
    fn a_directory_swapped_while_the_walk_holds_it_is_never_entered() {
        let base = crate::mkdtemp().unwrap();
        let root = base.join("root");
        let sub = root.join("sub");
        fs::create_dir_all(&sub).unwrap();
        fs::write(sub.join("ours"), b"ours").unwrap();
        let moved = base.join("moved");
        let swapped = Rc::new(RefCell::new(false));
        {
            let (sub, moved, swapped) = (sub.clone(), moved.clone(), swapped.clone());
            walk_hooks::AFTER_OPEN_SUBDIR.with(|hook| {
                *hook.borrow_mut() = Some(Box::new(move |path: &Path| {
                    if path == sub && !*swapped.borrow() {
                        *swapped.borrow_mut() = true;
                        fs::rename(&sub, &moved).unwrap();
                        fs::create_dir(&sub).unwrap();
                        fs::write(sub.join("victim"), b"victim").unwrap();
                    }
                }));
            });
        }
        let result = crate::remove::remove_tree(&root);
        walk_hooks::AFTER_OPEN_SUBDIR.with(|hook| *hook.borrow_mut() = None);
        assert!(*swapped.borrow(), "the walk never opened sub");
        assert_eq!(fs::read(sub.join("victim")).unwrap(), b"victim");
        // Not checked: that what the walk held was emptied through its handle. On Windows the
        // deletion belongs to the file; wine's server unlinks, at the last close, the Unix path
        // the file was opened under, which the move made stale, so `moved\ours` stays there.
        // The newcomer makes the removal of `sub` fail: reported, not followed.
        assert!(result.is_err());
        crate::remove::remove_tree(&base).unwrap();
    }

    /// With NTFS's rule (a read-only file cannot be replaced), `replace_file` replaces it
    /// anyway, and while the attribute is off nobody can open it for writing.
    #[test]
    fn a_read_only_destination_is_replaced_and_kept_from_writers_meanwhile() {
        let dir = crate::mkdtemp().unwrap();
        let (from, to) = (dir.join("new"), dir.join("dest"));
        fs::write(&from, b"new").unwrap();
        fs::write(&to, b"old").unwrap();
        set_readonly(&to, true);
        set_readonly(&from, true);
        hooks::NTFS_READ_ONLY_RULE.with(|rule| *rule.borrow_mut() = true);
        // The control: the rule refuses the plain rename.
        assert_eq!(
            replace_once(&from, &to).unwrap_err().raw_os_error(),
            Some(ACCESS_DENIED)
        );
        let writer_refused = Rc::new(RefCell::new(None));
        {
            let writer_refused = writer_refused.clone();
            hooks::AFTER_CLEARING.with(|hook| {
                *hook.borrow_mut() = Some(Box::new(move |path: &Path| {
                    let err = OpenOptions::new().write(true).open(path).unwrap_err();
                    *writer_refused.borrow_mut() = Some(err.raw_os_error());
                }));
            });
        }
        let result = replace_file(&from, &to);
        hooks::AFTER_CLEARING.with(|hook| *hook.borrow_mut() = None);
        hooks::NTFS_READ_ONLY_RULE.with(|rule| *rule.borrow_mut() = false);
        result.unwrap();
        assert_eq!(fs::read(&to).unwrap(), b"new");
        assert!(!from.exists());
        assert!(readonly(&to), "the new file lost its read-only attribute");
        // The classic path ran (the POSIX rename withheld, as wine lacks it anyway), and a
        // writer was refused (32, sharing violation) while the attribute was off.
        assert_eq!(*writer_refused.borrow(), Some(Some(32)));
        crate::remove::remove_tree(&dir).unwrap();
    }

    /// When the rename still fails after the attribute was cleared (here: someone holds the
    /// destination open, which a classic rename cannot replace), the attribute is put back
    /// and both files are intact.
    #[test]
    fn a_failed_replace_puts_the_read_only_attribute_back() {
        let dir = crate::mkdtemp().unwrap();
        let (from, to) = (dir.join("new"), dir.join("dest"));
        fs::write(&from, b"new").unwrap();
        fs::write(&to, b"old").unwrap();
        set_readonly(&to, true);
        hooks::NTFS_READ_ONLY_RULE.with(|rule| *rule.borrow_mut() = true);
        let holder: Rc<RefCell<Option<File>>> = Rc::new(RefCell::new(None));
        {
            let holder = holder.clone();
            hooks::AFTER_CLEARING.with(|hook| {
                *hook.borrow_mut() = Some(Box::new(move |path: &Path| {
                    let reader = OpenOptions::new()
                        .read(true)
                        .share_mode(SHARE_ALL)
                        .open(path)
                        .unwrap();
                    *holder.borrow_mut() = Some(reader);
                }));
            });
        }
        let result = replace_file(&from, &to);
        hooks::AFTER_CLEARING.with(|hook| *hook.borrow_mut() = None);
        hooks::NTFS_READ_ONLY_RULE.with(|rule| *rule.borrow_mut() = false);
        assert!(holder.borrow().is_some(), "the classic path did not run");
        assert_eq!(result.unwrap_err().raw_os_error(), Some(ACCESS_DENIED));
        drop(holder.borrow_mut().take());
        assert!(readonly(&to), "the attribute was not put back");
        assert_eq!(fs::read(&to).unwrap(), b"old");
        assert_eq!(fs::read(&from).unwrap(), b"new");
        set_readonly(&to, false);
        crate::remove::remove_tree(&dir).unwrap();
    }
}
