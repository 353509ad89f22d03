//! The platform seam: every platform-specific system call tempkit makes goes through here.
//!
//! Each implementation offers the same functions with the same signatures:
//!
//! | function | what it does |
//! |---|---|
//! | `create_file(path)` | a new file, read-write, mode 0600, no-follow, close-on-exec; `AlreadyExists` if the name is taken |
//! | `create_dir(path)` | a new directory, mode 0700; `AlreadyExists` if the name is taken |
//! | `fork_generation()` | a number that changes in a forked child (no system call in the steady state) |
//! | `fill_random(buf)` | bytes from the OS's random source |
//! | `platform_temp_dirs()` | the platform's fixed candidates for the default temporary directory |
//! | `DirHandle`, `open_dir`, `open_subdir`, `open_parent`, `dir_id`, `entry_kind`, `read_entries`, `remove_file_at`, `remove_dir_at`, `make_dir_usable`, `make_subdir_usable`, `make_path_usable`, `is_not_dir`, `is_not_empty`, `is_a_dir` | the primitives of the tree removal in `remove.rs`: descriptor-relative and no-follow on Unix, by path with `std` elsewhere |
//!
//! `unix.rs` is the reference implementation; `fallback.rs` uses only `std` and compiles
//! everywhere (it is what Windows builds with).

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub(crate) use unix::*;

#[cfg(not(unix))]
mod fallback;
#[cfg(not(unix))]
pub(crate) use fallback::*;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// Random bytes from std's hasher keys, which std seeds from the OS's random source once per
/// thread. The last resort when the OS's own interface fails (a very old kernel, a sandbox).
pub(crate) fn fill_random_from_std(buf: &mut [u8]) {
    for (i, chunk) in buf.chunks_mut(8).enumerate() {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_usize(i);
        let bytes = hasher.finish().to_le_bytes();
        chunk.copy_from_slice(&bytes[..chunk.len()]);
    }
}
