//! The async rows (issue 25): `tempkit::tokio` against the `async-tempfile` crate and against
//! `spawn_blocking` around the `tempfile` crate, on tokio's multi-thread runtime (2 workers).

use std::hint::black_box;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::runtime::Runtime;

use crate::ops::{Mode, Op, Who};

/// Files created at once by [`Op::AsyncNamed1000`], and in the directory of the
/// [`Op::AsyncDirDrop`] rows.
pub const AT_ONCE: usize = 1000;
/// Bytes written to each file of [`Op::AsyncNamed1000`].
pub const WRITE_BYTES: usize = 4096;

static DATA: [u8; WRITE_BYTES] = [0x5A; WRITE_BYTES];

fn runtime() -> io::Result<Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn other(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(e.to_string())
}

/// Times `n` operations `op` by `who` in `dir` (see [`crate::ops::run`]). The runtime is
/// built untimed: one for all of [`Op::AsyncNamed1000`], one per directory for the directory
/// rows (its drop is what waits for a removal handed to its blocking pool).
pub fn run(op: Op, who: Who, dir: &Path, n: u64, mode: Mode) -> io::Result<Option<Duration>> {
    if !who.takes_part(op) {
        return Ok(None);
    }
    let mut total = Duration::ZERO;
    if op == Op::AsyncNamed1000 {
        let rt = runtime()?;
        if mode == Mode::Full {
            for _ in 0..n {
                total += named_1000(&rt, who, dir)?;
            }
        }
        return Ok(Some(total));
    }
    for _ in 0..n {
        let rt = runtime()?;
        if mode == Mode::SetupOnly {
            // The same tree, made without the contender: its calls are subtracted.
            fill(&tempkit::Builder::new().dir(dir).mkdtemp()?)?;
            continue;
        }
        let (blocked, rt) = dir_drop(rt, who, dir)?;
        let start = Instant::now();
        drop(rt);
        total += match op {
            Op::AsyncDirDrop => blocked,
            // Until the tree is gone: the runtime's drop waits for the blocking pool.
            _ => blocked + start.elapsed(),
        };
    }
    Ok(Some(total))
}

/// `AT_ONCE` empty files in `root`.
fn fill(root: &Path) -> io::Result<()> {
    for i in 0..AT_ONCE {
        std::fs::File::create(root.join(format!("f{i}")))?;
    }
    Ok(())
}

/// 1,000 tasks at once, each: create a named file, write 4 KiB, drop it.
fn named_1000(rt: &Runtime, who: Who, dir: &Path) -> io::Result<Duration> {
    let dir: Arc<PathBuf> = Arc::new(dir.to_owned());
    rt.block_on(async move {
        let start = Instant::now();
        let mut tasks = Vec::with_capacity(AT_ONCE);
        for _ in 0..AT_ONCE {
            let dir = Arc::clone(&dir);
            tasks.push(tokio::spawn(async move { one_named(who, &dir).await }));
        }
        for t in tasks {
            t.await.map_err(other)??;
        }
        Ok(start.elapsed())
    })
}

async fn one_named(who: Who, dir: &Path) -> io::Result<()> {
    match who {
        Who::Tempkit => {
            let mut f = tempkit::Builder::new()
                .dir(dir)
                .named_temporary_file_async()
                .await?;
            f.write_all(&DATA).await?;
            f.flush().await?;
            drop(black_box(f));
        }
        Who::AsyncTempfile => {
            let mut f = async_tempfile::TempFile::new_in(dir).await.map_err(other)?;
            f.write_all(&DATA).await?;
            f.flush().await?;
            drop(black_box(f));
        }
        Who::Tempfile => {
            // Every blocking call wrapped in spawn_blocking, as users of the crate do.
            let d = dir.to_owned();
            let mut f = tokio::task::spawn_blocking(move || tempfile::NamedTempFile::new_in(d))
                .await
                .map_err(other)??;
            let f = tokio::task::spawn_blocking(move || f.write_all(&DATA).map(|()| f))
                .await
                .map_err(other)??;
            tokio::task::spawn_blocking(move || drop(black_box(f)))
                .await
                .map_err(other)?;
        }
        _ => return Err(other("not an async contender")),
    }
    Ok(())
}

/// A contender's directory, held by value: the timed drop is that of the object itself, as a
/// user's code drops it (a `Box<dyn Send>` around it would add its own free to the worker's
/// time for the contenders dropped in place, and move it to the pool for the wrapped one).
enum Held {
    Tempkit(tempkit::tokio::TemporaryDirectory),
    AsyncTempfile(async_tempfile::TempDir),
    Tempfile(tempfile::TempDir),
}

/// A directory of 1,000 files made by `who` (untimed), then dropped in a task: returns how
/// long the drop held the worker, and the runtime (whose drop waits for a handed-over
/// removal).
///
/// Each contender made its directory on the blocking pool (tempkit and the wrapped `tempfile`)
/// or with `tokio::fs` (async-tempfile, also the blocking pool), so each finds the same idle
/// pool thread when it drops: no contender pays for starting one.
fn dir_drop(rt: Runtime, who: Who, dir: &Path) -> io::Result<(Duration, Runtime)> {
    let dir = dir.to_owned();
    let blocked = rt.block_on(async move {
        let held = match who {
            Who::Tempkit => {
                let d = tempkit::Builder::new()
                    .dir(&dir)
                    .temporary_directory_async()
                    .await?;
                fill(d.path())?;
                Held::Tempkit(d)
            }
            Who::AsyncTempfile => {
                let d = async_tempfile::TempDir::new_in(dir.clone())
                    .await
                    .map_err(other)?;
                fill(d.dir_path())?;
                Held::AsyncTempfile(d)
            }
            Who::Tempfile => {
                let d = dir.clone();
                let d = tokio::task::spawn_blocking(move || tempfile::TempDir::new_in(d))
                    .await
                    .map_err(other)??;
                fill(d.path())?;
                Held::Tempfile(d)
            }
            _ => return Err(other("not an async contender")),
        };
        tokio::spawn(async move {
            let start = Instant::now();
            match held {
                Held::Tempkit(d) => drop(d),
                Held::AsyncTempfile(d) => drop(d),
                // Wrapped: the drop itself goes to the blocking pool.
                Held::Tempfile(d) => drop(tokio::task::spawn_blocking(move || drop(d))),
            }
            start.elapsed()
        })
        .await
        .map_err(other)
    })?;
    Ok((blocked, rt))
}
