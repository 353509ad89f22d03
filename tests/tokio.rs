//! `tempkit::tokio` (feature `tokio`): the async objects read, write, seek, publish and clean
//! up as the blocking ones do; a spooled file in memory never touches the blocking pool; the
//! drop of a directory never blocks a worker (the ticker test, with the blocking type as the
//! control) and loses nothing at runtime shutdown.
//!
//! Run with the feature: `cargo test --features tokio --test tokio` (`cargo test --workspace`
//! enables it through the bench crate).

#![cfg(all(unix, feature = "tokio"))]

mod common;

use std::io::{self, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::child::{child_arg, Child};
use common::{chattr, Scratch};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::runtime::{Builder as RtBuilder, Runtime};

/// The timing test runs alone (write), the others side by side (read): their trees and
/// threads would otherwise count in its gaps.
static ALONE: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn side_by_side() -> std::sync::RwLockReadGuard<'static, ()> {
    ALONE
        .read()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn current_thread() -> Runtime {
    RtBuilder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn multi_thread() -> Runtime {
    RtBuilder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Waits (bounded: 20 s) until `path` is gone; panics naming it if it stays.
fn wait_gone(path: &Path) {
    let start = Instant::now();
    while path.symlink_metadata().is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "`{}` still there after 20 s",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A tree of `n` files in `dirs` subdirectories of `root`.
fn fill(root: &Path, n: usize, dirs: usize) {
    for d in 0..dirs {
        let sub = root.join(format!("d{}", d));
        std::fs::create_dir(&sub).unwrap();
        for f in 0..n / dirs {
            std::fs::write(sub.join(format!("f{}", f)), b"x").unwrap();
        }
    }
}

#[test]
fn named_file_writes_reads_seeks_persists_and_is_deleted_on_drop() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    current_thread().block_on(async {
        let mut b = tempkit::Builder::new();
        b.dir(scratch.path()).prefix("async-").suffix(".txt");
        let mut file = b.named_temporary_file_async().await.unwrap();
        let name = file
            .path()
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            name.starts_with("async-") && name.ends_with(".txt"),
            "{}",
            name
        );
        assert_eq!(common::mode(file.path()) & 0o777, 0o600);
        file.write_all(b"hello world").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"hello world");
        file.seek(SeekFrom::Start(6)).await.unwrap();
        let mut rest = String::new();
        file.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "world");
        // reopen: a handle of its own, at 0.
        let mut again = file.reopen().await.unwrap();
        let mut all = String::new();
        again.read_to_string(&mut all).await.unwrap();
        assert_eq!(all, "hello world");
        // The handle still works after reopen.
        file.write_all(b"!").await.unwrap();
        file.flush().await.unwrap();
        assert_eq!(std::fs::read(file.path()).unwrap(), b"hello world!");
        let path = file.path().to_owned();
        drop(file);
        assert!(!path.exists(), "dropped: deleted");

        // persist_noclobber onto a taken name: AlreadyExists, the file handed back intact.
        let taken = scratch.path().join("taken");
        std::fs::write(&taken, b"old").unwrap();
        let mut file = b.named_temporary_file_async().await.unwrap();
        file.write_all(b"new").await.unwrap();
        let err = file.persist_noclobber(&taken).await.unwrap_err();
        assert_eq!(
            err.error.kind(),
            io::ErrorKind::AlreadyExists,
            "{}",
            err.error
        );
        assert_eq!(std::fs::read(&taken).unwrap(), b"old");
        let mut file = err.file;
        assert_eq!(std::fs::read(file.path()).unwrap(), b"new");
        file.write_all(b"er").await.unwrap();
        // persist (replacing): the bytes written in the background are there, flushed first.
        let temp = file.path().to_owned();
        let mut kept = file.persist(&taken).await.unwrap();
        assert!(!temp.exists());
        assert_eq!(std::fs::read(&taken).unwrap(), b"newer");
        kept.write_all(b"!").await.unwrap();
        kept.flush().await.unwrap();
        assert_eq!(std::fs::read(&taken).unwrap(), b"newer!");

        // persist_durable, and keep.
        let mut file = b.named_temporary_file_async().await.unwrap();
        file.write_all(b"durable").await.unwrap();
        let durable = scratch.path().join("durable");
        drop(file.persist_durable(&durable).await.unwrap());
        assert_eq!(std::fs::read(&durable).unwrap(), b"durable");
        let file = b.named_temporary_file_async().await.unwrap();
        let (_, kept_path) = file.keep().await.unwrap();
        assert!(kept_path.exists());
        std::fs::remove_file(kept_path).unwrap();

        // close: deletes (delete_on_close), I/O then fails with an error.
        let mut file = b.named_temporary_file_async().await.unwrap();
        let path = file.path().to_owned();
        file.write_all(b"x").await.unwrap();
        file.close().await.unwrap();
        assert!(file.is_closed() && !path.exists());
        assert!(file.write_all(b"y").await.is_err());
    });
    let mut left = scratch.names();
    left.sort();
    assert_eq!(left, ["durable", "taken"]);
}

#[test]
fn unnamed_file_reads_back_and_leaves_nothing() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    current_thread().block_on(async {
        let mut file = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_file_async()
            .await
            .unwrap();
        file.write_all(b"scratch space").await.unwrap();
        file.rewind().await.unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "scratch space");
        assert!(scratch.names().is_empty(), "{:?}", scratch.names());
    });
}

/// A current-thread runtime with one blocking thread: its pool runs tasks one at a time, in
/// the order they were handed over.
fn one_pool_thread() -> Runtime {
    RtBuilder::new_current_thread()
        .enable_all()
        .max_blocking_threads(1)
        .build()
        .unwrap()
}

/// Keeps the only blocking thread of `handle`'s runtime ([`one_pool_thread`]) busy until the
/// returned sender is used (or 30 s): whatever is handed to the pool meanwhile waits.
fn hold_the_pool(handle: &tokio::runtime::Handle) -> mpsc::Sender<()> {
    let (release, wait) = mpsc::channel::<()>();
    let (started, is_started) = mpsc::channel::<()>();
    handle.spawn_blocking(move || {
        started.send(()).unwrap();
        let _ = wait.recv_timeout(Duration::from_secs(30));
    });
    is_started.recv_timeout(Duration::from_secs(10)).unwrap();
    release
}

/// A runtime whose only blocking thread is busy until the returned sender is used (or 30 s).
fn runtime_with_blocked_pool() -> (Runtime, mpsc::Sender<()>) {
    let rt = one_pool_thread();
    let release = hold_the_pool(rt.handle());
    (rt, release)
}

/// Runs `drop_it` on the calling worker of a [`one_pool_thread`] runtime while its pool is
/// held, and proves that it hands the removal of the tree at `path` to the pool: the tree is
/// still whole when `drop_it` returns (a removal in place would have taken it), and gone
/// once the pool is released.
fn assert_removed_on_the_pool(path: &Path, drop_it: impl FnOnce()) {
    let files = count_files(path);
    let release = hold_the_pool(&tokio::runtime::Handle::current());
    drop_it();
    assert_eq!(
        count_files(path),
        files,
        "`{}` was (partly) removed on the worker",
        path.display()
    );
    release.send(()).unwrap();
    wait_gone(path);
}

/// The number of files in the tree at `path` (0 if it is gone).
fn count_files(path: &Path) -> usize {
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(_) => return 0,
    };
    entries
        .map(|e| {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                count_files(&e.path())
            } else {
                1
            }
        })
        .sum()
}

#[test]
fn spooled_file_in_memory_never_uses_the_blocking_pool() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let (rt, release) = runtime_with_blocked_pool();
    rt.block_on(async {
        let mut file = tempkit::Builder::new()
            .dir(scratch.path())
            .spooled_temporary_file_async(64);
        // Any use of the (busy) pool would hang here: the timeout fails the test.
        tokio::time::timeout(Duration::from_secs(5), async {
            file.write_all(b"0123456789").await.unwrap();
            file.seek(SeekFrom::Start(2)).await.unwrap();
            let mut buf = [0u8; 3];
            file.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"234");
            file.flush().await.unwrap();
        })
        .await
        .expect("in memory, the spooled file must not wait for the blocking pool");
        assert!(!file.is_rolled_over());
    });
    release.send(()).unwrap();
}

