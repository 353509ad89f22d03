//! TemporaryFile and NamedTemporaryFile, created and dropped, against the `tempfile` crate and
//! the raw system-call floor, in one run, all in the default temporary directory.

use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;

fn temporary_file(c: &mut Criterion) {
    let dir = tempkit::gettempdir().expect("temporary directory");
    let mut group = c.benchmark_group("TemporaryFile new+drop");
    group.bench_function("tempkit", |b| {
        b.iter(|| {
            drop(black_box(
                tempkit::TemporaryFile::new().expect("TemporaryFile"),
            ))
        })
    });
    group.bench_function("tempfile::tempfile", |b| {
        b.iter(|| drop(black_box(tempfile::tempfile().expect("tempfile"))))
    });
    group.bench_function("raw O_TMPFILE+close", |b| {
        b.iter(|| tempkit_bench::raw_tmpfile_close(black_box(&dir)).expect("raw"))
    });
    group.finish();
}

fn named_temporary_file(c: &mut Criterion) {
    let dir = tempkit::gettempdir().expect("temporary directory");
    let mut group = c.benchmark_group("NamedTemporaryFile new+drop");
    group.bench_function("tempkit", |b| {
        b.iter(|| {
            drop(black_box(
                tempkit::NamedTemporaryFile::new().expect("named"),
            ))
        })
    });
    group.bench_function("tempfile::NamedTempFile", |b| {
        b.iter(|| {
            drop(black_box(
                tempfile::NamedTempFile::new().expect("NamedTempFile"),
            ))
        })
    });
    let base = format!("tempkit-bench-{}-", std::process::id());
    let mut i = 0u64;
    group.bench_function("raw open+unlink+close", |b| {
        b.iter(|| {
            i += 1;
            let path = dir.join(format!("{}{}", base, i));
            tempkit_bench::raw_create_unlink_close(black_box(&path)).expect("raw");
        })
    });
    group.finish();
}

criterion_group!(benches, temporary_file, named_temporary_file);
criterion_main!(benches);
