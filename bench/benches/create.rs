//! mkstemp + close + unlink against the raw system-call sequence, in one run.
//!
//! Measured twice: by the wall clock (criterion's default), and by the CPU time of the
//! benchmarking thread (user + system). On a shared machine the wall clock also counts the time
//! spent waiting for a CPU, which drifts with the load of other processes between the two
//! functions; the CPU time counts only the work done, in user space and in the kernel.
//!
//! The directory is a fresh one in the default temporary directory: set `TMPDIR` to measure on
//! another file system (the cost of the system calls varies a lot between file systems).

use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use criterion::{criterion_group, criterion_main, Criterion};
use std::hint::black_box;
use std::time::Duration;

fn mkstemp_vs_floor<M: Measurement>(c: &mut Criterion<M>, group_name: &str) {
    let dir = tempkit::mkdtemp().expect("benchmark directory");
    let builder = {
        let mut b = tempkit::Builder::new();
        b.dir(&dir);
        b
    };
    let mut group = c.benchmark_group(group_name);
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

fn wall_time(c: &mut Criterion) {
    mkstemp_vs_floor(c, "mkstemp+close+unlink");
}

fn cpu_time(c: &mut Criterion<ThreadCpuTime>) {
    mkstemp_vs_floor(c, "mkstemp+close+unlink (cpu time)");
}

/// The CPU time (user + system) of the calling thread, as a criterion measurement.
struct ThreadCpuTime;

impl ThreadCpuTime {
    fn now() -> Duration {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec for clock_gettime to fill in.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
        Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = Duration;
    type Value = Duration;

    fn start(&self) -> Duration {
        Self::now()
    }
    fn end(&self, start: Duration) -> Duration {
        Self::now().saturating_sub(start)
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        // Nanoseconds, like the wall clock's: reuse its formatting.
        static NANOSECONDS: WallTime = WallTime;
        NANOSECONDS.formatter()
    }
}

criterion_group!(wall, wall_time);
criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpuTime);
    targets = cpu_time
}
criterion_main!(wall, cpu);