#[test]
fn spooled_file_rolls_over_asynchronously_and_a_failed_rollover_loses_nothing() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let missing = scratch.path().join("not-yet");
    current_thread().block_on(async {
        let mut file = tempkit::Builder::new()
            .dir(&missing)
            .spooled_temporary_file_async(8);
        file.write_all(b"abcdef").await.unwrap();
        file.seek(SeekFrom::Start(3)).await.unwrap();
        // Past 8 bytes: the rollover runs and fails (no such directory).
        let err = file.write_all(b"0123456789").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound, "{}", err);
        assert!(!file.is_rolled_over());
        // Nothing lost: the bytes and the position are as before the write.
        assert_eq!(file.stream_position().await.unwrap(), 3);
        file.rewind().await.unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "abcdef");
        // Now it can roll over.
        std::fs::create_dir(&missing).unwrap();
        file.seek(SeekFrom::Start(3)).await.unwrap();
        file.write_all(b"0123456789").await.unwrap();
        assert!(file.is_rolled_over());
        file.rewind().await.unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "abc0123456789");
        // An explicit rollover of a new one keeps the position.
        let mut other = tempkit::Builder::new()
            .dir(&missing)
            .spooled_temporary_file_async(0);
        other.write_all(b"xyz").await.unwrap();
        other.seek(SeekFrom::Start(1)).await.unwrap();
        other.rollover().await.unwrap();
        assert!(other.is_rolled_over());
        assert_eq!(other.stream_position().await.unwrap(), 1);
        let mut disk = other.into_file().await.unwrap();
        let mut rest = String::new();
        disk.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "yz");
    });
}

#[test]
fn atomic_file_and_write_atomic_publish_and_discard() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let dest = scratch.path().join("config");
    std::fs::write(&dest, b"old").unwrap();
    current_thread().block_on(async {
        let mut file = tempkit::tokio::AtomicFile::create(&dest).await.unwrap();
        file.write_all(b"new").await.unwrap();
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            b"old",
            "untouched until commit"
        );
        file.commit().await.unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        // Dropped without commit: the destination stays, the temporary name goes.
        let mut file = tempkit::tokio::AtomicFile::create(&dest).await.unwrap();
        file.write_all(b"never").await.unwrap();
        drop(file);
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        let file = tempkit::tokio::AtomicFile::create(&dest).await.unwrap();
        file.discard().await.unwrap();
        // commit_noclobber onto an existing file: AlreadyExists, nothing published.
        let mut file = tempkit::tokio::AtomicFile::create(&dest).await.unwrap();
        file.write_all(b"clobber").await.unwrap();
        let err = file.commit_noclobber().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert!(!err.committed());
        drop(err);
        tempkit::tokio::write_atomic(&dest, b"written".to_vec())
            .await
            .unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"written");
    });
    assert_eq!(scratch.names(), ["config"]);
}

#[test]
fn directory_cleanup_reports_and_drop_removes_off_the_worker() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let rt = one_pool_thread();
    let (cleaned, dropped) = rt.block_on(async {
        let mut dir = tempkit::Builder::new()
            .dir(scratch.path())
            .prefix("job-")
            .temporary_directory_async()
            .await
            .unwrap();
        assert_eq!(common::mode(dir.path()) & 0o777, 0o700);
        fill(dir.path(), 10, 2);
        dir.cleanup().await.unwrap();
        assert!(!dir.path().exists());
        dir.cleanup().await.unwrap(); // again: nothing to do
        let cleaned = dir.path().to_owned();
        drop(dir);

        let dir = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async()
            .await
            .unwrap();
        fill(dir.path(), 10, 2);
        let path = dir.path().to_owned();
        // Dropped on the worker: the tree waits for the (held) pool, not removed in place.
        assert_removed_on_the_pool(&path, move || drop(dir));
        (cleaned, path)
    });
    drop(rt); // waits for the blocking pool
    assert!(!cleaned.exists());
    assert!(!dropped.exists());
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
    // Outside any runtime: removed in place, before drop returns.
    let dir = tempkit::tokio::TemporaryDirectory::from(
        tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory()
            .unwrap(),
    );
    fill(dir.path(), 10, 2);
    let path = dir.path().to_owned();
    drop(dir);
    assert!(!path.exists());
}

#[test]
fn a_directory_dropped_by_a_panicking_task_is_kept_with_keep_on_panic() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let rt = current_thread();
    let (tx, rx) = mpsc::channel::<PathBuf>();
    let outcome = rt.block_on(async {
        let dir = tempkit::Builder::new()
            .dir(scratch.path())
            .keep_on_panic(true)
            .temporary_directory_async()
            .await
            .unwrap();
        tokio::spawn(async move {
            tx.send(dir.path().to_owned()).unwrap();
            let _dir = dir;
            panic!("the task fails");
        })
        .await
    });
    assert!(outcome.unwrap_err().is_panic());
    drop(rt);
    let path = rx.recv().unwrap();
    assert!(path.is_dir(), "kept: the task panicked while dropping it");
    std::fs::remove_dir(&path).unwrap();
}

#[test]
#[ignore = "a child test: run by its parent test"]
fn child_tempkit_keep_always() {
    let scratch = child_arg();
    let path = current_thread().block_on(async {
        let dir = tempkit::Builder::new()
            .dir(&scratch)
            .temporary_directory_async()
            .await
            .unwrap();
        let path = dir.path().to_owned();
        drop(dir);
        path
    });
    assert!(path.is_dir(), "TEMPKIT_KEEP=always keeps it");
}

#[test]
fn tempkit_keep_always_keeps_an_async_directory() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let run = Child::new("child_tempkit_keep_always")
        .arg(scratch.path())
        .env("TEMPKIT_KEEP", "always")
        .assert_passes();
    assert!(
        run.output.contains("tempkit: kept") && run.output.contains("TEMPKIT_KEEP=always"),
        "{}",
        run.output
    );
    assert_eq!(scratch.names().len(), 1);
}

#[test]
fn protect_and_reapable_work_on_async_directories() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    current_thread().block_on(async {
        let dir = tempkit::Builder::new()
            .dir(scratch.path())
            .protect(true)
            .reapable(true)
            .temporary_directory_async()
            .await
            .unwrap();
        assert!(dir.is_protected());
        assert!(
            dir.is_reapable(),
            "the scratch file system takes user xattrs (CI checks)"
        );
        fill(dir.path(), 4, 2);
        drop(dir);
    });
    // The runtime, a temporary, was dropped at the end of the statement: it waited for the
    // removal on the blocking pool.
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// What the child's hook saw: path, error kind, is_dir.
static SEEN: std::sync::Mutex<Vec<(PathBuf, io::ErrorKind, bool)>> =
    std::sync::Mutex::new(Vec::new());

#[test]
#[ignore = "a child test: run by its parent test"]
fn child_hook_sees_an_async_drop_that_failed() {
    tempkit::set_cleanup_error_hook(Box::new(|e| {
        SEEN.lock()
            .unwrap()
            .push((e.path().to_owned(), e.error().kind(), e.is_dir()));
    }));
    let scratch = child_arg();
    let (explicit_err, dropped) = current_thread().block_on(async {
        let mut dir = tempkit::Builder::new()
            .dir(&scratch)
            .temporary_directory_async()
            .await
            .unwrap();
        let stuck = dir.path().join("stuck");
        std::fs::write(&stuck, b"x").unwrap();
        chattr("+i", &stuck);
        let err = dir.cleanup().await.unwrap_err();
        assert!(
            SEEN.lock().unwrap().is_empty(),
            "cleanup() returns, not reports"
        );
        let path = dir.path().to_owned();
        drop(dir);
        (err, path)
    }); // the runtime is dropped here: it waits for the removal on the blocking pool
    assert_eq!(
        explicit_err.kind(),
        io::ErrorKind::PermissionDenied,
        "{}",
        explicit_err
    );
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(
        seen,
        [(dropped.clone(), io::ErrorKind::PermissionDenied, true)]
    );
    chattr("-i", &dropped.join("stuck"));
}

#[test]
fn cleanup_returns_errors_and_a_failed_async_drop_goes_to_the_hook() {
    let _shared = side_by_side();
    if !common::need::root() || !common::need::program("chattr", "-V") {
        return;
    }
    let scratch = Scratch::new();
    Child::new("child_hook_sees_an_async_drop_that_failed")
        .arg(scratch.path())
        .assert_passes();
    // The child cleared the flag; what it could not remove is still there.
    assert_eq!(scratch.names().len(), 1);
}

// ---- runtime shutdown: nothing is lost ----

