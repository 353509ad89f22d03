"""tempkit.write_atomic and tempkit.AtomicFile: contents read back, modes with os.stat,
listings showing nothing left behind, errors as OSError subclasses with errno and filename."""

import errno
import gc
import os
import pathlib
import stat

import pytest

import tempkit
from conftest import listing


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def umask():
    old = os.umask(0)
    os.umask(old)
    return old


@pytest.mark.parametrize("data, expected", [
    (b"bytes\x00\xff", b"bytes\x00\xff"),
    (bytearray(b"array"), b"array"),
    (memoryview(b"view"), b"view"),
    ("text \u00e9", "text \u00e9".encode()),
])
def test_write_atomic_writes_the_data(tmp_path, data, expected):
    path = tmp_path / "out"
    tempkit.write_atomic(path, data)
    assert path.read_bytes() == expected
    assert listing(tmp_path) == ["out"]


@pytest.mark.parametrize("kind", [str, bytes, pathlib.Path])
def test_write_atomic_takes_str_bytes_and_pathlike(tmp_path, kind):
    path = tmp_path / "out"
    arg = os.fsencode(path) if kind is bytes else kind(path)
    tempkit.write_atomic(arg, b"x", durable=False)
    assert path.read_bytes() == b"x"


def test_write_atomic_replaces_and_keeps_the_mode(tmp_path):
    path = tmp_path / "config"
    path.write_bytes(b"old")
    os.chmod(path, 0o640)
    inode = os.stat(path).st_ino
    tempkit.write_atomic(path, b"new")
    assert path.read_bytes() == b"new"
    assert mode_of(path) == 0o640
    assert os.stat(path).st_ino != inode  # a new file renamed over, not written in place
    assert listing(tmp_path) == ["config"]


def test_write_atomic_new_file_mode(tmp_path):
    tempkit.write_atomic(tmp_path / "default", b"")
    assert mode_of(tmp_path / "default") == 0o666 & ~umask()
    tempkit.write_atomic(tmp_path / "private", b"", perms=0o600)
    assert mode_of(tmp_path / "private") == 0o600


def test_write_atomic_replaces_a_symlink_as_a_link(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"target")
    link = tmp_path / "link"
    link.symlink_to(target)
    tempkit.write_atomic(link, b"new")
    assert not link.is_symlink()
    assert link.read_bytes() == b"new"
    assert target.read_bytes() == b"target"


def test_write_atomic_follows_a_symlink_when_asked(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"target")
    link = tmp_path / "link"
    link.symlink_to("target")
    tempkit.write_atomic(link, b"new", follow_symlinks=True)
    assert link.is_symlink()
    assert target.read_bytes() == b"new"


def test_write_atomic_missing_directory_is_file_not_found(tmp_path):
    path = tmp_path / "missing" / "out"
    with pytest.raises(FileNotFoundError) as info:
        tempkit.write_atomic(path, b"x")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == path
    assert listing(tmp_path) == []


def test_write_atomic_over_a_directory_fails_and_leaves_nothing(tmp_path):
    (tmp_path / "d").mkdir()
    with pytest.raises(OSError) as info:
        tempkit.write_atomic(str(tmp_path / "d"), b"x")
    assert info.value.errno in (errno.EISDIR, errno.ENOTEMPTY, errno.EEXIST), info.value
    assert info.value.filename == str(tmp_path / "d")
    assert listing(tmp_path) == ["d"]
    assert listing(tmp_path / "d") == []


