//! The "dir of 1,000 files dropped, worker held" row (tempkit and the wrapped `tempfile`) of the compare tool, repeated many times
//! with what the drop costs the worker beyond time: the minor page faults of the worker thread
//! during the drop (a fresh worker's stack and heap are faulted in on first touch).
//!
//! ```sh
//! cargo run --release -p tempkit-bench --example async_drop_probe -- /dev/shm 200 [files]
//! ```
//! Prints, per contender, the median, 10th, 25th, 75th and 90th percentile of the time the
//! worker is held, how many drops held it over 100 µs, and the mean minor faults of the worker during the drop. Contenders alternate each round.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn minflt() -> i64 {
    // SAFETY: getrusage writes into the struct it is given, a valid zeroed `rusage`.
    unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut u);
        u.ru_minflt
    }
}

fn fill(root: &Path, files: usize) -> io::Result<()> {
    for i in 0..files {
        std::fs::File::create(root.join(format!("f{i}")))?;
    }
    Ok(())
}

/// The timed part for tempkit (a function of its own for `callgrind --toggle-collect`).
#[inline(never)]
fn timed_drop_tempkit(d: tempkit::tokio::TemporaryDirectory) {
    drop(d);
}

/// The timed part for `tempfile`: its drop wrapped in `spawn_blocking`.
#[inline(never)]
fn timed_drop_spawn_blocking(d: tempfile::TempDir) {
    drop(tokio::task::spawn_blocking(move || drop(d)));
}

/// One round: returns (ns the worker was held, minor faults during the drop).
fn once(tempkit: bool, dir: &Path, files: usize) -> io::Result<(u128, i64)> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let dir: PathBuf = dir.to_owned();
    let out = rt.block_on(async move {
        let held = if tempkit {
            let d = tempkit::Builder::new()
                .dir(&dir)
                .temporary_directory_async()
                .await?;
            fill(d.path(), files)?;
            (Some(d), None)
        } else {
            let d = dir.clone();
            let d = tokio::task::spawn_blocking(move || tempfile::TempDir::new_in(d))
                .await
                .map_err(io::Error::other)??;
            fill(d.path(), files)?;
            (None, Some(d))
        };
        tokio::spawn(async move {
            let f0 = minflt();
            let start = Instant::now();
            match held {
                (Some(d), _) => timed_drop_tempkit(d),
                (_, Some(d)) => timed_drop_spawn_blocking(d),
                _ => {}
            }
            let t = start.elapsed().as_nanos();
            (t, minflt() - f0)
        })
        .await
        .map_err(io::Error::other)
    })?;
    drop(rt);
    Ok(out)
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(args.get(1).map_or("/tmp", String::as_str));
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(100);
    let files: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(1000);
    let mut res: [(Vec<u128>, i64); 2] = [(Vec::new(), 0), (Vec::new(), 0)];
    for r in 0..rounds {
        for k in 0..2 {
            let who = (r + k) % 2;
            let (t, f) = once(who == 0, &dir, files)?;
            res[who].0.push(t);
            res[who].1 += f;
        }
    }
    for (who, (mut ts, faults)) in res.into_iter().enumerate() {
        ts.sort_unstable();
        let q = |p: usize| ts[(ts.len() - 1) * p / 100];
        // A drop whose worker lost its CPU (to the woken pool thread, or anything else) for
        // longer than a wake and a switch take.
        let slow = ts.iter().filter(|&&t| t > 100_000).count();
        println!(
            "{:<32} median {:>7} ns  p10 {:>7}  p25 {:>7}  p75 {:>7}  p90 {:>7}  over 100 us {:>3}  minflt/drop {:.2}",
            if who == 0 {
                "tempkit"
            } else {
                "spawn_blocking(TempDir drop)"
            },
            q(50),
            q(10),
            q(25),
            q(75),
            q(90),
            slow,
            faults as f64 / rounds as f64
        );
    }
    Ok(())
}
