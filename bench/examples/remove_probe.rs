//! The removal of the "dir of 1,000 files dropped, until removed" rows alone: a directory of
//! 1,000 empty files removed by `tempkit::remove_tree` and by `std::fs::remove_dir_all`,
//! alternating, each round in a fresh directory (made untimed).
//!
//! ```sh
//! cargo run --release -p tempkit-bench --example remove_probe -- /tmp 60
//! ```
//! Prints, per contender, the median, 10th and 90th percentile of the removal's time.

use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

fn fill(root: &Path, files: usize) -> io::Result<()> {
    std::fs::create_dir(root)?;
    for i in 0..files {
        std::fs::File::create(root.join(format!("f{i}")))?;
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let base = PathBuf::from(args.get(1).map_or("/tmp", String::as_str));
    let rounds: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut times: [Vec<u128>; 2] = [Vec::new(), Vec::new()];
    for round in 0..rounds {
        for k in 0..2 {
            let who = (round + k) % 2;
            let dir = base.join(format!(
                "remove-probe-{}-{}",
                std::process::id(),
                2 * round + k
            ));
            fill(&dir, 1000)?;
            let start = Instant::now();
            if who == 0 {
                tempkit::remove_tree(&dir)?;
            } else {
                std::fs::remove_dir_all(&dir)?;
            }
            times[who].push(start.elapsed().as_nanos());
        }
    }
    for (who, mut ts) in times.into_iter().enumerate() {
        ts.sort_unstable();
        let q = |p: usize| ts[(ts.len() - 1) * p / 100];
        let name = ["tempkit::remove_tree", "std::fs::remove_dir_all"][who];
        println!(
            "{:<24} median {:>9} ns  p10 {:>9}  p90 {:>9}",
            name,
            q(50),
            q(10),
            q(90)
        );
    }
    Ok(())
}
