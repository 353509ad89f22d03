//! The auto traits the crate's types have (all their fields are plain data) hold for compat's,
//! whose `TempDir` wraps tempkit's `TemporaryDirectory`: a user may share a `TempDir` across
//! threads, keep one in a `static`, or hold one across `catch_unwind`.

use std::panic::{RefUnwindSafe, UnwindSafe};

fn all<T: Send + Sync + Unpin + UnwindSafe + RefUnwindSafe>() {}

#[test]
fn the_crates_auto_traits_hold() {
    all::<tempfile::TempDir>();
    all::<tempfile::NamedTempFile>();
    all::<tempfile::TempPath>();
    all::<tempfile::SpooledTempFile>();
    all::<tempfile::SpooledData>();
    all::<tempfile::Builder<'static, 'static>>();
}
