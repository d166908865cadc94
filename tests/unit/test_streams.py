"""The real stdout has one owner after `claim_standard_streams`: whatever else writes to fd 1
or `sys.stdout` (a library, a C extension, llama-cpp-python's /dev/null swap) lands on stderr."""

from __future__ import annotations

import subprocess
import sys

PROGRAM = r"""
import os, sys
from ghostwright.streams import claim_standard_streams

streams = claim_standard_streams()
os.write(1, b"c-level write\n")
print("a library's print")
devnull = os.open(os.devnull, os.O_WRONLY)
saved = os.dup(1)                 # llama-cpp-python's suppress_stdout_stderr
os.dup2(devnull, 1)
os.dup2(devnull, 2)
streams.text_output.write("the result, written while fd 1 and 2 are /dev/null\n")
streams.errors.write("a log line, written while fd 1 and 2 are /dev/null\n")
streams.errors.flush()
os.dup2(saved, 1)
os.dup2(saved, 2)
streams.output.write(b"protocol bytes\n")
streams.output.flush()
subprocess_output = __import__("subprocess").run(["echo", "a child's stdout"])
"""


def test_only_the_owner_reaches_the_real_stdout() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout == ("the result, written while fd 1 and 2 are /dev/null\nprotocol bytes\n")
    for line in ("c-level write", "a library's print", "a child's stdout", "a log line"):
        assert line in done.stderr, done.stderr
