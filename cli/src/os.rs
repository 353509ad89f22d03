//! The command's platform seam for names: OS strings as bytes, path separators, absolute
//! names, and the default directory of `mktemp`.
//!
//! `mktemp` follows GNU's byte-wise rules. On Unix a name is its bytes, exactly. On Windows a
//! name is UTF-16; here it is handled as UTF-8: an argument that is not valid Unicode is
//! refused (`into_bytes`) rather than turned into another name, and the bytes handed back are
//! always pieces cut at ASCII characters (`X`, a separator), so they are UTF-8 again.
//!
//! Process-related platform code is elsewhere: `guardian.rs` (Unix) and `job.rs` (Windows).

use std::borrow::Cow;
use std::ffi::{OsStr, OsString};
use std::io;
use std::path::Path;

/// The separator `mktemp` puts between a directory and a name.
#[cfg(unix)]
pub(crate) const SEPARATOR: u8 = b'/';
/// The separator `mktemp` puts between a directory and a name.
#[cfg(windows)]
pub(crate) const SEPARATOR: u8 = b'\\';

/// Whether `b` separates path components (`/`; on Windows also `\`).
pub(crate) fn is_separator(b: u8) -> bool {
    b == b'/' || (cfg!(windows) && b == b'\\')
}

/// The length of a drive prefix (`C:`) that starts `name`: 0 on Unix, and where there is none.
pub(crate) fn drive_len(name: &[u8]) -> usize {
    if cfg!(windows) && name.len() >= 2 && name[0].is_ascii_alphabetic() && name[1] == b':' {
        2
    } else {
        0
    }
}

/// Whether `name` is absolute for `mktemp --tmpdir`'s refusal: it starts at a root (`/`;
/// on Windows also `\`, `C:\`, or a drive-relative `C:name`, which is no more "in DIR").
pub(crate) fn is_absolute(name: &[u8]) -> bool {
    // (`matches!`, not `is_some_and`: this is built with Rust 1.63 for Windows.)
    drive_len(name) > 0 || matches!(name.first(), Some(&b) if is_separator(b))
}

/// The bytes of `s`, for printing. On Windows a name that is not valid Unicode is printed with
/// U+FFFD in place of what is not.
pub(crate) fn bytes(s: &OsStr) -> Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(s.as_bytes())
    }
    #[cfg(windows)]
    {
        match s.to_string_lossy() {
            Cow::Borrowed(text) => Cow::Borrowed(text.as_bytes()),
            Cow::Owned(text) => Cow::Owned(text.into_bytes()),
        }
    }
}

/// The bytes of `s`, exactly; on Windows `Err(s)` when it is not valid Unicode.
pub(crate) fn into_bytes(s: OsString) -> Result<Vec<u8>, OsString> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Ok(s.into_vec())
    }
    #[cfg(windows)]
    {
        s.into_string()
            .map(String::into_bytes)
            .map_err(OsString::from)
    }
}

/// The name whose bytes are `b` (the inverse of [`into_bytes`]).
pub(crate) fn from_bytes(b: &[u8]) -> Cow<'_, OsStr> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Cow::Borrowed(OsStr::from_bytes(b))
    }
    #[cfg(windows)]
    {
        match String::from_utf8_lossy(b) {
            Cow::Borrowed(text) => Cow::Borrowed(OsStr::new(text)),
            Cow::Owned(text) => Cow::Owned(OsString::from(text)),
        }
    }
}

/// The name the program was invoked as: the file name (on Windows without `.exe`).
pub(crate) fn program_name(argv0: &OsStr) -> Option<&OsStr> {
    let path = Path::new(argv0);
    if cfg!(windows) && matches!(path.extension(), Some(e) if e.eq_ignore_ascii_case("exe")) {
        return path.file_stem();
    }
    path.file_name()
}

/// Where `mktemp --tmpdir` and `-t` go when neither `$TMPDIR` nor a DIR is given: `/tmp` on
/// Unix, as GNU; on Windows the library's `gettempdir()` (`%TEMP%`, `%TMP%`, the profile's
/// `AppData\Local\Temp`, ...), since Windows has no `/tmp`.
pub(crate) fn default_tmpdir() -> io::Result<Vec<u8>> {
    #[cfg(unix)]
    {
        Ok(b"/tmp".to_vec())
    }
    #[cfg(windows)]
    {
        let dir = tempkit::gettempdir()?;
        into_bytes(dir.into_os_string()).map_err(|dir| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("the temporary directory {:?} is not valid Unicode", dir),
            )
        })
    }
}

/// The error of creating a file named `name/` (Unix: `EISDIR`, as `open(2)` says).
pub(crate) fn is_a_directory() -> io::Error {
    #[cfg(unix)]
    {
        io::Error::from_raw_os_error(libc::EISDIR)
    }
    #[cfg(windows)]
    {
        io::Error::new(io::ErrorKind::InvalidInput, "Is a directory")
    }
}