#[test]
fn a_removal_handed_over_just_before_shutdown_is_done_when_the_runtime_is_dropped() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let rt = multi_thread();
    let path = rt.block_on(async {
        let dir = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async()
            .await
            .unwrap();
        fill(dir.path(), 2000, 20);
        let path = dir.path().to_owned();
        drop(dir); // handed to the blocking pool
        path
    });
    drop(rt); // Runtime's drop waits for the blocking pool's tasks
    assert!(!path.exists(), "removed when the runtime's drop returned");
}

#[test]
fn a_directory_held_by_a_task_dropped_at_shutdown_is_removed() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let rt = current_thread();
    let (tx, rx) = mpsc::channel::<PathBuf>();
    let dir_root = scratch.path().to_owned();
    rt.spawn(async move {
        let dir = tempkit::Builder::new()
            .dir(&dir_root)
            .temporary_directory_async()
            .await
            .unwrap();
        fill(dir.path(), 100, 4);
        tx.send(dir.path().to_owned()).unwrap();
        // Never ends: the runtime's shutdown drops this task, and the directory with it.
        std::future::pending::<()>().await;
        drop(dir);
    });
    // Run the task until it holds the directory.
    let path = rt.block_on(async {
        loop {
            if let Ok(path) = rx.try_recv() {
                return path;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    });
    assert!(path.is_dir());
    drop(rt);
    assert!(
        !path.exists(),
        "removed by the time the runtime's drop returned"
    );
}

#[test]
fn a_removal_tokio_refuses_after_shutdown_is_done_in_place() {
    let _shared = side_by_side();
    // The handle outlives its runtime: spawn_blocking then drops the task unrun, and the
    // removal's own Drop removes, in place, before the directory's drop returns.
    let scratch = Scratch::new();
    let (dir, handle) = outliving_its_runtime(async {
        tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async()
            .await
            .unwrap()
    });
    fill(dir.path(), 100, 4);
    let path = dir.path().to_owned();
    let _entered = handle.enter(); // Handle::try_current() finds the dead runtime
    assert!(tokio::runtime::Handle::try_current().is_ok());
    drop(dir);
    assert!(
        !path.exists(),
        "removed in place: tokio dropped the task unrun"
    );
}

#[test]
fn a_removal_queued_behind_a_busy_pool_survives_shutdown_background() {
    let _shared = side_by_side();
    // The only blocking thread is busy; the removal waits in the queue while the runtime is
    // shut down without waiting. The thread goes on with its queue: the tree still goes.
    let scratch = Scratch::new();
    let (rt, release) = runtime_with_blocked_pool();
    let dir = tempkit::tokio::TemporaryDirectory::from(
        tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory()
            .unwrap(),
    );
    fill(dir.path(), 100, 4);
    let path = dir.path().to_owned();
    rt.block_on(async move { drop(dir) }); // queued behind the blocker
    assert!(
        path.is_dir(),
        "still queued: the pool's only thread is busy"
    );
    rt.shutdown_background();
    release.send(()).unwrap();
    wait_gone(&path);
}

// ---- a failed publish, a cancelled call: nothing is removed on a worker ----

#[test]
fn a_failed_directory_publish_never_removes_on_the_worker() {
    use std::future::Future;
    use std::task::Poll;
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let taken = scratch.path().join("taken");
    std::fs::create_dir(&taken).unwrap();
    let staged = || async {
        let dir = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async()
            .await
            .unwrap();
        fill(dir.path(), 2000, 20);
        dir
    };
    one_pool_thread().block_on(async {
        // The error converted with `?` (here `into`) on the worker: its tree goes to the pool.
        let dir = staged().await;
        let path = dir.path().to_owned();
        let err = dir.persist_noclobber(&taken).await.unwrap_err();
        assert_eq!(err.error.kind(), io::ErrorKind::AlreadyExists, "{}", err);
        assert_eq!(err.dir.path(), path);
        assert_eq!(count_files(&path), 2000, "handed back whole");
        assert_eq!(err.to_string(), err.error.to_string());
        assert!(format!("{:?}", err).starts_with("PersistDirError { error: "));
        fn error_traits<T: std::fmt::Debug + std::error::Error + Send + Sync>() {}
        error_traits::<tempkit::tokio::PersistDirError>();
        assert_removed_on_the_pool(&path, move || {
            let converted: io::Error = err.into();
            drop(converted);
        });

        // The future cancelled after the pool task ended: tokio drops the task's output (the
        // error and its directory) on the thread that drops the JoinHandle, the worker.
        for op in ["persist_noclobber", "exchange over a file"] {
            let dir = staged().await;
            let path = dir.path().to_owned();
            let release = hold_the_pool(&tokio::runtime::Handle::current());
            let mut publish: std::pin::Pin<Box<dyn Future<Output = bool>>> = match op {
                "persist_noclobber" => {
                    Box::pin(async { dir.persist_noclobber(&taken).await.is_err() })
                }
                _ => {
                    let file = scratch.path().join("file");
                    std::fs::write(&file, b"x").unwrap();
                    Box::pin(async move { dir.exchange(&file).await.is_err() })
                }
            };
            // Queued behind the holder: certainly not finished at this poll.
            let first = std::future::poll_fn(|cx| Poll::Ready(publish.as_mut().poll(cx))).await;
            assert!(first.is_pending());
            release.send(()).unwrap();
            // One thread, in order: once this marker ran, the publish task has ended.
            tokio::task::spawn_blocking(|| ()).await.unwrap();
            assert_eq!(count_files(&path), 2000, "{}: not published", op);
            assert_removed_on_the_pool(&path, move || drop(publish));
        }
    });
    assert_eq!(scratch.names(), ["file", "taken"]);
}

#[test]
fn a_replace_that_leaves_the_old_tree_hands_it_back_removed_on_the_pool() {
    // The blocking error holds one directory: the staged one, or after the swap what is left
    // of the old tree (the staged tree is then published). Here the latter: async too.
    let _shared = side_by_side();
    if !common::need::root() || !common::need::program("chattr", "-V") {
        return;
    }
    let scratch = Scratch::new();
    let site = scratch.path().join("site");
    std::fs::create_dir(&site).unwrap();
    fill(&site, 200, 4);
    chattr("+i", &site.join("d0").join("f0"));
    one_pool_thread().block_on(async {
        let staged = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async()
            .await
            .unwrap();
        std::fs::write(staged.path().join("new"), b"new").unwrap();
        let old_path = staged.path().to_owned();
        let err = staged.replace(&site).await.unwrap_err();
        assert_eq!(err.error.kind(), io::ErrorKind::PermissionDenied, "{}", err);
        assert_eq!(std::fs::read(site.join("new")).unwrap(), b"new", "swapped");
        let stuck = old_path.join("d0").join("f0");
        assert!(
            stuck.is_file(),
            "what is left of the old tree is at the staged path"
        );
        let dir: &tempkit::tokio::TemporaryDirectory = &err.dir;
        assert_eq!(dir.path(), old_path);
        chattr("-i", &stuck);
        assert_removed_on_the_pool(&old_path, move || drop(err));
    });
    assert_eq!(scratch.names(), ["site"]);
}

#[test]
fn a_failed_cleanup_cancelled_after_it_ended_leaves_the_rest_to_the_pool() {
    // cleanup fails (an immutable file); its future is dropped after the pool task ended, so
    // tokio drops the task's output (the directory) on the worker: it must hand the rest of
    // the tree to the pool, not remove it there.
    use std::future::Future;
    use std::task::Poll;
    let _shared = side_by_side();
    if !common::need::root() || !common::need::program("chattr", "-V") {
        return;
    }
    let scratch = Scratch::new();
    one_pool_thread().block_on(async {
        let mut dir = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async()
            .await
            .unwrap();
        let path = dir.path().to_owned();
        let stuck = path.join("stuck");
        std::fs::write(&stuck, b"x").unwrap();
        chattr("+i", &stuck);
        let release = hold_the_pool(&tokio::runtime::Handle::current());
        let mut cleanup = Box::pin(dir.cleanup());
        let first = std::future::poll_fn(|cx| Poll::Ready(cleanup.as_mut().poll(cx).is_ready()));
        assert!(!first.await, "queued behind the holder");
        release.send(()).unwrap();
        tokio::task::spawn_blocking(|| ()).await.unwrap();
        assert!(stuck.is_file(), "the cleanup failed on it");
        chattr("-i", &stuck);
        assert_removed_on_the_pool(&path, move || drop(cleanup));
        drop(dir);
    });
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
fn an_exchange_cancelled_after_it_ended_removes_the_old_tree_on_the_pool() {
    use std::future::Future;
    use std::task::Poll;
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let live = scratch.path().join("live");
    std::fs::create_dir(&live).unwrap();
    fill(&live, 2000, 20);
    one_pool_thread().block_on(async {
        let dir = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async()
            .await
            .unwrap();
        std::fs::write(dir.path().join("new"), b"new").unwrap();
        let old_path = dir.path().to_owned();
        let release = hold_the_pool(&tokio::runtime::Handle::current());
        let mut exchange = Box::pin(dir.exchange(&live));
        let first = std::future::poll_fn(|cx| Poll::Ready(exchange.as_mut().poll(cx).is_ready()));
        assert!(!first.await);
        release.send(()).unwrap();
        tokio::task::spawn_blocking(|| ()).await.unwrap();
        assert_eq!(std::fs::read(live.join("new")).unwrap(), b"new", "swapped");
        // The old tree, now at the staged path, is the task's output, dropped here.
        assert_removed_on_the_pool(&old_path, move || drop(exchange));
    });
    assert_eq!(scratch.names(), ["live"]);
}

#[test]
fn a_cleanup_tokio_drops_unrun_at_shutdown_returns_what_was_done_in_place() {
    // The directory outlives its runtime: cleanup's task is dropped unrun and removes in
    // place; cleanup returns that outcome (here: done), not "shutting down".
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let (dir, handle) = outliving_its_runtime(
        tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async(),
    );
    let mut dir = dir.unwrap();
    fill(dir.path(), 100, 4);
    let _entered = handle.enter();
    let outcome = {
        let mut cleanup = std::pin::pin!(dir.cleanup());
        cleanup
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    };
    assert!(
        matches!(outcome, Poll::Ready(Ok(()))),
        "expected the in-place removal's success, got {:?}",
        outcome
    );
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
    drop(dir);
}

#[test]
fn a_cancelled_cleanup_is_named_by_later_calls() {
    use std::future::Future;
    use std::task::Poll;
    let _shared = side_by_side();
    let scratch = Scratch::new();
    one_pool_thread().block_on(async {
        let mut dir = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async()
            .await
            .unwrap();
        fill(dir.path(), 10, 2);
        let path = dir.path().to_owned();
        let release = hold_the_pool(&tokio::runtime::Handle::current());
        {
            let mut cleanup = Box::pin(dir.cleanup());
            let first =
                std::future::poll_fn(|cx| Poll::Ready(cleanup.as_mut().poll(cx).is_ready()));
            assert!(!first.await);
        } // cancelled: the removal goes on on the pool
        release.send(()).unwrap();
        let again = dir.cleanup().await.unwrap_err();
        assert!(again.to_string().contains("cancelled"), "{}", again);
        let err = dir
            .persist_noclobber(scratch.path().join("x"))
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("cancelled") && !text.contains("kept"),
            "{}",
            text
        );
        wait_gone(&path);
    });
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
fn a_spooled_rollover_without_a_runtime_is_an_error_and_loses_nothing() {
    // Polled by hand, outside any runtime (as another executor would): the write past
    // max_size returns an error naming what failed, the bytes and position stay in memory.
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let mut file = tempkit::Builder::new()
        .dir(scratch.path())
        .spooled_temporary_file_async(8);
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut write = std::pin::pin!(file.write_all(b"abcdef"));
        assert!(matches!(write.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    }
    {
        let mut seek = std::pin::pin!(file.seek(SeekFrom::Start(2)));
        assert!(matches!(seek.as_mut().poll(&mut cx), Poll::Ready(Ok(2))));
    }
    let outcome = {
        let mut write = std::pin::pin!(file.write_all(b"0123456789"));
        write.as_mut().poll(&mut cx)
    };
    match outcome {
        Poll::Ready(Err(e)) => {
            let text = e.to_string();
            assert!(
                text.contains("roll a spooled temporary file over"),
                "{}",
                text
            );
            assert!(text.contains("runtime"), "{}", text);
        }
        other => panic!("expected the rollover's error, got {:?}", other),
    }
    assert!(!file.is_rolled_over());
    {
        let mut position = std::pin::pin!(file.stream_position());
        assert!(matches!(
            position.as_mut().poll(&mut cx),
            Poll::Ready(Ok(2))
        ));
    }
    {
        let mut seek = std::pin::pin!(file.seek(SeekFrom::Start(0)));
        assert!(matches!(seek.as_mut().poll(&mut cx), Poll::Ready(Ok(0))));
    }
    let mut text = String::new();
    {
        let mut read = std::pin::pin!(file.read_to_string(&mut text));
        assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(6))));
    }
    assert_eq!(text, "abcdef");
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
    // Within a runtime, the same write rolls it over.
    current_thread().block_on(async {
        file.seek(SeekFrom::Start(2)).await.unwrap();
        file.write_all(b"0123456789").await.unwrap();
        assert!(file.is_rolled_over());
        file.rewind().await.unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "ab0123456789");
    });
}

