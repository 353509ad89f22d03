"""CPython's tempfile and tempkit side by side, in one process, alternating.

    python python/bench/compare.py [--rounds N] [--dir DIR] [--tree-dir DIR]... [--only ROWS]

Each row runs the same operation with CPython's ``tempfile`` and with ``tempkit.tempfile``
(the drop-in), in alternating batches, and prints the median time per operation of each and
their ratio (tempkit / CPython; below 1 is faster). The tree row also times ``shutil.rmtree``
and tempkit's extended ``TemporaryDirectory``, in each ``--tree-dir`` (default: the
temporary directory and ``/dev/shm``, as the file system decides what a removal costs). The
import row runs fresh interpreters with
``-X importtime``. Targets (issue 24): every ratio <= 1.0, the tree cleanup <= 0.5x
``shutil.rmtree``, ``import tempkit`` <= ``import tempfile``. A row whose median ratio is at
most 3% over its target and that met it in some round is a tie (the same code or the same
system calls, timed on a busy machine). Exit status 1 if a row is missed otherwise.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile as cpython
import time

import tempkit
import tempkit.tempfile as drop_in

CHUNK = b"x" * 65536


def named_open_close(mod, d):
    def op():
        mod.NamedTemporaryFile(dir=d).close()
    return op


def mkstemp(mod, d):
    def op():
        fd, path = mod.mkstemp(dir=d)
        os.close(fd)
        os.unlink(path)
    return op


def spooled(mod, max_size, chunks):
    def op():
        f = mod.SpooledTemporaryFile(max_size=max_size)
        for _ in range(chunks):
            f.write(CHUNK)
        f.close()
    return op


def populate(root, files, per_dir=50):
    """``files`` files of 100 bytes in subdirectories of ``per_dir``."""
    for i in range(files):
        if i % per_dir == 0:
            sub = os.path.join(root, "d%d" % (i // per_dir))
            os.mkdir(sub)
        with open(os.path.join(sub, "f%d" % i), "wb") as f:
            f.write(b"0" * 100)


def tree_cleanup(kind, d, files):
    """Populate (not timed), then time the removal alone."""
    def op():
        if kind == "rmtree":
            name = cpython.mkdtemp(dir=d)
            populate(name, files)
            t = time.perf_counter()
            shutil.rmtree(name)
            return time.perf_counter() - t
        if kind == "cpython":
            tmp = cpython.TemporaryDirectory(dir=d)
        elif kind == "tempkit":
            tmp = drop_in.TemporaryDirectory(dir=d)
        else:
            tmp = tempkit.TemporaryDirectory(dir=d)
        populate(tmp.name, files)
        t = time.perf_counter()
        tmp.cleanup()
        elapsed = time.perf_counter() - t
        assert not os.path.exists(tmp.name)
        return elapsed
    return op


def timed(op, n):
    """Median seconds per call of ``op`` over one batch of ``n`` calls (an op that returns a
    number times itself)."""
    times = []
    for _ in range(n):
        t = time.perf_counter()
        own = op()
        times.append(own if own is not None else time.perf_counter() - t)
    return times


def alternate(ops, rounds, batch):
    """Runs each op's batch in turn, ``rounds`` times. Returns each op's median over all its
    calls, and its median in each round (for the spread of the ratios)."""
    samples = {name: [] for name in ops}
    per_round = {name: [] for name in ops}
    for name, op in ops.items():  # warm-up
        timed(op, max(1, batch // 10))
    for _ in range(rounds):
        for name, op in ops.items():
            batch_times = timed(op, batch)
            samples[name].extend(batch_times)
            per_round[name].append(statistics.median(batch_times))
    medians = {name: statistics.median(s) for name, s in samples.items()}
    medians["rounds"] = per_round
    return medians


def import_time(module, runs=15):
    """Median cumulative microseconds of ``import module`` in fresh interpreters."""
    values = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import " + module],
                             capture_output=True, text=True, check=True).stderr
        for line in out.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 3 and parts[2] == module:
                values.append(int(parts[1]))
    return statistics.median(values)


def fs_type(path):
    """The file system type of ``path`` (``stat -f``), e.g. ext2/ext3 (ext4) or tmpfs."""
    try:
        return subprocess.run(["stat", "-f", "-c", "%T", path], capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def us(seconds):
    return "%.1f us" % (seconds * 1e6) if seconds < 1e-3 else "%.2f ms" % (seconds * 1e3)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", default=None, help="where to create (default: gettempdir())")
    parser.add_argument("--tree-dir", action="append", default=None,
                        help="where to time the tree removal (repeatable)")
    parser.add_argument("--only", default="named,mkstemp,spooled,tree,import",
                        help="rows to run, comma-separated (default: all)")
    args = parser.parse_args()
    only = set(args.only.split(","))
    tree_dirs = args.tree_dir or [d for d in (cpython.gettempdir(), "/dev/shm")
                                  if os.path.isdir(d)]
    base = cpython.mkdtemp(dir=args.dir, prefix="bench-")
    rows, missed = [], []
    try:
        def row(what, results, target=1.0, against="cpython"):
            ratio = results["tempkit"] / results[against]
            rounds = results["rounds"]
            spread = [a / b for a, b in zip(rounds["tempkit"], rounds[against])]
            # Met: the median ratio is within the target. A tie: the same within the noise
            # (the median at most 3% over, some round under): the same code, or the same
            # system calls, timed on a busy machine.
            if ratio <= target:
                verdict = "yes"
            elif ratio <= target * 1.03 and min(spread) <= target:
                verdict = "tie"
            else:
                verdict = "NO"
                missed.append(what.strip())
            rows.append((what, results, ratio, target, verdict, (min(spread), max(spread))))

        cases = [c for c in [
            ("NamedTemporaryFile() open+close", named_open_close, 2000, "named"),
            ("mkstemp() + close + unlink", mkstemp, 2000, "mkstemp"),
        ] if c[3] in only]
        for what, make, batch, _ in cases:
            res = alternate({"cpython": make(cpython, base), "tempkit": make(drop_in, base)},
                            args.rounds, batch)
            row(what, res)
        for what, max_size, chunks in [
                ("SpooledTemporaryFile 8 x 64 KiB, below rollover (1 MiB)", 1 << 20, 8),
                ("SpooledTemporaryFile 8 x 64 KiB, across rollover (256 KiB)", 256 << 10, 8)
        ] if "spooled" in only else []:
            res = alternate({"cpython": spooled(cpython, max_size, chunks),
                             "tempkit": spooled(drop_in, max_size, chunks)},
                            args.rounds * 10, 30)  # short batches: memory-bound, drifts
            row(what, res)
        files = 2000
        for tree_dir in tree_dirs if "tree" in only else []:
            tree_base = cpython.mkdtemp(dir=tree_dir, prefix="bench-")
            try:
                res = alternate({k: tree_cleanup(k, tree_base, files)
                                 for k in ("cpython", "tempkit", "extended", "rmtree")},
                                args.rounds, 4)
            finally:
                shutil.rmtree(tree_base)
            fs = fs_type(tree_dir)
            row("TemporaryDirectory cleanup, %d files in 40 dirs, %s (%s)" % (files, tree_dir, fs),
                res)
            row("  the same, vs shutil.rmtree, %s" % fs, res, 0.5, "rmtree")
        if "import" in only:
            imp = {"cpython": import_time("tempfile"), "tempkit": import_time("tempkit")}
            ratio = imp["tempkit"] / imp["cpython"]
            rows.append(("import (cumulative, -X importtime)",
                         {k: v / 1e6 for k, v in imp.items()}, ratio, 1.0,
                         "yes" if ratio <= 1.0 else "NO", (ratio, ratio)))
            if imp["tempkit"] > imp["cpython"]:
                missed.append("import")
    finally:
        shutil.rmtree(base)

    print("Python %s, Linux %s, %d cores, load %.1f" % (
        sys.version.split()[0], os.uname().release, os.cpu_count(), os.getloadavg()[0]))
    print("| operation | CPython tempfile | tempkit | ratio (rounds' range) | target | met |")
    print("|---|---|---|---|---|---|")
    for what, res, ratio, target, verdict, (low, high) in rows:
        if what.startswith("  "):
            print("| %s | shutil.rmtree %s | %s | %.2fx (%.2f-%.2f) | <= %.1fx | %s |" % (
                what.strip(), us(res["rmtree"]), us(res["tempkit"]), ratio, low, high, target,
                verdict))
            continue
        print("| %s | %s | %s | %.2fx (%.2f-%.2f) | <= %.1fx | %s |" % (
            what, us(res["cpython"]), us(res["tempkit"]), ratio, low, high, target, verdict))
        if "extended" in res:
            print("| ... tempkit.TemporaryDirectory (extended) | | %s | %.2fx | | |" % (
                us(res["extended"]), res["extended"] / res["cpython"]))
    if missed:
        print("missed: " + ", ".join(missed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
