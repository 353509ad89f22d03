"""Runs CPython's test.test_tempfile against tempkit.tempfile; see .ci/python.

Prints every test that did not pass, the counts, and exits non-zero on any failure or error
not excused below.
"""

import itertools
import os
import pathlib
import shutil
import subprocess
import sys
import time
import unittest

import tempkit.tempfile

# Before the suite is imported: it does `import tempfile` at its top, and so do the
# test.support helpers it imports afterwards.
sys.modules["tempfile"] = tempkit.tempfile

import test.test_tempfile as suite  # noqa: E402

# The only tests allowed to fail: each patches a function inside CPython's own Python
# implementation that tempkit's Rust core never calls, so the fault it injects never
# happens. Each such fault is covered by a tempkit test of its own (named).
EXCUSED = {
    "TestGetDefaultTempdir.test_no_files_left_behind": (
        "swaps os.open and os.write to fail inside CPython's Python probe and expects "
        "FileNotFoundError; tempkit's probe is Rust (openat O_TMPFILE / O_EXCL, write), so "
        "the swapped functions are never called and the directory stays usable",
        "tests/gettempdir.rs when_no_candidate_is_usable_the_error_lists_them_all_and_the_"
        "probes_leave_nothing (every write fails: NotFound, no probe file left), "
        "a_successful_probe_leaves_nothing_behind, where_o_tmpfile_is_refused_the_named_"
        "probe_decides; through the package: check_probe_faults below (an immutable "
        "directory fails the probe's creation, a file size limit of 0 its write)",
    ),
    "TestTemporaryFile.test_unexpected_error": (
        "patches tempfile._O_TMPFILE_WORKS, os.open, os.unlink and os.close to make the "
        "unlink of CPython's named fallback raise; tempkit.tempfile has no such attribute "
        "(the O_TMPFILE choice and its fallback are Rust's) and never calls those functions",
        "tests/temporary_file.rs fallback_unlink_failure_closes_the_file_and_names_it (the "
        "fallback's unlink fails: the error is returned, the descriptor closed); through the "
        "package: check_temporary_file_fallback_fault below (a directory given through a "
        "symlink takes the named fallback, chattr +a fails its unlink)",
    ),
}


# The faults of the excused tests, injected where tempkit's core really meets them. Each
# check returns None when it passed, else what went wrong. Run in the directory given (a
# file system that takes chattr +a: .ci/python runs this under target/).

PROBE_CHILD = """
import os, sys
import tempkit.tempfile as tempfile
d = sys.argv[1]
tempfile._candidate_tempdir_list = lambda: [d]
try:
    tempfile._get_default_tempdir()
except FileNotFoundError:
    pass
else:
    sys.exit("the probe accepted a directory it could not use")
left = os.listdir(d)
if left:
    sys.exit(f"the failed probe left {left}")
"""


def check_probe_faults():
    """test_no_files_left_behind's faults: the probe's creation fails, then its write."""
    chattr = shutil.which("chattr")
    if chattr is None:
        return "chattr is missing (it makes the probe's creation fail)"
    d = os.path.abspath(tempkit.tempfile.mkdtemp(dir="."))
    try:
        child = [sys.executable, "-c"]
        # Every creation in the directory fails (EPERM, root included): immutable.
        subprocess.run([chattr, "+i", d], check=True, capture_output=True)
        try:
            run = subprocess.run(child + [PROBE_CHILD, d], capture_output=True, text=True,
                                 timeout=60)
        finally:
            subprocess.run([chattr, "-i", d], check=True, capture_output=True)
        if run.returncode != 0:
            return f"creation fails: {run.stderr.strip() or run.returncode}"
        # Every write fails: a file size limit of 0 (Python ignores SIGXFSZ). Given as it is,
        # the probe file has no name (O_TMPFILE); given through a symlink (never followed by
        # O_TMPFILE), the probe is a named file, which must be removed.
        limit = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))\n"
        link = d + ".link"
        os.symlink(d, link)
        try:
            for what, given in (("unnamed", d), ("named", link)):
                run = subprocess.run(child + [limit + PROBE_CHILD, given], capture_output=True,
                                     text=True, timeout=60)
                if run.returncode != 0:
                    return f"write fails ({what}): {run.stderr.strip() or run.returncode}"
        finally:
            os.unlink(link)
        return None
    finally:
        shutil.rmtree(d)


