"""tempkit's pytest plugin (entry point ``pytest11``, loaded when tempkit is installed).

The fixture ``tempkit_path`` is a ``pathlib.Path`` to a fresh private directory (0700, made by
tempkit), like ``tmp_path``, except that it is removed as soon as the test passes and kept when
the test fails (in setup or in the call), and the summary says where::

    def test_parse(tempkit_path):
        (tempkit_path / "config.toml").write_text("answer = 42")
        ...

``TEMPKIT_KEEP=always`` keeps them all; ``TEMPKIT_KEEP=never`` is the default. The directory
goes in the temporary directory (``TMPDIR``...), named ``pytest-`` + the test's name.
"""

import os
import pathlib
import re

import pytest

from . import _extras

_REPORTS = pytest.StashKey()
_KEPT = pytest.StashKey()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    item.stash.setdefault(_REPORTS, {})[report.when] = report


def _failed(item):
    reports = item.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


@pytest.fixture
def tempkit_path(request):
    """A fresh private directory for the test, kept if the test fails, else removed."""
    name = re.sub(r"[^\w.-]", "_", request.node.name)[:30]
    directory = _extras.TemporaryDirectory(prefix="pytest-%s-" % name)
    try:
        yield pathlib.Path(directory.name)
    finally:
        if _extras._keep_policy() == "always":
            why = "TEMPKIT_KEEP=always"
        elif _failed(request.node):
            why = "test failed: %s" % request.node.nodeid
        else:
            why = None
        if why is None:
            directory.cleanup()
        else:
            directory.keep(why)
            request.config.stash.setdefault(_KEPT, []).append((request.node.nodeid,
                                                               directory.name))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    kept = config.stash.get(_KEPT, [])
    if kept:
        terminalreporter.section("tempkit: kept directories")
        for nodeid, path in kept:
            terminalreporter.write_line("%s %s" % (os.fsdecode(path), nodeid))
