use std::io;
use std::path::PathBuf;

fn not_supported<T>(msg: &str) -> io::Result<T> {
    Err(io::Error::new(io::ErrorKind::Other, msg))
}

/// Creates the directory at exactly `path` with tempkit (on Windows: an owner-only ACL, where
/// the crate inherits the parent's).
pub fn create(
    path: PathBuf,
    permissions: Option<&std::fs::Permissions>,
) -> io::Result<tempkit::TemporaryDirectory> {
    if permissions.map_or(false, |p| p.readonly()) {
        return not_supported("changing permissions is not supported on this platform");
    }
    crate::dir::exact(&path)?.temporary_directory()
}
