"""What tempkit adds to CPython's ``tempfile``: durable atomic writes, keeping what failed,
reaping what dead processes left. The work is done by the Rust core (``_extras`` there);
this module gives it Python's types: paths as str, bytes or ``os.PathLike`` (bytes in,
bytes out), errors as ``OSError`` subclasses with ``errno`` and ``filename``.

Only modules that ``python -X importtime`` shows as already loaded at start-up are imported
here, so that ``import tempkit`` costs no more than ``import tempfile``.
"""

import io as _io
import os as _os
import sys as _sys

from . import _native

__all__ = ["write_atomic", "AtomicFile", "TemporaryDirectory", "reap"]

_KEEP = "TEMPKIT_KEEP"


def _fs(path):
    """``(bytes, was_bytes)`` for a str, bytes or ``os.PathLike`` path."""
    path = _os.fspath(path)
    if isinstance(path, bytes):
        return path, True
    return _os.fsencode(path), False


def _keep_policy():
    """``TEMPKIT_KEEP`` as Python sees it now: ``never`` (default), ``on-panic`` (for Python:
    an exception leaves the ``with`` block) or ``always``."""
    value = _os.environ.get(_KEEP, "")
    return value if value in ("on-panic", "always") else "never"


def _announce(path, why):
    """The line that names a kept object, in the format of the Rust library's."""
    print("tempkit: kept %s (%s)" % (_os.fsdecode(path), why), file=_sys.stderr, flush=True)


def write_atomic(path, data, durable=True, *, perms=None, follow_symlinks=False,
                 encoding="utf-8"):
    """Replace the file at ``path`` with ``data`` (bytes-like, or str encoded with
    ``encoding``), atomically: at every instant ``path`` holds the complete old content or the
    complete new one, also if the process is killed. With ``durable`` (the default) the file
    is fsynced before the rename and its directory after it, so a power cut after the return
    keeps the new content.

    The temporary file is made in ``path``'s directory. An existing file keeps its owner,
    group and mode; a new one gets ``perms`` (default 0o666) minus the umask. A symlink at
    ``path`` is replaced as a link unless ``follow_symlinks`` (one level).

    Errors are ``OSError`` subclasses with ``errno`` and ``filename`` (``path``); no temporary
    file is left, and the destination is unchanged unless only the directory's final fsync
    failed (the new content is then in place, its durability unproven).
    """
    fs, _ = _fs(path)
    if isinstance(data, str):
        data = data.encode(encoding)
    elif not isinstance(data, bytes):
        data = bytes(data)
    _native.write_atomic(fs, data, bool(durable), perms, bool(follow_symlinks), path)


class AtomicFile:
    """A new version of the file at ``path``, written aside and published on success::

        with tempkit.AtomicFile("config.toml") as f:
            f.write("version = 2\\n")

    The ``with`` block gives the file object (``io.open`` of the temporary file beside
    ``path``, with ``mode``, ``buffering``, ``encoding``, ``errors``, ``newline`` as for
    ``open``). Leaving it normally commits: flush, fsync (``durable``), rename over ``path``,
    fsync of the directory. Leaving it by an exception discards: ``path`` is untouched and
    the temporary file removed. ``mode`` is ``"w"``/``"wb"`` (replace) or ``"x"``/``"xb"``
    (publish only if nothing is at ``path``: ``FileExistsError`` otherwise); add ``+`` to
    read back. Without ``with``: ``file``, then ``commit()`` or ``discard()``; an object
    dropped uncommitted is discarded.
    """

    file = None  # set early: __del__ runs even when __init__ raised
    _native = None

    def __init__(self, path, mode="w", buffering=-1, encoding=None, errors=None, newline=None,
                 *, durable=True, perms=None, follow_symlinks=False):
        if not isinstance(mode, str) or mode.replace("b", "").replace("+", "") not in ("w", "x") \
                or len(set(mode)) != len(mode):
            raise ValueError("AtomicFile: mode must be 'w' or 'x', with 'b' and/or '+': %r"
                             % (mode,))
        self.name = _os.fspath(path)
        self._noclobber = "x" in mode
        fs, _ = _fs(path)
        self._native = _native.AtomicFile(fs, bool(durable), perms, bool(follow_symlinks), path)
        try:
            self.file = _io.open(self._native.fileno(), mode.replace("x", "w"), buffering,
                                 encoding, errors, newline, closefd=False)
        except BaseException:
            self._native.discard()
            raise

    def __enter__(self):
        return self.file

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def commit(self):
        """Publish the file at ``name``. On error nothing changed at ``name`` (unless only
        the final directory fsync failed) and the temporary file is gone."""
        try:
            self.file.flush()
        except BaseException:
            self.discard()
            raise
        self.file.close()
        self._native.commit(self._noclobber)

    def discard(self):
        """Remove the temporary file; ``name`` is untouched. Does nothing once done."""
        if self.file is not None:
            try:
                self.file.close()
            except (OSError, ValueError):
                pass  # a failed flush: the content is being thrown away anyway
        if self._native is not None:
            self._native.discard()

    def __del__(self):
        # The file object must be closed (flushed into the still-open temporary file)
        # before the native object closes the descriptor under it.
        if self.file is not None:
            try:
                self.file.close()
            except Exception:
                pass

    def __repr__(self):
        return "<tempkit.AtomicFile %r>" % (self.name,)


