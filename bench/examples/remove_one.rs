//! Builds a tree of 10,000 files in 100 directories, then removes it with the implementation
//! named, for counting system calls: `strace -c -f target/release/examples/remove_one tempkit /dev/shm`.

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "tempkit".to_string());
    let base = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/dev/shm".to_string()));
    let mut dir = tempkit::Builder::new()
        .dir(&base)
        .temporary_directory()
        .expect("create");
    tempkit_bench::ops::fill_tree(dir.path()).expect("build the tree");
    eprintln!("--- remove");
    match which.as_str() {
        "tempkit" => dir.cleanup().expect("cleanup"),
        "std" => std::fs::remove_dir_all(dir.path()).expect("remove_dir_all"),
        other => panic!("unknown implementation {:?}: tempkit or std", other),
    }
}
