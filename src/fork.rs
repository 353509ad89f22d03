//! `fork_generation`: how code that keeps state per process (a random generator) learns,
//! without a system call, that it now runs in a forked child.

use crate::sys;

/// A number that differs between a process and every child it forks (and their children).
///
/// tempkit's name generator uses it to rekey in a forked child before its first name; it is
/// public for code with the same need: compare the value saved with the state against the
/// current one, and renew the state when they differ. The steady state is one atomic load (a
/// `pthread_atfork` child handler changes the value); before that handler is registered (the
/// first call registers it), or where registering failed, the value is taken from the process
/// id (a `getpid` per call). A process sees the same value on every call, except once if the
/// registration was still under way on another thread. Platforms without `fork` (Windows)
/// always return 0.
///
/// # Python equivalent
/// `os.register_at_fork(after_in_child=...)`, or the `os.getpid()` comparison of
/// `tempfile._RandomNameSequence`.
///
/// ```
/// let generation = tempkit::fork_generation();
/// // ... no fork in between ...
/// assert_eq!(tempkit::fork_generation(), generation);
/// ```
pub fn fork_generation() -> usize {
    sys::fork_generation()
}
