//! What each step of the publishing sequence costs in the kernel, measured as the sequence
//! grows by one step at a time (all hand-written with `libc`, no library code):
//!
//! ```text
//! cargo run --release -p tempkit-bench --bin publish_steps -- /dev/shm /tmp
//! ```
//!
//! Each variant replaces `DIR/published` with 4 KiB through a temporary file `DIR/.t`:
//!
//! | variant | calls |
//! |---|---|
//! | `by-path` | `open(DIR/.t, O_CREAT\|O_EXCL)`, `write`, `rename(DIR/.t, DIR/published)`, `close`: the `tempfile` crate's `new_in` + `persist` |
//! | `dirfd-rdonly` | `open(DIR, O_RDONLY\|O_DIRECTORY)`, the same three relative to it (`openat`, `renameat`), two `close`s |
//! | `dirfd` | the same with `O_PATH` (tempkit's atomic-only mode) |
//! | `+fstatat` | and `fstatat(dirfd, "published")`: the destination's owner and mode |
//! | `+fstat` | and `fstat` of the new file: are owner and mode already right? (tempkit's atomic-only sequence) |
//! | `+fchmod` | and `fchmod` (the sequence before `fstat` could show it unneeded, with `statx` in place of `fstat`) |
//! | `durable-by-path` | `by-path` plus `fsync` of the file and `open` + `fsync` + `close` of `DIR`: `tempfile` + `sync_all` |
//! | `durable` | `+fstat` with `O_RDONLY`, `fsync` of the file before the rename and of `DIR` after (tempkit's durable sequence) |
//!
//! The variants take turns in batches (about 20 ms each), 11 rounds; each figure is the
//! median of the rounds in ns per replacement, and the step is its difference to the row it
//! grows from. The floor of any implementation that keeps what a step keeps is that row.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use tempkit_bench::floor::check;

const DATA: [u8; 4096] = [0x5A; 4096];
const ROUNDS: usize = 11;

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    ByPath,
    DirfdRdonly,
    Dirfd,
    Fstatat,
    Fstat,
    Fchmod,
    DurableByPath,
    Durable,
}

const VARIANTS: [(Variant, &str, Option<Variant>); 8] = [
    (Variant::ByPath, "by-path", None),
    (Variant::DirfdRdonly, "dirfd-rdonly", Some(Variant::ByPath)),
    (Variant::Dirfd, "dirfd", Some(Variant::ByPath)),
    (Variant::Fstatat, "+fstatat", Some(Variant::Dirfd)),
    (Variant::Fstat, "+fstat", Some(Variant::Fstatat)),
    (Variant::Fchmod, "+fchmod", Some(Variant::Fstat)),
    (Variant::DurableByPath, "durable-by-path", None),
    (Variant::Durable, "durable", Some(Variant::DurableByPath)),
];

struct Paths {
    dir: CString,
    temp: CString,
    dest: CString,
}

const TEMP: &std::ffi::CStr = c".t";
const DEST: &std::ffi::CStr = c"published";
const FILE_FLAGS: libc::c_int =
    libc::O_RDWR | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_CLOEXEC;

