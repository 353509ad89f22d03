//! Times one removal of 10,000 files in 100 directories, tempkit then std, a few times:
//! `target/release/examples/tree_once /tmp 3`.
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let base = std::path::PathBuf::from(args.next().unwrap_or_else(|| "/tmp".to_string()));
    let rounds: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    for _ in 0..rounds {
        let t = Instant::now();
        let mut dir = tempkit::Builder::new()
            .dir(&base)
            .temporary_directory()
            .expect("create");
        tempkit_bench::ops::fill_tree(dir.path()).expect("build the tree");
        let fill = t.elapsed();
        let t = Instant::now();
        dir.cleanup().expect("cleanup");
        let ours = t.elapsed();
        let root = tempkit::Builder::new()
            .dir(&base)
            .mkdtemp()
            .expect("mkdtemp");
        tempkit_bench::ops::fill_tree(&root).expect("build the tree");
        let t = Instant::now();
        std::fs::remove_dir_all(&root).expect("remove_dir_all");
        let std_time = t.elapsed();
        println!("fill {:?}  tempkit {:?}  std {:?}", fill, ours, std_time);
    }
}
