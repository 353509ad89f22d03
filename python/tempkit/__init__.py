"""tempkit: Python's tempfile module, done natively in Rust.

``import tempkit.tempfile as tempfile`` is the drop-in for the standard module (CPython's own
test suite runs against it). The Rust core lives in ``tempkit._native``.
"""

__version__ = "0.1.0"

# Beyond CPython's module (tempkit/_extras.py, src/extras.rs): durable atomic writes, a
# TemporaryDirectory kept on error, reaping what dead processes left.
from ._extras import AtomicFile, TemporaryDirectory, reap, write_atomic  # noqa: E402
