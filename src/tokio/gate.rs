//! At most [`WIDTH`] async creations at once in one directory: the others wait as futures,
//! in the order they came, without a thread.
//!
//! Creating an entry (`open(O_CREAT|O_EXCL)`, `mkdir`) locks its directory in the kernel: the
//! creations of one directory run one at a time, whatever the number of threads. A thousand
//! tasks creating at once would otherwise each take a thread of tokio's blocking pool (up to
//! 512 are started) to wait for that lock, spinning on it where the kernel spins: on this
//! project's ext4 machine, 1,000 named files at once took 4 to 10 times as long that way
//! (see docs/PERFORMANCE.md, "Async (tokio)"). A few at once keep the lock busy; the rest
//! cost nothing while they wait.
//!
//! A directory is known by the path it was given as (`None`, the default directory, is one
//! more): two spellings of one directory get a gate each (more at once, as before the gates),
//! and two directories never share one, so a directory whose creations hang (a dead network
//! mount) holds up only its own. A gate lives while a creation holds or waits for it. A turn
//! ends on the pool thread, when its creation does, whatever the task that waited for it does
//! next. Unnamed files (`O_TMPFILE` takes no lock on its directory), removals, writes and
//! publishing do not take turns.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use ::tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Creations that may run at once in one directory: a few more than one, so that the work
/// around the kernel's lock (drawing the name, waking a thread, the open file's setup)
/// overlaps it.
const WIDTH: usize = 8;

/// The gates of the directories being created in, by the path given (`""` for the default).
static GATES: Mutex<Option<Gates>> = Mutex::new(None);

#[derive(Default)]
struct Gates {
    by_dir: HashMap<PathBuf, Weak<Semaphore>>,
    /// Gates kept after the last sweep of the dead ones: the next sweep is due at twice this.
    swept_to: usize,
}

/// Runs `create` on the blocking pool after waiting for a turn to create in `dir` (`None`: the
/// default directory), as [`blocking`](super::blocking) does with `what` and `path`. If the
/// future is dropped while it waits, it leaves the queue; while `create` runs, the turn ends
/// with it.
pub(super) async fn create_in<T, F>(
    dir: Option<&Path>,
    what: &str,
    path: Option<&Path>,
    create: F,
) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let turn = turn(dir).await;
    super::blocking(what, path, move || {
        let made = create();
        drop(turn);
        made
    })
    .await
}

/// Waits for a turn to create in `dir`.
async fn turn(dir: Option<&Path>) -> Option<OwnedSemaphorePermit> {
    // The gates are never closed: `acquire_owned` fails only on a closed semaphore.
    gate(dir.unwrap_or_else(|| Path::new("")))
        .acquire_owned()
        .await
        .ok()
}

/// The gate of `dir`, made if no creation holds or waits for one.
fn gate(dir: &Path) -> Arc<Semaphore> {
    let mut gates = GATES.lock().unwrap_or_else(PoisonError::into_inner);
    let gates = gates.get_or_insert_with(Gates::default);
    if let Some(gate) = gates.by_dir.get(dir).and_then(Weak::upgrade) {
        return gate;
    }
    let gate = Arc::new(Semaphore::new(WIDTH));
    gates.by_dir.insert(dir.to_owned(), Arc::downgrade(&gate));
    // The gates of directories no longer created in go, a sweep each time their number has
    // doubled: constant time per creation on average.
    if gates.by_dir.len() > 2 * gates.swept_to.max(16) {
        gates.by_dir.retain(|_, gate| gate.strong_count() > 0);
        gates.swept_to = gates.by_dir.len();
    }
    gate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_gets_width_turns_at_once_and_the_next_waits() {
        let rt = ::tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        rt.block_on(async {
            let dir = Path::new("/gate/test/one");
            let mut held = Vec::new();
            for _ in 0..WIDTH {
                held.push(turn(Some(dir)).await.expect("a turn"));
            }
            let waker = futures_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            let mut next = Box::pin(turn(Some(dir)));
            assert!(next.as_mut().poll(&mut cx).is_pending());
            // Another directory, and the default one, have gates of their own.
            let mut other = Box::pin(turn(Some(Path::new("/gate/test/two"))));
            assert!(other.as_mut().poll(&mut cx).is_ready());
            let mut default = Box::pin(turn(None));
            assert!(default.as_mut().poll(&mut cx).is_ready());
            drop(held.pop());
            assert!(next.as_mut().poll(&mut cx).is_ready());
        });
    }

    #[test]
    fn the_gates_of_directories_no_longer_created_in_go() {
        let rt = ::tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
        rt.block_on(async {
            for i in 0..500 {
                let dir = PathBuf::from(format!("/gate/test/sweep/{}", i));
                drop(turn(Some(&dir)).await.expect("a turn"));
            }
        });
        let gates = GATES.lock().unwrap_or_else(PoisonError::into_inner);
        let left = gates.as_ref().map_or(0, |g| g.by_dir.len());
        assert!(left < 100, "{} gates left after 500 directories", left);
    }

    /// A waker that does nothing (the test polls by hand).
    fn futures_waker() -> std::task::Waker {
        use std::sync::Arc;
        use std::task::Wake;
        struct Nothing;
        impl Wake for Nothing {
            fn wake(self: Arc<Self>) {}
        }
        std::task::Waker::from(Arc::new(Nothing))
    }

    use std::future::Future;
}
