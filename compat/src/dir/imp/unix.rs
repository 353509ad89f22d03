use std::io;
use std::path::PathBuf;

/// Creates the directory at exactly `path` with tempkit (one `mkdir`), mode 0777 minus the
/// umask as `std::fs::create_dir` (the crate's default) unless `permissions` says otherwise.
pub fn create(
    path: PathBuf,
    permissions: Option<&std::fs::Permissions>,
) -> io::Result<tempkit::TemporaryDirectory> {
    let mut builder = crate::dir::exact(&path)?;
    #[cfg(not(target_os = "wasi"))]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.dir_mode(permissions.map_or(0o777, |p| p.mode()));
    }
    #[cfg(target_os = "wasi")]
    let _ = permissions;
    builder.temporary_directory()
}