def test_atomic_file_commits_on_success(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    with tempkit.AtomicFile(path) as f:
        f.write("new")
        f.flush()
        # Nothing has changed at the destination yet; the temporary file sits beside it.
        assert path.read_text() == "old"
        assert len(listing(tmp_path)) == 2
    assert path.read_text() == "new"
    assert listing(tmp_path) == ["state.json"]


def test_atomic_file_temporary_file_sits_beside_the_destination(tmp_path):
    path = tmp_path / "out"
    atomic = tempkit.AtomicFile(str(path), "wb")
    [temp] = listing(tmp_path)
    assert temp != "out"
    assert temp.startswith(".out.")
    assert mode_of(tmp_path / temp) & ~(0o666 & ~umask()) == 0  # never wider than the result
    assert os.fstat(atomic.file.fileno()).st_ino == os.stat(tmp_path / temp).st_ino
    atomic.file.write(b"abc")
    atomic.commit()
    assert listing(tmp_path) == ["out"]
    assert path.read_bytes() == b"abc"


def test_atomic_file_discards_on_exception(tmp_path):
    path = tmp_path / "state"
    path.write_bytes(b"old")
    with pytest.raises(ZeroDivisionError):
        with tempkit.AtomicFile(path, "wb") as f:
            f.write(b"half-written")
            1 / 0
    assert path.read_bytes() == b"old"
    assert listing(tmp_path) == ["state"]


def test_atomic_file_explicit_discard_and_drop(tmp_path):
    path = tmp_path / "out"
    atomic = tempkit.AtomicFile(path)
    atomic.file.write("x")
    atomic.discard()
    atomic.discard()  # a second call does nothing
    assert listing(tmp_path) == []
    dropped = tempkit.AtomicFile(path)
    dropped.file.write("never published")
    del dropped
    gc.collect()
    assert listing(tmp_path) == []


def test_atomic_file_x_mode_never_replaces(tmp_path):
    path = tmp_path / "lock"
    with tempkit.AtomicFile(path, "x") as f:
        f.write("first")
    assert path.read_text() == "first"
    with pytest.raises(FileExistsError) as info:
        with tempkit.AtomicFile(path, "x") as f:
            f.write("second")
    assert info.value.errno == errno.EEXIST
    assert info.value.filename == path
    assert path.read_text() == "first"
    assert listing(tmp_path) == ["lock"]


def test_atomic_file_text_options_and_read_back(tmp_path):
    path = tmp_path / "t"
    with tempkit.AtomicFile(path, "w+", encoding="latin-1", newline="\r\n") as f:
        f.write("caf\u00e9\n")
        f.seek(0)
        assert f.read() == "caf\u00e9\r\n"  # newline="\r\n" reads back untranslated
    assert path.read_bytes() == b"caf\xe9\r\n"


def test_atomic_file_large_buffered_write_is_flushed_before_commit(tmp_path):
    path = tmp_path / "big"
    data = os.urandom(3 * 1024 * 1024 + 17)
    with tempkit.AtomicFile(path, "wb", buffering=1 << 20) as f:
        for i in range(0, len(data), 65536):
            f.write(data[i:i + 65536])
    assert path.read_bytes() == data


@pytest.mark.parametrize("mode", ["r", "a", "wx", "rb", "ww", 3])
def test_atomic_file_refuses_other_modes(tmp_path, mode):
    with pytest.raises(ValueError):
        tempkit.AtomicFile(tmp_path / "x", mode)
    assert listing(tmp_path) == []


def test_atomic_file_missing_directory(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        tempkit.AtomicFile(str(tmp_path / "no" / "f"))
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == str(tmp_path / "no" / "f")


def test_atomic_file_use_after_commit_is_an_error(tmp_path):
    atomic = tempkit.AtomicFile(tmp_path / "f", "wb")
    atomic.commit()
    with pytest.raises(ValueError):
        atomic.file.write(b"late")
    with pytest.raises(ValueError):
        atomic.commit()
    assert (tmp_path / "f").read_bytes() == b""


def test_a_dropped_atomic_file_never_flushes_into_a_reused_descriptor(tmp_path):
    # The file object does not own the descriptor (the native half does). Dropped uncommitted
    # with data still buffered, the file object is closed first, while the descriptor is still
    # the temporary file's; else its later flush would write into whatever file reused the
    # descriptor's number.
    atomic = tempkit.AtomicFile(tmp_path / "dest", "wb")
    f = atomic.file
    number = f.fileno()
    f.write(b"buffered, never published")
    del atomic
    gc.collect()
    # Open files until one gets the freed number (new descriptors take the lowest free one).
    opened = []
    try:
        for i in range(64):
            opened.append(open(tmp_path / ("other%d" % i), "wb"))
            if opened[-1].fileno() == number:
                break
        assert opened[-1].fileno() == number, "the descriptor was not freed"
        if not f.closed:
            f.close()  # flushes into the reused descriptor if the guard is missing
    finally:
        for other in opened:
            other.close()
    assert f.closed
    assert [p.read_bytes() for p in sorted(tmp_path.iterdir())] == [b""] * len(opened)
