//! Creates and drops N empty temporary directories in a given directory, for counting system
//! calls: `strace -c -f target/release/examples/empty_dirs tempkit 1000 /dev/shm`.
//!
//! One directory is created and dropped first, outside the count's interest, so that one-time
//! set-up (seeding the name generator) is paid before the N rounds; compare the totals of two
//! runs with different N to get the per-directory cost.

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "tempkit".to_string());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1000);
    let base = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/dev/shm".to_string()));
    let mut builder = tempkit::Builder::new();
    builder.dir(&base);
    for _ in 0..n + 1 {
        match which.as_str() {
            "tempkit" => drop(builder.temporary_directory().expect("tempkit")),
            "tempfile" => drop(tempfile::TempDir::new_in(&base).expect("tempfile")),
            other => panic!("unknown implementation {:?}: tempkit or tempfile", other),
        }
    }
}
