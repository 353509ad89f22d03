//! A check of the criterion figures that holds up on a loaded machine: the implementations
//! take turns (A B C, A B C, ...) in short rounds, so that load that comes and goes hits
//! each alike, and the medians of the per-round ratios are reported, for wall-clock time and
//! for the thread's CPU time (user + system, which waiting for a core does not inflate).
//!
//! ```sh
//! cargo run --release -p tempkit-bench --example interleaved -- 40 1000
//! ```
//! Arguments: rounds (default 40) and iterations per round (default 1000).

use std::time::Instant;

fn cpu_nanos() -> u128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

type Op<'a> = (&'a str, Box<dyn FnMut() + 'a>);

fn compare(title: &str, rounds: usize, iters: usize, mut ops: Vec<Op<'_>>) {
    let k = ops.len();
    let mut wall = vec![Vec::new(); k];
    let mut cpu = vec![Vec::new(); k];
    for round in 0..rounds {
        for j in 0..k {
            // Rotate the order each round so that no implementation always goes first.
            let i = (j + round) % k;
            let (w0, c0) = (Instant::now(), cpu_nanos());
            for _ in 0..iters {
                (ops[i].1)();
            }
            let (w, c) = (w0.elapsed().as_nanos(), cpu_nanos() - c0);
            wall[i].push(w as f64 / iters as f64);
            cpu[i].push(c as f64 / iters as f64);
        }
    }
    println!("{} ({} rounds x {} iterations)", title, rounds, iters);
    for i in 0..k {
        let ratio = |v: &Vec<Vec<f64>>| {
            median(
                v[0].iter()
                    .zip(&v[i])
                    .map(|(a, b)| a / b)
                    .collect::<Vec<_>>(),
            )
        };
        println!(
            "  {:<26} wall median {:>8.2} us   cpu median {:>8.2} us   {} / this: wall {:.3}, cpu {:.3}",
            ops[i].0,
            median(wall[i].clone()) / 1000.0,
            median(cpu[i].clone()) / 1000.0,
            ops[0].0,
            ratio(&wall),
            ratio(&cpu),
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds = args.next().map_or(40, |s| s.parse().expect("rounds"));
    let iters = args.next().map_or(1000, |s| s.parse().expect("iterations"));
    let dir = tempkit::gettempdir().expect("temporary directory");
    let base = format!("tempkit-interleaved-{}-", std::process::id());
    let mut n = 0u64;
    compare(
        "TemporaryFile new+drop",
        rounds,
        iters,
        vec![
            (
                "tempkit",
                Box::new(|| drop(tempkit::TemporaryFile::new().expect("tempkit"))),
            ),
            (
                "tempfile::tempfile",
                Box::new(|| drop(tempfile::tempfile().expect("tempfile"))),
            ),
            (
                "raw O_TMPFILE+close",
                Box::new(|| tempkit_bench::raw_tmpfile_close(&dir).expect("raw")),
            ),
        ],
    );
    compare(
        "NamedTemporaryFile new+drop",
        rounds,
        iters,
        vec![
            (
                "tempkit",
                Box::new(|| drop(tempkit::NamedTemporaryFile::new().expect("tempkit"))),
            ),
            (
                "tempfile::NamedTempFile",
                Box::new(|| drop(tempfile::NamedTempFile::new().expect("tempfile"))),
            ),
            (
                "raw open+unlink+close",
                Box::new(|| {
                    n += 1;
                    let path = dir.join(format!("{}{}", base, n));
                    tempkit_bench::raw_create_unlink_close(&path).expect("raw")
                }),
            ),
        ],
    );
}
