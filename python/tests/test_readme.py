"""The README's Python examples run as written (in a fresh interpreter, TMPDIR a scratch
directory that they must leave empty)."""

import os
import re
import subprocess
import sys

README = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "README.md")


def python_blocks():
    with open(README) as f:
        text = f.read()
    section = text.split("\n## Python\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_has_the_two_python_examples():
    assert len(python_blocks()) == 2


def test_the_readme_python_examples_run(tmp_path):
    for block in python_blocks():
        env = dict(os.environ, TMPDIR=str(tmp_path))
        env.pop("TEMPKIT_KEEP", None)
        run = subprocess.run([sys.executable, "-c", block], env=env, cwd=str(tmp_path),
                             capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stderr
        assert os.listdir(tmp_path) == []
    assert "tempkit: kept %s" % tmp_path in run.stderr  # the keep_on_error line
