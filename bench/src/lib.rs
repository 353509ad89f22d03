//! Shared pieces of tempkit's benchmarks: the raw system-call floor each operation is
//! compared with.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

pub mod asyncops;
pub mod cpython;
pub mod floor;
pub mod ops;
pub mod report;

/// `open(O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600)` + `close` + `unlink` of `path`:
/// the least any `mkstemp` + close + unlink can do.
pub fn raw_create_close_unlink(path: &Path) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the calls; the descriptor
    // returned is closed exactly once.
    unsafe {
        let fd = libc::open(c.as_ptr(), flags, 0o600 as libc::c_uint);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        libc::close(fd);
        if libc::unlink(c.as_ptr()) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// `open(dir, O_TMPFILE|O_EXCL|O_RDWR|O_CLOEXEC, 0600)` + `close`: the least any unnamed
/// temporary file can cost.
pub fn raw_tmpfile_close(dir: &Path) -> io::Result<()> {
    let c = CString::new(dir.as_os_str().as_bytes())?;
    let flags = libc::O_TMPFILE | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the call; the descriptor
    // returned is closed exactly once.
    unsafe {
        let fd = libc::open(c.as_ptr(), flags, 0o600 as libc::c_uint);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        libc::close(fd);
    }
    Ok(())
}

/// `open(O_RDWR|O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, 0600)` + `unlink` + `close` of `path`:
/// the least any named temporary file that is deleted when dropped can cost.
pub fn raw_create_unlink_close(path: &Path) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())?;
    let flags = libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    // SAFETY: `c` is a valid NUL-terminated string that outlives the calls; the descriptor
    // returned is closed exactly once.
    unsafe {
        let fd = libc::open(c.as_ptr(), flags, 0o600 as libc::c_uint);
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::unlink(c.as_ptr()) != 0 {
            let err = io::Error::last_os_error();
            libc::close(fd);
            return Err(err);
        }
        libc::close(fd);
    }
    Ok(())
}
