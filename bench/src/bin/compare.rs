//! Side-by-side comparison of tempkit, the `tempfile` crate, the raw system-call floor and
//! CPython's `tempfile`, in one run on one machine.
//!
//! ```text
//! cargo run --release -p tempkit-bench --bin compare -- [--quick] [--no-counts] [--dir D]...
//!     [--only OP,...] [--json F] [--svg F] [--doc F]
//! ```
//!
//! Every operation runs in a scratch directory made inside each `--dir` (default: the system
//! temp dir and `/dev/shm`). The contenders take turns in batches, in an order shuffled every
//! round ([`ops::round_order`]), so that drift of the machine hits all of them alike and none
//! always follows the same other one; a batch is sized to last about the same time for each.
//! ns/op is the median over the repeats. System calls are
//! counted by running this same binary (hidden mode `--count-syscalls`) under `strace -f -c`,
//! once doing N operations and once doing only their untimed setup, and dividing the
//! difference by N. User-space instructions are counted the same way under
//! `valgrind --tool=callgrind` (exact and unaffected by the load of the machine).
//!
//! `--doc F` replaces the part of F between `<!-- compare:begin -->` and
//! `<!-- compare:end -->` with the Markdown report.

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempkit_bench::cpython::{self, Server};
use tempkit_bench::ops::{self, Mode, Op, Who};
use tempkit_bench::report::{self, Report, Row};

/// Where a count-mode process finds the interpreter for CPython's fresh-process operation.
const PYTHON_ENV: &str = "TEMPKIT_BENCH_PYTHON";
const BEGIN: &str = "<!-- compare:begin -->";
const END: &str = "<!-- compare:end -->";

struct Options {
    quick: bool,
    /// Times only: no system-call or instruction counts (exact, so they can be taken apart).
    no_counts: bool,
    dirs: Vec<PathBuf>,
    only: Option<Vec<Op>>,
    json: Option<PathBuf>,
    svg: Option<PathBuf>,
    doc: Option<PathBuf>,
}

fn usage() -> ! {
    eprintln!(
        "usage: compare [--quick] [--no-counts] [--dir D]... [--only OP,...] [--json F] [--svg F] \
         [--doc F]\n\
         operations: {}",
        Op::ALL.map(|o| o.id()).join(", ")
    );
    std::process::exit(2);
}

fn main() {
    ops::child_entry();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--count-syscalls") {
        if let Err(e) = count_mode(&args[1..]) {
            eprintln!("compare --count-syscalls: {e}");
            std::process::exit(1);
        }
        return;
    }
    let opts = parse(&args);
    if let Err(e) = compare(&opts) {
        eprintln!("compare: {e}");
        std::process::exit(1);
    }
}

fn parse(args: &[String]) -> Options {
    let mut o = Options {
        quick: false,
        no_counts: false,
        dirs: Vec::new(),
        only: None,
        json: None,
        svg: None,
        doc: None,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = || it.next().cloned().unwrap_or_else(|| usage());
        match a.as_str() {
            "--quick" => o.quick = true,
            "--no-counts" => o.no_counts = true,
            "--dir" => o.dirs.push(PathBuf::from(value())),
            "--json" => o.json = Some(PathBuf::from(value())),
            "--svg" => o.svg = Some(PathBuf::from(value())),
            "--doc" => o.doc = Some(PathBuf::from(value())),
            "--only" => {
                let list = value()
                    .split(',')
                    .map(|id| Op::from_id(id).unwrap_or_else(|| usage()))
                    .collect();
                o.only = Some(list);
            }
            _ => usage(),
        }
    }
    o
}

/// `--count-syscalls OP WHO DIR N full|setup`: one operation as warm-up (not for the heavy
/// tree removal), then N operations
/// (or only their untimed setup), nothing else: the process `strace` counts.
fn count_mode(args: &[String]) -> io::Result<()> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "bad --count-syscalls arguments",
        )
    };
    let [op, who, dir, n, mode] = args else {
        return Err(bad());
    };
    let op = Op::from_id(op).ok_or_else(bad)?;
    let who = Who::from_id(who).ok_or_else(bad)?;
    let dir = Path::new(dir);
    let n: u64 = n.parse().map_err(|_| bad())?;
    let mode = match mode.as_str() {
        "full" => Mode::Full,
        "setup" => Mode::SetupOnly,
        _ => return Err(bad()),
    };
    if who == Who::Python {
        let python = std::env::var_os(PYTHON_ENV).ok_or_else(bad)?;
        cpython::fresh_gettempdir(Path::new(&python), dir, 1)?;
        if mode == Mode::Full {
            cpython::fresh_gettempdir(Path::new(&python), dir, n)?;
        }
        return Ok(());
    }
    if !op.heavy() {
        ops::run(op, who, dir, 1, Mode::Full)?;
    }
    ops::run(op, who, dir, n, mode)?;
    Ok(())
}

