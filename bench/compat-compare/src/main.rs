//! compat/ (the `tempfile` crate's API on tempkit) against the real `tempfile` 3.27.0: the same
//! calls of the crate's API, side by side in one run, timed and with their system calls
//! counted, in each directory given.
//!
//! ```text
//! cargo run --release --manifest-path bench/compat-compare/Cargo.toml -- [--quick] [--no-counts] DIR...
//! ```
//!
//! Measured as the workspace's `compare` tool does (bench/src/bin/compare.rs): each operation
//! runs in a scratch directory inside DIR (`TMPDIR` points there, so `tempfile()`,
//! `NamedTempFile::new()` and `tempdir()` are called exactly so); both contenders first get a
//! warm-up that sizes their batch (about 20 ms, 5 ms with `--quick`), then take turns, one
//! batch each, for 11 rounds (5 with `--quick`), the one that goes first alternating; ns/op is
//! the median of the rounds. System calls: this binary runs itself (hidden mode `--count`)
//! under `strace -f -c`, once doing one warm-up operation and N operations, once doing the
//! warm-up and only the untimed setup of the N; the difference divided by N is calls/op.

use std::collections::BTreeMap;
use std::fs::File;
use std::hint::black_box;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Files in the directory of `tempdir_100_files`.
const FLAT_FILES: usize = 100;
/// Bytes a spool takes, in writes of [`CHUNK`].
const SPOOL_BYTES: usize = 1 << 20;
const CHUNK: usize = 4096;
/// `max_size` of the spools: above [`SPOOL_BYTES`], so they stay in memory until `roll()`.
const SPOOL_MAX: usize = 2 * SPOOL_BYTES;
static DATA: [u8; CHUNK] = [0xA5; CHUNK];

/// Wall-clock and thread CPU time, read together.
#[derive(Clone, Copy)]
pub struct Clock {
    wall: Instant,
    cpu: Duration,
}

/// The time of one batch: wall clock, and CPU time of this thread (user and system, without
/// the waits for a CPU that other load causes).
#[derive(Clone, Copy, Default)]
pub struct Spent {
    wall: Duration,
    cpu: Duration,
}

impl Clock {
    pub fn now() -> Clock {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant of libc.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        Clock {
            wall: Instant::now(),
            cpu: Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32),
        }
    }

    pub fn elapsed(self) -> Spent {
        let now = Clock::now();
        Spent {
            wall: now.wall - self.wall,
            cpu: now.cpu.saturating_sub(self.cpu),
        }
    }
}

impl std::ops::AddAssign for Spent {
    fn add_assign(&mut self, o: Spent) {
        self.wall += o.wall;
        self.cpu += o.cpu;
    }
}

const OPS: [(&str, &str); 7] = [
    ("tempfile", "tempfile() + drop"),
    ("named", "NamedTempFile::new() + drop"),
    ("tempdir_empty", "tempdir() empty + drop"),
    ("tempdir_100_files", "tempdir() + 100 files + drop"),
    (
        "persist",
        "NamedTempFile::new() + persist(over an existing file)",
    ),
    (
        "spooled",
        "spooled_tempfile(2 MiB), 1 MiB in 4 KiB writes, drop",
    ),
    ("rollover", "SpooledTempFile holding 1 MiB: roll() + drop"),
];
const WHO: [&str; 2] = ["crate", "compat"];