/// One replacement of `published` by `variant`.
fn replace(p: &Paths, variant: Variant) -> io::Result<()> {
    let durable = matches!(variant, Variant::DurableByPath | Variant::Durable);
    // SAFETY: every path is NUL-terminated and outlives the calls; `st` is written by the
    // call before it is read; `DATA` is a valid buffer; each descriptor is closed once.
    unsafe {
        if matches!(variant, Variant::ByPath | Variant::DurableByPath) {
            let fd = check(libc::open(
                p.temp.as_ptr(),
                FILE_FLAGS,
                0o600 as libc::c_uint,
            ))?;
            let written = libc::write(fd, DATA.as_ptr().cast(), DATA.len());
            if durable {
                check(libc::fsync(fd))?;
            }
            let renamed = check(libc::rename(p.temp.as_ptr(), p.dest.as_ptr()));
            libc::close(fd);
            if written != DATA.len() as isize {
                return Err(io::Error::last_os_error());
            }
            renamed?;
            if durable {
                let dfd = check(libc::open(
                    p.dir.as_ptr(),
                    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
                ))?;
                let synced = check(libc::fsync(dfd));
                libc::close(dfd);
                synced?;
            }
            return Ok(());
        }
        let access = if matches!(variant, Variant::DirfdRdonly | Variant::Durable) {
            libc::O_RDONLY
        } else {
            libc::O_PATH
        };
        let dfd = check(libc::open(
            p.dir.as_ptr(),
            access | libc::O_DIRECTORY | libc::O_CLOEXEC,
        ))?;
        let result = (|| {
            let mut st: libc::stat = std::mem::zeroed();
            let stat_dest = !matches!(variant, Variant::DirfdRdonly | Variant::Dirfd);
            if stat_dest {
                check(libc::fstatat(
                    dfd,
                    DEST.as_ptr(),
                    &mut st,
                    libc::AT_SYMLINK_NOFOLLOW,
                ))?;
            }
            let fd = check(libc::openat(
                dfd,
                TEMP.as_ptr(),
                FILE_FLAGS,
                0o600 as libc::c_uint,
            ))?;
            let done = (|| {
                if libc::write(fd, DATA.as_ptr().cast(), DATA.len()) != DATA.len() as isize {
                    return Err(io::Error::last_os_error());
                }
                if matches!(variant, Variant::Fstat | Variant::Fchmod | Variant::Durable) {
                    let mut mine: libc::stat = std::mem::zeroed();
                    check(libc::fstat(fd, &mut mine))?;
                }
                if variant == Variant::Fchmod {
                    check(libc::fchmod(fd, st.st_mode & 0o7777))?;
                }
                if durable {
                    check(libc::fsync(fd))?;
                }
                check(libc::renameat(dfd, TEMP.as_ptr(), dfd, DEST.as_ptr()))?;
                if durable {
                    check(libc::fsync(dfd))?;
                }
                Ok(())
            })();
            libc::close(fd);
            done
        })();
        libc::close(dfd);
        result
    }
}

fn batch(p: &Paths, variant: Variant, n: u64) -> io::Result<Duration> {
    let start = Instant::now();
    for _ in 0..n {
        replace(p, variant)?;
    }
    Ok(start.elapsed())
}

fn measure(dir: &Path) -> io::Result<()> {
    let work = dir.join(format!("publish-steps-{}", std::process::id()));
    std::fs::create_dir(&work)?;
    let c = |tail: &[u8]| {
        let mut bytes = work.as_os_str().as_bytes().to_vec();
        bytes.extend_from_slice(tail);
        CString::new(bytes)
    };
    let p = Paths {
        dir: c(b"")?,
        temp: c(b"/.t")?,
        dest: c(b"/published")?,
    };
    std::fs::write(work.join("published"), b"old")?;
    let result = (|| {
        // Batch sizes from a warm-up of about 20 ms each.
        let mut sizes = Vec::new();
        for (variant, _, _) in VARIANTS {
            let mut n = 16;
            while batch(&p, variant, n)? < Duration::from_millis(20) {
                n *= 2;
            }
            sizes.push(n);
        }
        let mut rounds = vec![Vec::new(); VARIANTS.len()];
        for round in 0..ROUNDS {
            for k in 0..VARIANTS.len() {
                let i = (k + round) % VARIANTS.len();
                let t = batch(&p, VARIANTS[i].0, sizes[i])?;
                rounds[i].push(t.as_nanos() as f64 / sizes[i] as f64);
            }
        }
        let medians: Vec<f64> = rounds
            .iter_mut()
            .map(|r| {
                r.sort_by(f64::total_cmp);
                r[r.len() / 2]
            })
            .collect();
        println!("{}:", dir.display());
        println!("| variant | ns/op | step (ns) | vs by-path |");
        println!("|---|--:|--:|--:|");
        for (i, (_, name, from)) in VARIANTS.iter().enumerate() {
            let base = if i < 6 { medians[0] } else { medians[6] };
            let step = from.map_or(String::from("-"), |f| {
                let j = VARIANTS.iter().position(|v| v.0 == f).unwrap_or(0);
                format!("{:+.0}", medians[i] - medians[j])
            });
            println!(
                "| {} | {:.0} | {} | {:.3}x |",
                name,
                medians[i],
                step,
                medians[i] / base
            );
        }
        Ok(())
    })();
    let _ = std::fs::remove_dir_all(&work);
    result
}

fn main() -> io::Result<()> {
    let dirs: Vec<String> = std::env::args().skip(1).collect();
    if dirs.is_empty() {
        eprintln!("usage: publish_steps DIR...");
        std::process::exit(2);
    }
    for dir in dirs {
        measure(Path::new(&dir))?;
    }
    Ok(())
}
