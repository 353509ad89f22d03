//! `TemporaryFile`: a file with no name, gone when its handle is closed.

use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io;

use crate::create::{self, Kind};
use crate::{error, sys, Builder};

/// A temporary file without a name: it disappears when dropped, even if the process dies.
///
/// Create one with [`TemporaryFile::new`] or [`Builder::temporary_file`] (which explains where
/// the file lives and how). It reads, writes and seeks like a [`File`], also through a shared
/// reference (`&TemporaryFile`), and [`as_file`](TemporaryFile::as_file) /
/// [`into_file`](TemporaryFile::into_file) give the [`File`] itself.
///
/// # Resource leaking
/// None on the unnamed (`O_TMPFILE`) path: the file has no directory entry, so nothing is left
/// behind whatever happens to the process, and the space is freed when the last descriptor is
/// closed. On the fallback path (see [`Builder::temporary_file`]) the name exists between
/// creation and the unlink that follows at once: a `SIGKILL` in that instant leaves it.
///
/// # Platform notes
/// On Windows the file has a name while open but nobody can open it, and the system deletes
/// it at the last close, also if the process is killed (see [`Builder::temporary_file`]).
///
/// # Python equivalent
/// `tempfile.TemporaryFile()` in its default binary mode `'w+b'`; closing is dropping.
///
/// ```
/// use std::io::{Read, Seek, SeekFrom, Write};
/// let mut file = tempkit::TemporaryFile::new()?;
/// file.write_all(b"hello")?;
/// file.seek(SeekFrom::Start(0))?;
/// let mut text = String::new();
/// file.read_to_string(&mut text)?;
/// assert_eq!(text, "hello");
/// # Ok::<(), std::io::Error>(())
/// ```
#[must_use = "dropping a TemporaryFile at once deletes it"]
pub struct TemporaryFile {
    file: File,
}

impl TemporaryFile {
    /// Creates an unnamed file in [`gettempdir()`](crate::gettempdir).
    ///
    /// The same as `Builder::new().temporary_file()`: see [`Builder::temporary_file`].
    ///
    /// # Errors
    /// As [`Builder::temporary_file`].
    ///
    /// # Python equivalent
    /// `tempfile.TemporaryFile()`.
    ///
    /// ```
    /// use std::io::Write;
    /// let mut file = tempkit::TemporaryFile::new()?;
    /// file.write_all(b"data")?;
    /// assert_eq!(file.as_file().metadata()?.len(), 4);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn new() -> io::Result<TemporaryFile> {
        Builder::new().temporary_file()
    }

    /// Creation with `builder`'s options: unnamed if the platform can, else named and
    /// unlinked at once (Windows: named, delete-on-close and unshared).
    pub(crate) fn create(builder: &Builder) -> io::Result<TemporaryFile> {
        // A relative `dir_verbatim` is opened as given, as the `tempfile` crate opens it: no
        // `getcwd` unless the named fallback below needs an absolute directory.
        let given = builder.relative_verbatim_dir();
        let dir = match given {
            Some(given) => Cow::Borrowed(given),
            None => builder.resolved_dir()?,
        };
        create::validate(builder.template(&dir))?;
        if let Some(file) = sys::create_unnamed_file(&dir)
            .map_err(|e| error::with_path(e, "create temporary file in", &dir))?
        {
            return Ok(TemporaryFile { file });
        }
        let dir = match given {
            Some(_) => builder.resolved_dir()?,
            None => dir,
        };
        // The same loop as every creator, in the directory already resolved above (so that
        // both paths agree even if the current directory changes meanwhile).
        let ((file, unlink), path) = create::create(
            builder.template(&dir),
            Kind::File,
            sys::create_temporary_file,
        )?;
        if !unlink {
            // Windows: delete-on-close, no sharing; the system removes the name.
            return Ok(TemporaryFile { file });
        }
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(TemporaryFile { file }),
            Err(e) => {
                drop(file);
                Err(error::with_path(e, "unlink new temporary file", &path))
            }
        }
    }

    /// The open file.
    ///
    /// # Python equivalent
    /// The object `TemporaryFile()` returns is itself the file.
    ///
    /// ```
    /// let file = tempkit::TemporaryFile::new()?;
    /// assert_eq!(file.as_file().metadata()?.len(), 0);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_file(&self) -> &File {
        &self.file
    }

    /// The open file, mutably.
    ///
    /// # Python equivalent
    /// The object `TemporaryFile()` returns is itself the file.
    ///
    /// ```
    /// let mut file = tempkit::TemporaryFile::new()?;
    /// file.as_file_mut().set_len(10)?;
    /// assert_eq!(file.as_file().metadata()?.len(), 10);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn as_file_mut(&mut self) -> &mut File {
        &mut self.file
    }

    /// The open file, owned: the temporary file lives as long as it (or a clone of it) does.
    ///
    /// # Python equivalent
    /// None needed: Python's object is the file.
    ///
    /// ```
    /// use std::io::Write;
    /// let mut file: std::fs::File = tempkit::TemporaryFile::new()?.into_file();
    /// file.write_all(b"still unnamed")?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn into_file(self) -> File {
        self.file
    }
}

impl From<TemporaryFile> for File {
    fn from(file: TemporaryFile) -> File {
        file.into_file()
    }
}

impl fmt::Debug for TemporaryFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporaryFile")
            .field("file", &self.file)
            .finish()
    }
}

delegate_io!(TemporaryFile, as_file());
delegate_handles!(TemporaryFile, as_file());

// The type crosses threads: checked at compile time.
const _: () = {
    fn send_sync<T: Send + Sync>() {}
    #[allow(dead_code)]
    fn check() {
        send_sync::<TemporaryFile>();
        send_sync::<&TemporaryFile>();
    }
};
