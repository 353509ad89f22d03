//! The directory given to `TempDir::new_in`, `tempdir_in`, `Builder::tempdir_in` and
//! `tempfile_in` is left to the kernel, as the crate leaves it: `..` after a symbolic link is
//! the parent of the link's target, not the link's own parent, and `.`, `..` and doubled
//! separators stay in `path()` as given (the crate's `path()` is `dir.join(name)`).
#![cfg(unix)]

use std::fs;
use std::path::{Path, PathBuf};

/// `$T/near/link` -> `$T/far/inner`, in a fresh directory `$T` (removed at the end).
struct Tree {
    root: tempfile::TempDir,
}

impl Tree {
    fn new() -> Tree {
        let root = tempfile::tempdir().expect("tempdir");
        fs::create_dir_all(root.path().join("near")).unwrap();
        fs::create_dir_all(root.path().join("far/inner")).unwrap();
        std::os::unix::fs::symlink(root.path().join("far/inner"), root.path().join("near/link"))
            .unwrap();
        Tree { root }
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    /// The names in `$T/rel`, sorted.
    fn list(&self, rel: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.at(rel))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }
}

/// A way to make a `TempDir` in a directory.
type Maker = fn(&Path) -> std::io::Result<tempfile::TempDir>;

/// The crate's `path()`: the given directory joined with the name, as text.
fn crate_path(given: &Path, made: &Path) -> PathBuf {
    given.join(made.file_name().expect("a name"))
}

#[test]
fn dot_dot_after_a_symlink_is_the_parent_of_its_target() {
    let tree = Tree::new();
    let given = tree.at("near/link/..");
    let makers: [(&str, Maker); 3] = [
        ("TempDir::new_in", |d| tempfile::TempDir::new_in(d)),
        ("tempdir_in", |d| tempfile::tempdir_in(d)),
        ("Builder::tempdir_in", |d| {
            tempfile::Builder::new().prefix("b-").tempdir_in(d)
        }),
    ];
    for (what, make) in makers {
        let dir = make(&given).unwrap_or_else(|e| panic!("{what}: {e}"));
        let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            dir.path(),
            crate_path(&given, dir.path()),
            "{what}: path() as given"
        );
        assert_eq!(
            dir.path().as_os_str(),
            crate_path(&given, dir.path()).as_os_str(),
            "{what}: path() as given, byte for byte"
        );
        // Created where the kernel resolves `near/link/..`: in `far`, not in `near`.
        let mut expected = vec!["inner".to_owned(), name.clone()];
        expected.sort();
        assert_eq!(tree.list("far"), expected, "{what}");
        assert_eq!(tree.list("near"), vec!["link".to_owned()], "{what}");
        fs::write(dir.path().join("f"), b"x").unwrap();
        assert_eq!(
            fs::read(tree.at("far").join(&name).join("f")).unwrap(),
            b"x"
        );
        // And removed from there.
        drop(dir);
        assert_eq!(
            tree.list("far"),
            vec!["inner".to_owned()],
            "{what}: removed"
        );
        assert_eq!(tree.list("near"), vec!["link".to_owned()], "{what}");
    }
}

#[test]
fn dots_and_doubled_separators_stay_in_the_path() {
    let tree = Tree::new();
    let root = tree.root.path().to_str().unwrap().to_owned();
    for given in [
        format!("{root}/./far"),
        format!("{root}/far/"),
        format!("{root}//far"),
        format!("{root}/far/inner/.."),
        format!("{root}/far/."),
    ] {
        let given = Path::new(&given);
        let dir = tempfile::TempDir::new_in(given).unwrap();
        assert_eq!(
            dir.path().as_os_str(),
            crate_path(given, dir.path()).as_os_str(),
            "{}",
            given.display()
        );
        let name = dir.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert!(tree.list("far").contains(&name), "{}", given.display());
        drop(dir);
        assert_eq!(tree.list("far"), vec!["inner".to_owned()]);
    }
}

/// An unnamed file (`O_TMPFILE`) is in the directory the kernel resolves: the link the
/// process table shows for its descriptor names it.
#[cfg(target_os = "linux")]
#[test]
fn tempfile_in_goes_where_the_kernel_resolves_the_directory() {
    use std::os::unix::io::AsRawFd;
    let tree = Tree::new();
    let file = tempfile::tempfile_in(tree.at("near/link/..")).unwrap();
    let shown = fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).unwrap();
    let shown = shown.to_str().unwrap();
    let far = fs::canonicalize(tree.at("far")).unwrap();
    let far = far.to_str().unwrap();
    assert!(
        shown.starts_with(&format!("{far}/")) && !shown[far.len() + 1..].contains('/'),
        "the unnamed file is {shown}, not in {far}"
    );
    assert_eq!(tree.list("far"), vec!["inner".to_owned()]);
    assert_eq!(tree.list("near"), vec!["link".to_owned()]);
}
