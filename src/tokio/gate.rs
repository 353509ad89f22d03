//! At most [`WIDTH`] async creations at once in one directory: the others wait as futures,
//! in the order they came, without a thread.
//!
//! Creating an entry (`open(O_CREAT|O_EXCL)`, `mkdir`) locks its directory in the kernel: the
//! creations of one directory run one at a time, whatever the number of threads. A thousand
//! tasks creating at once would otherwise each take a thread of tokio's blocking pool (up to
//! 512 are started) to wait for that lock, spinning on it where the kernel spins: on this
//! project's ext4 machine, 1,000 named files at once took 10 times as long that way (see
//! docs/PERFORMANCE.md, "Async (tokio)"). A few at once keep the lock busy; the rest cost
//! nothing while they wait.
//!
//! A directory is known by the path it was given as (or its absence, for the default), hashed
//! to one of [`GATES`] gates: two spellings of one directory get two gates (more at once, as
//! before), two directories that share a gate share its width (the creations of both still
//! run, [`WIDTH`] at a time). Removals, writes and publishing are not gated.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io;
use std::path::Path;

use ::tokio::sync::{Semaphore, SemaphorePermit};

/// Creations that may run at once in one directory: a few more than one, so that the work
/// around the kernel's lock (drawing the name, waking a thread, the open file's setup)
/// overlaps it.
const WIDTH: usize = 8;

/// How many gates the directories are hashed to.
const GATES: usize = 16;

// A `const` item is what lets the array below repeat a value that is not `Copy`; each element
// is its own semaphore (this constant is never used as a shared value).
#[allow(clippy::declare_interior_mutable_const)]
const OPEN: Semaphore = Semaphore::const_new(WIDTH);

static GATE: [Semaphore; GATES] = [OPEN; GATES];

/// Runs `create` on the blocking pool after waiting for a turn to create in `dir` (`None`: the
/// default directory), as [`blocking`](super::blocking) does with `what` and `path`.
///
/// The turn travels with the task and back: it ends on the awaiting task, once the pool thread
/// that created is idle again, so that the next creation finds that thread instead of
/// starting one. If the future is dropped while `create` runs, the turn ends with the task.
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
    let (made, turn) = super::blocking(what, path, move || (create(), turn)).await?;
    drop(turn);
    Ok(made)
}

/// Waits for a turn to create in `dir`.
async fn turn(dir: Option<&Path>) -> Option<SemaphorePermit<'static>> {
    let mut hasher = DefaultHasher::new();
    dir.hash(&mut hasher);
    let gate = &GATE[(hasher.finish() % GATES as u64) as usize];
    // The gates are never closed: `acquire` fails only on a closed semaphore.
    gate.acquire().await.ok()
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
            let mut next = Box::pin(turn(Some(dir)));
            let waker = futures_waker();
            let mut cx = std::task::Context::from_waker(&waker);
            assert!(next.as_mut().poll(&mut cx).is_pending());
            drop(held.pop());
            assert!(next.as_mut().poll(&mut cx).is_ready());
        });
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
