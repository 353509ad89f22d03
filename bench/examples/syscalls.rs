//! Runs one operation N times, for counting its system calls with `strace -c -f`:
//!
//! ```sh
//! cargo build --release -p tempkit-bench --example syscalls
//! strace -c -f target/release/examples/syscalls temporary_file 10000
//! strace -c -f target/release/examples/syscalls temporary_file 0   # the baseline
//! ```
//!
//! Operations: `temporary_file`, `named_temporary_file` (tempkit, new + drop),
//! `tempfile_tempfile`, `tempfile_named` (the `tempfile` crate), `raw_tmpfile`, `raw_named`.

fn main() {
    let mut args = std::env::args().skip(1);
    let op = args.next().expect("operation");
    let n: u64 = args.next().map_or(10_000, |s| s.parse().expect("count"));
    let dir = tempkit::gettempdir().expect("temporary directory");
    let base = format!("tempkit-syscalls-{}-", std::process::id());
    // Warm up what is paid once per process (temporary directory discovery, name generator
    // seeding), so that the counts per iteration are the steady state.
    drop(
        tempkit::Builder::new()
            .random_len(1)
            .prefix(&base)
            .mkdtemp()
            .map(std::fs::remove_dir),
    );
    for i in 0..n {
        match op.as_str() {
            "temporary_file" => drop(tempkit::TemporaryFile::new().expect("TemporaryFile")),
            "named_temporary_file" => drop(tempkit::NamedTemporaryFile::new().expect("named")),
            "tempfile_tempfile" => drop(tempfile::tempfile().expect("tempfile")),
            "tempfile_named" => drop(tempfile::NamedTempFile::new().expect("NamedTempFile")),
            "raw_tmpfile" => tempkit_bench::raw_tmpfile_close(&dir).expect("raw"),
            "raw_named" => {
                tempkit_bench::raw_create_unlink_close(&dir.join(format!("{}{}", base, i)))
                    .expect("raw")
            }
            other => panic!("unknown operation {}", other),
        }
    }
}
