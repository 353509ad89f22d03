//! TemporaryDirectory against the `tempfile` crate and `std::fs::remove_dir_all`, in one run:
//!
//! - an empty directory created and dropped, on tmpfs (`/dev/shm`): tempkit, `tempfile::TempDir`
//!   and the floor (`mkdir` + `rmdir`);
//! - removing a tree of 10,000 files in 100 directories, on the default temporary directory
//!   and on tmpfs: tempkit's secure removal against `std::fs::remove_dir_all`. The tree is
//!   built outside the timed part.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode};

const SHM: &str = "/dev/shm";

fn empty_create_drop(c: &mut Criterion) {
    let base = Path::new(SHM);
    let mut group = c.benchmark_group("empty dir create+drop (tmpfs)");
    let builder = {
        let mut b = tempkit::Builder::new();
        b.dir(base);
        b
    };
    group.bench_function("tempkit TemporaryDirectory", |b| {
        b.iter(|| drop(black_box(builder.temporary_directory().expect("create"))))
    });
    group.bench_function("tempfile TempDir", |b| {
        b.iter(|| drop(black_box(tempfile::TempDir::new_in(base).expect("create"))))
    });
    let mut i = 0u64;
    let pid = std::process::id();
    group.bench_function("floor mkdir+rmdir", |b| {
        b.iter(|| {
            i += 1;
            let path = base.join(format!("floor-{}-{}", pid, i));
            std::fs::create_dir(black_box(&path)).expect("mkdir");
            std::fs::remove_dir(&path).expect("rmdir");
        })
    });
    group.finish();
}

fn tree_removal(c: &mut Criterion) {
    let bases = [
        (
            "default temp dir",
            tempkit::gettempdir().expect("gettempdir"),
        ),
        ("tmpfs", PathBuf::from(SHM)),
    ];
    for (label, base) in bases.iter() {
        let mut group = c.benchmark_group(format!("remove 10,000 files in 100 dirs ({})", label));
        // Building each tree takes far longer than removing it: as few rounds as criterion allows.
        group.sampling_mode(SamplingMode::Flat);
        group.sample_size(10);
        group.warm_up_time(Duration::from_millis(1));
        group.bench_function("tempkit cleanup", |b| {
            b.iter_batched(
                || {
                    let builder = tempkit::Builder::new().dir(base).clone();
                    let dir = builder.temporary_directory().expect("create");
                    tempkit_bench::ops::fill_tree(dir.path()).expect("build the tree");
                    dir
                },
                |mut dir| dir.cleanup().expect("cleanup"),
                BatchSize::PerIteration,
            )
        });
        group.bench_function("std remove_dir_all", |b| {
            b.iter_batched(
                || {
                    let root = tempkit::Builder::new()
                        .dir(base)
                        .mkdtemp()
                        .expect("mkdtemp");
                    tempkit_bench::ops::fill_tree(&root).expect("build the tree");
                    root
                },
                |root| std::fs::remove_dir_all(black_box(&root)).expect("remove_dir_all"),
                BatchSize::PerIteration,
            )
        });
        group.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = empty_create_drop, tree_removal
}
criterion_main!(benches);