struct Runner {
    quick: bool,
    exe: PathBuf,
    python: Option<PathBuf>,
    server: Option<Server>,
    strace: bool,
    valgrind: bool,
    batch: Duration,
    repeats: usize,
    heavy_repeats: usize,
}

/// [`Op::AsyncDirDrop`] is timed this many times more often than the other heavy rows.
const ASYNC_DROP_REPEATS_FACTOR: usize = 7;

impl Runner {
    fn time(&mut self, op: Op, who: Who, dir: &Path, n: u64) -> io::Result<Option<Duration>> {
        match who {
            Who::Python => match (op, &self.python, &mut self.server) {
                (Op::GettempdirFresh, Some(py), _) => {
                    cpython::fresh_gettempdir(py, dir, n).map(Some)
                }
                (_, _, Some(server)) => server.run(op, dir, n),
                _ => Ok(None),
            },
            _ => ops::run(op, who, dir, n, Mode::Full),
        }
    }

    /// Warm-up and batch size: doubles n until a batch lasts a quarter of the target, then
    /// scales it to the target. `Ok(None)`: the contender cannot do `op`.
    fn calibrate(&mut self, op: Op, who: Who, dir: &Path) -> io::Result<Option<u64>> {
        let mut n = 1u64;
        loop {
            let Some(t) = self.time(op, who, dir, n)? else {
                return Ok(None);
            };
            if op.heavy() {
                return Ok(Some(1));
            }
            if t >= self.batch / 4 || n >= 1 << 26 {
                let scaled = n as f64 * self.batch.as_secs_f64() / t.as_secs_f64().max(1e-9);
                return Ok(Some(scaled.round().max(1.0) as u64));
            }
            n *= 4;
        }
    }

    fn measure(&mut self, op: Op, dir: &Path, dir_label: String, fs: String) -> Row {
        let mut row = Row {
            op,
            dir: dir_label,
            fs,
            cells: Default::default(),
            missing: Default::default(),
        };
        let timing = Instant::now();
        let mut batch = [None; Who::ALL.len()];
        for (i, who) in Who::ALL.into_iter().enumerate() {
            if !who.takes_part(op) {
                continue;
            }
            if who == Who::Python && self.python.is_none() {
                row.missing[i] = Some("no python3".into());
                continue;
            }
            match self.calibrate(op, who, dir) {
                Ok(Some(n)) => batch[i] = Some(n),
                Ok(None) => row.missing[i] = Some("not in this build".into()),
                Err(e) => row.missing[i] = Some(format!("error: {e}")),
            }
        }
        let repeats = if op == Op::AsyncDirDrop {
            // One sample is one drop of a few microseconds, which a single preemption or cold
            // cache line can double: more samples for the median (each costs one tree).
            self.heavy_repeats * ASYNC_DROP_REPEATS_FACTOR
        } else if op.heavy() {
            self.heavy_repeats
        } else {
            self.repeats
        };
        for rep in 0..repeats {
            for i in ops::round_order(rep) {
                let Some(n) = batch[i] else { continue };
                match self.time(op, Who::ALL[i], dir, n) {
                    Ok(Some(t)) => row.cells[i].samples.push(t.as_nanos() as f64 / n as f64),
                    Ok(None) => {}
                    Err(e) => {
                        row.missing[i] = Some(format!("error: {e}"));
                        row.cells[i].samples.clear();
                        batch[i] = None;
                    }
                }
            }
        }
        eprint!(" timed in {:.1} s", timing.elapsed().as_secs_f64());
        let counting = Instant::now();
        // Under strace the tree removal takes tens of seconds: left to the default run.
        if self.strace && !(self.quick && op.heavy()) {
            for (i, who) in Who::ALL.into_iter().enumerate() {
                if batch[i].is_none() {
                    continue;
                }
                match self.count(op, who, dir) {
                    Ok((total, by_call)) => {
                        row.cells[i].syscalls = Some(total);
                        row.cells[i].by_call = by_call;
                    }
                    Err(e) => eprintln!("  counting {} {}: {e}", op.id(), who.id()),
                }
            }
        }
        eprint!(", counted in {:.1} s", counting.elapsed().as_secs_f64());
        let counting = Instant::now();
        // Not the async rows: the instructions of a multi-thread runtime are mostly its
        // threads parking and waking, not the operation.
        if self.valgrind && !(self.quick && op.heavy()) && !op.is_async() {
            for (i, who) in Who::ALL.into_iter().enumerate() {
                if batch[i].is_none() || who == Who::Python {
                    continue;
                }
                match self.instructions(op, who, dir) {
                    Ok(n) => row.cells[i].instructions = Some(n),
                    Err(e) => eprintln!("  instructions {} {}: {e}", op.id(), who.id()),
                }
            }
        }
        eprintln!(
            ", instructions in {:.1} s",
            counting.elapsed().as_secs_f64()
        );
        row
    }