def check_temporary_file_fallback_fault():
    """TestTemporaryFile.test_unexpected_error's fault: the named fallback's unlink fails.

    A directory given through a symlink is never opened with O_TMPFILE (the link is not
    followed), so the named fallback runs; the directory is append-only (chattr +a), so its
    unlink fails. The error must reach Python and the descriptor must be closed."""
    chattr = shutil.which("chattr")
    if chattr is None:
        return "chattr is missing (it makes the fallback's unlink fail)"
    d = os.path.abspath(tempkit.tempfile.mkdtemp(dir="."))
    real, link = os.path.join(d, "real"), os.path.join(d, "link")
    os.mkdir(real)
    os.symlink(real, link)
    try:
        subprocess.run([chattr, "+a", real], check=True, capture_output=True)
        try:
            tempkit.tempfile.TemporaryFile(dir=link)
        except PermissionError as e:
            if e.errno is None:
                return f"no errno: {e!r}"
        else:
            return "TemporaryFile succeeded though its unlink could not"
        finally:
            subprocess.run([chattr, "-a", real], check=True, capture_output=True)
        left = [os.path.join(real, n) for n in os.listdir(real)]
        if len(left) != 1:
            return f"expected the one name that could not be unlinked, found {left}"
        for fd in os.listdir("/proc/self/fd"):
            try:
                if os.readlink(f"/proc/self/fd/{fd}") == left[0]:
                    return f"descriptor {fd} still open on {left[0]}"
            except OSError:
                pass
        return None
    finally:
        shutil.rmtree(d)


