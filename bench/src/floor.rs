//! The raw system-call floor: the least sequence of calls each operation needs, made through
//! `libc` with names built in a reused buffer, so that no contender can beat it by more than
//! noise.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Turns a `-1` return into the thread's `errno`.
pub fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// `dir/` followed by a counter, NUL-terminated, in one reused buffer: a fresh name per call
/// without an allocation.
pub struct Names {
    buf: Vec<u8>,
    base: usize,
    counter: u64,
}

impl Names {
    /// Names inside `dir`, unique within this process (they carry the process id).
    pub fn new(dir: &Path) -> Names {
        let mut buf = dir.as_os_str().as_bytes().to_vec();
        buf.extend_from_slice(format!("/floor{}-", std::process::id()).as_bytes());
        let base = buf.len();
        Names {
            buf,
            base,
            counter: 0,
        }
    }

    /// The next name, as a C string pointer valid until the next call.
    pub fn advance(&mut self) -> *const libc::c_char {
        self.counter += 1;
        self.buf.truncate(self.base);
        let mut n = self.counter;
        loop {
            self.buf.push(b'0' + (n % 10) as u8);
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.buf.push(0);
        self.buf.as_ptr().cast()
    }

    /// The name handed out last, again.
    pub fn current(&self) -> *const libc::c_char {
        self.buf.as_ptr().cast()
    }
}

/// A directory path as a C string, made once outside the timed loop.
pub fn c_path(dir: &Path) -> io::Result<CString> {
    Ok(CString::new(dir.as_os_str().as_bytes())?)
}

const FILE_FLAGS: libc::c_int =
    libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// `open(O_TMPFILE|O_EXCL)` in `dir` + `close`: the floor of an unnamed temporary file.
pub fn tmpfile_close(dir: &CString) -> io::Result<()> {
    // SAFETY: `dir` is NUL-terminated and outlives the call; the descriptor is closed once.
    unsafe {
        let fd = check(libc::open(
            dir.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_EXCL | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        ))?;
        libc::close(fd);
    }
    Ok(())
}

/// `open(O_TMPFILE|O_EXCL)` + `write` of all of `data` + `close`: the floor of moving bytes
/// into a fresh unnamed file.
pub fn tmpfile_write_close(dir: &CString, data: &[u8]) -> io::Result<()> {
    // SAFETY: `dir` is NUL-terminated; `data` is a valid slice for the length given; the
    // descriptor is closed once, also on a failed write.
    unsafe {
        let fd = check(libc::open(
            dir.as_ptr(),
            libc::O_TMPFILE | libc::O_RDWR | libc::O_EXCL | libc::O_CLOEXEC,
            0o600 as libc::c_uint,
        ))?;
        let mut done = 0;
        while done < data.len() {
            let n = libc::write(fd, data[done..].as_ptr().cast(), data.len() - done);
            if n < 0 {
                let err = io::Error::last_os_error();
                libc::close(fd);
                return Err(err);
            }
            done += n as usize;
        }
        libc::close(fd);
    }
    Ok(())
}

/// `open(O_CREAT|O_EXCL)` + `close` of the next name, which is left in place.
pub fn create_close(names: &mut Names) -> io::Result<()> {
    // SAFETY: the name is NUL-terminated and lives in `names` across the call.
    unsafe {
        let fd = check(libc::open(
            names.advance(),
            FILE_FLAGS,
            0o600 as libc::c_uint,
        ))?;
        libc::close(fd);
    }
    Ok(())
}

/// `open(O_CREAT|O_EXCL)` + `close` + `unlink`: the floor of `mkstemp` + close + unlink.
pub fn create_close_unlink(names: &mut Names) -> io::Result<()> {
    create_close(names)?;
    // SAFETY: as above; `current` is the name just created.
    check(unsafe { libc::unlink(names.current()) })?;
    Ok(())
}

/// `open(O_CREAT|O_EXCL)` + `unlink` + `close`: the floor of a named temporary file that is
/// created and dropped.
pub fn create_unlink_close(names: &mut Names) -> io::Result<()> {
    // SAFETY: the name is NUL-terminated and lives in `names`; the descriptor is closed once.
    unsafe {
        let fd = check(libc::open(
            names.advance(),
            FILE_FLAGS,
            0o600 as libc::c_uint,
        ))?;
        let unlinked = check(libc::unlink(names.current()));
        libc::close(fd);
        unlinked?;
    }
    Ok(())
}

/// `mkdir(0700)` + `rmdir`: the floor of a temporary directory that is created and removed.
pub fn mkdir_rmdir(names: &mut Names) -> io::Result<()> {
    // SAFETY: the name is NUL-terminated and lives in `names` across both calls.
    unsafe {
        check(libc::mkdir(names.advance(), 0o700))?;
        check(libc::rmdir(names.current()))?;
    }
    Ok(())
}

/// `mkdir` + `files` × (`open` + `close`) + `files` × `unlink` + `rmdir`: the floor of a
/// temporary directory holding `files` empty files, removed by a remover that knows the names.
pub fn mkdir_files_remove(names: &mut Names, files: usize) -> io::Result<()> {
    names.advance();
    let dir = names.buf.clone();
    let dir_path = Path::new(std::ffi::OsStr::from_bytes(&dir[..dir.len() - 1]));
    // SAFETY: `dir` is NUL-terminated and outlives the calls.
    check(unsafe { libc::mkdir(dir.as_ptr().cast(), 0o700) })?;
    let mut inner = Names::new(dir_path);
    for _ in 0..files {
        create_close(&mut inner)?;
    }
    let mut again = Names::new(dir_path);
    for _ in 0..files {
        // SAFETY: the names repeat those created above, NUL-terminated.
        check(unsafe { libc::unlink(again.advance()) })?;
    }
    // SAFETY: as above.
    check(unsafe { libc::rmdir(dir.as_ptr().cast()) })?;
    Ok(())
}

/// Creates `files` empty files in `dir` with `open` + `close` each: the same filling for every
/// contender of "a temporary directory holding files".
pub fn fill_flat(dir: &Path, files: usize) -> io::Result<()> {
    let mut names = Names::new(dir);
    for _ in 0..files {
        create_close(&mut names)?;
    }
    Ok(())
}

/// Creates `files` empty regular files in `dir` with one `mknod` each: the cheapest way to
/// build a big tree whose building is not what is measured.
pub fn mknod_flat(dir: &Path, files: usize) -> io::Result<()> {
    let mut names = Names::new(dir);
    for _ in 0..files {
        // SAFETY: the name is NUL-terminated and lives in `names` across the call.
        check(unsafe { libc::mknod(names.advance(), libc::S_IFREG | 0o600, 0) })?;
    }
    Ok(())
}

/// Builds a chain of `levels` nested directories `d/d/d/...` in `root`, with one empty file
/// `f` in each, descriptor-relative (`mkdirat`, `mknodat`, `openat`), so that no path grows
/// past `PATH_MAX` and at most two descriptors are open at once.
pub fn fill_chain(root: &Path, levels: usize) -> io::Result<()> {
    let flags = libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC;
    let root = c_path(root)?;
    let (d, f) = (c"d".as_ptr(), c"f".as_ptr());
    // SAFETY: every name is a NUL-terminated literal or `root`, alive across the calls; each
    // descriptor opened is closed exactly once.
    unsafe {
        let mut fd = check(libc::open(root.as_ptr(), flags))?;
        for _ in 0..levels {
            let made = check(libc::mkdirat(fd, d, 0o700))
                .and_then(|_| check(libc::mknodat(fd, f, libc::S_IFREG | 0o600, 0)))
                .and_then(|_| check(libc::openat(fd, d, flags)));
            libc::close(fd);
            fd = made?;
        }
        libc::close(fd);
    }
    Ok(())
}

/// The publishing sequence by hand, the least that keeps what tempkit keeps: open `dir`
/// (`O_PATH` unless `durable`: nothing syncs it), `fstatat` the destination `name`, create a
/// temporary file beside it (`O_EXCL`; for an existing file with the mode that widens nothing
/// before its owner is set, as tempkit does, else 0666), write `data`, `fstat` it and
/// `fchown` + `fchmod` only what the kernel did not already give it, `fsync` it, `renameat`
/// over `name`, `fsync` the directory (the two `fsync`s only if `durable`), close both. The
/// floor of `write_atomic` replacing a file.
pub fn replace_file(dir: &CString, name: &CString, data: &[u8], durable: bool) -> io::Result<()> {
    const TEMP: &[u8] = b".published.floor.tmp\0";
    let access = if durable {
        libc::O_RDONLY
    } else {
        libc::O_PATH
    };
    // SAFETY: every path is NUL-terminated and outlives the calls; `st` and `mine` are written
    // by fstatat and fstat before they are read; `data` is a valid slice; each descriptor is
    // closed once.
    unsafe {
        let dirfd = check(libc::open(
            dir.as_ptr(),
            access | libc::O_DIRECTORY | libc::O_CLOEXEC,
        ))?;
        let result = (|| {
            let mut st: libc::stat = std::mem::zeroed();
            let exists = libc::fstatat(dirfd, name.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW)
                == 0
                && st.st_mode & libc::S_IFMT == libc::S_IFREG;
            let mode = if exists {
                let everyone = (st.st_mode >> 6) & (st.st_mode >> 3) & st.st_mode & 0o7;
                (st.st_mode & 0o700) | (everyone << 3) | everyone
            } else {
                0o666
            };
            let fd = check(libc::openat(
                dirfd,
                TEMP.as_ptr().cast(),
                FILE_FLAGS,
                mode as libc::c_uint,
            ))?;
            let done = (|| {
                if libc::write(fd, data.as_ptr().cast(), data.len()) != data.len() as isize {
                    return Err(io::Error::last_os_error());
                }
                if exists {
                    let mut mine: libc::stat = std::mem::zeroed();
                    check(libc::fstat(fd, &mut mine))?;
                    let owner = mine.st_uid != st.st_uid || mine.st_gid != st.st_gid;
                    if owner {
                        check(libc::fchown(fd, st.st_uid, st.st_gid))?;
                    }
                    if owner || mine.st_mode & 0o7777 != st.st_mode & 0o7777 {
                        check(libc::fchmod(fd, st.st_mode & 0o7777))?;
                    }
                }
                if durable {
                    check(libc::fsync(fd))?;
                }
                check(libc::renameat(
                    dirfd,
                    TEMP.as_ptr().cast(),
                    dirfd,
                    name.as_ptr(),
                ))?;
                if durable {
                    check(libc::fsync(dirfd))?;
                }
                Ok(())
            })();
            libc::close(fd);
            done
        })();
        libc::close(dirfd);
        result
    }
}
