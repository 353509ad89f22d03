"""tempkit: Python's tempfile module, done natively in Rust.

``import tempkit.tempfile as tempfile`` is the drop-in for the standard module (CPython's own
test suite runs against it). The Rust core lives in ``tempkit._native``.
"""

__version__ = "0.1.0"