/// The operations, written once and instantiated for each crate (`real`: tempfile 3.27.0
/// from crates.io; `compat`: compat/), so that both run exactly the same code.
macro_rules! contender {
    ($module:ident, $krate:ident) => {
        mod $module {
            use super::*;
            use $krate as t;

            /// `n` operations `op`; only the timed part is summed. `setup_only`: only what is
            /// not timed (for the system-call baseline).
            pub fn run(op: &str, n: u64, setup_only: bool) -> io::Result<Spent> {
                let mut total = Spent::default();
                match op {
                    "rollover" => {
                        for _ in 0..n {
                            let mut spool = t::spooled_tempfile(SPOOL_MAX);
                            for _ in 0..SPOOL_BYTES / CHUNK {
                                spool.write_all(black_box(&DATA))?;
                            }
                            if setup_only {
                                black_box(&spool);
                                continue;
                            }
                            let start = Clock::now();
                            spool.roll()?;
                            drop(black_box(spool));
                            total += start.elapsed();
                        }
                        return Ok(total);
                    }
                    _ if setup_only => return Ok(total),
                    _ => {}
                }
                let start = Clock::now();
                match op {
                    "tempfile" => {
                        for _ in 0..n {
                            drop(black_box(t::tempfile()?));
                        }
                    }
                    "named" => {
                        for _ in 0..n {
                            drop(black_box(t::NamedTempFile::new()?));
                        }
                    }
                    "tempdir_empty" => {
                        for _ in 0..n {
                            drop(black_box(t::tempdir()?));
                        }
                    }
                    "tempdir_100_files" => {
                        let names: Vec<String> =
                            (0..FLAT_FILES).map(|i| format!("f{i:03}")).collect();
                        for _ in 0..n {
                            let dir = t::tempdir()?;
                            for name in &names {
                                drop(File::create(dir.path().join(name))?);
                            }
                            drop(dir);
                        }
                    }
                    "persist" => {
                        let target = t::env::temp_dir().join("persisted");
                        for _ in 0..n {
                            let file = t::NamedTempFile::new()?
                                .persist(&target)
                                .map_err(|e| e.error)?;
                            drop(black_box(file));
                        }
                    }
                    "spooled" => {
                        for _ in 0..n {
                            let mut spool = t::spooled_tempfile(SPOOL_MAX);
                            for _ in 0..SPOOL_BYTES / CHUNK {
                                spool.write_all(black_box(&DATA))?;
                            }
                            drop(black_box(spool));
                        }
                    }
                    _ => return Err(io::Error::other(format!("no operation {op}"))),
                }
                Ok(start.elapsed())
            }
        }
    };
}
contender!(on_real, real);
contender!(on_compat, compat);

fn run(op: &str, who: &str, n: u64, setup_only: bool) -> io::Result<Spent> {
    match who {
        "crate" => on_real::run(op, n, setup_only),
        "compat" => on_compat::run(op, n, setup_only),
        _ => Err(io::Error::other(format!("no contender {who}"))),
    }
}

/// How many operations a system-call count runs.
fn count_n(op: &str, quick: bool) -> u64 {
    let n = match op {
        "tempdir_100_files" => 100,
        "spooled" | "rollover" => 200,
        _ => 1_000,
    };
    if quick {
        (n / 10).max(5)
    } else {
        n
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what.to_string())
}

/// `--count OP WHO DIR N full|setup`: `TMPDIR=DIR`, one warm-up operation, then N operations
/// or only their setup; the process `strace` counts.
fn count_mode(args: &[String]) -> io::Result<()> {
    let [op, who, dir, n, mode] = args else {
        return Err(bad("usage: --count OP WHO DIR N full|setup"));
    };
    std::env::set_var("TMPDIR", dir);
    let n: u64 = n.parse().map_err(|_| bad("N"))?;
    run(op, who, 1, false)?;
    run(op, who, n, mode == "setup")?;
    Ok(())
}

/// Calls per syscall name of one `strace -f -c` run of `--count`.
fn strace(
    exe: &Path,
    op: &str,
    who: &str,
    dir: &Path,
    n: u64,
    mode: &str,
) -> io::Result<BTreeMap<String, u64>> {
    let out = dir.join(format!("strace.{op}.{who}.{mode}"));
    let status = Command::new("strace")
        .args(["-f", "-c", "-o"])
        .arg(&out)
        .arg(exe)
        .args(["--count", op, who])
        .arg(dir)
        .args([n.to_string(), mode.to_string()])
        .stdout(Stdio::null())
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "strace of {op} {who} failed: {status}"
        )));
    }
    let text = std::fs::read_to_string(&out)?;
    std::fs::remove_file(&out)?;
    let mut calls = BTreeMap::new();
    for line in text.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // "% time  seconds  usecs/call  calls  [errors]  syscall"
        if fields.len() < 5 || fields[0].parse::<f64>().is_err() {
            continue;
        }
        let name = fields[fields.len() - 1];
        // The measuring clock's own calls (CLOCK_THREAD_CPUTIME_ID is not in the vDSO), made
        // around each roll() alike for both contenders, are not the operation's.
        if name == "total" || name == "clock_gettime" {
            continue;
        }
        if let Ok(c) = fields[3].parse::<u64>() {
            calls.insert(name.to_string(), c);
        }
    }
    Ok(calls)
}

