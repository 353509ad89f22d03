//! Where the first `gettempdir()` of a process spends its time: each variant of the probe runs
//! once in a fresh process (spawned by this program, round-robin), timing each system call;
//! prints the median of each call per variant. `target/release/examples/probe_calls /tmp 200`.
//!
//! Variants: `tmpfile` (what tempkit does: `O_TMPFILE`, `write`, `close`), `tmpfile_nowrite`
//! (`O_TMPFILE`, `close`), `named` (create, `write`, `close`, `unlink`), `named_unlink_first`
//! (create, `write`, `unlink`, `close`), `none` (a process that probes nothing).
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::process::Command;
use std::time::Instant;

const VARIANTS: &[&str] = &[
    "tmpfile",
    "tmpfile_nowrite",
    "named",
    "named_unlink_first",
    "none",
];

fn main() {
    let mut args = std::env::args().skip(1);
    let dir = args.next().unwrap_or_else(|| "/tmp".to_string());
    let second = args.next().unwrap_or_else(|| "100".to_string());
    if let Some(variant) = second.strip_prefix("child:") {
        return child(&dir, variant);
    }
    let rounds: usize = second.parse().expect("rounds");
    let exe = std::env::current_exe().expect("exe");
    // Per variant: per call, the times seen; and the whole spawn + wait.
    let mut times: Vec<Vec<Vec<u64>>> = vec![Vec::new(); VARIANTS.len()];
    let mut whole: Vec<Vec<u64>> = vec![Vec::new(); VARIANTS.len()];
    for round in 0..rounds {
        for k in 0..VARIANTS.len() {
            let v = (round + k) % VARIANTS.len();
            let start = Instant::now();
            let out = Command::new(&exe)
                .arg(&dir)
                .arg(format!("child:{}", VARIANTS[v]))
                .output()
                .expect("spawn");
            whole[v].push(start.elapsed().as_nanos() as u64);
            let text = String::from_utf8_lossy(&out.stdout);
            let calls: Vec<u64> = text
                .split_whitespace()
                .map(|s| s.parse().expect("ns"))
                .collect();
            if times[v].is_empty() {
                times[v] = vec![Vec::new(); calls.len()];
            }
            for (i, ns) in calls.into_iter().enumerate() {
                times[v][i].push(ns);
            }
        }
    }
    for (v, name) in VARIANTS.iter().enumerate() {
        let calls: Vec<String> = times[v]
            .iter_mut()
            .map(|t| format!("{:.1}", median(t) as f64 / 1e3))
            .collect();
        let sum: u64 = times[v].iter_mut().map(|t| median(t)).sum();
        println!(
            "{name:20} calls (us): {:30} sum {:6.1}  process {:7.1} us",
            calls.join(" "),
            sum as f64 / 1e3,
            median(&mut whole[v]) as f64 / 1e3
        );
    }
}

fn median(v: &mut [u64]) -> u64 {
    v.sort_unstable();
    v[v.len() / 2]
}

fn child(dir: &str, variant: &str) {
    let cdir = CString::new(std::path::Path::new(dir).as_os_str().as_bytes()).expect("dir");
    let name = CString::new(format!("{dir}/probe-calls-{}", std::process::id())).expect("name");
    let mut out = Vec::new();
    let mut t = Instant::now();
    let mut lap = |out: &mut Vec<u64>| {
        out.push(t.elapsed().as_nanos() as u64);
        t = Instant::now();
    };
    // SAFETY: plain system calls on C strings that outlive them and a buffer of 4 bytes.
    unsafe {
        match variant {
            "tmpfile" | "tmpfile_nowrite" => {
                let fd = libc::open(
                    cdir.as_ptr(),
                    libc::O_TMPFILE | libc::O_RDWR | libc::O_CLOEXEC,
                    0o600,
                );
                assert!(fd >= 0);
                lap(&mut out);
                if variant == "tmpfile" {
                    assert_eq!(libc::write(fd, b"blat".as_ptr().cast(), 4), 4);
                    lap(&mut out);
                }
                libc::close(fd);
                lap(&mut out);
            }
            "named" | "named_unlink_first" => {
                let fd = libc::open(
                    name.as_ptr(),
                    libc::O_CREAT | libc::O_EXCL | libc::O_RDWR | libc::O_CLOEXEC,
                    0o600,
                );
                assert!(fd >= 0);
                lap(&mut out);
                assert_eq!(libc::write(fd, b"blat".as_ptr().cast(), 4), 4);
                lap(&mut out);
                if variant == "named" {
                    libc::close(fd);
                    lap(&mut out);
                    libc::unlink(name.as_ptr());
                    lap(&mut out);
                } else {
                    libc::unlink(name.as_ptr());
                    lap(&mut out);
                    libc::close(fd);
                    lap(&mut out);
                }
            }
            _ => {}
        }
    }
    let text: Vec<String> = out.iter().map(u64::to_string).collect();
    println!("{}", text.join(" "));
}