// ---- the runtime is never blocked ----

/// On a current-thread runtime, one task ticks every millisecond while another drops `dir`
/// (holding the tree at `path`). Returns the ticker's longest gap from before the drop until
/// the tree is gone, and how long that took from the drop.
fn tick_while_dropping<D: Send + 'static>(dir: D, path: PathBuf) -> (Duration, Duration) {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let rt = current_thread();
    let out = rt.block_on(async move {
        let stop = Arc::new(AtomicBool::new(false));
        let stop_ticker = Arc::clone(&stop);
        let ticker = tokio::spawn(async move {
            let mut last = Instant::now();
            let mut longest = Duration::from_secs(0);
            while !stop_ticker.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(1)).await;
                let now = Instant::now();
                longest = longest.max(now - last);
                last = now;
            }
            longest
        });
        tokio::time::sleep(Duration::from_millis(20)).await; // the ticker is running
        let start = Instant::now();
        tokio::spawn(async move { drop(dir) }).await.unwrap();
        while path.symlink_metadata().is_ok() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the tree is still there"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let removal = start.elapsed();
        tokio::time::sleep(Duration::from_millis(5)).await;
        stop.store(true, Ordering::Relaxed);
        (ticker.await.unwrap(), removal)
    });
    drop(rt);
    out
}

/// A blocking temporary directory holding 10,000 files (100 directories of 100).
fn big_tree(scratch: &Path) -> tempkit::TemporaryDirectory {
    let dir = tempkit::Builder::new()
        .dir(scratch)
        .temporary_directory()
        .unwrap();
    fill(dir.path(), 10_000, 100);
    dir
}