# Behaviour the suite does not pin, compared with the interpreter's own module case by case:
# return types, absolute or relative results, exception types and errno, modes, descriptor
# inheritance, the wrapper's attributes, the module's names. Each case returns something
# that does not depend on the random names.
PARITY = {
    "mkstemp types": lambda m: [type(m.mkstemp(suffix=b"")[1]), type(m.mkstemp(dir="sub")[1]),
                                type(m.mkstemp(dir=pathlib.Path("sub"))[1])],
    "relative dir, absolute result": lambda m: [os.path.isabs(m.mkstemp(dir="sub")[1]),
                                                os.path.isabs(m.mkdtemp(dir="sub"))],
    "mktemp keeps a relative dir": lambda m: m.mktemp(dir="sub")[:7],
    "mktemp refuses bytes and None": lambda m: m.mktemp(prefix=b"x", suffix=b""),
    "mktemp None": lambda m: m.mktemp(suffix=None),
    "mixing str and bytes": lambda m: m.mkstemp(prefix="a", suffix=b"b"),
    "an int suffix": lambda m: m.mkstemp(suffix=5),
    "a NUL in the prefix": lambda m: m.mkstemp(prefix="a\0b"),
    "mkstemp in a missing dir": lambda m: m.mkstemp(dir="nope"),
    "mkstemp in a file": lambda m: m.mkstemp(dir="afile"),
    "mkdtemp in a missing dir": lambda m: m.mkdtemp(dir="nope"),
    "mkdtemp in a file": lambda m: m.mkdtemp(dir="afile"),
    "TemporaryFile in a missing dir": lambda m: m.TemporaryFile(dir="nope"),
    "TemporaryFile in a file": lambda m: m.TemporaryFile(dir="afile"),
    "NamedTemporaryFile in a missing dir": lambda m: m.NamedTemporaryFile(dir="nope"),
    "TemporaryDirectory in a missing dir": lambda m: m.TemporaryDirectory(dir="nope"),
    "file mode": lambda m: oct(os.stat(m.mkstemp()[1]).st_mode),
    "directory mode": lambda m: oct(os.stat(m.mkdtemp()).st_mode),
    "not inheritable": lambda m: os.get_inheritable(m.mkstemp()[0]),
    "TemporaryFile name": lambda m: type(m.TemporaryFile().name),
    "TemporaryFile text": lambda m: (lambda f: (f.write("\u00e9"), f.seek(0), f.read(), f.mode))(
        m.TemporaryFile("w+", encoding="utf-8")),
    "NamedTemporaryFile attributes": lambda m: (lambda f: (
        f.mode, type(f.name), f.file.name == f.name, os.path.basename(f.name)[:3],
        f.name.endswith(".x"), f.closed, f.delete if hasattr(f, "delete") else None))(
        m.NamedTemporaryFile(suffix=".x")),
    "NamedTemporaryFile bytes name": lambda m: type(m.NamedTemporaryFile(suffix=b"").name),
    "NamedTemporaryFile delete_on_close=False": lambda m: (lambda f: (
        f.close(), os.path.exists(f.name), f.__exit__(None, None, None),
        os.path.exists(f.name)))(m.NamedTemporaryFile(delete_on_close=False).__enter__()),
    "SpooledTemporaryFile rollover": lambda m: (lambda f: (
        f._rolled, f.write(b"x" * 10), f._rolled, type(f.name), f.seek(0), f.read()))(
        m.SpooledTemporaryFile(5)),
    "SpooledTemporaryFile text": lambda m: (lambda f: (
        f.write("ab\n"), f._rolled, f.mode, f.fileno() > 2, f._rolled, f.seek(0),
        f.read()))(m.SpooledTemporaryFile(mode="w+", encoding="utf-8")),
    "gettempdir and prefixes": lambda m: (m.gettempdir(), m.gettempdirb(), m.gettempprefix(),
                                          m.gettempprefixb(), m.gettempdir() is m.gettempdir()),
    "candidates": lambda m: m._candidate_tempdir_list(),
    "open flags": lambda m: (m._bin_openflags, m._text_openflags),
    "tempdir a Path": lambda m: _with_tempdir(m, pathlib.Path(os.getcwd()),
                                              lambda: type(m.mkstemp()[1])),
    "tempdir bytes, a str argument": lambda m: _with_tempdir(
        m, os.fsencode(os.getcwd()),
        lambda: (type(m.mkstemp(suffix="x")[1]), type(m.mkstemp()[1]))),
    "TemporaryDirectory repr": lambda m: repr(m.TemporaryDirectory(dir="sub"))[:22],
    "TemporaryDirectory cleanup twice": lambda m: (lambda d: (d.cleanup(), d.cleanup(),
                                                              os.path.exists(d.name)))(
        m.TemporaryDirectory(dir="sub")),
    "TemporaryDirectory delete=False": lambda m: (lambda d: (
        d.__exit__(None, None, None), os.path.exists(d.name)))(
        m.TemporaryDirectory(dir="sub", delete=False)),
    "TemporaryDirectory bytes": lambda m: type(m.TemporaryDirectory(dir=b"sub").name),
    "mkstemp error's filename": lambda m: _error(m, lambda: m.mkstemp(dir="nope")),
    "mkstemp error's filename, bytes": lambda m: _error(m, lambda: m.mkstemp(dir=b"afile")),
    "mkdtemp error's filename": lambda m: _error(m, lambda: m.mkdtemp(dir="nope", suffix=".d"),
                                                 tail=2),
    "TemporaryFile error's filename": lambda m: _error(m, lambda: m.TemporaryFile(dir="nope")),
    "NamedTemporaryFile error's filename": lambda m: _error(
        m, lambda: m.NamedTemporaryFile(dir="afile", prefix="p"), head=1),
    "error's filename, names replaced": lambda m: _with_names(
        m, iter(["n1"]), lambda: _error(m, lambda: m.mkdtemp(dir="nope"), exact=True)),
    "all names taken": lambda m: _with_names(
        m, itertools.repeat("afile"), lambda: (_error(m, lambda: m.mkstemp(prefix="", dir=".")),
                                               _error(m, lambda: m.mkdtemp(prefix="", dir=".")))),
    "names run dry": lambda m: _with_names(m, iter(["afile"]),
                                           lambda: m.mkstemp(prefix="", dir=".")),
    "__all__": lambda m: sorted(m.__all__),
    "public names": lambda m: sorted(n for n in m.__dict__ if not n.startswith("_")
                                     and n != "TMP_MAX"),
}


def _with_names(m, names, body):
    saved = m._get_candidate_names
    m._get_candidate_names = lambda: names
    try:
        return body()
    finally:
        m._get_candidate_names = saved