    /// User-space instructions per operation: `callgrind`'s total of a run doing N operations
    /// minus that of a run doing only their setup, divided by N.
    fn instructions(&self, op: Op, who: Who, dir: &Path) -> io::Result<f64> {
        let n = op.instructions_n(self.quick);
        let work = tempkit::Builder::new()
            .dir(dir)
            .prefix("instructions-")
            .mkdtemp()?;
        let children = op == Op::GettempdirFresh;
        let full = self.callgrind(
            dir,
            &self.count_command(op, who, &work, n, Mode::Full),
            children,
        );
        let base = self.callgrind(
            dir,
            &self.count_command(op, who, &work, n, Mode::SetupOnly),
            children,
        );
        std::fs::remove_dir_all(&work)?;
        Ok(((full? - base?) / n as f64).max(0.0))
    }

    /// The instructions `cmd` executes in user space (with its children when `children`),
    /// as `valgrind --tool=callgrind` counts them.
    fn callgrind(&self, dir: &Path, cmd: &[String], children: bool) -> io::Result<f64> {
        let logs = tempkit::Builder::new()
            .dir(dir)
            .prefix("callgrind-")
            .mkdtemp()?;
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg("--callgrind-out-file=/dev/null")
            .arg(format!("--log-file={}/%p", logs.display()))
            .arg(format!(
                "--trace-children={}",
                if children { "yes" } else { "no" }
            ))
            .arg("--")
            .args(cmd)
            .env(ops::EXE_ENV, &self.exe)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        let mut total = 0.0;
        let mut found = false;
        let read = (|| {
            for entry in std::fs::read_dir(&logs)? {
                let text = std::fs::read_to_string(entry?.path())?;
                if let Some(n) = parse_collected(&text) {
                    total += n;
                    found = true;
                }
            }
            Ok::<(), io::Error>(())
        })();
        std::fs::remove_dir_all(&logs)?;
        let status = status?;
        read?;
        if !status.success() || !found {
            return Err(io::Error::other(format!("valgrind {cmd:?}: {status}")));
        }
        Ok(total)
    }

    fn count_command(&self, op: Op, who: Who, dir: &Path, n: u64, mode: Mode) -> Vec<String> {
        match (&self.python, who, op) {
            (Some(py), Who::Python, o) if o != Op::GettempdirFresh => {
                let mut v = vec![py.display().to_string()];
                v.extend(cpython::count_args(op, dir, n, mode));
                v
            }
            _ => vec![
                self.exe.display().to_string(),
                "--count-syscalls".into(),
                op.id().into(),
                who.id().into(),
                dir.display().to_string(),
                n.to_string(),
                if mode == Mode::Full { "full" } else { "setup" }.into(),
            ],
        }
    }

    fn strace(&self, dir: &Path, cmd: &[String]) -> io::Result<BTreeMap<String, u64>> {
        let out = dir.join("strace.txt");
        let mut c = Command::new("strace");
        c.args(["-f", "-c", "-o"]).arg(&out).arg("--").args(cmd);
        if let Some(py) = &self.python {
            c.env(PYTHON_ENV, py);
        }
        let status = c.stdin(Stdio::null()).stdout(Stdio::null()).status()?;
        if !status.success() {
            return Err(io::Error::other(format!("strace {cmd:?}: {status}")));
        }
        let text = std::fs::read_to_string(&out)?;
        std::fs::remove_file(&out)?;
        Ok(parse_strace(&text))
    }