#[test]
fn dropping_a_10000_file_tree_never_blocks_a_current_thread_runtime() {
    let _alone = ALONE
        .write()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Generous against a loaded 2-core machine: the target is 5 ms (ticks are 1 ms).
    const BOUND: Duration = Duration::from_millis(50);
    let scratch = Scratch::new();

    let dir = tempkit::tokio::TemporaryDirectory::from(big_tree(scratch.path()));
    let path = dir.path().to_owned();
    let (async_gap, async_removal) = tick_while_dropping(dir, path);

    // The control: the blocking type dropped in the same task stalls the only worker for
    // the whole removal, so the test can fail.
    let dir = big_tree(scratch.path());
    let path = dir.path().to_owned();
    let (blocking_gap, blocking_removal) = tick_while_dropping(dir, path);

    println!(
        "longest tick gap: async drop {:?} (tree gone after {:?}); blocking drop {:?} \
         (tree gone after {:?})",
        async_gap, async_removal, blocking_gap, blocking_removal
    );
    assert!(
        async_gap < BOUND,
        "the async drop blocked the runtime for {:?}",
        async_gap
    );
    assert!(
        blocking_gap * 2 >= blocking_removal,
        "the control's gap {:?} should be the whole removal {:?}",
        blocking_gap,
        blocking_removal
    );
    assert!(
        blocking_gap > async_gap * 4,
        "the control {:?} should be far above the async drop's {:?}",
        blocking_gap,
        async_gap
    );
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
fn a_rollover_tokio_drops_unrun_at_shutdown_loses_nothing() {
    // The handle outlives its runtime: the rollover's task is dropped unrun, and the bytes
    // stay in memory, readable, with the error saying why.
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let rt = current_thread();
    let handle = rt.handle().clone();
    let mut file = tempkit::Builder::new()
        .dir(scratch.path())
        .spooled_temporary_file_async(4);
    let mut cx = Context::from_waker(Waker::noop());
    let poll_once = |f: &mut std::pin::Pin<&mut dyn Future<Output = io::Result<()>>>| {
        f.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    };
    {
        let mut write = std::pin::pin!(file.write_all(b"abc"));
        assert!(
            matches!(write.as_mut().poll(&mut cx), Poll::Ready(Ok(()))),
            "in memory"
        );
    }
    drop(rt);
    let _entered = handle.enter();
    let outcome = {
        let mut write: std::pin::Pin<&mut dyn Future<Output = io::Result<()>>> =
            std::pin::pin!(file.write_all(b"defgh"));
        poll_once(&mut write)
    };
    match outcome {
        Poll::Ready(Err(e)) => assert!(e.to_string().contains("shutting down"), "{}", e),
        other => panic!(
            "expected the rollover's error, got {:?}",
            other.map(|r| r.is_ok())
        ),
    }
    assert!(!file.is_rolled_over());
    let mut text = String::new();
    {
        let mut seek = std::pin::pin!(file.seek(SeekFrom::Start(0)));
        assert!(matches!(seek.as_mut().poll(&mut cx), Poll::Ready(Ok(0))));
    }
    {
        let mut read = std::pin::pin!(file.read_to_string(&mut text));
        assert!(matches!(read.as_mut().poll(&mut cx), Poll::Ready(Ok(3))));
    }
    assert_eq!(text, "abc");
    assert!(scratch.names().is_empty());
}

#[test]
fn a_close_tokio_drops_unrun_at_shutdown_names_the_file() {
    // The file outlives its runtime: close's task is dropped unrun; the file is left open, as
    // it was (deleted by the drop); the error names what failed and the path.
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let (file, handle) = outliving_its_runtime(
        tempkit::Builder::new()
            .dir(scratch.path())
            .named_temporary_file_async(),
    );
    let mut file = file.unwrap();
    let path = file.path().to_owned();
    let _entered = handle.enter();
    let outcome = {
        let mut close = std::pin::pin!(file.close());
        close.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    };
    match outcome {
        Poll::Ready(Err(e)) => {
            let text = e.to_string();
            assert!(text.contains("shutting down"), "{}", text);
            assert!(text.contains("close temporary file"), "{}", text);
            assert!(text.contains(&path.display().to_string()), "{}", text);
        }
        other => panic!("expected close's error, got {:?}", other),
    }
    assert!(path.exists() && !file.is_closed(), "left open, as it was");
    drop(file);
    assert!(!path.exists(), "{} left behind", path.display());
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

#[test]
fn a_background_write_that_failed_is_reported_naming_the_file() {
    // In a fresh process whose files cannot grow past 64 KiB (`RLIMIT_FSIZE`, `SIGXFSZ`
    // ignored; room for the harness's own output file): the write fails on the blocking
    // pool; close and commit report it with the path it failed on, its kind kept.
    let scratch = Scratch::new();
    Child::new("child_background_write_fails")
        .arg(scratch.path())
        .assert_passes();
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// The child of [`a_background_write_that_failed_is_reported_naming_the_file`].
#[test]
#[ignore]
fn child_background_write_fails() {
    let dir = child_arg();
    const LIMIT: usize = 64 * 1024;
    common::limit_file_size(LIMIT);
    let too_large = io::Error::from_raw_os_error(libc::EFBIG).kind();
    current_thread().block_on(async {
        let mut file = tempkit::Builder::new()
            .dir(&dir)
            .named_temporary_file_async()
            .await
            .unwrap();
        let path = file.path().to_owned();
        // Accepted at once (one chunk, below tokio's 2 MiB), written in the background.
        file.write_all(&[b'x'; 2 * LIMIT]).await.unwrap();
        let e = file.close().await.unwrap_err();
        assert_eq!(e.kind(), too_large, "{}", e);
        let text = e.to_string();
        assert!(text.contains(&path.display().to_string()), "{}", text);
        drop(file);
        assert!(!path.exists());

        // tokio reports the failure once; a retry must never publish the truncated file.
        let to = dir.join("published");
        let mut file = tempkit::Builder::new()
            .dir(&dir)
            .delete_on_close(false)
            .named_temporary_file_async()
            .await
            .unwrap();
        let path = file.path().to_owned();
        file.write_all(&[b'x'; 2 * LIMIT]).await.unwrap();
        let err = file.persist(&to).await.unwrap_err();
        assert_eq!(err.error.kind(), too_large, "{}", err.error);
        assert!(!to.exists());
        // The retry, as the error invites: refused, with the kind and both paths.
        let err = err.file.persist(&to).await.unwrap_err();
        assert_eq!(err.error.kind(), too_large, "{}", err.error);
        let text = err.error.to_string();
        assert!(text.contains("earlier write"), "{}", text);
        assert!(text.contains(&path.display().to_string()), "{}", text);
        assert!(text.contains(&to.display().to_string()), "{}", text);
        assert!(!to.exists(), "a truncated file was published");
        let mut file = err.file;
        // close() closes (the name stays: delete_on_close(false)) but says it failed ...
        let e = file.close().await.unwrap_err();
        assert_eq!(e.kind(), too_large, "{}", e);
        assert!(file.is_closed());
        assert!(path.exists());
        // ... and a publish after it is refused too, as keep is.
        let err = file.persist_noclobber(&to).await.unwrap_err();
        assert_eq!(err.error.kind(), too_large, "{}", err.error);
        assert!(!to.exists(), "a truncated file was published after close");
        let e = err.file.keep().await.unwrap_err();
        assert_eq!(e.kind(), too_large, "{}", e);
        assert!(!path.exists(), "a refused keep drops the file");

        // The failure seen by a flush of the caller's own: the publish is still refused.
        let mut file = tempkit::Builder::new()
            .dir(&dir)
            .named_temporary_file_async()
            .await
            .unwrap();
        file.write_all(&[b'x'; 2 * LIMIT]).await.unwrap();
        assert_eq!(file.flush().await.unwrap_err().kind(), too_large);
        let err = file.persist_durable(&to).await.unwrap_err();
        assert_eq!(err.error.kind(), too_large, "{}", err.error);
        assert!(!to.exists(), "a truncated file was published after a flush");
        drop(err);

        let to = dir.join("published");
        let mut atomic = tempkit::tokio::AtomicFile::create(&to).await.unwrap();
        atomic.write_all(&[b'x'; 2 * LIMIT]).await.unwrap();
        let e = atomic.commit().await.unwrap_err();
        assert_eq!(e.kind(), too_large, "{}", e);
        assert!(!e.committed());
        let text = e.to_string();
        assert!(text.contains(&to.display().to_string()), "{}", text);
        assert!(!to.exists());

        // The same after the caller's own flush took the error.
        let mut atomic = tempkit::tokio::AtomicFile::create(&to).await.unwrap();
        atomic.write_all(&[b'x'; 2 * LIMIT]).await.unwrap();
        assert_eq!(atomic.flush().await.unwrap_err().kind(), too_large);
        let e = atomic.commit().await.unwrap_err();
        assert_eq!(e.kind(), too_large, "{}", e);
        assert!(!e.committed());
        assert!(!to.exists(), "a truncated new version was committed");
    });
}

/// Runs `fut` up to its first `Pending` (or to the end), on the task that calls this.
#[allow(clippy::incompatible_msrv)] // the tests run on a current toolchain
async fn poll_once<F: std::future::Future + Unpin>(fut: &mut F) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut *fut).poll(cx))).await
}