def _output_type(*args):
    """``bytes`` if any argument is bytes, ``str`` otherwise; mixing them is a TypeError
    (CPython's rule)."""
    kind = None
    for arg in args:
        if arg is None:
            continue
        if isinstance(arg, _os.PathLike):
            arg = _os.fspath(arg)
        this = bytes if isinstance(arg, bytes) else str
        if kind is not None and this is not kind:
            raise TypeError("Can't mix bytes and non-bytes in path components.")
        kind = this
    return kind or str


class TemporaryDirectory:
    """CPython's ``TemporaryDirectory`` with tempkit's extras::

        with tempkit.TemporaryDirectory(keep_on_error=True) as name:
            ...  # an exception here keeps the directory, and says where on stderr

    - ``keep_on_error``: an exception leaving the ``with`` block keeps the directory (one
      line on stderr names it) instead of removing it.
    - ``TEMPKIT_KEEP=on-panic`` in the environment does the same for every such directory,
      ``TEMPKIT_KEEP=always`` keeps them all (read when the block ends).
    - ``protect``: a shared lock that systemd-tmpfiles honours, so that age-based cleaning
      never removes a live directory; ``reapable``: an owner tag, so that ``tempkit.reap()``
      removes it once this process is dead.

    The removal is the Rust core's: relative to directory descriptors, never following a
    symlink (not even one swapped in mid-walk), repairing modes inside the tree. A directory
    neither cleaned up nor kept is removed when the object is collected; what cannot be removed
    then goes to ``sys.unraisablehook``.
    """

    def __init__(self, suffix=None, prefix=None, dir=None, ignore_cleanup_errors=False, *,
                 delete=True, keep_on_error=False, protect=False, reapable=False):
        output = _output_type(suffix, prefix, dir)
        enc = lambda v: None if v is None else _fs(v)[0]  # noqa: E731
        self._delete = delete
        self._keep_on_error = keep_on_error
        self._native = _native.TemporaryDirectory(
            enc(suffix), enc(prefix), enc(dir), bool(ignore_cleanup_errors), bool(delete),
            bool(protect), bool(reapable), dir)
        fs = self._native.path()
        self.name = fs if output is bytes else _os.fsdecode(fs)

    def __repr__(self):
        return "<%s %r>" % (self.__class__.__name__, self.name)

    def __enter__(self):
        return self.name

    def __exit__(self, exc_type, exc, tb):
        policy = _keep_policy()
        if policy == "always":
            self.keep("%s=always" % _KEEP)
        elif exc_type is not None and (self._keep_on_error or policy == "on-panic"):
            why = "keep_on_error" if self._keep_on_error else "%s=on-panic" % _KEEP
            self.keep("%s: %s raised" % (why, exc_type.__name__))
        elif self._delete:
            self.cleanup()

    def cleanup(self):
        """Remove the tree now; an error (an ``OSError`` naming the entry) is raised unless
        ``ignore_cleanup_errors``. Does nothing once removed or kept."""
        try:
            self._native.cleanup()
        except OSError as e:
            if not isinstance(self.name, bytes) and isinstance(e.filename, bytes):
                e.filename = _os.fsdecode(e.filename)
            raise

    def keep(self, why=None):
        """Never remove it; returns ``name``. With ``why``, one line on stderr says so."""
        self._native.keep()
        if why is not None:
            _announce(self.name, why)
        return self.name

    @property
    def protected(self):
        """Whether it holds the lock age-based cleaners honour (``protect=True``)."""
        return self._native.is_protected()

    @property
    def reapable(self):
        """Whether it carries the owner tag ``reap()`` reads (``reapable=True``)."""
        return self._native.is_reapable()

    def __class_getitem__(cls, item):
        import types
        return types.GenericAlias(cls, item)


def reap(dir=None, dry_run=False, *, all_users=False):
    """Remove what dead processes left in ``dir`` (default: the temporary directory): exactly
    the entries carrying tempkit's owner tag (``reapable=True``, ``tempkit run``) whose owner
    process is dead (another boot, no such process, a zombie, a reused pid). Never by age;
    live owners', untagged, other users' (unless ``all_users``, for root) and writable-by-others
    entries are left alone.

    Returns the paths removed (with ``dry_run``: that would be), as ``dir``'s type. If some
    could not be removed, the first such error (an ``OSError`` naming the entry) is raised
    after every entry was tried.
    """
    if dir is None:
        fs, as_bytes = None, False
    else:
        fs, as_bytes = _fs(dir)
    reaped, failed = [], None
    for path, outcome, _reason, error in _native.reap(fs, bool(dry_run), bool(all_users), dir):
        if outcome in ("removed", "would-remove"):
            reaped.append(path if as_bytes else _os.fsdecode(path))
        elif outcome == "failed" and failed is None:
            failed = error
    if failed is not None:
        raise failed
    return reaped
