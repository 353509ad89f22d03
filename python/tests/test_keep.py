"""tempkit.TemporaryDirectory (the extended one): removed on success, kept on error when
asked (keep_on_error, TEMPKIT_KEEP), modes with os.stat, listings, errors with errno."""

import errno
import gc
import os
import shutil
import stat
import subprocess
import sys

import pytest

import tempkit
from conftest import listing, need_program


@pytest.fixture(autouse=True)
def no_keep_policy(monkeypatch):
    monkeypatch.delenv("TEMPKIT_KEEP", raising=False)


def populate(name):
    os.mkdir(os.path.join(name, "sub"))
    with open(os.path.join(name, "sub", "evidence.txt"), "w") as f:
        f.write("what failed")


def test_removed_after_a_successful_block(tmp_path, capfd):
    with tempkit.TemporaryDirectory(dir=tmp_path) as name:
        assert stat.S_IMODE(os.stat(name).st_mode) == 0o700
        populate(name)
    assert listing(tmp_path) == []
    assert "tempkit: kept" not in capfd.readouterr().err


def test_keep_on_error_keeps_it_and_says_where(tmp_path, capfd):
    with pytest.raises(KeyError):
        with tempkit.TemporaryDirectory(dir=tmp_path, keep_on_error=True) as name:
            populate(name)
            raise KeyError("boom")
    assert listing(tmp_path) == [os.path.basename(name)]
    with open(os.path.join(name, "sub", "evidence.txt")) as f:
        assert f.read() == "what failed"
    err = capfd.readouterr().err
    assert "tempkit: kept %s (keep_on_error: KeyError raised)" % name in err


def test_an_error_without_keep_on_error_removes_it(tmp_path):
    with pytest.raises(KeyError):
        with tempkit.TemporaryDirectory(dir=tmp_path) as name:
            populate(name)
            raise KeyError("boom")
    assert listing(tmp_path) == []


