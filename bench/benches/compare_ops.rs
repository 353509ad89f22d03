//! Criterion benchmarks of every operation of the comparison (see the `compare` binary), for
//! tempkit, the `tempfile` crate and the raw system-call floor, on the default temp dir and on
//! tmpfs (`/dev/shm`). CPython is measured by `compare` only.
//!
//! `cargo bench -p tempkit-bench --bench compare_ops [-- FILTER]`

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, SamplingMode};
use tempkit_bench::ops::{self, Mode, Op, Who};

fn dirs() -> Vec<PathBuf> {
    let mut dirs = vec![tempkit::gettempdir().expect("temp dir")];
    if Path::new("/dev/shm").is_dir() {
        dirs.push(PathBuf::from("/dev/shm"));
    }
    dirs
}

fn bench_all(c: &mut Criterion) {
    for dir in dirs() {
        let work = tempkit::Builder::new()
            .dir(&dir)
            .prefix("tempkit-bench-")
            .mkdtemp()
            .expect("scratch directory");
        for op in Op::ALL {
            if !op.per_dir() && dir != dirs()[0] {
                continue;
            }
            let name = if op.per_dir() {
                format!("{}/{}", op.id(), dir.display())
            } else {
                op.id().to_string()
            };
            let mut group = c.benchmark_group(name);
            if op.heavy() {
                // Each tree is built untimed before it is removed: few, equal samples.
                group
                    .sample_size(10)
                    .sampling_mode(SamplingMode::Flat)
                    .measurement_time(Duration::from_secs(10));
            } else {
                group
                    .sample_size(20)
                    .measurement_time(Duration::from_secs(2));
            }
            group.warm_up_time(Duration::from_millis(500));
            for who in [Who::Tempkit, Who::Tempfile, Who::Floor] {
                group.bench_function(who.id(), |b| {
                    b.iter_custom(|iters| {
                        ops::run(op, who, &work, iters, Mode::Full)
                            .unwrap_or_else(|e| panic!("{}: {e}", op.id()))
                            .unwrap_or_else(|| panic!("{} cannot do {}", who.id(), op.id()))
                    })
                });
            }
            group.finish();
        }
        std::fs::remove_dir_all(&work).expect("remove scratch directory");
    }
}

fn main() {
    // The fresh-process operation spawns this binary as its child.
    ops::child_entry();
    let mut c = Criterion::default().configure_from_args();
    bench_all(&mut c);
    c.final_summary();
}
