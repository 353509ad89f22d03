//! mkstemp + close + unlink against the raw system-call sequence, in one run.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn mkstemp_vs_floor(c: &mut Criterion) {
    let dir = tempkit::mkdtemp().expect("benchmark directory");
    let builder = {
        let mut b = tempkit::Builder::new();
        b.dir(&dir);
        b
    };
    let mut group = c.benchmark_group("mkstemp+close+unlink");
    group.bench_function("tempkit", |b| {
        b.iter(|| {
            let (file, path) = builder.mkstemp().expect("mkstemp");
            drop(file);
            std::fs::remove_file(black_box(&path)).expect("unlink");
        })
    });
    let mut i = 0u64;
    group.bench_function("raw syscalls", |b| {
        b.iter(|| {
            i += 1;
            let path = dir.join(format!("tmp{:08}", i));
            tempkit_bench::raw_create_close_unlink(black_box(&path)).expect("raw");
        })
    });
    group.finish();
    std::fs::remove_dir(&dir).expect("remove benchmark directory");
}

criterion_group!(benches, mkstemp_vs_floor);
criterion_main!(benches);
