//! The first `gettempdir()` of a process, timed one process at a time: tempkit, the `tempfile`
//! crate's `env::temp_dir()` and the floor (the same probe by hand: `open(O_TMPFILE)`,
//! `write`, `close`) take turns process by process, in an order shuffled every round; prints
//! the median and the mean of each, and their ratios to the `tempfile` crate.
//! `target/release/examples/fresh_processes /tmp 2000 [PROGRAM]`: the children are this
//! example, or PROGRAM (any binary of this crate that calls [`ops::child_entry`] first, such as
//! `target/release/compare`: where the code of `gettempdir()` lies differs between binaries).
//!
//! Finer than the compare row, whose 11 batches move by a point or two between runs: with
//! thousands of processes it tells tempkit from the floor to a few microseconds.
use std::path::PathBuf;
use std::time::Instant;

use tempkit_bench::ops::{self, Who};

const WHO: [Who; 3] = [Who::Tempfile, Who::Tempkit, Who::Floor];

fn main() -> std::io::Result<()> {
    ops::child_entry();
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().unwrap_or_else(|| "/tmp".into()));
    let rounds: usize = args.next().map_or(Ok(1000), |n| n.parse()).expect("rounds");
    let exe = match args.next() {
        Some(program) => PathBuf::from(program),
        None => ops::self_exe()?,
    };
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); WHO.len()];
    for round in 0..rounds {
        for i in ops::round_order(round) {
            let Some(k) = WHO.iter().position(|&w| w == Who::ALL[i]) else {
                continue;
            };
            let start = Instant::now();
            ops::spawn_child(&exe, WHO[k], &dir)?;
            times[k].push(start.elapsed().as_nanos() as f64 / 1e3);
        }
    }
    let stats: Vec<(f64, f64)> = times
        .iter_mut()
        .map(|t| {
            t.sort_by(f64::total_cmp);
            (t[t.len() / 2], t.iter().sum::<f64>() / t.len() as f64)
        })
        .collect();
    let (median0, mean0) = stats[0];
    for (who, (median, mean)) in WHO.iter().zip(&stats) {
        println!(
            "{:9} median {median:7.1} us ({:.3}x)   mean {mean:7.1} us ({:.3}x)",
            who.id(),
            median / median0,
            mean / mean0
        );
    }
    Ok(())
}
