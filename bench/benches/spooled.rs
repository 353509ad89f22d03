//! SpooledTemporaryFile: writing below max_size against a `Vec<u8>` and the tempfile crate's
//! SpooledTempFile, and rolling 1 MiB over against writing 1 MiB to a TemporaryFile directly.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::io::Write;

const MIB: usize = 1 << 20;
const CHUNK: usize = 4096;

fn data() -> Vec<u8> {
    (0..MIB).map(|i| (i % 251) as u8).collect()
}

fn write_in_memory(c: &mut Criterion) {
    let data = data();
    let mut group = c.benchmark_group("write 1 MiB in 4 KiB chunks, in memory");
    group.throughput(Throughput::Bytes(MIB as u64));
    group.bench_function("Vec<u8> extend_from_slice", |b| {
        b.iter(|| {
            let mut v = Vec::new();
            for chunk in black_box(&data).chunks(CHUNK) {
                v.extend_from_slice(chunk);
            }
            black_box(v)
        })
    });
    group.bench_function("tempkit SpooledTemporaryFile", |b| {
        b.iter(|| {
            let mut f = tempkit::SpooledTemporaryFile::new(2 * MIB);
            for chunk in black_box(&data).chunks(CHUNK) {
                f.write_all(chunk).expect("write");
            }
            assert!(!f.is_rolled_over());
            black_box(f)
        })
    });
    group.bench_function("tempfile SpooledTempFile", |b| {
        b.iter(|| {
            let mut f = tempfile::SpooledTempFile::new(2 * MIB);
            for chunk in black_box(&data).chunks(CHUNK) {
                f.write_all(chunk).expect("write");
            }
            assert!(!f.is_rolled());
            black_box(f)
        })
    });
    group.finish();
}

fn rollover(c: &mut Criterion) {
    let data = data();
    let dir = tempkit::mkdtemp().expect("benchmark directory");
    let builder = {
        let mut b = tempkit::Builder::new();
        b.dir(&dir);
        b
    };
    let mut group = c.benchmark_group("move 1 MiB to disk");
    group.throughput(Throughput::Bytes(MIB as u64));
    // Each routine returns its file, so closing it (and freeing the pages) is not timed.
    group.bench_function("tempkit TemporaryFile + write_all (baseline)", |b| {
        b.iter_batched(
            || (),
            |()| {
                let mut f = builder.temporary_file().expect("temporary_file");
                f.write_all(black_box(&data)).expect("write");
                f
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("tempkit SpooledTemporaryFile::rollover", |b| {
        b.iter_batched(
            || {
                let mut f = builder.spooled_temporary_file(0);
                f.write_all(&data).expect("write");
                f
            },
            |mut f| {
                f.rollover().expect("rollover");
                f
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("tempfile SpooledTempFile::roll", |b| {
        b.iter_batched(
            || {
                let mut f = tempfile::spooled_tempfile_in(2 * MIB, &dir);
                f.write_all(&data).expect("write");
                f
            },
            |mut f| {
                f.roll().expect("roll");
                f
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
    std::fs::remove_dir(&dir).expect("remove benchmark directory");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = write_in_memory, rollover
}
criterion_main!(benches);
