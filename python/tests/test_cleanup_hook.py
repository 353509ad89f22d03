"""What the Rust core cannot remove when an object is collected goes to sys.unraisablehook,
as CPython reports the errors of TemporaryDirectory's implicit cleanup. Removal fails for
real: a file made immutable (chattr +i, as root on ext4)."""

import errno
import gc
import os
import subprocess
import sys

import pytest

import tempkit


def test_a_failed_implicit_cleanup_goes_to_sys_unraisablehook(tmp_path, immutable,
                                                               monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    d = tempkit.TemporaryDirectory(dir=tmp_path)
    name = d.name
    stuck = os.path.join(name, "stuck")
    open(stuck, "w").close()
    immutable(stuck)
    del d
    gc.collect()
    assert len(seen) == 1, seen
    exc = seen[0].exc_value
    assert isinstance(exc, PermissionError)
    assert exc.errno == errno.EPERM
    assert exc.filename == name
    assert "stuck" in str(exc)
    assert seen[0].object == name
    assert os.path.exists(stuck)  # really left: reported, not swallowed


def test_ignore_cleanup_errors_reports_nothing(tmp_path, immutable, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    d = tempkit.TemporaryDirectory(dir=tmp_path, ignore_cleanup_errors=True)
    stuck = os.path.join(d.name, "stuck")
    open(stuck, "w").close()
    immutable(stuck)
    del d
    gc.collect()
    assert seen == []
    assert os.path.exists(stuck)


def test_explicit_cleanup_raises_instead(tmp_path, immutable, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    d = tempkit.TemporaryDirectory(dir=tmp_path)
    stuck = os.path.join(d.name, "stuck")
    open(stuck, "w").close()
    immutable(stuck)
    with pytest.raises(PermissionError) as info:
        d.cleanup()
    assert info.value.errno == errno.EPERM
    assert info.value.filename == d.name
    assert stuck in str(info.value)  # the account names the entry that stays
    assert seen == []


def test_the_default_unraisablehook_prints_it(tmp_path, immutable):
    # A fresh interpreter with the default sys.unraisablehook: "Exception ignored in".
    d = tmp_path / "d"
    d.mkdir()
    code = ("import sys, tempkit\n"
            "t = tempkit.TemporaryDirectory(dir=sys.argv[1])\n"
            "open(t.name + '/stuck', 'w').close()\n"
            "print(t.name, flush=True)\n"
            "sys.stdin.readline()\n"
            "del t\n"
            "print('after', flush=True)\n")
    child = subprocess.Popen([sys.executable, "-c", code, str(d)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    name = child.stdout.readline().strip()
    immutable(os.path.join(name, "stuck"))
    out, err = child.communicate("\n", timeout=60)
    assert child.returncode == 0, err
    assert out == "after\n"
    assert "Exception ignored in: %r" % name in err
    assert "PermissionError: [Errno 1]" in err