    /// System calls per operation: (all, by name).
    fn count(&self, op: Op, who: Who, dir: &Path) -> io::Result<(f64, Vec<(String, f64)>)> {
        let n = op.count_n(self.quick);
        let work = tempkit::Builder::new()
            .dir(dir)
            .prefix("count-")
            .mkdtemp()?;
        let full = self.strace(dir, &self.count_command(op, who, &work, n, Mode::Full));
        let base = self.strace(dir, &self.count_command(op, who, &work, n, Mode::SetupOnly));
        std::fs::remove_dir_all(&work)?;
        let (full, base) = (full?, base?);
        let mut names: Vec<&String> = full.keys().chain(base.keys()).collect();
        names.sort();
        names.dedup();
        let mut total = 0.0;
        let mut by_call = Vec::new();
        for name in names {
            let d = *full.get(name).unwrap_or(&0) as f64 - *base.get(name).unwrap_or(&0) as f64;
            let per = d / n as f64;
            total += per;
            if per.abs() >= 0.01 {
                by_call.push((name.clone(), per));
            }
        }
        by_call.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok((total.max(0.0), by_call))
    }
}

/// The total of callgrind's `Collected : N` line in a valgrind log.
fn parse_collected(text: &str) -> Option<f64> {
    text.lines()
        .filter_map(|l| l.split_once("Collected :"))
        .filter_map(|(_, n)| n.trim().parse::<f64>().ok())
        .reduce(|a, b| a + b)
}

/// The per-system-call table of `strace -c`: name to number of calls.
fn parse_strace(text: &str) -> BTreeMap<String, u64> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 5 || f[0].starts_with('%') || f[0].starts_with('-') {
            continue;
        }
        let name = f[f.len() - 1];
        if name == "total" {
            continue;
        }
        if let Ok(calls) = f[3].parse::<u64>() {
            *map.entry(name.to_string()).or_insert(0) += calls;
        }
    }
    map
}

/// The file system type of the mount holding `path`, from `/proc/self/mounts`.
fn fs_type(path: &Path) -> String {
    let path = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    let mut best: Option<(usize, String)> = None;
    for line in mounts.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 || !path.starts_with(f[1]) {
            continue;
        }
        if best.as_ref().is_none_or(|(len, _)| f[1].len() >= *len) {
            best = Some((f[1].len(), f[2].to_string()));
        }
    }
    best.map(|(_, t)| t).unwrap_or_else(|| "?".into())
}

fn first_line(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
        .and_then(|o| {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            text.lines().next().map(str::to_string)
        })
        .unwrap_or_else(|| "?".into())
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "?".into())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// The `tempfile` version this binary was built with, from the workspace's lock file.
fn tempfile_version() -> String {
    let lock = include_str!("../../../Cargo.lock");
    let mut lines = lock.lines();
    while let Some(l) = lines.next() {
        if l == "name = \"tempfile\"" {
            if let Some(v) = lines.next().and_then(|v| v.strip_prefix("version = ")) {
                return v.trim_matches('"').to_string();
            }
        }
    }
    "?".into()
}