#[test]
fn a_call_through_as_file_still_in_flight_never_makes_persist_or_commit_panic() {
    // The pool's only thread is busy: a `sync_all` through `as_file()` / `as_file_mut()`
    // whose future is dropped stays queued, sharing tokio's `std::fs::File`. persist and
    // commit then run (tokio's `into_std` would panic): the content is all there.
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let (rt, release) = runtime_with_blocked_pool();
    let mut blocking = tempkit::Builder::new()
        .dir(scratch.path())
        .named_temporary_file()
        .unwrap();
    io::Write::write_all(&mut blocking, b"named, complete").unwrap();
    let file = tempkit::tokio::NamedTemporaryFile::from_blocking(blocking);
    let to = scratch.path().join("named");
    let mut blocking = tempkit::AtomicFile::create(scratch.path().join("atomic")).unwrap();
    io::Write::write_all(&mut blocking, b"atomic, complete").unwrap();
    let mut atomic = tempkit::tokio::AtomicFile::from_blocking(blocking).unwrap();
    let blocking = tempkit::AtomicFile::create(scratch.path().join("discarded")).unwrap();
    let mut discarded = tempkit::tokio::AtomicFile::from_blocking(blocking).unwrap();
    rt.block_on(async {
        let sync = file.as_file().unwrap().sync_all();
        assert!(tokio::time::timeout(Duration::ZERO, sync).await.is_err());
        let sync = atomic.as_file_mut().sync_all();
        assert!(tokio::time::timeout(Duration::ZERO, sync).await.is_err());
        let sync = discarded.as_file_mut().sync_all();
        assert!(tokio::time::timeout(Duration::ZERO, sync).await.is_err());
        let mut discard = Box::pin(discarded.discard());
        assert!(poll_once(&mut discard).await.is_pending());
        // All three get as far as the busy pool; only then is it released.
        let mut persist = Box::pin(file.persist(&to));
        assert!(poll_once(&mut persist).await.is_pending());
        let mut commit = Box::pin(atomic.commit());
        assert!(poll_once(&mut commit).await.is_pending());
        release.send(()).unwrap();
        let timeout = Duration::from_secs(20);
        let published = tokio::time::timeout(timeout, persist)
            .await
            .unwrap()
            .unwrap();
        drop(published);
        tokio::time::timeout(timeout, commit)
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(timeout, discard)
            .await
            .unwrap()
            .unwrap();
    });
    assert_eq!(std::fs::read(&to).unwrap(), b"named, complete");
    assert_eq!(
        std::fs::read(scratch.path().join("atomic")).unwrap(),
        b"atomic, complete"
    );
    let mut names = scratch.names();
    names.sort();
    assert_eq!(names, ["atomic", "named"]);
}

/// Whether `path` carries the owner tag of `Builder::reapable` (`user.tempkit.owner`).
fn has_owner_tag(path: &Path) -> bool {
    let mut buf = [0u8; 512];
    rustix::fs::lgetxattr(path, "user.tempkit.owner", &mut buf[..]).is_ok()
}

#[test]
fn a_kept_reapable_file_dropped_with_a_write_in_flight_loses_its_tag() {
    // The pool's only thread is busy, so the write is still queued (sharing tokio's
    // `std::fs::File`) when the file is dropped and kept: the owner tag goes all the same,
    // or `reap` would remove a file that was asked to be kept.
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let (rt, release) = runtime_with_blocked_pool();
    let blocking = tempkit::Builder::new()
        .dir(scratch.path())
        .reapable(true)
        .named_temporary_file()
        .unwrap();
    let tagged = blocking.is_reapable() && has_owner_tag(blocking.path());
    if !common::need::feature(
        "xattrs",
        tagged,
        "user extended attributes on the scratch directory's file system",
    ) {
        return;
    }
    let mut file = tempkit::tokio::NamedTemporaryFile::from_blocking(blocking);
    let path = file.path().to_owned();
    rt.block_on(async {
        file.write_all(b"kept").await.unwrap();
        file.keep_if(true);
        drop(file);
    });
    assert!(path.exists(), "kept");
    assert!(
        !has_owner_tag(&path),
        "the kept file still carries its owner tag"
    );
    release.send(()).unwrap();
    drop(rt); // waits for the write
    assert_eq!(std::fs::read(&path).unwrap(), b"kept");
    std::fs::remove_file(&path).unwrap();
}

/// A file of 100 bytes at offset 0, made without the (busy) pool.
fn hundred_bytes(dir: &Path) -> tempkit::tokio::NamedTemporaryFile {
    let mut blocking = tempkit::Builder::new()
        .dir(dir)
        .named_temporary_file()
        .unwrap();
    io::Write::write_all(&mut blocking, &[7u8; 100]).unwrap();
    io::Seek::seek(&mut blocking, SeekFrom::Start(0)).unwrap();
    tempkit::tokio::NamedTemporaryFile::from_blocking(blocking)
}

#[test]
fn the_handle_handed_back_is_where_the_reads_stopped() {
    // tokio reads into a buffer of the size first asked for: a read of 100 bytes whose
    // future is dropped (a timeout), then a read of 10, leaves 90 bytes in it and the
    // descriptor at 100. The handle that reopen leaves, and keep and persist hand back, is
    // at the first byte the caller did not read. The pool is busy while the first read is
    // queued, so that it is still in flight when dropped.
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let mut big = [0u8; 100];
    let mut ten = [0u8; 10];
    let (rt, release) = runtime_with_blocked_pool();
    let mut file = hundred_bytes(scratch.path());
    rt.block_on(async {
        let read = file.read(&mut big);
        assert!(tokio::time::timeout(Duration::ZERO, read).await.is_err());
        release.send(()).unwrap();
        file.read_exact(&mut ten).await.unwrap();
        drop(file.reopen().await.unwrap());
        assert_eq!(file.seek(SeekFrom::Current(0)).await.unwrap(), 10);
        file.read_exact(&mut ten).await.unwrap();
        let (mut kept, path) = file.keep().await.unwrap();
        assert_eq!(kept.seek(SeekFrom::Current(0)).await.unwrap(), 20);
        drop(kept);
        std::fs::remove_file(&path).unwrap();
    });
    drop(rt);

    // The same through the file `as_file_mut` lends.
    let (rt, release) = runtime_with_blocked_pool();
    let mut file = hundred_bytes(scratch.path());
    rt.block_on(async {
        let read = file.as_file_mut().unwrap().read(&mut big);
        assert!(tokio::time::timeout(Duration::ZERO, read).await.is_err());
        release.send(()).unwrap();
        file.as_file_mut()
            .unwrap()
            .read_exact(&mut ten)
            .await
            .unwrap();
        let to = scratch.path().join("out");
        let mut published = file.persist(&to).await.unwrap();
        assert_eq!(published.seek(SeekFrom::Current(0)).await.unwrap(), 10);
    });
}

#[test]
fn persist_and_keep_at_runtime_shutdown_lose_nothing() {
    // The file outlives its runtime: the blocking pool takes no more tasks. persist hands
    // the file back as it was (not deleted), and keep keeps it in place.
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let ((first, second), handle) = outliving_its_runtime(async {
        let mut b = tempkit::Builder::new();
        b.dir(scratch.path());
        let mut first = b.named_temporary_file_async().await.unwrap();
        first.write_all(b"first").await.unwrap();
        first.flush().await.unwrap();
        let second = b.named_temporary_file_async().await.unwrap();
        (first, second)
    });
    let _entered = handle.enter();
    let to = scratch.path().join("out");
    let outcome = {
        let mut persist = std::pin::pin!(first.persist(&to));
        persist
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
    };
    let err = match outcome {
        Poll::Ready(Err(err)) => err,
        other => panic!(
            "expected persist's error, got {:?}",
            other.map(|r| r.is_ok())
        ),
    };
    assert!(
        err.error.to_string().contains("shutting down"),
        "{}",
        err.error
    );
    assert!(!to.exists());
    assert_eq!(
        std::fs::read(err.file.path()).unwrap(),
        b"first",
        "handed back as it was"
    );
    assert!(!err.file.is_closed());
    let path = second.path().to_owned();
    let outcome = {
        let mut keep = std::pin::pin!(second.keep());
        keep.as_mut().poll(&mut Context::from_waker(Waker::noop()))
    };
    match outcome {
        Poll::Ready(Ok((_, kept))) => assert_eq!(kept, path),
        other => panic!("expected keep to keep, got {:?}", other.map(|r| r.is_ok())),
    }
    assert!(path.exists(), "asked to be kept");
    std::fs::remove_file(&path).unwrap();
    let first = err.file.path().to_owned();
    drop(err);
    assert!(!first.exists());
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// Creations in one directory take turns, at most 8 at once (the kernel makes them one at a
/// time anyway), instead of each taking a blocking-pool thread to wait on the directory's
/// lock. With the pool's only thread held, 100 tasks creating at once hand 8 creations to the
/// pool and wait for their turn without a thread; a marker handed to the pool after that runs
/// right after those 8 (one thread takes the queue in order) and finds 8 files. The control,
/// the same creations each in a bare `spawn_blocking`, queues all 100 before the marker.
#[test]
fn creations_in_one_directory_take_turns_8_at_once() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let created_before_the_marker = |gated: bool| -> usize {
        let dir = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory()
            .unwrap();
        let (rt, release) = runtime_with_blocked_pool();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..100 {
                let mut builder = tempkit::Builder::new();
                builder.dir(dir.path());
                tasks.push(tokio::spawn(async move {
                    if gated {
                        builder.named_temporary_file_async().await.map(drop_later)
                    } else {
                        tokio::task::spawn_blocking(move || builder.named_temporary_file())
                            .await
                            .unwrap()
                            .map(drop_later)
                    }
                }));
            }
            // Every task runs until it waits: for the pool, or for its turn.
            tokio::time::sleep(Duration::from_millis(200)).await;
            let path = dir.path().to_owned();
            let marker = tokio::task::spawn_blocking(move || count_files(&path));
            release.send(()).unwrap();
            let seen = marker.await.unwrap();
            for task in tasks {
                task.await.unwrap().unwrap();
            }
            seen
        })
    };
    assert_eq!(
        created_before_the_marker(true),
        8,
        "creations at once, with turns"
    );
    assert_eq!(
        created_before_the_marker(false),
        100,
        "the control: creations at once, each in a bare spawn_blocking"
    );
}

