"""CPython's side of tempkit's `compare` benchmark: the same operations, timed in a loop.

serve            read "OP<TAB>DIR<TAB>N" lines on stdin; answer each with the total
                 nanoseconds of the timed part of N operations (or "na")
count OP DIR N MODE
                 run OP once, then N times (MODE "full") or only its untimed setup N times
                 (MODE "setup"): the run a system-call count is taken of
"""
import os
import stat
import sys
import tempfile
import time

FLAT_FILES = 100
TREE_DIRS = 100
TREE_FILES_PER_DIR = 100
SPOOL_BYTES = 1 << 20
CHUNK = 4096
SPOOL_MAX = 2 * SPOOL_BYTES
CHUNK_DATA = b"\xa5" * CHUNK
FLAGS = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
clock = time.perf_counter_ns


def fill_flat(d, files):
    for i in range(files):
        os.close(os.open(os.path.join(d, "f%d" % i), FLAGS, 0o600))


def fill_tree(root):
    for i in range(TREE_DIRS):
        sub = os.path.join(root, "d%02d" % i)
        os.mkdir(sub)
        for j in range(TREE_FILES_PER_DIR):
            os.mknod(os.path.join(sub, "f%d" % j), 0o600 | stat.S_IFREG)


def spooled(d):
    f = tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX, dir=d)
    for _ in range(SPOOL_BYTES // CHUNK):
        f.write(CHUNK_DATA)
    return f


def run(op, d, n):
    """Total nanoseconds of the timed part of n operations."""
    if op == "temporary_file":
        t = clock()
        for _ in range(n):
            tempfile.TemporaryFile(dir=d).close()
        return clock() - t
    if op == "named_temporary_file":
        t = clock()
        for _ in range(n):
            tempfile.NamedTemporaryFile(dir=d).close()
        return clock() - t
    if op == "mkstemp_unlink":
        t = clock()
        for _ in range(n):
            fd, p = tempfile.mkstemp(dir=d)
            os.close(fd)
            os.unlink(p)
        return clock() - t
    if op == "mkdtemp_rmdir":
        t = clock()
        for _ in range(n):
            os.rmdir(tempfile.mkdtemp(dir=d))
        return clock() - t
    if op == "tempdir_empty":
        t = clock()
        for _ in range(n):
            tempfile.TemporaryDirectory(dir=d).cleanup()
        return clock() - t
    if op == "tempdir_100_files":
        t = clock()
        for _ in range(n):
            td = tempfile.TemporaryDirectory(dir=d)
            fill_flat(td.name, FLAT_FILES)
            td.cleanup()
        return clock() - t
    if op == "remove_tree_10000":
        total = 0
        for _ in range(n):
            td = tempfile.TemporaryDirectory(dir=d)
            fill_tree(td.name)
            t = clock()
            td.cleanup()
            total += clock() - t
        return total
    if op == "spooled_1mib_memory":
        t = clock()
        for _ in range(n):
            spooled(d).close()
        return clock() - t
    if op == "rollover_1mib":
        total = 0
        for _ in range(n):
            f = spooled(d)
            t = clock()
            f.rollover()
            f.close()
            total += clock() - t
        return total
    if op in ("write_atomic_4k_durable", "write_atomic_4k_atomic_only"):
        durable = op == "write_atomic_4k_durable"
        dest = os.path.join(d, "published")
        data = b"\x5a" * 4096
        t = clock()
        for _ in range(n):
            f = tempfile.NamedTemporaryFile(dir=d, delete=False)
            f.write(data)
            f.flush()
            if durable:
                os.fsync(f.fileno())
            f.close()
            os.replace(f.name, dest)
            if durable:
                fd = os.open(d, os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)
        return clock() - t
    if op == "gettempdir_cached":
        tempfile.gettempdir()
        t = clock()
        for _ in range(n):
            tempfile.gettempdir()
        return clock() - t
    return None


def setup_only(op, d, n):
    """The untimed part of n operations, left behind in d."""
    if op == "remove_tree_10000":
        for _ in range(n):
            fill_tree(tempfile.mkdtemp(dir=d))
    elif op == "rollover_1mib":
        for _ in range(n):
            spooled(d).close()


def main():
    if sys.argv[1] == "serve":
        for line in sys.stdin:
            op, d, n = line.rstrip("\n").split("\t")
            ns = run(op, d, int(n))
            sys.stdout.write("na\n" if ns is None else "%d\n" % ns)
            sys.stdout.flush()
    elif sys.argv[1] == "count":
        op, d, n, mode = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
        if op != "remove_tree_10000":
            run(op, d, 1)
        if mode == "full":
            run(op, d, n)
        else:
            setup_only(op, d, n)


main()