def _error(m, body, exact=False, head=3, tail=0):
    """The error `body` raises: its type, errno, text and filename (unless `exact`, its
    random name replaced by its length, `head` characters before and `tail` after)."""
    try:
        body()
    except OSError as e:
        name = e.filename
        if name is not None and not exact:
            base = os.path.basename(name)
            name = (type(name).__name__, os.path.dirname(name), len(base), base[:head],
                    base[len(base) - tail:])
        return type(e).__name__, e.errno, e.strerror, name
    return "returned"


def _with_tempdir(m, value, body):
    saved = m.tempdir
    m.tempdir = value
    try:
        return body()
    finally:
        m.tempdir = saved


def _outcome(module, case):
    try:
        return ("returned", case(module))
    except Exception as e:
        return ("raised", type(e).__name__, getattr(e, "errno", None))


def check_parity_with_cpython():
    """The cases above give the same outcome with CPython's module and with tempkit's."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(
        "cpython_tempfile", os.path.join(os.path.dirname(os.__file__), "tempfile.py"))
    cpython = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpython)
    here = os.getcwd()
    work = os.path.abspath(tempkit.tempfile.mkdtemp(dir="."))
    differ = []
    try:
        os.chdir(work)
        os.mkdir("sub")
        open("afile", "w").close()
        for name, case in PARITY.items():
            theirs, ours = _outcome(cpython, case), _outcome(tempkit.tempfile, case)
            if theirs != ours:
                differ.append(f"{name}: CPython {theirs!r}, tempkit {ours!r}")
    finally:
        os.chdir(here)
        shutil.rmtree(work)
    return "; ".join(differ) or None


def short(test):
    return test.id().removeprefix("test.test_tempfile.")


class Result(unittest.TextTestResult):
    """Counts passes, and keeps an excused test's failure or error out of unittest's own
    failures (so that its summary is about the rest)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = []
        self.excused = []

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)

    def _excused(self, test, err):
        # A subtest's id carries its parameters: excuse by the test method.
        name = short(test).split(" ", 1)[0]
        if name in EXCUSED:
            self.excused.append((name, self._exc_info_to_string(err, test)))
            return True
        return False

    def addFailure(self, test, err):
        if not self._excused(test, err):
            super().addFailure(test, err)

    def addError(self, test, err):
        if not self._excused(test, err):
            super().addError(test, err)


def main():
    assert suite.tempfile is tempkit.tempfile, "the suite did not bind tempkit.tempfile"
    tests = unittest.TestLoader().loadTestsFromModule(suite)
    total = tests.countTestCases()
    runner = unittest.TextTestRunner(resultclass=Result, verbosity=0, stream=sys.stdout)
    start = time.monotonic()
    result = runner.run(tests)
    elapsed = time.monotonic() - start

    failed = [short(t) for t, _ in result.failures]
    errors = [short(t) for t, _ in result.errors]
    unexpected = [short(t) for t in result.unexpectedSuccesses]
    excused = sorted({name for name, _ in result.excused})
    for name in excused:
        reason, covered_by = EXCUSED[name]
        print(f"excused: {name}: {reason} (covered by {covered_by})")
    stale = sorted(set(EXCUSED) - set(excused))
    for test, why in result.skipped:
        print(f"skipped: {short(test)}: {why}")
    print(
        f"test_tempfile against tempkit.tempfile: {total} tests in {elapsed:.1f} s; "
        f"{len(result.passed)} passed, {len(failed)} failed, {len(errors)} errors, "
        f"{len(result.skipped)} skipped, {len(excused)} excused"
    )

    broken = []
    for check in (check_probe_faults, check_temporary_file_fallback_fault,
                  check_parity_with_cpython):
        problem = check()
        print(f"check {check.__name__}: {problem or 'ok'}")
        if problem:
            broken.append(check.__name__)

    problems = (
        [f"failed: {n}" for n in failed] + [f"error: {n}" for n in errors]
        + [f"unexpected success: {n}" for n in unexpected]
        + [f"excused but passed (remove it from EXCUSED): {n}" for n in stale]
        + [f"check failed: {n}" for n in broken]
    )
    for problem in problems:
        print(f"FAIL: {problem}", file=sys.stderr)
    # The plain closing line CI reads: the suite's tests (a failed check counts as failed).
    print(f"python: {len(result.passed)} passed, "
          f"{len(failed) + len(errors) + len(broken)} failed, {len(result.skipped)} skipped")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