def test_tempkit_keep_on_panic_keeps_on_an_exception_only(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("TEMPKIT_KEEP", "on-panic")
    with tempkit.TemporaryDirectory(dir=tmp_path) as name:
        populate(name)
    assert listing(tmp_path) == []
    with pytest.raises(ValueError):
        with tempkit.TemporaryDirectory(dir=tmp_path) as name:
            populate(name)
            raise ValueError
    assert listing(tmp_path) == [os.path.basename(name)]
    assert "TEMPKIT_KEEP=on-panic: ValueError raised" in capfd.readouterr().err


def test_tempkit_keep_always_keeps_a_successful_block(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("TEMPKIT_KEEP", "always")
    with tempkit.TemporaryDirectory(dir=tmp_path) as name:
        populate(name)
    assert listing(tmp_path) == [os.path.basename(name)]
    assert "tempkit: kept %s (TEMPKIT_KEEP=always)" % name in capfd.readouterr().err


def test_tempkit_keep_always_keeps_a_collected_directory(tmp_path):
    # The Rust core reads TEMPKIT_KEEP once per process, at the first drop: a fresh one.
    code = ("import sys, tempkit\n"
            "d = tempkit.TemporaryDirectory(dir=sys.argv[1])\n"
            "open(d.name + '/f', 'w').close()\n"
            "print(d.name)\n"
            "del d\n")
    env = dict(os.environ, TEMPKIT_KEEP="always")
    run = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    name = run.stdout.strip()
    assert listing(name) == ["f"]
    assert "tempkit: kept %s" % name in run.stderr


def test_a_collected_directory_is_removed(tmp_path):
    d = tempkit.TemporaryDirectory(dir=tmp_path)
    populate(d.name)
    del d
    gc.collect()
    assert listing(tmp_path) == []


def test_delete_false_and_explicit_keep(tmp_path):
    with tempkit.TemporaryDirectory(dir=tmp_path, delete=False) as name:
        pass
    assert listing(tmp_path) == [os.path.basename(name)]
    d = tempkit.TemporaryDirectory(dir=tmp_path)
    assert d.keep() == d.name
    del d
    gc.collect()
    assert len(listing(tmp_path)) == 2


def test_cleanup_is_idempotent_and_repairs_modes(tmp_path):
    d = tempkit.TemporaryDirectory(dir=tmp_path)
    populate(d.name)
    os.chmod(os.path.join(d.name, "sub", "evidence.txt"), 0)
    os.chmod(os.path.join(d.name, "sub"), 0)
    d.cleanup()
    d.cleanup()
    assert listing(tmp_path) == []


def test_cleanup_never_follows_a_symlink(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    d = tempkit.TemporaryDirectory(dir=tmp_path)
    os.symlink(outside, os.path.join(d.name, "link"))
    d.cleanup()
    assert listing(tmp_path) == ["outside"]
    assert (outside / "precious").read_text() == "keep me"


def test_bytes_in_bytes_out_and_mixing_is_a_type_error(tmp_path):
    d = tempkit.TemporaryDirectory(prefix=b"pre-", suffix=b"-suf", dir=os.fsencode(tmp_path))
    assert isinstance(d.name, bytes)
    base = os.path.basename(d.name)
    assert base.startswith(b"pre-") and base.endswith(b"-suf")
    d.cleanup()
    with pytest.raises(TypeError):
        tempkit.TemporaryDirectory(prefix=b"pre-", dir=str(tmp_path))
    assert listing(tmp_path) == []


def test_missing_dir_is_file_not_found_with_errno_and_filename(tmp_path):
    missing = tmp_path / "missing"
    with pytest.raises(FileNotFoundError) as info:
        tempkit.TemporaryDirectory(dir=missing)
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == missing


def test_protect_and_reapable_are_reported(tmp_path):
    d = tempkit.TemporaryDirectory(dir=tmp_path, protect=True, reapable=True)
    assert d.protected is True
    assert d.reapable is True
    assert os.getxattr(d.name, "user.tempkit.owner")
    plain = tempkit.TemporaryDirectory(dir=tmp_path)
    assert (plain.protected, plain.reapable) == (False, False)
    d.cleanup()
    plain.cleanup()
    assert listing(tmp_path) == []


def test_repr_and_generic_alias(tmp_path):
    d = tempkit.TemporaryDirectory(dir=tmp_path)
    assert repr(d) == "<TemporaryDirectory %r>" % d.name
    assert tempkit.TemporaryDirectory[str].__origin__ is tempkit.TemporaryDirectory
    d.cleanup()


# Collected without cleanup() or close(): the native object's Drop removes the tree inside
# CPython's deallocation, where the GIL is held. It must release it around the removal, as
# close() does: a tree can take seconds. The file's unlinkat is delayed by 1 s (strace's fault
# injection), so the removal takes 1 s; a thread that ticks every 10 ms must keep ticking.
COLLECTED_WITHOUT_GIL = r"""
import sys, threading, time
import tempkit
d = tempkit.TemporaryDirectory(dir=sys.argv[1])
open(d.name + "/file", "w").close()
ticks, stop, started = [0], [False], threading.Event()
def tick():
    started.set()
    while not stop[0]:
        time.sleep(0.01)
        ticks[0] += 1
t = threading.Thread(target=tick)
t.start()
assert started.wait(10)
before = ticks[0]
del d  # the last reference: deallocated here, the tree removed by the native Drop
during = ticks[0] - before
stop[0] = True
t.join(10)
print("ticks", during)
"""


def test_a_collected_directory_is_removed_without_the_gil(tmp_path):
    strace = need_program("strace")
    run = subprocess.run(
        [strace, "-f", "-qq", "-o", os.devnull, "-e", "trace=unlinkat",
         "-e", "inject=unlinkat:delay_enter=1000000",
         sys.executable, "-c", COLLECTED_WITHOUT_GIL, str(tmp_path)],
        capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert listing(tmp_path) == []
    ticks = int(run.stdout.split()[-1])
    # About 100 with the GIL released; 0 or 1 while it is held for the whole second.
    assert ticks >= 20, "the ticker ran %d times during a 1 s removal: the GIL was held" % ticks