fn compare(opts: &Options) -> io::Result<()> {
    let started = Instant::now();
    let mut dirs = opts.dirs.clone();
    if dirs.is_empty() {
        dirs.push(tempkit::gettempdir()?);
        if Path::new("/dev/shm").is_dir() {
            dirs.push(PathBuf::from("/dev/shm"));
        }
    }
    let python = cpython::find();
    let strace = !opts.no_counts && tool_runs("strace", "-V");
    let valgrind = !opts.no_counts && tool_runs("valgrind", "--version");
    let mut runner = Runner {
        quick: opts.quick,
        exe: std::env::current_exe()?,
        server: match &python {
            Some((py, _)) => Some(Server::start(py)?),
            None => None,
        },
        python: python.as_ref().map(|(p, _)| p.clone()),
        strace,
        valgrind,
        batch: Duration::from_millis(if opts.quick { 4 } else { 20 }),
        repeats: if opts.quick { 5 } else { 11 },
        heavy_repeats: if opts.quick { 2 } else { 5 },
    };
    let mut machine = vec![
        (
            "date (UTC)".to_string(),
            first_line("date", &["-u", "+%Y-%m-%d %H:%M"]),
        ),
        ("CPU".into(), cpu_model()),
        (
            "cores".into(),
            std::thread::available_parallelism().map_or("?".into(), |n| n.to_string()),
        ),
        (
            "kernel".into(),
            std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| "?".into()),
        ),
        ("load average at start".into(), loadavg()),
        ("rustc".into(), first_line("rustc", &["--version"])),
        ("tempfile crate".into(), tempfile_version()),
        (
            "CPython".into(),
            python
                .as_ref()
                .map_or("not found (column skipped)".into(), |(_, v)| v.clone()),
        ),
        (
            "strace".into(),
            if strace {
                first_line("strace", &["-V"])
            } else {
                "not used (system calls not counted)".into()
            },
        ),
        (
            "valgrind".into(),
            if valgrind {
                first_line("valgrind", &["--version"])
            } else {
                "not used (instructions not counted)".into()
            },
        ),
    ];
    let dirs_text: Vec<String> = dirs
        .iter()
        .map(|d| format!("{} ({})", d.display(), fs_type(d)))
        .collect();
    machine.push(("directories".into(), dirs_text.join(", ")));
    machine.push((
        "run".into(),
        format!(
            "{}: batches of ~{} ms, {} repeats ({} for tree removal, {} for the async drop \
             with the worker held), median",
            if opts.quick { "--quick" } else { "default" },
            runner.batch.as_millis(),
            runner.repeats,
            runner.heavy_repeats,
            runner.heavy_repeats * ASYNC_DROP_REPEATS_FACTOR
        ),
    ));

    let mut scratch = Vec::new();
    for d in &dirs {
        scratch.push(
            tempkit::Builder::new()
                .dir(d)
                .prefix("tempkit-compare-")
                .mkdtemp()?,
        );
    }
    // A failing contender is reported in its cell; the run goes on.
    let mut rows = Vec::new();
    for op in Op::ALL {
        if opts.only.as_ref().is_some_and(|only| !only.contains(&op)) {
            continue;
        }
        for (d, work) in dirs.iter().zip(&scratch) {
            let (label, fs) = if op.per_dir() {
                (d.display().to_string(), fs_type(d))
            } else {
                ("-".to_string(), String::new())
            };
            // Building 10,000-file trees on a disk file system takes minutes: --quick keeps the
            // heavy operations to tmpfs, so that it stays under a minute.
            if opts.quick && op.heavy() && op.per_dir() && fs != "tmpfs" {
                eprintln!(
                    "{} on {label} ... skipped (--quick measures it on tmpfs only)",
                    op.id()
                );
                continue;
            }
            eprint!("{} on {label} ...", op.id());
            let row = runner.measure(op, work, label, fs);
            rows.push(row);
            if !op.per_dir() {
                break;
            }
        }
    }
    for s in &scratch {
        if let Err(e) = std::fs::remove_dir_all(s) {
            eprintln!("compare: removing {}: {e}", s.display());
        }
    }
    machine.push(("load average at end".into(), loadavg()));
    machine.push((
        "duration".into(),
        format!("{:.0} s", started.elapsed().as_secs_f64()),
    ));
    let report = Report { machine, rows };
    let md = report::markdown(&report);
    println!("{md}");
    if let Some(f) = &opts.json {
        std::fs::write(f, report::json(&report))?;
    }
    if let Some(f) = &opts.svg {
        std::fs::write(f, report::svg(&report))?;
    }
    if let Some(f) = &opts.doc {
        let text = std::fs::read_to_string(f)?;
        let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END)) else {
            return Err(io::Error::other(format!(
                "{}: markers {BEGIN} and {END} not found",
                f.display()
            )));
        };
        let new = format!("{}{BEGIN}\n{md}\n{}", &text[..b], &text[e..]);
        std::fs::write(f, new)?;
    }
    Ok(())
}

/// Whether `tool` is installed and runs (`tool arg` exits with success).
fn tool_runs(tool: &str, arg: &str) -> bool {
    Command::new(tool)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strace_summary_is_read_by_name() {
        let text = "\
% time     seconds  usecs/call     calls    errors syscall
------ ----------- ----------- --------- --------- ----------------
 40.00    0.000004           0     10001         1 openat
 30.00    0.000003           0     10000           unlink
  0.00    0.000000           0        12           mmap
------ ----------- ----------- --------- --------- ----------------
100.00    0.000010           0     20013         1 total
";
        let map = parse_strace(text);
        assert_eq!(map.get("openat"), Some(&10001));
        assert_eq!(map.get("unlink"), Some(&10000));
        assert_eq!(map.get("mmap"), Some(&12));
        assert_eq!(map.get("total"), None);
        assert_eq!(map.len(), 3);
    }

    #[test]
    fn callgrind_total_is_read_from_the_log() {
        let text = "==12== Events    : Ir\n==12== Collected : 1234567\n==12==\n==12== I   refs:      1,234,567\n";
        assert_eq!(parse_collected(text), Some(1234567.0));
        assert_eq!(parse_collected("==1== nothing"), None);
    }
}