/// Keeps a created file until the end of its test (dropping it would remove it before the
/// marker counts).
fn drop_later<T: Send + 'static>(object: T) -> Box<dyn Send> {
    Box::new(object)
}

#[test]
fn a_spooled_rollover_when_tokio_cannot_start_a_thread_is_an_error_and_loses_nothing() {
    // In a fresh process as nobody, with `RLIMIT_NPROC` at 1: the blocking pool cannot start
    // its first thread, and `spawn_blocking` panics; the write returns an error instead, the
    // bytes stay in memory, and once threads can start the rollover succeeds.
    let _shared = side_by_side();
    if !common::need::root() {
        return;
    }
    let scratch = Scratch::new();
    std::fs::set_permissions(
        scratch.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o777),
    )
    .unwrap();
    Child::new("child_spooled_rollover_without_threads")
        .arg(scratch.path())
        .as_nobody()
        .assert_passes();
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// The child of [`a_spooled_rollover_when_tokio_cannot_start_a_thread_is_an_error_and_loses_nothing`].
#[test]
#[ignore = "a child test: run by its parent test"]
fn child_spooled_rollover_without_threads() {
    let dir = child_arg();
    let mut original = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a plain system call writing into a valid rlimit.
    assert_eq!(
        unsafe { libc::getrlimit(libc::RLIMIT_NPROC, &mut original) },
        0
    );
    let set_nproc = |soft: libc::rlim_t| {
        let limit = libc::rlimit {
            rlim_cur: soft,
            rlim_max: original.rlim_max,
        };
        // SAFETY: a plain system call with a valid rlimit. The child test is alone in its
        // process (and nobody's only one), so the limit touches no other test.
        assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NPROC, &limit) }, 0);
    };
    let rt = current_thread(); // no thread of its own
    let mut file = tempkit::Builder::new()
        .dir(&dir)
        .spooled_temporary_file_async(8);
    set_nproc(1);
    rt.block_on(async {
        file.write_all(b"abcdef").await.unwrap();
        let e = file.write_all(b"0123456789").await.unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("roll a spooled temporary file over")
                && text.contains("could not start a blocking thread"),
            "{}",
            text
        );
        assert!(!file.is_rolled_over());
        assert_eq!(file.stream_position().await.unwrap(), 6);
        file.rewind().await.unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "abcdef");
    });
    set_nproc(original.rlim_cur);
    rt.block_on(async {
        file.write_all(b"0123456789").await.unwrap();
        assert!(file.is_rolled_over());
        file.rewind().await.unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "abcdef0123456789");
    });
}

// ---- publishing a directory at runtime shutdown loses nothing ----

/// Polls `future` once, with the handle of a runtime already dropped entered: tokio drops
/// `spawn_blocking`'s task unrun, and the first poll sees it (no waiting, no timing).
#[allow(clippy::incompatible_msrv)] // the tests run on a current toolchain
fn poll_once_after_shutdown<F: std::future::Future>(
    handle: &tokio::runtime::Handle,
    future: F,
) -> std::task::Poll<F::Output> {
    use std::task::{Context, Waker};
    let _entered = handle.enter();
    let mut future = std::pin::pin!(future);
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn a_directory_publish_tokio_drops_unrun_at_shutdown_hands_the_whole_tree_back() {
    use std::task::Poll;
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let (staged, handle) = outliving_its_runtime(
        tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_directory_async(),
    );
    let staged = staged.unwrap();
    fill(staged.path(), 100, 4);
    let path = staged.path().to_owned();
    let to = scratch.path().join("release");
    let err = match poll_once_after_shutdown(&handle, staged.persist_noclobber(&to)) {
        Poll::Ready(Err(err)) => err,
        Poll::Ready(Ok(p)) => panic!("published at {} after shutdown", p.display()),
        Poll::Pending => panic!("the task was not dropped unrun"),
    };
    assert!(err.to_string().contains("shutting down"), "{}", err);
    assert_eq!(err.dir.path(), path, "the same directory handed back");
    assert_eq!(count_files(&path), 100, "the staged tree is intact");
    assert!(to.symlink_metadata().is_err(), "nothing published at `to`");
    // The real directory, still temporary: it publishes in a fresh runtime.
    let dir = err.dir;
    let published = current_thread()
        .block_on(dir.persist_noclobber(&to))
        .unwrap();
    assert_eq!(published, to);
    assert_eq!(count_files(&to), 100);
    assert_eq!(scratch.names(), ["release"]);
}

#[test]
fn a_directory_replace_or_exchange_at_shutdown_touches_neither_tree() {
    use std::task::Poll;
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let to = scratch.path().join("site");
    std::fs::create_dir(&to).unwrap();
    fill(&to, 10, 2);
    let ((a, b), handle) = outliving_its_runtime(async {
        let mut builder = tempkit::Builder::new();
        builder.dir(scratch.path());
        let a = builder.temporary_directory_async().await.unwrap();
        (a, builder.temporary_directory_async().await.unwrap())
    });
    fill(a.path(), 100, 4);
    fill(b.path(), 100, 4);
    let (a_path, b_path) = (a.path().to_owned(), b.path().to_owned());
    let replaced = match poll_once_after_shutdown(&handle, a.replace(&to)) {
        Poll::Ready(Err(err)) => err,
        other => panic!("expected an error at shutdown, got {:?}", other.map(|_| ())),
    };
    let exchanged = match poll_once_after_shutdown(&handle, b.exchange(&to)) {
        Poll::Ready(Err(err)) => err,
        other => panic!("expected an error at shutdown, got {:?}", other.map(|_| ())),
    };
    assert_eq!(replaced.dir.path(), a_path);
    assert_eq!(exchanged.dir.path(), b_path);
    assert_eq!(count_files(&a_path), 100);
    assert_eq!(count_files(&b_path), 100);
    assert_eq!(count_files(&to), 10, "`to` untouched");
    // Handed back armed: dropped outside a runtime, each is removed.
    drop(replaced);
    drop(exchanged);
    assert_eq!(scratch.names(), ["site"]);
}

/// Polls `fut` once, outside any runtime (its tasks are refused when the runtime is gone): it
/// must be ready.
#[allow(clippy::incompatible_msrv)] // the tests run on a current toolchain
fn ready_now<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Waker};
    let mut fut = std::pin::pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("expected the future to be ready at once"),
    }
}

