//! Output as bytes: paths are printed exactly as the file system holds them (non-UTF-8 names
//! survive), diagnostics go to standard error prefixed with the program's name.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use crate::os;

/// Writes `path` and a newline to standard output, flushed. Reports a failed write (a closed
/// pipe, a full disk) as "write error" and returns failure.
pub(crate) fn print_path_line(path: &OsStr, prog: &str) -> ExitCode {
    match write_line(&os::bytes(path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error(prog, format_args!("write error: {}", strerror(&e)));
            ExitCode::FAILURE
        }
    }
}

/// Writes `bytes` and a newline to standard output and flushes it.
pub(crate) fn write_line(bytes: &[u8]) -> io::Result<()> {
    let mut stdout = io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.write_all(b"\n")?;
    stdout.flush()
}

/// Prints `prog: message` on standard error.
pub(crate) fn error(prog: &str, message: fmt::Arguments<'_>) {
    error_bytes(prog, message.to_string().as_bytes());
}

/// Prints `prog: ` and the raw bytes of `message` on standard error.
pub(crate) fn error_bytes(prog: &str, message: &[u8]) {
    let mut line = Vec::with_capacity(prog.len() + message.len() + 3);
    line.extend_from_slice(prog.as_bytes());
    line.extend_from_slice(b": ");
    line.extend_from_slice(message);
    line.push(b'\n');
    // Nothing sensible is left to do when standard error itself cannot be written.
    let _ = io::stderr().lock().write_all(&line);
}

/// The C library's text for the OS error behind `err` ("No such file or directory"), without
/// Rust's " (os error N)"; tempkit's own description when there is no OS error.
///
/// tempkit's errors wrap the OS error in a sentence ("failed to create temporary file in
/// `/x`: No such file or directory (os error 2)"); the number at the end identifies it.
pub(crate) fn strerror(err: &io::Error) -> String {
    let text = err.to_string();
    let code = err.raw_os_error().or_else(|| os_error_code(&text));
    match code {
        Some(code) => {
            let plain = io::Error::from_raw_os_error(code).to_string();
            let tail = format!(" (os error {})", code);
            plain
                .strip_suffix(tail.as_str())
                .unwrap_or(&plain)
                .to_owned()
        }
        None => text,
    }
}

/// The N of a message ending in "(os error N)".
fn os_error_code(text: &str) -> Option<i32> {
    let rest = text.strip_suffix(')')?;
    let start = rest.rfind("(os error ")? + "(os error ".len();
    rest[start..].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strerror_finds_the_os_error_inside_a_wrapped_error() {
        let wrapped = io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "failed in `/a (os error 5)`: {}",
                io::Error::from_raw_os_error(2)
            ),
        );
        assert_eq!(
            strerror(&wrapped),
            strerror(&io::Error::from_raw_os_error(2))
        );
        assert!(!strerror(&wrapped).contains("os error"));
        let own = io::Error::new(io::ErrorKind::AlreadyExists, "no name left");
        assert_eq!(strerror(&own), "no name left");
    }
}