/// Calls per operation, in all and by name.
fn count(exe: &Path, op: &str, who: &str, dir: &Path, quick: bool) -> io::Result<(f64, String)> {
    let n = count_n(op, quick);
    let full = strace(exe, op, who, dir, n, "full")?;
    let setup = strace(exe, op, who, dir, n, "setup")?;
    let mut per = BTreeMap::new();
    for (name, c) in &full {
        let d = *c as f64 - setup.get(name).copied().unwrap_or(0) as f64;
        if d.abs() >= 0.5 {
            per.insert(name.clone(), d / n as f64);
        }
    }
    for (name, c) in &setup {
        if !full.contains_key(name) {
            per.insert(name.clone(), -(*c as f64) / n as f64);
        }
    }
    let total: f64 = per.values().sum();
    let list = per
        .iter()
        .map(|(name, c)| format!("{name} {}", fmt_calls(*c)))
        .collect::<Vec<_>>()
        .join(", ");
    Ok((total, list))
}

/// User-space instructions per operation: the same two runs as [`count`] under
/// `valgrind --tool=callgrind` (exact, whatever the load of the machine).
fn instructions(exe: &Path, op: &str, who: &str, dir: &Path, quick: bool) -> io::Result<f64> {
    let n = count_n(op, quick).min(1_000);
    let mut totals = [0.0; 2];
    for (i, mode) in ["full", "setup"].iter().enumerate() {
        let log = dir.join(format!("callgrind.{op}.{who}.{mode}"));
        let status = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null"])
            .arg(format!("--log-file={}", log.display()))
            .arg(exe)
            .args(["--count", op, who])
            .arg(dir)
            .args([n.to_string(), mode.to_string()])
            .stdout(Stdio::null())
            .status()?;
        let text = std::fs::read_to_string(&log)?;
        std::fs::remove_file(&log)?;
        let collected = text
            .lines()
            .filter_map(|l| l.split_once("Collected :"))
            .filter_map(|(_, n)| n.trim().parse::<f64>().ok())
            .next();
        match collected {
            Some(c) if status.success() => totals[i] = c,
            _ => {
                return Err(io::Error::other(format!(
                    "valgrind of {op} {who}: {status}"
                )))
            }
        }
    }
    Ok(((totals[0] - totals[1]) / n as f64).max(0.0))
}

fn fmt_calls(c: f64) -> String {
    if (c - c.round()).abs() < 0.005 {
        format!("{}", c.round())
    } else {
        format!("{c:.2}")
    }
}

/// The file system type of `dir`: the mount with the longest mount point that contains it.
fn fs_type(dir: &Path) -> String {
    let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() > 2 && dir.starts_with(f[1])).then(|| (f[1].len(), f[2].to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, t)| t)
        .unwrap_or_else(|| "?".to_string())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// A batch size that takes about `batch` for `op` by `who` (after a warm-up).
fn calibrate(op: &str, who: &str, batch: Duration) -> io::Result<u64> {
    run(op, who, 1, false)?;
    let mut n = 1u64;
    loop {
        let t = run(op, who, n, false)?.wall;
        if t >= batch / 4 || n >= 1 << 20 {
            let per = t.as_secs_f64() / n as f64;
            return Ok(((batch.as_secs_f64() / per.max(1e-9)) as u64).clamp(1, 1 << 22));
        }
        n *= 4;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--count") {
        if let Err(e) = count_mode(&args[1..]) {
            eprintln!("compat-compare --count: {e}");
            std::process::exit(1);
        }
        return;
    }
    if let Err(e) = compare(&args) {
        eprintln!("compat-compare: {e}");
        std::process::exit(1);
    }
}

