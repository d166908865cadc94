"""The process's standard output has one owner: the protocol, or a command's result.

Over stdio, file descriptor 1 is the editor's LSP channel. Other code in the process writes to
fd 1 too: a library's `print`, a C extension's `printf`, and llama-cpp-python, which (with
`verbose=False`) `dup2`s /dev/null over fds 1 and 2 while it loads a model, so that whatever the
server wrote in that window was lost and a message cut by the switch corrupted the stream.

`claim_standard_streams` runs first thing in the `ghostwright` command: it keeps private
duplicates of the real stdout (for the protocol writer, or a command's output) and of the real
stderr (for the log), then points fd 1 and `sys.stdout` at stderr. From then on nothing but
their owner can write to those duplicates or close them: whatever else writes "to stdout" lands
in the editor's log, and an fd trick on fds 1 and 2 silences nobody but the tricksters.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from typing import BinaryIO, TextIO


@dataclass(frozen=True)
class StandardStreams:
    """The real stdout and stderr, on file descriptors no one else in the process knows."""

    output: BinaryIO
    """The real stdout: the LSP channel (`serve` over stdio) or a command's result."""
    text_output: TextIO
    """`output` as text, for commands that print their result."""
    errors: TextIO
    """The real stderr, for the log."""


def _private_copy(fd: int) -> int:
    """A new descriptor for what `fd` is open on (not inherited by child processes), or one on
    /dev/null when `fd` is closed (a daemon started without it)."""
    try:
        return os.dup(fd)
    except OSError:
        return os.open(os.devnull, os.O_WRONLY)


def claim_standard_streams() -> StandardStreams:
    """Keep the real stdout and stderr for their owners; send everything else to stderr."""
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    encoding = getattr(sys.stdout, "encoding", None) or "utf-8"
    output_fd = _private_copy(1)
    errors_fd = _private_copy(2)
    os.dup2(errors_fd, 1, inheritable=True)  # fd 1 (and child processes' stdout): stderr
    output = os.fdopen(output_fd, "wb")
    text_output = io.TextIOWrapper(output, encoding=encoding, errors="replace", line_buffering=True)
    errors = io.TextIOWrapper(
        os.fdopen(errors_fd, "wb"), encoding="utf-8", errors="replace", write_through=True
    )
    sys.stdout = sys.stderr
    return StandardStreams(output=output, text_output=text_output, errors=errors)
