//! The never-blocked figures of issue 25: on a current-thread tokio runtime, one task ticks
//! every millisecond while another drops a directory of 10,000 files in 100 directories.
//! Prints, for each way of dropping it, the ticker's longest gap and its 99th percentile
//! over the removal, and how long the tree took to go, per round and as medians:
//!
//! ```text
//! cargo run --release -p tempkit-bench --example tokio_never_blocked -- /tmp 5
//! ```
//!
//! The ways: no drop at all (the ticker's own noise), `tempkit::tokio::TemporaryDirectory`
//! (removal on the blocking pool), the blocking `tempkit::TemporaryDirectory` and the
//! `async-tempfile` crate's `TempDir` (both remove in place, on the worker).
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest gap, 99th-percentile gap, time until the tree was gone.
type Figures = (Duration, Duration, Duration);

fn tick_while<D: Send + 'static>(held: Option<D>, path: Option<PathBuf>) -> Figures {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let out = rt.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_ticker = Arc::clone(&stop);
        let ticker = tokio::spawn(async move {
            let mut gaps = Vec::new();
            let mut last = Instant::now();
            while !stop_ticker.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let now = Instant::now();
                gaps.push(now - last);
                last = now;
            }
            gaps
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        let start = Instant::now();
        tokio::spawn(async move { drop(held) })
            .await
            .expect("drop task");
        match &path {
            Some(path) => {
                while path.symlink_metadata().is_ok() {
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
            }
            None => tokio::time::sleep(Duration::from_millis(300)).await,
        }
        let gone = start.elapsed();
        tokio::time::sleep(Duration::from_millis(5)).await;
        stop.store(true, Ordering::Relaxed);
        let mut gaps = ticker.await.expect("ticker");
        gaps.sort();
        let p99 = gaps[(gaps.len() * 99 / 100).min(gaps.len() - 1)];
        (*gaps.last().expect("ticks"), p99, gone)
    });
    drop(rt);
    out
}

fn tree(base: &Path) -> tempkit::TemporaryDirectory {
    let dir = tempkit::Builder::new()
        .dir(base)
        .temporary_directory()
        .expect("create");
    tempkit_bench::ops::fill_tree(dir.path()).expect("build the tree");
    dir
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let base = PathBuf::from(args.next().unwrap_or_else(|| "/tmp".into()));
    let rounds: usize = args.next().map_or(5, |n| n.parse().expect("rounds"));
    let names = [
        "no drop (ticker noise)",
        "tempkit::tokio::TemporaryDirectory",
        "tempkit::TemporaryDirectory (blocking)",
        "async_tempfile::TempDir",
    ];
    let mut all: Vec<Vec<Figures>> = vec![Vec::new(); names.len()];
    for round in 0..rounds {
        for (i, name) in names.iter().enumerate() {
            let f = match i {
                0 => tick_while::<()>(None, None),
                1 => {
                    let d = tempkit::tokio::TemporaryDirectory::from(tree(&base));
                    let p = d.path().to_owned();
                    tick_while(Some(d), Some(p))
                }
                2 => {
                    let d = tree(&base);
                    let p = d.path().to_owned();
                    tick_while(Some(d), Some(p))
                }
                _ => {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .build()
                        .expect("runtime");
                    let d = rt
                        .block_on(async_tempfile::TempDir::new_in(base.clone()))
                        .expect("async-tempfile TempDir");
                    drop(rt);
                    tempkit_bench::ops::fill_tree(d.dir_path()).expect("build the tree");
                    let p = d.dir_path().clone();
                    tick_while(Some(d), Some(p))
                }
            };
            println!(
                "round {round} {name}: longest gap {}, p99 gap {}, tree gone after {}",
                ms(f.0),
                ms(f.1),
                ms(f.2)
            );
            all[i].push(f);
        }
    }
    println!(
        "\nmedians over {rounds} rounds (10,000 files in 100 dirs, {}):",
        base.display()
    );
    println!("| drop | longest tick gap | p99 tick gap | tree gone after |");
    println!("|---|--:|--:|--:|");
    for (i, name) in names.iter().enumerate() {
        let v = &all[i];
        println!(
            "| {name} | {} | {} | {} |",
            ms(median(v.iter().map(|f| f.0).collect())),
            ms(median(v.iter().map(|f| f.1).collect())),
            if i == 0 {
                "-".to_owned()
            } else {
                ms(median(v.iter().map(|f| f.2).collect()))
            }
        );
    }
}