/// A named file holding `content`, read once (or lent by `as_file_mut`) on a runtime that is
/// then dropped: tokio's read-ahead makes `keep` and `persist` seek first, and that seek's
/// task is dropped unrun. tokio reports it and leaves its `File` waiting on the spent task
/// handle (the next poll of it panics: "JoinHandle polled after completion"): the object
/// makes it anew. `keep` keeps the file in place; a `persist` handed back is retried in a
/// fresh runtime and publishes everything; `close` never panics.
#[test]
fn a_file_read_before_its_runtime_shut_down_is_kept_or_persisted_later_never_panics() {
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let content = b"0123456789".repeat(1000);
    let (files, handle) = outliving_its_runtime(async {
        let mut b = tempkit::Builder::new();
        b.dir(scratch.path()).delete_on_close(false);
        let mut files = Vec::new();
        for lent in [false, true, false, true] {
            let mut file = b.named_temporary_file_async().await.unwrap();
            file.write_all(&content).await.unwrap();
            file.rewind().await.unwrap();
            if lent {
                file.as_file_mut().unwrap();
            } else {
                let mut two = [0u8; 2];
                file.read_exact(&mut two).await.unwrap();
                assert_eq!(&two, b"01");
            }
            files.push(file);
        }
        files
    });
    let entered = handle.enter();
    let mut files = files.into_iter();
    // keep: in place, all there.
    for file in files.by_ref().take(2) {
        let path = file.path().to_owned();
        let (_, kept) = ready_now(file.keep()).expect("kept in place at shutdown");
        assert_eq!(kept, path);
        assert_eq!(std::fs::read(&path).unwrap(), content, "asked to be kept");
        std::fs::remove_file(&path).unwrap();
    }
    // persist: handed back, then retried (and closed) in a fresh runtime.
    let mut back = Vec::new();
    for (i, file) in files.enumerate() {
        let to = scratch.path().join(format!("out{}", i));
        let err = match ready_now(file.persist(&to)) {
            Err(err) => err,
            Ok(_) => panic!("persist cannot run at shutdown"),
        };
        assert!(!to.exists());
        assert_eq!(std::fs::read(err.file.path()).unwrap(), content);
        back.push((err.file, to));
    }
    drop(entered);
    let rt = current_thread();
    rt.block_on(async {
        let mut back = back.into_iter();
        let (file, to) = back.next().unwrap();
        file.persist(&to).await.expect("the retry publishes");
        assert_eq!(std::fs::read(&to).unwrap(), content);
        let (mut file, _) = back.next().unwrap();
        let path = file.path().to_owned();
        file.close().await.unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), content, "closed, name kept");
        let (_, again) = file.keep().await.unwrap();
        assert_eq!(again, path);
        std::fs::remove_file(&path).unwrap();
    });
    std::fs::remove_file(scratch.path().join("out0")).unwrap();
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// A write handed to tokio after the runtime shut down is refused ("background task failed")
/// and leaves tokio's `File` without its buffer: the next write, seek or read through it
/// would panic (`unwrap` on `None`). The object makes it anew: later writes error or work,
/// `close` at shutdown leaves the file open as it was, and in a fresh runtime every publish
/// is refused (a write was lost) and `close` closes, never panicking.
#[test]
fn a_write_refused_at_shutdown_never_makes_a_later_call_panic() {
    use std::task::{Context, Poll, Waker};
    use tokio::io::AsyncWrite;
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let (mut file, handle) = outliving_its_runtime(async {
        let mut file = tempkit::Builder::new()
            .dir(scratch.path())
            .delete_on_close(false)
            .named_temporary_file_async()
            .await
            .unwrap();
        file.write_all(b"kept").await.unwrap();
        file.flush().await.unwrap();
        file
    });
    let entered = handle.enter();
    let path = file.path().to_owned();
    let cx = &mut Context::from_waker(Waker::noop());
    for _ in 0..2 {
        match std::pin::Pin::new(&mut file).poll_write(cx, b" lost") {
            Poll::Ready(Err(e)) => assert!(e.to_string().contains("background task"), "{}", e),
            other => panic!("tokio refuses the write at shutdown: {:?}", other),
        }
    }
    let e = ready_now(file.close()).unwrap_err();
    assert!(e.to_string().contains("shutting down"), "{}", e);
    assert!(!file.is_closed(), "left open");
    assert_eq!(std::fs::read(&path).unwrap(), b"kept");
    drop(entered);
    current_thread().block_on(async {
        file.seek(SeekFrom::End(0)).await.unwrap();
        file.write_all(b" more").await.unwrap();
        let e = file.close().await.unwrap_err();
        assert!(e.to_string().contains("an earlier write"), "{}", e);
        assert!(file.is_closed());
        let e = file.persist(scratch.path().join("out")).await.unwrap_err();
        assert!(
            e.error.to_string().contains("an earlier write"),
            "{}",
            e.error
        );
        assert_eq!(std::fs::read(&path).unwrap(), b"kept more");
    });
    assert!(!path.exists());
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// The same for the unnamed and the atomic file: a write tokio refuses at shutdown leaves its
/// `File` without a buffer (the next write would panic: `unwrap` on `None`); made anew, the
/// next write errors again, and in a fresh runtime the unnamed file works and the atomic
/// file refuses to commit (a write was lost), never panicking.
#[test]
fn a_write_refused_at_shutdown_never_makes_an_unnamed_or_atomic_file_panic() {
    use std::task::{Context, Poll, Waker};
    use tokio::io::AsyncWrite;
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let target = scratch.path().join("state");
    let ((mut unnamed, mut atomic), handle) = outliving_its_runtime(async {
        let mut unnamed = tempkit::Builder::new()
            .dir(scratch.path())
            .temporary_file_async()
            .await
            .unwrap();
        unnamed.write_all(b"kept").await.unwrap();
        unnamed.flush().await.unwrap();
        let atomic = tempkit::tokio::AtomicFile::create(&target).await.unwrap();
        (unnamed, atomic)
    });
    let entered = handle.enter();
    let cx = &mut Context::from_waker(Waker::noop());
    for _ in 0..2 {
        for outcome in [
            std::pin::Pin::new(&mut unnamed).poll_write(cx, b" lost"),
            std::pin::Pin::new(&mut atomic).poll_write(cx, b"lost"),
        ] {
            match outcome {
                Poll::Ready(Err(e)) => assert!(e.to_string().contains("background task"), "{}", e),
                other => panic!("tokio refuses the write at shutdown: {:?}", other),
            }
        }
    }
    drop(entered);
    current_thread().block_on(async {
        unnamed.seek(SeekFrom::End(0)).await.unwrap();
        unnamed.write_all(b" more").await.unwrap();
        unnamed.rewind().await.unwrap();
        let mut text = String::new();
        unnamed.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "kept more");
        atomic.write_all(b"new").await.unwrap();
        let e = atomic.commit().await.unwrap_err();
        assert!(e.to_string().contains("an earlier write"), "{}", e);
    });
    assert!(!target.exists());
    drop(unnamed);
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// A read and a seek that tokio drops at shutdown (their tasks never run) leave tokio's `File`
/// waiting on a spent task: the next read, seek or flush on it would panic ("JoinHandle
/// polled after completion"). The object makes its `File` anew on that error: the next calls
/// error again, `close` hands the file back open, and in a fresh runtime it reads back whole.
#[test]
fn a_read_or_seek_tokio_drops_at_shutdown_never_makes_a_later_call_panic() {
    use std::task::{Context, Poll, Waker};
    use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
    let _shared = side_by_side();
    let scratch = Scratch::new();
    let (mut file, handle) = outliving_its_runtime(async {
        let mut file = tempkit::Builder::new()
            .dir(scratch.path())
            .named_temporary_file_async()
            .await
            .unwrap();
        file.write_all(b"content").await.unwrap();
        file.flush().await.unwrap();
        file.seek(SeekFrom::Start(0)).await.unwrap();
        file
    });
    let entered = handle.enter();
    let path = file.path().to_owned();
    let cx = &mut Context::from_waker(Waker::noop());
    let mut bytes = [0u8; 4];
    for _ in 0..2 {
        let mut buf = ReadBuf::new(&mut bytes);
        match std::pin::Pin::new(&mut file).poll_read(cx, &mut buf) {
            Poll::Ready(Err(_)) => {}
            other => panic!("tokio drops the read at shutdown: {:?}", other),
        }
    }
    for _ in 0..2 {
        std::pin::Pin::new(&mut file)
            .start_seek(SeekFrom::Start(3))
            .unwrap();
        match std::pin::Pin::new(&mut file).poll_complete(cx) {
            Poll::Ready(Err(_)) => {}
            other => panic!("tokio drops the seek at shutdown: {:?}", other),
        }
    }
    let e = ready_now(file.close()).unwrap_err();
    assert!(e.to_string().contains("shutting down"), "{}", e);
    assert!(!file.is_closed(), "left open");
    drop(entered);
    current_thread().block_on(async {
        file.seek(SeekFrom::Start(0)).await.unwrap();
        let mut text = String::new();
        file.read_to_string(&mut text).await.unwrap();
        assert_eq!(text, "content");
        file.close().await.unwrap();
    });
    assert!(!path.exists());
    assert!(scratch.names().is_empty(), "{:?}", scratch.names());
}

/// Runs `make` on a fresh current-thread runtime, then drops that runtime: what the objects
/// hand to tokio afterwards, with its handle entered, is dropped unrun or refused, as at a
/// shutdown. Returns what `make` made and the dead runtime's handle.
fn outliving_its_runtime<T>(
    make: impl std::future::Future<Output = T>,
) -> (T, tokio::runtime::Handle) {
    let rt = current_thread();
    let handle = rt.handle().clone();
    let made = rt.block_on(make);
    drop(rt);
    (made, handle)
}
