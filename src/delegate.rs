//! Trait impls that forward to a type's open [`File`](std::fs::File) (or, for the errors that
//! hand a resource back, to their `io::Error`), written once.
//!
//! `delegate_io!` gives a type and a shared reference to it `Read`, `Write` and `Seek`;
//! `delegate_handles!` gives the type the descriptor (or handle) traits. Both call an
//! accessor: `$get()` returning `&File`, or `$get()?` returning `io::Result<&File>`, whose
//! error the I/O methods return as is. `handing_back_error!` forwards the error traits of an
//! error that hands a resource back to the `io::Error` inside it.

/// `Read`, `Write` and `Seek` for `$ty` and `&$ty`, each method forwarding to `&File`.
macro_rules! delegate_io {
    ($ty:ty, $get:ident() $($try:tt)?) => {
        delegate_io!(@one $ty, $get $($try)?);
        delegate_io!(@one &$ty, $get $($try)?);
    };
    (@one $ty:ty, $get:ident $($try:tt)?) => {
        impl std::io::Read for $ty {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                std::io::Read::read(&mut self.$get()$($try)?, buf)
            }
            fn read_vectored(
                &mut self,
                bufs: &mut [std::io::IoSliceMut<'_>],
            ) -> std::io::Result<usize> {
                std::io::Read::read_vectored(&mut self.$get()$($try)?, bufs)
            }
            fn read_to_end(&mut self, buf: &mut Vec<u8>) -> std::io::Result<usize> {
                std::io::Read::read_to_end(&mut self.$get()$($try)?, buf)
            }
            fn read_to_string(&mut self, buf: &mut String) -> std::io::Result<usize> {
                std::io::Read::read_to_string(&mut self.$get()$($try)?, buf)
            }
        }

        impl std::io::Write for $ty {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                std::io::Write::write(&mut self.$get()$($try)?, buf)
            }
            fn write_vectored(&mut self, bufs: &[std::io::IoSlice<'_>]) -> std::io::Result<usize> {
                std::io::Write::write_vectored(&mut self.$get()$($try)?, bufs)
            }
            fn flush(&mut self) -> std::io::Result<()> {
                std::io::Write::flush(&mut self.$get()$($try)?)
            }
        }

        impl std::io::Seek for $ty {
            fn seek(&mut self, pos: std::io::SeekFrom) -> std::io::Result<u64> {
                std::io::Seek::seek(&mut self.$get()$($try)?, pos)
            }
        }
    };
}

/// The descriptor traits (`AsFd`, `AsRawFd`; on Windows `AsHandle`, `AsRawHandle`).
///
/// `delegate_handles!(T, as_file())`: `$get` returns `&File`, all four are implemented.
///
/// `delegate_handles!(T, as_file()?, else closed_panic, ...)`: `$get` returns
/// `io::Result<&File>`; without a file, `as_fd` and `as_handle` call `self.closed_panic(op)`
/// (which must not return) and `as_raw_fd` is `-1`. `AsRawHandle` is not implemented. The
/// doc comments written before `AsFd`, `AsRawFd` and `AsHandle` go on those impls.
macro_rules! delegate_handles {
    ($ty:ty, $get:ident()) => {
        #[cfg(unix)]
        impl std::os::unix::io::AsFd for $ty {
            fn as_fd(&self) -> std::os::unix::io::BorrowedFd<'_> {
                std::os::unix::io::AsFd::as_fd(self.$get())
            }
        }

        #[cfg(unix)]
        impl std::os::unix::io::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::unix::io::RawFd {
                std::os::unix::io::AsRawFd::as_raw_fd(self.$get())
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsHandle for $ty {
            fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
                std::os::windows::io::AsHandle::as_handle(self.$get())
            }
        }

        #[cfg(windows)]
        impl std::os::windows::io::AsRawHandle for $ty {
            fn as_raw_handle(&self) -> std::os::windows::io::RawHandle {
                std::os::windows::io::AsRawHandle::as_raw_handle(self.$get())
            }
        }
    };
    (
        $ty:ty, $get:ident()?, else $closed:ident,
        $(#[$fd_doc:meta])* AsFd,
        $(#[$raw_doc:meta])* AsRawFd,
        $(#[$handle_doc:meta])* AsHandle $(,)?
    ) => {
        $(#[$fd_doc])*
        #[cfg(unix)]
        impl std::os::unix::io::AsFd for $ty {
            fn as_fd(&self) -> std::os::unix::io::BorrowedFd<'_> {
                match self.$get() {
                    Ok(file) => std::os::unix::io::AsFd::as_fd(file),
                    Err(_) => self.$closed("as_fd"),
                }
            }
        }

        $(#[$raw_doc])*
        #[cfg(unix)]
        impl std::os::unix::io::AsRawFd for $ty {
            fn as_raw_fd(&self) -> std::os::unix::io::RawFd {
                self.$get()
                    .map_or(-1, std::os::unix::io::AsRawFd::as_raw_fd)
            }
        }

        $(#[$handle_doc])*
        #[cfg(windows)]
        impl std::os::windows::io::AsHandle for $ty {
            fn as_handle(&self) -> std::os::windows::io::BorrowedHandle<'_> {
                match self.$get() {
                    Ok(file) => std::os::windows::io::AsHandle::as_handle(file),
                    Err(_) => self.$closed("as_handle"),
                }
            }
        }
    };
}

/// `Display`, `Error` and `From<$ty> for io::Error` for an error type that hands a resource
/// back beside its `io::Error` field `$field`: it prints as that error, its `source()` is that
/// error's own cause (the error itself is already printed), and `?` turns it into that error.
macro_rules! handing_back_error {
    ($ty:ty, $field:ident) => {
        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.$field, f)
            }
        }

        impl std::error::Error for $ty {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                std::error::Error::source(&self.$field)
            }
        }

        impl From<$ty> for std::io::Error {
            fn from(e: $ty) -> std::io::Error {
                e.$field
            }
        }
    };
}
