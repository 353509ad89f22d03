//! Times the removal of 10,000 files in 100 directories, tempkit against
//! `std::fs::remove_dir_all`, a few times, taking turns (which one goes first alternates); each
//! tree is built untimed just before. Prints one line per round (`tempkit NS std NS`) and the
//! medians: `target/release/examples/tree_once /tmp 5`. Built with
//! `--features tempkit/__test-parallel-removal`, tempkit's removal takes its parallel path on
//! every file system, to compare it with the serial one.
use std::path::Path;
use std::time::{Duration, Instant};

fn tempkit_removal(base: &Path) -> Duration {
    let mut dir = tempkit::Builder::new()
        .dir(base)
        .temporary_directory()
        .expect("create");
    tempkit_bench::ops::fill_tree(dir.path()).expect("build the tree");
    let t = Instant::now();
    dir.cleanup().expect("cleanup");
    t.elapsed()
}

fn std_removal(base: &Path) -> Duration {
    let root = tempkit::Builder::new()
        .dir(base)
        .mkdtemp()
        .expect("mkdtemp");
    tempkit_bench::ops::fill_tree(&root).expect("build the tree");
    let t = Instant::now();
    std::fs::remove_dir_all(&root).expect("remove_dir_all");
    t.elapsed()
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let base = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/tmp".to_string()));
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let (a, b) = if round % 2 == 0 {
            let a = tempkit_removal(&base);
            (a, std_removal(&base))
        } else {
            let b = std_removal(&base);
            (tempkit_removal(&base), b)
        };
        println!("tempkit {} std {}", a.as_nanos(), b.as_nanos());
        ours.push(a);
        theirs.push(b);
    }
    let (a, b) = (median(&mut ours), median(&mut theirs));
    println!(
        "median: tempkit {:?} std {:?} ratio {:.3}",
        a,
        b,
        a.as_secs_f64() / b.as_secs_f64()
    );
}
