//! Making a directory append-only (`chattr +a`), so that creating a name succeeds and
//! removing it fails: the way to test cleanup paths after a failed unlink. Needs root and a
//! file system with the flag (ext4, xfs, btrfs).

use std::io;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Makes a directory append-only (`chattr +a`: names can be created, never removed) for as
/// long as it lives: the one way to make an unlink fail right after a create succeeded.
pub struct AppendOnly {
    dir: std::fs::File,
}

const FS_APPEND_FL: libc::c_int = 0x20;

impl AppendOnly {
    pub fn new(dir: &Path) -> AppendOnly {
        let dir = std::fs::File::open(dir).unwrap();
        let mut flags: libc::c_int = 0;
        // SAFETY: FS_IOC_GETFLAGS/SETFLAGS read and write one int through the pointer given.
        let rc = unsafe {
            libc::ioctl(dir.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags);
            flags |= FS_APPEND_FL;
            libc::ioctl(dir.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags)
        };
        assert_eq!(
            rc,
            0,
            "chattr +a needs root and ext4/xfs: {}",
            io::Error::last_os_error()
        );
        AppendOnly { dir }
    }
}

impl Drop for AppendOnly {
    fn drop(&mut self) {
        let mut flags: libc::c_int = 0;
        // SAFETY: as in `new`.
        unsafe {
            libc::ioctl(self.dir.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags);
            flags &= !FS_APPEND_FL;
            libc::ioctl(self.dir.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags);
        }
    }
}

/// The descriptors of this process whose target is `path`.
pub fn open_descriptors_of(path: &Path) -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target == path)
        .count()
}
