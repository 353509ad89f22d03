//! Builds a tree of 10,000 files in 100 directories, then removes it with the implementation
//! named, for counting system calls: `strace -c -f target/release/examples/remove_one tempkit /dev/shm`.
use std::path::Path;

fn fill_tree(root: &Path) {
    for d in 0..100 {
        let dir = root.join(format!("dir{:03}", d));
        std::fs::create_dir(&dir).expect("mkdir");
        for f in 0..100 {
            std::fs::File::create(dir.join(format!("file{:03}", f))).expect("create");
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "tempkit".to_string());
    let base = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/dev/shm".to_string()));
    let mut dir = tempkit::Builder::new()
        .dir(&base)
        .temporary_directory()
        .expect("create");
    fill_tree(dir.path());
    eprintln!("--- remove");
    match which.as_str() {
        "tempkit" => dir.cleanup().expect("cleanup"),
        "std" => std::fs::remove_dir_all(dir.path()).expect("remove_dir_all"),
        other => panic!("unknown implementation {:?}: tempkit or std", other),
    }
}
