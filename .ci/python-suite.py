"""Runs CPython's test.test_tempfile against tempkit.tempfile; see .ci/python.

Prints every test that did not pass, the counts, and exits non-zero on any failure or error
not excused below.
"""

import os
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
        # Every write fails: a file size limit of 0 (Python ignores SIGXFSZ).
        limit = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))\n"
        run = subprocess.run(child + [limit + PROBE_CHILD, d], capture_output=True, text=True,
                             timeout=60)
        if run.returncode != 0:
            return f"write fails: {run.stderr.strip() or run.returncode}"
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


class Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.passed = []

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)


def main():
    assert suite.tempfile is tempkit.tempfile, "the suite did not bind tempkit.tempfile"
    tests = unittest.TestLoader().loadTestsFromModule(suite)
    total = tests.countTestCases()
    runner = unittest.TextTestRunner(resultclass=Result, verbosity=0, stream=sys.stdout)
    start = time.monotonic()
    result = runner.run(tests)
    elapsed = time.monotonic() - start

    excused, failed, errors = [], [], []
    for kind, bucket in (("FAIL", result.failures), ("ERROR", result.errors)):
        for test, _trace in bucket:
            name = test.id().removeprefix("test.test_tempfile.")
            # A subtest's id carries its parameters: excuse by the test method.
            method = name.split(" ", 1)[0]
            if method in EXCUSED:
                excused.append(method)
            elif kind == "FAIL":
                failed.append(name)
            else:
                errors.append(name)
    excused = sorted(set(excused))
    for name in excused:
        reason, covered_by = EXCUSED[name]
        print(f"excused: {name}: {reason} (covered by {covered_by})")
    stale = sorted(set(EXCUSED) - set(excused))
    for name in stale:
        print(f"FAIL: {name} is excused but passed: remove it from EXCUSED", file=sys.stderr)
    unexpected = len(result.unexpectedSuccesses)
    print(
        f"test_tempfile against tempkit.tempfile: {total} tests in {elapsed:.1f} s; "
        f"{len(result.passed)} passed, {len(failed)} failed, {len(errors)} errors, "
        f"{len(result.skipped)} skipped, {len(excused)} excused"
    )
    for test, why in result.skipped:
        print(f"skipped: {test.id().removeprefix('test.test_tempfile.')}: {why}")
    # The plain closing line CI reads.
    print(f"python: {len(result.passed)} passed, {len(failed) + len(errors)} failed, "
          f"{len(result.skipped)} skipped")
    broken = []
    for check in (check_probe_faults, check_temporary_file_fallback_fault):
        problem = check()
        print(f"fault check {check.__name__}: {problem or 'ok'}")
        if problem:
            broken.append(check.__name__)
    if broken:
        print("FAIL: fault checks: " + ", ".join(broken), file=sys.stderr)
    if failed or errors or unexpected or stale or broken:
        print("FAIL: not excused: " + ", ".join(failed + errors), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
