"""tempkit.reap(): what a dead process left (tagged with reapable=True) is removed; live
owners' and untagged entries stay."""

import os
import subprocess
import sys

import tempkit
from conftest import listing

LEAVE = ("import os, sys, tempkit\n"
         "d = tempkit.TemporaryDirectory(dir=sys.argv[1], reapable=True)\n"
         "assert d.reapable\n"
         "open(os.path.join(d.name, 'f'), 'w').close()\n"
         "print(d.name, flush=True)\n"
         "os._exit(0)  # no cleanup: as after SIGKILL\n")


def leave_behind(directory):
    run = subprocess.run([sys.executable, "-c", LEAVE, str(directory)], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    return run.stdout.strip()


def test_reap_removes_what_a_dead_process_left(tmp_path):
    dead = leave_behind(tmp_path)
    untagged = tmp_path / "untagged"
    untagged.mkdir()
    live = tempkit.TemporaryDirectory(dir=tmp_path, reapable=True)
    assert sorted(listing(tmp_path)) == sorted([os.path.basename(dead), "untagged",
                                                os.path.basename(live.name)])

    assert tempkit.reap(tmp_path, dry_run=True) == [dead]
    assert os.path.exists(os.path.join(dead, "f"))

    assert tempkit.reap(str(tmp_path)) == [dead]
    assert sorted(listing(tmp_path)) == sorted(["untagged", os.path.basename(live.name)])
    assert tempkit.reap(tmp_path) == []
    live.cleanup()


def test_reap_bytes_in_bytes_out(tmp_path):
    dead = leave_behind(tmp_path)
    assert tempkit.reap(os.fsencode(tmp_path)) == [os.fsencode(dead)]
    assert listing(tmp_path) == []


def test_reap_missing_directory(tmp_path):
    import errno
    import pytest
    with pytest.raises(FileNotFoundError) as info:
        tempkit.reap(tmp_path / "missing")
    assert info.value.errno == errno.ENOENT
    assert info.value.filename == tmp_path / "missing"
