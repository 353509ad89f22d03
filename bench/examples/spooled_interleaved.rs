//! A check of the spooled criterion figures that holds up on a loaded machine: the
//! implementations take turns in short rounds (A B C, B C A, ...), so that load that comes
//! and goes hits each alike, and the median of the per-round ratios is reported, for
//! wall-clock time and for the thread's CPU time (user + system; waiting for a core does not
//! count).
//!
//! ```sh
//! cargo run --release -p tempkit-bench --example spooled_interleaved -- 60 50
//! ```
//! Arguments: rounds (default 60) and iterations per round (default 50).

use std::io::Write;
use std::time::Instant;

const MIB: usize = 1 << 20;
const CHUNK: usize = 4096;

fn cpu_nanos() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// One way of doing the work; `run` does one turn and returns (wall ns, cpu ns) per run.
struct Case<'a> {
    name: &'a str,
    run: Box<dyn FnMut() -> (f64, f64) + 'a>,
}

/// Times `iters` runs of `routine` on inputs made by `setup` (not timed); what `routine`
/// returns is dropped untimed. Returns (wall ns, cpu ns) per run.
fn timed<I, O>(
    iters: usize,
    mut setup: impl FnMut() -> I,
    mut routine: impl FnMut(I) -> O,
) -> impl FnMut() -> (f64, f64) {
    move || {
        let (mut wall, mut cpu) = (0.0, 0.0);
        for _ in 0..iters {
            let input = setup();
            let (w, c) = (Instant::now(), cpu_nanos());
            let out = routine(input);
            cpu += cpu_nanos() - c;
            wall += w.elapsed().as_nanos() as f64;
            drop(std::hint::black_box(out));
        }
        (wall / iters as f64, cpu / iters as f64)
    }
}

fn compare(title: &str, rounds: usize, cases: &mut [Case<'_>]) {
    let n = cases.len();
    let mut wall = vec![Vec::new(); n];
    let mut cpu = vec![Vec::new(); n];
    for round in 0..rounds {
        for k in 0..n {
            let i = (round + k) % n;
            let (w, c) = (cases[i].run)();
            wall[i].push(w);
            cpu[i].push(c);
        }
    }
    println!("{} ({} rounds)", title, rounds);
    for i in 0..n {
        let ratio =
            |xs: &[Vec<f64>]| median(xs[i].iter().zip(&xs[0]).map(|(a, b)| a / b).collect());
        println!(
            "  {:<44} wall {:>9.1} us  cpu {:>9.1} us  ratio to first: wall {:.3}  cpu {:.3}",
            cases[i].name,
            median(wall[i].clone()) / 1e3,
            median(cpu[i].clone()) / 1e3,
            ratio(&wall),
            ratio(&cpu),
        );
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(60, |s| s.parse().expect("rounds"));
    let iters: usize = args.next().map_or(50, |s| s.parse().expect("iterations"));
    let data: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let data = &data;

    compare(
        "write 1 MiB in 4 KiB chunks, in memory",
        rounds,
        &mut [
            Case {
                name: "Vec<u8> extend_from_slice",
                run: Box::new(timed(
                    iters * 10,
                    || (),
                    |()| {
                        let mut v = Vec::new();
                        for chunk in data.chunks(CHUNK) {
                            v.extend_from_slice(chunk);
                        }
                        v
                    },
                )),
            },
            Case {
                name: "tempkit SpooledTemporaryFile",
                run: Box::new(timed(
                    iters * 10,
                    || (),
                    |()| {
                        let mut f = tempkit::SpooledTemporaryFile::new(2 * MIB);
                        for chunk in data.chunks(CHUNK) {
                            f.write_all(chunk).expect("write");
                        }
                        f
                    },
                )),
            },
            Case {
                name: "tempfile SpooledTempFile",
                run: Box::new(timed(
                    iters * 10,
                    || (),
                    |()| {
                        let mut f = tempfile::SpooledTempFile::new(2 * MIB);
                        for chunk in data.chunks(CHUNK) {
                            f.write_all(chunk).expect("write");
                        }
                        f
                    },
                )),
            },
        ],
    );

    let dir = tempkit::mkdtemp().expect("benchmark directory");
    let builder = {
        let mut b = tempkit::Builder::new();
        b.dir(&dir);
        b
    };
    let builder = &builder;
    let dir_ref = &dir;
    compare(
        "move 1 MiB to disk (create + write; closing not timed)",
        rounds,
        &mut [
            Case {
                name: "tempkit TemporaryFile + write_all (baseline)",
                run: Box::new(timed(
                    iters,
                    || (),
                    |()| {
                        let mut f = builder.temporary_file().expect("temporary_file");
                        f.write_all(data).expect("write");
                        f
                    },
                )),
            },
            Case {
                name: "tempkit SpooledTemporaryFile::rollover",
                run: Box::new(timed(
                    iters,
                    || {
                        let mut f = builder.spooled_temporary_file(0);
                        f.write_all(data).expect("write");
                        f
                    },
                    |mut f| {
                        f.rollover().expect("rollover");
                        f
                    },
                )),
            },
            Case {
                name: "tempfile SpooledTempFile::roll",
                run: Box::new(timed(
                    iters,
                    || {
                        let mut f = tempfile::spooled_tempfile_in(2 * MIB, dir_ref);
                        f.write_all(data).expect("write");
                        f
                    },
                    |mut f| {
                        f.roll().expect("roll");
                        f
                    },
                )),
            },
        ],
    );
    std::fs::remove_dir(&dir).expect("remove benchmark directory");
}
