"""Shared helpers of the extras' tests (python/tests). Run: python -m pytest python/tests."""

import os
import shutil
import subprocess

import pytest

pytest_plugins = ["pytester"]


def need_root():
    """Fails (never skips) when not root: CI runs as root."""
    assert os.geteuid() == 0, "this test needs root (chattr +i, reading others' entries)"


def need_program(name):
    """The path of a program the test needs; fails naming it when missing."""
    path = shutil.which(name)
    assert path is not None, "this test needs %s (not found on PATH)" % name
    return path


@pytest.fixture
def immutable(tmp_path):
    """``immutable(path)`` makes ``path`` immutable (chattr +i: root, ext4); the flags are
    cleared at the end so that pytest can remove ``tmp_path``."""
    need_root()
    chattr = need_program("chattr")
    marked = []

    def make(path):
        subprocess.run([chattr, "+i", str(path)], check=True)
        marked.append(path)

    yield make
    for path in marked:
        subprocess.run([chattr, "-i", str(path)], check=False)


def listing(directory):
    return sorted(os.listdir(directory))
