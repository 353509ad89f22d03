"""The pytest plugin (entry point pytest11): tempkit_path is removed when the test passes and
kept when it fails, and the summary names it. An inner pytest run in a fresh process."""

import os

import pytest

INNER = '''
import os

def record(path):
    with open(os.environ["RECORD"], "a") as f:
        f.write("%s\\n" % path)

def test_passes(tempkit_path):
    record(tempkit_path)
    assert oct(os.stat(tempkit_path).st_mode & 0o777) == "0o700"
    (tempkit_path / "out.txt").write_text("fine")

def test_fails(tempkit_path):
    record(tempkit_path)
    (tempkit_path / "out.txt").write_text("evidence")
    assert 1 == 2

import pytest

@pytest.fixture
def broken(tempkit_path):
    record(tempkit_path)
    raise RuntimeError("setup fails")

def test_setup_fails(broken):
    pass
'''


def recorded(path):
    with open(path) as f:
        return [line.strip() for line in f]


@pytest.fixture
def inner(pytester, monkeypatch, tmp_path):
    base = tmp_path / "tmp"
    base.mkdir()
    record = tmp_path / "record"
    monkeypatch.setenv("TMPDIR", str(base))
    monkeypatch.setenv("RECORD", str(record))
    monkeypatch.delenv("TEMPKIT_KEEP", raising=False)
    pytester.makepyfile(test_inner=INNER)
    return base, record


def test_kept_when_the_test_fails_removed_when_it_passes(pytester, inner):
    base, record = inner
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1, errors=1)
    passed, failed, setup_failed = recorded(record)
    assert not os.path.exists(passed)
    assert os.path.dirname(failed) == str(base)
    assert os.path.basename(failed).startswith("pytest-test_fails-")
    with open(os.path.join(failed, "out.txt")) as f:
        assert f.read() == "evidence"
    assert os.listdir(setup_failed) == []
    assert sorted(os.listdir(base)) == sorted([os.path.basename(failed),
                                               os.path.basename(setup_failed)])
    result.stdout.fnmatch_lines([
        "*tempkit: kept directories*",
        "%s test_inner.py::test_fails" % failed,
        "%s test_inner.py::test_setup_fails" % setup_failed,
    ])


def test_tempkit_keep_always_keeps_the_passing_one_too(pytester, inner, monkeypatch):
    base, record = inner
    monkeypatch.setenv("TEMPKIT_KEEP", "always")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "passes")
    result.assert_outcomes(passed=1)
    [passed] = recorded(record)
    with open(os.path.join(passed, "out.txt")) as f:
        assert f.read() == "fine"


def test_the_plugin_is_an_entry_point():
    from importlib.metadata import entry_points
    found = [ep for ep in entry_points(group="pytest11") if ep.name == "tempkit"]
    assert [ep.value for ep in found] == ["tempkit.pytest_plugin"]