fn compare(args: &[String]) -> io::Result<()> {
    let quick = args.iter().any(|a| a == "--quick");
    let no_counts = args.iter().any(|a| a == "--no-counts");
    let only: Option<Vec<String>> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1))
        .map(|list| list.split(',').map(str::to_string).collect());
    let dirs: Vec<PathBuf> = args
        .iter()
        .enumerate()
        .filter(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--only"))
        .map(|(_, a)| PathBuf::from(a))
        .collect();
    if dirs.is_empty() {
        return Err(bad(
            "usage: compat-compare [--quick] [--no-counts] [--only OP,...] DIR...",
        ));
    }
    if !no_counts
        && !Command::new("strace")
            .arg("-V")
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    {
        return Err(io::Error::other(
            "strace is needed for the system-call counts (or pass --no-counts)",
        ));
    }
    let exe = std::env::current_exe()?;
    let (batch, rounds) = if quick {
        (Duration::from_millis(5), 5)
    } else {
        (Duration::from_millis(20), 11)
    };
    println!(
        "| operation | dir | tempfile 3.27.0 ns/op | compat ns/op | compat / crate | crate CPU ns/op | compat CPU ns/op | compat / crate | crate calls/op | compat calls/op | crate instr/op | compat instr/op | compat / crate |"
    );
    println!("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    let mut details = Vec::new();
    for dir in &dirs {
        let scratch = dir.join(format!("compat-compare.{}", std::process::id()));
        std::fs::create_dir(&scratch)?;
        std::env::set_var("TMPDIR", &scratch);
        let label = format!("{} ({})", dir.display(), fs_type(dir));
        for (op, title) in OPS {
            if only.as_ref().is_some_and(|o| !o.iter().any(|x| x == op)) {
                continue;
            }
            let mut sizes = [0u64; 2];
            for (i, who) in WHO.iter().enumerate() {
                sizes[i] = calibrate(op, who, batch)?;
            }
            let mut times: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
            for round in 0..rounds {
                for k in 0..2 {
                    let i = (k + round) % 2;
                    let t = run(op, WHO[i], sizes[i], false)?;
                    times[i].push(t.wall.as_nanos() as f64 / sizes[i] as f64);
                    cpu[i].push(t.cpu.as_nanos() as f64 / sizes[i] as f64);
                }
            }
            let [crate_ns, compat_ns] = times.map(median);
            let [crate_cpu, compat_cpu] = cpu.map(median);
            let (calls, lists, instr) = if no_counts {
                let none = ["-".to_string(), "-".to_string()];
                (
                    none.clone(),
                    None,
                    [none[0].clone(), none[0].clone(), none[0].clone()],
                )
            } else {
                let c = count(&exe, op, "crate", &scratch, quick)?;
                let m = count(&exe, op, "compat", &scratch, quick)?;
                let ic = instructions(&exe, op, "crate", &scratch, quick)?;
                let im = instructions(&exe, op, "compat", &scratch, quick)?;
                (
                    [fmt_calls(c.0), fmt_calls(m.0)],
                    Some((c.1, m.1)),
                    [
                        format!("{ic:.0}"),
                        format!("{im:.0}"),
                        format!("{:.2}x", im / ic.max(1.0)),
                    ],
                )
            };
            println!(
                "| {title} | {label} | {crate_ns:.0} | {compat_ns:.0} | {:.2}x | {crate_cpu:.0} | {compat_cpu:.0} | {:.2}x | {} | {} | {} | {} | {} |",
                compat_ns / crate_ns,
                compat_cpu / crate_cpu,
                calls[0],
                calls[1],
                instr[0],
                instr[1],
                instr[2]
            );
            if let Some((c, m)) = lists {
                details.push(format!("- {title}, {label}: crate: {c}; compat: {m}"));
            }
        }
        std::fs::remove_dir_all(&scratch)?;
    }
    if !details.is_empty() {
        println!("\nSystem calls per operation, by name:\n");
        for d in details {
            println!("{d}");
        }
    }
    Ok(())
}
